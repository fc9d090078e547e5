//! ELF64 vmcores: QEMU `dump-guest-memory`, kdump's `/proc/vmcore` copies, `makedumpfile -E`.
//!
//! The header, section 0 and the program headers are read through [`ReadAt`](crate::source::ReadAt)
//! and seen through `object`'s on-disk types; the checks are ours: PN_XNUM (more than 65535
//! program headers, real count in section 0's `sh_info`), QEMU >= 7.1 putting section headers
//! before program headers (`e_phoff` is not always 64), `p_filesz < p_memsz` (the rest reads as
//! zeros, as the ELF spec says), and files cut short (what is missing reads as past the end).

use super::notes::{parse_notes, Notes};
use super::{ContainerInfo, Dump, PhysMem, Source, VirtRange};
use crate::error::{Error, MemError, Result};
use object::elf::{FileHeader64, ProgramHeader64, SectionHeader64};
use object::read::elf::{FileHeader as _, ProgramHeader as _, SectionHeader as _};
use object::{pod, LittleEndian as LE};

use object::elf::{EM_X86_64, ET_CORE, PN_XNUM, PT_LOAD, PT_NOTE};
/// Upper bounds that no real vmcore reaches; past them the file is treated as corrupt.
const MAX_PHNUM: u64 = 1 << 22;
const MAX_NOTES: u64 = 64 << 20;

#[derive(Debug, Clone, Copy)]
struct Load {
    paddr: u64,
    vaddr: u64,
    offset: u64,
    /// Bytes of the segment in the file (less than `p_filesz` when the file is truncated).
    filesz: u64,
    /// `p_filesz`: bytes from `filesz` up to here lie past the end of a truncated file.
    file_end: u64,
    memsz: u64,
}

pub struct ElfMem {
    src: Source,
    /// Sorted by `paddr`, non-overlapping in practice (overlaps resolve to the first).
    loads: Vec<Load>,
}

impl PhysMem for ElfMem {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> std::result::Result<(), MemError> {
        let mut done = 0usize;
        while done < buf.len() {
            let pa = paddr + done as u64;
            let i = self.loads.partition_point(|l| l.paddr <= pa);
            let seg = i.checked_sub(1).map(|i| self.loads[i]);
            let Some(l) = seg.filter(|l| pa < l.paddr.saturating_add(l.memsz)) else {
                return Err(MemError::NoPhysical { paddr: pa });
            };
            let within = pa - l.paddr;
            if within >= l.filesz && within < l.file_end {
                return Err(MemError::Unreadable {
                    paddr: pa,
                    why: format!(
                        "it lies past the end of the truncated file (its segment has {} of {} bytes)",
                        l.filesz, l.file_end
                    ),
                    past_end: true,
                });
            }
            // Within the file part, or within the zero tail (p_memsz beyond p_filesz).
            let part_end = if within < l.filesz { l.filesz } else { l.memsz };
            let n = (buf.len() - done).min((part_end - within) as usize);
            let out = &mut buf[done..done + n];
            if within >= l.filesz {
                out.fill(0); // p_memsz beyond p_filesz is zero by definition
            } else {
                let at = l.offset + within;
                self.src
                    .read_exact_at(at, out, "memory segment")
                    .map_err(|e| MemError::Unreadable {
                        paddr: pa,
                        why: e.to_string(),
                        past_end: at.saturating_add(n as u64) > self.src.len(),
                    })?;
            }
            done += n;
        }
        Ok(())
    }

    fn ranges(&self) -> Vec<(u64, u64)> {
        self.loads
            .iter()
            .map(|l| (l.paddr, l.paddr + l.memsz))
            .collect()
    }
}

/// Checks the ELF file header (64-bit, little-endian, x86_64 core) and reads the program header
/// table (count from section 0 under PN_XNUM). Returns `e_phoff` and the table's bytes.
fn read_program_headers(src: &Source, file_size: u64) -> Result<(u64, Vec<u8>)> {
    let mut eh = [0u8; 64];
    src.read_exact_at(0, &mut eh, "ELF header")?;
    // object's on-disk types over the bytes read: the header, section 0, the program headers.
    let (fh, _) = pod::from_bytes::<FileHeader64<LE>>(&eh)
        .map_err(|_| Error::NotADump("the ELF header is cut short".into()))?;
    if fh.e_ident.class != object::elf::ELFCLASS64 {
        return Err(Error::Unsupported(
            "32-bit ELF file: crashlens reads x86_64 (64-bit) kernel dumps only".into(),
        ));
    }
    if fh.e_ident.data != object::elf::ELFDATA2LSB {
        return Err(Error::Unsupported(
            "big-endian ELF file: not an x86_64 kernel dump".into(),
        ));
    }
    let e_type = fh.e_type(LE);
    let e_machine = fh.e_machine(LE);
    if e_type != ET_CORE {
        return Err(Error::NotADump(format!(
            "ELF file of type {} (not a core dump: an executable, library or object file?)",
            match e_type {
                1 => "relocatable",
                2 => "executable",
                3 => "shared object",
                _ => "unknown",
            }
        )));
    }
    if e_machine != EM_X86_64 {
        return Err(Error::Unsupported(format!(
            "core dump of another architecture (ELF machine {e_machine}); crashlens reads x86_64 dumps"
        )));
    }
    let e_phoff = fh.e_phoff(LE);
    let e_shoff = fh.e_shoff(LE);
    let e_phentsize = fh.e_phentsize(LE) as u64;
    let mut phnum = fh.e_phnum(LE) as u64;
    if e_phentsize != 56 {
        return Err(Error::Corrupt(format!(
            "program header size is {e_phentsize}, not 56"
        )));
    }
    if phnum == PN_XNUM as u64 {
        // The real count lives in sh_info of section header 0.
        let mut sh = [0u8; 64];
        src.read_exact_at(e_shoff, &mut sh, "section header 0 (PN_XNUM count)")?;
        let (s0, _) = pod::from_bytes::<SectionHeader64<LE>>(&sh)
            .map_err(|_| Error::Corrupt("section header 0 unreadable".into()))?;
        phnum = s0.sh_info(LE) as u64;
    }
    if phnum == 0 || phnum > MAX_PHNUM {
        return Err(Error::Corrupt(format!(
            "implausible program header count {phnum}"
        )));
    }
    let table_len = phnum * 56;
    if e_phoff
        .checked_add(table_len)
        .is_none_or(|end| end > file_size)
    {
        return Err(Error::Corrupt(format!(
            "program headers ({phnum} at offset {e_phoff:#x}) run past the end of the {file_size}-byte file"
        )));
    }
    let ph = src.read_vec(e_phoff, table_len as usize, "program headers")?;
    Ok((e_phoff, ph))
}

/// The notes, the memory segments and the truncation warnings of the program headers.
fn read_segments(
    src: &Source,
    file_size: u64,
    ph: &[u8],
) -> Result<(Notes, Vec<Load>, Vec<String>)> {
    let mut notes = Notes::default();
    let mut loads = Vec::new();
    let mut warnings = Vec::new();
    let phs = pod::slice_from_all_bytes::<ProgramHeader64<LE>>(ph)
        .map_err(|_| Error::Corrupt("program headers unreadable".into()))?;
    for (i, p) in phs.iter().enumerate() {
        let p_type = p.p_type(LE);
        let offset = p.p_offset(LE);
        let vaddr = p.p_vaddr(LE);
        let paddr = p.p_paddr(LE);
        let filesz = p.p_filesz(LE);
        let memsz = p.p_memsz(LE);
        match p_type {
            PT_NOTE => {
                if filesz > MAX_NOTES {
                    return Err(Error::Corrupt(format!(
                        "note segment of {filesz} bytes is implausible"
                    )));
                }
                let avail = file_size.saturating_sub(offset).min(filesz);
                if avail < filesz {
                    warnings.push(format!(
                        "the note segment is cut short ({avail} of {filesz} bytes)"
                    ));
                }
                let data = src.read_vec(offset, avail as usize, "note segment")?;
                parse_notes(&data, &mut notes);
            }
            PT_LOAD => {
                let memsz = memsz.max(filesz);
                if paddr.checked_add(memsz).is_none() {
                    return Err(Error::Corrupt(format!(
                        "memory segment {i} wraps the address space"
                    )));
                }
                let avail = file_size.saturating_sub(offset).min(filesz);
                if avail < filesz {
                    warnings.push(format!(
                        "the file is truncated: memory segment at physical {paddr:#x} has {avail} of {filesz} bytes; \
                         the rest is reported as missing"
                    ));
                }
                loads.push(Load {
                    paddr,
                    vaddr,
                    offset,
                    filesz: avail,
                    file_end: filesz,
                    memsz,
                });
            }
            _ => {}
        }
    }
    Ok((notes, loads, warnings))
}

pub fn open(src: Source) -> Result<Dump> {
    let file_size = src.len();
    let (e_phoff, ph) = read_program_headers(&src, file_size)?;
    let (notes, mut loads, warnings) = read_segments(&src, file_size, &ph)?;
    let kernel_vaddr = |v: u64| v >= 0xffff_8000_0000_0000;
    if notes.vmcoreinfo.is_none()
        && notes.user_core_notes > 0
        && !loads.iter().any(|l| kernel_vaddr(l.vaddr))
    {
        return Err(Error::Unsupported(
            "this is the core dump of a user-space process, not of the Linux kernel (no VMCOREINFO, user addresses only)"
                .into(),
        ));
    }
    if loads.is_empty() {
        return Err(Error::Corrupt(
            "the ELF core holds no memory segments (PT_LOAD)".into(),
        ));
    }
    let virt_ranges = loads
        .iter()
        .filter(|l| kernel_vaddr(l.vaddr))
        .map(|l| VirtRange {
            vaddr: l.vaddr,
            paddr: l.paddr,
            len: l.memsz,
        })
        .collect();
    // A kdump /proc/vmcore maps kernel text twice (text and direct map); keep the physical
    // view unique by sorting and dropping exact duplicates.
    crate::util::sort_by_key(&mut loads, |l| (l.paddr, std::cmp::Reverse(l.memsz)));
    loads.dedup_by(|b, a| a.paddr <= b.paddr && b.paddr + b.memsz <= a.paddr + a.memsz);
    // A truncated segment holds only what the file still has.
    let pages_present = loads
        .iter()
        .map(|l| {
            if l.filesz < l.file_end {
                l.filesz
            } else {
                l.memsz
            }
            .div_ceil(4096)
        })
        .sum();
    let description = if e_phoff != 64 {
        "ELF64 vmcore (QEMU dump-guest-memory layout: section headers first)".to_string()
    } else if notes.qemu_cpus.is_empty() {
        "ELF64 vmcore (kdump /proc/vmcore or makedumpfile -E)".to_string()
    } else {
        "ELF64 vmcore (QEMU dump-guest-memory)".to_string()
    };
    let info = ContainerInfo {
        format: "elf".into(),
        description,
        file_size,
        codecs: vec![],
        pages_present,
        pages_excluded: Some(0),
        warnings,
        ..Default::default()
    };
    Ok(Dump {
        info,
        mem: Box::new(ElfMem { src, loads }),
        notes,
        virt_ranges,
    })
}

#[cfg(test)]
mod tests {
    //! Synthetic ELF headers (structure only: the data bytes are markers, not memory contents).
    use super::*;
    use crate::source::BytesSource;
    use std::rc::Rc;

    struct Ph {
        ty: u32,
        offset: u64,
        vaddr: u64,
        paddr: u64,
        filesz: u64,
        memsz: u64,
    }

    /// ELF64 core header + (optionally) section header 0 holding the PN_XNUM count + phdrs.
    fn build(phs: &[Ph], xnum: bool, data_at: u64, data: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 64];
        v[..4].copy_from_slice(b"\x7fELF");
        v[4] = 2;
        v[5] = 1;
        v[6] = 1;
        v[16..18].copy_from_slice(&ET_CORE.to_le_bytes());
        v[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        let phoff: u64 = if xnum { 128 } else { 64 };
        v[32..40].copy_from_slice(&phoff.to_le_bytes());
        v[52..54].copy_from_slice(&64u16.to_le_bytes());
        v[54..56].copy_from_slice(&56u16.to_le_bytes());
        if xnum {
            v[40..48].copy_from_slice(&64u64.to_le_bytes()); // e_shoff
            v[56..58].copy_from_slice(&PN_XNUM.to_le_bytes());
            v[58..60].copy_from_slice(&64u16.to_le_bytes());
            v[60..62].copy_from_slice(&1u16.to_le_bytes());
            let mut sh = vec![0u8; 64];
            sh[44..48].copy_from_slice(&(phs.len() as u32).to_le_bytes()); // sh_info
            v.extend_from_slice(&sh);
        } else {
            v[56..58].copy_from_slice(&(phs.len() as u16).to_le_bytes());
        }
        for p in phs {
            let mut e = vec![0u8; 56];
            e[0..4].copy_from_slice(&p.ty.to_le_bytes());
            e[8..16].copy_from_slice(&p.offset.to_le_bytes());
            e[16..24].copy_from_slice(&p.vaddr.to_le_bytes());
            e[24..32].copy_from_slice(&p.paddr.to_le_bytes());
            e[32..40].copy_from_slice(&p.filesz.to_le_bytes());
            e[40..48].copy_from_slice(&p.memsz.to_le_bytes());
            v.extend_from_slice(&e);
        }
        assert!(v.len() as u64 <= data_at);
        v.resize(data_at as usize, 0);
        v.extend_from_slice(data);
        v
    }

    fn open_bytes(v: Vec<u8>) -> Result<Dump> {
        open(Rc::new(BytesSource(v)))
    }

    #[test]
    fn pn_xnum_more_than_65535_program_headers() {
        // 70000 PT_LOADs, one page each, each with 8 bytes in the file and the rest zero-filled.
        let n = 70_000u64;
        let data_at = 128 + 56 * n;
        let phs: Vec<Ph> = (0..n)
            .map(|i| Ph {
                ty: PT_LOAD,
                offset: data_at + 8 * i,
                vaddr: 0,
                paddr: i * 4096,
                filesz: 8,
                memsz: 4096,
            })
            .collect();
        let data: Vec<u8> = (0..n)
            .flat_map(|i| (i ^ 0x5a5a_0000).to_le_bytes())
            .collect();
        let d = open_bytes(build(&phs, true, data_at, &data)).unwrap();
        assert_eq!(d.info.pages_present, n);
        let mut b = [0u8; 16];
        for i in [0u64, 1, 65_534, 65_535, 65_536, n - 1] {
            d.read_phys(i * 4096, &mut b).unwrap();
            assert_eq!(
                u64::from_le_bytes(b[..8].try_into().unwrap()),
                i ^ 0x5a5a_0000,
                "load {i}"
            );
            assert_eq!(&b[8..], &[0u8; 8], "zero fill after p_filesz in load {i}");
        }
        assert!(matches!(
            d.read_phys(n * 4096, &mut b),
            Err(MemError::NoPhysical { .. })
        ));
        // A read that spans two loads.
        let mut b = [0xffu8; 4104];
        d.read_phys(4096 * 5 - 4096 + 8, &mut b).unwrap();
        assert_eq!(
            u64::from_le_bytes(b[4088..4096].try_into().unwrap()),
            5 ^ 0x5a5a_0000
        );

        // The section header holding the count cut off: a clear error.
        let mut v = build(&phs[..3], true, 128 + 56 * 3, &data[..24]);
        v[40..48].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let e = open_bytes(v).err().unwrap().to_string();
        assert!(e.contains("section header 0"), "{e}");
        // A PN_XNUM count of zero or one the file cannot hold.
        let mut v = build(&phs[..3], true, 128 + 56 * 3, &data[..24]);
        v[64 + 44..64 + 48].copy_from_slice(&0u32.to_le_bytes());
        assert!(open_bytes(v).is_err());
        let mut v = build(&phs[..3], true, 128 + 56 * 3, &data[..24]);
        v[64 + 44..64 + 48].copy_from_slice(&4_000_000u32.to_le_bytes());
        assert!(open_bytes(v)
            .err()
            .unwrap()
            .to_string()
            .contains("program header"));
    }

    #[test]
    fn filesz_smaller_than_memsz_reads_zeros() {
        let data: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8 | 1).collect();
        let phs = [
            Ph {
                ty: PT_LOAD,
                offset: 4096,
                vaddr: 0xffff_8880_0000_0000,
                paddr: 0,
                filesz: 8192,
                memsz: 3 * 4096,
            },
            Ph {
                ty: PT_LOAD,
                offset: 4096,
                vaddr: 0,
                paddr: 0x10_0000,
                filesz: 0,
                memsz: 4096,
            },
        ];
        let d = open_bytes(build(&phs, false, 4096, &data)).unwrap();
        let mut b = vec![0u8; 3 * 4096];
        d.read_phys(0, &mut b).unwrap();
        assert_eq!(&b[..8192], &data[..]);
        assert!(b[8192..].iter().all(|&x| x == 0));
        let mut z = [1u8; 100];
        d.read_phys(0x10_0000 + 50, &mut z).unwrap();
        assert_eq!(z, [0u8; 100]);
        assert!(d.read_phys(3 * 4096, &mut z).is_err());
        assert_eq!(d.virt_ranges.len(), 1);
        assert_eq!(d.mem.ranges(), vec![(0, 3 * 4096), (0x10_0000, 0x10_1000)]);
        // The file cut inside the first load: reported, and the cut part reads as missing.
        let mut v = build(&phs, false, 4096, &data);
        v.truncate(4096 + 5000);
        let d = open_bytes(v).unwrap();
        assert!(
            d.info.warnings.iter().any(|w| w.contains("truncated")),
            "{:?}",
            d.info.warnings
        );
        let mut b = vec![0u8; 200];
        d.read_phys(4900, &mut b[..100]).unwrap();
        assert!(d.read_phys(4950, &mut b).is_err());
    }
}

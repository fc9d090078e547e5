//! ELF64 vmcores: QEMU `dump-guest-memory`, kdump's `/proc/vmcore` copies, `makedumpfile -E`.
//!
//! Parsed by hand because the header is tiny and the checks matter more than the code: PN_XNUM
//! (more than 65535 program headers, real count in section 0's `sh_info`), QEMU >= 7.1 putting
//! section headers before program headers (`e_phoff` is not always 64), `p_filesz < p_memsz`
//! (the rest reads as zeros, as the ELF spec says), and files cut short.

use super::notes::{parse_notes, Notes};
use super::{le_u16, le_u32, le_u64, ContainerInfo, Dump, PhysMem, Source, VirtRange};
use crate::error::{Error, MemError, Result};

const ET_CORE: u16 = 4;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const PN_XNUM: u16 = 0xffff;
/// Upper bounds that no real vmcore reaches; past them the file is treated as corrupt.
const MAX_PHNUM: u64 = 1 << 22;
const MAX_NOTES: u64 = 64 << 20;

#[derive(Debug, Clone, Copy)]
struct Load {
    paddr: u64,
    vaddr: u64,
    offset: u64,
    filesz: u64,
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
            let seg_left = (l.memsz - within) as usize;
            let n = (buf.len() - done).min(seg_left);
            let out = &mut buf[done..done + n];
            if within >= l.filesz {
                out.fill(0); // p_memsz beyond p_filesz is zero by definition
            } else {
                let from_file = n.min((l.filesz - within) as usize);
                self.src
                    .read_exact_at(l.offset + within, &mut out[..from_file], "memory segment")
                    .map_err(|e| MemError::Unreadable { paddr: pa, why: e.to_string() })?;
                out[from_file..].fill(0);
            }
            done += n;
        }
        Ok(())
    }

    fn ranges(&self) -> Vec<(u64, u64)> {
        self.loads.iter().map(|l| (l.paddr, l.paddr + l.memsz)).collect()
    }
}

pub fn open(src: Source) -> Result<Dump> {
    let file_size = src.len();
    let mut eh = [0u8; 64];
    src.read_exact_at(0, &mut eh, "ELF header")?;
    if eh[4] != 2 {
        return Err(Error::Unsupported(
            "32-bit ELF file: crashlens reads x86_64 (64-bit) kernel dumps only".into(),
        ));
    }
    if eh[5] != 1 {
        return Err(Error::Unsupported("big-endian ELF file: not an x86_64 kernel dump".into()));
    }
    let e_type = le_u16(&eh, 16);
    let e_machine = le_u16(&eh, 18);
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
    let e_phoff = le_u64(&eh, 32);
    let e_shoff = le_u64(&eh, 40);
    let e_phentsize = le_u16(&eh, 54) as u64;
    let mut phnum = le_u16(&eh, 56) as u64;
    if e_phentsize != 56 {
        return Err(Error::Corrupt(format!("program header size is {e_phentsize}, not 56")));
    }
    if phnum == PN_XNUM as u64 {
        // The real count lives in sh_info of section header 0.
        let mut sh = [0u8; 64];
        src.read_exact_at(e_shoff, &mut sh, "section header 0 (PN_XNUM count)")?;
        phnum = le_u32(&sh, 44) as u64;
    }
    if phnum == 0 || phnum > MAX_PHNUM {
        return Err(Error::Corrupt(format!("implausible program header count {phnum}")));
    }
    let table_len = phnum * 56;
    if e_phoff.checked_add(table_len).is_none_or(|end| end > file_size) {
        return Err(Error::Corrupt(format!(
            "program headers ({phnum} at offset {e_phoff:#x}) run past the end of the {file_size}-byte file"
        )));
    }
    let ph = src.read_vec(e_phoff, table_len as usize, "program headers")?;

    let mut notes = Notes::default();
    let mut loads = Vec::new();
    let mut warnings = Vec::new();
    for i in 0..phnum as usize {
        let p = &ph[i * 56..(i + 1) * 56];
        let p_type = le_u32(p, 0);
        let offset = le_u64(p, 8);
        let vaddr = le_u64(p, 16);
        let paddr = le_u64(p, 24);
        let filesz = le_u64(p, 32);
        let memsz = le_u64(p, 40);
        match p_type {
            PT_NOTE => {
                if filesz > MAX_NOTES {
                    return Err(Error::Corrupt(format!("note segment of {filesz} bytes is implausible")));
                }
                let avail = file_size.saturating_sub(offset).min(filesz);
                if avail < filesz {
                    warnings.push(format!("the note segment is cut short ({avail} of {filesz} bytes)"));
                }
                let data = src.read_vec(offset, avail as usize, "note segment")?;
                parse_notes(&data, &mut notes);
            }
            PT_LOAD => {
                let memsz = memsz.max(filesz);
                if paddr.checked_add(memsz).is_none() {
                    return Err(Error::Corrupt(format!("memory segment {i} wraps the address space")));
                }
                let avail = file_size.saturating_sub(offset).min(filesz);
                if avail < filesz {
                    warnings.push(format!(
                        "the file is truncated: memory segment at physical {paddr:#x} has {avail} of {filesz} bytes; \
                         the rest is reported as missing"
                    ));
                }
                loads.push(Load { paddr, vaddr, offset, filesz: avail, memsz: if avail < filesz { avail } else { memsz } });
            }
            _ => {}
        }
    }
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
        return Err(Error::Corrupt("the ELF core holds no memory segments (PT_LOAD)".into()));
    }
    let virt_ranges = loads
        .iter()
        .filter(|l| kernel_vaddr(l.vaddr))
        .map(|l| VirtRange { vaddr: l.vaddr, paddr: l.paddr, len: l.memsz })
        .collect();
    // A kdump /proc/vmcore maps kernel text twice (text and direct map); keep the physical
    // view unique by sorting and dropping exact duplicates.
    loads.sort_by_key(|l| (l.paddr, std::cmp::Reverse(l.memsz)));
    loads.dedup_by(|b, a| a.paddr <= b.paddr && b.paddr + b.memsz <= a.paddr + a.memsz);
    let pages_present = loads.iter().map(|l| l.memsz.div_ceil(4096)).sum();
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
        warnings,
        ..Default::default()
    };
    Ok(Dump { info, mem: Box::new(ElfMem { src, loads }), notes, virt_ranges })
}

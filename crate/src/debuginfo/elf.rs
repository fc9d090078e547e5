//! Just enough ELF64 (little-endian, x86_64) to pull sections out of a vmlinux or a `.ko` read
//! through [`ReadAt`]: the section headers, then only the sections asked for. No mmap and no
//! whole-file read, so a vmlinux of hundreds of MB costs only the DWARF sections it needs (in
//! the browser too). `SHF_COMPRESSED` sections (zlib, zstd) are inflated.

use crate::source::ReadAt;
use object::elf::{self, CompressionHeader64, FileHeader64, Rela64, SectionHeader64, Sym64};
use object::read::elf::{
    CompressionHeader as _, FileHeader as _, NoteIterator, Rela as _, SectionHeader as _, Sym as _,
};
use object::{pod, LittleEndian as LE};

/// At most this many section headers (a vmlinux has ~80, a .ko ~60; -ffunction-sections builds
/// have a few thousand).
const MAX_SECTIONS: usize = 1 << 16;
/// One section read into memory at most (a compressed section's inflated size too).
pub const MAX_SECTION: u64 = 1 << 30;

#[derive(Debug, Clone)]
pub struct Section {
    pub name: String,
    pub kind: u32,
    pub flags: u64,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
    pub entsize: u64,
}

pub struct ElfFile<'a> {
    src: &'a dyn ReadAt,
    /// `ET_REL` (a .ko), `ET_EXEC` (vmlinux), ...
    pub e_type: u16,
    pub sections: Vec<Section>,
}

/// An ELF symbol (`Elf64_Sym`).
#[derive(Debug, Clone)]
pub struct Sym {
    pub name: String,
    pub info: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

impl Sym {
    pub fn kind(&self) -> u8 {
        self.info & 0xf
    }
}

impl<'a> ElfFile<'a> {
    pub fn parse(src: &'a dyn ReadAt) -> crate::error::Result<ElfFile<'a>> {
        let e = |x: crate::error::Error| x.to_string();
        // Only the file header and the section header table are read here (object's on-disk
        // types over those bytes); sections are read when asked for.
        let mut h = [0u8; 64];
        src.read_exact_at(0, &mut h, "ELF header").map_err(e)?;
        let (fh, _) = pod::from_bytes::<FileHeader64<LE>>(&h).map_err(|_| "not an ELF file")?;
        let id = &fh.e_ident;
        if id.magic != elf::ELFMAG {
            return Err("not an ELF file".into());
        }
        if id.class != elf::ELFCLASS64 || id.data != elf::ELFDATA2LSB {
            return Err("not a 64-bit little-endian ELF file".into());
        }
        let machine = fh.e_machine(LE);
        if machine != elf::EM_X86_64 {
            return Err(format!("ELF machine {machine} is not x86_64").into());
        }
        let e_type = fh.e_type(LE);
        let shoff = fh.e_shoff(LE);
        let shentsize = fh.e_shentsize(LE) as u64;
        let mut shnum = fh.e_shnum(LE) as u64;
        let mut shstrndx = fh.e_shstrndx(LE) as u32;
        if shoff == 0 {
            return Err("the ELF file has no section headers".into());
        }
        if shentsize != 64 {
            return Err(format!("unexpected ELF section header size {shentsize}").into());
        }
        // Section 0 holds the real count and string-table index when they do not fit
        // (e_shnum == 0, e_shstrndx == SHN_XINDEX).
        let mut raw0 = [0u8; 64];
        src.read_exact_at(shoff, &mut raw0, "first section header")
            .map_err(e)?;
        let (s0, _) = pod::from_bytes::<SectionHeader64<LE>>(&raw0)
            .map_err(|_| "first section header unreadable")?;
        if shnum == 0 {
            shnum = s0.sh_size(LE);
        }
        if shstrndx == elf::SHN_XINDEX as u32 {
            shstrndx = s0.sh_link(LE);
        }
        if shnum as usize > MAX_SECTIONS {
            return Err(format!("{shnum} ELF sections: too many").into());
        }
        let raw = src
            .read_vec(shoff, (shnum * 64) as usize, "section headers")
            .map_err(e)?;
        let headers = pod::slice_from_all_bytes::<SectionHeader64<LE>>(&raw)
            .map_err(|_| "section headers unreadable")?;
        let mut sections: Vec<Section> = headers
            .iter()
            .map(|s| Section {
                name: String::new(),
                kind: s.sh_type(LE),
                flags: s.sh_flags(LE),
                addr: s.sh_addr(LE),
                offset: s.sh_offset(LE),
                size: s.sh_size(LE),
                link: s.sh_link(LE),
                info: s.sh_info(LE),
                entsize: s.sh_entsize(LE),
            })
            .collect();
        let mut f = ElfFile {
            src,
            e_type,
            sections: Vec::new(),
        };
        if let Some(st) = sections.get(shstrndx as usize).cloned() {
            let names = f.read_raw(&st)?;
            for (s, h) in sections.iter_mut().zip(headers) {
                s.name = cstr(&names, h.sh_name(LE) as usize);
            }
        }
        f.sections = sections;
        Ok(f)
    }

    pub fn section(&self, name: &str) -> Option<(usize, &Section)> {
        self.sections
            .iter()
            .enumerate()
            .find(|(_, s)| s.name == name)
    }

    fn read_raw(&self, s: &Section) -> crate::error::Result<Vec<u8>> {
        if s.kind == elf::SHT_NOBITS {
            return Ok(Vec::new());
        }
        if s.size > MAX_SECTION
            || s.offset
                .checked_add(s.size)
                .is_none_or(|end| end > self.src.len())
        {
            return Err(format!(
                "section {} ({} bytes at {:#x}) lies outside the file",
                s.name, s.size, s.offset
            )
            .into());
        }
        self.src.read_vec(s.offset, s.size as usize, &s.name)
    }

    /// The section's bytes, inflated when `SHF_COMPRESSED`.
    pub fn read(&self, s: &Section) -> crate::error::Result<Vec<u8>> {
        let raw = self.read_raw(s)?;
        if s.flags & elf::SHF_COMPRESSED as u64 == 0 {
            return Ok(raw);
        }
        let Ok((ch, _)) = pod::from_bytes::<CompressionHeader64<LE>>(&raw) else {
            return Err(format!("compressed section {} is truncated", s.name).into());
        };
        let (kind, size) = (ch.ch_type(LE), ch.ch_size(LE));
        if size > MAX_SECTION {
            return Err(format!("compressed section {} claims {size} bytes", s.name).into());
        }
        let mut out = Vec::with_capacity(size as usize);
        use std::io::Read;
        match kind {
            elf::ELFCOMPRESS_ZLIB => {
                flate2::read::ZlibDecoder::new(&raw[24..])
                    .take(size)
                    .read_to_end(&mut out)
                    .map_err(|e| format!("section {}: {e}", s.name))?;
            }
            elf::ELFCOMPRESS_ZSTD => {
                out.resize(size as usize, 0);
                let mut d = ruzstd::FrameDecoder::new();
                let n = d
                    .decode_all(&raw[24..], &mut out)
                    .map_err(|e| format!("section {}: zstd: {e}", s.name))?;
                out.truncate(n);
            }
            k => return Err(format!("section {}: unknown compression {k}", s.name).into()),
        }
        if out.len() as u64 != size {
            return Err(format!(
                "section {}: inflated to {} bytes, header says {size}",
                s.name,
                out.len()
            )
            .into());
        }
        Ok(out)
    }

    /// The symbol table (`.symtab`), names resolved.
    pub fn symbols(&self) -> crate::error::Result<Vec<Sym>> {
        let Some((_, st)) = self
            .sections
            .iter()
            .enumerate()
            .find(|(_, s)| s.kind == elf::SHT_SYMTAB)
        else {
            return Ok(Vec::new());
        };
        let data = self.read(st)?;
        let strs = match self.sections.get(st.link as usize) {
            Some(s) => self.read(s)?,
            None => Vec::new(),
        };
        let whole = data.len() / 24 * 24;
        let syms = pod::slice_from_all_bytes::<Sym64<LE>>(&data[..whole])
            .map_err(|_| format!("symbol table {} unreadable", st.name))?;
        Ok(syms
            .iter()
            .map(|y| Sym {
                name: cstr(&strs, y.st_name(LE) as usize),
                info: y.st_info(),
                shndx: y.st_shndx(LE),
                value: y.st_value(LE),
                size: y.st_size(LE),
            })
            .collect())
    }

    /// The GNU build id (`NT_GNU_BUILD_ID` in any note section), hex.
    pub fn build_id(&self) -> Option<String> {
        for s in self
            .sections
            .iter()
            .filter(|s| s.kind == elf::SHT_NOTE && s.size < 1 << 20)
        {
            let Ok(b) = self.read(s) else { continue };
            let Ok(mut notes) = NoteIterator::<FileHeader64<LE>>::new(LE, 4, &b) else {
                continue;
            };
            while let Ok(Some(n)) = notes.next() {
                if n.n_type(LE) == elf::NT_GNU_BUILD_ID && n.name() == elf::ELF_NOTE_GNU {
                    return Some(n.desc().iter().map(|x| format!("{x:02x}")).collect());
                }
            }
        }
        None
    }
}

pub fn cstr(b: &[u8], at: usize) -> String {
    let Some(s) = b.get(at..) else {
        return String::new();
    };
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    String::from_utf8_lossy(&s[..end]).into_owned()
}

/// Applies a `.rela` section's x86_64 relocations to `data` (an ET_REL section), with
/// `sym_value(i)` the final value of symbol `i`. Returns how many relocations were not applied
/// (unknown types, out of range).
pub fn apply_rela(data: &mut [u8], rela: &[u8], sym_value: &dyn Fn(usize) -> Option<u64>) -> usize {
    let mut skipped = 0;
    let whole = rela.len() / 24 * 24;
    let relas = pod::slice_from_all_bytes::<Rela64<LE>>(&rela[..whole]).unwrap_or(&[]);
    for r in relas {
        let off = r.r_offset(LE) as usize;
        let addend = r.r_addend(LE) as u64;
        let (sym, ty) = (r.r_sym(LE, false) as usize, r.r_type(LE, false));
        let Some(s) = sym_value(sym) else {
            skipped += 1;
            continue;
        };
        let v = s.wrapping_add(addend);
        let ok = match ty {
            elf::R_X86_64_64 => data
                .get_mut(off..off.saturating_add(8))
                .map(|d| d.copy_from_slice(&v.to_le_bytes())),
            elf::R_X86_64_32 | elf::R_X86_64_32S => data
                .get_mut(off..off.saturating_add(4))
                .map(|d| d.copy_from_slice(&(v as u32).to_le_bytes())),
            elf::R_X86_64_NONE => Some(()),
            _ => None,
        };
        if ok.is_none() {
            skipped += 1;
        }
    }
    skipped
}

//! Just enough ELF64 (little-endian, x86_64) to pull sections out of a vmlinux or a `.ko` read
//! through [`ReadAt`]: the section headers, then only the sections asked for. No mmap and no
//! whole-file read, so a vmlinux of hundreds of MB costs only the DWARF sections it needs (in
//! the browser too). `SHF_COMPRESSED` sections (zlib, zstd) are inflated.

use crate::source::ReadAt;
use object::elf;

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

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
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
    pub fn parse(src: &'a dyn ReadAt) -> Result<ElfFile<'a>, String> {
        let e = |x: crate::error::Error| x.to_string();
        let mut h = [0u8; 64];
        src.read_exact_at(0, &mut h, "ELF header").map_err(e)?;
        if h[..4] != elf::ELFMAG {
            return Err("not an ELF file".into());
        }
        if h[4] != elf::ELFCLASS64 || h[5] != elf::ELFDATA2LSB {
            return Err("not a 64-bit little-endian ELF file".into());
        }
        let machine = u16_at(&h, 18);
        if machine != elf::EM_X86_64 {
            return Err(format!("ELF machine {machine} is not x86_64"));
        }
        let e_type = u16_at(&h, 16);
        let shoff = u64_at(&h, 40);
        let shentsize = u16_at(&h, 58) as u64;
        let mut shnum = u16_at(&h, 60) as u64;
        let mut shstrndx = u16_at(&h, 62) as u32;
        if shoff == 0 {
            return Err("the ELF file has no section headers".into());
        }
        if shentsize != 64 {
            return Err(format!("unexpected ELF section header size {shentsize}"));
        }
        let mut raw0 = [0u8; 64];
        src.read_exact_at(shoff, &mut raw0, "first section header")
            .map_err(e)?;
        if shnum == 0 {
            shnum = u64_at(&raw0, 32);
        }
        if shstrndx == elf::SHN_XINDEX as u32 {
            shstrndx = u32_at(&raw0, 40);
        }
        if shnum as usize > MAX_SECTIONS {
            return Err(format!("{shnum} ELF sections: too many"));
        }
        let raw = src
            .read_vec(shoff, (shnum * 64) as usize, "section headers")
            .map_err(e)?;
        let mut sections: Vec<Section> = raw
            .chunks_exact(64)
            .map(|s| Section {
                name: String::new(),
                kind: u32_at(s, 4),
                flags: u64_at(s, 8),
                addr: u64_at(s, 16),
                offset: u64_at(s, 24),
                size: u64_at(s, 32),
                link: u32_at(s, 40),
                info: u32_at(s, 44),
                entsize: u64_at(s, 56),
            })
            .collect();
        let names_off: Vec<u32> = raw.chunks_exact(64).map(|s| u32_at(s, 0)).collect();
        let mut f = ElfFile {
            src,
            e_type,
            sections: Vec::new(),
        };
        if let Some(st) = sections.get(shstrndx as usize).cloned() {
            let names = f.read_raw(&st)?;
            for (s, &n) in sections.iter_mut().zip(&names_off) {
                s.name = cstr(&names, n as usize);
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

    fn read_raw(&self, s: &Section) -> Result<Vec<u8>, String> {
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
            ));
        }
        self.src
            .read_vec(s.offset, s.size as usize, &s.name)
            .map_err(|e| e.to_string())
    }

    /// The section's bytes, inflated when `SHF_COMPRESSED`.
    pub fn read(&self, s: &Section) -> Result<Vec<u8>, String> {
        let raw = self.read_raw(s)?;
        if s.flags & elf::SHF_COMPRESSED as u64 == 0 {
            return Ok(raw);
        }
        if raw.len() < 24 {
            return Err(format!("compressed section {} is truncated", s.name));
        }
        let (kind, size) = (u32_at(&raw, 0), u64_at(&raw, 8));
        if size > MAX_SECTION {
            return Err(format!("compressed section {} claims {size} bytes", s.name));
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
            k => return Err(format!("section {}: unknown compression {k}", s.name)),
        }
        if out.len() as u64 != size {
            return Err(format!(
                "section {}: inflated to {} bytes, header says {size}",
                s.name,
                out.len()
            ));
        }
        Ok(out)
    }

    /// The symbol table (`.symtab`), names resolved.
    pub fn symbols(&self) -> Result<Vec<Sym>, String> {
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
        Ok(data
            .chunks_exact(24)
            .map(|b| Sym {
                name: cstr(&strs, u32_at(b, 0) as usize),
                info: b[4],
                shndx: u16_at(b, 6),
                value: u64_at(b, 8),
                size: u64_at(b, 16),
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
            let mut o = 0usize;
            while o + 12 <= b.len() {
                let (nsz, dsz, ty) = (
                    u32_at(&b, o) as usize,
                    u32_at(&b, o + 4) as usize,
                    u32_at(&b, o + 8),
                );
                let name_end = o + 12 + nsz;
                let desc = name_end.div_ceil(4) * 4;
                let end = desc.checked_add(dsz).filter(|&e| e <= b.len());
                let Some(end) = end else { break };
                if ty == elf::NT_GNU_BUILD_ID && b.get(o + 12..name_end) == Some(b"GNU\0") {
                    return Some(b[desc..end].iter().map(|x| format!("{x:02x}")).collect());
                }
                o = end.div_ceil(4) * 4;
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
    for r in rela.chunks_exact(24) {
        let off = u64_at(r, 0) as usize;
        let info = u64_at(r, 8);
        let addend = u64_at(r, 16);
        let (sym, ty) = ((info >> 32) as usize, (info & 0xffff_ffff) as u32);
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

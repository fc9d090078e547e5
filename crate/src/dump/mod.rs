//! Dump containers. Each one turns a file into one physical-memory view plus the ELF-style
//! notes (NT_PRSTATUS per CPU, VMCOREINFO, QEMU CPU state) and a description of itself.
//! Nothing above this module knows which container the bytes came from.

pub mod archive;
pub mod diskdump;
pub mod elf;
pub mod flattened;
pub mod notes;
pub mod split;

use crate::error::{Error, MemError, Result};
use crate::source::ReadAt;
use serde::Serialize;
use std::rc::Rc;

pub use notes::{Notes, PrStatus, QemuCpuState, Regs};

/// A shared, cached byte source.
pub type Source = Rc<dyn ReadAt>;

/// Physical memory of the crashed machine, as the container holds it.
pub trait PhysMem {
    /// Reads `buf.len()` bytes at physical address `paddr`. Fails (never returns zeros) for
    /// pages that are not in the dump.
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> std::result::Result<(), MemError>;
    /// Physical ranges `[start, end)` that the dump describes (present or excluded).
    fn ranges(&self) -> Vec<(u64, u64)>;
}

/// What kind of file it was, with anything learned while opening it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContainerInfo {
    /// `elf`, `kdump-compressed`, `diskdump`, `flattened`, `split`.
    pub format: String,
    /// Human description, e.g. "ELF64 vmcore (QEMU dump-guest-memory)".
    pub description: String,
    pub file_size: u64,
    /// Compression codecs seen (kdump-compressed).
    pub codecs: Vec<String>,
    pub pages_present: u64,
    /// Pages in memory that were filtered out (makedumpfile -d). None (JSON null) when not
    /// counted: for the report of a large machine's kdump, whose 1st page bitmap is more than is
    /// read at open (a warning says so; `crashlens info` counts them from the memory ranges).
    pub pages_excluded: Option<u64>,
    pub pages_zero: u64,
    /// Things the reader had to correct in the file (QEMU quirks and the like).
    pub corrections: Vec<String>,
    /// Warnings: incomplete dump, truncated file, ...
    pub warnings: Vec<String>,
    /// phys_base as the container records it (kdump sub-header), after any correction.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(with = "crate::util::hex::opt")]
    pub phys_base: Option<u64>,
    /// Whether `phys_base` differs from the container header's (corrected from VMCOREINFO).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub phys_base_corrected: bool,
    /// kdump/diskdump header version (1-6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_version: Option<u32>,
    /// makedumpfile dump level (-d), from the kdump sub-header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dump_level: Option<i32>,
    /// Kernel release from the container's own header (utsname), after any correction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utsname_release: Option<String>,
    /// Number of files (more than one for a split dump).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<u32>,
}

/// A virtual range the container itself maps (ELF PT_LOAD with a kernel virtual address).
#[derive(Debug, Clone, Copy)]
pub struct VirtRange {
    pub vaddr: u64,
    pub paddr: u64,
    pub len: u64,
}

pub struct Dump {
    pub info: ContainerInfo,
    pub mem: Box<dyn PhysMem>,
    pub notes: Notes,
    pub virt_ranges: Vec<VirtRange>,
}

impl Dump {
    pub fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> std::result::Result<(), MemError> {
        self.mem.read_phys(paddr, buf)
    }
}

/// Recognises the container by its magic and opens it.
pub fn open(src: Source) -> Result<Dump> {
    open_many_with_progress(vec![src], &mut |_, _| {})
}

/// Opens the files of one dump together: the parts of a split dump (`makedumpfile --split`), in
/// any order. One file works too.
pub fn open_many(srcs: Vec<Source>) -> Result<Dump> {
    open_many_with_progress(srcs, &mut |_, _| {})
}

enum Kind {
    Elf,
    DiskDump,
    Flattened,
}

fn kind(src: &Source) -> Result<Kind> {
    let mut magic = [0u8; 16];
    let mut n = 0;
    while n < magic.len() {
        let got = src.read_at(n as u64, &mut magic[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    if n < 4 {
        return Err(Error::NotADump(format!(
            "the file is only {} bytes long",
            src.len()
        )));
    }
    if &magic[..4] == b"\x7fELF" {
        return Ok(Kind::Elf);
    }
    if n >= 8
        && (&magic[..8] == diskdump::KDUMP_SIGNATURE || &magic[..8] == diskdump::DISKDUMP_SIGNATURE)
    {
        return Ok(Kind::DiskDump);
    }
    if flattened::is_flattened(&magic[..n]) {
        return Ok(Kind::Flattened);
    }
    if let Some(a) = archive::detect(&archive::head_of(&**src), None) {
        return Err(Error::NotADump(format!(
            "the file is {}, which cannot be read in place: unpack it first ({})",
            a.what(crate::render::Lang::En),
            a.command("FILE")
        )));
    }
    Err(Error::NotADump(
        "the file is neither an ELF vmcore nor a kdump-compressed or flattened makedumpfile dump"
            .into(),
    ))
}

/// As [`open_many`]; `progress(done, total)` reports the index pass over flattened files.
pub fn open_many_with_progress(
    srcs: Vec<Source>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Dump> {
    if srcs.is_empty() {
        return Err(Error::Io("no dump file given".into()));
    }
    let flat_file_size: u64 = srcs.iter().map(|s| s.len()).sum();
    let mut parts = Vec::with_capacity(srcs.len());
    let mut flat = Vec::new();
    let nfiles = srcs.len();
    for (i, src) in srcs.into_iter().enumerate() {
        let k = kind(&src).map_err(|e| match e {
            Error::NotADump(m) if nfiles > 1 => Error::NotADump(format!("file {}: {m}", i + 1)),
            e => e,
        })?;
        match k {
            Kind::Elf if nfiles == 1 => return elf::open(src),
            Kind::Elf => {
                return Err(Error::Unsupported(format!(
                    "several files were given, but only kdump-compressed dumps come in parts (makedumpfile --split); \
                     file {} is an ELF vmcore",
                    i + 1
                )))
            }
            Kind::DiskDump => parts.push(src),
            Kind::Flattened => {
                let f = flattened::FlatSource::index(src, progress)?;
                let inner: Rc<flattened::FlatSource> = Rc::new(f);
                flat.push(inner.clone());
                let s: Source = inner;
                if kind(&s).ok().is_none_or(|k| !matches!(k, Kind::DiskDump)) {
                    return Err(Error::Corrupt(
                        "the flattened file does not hold a kdump-compressed dump (no KDUMP header at restored offset 0)".into(),
                    ));
                }
                parts.push(s);
            }
        }
    }
    let mut d = split::open_parts(parts)?;
    if nfiles > 1 {
        d.info.files = Some(nfiles as u32);
    }
    if !flat.is_empty() {
        let records: u64 = flat.iter().map(|f| f.records).sum();
        d.info.format = if nfiles > 1 {
            "split".into()
        } else {
            "flattened".into()
        };
        d.info.description = format!(
            "makedumpfile flattened format ({records} records) holding a {}",
            d.info.description
        );
        d.info.file_size = flat_file_size;
        let mut w: Vec<String> = flat
            .iter()
            .flat_map(|f| f.warnings.iter().cloned())
            .collect();
        w.append(&mut d.info.warnings);
        d.info.warnings = w;
    }
    Ok(d)
}

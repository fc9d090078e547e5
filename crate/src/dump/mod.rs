//! Dump containers. Each one turns a file into one physical-memory view plus the ELF-style
//! notes (NT_PRSTATUS per CPU, VMCOREINFO, QEMU CPU state) and a description of itself.
//! Nothing above this module knows which container the bytes came from.

pub mod elf;
pub mod notes;

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
    pub pages_excluded: u64,
    pub pages_zero: u64,
    /// Things the reader had to correct in the file (QEMU quirks and the like).
    pub corrections: Vec<String>,
    /// Warnings: incomplete dump, truncated file, ...
    pub warnings: Vec<String>,
    /// phys_base as the container records it (kdump sub-header), after any correction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phys_base: Option<u64>,
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

/// Recognises the container by its magic and opens it. `extra` are further files of a split
/// dump (empty for one file).
pub fn open(src: Source) -> Result<Dump> {
    let mut magic = [0u8; 16];
    let n = src.read_at(0, &mut magic)?;
    if n < 4 {
        return Err(Error::NotADump(format!("the file is only {} bytes long", src.len())));
    }
    if &magic[..4] == b"\x7fELF" {
        return elf::open(src);
    }
    Err(Error::NotADump(
        "the file is neither an ELF vmcore nor a kdump-compressed or flattened makedumpfile dump".into(),
    ))
}

pub(crate) fn le_u16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
pub(crate) fn le_u32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
pub(crate) fn le_u64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

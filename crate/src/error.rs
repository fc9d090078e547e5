//! One error type for the whole core. Every message is a plain sentence a user can act on.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Reading the underlying source failed (I/O error, browser read error).
    Io(String),
    /// The file is not something crashlens can read as a crash dump.
    NotADump(String),
    /// The file looks like a dump but its structure is damaged or truncated.
    Corrupt(String),
    /// A dump of something crashlens does not analyse (other architecture, user-space core).
    Unsupported(String),
    /// An address could not be read: not mapped, or the page is not in the dump.
    Memory(MemError),
    /// Something the analysis needs is missing (VMCOREINFO key, symbol, ...).
    Missing(String),
    /// Something read from the dump's memory or from a file given (a kernel table, a BTF or
    /// DWARF section, a System.map) does not make sense, or a layout could not be worked out.
    /// The message says what and is shown as is.
    Invalid(String),
    /// A command line, or a question asked of the dump (`dis` of a symbol it lacks), that
    /// cannot be answered as put. Shown as is.
    Usage(String),
    /// The user cancelled the analysis.
    Cancelled,
}

/// Why a memory read failed. Kept apart so callers can tell "excluded by makedumpfile" from
/// "bad pointer".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemError {
    /// The physical page exists in the machine but was filtered out of the dump.
    NotInDump { paddr: u64 },
    /// No physical memory at this address in the dump at all.
    NoPhysical { paddr: u64 },
    /// A page-table entry on the way was not present.
    NotMapped { vaddr: u64, level: u8 },
    /// The virtual address is not canonical or not a kernel address we can translate.
    BadAddress { vaddr: u64 },
    /// The container could not deliver the page (decompression failure, I/O). `past_end`: its
    /// data would lie past the end of the file (a truncated dump).
    Unreadable {
        paddr: u64,
        why: String,
        past_end: bool,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(s) => write!(f, "read error: {s}"),
            Error::NotADump(s) => write!(f, "not a crash dump: {s}"),
            Error::Corrupt(s) => write!(f, "damaged dump: {s}"),
            Error::Unsupported(s) => write!(f, "unsupported dump: {s}"),
            Error::Memory(m) => write!(f, "{m}"),
            Error::Missing(s) => write!(f, "missing information: {s}"),
            Error::Invalid(s) | Error::Usage(s) => f.write_str(s),
            Error::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemError::NotInDump { paddr } => {
                write!(
                    f,
                    "physical page {paddr:#x} is not in the dump (filtered out)"
                )
            }
            MemError::NoPhysical { paddr } => write!(f, "no memory at physical address {paddr:#x}"),
            MemError::NotMapped { vaddr, level } => {
                write!(
                    f,
                    "virtual address {vaddr:#x} is not mapped (level {level} entry not present)"
                )
            }
            MemError::BadAddress { vaddr } => write!(f, "invalid kernel address {vaddr:#x}"),
            MemError::Unreadable { paddr, why, .. } => {
                write!(
                    f,
                    "page at physical address {paddr:#x} cannot be read: {why}"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<MemError> for Error {
    fn from(m: MemError) -> Self {
        Error::Memory(m)
    }
}

/// A plain sentence saying what does not make sense ([`Error::Invalid`]).
impl From<String> for Error {
    fn from(s: String) -> Self {
        Error::Invalid(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error::Invalid(s.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

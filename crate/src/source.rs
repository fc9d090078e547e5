//! Random-access byte sources: the only thing the core knows about where a dump lives.
//!
//! A native file, an in-memory buffer, and (in `wasm.rs`) a browser `File` read through
//! `FileReaderSync` all implement [`ReadAt`]. Everything above reads through a [`crate::cache::PageCache`].

use crate::error::{Error, Result};

/// Positional reads from something with a fixed length. `&self` because the browser and
/// `pread` both allow it; implementations use interior mutability where they need state.
pub trait ReadAt {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (short only at
    /// end of source).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// Total length in bytes.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads exactly `buf.len()` bytes or fails with a "truncated" error naming `what`.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8], what: &str) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.read_at(offset + done as u64, &mut buf[done..])?;
            if n == 0 {
                return Err(Error::Corrupt(format!(
                    "file ends inside the {what} (needs {} bytes at offset {offset:#x}, file is {} bytes)",
                    buf.len(),
                    self.len()
                )));
            }
            done += n;
        }
        Ok(())
    }
    /// Reads `len` bytes into a new vector (bounded by the caller).
    fn read_vec(&self, offset: u64, len: usize, what: &str) -> Result<Vec<u8>> {
        let mut v = vec![0u8; len];
        self.read_exact_at(offset, &mut v, what)?;
        Ok(v)
    }
    /// Replaces `out` with up to `len` bytes at `offset` (short only at end of source); returns
    /// how many. Sources that can fill a vector without zeroing it first (a browser file, the
    /// read-ahead over it) override this: the caches above read their blocks through it.
    fn read_to_vec(&self, offset: u64, len: usize, out: &mut Vec<u8>) -> Result<usize> {
        out.clear();
        out.resize(len, 0);
        let mut got = 0;
        while got < len {
            let n = self.read_at(offset + got as u64, &mut out[got..])?;
            if n == 0 {
                break;
            }
            got += n;
        }
        out.truncate(got);
        Ok(got)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for Box<T> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        (**self).read_at(offset, buf)
    }
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_to_vec(&self, offset: u64, len: usize, out: &mut Vec<u8>) -> Result<usize> {
        (**self).read_to_vec(offset, len, out)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for std::rc::Rc<T> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        (**self).read_at(offset, buf)
    }
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_to_vec(&self, offset: u64, len: usize, out: &mut Vec<u8>) -> Result<usize> {
        (**self).read_to_vec(offset, len, out)
    }
}

/// An in-memory dump (tests, fuzzing, small samples).
pub struct BytesSource(pub Vec<u8>);

impl ReadAt for BytesSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let len = self.0.len() as u64;
        if offset >= len {
            return Ok(0);
        }
        let start = offset as usize;
        let n = buf.len().min(self.0.len() - start);
        buf[..n].copy_from_slice(&self.0[start..start + n]);
        Ok(n)
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

/// A file on disk, read with `pread`.
#[cfg(not(target_arch = "wasm32"))]
pub struct FileSource {
    file: std::fs::File,
    len: u64,
}

#[cfg(not(target_arch = "wasm32"))]
impl FileSource {
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Io(format!("cannot open {}: {e}", path.display())))?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(Error::Io(format!("{} is a directory", path.display())));
        }
        Ok(FileSource {
            file,
            len: meta.len(),
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl ReadAt for FileSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        use std::os::unix::fs::FileExt;
        if offset >= self.len {
            return Ok(0);
        }
        loop {
            match self.file.read_at(buf, offset) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
    fn len(&self) -> u64 {
        self.len
    }
}

/// Several files side by side in one offset space (file `i` at `i << CONCAT_SHIFT`), so the
/// parts of a split dump share one page cache and one byte budget.
pub struct Concat {
    parts: Vec<Box<dyn ReadAt>>,
}

/// Where file `i` of a [`Concat`] starts.
pub const CONCAT_SHIFT: u32 = 52;

impl Concat {
    pub fn new(parts: Vec<Box<dyn ReadAt>>) -> Result<Concat> {
        if parts.len() > 1024 {
            return Err(Error::Io(format!(
                "{} files given; at most 1024 parts are supported",
                parts.len()
            )));
        }
        if let Some(p) = parts.iter().find(|p| p.len() >= 1 << CONCAT_SHIFT) {
            return Err(Error::Io(format!(
                "a file of {} bytes is too large",
                p.len()
            )));
        }
        Ok(Concat { parts })
    }
    pub fn part_len(&self, i: usize) -> u64 {
        self.parts.get(i).map(|p| p.len()).unwrap_or(0)
    }
    pub fn count(&self) -> usize {
        self.parts.len()
    }
}

impl ReadAt for Concat {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let i = (offset >> CONCAT_SHIFT) as usize;
        let within = offset & ((1 << CONCAT_SHIFT) - 1);
        match self.parts.get(i) {
            Some(p) => p.read_at(within, buf),
            None => Ok(0),
        }
    }
    fn len(&self) -> u64 {
        match self.parts.len() {
            0 => 0,
            n => ((n as u64 - 1) << CONCAT_SHIFT) + self.parts[n - 1].len(),
        }
    }
}

/// A window `[base, base + len)` of another source, seen as a file of its own.
pub struct Window {
    pub inner: std::rc::Rc<dyn ReadAt>,
    pub base: u64,
    pub len: u64,
}

impl ReadAt for Window {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = buf.len().min((self.len - offset) as usize);
        self.inner.read_at(self.base + offset, &mut buf[..n])
    }
    fn len(&self) -> u64 {
        self.len
    }
}

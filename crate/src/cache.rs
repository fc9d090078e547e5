//! A bounded LRU cache of fixed-size blocks in front of a [`ReadAt`] source.
//!
//! The byte budget holds whatever the dump size: a multi-GB vmcore is read through at most
//! `budget` bytes of cached blocks. Counters say how well it did (reported by `info` and the page).

use crate::error::Result;
use crate::source::ReadAt;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};

pub const DEFAULT_BUDGET: usize = 32 << 20;
pub const DEFAULT_BLOCK: usize = 64 << 10;

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Bytes fetched from the underlying source.
    pub bytes_read: u64,
    /// Largest number of bytes held at once.
    pub peak_bytes: u64,
    pub budget: u64,
}

struct Inner {
    blocks: HashMap<u64, (u64, Vec<u8>)>,
    by_age: BTreeMap<u64, u64>,
    tick: u64,
    held: usize,
    stats: CacheStats,
}

pub struct PageCache<S: ReadAt> {
    src: S,
    block: usize,
    budget: usize,
    inner: RefCell<Inner>,
}

impl<S: ReadAt> PageCache<S> {
    pub fn new(src: S) -> Self {
        Self::with_budget(src, DEFAULT_BUDGET, DEFAULT_BLOCK)
    }

    /// `budget` is rounded up to hold at least two blocks.
    pub fn with_budget(src: S, budget: usize, block: usize) -> Self {
        let block = block.clamp(4096, 16 << 20).next_power_of_two();
        let budget = budget.max(2 * block);
        PageCache {
            src,
            block,
            budget,
            inner: RefCell::new(Inner {
                blocks: HashMap::new(),
                by_age: BTreeMap::new(),
                tick: 0,
                held: 0,
                stats: CacheStats {
                    budget: budget as u64,
                    ..Default::default()
                },
            }),
        }
    }

    pub fn stats(&self) -> CacheStats {
        self.inner.borrow().stats
    }

    pub fn source(&self) -> &S {
        &self.src
    }

    /// Copies from the block holding `offset`; returns bytes copied (0 at end of source).
    fn copy_from_block(&self, offset: u64, out: &mut [u8]) -> Result<usize> {
        let bs = self.block as u64;
        let idx = offset / bs;
        let within = (offset % bs) as usize;
        let mut inner = self.inner.borrow_mut();
        inner.tick += 1;
        let tick = inner.tick;
        if let Some((age, _)) = inner.blocks.get(&idx).map(|(a, d)| (*a, d.len())) {
            inner.by_age.remove(&age);
            inner.by_age.insert(tick, idx);
            inner.stats.hits += 1;
            let entry = inner.blocks.get_mut(&idx).expect("present");
            entry.0 = tick;
            let data = &entry.1;
            if within >= data.len() {
                return Ok(0);
            }
            let n = out.len().min(data.len() - within);
            out[..n].copy_from_slice(&data[within..within + n]);
            return Ok(n);
        }
        inner.stats.misses += 1;
        // Fetch the block without holding the borrow across the source read.
        drop(inner);
        let start = idx * bs;
        let want = (self.src.len().saturating_sub(start)).min(bs) as usize;
        let mut data = Vec::new();
        let got = self.src.read_to_vec(start, want, &mut data)?;
        let n = if within >= data.len() {
            0
        } else {
            out.len().min(data.len() - within)
        };
        if n > 0 {
            out[..n].copy_from_slice(&data[within..within + n]);
        }
        let mut inner = self.inner.borrow_mut();
        inner.stats.bytes_read += got as u64;
        while inner.held + self.block > self.budget {
            let Some((&age, &old)) = inner.by_age.iter().next() else {
                break;
            };
            inner.by_age.remove(&age);
            if let Some((_, d)) = inner.blocks.remove(&old) {
                inner.held -= d.len();
            }
        }
        inner.held += data.len();
        inner.stats.peak_bytes = inner.stats.peak_bytes.max(inner.held as u64);
        inner.by_age.insert(tick, idx);
        inner.blocks.insert(idx, (tick, data));
        Ok(n)
    }
}

impl<S: ReadAt> ReadAt for PageCache<S> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        let bs = self.block as u64;
        while done < buf.len() {
            let at = offset + done as u64;
            // A read of whole blocks that are not held (a page bitmap, a table read once) goes
            // straight to the source: read once, it would only push out what is read again.
            let whole = ((buf.len() - done) as u64 / bs) * bs;
            if at.is_multiple_of(bs)
                && whole >= 4 * bs
                && !self.inner.borrow().blocks.contains_key(&(at / bs))
            {
                let n = self
                    .src
                    .read_at(at, &mut buf[done..done + whole as usize])?;
                self.inner.borrow_mut().stats.bytes_read += n as u64;
                if n == 0 {
                    break;
                }
                done += n;
                continue;
            }
            let n = self.copy_from_block(at, &mut buf[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }
    fn len(&self) -> u64 {
        self.src.len()
    }
}

/// Reads ahead of a source whose every call costs much whatever its size (a browser `File`:
/// one `FileReaderSync` call costs ~1.5-2 ms, plus ~6 ms per MiB, in Chromium on a loaded
/// machine). A read that starts where the last one from the source ended doubles the window
/// (`first` up to `max` bytes); a jump starts over at `first`. The buffers read are kept (up to
/// `keep` bytes, the least recently used dropped first) and serve later reads. A read of at
/// least the window goes straight to the source into the caller's buffer.
///
/// Sits under the [`PageCache`], whose misses come in block-sized pieces: a run of sequential
/// misses (a table, the BTF blob) costs a few calls, a scattered one a small one.
pub struct ReadAhead<S: ReadAt> {
    src: S,
    first: usize,
    max: usize,
    keep: usize,
    state: RefCell<Ahead>,
}

struct Ahead {
    /// `(offset, bytes)`, least recently used first.
    bufs: VecDeque<(u64, Vec<u8>)>,
    held: usize,
    window: usize,
    /// Where the last read from the source ended.
    last_end: u64,
    /// The last read from the source went straight into the caller's buffer (a large read):
    /// a read that follows it is the object's tail, not a sequential scan, and starts over.
    direct: bool,
    /// A dropped buffer, reused for the next read (no new zeroed allocation).
    spare: Vec<u8>,
    calls: u64,
}

impl<S: ReadAt> ReadAhead<S> {
    pub fn new(src: S, first: usize, max: usize, keep: usize) -> Self {
        let first = first.max(512);
        let max = max.max(first);
        ReadAhead {
            src,
            first,
            max,
            keep: keep.max(max),
            state: RefCell::new(Ahead {
                bufs: VecDeque::new(),
                held: 0,
                window: first,
                last_end: u64::MAX,
                direct: false,
                spare: Vec::new(),
                calls: 0,
            }),
        }
    }

    pub fn source(&self) -> &S {
        &self.src
    }

    /// Reads made from the source so far.
    pub fn calls(&self) -> u64 {
        self.state.borrow().calls
    }

    /// Copies from a kept buffer holding `at`, if one does.
    fn copy_held(&self, at: u64, out: &mut [u8]) -> Option<usize> {
        let mut st = self.state.borrow_mut();
        let i = st
            .bufs
            .iter()
            .rposition(|(o, d)| *o <= at && at < *o + d.len() as u64)?;
        let (o, d) = &st.bufs[i];
        let within = (at - o) as usize;
        let n = out.len().min(d.len() - within);
        out[..n].copy_from_slice(&d[within..within + n]);
        if i + 1 != st.bufs.len() {
            let b = st.bufs.remove(i).expect("present");
            st.bufs.push_back(b);
        }
        Some(n)
    }

    /// Fills `buf` from the source at `at` (short only at its end).
    fn fill(&self, at: u64, buf: &mut [u8]) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            let n = self.src.read_at(at + got as u64, &mut buf[got..])?;
            self.state.borrow_mut().calls += 1;
            if n == 0 {
                break;
            }
            got += n;
        }
        Ok(got)
    }
}

impl<S: ReadAt> ReadAhead<S> {
    /// Appends to `out` what a kept buffer holds from `at` (at most `want` bytes), if one does.
    fn extend_held(&self, at: u64, want: usize, out: &mut Vec<u8>) -> bool {
        let mut st = self.state.borrow_mut();
        let Some(i) = st
            .bufs
            .iter()
            .rposition(|(o, d)| *o <= at && at < *o + d.len() as u64)
        else {
            return false;
        };
        let (o, d) = &st.bufs[i];
        let within = (at - o) as usize;
        let n = want.min(d.len() - within);
        out.extend_from_slice(&d[within..within + n]);
        if i + 1 != st.bufs.len() {
            let b = st.bufs.remove(i).expect("present");
            st.bufs.push_back(b);
        }
        true
    }

    /// The window for a read from the source at `at`: doubled when it follows the last
    /// windowed read, else `first`.
    fn window_for(&self, at: u64) -> usize {
        let mut st = self.state.borrow_mut();
        st.window = if at == st.last_end && !st.direct {
            st.window.saturating_mul(2).min(self.max)
        } else {
            self.first
        };
        st.window
    }

    /// Reads `n` bytes at `at` from the source into a kept buffer; returns how many.
    fn load(&self, at: u64, n: usize) -> Result<usize> {
        let mut data = std::mem::take(&mut self.state.borrow_mut().spare);
        let got = self.src.read_to_vec(at, n, &mut data)?;
        let mut st = self.state.borrow_mut();
        st.calls += 1;
        st.last_end = at + got as u64;
        st.direct = false;
        if got == 0 {
            st.spare = data;
            return Ok(0);
        }
        st.held += got;
        st.bufs.push_back((at, data));
        while st.held > self.keep && st.bufs.len() > 1 {
            let (_, old) = st.bufs.pop_front().expect("more than one");
            st.held -= old.len();
            st.spare = old;
        }
        Ok(got)
    }

    /// Notes a read that went straight to the caller (see [`Ahead::direct`]).
    fn note_direct(&self, end: u64) {
        let mut st = self.state.borrow_mut();
        st.last_end = end;
        st.direct = true;
    }
}

impl<S: ReadAt> ReadAt for ReadAhead<S> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let len = self.src.len();
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            if at >= len {
                break;
            }
            if let Some(n) = self.copy_held(at, &mut buf[done..]) {
                done += n;
                continue;
            }
            let want = buf.len() - done;
            let n = (want.max(self.window_for(at)) as u64).min(len - at) as usize;
            if want >= n {
                let got = self.fill(at, &mut buf[done..done + n])?;
                self.note_direct(at + got as u64);
                if got == 0 {
                    break;
                }
                done += got;
                continue;
            }
            if self.load(at, n)? == 0 {
                break;
            }
        }
        Ok(done)
    }

    /// As [`ReadAt::read_at`], appending from the kept buffers, so no byte is zeroed first.
    fn read_to_vec(&self, offset: u64, len: usize, out: &mut Vec<u8>) -> Result<usize> {
        out.clear();
        let size = self.src.len();
        let end = offset.saturating_add(len as u64).min(size);
        while offset + (out.len() as u64) < end {
            let at = offset + out.len() as u64;
            let want = (end - at) as usize;
            if self.extend_held(at, want, out) {
                continue;
            }
            let n = (want.max(self.window_for(at)) as u64).min(size - at) as usize;
            if want >= n {
                let mut v = Vec::new();
                let got = self.src.read_to_vec(at, want, &mut v)?;
                self.state.borrow_mut().calls += 1;
                self.note_direct(at + got as u64);
                if got == 0 {
                    break;
                }
                if out.is_empty() {
                    *out = v;
                } else {
                    out.extend_from_slice(&v);
                }
                continue;
            }
            if self.load(at, n)? == 0 {
                break;
            }
        }
        Ok(out.len())
    }

    fn len(&self) -> u64 {
        self.src.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::BytesSource;

    #[test]
    fn budget_holds_and_data_is_right() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let c = PageCache::with_budget(BytesSource(data.clone()), 16384, 4096);
        let mut buf = vec![0u8; 10000];
        for off in [0u64, 5000, 999_000, 123_456, 0, 500_000] {
            let n = c.read_at(off, &mut buf).unwrap();
            let end = (off as usize + n).min(data.len());
            assert_eq!(&buf[..n], &data[off as usize..end]);
        }
        let s = c.stats();
        assert!(s.peak_bytes <= 16384, "{s:?}");
        assert!(s.misses > 0 && s.hits > 0);
        assert_eq!(c.read_at(2_000_000, &mut buf).unwrap(), 0);
    }

    /// Counts the reads made from it.
    struct Counted(BytesSource, std::cell::Cell<u64>);
    impl ReadAt for Counted {
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
            self.1.set(self.1.get() + buf.len() as u64);
            self.0.read_at(offset, buf)
        }
        fn len(&self) -> u64 {
            self.0.len()
        }
    }

    #[test]
    fn read_ahead_grows_on_sequential_reads_and_bytes_are_right() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 13 % 253) as u8).collect();
        let src = Counted(BytesSource(data.clone()), Default::default());
        let r = ReadAhead::new(src, 8192, 1 << 20, 2 << 20);
        // A sequential pass in 4 KiB pieces: the window doubles to 1 MiB, so few calls.
        let mut buf = vec![0u8; 4096];
        let mut off = 0u64;
        while off < 2_000_000 {
            let n = r.read_at(off, &mut buf).unwrap();
            assert_eq!(n, 4096);
            assert_eq!(&buf[..], &data[off as usize..off as usize + n]);
            off += n as u64;
        }
        assert!(r.calls() <= 10, "{} calls", r.calls());
        // Scattered reads, across buffer edges and up to the end of the source.
        for off in [2_999_000u64, 123_457, 1_048_570, 2_500_001, 5, 2_999_999] {
            let mut b = vec![0u8; 10_000];
            let n = r.read_at(off, &mut b).unwrap();
            let end = (off as usize + 10_000).min(data.len());
            assert_eq!(n, end - off as usize);
            assert_eq!(&b[..n], &data[off as usize..end]);
        }
        // A large read goes straight through; past the end reads nothing.
        let mut big = vec![0u8; 2_500_000];
        assert_eq!(r.read_at(100, &mut big).unwrap(), 2_500_000);
        assert_eq!(&big[..], &data[100..2_500_100]);
        assert_eq!(r.read_at(3_000_000, &mut buf).unwrap(), 0);
        let held = r.state.borrow().held;
        assert!(held <= 2 << 20, "held {held}");
        // Each byte of the 3 MB source was read at most a few times.
        assert!(r.source().1.get() < 12_000_000, "{}", r.source().1.get());
    }
}

//! A bounded LRU cache of fixed-size blocks in front of a [`ReadAt`] source.
//!
//! The byte budget holds whatever the dump size: a multi-GB vmcore is read through at most
//! `budget` bytes of cached blocks. Counters say how well it did (reported by `info` and the page).

use crate::error::Result;
use crate::source::ReadAt;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

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
        let mut data = vec![0u8; want];
        let mut got = 0;
        while got < want {
            let n = self.src.read_at(start + got as u64, &mut data[got..])?;
            if n == 0 {
                break;
            }
            got += n;
        }
        data.truncate(got);
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
}

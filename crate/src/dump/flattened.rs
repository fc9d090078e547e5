//! makedumpfile's flattened format (`makedumpfile -F`, and what QEMU's `format=kdump-*` writes):
//! a 4096-byte header (`makedumpfile` signature, type 1, version 1) followed by records, each a
//! big-endian `{ i64 offset; i64 buf_size; }` and `buf_size` bytes that belong at `offset` of the
//! restored kdump-compressed file, ended by a record with offset -1 (makedumpfile.h,
//! `makedumpfile -R`).
//!
//! One streaming pass indexes the records; after that, [`FlatSource`] serves the restored file's
//! bytes by random access (binary search over the index), and the diskdump reader reads it.
//! Bounded: every record must lie inside the file and move forward (no loops), restored ranges
//! are checked for overflow, later records overwrite earlier ones as `makedumpfile -R` does.

use super::Source;
use crate::bytes::Le;
use crate::error::{Error, Result};
use crate::source::ReadAt;
use std::collections::BTreeMap;

pub const FLAT_SIGNATURE: &[u8; 12] = b"makedumpfile";
pub const FLAT_HEADER_SIZE: u64 = 4096;
const RECORD_HEADER: u64 = 16;
/// No restored dump is larger than this (16 TiB of RAM compresses to less).
const MAX_RESTORED: u64 = 1 << 46;
/// Gaps the restored file may have beyond the flattened file's own size.
const MAX_HOLES: u64 = 16 << 20;
/// More records than this is not a dump (a 16 TiB machine's is far fewer).
const MAX_SEGS: usize = 1 << 28;
/// The index pass reads the file in pieces of its own, never through the page cache's blocks
/// (which would fill the whole cache budget with data the report never reads again): a piece
/// starts at the 64 KiB boundary before a record header that the last piece does not hold, and
/// pieces double while the headers come in the next 64 KiB, up to `SCAN_MAX`. A file of small
/// records (QEMU writes ~16 KiB ones) is so read once in 2 MiB pieces; one of large records
/// reads 64 KiB per header.
const SCAN_MIN: u64 = 64 << 10;
const SCAN_MAX: u64 = 2 << 20;

pub fn is_flattened(head: &[u8]) -> bool {
    head.len() >= 16 && &head[..12] == FLAT_SIGNATURE && head[12..16].iter().all(|&b| b == 0)
}

#[derive(Debug, Clone, Copy)]
struct Seg {
    start: u64,
    end: u64,
    /// Offset of the segment's first byte in the flattened file.
    flat: u64,
}

/// The restored (kdump-compressed) file, read out of a flattened one.
pub struct FlatSource {
    src: Source,
    segs: Vec<Seg>,
    len: u64,
    pub records: u64,
    pub overwritten: u64,
    pub warnings: Vec<String>,
}

impl FlatSource {
    /// Indexes the records in one pass. `progress(bytes_done, file_size)` is called now and then.
    pub fn index(src: Source, progress: &mut dyn FnMut(u64, u64)) -> Result<FlatSource> {
        let size = src.len();
        let mut head = [0u8; 32];
        src.read_exact_at(0, &mut head, "flattened-format header")?;
        if !is_flattened(&head) {
            return Err(Error::NotADump(
                "no makedumpfile flattened-format signature".into(),
            ));
        }
        let ty = head.i64_be_at(16).unwrap_or(0);
        let ver = head.i64_be_at(24).unwrap_or(0);
        if ty != 1 {
            return Err(Error::Unsupported(format!(
                "makedumpfile flattened file of type {ty} (only type 1 exists)"
            )));
        }
        let mut warnings = Vec::new();
        if ver != 1 {
            warnings.push(format!(
                "flattened-format version {ver} (expected 1); reading it as version 1"
            ));
        }
        // The records' data ranges in file order; sorted (and overwrites resolved) at the end.
        let mut recs: Vec<Seg> = Vec::new();
        let mut at = FLAT_HEADER_SIZE;
        let mut records = 0u64;
        let mut ended = false;
        let mut last_tick = 0u64;
        let mut reader = HeaderReader::default();
        while at < size {
            if at + RECORD_HEADER > size {
                warnings.push(format!(
                    "the flattened file ends inside a record header at offset {at:#x}: it is truncated"
                ));
                break;
            }
            let rh = reader.header(&src, at, size)?;
            let off = rh.i64_be_at(0).unwrap_or(0);
            let len = rh.i64_be_at(8).unwrap_or(0);
            if off == -1 {
                ended = true;
                break;
            }
            if off < 0 || len < 0 {
                return Err(Error::Corrupt(format!(
                    "flattened record {records} at file offset {at:#x} has a negative offset or size ({off}, {len})"
                )));
            }
            let (off, len) = (off as u64, len as u64);
            let data = at + RECORD_HEADER;
            let avail = len.min(size - data);
            if off.checked_add(avail).is_none_or(|e| e > MAX_RESTORED) {
                return Err(Error::Corrupt(format!(
                    "flattened record {records} places {len} bytes at offset {off:#x}: past any plausible dump size"
                )));
            }
            if recs.len() >= MAX_SEGS {
                return Err(Error::Corrupt(
                    "the flattened file has an implausible number of records".into(),
                ));
            }
            if len > avail {
                warnings.push(format!(
                    "flattened record {records} at file offset {at:#x} claims {len} bytes but only {avail} remain: \
                     the file is truncated; the rest of the dump is missing"
                ));
                if avail > 0 {
                    recs.push(Seg {
                        start: off,
                        end: off + avail,
                        flat: data,
                    });
                }
                break;
            }
            if len > 0 {
                recs.push(Seg {
                    start: off,
                    end: off + len,
                    flat: data,
                });
            }
            records += 1;
            at = data + len; // strictly forward: no record can loop back
            if at - last_tick >= 4 << 20 {
                last_tick = at;
                progress(at, size);
            }
        }
        drop(reader);
        let (segs, overwritten) = resolve(recs)?;
        progress(size, size);
        if !ended {
            warnings.push(
                "the flattened file has no end marker: it was cut short while being written".into(),
            );
        }
        if overwritten > 0 {
            warnings.push(format!(
                "{overwritten} flattened records overwrite data of earlier ones (the later data is used, as makedumpfile -R does)"
            ));
        }
        let len = segs.last().map(|s| s.end).unwrap_or(0);
        if segs.is_empty() {
            return Err(Error::Corrupt(
                "the flattened file holds no data records".into(),
            ));
        }
        // The restored file is the records' data plus small holes (makedumpfile leaves one
        // after the 464-byte header). A far larger extent means records placed at wild offsets;
        // refusing it keeps every later size check (bitmaps fit in the file) meaningful.
        if len > size.saturating_add(MAX_HOLES) {
            return Err(Error::Corrupt(format!(
                "the flattened records place data up to offset {len:#x}, far beyond what a {size}-byte file can hold"
            )));
        }
        Ok(FlatSource {
            src,
            segs,
            len,
            records,
            overwritten,
            warnings,
        })
    }
}

/// Serves the record headers of the index pass from one piece of the file at a time.
#[derive(Default)]
struct HeaderReader {
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    at: u64,
    /// Size of the next piece.
    want: u64,
}

impl HeaderReader {
    fn header(&mut self, src: &Source, pos: u64, size: u64) -> Result<[u8; 16]> {
        let held_end = self.at + self.buf.len() as u64;
        if !(pos >= self.at && pos + RECORD_HEADER <= held_end) {
            self.want = if !self.buf.is_empty() && pos < held_end + SCAN_MIN {
                (self.want * 2).clamp(SCAN_MIN, SCAN_MAX)
            } else {
                SCAN_MIN
            };
            let start = pos - pos % SCAN_MIN;
            let end = (start + self.want).max(pos + RECORD_HEADER).min(size);
            self.buf.resize((end - start) as usize, 0);
            src.read_exact_at(start, &mut self.buf, "flattened record header")?;
            self.at = start;
        }
        let i = (pos - self.at) as usize;
        let mut h = [0u8; RECORD_HEADER as usize];
        h.copy_from_slice(&self.buf[i..i + RECORD_HEADER as usize]);
        Ok(h)
    }
}

/// The records' data ranges (in file order) as sorted, disjoint segments, and how many records
/// overwrote data of earlier ones. Records that do not overlap (what makedumpfile and QEMU
/// write) are only sorted, in place; overlaps are replayed in file order, later data winning.
fn resolve(mut recs: Vec<Seg>) -> Result<(Vec<Seg>, u64)> {
    // `flat` grows with the file order, so it breaks ties between equal starts.
    recs.sort_unstable_by_key(|s| (s.start, s.flat));
    if recs.windows(2).all(|w| w[0].end <= w[1].start) {
        recs.shrink_to_fit();
        return Ok((recs, 0));
    }
    recs.sort_unstable_by_key(|s| s.flat);
    let mut map: BTreeMap<u64, Seg> = BTreeMap::new();
    let mut overwritten = 0u64;
    for s in recs {
        insert(&mut map, s.start, s.end - s.start, s.flat, &mut overwritten)?;
    }
    Ok((map.into_values().collect(), overwritten))
}

fn insert(
    map: &mut BTreeMap<u64, Seg>,
    start: u64,
    len: u64,
    flat: u64,
    overwritten: &mut u64,
) -> Result<()> {
    let end = start + len;
    // Segments are disjoint, so those that intersect [start, end) are contiguous just before `end`.
    let hit: Vec<Seg> = map
        .range(..end)
        .rev()
        .take_while(|(_, s)| s.end > start)
        .map(|(_, s)| *s)
        .collect();
    if !hit.is_empty() {
        *overwritten += 1;
    }
    for s in hit {
        map.remove(&s.start);
        if s.start < start {
            map.insert(
                s.start,
                Seg {
                    start: s.start,
                    end: start,
                    flat: s.flat,
                },
            );
        }
        if s.end > end {
            map.insert(
                end,
                Seg {
                    start: end,
                    end: s.end,
                    flat: s.flat + (end - s.start),
                },
            );
        }
    }
    if map.len() as u64 >= (1 << 28) {
        return Err(Error::Corrupt(
            "the flattened file has an implausible number of records".into(),
        ));
    }
    map.insert(start, Seg { start, end, flat });
    Ok(())
}

impl ReadAt for FlatSource {
    /// Bytes of the restored file; gaps between records read as zeros (a restored file is sparse
    /// there too).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let want = buf.len().min((self.len - offset) as usize);
        let mut done = 0usize;
        while done < want {
            let pos = offset + done as u64;
            let i = self.segs.partition_point(|s| s.start <= pos);
            let seg = i
                .checked_sub(1)
                .map(|i| self.segs[i])
                .filter(|s| pos < s.end);
            match seg {
                Some(s) => {
                    let n = (want - done).min((s.end - pos) as usize);
                    self.src.read_exact_at(
                        s.flat + (pos - s.start),
                        &mut buf[done..done + n],
                        "flattened record data",
                    )?;
                    done += n;
                }
                None => {
                    let next = self.segs.get(i).map(|s| s.start).unwrap_or(self.len);
                    let n = (want - done).min((next - pos) as usize);
                    buf[done..done + n].fill(0);
                    done += n;
                }
            }
        }
        Ok(done)
    }
    fn len(&self) -> u64 {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::BytesSource;
    use std::rc::Rc;

    fn flat(records: &[(i64, Vec<u8>)], end: bool) -> Vec<u8> {
        let mut v = vec![0u8; 4096];
        v[..12].copy_from_slice(FLAT_SIGNATURE);
        v[16..24].copy_from_slice(&1i64.to_be_bytes());
        v[24..32].copy_from_slice(&1i64.to_be_bytes());
        for (o, d) in records {
            v.extend_from_slice(&o.to_be_bytes());
            v.extend_from_slice(&(d.len() as i64).to_be_bytes());
            v.extend_from_slice(d);
        }
        if end {
            v.extend_from_slice(&(-1i64).to_be_bytes());
            v.extend_from_slice(&(-1i64).to_be_bytes());
        }
        v
    }

    fn restored(f: &FlatSource) -> Vec<u8> {
        let mut out = vec![0u8; f.len() as usize];
        assert_eq!(f.read_at(0, &mut out).unwrap(), out.len());
        out
    }

    #[test]
    fn restores_with_gaps_and_overwrites() {
        let v = flat(
            &[
                (0, b"hello".to_vec()),
                (10, b"world".to_vec()),
                (3, b"XYZ".to_vec()),
            ],
            true,
        );
        let f = FlatSource::index(Rc::new(BytesSource(v)), &mut |_, _| {}).unwrap();
        assert_eq!(restored(&f), b"helXYZ\0\0\0\0world");
        assert_eq!(f.overwritten, 1);
        assert_eq!(f.records, 3);
        // Overwrite that splits an older segment in two.
        let v = flat(&[(0, b"abcdefgh".to_vec()), (2, b"--".to_vec())], true);
        let f = FlatSource::index(Rc::new(BytesSource(v)), &mut |_, _| {}).unwrap();
        assert_eq!(restored(&f), b"ab--efgh");
        let mut b = [0u8; 3];
        assert_eq!(f.read_at(5, &mut b).unwrap(), 3);
        assert_eq!(&b, b"fgh");
    }

    #[test]
    fn bad_records() {
        let mk = |o: i64, l: i64| {
            let mut v = flat(&[(0, b"abc".to_vec())], false);
            v.extend_from_slice(&o.to_be_bytes());
            v.extend_from_slice(&l.to_be_bytes());
            v
        };
        let open = |v: Vec<u8>| FlatSource::index(Rc::new(BytesSource(v)), &mut |_, _| {});
        assert!(open(mk(5, -16)).is_err(), "negative size would loop back");
        assert!(open(mk(-5, 1)).is_err());
        let mut v = mk(i64::MAX - 1, 4);
        v.extend_from_slice(b"abcd");
        assert!(open(v).is_err(), "offset past any plausible size");
        let mut v = mk(i64::MAX - 1, 400);
        v.extend_from_slice(b"abcd");
        assert!(open(v).is_err(), "truncated record past any plausible size");
        let f = open(mk(100, 1 << 40)).unwrap(); // past EOF: truncated, partial
        assert!(
            f.warnings.iter().any(|w| w.contains("truncated")),
            "{:?}",
            f.warnings
        );
        let f = open(flat(&[(0, b"abc".to_vec())], false)).unwrap();
        assert!(f.warnings.iter().any(|w| w.contains("end marker")));
        assert!(open(vec![0u8; 10]).is_err());
        let e = open(flat(
            &[(0, b"abc".to_vec()), (1 << 40, b"far".to_vec())],
            true,
        ))
        .err()
        .unwrap();
        assert!(e.to_string().contains("far beyond"), "{e}");
        assert!(open(flat(&[], true)).is_err());
    }
}

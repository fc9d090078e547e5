//! kdump-compressed dumps (`KDUMP   `, written by makedumpfile and QEMU) and the older
//! `DISKDUMP` format, header versions 1-6.
//!
//! Layout (makedumpfile's diskdump_mod.h, crash's diskdump.c), in `block_size` units:
//! block 0 the `disk_dump_header`; blocks 1.. the sub-header (`kdump_sub_header` for KDUMP);
//! then `bitmap_blocks` blocks of bitmaps (1st half: the page exists in memory; 2nd half: the page
//! was dumped; DISKDUMP files may hold one bitmap only); then one 24-byte `page_desc` for each
//! dumped page, in pfn order; then page data (each page zlib / lzo / snappy / zstd compressed or
//! raw; zero pages share one stored page).
//!
//! A page's descriptor is found by rank: the number of dumped pages before it. The rank is
//! computed from per-512-pfn prefix counts over the 2nd bitmap, so no lookup scans the table.
//! Excluded pages are `MemError::NotInDump`, never zeros.

use super::notes::{parse_notes, Notes};
use super::{ContainerInfo, Source};
use crate::bytes::Le;
use crate::error::{Error, MemError, Result};
use std::cell::RefCell;

pub const KDUMP_SIGNATURE: &[u8; 8] = b"KDUMP   ";
pub const DISKDUMP_SIGNATURE: &[u8; 8] = b"DISKDUMP";

pub const DUMP_DH_COMPRESSED_ZLIB: u32 = 0x1;
pub const DUMP_DH_COMPRESSED_LZO: u32 = 0x2;
pub const DUMP_DH_COMPRESSED_SNAPPY: u32 = 0x4;
pub const DUMP_DH_COMPRESSED_INCOMPLETE: u32 = 0x8;
pub const DUMP_DH_EXCLUDED_VMEMMAP: u32 = 0x10;
pub const DUMP_DH_COMPRESSED_ZSTD: u32 = 0x20;
const CODEC_MASK: u32 = DUMP_DH_COMPRESSED_ZLIB
    | DUMP_DH_COMPRESSED_LZO
    | DUMP_DH_COMPRESSED_SNAPPY
    | DUMP_DH_COMPRESSED_ZSTD;

/// Size of `struct page_desc` (off_t offset, u32 size, u32 flags, u64 page_flags).
pub const PAGE_DESC_SIZE: u64 = 24;
/// Offsets inside `struct disk_dump_header` (x86_64: timeval is 16 bytes at 408).
const H_VERSION: usize = 8;
const H_UTSNAME: usize = 12;
const UTS_LEN: usize = 65;
const H_TIMESTAMP: usize = 408;
const H_STATUS: usize = 424;
const H_BLOCK_SIZE: usize = 428;
const H_SUB_HDR_SIZE: usize = 432;
const H_BITMAP_BLOCKS: usize = 436;
const H_MAX_MAPNR: usize = 440;
const H_NR_CPUS: usize = 460;
pub const HEADER_SIZE: usize = 464;
/// `struct kdump_sub_header` is 104 bytes (version 6).
const SUB_HEADER_SIZE: usize = 104;

/// Bounds no real dump reaches; beyond them the file is treated as damaged.
const MAX_BITMAP_BYTES: u64 = 1 << 30; // both bitmaps: 4 G pages = 16 TiB of RAM
const MAX_NOTES: u64 = 64 << 20;
const MAX_SUB_HDR_BLOCKS: u64 = 1 << 16;
/// The descriptor table is scanned whole at open (page counts, codecs, damaged entries) when it
/// is no larger than this: 349,525 dumped pages, 1.3 GiB of stored memory. A larger one is
/// sampled, so that opening the dump of a large machine reads a bounded amount whatever its
/// size: its first SAMPLE_BYTES give the codecs and the shared zero page, and its last
/// descriptors whether pages lie past the end of the file.
const FULL_SCAN_BYTES: u64 = 8 << 20;
const SAMPLE_BYTES: u64 = 256 << 10;
/// Pages per rank block (8 bitmap words).
const RANK_BLOCK: u64 = 512;
/// Bitmaps are read in pieces of at most this many bytes, ending on multiples of it in the file
/// (so that the page cache passes all but two blocks straight through, holding none of them).
const BITMAP_PIECE: u64 = 1 << 20;
/// The 1st bitmap is counted at open (for `pages_excluded`) when it is no larger than this:
/// 8 M pages, 32 GiB of memory. A larger one is not (`crashlens info`, which lists the memory
/// ranges, counts them from those), so that opening the dump of a large machine for a report
/// reads a bounded amount.
pub const EXCLUDED_COUNT_BYTES: u64 = 1 << 20;
/// How the warning begins that says excluded pages were not counted.
pub const EXCLUDED_NOT_COUNTED: &str = "excluded pages are not counted";
const DECODED_PAGES: usize = 16;

/// The fixed part of `disk_dump_header`.
#[derive(Debug, Clone)]
pub struct Header {
    pub signature: [u8; 8],
    pub version: i32,
    pub utsname: [String; 6],
    pub timestamp: u64,
    pub status: u32,
    pub block_size: u32,
    pub sub_hdr_size: u32,
    pub bitmap_blocks: u32,
    pub max_mapnr: u32,
    pub nr_cpus: i32,
}

impl Header {
    pub fn parse(b: &[u8]) -> Result<Header> {
        if b.len() < HEADER_SIZE {
            return Err(Error::Corrupt("the kdump header is cut short".into()));
        }
        let mut signature = [0u8; 8];
        signature.copy_from_slice(&b[..8]);
        let uts = |i: usize| {
            let s = &b[H_UTSNAME + i * UTS_LEN..H_UTSNAME + (i + 1) * UTS_LEN];
            let end = s.iter().position(|&c| c == 0).unwrap_or(UTS_LEN);
            String::from_utf8_lossy(&s[..end]).into_owned()
        };
        Ok(Header {
            signature,
            version: b.u32_at(H_VERSION).unwrap_or(0) as i32,
            utsname: [uts(0), uts(1), uts(2), uts(3), uts(4), uts(5)],
            timestamp: b.u64_at(H_TIMESTAMP).unwrap_or(0),
            status: b.u32_at(H_STATUS).unwrap_or(0),
            block_size: b.u32_at(H_BLOCK_SIZE).unwrap_or(0),
            sub_hdr_size: b.u32_at(H_SUB_HDR_SIZE).unwrap_or(0),
            bitmap_blocks: b.u32_at(H_BITMAP_BLOCKS).unwrap_or(0),
            max_mapnr: b.u32_at(H_MAX_MAPNR).unwrap_or(0),
            nr_cpus: b.u32_at(H_NR_CPUS).unwrap_or(0) as i32,
        })
    }
    pub fn is_kdump(&self) -> bool {
        &self.signature == KDUMP_SIGNATURE
    }
    pub fn release(&self) -> &str {
        &self.utsname[2]
    }
}

/// `struct kdump_sub_header`, fields by header version (older versions leave the rest 0).
#[derive(Debug, Clone, Default)]
pub struct SubHeader {
    pub phys_base: u64,
    pub dump_level: i32,
    pub split: bool,
    pub start_pfn: u64,
    pub end_pfn: u64,
    pub offset_vmcoreinfo: u64,
    pub size_vmcoreinfo: u64,
    pub offset_note: u64,
    pub size_note: u64,
    pub offset_eraseinfo: u64,
    pub size_eraseinfo: u64,
    pub max_mapnr_64: u64,
}

impl SubHeader {
    pub fn parse(b: &[u8], version: i32) -> SubHeader {
        // Older header versions are shorter: their missing fields read as 0.
        let q = |o: usize| b.u64_at(o).unwrap_or(0);
        let d = |o: usize| b.u32_at(o).unwrap_or(0);
        let mut s = SubHeader {
            phys_base: q(0),
            dump_level: d(8) as i32,
            ..Default::default()
        };
        if version >= 2 {
            s.split = d(12) != 0;
            s.start_pfn = q(16);
            s.end_pfn = q(24);
        }
        if version >= 3 {
            s.offset_vmcoreinfo = q(32);
            s.size_vmcoreinfo = q(40);
        }
        if version >= 4 {
            s.offset_note = q(48);
            s.size_note = q(56);
        }
        if version >= 5 {
            s.offset_eraseinfo = q(64);
            s.size_eraseinfo = q(72);
        }
        if version >= 6 {
            s.start_pfn = q(80);
            s.end_pfn = q(88);
            s.max_mapnr_64 = q(96);
        }
        s
    }
}

/// A bitmap with O(1) rank (number of set bits before a position).
struct RankedBitmap {
    words: Vec<u64>,
    /// `blocks[i]` = set bits in `[0, i * RANK_BLOCK)`.
    blocks: Vec<u64>,
}

/// Little-endian bitmap bytes as words; a last word cut short reads its missing bytes as 0.
fn words_of(bytes: &[u8], out: &mut Vec<u64>) {
    for c in bytes.chunks(8) {
        let mut b = [0u8; 8];
        b[..c.len()].copy_from_slice(c);
        out.push(u64::from_le_bytes(b));
    }
}

/// Reads the words `[w0, w1)` of the bitmap at file offset `off` (`nbytes` long) in pieces of
/// at most [`BITMAP_PIECE`] bytes, calling `f(index of the first word, words)` for each.
fn read_words(
    src: &Source,
    off: u64,
    nbytes: u64,
    (w0, w1): (u64, u64),
    what: &str,
    f: &mut dyn FnMut(u64, &[u64]),
) -> Result<()> {
    let mut buf = Vec::new();
    let mut words = Vec::new();
    let mut w = w0;
    while w < w1 && w * 8 < nbytes {
        let at = off + w * 8;
        let piece_end = (at / BITMAP_PIECE + 1) * BITMAP_PIECE;
        let n = ((piece_end - at) / 8).clamp(1, w1 - w);
        let len = (n * 8).min(nbytes - w * 8);
        buf.resize(len as usize, 0);
        src.read_exact_at(at, &mut buf, what)?;
        words.clear();
        words_of(&buf, &mut words);
        f(w, &words);
        w += n;
    }
    Ok(())
}

/// Mask of the bits of word `w` that lie in `[from, to)`.
fn range_mask(w: u64, from: u64, to: u64) -> u64 {
    let (lo, hi) = (w * 64, w * 64 + 64);
    if to <= lo || from >= hi {
        return 0;
    }
    let a = from.saturating_sub(lo);
    let b = to.min(hi) - lo;
    let upper = if b == 64 { u64::MAX } else { (1u64 << b) - 1 };
    upper & !((1u64 << a) - 1)
}

impl RankedBitmap {
    #[cfg(test)]
    fn new(bytes: &[u8], nbits: u64) -> RankedBitmap {
        let mut words = Vec::new();
        words_of(bytes, &mut words);
        words.resize(nbits.div_ceil(64) as usize, 0);
        RankedBitmap::from_words(words, nbits)
    }
    fn from_words(mut words: Vec<u64>, nbits: u64) -> RankedBitmap {
        let nwords = words.len();
        // Clear bits past nbits so they never count.
        if !nbits.is_multiple_of(64) {
            if let Some(last) = words.last_mut() {
                *last &= (1u64 << (nbits % 64)) - 1;
            }
        }
        let per = (RANK_BLOCK / 64) as usize;
        let mut blocks = Vec::with_capacity(nwords / per + 2);
        let mut acc = 0u64;
        for (i, w) in words.iter().enumerate() {
            if i % per == 0 {
                blocks.push(acc);
            }
            acc += w.count_ones() as u64;
        }
        blocks.push(acc);
        RankedBitmap { words, blocks }
    }
    fn nbits(&self) -> u64 {
        self.words.len() as u64 * 64
    }
    fn get(&self, bit: u64) -> bool {
        self.words
            .get((bit / 64) as usize)
            .is_some_and(|w| w >> (bit % 64) & 1 != 0)
    }
    /// Set bits in `[0, bit)`.
    fn rank(&self, bit: u64) -> u64 {
        let bit = bit.min(self.nbits());
        let w = (bit / 64) as usize;
        let per = (RANK_BLOCK / 64) as usize;
        let mut r = self.blocks[w / per];
        for x in &self.words[(w / per) * per..w] {
            r += x.count_ones() as u64;
        }
        if !bit.is_multiple_of(64) {
            r += (self.words[w] & ((1u64 << (bit % 64)) - 1)).count_ones() as u64;
        }
        r
    }
    fn count(&self, from: u64, to: u64) -> u64 {
        self.rank(to).saturating_sub(self.rank(from))
    }
}

/// One kdump-compressed / diskdump file: its pfn range and how to read a page.
pub struct DiskDumpFile {
    src: Source,
    pub header: Header,
    pub sub: Option<SubHeader>,
    pub page_size: u64,
    pub max_mapnr: u64,
    /// Pfns this file holds: `[start_pfn, end_pfn)` (a part of a split dump), else `[0, max_mapnr)`.
    pub start_pfn: u64,
    pub end_pfn: u64,
    /// File offset of the 1st bitmap (pages in memory), read a block at a time when a page that
    /// was not dumped is asked about; None when the file holds one bitmap only (the dumped one).
    present_off: Option<u64>,
    dumped: RankedBitmap,
    /// Rank of `start_pfn` in the dumped bitmap (subtracted from every rank).
    base_rank: u64,
    desc_offset: u64,
    /// Descriptors the table holds (dumped pages in range).
    pub n_descs: u64,
    /// Offset of the shared zero page, when the file has one.
    zero_offset: Option<u64>,
    pub(super) incomplete: bool,
    file_size: u64,
    decoded: RefCell<Vec<(u64, Vec<u8>)>>,
    next_slot: RefCell<usize>,
}

/// What the one-pass scan of the descriptor table found.
#[derive(Debug, Default, Clone)]
pub struct Scan {
    pub codecs: Vec<String>,
    pub zero: u64,
    pub raw: u64,
    pub unwritten: u64,
    pub past_eof: u64,
    pub bad_size: u64,
    /// Set when the table was sampled, not read whole: the descriptors read from its start.
    /// `zero`, `raw`, `unwritten`, `past_eof` (but for descriptors cut off the file) and
    /// `bad_size` then count those only.
    pub sampled: Option<u64>,
    /// In a sampled table, the run at its end whose page data is not in the file: the index of
    /// its first descriptor and whether they were never written (an incomplete dump) rather
    /// than cut off (a truncated file).
    pub tail: Option<(u64, bool)>,
}

/// Decompresses one page. `out` is exactly one page; the page must decode to exactly that size.
pub fn decode_page(flags: u32, data: &[u8], out: &mut [u8]) -> crate::error::Result<()> {
    let page = out.len();
    let n = match flags & CODEC_MASK {
        0 => {
            if data.len() != page {
                return Err(format!(
                    "uncompressed page of {} bytes (page size {page})",
                    data.len()
                )
                .into());
            }
            out.copy_from_slice(data);
            page
        }
        DUMP_DH_COMPRESSED_ZLIB => {
            let mut d = flate2::Decompress::new(true);
            match d.decompress(data, out, flate2::FlushDecompress::Finish) {
                Ok(flate2::Status::StreamEnd) => d.total_out() as usize,
                Ok(_) => return Err("zlib stream does not end within one page".into()),
                Err(e) => return Err(format!("zlib: {e}").into()),
            }
        }
        // The `lzo` crate, not lzokay-native: fuzzing found lzokay-native 0.1.0 indexing out of
        // bounds (a panic) on a malformed block; `lzo` is bounds-checked for untrusted input.
        DUMP_DH_COMPRESSED_LZO => {
            lzo::decompress_into(data, out).map_err(|e| format!("lzo: {e}"))?
        }
        DUMP_DH_COMPRESSED_SNAPPY => {
            let len = snap::raw::decompress_len(data).map_err(|e| format!("snappy: {e}"))?;
            if len != page {
                return Err(format!("snappy page decodes to {len} bytes").into());
            }
            snap::raw::Decoder::new()
                .decompress(data, out)
                .map_err(|e| format!("snappy: {e}"))?
        }
        DUMP_DH_COMPRESSED_ZSTD => {
            let mut d = ruzstd::FrameDecoder::new();
            d.decode_all(data, out).map_err(|e| format!("zstd: {e}"))?
        }
        f => return Err(format!("unknown compression flags {f:#x}").into()),
    };
    if n != page {
        return Err(format!("page decodes to {n} bytes, not {page}").into());
    }
    Ok(())
}

pub(super) fn unreadable(paddr: u64, why: impl Into<String>) -> MemError {
    MemError::Unreadable {
        paddr,
        why: why.into(),
        past_end: false,
    }
}

/// Reads and checks the kdump/diskdump header and, for kdump, the sub-header. Returns them with
/// the block (page) size and the sub-header's size in blocks.
fn read_headers(
    src: &Source,
    warnings: &mut Vec<String>,
) -> Result<(Header, Option<SubHeader>, u64, u64)> {
    let mut hb = [0u8; HEADER_SIZE];
    src.read_exact_at(0, &mut hb, "kdump header")?;
    let header = Header::parse(&hb)?;
    if &header.signature != KDUMP_SIGNATURE && &header.signature != DISKDUMP_SIGNATURE {
        return Err(Error::NotADump("no KDUMP/DISKDUMP signature".into()));
    }
    let bs = header.block_size as u64;
    if !(4096..=65536).contains(&bs) || !bs.is_power_of_two() {
        return Err(Error::Corrupt(format!(
            "block (page) size {} in the kdump header is not a power of two between 4 KiB and 64 KiB",
            header.block_size as i32
        )));
    }
    if header.version < 0 || header.version > 64 {
        return Err(Error::Corrupt(format!(
            "kdump header version {} is implausible",
            header.version
        )));
    }
    if header.version > 6 {
        warnings.push(format!(
            "kdump header version {} is newer than 6; reading it as version 6",
            header.version
        ));
    }
    let sub_blocks = header.sub_hdr_size as u64;
    if sub_blocks > MAX_SUB_HDR_BLOCKS {
        return Err(Error::Corrupt(format!(
            "sub-header size of {sub_blocks} blocks is implausible"
        )));
    }
    let sub = if header.is_kdump() {
        if sub_blocks == 0 {
            return Err(Error::Corrupt(
                "the kdump header says there is no sub-header".into(),
            ));
        }
        let mut sb = [0u8; SUB_HEADER_SIZE];
        src.read_exact_at(bs, &mut sb, "kdump sub-header")?;
        Some(SubHeader::parse(&sb, header.version))
    } else {
        None
    };
    Ok((header, sub, bs, sub_blocks))
}

/// The page bitmaps and the page count they cover. Returns `max_mapnr`, the offset just past the
/// bitmaps (where the descriptor table starts), the offset of the 1st bitmap (pages in memory,
/// not read here; None when there is one bitmap) and the 2nd (dumped pages), ranked.
fn read_bitmaps(
    src: &Source,
    header: &Header,
    sub: Option<&SubHeader>,
    bs: u64,
    sub_blocks: u64,
    file_size: u64,
    warnings: &mut Vec<String>,
) -> Result<(u64, u64, Option<u64>, RankedBitmap)> {
    let mut max_mapnr = header.max_mapnr as u64;
    if let Some(s) = sub {
        if header.version >= 6 && s.max_mapnr_64 != 0 {
            max_mapnr = s.max_mapnr_64;
        }
    }
    let bitmap_off = bs * (1 + sub_blocks);
    let bitmap_len = (header.bitmap_blocks as u64)
        .checked_mul(bs)
        .filter(|&l| l > 0 && l <= MAX_BITMAP_BYTES)
        .ok_or_else(|| {
            Error::Corrupt(format!(
                "bitmap of {} blocks is empty or implausibly large",
                header.bitmap_blocks
            ))
        })?;
    if bitmap_off
        .checked_add(bitmap_len)
        .is_none_or(|e| e > file_size)
    {
        return Err(Error::Corrupt(format!(
            "file ends inside the page bitmaps (they need {} bytes, the file has {file_size})",
            bitmap_off.saturating_add(bitmap_len)
        )));
    }
    // Two bitmaps when there is room for two (crash's dump_is_partial), else one.
    let one_len = max_mapnr.div_ceil(8).div_ceil(bs) * bs;
    let two = bitmap_len >= one_len.saturating_mul(2) || header.is_kdump();
    let half = if two { bitmap_len / 2 } else { bitmap_len };
    if max_mapnr > half * 8 {
        warnings.push(format!(
            "the header claims {max_mapnr} pages but the bitmap holds {}; pages beyond are treated as absent",
            half * 8
        ));
        max_mapnr = half * 8;
    }
    if max_mapnr == 0 {
        return Err(Error::Corrupt(
            "the dump describes no pages (max_mapnr is 0)".into(),
        ));
    }
    let nbytes = max_mapnr.div_ceil(8);
    let nwords = max_mapnr.div_ceil(64);
    let (present_off, dumped_off, what) = if two {
        (Some(bitmap_off), bitmap_off + half, "2nd page bitmap")
    } else {
        (None, bitmap_off, "page bitmap")
    };
    // Read straight into the words (no second copy of the bitmap's bytes).
    let mut words = Vec::with_capacity(nwords as usize);
    read_words(src, dumped_off, nbytes, (0, nwords), what, &mut |_, w| {
        words.extend_from_slice(w)
    })?;
    words.resize(nwords as usize, 0);
    let dumped = RankedBitmap::from_words(words, max_mapnr);
    Ok((max_mapnr, bitmap_off + bitmap_len, present_off, dumped))
}

/// A page whose descriptor or data lies past the end of a truncated file.
pub(super) fn past_end(paddr: u64, why: impl Into<String>) -> MemError {
    MemError::Unreadable {
        paddr,
        why: why.into(),
        past_end: true,
    }
}

impl DiskDumpFile {
    /// Parses headers and bitmaps and builds the rank index. `warnings` collects what is wrong
    /// but survivable.
    pub fn parse(src: Source, warnings: &mut Vec<String>) -> Result<DiskDumpFile> {
        let file_size = src.len();
        let (header, sub, bs, sub_blocks) = read_headers(&src, warnings)?;
        let (max_mapnr, desc_offset, present_off, dumped) = read_bitmaps(
            &src,
            &header,
            sub.as_ref(),
            bs,
            sub_blocks,
            file_size,
            warnings,
        )?;
        let (mut start_pfn, mut end_pfn) = (0, max_mapnr);
        if let Some(s) = sub.as_ref().filter(|s| s.split) {
            if s.start_pfn > s.end_pfn || s.start_pfn > max_mapnr {
                return Err(Error::Corrupt(format!(
                    "split dump part with an empty or impossible pfn range {:#x}-{:#x}",
                    s.start_pfn, s.end_pfn
                )));
            }
            start_pfn = s.start_pfn;
            end_pfn = s.end_pfn.min(max_mapnr);
        }
        let base_rank = dumped.rank(start_pfn);
        let n_descs = dumped.count(start_pfn, end_pfn);
        let desc_end = desc_offset.saturating_add(n_descs.saturating_mul(PAGE_DESC_SIZE));
        if desc_end > file_size {
            warnings.push(format!(
                "the file is truncated inside the page descriptor table ({} of {n_descs} descriptors present); \
                 pages past it are reported as missing",
                file_size.saturating_sub(desc_offset) / PAGE_DESC_SIZE
            ));
        }
        let incomplete = header.is_kdump() && header.status & DUMP_DH_COMPRESSED_INCOMPLETE != 0;
        if incomplete {
            warnings.push(
                "the dump is marked INCOMPLETE (the dump device filled up while writing): pages that were not \
                 written are reported as missing"
                    .into(),
            );
        }
        Ok(DiskDumpFile {
            src,
            header,
            sub,
            page_size: bs,
            max_mapnr,
            start_pfn,
            end_pfn,
            present_off,
            dumped,
            base_rank,
            desc_offset,
            n_descs,
            zero_offset: None,
            incomplete,
            file_size,
            decoded: RefCell::new(Vec::new()),
            next_slot: RefCell::new(0),
        })
    }

    /// One pass over the descriptor table (bounded): codecs, zero/raw pages, damaged entries.
    /// Also confirms the shared zero page.
    pub fn scan(&mut self) -> Option<Scan> {
        let total = self.n_descs.checked_mul(PAGE_DESC_SIZE)?;
        let sampled = total > FULL_SCAN_BYTES;
        // The shared zero page is written before any other page data (makedumpfile, QEMU), so
        // it is the raw page with the lowest offset; split parts put it where the whole dump
        // would, not right after their own table.
        let mut zero_candidate = u64::MAX;
        let mut s = Scan::default();
        let mut seen = 0u32;
        const CHUNK: u64 = 4096 * PAGE_DESC_SIZE;
        let mut buf = vec![0u8; CHUNK as usize];
        let mut off = 0u64;
        let in_file = total.min(self.file_size.saturating_sub(self.desc_offset));
        let avail = if sampled {
            in_file.min(SAMPLE_BYTES)
        } else {
            in_file
        };
        let mut zero_hits = 0u64;
        while off < avail {
            let n = (avail - off).min(CHUNK) as usize;
            let n = n - n % PAGE_DESC_SIZE as usize;
            if n == 0 {
                break;
            }
            if self
                .src
                .read_exact_at(
                    self.desc_offset + off,
                    &mut buf[..n],
                    "page descriptor table",
                )
                .is_err()
            {
                break;
            }
            for d in buf[..n].chunks_exact(PAGE_DESC_SIZE as usize) {
                let (offset, size, flags) = (
                    d.u64_at(0).unwrap_or(0),
                    d.u32_at(8).unwrap_or(0) as u64,
                    d.u32_at(12).unwrap_or(0),
                );
                let codec = flags & CODEC_MASK;
                seen |= codec.max(if codec == 0 { 0x1000 } else { 0 });
                if offset == 0 {
                    s.unwritten += 1;
                } else if size > self.page_size || size == 0 {
                    s.bad_size += 1;
                } else if offset.checked_add(size).is_none_or(|e| e > self.file_size) {
                    s.past_eof += 1;
                } else if codec == 0 {
                    s.raw += 1;
                    if size == self.page_size {
                        if offset < zero_candidate {
                            zero_candidate = offset;
                            zero_hits = 1;
                        } else if offset == zero_candidate {
                            zero_hits += 1;
                        }
                    }
                }
            }
            off += n as u64;
        }
        let missing_descs = self.n_descs - in_file / PAGE_DESC_SIZE;
        s.past_eof += missing_descs;
        if zero_hits > 0 {
            let mut page = vec![0u8; self.page_size as usize];
            let ok = self
                .src
                .read_exact_at(zero_candidate, &mut page, "zero page")
                .is_ok();
            if ok && page.iter().all(|&b| b == 0) {
                self.zero_offset = Some(zero_candidate);
                s.zero = zero_hits;
                s.raw -= zero_hits;
            }
        }
        if sampled {
            s.sampled = Some(avail / PAGE_DESC_SIZE);
            s.tail = self.bad_tail(avail / PAGE_DESC_SIZE, in_file / PAGE_DESC_SIZE);
        }
        for (bit, name) in [
            (DUMP_DH_COMPRESSED_ZLIB, "zlib"),
            (DUMP_DH_COMPRESSED_LZO, "lzo"),
            (DUMP_DH_COMPRESSED_SNAPPY, "snappy"),
            (DUMP_DH_COMPRESSED_ZSTD, "zstd"),
            (0x1000, "none"),
        ] {
            // "none": pages stored uncompressed, apart from the shared zero page.
            if seen & bit != 0 && (bit != 0x1000 || s.raw > 0) {
                s.codecs.push(name.into());
            }
        }
        Some(s)
    }

    /// Descriptor `i` of the table: (offset, stored size), None when it cannot be read.
    fn desc_at(&self, i: u64) -> Option<(u64, u64)> {
        let mut d = [0u8; PAGE_DESC_SIZE as usize];
        self.src
            .read_exact_at(
                self.desc_offset + i * PAGE_DESC_SIZE,
                &mut d,
                "page descriptor",
            )
            .ok()?;
        Some((d.u64_at(0).unwrap_or(0), d.u32_at(8).unwrap_or(0) as u64))
    }

    /// For a sampled table: where the run of descriptors at the end of `[lo, hi)` (those in the
    /// file) begins whose data is past the end of the file or was never written (offset 0).
    /// Page data is written in descriptor order, so those are a run at the end, with only the
    /// shared zero page's descriptors (which point before it) mixed in, and those are stepped
    /// over. The last descriptor is read; only when it is bad is the run's start found by
    /// bisection (at most 64 probes).
    fn bad_tail(&self, lo: u64, hi: u64) -> Option<(u64, bool)> {
        // The first descriptor from `i` on that is not the shared zero page's: bad or not.
        let bad = |i: u64| -> bool {
            for k in i..hi.min(i + 64) {
                match self.desc_at(k) {
                    None => return true,
                    Some((o, _)) if o != 0 && Some(o) == self.zero_offset => continue,
                    Some((o, n)) => {
                        return o == 0 || o.checked_add(n).is_none_or(|e| e > self.file_size)
                    }
                }
            }
            false
        };
        if hi <= lo || !bad(hi - 1) {
            return None;
        }
        let unwritten = self.desc_at(hi - 1).is_some_and(|(o, _)| o == 0);
        let (mut a, mut b) = (lo, hi - 1); // the run's first descriptor is in [a, b]
        for _ in 0..64 {
            if a >= b {
                break;
            }
            let m = a + (b - a) / 2;
            if bad(m) {
                b = m;
            } else {
                a = m + 1;
            }
        }
        Some((b, unwritten))
    }

    pub fn pages_present(&self) -> u64 {
        self.n_descs
    }
    /// Bytes of the 1st bitmap that [`DiskDumpFile::count_excluded`] reads (0 with one bitmap).
    pub fn present_bitmap_bytes(&self) -> u64 {
        match self.present_off {
            Some(_) => (self.end_pfn.div_ceil(64) - self.start_pfn / 64) * 8,
            None => 0,
        }
    }

    /// Pages in memory (1st bitmap) that were not dumped, in this file's pfn range. Reads the 1st
    /// bitmap's part for the range, in pieces, keeping none of it. None when it cannot be read.
    pub fn count_excluded(&self) -> Option<u64> {
        let dumped = self.dumped.count(self.start_pfn, self.end_pfn);
        let Some(off) = self.present_off else {
            return Some(0); // one bitmap: every page in it was dumped
        };
        let (from, to) = (self.start_pfn, self.end_pfn.min(self.max_mapnr));
        let mut mem = 0u64;
        read_words(
            &self.src,
            off,
            self.max_mapnr.div_ceil(8),
            (from / 64, to.div_ceil(64)),
            "1st page bitmap",
            &mut |w0, ws| {
                for (i, w) in ws.iter().enumerate() {
                    mem += (w & range_mask(w0 + i as u64, from, to)).count_ones() as u64;
                }
            },
        )
        .ok()?;
        Some(mem.saturating_sub(dumped))
    }

    /// Whether the 1st bitmap says page `pfn` is in memory (read through the cached source,
    /// one byte: the page cache fetches the block around it once).
    fn present(&self, pfn: u64) -> bool {
        if pfn >= self.max_mapnr {
            return false;
        }
        match self.present_off {
            None => self.dumped.get(pfn),
            Some(off) => {
                let mut b = [0u8; 1];
                // The bitmaps were checked to lie inside the file at open.
                self.src
                    .read_exact_at(off + pfn / 8, &mut b, "1st page bitmap")
                    .is_ok_and(|_| b[0] >> (pfn % 8) & 1 != 0)
            }
        }
    }
    pub fn holds(&self, pfn: u64) -> bool {
        pfn >= self.start_pfn && pfn < self.end_pfn
    }

    /// Reads the descriptor of a dumped page.
    fn desc(&self, pfn: u64, paddr: u64) -> std::result::Result<(u64, u32, u32), MemError> {
        let pos = self.dumped.rank(pfn) - self.base_rank;
        let at = self.desc_offset + pos * PAGE_DESC_SIZE;
        let mut d = [0u8; PAGE_DESC_SIZE as usize];
        self.src
            .read_exact_at(at, &mut d, "page descriptor")
            .map_err(|_| {
                past_end(
                    paddr,
                    format!("its page descriptor (#{pos}) lies past the end of the truncated file"),
                )
            })?;
        Ok((
            d.u64_at(0).unwrap_or(0),
            d.u32_at(8).unwrap_or(0),
            d.u32_at(12).unwrap_or(0),
        ))
    }

    /// Reads the whole page `pfn` into `out` (one page long).
    fn read_page(&self, pfn: u64, out: &mut [u8]) -> std::result::Result<(), MemError> {
        let paddr = pfn * self.page_size;
        let dumped = pfn < self.max_mapnr && self.dumped.get(pfn);
        // Not dumped: the 1st bitmap tells "no memory here" from "filtered out". Older
        // makedumpfile versions mark dumped pages only in the 2nd bitmap, so a dumped page is
        // in memory whatever the 1st says.
        if !dumped && !self.present(pfn) {
            return Err(MemError::NoPhysical { paddr });
        }
        if !self.holds(pfn) {
            return Err(unreadable(
                paddr,
                "the page is in another part of the split dump",
            ));
        }
        if !dumped {
            return Err(MemError::NotInDump { paddr });
        }
        let (offset, size, flags) = self.desc(pfn, paddr)?;
        if offset == 0 {
            let why = if self.incomplete {
                "the dump is incomplete: this page was never written"
            } else {
                "its page descriptor is empty (offset 0)"
            };
            return Err(unreadable(paddr, why));
        }
        let size = size as u64;
        if size == 0 || size > self.page_size {
            return Err(unreadable(
                paddr,
                format!(
                    "its descriptor gives a stored size of {size} bytes for a {}-byte page",
                    self.page_size
                ),
            ));
        }
        if offset.checked_add(size).is_none_or(|e| e > self.file_size) {
            return Err(past_end(
                paddr,
                format!(
                    "its data ({size} bytes at offset {offset:#x}) lies past the end of the file"
                ),
            ));
        }
        if Some(offset) == self.zero_offset && flags & CODEC_MASK == 0 && size == self.page_size {
            out.fill(0);
            return Ok(());
        }
        let mut data = vec![0u8; size as usize];
        self.src
            .read_exact_at(offset, &mut data, "page data")
            .map_err(|e| unreadable(paddr, e.to_string()))?;
        decode_page(flags, &data, out).map_err(|e| unreadable(paddr, e.to_string()))
    }

    /// Reads through a small cache of decoded pages (page-table walks read 8 bytes at a time).
    fn with_page<R>(
        &self,
        pfn: u64,
        f: impl FnOnce(&[u8]) -> R,
    ) -> std::result::Result<R, MemError> {
        {
            let d = self.decoded.borrow();
            if let Some((_, p)) = d.iter().find(|(n, _)| *n == pfn) {
                return Ok(f(p));
            }
        }
        let mut page = vec![0u8; self.page_size as usize];
        self.read_page(pfn, &mut page)?;
        let r = f(&page);
        let mut d = self.decoded.borrow_mut();
        if d.len() < DECODED_PAGES {
            d.push((pfn, page));
        } else {
            let mut slot = self.next_slot.borrow_mut();
            d[*slot] = (pfn, page);
            *slot = (*slot + 1) % DECODED_PAGES;
        }
        Ok(r)
    }

    pub(super) fn read_span(
        &self,
        paddr: u64,
        buf: &mut [u8],
    ) -> std::result::Result<(), MemError> {
        let pfn = paddr / self.page_size;
        let within = (paddr % self.page_size) as usize;
        self.with_page(pfn, |p| buf.copy_from_slice(&p[within..within + buf.len()]))
    }

    /// Runs of pages in memory (1st bitmap) or dumped (2nd), merged. Reads the 1st bitmap in
    /// pieces; when it cannot be read, the dumped pages only.
    pub(super) fn ranges(&self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        let ps = self.page_size;
        let (from, to) = (self.start_pfn, self.end_pfn.min(self.max_mapnr));
        let (w0, w1) = (from / 64, to.div_ceil(64));
        let dumped = |w: u64| self.dumped.words.get(w as usize).copied().unwrap_or(0);
        let add = |out: &mut Vec<(u64, u64)>, w: u64, bits: u64| {
            let mut bits = bits & range_mask(w, from, to);
            while bits != 0 {
                let s = bits.trailing_zeros() as u64;
                let n = (bits >> s).trailing_ones() as u64;
                push_range(out, (w * 64 + s) * ps, (w * 64 + s + n) * ps);
                bits = if s + n >= 64 {
                    0
                } else {
                    bits & !((1u64 << (s + n)) - 1)
                };
            }
        };
        let read = self.present_off.map(|off| {
            read_words(
                &self.src,
                off,
                self.max_mapnr.div_ceil(8),
                (w0, w1),
                "1st page bitmap",
                &mut |first, ws| {
                    for (i, p) in ws.iter().enumerate() {
                        let w = first + i as u64;
                        add(&mut out, w, p | dumped(w));
                    }
                },
            )
        });
        if !matches!(read, Some(Ok(()))) {
            out.clear();
            (w0..w1).for_each(|w| add(&mut out, w, dumped(w)));
        }
        out
    }
}

pub(super) fn push_range(out: &mut Vec<(u64, u64)>, s: u64, e: u64) {
    if let Some(last) = out.last_mut() {
        if last.1 == s {
            last.1 = e;
            return;
        }
    }
    out.push((s, e));
}

/// `NUMBER(name)=value` from VMCOREINFO text (signed decimal).
fn vmcoreinfo_number(text: &str, name: &str) -> Option<i64> {
    let key = format!("NUMBER({name})=");
    let v = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(key.as_str()))?
        .trim();
    v.parse::<i64>()
        .ok()
        .or_else(|| v.parse::<u64>().ok().map(|u| u as i64))
}

fn vmcoreinfo_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
}

/// Reads notes and VMCOREINFO of one parsed file.
pub(super) fn read_notes(f: &DiskDumpFile, notes: &mut Notes, warnings: &mut Vec<String>) {
    let Some(s) = &f.sub else { return };
    let bounded =
        |off: u64, size: u64, what: &str, warnings: &mut Vec<String>| -> Option<Vec<u8>> {
            if off == 0 || size == 0 {
                return None;
            }
            if size > MAX_NOTES {
                warnings.push(format!(
                    "the {what} of {size} bytes is implausible; ignored"
                ));
                return None;
            }
            let avail = f.file_size.saturating_sub(off).min(size);
            if avail < size {
                warnings.push(format!("the {what} is cut short ({avail} of {size} bytes)"));
            }
            f.src.read_vec(off, avail as usize, what).ok()
        };
    if let Some(d) = bounded(s.offset_note, s.size_note, "ELF note section", warnings) {
        parse_notes(&d, notes);
    }
    if notes.vmcoreinfo.is_none() {
        if let Some(d) = bounded(
            s.offset_vmcoreinfo,
            s.size_vmcoreinfo,
            "VMCOREINFO",
            warnings,
        ) {
            notes.vmcoreinfo = Some(
                String::from_utf8_lossy(&d)
                    .trim_end_matches('\0')
                    .to_string(),
            );
        }
    }
}

/// QEMU writes its kdump sub-header with phys_base = the decimal VMCOREINFO value read as hex,
/// and an empty utsname. Corrects what VMCOREINFO can correct and says so.
pub(super) fn qemu_quirks(f: &DiskDumpFile, notes: &Notes, info: &mut ContainerInfo) {
    let Some(vi) = notes.vmcoreinfo.as_deref() else {
        if f.header.release().is_empty() {
            info.warnings
                .push("utsname in the dump header is empty and there is no VMCOREINFO".into());
        }
        return;
    };
    if let (Some(sub), Some(pb)) = (&f.sub, vmcoreinfo_number(vi, "phys_base")) {
        let right = pb as u64;
        if sub.phys_base != right {
            let raw = vi
                .lines()
                .find_map(|l| l.trim().strip_prefix("NUMBER(phys_base)="))
                .unwrap_or("")
                .trim()
                .to_string();
            let as_hex = u64::from_str_radix(raw.trim_start_matches('-'), 16).ok();
            let why = if as_hex == Some(sub.phys_base)
                || as_hex.map(|h| h.wrapping_neg()) == Some(sub.phys_base)
            {
                " (the decimal VMCOREINFO value was read as hexadecimal: a QEMU dump-guest-memory bug)"
            } else {
                ""
            };
            info.corrections.push(format!(
                "phys_base in the kdump sub-header is {:#x}; VMCOREINFO says NUMBER(phys_base)={raw} = {right:#x}{why}; using {right:#x}",
                sub.phys_base
            ));
            info.phys_base = Some(right);
            info.phys_base_corrected = true;
        }
    }
    if f.header.release().is_empty() {
        if let Some(rel) = vmcoreinfo_value(vi, "OSRELEASE") {
            info.corrections.push(format!(
                "utsname in the dump header is empty (as QEMU writes it); the release {rel} comes from VMCOREINFO OSRELEASE"
            ));
            info.utsname_release = Some(rel.to_string());
        }
    } else if let Some(rel) = vmcoreinfo_value(vi, "OSRELEASE") {
        if rel != f.header.release() {
            info.warnings.push(format!(
                "the dump header says release {} but VMCOREINFO says {rel}; using VMCOREINFO",
                f.header.release()
            ));
            info.utsname_release = Some(rel.to_string());
        }
    }
}

pub(super) fn describe(f: &DiskDumpFile) -> (String, String) {
    if f.header.is_kdump() {
        let level = f.sub.as_ref().map(|s| s.dump_level).unwrap_or(0);
        (
            "kdump-compressed".into(),
            format!(
                "kdump-compressed dump (makedumpfile/QEMU), header version {}, dump level {level}",
                f.header.version
            ),
        )
    } else {
        (
            "diskdump".into(),
            format!("diskdump (DISKDUMP), header version {}", f.header.version),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_matches_naive() {
        let mut bytes = vec![0u8; 300];
        let mut x = 0x1234_5678u32;
        for b in bytes.iter_mut() {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *b = (x >> 16) as u8;
        }
        let nbits = 300 * 8 - 5;
        let r = RankedBitmap::new(&bytes, nbits);
        let mut naive = 0u64;
        for bit in 0..nbits {
            assert_eq!(r.rank(bit), naive, "bit {bit}");
            if bytes[(bit / 8) as usize] >> (bit % 8) & 1 != 0 {
                naive += 1;
            }
        }
        assert_eq!(r.rank(nbits), naive);
        assert_eq!(r.rank(nbits + 1000), naive);
    }

    #[test]
    fn range_mask_matches_naive() {
        for w in 0..3u64 {
            for from in (0..200u64).step_by(7) {
                for to in (from..210).step_by(5) {
                    let m = range_mask(w, from, to);
                    for b in 0..64 {
                        let bit = w * 64 + b;
                        assert_eq!(
                            m >> b & 1 == 1,
                            bit >= from && bit < to,
                            "{w} {from} {to} {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn codecs_round_trip() {
        let page: Vec<u8> = (0..4096u32).map(|i| (i / 7) as u8).collect();
        let mut out = vec![0u8; 4096];
        let z = {
            use std::io::Write;
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&page).unwrap();
            e.finish().unwrap()
        };
        decode_page(DUMP_DH_COMPRESSED_ZLIB, &z, &mut out).unwrap();
        assert_eq!(out, page);
        let l = lzokay_native::compress(&page).unwrap();
        decode_page(DUMP_DH_COMPRESSED_LZO, &l, &mut out).unwrap();
        assert_eq!(out, page);
        let s = snap::raw::Encoder::new().compress_vec(&page).unwrap();
        decode_page(DUMP_DH_COMPRESSED_SNAPPY, &s, &mut out).unwrap();
        assert_eq!(out, page);
        decode_page(0, &page, &mut out).unwrap();
        assert_eq!(out, page);
        // Wrong sizes and garbage are errors, not panics.
        assert!(decode_page(0, &page[..100], &mut out).is_err());
        assert!(decode_page(DUMP_DH_COMPRESSED_ZLIB, &z[..z.len() / 2], &mut out).is_err());
        assert!(decode_page(DUMP_DH_COMPRESSED_LZO, &[0xff; 40], &mut out).is_err());
        assert!(decode_page(DUMP_DH_COMPRESSED_SNAPPY, &[0xff; 40], &mut out).is_err());
        assert!(decode_page(
            DUMP_DH_COMPRESSED_ZSTD,
            &[0x28, 0xb5, 0x2f, 0xfd, 0, 0],
            &mut out
        )
        .is_err());
        let small = snap::raw::Encoder::new()
            .compress_vec(&page[..100])
            .unwrap();
        assert!(decode_page(DUMP_DH_COMPRESSED_SNAPPY, &small, &mut out).is_err());
    }
}

//! The kernel log, read from the dump purely through VMCOREINFO offsets.
//!
//! - 5.10+: the lockless ring buffer (`prb`, kernel/printk/printk_ringbuffer.c): a descriptor
//!   ring with per-record `printk_info` and a text data ring of `[id][text]` blocks.
//! - 3.5-5.9: the structured `log_buf` of `struct printk_log` records (kernel/printk/printk.c
//!   before commit 896fbe20b4e2), wrapped by a zero-length record.

use crate::bytes::Le;

use super::Kernel;
use crate::error::{Error, Result};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LogRecord {
    pub seq: u64,
    pub ts_nsec: u64,
    pub level: u8,
    pub facility: u8,
    /// `T<pid>` or `C<cpu>` when the kernel recorded the caller (CONFIG_PRINTK_CALLER).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// This record continues the previous line (LOG_CONT).
    pub cont: bool,
    pub text: String,
}

const LOG_CONT: u8 = 8;
/// Largest text ring / log_buf read (the kernel allows up to 2 GiB by `log_buf_len=`; anything
/// above 1 GiB is treated as damage).
const MAX_RING_BITS: u32 = 30;
/// Largest `SIZE(prb_desc)`, `SIZE(printk_info)`, `SIZE(printk_log)` believed (they are 24-88
/// bytes in every release).
const MAX_STRUCT: u64 = 4096;

/// Checks that `[off, off + len)` fits in a structure of `size` bytes.
fn fits(off: u64, len: u64, size: u64, what: &str) -> Result<()> {
    match off.checked_add(len) {
        Some(e) if e <= size => Ok(()),
        _ => Err(Error::Corrupt(format!(
            "{what} ({off}) lies outside its structure ({size} bytes)"
        ))),
    }
}
/// Upper bound on records read: a log buffer is at most a few MiB.
const MAX_RECORDS: u64 = 1 << 20;

fn caller(id: u32) -> Option<String> {
    match id {
        0 => None,
        id if id & 0x8000_0000 != 0 => Some(format!("C{}", id & 0x7fff_ffff)),
        id => Some(format!("T{id}")),
    }
}

/// Text with non-printable bytes escaped as makedumpfile does (`\xNN`), tabs kept.
fn printable(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\t' || c == '\n' || !c.is_control() {
            out.push(c)
        } else {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
    }
    out
}

pub fn read_log(k: &Kernel) -> Result<Vec<LogRecord>> {
    // VMCOREINFO says which log the kernel has: log_first_idx exists only with the structured
    // buffer (3.5-5.9), prb only with the lockless ring (5.10+). Without the keys, the symbols.
    if k.vmcoreinfo.symbol("log_first_idx").is_some() {
        read_structured(k)
    } else if k.symbol("prb").is_some() {
        read_lockless(k)
    } else if k.symbol("log_first_idx").is_some() {
        read_structured(k)
    } else {
        Err(Error::Missing(
            "the kernel log location (neither prb nor log_first_idx is known)".into(),
        ))
    }
}

fn need(v: Option<u64>, what: &str) -> Result<u64> {
    v.ok_or_else(|| Error::Missing(format!("VMCOREINFO lacks {what}")))
}

fn read_lockless(k: &Kernel) -> Result<Vec<LogRecord>> {
    let off = |n: &str| need(k.offset(n), &format!("OFFSET({n})"));
    let size = |n: &str| need(k.size(n), &format!("SIZE({n})"));
    // `prb` is a pointer to the ring buffer in use (printk_rb_static, or the dynamic one).
    // Addresses are summed wrapping: a damaged offset gives an unreadable address, not a panic.
    let prb = k.read_u64(need(k.symbol("prb"), "SYMBOL(prb)")?)?;
    let desc_ring = prb.wrapping_add(off("printk_ringbuffer.desc_ring")?);
    let text_ring = prb.wrapping_add(off("printk_ringbuffer.text_data_ring")?);
    let count_bits = k.read_u32(desc_ring.wrapping_add(off("prb_desc_ring.count_bits")?))?;
    if count_bits > 30 {
        return Err(Error::Corrupt(format!(
            "printk descriptor ring has 2^{count_bits} entries"
        )));
    }
    let descs = k.read_u64(desc_ring.wrapping_add(off("prb_desc_ring.descs")?))?;
    let infos = k.read_u64(desc_ring.wrapping_add(off("prb_desc_ring.infos")?))?;
    let counter = k.offset("atomic_long_t.counter").unwrap_or(0);
    let head_id = k.read_u64(
        desc_ring
            .wrapping_add(off("prb_desc_ring.head_id")?)
            .wrapping_add(counter),
    )?;
    let tail_id = k.read_u64(
        desc_ring
            .wrapping_add(off("prb_desc_ring.tail_id")?)
            .wrapping_add(counter),
    )?;
    let size_bits = k.read_u32(text_ring.wrapping_add(off("prb_data_ring.size_bits")?))?;
    if size_bits > MAX_RING_BITS {
        return Err(Error::Corrupt(format!(
            "printk text ring of 2^{size_bits} bytes"
        )));
    }
    let data = k.read_u64(text_ring.wrapping_add(off("prb_data_ring.data")?))?;
    let data_size = 1u64 << size_bits;
    // The whole text ring is read once (a few hundred KiB to a few MiB).
    let text = k.read_bytes(data, data_size as usize)?;

    let desc_size = size("prb_desc")?;
    let sv_off = off("prb_desc.state_var")? + counter;
    let lpos_off = off("prb_desc.text_blk_lpos")?;
    let begin_off = off("prb_data_blk_lpos.begin")?;
    let next_off = off("prb_data_blk_lpos.next")?;
    let info_size = size("printk_info")?;
    let seq_off = off("printk_info.seq")?;
    let ts_off = off("printk_info.ts_nsec")?;
    let len_off = off("printk_info.text_len")?;
    let caller_off = off("printk_info.caller_id")?;
    if desc_size == 0 || desc_size > MAX_STRUCT || info_size > MAX_STRUCT {
        return Err(Error::Corrupt(format!(
            "printk descriptor sizes {desc_size}/{info_size} are implausible"
        )));
    }
    fits(seq_off, 8, info_size, "printk_info.seq")?;
    fits(ts_off, 8, info_size, "printk_info.ts_nsec")?;
    // text_len (u16), facility (u8), flags:5 + level:3 (u8).
    fits(len_off, 4, info_size, "printk_info.text_len")?;
    fits(caller_off, 4, info_size, "printk_info.caller_id")?;

    let mask = (1u64 << count_bits) - 1;
    const ID_MASK: u64 = !(3u64 << 62);
    let mut out = Vec::new();
    let mut id = tail_id;
    let mut n = 0u64;
    loop {
        n += 1;
        if n > MAX_RECORDS.min(mask + 2) {
            break;
        }
        let idx = id & mask;
        let d = descs.wrapping_add(idx * desc_size);
        let sv = k.read_u64(d.wrapping_add(sv_off))?;
        let state = sv >> 62;
        // desc_committed (1) and desc_finalized (2) hold a record of this id.
        if (sv & ID_MASK) == (id & ID_MASK) && (state == 1 || state == 2) {
            let lpos = d.wrapping_add(lpos_off);
            let begin = k.read_u64(lpos.wrapping_add(begin_off))?;
            let next = k.read_u64(lpos.wrapping_add(next_off))?;
            let info = infos.wrapping_add(idx * info_size);
            let ib = k.read_bytes(info, info_size as usize)?;
            let g64 = |o: u64| ib.u64_at(o as usize).unwrap_or(0);
            let text_len = ib.u16_at(len_off as usize).unwrap_or(0);
            // struct printk_info: u16 text_len; u8 facility; u8 flags:5, level:3.
            let facility = ib.u8_at(len_off as usize + 2).unwrap_or(0);
            let fl = ib.u8_at(len_off as usize + 3).unwrap_or(0);
            let caller_id = ib.u32_at(caller_off as usize).unwrap_or(0);
            let body = block_text(&text, size_bits, begin, next, text_len as u64);
            out.push(LogRecord {
                seq: g64(seq_off),
                ts_nsec: g64(ts_off),
                level: fl >> 5,
                facility,
                caller: caller(caller_id),
                cont: fl & 0x1f & LOG_CONT != 0,
                text: printable(body),
            });
        }
        if id == head_id {
            break;
        }
        id = id.wrapping_add(1) & ID_MASK;
    }
    Ok(out)
}

/// The text of a data block (`get_data()` in printk_ringbuffer.c): a regular block or one that
/// wrapped to the start of the ring; the first 8 bytes of a block are its descriptor id.
fn block_text(ring: &[u8], size_bits: u32, begin: u64, next: u64, text_len: u64) -> &[u8] {
    let size = 1u64 << size_bits;
    let wraps = |lpos: u64| lpos >> size_bits;
    let index = |lpos: u64| lpos & (size - 1);
    if begin & 1 == 1 && next & 1 == 1 {
        return &[]; // data-less record
    }
    let (start, len) = if wraps(begin) == wraps(next) && begin < next {
        (index(begin), next - begin)
    } else if wraps(begin.wrapping_add(size)) == wraps(next) {
        (0, index(next))
    } else {
        return &[];
    };
    if len < 8 || start.checked_add(len).is_none_or(|e| e > size) || ring.len() as u64 != size {
        return &[];
    }
    let s = (start + 8) as usize;
    let l = (len - 8).min(text_len) as usize;
    &ring[s..s + l]
}

/// 3.5-5.9 `log_buf`: records of `struct printk_log` { u64 ts_nsec; u16 len, text_len, dict_len;
/// u8 facility; u8 flags:5, level:3; [u32 caller_id] } followed by text and dict.
fn read_structured(k: &Kernel) -> Result<Vec<LogRecord>> {
    let sym = |n: &str| need(k.symbol(n), &format!("SYMBOL({n})"));
    let buf = k.read_u64(sym("log_buf")?)?;
    let buf_len = k.read_u32(sym("log_buf_len")?)? as u64;
    if buf_len == 0 || buf_len > 1 << MAX_RING_BITS {
        return Err(Error::Corrupt(format!(
            "log_buf_len {buf_len} is implausible"
        )));
    }
    let first_idx = k.read_u32(sym("log_first_idx")?)? as u64;
    let next_idx = k.read_u32(sym("log_next_idx")?)? as u64;
    // Older VMCOREINFO names the struct "log" (3.5-3.10), newer "printk_log".
    let name = if k.size("printk_log").is_some() {
        "printk_log"
    } else {
        "log"
    };
    let hdr = need(k.size(name), &format!("SIZE({name})"))?;
    let ts_off = need(
        k.offset(&format!("{name}.ts_nsec")),
        "OFFSET(printk_log.ts_nsec)",
    )?;
    let len_off = need(k.offset(&format!("{name}.len")), "OFFSET(printk_log.len)")?;
    let tlen_off = need(
        k.offset(&format!("{name}.text_len")),
        "OFFSET(printk_log.text_len)",
    )?;
    let caller_off = k.offset(&format!("{name}.caller_id"));
    if hdr == 0 || hdr > MAX_STRUCT {
        return Err(Error::Corrupt(format!(
            "SIZE({name}) = {hdr} is implausible"
        )));
    }
    fits(ts_off, 8, hdr, "printk_log.ts_nsec")?;
    fits(len_off, 2, hdr, "printk_log.len")?;
    // text_len, dict_len (u16 each), facility (u8), flags:5 + level:3 (u8).
    fits(tlen_off, 6, hdr, "printk_log.text_len")?;
    if let Some(o) = caller_off {
        fits(o, 4, hdr, "printk_log.caller_id")?;
    }
    let ring = k.read_bytes(buf, buf_len as usize)?;
    let rd16 = |o: u64| ring.u16_at(o as usize).unwrap_or(0) as u64;
    let mut out = Vec::new();
    let mut idx = first_idx;
    let mut seq = 0u64;
    let mut wrapped = false;
    while out.len() < MAX_RECORDS as usize {
        if idx == next_idx && (seq > 0 || wrapped) {
            break;
        }
        if idx + hdr > buf_len {
            break;
        }
        let len = rd16(idx + len_off);
        if len == 0 {
            // A zero-length record means "continue at the start of the buffer".
            if wrapped {
                break;
            }
            wrapped = true;
            idx = 0;
            continue;
        }
        if idx + len > buf_len || len < hdr {
            break;
        }
        let ts = ring.u64_at((idx + ts_off) as usize).unwrap_or(0);
        let tlen = rd16(idx + tlen_off).min(len - hdr);
        // facility and flags/level follow dict_len (text_len + 4).
        let fac = ring.u8_at((idx + tlen_off + 4) as usize).unwrap_or(0);
        let fl = ring.u8_at((idx + tlen_off + 5) as usize).unwrap_or(0);
        let caller_id = caller_off
            .and_then(|o| ring.u32_at((idx + o) as usize))
            .unwrap_or(0);
        let t = &ring[(idx + hdr) as usize..(idx + hdr + tlen) as usize];
        out.push(LogRecord {
            seq,
            ts_nsec: ts,
            level: fl >> 5,
            facility: fac,
            caller: caller(caller_id),
            cont: fl & 0x1f & LOG_CONT != 0,
            text: printable(t),
        });
        seq += 1;
        idx += len;
    }
    Ok(out)
}

/// The log as `makedumpfile --dump-dmesg` prints it (`[    1.234567] text` lines); the oops
/// parser reads the same text a console gives.
pub fn plain_text(records: &[LogRecord]) -> String {
    let mut s = String::new();
    for r in records {
        let secs = r.ts_nsec / 1_000_000_000;
        let usec = (r.ts_nsec % 1_000_000_000) / 1000;
        let prefix = format!("[{secs:5}.{usec:06}] ");
        // Continuation lines of a multi-line record are indented under the text.
        let indent = format!("\n{}", " ".repeat(prefix.len()));
        s.push_str(&prefix);
        s.push_str(&r.text.replace('\n', &indent));
        s.push('\n');
    }
    s
}

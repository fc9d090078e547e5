//! Finding the kallsyms tables in the kernel image when VMCOREINFO does not name them (kernels
//! before 6.0 without the backport: CentOS 7's 3.10, RHEL 8's 4.18, 5.x...).
//!
//! scripts/kallsyms.c leaves a byte that stands for itself in the token table at its own index,
//! so the digits are the consecutive tokens `"0" "1" ... "9"` at indices 0x30..0x39. From that
//! anchor the 256 tokens and `kallsyms_token_index` right after them are checked against each
//! other; `kallsyms_num_syms` (followed by `kallsyms_names`) is found below the token table
//! where the names decode cleanly and `kallsyms_markers` after them agrees; the address table
//! sits either just below `kallsyms_num_syms` (up to 6.1) or after the token index (6.2+ order),
//! and the encoding that reproduces the VMCOREINFO SYMBOLs (`_stext`, `init_top_pgt`...) wins.

use crate::bytes::Le;

use super::kallsyms::{self, Stream, Tables, MAX_SYMS};
use super::Kernel;
use std::collections::BTreeMap;

const ANCHOR: &[u8] = b"0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00";
const CHUNK: u64 = 4 << 20;
/// How far past `_stext` the image is searched, and how far below the token table the names.
const IMAGE_SPAN: u64 = 256 << 20;
const NAMES_SPAN: u64 = 48 << 20;

/// Reads `[va, va+len)` of the kernel image; pages that cannot be read are zeros. Returns the
/// buffer and how many pages were readable.
fn read_lenient(k: &Kernel, va: u64, len: usize) -> (Vec<u8>, usize) {
    let mut b = vec![0u8; len];
    let mut ok = 0;
    let mut pos = 0;
    while pos < len {
        let a = va + pos as u64;
        let n = (len - pos).min((4096 - (a & 4095)) as usize);
        if k.read(a, &mut b[pos..pos + n]).is_ok() {
            ok += 1;
        }
        pos += n;
    }
    (b, ok)
}

/// Given the anchor at `p` (virtual), finds (token_table, token_index, tokens).
fn tokens_at(k: &Kernel, p: u64) -> Option<(u64, u64, Vec<Vec<u8>>)> {
    let lo = p.saturating_sub(16 << 10);
    let (w, _) = read_lenient(k, lo, 48 << 10);
    let pi = (p - lo) as usize;
    // token_index follows the table within a few KiB; try every 2-aligned start.
    let mut q = pi + ANCHOR.len();
    // token_index is aligned in memory (not in the window).
    q += ((lo + q as u64) & 1) as usize;
    while q + 512 <= w.len() && q < pi + (8 << 10) {
        let idx: Vec<usize> = (0..256)
            .map(|i| w.u16_at(q + 2 * i).unwrap_or(0) as usize)
            .collect();
        if idx[0] == 0 && idx[0x31] == idx[0x30] + 2 && idx[0x30] <= pi {
            let ts = pi - idx[0x30];
            if let Some(toks) = check_tokens(&w, ts, &idx, q) {
                return Some((lo + ts as u64, lo + q as u64, toks));
            }
        }
        q += 2;
    }
    None
}

fn check_tokens(w: &[u8], ts: usize, idx: &[usize], q: usize) -> Option<Vec<Vec<u8>>> {
    let mut toks = Vec::with_capacity(256);
    for i in 0..256 {
        let s = ts + idx[i];
        if i > 0 && idx[i] < idx[i - 1] {
            return None;
        }
        let end = s + w.get(s..q)?.iter().position(|&c| c == 0)?;
        if i < 255 && end + 1 != ts + idx[i + 1] {
            return None;
        }
        if i == 255 && q.checked_sub(end + 1)? >= 16 {
            return None;
        }
        toks.push(w[s..end].to_vec());
    }
    Some(toks)
}

/// `kind` is nm's type letter; `?` is what nm gives a symbol it cannot classify, and kernels
/// built with binutils 2.3x+ have some (4.9 and 4.19's `__nosave_begin`, a linker-script symbol
/// in an empty section), so it is a type like the others.
fn plausible_name(kind: u8, name: &[u8]) -> bool {
    b"AaBbCDdGgiNnpRrSsTtUuVvWw?".contains(&kind)
        && !name.is_empty()
        && name
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"_.$".contains(&c))
}

/// Offsets of the first `count` entries of a names table in `b` from `start`, checking that
/// they expand to plausible symbol names; `None` at the first bad one.
fn name_offsets(b: &[u8], start: usize, count: usize, toks: &[Vec<u8>]) -> Option<Vec<usize>> {
    let mut pos = start;
    let mut offs = Vec::with_capacity(count);
    let mut buf = Vec::new();
    for _ in 0..count {
        offs.push(pos - start);
        let mut len = *b.get(pos)? as usize;
        pos += 1;
        if len & 0x80 != 0 {
            len = (len & 0x7f) | ((*b.get(pos)? as usize) << 7);
            pos += 1;
        }
        buf.clear();
        for &t in b.get(pos..pos + len)? {
            buf.extend_from_slice(&toks[t as usize]);
        }
        pos += len;
        if len == 0 || !plausible_name(buf[0], &buf[1..]) {
            return None;
        }
    }
    offs.push(pos - start);
    Some(offs)
}

/// Searches the kernel image for the kallsyms tables and decodes them.
pub fn scan(
    k: &Kernel,
    known: &BTreeMap<String, u64>,
) -> crate::error::Result<(kallsyms::Kallsyms, Tables, &'static str)> {
    // The image starts at _text: from VMCOREINFO, else the first 2 MiB the page tables map in
    // __START_KERNEL_map (cleanup_highmap() unmaps what lies below _text), else somewhat below
    // the lowest VMCOREINFO symbol (old kernels name only data such as init_level4_pgt).
    let kmap = super::paging::START_KERNEL_MAP;
    let start = known
        .get("_stext")
        .or_else(|| known.get("_text"))
        .copied()
        .or_else(|| {
            (0..512u64)
                .map(|i| kmap + (i << 21))
                .find(|&v| k.paging.top_pgt.is_some() && k.translate(v).is_ok())
        })
        .or_else(|| {
            known
                .values()
                .min()
                .map(|&m| m.saturating_sub(64 << 20).max(kmap))
        })
        .ok_or("no kernel-image symbol in VMCOREINFO to start the search from")?
        & !0xfff;
    let span = IMAGE_SPAN.min(k.paging.kernel_image_size);
    let mut at = start;
    let mut tried = 0;
    while at < start + span {
        let len = (CHUNK + 64).min(start + span - at + 64);
        let (chunk, ok) = read_lenient(k, at, len as usize);
        if ok == 0 {
            break; // past the end of the image
        }
        let mut from = 0;
        // The anchor's first byte first: most of an image (and all of a hole) is not '0'.
        let find = |c: &[u8]| {
            let mut i = 0;
            while let Some(j) = c.get(i..)?.iter().position(|&x| x == ANCHOR[0]) {
                if c.get(i + j..i + j + ANCHOR.len()) == Some(ANCHOR) {
                    return Some(i + j);
                }
                i += j + 1;
            }
            None
        };
        while let Some(i) = find(&chunk[from..]) {
            let p = at + (from + i) as u64;
            from += i + 1;
            tried += 1;
            if tried > 64 {
                return Err("too many token-table candidates in the kernel image".into());
            }
            if let Some((tt, ti, toks)) = tokens_at(k, p) {
                if let Some(r) = names_and_addresses(k, tt, ti, &toks, known) {
                    return Ok(r);
                }
            }
        }
        at += CHUNK;
    }
    Err("no kallsyms token table found in the kernel image".into())
}

fn names_and_addresses(
    k: &Kernel,
    tt: u64,
    ti: u64,
    toks: &[Vec<u8>],
    known: &BTreeMap<String, u64>,
) -> Option<(kallsyms::Kallsyms, Tables, &'static str)> {
    let lo = tt
        .saturating_sub(NAMES_SPAN)
        .max(k.vmcoreinfo.symbol("_stext").unwrap_or(0));
    if tt < lo + 64 {
        return None;
    }
    let (b, _) = read_lenient(k, lo, (tt - lo) as usize);
    let mut x = (b.len() - 8) & !7;
    while x >= 8 {
        let n = b.u32_at(x)? as usize;
        if (256..=MAX_SYMS as usize).contains(&n)
            && b.u32_at(x + 4) == Some(0)
            && name_offsets(&b, x + 8, 8, toks).is_some()
        {
            if let Some(r) = try_names(k, &b, lo, x, n, tt, ti, toks, known) {
                return Some(r);
            }
        }
        x -= 8;
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn try_names(
    k: &Kernel,
    b: &[u8],
    lo: u64,
    x: usize,
    n: usize,
    tt: u64,
    ti: u64,
    toks: &[Vec<u8>],
    known: &BTreeMap<String, u64>,
) -> Option<(kallsyms::Kallsyms, Tables, &'static str)> {
    let offs = name_offsets(b, x + 8, n, toks)?;
    // kallsyms_markers: one entry (u32, or unsigned long in old kernels) per 256 symbols.
    let end = x + 8 + offs[n];
    let m1 = offs[256] as u64;
    // The label is aligned (`.balign 8` on 64-bit, but the names' end is relative to the
    // window, so align the virtual address); entries are u32 (4.20+) or unsigned long.
    let markers_ok = [(8usize, 4usize), (8, 8), (4, 4)].iter().any(|&(al, sz)| {
        let va = lo + end as u64;
        let m = end + (((va + al as u64 - 1) & !(al as u64 - 1)) - va) as usize;
        let rd = |o: usize| {
            if sz == 4 {
                b.u32_at(o).map(u64::from)
            } else {
                b.u64_at(o)
            }
        };
        rd(m) == Some(0) && rd(m + sz) == Some(m1)
    });
    if !markers_ok {
        return None;
    }
    let num = lo + x as u64;
    let names_va = num + 8;
    let al8 = |v: u64| (v + 7) & !7;
    let n64 = n as u64;
    let base = Tables {
        names: names_va,
        num_syms: num,
        token_table: tt,
        token_index: ti,
        ..Default::default()
    };
    let new_off = al8(ti + 512);
    let layouts = [
        // Up to 6.1: offsets, relative_base, num_syms, names.
        Tables {
            offsets: Some(num - 8 - al8(4 * n64)),
            relative_base: Some(num - 8),
            ..base
        },
        // 6.2+: ... token_index, offsets, relative_base.
        Tables {
            offsets: Some(new_off),
            relative_base: Some(al8(new_off + 4 * n64)),
            ..base
        },
        // Absolute addresses just below num_syms (3.x, !KALLSYMS_BASE_RELATIVE).
        Tables {
            addresses: Some(num - 8 * n64),
            ..base
        },
    ];
    let mut s = Stream::new(k, names_va, offs[n] + 16);
    let (names, _) = kallsyms::read_names(&mut s, n as u32, toks.to_vec()).ok()?;
    for t in layouts {
        if let Ok((label, addrs)) = kallsyms::choose(k, &t, &names, known) {
            return Some((kallsyms::Kallsyms::new(names, addrs), t, label));
        }
    }
    None
}

//! vmlinux symbols from the kernel's own kallsyms tables in the dump's memory
//! (scripts/kallsyms.c writes them, kernel/kallsyms.c reads them).
//!
//! The tables: `kallsyms_num_syms`; `kallsyms_names` (per symbol a length — one byte, or two
//! bytes `0x80|lo7, hi` since 6.1 commit 73bbb94466fd "kallsyms: support big kernel symbols" —
//! then that many token indices); `kallsyms_token_table` (256 NUL-terminated strings) with
//! `kallsyms_token_index` (256 u16 offsets). The first expanded byte is the type letter.
//!
//! Addresses have been encoded four ways, and nothing in memory says which one a kernel uses, so
//! every candidate is decoded and the one that puts `_stext` (and any other VMCOREINFO SYMBOL)
//! at its VMCOREINFO address wins:
//! - absolute: `kallsyms_addresses[]`, u64 (before 4.6, or !KALLSYMS_BASE_RELATIVE);
//! - base-relative with absolute per-CPU (4.6+, x86_64 SMP until 6.15): `kallsyms_offsets[]` i32,
//!   `off >= 0 ? off : relative_base - 1 - off`;
//! - base-relative: `relative_base + (u32)off`;
//! - place-relative (7.0): each i32 is relative to its own slot, `&offsets[i] + off`.

use super::symbols::Symbol;
use super::Kernel;
use crate::bytes::Le;
use crate::error::Error;
use std::collections::BTreeMap;

/// Where the tables are (virtual addresses).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tables {
    pub names: u64,
    pub num_syms: u64,
    pub token_table: u64,
    pub token_index: u64,
    /// `kallsyms_offsets` (relative encodings).
    pub offsets: Option<u64>,
    pub relative_base: Option<u64>,
    /// `kallsyms_addresses` (absolute encoding).
    pub addresses: Option<u64>,
}

impl Tables {
    /// From the VMCOREINFO kallsyms keys (kernel/vmcore_info.c, 6.0+ and backports).
    pub fn from_vmcoreinfo(vi: &super::VmcoreInfo) -> Option<Tables> {
        Some(Tables {
            names: vi.symbol("kallsyms_names")?,
            num_syms: vi.symbol("kallsyms_num_syms")?,
            token_table: vi.symbol("kallsyms_token_table")?,
            token_index: vi.symbol("kallsyms_token_index")?,
            offsets: vi.symbol("kallsyms_offsets"),
            relative_base: vi.symbol("kallsyms_relative_base"),
            addresses: vi.symbol("kallsyms_addresses"),
        })
        .filter(|t| t.offsets.is_some() || t.addresses.is_some())
    }
}

/// Upper bound on symbols (a large distro kernel has ~200k).
pub const MAX_SYMS: u32 = 2_000_000;

/// Reads `[addr, addr+len)` in chunks that grow as a parser needs them.
pub(crate) struct Stream<'k> {
    k: &'k Kernel,
    base: u64,
    pub buf: Vec<u8>,
    limit: usize,
}

impl<'k> Stream<'k> {
    pub fn new(k: &'k Kernel, base: u64, limit: usize) -> Self {
        Stream {
            k,
            base,
            buf: Vec::new(),
            limit,
        }
    }
    /// Makes sure `buf` holds at least `end` bytes.
    pub fn ensure(&mut self, end: usize) -> crate::error::Result<()> {
        if end <= self.buf.len() {
            return Ok(());
        }
        if end > self.limit {
            return Err(format!("table at {:#x} runs past {} bytes", self.base, self.limit).into());
        }
        let want = (end.max(self.buf.len() + (256 << 10))).min(self.limit);
        let old = self.buf.len();
        self.buf.resize(want, 0);
        // Page by page so that an unreadable page past what is needed does not fail the read.
        let mut pos = old;
        while pos < want {
            let va = self.base + pos as u64;
            let n = (want - pos).min((4096 - (va & 4095)) as usize);
            if let Err(e) = self.k.read(va, &mut self.buf[pos..pos + n]) {
                self.buf.truncate(pos);
                if pos >= end {
                    return Ok(());
                }
                return Err(format!("reading {va:#x}: {e}").into());
            }
            pos += n;
        }
        Ok(())
    }
}

/// The 256 tokens.
pub(crate) fn read_tokens(k: &Kernel, t: &Tables) -> crate::error::Result<Vec<Vec<u8>>> {
    let idx = k
        .read_bytes(t.token_index, 512)
        .map_err(|e| format!("kallsyms_token_index: {e}"))?;
    let offs: Vec<usize> = idx
        .chunks_exact(2)
        .map(|c| c.u16_at(0).unwrap_or(0) as usize)
        .collect();
    let max = offs.iter().copied().max().unwrap_or(0);
    let mut s = Stream::new(k, t.token_table, max + 4096);
    s.ensure(max + 1)
        .map_err(|e| format!("kallsyms_token_table: {e}"))?;
    let mut toks = Vec::with_capacity(256);
    for &o in &offs {
        let mut end = o;
        loop {
            s.ensure(end + 1)
                .map_err(|e| format!("kallsyms_token_table: {e}"))?;
            if s.buf[end] == 0 || end - o > 255 {
                break;
            }
            end += 1;
        }
        toks.push(s.buf[o..end].to_vec());
    }
    Ok(toks)
}

/// Expands `n` names: (type letter, name). Also returns the byte length of the names table.
pub(crate) fn decode_names(
    s: &mut Stream,
    n: u32,
    toks: &[Vec<u8>],
) -> crate::error::Result<(Vec<(char, String)>, usize)> {
    let mut out = Vec::with_capacity(n as usize);
    let mut pos = 0usize;
    let mut name = Vec::with_capacity(256);
    for i in 0..n {
        s.ensure(pos + 2)?;
        let mut len = s.buf[pos] as usize;
        pos += 1;
        if len & 0x80 != 0 {
            len = (len & 0x7f) | ((s.buf[pos] as usize) << 7);
            pos += 1;
        }
        if len == 0 {
            return Err(format!("kallsyms_names: empty entry {i}").into());
        }
        s.ensure(pos + len)?;
        name.clear();
        for &b in &s.buf[pos..pos + len] {
            name.extend_from_slice(&toks[b as usize]);
        }
        pos += len;
        let Some((&kind, rest)) = name.split_first() else {
            return Err(format!("kallsyms_names: entry {i} expands to nothing").into());
        };
        out.push((kind as char, String::from_utf8_lossy(rest).into_owned()));
    }
    Ok((out, pos))
}

/// The candidate address decodings, by name.
fn candidates(
    k: &Kernel,
    t: &Tables,
    n: u32,
) -> crate::error::Result<Vec<(&'static str, Vec<u64>)>> {
    let n = n as usize;
    let mut c = Vec::new();
    if let Some(a) = t.addresses {
        let b = k
            .read_bytes(a, n * 8)
            .map_err(|e| format!("kallsyms_addresses: {e}"))?;
        c.push((
            "absolute",
            b.chunks_exact(8)
                .map(|x| x.u64_at(0).unwrap_or(0))
                .collect(),
        ));
    }
    if let Some(o) = t.offsets {
        let b = k
            .read_bytes(o, n * 4)
            .map_err(|e| format!("kallsyms_offsets: {e}"))?;
        let offs: Vec<i32> = b
            .chunks_exact(4)
            .map(|x| x.i32_at(0).unwrap_or(0))
            .collect();
        let base = t.relative_base.and_then(|rb| k.read_u64(rb).ok());
        c.extend(decode_offsets(&offs, o, base));
    }
    Ok(c)
}

/// The relative encodings of `kallsyms_offsets` (at `table`), with `kallsyms_relative_base`'s
/// value when there is one.
pub(crate) fn decode_offsets(
    offs: &[i32],
    table: u64,
    base: Option<u64>,
) -> Vec<(&'static str, Vec<u64>)> {
    let mut c = Vec::new();
    if let Some(base) = base {
        c.push((
            "base-relative with absolute per-CPU",
            offs.iter()
                .map(|&v| {
                    if v >= 0 {
                        v as u64
                    } else {
                        base.wrapping_sub(1).wrapping_sub(v as i64 as u64)
                    }
                })
                .collect(),
        ));
        c.push((
            "base-relative",
            offs.iter()
                .map(|&v| base.wrapping_add(v as u32 as u64))
                .collect(),
        ));
    }
    c.push((
        "place-relative",
        offs.iter()
            .enumerate()
            .map(|(i, &v)| {
                table
                    .wrapping_add(4 * i as u64)
                    .wrapping_add(v as i64 as u64)
            })
            .collect(),
    ));
    c
}

/// Reads and decodes the tables. `known` are addresses the result must reproduce (VMCOREINFO
/// SYMBOLs: `_stext` and the like); the encoding that reproduces most of them (at least one) wins.
pub fn read(
    k: &Kernel,
    t: &Tables,
    known: &BTreeMap<String, u64>,
) -> crate::error::Result<(Vec<Symbol>, &'static str)> {
    let n = k
        .read_u32(t.num_syms)
        .map_err(|e| format!("kallsyms_num_syms: {e}"))?;
    if n == 0 || n > MAX_SYMS {
        return Err(format!("kallsyms_num_syms is {n}, not a plausible symbol count").into());
    }
    let toks = read_tokens(k, t)?;
    let mut s = Stream::new(k, t.names, n as usize * 260);
    let (names, _) = decode_names(&mut s, n, &toks)?;
    drop(s);
    let (label, addrs) = choose(k, t, &names, known)?;
    Ok((finish(names, addrs), label))
}

/// The address decoding that reproduces the most `known` symbols (at least one).
pub(crate) fn choose(
    k: &Kernel,
    t: &Tables,
    names: &[(char, String)],
    known: &BTreeMap<String, u64>,
) -> crate::error::Result<(&'static str, Vec<u64>)> {
    let mut best: Option<(usize, &'static str, Vec<u64>)> = None;
    for (label, addrs) in candidates(k, t, names.len() as u32)? {
        let score = names
            .iter()
            .zip(&addrs)
            .filter(|((_, nm), a)| known.get(nm.as_str()) == Some(a))
            .count();
        if score > 0 && best.as_ref().is_none_or(|b| score > b.0) {
            best = Some((score, label, addrs));
        }
    }
    best.map(|(_, l, a)| (l, a)).ok_or_else(|| {
        let want: Vec<&String> = known.keys().take(3).collect();
        Error::Invalid(format!(
            "no address encoding of kallsyms reproduces the VMCOREINFO symbols ({want:?})"
        ))
    })
}

pub(crate) fn finish(names: Vec<(char, String)>, addrs: Vec<u64>) -> Vec<Symbol> {
    let mut syms: Vec<Symbol> = names
        .into_iter()
        .zip(addrs)
        .map(|((kind, name), addr)| Symbol {
            name,
            addr,
            size: 0,
            kind,
            module: None,
        })
        .collect();
    super::symbols::size_to_next(&mut syms, None);
    syms
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes known addresses the way scripts/kallsyms.c does for each kernel generation and
    /// checks that the matching decoder, and only it, gives them back.
    #[test]
    fn address_encodings() {
        let addrs = [
            0x0u64,
            0x1a000,
            0xffff_ffff_a6a0_0000,
            0xffff_ffff_a6a0_1230,
            0xffff_ffff_a8d1_6480,
        ];
        let base = 0xffff_ffff_a6a0_0000u64;
        let table = 0xffff_ffff_a7b2_00b0u64;
        // 4.6-6.14 x86_64 SMP: per-CPU values absolute (>= 0), the rest base - 1 - off.
        let abs_percpu: Vec<i32> = addrs
            .iter()
            .map(|&a| {
                if a < 0x8000_0000 {
                    a as i32
                } else {
                    base.wrapping_sub(1).wrapping_sub(a) as i64 as i32
                }
            })
            .collect();
        let got = decode_offsets(&abs_percpu, table, Some(base));
        assert_eq!(
            got[0],
            ("base-relative with absolute per-CPU", addrs.to_vec())
        );
        // 6.15+: unsigned offsets from the base (no per-CPU absolutes).
        let kaddrs = &addrs[2..];
        let rel: Vec<i32> = kaddrs.iter().map(|&a| (a - base) as u32 as i32).collect();
        let got = decode_offsets(&rel, table, Some(base));
        assert_eq!(got[1], ("base-relative", kaddrs.to_vec()));
        assert_ne!(got[0].1, kaddrs.to_vec());
        // 7.0: each entry relative to its own slot; no kallsyms_relative_base.
        let place: Vec<i32> = kaddrs
            .iter()
            .enumerate()
            .map(|(i, &a)| a.wrapping_sub(table + 4 * i as u64) as i64 as i32)
            .collect();
        let got = decode_offsets(&place, table, None);
        assert_eq!(got, vec![("place-relative", kaddrs.to_vec())]);
    }
}

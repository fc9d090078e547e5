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

/// `kallsyms_names` kept as the kernel holds it: each entry a length and token indices, expanded
/// only for the symbols looked up (a report needs perhaps a hundred of ~100k).
#[derive(Debug, Default)]
pub struct Names {
    /// The table's bytes, exactly its length.
    bytes: Vec<u8>,
    /// Offset of each entry's length byte(s) in `bytes`.
    starts: Vec<u32>,
    /// The 256 tokens.
    toks: Vec<Vec<u8>>,
}

/// Multiplier of the name hash (odd; wrapping arithmetic).
const HASH_MUL: u64 = 0x100_0000_01b3;

/// Hash of a name: `h = h * HASH_MUL + byte + 1` over its bytes, which composes over tokens
/// (`h * HASH_MUL^len(tok) + hash(tok)`), so an entry is hashed without being expanded.
pub fn name_hash(name: &[u8]) -> u64 {
    name.iter().fold(0u64, |h, &b| {
        h.wrapping_mul(HASH_MUL).wrapping_add(b as u64 + 1)
    })
}

impl Names {
    pub fn len(&self) -> usize {
        self.starts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }
    /// The token indices of entry `i` (checked to be in the table when it was read).
    fn entry(&self, i: usize) -> &[u8] {
        let mut p = self.starts[i] as usize;
        let mut len = self.bytes[p] as usize;
        p += 1;
        if len & 0x80 != 0 {
            len = (len & 0x7f) | ((self.bytes[p] as usize) << 7);
            p += 1;
        }
        &self.bytes[p..p + len]
    }
    /// Entry `i` expanded: the type letter, then the name.
    pub fn expand_into(&self, i: usize, out: &mut Vec<u8>) {
        out.clear();
        for &t in self.entry(i) {
            out.extend_from_slice(&self.toks[t as usize]);
        }
    }
    /// The nm-style type letter of entry `i`.
    pub fn kind(&self, i: usize) -> char {
        self.entry(i)
            .iter()
            .find_map(|&t| self.toks[t as usize].first())
            .map_or('?', |&b| b as char)
    }
    /// The name of entry `i` (without its type letter).
    pub fn name(&self, i: usize) -> String {
        let mut b = Vec::with_capacity(64);
        self.expand_into(i, &mut b);
        String::from_utf8_lossy(b.get(1..).unwrap_or_default()).into_owned()
    }
    /// [`name_hash`] of entry `i`'s name, from the tokens' hashes (`th`: hash and
    /// HASH_MUL^len of each token).
    fn hash(&self, i: usize, th: &[(u64, u64)]) -> u64 {
        let mut h = 0u64;
        let mut letter = true;
        for &t in self.entry(i) {
            let tok = &self.toks[t as usize];
            if letter {
                // The first byte expanded is the type letter, not part of the name.
                if let Some((_, rest)) = tok.split_first() {
                    h = rest.iter().fold(h, |h, &b| {
                        h.wrapping_mul(HASH_MUL).wrapping_add(b as u64 + 1)
                    });
                    letter = false;
                }
                continue;
            }
            let (th, pow) = th[t as usize];
            h = h.wrapping_mul(pow).wrapping_add(th);
        }
        h
    }
    /// (name hash, entry) of every entry, grouped by hash.
    fn hash_index(&self) -> crate::util::HashIndex {
        let th: Vec<(u64, u64)> = self
            .toks
            .iter()
            .map(|t| {
                let pow = t.iter().fold(1u64, |p, _| p.wrapping_mul(HASH_MUL));
                (name_hash(t), pow)
            })
            .collect();
        crate::util::HashIndex::new(
            (0..self.len())
                .map(|i| (self.hash(i, &th), i as u32))
                .collect(),
        )
    }
}

/// Indexes `n` entries of the names table (without expanding them), checking that each one is
/// in the table and expands to something. Also returns the byte length of the names table.
pub(crate) fn read_names(
    s: &mut Stream,
    n: u32,
    toks: Vec<Vec<u8>>,
) -> crate::error::Result<(Names, usize)> {
    let mut starts = Vec::with_capacity(n as usize);
    let mut pos = 0usize;
    for i in 0..n {
        s.ensure(pos + 2)?;
        starts.push(pos as u32);
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
        if s.buf[pos..pos + len]
            .iter()
            .all(|&b| toks[b as usize].is_empty())
        {
            return Err(format!("kallsyms_names: entry {i} expands to nothing").into());
        }
        pos += len;
    }
    let mut bytes = std::mem::take(&mut s.buf);
    bytes.truncate(pos);
    bytes.shrink_to_fit();
    Ok((
        Names {
            bytes,
            starts,
            toks,
        },
        pos,
    ))
}

/// vmlinux's symbols as kallsyms holds them: addresses decoded (the address -> symbol index is
/// built from them alone), names expanded on demand, a name index built on the first lookup by
/// name.
#[derive(Debug)]
pub struct Kallsyms {
    pub names: Names,
    /// Address of each entry, in table order.
    pub addrs: Vec<u64>,
    /// Every entry's address, sorted: a symbol's size is the distance to the next higher one.
    sorted: Vec<u64>,
    /// (name hash, entry), sorted, built on the first lookup by name.
    by_hash: std::cell::OnceCell<crate::util::HashIndex>,
}

impl Kallsyms {
    pub fn new(names: Names, addrs: Vec<u64>) -> Kallsyms {
        let mut sorted = addrs.clone();
        sorted.sort_unstable();
        Kallsyms {
            names,
            addrs,
            sorted,
            by_hash: std::cell::OnceCell::new(),
        }
    }
    pub fn len(&self) -> usize {
        self.addrs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }
    /// kallsyms' size of entry `i`: to the next higher address, 0 for the last.
    pub fn size(&self, i: usize) -> u64 {
        let a = self.addrs[i];
        let j = self.sorted.partition_point(|&x| x <= a);
        self.sorted.get(j).map_or(0, |&n| n - a)
    }
    /// Entry `i` as a [`Symbol`].
    pub fn symbol(&self, i: usize) -> Symbol {
        Symbol {
            name: self.names.name(i),
            addr: self.addrs[i],
            size: self.size(i),
            kind: self.names.kind(i),
            module: None,
        }
    }
    /// The entries named `name`, in table order.
    pub fn find_all(&self, name: &str) -> Vec<usize> {
        let idx = self.by_hash.get_or_init(|| self.names.hash_index());
        let mut buf = Vec::with_capacity(64);
        let mut out: Vec<usize> = idx
            .get(name_hash(name.as_bytes()))
            .map(|i| i as usize)
            .filter(|&i| {
                self.names.expand_into(i, &mut buf);
                buf.get(1..) == Some(name.as_bytes())
            })
            .collect();
        out.sort_unstable();
        out
    }
    /// Address of the first entry named `name`.
    pub fn addr_of(&self, name: &str) -> Option<u64> {
        self.find_all(name).first().map(|&i| self.addrs[i])
    }
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
) -> crate::error::Result<(Kallsyms, &'static str)> {
    let n = k
        .read_u32(t.num_syms)
        .map_err(|e| format!("kallsyms_num_syms: {e}"))?;
    if n == 0 || n > MAX_SYMS {
        return Err(format!("kallsyms_num_syms is {n}, not a plausible symbol count").into());
    }
    let toks = read_tokens(k, t)?;
    let mut s = Stream::new(k, t.names, n as usize * 260);
    let (names, _) = read_names(&mut s, n, toks)?;
    drop(s);
    let (label, addrs) = choose(k, t, &names, known)?;
    Ok((Kallsyms::new(names, addrs), label))
}

/// The address decoding that reproduces the most `known` symbols (at least one).
pub(crate) fn choose(
    k: &Kernel,
    t: &Tables,
    names: &Names,
    known: &BTreeMap<String, u64>,
) -> crate::error::Result<(&'static str, Vec<u64>)> {
    let mut best: Option<(usize, &'static str, Vec<u64>)> = None;
    // Only entries at a known address are expanded to compare their names.
    let mut at: Vec<u64> = known.values().copied().collect();
    at.sort_unstable();
    for (label, addrs) in candidates(k, t, names.len() as u32)? {
        let score = addrs
            .iter()
            .enumerate()
            .filter(|&(i, a)| {
                at.binary_search(a).is_ok() && known.get(names.name(i).as_str()) == Some(a)
            })
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

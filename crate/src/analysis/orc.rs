//! The kernel's ORC unwind tables (arch/x86/include/asm/orc_types.h), read from the dump.
//!
//! An entry is 6 bytes: `s16 sp_offset; s16 bp_offset;` and a u16 of bit fields. Two things
//! about that u16 have changed over the kernel's history, and distributions backport such
//! changes, so both are read from the table itself ([`OrcFormat::detect`]), never from the
//! release string:
//!
//! The type bits (after `sp_reg:4, bp_reg:4`):
//! - v1 (4.14 - 6.2): type:2 (CALL=0, REGS=1, REGS_PARTIAL=2), end:1.
//! - v2 (6.3, commit ffb1b4a41016 "Add 'signal' field"): type:2, signal:1, end:1.
//! - v3 (6.4+, commit fb799447ae29 "Split UNWIND_HINT_EMPTY in two"): type:3 (UNDEFINED=0,
//!   END_OF_STACK=1, CALL=2, REGS=3, REGS_PARTIAL=4), signal:1.
//!
//! The register numbers of `sp_reg` / `bp_reg`:
//! - classic (4.14 on): UNDEFINED=0, PREV_SP=1, DX=2, DI=3, BP=4, SP=5, R10=6, R13=7,
//!   BP_INDIRECT=8, SP_INDIRECT=9, and AX=10 since upstream 96f3b16a9de5 ("objtool: Support
//!   Clang RAX DRAP sequence", 7.1, backported to 7.0 and 6.12 stable).
//! - renumbered (Debian's 7.x kernels, e.g. 7.2.13+deb14 and 7.3.4+deb13 as their
//!   linux-headers-*-common ship orc_types.h): UNDEFINED=0, AX=1, DX=2, SP=3, BP=4, DI=5,
//!   R10=6, R13=7, PREV_SP=8, SP_INDIRECT=9, BP_INDIRECT=10.
//!   Read with the classic numbers, an ordinary `sp_reg=SP` entry reads as "CFA is in rdi".
//!
//! Decoded entries carry the classic numbers (the `REG_*` constants below) whatever the dump
//! used.
//!
//! Each table is `orc_unwind_ip[]` (s32 offsets relative to the entry's own address, sorted) and
//! `orc_unwind[]` (6-byte entries) of the same length.

use crate::bytes::Le;

use serde::Serialize;

pub const REG_UNDEFINED: u8 = 0;
pub const REG_PREV_SP: u8 = 1;
pub const REG_DX: u8 = 2;
pub const REG_DI: u8 = 3;
pub const REG_BP: u8 = 4;
pub const REG_SP: u8 = 5;
pub const REG_R10: u8 = 6;
pub const REG_R13: u8 = 7;
pub const REG_BP_INDIRECT: u8 = 8;
pub const REG_SP_INDIRECT: u8 = 9;
pub const REG_AX: u8 = 10;
/// A register number the format does not define.
pub const REG_UNKNOWN: u8 = 15;

/// Size of one `struct orc_entry` (`__packed`: two s16 and a u16 of bit fields).
pub const ENTRY_SIZE: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OrcType {
    /// No unwind information (a terminator or a hole).
    Undefined,
    EndOfStack,
    Call,
    Regs,
    RegsPartial,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrcEntry {
    pub sp_offset: i16,
    pub bp_offset: i16,
    /// Classic register numbers ([`REG_SP`] ...), whatever numbering the dump used.
    pub sp_reg: u8,
    pub bp_reg: u8,
    pub kind: OrcType,
    pub signal: bool,
}

/// The layout of the type bits (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OrcVersion {
    V1,
    V2,
    V3,
}

/// The meaning of the register numbers (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrcRegs {
    Classic,
    Renumbered,
}

impl OrcRegs {
    fn canonical(self, raw: u8) -> u8 {
        match self {
            OrcRegs::Classic => match raw {
                0..=10 => raw,
                _ => REG_UNKNOWN,
            },
            OrcRegs::Renumbered => match raw {
                0 => REG_UNDEFINED,
                1 => REG_AX,
                2 => REG_DX,
                3 => REG_SP,
                4 => REG_BP,
                5 => REG_DI,
                6 => REG_R10,
                7 => REG_R13,
                8 => REG_PREV_SP,
                9 => REG_SP_INDIRECT,
                10 => REG_BP_INDIRECT,
                _ => REG_UNKNOWN,
            },
        }
    }
}

/// How a dump's ORC entries are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OrcFormat {
    pub version: OrcVersion,
    pub regs: OrcRegs,
}

/// How well a table decodes in the format [`OrcFormat::detect`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OrcFit {
    /// Entries that decode to an ordinary call frame: CALL, CFA = sp + a positive multiple of
    /// 8, the caller's bp unchanged or saved below the CFA at a multiple of 8.
    pub sane_calls: usize,
    /// Entries examined (the whole table, or an even sample of it).
    pub entries: usize,
}

/// At most this many entries are decoded to choose a table's format.
pub const DETECT_SAMPLE: usize = 16384;

impl OrcFormat {
    pub const CLASSIC_V1: OrcFormat = OrcFormat {
        version: OrcVersion::V1,
        regs: OrcRegs::Classic,
    };

    /// Chooses the format from the `orc_unwind[]` bytes of a whole table: the type-bit layout and
    /// register numbering under which the most entries decode to ordinary call frames (compilers
    /// emit those for almost every instruction). Between v1 and v2, which decode call frames
    /// alike, bit 11 decides: v1 never sets it, v2's end-of-stack entries (entry code) do.
    /// None when no format makes a quarter of the entries sane (not an ORC table we know).
    /// The call-frame count is taken over at most [`DETECT_SAMPLE`] entries spread evenly over
    /// the table (a vmlinux table has ~300k; the proportions are what decides).
    pub fn detect(entry_bytes: &[u8]) -> Option<(OrcFormat, OrcFit)> {
        let words = entry_bytes.chunks_exact(ENTRY_SIZE);
        if words.len() == 0 {
            return None;
        }
        let bit11 = words
            .clone()
            .any(|b| b.u16_at(4).unwrap_or(0) & (1 << 11) != 0);
        let old = if bit11 {
            OrcVersion::V2
        } else {
            OrcVersion::V1
        };
        let step = words.len().div_ceil(DETECT_SAMPLE);
        let sample: Vec<&[u8]> = words.step_by(step).collect();
        let mut best: Option<(OrcFormat, OrcFit)> = None;
        for version in [old, OrcVersion::V3] {
            for regs in [OrcRegs::Classic, OrcRegs::Renumbered] {
                let f = OrcFormat { version, regs };
                let sane_calls = sample
                    .iter()
                    .filter(|b| OrcEntry::decode(b, f).is_sane_call())
                    .count();
                if best.is_none_or(|(_, b)| sane_calls > b.sane_calls) {
                    best = Some((
                        f,
                        OrcFit {
                            sane_calls,
                            entries: sample.len(),
                        },
                    ));
                }
            }
        }
        best.filter(|(_, fit)| fit.sane_calls * 4 >= fit.entries)
    }
}

impl OrcEntry {
    pub fn decode(b: &[u8], fmt: OrcFormat) -> OrcEntry {
        let v = fmt.version;
        // A short entry (damaged table) decodes as zeros: an undefined entry.
        let sp_offset = b.i16_at(0).unwrap_or(0);
        let bp_offset = b.i16_at(2).unwrap_or(0);
        let f = b.u16_at(4).unwrap_or(0);
        let sp_reg = fmt.regs.canonical((f & 0xf) as u8);
        let bp_reg = fmt.regs.canonical(((f >> 4) & 0xf) as u8);
        let (kind, signal) = match v {
            OrcVersion::V3 => {
                let k = match (f >> 8) & 7 {
                    1 => OrcType::EndOfStack,
                    2 => OrcType::Call,
                    3 => OrcType::Regs,
                    4 => OrcType::RegsPartial,
                    _ => OrcType::Undefined,
                };
                (k, f & (1 << 11) != 0)
            }
            OrcVersion::V1 | OrcVersion::V2 => {
                let end_bit = if v == OrcVersion::V2 { 11 } else { 10 };
                let end = f & (1 << end_bit) != 0;
                let k = if end {
                    OrcType::EndOfStack
                } else if sp_reg == REG_UNDEFINED {
                    OrcType::Undefined
                } else {
                    match (f >> 8) & 3 {
                        0 => OrcType::Call,
                        1 => OrcType::Regs,
                        2 => OrcType::RegsPartial,
                        _ => OrcType::Undefined,
                    }
                };
                let signal = if v == OrcVersion::V2 {
                    f & (1 << 10) != 0
                } else {
                    matches!(k, OrcType::Regs | OrcType::RegsPartial)
                };
                (k, signal)
            }
        };
        OrcEntry {
            sp_offset,
            bp_offset,
            sp_reg,
            bp_reg,
            kind,
            signal,
        }
    }

    /// An ordinary call frame (see [`OrcFit::sane_calls`]).
    fn is_sane_call(&self) -> bool {
        let sp_ok = self.sp_reg == REG_SP && self.sp_offset >= 8 && self.sp_offset % 8 == 0;
        let bp_ok = match self.bp_reg {
            REG_UNDEFINED => true,
            REG_PREV_SP => self.bp_offset < 0 && self.bp_offset % 8 == 0,
            _ => false,
        };
        self.kind == OrcType::Call && sp_ok && bp_ok
    }
}

/// One ORC table (vmlinux's or a module's): the two arrays as the dump holds them, read in
/// place (vmlinux's has ~370k entries: no copy of them is made).
#[derive(Debug, Clone)]
pub struct OrcTable {
    /// Virtual address of `orc_unwind_ip[0]`.
    ip_table: u64,
    /// `orc_unwind_ip[]` (s32 offsets, each relative to its own address).
    ip_bytes: Vec<u8>,
    /// `orc_unwind[]`, decoded on lookup.
    entry_bytes: Vec<u8>,
    len: usize,
    /// The entries in address order, when the table is not in order already (the kernel sorts
    /// vmlinux's at boot and a module's at load; a damaged table may not be).
    order: Option<Vec<u32>>,
    format: OrcFormat,
}

impl OrcTable {
    /// Builds a table from the raw `orc_unwind_ip` bytes (at virtual `ip_table`) and
    /// `orc_unwind` bytes.
    pub fn from_raw(
        ip_table: u64,
        ip_bytes: Vec<u8>,
        entry_bytes: Vec<u8>,
        f: OrcFormat,
    ) -> OrcTable {
        let len = (ip_bytes.len() / 4).min(entry_bytes.len() / ENTRY_SIZE);
        let mut t = OrcTable {
            ip_table,
            ip_bytes,
            entry_bytes,
            len,
            order: None,
            format: f,
        };
        // In order when each address is at or above the one before (one pass, no copy).
        let mut prev = 0u64;
        let sorted = t
            .ip_bytes
            .chunks_exact(4)
            .take(len)
            .enumerate()
            .all(|(i, c)| {
                let rel = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                let ip = (ip_table + 4 * i as u64).wrapping_add(rel as i64 as u64);
                let ok = ip >= prev;
                prev = ip;
                ok
            });
        if !sorted {
            let mut order: Vec<u32> = (0..len as u32).collect();
            order.sort_by_key(|&i| t.raw_ip(i as usize));
            t.order = Some(order);
        }
        t
    }

    /// Address of the `i`-th entry as stored.
    fn raw_ip(&self, i: usize) -> u64 {
        let rel = self.ip_bytes.i32_at(i * 4).unwrap_or(0);
        (self.ip_table + 4 * i as u64).wrapping_add(rel as i64 as u64)
    }

    /// The stored index of the `k`-th entry in address order.
    fn at(&self, k: usize) -> usize {
        self.order.as_ref().map_or(k, |o| o[k] as usize)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The instruction addresses, in address order.
    pub fn ips(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len).map(|k| self.raw_ip(self.at(k)))
    }

    pub fn range(&self) -> Option<(u64, u64)> {
        let last = self.len.checked_sub(1)?;
        Some((self.raw_ip(self.at(0)), self.raw_ip(self.at(last))))
    }

    /// The entry covering `ip`: the last one at or below it.
    pub fn find(&self, ip: u64) -> Option<OrcEntry> {
        // First position in address order whose address is above `ip`.
        let (mut lo, mut hi) = (0usize, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.raw_ip(self.at(mid)) <= ip {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let i = self.at(lo.checked_sub(1)?) * ENTRY_SIZE;
        let b = self.entry_bytes.get(i..i + ENTRY_SIZE)?;
        Some(OrcEntry::decode(b, self.format))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: OrcFormat = OrcFormat::CLASSIC_V1;
    const V3: OrcFormat = OrcFormat {
        version: OrcVersion::V3,
        regs: OrcRegs::Classic,
    };
    const V3R: OrcFormat = OrcFormat {
        version: OrcVersion::V3,
        regs: OrcRegs::Renumbered,
    };

    #[test]
    fn decode() {
        // v3 CALL with sp_reg=SP (5), bp_reg=UNDEFINED, sp_offset 16.
        let e = OrcEntry::decode(&[16, 0, 0, 0, 0x05, 0x02], V3);
        assert_eq!((e.sp_reg, e.kind, e.sp_offset), (REG_SP, OrcType::Call, 16));
        // The same frame in the renumbered registers: SP is 3, PREV_SP 8.
        let e = OrcEntry::decode(&[16, 0, 0xf0, 0xff, 0x83, 0x02], V3R);
        assert_eq!(
            (e.sp_reg, e.bp_reg, e.bp_offset, e.kind),
            (REG_SP, REG_PREV_SP, -16, OrcType::Call)
        );
        // Read with the classic numbers it is a CFA in rdi, bp from an undefined register.
        let e = OrcEntry::decode(&[16, 0, 0xf0, 0xff, 0x83, 0x02], V3);
        assert_eq!((e.sp_reg, e.bp_reg), (REG_DI, REG_BP_INDIRECT));
        // v1 REGS: type bits 8-9 = 1.
        let e = OrcEntry::decode(&[0, 0, 0, 0, 0x05, 0x01], V1);
        assert_eq!(e.kind, OrcType::Regs);
        assert!(e.signal);
        // v1 end bit.
        let e = OrcEntry::decode(&[0, 0, 0, 0, 0x00, 0x04], V1);
        assert_eq!(e.kind, OrcType::EndOfStack);
    }

    /// A table: mostly calls (sp+8, sp+16 with bp saved at cfa-16), a few undefined and
    /// end-of-stack entries, in the given format's encoding.
    fn table(version: OrcVersion, regs: OrcRegs) -> Vec<u8> {
        let (sp, prev) = match regs {
            OrcRegs::Classic => (5u16, 1u16),
            OrcRegs::Renumbered => (3, 8),
        };
        let (call, end) = match version {
            OrcVersion::V1 => (0u16, 1 << 10),
            OrcVersion::V2 => (0, 1 << 11),
            OrcVersion::V3 => (2 << 8, 1 << 8),
        };
        let mut t = vec![];
        for i in 0..100u16 {
            let (spo, bpo, w): (i16, i16, u16) = match i % 10 {
                0 => (0, 0, 0), // undefined
                1 => (0, 0, end | if version == OrcVersion::V3 { 0 } else { sp }),
                2..=5 => (8, 0, call | sp),
                _ => (16, -16, call | sp | prev << 4),
            };
            t.extend_from_slice(&spo.to_le_bytes());
            t.extend_from_slice(&bpo.to_le_bytes());
            t.extend_from_slice(&w.to_le_bytes());
        }
        t
    }

    #[test]
    fn detect_every_format_from_the_table() {
        for version in [OrcVersion::V1, OrcVersion::V2, OrcVersion::V3] {
            for regs in [OrcRegs::Classic, OrcRegs::Renumbered] {
                let (f, fit) = OrcFormat::detect(&table(version, regs)).expect("detected");
                assert_eq!(f, OrcFormat { version, regs });
                assert_eq!((fit.sane_calls, fit.entries), (80, 100));
            }
        }
        // Not an ORC table: random-looking words make no sane call frames.
        let junk: Vec<u8> = (0..600u32).map(|i| (i * 97 % 251) as u8 | 0xf0).collect();
        assert!(OrcFormat::detect(&junk).is_none());
        assert!(OrcFormat::detect(&[]).is_none());
    }

    /// Lookups read the arrays in place: the covering entry is the last at or below the
    /// address, whether the table is stored in order or not (then it is ordered once).
    #[test]
    fn find_in_place_sorted_or_not() {
        let base = 0xffff_ffff_8100_0000u64;
        for addrs in [[0x1000u64, 0x1008, 0x1010], [0x1000, 0x1010, 0x1008]] {
            let mut ips = Vec::new();
            let mut ents = Vec::new();
            for (i, a) in addrs.iter().enumerate() {
                let rel = (base + a) as i64 - (base + 4 * i as u64) as i64;
                ips.extend_from_slice(&(rel as i32).to_le_bytes());
                // sp_offset tells the entries apart: 8 * (address / 8).
                ents.extend_from_slice(&((*a / 8 * 8) as i16).to_le_bytes());
                ents.extend_from_slice(&0i16.to_le_bytes());
                ents.extend_from_slice(&(REG_SP as u16).to_le_bytes());
            }
            let t = OrcTable::from_raw(base, ips, ents, V1);
            assert_eq!(t.len(), 3);
            assert_eq!(t.range(), Some((base + 0x1000, base + 0x1010)));
            assert_eq!(
                t.ips().collect::<Vec<_>>(),
                vec![base + 0x1000, base + 0x1008, base + 0x1010]
            );
            assert!(t.find(base + 0xfff).is_none());
            let sp = |a: u64| t.find(base + a).map(|e| e.sp_offset);
            assert_eq!(sp(0x1000), Some(0x1000));
            assert_eq!(sp(0x100c), Some(0x1008));
            assert_eq!(sp(0x2000), Some(0x1010));
        }
    }
}

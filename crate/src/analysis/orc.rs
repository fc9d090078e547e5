//! The kernel's ORC unwind tables (arch/x86/include/asm/orc_types.h), read from the dump.
//!
//! Three on-disk versions (the u16 after `sp_offset`/`bp_offset`):
//! - v1 (4.14 - 6.2): sp_reg:4, bp_reg:4, type:2 (CALL=0, REGS=1, REGS_PARTIAL=2), end:1.
//! - v2 (6.3, commit ffb1b4a41016 "Add 'signal' field"): type:2, signal:1, end:1.
//! - v3 (6.4+, commit fb799447ae29 "Split UNWIND_HINT_EMPTY in two"): type:3 (UNDEFINED=0,
//!   END_OF_STACK=1, CALL=2, REGS=3, REGS_PARTIAL=4), signal:1.
//!
//! Each table is `orc_unwind_ip[]` (s32 offsets relative to the entry's own address, sorted) and
//! `orc_unwind[]` (6-byte entries) of the same length.

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
    pub sp_reg: u8,
    pub bp_reg: u8,
    pub kind: OrcType,
    pub signal: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OrcVersion {
    V1,
    V2,
    V3,
}

impl OrcVersion {
    /// From the kernel release (`6.1.0-56-cloud-amd64` -> V1).
    pub fn for_release(release: &str) -> OrcVersion {
        let mut it = release
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty());
        let major: u32 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let minor: u32 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        match (major, minor) {
            (m, _) if m > 6 => OrcVersion::V3,
            (6, n) if n >= 4 => OrcVersion::V3,
            (6, 3) => OrcVersion::V2,
            _ => OrcVersion::V1,
        }
    }
}

impl OrcEntry {
    pub fn decode(b: &[u8], v: OrcVersion) -> OrcEntry {
        let sp_offset = i16::from_le_bytes([b[0], b[1]]);
        let bp_offset = i16::from_le_bytes([b[2], b[3]]);
        let f = u16::from_le_bytes([b[4], b[5]]);
        let sp_reg = (f & 0xf) as u8;
        let bp_reg = ((f >> 4) & 0xf) as u8;
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
}

/// One ORC table (vmlinux's or a module's), with absolute, sorted instruction addresses.
#[derive(Debug, Clone, Default)]
pub struct OrcTable {
    pub ips: Vec<u64>,
    pub entries: Vec<OrcEntry>,
}

impl OrcTable {
    /// Builds a table from the raw `orc_unwind_ip` bytes (at virtual `ip_table`) and
    /// `orc_unwind` bytes.
    pub fn from_raw(ip_table: u64, ip_bytes: &[u8], entry_bytes: &[u8], v: OrcVersion) -> OrcTable {
        let n = (ip_bytes.len() / 4).min(entry_bytes.len() / 6);
        let mut ips = Vec::with_capacity(n);
        let mut entries = Vec::with_capacity(n);
        for i in 0..n {
            let rel = i32::from_le_bytes(ip_bytes[i * 4..i * 4 + 4].try_into().unwrap());
            ips.push((ip_table + 4 * i as u64).wrapping_add(rel as i64 as u64));
            entries.push(OrcEntry::decode(&entry_bytes[i * 6..i * 6 + 6], v));
        }
        // The kernel sorts these at boot (module tables at load); keep that invariant whatever
        // the dump holds.
        if !ips.windows(2).all(|w| w[0] <= w[1]) {
            let mut pairs: Vec<_> = ips.into_iter().zip(entries).collect();
            pairs.sort_by_key(|p| p.0);
            let (a, b) = pairs.into_iter().unzip();
            ips = a;
            entries = b;
        }
        OrcTable { ips, entries }
    }

    pub fn range(&self) -> Option<(u64, u64)> {
        Some((*self.ips.first()?, *self.ips.last()?))
    }

    /// The entry covering `ip`: the last one at or below it.
    pub fn find(&self, ip: u64) -> Option<OrcEntry> {
        let i = self.ips.partition_point(|&x| x <= ip);
        let e = *self.entries.get(i.checked_sub(1)?)?;
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            OrcVersion::for_release("6.1.0-56-cloud-amd64"),
            OrcVersion::V1
        );
        assert_eq!(
            OrcVersion::for_release("6.12.95+deb12-cloud-amd64"),
            OrcVersion::V3
        );
        assert_eq!(
            OrcVersion::for_release("3.10.0-1160.el7.x86_64"),
            OrcVersion::V1
        );
        // v3 CALL with sp_reg=SP (5), bp_reg=UNDEFINED, sp_offset 16.
        let e = OrcEntry::decode(&[16, 0, 0, 0, 0x05, 0x02], OrcVersion::V3);
        assert_eq!((e.sp_reg, e.kind, e.sp_offset), (REG_SP, OrcType::Call, 16));
        // v1 REGS: type bits 8-9 = 1.
        let e = OrcEntry::decode(&[0, 0, 0, 0, 0x05, 0x01], OrcVersion::V1);
        assert_eq!(e.kind, OrcType::Regs);
        assert!(e.signal);
        // v1 end bit.
        let e = OrcEntry::decode(&[0, 0, 0, 0, 0x00, 0x04], OrcVersion::V1);
        assert_eq!(e.kind, OrcType::EndOfStack);
    }
}

#![no_main]
//! ORC tables and the unwinder: the input holds a format byte, an entry count, the
//! `orc_unwind_ip` and `orc_unwind` bytes, a start register state and the stack memory the
//! unwinder reads (mapped at STACK). Text is [TEXT, TEXT + 64 KiB).
use crashlens::analysis::orc::{OrcEntry, OrcFormat, OrcRegs, OrcTable, OrcVersion};
use crashlens::analysis::unwind::{unwind, UnwindEnv};
use crashlens::dump::Regs;
use libfuzzer_sys::fuzz_target;

const TEXT: u64 = 0xffff_ffff_8100_0000;
const STACK: u64 = 0xffff_c900_0000_0000;

struct Env<'a> {
    table: OrcTable,
    stack: &'a [u8],
}

impl UnwindEnv for Env<'_> {
    fn read_u64(&self, addr: u64) -> Option<u64> {
        let o = usize::try_from(addr.checked_sub(STACK)?).ok()?;
        let b = self.stack.get(o..o.checked_add(8)?)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }
    fn orc(&self, ip: u64) -> Option<OrcEntry> {
        let (a, b) = self.table.range()?;
        (ip >= a && ip <= b.saturating_add(0x100)).then(|| self.table.find(ip)).flatten()
    }
    fn is_text(&self, addr: u64) -> bool {
        (TEXT..TEXT + 0x10000).contains(&addr)
    }
    fn follows_call(&self, ret: u64) -> bool {
        ret % 5 == 0
    }
}

fn u64_at(d: &[u8], o: usize) -> u64 {
    d.get(o..o + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let version = match data[0] % 3 {
        0 => OrcVersion::V1,
        1 => OrcVersion::V2,
        _ => OrcVersion::V3,
    };
    let regs = if data[0] & 0x80 != 0 {
        OrcRegs::Renumbered
    } else {
        OrcRegs::Classic
    };
    let v = OrcFormat { version, regs };
    let n = (u16::from_le_bytes([data[1], data[2]]) as usize).min(4096);
    let rest = &data[3..];
    let ip_len = (n * 4).min(rest.len());
    let (ipb, rest) = rest.split_at(ip_len);
    let en_len = (n * 6).min(rest.len());
    let (enb, rest) = rest.split_at(en_len);
    // ip table placed so that relative offsets land in TEXT.
    let _ = OrcFormat::detect(enb);
    let table = OrcTable::from_raw(TEXT + 0x8000, ipb.to_vec(), enb.to_vec(), v);
    for e in enb.chunks_exact(6) {
        let _ = OrcEntry::decode(e, v);
    }
    let _ = table.find(TEXT);
    let _ = table.find(u64::MAX);
    let _ = table.find(0);
    // Registers: rip, rsp, rbp, cs from the next 32 bytes.
    let start = Regs {
        rip: TEXT.wrapping_add(u64_at(rest, 0) & 0xffff),
        rsp: STACK.wrapping_add(u64_at(rest, 8) & 0xfff8),
        rbp: STACK.wrapping_add(u64_at(rest, 16) & 0xffff),
        cs: 0x10,
        ..Default::default()
    };
    let stack = rest.get(32..).unwrap_or(&[]);
    let env = Env { table, stack };
    let (frames, _) = unwind(&env, &start);
    assert!(frames.len() <= 256);
});

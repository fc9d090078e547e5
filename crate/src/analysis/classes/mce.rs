//! Machine checks: the CPU reported a hardware error through a machine-check bank and the
//! kernel's MCE handler (arch/x86/kernel/cpu/mce) printed its records,
//!
//! ```text
//! mce: [Hardware Error]: CPU 1: Machine Check Exception: 6 Bank 1: be0000000000009f
//! mce: [Hardware Error]: RIP 10:<ffffffff966592eb> {native_safe_halt+0xb/0x10}
//! mce: [Hardware Error]: TSC 9f64f12d8 ADDR 2345000 MISC 86
//! mce: [Hardware Error]: PROCESSOR 2:60fb1 TIME 1796135378 SOCKET 0 APIC 1 microcode 1000065
//! mce: [Hardware Error]: Machine check: Processor Context Corrupt
//! Kernel panic - not syncing: Fatal local machine check
//! ```
//!
//! before panicking. Not a software bug: the code that ran when the error was signalled (often
//! the idle loop) is not its cause. Each record's MCi_STATUS is decoded (the architectural bits
//! of the Intel SDM vol. 3B, 16.3.2.2, and the MCA error code's simple and compound forms,
//! 16.9), with its address and the MISC register's address mode.

use super::{Examined, Finding, Input};
use crate::analysis::model::{CrashClass, PanicInfo};
use crate::analysis::oops::Oops;
use serde::Serialize;

/// MCi_STATUS, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct McaStatus {
    #[serde(with = "crate::util::hex")]
    pub raw: u64,
    /// Bit 63: the register holds a valid error.
    pub val: bool,
    /// 62: an earlier error was overwritten.
    pub over: bool,
    /// 61: uncorrected.
    pub uc: bool,
    /// 60: the error was enabled for signalling.
    pub en: bool,
    /// 59: MCi_MISC is valid.
    pub miscv: bool,
    /// 58: MCi_ADDR is valid.
    pub addrv: bool,
    /// 57: processor context corrupt: the CPU cannot restart reliably.
    pub pcc: bool,
    /// 56 (with software error recovery): signalled as a machine-check exception.
    pub s: bool,
    /// 55 (SER): recovery action required.
    pub ar: bool,
    /// Bits 15:0, the architectural MCA error code.
    #[serde(with = "crate::util::hex")]
    pub mca_code: u64,
    /// Bits 31:16, the model-specific error code.
    #[serde(with = "crate::util::hex")]
    pub model_code: u64,
    /// The MCA error code in words (`memory controller error: memory read, channel unspecified`).
    pub error: String,
    /// The names of the set flags, in bit order (`VAL UC EN MISCV ADDRV PCC`).
    pub flags: Vec<&'static str>,
}

impl McaStatus {
    pub fn decode(raw: u64) -> McaStatus {
        let b = |n: u32| raw >> n & 1 == 1;
        let names = [
            (63, "VAL"),
            (62, "OVER"),
            (61, "UC"),
            (60, "EN"),
            (59, "MISCV"),
            (58, "ADDRV"),
            (57, "PCC"),
            (56, "S"),
            (55, "AR"),
        ];
        McaStatus {
            raw,
            val: b(63),
            over: b(62),
            uc: b(61),
            en: b(60),
            miscv: b(59),
            addrv: b(58),
            pcc: b(57),
            s: b(56),
            ar: b(55),
            mca_code: raw & 0xffff,
            model_code: raw >> 16 & 0xffff,
            error: mca_error(raw & 0xffff),
            flags: names
                .iter()
                .filter(|(n, _)| b(*n))
                .map(|(_, s)| *s)
                .collect(),
        }
    }
}

/// The MCA error code (bits 15:0 of MCi_STATUS) in words, simple and compound codes.
pub fn mca_error(code: u64) -> String {
    let simple = match code {
        0x0000 => Some("no error"),
        0x0001 => Some("unclassified error"),
        0x0002 => Some("microcode ROM parity error"),
        0x0003 => Some("external error (BINIT# from another processor)"),
        0x0004 => Some("functional redundancy check error"),
        0x0005 => Some("internal parity error"),
        0x0006 => Some("SMM handler code access violation"),
        0x0400 => Some("internal timer error"),
        0x0e0b => Some("I/O error"),
        _ => None,
    };
    if let Some(s) = simple {
        return s.into();
    }
    let c = code & !0x1000; // bit 12: corrected-error filtering, not part of the type
    let level = |ll: u64| ["level 0", "level 1", "level 2", "generic level"][(ll & 3) as usize];
    let ttype = |tt: u64| ["instruction", "data", "generic", "?"][(tt & 3) as usize];
    let rrrr = |r: u64| match r & 0xf {
        0 => "generic error",
        1 => "generic read",
        2 => "generic write",
        3 => "data read",
        4 => "data write",
        5 => "instruction fetch",
        6 => "prefetch",
        7 => "eviction",
        8 => "snoop",
        _ => "?",
    };
    if c & 0xf800 == 0x0800 {
        return format!("bus/interconnect error ({}, {})", rrrr(c >> 4), level(c));
    }
    if c & 0xff00 == 0x0100 {
        return format!(
            "cache hierarchy error: {}, {} cache, {}",
            rrrr(c >> 4),
            ttype(c >> 2),
            level(c)
        );
    }
    if c & 0xff80 == 0x0080 {
        let mmm = match c >> 4 & 7 {
            0 => "generic",
            1 => "memory read",
            2 => "memory write",
            3 => "address/command",
            4 => "memory scrubbing",
            _ => "?",
        };
        let ch = c & 0xf;
        let chan = if ch == 0xf {
            "channel unspecified".to_string()
        } else {
            format!("channel {ch}")
        };
        return format!("memory controller error: {mmm}, {chan}");
    }
    if c & 0xfff0 == 0x0010 {
        return format!("TLB error: {} TLB, {}", ttype(c >> 2), level(c));
    }
    if c & 0xfffc == 0x000c {
        return format!("generic cache hierarchy error, {}", level(c));
    }
    if c & 0xfc00 == 0x0400 {
        return "internal unclassified error".into();
    }
    format!("unknown MCA error code {code:#06x}")
}

/// One machine-check record of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct McRecord {
    pub cpu: Option<u32>,
    pub bank: Option<u32>,
    /// "Machine Check Exception: 6": MCG_STATUS.
    #[serde(with = "crate::util::hex::opt")]
    pub mcg_status: Option<u64>,
    pub status: McaStatus,
    #[serde(with = "crate::util::hex::opt")]
    pub address: Option<u64>,
    #[serde(with = "crate::util::hex::opt")]
    pub misc: Option<u64>,
    /// MISC bits 8:6 when MISCV: 2 = physical address, 1 = linear, 0 = segment offset ...
    pub address_mode: Option<&'static str>,
    /// MISC bits 5:0: the lowest valid address bit (6: a 64-byte cache line).
    pub address_lsb: Option<u32>,
    /// The code running when it was signalled (`native_safe_halt+0xb/0x10`) — not the cause.
    pub rip: Option<String>,
    /// "PROCESSOR 2:60fb1": vendor and CPUID signature.
    pub processor: Option<String>,
    pub socket: Option<u32>,
    pub apic: Option<u32>,
    pub microcode: Option<String>,
    /// Unix time of the record.
    pub time: Option<u64>,
}

/// What the dump says about the machine check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineCheck {
    pub records: Vec<McRecord>,
    /// The kernel's grading: "Processor Context Corrupt", "Action required: data load error..."
    pub severity: Option<String>,
    /// The panic line's reason (`Fatal local machine check`).
    pub panic: Option<String>,
    /// The log's `mce: [Hardware Error]` lines (at most 24).
    pub log_lines: Vec<String>,
}

const TAG: &str = "mce: [Hardware Error]: ";
const MAX_LINES: usize = 24;
const MAX_RECORDS: usize = 16;

pub fn recognise(panic: &PanicInfo, _oops: Option<&Oops>, log: &str) -> bool {
    let p = panic.panic_string.as_deref().unwrap_or("").to_lowercase();
    p.contains("machine check")
        || (p.is_empty() && log.contains(TAG))
        || panic.message.as_deref().is_some_and(|m| m.contains(TAG))
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

fn word_after<'a>(l: &'a str, key: &str) -> Option<&'a str> {
    l.split(key).nth(1)?.split_whitespace().next()
}

fn new_record(cpu: Option<u32>, bank: Option<u32>, mcg: Option<u64>, status: u64) -> McRecord {
    McRecord {
        cpu,
        bank,
        mcg_status: mcg,
        status: McaStatus::decode(status),
        address: None,
        misc: None,
        address_mode: None,
        address_lsb: None,
        rip: None,
        processor: None,
        socket: None,
        apic: None,
        microcode: None,
        time: None,
    }
}

/// Parses the `mce: [Hardware Error]` lines into records (bounded).
pub fn parse(lines: &[&str]) -> (Vec<McRecord>, Option<String>) {
    let mut recs: Vec<McRecord> = Vec::new();
    let mut severity = None;
    for l in lines {
        let Some(t) = l.split(TAG).nth(1) else {
            continue;
        };
        let t = t.trim();
        if let Some(sev) = t.strip_prefix("Machine check: ") {
            severity = Some(sev.trim().to_string());
            continue;
        }
        // "CPU 1: Machine Check Exception: 6 Bank 1: be00..." / "CPU 1: Machine Check: 0 Bank 5: ..."
        if t.starts_with("CPU ") && t.contains("Machine Check") && t.contains("Bank ") {
            if recs.len() >= MAX_RECORDS {
                break;
            }
            let cpu = word_after(t, "CPU ").and_then(|w| w.trim_end_matches(':').parse().ok());
            let mcg = t
                .split("Machine Check")
                .nth(1)
                .and_then(|r| r.split(':').nth(1))
                .and_then(|r| r.split_whitespace().next())
                .and_then(hex);
            let (bank, status) = match t.split("Bank ").nth(1).and_then(|r| r.split_once(':')) {
                Some((b, s)) => (
                    b.trim().parse().ok(),
                    s.split_whitespace().next().and_then(hex),
                ),
                None => (None, None),
            };
            if let Some(st) = status {
                recs.push(new_record(cpu, bank, mcg, st));
            }
            continue;
        }
        let Some(r) = recs.last_mut() else {
            continue;
        };
        if t.starts_with("RIP") {
            r.rip = t
                .split('{')
                .nth(1)
                .map(|x| x.trim_end_matches('}').to_string())
                .or_else(|| word_after(t, ":<").map(|x| x.trim_end_matches('>').to_string()));
        }
        if t.starts_with("TSC ") || t.contains(" ADDR ") || t.starts_with("ADDR ") {
            r.address = word_after(t, "ADDR ").and_then(hex);
            r.misc = word_after(t, "MISC ").and_then(hex);
        }
        if t.starts_with("PROCESSOR ") {
            r.processor = word_after(t, "PROCESSOR ").map(String::from);
            r.time = word_after(t, "TIME ").and_then(|w| w.parse().ok());
            r.socket = word_after(t, "SOCKET ").and_then(|w| w.parse().ok());
            r.apic = word_after(t, "APIC ").and_then(|w| w.parse().ok());
            r.microcode = word_after(t, "microcode ").map(String::from);
        }
    }
    for r in &mut recs {
        if let (Some(m), true) = (r.misc, r.status.miscv) {
            r.address_mode = Some(match m >> 6 & 7 {
                0 => "segment offset",
                1 => "linear address",
                2 => "physical address",
                3 => "memory address",
                7 => "generic",
                _ => "reserved",
            });
            r.address_lsb = Some((m & 0x3f) as u32);
        }
        if !r.status.addrv {
            r.address = None;
        }
    }
    (recs, severity)
}

pub fn examine(inp: &Input) -> Option<Examined> {
    let lines: Vec<&str> = inp.log.lines().filter(|l| l.contains(TAG)).collect();
    let (records, severity) = parse(&lines);
    let panic = inp.panic.panic_string.as_deref().map(|p| {
        p.split("not syncing: ")
            .nth(1)
            .unwrap_or(p)
            .trim()
            .to_string()
    });
    if records.is_empty()
        && !panic
            .as_deref()
            .unwrap_or("")
            .to_lowercase()
            .contains("machine check")
    {
        return None;
    }
    let log_lines = lines
        .iter()
        .rev()
        .take(MAX_LINES)
        .rev()
        .map(|l| {
            l.split(TAG)
                .nth(1)
                .map(|t| format!("{TAG}{}", t.trim()))
                .unwrap_or_default()
        })
        .collect();
    Some(Examined {
        class: CrashClass::MachineCheck,
        finding: Finding::MachineCheck(MachineCheck {
            records,
            severity,
            panic,
            log_lines,
        }),
        // Hardware: no kernel function is the cause.
        culprit: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_status_bits_and_error_codes() {
        let s = McaStatus::decode(0xbe00_0000_0000_009f);
        assert!(s.val && s.uc && s.en && s.miscv && s.addrv && s.pcc);
        assert!(!s.over && !s.s && !s.ar);
        assert_eq!(s.flags, vec!["VAL", "UC", "EN", "MISCV", "ADDRV", "PCC"]);
        assert_eq!(s.mca_code, 0x9f);
        assert_eq!(
            s.error,
            "memory controller error: memory read, channel unspecified"
        );
        let s = McaStatus::decode(0xbe00_0000_0080_0400);
        assert_eq!(s.model_code, 0x80);
        assert_eq!(s.error, "internal timer error");
        assert_eq!(
            mca_error(0x0134),
            "cache hierarchy error: data read, data cache, level 0"
        );
        assert_eq!(mca_error(0x0e0b), "I/O error");
        assert_eq!(
            mca_error(0x0150),
            "cache hierarchy error: instruction fetch, instruction cache, level 0"
        );
        assert_eq!(mca_error(0x1134), mca_error(0x0134));
    }

    #[test]
    fn parses_the_records_of_the_log() {
        let log = [
            "[    6.644897] mce: [Hardware Error]: CPU 1: Machine Check Exception: 6 Bank 1: be0000000000009f",
            "[    6.644897] mce: [Hardware Error]: RIP 10:<ffffffff966592eb> {native_safe_halt+0xb/0x10}",
            "[    6.644897] mce: [Hardware Error]: TSC 9f64f12d8 ADDR 2345000 MISC 86 ",
            "[    6.644897] mce: [Hardware Error]: PROCESSOR 2:60fb1 TIME 1796135378 SOCKET 0 APIC 1 microcode 1000065",
            "[    6.644897] mce: [Hardware Error]: Machine check: Processor Context Corrupt",
        ];
        let (r, sev) = parse(&log);
        assert_eq!(sev.as_deref(), Some("Processor Context Corrupt"));
        assert_eq!(r.len(), 1);
        let r = &r[0];
        assert_eq!((r.cpu, r.bank, r.mcg_status), (Some(1), Some(1), Some(6)));
        assert_eq!(r.address, Some(0x2345000));
        assert_eq!(r.misc, Some(0x86));
        assert_eq!(r.address_mode, Some("physical address"));
        assert_eq!(r.address_lsb, Some(6));
        assert_eq!(r.rip.as_deref(), Some("native_safe_halt+0xb/0x10"));
        assert_eq!(r.apic, Some(1));
        assert_eq!(r.time, Some(1796135378));
    }
}

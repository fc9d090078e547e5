//! A machine check in words: the hardware's error record decoded, that it is not a software
//! bug, and what to check (the DIMM or CPU, the vendor's diagnostics, the platform's logs).

use super::ClassWords;
use crate::analysis::classes::mce::{MachineCheck, McRecord};
use crate::analysis::verdict::Verdict;
use crate::render::verdict::Both;
use crate::render::Lang;
use std::fmt::Write;

/// The MCA error code in Chinese (the same decoding as `mca_error`).
fn mca_error_zh(code: u64) -> String {
    let simple = match code {
        0x0000 => Some("无错误"),
        0x0001 => Some("未分类错误"),
        0x0002 => Some("微码 ROM 奇偶校验错误"),
        0x0003 => Some("外部错误（来自其他处理器的 BINIT#）"),
        0x0004 => Some("功能冗余校验（FRC）错误"),
        0x0005 => Some("内部奇偶校验错误"),
        0x0006 => Some("SMM 处理程序代码访问违规"),
        0x0400 => Some("内部定时器错误"),
        0x0e0b => Some("I/O 错误"),
        _ => None,
    };
    if let Some(s) = simple {
        return s.into();
    }
    let c = code & !0x1000;
    let level = |ll: u64| ["L0", "L1", "L2", "通用层级"][(ll & 3) as usize];
    let ttype = |tt: u64| ["指令", "数据", "通用", "?"][(tt & 3) as usize];
    let rrrr = |r: u64| match r & 0xf {
        0 => "通用错误",
        1 => "通用读",
        2 => "通用写",
        3 => "数据读",
        4 => "数据写",
        5 => "取指",
        6 => "预取",
        7 => "逐出",
        8 => "监听（snoop）",
        _ => "?",
    };
    if c & 0xf800 == 0x0800 {
        return format!("总线/互连错误（{}，{}）", rrrr(c >> 4), level(c));
    }
    if c & 0xff00 == 0x0100 {
        return format!(
            "缓存层级错误：{}，{}缓存，{}",
            rrrr(c >> 4),
            ttype(c >> 2),
            level(c)
        );
    }
    if c & 0xff80 == 0x0080 {
        let mmm = match c >> 4 & 7 {
            0 => "通用",
            1 => "内存读",
            2 => "内存写",
            3 => "地址/命令",
            4 => "内存巡检（scrubbing）",
            _ => "?",
        };
        let ch = c & 0xf;
        let chan = if ch == 0xf {
            "未指明通道".to_string()
        } else {
            format!("通道 {ch}")
        };
        return format!("内存控制器错误：{mmm}，{chan}");
    }
    if c & 0xfff0 == 0x0010 {
        return format!("TLB 错误：{} TLB，{}", ttype(c >> 2), level(c));
    }
    if c & 0xfffc == 0x000c {
        return format!("通用缓存层级错误，{}", level(c));
    }
    if c & 0xfc00 == 0x0400 {
        return "内部未分类错误".into();
    }
    format!("未知的 MCA 错误码 {code:#06x}")
}

fn flag_words(r: &McRecord) -> Both {
    let s = &r.status;
    let mut en: Vec<&str> = Vec::new();
    let mut zh: Vec<&str> = Vec::new();
    if s.uc {
        en.push("uncorrected");
        zh.push("不可纠正");
    } else {
        en.push("corrected");
        zh.push("已纠正");
    }
    if s.pcc {
        en.push("processor context corrupt");
        zh.push("处理器上下文已损坏（PCC）");
    }
    if s.over {
        en.push("an earlier error was overwritten");
        zh.push("之前的错误记录被覆盖（OVER）");
    }
    if s.ar {
        en.push("action required");
        zh.push("需要处理（AR）");
    }
    Both::new(en.join(", "), zh.join("，"))
}

fn addr_words(r: &McRecord) -> Both {
    match r.address {
        Some(a) => {
            let mode = r.address_mode.unwrap_or("address");
            let lsb = r
                .address_lsb
                .map(|l| {
                    (
                        format!(", valid from bit {l}"),
                        format!("，从第 {l} 位起有效"),
                    )
                })
                .unwrap_or_default();
            let mode_zh = match mode {
                "physical address" => "物理地址",
                "linear address" => "线性地址",
                _ => "地址",
            };
            Both::new(
                format!("{mode} {a:#x}{}", lsb.0),
                format!("{mode_zh} {a:#x}{}", lsb.1),
            )
        }
        None => Both::new("no address (ADDRV clear)", "没有地址（ADDRV 为 0）"),
    }
}

pub fn words(_v: &Verdict, d: &MachineCheck) -> ClassWords {
    let mut narrative = vec![Both::new(
        "This is not a software bug: the hardware reported an error it could not recover from (a machine check), and the kernel panicked to stop using corrupted state.",
        "这不是软件缺陷：硬件报告了一个无法恢复的错误（机器检查异常，MCE），内核为了不再使用已损坏的状态而主动 panic。",
    )];
    let mut evidence = Vec::new();
    for r in &d.records {
        let cpu = r.cpu.map(|c| c.to_string()).unwrap_or_else(|| "?".into());
        let bank = r.bank.map(|b| b.to_string()).unwrap_or_else(|| "?".into());
        let fw = flag_words(r);
        let aw = addr_words(r);
        narrative.push(Both::new(
            format!(
                "CPU {cpu} signalled it from bank {bank}: status {:#018x} ({}; {}), {}.",
                r.status.raw, fw.en, r.status.error, aw.en
            ),
            format!(
                "CPU {cpu} 从 bank {bank} 报告了该错误：状态 {:#018x}（{}；{}），{}。",
                r.status.raw,
                fw.zh,
                mca_error_zh(r.status.mca_code),
                aw.zh
            ),
        ));
        evidence.push((
            "log",
            Both::new(
                format!("MCi_STATUS {:#018x}: {} — MCA error code {:#06x} ({}), model-specific code {:#06x}.", r.status.raw, r.status.flags.join(" "), r.status.mca_code, r.status.error, r.status.model_code),
                format!("MCi_STATUS {:#018x}：{}——MCA 错误码 {:#06x}（{}），型号相关错误码 {:#06x}。", r.status.raw, r.status.flags.join(" "), r.status.mca_code, mca_error_zh(r.status.mca_code), r.status.model_code),
            ),
        ));
        if let Some(rip) = &r.rip {
            evidence.push((
                "log",
                Both::new(
                    format!("It interrupted {rip} on CPU {cpu}; that code only ran when the error arrived and is not its cause."),
                    format!("它打断的是 CPU {cpu} 上的 {rip}；这段代码只是错误到来时恰好在运行，并不是原因。"),
                ),
            ));
        }
        if let Some(p) = &r.processor {
            let sock = r
                .socket
                .map(|x| x.to_string())
                .unwrap_or_else(|| "?".into());
            let apic = r.apic.map(|x| x.to_string()).unwrap_or_else(|| "?".into());
            let mc = r.microcode.clone().unwrap_or_else(|| "?".into());
            evidence.push((
                "log",
                Both::new(
                    format!("Processor {p}, socket {sock}, APIC {apic}, microcode {mc}."),
                    format!("处理器 {p}，socket {sock}，APIC {apic}，微码 {mc}。"),
                ),
            ));
        }
    }
    if let Some(s) = &d.severity {
        narrative.push(Both::new(
            format!(
                "The kernel graded it \"{s}\"{}.",
                d.panic
                    .as_ref()
                    .map(|p| format!(" and panicked: \"{p}\""))
                    .unwrap_or_default()
            ),
            format!(
                "内核对它的判定是 \"{s}\"{}。",
                d.panic
                    .as_ref()
                    .map(|p| format!("，随后 panic：\"{p}\""))
                    .unwrap_or_default()
            ),
        ));
    }
    if d.records.is_empty() {
        narrative.push(Both::new(
            "The log holds no decodable machine-check record; the panic line says it was one.",
            "日志里没有可解码的机器检查记录，但 panic 信息表明这是一次机器检查。",
        ));
    }
    let memory = d
        .records
        .iter()
        .any(|r| r.status.error.starts_with("memory"));
    let mut next_steps = vec![];
    if memory {
        next_steps.push(Both::new(
            "A memory error: find the DIMM behind the address (EDAC: edac-util / ras-mc-ctl --errors, or the BMC's memory error log) and replace it if it reports errors again.",
            "这是内存错误：根据地址找到对应的内存条（EDAC：edac-util 或 ras-mc-ctl --errors，或者 BMC 的内存错误日志），如果它再次报错就更换。",
        ));
    }
    next_steps.extend([
        Both::new(
            "Run the vendor's hardware diagnostics on this machine (memory and CPU tests) and check the BMC's system event log (ipmitool sel elist) for the same time.",
            "在这台机器上运行厂商的硬件诊断程序（内存和 CPU 测试），并查看同一时间 BMC 的系统事件日志（ipmitool sel elist）。",
        ),
        Both::new(
            "Keep a record of machine checks: rasdaemon (ras-mc-ctl --summary) or mcelog decodes them with the CPU model; errors that repeat on one CPU, socket or DIMM point at that part.",
            "持续记录机器检查事件：用 rasdaemon（ras-mc-ctl --summary）或 mcelog 按 CPU 型号解码；总在同一个 CPU、socket 或内存条上重复出现的错误就指向那个部件。",
        ),
        Both::new(
            "Update the BIOS and CPU microcode; no kernel function needs fixing for this crash.",
            "升级 BIOS 和 CPU 微码；这次崩溃不需要修改任何内核函数。",
        ),
    ]);
    ClassWords {
        narrative,
        evidence,
        next_steps,
    }
}

pub fn section(d: &MachineCheck, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let l = |en: &'static str, z: &'static str| if zh { z } else { en };
    let mut s = String::new();
    for (i, r) in d.records.iter().enumerate() {
        let o = |v: Option<u32>| v.map(|x| x.to_string()).unwrap_or_else(|| "?".into());
        let _ = writeln!(
            s,
            "{} {}: CPU {}  BANK {}{}",
            l("RECORD", "记录"),
            i + 1,
            o(r.cpu),
            o(r.bank),
            r.mcg_status
                .map(|m| format!("  MCG_STATUS {m:#x}"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "  MCi_STATUS: {:#018x}  [{}]",
            r.status.raw,
            r.status.flags.join(" ")
        );
        let _ = writeln!(
            s,
            "  {}: {:#06x} {}",
            l("MCA code", "MCA 错误码"),
            r.status.mca_code,
            if zh {
                mca_error_zh(r.status.mca_code)
            } else {
                r.status.error.clone()
            }
        );
        let _ = writeln!(
            s,
            "  {}: {:#06x}",
            l("model-specific", "型号相关错误码"),
            r.status.model_code
        );
        let _ = writeln!(
            s,
            "  {}: {}",
            l("severity", "性质"),
            flag_words(r).get(lang)
        );
        let _ = writeln!(s, "  ADDR: {}", addr_words(r).get(lang));
        if let Some(m) = r.misc {
            let _ = writeln!(s, "  MISC: {m:#x}");
        }
        if let Some(rip) = &r.rip {
            let _ = writeln!(
                s,
                "  RIP: {rip} {}",
                l(
                    "(running when signalled; not the cause)",
                    "（错误到来时恰好在运行，不是原因）"
                )
            );
        }
        if let Some(p) = &r.processor {
            let _ = writeln!(
                s,
                "  PROCESSOR: {p}  SOCKET {}  APIC {}  microcode {}",
                o(r.socket),
                o(r.apic),
                r.microcode.as_deref().unwrap_or("?")
            );
        }
    }
    if let Some(v) = &d.severity {
        let _ = writeln!(s, "{}: {v}", l("KERNEL GRADING", "内核判定"));
    }
    // The panic message is the summary's PANIC: line, which follows this section.
    s
}

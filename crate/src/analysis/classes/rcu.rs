//! RCU CPU stalls: "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:" (another CPU saw
//! the grace period not end) or "rcu: INFO: rcu_sched self-detected stall on CPU", then, with
//! `kernel.panic_on_rcu_stall=1`, "Kernel panic - not syncing: RCU Stall". A grace period ends
//! when every CPU has passed a quiescent state (scheduled, gone idle or to user space) and every
//! preempted reader has left its rcu_read_lock() section; the report lists the CPUs (`1-...!:`)
//! and tasks (`P102`) that did not. What a stalled CPU was doing is the code interrupted on it,
//! read from its backtrace in the dump (and the report's RIP line).

use super::lockup::FuncRef;
use super::{Examined, Finding, Input};
use crate::analysis::model::{CrashClass, FrameKind, PanicInfo};
use crate::analysis::oops::Oops;
use crate::analysis::verdict::CulpritRule;
use serde::Serialize;

/// One CPU the report names as stalled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StalledCpu {
    pub cpu: u32,
    /// The report's flags and counters for it (`0-....: (598 ticks this GP) idle=...`).
    pub detail: String,
    /// The task running there (from the dump).
    pub pid: Option<u32>,
    pub comm: Option<String>,
    /// The interrupted code on that CPU (`lab_rcu_spin+0x1f`), from its backtrace.
    pub interrupted_at: Option<String>,
    /// The function it was looping in.
    pub function: Option<FuncRef>,
    /// EFLAGS.IF clear there.
    pub interrupts_off: Option<bool>,
    /// Its backtrace below the interrupt, innermost first (function names, at most 16).
    pub backtrace: Vec<String>,
}

/// What the dump says about the stall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RcuStall {
    /// `rcu_preempt` / `rcu_sched`.
    pub flavor: String,
    /// The stalled CPU reported itself ("self-detected stall").
    pub self_detected: bool,
    /// The CPU that detected it (`detected by 0`), when another did.
    pub detected_by: Option<u32>,
    /// How long the grace period had lasted (`t=751 jiffies`).
    pub jiffies: Option<u64>,
    pub cpus: Vec<StalledCpu>,
    /// Preempted readers that block the grace period (`P102`).
    pub blocked_tasks: Vec<u32>,
    /// The report's lines as the log has them (at most 12).
    pub report: Vec<String>,
}

const INFO: &str = "INFO: ";

/// "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:" (4.x: "INFO: rcu_sched self-detected
/// stall on CPU", without the prefix).
fn is_stall(l: &str) -> bool {
    (l.contains("rcu: INFO: ") || l.contains("INFO: rcu_")) && l.contains("stall")
}
/// Functions on a CPU that are not what it was doing (the idle loop, the stop path).
const NOT_WORK: &[&str] = &[
    "native_safe_halt",
    "pv_native_safe_halt",
    "default_idle",
    "arch_cpu_idle",
    "cpu_idle_poll",
    "mwait_idle",
    "acpi_safe_halt",
    "stop_this_cpu",
    "crash_nmi_callback",
];

pub fn recognise(panic: &PanicInfo, _oops: Option<&Oops>, log: &str) -> bool {
    let rcu_panic = |p: &str| p.contains("RCU");
    panic
        .panic_string
        .as_deref()
        .is_some_and(|p| p.contains("RCU Stall"))
        || panic.message.as_deref().is_some_and(is_stall)
        || log.lines().any(is_stall) && panic.panic_string.as_deref().is_some_and(rcu_panic)
}

fn strip_ts(l: &str) -> &str {
    match l.strip_prefix('[') {
        Some(r) => r.split_once("] ").map(|(_, t)| t).unwrap_or(l),
        None => l,
    }
}

/// `0-....: (598 ticks this GP)` -> 0.
fn stalled_cpu(l: &str) -> Option<u32> {
    let t = l.trim_start_matches("rcu:").trim();
    let (n, rest) = t.split_once('-')?;
    if !rest.contains(':') || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

fn after_num<T: std::str::FromStr>(l: &str, key: &str) -> Option<T> {
    let s = l.split(key).nth(1)?;
    let e = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..e].parse().ok()
}

pub fn examine(inp: &Input) -> Option<Examined> {
    let lines: Vec<&str> = inp.log.lines().collect();
    // The last stall report before the panic: the one that panicked.
    let last = lines.iter().rposition(|l| is_stall(l))?;
    // Two CPUs may report the same stall at once (4.x: the stalled CPU's "self-detected" one,
    // with its CPU line, and another's "detected stalls" cut short by the panic): take the
    // latest report, among the last few, that names a stalled CPU.
    let names_cpu = |i: usize| {
        lines
            .get(i + 1)
            .is_some_and(|l| stalled_cpu(strip_ts(l)).is_some())
    };
    let start = (last.saturating_sub(64)..=last)
        .rev()
        .find(|&i| is_stall(lines[i]) && names_cpu(i))
        .unwrap_or(last);
    let head = strip_ts(lines[start]);
    let flavor = head
        .split(INFO)
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or("rcu")
        .to_string();
    let self_detected = head.contains("self-detected");
    let mut report = vec![head.trim().to_string()];
    let mut cpus = Vec::new();
    let mut blocked = Vec::new();
    let mut detected_by = None;
    let mut jiffies = None;
    for l in lines.iter().skip(start + 1).take(12) {
        let t = strip_ts(l);
        let body = t.trim_start_matches("rcu:").trim();
        // 4.x writes the CPU lines without the `rcu:` prefix, indented by a tab.
        let ours = t.starts_with("rcu:")
            || body.starts_with("(t=")
            || body.starts_with("(detected by")
            || (t.starts_with('\t') && stalled_cpu(t).is_some());
        if !ours {
            break;
        }
        report.push(body.to_string());
        if let Some(c) = stalled_cpu(t) {
            cpus.push((c, body.to_string()));
        }
        if body.starts_with("Tasks blocked on") {
            if let Some((_, ps)) = body.split_once("):") {
                blocked.extend(
                    ps.split_whitespace()
                        .filter_map(|p| p.strip_prefix('P'))
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
        if body.contains("detected by ") {
            detected_by = after_num(body, "detected by ");
        }
        if body.contains("t=") && jiffies.is_none() {
            jiffies = after_num(body, "t=");
        }
    }
    // A self-detected stall names no CPU line sometimes: the reporting CPU is the stalled one.
    if cpus.is_empty() && self_detected {
        if let Some(c) = inp.panic.cpu {
            cpus.push((c, String::new()));
        }
    }
    let mut stalled = Vec::new();
    for (cpu, detail) in cpus.into_iter().take(64) {
        let t = inp.traces.iter().find(|t| t.cpu == cpu);
        let frames = t
            .map(|t| &t.frames[..t.frames.len().min(64)])
            .unwrap_or(&[]);
        // The interrupted work: the first exception frame that is not the idle or stop path.
        let ef = frames.iter().position(|f| {
            f.kind == FrameKind::Exception
                && f.regs.is_some()
                && f.function
                    .as_deref()
                    .is_some_and(|n| !NOT_WORK.contains(&n.split('.').next().unwrap_or(n)))
        });
        let exc = ef.map(|i| &frames[i]);
        let backtrace = ef
            .map(|i| {
                frames[i..]
                    .iter()
                    .filter_map(|f| f.function.clone())
                    .take(16)
                    .collect()
            })
            .unwrap_or_default();
        stalled.push(StalledCpu {
            cpu,
            detail,
            pid: t.and_then(|t| t.pid),
            comm: t.and_then(|t| t.comm.clone()),
            interrupted_at: exc.and_then(|f| {
                f.function
                    .as_ref()
                    .map(|n| format!("{n}+{:#x}", f.offset.unwrap_or(0)))
            }),
            function: exc.and_then(|f| {
                f.function.as_ref().map(|n| FuncRef {
                    function: n.clone(),
                    module: f.module.clone(),
                })
            }),
            interrupts_off: exc
                .and_then(|f| f.regs.as_ref())
                .map(|r| r.eflags & 0x200 == 0),
            backtrace,
        });
    }
    // The culprit: the function the (first) stalled CPU was looping in, when the dump shows it.
    let culprit = stalled.iter().find_map(|s| {
        let f = s.function.as_ref()?;
        Some(super::blame(
            &f.function,
            &f.module,
            CulpritRule::RcuStall { cpu: s.cpu },
            inp.modules,
        ))
    });
    Some(Examined {
        class: CrashClass::RcuStall,
        finding: Finding::RcuStall(RcuStall {
            flavor,
            self_detected,
            detected_by,
            jiffies,
            cpus: stalled,
            blocked_tasks: blocked,
            report,
        }),
        culprit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_stalled_cpu_lines() {
        assert_eq!(
            stalled_cpu("rcu: \t0-....: (598 ticks this GP) idle=bb94/1/0x4000000000000000"),
            Some(0)
        );
        assert_eq!(
            stalled_cpu("rcu: \t1-...!: (0 ticks this GP) idle=2c4/0/0x0"),
            Some(1)
        );
        assert_eq!(
            stalled_cpu("rcu: \tTasks blocked on level-0 rcu_node (CPUs 0-1): P102"),
            None
        );
        assert_eq!(
            after_num::<u64>("(t=751 jiffies g=-735 q=67 ncpus=2)", "t="),
            Some(751)
        );
        assert_eq!(
            after_num::<u32>("(detected by 0, t=5 jiffies", "detected by "),
            Some(0)
        );
    }
}

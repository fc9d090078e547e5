//! Kernel crash reports ("oopses") in log text, parsed the way kernel engineers read them.
//!
//! Entry points: [`parse_all`] finds every report in a log; [`primary`] picks the one that
//! explains the crash. The files by concern:
//! - [`table`], [`table_bug`], [`table_warn`]: how each kind of report is recognised and titled;
//! - [`rules`]: the rule shapes and their compiled form;
//! - [`scan`]: console prefixes and contexts, cutting a report out of interleaved output,
//!   choosing the title, the corrupted flag;
//! - [`frames`]: guilty-frame rules (infrastructure frames skipped) and stack walking;
//! - [`title`]: title templates, normalisation, crash types;
//! - [`details`]: task line, registers, `Code:`, Call Trace frames and stack boundaries;
//! - [`taint`]: the kernel's taint table.

pub mod compiled;
pub mod demangle;
pub mod details;
pub mod frames;
pub mod rules;
pub mod scan;
pub mod table;
pub mod table_bug;
pub mod table_warn;
pub mod taint;
pub mod title;

use serde::Serialize;
use std::collections::BTreeMap;

pub use details::{Code, Frame, Marker};
pub use taint::TaintFlag;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Oops {
    /// syzbot-style title.
    pub title: String,
    /// Other titles syzbot may have used for the same crash.
    pub alt_titles: Vec<String>,
    /// Crash type in syzkaller's names.
    #[serde(rename = "type")]
    pub kind: String,
    /// Guilty frame (first non-infrastructure function).
    pub frame: Option<String>,
    /// The text is interleaved with other output or cut, so the title is a best effort.
    pub corrupted: bool,
    pub corrupted_reason: Option<String>,
    /// First line of the report as printed.
    pub message: String,
    pub cpu: Option<u32>,
    pub pid: Option<u32>,
    pub uid: Option<u32>,
    pub comm: Option<String>,
    /// The printk caller id of the report's lines (`T123` task, `C1` CPU), where the log has them.
    pub caller: Option<String>,
    /// Taint flags as printed (`G           OE` -> "G           OE"; "" for `Not tainted`).
    pub taint: Option<String>,
    pub taint_flags: Vec<TaintFlag>,
    pub kernel_version: Option<String>,
    /// What follows the release on the task line, e.g. `#1 Debian 6.1.192-2`.
    pub kernel_build: Option<String>,
    pub hardware: Option<String>,
    /// `function+off/size [module]` from the `RIP:` line.
    pub rip: Option<String>,
    pub rip_frame: Option<Frame>,
    pub registers: BTreeMap<String, String>,
    pub code: Option<Code>,
    pub call_trace: Vec<Frame>,
    pub stack_markers: Vec<Marker>,
    pub modules: Option<Vec<String>>,
    pub panic_string: Option<String>,
    /// A `Kernel panic - not syncing` follows somewhere in the log.
    pub panicked: bool,
    /// Line index of the report's first line in the text.
    pub start_line: usize,
    /// Line index just past the report's last line.
    pub end_line: usize,
}

/// Strips a `[    1.234567] ` timestamp and an optional `[  T123]` / `[ C0]` caller prefix.
pub fn strip_prefix(line: &str) -> &str {
    let mut l = line.trim_end_matches('\r');
    for _ in 0..2 {
        let t = l.trim_start();
        if let Some(rest) = t.strip_prefix('[') {
            if let Some(end) = rest.find(']') {
                let inner = rest[..end].trim();
                let is_ts =
                    !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit() || c == '.');
                let is_caller = inner.len() > 1
                    && (inner.starts_with('T') || inner.starts_with('C'))
                    && inner[1..].chars().all(|c| c.is_ascii_digit());
                if is_ts || is_caller {
                    l = rest[end + 1..]
                        .strip_prefix(' ')
                        .unwrap_or(&rest[end + 1..]);
                    continue;
                }
            }
        }
        break;
    }
    l
}

/// At most this many reports are returned by [`parse_all`] (a log can repeat one oops forever).
pub const MAX_REPORTS: usize = 64;

/// Finds every crash report in `text`.
pub fn parse_all(text: &str) -> Vec<Oops> {
    let cleaned;
    let text = if text.contains('\r') {
        cleaned = text.replace('\r', "");
        cleaned.as_str()
    } else {
        text
    };
    let mut out = Vec::new();
    let mut from = 0usize;
    let mut base_line = 0usize;
    while from < text.len() && out.len() < MAX_REPORTS {
        let part = &text[from..];
        let Some(f) = scan::parse(part) else { break };
        let start_line = base_line + part[..f.start].matches('\n').count();
        out.push(build(part, &f, start_line));
        // Continue after the first line of this report.
        let next = (f.first_line_end + 1).min(part.len());
        base_line += part[..next].matches('\n').count();
        from += next;
        if next == 0 {
            break;
        }
    }
    out
}

/// Structured details of a found report, read from its own lines (same console context).
fn build(text: &str, f: &scan::Found, start_line: usize) -> Oops {
    // The report runs until the next report starts, or its `---[ end trace` / `end Kernel panic`.
    let stop = if f.second_report > f.start {
        f.second_report
    } else {
        text.len()
    };
    let mut lines: Vec<&str> = Vec::new();
    let mut n_lines = 0usize;
    for (a, b) in scan::line_spans(&text[f.start..stop.min(text.len())]) {
        n_lines += 1;
        if lines.len() >= 2000 || n_lines > 5000 {
            break;
        }
        let l = &text[f.start + a..f.start + b];
        if a > 0 {
            let c = scan::context_of(l);
            if c != f.context {
                continue;
            }
        }
        let l = strip_prefix(l);
        lines.push(l);
        if a > 0 && (l.starts_with("---[ end trace") || l.starts_with("---[ end Kernel panic")) {
            break;
        }
    }
    let d = details::parse(&lines);
    let message = strip_prefix(&text[f.start..f.first_line_end])
        .trim_end()
        .to_string();
    let panic_string = text[f.start..].find("Kernel panic - not syncing").map(|p| {
        let e = text[p + f.start..]
            .find('\n')
            .map_or(text.len(), |i| p + f.start + i);
        text[p + f.start..e].trim_end().to_string()
    });
    Oops {
        title: f.title.clone(),
        alt_titles: f.alt_titles.clone(),
        kind: f.kind.to_string(),
        frame: f.frame.clone(),
        corrupted: f.corrupted,
        corrupted_reason: (!f.corrupted_reason.is_empty()).then(|| f.corrupted_reason.clone()),
        message,
        cpu: d.cpu,
        pid: d.pid,
        uid: d.uid,
        comm: d.comm,
        caller: f
            .context
            .strip_prefix('[')
            .and_then(|c| c.strip_suffix(']'))
            .map(|c| c.trim().to_string()),
        taint_flags: d.taint.as_deref().map(taint::decode).unwrap_or_default(),
        taint: d.taint,
        kernel_version: d.kernel_version,
        kernel_build: d.kernel_build,
        hardware: d.hardware,
        rip: d.rip,
        rip_frame: d.rip_frame,
        registers: d.registers,
        code: d.code,
        call_trace: d.call_trace,
        stack_markers: d.markers,
        modules: d.modules,
        panic_string,
        panicked: f.panicked,
        start_line,
        end_line: start_line + n_lines,
    }
}

/// The report that explains the crash: the first one in the log (later ones are usually
/// consequences: the panic after an oops, a second oops on a tainted kernel) — except when the
/// first is a non-fatal report (a WARNING, a lockdep splat, a hung task...) and the panic that
/// followed says "Fatal exception": that comes from oops_end(), i.e. from a later oops, never
/// from a WARN, so the first oops-class report after it is the crash.
pub fn primary(all: &[Oops]) -> Option<&Oops> {
    let first = all.first()?;
    const NON_FATAL: &[&str] = &[
        "WARNING",
        "LOCKDEP",
        "LEAK",
        "ATOMIC_SLEEP",
        "REFCOUNT_WARNING",
        "HANG",
    ];
    const FATAL: &[&str] = &[
        "BUG: unable to handle",
        "general protection fault",
        "kernel BUG",
        "BUG: corrupted list",
        "BUG: bad usercopy",
        "invalid opcode",
        "divide error",
        "PANIC: double fault",
        "stack segment fault",
        "int3 in",
        "Internal error",
        "Unhandled fault",
    ];
    let died = first
        .panic_string
        .as_deref()
        .is_some_and(|p| p.contains("Fatal exception"));
    if died && NON_FATAL.contains(&first.kind.as_str()) {
        // Only when the two are known to come from different tasks (by PID or printk caller id):
        // the same task oopsing right after its own splat is one incident, and the splat leads.
        if let Some(o) = all[1..]
            .iter()
            .find(|o| FATAL.iter().any(|f| o.title.starts_with(f)))
        {
            let pids_differ = first.pid.is_some() && o.pid.is_some() && first.pid != o.pid;
            let callers_differ =
                first.caller.is_some() && o.caller.is_some() && first.caller != o.caller;
            let same_caller = first.caller.is_some() && first.caller == o.caller;
            if !same_caller && (pids_differ || callers_differ) {
                return Some(o);
            }
        }
    }
    Some(first)
}

/// Console text from a file that may be in syzkaller's report test format (a header of
/// `TITLE:`/`TYPE:`... lines, a blank line, the log, optionally `REPORT:` and the expected report).
pub fn console_text(file: &str) -> &str {
    const KEYS: &[&str] = &[
        "TITLE: ",
        "ALT: ",
        "TYPE: ",
        "FRAME: ",
        "CORRUPTED: ",
        "PANICKED: ",
        "SUPPRESSED: ",
        "EXECUTOR: ",
        "START: ",
        "END: ",
    ];
    let Some(blank) = file
        .find("\n\n")
        .map(|i| i + 2)
        .or_else(|| file.starts_with('\n').then_some(1))
    else {
        return file;
    };
    let header = &file[..blank];
    let is_header = file.starts_with('\n')
        || header
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .all(|l| KEYS.iter().any(|k| l.starts_with(k) || l == k.trim_end()));
    if !is_header {
        return file;
    }
    let body = if let Some(rest) = file.strip_prefix('\n') {
        rest
    } else {
        &file[blank..]
    };
    match body.find("\n\nREPORT:\n") {
        Some(p) => &body[..p + 1],
        None => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles() {
        let g = compiled::groups();
        assert!(g.len() > 20 && g.iter().all(|g| !g.formats().is_empty()));
        // Suppressions are compiled on first use: compile them all here.
        assert!(g.iter().map(|g| g.suppress().len()).sum::<usize>() > 0);
        assert!(frames::common_skip().is_match("kmem_cache_alloc"));
        assert!(!frames::params().starts.is_empty());
    }

    #[test]
    fn titles_are_normalised() {
        assert_eq!(
            title::sanitize(&title::normalize(
                "kernel BUG at fs/ext4/inode.c:2014 in syz-executor.3"
            )),
            "kernel BUG at fs/ext4/inode.c:LINE in syz-executor"
        );
        assert_eq!(
            title::normalize("WARNING in foo+0x12/0x40 CPU#3 at ffffffff81234567"),
            "WARNING in foo CPU at ADDR"
        );
        assert_eq!(
            title::type_of("KASAN: slab-use-after-free Read in f"),
            "KASAN-USE-AFTER-FREE-READ"
        );
    }

    #[test]
    fn interleaved_tasks_stay_apart() {
        // Another task's lines between the report's own must not provide its frames.
        let log = "\
[   10.000001][ T100] BUG: kernel NULL pointer dereference, address: 0000000000000008
[   10.000002][ T100] #PF: supervisor read access in kernel mode
[   10.000003][ T100] Oops: 0000 [#1] PREEMPT SMP KASAN
[   10.000004][ T100] CPU: 1 PID: 100 Comm: syz-executor.0 Not tainted 6.5.0-syzkaller #0
[   10.000005][ T100] RIP: 0010:tcp_foo+0x10/0x40
[   10.000006][ T200] RIP: 0010:other_task+0x10/0x40
[   10.000007][ T100] Call Trace:
[   10.000008][ T200] Call Trace:
[   10.000009][ T100]  <TASK>
[   10.000010][ T100]  tcp_bar+0x20/0x60
[   10.000011][ T200]  other_caller+0x1/0x2
[   10.000012][ T100]  __sys_sendmsg+0x1/0x2
[   10.000013][ T100]  do_syscall_64+0x3d/0x90
[   10.000014][ T100]  entry_SYSCALL_64_after_hwframe+0x46/0xb0
[   10.000015][ T100]  </TASK>
";
        let all = parse_all(log);
        let o = primary(&all).unwrap();
        assert_eq!(
            o.title,
            "BUG: unable to handle kernel NULL pointer dereference in tcp_foo"
        );
        assert_eq!(
            (o.cpu, o.pid, o.taint.as_deref()),
            (Some(1), Some(100), Some("")),
            "{o:?}"
        );
        assert_eq!(
            o.call_trace
                .iter()
                .map(|f| f.function.as_str())
                .collect::<Vec<_>>(),
            [
                "tcp_bar",
                "__sys_sendmsg",
                "do_syscall_64",
                "entry_SYSCALL_64_after_hwframe"
            ]
        );
        assert_eq!(o.start_line, 0);
    }

    /// A kernel thread blocked with only waiting frames above kthread (the lab's `hung` waiter,
    /// 6.1's console): the title names the thread function, never ret_from_fork.
    #[test]
    fn a_hung_kthread_is_titled_by_its_thread_function() {
        let text = "INFO: task lab_waiter:105 blocked for more than 5 seconds.
      Tainted: G           OE      6.1.0-56-cloud-amd64 #1 Debian 6.1.192-2
task:lab_waiter      state:D stack:0     pid:105   ppid:2      flags:0x00004000
Call Trace:
 <TASK>
 __schedule+0x34d/0xa00
 schedule+0x5a/0xd0
 schedule_preempt_disabled+0x11/0x20
 __mutex_lock.constprop.0+0x39d/0x720
 ? lab_wait_hung+0x30/0x30 [crashlens_lab]
 lab_wait_hung+0x1b/0x30 [crashlens_lab]
 lab_hung_waiter+0xa/0x20 [crashlens_lab]
 kthread+0xda/0x100
 ? kthread_complete_and_exit+0x20/0x20
 ret_from_fork+0x22/0x30
 </TASK>
";
        let all = parse_all(text);
        assert_eq!(all[0].title, "INFO: task hung in lab_hung_waiter");
    }

    #[test]
    fn odd_input_does_not_panic() {
        let cases = [
            "BUG:",
            "BUG: unable to handle kernel",
            "\n\n\nkernel BUG at",
            "[   1.0] general protection fault: 0000 [#1]\nRIP: 0010:\nCode: <zz> (\nCall Trace:\n <IRQ> <EOI> <TASK>\n ? +0x/0x\n",
            "WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n[ 1.0] ] ] \u{e9}\u{1F600} BUG: KASAN: use-after-free in \nRead of size",
            "INFO: task x:1 blocked for more than 120 seconds.\r\nCall Trace:\r\n",
            "Kernel panic - not syncing: \u{0}\u{1}",
        ];
        for c in cases {
            let all = parse_all(c);
            for o in &all {
                assert!(!o.title.is_empty());
            }
            let _ = console_text(c);
        }
        // Many reports: bounded.
        let many = "BUG: soft lockup - CPU#0 stuck for 22s!\n".repeat(500);
        assert_eq!(parse_all(&many).len(), MAX_REPORTS);
    }

    #[test]
    fn an_earlier_warning_does_not_hide_the_fatal_oops() {
        let log = "\
[  100.000001] WARNING: CPU: 0 PID: 1 at drivers/foo/foo.c:10 foo_check+0x10/0x20
[  100.000002] Modules linked in: foo
[  100.000002] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0 #1
[  100.000003] RIP: 0010:foo_check+0x10/0x20
[  100.000004] Call Trace:
[  100.000005]  <TASK>
[  100.000006]  foo_probe+0x1/0x2
[  100.000007]  </TASK>
[  100.000008] ---[ end trace 0000000000000000 ]---
[ 5000.000001] BUG: kernel NULL pointer dereference, address: 0000000000000010
[ 5000.000002] CPU: 1 PID: 4242 Comm: nginx Tainted: G        W  O 6.1.0 #1
[ 5000.000002] RIP: 0010:bar_read+0x5/0x30 [bar]
[ 5000.000003] Call Trace:
[ 5000.000004]  <TASK>
[ 5000.000005]  vfs_read+0x1/0x2
[ 5000.000006]  </TASK>
[ 5000.000007] Kernel panic - not syncing: Fatal exception
";
        let all = parse_all(log);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].title, "WARNING in foo_check");
        assert_eq!(
            primary(&all).unwrap().title,
            "BUG: unable to handle kernel NULL pointer dereference in bar_read"
        );
        // With panic_on_warn the WARNING itself is the crash.
        let log2 = log.replace(
            "[  100.000008] ---[ end trace 0000000000000000 ]---",
            "[  100.000008] Kernel panic - not syncing: panic_on_warn set ...",
        );
        assert_eq!(
            primary(&parse_all(&log2)).unwrap().title,
            "WARNING in foo_check"
        );
    }

    #[test]
    fn hard_lockup() {
        let log = "\
[  300.000001] NMI watchdog: Watchdog detected hard LOCKUP on cpu 2
[  300.000002] CPU: 2 PID: 77 Comm: kworker/2:1 Tainted: G           O    5.10.0 #1
[  300.000003] RIP: 0010:spin_loop_driver_work+0x22/0x40 [spinmod]
[  300.000004] Call Trace:
[  300.000005]  process_one_work+0x1b6/0x350
[  300.000006]  worker_thread+0x53/0x3e0
[  300.000007]  kthread+0x11b/0x140
[  300.000008] Kernel panic - not syncing: Hard LOCKUP
";
        let all = parse_all(log);
        let o = primary(&all).unwrap();
        assert_eq!(
            (o.title.as_str(), o.kind.as_str()),
            ("watchdog: hard lockup in spin_loop_driver_work", "HANG")
        );
        assert_eq!(all[1].title, "kernel panic: Hard LOCKUP");
    }

    /// The lab's rcu-stall console (6.1, panic_on_rcu_stall=1): the self-detected report shows
    /// the stalled CPU's registers and trace and no interrupt frame; the title comes from the
    /// RIP line and the trace as syzkaller's stall rule picks it (the frame above the syscall
    /// entry; "rcu" frames skipped), not "corrupted". Another CPU's stall report keeps needing
    /// its interrupt frame, unless it holds the stalled CPU's NMI backtrace.
    #[test]
    fn self_detected_rcu_stall_without_an_interrupt_frame() {
        let log = "\
[    9.986158] rcu: INFO: rcu_preempt self-detected stall on CPU
[    9.986158] rcu: \t1-....: (358 ticks this GP) idle=1bf4/1/0x4000000000000000 softirq=207/207 fqs=235
[    9.986158] \t(t=752 jiffies g=-823 q=64 ncpus=2)
[    9.986158] CPU: 1 PID: 102 Comm: sh Tainted: G           OE      6.1.0-56-cloud-amd64 #1  Debian 6.1.192-2
[    9.986158] RIP: 0010:lab_rcu_spin+0x1f/0x21 [crashlens_lab]
[    9.990828] RSP: 0018:ffffcf4b403fb9f0 EFLAGS: 00000282
[    9.990828] Call Trace:
[    9.990828]  <TASK>
[    9.990828]  lab_provoke.cold+0x1d/0xa4 [crashlens_lab]
[    9.990828]  provoke_write+0x68/0x96 [crashlens_lab]
[    9.990828]  full_proxy_write+0x53/0x80
[    9.990828]  vfs_write+0xc7/0x3f0
[    9.990828]  ksys_write+0x6b/0xf0
[    9.990828]  do_syscall_64+0x5d/0x90
[    9.990828]  entry_SYSCALL_64_after_hwframe+0x6e/0xd8
[    9.990828]  </TASK>
[    9.990828] Kernel panic - not syncing: RCU Stall
";
        let o = primary(&parse_all(log)).unwrap().clone();
        assert_eq!(o.title, "INFO: rcu detected stall in full_proxy_write");
        assert!(!o.corrupted);
        let other = log.replace(
            "self-detected stall on CPU",
            "detected stalls on CPUs/tasks:",
        );
        assert_eq!(
            primary(&parse_all(&other)).unwrap().title,
            "INFO: rcu detected stall in corrupted"
        );
        // k73-hardlockup: CPU 0 reports CPU 1's stall with its NMI backtrace.
        let nmi = other.replace(
            "[    9.986158] CPU: 1 PID: 102",
            "[    9.986158] Sending NMI from CPU 0 to CPUs 1:\n[    9.986158] NMI backtrace for cpu 1\n[    9.986158] CPU: 1 PID: 102",
        );
        assert_eq!(
            primary(&parse_all(&nmi)).unwrap().title,
            "INFO: rcu detected stall in full_proxy_write"
        );
    }
}

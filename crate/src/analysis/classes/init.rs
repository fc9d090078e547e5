//! "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300": PID 1, the first
//! user-space program, exited, and the kernel cannot go on without it. The exit status says
//! how: an exit code (`exit(3)`) or a signal (`SIGSEGV`, with or without a core dump), as the
//! kernel's `do_exit()` got it (`(code & 0xff) << 8` for exit(), the signal number in the low 7
//! bits, 0x80 when it dumped core). Not a kernel bug: user space died; the log's lines before
//! the panic say what init did last (a segfault line, its own messages).

use super::{Examined, Finding, Input};
use crate::analysis::model::{CrashClass, PanicInfo};
use crate::analysis::oops::Oops;
use serde::Serialize;

/// How init ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum ExitStatus {
    /// It called exit(`code`) (or returned `code` from main).
    Exited { code: u8 },
    /// A signal killed it.
    Signaled {
        signal: u8,
        /// `SIGSEGV`; None for a number without a standard name.
        name: Option<&'static str>,
        core_dumped: bool,
    },
}

impl ExitStatus {
    /// Decodes a wait(2)-style status as `do_exit()` passes it to panic().
    pub fn decode(raw: u32) -> ExitStatus {
        let sig = (raw & 0x7f) as u8;
        if sig == 0 {
            ExitStatus::Exited {
                code: ((raw >> 8) & 0xff) as u8,
            }
        } else {
            ExitStatus::Signaled {
                signal: sig,
                name: signal_name(sig),
                core_dumped: raw & 0x80 != 0,
            }
        }
    }
}

/// The x86_64 Linux signal names (arch/x86/include/uapi/asm/signal.h).
pub fn signal_name(sig: u8) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES.get(usize::from(sig).checked_sub(1)?).copied()
}

/// What the dump says about init's death.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InitDeath {
    /// The raw `exitcode=` of the panic line.
    #[serde(with = "crate::util::hex")]
    pub exit_code: u64,
    pub status: ExitStatus,
    /// The task that panicked (init itself, or the last thread of its group).
    pub comm: Option<String>,
    pub pid: Option<u32>,
    /// The log's lines about init before the panic: a segfault or trap line naming it, or what
    /// it printed (at most a few, newest last).
    pub log_lines: Vec<String>,
}

const PANIC: &str = "Attempted to kill init!";
/// Log lines kept before the panic line.
const CONTEXT: usize = 40;

fn panic_line<'a>(panic: &'a PanicInfo, log: &'a str) -> Option<&'a str> {
    panic
        .panic_string
        .as_deref()
        .filter(|s| s.contains(PANIC))
        .or_else(|| log.lines().rev().find(|l| l.contains(PANIC)))
}

pub fn recognise(panic: &PanicInfo, _oops: Option<&Oops>, log: &str) -> bool {
    panic_line(panic, log).is_some()
}

/// `exitcode=0x00000300` from the panic line.
fn exit_code(line: &str) -> Option<u64> {
    let v = line.split("exitcode=").nth(1)?;
    let v = v.trim_start_matches("0x");
    let end = v.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(v.len());
    u64::from_str_radix(&v[..end], 16).ok()
}

/// A line about PID 1 or init: `init[1]: segfault at ...`, `traps: init[1] ...`,
/// `potentially unexpected fatal signal 11.` on behalf of init, or what init printed.
fn about_init(line: &str, comm: &str) -> bool {
    let tag = format!("{comm}[1]");
    line.contains(&tag) || line.contains("init[1]") || line.contains("(pid 1)")
}

pub fn examine(inp: &Input) -> Option<Examined> {
    let line = panic_line(inp.panic, inp.log)?;
    let raw = exit_code(line)?;
    let comm = inp.panic.comm.clone();
    let c = comm.as_deref().unwrap_or("init");
    let log_lines = super::lines_before(inp.log, PANIC, CONTEXT)
        .into_iter()
        .filter(|l| !l.contains(PANIC) && about_init(l, c))
        .map(|l| l.trim().to_string())
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Some(Examined {
        class: CrashClass::InitDeath,
        finding: Finding::InitDeath(InitDeath {
            exit_code: raw,
            status: ExitStatus::decode(raw as u32),
            comm,
            pid: inp.panic.pid,
            log_lines,
        }),
        culprit: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_exit_codes_and_signals() {
        assert_eq!(ExitStatus::decode(0x300), ExitStatus::Exited { code: 3 });
        assert_eq!(ExitStatus::decode(0x100), ExitStatus::Exited { code: 1 });
        assert_eq!(
            ExitStatus::decode(0x0b),
            ExitStatus::Signaled {
                signal: 11,
                name: Some("SIGSEGV"),
                core_dumped: false
            }
        );
        assert_eq!(
            ExitStatus::decode(0x86),
            ExitStatus::Signaled {
                signal: 6,
                name: Some("SIGABRT"),
                core_dumped: true
            }
        );
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(40), None);
    }

    #[test]
    fn reads_the_exit_code_of_the_panic_line() {
        assert_eq!(
            exit_code("Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300"),
            Some(0x300)
        );
        assert_eq!(
            exit_code("Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\n"),
            Some(0xb)
        );
        assert_eq!(exit_code("Attempted to kill init!"), None);
    }
}

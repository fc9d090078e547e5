//! crash's `ps` table.

use crate::report::PsRow;
use std::fmt::Write;

/// `   PID    PPID  CPU       TASK        ST  COMM`, one line per task ('>' marks the running
/// ones, kernel threads in brackets), then the warnings.
pub fn render(rows: &[PsRow], warnings: &[String]) -> String {
    let mut t = String::from("   PID    PPID  CPU       TASK        ST  COMM\n");
    for r in rows {
        let comm = if r.kthread {
            format!("[{}]", r.comm)
        } else {
            r.comm.clone()
        };
        let _ = writeln!(
            t,
            "{}{:>6}  {:>6}  {:>3}  {:016x}  {}  {comm}",
            if r.active { ">" } else { " " },
            r.pid,
            r.ppid,
            r.cpu,
            r.task,
            r.st
        );
    }
    for w in warnings {
        let _ = writeln!(t, "warning: {w}");
    }
    t
}

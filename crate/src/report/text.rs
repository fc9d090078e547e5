//! Plain-text rendering of the report, for the terminal.

use super::Report;
use std::fmt::Write;

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "(unknown)".into())
}

pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let p = &r.panic;
    let _ = writeln!(s, "PANIC: {}", opt(&p.message));
    if let Some(ps) = &p.panic_string {
        let _ = writeln!(s, "       {ps}");
    }
    let _ = writeln!(
        s,
        "TASK:  PID {}  COMMAND \"{}\"  CPU {}",
        opt(&p.pid),
        p.comm.as_deref().unwrap_or("?"),
        opt(&p.cpu)
    );
    if let Some(rip) = &p.rip {
        let _ = writeln!(s, "RIP:   {rip}");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "     RELEASE: {}", opt(&r.kernel.release));
    if let Some(v) = &r.kernel.version {
        let _ = writeln!(s, "     VERSION: {v}");
    }
    let _ = writeln!(s, "    BUILD-ID: {}", opt(&r.kernel.build_id));
    let _ = writeln!(s, "        CPUS: {}", opt(&r.cpus));
    let _ = writeln!(s, "        DATE: {}", opt(&r.crash_time_utc));
    let _ = writeln!(s, "    DUMPFILE: {} ({})", r.dump.file_name.as_deref().unwrap_or("-"), r.dump.container.description);
    let _ = writeln!(s, "  LOG LINES: {}", r.log.len());
    for c in &r.dump.container.corrections {
        let _ = writeln!(s, "CORRECTED: {c}");
    }
    for w in &r.warnings {
        let _ = writeln!(s, "WARNING: {w}");
    }
    s
}

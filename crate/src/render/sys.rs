//! crash's `sys` summary.

use crate::kernel::sys::SysInfo;

/// The dump's name as `sys` shows it: each file's base name (the parts of a split dump joined
/// with ` + `), whether the name came from command-line paths or from the browser's `File`s.
pub fn dumpfile_name(file_name: &str) -> String {
    file_name
        .split(' ')
        .filter(|p| !p.is_empty() && *p != "+")
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// `crashlens sys`: crash's `sys` text, then what could not be read.
pub fn text(s: &SysInfo, file_name: Option<&str>) -> String {
    let name = file_name.map(dumpfile_name);
    let mut t = render(s, name.as_deref());
    for w in &s.warnings {
        t.push_str(&format!("     WARNING: {w}\n"));
    }
    t
}

/// crash's `sys` text.
pub fn render(s: &SysInfo, dumpfile: Option<&str>) -> String {
    let mut t = String::new();
    let mut line = |k: &str, v: String| t.push_str(&format!("{k:>12}: {v}\n"));
    if let Some(tn) = &s.tainted {
        line(
            "TAINT",
            if tn.is_empty() {
                "not tainted".into()
            } else {
                format!("{tn}  [TAINTED]")
            },
        );
    }
    if let Some(d) = dumpfile {
        line("DUMPFILE", d.to_string());
    }
    if let Some(c) = s.cpus {
        line(
            "CPUS",
            match s.cpus_offline {
                Some(o) if o > 0 => format!("{c} [OFFLINE: {o}]"),
                _ => c.to_string(),
            },
        );
    }
    let q = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unknown)".into());
    line("DATE", q(&s.date_text));
    line("UPTIME", q(&s.uptime));
    line("LOAD AVERAGE", q(&s.load_average));
    line(
        "TASKS",
        s.tasks.map_or("(unknown)".into(), |n| n.to_string()),
    );
    line("NODENAME", q(&s.nodename));
    line("RELEASE", q(&s.release));
    line("VERSION", q(&s.version));
    line(
        "MACHINE",
        match (&s.machine, s.cpu_mhz) {
            (Some(m), Some(mhz)) => format!("{m}  ({mhz} Mhz)"),
            (m, _) => q(m),
        },
    );
    line("MEMORY", q(&s.memory));
    line("PANIC", q(&s.panic));
    if let Some(p) = &s.panic_task {
        line(
            "PANIC TASK",
            format!(
                "PID {}  COMMAND \"{}\"  TASK {:016x}  CPU {}",
                p.pid, p.comm, p.task, p.cpu
            ),
        );
    }
    t
}

//! Kernel crash reports ("oopses") in log text, parsed the way kernel engineers read them.
//!
//! Entry points: [`parse_all`] finds every report in a log; [`primary`] picks the one that
//! explains the crash.

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Oops {
    /// syzbot-style title.
    pub title: String,
    /// Crash type in syzkaller's names.
    #[serde(rename = "type")]
    pub kind: String,
    /// Guilty frame (first non-infrastructure function).
    pub frame: Option<String>,
    pub corrupted: bool,
    /// First line of the report as printed.
    pub message: String,
    pub cpu: Option<u32>,
    pub pid: Option<u32>,
    pub comm: Option<String>,
    pub taint: Option<String>,
    pub kernel_version: Option<String>,
    pub hardware: Option<String>,
    /// `function+off/size [module]` from the `RIP:` line.
    pub rip: Option<String>,
    pub panic_string: Option<String>,
    /// Line index of the report's first line in the text.
    pub start_line: usize,
}

/// Strips a `[    1.234567] ` timestamp and an optional `[  T123]` / `[ C0]` caller prefix.
pub fn strip_prefix(line: &str) -> &str {
    let mut l = line.trim_end_matches('\r');
    for _ in 0..2 {
        let t = l.trim_start();
        if let Some(rest) = t.strip_prefix('[') {
            if let Some(end) = rest.find(']') {
                let inner = rest[..end].trim();
                let is_ts = !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit() || c == '.');
                let is_caller = inner.len() > 1
                    && (inner.starts_with('T') || inner.starts_with('C'))
                    && inner[1..].chars().all(|c| c.is_ascii_digit());
                if is_ts || is_caller {
                    l = rest[end + 1..].strip_prefix(' ').unwrap_or(&rest[end + 1..]);
                    continue;
                }
            }
        }
        break;
    }
    l
}

const HEADERS: &[&str] = &[
    "BUG: kernel NULL pointer dereference",
    "BUG: unable to handle kernel",
    "BUG: unable to handle page fault",
    "general protection fault",
    "kernel BUG at",
    "Oops:",
];

/// Finds every crash report in `text`.
pub fn parse_all(text: &str) -> Vec<Oops> {
    let lines: Vec<&str> = text.lines().map(strip_prefix).collect();
    let mut out: Vec<Oops> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if HEADERS.iter().any(|h| l.starts_with(h)) {
            let mut o = Oops { message: l.trim_end().to_string(), start_line: i, ..Default::default() };
            let end = (i + 200).min(lines.len());
            for (j, m) in lines[i..end].iter().enumerate() {
                if j > 0 && HEADERS.iter().any(|h| m.starts_with(h)) && !m.starts_with("Oops:") {
                    break;
                }
                if let Some(rest) = m.strip_prefix("CPU: ") {
                    parse_cpu_line(rest, &mut o);
                } else if let Some(rip) = m.strip_prefix("RIP: ") {
                    if o.rip.is_none() {
                        o.rip = rip.split_once(':').map(|(_, f)| f.trim().to_string());
                    }
                } else if let Some(p) = m.find("Kernel panic - not syncing") {
                    o.panic_string = Some(m[p..].trim_end().to_string());
                }
            }
            o.title = o.message.clone();
            o.kind = "UNKNOWN".into();
            out.push(o);
            // Skip the Oops: line that belongs to this report.
            i += 1;
            while i < lines.len() && lines[i].starts_with("Oops:") {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    out
}

fn parse_cpu_line(rest: &str, o: &mut Oops) {
    // CPU: 0 PID: 103 Comm: sh Tainted: G           OE      6.1.0-56-cloud-amd64 #1  Debian 6.1.192-2
    let mut words = rest.split_whitespace().peekable();
    o.cpu = words.next().and_then(|w| w.parse().ok());
    while let Some(w) = words.next() {
        match w {
            "PID:" => o.pid = words.next().and_then(|w| w.parse().ok()),
            "Comm:" => o.comm = words.next().map(str::to_string),
            _ => {}
        }
    }
    if let Some(t) = rest.find("Tainted: ") {
        let after = &rest[t + 9..];
        let flags: String = after.chars().take_while(|c| c.is_ascii_uppercase() || *c == ' ').collect();
        o.taint = Some(flags.split_whitespace().collect::<Vec<_>>().join(" "));
    } else if rest.contains("Not tainted") {
        o.taint = Some("Not tainted".into());
    }
}

/// The report that explains the crash: the first one in the log.
pub fn primary(all: &[Oops]) -> Option<&Oops> {
    all.first()
}

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
    // Without an end marker (kdump took over before panic() printed anything) the details run
    // on for at most REPORT_LINES lines.
    const REPORT_LINES: usize = 300;
    let open_end = || {
        text[f.start..].match_indices('\n').nth(REPORT_LINES).map_or(text.len(), |(i, _)| f.start + i)
    };
    let stop = if f.second_report > f.start {
        f.second_report
    } else if f.end <= f.first_line_end {
        open_end()
    } else {
        f.end
    };
    let mut lines: Vec<&str> = Vec::new();
    let mut n_lines = 0usize;
    for (a, b) in scan::line_spans(&text[f.start..stop.min(text.len())]) {
        n_lines += 1;
        if lines.len() >= 2000 {
            break;
        }
        let l = &text[f.start + a..f.start + b];
        if a > 0 {
            let c = scan::context_of(l);
            if c != f.context {
                continue;
            }
        }
        lines.push(strip_prefix(l));
    }
    let d = details::parse(&lines);
    let message = strip_prefix(&text[f.start..f.first_line_end]).trim_end().to_string();
    let panic_string = text[f.start..].find("Kernel panic - not syncing").map(|p| {
        let e = text[p + f.start..].find('\n').map_or(text.len(), |i| p + f.start + i);
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
/// consequences: the panic after an oops, a second oops on a tainted kernel).
pub fn primary(all: &[Oops]) -> Option<&Oops> {
    all.first()
}

/// Console text from a file that may be in syzkaller's report test format (a header of
/// `TITLE:`/`TYPE:`... lines, a blank line, the log, optionally `REPORT:` and the expected report).
pub fn console_text(file: &str) -> &str {
    const KEYS: &[&str] = &[
        "TITLE: ", "ALT: ", "TYPE: ", "FRAME: ", "CORRUPTED: ", "PANICKED: ", "SUPPRESSED: ", "EXECUTOR: ", "START: ", "END: ",
    ];
    let Some(blank) = file.find("\n\n").map(|i| i + 2).or_else(|| file.starts_with('\n').then_some(1)) else { return file };
    let header = &file[..blank];
    let is_header = file.starts_with('\n')
        || header.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).all(|l| KEYS.iter().any(|k| l.starts_with(k) || l == k.trim_end()));
    if !is_header {
        return file;
    }
    let body = if file.starts_with('\n') { &file[1..] } else { &file[blank..] };
    match body.find("\n\nREPORT:\n") {
        Some(p) => &body[..p + 1],
        None => body,
    }
}

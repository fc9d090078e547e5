//! Finding a report in console output and cutting its text out: console prefixes and caller
//! contexts (`[  T123]`, `[ C1]`) keep interleaved output of other tasks/CPUs out of the report;
//! the earliest-matching format gives the title; stack parts give the guilty frame.

use super::compiled::{groups, CFormat, CGroup};
use super::frames;
use super::title;
use regex::Regex;
use std::sync::OnceLock;

/// One report found by the rules (before the structured details are read).
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub title: String,
    pub alt_titles: Vec<String>,
    pub kind: &'static str,
    pub frame: Option<String>,
    pub corrupted: bool,
    pub corrupted_reason: String,
    /// Byte range of the first line, and of the whole report, in the text given.
    pub start: usize,
    pub first_line_end: usize,
    pub end: usize,
    /// Where a different report starts (0: none) — the structured details stop there.
    pub second_report: usize,
    /// The console context of the first line: "" (no timestamps), "console", or e.g. "[ T123]".
    pub context: String,
    /// The report's lines without console prefixes, other contexts or questionable frames.
    pub report: String,
    pub panicked: bool,
}

struct Re {
    console: Regex,
    cpu_ctx: Regex,
    questionable: Regex,
    start_ignores: Vec<Regex>,
    corrupted_title: Regex,
}

fn res() -> &'static Re {
    static R: OnceLock<Re> = OnceLock::new();
    R.get_or_init(|| Re {
        console: Regex::new(
            r"^(?:\*\* [0-9]+ printk messages dropped \*\* )?(?:.* login: )?(?:<[0-9]+>)?\[ *[0-9]+\.[0-9]+\](\[ *(?:C|T)[0-9]+\])? ",
        )
        .expect("console"),
        cpu_ctx: Regex::new(r"\[ *C[0-9]+\]").expect("cpu"),
        questionable: Regex::new(r"(\[<[0-9a-f]+>\])? \? ").expect("questionable"),
        start_ignores: ["invalid opcode: 0000", "Kernel panic - not syncing", "unregister_netdevice: waiting for", "PANIC: double fault", "Internal error:"]
            .iter()
            .map(|s| Regex::new(s).expect("ignore"))
            .collect(),
        corrupted_title: Regex::new(r"\[ *[0-9]+\.[0-9]+\]").expect("title ts"),
    })
}

/// Messages that carry a stack trace but are not crashes; they end the previous report.
const INFO_WITH_STACK: &[&str] = &[
    "vmalloc: allocation failure:",
    "FAULT_INJECTION: forcing a failure",
    "FAULT_FLAG_ALLOW_RETRY missing",
];

/// Lines as (start, end) byte offsets, end excluding the newline.
pub fn line_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if pos >= text.len() {
            return None;
        }
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let r = (pos, end);
        pos = end + 1;
        Some(r)
    })
}

pub fn context_of(line: &str) -> String {
    // Every console prefix holds "[ seconds.micros]".
    if !line.contains("] ") {
        return String::new();
    }
    match res().console.captures(line) {
        None => String::new(),
        Some(c) => c
            .get(1)
            .map_or_else(|| "console".to_string(), |m| m.as_str().to_string()),
    }
}

/// The line without its console prefix; true when it is a questionable (`?`) stack frame.
pub fn strip_line<'a>(line: &'a str, context: &str) -> (&'a str, bool) {
    if context.is_empty() {
        return (line, false);
    }
    let l = match line.find("] ") {
        Some(i) => &line[i + 2..],
        None => line,
    };
    if !l.contains("<EOI>") {
        if res().questionable.is_match(l) {
            if let Some(p) = l.find(" ? ") {
                return (&l[p + 2..], true);
            }
        }
        if let Some(s) = l.strip_suffix(" (unreliable)") {
            return (s, true);
        }
    }
    (l, false)
}

/// One pass over a line for all the headers at once.
fn any_header(line: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        let alts: Vec<String> = groups().iter().map(|g| regex::escape(g.header)).collect();
        Regex::new(&alts.join("|")).expect("headers")
    })
    .is_match(line)
}

fn matches_group(line: &str, g: &CGroup) -> bool {
    line.contains(g.header) && !g.suppress().iter().any(|r| r.is_match(line))
}

/// The kernel re-prints a message cut by a console race as "** replaying previous printk message **".
fn truncated_by_replay(text: &str, line_end: usize) -> bool {
    let rest = &text[line_end.min(text.len())..];
    match rest.strip_prefix('\n') {
        Some(r) => r
            .split('\n')
            .next()
            .is_some_and(|l| l.contains("** replaying previous printk message **")),
        None => false,
    }
}

/// Does this line start a report of any kind?
pub fn is_report_line(line: &str) -> bool {
    any_header(line) && groups().iter().any(|g| matches_group(line, g))
}

fn first_oops(text: &str) -> Option<(&'static CGroup, usize, String)> {
    for (pos, end) in line_spans(text) {
        let line = &text[pos..end];
        if !any_header(line) {
            continue;
        }
        for g in groups() {
            if matches_group(line, g) && !truncated_by_replay(text, end) {
                return Some((g, pos, context_of(line)));
            }
        }
    }
    None
}

struct Cut {
    end: usize,
    report_end: usize,
    report: String,
    second: usize,
}

fn cut_report(text: &str, start: usize, context: &str) -> Cut {
    let r = res();
    let mut c = Cut {
        end: 0,
        report_end: 0,
        report: String::new(),
        second: 0,
    };
    let (mut text_lines, mut skip_text, mut cpu_traceback) = (0usize, false, false);
    let mut min_lines = 22;
    for (pos, next) in line_spans(&text[start..]).map(|(a, b)| (a + start, b + start)) {
        let line = &text[pos..next];
        let ctx1 = context_of(line);
        let (stripped, questionable) = strip_line(line, &ctx1);
        let is_oops_line = pos == start;
        if is_oops_line && line.contains("BUG: KMSAN:") {
            min_lines = 16;
        }
        // Messages with a stack trace that are not reports also end this one.
        if !is_oops_line && c.second == 0 && INFO_WITH_STACK.iter().any(|p| line.contains(p)) {
            c.second = pos;
        }
        let has_header = any_header(line);
        for g in groups().iter().filter(|_| has_header) {
            if !matches_group(line, g) {
                continue;
            }
            if truncated_by_replay(text, next) {
                continue;
            }
            c.end = next;
            if !is_oops_line && c.second == 0 && !r.start_ignores.iter().any(|x| x.is_match(line)) {
                c.second = pos;
            }
        }
        if !is_oops_line
            && (questionable || (ctx1 != context && (!cpu_traceback || !r.cpu_ctx.is_match(&ctx1))))
        {
            continue;
        }
        text_lines += 1;
        let mut skip_line = skip_text;
        if line.contains("Disabling lock debugging due to kernel taint") {
            skip_line = true;
        } else if line.contains("Sending NMI from CPU") {
            cpu_traceback = true;
        } else if (line.contains("Kernel panic - not syncing")
            || line.contains("WARNING: possible circular locking dependency detected"))
            && text_lines > min_lines
        {
            skip_text = true;
            skip_line = true;
        }
        if !is_oops_line && skip_line {
            continue;
        }
        c.report.push_str(stripped);
        c.report.push('\n');
        if c.second == 0 || (!context.is_empty() && context != "console") {
            c.report_end = c.report.len();
        }
    }
    c
}

struct Desc<'a> {
    title: String,
    corrupted: String,
    alts: Vec<String>,
    format: Option<&'a CFormat>,
}

fn describe<'a>(out: &str, g: &'a CGroup) -> Desc<'a> {
    let mut d = Desc {
        title: String::new(),
        corrupted: String::new(),
        alts: vec![],
        format: None,
    };
    let mut start_pos = out.len();
    let mut matched_title = false;
    for f in g.formats() {
        let m = match f.title.find(out) {
            Some(m) => m,
            None => continue,
        };
        if m.start() > start_pos || (m.start() == start_pos && !d.title.is_empty()) {
            continue;
        }
        if m.start() < start_pos {
            d.title.clear();
            d.format = None;
            start_pos = m.start();
        }
        matched_title = true;
        let caps = match &f.report {
            Some(r) => match r.captures(out) {
                Some(c) => c,
                None => continue,
            },
            None => match f.title.captures(out) {
                Some(c) => c,
                None => continue,
            },
        };
        let mut args: Vec<String> = caps
            .iter()
            .skip(1)
            .map(|m| m.map_or(String::new(), |m| m.as_str().to_string()))
            .collect();
        let from = caps.get(0).map_or(0, |m| m.start());
        d.corrupted.clear();
        if let Some(st) = &f.stack {
            let (fr, ok) = frames::extract(st, &out[from..]);
            if !ok {
                d.corrupted = "extracted no frames".into();
            }
            args.extend(fr);
        }
        d.title = title::fill(f.src.fmt, &args);
        for a in f.src.alt {
            d.alts.push(title::fill(a, &args));
        }
        d.format = Some(f);
    }
    if d.title.is_empty() {
        if matched_title {
            d.corrupted = "matched title but not report regexp".into();
        }
        if let Some(p) = out.find(g.header) {
            let e = out[p..].find('\n').map_or(out.len(), |i| p + i);
            d.title = out[p..e].to_string();
        }
    }
    if d.corrupted.is_empty() && d.format.is_some_and(|f| f.src.corrupted) {
        d.corrupted = "report format is marked as corrupted".into();
    }
    d.alts.dedup();
    d
}

/// A report without a usable stack trace is cut or interleaved.
fn corrupted_why(title: &str, report: &str, format: Option<&CFormat>) -> Option<&'static str> {
    if res().corrupted_title.is_match(title) {
        return Some("title matches corrupted regexp");
    }
    let f = format?;
    if f.src.no_stack_trace {
        return None;
    }
    let p = frames::params();
    let riscv = frames::RISCV_START;
    let mut has_trace = false;
    for (i, key) in p.starts.iter().enumerate() {
        let m = match key.find(report) {
            Some(m) => m,
            None => continue,
        };
        let lines: Vec<&str> = report[m.start()..].split('\n').collect();
        if lines.len() < 4 {
            return Some("call trace is missed");
        }
        let mut corrupted = true;
        for l in lines[1..].iter().take(15) {
            if p.starts.iter().any(|k| k.is_match(l)) {
                break;
            }
            if l.contains("(stack is not available)") || p.frames.iter().any(|r| r.is_match(l)) {
                has_trace = true;
                corrupted = false;
                break;
            }
        }
        let is_riscv = key.as_str() == riscv || i == p.starts.len() - 1;
        if !is_riscv && corrupted {
            return Some("no frames in a stack trace");
        }
    }
    if !has_trace {
        return Some("no stack trace in report");
    }
    None
}

/// The first report in `text` (offsets in the result are relative to `text`).
pub fn parse(text: &str) -> Option<Found> {
    let (g, start, context) = first_oops(text)?;
    let cut = cut_report(text, start, &context);
    let mut report = cut.report;
    let mut d = describe(&report[..cut.report_end], g);
    if d.title.is_empty() {
        report = text[start..cut.end.max(start)].to_string();
        d = describe(&report, g);
    }
    let first_line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    if d.title.is_empty() {
        d.title = text[start..first_line_end].to_string();
    }
    let kind = title::type_of(&d.title);
    let mut reason = d.corrupted.clone();
    if reason.is_empty() {
        if let Some(r) = corrupted_why(&d.title, &report, d.format) {
            reason = r.to_string();
        }
    }
    if text.contains("serialport: VM disconnected.") && reason.is_empty() {
        reason = "console hangup".into();
    }
    let t = title::sanitize(&title::normalize(&d.title));
    let alts = d
        .alts
        .iter()
        .map(|a| title::sanitize(&title::normalize(a)))
        .collect();
    Some(Found {
        frame: title::frame_of(&t),
        title: t,
        alt_titles: alts,
        kind,
        corrupted: !reason.is_empty(),
        corrupted_reason: reason,
        start,
        first_line_end,
        end: cut.end.max(first_line_end),
        second_report: cut.second,
        context,
        report,
        panicked: text.contains("Kernel panic - not syncing"),
    })
}

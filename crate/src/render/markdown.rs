//! `crashlens report --format md`: the report as Markdown for a support ticket. The crash-like
//! views (verdict, backtrace, registers, disassembly, every CPU, sys, modules, the oops part of
//! the log) are the same text the CLI prints and the page shows, in fenced blocks.

use super::words::{self, Row};
use super::{section_text, sections, Lang};
use crate::report::Report;
use std::fmt::Write;

fn fence(s: &mut String, title: &str, text: &str) {
    if text.is_empty() {
        return;
    }
    let _ = write!(s, "## {title}\n\n```text\n{text}");
    if !text.ends_with('\n') {
        s.push('\n');
    }
    s.push_str("```\n\n");
}

fn cell(v: &str) -> String {
    v.replace('|', "\\|").replace('\n', " ")
}

fn table(s: &mut String, title: &str, rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(s, "## {title}\n\n| | |\n|---|---|\n");
    for (_, label, v) in rows {
        let _ = writeln!(s, "| {label} | {} |", cell(v));
    }
    s.push('\n');
}

/// The report as Markdown in `lang`.
pub fn render(r: &Report, lang: Lang) -> String {
    let w = words::words(lang);
    let secs = sections(r, lang);
    let text = |id: &str| section_text(&secs, id);
    let name = r.dump.file_name.as_deref().unwrap_or("vmcore");
    let mut s = format!("# crashlens: {name}\n\n");
    if r.partial {
        let _ = write!(s, "> {}\n\n", w.partial);
    }
    let verdict = text("verdict");
    if verdict.is_empty() {
        let _ = write!(s, "{}\n\n", w.no_panic);
    } else {
        fence(&mut s, w.verdict, &verdict);
    }
    if let Some(f) = r.verdict.as_ref().and_then(|v| v.finding.as_ref()) {
        let t = text("finding");
        if !t.is_empty() {
            fence(&mut s, super::classes::title(f, lang), &t);
        }
    }
    table(&mut s, w.summary, &words::summary(r, lang));
    table(&mut s, w.fault, &words::fault(r, lang));
    fence(&mut s, w.backtrace, &text("backtrace"));
    fence(&mut s, w.registers, &text("registers"));
    fence(&mut s, w.disassembly, &text("disassembly"));
    fence(&mut s, w.cpu_traces, &text("cpu_traces"));
    fence(&mut s, w.sys, &text("sys"));
    let log = text("log");
    let (from, to) = words::oops_lines(r, &log);
    let part: String = log
        .lines()
        .skip(from)
        .take(to - from)
        .map(|l| format!("{l}\n"))
        .collect();
    fence(&mut s, w.log, &part);
    fence(&mut s, w.modules, &text("modules"));
    if !r.warnings.is_empty() {
        let _ = write!(s, "## {}\n\n", w.warnings);
        for x in &r.warnings {
            let _ = writeln!(s, "- {x}");
        }
        s.push('\n');
    }
    table(&mut s, w.dump, &words::dump(r, lang));
    let _ = writeln!(s, "_{} {}_", r.tool.name, r.tool.version);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_pipes_and_newlines() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn fenced_text_ends_with_a_newline_before_the_fence() {
        let mut s = String::new();
        fence(&mut s, "T", "x");
        assert_eq!(s, "## T\n\n```text\nx\n```\n\n");
        let mut e = String::new();
        fence(&mut e, "T", "");
        assert!(e.is_empty());
    }
}

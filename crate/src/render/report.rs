//! `crashlens report` text: the verdict block, the summary, the crashing backtrace and the
//! faulting function.

use super::Lang;
use crate::report::{CpuTrace, Report};
use std::fmt::Write;

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "(unknown)".into())
}

/// Wraps a paragraph at `width` columns with an indent (CJK text wraps by characters).
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    let mut cols = 0;
    let push_line = |out: &mut String, line: &mut String| {
        out.push_str(indent);
        out.push_str(line.trim_end());
        out.push('\n');
        line.clear();
    };
    for word in text.split_inclusive(' ') {
        let w = word
            .chars()
            .map(|c| if (c as u32) > 0x2e80 { 2 } else { 1 })
            .sum::<usize>();
        let wide = word.chars().any(|c| (c as u32) > 0x2e80);
        if cols + w > width && cols > 0 && !wide {
            push_line(&mut out, &mut line);
            cols = 0;
        }
        if wide || w > width {
            // Chinese (or a long run without spaces): fill the line and break between Chinese
            // characters, so a Latin word in a Chinese sentence neither ends its line early nor
            // is cut in two (unless it is longer than a line).
            for tok in wrap_tokens(word) {
                let tw: usize = tok
                    .chars()
                    .map(|c| if (c as u32) > 0x2e80 { 2 } else { 1 })
                    .sum();
                if cols + tw > width && cols > 0 {
                    push_line(&mut out, &mut line);
                    cols = 0;
                }
                if tw > width {
                    for c in tok.chars() {
                        let cw = if (c as u32) > 0x2e80 { 2 } else { 1 };
                        if cols + cw > width {
                            push_line(&mut out, &mut line);
                            cols = 0;
                        }
                        line.push(c);
                        cols += cw;
                    }
                    continue;
                }
                line.push_str(tok);
                cols += tw;
            }
            continue;
        }
        line.push_str(word);
        cols += w;
    }
    if !line.trim().is_empty() {
        push_line(&mut out, &mut line);
    }
    out
}

/// A word cut where a line may break: before and after each Chinese character; a run of other
/// characters stays whole.
fn wrap_tokens(word: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in word.char_indices() {
        if (c as u32) > 0x2e80 {
            if start < i {
                out.push(&word[start..i]);
            }
            out.push(&word[i..i + c.len_utf8()]);
            start = i + c.len_utf8();
        }
    }
    if start < word.len() {
        out.push(&word[start..]);
    }
    out
}

/// The verdict first (culprit, narrative, evidence, next steps), then the summary, the
/// backtrace and the faulting function. `lang` is `en` or `zh`.
pub fn render(r: &Report, lang: &str) -> String {
    let mut s = verdict(r, lang);
    finding(&mut s, r, Lang::parse(lang));
    summary(&mut s, r);
    if let Some(t) = crashing_trace(r) {
        let _ = writeln!(s, "\n{}", super::bt::render(t));
    }
    s.push_str(&disassembly(r));
    s
}

/// The crash class's own section (the hung tasks, the lockup, the memory...), titled.
fn finding(s: &mut String, r: &Report, lang: Lang) {
    if let Some(f) = r.verdict.as_ref().and_then(|v| v.finding.as_ref()) {
        let t = super::classes::section(f, lang);
        if !t.is_empty() {
            let title = super::classes::title(f, lang);
            let title = if lang == Lang::En {
                title.to_uppercase()
            } else {
                title.to_string()
            };
            let _ = write!(s, "\n{title}\n{t}");
        }
    }
}

/// The trace of the crashing CPU (the one the backtrace was taken from).
pub fn crashing_trace(r: &Report) -> Option<&CpuTrace> {
    r.cpu_traces
        .iter()
        .find(|t| t.frames == r.backtrace && !t.frames.is_empty())
}

/// The faulting function, the faulting instruction marked `==>`.
pub fn disassembly(r: &Report) -> String {
    let mut s = String::new();
    for l in &r.disassembly {
        let mark = if l.faulting { "==>" } else { "   " };
        let loc = l.location.as_deref().unwrap_or("");
        let _ = writeln!(s, "{mark} {:#x} <{loc}>:\t{}", l.address, l.text);
    }
    s
}

/// The verdict block: culprit, crash class and title, bucket, narrative, evidence, next steps.
pub fn verdict(r: &Report, lang: &str) -> String {
    verdict_parts(r, lang).into_iter().map(|(_, t)| t).collect()
}

/// [`verdict`] in its parts, each named by the page's `data-field` for it (`partial`, `culprit`,
/// `verdict.headline`, `bucket`, `narrative`, `evidence`, `next_steps`, `end`); joined they
/// are the verdict text. A partial report says so first.
pub fn verdict_parts(r: &Report, lang: &str) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    let l = Lang::parse(lang);
    let zh = l == Lang::Zh;
    if let Some(p) = super::verdict::partial_line(r, l) {
        v.push(("partial", format!("{}\n", wrap(&p, 96, ""))));
    }
    if let Some(c) = r.culprit() {
        let m = c
            .module
            .as_ref()
            .map(|m| format!(" [{m}]"))
            .unwrap_or_default();
        let conf = if zh {
            super::verdict::confidence_zh(c.confidence)
        } else {
            c.confidence.as_str()
        };
        v.push((
            "culprit",
            format!(
                "{}{}{m}  ({} {conf})\n",
                if zh {
                    "可能的元凶: "
                } else {
                    "PROBABLY CAUSED BY: "
                },
                c.function,
                if zh { "置信度" } else { "confidence" }
            ),
        ));
    }
    if let Some(f) = &r.fault {
        let title = match (r.panic.title.as_deref().or(r.panic.message.as_deref()), zh) {
            (Some(t), _) => t,
            (None, false) => "(no crash report read)",
            (None, true) => "（没有读到崩溃报告）",
        };
        v.push((
            "verdict.headline",
            format!(
                "{}{} — {title}\n",
                if zh { "崩溃类型: " } else { "CRASH: " },
                f.class
            ),
        ));
    }
    if let Some(b) = &r.bucket {
        v.push(("bucket", format!("BUCKET: {b}\n")));
    }
    let Some(w) = super::verdict::words(r) else {
        return v;
    };
    v.push((
        "narrative",
        format!("\n{}", wrap(w.narrative.get(l), 96, "")),
    ));
    if !w.evidence.is_empty() {
        let mut s = format!("\n{}\n", if zh { "证据链:" } else { "EVIDENCE:" });
        for (source, e) in &w.evidence {
            s.push_str(
                &wrap(&format!("[{source}] {}", e.get(l)), 92, "  - ")
                    .replacen("\n  - ", "\n    ", 64),
            );
        }
        v.push(("evidence", s));
    }
    if !w.next_steps.is_empty() {
        let mut s = format!("\n{}\n", if zh { "下一步:" } else { "NEXT STEPS:" });
        for st in &w.next_steps {
            s.push_str(&wrap(st.get(l), 92, "  - ").replacen("\n  - ", "\n    ", 64));
        }
        v.push(("next_steps", s));
    }
    v.push(("end", "\n".to_string()));
    v
}

/// PANIC / TASK / RIP lines and the kernel's identity.
fn summary(s: &mut String, r: &Report) {
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
    let _ = writeln!(
        s,
        "    DUMPFILE: {} ({})",
        r.dump.file_name.as_deref().unwrap_or("-"),
        r.dump.container.description
    );
    if let Some(y) = &r.sys {
        let _ = writeln!(s, "      UPTIME: {}", opt(&y.uptime));
        let _ = writeln!(s, "       TASKS: {}", opt(&y.tasks));
        let _ = writeln!(s, "      MEMORY: {}", opt(&y.memory));
    }
    if !r.modules.is_empty() {
        let mods: Vec<String> = r
            .modules
            .iter()
            .map(|m| {
                if m.taint.is_empty() {
                    m.name.clone()
                } else {
                    format!("{}({})", m.name, m.taint)
                }
            })
            .collect();
        let _ = writeln!(s, "     MODULES: {}", mods.join(" "));
    }
    let _ = writeln!(s, "  LOG LINES: {}", r.log.len());
    for c in &r.dump.container.corrections {
        let _ = writeln!(s, "CORRECTED: {c}");
    }
    for w in &r.warnings {
        let _ = writeln!(s, "WARNING: {w}");
    }
}

//! `crashlens report --format html`: one self-contained HTML file. Nothing runs and nothing is
//! loaded (CSP `default-src 'none'; style-src 'unsafe-inline'`); the crash-like views are the
//! CLI's text, escaped; the report's JSON is embedded as `application/json` data.

use super::words::{self, Row};
use super::{section_text, sections, Lang};
use crate::report::Report;
use std::fmt::Write;

const CSS: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:0;padding:20px;background:#fff;color:#1d1f21}
@media (prefers-color-scheme:dark){body{background:#16181b;color:#e4e6e8}section,details{background:#1e2125!important;border-color:#363a40!important}pre{background:#25292e!important}.log-line.oops{background:#4a2220!important}}
main{max-width:1100px;margin:0 auto}
pre,code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
section,details{border:1px solid #d9dbde;border-radius:8px;margin:10px 0;padding:10px 14px;background:#fff}
summary{cursor:pointer;font-weight:600}
h2{font-size:16px;margin:0 0 8px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:0} dt{opacity:.7} dd{margin:0;word-break:break-word}
pre{background:#f0f1f3;padding:8px 10px;border-radius:6px;overflow-x:auto}
.log-line{display:block;white-space:pre} .log-line.oops{background:#fde2e0}
.verdict{border-left:5px solid #b3261e} .error{color:#b3261e}";

/// `&`, `<`, `>`, `"` and `'` as entities.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn kv(s: &mut String, id: &str, title: &str, rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        s,
        "<section data-section=\"{id}\"><h2>{}</h2><dl class=\"kv\">",
        escape(title)
    );
    for (key, label, v) in rows {
        let _ = write!(
            s,
            "<dt>{}</dt><dd data-field=\"{key}\">{}</dd>",
            escape(label),
            escape(v)
        );
    }
    s.push_str("</dl></section>\n");
}

/// A section of crash-like text: `body` is already escaped HTML whose text is the CLI's.
fn block(s: &mut String, id: &str, title: &str, body: &str) {
    if body.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "<details open data-section=\"{id}\"><summary>{}</summary><pre class=\"block\" data-field=\"{id}\">{body}</pre></details>",
        escape(title)
    );
}

/// `text` as one `span.log-line` per line (its newline inside), the lines `marked` says with
/// `.oops`.
fn lines(text: &str, marked: impl Fn(usize, &str) -> bool) -> String {
    let mut o = String::new();
    for (i, l) in text.split_inclusive('\n').enumerate() {
        let cls = if marked(i, l) {
            "log-line oops"
        } else {
            "log-line"
        };
        let _ = write!(o, "<span class=\"{cls}\">{}</span>", escape(l));
    }
    o
}

/// The log text, the oops's lines (`oops.start_line..oops.end_line`) marked.
fn log_lines(r: &Report, text: &str) -> String {
    let (from, to) = match &r.oops {
        Some(o) => (o.start_line, o.end_line),
        None => (0, 0),
    };
    lines(text, |i, _| (from..to).contains(&i))
}

/// The report as one HTML document in `lang`.
pub fn render(r: &Report, lang: Lang) -> String {
    let w = words::words(lang);
    let secs = sections(r, lang);
    let text = |id: &str| section_text(&secs, id);
    let name = escape(r.dump.file_name.as_deref().unwrap_or("vmcore"));
    let html_lang = if lang == Lang::Zh { "zh-CN" } else { "en" };
    let mut s = format!(
        "<!doctype html>\n<html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>crashlens: {name}</title><style>{CSS}</style></head><body><main>\n<h1>crashlens: {name}</h1>\n"
    );
    if r.partial {
        let _ = writeln!(
            s,
            "<p class=\"error\" role=\"note\">{}</p>",
            escape(w.partial)
        );
    }
    match secs.iter().find(|x| x.id == "verdict") {
        Some(v) => {
            let body: String = v
                .parts
                .iter()
                .map(|p| {
                    format!(
                        "<span data-field=\"{}\">{}</span>",
                        p.field,
                        escape(&p.text)
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "<section data-section=\"verdict\" class=\"verdict\"><h2>{}</h2><pre class=\"block\" data-field=\"verdict\">{body}</pre></section>",
                escape(w.verdict)
            );
        }
        None => {
            let _ = writeln!(s, "<p data-field=\"no-panic\">{}</p>", escape(w.no_panic));
        }
    }
    if let Some(f) = r.verdict.as_ref().and_then(|v| v.finding.as_ref()) {
        let t = text("finding");
        if !t.is_empty() {
            block(
                &mut s,
                "finding",
                super::classes::title(f, lang),
                &escape(&t),
            );
        }
    }
    kv(&mut s, "summary", w.summary, &words::summary(r, lang));
    kv(&mut s, "fault", w.fault, &words::fault(r, lang));
    block(
        &mut s,
        "backtrace",
        w.backtrace,
        &escape(&text("backtrace")),
    );
    block(
        &mut s,
        "registers",
        w.registers,
        &escape(&text("registers")),
    );
    // The faulting instruction (`==>`) marked.
    let dis = lines(&text("disassembly"), |_, l| l.starts_with("==>"));
    block(&mut s, "disassembly", w.disassembly, &dis);
    block(
        &mut s,
        "cpu_traces",
        w.cpu_traces,
        &escape(&text("cpu_traces")),
    );
    block(&mut s, "sys", w.sys, &escape(&text("sys")));
    block(&mut s, "log", w.log, &log_lines(r, &text("log")));
    block(&mut s, "modules", w.modules, &escape(&text("modules")));
    if !r.warnings.is_empty() {
        let _ = write!(
            s,
            "<section data-section=\"warnings\"><h2>{}</h2><ul>",
            escape(w.warnings)
        );
        for x in &r.warnings {
            let _ = write!(s, "<li>{}</li>", escape(x));
        }
        s.push_str("</ul></section>\n");
    }
    kv(&mut s, "dump", w.dump, &words::dump(r, lang));
    let _ = writeln!(
        s,
        "<p>{} {}</p>",
        escape(&r.tool.name),
        escape(&r.tool.version)
    );
    // `<` escaped inside the JSON keeps `</script>` in a string from ending the element.
    let json = serde_json::to_string(r)
        .unwrap_or_default()
        .replace('<', "\\u003c");
    let _ = writeln!(
        s,
        "</main><script type=\"application/json\" id=\"crashlens-report\">{json}</script></body></html>"
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}

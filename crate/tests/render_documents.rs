//! The page's text sections and the Markdown / HTML documents equal what the CLI prints, on the
//! real fixtures: `render::sections` of the analysed report against `crashlens bt`, `bt -a`,
//! `sys`, `log`, `mod` and `report` (which read the dump through their own code paths).

mod common;

use crashlens::render::{self, Format, Lang};
use crashlens::report::build::analyze_many;
use crashlens::source::FileSource;
use std::process::Command;

const FIXTURES: &[&str] = &[
    "linux-6.1-cloud-null",
    "linux-6.12-cloud-bug",
    "linux-3.10-el7-lkdtm",
];

fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_crashlens"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "crashlens {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The dump of a fixture: its ELF, or (for the kdump fixture) the file the fixture holds.
fn dump(name: &str) -> Option<std::path::PathBuf> {
    if let Some(p) = common::fixture_elf(name) {
        return Some(p);
    }
    let dir = common::fixtures()?.join(name);
    std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmcore") && !n.ends_with(".zst"))
        })
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The text of `<pre ... data-field="id">…</pre>` in the HTML, tags dropped, entities decoded.
fn pre_text(html: &str, id: &str) -> Option<String> {
    let open = format!("data-field=\"{id}\">");
    let at = html.find(&format!("<pre class=\"block\" {open}"))?;
    let body = &html[at..];
    let body = &body[body.find(&open)? + open.len()..body.find("</pre>")?];
    let mut plain = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    Some(unescape(&plain))
}

#[test]
fn sections_and_documents_equal_the_cli() {
    let mut checked = 0;
    for name in FIXTURES {
        let Some(path) = dump(name) else {
            eprintln!("note: fixture {name} absent; skipped");
            continue;
        };
        let p = path.to_str().unwrap();
        let src: Box<dyn crashlens::source::ReadAt> = Box::new(FileSource::open(&path).unwrap());
        let opts = crashlens::report::build::Options {
            file_name: Some(p.to_string()),
            ..Default::default()
        };
        let r = analyze_many(vec![src], &opts, &mut |_| {}).unwrap();
        let (bt, bt_all, sys, log) = (
            cli(&["bt", p]),
            cli(&["bt", "-a", p]),
            cli(&["sys", p]),
            cli(&["log", p]),
        );
        let modules = cli(&["mod", p]);
        for lang in [Lang::En, Lang::Zh] {
            let code = lang.code();
            let secs = render::sections(&r, lang);
            let text = |id: &str| render::section_text(&secs, id);
            let report = cli(&["report", p, "--lang", code]);
            assert!(
                !text("verdict").is_empty() || r.culprit().is_none(),
                "{name}"
            );
            assert!(
                report.starts_with(&text("verdict")),
                "{name} {code}: verdict"
            );
            assert!(
                report.ends_with(&text("disassembly")),
                "{name}: disassembly"
            );
            assert_eq!(text("backtrace"), bt, "{name}: bt");
            assert!(bt.contains(&text("registers")), "{name}: registers");
            assert_eq!(text("cpu_traces"), bt_all, "{name}: bt -a");
            assert_eq!(text("sys"), sys, "{name}: sys");
            assert_eq!(text("log"), log, "{name}: log");
            if !r.modules.is_empty() {
                assert_eq!(text("modules"), modules, "{name}: mod");
            }
            let v = secs.iter().find(|s| s.id == "verdict");
            if let Some(v) = v {
                let joined: String = v.parts.iter().map(|p| p.text.as_str()).collect();
                assert_eq!(joined, v.text, "{name}: the verdict's parts make its text");
            }

            let md = cli(&["report", p, "--format", "md", "--lang", code]);
            assert_eq!(md, render::render(&r, Format::Markdown, lang));
            assert!(md.starts_with("# crashlens: "));
            for id in ["verdict", "backtrace", "cpu_traces", "sys", "modules"] {
                assert!(md.contains(&text(id)), "{name} {code}: Markdown holds {id}");
            }
            if let Some(o) = &r.oops {
                let first = text("log").lines().nth(o.start_line).unwrap().to_string();
                assert!(
                    md.contains(&first),
                    "{name}: Markdown holds the oops's first line"
                );
            }
            let html = cli(&["report", p, "--format", "html", "--lang", code]);
            assert!(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""));
            assert_eq!(
                html.matches("<script").count(),
                1,
                "{name}: only the JSON data element"
            );
            assert!(html.contains("<script type=\"application/json\" id=\"crashlens-report\">"));
            for id in [
                "verdict",
                "backtrace",
                "registers",
                "disassembly",
                "cpu_traces",
                "sys",
                "log",
                "modules",
            ] {
                if !text(id).is_empty() {
                    assert_eq!(
                        pre_text(&html, id).as_deref(),
                        Some(text(id).as_str()),
                        "{name} {code}: HTML {id}"
                    );
                }
            }
            if r.disassembly.iter().any(|l| l.faulting) {
                assert!(
                    html.contains("<span class=\"log-line oops\">==&gt; "),
                    "{name}: the faulting instruction is marked in the HTML"
                );
            }
            let json = &html[html.find("id=\"crashlens-report\">").unwrap() + 22..];
            let json = &json[..json.find("</script>").unwrap()];
            let back: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(
                back["kernel"]["release"],
                r.kernel.release.as_deref().unwrap()
            );
        }
        checked += 1;
    }
    eprintln!("{checked} fixtures checked");
}

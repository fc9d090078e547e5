//! Every text crashlens shows, from the typed report model: crash-like text (`bt`, `sys`, `log`,
//! `mod`, the verdict block), Markdown and self-contained HTML, in English and Simplified
//! Chinese. The CLI prints these; the page asks the wasm module for the same strings, so what the
//! page shows equals what the CLI prints, byte for byte.

pub mod bt;
pub mod log;
pub mod modules;
pub mod report;
pub mod sys;

use crate::report::Report;

/// The language of the words (the crash-like tables stay as crash prints them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// `en` / `zh` (anything else is English).
    pub fn parse(s: &str) -> Lang {
        match s {
            "zh" | "zh-CN" | "zh-Hans" => Lang::Zh,
            _ => Lang::En,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

/// The whole report as one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `crashlens report` text.
    Text,
    Markdown,
    /// One self-contained HTML file (no script runs, nothing loaded).
    Html,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "text" | "txt" => Some(Format::Text),
            "markdown" | "md" => Some(Format::Markdown),
            "html" => Some(Format::Html),
            _ => None,
        }
    }
}

/// The whole report in `format` and `lang`.
pub fn render(r: &Report, format: Format, lang: Lang) -> String {
    match format {
        Format::Text => report::render(r, lang.code()),
        // Markdown and HTML are drawn by the page today; until they are rendered here, the text.
        Format::Markdown | Format::Html => report::render(r, lang.code()),
    }
}

/// One text view of the report, as the page shows it in a section and the CLI prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Section {
    /// `backtrace`, `cpu_traces`, `disassembly`, `sys`, `log`, `modules`, `verdict`.
    pub id: &'static str,
    pub text: String,
}

/// The text views of the report the page shows (what is not in the report is left out).
pub fn sections(r: &Report, lang: Lang) -> Vec<Section> {
    let mut v = Vec::new();
    let mut add = |id: &'static str, text: String| {
        if !text.is_empty() {
            v.push(Section { id, text });
        }
    };
    add("verdict", report::verdict(r, lang.code()));
    if let Some(t) = report::crashing_trace(r) {
        add("backtrace", bt::render(t));
    }
    add(
        "cpu_traces",
        r.cpu_traces
            .iter()
            .map(bt::render)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    add("disassembly", report::disassembly(r));
    if let Some(s) = &r.sys {
        add("sys", sys::render(s, r.dump.file_name.as_deref()));
    }
    add("log", log::render(&r.log));
    v
}

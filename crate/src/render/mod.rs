//! Every text crashlens shows, from the typed report model: crash-like text (`bt`, `sys`, `log`,
//! `mod`, the verdict block), Markdown and self-contained HTML, in English and Simplified
//! Chinese. The CLI prints these; the page asks the wasm module for the same strings, so what the
//! page shows equals what the CLI prints, byte for byte.

pub mod bt;
pub mod classes;
pub mod html;
pub mod json;
pub mod log;
pub mod markdown;
pub mod modules;
pub mod oops;
pub mod ps;
pub mod report;
pub mod sys;
pub mod verdict;
pub mod words;

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
        Format::Markdown => markdown::render(r, lang),
        Format::Html => html::render(r, lang),
    }
}

/// A named piece of a section's text (the page marks it with `data-field`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Part {
    pub field: &'static str,
    pub text: String,
}

/// One text view of the report, as the page shows it in a section and the CLI prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Section {
    /// `verdict`, `finding` (a crash class's own section), `backtrace`, `registers`, `disassembly`, `cpu_traces`, `sys`, `log`, `modules`.
    pub id: &'static str,
    pub text: String,
    /// The text in named pieces (the verdict's); empty for the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
}

/// The text views of the report the page shows (what is not in the report is left out), each
/// equal to what a CLI command prints: `verdict` is how `crashlens report` begins, `backtrace`
/// is `crashlens bt`, `registers` the exception frame's block in it, `disassembly` how
/// `crashlens report` ends, `cpu_traces` is `crashlens bt -a`, `sys` `crashlens sys`, `log`
/// `crashlens log` and `modules` `crashlens mod`.
pub fn sections(r: &Report, lang: Lang) -> Vec<Section> {
    let mut v = Vec::new();
    let mut add = |id: &'static str, text: String, parts: Vec<Part>| {
        if !text.is_empty() {
            v.push(Section { id, text, parts });
        }
    };
    let parts: Vec<Part> = report::verdict_parts(r, lang.code())
        .into_iter()
        .map(|(field, text)| Part { field, text })
        .collect();
    add(
        "verdict",
        parts.iter().map(|p| p.text.as_str()).collect(),
        parts,
    );
    if let Some(f) = r.verdict.as_ref().and_then(|v| v.finding.as_ref()) {
        add("finding", classes::section(f, lang), vec![]);
    }
    add("backtrace", bt::crashing_text(r), vec![]);
    add("registers", bt::exception_regs_text(r), vec![]);
    add("disassembly", report::disassembly(r), vec![]);
    add("cpu_traces", bt::all_text(r), vec![]);
    if let Some(s) = &r.sys {
        add("sys", sys::text(s, r.dump.file_name.as_deref()), vec![]);
    }
    add("log", log::render(&r.log), vec![]);
    if !r.modules.is_empty() {
        add("modules", modules::render(&r.modules), vec![]);
    }
    v
}

/// The section `id` of [`sections`], or an empty string.
pub fn section_text(sections: &[Section], id: &str) -> String {
    sections
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

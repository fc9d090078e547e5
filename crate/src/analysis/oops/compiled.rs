//! The rules compiled: each group's line filters once, its formats on first use. Joins the rule
//! shapes (`rules.rs`), the tables (`table.rs`) and the frame rules (`frames.rs`), which know
//! nothing of each other's compiled form.

use super::frames::CStack;
use super::rules::{re, Format, Group, Part};
use regex::Regex;
use std::sync::OnceLock;

pub struct CFormat {
    pub title: Regex,
    pub report: Option<Regex>,
    pub src: &'static Format,
    pub stack: Option<CStack>,
}

/// A group with its line filters compiled; its formats are compiled on first use (a log
/// usually holds one or two kinds of report, and compiling all rules costs more than parsing).
pub struct CGroup {
    pub header: &'static str,
    suppress: OnceLock<Vec<Regex>>,
    src: &'static Group,
    formats: OnceLock<Vec<CFormat>>,
}

impl CGroup {
    /// The group's suppressions, compiled on first use (only for a line holding its header).
    pub fn suppress(&self) -> &[Regex] {
        self.suppress
            .get_or_init(|| self.src.suppress.iter().map(|s| re(s)).collect())
    }

    pub fn formats(&self) -> &[CFormat] {
        self.formats.get_or_init(|| {
            self.src
                .formats
                .iter()
                .map(|f| CFormat {
                    title: re(f.title),
                    report: f.report.map(re),
                    src: f,
                    stack: f.stack.map(|s| CStack {
                        parts: compile_parts(s.parts),
                        parts2: compile_parts(s.parts2),
                        parts3: compile_parts(s.parts3),
                        skip: (!s.skip.is_empty()).then(|| re(&s.skip.join("|"))),
                        extractor: s.extractor,
                    }),
                })
                .collect()
        })
    }
}

fn compile_parts(p: &[Part]) -> Vec<Option<Regex>> {
    p.iter()
        .map(|p| match p {
            Part::Re(s) => Some(re(s)),
            Part::Trace => None,
        })
        .collect()
}

/// All groups (line filters compiled on first use).
pub fn groups() -> &'static [CGroup] {
    static G: OnceLock<Vec<CGroup>> = OnceLock::new();
    G.get_or_init(|| {
        super::table::GROUPS
            .iter()
            .map(|g| CGroup {
                header: g.header,
                suppress: OnceLock::new(),
                src: g,
                formats: OnceLock::new(),
            })
            .collect()
    })
}

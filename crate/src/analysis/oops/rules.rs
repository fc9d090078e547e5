//! The shape of the report-recognition rules (the tables in `table*.rs` are data of these types)
//! and the pattern templates. Their compiled form is in `compiled.rs`.
//!
//! A [`Group`] is one kind of report, recognised by a literal header somewhere in a console line
//! (`BUG:`, `WARNING:`, `general protection fault`, ...). Its [`Format`]s are tried against the
//! report text; the one whose title pattern matches earliest decides the title. Patterns use a
//! few templates expanded by [`expand`]: `{{ADDR}}`, `{{PC}}`, `{{FUNC}}`, `{{SRC}}`, `{{TASK}}`.
//! Title templates (`fmt`) use `{N}`: the N-th capture of the matching pattern, then the guilty
//! frames found by the stack parts, numbered on from there.

use regex::Regex;

/// One step of a stack walk over the report lines.
#[derive(Clone, Copy)]
pub enum Part {
    /// Skip lines until this pattern matches; its captures are frames.
    Re(&'static str),
    /// Collect frames until the next stack start (or the following part's pattern).
    Trace,
}

/// How the guilty frame is chosen among the collected, non-skipped frames.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Extractor {
    /// The first frame.
    First,
    /// Stalls: the frame just above the first "entry point" frame (syscall, workqueue, timer...).
    Stall,
    /// Hung tasks: an anchor (rtnl_lock, synchronize_rcu...) or the first non-waiting frame.
    Hang,
}

#[derive(Clone, Copy)]
pub struct StackSpec {
    pub parts: &'static [Part],
    /// Tried when `parts` finds nothing.
    pub parts2: &'static [Part],
    /// Tried when `parts2` finds nothing either.
    pub parts3: &'static [Part],
    /// Extra skip patterns (on top of the common infrastructure list).
    pub skip: &'static [&'static str],
    pub extractor: Extractor,
}

pub struct Format {
    pub title: &'static str,
    pub report: Option<&'static str>,
    pub fmt: &'static str,
    pub alt: &'static [&'static str],
    pub stack: Option<StackSpec>,
    pub no_stack_trace: bool,
    pub corrupted: bool,
}

pub struct Group {
    /// Literal text that marks a line as the start of this kind of report.
    pub header: &'static str,
    pub formats: &'static [Format],
    /// Lines holding the header that are not reports.
    pub suppress: &'static [&'static str],
}

/// Defaults for table entries (`..F`).
pub const F: Format = Format {
    title: "",
    report: None,
    fmt: "",
    alt: &[],
    stack: None,
    no_stack_trace: false,
    corrupted: false,
};

pub const fn stack(parts: &'static [Part], skip: &'static [&'static str]) -> Option<StackSpec> {
    Some(StackSpec {
        parts,
        parts2: &[],
        parts3: &[],
        skip,
        extractor: Extractor::First,
    })
}

pub const fn stack_x(
    parts: &'static [Part],
    skip: &'static [&'static str],
    extractor: Extractor,
) -> Option<StackSpec> {
    Some(StackSpec {
        parts,
        parts2: &[],
        parts3: &[],
        skip,
        extractor,
    })
}

/// The RIP/IP/PC line of a register dump (x86 `RIP: 0010:f+0x1/0x2`, old `IP: [<..>] f+..`, arm `pc :`).
#[macro_export]
#[doc(hidden)]
macro_rules! oops_rip_frame {
    () => {
        r"(?:IP|NIP|pc |PC is at):? (?:(?:[0-9]+:)?(?:{{PC}} +){0,2}{{FUNC}}|(?:[0-9]+:)?0x[0-9a-f]+|(?:[0-9]+:)?{{PC}} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\))"
    };
}
pub const RIP: Part = Part::Re(oops_rip_frame!());
pub const CALL_TRACE: Part = Part::Re(r"(?:Call (?:T|t)race:)|(?:Backtrace:)");

/// The stack spec used by WARNING reports: from the RIP line (or an interrupt marker), else from
/// the Call Trace.
pub const fn warning_stack(skip: &'static [&'static str]) -> Option<StackSpec> {
    Some(StackSpec {
        parts: &[
            Part::Re(concat!(
                "(?:",
                oops_rip_frame!(),
                r"|--- interrupt: [0-9]+ at {{FUNC}})"
            )),
            Part::Trace,
        ],
        parts2: &[CALL_TRACE, Part::Trace],
        parts3: &[],
        skip,
        extractor: Extractor::First,
    })
}

/// Expands the pattern templates. `<` and `>` are plain characters here (in this regex dialect
/// `\<`/`\>` would be word boundaries); `(?i)` is applied to ASCII letters only.
pub fn expand(re: &str) -> String {
    let re = match re.strip_prefix("(?i)") {
        Some(r) => ascii_case_insensitive(r),
        None => re.to_string(),
    };
    re.replace("{{ADDR}}", "0x[0-9a-f]+")
        .replace("{{PC}}", r"\[<?(?:0x)?[0-9a-f]+>?\]")
        .replace("{{FUNC}}", r"([a-zA-Z0-9_]+)(?:\.|\+)")
        .replace("{{SRC}}", r"([a-zA-Z0-9-_/.]+\.[a-z]+:[0-9]+)")
        .replace("{{TASK}}", r"[\s\S]{0,100}?")
}

/// `ab` -> `[aA][bB]` outside escapes and classes (patterns with `(?i)` are plain words).
fn ascii_case_insensitive(p: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    let mut class = false;
    for c in p.chars() {
        if esc {
            out.push(c);
            esc = false;
            continue;
        }
        match c {
            '\\' => esc = true,
            '[' => class = true,
            ']' => class = false,
            _ => {}
        }
        if c.is_ascii_alphabetic() && !class {
            out.push('[');
            out.push(c.to_ascii_lowercase());
            out.push(c.to_ascii_uppercase());
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

/// Compiles a rule pattern; the tables are fixed, so a bad pattern is a programming error that
/// the unit tests catch (every pattern is compiled there).
pub fn re(p: &str) -> Regex {
    Regex::new(&expand(p)).unwrap_or_else(|e| panic!("bad oops pattern {p:?}: {e}"))
}

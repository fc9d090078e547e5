//! The `crashlens` command line: argument parsing and dispatch; each command in its own file.

mod bt;
mod console;
mod dis;
mod info;
mod log;
pub mod modules;
mod oops;
mod ps;
mod report;
mod sym;
mod sys;

use crate::error::Error;
use crate::report::build::{Options, Session};
use crate::source::FileSource;

pub const USAGE: &str = "usage: crashlens COMMAND VMCORE [options]

commands:
  report VMCORE [--format text|json|md|html]   crash summary and diagnosis (md: Markdown,
                                       html: one self-contained file, nothing runs in it)
  info   VMCORE [--format text|json]   the dump container: format, codecs, pages, corrections
  (VMCORE may be several files: the parts of a split dump, makedumpfile --split)
  bt     VMCORE [-a] [--format text|json]   backtrace of the crashing task (every CPU with -a)
  bt     VMCORE -p PID | --all-tasks [--format text|json]   backtrace of a task / of every task
  ps     VMCORE [--format text|json]   every task (like crash's ps; '>' marks the running ones)
  log    VMCORE [--format text|json]   the kernel log (like makedumpfile --dump-dmesg)
  mod    VMCORE [--format text|json]   loaded modules (like crash's mod)
  sys    VMCORE [--format text|json]   system summary (like crash's sys)
  sym    VMCORE ADDR|NAME [--format text|json]   address -> symbol+off [module], name -> address
  dis    VMCORE SYMBOL|ADDR [COUNT] [-l] [-r] [--debuginfo FILE]   disassemble like crash's dis:
                                       a function whole, COUNT instructions (default 1) at an
                                       address or sym+off, -r: from the function start to it,
                                       -l: source lines (from the debuginfo given)
  oops   FILE [--format text|json] [--all]  crash reports in a console log or a dump's log
  struct VMCORE TYPE [ADDR|SYMBOL]     a structure's members and values at ADDR (from BTF, or
                                       DWARF of --debuginfo); without ADDR its layout, offsets
  rd     VMCORE [-s] ADDR|SYMBOL [COUNT]   COUNT 8-byte words (default 1) in hex and ASCII;
                                       -s: kernel addresses as symbols (like crash's rd -s)
  p      VMCORE SYMBOL                 a variable's value (typed where BTF/DWARF has it)
  task   VMCORE [PID]                  struct task_struct of a task (default: the crashing one)
  shell  VMCORE [--debuginfo FILE]     crash-style commands from stdin (`help` lists them):
                                       printf 'bt\nps\n' | crashlens shell VMCORE

options:
  --format text|json    output format (default text; report also md|html)
  --cache-mb N          page-cache budget in MiB (default 32)
  --lang en|zh          language of the verdict in text, md and html output (--zh for short)
  --debuginfo FILE      a vmlinux or module .ko with DWARF, or System.map (repeatable); checked
                        against the dump, adds source lines and field names
";

/// Parsed command line.
#[derive(Clone)]
pub struct Args {
    pub command: String,
    pub paths: Vec<String>,
    pub format: Format,
    /// `--format md|html` (`report` only): the whole report as one document.
    pub document: Option<crate::render::Format>,
    pub flags: Vec<String>,
    pub cache_mb: usize,
    pub lang: String,
    /// `--debuginfo FILE` (repeatable): vmlinux / .ko with DWARF, or System.map.
    pub debuginfo: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

fn parse(argv: Vec<String>) -> crate::error::Result<Args> {
    let mut it = argv.into_iter();
    let command = it
        .next()
        .ok_or_else(|| Error::Usage("no command given".into()))?;
    let mut a = Args {
        command,
        paths: vec![],
        format: Format::Text,
        document: None,
        flags: vec![],
        cache_mb: 32,
        lang: "en".into(),
        debuginfo: vec![],
    };
    while let Some(x) = it.next() {
        match x.as_str() {
            "--format" => {
                let f = it.next().unwrap_or_default();
                a.document = None;
                a.format = match f.as_str() {
                    "json" => Format::Json,
                    "text" => Format::Text,
                    "md" | "markdown" | "html" => {
                        a.document = crate::render::Format::parse(&f);
                        Format::Text
                    }
                    other => {
                        return Err(Error::Usage(format!(
                            "unknown format {other:?} (text, json, md or html)"
                        )))
                    }
                }
            }
            "--json" => a.format = Format::Json,
            "--zh" => a.lang = "zh".into(),
            "--lang" => {
                a.lang = match it.next().as_deref() {
                    Some(l @ ("en" | "zh")) => l.to_string(),
                    other => {
                        return Err(Error::Usage(format!(
                            "unknown language {:?} (en or zh)",
                            other.unwrap_or("")
                        )))
                    }
                }
            }
            "-p" | "--pid" => {
                let v = it
                    .next()
                    .filter(|v| v.parse::<i64>().is_ok())
                    .ok_or_else(|| Error::Usage("-p needs a PID".into()))?;
                a.flags.push(format!("--pid={v}"));
            }
            "--debuginfo" => a.debuginfo.push(it.next().ok_or_else(|| {
                Error::Usage("--debuginfo needs a file (vmlinux, .ko or System.map)".into())
            })?),
            "--cache-mb" => {
                a.cache_mb = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&v| v > 0)
                    .ok_or_else(|| Error::Usage("--cache-mb needs a positive number".into()))?
            }
            f if f.starts_with('-') && f.len() > 1 => a.flags.push(f.to_string()),
            _ => a.paths.push(x),
        }
    }
    Ok(a)
}

impl Args {
    /// Language of the verdict in text output: `en` (default) or `zh`.
    pub fn lang(&self) -> &'static str {
        if self.lang == "zh" {
            "zh"
        } else {
            "en"
        }
    }
}

/// Opens the dump named by the path arguments (several paths: the parts of a split dump).
pub fn open_session(a: &Args) -> Result<Session, Error> {
    let (srcs, opts) = open_files(a)?;
    let mut s = Session::open_many(srcs, &opts)?;
    s.load_debuginfo(&opts);
    Ok(s)
}

/// The dump files named on the command line, and the options to open them with.
pub fn open_files(a: &Args) -> Result<(Vec<Box<dyn crate::source::ReadAt>>, Options), Error> {
    let path = a
        .paths
        .first()
        .ok_or_else(|| Error::Io("no dump file given".into()))?;
    let mut srcs: Vec<Box<dyn crate::source::ReadAt>> = Vec::new();
    for p in &a.paths {
        let src = FileSource::open(std::path::Path::new(p))?;
        // A vmcore.tar.gz / .xz / .zst: say the command that unpacks it.
        if let Some(e) = crate::dump::archive::error(&crate::dump::archive::head_of(&src), p) {
            return Err(e);
        }
        srcs.push(Box::new(src));
    }
    let name = if a.paths.len() > 1 {
        a.paths.join(" ")
    } else {
        path.clone()
    };
    let mut debuginfo = Vec::new();
    for p in &a.debuginfo {
        debuginfo.push(crate::debuginfo::Extra {
            name: p.clone(),
            src: std::rc::Rc::new(FileSource::open(std::path::Path::new(p))?),
        });
    }
    Ok((
        srcs,
        Options {
            cache_budget: a.cache_mb << 20,
            file_name: Some(name),
            debuginfo,
        },
    ))
}

pub fn print_json<T: serde::Serialize>(v: &T) {
    let mut s = serde_json::to_string_pretty(v).expect("serialisable");
    s.push('\n');
    out(&s);
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly instead of panicking.
pub fn out(s: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes()).and_then(|_| o.flush());
}

/// Runs the CLI; returns the process exit code (2 for unusable input, one line on stderr).
pub fn main(argv: Vec<String>) -> i32 {
    if argv.is_empty() || argv.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return if argv.is_empty() { 2 } else { 0 };
    }
    let a = match parse(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("crashlens: {e}");
            return 2;
        }
    };
    if a.document.is_some() && a.command != "report" {
        eprintln!("crashlens: --format md|html is for `crashlens report` only");
        return 2;
    }
    let r = match a.command.as_str() {
        "report" => report::run(&a),
        "info" => info::run(&a),
        "log" => log::run(&a),
        "sym" => sym::run(&a),
        "bt" => bt::run(&a),
        "dis" => dis::run(&a),
        "mod" => modules::run(&a),
        "ps" => ps::run(&a),
        "oops" => oops::run(&a),
        "sys" => sys::run(&a),
        "struct" => console::run_one(&a, 1, "struct VMCORE [-o] TYPE [ADDR|SYMBOL]"),
        "rd" => console::run_one(&a, 1, "rd VMCORE [-s] ADDR|SYMBOL [COUNT]"),
        "p" => console::run_one(&a, 1, "p VMCORE SYMBOL"),
        "task" => console::run_one(&a, 0, "task VMCORE [PID]"),
        "shell" => console::shell(&a),
        other => {
            eprintln!("crashlens: unknown command {other:?}\n{USAGE}");
            return 2;
        }
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("crashlens: {e}");
            2
        }
    }
}

//! `crashlens dis VMCORE SYMBOL|ADDR [COUNT] [-l] [-r] [--debuginfo FILE]`: like crash's `dis`.

use super::{open_session, print_json, Args, Format};
use crate::error::{Error, Result};

pub fn run(a: &Args) -> Result<()> {
    if a.paths.len() < 2 {
        return Err(Error::Missing(
            "usage: crashlens dis VMCORE SYMBOL|ADDR [-l] [--debuginfo FILE]".into(),
        ));
    }
    // `dis VMCORE TARGET [COUNT]`
    let mut paths = a.paths.clone();
    let count = match paths.last().map(|c| c.parse::<usize>()) {
        Some(Ok(n)) if paths.len() >= 3 => {
            paths.pop();
            Some(n)
        }
        _ => None,
    };
    let target = paths.pop().unwrap_or_default();
    let dump = Args { paths, ..a.clone() };
    let s = open_session(&dump)?;
    for w in &s.debuginfo.warnings {
        eprintln!("crashlens: warning: {w}");
    }
    let with_lines = a.flags.iter().any(|f| f == "-l");
    if with_lines && s.debuginfo.files.is_empty() {
        eprintln!("crashlens: note: -l needs --debuginfo (a vmlinux or .ko with DWARF); no source lines shown");
    }
    let range = crate::report::dis::Range {
        count,
        reverse: a.flags.iter().any(|f| f == "-r"),
    };
    let d = crate::report::dis::dis(&s.kernel, &s.debuginfo, &target, range)?;
    match a.format {
        Format::Json => print_json(&d),
        Format::Text => super::out(&crate::report::dis::render(&d, with_lines)),
    }
    Ok(())
}

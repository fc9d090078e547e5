//! `crashlens dis VMCORE SYMBOL|ADDR [-l] [--debuginfo FILE]`: like crash's `dis [-l]`.

use super::{open_session, print_json, Args, Format};
use crate::error::{Error, Result};

pub fn run(a: &Args) -> Result<()> {
    if a.paths.len() < 2 {
        return Err(Error::Missing("usage: crashlens dis VMCORE SYMBOL|ADDR [-l] [--debuginfo FILE]".into()));
    }
    let target = a.paths[a.paths.len() - 1].clone();
    let dump = Args { paths: a.paths[..a.paths.len() - 1].to_vec(), ..a.clone() };
    let s = open_session(&dump)?;
    for w in &s.debuginfo.warnings {
        eprintln!("crashlens: warning: {w}");
    }
    let with_lines = a.flags.iter().any(|f| f == "-l");
    if with_lines && s.debuginfo.files.is_empty() {
        eprintln!("crashlens: note: -l needs --debuginfo (a vmlinux or .ko with DWARF); no source lines shown");
    }
    let d = crate::report::dis::dis(&s.kernel, &s.debuginfo, &target).map_err(Error::Missing)?;
    match a.format {
        Format::Json => print_json(&d),
        Format::Text => super::out(&crate::report::dis::render(&d, with_lines)),
    }
    Ok(())
}

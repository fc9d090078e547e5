//! `crashlens sys VMCORE`: a summary like crash's `sys`.

use super::{open_session, print_json, Args, Format};
use crate::error::Result;
use crate::kernel::sys;

pub fn run(a: &Args) -> Result<()> {
    let s = open_session(a)?;
    let info = sys::sys_info(&s.kernel);
    match a.format {
        Format::Json => print_json(&info),
        Format::Text => {
            let name = a.paths.first().map(|p| p.rsplit('/').next().unwrap_or(p));
            let mut t = crate::render::sys::render(&info, name);
            for w in s.kernel.symbols().warnings.iter().chain(&info.warnings) {
                t.push_str(&format!("     WARNING: {w}\n"));
            }
            super::out(&t);
        }
    }
    Ok(())
}

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
            // The symbol tables' warnings go to stderr (as `mod` does): stdout is the `sys`
            // text the page's System section shows too.
            for w in &s.kernel.symbols().warnings {
                eprintln!("crashlens: warning: {w}");
            }
            let name = a.paths.join(" ");
            super::out(&crate::render::sys::text(&info, Some(&name)));
        }
    }
    Ok(())
}

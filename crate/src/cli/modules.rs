//! `crashlens mod VMCORE`: the loaded modules, in crash's `mod` layout (sorted by the address of
//! `struct module`); symbols come from each module's kallsyms, hence crash's
//! `(not loaded)  [CONFIG_KALLSYMS]`. JSON adds the taint letters and symbol counts.

use super::{open_session, print_json, Args, Format};
use crate::error::Result;

pub fn run(a: &Args) -> Result<()> {
    let s = open_session(a)?;
    let t = s.kernel.symbols();
    for w in &t.warnings {
        eprintln!("crashlens: warning: {w}");
    }
    match a.format {
        Format::Json => print_json(&t.modules),
        Format::Text => {
            let rows: Vec<crate::report::ModuleInfo> = t.modules.iter().map(Into::into).collect();
            super::out(&crate::render::modules::render(&rows))
        }
    }
    Ok(())
}

//! `crashlens mod VMCORE`: the loaded modules, in crash's `mod` layout (sorted by the address of
//! `struct module`); symbols come from each module's kallsyms, hence crash's
//! `(not loaded)  [CONFIG_KALLSYMS]`. JSON adds the taint letters and symbol counts.

use super::{open_session, print_json, Args, Format};
use crate::error::Result;
use crate::kernel::Module;

/// crash's `mod` table.
pub fn render(mods: &[Module]) -> String {
    let mut v: Vec<&Module> = mods.iter().collect();
    v.sort_by_key(|m| m.addr);
    let w = v.iter().map(|m| m.name.len()).max().unwrap_or(4).max(4);
    let mut t = format!(
        "{:^16}  {:<w$}  {:^16}  {:>5}  OBJECT FILE\n",
        "MODULE", "NAME", "BASE", "SIZE"
    );
    for m in v {
        t.push_str(&format!(
            "{:016x}  {:<w$}  {:016x}  {:>5}  (not loaded)  [CONFIG_KALLSYMS]\n",
            m.addr, m.name, m.base, m.size
        ));
    }
    t
}

pub fn run(a: &Args) -> Result<()> {
    let s = open_session(a)?;
    let t = s.kernel.symbols();
    for w in &t.warnings {
        eprintln!("crashlens: warning: {w}");
    }
    match a.format {
        Format::Json => print_json(&t.modules),
        Format::Text => super::out(&render(&t.modules)),
    }
    Ok(())
}

//! crash's `mod` table.

use crate::report::ModuleInfo;

/// crash's `mod` table, sorted by the address of `struct module`.
pub fn render(mods: &[ModuleInfo]) -> String {
    let mut v: Vec<&ModuleInfo> = mods.iter().collect();
    crate::util::sort_by_key(&mut v, |m| m.addr);
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

//! The symbol table of the crashed kernel: vmlinux symbols from kallsyms in memory plus every
//! loaded module's own symbols. Lookups both ways (address -> `symbol+off/size [module]`,
//! name -> address).
//!
//! Sizes follow kallsyms (kernel/kallsyms.c `get_symbol_pos`, kernel/module/kallsyms.c
//! `find_kallsyms_symbol`): a symbol extends to the next symbol with a higher address, so what
//! `sym` prints is what the kernel itself prints in an oops.

use super::kallsyms::Kallsyms;
use serde::Serialize;
use std::cell::OnceCell;

/// Addresses below this are not kernel addresses (per-CPU offsets, absolute values).
const KERNEL_HALF: u64 = 0xffff_0000_0000_0000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Symbol {
    pub name: String,
    #[serde(with = "crate::util::hex")]
    pub addr: u64,
    /// Bytes to the next symbol (kallsyms' notion of size); 0 when unknown (the last symbol).
    pub size: u64,
    /// The `nm`-style type letter (`T`, `t`, `D`, `b`, ...).
    pub kind: char,
    /// The module it belongs to, `None` for vmlinux.
    pub module: Option<String>,
}

/// A loaded module as the kernel's `modules` list has it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Module {
    pub name: String,
    /// Address of `struct module`.
    #[serde(with = "crate::util::hex")]
    pub addr: u64,
    /// Start of its core text (`core_layout.base`, 6.4+: `mem[MOD_TEXT].base`).
    #[serde(with = "crate::util::hex")]
    pub base: u64,
    /// Bytes of its core layout (6.4+: sum of the core `mem[]` regions).
    pub size: u64,
    /// Taint letters (`OE` = out-of-tree, unsigned).
    pub taint: String,
    /// Number of symbols read from its `mod_kallsyms`.
    pub nsyms: usize,
    /// Regions [start, end) that belong to the module (text, data, ...), for address tests.
    #[serde(skip)]
    pub regions: Vec<(u64, u64)>,
}

impl Module {
    pub fn contains(&self, addr: u64) -> bool {
        self.regions.iter().any(|&(s, e)| addr >= s && addr < e)
    }
}

/// All symbols: vmlinux's from kallsyms kept compressed ([`Kallsyms`], names expanded for the
/// symbols looked up), the others (modules', a System.map's) as [`Symbol`]s. An address index
/// over both, a name index built on the first lookup by name.
#[derive(Debug, Default)]
pub struct SymbolTable {
    /// vmlinux's kallsyms; symbol ids `0..ks.len()`.
    ks: Option<Kallsyms>,
    /// kallsyms entries expanded so far, by id.
    cells: Vec<OnceCell<Box<Symbol>>>,
    /// The other symbols (sizes set); ids from `ks.len()` on.
    eager: Vec<Symbol>,
    /// (address, id) of the symbols at kernel addresses, sorted by address, table order among
    /// equal addresses: what address lookups search.
    by_addr: Vec<(u64, u32)>,
    /// Ids of the symbols below the kernel half (absolute per-CPU offsets such as
    /// `fixed_percpu_data` at 0), in table order: found by name only, so that a NULL-ish fault
    /// address never resolves to one.
    other: Vec<u32>,
    /// Ids of `eager` sorted by name, built on the first lookup by name.
    eager_by_name: OnceCell<Vec<u32>>,
    /// Loaded modules, in the order of the kernel's list (newest first).
    pub modules: Vec<Module>,
    /// Where the vmlinux symbols came from and how their addresses were encoded, e.g.
    /// `kallsyms (VMCOREINFO), base-relative with absolute per-CPU`.
    pub source: String,
    /// Number of vmlinux (kallsyms) symbols.
    pub kernel_count: usize,
    /// Time spent reading kallsyms and modules, milliseconds (native builds; 0 in wasm).
    pub load_ms: u64,
    /// What could not be read (no kallsyms, a module whose symbols are unreadable, ...).
    pub warnings: Vec<String>,
}

impl SymbolTable {
    /// Builds the table from symbols whose sizes are set (modules', a System.map's).
    pub fn new(syms: Vec<Symbol>, modules: Vec<Module>, source: String) -> SymbolTable {
        Self::with_kallsyms(None, syms, modules, source)
    }

    /// Builds the table from vmlinux's kallsyms and other symbols (sizes set).
    pub fn with_kallsyms(
        ks: Option<Kallsyms>,
        eager: Vec<Symbol>,
        modules: Vec<Module>,
        source: String,
    ) -> SymbolTable {
        let nk = ks.as_ref().map_or(0, |k| k.len());
        let kernel_count = nk + eager.iter().filter(|s| s.module.is_none()).count();
        let addrs = ks
            .as_ref()
            .map(|k| k.addrs.as_slice())
            .unwrap_or_default()
            .iter()
            .copied()
            .chain(eager.iter().map(|s| s.addr));
        let mut by_addr = Vec::with_capacity(nk + eager.len());
        let mut other = Vec::new();
        for (id, a) in addrs.enumerate() {
            if a >= KERNEL_HALF {
                by_addr.push((a, id as u32));
            } else {
                other.push(id as u32);
            }
        }
        // Stable: among aliases at one address the first in kallsyms order wins, as in the
        // kernel's lookup ("search for the first aliased symbol"). kallsyms is in address order
        // already, so this is nearly a pass.
        by_addr.sort_by_key(|e| e.0);
        let mut cells = Vec::new();
        cells.resize_with(nk, OnceCell::new);
        SymbolTable {
            ks,
            cells,
            eager,
            by_addr,
            other,
            eager_by_name: OnceCell::new(),
            modules,
            source,
            kernel_count,
            load_ms: 0,
            warnings: Vec::new(),
        }
    }

    /// The symbol with id `id` (expanded on first use if it is a kallsyms entry).
    fn sym(&self, id: u32) -> &Symbol {
        let id = id as usize;
        match &self.ks {
            Some(k) if id < k.len() => self.cells[id].get_or_init(|| Box::new(k.symbol(id))),
            k => &self.eager[id - k.as_ref().map_or(0, |k| k.len())],
        }
    }

    /// The symbol containing `addr` and the offset into it.
    pub fn lookup(&self, addr: u64) -> Option<(&Symbol, u64)> {
        let i = self
            .by_addr
            .partition_point(|e| e.0 <= addr)
            .checked_sub(1)?;
        let a = self.by_addr[i].0;
        let first = self.by_addr[..=i]
            .iter()
            .rposition(|e| e.0 != a)
            .map_or(0, |p| p + 1);
        let s = self.sym(self.by_addr[first].1);
        let off = addr - s.addr;
        if s.size == 0 && off != 0 {
            return None;
        }
        if s.size != 0 && off >= s.size {
            return None;
        }
        Some((s, off))
    }

    /// Address of a symbol by name (vmlinux first, then modules).
    pub fn addr_of(&self, name: &str) -> Option<u64> {
        self.get(name).map(|s| s.addr)
    }

    /// The symbol by name: vmlinux's before modules', then those at kernel addresses by address,
    /// then the per-CPU ones in table order.
    pub fn get(&self, name: &str) -> Option<&Symbol> {
        let nk = self.ks.as_ref().map_or(0, |k| k.len());
        let mut ids: Vec<u32> = self
            .ks
            .as_ref()
            .map(|k| k.find_all(name))
            .unwrap_or_default()
            .into_iter()
            .map(|i| i as u32)
            .collect();
        let idx = self.eager_by_name.get_or_init(|| {
            let mut v: Vec<u32> = (0..self.eager.len() as u32).collect();
            v.sort_by(|&a, &b| {
                self.eager[a as usize]
                    .name
                    .cmp(&self.eager[b as usize].name)
            });
            v
        });
        let from = idx.partition_point(|&i| self.eager[i as usize].name.as_str() < name);
        ids.extend(
            idx[from..]
                .iter()
                .take_while(|&&i| self.eager[i as usize].name == name)
                .map(|&i| i + nk as u32),
        );
        ids.into_iter().map(|id| self.sym(id)).min_by_key(|s| {
            let low = s.addr < KERNEL_HALF;
            (s.module.is_some(), low, if low { 0 } else { s.addr })
        })
    }

    /// `symbol+0xoff/0xsize [module]` for an address, or `None` when no symbol covers it.
    pub fn format(&self, addr: u64) -> Option<String> {
        self.lookup(addr).map(|(s, off)| format_symbol(s, off))
    }

    /// `name` or `name+off` (decimal), as `dis` names the targets of calls and jumps.
    pub fn target_name(&self, addr: u64) -> Option<String> {
        let (s, o) = self.lookup(addr)?;
        Some(if o == 0 {
            s.name.clone()
        } else {
            format!("{}+{o}", s.name)
        })
    }

    /// The module whose memory holds `addr`.
    pub fn module_of(&self, addr: u64) -> Option<&Module> {
        self.modules.iter().find(|m| m.contains(addr))
    }

    pub fn len(&self) -> usize {
        self.by_addr.len() + self.other.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Every symbol: those at kernel addresses in address order, then the per-CPU ones
    /// (expands every kallsyms name: for listings, not for lookups).
    pub fn iter(&self) -> impl Iterator<Item = &Symbol> {
        self.by_addr
            .iter()
            .map(|e| e.1)
            .chain(self.other.iter().copied())
            .map(|id| self.sym(id))
    }
    /// The symbols of module `name`, in [`SymbolTable::iter`]'s order, without expanding
    /// vmlinux's.
    pub fn module_symbols<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Symbol> + 'a {
        let nk = self.ks.as_ref().map_or(0, |k| k.len()) as u32;
        self.by_addr
            .iter()
            .map(|e| e.1)
            .chain(self.other.iter().copied())
            .filter(move |&id| id >= nk)
            .map(|id| self.sym(id))
            .filter(move |s| s.module.as_deref() == Some(name))
    }
}

/// `symbol+0xoff/0xsize [module]`, the way the kernel prints `%pS` in an oops.
pub fn format_symbol(s: &Symbol, off: u64) -> String {
    let mut t = format!("{}+{:#x}/{:#x}", s.name, off, s.size);
    if let Some(m) = &s.module {
        t.push_str(" [");
        t.push_str(m);
        t.push(']');
    }
    t
}

/// crash's `sym` line: `ffffffffc033d0fb (t) fixture_null_deref+21 [vmcore_fixture]` (decimal
/// offset, omitted when 0).
pub fn crash_sym_line(addr: u64, s: &Symbol, off: u64) -> String {
    let mut t = format!("{addr:016x} ({}) {}", s.kind, s.name);
    if off != 0 {
        t.push_str(&format!("+{off}"));
    }
    if let Some(m) = &s.module {
        t.push_str(&format!(" [{m}]"));
    }
    t
}

/// Sets each symbol's size to the distance to the next higher address, bounded by `end`
/// (for the last ones; 0 means unknown). `syms` need not be sorted.
pub fn size_to_next(syms: &mut [Symbol], end: Option<u64>) {
    let mut order: Vec<usize> = (0..syms.len()).collect();
    order.sort_by_key(|&i| syms[i].addr);
    // `next` is the lowest address above the current one; `prev` the last address seen.
    let mut next: Option<u64> = None;
    let mut prev: Option<u64> = None;
    for &i in order.iter().rev() {
        let a = syms[i].addr;
        if let Some(p) = prev.filter(|&p| p > a) {
            next = Some(p);
        }
        prev = Some(a);
        syms[i].size = match next {
            Some(n) => n - a,
            None => end.filter(|&e| e > a).map_or(0, |e| e - a),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, addr: u64, module: Option<&str>) -> Symbol {
        Symbol {
            name: name.into(),
            addr,
            size: 0,
            kind: 't',
            module: module.map(Into::into),
        }
    }

    #[test]
    fn lookup_sizes_aliases() {
        const K: u64 = 0xffff_ffff_8000_0000;
        let mut v = vec![
            s("a", K + 0x1000, None),
            s("a_alias", K + 0x1000, None),
            s("b", K + 0x1010, None),
            s("c", K + 0x1040, None),
        ];
        size_to_next(&mut v, Some(K + 0x1050));
        v.push(s("percpu", 0x10, None));
        let mut m = vec![
            s("f", K + 0x4000_0000, Some("m")),
            s("g", K + 0x4000_001f, Some("m")),
        ];
        size_to_next(&mut m, Some(K + 0x4000_0040));
        v.extend(m);
        let t = SymbolTable::new(v, vec![], "test".into());
        let (sym, off) = t.lookup(K + 0x1005).unwrap();
        assert_eq!((sym.name.as_str(), off, sym.size), ("a", 5, 0x10));
        assert_eq!(t.format(K + 0x1041).unwrap(), "c+0x1/0x10");
        assert!(t.lookup(K + 0x1050).is_none());
        assert!(t.lookup(K + 0xfff).is_none());
        assert!(t.lookup(0x18).is_none());
        assert_eq!(t.addr_of("percpu"), Some(0x10));
        assert_eq!(t.format(K + 0x4000_0015).unwrap(), "f+0x15/0x1f [m]");
        assert_eq!(t.addr_of("g"), Some(K + 0x4000_001f));
        assert_eq!(t.addr_of("a_alias"), Some(K + 0x1000));
    }
}

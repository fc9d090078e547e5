//! System.map (`ffffffff81000000 T _text`, one symbol a line, link-time addresses).

use crate::kernel::{Kernel, Symbol};
use crate::source::ReadAt;

/// A System.map larger than this is not one (Debian's is ~5 MB).
const MAX_SIZE: u64 = 256 << 20;

pub struct SystemMap {
    /// (link-time address, type letter, name), in file order.
    pub entries: Vec<(u64, char, String)>,
    /// runtime = link-time + bias (the KASLR offset), set by [`SystemMap::check`].
    pub bias: u64,
}

impl SystemMap {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn parse(src: &dyn ReadAt) -> crate::error::Result<SystemMap> {
        if src.len() > MAX_SIZE {
            return Err("not an ELF file, and too large for a System.map".into());
        }
        let b = src.read_vec(0, src.len() as usize, "System.map")?;
        Self::parse_text(&String::from_utf8_lossy(&b))
    }

    pub fn parse_text(t: &str) -> crate::error::Result<SystemMap> {
        let mut entries = Vec::new();
        for (n, line) in t.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let mut w = line.split_whitespace();
            let (Some(a), Some(k), Some(name)) = (w.next(), w.next(), w.next()) else {
                return Err(format!(
                    "not a System.map (line {}: {:?})",
                    n + 1,
                    line.chars().take(60).collect::<String>()
                )
                .into());
            };
            let addr = u64::from_str_radix(a, 16).ok().filter(|_| a.len() >= 8);
            let kind = k
                .chars()
                .next()
                .filter(|c| c.is_ascii_alphabetic() && k.len() == 1);
            match (addr, kind) {
                (Some(addr), Some(kind)) => entries.push((addr, kind, name.to_string())),
                _ => {
                    return Err(format!(
                        "not a System.map (line {}: {:?})",
                        n + 1,
                        line.chars().take(60).collect::<String>()
                    )
                    .into())
                }
            }
        }
        if entries.is_empty() {
            return Err("empty System.map".into());
        }
        Ok(SystemMap { entries, bias: 0 })
    }

    /// Checks it against the dump: VMCOREINFO's SYMBOL() lines (runtime addresses) must equal
    /// the map's addresses plus the KASLR offset; sets the bias.
    pub fn check(&mut self, k: &Kernel) -> crate::error::Result<()> {
        let bias = k.vmcoreinfo.kernel_offset.unwrap_or(0);
        let mut same = 0;
        for (name, want) in [
            "_stext",
            "init_uts_ns",
            "swapper_pg_dir",
            "init_top_pgt",
            "_text",
            "node_online_map",
        ]
        .iter()
        .filter_map(|n| Some((*n, k.vmcoreinfo.symbol(n)?)))
        {
            let Some(&(a, _, _)) = self.entries.iter().find(|e| e.2 == name) else {
                continue;
            };
            if a.wrapping_add(bias) != want {
                return Err(format!("{name} is at {:#x} here but {want:#x} in the dump: a System.map of another build", a.wrapping_add(bias)).into());
            }
            same += 1;
        }
        if same == 0 {
            return Err("no symbol of VMCOREINFO found in it to check it against the dump".into());
        }
        self.bias = bias;
        Ok(())
    }

    /// The symbols at runtime addresses, sizes to the next symbol.
    pub fn symbols(&self) -> Vec<Symbol> {
        let mut v: Vec<Symbol> = self
            .entries
            .iter()
            .filter(|e| {
                !matches!(e.1, 'a' | 'A' | 'U' | 'w' | 'W' | 'N') || e.0 >= 0xffff_0000_0000_0000
            })
            .map(|(a, kind, name)| Symbol {
                name: name.clone(),
                addr: a.wrapping_add(self.bias),
                size: 0,
                kind: *kind,
                module: None,
            })
            .collect();
        crate::kernel::symbols::size_to_next(&mut v, None);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let m = SystemMap::parse_text("0000000000000000 D __per_cpu_start\nffffffff81000000 T _text\nffffffff81000000 T _stext\nffffffff81001000 t foo\n").unwrap();
        assert_eq!(m.len(), 4);
        let s = m.symbols();
        let foo = s.iter().find(|s| s.name == "_text").unwrap();
        assert_eq!((foo.addr, foo.size), (0xffffffff81000000, 0x1000));
        assert!(SystemMap::parse_text("hello world\n").is_err());
        assert!(SystemMap::parse_text("\x7fELF").is_err());
    }
}

//! `crashlens sym VMCORE ADDR|NAME`: an address to `symbol+off [module]` (crash's `sym` line,
//! decimal offset) and the kernel's `symbol+0xoff/0xsize [module]`; a name to its address.

use super::{open_session, print_json, Args, Format};
use crate::error::{Error, Result};
use crate::kernel::{format_symbol, symbols::crash_sym_line, Symbol};

#[derive(serde::Serialize)]
struct SymOut<'a> {
    query: &'a str,
    #[serde(with = "crate::util::hex")]
    address: u64,
    symbol: &'a Symbol,
    offset: u64,
    /// `symbol+0xoff/0xsize [module]`.
    formatted: String,
    /// crash's `sym` line.
    crash: String,
}

fn parse_addr(s: &str) -> Option<u64> {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    (h.len() >= 8 || s.starts_with("0x"))
        .then(|| u64::from_str_radix(h, 16).ok())
        .flatten()
}

pub fn run(a: &Args) -> Result<()> {
    let q = a
        .paths
        .get(1)
        .ok_or_else(|| Error::Missing("usage: crashlens sym VMCORE ADDR|NAME".into()))?;
    // The dump is the first path; the second is the query, not a part of a split dump.
    let dump = Args {
        paths: a.paths[..1].to_vec(),
        ..a.clone()
    };
    let s = open_session(&dump)?;
    let t = s.kernel.symbols();
    for w in &t.warnings {
        eprintln!("crashlens: warning: {w}");
    }
    let (sym, addr, off) = match parse_addr(q) {
        Some(addr) => {
            let (sym, off) = t
                .lookup(addr)
                .ok_or_else(|| Error::Missing(format!("no symbol contains {addr:#x}")))?;
            (sym, addr, off)
        }
        None => {
            let sym = t
                .get(q)
                .ok_or_else(|| Error::Missing(format!("no symbol named {q:?}")))?;
            (sym, sym.addr, 0)
        }
    };
    let o = SymOut {
        query: q,
        address: addr,
        symbol: sym,
        offset: off,
        formatted: format_symbol(sym, off),
        crash: crash_sym_line(addr, sym, off),
    };
    match a.format {
        Format::Json => print_json(&o),
        Format::Text => super::out(&format!("{}\n", o.crash)),
    }
    Ok(())
}

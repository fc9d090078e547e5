//! crash's `dis [-l] FUNCTION`: the function's instructions read from the dump's memory, as
//! gdb prints them inside crash, and with `-l` the source line before each change of line
//! (from the user's debuginfo).

use crate::analysis::disasm::disassemble;
use crate::debuginfo::DebugInfo;
use crate::error::Error;
use crate::kernel::Kernel;
use serde::Serialize;
use std::fmt::Write;

/// A function longer than this is not disassembled whole.
const MAX_FUNCTION: u64 = 1 << 20;

#[derive(Debug, Clone, Serialize)]
pub struct DisLine {
    #[serde(with = "crate::util::hex")]
    pub address: u64,
    /// `fixture_null_deref+21`
    pub location: Option<String>,
    /// `mov    0x18(%rbx),%rax`
    pub text: String,
    pub bytes: String,
    /// crash marks the ftrace call site, patched to a 5-byte nop, with `[FTRACE NOP]`.
    pub ftrace_nop: bool,
    pub file: Option<String>,
    pub line: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dis {
    pub function: String,
    pub module: Option<String>,
    #[serde(with = "crate::util::hex")]
    pub start: u64,
    pub size: u64,
    pub lines: Vec<DisLine>,
}

fn parse_addr(s: &str) -> Option<u64> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    u64::from_str_radix(h, 16).ok()
}

/// What to disassemble, as crash's `dis` takes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Range {
    /// Instructions from the address (crash: `dis ADDR COUNT`; 1 for an address or
    /// `sym+off` given alone).
    pub count: Option<usize>,
    /// `-r`: from the function's start through the address.
    pub reverse: bool,
}

/// `name`, `name+off` (decimal or 0x hex), `0xaddr` or a bare 16-digit hex address; the
/// second value says whether it named a function as a whole.
fn resolve(k: &Kernel, target: &str) -> Option<(u64, bool)> {
    let syms = k.symbols();
    if let Some(a) = parse_addr(target) {
        return Some((a, false));
    }
    if let Some(a) = syms.addr_of(target) {
        return Some((a, true));
    }
    if let Some((name, off)) = target.split_once('+') {
        let off = parse_addr(off).or_else(|| off.parse().ok())?;
        return Some((syms.addr_of(name)?.checked_add(off)?, false));
    }
    (target.len() >= 8)
        .then(|| u64::from_str_radix(target, 16).ok())
        .flatten()
        .map(|a| (a, false))
}

/// Disassembles as crash's `dis` does: a function name alone -> the whole function; an
/// address or `sym+off` -> `count` instructions from there (default 1), or with `reverse`
/// the function from its start through that instruction.
pub fn dis(k: &Kernel, dbg: &DebugInfo, target: &str, range: Range) -> crate::error::Result<Dis> {
    let syms = k.symbols();
    let (addr, whole) = resolve(k, target).ok_or_else(|| {
        Error::Missing(format!(
            "no symbol {target:?} in the dump (and not an address)"
        ))
    })?;
    let (sym, _) = syms
        .lookup(addr)
        .ok_or_else(|| Error::Missing(format!("no function at {addr:#x}")))?;
    if sym.size == 0 || sym.size > MAX_FUNCTION {
        return Err(Error::Missing(format!(
            "{}: size unknown or too large ({:#x})",
            sym.name, sym.size
        )));
    }
    let (from, len) = match (
        whole && range.count.is_none() && !range.reverse,
        range.reverse,
    ) {
        (true, _) => (sym.addr, sym.size),
        (false, true) => (sym.addr, addr - sym.addr + 16),
        (false, false) => (
            addr,
            (range.count.unwrap_or(1).min(100_000) as u64 * 15).min(MAX_FUNCTION),
        ),
    };
    let code = k
        .read_bytes(from, len as usize)
        .map_err(|e| Error::Missing(format!("{} at {from:#x}: {e}", sym.name)))?;
    let name_of = |a: u64| syms.target_name(a);
    // ftrace is built in when the kernel has __fentry__; then a function's first instruction,
    // when a 5-byte nop, is its patched-out `call __fentry__`.
    let ftrace = syms.addr_of("__fentry__").is_some();
    let mut insns = disassemble(&code, from, &name_of);
    if range.reverse {
        insns.retain(|i| i.address <= addr);
    } else if !(whole && range.count.is_none()) {
        insns.truncate(range.count.unwrap_or(1));
    }
    let lines = insns
        .into_iter()
        .map(|i| {
            let src = dbg.line(i.address);
            DisLine {
                ftrace_nop: ftrace && i.address == sym.addr && i.bytes == "0f 1f 44 00 00",
                address: i.address,
                location: i.location,
                text: i.text,
                bytes: i.bytes,
                file: src.as_ref().map(|l| l.file.clone()),
                line: src.map(|l| l.line),
            }
        })
        .collect();
    Ok(Dis {
        function: sym.name.clone(),
        module: sym.module.clone(),
        start: sym.addr,
        size: sym.size,
        lines,
    })
}

/// crash's text: `0xffffffffc033d0fb <fixture_null_deref+21>:\tmov    0x18(%rbx),%rax`, with
/// `-l` a `/path/file.c: 46` line whenever the source line changes.
pub fn render(d: &Dis, with_lines: bool) -> String {
    let mut s = String::new();
    let mut last: Option<(&str, u32)> = None;
    for l in &d.lines {
        if with_lines {
            if let (Some(f), Some(n)) = (&l.file, l.line) {
                if last != Some((f.as_str(), n)) {
                    let _ = writeln!(s, "{f}: {n}");
                    last = Some((f.as_str(), n));
                }
            }
        }
        // gdb pads the mnemonic to 7 columns even without operands (`ret    `).
        let text = if l.text.contains(' ') {
            l.text.clone()
        } else {
            format!("{:<7}", l.text)
        };
        let loc = l
            .location
            .as_deref()
            .map(|x| format!(" <{x}>"))
            .unwrap_or_default();
        let nop = if l.ftrace_nop { " [FTRACE NOP]" } else { "" };
        let _ = writeln!(s, "{:#x}{loc}:\t{text}{nop}", l.address);
    }
    s
}

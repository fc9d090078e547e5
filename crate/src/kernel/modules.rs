//! Loaded modules: the kernel's `modules` list (kernel/module/main.c) and each module's own
//! symbol table (`module.kallsyms` -> `struct mod_kallsyms {symtab, num_symtab, strtab,
//! typetab}`, Elf64_Sym entries; typetab since 4.6).
//!
//! `struct module` offsets come from BTF in the dump when present. Its memory layout changed in
//! 6.4 (commit ac3b43283923 "module: replace module_layout with module_memory"): before, one
//! `core_layout {base, size, text_size, ...}`; since, `mem[MOD_MEM_NUM_TYPES] {base, size}`.
//! Before 4.5 there was no module_layout: `module_init, module_core` pointers, then
//! `init_size, core_size, init_text_size, core_text_size`; before 4.6 the symbol table sat in
//! struct module itself (`symtab, core_symtab, num_symtab, core_num_syms, strtab, core_strtab`).
//! Without BTF the offsets are found by the structure's shape (see [`Layout::guess`]) and a
//! warning says so.

use crate::bytes::Le;
use crate::error::Error;

use super::btf::Btf;
use super::kallsyms::Stream;
use super::symbols::{Module, Symbol};
use super::Kernel;

/// Taint letters by bit (include/linux/panic.h, kernel/panic.c `taint_flags`).
const TAINT_LETTERS: &[u8] = b"PFSRMBUDAWCIOELKXTNJ";
const MODULE_AREA: std::ops::Range<u64> = 0xffff_ffff_a000_0000..0xffff_ffff_ff00_0000;
const MAX_MODULES: usize = 10_000;
const MAX_MODULE_SYMS: u32 = 1_000_000;

#[derive(Debug, Clone)]
enum Regions {
    /// < 6.4: `core_layout` / `init_layout` (struct module_layout {base, size, text_size}).
    Layout {
        core_base: u64,
        core_size: u64,
        core_text_size: Option<u64>,
        init_base: Option<u64>,
        init_size: Option<u64>,
    },
    /// 6.4+: `mem[i]` (struct module_memory {base, size}); `core` of them are not init memory.
    Mem {
        off: u64,
        stride: u64,
        n: u64,
        core: u64,
        base: u64,
        size: u64,
    },
    /// Guessed: (base offset, size offset) pairs, the text one first.
    Guessed(Vec<(u64, u64)>),
}

#[derive(Debug, Clone)]
struct Layout {
    list: u64,
    name: u64,
    name_len: u64,
    regions: Regions,
    taints: Option<u64>,
    /// Offset of the `struct mod_kallsyms *kallsyms` pointer (4.6+); with `ks_inline`, offset of
    /// the symbol-table fields inside struct module itself (before 4.6).
    kallsyms: Option<u64>,
    ks_inline: bool,
    ks_symtab: u64,
    ks_num: u64,
    ks_strtab: u64,
    ks_typetab: Option<u64>,
}

impl Layout {
    fn from_btf(b: &Btf) -> Option<Layout> {
        let o = |p: &str| b.member_offset("module", p);
        let regions = if let Some(off) = o("mem") {
            let n = b.member_array_len("module", "mem")?;
            let stride = b.struct_size("module_memory")?;
            // enum mod_mem_type: MOD_TEXT, MOD_DATA, MOD_RODATA, MOD_RO_AFTER_INIT, MOD_INIT_TEXT...
            let core = b.enum_value("MOD_INIT_TEXT").map_or(4, |v| v as u64);
            Regions::Mem {
                off,
                stride,
                n,
                core,
                base: b.member_offset("module_memory", "base")?,
                size: b.member_offset("module_memory", "size")?,
            }
        } else {
            Regions::Layout {
                core_base: o("core_layout.base")?,
                core_size: o("core_layout.size")?,
                core_text_size: o("core_layout.text_size"),
                init_base: o("init_layout.base"),
                init_size: o("init_layout.size"),
            }
        };
        Some(Layout {
            list: o("list")?,
            name: o("name")?,
            name_len: b.member_size("module", "name").unwrap_or(56),
            regions,
            taints: o("taints"),
            kallsyms: o("kallsyms"),
            ks_inline: false,
            ks_symtab: b.member_offset("mod_kallsyms", "symtab")?,
            ks_num: b.member_offset("mod_kallsyms", "num_symtab")?,
            ks_strtab: b.member_offset("mod_kallsyms", "strtab")?,
            ks_typetab: b.member_offset("mod_kallsyms", "typetab"),
        })
    }

    /// Without BTF: `state`, `list` and `name[56]` open struct module in every kernel since
    /// 2.6; the memory regions are (page-aligned base in the module area, page-multiple u32
    /// size) pairs, the first of them text; `kallsyms` is the pointer whose target looks like a
    /// `mod_kallsyms` (a symtab starting with the null symbol, a count, a strtab).
    fn guess(k: &Kernel, m: u64) -> Option<Layout> {
        let b = k.read_bytes(m, 0x800).ok()?;
        let q = |o: usize| b.u64_at(o).unwrap_or(0);
        let d = |o: usize| b.u32_at(o).unwrap_or(0) as u64;
        let in_area = |v: u64| MODULE_AREA.contains(&v);
        let mut pairs = Vec::new();
        let mut kallsyms = None;
        let mut ks_inline = None;
        let mut split = None;
        let mut o = 0x50;
        while o + 40 <= b.len() {
            let v = q(o);
            let size = d(o + 8);
            // Sizes are page multiples with STRICT_MODULE_RWX (4.11+); 4.5-4.10 without
            // DEBUG_SET_MODULE_RONX leave them unaligned, but struct module itself lies in
            // the core region.
            if v & 0xfff == 0
                && in_area(v)
                && size > 0
                && (size % 4096 == 0 || (m >= v && m - v < size))
                && size <= 64 << 20
                && pairs.last().is_none_or(|&(_, s)| s as usize + 8 <= o)
            {
                pairs.push((o as u64, o as u64 + 8));
            }
            // 2.6.x-4.4: `void *module_init, *module_core; unsigned int init_size, core_size;
            // unsigned int init_text_size, core_text_size;`, struct module inside the core.
            let (init, core_size, core_text) = (q(o - 8), d(o + 12), d(o + 20));
            if split.is_none()
                && v & 0xfff == 0
                && in_area(v)
                && (init == 0 || (init & 0xfff == 0 && in_area(init)))
                && core_size > 0
                && core_size <= 64 << 20
                && core_text <= core_size
                && m >= v
                && m < v + core_size
            {
                split = Some(o as u64);
            }
            if kallsyms.is_none() && in_area(v) && v & 7 == 0 && looks_like_mod_kallsyms(k, v) {
                kallsyms = Some(o as u64);
            }
            // Before 4.6 the table is in struct module: `Elf_Sym *symtab, *core_symtab;
            // unsigned int num_symtab, core_num_syms; char *strtab, *core_strtab;`.
            if ks_inline.is_none()
                && in_area(q(o + 8))
                && in_area(q(o + 32))
                && d(o + 20) <= d(o + 16)
                && plausible_symtab(k, v, d(o + 16), q(o + 24))
            {
                ks_inline = Some(o as u64);
            }
            o += 8;
        }
        let regions = match split {
            Some(o) => Regions::Layout {
                core_base: o,
                core_size: o + 12,
                core_text_size: Some(o + 20),
                init_base: Some(o - 8),
                init_size: Some(o + 8),
            },
            None if !pairs.is_empty() => Regions::Guessed(pairs),
            None => return None,
        };
        let (kallsyms, inline) = match (kallsyms, ks_inline) {
            (Some(o), _) => (Some(o), false),
            (None, Some(o)) => (Some(o), true),
            (None, None) => (None, false),
        };
        Some(Layout {
            list: 8,
            name: 24,
            name_len: 56,
            regions,
            taints: None,
            kallsyms,
            ks_inline: inline,
            ks_symtab: 0,
            ks_num: if inline { 16 } else { 8 },
            ks_strtab: if inline { 24 } else { 16 },
            ks_typetab: if inline { None } else { Some(24) },
        })
    }
}

fn looks_like_mod_kallsyms(k: &Kernel, p: u64) -> bool {
    let Ok(b) = k.read_bytes(p, 32) else {
        return false;
    };
    let q = |o: usize| b.u64_at(o).unwrap_or(0);
    let n = b.u32_at(8).unwrap_or(0);
    plausible_symtab(k, q(0), n as u64, q(16))
}

/// A module symbol table: `n` Elf64_Sym at `symtab` (the first all zeros, the second named
/// inside the string table) and `strtab`, both in the module area.
fn plausible_symtab(k: &Kernel, symtab: u64, n: u64, strtab: u64) -> bool {
    if !(MODULE_AREA.contains(&symtab)
        && MODULE_AREA.contains(&strtab)
        && (2..100_000).contains(&n)
        && symtab & 7 == 0)
    {
        return false;
    }
    // Elf64_Sym[0] is all zeros (but st_info: before typetab, 5.2, the kernel keeps each
    // symbol's nm letter in st_info, 'U' for the null symbol); [1] has a name inside strtab.
    match k.read_bytes(symtab, 48) {
        Ok(s) => {
            s[..24]
                .iter()
                .enumerate()
                .all(|(i, &c)| c == 0 || (i == 4 && c.is_ascii_alphabetic()))
                && s.u32_at(24).is_some_and(|n| n < 1 << 20)
        }
        Err(_) => false,
    }
}

/// What reading the module list produced.
pub struct ModuleScan {
    pub modules: Vec<Module>,
    pub symbols: Vec<Symbol>,
    pub warnings: Vec<String>,
}

/// Walks `modules` (the list head's address, from kallsyms).
pub fn read_modules(k: &Kernel, head: u64, btf: Option<&Btf>) -> ModuleScan {
    let mut out = ModuleScan {
        modules: Vec::new(),
        symbols: Vec::new(),
        warnings: Vec::new(),
    };
    let btf_layout = btf.and_then(Layout::from_btf);
    if btf.is_some() && btf_layout.is_none() {
        out.warnings.push(
            "BTF lacks the struct module fields crashlens knows; module layout guessed".into(),
        );
    }
    let mut guessed = false;
    let mut node = match k.read_u64(head) {
        Ok(n) => n,
        Err(e) => {
            out.warnings.push(format!("module list unreadable: {e}"));
            return out;
        }
    };
    let mut seen = std::collections::HashSet::new();
    while node != head {
        if out.modules.len() >= MAX_MODULES || !seen.insert(node) {
            out.warnings
                .push("module list is looped or too long; stopped".into());
            break;
        }
        let list_off = btf_layout.as_ref().map_or(8, |l| l.list);
        let m = node.wrapping_sub(list_off);
        let layout = match &btf_layout {
            Some(l) => Some(l.clone()),
            None => {
                guessed = true;
                Layout::guess(k, m)
            }
        };
        let Some(l) = layout else {
            out.warnings
                .push(format!("struct module at {m:#x}: layout not recognised"));
            break;
        };
        match read_one(k, m, &l) {
            Ok((module, syms, w)) => {
                out.warnings.extend(w);
                out.modules.push(module);
                out.symbols.extend(syms);
            }
            Err(e) => out.warnings.push(format!("struct module at {m:#x}: {e}")),
        }
        node = match k.read_u64(node) {
            Ok(n) => n,
            Err(e) => {
                out.warnings
                    .push(format!("module list broken after {m:#x}: {e}"));
                break;
            }
        };
    }
    if guessed {
        out.warnings.push("no BTF in the dump: struct module offsets derived heuristically (module sizes and taints may be incomplete)".into());
    }
    out
}

fn read_one(
    k: &Kernel,
    m: u64,
    l: &Layout,
) -> crate::error::Result<(Module, Vec<Symbol>, Vec<String>)> {
    let rd = |o: u64| k.read_u64(m + o).map_err(Error::from);
    let rd32 = |o: u64| k.read_u32(m + o).map(u64::from).map_err(Error::from);
    let name = k.read_cstr(m + l.name, l.name_len as usize)?;
    let mut warnings = Vec::new();
    // (start, end) of each region, text first.
    let (base, size, regions) = match &l.regions {
        Regions::Layout {
            core_base,
            core_size,
            core_text_size,
            init_base,
            init_size,
        } => {
            let b = rd(*core_base)?;
            let s = rd32(*core_size)?;
            let mut r = Vec::new();
            match core_text_size.map(&rd32).transpose()? {
                Some(t) if t > 0 && t < s => {
                    r.push((b, b + t));
                    r.push((b + t, b + s));
                }
                _ => r.push((b, b + s)),
            }
            if let (Some(ib), Some(is)) = (init_base, init_size) {
                let (ib, is) = (rd(*ib)?, rd32(*is)?);
                if ib != 0 && is != 0 {
                    r.push((ib, ib + is));
                }
            }
            (b, s, r)
        }
        Regions::Mem {
            off,
            stride,
            n,
            core,
            base,
            size,
        } => {
            let mut r = Vec::new();
            let mut total = 0;
            let mut text = 0;
            for i in 0..*n.min(&16) {
                let e = off + i * stride;
                let (b, s) = (rd(e + base)?, rd32(e + size)?);
                if i == 0 {
                    text = b;
                }
                if b != 0 && s != 0 {
                    r.push((b, b + s));
                    if i < *core {
                        total += s;
                    }
                }
            }
            (text, total, r)
        }
        Regions::Guessed(pairs) => {
            let mut r = Vec::new();
            for &(bo, so) in pairs {
                let (b, s) = (rd(bo)?, rd32(so)?);
                r.push((b, b + s));
            }
            let first = r[0];
            if m >= first.0 && m < first.1 {
                (first.0, first.1 - first.0, vec![first])
            } else {
                (first.0, r.iter().map(|&(s, e)| e - s).sum(), r)
            }
        }
    };
    let taint = match l.taints {
        Some(o) => {
            let t = rd(o)?;
            TAINT_LETTERS
                .iter()
                .enumerate()
                .filter(|&(i, _)| t >> i & 1 != 0)
                .map(|(_, &c)| c as char)
                .collect()
        }
        None => String::new(),
    };
    let mut syms = Vec::new();
    if let Some(ko) = l.kallsyms {
        let ks = if l.ks_inline { m + ko } else { rd(ko)? };
        match read_syms(k, ks, l, &name, &regions) {
            Ok(s) => syms = s,
            Err(e) => warnings.push(format!("module {name}: symbols unreadable: {e}")),
        }
    }
    let module = Module {
        name,
        addr: m,
        base,
        size,
        taint,
        nsyms: syms.len(),
        regions,
    };
    Ok((module, syms, warnings))
}

/// The module's `mod_kallsyms` symbols, sized to the next symbol within their region
/// (kernel/module/kallsyms.c `find_kallsyms_symbol`).
fn read_syms(
    k: &Kernel,
    ks: u64,
    l: &Layout,
    module: &str,
    regions: &[(u64, u64)],
) -> crate::error::Result<Vec<Symbol>> {
    let e = |e: crate::error::MemError| e.to_string();
    let symtab = k.read_u64(ks + l.ks_symtab).map_err(e)?;
    let n = k.read_u32(ks + l.ks_num).map_err(e)?;
    let strtab = k.read_u64(ks + l.ks_strtab).map_err(e)?;
    let typetab = match l.ks_typetab {
        Some(o) => k.read_u64(ks + o).map_err(e)?,
        None => 0,
    };
    if n > MAX_MODULE_SYMS {
        return Err(format!("num_symtab {n} is implausible").into());
    }
    let raw = k.read_bytes(symtab, n as usize * 24).map_err(e)?;
    // Letters in st_info (add_kallsyms() before 5.2 stored elf_type() there; the null symbol
    // then reads 'U'): no typetab, whatever follows the table in struct mod_kallsyms.
    let letters_in_info = raw.get(4).is_some_and(|c| c.is_ascii_alphabetic());
    let types = if typetab != 0 && !letters_in_info {
        k.read_bytes(typetab, n as usize).ok()
    } else {
        None
    };
    let max_name = raw
        .chunks_exact(24)
        .map(|s| s.u32_at(0).unwrap_or(0))
        .max()
        .unwrap_or(0);
    let mut strs = Stream::new(k, strtab, max_name as usize + 512);
    strs.ensure(max_name as usize + 1)?;
    let _ = strs.ensure(max_name as usize + 512);
    let mut out = Vec::new();
    for (i, s) in raw.chunks_exact(24).enumerate().skip(1) {
        let st_name = s.u32_at(0).unwrap_or(0) as usize;
        let st_info = s.u8_at(4).unwrap_or(0);
        let st_shndx = s.u16_at(6).unwrap_or(0);
        let value = s.u64_at(8).unwrap_or(0);
        if st_shndx == 0 {
            continue;
        }
        let bytes = &strs.buf[st_name.min(strs.buf.len())..];
        let end = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
        let name = String::from_utf8_lossy(&bytes[..end]).into_owned();
        // Unnamed and mapping symbols are skipped, as the kernel does.
        if name.is_empty() || name.starts_with('$') || name.starts_with(".L") {
            continue;
        }
        let kind = match &types {
            Some(t) => t[i] as char,
            None if letters_in_info => st_info as char,
            None => elf_type_letter(st_info),
        };
        out.push(Symbol {
            name,
            addr: value,
            size: 0,
            kind,
            module: Some(module.to_string()),
        });
    }
    // Size: to the next higher symbol, bounded by the end of the region holding the symbol.
    let mut addrs: Vec<u64> = out.iter().map(|s| s.addr).collect();
    addrs.sort_unstable();
    addrs.dedup();
    for s in &mut out {
        let region_end = regions
            .iter()
            .find(|&&(a, b)| s.addr >= a && s.addr < b)
            .map(|&(_, b)| b);
        let next = addrs.get(addrs.partition_point(|&a| a <= s.addr)).copied();
        s.size = match (next, region_end) {
            (Some(n), Some(r)) => n.min(r) - s.addr,
            (Some(n), None) => n - s.addr,
            (None, Some(r)) => r - s.addr,
            (None, None) => 0,
        };
    }
    Ok(out)
}

/// nm-style letter from an ELF symbol's binding and type (kernels before 4.6 have no typetab).
fn elf_type_letter(info: u8) -> char {
    let c = match info & 0xf {
        2 => 't', // STT_FUNC
        1 => 'd', // STT_OBJECT
        _ => '?',
    };
    if info >> 4 == 1 {
        c.to_ascii_uppercase()
    } else {
        c
    }
}

//! Optional debuginfo the user adds beside the dump: a vmlinux with DWARF (Debian's
//! `linux-image-*-dbg`: /usr/lib/debug/boot/vmlinux-<release>), module `.ko` files with DWARF,
//! and System.map. The analysis works without them; with them it gains source lines, inlined
//! frames, and field names where BTF has no prototype (module functions).
//!
//! Nothing is trusted blindly: a vmlinux must carry the dump's build id (VMCOREINFO `BUILD-ID`)
//! or, without one, its `_stext` plus the KASLR offset must be where kallsyms has it; a `.ko`
//! must name a loaded module, carry the dump's release in its vermagic, and its symbols must
//! sit at one consistent offset per section from the module's kallsyms symbols. Its sections
//! are then relocated to where the kernel loaded them, so DWARF addresses are runtime addresses.
//! A file that does not match is rejected with a warning and not used.

pub mod dwarf;
pub mod elf;
pub mod sysmap;

use crate::kernel::Kernel;
use crate::source::ReadAt;
pub use dwarf::{InlineFrame, SourceLine};
use std::collections::BTreeMap;
use std::rc::Rc;

/// A file the user gave, not yet examined.
pub struct Extra {
    pub name: String,
    /// Shared: a vmlinux stays open and its compilation units are read when needed.
    pub src: Rc<dyn ReadAt>,
}

/// What a loaded file covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Vmlinux,
    Module(String),
}

pub struct DebugFile {
    pub name: String,
    pub scope: Scope,
    /// runtime address = DWARF address + bias (vmlinux: the KASLR offset; a relocated .ko: 0).
    pub bias: u64,
    /// Runtime [start, end) ranges of the code this file describes.
    pub ranges: Vec<(u64, u64)>,
    pub dwarf: Dwarfs,
    /// Milliseconds spent loading (native; 0 in wasm).
    pub load_ms: u64,
    /// Bytes read from the file.
    pub bytes_read: u64,
}

/// A file's DWARF: all of it in memory (a .ko), or a unit at a time (a vmlinux).
pub enum Dwarfs {
    Whole(dwarf::Dwarf),
    PerUnit(dwarf::PerUnit),
}

impl DebugFile {
    /// Runs `f` on the DWARF that describes runtime address `addr`, with the DWARF address.
    fn with<T>(&self, addr: u64, f: impl FnOnce(&dwarf::Dwarf, u64) -> Option<T>) -> Option<T> {
        let a = addr.wrapping_sub(self.bias);
        match &self.dwarf {
            Dwarfs::Whole(d) => f(d, a),
            Dwarfs::PerUnit(p) => f(&*p.unit_for(a)?, a),
        }
    }

    /// Bytes of `.debug_info` read so far (a vmlinux reads its units on demand).
    pub fn info_read(&self) -> u64 {
        match &self.dwarf {
            Dwarfs::Whole(_) => 0,
            Dwarfs::PerUnit(p) => p.info_read.get(),
        }
    }
}

/// Everything loaded from the extra files.
#[derive(Default)]
pub struct DebugInfo {
    pub files: Vec<DebugFile>,
    /// System.map symbols (name -> runtime address), when one was given and matched.
    pub system_map: Option<sysmap::SystemMap>,
    /// What was rejected or could not be read, and what was used.
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

fn now_ms() -> u64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::time::{SystemTime, UNIX_EPOCH};
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
    #[cfg(target_arch = "wasm32")]
    {
        0
    }
}

/// Counts bytes read through it.
struct Counting {
    inner: Rc<dyn ReadAt>,
    n: std::cell::Cell<u64>,
}
impl ReadAt for Counting {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> crate::error::Result<usize> {
        let r = self.inner.read_at(offset, buf)?;
        self.n.set(self.n.get() + r as u64);
        Ok(r)
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
}

impl DebugInfo {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.system_map.is_none()
    }

    /// Examines each file, keeps those that match the dump, warns about the rest.
    pub fn load(k: &Kernel, extras: Vec<Extra>) -> DebugInfo {
        let mut d = DebugInfo::default();
        d.add_all(k, &extras);
        d
    }

    /// Adds each file; System.map first, so that it can stand in for kallsyms before the ELF
    /// files (which need the symbol table) are examined.
    pub fn add_all(&mut self, k: &Kernel, extras: &[Extra]) {
        let is_elf = |x: &Extra| {
            let mut m = [0u8; 4];
            x.src.read_at(0, &mut m).unwrap_or(0) == 4 && &m == b"\x7fELF"
        };
        for x in extras
            .iter()
            .filter(|x| !is_elf(x))
            .chain(extras.iter().filter(|x| is_elf(x)))
        {
            self.add(k, &x.name, x.src.clone());
        }
    }

    pub fn add(&mut self, k: &Kernel, name: &str, src: Rc<dyn ReadAt>) {
        let t0 = now_ms();
        let counting = Rc::new(Counting {
            inner: src,
            n: std::cell::Cell::new(0),
        });
        let mut magic = [0u8; 4];
        if counting.read_at(0, &mut magic).unwrap_or(0) == 4 && &magic == b"\x7fELF" {
            match load_elf(k, name, counting.clone()) {
                Ok(mut f) => {
                    f.name = name.to_string();
                    f.load_ms = now_ms().saturating_sub(t0);
                    f.bytes_read = counting.n.get();
                    self.notes.push(format!(
                        "debuginfo {name}: {} ({} bytes read, {} ms)",
                        match &f.scope {
                            Scope::Vmlinux => "vmlinux".to_string(),
                            Scope::Module(m) => format!("module {m}"),
                        },
                        f.bytes_read,
                        f.load_ms
                    ));
                    self.files.push(f);
                }
                Err(e) => self
                    .warnings
                    .push(format!("debuginfo {name} not used: {e}")),
            }
            return;
        }
        match sysmap::SystemMap::parse(&*counting).and_then(|mut m| m.check(k).map(|()| m)) {
            Ok(m) => {
                let used = if k.set_system_map(m.symbols()) {
                    ", standing by for kallsyms"
                } else {
                    ""
                };
                self.notes.push(format!(
                    "System.map {name}: {} symbols, matches the dump{used}",
                    m.len()
                ));
                self.system_map = Some(m);
            }
            Err(e) => self.warnings.push(format!("{name} not used: {e}")),
        }
    }

    fn file_for(&self, addr: u64) -> Option<&DebugFile> {
        self.files
            .iter()
            .find(|f| f.ranges.iter().any(|&(s, e)| addr >= s && addr < e))
    }

    /// File and line of the instruction at runtime address `addr`.
    pub fn line(&self, addr: u64) -> Option<SourceLine> {
        self.file_for(addr)?.with(addr, |d, a| d.line(a))
    }

    /// Inline chain at a runtime address, innermost first (the last is the real function).
    pub fn frames(&self, addr: u64) -> Vec<InlineFrame> {
        self.file_for(addr)
            .and_then(|f| f.with(addr, |d, a| Some(d.frames(a))))
            .unwrap_or_default()
    }

    /// `struct victim.field`: the member at `off` of the struct that argument `index` (1-based)
    /// of `func` (starting at runtime `addr`) points to.
    pub fn arg_field(&self, func: &str, addr: u64, index: u32, off: u64) -> Option<String> {
        let f = self.file_for(addr)?;
        let i = (index as usize).checked_sub(1)?;
        let (st, m) = f.with(addr, |d, a| d.param_field(func, Some(a), i, off))?;
        Some(format!("{st}.{}", m?))
    }
}

fn load_elf(k: &Kernel, name: &str, src: Rc<Counting>) -> crate::error::Result<DebugFile> {
    let e = elf::ElfFile::parse(&*src)?;
    if e.section(".debug_info").is_none() {
        return Err(
            "no DWARF (.debug_info) in it; give the unstripped file (Debian: the -dbg package)"
                .into(),
        );
    }
    match e.e_type {
        object::elf::ET_REL => load_module(k, name, &e),
        object::elf::ET_EXEC | object::elf::ET_DYN => load_vmlinux(k, &e, src.clone()),
        t => Err(format!("ELF type {t} is neither a vmlinux nor a kernel module").into()),
    }
}

fn load_vmlinux(
    k: &Kernel,
    e: &elf::ElfFile,
    src: Rc<Counting>,
) -> crate::error::Result<DebugFile> {
    let syms = k.symbols();
    let dump_id = k
        .vmcoreinfo
        .build_id
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase());
    let file_id = e.build_id();
    let mut verified = false;
    if let (Some(a), Some(b)) = (&dump_id, &file_id) {
        // VMCOREINFO's BUILD-ID may be the 20-byte id printed in full.
        if a != b {
            return Err(format!(
                "build id {b} differs from the dump's {a}: a vmlinux of another build"
            )
            .into());
        }
        verified = true;
    }
    // The KASLR offset, and a check of it against kallsyms.
    let elf_syms = e.symbols()?;
    let elf_stext = elf_syms
        .iter()
        .find(|s| s.name == "_stext")
        .map(|s| s.value);
    let mem_stext = syms
        .addr_of("_stext")
        .or_else(|| k.vmcoreinfo.symbol("_stext"));
    let bias = match (elf_stext, mem_stext) {
        (Some(f), Some(m)) => m.wrapping_sub(f),
        _ => k.vmcoreinfo.kernel_offset.unwrap_or(0),
    };
    if let (Some(f), Some(m)) = (elf_stext, mem_stext) {
        if let Some(ko) = k.vmcoreinfo.kernel_offset {
            if m.wrapping_sub(f) != ko {
                return Err(format!("_stext at {f:#x} + KASLR offset {ko:#x} is not the dump's _stext {m:#x}: another build").into());
            }
        }
        // Without a build id, a few more symbols must agree.
        if !verified {
            let mut checked = 0;
            for s in elf_syms
                .iter()
                .filter(|s| s.kind() == object::elf::STT_FUNC && s.value != 0)
                .step_by(997)
                .take(20)
            {
                if let Some(a) = syms.addr_of(&s.name) {
                    if a != s.value.wrapping_add(bias) {
                        return Err(format!(
                            "{} is at {:#x} in the dump but {:#x} in this file: another build",
                            s.name,
                            a,
                            s.value.wrapping_add(bias)
                        )
                        .into());
                    }
                    checked += 1;
                }
            }
            if checked == 0 {
                return Err("no build id to compare and no symbol to check it by".into());
            }
        }
    } else if !verified {
        return Err("cannot tell whether it matches the dump (no build id, no _stext)".into());
    }
    let text: Vec<(u64, u64)> = e
        .sections
        .iter()
        .filter(|s| s.flags & object::elf::SHF_EXECINSTR as u64 != 0 && s.addr != 0)
        .map(|s| {
            (
                s.addr.wrapping_add(bias),
                s.addr.wrapping_add(bias).wrapping_add(s.size),
            )
        })
        .collect();
    // .debug_info a unit at a time when it can be read in place (not compressed) and the
    // aranges say where each unit is; else all of it.
    let info = e
        .section(".debug_info")
        .map(|(_, s)| s.clone())
        .filter(|s| s.flags & object::elf::SHF_COMPRESSED as u64 == 0);
    let per_unit = match (info, e.section(".debug_aranges")) {
        (Some(info), Some(_)) => {
            let mut shared = Vec::new();
            for &n in dwarf::SECTIONS.iter().filter(|&&n| n != ".debug_info") {
                if let Some((_, s)) = e.section(n) {
                    shared.push((n, Rc::from(e.read(s)?.into_boxed_slice())));
                }
            }
            dwarf::PerUnit::new(src as Rc<dyn ReadAt>, (info.offset, info.size), shared).ok()
        }
        _ => None,
    };
    let dwarf = match per_unit {
        Some(p) => Dwarfs::PerUnit(p),
        None => Dwarfs::Whole(dwarf::Dwarf::new(|n| {
            e.section(n).and_then(|(_, s)| e.read(s).ok())
        })?),
    };
    Ok(DebugFile {
        name: String::new(),
        scope: Scope::Vmlinux,
        bias,
        ranges: text,
        dwarf,
        load_ms: 0,
        bytes_read: 0,
    })
}

/// `name=` and `vermagic=` from `.modinfo`.
fn modinfo(e: &elf::ElfFile) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    if let Some((_, s)) = e.section(".modinfo") {
        if let Ok(b) = e.read(s) {
            for kv in b.split(|&c| c == 0) {
                let t = String::from_utf8_lossy(kv);
                if let Some((k, v)) = t.split_once('=') {
                    m.entry(k.to_string()).or_insert_with(|| v.to_string());
                }
            }
        }
    }
    m
}

/// The module's name: `.modinfo` `name=`, else (older modules) `struct module`'s name in
/// `.gnu.linkonce.this_module`.
fn module_name(
    k: &Kernel,
    info: &BTreeMap<String, String>,
    e: &elf::ElfFile,
) -> crate::error::Result<String> {
    Ok(match info.get("name") {
        Some(n) => n.clone(),
        None => {
            // Older modules: struct module's name in .gnu.linkonce.this_module.
            let (_, s) = e
                .section(".gnu.linkonce.this_module")
                .ok_or("no module name (.modinfo name= or .gnu.linkonce.this_module)")?;
            let b = e.read(s)?;
            let off = k.offset("module.name").unwrap_or(24) as usize;
            elf::cstr(&b, off)
        }
    })
}

/// Each allocated section's load address, from the module's symbols in kallsyms: every ELF
/// function or object symbol found in the dump gives its section's base; they must agree.
fn section_bases(
    syms: &crate::kernel::symbols::SymbolTable,
    name: &str,
    module: &crate::kernel::symbols::Module,
    e: &elf::ElfFile,
    elf_syms: &[elf::Sym],
) -> crate::error::Result<BTreeMap<u16, u64>> {
    let mut mem: BTreeMap<&str, u64> = BTreeMap::new();
    for s in syms.module_symbols(name) {
        mem.insert(s.name.as_str(), s.addr);
    }
    let mut base: BTreeMap<u16, u64> = BTreeMap::new();
    let mut agree = 0usize;
    for s in elf_syms {
        let kind = s.kind();
        if s.name.is_empty()
            || s.shndx == 0
            || s.shndx >= object::elf::SHN_LORESERVE
            || !(kind == object::elf::STT_FUNC || kind == object::elf::STT_OBJECT)
        {
            continue;
        }
        let Some(&a) = mem.get(s.name.as_str()) else {
            continue;
        };
        let b = a.wrapping_sub(s.value);
        match base.get(&s.shndx) {
            Some(&prev) if prev != b => {
                return Err(format!(
                    "its symbols do not line up with module {name}'s in the dump ({} at {a:#x} implies section base {b:#x}, others {prev:#x}): another build",
                    s.name
                ).into())
            }
            Some(_) => agree += 1,
            None => {
                if !module.contains(a) {
                    continue;
                }
                base.insert(s.shndx, b);
                agree += 1;
            }
        }
    }
    let text_idx = e.section(".text").map(|(i, _)| i as u16);
    if base.is_empty()
        || text_idx.is_some_and(|t| {
            !base.contains_key(&t)
                && elf_syms
                    .iter()
                    .any(|s| s.shndx == t && s.kind() == object::elf::STT_FUNC)
        })
    {
        return Err(format!(
            "none of its functions were found among module {name}'s symbols in the dump"
        )
        .into());
    }
    let _ = agree;
    Ok(base)
}

/// The module's DWARF with its relocations applied against the sections' load addresses.
fn relocated_dwarf(
    e: &elf::ElfFile,
    elf_syms: &[elf::Sym],
    base: &BTreeMap<u16, u64>,
) -> crate::error::Result<Dwarfs> {
    // Relocate: symbol value = its section's load address + st_value (non-allocated sections
    // such as .debug_str sit at 0).
    let sym_value = |i: usize| -> Option<u64> {
        let s = elf_syms.get(i)?;
        if s.shndx == object::elf::SHN_ABS {
            return Some(s.value);
        }
        if s.shndx == 0 || s.shndx >= object::elf::SHN_LORESERVE {
            return None;
        }
        let sec = e.sections.get(s.shndx as usize)?;
        let b = if sec.flags & object::elf::SHF_ALLOC as u64 != 0 {
            *base.get(&s.shndx)?
        } else {
            0
        };
        Some(b.wrapping_add(s.value))
    };
    let mut skipped = 0;
    let dwarf = Dwarfs::Whole(dwarf::Dwarf::new(|n| {
        let (i, s) = e.section(n)?;
        let mut data = e.read(s).ok()?;
        for r in e
            .sections
            .iter()
            .filter(|r| r.kind == object::elf::SHT_RELA && r.info as usize == i)
        {
            if let Ok(rb) = e.read(r) {
                skipped += elf::apply_rela(&mut data, &rb, &sym_value);
            }
        }
        Some(data)
    })?);
    let _ = skipped;
    Ok(dwarf)
}

fn load_module(k: &Kernel, file: &str, e: &elf::ElfFile) -> crate::error::Result<DebugFile> {
    let info = modinfo(e);
    let name = module_name(k, &info, e)?;
    let syms = k.symbols();
    let Some(module) = syms.modules.iter().find(|m| m.name == name) else {
        return Err(format!("module {name} is not loaded in the dump").into());
    };
    // An identity check (was this .ko built for the running kernel?), not a feature switch.
    if let (Some(vm), Some(rel)) = (info.get("vermagic"), k.release()) {
        let built_for = vm.split_whitespace().next().unwrap_or("");
        if built_for != rel {
            return Err(format!("{file} was built for {built_for} (vermagic), the dump runs {rel}: not this module's build").into());
        }
    }
    // Each allocated section's load address, from the module's symbols in kallsyms.
    let elf_syms = e.symbols()?;
    let base = section_bases(syms, &name, module, e, &elf_syms)?;
    let dwarf = relocated_dwarf(e, &elf_syms, &base)?;
    let ranges = base
        .iter()
        .filter_map(|(&i, &b)| {
            let s = e.sections.get(i as usize)?;
            (s.flags & object::elf::SHF_EXECINSTR as u64 != 0).then(|| (b, b.wrapping_add(s.size)))
        })
        .collect();
    Ok(DebugFile {
        name: file.to_string(),
        scope: Scope::Module(name),
        bias: 0,
        ranges,
        dwarf,
        load_ms: 0,
        bytes_read: 0,
    })
}

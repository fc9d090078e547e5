//! The crashed kernel as seen through a dump: VMCOREINFO, address translation, and typed reads
//! of kernel virtual memory. Everything above reads memory through [`Kernel`], never through the
//! container or page tables directly.
//!
//! Built lazily on top, all from the dump alone: [`Kernel::symbols`] (kallsyms + modules'
//! symbols), [`Kernel::btf`] (type layouts), [`Kernel::modules`], [`Kernel::bases`] (direct
//! map, vmemmap, vmalloc), [`Kernel::tasks`], and [`sys::sys_info`]. [`Kernel::symbol`],
//! [`Kernel::offset`] and [`Kernel::size`] answer from VMCOREINFO first and fall back to
//! kallsyms / BTF, so a missing or partial VMCOREINFO degrades instead of failing.

pub mod bases;
pub mod btf;
pub mod cpus;
pub mod kallsyms;
pub mod kallsyms_scan;
pub mod locks;
pub mod mem;
pub mod modules;
pub mod paging;
pub mod printk;
pub mod slab;
pub mod symbols;
pub mod sys;
pub mod tasks;
pub mod unreadable;
pub mod vmcoreinfo;

use crate::dump::{ContainerInfo, Dump, QemuCpuState, Regs, VirtRange};
use crate::error::MemError;
use paging::{Paging, START_KERNEL_MAP};
use std::cell::{Cell, OnceCell, RefCell};
pub use symbols::{format_symbol, Module, Symbol, SymbolTable};
pub use unreadable::{FailedRead, Unreadable};
pub use vmcoreinfo::VmcoreInfo;

pub struct Kernel {
    /// The container: private, so that everything above reads memory, notes and metadata
    /// through the kernel's own questions ([`Kernel::read`], [`Kernel::cpu_regs`],
    /// [`Kernel::container`], ...).
    dump: Dump,
    pub vmcoreinfo: VmcoreInfo,
    pub paging: Paging,
    /// What could not be derived, in plain words (shown in the report).
    pub warnings: Vec<String>,
    /// vmlinux + module symbols, read on first use ([`Kernel::symbols`]).
    symbols: OnceCell<SymbolTable>,
    /// vmlinux BTF from memory, read while building the symbol table ([`Kernel::btf`]).
    btf: OnceCell<Option<btf::Btf>>,
    /// page_offset_base & co, with warnings about defaults used ([`Kernel::bases`]).
    bases: OnceCell<(bases::Bases, Vec<String>)>,
    /// Every task, with what could not be read ([`Kernel::tasks`]).
    tasks: OnceCell<(Vec<tasks::Task>, Vec<String>)>,
    /// task_struct offsets ([`Kernel::task_layout`]).
    task_layout: OnceCell<crate::error::Result<tasks::TaskLayout>>,
    /// vmlinux symbols from a System.map the user gave, used when kallsyms cannot be read.
    system_map: OnceCell<Vec<Symbol>>,
    /// Set by [`Kernel::ignore_orc`].
    no_orc: Cell<bool>,
    /// Saved registers by CPU number, and the CPU count ([`Kernel::cpus`]).
    cpus: OnceCell<cpus::Cpus>,
    /// Pages asked for that the dump could not deliver ([`Kernel::unreadable`]).
    failed: RefCell<Unreadable>,
    /// What is being read, for [`Kernel::unreadable`] ([`Kernel::reading`]), and whether it is
    /// a search ([`Kernel::probing`]).
    reading: Cell<(&'static str, bool)>,
}

impl Kernel {
    pub fn new(dump: Dump) -> Kernel {
        let mut warnings = Vec::new();
        let vmcoreinfo = match &dump.notes.vmcoreinfo {
            Some(t) => VmcoreInfo::parse(t),
            None => {
                warnings.push(
                    "the dump has no VMCOREINFO note: kernel release, symbols and the log may be unavailable".into(),
                );
                VmcoreInfo::default()
            }
        };
        let phys_base = Self::phys_base(&dump, &vmcoreinfo, &mut warnings);
        let five_level = vmcoreinfo.number("pgtable_l5_enabled").unwrap_or(0) != 0;
        let sme_mask = vmcoreinfo.number("sme_mask").unwrap_or(0) as u64;
        let image = vmcoreinfo
            .number("KERNEL_IMAGE_SIZE")
            .map(|v| v as u64)
            .unwrap_or(1 << 30);
        let mut paging = Paging::new(None, five_level, phys_base, sme_mask, image);
        // init_top_pgt (4.13+), init_level4_pgt (older kernels).
        let top_sym = ["init_top_pgt", "init_level4_pgt", "swapper_pg_dir"]
            .iter()
            .find_map(|s| vmcoreinfo.symbol(s));
        paging.top_pgt = top_sym.and_then(|v| paging.text_to_phys(v)).or_else(|| {
            // No symbol: the CR3 QEMU saved for a CPU holds some process's tables, whose kernel half
            // is the same as init_top_pgt's.
            let cr3 = dump
                .notes
                .qemu_cpus
                .iter()
                .map(|c| c.cr[3])
                .find(|&c| c != 0);
            if cr3.is_some() {
                warnings.push(
                    "kernel page tables located from the CPU's CR3 (no init_top_pgt in VMCOREINFO)"
                        .into(),
                );
            }
            cr3.map(|c| c & !0xfff)
        });
        if paging.top_pgt.is_none() {
            warnings.push(
                "kernel page tables not found: only kernel-image addresses can be read".into(),
            );
        }
        if let (Some(top), Some(i)) = (
            paging.top_pgt,
            warnings
                .iter()
                .position(|w| w.starts_with("phys_base unknown")),
        ) {
            // The page tables map the image: phys_base = phys(_text) - (_text - __START_KERNEL_map),
            // with _text the first mapped 2 MiB (cleanup_highmap() unmaps what lies below it).
            let found = (0..512u64).find_map(|n| {
                let v = START_KERNEL_MAP + (n << 21);
                paging
                    .walk(&dump, top, v)
                    .ok()
                    .map(|p| p.wrapping_sub(v - START_KERNEL_MAP))
            });
            if let Some(pb) = found {
                paging.phys_base = pb;
                warnings[i] = format!(
                    "phys_base not in VMCOREINFO: {pb:#x} derived from the kernel page tables"
                );
            }
        }
        Kernel {
            dump,
            vmcoreinfo,
            paging,
            warnings,
            symbols: OnceCell::new(),
            btf: OnceCell::new(),
            bases: OnceCell::new(),
            tasks: OnceCell::new(),
            task_layout: OnceCell::new(),
            system_map: OnceCell::new(),
            no_orc: Cell::new(false),
            cpus: OnceCell::new(),
            failed: RefCell::new(Unreadable::default()),
            reading: Cell::new(("", false)),
        }
    }

    /// What kind of file the dump is, with what was learned while opening it.
    pub fn container(&self) -> &ContainerInfo {
        &self.dump.info
    }

    /// Whether the dump has a VMCOREINFO note.
    pub fn has_vmcoreinfo(&self) -> bool {
        self.dump.notes.vmcoreinfo.is_some()
    }

    /// Physical ranges `[start, end)` the dump describes (present or excluded).
    pub fn physical_ranges(&self) -> Vec<(u64, u64)> {
        self.dump.mem.ranges()
    }

    /// Kernel-virtual ranges the container maps itself (ELF PT_LOADs with a virtual address).
    pub fn virt_ranges(&self) -> &[VirtRange] {
        &self.dump.virt_ranges
    }

    /// Saved registers by CPU number and the CPU count, worked out once ([`cpus::Cpus`]).
    pub fn cpus(&self) -> &cpus::Cpus {
        self.cpus.get_or_init(|| {
            self.reading("the CPU notes", || cpus::Cpus::read(self, &self.dump.notes))
        })
    }

    /// The machine's CPU count: the weight of `__cpu_present_mask`, else one past the highest
    /// CPU the dump holds registers for. The one count every part of crashlens uses.
    pub fn nr_cpus(&self) -> u32 {
        self.cpus().count
    }

    /// The registers CPU `cpu` saved at the crash (its NT_PRSTATUS note), matched to the CPU by
    /// number ([`cpus`]).
    pub fn cpu_regs(&self, cpu: u32) -> Option<Regs> {
        self.cpus().regs.get(cpu as usize).copied().flatten()
    }

    /// The CPUs the dump holds registers for, in CPU order.
    pub fn cpus_with_regs(&self) -> Vec<u32> {
        let c = self.cpus();
        (0..c.regs.len() as u32)
            .filter(|&i| c.regs[i as usize].is_some())
            .collect()
    }

    /// QEMU's CPU state note of CPU `cpu` (control registers, GS bases), in QEMU dumps.
    pub fn qemu_cpu(&self, cpu: u32) -> Option<&QemuCpuState> {
        self.cpus().qemu.get(cpu as usize)
    }

    /// Runs `f` with reads labelled `what` in [`Kernel::unreadable`] (e.g. "BTF", "the kernel
    /// log"); the outer label is restored after.
    pub fn reading<R>(&self, what: &'static str, f: impl FnOnce() -> R) -> R {
        let outer = self.reading.replace((what, false));
        let r = f();
        self.reading.set(outer);
        r
    }

    /// As [`Kernel::reading`], for a search through memory that expects holes (a scan for the
    /// kallsyms tables): pages makedumpfile filtered out there are not data the analysis
    /// lacked. Pages past the end of a truncated file still are.
    pub fn probing<R>(&self, what: &'static str, f: impl FnOnce() -> R) -> R {
        let outer = self.reading.replace((what, true));
        let r = f();
        self.reading.set(outer);
        r
    }

    /// Every page the analysis asked for that the dump could not deliver so far: past the end
    /// of a truncated file, filtered out by makedumpfile, or unreadable, with the first few.
    pub fn unreadable(&self) -> Unreadable {
        self.failed.borrow().clone()
    }

    /// Records a failed read of `vaddr` (0 for a page-table read) if the dump lacks the page.
    fn note_failure(&self, vaddr: u64, e: &MemError) {
        let (what, probe) = self.reading.get();
        self.failed.borrow_mut().record(vaddr, e, what, probe);
    }

    /// Symbols (at runtime addresses) from a System.map, for when kallsyms cannot be read from
    /// memory. False when the symbol table was already built (then it is not used).
    pub fn set_system_map(&self, syms: Vec<Symbol>) -> bool {
        self.symbols.get().is_none() && self.system_map.set(syms).is_ok()
    }

    /// The symbol table (kallsyms of vmlinux + every module's symbols), built on first use.
    /// Empty, with its `warnings` saying why, when nothing could be read.
    pub fn symbols(&self) -> &SymbolTable {
        self.symbols
            .get_or_init(|| self.reading("the kernel symbols", || self.build_symbols()))
    }

    /// Every task (per-CPU idle tasks first, then each thread of each process), read once; the
    /// second element says what could not be read (no BTF, a broken list...).
    pub fn tasks(&self) -> &(Vec<tasks::Task>, Vec<String>) {
        self.tasks.get_or_init(|| {
            let mut w = Vec::new();
            match self.reading("the task list", || tasks::all_tasks(self, &mut w)) {
                Ok(v) => (v, w),
                Err(e) => {
                    w.push(format!("tasks unavailable: {e}"));
                    (Vec::new(), w)
                }
            }
        })
    }

    /// task_struct offsets: from BTF, else learned from memory ([`tasks::TaskLayout::learn`]).
    pub fn task_layout(&self) -> crate::error::Result<&tasks::TaskLayout> {
        self.task_layout
            .get_or_init(|| {
                tasks::TaskLayout::from_btf(self).or_else(|e| {
                    tasks::TaskLayout::learn(self).map_err(|l| {
                        crate::error::Error::Invalid(format!(
                            "{e}; learning it from memory failed: {l}"
                        ))
                    })
                })
            })
            .as_ref()
            .map_err(|e| e.clone())
    }

    /// A symbol's address: VMCOREINFO `SYMBOL(name)`, else kallsyms.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.vmcoreinfo
            .symbol(name)
            .or_else(|| self.symbols().addr_of(name))
    }

    /// `OFFSET(struct.member)`: VMCOREINFO, else BTF (`member` may be a path `a.b`).
    pub fn offset(&self, key: &str) -> Option<u64> {
        self.vmcoreinfo.offset(key).or_else(|| {
            let (st, path) = key.split_once('.')?;
            self.btf()?.member_offset(st, path)
        })
    }

    /// `SIZE(struct)`: VMCOREINFO, else BTF.
    pub fn size(&self, name: &str) -> Option<u64> {
        self.vmcoreinfo
            .size(name)
            .or_else(|| self.btf()?.struct_size(name))
    }

    /// page_offset_base, vmemmap_base, vmalloc_base (read from their variables).
    pub fn bases(&self) -> &bases::Bases {
        &self.bases_and_warnings().0
    }

    /// [`Kernel::bases`] and what had to be assumed.
    pub fn bases_and_warnings(&self) -> &(bases::Bases, Vec<String>) {
        self.bases.get_or_init(|| {
            let mut w = Vec::new();
            (bases::Bases::read(self, &mut w), w)
        })
    }

    /// Physical address -> its direct-map virtual address.
    pub fn phys_to_virt(&self, paddr: u64) -> u64 {
        self.bases().page_offset_base.wrapping_add(paddr)
    }

    /// Kernel virtual -> physical: the direct map and the kernel image by formula (checked
    /// against nothing else), everything else through the page tables.
    pub fn virt_to_phys(&self, vaddr: u64) -> Result<u64, MemError> {
        let po = self.bases().page_offset_base;
        // The direct map spans at most 64 TiB (4-level) / 32 PiB (5-level).
        let span: u64 = if self.paging.five_level {
            1 << 55
        } else {
            1 << 46
        };
        if vaddr >= po && vaddr - po < span {
            return Ok(vaddr - po);
        }
        if let Some(p) = self.paging.text_to_phys(vaddr) {
            return Ok(p);
        }
        self.translate(vaddr)
    }

    /// `struct page` address of a page frame number (vmemmap + pfn * SIZE(page)).
    pub fn pfn_to_page(&self, pfn: u64) -> u64 {
        let size = self.vmcoreinfo.size("page").unwrap_or(64);
        self.bases()
            .vmemmap_base
            .wrapping_add(pfn.wrapping_mul(size))
    }

    /// Page frame number of a `struct page` address, if it is in vmemmap.
    pub fn page_to_pfn(&self, page: u64) -> Option<u64> {
        let size = self.vmcoreinfo.size("page").unwrap_or(64);
        let off = page.checked_sub(self.bases().vmemmap_base)?;
        (off % size == 0).then(|| off / size)
    }

    /// Makes the kernel work without BTF (as on kernels built without CONFIG_DEBUG_INFO_BTF),
    /// so that the heuristic layouts are used. Only effective before the first symbol lookup;
    /// returns whether it took effect.
    pub fn ignore_btf(&self) -> bool {
        self.btf.set(None).is_ok()
    }

    /// Makes the unwinder work without the ORC tables, as on kernels built without them (before
    /// 4.14, or with CONFIG_UNWINDER_FRAME_POINTER): frame pointers, exception frames found on
    /// the stack by their shape, and the stack scan.
    pub fn ignore_orc(&self) {
        self.no_orc.set(true);
    }

    /// Whether [`Kernel::ignore_orc`] was called.
    pub fn orc_ignored(&self) -> bool {
        self.no_orc.get()
    }

    /// vmlinux's BTF from the dump's memory (`__start_BTF`..`__stop_BTF`), if the kernel has it.
    pub fn btf(&self) -> Option<&btf::Btf> {
        self.symbols();
        self.btf.get().and_then(|b| b.as_ref())
    }

    /// Loaded modules (name, base, size, taint), newest first.
    pub fn modules(&self) -> &[Module] {
        &self.symbols().modules
    }

    fn load_btf(
        &self,
        start: Option<u64>,
        stop: Option<u64>,
        warnings: &mut Vec<String>,
    ) -> Option<btf::Btf> {
        let (start, stop) = (start?, stop?);
        let len = stop
            .checked_sub(start)
            .filter(|&l| l > 24 && l < 256 << 20)?;
        let r = self
            .reading("BTF", || self.read_bytes(start, len as usize))
            .map_err(crate::error::Error::from)
            .and_then(|b| btf::Btf::parse(&b));
        match r {
            Ok(b) => Some(b),
            Err(e) => {
                warnings.push(format!("BTF at {start:#x} unreadable: {e}"));
                None
            }
        }
    }

    fn build_symbols(&self) -> SymbolTable {
        #[cfg(not(target_arch = "wasm32"))]
        let t0 = std::time::Instant::now();
        let mut warnings = Vec::new();
        let mut known = self.vmcoreinfo.symbols.clone();
        // Symbols that are not in kallsyms or that VMCOREINFO gives outside the image.
        known.retain(|_, &mut a| self.paging.text_to_phys(a).is_some());
        if known.is_empty() {
            // No VMCOREINFO symbols (the note is missing or empty): the kernel's page tables
            // (found from a CPU's CR3) still map the image, and cleanup_highmap() leaves nothing
            // mapped below _text, so the first mapped 2 MiB of __START_KERNEL_map is _text.
            if let Some(text) = (0..512u64)
                .map(|i| START_KERNEL_MAP + (i << 21))
                .find(|&v| self.translate(v).is_ok())
            {
                warnings.push(format!("no VMCOREINFO symbols: kernel image located at {text:#x} (_text) from the page tables"));
                known.insert("_text".into(), text);
            }
        }
        let from_keys = kallsyms::Tables::from_vmcoreinfo(&self.vmcoreinfo)
            .map(|t| kallsyms::read(self, &t, &known));
        // vmlinux's symbols: kallsyms kept compressed (`ks`), or a System.map's (`eager`).
        let (ks, mut eager, source) = match from_keys {
            Some(Ok((ks, enc))) => (
                Some(ks),
                Vec::new(),
                format!("kallsyms (VMCOREINFO), {enc}"),
            ),
            other => {
                // No keys (before 6.0), or keys that do not lead to a consistent table (a damaged
                // or foreign VMCOREINFO): look for the tables by their structure.
                let why = match other {
                    Some(Err(e)) => {
                        warnings.push(format!("kallsyms at the VMCOREINFO addresses unusable ({e}); searching the kernel image"));
                        "the VMCOREINFO kallsyms keys are unusable"
                    }
                    _ => "VMCOREINFO has no kallsyms keys",
                };
                match self.probing("a scan of the kernel image for kallsyms", || {
                    kallsyms_scan::scan(self, &known)
                }) {
                    Ok((ks, _, enc)) => (
                        Some(ks),
                        Vec::new(),
                        format!("kallsyms (found by scanning the kernel image: {why}), {enc}"),
                    ),
                    Err(e) => match self.system_map.get() {
                        Some(m) => {
                            warnings.push(format!("kallsyms unreadable ({why}; scanning the kernel image failed: {e}): symbols from the System.map given"));
                            (
                                None,
                                m.clone(),
                                "System.map (given by the user)".to_string(),
                            )
                        }
                        None => {
                            warnings.push(format!("kernel symbols unavailable: {why} and scanning the kernel image failed: {e}"));
                            (None, Vec::new(), String::new())
                        }
                    },
                }
            }
        };
        // A vmlinux symbol's address (the first of that name in table order).
        let find = |name: &str| match &ks {
            Some(k) => k.addr_of(name),
            None => eager
                .iter()
                .find(|s| s.name == name && s.module.is_none())
                .map(|s| s.addr),
        };
        let btf = self
            .btf
            .get_or_init(|| self.load_btf(find("__start_BTF"), find("__stop_BTF"), &mut warnings));
        let mut mods = Vec::new();
        let any = ks.as_ref().is_some_and(|k| !k.is_empty()) || !eager.is_empty();
        match find("modules") {
            Some(head) => {
                let scan = self.reading("the module list", || {
                    modules::read_modules(self, head, btf.as_ref())
                });
                warnings.extend(scan.warnings);
                eager.extend(scan.symbols);
                mods = scan.modules;
            }
            None if any => warnings.push("no `modules` symbol: loaded modules unknown".into()),
            None => {}
        }
        let mut t = SymbolTable::with_kallsyms(ks, eager, mods, source);
        t.warnings = warnings;
        #[cfg(not(target_arch = "wasm32"))]
        {
            t.load_ms = t0.elapsed().as_millis() as u64;
        }
        t
    }

    /// phys_base from VMCOREINFO (NUMBER, 4.x+), else from the container (kdump sub-header or
    /// a PT_LOAD that maps kernel text).
    fn phys_base(dump: &Dump, vi: &VmcoreInfo, warnings: &mut Vec<String>) -> u64 {
        if let Some(n) = vi.number("phys_base") {
            return n as u64;
        }
        if let Some(r) = dump
            .virt_ranges
            .iter()
            .find(|r| r.vaddr >= START_KERNEL_MAP && r.vaddr < 0xffff_ffff_c000_0000)
        {
            return r.paddr.wrapping_sub(r.vaddr - START_KERNEL_MAP);
        }
        if let Some(pb) = dump.info.phys_base {
            return pb;
        }
        warnings.push("phys_base unknown; assuming 0".into());
        0
    }

    /// VMCOREINFO's OSRELEASE: shown, and compared for identity (a module's vermagic, a split
    /// dump's parts), never parsed to choose a layout — distributions backport changes, so the
    /// dump's own tables, BTF and shapes decide (ORC format, struct layouts, timekeeper).
    pub fn release(&self) -> Option<&str> {
        self.vmcoreinfo.osrelease.as_deref()
    }

    pub fn translate(&self, vaddr: u64) -> Result<u64, MemError> {
        self.paging
            .translate(&self.dump, vaddr)
            .inspect_err(|e| self.note_failure(vaddr, e))
    }

    /// Reads kernel virtual memory. Pages that follow each other in physical memory too are
    /// read with one physical read (the BTF blob, the ORC and kallsyms tables: a few calls to a
    /// browser file instead of one per cache block); a failing run is read again page by page,
    /// so the failure is recorded at the page that failed.
    pub fn read(&self, vaddr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        /// At most this much in one physical read.
        const RUN: usize = 8 << 20;
        let mut done = 0usize;
        while done < buf.len() {
            let va = vaddr.wrapping_add(done as u64);
            let first = (buf.len() - done).min((4096 - (va & 4095)) as usize);
            let pa = self.translate(va)?;
            let mut n = first;
            while done + n < buf.len() && n < RUN {
                let next = va.wrapping_add(n as u64);
                match self.paging.translate(&self.dump, next) {
                    Ok(p) if p == pa.wrapping_add(n as u64) => {
                        n += (buf.len() - done - n).min(4096);
                    }
                    _ => break,
                }
            }
            if n > first && self.dump.read_phys(pa, &mut buf[done..done + n]).is_ok() {
                done += n;
                continue;
            }
            let end = done + n;
            while done < end {
                let va = vaddr.wrapping_add(done as u64);
                let m = (end - done).min((4096 - (va & 4095)) as usize);
                let pa = self.translate(va)?;
                self.dump
                    .read_phys(pa, &mut buf[done..done + m])
                    .inspect_err(|e| self.note_failure(va, e))?;
                done += m;
            }
        }
        Ok(())
    }

    pub fn read_bytes(&self, vaddr: u64, len: usize) -> Result<Vec<u8>, MemError> {
        let mut v = vec![0u8; len];
        self.read(vaddr, &mut v)?;
        Ok(v)
    }
    pub fn read_u64(&self, vaddr: u64) -> Result<u64, MemError> {
        let mut b = [0u8; 8];
        self.read(vaddr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    pub fn read_u32(&self, vaddr: u64) -> Result<u32, MemError> {
        let mut b = [0u8; 4];
        self.read(vaddr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    pub fn read_u16(&self, vaddr: u64) -> Result<u16, MemError> {
        let mut b = [0u8; 2];
        self.read(vaddr, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    pub fn read_u8(&self, vaddr: u64) -> Result<u8, MemError> {
        let mut b = [0u8; 1];
        self.read(vaddr, &mut b)?;
        Ok(b[0])
    }
    /// A NUL-terminated string of at most `max` bytes.
    pub fn read_cstr(&self, vaddr: u64, max: usize) -> Result<String, MemError> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 64];
        while out.len() < max {
            let n = chunk
                .len()
                .min(max - out.len())
                .min((4096 - ((vaddr + out.len() as u64) & 4095)) as usize);
            self.read(vaddr + out.len() as u64, &mut chunk[..n])?;
            if let Some(z) = chunk[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..z]);
                return Ok(String::from_utf8_lossy(&out).into_owned());
            }
            out.extend_from_slice(&chunk[..n]);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

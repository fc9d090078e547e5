//! The kernel memory model on the real fixtures: kallsyms, modules, BTF, sys, against the crash /
//! drgn oracles. Each test skips (with a note) when its fixture is absent.

use crashlens::kernel::Kernel;

mod common;
use common::*;
use crashlens::source::FileSource;

#[test]
fn kallsyms_known_symbols() {
    for (name, p) in dumps(&[F61, F612]) {
        let s = open_path(&p);
        let k: &Kernel = &s.kernel;
        let t = k.symbols();
        assert!(t.warnings.is_empty(), "{name}: {:?}", t.warnings);
        assert!(
            t.kernel_count > 50_000,
            "{name}: only {} symbols",
            t.kernel_count
        );
        let stext = k.vmcoreinfo.symbol("_stext").unwrap();
        assert_eq!(t.addr_of("_stext"), Some(stext), "{name}");
        assert_eq!(
            t.addr_of("init_top_pgt"),
            k.vmcoreinfo.symbol("init_top_pgt"),
            "{name}"
        );
        assert_eq!(
            t.addr_of("init_uts_ns"),
            k.vmcoreinfo.symbol("init_uts_ns"),
            "{name}"
        );
        // Every VMCOREINFO SYMBOL in the kernel image that kallsyms has agrees with it.
        for (sym, &a) in &k.vmcoreinfo.symbols {
            if let Some(b) = t.addr_of(sym) {
                if k.paging.text_to_phys(a).is_some() {
                    assert_eq!(a, b, "{name}: {sym}");
                }
            }
        }
        let (sym, off) = t.lookup(stext + 5).unwrap();
        assert_eq!((sym.addr, off), (stext, 5));
        eprintln!(
            "{name}: {} symbols ({}), {} ms",
            t.len(),
            t.source,
            t.load_ms
        );
    }
}

#[test]
fn sym_of_fault_rip_equals_crash() {
    let Some(s) = open(F61) else { return };
    let t = s.kernel.symbols();
    let rip = 0xffffffffc033d0fb;
    let (sym, off) = t.lookup(rip).unwrap();
    let want = oracle(F61, "crash-sym.txt").unwrap();
    // crash adds the source line from the .ko's DWARF, which crashlens does not load here.
    let want = want
        .lines()
        .next()
        .unwrap()
        .split(" /usr/src")
        .next()
        .unwrap();
    assert_eq!(
        crashlens::kernel::symbols::crash_sym_line(rip, sym, off),
        want
    );
    assert_eq!(
        t.format(rip).unwrap(),
        "fixture_null_deref+0x15/0x1f [vmcore_fixture]"
    );
    // The console's RIP line says the same.
    let console = oracle(F61, "console.log").unwrap();
    assert!(console.contains("RIP: 0010:fixture_null_deref+0x15/0x1f [vmcore_fixture]"));
}

#[test]
fn sym_of_fault_rip_612() {
    let Some(s) = open(F612) else { return };
    let t = s.kernel.symbols();
    assert_eq!(
        t.format(0xffffffffc05040a7).unwrap(),
        "fixture_provoke+0x67/0xa0 [vmcore_fixture]"
    );
    let console = oracle(F612, "console.log").unwrap();
    assert!(console.contains("RIP: 0010:fixture_provoke+0x67/0xa0 [vmcore_fixture]"));
}

#[test]
fn modules_equal_crash_mod() {
    let Some(s) = open(F61) else { return };
    let mods = s.kernel.modules();
    let rows: Vec<crashlens::report::ModuleInfo> = mods.iter().map(Into::into).collect();
    let got = crashlens::render::modules::render(&rows);
    assert_eq!(got, oracle(F61, "crash-mod.txt").unwrap());
    let fx = mods.iter().find(|m| m.name == "vmcore_fixture").unwrap();
    assert_eq!(fx.taint, "OE");
    assert!(fx.nsyms > 5);
}

#[test]
fn modules_equal_drgn_mod() {
    let Some(s) = open(F612) else { return };
    let mods = s.kernel.modules();
    let got: Vec<(String, u64)> = mods.iter().map(|m| (m.name.clone(), m.base)).collect();
    let want: Vec<(String, u64)> = oracle(F612, "drgn-mod.txt")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((
                w.next()?.to_string(),
                u64::from_str_radix(w.next()?.trim_start_matches("0x"), 16).ok()?,
            ))
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn btf_from_memory() {
    for (name, p) in dumps(&[F61, F612]) {
        let s = open_path(&p);
        let b = s
            .kernel
            .btf()
            .unwrap_or_else(|| panic!("{name}: Debian kernels have BTF"));
        // VMCOREINFO gives some offsets too: BTF must agree.
        let vi = &s.kernel.vmcoreinfo;
        assert_eq!(
            b.member_offset("page", "_refcount"),
            vi.offset("page._refcount")
        );
        assert_eq!(
            b.member_offset("page", "mapping"),
            vi.offset("page.mapping")
        );
        assert_eq!(b.struct_size("page"), vi.size("page"));
        assert_eq!(
            b.member_offset("printk_info", "caller_id"),
            vi.offset("printk_info.caller_id")
        );
        assert_eq!(b.field_at("page", 52).as_deref(), Some("_refcount.counter"));
        assert!(b.member_offset("task_struct", "thread.sp").is_some());
        assert!(b.struct_size("inactive_task_frame").is_some());
    }
}

/// `KEY: value` lines of crash's sys.
fn crash_sys_fields(text: &str) -> std::collections::HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn sys_equals_crash_sys() {
    let Some(s) = open(F61) else { return };
    let info = crashlens::kernel::sys::sys_info(&s.kernel);
    let want = crash_sys_fields(&oracle(F61, "crash-sys.txt").unwrap());
    let got = crash_sys_fields(&crashlens::render::sys::render(&info, Some("vmcore")));
    for key in [
        "DUMPFILE",
        "CPUS",
        "DATE",
        "UPTIME",
        "LOAD AVERAGE",
        "NODENAME",
        "RELEASE",
        "VERSION",
        "MACHINE",
        "MEMORY",
        "PANIC",
    ] {
        assert_eq!(got.get(key), want.get(key), "sys {key}");
    }
    // crash 8.0.2 sees only 3 tasks on these dumps (README); drgn/crashlens see them all.
    assert!(info.tasks.unwrap() > 50);
    assert_eq!(info.date_source.as_deref(), Some("timekeeper (tk_core)"));
    assert_eq!(
        info.uptime_source.as_deref(),
        Some("jiffies, HZ 250 from tick_nsec")
    );
    // O, E from the module; D from the oops itself.
    assert_eq!(info.tainted.as_deref(), Some("DOE"));
    let p = info.panic_task.unwrap();
    assert_eq!(
        (p.pid, p.comm.as_str(), p.cpu, p.task),
        (103, "sh", 0, 0xffff897482934180)
    );
    // crash's ps marks the active tasks: sh on CPU 0, swapper/1 on CPU 1.
    use crashlens::kernel::tasks;
    assert_eq!(tasks::current_task(&s.kernel, 0), Some(0xffff897482934180));
    assert_eq!(tasks::current_task(&s.kernel, 1), Some(0xffff897481264180));
    let (all, _) = s.kernel.tasks();
    let idle: Vec<(u64, &str)> = all
        .iter()
        .filter(|t| t.idle)
        .map(|t| (t.addr, t.comm.as_str()))
        .collect();
    assert_eq!(
        idle,
        vec![
            (0xffffffffa841aa40, "swapper/0"),
            (0xffff897481264180, "swapper/1")
        ]
    );
    for cpu in 0..2 {
        let irq = tasks::per_cpu_addr(&s.kernel, "hardirq_stack_ptr", cpu).unwrap();
        assert!(s.kernel.read_u64(irq).unwrap() > 0xff00_0000_0000_0000);
    }
}

#[test]
fn tasks_equal_drgn_ps() {
    let Some(s) = open(F612) else { return };
    let mut w = Vec::new();
    let tasks = crashlens::kernel::tasks::all_tasks(&s.kernel, &mut w).unwrap();
    assert!(w.is_empty(), "{w:?}");
    let got: Vec<String> = tasks
        .iter()
        .filter(|t| !t.idle)
        .map(|t| {
            format!(
                "{:>6} {:>6} {:>3} {} {}",
                t.pid, t.ppid, t.cpu, t.state, t.comm
            )
        })
        .collect();
    let want: Vec<String> = oracle(F612, "drgn-ps.txt")
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.to_string())
        .collect();
    let mut g = got.clone();
    let mut wv = want.clone();
    g.sort();
    wv.sort();
    assert_eq!(g, wv);
    // The idle tasks of both CPUs, and sys's panic task is the crashing `sh`.
    assert_eq!(tasks.iter().filter(|t| t.idle).count(), 2);
    let p = crashlens::kernel::sys::panic_task(&s.kernel).unwrap();
    assert_eq!((p.pid, p.comm.as_str(), p.cpu), (158, "sh", 1));
    // Every switched-out task's saved stack pointer lies in its own stack.
    for t in tasks.iter().filter(|t| t.state != 'R') {
        assert!(
            t.sp > t.stack && t.sp < t.stack + 0x8000,
            "{} {:#x} {:#x}",
            t.comm,
            t.sp,
            t.stack
        );
    }
}

#[test]
fn direct_map_both_ways() {
    for (name, p) in dumps(&[F61, F612]) {
        let s = open_path(&p);
        let k = &s.kernel;
        let b = *k.bases();
        assert_eq!(b.source, "variable", "{name}");
        // mem_section (VMCOREINFO) lives in the direct map: the formula and the page tables agree.
        let ms = k.vmcoreinfo.symbol("mem_section").unwrap();
        let pa = k.virt_to_phys(ms).unwrap();
        assert_eq!(k.translate(ms).unwrap(), pa, "{name}");
        assert_eq!(k.phys_to_virt(pa), ms);
        // vmemmap: the struct page of mem_section's page maps back to its pfn.
        let page = k.pfn_to_page(pa >> 12);
        assert_eq!(k.page_to_pfn(page), Some(pa >> 12));
        assert!(k.read_u64(page).is_ok(), "{name}: struct page readable");
        assert!(b.vmalloc_base >= 0xff00_0000_0000_0000);
    }
}

/// A Kernel over the fixture whose VMCOREINFO has lost its kallsyms lines (as on 3.10-5.x).
fn kernel_without_kallsyms_keys(p: &std::path::Path) -> Option<Kernel> {
    let src: std::rc::Rc<dyn crashlens::source::ReadAt> =
        std::rc::Rc::new(FileSource::open(&p).ok()?);
    let mut d = crashlens::dump::open(src).ok()?;
    let vi = d.notes.vmcoreinfo.take()?;
    let stripped: String = vi
        .lines()
        .filter(|l| !l.contains("kallsyms"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(stripped.len() < vi.len());
    d.notes.vmcoreinfo = Some(stripped);
    Some(Kernel::new(d))
}

#[test]
fn kallsyms_found_without_vmcoreinfo_keys() {
    for (name, p) in dumps(&[F61, F612]) {
        let k = kernel_without_kallsyms_keys(&p).expect("a dump with VMCOREINFO");
        assert!(k.vmcoreinfo.symbol("kallsyms_names").is_none());
        let t = k.symbols();
        assert!(t.warnings.is_empty(), "{name}: {:?}", t.warnings);
        assert!(t.source.contains("scanning"), "{}", t.source);
        // Same table as through the VMCOREINFO keys.
        let s = open_path(&p);
        let full = s.kernel.symbols();
        assert_eq!(t.kernel_count, full.kernel_count, "{name}");
        assert_eq!(t.len(), full.len(), "{name}");
        for sym in [
            "_stext",
            "init_top_pgt",
            "panic",
            "modules",
            "page_offset_base",
            "__start_BTF",
        ] {
            assert_eq!(t.addr_of(sym), full.addr_of(sym), "{name}: {sym}");
        }
        assert_eq!(t.modules.len(), 5);
        eprintln!(
            "{name}: {} symbols via scan in {} ms ({})",
            t.len(),
            t.load_ms,
            t.source
        );
    }
}

/// No VMCOREINFO at all (some hypervisors write none): say what is missing, go on with the rest.
#[test]
fn no_vmcoreinfo_at_all() {
    let Some(p) = elf(F61) else { return };
    let src: std::rc::Rc<dyn crashlens::source::ReadAt> =
        std::rc::Rc::new(FileSource::open(&p).unwrap());
    let mut d = crashlens::dump::open(src).unwrap();
    d.notes.vmcoreinfo = None;
    let k = Kernel::new(d);
    assert!(
        k.warnings.iter().any(|w| w.contains("VMCOREINFO")),
        "{:?}",
        k.warnings
    );
    let t = k.symbols();
    eprintln!(
        "symbols: {} ({}); warnings {:?}",
        t.len(),
        t.source,
        t.warnings
    );
    assert_eq!(t.addr_of("_stext"), Some(0xffffffffa6a00000));
    assert_eq!(
        t.format(0xffffffffc033d0fb).unwrap(),
        "fixture_null_deref+0x15/0x1f [vmcore_fixture]"
    );
    let sys = crashlens::kernel::sys::sys_info(&k);
    assert_eq!(sys.release.as_deref(), Some("6.1.0-56-cloud-amd64"));
    assert_eq!(
        sys.date_text.as_deref(),
        Some("Wed Nov 25 17:39:04 UTC 2026")
    );
    // The report still comes out, partial, with the reasons.
    let r = crashlens::report::build::report_of(&k);
    assert_eq!(r.kernel.release.as_deref(), Some("6.1.0-56-cloud-amd64"));
    assert_eq!(r.modules.len(), 5);
    eprintln!("report warnings: {:?}", r.warnings);
    // The log, with printk offsets from BTF and `prb` from kallsyms, equals makedumpfile's.
    let log = crashlens::kernel::printk::read_log(&k).unwrap();
    assert_eq!(
        crashlens::render::log::render(&log),
        oracle(F61, "makedumpfile-dmesg.txt").unwrap()
    );
    assert_eq!(r.panic.pid, Some(103));
}

#[test]
fn phys_base_from_page_tables_without_vmcoreinfo() {
    let Some(p) = elf(F61) else { return };
    let src: std::rc::Rc<dyn crashlens::source::ReadAt> =
        std::rc::Rc::new(FileSource::open(&p).unwrap());
    let mut d = crashlens::dump::open(src).unwrap();
    d.notes.vmcoreinfo = None;
    let k = Kernel::new(d);
    // VMCOREINFO said NUMBER(phys_base)=-570425344.
    assert_eq!(k.paging.phys_base, -570425344i64 as u64, "{:?}", k.warnings);
}

/// Kernels without BTF: struct module offsets found by shape give the same module list.
#[test]
fn modules_without_btf() {
    for name in [F61, F612] {
        let Some(s) = open(name) else { return };
        assert!(s.kernel.ignore_btf());
        assert!(s.kernel.btf().is_none());
        let t = s.kernel.symbols();
        assert!(
            t.warnings.iter().any(|w| w.contains("heuristically")),
            "{:?}",
            t.warnings
        );
        let with = open(name).unwrap();
        let want: Vec<(String, u64, u64, u64, usize)> = with
            .kernel
            .modules()
            .iter()
            .map(|m| (m.name.clone(), m.addr, m.base, m.size, m.nsyms))
            .collect();
        let got: Vec<(String, u64, u64, u64, usize)> = t
            .modules
            .iter()
            .map(|m| (m.name.clone(), m.addr, m.base, m.size, m.nsyms))
            .collect();
        assert_eq!(got, want, "{name}");
        let rip = if name == F61 {
            0xffffffffc033d0fb
        } else {
            0xffffffffc05040a7
        };
        assert_eq!(t.format(rip), with.kernel.symbols().format(rip), "{name}");
    }
}

/// A VMCOREINFO whose kallsyms keys point to the wrong place: detected, and the tables are
/// found by scanning instead.
#[test]
fn wrong_kallsyms_keys() {
    let Some(p) = elf(F612) else { return };
    let src: std::rc::Rc<dyn crashlens::source::ReadAt> =
        std::rc::Rc::new(FileSource::open(&p).unwrap());
    let mut d = crashlens::dump::open(src).unwrap();
    let vi = d.notes.vmcoreinfo.take().unwrap();
    // Point kallsyms_names 0x40 bytes too far.
    let bad: String = vi
        .lines()
        .map(|l| match l.strip_prefix("SYMBOL(kallsyms_names)=") {
            Some(v) => format!(
                "SYMBOL(kallsyms_names)={:x}\n",
                u64::from_str_radix(v, 16).unwrap() + 0x40
            ),
            None => format!("{l}\n"),
        })
        .collect();
    d.notes.vmcoreinfo = Some(bad);
    let k = Kernel::new(d);
    let t = k.symbols();
    assert!(
        t.warnings.iter().any(|w| w.contains("unusable")),
        "{:?}",
        t.warnings
    );
    assert!(t.source.contains("scanning"));
    assert_eq!(
        t.format(0xffffffffc05040a7).unwrap(),
        "fixture_provoke+0x67/0xa0 [vmcore_fixture]"
    );
}

/// Every frame address in crash's `bt -a` (6.1) and drgn's trace (6.12) resolves to the same
/// function (and, for drgn, the same offset; drgn's sizes come from ELF st_size, ours from
/// kallsyms like the kernel's own oops).
#[test]
fn bt_oracle_frames_resolve() {
    if let Some(s) = open(F61) {
        let t = s.kernel.symbols();
        let bt = oracle(F61, "crash-bt-a.txt").unwrap();
        let mut n = 0;
        for l in bt.lines() {
            let w: Vec<&str> = l.split_whitespace().collect();
            if let Some(at) = w.iter().position(|&x| x == "at") {
                if w[0].starts_with('#') {
                    let addr = u64::from_str_radix(w[at + 1], 16).unwrap();
                    let (sym, _) = t.lookup(addr).unwrap();
                    assert_eq!(sym.name, w[at - 1], "{l}");
                    if w.len() > at + 2 {
                        assert_eq!(
                            sym.module.as_deref(),
                            Some(w[at + 2].trim_matches(['[', ']'])),
                            "{l}"
                        );
                    }
                    n += 1;
                }
            }
        }
        assert_eq!(n, 12);
    }
    if let Some(s) = open(F612) {
        let t = s.kernel.symbols();
        let tr = oracle(F612, "drgn-trace.txt").unwrap();
        let mut n = 0;
        for l in tr.lines().filter(|l| l.starts_with('#')) {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() < 4 || !w[3].contains('+') {
                continue;
            }
            let addr = u64::from_str_radix(w[1].trim_start_matches("0x"), 16).unwrap();
            let (sym, off) = t.lookup(addr).unwrap();
            let (name, rest) = w[3].split_once('+').unwrap();
            let want_off =
                u64::from_str_radix(rest.split('/').next().unwrap().trim_start_matches("0x"), 16)
                    .unwrap();
            if sym.name != name {
                // A label kallsyms has inside drgn's ELF function (entry_SYSCALL_64_after_hwframe
                // in entry_SYSCALL_64): the kernel's own oops names the label too.
                assert!(
                    sym.name.starts_with(name) && sym.addr > addr - want_off,
                    "{l}: {}",
                    sym.name
                );
            } else {
                assert_eq!(off, want_off, "{l}");
            }
            n += 1;
        }
        assert!(n >= 15, "{n}");
        // drgn did not load pvpanic.ko and prints `?`; kallsyms of the module names them.
        assert!(t.format(0xffffffffc04ee322).unwrap().ends_with("[pvpanic]"));
    }
}

/// Every `symbol+0xoff/0xsize [module]` the kernel printed on the console (oops, call traces,
/// WARN backtraces) is reproduced by crashlens from the address it names: the kernel's own
/// kallsyms sizes are the oracle.
#[test]
fn console_symbols_reproduced() {
    for name in [F61, F612] {
        let Some(s) = open(name) else { return };
        let t = s.kernel.symbols();
        let console = oracle(name, "console.log").unwrap();
        let mut checked = 0;
        for tok in console
            .split(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == ')')
            .filter(|w| w.contains("+0x") && w.contains("/0x"))
        {
            let Some((sym, rest)) = tok.split_once("+0x") else {
                continue;
            };
            let Some((off, size)) = rest.split_once("/0x") else {
                continue;
            };
            let (Ok(off), Ok(_)) = (
                u64::from_str_radix(off, 16),
                u64::from_str_radix(size.trim_end_matches(','), 16),
            ) else {
                continue;
            };
            let sym = sym.trim_start_matches('?');
            // Names that are not unique (static functions in several files) are ambiguous.
            if t.iter().filter(|x| x.name == sym).count() != 1 {
                continue;
            }
            let addr = t.addr_of(sym).unwrap() + off;
            let got = t.format(addr).unwrap();
            let got_plain = got.split(" [").next().unwrap();
            assert_eq!(got_plain, tok.trim_end_matches(','), "{name}");
            checked += 1;
        }
        eprintln!("{name}: {checked} console symbols reproduced");
        assert!(checked >= 10, "{name}: {checked}");
    }
}

/// Old kernels' VMCOREINFO names no text symbol (no _stext): the search starts from the page
/// tables instead.
#[test]
fn kallsyms_scan_without_stext() {
    let Some(p) = elf(F61) else { return };
    let src: std::rc::Rc<dyn crashlens::source::ReadAt> =
        std::rc::Rc::new(FileSource::open(&p).unwrap());
    let mut d = crashlens::dump::open(src).unwrap();
    let vi = d.notes.vmcoreinfo.take().unwrap();
    let old: String = vi
        .lines()
        .filter(|l| !l.contains("kallsyms") && !l.contains("_stext"))
        .map(|l| format!("{l}\n"))
        .collect();
    d.notes.vmcoreinfo = Some(old);
    let k = Kernel::new(d);
    let t = k.symbols();
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(t.addr_of("_stext"), Some(0xffffffffa6a00000));
    assert_eq!(t.addr_of("init_top_pgt"), Some(0xffffffffa8410000));
}

/// Physical pages of the dump replaced by others (the rest read through).
struct Overlay {
    inner: Box<dyn crashlens::dump::PhysMem>,
    pages: Vec<(u64, Vec<u8>)>,
}

impl crashlens::dump::PhysMem for Overlay {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<(), crashlens::error::MemError> {
        self.inner.read_phys(paddr, buf)?;
        let (a, b) = (paddr, paddr + buf.len() as u64);
        for (at, page) in &self.pages {
            let (s, e) = (*at, at + page.len() as u64);
            if a < e && s < b {
                let (lo, hi) = (a.max(s), b.min(e));
                buf[(lo - a) as usize..(hi - a) as usize]
                    .copy_from_slice(&page[(lo - s) as usize..(hi - s) as usize]);
            }
        }
        Ok(())
    }
    fn ranges(&self) -> Vec<(u64, u64)> {
        self.inner.ranges()
    }
}

/// The 6.1 fixture's dump with `pages` (physical address, bytes) planted in it, and its
/// VMCOREINFO passed through `vmcoreinfo`.
fn planted(vmcoreinfo: impl Fn(String) -> String, pages: Vec<(u64, Vec<u8>)>) -> Option<Kernel> {
    let mut d = crashlens::dump::open(std::rc::Rc::new(FileSource::open(&elf(F61)?).ok()?)).ok()?;
    d.notes.vmcoreinfo = d.notes.vmcoreinfo.take().map(vmcoreinfo);
    let inner = std::mem::replace(
        &mut d.mem,
        Box::new(Overlay {
            inner: Box::new(NoMemory),
            pages: vec![],
        }),
    );
    d.mem = Box::new(Overlay { inner, pages });
    Some(Kernel::new(d))
}

struct NoMemory;

impl crashlens::dump::PhysMem for NoMemory {
    fn read_phys(&self, paddr: u64, _: &mut [u8]) -> Result<(), crashlens::error::MemError> {
        Err(crashlens::error::MemError::NoPhysical { paddr })
    }
    fn ranges(&self) -> Vec<(u64, u64)> {
        vec![]
    }
}

/// The structured log buffer of 3.5–5.9 (`struct log` in 3.5–3.10, `printk_log` after), as the
/// reference case's CentOS 7 kernel writes it: records of a 16-byte header, text and padding to
/// 8 bytes; a zero-length header where the writer wrapped to the start. It is planted in a page
/// of the 6.1 fixture with 3.10's VMCOREINFO keys, and read back record for record; the oops in
/// it gives the report's panic, task and title.
#[test]
fn structured_log_buf_of_3_10() {
    if elf(F61).is_none() {
        return;
    }
    let lines: [(u8, &str); 8] = [
        (6, "ceph: loaded (mds proto 32)"),
        (
            1,
            "BUG: unable to handle kernel NULL pointer dereference at 000000000000001c",
        ),
        (1, "IP: [<ffffffff8118a075>] __free_pages+0x5/0x40"),
        (4, "Oops: 0002 [#1] SMP "),
        (
            4,
            "CPU: 27 PID: 34421 Comm: nginx Not tainted 3.10.0-693.el7.x86_64 #1",
        ),
        (
            4,
            "RIP: 0010:[<ffffffff8118a075>]  [<ffffffff8118a075>] __free_pages+0x5/0x40",
        ),
        (4, "Call Trace:"),
        (0, "Kernel panic - not syncing: Fatal exception"),
    ];
    // The ring: 1 KiB; the log starts at 640, wraps after three records, ends before 640.
    const RING: usize = 1024;
    const HDR: usize = 16;
    let mut ring = vec![0u8; RING];
    let mut put = |at: usize, i: usize, (level, text): (u8, &str)| -> usize {
        let len = (HDR + text.len() + 7) & !7;
        ring[at..at + 8].copy_from_slice(&(1_000_000_000u64 * 7 + i as u64 * 1000).to_le_bytes());
        ring[at + 8..at + 10].copy_from_slice(&(len as u16).to_le_bytes());
        ring[at + 10..at + 12].copy_from_slice(&(text.len() as u16).to_le_bytes());
        ring[at + 14] = 0; // facility
        ring[at + 15] = level << 5; // flags:5 = 0, level:3
        ring[at + HDR..at + HDR + text.len()].copy_from_slice(text.as_bytes());
        at + len
    };
    let first = 640;
    let mut at = first;
    for (i, l) in lines.iter().enumerate().take(3) {
        at = put(at, i, *l);
    }
    assert!(at + HDR <= RING); // room for the zero header that sends the reader to 0
    let mut at2 = 0;
    for (i, l) in lines.iter().enumerate().skip(3) {
        at2 = put(at2, i, *l);
    }
    assert!(at2 < first);

    // The fixture's kernel gives the direct-map address of the planted page.
    let probe = open(F61).unwrap();
    let probe = &probe.kernel;
    let pa = 96 << 20; // inside the 128 MiB guest
    let va = probe.phys_to_virt(pa);
    // The variables (log_buf, log_buf_len, log_first_idx, log_next_idx), then the ring.
    let mut page = vec![0u8; 4096];
    page[0..8].copy_from_slice(&(va + 0x400).to_le_bytes());
    page[8..12].copy_from_slice(&(RING as u32).to_le_bytes());
    page[12..16].copy_from_slice(&(first as u32).to_le_bytes());
    page[16..20].copy_from_slice(&(at2 as u32).to_le_bytes());
    page[0x400..0x400 + RING].copy_from_slice(&ring);

    let keys = format!(
        "SYMBOL(log_buf)={:x}\nSYMBOL(log_buf_len)={:x}\nSYMBOL(log_first_idx)={:x}\nSYMBOL(log_next_idx)={:x}\n\
         SIZE(log)=16\nOFFSET(log.ts_nsec)=0\nOFFSET(log.len)=8\nOFFSET(log.text_len)=10\nOFFSET(log.dict_len)=12\n",
        va,
        va + 8,
        va + 12,
        va + 16
    );
    // 3.10's keys instead of the lockless ring's.
    let without_ring = |vi: String| -> String {
        let kept: String = vi
            .lines()
            .filter(|l| !l.contains("prb") && !l.contains("printk"))
            .map(|l| format!("{l}\n"))
            .collect();
        kept + &keys
    };
    let k = planted(without_ring, vec![(pa, page)]).unwrap();

    let log = crashlens::kernel::printk::read_log(&k).expect("structured log read");
    let got: Vec<(u8, &str, u64)> = log
        .iter()
        .map(|r| (r.level, r.text.as_str(), r.ts_nsec))
        .collect();
    let want: Vec<(u8, &str, u64)> = lines
        .iter()
        .enumerate()
        .map(|(i, (l, t))| (*l, *t, 7_000_000_000 + i as u64 * 1000))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        crashlens::render::log::render(&log).lines().nth(1),
        Some("[    7.000001] BUG: unable to handle kernel NULL pointer dereference at 000000000000001c")
    );
    let r = crashlens::report::build::report_of(&k);
    assert_eq!(r.panic.comm.as_deref(), Some("nginx"));
    assert_eq!(r.panic.pid, Some(34421));
    assert_eq!(
        r.panic.panic_string.as_deref(),
        Some("Kernel panic - not syncing: Fatal exception")
    );
    assert_eq!(
        r.panic.title.as_deref(),
        Some("BUG: unable to handle kernel NULL pointer dereference in __free_pages")
    );
}

/// A module as 2.6.x–4.5 kernels lay out `struct module` (the reference case's CentOS 7 3.10:
/// `module_init, module_core` then `init_size, core_size, init_text_size, core_text_size`, and
/// `symtab, core_symtab, num_symtab, core_num_syms, strtab, core_strtab` in the struct itself),
/// with no BTF to say where. Planted over the pages of the fixture's own module, on a list of
/// its own; found by shape: its memory, text and symbols.
#[test]
fn module_of_3_10_found_without_btf() {
    let Some(s) = open(F61) else { return };
    let probe = &s.kernel;
    let fx = probe
        .symbols()
        .modules
        .iter()
        .find(|m| m.name == "vmcore_fixture")
        .unwrap()
        .clone();
    let core = fx.base;
    assert_eq!(core & 0xfff, 0);
    let pa = |va: u64| probe.translate(va).unwrap();
    // Page 0: text, then the symbol table (Elf64_Sym) and its strings.
    let mut p0 = vec![0u8; 4096];
    let names = b"\0ceph_aio_read\0ceph_sync_read\0__this_module\0";
    p0[0xa00..0xa00 + names.len()].copy_from_slice(names);
    // (st_name, st_info, st_shndx, st_value, st_size)
    let syms = [
        (0u32, 0u8, 0u16, 0u64, 0u64),
        (1, 0x12, 1, core + 0x100, 0x200),
        (15, 0x02, 1, core + 0x300, 0x80),
        (30, 0x11, 5, core + 0x1000, 0x280),
    ];
    for (i, (n, info, shndx, value, size)) in syms.iter().enumerate() {
        let at = 0x800 + 24 * i;
        p0[at..at + 4].copy_from_slice(&n.to_le_bytes());
        p0[at + 4] = *info;
        p0[at + 6..at + 8].copy_from_slice(&shndx.to_le_bytes());
        p0[at + 8..at + 16].copy_from_slice(&value.to_le_bytes());
        p0[at + 16..at + 24].copy_from_slice(&size.to_le_bytes());
    }
    // Page 1: struct module (the kernel copies .gnu.linkonce.this_module into the core) and,
    // at its end, the list head.
    let m = core + 0x1000;
    let head = core + 0x1f00;
    let mut p1 = vec![0u8; 4096];
    let put = |p: &mut Vec<u8>, at: usize, v: &[u8]| p[at..at + v.len()].copy_from_slice(v);
    put(&mut p1, 8, &(head).to_le_bytes()); // list.next
    put(&mut p1, 16, &(head).to_le_bytes()); // list.prev
    put(&mut p1, 24, b"ceph\0");
    put(&mut p1, 0x140, &0u64.to_le_bytes()); // module_init (freed after init)
    put(&mut p1, 0x148, &core.to_le_bytes()); // module_core
    put(&mut p1, 0x150, &0u32.to_le_bytes()); // init_size
    put(&mut p1, 0x154, &0x4000u32.to_le_bytes()); // core_size
    put(&mut p1, 0x158, &0u32.to_le_bytes()); // init_text_size
    put(&mut p1, 0x15c, &0x1000u32.to_le_bytes()); // core_text_size
    for (at, v) in [(0x200, core + 0x800), (0x208, core + 0x800)] {
        put(&mut p1, at, &v.to_le_bytes()); // symtab, core_symtab
    }
    put(&mut p1, 0x210, &4u32.to_le_bytes()); // num_symtab
    put(&mut p1, 0x214, &4u32.to_le_bytes()); // core_num_syms
    for (at, v) in [(0x218, core + 0xa00), (0x220, core + 0xa00)] {
        put(&mut p1, at, &v.to_le_bytes()); // strtab, core_strtab
    }
    put(&mut p1, 0xf00, &(m + 8).to_le_bytes()); // head.next
    put(&mut p1, 0xf08, &(m + 8).to_le_bytes()); // head.prev
    let k = planted(|v| v, vec![(pa(core), p0), (pa(m), p1)]).unwrap();

    let scan = crashlens::kernel::modules::read_modules(&k, head, None);
    assert_eq!(scan.modules.len(), 1, "{:?}", scan.warnings);
    let got = &scan.modules[0];
    assert_eq!(
        (got.name.as_str(), got.addr, got.base, got.size),
        ("ceph", m, core, 0x4000)
    );
    assert_eq!(
        got.regions,
        vec![(core, core + 0x1000), (core + 0x1000, core + 0x4000)]
    );
    let syms: Vec<(&str, u64, u64, char)> = scan
        .symbols
        .iter()
        .map(|s| (s.name.as_str(), s.addr, s.size, s.kind))
        .collect();
    assert_eq!(
        syms,
        vec![
            ("ceph_aio_read", core + 0x100, 0x200, 'T'),
            ("ceph_sync_read", core + 0x300, 0xd00, 't'),
            ("__this_module", core + 0x1000, 0x3000, 'D'),
        ]
    );
    assert!(scan.warnings.iter().any(|w| w.contains("heuristically")));
}

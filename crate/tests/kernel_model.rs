//! The kernel memory model on the real fixtures: kallsyms, modules, BTF, sys, against the crash /
//! drgn oracles. Each test skips (with a note) when its fixture is absent.

use crashlens::kernel::Kernel;

mod common;
use common::*;

#[test]
fn kallsyms_known_symbols() {
    for name in [F61, F612] {
        let Some(s) = open(name) else { return };
        let k: &Kernel = &s.kernel;
        let t = k.symbols();
        assert!(t.warnings.is_empty(), "{name}: {:?}", t.warnings);
        assert!(t.kernel_count > 50_000, "{name}: only {} symbols", t.kernel_count);
        let stext = k.vmcoreinfo.symbol("_stext").unwrap();
        assert_eq!(t.addr_of("_stext"), Some(stext), "{name}");
        assert_eq!(t.addr_of("init_top_pgt"), k.vmcoreinfo.symbol("init_top_pgt"), "{name}");
        assert_eq!(t.addr_of("init_uts_ns"), k.vmcoreinfo.symbol("init_uts_ns"), "{name}");
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
        eprintln!("{name}: {} symbols ({}), {} ms", t.len(), t.source, t.load_ms);
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
    let want = want.lines().next().unwrap().split(" /usr/src").next().unwrap();
    assert_eq!(crashlens::kernel::symbols::crash_sym_line(rip, sym, off), want);
    assert_eq!(t.format(rip).unwrap(), "fixture_null_deref+0x15/0x1f [vmcore_fixture]");
    // The console's RIP line says the same.
    let console = oracle(F61, "console.log").unwrap();
    assert!(console.contains("RIP: 0010:fixture_null_deref+0x15/0x1f [vmcore_fixture]"));
}

#[test]
fn sym_of_fault_rip_612() {
    let Some(s) = open(F612) else { return };
    let t = s.kernel.symbols();
    assert_eq!(t.format(0xffffffffc05040a7).unwrap(), "fixture_provoke+0x67/0xa0 [vmcore_fixture]");
    let console = oracle(F612, "console.log").unwrap();
    assert!(console.contains("RIP: 0010:fixture_provoke+0x67/0xa0 [vmcore_fixture]"));
}

#[test]
fn modules_equal_crash_mod() {
    let Some(s) = open(F61) else { return };
    let mods = s.kernel.modules();
    let got = crashlens::cli::modules::render(mods);
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
            Some((w.next()?.to_string(), u64::from_str_radix(w.next()?.trim_start_matches("0x"), 16).ok()?))
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn btf_from_memory() {
    for name in [F61, F612] {
        let Some(s) = open(name) else { return };
        let b = s.kernel.btf().expect("Debian kernels have BTF");
        // VMCOREINFO gives some offsets too: BTF must agree.
        let vi = &s.kernel.vmcoreinfo;
        assert_eq!(b.member_offset("page", "_refcount"), vi.offset("page._refcount"));
        assert_eq!(b.member_offset("page", "mapping"), vi.offset("page.mapping"));
        assert_eq!(b.struct_size("page"), vi.size("page"));
        assert_eq!(b.member_offset("printk_info", "caller_id"), vi.offset("printk_info.caller_id"));
        assert_eq!(b.field_at("page", 52).as_deref(), Some("_refcount.counter"));
        assert!(b.member_offset("task_struct", "thread.sp").is_some());
        assert!(b.struct_size("inactive_task_frame").is_some());
    }
}

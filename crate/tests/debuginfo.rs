//! Debuginfo the user adds: a module .ko with DWARF on the fixtures (source lines, field names,
//! crash's `dis -l`), and a .ko of another build rejected.

mod common;
use common::*;
use crashlens::debuginfo::{DebugInfo, Extra};
use crashlens::report::FrameKind;
use crashlens::source::FileSource;

fn ko(name: &str) -> Option<Extra> {
    let Some(p) = fixtures().map(|d| d.join(name).join("vmcore_fixture.ko")) else {
        skip(format!("fixture {name}'s vmcore_fixture.ko absent"));
        return None;
    };
    let src = FileSource::open(&p).ok()?;
    Some(Extra {
        name: p.display().to_string(),
        src: std::rc::Rc::new(src),
    })
}

#[test]
fn module_lines_and_field() {
    let (Some(s), Some(x)) = (open(F61), ko(F61)) else {
        return;
    };
    let t = std::time::Instant::now();
    let n = s.kernel.symbols().len();
    eprintln!("kallsyms ({n} symbols): {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let d = DebugInfo::load(&s.kernel, vec![x]);
    eprintln!("load: {:?} {:?} {:?}", t.elapsed(), d.notes, d.warnings);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.files.len(), 1);
    let l = d
        .line(0xffffffffc033d0fb)
        .expect("line of the exception RIP");
    assert_eq!(
        (l.file.as_str(), l.line),
        ("/usr/src/vmcore_fixture/vmcore_fixture.c", 46)
    );
    eprintln!("frames: {:?}", d.frames(0xffffffffc033d0fb));
    let f = d.arg_field("fixture_null_deref", 0xffffffffc033d0e6, 1, 0x18);
    assert_eq!(f.as_deref(), Some("struct victim.field"));
    eprintln!("total {:?}", t.elapsed());
}

#[test]
fn other_build_rejected() {
    let (Some(s), Some(x)) = (open(F61), ko(F612)) else {
        return;
    };
    let d = DebugInfo::load(&s.kernel, vec![x]);
    assert!(d.files.is_empty());
    assert_eq!(d.warnings.len(), 1);
    eprintln!("{}", d.warnings[0]);
    assert!(
        d.warnings[0].contains("6.12") && d.warnings[0].contains("not used"),
        "{}",
        d.warnings[0]
    );
}

/// Opens a fixture with the extra files loaded, as `--debuginfo` does.
fn session_with(name: &str, extras: Vec<Extra>) -> Option<crashlens::report::build::Session> {
    let mut s = open(name)?;
    let opts = crashlens::report::build::Options {
        debuginfo: extras,
        ..Default::default()
    };
    s.load_debuginfo(&opts);
    Some(s)
}

#[test]
fn dis_equals_crash() {
    let Some(oracle) = oracle(F61, "crash-dis.txt") else {
        return;
    };
    let (Some(s), Some(x)) = (open(F61), ko(F61)) else {
        return;
    };
    // Without debuginfo: crash's lines minus the source lines.
    let d = crashlens::report::dis::dis(
        &s.kernel,
        &s.debuginfo,
        "fixture_null_deref",
        Default::default(),
    )
    .unwrap();
    let plain: String = oracle
        .lines()
        .filter(|l| l.starts_with("0x"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(crashlens::report::dis::render(&d, false), plain);
    // An address alone: one instruction (crash's `dis ADDR`); `-r`: the function up to it.
    let one = |t: &str, r| crashlens::report::dis::dis(&s.kernel, &s.debuginfo, t, r).unwrap();
    let d2 = one("0xffffffffc033d0fb", Default::default());
    assert_eq!(d2.start, 0xffffffffc033d0e6);
    assert_eq!(
        crashlens::report::dis::render(&d2, false),
        plain.lines().nth(5).unwrap().to_string() + "\n"
    );
    assert_eq!(
        one("fixture_null_deref+21", Default::default()).lines.len(),
        1
    );
    let r = one(
        "fixture_null_deref+21",
        crashlens::report::dis::Range {
            reverse: true,
            count: None,
        },
    );
    assert_eq!(
        crashlens::report::dis::render(&r, false),
        plain
            .lines()
            .take(6)
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    let c = one(
        "fixture_null_deref",
        crashlens::report::dis::Range {
            reverse: false,
            count: Some(3),
        },
    );
    assert_eq!(c.lines.len(), 3);
    drop(s);
    // With the module's .ko: `dis -l`, byte for byte.
    let s = session_with(F61, vec![x]).unwrap();
    let d = crashlens::report::dis::dis(
        &s.kernel,
        &s.debuginfo,
        "fixture_null_deref",
        Default::default(),
    )
    .unwrap();
    assert_eq!(crashlens::report::dis::render(&d, true), oracle);
}

#[test]
fn report_with_ko() {
    let (Some(x),) = (ko(F61),) else { return };
    let Some(s) = session_with(F61, vec![x]) else {
        return;
    };
    let r = s.report();
    let f = r.fault.as_ref().expect("fault");
    assert_eq!(f.field.as_deref(), Some("struct victim.field"));
    assert_eq!(
        f.source.as_deref(),
        Some("/usr/src/vmcore_fixture/vmcore_fixture.c:46")
    );
    let n = crashlens::render::verdict::words(&r).unwrap().narrative;
    assert!(
        n.en.contains("line 46 of /usr/src/vmcore_fixture/vmcore_fixture.c"),
        "{}",
        n.en
    );
    assert!(n.zh.contains("vmcore_fixture.c 第 46 行"), "{}", n.zh);
    assert!(n.en.contains("struct victim.field"));
    // The exception frame and the module frames below it carry their lines.
    let exc = r
        .backtrace
        .iter()
        .find(|f| {
            f.kind == FrameKind::Exception && f.function.as_deref() == Some("fixture_null_deref")
        })
        .unwrap();
    assert_eq!(exc.line, Some(46));
    let caller = r
        .backtrace
        .iter()
        .find(|f| f.function.as_deref() == Some("fixture_provoke.cold"))
        .unwrap();
    assert_eq!(
        (caller.file.as_deref(), caller.line),
        (Some("/usr/src/vmcore_fixture/vmcore_fixture.c"), Some(54))
    );
    let pw = r
        .backtrace
        .iter()
        .find(|f| f.function.as_deref() == Some("provoke_write"))
        .unwrap();
    assert_eq!(pw.line, Some(70));
    // Core kernel frames: no vmlinux given, no lines.
    assert!(r
        .backtrace
        .iter()
        .filter(|f| f.module.is_none())
        .all(|f| f.line.is_none()));
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["fault"]["field"], "struct victim.field");
    // Without the .ko the field is unknown (no BTF prototype for a module function).
    let plain = report(F61).unwrap();
    assert!(plain["fault"]["field"].is_null());
    assert!(plain["fault"].get("source").is_none());
}

#[test]
fn mismatched_ko_warns_in_report() {
    let Some(x) = ko(F612) else { return };
    let Some(s) = session_with(F61, vec![x]) else {
        return;
    };
    let r = s.report();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("not used") && w.contains("built for 6.12")),
        "{:?}",
        r.warnings
    );
    assert!(r.fault.as_ref().unwrap().field.is_none());
    assert!(r.backtrace.iter().all(|f| f.line.is_none()));
}

#[test]
fn not_elf_not_map_rejected() {
    let Some(s) = open(F61) else { return };
    let mut d = DebugInfo::default();
    d.add(
        &s.kernel,
        "junk",
        std::rc::Rc::new(crashlens::source::BytesSource(b"hello there\n".to_vec())),
    );
    d.add(
        &s.kernel,
        "trunc",
        std::rc::Rc::new(crashlens::source::BytesSource(
            b"\x7fELF\x02\x01\x01".to_vec(),
        )),
    );
    assert!(d.files.is_empty() && d.system_map.is_none());
    assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
}

/// Debian's vmlinux-6.1.0-56-cloud-amd64 (linux-image-6.1.0-56-cloud-amd64-dbg) and its
/// System.map, when someone put them in ~/.cache/crashlens or named them in CRASHLENS_VMLINUX.
fn debian_file(name: &str) -> Option<Extra> {
    let home = std::path::PathBuf::from(std::env::var_os("HOME")?);
    let p = match (name, std::env::var_os("CRASHLENS_VMLINUX")) {
        ("vmlinux", Some(v)) => std::path::PathBuf::from(v),
        _ => home
            .join(".cache/crashlens")
            .join(format!("{name}-6.1.0-56-cloud-amd64")),
    };
    // The dump lab extracts the same Debian build's -dbg package (LAB_DBG=1, or oracle.py):
    // vmlinux and the real System.map (the image package's boot/System.map is a placeholder).
    let lab = lab_dir()
        .join("_kernels/6.1.0-56-cloud-amd64/usr/lib/debug/boot")
        .join(format!("{name}-6.1.0-56-cloud-amd64"));
    let p = if !p.exists() && lab.exists() { lab } else { p };
    let Ok(src) = FileSource::open(&p) else {
        skip(format!(
            "{} absent (apt-get download linux-image-6.1.0-56-cloud-amd64-dbg)",
            p.display()
        ));
        return None;
    };
    Some(Extra {
        name: p.display().to_string(),
        src: std::rc::Rc::new(src),
    })
}

#[test]
fn debian_vmlinux() {
    let (Some(v), Some(x)) = (debian_file("vmlinux"), ko(F61)) else {
        return;
    };
    let Some(s) = session_with(F61, vec![v, x]) else {
        return;
    };
    let r = s.report();
    assert!(
        s.debuginfo.warnings.is_empty(),
        "{:?}",
        s.debuginfo.warnings
    );
    assert_eq!(s.debuginfo.files.len(), 2);
    let panic = r
        .backtrace
        .iter()
        .find(|f| f.function.as_deref() == Some("panic"))
        .unwrap();
    assert!(
        panic.file.as_deref().unwrap().ends_with("kernel/panic.c"),
        "{:?}",
        panic.file
    );
    assert_eq!(panic.line, Some(366));
    // atomic_notifier_call_chain inlines notifier_call_chain at the return address.
    let n = r
        .backtrace
        .iter()
        .find(|f| f.function.as_deref() == Some("atomic_notifier_call_chain"))
        .unwrap();
    assert_eq!(
        n.inlined.first().and_then(|i| i.function.as_deref()),
        Some("notifier_call_chain")
    );
    // Units on demand: a small part of the 160 MB .debug_info was read.
    let vm = &s
        .debuginfo
        .files
        .iter()
        .find(|f| f.scope == crashlens::debuginfo::Scope::Vmlinux)
        .unwrap();
    eprintln!(
        "vmlinux: {} bytes read at load, {} of .debug_info since, {} ms",
        vm.bytes_read,
        vm.info_read(),
        vm.load_ms
    );
    assert!(vm.bytes_read + vm.info_read() < 64 << 20);
    // The module's facts still come from the .ko.
    assert_eq!(
        r.fault.unwrap().field.as_deref(),
        Some("struct victim.field")
    );
}

#[test]
fn debian_vmlinux_and_map_rejected_on_other_kernel() {
    let (Some(v), Some(m)) = (debian_file("vmlinux"), debian_file("System.map")) else {
        return;
    };
    let Some(s) = session_with(F612, vec![v, m]) else {
        return;
    };
    assert!(s.debuginfo.files.is_empty() && s.debuginfo.system_map.is_none());
    assert_eq!(s.debuginfo.warnings.len(), 2, "{:?}", s.debuginfo.warnings);
    assert!(
        s.debuginfo.warnings.iter().any(|w| w.contains("build id")),
        "{:?}",
        s.debuginfo.warnings
    );
    assert!(
        s.debuginfo
            .warnings
            .iter()
            .any(|w| w.contains("System.map of another build")),
        "{:?}",
        s.debuginfo.warnings
    );
}

#[test]
fn system_map_matches() {
    let Some(m) = debian_file("System.map") else {
        return;
    };
    let Some(s) = session_with(F61, vec![m]) else {
        return;
    };
    let map = s
        .debuginfo
        .system_map
        .as_ref()
        .expect("System.map accepted");
    assert!(
        s.debuginfo.warnings.is_empty(),
        "{:?}",
        s.debuginfo.warnings
    );
    // Its addresses plus the KASLR offset are kallsyms' addresses.
    let syms = map.symbols();
    let k = s.kernel.symbols();
    for name in ["panic", "do_syscall_64", "vfs_write", "_printk"] {
        let a = syms.iter().find(|x| x.name == name).unwrap().addr;
        assert_eq!(Some(a), k.addr_of(name), "{name}");
    }
}

/// Damaged .ko files (truncated, bytes overwritten) never panic: each is used or rejected.
#[test]
fn damaged_ko_never_panics() {
    let Some(s) = open(F61) else { return };
    let Some(p) = fixtures().map(|f| f.join(F61).join("vmcore_fixture.ko")) else {
        return;
    };
    let good = std::fs::read(p).unwrap();
    let _ = s.kernel.symbols();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut used = 0;
    for i in 0..120 {
        let mut b = good.clone();
        if i % 3 == 0 {
            b.truncate((rnd() % good.len() as u64) as usize);
        } else {
            for _ in 0..(1 + rnd() % 64) {
                let at = (rnd() % b.len() as u64) as usize;
                b[at] = rnd() as u8;
            }
        }
        let mut d = DebugInfo::default();
        d.add(
            &s.kernel,
            "damaged",
            std::rc::Rc::new(crashlens::source::BytesSource(b)),
        );
        assert_eq!(d.files.len() + d.warnings.len(), 1);
        if let Some(f) = d.files.first() {
            used += 1;
            let _ = d.line(0xffffffffc033d0fb);
            let _ = d.frames(0xffffffffc033d0fb);
            let _ = d.arg_field("fixture_null_deref", 0xffffffffc033d0e6, 1, 0x18);
            assert!(!f.ranges.is_empty());
        }
    }
    eprintln!("{used} of 120 damaged files still matched");
}

/// The 6.12 fixture (module memory in `mem[MOD_TEXT]`) with its own .ko: the BUG()'s source line
/// from DWARF is the one the kernel printed.
#[test]
fn ko_on_612_bug() {
    let Some(x) = ko(F612) else { return };
    let Some(s) = session_with(F612, vec![x]) else {
        return;
    };
    assert!(
        s.debuginfo.warnings.is_empty(),
        "{:?}",
        s.debuginfo.warnings
    );
    let r = s.report();
    let f = r.fault.as_ref().unwrap();
    assert_eq!(f.class.as_str(), "bug");
    assert_eq!(
        f.source.as_deref(),
        Some("/usr/src/vmcore_fixture/vmcore_fixture.c:56")
    );
    assert!(r
        .panic
        .message
        .as_deref()
        .unwrap()
        .contains("vmcore_fixture.c:56"));
    let pw = r
        .backtrace
        .iter()
        .find(|f| f.function.as_deref() == Some("provoke_write"))
        .unwrap();
    assert_eq!(pw.line, Some(70));
}

/// A lab dump (tests/lab), when it was built here: the lockup scenario stops in cpu_relax(),
/// inlined into the module's spin loop.
#[test]
fn lab_lockup_inlined() {
    let Some(home) = std::env::var_os("HOME") else {
        return;
    };
    let dir = std::path::PathBuf::from(home).join(".cache/crashlens/lab/lockup");
    let (Ok(dump), Ok(ko)) = (
        FileSource::open(&dir.join("vmcore.d1-raw.kdump")),
        FileSource::open(&dir.join("crashlens_lab.ko")),
    ) else {
        skip("lab scenario lockup absent (tests/lab/run.sh lockup)");
        return;
    };
    let opts = crashlens::report::build::Options {
        debuginfo: vec![Extra {
            name: "crashlens_lab.ko".into(),
            src: std::rc::Rc::new(ko),
        }],
        ..Default::default()
    };
    let r = crashlens::report::build::analyze(Box::new(dump), &opts, &mut |_| {}).unwrap();
    let f = r.fault.clone().unwrap();
    assert_eq!(f.source_function.as_deref(), Some("rep_nop"));
    assert!(f.source.unwrap().ends_with("asm/vdso/processor.h:13"));
    assert!(f
        .inlined_into
        .as_deref()
        .unwrap()
        .starts_with("lab_spin (/usr/src/crashlens_lab/crashlens_lab.c:"));
    let exc = r
        .backtrace
        .iter()
        .find(|x| x.kind == FrameKind::Exception && x.function.as_deref() == Some("lab_spin"))
        .unwrap();
    let names: Vec<_> = exc
        .inlined
        .iter()
        .filter_map(|i| i.function.as_deref())
        .collect();
    assert_eq!(names, ["rep_nop", "cpu_relax"]);
    assert!(crashlens::render::verdict::words(&r)
        .unwrap()
        .narrative
        .en
        .contains("in rep_nop, inlined into lab_spin"));
}

/// Memory with some physical ranges erased (reads as zeros).
struct Erased {
    inner: Box<dyn crashlens::dump::PhysMem>,
    ranges: Vec<(u64, u64)>,
}
impl crashlens::dump::PhysMem for Erased {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<(), crashlens::error::MemError> {
        self.inner.read_phys(paddr, buf)?;
        for (i, b) in buf.iter_mut().enumerate() {
            let a = paddr + i as u64;
            if self.ranges.iter().any(|&(s, e)| a >= s && a < e) {
                *b = 0;
            }
        }
        Ok(())
    }
    fn ranges(&self) -> Vec<(u64, u64)> {
        self.inner.ranges()
    }
}

/// No kallsyms at all (keys gone from VMCOREINFO and the tables unreadable): the System.map
/// given stands in, and modules, backtrace and diagnosis work as with kallsyms.
#[test]
fn system_map_replaces_missing_kallsyms() {
    let (Some(p), Some(m)) = (elf(F61), debian_file("System.map")) else {
        return;
    };
    let full = open(F61).unwrap();
    let open_dump = || {
        let src: std::rc::Rc<dyn crashlens::source::ReadAt> =
            std::rc::Rc::new(FileSource::open(&p).unwrap());
        crashlens::dump::open(src).unwrap()
    };
    // The kallsyms tables' physical range, from the intact dump.
    let vi = &full.kernel.vmcoreinfo;
    let (lo, hi) = (
        vi.symbol("kallsyms_offsets").unwrap(),
        vi.symbol("kallsyms_token_index").unwrap() + 0x200,
    );
    let (plo, phi) = (
        full.kernel.virt_to_phys(lo).unwrap(),
        full.kernel.virt_to_phys(hi).unwrap(),
    );
    assert_eq!(phi - plo, hi - lo);
    let mut d = open_dump();
    let text = d.notes.vmcoreinfo.take().unwrap();
    d.notes.vmcoreinfo = Some(
        text.lines()
            .filter(|l| !l.contains("kallsyms"))
            .map(|l| format!("{l}\n"))
            .collect(),
    );
    let inner = std::mem::replace(
        &mut d.mem,
        Box::new(Erased {
            inner: open_dump().mem,
            ranges: vec![],
        }),
    );
    d.mem = Box::new(Erased {
        inner,
        ranges: vec![(plo, phi)],
    });
    let k = crashlens::kernel::Kernel::new(d);
    let dbg = DebugInfo::load(&k, vec![m]);
    assert!(dbg.warnings.is_empty(), "{:?}", dbg.warnings);
    let t = k.symbols();
    assert_eq!(
        t.source, "System.map (given by the user)",
        "{:?}",
        t.warnings
    );
    let f = full.kernel.symbols();
    for s in ["panic", "do_syscall_64", "modules", "init_top_pgt"] {
        assert_eq!(t.addr_of(s), f.addr_of(s), "{s}");
    }
    assert_eq!(t.modules.len(), f.modules.len());
    let r = crashlens::report::build::report_with(&k, &dbg);
    let names = |r: &crashlens::report::Report| {
        r.backtrace
            .iter()
            .map(|x| x.function.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&r), names(&full.report()));
    assert_eq!(
        r.fault.unwrap().location.as_deref(),
        Some("fixture_null_deref+21")
    );
}

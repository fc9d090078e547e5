//! Backtraces from memory against crash's `bt` (6.1) and drgn's trace (6.12), function for
//! function from the exception RIP down to the system-call entry.

mod common;
use common::*;
use crashlens::render::bt;
use crashlens::report::build::report_of;
use crashlens::report::{FrameKind, How};

fn base(f: &str) -> &str {
    f.split('.').next().unwrap_or(f)
}

/// Function names of crash-format bt text: frame lines and `[exception RIP: f+off]` lines.
fn names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for l in text.lines() {
        let l = l.trim_start();
        if let Some(r) = l.strip_prefix("[exception RIP: ") {
            out.push(
                r.split('+')
                    .next()
                    .unwrap()
                    .trim_end_matches(']')
                    .to_string(),
            );
        } else if l.starts_with('#') {
            if let Some(f) = l.split("] ").nth(1).and_then(|x| x.split(" at ").next()) {
                out.push(f.trim_start_matches("? ").to_string());
            }
        }
    }
    out
}

fn from_exception_to(names: &[String], last: &str) -> Vec<String> {
    let text: Vec<String> = names.to_vec();
    let start = text
        .iter()
        .position(|n| n == "EXC")
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut v: Vec<String> = text[start..].iter().map(|s| base(s).to_string()).collect();
    if let Some(end) = v.iter().position(|n| n == last) {
        v.truncate(end + 1);
    }
    v
}

fn exception_chain(text: &str, last: &str) -> Vec<String> {
    let mut marked = Vec::new();
    for l in text.lines() {
        if l.trim_start().starts_with("[exception RIP:") {
            marked.clear();
            marked.push("EXC".to_string());
        }
        marked.extend(names(l));
    }
    from_exception_to(&marked, last)
}

#[test]
fn bt_61_matches_crash_from_exception_to_syscall() {
    let Some(s) = open(F61) else { return };
    let r = report_of(&s.kernel);
    let crashing = r.cpu_traces.iter().find(|t| t.cpu == 0).expect("cpu 0");
    let ours = bt::render(crashing);
    // The header names the task as crash does (per-CPU current task read from memory).
    let header = oracle(F61, "crash-bt.txt")
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(ours.lines().next().unwrap(), header);
    let want = exception_chain(&oracle(F61, "crash-bt.txt").unwrap(), "do_syscall_64");
    let got = exception_chain(&ours, "do_syscall_64");
    assert_eq!(got, want, "\n{ours}");
    assert_eq!(
        want,
        [
            "fixture_null_deref",
            "fixture_provoke",
            "provoke_write",
            "full_proxy_write",
            "vfs_write",
            "ksys_write",
            "do_syscall_64"
        ]
    );
    // The exception frame's registers are crash's exactly.
    let exc = r
        .backtrace
        .iter()
        .find(|f| f.kind == FrameKind::Exception)
        .unwrap();
    let regs = exc.regs.unwrap();
    assert_eq!(exc.address, 0xffffffffc033d0fb);
    assert_eq!(
        (regs.rsp, regs.rbx, regs.rax, regs.r15),
        (0xffffcf85c0413d70, 0, 0x2e, 0xffffcf85c0413ea0)
    );
    assert!(ours.contains("    [exception RIP: fixture_null_deref+21]\n    RIP: ffffffffc033d0fb  RSP: ffffcf85c0413d70  RFLAGS: 00000246\n"));
    assert!(ours.contains("] fixture_provoke.cold at ffffffffc033d10e [vmcore_fixture]"));
    // Every frame here came from ORC, none from the scan.
    assert!(r.backtrace.iter().all(|f| f.reliable), "{ours}");
    // The user-mode register block at the bottom, as crash prints it.
    assert!(ours.contains("    ORIG_RAX: 0000000000000001  CS: 0033  SS: 002b"));
}

#[test]
fn bt_612_matches_drgn() {
    let Some(s) = open(F612) else { return };
    let r = report_of(&s.kernel);
    let t = r.cpu_traces.iter().find(|t| t.cpu == 1).expect("cpu 1");
    let ours = bt::render(t);
    let got = exception_chain(&ours, "do_syscall_64");
    // drgn-trace.txt frames #12..#18 (do_syscall_x64 is inlined into do_syscall_64).
    assert_eq!(
        got,
        [
            "fixture_provoke",
            "provoke_write",
            "full_proxy_write",
            "vfs_write",
            "ksys_write",
            "do_syscall_64"
        ],
        "\n{ours}"
    );
    let exc = r
        .backtrace
        .iter()
        .find(|f| f.kind == FrameKind::Exception)
        .unwrap();
    assert_eq!(exc.address, 0xffffffffc05040a7);
    assert_eq!(exc.regs.unwrap().rsp, 0xffffd16e0042bc98);
    // Above the exception: the panic path through the pvpanic notifier, resolved in the module.
    let top: Vec<_> = r
        .backtrace
        .iter()
        .take(5)
        .filter_map(|f| f.function.clone())
        .collect();
    assert_eq!(
        top,
        [
            "pvpanic_send_event.part.0",
            "pvpanic_panic_notify",
            "notifier_call_chain",
            "atomic_notifier_call_chain",
            "panic"
        ]
    );
}

#[test]
fn idle_cpu_crosses_the_irq_stack() {
    let Some(s) = open(F61) else { return };
    let r = report_of(&s.kernel);
    let t = r.cpu_traces.iter().find(|t| t.cpu == 1).expect("cpu 1");
    let text = bt::render(t);
    assert!(
        text.starts_with(
            "PID: 0        TASK: ffff897481264180  CPU: 1    COMMAND: \"swapper/1\"\n"
        ),
        "{text}"
    );
    assert!(text.contains("--- <IRQ stack> ---\n #3 ["), "{text}");
    assert!(
        text.contains("[exception RIP: native_safe_halt+11]"),
        "{text}"
    );
    assert!(text.contains("secondary_startup_64_no_verify"), "{text}");
    assert!(t.error.is_none());
}

/// A module's ORC table is found through BTF (`struct module.arch`), and the search by shape
/// (used without BTF) finds the same table.
#[test]
fn module_orc_through_btf_equals_search_by_shape() {
    use crashlens::analysis::stack::{module_orc_btf, module_orc_by_shape, KernelStack};
    for name in [F61, F612] {
        let Some(s) = open(name) else { return };
        let k = &s.kernel;
        let v = KernelStack::new(k).orc.map(|(f, _)| f);
        assert!(v.is_some(), "{name}: ORC format read from vmlinux's table");
        let syms = k.symbols();
        let m = syms
            .modules
            .iter()
            .find(|m| m.name == "vmcore_fixture")
            .expect("the fixture module");
        let by_btf = module_orc_btf(k, m, v).expect("ORC table through BTF");
        let by_shape = module_orc_by_shape(k, m, v).expect("ORC table by shape");
        let ips: Vec<u64> = by_btf.ips().collect();
        assert!(ips.len() > 4, "{name}: {} entries", ips.len());
        assert_eq!(ips, by_shape.ips().collect::<Vec<_>>(), "{name}");
        // The faulting function's address is covered by the module's table.
        let f = if name == F61 {
            "fixture_null_deref"
        } else {
            "fixture_provoke"
        };
        let a = syms.addr_of(f).expect(f);
        assert!(
            ips.iter().any(|&ip| ip <= a) && ips.iter().any(|&ip| ip > a),
            "{name}: {f} inside the table"
        );
    }
}

/// Kernels without ORC tables (before 4.14, or frame-pointer builds): the stack scan finds the
/// exception frames by the shape of their `pt_regs`. They equal what ORC finds, registers and
/// all; every frame ORC finds is found in the same order (the scan adds stale return addresses,
/// marked unreliable), and the verdict is the same.
#[test]
fn without_orc_exception_frames_are_found_by_shape() {
    use crashlens::report::Report;
    for (name, p) in dumps(&[F61, F612]) {
        let with = open_path(&p);
        let want = report_of(&with.kernel);
        let s = open_path(&p);
        s.kernel.ignore_orc();
        let got = report_of(&s.kernel);
        let exc =
            |r: &Report| -> Vec<(Option<String>, Option<u64>, Option<crashlens::dump::Regs>)> {
                r.backtrace
                    .iter()
                    .filter(|f| f.kind == FrameKind::Exception)
                    .map(|f| (f.function.clone(), f.offset, f.regs))
                    .collect()
            };
        assert!(
            exc(&want).len() >= 2,
            "{name}: the fault and the user-mode entry"
        );
        assert_eq!(exc(&got), exc(&want), "{name}: exception frames");
        assert!(
            got.backtrace
                .iter()
                .filter(|f| f.kind == FrameKind::Exception)
                .all(|f| f.how == How::Regs),
            "{name}"
        );
        // ORC's frames (from the fault on) are a subsequence of the scan's.
        let key = |f: &crashlens::report::Frame| (f.function.clone(), f.offset, f.sp);
        let from = |r: &Report| {
            r.backtrace
                .iter()
                .position(|f| f.kind == FrameKind::Exception)
                .unwrap()
        };
        let mut it = got.backtrace[from(&got)..].iter().map(key);
        for f in &want.backtrace[from(&want)..] {
            assert!(
                it.any(|g| g == key(f)),
                "{name}: {:?} missing from the scan",
                f.function
            );
        }
        assert!(got
            .backtrace
            .iter()
            .any(|f| f.how == How::Scan && !f.reliable));
        let v = |r: &Report| {
            let c = r.culprit().unwrap();
            let f = r.fault.as_ref().unwrap();
            (
                c.function.clone(),
                c.module.clone(),
                f.class.clone(),
                f.instruction.clone(),
            )
        };
        assert_eq!(v(&got), v(&want), "{name}: verdict");
        assert_eq!(
            crashlens::render::verdict::words(&got)
                .unwrap()
                .narrative
                .en,
            crashlens::render::verdict::words(&want)
                .unwrap()
                .narrative
                .en,
            "{name}"
        );
    }
}

//! Debian's newer kernels from the dump lab (tests/lab/run.sh trixie-sysrq trixie-nginx k72-sysrq
//! k72-nginx k73-sysrq k73-nginx k73-lockup k73rt-sysrq k73rt-nginx: trixie's 6.12, sid's 7.2,
//! trixie-backports' 7.3 cloud and PREEMPT_RT; sysrq-c and the reference case on each, a soft
//! lockup on 7.3)
//! and Debian 11's 5.10: every CPU's backtrace reaches its base with its exception frames, the
//! ORC entry format is the one the table holds, date and uptime are known. Values are checked
//! against what the guest's console printed (facts.json, console.log). A scenario the lab cache
//! lacks is skipped (and said so).

use crashlens::analysis::orc::{OrcFormat, OrcRegs, OrcVersion};
use crashlens::analysis::stack::KernelStack;
use crashlens::report::build::{report_of, Options, Session};
use crashlens::source::FileSource;
use serde_json::Value;
use std::path::PathBuf;
mod common;
use common::lab_dir;

/// The newer-kernel scenarios and the ORC register numbering their kernels were built with.
const NEWER: &[(&str, OrcRegs)] = &[
    ("trixie-sysrq", OrcRegs::Classic),
    ("trixie-nginx", OrcRegs::Classic),
    ("k72-sysrq", OrcRegs::Renumbered),
    ("k72-nginx", OrcRegs::Renumbered),
    ("k73-sysrq", OrcRegs::Renumbered),
    ("k73-nginx", OrcRegs::Renumbered),
    ("k73-lockup", OrcRegs::Renumbered),
    ("k73rt-sysrq", OrcRegs::Renumbered),
    ("k73rt-nginx", OrcRegs::Renumbered),
];

struct Lab {
    name: String,
    dir: PathBuf,
    session: Session,
    facts: Value,
}

fn open(name: &str) -> Option<Lab> {
    let dir = lab_dir().join(name);
    let (elf, facts) = (dir.join("vmcore.elf"), dir.join("facts.json"));
    if !elf.is_file() || !facts.is_file() {
        eprintln!("note: lab scenario {name} absent (tests/lab/run.sh {name}); skipped");
        return None;
    }
    let src = FileSource::open(&elf).expect("lab dump opens");
    Some(Lab {
        name: name.into(),
        session: Session::open(Box::new(src), &Options::default()).expect("a dump"),
        facts: serde_json::from_str(&std::fs::read_to_string(facts).unwrap()).unwrap(),
        dir,
    })
}

/// A number in the JSON report: kernel addresses and registers are hex strings ("0x0").
fn num(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        let s = v.as_str()?;
        u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
    })
}

fn base(f: &str) -> &str {
    f.split(['.', ' ']).next().unwrap_or(f)
}

fn names(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| f["function"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// `want` appear in `got` in this order (not necessarily adjacent).
fn in_order(got: &[String], want: &[&str]) -> bool {
    let mut it = got.iter();
    want.iter().all(|w| it.any(|g| base(g) == *w))
}

/// Checks every CPU's trace of a lab dump: no early stop, more than three frames, and its base:
/// the crashing CPU's trace ends in the user-mode register frame of entry_SYSCALL_64, every
/// other CPU's in the idle loop's start (secondary_startup_64 / common_startup_64, 6.9+) after
/// the exception frame of the reboot IPI that stopped it.
fn check_bases(lab: &Lab, r: &Value) -> Vec<String> {
    let mut bad = vec![];
    let crashing = lab.facts["crashing_cpu"].as_u64().expect("crashing_cpu");
    let traces = r["cpu_traces"].as_array().unwrap();
    if traces.len() != 2 {
        bad.push(format!("{} CPU traces, want 2", traces.len()));
    }
    for t in traces {
        let cpu = t["cpu"].as_u64().unwrap();
        let frames = t["frames"].as_array().unwrap();
        let n = names(frames);
        if !t["error"].is_null() {
            bad.push(format!("CPU {cpu} stopped: {}", t["error"]));
        }
        if frames.len() <= 3 {
            bad.push(format!("CPU {cpu}: only {n:?}"));
        }
        let last = frames.last().unwrap();
        if cpu == crashing {
            // The last frame is the user-mode register frame (its RIP in user space, no
            // kernel symbol); the last kernel frame is the system-call entry.
            let user_cs = num(&last["regs"]["cs"]).is_some_and(|cs| cs & 3 == 3);
            let entry = frames
                .iter()
                .rev()
                .find_map(|f| f["function"].as_str())
                .is_some_and(|f| f.starts_with("entry_SYSCALL_64"));
            if !entry || !user_cs {
                bad.push(format!(
                    "CPU {cpu} does not end in entry_SYSCALL_64's user frame: {n:?}"
                ));
            }
        } else {
            let l = n.last().unwrap();
            if !(l.starts_with("secondary_startup_64") || l == "common_startup_64") {
                bad.push(format!("CPU {cpu} does not end at the idle base: {n:?}"));
            }
            let halt = frames.iter().any(|f| {
                f["kind"] == "exception"
                    && f["function"]
                        .as_str()
                        .is_some_and(|s| s.ends_with("safe_halt"))
            });
            if !halt || !in_order(&n, &["sysvec_reboot", "do_idle", "cpu_startup_entry"]) {
                bad.push(format!(
                    "CPU {cpu}: no reboot IPI over the halted idle loop: {n:?}"
                ));
            }
        }
    }
    bad
}

#[test]
fn newer_kernels_every_cpu_reaches_its_base() {
    let mut checked = 0;
    let mut problems = vec![];
    for &(name, regs) in NEWER {
        let Some(lab) = open(name) else { continue };
        let k = &lab.session.kernel;
        let r = serde_json::to_value(report_of(k)).unwrap();
        let mut bad = check_bases(&lab, &r);
        // The ORC format is read from the table: v3 type bits, and the numbering objtool used.
        match KernelStack::new(k).orc {
            Some((f, fit)) => {
                let want = OrcFormat {
                    version: OrcVersion::V3,
                    regs,
                };
                if f != want || fit.sane_calls * 2 < fit.entries {
                    bad.push(format!("ORC format {f:?} fit {fit:?}, want {want:?}"));
                }
            }
            None => bad.push("no ORC format".into()),
        }
        // The crashing CPU's chain, as the scenario makes it.
        let crashing = lab.facts["crashing_cpu"].as_u64().unwrap() as usize;
        let t = &r["cpu_traces"][crashing]["frames"];
        let n = names(t.as_array().unwrap());
        // The reference case faults in the page allocator's free path (__free_pages on 6.12,
        // ___free_pages on 7.x), as the console's RIP line says.
        let fault = lab.facts["rip_function"].as_str().unwrap_or("?");
        let chain: &[&str] = if name.ends_with("nginx") {
            &[
                "panic",
                fault,
                "lab_read",
                "proc_reg_read",
                "vfs_read",
                "ksys_read",
                "do_syscall_64",
            ]
        } else if name.ends_with("lockup") {
            // The watchdog's hrtimer interrupt on the IRQ stack, over the spinning module code.
            &[
                "panic",
                "watchdog_timer_fn",
                "hrtimer_interrupt",
                "sysvec_apic_timer_interrupt",
                "asm_sysvec_apic_timer_interrupt",
                "lab_spin",
                "provoke_write",
                "vfs_write",
                "ksys_write",
                "do_syscall_64",
            ]
        } else {
            &[
                "panic",
                "sysrq_handle_crash",
                "__handle_sysrq",
                "write_sysrq_trigger",
                "proc_reg_write",
                "vfs_write",
                "ksys_write",
                "do_syscall_64",
            ]
        };
        if !in_order(&n, chain) {
            bad.push(format!("crashing CPU {n:?} lacks {chain:?}"));
        }
        if name.ends_with("nginx") {
            // The fault's exception frame: the free path with the NULL page in RDI, then the
            // module's read handler.
            let f = t
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["kind"] == "exception" && f["function"] == fault);
            match f {
                Some(f) if num(&f["regs"]["rdi"]) == Some(0) => {}
                _ => bad.push(format!("no {fault} exception frame with RDI 0")),
            }
            if !t
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["function"] == "lab_read" && f["module"] == "crashlens_lab")
            {
                bad.push("no lab_read [crashlens_lab] frame".into());
            }
        }
        problems.extend(bad.into_iter().map(|b| format!("{}: {b}", lab.name)));
        checked += 1;
    }
    eprintln!("newer-kernel lab scenarios checked: {checked}");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The console's timestamp of a line containing `text` (`[    7.127817] sysrq: ...`).
fn console_time(dir: &std::path::Path, text: &str) -> Option<f64> {
    let log = std::fs::read(dir.join("console.log")).ok()?;
    let log = String::from_utf8_lossy(&log);
    log.lines().find(|l| l.contains(text)).and_then(|l| {
        let (_, rest) = l.split_once('[')?;
        rest.split_once(']')?.0.trim().parse().ok()
    })
}

/// Date and uptime on the newer kernels (no CRASHTIME in a QEMU dump): the timekeeper in
/// whichever variable the kernel keeps it (6.12: tk_core; 7.x: timekeeper_data[]), the date
/// within minutes before the dump file was written, the uptime the console's timestamp of the
/// crash (7.x has no tick_nsec: HZ from the monotonic clock, Debian's HZ=250).
#[test]
fn newer_kernels_date_and_uptime() {
    let mut checked = 0;
    for &(name, _) in NEWER {
        let Some(lab) = open(name) else { continue };
        let s = crashlens::kernel::sys::sys_info(&lab.session.kernel);
        let var = if name.starts_with("trixie") {
            "tk_core"
        } else {
            "timekeeper_data"
        };
        assert_eq!(
            s.date_source.as_deref(),
            Some(format!("timekeeper ({var})").as_str()),
            "{name}"
        );
        let written = std::fs::metadata(lab.dir.join("vmcore.elf"))
            .unwrap()
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let date = s.date.expect("date");
        assert!(
            date <= written && written - date < 600,
            "{name}: date {date} vs dump written {written}"
        );
        let first = lab.facts["panic_message_first_line"].as_str().unwrap();
        let t = console_time(&lab.dir, first).expect("console timestamp of the crash");
        let up = s.uptime_secs.expect("uptime") as f64;
        assert!(
            (up - t.floor()).abs() <= 1.0,
            "{name}: uptime {up} vs console {t}"
        );
        let hz_from = if name.starts_with("trixie") {
            "jiffies, HZ 250 from tick_nsec"
        } else {
            "jiffies, HZ 250 from the timekeeper's monotonic clock"
        };
        assert_eq!(s.uptime_source.as_deref(), Some(hz_from), "{name}");
        checked += 1;
    }
    eprintln!("newer-kernel lab scenarios checked: {checked}");
}

/// Debian 11's 5.10 runs the reboot IPI on the IRQ stack through asm_call_irq_on_stack, whose
/// caller's frame lies below it on the task stack: the idle CPU's trace crosses back to the
/// task stack and reaches secondary_startup_64_no_verify.
#[test]
fn bullseye_idle_cpu_crosses_back_from_the_irq_stack() {
    for name in ["bullseye-null", "bullseye-nginx"] {
        let Some(lab) = open(name) else { continue };
        let r = serde_json::to_value(report_of(&lab.session.kernel)).unwrap();
        let crashing = lab.facts["crashing_cpu"].as_u64().unwrap();
        let idle = r["cpu_traces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["cpu"].as_u64() != Some(crashing))
            .expect("the idle CPU");
        let n = names(idle["frames"].as_array().unwrap());
        assert!(idle["error"].is_null(), "{name}: {}", idle["error"]);
        assert!(
            in_order(
                &n,
                &[
                    "stop_this_cpu",
                    "asm_call_irq_on_stack",
                    "sysvec_reboot",
                    "asm_sysvec_reboot",
                    "native_safe_halt",
                    "do_idle",
                    "cpu_startup_entry",
                    "secondary_startup_64_no_verify"
                ]
            ),
            "{name}: {n:?}"
        );
        let bad = check_bases(&lab, &r);
        assert!(bad.is_empty(), "{name}: {bad:#?}");
    }
}

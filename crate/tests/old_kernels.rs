//! The old kernels without BTF (CentOS 7's 3.10, upstream 4.9 and 4.19), kdumped for real by
//! `tests/lab/oldkernels.py` (scenarios `old310-*`, `old49-*`, `old419-*` in the lab cache).
//! Oracles: the kernel's own System.map (beside the prebuilt kernel the scenario's run.json
//! names), the guest's console (its `ps` just before the crash, the uptime it printed, the
//! crash report) and facts.json derived from that console. Skips when the scenarios are absent.

mod common;
use common::lab_dir;
use crashlens::kernel::sys::sys_info;
use crashlens::report::build::{report_of, Options, Session};
use crashlens::report::tasks::ps;
use crashlens::source::FileSource;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// (scenario dir, facts.json, run.json) of every old-kernel scenario built.
fn old_scenarios() -> Vec<(PathBuf, Value, Value)> {
    let mut v: Vec<_> = std::fs::read_dir(lab_dir())
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_else(|_| Vec::new())
        .into_iter()
        .filter(|p: &PathBuf| {
            p.file_name().unwrap().to_string_lossy().starts_with("old")
                && p.join("vmcore.elf").is_file()
                && p.join("facts.json").is_file()
        })
        .filter_map(|p| {
            let j = |f: &str| -> Option<Value> {
                serde_json::from_str(&std::fs::read_to_string(p.join(f)).ok()?).ok()
            };
            Some((p.clone(), j("facts.json")?, j("run.json")?))
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    if v.is_empty() {
        eprintln!("note: no old-kernel scenarios (tests/lab/oldkernels.py); skipped");
    }
    v
}

/// The System.map of the scenario's kernel: in $CRASHLENS_OLD_KERNELS or ../shared/kernels
/// beside this checkout (as tests/lab/oldkernels.py finds the kernels), else where run.json says
/// the lab found it (the cache may have been written from another checkout).
fn system_map(run: &Value) -> Option<String> {
    let kernel = run["definition"]["kernel"].as_str()?;
    let m = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dirs = std::env::var_os("CRASHLENS_OLD_KERNELS")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            m.join("../../shared/kernels"),
            m.join("../../../shared/kernels"),
        ])
        .map(|d| d.join(kernel))
        .chain(run["kernel_dir"].as_str().map(PathBuf::from));
    dirs.filter_map(|d| std::fs::read_to_string(d.join("System.map")).ok())
        .next()
}

fn open(dir: &std::path::Path) -> Session {
    let src = FileSource::open(&dir.join("vmcore.elf")).unwrap();
    Session::open(Box::new(src), &Options::default()).unwrap()
}

fn name(dir: &std::path::Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// The console between two markers, without timestamps.
fn console_block(dir: &std::path::Path, begin: &str, end: &str) -> Vec<String> {
    let c = std::fs::read_to_string(dir.join("console.log")).unwrap_or_default();
    c.lines()
        .skip_while(|l| !l.contains(begin))
        .skip(1)
        .take_while(|l| !l.contains(end))
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// Without VMCOREINFO kallsyms keys the tables are found by scanning the image, and every
/// vmlinux symbol decoded is in the kernel's System.map at the same address.
#[test]
fn old_kernel_symbols_equal_system_map() {
    for (dir, _, run) in old_scenarios() {
        let n = name(&dir);
        let s = open(&dir);
        let t = s.kernel.symbols();
        assert!(
            t.source.contains("scanning the kernel image"),
            "{n}: {}",
            t.source
        );
        let Some(map) = system_map(&run) else {
            common::skip(format!(
                "{n}: no System.map of {}",
                run["definition"]["kernel"]
            ));
            continue;
        };
        let pairs: HashSet<(String, u64)> = map
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let a = u64::from_str_radix(w.next()?, 16).ok()?;
                Some((w.nth(1)?.to_string(), a))
            })
            .collect();
        let ours: Vec<(String, u64)> =
            ["init_task", "sysrq_handle_crash", "__free_pages", "_stext"]
                .iter()
                .map(|&nm| (nm.to_string(), t.addr_of(nm).unwrap_or(0)))
                .collect();
        for p in &ours {
            assert!(pairs.contains(p), "{n}: {p:?} not in System.map");
        }
        let kernel: Vec<(String, u64)> = t
            .iter()
            .filter(|s| s.module.is_none())
            .map(|s| (s.name.clone(), s.addr))
            .collect();
        let missing: Vec<&(String, u64)> = kernel
            .iter()
            .filter(|p| !pairs.contains(p))
            .take(5)
            .collect();
        assert!(kernel.len() > 30_000, "{n}: {} symbols", kernel.len());
        assert!(missing.is_empty(), "{n}: not in System.map: {missing:?}");
        eprintln!("{n}: {} kallsyms symbols, all in System.map", kernel.len());
    }
}

/// `sys`: utsname from init_uts_ns (release = the console's), the CPUs from the cpumasks (the
/// guest had 2), uptime from jiffies (the init printed its own uptime a moment before the
/// crash), TASKS = the task list.
#[test]
fn old_kernel_sys() {
    for (dir, f, _) in old_scenarios() {
        let n = name(&dir);
        let s = open(&dir);
        let i = sys_info(&s.kernel);
        assert_eq!(
            i.release.as_ref(),
            f["kernel_release"].as_str().map(|s| s.to_string()).as_ref(),
            "{n}"
        );
        assert_eq!(i.machine.as_deref(), Some("x86_64"), "{n}");
        assert!(
            i.version
                .as_deref()
                .is_some_and(|v| v.starts_with("#") && v.contains("SMP")),
            "{n}: {:?}",
            i.version
        );
        assert_eq!(i.cpus, Some(2), "{n}: {:?}", i.warnings);
        assert!(
            !i.warnings.iter().any(|w| w.contains("CPU masks")),
            "{n}: {:?}",
            i.warnings
        );
        let console = std::fs::read_to_string(dir.join("console.log")).unwrap();
        // The kernel's own time of the panic line (a lockup panics seconds after the trigger),
        // else the guest's uptime when it triggered the crash.
        let panic_ts = console.lines().find_map(|l| {
            l.contains("Kernel panic - not syncing")
                .then(|| l.strip_prefix('[')?.split(']').next()?.trim().parse().ok())?
        });
        let up: f64 = panic_ts
            .or_else(|| {
                console
                    .lines()
                    .find_map(|l| l.split("CRASHLENS-LAB: uptime ").nth(1))
                    .and_then(|r| r.split('s').next()?.parse().ok())
            })
            .unwrap();
        let ours = i
            .uptime_secs
            .unwrap_or_else(|| panic!("{n}: no uptime {:?}", i.warnings));
        assert!(
            (ours as f64 - up).abs() <= 2.0,
            "{n}: uptime {ours} s, console {up} s"
        );
        assert_eq!(i.tasks, Some(s.kernel.tasks().0.len()), "{n}");
        eprintln!(
            "{n}: {:?} {:?} cpus {:?} uptime {ours} s tasks {:?}",
            i.release, i.version, i.cpus, i.tasks
        );
    }
}

/// `ps` without BTF: every task the guest's own `ps` listed just before the crash (but `ps`
/// itself) is there with the same PID, PPID and command, plus one idle task per CPU; what the
/// guest started after its `ps` (the crash trigger) has higher PIDs; the crashing task the
/// console names is marked running on the CPU the console names.
#[test]
fn old_kernel_ps_equals_guest_ps() {
    for (dir, f, _) in old_scenarios() {
        let n = name(&dir);
        let guest = console_block(&dir, "CRASHLENS-PS-BEGIN", "CRASHLENS-PS-END");
        if guest.is_empty() {
            eprintln!("{n}: no guest ps in the console; skipped");
            continue;
        }
        let s = open(&dir);
        let (rows, warnings) = ps(&s.kernel);
        let ours: HashMap<i32, (i32, String)> = rows
            .iter()
            .filter(|r| r.pid > 0)
            .map(|r| (r.pid, (r.ppid, r.comm.clone())))
            .collect();
        let mut ps_pid = 0;
        let mut checked = 0;
        // Rows are "PID PPID STAT COMMAND"; the header and kernel lines printed into the same
        // serial stream ("[   13.15] random: ...") are not.
        for l in &guest {
            let w: Vec<&str> = l.split_whitespace().collect();
            let (Some(Ok(pid)), Some(Ok(ppid)), Some(&comm)) = (
                w.first().map(|v| v.parse::<i32>()),
                w.get(1).map(|v| v.parse::<i32>()),
                w.get(3),
            ) else {
                continue;
            };
            if comm == "ps" {
                ps_pid = pid;
                continue;
            }
            // 4.19+ /proc shows a kworker's comm with its workqueue appended (`wq_worker_comm`:
            // "kworker/0:0-events", '+' while running); task_struct.comm has the name alone.
            let comm = match comm.split_once(['-', '+']) {
                Some((c, _)) if c.starts_with("kworker/") => c,
                _ => comm,
            };
            assert_eq!(
                ours.get(&pid),
                Some(&(ppid, comm.to_string())),
                "{n}: pid {pid} {warnings:?}"
            );
            checked += 1;
        }
        assert!(checked > 30, "{n}: {checked}");
        let extra: Vec<i32> = ours
            .keys()
            .copied()
            .filter(|p| {
                !guest
                    .iter()
                    .any(|l| l.split_whitespace().next() == Some(&p.to_string()))
            })
            .collect();
        assert!(
            extra.iter().all(|&p| p > ps_pid),
            "{n}: {extra:?} not after ps {ps_pid}"
        );
        assert_eq!(rows.iter().filter(|r| r.pid == 0).count(), 2, "{n}");
        let crashing = rows
            .iter()
            .find(|r| r.active && Some(r.pid as i64) == f["crashing_pid"].as_i64())
            .unwrap_or_else(|| panic!("{n}: crashing task not marked"));
        assert_eq!(
            Some(crashing.comm.as_str()),
            f["crashing_comm"].as_str(),
            "{n}"
        );
        assert_eq!(Some(crashing.cpu as i64), f["crashing_cpu"].as_i64(), "{n}");
        assert_eq!(crashing.st, "RU", "{n}");
        eprintln!(
            "{n}: {} tasks; the guest's {checked} + {} started after its ps + 2 idle",
            rows.len(),
            extra.len()
        );
    }
}

/// The crashing task's report on these kernels: symbols, the task the log names, and the
/// call chain the console printed.
#[test]
fn old_kernel_report_names_the_crash() {
    for (dir, f, _) in old_scenarios() {
        let n = name(&dir);
        let s = open(&dir);
        let r = serde_json::to_value(report_of(&s.kernel)).unwrap();
        assert_eq!(r["panic"]["pid"], f["crashing_pid"], "{n}");
        assert_eq!(r["panic"]["comm"], f["crashing_comm"], "{n}");
        if let Some(rip) = f["rip_function"].as_str() {
            let bt: Vec<&str> = r["backtrace"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|fr| fr["function"].as_str())
                .collect();
            assert!(
                bt.iter().any(|b| b.starts_with(rip)),
                "{n}: {bt:?} lacks {rip}"
            );
        }
    }
}

/// Where a CPU's backtrace may end on these kernels: the user-mode register frame of a system
/// call (after `system_call_fastpath` on 3.10, `entry_SYSCALL_64*` on 4.x), or the idle base
/// (`start_secondary`, `secondary_startup_64` via `start_kernel` on CPU 0).
fn reaches_base(t: &Value) -> Result<(), String> {
    let frames = t["frames"].as_array().ok_or("no frames")?;
    if !t["error"].is_null() {
        return Err(format!("stopped: {}", t["error"]));
    }
    let last = frames.last().ok_or("empty")?;
    let names: Vec<&str> = frames
        .iter()
        .filter_map(|f| f["function"].as_str())
        .collect();
    let user = last["kind"] == "exception" && last["regs"]["cs"] == "0x33";
    let before = names.last().copied().unwrap_or("");
    let syscall =
        user && (before == "system_call_fastpath" || before.starts_with("entry_SYSCALL_64"));
    let idle = ["start_secondary", "secondary_startup_64"].contains(&before)
        && names.contains(&"cpu_startup_entry");
    if syscall || idle {
        Ok(())
    } else {
        Err(format!("ends at {before} (user frame: {user}): {names:?}"))
    }
}

/// Every CPU's backtrace reaches its base, with no "unwinding stopped".
#[test]
fn old_kernel_every_cpu_reaches_its_base() {
    for (dir, _, _) in old_scenarios() {
        let n = name(&dir);
        let s = open(&dir);
        let r = serde_json::to_value(report_of(&s.kernel)).unwrap();
        let cpus = r["cpu_traces"].as_array().unwrap();
        assert_eq!(cpus.len(), 2, "{n}");
        for t in cpus {
            reaches_base(t).unwrap_or_else(|e| panic!("{n} CPU {}: {e}", t["cpu"]));
        }
    }
}

/// The shared fixture (a real kdump of the same 3.10 kernel from the kernels' own lab init):
/// crash lists 48 tasks on it (issue 16), every CPU reaches its base, and the crashing task is
/// the log's (init, pid 1, LKDTM write from `direct_entry`).
#[test]
fn el7_fixture_tasks_and_bases() {
    let Some(f) = common::fixtures().map(|d| d.join("linux-3.10-el7-lkdtm/vmcore.d31-lzo.kdump"))
    else {
        return;
    };
    if !f.exists() {
        return;
    }
    let src = FileSource::open(&f).unwrap();
    let s = Session::open(Box::new(src), &Options::default()).unwrap();
    let i = sys_info(&s.kernel);
    assert_eq!(i.tasks, Some(48));
    assert_eq!(i.machine.as_deref(), Some("x86_64"));
    assert_eq!(i.cpus, Some(2));
    let (rows, _) = ps(&s.kernel);
    let init = rows.iter().find(|r| r.pid == 1).unwrap();
    assert!(init.active && init.comm == "init" && init.st == "RU" && !init.kthread);
    assert!(rows
        .iter()
        .filter(|r| r.pid > 2)
        .any(|r| r.ppid == 2 && r.kthread));
    let r = serde_json::to_value(report_of(&s.kernel)).unwrap();
    for t in r["cpu_traces"].as_array().unwrap() {
        reaches_base(t).unwrap_or_else(|e| panic!("CPU {}: {e}", t["cpu"]));
    }
}

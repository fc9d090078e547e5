//! Every scenario the project's dump lab produced (tests/lab/run.sh): the report's facts, the
//! backtrace and the verdict against the scenario's facts.json (derived by the lab from the guest's
//! console, not typed in). Skips when the lab cache is absent.

use crashlens::report::build::{report_of, Options, Session};
use crashlens::source::FileSource;
use serde_json::Value;
mod common;
use common::{lab_dir, lab_scenarios};

fn base(f: &str) -> &str {
    f.split(['.', ' ']).next().unwrap_or(f)
}

#[test]
fn every_lab_scenario_gives_its_facts() {
    if !lab_dir().exists() {
        common::skip("no lab cache (run tests/lab/run.sh)");
        return;
    }
    let mut checked = 0;
    let mut problems = Vec::new();
    for sc in lab_scenarios() {
        let (facts, elf) = (sc.join("facts.json"), sc.join("vmcore.elf"));
        if !facts.exists() || !elf.exists() {
            continue;
        }
        let name = sc.file_name().unwrap().to_string_lossy().to_string();
        let f: Value = serde_json::from_str(&std::fs::read_to_string(&facts).unwrap()).unwrap();
        let src = FileSource::open(&elf).unwrap();
        let s = Session::open(Box::new(src), &Options::default()).unwrap();
        let r = serde_json::to_value(report_of(&s.kernel)).unwrap();
        let mut bad = |what: String| problems.push(format!("{name}: {what}"));
        if r["kernel"]["release"] != f["kernel_release"] {
            bad(format!("release {}", r["kernel"]["release"]));
        }
        if f["crashing_pid"].is_number() && r["panic"]["pid"] != f["crashing_pid"] {
            bad(format!(
                "pid {} want {}",
                r["panic"]["pid"], f["crashing_pid"]
            ));
        }
        if f["crashing_comm"].is_string() && r["panic"]["comm"] != f["crashing_comm"] {
            bad(format!(
                "comm {} want {}",
                r["panic"]["comm"], f["crashing_comm"]
            ));
        }
        if let Some(cf) = f["culprit_function"].as_str() {
            let got = r["culprit"]["function"].as_str().unwrap_or("");
            if base(got) != base(cf) {
                bad(format!("culprit {got} want {cf}"));
            }
            if r["culprit"]["module"] != f["culprit_module"] {
                bad(format!(
                    "culprit module {} want {}",
                    r["culprit"]["module"], f["culprit_module"]
                ));
            }
        }
        let en = r["narrative"]["en"].as_str().unwrap_or("");
        let zh = r["narrative"]["zh"].as_str().unwrap_or("");
        for key in ["rip_function", "culprit_function"] {
            if let Some(func) = f[key].as_str() {
                if !en.contains(base(func)) || !zh.contains(base(func)) {
                    bad(format!("narrative lacks {func}"));
                }
            }
        }
        // At least one real Chinese sentence: a run of 8 or more Han characters.
        let longest_han = zh.chars().fold((0, 0), |(best, run), c| {
            let run = if ('\u{4e00}'..='\u{9fff}').contains(&c) {
                run + 1
            } else {
                0
            };
            (best.max(run), run)
        });
        if longest_han.0 < 8 {
            bad("narrative.zh has no Chinese sentence".into());
        }
        if let Some(reg) = f["faulting_register"].as_str() {
            if !en.to_lowercase().contains(&reg.to_lowercase()) {
                bad(format!("narrative lacks register {reg}"));
            }
        }
        // The backtrace holds the console's call chain in order (suffixes such as .cold ignored).
        // `bt_frames` (what ../shared/checks' bt check holds the unwinder to: the console's
        // chain as the crashing CPU's stack still has it; a crash class's rule in facts.py says
        // which frames those are, e.g. none of a blocked task's for a hung-task panic), else the
        // console's call chain.
        let chain = f["bt_frames"].as_array().or(f["call_chain"].as_array());
        if let Some(chain) = chain {
            // dump_stack*/show_stack printed the console trace; they are gone from the stack later.
            let want: Vec<&str> = chain
                .iter()
                .filter_map(|c| c.as_str())
                .map(base)
                .filter(|f| !f.starts_with("dump_stack") && !f.starts_with("show_stack"))
                .collect();
            let names = |frames: &Value| -> Vec<String> {
                frames
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|fr| fr["function"].as_str())
                            .map(|s| base(s).to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            // A hung-task panic's console trace is the blocked task's, which the finding unwinds
            // (the crashing CPU only runs khungtaskd's panic).
            let mut traces = vec![names(&r["backtrace"])];
            if f["crash_class"] == "hung-task" {
                for t in r["verdict"]["finding"]["tasks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    traces.push(names(&t["trace"]["frames"]));
                }
            }
            let holds = |got: &Vec<String>| {
                let mut it = got.iter();
                want.iter().all(|w| it.any(|g| g == w))
            };
            if !traces.iter().any(holds) {
                bad(format!("backtraces {traces:?} lack {want:?}"));
            }
        }
        checked += 1;
    }
    eprintln!("lab scenarios checked: {checked}");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// KASLR off (the `nokaslr` scenario, as CentOS 7 boots): the kernel sits at its link address
/// and the direct map at its fixed base, which the page tables confirm; the probe kernels
/// without `page_offset_base` (before 4.8) rely on finds it. With KASLR (the fixture-like `null`
/// scenario) the randomised base is none of the fixed ones, and the probe says so.
#[test]
fn direct_map_base_by_page_tables() {
    use crashlens::kernel::bases::direct_map_by_page_tables;
    let dir = lab_dir();
    let open = |sc: &str| {
        let p = dir.join(sc).join("vmcore.d31-zlib.kdump");
        p.exists().then(|| {
            Session::open(Box::new(FileSource::open(&p).unwrap()), &Options::default()).unwrap()
        })
    };
    let (Some(fixed), Some(random)) = (open("nokaslr"), open("null")) else {
        common::skip("lab scenarios nokaslr/null absent (tests/lab/run.sh nokaslr null)");
        return;
    };
    let k = &fixed.kernel;
    assert_eq!(k.vmcoreinfo.kernel_offset, Some(0));
    assert_eq!(k.bases().page_offset_base, 0xffff_8880_0000_0000);
    assert_eq!(
        direct_map_by_page_tables(k, false),
        Some(0xffff_8880_0000_0000)
    );
    let k = &random.kernel;
    assert_ne!(k.bases().page_offset_base, 0xffff_8880_0000_0000);
    assert_eq!(direct_map_by_page_tables(k, false), None);
    // Either way the report is whole.
    let r = report_of(&fixed.kernel);
    assert_eq!(
        r.culprit().map(|c| c.function.clone()),
        Some("lab_read".to_string())
    );
}

/// Without BTF the tasks on the CPUs are still named: the pid and comm offsets are learned from
/// the crashing task the log names. On every lab scenario (6.1 and 5.10) they name the same
/// tasks as BTF does.
#[test]
fn cpu_tasks_named_without_btf() {
    let mut checked = 0;
    for sc in lab_scenarios() {
        let name = sc.file_name().unwrap().to_string_lossy().to_string();
        let elf = sc.join("vmcore.elf");
        if name.starts_with('_') || name == "big-4g" || !elf.exists() {
            continue;
        }
        // The offsets are learned from the task the log names: a log that names none (a
        // machine check reported from MCE context) gives nothing to learn from.
        let facts: Value = std::fs::read_to_string(sc.join("facts.json"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null);
        if !facts["crashing_pid"].is_number() {
            continue;
        }
        let open = || {
            Session::open(
                Box::new(FileSource::open(&elf).unwrap()),
                &Options::default(),
            )
            .unwrap()
        };
        let with = open();
        let without = open();
        assert!(without.kernel.ignore_btf());
        let tasks = |r: &crashlens::report::Report| -> Vec<(u32, Option<u32>, Option<String>)> {
            r.cpu_traces
                .iter()
                .map(|t| (t.cpu, t.pid, t.comm.clone()))
                .collect()
        };
        let (a, b) = (report_of(&with.kernel), report_of(&without.kernel));
        assert!(
            tasks(&a).iter().all(|t| t.1.is_some()),
            "{name}: {:?}",
            tasks(&a)
        );
        assert_eq!(tasks(&b), tasks(&a), "{name}");
        checked += 1;
    }
    eprintln!("{checked} scenarios: CPU tasks named without BTF");
}

/// A real kdump that crashed on CPU 1 (`kdump-cpu1`: the nginx reader pinned with `taskset -c 1`).
/// The crashing CPU's registers must come from CPU 1's NT_PRSTATUS note, which is the second
/// note, not the first: the exception frame at `__free_pages` holds the register dump the kernel
/// printed on the console, RDI = 0 among them, and the culprit is the module's read handler.
/// Every expected value is from facts.json (the console, and lab.py's own read of the notes).
#[test]
fn kdump_on_cpu1_takes_cpu1_registers() {
    let dir = lab_dir().join("kdump-cpu1");
    let (facts, elf) = (dir.join("facts.json"), dir.join("vmcore.elf"));
    if !facts.is_file() || !elf.is_file() {
        common::skip(format!(
            "{} absent (tests/lab/run.sh kdump-cpu1)",
            dir.display()
        ));
        return;
    }
    let f: Value = serde_json::from_str(&std::fs::read_to_string(&facts).unwrap()).unwrap();
    let hex = |v: &Value| -> u64 {
        let s = v
            .as_str()
            .unwrap_or_else(|| panic!("not a hex string: {v}"));
        u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
    };
    // The scenario's point, from the console's "CPU: 1 PID: ..." line.
    assert_eq!(f["crashing_cpu"], 1, "the guest did not crash on CPU 1");
    let cpu = f["crashing_cpu"].as_u64().unwrap() as usize;
    let notes = f["prstatus"].as_array().unwrap();
    assert!(notes.len() > cpu, "{notes:?}");
    assert_ne!(
        notes[0]["rip"], notes[cpu]["rip"],
        "CPU 0's note must differ from the crashing CPU's for this test to tell them apart"
    );

    let s = Session::open(
        Box::new(FileSource::open(&elf).unwrap()),
        &Options::default(),
    )
    .unwrap();
    let r = report_of(&s.kernel);
    assert_eq!(r.panic.cpu, Some(cpu as u32));
    assert_eq!(r.panic.pid, f["crashing_pid"].as_u64().map(|p| p as u32));
    assert_eq!(r.panic.comm.as_deref(), f["crashing_comm"].as_str());

    // The crashing CPU's exception frame: the faulting function at the console's offset.
    let ex = r
        .backtrace
        .iter()
        .find(|fr| fr.regs.is_some())
        .expect("the crashing CPU's trace has an exception frame");
    assert_eq!(ex.function.as_deref(), f["rip_function"].as_str());
    assert_eq!(ex.offset, Some(hex(&f["rip_offset"])));
    // By name, as serialised (a number or a "0x..." string, whichever the model writes).
    let regs_json = serde_json::to_value(ex.regs.unwrap()).unwrap();
    let regs = |name: &str| -> u64 {
        let v = &regs_json[name];
        v.as_u64().unwrap_or_else(|| hex(v))
    };
    // Taken from CPU 1's note (the crash-path state kdump saved), not CPU 0's.
    assert_eq!(
        regs("rip"),
        hex(&notes[cpu]["rip"]),
        "rip from CPU {cpu}'s note"
    );
    assert_eq!(
        regs("rsp"),
        hex(&notes[cpu]["rsp"]),
        "rsp from CPU {cpu}'s note"
    );
    assert_ne!(regs("rip"), hex(&notes[0]["rip"]), "rip is CPU 0's");
    // Every register the console printed for the fault, RDI = 0 (the NULL page) among them.
    let printed = f["oops_registers"].as_object().expect("oops_registers");
    assert!(printed.len() >= 17, "{printed:?}");
    for (name, want) in printed {
        assert_eq!(regs(name), hex(want), "{name}");
    }
    let reg = f["faulting_register"].as_str().unwrap().to_lowercase();
    assert_eq!(reg, "rdi");
    assert_eq!(regs(&reg), hex(&f["faulting_register_value"]));
    assert_eq!(regs("rdi"), 0);

    // The crashing CPU's own trace carries the crashing task.
    let t = r
        .cpu_traces
        .iter()
        .find(|t| t.cpu == cpu as u32)
        .expect("a trace for the crashing CPU");
    assert_eq!(t.pid, r.panic.pid);

    // The verdict: the read handler of the lab module that passed the NULL page.
    let c = r.culprit().expect("a culprit");
    assert_eq!(Some(c.function.as_str()), f["culprit_function"].as_str());
    assert_eq!(c.module.as_deref(), f["culprit_module"].as_str());
    assert_eq!(c.function, "lab_read");
}

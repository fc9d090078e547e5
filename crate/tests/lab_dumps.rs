//! The project's own dump lab (tests/lab/run.sh) against the CLI: for every scenario the lab has
//! built, `crashlens report --format json` on the dump must give what the kernel printed on the
//! guest's console (tests/lab/facts.py wrote it to facts.json). Skips with a note when the lab
//! cache is absent (run `tests/lab/run.sh` to build it; env CRASHLENS_LAB_CACHE, default
//! ~/.cache/crashlens/lab).

mod common;
use common::{lab_dir, lab_scenarios};
use std::path::PathBuf;
use std::process::Command;

fn report(dump: &PathBuf) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_crashlens"))
        .args(["report", "--format", "json"])
        .arg(dump)
        .output()
        .expect("run crashlens");
    assert!(
        out.status.success(),
        "crashlens report {} failed: {}",
        dump.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report is JSON")
}

/// Every lab dump opens and gives the console's kernel release. Where the report names a crashing
/// task, it must be the console's task (pid, comm, CPU) and first report line; a report that does not
/// derive the task yet (crash kinds the log parser does not know yet) is listed, not accepted as right.
#[test]
fn lab_elf_dumps_match_console_facts() {
    let dirs = lab_scenarios();
    if dirs.is_empty() {
        common::skip(format!(
            "no lab scenarios in {} (run tests/lab/run.sh)",
            lab_dir().display()
        ));
        return;
    }
    let mut underived = Vec::new();
    for dir in &dirs {
        let facts: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("facts.json")).unwrap())
                .unwrap();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let r = report(&dir.join("vmcore.elf"));
        assert_eq!(
            r["kernel"]["release"], facts["kernel_release"],
            "{name}: release"
        );
        if r["panic"]["pid"].is_null() {
            underived.push(name);
            continue;
        }
        // A machine check's report names no task (no "CPU: N PID: P Comm: C" line): nothing
        // printed to hold the report's task to.
        if facts["crashing_pid"].is_null() && facts["crash_class"] == "machine-check" {
            eprintln!(
                "{name}: the console names no task; {} from memory",
                r["panic"]["comm"]
            );
            continue;
        }
        assert_eq!(r["panic"]["pid"], facts["crashing_pid"], "{name}: pid");
        assert_eq!(r["panic"]["comm"], facts["crashing_comm"], "{name}: comm");
        assert_eq!(r["panic"]["cpu"], facts["crashing_cpu"], "{name}: cpu");
        // The first line of the kernel's report, or (panic() called directly) the panic line.
        let msg = &r["panic"]["message"];
        // sysrq-c on kernels whose sysrq handler writes to NULL (before 6.x: 3.10, 4.x) logs the
        // trigger and then the oops it caused, which is the report.
        let console = std::fs::read_to_string(dir.join("console.log")).unwrap_or_default();
        let after_trigger = facts["panic_message_first_line"]
            .as_str()
            .filter(|l| l.ends_with("Trigger a crash"))
            .and_then(|l| console.lines().skip_while(|c| !c.ends_with(l)).nth(1))
            .and_then(|c| c.split_once("] ").map(|x| x.1.trim_end()));
        assert!(
            *msg == facts["panic_message_first_line"]
                || *msg == facts["panic_line"]
                || (after_trigger.is_some() && msg.as_str() == after_trigger),
            "{name}: message {msg} want {} or {}",
            facts["panic_message_first_line"],
            facts["panic_line"]
        );
        eprintln!(
            "{name}: ok ({} / pid {} / {})",
            facts["crashing_comm"], facts["crashing_pid"], facts["panic_message_first_line"]
        );
    }
    if !underived.is_empty() {
        eprintln!(
            "note: crashing task not derived yet by the report for: {}",
            underived.join(", ")
        );
    }
    // the NULL-dereference family must be fully derived already
    for must in [
        "null",
        "ref-nginx",
        "kdump",
        "big-4g",
        "la57",
        "bullseye-null",
        "bullseye-nginx",
    ] {
        assert!(
            !underived.iter().any(|u| u == must),
            "{must}: crashing task not derived"
        );
    }
}

/// The reference-case scenario: the crashing task is the process named nginx, the kernel faulted in
/// __free_pages, and the console blames the lab module's read handler.
#[test]
fn lab_ref_nginx_is_the_reference_case() {
    let dir = lab_dir().join("ref-nginx");
    if !dir.join("facts.json").is_file() {
        common::skip(format!(
            "{} absent (run tests/lab/run.sh ref-nginx)",
            dir.display()
        ));
        return;
    }
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("facts.json")).unwrap()).unwrap();
    assert_eq!(facts["crashing_comm"], "nginx");
    assert_eq!(facts["rip_function"], "__free_pages");
    assert_eq!(facts["faulting_register"], "RDI");
    assert_eq!(facts["faulting_register_value"], "0x0");
    assert_eq!(facts["culprit_function"], "lab_read");
    assert_eq!(facts["culprit_module"], "crashlens_lab");
    let r = report(&dir.join("vmcore.elf"));
    assert_eq!(r["panic"]["comm"], "nginx");
    assert!(
        r["panic"]["rip"]
            .as_str()
            .unwrap_or("")
            .starts_with("__free_pages+"),
        "rip: {}",
        r["panic"]["rip"]
    );
}

/// The kdump that crashed on CPU 1 (`taskset -c 1`): CPU 1's registers are the oops's own, found
/// by matching each NT_PRSTATUS note to the `crash_notes` buffer its CPU wrote, and the report
/// takes its exception frame from them.
#[test]
fn lab_kdump_cpu1_registers_are_cpu1s() {
    let dir = lab_dir().join("kdump-cpu1");
    let Ok(facts) = std::fs::read_to_string(dir.join("facts.json")) else {
        common::skip(format!(
            "{} absent (tests/lab/run.sh kdump-cpu1)",
            dir.display()
        ));
        return;
    };
    let facts: serde_json::Value = serde_json::from_str(&facts).unwrap();
    assert_eq!(facts["crashing_cpu"], 1);
    let hex = |v: &serde_json::Value| {
        u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    let want_rsp = hex(&facts["oops_registers"]["rsp"]);
    let want_r9 = hex(&facts["oops_registers"]["r9"]);
    for f in ["vmcore.d31-lzo.kdump", "vmcore.elf"] {
        let src = crashlens::source::FileSource::open(&dir.join(f)).unwrap();
        let s =
            crashlens::report::build::Session::open(Box::new(src), &Default::default()).unwrap();
        let k = &s.kernel;
        assert_eq!(
            k.cpus().mapping,
            crashlens::kernel::cpus::CpuMapping::CrashNotes,
            "{f}"
        );
        assert_eq!(k.nr_cpus(), 2, "{f}");
        let r1 = k.cpu_regs(1).expect("CPU 1 registers");
        assert_eq!((r1.rsp, r1.r9), (want_rsp, want_r9), "{f}: CPU 1");
        assert_ne!(k.cpu_regs(0).map(|r| r.rsp), Some(want_rsp), "{f}: CPU 0");
        let r = crashlens::report::build::report_of(k);
        assert_eq!(r.panic.cpu, Some(1), "{f}");
        let exc = r
            .backtrace
            .iter()
            .find(|fr| fr.regs.is_some())
            .expect("exception frame");
        assert_eq!(exc.regs.unwrap().rsp, want_rsp, "{f}");
        assert_eq!(
            r.culprit().map(|c| c.function.as_str()),
            Some("lab_read"),
            "{f}"
        );
    }
    // The same dump without CPU 0's NT_PRSTATUS note (as when a CPU does not answer the crash
    // NMI): the one note left is CPU 1's, not CPU 0's, though it is the first.
    let mut e = std::fs::read(dir.join("vmcore.elf")).unwrap();
    let header: Vec<u8> = [5u32, 336, 1]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .chain(*b"CORE\0")
        .collect();
    let at = e
        .windows(header.len())
        .position(|w| w == header)
        .expect("a CORE NT_PRSTATUS note");
    e[at + 8..at + 12].copy_from_slice(&0u32.to_le_bytes()); // no longer NT_PRSTATUS
    let s = crashlens::report::build::Session::open(
        Box::new(crashlens::source::BytesSource(e)),
        &Default::default(),
    )
    .unwrap();
    let k = &s.kernel;
    assert_eq!(k.cpus_with_regs(), vec![1]);
    assert_eq!(
        k.cpus().mapping,
        crashlens::kernel::cpus::CpuMapping::CrashNotes
    );
    assert_eq!(
        k.cpu_regs(1).map(|r| (r.rsp, r.r9)),
        Some((want_rsp, want_r9))
    );
    let r = crashlens::report::build::report_of(k);
    assert_eq!(
        r.cpu_traces.iter().map(|t| t.cpu).collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(r.culprit().map(|c| c.function.as_str()), Some("lab_read"));
}

/// The seed machine (lab scenario `seed-machine`: 32 vCPUs, 128 GiB, the reference case): no ELF
/// (it would be 128 GiB), so QEMU's kdump-zlib (flattened, zero pages not stored) and
/// makedumpfile's -d 31 dumps. Each gives the console's crashing task and CPU, a trace for every
/// one of the 32 CPUs (the crashing one through __free_pages into lab_read, the others stopped by
/// the panic's reboot IPI), and `bt -a` prints all 32.
#[test]
fn lab_seed_machine_32_cpus_128_gib() {
    let dir = lab_dir().join("seed-machine");
    if !dir.join("facts.json").is_file() {
        common::skip(format!(
            "{} absent (CRASHLENS_LAB_REUSE=1 python3 tests/lab/lab.py seed-machine)",
            dir.display()
        ));
        return;
    }
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("facts.json")).unwrap()).unwrap();
    assert_eq!(facts["crashing_comm"], "nginx");
    assert_eq!(facts["prstatus"].as_array().map(|v| v.len()), Some(32));
    let mut checked = 0;
    for f in [
        "vmcore.d31-zlib.kdump",
        "vmcore.d31-lzo.kdump",
        "vmcore.qemu-kdump-zlib",
    ] {
        let dump = dir.join(f);
        if !dump.is_file() {
            continue;
        }
        let r = report(&dump);
        assert_eq!(r["kernel"]["release"], facts["kernel_release"], "{f}");
        assert_eq!(r["panic"]["pid"], facts["crashing_pid"], "{f}: pid");
        assert_eq!(r["panic"]["comm"], "nginx", "{f}: comm");
        assert_eq!(r["panic"]["cpu"], facts["crashing_cpu"], "{f}: cpu");
        assert_eq!(
            r["panic"]["message"], facts["panic_message_first_line"],
            "{f}: message"
        );
        if f.contains("d31") {
            // 604,525 dumped pages: the descriptor table (13 MiB) is sampled, not read whole.
            // The report reads at most 16 MiB of the file: of the two 4 MiB page bitmaps only
            // the 2nd (dumped pages, for the rank) is read whole (zlib 11.3 MiB, LZO 13.8 MiB;
            // 15.3 and 17.8 when the 1st was read too).
            let read = r["dump"]["cache"]["bytes_read"].as_u64().unwrap();
            assert!(read <= 16 << 20, "{f}: {read} bytes read");
            let w = r["dump"]["container"]["warnings"].to_string();
            assert!(w.contains("holds 604525 entries"), "{f}: {w}");
            assert!(!w.contains("lies past the end"), "{f}: {w}");
            // So excluded pages are not counted in the report, and it says so.
            assert!(
                r["dump"]["container"]["pages_excluded"].is_null(),
                "{f}: {}",
                r["dump"]["container"]["pages_excluded"]
            );
            assert!(w.contains("excluded pages are not counted"), "{f}: {w}");
        } else {
            // The flattened file's index pass reads all of it, past the page cache: the cache
            // holds only what the report reads (it filled its 32 MiB budget before).
            let peak = r["dump"]["cache"]["peak_bytes"].as_u64().unwrap();
            assert!(peak <= 20 << 20, "{f}: cache peak {peak} bytes");
        }
        let traces = r["cpu_traces"].as_array().expect("cpu_traces");
        assert_eq!(traces.len(), 32, "{f}: one trace per CPU");
        let crashing = facts["crashing_cpu"].as_u64().unwrap();
        for (i, t) in traces.iter().enumerate() {
            assert_eq!(t["cpu"].as_u64(), Some(i as u64), "{f}: CPU order");
            let names: Vec<&str> = t["frames"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|fr| fr["function"].as_str())
                .collect();
            if i as u64 == crashing {
                assert_eq!(t["pid"], facts["crashing_pid"], "{f}: CPU {i}");
                let at = |n: &str| names.iter().position(|x| *x == n);
                assert!(
                    at("__free_pages").is_some() && at("__free_pages") < at("lab_read"),
                    "{f}: CPU {i}: {names:?}"
                );
            } else {
                // The other CPUs were stopped by panic()'s IPI while idle.
                assert!(
                    names.contains(&"stop_this_cpu") && names.contains(&"do_idle"),
                    "{f}: CPU {i}: {names:?}"
                );
            }
        }
        let out = Command::new(env!("CARGO_BIN_EXE_crashlens"))
            .args(["bt", "-a"])
            .arg(&dump)
            .output()
            .expect("run crashlens");
        assert!(out.status.success(), "{f}: bt -a");
        let text = String::from_utf8_lossy(&out.stdout);
        let cpus: Vec<u32> = text
            .lines()
            .filter(|l| l.starts_with("PID:"))
            .filter_map(|l| {
                l.split("CPU:")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();
        assert_eq!(cpus, (0..32).collect::<Vec<u32>>(), "{f}: bt -a CPUs");
        checked += 1;
    }
    assert!(checked >= 2, "seed-machine has no kdump files");
}

/// The seed machine's -d 31 dump cut to 70% of its size: its descriptor table is sampled, so
/// the truncation is found from the table's end — the first dumped page whose data lies past
/// the cut is the one a whole scan of the table finds (computed here from the descriptors:
/// the first whose data ends past the cut and is not the shared zero page's, which is the
/// lowest offset any descriptor holds).
#[test]
fn lab_seed_machine_truncated_dump_is_found_from_the_table_end() {
    use crashlens::bytes::Le;
    use crashlens::source::{FileSource, ReadAt, Window};
    let path = lab_dir().join("seed-machine").join("vmcore.d31-zlib.kdump");
    if !path.is_file() {
        common::skip(format!("{} absent", path.display()));
        return;
    }
    let file: std::rc::Rc<dyn ReadAt> = std::rc::Rc::new(FileSource::open(&path).unwrap());
    let cut = file.len() * 7 / 10;
    // The oracle: the header's block size and bitmap blocks give the table's place.
    let mut h = vec![0u8; 4096];
    file.read_at(0, &mut h).unwrap();
    let (bs, sub, bitmap) = (
        h.u32_at(0x1ac).unwrap() as u64,
        h.u32_at(0x1b0).unwrap() as u64,
        h.u32_at(0x1b4).unwrap() as u64,
    );
    let table = (1 + sub + bitmap) * bs;
    let d = crashlens::dump::open(file.clone()).unwrap();
    let n = d.info.pages_present;
    let mut t = vec![0u8; (n * 24) as usize];
    file.read_at(table, &mut t).unwrap();
    let desc = |i: usize| {
        (
            t.u64_at(i * 24).unwrap(),
            t.u32_at(i * 24 + 8).unwrap() as u64,
        )
    };
    let zero = (0..n as usize)
        .map(|i| desc(i).0)
        .filter(|&o| o != 0)
        .min()
        .unwrap();
    let first = (0..n as usize)
        .find(|&i| {
            let (o, sz) = desc(i);
            o != zero && o + sz > cut
        })
        .unwrap();
    let w: std::rc::Rc<dyn ReadAt> = std::rc::Rc::new(Window {
        inner: file,
        base: 0,
        len: cut,
    });
    let d = crashlens::dump::open(w).unwrap();
    let want = format!(
        "from dumped page {} of {n} on, the page data lies past the end of the file",
        first + 1
    );
    assert!(
        d.info.warnings.iter().any(|x| x.starts_with(&want)),
        "want {want:?} in {:?}",
        d.info.warnings
    );
}

/// Set bits of `bits` among the first `n`, counted here from the raw bytes.
fn popcount(bits: &[u8], n: u64) -> u64 {
    let whole = (n / 8) as usize;
    let mut c: u64 = bits[..whole].iter().map(|b| b.count_ones() as u64).sum();
    if !n.is_multiple_of(8) {
        c += (bits[whole] & ((1u8 << (n % 8)) - 1)).count_ones() as u64;
    }
    c
}

/// The seed machine's page counts: the report of a -d 31 dump leaves the excluded pages
/// uncounted (their 1st page bitmap, 4 MiB, is not read for a report); `crashlens info` counts
/// them, and they match both bitmaps counted here straight from the file's header and bytes
/// (kdump_sub_header version 6: max_mapnr_64 at offset 96 of the sub-header).
#[test]
fn lab_seed_machine_page_counts() {
    let dir = lab_dir().join("seed-machine");
    let kd = dir.join("vmcore.d31-lzo.kdump");
    if !kd.is_file() {
        common::skip(format!(
            "{} absent (CRASHLENS_LAB_REUSE=1 python3 tests/lab/lab.py seed-machine)",
            kd.display()
        ));
        return;
    }
    let info = |dump: &PathBuf| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_crashlens"))
            .args(["info", "--format", "json"])
            .arg(dump)
            .output()
            .expect("run crashlens");
        assert!(out.status.success(), "{}: info", dump.display());
        serde_json::from_slice(&out.stdout).expect("info JSON")
    };
    for f in ["vmcore.d31-lzo.kdump", "vmcore.d31-zlib.kdump"] {
        let dump = dir.join(f);
        if !dump.is_file() {
            continue;
        }
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(&dump).unwrap();
        let mut head = vec![0u8; 464];
        file.read_exact(&mut head).unwrap();
        let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        let (bs, sub_blocks, bitmap_blocks) = (
            u32_at(&head, 428) as u64,
            u32_at(&head, 432) as u64,
            u32_at(&head, 436) as u64,
        );
        let mut sub = vec![0u8; 104];
        file.seek(SeekFrom::Start(bs)).unwrap();
        file.read_exact(&mut sub).unwrap();
        let max_mapnr = u64::from_le_bytes(sub[96..104].try_into().unwrap());
        let half = bitmap_blocks * bs / 2;
        let mut bitmaps = vec![0u8; (2 * half) as usize];
        file.seek(SeekFrom::Start(bs * (1 + sub_blocks))).unwrap();
        file.read_exact(&mut bitmaps).unwrap();
        let present = popcount(&bitmaps[..half as usize], max_mapnr);
        let dumped = popcount(&bitmaps[half as usize..], max_mapnr);
        assert_eq!(dumped, 604525, "{f}: dumped pages");

        let i = info(&dump);
        let c = &i["container"];
        assert_eq!(c["pages_present"].as_u64(), Some(dumped), "{f}");
        assert_eq!(c["pages_excluded"].as_u64(), Some(present - dumped), "{f}");
        assert!(
            !c["warnings"]
                .to_string()
                .contains("excluded pages are not counted"),
            "{f}: {}",
            c["warnings"]
        );
        // The memory ranges `info` lists cover exactly the pages the 1st bitmap has.
        let ranges = i["physical_ranges"].as_array().unwrap();
        let pages: u64 = ranges
            .iter()
            .map(|r| (r[1].as_u64().unwrap() - r[0].as_u64().unwrap()) / bs)
            .sum();
        assert_eq!(pages, present, "{f}: physical ranges");
        let r = report(&dump);
        assert!(r["dump"]["container"]["pages_excluded"].is_null(), "{f}");
        assert_eq!(
            r["dump"]["container"]["pages_present"].as_u64(),
            Some(dumped),
            "{f}"
        );
    }
    // QEMU's kdump-zlib dumps every page in memory: nothing is excluded.
    let q = dir.join("vmcore.qemu-kdump-zlib");
    if q.is_file() {
        assert_eq!(info(&q)["container"]["pages_excluded"].as_u64(), Some(0));
    }
}

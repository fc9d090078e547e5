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
        eprintln!(
            "note: no lab scenarios in {} (run tests/lab/run.sh); skipping",
            lab_dir().display()
        );
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
        assert_eq!(r["panic"]["pid"], facts["crashing_pid"], "{name}: pid");
        assert_eq!(r["panic"]["comm"], facts["crashing_comm"], "{name}: comm");
        assert_eq!(r["panic"]["cpu"], facts["crashing_cpu"], "{name}: cpu");
        // The first line of the kernel's report, or (panic() called directly) the panic line.
        let msg = &r["panic"]["message"];
        assert!(
            *msg == facts["panic_message_first_line"] || *msg == facts["panic_line"],
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
        eprintln!(
            "note: {} absent (run tests/lab/run.sh ref-nginx); skipping",
            dir.display()
        );
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

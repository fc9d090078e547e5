//! The verdict on real dumps: faulting instruction, operand, register provenance, culprit and
//! the narrative in both languages.

mod common;
use common::*;

fn s<'a>(v: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    path.split('.').fold(v, |v, k| &v[k])
}

#[test]
fn null_deref_61_reasons_like_an_engineer() {
    let Some(r) = report(F61) else { return };
    assert_eq!(s(&r, "fault.class"), "null-deref");
    assert_eq!(s(&r, "fault.instruction"), "mov    0x18(%rbx),%rax");
    assert_eq!(s(&r, "fault.location"), "fixture_null_deref+21");
    assert_eq!(s(&r, "fault.base_register"), "rbx");
    assert_eq!(s(&r, "fault.base_value"), "0x0");
    assert_eq!(s(&r, "fault.offset"), 0x18);
    assert_eq!(s(&r, "fault.address"), "0x18");
    // RBX was copied from RDI at +6: the first argument.
    assert_eq!(s(&r, "fault.argument_index"), 1);
    assert_eq!(s(&r, "fault.argument_register"), "rdi");
    assert_eq!(s(&r, "culprit.function"), "fixture_null_deref");
    assert_eq!(s(&r, "culprit.module"), "vmcore_fixture");
    assert_eq!(s(&r, "culprit.confidence"), "high");
    let en = s(&r, "narrative.en").as_str().unwrap();
    let zh = s(&r, "narrative.zh").as_str().unwrap();
    for want in [
        "NULL pointer dereference",
        "fixture_null_deref",
        "RBX",
        "RDI",
        "first argument",
        "fixture_provoke",
        "0x18",
    ] {
        assert!(en.contains(want), "en lacks {want}: {en}");
    }
    for want in [
        "空指针",
        "fixture_null_deref",
        "RBX",
        "第一个参数",
        "fixture_provoke",
    ] {
        assert!(zh.contains(want), "zh lacks {want}: {zh}");
    }
    // Evidence names its sources; the faulting instruction is marked in the disassembly.
    let sources: Vec<_> = r["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap().to_string())
        .collect();
    for want in ["log", "instruction", "register", "backtrace"] {
        assert!(sources.iter().any(|x| x == want), "{sources:?}");
    }
    let marked: Vec<_> = r["disassembly"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["faulting"] == true)
        .collect();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0]["address"], "0xffffffffc033d0fb");
    assert!(r["bucket"].as_str().unwrap().len() == 16);
}

#[test]
fn bug_612_names_the_assertion() {
    let Some(r) = report(F612) else { return };
    assert_eq!(s(&r, "fault.class"), "bug");
    assert_eq!(s(&r, "fault.instruction"), "ud2");
    assert_eq!(s(&r, "culprit.function"), "fixture_provoke");
    assert_eq!(s(&r, "culprit.module"), "vmcore_fixture");
    let en = s(&r, "narrative.en").as_str().unwrap();
    assert!(
        en.contains("/usr/src/vmcore_fixture/vmcore_fixture.c:56"),
        "{en}"
    );
    assert!(s(&r, "narrative.zh").as_str().unwrap().contains("BUG()"));
}

#[test]
fn field_names_come_from_btf_prototypes() {
    let Some((_, p)) = dumps(&[F61]).pop() else {
        return;
    };
    let sess = open_path(&p);
    let btf = sess.kernel.btf().expect("Debian kernels carry BTF");
    assert_eq!(
        btf.param_pointee_struct("__free_pages", 0).as_deref(),
        Some("page")
    );
    assert_eq!(
        btf.field_at("page", 52).as_deref(),
        Some("_refcount.counter")
    );
}

/// The page shows the report part by part: kernel identity and modules, then the log and the
/// panic, then the crashing CPU's backtrace and the verdict, then every CPU. Each part says what
/// is still pending, and the last equals the report built in one piece.
#[test]
fn report_is_staged_verdict_before_other_cpus() {
    for (name, p) in dumps(&[F61, F612]) {
        let s = open_path(&p);
        let mut parts: Vec<serde_json::Value> = Vec::new();
        let fin =
            crashlens::report::build::report_staged(&s.kernel, &Default::default(), &mut |r| {
                parts.push(serde_json::to_value(r).unwrap())
            });
        let whole = serde_json::to_value(crashlens::report::build::report_of(&s.kernel)).unwrap();
        assert_eq!(
            serde_json::to_value(&fin).unwrap(),
            whole,
            "{name}: staged == whole"
        );
        assert!(
            whole.get("pending").is_none(),
            "{name}: a finished report has no pending key"
        );
        assert_eq!(parts.len(), 3, "{name}: summary, log, verdict");
        let pending = |p: &serde_json::Value| -> Vec<String> {
            p["pending"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        // 1: who the kernel is, its modules and sys; no log yet.
        assert_eq!(parts[0]["kernel"]["release"], whole["kernel"]["release"]);
        assert_eq!(parts[0]["modules"], whole["modules"]);
        assert_eq!(parts[0]["log"].as_array().unwrap().len(), 0);
        assert!(pending(&parts[0]).contains(&"log".to_string()));
        // 2: the log and the panic; the verdict still pending.
        assert_eq!(parts[1]["log"], whole["log"]);
        assert_eq!(parts[1]["panic"]["title"], whole["panic"]["title"]);
        assert!(parts[1]["culprit"].is_null());
        assert!(pending(&parts[1]).contains(&"narrative".to_string()));
        // 3: the verdict and the crashing CPU's backtrace, before the other CPUs are unwound.
        assert_eq!(pending(&parts[2]), vec!["cpu_traces".to_string()]);
        assert_eq!(parts[2]["culprit"], whole["culprit"], "{name}");
        assert_eq!(parts[2]["narrative"], whole["narrative"]);
        assert_eq!(parts[2]["backtrace"], whole["backtrace"]);
        assert_eq!(parts[2]["cpu_traces"].as_array().unwrap().len(), 1);
        assert!(whole["cpu_traces"].as_array().unwrap().len() > 1);
    }
}

/// Kernels without BTF (before 5.2, or built without it, like the reference case's 3.10): the
/// backtrace, the fault and the culprit come from ORC, registers and code alone; only the field
/// names (which need types) go.
#[test]
fn verdict_without_btf_matches_verdict_with_it() {
    for (name, p) in dumps(&[F61, F612]) {
        let r = crashlens::report::build::report_of(&open_path(&p).kernel);
        let with = serde_json::to_value(&r).unwrap();
        let sess = open_path(&p);
        assert!(sess.kernel.ignore_btf());
        let r = serde_json::to_value(crashlens::report::build::report_of(&sess.kernel)).unwrap();
        let names = |r: &serde_json::Value| -> Vec<String> {
            r["backtrace"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["function"].to_string())
                .collect()
        };
        assert!(!names(&r).is_empty(), "{name}: a backtrace without BTF");
        assert_eq!(names(&r), names(&with), "{name}: backtrace");
        for k in [
            "culprit.function",
            "culprit.module",
            "fault.class",
            "fault.instruction",
            "fault.base_register",
            "panic.pid",
            "panic.comm",
            "bucket",
        ] {
            assert_eq!(s(&r, k), s(&with, k), "{name}: {k}");
        }
        assert!(
            s(&r, "narrative.en")
                .as_str()
                .is_some_and(|t| t.len() > 100),
            "{name}: English narrative"
        );
        assert!(
            s(&r, "narrative.zh")
                .as_str()
                .is_some_and(|t| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
            "{name}: Chinese narrative"
        );
        assert_eq!(r["disassembly"], with["disassembly"], "{name}: disassembly");
        // Every CPU's task is still named: pid and comm offsets learned from the crashing task.
        let tasks = |r: &serde_json::Value| -> Vec<String> {
            r["cpu_traces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| format!("{} {} {}", t["cpu"], t["pid"], t["comm"]))
                .collect()
        };
        assert_eq!(tasks(&r), tasks(&with), "{name}: tasks on the CPUs");
        assert!(
            r["cpu_traces"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["pid"].is_u64()),
            "{name}"
        );
    }
}

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
    assert_eq!(s(&r, "fault.base_value"), 0);
    assert_eq!(s(&r, "fault.offset"), 0x18);
    assert_eq!(s(&r, "fault.address"), 0x18);
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
    assert_eq!(marked[0]["address"], 0xffffffffc033d0fbu64);
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
    let Some(sess) = open(F61) else { return };
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

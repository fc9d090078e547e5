//! The oops parser on the real fixtures: the serial console log (oracle/console.log) and the log
//! read from the vmcore itself must give the same, correct report.
//! Fixtures: $CRASHLENS_FIXTURES or <repo>/../shared/fixtures; decompressed dumps are cached in
//! ~/.cache/crashlens (made with the `zstd` CLI when missing).

use crashlens::analysis::oops::{self, Oops};
use crashlens::kernel::printk;
use crashlens::report::build::{Options, Session};
use crashlens::source::FileSource;
mod common;
use common::{elf, fixtures, skip};
use std::path::Path;

fn console(name: &str) -> Option<String> {
    let t = fixtures()
        .and_then(|d| std::fs::read(d.join(name).join("oracle/console.log")).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    if t.is_none() {
        skip(format!("fixture {name}'s oracle/console.log absent"));
    }
    t
}

fn dump_log(path: &Path) -> String {
    let src = FileSource::open(path).expect("open dump");
    let s = Session::open(Box::new(src), &Options::default()).expect("open session");
    printk::plain_text(&printk::read_log(&s.kernel).expect("log"))
}

fn check_null(o: &Oops) {
    assert_eq!(
        o.title,
        "BUG: unable to handle kernel NULL pointer dereference in fixture_null_deref"
    );
    assert_eq!(o.kind, "NULL-POINTER-DEREFERENCE");
    assert_eq!(o.frame.as_deref(), Some("fixture_null_deref"));
    assert!(!o.corrupted, "{:?}", o.corrupted_reason);
    assert_eq!(
        o.message,
        "BUG: kernel NULL pointer dereference, address: 0000000000000018"
    );
    assert_eq!(
        o.rip.as_deref(),
        Some("fixture_null_deref+0x15/0x1f [vmcore_fixture]")
    );
    assert_eq!(
        (o.cpu, o.pid, o.comm.as_deref()),
        (Some(0), Some(103), Some("sh"))
    );
    assert_eq!(o.kernel_version.as_deref(), Some("6.1.0-56-cloud-amd64"));
    let names: Vec<&str> = o.taint_flags.iter().map(|f| f.name).collect();
    assert_eq!(names, ["OOT_MODULE", "UNSIGNED_MODULE"]);
    assert_eq!(
        o.registers.get("CR2").map(String::as_str),
        Some("0000000000000018")
    );
    assert_eq!(
        o.registers.get("RBX").map(String::as_str),
        Some("0000000000000000")
    );
    let code = o.code.as_ref().expect("Code: line");
    // <48> 8b 43 18: mov 0x18(%rbx),%rax — the faulting load of the NULL+0x18 field.
    let i = code.fault_index.expect("faulting byte") * 2;
    assert_eq!(&code.bytes[i..i + 8], "488b4318");
    let f = &o.call_trace[1];
    assert_eq!(
        (f.function.as_str(), f.offset, f.size, f.module.as_deref()),
        (
            "provoke_write",
            Some(0x68),
            Some(0x96),
            Some("vmcore_fixture")
        )
    );
    assert!(
        o.call_trace.iter().any(|f| !f.reliable),
        "the ? frames are kept as unreliable"
    );
    assert_eq!(
        o.stack_markers.first().map(|m| m.marker.as_str()),
        Some("<TASK>")
    );
    assert!(o
        .hardware
        .as_deref()
        .unwrap_or("")
        .starts_with("QEMU Standard PC"));
    assert!(o
        .modules
        .as_ref()
        .is_some_and(|m| m.iter().any(|m| m.starts_with("vmcore_fixture"))));
    assert_eq!(
        o.panic_string.as_deref(),
        Some("Kernel panic - not syncing: Fatal exception")
    );
}

fn check_bug(o: &Oops) {
    assert_eq!(o.title, "kernel BUG in fixture_provoke");
    assert_eq!(o.kind, "BUG");
    assert_eq!(o.frame.as_deref(), Some("fixture_provoke"));
    assert!(!o.corrupted, "{:?}", o.corrupted_reason);
    assert_eq!(
        o.rip.as_deref(),
        Some("fixture_provoke+0x67/0xa0 [vmcore_fixture]")
    );
    assert_eq!(
        (o.cpu, o.pid, o.comm.as_deref()),
        (Some(1), Some(158), Some("sh"))
    );
    let code = o.code.as_ref().expect("Code: line");
    let i = code.fault_index.expect("faulting byte") * 2;
    assert_eq!(&code.bytes[i..i + 4], "0f0b", "ud2 of BUG()");
    let names: Vec<&str> = o.taint_flags.iter().map(|f| f.name).collect();
    assert_eq!(names, ["OOT_MODULE", "UNSIGNED_MODULE"]);
    assert_eq!(o.call_trace[0].function, "provoke_write");
}

fn run(name: &str, check: fn(&Oops)) {
    let Some(text) = console(name) else {
        return;
    };
    let all = oops::parse_all(&text);
    check(oops::primary(&all).expect("a report in console.log"));
    match elf(name) {
        Some(p) => {
            let all = oops::parse_all(&dump_log(&p));
            check(oops::primary(&all).expect("a report in the dump's log"));
        }
        None => eprintln!("note: {name} vmcore not available, dump part skipped"),
    }
}

#[test]
fn null_deref_fixture() {
    run("linux-6.1-cloud-null", check_null);
}

#[test]
fn kernel_bug_fixture() {
    run("linux-6.12-cloud-bug", check_bug);
}

#[test]
fn no_crash_is_none() {
    let all = oops::parse_all(
        "[    0.000000] Linux version 6.1.0\n[    1.000000] systemd[1]: Started.\n",
    );
    assert!(oops::primary(&all).is_none());
}

fn cli(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crashlens"))
        .args(args)
        .output()
        .expect("run crashlens");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn cli_oops_json() {
    let dir = std::env::temp_dir().join(format!("crashlens-oops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let quiet = dir.join("quiet.log");
    std::fs::write(
        &quiet,
        "[    0.000000] Linux version 6.1.0\n[    1.000000] random: crng init done\n",
    )
    .unwrap();
    let (rc, out) = cli(&["oops", quiet.to_str().unwrap(), "--format", "json"]);
    assert_eq!((rc, out.trim()), (0, "null"));
    let Some(f) = fixtures() else {
        skip("fixtures absent: the CLI fixture part");
        return;
    };
    let log = f.join("linux-6.12-cloud-bug/oracle/console.log");
    let (rc, out) = cli(&["oops", log.to_str().unwrap(), "--format", "json"]);
    assert_eq!(rc, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["title"], "kernel BUG in fixture_provoke");
    assert_eq!(v["type"], "BUG");
    assert_eq!(v["frame"], "fixture_provoke");
    assert_eq!(v["corrupted"], false);
    let (_, out) = cli(&["oops", log.to_str().unwrap(), "--format", "json", "--all"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let titles: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles[0], "kernel BUG in fixture_provoke");
    assert!(
        titles.contains(&"kernel panic: Fatal exception"),
        "{titles:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

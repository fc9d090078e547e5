//! Shared by the integration tests: where the real fixtures are, decompressed on demand.
#![allow(dead_code)]

use crashlens::report::build::{Options, Session};
use crashlens::source::FileSource;
use std::path::PathBuf;

pub fn fixtures() -> Option<PathBuf> {
    let p = std::env::var_os("CRASHLENS_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"));
    let p = if p.exists() {
        p
    } else {
        PathBuf::from("/work/shared/fixtures")
    };
    p.exists().then_some(p)
}

/// The decompressed ELF of a fixture (decompressing it into ~/.cache/crashlens when needed).
pub fn elf(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let cached = home.join(".cache/crashlens").join(format!("{name}.elf"));
    if cached.exists() {
        return Some(cached);
    }
    let zst = fixtures()?.join(name).join("vmcore.elf.zst");
    if !zst.exists() {
        return None;
    }
    std::fs::create_dir_all(cached.parent()?).ok()?;
    let tmp = cached.with_extension("part");
    let ok = std::process::Command::new("zstd")
        .args(["-d", "-q", "-f", "-o"])
        .arg(&tmp)
        .arg(&zst)
        .status()
        .ok()?
        .success();
    (ok && std::fs::rename(&tmp, &cached).is_ok()).then_some(cached)
}

pub fn oracle(name: &str, file: &str) -> Option<String> {
    std::fs::read_to_string(fixtures()?.join(name).join("oracle").join(file)).ok()
}

pub fn open(name: &str) -> Option<Session> {
    let Some(p) = elf(name) else {
        eprintln!("note: fixture {name} absent; test skipped");
        return None;
    };
    let src = FileSource::open(&p).expect("fixture opens");
    Some(Session::open(Box::new(src), &Options::default()).expect("fixture is a dump"))
}

pub const F61: &str = "linux-6.1-cloud-null";
pub const F612: &str = "linux-6.12-cloud-bug";

/// The JSON report of a fixture, as the CLI would print it.
pub fn report(name: &str) -> Option<serde_json::Value> {
    let s = open(name)?;
    let r = crashlens::report::build::report_of(&s.kernel);
    Some(serde_json::to_value(&r).expect("report serialises"))
}

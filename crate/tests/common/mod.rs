//! Shared by the integration tests: where the real fixtures are, decompressed on demand.
#![allow(dead_code)]

use crashlens::report::build::{Options, Session};
use crashlens::source::FileSource;
use std::io::Write;
use std::path::PathBuf;

/// The marker of a skipped test, one line per skip, counted by scripts/test.sh.
pub const SKIP_MARK: &str = "crashlens-test-skip:";

/// Every test that cannot run here (a fixture, the lab cache or a tool is absent) calls this and
/// returns: it prints `crashlens-test-skip: <test>: <why>` straight to stderr (libtest captures
/// only the print macros, so the line shows even in a plain `cargo test`) and appends it to
/// $CRASHLENS_SKIP_LOG when set, where scripts/test.sh counts the skipped tests.
pub fn skip(why: impl std::fmt::Display) {
    let t = std::thread::current();
    let line = format!("{SKIP_MARK} {}: {why}\n", t.name().unwrap_or("?"));
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(p) = std::env::var_os("CRASHLENS_SKIP_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
        {
            let _ = f.write_all(line.as_bytes()); // one short write: whole lines under O_APPEND
        }
    }
}

/// $CRASHLENS_FIXTURES (only it, when set: `CRASHLENS_FIXTURES=/nonexistent` is a machine
/// without fixtures), else `../shared/fixtures` beside the checkout (or beside a worktree one
/// level deeper).
pub fn fixtures() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("CRASHLENS_FIXTURES") {
        return Some(PathBuf::from(d)).filter(|d| d.exists());
    }
    let m = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        m.join("../../shared/fixtures"),
        m.join("../../../shared/fixtures"),
    ]
    .into_iter()
    .find(|d| d.exists())
}

/// Where tests keep what they derive: $CRASHLENS_CACHE, else ~/.cache/crashlens.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("CRASHLENS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()))
                .join(".cache/crashlens")
        });
    std::fs::create_dir_all(&base).unwrap();
    base
}

/// The decompressed ELF of a fixture (decompressing it into the cache when needed); a skip line
/// when the fixture is absent.
pub fn elf(name: &str) -> Option<PathBuf> {
    let p = fixture_elf(name);
    if p.is_none() {
        skip(format!("fixture {name} absent ({})", fixtures_hint()));
    }
    p
}

fn fixtures_hint() -> String {
    match std::env::var_os("CRASHLENS_FIXTURES") {
        Some(d) => format!("CRASHLENS_FIXTURES={}", PathBuf::from(d).display()),
        None => "no ../shared/fixtures".into(),
    }
}

/// The decompressed ELF of a fixture, or None (no skip line: for a test that falls back on
/// another of its files).
pub fn fixture_elf(name: &str) -> Option<PathBuf> {
    if std::env::var_os("CRASHLENS_FIXTURES").is_some() && fixtures().is_none() {
        return None; // a fixtures directory named and absent: not even the cached copies
    }
    let cached = cache_dir().join(format!("{name}.elf"));
    if cached.exists() {
        return Some(cached);
    }
    let zst = fixtures()?.join(name).join("vmcore.elf.zst");
    if !zst.exists() {
        return None;
    }
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
    let t = fixtures()
        .and_then(|d| std::fs::read_to_string(d.join(name).join("oracle").join(file)).ok());
    if t.is_none() {
        skip(format!(
            "oracle {name}/oracle/{file} absent ({})",
            fixtures_hint()
        ));
    }
    t
}

pub fn open(name: &str) -> Option<Session> {
    elf(name).map(|p| open_path(&p))
}

/// A session over any dump file.
pub fn open_path(p: &std::path::Path) -> Session {
    let src = FileSource::open(p).expect("dump opens");
    Session::open(Box::new(src), &Options::default()).expect("file is a dump")
}

/// The lab scenario (tests/lab) that stands in for a fixture in the tests that check what holds
/// for any dump of its kernel (symbols, BTF, the direct map, staging, the no-BTF/no-ORC paths),
/// not the fixture's own values: the fixture `linux-6.1-cloud-null` and the lab's `null` are the
/// same Debian 6.1.0-56-cloud-amd64 kernel, 2 CPUs, a NULL dereference in a module. The 6.12
/// fixture has no lab equivalent yet.
pub fn lab_equivalent(fixture: &str) -> Option<&'static str> {
    (fixture == F61).then_some("null")
}

/// The dumps a kernel-generic test runs on: each fixture's ELF, or where it is absent its lab
/// equivalent's `vmcore.elf` (labelled `lab:<scenario>`); a skip line for each that has neither.
pub fn dumps(names: &[&str]) -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    for &name in names {
        if let Some(p) = fixture_elf(name) {
            v.push((name.to_string(), p));
            continue;
        }
        let lab = lab_equivalent(name).map(|sc| (sc, lab_dir().join(sc).join("vmcore.elf")));
        match lab {
            Some((sc, p)) if p.is_file() => v.push((format!("lab:{sc}"), p)),
            Some((sc, p)) => skip(format!(
                "fixture {name} absent ({}) and its lab equivalent {} too (tests/lab/run.sh {sc})",
                fixtures_hint(),
                p.display()
            )),
            None => skip(format!(
                "fixture {name} absent ({}), no lab equivalent",
                fixtures_hint()
            )),
        }
    }
    v
}

pub const F61: &str = "linux-6.1-cloud-null";
pub const F612: &str = "linux-6.12-cloud-bug";

/// The JSON report of a fixture, as the CLI would print it.
pub fn report(name: &str) -> Option<serde_json::Value> {
    let s = open(name)?;
    let r = crashlens::report::build::report_of(&s.kernel);
    Some(serde_json::to_value(&r).expect("report serialises"))
}

/// The project's dump lab cache (tests/lab/run.sh): $CRASHLENS_LAB_CACHE, else
/// ~/.cache/crashlens/lab.
pub fn lab_dir() -> PathBuf {
    std::env::var_os("CRASHLENS_LAB_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/crashlens/lab")
        })
}

/// Lab scenario directories holding a finished run (facts.json + vmcore.elf), sorted by name.
pub fn lab_scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(lab_dir())
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    !p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with(['.', '_'])
                        && p.join("facts.json").is_file()
                        && p.join("vmcore.elf").is_file()
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

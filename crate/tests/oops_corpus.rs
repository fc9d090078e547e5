//! The whole syzkaller report corpus through the oops parser: exact-title match rate (must be
//! at least 95 %), a per-type table, the misses grouped by kind, and the parse time.
//! Corpus: $CRASHLENS_CORPUS or <repo>/../shared/corpus/syzkaller-linux-reports.

use crashlens::analysis::oops;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;
mod common;

fn corpus_dir() -> PathBuf {
    if let Ok(d) = std::env::var("CRASHLENS_CORPUS") {
        return PathBuf::from(d);
    }
    // <repo>/../shared, also from a worktree one level deeper (/work/wt/NAME).
    let m = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let c = m.join("../../shared/corpus/syzkaller-linux-reports");
    if c.is_dir() {
        return c;
    }
    m.join("../../../shared/corpus/syzkaller-linux-reports")
}

#[derive(Default)]
struct Expect {
    title: Option<String>,
    alts: Vec<String>,
    kind: Option<String>,
    frame: Option<String>,
    corrupted: bool,
}

fn expected(file: &str) -> Expect {
    let mut e = Expect::default();
    for l in file.lines() {
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(": ").unwrap_or((l, ""));
        match k {
            // An empty TITLE means "no crash" (syzkaller's test convention).
            "TITLE" => e.title = Some(v.to_string()).filter(|t| !t.is_empty()),
            "ALT" => e.alts.push(v.to_string()),
            "TYPE" => e.kind = Some(v.to_string()),
            "FRAME" => e.frame = Some(v.to_string()),
            "CORRUPTED" => e.corrupted = v == "Y",
            _ => {}
        }
    }
    e
}

/// The kind of report a title names, for grouping: its words before " in ".
fn kind_of(t: &str) -> String {
    let head = t.split(" in ").next().unwrap_or(t);
    head.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn corpus_titles() {
    let dir = corpus_dir();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        common::skip(format!("corpus {} absent", dir.display()));
        return;
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned(),
            )
        })
        .collect();
    // Compile the rules before timing.
    let _ = oops::parse_all("BUG: warm up\n");
    let t0 = Instant::now();
    let parsed: Vec<Vec<oops::Oops>> = texts
        .iter()
        .map(|(_, t)| oops::parse_all(oops::console_text(t)))
        .collect();
    let elapsed = t0.elapsed();
    let (mut ok, mut type_ok, mut type_n, mut frame_ok, mut frame_n, mut corr_ok) =
        (0, 0, 0, 0, 0, 0);
    let mut per_type: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut misses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((name, text), all) in texts.iter().zip(&parsed) {
        let e = expected(text);
        let p = oops::primary(all);
        let got = p.map(|o| o.title.clone());
        let hit = got == e.title;
        ok += hit as u32;
        let ty = e.kind.clone().unwrap_or_else(|| {
            if e.title.is_some() {
                "(none given)".into()
            } else {
                "(no crash)".into()
            }
        });
        let ent = per_type.entry(ty).or_default();
        ent.0 += 1;
        ent.1 += hit as u32;
        if let Some(k) = &e.kind {
            type_n += 1;
            type_ok += (p.map(|o| o.kind.as_str()) == Some(k.as_str())) as u32;
        }
        if let Some(f) = &e.frame {
            frame_n += 1;
            frame_ok += (p.and_then(|o| o.frame.as_deref()) == Some(f.as_str())) as u32;
        }
        corr_ok += (p.is_some_and(|o| o.corrupted) == e.corrupted) as u32;
        if !hit {
            let k = e
                .title
                .as_deref()
                .map_or("(no crash expected)".to_string(), kind_of);
            misses
                .entry(k)
                .or_default()
                .push(format!("{name}: want {:?} got {:?}", e.title, got));
        }
    }
    let n = texts.len() as u32;
    let pct = 100.0 * ok as f64 / n.max(1) as f64;
    println!("corpus: {} reports in {}", n, dir.display());
    println!(
        "parse time: {:.1} ms for the whole corpus ({:.2} ms/report)",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e3 / n.max(1) as f64
    );
    println!(
        "reports found (all, not just primary): {}",
        parsed.iter().map(Vec::len).sum::<usize>()
    );
    println!("exact titles: {ok}/{n} = {pct:.1}%");
    println!(
        "types: {type_ok}/{type_n}; frames: {frame_ok}/{frame_n}; corrupted flag: {corr_ok}/{n}"
    );
    println!(
        "\n{:<40} {:>6} {:>6} {:>7}",
        "type", "files", "titles", "rate"
    );
    for (t, (a, b)) in &per_type {
        println!(
            "{:<40} {:>6} {:>6} {:>6.1}%",
            t,
            a,
            b,
            100.0 * *b as f64 / *a as f64
        );
    }
    println!("\nmisses by kind:");
    for (k, v) in &misses {
        println!("  {k} ({})", v.len());
        for m in v {
            println!("    {m}");
        }
    }
    assert!(pct >= 95.0, "exact-title match rate {pct:.1}% is below 95%");
}

//! The verdict as data and its words: typed culprit rules on real dumps, the same things said
//! in English and Chinese, and honest words where the dump could not be read (truncated copies
//! of the bundled sample).

mod common;
use common::*;
use crashlens::render::{self, verdict::words, Format, Lang};
use crashlens::report::build::{analyze, Options};
use crashlens::report::Report;
use crashlens::source::BytesSource;
use std::path::PathBuf;

fn sample() -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/sample/ref-nginx.kdump");
    std::fs::read(p).expect("the bundled sample")
}

fn report_of_bytes(v: Vec<u8>) -> Report {
    analyze(Box::new(BytesSource(v)), &Options::default(), &mut |_| {}).expect("a report")
}

/// The whole sample: the typed rule says the caller passed the bad argument, directly.
#[test]
fn sample_verdict_is_typed_caller_passed_bad_argument() {
    let r = report_of_bytes(sample());
    let j = serde_json::to_value(&r).unwrap();
    let rule = &j["verdict"]["culprit"]["rule"];
    assert_eq!(rule["kind"], "caller_passed_bad_argument", "{rule}");
    assert_eq!(rule["callee"], "__free_pages");
    assert_eq!(rule["arg_index"], 1);
    assert_eq!(rule["arg_register"], "rdi");
    assert_eq!(rule["value"], 0);
    assert_eq!(rule["direct"], true);
    assert_eq!(j["verdict"]["culprit"]["function"], "lab_read");
    assert_eq!(
        j["verdict"]["culprit"]["taint"],
        serde_json::json!(["out_of_tree", "unsigned"])
    );
    assert_eq!(j["verdict"]["class"], "null-deref");
    // The JSON words keep their keys, from the renderer.
    assert_eq!(j["culprit"]["function"], "lab_read");
    assert_eq!(j["culprit"]["confidence"], "high");
    let reason = j["culprit"]["reason"].as_str().unwrap();
    let reason_zh = j["culprit"]["reason_zh"].as_str().unwrap();
    // Both languages give the advice: look at the caller's error paths.
    assert!(
        reason.contains("check the error paths of lab_read"),
        "{reason}"
    );
    assert!(
        reason_zh.contains("应该检查 lab_read 的出错路径"),
        "{reason_zh}"
    );
    // The same value in both.
    assert!(reason.contains("= 0x0") && reason_zh.contains("值为 0x0"));
    let text = render::render(&r, Format::Text, Lang::En);
    assert!(
        text.starts_with("PROBABLY CAUSED BY: lab_read [crashlens_lab]"),
        "{text}"
    );
}

/// The narrative says the culprit once; the evidence is facts (no verdict item repeating it).
#[test]
fn narrative_says_the_culprit_once() {
    let Some(j) = report(F61) else { return };
    let en = j["narrative"]["en"].as_str().unwrap();
    let zh = j["narrative"]["zh"].as_str().unwrap();
    // The culprit and the confidence are the verdict's first line, not the narrative's.
    assert!(
        !en.contains("Probably caused by") && !en.contains("confidence"),
        "{en}"
    );
    assert!(!zh.contains("结论") && !zh.contains("置信度"), "{zh}");
    assert_eq!(
        j["verdict"]["culprit"]["rule"]["kind"],
        "dereferenced_unchecked_argument"
    );
    assert!(en.ends_with("Both need fixing: fixture_null_deref [vmcore_fixture] (out-of-tree, unsigned module) uses its argument 1 (RDI) without checking it, and fixture_provoke.cold must not pass a bad value."), "{en}");
    assert!(zh.contains("两处都需要修复"), "{zh}");
    let ev = j["evidence"].as_array().unwrap();
    assert!(ev.iter().all(|e| e["source"] != "verdict"), "{ev:?}");
    // Each fact in both languages, the register value the same.
    let reg = ev.iter().find(|e| e["source"] == "register").unwrap();
    for l in ["en", "zh"] {
        assert!(reg[l]
            .as_str()
            .unwrap()
            .contains("RBX = 0x0000000000000000"));
    }
    assert_eq!(j["verdict"]["evidence"][3]["fact"], "register");
    assert_eq!(j["verdict"]["evidence"][3]["value"], "0x0");
}

/// The first 4 MB of the sample hold no readable log: the cause is unknown, and the text says
/// the report is partial first, in both languages; nothing is invented.
#[test]
fn truncated_sample_verdict_is_unknown_not_invented() {
    let mut k = sample();
    k.truncate(4 << 20);
    let r = report_of_bytes(k);
    assert!(r.partial);
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["fault"]["class"], "unknown");
    assert!(j["culprit"].is_null());
    let unknown = j["verdict"]["unknown"].as_array().unwrap();
    assert!(unknown.contains(&serde_json::json!("log")), "{unknown:?}");
    let en = j["narrative"]["en"].as_str().unwrap();
    let zh = j["narrative"]["zh"].as_str().unwrap();
    assert!(
        en.starts_with("The cause is unknown: this dump does not give ")
            && en.contains("the kernel log"),
        "{en}"
    );
    assert!(
        zh.starts_with("无法确定崩溃原因：这个 dump 中读不到") && zh.contains("内核日志"),
        "{zh}"
    );
    assert!(!en.contains("panic() itself"), "{en}");
    let text = render::render(&r, Format::Text, Lang::En);
    assert!(
        text.starts_with("PARTIAL: this dump lacks data the analysis needed ("),
        "{text}"
    );
    assert!(
        text.contains("CRASH: unknown — (no crash report read)"),
        "{text}"
    );
    assert!(!text.contains("CRASH: panic — \n"));
    let zh_text = render::render(&r, Format::Text, Lang::Zh);
    assert!(
        zh_text.starts_with("不完整：这个 dump 缺少分析所需的数据（"),
        "{zh_text}"
    );
    let steps = j["narrative"]["next_steps_en"].as_array().unwrap();
    assert!(steps[0]
        .as_str()
        .unwrap()
        .starts_with("Analyse a complete copy of the dump"));
}

/// 90% of the sample: the module list is missing, so the verdict still names a cause but says
/// what it could not read, with low confidence, in both languages.
#[test]
fn degraded_verdict_says_what_it_could_not_read() {
    let mut k = sample();
    k.truncate(k.len() * 9 / 10);
    let r = report_of_bytes(k);
    assert!(r.partial);
    let v = r.verdict.as_ref().unwrap();
    assert!(
        v.unknown
            .contains(&crashlens::analysis::verdict::Unread::Modules),
        "{:?}",
        v.unknown
    );
    let w = words(&r).unwrap();
    assert!(
        w.narrative.en.contains("This dump does not give")
            && w.narrative.en.contains("the module list")
    );
    assert!(w.narrative.zh.contains("读不到") && w.narrative.zh.contains("模块列表"));
    assert_eq!(r.culprit().unwrap().confidence.as_str(), "low");
    let text = render::render(&r, Format::Text, Lang::En);
    assert!(text.starts_with("PARTIAL: "), "{text}");
}

/// The CentOS 7 kdump is `echo EXCEPTION > /sys/kernel/debug/provoke-crash/DIRECT`: a test
/// crash LKDTM made on purpose, not a bug to report.
#[test]
fn lkdtm_crash_is_deliberate() {
    let Some(dir) = fixtures() else { return };
    let p = dir.join("linux-3.10-el7-lkdtm/vmcore.d31-lzo.kdump");
    let r = report_of_bytes(std::fs::read(p).expect("the 3.10 fixture"));
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["culprit"]["function"], "lkdtm_do_action");
    assert_eq!(
        j["verdict"]["culprit"]["rule"],
        serde_json::json!({"kind": "deliberate", "trigger": "lkdtm"})
    );
    assert_eq!(j["culprit"]["confidence"], "high");
    assert_eq!(j["fault"]["class"], "null-deref");
    assert_eq!(j["fault"]["instruction"], "movl   $0x0,0x0");
    let reason = j["culprit"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("deliberately provoked through LKDTM"),
        "{reason}"
    );
    assert!(j["culprit"]["reason_zh"]
        .as_str()
        .unwrap()
        .contains("不是缺陷"));
    for lang in ["en", "zh"] {
        let t = j["narrative"][lang].as_str().unwrap();
        assert!(t.contains("LKDTM"), "{t}");
    }
    let steps: Vec<&str> = j["narrative"]["next_steps_en"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(steps[0].starts_with("Nothing to fix"), "{steps:?}");
    let text = render::render(&r, Format::Text, Lang::En);
    assert!(!text.contains("maintainers"), "{text}");
    assert!(!render::render(&r, Format::Text, Lang::Zh).contains("维护者"));
}

/// Words of a sentence, lower-cased, for comparing what two sentences say.
fn words_of(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric() || "_.+[]".contains(c)))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The longest run of words two sentences share.
fn shared_run(a: &[String], b: &[String]) -> usize {
    let mut best = 0;
    for i in 0..a.len() {
        for j in 0..b.len() {
            let mut k = 0;
            while i + k < a.len() && j + k < b.len() && a[i + k] == b[j + k] {
                k += 1;
            }
            best = best.max(k);
        }
    }
    best
}

/// The narrative says each thing once, on every fixture and the sample: no two of its
/// sentences share a run of 7 words, and it does not repeat the verdict's first line (culprit
/// and confidence); the Chinese narrative has no sentence twice.
#[test]
fn narrative_says_each_thing_once_on_every_fixture() {
    let mut reports: Vec<(String, serde_json::Value)> = Vec::new();
    for name in [F61, F612] {
        if let Some(j) = report(name) {
            reports.push((name.into(), j));
        }
    }
    if let Some(d) = fixtures() {
        let k = d.join("linux-3.10-el7-lkdtm/vmcore.d31-lzo.kdump");
        if k.is_file() {
            let s = open_path(&k);
            let r = crashlens::report::build::report_of(&s.kernel);
            reports.push(("3.10".into(), serde_json::to_value(&r).unwrap()));
        }
    }
    reports.push((
        "sample".into(),
        serde_json::to_value(report_of_bytes(sample())).unwrap(),
    ));
    for (name, j) in &reports {
        let en = j["narrative"]["en"].as_str().unwrap();
        let zh = j["narrative"]["zh"].as_str().unwrap();
        let sentences: Vec<Vec<String>> = en
            .split(". ")
            .map(words_of)
            .filter(|w| !w.is_empty())
            .collect();
        assert!(sentences.len() >= 2, "{name}: {en}");
        for a in 0..sentences.len() {
            for b in a + 1..sentences.len() {
                let n = shared_run(&sentences[a], &sentences[b]);
                assert!(
                    n < 7,
                    "{name}: sentences {a} and {b} share {n} words:\n{en}"
                );
            }
        }
        assert!(
            !en.contains("Probably caused by") && !en.contains("(confidence"),
            "{name}: {en}"
        );
        let zs: Vec<&str> = zh.split('。').filter(|s| !s.is_empty()).collect();
        for a in 0..zs.len() {
            for b in a + 1..zs.len() {
                assert_ne!(zs[a], zs[b], "{name}: {zh}");
            }
        }
        // The culprit is named in the narrative (the shared checks look for it).
        if let Some(f) = j["culprit"]["function"].as_str() {
            assert!(en.contains(f) && zh.contains(f), "{name}: {f} not named");
        }
    }
}

//! The OOM and corruption classes on the lab's dumps (tests/lab/lab.py oom-user oom-leak canary
//! listcorrupt dfree redzone poison and their k73- twins on 7.3): what the verdict's finding reads from memory
//! is checked against what the guest's console printed (facts.json, derived by facts.py):
//! the OOM task table's largest process and its RSS, the unreclaimable slab table's top cache,
//! the list report's addresses, SLUB's cache and alloc/free sites. A scenario the lab cache
//! lacks is skipped (and said so).

use crashlens::report::build::{report_of, Options, Session};
use crashlens::source::FileSource;
use serde_json::Value;
mod common;
use common::lab_dir;

struct Lab {
    name: String,
    session: Session,
    facts: Value,
    report: Value,
}

fn open(name: &str) -> Option<Lab> {
    let dir = lab_dir().join(name);
    let (elf, facts) = (dir.join("vmcore.elf"), dir.join("facts.json"));
    if !elf.is_file() || !facts.is_file() {
        eprintln!("note: lab scenario {name} absent (tests/lab/lab.py {name}); skipped");
        return None;
    }
    let facts: Value = serde_json::from_str(&std::fs::read_to_string(facts).unwrap()).unwrap();
    if facts.get("crash_class").is_none() {
        eprintln!("note: {name}/facts.json predates the class rules (rerun facts.py); skipped");
        return None;
    }
    let src = FileSource::open(&elf).expect("lab dump opens");
    let session = Session::open(Box::new(src), &Options::default()).expect("a dump");
    let report = serde_json::to_value(report_of(&session.kernel)).unwrap();
    Some(Lab {
        name: name.into(),
        session,
        facts,
        report,
    })
}

fn num(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        let s = v.as_str()?;
        u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
    })
}

fn base(f: &str) -> &str {
    f.split(['.', ' ']).next().unwrap_or(f)
}

fn finding(l: &Lab) -> &Value {
    &l.report["verdict"]["finding"]
}

/// The verdict's class and culprit are the console's (facts.py's class rule).
fn class_and_culprit(l: &Lab) {
    let v = &l.report["verdict"];
    assert_eq!(v["class"], l.facts["crash_class"], "{}: class", l.name);
    match l.facts["culprit_function"].as_str() {
        Some(f) => {
            let got = v["culprit"]["function"].as_str().unwrap_or("");
            assert_eq!(base(got), base(f), "{}: culprit", l.name);
            assert_eq!(
                v["culprit"]["module"], l.facts["culprit_module"],
                "{}",
                l.name
            );
        }
        None => assert!(
            v["culprit"].is_null(),
            "{}: no culprit, got {}",
            l.name,
            v["culprit"]
        ),
    }
}

#[test]
fn oom_from_user_space_names_the_largest_process() {
    for name in ["oom-user", "k73-oom-user"] {
        let Some(l) = open(name) else { continue };
        class_and_culprit(&l);
        let f = finding(&l);
        assert_eq!(f["kind"], "oom");
        let hog = &f["hog"];
        let want = &l.facts["oom_hog"];
        assert_eq!(hog["by"], "user_space", "{name}: {hog}");
        assert_eq!(hog["pid"], want["pid"], "{name}");
        assert_eq!(hog["comm"], want["task"], "{name}");
        // The RSS summed from the dump's mm counters is what the OOM report printed.
        assert_eq!(hog["rss_pages"], want["rss_pages"], "{name}");
        // Every process of the report's task table, with its RSS, is among the dump's.
        let tasks = f["tasks"].as_array().unwrap();
        for t in l.facts["oom_tasks"].as_array().unwrap() {
            let got = tasks.iter().find(|x| x["pid"] == t["pid"]);
            if let Some(got) = got {
                assert_eq!(got["rss"], t["rss"], "{name}: pid {}", t["pid"]);
            }
        }
        assert_eq!(
            f["report"]["tasks"].as_array().unwrap().len(),
            l.facts["oom_tasks"].as_array().unwrap().len()
        );
        // "Total swap = 0kB" on the console; the dump's total_swap_pages agrees.
        assert_eq!(f["report"]["total_swap_kb"], 0);
        assert_eq!(f["memory"]["swap_total"], 0);
        let m = &f["memory"];
        let total = m["total"].as_u64().unwrap();
        assert!(
            total > 10_000 && m["free"].as_u64().unwrap() < total / 10,
            "{name}: {m}"
        );
        assert!(m["anon"].as_u64().unwrap() >= want["rss_pages"].as_u64().unwrap());
    }
}

#[test]
fn oom_leak_names_the_slab_cache_and_its_module() {
    for name in ["oom-leak", "k73-oom-leak"] {
        let Some(l) = open(name) else { continue };
        class_and_culprit(&l);
        let f = finding(&l);
        let hog = &f["hog"];
        let want = &l.facts["oom_hog"];
        assert_eq!(hog["by"], "slab_cache", "{name}: {hog}");
        assert_eq!(hog["cache"], want["slab_cache"], "{name}");
        assert_eq!(hog["module"], want["module"], "{name}");
        let told: Vec<&str> = hog["told_by"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t.as_str())
            .collect();
        assert!(
            told.contains(&"name_prefix") && told.contains(&"constructor"),
            "{name}: {told:?}"
        );
        // The ctor is a function of the module (from the kmem_cache, not the name).
        let ctor = hog["ctor"].as_str().unwrap();
        let k = &l.session.kernel;
        let sym = k.symbols().get(ctor).expect("ctor symbol");
        assert_eq!(sym.module.as_deref(), want["module"].as_str(), "{name}");
        // kmem -s: the same cache first, its slabs at least what "Unreclaimable slab info"'s
        // Total (num_objs * size) printed.
        let c0 = &f["caches"][0];
        assert_eq!(c0["name"], want["slab_cache"], "{name}");
        assert!(
            c0["bytes"].as_u64().unwrap() >= want["kb"].as_u64().unwrap() * 1024,
            "{name}: {c0}"
        );
        assert!(
            c0["total_objects"].as_u64().unwrap() * c0["size"].as_u64().unwrap()
                >= want["kb"].as_u64().unwrap() * 1024
        );
        let m = &f["memory"];
        assert!(m["slab_unreclaimable"].as_u64().unwrap() * 4 >= want["kb"].as_u64().unwrap());
    }
}

#[test]
fn stack_protector_names_the_function_whose_canary_died() {
    for name in ["canary", "k73-canary"] {
        let Some(l) = open(name) else { continue };
        class_and_culprit(&l);
        let f = finding(&l);
        assert_eq!(f["kind"], "stack_protector");
        assert_eq!(
            f["function"]["function"], l.facts["culprit_function"],
            "{name}"
        );
        assert_eq!(f["function"]["module"], l.facts["culprit_module"], "{name}");
    }
}

#[test]
fn list_corruption_resolves_the_report_addresses() {
    for name in ["listcorrupt", "k73-listcorrupt"] {
        let Some(l) = open(name) else { continue };
        class_and_culprit(&l);
        let f = finding(&l);
        assert_eq!(f["kind"], "list_corruption");
        assert_eq!(f["message"], l.facts["list_report"]);
        let want: Vec<u64> = l.facts["list_addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| u64::from_str_radix(a.as_str().unwrap(), 16).unwrap())
            .collect();
        let places = f["places"].as_array().unwrap();
        let got: Vec<u64> = places.iter().map(|p| num(&p["address"]).unwrap()).collect();
        assert_eq!(got, want, "{name}");
        let roles: Vec<&str> = places.iter().map(|p| p["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["next", "found", "prev"], "{name}");
        // "should be next (A)": A is the module's list head, as the dump's symbols place it.
        let k = &l.session.kernel;
        assert_eq!(k.symbols().addr_of("lab_list"), Some(want[0]), "{name}");
        assert_eq!(places[0]["symbol"], "lab_list [crashlens_lab]");
        // prev is a node in a kmalloc'd struct lab_item: its slab object and the node's offset
        // in it (u64 magic, int index, char name[16] -> list_head at 0x20).
        let slab = &places[2]["slab"];
        assert!(
            slab["cache"].as_str().unwrap().starts_with("kmalloc"),
            "{name}: {slab}"
        );
        assert_eq!(slab["offset"], 0x20, "{name}");
        assert_eq!(num(&slab["object"]).unwrap() + 0x20, want[2]);
    }
}

#[test]
fn double_free_names_the_cache_and_both_frees() {
    for name in ["dfree", "k73-dfree"] {
        let Some(l) = open(name) else { continue };
        class_and_culprit(&l);
        let f = finding(&l);
        assert_eq!(f["kind"], "slab_corruption");
        assert_eq!(f["cache"], l.facts["slab_cache"], "{name}");
        assert_eq!(f["problem"], "Object already free");
        assert_eq!(
            f["allocated_in"]["function"], l.facts["slab_allocated_in"],
            "{name}"
        );
        assert_eq!(
            f["freed_in"]["function"], l.facts["slab_freed_in"],
            "{name}"
        );
        // The page that holds the object the report printed is a slab of the same cache.
        let d = &f["object_in_dump"];
        assert_eq!(d["cache"], l.facts["slab_cache"], "{name}: {d}");
        assert_eq!(num(&d["object"]), num(&f["object"]), "{name}");
        assert_eq!(
            base(f["freeing_caller"]["function"].as_str().unwrap()),
            base(l.facts["culprit_function"].as_str().unwrap())
        );
    }
}

/// The damaged bytes as the console printed them (facts' `slab_damage`) are the finding's, and
/// the dump's slab page puts the first of them in the reported object of the reported cache.
fn damage_is_the_consoles(l: &Lab) {
    let (f, want) = (finding(l), &l.facts["slab_damage"]);
    let name = &l.name;
    let d = &f["damage"];
    assert_eq!(num(&d["start"]), num(&want["start"]), "{name}: {d}");
    assert_eq!(num(&d["end"]), num(&want["end"]), "{name}");
    assert_eq!(d["first_byte"], want["first_byte"], "{name}");
    assert_eq!(d["expected"], want["expected"], "{name}");
    let obj = num(&l.facts["slab_object"]).expect("the report's Object line");
    assert_eq!(num(&f["object"]), Some(obj), "{name}");
    let start = num(&want["start"]).unwrap();
    assert_eq!(
        f["damage_offset"].as_i64(),
        Some((start - obj) as i64),
        "{name}"
    );
    let dd = &f["damage_in_dump"];
    assert_eq!(dd["cache"], l.facts["slab_cache"], "{name}: {dd}");
    assert_eq!(num(&dd["object"]), Some(obj), "{name}: {dd}");
    assert_eq!(dd["offset"].as_u64(), Some(start - obj), "{name}");
    // The detector is the module frame the console's stack shows calling into SLUB.
    assert_eq!(
        base(f["detected_by"]["function"].as_str().unwrap_or("")),
        base(l.facts["slab_detected_by"].as_str().unwrap()),
        "{name}"
    );
}

#[test]
fn a_red_zone_overwrite_names_the_owner_of_the_overrun_object() {
    for name in ["redzone", "k73-redzone"] {
        let Some(l) = open(name) else { continue };
        class_and_culprit(&l);
        let f = finding(&l);
        assert_eq!(f["check"], "redzone", "{name}");
        assert_eq!(f["zone"], "right", "{name}");
        assert_eq!(f["cache"], l.facts["slab_cache"], "{name}");
        // 6.1 names the region on its BUG line, 7.3 on the line before ("Object corrupt").
        match l.facts["slab_region"].as_str() {
            Some(r) => assert_eq!(f["region"].as_str(), Some(r), "{name}"),
            None => assert_eq!(f["problem"], l.facts["slab_problem"], "{name}"),
        }
        damage_is_the_consoles(&l);
        // Past the end: the damage starts at or beyond the object's size.
        let size = f["object_in_dump"]["object_size"].as_i64().unwrap();
        assert!(f["damage_offset"].as_i64().unwrap() >= size, "{name}: {f}");
        assert_eq!(f["detected_in"], "free", "{name}");
        // The culprit is the allocator, not the free that found it nor the memory's previous
        // object ("Freed in": an unrelated kernel function here).
        assert_eq!(
            f["allocated_in"]["function"], l.facts["slab_allocated_in"],
            "{name}"
        );
        let cf = l.report["verdict"]["culprit"]["function"].as_str().unwrap();
        assert_ne!(base(cf), base(f["freed_in"]["function"].as_str().unwrap()));
        assert_ne!(
            base(cf),
            base(f["detected_by"]["function"].as_str().unwrap())
        );
    }
}

#[test]
fn a_poison_overwrite_is_a_write_after_free_whose_writer_is_not_named() {
    for name in ["poison", "k73-poison"] {
        let Some(l) = open(name) else { continue };
        class_and_culprit(&l);
        let f = finding(&l);
        assert_eq!(f["check"], "poison", "{name}");
        assert_eq!(f["cache"], l.facts["slab_cache"], "{name}");
        damage_is_the_consoles(&l);
        // Detected by the next allocation from the module's own cache, which is innocent.
        assert_eq!(f["detected_in"], "alloc", "{name}");
        assert!(l.report["verdict"]["culprit"].is_null(), "{name}");
        assert_eq!(
            f["allocated_in"]["function"], l.facts["slab_allocated_in"],
            "{name}"
        );
        assert_eq!(
            f["freed_in"]["function"], l.facts["slab_freed_in"],
            "{name}"
        );
        // The lab writes 0xd0 over the second word of the freed record (0x6b poison).
        assert_eq!(f["damage"]["first_byte"], 0xd0, "{name}");
        assert_eq!(f["damage"]["expected"], 0x6b, "{name}");
        assert_eq!(f["damage_offset"], 8, "{name}");
    }
}

#[test]
fn bad_page_names_the_page_and_who_freed_it() {
    for name in ["badpage", "k73-badpage"] {
        let Some(l) = open(name) else { continue };
        class_and_culprit(&l);
        let f = finding(&l);
        assert_eq!(f["kind"], "bad_page");
        let pfn = num(&l.facts["bad_page_pfn"]).unwrap();
        assert_eq!(f["pfn"].as_u64(), Some(pfn), "{name}");
        assert_eq!(f["reason"], l.facts["bad_page_reason"], "{name}");
        // Its struct page is the vmemmap entry of that pfn.
        assert_eq!(num(&f["page"]), Some(l.session.kernel.pfn_to_page(pfn)));
        // 6.1 checks order-0 pages when a per-CPU list is flushed (a later free's stack): no
        // culprit then; 7.3 checks at the free, on the module's stack.
        let deferred = l.facts["culprit_function"].is_null();
        assert_eq!(f["deferred_check"], deferred, "{name}");
    }
}

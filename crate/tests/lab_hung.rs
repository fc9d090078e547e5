//! Hung tasks and deadlocks from the dump lab (tests/lab: `deadlock`, `hung`, `rwsem`,
//! `completion` and `pagelock` on 6.1, `k73-deadlock`, `k73-rwsem`, `k73-completion` and
//! `k73-pagelock` on 7.3;
//! hung_task_panic=1 after 5 s): the tasks in D state, the locks they
//! wait for, their owners and the cycle are checked against what the guest's console printed
//! (facts.json from facts.py: the "INFO: task X:PID blocked" lines and the lab module's own
//! "X[PID] took L1 at A, takes L2 at B next" / "X[PID] holds L at A for ever (in F)" lines).
//! A scenario the lab cache lacks is skipped (and said so).

use crashlens::kernel::locks::{self, FoundBy, LockKind, LockLayout, Owner, TaskIndex};
use crashlens::report::build::{report_of, Options, Session};
use crashlens::source::FileSource;
use serde_json::Value;
use std::collections::BTreeMap;
mod common;
use common::{lab_dir, skip};

struct Lab {
    session: Session,
    facts: Value,
    console: String,
}

fn open(name: &str) -> Option<Lab> {
    let dir = lab_dir().join(name);
    let (elf, facts) = (dir.join("vmcore.elf"), dir.join("facts.json"));
    if !elf.is_file() || !facts.is_file() {
        skip(format!(
            "lab scenario {name} absent (CRASHLENS_LAB_REUSE=1 tests/lab/lab.py {name})"
        ));
        return None;
    }
    let src = FileSource::open(&elf).expect("lab dump opens");
    Some(Lab {
        session: Session::open(Box::new(src), &Options::default()).expect("a dump"),
        facts: serde_json::from_str(&std::fs::read_to_string(facts).unwrap()).unwrap(),
        console: String::from_utf8_lossy(&std::fs::read(dir.join("console.log")).unwrap())
            .into_owned(),
    })
}

/// `lab_lock_a` -> its address, from the module's "took NAME [crashlens_lab] at ADDR" and
/// "holds NAME [crashlens_lab] at ADDR" console lines.
fn console_lock_addrs(console: &str) -> BTreeMap<String, u64> {
    let re = regex::Regex::new(r"(?:took|takes|holds) (\w+) \[crashlens_lab\] at ([0-9a-f]{16})")
        .unwrap();
    re.captures_iter(console)
        .map(|c| (c[1].to_string(), u64::from_str_radix(&c[2], 16).unwrap()))
        .collect()
}

fn hex(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// "comm:pid" -> pid.
fn pid_of(s: &str) -> i64 {
    s.rsplit(':').next().unwrap().parse().unwrap()
}

/// The checks every hung-task scenario on a mutex shares; returns the report's JSON.
fn common_checks(name: &str, lab: &Lab) -> (Value, crashlens::report::Report) {
    lock_checks(name, lab, "mutex", "mutex")
}

/// The checks every hung-task scenario on a sleeping lock shares: the reported tasks wait in
/// `waits_in`, for locks of `kind`.
fn lock_checks(
    name: &str,
    lab: &Lab,
    waits_in: &str,
    kind: &str,
) -> (Value, crashlens::report::Report) {
    let rep = report_of(&lab.session.kernel);
    let r = serde_json::to_value(&rep).unwrap();
    let f = &lab.facts;
    let v = &r["verdict"];
    assert_eq!(v["class"], "hung-task", "{name}");
    let fd = &v["finding"];
    assert_eq!(fd["kind"], "hung_task", "{name}");
    assert_eq!(
        fd["timeout_secs"].as_u64(),
        f["hung_timeout_secs"].as_u64(),
        "{name}"
    );
    // The reported tasks are the log's, and every one is in D state in memory.
    let reported: Vec<i64> = f["hung_reported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| pid_of(x.as_str().unwrap()))
        .collect();
    let tasks = fd["tasks"].as_array().unwrap();
    for p in &reported {
        let t = tasks
            .iter()
            .find(|t| t["pid"].as_i64() == Some(*p))
            .unwrap_or_else(|| panic!("{name}: reported pid {p} not in the finding"));
        assert_eq!(t["state"], "D", "{name}: {p}");
        assert_eq!(t["reported"], true, "{name}: {p}");
        assert_eq!(t["waits_in"], waits_in, "{name}: {p}");
        // Its backtrace is the one the console printed (the non-'?' frames, in order).
        let want: Vec<String> = f["hung_traces"][p.to_string()]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().split('.').next().unwrap().to_string())
            .collect();
        let got: Vec<String> = t["trace"]["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                x["function"]
                    .as_str()
                    .unwrap_or("?")
                    .split('.')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(got, want, "{name}: backtrace of {p}");
    }
    // The locks: named by their static symbol, at the address the module printed, owned by the
    // task the console says took it.
    let addrs = console_lock_addrs(&lab.console);
    let owners = f["hung_locks"].as_object().unwrap();
    assert!(!owners.is_empty(), "{name}: facts name no lock owner");
    let locks = fd["locks"].as_array().unwrap();
    assert_eq!(locks.len(), owners.len(), "{name}");
    for l in locks {
        let sym = l["symbol"]["function"].as_str().unwrap();
        assert_eq!(l["symbol"]["module"], "crashlens_lab", "{name}");
        assert_eq!(l["kind"], kind, "{name}");
        assert_eq!(Some(&hex(&l["addr"])), addrs.get(sym), "{name}: {sym}");
        let owner = owners[sym].as_str().unwrap();
        assert_eq!(l["owner"]["is"], "task", "{name}: {sym}");
        assert_eq!(
            l["owner_pid"].as_i64(),
            Some(pid_of(owner)),
            "{name}: {sym}"
        );
        if kind == "mutex" {
            // The owner word's WAITERS bit is set: someone waits.
            assert_eq!(
                l["owner"]["flags"].as_u64().unwrap() & 1,
                1,
                "{name}: {sym}"
            );
        } else {
            // A writer owns it: the owner word's READER_OWNED bit is clear.
            assert_eq!(l["owner"]["readers"], false, "{name}: {sym}");
        }
    }
    // The culprit is the console's, never the messenger.
    let cf = r["culprit"]["function"].as_str().unwrap_or("");
    assert_eq!(Some(cf), f["culprit_function"].as_str(), "{name}");
    assert_eq!(r["culprit"]["module"], "crashlens_lab", "{name}");
    for bad in f["not_culprit"].as_array().unwrap() {
        assert_ne!(cf.split('.').next(), bad.as_str(), "{name}");
    }
    let title = r["panic"]["title"].as_str().unwrap_or("");
    assert!(title.starts_with("INFO: task hung in "), "{name}: {title}");
    assert!(!title.contains("ret_from_fork"), "{name}: {title}");
    for (key, lang) in [("must_match_en", "en"), ("must_match_zh", "zh")] {
        // The English regexes are matched case-insensitively by the outside check.
        let text = r["narrative"][lang].as_str().unwrap();
        let text = if lang == "en" {
            text.to_lowercase()
        } else {
            text.to_string()
        };
        for rx in f[key].as_array().unwrap() {
            let rx = rx.as_str().unwrap();
            let rx = regex::Regex::new(&if lang == "en" {
                rx.to_lowercase()
            } else {
                rx.to_string()
            })
            .unwrap();
            assert!(rx.is_match(&text), "{name}: {lang} /{rx}/ in {text}");
        }
    }
    (r, rep)
}

#[test]
fn deadlocks_are_cycles_of_the_consoles_lock_owners() {
    for name in ["deadlock", "k73-deadlock"] {
        let Some(lab) = open(name) else { continue };
        let (r, rep) = common_checks(name, &lab);
        let fd = &r["verdict"]["finding"];
        let want: Vec<i64> = lab.facts["hung_deadlock"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| pid_of(x.as_str().unwrap()))
            .collect();
        let got: Vec<i64> = fd["deadlock"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no cycle"))
            .iter()
            .map(|s| s["pid"].as_i64().unwrap())
            .collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(
            r["verdict"]["culprit"]["rule"]["kind"],
            "lock_order_deadlock"
        );
        assert_eq!(r["culprit"]["confidence"], "high", "{name}");
        // 7.3 says which lock in task_struct.blocker; 6.1 has only the waiter on the stack.
        let by = if name.starts_with("k73") {
            "blocker"
        } else {
            "stack_waiter"
        };
        for l in fd["locks"].as_array().unwrap() {
            assert_eq!(l["found_by"], by, "{name}");
        }
        // The section shows the crash-like views.
        let text = crashlens::render::render(
            &rep,
            crashlens::render::Format::Text,
            crashlens::render::Lang::En,
        );
        for s in [
            "TASKS IN D STATE",
            "LOCKS:",
            "WAIT-FOR GRAPH:",
            "DEADLOCK (cycle)",
        ] {
            assert!(text.contains(s), "{name}: {s}");
        }
    }
}

#[test]
fn a_hung_task_without_cycle_blames_the_owner_that_never_released() {
    let Some(lab) = open("hung") else { return };
    let (r, _) = common_checks("hung", &lab);
    let fd = &r["verdict"]["finding"];
    assert!(fd["deadlock"].is_null());
    let owner = pid_of(lab.facts["hung_root_owner"].as_str().unwrap());
    assert_eq!(fd["root_owner"].as_i64(), Some(owner));
    let t = fd["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["pid"].as_i64() == Some(owner))
        .unwrap();
    // The owner is not reported (it switches every second in msleep) but in D state, sleeping.
    assert_eq!(t["state"], "D");
    assert_eq!(t["reported"], false);
    assert_eq!(t["waits_in"], "sleep");
    assert_eq!(t["wait_function"], "msleep");
    assert_eq!(t["caller"]["function"], lab.facts["culprit_function"]);
    assert_eq!(r["verdict"]["culprit"]["rule"]["kind"], "never_released");
}

/// An rw_semaphore taken for writing and never released: its owner word (flag bits masked) is
/// the writer the console names, in D state sleeping in msleep inside the function that took
/// it; the reader blocks in down_read(). 6.1 finds the lock from the rwsem_waiter on the
/// reader's stack, 7.3 from task_struct.blocker (and the stack agrees).
#[test]
fn an_rwsem_held_for_writing_names_its_owner() {
    for name in ["rwsem", "k73-rwsem"] {
        let Some(lab) = open(name) else { continue };
        let (r, _) = lock_checks(name, &lab, "rwsem_read", "rw_semaphore");
        let fd = &r["verdict"]["finding"];
        assert!(fd["deadlock"].is_null(), "{name}");
        assert_eq!(
            fd["partial"].as_array().unwrap().len(),
            0,
            "{name}: {}",
            fd["partial"]
        );
        let owner = pid_of(lab.facts["hung_root_owner"].as_str().unwrap());
        assert_eq!(fd["root_owner"].as_i64(), Some(owner), "{name}");
        let t = fd["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["pid"].as_i64() == Some(owner))
            .unwrap();
        assert_eq!(
            (&t["state"], &t["waits_in"], &t["wait_function"]),
            (&"D".into(), &"sleep".into(), &"msleep".into()),
            "{name}"
        );
        assert_eq!(t["caller"]["function"], lab.facts["culprit_function"]);
        let frames: Vec<&str> = t["trace"]["frames"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["function"].as_str())
            .collect();
        assert!(
            frames.contains(&"msleep") && frames.contains(&"lab_write_forever"),
            "{name}: {frames:?}"
        );
        let l = &fd["locks"][0];
        // The owner word is the writer's task_struct.
        assert_eq!(l["owner"]["task"], t["task"], "{name}");
        let by = if name.starts_with("k73") {
            "blocker"
        } else {
            "stack_waiter"
        };
        assert_eq!(l["found_by"], by, "{name}");
        assert_eq!(r["verdict"]["culprit"]["rule"]["kind"], "never_released");
        // The reader's own rwsem_waiter on its stack leads to the same lock.
        let k = &lab.session.kernel;
        let (tasks, _) = k.tasks();
        let idx = TaskIndex::new(tasks);
        let stack_only = LockLayout {
            blocker: None,
            blocked_on: None,
            ..LockLayout::of(k)
        };
        let reader = tasks.iter().find(|t| t.comm == "lab_reader").unwrap();
        let w = locks::waited_lock(k, &stack_only, &idx, reader, Some(LockKind::RwSemaphore));
        assert_eq!(
            w.map(|w| (w.0, w.2)),
            Some((hex(&l["addr"]), FoundBy::StackWaiter)),
            "{name}"
        );
    }
}

/// A completion nobody completes: the waiter's wait queue entry on its stack leads to the
/// completion the console printed (symbol and address), `done` 0, no owner and so no culprit;
/// the code that calls complete() on it is the module's function objdump finds, on no stack.
#[test]
fn a_completion_nobody_completes_names_what_it_waits_on_and_no_culprit() {
    for name in ["completion", "k73-completion"] {
        let Some(lab) = open(name) else { continue };
        let rep = report_of(&lab.session.kernel);
        let r = serde_json::to_value(&rep).unwrap();
        let f = &lab.facts;
        let fd = &r["verdict"]["finding"];
        assert_eq!(r["verdict"]["class"], "hung-task", "{name}");
        assert_eq!(
            fd["partial"].as_array().unwrap().len(),
            0,
            "{name}: {}",
            fd["partial"]
        );
        assert!(r["culprit"].is_null(), "{name}: {}", r["culprit"]);
        assert!(fd["locks"].as_array().unwrap().is_empty(), "{name}");
        let want = f["hung_completions"].as_object().unwrap();
        assert_eq!(want.len(), 1, "{name}");
        let (sym, w) = want.iter().next().unwrap();
        let cs = fd["completions"].as_array().unwrap();
        assert_eq!(cs.len(), 1, "{name}");
        let c = &cs[0];
        assert_eq!(
            c["symbol"]["function"].as_str(),
            Some(sym.as_str()),
            "{name}"
        );
        assert_eq!(c["symbol"]["module"], w["module"], "{name}");
        assert_eq!(hex(&c["addr"]), hex(&w["address"]), "{name}");
        assert_eq!(c["done"], 0, "{name}");
        let waiter = pid_of(w["waiter"].as_str().unwrap());
        assert_eq!(c["waiters"], serde_json::json!([waiter]), "{name}");
        let by: Vec<&str> = c["completers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["function"].as_str().unwrap())
            .collect();
        let want_by: Vec<&str> = w["completed_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert_eq!(
            by, want_by,
            "{name}: complete() callers (objdump -dr of the .ko)"
        );
        assert!(c["completers_running"].as_array().unwrap().is_empty());
        let t = fd["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["pid"].as_i64() == Some(waiter))
            .unwrap();
        assert_eq!(t["waits_in"], "completion", "{name}");
        assert_eq!(t["waits_completion"], 0, "{name}");
        assert_eq!(t["caller"]["function"], w["waiting_function"], "{name}");
        for (key, lang) in [("must_match_en", "en"), ("must_match_zh", "zh")] {
            let text = r["narrative"][lang].as_str().unwrap();
            let text = if lang == "en" {
                text.to_lowercase()
            } else {
                text.to_string()
            };
            for rx in f[key].as_array().unwrap() {
                let rx = rx.as_str().unwrap();
                let rx = regex::Regex::new(&if lang == "en" {
                    rx.to_lowercase()
                } else {
                    rx.to_string()
                })
                .unwrap();
                assert!(rx.is_match(&text), "{name}: {lang} /{rx}/ in {text}");
            }
        }
        // A sleeping task that waits for no completion has none.
        let k = &lab.session.kernel;
        let (tasks, _) = k.tasks();
        let idx = TaskIndex::new(tasks);
        let cl = locks::CompletionLayout::of(k);
        for t in tasks.iter().filter(|t| t.comm == "lab_done_wait") {
            assert_eq!(
                locks::waited_completion(k, &cl, &idx, t).map(|c| c.addr),
                Some(hex(&w["address"]))
            );
        }
        for t in tasks.iter().filter(|t| t.state == 'S').take(20) {
            assert_eq!(
                locks::waited_completion(k, &cl, &idx, t),
                None,
                "{}",
                t.comm
            );
        }
    }
}

/// A page locked twice: the wait_page_queue on the waiter's stack gives the page the console
/// printed (its pfn), waiting for PG_locked, which its flags still have; no owner, no culprit.
#[test]
fn a_page_lock_wait_names_the_page_and_no_culprit() {
    for name in ["pagelock", "k73-pagelock"] {
        let Some(lab) = open(name) else { continue };
        let rep = report_of(&lab.session.kernel);
        let r = serde_json::to_value(&rep).unwrap();
        let fd = &r["verdict"]["finding"];
        assert_eq!(r["verdict"]["class"], "hung-task", "{name}");
        assert!(r["culprit"].is_null(), "{name}: {}", r["culprit"]);
        assert_eq!(
            fd["partial"].as_array().unwrap().len(),
            0,
            "{name}: {}",
            fd["partial"]
        );
        let want = lab.facts["hung_pages"].as_object().unwrap();
        assert_eq!(want.len(), 1, "{name}");
        let (who, w) = want.iter().next().unwrap();
        let t = fd["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["pid"].as_i64() == Some(pid_of(who)))
            .unwrap();
        assert_eq!(t["waits_in"], "page_lock", "{name}");
        assert_eq!(t["caller"]["function"], w["locked_in"], "{name}");
        let p = &t["waits_page"];
        assert_eq!(p["pfn"].as_u64(), Some(hex(&w["pfn"])), "{name}: {p}");
        assert_eq!(p["bit_nr"], 0, "{name}");
        assert_eq!(hex(&p["flags"]) & 1, 1, "{name}: PG_locked");
        // The struct page is the pfn's (vmemmap).
        let k = &lab.session.kernel;
        assert_eq!(k.page_to_pfn(hex(&p["page"])), Some(hex(&w["pfn"])));
        for (key, lang) in [("must_match_en", "en"), ("must_match_zh", "zh")] {
            let text = r["narrative"][lang].as_str().unwrap();
            for rx in lab.facts[key].as_array().unwrap() {
                let rx = regex::Regex::new(rx.as_str().unwrap()).unwrap();
                assert!(rx.is_match(text), "{name}: {lang} /{rx}/ in {text}");
            }
        }
        // A task that waits for no page has none.
        let (tasks, _) = k.tasks();
        let idx = TaskIndex::new(tasks);
        for t in tasks.iter().filter(|t| t.state == 'S').take(20) {
            assert_eq!(locks::waited_page(k, &idx, t), None, "{}", t.comm);
        }
    }
}

/// 7.3's `task_struct.blocker` and the waiter found on the blocked task's own stack name the
/// same lock: the stack method (all 6.1 has) is checked against the kernel's own record.
#[test]
fn the_stack_waiter_finds_the_lock_the_blocker_names() {
    let Some(lab) = open("k73-deadlock") else {
        return;
    };
    let k = &lab.session.kernel;
    let (tasks, _) = k.tasks();
    let idx = TaskIndex::new(tasks);
    let l = LockLayout::of(k);
    assert!(l.blocker.is_some());
    let stack_only = LockLayout {
        blocker: None,
        blocked_on: None,
        ..l
    };
    let mut n = 0;
    for t in tasks
        .iter()
        .filter(|t| t.state == 'D' && t.comm.starts_with("lab_abba"))
    {
        let a = locks::waited_lock(k, &l, &idx, t, Some(LockKind::Mutex)).unwrap();
        let b = locks::waited_lock(k, &stack_only, &idx, t, Some(LockKind::Mutex)).unwrap();
        assert_eq!(a.2, FoundBy::Blocker);
        assert_eq!(b.2, FoundBy::StackWaiter);
        assert_eq!(a.0, b.0, "{}", t.comm);
        // blocked_on (proxy execution's struct mutex *) agrees too.
        let c = locks::waited_lock(
            k,
            &LockLayout { blocker: None, ..l },
            &idx,
            t,
            Some(LockKind::Mutex),
        )
        .unwrap();
        assert_eq!((c.0, c.2), (a.0, FoundBy::BlockedOn));
        n += 1;
    }
    assert_eq!(n, 2);
}

/// Bad input: an "owner" word that is not a task, a task not waiting for any lock, a lock
/// address that is not mapped: each a marked answer, never a panic or a walk off into memory.
#[test]
fn garbage_owners_and_non_waiting_tasks_are_marked_not_followed() {
    let Some(lab) = open("deadlock") else { return };
    let k = &lab.session.kernel;
    let (tasks, _) = k.tasks();
    let idx = TaskIndex::new(tasks);
    let l = LockLayout::of(k);
    // lab_items[0] begins with its magic 0xc7a5e1e05ab00001: as a mutex, a garbage owner.
    let items = k.symbols().addr_of("lab_items").expect("lab_items");
    assert_eq!(k.read_u64(items).unwrap(), 0xc7a5e1e05ab00001);
    assert_eq!(
        locks::lock_owner(k, &l, &idx, items, LockKind::Mutex),
        Owner::NotATask {
            value: 0xc7a5e1e05ab00001
        }
    );
    assert_eq!(
        locks::lock_owner(k, &l, &idx, 0xdead_0000_0000_0000, LockKind::Mutex),
        Owner::Unreadable
    );
    // A sleeping task that waits for no lock (khungtaskd, init's sleep) has no waiter ring.
    for t in tasks.iter().filter(|t| t.state == 'S').take(20) {
        assert_eq!(
            locks::waited_lock(k, &l, &idx, t, Some(LockKind::Mutex)),
            None,
            "{}",
            t.comm
        );
    }
}

/// A lock that is not a static variable is named by the slab object holding it: checked on a
/// real mutex every process has, `signal_struct.cred_guard_mutex` (slab cache `signal_cache`),
/// and on the task_struct objects themselves, on 6.1 and 7.3.
#[test]
fn a_lock_in_a_slab_object_is_named_by_its_cache_and_member() {
    for name in ["deadlock", "k73-deadlock"] {
        let Some(lab) = open(name) else { continue };
        let k = &lab.session.kernel;
        let b = k.btf().expect("BTF");
        let sig = b.member_offset("task_struct", "signal").unwrap();
        let cgm = b
            .member_offset("signal_struct", "cred_guard_mutex")
            .unwrap();
        let (tasks, _) = k.tasks();
        let mut n = 0;
        for t in tasks.iter().filter(|t| !t.idle && t.pid > 1).take(10) {
            let c = locks::slab_container(k, t.addr, LockKind::Mutex).expect("task in a slab");
            assert_eq!(
                (c.cache.as_str(), c.object, c.offset),
                ("task_struct", t.addr, 0)
            );
            let s = k.read_u64(t.addr + sig).unwrap();
            let c = locks::slab_container(k, s + cgm, LockKind::Mutex)
                .unwrap_or_else(|| panic!("{name}: signal of {}", t.pid));
            assert_eq!(c.cache, "signal_cache", "{name}");
            assert_eq!((c.object, c.offset), (s, cgm), "{name}");
            assert_eq!(
                c.member.as_deref(),
                Some("signal_struct.cred_guard_mutex"),
                "{name}"
            );
            n += 1;
        }
        assert!(n >= 5, "{name}: {n}");
        // A static lock is not in a slab.
        let a = k.symbols().addr_of("lab_lock_a").unwrap();
        assert_eq!(locks::slab_container(k, a, LockKind::Mutex), None);
    }
}

//! The crash-style console (`crashlens shell`, the page's console): `struct`, `rd`, `p`, `task`,
//! `foreach bt`, `help` on the 6.1 fixture and the lab's ref-nginx dump, checked against crash's
//! outputs (crash-bt.txt, crash-ps.txt, crash-sym.txt), VMCOREINFO's OFFSET/SIZE lines and the
//! kernel's own console log (the modules print their magic's address when loaded).

mod common;
use common::*;
use crashlens::console::{Console, Output};
use crashlens::report::build::{Options, Session};
use crashlens::source::FileSource;

fn console(name: &str) -> Option<Console> {
    let s = open(name)?;
    Some(Console::new(s, Some("vmcore".into())))
}

fn ok(c: &mut Console, line: &str) -> String {
    let o = c.run(line);
    assert!(!o.error, "{line}: {}", o.text);
    o.text
}

/// `name = value` lines of the top level of a `struct` print (two-space indent).
fn top(text: &str, name: &str) -> Option<String> {
    let pre = format!("  {name} = ");
    text.lines()
        .find_map(|l| l.strip_prefix(&pre))
        .map(|v| v.trim_end_matches(',').to_string())
}

/// crash-bt.txt's first line: `PID: 103      TASK: ffff897482934180  CPU: 0    COMMAND: "sh"`.
fn crash_bt_header() -> Option<(String, u64, i32, u32, String)> {
    let bt = oracle(F61, "crash-bt.txt")?;
    let line = bt.lines().next()?.to_string();
    let w: Vec<&str> = line.split_whitespace().collect();
    Some((
        line.clone(),
        u64::from_str_radix(w[3], 16).ok()?,
        w[1].parse().ok()?,
        w[5].parse().ok()?,
        w[7].trim_matches('"').to_string(),
    ))
}

#[test]
fn struct_task_struct_of_crashing_task_matches_crash() {
    let Some(mut c) = console(F61) else { return };
    let Some((_, task, pid, cpu, comm)) = crash_bt_header() else {
        return skip("crash-bt.txt absent");
    };
    let t = ok(&mut c, &format!("struct task_struct {task:x}"));
    assert!(
        t.starts_with("struct task_struct {\n  thread_info = {\n"),
        "{t}"
    );
    assert!(t.ends_with("\n}\n"));
    assert_eq!(top(&t, "pid"), Some(pid.to_string()));
    assert_eq!(top(&t, "tgid"), Some(pid.to_string()));
    assert_eq!(top(&t, "comm"), Some(format!("\"{comm}\"")));
    // crash's ps: RU (running) -> __state 0; running on its CPU at the crash.
    let ps = oracle(F61, "crash-ps.txt").unwrap();
    let row = ps
        .lines()
        .find(|l| l.contains(&format!("{task:x}")))
        .expect("crash ps lists the task");
    assert!(row.contains(" RU "), "{row}");
    assert_eq!(top(&t, "__state"), Some("0".into()));
    assert_eq!(top(&t, "on_cpu"), Some("1".into()));
    assert!(
        t.contains(&format!("\n    cpu = {cpu}\n")),
        "thread_info.cpu"
    );
    // crash's frames lie on the task's stack: [stack, stack + 16 KiB).
    let stack =
        u64::from_str_radix(top(&t, "stack").unwrap().trim_start_matches("0x"), 16).unwrap();
    let bt = oracle(F61, "crash-bt.txt").unwrap();
    let sp: Vec<u64> = bt
        .lines()
        .filter_map(|l| {
            let s = l.split_once('[')?.1.split_once(']')?.0;
            u64::from_str_radix(s, 16).ok()
        })
        .collect();
    assert!(sp.len() >= 5);
    assert!(
        sp.iter().all(|&s| s >= stack && s < stack + (16 << 10)),
        "{stack:x} {sp:x?}"
    );
    // Pointers into the kernel image are named, as gdb does: the scheduling class of a
    // normal task is CFS.
    assert!(top(&t, "sched_class")
        .unwrap()
        .ends_with(" <fair_sched_class>"));
    // `task PID` prints crash's header, then the same struct.
    let tk = ok(&mut c, &format!("task {pid}"));
    let (header, ..) = crash_bt_header().unwrap();
    assert_eq!(tk, format!("{header}\n{t}"));
    assert_eq!(
        ok(&mut c, "task"),
        tk,
        "task without PID: the crashing task"
    );
}

#[test]
fn struct_layout_offsets_match_vmcoreinfo() {
    let Some(mut c) = console(F61) else { return };
    let Some(vi) = oracle(F61, "vmcoreinfo.txt") else {
        return skip("vmcoreinfo.txt absent");
    };
    let mut checked = 0;
    for st in ["page", "list_head", "free_area", "zone", "pglist_data"] {
        let t = ok(&mut c, &format!("struct {st}"));
        assert!(t.starts_with(&format!("struct {st} {{\n")), "{t}");
        let size = vi
            .lines()
            .find_map(|l| l.strip_prefix(&format!("SIZE({st})=")))
            .unwrap();
        assert!(t.ends_with(&format!("}}\nSIZE: {size}\n")), "{st}: {t}");
        for l in vi.lines() {
            let Some(rest) = l.strip_prefix(&format!("OFFSET({st}.")) else {
                continue;
            };
            let (member, off) = rest.split_once(")=").unwrap();
            // Top-level members: `[off] type name;` (or `name[n];`); nested ones are inside
            // anonymous unions, printed with the offset of the enclosing union's member.
            let found = t.lines().any(|x| {
                x.trim_start().starts_with(&format!("[{off}] "))
                    && (x.ends_with(&format!(" {member};"))
                        || x.ends_with(&format!("*{member};"))
                        || x.contains(&format!(" {member}[")))
            });
            assert!(found, "{st}.{member} at {off}:\n{t}");
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked}");
}

#[test]
fn rd_reads_the_fixture_magic_where_the_kernel_log_says() {
    let Some(mut c) = console(F61) else { return };
    let log = oracle(F61, "console.log").unwrap();
    // `vmcore_fixture: loaded, magic 564d434f52454649 at ffffffffc033f028`
    let line = log.lines().find(|l| l.contains("loaded, magic")).unwrap();
    let w: Vec<&str> = line.split_whitespace().collect();
    let (magic, at) = (w[w.len() - 3], w[w.len() - 1]);
    assert_eq!(magic, "564d434f52454649");
    let r = ok(&mut c, "rd vmcore_fixture_magic");
    assert_eq!(r, format!("{at}:  {magic}                    IFEROCMV\n"));
    assert_eq!(ok(&mut c, &format!("rd {at}")), r, "by address");
    assert_eq!(ok(&mut c, &format!("rd 0x{at}")), r, "0x");
    // fixture_items[3] (48 bytes each: magic, index, name[16], list_head) in the module's data.
    let items = ok(&mut c, "rd fixture_items 18");
    assert_eq!(items.lines().count(), 9);
    let words: Vec<u64> = items
        .lines()
        .flat_map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(2)
                .filter_map(|w| u64::from_str_radix(w, 16).ok())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(words.len(), 18);
    for i in 0..3 {
        assert_eq!(words[i * 6], 0xfeedfacecafe0001 + i as u64);
        assert_eq!(words[i * 6 + 1] & 0xffff_ffff, i as u64 + 1, "index");
    }
    assert!(items.contains("alph") && items.contains("beta") && items.contains("gamm"));
    // The address of fixture_items is crash's sym for it, and -s names the list pointers.
    let sym = ok(&mut c, "sym fixture_items");
    assert_eq!(sym, "ffffffffc033f040 (d) fixture_items [vmcore_fixture]\n");
    assert!(items.starts_with("ffffffffc033f040:  "));
    let s = ok(&mut c, "rd -s fixture_items 18");
    // items[0].node: next = &items[1].node (48 + 32), prev = the list head (list_add_tail).
    assert!(
        s.contains("ffffffffc033f060:  fixture_items+80 fixture_list\n"),
        "{s}"
    );
    // p without a type: the address and the first word.
    let p = ok(&mut c, "p vmcore_fixture_magic");
    assert!(p.starts_with(&format!("vmcore_fixture_magic: {at} (d) [vmcore_fixture]")));
    assert!(p.ends_with(&r));
}

#[test]
fn p_per_cpu_variable_from_btf() {
    let Some(mut c) = console(F61) else { return };
    let p = ok(&mut c, "p runqueues");
    assert!(
        p.starts_with("PER-CPU DATA TYPE:\n  struct rq runqueues;\nPER-CPU ADDRESSES:\n  [0]: "),
        "{p}"
    );
    assert_eq!(p.lines().count(), 5, "two CPUs: {p}");
}

#[test]
fn foreach_bt_and_bt_equal_crash() {
    let Some(mut c) = console(F61) else { return };
    let bt = ok(&mut c, "bt");
    let (header, ..) = crash_bt_header().unwrap();
    assert!(bt.starts_with(&format!("{header}\n")), "{bt}");
    assert!(bt.contains("[exception RIP: fixture_null_deref+21]"));
    let all = ok(&mut c, "foreach bt");
    let ps = ok(&mut c, "ps");
    // One trace per task ps lists; the crashing one is in it.
    assert_eq!(
        all.lines().filter(|l| l.starts_with("PID: ")).count(),
        ps.lines().count() - 1
    );
    assert!(all.contains(&header));
    let bta = ok(&mut c, "bt -a");
    assert_eq!(bta.lines().filter(|l| l.starts_with("PID: ")).count(), 2);
}

#[test]
fn bad_input_gives_one_line() {
    let Some(mut c) = console(F61) else { return };
    for line in [
        "nosuch",
        "struct",
        "struct no_such_type",
        "struct task_struct zzz",
        "struct task_struct 0xdeadbeef",
        "struct task_struct ffffffffffffffff",
        "rd",
        "rd 0",
        "rd nosuch_symbol",
        "rd vmcore_fixture_magic 0",
        "rd vmcore_fixture_magic 99999999999",
        "rd ffffffffffffffff 4",
        "p",
        "p no_such_symbol",
        "task 99999",
        "task x",
        "bt -p",
        "bt zz",
        "foreach ps",
        "help nosuch",
        "sym nosuch",
        "dis nosuch",
        "dis -q x",
    ] {
        let o: Output = c.run(line);
        assert!(o.error, "{line}: {}", o.text);
        assert_eq!(o.text.lines().count(), 1, "{line}: {}", o.text);
        assert!(o.text.ends_with('\n'));
    }
    assert_eq!(c.run("").text, "");
    // A read that runs into an unmapped page stops there, with what was read before.
    let o = c.run("rd ffffffffc033f028 65536");
    assert!(o.error);
    assert!(o.text.starts_with("ffffffffc033f028:  564d434f52454649 "));
    assert!(o
        .text
        .lines()
        .last()
        .unwrap()
        .starts_with("rd: cannot read "));
}

#[test]
fn help_lists_every_command() {
    let Some(mut c) = console(F61) else { return };
    let h = ok(&mut c, "help");
    for cmd in crashlens::console::COMMANDS {
        assert!(h.contains(cmd.usage), "{}", cmd.name);
        let one = ok(&mut c, &format!("help {}", cmd.name));
        assert!(one.starts_with(&format!("usage: {}\n", cmd.usage)));
        // Every command listed runs (with an argument where it needs one).
        let probe = match cmd.name {
            "struct" => "struct list_head",
            "rd" | "p" | "sym" => "rd jiffies",
            "dis" => "dis fixture_null_deref",
            "foreach" => "foreach bt",
            "task" => "task 1",
            other => other,
        };
        let _ = ok(&mut c, probe);
    }
}

#[test]
fn lab_ref_nginx_magic_and_items() {
    let dir = lab_dir().join("ref-nginx");
    let path = dir.join("vmcore.elf");
    if !path.is_file() {
        return skip("lab ref-nginx absent");
    }
    let src = FileSource::open(&path).unwrap();
    let s = Session::open(Box::new(src), &Options::default()).unwrap();
    let mut c = Console::new(s, None);
    let log = std::fs::read_to_string(dir.join("console.log")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("crashlens_lab: loaded, magic"))
        .unwrap();
    let at = line.split_whitespace().last().unwrap();
    let r = ok(&mut c, "rd crashlens_lab_magic");
    assert_eq!(
        r,
        format!("{at}:  4352534c454e534c                    LSNELSRC\n")
    );
    let items = ok(&mut c, "rd lab_items 18");
    for i in 1..=3u64 {
        assert!(items.contains(&format!("c7a5e1e05ab0000{i} ")), "{items}");
    }
    assert!(items.contains("alph") && items.contains("beta") && items.contains("gamm"));
    // The crashing task, from the lab's facts.
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("facts.json")).unwrap()).unwrap();
    let pid = facts["crashing_pid"].as_i64().unwrap();
    let t = ok(&mut c, &format!("task {pid}"));
    assert_eq!(top(&t, "pid"), Some(pid.to_string()));
    assert_eq!(
        top(&t, "comm"),
        Some(format!("\"{}\"", facts["crashing_comm"].as_str().unwrap()))
    );
}

#[test]
fn cli_shell_piped_and_one_shot_commands() {
    let Some(p) = elf(F61) else { return };
    let exe = env!("CARGO_BIN_EXE_crashlens");
    let run = |args: &[&str], input: &str| {
        use std::io::Write;
        let mut ch = std::process::Command::new(exe)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        ch.stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        ch.wait_with_output().unwrap()
    };
    let v = p.to_str().unwrap();
    let o = run(
        &["shell", v],
        "rd vmcore_fixture_magic\nnosuch\nsym fixture_items\nq\nps\n",
    );
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        out,
        "ffffffffc033f028:  564d434f52454649                    IFEROCMV\nffffffffc033f040 (d) fixture_items [vmcore_fixture]\n",
        "no prompt when piped; q ends the session"
    );
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "nosuch: unknown command (`help` lists the commands)\n"
    );
    let o = run(&["rd", v, "vmcore_fixture_magic", "2"], "");
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .starts_with("ffffffffc033f028:  564d434f52454649 ffffffffc033f060"));
    let (_, task, pid, ..) = crash_bt_header().unwrap();
    let o = run(&["struct", v, "task_struct", &format!("{task:x}")], "");
    let st = String::from_utf8(o.stdout).unwrap();
    assert_eq!(top(&st, "pid"), Some(pid.to_string()));
    let o = run(&["task", v, &pid.to_string()], "");
    assert!(String::from_utf8(o.stdout).unwrap().ends_with(&st));
    let o = run(&["p", v, "runqueues"], "");
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .starts_with("PER-CPU DATA TYPE:\n"));
    let o = run(&["rd", v, "0"], "");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(String::from_utf8(o.stderr).unwrap().lines().count(), 1);
    // sym's query is not a second dump file.
    let o = run(&["sym", v, "fixture_items"], "");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// With the module's `.ko` (--debuginfo), its types come from DWARF: `struct fixture_item`
/// (vmcore_fixture.c: u64 magic; int index; char name[16]; struct list_head node) and the
/// variable `fixture_items[3]`, whose values are the source's initialisers and whose list
/// pointers are the list_add_tail order (checked word for word against `rd`).
#[test]
fn module_types_from_dwarf() {
    let Some(p) = elf(F61) else { return };
    let Some(ko) = fixtures().map(|d| d.join(F61).join("vmcore_fixture.ko")) else {
        return skip("vmcore_fixture.ko absent");
    };
    let src = FileSource::open(&p).unwrap();
    let opts = Options {
        debuginfo: vec![crashlens::debuginfo::Extra {
            name: "vmcore_fixture.ko".into(),
            src: std::rc::Rc::new(FileSource::open(&ko).unwrap()),
        }],
        ..Options::default()
    };
    let mut s = Session::open(Box::new(src), &opts).unwrap();
    s.load_debuginfo(&opts);
    assert!(
        s.debuginfo.warnings.is_empty(),
        "{:?}",
        s.debuginfo.warnings
    );
    let mut c = Console::new(s, None);
    assert_eq!(
        ok(&mut c, "struct fixture_item"),
        "struct fixture_item {\n     [0] u64 magic;\n     [8] int index;\n    [12] char name[16];\n    [32] struct list_head node;\n}\nSIZE: 48\n"
    );
    let names = ["alpha", "beta", "gamma"];
    let words = ok(&mut c, "rd fixture_items 18");
    let w: Vec<&str> = words
        .lines()
        .flat_map(|l| l.split_whitespace().skip(1).take(2))
        .collect();
    for i in 0..3u64 {
        let at = 0xffffffffc033f040 + 48 * i;
        let t = ok(&mut c, &format!("struct fixture_item {at:x}"));
        let next = u64::from_str_radix(w[i as usize * 6 + 4], 16).unwrap();
        let prev = u64::from_str_radix(w[i as usize * 6 + 5], 16).unwrap();
        let name = |a: u64| {
            if a == 0xffffffffc033f030 {
                "fixture_list".to_string()
            } else {
                format!("fixture_items+{}", a - 0xffffffffc033f040)
            }
        };
        assert_eq!(
            t,
            format!(
                "struct fixture_item {{\n  magic = {},\n  index = {},\n  name = \"{}\",\n  node = {{\n    next = {next:#x} <{}>,\n    prev = {prev:#x} <{}>\n  }}\n}}\n",
                0xfeedfacecafe0001u64 + i,
                i + 1,
                names[i as usize],
                name(next),
                name(prev)
            )
        );
    }
    let p = ok(&mut c, "p fixture_items");
    assert!(p.starts_with("struct fixture_item fixture_items[3];  /* ffffffffc033f040 */\nfixture_items = {{\n    magic = 18369614221189971969,\n"), "{p}");
    assert_eq!(p.matches("magic = ").count(), 3);
    // BTF still answers for the kernel's own types.
    assert!(ok(&mut c, "struct list_head")
        .starts_with("struct list_head {\n     [0] struct list_head *next;\n"));
}

#[test]
fn completion_of_commands_symbols_and_types() {
    let Some(c) = console(F61) else { return };
    assert_eq!(c.complete("st", 10), vec!["struct"]);
    assert_eq!(c.complete("s", 10), vec!["struct", "sym", "sys"]);
    assert!(c.complete("rd vmcore_fixture_m", 10) == vec!["vmcore_fixture_magic"]);
    let t = c.complete("struct task_s", 10);
    assert!(t.iter().any(|n| n == "task_struct"), "{t:?}");
    assert!(c.complete("rd ", 10).is_empty());
    assert!(c.complete("p fixture_", 100).len() >= 3);
}

//! "Attempted to kill init!" in words: how PID 1 ended, that user space (not the kernel) died,
//! and where to look.

use super::ClassWords;
use crate::analysis::classes::init::{ExitStatus, InitDeath};
use crate::analysis::verdict::Verdict;
use crate::render::verdict::Both;
use crate::render::Lang;
use std::fmt::Write;

fn status_words(s: &ExitStatus) -> Both {
    match *s {
        ExitStatus::Exited { code } => Both::new(
            format!("it exited with status {code}"),
            format!("它以退出码 {code} 退出"),
        ),
        ExitStatus::Signaled {
            signal,
            name,
            core_dumped,
        } => {
            let n = name.map(|n| format!("{n}, ")).unwrap_or_default();
            let core_en = if core_dumped { ", and dumped core" } else { "" };
            let core_zh = if core_dumped {
                "，并产生了 core dump"
            } else {
                ""
            };
            Both::new(
                format!("it was killed by signal {n}number {signal}{core_en}"),
                format!("它被信号 {n}编号 {signal} 杀死{core_zh}"),
            )
        }
    }
}

fn who(d: &InitDeath) -> String {
    match (&d.comm, d.pid) {
        (Some(c), Some(p)) => format!("\"{c}\", PID {p}"),
        (Some(c), None) => format!("\"{c}\""),
        _ => "PID 1".into(),
    }
}

pub fn words(_v: &Verdict, d: &InitDeath) -> ClassWords {
    let st = status_words(&d.status);
    let w = who(d);
    let code = format!("{:#010x}", d.exit_code);
    let mut narrative = vec![Both::new(
        format!("This is not a kernel bug: init, the first user-space process ({w}), ended — {} (exitcode={code}) — and the kernel panics when PID 1 exits, because nothing can take its place.", st.en),
        format!("这不是内核缺陷：第一个用户态进程 init（{w}）结束了——{}（exitcode={code}）；PID 1 退出后没有进程能接替它，所以内核只能 panic。", st.zh),
    )];
    narrative.push(match d.status {
        ExitStatus::Exited { .. } => Both::new(
            "An exit status means init (or the script run as init) gave up on purpose, often because a command it needs failed (mounting the root file system, a missing program or library).",
            "有退出码说明 init（或作为 init 运行的脚本）是自己退出的，常见原因是它依赖的某个步骤失败了（挂载根文件系统失败、缺少程序或动态库）。",
        ),
        ExitStatus::Signaled { .. } => Both::new(
            "A signal means init crashed or was killed: a bug in the init program, a broken or mismatched library, or bad memory.",
            "被信号终止说明 init 自己崩溃了或被杀死：可能是 init 程序的缺陷、动态库损坏或版本不匹配，也可能是内存故障。",
        ),
    });
    let mut evidence = Vec::new();
    evidence.push((
        "log",
        Both::new(
            format!("The panic line gives exitcode={code}: {}.", st.en),
            format!("panic 行给出 exitcode={code}：{}。", st.zh),
        ),
    ));
    for l in &d.log_lines {
        evidence.push((
            "log",
            Both::new(
                format!("Before it, the log says: \"{l}\"."),
                format!("在此之前日志中有：\"{l}\"。"),
            ),
        ));
    }
    if d.log_lines.is_empty() {
        evidence.push((
            "log",
            Both::new(
                "The log has no line about init before the panic (no segfault or trap line).",
                "panic 之前的日志中没有关于 init 的记录（没有 segfault 或 trap 信息）。",
            ),
        ));
    }
    let next_steps = vec![
        Both::new(
            "Look at the console output before the panic (this report's log section) for the last thing init ran; boot with init=/bin/sh or rd.break to get a shell at that point.",
            "查看 panic 之前的控制台输出（本报告的日志部分），找到 init 最后执行的操作；可以用 init=/bin/sh 或 rd.break 启动，停在那一步进行排查。",
        ),
        Both::new(
            "Check the initramfs and the root file system: rebuild the initramfs (dracut -f / update-initramfs -u) after kernel or package updates, and verify the init program and its libraries (rpm -V / debsums).",
            "检查 initramfs 和根文件系统：内核或软件包升级后重建 initramfs（dracut -f 或 update-initramfs -u），并校验 init 程序及其依赖库（rpm -V 或 debsums）。",
        ),
    ];
    ClassWords {
        narrative,
        evidence,
        next_steps,
    }
}

pub fn section(d: &InitDeath, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let st = status_words(&d.status);
    let mut s = String::new();
    let _ = writeln!(s, "{}: {}", if zh { "进程" } else { "TASK" }, who(d));
    let _ = writeln!(
        s,
        "{}: {:#010x} ({})",
        if zh { "退出状态" } else { "EXIT STATUS" },
        d.exit_code,
        st.get(lang)
    );
    if !d.log_lines.is_empty() {
        let _ = writeln!(
            s,
            "{}",
            if zh {
                "panic 之前关于 init 的日志："
            } else {
                "LOG ABOUT INIT BEFORE THE PANIC:"
            }
        );
        for l in &d.log_lines {
            let _ = writeln!(s, "  {l}");
        }
    }
    s
}

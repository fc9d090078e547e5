//! A lockup in words: which CPU, how long, what it spun in; for a spinlock, the lock, how it
//! was found, and who holds it (a CPU in its critical section, or nobody: never released).

use super::ClassWords;
use crate::analysis::classes::lockup::{Detector, FuncRef, Holder, Lockup, SpinlockWait};
use crate::analysis::verdict::Verdict;
use crate::render::verdict::Both;
use crate::render::Lang;
use std::fmt::Write;

fn lock_name(s: &SpinlockWait) -> String {
    match (&s.symbol, &s.module) {
        (Some(n), Some(m)) => format!("{n} [{m}] ({:#x})", s.address),
        (Some(n), None) => format!("{n} ({:#x})", s.address),
        _ => format!("{:#x}", s.address),
    }
}

fn list(fs: &[FuncRef]) -> String {
    fs.iter()
        .map(FuncRef::display)
        .collect::<Vec<_>>()
        .join(", ")
}

fn value_words(s: &SpinlockWait) -> Both {
    let Some(v) = s.value else {
        return Both::new("value unreadable", "值读不到");
    };
    let mut en = vec![];
    let mut zh = vec![];
    if s.locked == Some(true) {
        en.push("locked".to_string());
        zh.push("已加锁".to_string());
    } else {
        en.push("not locked".to_string());
        zh.push("未加锁".to_string());
    }
    if s.pending == Some(true) {
        en.push("a waiter pending".into());
        zh.push("有一个等待者置了 pending 位".into());
    }
    if let Some(c) = s.queued_cpu {
        en.push(format!("CPU {c} queued"));
        zh.push(format!("CPU {c} 在队列中等待"));
    }
    Both::new(
        format!("value {v:#x}: {}", en.join(", ")),
        format!("值为 {v:#x}，{}", zh.join("，")),
    )
}

fn holder_words(s: &SpinlockWait) -> Both {
    match &s.holder {
        Holder::Cpu {
            cpu,
            pid,
            comm,
            function,
            at,
        } => {
            let (at_en, at_zh) = match at {
                Some(a) => (
                    format!(" (it was in {a} when the dump was taken)"),
                    format!("（转储时它正执行到 {a}）"),
                ),
                None => (String::new(), String::new()),
            };
            let task = match (comm, pid) {
                (Some(c), Some(p)) => format!(" (task \"{c}\", PID {p})"),
                _ => String::new(),
            };
            let task_zh = match (comm, pid) {
                (Some(c), Some(p)) => format!("（任务 \"{c}\"，PID {p}）"),
                _ => String::new(),
            };
            let f = function.display();
            Both::new(
                format!("CPU {cpu}{task} holds it: its stack is inside {f}, which takes this lock{at_en}."),
                format!("持有者是 CPU {cpu}{task_zh}：它的栈正停在会获取这把锁的 {f} 中{at_zh}。"),
            )
        }
        Holder::NoCpu { taken_by } => {
            let f = list(taken_by);
            Both::new(
                format!("No CPU holds it: taken and never released by {f} — the lock is held, yet no CPU's stack is inside a function that takes it ({} functions disassembled), so the code that took it returned without spin_unlock().", s.functions_scanned),
                format!("没有任何 CPU 持有它：这把锁由 {f} 获取后从未释放——锁处于加锁状态，但没有哪个 CPU 的栈停在会获取它的函数里（共反汇编了 {} 个函数），说明获取它的代码没有调用 spin_unlock() 就返回了。", s.functions_scanned),
            )
        }
        Holder::Unknown => Both::new(
            "Who holds it could not be told: no function found in the dump takes this lock by its address.",
            "无法判断持有者：在 dump 中没有找到按这个地址获取该锁的函数。",
        ),
    }
}

fn found_words(s: &SpinlockWait) -> Both {
    let regs = s
        .registers
        .iter()
        .map(|r| r.to_uppercase())
        .collect::<Vec<_>>()
        .join("/");
    let mut en = String::new();
    let mut zh = String::new();
    if !regs.is_empty() {
        let _ = write!(
            en,
            "The lock address is the slow path's first argument, still in {regs} of the exception frame at {}",
            s.slowpath
        );
        let _ = write!(
            zh,
            "锁地址是慢路径函数的第一个参数，在 {} 的异常栈帧中仍保存在 {regs} 里",
            s.slowpath
        );
        if let Some(c) = &s.call_site {
            let _ = write!(en, ", and the waiter passed the same one ({c})");
            let _ = write!(zh, "，等待者调用时传入的也是它（{c}）");
        }
    } else if let Some(c) = &s.call_site {
        let _ = write!(en, "The lock address is what the waiter passed ({c})");
        let _ = write!(zh, "锁地址取自等待者调用时传入的参数（{c}）");
    }
    Both::new(format!("{en}."), format!("{zh}。"))
}

pub fn words(_v: &Verdict, d: &Lockup) -> ClassWords {
    let cpu = d.cpu.map(|c| c.to_string()).unwrap_or_else(|| "?".into());
    let secs = d
        .seconds
        .map(|s| (format!(" for {s} s"), format!("{s} 秒")))
        .unwrap_or_default();
    let task = match (&d.comm, d.pid) {
        (Some(c), Some(p)) => (
            format!(", running task \"{c}\" (PID {p}),"),
            format!("，当时运行的是任务 \"{c}\"（PID {p}）"),
        ),
        _ => Default::default(),
    };
    let at = d.interrupted_at.clone().unwrap_or_else(|| "?".into());
    let mut narrative = Vec::new();
    let mut evidence = Vec::new();
    let irq = match d.interrupts_off {
        Some(true) => Both::new(
            " with interrupts off (EFLAGS.IF clear)",
            "，并且是关中断的（EFLAGS.IF 为 0）",
        ),
        _ => Both::default(),
    };
    match (&d.spinlock, d.detector) {
        (Some(s), _) => {
            let waiter = s
                .waiter
                .as_ref()
                .map(FuncRef::display)
                .unwrap_or_else(|| "?".into());
            let lock = lock_name(s);
            let who_zh = match (&d.comm, d.pid) {
                (Some(c), Some(p)) => format!("（当时运行任务 \"{c}\"，PID {p}）"),
                _ => String::new(),
            };
            let secs_zh = d
                .seconds
                .map(|x| format!(" {x} 秒"))
                .unwrap_or_else(|| "很久".into());
            narrative.push(Both::new(
                format!("The kernel crashed on a soft lockup: CPU {cpu}{} spun{} in {} waiting for the spinlock {lock}, which {waiter} tried to take.", task.0, secs.0, s.slowpath),
                format!("内核因 soft lockup 崩溃：CPU {cpu}{who_zh}在 {} 中自旋了{secs_zh}，等待自旋锁 {lock}，这是 {waiter} 想要获取的锁。", s.slowpath),
            ));
            let vw = value_words(s);
            narrative.push(Both::new(
                format!(
                    "The lock is {} ({}).",
                    if s.locked == Some(true) {
                        "held"
                    } else {
                        "not held now"
                    },
                    vw.en
                ),
                format!(
                    "这把锁{}（{}）。",
                    if s.locked == Some(true) {
                        "仍被占用"
                    } else {
                        "目前未被占用"
                    },
                    vw.zh
                ),
            ));
            narrative.push(holder_words(s));
            evidence.push(("register", found_words(s)));
            evidence.push((
                "memory",
                Both::new(
                    format!("The lock word at {:#x}: {}.", s.address, vw.en),
                    format!("{:#x} 处的锁：{}。", s.address, vw.zh),
                ),
            ));
            if !s.takers.is_empty() {
                evidence.push((
                    "instruction",
                    Both::new(
                        format!("Functions that take this lock (a call to a spin lock function with its address in RDI): {}.", list(&s.takers)),
                        format!("会获取这把锁的函数（调用自旋锁函数时 RDI 为该地址）：{}。", list(&s.takers)),
                    ),
                ));
            }
            evidence.push((
                "backtrace",
                Both::new(
                    format!("CPU {cpu}'s stack: {} called by {waiter}.", s.slowpath),
                    format!("CPU {cpu} 的栈：{} 由 {waiter} 调用。", s.slowpath),
                ),
            ));
        }
        (None, Detector::Soft) => {
            let f = d
                .looping
                .as_ref()
                .map(FuncRef::display)
                .unwrap_or_else(|| "?".into());
            narrative.push(Both::new(
                format!("The kernel crashed on a soft lockup: CPU {cpu}{} ran kernel code{} without scheduling, looping in {f} (interrupted at {at}){} — a loop with preemption off that never yields the CPU.", task.0, secs.0, irq.en),
                format!("内核因 soft lockup 崩溃：CPU {cpu}{} 在内核态运行了{}都没有调度，一直在 {f} 中循环（被中断在 {at}）{}——这是一个关抢占、从不让出 CPU 的循环。", task.1, if secs.1.is_empty() { "很久".to_string() } else { secs.1.clone() }, irq.zh),
            ));
            narrative.push(Both::new(
                "It waits for no spinlock: the interrupted code is not a lock's slow path.",
                "它并不是在等待自旋锁：被中断的代码不在锁的慢路径中。",
            ));
            evidence.push((
                "backtrace",
                Both::new(
                    format!("CPU {cpu} was interrupted at {at}."),
                    format!("CPU {cpu} 被中断在 {at}。"),
                ),
            ));
        }
        (None, Detector::Hard) => {
            let f = d
                .looping
                .as_ref()
                .map(FuncRef::display)
                .unwrap_or_else(|| "?".into());
            narrative.push(Both::new(
                format!("The kernel crashed on a hard lockup: CPU {cpu}{} took no timer interrupt for longer than the watchdog threshold, looping in {f} (interrupted by the NMI at {at}){} — a loop with interrupts off.", task.0, irq.en),
                format!("内核因 hard lockup 崩溃：CPU {cpu}{} 超过看门狗阈值都没有响应时钟中断，一直在 {f} 中循环（NMI 打断在 {at}）{}——这是一个关中断的循环。", task.1, irq.zh),
            ));
        }
    }
    if d.interrupts_off == Some(false) {
        evidence.push((
            "register",
            Both::new(
                "Interrupts were on in the interrupted context (EFLAGS.IF set): preemption, not interrupts, was off.",
                "被中断的上下文是开中断的（EFLAGS.IF 为 1）：关掉的是抢占，而不是中断。",
            ),
        ));
    }
    let mut next_steps = Vec::new();
    match d.spinlock.as_ref().map(|s| &s.holder) {
        Some(Holder::NoCpu { taken_by }) => next_steps.push(Both::new(
            format!("Read every return path of {} for a spin_lock() without its spin_unlock() (an early return or goto on an error path); lockdep (CONFIG_PROVE_LOCKING) reports \"lock held when returning to user space\" and similar at the moment it happens.", list(taken_by)),
            format!("逐一检查 {} 的所有返回路径，找出没有配对 spin_unlock() 的 spin_lock()（出错分支里的提前 return 或 goto）；打开 lockdep（CONFIG_PROVE_LOCKING）可以在问题发生的当下报告 \"lock held when returning to user space\" 之类的错误。", list(taken_by)),
        )),
        Some(Holder::Cpu { cpu, function, .. }) => next_steps.push(Both::new(
            format!("Look at CPU {cpu}'s backtrace (bt -a): why {} does not leave its critical section (a loop, a wait for something that needs this CPU, a lock taken in the opposite order).", function.display()),
            format!("查看 CPU {cpu} 的调用栈（bt -a），弄清 {} 为什么一直没有离开临界区（死循环、等待需要本 CPU 才能完成的事情，或者以相反顺序获取了另一把锁）。", function.display()),
        )),
        Some(Holder::Unknown) => next_steps.push(Both::new(
            "Find who takes the lock (the structure that contains it, its users in the source) and whether one of them can return or sleep with it held.",
            "查清这把锁由谁获取（包含它的结构体、源码中的使用者），以及其中是否有路径在持锁时返回或睡眠。",
        )),
        None => next_steps.push(Both::new(
            "Make the loop bounded or let it yield: cond_resched() in long kernel loops, no unbounded polling with preemption or interrupts off.",
            "让循环有上限或主动让出 CPU：在耗时长的内核循环中调用 cond_resched()，不要在关抢占或关中断的情况下无限轮询。",
        )),
    }
    ClassWords {
        narrative,
        evidence,
        next_steps,
    }
}

pub fn section(d: &Lockup, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let mut s = String::new();
    let l = |en: &'static str, z: &'static str| if zh { z } else { en };
    let _ = writeln!(
        s,
        "{}: {}",
        l("DETECTOR", "检测器"),
        match d.detector {
            Detector::Soft => "soft lockup",
            Detector::Hard => "hard lockup (NMI watchdog)",
        }
    );
    let _ = writeln!(
        s,
        "{}: {}{}",
        l("CPU", "CPU"),
        d.cpu.map(|c| c.to_string()).unwrap_or_else(|| "?".into()),
        d.seconds
            .map(|x| if zh {
                format!("（卡住 {x} 秒）")
            } else {
                format!(" (stuck for {x} s)")
            })
            .unwrap_or_default()
    );
    if let (Some(c), Some(p)) = (&d.comm, d.pid) {
        let _ = writeln!(s, "{}: \"{c}\" PID {p}", l("TASK", "任务"));
    }
    if let Some(a) = &d.interrupted_at {
        let _ = writeln!(s, "{}: {a}", l("INTERRUPTED AT", "被中断处"));
    }
    if let Some(off) = d.interrupts_off {
        let _ = writeln!(
            s,
            "{}: {}",
            l("INTERRUPTS", "中断"),
            match (off, zh) {
                (true, false) => "off (EFLAGS.IF clear)",
                (false, false) => "on (EFLAGS.IF set)",
                (true, true) => "关闭（EFLAGS.IF 为 0）",
                (false, true) => "开启（EFLAGS.IF 为 1）",
            }
        );
    }
    if let Some(f) = &d.looping {
        let _ = writeln!(s, "{}: {}", l("LOOPING IN", "循环所在函数"), f.display());
    }
    if let Some(w) = &d.spinlock {
        let _ = writeln!(s, "{}: {}", l("SPINLOCK", "自旋锁"), lock_name(w));
        let _ = writeln!(s, "  {}: {}", l("value", "值"), value_words(w).get(lang));
        if !w.registers.is_empty() {
            let _ = writeln!(
                s,
                "  {}: {} @ {}",
                l("in registers", "所在寄存器"),
                w.registers.join(", "),
                w.slowpath
            );
        }
        if let Some(c) = &w.call_site {
            let _ = writeln!(s, "  {}: {c}", l("passed by", "传入处"));
        }
        if !w.takers.is_empty() {
            let _ = writeln!(s, "  {}: {}", l("taken by", "获取者"), list(&w.takers));
        }
        let _ = writeln!(
            s,
            "  {}: {}",
            l("holder", "持有者"),
            holder_words(w).get(lang)
        );
    }
    s
}

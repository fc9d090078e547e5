//! An RCU stall in words: which CPUs and tasks held up the grace period, and what the stalled
//! CPU was running.

use super::ClassWords;
use crate::analysis::classes::lockup::FuncRef;
use crate::analysis::classes::rcu::RcuStall;
use crate::analysis::verdict::Verdict;
use crate::render::verdict::Both;
use crate::render::Lang;
use std::fmt::Write;

fn cpus(d: &RcuStall) -> String {
    d.cpus
        .iter()
        .map(|c| c.cpu.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn words(_v: &Verdict, d: &RcuStall) -> ClassWords {
    let mut narrative = Vec::new();
    let mut evidence = Vec::new();
    let list = cpus(d);
    let how = if d.self_detected {
        Both::new(
            "the stalled CPU reported itself".to_string(),
            "由停滞的 CPU 自己检测并报告".to_string(),
        )
    } else {
        match d.detected_by {
            Some(c) => Both::new(format!("CPU {c} detected it"), format!("由 CPU {c} 检测到")),
            None => Both::new("another CPU detected it", "由其他 CPU 检测到"),
        }
    };
    let jf = d
        .jiffies
        .map(|j| {
            (
                format!(" after {j} jiffies"),
                format!("，宽限期已持续 {j} 个 jiffies"),
            )
        })
        .unwrap_or_default();
    let who = if list.is_empty() {
        Both::new("tasks".to_string(), "任务".to_string())
    } else {
        Both::new(format!("CPU {list}"), format!("CPU {list}"))
    };
    narrative.push(Both::new(
        format!("The kernel panicked on an RCU CPU stall ({} grace period, panic_on_rcu_stall): {} did not pass through a quiescent state{} — {}.", d.flavor, who.en, jf.0, how.en),
        format!("内核因 RCU CPU 停滞（RCU stall）而 panic（{} 宽限期，设置了 panic_on_rcu_stall）：{} 一直没有经过静止状态{}，{}。", d.flavor, who.zh, jf.1, how.zh),
    ));
    for c in &d.cpus {
        let task = match (&c.comm, c.pid) {
            (Some(n), Some(p)) => (
                format!(", running task \"{n}\" (PID {p}),"),
                format!("上运行的是任务 \"{n}\"（PID {p}），"),
            ),
            _ => Default::default(),
        };
        match (&c.function, &c.interrupted_at) {
            (Some(f), Some(at)) => {
                let irq = if c.interrupts_off == Some(true) {
                    (" with interrupts off", "而且是关中断的")
                } else {
                    ("", "")
                };
                narrative.push(Both::new(
                    format!("CPU {}{} was looping in {} (interrupted at {at}){}: code that neither schedules nor leaves its RCU read-side critical section keeps the grace period from ending.", c.cpu, task.0, f.display(), irq.0),
                    format!("CPU {} {}一直在 {} 中循环（被中断在 {at}）{}：既不调度、也不退出 RCU 读临界区的代码会让宽限期无法结束。", c.cpu, task.1, f.display(), irq.1),
                ));
                evidence.push((
                    "backtrace",
                    Both::new(
                        format!("CPU {}'s backtrace: {}.", c.cpu, c.backtrace.join(" < ")),
                        format!("CPU {} 的调用栈：{}。", c.cpu, c.backtrace.join(" < ")),
                    ),
                ));
            }
            _ => narrative.push(Both::new(
                format!(
                    "What CPU {} was running could not be read from its backtrace.",
                    c.cpu
                ),
                format!("无法从 CPU {} 的调用栈读出它当时在运行什么。", c.cpu),
            )),
        }
    }
    if !d.blocked_tasks.is_empty() {
        let p = d
            .blocked_tasks
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        narrative.push(Both::new(
            format!("Preempted readers block the grace period too: PID {p}."),
            format!("被抢占的读者也在阻塞宽限期：PID {p}。"),
        ));
    }
    for l in d.report.iter().take(4) {
        evidence.push((
            "log",
            Both::new(
                format!("The stall report: \"{l}\"."),
                format!("停滞报告：\"{l}\"。"),
            ),
        ));
    }
    let f = d
        .cpus
        .iter()
        .find_map(|c| c.function.as_ref())
        .map(FuncRef::display)
        .unwrap_or_else(|| "the looping code".into());
    let next_steps = vec![
        Both::new(
            format!("Find the loop in {f} that runs with preemption off or inside rcu_read_lock() without an end: bound it, or release the read lock and call cond_resched() between iterations."),
            format!("找出 {f} 中关抢占或在 rcu_read_lock() 内运行而没有尽头的循环：给它加上限，或在每轮之间释放读锁并调用 cond_resched()。"),
        ),
        Both::new(
            "The stall timeout is rcupdate.rcu_cpu_stall_timeout (seconds); without kernel.panic_on_rcu_stall=1 the kernel only warns, and the same report then repeats in the log.",
            "停滞超时时间由 rcupdate.rcu_cpu_stall_timeout（秒）控制；不设置 kernel.panic_on_rcu_stall=1 时内核只告警，同样的报告会在日志中反复出现。",
        ),
    ];
    ClassWords {
        narrative,
        evidence,
        next_steps,
    }
}

pub fn section(d: &RcuStall, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let l = |en: &'static str, z: &'static str| if zh { z } else { en };
    let mut s = String::new();
    let _ = writeln!(s, "{}: {}", l("FLAVOR", "RCU 类型"), d.flavor);
    let _ = writeln!(
        s,
        "{}: {}",
        l("DETECTED", "检测方式"),
        match (d.self_detected, d.detected_by, zh) {
            (true, _, false) => "self-detected by the stalled CPU".to_string(),
            (true, _, true) => "停滞的 CPU 自己检测到".to_string(),
            (false, Some(c), false) => format!("by CPU {c}"),
            (false, Some(c), true) => format!("由 CPU {c} 检测到"),
            (false, None, _) => "?".to_string(),
        }
    );
    if let Some(j) = d.jiffies {
        let _ = writeln!(
            s,
            "{}: {j}",
            l("GRACE PERIOD AGE (jiffies)", "宽限期已持续（jiffies）")
        );
    }
    for c in &d.cpus {
        let _ = writeln!(
            s,
            "{} {}: {}",
            l("STALLED CPU", "停滞的 CPU"),
            c.cpu,
            c.detail
        );
        if let (Some(n), Some(p)) = (&c.comm, c.pid) {
            let _ = writeln!(s, "  {}: \"{n}\" PID {p}", l("task", "任务"));
        }
        if let Some(a) = &c.interrupted_at {
            let _ = writeln!(s, "  {}: {a}", l("interrupted at", "被中断处"));
        }
        if let Some(off) = c.interrupts_off {
            let _ = writeln!(
                s,
                "  {}: {}",
                l("interrupts", "中断"),
                if off {
                    l("off", "关闭")
                } else {
                    l("on", "开启")
                }
            );
        }
        for f in &c.backtrace {
            let _ = writeln!(s, "    {f}");
        }
    }
    if !d.blocked_tasks.is_empty() {
        let _ = writeln!(
            s,
            "{}: {}",
            l("BLOCKED TASKS", "阻塞宽限期的任务"),
            d.blocked_tasks
                .iter()
                .map(|p| format!("PID {p}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s
}

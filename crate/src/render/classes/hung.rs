//! Hung tasks in words: who is in D state, what each waits for and who owns it, the deadlock
//! when the waits form a cycle, or the owner that never let go; and the section an engineer
//! would build with crash (`ps -m | grep UN`, `bt PID`, `struct mutex`), plus the lock table
//! and the wait-for graph.

use super::ClassWords;
use crate::analysis::classes::hung::{HungCompletion, HungLock, HungTask, HungTasks, WaitKind};
use crate::analysis::verdict::Verdict;
use crate::kernel::locks::{FoundBy, LockKind, Owner};
use crate::render::verdict::Both;
use crate::render::Lang;
use std::fmt::Write;

fn task_name(t: &HungTask) -> String {
    format!("{}:{}", t.comm, t.pid)
}

fn task_by_pid(f: &HungTasks, pid: i32) -> Option<&HungTask> {
    f.tasks.iter().find(|t| t.pid == pid)
}

/// `lab_lock_a [crashlens_lab]`, else `the mutex at 0x...`.
fn lock_name(l: &HungLock) -> Both {
    match &l.symbol {
        Some(s) => {
            let n = func_name(s);
            Both::new(
                format!("the {} {n}", kind_en(l.kind)),
                format!("{}{n}", kind_zh(l.kind)),
            )
        }
        None => at_address(
            kind_en(l.kind),
            kind_zh(l.kind).trim_end(),
            l.addr,
            l.container.as_ref(),
        ),
    }
}

/// `the KIND at 0x...`, with the slab object that holds it when it was found (its member
/// when BTF names it). `zh` is the Chinese name as it follows 处的.
fn at_address(en: &str, zh: &str, addr: u64, c: Option<&crate::kernel::locks::Container>) -> Both {
    match c {
        Some(c) => {
            let (me, mz) = match &c.member {
                Some(m) => (format!(" ({m})"), format!("（{m}）")),
                None => (String::new(), String::new()),
            };
            Both::new(
                format!(
                    "the {en} at {addr:#x}{me}, at offset {:#x} of a {} slab object at {:#x}",
                    c.offset, c.cache, c.object
                ),
                format!(
                    "地址 {addr:#x} 处的{zh}{mz}，位于 {} slab 对象 {:#x} 的偏移 {:#x} 处",
                    c.cache, c.object, c.offset
                ),
            )
        }
        None => Both::new(
            format!("the {en} at {addr:#x}"),
            format!("地址 {addr:#x} 处的{zh}"),
        ),
    }
}

fn func_name(f: &crate::analysis::classes::hung::FuncRef) -> String {
    match &f.module {
        Some(m) => format!("{} [{m}]", f.function),
        None => f.function.clone(),
    }
}

/// `the completion lab_done [crashlens_lab]`, else where it is.
fn completion_name(c: &HungCompletion) -> Both {
    match &c.symbol {
        Some(s) => {
            let n = func_name(s);
            Both::new(format!("the completion {n}"), format!("completion {n}"))
        }
        None => at_address("completion", " completion", c.addr, c.container.as_ref()),
    }
}

/// Who waits for a completion, and what the code says about who completes it.
fn completion_words(f: &HungTasks, c: &HungCompletion) -> Both {
    let waiters: Vec<String> = c
        .waiters
        .iter()
        .filter_map(|&p| task_by_pid(f, p))
        .map(task_name)
        .collect();
    let n = completion_name(c);
    let short = c
        .symbol
        .as_ref()
        .map(|s| s.function.clone())
        .unwrap_or_else(|| format!("{:#x}", c.addr));
    let verb = if waiters.len() == 1 { "waits" } else { "wait" };
    let all = if waiters.len() == 1 { "" } else { "都" };
    // The code that waits: the waiters' caller of the wait (the same for all, or the first's).
    let caller = c
        .waiters
        .iter()
        .filter_map(|&p| task_by_pid(f, p)?.caller.as_ref())
        .next()
        .map(|cf| {
            let n = func_name(cf);
            (format!(", called from {n},"), format!("{n} 调用的 "))
        })
        .unwrap_or_default();
    let mut en = format!(
        "{} {verb} in wait_for_completion(){} for {} ({:#x}; done = {}: nobody has called complete() on it since). A completion records no owner, so the dump cannot say which task should have completed it",
        waiters.join(", "),
        caller.0,
        n.en,
        c.addr,
        c.done
    );
    let mut zh = format!(
        "{} {all}在 {}wait_for_completion() 中等待 {}（地址 {:#x}，done = {}：此后没有人对它调用过 complete()）。completion 不记录持有者，所以 dump 无法说明应该由哪个任务来完成它",
        waiters.join("、"),
        caller.1,
        n.zh,
        c.addr,
        c.done
    );
    let where_ = c
        .symbol
        .as_ref()
        .and_then(|s| s.module.clone())
        .map(|m| {
            (
                format!("no function of {m} nor any on the stacks"),
                format!("{m} 模块的函数和各调用栈上的函数都没有"),
            )
        })
        .unwrap_or_else(|| {
            (
                "no function on the stacks".to_string(),
                "各调用栈上的函数都没有".to_string(),
            )
        });
    if c.completers.is_empty() {
        let _ = write!(
            en,
            "; and {} calls complete() on it by its address ({} functions disassembled): it is completed through a pointer, or by nothing.",
            where_.0, c.functions_scanned
        );
        let _ = write!(
            zh,
            "；而且{}直接以它的地址调用 complete()（反汇编了 {} 个函数）：它要么经由指针被完成，要么根本没有代码完成它。",
            where_.1, c.functions_scanned
        );
    } else {
        let names: Vec<String> = c.completers.iter().map(func_name).collect();
        let running: Vec<String> = c
            .completers_running
            .iter()
            .map(|p| {
                task_by_pid(f, *p as i32)
                    .map(task_name)
                    .unwrap_or_else(|| format!("PID {p}"))
            })
            .collect();
        let only = if names.len() == 1 { "only " } else { "" };
        let _ = write!(
            en,
            "; what the code says: complete() on {short} is called {only}from {}",
            names.join(", ")
        );
        let _ = write!(
            zh,
            "；从代码看：{}会对 {short} 调用 complete()",
            if names.len() == 1 {
                format!("只有 {} ", names[0])
            } else {
                format!("{} ", names.join("、"))
            }
        );
        if running.is_empty() {
            en.push_str(", and no CPU or blocked task is running it — find out why that code never ran (a worker that was not started, an event or interrupt that never came).");
            zh.push_str("，而没有任何 CPU 或被阻塞的任务正在执行它——应查明这段代码为什么一直没有运行（例如负责完成它的工作线程没有启动，或者等待的事件/中断始终没有到来）。");
        } else {
            let _ = write!(
                en,
                ", and {} {} inside it: see why it does not get to complete() (its backtrace is below).",
                running.join(", "),
                if running.len() == 1 { "is" } else { "are" }
            );
            let _ = write!(
                zh,
                "，而 {} 正停在其中：应查看它为什么迟迟执行不到 complete()（调用栈见下）。",
                running.join("、")
            );
        }
    }
    Both::new(en, zh)
}

/// A task waiting for a page's lock (or another of its flag bits): which page, and that a page
/// lock records no owner.
fn page_words(t: &HungTask) -> Both {
    let Some(p) = &t.waits_page else {
        return Both::new("", "");
    };
    let w = t.wait_function.as_deref().unwrap_or("?");
    let (by, by_zh) = match &t.caller {
        Some(c) => (
            format!(", called from {},", func_name(c)),
            format!("{} 调用的 ", func_name(c)),
        ),
        None => (String::new(), String::new()),
    };
    let locked = p.flags.map(|f| f & 1 != 0);
    let (what, what_zh) = if p.bit_nr == 0 {
        (
            "the lock (PG_locked)".to_string(),
            "页锁（PG_locked）".to_string(),
        )
    } else {
        (
            format!("flag bit {}", p.bit_nr),
            format!("标志位 {}", p.bit_nr),
        )
    };
    let (st, st_zh) = match (p.bit_nr, locked, p.flags) {
        (0, Some(true), Some(f)) => (
            format!("; its flags {f:#x} have PG_locked set: the page is still locked"),
            format!("；其 flags 为 {f:#x}，PG_locked 仍置位：页仍处于加锁状态"),
        ),
        (_, _, Some(f)) => (
            format!("; its flags are {f:#x}"),
            format!("；其 flags 为 {f:#x}"),
        ),
        _ => (String::new(), String::new()),
    };
    Both::new(
        format!(
            "{} waits in {w}{by} for {what} of the page at pfn {:#x} (struct page {:#x}){st}. A page lock records no owner, so the dump cannot say who holds it: the code that locked the page (an I/O still in flight, or a path that returned or is waiting without unlock_page()) is not written in memory.",
            task_name(t),
            p.pfn,
            p.page
        ),
        format!(
            "{} 在 {by_zh}{w} 中等待 pfn {:#x}（struct page {:#x}）的{what_zh}{st_zh}。页锁不记录持有者，所以 dump 无法说明是谁持有它：锁住这个页的代码（仍在进行的 I/O，或者没有调用 unlock_page() 就返回或进入等待的路径）不会记录在内存里。",
            task_name(t),
            p.pfn,
            p.page
        ),
    )
}

/// The short name: the symbol, else the address.
fn lock_short(l: &HungLock) -> String {
    l.symbol
        .as_ref()
        .map(|s| s.function.clone())
        .unwrap_or_else(|| format!("{:#x}", l.addr))
}

fn kind_en(k: LockKind) -> &'static str {
    match k {
        LockKind::Mutex => "mutex",
        LockKind::RwSemaphore => "rw_semaphore",
        LockKind::Semaphore => "semaphore",
    }
}

fn kind_zh(k: LockKind) -> &'static str {
    match k {
        LockKind::Mutex => "互斥锁 ",
        LockKind::RwSemaphore => "读写信号量 ",
        LockKind::Semaphore => "信号量 ",
    }
}

/// What a task is doing, from its frames.
fn doing(t: &HungTask) -> Both {
    let w = t.wait_function.as_deref().unwrap_or("?");
    let by = match &t.caller {
        Some(c) => {
            let n = match &c.module {
                Some(m) => format!("{} [{m}]", c.function),
                None => c.function.clone(),
            };
            (format!(", called from {n}"), format!("（由 {n} 调用）"))
        }
        None => (String::new(), String::new()),
    };
    let (en, zh) = match t.waits_in {
        WaitKind::Mutex => ("waits for a mutex in", "等待互斥锁"),
        WaitKind::RwsemRead => (
            "waits to take an rw_semaphore for reading in",
            "等待以读方式获取读写信号量",
        ),
        WaitKind::RwsemWrite => (
            "waits to take an rw_semaphore for writing in",
            "等待以写方式获取读写信号量",
        ),
        WaitKind::Semaphore => ("waits for a semaphore in", "等待信号量"),
        WaitKind::Completion => ("waits for a completion in", "等待 completion"),
        WaitKind::PageLock => ("waits for a page lock in", "等待页锁"),
        WaitKind::Io => ("waits for I/O in", "等待 I/O"),
        WaitKind::Sleep => ("sleeps in", "睡眠"),
        WaitKind::Other => {
            let f = t
                .trace
                .frames
                .first()
                .and_then(|f| f.function.clone())
                .unwrap_or_else(|| "?".into());
            return Both::new(
                format!("is in {f} (its trace shows no known wait){}", by.0),
                format!("停在 {f}（调用栈中看不出是哪种等待）{}", by.1),
            );
        }
    };
    Both::new(
        format!("{en} {w}{}", by.0),
        format!("在 {w} 中{zh}{}", by.1),
    )
}

fn state_words(s: &str) -> Both {
    match s {
        "D" => Both::new("in D state", "处于 D 状态"),
        "R" => Both::new("running", "正在运行"),
        "S" => Both::new(
            "in S state (interruptible sleep)",
            "处于 S 状态（可中断睡眠）",
        ),
        o => Both::new(format!("in state {o}"), format!("处于 {o} 状态")),
    }
}

fn owner_words(f: &HungTasks, l: &HungLock) -> Both {
    match &l.owner {
        Owner::Task { readers: true, .. } => {
            let t = l.owner_pid.and_then(|p| task_by_pid(f, p));
            let n = t.map(task_name).unwrap_or_else(|| "?".into());
            Both::new(
                format!("held by readers (the last reader to take it was {n})"),
                format!("被读者持有（最后一个获取它的读者是 {n}）"),
            )
        }
        Owner::Task { .. } => {
            let n = l
                .owner_pid
                .and_then(|p| task_by_pid(f, p))
                .map(task_name)
                .unwrap_or_else(|| "?".into());
            Both::new(format!("owned by {n}"), format!("的持有者是 {n}"))
        }
        Owner::None => Both::new("with no owner recorded", "没有记录持有者"),
        Owner::NotATask { value } => Both::new(
            format!("whose owner word {value:#x} is not any task's address (the lock looks corrupted or freed)"),
            format!("其 owner 字段为 {value:#x}，不是任何任务的地址（锁可能已损坏或已被释放）"),
        ),
        Owner::Unreadable => Both::new(
            "whose owner could not be read",
            "其 owner 字段无法读取",
        ),
    }
}

fn found_words(l: &HungLock) -> Both {
    match l.found_by {
        FoundBy::Blocker => Both::new(
            "task_struct.blocker names it",
            "由 task_struct.blocker 字段得到",
        ),
        FoundBy::BlockedOn => Both::new(
            "task_struct.blocked_on names it",
            "由 task_struct.blocked_on 字段得到",
        ),
        FoundBy::StackWaiter => Both::new(
            "the waiter on the blocked task's stack is linked into its wait_list",
            "被阻塞任务栈上的 waiter 挂在它的 wait_list 上",
        ),
    }
}

pub fn words(_v: &Verdict, f: &HungTasks) -> ClassWords {
    let blocked: Vec<&HungTask> = f.tasks.iter().filter(|t| t.state == "D").collect();
    let secs = f
        .timeout_secs
        .map(|s| {
            (
                format!(" for more than {s} seconds"),
                format!("超过 {s} 秒"),
            )
        })
        .unwrap_or_default();
    let n = blocked.len() + f.not_examined;
    let mut narrative = vec![Both::new(
        format!("The hung-task detector (khungtaskd) found tasks that stayed in D state (uninterruptible sleep){} and, with hung_task_panic set, panicked the kernel; khungtaskd only reported them. The dump has {n} {} in D state.", secs.0, if n == 1 { "task" } else { "tasks" }),
        format!("内核的 hung task 检测线程 khungtaskd 发现有任务处于 D 状态（不可中断睡眠）{}，由于设置了 hung_task_panic，内核随即 panic；khungtaskd 只是报告者。dump 中共有 {n} 个 D 状态任务。", secs.1),
    )];
    if let Some(cy) = &f.deadlock {
        let mut en = format!(
            "This is a deadlock: {} tasks wait for each other in a cycle —",
            cy.len()
        );
        let mut zh = format!("这是死锁：{} 个任务互相等待，形成了环——", cy.len());
        for (i, s) in cy.iter().enumerate() {
            let t = task_by_pid(f, s.pid).map(task_name).unwrap_or_default();
            let (h, w) = (
                lock_name(&f.locks[s.holds]),
                lock_name(&f.locks[s.waits_for]),
            );
            let sep = if i == 0 { " " } else { "; " };
            let _ = write!(en, "{sep}task {t} holds {} and waits for {}", h.en, w.en);
            let sep = if i == 0 { "" } else { "；" };
            let _ = write!(zh, "{sep}任务 {t} 持有{}，同时在等待{}", h.zh, w.zh);
        }
        en.push_str(". None of them can ever run again.");
        zh.push_str("。它们都不可能再继续运行。");
        narrative.push(Both::new(en, zh));
    } else if let Some(r) = f.root_owner.and_then(|p| task_by_pid(f, p)) {
        let waiting: Vec<String> = f
            .tasks
            .iter()
            .filter(|t| {
                t.waits_for
                    .is_some_and(|l| f.locks[l].owner_pid == Some(r.pid))
            })
            .map(task_name)
            .collect();
        let held: Vec<String> = r.holds.iter().map(|&l| lock_name(&f.locks[l]).en).collect();
        let held_zh: Vec<String> = r.holds.iter().map(|&l| lock_name(&f.locks[l]).zh).collect();
        let (st, d) = (state_words(&r.state), doing(r));
        narrative.push(Both::new(
            format!("There is no cycle, so this is not a deadlock: {} {} for {}, and its owner {} is {} and {} — it never released the lock.", waiting.join(", "), if waiting.len() == 1 { "waits" } else { "wait" }, held.join(", "), task_name(r), st.en, d.en),
            format!("等待关系中没有环，所以不是死锁：{} 在等待{}，而持有者 {} {}，{}——它一直没有释放这把锁。", waiting.join("、"), held_zh.join("、"), task_name(r), st.zh, d.zh),
        ));
    } else {
        for t in blocked
            .iter()
            .filter(|t| t.waits_completion.is_none() && t.waits_page.is_none())
            .take(4)
        {
            let d = doing(t);
            narrative.push(Both::new(
                format!("Task {} {}.", task_name(t), d.en),
                format!("任务 {} {}。", task_name(t), d.zh),
            ));
        }
        for c in &f.completions {
            narrative.push(completion_words(f, c));
        }
        for t in blocked.iter().filter(|t| t.waits_page.is_some()) {
            narrative.push(page_words(t));
        }
        if blocked
            .iter()
            .any(|t| t.waits_completion.is_none() && t.waits_page.is_none())
        {
            narrative.push(Both::new(
                "No owner of a lock they wait for could be read, so what blocks them is not known from the dump.",
                "从 dump 中读不到它们所等待的锁的持有者，因此无法确定是谁阻塞了它们。",
            ));
        }
    }
    if !f.partial.is_empty() {
        narrative.push(Both::new(
            format!("Part of this is unknown: {}.", f.partial.join("; ")),
            format!("部分信息未能读出：{}。", f.partial.join("；")),
        ));
    }
    let mut evidence = Vec::new();
    // The first one is the log's crash report, already in the evidence.
    for r in f.reported.iter().skip(1) {
        let (c, p) = (&r.comm, r.pid);
        evidence.push((
            "log",
            Both::new(
                format!(
                    "The log reports \"INFO: task {c}:{p} blocked for more than {} seconds\".",
                    f.timeout_secs.unwrap_or(0)
                ),
                format!(
                    "日志中有 \"INFO: task {c}:{p} blocked for more than {} seconds\"。",
                    f.timeout_secs.unwrap_or(0)
                ),
            ),
        ));
    }
    for t in &f.tasks {
        let d = doing(t);
        let st = state_words(&t.state);
        let lock = t.waits_for.map(|l| lock_name(&f.locks[l])).or_else(|| {
            t.waits_completion
                .map(|c| completion_name(&f.completions[c]))
        });
        let (le, lz) = lock
            .map(|l| {
                (
                    format!("; the lock is {}", l.en),
                    format!("，等待的是{}", l.zh),
                )
            })
            .unwrap_or_default();
        evidence.push((
            "backtrace",
            Both::new(
                format!(
                    "{} is {}: its backtrace shows it {}{le}.",
                    task_name(t),
                    st.en,
                    d.en
                ),
                format!("{} {}：调用栈显示它{}{lz}。", task_name(t), st.zh, d.zh),
            ),
        ));
    }
    for l in &f.locks {
        let (n, o, fb) = (lock_name(l), owner_words(f, l), found_words(l));
        let cap = |s: &str| {
            let mut c = s.chars();
            c.next()
                .map(|x| x.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        };
        evidence.push((
            "memory",
            Both::new(
                format!("{} at {:#x} ({}) is {}.", cap(&n.en), l.addr, fb.en, o.en),
                format!("{}（地址 {:#x}，{}）{}。", n.zh, l.addr, fb.zh, o.zh),
            ),
        ));
    }
    let mut next_steps = Vec::new();
    if let Some(cy) = &f.deadlock {
        let names: Vec<String> = cy
            .iter()
            .map(|s| lock_short(&f.locks[s.waits_for]))
            .collect();
        next_steps.push(Both::new(
            format!("Fix the lock order: every path must take {} in one fixed order (or not hold one while taking the other).", names.join(" and ")),
            format!("修正加锁顺序：所有代码路径都必须按同一固定顺序获取 {}（或者在获取另一把锁时不持有这一把）。", names.join(" 和 ")),
        ));
        next_steps.push(Both::new(
            "Run the workload on a test kernel with lockdep (CONFIG_PROVE_LOCKING=y): it reports the inversion (\"possible circular locking dependency detected\") the first time both orders are seen, before anything hangs.",
            "在开启 lockdep（CONFIG_PROVE_LOCKING=y）的测试内核上复现：第一次同时出现两种加锁顺序时它就会报告 \"possible circular locking dependency detected\"，不必等到真正卡死。",
        ));
    } else if f.root_owner.is_none() && f.tasks.iter().any(|t| t.waits_page.is_some()) {
        next_steps.push(Both::new(
            "Find who locks this page and where it is unlocked: with crash, kmem -p on the struct page above shows its mapping and flags; a page lock held across a sleep, a second lock_page() of a page the task already locked, or I/O that never completes (check the device and its driver's log) keeps the page locked.",
            "查清是谁锁住了这个页、应在哪里解锁：在 crash 中对上面的 struct page 执行 kmem -p 可查看其 mapping 和 flags；持页锁睡眠、对自己已锁住的页再次 lock_page()，或者 I/O 一直未完成（检查设备及其驱动的日志），都会让页一直处于加锁状态。",
        ));
    } else if f.root_owner.is_none() && !f.completions.is_empty() {
        next_steps.push(Both::new(
            "Find the code that should complete it (the functions named above) and why it did not run: a worker or callback that was never started or failed early, an interrupt or reply that never came; a wait that may never end should be wait_for_completion_timeout() (or killable) with its error handled.",
            "找到本应完成它的代码（上面列出的函数），查明它为什么没有运行：负责的工作线程或回调从未启动或提前失败退出，或者等待的中断/应答始终没有到来；可能永远等不到的等待应改用 wait_for_completion_timeout()（或 killable 版本）并处理超时错误。",
        ));
    } else {
        next_steps.push(Both::new(
            "Look at the owner's backtrace below: a task must not sleep or wait for something slow (I/O, another lock, user space) while it holds a lock others need; release it first or bound the wait.",
            "查看下面持有者的调用栈：持有别人需要的锁时，任务不应睡眠或等待耗时的事情（I/O、其他锁、用户态）；应先释放锁，或给等待设置上限。",
        ));
    }
    next_steps.push(Both::new(
        "To confirm by hand with crash: ps -m | grep UN, bt PID of each task above, struct mutex ADDRESS (owner, with the low 3 bits masked) for each lock.",
        "如需用 crash 手工确认：ps -m | grep UN 找出 D 状态任务，逐个 bt PID 查看调用栈，再用 struct mutex 地址 查看每把锁（owner 字段去掉低 3 位即持有者）。",
    ));
    ClassWords {
        narrative,
        evidence,
        next_steps,
    }
}

/// Terminal columns of a cell: a CJK character takes two.
fn cols(s: &str) -> usize {
    s.chars().map(|c| if c >= '\u{2e80}' { 2 } else { 1 }).sum()
}

pub fn section(f: &HungTasks, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}",
        if zh {
            "D 状态的任务（ps -m | grep UN）："
        } else {
            "TASKS IN D STATE (ps -m | grep UN):"
        }
    );
    for t in f.tasks.iter().filter(|t| t.state == "D") {
        let _ = writeln!(
            s,
            "  [UN]  PID: {:<6}  TASK: {:016x}  CPU: {:<3}  COMMAND: \"{}\"{}",
            t.pid,
            t.task,
            t.trace.cpu,
            t.comm,
            if t.reported {
                if zh {
                    "  （日志已报告）"
                } else {
                    "  (reported by the log)"
                }
            } else {
                ""
            }
        );
    }
    if f.not_examined > 0 {
        let _ = writeln!(
            s,
            "  {}",
            if zh {
                format!("……另有 {} 个 D 状态任务未分析", f.not_examined)
            } else {
                format!("... and {} more in D state, not examined", f.not_examined)
            }
        );
    }
    let _ = writeln!(s);
    if !f.locks.is_empty() {
        let _ = writeln!(s, "{}", if zh { "锁：" } else { "LOCKS:" });
        let rows: Vec<[String; 5]> = f
            .locks
            .iter()
            .map(|l| {
                let name = l
                    .symbol
                    .as_ref()
                    .map(|x| match &x.module {
                        Some(m) => format!("{} [{m}]", x.function),
                        None => x.function.clone(),
                    })
                    .or_else(|| {
                        l.container.as_ref().map(|c| match &c.member {
                            Some(m) => m.clone(),
                            None => format!("{}+{:#x}", c.cache, c.offset),
                        })
                    })
                    .unwrap_or_else(|| "-".into());
                let owner = match &l.owner {
                    Owner::Task { readers, .. } => {
                        let n = l
                            .owner_pid
                            .and_then(|p| task_by_pid(f, p))
                            .map(task_name)
                            .unwrap_or_else(|| "?".into());
                        if *readers {
                            format!("{n} (reader)")
                        } else {
                            n
                        }
                    }
                    Owner::None => "-".into(),
                    Owner::NotATask { value } => format!("{value:#x}?"),
                    Owner::Unreadable => "?".into(),
                };
                let waiters = l
                    .waiters
                    .iter()
                    .filter_map(|&p| task_by_pid(f, p))
                    .map(task_name)
                    .collect::<Vec<_>>()
                    .join(" ");
                [
                    format!("{:016x}", l.addr),
                    kind_en(l.kind).to_string(),
                    name,
                    owner,
                    waiters,
                ]
            })
            .collect();
        let head: [&str; 5] = if zh {
            ["地址", "类型", "符号", "持有者", "等待者"]
        } else {
            ["ADDRESS", "TYPE", "SYMBOL", "OWNER", "WAITERS"]
        };
        let width = |i: usize| {
            rows.iter()
                .map(|r| cols(&r[i]))
                .chain(std::iter::once(cols(head[i])))
                .max()
                .unwrap_or(0)
        };
        let w: Vec<usize> = (0..5).map(width).collect();
        let line = |cells: [&str; 5]| {
            let mut l = String::from("  ");
            for (i, c) in cells.iter().enumerate() {
                let pad = w[i].saturating_sub(cols(c));
                l.push_str(c);
                if i < 4 {
                    l.push_str(&" ".repeat(pad + 2));
                }
            }
            l.trim_end().to_string()
        };
        let _ = writeln!(s, "{}", line(head));
        for r in &rows {
            let _ = writeln!(
                s,
                "{}",
                line([&r[0], &r[1], &r[2], &r[3], &r[4]].map(|x| x.as_str()))
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{}",
            if zh {
                "等待关系图："
            } else {
                "WAIT-FOR GRAPH:"
            }
        );
        for t in &f.tasks {
            if let Some(li) = t.waits_for {
                let l = &f.locks[li];
                let o = l
                    .owner_pid
                    .and_then(|p| task_by_pid(f, p))
                    .map(task_name)
                    .unwrap_or_else(|| match l.owner {
                        Owner::None => "(no owner)".into(),
                        _ => "(unknown owner)".into(),
                    });
                let _ = writeln!(s, "  {} --[{}]--> {}", task_name(t), lock_short(l), o);
            }
        }
        match &f.deadlock {
            Some(cy) => {
                let ring: Vec<String> = cy
                    .iter()
                    .filter_map(|c| task_by_pid(f, c.pid))
                    .map(task_name)
                    .collect();
                let _ = writeln!(
                    s,
                    "  {}{} -> {}",
                    if zh {
                        "死锁（环）："
                    } else {
                        "DEADLOCK (cycle): "
                    },
                    ring.join(" -> "),
                    ring.first().cloned().unwrap_or_default()
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "  {}",
                    if zh {
                        "没有环（不是死锁）"
                    } else {
                        "no cycle (not a deadlock)"
                    }
                );
            }
        }
        let _ = writeln!(s);
    }
    if !f.completions.is_empty() {
        let _ = writeln!(s, "{}", if zh { "COMPLETION：" } else { "COMPLETIONS:" });
        for c in &f.completions {
            let name = c
                .symbol
                .as_ref()
                .map(func_name)
                .or_else(|| {
                    c.container.as_ref().map(|o| match &o.member {
                        Some(m) => m.clone(),
                        None => format!("{}+{:#x}", o.cache, o.offset),
                    })
                })
                .unwrap_or_else(|| "-".into());
            let waiters: Vec<String> = c
                .waiters
                .iter()
                .filter_map(|&p| task_by_pid(f, p))
                .map(task_name)
                .collect();
            let by: Vec<String> = c.completers.iter().map(func_name).collect();
            let _ = writeln!(
                s,
                "  {:016x}  {name}  done={}  {} {}  {} {}",
                c.addr,
                c.done,
                if zh { "等待者" } else { "waiters" },
                waiters.join(" "),
                if zh {
                    "complete() 调用者"
                } else {
                    "complete() called from"
                },
                if by.is_empty() {
                    "-".to_string()
                } else {
                    by.join(" ")
                }
            );
        }
        let _ = writeln!(s);
    }
    for t in &f.tasks {
        let st = state_words(&t.state);
        let (n, d) = (task_name(t), doing(t));
        let _ = if zh {
            writeln!(s, "任务 {n}（{}）：{}", st.zh, d.zh)
        } else {
            writeln!(s, "TASK {n} ({}) — {}", st.en, d.en)
        };
        if let Some(p) = &t.waits_page {
            let flags = p
                .flags
                .map(|f| format!("{f:#x}"))
                .unwrap_or_else(|| "?".into());
            let _ = writeln!(
                s,
                "{}pfn {:#x}  struct page {:#x}  bit_nr {}  flags {flags}",
                if zh {
                    "等待的页："
                } else {
                    "WAITS FOR PAGE: "
                },
                p.pfn,
                p.page,
                p.bit_nr
            );
        }
        s.push_str(&crate::render::bt::render(&t.trace));
        let _ = writeln!(s);
    }
    if !f.partial.is_empty() {
        let _ = writeln!(s, "{}", if zh { "未能读出：" } else { "NOT READ:" });
        for p in &f.partial {
            let _ = writeln!(s, "  {p}");
        }
    }
    s
}

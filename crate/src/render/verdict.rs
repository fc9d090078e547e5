//! The verdict in words, English and Simplified Chinese side by side, from the typed verdict
//! (`analysis::verdict`): the narrative, the culprit's reason, the evidence and the next steps.
//! The Chinese is written as a Chinese kernel engineer writes a crash analysis, not word for
//! word; both languages say the same things.

use super::Lang;
use crate::analysis::model::{Confidence, CrashClass, Fault};
use crate::analysis::verdict::{
    Culprit, CulpritRule, Fact, Func, Provenance, Taint, Trigger, Unread, Verdict,
};
use crate::report::Report;

/// One text in both languages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Both {
    pub en: String,
    pub zh: String,
}

impl Both {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Both {
        Both {
            en: en.into(),
            zh: zh.into(),
        }
    }
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

/// The words of a verdict.
#[derive(Debug, Clone, Default)]
pub struct Words {
    pub narrative: Both,
    pub next_steps: Vec<Both>,
    /// The culprit's one-line reason, with the advice.
    pub reason: Option<Both>,
    /// Each fact with its source.
    pub evidence: Vec<(&'static str, Both)>,
}

const ORD_EN: [&str; 6] = ["first", "second", "third", "fourth", "fifth", "sixth"];
const ORD_ZH: [&str; 6] = ["第一个", "第二个", "第三个", "第四个", "第五个", "第六个"];

/// Each crash class in both languages.
static CLASS: &[(CrashClass, &str, &str)] = &[
    (
        CrashClass::NullDeref,
        "a NULL pointer dereference",
        "空指针解引用",
    ),
    (
        CrashClass::Poison,
        "an access through a poisoned pointer (a list entry or object used after it was deleted)",
        "访问了带有 poison 标记的指针（通常是链表节点或对象删除后仍被使用）",
    ),
    (
        CrashClass::UseAfterFree,
        "a use-after-free (the pointer holds slab poison 0x6b6b...)",
        "释放后使用（use-after-free，指针内容是 slab 的 0x6b6b... 毒化值）",
    ),
    (
        CrashClass::NonCanonical,
        "a general protection fault on a non-canonical (garbage) pointer",
        "访问非规范地址引发的一般保护错误（GPF，指针已被踩坏）",
    ),
    (
        CrashClass::WildPointer,
        "an access through an invalid pointer",
        "野指针访问",
    ),
    (
        CrashClass::Bug,
        "a BUG() assertion that failed",
        "BUG() 断言失败",
    ),
    (
        CrashClass::Warning,
        "a WARNING turned into a panic (panic_on_warn)",
        "WARNING 告警（设置了 panic_on_warn，告警直接转为 panic）",
    ),
    (
        CrashClass::DivideError,
        "a divide error (division by zero)",
        "除法错误（除数为零）",
    ),
    (CrashClass::InvalidOpcode, "an invalid opcode", "非法指令"),
    (
        CrashClass::StackOverflow,
        "a kernel stack overflow (double fault)",
        "内核栈溢出（double fault）",
    ),
    (
        CrashClass::StackCorruption,
        "stack corruption detected by the stack protector",
        "栈保护（stack protector）检测到栈被破坏",
    ),
    (CrashClass::Lockup, "a CPU lockup", "CPU 死锁（lockup）"),
    (
        CrashClass::HungTask,
        "a hung task",
        "任务长时间挂起（hung task）",
    ),
    (
        CrashClass::Oom,
        "an out-of-memory panic",
        "内存耗尽（OOM）导致的 panic",
    ),
    (
        CrashClass::Sysrq,
        "a crash deliberately triggered through sysrq",
        "通过 sysrq 人为触发的崩溃",
    ),
    (
        CrashClass::InitDeath,
        "the death of init (PID 1)",
        "init 进程（PID 1）退出",
    ),
    (
        CrashClass::RcuStall,
        "an RCU CPU stall",
        "RCU CPU 停滞（RCU stall）",
    ),
    (
        CrashClass::ListCorruption,
        "list corruption detected by CONFIG_DEBUG_LIST",
        "链表检查（CONFIG_DEBUG_LIST）发现链表被破坏",
    ),
    (
        CrashClass::BadPage,
        "a bad page state detected by the page allocator",
        "页分配器发现页状态异常（Bad page state）",
    ),
    (
        CrashClass::SlabCorruption,
        "slab corruption detected by SLUB's debug checks",
        "SLUB 调试检查发现 slab 对象被破坏",
    ),
    (
        CrashClass::MachineCheck,
        "a hardware machine check",
        "硬件机器检查异常（MCE）",
    ),
    (CrashClass::Panic, "a kernel panic", "内核 panic"),
    (
        CrashClass::Unknown,
        "a crash of unknown kind",
        "类型未知的崩溃",
    ),
];

/// What could not be read, in both languages.
static UNREAD: &[(Unread, &str, &str)] = &[
    (Unread::Log, "the kernel log", "内核日志"),
    (
        Unread::NoCrashReport,
        "a crash report in the kernel log",
        "内核日志中的崩溃报告",
    ),
    (Unread::Symbols, "the kernel symbols", "内核符号表"),
    (Unread::Modules, "the module list", "模块列表"),
    (Unread::Btf, "the BTF type information", "BTF 类型信息"),
    (Unread::Stacks, "the CPUs' stacks", "CPU 的内核栈"),
    (
        Unread::FaultingCode,
        "the faulting function's code",
        "出错函数的代码",
    ),
    (Unread::Tasks, "the task list", "进程列表"),
    (
        Unread::CrashingCpu,
        "a CPU stopped in the crash",
        "停在崩溃现场的 CPU",
    ),
];

fn class_words(c: CrashClass) -> Both {
    CLASS
        .iter()
        .find(|(k, _, _)| *k == c)
        .map(|(_, en, zh)| Both::new(*en, *zh))
        .unwrap_or_default()
}

/// `the kernel log and the module list` / `内核日志、模块列表`.
pub fn unread_list(u: &[Unread]) -> Both {
    let pick = |i: usize| -> Vec<&str> {
        u.iter()
            .filter_map(|x| UNREAD.iter().find(|(k, _, _)| k == x))
            .map(|t| if i == 0 { t.1 } else { t.2 })
            .collect()
    };
    let en = pick(0);
    let en = match en.len() {
        0 => String::new(),
        1 => en[0].to_string(),
        n => format!("{} and {}", en[..n - 1].join(", "), en[n - 1]),
    };
    Both::new(en, pick(1).join("、"))
}

fn with_mod(name: &str, m: &Option<String>) -> String {
    match m {
        Some(m) => format!("{name} [{m}]"),
        None => name.to_string(),
    }
}

fn taint_words(t: &[Taint]) -> Both {
    if t.is_empty() {
        return Both::default();
    }
    let en: Vec<&str> = t
        .iter()
        .map(|t| match t {
            Taint::Proprietary => "proprietary",
            Taint::OutOfTree => "out-of-tree",
            Taint::Unsigned => "unsigned",
        })
        .collect();
    let zh: Vec<&str> = t
        .iter()
        .map(|t| match t {
            Taint::Proprietary => "专有",
            Taint::OutOfTree => "树外",
            Taint::Unsigned => "未签名",
        })
        .collect();
    Both::new(
        format!(" ({} module)", en.join(", ")),
        format!("（{}）", zh.join("、")),
    )
}

pub fn confidence_zh(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "高",
        Confidence::Medium => "中",
        Confidence::Low => "低",
    }
}

/// The culprit's reason, with what to look at.
pub fn reason(c: &Culprit, faulting: &str) -> Both {
    let t = taint_words(&c.taint);
    let (tn, tz) = (&t.en, &t.zh);
    let f = &c.function;
    let m = c
        .module
        .as_deref()
        .map(|m| format!("{m} 模块{tz}中的 "))
        .unwrap_or_default();
    match &c.rule {
        CulpritRule::Deliberate { trigger: Trigger::Sysrq } => Both::new(
            "a crash deliberately triggered through sysrq-c; not a bug",
            format!("{f} 是通过 sysrq-c 人为触发崩溃的函数，这次崩溃不是缺陷。"),
        ),
        CulpritRule::Deliberate { trigger: Trigger::Lkdtm } => Both::new(
            "a test crash deliberately provoked through LKDTM (/sys/kernel/debug/provoke-crash); not a bug",
            format!("{f} 是 LKDTM 用来人为制造崩溃的函数（通过 /sys/kernel/debug/provoke-crash 触发），这是一次测试，不是缺陷。"),
        ),
        CulpritRule::DirectPanic => Both::new(
            format!("{f} called panic() directly{tn}; look at why it decided it could not go on"),
            format!("{m}{f} 主动调用了 panic()，应查看它判定无法继续运行的原因。"),
        ),
        CulpritRule::CallerPassedBadArgument { callee, arg_index: i, arg_register, value, direct: true } => {
            let r = arg_register.to_uppercase();
            let val = format!("{:#x}", value.unwrap_or(0));
            Both::new(
                format!("{callee} faulted on its argument {i} ({r}) = {val}; {f} is the caller that passed it{tn}; check the error paths of {f} (e.g. a branch that works on an object never allocated or already freed)"),
                format!("{callee} 是内核的基础函数，它在第 {i} 个参数（{r}，值为 {val}）上出错，而这个参数是由 {m}{f} 直接传入的，所以应该检查 {f} 的出错路径（例如某个错误分支里对未分配或已释放的对象做了操作）。"),
            )
        }
        CulpritRule::CallerPassedBadArgument { callee, arg_index: i, arg_register, .. } => {
            let r = arg_register.to_uppercase();
            Both::new(
                format!("{callee} faulted on its argument {i} ({r}); the bad value came down the call chain from {f}{tn}; check the error paths of {f} (e.g. a branch that works on an object never allocated or already freed)"),
                format!("{callee} 是内核的基础函数，它在第 {i} 个参数（{r}）上出错，这个坏值是沿调用链从 {m}{f} 传下来的，所以应该检查 {f} 的出错路径（例如某个错误分支里对未分配或已释放的对象做了操作）。"),
            )
        }
        CulpritRule::CoreCalledFromModule { callee } => {
            let module = c.module.clone().unwrap_or_default();
            Both::new(
                format!("the fault is in core kernel code ({callee}) called from module {module}{tn}; core helpers rarely fail on their own, so check what {f} passed to it"),
                format!("出错位置在内核核心代码 {callee} 中，但它是由 {module} 模块{tz}的 {f} 调用的；内核基础函数很少自己出错，应重点检查 {f} 传给它的参数。"),
            )
        }
        CulpritRule::DereferencedUncheckedArgument { arg_index: i, arg_register } => {
            let r = arg_register.to_uppercase();
            Both::new(
                format!("{f} dereferenced its argument {i} ({r}) without checking it{tn}, and its caller passed a bad value: both need fixing"),
                format!("{m}{f} 没有检查第 {i} 个参数（{r}）就直接解引用了它，同时它的调用者传入了非法值，两处都需要修复。"),
            )
        }
        CulpritRule::DividedByUncheckedArgument { arg_index: i, arg_register } => {
            let r = arg_register.to_uppercase();
            Both::new(
                format!("{f} divided by its argument {i} ({r}) without checking it for zero{tn}, and its caller passed 0: both need fixing"),
                format!("{m}{f} 没有检查第 {i} 个参数（{r}）是否为零就拿它做了除数，调用者也传入了 0，两处都需要修复。"),
            )
        }
        CulpritRule::OwnBug => Both::new(
            format!("{f} hit its own BUG() assertion{tn}: the code met a state its author declared impossible"),
            format!("{m}{f} 中的 BUG() 断言被触发，说明代码遇到了作者认为不可能出现的状态。"),
        ),
        CulpritRule::Warning => Both::new(
            format!("{f} raised a WARNING with panic_on_warn set{tn}"),
            format!("{m}{f} 中的 WARN() 被触发，且设置了 panic_on_warn。"),
        ),
        CulpritRule::Lockup => Both::new(
            format!("{f} kept the CPU without scheduling (e.g. spinning with preemption off) until the lockup detector fired{tn}"),
            format!("{m}{f} 长时间占用 CPU 不释放（例如关抢占自旋），触发了 lockup 检测。"),
        ),
        CulpritRule::SpinlockNeverReleased { lock } => Both::new(
            format!("{f} takes the spinlock {lock} and no CPU is inside it any more: it returned with the lock held (an error path without spin_unlock()){tn}; check every return path of {f}"),
            format!("{m}{f} 会获取自旋锁 {lock}，但已经没有任何 CPU 停留在这个函数里：它返回时没有释放这把锁（某个出错分支漏了 spin_unlock()），应逐一检查 {f} 的所有返回路径。"),
        ),
        CulpritRule::SpinlockHeld { lock, cpu } => Both::new(
            format!("CPU {cpu} is inside {f}, which takes the spinlock {lock} the locked-up CPU waits for{tn}; see why its critical section does not end"),
            format!("CPU {cpu} 正停留在 {m}{f} 中，而 {f} 持有发生 lockup 的 CPU 所等待的自旋锁 {lock}，应查明它的临界区为什么一直没有结束。"),
        ),
        CulpritRule::RcuStall { cpu } => Both::new(
            format!("{f} kept CPU {cpu} from passing through an RCU quiescent state (a loop with preemption off or inside rcu_read_lock()){tn}"),
            format!("{m}{f} 让 CPU {cpu} 一直无法经过 RCU 静止状态（关抢占循环，或在 rcu_read_lock() 临界区内循环）。"),
        ),
        CulpritRule::StackOverflow => Both::new(
            format!("{f} exhausted the kernel stack (recursion or large stack frames){tn}"),
            format!("{m}{f} 把内核栈用光了（递归过深或栈上分配过大）。"),
        ),
        CulpritRule::LockOrderDeadlock { locks } => {
            let (l, lz) = (locks.join(" and "), locks.join("、"));
            Both::new(
                format!("{f} took the locks {l} in an order that closes a cycle: each task holds one and waits for the next{tn}; take them in one fixed order everywhere"),
                format!("{m}{f} 获取锁 {lz} 的顺序形成了环：每个任务都持有其中一把锁，又在等待下一把。应在所有路径上按同一固定顺序加锁。"),
            )
        }
        CulpritRule::NeverReleased { lock, owner, owner_pid } => Both::new(
            format!("{f} holds {lock} (task {owner}:{owner_pid}) and does not release it while other tasks wait for it{tn}; look at why it keeps the lock across this wait"),
            format!("{m}{f}（任务 {owner}:{owner_pid}）持有 {lock} 后一直不释放，其他任务都在等这把锁。应查看它为什么在持锁期间进入这段等待。"),
        ),
        CulpritRule::FaultingInstruction => Both::new(
            format!("the faulting instruction is in {faulting}{tn}; start from the logic of this function"),
            format!("出错指令就在 {m}{faulting} 中，应从这个函数的代码逻辑入手排查。"),
        ),
        CulpritRule::SlabLeak { cache } => Both::new(
            format!("{f}{tn} allocates from the slab cache {cache}, which grew until memory ran out and is not freed: look for the missing kmem_cache_free() in its code paths"),
            format!("{m}{f} 从 slab 缓存 {cache} 分配对象，这个缓存一直增长直到内存耗尽、对象没有被释放，应检查它的各条代码路径上缺失的 kmem_cache_free()。"),
        ),
        CulpritRule::StackSmashed => Both::new(
            format!("{f}{tn} wrote past a local array of its own stack frame, over the stack protector's canary: check its copies into local buffers (lengths, off-by-one)"),
            format!("{m}{f} 写越界了自己栈帧里的局部数组，覆盖了栈保护的 canary，应检查它往局部缓冲区拷贝数据的地方（长度、差一错误）。"),
        ),
        CulpritRule::CorruptedList { operation, list } => {
            let (le, lz) = match list {
                Some(l) => (format!(" on {l}"), format!("（{l}）")),
                None => (String::new(), String::new()),
            };
            Both::new(
                format!("{f}{tn} called {operation}(){le} on a list whose pointers were already corrupted: an entry of that list was freed or overwritten while still linked; check how {f} and the other users of the list add, delete and free entries"),
                format!("{m}{f} 对一个指针已经损坏的链表{lz}调用了 {operation}()：链表中的某个节点在仍然挂在链表上时被释放或被改写了，应检查 {f} 以及该链表的其他使用者添加、删除和释放节点的代码。"),
            )
        }
        CulpritRule::DoubleFree { cache, first_free } => {
            let (fe, fz) = match first_free {
                Some(x) => (format!(" (first freed in {x})"), format!("（第一次在 {x} 中释放）")),
                None => (String::new(), String::new()),
            };
            Both::new(
                format!("{f}{tn} freed an object of {cache} that was already free{fe}: two owners free the same object, or one frees it twice on an error path"),
                format!("{m}{f} 释放了一个已经被释放的 {cache} 对象{fz}：同一个对象被两处代码各释放一次，或者在出错路径上被释放了两次。"),
            )
        }
        CulpritRule::BadPageFreed { reason } => Both::new(
            format!("{f}{tn} gave a page back to the page allocator while it was still in use (\"{reason}\"): a mapping, reference or flag it set was never undone"),
            format!("{m}{f} 把一个仍在使用中的页还给了页分配器（\"{reason}\"）：它设置的映射、引用计数或标志位没有撤销。"),
        ),
        CulpritRule::SlabObjectCorrupted { cache, problem }
            if problem.to_ascii_lowercase().contains("redzone overwritten") =>
        {
            Both::new(
                format!("{f}{tn} allocated the {cache} object whose red zone SLUB found overwritten (\"{problem}\"): the code that owns the object wrote past its bounds"),
                format!("SLUB 发现 redzone 被改写（\"{problem}\"）的 {cache} 对象是由 {m}{f} 分配的：拥有这个对象的代码越界写了它。"),
            )
        }
        CulpritRule::SlabObjectCorrupted { cache, problem } => Both::new(
            format!("{f}{tn} allocated the {cache} object that SLUB found damaged (\"{problem}\"): it was written past its end or after it was freed"),
            format!("SLUB 发现的损坏对象（\"{problem}\"）属于 {cache}，是由 {m}{f} 分配的：它被越界写或者在释放后被写入。"),
        ),
    }
}

/// The task part of the opening sentence.
fn task_words(v: &Verdict) -> Both {
    match &v.task {
        Some(t) => match t.cpu {
            Some(cpu) => Both::new(
                format!(
                    " while running task \"{}\" (PID {}) on CPU {cpu}",
                    t.comm, t.pid
                ),
                format!(
                    "（出问题的进程是 {}，PID {}，运行在 CPU {cpu} 上）",
                    t.comm, t.pid
                ),
            ),
            None => Both::new(
                format!(" while running task \"{}\" (PID {})", t.comm, t.pid),
                format!("（出问题的进程是 {}，PID {}）", t.comm, t.pid),
            ),
        },
        None => Both::default(),
    }
}

/// What happened, in one sentence.
fn opening(v: &Verdict) -> Both {
    let task = task_words(v);
    if v.deliberate == Some(Trigger::Sysrq) {
        return Both::new(
            format!("This is not a bug: the crash was triggered on purpose through sysrq-c (\"echo c > /proc/sysrq-trigger\"){}, typically to test kdump.", task.en),
            format!("这不是内核缺陷：崩溃是通过 sysrq-c（echo c > /proc/sysrq-trigger）人为触发的{}，这类崩溃一般用于验证内核转储功能是否配置正确。", task.zh),
        );
    }
    if v.deliberate == Some(Trigger::Lkdtm) {
        return Both::new(
            format!("This is not a bug: the crash was provoked on purpose through LKDTM, the kernel's crash test module (a write to /sys/kernel/debug/provoke-crash/DIRECT or a crash point){}, typically to test kdump or the kernel's self-protection.", task.en),
            format!("这不是内核缺陷：崩溃是通过内核的崩溃测试模块 LKDTM 人为制造的（向 /sys/kernel/debug/provoke-crash/DIRECT 写入或触发预设的崩溃点）{}，一般用于验证 kdump 或内核的自我保护机制。", task.zh),
        );
    }
    if v.is_unknown() {
        let u = unread_list(&v.unknown);
        if u.en.is_empty() {
            return Both::new(
                "The cause is unknown: nothing in this dump says what happened.",
                "无法确定崩溃原因：这个 dump 中没有能说明发生了什么的信息。",
            );
        }
        return Both::new(
            format!("The cause is unknown: this dump does not give {}.", u.en),
            format!("无法确定崩溃原因：这个 dump 中读不到{}。", u.zh),
        );
    }
    let c = class_words(v.class);
    match &v.function {
        Some(Func { name, module }) => {
            let f = with_mod(name, module);
            let sp = if c.zh.starts_with(|ch: char| ch.is_ascii()) {
                " "
            } else {
                ""
            };
            Both::new(
                format!("The kernel crashed on {} in {f}{}.", c.en, task.en),
                format!("内核在 {f} 中发生了{sp}{}{}。", c.zh, task.zh),
            )
        }
        None => Both::new(
            format!("The kernel crashed on {}{}.", c.en, task.en),
            format!("内核发生了{}{}。", c.zh, task.zh),
        ),
    }
}

/// What the class means here: the assertion, the division, the stack, the lockup...
fn class_detail(v: &Verdict, f: &Fault, fname: &str) -> Option<Both> {
    let loc = f.location.clone().unwrap_or_else(|| fname.to_string());
    Some(match v.class {
        CrashClass::Bug => match &v.place {
            Some(p) => Both::new(
                format!("A BUG() at {p} fired: the CPU executed `ud2` at {loc}, which is how BUG()/BUG_ON() stops the kernel when a condition its author declared impossible is true."),
                format!("{p} 处的 BUG() 被触发：CPU 在 {loc} 执行了 `ud2` 指令，这是 BUG()/BUG_ON() 在代码作者认为“不可能发生”的条件成立时主动让内核停下来的方式。"),
            ),
            None => Both::new(
                format!("A BUG() fired: the CPU executed `ud2` at {loc}, which is how BUG()/BUG_ON() stops the kernel when a condition its author declared impossible is true."),
                format!("BUG() 被触发：CPU 在 {loc} 执行了 `ud2` 指令，这是 BUG()/BUG_ON() 在代码作者认为“不可能发生”的条件成立时主动让内核停下来的方式。"),
            ),
        },
        CrashClass::DivideError => {
            let (insn, b) = (f.instruction.as_ref()?, f.base_register.as_ref()?.to_uppercase());
            let val = f.base_value.unwrap_or(0);
            Both::new(
                format!("The instruction `{insn}` at {loc} divides by {b}, and {b} was {val:#x}: a division by zero, which the CPU reports as a divide error (#DE)."),
                format!("出错指令 `{insn}`（{loc}）以 {b} 作为除数，而 {b} 的值为 {val:#x}，即发生了除以零，CPU 因此产生除法错误异常（#DE）。"),
            )
        }
        CrashClass::StackOverflow => {
            let insn = f.instruction.clone().unwrap_or_default();
            let reg = f.base_register.as_deref().unwrap_or("rsp").to_uppercase();
            let addr = f.address.map(|a| format!("{a:#x}")).unwrap_or_else(|| "?".into());
            let mut s = Both::new(
                format!("The kernel stack ran out: `{insn}` at {loc} wrote through {reg} = {addr}, into the guard page below the task's stack, and the CPU took a double fault."),
                format!("内核栈被用光了：{loc} 处的 `{insn}` 通过 {reg} = {addr} 写入了任务栈下方的保护页，CPU 因此触发了 double fault。"),
            );
            if let Some(n) = v.recursion {
                s.en.push_str(&format!(" {fname} appears {n} times in a row on the stack: unbounded or too deep recursion exhausted the kernel stack."));
                s.zh.push_str(&format!("调用栈里 {fname} 连续出现了 {n} 次，说明是无限递归或递归过深把内核栈耗尽了。"));
            }
            s
        }
        CrashClass::Lockup => Both::new(
            format!("The lockup detector fired: the CPU was still running {fname} (interrupted at {loc}) without scheduling for longer than the watchdog threshold, e.g. a loop spinning with preemption or interrupts off."),
            format!("内核的死锁检测器被触发：CPU 一直在执行 {fname}（被打断时位于 {loc}），长时间没有发生调度，超过了看门狗设定的阈值，常见原因是关抢占或关中断后的循环自旋。"),
        ),
        CrashClass::InvalidOpcode => Both::new(
            format!("The CPU raised an invalid-opcode exception (#UD) at {loc}: either a `ud2` that marks unreachable code, or execution that jumped into data."),
            format!("CPU 在 {loc} 处触发了非法指令异常（#UD）：要么是执行到了标记为不可达代码的 `ud2`，要么是程序跳转到了并非指令的数据区域。"),
        ),
        CrashClass::Panic => match &v.panic_reason {
            Some(why) => Both::new(
                format!("No CPU exception caused it: the code called panic() itself (\"{why}\"), because it detected an error it could not recover from."),
                format!("这次崩溃不是由 CPU 异常引起的，而是代码在检测到无法继续运行的严重错误后主动调用了 panic()（\"{why}\"）。"),
            ),
            None => Both::new(
                "No CPU exception caused it: the code called panic() itself; what it gave panic() could not be read.",
                "这次崩溃不是由 CPU 异常引起的，而是代码主动调用了 panic()；传给 panic() 的信息没有读到。",
            ),
        },
        CrashClass::Warning => match &v.place {
            Some(p) => Both::new(
                format!("A WARN() at {p} fired and panic_on_warn turned it into a panic."),
                format!("{p} 处的 WARN() 被触发，这说明代码运行到了开发者认为不应该出现的异常状态；由于设置了 panic_on_warn，告警直接变成了 panic。"),
            ),
            None => Both::new(
                "A WARN() fired and panic_on_warn turned it into a panic.",
                "WARN() 被触发，这说明代码运行到了开发者认为不应该出现的异常状态；由于设置了 panic_on_warn，告警直接变成了 panic。",
            ),
        },
        _ => return None,
    })
}

/// The faulting instruction's source line.
fn source_line(f: &Fault) -> Option<Both> {
    f.instruction.as_ref()?;
    f.location.as_ref()?;
    let (file, line) = f.source.as_deref()?.rsplit_once(':')?;
    Some(match (&f.source_function, &f.inlined_into) {
        (Some(func), Some(into)) => Both::new(
            format!("By the debuginfo given, that instruction is line {line} of {file}, in {func}, inlined into {into}."),
            format!("结合提供的调试信息，这条指令对应源码 {file} 第 {line} 行，属于被内联的函数 {func}（内联位置：{into}）。"),
        ),
        _ => Both::new(
            format!("By the debuginfo given, that instruction is line {line} of {file}."),
            format!("结合提供的调试信息，这条指令对应源码 {file} 第 {line} 行。"),
        ),
    })
}

/// The memory operand of a pointer fault.
fn operand(f: &Fault) -> Option<Both> {
    let (insn, loc) = (f.instruction.as_ref()?, f.location.as_ref()?);
    let (base, off) = (f.base_register.as_ref()?, f.offset?);
    if !f.class.is_pointer() {
        return None;
    }
    let b = base.to_uppercase();
    let val = f.base_value.unwrap_or(0);
    let (acc_en, acc_zh) = match f.access.as_deref() {
        Some("write") => ("writes", "写"),
        Some("read-write") => ("reads and writes", "读写"),
        _ => ("reads", "读取"),
    };
    let addr = f
        .address
        .map(|a| format!("{a:#x}"))
        .unwrap_or_else(|| "?".into());
    Some(if val == 0 {
        let (fe, fz) = match &f.field {
            Some(x) => (format!(" (the field {x})"), format!("（即字段 {x}）")),
            None => (String::new(), String::new()),
        };
        Both::new(
            format!("The instruction `{insn}` at {loc} {acc_en} memory at {b} + {off:#x}; {b} was 0, so the code accessed offset {off:#x} of a NULL pointer{fe}: that is the fault address {addr}."),
            format!("出错指令 `{insn}`（{loc}）{acc_zh}的是 {b} + {off:#x} 处的内存，而 {b} 的值为 0，也就是说代码通过一个空指针访问了偏移 {off:#x} 处的成员{fz}，这正是报错的地址 {addr}。"),
        )
    } else {
        Both::new(
            format!("The instruction `{insn}` at {loc} {acc_en} memory at {b} + {off:#x} = {addr}, with {b} = {val:#x}, which is not a valid kernel pointer."),
            format!("出错指令 `{insn}`（{loc}）{acc_zh}的是 {b} + {off:#x} = {addr} 处的内存，而 {b} 的值是 {val:#x}，并不是一个合法的内核指针。"),
        )
    })
}

/// `RDI is not written between ...` / `RBX was copied from RDI (...)`.
fn copy_chain(base: &str, fname: &str, reg: &str, via: &[crate::analysis::verdict::Hop]) -> Both {
    let (b, r) = (base.to_uppercase(), reg.to_uppercase());
    if via.is_empty() {
        return Both::new(
            format!("{r} is not written between the entry of {fname} and the fault"),
            format!("从 {fname} 入口到出错指令之间，{r} 没有被改写过"),
        );
    }
    let hops: Vec<String> = via
        .iter()
        .map(|h| format!("{} at {}", h.to.to_uppercase(), h.at))
        .collect();
    let at: Vec<&str> = via.iter().map(|h| h.at.as_str()).collect();
    Both::new(
        format!(
            "{b} was copied from {r} ({}), and {r} was not changed before that",
            hops.join(", ")
        ),
        format!(
            "{b} 是在 {} 处从 {r} 复制过来的，而在此之前 {r} 没有被改写过",
            at.join("、")
        ),
    )
}

/// Where the bad value came from.
fn provenance(v: &Verdict, f: &Fault, fname: &str) -> Option<Both> {
    let b = f.base_register.clone().unwrap_or_default().to_uppercase();
    Some(match v.provenance.as_ref()? {
        Provenance::Argument { index, reg, via } => {
            let i = (*index as usize).clamp(1, 6) - 1;
            let r = reg.to_uppercase();
            let copy = copy_chain(&b, fname, reg, via);
            let (ce, cz) = match &v.caller {
                Some(c) => (c.as_str(), c.as_str()),
                None => ("its caller", "它的调用者"),
            };
            let (what_en, what_zh) = match (f.class, f.base_value) {
                (CrashClass::DivideError, _) => ("a zero divisor", "为 0 的除数"),
                (_, Some(0)) => ("a NULL pointer", "空指针"),
                _ => ("this bad pointer", "这个非法指针"),
            };
            Both::new(
                format!("Under the System V x86_64 calling convention {r} carries the {} argument; {}. So the value came from the caller: {ce} passed {what_en} as the {} argument of {fname}.", ORD_EN[i], copy.en, ORD_EN[i]),
                format!("按照 x86_64 的 System V 调用约定，{r} 用来传递函数的{}参数；{}。因此这个值来自调用者：是 {cz} 把{what_zh}作为{}参数传给了 {fname}。", ORD_ZH[i], copy.zh, ORD_ZH[i]),
            )
        }
        Provenance::Computed { insn, location } => Both::new(
            format!("{b} was loaded inside {fname} by `{insn}` at {location}, so the bad pointer was read from memory that {fname} trusted."),
            format!("{b} 是在 {fname} 内部由 `{insn}`（{location}）加载的，说明这个坏指针来自 {fname} 所信任的一块内存（可能已被释放或踩坏）。"),
        ),
        Provenance::Returned { callee } => Both::new(
            format!("{b} is the return value of {callee}, used without a check."),
            format!("{b} 是 {callee} 的返回值，调用方没有检查就直接使用了。"),
        ),
        Provenance::Unknown => return None,
    })
}

/// What the verdict could not use, when it still names a cause.
fn degraded(v: &Verdict) -> Option<Both> {
    if v.is_unknown() || v.unknown.is_empty() {
        return None;
    }
    let u = unread_list(&v.unknown);
    Some(Both::new(
        format!("This dump does not give {}: the verdict rests on what could be read and may change with a complete dump.", u.en),
        format!("这个 dump 中读不到{}：以上结论只基于能读到的部分，拿到完整的 dump 后可能会改变。", u.zh),
    ))
}

/// The narrative's last sentence: what to fix, and where. The culprit and the confidence are
/// the verdict's first line, and the mechanism (the bad value, who passed it, the assertion)
/// the sentences before; this one says only what they did not (the culprit's `reason`, kept
/// whole in the JSON, would repeat them).
fn conclusion(c: &Culprit, v: &Verdict) -> Both {
    let t = taint_words(&c.taint);
    let (tn, tz) = (&t.en, &t.zh);
    let cm = with_mod(&c.function, &c.module);
    let f = &c.function;
    let m = c
        .module
        .as_deref()
        .map(|m| format!("{m} 模块{tz}中的 "))
        .unwrap_or_default();
    let caller = v.caller.as_deref();
    match &c.rule {
        CulpritRule::Deliberate { .. } => Both::new(
            format!("The function that carried it out is {cm}."),
            format!("执行这次崩溃的函数是 {cm}。"),
        ),
        CulpritRule::DirectPanic => Both::new(
            format!("Look at why {cm}{tn} decided it could not go on."),
            format!("应查看 {m}{f} 判定无法继续运行的原因。"),
        ),
        CulpritRule::CallerPassedBadArgument { direct: true, .. } => Both::new(
            format!("Check the error paths of {cm}{tn}, e.g. a branch that works on an object never allocated or already freed."),
            format!("应检查 {m}{f} 的出错路径，例如某个错误分支里对未分配或已释放的对象做了操作。"),
        ),
        CulpritRule::CallerPassedBadArgument { .. } => Both::new(
            format!("The bad value came down the call chain from {cm}{tn}: check its error paths, e.g. a branch that works on an object never allocated or already freed."),
            format!("这个坏值是沿调用链从 {m}{f} 传下来的，应检查它的出错路径，例如某个错误分支里对未分配或已释放的对象做了操作。"),
        ),
        CulpritRule::CoreCalledFromModule { callee } => Both::new(
            format!("Core helpers such as {callee} rarely fail on their own: check what {cm}{tn} passed to it."),
            format!("{callee} 这样的内核基础函数很少自己出错，应重点检查 {m}{f} 传给它的参数。"),
        ),
        CulpritRule::DereferencedUncheckedArgument { arg_index: i, arg_register } => {
            let r = arg_register.to_uppercase();
            let (ce, cz) = caller.map_or(("the caller".to_string(), "调用者".to_string()), |x| (x.to_string(), x.to_string()));
            Both::new(
                format!("Both need fixing: {cm}{tn} uses its argument {i} ({r}) without checking it, and {ce} must not pass a bad value."),
                format!("两处都需要修复：{m}{f} 没有检查第 {i} 个参数（{r}）就使用了它，{cz} 也不应传入非法值。"),
            )
        }
        CulpritRule::DividedByUncheckedArgument { arg_index: i, arg_register } => {
            let r = arg_register.to_uppercase();
            Both::new(
                format!("Both need fixing: {cm}{tn} divides by its argument {i} ({r}) without checking it for zero, and the caller must not pass 0."),
                format!("两处都需要修复：{m}{f} 没有检查第 {i} 个参数（{r}）是否为零就拿它做除数，调用者也不应传入 0。"),
            )
        }
        CulpritRule::OwnBug => Both::new(
            format!("Start from the condition of that BUG() in {cm}{tn} and how the state it rejects came about."),
            format!("应从 {m}{f} 里这个 BUG() 的判断条件入手，查明它所拒绝的状态是怎样出现的。"),
        ),
        CulpritRule::Warning => Both::new(
            format!("Start from the condition of that WARN() in {cm}{tn}."),
            format!("应从 {m}{f} 里这个 WARN() 的判断条件入手排查。"),
        ),
        CulpritRule::Lockup => Both::new(
            format!("Look for the loop in {cm}{tn} that does not let the CPU go (preemption or interrupts off, or a lock that is never released)."),
            format!("应查找 {m}{f} 中不让出 CPU 的循环（关抢占或关中断后自旋，或一直拿不到的锁）。"),
        ),
        CulpritRule::StackOverflow => Both::new(
            format!("Look at the recursion or the large stack frames of {cm}{tn}."),
            format!("应检查 {m}{f} 的递归深度或栈上的大块分配。"),
        ),
        CulpritRule::LockOrderDeadlock { locks } => {
            let (l, lz) = (locks.join(" and "), locks.join("、"));
            Both::new(
                format!("Fix the lock order in {cm}{tn}: take {l} in one fixed order everywhere."),
                format!("应修正 {m}{f} 的加锁顺序：在所有路径上按同一固定顺序获取 {lz}。"),
            )
        }
        CulpritRule::NeverReleased { lock, .. } => Both::new(
            format!("Look at why {cm}{tn} keeps {lock} across this wait."),
            format!("应查看 {m}{f} 为什么在持有 {lock} 期间进入这段等待。"),
        ),
        CulpritRule::SpinlockNeverReleased { lock } => Both::new(
            format!("Check every return path of {cm}{tn} for a spin_lock({lock}) without its spin_unlock()."),
            format!("应逐一检查 {m}{f} 的所有返回路径，找出获取 {lock} 后没有 spin_unlock() 的分支。"),
        ),
        CulpritRule::SpinlockHeld { lock, cpu } => Both::new(
            format!("See why CPU {cpu} does not leave the critical section of {lock} in {cm}{tn}."),
            format!("应查明 CPU {cpu} 为什么一直停留在 {m}{f} 中持有 {lock} 的临界区里。"),
        ),
        CulpritRule::RcuStall { cpu } => Both::new(
            format!("Look for the loop in {cm}{tn} that kept CPU {cpu} from a quiescent state (preemption or interrupts off, or inside rcu_read_lock())."),
            format!("应查找 {m}{f} 中让 CPU {cpu} 无法经过静止状态的循环（关抢占、关中断，或在 rcu_read_lock() 内循环）。"),
        ),
        CulpritRule::FaultingInstruction => Both::new(
            format!("Start from the logic of {cm}{tn}, where the faulting instruction is."),
            format!("出错指令就在 {m}{f} 中，应从这个函数的代码逻辑入手排查。"),
        ),
        CulpritRule::SlabLeak { cache } => Both::new(
            format!("Find the objects of {cache} that {cm}{tn} allocates and never frees (a kmem_cache_free() missing on some path)."),
            format!("应查找 {m}{f} 从 {cache} 分配后没有释放的对象（某条路径上缺少 kmem_cache_free()）。"),
        ),
        CulpritRule::StackSmashed => Both::new(
            format!("Check the writes into local arrays of {cm}{tn}: a length not bounded by the array's size."),
            format!("应检查 {m}{f} 往局部数组写数据的地方：某处长度没有受数组大小限制。"),
        ),
        CulpritRule::CorruptedList { .. } => Both::new(
            format!("Review how {cm}{tn} and the other users of that list add, delete and free its entries (an entry freed while still linked)."),
            format!("应检查 {m}{f} 以及该链表的其他使用者添加、删除和释放节点的代码（某个节点在仍挂在链表上时被释放）。"),
        ),
        CulpritRule::DoubleFree { first_free, .. } => {
            let (fe, fz) = first_free.as_deref().map_or((String::new(), String::new()), |x| {
                (format!(" and {x}, which freed it first"), format!("和第一次释放它的 {x}"))
            });
            Both::new(
                format!("Decide which of {cm}{tn}{fe} owns the object: the other must not free it."),
                format!("应确定 {m}{f}{fz}中哪一方拥有这个对象，另一方不能释放它。"),
            )
        }
        CulpritRule::SlabObjectCorrupted { problem, .. }
            if problem.to_ascii_lowercase().contains("redzone overwritten") =>
        {
            Both::new(
                format!("Check the writes of {cm}{tn} into the objects it allocates: past the size it asked for."),
                format!("应检查 {m}{f} 对它分配的对象的写操作：是否超出了申请的大小（越界写）。"),
            )
        }
        CulpritRule::SlabObjectCorrupted { .. } => Both::new(
            format!("Check the writes of {cm}{tn} to the objects it allocates: past their size, or after their free."),
            format!("应检查 {m}{f} 对它分配的对象的写操作：是否越界，或者在释放后仍在写。"),
        ),
        CulpritRule::BadPageFreed { .. } => Both::new(
            format!("Undo in {cm}{tn} what it did with the page (mapping, reference, flags) before freeing it."),
            format!("应让 {m}{f} 在释放页之前撤销它对该页做过的操作（映射、引用计数、标志位）。"),
        ),
    }
}

/// One fact of the evidence.
pub fn fact(x: &Fact) -> Both {
    match x {
        Fact::LogReport { message } => Both::new(
            format!("The kernel log reports: \"{message}\"."),
            format!("内核日志中的报错：\"{message}\"。"),
        ),
        Fact::PanicLine { text } => Both::new(
            format!("Then: \"{text}\"."),
            format!("随后内核 panic：\"{text}\"。"),
        ),
        Fact::LogRip { rip } => Both::new(format!("RIP: {rip}."), format!("RIP 指向 {rip}。")),
        Fact::FaultingInstruction {
            location,
            instruction,
        } => Both::new(
            format!("The faulting instruction at {location} is `{instruction}`."),
            format!("出错指令位于 {location}：`{instruction}`。"),
        ),
        Fact::DebuginfoLine {
            location,
            file,
            line,
        } => Both::new(
            format!("DWARF line table: {location} is {file}:{line}."),
            format!("DWARF 行号表：{location} 对应 {file}:{line}。"),
        ),
        Fact::Register {
            register,
            value,
            offset,
            address,
        } => {
            let b = register.to_uppercase();
            let addr = address
                .map(|a| format!("{a:#x}"))
                .unwrap_or_else(|| "?".into());
            Both::new(
                format!("{b} = {value:#018x} in the exception frame; operand offset {offset:#x}; fault address {addr}."),
                format!("异常现场寄存器 {b} = {value:#018x}，操作数偏移 {offset:#x}，出错地址 {addr}。"),
            )
        }
        Fact::ArgumentCopy {
            register,
            function,
            arg_index,
            arg_register,
            via,
        } => {
            let copy = copy_chain(register, function, arg_register, via);
            let (b, r) = (register.to_uppercase(), arg_register.to_uppercase());
            Both::new(
                format!(
                    "{b} holds argument {arg_index} ({r}) of {function}: {}.",
                    copy.en
                ),
                format!(
                    "{b} 保存的是 {function} 的第 {arg_index} 个参数（{r}）：{}。",
                    copy.zh
                ),
            )
        }
        Fact::Caller { function: Some(c) } => Both::new(
            format!("The caller in the next frame is {c}."),
            format!("调用栈中的上一层调用者是 {c}。"),
        ),
        Fact::Caller { function: None } => Both::new(
            "The trace ends at the faulting function: its caller is not known.",
            "调用栈在出错函数处就结束了，调用者未知。",
        ),
        Fact::SetBy {
            register,
            instruction,
            location,
        } => {
            let b = register.to_uppercase();
            Both::new(
                format!("{b} was set by `{instruction}` at {location}."),
                format!("{b} 由 {location} 处的 `{instruction}` 赋值。"),
            )
        }
    }
}

/// What to do next.
fn next_steps(v: &Verdict, unread: &[Unread]) -> Vec<Both> {
    let mut s = Vec::new();
    if !unread.is_empty() {
        let u = unread_list(unread);
        s.push(Both::new(
            format!("Analyse a complete copy of the dump (this one does not give {}): copy it again, or take it again with makedumpfile at a lower dump level.", u.en),
            format!("请分析完整的 dump（当前文件中读不到{}）：重新拷贝一次，或用 makedumpfile 以更低的过滤级别重新转储。", u.zh),
        ));
    }
    match &v.culprit {
        _ if v.deliberate.is_some() => s.push(Both::new(
            "Nothing to fix: the dump shows kdump works. Look at older dumps for a real crash.",
            "无需修复：这个 dump 说明 kdump 工作正常。如需分析真实故障，请查看其他 dump。",
        )),
        Some(Culprit {
            module: Some(m), ..
        }) => {
            s.push(Both::new(
                format!("Check whether a fixed version of the {m} module (or the kernel that ships it) exists, and update it."),
                format!("确认 {m} 模块（或包含它的内核版本）是否有已修复的版本，并升级。"),
            ));
            s.push(Both::new(
                format!("Report the crash with this analysis to the vendor or maintainers of {m}; if it is an in-tree module, scripts/get_maintainer.pl names the subsystem list."),
                format!("把本分析结果提交给 {m} 模块的厂商或维护者；如果是内核自带模块，可用 scripts/get_maintainer.pl 找到对应子系统的邮件列表。"),
            ));
        }
        Some(c) => {
            s.push(Both::new(
                "Search syzbot and the LKML archives for the crash title below; the fix may already exist in a newer stable kernel.",
                "用下面的崩溃标题在 syzbot 和 LKML 邮件列表归档中搜索，较新的 stable 内核可能已经修复。",
            ));
            s.push(Both::new(
                format!("Report it to the maintainers of the subsystem that owns {} (scripts/get_maintainer.pl).", c.function),
                format!("向 {} 所属子系统的维护者报告（可用 scripts/get_maintainer.pl 查询）。", c.function),
            ));
        }
        None => {}
    }
    if let Some(t) = &v.title {
        s.push(Both::new(
            format!("Crash signature for searching: \"{t}\"."),
            format!("可用于搜索的崩溃特征：\"{t}\"。"),
        ));
    }
    s
}

/// All the words of the report's verdict; None while it is still being worked out.
pub fn words(r: &Report) -> Option<Words> {
    let v = r.verdict.as_ref()?;
    let f = r.fault.clone().unwrap_or_default();
    let fname = v
        .function
        .as_ref()
        .map(|f| f.name.clone())
        .unwrap_or_else(|| "?".into());
    let reason = v.culprit.as_ref().map(|c| reason(c, &fname));
    let class = v.finding.as_ref().map(|fd| super::classes::words(v, fd));
    let mut parts = match &class {
        Some(cw) => cw.narrative.iter().cloned().map(Some).collect(),
        None => vec![Some(opening(v))],
    };
    // A lockup in a loop of its own: where in the loop, from debuginfo (`in rep_nop, inlined
    // into lab_spin`).
    if let Some(crate::analysis::classes::Finding::Lockup(l)) = &v.finding {
        if l.spinlock.is_none() {
            parts.push(source_line(&f));
        }
    }
    if !v.is_unknown() && class.is_none() {
        parts.push(class_detail(v, &f, &fname));
        parts.push(source_line(&f));
        parts.push(operand(&f));
        parts.push(provenance(v, &f, &fname));
    }
    parts.push(v.culprit.as_ref().map(|c| conclusion(c, v)));
    parts.push(degraded(v));
    let parts: Vec<Both> = parts.into_iter().flatten().collect();
    let narrative = Both::new(
        parts
            .iter()
            .map(|p| p.en.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        parts.iter().map(|p| p.zh.as_str()).collect::<String>(),
    );
    let mut evidence: Vec<(&'static str, Both)> =
        v.evidence.iter().map(|x| (x.source(), fact(x))).collect();
    let mut steps = next_steps(v, &unread_all(r));
    if let Some(cw) = class {
        evidence.extend(cw.evidence);
        // The class's own steps first; the generic ones (a complete dump, the culprit's module,
        // the search signature) after.
        let mut s = cw.next_steps;
        s.append(&mut steps);
        steps = s;
    }
    Some(Words {
        narrative,
        next_steps: steps,
        reason,
        evidence,
    })
}

/// What the verdict was made without, then what the rest of the analysis lacked (the task
/// list, read after the verdict).
fn unread_all(r: &Report) -> Vec<Unread> {
    let mut all: Vec<Unread> = r
        .verdict
        .as_ref()
        .map(|v| v.unknown.clone())
        .unwrap_or_default();
    for x in &r.missing {
        if !all.contains(x) {
            all.push(*x);
        }
    }
    all
}

/// The first line of a partial report: it is incomplete, and what it lacks.
pub fn partial_line(r: &Report, lang: Lang) -> Option<String> {
    if !r.partial {
        return None;
    }
    let u = unread_list(&unread_all(r));
    Some(match (lang, u.en.is_empty()) {
        (Lang::En, false) => format!("PARTIAL: this dump lacks data the analysis needed ({}); what follows is incomplete.", u.en),
        (Lang::En, true) => "PARTIAL: this dump lacks data the analysis needed (see the warnings); what follows is incomplete.".into(),
        (Lang::Zh, false) => format!("不完整：这个 dump 缺少分析所需的数据（{}），以下内容并不完整。", u.zh),
        (Lang::Zh, true) => "不完整：这个 dump 缺少分析所需的数据（见下面的警告），以下内容并不完整。".into(),
    })
}

//! The verdict in words: a short paragraph and the evidence chain, in English and in Simplified
//! Chinese (written as a Chinese kernel engineer writes a crash analysis, not word for word).

use super::diagnose::{Provenance, Verdict};
use super::model::{Evidence, Narrative, PanicInfo};

const ORD_EN: [&str; 6] = ["first", "second", "third", "fourth", "fifth", "sixth"];
const ORD_ZH: [&str; 6] = ["第一个", "第二个", "第三个", "第四个", "第五个", "第六个"];

fn class_en(c: &str) -> &'static str {
    match c {
        "null-deref" => "a NULL pointer dereference",
        "poison" => "an access through a poisoned pointer (a list entry or object used after it was deleted)",
        "use-after-free" => "a use-after-free (the pointer holds slab poison 0x6b6b...)",
        "non-canonical" => "a general protection fault on a non-canonical (garbage) pointer",
        "wild-pointer" => "an access through an invalid pointer",
        "bug" => "a BUG() assertion that failed",
        "warning" => "a WARNING turned into a panic (panic_on_warn)",
        "divide-error" => "a divide error (division by zero)",
        "invalid-opcode" => "an invalid opcode",
        "stack-overflow" => "a kernel stack overflow (double fault)",
        "stack-corruption" => "stack corruption detected by the stack protector",
        "lockup" => "a CPU lockup",
        "hung-task" => "a hung task",
        "oom" => "an out-of-memory panic",
        "sysrq" => "a crash deliberately triggered through sysrq",
        "machine-check" => "a hardware machine check",
        _ => "a kernel panic",
    }
}

fn class_zh(c: &str) -> &'static str {
    match c {
        "null-deref" => "空指针解引用",
        "poison" => "访问了带有 poison 标记的指针（通常是链表节点或对象删除后仍被使用）",
        "use-after-free" => "释放后使用（use-after-free，指针内容是 slab 的 0x6b6b... 毒化值）",
        "non-canonical" => "访问非规范地址引发的一般保护错误（GPF，指针已被踩坏）",
        "wild-pointer" => "野指针访问",
        "bug" => "BUG() 断言失败",
        "warning" => "WARNING 告警（设置了 panic_on_warn，告警直接转为 panic）",
        "divide-error" => "除法错误（除数为零）",
        "invalid-opcode" => "非法指令",
        "stack-overflow" => "内核栈溢出（double fault）",
        "stack-corruption" => "栈保护（stack protector）检测到栈被破坏",
        "lockup" => "CPU 死锁（lockup）",
        "hung-task" => "任务长时间挂起（hung task）",
        "oom" => "内存耗尽（OOM）导致的 panic",
        "sysrq" => "通过 sysrq 人为触发的崩溃",
        "machine-check" => "硬件机器检查异常（MCE）",
        _ => "内核 panic",
    }
}

fn with_mod(f: &str, m: &Option<String>) -> String {
    match m {
        Some(m) => format!("{f} [{m}]"),
        None => f.to_string(),
    }
}

pub struct Words {
    pub narrative: Narrative,
    pub evidence: Vec<Evidence>,
}

fn ev(source: &str, en: String, zh: String) -> Evidence {
    Evidence {
        source: source.into(),
        en,
        zh,
    }
}

/// Writes the narrative. `caller` is the function that called the faulting one (next frame).
pub fn write(
    v: &Verdict,
    panic: &PanicInfo,
    faulting: Option<(&str, &Option<String>)>,
    caller: Option<&str>,
    recursion: Option<usize>,
) -> Words {
    let f = &v.fault;
    let class = f.class.as_str();
    let (fname, fmod) = match (faulting, &v.culprit) {
        (Some((n, m)), _) => (n.to_string(), m.clone()),
        (None, Some(c)) => (c.function.clone(), c.module.clone()),
        (None, None) => ("(unknown function)".to_string(), None),
    };
    let fn_full = with_mod(&fname, &fmod);
    let task_en = match (&panic.comm, panic.pid, panic.cpu) {
        (Some(c), Some(p), Some(cpu)) => {
            format!(" while running task \"{c}\" (PID {p}) on CPU {cpu}")
        }
        (Some(c), Some(p), None) => format!(" while running task \"{c}\" (PID {p})"),
        _ => String::new(),
    };
    let task_zh = match (&panic.comm, panic.pid, panic.cpu) {
        (Some(c), Some(p), Some(cpu)) => {
            format!("（出问题的进程是 {c}，PID {p}，运行在 CPU {cpu} 上）")
        }
        (Some(c), Some(p), None) => format!("（出问题的进程是 {c}，PID {p}）"),
        _ => String::new(),
    };
    let mut en = Vec::new();
    let mut zh = Vec::new();
    let mut evidence = Vec::new();
    if v.deliberate {
        en.push(format!("This is not a bug: the crash was triggered on purpose through sysrq-c (\"echo c > /proc/sysrq-trigger\"){task_en}, typically to test kdump."));
        zh.push(format!("这不是内核缺陷：崩溃是通过 sysrq-c（echo c > /proc/sysrq-trigger）人为触发的{task_zh}，这类崩溃一般用于验证内核转储功能是否配置正确。"));
    } else {
        en.push(format!(
            "The kernel crashed on {} in {fn_full}{task_en}.",
            class_en(class)
        ));
        let c = class_zh(class);
        let sp = if c.starts_with(|ch: char| ch.is_ascii()) {
            " "
        } else {
            ""
        };
        zh.push(format!("内核在 {fn_full} 中发生了{sp}{c}{task_zh}。"));
    }
    let at = |m: &str| {
        m.split(" at ")
            .nth(1)
            .map(|x| x.trim_end_matches('!').to_string())
    };
    if class == "bug" {
        let place = panic
            .message
            .as_deref()
            .and_then(at)
            .unwrap_or_else(|| "?".into());
        let loc = f.location.clone().unwrap_or_else(|| fname.clone());
        en.push(format!(
            "A BUG() at {place} fired: the CPU executed `ud2` at {loc}, which is how BUG()/BUG_ON() stops the kernel when a condition its author declared impossible is true."
        ));
        zh.push(format!(
            "{place} 处的 BUG() 被触发：CPU 在 {loc} 执行了 `ud2` 指令，这是 BUG()/BUG_ON() 在代码作者认为“不可能发生”的条件成立时主动让内核停下来的方式。"
        ));
    } else if class == "divide-error" {
        if let (Some(insn), Some(b)) = (&f.instruction, &f.base_register) {
            let loc = f.location.clone().unwrap_or_else(|| fname.clone());
            let val = f.base_value.unwrap_or(0);
            let b = b.to_uppercase();
            en.push(format!("The instruction `{insn}` at {loc} divides by {b}, and {b} was {val:#x}: a division by zero, which the CPU reports as a divide error (#DE)."));
            zh.push(format!("出错指令 `{insn}`（{loc}）以 {b} 作为除数，而 {b} 的值为 {val:#x}，即发生了除以零，CPU 因此产生除法错误异常（#DE）。"));
        }
    } else if class == "stack-overflow" {
        let loc = f.location.clone().unwrap_or_else(|| fname.clone());
        let insn = f.instruction.clone().unwrap_or_default();
        let reg = f
            .base_register
            .clone()
            .unwrap_or_else(|| "rsp".into())
            .to_uppercase();
        let addr = f
            .address
            .map(|a| format!("{a:#x}"))
            .unwrap_or_else(|| "?".into());
        en.push(format!(
            "The kernel stack ran out: `{insn}` at {loc} wrote through {reg} = {addr}, into the guard page below the task's stack, and the CPU took a double fault."
        ));
        zh.push(format!(
            "内核栈被用光了：{loc} 处的 `{insn}` 通过 {reg} = {addr} 写入了任务栈下方的保护页，CPU 因此触发了 double fault。"
        ));
        if let Some(n) = recursion {
            en.push(format!("{fname} appears {n} times in a row on the stack: unbounded or too deep recursion exhausted the kernel stack."));
            zh.push(format!(
                "调用栈里 {fname} 连续出现了 {n} 次，说明是无限递归或递归过深把内核栈耗尽了。"
            ));
        }
    } else if class == "lockup" {
        let loc = f.location.clone().unwrap_or_else(|| fname.clone());
        en.push(format!(
            "The lockup detector fired: the CPU was still running {fname} (interrupted at {loc}) without scheduling for longer than the watchdog threshold, e.g. a loop spinning with preemption or interrupts off."
        ));
        zh.push(format!(
            "内核的死锁检测器被触发：CPU 一直在执行 {fname}（被打断时位于 {loc}），长时间没有发生调度，超过了看门狗设定的阈值，常见原因是关抢占或关中断后的循环自旋。"
        ));
    } else if class == "invalid-opcode" {
        let loc = f.location.clone().unwrap_or_else(|| fname.clone());
        en.push(format!("The CPU raised an invalid-opcode exception (#UD) at {loc}: either a `ud2` that marks unreachable code, or execution that jumped into data."));
        zh.push(format!("CPU 在 {loc} 处触发了非法指令异常（#UD）：要么是执行到了标记为不可达代码的 `ud2`，要么是程序跳转到了并非指令的数据区域。"));
    } else if class == "panic" {
        let why = panic
            .panic_string
            .clone()
            .or_else(|| panic.message.clone())
            .unwrap_or_default();
        en.push(format!("No CPU exception caused it: the code called panic() itself (\"{why}\"), because it detected an error it could not recover from."));
        zh.push(format!("这次崩溃不是由 CPU 异常引起的，而是代码在检测到无法继续运行的严重错误后主动调用了 panic()（\"{why}\"）。"));
    } else if class == "warning" {
        let place = panic
            .message
            .as_deref()
            .and_then(at)
            .unwrap_or_else(|| "?".into());
        en.push(format!(
            "A WARN() at {place} fired and panic_on_warn turned it into a panic."
        ));
        zh.push(format!("{place} 处的 WARN() 被触发，这说明代码运行到了开发者认为不应该出现的异常状态；由于设置了 panic_on_warn，告警直接变成了 panic。"));
    }
    if let Some(m) = &panic.message {
        evidence.push(ev(
            "log",
            format!("The kernel log reports: \"{m}\"."),
            format!("内核日志中的报错：\"{m}\"。"),
        ));
    }
    if let Some(p) = &panic.panic_string {
        evidence.push(ev(
            "log",
            format!("Then: \"{p}\"."),
            format!("随后内核 panic：\"{p}\"。"),
        ));
    }
    // The faulting instruction and its operand.
    if let (Some(insn), Some(loc)) = (&f.instruction, &f.location) {
        evidence.push(ev(
            "instruction",
            format!("The faulting instruction at {loc} is `{insn}`."),
            format!("出错指令位于 {loc}：`{insn}`。"),
        ));
        if let Some((file, line)) = f.source.as_deref().and_then(|s| s.rsplit_once(':')) {
            match (&f.source_function, &f.inlined_into) {
                (Some(func), Some(into)) => {
                    en.push(format!("By the debuginfo given, that instruction is line {line} of {file}, in {func}, inlined into {into}."));
                    zh.push(format!("结合提供的调试信息，这条指令对应源码 {file} 第 {line} 行，属于被内联的函数 {func}（内联位置：{into}）。"));
                }
                _ => {
                    en.push(format!(
                        "By the debuginfo given, that instruction is line {line} of {file}."
                    ));
                    zh.push(format!(
                        "结合提供的调试信息，这条指令对应源码 {file} 第 {line} 行。"
                    ));
                }
            }
            evidence.push(ev(
                "debuginfo",
                format!("DWARF line table: {loc} is {file}:{line}."),
                format!("DWARF 行号表：{loc} 对应 {file}:{line}。"),
            ));
        }
        let pointer_class = matches!(
            class,
            "null-deref" | "poison" | "use-after-free" | "non-canonical" | "wild-pointer"
        );
        if let (Some(base), Some(off), true) = (&f.base_register, f.offset, pointer_class) {
            let b = base.to_uppercase();
            let val = f.base_value.unwrap_or(0);
            let acc_en = match f.access.as_deref() {
                Some("write") => "writes",
                Some("read-write") => "reads and writes",
                _ => "reads",
            };
            let acc_zh = match f.access.as_deref() {
                Some("write") => "写",
                Some("read-write") => "读写",
                _ => "读取",
            };
            let field_en = f
                .field
                .as_ref()
                .map(|x| format!(" (the field {x})"))
                .unwrap_or_default();
            let field_zh = f
                .field
                .as_ref()
                .map(|x| format!("（即字段 {x}）"))
                .unwrap_or_default();
            let addr = f
                .address
                .map(|a| format!("{a:#x}"))
                .unwrap_or_else(|| "?".into());
            if val == 0 {
                en.push(format!(
                    "The instruction `{insn}` at {loc} {acc_en} memory at {b} + {off:#x}; {b} was 0, so the code accessed offset {off:#x} of a NULL pointer{field_en}: that is the fault address {addr}."
                ));
                zh.push(format!(
                    "出错指令 `{insn}`（{loc}）{acc_zh}的是 {b} + {off:#x} 处的内存，而 {b} 的值为 0，也就是说代码通过一个空指针访问了偏移 {off:#x} 处的成员{field_zh}，这正是报错的地址 {addr}。"
                ));
            } else {
                en.push(format!(
                    "The instruction `{insn}` at {loc} {acc_en} memory at {b} + {off:#x} = {addr}, with {b} = {val:#x}, which is not a valid kernel pointer."
                ));
                zh.push(format!(
                    "出错指令 `{insn}`（{loc}）{acc_zh}的是 {b} + {off:#x} = {addr} 处的内存，而 {b} 的值是 {val:#x}，并不是一个合法的内核指针。"
                ));
            }
            evidence.push(ev(
                "register",
                format!("{b} = {val:#018x} in the exception frame; operand offset {off:#x}; fault address {addr}."),
                format!("异常现场寄存器 {b} = {val:#018x}，操作数偏移 {off:#x}，出错地址 {addr}。"),
            ));
        }
    } else if let Some(rip) = &panic.rip {
        evidence.push(ev(
            "log",
            format!("RIP: {rip}."),
            format!("RIP 指向 {rip}。"),
        ));
    }
    // Where the bad value came from.
    let explains = matches!(
        class,
        "null-deref"
            | "poison"
            | "use-after-free"
            | "non-canonical"
            | "wild-pointer"
            | "divide-error"
    );
    match v.provenance.as_ref().filter(|_| explains) {
        Some(Provenance::Argument { index, reg, via }) => {
            let i = (*index as usize).clamp(1, 6) - 1;
            let b = f.base_register.clone().unwrap_or_default().to_uppercase();
            let r = reg.to_uppercase();
            let caller = caller.unwrap_or("its caller");
            let copy_en = if via.is_empty() {
                format!("{r} is not written between the entry of {fname} and the fault")
            } else {
                let hops: Vec<String> = via
                    .iter()
                    .map(|(to, at)| format!("{} at {at}", to.to_uppercase()))
                    .collect();
                format!(
                    "{b} was copied from {r} ({}), and {r} was not changed before that",
                    hops.join(", ")
                )
            };
            let copy_zh = if via.is_empty() {
                format!("从 {fname} 入口到出错指令之间，{r} 没有被改写过")
            } else {
                format!(
                    "{b} 是在 {} 处从 {r} 复制过来的，而在此之前 {r} 没有被改写过",
                    via.iter()
                        .map(|(_, at)| at.clone())
                        .collect::<Vec<_>>()
                        .join("、")
                )
            };
            let (what_en, what_zh) = match (class, f.base_value) {
                ("divide-error", _) => ("a zero divisor", "为 0 的除数"),
                (_, Some(0)) => ("a NULL pointer", "空指针"),
                _ => ("this bad pointer", "这个非法指针"),
            };
            en.push(format!(
                "Under the System V x86_64 calling convention {r} carries the {} argument; {copy_en}. So the value came from the caller: {caller} passed {what_en} as the {} argument of {fname}.",
                ORD_EN[i], ORD_EN[i]
            ));
            zh.push(format!(
                "按照 x86_64 的 System V 调用约定，{r} 用来传递函数的{}参数；{copy_zh}。因此这个值来自调用者：是 {caller} 把{what_zh}作为{}参数传给了 {fname}。",
                ORD_ZH[i], ORD_ZH[i]
            ));
            evidence.push(ev(
                "instruction",
                format!("{b} holds argument {index} ({r}) of {fname}: {copy_en}."),
                format!("{b} 保存的是 {fname} 的第 {index} 个参数（{r}）：{copy_zh}。"),
            ));
            evidence.push(ev(
                "backtrace",
                format!("The caller in the next frame is {caller}."),
                format!("调用栈中的上一层调用者是 {caller}。"),
            ));
        }
        Some(Provenance::Computed { insn, location }) => {
            let b = f.base_register.clone().unwrap_or_default().to_uppercase();
            en.push(format!("{b} was loaded inside {fname} by `{insn}` at {location}, so the bad pointer was read from memory that {fname} trusted."));
            zh.push(format!("{b} 是在 {fname} 内部由 `{insn}`（{location}）加载的，说明这个坏指针来自 {fname} 所信任的一块内存（可能已被释放或踩坏）。"));
            evidence.push(ev(
                "instruction",
                format!("{b} was set by `{insn}` at {location}."),
                format!("{b} 由 {location} 处的 `{insn}` 赋值。"),
            ));
        }
        Some(Provenance::Returned { callee }) => {
            let b = f.base_register.clone().unwrap_or_default().to_uppercase();
            en.push(format!(
                "{b} is the return value of {callee}, used without a check."
            ));
            zh.push(format!(
                "{b} 是 {callee} 的返回值，调用方没有检查就直接使用了。"
            ));
        }
        _ => {}
    }
    let mut next_en = Vec::new();
    let mut next_zh = Vec::new();
    if let Some(c) = &v.culprit {
        let cm = with_mod(&c.function, &c.module);
        en.push(format!(
            "Probably caused by {cm}: {} (confidence: {}).",
            c.reason,
            c.confidence.as_str()
        ));
        let conf_zh = match c.confidence.as_str() {
            "high" => "高",
            "medium" => "中",
            _ => "低",
        };
        zh.push(format!(
            "结论：问题很可能出在 {cm}（置信度：{conf_zh}）。{}",
            reason_zh(c, &fname, v)
        ));
        evidence.push(ev(
            "verdict",
            format!("Culprit: {cm} — {}.", c.reason),
            format!("元凶：{cm}。"),
        ));
        match &c.module {
            Some(m) => {
                next_en.push(format!("Check whether a fixed version of the {m} module (or the kernel that ships it) exists, and update it."));
                next_en.push(format!("Report the crash with this analysis to the vendor or maintainers of {m}; if it is an in-tree module, scripts/get_maintainer.pl names the subsystem list."));
                next_zh.push(format!(
                    "确认 {m} 模块（或包含它的内核版本）是否有已修复的版本，并升级。"
                ));
                next_zh.push(format!("把本分析结果提交给 {m} 模块的厂商或维护者；如果是内核自带模块，可用 scripts/get_maintainer.pl 找到对应子系统的邮件列表。"));
            }
            None => {
                next_en.push("Search syzbot and the LKML archives for the crash title below; the fix may already exist in a newer stable kernel.".into());
                next_en.push(format!("Report it to the maintainers of the subsystem that owns {} (scripts/get_maintainer.pl).", c.function));
                next_zh.push("用下面的崩溃标题在 syzbot 和 LKML 邮件列表归档中搜索，较新的 stable 内核可能已经修复。".into());
                next_zh.push(format!(
                    "向 {} 所属子系统的维护者报告（可用 scripts/get_maintainer.pl 查询）。",
                    c.function
                ));
            }
        }
    } else if v.deliberate {
        next_en.push(
            "Nothing to fix: the dump shows kdump works. Look at older dumps for a real crash."
                .into(),
        );
        next_zh.push(
            "无需修复：这个 dump 说明 kdump 工作正常。如需分析真实故障，请查看其他 dump。".into(),
        );
    }
    if let Some(t) = &panic.title {
        next_en.push(format!("Crash signature for searching: \"{t}\"."));
        next_zh.push(format!("可用于搜索的崩溃特征：\"{t}\"。"));
    }
    Words {
        narrative: Narrative {
            en: en.join(" "),
            zh: zh.join(""),
            next_steps_en: next_en,
            next_steps_zh: next_zh,
        },
        evidence,
    }
}

/// The culprit's reason in Chinese.
pub fn reason_zh(c: &super::model::Culprit, faulting: &str, v: &Verdict) -> String {
    let m = c
        .module
        .as_deref()
        .map(|m| format!("{m} 模块中的 "))
        .unwrap_or_default();
    match (&v.provenance, c.function == faulting) {
        (Some(Provenance::Argument { index, reg, .. }), false) => format!(
            "{faulting} 是内核的基础函数，它在第 {index} 个参数（{}）上出错，而这个参数是由 {m}{} 传入的，所以应该检查 {} 的出错路径（例如某个错误分支里对未分配或已释放的对象做了操作）。",
            reg.to_uppercase(), c.function, c.function
        ),
        (Some(Provenance::Argument { index, reg, .. }), true) if v.fault.class.as_str() == "divide-error" => format!(
            "{m}{faulting} 没有检查第 {index} 个参数（{}）是否为零就拿它做了除数，调用者也传入了 0，两处都需要修复。",
            reg.to_uppercase()
        ),
        (Some(Provenance::Argument { index, reg, .. }), true) => format!(
            "{m}{faulting} 没有检查第 {index} 个参数（{}）就直接解引用了它，同时它的调用者传入了非法值，两处都需要修复。",
            reg.to_uppercase()
        ),
        _ if v.deliberate => format!("{} 是通过 sysrq-c 人为触发崩溃的函数，这次崩溃不是缺陷。", c.function),
        _ if v.fault.class.as_str() == "panic" => format!("{m}{} 主动调用了 panic()，应查看它判定无法继续运行的原因。", c.function),
        _ if v.fault.class.as_str() == "bug" => format!("{m}{faulting} 中的 BUG() 断言被触发，说明代码遇到了作者认为不可能出现的状态。"),
        _ if v.fault.class.as_str() == "warning" => format!("{m}{faulting} 中的 WARN() 被触发，且设置了 panic_on_warn。"),
        _ if v.fault.class.as_str() == "lockup" => format!("{m}{faulting} 长时间占用 CPU 不释放（例如关抢占自旋），触发了 lockup 检测。"),
        _ if v.fault.class.as_str() == "stack-overflow" => format!("{m}{faulting} 把内核栈用光了（递归过深或栈上分配过大）。"),
        _ => format!("出错指令就在 {m}{faulting} 中，应从这个函数的代码逻辑入手排查。"),
    }
}

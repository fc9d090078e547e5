//! The verdict as data: the crash class, where it happened, where the bad value came from, who
//! most plausibly owns the bug and by which rule, the facts it rests on, and what could not be
//! read. No words: `render/verdict.rs` writes them, in English and in Chinese.

use super::model::{Confidence, CrashClass};
use serde::Serialize;

/// A function, with its module when it is in one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Func {
    pub name: String,
    pub module: Option<String>,
}

/// The task that crashed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TaskRef {
    pub comm: String,
    pub pid: u32,
    pub cpu: Option<u32>,
}

/// One register copy on the way from an argument register to the faulting one: `to` was
/// written at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub to: String,
    pub at: String,
}

/// Where the bad value (pointer, divisor) came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Provenance {
    /// Argument `index` (1-based) in register `reg`, possibly copied through other registers.
    Argument {
        index: u32,
        reg: &'static str,
        via: Vec<Hop>,
    },
    /// Loaded or computed inside the function by this instruction.
    Computed {
        insn: String,
        location: String,
    },
    /// The return value of a call.
    Returned {
        callee: String,
    },
    Unknown,
}

/// What made a crash on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `echo c > /proc/sysrq-trigger`.
    Sysrq,
    /// LKDTM, the kernel's crash test module (drivers/misc/lkdtm): a write to
    /// `/sys/kernel/debug/provoke-crash/DIRECT` or a crash point.
    Lkdtm,
}

/// A module taint that matters for blame (`P`, `O`, `E` of the module list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Taint {
    Proprietary,
    OutOfTree,
    Unsigned,
}

impl Taint {
    /// The flags of a module's taint string, in the kernel's order of importance.
    pub fn of(flags: &str) -> Vec<Taint> {
        [
            ('P', Taint::Proprietary),
            ('O', Taint::OutOfTree),
            ('E', Taint::Unsigned),
        ]
        .into_iter()
        .filter(|(c, _)| flags.contains(*c))
        .map(|(_, t)| t)
        .collect()
    }
}

/// Why the culprit is blamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CulpritRule {
    /// Not a bug: the crash was made on purpose; the culprit is the function that made it.
    Deliberate { trigger: Trigger },
    /// The function called panic() itself.
    DirectPanic,
    /// Core code (`callee`) faulted on its argument; the culprit passed it, directly (the next
    /// frame) or down the call chain.
    CallerPassedBadArgument {
        callee: String,
        arg_index: u32,
        arg_register: String,
        value: Option<u64>,
        direct: bool,
    },
    /// Core code (`callee`) faulted, called from the culprit's module, no argument chain known.
    CoreCalledFromModule { callee: String },
    /// The faulting function used its own argument as a pointer without checking it.
    DereferencedUncheckedArgument {
        arg_index: u32,
        arg_register: String,
    },
    /// The faulting function divided by its own argument without checking it for zero.
    DividedByUncheckedArgument {
        arg_index: u32,
        arg_register: String,
    },
    /// The function's own BUG() assertion.
    OwnBug,
    /// The function's WARN() with panic_on_warn.
    Warning,
    /// The function kept the CPU until the lockup detector fired.
    Lockup,
    /// The function took the spinlock `lock` a locked-up CPU waits for and returned without
    /// releasing it (no CPU's stack is inside a function that takes it).
    SpinlockNeverReleased { lock: String },
    /// CPU `cpu` is inside the function's critical section of the spinlock `lock` another CPU
    /// spins on.
    SpinlockHeld { lock: String, cpu: u32 },
    /// The function ran on the CPU `cpu` that RCU reported stalled (never passing a quiescent
    /// state: a loop with preemption off or inside rcu_read_lock()).
    RcuStall { cpu: u32 },
    /// The function exhausted the kernel stack.
    StackOverflow,
    /// Tasks deadlocked on these locks (each waits for the next, held by the next task): the
    /// function took them in an order that closes the cycle.
    LockOrderDeadlock { locks: Vec<String> },
    /// The owner of `lock` never released it while others waited (hung tasks, no cycle): the
    /// function is what the owner is doing.
    NeverReleased {
        lock: String,
        owner: String,
        owner_pid: i32,
    },
    /// The faulting instruction is in the function; nothing more specific is known.
    FaultingInstruction,
    /// OOM: the function allocated from a slab cache that grew until memory ran out.
    SlabLeak { cache: String },
    /// The stack protector found the function's own canary overwritten.
    StackSmashed,
    /// The function called list_add/list_del on a list whose pointers were corrupted.
    CorruptedList {
        operation: String,
        /// The list (or its node) by symbol, when static.
        list: Option<String>,
    },
    /// The function freed a slab object that was already free.
    DoubleFree {
        cache: String,
        /// Where it was freed the first time (SLUB's "Freed in").
        first_free: Option<String>,
    },
    /// A slab object allocated by the function was written past its end or after its free.
    SlabObjectCorrupted { cache: String, problem: String },
    /// The function freed a page that was still in use ("Bad page state": `reason`).
    BadPageFreed { reason: String },
}

/// Who most plausibly owns the bug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Culprit {
    pub function: String,
    pub module: Option<String>,
    pub confidence: Confidence,
    pub rule: CulpritRule,
    /// The culprit module's taint flags that matter (proprietary, out-of-tree, unsigned).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taint: Vec<Taint>,
}

/// One fact the verdict rests on, with where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    /// The crash report's first line in the log.
    LogReport { message: String },
    /// The `Kernel panic - not syncing` line.
    PanicLine { text: String },
    /// The RIP the log names, when the faulting instruction could not be read.
    LogRip { rip: String },
    FaultingInstruction {
        location: String,
        instruction: String,
    },
    /// The DWARF line of the faulting instruction.
    DebuginfoLine {
        location: String,
        file: String,
        line: String,
    },
    /// The memory operand's base register in the exception frame.
    Register {
        register: String,
        #[serde(with = "crate::util::hex")]
        value: u64,
        offset: i64,
        #[serde(with = "crate::util::hex::opt")]
        address: Option<u64>,
    },
    /// The base register holds an argument of the function, copied through `via`.
    ArgumentCopy {
        register: String,
        function: String,
        arg_index: u32,
        arg_register: String,
        via: Vec<Hop>,
    },
    /// The caller in the next frame (unknown when the trace ends there).
    Caller { function: Option<String> },
    /// The base register was set by an instruction of the function.
    SetBy {
        register: String,
        instruction: String,
        location: String,
    },
}

impl Fact {
    /// Where the fact was read: `log`, `instruction`, `debuginfo`, `register`, `backtrace`.
    pub fn source(&self) -> &'static str {
        match self {
            Fact::LogReport { .. } | Fact::PanicLine { .. } | Fact::LogRip { .. } => "log",
            Fact::FaultingInstruction { .. } | Fact::ArgumentCopy { .. } | Fact::SetBy { .. } => {
                "instruction"
            }
            Fact::DebuginfoLine { .. } => "debuginfo",
            Fact::Register { .. } => "register",
            Fact::Caller { .. } => "backtrace",
        }
    }
}

/// Something the verdict needed that the dump did not give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unread {
    /// The kernel log (so no crash report).
    Log,
    /// A log was read but it holds no crash report.
    NoCrashReport,
    /// The kernel's symbols.
    Symbols,
    /// The module list.
    Modules,
    /// BTF (types: field names, task layout).
    Btf,
    /// The CPUs' stacks.
    Stacks,
    /// The faulting function's code.
    FaultingCode,
    /// The task list.
    Tasks,
    /// No CPU's saved registers show the crash.
    CrashingCpu,
}

impl Unread {
    /// What the kernel layer was reading when pages were missing ([`crate::kernel::Kernel::reading`]).
    pub fn of_reading(what: &str) -> Option<Unread> {
        Some(match what {
            "the kernel log" => Unread::Log,
            "the kernel symbols" => Unread::Symbols,
            "the module list" => Unread::Modules,
            "BTF" => Unread::Btf,
            "the CPUs' stacks" => Unread::Stacks,
            "the faulting function's code" => Unread::FaultingCode,
            "the task list" => Unread::Tasks,
            _ => return None,
        })
    }
}

/// The verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    pub class: CrashClass,
    /// The function the fault is in, when known.
    pub function: Option<Func>,
    pub task: Option<TaskRef>,
    /// The function that called the faulting one (the next frame).
    pub caller: Option<String>,
    /// Where the bad pointer or divisor came from (only where it explains the class).
    pub provenance: Option<Provenance>,
    /// `BUG()`/`WARN()` place from the log (`mm/slub.c:435`).
    pub place: Option<String>,
    /// What the code gave panic() (the panic line or the crash report's message).
    pub panic_reason: Option<String>,
    /// The longest run of one function on the stack, when it is recursion.
    pub recursion: Option<usize>,
    pub culprit: Option<Culprit>,
    /// What made the crash on purpose, when it was (also without a culprit frame).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliberate: Option<Trigger>,
    pub evidence: Vec<Fact>,
    /// What the dump could not give, so what the verdict could not use.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<Unread>,
    /// The crash signature to search for.
    pub title: Option<String>,
    /// A crash class that is not a bad pointer: its own typed finding (`analysis/classes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<super::classes::Finding>,
}

impl Verdict {
    /// Takes a class examiner's conclusion: its class, its finding and its culprit (or none:
    /// the finding says why), in place of the faulting-instruction reasoning's.
    pub fn take_class(&mut self, e: super::classes::Examined) {
        self.class = e.class;
        self.function = e.culprit.as_ref().map(|c| Func {
            name: c.function.clone(),
            module: c.module.clone(),
        });
        self.culprit = e.culprit;
        self.finding = Some(e.finding);
        // The faulting-instruction reasoning's facts do not explain this class: keep the log's.
        self.evidence
            .retain(|f| matches!(f, Fact::LogReport { .. } | Fact::PanicLine { .. }));
        self.provenance = None;
    }

    /// No crash report and no faulting frame: nothing to say what happened.
    pub fn is_unknown(&self) -> bool {
        self.class == CrashClass::Unknown
    }
}

/// What the verdict is built from.
pub struct Parts<'a> {
    pub panic: &'a super::model::PanicInfo,
    pub fault: &'a super::model::Fault,
    pub culprit: Option<Culprit>,
    pub provenance: Option<&'a Provenance>,
    pub deliberate: Option<Trigger>,
    /// The function the fault is in.
    pub function: Option<Func>,
    pub caller: Option<String>,
    pub recursion: Option<usize>,
    /// Whether a faulting frame was found on the crashing CPU.
    pub fault_frame: bool,
    pub unknown: Vec<Unread>,
}

/// Puts the reasoning's results together as the verdict, with the facts behind it.
pub fn build(p: Parts) -> Verdict {
    let panic = p.panic;
    let f = p.fault;
    let mut class = f.class;
    // Nothing read says what happened: no crash report and no faulting frame.
    if class == CrashClass::Panic && panic.message.is_none() && !p.fault_frame {
        class = CrashClass::Unknown;
    }
    let explains = f.class.is_pointer() || f.class == CrashClass::DivideError;
    let provenance = p.provenance.filter(|_| explains).cloned();
    let function = p.function.or_else(|| {
        p.culprit.as_ref().map(|c| Func {
            name: c.function.clone(),
            module: c.module.clone(),
        })
    });
    let task = match (&panic.comm, panic.pid) {
        (Some(comm), Some(pid)) => Some(TaskRef {
            comm: comm.clone(),
            pid,
            cpu: panic.cpu,
        }),
        _ => None,
    };
    let place = panic
        .message
        .as_deref()
        .and_then(|m| m.split(" at ").nth(1))
        .map(|x| x.trim_end_matches('!').to_string());
    let mut culprit = p.culprit;
    // A verdict that could not read the symbols or the modules may name the wrong function.
    if p.unknown
        .iter()
        .any(|u| matches!(u, Unread::Symbols | Unread::Modules))
    {
        if let Some(c) = culprit.as_mut() {
            c.confidence = Confidence::Low;
        }
    }
    let mut v = Verdict {
        class,
        task,
        caller: p.caller,
        place,
        panic_reason: panic.panic_string.clone().or_else(|| panic.message.clone()),
        recursion: p.recursion,
        culprit,
        deliberate: p.deliberate,
        unknown: p.unknown,
        title: panic.title.clone(),
        ..Default::default()
    };
    v.evidence = evidence(panic, f, provenance.as_ref(), function.as_ref(), &v.caller);
    v.provenance = provenance;
    v.function = function;
    v
}

/// The facts, in the order an engineer checks them: the log, the instruction and its operand,
/// where the value came from.
fn evidence(
    panic: &super::model::PanicInfo,
    f: &super::model::Fault,
    provenance: Option<&Provenance>,
    function: Option<&Func>,
    caller: &Option<String>,
) -> Vec<Fact> {
    let mut ev = Vec::new();
    if let Some(m) = &panic.message {
        ev.push(Fact::LogReport { message: m.clone() });
    }
    // The panic line, unless it is the report itself (a panic() without an oops before it).
    if let Some(t) = panic
        .panic_string
        .as_ref()
        .filter(|t| panic.message.as_ref() != Some(*t))
    {
        ev.push(Fact::PanicLine { text: t.clone() });
    }
    if let (Some(insn), Some(loc)) = (&f.instruction, &f.location) {
        ev.push(Fact::FaultingInstruction {
            location: loc.clone(),
            instruction: insn.clone(),
        });
        if let Some((file, line)) = f.source.as_deref().and_then(|s| s.rsplit_once(':')) {
            ev.push(Fact::DebuginfoLine {
                location: loc.clone(),
                file: file.into(),
                line: line.into(),
            });
        }
        if let (Some(base), Some(off), true) = (&f.base_register, f.offset, f.class.is_pointer()) {
            ev.push(Fact::Register {
                register: base.clone(),
                value: f.base_value.unwrap_or(0),
                offset: off,
                address: f.address,
            });
        }
    } else if let Some(rip) = &panic.rip {
        ev.push(Fact::LogRip { rip: rip.clone() });
    }
    let base = f.base_register.clone().unwrap_or_default();
    match provenance {
        Some(Provenance::Argument { index, reg, via }) => {
            ev.push(Fact::ArgumentCopy {
                register: base,
                function: function.map(|f| f.name.clone()).unwrap_or_default(),
                arg_index: *index,
                arg_register: reg.to_string(),
                via: via.clone(),
            });
            ev.push(Fact::Caller {
                function: caller.clone(),
            });
        }
        Some(Provenance::Computed { insn, location }) => ev.push(Fact::SetBy {
            register: base,
            instruction: insn.clone(),
            location: location.clone(),
        }),
        _ => {}
    }
    ev
}

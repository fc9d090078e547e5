//! The crash classes that are not a bad pointer: init dying, hung tasks and deadlocks, lockups,
//! OOM, RCU stalls, machine checks, the kernel's own corruption reports. Each class has a file
//! here: it recognises its crash from the log, reads what it needs from the kernel, and gives a
//! typed [`Finding`] and, only when the evidence names one, a [`Culprit`]. When the cause is not
//! kernel code (hardware, user space, memory pressure) the finding says so and there is no
//! culprit function. `render/classes/` writes the words, in English and in Chinese.
//!
//! Adding a class: a `Finding` variant (its data in the class's own file), an examiner in
//! [`EXAMINERS`], a render arm in `render/classes/`.

pub mod corruption;
pub mod hung;
pub mod init;
pub mod lockup;
pub mod mce;
pub mod oom;
pub mod rcu;

use super::model::{CpuTrace, CrashClass, ModuleInfo, PanicInfo};
use super::oops::Oops;
use super::verdict::Culprit;
use crate::kernel::Kernel;
use serde::Serialize;

/// What the class examiners read.
pub struct Input<'a> {
    pub kernel: &'a Kernel,
    /// The kernel log as plain text, one record per line.
    pub log: &'a str,
    pub panic: &'a PanicInfo,
    pub oops: Option<&'a Oops>,
    /// Every CPU's backtrace.
    pub traces: &'a [CpuTrace],
    pub modules: &'a [ModuleInfo],
    /// The unwinder the CPU traces were made with (ORC tables read once), for other tasks.
    pub stack: &'a crate::analysis::stack::KernelStack<'a>,
    /// The culprit of the faulting-instruction reasoning (the interrupted function's), which a
    /// class may keep when its own evidence says the same (a lockup's spinning loop).
    pub prior: Option<&'a Culprit>,
}

/// One class's typed finding (JSON: `verdict.finding`, tagged by `kind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// "Attempted to kill init!": PID 1 exited.
    InitDeath(init::InitDeath),
    /// "INFO: task X:PID blocked for more than N seconds" and hung_task_panic: the tasks in D
    /// state, the locks they wait for, their owners, and a deadlock when the waits form a cycle.
    HungTask(hung::HungTasks),
    /// A soft or hard lockup: the CPU, what it was spinning in, the spinlock and its holder.
    Lockup(lockup::Lockup),
    /// An RCU CPU stall: the stalled CPUs and tasks, what the stalled CPU was running.
    RcuStall(rcu::RcuStall),
    /// A machine check: the hardware's error record(s), decoded.
    MachineCheck(mce::MachineCheck),
    /// An OOM panic (panic_on_oom): the memory, the processes and caches that hold it, the hog.
    Oom(Box<oom::Oom>),
    /// "stack-protector: Kernel stack is corrupted in: F".
    StackProtector(corruption::StackProtector),
    /// CONFIG_DEBUG_LIST's "list_add corruption" / "list_del corruption".
    ListCorruption(Box<corruption::ListCorruption>),
    /// A SLUB debug report: double free, redzone or poison overwritten.
    SlabCorruption(Box<corruption::SlabCorruption>),
    /// "BUG: Bad page state": a page freed while still in use.
    BadPage(corruption::BadPage),
}

/// What an examiner concluded.
#[derive(Debug, Clone)]
pub struct Examined {
    pub class: CrashClass,
    pub finding: Finding,
    /// The culprit the evidence names; `None` when the finding says the cause is not a kernel
    /// function (or that it cannot be told).
    pub culprit: Option<Culprit>,
}

/// A class examiner: `recognise` reads only the log (cheap, decides whether the early verdict may
/// be shown before every CPU is unwound); `examine` does the work.
pub struct Examiner {
    pub recognise: fn(&PanicInfo, Option<&Oops>, &str) -> bool,
    pub examine: fn(&Input) -> Option<Examined>,
}

/// Every class, in order: the first whose examiner gives a finding wins.
pub const EXAMINERS: &[Examiner] = &[
    Examiner {
        recognise: init::recognise,
        examine: init::examine,
    },
    Examiner {
        recognise: hung::recognise,
        examine: hung::examine,
    },
    // A machine check before lockups and stalls: whatever else the log says then, the hardware
    // failed.
    Examiner {
        recognise: mce::recognise,
        examine: mce::examine,
    },
    Examiner {
        recognise: lockup::recognise,
        examine: lockup::examine,
    },
    Examiner {
        recognise: rcu::recognise,
        examine: rcu::examine,
    },
    Examiner {
        recognise: oom::recognise,
        examine: oom::examine,
    },
    Examiner {
        recognise: corruption::recognise,
        examine: corruption::examine,
    },
];

/// Whether a class of this module will examine this crash (from the log alone).
pub fn recognised(panic: &PanicInfo, oops: Option<&Oops>, log: &str) -> bool {
    EXAMINERS.iter().any(|e| (e.recognise)(panic, oops, log))
}

/// The finding of the first class that recognises the crash and examines it.
pub fn examine(inp: &Input) -> Option<Examined> {
    EXAMINERS
        .iter()
        .filter(|e| (e.recognise)(inp.panic, inp.oops, inp.log))
        .find_map(|e| (e.examine)(inp))
}

/// The function that kept a CPU (a lockup, a stall), blamed by `rule`: high confidence in a
/// module, medium in core code; the module's taint from the module list.
pub fn blame(
    function: &str,
    module: &Option<String>,
    rule: super::verdict::CulpritRule,
    modules: &[ModuleInfo],
) -> Culprit {
    Culprit {
        function: function.to_string(),
        module: module.clone(),
        confidence: if module.is_some() {
            super::model::Confidence::High
        } else {
            super::model::Confidence::Medium
        },
        rule,
        taint: module
            .as_ref()
            .and_then(|m| modules.iter().find(|x| &x.name == m))
            .map(|x| super::verdict::Taint::of(&x.taint))
            .unwrap_or_default(),
    }
}

/// The log's lines, newest last, at most `max` of them before the line that contains `needle`
/// (its last occurrence), the line itself included. Bounded: never more than `max` + 1 lines.
pub fn lines_before<'a>(log: &'a str, needle: &str, max: usize) -> Vec<&'a str> {
    let lines: Vec<&str> = log.lines().collect();
    let Some(end) = lines.iter().rposition(|l| l.contains(needle)) else {
        return Vec::new();
    };
    lines[end.saturating_sub(max)..=end].to_vec()
}

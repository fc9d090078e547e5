//! The words of the crash classes that are not a bad pointer (`analysis/classes`): each class's
//! narrative, evidence and next steps in English and Chinese, and its own report section
//! (`finding`: the hung tasks and their locks, the lockup, the memory summary...), written like
//! crash's output so a support engineer reads it as they would read crash.

mod corruption;
mod hung;
mod init;
mod lockup;
mod mce;
mod oom;
mod rcu;

use super::verdict::Both;
use super::Lang;
use crate::analysis::classes::Finding;
use crate::analysis::verdict::Verdict;

/// What a class says in the verdict.
#[derive(Debug, Clone, Default)]
pub struct ClassWords {
    /// What happened and why, sentence by sentence (the verdict's narrative before its
    /// conclusion).
    pub narrative: Vec<Both>,
    /// The finding's own facts, each with where it was read (`log`, `memory`, `backtrace`).
    pub evidence: Vec<(&'static str, Both)>,
    pub next_steps: Vec<Both>,
}

/// The verdict's words for a class finding.
pub fn words(v: &Verdict, f: &Finding) -> ClassWords {
    match f {
        Finding::InitDeath(d) => init::words(v, d),
        Finding::HungTask(d) => hung::words(v, d),
        Finding::Lockup(d) => lockup::words(v, d),
        Finding::RcuStall(d) => rcu::words(v, d),
        Finding::MachineCheck(d) => mce::words(v, d),
        Finding::Oom(o) => oom::words(v, o),
        Finding::StackProtector(x) => corruption::stack_words(v, x),
        Finding::ListCorruption(x) => corruption::list_words(v, x),
        Finding::SlabCorruption(x) => corruption::slab_words(v, x),
        Finding::BadPage(x) => corruption::bad_page_words(v, x),
    }
}

/// The class's own section of the report (id `finding`), in `lang`; empty when it has none.
pub fn section(f: &Finding, lang: Lang) -> String {
    match f {
        Finding::InitDeath(d) => init::section(d, lang),
        Finding::HungTask(d) => hung::section(d, lang),
        Finding::Lockup(d) => lockup::section(d, lang),
        Finding::RcuStall(d) => rcu::section(d, lang),
        Finding::MachineCheck(d) => mce::section(d, lang),
        Finding::Oom(o) => oom::section(o, lang),
        Finding::StackProtector(x) => corruption::stack_section(x, lang),
        Finding::ListCorruption(x) => corruption::list_section(x, lang),
        Finding::SlabCorruption(x) => corruption::slab_section(x, lang),
        Finding::BadPage(x) => corruption::bad_page_section(x, lang),
    }
}

/// The section's title.
pub fn title(f: &Finding, lang: Lang) -> &'static str {
    let (en, zh) = match f {
        Finding::InitDeath(_) => ("Init exit", "init 进程退出"),
        Finding::HungTask(_) => ("Hung tasks and locks", "D 状态任务与锁"),
        Finding::Lockup(_) => ("Lockup", "CPU 锁死（lockup）"),
        Finding::RcuStall(_) => ("RCU stall", "RCU 停滞"),
        Finding::MachineCheck(_) => ("Machine check", "机器检查异常（MCE）"),
        Finding::Oom(_) => ("Out of memory", "内存耗尽（OOM）"),
        Finding::StackProtector(_) => ("Stack protector", "栈保护"),
        Finding::ListCorruption(_) => ("List corruption", "链表损坏"),
        Finding::SlabCorruption(_) => ("Slab corruption", "slab 对象损坏"),
        Finding::BadPage(_) => ("Bad page state", "页状态异常"),
    };
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

//! The data the analysis produces: the panic as the log tells it, frames and CPU traces, the
//! fault, the culprit, the disassembly of the faulting function. The report re-exports these
//! (`crashlens::report::Frame` ...); they know nothing of the report or of words.

pub use super::unwind::How;
use serde::{Deserialize, Serialize};

/// What a frame of a backtrace is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameKind {
    /// A return address.
    #[default]
    Frame,
    /// An interrupted pc with its saved `pt_regs`.
    Exception,
    /// The CPU's or task's saved state the unwind started from.
    Start,
}

/// The crash class, serialised as `null-deref`, `non-canonical`, ... (the JSON `fault.class`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashClass {
    NullDeref,
    /// A pointer with list or slab poison in it (`0xdead...`, `0xdead4ead`).
    Poison,
    /// Slab poison `0x6b6b...`: the object was freed.
    UseAfterFree,
    NonCanonical,
    WildPointer,
    Bug,
    Warning,
    DivideError,
    InvalidOpcode,
    StackOverflow,
    StackCorruption,
    Lockup,
    HungTask,
    Oom,
    Sysrq,
    MachineCheck,
    /// An RCU CPU stall (`rcu: INFO: rcu_sched detected stalls on CPUs/tasks`).
    RcuStall,
    /// "Attempted to kill init!": PID 1 exited.
    InitDeath,
    /// CONFIG_DEBUG_LIST found a list's pointers inconsistent.
    ListCorruption,
    /// SLUB's debug checks: double free, redzone or poison overwritten.
    SlabCorruption,
    /// "BUG: Bad page state": the page allocator was given back a page still in use.
    BadPage,
    /// panic() called by the code itself.
    #[default]
    Panic,
    /// Nothing read says what happened (no crash report, no faulting frame).
    Unknown,
}

impl CrashClass {
    /// The JSON name (`null-deref`).
    pub fn as_str(self) -> &'static str {
        use CrashClass::*;
        match self {
            NullDeref => "null-deref",
            Poison => "poison",
            UseAfterFree => "use-after-free",
            NonCanonical => "non-canonical",
            WildPointer => "wild-pointer",
            Bug => "bug",
            Warning => "warning",
            DivideError => "divide-error",
            InvalidOpcode => "invalid-opcode",
            StackOverflow => "stack-overflow",
            StackCorruption => "stack-corruption",
            Lockup => "lockup",
            HungTask => "hung-task",
            Oom => "oom",
            Sysrq => "sysrq",
            MachineCheck => "machine-check",
            RcuStall => "rcu-stall",
            InitDeath => "init-death",
            ListCorruption => "list-corruption",
            SlabCorruption => "slab-corruption",
            BadPage => "bad-page",
            Panic => "panic",
            Unknown => "unknown",
        }
    }

    /// A fault through a bad pointer.
    pub fn is_pointer(self) -> bool {
        use CrashClass::*;
        matches!(
            self,
            NullDeref | Poison | UseAfterFree | NonCanonical | WildPointer
        )
    }
}

impl std::fmt::Display for CrashClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure the culprit is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    #[default]
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PanicInfo {
    /// The first line of the crash report in the log (e.g. `BUG: kernel NULL pointer
    /// dereference, address: 0000000000000018`).
    pub message: Option<String>,
    /// The `Kernel panic - not syncing: ...` line, when the kernel got that far.
    pub panic_string: Option<String>,
    /// syzbot-style title, e.g. `BUG: unable to handle kernel NULL pointer dereference in f`.
    pub title: Option<String>,
    /// Crash type as in syzkaller's corpus (`NULL-POINTER-DEREFERENCE`, `BUG`, ...).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub cpu: Option<u32>,
    pub pid: Option<u32>,
    pub comm: Option<String>,
    /// Taint string from the `CPU: ... Tainted: G OE` line.
    pub taint: Option<String>,
    /// `function+off/size [module]` of the faulting RIP as the kernel printed it.
    pub rip: Option<String>,
    /// The guilty frame by syzbot's rules (the function named in the title).
    pub frame: Option<String>,
    /// Where these facts came from (`log` for now, `memory` once tasks are read).
    pub source: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModuleInfo {
    pub name: String,
    /// Address of its `struct module` (crash's `mod` sorts and lists by it).
    #[serde(with = "crate::util::hex", default)]
    pub addr: u64,
    #[serde(with = "crate::util::hex")]
    pub base: u64,
    pub size: u64,
    pub taint: String,
}

impl From<&crate::kernel::Module> for ModuleInfo {
    fn from(m: &crate::kernel::Module) -> Self {
        ModuleInfo {
            name: m.name.clone(),
            addr: m.addr,
            base: m.base,
            size: m.size,
            taint: m.taint.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Frame {
    pub function: Option<String>,
    pub offset: Option<u64>,
    pub size: Option<u64>,
    pub module: Option<String>,
    #[serde(with = "crate::util::hex")]
    pub address: u64,
    #[serde(with = "crate::util::hex::opt")]
    pub sp: Option<u64>,
    pub reliable: bool,
    /// `frame` (a return address), `exception` (an interrupted pc with its pt_regs), `start`
    /// (the CPU's saved state).
    pub kind: FrameKind,
    /// How it was found (`orc`, `fp`, `regs`, `scan`, `start`).
    pub how: How,
    /// Saved registers of an exception frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regs: Option<crate::dump::Regs>,
    /// `--- <IRQ stack> ---` style marker printed before this frame when the stack changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// Source file of the address (of the call for a return address), from debuginfo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Functions inlined at this address, innermost first, each with its file/line
    /// (from debuginfo; the frame's own function is not repeated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inlined: Vec<crate::debuginfo::InlineFrame>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CpuTrace {
    pub cpu: u32,
    pub pid: Option<u32>,
    pub comm: Option<String>,
    #[serde(with = "crate::util::hex::opt")]
    pub task: Option<u64>,
    pub frames: Vec<Frame>,
    /// Why the trace stopped early, if it did.
    pub error: Option<String>,
}
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fault {
    /// The faulting address (CR2 for page faults, the computed operand address otherwise).
    #[serde(with = "crate::util::hex::opt")]
    pub address: Option<u64>,
    /// The faulting instruction, AT&T syntax.
    pub instruction: Option<String>,
    /// `fixture_null_deref+0x15`
    pub location: Option<String>,
    #[serde(with = "crate::util::hex::opt")]
    pub ip: Option<u64>,
    /// Base register of the memory operand (`rbx`).
    pub base_register: Option<String>,
    #[serde(with = "crate::util::hex::opt")]
    pub base_value: Option<u64>,
    /// Displacement of the memory operand (the field offset for a NULL base).
    pub offset: Option<i64>,
    pub access: Option<String>,
    /// 1-based System V argument number the base register carried, if it did.
    pub argument_index: Option<u32>,
    /// The argument register it came from (`rdi`).
    pub argument_register: Option<String>,
    /// Field at that offset when the type is known (`struct page._refcount`).
    pub field: Option<String>,
    /// Source line of the faulting instruction, `file:line` (from debuginfo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When that line is in an inlined function: the function (`rep_nop`) ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_function: Option<String>,
    /// ... and where it was inlined: `lab_spin (/usr/src/crashlens_lab/crashlens_lab.c:112)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inlined_into: Option<String>,
    /// The crash class: null-deref, non-canonical, poison, use-after-free, wild-pointer, bug,
    /// warning, divide-error, invalid-opcode, stack-overflow, lockup, hung-task, oom, sysrq,
    /// machine-check, panic.
    pub class: CrashClass,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DisasmLine {
    #[serde(with = "crate::util::hex")]
    pub address: u64,
    pub location: Option<String>,
    pub text: String,
    pub bytes: String,
    pub faulting: bool,
}

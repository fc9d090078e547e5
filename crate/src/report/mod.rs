//! The one report data model. The CLI (text, JSON, Markdown), the web page and the tests all
//! consume this; renderers live beside it and only read it.
//!
//! Stable JSON keys (relied on by outside checks): `kernel.release`, `kernel.build_id`,
//! `crash_time`, `cpus`, `panic.message`, `panic.cpu`, `panic.pid`, `panic.comm`, `panic.title`,
//! `panic.type`, `fault`, `culprit`, `narrative.en`, `narrative.zh`, `evidence`, `log`, `modules`,
//! `backtrace`.

pub mod build;
pub mod crash;
pub mod dis;
pub mod tasks;

use crate::cache::CacheStats;
use crate::dump::ContainerInfo;
use crate::kernel::printk::LogRecord;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub tool: ToolInfo,
    pub dump: DumpInfo,
    pub kernel: KernelInfo,
    /// Crash time, seconds since the epoch (VMCOREINFO CRASHTIME or the dump header).
    pub crash_time: Option<u64>,
    /// Crash time as UTC text, like crash's `DATE`.
    pub crash_time_utc: Option<String>,
    /// Number of CPUs (NT_PRSTATUS notes).
    pub cpus: Option<u32>,
    pub panic: PanicInfo,
    /// The kernel log records, oldest first.
    pub log: Vec<LogRecord>,
    pub modules: Vec<ModuleInfo>,
    /// crash's `sys` summary read from memory (date, uptime, load, tasks, memory, panic task).
    pub sys: Option<crate::kernel::sys::SysInfo>,
    pub backtrace: Vec<Frame>,
    /// Every CPU's backtrace (crash's `bt -a`).
    pub cpu_traces: Vec<CpuTrace>,
    /// The fault decoded from the faulting instruction and registers.
    pub fault: Option<Fault>,
    /// Who most plausibly owns the bug ("probably caused by").
    pub culprit: Option<Culprit>,
    /// The verdict in words.
    pub narrative: Option<Narrative>,
    /// The chain of facts behind the verdict, each with its source.
    pub evidence: Vec<Evidence>,
    /// Disassembly of the faulting function, the faulting instruction marked.
    pub disassembly: Vec<DisasmLine>,
    /// Stable id of this crash signature (hash of title and guilty frames), for grouping.
    pub bucket: Option<String>,
    /// The kernel's own crash report from the log, parsed (title, registers, Code, Call Trace...).
    pub oops: Option<crate::analysis::oops::Oops>,
    /// Things that could not be derived; the report is partial where these say so.
    pub warnings: Vec<String>,
    /// True when something the report would normally show is missing.
    pub partial: bool,
    /// The extra files used (vmlinux / .ko with DWARF, System.map) and what they cover;
    /// rejected ones are in `warnings`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub debuginfo: Vec<String>,
    /// Only in the reports shown while the analysis runs: the keys of this model that are still
    /// being worked out (e.g. `["backtrace", "culprit", ...]`). Absent from a finished report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DumpInfo {
    pub file_name: Option<String>,
    pub container: ContainerInfo,
    pub cache: CacheStats,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct KernelInfo {
    pub release: Option<String>,
    /// `#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)` (utsname.version).
    pub version: Option<String>,
    pub build_id: Option<String>,
    pub machine: Option<String>,
    pub page_size: Option<u64>,
    /// KASLR offset (VMCOREINFO KERNELOFFSET).
    #[serde(with = "crate::util::hex::opt")]
    pub kaslr_offset: Option<u64>,
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
    #[serde(with = "crate::util::hex")]
    pub base: u64,
    pub size: u64,
    pub taint: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
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
    pub kind: String,
    /// How it was found: `orc`, `scan`, `start`.
    pub how: String,
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

#[derive(Debug, Clone, Default, Serialize)]
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

/// One task's backtrace (crash's `bt PID`, `foreach bt`): from its CPU's saved registers when
/// it was running at the crash, else from its saved switch frame.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskTrace {
    #[serde(flatten)]
    pub trace: CpuTrace,
    pub ppid: i32,
    /// ps letter (R S D T t X Z P I).
    pub state: String,
    /// Running on `cpu` at the crash (crash's `>` in ps).
    pub active: bool,
    /// `prstatus` (the CPU's saved registers) or `switch_frame` (`thread.sp`).
    pub start: String,
}

/// One line of crash's `ps`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PsRow {
    pub pid: i32,
    pub ppid: i32,
    pub cpu: u32,
    #[serde(with = "crate::util::hex")]
    pub task: u64,
    /// ps letter (R S D T t X Z P I).
    pub state: String,
    /// crash's two-letter state (RU IN UN ST TR DE ZO PA ID).
    pub st: String,
    pub comm: String,
    /// Running on its CPU at the crash (crash's `>`).
    pub active: bool,
    /// A kernel thread (no `mm`): crash prints its name in brackets.
    pub kthread: bool,
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
    pub class: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Culprit {
    pub function: String,
    pub module: Option<String>,
    pub reason: String,
    /// The reason in Simplified Chinese.
    pub reason_zh: String,
    /// `high`, `medium`, `low`.
    pub confidence: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Narrative {
    pub en: String,
    pub zh: String,
    /// Summary line first, then these: what to do next.
    pub next_steps_en: Vec<String>,
    pub next_steps_zh: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    /// `log`, `register`, `instruction`, `backtrace`, `module`, `memory`.
    pub source: String,
    pub en: String,
    pub zh: String,
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

impl Report {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }
}

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

pub use crate::analysis::model::{
    Confidence, CpuTrace, CrashClass, DisasmLine, Fault, Frame, FrameKind, How, ModuleInfo,
    PanicInfo,
};

use crate::cache::CacheStats;
use crate::dump::ContainerInfo;
use crate::kernel::printk::LogRecord;
use serde::{Deserialize, Serialize};

/// Serialised by hand in `render/json.rs` (the verdict's words come from the renderer).
#[derive(Debug, Clone, Default)]
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
    /// The verdict as data: class, culprit and its rule, the facts, what could not be read.
    /// In JSON it is `verdict`, and its words are `culprit`, `narrative` and `evidence`,
    /// written by `render::verdict` when the report is serialised (`render/json.rs`).
    pub verdict: Option<crate::analysis::verdict::Verdict>,
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
    /// What the analysis as a whole could not read (pages missing while reading it); the
    /// verdict's own list, what it was made without, is `verdict.unknown`.
    pub missing: Vec<crate::analysis::verdict::Unread>,
    /// The extra files used (vmlinux / .ko with DWARF, System.map) and what they cover;
    /// rejected ones are in `warnings`.
    pub debuginfo: Vec<String>,
    /// Only in the reports shown while the analysis runs: the keys of this model that are still
    /// being worked out (e.g. `["backtrace", "culprit", ...]`). Absent from a finished report.
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

impl Report {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }

    /// The culprit, when the verdict names one.
    pub fn culprit(&self) -> Option<&crate::analysis::verdict::Culprit> {
        self.verdict.as_ref()?.culprit.as_ref()
    }
}

//! Builds the [`Report`] from a byte source: container -> kernel -> log -> analysis.
//! Progress is reported through a callback so the CLI and the web worker can show it.

use super::{DumpInfo, KernelInfo, PanicInfo, Report, ToolInfo};
use crate::analysis::oops;
use crate::cache::{PageCache, DEFAULT_BLOCK};
use crate::debuginfo::{DebugInfo, Extra};
use crate::dump;
use crate::error::Result;
use crate::kernel::{printk, Kernel};
use crate::source::ReadAt;
use std::rc::Rc;

/// What the front end learns while the analysis runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Progress<'a> {
    /// What is being done now: container, index, debuginfo, kernel, log, backtrace, cpus, done.
    pub phase: &'static str,
    /// Bytes read from the dump so far.
    pub bytes_read: u64,
    pub file_size: u64,
    /// The report so far, when a part of it has just become ready; its `pending` lists the
    /// parts still being worked out. The page shows it at once.
    #[serde(skip)]
    pub partial: Option<&'a Report>,
}

pub struct Options {
    /// Page-cache budget in bytes.
    pub cache_budget: usize,
    pub file_name: Option<String>,
    /// Extra files: vmlinux / .ko with DWARF, System.map (checked against the dump; a file
    /// that does not match is reported and not used).
    pub debuginfo: Vec<Extra>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cache_budget: crate::cache::DEFAULT_BUDGET,
            file_name: None,
            debuginfo: Vec::new(),
        }
    }
}

/// An opened dump with its cache, for the commands that need more than the report.
pub struct Session {
    pub cache: Rc<PageCache<Box<dyn ReadAt>>>,
    pub kernel: Kernel,
    /// What the extra files gave (empty without them); see [`Session::load_debuginfo`].
    pub debuginfo: DebugInfo,
}

impl Session {
    pub fn open(src: Box<dyn ReadAt>, opts: &Options) -> Result<Session> {
        let cache = Rc::new(PageCache::with_budget(
            src,
            opts.cache_budget,
            DEFAULT_BLOCK,
        ));
        let dyn_src: Rc<dyn ReadAt> = cache.clone();
        let d = dump::open(dyn_src)?;
        Ok(Session {
            kernel: Kernel::new(d),
            cache,
            debuginfo: DebugInfo::default(),
        })
    }

    /// Examines the extra files of `opts` and keeps those that match this dump.
    pub fn load_debuginfo(&mut self, opts: &Options) {
        self.debuginfo.add_all(&self.kernel, &opts.debuginfo);
    }

    /// The report, sharpened by the debuginfo loaded.
    pub fn report(&self) -> Report {
        report_with(&self.kernel, &self.debuginfo)
    }

    /// Several files of one dump (the parts of a split dump): one cache and budget for all.
    pub fn open_many(srcs: Vec<Box<dyn ReadAt>>, opts: &Options) -> Result<Session> {
        Session::open_many_with_progress(srcs, opts, &mut |_, _| {})
    }

    /// As [`Session::open_many`]; `index(done, total)` reports the index pass over flattened files.
    pub fn open_many_with_progress(
        mut srcs: Vec<Box<dyn ReadAt>>,
        opts: &Options,
        index: &mut dyn FnMut(u64, u64),
    ) -> Result<Session> {
        if srcs.len() == 1 {
            let cache = Rc::new(PageCache::with_budget(
                srcs.pop().expect("one"),
                opts.cache_budget,
                DEFAULT_BLOCK,
            ));
            let dyn_src: Rc<dyn ReadAt> = cache.clone();
            let d = dump::open_many_with_progress(vec![dyn_src], index)?;
            return Ok(Session {
                kernel: Kernel::new(d),
                cache,
                debuginfo: DebugInfo::default(),
            });
        }
        let concat = crate::source::Concat::new(srcs)?;
        let lens: Vec<u64> = (0..concat.count()).map(|i| concat.part_len(i)).collect();
        let cache = Rc::new(PageCache::with_budget(
            Box::new(concat) as Box<dyn ReadAt>,
            opts.cache_budget,
            DEFAULT_BLOCK,
        ));
        let all: Rc<dyn ReadAt> = cache.clone();
        let parts: Vec<dump::Source> = lens
            .iter()
            .enumerate()
            .map(|(i, &len)| {
                Rc::new(crate::source::Window {
                    inner: all.clone(),
                    base: (i as u64) << crate::source::CONCAT_SHIFT,
                    len,
                }) as dump::Source
            })
            .collect();
        let d = dump::open_many_with_progress(parts, index)?;
        Ok(Session {
            kernel: Kernel::new(d),
            cache,
            debuginfo: DebugInfo::default(),
        })
    }
}

pub fn analyze(
    src: Box<dyn ReadAt>,
    opts: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report> {
    analyze_many(vec![src], opts, progress)
}

/// [`analyze`] for a dump given as several files (split dump parts).
pub fn analyze_many(
    srcs: Vec<Box<dyn ReadAt>>,
    opts: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report> {
    let file_size = srcs.iter().map(|s| s.len()).sum();
    progress(Progress {
        phase: "container",
        bytes_read: 0,
        file_size,
        partial: None,
    });
    let mut s = Session::open_many_with_progress(srcs, opts, &mut |done, total| {
        progress(Progress {
            phase: "index",
            bytes_read: done,
            file_size: total,
            partial: None,
        })
    })?;
    let cache = s.cache.clone();
    let mut tell = |phase, partial: Option<&Report>| {
        progress(Progress {
            phase,
            bytes_read: cache.stats().bytes_read,
            file_size,
            partial,
        });
    };
    if !opts.debuginfo.is_empty() {
        tell("debuginfo", None);
        s.load_debuginfo(opts);
    }
    tell("kernel", None);
    let mut r = report_staged(&s.kernel, &s.debuginfo, &mut |part: &Report| {
        // Each stage names what comes next: the log, then the crashing CPU, then the others.
        let phase = if part.pending.iter().any(|p| p == "log") {
            "log"
        } else if part.pending.iter().any(|p| p == "backtrace") {
            "backtrace"
        } else {
            "cpus"
        };
        let mut shown = part.clone();
        shown.dump.file_name = opts.file_name.clone();
        tell(phase, Some(&shown));
    });
    r.dump.file_name = opts.file_name.clone();
    tell("done", None);
    r.dump.cache = s.cache.stats();
    Ok(r)
}

/// Everything the report says about a kernel, from its memory.
pub fn report_of(k: &Kernel) -> Report {
    report_with(k, &DebugInfo::default())
}

/// [`report_of`], with source lines and DWARF types from the user's debuginfo where it has them.
pub fn report_with(k: &Kernel, dbg: &DebugInfo) -> Report {
    report_staged(k, dbg, &mut |_| {})
}

/// Keys of the report filled by the log stage, and by the crash analysis.
const FROM_LOG: &[&str] = &["log", "panic", "oops"];
const FROM_CRASH: &[&str] = &[
    "backtrace",
    "cpu_traces",
    "fault",
    "culprit",
    "narrative",
    "evidence",
    "verdict",
    "disassembly",
    "bucket",
];

/// [`report_with`], handing the report to `stage` each time a part of it is ready (the kernel's
/// identity, `sys` and modules; then the log and the panic; then the crashing CPU's backtrace and
/// the verdict), with `pending` naming what is still to come.
pub fn report_staged(k: &Kernel, dbg: &DebugInfo, stage: &mut dyn FnMut(&Report)) -> Report {
    let vi = &k.vmcoreinfo;
    let mut r = Report {
        tool: ToolInfo {
            name: "crashlens".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        dump: DumpInfo {
            container: k.container().clone(),
            ..Default::default()
        },
        kernel: KernelInfo {
            release: vi.osrelease.clone(),
            build_id: vi.build_id.clone(),
            page_size: vi.page_size,
            kaslr_offset: vi.kernel_offset,
            ..Default::default()
        },
        crash_time: vi.crash_time,
        cpus: Some(k.nr_cpus()).filter(|&n| n > 0),
        warnings: k.warnings.clone(),
        ..Default::default()
    };
    r.warnings.extend(k.container().warnings.iter().cloned());
    r.warnings.extend(dbg.warnings.iter().cloned());
    r.debuginfo = dbg.notes.clone();
    if let Some(t) = r.crash_time {
        r.crash_time_utc = Some(crate::util::utc_date(t));
    }
    // new_utsname: sysname, nodename, release, version, machine, domainname.
    if let Some(u) = crate::kernel::sys::read_utsname(k) {
        let field = |i: usize| u.get(i).filter(|s| !s.is_empty()).cloned();
        if r.kernel.release.is_none() {
            r.kernel.release = field(2);
        }
        r.kernel.version = field(3);
        r.kernel.machine = field(4);
    }
    let syms = k.symbols();
    r.warnings.extend(syms.warnings.iter().cloned());
    r.modules = syms.modules.iter().map(super::ModuleInfo::from).collect();
    let (sys, sys_at) = k.reading("the system information", || {
        crate::kernel::sys::sys_info_parts(k)
    });
    let tasks_at = r.warnings.len() + sys_at;
    r.warnings.extend(sys.warnings.iter().cloned());
    if r.kernel.machine.is_none() {
        r.kernel.machine = sys.machine.clone();
    }
    if r.crash_time.is_none() && sys.date.is_some() {
        // No CRASHTIME (QEMU dumps): the timekeeper's wall clock at the crash.
        r.crash_time = sys.date;
        r.crash_time_utc = sys.date_text.clone();
    }
    r.sys = Some(sys);
    r.pending = FROM_LOG
        .iter()
        .chain(FROM_CRASH)
        .map(|s| s.to_string())
        .collect();
    stage(&r);
    match k.reading("the kernel log", || printk::read_log(k)) {
        Ok(log) => r.log = log,
        Err(e) => {
            r.partial = true;
            r.warnings.push(format!("kernel log unavailable: {e}"));
        }
    }
    let text = printk::plain_text(&r.log);
    let all = oops::parse_all(&text);
    if let Some(o) = oops::primary(&all) {
        r.panic = PanicInfo {
            message: Some(o.message.clone()),
            panic_string: o.panic_string.clone(),
            title: Some(o.title.clone()),
            kind: Some(o.kind.clone()),
            cpu: o.cpu,
            pid: o.pid,
            comm: o.comm.clone(),
            taint: o.taint.clone(),
            rip: o.rip.clone(),
            frame: o.frame.clone(),
            source: Some("log".into()),
        };
        // Kernels whose sysrq_handle_crash oopses instead of calling panic() (before 5.x's
        // panic("sysrq triggered crash")): the report is the trigger line and the oops after
        // it, and its first line is the trigger, as crash's PANIC says it.
        if o.panic_string.is_none() {
            let lines: Vec<&str> = text.lines().collect();
            let from = o.start_line.saturating_sub(3);
            if let Some(l) = lines
                .get(from..o.start_line.min(lines.len()))
                .and_then(|w| w.iter().rev().find(|l| l.contains("Trigger a crash")))
            {
                let at = l.find("SysRq").or_else(|| l.find("sysrq")).unwrap_or(0);
                r.panic.message = Some(l[at..].trim().to_string());
            }
        }
        r.oops = Some(o.clone());
    } else if let Some(p) = r.log.iter().rev().find_map(|l| {
        l.text
            .find("Kernel panic - not syncing")
            .map(|i| l.text[i..].to_string())
    }) {
        r.panic.message = Some(p.clone());
        r.panic.panic_string = Some(p);
        r.panic.source = Some("log".into());
    }
    if r.panic.message.is_none() {
        r.warnings
            .push("no crash report found in the kernel log".into());
    }
    r.pending = FROM_CRASH.iter().map(|s| s.to_string()).collect();
    stage(&r);
    r.pending.clear();
    super::crash::analyze_crash_with(k, &mut r, oops::primary(&all), dbg, stage);
    // The task count last: the verdict does not wait for a walk of the whole task list. Its
    // warnings go where `sys_info` has them.
    if let Some(sys) = r.sys.as_mut() {
        let w = k.reading("the system information", || {
            crate::kernel::sys::add_tasks(k, sys, sys_at)
        });
        let at = tasks_at.min(r.warnings.len());
        r.warnings.splice(at..at, w);
    }
    note_missing_pages(k, &mut r);
    r
}

/// A report built from a dump that lacked pages it asked for is partial, and says so first:
/// what was missing, how many pages, and while reading what; the container's own warnings
/// about truncation come right after.
fn note_missing_pages(k: &Kernel, r: &mut Report) {
    let u = k.unreadable();
    if !u.any() {
        return;
    }
    r.partial = true;
    for w in &u.while_reading {
        if let Some(x) = crate::analysis::verdict::Unread::of_reading(w) {
            if !r.missing.contains(&x) {
                r.missing.push(x);
            }
        }
    }
    let mut kinds = Vec::new();
    if u.past_end > 0 {
        kinds.push(format!("{} past the end of the truncated file", u.past_end));
    }
    if u.excluded > 0 {
        kinds.push(format!("{} filtered out by makedumpfile", u.excluded));
    }
    if u.unreadable > 0 {
        kinds.push(format!("{} damaged or never written", u.unreadable));
    }
    let total = u.past_end + u.excluded + u.unreadable;
    let mut w = format!(
        "incomplete analysis: {total} page{} it needed {} missing from the dump ({})",
        if total == 1 { "" } else { "s" },
        if total == 1 { "was" } else { "were" },
        kinds.join(", ")
    );
    if !u.while_reading.is_empty() {
        w.push_str(&format!(", while reading {}", u.while_reading.join(", ")));
    }
    if let Some(f) = u.first.first() {
        w.push_str(&format!("; first at {:#x}: {}", f.vaddr, f.why));
    }
    let container = &k.container().warnings;
    let (trunc, rest): (Vec<String>, Vec<String>) = std::mem::take(&mut r.warnings)
        .into_iter()
        .partition(|x| container.contains(x));
    r.warnings = std::iter::once(w).chain(trunc).chain(rest).collect();
}

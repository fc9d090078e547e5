//! The crash part of the report: every CPU's backtrace, the faulting function's disassembly and
//! the verdict, stored from what [`crate::analysis::crash`] finds.

use super::{CpuTrace, Report};
use crate::analysis::classes;
use crate::analysis::crash::{self, annotate_frames, cpu_trace};
use crate::analysis::oops::Oops;
use crate::analysis::stack::KernelStack;
use crate::debuginfo::DebugInfo;
use crate::kernel::Kernel;

pub use crate::analysis::crash::cpu_traces;

/// Fills backtraces, fault, culprit, narrative, evidence, disassembly and bucket.
pub fn analyze_crash(k: &Kernel, r: &mut Report, oops: Option<&Oops>) {
    analyze_crash_with(k, r, oops, &DebugInfo::default(), &mut |_| {})
}

/// [`analyze_crash`], sharpened by the user's debuginfo (lines, DWARF field names).
///
/// When the log names the crashing CPU, that CPU is unwound first and the verdict is handed to
/// `verdict` (with `cpu_traces` still pending) before the other CPUs are unwound: on a machine
/// with many CPUs the page shows the cause while the rest is still being read.
pub fn analyze_crash_with(
    k: &Kernel,
    r: &mut Report,
    oops: Option<&Oops>,
    dbg: &DebugInfo,
    verdict: &mut dyn FnMut(&Report),
) {
    let ks = KernelStack::new(k);
    r.warnings.extend(ks.warnings.iter().cloned());
    let with_regs = k.cpus_with_regs();
    let text = crate::kernel::printk::plain_text(&r.log);
    // A crash class examined below needs every CPU (the lock holder, the stalled CPU): then the
    // verdict is not shown before they are all unwound.
    let by_class = classes::recognised(&r.panic, oops, &text);
    let named = r
        .panic
        .cpu
        .filter(|c| with_regs.contains(c) && with_regs.len() > 1 && !by_class);
    let traced = |cpus: &mut dyn Iterator<Item = u32>| -> Vec<CpuTrace> {
        cpus.filter_map(|cpu| cpu_trace(k, &ks, cpu))
            .map(|mut t| {
                annotate_frames(&mut t.frames, dbg);
                t
            })
            .collect()
    };
    r.cpu_traces = match named {
        Some(c) => traced(&mut std::iter::once(c)),
        None => traced(&mut with_regs.iter().copied()),
    };
    let log = (r.log.len(), oops);
    let c = crash::analyze(k, &mut r.cpu_traces, &mut r.panic, &r.modules, log, dbg);
    store(r, c);
    if let Some(c) = named {
        r.pending = vec!["cpu_traces".into()];
        verdict(r);
        r.pending.clear();
        r.cpu_traces
            .extend(traced(&mut with_regs.iter().copied().filter(|&i| i != c)));
        crate::util::sort_by_key(&mut r.cpu_traces, |t| t.cpu);
    }
    if let Some(w) = crash::name_tasks_without_btf(k, &mut r.cpu_traces, &r.panic, &text) {
        r.warnings.push(w);
    }
    if by_class {
        let inp = classes::Input {
            kernel: k,
            log: &text,
            panic: &r.panic,
            oops,
            traces: &r.cpu_traces,
            modules: &r.modules,
            stack: &ks,
            prior: r.verdict.as_ref().and_then(|v| v.culprit.as_ref()),
        };
        if let Some(e) = classes::examine(&inp) {
            if let Some(v) = r.verdict.as_mut() {
                v.take_class(e);
                if let Some(f) = r.fault.as_mut() {
                    f.class = v.class;
                }
            }
        }
        // The class's examination read more (the task list for an OOM or a hung task): what it
        // could not read, the verdict was made without too.
        if let Some(v) = r.verdict.as_mut() {
            for w in &k.unreadable().while_reading {
                if let Some(x) = crate::analysis::verdict::Unread::of_reading(w) {
                    if !v.unknown.contains(&x) {
                        v.unknown.push(x);
                    }
                }
            }
        }
    }
}

/// Stores the crashing CPU's analysis in the report.
fn store(r: &mut Report, c: crash::Crash) {
    r.fault = Some(c.fault);
    r.verdict = Some(c.verdict);
    r.bucket = Some(c.bucket);
    r.backtrace = c.backtrace;
    r.disassembly = c.disassembly;
}

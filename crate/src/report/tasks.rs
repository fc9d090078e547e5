//! Every task: crash's `ps` lines and `bt PID` / `foreach bt` backtraces.
//!
//! A task running on a CPU at the crash is traced from that CPU's saved registers (NT_PRSTATUS,
//! the same trace as `bt -a`); every other task from the `struct inactive_task_frame` that
//! `__switch_to_asm` left at its `thread.sp` (see [`crate::analysis::stack::SwitchLayout`]).

use super::crash::cpu_traces;
use super::{CpuTrace, PsRow, TaskTrace};
use crate::analysis::stack::{switch_frame, KernelStack, SwitchLayout};
use crate::kernel::tasks::{current_task, Task};
use crate::kernel::Kernel;

/// crash's two-letter task state for a ps letter.
pub fn crash_state(letter: char) -> &'static str {
    match letter {
        'R' => "RU",
        'S' => "IN",
        'D' => "UN",
        'T' => "ST",
        't' => "TR",
        'X' => "DE",
        'Z' => "ZO",
        'P' => "PA",
        'I' => "ID",
        _ => "??",
    }
}

/// `(cpu, task)` for each CPU's `current_task` at the crash.
pub fn active_tasks(k: &Kernel) -> Vec<(u32, u64)> {
    (0..k.nr_cpus())
        .filter_map(|c| current_task(k, c).map(|t| (c, t)))
        .collect()
}

/// crash's `ps`: every task sorted by PID (the per-CPU idle tasks first, by CPU), with the
/// running ones marked. The second element says what could not be read.
pub fn ps(k: &Kernel) -> (Vec<PsRow>, Vec<String>) {
    let (tasks, warnings) = k.tasks();
    let active = active_tasks(k);
    let mm = k.task_layout().ok().and_then(|l| l.mm);
    let mut rows: Vec<PsRow> = tasks
        .iter()
        .map(|t| PsRow {
            pid: t.pid,
            // crash prints 0 for the idle tasks (their real_parent is init for CPUs > 0).
            ppid: if t.idle { 0 } else { t.ppid },
            cpu: t.cpu,
            task: t.addr,
            state: t.state.to_string(),
            st: crash_state(t.state).into(),
            comm: t.comm.clone(),
            active: active.iter().any(|&(c, a)| a == t.addr && c == t.cpu),
            kthread: t.idle || mm.is_some_and(|o| k.read_u64(t.addr + o).is_ok_and(|m| m == 0)),
        })
        .collect();
    crate::util::sort_by_key(&mut rows, |r| (r.pid, r.cpu));
    (rows, warnings.clone())
}

/// Backtraces of tasks, built with one unwinder and the CPU traces computed once.
pub struct TaskTracer<'k> {
    k: &'k Kernel,
    ks: KernelStack<'k>,
    cpus: Vec<CpuTrace>,
    active: Vec<(u32, u64)>,
    layout: crate::error::Result<SwitchLayout>,
}

impl<'k> TaskTracer<'k> {
    pub fn new(k: &'k Kernel) -> TaskTracer<'k> {
        let ks = KernelStack::new(k);
        let cpus = cpu_traces(k, &ks);
        TaskTracer {
            k,
            active: active_tasks(k),
            cpus,
            ks,
            layout: SwitchLayout::of(k),
        }
    }

    /// Warnings: the unwinder's (ORC tables not found ...) and how the switch frame is known.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = self.ks.warnings.clone();
        match &self.layout {
            Ok(l) if !l.from_btf => w.push(
                "struct inactive_task_frame not in BTF: the x86_64 layout (r15 r14 r13 r12 bx bp ret_addr) is assumed".into(),
            ),
            Ok(_) => {}
            Err(e) => w.push(e.to_string()),
        }
        w
    }

    pub fn trace(&self, t: &Task) -> TaskTrace {
        let running = self
            .active
            .iter()
            .find(|&&(_, a)| a == t.addr)
            .map(|&(c, _)| c);
        let cpu_trace = running.and_then(|c| self.cpus.iter().find(|x| x.cpu == c));
        let (frames, error, start) = match cpu_trace {
            Some(ct) => (ct.frames.clone(), ct.error.clone(), "prstatus"),
            None => {
                let r = self
                    .layout
                    .clone()
                    .and_then(|l| switch_frame(self.k, &l, t.sp));
                match r {
                    Ok(f) => {
                        let (frames, error) = self.ks.trace_switched(&f);
                        (frames, error, "switch_frame")
                    }
                    Err(e) => (vec![], Some(e.to_string()), "switch_frame"),
                }
            }
        };
        TaskTrace {
            trace: CpuTrace {
                cpu: running.unwrap_or(t.cpu),
                pid: u32::try_from(t.pid).ok(),
                comm: Some(t.comm.clone()),
                task: Some(t.addr),
                frames,
                error,
            },
            ppid: if t.idle { 0 } else { t.ppid },
            state: t.state.to_string(),
            active: running.is_some(),
            start: start.into(),
        }
    }
}

//! "INFO: task X:PID blocked for more than N seconds" + "Kernel panic - not syncing: hung_task:
//! blocked tasks": khungtaskd found tasks in D state (TASK_UNINTERRUPTIBLE) that had not run
//! for the timeout, and `hung_task_panic` made it panic. khungtaskd is only the messenger.
//!
//! What this reads, the way an engineer does it with crash (`ps -m | grep UN`, `bt PID`,
//! `struct mutex ADDR`): every task in D state with its backtrace (from its saved `thread.sp`),
//! what it waits in (found from its frames: a mutex, an rw_semaphore, a semaphore, a completion,
//! a page lock, I/O, a sleep), for mutexes and rw_semaphores the lock (see
//! [`crate::kernel::locks`]) and its owner, the owner's state and backtrace, and the wait-for
//! graph task -> lock -> owner. A cycle is a deadlock: the culprit is the function that took
//! the locks (the caller of the lock function on the blocked tasks' stacks). Without a cycle,
//! the owner at the end of the chain never released its lock: the culprit is what it is doing.

use super::{Examined, Finding, Input};
use crate::analysis::model::{Confidence, CpuTrace, CrashClass, Frame, PanicInfo};
use crate::analysis::oops::Oops;
use crate::analysis::stack::{switch_frame, KernelStack, SwitchLayout};
use crate::analysis::verdict::{Culprit, CulpritRule, Taint};
use crate::kernel::locks::{self, FoundBy, LockKind, LockLayout, Owner, TaskIndex};
use crate::kernel::tasks::Task;
use crate::kernel::Kernel;
use serde::Serialize;
use std::collections::HashMap;

/// Tasks in D state examined (a machine with more has the rest counted, not traced).
const MAX_BLOCKED: usize = 256;

/// What a blocked task waits in, from its frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    Mutex,
    RwsemRead,
    RwsemWrite,
    Semaphore,
    Completion,
    PageLock,
    Io,
    Sleep,
    Other,
}

impl WaitKind {
    fn lock(self) -> Option<LockKind> {
        match self {
            WaitKind::Mutex => Some(LockKind::Mutex),
            WaitKind::RwsemRead | WaitKind::RwsemWrite => Some(LockKind::RwSemaphore),
            WaitKind::Semaphore => Some(LockKind::Semaphore),
            _ => None,
        }
    }
}

/// A function with its module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FuncRef {
    pub function: String,
    pub module: Option<String>,
}

/// A task of the finding: a blocked one, or the owner of a lock one waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HungTask {
    pub pid: i32,
    pub comm: String,
    #[serde(with = "crate::util::hex")]
    pub task: u64,
    /// ps letter (`D` for the blocked ones).
    pub state: String,
    /// Named by the log's "INFO: task X:PID blocked for more than N seconds".
    pub reported: bool,
    /// What it waits in, and the frame that says so (`__mutex_lock`, `msleep`...).
    pub waits_in: WaitKind,
    pub wait_function: Option<String>,
    /// The first frame after the wait/lock functions: the code that asked to wait.
    pub caller: Option<FuncRef>,
    /// The lock it waits for (an index into `locks`).
    pub waits_for: Option<usize>,
    /// The completion it waits for (an index into `completions`).
    pub waits_completion: Option<usize>,
    /// The page whose lock (or other flag bit) it waits for.
    pub waits_page: Option<locks::PageWait>,
    /// The locks of `locks` it owns.
    pub holds: Vec<usize>,
    pub trace: CpuTrace,
}

/// A lock a blocked task waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HungLock {
    #[serde(with = "crate::util::hex")]
    pub addr: u64,
    pub kind: LockKind,
    /// `lab_lock_a` when the lock is a static variable, with its module.
    pub symbol: Option<FuncRef>,
    /// Not static: the slab object that holds it (and the member, where BTF names one).
    pub container: Option<locks::Container>,
    pub found_by: FoundBy,
    pub owner: Owner,
    /// PID of the owner when it is a task (also in `tasks`).
    pub owner_pid: Option<i32>,
    /// PIDs of the tasks that wait for it.
    pub waiters: Vec<i32>,
}

/// A completion a blocked task waits for. A completion records no owner: who should complete
/// it is only what the code says (the functions that call `complete()` on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HungCompletion {
    #[serde(with = "crate::util::hex")]
    pub addr: u64,
    /// `lab_done` when the completion is a static variable, with its module.
    pub symbol: Option<FuncRef>,
    /// Not static: the slab object that holds it (and the member, where BTF names one).
    pub container: Option<locks::Container>,
    /// Its `done` count (0: nobody has completed it since it was last waited for).
    pub done: u32,
    /// PIDs of the tasks that wait for it.
    pub waiters: Vec<i32>,
    /// The functions found that call `complete()` / `complete_all()` on it (the completion's
    /// module's functions and those on the stacks, disassembled).
    pub completers: Vec<FuncRef>,
    /// How many functions were disassembled to find them.
    pub functions_scanned: usize,
    /// PIDs of the tasks (running or blocked) whose stack is inside one of the completers.
    pub completers_running: Vec<u32>,
}

/// One step of a deadlock cycle: task `pid` holds `holds` and waits for `waits_for` (indexes
/// into `locks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CycleStep {
    pub pid: i32,
    pub holds: usize,
    pub waits_for: usize,
}

/// A task the log's "INFO: task COMM:PID blocked ..." names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reported {
    pub comm: String,
    pub pid: u32,
}

/// What the dump says about the hung tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HungTasks {
    /// N of "blocked for more than N seconds".
    pub timeout_secs: Option<u64>,
    /// The tasks the log names, in log order.
    pub reported: Vec<Reported>,
    /// Every task in D state (and the owners of their locks), blocked ones first by PID.
    pub tasks: Vec<HungTask>,
    pub locks: Vec<HungLock>,
    /// The completions blocked tasks wait for.
    pub completions: Vec<HungCompletion>,
    /// A cycle in the wait-for graph: a deadlock.
    pub deadlock: Option<Vec<CycleStep>>,
    /// Without a cycle: the PID of the owner at the end of the longest wait chain (it holds a
    /// lock others wait for and waits for no lock the dump shows).
    pub root_owner: Option<i32>,
    /// Tasks in D state not examined (over the limit).
    pub not_examined: usize,
    /// What could not be read (a garbage owner, a lock not found, a trace cut short...).
    pub partial: Vec<String>,
}

const PANIC: &str = "hung_task: blocked tasks";
const INFO: &str = " blocked for more than ";
const INFO_IO: &str = " blocked in I/O wait for more than ";

pub fn recognise(panic: &PanicInfo, _oops: Option<&Oops>, log: &str) -> bool {
    let panicked = panic
        .panic_string
        .as_deref()
        .is_some_and(|s| s.contains(PANIC))
        || log.lines().any(|l| l.contains(PANIC));
    panicked && log.lines().any(|l| info_line(l).is_some())
}

/// `INFO: task lab_abba_1:102 blocked for more than 5 seconds.` -> (comm, pid, secs).
pub fn info_line(l: &str) -> Option<(String, u32, Option<u64>)> {
    let rest = &l[l.find("INFO: task ")? + "INFO: task ".len()..];
    // "blocked for more than" (6.16+: "blocked in I/O wait for more than" for a task in
    // io_schedule)
    let (at, len) = match rest.find(INFO) {
        Some(a) => (a, INFO.len()),
        None => (rest.find(INFO_IO)?, INFO_IO.len()),
    };
    let who = rest[..at].trim();
    let (comm, pid) = who.rsplit_once(':')?;
    let secs = rest[at + len..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok());
    Some((comm.to_string(), pid.parse().ok()?, secs))
}

/// The name without a compiler suffix: `__mutex_lock.constprop.0` -> `__mutex_lock`.
fn base(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Functions of scheduling and sleeping that are never the answer to "what is it doing".
fn is_sched(n: &str) -> bool {
    matches!(
        n,
        "__schedule"
            | "schedule"
            | "schedule_preempt_disabled"
            | "preempt_schedule_common"
            | "__switch_to"
            | "__switch_to_asm"
            | "context_switch"
            | "schedule_idle"
            | "__cond_resched"
    )
}

/// What a frame's function waits in, if it is a wait primitive.
fn wait_kind(n: &str) -> Option<WaitKind> {
    let k = if n.starts_with("__mutex_lock") || n.starts_with("mutex_lock") {
        WaitKind::Mutex
    } else if n.starts_with("rwsem_down_read") || n.starts_with("down_read") {
        WaitKind::RwsemRead
    } else if n.starts_with("rwsem_down_write") || n.starts_with("down_write") {
        WaitKind::RwsemWrite
    } else if matches!(
        n,
        "__down" | "__down_common" | "__down_killable" | "__down_interruptible" | "__down_timeout"
    ) || n == "down"
        || n.starts_with("down_interruptible")
        || n.starts_with("down_killable")
        || n.starts_with("down_timeout")
    {
        WaitKind::Semaphore
    } else if n.contains("wait_for_completion")
        || n == "__wait_for_common"
        || n == "wait_for_common"
    {
        WaitKind::Completion
    } else if n.starts_with("folio_wait_bit")
        || n == "__folio_lock"
        || n == "folio_lock"
        || n == "__lock_page"
        || n.starts_with("wait_on_page_bit")
        || n.starts_with("folio_wait_locked")
    {
        WaitKind::PageLock
    } else if n.starts_with("io_schedule") || n == "bit_wait_io" {
        WaitKind::Io
    } else if matches!(
        n,
        "msleep"
            | "ssleep"
            | "schedule_timeout"
            | "schedule_timeout_uninterruptible"
            | "schedule_hrtimeout_range_clock"
            | "schedule_hrtimeout_range"
            | "usleep_range_state"
            | "do_nanosleep"
    ) {
        WaitKind::Sleep
    } else {
        return None;
    };
    Some(k)
}

/// What the frames say the task waits in: the most specific primitive (a lock over the I/O or
/// sleep it uses inside), the frame that says it, and the first frame after every wait and
/// scheduling frame (the code that asked to wait).
fn classify(frames: &[Frame]) -> (WaitKind, Option<String>, Option<FuncRef>) {
    let names: Vec<Option<&str>> = frames
        .iter()
        .map(|f| f.function.as_deref().map(base))
        .collect();
    let rank = |k: WaitKind| match k {
        WaitKind::Sleep => 1,
        WaitKind::Io => 2,
        _ => 3,
    };
    let mut best: Option<(WaitKind, usize)> = None;
    let mut last_wait = None;
    for (i, n) in names.iter().enumerate() {
        let Some(n) = n else { continue };
        if let Some(k) = wait_kind(n) {
            last_wait = Some(i);
            // The outermost of equally specific ones: msleep over its schedule_timeout.
            if best.is_none_or(|(b, _)| rank(k) >= rank(b)) {
                best = Some((k, i));
            }
        } else if !is_sched(n) {
            break;
        }
    }
    let after = last_wait.map_or(0, |i| i + 1);
    let caller = frames[after.min(frames.len())..]
        .iter()
        .find(|f| f.function.as_deref().is_some_and(|n| !is_sched(base(n))))
        .map(|f| FuncRef {
            function: base(f.function.as_deref().unwrap_or("?")).to_string(),
            module: f.module.clone(),
        });
    match best {
        Some((k, i)) => (k, frames[i].function.clone(), caller),
        None => (WaitKind::Other, None, caller),
    }
}

/// A task's backtrace: its CPU's trace when it ran at the crash, else from its switch frame.
fn trace_of(
    k: &Kernel,
    ks: &KernelStack,
    sl: &Result<SwitchLayout, String>,
    traces: &[CpuTrace],
    t: &Task,
) -> CpuTrace {
    if let Some(ct) = traces.iter().find(|c| c.task == Some(t.addr)) {
        return ct.clone();
    }
    let (frames, error) = match sl
        .as_ref()
        .map_err(|e| e.clone())
        .and_then(|l| switch_frame(k, l, t.sp).map_err(|e| e.to_string()))
    {
        Ok(f) => ks.trace_switched(&f),
        Err(e) => (vec![], Some(e)),
    };
    CpuTrace {
        cpu: t.cpu,
        pid: u32::try_from(t.pid).ok(),
        comm: Some(t.comm.clone()),
        task: Some(t.addr),
        frames,
        error,
    }
}

pub fn examine(inp: &Input) -> Option<Examined> {
    let k = inp.kernel;
    let mut reported = Vec::new();
    let mut timeout_secs = None;
    for l in inp.log.lines() {
        if let Some((c, p, s)) = info_line(l) {
            timeout_secs = timeout_secs.or(s);
            if !reported.iter().any(|r: &Reported| r.pid == p) {
                reported.push(Reported { comm: c, pid: p });
            }
        }
    }
    let mut partial = Vec::new();
    let (all, warnings) = k.tasks();
    partial.extend(warnings.iter().cloned());
    let idx = TaskIndex::new(all);
    let ks = inp.stack;
    let sl = SwitchLayout::of(k).map_err(|e| e.to_string());
    let ll = LockLayout::of(k);
    let mut blocked: Vec<&Task> = all.iter().filter(|t| t.state == 'D').collect();
    crate::util::sort_by_key(&mut blocked, |t| t.pid);
    let not_examined = blocked.len().saturating_sub(MAX_BLOCKED);
    blocked.truncate(MAX_BLOCKED);
    let is_reported = |t: &Task| {
        reported
            .iter()
            .any(|r| i64::from(r.pid) == i64::from(t.pid))
    };

    let mut tasks: Vec<HungTask> = Vec::new();
    let mut locks: Vec<HungLock> = Vec::new();
    let mut by_task: HashMap<u64, usize> = HashMap::new();
    let describe = |t: &Task| -> HungTask {
        let trace = trace_of(k, ks, &sl, inp.traces, t);
        let (waits_in, wait_function, caller) = classify(&trace.frames);
        HungTask {
            pid: t.pid,
            comm: t.comm.clone(),
            task: t.addr,
            state: t.state.to_string(),
            reported: is_reported(t),
            waits_in,
            wait_function,
            caller,
            waits_for: None,
            waits_completion: None,
            waits_page: None,
            holds: vec![],
            trace,
        }
    };
    for t in &blocked {
        by_task.insert(t.addr, tasks.len());
        tasks.push(describe(t));
    }
    // The locks, their owners (added when not blocked themselves), bounded by the tasks above.
    let mut i = 0;
    while i < tasks.len() {
        let Some(t) = idx.get(tasks[i].task) else {
            i += 1;
            continue;
        };
        let hint = tasks[i].waits_in.lock();
        if t.state != 'D' || hint.is_none() && ll.blocker.is_none() {
            i += 1;
            continue;
        }
        match locks::waited_lock(k, &ll, &idx, t, hint) {
            Some((addr, kind, found_by)) => {
                let li = match locks.iter().position(|l| l.addr == addr) {
                    Some(li) => li,
                    None => {
                        let owner = locks::lock_owner(k, &ll, &idx, addr, kind);
                        let symbol = k.symbols().lookup(addr).map(|(s, off)| FuncRef {
                            function: if off == 0 {
                                s.name.clone()
                            } else {
                                format!("{}+{off:#x}", s.name)
                            },
                            module: s.module.clone(),
                        });
                        match &owner {
                            Owner::NotATask { value } => partial.push(format!(
                                "the owner word of the {} at {addr:#x} is {value:#x}, not a task's address: the lock is corrupted or freed",
                                kind.type_name()
                            )),
                            Owner::Unreadable => partial.push(format!(
                                "the owner of the {} at {addr:#x} could not be read",
                                kind.type_name()
                            )),
                            _ => {}
                        }
                        let container = match symbol {
                            None => locks::slab_container(k, addr, kind),
                            Some(_) => None,
                        };
                        locks.push(HungLock {
                            addr,
                            kind,
                            symbol,
                            container,
                            found_by,
                            owner,
                            owner_pid: None,
                            waiters: vec![],
                        });
                        locks.len() - 1
                    }
                };
                tasks[i].waits_for = Some(li);
                let pid = tasks[i].pid;
                locks[li].waiters.push(pid);
                if let Owner::Task { task, .. } = locks[li].owner {
                    let oi = match by_task.get(&task) {
                        Some(&oi) => oi,
                        None => match idx.get(task) {
                            Some(ot) if tasks.len() < 2 * MAX_BLOCKED => {
                                by_task.insert(task, tasks.len());
                                tasks.push(describe(ot));
                                tasks.len() - 1
                            }
                            _ => {
                                i += 1;
                                continue;
                            }
                        },
                    };
                    locks[li].owner_pid = Some(tasks[oi].pid);
                    if !tasks[oi].holds.contains(&li) {
                        tasks[oi].holds.push(li);
                    }
                }
            }
            None if hint.is_some_and(|h| h != LockKind::Semaphore) => partial.push(format!(
                "the lock that {}:{} waits for was not found (no waiter on its stack links into a lock's wait list)",
                tasks[i].comm, tasks[i].pid
            )),
            None => {}
        }
        i += 1;
    }
    let completions = completions_of(inp, &idx, &mut tasks, &mut partial);
    for task in tasks.iter_mut() {
        if task.waits_in != WaitKind::PageLock || task.state != "D" {
            continue;
        }
        let Some(t) = idx.get(task.task) else {
            continue;
        };
        task.waits_page = locks::waited_page(k, &idx, t);
        if task.waits_page.is_none() {
            partial.push(format!(
                "the page that {}:{} waits for was not found (no wait_page_queue on its stack)",
                task.comm, task.pid
            ));
        }
    }
    for t in &tasks {
        if let Some(e) = &t.trace.error {
            if t.trace.frames.is_empty() {
                partial.push(format!("no backtrace of {}:{}: {e}", t.comm, t.pid));
            }
        }
    }
    let deadlock = find_cycle(&tasks, &locks);
    let root_owner = match &deadlock {
        Some(_) => None,
        None => root(&tasks, &locks),
    };
    let culprit = culprit(inp, &tasks, &locks, deadlock.as_deref(), root_owner);
    Some(Examined {
        class: CrashClass::HungTask,
        finding: Finding::HungTask(HungTasks {
            timeout_secs,
            reported,
            tasks,
            locks,
            completions,
            deadlock,
            root_owner,
            not_examined,
            partial,
        }),
        culprit,
    })
}

/// The functions whose call passes a completion to one of these completes it.
fn is_complete_fn(n: &str) -> bool {
    matches!(
        base(n),
        "complete"
            | "complete_all"
            | "complete_on_current_cpu"
            | "kthread_complete_and_exit"
            | "complete_and_exit"
    )
}

/// The completions the tasks waiting in `wait_for_completion()` wait for (see
/// [`locks::waited_completion`]), with the code that completes each.
fn completions_of(
    inp: &Input,
    idx: &TaskIndex,
    tasks: &mut [HungTask],
    partial: &mut Vec<String>,
) -> Vec<HungCompletion> {
    let k = inp.kernel;
    let cl = locks::CompletionLayout::of(k);
    let mut out: Vec<HungCompletion> = Vec::new();
    // Every stack the dump shows: the CPUs' and the examined tasks'.
    let mut traces: Vec<CpuTrace> = inp.traces.to_vec();
    traces.extend(tasks.iter().map(|t| t.trace.clone()));
    for task in tasks.iter_mut() {
        if task.waits_in != WaitKind::Completion || task.state != "D" {
            continue;
        }
        let Some(t) = idx.get(task.task) else {
            continue;
        };
        let Some(c) = locks::waited_completion(k, &cl, idx, t) else {
            partial.push(format!(
                "the completion that {}:{} waits for was not found (no wait queue entry on its stack links into one)",
                task.comm, task.pid
            ));
            continue;
        };
        let ci = match out.iter().position(|x| x.addr == c.addr) {
            Some(ci) => ci,
            None => {
                let symbol = k.symbols().lookup(c.addr).and_then(|(s, off)| {
                    (s.size == 0 || off < s.size).then(|| FuncRef {
                        function: if off == 0 {
                            s.name.clone()
                        } else {
                            format!("{}+{off:#x}", s.name)
                        },
                        module: s.module.clone(),
                    })
                });
                let container = match symbol {
                    None => locks::slab_container_of(k, c.addr, "completion"),
                    Some(_) => None,
                };
                let module = symbol.as_ref().and_then(|s| s.module.clone());
                let (completers, functions_scanned) = super::lockup::callers_with_arg(
                    k,
                    c.addr,
                    module.as_deref(),
                    &traces,
                    is_complete_fn,
                );
                let completers: Vec<FuncRef> = completers
                    .into_iter()
                    .map(|f| FuncRef {
                        function: f.function,
                        module: f.module,
                    })
                    .collect();
                let mut completers_running: Vec<u32> = traces
                    .iter()
                    .filter(|t| {
                        t.frames.iter().any(|f| {
                            completers.iter().any(|c| {
                                f.function.as_deref().map(base) == Some(c.function.as_str())
                                    && f.module == c.module
                            })
                        })
                    })
                    .filter_map(|t| t.pid)
                    .collect();
                completers_running.sort_unstable();
                completers_running.dedup();
                out.push(HungCompletion {
                    addr: c.addr,
                    symbol,
                    container,
                    done: c.done,
                    waiters: vec![],
                    completers,
                    functions_scanned,
                    completers_running,
                });
                out.len() - 1
            }
        };
        out[ci].waiters.push(task.pid);
        task.waits_completion = Some(ci);
    }
    out
}

/// The owner of lock `li` as an index into `tasks`.
fn owner_of(tasks: &[HungTask], locks: &[HungLock], li: usize) -> Option<usize> {
    let p = locks.get(li)?.owner_pid?;
    tasks.iter().position(|t| t.pid == p)
}

/// A cycle task -> lock -> owner -> lock ... back to the task. Each task waits for at most one
/// lock, so following the edges from each task is enough; bounded by the number of tasks.
fn find_cycle(tasks: &[HungTask], locks: &[HungLock]) -> Option<Vec<CycleStep>> {
    for start in 0..tasks.len() {
        let mut path: Vec<usize> = vec![start];
        let mut cur = start;
        for _ in 0..tasks.len() {
            let Some(next) = tasks[cur].waits_for.and_then(|l| owner_of(tasks, locks, l)) else {
                break;
            };
            if let Some(p) = path.iter().position(|&x| x == next) {
                let ring = &path[p..];
                // Start the cycle at its lowest PID so the same cycle reads the same way.
                let lo = (0..ring.len()).min_by_key(|&j| tasks[ring[j]].pid)?;
                let n = ring.len();
                return Some(
                    (0..n)
                        .map(|j| {
                            let t = ring[(lo + j) % n];
                            let prev = ring[(lo + j + n - 1) % n];
                            CycleStep {
                                pid: tasks[t].pid,
                                holds: tasks[prev].waits_for.unwrap_or(0),
                                waits_for: tasks[t].waits_for.unwrap_or(0),
                            }
                        })
                        .collect(),
                );
            }
            path.push(next);
            cur = next;
        }
    }
    None
}

/// Without a cycle: the owner at the end of the longest chain of waiters (reported tasks
/// first), i.e. a task that holds a lock others wait for and waits for none the dump shows.
fn root(tasks: &[HungTask], locks: &[HungLock]) -> Option<i32> {
    let mut best: Option<(usize, bool, usize)> = None; // (len, from a reported task, task)
    for start in 0..tasks.len() {
        let mut cur = start;
        let mut len = 0;
        while let Some(next) = tasks[cur].waits_for.and_then(|l| owner_of(tasks, locks, l)) {
            cur = next;
            len += 1;
            if len > tasks.len() {
                return None;
            }
        }
        if len == 0 {
            continue;
        }
        let key = (len, tasks[start].reported, cur);
        if best.is_none_or(|b| (key.0, key.1) > (b.0, b.1)) {
            best = Some(key);
        }
    }
    best.map(|(_, _, t)| tasks[t].pid)
}

fn culprit(
    inp: &Input,
    tasks: &[HungTask],
    locks: &[HungLock],
    cycle: Option<&[CycleStep]>,
    root: Option<i32>,
) -> Option<Culprit> {
    let lock_name = |li: usize| {
        let l = &locks[li];
        l.symbol
            .as_ref()
            .map(|s| s.function.clone())
            .unwrap_or_else(|| format!("{:#x}", l.addr))
    };
    let (f, rule, conf) = if let Some(cy) = cycle {
        // The function that took the locks: the caller of the lock function on the cycle's
        // stacks (the same function on every stack when one function takes them in either
        // order; else the first task's).
        let callers: Vec<&FuncRef> = cy
            .iter()
            .filter_map(|s| tasks.iter().find(|t| t.pid == s.pid)?.caller.as_ref())
            .collect();
        let f = callers.first()?;
        let all_same = callers.iter().all(|c| c == f);
        (
            (*f).clone(),
            CulpritRule::LockOrderDeadlock {
                locks: cy.iter().map(|s| lock_name(s.holds)).collect(),
            },
            if all_same {
                Confidence::High
            } else {
                Confidence::Medium
            },
        )
    } else {
        let r = tasks.iter().find(|t| Some(t.pid) == root)?;
        let li = *r.holds.first()?;
        (
            r.caller.clone()?,
            CulpritRule::NeverReleased {
                lock: lock_name(li),
                owner: r.comm.clone(),
                owner_pid: r.pid,
            },
            Confidence::Medium,
        )
    };
    let taint = f
        .module
        .as_deref()
        .and_then(|m| inp.modules.iter().find(|x| x.name == m))
        .map(|m| Taint::of(&m.taint))
        .unwrap_or_default();
    Some(Culprit {
        function: f.function,
        module: f.module,
        confidence: conf,
        rule,
        taint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model::{FrameKind, How};

    fn fr(name: &str, module: Option<&str>) -> Frame {
        Frame {
            function: Some(name.into()),
            offset: Some(0),
            size: None,
            module: module.map(Into::into),
            address: 0,
            sp: None,
            reliable: true,
            kind: FrameKind::Frame,
            how: How::Orc,
            regs: None,
            stack: None,
            file: None,
            line: None,
            inlined: vec![],
        }
    }

    fn t(pid: i32, waits_for: Option<usize>) -> HungTask {
        HungTask {
            pid,
            comm: format!("t{pid}"),
            task: pid as u64,
            state: "D".into(),
            reported: true,
            waits_in: WaitKind::Mutex,
            wait_function: None,
            caller: None,
            waits_for,
            waits_completion: None,
            waits_page: None,
            holds: vec![],
            trace: CpuTrace::default(),
        }
    }

    fn l(owner_pid: Option<i32>) -> HungLock {
        HungLock {
            addr: 0x1000,
            kind: LockKind::Mutex,
            symbol: None,
            container: None,
            found_by: FoundBy::StackWaiter,
            owner: Owner::None,
            owner_pid,
            waiters: vec![],
        }
    }

    #[test]
    fn finds_the_cycle_from_its_lowest_pid() {
        // 7 waits for lock 0 held by 3; 3 waits for lock 1 held by 7; 9 waits for lock 0 too.
        let tasks = [t(7, Some(0)), t(3, Some(1)), t(9, Some(0))];
        let locks = [l(Some(3)), l(Some(7))];
        let cy = find_cycle(&tasks, &locks).unwrap();
        assert_eq!(cy.len(), 2);
        assert_eq!((cy[0].pid, cy[0].holds, cy[0].waits_for), (3, 0, 1));
        assert_eq!((cy[1].pid, cy[1].holds, cy[1].waits_for), (7, 1, 0));
        assert_eq!(root(&tasks, &locks), None);
    }

    #[test]
    fn a_chain_without_cycle_ends_at_its_owner() {
        // 5 -> lock 0 (owner 4) -> 4 -> lock 1 (owner 2); 2 waits for nothing the dump shows.
        let tasks = [t(5, Some(0)), t(4, Some(1)), t(2, None)];
        let locks = [l(Some(4)), l(Some(2))];
        assert!(find_cycle(&tasks, &locks).is_none());
        assert_eq!(root(&tasks, &locks), Some(2));
    }

    #[test]
    fn a_task_waiting_on_its_own_lock_is_a_cycle_of_one_and_garbage_owners_end_walks() {
        let tasks = [t(1, Some(0)), t(2, Some(1))];
        // lock 1's owner pid names no task of the finding (its owner word was garbage)
        let locks = [l(Some(1)), l(Some(99))];
        let cy = find_cycle(&tasks, &locks).unwrap();
        assert_eq!((cy.len(), cy[0].pid), (1, 1));
        let tasks = [t(2, Some(1))];
        assert!(find_cycle(&tasks, &locks).is_none());
        assert_eq!(root(&tasks, &locks), None);
    }

    #[test]
    fn reads_the_info_line() {
        assert_eq!(
            info_line("INFO: task lab_abba_1:102 blocked for more than 5 seconds."),
            Some(("lab_abba_1".into(), 102, Some(5)))
        );
        assert_eq!(
            info_line("[  11.4] INFO: task kworker/0:1:9 blocked for more than 120 seconds."),
            Some(("kworker/0:1".into(), 9, Some(120)))
        );
        assert_eq!(info_line("INFO: task hung"), None);
        assert_eq!(
            info_line("INFO: task lab_pagelock:121 blocked in I/O wait for more than 5 seconds."),
            Some(("lab_pagelock".into(), 121, Some(5)))
        );
    }

    #[test]
    fn classifies_waits_and_finds_the_caller() {
        let m = Some("crashlens_lab");
        let mutex = [
            fr("__schedule", None),
            fr("schedule", None),
            fr("schedule_preempt_disabled", None),
            fr("__mutex_lock.constprop.0", None),
            fr("lab_lock_pair", m),
            fr("kthread", None),
        ];
        let (k, w, c) = classify(&mutex);
        assert_eq!(k, WaitKind::Mutex);
        assert_eq!(w.as_deref(), Some("__mutex_lock.constprop.0"));
        assert_eq!(c.unwrap().function, "lab_lock_pair");
        let sleep = [
            fr("__schedule", None),
            fr("schedule", None),
            fr("schedule_timeout", None),
            fr("msleep", None),
            fr("lab_hold_forever", m),
        ];
        let (k, w, c) = classify(&sleep);
        assert_eq!(k, WaitKind::Sleep);
        assert_eq!(w.as_deref(), Some("msleep"));
        assert_eq!(c.unwrap().function, "lab_hold_forever");
        let page = [
            fr("__schedule", None),
            fr("schedule", None),
            fr("io_schedule", None),
            fr("folio_wait_bit_common", None),
            fr("filemap_fault", None),
        ];
        assert_eq!(classify(&page).0, WaitKind::PageLock);
    }
}

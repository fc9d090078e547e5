//! Tasks: every thread of the crashed kernel, like drgn's `for_each_task` plus the per-CPU idle
//! tasks (crash's `ps`). Processes hang off `init_task.tasks`; a process's threads off
//! `signal->thread_head` (`task_struct.thread_node`, 3.14+); the idle task of each CPU is
//! `runqueues.idle` in that CPU's per-CPU area (`__per_cpu_offset[cpu]`).
//!
//! Offsets come from BTF in the dump (task_struct changes with every release and config), and
//! without BTF (3.10, 4.x) from the shapes in memory ([`TaskLayout::learn`]).

use crate::bytes::Le;

use super::Kernel;
use serde::Serialize;
use std::collections::HashSet;

const MAX_TASKS: usize = 1 << 20;
/// Threads of one process (a thread group larger than this is cut short).
const MAX_THREADS: usize = 1 << 16;

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    /// Address of `struct task_struct`.
    #[serde(with = "crate::util::hex")]
    pub addr: u64,
    pub pid: i32,
    pub tgid: i32,
    pub ppid: i32,
    pub comm: String,
    /// ps letter: R S D T t X Z P I (fs/proc/array.c `task_state_array`).
    pub state: char,
    pub cpu: u32,
    /// Saved kernel stack pointer of a switched-out task (`thread.sp`).
    #[serde(with = "crate::util::hex")]
    pub sp: u64,
    /// Base of its kernel stack (`task_struct.stack`).
    #[serde(with = "crate::util::hex")]
    pub stack: u64,
    /// A per-CPU idle task (pid 0, not on the task list except CPU 0's `init_task`).
    pub idle: bool,
}

/// task_struct offsets.
#[derive(Debug, Clone, Copy)]
pub struct TaskLayout {
    pub tasks: u64,
    pub pid: u64,
    pub tgid: u64,
    pub comm: u64,
    /// `__state` (5.14+) or `state`.
    pub state: u64,
    pub state_size: u64,
    pub exit_state: Option<u64>,
    pub cpu: Option<u64>,
    /// `thread_info.cpu` in the `struct thread_info` at the base of the task's stack (kernels
    /// before THREAD_INFO_IN_TASK, 4.9 on x86), where `cpu` is not in task_struct.
    pub thread_info_cpu: Option<u64>,
    pub thread_sp: Option<u64>,
    pub stack: Option<u64>,
    pub real_parent: Option<u64>,
    /// `mm` (NULL in kernel threads).
    pub mm: Option<u64>,
    pub signal: Option<u64>,
    pub thread_node: Option<u64>,
    /// `signal_struct.thread_head`.
    pub thread_head: Option<u64>,
}

impl TaskLayout {
    pub fn from_btf(k: &Kernel) -> crate::error::Result<TaskLayout> {
        let b = k
            .btf()
            .ok_or("no BTF in the dump: task_struct layout unknown")?;
        let o = |p: &str| b.member_offset("task_struct", p);
        let need = |p: &str| o(p).ok_or_else(|| format!("task_struct.{p} not in BTF"));
        let (state, state_size) = match o("__state") {
            Some(s) => (s, b.member_size("task_struct", "__state").unwrap_or(4)),
            None => (
                need("state")?,
                b.member_size("task_struct", "state").unwrap_or(8),
            ),
        };
        Ok(TaskLayout {
            tasks: need("tasks")?,
            pid: need("pid")?,
            tgid: need("tgid")?,
            comm: need("comm")?,
            state,
            state_size,
            exit_state: o("exit_state"),
            cpu: o("cpu").or_else(|| o("thread_info.cpu")),
            thread_info_cpu: None,
            thread_sp: o("thread.sp"),
            stack: o("stack"),
            real_parent: o("real_parent"),
            mm: o("mm"),
            signal: o("signal"),
            thread_node: o("thread_node"),
            thread_head: b.member_offset("signal_struct", "thread_head"),
        })
    }
}

/// ps state letter from `__state` and `exit_state` (fs/proc/array.c, include/linux/sched.h:
/// TASK_REPORT = 0x7f, TASK_IDLE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD reports as `I`).
pub fn state_letter(state: u64, exit_state: u64) -> char {
    const LETTERS: &[u8] = b"RSDTtXZPI";
    let s = (state & 0x7f) | exit_state;
    if state == 0x402 {
        return 'I';
    }
    let idx = 64 - s.leading_zeros() as usize; // fls()
    LETTERS.get(idx).map_or('?', |&c| c as char)
}

/// Reads one task.
pub fn read_task(k: &Kernel, l: &TaskLayout, addr: u64) -> crate::error::Result<Task> {
    let e = |e: crate::error::MemError| e.to_string();
    let pid = k.read_u32(addr + l.pid).map_err(e)? as i32;
    let tgid = k.read_u32(addr + l.tgid).map_err(e)? as i32;
    let comm = k.read_cstr(addr + l.comm, 16).map_err(e)?;
    let state = if l.state_size == 8 {
        k.read_u64(addr + l.state)
    } else {
        k.read_u32(addr + l.state).map(u64::from)
    }
    .map_err(e)?;
    let exit_state = l
        .exit_state
        .map(|o| k.read_u32(addr + o))
        .transpose()
        .map_err(e)?
        .unwrap_or(0) as u64;
    let sp = l
        .thread_sp
        .map(|o| k.read_u64(addr + o))
        .transpose()
        .map_err(e)?
        .unwrap_or(0);
    let stack = l
        .stack
        .map(|o| k.read_u64(addr + o))
        .transpose()
        .map_err(e)?
        .unwrap_or(0);
    let cpu = match (l.cpu, l.thread_info_cpu) {
        (Some(o), _) => k.read_u32(addr + o).map_err(e)?,
        (None, Some(o)) if stack != 0 => k.read_u32(stack + o).map_err(e)?,
        _ => 0,
    };
    let ppid = match l.real_parent.map(|o| k.read_u64(addr + o)) {
        Some(Ok(p)) if p != 0 && p != addr => {
            k.read_u32(p + l.tgid).map(|v| v as i32).unwrap_or(-1)
        }
        _ => 0,
    };
    Ok(Task {
        addr,
        pid,
        tgid,
        ppid,
        comm,
        state: state_letter(state, exit_state),
        cpu,
        sp,
        stack,
        idle: pid == 0,
    })
}

/// The offsets of `pid` and `comm` in task_struct where no BTF gives them, learned from one
/// task whose pid and command are known (the log names the crashing task): `comm` is where that
/// name stands NUL-terminated, `pid` where that number stands before it, and both must hold for
/// `init_task` too (pid 0, "swapper..."). `None` unless exactly one pair fits.
pub fn learn_pid_comm(k: &Kernel, task: u64, pid: u32, comm: &str) -> Option<(u64, u64)> {
    /// task_struct is below 12 KiB on x86_64 kernels without heavy debug options.
    const SPAN: usize = 12 << 10;
    let init = k.symbol("init_task")?;
    let (t, i) = (
        k.read_bytes(task, SPAN).ok()?,
        k.read_bytes(init, SPAN).ok()?,
    );
    let name = comm.as_bytes();
    if name.is_empty() || name.len() >= 16 || pid == 0 {
        return None;
    }
    let comms: Vec<usize> = (0..SPAN - 16)
        .step_by(8)
        .filter(|&o| {
            &t[o..o + name.len()] == name
                && t[o + name.len()] == 0
                && i[o..].starts_with(b"swapper")
        })
        .collect();
    let [c] = comms[..] else { return None };
    // pid and tgid are adjacent `pid_t`s; init_task has 0 in both.
    let pids: Vec<usize> = (0..c)
        .step_by(4)
        .filter(|&o| {
            t.u32_at(o) == Some(pid) && i.u32_at(o) == Some(0) && i.u32_at(o + 4) == Some(0)
        })
        .collect();
    // A small pid (init's 1) matches other fields too: then the one followed by an equal tgid
    // (the task leads its thread group, as the crashing task of a report mostly does).
    let p = match pids[..] {
        [p] => p,
        _ => {
            let lead: Vec<usize> = pids
                .iter()
                .copied()
                .filter(|&o| t.u32_at(o + 4) == Some(pid))
                .collect();
            let [p] = lead[..] else { return None };
            p
        }
    };
    Some((p as u64, c as u64))
}

/// `__per_cpu_offset[cpu]`: add it to a per-CPU symbol's address for that CPU's copy.
pub fn per_cpu_offset(k: &Kernel, cpu: u32) -> Option<u64> {
    k.read_u64(
        k.symbols()
            .addr_of("__per_cpu_offset")?
            .checked_add(8 * cpu as u64)?,
    )
    .ok()
}

/// Address of CPU `cpu`'s copy of the per-CPU variable `name`. For the x86 hot variables
/// that 6.2 moved into `struct pcpu_hot` (`current_task`, `hardirq_stack_ptr`, `top_of_stack`,
/// `cpu_number`, ...) it falls back to `pcpu_hot.<name>`.
pub fn per_cpu_addr(k: &Kernel, name: &str, cpu: u32) -> Option<u64> {
    let t = k.symbols();
    let var = match t.addr_of(name) {
        Some(a) => a,
        // 6.2-6.14 keep it in `struct pcpu_hot`, whose first member is `current_task` in
        // every version (arch/x86/include/asm/current.h): that one needs no BTF.
        None => {
            let off = k.btf().and_then(|b| b.member_offset("pcpu_hot", name));
            t.addr_of("pcpu_hot")? + off.or((name == "current_task").then_some(0))?
        }
    };
    Some(var.wrapping_add(per_cpu_offset(k, cpu)?))
}

/// The task running on `cpu` at the crash (`current_task`).
pub fn current_task(k: &Kernel, cpu: u32) -> Option<u64> {
    k.read_u64(per_cpu_addr(k, "current_task", cpu)?)
        .ok()
        .filter(|&t| t != 0)
}

fn nr_cpu_ids(k: &Kernel) -> u32 {
    k.nr_cpus().clamp(1, super::cpus::MAX_CPUS)
}

/// Addresses of the per-CPU idle tasks (`runqueues.idle` of each CPU; without BTF the offset
/// of `rq.idle` is learned, see [`rq_idle_by_shape`]).
pub fn idle_tasks(k: &Kernel, l: &TaskLayout) -> Vec<(u32, u64)> {
    let t = k.symbols();
    let (Some(rq), Some(pco)) = (t.addr_of("runqueues"), t.addr_of("__per_cpu_offset")) else {
        return vec![];
    };
    let idle = match k.btf() {
        Some(b) => b.member_offset("rq", "idle"),
        None => rq_idle_by_shape(k, l, rq),
    };
    let Some(idle) = idle else {
        return vec![];
    };
    let n = nr_cpu_ids(k);
    (0..n)
        .filter_map(|cpu| {
            let off = k.read_u64(pco + 8 * cpu as u64).ok()?;
            let task = k.read_u64(rq.wrapping_add(off) + idle).ok()?;
            (task != 0).then_some((cpu, task))
        })
        .collect()
}

/// Every task: the per-CPU idle tasks first, then every thread of every process on
/// `init_task.tasks`. Unreadable tasks end a list walk with a warning instead of failing it.
pub fn all_tasks(k: &Kernel, warnings: &mut Vec<String>) -> crate::error::Result<Vec<Task>> {
    let l = *k.task_layout()?;
    if k.btf().is_none() {
        warnings.push(format!(
            "no BTF: task_struct offsets learned from init_task and the task list (tasks {:#x}, pid {:#x}, comm {:#x}, state {:#x}, stack {:#x}); threads other than each process's leader are not listed",
            l.tasks, l.pid, l.comm, l.state, l.stack.unwrap_or(0)
        ));
    }
    let init = k
        .symbols()
        .addr_of("init_task")
        .ok_or("no init_task symbol")?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (cpu, t) in idle_tasks(k, &l) {
        if seen.insert(t) {
            match read_task(k, &l, t) {
                Ok(mut task) => {
                    task.cpu = cpu;
                    out.push(task);
                }
                Err(e) => warnings.push(format!("idle task of CPU {cpu} at {t:#x}: {e}")),
            }
        }
    }
    let walk = |head: u64, off: u64, max: usize| -> (Vec<u64>, Option<String>) {
        let mut v = Vec::new();
        let mut node = match k.read_u64(head) {
            Ok(n) => n,
            Err(e) => return (v, Some(e.to_string())),
        };
        let mut guard = HashSet::new();
        while node != head {
            if v.len() >= max || !guard.insert(node) {
                return (v, Some("list looped or too long".into()));
            }
            v.push(node.wrapping_sub(off));
            node = match k.read_u64(node) {
                Ok(n) => n,
                Err(e) => return (v, Some(e.to_string())),
            };
        }
        (v, None)
    };
    let mut procs = vec![init];
    let (more, err) = walk(init + l.tasks, l.tasks, MAX_TASKS);
    procs.extend(more);
    if let Some(e) = err {
        warnings.push(format!("task list cut short: {e}"));
    }
    for p in procs {
        let mut threads = vec![p];
        if let (Some(sig), Some(th), Some(tn)) = (l.signal, l.thread_head, l.thread_node) {
            if let Ok(s) = k.read_u64(p + sig) {
                if s != 0 {
                    let (t, err) = walk(s + th, tn, MAX_THREADS);
                    if err.is_none() {
                        threads = t;
                        if !threads.contains(&p) {
                            threads.insert(0, p);
                        }
                    }
                }
            }
        }
        for t in threads {
            if out.len() >= MAX_TASKS {
                break;
            }
            if !seen.insert(t) {
                continue;
            }
            match read_task(k, &l, t) {
                Ok(task) => out.push(task),
                Err(e) => warnings.push(format!("task at {t:#x}: {e}")),
            }
        }
    }
    Ok(out)
}

/// How much of each task_struct the learner reads (task_struct is below 12 KiB on x86_64
/// kernels without heavy debug options).
const LEARN_SPAN: usize = 12 << 10;

fn le64(b: &[u8], o: usize) -> u64 {
    b.u64_at(o).unwrap_or(0)
}
fn le32(b: &[u8], o: usize) -> u32 {
    b.u32_at(o).unwrap_or(0)
}
/// A kernel pointer to 8-byte aligned data (direct map, vmalloc, image; 4- or 5-level).
fn kptr(v: u64) -> bool {
    v >= 0xff00_0000_0000_0000 && v & 7 == 0
}
/// A `comm`: printable ASCII, NUL-terminated within 16 bytes, not empty.
fn comm_ok(b: &[u8]) -> bool {
    match b.iter().take(16).position(|&c| c == 0) {
        Some(n) if n > 0 => b[..n].iter().all(|&c| (0x20..0x7f).contains(&c)),
        _ => false,
    }
}

/// `count` bytes of `addr`, or as many whole pages of them as are readable (at least 1 KiB).
fn read_upto(k: &Kernel, addr: u64, count: usize) -> Option<Vec<u8>> {
    let mut b = vec![0u8; count];
    let mut pos = 0;
    while pos < count {
        let a = addr + pos as u64;
        let n = (count - pos).min((4096 - (a & 4095)) as usize);
        if k.read(a, &mut b[pos..pos + n]).is_err() {
            break;
        }
        pos += n;
    }
    (pos >= 1024).then(|| {
        b.truncate(pos);
        b
    })
}

impl TaskLayout {
    /// task_struct offsets without BTF, learned from what the kernel keeps in memory (3.10,
    /// 4.x and any kernel built without BTF):
    /// - `comm`: where init_task holds "swapper";
    /// - `tasks`: the list_head in init_task whose ring (every node's `prev` pointing back, every
    ///   entry with a printable comm at that offset) is the longest: the process list;
    /// - `pid`/`tgid`: the adjacent pair that is 0/0 in init_task and equal, positive and
    ///   distinct in every process on that list (only group leaders are on it), 1 in the first;
    /// - `stack`: the first word (within 64 bytes) that is init_task's stack
    ///   (`init_thread_union`/`init_stack`) and THREAD_SIZE-aligned in every process; `state`
    ///   is the word before it (`volatile long state; void *stack;` in 3.10-5.13, `__state` at
    ///   the same place after);
    /// - `real_parent`/`parent`: the adjacent pair that is init_task itself in init_task and a
    ///   listed task in every process;
    /// - `cpu` (task_struct or, before THREAD_INFO_IN_TASK, the thread_info at the stack base,
    ///   recognised by its `task` back pointer): the u32 that is each CPU's number in the task
    ///   running there and in its idle task, and below nr_cpu_ids in every task;
    /// - `thread.sp`: the word that lies inside its own stack in nearly every switched-out task
    ///   and is not one fixed distance from the stack base (that is `thread.sp0`).
    ///
    /// Each step needs one unambiguous answer; otherwise the layout is unknown and says why.
    pub fn learn(k: &Kernel) -> crate::error::Result<TaskLayout> {
        let t = k.symbols();
        let init = t.addr_of("init_task").ok_or("no init_task symbol")?;
        let ib = read_upto(k, init, LEARN_SPAN).ok_or("init_task unreadable")?;
        let span = ib.len();
        let comm = learn_comm(&ib)?;
        let (tasks_off, procs) = learn_tasks_list(k, init, &ib, comm)?;
        let bufs = read_tasks(k, &procs, span)?;
        let pid = learn_pid(&ib, &bufs, comm)?;
        let stack = learn_stack(k, &ib, &bufs)?;
        let state = stack - 8;
        check_state(&bufs, state)?;
        let listed: HashSet<u64> = procs.iter().copied().chain([init]).collect();
        let real_parent = learn_real_parent(init, &ib, &bufs, &listed, pid, comm);
        let mm = learn_mm(&ib, &bufs, tasks_off, pid);
        let mut l = TaskLayout {
            tasks: tasks_off as u64,
            pid: pid as u64,
            tgid: pid as u64 + 4,
            comm: comm as u64,
            state: state as u64,
            state_size: 4,
            exit_state: None,
            cpu: None,
            thread_info_cpu: None,
            thread_sp: None,
            stack: Some(stack as u64),
            real_parent: real_parent.map(|o| o as u64),
            mm: mm.map(|o| o as u64),
            signal: None,
            thread_node: None,
            thread_head: None,
        };
        let ncpu = nr_cpu_ids(k);
        let samples = cpu_samples(k, &l, init, ncpu);
        learn_cpu(k, &mut l, &bufs, &samples, ncpu, stack, span);
        l.thread_sp = learn_thread_sp(&bufs, &samples, comm, stack, span);
        Ok(l)
    }
}

/// A task buffer read at `LEARN_SPAN` bytes: its address and bytes.
type TaskBuf = (u64, Vec<u8>);

/// `comm`: the one 16-byte slot in init_task that holds a printable "swapper..." name.
fn learn_comm(ib: &[u8]) -> crate::error::Result<usize> {
    let comms: Vec<usize> = (0..ib.len() - 16)
        .step_by(8)
        .filter(|&o| ib[o..].starts_with(b"swapper") && comm_ok(&ib[o..o + 16]))
        .collect();
    let [comm] = comms[..] else {
        return Err(format!(
            "{} places in init_task hold \"swapper\": comm not found",
            comms.len()
        )
        .into());
    };
    Ok(comm)
}

/// The tasks ring through init_task's list head at offset `o`, each node's task named by a
/// plausible `comm`; `None` if the ring breaks anywhere.
fn task_ring(k: &Kernel, init: u64, ib: &[u8], comm: usize, o: usize) -> Option<Vec<u64>> {
    let head = init + o as u64;
    let (mut prev, mut node) = (head, le64(ib, o));
    let mut v = Vec::new();
    while node != head {
        if !kptr(node) || v.len() >= MAX_TASKS || k.read_u64(node + 8).ok()? != prev {
            return None;
        }
        let task = node.wrapping_sub(o as u64);
        if !comm_ok(&k.read_bytes(task + comm as u64, 16).ok()?) {
            return None;
        }
        v.push(task);
        prev = node;
        node = k.read_u64(node).ok()?;
    }
    Some(v)
}

/// The process list: the offset of `tasks` and the tasks it links (the longest ring, which
/// must be unique).
fn learn_tasks_list(
    k: &Kernel,
    init: u64,
    ib: &[u8],
    comm: usize,
) -> crate::error::Result<(usize, Vec<u64>)> {
    let mut lists: Vec<(usize, Vec<u64>)> = (0..ib.len() - 16)
        .step_by(8)
        .filter(|&o| kptr(le64(ib, o)) && le64(ib, o) != init + o as u64)
        .filter_map(|o| task_ring(k, init, ib, comm, o).map(|v| (o, v)))
        .filter(|(_, v)| v.len() >= 2)
        .collect();
    crate::util::sort_by_key(&mut lists, |(_, v)| std::cmp::Reverse(v.len()));
    match &lists[..] {
        [] => Err("no list in init_task links tasks: tasks list not found".into()),
        [a, b, ..] if a.1.len() == b.1.len() => Err(format!(
            "two lists in init_task ({:#x}, {:#x}) link {} tasks: tasks list ambiguous",
            a.0,
            b.0,
            a.1.len()
        )
        .into()),
        [a, ..] => Ok(a.clone()),
    }
}

/// Every listed task's first `span` bytes; an error if any is unreadable.
fn read_tasks(k: &Kernel, procs: &[u64], span: usize) -> crate::error::Result<Vec<TaskBuf>> {
    let bufs: Vec<TaskBuf> = procs
        .iter()
        .filter_map(|&a| {
            read_upto(k, a, span)
                .filter(|b| b.len() == span)
                .map(|b| (a, b))
        })
        .collect();
    if bufs.len() < procs.len() {
        return Err(format!(
            "{} of {} tasks unreadable",
            procs.len() - bufs.len(),
            procs.len()
        )
        .into());
    }
    Ok(bufs)
}

/// `pid`, with `tgid` after it: zero in init_task, 1 in the first process, distinct and equal
/// to each other in every process.
fn learn_pid(ib: &[u8], bufs: &[TaskBuf], comm: usize) -> crate::error::Result<usize> {
    let pids: Vec<usize> = (0..comm)
        .step_by(4)
        .filter(|&o| le32(ib, o) == 0 && le32(ib, o + 4) == 0)
        .filter(|&o| {
            let mut seen = HashSet::new();
            le32(&bufs[0].1, o) == 1
                && bufs.iter().all(|(_, b)| {
                    let p = le32(b, o);
                    p > 0 && p < 1 << 22 && le32(b, o + 4) == p && seen.insert(p)
                })
        })
        .collect();
    let [pid] = pids[..] else {
        return Err(format!("pid: {} candidate offsets", pids.len()).into());
    };
    Ok(pid)
}

/// `stack`: the aligned kernel pointer in the first 64 bytes, init_stack in init_task.
fn learn_stack(k: &Kernel, ib: &[u8], bufs: &[TaskBuf]) -> crate::error::Result<usize> {
    let t = k.symbols();
    let init_stack = t
        .addr_of("init_stack")
        .or_else(|| t.addr_of("init_thread_union"));
    Ok((8..=64)
        .step_by(8)
        .find(|&o| {
            init_stack.is_none_or(|s| le64(ib, o) == s)
                && bufs.iter().all(|(_, b)| {
                    let v = le64(b, o);
                    kptr(v) && v & 0x1fff == 0
                })
        })
        .ok_or("no stack pointer in the first 64 bytes of task_struct")?)
}

/// Every task's `state` (the word before `stack`) must look like a task state.
fn check_state(bufs: &[TaskBuf], state: usize) -> crate::error::Result<()> {
    if let Some((a, _)) = bufs.iter().find(|(_, b)| le32(b, state) >= 0x1000) {
        return Err(format!(
            "task {a:#x}: state {:#x} is not a task state",
            le32(&bufs.iter().find(|x| x.0 == *a).unwrap().1, state)
        )
        .into());
    }
    Ok(())
}

/// `real_parent`/`parent`: the adjacent pair that is init_task in init_task and a listed task
/// in every process.
fn learn_real_parent(
    init: u64,
    ib: &[u8],
    bufs: &[TaskBuf],
    listed: &HashSet<u64>,
    pid: usize,
    comm: usize,
) -> Option<usize> {
    ((pid + 15) & !7..comm).step_by(8).find(|&o| {
        le64(ib, o) == init
            && le64(ib, o + 8) == init
            && bufs
                .iter()
                .all(|(_, b)| listed.contains(&le64(b, o)) && listed.contains(&le64(b, o + 8)))
    })
}

/// mm, active_mm (between `tasks` and `pid` in 3.x-5.x): NULL, and NULL or a borrowed mm,
/// in init_task (a kernel thread's active_mm is cleared when it is switched out); init (pid 1, the first process) has its own mm; in every process mm is
/// NULL (a kernel thread) or its active_mm.
fn learn_mm(ib: &[u8], bufs: &[TaskBuf], tasks_off: usize, pid: usize) -> Option<usize> {
    (tasks_off + 16..pid).step_by(8).find(|&o| {
        le64(ib, o) == 0
            && (le64(ib, o + 8) == 0 || kptr(le64(ib, o + 8)))
            && kptr(le64(&bufs[0].1, o))
            && bufs.iter().all(|(_, b)| {
                let (m, am) = (le64(b, o), le64(b, o + 8));
                m == 0 || (kptr(m) && m == am)
            })
    })
}

/// cpu: samples (task, cpu) from the running and the idle tasks.
fn cpu_samples(k: &Kernel, l: &TaskLayout, init: u64, ncpu: u32) -> Vec<(u64, u32)> {
    let mut samples: Vec<(u64, u32)> = vec![(init, 0)];
    if let Some(rq) = k.symbols().addr_of("runqueues") {
        if let Some(idle) = rq_idle_by_shape(k, l, rq) {
            for c in 0..ncpu {
                if let Some(a) = per_cpu_offset(k, c)
                    .and_then(|off| k.read_u64(rq.wrapping_add(off) + idle).ok())
                {
                    samples.push((a, c));
                }
            }
        }
    }
    samples.extend((0..ncpu).filter_map(|c| current_task(k, c).map(|a| (a, c))));
    samples
}

/// `cpu` in task_struct or, failing that, in the thread_info at the stack base: the u32 that
/// is each sample's CPU and below `ncpu` in every task.
fn learn_cpu(
    k: &Kernel,
    l: &mut TaskLayout,
    bufs: &[TaskBuf],
    samples: &[(u64, u32)],
    ncpu: u32,
    stack: usize,
    span: usize,
) {
    if !(ncpu > 1 && samples.iter().any(|s| s.1 > 0)) {
        return;
    }
    let sbufs: Vec<(Vec<u8>, u32)> = samples
        .iter()
        .filter_map(|&(a, c)| Some((read_upto(k, a, span).filter(|b| b.len() == span)?, c)))
        .collect();
    let fits = |o: usize, all: &[TaskBuf], s: &[(Vec<u8>, u32)]| {
        s.iter().all(|(b, c)| le32(b, o) == *c) && all.iter().all(|(_, b)| le32(b, o) < ncpu)
    };
    l.cpu = (stack + 8..span - 4)
        .step_by(4)
        .find(|&o| fits(o, bufs, &sbufs))
        .map(|o| o as u64);
    if l.cpu.is_none() {
        // struct thread_info at the stack base, its first member the task.
        let ti = |a: u64, b: &[u8]| -> Option<Vec<u8>> {
            let st = le64(b, stack);
            let v = k.read_bytes(st, 64).ok()?;
            (le64(&v, 0) == a).then_some(v)
        };
        let tis: Option<Vec<TaskBuf>> = bufs.iter().map(|(a, b)| Some((*a, ti(*a, b)?))).collect();
        let stis: Option<Vec<(Vec<u8>, u32)>> = samples
            .iter()
            .zip(&sbufs)
            .map(|(&(a, c), (b, _))| Some((ti(a, b)?, c)))
            .collect();
        if let (Some(tis), Some(stis)) = (tis, stis) {
            l.thread_info_cpu = (8..60)
                .step_by(4)
                .find(|&o| fits(o, &tis, &stis))
                .map(|o| o as u64);
        }
    }
}

/// thread.sp of the switched-out tasks: the word inside its own stack in nearly every one,
/// at more than one distance from the stack base.
fn learn_thread_sp(
    bufs: &[TaskBuf],
    samples: &[(u64, u32)],
    comm: usize,
    stack: usize,
    span: usize,
) -> Option<u64> {
    let running: HashSet<u64> = samples.iter().map(|s| s.0).collect();
    let asleep: Vec<&TaskBuf> = bufs.iter().filter(|(a, _)| !running.contains(a)).collect();
    if asleep.len() < 3 {
        return None;
    }
    (comm + 16..span - 8)
        .step_by(8)
        .find(|&o| {
            let inside: Vec<u64> = asleep
                .iter()
                .filter_map(|(_, b)| {
                    let (st, sp) = (le64(b, stack), le64(b, o));
                    (sp & 7 == 0 && sp > st && sp - st < 16 << 10).then(|| sp - st)
                })
                .collect();
            inside.len() * 10 >= asleep.len() * 9 && inside.iter().collect::<HashSet<_>>().len() > 1
        })
        .map(|o| o as u64)
}

/// `rq.idle` without BTF: the offset in `struct rq` that holds, in every CPU's runqueue, a task
/// with pid 0 named "swapper...", init_task in CPU 0's. (`curr` sits just before it and is
/// the idle task too on an idle CPU; the crashing CPU's `curr` is not, so the later one wins.)
pub fn rq_idle_by_shape(k: &Kernel, l: &TaskLayout, rq: u64) -> Option<u64> {
    const RQ_SPAN: usize = 4 << 10;
    let init = k.symbols().addr_of("init_task")?;
    let n = nr_cpu_ids(k);
    let rqs: Vec<Vec<u8>> = (0..n)
        .map(|c| read_upto(k, rq.wrapping_add(per_cpu_offset(k, c)?), RQ_SPAN))
        .collect::<Option<_>>()?;
    let len = rqs.iter().map(|b| b.len()).min()?;
    let idle_like = |a: u64| {
        kptr(a)
            && k.read_u32(a + l.pid).ok() == Some(0)
            && k.read_bytes(a + l.comm, 16)
                .is_ok_and(|c| c.starts_with(b"swapper") && comm_ok(&c))
    };
    (0..len - 8)
        .step_by(8)
        .rev()
        .find(|&o| le64(&rqs[0], o) == init && rqs.iter().all(|b| idle_like(le64(b, o))))
        .map(|o| o as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn letters() {
        use super::state_letter;
        assert_eq!(state_letter(0, 0), 'R');
        assert_eq!(state_letter(1, 0), 'S');
        assert_eq!(state_letter(2, 0), 'D');
        assert_eq!(state_letter(0x402, 0), 'I');
        assert_eq!(state_letter(0, 0x20), 'Z');
        assert_eq!(state_letter(0x40, 0), 'P');
    }
}

//! Tasks: every thread of the crashed kernel, like drgn's `for_each_task` plus the per-CPU idle
//! tasks (crash's `ps`). Processes hang off `init_task.tasks`; a process's threads off
//! `signal->thread_head` (`task_struct.thread_node`, 3.14+); the idle task of each CPU is
//! `runqueues.idle` in that CPU's per-CPU area (`__per_cpu_offset[cpu]`).
//!
//! Offsets come from BTF in the dump (task_struct changes with every release and config).

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
    pub thread_sp: Option<u64>,
    pub stack: Option<u64>,
    pub real_parent: Option<u64>,
    pub signal: Option<u64>,
    pub thread_node: Option<u64>,
    /// `signal_struct.thread_head`.
    pub thread_head: Option<u64>,
}

impl TaskLayout {
    pub fn from_btf(k: &Kernel) -> Result<TaskLayout, String> {
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
            thread_sp: o("thread.sp"),
            stack: o("stack"),
            real_parent: o("real_parent"),
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
pub fn read_task(k: &Kernel, l: &TaskLayout, addr: u64) -> Result<Task, String> {
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
    let cpu = l
        .cpu
        .map(|o| k.read_u32(addr + o))
        .transpose()
        .map_err(e)?
        .unwrap_or(0);
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
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
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
        .filter(|&o| u32_at(&t, o) == pid && u32_at(&i, o) == 0 && u32_at(&i, o + 4) == 0)
        .collect();
    let [p] = pids[..] else { return None };
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

/// Addresses of the per-CPU idle tasks (`runqueues.idle` of each CPU).
pub fn idle_tasks(k: &Kernel) -> Vec<(u32, u64)> {
    let (Some(b), t) = (k.btf(), k.symbols()) else {
        return vec![];
    };
    let (Some(rq), Some(pco), Some(idle)) = (
        t.addr_of("runqueues"),
        t.addr_of("__per_cpu_offset"),
        b.member_offset("rq", "idle"),
    ) else {
        return vec![];
    };
    (0..k.nr_cpus())
        .filter_map(|cpu| {
            let off = k.read_u64(pco + 8 * cpu as u64).ok()?;
            let task = k.read_u64(rq.wrapping_add(off) + idle).ok()?;
            (task != 0).then_some((cpu, task))
        })
        .collect()
}

/// Every task: the per-CPU idle tasks first, then every thread of every process on
/// `init_task.tasks`. Unreadable tasks end a list walk with a warning instead of failing it.
pub fn all_tasks(k: &Kernel, warnings: &mut Vec<String>) -> Result<Vec<Task>, String> {
    let l = TaskLayout::from_btf(k)?;
    let init = k
        .symbols()
        .addr_of("init_task")
        .ok_or("no init_task symbol")?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (cpu, t) in idle_tasks(k) {
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

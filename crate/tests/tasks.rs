//! Every task: crash's `ps` (against drgn's ps on 6.12 and crash's ps on 6.1) and every task's
//! backtrace from its saved switch frame (crash's `foreach bt`).

mod common;
use common::*;
use crashlens::report::tasks::{ps, TaskTracer};
use crashlens::report::{How, TaskTrace};

fn names(t: &TaskTrace) -> Vec<&str> {
    t.trace
        .frames
        .iter()
        .map(|f| f.function.as_deref().unwrap_or("?"))
        .collect()
}

#[test]
fn ps_6_12_equals_drgn() {
    let Some(s) = open(F612) else { return };
    let Some(oracle) = oracle(F612, "drgn-ps.txt") else {
        return;
    };
    let (rows, warnings) = ps(&s.kernel);
    assert!(warnings.is_empty(), "{warnings:?}");
    // drgn lists the tasks of the task list (PID > 0); crash also lists one idle task per CPU.
    let ours: Vec<String> = rows
        .iter()
        .filter(|r| r.pid > 0)
        .map(|r| format!("{} {} {} {} {}", r.pid, r.ppid, r.cpu, r.state, r.comm))
        .collect();
    let theirs: Vec<String> = oracle
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 65);
    let idle: Vec<(i32, u32, &str)> = rows
        .iter()
        .filter(|r| r.pid == 0)
        .map(|r| (r.ppid, r.cpu, r.comm.as_str()))
        .collect();
    assert_eq!(idle, vec![(0, 0, "swapper/0"), (0, 1, "swapper/1")]);
    // One running task per CPU: the idle task on CPU 0, the crashing sh on CPU 1.
    let active: Vec<(i32, u32, &str)> = rows
        .iter()
        .filter(|r| r.active)
        .map(|r| (r.pid, r.cpu, r.comm.as_str()))
        .collect();
    assert_eq!(active, vec![(0, 0, "swapper/0"), (158, 1, "sh")]);
    let kthreadd = rows.iter().find(|r| r.pid == 2).unwrap();
    assert!(kthreadd.kthread && kthreadd.st == "IN");
    assert!(!rows.iter().find(|r| r.pid == 158).unwrap().kthread);
}

#[test]
fn ps_6_1_has_crash_ps_lines() {
    let Some(s) = open(F61) else { return };
    let Some(oracle) = oracle(F61, "crash-ps.txt") else {
        return;
    };
    let (rows, _) = ps(&s.kernel);
    // crash's ps on this dump shows only 3 tasks (it fails to walk the task list); each of its
    // lines is ours, with the same running mark, PID, CPU, TASK, state and name.
    let mut seen = 0;
    for l in oracle.lines().skip(1) {
        let active = l.starts_with('>');
        let w: Vec<&str> = l.trim_start_matches('>').split_whitespace().collect();
        let (pid, cpu, task, st, comm) = (
            w[0].parse::<i32>().unwrap(),
            w[2].parse::<u32>().unwrap(),
            w[3],
            w[4],
            w[8],
        );
        let comm = comm.trim_start_matches('[').trim_end_matches(']');
        let r = rows
            .iter()
            .find(|r| format!("{:x}", r.task) == task)
            .unwrap_or_else(|| panic!("task {task} missing"));
        assert_eq!(
            (r.pid, r.cpu, r.st.as_str(), r.comm.as_str(), r.active),
            (pid, cpu, st, comm, active),
            "{l}"
        );
        seen += 1;
    }
    assert_eq!(seen, 3);
    assert_eq!(rows.len(), 58, "crashlens walks the whole task list");
    assert_eq!(
        rows.iter()
            .filter(|r| r.comm == "kthreadd" && r.pid == 2)
            .count(),
        1
    );
}

fn all_traces(name: &str) -> Option<Vec<TaskTrace>> {
    let s = open(name)?;
    let k = &s.kernel;
    let t0 = std::time::Instant::now();
    let tracer = TaskTracer::new(k);
    let t1 = std::time::Instant::now();
    let traces: Vec<TaskTrace> = k.tasks().0.iter().map(|t| tracer.trace(t)).collect();
    eprintln!(
        "{name}: {} tasks; tracer set up (tasks, ORC tables, CPU traces) in {:?}, every task traced in {:?} (debug build)",
        traces.len(),
        t1 - t0,
        t1.elapsed()
    );
    assert!(tracer.warnings().is_empty(), "{:?}", tracer.warnings());
    Some(traces)
}

/// Checks that hold for every switched-out task of both fixtures.
fn check_sleepers(traces: &[TaskTrace], kthread_end: &str) {
    for t in traces.iter().filter(|t| !t.active) {
        let n = names(t);
        let pid = t.trace.pid.unwrap();
        assert_eq!(t.start, "switch_frame");
        assert!(t.trace.error.is_none(), "pid {pid}: {:?}", t.trace.error);
        assert!(
            t.trace
                .frames
                .iter()
                .all(|f| f.how == How::Orc || f.how == How::Start),
            "pid {pid}: {n:?}"
        );
        // Switched out inside __schedule, called from schedule() or the idle loop's schedule_idle().
        assert_eq!(n[0], "__schedule", "pid {pid}");
        assert!(
            n[1] == "schedule" || (pid == 0 && n[1] == "schedule_idle"),
            "pid {pid}: {n:?}"
        );
        let last = t.trace.frames.last().unwrap();
        let user = last.regs.is_some_and(|r| r.cs & 3 == 3);
        if user {
            // A user process asleep in a system call: the trace ends at the syscall entry's
            // user-mode pt_regs.
            assert_eq!(n[n.len() - 1], "?", "pid {pid}");
            assert!(
                n[n.len() - 2].starts_with("entry_SYSCALL_64"),
                "pid {pid}: {n:?}"
            );
            assert!(n.contains(&"do_syscall_64"), "pid {pid}: {n:?}");
        } else if pid == 0 {
            assert!(
                n.contains(&"do_idle") && n.contains(&"cpu_startup_entry"),
                "{n:?}"
            );
        } else {
            assert_eq!(*n.last().unwrap(), kthread_end, "pid {pid}: {n:?}");
        }
    }
}

#[test]
fn every_task_6_12() {
    let Some(traces) = all_traces(F612) else {
        return;
    };
    assert_eq!(traces.len(), 67);
    check_sleepers(&traces, "ret_from_fork_asm");
    let by_pid = |p: i32| {
        traces
            .iter()
            .find(|t| t.trace.pid == Some(p as u32))
            .unwrap()
    };
    assert_eq!(
        names(by_pid(2)),
        [
            "__schedule",
            "schedule",
            "kthreadd",
            "ret_from_fork",
            "ret_from_fork_asm"
        ]
    );
    assert_eq!(
        names(by_pid(17))[..4],
        ["__schedule", "schedule", "smpboot_thread_fn", "kthread"]
    );
    // init waits for its children; the two sleeps sleep.
    assert_eq!(
        names(by_pid(1))[2..6],
        ["do_wait", "kernel_wait4", "__do_sys_wait4", "do_syscall_64"]
    );
    assert!(names(by_pid(153)).contains(&"do_nanosleep"));
    // The running tasks come from their CPU's saved registers: the crashing sh on CPU 1 (in the
    // pvpanic notifier, down through the exception to the syscall), the idle task on CPU 0.
    let sh = by_pid(158);
    assert!(sh.active && sh.start == "prstatus" && sh.trace.cpu == 1);
    let n = names(sh);
    for f in [
        "panic",
        "asm_exc_invalid_op",
        "fixture_provoke",
        "provoke_write",
        "vfs_write",
        "ksys_write",
        "do_syscall_64",
    ] {
        assert!(n.contains(&f), "{f} not in {n:?}");
    }
    let idle0 = traces
        .iter()
        .find(|t| t.trace.pid == Some(0) && t.trace.cpu == 0)
        .unwrap();
    assert!(idle0.active && names(idle0)[0] == "stop_this_cpu");
    let idle1 = traces
        .iter()
        .find(|t| t.trace.pid == Some(0) && t.trace.cpu == 1)
        .unwrap();
    assert_eq!(
        names(idle1),
        [
            "__schedule",
            "schedule_idle",
            "do_idle",
            "cpu_startup_entry",
            "start_secondary",
            "common_startup_64"
        ]
    );
    // The switch frame's return slot: frame #0 is the word just below thread.sp + sizeof(frame).
    let t2 = &s_task(F612, 2);
    assert_eq!(by_pid(2).trace.frames[0].sp, Some(t2.sp + 48));
}

fn s_task(name: &str, pid: i32) -> crashlens::kernel::tasks::Task {
    let s = open(name).unwrap();
    s.kernel
        .tasks()
        .0
        .iter()
        .find(|t| t.pid == pid)
        .unwrap()
        .clone()
}

#[test]
fn every_task_6_1() {
    let Some(traces) = all_traces(F61) else {
        return;
    };
    assert_eq!(traces.len(), 58);
    check_sleepers(&traces, "ret_from_fork");
    let by_pid = |p: i32| {
        traces
            .iter()
            .find(|t| t.trace.pid == Some(p as u32))
            .unwrap()
    };
    assert_eq!(
        names(by_pid(2)),
        ["__schedule", "schedule", "kthreadd", "ret_from_fork"]
    );
    let sh = by_pid(103);
    assert!(sh.active && sh.trace.cpu == 0);
    let n = names(sh);
    assert!(
        n.contains(&"fixture_null_deref") || n.iter().any(|f| f.starts_with("fixture_")),
        "{n:?}"
    );
    // CPU 0 ran sh: its idle task is switched out, asleep in the idle loop since boot.
    let idle0 = traces
        .iter()
        .find(|t| t.trace.pid == Some(0) && t.trace.cpu == 0)
        .unwrap();
    assert!(!idle0.active);
    assert_eq!(
        names(idle0)[..4],
        [
            "__schedule",
            "schedule_idle",
            "do_idle",
            "cpu_startup_entry"
        ]
    );
    assert!(names(idle0).contains(&"start_kernel"));
}

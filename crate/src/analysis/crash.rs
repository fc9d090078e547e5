//! The crash on the dump: every CPU's backtrace from its saved registers, which CPU crashed,
//! the interrupted frame, the faulting function read and disassembled, and the reasoning of
//! [`diagnose`] run on it. The report only stores what this finds.

use super::diagnose::{self, FaultSite, Input};
use super::disasm::disassemble;
use super::model::{CpuTrace, DisasmLine, Fault, Frame, FrameKind, ModuleInfo, PanicInfo};
use super::oops::Oops;
use super::stack::KernelStack;
use super::verdict::{self, Func, Parts, Unread, Verdict};
use crate::debuginfo::DebugInfo;
use crate::kernel::tasks::learn_pid_comm;
use crate::kernel::Kernel;

/// How many bytes of a function we disassemble at most.
const MAX_FUNCTION: u64 = 16 << 10;
/// A run of one function this long on the stack is recursion.
const RECURSION_RUN: usize = 8;

/// Backtraces of every CPU from its saved registers (NT_PRSTATUS), in CPU order.
pub fn cpu_traces(k: &Kernel, ks: &KernelStack) -> Vec<CpuTrace> {
    k.cpus_with_regs()
        .into_iter()
        .filter_map(|cpu| cpu_trace(k, ks, cpu))
        .collect()
}

/// The backtrace of CPU `cpu` from its saved registers, with the task running there.
pub fn cpu_trace(k: &Kernel, ks: &KernelStack, cpu: u32) -> Option<CpuTrace> {
    let regs = k.cpu_regs(cpu)?;
    let (frames, error) = k.reading("the CPUs' stacks", || ks.trace(&regs));
    // The task running there: per-CPU `current_task` (`pcpu_hot.current_task` on 6.2+).
    let task = crate::kernel::tasks::current_task(k, cpu);
    let t = task.and_then(|a| {
        let l = k.task_layout().ok()?;
        crate::kernel::tasks::read_task(k, l, a).ok()
    });
    Some(CpuTrace {
        cpu,
        pid: t.as_ref().map(|t| t.pid as u32),
        comm: t.map(|t| t.comm),
        task,
        frames,
        error,
    })
}

/// Reads and disassembles the function around `ip`, from its start through a little past `ip`.
pub fn fault_site(k: &Kernel, ip: u64, regs: crate::dump::Regs) -> Option<FaultSite> {
    let syms = k.symbols();
    let (sym, off) = syms.lookup(ip)?;
    if off > MAX_FUNCTION {
        return None;
    }
    let end = if sym.size > 0 && sym.size <= MAX_FUNCTION {
        sym.addr + sym.size
    } else {
        ip + 64
    };
    let code = k
        .reading("the faulting function's code", || {
            k.read_bytes(sym.addr, (end - sym.addr) as usize)
        })
        .ok()?;
    let name_of = |a: u64| syms.target_name(a);
    let insns = disassemble(&code, sym.addr, &name_of);
    Some(FaultSite {
        function: sym.name.clone(),
        module: sym.module.clone(),
        start: sym.addr,
        ip,
        regs,
        insns,
    })
}

/// Source file, line and inlined functions of each frame, from debuginfo. A return address
/// names the line of its call (address - 1), as gdb does.
pub fn annotate_frames(frames: &mut [Frame], dbg: &DebugInfo) {
    if dbg.files.is_empty() {
        return;
    }
    for f in frames {
        let at = if f.kind == FrameKind::Frame {
            f.address.wrapping_sub(1)
        } else {
            f.address
        };
        let mut chain = dbg.frames(at);
        // The outermost entry is the frame's own function; its location is the frame's line.
        if let Some(own) = chain.pop() {
            f.file = own.file;
            f.line = own.line;
        }
        // Inlined entries: each one's location is where in it the address is.
        f.inlined = chain;
        if f.line.is_none() {
            if let Some(l) = dbg.line(at) {
                f.file = Some(l.file);
                f.line = Some(l.line);
            }
        }
    }
}

/// Without BTF the tasks on the CPUs have no pid or command: the log names the crashing task,
/// so the two offsets are learned from it ([`learn_pid_comm`]) and read for the other CPUs.
/// Returns the warning that says so, when it did.
pub fn name_tasks_without_btf(
    k: &Kernel,
    traces: &mut [CpuTrace],
    panic: &PanicInfo,
    log: &str,
) -> Option<String> {
    if traces.iter().all(|t| t.pid.is_some() || t.task.is_none()) {
        return None;
    }
    // The task the crash report names; a report about another task (a hung task's) leaves
    // it out: then the `CPU: N PID: P Comm: C` line of the panic's own stack dump, the last one
    // before the panic line.
    let named = match (panic.cpu, panic.pid, panic.comm.clone()) {
        (Some(c), Some(p), Some(n)) => Some((c, p, n)),
        _ => panic_cpu_line(log),
    };
    let (cpu, pid, comm) = named?;
    let comm = comm.as_str();
    let task = traces.iter().find(|t| t.cpu == cpu).and_then(|t| t.task)?;
    let (pid_off, comm_off) = learn_pid_comm(k, task, pid, comm)?;
    for t in traces.iter_mut().filter(|t| t.pid.is_none()) {
        if let Some(a) = t.task {
            t.pid = k.read_u32(a + pid_off).ok();
            t.comm = k.read_cstr(a + comm_off, 16).ok();
        }
    }
    Some(format!(
        "no BTF: the tasks' pid and command offsets ({pid_off:#x}, {comm_off:#x}) were learned from the crashing task the log names"
    ))
}

/// `CPU: 0 PID: 29 Comm: khungtaskd ...` (also `CPU: 0 UID: 0 PID: ...`) of panic()'s own
/// stack dump: the first such line after the log's last "Kernel panic - not syncing" (5.x+
/// print it after), else the last one before it (older kernels).
fn panic_cpu_line(log: &str) -> Option<(u32, u32, String)> {
    let lines: Vec<&str> = log.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| l.contains("Kernel panic - not syncing"))?;
    let parse = |l: &&str| -> Option<(u32, u32, String)> {
        let t = &l[l.find("CPU: ")?..];
        let cpu = t[5..].split_whitespace().next()?.parse().ok()?;
        let pid = t
            .split("PID: ")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        let comm = t
            .split("Comm: ")
            .nth(1)?
            .split_whitespace()
            .next()?
            .to_string();
        Some((cpu, pid, comm))
    };
    lines[at..]
        .iter()
        .take(8)
        .find_map(parse)
        .or_else(|| lines[..at].iter().rev().take(400).find_map(parse))
}

/// What the crashing CPU shows: its backtrace, the faulting function's disassembly, the fault
/// and the verdict.
#[derive(Debug, Clone, Default)]
pub struct Crash {
    pub backtrace: Vec<Frame>,
    pub disassembly: Vec<DisasmLine>,
    pub fault: Fault,
    pub verdict: Verdict,
    pub bucket: String,
}

/// The position in `traces` of the crashing CPU: the one the log names, else the one that ran
/// panic() or the kdump crash path, else one interrupted in kernel mode.
pub fn crashing_cpu(traces: &[CpuTrace], panic: &PanicInfo) -> Option<usize> {
    let on_panic_path = |t: &CpuTrace| {
        t.frames
            .iter()
            .any(|f| f.function.as_deref().is_some_and(is_panic_path))
    };
    panic
        .cpu
        .and_then(|c| traces.iter().position(|t| t.cpu == c))
        .or_else(|| traces.iter().position(on_panic_path))
        .or_else(|| {
            traces
                .iter()
                .position(|t| t.frames.iter().any(kernel_exception))
        })
}

/// Picks the crashing CPU among `traces` and diagnoses the crash from it. The log and memory
/// fill each other's gaps: the crashing task's pid and command go both ways between `panic`
/// and its trace.
pub fn analyze(
    k: &Kernel,
    traces: &mut [CpuTrace],
    panic: &mut PanicInfo,
    modules: &[ModuleInfo],
    log: (usize, Option<&Oops>),
    dbg: &DebugInfo,
) -> Crash {
    let (log_records, oops) = log;
    let mut c = Crash::default();
    let mut fault_idx = None;
    if let Some(i) = crashing_cpu(traces, panic) {
        // `i` is a position in `traces`, which may hold only the crashing CPU: the registers
        // are the CPU's, by its number.
        let start_regs = k.cpu_regs(traces[i].cpu);
        let log_rip = panic.rip.as_deref().and_then(parse_rip);
        let t = &mut traces[i];
        if t.pid.is_none() {
            t.pid = panic.pid;
            t.comm = panic.comm.clone();
        }
        if panic.pid.is_none() {
            panic.pid = t.pid;
            panic.comm = t.comm.clone();
            panic.cpu = Some(t.cpu);
        }
        fault_idx = fault_frame(&t.frames, log_rip.as_ref());
        // kdump saves the oops registers themselves as the crashing CPU's NT_PRSTATUS: then
        // the starting frame is the exception.
        if let Some(fi) = fault_idx {
            if t.frames[fi].kind == FrameKind::Start {
                t.frames[fi].kind = FrameKind::Exception;
                t.frames[fi].regs = start_regs;
            }
        }
        c.backtrace = t.frames.clone();
    }
    let exc = fault_idx.and_then(|i| c.backtrace.get(i)).cloned();
    let site = exc
        .as_ref()
        .and_then(|f| fault_site(k, f.address, f.regs.unwrap_or_default()));
    if let Some(s) = &site {
        c.disassembly = disassembly_of(s);
    }
    let arg_field =
        |func: &str, idx: u32, off: u64| arg_field(k, dbg, site.as_ref(), func, idx, off);
    let inp = Input {
        oops,
        panic,
        frames: &c.backtrace,
        fault_frame: fault_idx,
        site: site.as_ref(),
        modules,
        fault_address: fault_address_of(oops),
        arg_field: &arg_field,
    };
    let mut d = diagnose::diagnose(&inp);
    source_of_fault(&mut d.fault, dbg);
    let function = site
        .as_ref()
        .map(|s| Func {
            name: s.function.clone(),
            module: s.module.clone(),
        })
        .or_else(|| {
            exc.as_ref().and_then(|f| {
                f.function.clone().map(|name| Func {
                    name,
                    module: f.module.clone(),
                })
            })
        });
    let caller = d
        .caller_frame
        .and_then(|i| c.backtrace.get(i))
        .and_then(|f| f.function.clone());
    c.verdict = verdict::build(Parts {
        panic,
        fault: &d.fault,
        culprit: d.culprit.clone(),
        provenance: d.provenance.as_ref(),
        deliberate: d.deliberate,
        function,
        caller,
        recursion: recursion(&c.backtrace),
        fault_frame: fault_idx.is_some(),
        unknown: unread(k, log_records, panic, &c.backtrace),
    });
    c.fault = d.fault;
    c.fault.class = c.verdict.class;
    let title = panic
        .title
        .clone()
        .or_else(|| panic.message.clone())
        .unwrap_or_default();
    let from = d.fault_frame.unwrap_or(0);
    c.bucket = diagnose::bucket(&title, c.backtrace.get(from..).unwrap_or(&[]));
    c
}

/// What the verdict could not use: what the dump lacked pages for while it was read, a log
/// that could not be read or holds no crash report, no crashing CPU.
fn unread(k: &Kernel, log_records: usize, panic: &PanicInfo, backtrace: &[Frame]) -> Vec<Unread> {
    let mut u: Vec<Unread> = k
        .unreadable()
        .while_reading
        .iter()
        .filter_map(|w| Unread::of_reading(w))
        .collect();
    if log_records == 0 {
        u.push(Unread::Log);
    } else if panic.message.is_none() {
        u.push(Unread::NoCrashReport);
    }
    if backtrace.is_empty() {
        u.push(Unread::CrashingCpu);
    }
    let mut seen = Vec::new();
    u.retain(|x| {
        let new = !seen.contains(x);
        seen.push(*x);
        new
    });
    u
}

/// The faulting function's instructions, the faulting one marked.
fn disassembly_of(s: &FaultSite) -> Vec<DisasmLine> {
    s.insns
        .iter()
        .map(|i| DisasmLine {
            address: i.address,
            location: i.location.clone(),
            text: i.text.clone(),
            bytes: i.bytes.clone(),
            faulting: i.address == s.ip,
        })
        .collect()
}

/// The field at `off` of the struct argument `idx` of `func` points to: BTF first; BTF has no
/// prototypes of module functions, so then DWARF from a .ko (or vmlinux) the user gave.
fn arg_field(
    k: &Kernel,
    dbg: &DebugInfo,
    site: Option<&FaultSite>,
    func: &str,
    idx: u32,
    off: u64,
) -> Option<String> {
    let base = func.split('.').next().unwrap_or(func);
    let from_btf = || -> Option<String> {
        let btf = k.btf()?;
        let st = btf.param_pointee_struct(base, idx.checked_sub(1)? as usize)?;
        let f = btf.field_at(&st, off)?;
        Some(format!("struct {st}.{f}"))
    };
    from_btf().or_else(|| {
        let addr = site
            .filter(|s| s.function == func)
            .map(|s| s.start)
            .or_else(|| k.symbols().addr_of(func))?;
        dbg.arg_field(base, addr, idx, off)
    })
}

/// The faulting instruction's source line, and the inlined function it is in, from debuginfo.
fn source_of_fault(fault: &mut Fault, dbg: &DebugInfo) {
    let Some(ip) = fault.ip else { return };
    let Some(l) = dbg.line(ip) else { return };
    fault.source = Some(format!("{}:{}", l.file, l.line));
    let chain = dbg.frames(ip);
    if let (true, Some(inner), Some(outer)) = (chain.len() > 1, chain.first(), chain.last()) {
        fault.source_function = inner.function.clone();
        if let (Some(f), Some(file), Some(line)) = (&outer.function, &outer.file, outer.line) {
            fault.inlined_into = Some(format!("{f} ({file}:{line})"));
        }
    }
}

/// The longest run of one function in the trace, when it is long enough to be recursion.
pub fn recursion(frames: &[Frame]) -> Option<usize> {
    let names: Vec<Option<&str>> = frames.iter().map(|f| f.function.as_deref()).collect();
    let mut best = 0;
    let mut run = 0;
    for i in 0..names.len() {
        run = if i > 0 && names[i].is_some() && names[i] == names[i - 1] {
            run + 1
        } else {
            1
        };
        best = best.max(run);
    }
    (best >= RECURSION_RUN).then_some(best)
}

fn kernel_exception(f: &Frame) -> bool {
    f.kind == FrameKind::Exception && f.regs.is_some_and(|g| g.cs & 3 == 0)
}

/// Functions of the panic / kdump path, above the fault on the crashing CPU's stack.
pub fn is_panic_path(name: &str) -> bool {
    let n = name.split('.').next().unwrap_or(name);
    matches!(
        n,
        "panic"
            | "vpanic"
            | "__crash_kexec"
            | "crash_kexec"
            | "oops_end"
            | "die"
            | "__die"
            | "machine_kexec"
            | "nmi_panic"
    )
}

/// `fixture_null_deref+0x15/0x1f [vmcore_fixture]` -> (`fixture_null_deref`, 0x15).
pub fn parse_rip(rip: &str) -> Option<(String, u64)> {
    let (name, rest) = rip.trim().split_once('+')?;
    let off = rest.split('/').next()?;
    Some((
        name.to_string(),
        u64::from_str_radix(off.trim_start_matches("0x"), 16).ok()?,
    ))
}

/// The interrupted frame: the one at the log's RIP, else the first kernel-mode exception below
/// the panic path, else the first kernel-mode exception.
pub fn fault_frame(frames: &[Frame], log_rip: Option<&(String, u64)>) -> Option<usize> {
    if let Some((name, off)) = log_rip {
        let at_rip = |f: &Frame| {
            (f.kind == FrameKind::Exception || f.kind == FrameKind::Start)
                && f.function.as_deref() == Some(name)
                && f.offset == Some(*off)
        };
        if let Some(i) = frames.iter().position(at_rip) {
            return Some(i);
        }
    }
    let after_panic = frames
        .iter()
        .rposition(|f| f.function.as_deref().is_some_and(is_panic_path))
        .map_or(0, |i| i + 1);
    frames[after_panic..]
        .iter()
        .position(kernel_exception)
        .map(|i| i + after_panic)
        .or_else(|| frames.iter().position(kernel_exception))
}

/// The address the kernel reported: `address: 0000000000000018`, `at 000000000000001c`, or the
/// `CR2:` line.
pub fn fault_address_of(oops: Option<&Oops>) -> Option<u64> {
    let o = oops?;
    let m = &o.message;
    let hex_after = |key: &str| -> Option<u64> {
        let i = m.find(key)? + key.len();
        let h: String = m[i..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect();
        u64::from_str_radix(&h, 16).ok()
    };
    // Not `... hit at %p`: the stack-guard message hashes its pointers.
    hex_after("address: ")
        .or_else(|| hex_after("dereference at "))
        .or_else(|| hex_after("paging request at "))
        .or_else(|| hex_after("page fault at "))
}

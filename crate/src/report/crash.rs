//! The crash part of the report: every CPU's backtrace from memory, the faulting function's
//! disassembly, and the verdict.

use super::{CpuTrace, DisasmLine, Report};
use crate::analysis::diagnose::{self, FaultSite, Input};
use crate::analysis::disasm::disassemble;
use crate::analysis::narrative;
use crate::analysis::oops::Oops;
use crate::analysis::stack::KernelStack;
use crate::debuginfo::DebugInfo;
use crate::kernel::tasks::learn_pid_comm;
use crate::kernel::Kernel;

/// How many bytes of a function we disassemble at most.
const MAX_FUNCTION: u64 = 16 << 10;

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
        let l = crate::kernel::tasks::TaskLayout::from_btf(k).ok()?;
        crate::kernel::tasks::read_task(k, &l, a).ok()
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

/// Fills backtraces, fault, culprit, narrative, evidence, disassembly and bucket.
pub fn analyze_crash(k: &Kernel, r: &mut Report, oops: Option<&Oops>) {
    analyze_crash_with(k, r, oops, &DebugInfo::default(), &mut |_| {})
}

/// Source file, line and inlined functions of each frame, from debuginfo. A return address
/// names the line of its call (address - 1), as gdb does.
pub fn annotate_frames(frames: &mut [crate::report::Frame], dbg: &DebugInfo) {
    if dbg.files.is_empty() {
        return;
    }
    for f in frames {
        let at = if f.kind == "frame" {
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
    let named = r
        .panic
        .cpu
        .filter(|c| with_regs.contains(c) && with_regs.len() > 1);
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
    diagnose_crashing_cpu(k, r, oops, dbg);
    if let Some(c) = named {
        r.pending = vec!["cpu_traces".into()];
        verdict(r);
        r.pending.clear();
        r.cpu_traces
            .extend(traced(&mut with_regs.iter().copied().filter(|&i| i != c)));
        r.cpu_traces.sort_by_key(|t| t.cpu);
    }
    name_tasks_without_btf(k, r);
}

/// Without BTF the tasks on the CPUs have no pid or command: the log names the crashing task,
/// so the two offsets are learned from it ([`learn_pid_comm`]) and read for the other CPUs.
fn name_tasks_without_btf(k: &Kernel, r: &mut Report) {
    if r.cpu_traces
        .iter()
        .all(|t| t.pid.is_some() || t.task.is_none())
    {
        return;
    }
    let (Some(cpu), Some(pid), Some(comm)) = (r.panic.cpu, r.panic.pid, r.panic.comm.as_deref())
    else {
        return;
    };
    let Some(task) = r
        .cpu_traces
        .iter()
        .find(|t| t.cpu == cpu)
        .and_then(|t| t.task)
    else {
        return;
    };
    let Some((pid_off, comm_off)) = learn_pid_comm(k, task, pid, comm) else {
        return;
    };
    for t in r.cpu_traces.iter_mut().filter(|t| t.pid.is_none()) {
        if let Some(a) = t.task {
            t.pid = k.read_u32(a + pid_off).ok();
            t.comm = k.read_cstr(a + comm_off, 16).ok();
        }
    }
    r.warnings.push(format!(
        "no BTF: the tasks' pid and command offsets ({pid_off:#x}, {comm_off:#x}) were learned from the crashing task the log names"
    ));
}

/// Picks the crashing CPU among `r.cpu_traces` and fills backtrace, fault, disassembly, culprit,
/// narrative, evidence and bucket from it.
fn diagnose_crashing_cpu(k: &Kernel, r: &mut Report, oops: Option<&Oops>, dbg: &DebugInfo) {
    // The crashing CPU: the one the log names, else the one that ran panic() or the kdump crash
    // path, else one interrupted in kernel mode.
    let on_panic_path = |t: &CpuTrace| {
        t.frames
            .iter()
            .any(|f| f.function.as_deref().is_some_and(is_panic_path))
    };
    let crashing = r
        .panic
        .cpu
        .and_then(|c| r.cpu_traces.iter().position(|t| t.cpu == c))
        .or_else(|| r.cpu_traces.iter().position(on_panic_path))
        .or_else(|| {
            r.cpu_traces
                .iter()
                .position(|t| t.frames.iter().any(kernel_exception))
        });
    let mut fault_idx = None;
    if let Some(i) = crashing {
        // `i` is a position in `cpu_traces`, which may hold only the crashing CPU: the
        // registers are the CPU's, by its number.
        let start_regs = k.cpu_regs(r.cpu_traces[i].cpu);
        let log_rip = r.panic.rip.as_deref().and_then(parse_rip);
        let t = &mut r.cpu_traces[i];
        // The log names the crashing task; memory fills in what the log lacks (and the other way).
        if t.pid.is_none() {
            t.pid = r.panic.pid;
            t.comm = r.panic.comm.clone();
        }
        if r.panic.pid.is_none() {
            r.panic.pid = t.pid;
            r.panic.comm = t.comm.clone();
            r.panic.cpu = Some(t.cpu);
        }
        fault_idx = fault_frame(&t.frames, log_rip.as_ref());
        // kdump saves the oops registers themselves as the crashing CPU's NT_PRSTATUS: then
        // the starting frame is the exception.
        if let Some(fi) = fault_idx {
            if t.frames[fi].kind == "start" {
                t.frames[fi].kind = "exception".into();
                t.frames[fi].regs = start_regs;
            }
        }
        r.backtrace = t.frames.clone();
    }
    let exc = fault_idx.and_then(|i| r.backtrace.get(i)).cloned();
    let site = exc
        .as_ref()
        .and_then(|f| fault_site(k, f.address, f.regs.unwrap_or_default()));
    if let Some(s) = &site {
        r.disassembly = s
            .insns
            .iter()
            .map(|i| DisasmLine {
                address: i.address,
                location: i.location.clone(),
                text: i.text.clone(),
                bytes: i.bytes.clone(),
                faulting: i.address == s.ip,
            })
            .collect();
    }
    let fault_address = fault_address_of(oops);
    let from_btf = |func: &str, idx: u32, off: u64| -> Option<String> {
        let btf = k.btf()?;
        let st = btf.param_pointee_struct(
            func.split('.').next().unwrap_or(func),
            idx.checked_sub(1)? as usize,
        )?;
        let f = btf.field_at(&st, off)?;
        Some(format!("struct {st}.{f}"))
    };
    // BTF has no prototypes of module functions: DWARF from a .ko (or vmlinux) the user gave.
    let site_start = site.as_ref().map(|s| (s.function.clone(), s.start));
    let arg_field = |func: &str, idx: u32, off: u64| -> Option<String> {
        from_btf(func, idx, off).or_else(|| {
            let addr = site_start
                .as_ref()
                .filter(|(n, _)| n == func)
                .map(|&(_, a)| a)
                .or_else(|| k.symbols().addr_of(func))?;
            dbg.arg_field(func.split('.').next().unwrap_or(func), addr, idx, off)
        })
    };
    let inp = Input {
        oops,
        panic: &r.panic,
        frames: &r.backtrace,
        fault_frame: fault_idx,
        site: site.as_ref(),
        modules: &r.modules,
        fault_address,
        arg_field: &arg_field,
    };
    let mut v = diagnose::diagnose(&inp);
    if let Some(ip) = v.fault.ip {
        if let Some(l) = dbg.line(ip) {
            v.fault.source = Some(format!("{}:{}", l.file, l.line));
            let chain = dbg.frames(ip);
            if let (true, Some(inner), Some(outer)) = (chain.len() > 1, chain.first(), chain.last())
            {
                v.fault.source_function = inner.function.clone();
                if let (Some(f), Some(file), Some(line)) =
                    (&outer.function, &outer.file, outer.line)
                {
                    v.fault.inlined_into = Some(format!("{f} ({file}:{line})"));
                }
            }
        }
    }
    let faulting = site
        .as_ref()
        .map(|s| (s.function.as_str(), &s.module))
        .or_else(|| {
            exc.as_ref()
                .and_then(|f| f.function.as_deref().map(|n| (n, &f.module)))
        });
    let caller = v
        .caller_frame
        .and_then(|i| r.backtrace.get(i))
        .and_then(|f| f.function.clone());
    // The longest run of one function in the trace (recursion).
    let recursion = {
        let names: Vec<Option<&str>> = r.backtrace.iter().map(|f| f.function.as_deref()).collect();
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
        (best >= 8).then_some(best)
    };
    let words = narrative::write(&v, &r.panic, faulting, caller.as_deref(), recursion);
    r.fault = Some(v.fault.clone());
    r.culprit = v.culprit.clone().map(|mut c| {
        let f = faulting
            .map(|(n, _)| n.to_string())
            .unwrap_or_else(|| c.function.clone());
        c.reason_zh = narrative::reason_zh(&c, &f, &v);
        c
    });
    r.narrative = Some(words.narrative);
    r.evidence = words.evidence;
    let title = r
        .panic
        .title
        .clone()
        .or_else(|| r.panic.message.clone())
        .unwrap_or_default();
    let from = v.fault_frame.unwrap_or(0);
    r.bucket = Some(diagnose::bucket(
        &title,
        r.backtrace.get(from..).unwrap_or(&[]),
    ));
}

fn kernel_exception(f: &crate::report::Frame) -> bool {
    f.kind == "exception" && f.regs.is_some_and(|g| g.cs & 3 == 0)
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
pub fn fault_frame(
    frames: &[crate::report::Frame],
    log_rip: Option<&(String, u64)>,
) -> Option<usize> {
    if let Some((name, off)) = log_rip {
        let at_rip = |f: &crate::report::Frame| {
            (f.kind == "exception" || f.kind == "start")
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

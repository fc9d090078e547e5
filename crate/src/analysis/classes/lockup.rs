//! Lockups: "watchdog: BUG: soft lockup - CPU#N stuck for Xs! [comm:pid]" (a CPU ran kernel
//! code without scheduling for 2 × watchdog_thresh) and "Watchdog detected hard LOCKUP on cpu N"
//! (a CPU did not take timer interrupts). What kept the CPU is the function interrupted on it.
//!
//! When that function is the queued spinlock's slow path, the CPU was waiting for a spinlock:
//! the lock is the slow path's first argument (RDI at entry), followed through the register
//! copies the slow path makes before the interrupted instruction and read from the exception
//! frame, and checked against the waiter's own call (`mov $lock,%rdi; call _raw_spin_lock`).
//! A qspinlock does not record its owner, so the holder is found from the code: the functions
//! that take this lock (the lock's module's functions and every function on a CPU's stack,
//! disassembled, bounded) and the CPUs whose stacks are inside one of them. When none is, no
//! CPU holds it: a function that took it returned without releasing it.

use super::{Examined, Finding, Input};
use crate::analysis::crash::fault_site;
use crate::analysis::disasm::{disassemble, Insn};
use crate::analysis::model::{Confidence, CpuTrace, CrashClass, FrameKind, PanicInfo};
use crate::analysis::oops::Oops;
use crate::analysis::verdict::{Culprit, CulpritRule, Taint};
use crate::kernel::Kernel;
use serde::Serialize;

/// Which detector fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// The soft lockup detector (the watchdog's hrtimer saw its per-CPU thread not run).
    Soft,
    /// The hard lockup detector (NMI watchdog: no timer interrupts).
    Hard,
}

/// A function, with its module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FuncRef {
    pub function: String,
    pub module: Option<String>,
}

impl FuncRef {
    /// `lab_spin_take [crashlens_lab]`.
    pub fn display(&self) -> String {
        match &self.module {
            Some(m) => format!("{} [{m}]", self.function),
            None => self.function.clone(),
        }
    }
}

/// Who holds the spinlock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Holder {
    /// A CPU whose stack is inside a function that takes the lock (its critical section).
    Cpu {
        cpu: u32,
        pid: Option<u32>,
        comm: Option<String>,
        function: FuncRef,
        /// Where that CPU was inside the critical section: the innermost frame its stack shows
        /// above the taker's (the interrupted function, `delay_tsc+0x31`), when not the taker.
        at: Option<String>,
    },
    /// The lock is held but no CPU's stack is in a function that takes it: one of `taken_by`
    /// took it and returned without releasing it.
    NoCpu { taken_by: Vec<FuncRef> },
    /// The functions that take the lock could not be told (or the lock reads as free).
    Unknown,
}

/// The spinlock the locked-up CPU waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpinlockWait {
    #[serde(with = "crate::util::hex")]
    pub address: u64,
    /// `lab_spin_lock` (with `+0x..` inside a larger object).
    pub symbol: Option<String>,
    pub module: Option<String>,
    /// The lock word (`qspinlock.val`) as the dump holds it.
    #[serde(with = "crate::util::hex::opt")]
    pub value: Option<u64>,
    /// Its locked byte is set.
    pub locked: Option<bool>,
    /// A waiter has set the pending bit.
    pub pending: Option<bool>,
    /// The CPU at the tail of the MCS queue of waiters, when there is one.
    pub queued_cpu: Option<u32>,
    /// The spin lock slow path the CPU was interrupted in (`native_queued_spin_lock_slowpath+0x30`).
    pub slowpath: String,
    /// The exception frame's registers that hold the lock address there (`rdi`, `rbx`).
    pub registers: Vec<String>,
    /// The waiter's call that passed the lock: `lab_spin_again+0x15: mov $0x...,%rdi`.
    pub call_site: Option<String>,
    /// The function that called the lock function (the waiter).
    pub waiter: Option<FuncRef>,
    /// Every function found that takes this lock.
    pub takers: Vec<FuncRef>,
    /// How many functions were disassembled to find them.
    pub functions_scanned: usize,
    pub holder: Holder,
}

/// What the dump says about the lockup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lockup {
    pub detector: Detector,
    pub cpu: Option<u32>,
    /// "stuck for 6s".
    pub seconds: Option<u32>,
    pub comm: Option<String>,
    pub pid: Option<u32>,
    /// The interrupted function on that CPU (`native_queued_spin_lock_slowpath+0x30`).
    pub interrupted_at: Option<String>,
    /// EFLAGS.IF was clear in the interrupted context (a loop with interrupts off).
    pub interrupts_off: Option<bool>,
    /// The code that kept the CPU: the spinning function, or the spinlock's waiter.
    pub looping: Option<FuncRef>,
    /// Boxed: most lockups have none.
    pub spinlock: Option<Box<SpinlockWait>>,
}

/// The slow paths of spinlocks a waiter spins in.
const SLOWPATHS: &[&str] = &[
    "native_queued_spin_lock_slowpath",
    "queued_spin_lock_slowpath",
    "__pv_queued_spin_lock_slowpath",
    "pv_queued_spin_lock_slowpath",
    "do_raw_spin_lock",
];
/// Lock functions a critical section starts with (their first argument is the lock).
fn is_lock_fn(name: &str) -> bool {
    let base = name.split('.').next().unwrap_or(name);
    base.starts_with("_raw_spin_lock")
        || base.starts_with("_raw_spin_trylock")
        || base == "do_raw_spin_lock"
}
/// At most this many functions are disassembled to find the lock's takers.
const MAX_SCAN: usize = 4096;
/// At most this many bytes of one function.
const MAX_FUNCTION: u64 = 16 << 10;
/// At most this many frames of a CPU's stack are looked at.
const MAX_FRAMES: usize = 64;

fn is_report(l: &str) -> bool {
    l.contains("BUG: soft lockup") || l.contains("hard LOCKUP")
}

/// The crash is a lockup: its report is the crash's, or the panic is the lockup detector's
/// (`softlockup: hung tasks`, `Hard LOCKUP`), not a lockup warning before another panic.
pub fn recognise(panic: &PanicInfo, _oops: Option<&Oops>, log: &str) -> bool {
    let by_panic = panic.panic_string.as_deref().is_some_and(|p| {
        let p = p.to_lowercase();
        p.contains("softlockup") || p.contains("hardlockup") || p.contains("hard lockup")
    });
    (panic.message.as_deref().is_some_and(is_report) || by_panic)
        && report_line(panic, log).is_some()
}

/// The lockup report line: the crash's message, else the log's last one.
fn report_line<'a>(panic: &'a PanicInfo, log: &'a str) -> Option<&'a str> {
    panic
        .message
        .as_deref()
        .filter(|m| is_report(m))
        .or_else(|| log.lines().rev().find(|l| is_report(l)))
}

/// `CPU#1 stuck for 5s! [sh:102]` / `hard LOCKUP on cpu 1`.
fn parse_line(l: &str) -> (Option<u32>, Option<u32>, Option<String>, Option<u32>) {
    let num = |s: &str| -> Option<u32> {
        let e = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        s[..e].parse().ok()
    };
    let cpu = l
        .split("CPU#")
        .nth(1)
        .and_then(num)
        .or_else(|| l.split("LOCKUP on cpu ").nth(1).and_then(num));
    let secs = l.split("stuck for ").nth(1).and_then(num);
    let (comm, pid) = match l.rsplit_once('[') {
        Some((_, t)) if t.ends_with(']') => match t[..t.len() - 1].rsplit_once(':') {
            Some((c, p)) => (Some(c.to_string()), p.parse().ok()),
            None => (None, None),
        },
        _ => (None, None),
    };
    (cpu, secs, comm, pid)
}

fn func_of(k: &Kernel, addr: u64) -> Option<FuncRef> {
    let (s, _) = k.symbols().lookup(addr)?;
    Some(FuncRef {
        function: s.name.clone(),
        module: s.module.clone(),
    })
}

const GPRS: [&str; 16] = [
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15",
];

fn reg_bit(r: &str) -> u16 {
    GPRS.iter()
        .position(|g| *g == r)
        .map(|i| 1 << i)
        .unwrap_or(0)
}

/// The target of a direct jump: `jne    0xffffffff81000010 <f+16>`.
fn jump_target(text: &str) -> Option<u64> {
    if !text.starts_with('j') {
        return None;
    }
    let t = text.split_whitespace().nth(1)?;
    u64::from_str_radix(t.strip_prefix("0x")?, 16).ok()
}

/// The registers that surely still hold the function's first argument (RDI at entry) at `ip`:
/// RDI and its register copies, on every path from the entry (a forward must-analysis over
/// the function's jumps; a write other than a copy, or a call's clobbers, drop a register).
/// Bounded: at most 64 passes over at most the function's instructions.
fn arg_holders(insns: &[Insn], ip: u64) -> Vec<String> {
    let clobbered: u16 = ["rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"]
        .iter()
        .map(|r| reg_bit(r))
        .fold(0, |a, b| a | b);
    let n = insns.len();
    let Some(target) = insns.iter().position(|i| i.address == ip) else {
        return Vec::new();
    };
    let index = |a: u64| insns.binary_search_by_key(&a, |i| i.address).ok();
    // Successors of each instruction.
    let succ: Vec<Vec<usize>> = insns
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let mut v = Vec::new();
            let m = i.text.split_whitespace().next().unwrap_or("");
            let uncond = m == "jmp" || i.is_ret || m == "ud2" || m == "int3";
            if !uncond && k + 1 < n {
                v.push(k + 1);
            }
            if let Some(t) = jump_target(&i.text).and_then(index) {
                v.push(t);
            }
            v
        })
        .collect();
    let transfer = |k: usize, inb: u16| -> u16 {
        let i = &insns[k];
        let mut out = inb;
        for w in &i.writes {
            out &= !reg_bit(w);
        }
        if i.is_call {
            out &= !clobbered;
        }
        if let Some((from, to)) = reg_copy(&i.text) {
            if inb & reg_bit(&from) != 0 {
                out |= reg_bit(&to);
            }
        }
        out
    };
    let entry = reg_bit("rdi");
    let mut inset: Vec<Option<u16>> = vec![None; n];
    inset[0] = Some(entry);
    for _ in 0..64 {
        let mut changed = false;
        for k in 0..n {
            let Some(inb) = inset[k] else {
                continue;
            };
            let out = transfer(k, inb);
            for &s in &succ[k] {
                let mut new = inset[s].map_or(out, |x| x & out);
                if s == 0 {
                    new &= entry;
                }
                if inset[s] != Some(new) {
                    inset[s] = Some(new);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let Some(at) = inset[target] else {
        return Vec::new();
    };
    let mut out: Vec<String> = vec![];
    // RDI first, then the copies in register order.
    for r in std::iter::once("rdi").chain(GPRS.iter().copied().filter(|r| *r != "rdi")) {
        if at & reg_bit(r) != 0 && r != "rsp" {
            out.push(r.to_string());
        }
    }
    out
}

/// `mov %rdi,%rbx` -> (rdi, rbx): a 64-bit register-to-register copy.
fn reg_copy(text: &str) -> Option<(String, String)> {
    let rest = text.strip_prefix("mov ")?.trim();
    let (a, b) = rest.split_once(',')?;
    let r = |s: &str| {
        let s = s.trim().strip_prefix('%')?;
        let ok = matches!(
            s,
            "rax" | "rbx" | "rcx" | "rdx" | "rsi" | "rdi" | "rbp" | "r8" | "r9" | "r10"
        ) || matches!(s, "r11" | "r12" | "r13" | "r14" | "r15");
        ok.then(|| s.to_string())
    };
    Some((r(a)?, r(b)?))
}

/// The value an instruction puts in RDI when it is a constant: `mov $0x...,%rdi` or
/// `lea 0x...(%rip),%rdi        # 0xffff... <sym>`.
fn rdi_constant(i: &Insn) -> Option<u64> {
    let t = i.text.as_str();
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
    if t.starts_with("mov ") && t.contains(",%rdi") {
        let imm = t.split('$').nth(1)?.split(',').next()?;
        return hex(imm);
    }
    if t.starts_with("lea ") && t.contains(",%rdi") && t.contains("(%rip)") {
        let tail = t.split("# ").nth(1)?;
        return hex(tail.split_whitespace().next()?);
    }
    None
}

/// The calls to a lock function in `insns` whose RDI is a constant: (call address, the
/// instruction that set RDI, the lock).
fn lock_calls(insns: &[Insn]) -> Vec<(usize, usize, u64)> {
    const_arg_calls(insns, is_lock_fn)
}

/// The calls in `insns` to a function `is_target` accepts whose first argument (RDI) is a
/// constant: (call index, index of the instruction that set RDI, the constant).
pub(crate) fn const_arg_calls(
    insns: &[Insn],
    is_target: impl Fn(&str) -> bool,
) -> Vec<(usize, usize, u64)> {
    let mut out = Vec::new();
    for (n, i) in insns.iter().enumerate() {
        if !i.is_call {
            continue;
        }
        let Some(target) = i.text.split('<').nth(1) else {
            continue;
        };
        let target = target.trim_end_matches('>');
        if !is_target(target.split('+').next().unwrap_or(target)) {
            continue;
        }
        // The nearest earlier instruction that writes RDI (within 16 instructions, no call
        // between).
        for j in (n.saturating_sub(16)..n).rev() {
            let p = &insns[j];
            if p.is_call {
                break;
            }
            if p.writes.contains(&"rdi") {
                if let Some(v) = rdi_constant(p) {
                    out.push((n, j, v));
                }
                break;
            }
        }
    }
    out
}

/// A function's code, disassembled (bounded).
fn function_insns(k: &Kernel, addr: u64, size: u64) -> Option<Vec<Insn>> {
    if size == 0 || size > MAX_FUNCTION {
        return None;
    }
    let code = k.read_bytes(addr, size as usize).ok()?;
    let syms = k.symbols();
    let name_of = |a: u64| syms.target_name(a);
    Some(disassemble(&code, addr, &name_of))
}

/// The functions that take the lock at `lock`: the text symbols of the lock's module (when it
/// is in one) and the functions on the CPUs' stacks. Bounded by [`MAX_SCAN`].
fn takers(
    k: &Kernel,
    lock: u64,
    module: Option<&str>,
    traces: &[CpuTrace],
) -> (Vec<FuncRef>, usize) {
    callers_with_arg(k, lock, module, traces, is_lock_fn)
}

/// The functions that call a function `is_target` accepts with `value` as its first argument:
/// the text symbols of `module` and the functions on the traces' stacks, disassembled.
/// Bounded by [`MAX_SCAN`]; the second value is how many were disassembled.
pub(crate) fn callers_with_arg(
    k: &Kernel,
    value: u64,
    module: Option<&str>,
    traces: &[CpuTrace],
    is_target: impl Fn(&str) -> bool + Copy,
) -> (Vec<FuncRef>, usize) {
    let syms = k.symbols();
    let mut cands: Vec<(u64, u64)> = Vec::new();
    if let Some(m) = module {
        cands.extend(
            syms.iter()
                .filter(|s| s.module.as_deref() == Some(m) && matches!(s.kind, 't' | 'T'))
                .map(|s| (s.addr, s.size)),
        );
    }
    for t in traces {
        for f in t.frames.iter().take(MAX_FRAMES) {
            if let Some((s, _)) = syms.lookup(f.address) {
                cands.push((s.addr, s.size));
            }
        }
    }
    cands.sort_unstable();
    cands.dedup();
    let mut out: Vec<FuncRef> = Vec::new();
    let mut scanned = 0;
    for (a, size) in cands.into_iter().take(MAX_SCAN) {
        let Some(insns) = function_insns(k, a, size) else {
            continue;
        };
        scanned += 1;
        if const_arg_calls(&insns, is_target)
            .iter()
            .any(|&(_, _, v)| v == value)
        {
            if let Some(f) = func_of(k, a) {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
    }
    (out, scanned)
}

fn spinlock(k: &Kernel, traces: &[CpuTrace], t: &CpuTrace, exc: usize) -> Option<SpinlockWait> {
    let frames = &t.frames;
    let ef = &frames[exc];
    let name = ef.function.as_deref()?;
    if !SLOWPATHS.contains(&name.split('.').next().unwrap_or(name)) {
        return None;
    }
    let regs = ef.regs?;
    let slowpath = format!("{name}+{:#x}", ef.offset.unwrap_or(0));
    // The lock from the exception frame: the registers holding the slow path's argument.
    let site = fault_site(k, ef.address, regs);
    let holders = site
        .as_ref()
        .map(|s| arg_holders(&s.insns, ef.address))
        .unwrap_or_default();
    let mut from_regs: Option<u64> = None;
    let mut registers = Vec::new();
    for r in &holders {
        if let Some(v) = regs.get(r) {
            if k.read_u32(v).is_ok() && from_regs.is_none_or(|x| x == v) {
                from_regs = Some(v);
                registers.push(r.clone());
            }
        }
    }
    // The waiter: the frame after the lock function(s); its call passed the lock.
    let mut w = exc + 1;
    while w < frames.len().min(exc + 4) && frames[w].function.as_deref().is_some_and(is_lock_fn) {
        w += 1;
    }
    // (6.x calls the slow path from _raw_spin_lock, whose frame is then on the stack; 7.x
    // tail-jumps to it, so the waiter's frame follows the slow path's directly.)
    let waiter_frame = frames.get(w);
    let waiter = waiter_frame.and_then(|f| func_of(k, f.address.saturating_sub(1)));
    let mut call_site = None;
    let mut from_call = None;
    if let Some(f) = waiter_frame {
        if let Some((s, _)) = k.symbols().lookup(f.address.saturating_sub(1)) {
            if let Some(insns) = function_insns(k, s.addr, s.size) {
                // The call that returns to this frame's address.
                if let Some(&(_, j, v)) = lock_calls(&insns)
                    .iter()
                    .find(|&&(n, _, _)| insns[n].address + insns[n].len as u64 == f.address)
                {
                    from_call = Some(v);
                    let loc = insns[j]
                        .location
                        .clone()
                        .unwrap_or_else(|| format!("{:#x}", insns[j].address));
                    call_site = Some(format!("{loc}: {}", insns[j].text));
                }
            }
        }
    }
    let address = from_regs.or(from_call)?;
    if from_regs.is_none() {
        registers.clear();
    }
    let (symbol, module) = match k.symbols().lookup(address) {
        Some((s, off)) if s.size == 0 || off < s.size => (
            Some(if off == 0 {
                s.name.clone()
            } else {
                format!("{}+{off:#x}", s.name)
            }),
            s.module.clone(),
        ),
        _ => (None, None),
    };
    let value = k.read_u32(address).ok();
    let (takers, functions_scanned) = takers(k, address, module.as_deref(), traces);
    let holder = holder(traces, t.cpu, waiter.as_ref(), &takers, value);
    Some(SpinlockWait {
        address,
        symbol,
        module,
        value: value.map(u64::from),
        locked: value.map(|v| v & 0xff != 0),
        pending: value.map(|v| v & 0x100 != 0),
        queued_cpu: value.and_then(|v| (v >> 18).checked_sub(1)),
        slowpath,
        registers,
        call_site,
        waiter,
        takers,
        functions_scanned,
        holder,
    })
}

/// The CPU inside a taker's critical section, or none (the taker returned with it held).
fn holder(
    traces: &[CpuTrace],
    spinning_cpu: u32,
    waiter: Option<&FuncRef>,
    takers: &[FuncRef],
    value: Option<u32>,
) -> Holder {
    if takers.is_empty() || value.is_some_and(|v| v & 0xff == 0) {
        return Holder::Unknown;
    }
    for t in traces {
        let fr = &t.frames[..t.frames.len().min(MAX_FRAMES)];
        for (i, f) in fr.iter().enumerate() {
            let (Some(name), kind) = (f.function.as_deref(), f.kind) else {
                continue;
            };
            if kind == FrameKind::Exception && t.cpu == spinning_cpu {
                continue;
            }
            let Some(tk) = takers
                .iter()
                .find(|x| x.function == name && x.module == f.module)
            else {
                continue;
            };
            // A frame that called a lock function is waiting, not holding.
            let waiting = i > 0
                && fr[i - 1].function.as_deref().is_some_and(|p| {
                    is_lock_fn(p) || SLOWPATHS.contains(&p.split('.').next().unwrap_or(p))
                })
                && (t.cpu != spinning_cpu || waiter == Some(tk));
            if waiting {
                continue;
            }
            // The interrupted frame above the taker (its code at the interrupt), else the
            // frame the taker called.
            let above = fr[..i]
                .iter()
                .rev()
                .find(|f| f.kind == FrameKind::Exception)
                .or_else(|| i.checked_sub(1).map(|j| &fr[j]));
            let at = above.and_then(|f| {
                f.function
                    .as_ref()
                    .map(|n| format!("{n}+{:#x}", f.offset.unwrap_or(0)))
            });
            return Holder::Cpu {
                cpu: t.cpu,
                pid: t.pid,
                comm: t.comm.clone(),
                function: tk.clone(),
                at,
            };
        }
    }
    let mut taken_by: Vec<FuncRef> = takers
        .iter()
        .filter(|f| Some(*f) != waiter)
        .cloned()
        .collect();
    if taken_by.is_empty() {
        taken_by = takers.to_vec();
    }
    Holder::NoCpu { taken_by }
}

pub fn examine(inp: &Input) -> Option<Examined> {
    let line = report_line(inp.panic, inp.log)?;
    let detector = if line.contains("hard LOCKUP") {
        Detector::Hard
    } else {
        Detector::Soft
    };
    let (cpu, seconds, comm, pid) = parse_line(line);
    let cpu = cpu.or(inp.panic.cpu);
    let t = inp.traces.iter().find(|t| Some(t.cpu) == cpu);
    let exc = t.and_then(|t| {
        t.frames
            .iter()
            .take(MAX_FRAMES)
            .position(|f| f.kind == FrameKind::Exception && f.regs.is_some())
    });
    let ef = t.zip(exc).map(|(t, e)| &t.frames[e]);
    let interrupted_at = ef.and_then(|f| {
        f.function
            .as_ref()
            .map(|n| format!("{n}+{:#x}", f.offset.unwrap_or(0)))
    });
    let interrupts_off = ef
        .and_then(|f| f.regs.as_ref())
        .map(|r| r.eflags & 0x200 == 0);
    let spin = match (t, exc) {
        (Some(t), Some(e)) => spinlock(inp.kernel, inp.traces, t, e),
        _ => None,
    };
    // Where the CPU was: its interrupted frame in the dump, else the log's RIP line (an unwind
    // that does not get past the interrupt stack, as on 3.10 kdumps).
    let log_rip = inp
        .panic
        .rip
        .as_deref()
        .and_then(crate::analysis::crash::parse_rip);
    let interrupted_at =
        interrupted_at.or_else(|| log_rip.as_ref().map(|(n, off)| format!("{n}+{off:#x}")));
    let looping = match &spin {
        Some(s) => s.waiter.clone(),
        None => ef
            .and_then(|f| {
                f.function.as_ref().map(|n| FuncRef {
                    function: n.clone(),
                    module: f.module.clone(),
                })
            })
            .or_else(|| {
                let m = inp.panic.rip.as_deref()?;
                let module = m
                    .split_once(" [")
                    .map(|(_, r)| r.trim_end_matches(']').to_string());
                log_rip.as_ref().map(|(n, _)| FuncRef {
                    function: n.clone(),
                    module,
                })
            }),
    };
    let taint = |m: &Option<String>| {
        m.as_ref()
            .and_then(|m| inp.modules.iter().find(|x| &x.name == m))
            .map(|x| Taint::of(&x.taint))
            .unwrap_or_default()
    };
    let culprit = match spin.as_ref().map(|s| (&s.holder, s)) {
        Some((Holder::Cpu { cpu, function, .. }, s)) => Some(Culprit {
            function: function.function.clone(),
            module: function.module.clone(),
            confidence: Confidence::Medium,
            rule: CulpritRule::SpinlockHeld {
                lock: s
                    .symbol
                    .clone()
                    .unwrap_or_else(|| format!("{:#x}", s.address)),
                cpu: *cpu,
            },
            taint: taint(&function.module),
        }),
        Some((Holder::NoCpu { taken_by }, s)) if taken_by.len() == 1 => Some(Culprit {
            function: taken_by[0].function.clone(),
            module: taken_by[0].module.clone(),
            confidence: Confidence::Medium,
            rule: CulpritRule::SpinlockNeverReleased {
                lock: s
                    .symbol
                    .clone()
                    .unwrap_or_else(|| format!("{:#x}", s.address)),
            },
            taint: taint(&taken_by[0].module),
        }),
        // A spinlock whose holder cannot be told: the faulting-instruction reasoning's
        // culprit (the waiter's code), with low confidence.
        Some(_) => inp.prior.cloned().map(|mut c| {
            c.confidence = Confidence::Low;
            c
        }),
        // A loop of its own (preemption or interrupts off): the spinning function, as the
        // faulting-instruction reasoning found it, or the looping function when that
        // reasoning only saw the panic path (a trace that stops at the interrupt).
        None => match (inp.prior, &looping) {
            (Some(c), _) if !crate::analysis::crash::is_panic_path(&c.function) => Some(c.clone()),
            (_, Some(f)) => Some(super::blame(
                &f.function,
                &f.module,
                CulpritRule::Lockup,
                inp.modules,
            )),
            (c, None) => c.cloned(),
        },
    };
    Some(Examined {
        class: CrashClass::Lockup,
        finding: Finding::Lockup(Lockup {
            detector,
            cpu,
            seconds,
            comm: comm.or_else(|| inp.panic.comm.clone()),
            pid: pid.or(inp.panic.pid),
            interrupted_at,
            interrupts_off,
            looping,
            spinlock: spin.map(Box::new),
        }),
        culprit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(text: &str, writes: &[&'static str], addr: u64) -> Insn {
        Insn {
            address: addr,
            len: 3,
            bytes: String::new(),
            text: text.into(),
            location: None,
            writes: writes.to_vec(),
            is_call: text.starts_with("call"),
            is_ret: text == "ret",
        }
    }

    #[test]
    fn parses_the_soft_lockup_line() {
        assert_eq!(
            parse_line("watchdog: BUG: soft lockup - CPU#0 stuck for 6s! [sh:102]"),
            (Some(0), Some(6), Some("sh".into()), Some(102))
        );
        assert_eq!(
            parse_line("watchdog: Watchdog detected hard LOCKUP on cpu 3").0,
            Some(3)
        );
    }

    #[test]
    fn follows_the_argument_through_register_copies() {
        // The 6.1 virt_spin_lock() loop: the return path between the loop and the pause pops
        // RBX, but it is not on the way to the pause.
        let v = vec![
            insn("push   %rbx", &["rsp"], 0x10),
            insn("mov    %rdi,%rbx", &["rbx"], 0x13),
            insn("mov    (%rbx),%eax", &["rax"], 0x16),
            insn("test   %eax,%eax", &[], 0x18),
            insn("jne    0x2e <f+46>", &[], 0x1a),
            insn("pop    %rbx", &["rbx", "rsp"], 0x1c),
            insn("ret", &["rsp"], 0x1d),
            insn("pause", &[], 0x2e),
            insn("jmp    0x16 <f+22>", &[], 0x30),
        ];
        assert_eq!(arg_holders(&v, 0x2e), vec!["rdi", "rbx"]);
        let v = vec![
            insn("mov    %rdi,%rbx", &["rbx"], 0x13),
            insn("xor    %edi,%edi", &["rdi"], 0x16),
            insn("call   0x1 <f>", &["rsp"], 0x19),
            insn("pause", &[], 0x1e),
        ];
        assert_eq!(arg_holders(&v, 0x1e), vec!["rbx"]);
        // A path on which RBX is overwritten joins the other: RBX no longer surely holds it.
        let v = vec![
            insn("mov    %rdi,%rbx", &["rbx"], 0x10),
            insn("je     0x20 <f+32>", &[], 0x13),
            insn("mov    $0x0,%ebx", &["rbx"], 0x15),
            insn("pause", &[], 0x20),
        ];
        assert_eq!(arg_holders(&v, 0x20), vec!["rdi"]);
    }

    #[test]
    fn finds_the_lock_passed_to_a_lock_call() {
        let v = vec![
            insn("mov    $0xffffffffc02e1484,%rdi", &["rdi"], 0x10),
            insn("call   0xffffffffbb800000 <_raw_spin_lock>", &["rsp"], 0x17),
            insn(
                "lea    0x1000(%rip),%rdi        # 0xffffffffc02e2000 <other_lock>",
                &["rdi"],
                0x20,
            ),
            insn(
                "call   0xffffffffbb800100 <_raw_spin_lock_irqsave>",
                &["rsp"],
                0x27,
            ),
            insn("mov    %rbx,%rdi", &["rdi"], 0x30),
            insn("call   0xffffffffbb800000 <_raw_spin_lock>", &["rsp"], 0x33),
        ];
        let c = lock_calls(&v);
        assert_eq!(
            c,
            vec![(1, 0, 0xffffffffc02e1484), (3, 2, 0xffffffffc02e2000)]
        );
    }
}

//! The root-cause engine: from the machine state to a verdict, the way a kernel engineer reads a
//! crash. Panic line -> exception registers -> faulting instruction -> memory operand ->
//! register provenance (System V arguments) -> the caller that passed it -> the culprit.
//!
//! Inputs are plain data (symbolized frames, disassembly, log facts), so the same engine runs on
//! a dump or on pasted console text. The result is data; the words are in `render/verdict.rs`.

use super::disasm::{memory_operand, Insn};
use super::model::{Confidence, CrashClass, Fault, Frame, FrameKind, ModuleInfo, PanicInfo};
use super::oops::Oops;
use super::verdict::{Culprit, CulpritRule, Hop, Provenance, Taint, Trigger};
use crate::dump::Regs;

/// System V AMD64 integer argument registers, in order.
pub const ARG_REGS: [&str; 6] = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"];
/// Registers a call may clobber (System V caller-saved).
const CALLER_SAVED: [&str; 9] = ["rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"];

/// The faulting function as read from memory: its instructions from the entry up to and past
/// the fault.
#[derive(Debug, Clone)]
pub struct FaultSite {
    pub function: String,
    pub module: Option<String>,
    pub start: u64,
    pub ip: u64,
    pub regs: Regs,
    pub insns: Vec<Insn>,
}

pub struct Input<'a> {
    pub oops: Option<&'a Oops>,
    /// What the log says about the panic (message, title, panic string).
    pub panic: &'a PanicInfo,
    /// The crashing task's frames from memory (exception frames carry registers), innermost
    /// first; or frames from the log's Call Trace when memory gave none.
    pub frames: &'a [Frame],
    /// Index in `frames` of the interrupted (faulting) frame, when known.
    pub fault_frame: Option<usize>,
    pub site: Option<&'a FaultSite>,
    pub modules: &'a [ModuleInfo],
    /// CR2 / the address the kernel printed.
    pub fault_address: Option<u64>,
    /// Names the field at `offset` of the struct that argument `index` (1-based) of `function`
    /// points to -> `struct page._refcount`, when types are known (BTF or DWARF).
    pub arg_field: &'a dyn Fn(&str, u32, u64) -> Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Diagnosis {
    pub fault: Fault,
    pub culprit: Option<Culprit>,
    pub provenance: Option<Provenance>,
    /// Index in `frames` of the interrupted (faulting) function and of the caller.
    pub fault_frame: Option<usize>,
    pub caller_frame: Option<usize>,
    /// What made the crash on purpose, when it was.
    pub deliberate: Option<Trigger>,
}

/// Functions that are victims rather than culprits when they fault on a bad argument: core
/// allocators, refcount/list/lock helpers, string and copy routines, entry code.
pub fn is_infrastructure(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "__free_pages",
        "___free_pages",
        "free_pages",
        "__free_page",
        "free_unref_page",
        "put_page",
        "__put_page",
        "folio_put",
        "__folio_put",
        "kfree",
        "kmem_cache_",
        "__kmem_cache",
        "__kmalloc",
        "kmalloc",
        "kvfree",
        "vfree",
        "slab_",
        "___slab",
        "__slab",
        "memcpy",
        "__memcpy",
        "memmove",
        "memset",
        "__memset",
        "memcmp",
        "strlen",
        "strnlen",
        "strcmp",
        "strncmp",
        "strcpy",
        "strscpy",
        "copy_user",
        "copy_to_user",
        "copy_from_user",
        "_copy_",
        "__copy_",
        "rep_movs",
        "list_",
        "__list_",
        "hlist_",
        "rb_",
        "_raw_spin",
        "_raw_read",
        "_raw_write",
        "queued_spin",
        "queued_read",
        "queued_write",
        "native_queued",
        "mutex_",
        "__mutex",
        "down_",
        "up_",
        "refcount_",
        "atomic_",
        "kref_",
        "dput",
        "iput",
        "fput",
        "mntput",
        "page_ref",
        "get_page",
        "__get_user",
        "__put_user",
        "panic",
        "oops",
        "die",
        "__die",
        "bug_",
        "report_bug",
        "handle_bug",
        "do_trap",
        "do_error_trap",
        "exc_",
        "asm_exc_",
        "entry_",
        "do_syscall",
        "syscall_",
        "__x64_sys_",
        "ret_from_fork",
        "warn_",
        "__warn",
        "dump_stack",
        "printk",
        "_printk",
        "vprintk",
        "__schedule",
        "schedule",
    ];
    let base = name.split('.').next().unwrap_or(name);
    PREFIXES.iter().any(|p| base.starts_with(p))
}

/// The crash class from the report's wording.
pub fn classify(
    p: &PanicInfo,
    fault_address: Option<u64>,
    operand_addr: Option<u64>,
    base_value: Option<u64>,
) -> CrashClass {
    let m = p.message.as_deref().unwrap_or("");
    let t = format!(
        "{} {} {}",
        m,
        p.title.as_deref().unwrap_or(""),
        p.kind.as_deref().unwrap_or("")
    )
    .to_lowercase();
    let ps = p.panic_string.as_deref().unwrap_or("").to_lowercase();
    if ps.contains("sysrq triggered crash") || t.contains("sysrq") {
        return CrashClass::Sysrq;
    }
    if t.contains("machine check") {
        return CrashClass::MachineCheck;
    }
    if t.contains("kernel bug at") || m.starts_with("kernel BUG") {
        return CrashClass::Bug;
    }
    if t.contains("stack-protector") || t.contains("stack is corrupted") {
        return CrashClass::StackCorruption;
    }
    if t.contains("double fault") || t.contains("stack guard page") || t.contains("stack overflow")
    {
        return CrashClass::StackOverflow;
    }
    if t.contains("soft lockup")
        || t.contains("hard lockup")
        || t.contains("hardlockup")
        || t.contains("rcu") && t.contains("stall")
    {
        return CrashClass::Lockup;
    }
    if t.contains("blocked for more than") || t.contains("task hung") {
        return CrashClass::HungTask;
    }
    if t.contains("out of memory") || ps.contains("out of memory") || ps.contains("oom") {
        return CrashClass::Oom;
    }
    if t.contains("divide error") || t.contains("divide_error") {
        return CrashClass::DivideError;
    }
    if t.starts_with("warning") || m.starts_with("WARNING") || ps.contains("panic_on_warn") {
        return CrashClass::Warning;
    }
    let addr = operand_addr.or(fault_address);
    let poison = |a: u64| {
        let hi = a >> 32;
        (a & 0xffff_ffff_0000_0000) == 0xdead_0000_0000_0000
            || hi == 0xdead_4ead
            || a == 0x6b6b6b6b6b6b6b6b
            || hi == 0x6b6b6b6b
    };
    if t.contains("general protection")
        || t.contains("unable to handle")
        || t.contains("null pointer")
        || t.contains("page fault")
        || t.contains("paging request")
    {
        if let Some(a) = addr {
            if a == 0x6b6b6b6b6b6b6b6b
                || base_value == Some(0x6b6b6b6b6b6b6b6b)
                || (a >> 32) == 0x6b6b6b6b
            {
                return CrashClass::UseAfterFree;
            }
            if poison(a) || base_value.is_some_and(poison) {
                return CrashClass::Poison;
            }
            if base_value == Some(0) || a < 4096 * 16 {
                return CrashClass::NullDeref;
            }
            let top = (a as i64) >> 47;
            if top != 0 && top != -1 {
                return CrashClass::NonCanonical;
            }
            return CrashClass::WildPointer;
        }
        if t.contains("null pointer") {
            return CrashClass::NullDeref;
        }
        return CrashClass::WildPointer;
    }
    if t.contains("invalid opcode") {
        return CrashClass::InvalidOpcode;
    }
    CrashClass::Panic
}

/// 64-bit name of a 32/16/8-bit general register (`ebx` -> `rbx`, `r9d` -> `r9`).
pub fn widen(r: &str) -> &str {
    match r {
        "eax" | "ax" | "al" => "rax",
        "ebx" | "bx" | "bl" => "rbx",
        "ecx" | "cx" | "cl" => "rcx",
        "edx" | "dx" | "dl" => "rdx",
        "esi" | "si" | "sil" => "rsi",
        "edi" | "di" | "dil" => "rdi",
        "ebp" | "bp" | "bpl" => "rbp",
        "esp" | "sp" | "spl" => "rsp",
        r if r.starts_with('r')
            && (r.ends_with('d') || r.ends_with('w') || r.ends_with('b'))
            && r.len() <= 4 =>
        {
            &r[..r.len() - 1]
        }
        r => r,
    }
}

/// Traces register `reg` backwards from the fault to its origin inside the function.
pub fn provenance(site: &FaultSite, reg: &str) -> Provenance {
    let Some(fault_idx) = site.insns.iter().position(|i| i.address == site.ip) else {
        return Provenance::Unknown;
    };
    let mut want: String = reg.to_string();
    let mut via = Vec::new();
    let mut i = fault_idx;
    while i > 0 {
        i -= 1;
        let ins = &site.insns[i];
        if ins.is_call && CALLER_SAVED.contains(&want.as_str()) {
            if want == "rax" {
                let callee = ins
                    .text
                    .split('<')
                    .nth(1)
                    .map(|s| s.trim_end_matches('>').to_string())
                    .unwrap_or_else(|| ins.text.clone());
                return Provenance::Returned { callee };
            }
            return Provenance::Unknown; // clobbered by the call
        }
        if !ins.writes.iter().any(|w| *w == want) {
            continue;
        }
        // A register-to-register move copies the value: follow the source.
        let t = ins.text.trim();
        if let Some(ops) = t.strip_prefix("mov").map(str::trim_start).filter(|_| {
            t.starts_with("mov ")
                || t.starts_with("movq")
                || t.starts_with("mov\t")
                || t.starts_with("mov  ")
        }) {
            let parts: Vec<&str> = ops.split(',').collect();
            if parts.len() == 2 && parts[0].starts_with('%') && parts[1].starts_with('%') {
                let src = parts[0].trim_start_matches('%');
                let src64 = widen(src);
                via.push(Hop {
                    to: want.clone(),
                    at: ins
                        .location
                        .clone()
                        .unwrap_or_else(|| format!("{:#x}", ins.address)),
                });
                want = src64.to_string();
                continue;
            }
        }
        return Provenance::Computed {
            insn: ins.text.clone(),
            location: ins
                .location
                .clone()
                .unwrap_or_else(|| format!("{:#x}", ins.address)),
        };
    }
    match ARG_REGS.iter().position(|r| *r == want) {
        Some(n) => Provenance::Argument {
            index: n as u32 + 1,
            reg: ARG_REGS[n],
            via,
        },
        None => Provenance::Unknown,
    }
}

fn module_taint<'a>(modules: &'a [ModuleInfo], name: &str) -> Option<&'a str> {
    modules
        .iter()
        .find(|m| m.name == name)
        .map(|m| m.taint.as_str())
}

fn frame_name(f: &Frame) -> String {
    f.function
        .clone()
        .unwrap_or_else(|| format!("{:#x}", f.address))
}

/// Runs the reasoning chain.
pub fn diagnose(inp: &Input) -> Diagnosis {
    let mut v = Diagnosis::default();
    // The interrupted function: the first exception frame in kernel mode, else the oops RIP.
    let fault_frame = inp.fault_frame;
    v.fault_frame = fault_frame;
    v.caller_frame = fault_frame.and_then(|i| {
        (i + 1..inp.frames.len()).find(|&j| {
            inp.frames[j].kind != FrameKind::Exception && inp.frames[j].function.is_some()
        })
    });
    let mut fault = Fault {
        address: inp.fault_address,
        ..Default::default()
    };
    if let Some(site) = inp.site {
        fault.ip = Some(site.ip);
        if let Some(ins) = site.insns.iter().find(|i| i.address == site.ip) {
            fault.instruction = Some(ins.text.clone());
            fault.location = ins.location.clone();
            let bytes: Vec<u8> = ins
                .bytes
                .split(' ')
                .filter_map(|b| u8::from_str_radix(b, 16).ok())
                .collect();
            if let Some(m) = memory_operand(&bytes, ins.address, Some(&site.regs)) {
                fault.base_register = m.base.clone().filter(|b| b != "rip");
                fault.base_value = fault
                    .base_register
                    .as_deref()
                    .and_then(|r| site.regs.get(r));
                fault.offset = Some(m.displacement);
                fault.access = Some(
                    if m.write && m.read {
                        "read-write"
                    } else if m.write {
                        "write"
                    } else {
                        "read"
                    }
                    .into(),
                );
                if fault.address.is_none() {
                    fault.address = m.address;
                }
                if let Some(b) = fault.base_register.clone() {
                    let p = provenance(site, &b);
                    if let Provenance::Argument { index, reg, .. } = &p {
                        fault.argument_index = Some(*index);
                        fault.argument_register = Some(reg.to_string());
                    }
                    v.provenance = Some(p);
                }
                if let (Some(idx), Some(off)) = (fault.argument_index, fault.offset) {
                    if off >= 0 {
                        fault.field = (inp.arg_field)(&site.function, idx, off as u64);
                    }
                }
            }
        }
    }
    let operand_addr = fault.address;
    fault.class = classify(inp.panic, inp.fault_address, operand_addr, fault.base_value);
    // When the log's wording is not recognised, the faulting instruction still tells the class.
    if fault.class == CrashClass::Panic && inp.fault_frame.is_some() {
        let mnemonic = fault
            .instruction
            .as_deref()
            .and_then(|i| i.split_whitespace().next())
            .unwrap_or("");
        fault.class = match mnemonic {
            "div" | "idiv" => CrashClass::DivideError,
            "ud2" => CrashClass::InvalidOpcode,
            _ if fault.base_value == Some(0) => CrashClass::NullDeref,
            _ if fault.base_register.is_some() => CrashClass::WildPointer,
            _ => CrashClass::Panic,
        };
    }
    if fault.class == CrashClass::DivideError {
        // The divisor is the instruction's only operand.
        if let Some(site) = inp.site {
            let ins = fault.instruction.as_deref().unwrap_or("");
            if let Some(r) = ins
                .split_whitespace()
                .nth(1)
                .and_then(|o| o.strip_prefix('%'))
            {
                let r64 = widen(r);
                fault.base_register = Some(r64.to_string());
                fault.base_value = site.regs.get(r64);
                let p = provenance(site, r64);
                if let Provenance::Argument { index, reg, .. } = &p {
                    fault.argument_index = Some(*index);
                    fault.argument_register = Some(reg.to_string());
                }
                v.provenance = Some(p);
            }
        }
    }
    v.deliberate = if fault.class == CrashClass::Sysrq {
        Some(Trigger::Sysrq)
    } else if in_lkdtm(inp.frames, v.fault_frame) {
        Some(Trigger::Lkdtm)
    } else {
        None
    };
    v.fault = fault;
    v.culprit = culprit(inp, &v);
    v
}

/// The fault is in LKDTM's code (`lkdtm_do_action` on 3.10, `lkdtm_EXCEPTION`... later): the
/// module exists only to crash the kernel on request.
fn in_lkdtm(frames: &[Frame], fault_frame: Option<usize>) -> bool {
    fault_frame
        .and_then(|i| frames.get(i))
        .and_then(|f| f.function.as_deref())
        .is_some_and(|n| n.starts_with("lkdtm_"))
}

fn culprit(inp: &Input, v: &Diagnosis) -> Option<Culprit> {
    let taint = |m: &Option<String>| -> Vec<Taint> {
        m.as_deref()
            .and_then(|m| module_taint(inp.modules, m))
            .map(Taint::of)
            .unwrap_or_default()
    };
    let blame = |f: &Frame, rule: CulpritRule, confidence: Confidence| Culprit {
        function: frame_name(f),
        module: f.module.clone(),
        confidence,
        rule,
        taint: taint(&f.module),
    };
    if let Some(trigger) = v.deliberate {
        // Not a bug: name the function that crashed on purpose (sysrq_handle_crash).
        let f = v.fault_frame.and_then(|i| inp.frames.get(i)).or_else(|| {
            inp.frames.iter().find(|f| {
                f.function
                    .as_deref()
                    .is_some_and(|n| n.starts_with("sysrq"))
            })
        })?;
        return Some(blame(
            f,
            CulpritRule::Deliberate { trigger },
            Confidence::High,
        ));
    }
    let frames = inp.frames;
    // Candidates from the faulting function downwards (never the panic path above it).
    let start = v.fault_frame.unwrap_or(0);
    let chain: Vec<&Frame> = frames[start.min(frames.len())..]
        .iter()
        .filter(|f| f.function.is_some() && f.regs.is_none_or(|r| r.cs & 3 == 0))
        .collect();
    if v.fault.class == CrashClass::Panic && v.fault_frame.is_none() {
        // panic() called directly: the function that called it made the decision.
        let after = frames.iter().rposition(|f| {
            f.function
                .as_deref()
                .is_some_and(|n| n.split('.').next() == Some("panic"))
        })?;
        let c = frames[after + 1..].iter().find(|f| {
            f.function.is_some()
                && f.kind != FrameKind::Exception
                && !is_infrastructure(&frame_name(f))
        })?;
        let conf = if c.module.is_some() {
            Confidence::High
        } else {
            Confidence::Medium
        };
        return Some(blame(c, CulpritRule::DirectPanic, conf));
    }
    let (fname, fmod) = faulting(inp, &chain)?;
    let arg = match &v.provenance {
        Some(Provenance::Argument { index, reg, .. }) => Some((*index, reg.to_string())),
        _ => None,
    };
    // 1. Core infrastructure that faulted on a bad argument: the caller passed it.
    if is_infrastructure(&fname) && fmod.is_none() {
        if let Some(c) = core_caller(&chain, &fname, arg.clone(), v, &blame) {
            return Some(c);
        }
    }
    // 2. The faulting function owns the bug.
    let rule = match (v.fault.class, arg) {
        (c, Some((arg_index, arg_register))) if c.is_pointer() => {
            CulpritRule::DereferencedUncheckedArgument {
                arg_index,
                arg_register,
            }
        }
        (CrashClass::DivideError, Some((arg_index, arg_register))) => {
            CulpritRule::DividedByUncheckedArgument {
                arg_index,
                arg_register,
            }
        }
        (CrashClass::Bug, _) => CulpritRule::OwnBug,
        (CrashClass::Warning, _) => CulpritRule::Warning,
        (CrashClass::Lockup, _) => CulpritRule::Lockup,
        (CrashClass::StackOverflow, _) => CulpritRule::StackOverflow,
        _ => CulpritRule::FaultingInstruction,
    };
    let taint = taint(&fmod);
    let confidence = match (&fmod, taint.is_empty()) {
        (Some(_), false) => Confidence::High,
        (Some(_), true) => Confidence::Medium,
        (None, _) => Confidence::Low,
    };
    Some(Culprit {
        function: fname,
        module: fmod,
        confidence,
        rule,
        taint,
    })
}

/// The faulting function: the one disassembled, else the first kernel frame from the fault
/// down, else the log's RIP.
fn faulting(inp: &Input, chain: &[&Frame]) -> Option<(String, Option<String>)> {
    inp.site
        .map(|s| (s.function.clone(), s.module.clone()))
        .or_else(|| chain.first().map(|f| (frame_name(f), f.module.clone())))
        .or_else(|| {
            let o = inp.oops?;
            let rip = o.rip.as_deref()?;
            let name = rip.split('+').next()?.trim().to_string();
            let module = rip
                .split('[')
                .nth(1)
                .map(|m| m.trim_end_matches(']').trim().to_string());
            Some((name, module))
        })
}

/// Core code `callee` faulted: the caller that passed the bad argument (a module frame
/// preferred, else the first caller that is not itself infrastructure), else the first module
/// frame below it.
fn core_caller(
    chain: &[&Frame],
    callee: &str,
    arg: Option<(u32, String)>,
    v: &Diagnosis,
    blame: &dyn Fn(&Frame, CulpritRule, Confidence) -> Culprit,
) -> Option<Culprit> {
    let callers: Vec<&Frame> = chain.iter().skip(1).copied().collect();
    if let Some((arg_index, arg_register)) = arg {
        let pick = callers
            .iter()
            .find(|f| f.module.is_some())
            .or_else(|| callers.iter().find(|f| !is_infrastructure(&frame_name(f))));
        if let Some(c) = pick {
            let direct = callers.first().is_some_and(|d| std::ptr::eq(*d, *c));
            let conf = if direct && c.module.is_some() {
                Confidence::High
            } else {
                Confidence::Medium
            };
            let rule = CulpritRule::CallerPassedBadArgument {
                callee: callee.to_string(),
                arg_index,
                arg_register,
                value: v.fault.base_value,
                direct,
            };
            return Some(blame(c, rule, conf));
        }
    }
    // No argument chain: the first module frame, if any, owns it.
    let c = callers.iter().find(|f| f.module.is_some())?;
    let rule = CulpritRule::CoreCalledFromModule {
        callee: callee.to_string(),
    };
    Some(blame(c, rule, Confidence::Medium))
}

/// Stable bucket id: FNV-1a of the title and the first frames' function names.
pub fn bucket(title: &str, frames: &[Frame]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    let mut eat = |s: &str| {
        for b in s.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x100000001b3);
    };
    eat(title);
    for f in frames
        .iter()
        .filter(|f| f.kind != FrameKind::Start)
        .filter_map(|f| f.function.as_deref())
        .take(5)
    {
        eat(f.split('.').next().unwrap_or(f));
    }
    format!("{h:016x}")
}

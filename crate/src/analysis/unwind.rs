//! Stack unwinding from memory, the way the kernel's own ORC unwinder does it
//! (arch/x86/kernel/unwind_orc.c). Where no ORC entry covers an address (kernels built with
//! CONFIG_UNWINDER_FRAME_POINTER, code without tables) it follows the rbp chain when the saved
//! rbp points into the same stack and the return address above it is text (`how: fp`), and
//! only then scans the stack for a return address (`how: scan`, marked unreliable) or for an
//! exception frame, a `struct pt_regs` recognised by its shape (`how: regs`).
//!
//! The unwinder knows nothing of containers or symbols: it reads memory and asks for ORC entries
//! through [`UnwindEnv`].

use super::orc::{self, OrcEntry, OrcType};
use crate::dump::Regs;
use serde::Serialize;

/// `struct pt_regs` on x86_64: 21 u64s, `ip` at index 16.
pub const PT_REGS_SIZE: u64 = 21 * 8;
const IRET_FRAME_OFFSET: u64 = 16 * 8;
const MAX_FRAMES: usize = 128;
/// How far the fallback scan looks for a return address.
const SCAN_WORDS: u64 = 512;
/// A kernel stack (THREAD_SIZE with KASAN off; IRQ and exception stacks are no larger): a
/// frame pointer further than this above the stack pointer is not on the same stack.
const STACK_SPAN: u64 = 16 << 10;

pub trait UnwindEnv {
    fn read_u64(&self, addr: u64) -> Option<u64>;
    /// The ORC entry for `ip`, or None when no table covers it.
    fn orc(&self, ip: u64) -> Option<OrcEntry>;
    /// Is `addr` inside kernel or module text?
    fn is_text(&self, addr: u64) -> bool;
    /// Does the instruction ending at `ret` look like a call (for the stack scan)?
    fn follows_call(&self, ret: u64) -> bool;
    /// The target of the direct call (`call rel32`) that ends at `ret`, if it is one.
    fn call_target(&self, _ret: u64) -> Option<u64> {
        None
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// The starting register state (NT_PRSTATUS, saved switch frame).
    #[default]
    Start,
    /// From the ORC tables.
    Orc,
    /// From the frame-pointer (rbp) chain.
    Fp,
    /// An exception frame (`struct pt_regs`) recognised on the stack by its shape, where no
    /// unwind data says where it is.
    Regs,
    /// Found by scanning the stack for a return address.
    Scan,
}

#[derive(Debug, Clone, Serialize)]
pub struct RawFrame {
    /// Return address (or the exact pc for the start and exception frames).
    #[serde(with = "crate::util::hex")]
    pub ip: u64,
    /// Stack slot the return address was read from (crash's `[sp]`), or the stack pointer for
    /// start and exception frames.
    #[serde(with = "crate::util::hex")]
    pub sp: u64,
    pub how: How,
    /// For exception frames: the saved `pt_regs` (full) or iret frame (partial).
    pub regs: Option<Regs>,
    /// Address of the `pt_regs` on the stack.
    #[serde(with = "crate::util::hex::opt")]
    pub regs_addr: Option<u64>,
    /// True when `ip` is the exact interrupted pc (start/exception), not a return address.
    pub exact: bool,
}

impl RawFrame {
    /// A caller's frame: the return address `ret` read from `slot`.
    fn returning(ret: u64, slot: u64, how: How) -> RawFrame {
        RawFrame {
            ip: ret,
            sp: slot,
            how,
            regs: None,
            regs_addr: None,
            exact: false,
        }
    }

    /// An exception frame: the registers saved at `addr`, the interrupted pc exact.
    fn exception(r: Regs, addr: u64, how: How) -> RawFrame {
        RawFrame {
            ip: r.rip,
            sp: r.rsp,
            how,
            regs: Some(r),
            regs_addr: Some(addr),
            exact: true,
        }
    }
}

struct State {
    ip: u64,
    sp: u64,
    bp: u64,
    regs: Option<Regs>,
    signal: bool,
}

impl State {
    /// In the caller, after returning to `ret` from `slot`.
    fn returned(ret: u64, slot: u64, bp: u64) -> State {
        State {
            ip: ret,
            sp: slot + 8,
            bp,
            regs: None,
            signal: false,
        }
    }
}

fn read_regs(env: &dyn UnwindEnv, addr: u64) -> Option<Regs> {
    let mut b = Vec::with_capacity(PT_REGS_SIZE as usize);
    for i in 0..21 {
        b.extend_from_slice(&env.read_u64(addr + i * 8)?.to_le_bytes());
    }
    Some(Regs::from_user_regs(&b))
}

fn reg_of(regs: &Option<Regs>, r: u8) -> Option<u64> {
    let regs = regs.as_ref()?;
    Some(match r {
        orc::REG_AX => regs.rax,
        orc::REG_DX => regs.rdx,
        orc::REG_DI => regs.rdi,
        orc::REG_R10 => regs.r10,
        orc::REG_R13 => regs.r13,
        _ => return None,
    })
}

/// Where a switched-out task resumes: its `struct inactive_task_frame` at `thread.sp`
/// (arch/x86/include/asm/switch_to.h, 4.9+), as `__unwind_start()` reads it.
#[derive(Debug, Clone, Copy)]
pub struct SwitchFrame {
    /// `frame->ret_addr`: where `__switch_to_asm` returns, inside `__schedule` (or
    /// `ret_from_fork` for a task that never ran).
    pub ret_addr: u64,
    /// Address of the `ret_addr` slot (the `[sp]` crash prints for frame #0).
    pub ret_slot: u64,
    /// `thread.sp + sizeof(struct inactive_task_frame)`: the stack pointer after the switch.
    pub sp: u64,
    /// `frame->bp`.
    pub bp: u64,
    /// `ret_addr` is `ret_from_fork(_asm)`: look it up as an exact pc, not a return address.
    pub signal: bool,
}

/// Unwinds from a register state (a CPU's NT_PRSTATUS, an exception frame). Stops at a
/// user-mode exception frame, an end-of-stack entry, an unreadable stack, or after
/// [`MAX_FRAMES`].
pub fn unwind(env: &dyn UnwindEnv, start: &Regs) -> (Vec<RawFrame>, Option<String>) {
    let first = RawFrame {
        ip: start.rip,
        sp: start.rsp,
        how: How::Start,
        regs: None,
        regs_addr: None,
        exact: true,
    };
    let st = State {
        ip: start.rip,
        sp: start.rsp,
        bp: start.rbp,
        regs: Some(*start),
        signal: true,
    };
    unwind_from(env, first, st)
}

/// Unwinds a switched-out task from its saved switch frame.
pub fn unwind_switched(env: &dyn UnwindEnv, f: &SwitchFrame) -> (Vec<RawFrame>, Option<String>) {
    let first = RawFrame {
        ip: f.ret_addr,
        sp: f.ret_slot,
        how: How::Start,
        regs: None,
        regs_addr: None,
        exact: f.signal,
    };
    let st = State {
        ip: f.ret_addr,
        sp: f.sp,
        bp: f.bp,
        regs: None,
        signal: f.signal,
    };
    unwind_from(env, first, st)
}

/// One frame by the frame-pointer chain: `[bp]` is the caller's rbp and `[bp + 8]` the return
/// address, accepted when bp lies on the current stack above sp and the return address is text.
fn fp_step(env: &dyn UnwindEnv, sp: u64, bp: u64) -> Option<(u64, u64, u64)> {
    if bp & 7 != 0 || bp < sp || bp - sp >= STACK_SPAN {
        return None;
    }
    let ret = env.read_u64(bp.checked_add(8)?)?;
    if !env.is_text(ret) {
        return None;
    }
    let next_bp = env.read_u64(bp)?;
    Some((bp + 8, ret, next_bp))
}

/// What one step of the unwind did.
enum Step {
    /// A frame was added; go on from the new state.
    Next,
    /// The stack ends here.
    End,
    /// The trace stops early, for this reason.
    Stop(String),
}

/// One step where no ORC entry covers the pc.
fn step_without_orc(env: &dyn UnwindEnv, st: &mut State, frames: &mut Vec<RawFrame>) -> Step {
    // No unwind data: the frame-pointer chain, then a scan up the stack for the next
    // plausible return address.
    //
    // Interrupted before its frame was set up (frame-pointer kernels: a fault in the
    // prologue, or before a shrink-wrapped `push %rbp`), a function's return address is
    // still at the stack pointer and rbp is its caller's: take it when the call before
    // it went to this very function (a start at most 4 KiB below the pc).
    if st.signal {
        if let Some(ret) = env.read_u64(st.sp).filter(|&r| env.is_text(r)) {
            let own = env
                .call_target(ret)
                .is_some_and(|t| t <= st.ip && st.ip - t < 4096);
            if own && st.bp.wrapping_add(8) != st.sp {
                frames.push(RawFrame::returning(ret, st.sp, How::Fp));
                *st = State::returned(ret, st.sp, st.bp);
                return Step::Next;
            }
        }
    }
    // The end of a frame-pointer chain: the first frame of a stack is entered with rbp
    // 0 and a zero return address (secondary_startup_64 pushes `$0`, as do the kernel
    // thread and idle entry paths), so a frame record of two zeros is the base.
    if st.bp & 7 == 0
        && st.bp >= st.sp
        && st.bp - st.sp < STACK_SPAN
        && env.read_u64(st.bp) == Some(0)
        && env.read_u64(st.bp.wrapping_add(8)) == Some(0)
    {
        return Step::End;
    }
    if let Some((slot, ret, next_bp)) = fp_step(env, st.sp, st.bp) {
        frames.push(RawFrame::returning(ret, slot, How::Fp));
        *st = State::returned(ret, slot, next_bp);
        return Step::Next;
    }
    // An interrupt entry of a kernel without ORC (3.10's SAVE_ARGS_IRQ, 4.x's `interrupt`
    // macro) moves to the IRQ stack and pushes the task stack's pointer there, in the word
    // above the handler's return address. It points at the interrupted context's pt_regs
    // (4.x) or at their rbp slot, 32 bytes in (3.10). Taken only when a pt_regs is found there
    // by its shape and the pointer leads off the current stack.
    if let Some(prev) = env.read_u64(st.sp).filter(|&p| {
        p & 7 == 0 && p >= 0xffff_8000_0000_0000 && p.abs_diff(st.sp) >= STACK_SPAN / 4
    }) {
        if let Some((addr, r)) = [prev, prev.wrapping_sub(32)]
            .into_iter()
            .find_map(|a| pt_regs_at(env, a).map(|r| (a, r)))
        {
            frames.push(RawFrame::exception(r, addr, How::Regs));
            if r.cs & 3 == 3 {
                return Step::End;
            }
            *st = State {
                ip: r.rip,
                sp: r.rsp,
                bp: r.rbp,
                regs: Some(r),
                signal: true,
            };
            return Step::Next;
        }
    }
    match scan(env, st.sp) {
        Some(Found::Return(slot, ret)) => {
            frames.push(RawFrame::returning(ret, slot, How::Scan));
            *st = State::returned(ret, slot, st.bp);
            Step::Next
        }
        Some(Found::Regs(addr, r)) => {
            let r = *r;
            frames.push(RawFrame::exception(r, addr, How::Regs));
            if r.cs & 3 == 3 {
                return Step::End; // user mode: the kernel stack ends here
            }
            *st = State {
                ip: r.rip,
                sp: r.rsp,
                bp: r.rbp,
                regs: Some(r),
                signal: true,
            };
            Step::Next
        }
        None => Step::Stop(format!(
            "no unwind information for {:#x} and no return address found on the stack",
            st.ip
        )),
    }
}

/// The frame's CFA (the caller's stack pointer) by the ORC entry's rule; an indirect rule reads
/// it from the stack.
fn orc_cfa(env: &dyn UnwindEnv, e: &OrcEntry, st: &State) -> Result<u64, String> {
    let cfa = match e.sp_reg {
        orc::REG_SP => Some(st.sp.wrapping_add(e.sp_offset as i64 as u64)),
        orc::REG_BP => Some(st.bp.wrapping_add(e.sp_offset as i64 as u64)),
        orc::REG_SP_INDIRECT => Some(st.sp),
        orc::REG_BP_INDIRECT => Some(st.bp.wrapping_add(e.sp_offset as i64 as u64)),
        r => reg_of(&st.regs, r),
    };
    let Some(cfa) = cfa else {
        return Err(format!(
            "cannot compute the frame at {:#x} (register not saved)",
            st.ip
        ));
    };
    if !matches!(e.sp_reg, orc::REG_SP_INDIRECT | orc::REG_BP_INDIRECT) {
        return Ok(cfa);
    }
    let Some(v) = env.read_u64(cfa) else {
        return Err(format!("stack unreadable at {cfa:#x}"));
    };
    Ok(if e.sp_reg == orc::REG_SP_INDIRECT {
        v.wrapping_add(e.sp_offset as i64 as u64)
    } else {
        v
    })
}

/// The caller's frame pointer after an ORC step, from where the entry says it was saved.
fn caller_bp(env: &dyn UnwindEnv, e: &OrcEntry, cfa: u64, st: &mut State) {
    match e.bp_reg {
        orc::REG_PREV_SP => {
            if let Some(v) = env.read_u64(cfa.wrapping_add(e.bp_offset as i64 as u64)) {
                st.bp = v
            }
        }
        orc::REG_BP => {
            if let Some(v) = env.read_u64(st.bp.wrapping_add(e.bp_offset as i64 as u64)) {
                st.bp = v
            }
        }
        _ => {
            if let Some(r) = st.regs {
                st.bp = r.rbp
            }
        }
    }
}

fn unwind_from(
    env: &dyn UnwindEnv,
    first: RawFrame,
    mut st: State,
) -> (Vec<RawFrame>, Option<String>) {
    let mut frames = vec![first];
    let mut stop = None;
    // The stacks (in STACK_SPAN units) the trace has moved away from.
    let mut left: Vec<u64> = vec![];
    while frames.len() < MAX_FRAMES {
        let lookup = if st.signal {
            st.ip
        } else {
            st.ip.wrapping_sub(1)
        };
        let entry = env.orc(lookup).filter(|e| e.kind != OrcType::Undefined);
        let Some(e) = entry else {
            match step_without_orc(env, &mut st, &mut frames) {
                Step::Next => continue,
                Step::End => break,
                Step::Stop(why) => {
                    stop = Some(why);
                    break;
                }
            }
        };
        if e.kind == OrcType::EndOfStack {
            break;
        }
        let indirect = matches!(e.sp_reg, orc::REG_SP_INDIRECT | orc::REG_BP_INDIRECT);
        let cfa = match orc_cfa(env, &e, &st) {
            Ok(c) => c,
            Err(why) => {
                stop = Some(why);
                break;
            }
        };
        let prev_sp = st.sp;
        match e.kind {
            OrcType::Call => {
                let slot = cfa.wrapping_sub(8);
                let Some(ret) = env.read_u64(slot) else {
                    stop = Some(format!("stack unreadable at {slot:#x}"));
                    break;
                };
                frames.push(RawFrame::returning(ret, slot, How::Orc));
                st.ip = ret;
                st.sp = cfa;
                st.regs = None;
                st.signal = false;
            }
            OrcType::Regs => {
                let Some(r) = read_regs(env, cfa) else {
                    stop = Some(format!("exception frame unreadable at {cfa:#x}"));
                    break;
                };
                frames.push(RawFrame::exception(r, cfa, How::Orc));
                st.ip = r.rip;
                st.sp = r.rsp;
                st.regs = Some(r);
                st.signal = true;
                if r.cs & 3 == 3 {
                    break; // user mode: the kernel stack ends here
                }
            }
            OrcType::RegsPartial => {
                // Only the iret frame (ip, cs, flags, sp, ss) is saved.
                let base = cfa.wrapping_sub(IRET_FRAME_OFFSET);
                let words: Option<Vec<u64>> = (0..5).map(|i| env.read_u64(cfa + i * 8)).collect();
                let Some(w) = words else {
                    stop = Some(format!("interrupt frame unreadable at {cfa:#x}"));
                    break;
                };
                let r = Regs {
                    rip: w[0],
                    cs: w[1],
                    eflags: w[2],
                    rsp: w[3],
                    ss: w[4],
                    ..Default::default()
                };
                frames.push(RawFrame::exception(r, base, How::Orc));
                st.ip = r.rip;
                st.sp = r.rsp;
                st.regs = None;
                st.signal = true;
                if r.cs & 3 == 3 {
                    break;
                }
            }
            OrcType::EndOfStack | OrcType::Undefined => break,
        }
        caller_bp(env, &e, cfa, &mut st);
        if st.ip == 0 {
            frames.pop();
            break;
        }
        // A kernel stack only grows down: a frame that does not move up is a loop, unless an
        // exception frame switched stacks, or the frame moved to another stack altogether (5.10's
        // asm_call_irq_on_stack keeps the task's stack pointer in rbp: its CFA is bp-based and
        // lies on the task stack, below the IRQ stack), as the kernel's unwinder checks the
        // direction only within one stack. A stack once left is not returned to.
        let switched = frames.last().is_some_and(|f| f.regs.is_some());
        let moved = st.sp.abs_diff(prev_sp) >= STACK_SPAN;
        if moved {
            if left.contains(&(st.sp / STACK_SPAN)) {
                stop = Some(format!(
                    "unwinding stopped: back on a stack already left at {:#x}",
                    st.ip
                ));
                break;
            }
            left.push(prev_sp / STACK_SPAN);
        }
        if st.sp <= prev_sp && !switched && !indirect && !moved {
            stop = Some(format!(
                "unwinding stopped: stack pointer did not advance at {:#x}",
                st.ip
            ));
            break;
        }
        if !env.is_text(st.ip) && st.regs.is_none_or(|r| r.cs & 3 != 3) {
            stop = Some(format!("return address {:#x} is not kernel text", st.ip));
            break;
        }
    }
    (frames, stop)
}

/// What the stack scan found.
enum Found {
    /// A return address into kernel text, and its slot.
    Return(u64, u64),
    /// An exception frame: the address of its `pt_regs` and the registers.
    Regs(u64, Box<Regs>),
}

/// Looks up the stack from `sp` for an exception frame or a return address into kernel text,
/// whichever comes first. The registers an exception saved come before its return address, so
/// a saved register that happens to be a text address is not taken for a frame.
fn scan(env: &dyn UnwindEnv, sp: u64) -> Option<Found> {
    // A system call's user-mode frame whose callee-saved part (r15..rbx, six words) was never
    // pushed: 3.10's `system_call` saves only the argument registers and the iret frame
    // (SAVE_ARGS), so the `pt_regs` starts below the stack pointer of the handler's caller.
    if let Some(f) = (1..=6u64).rev().find_map(|i| {
        let at = sp.wrapping_sub(8 * i);
        pt_regs_at(env, at)
            .filter(|r| r.cs & 3 == 3)
            .map(|r| Found::Regs(at, Box::new(r)))
    }) {
        return Some(f);
    }
    (0..SCAN_WORDS).find_map(|i| {
        let slot = sp.wrapping_add(i * 8);
        if let Some(r) = pt_regs_at(env, slot) {
            return Some(Found::Regs(slot, Box::new(r)));
        }
        let v = env.read_u64(slot)?;
        (env.is_text(v) && env.follows_call(v)).then_some(Found::Return(slot, v))
    })
}

/// x86_64 segment selectors: `__KERNEL_CS`, `__KERNEL_DS`, `__USER_CS`, `__USER32_CS`, `__USER_DS`.
const KERNEL_CS: u64 = 0x10;
const KERNEL_DS: u64 = 0x18;
const USER_CS: u64 = 0x33;
const USER32_CS: u64 = 0x23;
const USER_DS: u64 = 0x2b;

/// A `struct pt_regs` at `addr`, recognised by the iret frame the CPU pushed: a kernel or user
/// code selector with its stack selector, RFLAGS with the always-one bit 1 and no bit above
/// bit 21, an interrupted ip in kernel text (kernel mode) or below the user-space limit, and an
/// 8-byte aligned kernel stack pointer (kernel mode).
fn pt_regs_at(env: &dyn UnwindEnv, addr: u64) -> Option<Regs> {
    let w = |o: u64| env.read_u64(addr.wrapping_add(o));
    let (cs, ss) = (w(IRET_FRAME_OFFSET + 8)?, w(IRET_FRAME_OFFSET + 32)?);
    let kernel = cs == KERNEL_CS && (ss == KERNEL_DS || ss == 0);
    let user = (cs == USER_CS || cs == USER32_CS) && ss == USER_DS;
    if !kernel && !user {
        return None;
    }
    let (ip, flags, sp) = (
        w(IRET_FRAME_OFFSET)?,
        w(IRET_FRAME_OFFSET + 16)?,
        w(IRET_FRAME_OFFSET + 24)?,
    );
    if flags & 2 == 0 || flags >> 22 != 0 {
        return None;
    }
    let plausible = if kernel {
        env.is_text(ip) && sp & 7 == 0 && sp >= 0xffff_8000_0000_0000
    } else {
        ip < 1 << 56 && sp < 1 << 56
    };
    if !plausible {
        return None;
    }
    read_regs(env, addr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TEXT: u64 = 0xffff_ffff_8100_0000;
    const STACK: u64 = 0xffff_c900_0001_0000;

    /// Memory as a map of words, text [TEXT, TEXT + 1 MiB), ORC only where `orc` says.
    struct Env {
        mem: HashMap<u64, u64>,
        orc: Vec<(u64, u64, OrcEntry)>,
    }

    impl UnwindEnv for Env {
        fn read_u64(&self, addr: u64) -> Option<u64> {
            self.mem.get(&addr).copied()
        }
        fn orc(&self, ip: u64) -> Option<OrcEntry> {
            self.orc
                .iter()
                .find(|(a, b, _)| ip >= *a && ip < *b)
                .map(|x| x.2)
        }
        fn is_text(&self, addr: u64) -> bool {
            (TEXT..TEXT + (1 << 20)).contains(&addr)
        }
        fn follows_call(&self, _ret: u64) -> bool {
            true
        }
    }

    /// A frame-pointer kernel's stack: three frames chained through rbp, ending with rbp = 0.
    fn fp_stack() -> HashMap<u64, u64> {
        let mut m = HashMap::new();
        // frame A at STACK+0x20: saved rbp -> B, return into f2
        m.insert(STACK + 0x20, STACK + 0x60);
        m.insert(STACK + 0x28, TEXT + 0x2005);
        // a stale text address between frames: the scan would take it, the fp walk must not
        m.insert(STACK + 0x40, TEXT + 0x9999);
        // frame B at STACK+0x60: saved rbp -> C, return into f3
        m.insert(STACK + 0x60, STACK + 0xa0);
        m.insert(STACK + 0x68, TEXT + 0x3005);
        // frame C: end of the chain
        m.insert(STACK + 0xa0, 0);
        m.insert(STACK + 0xa8, TEXT + 0x4005);
        for i in 0..0x20u64 {
            m.entry(STACK + 8 * i).or_insert(0);
        }
        m
    }

    fn start(rbp: u64) -> Regs {
        Regs {
            rip: TEXT + 0x1010,
            rsp: STACK,
            rbp,
            cs: 0x10,
            ..Default::default()
        }
    }

    /// Writes a `pt_regs` at `at`: callee-saved rbx = 0, a text address in r12 (which the scan
    /// must not take for a return address), and the iret frame (ip, cs, flags, sp, ss).
    fn put_pt_regs(
        m: &mut HashMap<u64, u64>,
        at: u64,
        ip: u64,
        cs: u64,
        flags: u64,
        sp: u64,
        ss: u64,
    ) {
        for i in 0..21 {
            m.insert(at + 8 * i, 0x1111 * i);
        }
        m.insert(at + 3 * 8, TEXT + 0x7777); // r12
        m.insert(at + 5 * 8, 0); // rbx
        for (i, v) in [ip, cs, flags, sp, ss].into_iter().enumerate() {
            m.insert(at + IRET_FRAME_OFFSET + 8 * i as u64, v);
        }
    }

    #[test]
    fn exception_frames_found_by_shape_without_orc() {
        let mut m = HashMap::new();
        for i in 0..0x80u64 {
            m.insert(STACK + 8 * i, 0);
        }
        // The handler's return address, then the exception's pt_regs (kernel mode, fault in f5),
        // the faulting function's caller, then the user-mode pt_regs at the top of the stack.
        m.insert(STACK + 0x10, TEXT + 0x2005);
        put_pt_regs(
            &mut m,
            STACK + 0x18,
            TEXT + 0x5015,
            0x10,
            0x10246,
            STACK + 0xd0,
            0x18,
        );
        m.insert(STACK + 0xd0, TEXT + 0x6005);
        put_pt_regs(
            &mut m,
            STACK + 0xe0,
            0x7fff_1234,
            0x33,
            0x246,
            0x7ffd_0000,
            0x2b,
        );
        let env = Env {
            mem: m,
            orc: vec![],
        };
        let (f, stop) = unwind(&env, &start(0));
        let got: Vec<(u64, How, bool)> =
            f.iter().map(|x| (x.ip, x.how, x.regs.is_some())).collect();
        assert_eq!(
            got,
            [
                (TEXT + 0x1010, How::Start, false),
                (TEXT + 0x2005, How::Scan, false),
                (TEXT + 0x5015, How::Regs, true),
                (TEXT + 0x6005, How::Scan, false),
                (0x7fff_1234, How::Regs, true),
            ]
        );
        let r = f[2].regs.unwrap();
        assert_eq!(
            (r.rbx, r.rsp, r.cs, f[2].regs_addr),
            (0, STACK + 0xd0, 0x10, Some(STACK + 0x18))
        );
        assert_eq!(stop, None, "the user-mode registers end the kernel stack");
    }

    #[test]
    fn near_misses_are_not_exception_frames() {
        // Each breaks one rule: RFLAGS without bit 1, RFLAGS with high bits, ip not text, an
        // unaligned kernel sp, a user cs with a kernel ss.
        for (ip, cs, flags, sp, ss) in [
            (TEXT + 0x5015, 0x10, 0x10244, STACK + 0xd0, 0x18),
            (TEXT + 0x5015, 0x10, 0x1_0000_0246, STACK + 0xd0, 0x18),
            (0xffff_8880_0000_1000, 0x10, 0x246, STACK + 0xd0, 0x18),
            (TEXT + 0x5015, 0x10, 0x246, STACK + 0xd4, 0x18),
            (0x7fff_1234, 0x33, 0x246, 0x7ffd_0000, 0x18),
        ] {
            let mut m = HashMap::new();
            put_pt_regs(&mut m, STACK, ip, cs, flags, sp, ss);
            let env = Env {
                mem: m,
                orc: vec![],
            };
            assert!(
                pt_regs_at(&env, STACK).is_none(),
                "{ip:#x} {cs:#x} {flags:#x} {sp:#x} {ss:#x}"
            );
        }
    }

    #[test]
    fn frame_pointer_chain_without_orc() {
        let env = Env {
            mem: fp_stack(),
            orc: vec![],
        };
        let (f, _) = unwind(&env, &start(STACK + 0x20));
        let got: Vec<(u64, u64, How)> = f.iter().map(|x| (x.ip, x.sp, x.how)).collect();
        assert_eq!(
            got[..4],
            [
                (TEXT + 0x1010, STACK, How::Start),
                (TEXT + 0x2005, STACK + 0x28, How::Fp),
                (TEXT + 0x3005, STACK + 0x68, How::Fp),
                (TEXT + 0x4005, STACK + 0xa8, How::Fp),
            ]
        );
        // After the chain ends (rbp = 0) only the scan is left; nothing above C is text.
        assert!(f[4..].iter().all(|x| x.how == How::Scan));
        assert_eq!(f.len(), 4);
    }

    #[test]
    fn frame_pointer_rejected_off_stack_or_not_text() {
        // rbp below sp, far above it, misaligned: not the same stack -> the scan takes over and
        // its frames are marked as such (the stale word at +0x28 first).
        for bp in [STACK - 0x100, STACK + (1 << 20), STACK + 0x21] {
            let env = Env {
                mem: fp_stack(),
                orc: vec![],
            };
            let (f, _) = unwind(&env, &start(bp));
            assert_eq!(
                (f[1].ip, f[1].how),
                (TEXT + 0x2005, How::Scan),
                "bp {bp:#x}"
            );
        }
        // The return address above rbp is not text.
        let mut mem = fp_stack();
        mem.insert(STACK + 0x28, 0x1234);
        let env = Env { mem, orc: vec![] };
        let (f, _) = unwind(&env, &start(STACK + 0x20));
        assert_eq!((f[1].ip, f[1].how), (TEXT + 0x9999, How::Scan));
    }

    #[test]
    fn orc_first_then_frame_pointer() {
        // f1 has ORC (CALL, cfa = sp + 8: its return address at STACK); the caller f0 has
        // none, so the rbp chain continues.
        let mut mem = fp_stack();
        mem.insert(STACK, TEXT + 0x5005);
        let e = OrcEntry {
            sp_offset: 8,
            bp_offset: 0,
            sp_reg: orc::REG_SP,
            bp_reg: orc::REG_UNDEFINED,
            kind: OrcType::Call,
            signal: false,
        };
        let env = Env {
            mem,
            orc: vec![(TEXT + 0x1000, TEXT + 0x1100, e)],
        };
        let (f, _) = unwind(&env, &start(STACK + 0x20));
        let got: Vec<How> = f.iter().map(|x| x.how).collect();
        assert_eq!(got[..5], [How::Start, How::Orc, How::Fp, How::Fp, How::Fp]);
        assert_eq!(f[1].ip, TEXT + 0x5005);
        assert_eq!(f[2].ip, TEXT + 0x2005);
    }

    #[test]
    fn switched_task_starts_at_return_address() {
        // A switch frame: ret_addr is a return address (looked up at ret - 1), sp above the frame.
        let mut mem = fp_stack();
        mem.insert(STACK - 8, TEXT + 0x1010);
        let env = Env { mem, orc: vec![] };
        let sf = SwitchFrame {
            ret_addr: TEXT + 0x1010,
            ret_slot: STACK - 8,
            sp: STACK,
            bp: STACK + 0x20,
            signal: false,
        };
        let (f, _) = unwind_switched(&env, &sf);
        assert_eq!(
            (f[0].ip, f[0].sp, f[0].exact),
            (TEXT + 0x1010, STACK - 8, false)
        );
        assert_eq!(f[1].ip, TEXT + 0x2005);
        assert_eq!(f[1].how, How::Fp);
    }

    #[test]
    fn looping_frame_pointers_end() {
        let mut mem = HashMap::new();
        mem.insert(STACK + 0x20, STACK + 0x20); // rbp points at itself
        mem.insert(STACK + 0x28, TEXT + 0x2005);
        let env = Env { mem, orc: vec![] };
        let (f, _) = unwind(&env, &start(STACK + 0x20));
        assert!(f.len() <= MAX_FRAMES);
        assert_eq!(f.iter().filter(|x| x.how == How::Fp).count(), 1);
    }
}

//! Backtraces of a dumped kernel: the unwinder (unwind.rs) fed with the dump's memory, the ORC
//! tables of vmlinux and of every module, and symbols; then symbolized into report frames.

use super::model::{Frame, FrameKind};
use super::orc::{self, OrcEntry, OrcFit, OrcFormat, OrcTable};
use super::unwind::{self, How, RawFrame, UnwindEnv};
use crate::bytes::Le;
use crate::dump::Regs;
use crate::kernel::Kernel;
use std::cell::RefCell;

/// Largest ORC table we accept (vmlinux has a few hundred thousand entries).
const MAX_ORC: u64 = 4 << 20;

pub struct KernelStack<'k> {
    k: &'k Kernel,
    /// Each table with the address ranges it answers for.
    tables: Vec<(Vec<(u64, u64)>, OrcTable)>,
    text: Vec<(u64, u64)>,
    /// Small cache of 8-byte stack reads.
    cache: RefCell<std::collections::HashMap<u64, Option<u64>>>,
    pub warnings: Vec<String>,
    /// The ORC entry format read from vmlinux's table, and how well the table fits it.
    pub orc: Option<(OrcFormat, OrcFit)>,
}

impl<'k> KernelStack<'k> {
    pub fn new(k: &'k Kernel) -> KernelStack<'k> {
        let mut s = KernelStack {
            k,
            tables: vec![],
            text: vec![],
            cache: Default::default(),
            warnings: vec![],
            orc: None,
        };
        let syms = k.symbols();
        // The entry format is read from vmlinux's own table (see orc::OrcFormat::detect);
        // modules are built by the same kernel's objtool.
        let mut fmt = None;
        match vmlinux_orc(k) {
            Ok((t, f, fit)) => {
                fmt = Some(f);
                s.orc = Some((f, fit));
                let owner = t
                    .range()
                    .map(|(a, b)| vec![(a, b.saturating_add(1))])
                    .unwrap_or_default();
                s.tables.push((owner, t))
            }
            Err(e) => s.warnings.push(e.to_string()),
        }
        for m in &syms.modules {
            match module_orc(k, m, fmt) {
                Some(t) => s.tables.push((m.regions.clone(), t)),
                None => s
                    .warnings
                    .push(format!("no ORC table found for module {}", m.name)),
            }
            s.text.extend(m.regions.iter().copied());
        }
        for (a, b) in [("_stext", "_etext"), ("_sinittext", "_einittext")] {
            if let (Some(a), Some(b)) = (syms.addr_of(a), syms.addr_of(b)) {
                s.text.push((a, b));
            }
        }
        if k.orc_ignored() {
            s.tables.clear();
            s.warnings.clear();
        }
        s
    }

    /// Unwinds from a register state and symbolizes the frames.
    pub fn trace(&self, start: &Regs) -> (Vec<Frame>, Option<String>) {
        let (raw, stop) = unwind::unwind(self, start);
        let mut frames: Vec<Frame> = raw.iter().map(|r| self.frame(r)).collect();
        mark_stack_switches(&mut frames);
        (frames, stop)
    }

    /// Unwinds a switched-out task from its saved switch frame (see [`switch_frame`]).
    pub fn trace_switched(&self, f: &unwind::SwitchFrame) -> (Vec<Frame>, Option<String>) {
        let (raw, stop) = unwind::unwind_switched(self, f);
        let mut frames: Vec<Frame> = raw.iter().map(|r| self.frame(r)).collect();
        mark_stack_switches(&mut frames);
        (frames, stop)
    }

    fn frame(&self, r: &RawFrame) -> Frame {
        // A return address points after the call: name the call site (ip - 1) but print ip.
        let look = if r.exact { r.ip } else { r.ip.wrapping_sub(1) };
        let sym = self.k.symbols().lookup(look);
        let kind = match (r.how, r.regs.is_some()) {
            (How::Start, _) => FrameKind::Start,
            (_, true) => FrameKind::Exception,
            _ => FrameKind::Frame,
        };
        Frame {
            function: sym.map(|(s, _)| s.name.clone()),
            offset: sym.map(|(s, _)| r.ip - s.addr),
            size: sym.map(|(s, _)| s.size),
            module: sym.and_then(|(s, _)| s.module.clone()),
            address: r.ip,
            sp: Some(r.sp),
            reliable: r.how != How::Scan,
            kind,
            how: r.how,
            regs: r.regs,
            stack: None,
            ..Default::default()
        }
    }
}

/// Marks where the trace leaves one stack for another (crash's `--- <IRQ stack> ---`): the
/// stack pointer jumps by more than a kernel stack (16 KiB) between frames. The stack left
/// behind is named by what ran on it.
fn mark_stack_switches(frames: &mut [Frame]) {
    const THREAD_SIZE: u64 = 16 << 10;
    let mut seg_start = 0;
    for i in 1..frames.len() {
        let (Some(a), Some(b)) = (frames[i - 1].sp, frames[i].sp) else {
            continue;
        };
        let user = frames[i].regs.is_some_and(|r| r.cs & 3 == 3);
        if user || a.abs_diff(b) <= THREAD_SIZE {
            continue;
        }
        let names: Vec<&str> = frames[seg_start..i]
            .iter()
            .filter_map(|f| f.function.as_deref())
            .collect();
        let kind = if names.iter().any(|n| n.contains("nmi")) {
            "NMI exception stack"
        } else if names.iter().any(|n| {
            n.contains("double_fault") || n.contains("exc_machine_check") || n.contains("debug")
        }) {
            "exception stack"
        } else {
            "IRQ stack"
        };
        frames[i].stack = Some(kind.to_string());
        seg_start = i;
    }
}

/// A module's ORC table: `struct module.arch` is `struct mod_arch_specific { unsigned int
/// num_orcs; int *orc_unwind_ip; struct orc_entry *orc_unwind; }` (arch/x86/include/asm/module.h).
/// Its place inside `struct module` comes from BTF; without BTF (or if what BTF points at does
/// not hold up) it is found by shape: an aligned count followed by two pointers into the module,
/// whose ip table decodes to sorted addresses inside the module.
fn module_orc(
    k: &Kernel,
    m: &crate::kernel::symbols::Module,
    f: Option<OrcFormat>,
) -> Option<OrcTable> {
    module_orc_btf(k, m, f).or_else(|| module_orc_by_shape(k, m, f))
}

/// vmlinux's ORC table, between `__start_orc_unwind_ip` / `__stop_orc_unwind_ip` and from
/// `__start_orc_unwind`, and the entry format read from it. Where the kernel also has
/// `__stop_orc_unwind`, the entry size the two arrays imply must be the 6 bytes we decode.
fn vmlinux_orc(k: &Kernel) -> crate::error::Result<(OrcTable, OrcFormat, OrcFit)> {
    let syms = k.symbols();
    let (Some(ip), Some(un), Some(stop)) = (
        syms.addr_of("__start_orc_unwind_ip"),
        syms.addr_of("__start_orc_unwind"),
        syms.addr_of("__stop_orc_unwind_ip"),
    ) else {
        return Err(
            "the kernel's ORC tables were not found (no __start_orc_unwind_ip symbol)".into(),
        );
    };
    if stop <= ip || (stop - ip) / 4 > MAX_ORC {
        return Err(format!("the kernel's ORC ip table is not usable ({ip:#x}..{stop:#x})").into());
    }
    let n = (stop - ip) / 4;
    if let Some(end) = syms.addr_of("__stop_orc_unwind") {
        let size = end.wrapping_sub(un);
        if size != n * orc::ENTRY_SIZE as u64 {
            return Err(format!(
                "the kernel's ORC entries are not {} bytes each ({size} bytes for {n} entries)",
                orc::ENTRY_SIZE
            )
            .into());
        }
    }
    let (Ok(a), Ok(b)) = (
        k.read_bytes(ip, (n * 4) as usize),
        k.read_bytes(un, (n * orc::ENTRY_SIZE as u64) as usize),
    ) else {
        return Err("the kernel's ORC tables are not readable in this dump".into());
    };
    let Some((f, fit)) = OrcFormat::detect(&b) else {
        return Err(
            format!("the kernel's ORC entries decode to no known format ({n} entries)").into(),
        );
    };
    Ok((OrcTable::from_raw(ip, a, b, f), f, fit))
}

/// [`module_orc`] without type information: the first place in `struct module` that holds up.
pub fn module_orc_by_shape(
    k: &Kernel,
    m: &crate::kernel::symbols::Module,
    v: Option<OrcFormat>,
) -> Option<OrcTable> {
    const STRUCT_MODULE_MAX: usize = 2048;
    let raw = k.read_bytes(m.addr, STRUCT_MODULE_MAX).ok()?;
    let q = |o: usize| raw.u64_at(o).unwrap_or(0);
    (0..STRUCT_MODULE_MAX - 24)
        .step_by(8)
        .find_map(|off| module_orc_at(k, m, v, q(off) & 0xffff_ffff, q(off + 8), q(off + 16)))
}

/// [`module_orc`] through BTF's `struct module.arch.{num_orcs, orc_unwind_ip, orc_unwind}`.
pub fn module_orc_btf(
    k: &Kernel,
    m: &crate::kernel::symbols::Module,
    v: Option<OrcFormat>,
) -> Option<OrcTable> {
    let btf = k.btf()?;
    let off = |f: &str| btf.member_offset("module", &format!("arch.{f}"));
    let n = k.read_u32(m.addr + off("num_orcs")?).ok()? as u64;
    let ip = k.read_u64(m.addr + off("orc_unwind_ip")?).ok()?;
    let un = k.read_u64(m.addr + off("orc_unwind")?).ok()?;
    module_orc_at(k, m, v, n, ip, un)
}

/// The table of `n` entries at `ip` / `un`, if it holds up as this module's: both arrays inside
/// the module, every ip in module space (entries for freed .init.text remain), most of them
/// inside this module. Decoded in vmlinux's format `v`, or, when vmlinux had no usable table,
/// in the format read from this table.
fn module_orc_at(
    k: &Kernel,
    m: &crate::kernel::symbols::Module,
    v: Option<OrcFormat>,
    n: u64,
    ip: u64,
    un: u64,
) -> Option<OrcTable> {
    let inside = |a: u64| m.contains(a);
    if n == 0 || n > 1 << 20 || !inside(ip) || !inside(un) {
        return None;
    }
    let a = k.read_bytes(ip, (n * 4) as usize).ok()?;
    let b = k
        .read_bytes(un, (n * orc::ENTRY_SIZE as u64) as usize)
        .ok()?;
    let v = match v {
        Some(v) => v,
        None => OrcFormat::detect(&b)?.0,
    };
    let t = OrcTable::from_raw(ip, a, b, v);
    let in_space = |x: u64| (0xffff_ffff_c000_0000..0xffff_ffff_ff00_0000).contains(&x);
    let own = t
        .ips()
        .filter(|&x| inside(x) || inside(x.wrapping_sub(1)))
        .count();
    (t.ips().all(in_space) && own * 2 >= t.len()).then_some(t)
}

impl UnwindEnv for KernelStack<'_> {
    fn read_u64(&self, addr: u64) -> Option<u64> {
        if let Some(v) = self.cache.borrow().get(&addr) {
            return *v;
        }
        let v = self.k.read_u64(addr).ok();
        let mut c = self.cache.borrow_mut();
        if c.len() > 1 << 16 {
            c.clear();
        }
        c.insert(addr, v);
        v
    }
    fn orc(&self, ip: u64) -> Option<OrcEntry> {
        self.tables
            .iter()
            .find(|(owner, _)| owner.iter().any(|&(a, b)| ip >= a && ip < b))
            .and_then(|(_, t)| t.find(ip))
    }
    fn is_text(&self, addr: u64) -> bool {
        self.text.iter().any(|&(a, b)| addr >= a && addr < b)
    }
    fn follows_call(&self, ret: u64) -> bool {
        let Ok(b) = self.k.read_bytes(ret.wrapping_sub(7), 7) else {
            return false;
        };
        b[2] == 0xe8 // call rel32
            || (b[1] == 0xff && b[2] == 0x15) // call *disp32(%rip)
            || (b[5] == 0xff && (b[6] & 0xf8) == 0xd0) // call *%reg (and *%r8-15 after a REX.B 0x41)
    }
    fn call_target(&self, ret: u64) -> Option<u64> {
        let b = self.k.read_bytes(ret.wrapping_sub(5), 5).ok()?;
        let rel = b.i32_at(1)?;
        (b[0] == 0xe8).then(|| ret.wrapping_add(rel as i64 as u64))
    }
}

/// Layout of `struct inactive_task_frame` (arch/x86/include/asm/switch_to.h), the frame
/// `__switch_to_asm` pushes at `thread.sp` when a task is switched out (4.9+: commit
/// 0100301bfdf5 "sched/x86: Rewrite the switch_to() code"). Kernels before 4.9 saved only rbp
/// and flags there and resumed at `thread_return`; they are not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchLayout {
    pub bp: u64,
    pub ret_addr: u64,
    pub size: u64,
    /// True when taken from BTF; false when the x86_64 layout (r15, r14, r13, r12, bx, bp,
    /// ret_addr: 56 bytes) was assumed.
    pub from_btf: bool,
}

impl SwitchLayout {
    pub const X86_64: SwitchLayout = SwitchLayout {
        bp: 40,
        ret_addr: 48,
        size: 56,
        from_btf: false,
    };

    pub fn of(k: &Kernel) -> crate::error::Result<SwitchLayout> {
        if let Some(b) = k.btf() {
            let o = |m: &str| b.member_offset("inactive_task_frame", m);
            if let (Some(bp), Some(ret_addr), Some(size)) =
                (o("bp"), o("ret_addr"), b.struct_size("inactive_task_frame"))
            {
                if bp < size && ret_addr.checked_add(8).is_some_and(|e| e <= size) && size <= 256 {
                    return Ok(SwitchLayout {
                        bp,
                        ret_addr,
                        size,
                        from_btf: true,
                    });
                }
            }
        }
        // Without BTF, by what the kernel's text holds: 4.9+ switches in __switch_to_asm;
        // before it switch_to() was inline asm resuming at the `thread_return` label.
        let syms = k.symbols();
        if syms.addr_of("__switch_to_asm").is_none() && syms.addr_of("thread_return").is_some() {
            return Err(
                "this kernel switches tasks at thread_return (before 4.9's struct inactive_task_frame): backtraces of switched-out tasks are not supported"
                    .into(),
            );
        }
        Ok(SwitchLayout::X86_64)
    }
}

/// The starting point of a switched-out task whose `thread.sp` is `thread_sp`.
pub fn switch_frame(
    k: &Kernel,
    l: &SwitchLayout,
    thread_sp: u64,
) -> crate::error::Result<unwind::SwitchFrame> {
    if thread_sp == 0 || thread_sp & 7 != 0 {
        return Err(format!("saved stack pointer {thread_sp:#x} is not usable").into());
    }
    let rd = |o: u64| {
        let a = thread_sp
            .checked_add(o)
            .ok_or("saved stack pointer overflows")?;
        k.read_u64(a)
            .map_err(|e| format!("switch frame unreadable: {e}"))
    };
    let ret_addr = rd(l.ret_addr)?;
    let bp = rd(l.bp)?;
    let syms = k.symbols();
    let signal = ["ret_from_fork_asm", "ret_from_fork"]
        .iter()
        .any(|n| syms.addr_of(n) == Some(ret_addr));
    Ok(unwind::SwitchFrame {
        ret_addr,
        ret_slot: thread_sp + l.ret_addr,
        sp: thread_sp
            .checked_add(l.size)
            .ok_or("saved stack pointer overflows")?,
        bp,
        signal,
    })
}

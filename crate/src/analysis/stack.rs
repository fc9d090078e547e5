//! Backtraces of a dumped kernel: the unwinder (unwind.rs) fed with the dump's memory, the ORC
//! tables of vmlinux and of every module, and symbols; then symbolized into report frames.

use super::orc::{OrcEntry, OrcTable, OrcVersion};
use super::unwind::{self, How, RawFrame, UnwindEnv};
use crate::dump::Regs;
use crate::kernel::Kernel;
use crate::report::Frame;
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
}

impl<'k> KernelStack<'k> {
    pub fn new(k: &'k Kernel) -> KernelStack<'k> {
        let mut s = KernelStack { k, tables: vec![], text: vec![], cache: Default::default(), warnings: vec![] };
        let v = OrcVersion::for_release(k.release().unwrap_or(""));
        let syms = k.symbols();
        let (ip, un, stop) = (
            syms.addr_of("__start_orc_unwind_ip"),
            syms.addr_of("__start_orc_unwind"),
            syms.addr_of("__stop_orc_unwind_ip"),
        );
        match (ip, un, stop) {
            (Some(ip), Some(un), Some(stop)) if stop > ip && (stop - ip) / 4 <= MAX_ORC => {
                let n = (stop - ip) / 4;
                match (k.read_bytes(ip, (n * 4) as usize), k.read_bytes(un, (n * 6) as usize)) {
                    (Ok(a), Ok(b)) => {
                        let t = OrcTable::from_raw(ip, &a, &b, v);
                        let owner = t.range().map(|(a, b)| vec![(a, b.saturating_add(1))]).unwrap_or_default();
                        s.tables.push((owner, t))
                    }
                    _ => s.warnings.push("the kernel's ORC tables are not readable in this dump".into()),
                }
            }
            _ => s.warnings.push("the kernel's ORC tables were not found (no __start_orc_unwind_ip symbol)".into()),
        }
        for m in &syms.modules {
            match module_orc(k, m, v) {
                Some(t) => s.tables.push((m.regions.clone(), t)),
                None => s.warnings.push(format!("no ORC table found for module {}", m.name)),
            }
            s.text.extend(m.regions.iter().copied());
        }
        for (a, b) in [("_stext", "_etext"), ("_sinittext", "_einittext")] {
            if let (Some(a), Some(b)) = (syms.addr_of(a), syms.addr_of(b)) {
                s.text.push((a, b));
            }
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

    fn frame(&self, r: &RawFrame) -> Frame {
        // A return address points after the call: name the call site (ip - 1) but print ip.
        let look = if r.exact { r.ip } else { r.ip.wrapping_sub(1) };
        let sym = self.k.symbols().lookup(look);
        let kind = match (r.how, r.regs.is_some()) {
            (How::Start, _) => "start",
            (_, true) => "exception",
            _ => "frame",
        };
        Frame {
            function: sym.map(|(s, _)| s.name.clone()),
            offset: sym.map(|(s, _)| r.ip - s.addr),
            size: sym.map(|(s, _)| s.size),
            module: sym.and_then(|(s, _)| s.module.clone()),
            address: r.ip,
            sp: Some(r.sp),
            reliable: r.how != How::Scan,
            kind: kind.into(),
            how: match r.how {
                How::Start => "start",
                How::Orc => "orc",
                How::Scan => "scan",
            }
            .into(),
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
        let (Some(a), Some(b)) = (frames[i - 1].sp, frames[i].sp) else { continue };
        let user = frames[i].regs.is_some_and(|r| r.cs & 3 == 3);
        if user || a.abs_diff(b) <= THREAD_SIZE {
            continue;
        }
        let names: Vec<&str> = frames[seg_start..i].iter().filter_map(|f| f.function.as_deref()).collect();
        let kind = if names.iter().any(|n| n.contains("nmi")) {
            "NMI exception stack"
        } else if names.iter().any(|n| n.contains("double_fault") || n.contains("exc_machine_check") || n.contains("debug")) {
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
/// Without type information its place inside `struct module` is found by shape: an aligned
/// count followed by two pointers into the module, whose ip table decodes to sorted addresses
/// inside the module.
fn module_orc(k: &Kernel, m: &crate::kernel::symbols::Module, v: OrcVersion) -> Option<OrcTable> {
    const STRUCT_MODULE_MAX: usize = 2048;
    let raw = k.read_bytes(m.addr, STRUCT_MODULE_MAX).ok()?;
    let q = |o: usize| u64::from_le_bytes(raw[o..o + 8].try_into().unwrap());
    let inside = |a: u64| m.contains(a);
    for off in (0..STRUCT_MODULE_MAX - 24).step_by(8) {
        let n = q(off) & 0xffff_ffff;
        let (ip, un) = (q(off + 8), q(off + 16));
        if n == 0 || n > 1 << 20 || !inside(ip) || !inside(un) {
            continue;
        }
        let (Ok(a), Ok(b)) = (k.read_bytes(ip, (n * 4) as usize), k.read_bytes(un, (n * 6) as usize)) else { continue };
        let t = OrcTable::from_raw(ip, &a, &b, v);
        // Every ip must be in module space (entries for freed .init.text remain) and most of
        // them inside this module.
        let in_space = |x: u64| (0xffff_ffff_c000_0000..0xffff_ffff_ff00_0000).contains(&x);
        let own = t.ips.iter().filter(|&&x| inside(x) || inside(x.wrapping_sub(1))).count();
        if t.ips.iter().all(|&x| in_space(x)) && own * 2 >= t.ips.len() {
            return Some(t);
        }
    }
    None
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
        let Ok(b) = self.k.read_bytes(ret.wrapping_sub(7), 7) else { return false };
        b[2] == 0xe8 // call rel32
            || (b[1] == 0xff && b[2] == 0x15) // call *disp32(%rip)
            || (b[5] == 0xff && (b[6] & 0xf8) == 0xd0) // call *%reg
            || (b[4] == 0x41 && b[5] == 0xff && (b[6] & 0xf8) == 0xd0) // call *%r8-15
    }
}

//! Which CPU each saved register set belongs to, and how many CPUs the machine had.
//!
//! A dump's NT_PRSTATUS notes are not indexed by CPU number: the kdump kernel merges one
//! PT_NOTE per CPU and drops the empty ones, so a CPU that did not answer the crash NMI (or was
//! offline) shifts every later note down by one. The kernel itself knows which note is whose:
//! `crash_save_cpu()` (kernel/crash_core.c) writes CPU n's note into `per_cpu_ptr(crash_notes,
//! n)`, which is in the dump's memory. Matching those bytes against the notes gives the CPU
//! number exactly; without them, the i-th note is the i-th online CPU (crash's
//! `map_cpus_to_prstatus()`), else the i-th CPU.

use super::Kernel;
use crate::dump::notes::{parse_notes, Notes, QemuCpuState, Regs};
use serde::Serialize;

/// The largest x86_64 NR_CPUS.
pub const MAX_CPUS: u32 = 8192;

/// How the register sets were matched to CPU numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CpuMapping {
    /// Each note equals the one in that CPU's `crash_notes` in memory.
    CrashNotes,
    /// The i-th note is the i-th CPU of `__cpu_online_mask`.
    OnlineMask,
    /// The i-th note is CPU i (QEMU writes one per CPU, in CPU order).
    Position,
}

/// Saved registers by CPU number, and the CPU count.
#[derive(Debug, Clone)]
pub struct Cpus {
    /// `regs[cpu]`: that CPU's NT_PRSTATUS registers, if the dump holds them.
    pub regs: Vec<Option<Regs>>,
    /// `qemu[cpu]`: QEMU's CPU state note (QEMU writes them in CPU order).
    pub qemu: Vec<QemuCpuState>,
    pub mapping: CpuMapping,
    /// CPUs of the machine: `__cpu_present_mask`'s weight, else one past the highest CPU the
    /// dump holds registers for.
    pub count: u32,
    /// Present CPUs that were not online (`__cpu_present_mask` minus `__cpu_online_mask`).
    pub offline: Option<u32>,
}

/// The number of bits set in a `struct cpumask` variable.
fn mask_weight(k: &Kernel, sym: &str) -> Option<u32> {
    mask_cpus(k, sym).map(|v| v.len() as u32)
}

/// The CPU numbers set in a `struct cpumask` variable: `__cpu_present_mask` and the like
/// (4.5+), else the `cpu_present_bits`-style array that 3.x's `cpu_present_mask` pointer points
/// at. Only the first `nr_cpu_ids` bits count (the mask is NR_CPUS bits long, often 64, and
/// what follows it is other data).
fn mask_cpus(k: &Kernel, sym: &str) -> Option<Vec<u32>> {
    let t = k.symbols();
    let old = sym
        .strip_prefix("__cpu_")
        .and_then(|r| r.strip_suffix("_mask"))
        .map(|r| format!("cpu_{r}_bits"));
    let a = t.addr_of(sym).or_else(|| t.addr_of(old.as_deref()?))?;
    let n = t
        .addr_of("nr_cpu_ids")
        .and_then(|a| k.read_u32(a).ok())
        .filter(|&n| (1..=MAX_CPUS).contains(&n))
        .unwrap_or(MAX_CPUS);
    let b = k.read_bytes(a, n.div_ceil(64) as usize * 8).ok()?;
    Some(
        (0..n)
            .filter(|&i| b[(i / 8) as usize] & (1 << (i % 8)) != 0)
            .collect(),
    )
}

/// The registers of the NT_PRSTATUS note CPU `cpu` wrote into its `crash_notes` buffer.
fn crash_note_regs(k: &Kernel, crash_notes: u64, cpu: u32) -> Option<Regs> {
    let off = super::tasks::per_cpu_offset(k, cpu)?;
    // A note header, "CORE\0" padded to 8, and a 336-byte `struct elf_prstatus`.
    let b = k
        .read_bytes(crash_notes.wrapping_add(off), 12 + 8 + 336)
        .ok()?;
    let mut n = Notes::default();
    parse_notes(&b, &mut n);
    n.prstatus.pop().map(|p| p.regs)
}

impl Cpus {
    pub(super) fn read(k: &Kernel, notes: &Notes) -> Cpus {
        let saved: Vec<Regs> = notes.prstatus.iter().map(|p| p.regs).collect();
        let present = mask_weight(k, "__cpu_present_mask").filter(|&n| n > 0);
        let online = mask_cpus(k, "__cpu_online_mask").filter(|v| !v.is_empty());
        let mut regs: Vec<Option<Regs>> = Vec::new();
        let mut mapping = CpuMapping::Position;
        // `crash_notes` is a `note_buf_t __percpu *`: its value plus a CPU's offset is its note.
        let crash_notes = k
            .symbols()
            .addr_of("crash_notes")
            .and_then(|a| k.read_u64(a).ok())
            .filter(|&p| p != 0);
        if let (Some(cn), false) = (crash_notes, saved.is_empty()) {
            let ids = k
                .symbols()
                .addr_of("nr_cpu_ids")
                .and_then(|a| k.read_u32(a).ok())
                .unwrap_or(present.unwrap_or(saved.len() as u32))
                .min(MAX_CPUS);
            let mut found = 0;
            for cpu in 0..ids {
                let Some(r) = crash_note_regs(k, cn, cpu) else {
                    continue;
                };
                if let Some(s) = saved.iter().find(|s| **s == r) {
                    if regs.len() <= cpu as usize {
                        regs.resize(cpu as usize + 1, None);
                    }
                    regs[cpu as usize] = Some(*s);
                    found += 1;
                }
                if found == saved.len() {
                    break;
                }
            }
            if found == saved.len() {
                mapping = CpuMapping::CrashNotes;
            } else {
                regs.clear();
            }
        }
        if regs.is_empty() {
            match &online {
                Some(on) if notes.qemu_cpus.is_empty() && on.len() >= saved.len() => {
                    mapping = CpuMapping::OnlineMask;
                    for (s, &cpu) in saved.iter().zip(on) {
                        if regs.len() <= cpu as usize {
                            regs.resize(cpu as usize + 1, None);
                        }
                        regs[cpu as usize] = Some(*s);
                    }
                }
                _ => regs = saved.iter().copied().map(Some).collect(),
            }
        }
        let noted = (regs.len() as u32).max(notes.qemu_cpus.len() as u32);
        Cpus {
            regs,
            qemu: notes.qemu_cpus.clone(),
            mapping,
            count: present.unwrap_or(noted),
            offline: present
                .zip(online.as_ref())
                .map(|(p, o)| p.saturating_sub(o.len() as u32)),
        }
    }
}

//! ELF note parsing shared by every container: NT_PRSTATUS (one per CPU), the VMCOREINFO note,
//! and QEMU's per-CPU state note.

use crate::bytes::Le;
use serde::Serialize;

pub const NT_PRSTATUS: u32 = 1;
pub const NT_PRPSINFO: u32 = 3;
pub const NT_AUXV: u32 = 6;
pub const NT_FILE: u32 = 0x4649_4c45;

/// x86_64 `struct user_regs_struct` order, as in NT_PRSTATUS `pr_reg`.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Regs {
    #[serde(with = "crate::util::hex")]
    pub r15: u64,
    #[serde(with = "crate::util::hex")]
    pub r14: u64,
    #[serde(with = "crate::util::hex")]
    pub r13: u64,
    #[serde(with = "crate::util::hex")]
    pub r12: u64,
    #[serde(with = "crate::util::hex")]
    pub rbp: u64,
    #[serde(with = "crate::util::hex")]
    pub rbx: u64,
    #[serde(with = "crate::util::hex")]
    pub r11: u64,
    #[serde(with = "crate::util::hex")]
    pub r10: u64,
    #[serde(with = "crate::util::hex")]
    pub r9: u64,
    #[serde(with = "crate::util::hex")]
    pub r8: u64,
    #[serde(with = "crate::util::hex")]
    pub rax: u64,
    #[serde(with = "crate::util::hex")]
    pub rcx: u64,
    #[serde(with = "crate::util::hex")]
    pub rdx: u64,
    #[serde(with = "crate::util::hex")]
    pub rsi: u64,
    #[serde(with = "crate::util::hex")]
    pub rdi: u64,
    #[serde(with = "crate::util::hex")]
    pub orig_rax: u64,
    #[serde(with = "crate::util::hex")]
    pub rip: u64,
    #[serde(with = "crate::util::hex")]
    pub cs: u64,
    #[serde(with = "crate::util::hex")]
    pub eflags: u64,
    #[serde(with = "crate::util::hex")]
    pub rsp: u64,
    #[serde(with = "crate::util::hex")]
    pub ss: u64,
    #[serde(with = "crate::util::hex")]
    pub fs_base: u64,
    #[serde(with = "crate::util::hex")]
    pub gs_base: u64,
    #[serde(with = "crate::util::hex")]
    pub ds: u64,
    #[serde(with = "crate::util::hex")]
    pub es: u64,
    #[serde(with = "crate::util::hex")]
    pub fs: u64,
    #[serde(with = "crate::util::hex")]
    pub gs: u64,
}

impl Regs {
    /// From 27 little-endian u64s in `user_regs_struct` order (also `struct pt_regs` order for
    /// the first 21).
    pub fn from_user_regs(b: &[u8]) -> Regs {
        let g = |i: usize| b.u64_at(i * 8).unwrap_or(0);
        Regs {
            r15: g(0),
            r14: g(1),
            r13: g(2),
            r12: g(3),
            rbp: g(4),
            rbx: g(5),
            r11: g(6),
            r10: g(7),
            r9: g(8),
            r8: g(9),
            rax: g(10),
            rcx: g(11),
            rdx: g(12),
            rsi: g(13),
            rdi: g(14),
            orig_rax: g(15),
            rip: g(16),
            cs: g(17),
            eflags: g(18),
            rsp: g(19),
            ss: g(20),
            fs_base: g(21),
            gs_base: g(22),
            ds: g(23),
            es: g(24),
            fs: g(25),
            gs: g(26),
        }
    }

    /// Value of a general-purpose register by its 64-bit name (`rax`, `r8`, ...).
    pub fn get(&self, name: &str) -> Option<u64> {
        Some(match name {
            "rax" => self.rax,
            "rbx" => self.rbx,
            "rcx" => self.rcx,
            "rdx" => self.rdx,
            "rsi" => self.rsi,
            "rdi" => self.rdi,
            "rbp" => self.rbp,
            "rsp" => self.rsp,
            "r8" => self.r8,
            "r9" => self.r9,
            "r10" => self.r10,
            "r11" => self.r11,
            "r12" => self.r12,
            "r13" => self.r13,
            "r14" => self.r14,
            "r15" => self.r15,
            "rip" => self.rip,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PrStatus {
    pub pid: u32,
    pub regs: Regs,
}

/// QEMU's `QEMUCPUState` note (target/i386/arch_dump.c): adds control registers and the
/// kernel GS base that NT_PRSTATUS lacks.
#[derive(Debug, Clone, Serialize, Default)]
pub struct QemuCpuState {
    pub regs: Regs,
    pub cr: [u64; 5],
    #[serde(with = "crate::util::hex")]
    pub gs_base: u64,
    #[serde(with = "crate::util::hex::opt")]
    pub kernel_gs_base: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Notes {
    pub prstatus: Vec<PrStatus>,
    pub vmcoreinfo: Option<String>,
    pub qemu_cpus: Vec<QemuCpuState>,
    /// Notes a user-space core has (NT_PRPSINFO, NT_AUXV, NT_FILE): used to reject such files.
    pub user_core_notes: usize,
}

const SEGMENT: usize = 24; // selector, limit, flags, pad (u32 each) + base (u64)

fn parse_qemu_cpu(d: &[u8]) -> Option<QemuCpuState> {
    // version u32, size u32, then 18 u64 GPRs in QEMU's own order.
    if d.len() < 8 + 18 * 8 + 10 * SEGMENT + 5 * 8 {
        return None;
    }
    let size = d.u32_at(4).unwrap_or(0) as usize;
    let q = |i: usize| d.u64_at(8 + i * 8).unwrap_or(0);
    let regs = Regs {
        rax: q(0),
        rbx: q(1),
        rcx: q(2),
        rdx: q(3),
        rsi: q(4),
        rdi: q(5),
        rsp: q(6),
        rbp: q(7),
        r8: q(8),
        r9: q(9),
        r10: q(10),
        r11: q(11),
        r12: q(12),
        r13: q(13),
        r14: q(14),
        r15: q(15),
        rip: q(16),
        eflags: q(17),
        ..Default::default()
    };
    let seg = 8 + 18 * 8;
    let seg_sel = |i: usize| d.u32_at(seg + i * SEGMENT).unwrap_or(0) as u64;
    let seg_base = |i: usize| d.u64_at(seg + i * SEGMENT + 16).unwrap_or(0);
    // cs, ds, es, fs, gs, ss, ldt, tr, gdt, idt
    let mut regs = regs;
    regs.cs = seg_sel(0);
    regs.ds = seg_sel(1);
    regs.es = seg_sel(2);
    regs.fs = seg_sel(3);
    regs.gs = seg_sel(4);
    regs.ss = seg_sel(5);
    regs.fs_base = seg_base(3);
    regs.gs_base = seg_base(4);
    let cro = seg + 10 * SEGMENT;
    let mut cr = [0u64; 5];
    for (i, c) in cr.iter_mut().enumerate() {
        *c = d.u64_at(cro + i * 8).unwrap_or(0);
    }
    let kgs = cro + 40;
    let kernel_gs_base = d.u64_at(kgs).filter(|_| size >= kgs + 8);
    Some(QemuCpuState {
        regs,
        cr,
        gs_base: seg_base(4),
        kernel_gs_base,
    })
}

/// Walks an ELF note segment and collects what crashlens uses. Bounded: stops at the first
/// malformed note.
pub fn parse_notes(data: &[u8], out: &mut Notes) {
    let mut off = 0usize;
    let align4 = |x: usize| (x + 3) & !3;
    while off + 12 <= data.len() {
        let namesz = data.u32_at(off).unwrap_or(0) as usize;
        let descsz = data.u32_at(off + 4).unwrap_or(0) as usize;
        let ntype = data.u32_at(off + 8).unwrap_or(0);
        let name_start = off + 12;
        let Some(desc_start) = name_start.checked_add(align4(namesz)) else {
            break;
        };
        let Some(end) = desc_start.checked_add(align4(descsz)) else {
            break;
        };
        if desc_start + descsz > data.len() {
            break;
        }
        let name = &data[name_start..name_start + namesz.min(data.len() - name_start)];
        let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
        let desc = &data[desc_start..desc_start + descsz];
        match (name, ntype) {
            (b"CORE", NT_PRSTATUS) if desc.len() >= 112 + 27 * 8 => {
                out.prstatus.push(PrStatus {
                    pid: desc.u32_at(32).unwrap_or(0),
                    regs: Regs::from_user_regs(&desc[112..112 + 27 * 8]),
                });
            }
            (b"CORE", NT_PRPSINFO | NT_AUXV | NT_FILE) => out.user_core_notes += 1,
            (b"VMCOREINFO", _) => {
                out.vmcoreinfo = Some(
                    String::from_utf8_lossy(desc)
                        .trim_end_matches('\0')
                        .to_string(),
                )
            }
            (b"QEMU", _) => {
                if let Some(s) = parse_qemu_cpu(desc) {
                    out.qemu_cpus.push(s)
                }
            }
            _ => {}
        }
        off = end.min(data.len()).max(off + 12);
    }
}

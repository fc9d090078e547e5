//! Disassembly with iced-x86 in AT&T syntax, formatted like crash's `dis`
//! (`0xffffffffc033d0fb <fixture_null_deref+21>:\tmov    0x18(%rbx),%rax`), and decoding of an
//! instruction's memory operand against a register state.

use crate::dump::Regs;
use iced_x86::{
    Decoder, DecoderOptions, Formatter, FormatterOutput, FormatterTextKind, GasFormatter,
    Instruction, InstructionInfoFactory, OpAccess, Register,
};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Insn {
    #[serde(with = "crate::util::hex")]
    pub address: u64,
    pub len: usize,
    pub bytes: String,
    /// `mov    0x18(%rbx),%rax`
    pub text: String,
    /// `fixture_null_deref+21`
    pub location: Option<String>,
    /// Registers written by this instruction (64-bit names).
    #[serde(skip)]
    pub writes: Vec<&'static str>,
    #[serde(skip)]
    pub is_call: bool,
    #[serde(skip)]
    pub is_ret: bool,
}

/// The memory operand of an instruction, decoded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MemOperand {
    /// `rbx` (64-bit name) or None for absolute / RIP-relative.
    pub base: Option<String>,
    pub index: Option<String>,
    pub scale: u32,
    pub displacement: i64,
    /// Effective address with the given registers, when every register is known.
    #[serde(with = "crate::util::hex::opt")]
    pub address: Option<u64>,
    pub read: bool,
    pub write: bool,
}

struct Out(String);
impl FormatterOutput for Out {
    fn write(&mut self, text: &str, _kind: FormatterTextKind) {
        self.0.push_str(text);
    }
}

/// 64-bit name of a general-purpose register (`ebx` -> `rbx`), or None.
pub fn gpr64(r: Register) -> Option<&'static str> {
    let full = r.full_register();
    Some(match full {
        Register::RAX => "rax",
        Register::RBX => "rbx",
        Register::RCX => "rcx",
        Register::RDX => "rdx",
        Register::RSI => "rsi",
        Register::RDI => "rdi",
        Register::RBP => "rbp",
        Register::RSP => "rsp",
        Register::R8 => "r8",
        Register::R9 => "r9",
        Register::R10 => "r10",
        Register::R11 => "r11",
        Register::R12 => "r12",
        Register::R13 => "r13",
        Register::R14 => "r14",
        Register::R15 => "r15",
        Register::RIP => "rip",
        _ => return None,
    })
}

/// Disassembles `code` loaded at `addr`. `name_of(a)` names an address as `func+off` for
/// branch targets and the location column.
pub fn disassemble(code: &[u8], addr: u64, name_of: &dyn Fn(u64) -> Option<String>) -> Vec<Insn> {
    let mut dec = Decoder::with_ip(64, code, addr, DecoderOptions::NONE);
    let mut fmt = GasFormatter::new();
    fmt.options_mut().set_first_operand_char_index(7);
    fmt.options_mut().set_uppercase_hex(false);
    fmt.options_mut().set_space_after_operand_separator(false);
    fmt.options_mut().set_gas_show_mnemonic_size_suffix(false);
    // As gdb / objdump: an encoded zero displacement and a scale of 1 are printed
    // (`nopl   0x0(%rax,%rax,1)`).
    fmt.options_mut().set_show_zero_displacements(true);
    fmt.options_mut().set_small_hex_numbers_in_decimal(false);
    // RIP-relative operands as gdb prints them: `0x1921925(%rip)        # 0xffffffff... <sym>`.
    fmt.options_mut().set_rip_relative_addresses(true);
    let mut info = InstructionInfoFactory::new();
    let mut out = Vec::new();
    let mut ins = Instruction::default();
    while dec.can_decode() {
        let off = (dec.ip() - addr) as usize;
        dec.decode_out(&mut ins);
        let mut o = Out(String::new());
        // Only with an index register (iced would print `(%rbx,)` otherwise).
        fmt.options_mut()
            .set_always_show_scale(ins.memory_index() != Register::None);
        fmt.format(&ins, &mut o);
        // Branch targets get their name, as gdb/crash print `call 0x... <_printk>`.
        if ins.op_count() == 1 && ins.op0_kind() == iced_x86::OpKind::NearBranch64 {
            if let Some(n) = name_of(ins.near_branch_target()) {
                o.0 = format!("{} <{n}>", o.0);
            }
        }
        if ins.is_ip_rel_memory_operand() {
            let t = ins.ip_rel_memory_address();
            o.0 = match name_of(t) {
                Some(n) => format!("{}        # {t:#x} <{n}>", o.0),
                None => format!("{}        # {t:#x}", o.0),
            };
        }
        let bytes = &code[off..off + ins.len()];
        let writes = info
            .info(&ins)
            .used_registers()
            .iter()
            .filter(|u| {
                matches!(
                    u.access(),
                    OpAccess::Write
                        | OpAccess::CondWrite
                        | OpAccess::ReadWrite
                        | OpAccess::ReadCondWrite
                )
            })
            .filter_map(|u| gpr64(u.register()))
            .collect();
        out.push(Insn {
            address: ins.ip(),
            len: ins.len(),
            bytes: bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
            text: if ins.is_invalid() {
                "(bad)".into()
            } else {
                o.0
            },
            location: name_of(ins.ip()),
            writes,
            is_call: ins.is_call_near() || ins.is_call_far(),
            is_ret: matches!(
                ins.mnemonic(),
                iced_x86::Mnemonic::Ret | iced_x86::Mnemonic::Retf
            ),
        });
    }
    out
}

/// The memory operand of the instruction at the start of `code` (at `addr`), with its effective
/// address computed from `regs` where possible.
pub fn memory_operand(code: &[u8], addr: u64, regs: Option<&Regs>) -> Option<MemOperand> {
    let mut dec = Decoder::with_ip(64, code, addr, DecoderOptions::NONE);
    let ins = dec.decode();
    if ins.is_invalid() {
        return None;
    }
    use iced_x86::OpKind;
    let kind = (0..ins.op_count()).map(|i| ins.op_kind(i)).find(|k| {
        matches!(
            k,
            OpKind::Memory
                | OpKind::MemoryESRDI
                | OpKind::MemoryESEDI
                | OpKind::MemorySegRSI
                | OpKind::MemorySegESI
                | OpKind::MemorySegRDI
        )
    })?;
    // String instructions (rep stos/movs/cmps) address memory through RDI / RSI implicitly.
    let implicit = match kind {
        OpKind::MemoryESRDI | OpKind::MemoryESEDI | OpKind::MemorySegRDI => Some("rdi"),
        OpKind::MemorySegRSI | OpKind::MemorySegESI => Some("rsi"),
        _ => None,
    };
    if let Some(r) = implicit {
        let mut info = InstructionInfoFactory::new();
        let acc = info.info(&ins).used_memory().first().map(|m| m.access());
        return Some(MemOperand {
            base: Some(r.to_string()),
            index: None,
            scale: 1,
            displacement: 0,
            address: regs.and_then(|g| g.get(r)),
            read: !matches!(acc, Some(OpAccess::Write)),
            write: matches!(acc, Some(OpAccess::Write | OpAccess::ReadWrite)),
        });
    }
    let base = gpr64(ins.memory_base()).map(str::to_string);
    let index = gpr64(ins.memory_index()).map(str::to_string);
    let scale = ins.memory_index_scale();
    let disp = ins.memory_displacement64() as i64;
    let mut info = InstructionInfoFactory::new();
    let acc = info.info(&ins).used_memory().first().map(|m| m.access());
    let read = matches!(
        acc,
        Some(OpAccess::Read | OpAccess::ReadWrite | OpAccess::ReadCondWrite | OpAccess::CondRead)
    );
    let write = matches!(
        acc,
        Some(OpAccess::Write | OpAccess::ReadWrite | OpAccess::CondWrite | OpAccess::ReadCondWrite)
    );
    let value = |r: &Option<String>| -> Option<u64> {
        match r {
            Some(r) => regs.and_then(|g| g.get(r)),
            None => Some(0),
        }
    };
    // iced gives RIP-relative and absolute operands' final address in displacement64.
    let address = if ins.memory_base() == Register::RIP || (base.is_none() && index.is_none()) {
        Some(ins.memory_displacement64())
    } else {
        value(&base).zip(value(&index)).map(|(b, i)| {
            b.wrapping_add(i.wrapping_mul(scale as u64))
                .wrapping_add(disp as u64)
        })
    };
    let (base, disp) = if ins.memory_base() == Register::RIP {
        (
            Some("rip".to_string()),
            (ins.memory_displacement64().wrapping_sub(ins.next_ip())) as i64,
        )
    } else {
        (base, disp)
    };
    Some(MemOperand {
        base,
        index,
        scale,
        displacement: disp,
        address,
        read,
        write,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_like_text_and_operand() {
        // fixture_null_deref from the 6.1 fixture (bytes from its Code: line).
        let code = [0x53, 0x48, 0x89, 0xfb, 0x48, 0x8b, 0x43, 0x18, 0x5b, 0xc3];
        let ins = disassemble(&code, 0xffffffffc033d0eb, &|_| None);
        let t: Vec<_> = ins.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(
            t,
            [
                "push   %rbx",
                "mov    %rdi,%rbx",
                "mov    0x18(%rbx),%rax",
                "pop    %rbx",
                "ret"
            ]
        );
        assert_eq!(ins[1].writes, ["rbx"]);
        let regs = Regs {
            rbx: 0,
            ..Default::default()
        };
        let m = memory_operand(&code[4..], 0xffffffffc033d0fb, Some(&regs)).unwrap();
        assert_eq!(m.base.as_deref(), Some("rbx"));
        assert_eq!(m.displacement, 0x18);
        assert_eq!(m.address, Some(0x18));
        assert!(m.read && !m.write);
        // The reference case: lock decl 0x1c(%rdi) with RDI = 0.
        let m = memory_operand(
            &[0xf0, 0xff, 0x4f, 0x1c],
            0xffffffff8118a075,
            Some(&Regs::default()),
        )
        .unwrap();
        assert_eq!(
            (m.base.as_deref(), m.displacement, m.address, m.write),
            (Some("rdi"), 0x1c, Some(0x1c), true)
        );
    }
}

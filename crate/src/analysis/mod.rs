//! Analysis of the crashed kernel: oops parsing (from log text), unwinding (ORC, stack scan),
//! and later disassembly and diagnosis.

pub mod classes;
pub mod crash;
pub mod diagnose;
pub mod disasm;
pub mod model;
pub mod oops;
pub mod orc;
pub mod stack;
pub mod unwind;
pub mod verdict;

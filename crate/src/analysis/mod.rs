//! Analysis of the crashed kernel: oops parsing (from log text), and later unwinding,
//! disassembly and diagnosis.

pub mod oops;

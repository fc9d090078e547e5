//! crash's `bt` text format for a CPU's trace.

use crate::dump::Regs;
use crate::report::{CpuTrace, Frame, Report};
use std::fmt::Write;

pub fn regs_block(s: &mut String, r: &Regs) {
    // crash's rows: (name, value, hex digits); names carry crash's own padding (` R8`).
    let rows: [[(&str, u64, usize); 3]; 7] = [
        [
            ("RIP", r.rip, 16),
            ("RSP", r.rsp, 16),
            ("RFLAGS", r.eflags, 8),
        ],
        [("RAX", r.rax, 16), ("RBX", r.rbx, 16), ("RCX", r.rcx, 16)],
        [("RDX", r.rdx, 16), ("RSI", r.rsi, 16), ("RDI", r.rdi, 16)],
        [("RBP", r.rbp, 16), (" R8", r.r8, 16), (" R9", r.r9, 16)],
        [("R10", r.r10, 16), ("R11", r.r11, 16), ("R12", r.r12, 16)],
        [("R13", r.r13, 16), ("R14", r.r14, 16), ("R15", r.r15, 16)],
        [
            ("ORIG_RAX", r.orig_rax, 16),
            ("CS", r.cs, 4),
            ("SS", r.ss, 4),
        ],
    ];
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|(name, v, w)| format!("{name}: {v:0w$x}"))
            .collect();
        let _ = writeln!(s, "    {}", cells.join("  "));
    }
}

/// crash's `bt -l`: `    /path/file.c: 46` under a frame, when debuginfo gave its line; the
/// functions inlined there first, innermost first.
fn source_lines(s: &mut String, f: &Frame) {
    for i in &f.inlined {
        if let (Some(func), Some(file), Some(line)) = (&i.function, &i.file, i.line) {
            let _ = writeln!(s, "    (inlined {func}) {file}: {line}");
        }
    }
    if let (Some(file), Some(line)) = (&f.file, f.line) {
        let _ = writeln!(s, "    {file}: {line}");
    }
}

fn name(f: &Frame) -> String {
    f.function
        .clone()
        .unwrap_or_else(|| format!("{:x}", f.address))
}

pub fn render(t: &CpuTrace) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "PID: {:<8} TASK: {:<16}  CPU: {:<4} COMMAND: \"{}\"",
        t.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
        t.task
            .map(|a| format!("{a:x}"))
            .unwrap_or_else(|| "?".into()),
        t.cpu,
        t.comm.as_deref().unwrap_or("?")
    );
    let mut n = 0;
    for f in &t.frames {
        if let Some(m) = &f.stack {
            let _ = writeln!(s, "--- <{m}> ---");
        }
        if f.kind == crate::report::FrameKind::Exception {
            if let Some(r) = &f.regs {
                if r.cs & 3 == 0 {
                    let off = f.offset.map(|o| format!("+{o}")).unwrap_or_default();
                    let _ = writeln!(s, "    [exception RIP: {}{off}]", name(f));
                    source_lines(&mut s, f);
                }
                regs_block(&mut s, r);
            }
            continue;
        }
        let module = f
            .module
            .as_ref()
            .map(|m| format!(" [{m}]"))
            .unwrap_or_default();
        let unreliable = if f.reliable { "" } else { " ?" };
        let _ = writeln!(
            s,
            "{:>3} [{:016x}]{unreliable} {} at {:x}{module}",
            format!("#{n}"),
            f.sp.unwrap_or(0),
            name(f),
            f.address
        );
        source_lines(&mut s, f);
        n += 1;
    }
    if let Some(e) = &t.error {
        let _ = writeln!(s, "    (unwinding stopped: {e})");
    }
    s
}

/// The trace `crashlens bt` shows: the crashing CPU's (the one the backtrace was taken from), or
/// the first CPU's when there is no backtrace.
pub fn crashing(r: &Report) -> Option<&CpuTrace> {
    r.cpu_traces
        .iter()
        .find(|t| t.frames == r.backtrace || r.backtrace.is_empty())
}

/// `crashlens bt`: the crashing CPU's trace.
pub fn crashing_text(r: &Report) -> String {
    crashing(r).map(render).unwrap_or_default()
}

/// `crashlens bt -a`: every CPU's trace, one after another.
pub fn all_text(r: &Report) -> String {
    r.cpu_traces
        .iter()
        .map(render)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The registers of the crashing CPU's first exception frame, as its `bt` block prints them.
pub fn exception_regs_text(r: &Report) -> String {
    let mut s = String::new();
    if let Some(regs) = r
        .backtrace
        .iter()
        .find(|f| f.kind == crate::report::FrameKind::Exception)
        .and_then(|f| f.regs.as_ref())
    {
        regs_block(&mut s, regs);
    }
    s
}

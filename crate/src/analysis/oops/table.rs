//! Every kind of kernel report, in the order they are tried on a line. The wordings are the
//! kernel's own (arch/x86/mm/fault.c, arch/x86/kernel/traps.c, kernel/panic.c, lib/bug.c,
//! mm/kasan, kernel/locking/lockdep.c, kernel/hung_task.c, kernel/rcu/tree_stall.h, ...) as
//! printed by kernels 3.x to 7.x; titles follow syzbot's naming so they can be searched there.

use super::rules::{stack, stack_x, Extractor, Format, Group, Part, CALL_TRACE, F, RIP};
use super::table_bug::{BUG_FORMATS, BUG_SUPPRESS};
use super::table_warn::{INFO_FORMATS, INFO_SUPPRESS, WARNING_FORMATS, WARNING_SUPPRESS};

const FAULT_PARTS: &[Part] = &[RIP, CALL_TRACE, Part::Trace];
const TRACE_PARTS: &[Part] = &[CALL_TRACE, Part::Trace];
const RIP_ONLY: &[Part] = &[RIP];

/// A one-format group whose title is `fmt` with the frame from the RIP line (and Call Trace).
macro_rules! simple {
    ($header:expr, $title:expr, $fmt:expr, $alt:expr, $parts:expr) => {
        Group {
            header: $header,
            formats: &[Format {
                title: $title,
                fmt: $fmt,
                alt: $alt,
                stack: stack($parts, &[]),
                ..F
            }],
            suppress: &[],
        }
    };
}
macro_rules! plain {
    ($header:expr, $title:expr, $fmt:expr) => {
        Group {
            header: $header,
            formats: &[Format {
                title: $title,
                fmt: $fmt,
                no_stack_trace: true,
                ..F
            }],
            suppress: &[],
        }
    };
}

const SLUB_REDZONE: Format = Format {
    title: r"BUG ([^ ()]+) \(.*\): ((?:Right |Left )?Redzone) overwritten",
    fmt: "BUG: {2} overwritten",
    no_stack_trace: true,
    ..F
};

const SLUB_POISON: Format = Format {
    title: r"BUG ([^ ()]+) \(.*\): Poison overwritten",
    fmt: "BUG: Poison overwritten",
    no_stack_trace: true,
    ..F
};

/// 7.x: the damaged region's line first ("[Right Redzone overwritten] 0xA-0xB ..."), then
/// "BUG kmalloc-32 (...): Object corrupt" (a report of its own). Titled like syzkaller's
/// "BUG: Object already free": by what SLUB found, not by the cache.
const SLUB_REDZONE_FIRST: Format = Format {
    title: r"\[((?:Right |Left )?Redzone) overwritten\] 0x",
    fmt: "BUG: {1} overwritten",
    no_stack_trace: true,
    ..F
};

const SLUB_POISON_FIRST: Format = Format {
    title: r"\[Poison overwritten\] 0x",
    fmt: "BUG: Poison overwritten",
    no_stack_trace: true,
    ..F
};

pub static GROUPS: &[Group] = &[
    Group {
        header: "BUG:",
        formats: BUG_FORMATS,
        suppress: BUG_SUPPRESS,
    },
    Group {
        header: "WARNING:",
        formats: WARNING_FORMATS,
        suppress: WARNING_SUPPRESS,
    },
    Group {
        header: "INFO:",
        formats: INFO_FORMATS,
        suppress: INFO_SUPPRESS,
    },
    simple!(
        "Unable to handle kernel",
        "Unable to handle kernel (paging request|NULL pointer dereference|access to user memory)",
        "BUG: unable to handle kernel {1} in {2}",
        &["bad-access in {2}"],
        FAULT_PARTS
    ),
    Group {
        header: "general protection fault",
        formats: &[Format {
            title: "general protection fault.*:",
            fmt: "general protection fault in {1}",
            alt: &["bad-access in {1}"],
            stack: stack(FAULT_PARTS, &[]),
            ..F
        }],
        // The user-space variant: "traps: x[1] general protection fault ip:.. error:0 in libc.so".
        suppress: &[r"general protection fault .* error:\d+ in "],
    },
    simple!(
        "stack segment: ",
        "stack segment: ",
        "stack segment fault in {1}",
        &[],
        FAULT_PARTS
    ),
    Group {
        header: "Kernel panic",
        formats: PANIC_FORMATS,
        suppress: &[],
    },
    simple!(
        "PANIC: double fault",
        "PANIC: double fault",
        "PANIC: double fault in {1}",
        &[],
        RIP_ONLY
    ),
    Group {
        header: "rust_kernel: panicked",
        formats: &[Format {
            title: "rust_kernel: panicked",
            report: Some("rust_kernel: panicked at [^\n]*?\n(.+?)\n"),
            fmt: "{1} in {2}",
            stack: stack(TRACE_PARTS, &[r"__rustc::rust_begin_unwind"]),
            ..F
        }],
        suppress: &[],
    },
    Group {
        header: "kernel BUG",
        formats: &[
            Format {
                title: "kernel BUG at mm/usercopy.c",
                fmt: "BUG: bad usercopy in {1}",
                stack: stack(TRACE_PARTS, &["usercopy", "__check"]),
                ..F
            },
            Format {
                title: "kernel BUG at lib/list_debug.c",
                fmt: "BUG: corrupted list in {1}",
                alt: &["bad-access in {1}"],
                stack: stack(TRACE_PARTS, &[]),
                ..F
            },
            Format {
                title: "kernel BUG at (.*)",
                fmt: "kernel BUG in {2}",
                stack: stack(FAULT_PARTS, &["^skb_"]),
                ..F
            },
        ],
        suppress: &[],
    },
    Group {
        header: "Kernel BUG",
        formats: &[Format {
            title: "Kernel BUG (.*)",
            fmt: "kernel BUG {1}",
            ..F
        }],
        suppress: &[],
    },
    Group {
        header: "BUG kmalloc-",
        formats: &[
            Format {
                title: "BUG kmalloc-.*: Object already free",
                fmt: "BUG: Object already free",
                ..F
            },
            SLUB_REDZONE,
            SLUB_POISON,
        ],
        suppress: &[],
    },
    // SLUB's red zone / poison checks on any cache (slub_debug=FZP): "BUG kmalloc-32 (Tainted:
    // ...): Right Redzone overwritten" (older kernels: "Redzone overwritten"), "BUG
    // crashlens_lab_rec (...): Poison overwritten". Not in syzkaller's table (its KASAN builds
    // catch these first); titled by the region, as "BUG: Object already free" is.
    Group {
        header: "Redzone overwritten",
        formats: &[SLUB_REDZONE, SLUB_REDZONE_FIRST],
        suppress: &[],
    },
    Group {
        header: "Poison overwritten",
        formats: &[SLUB_POISON, SLUB_POISON_FIRST],
        suppress: &[],
    },
    simple!(
        "divide error:",
        "divide error: ",
        "divide error in {1}",
        &[],
        RIP_ONLY
    ),
    simple!(
        "divide_error:",
        "divide_error: ",
        "divide error in {1}",
        &[],
        RIP_ONLY
    ),
    simple!(
        "invalid opcode:",
        "invalid opcode: ",
        "invalid opcode in {1}",
        &[],
        RIP_ONLY
    ),
    simple!("int3:", "int3: ", "int3 in {1}", &[], FAULT_PARTS),
    Group {
        header: "UBSAN:",
        formats: &[
            Format {
                title: "UBSAN:",
                report: Some("UBSAN: Undefined behaviour in"),
                fmt: "UBSAN: undefined-behaviour in {1}",
                stack: stack(TRACE_PARTS, &["ubsan", "overflow"]),
                ..F
            },
            Format {
                title: "UBSAN: array-index-out-of-bounds in",
                fmt: "UBSAN: array-index-out-of-bounds in {1}",
                alt: &["bad-access in {1}"],
                stack: stack(TRACE_PARTS, &["ubsan", "overflow"]),
                ..F
            },
            Format {
                title: "UBSAN:",
                report: Some("UBSAN: (.*?) in"),
                fmt: "UBSAN: {1} in {2}",
                stack: stack(TRACE_PARTS, &["ubsan", "overflow"]),
                ..F
            },
        ],
        suppress: &[],
    },
    Group {
        header: "Booting the kernel.",
        formats: &[Format {
            title: "^Booting the kernel",
            fmt: "unexpected kernel reboot",
            no_stack_trace: true,
            ..F
        }],
        suppress: &["Parsing ELF|Decompressing Linux|Unknown parameter '"],
    },
    plain!(
        "unregister_netdevice: waiting for",
        "unregister_netdevice: waiting for (?:.*) to become free",
        "unregister_netdevice: waiting for DEV to become free"
    ),
    plain!(
        "VFS: Close: file count is 0",
        "VFS: Close: file count is 0",
        "VFS: Close: file count is zero (use-after-free)"
    ),
    plain!(
        "VFS: Busy inodes after unmount",
        "VFS: Busy inodes after unmount",
        "VFS: Busy inodes after unmount (use-after-free)"
    ),
    simple!(
        "Internal error:",
        "Internal error:",
        "Internal error in {1}",
        &["bad-access in {1}"],
        FAULT_PARTS
    ),
    simple!(
        "Unhandled fault:",
        "Unhandled fault:",
        "Unhandled fault in {1}",
        &["bad-access in {1}"],
        FAULT_PARTS
    ),
    simple!(
        "Alignment trap:",
        "Alignment trap:",
        "Alignment trap in {1}",
        &[],
        FAULT_PARTS
    ),
    Group {
        header: "trusty: panic",
        formats: &[
            Format {
                title: "trusty: panic.* ASSERT FAILED",
                report: Some(r"trusty: panic \(.*?\):(?: DEBUG)? ASSERT FAILED at \(.*?\): (.+)"),
                fmt: "trusty: ASSERT FAILED: {1}",
                no_stack_trace: true,
                ..F
            },
            Format {
                title: "trusty: panic.* ASSERT FAILED.*: *(.*)",
                fmt: "trusty: ASSERT FAILED: {1}",
                corrupted: true,
                ..F
            },
            Format {
                title: "trusty: panic",
                report: Some(r"trusty: panic \(.*?\): (.+)"),
                fmt: "trusty: panic: {1}",
                no_stack_trace: true,
                ..F
            },
        ],
        suppress: &[],
    },
    Group {
        header: "fatal error:",
        formats: &[Format {
            title: "fatal error:",
            fmt: "go runtime error",
            no_stack_trace: true,
            ..F
        }],
        suppress: &["ALSA", "fatal error: cannot create timer"],
    },
    plain!("SYZFAIL:", "SYZFAIL:(.*)", "SYZFAIL:{1}"),
    Group {
        header: "SYZFATAL:",
        formats: &[Format {
            title: "SYZFATAL:(.*)()",
            alt: &["SYZFATAL{2}"],
            fmt: "SYZFATAL:{1}",
            no_stack_trace: true,
            ..F
        }],
        suppress: &[],
    },
    Group {
        header: "panic:",
        formats: &[
            Format {
                title: "panic: Sentry detected .* stuck task",
                fmt: "panic: Sentry detected stuck tasks",
                no_stack_trace: true,
                ..F
            },
            Format {
                title: "panic:(.*)",
                fmt: "panic:{1}",
                no_stack_trace: true,
                ..F
            },
        ],
        suppress: &[
            "_panic:",
            "xlog_status:",
            r"ddb\.onpanic:",
            "evtlog_status:",
        ],
    },
    // kernel/watchdog_perf.c (4.x+: "NMI watchdog: Watchdog detected hard LOCKUP on cpu 1", then
    // the NMI's register dump). Last, so that "Kernel panic - not syncing: Watchdog detected
    // hard LOCKUP" (hardlockup_panic on old kernels) stays a panic report.
    Group {
        header: "Watchdog detected hard LOCKUP",
        formats: &[Format {
            title: "Watchdog detected hard LOCKUP on cpu",
            fmt: "watchdog: hard lockup in {1}",
            alt: &["stall in {1}"],
            stack: stack_x(FAULT_PARTS, &[], Extractor::Stall),
            ..F
        }],
        suppress: &[],
    },
];

/// `Kernel panic - not syncing: <cause>` (kernel/panic.c). Causes with their own reports
/// (Fatal exception, panic_on_warn, hung_task) are marked corrupted: the real report precedes.
static PANIC_FORMATS: &[Format] = &[
    Format {
        title: "Kernel panic - not syncing: stack-protector:",
        report: Some(
            "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: {{FUNC}}",
        ),
        fmt: "kernel panic: stack is corrupted in {1}",
        no_stack_trace: true,
        ..F
    },
    Format {
        title: "Kernel panic - not syncing: stack-protector:",
        report: Some(
            "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [a-f0-9]+",
        ),
        fmt: "kernel panic: stack is corrupted in {1}",
        stack: stack(TRACE_PARTS, &["stack_chk"]),
        ..F
    },
    Format {
        title: "Kernel panic - not syncing: corrupted stack end",
        report: Some("Kernel panic - not syncing: corrupted stack end detected inside scheduler"),
        fmt: "kernel panic: corrupted stack end in {1}",
        alt: &["stack-overflow in {1}"],
        stack: stack_x(
            TRACE_PARTS,
            &["schedule", "retint_kernel"],
            Extractor::Stall,
        ),
        ..F
    },
    Format {
        title: "Kernel panic - not syncing: kernel stack overflow",
        fmt: "kernel stack overflow in {1}",
        alt: &["stack-overflow in {1}"],
        stack: stack_x(TRACE_PARTS, &["bad_stack"], Extractor::Stall),
        ..F
    },
    Format {
        title: "Kernel panic - not syncing: Attempted to kill init!",
        fmt: "kernel panic: Attempted to kill init!",
        ..F
    },
    Format {
        title: "Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -[0-9]+",
        fmt: "kernel panic: Couldn't open N_TTY ldisc",
        ..F
    },
    Format {
        title: "Kernel panic - not syncing: Fatal exception",
        fmt: "kernel panic: Fatal exception",
        corrupted: true,
        ..F
    },
    Format {
        title: "Kernel panic - not syncing: panic_on_warn set",
        fmt: "kernel panic: panic_on_warn set",
        corrupted: true,
        ..F
    },
    Format {
        title: "Kernel panic - not syncing: hung_task: blocked tasks",
        fmt: "kernel panic: hung_task: blocked tasks",
        corrupted: true,
        ..F
    },
    Format {
        title: "Kernel panic - not syncing: (.*)",
        fmt: "kernel panic: {1}",
        ..F
    },
];

//! Reports that start with `WARNING:` (WARN_ON, lockdep, RCU misuse) and `INFO:` (lockdep on old
//! kernels, RCU stalls, hung tasks).

use super::rules::{stack, warning_stack, Extractor, Format, Part, StackSpec, CALL_TRACE, F, RIP};
use Part::{Re, Trace};

const TRACE_PARTS: &[Part] = &[CALL_TRACE, Trace];

pub static WARNING_FORMATS: &[Format] = &[
    Format {
        title: r"WARNING: .*lib/debugobjects\.c.* (?:debug_print|debug_check|at)",
        fmt: "WARNING: ODEBUG bug in {1}",
        stack: warning_stack(&[
            "debug_",
            "rcu",
            "hrtimer_",
            "timer_",
            "work_",
            "percpu_",
            "vunmap",
            "vfree",
            "__free_",
            "debug_check",
            "kobject_",
        ]),
        ..F
    },
    Format {
        title: r"WARNING: .*mm/usercopy\.c.* (?:usercopy_warn|at)",
        fmt: "WARNING: bad usercopy in {1}",
        stack: warning_stack(&["usercopy", "__check"]),
        ..F
    },
    Format {
        title: r"WARNING: .*lib/kobject\.c.* (?:kobject_|at)",
        fmt: "WARNING: kobject bug in {1}",
        stack: warning_stack(&["kobject_"]),
        ..F
    },
    Format {
        title: r"WARNING: .*fs/proc/generic\.c.* (?:proc_register|at)",
        fmt: "WARNING: proc registration bug in {1}",
        stack: warning_stack(&["proc_"]),
        ..F
    },
    Format {
        title: r"WARNING: .*lib/refcount\.c.* (?:refcount_|at)",
        fmt: "WARNING: refcount bug in {1}",
        stack: warning_stack(&["refcount", "kobject_"]),
        ..F
    },
    Format {
        title: r"WARNING: .*kernel/locking/lockdep\.c.*lock_",
        fmt: "WARNING: locking bug in {1}",
        stack: warning_stack(&["lock_sock", "release_sock"]),
        ..F
    },
    Format {
        title: "WARNING: .*still has locks held!",
        report: Some(r"WARNING: .*still has locks held!(?:.*\n)+?.*at: {{FUNC}}"),
        fmt: "WARNING: still has locks held in {1}",
        ..F
    },
    Format {
        title: "WARNING: Nested lock was not taken",
        fmt: "WARNING: nested lock was not taken in {1}",
        stack: warning_stack(&[]),
        ..F
    },
    Format {
        title: "WARNING: lock held when returning to user space",
        report: Some(
            r"WARNING: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
        ),
        fmt: "WARNING: lock held when returning to user space in {1}",
        no_stack_trace: true,
        ..F
    },
    Format {
        title: r"WARNING: .*mm/.*\.c.* k?.?malloc",
        fmt: "WARNING: kmalloc bug in {1}",
        stack: warning_stack(&["kmalloc", "krealloc", "slab", "kmem"]),
        ..F
    },
    Format {
        title: "WARNING: .*mm/vmalloc.c.*__vmalloc_node",
        fmt: "WARNING: zero-size vmalloc in {1}",
        stack: warning_stack(&[]),
        ..F
    },
    Format {
        title: "WARNING: .* usb_submit_urb",
        fmt: "WARNING in {1}/usb_submit_urb",
        stack: warning_stack(&[
            "usb_submit_urb",
            "usb_start_wait_urb",
            "usb_bulk_msg",
            "usb_interrupt_msg",
            "usb_control_msg",
        ]),
        ..F
    },
    Format {
        title: r"WARNING: {{SRC}} at 0x\d+, CPU#\d+",
        fmt: "WARNING in {2}",
        stack: warning_stack(&[]),
        ..F
    },
    Format {
        title: "WARNING: .* at {{SRC}} {{FUNC}}",
        fmt: "WARNING in {3}",
        stack: warning_stack(&[]),
        ..F
    },
    Format {
        title: "WARNING: {{SRC}} at {{FUNC}}",
        fmt: "WARNING in {3}",
        stack: warning_stack(&[]),
        ..F
    },
    Format {
        title: r"WARNING: \[.*\] {{SRC}} at {{FUNC}}.*",
        fmt: "WARNING in {3}",
        stack: warning_stack(&[]),
        ..F
    },
    Format {
        title: "WARNING: possible circular locking dependency detected",
        report: Some(
            r"WARNING: possible circular locking dependency detected(?:.*\n)+?.*is trying to acquire lock",
        ),
        fmt: "possible deadlock in {1}",
        stack: stack(
            &[
                Re("at: (?:{{PC}} +)?{{FUNC}}"),
                Re("at: (?:{{PC}} +)?{{FUNC}}"),
                Trace,
            ],
            &[
                "process_one_work",
                "flush_workqueue",
                "drain_workqueue",
                "destroy_workqueue",
            ],
        ),
        ..F
    },
    Format {
        title: "WARNING: possible irq lock inversion dependency detected",
        report: Some(
            r"WARNING: possible irq lock inversion dependency detected(?:.*\n)+?.*just changed the state of lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
        ),
        fmt: "possible deadlock in {1}",
        ..F
    },
    Format {
        title: "WARNING: .*-safe -> .*-unsafe lock order detected",
        fmt: "possible deadlock in {1}",
        stack: stack(&[Re("which became (?:.*) at:"), Trace], &[]),
        ..F
    },
    Format {
        title: "WARNING: possible recursive locking detected",
        report: Some(
            r"WARNING: possible recursive locking detected(?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
        ),
        fmt: "possible deadlock in {1}",
        ..F
    },
    Format {
        title: "WARNING: inconsistent lock state",
        report: Some(
            r"WARNING: inconsistent lock state(?:.*\n)+?.*takes(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
        ),
        fmt: "inconsistent lock state in {2}",
        stack: stack(TRACE_PARTS, &[]),
        ..F
    },
    Format {
        title: "WARNING: suspicious RCU usage",
        report: Some(r"WARNING: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}"),
        fmt: "WARNING: suspicious RCU usage in {2}",
        stack: stack(TRACE_PARTS, &["rcu", "kmem", "slab"]),
        ..F
    },
    Format {
        title: "WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad '([^']+)' value",
        fmt: "WARNING: kernel stack regs has bad '{1}' value",
        no_stack_trace: true,
        ..F
    },
    Format {
        title: "WARNING: kernel stack frame pointer at [0-9a-f]+ in [^ ]* has bad value",
        fmt: "WARNING: kernel stack frame pointer has bad value",
        no_stack_trace: true,
        ..F
    },
    Format {
        title: "WARNING: bad unlock balance detected!",
        fmt: "WARNING: bad unlock balance in {1}",
        stack: stack(&[Re("{{PC}} +{{FUNC}}"), CALL_TRACE, Trace], &[]),
        ..F
    },
    Format {
        title: "WARNING: held lock freed!",
        report: Some(r"WARNING: held lock freed!(?:.*\n)+?.*at:(?: {{PC}})? +{{FUNC}}"),
        fmt: "WARNING: held lock freed in {1}",
        ..F
    },
    Format {
        title: "WARNING: kernel stack regs .* has bad 'bp' value",
        fmt: "WARNING: kernel stack regs has bad value",
        no_stack_trace: true,
        ..F
    },
    Format {
        title: "WARNING: kernel stack frame pointer .* has bad value",
        fmt: "WARNING: kernel stack regs has bad value",
        no_stack_trace: true,
        ..F
    },
    Format {
        title: r"WARNING:[[:space:]]*(?:\n|$)",
        fmt: "WARNING: corrupted",
        corrupted: true,
        ..F
    },
];

/// Lines with `WARNING:` printed by user space or informational kernel messages.
pub static WARNING_SUPPRESS: &[&str] = &[
    "WARNING: /etc/ssh/moduli does not exist, using fixed modulus",
    "WARNING: workqueue cpumask: online intersect > possible intersect",
    "WARNING: [Tt]he mand mount option",
    r"WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1",
    "WARNING: Unprivileged eBPF is enabled with eIBRS",
    r"WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size (\((?:\d+)x(?:\d+) vs\. (?:\d+)x(?:\d+)\))",
    "WARNING: See https.* for mitigation options.",
    "WARNING: kernel not compiled with CPU_SRSO",
    r"EXT4-[Ff][Ss](?: \(.*\))?:",
    "(?i)warning: .* uses (deprecated v2 capabilities|wireless extensions)",
    r"XFS \(\w+\): WARNING",
];

/// A self-detected stall whose report shows the stalled CPU's registers and its task's trace and
/// no interrupt frame (x86 6.x with panic_on_rcu_stall: the panic's own trace, which holds
/// asm_sysvec_apic_timer_interrupt, is cut from the report): last, from its RIP line, as
/// syzkaller's earlier rule (linuxRipFrame, then the stack trace) did. Only for "self-detected":
/// another CPU's report lists other tasks' traces and user-mode RIPs first.
const RCU_SELF_STALL: StackSpec = StackSpec {
    parts3: &[RIP, CALL_TRACE, Trace],
    ..RCU_STALL
};

/// Another CPU's stall report with the stalled CPU's NMI backtrace ("Sending NMI from CPU 0 to
/// CPUs 1:", "NMI backtrace for cpu 1", its registers and trace; 7.x with panic_on_rcu_stall
/// and no interrupt frame in the report): last, from the RIP line after the NMI backtrace
/// header (the tasks' dumps a report may list first are passed by).
const RCU_OTHER_STALL: StackSpec = StackSpec {
    parts3: &[Re("NMI backtrace for cpu"), RIP, CALL_TRACE, Trace],
    ..RCU_STALL
};

const RCU_STALL: StackSpec = StackSpec {
    parts: &[Re("apic_timer_interrupt"), RIP, Trace],
    parts2: &[
        Re("(?:apic_timer_interrupt|Exception stack|el1h_64_irq)"),
        Trace,
    ],
    parts3: &[],
    skip: &["apic_timer_interrupt", "rcu"],
    extractor: Extractor::Stall,
};

pub static INFO_FORMATS: &[Format] = &[
    Format {
        title: "INFO: possible circular locking dependency detected",
        report: Some(
            r"INFO: possible circular locking dependency detected \](?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}",
        ),
        fmt: "possible deadlock in {1}",
        ..F
    },
    Format {
        title: "INFO: possible irq lock inversion dependency detected",
        report: Some(
            r"INFO: possible irq lock inversion dependency detected \](?:.*\n)+?.*just changed the state of lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}",
        ),
        fmt: "possible deadlock in {1}",
        ..F
    },
    Format {
        title: "INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
        report: Some(
            r"INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected \](?:.*\n)+?.*is trying to acquire(?:.*\n)+?.*at: {{PC}} +{{FUNC}}",
        ),
        fmt: "possible deadlock in {1}",
        ..F
    },
    Format {
        title: "INFO: possible recursive locking detected",
        report: Some(
            r"INFO: possible recursive locking detected \](?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}",
        ),
        fmt: "possible deadlock in {1}",
        ..F
    },
    Format {
        title: "INFO: inconsistent lock state",
        report: Some(
            r"INFO: inconsistent lock state \](?:.*\n)+?.*takes(?:.*\n)+?.*at: {{PC}} +{{FUNC}}",
        ),
        fmt: "inconsistent lock state in {1}",
        ..F
    },
    Format {
        title: "INFO: rcu_(?:preempt|sched|bh|tasks) self-detected(?: expedited)? stall",
        fmt: "INFO: rcu detected stall in {1}",
        alt: &["stall in {1}"],
        stack: Some(RCU_SELF_STALL),
        ..F
    },
    Format {
        title: "INFO: rcu_(?:preempt|sched|bh|tasks) (?:self-)?detected(?: expedited)? stall",
        fmt: "INFO: rcu detected stall in {1}",
        alt: &["stall in {1}"],
        stack: Some(RCU_OTHER_STALL),
        ..F
    },
    Format {
        title: "INFO: trying to register non-static key",
        fmt: "INFO: trying to register non-static key in {1}",
        stack: stack(TRACE_PARTS, &["stack", "lock", "IRQ"]),
        ..F
    },
    Format {
        title: "INFO: suspicious RCU usage",
        report: Some(r"INFO: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}"),
        fmt: "INFO: suspicious RCU usage in {2}",
        stack: stack(TRACE_PARTS, &["rcu", "kmem", "slab"]),
        ..F
    },
    Format {
        title: "INFO: task {{TASK}} blocked (?:in I/O wait )?for more than [0-9]+ seconds",
        fmt: "INFO: task hung in {1}",
        alt: &["hang in {1}"],
        stack: Some(StackSpec {
            parts: TRACE_PARTS,
            parts2: &[],
            parts3: &[],
            skip: &[],
            extractor: Extractor::Hang,
        }),
        ..F
    },
    Format {
        title: "INFO: task {{TASK}} can't die for more than .* seconds",
        fmt: "INFO: task can't die in {1}",
        alt: &["hang in {1}"],
        stack: stack(TRACE_PARTS, &["schedule"]),
        ..F
    },
    Format {
        title: "INFO: (Freed|Allocated) in (.*)",
        fmt: "INFO: {1} in {2}",
        corrupted: true,
        ..F
    },
    Format {
        title: r"INFO:[[:space:]]*(?:\n|$)",
        fmt: "INFO: corrupted",
        corrupted: true,
        ..F
    },
];

pub static INFO_SUPPRESS: &[&str] = &[
    "INFO: lockdep is turned off",
    "INFO: Stall ended before state dump start",
    "INFO: NMI handler",
    "INFO: recovery required on readonly filesystem",
    "(handler|interrupt).*took too long",
    "INFO: sys_.* is not present in /proc/kallsyms",
    "INFO: no syscalls can create resource",
    "rmt_storage:INFO:",
    "_INFO:",
];

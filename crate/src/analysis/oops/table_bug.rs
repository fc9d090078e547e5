//! Reports that start with `BUG:`: sanitizers (KASAN, KMSAN, KCSAN, KFENCE), page faults and NULL
//! dereferences, lock bugs, soft lockups, sleeping in atomic context, memory leaks...

use super::rules::{stack, stack_x, Extractor, Format, Part, CALL_TRACE, F, RIP};
use Part::{Re, Trace};

const KASAN_SKIP: &[&str] = &["kernel_fault", "tag_check", "mem_abort", "^el1_", "^el1h_"];
const FAULT_PARTS: &[Part] = &[RIP, CALL_TRACE, Trace];
const TRACE_PARTS: &[Part] = &[CALL_TRACE, Trace];
const KMSAN_PARTS: &[Part] = &[
    Trace,
    Re("(Local variable .* created at:|Uninit was created at:)"),
    Trace,
];
const KFENCE_PARTS: &[Part] = &[Re(r"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}"), Trace];

pub static BUG_FORMATS: &[Format] = &[
    Format {
        title: "BUG: KASAN:",
        report: Some(r"BUG: KASAN: ([a-z\-]+) in {{FUNC}}(?:.*\n)+?.*(Read|Write) (?:of size|at addr) (?:[0-9a-f]+)"),
        fmt: "KASAN: {1} {3} in {4}",
        alt: &["bad-access in {4}"],
        stack: stack(&[Re(r"BUG: KASAN: (?:[a-z\-]+) in {{FUNC}}"), CALL_TRACE, Trace], KASAN_SKIP),
        ..F
    },
    Format {
        title: "BUG: KASAN:",
        report: Some(r"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}"),
        fmt: "KASAN: invalid-free in {2}",
        alt: &["invalid-free in {2}"],
        stack: stack(
            &[Re(r"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}"), CALL_TRACE, Trace],
            &["slab_", "kfree", "vunmap", "vfree"],
        ),
        ..F
    },
    Format {
        title: r"BUG: KASAN: ([a-z\-]+) on address(?:.*\n)+?.*(Read|Write) of size ([0-9]+)",
        fmt: "KASAN: {1} {2}",
        ..F
    },
    Format { title: "BUG: KASAN: (.*)", fmt: "KASAN: {1}", corrupted: true, ..F },
    Format {
        title: "BUG: KMSAN: kernel-usb-infoleak",
        report: Some("BUG: KMSAN: kernel-usb-infoleak in {{FUNC}}"),
        fmt: "KMSAN: kernel-usb-infoleak in {2}",
        alt: &["KMSAN origin in {3}"],
        stack: stack(
            KMSAN_PARTS,
            &["alloc_skb", "usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg"],
        ),
        no_stack_trace: true,
        ..F
    },
    Format {
        title: "BUG: KMSAN:",
        report: Some(r"BUG: KMSAN: ([a-z\-]+) in {{FUNC}}"),
        fmt: "KMSAN: {1} in {3}",
        alt: &["bad-access in {3}"],
        stack: stack(KMSAN_PARTS, &["alloc_skb", "netlink_ack", "netlink_rcv_skb", "_encrypt$", "^(?:crypto|cipher|drbg|rng)_"]),
        no_stack_trace: true,
        ..F
    },
    Format { title: "BUG: KCSAN: data-race", report: Some("BUG: KCSAN: (.*)"), fmt: "KCSAN: {1}", no_stack_trace: true, ..F },
    Format { title: "BUG: KCSAN:", report: Some("BUG: KCSAN: (.*)"), fmt: "KCSAN: {1}", no_stack_trace: true, ..F },
    Format {
        title: "BUG: KFENCE: (use-after-free|out-of-bounds) (read|write) in {{FUNC}}",
        fmt: "KFENCE: {1} {2} in {4}",
        alt: &["bad-access in {4}"],
        stack: stack(KFENCE_PARTS, &[]),
        ..F
    },
    Format {
        title: "BUG: KFENCE: invalid free in {{FUNC}}",
        fmt: "KFENCE: invalid free in {2}",
        alt: &["invalid-free in {2}"],
        no_stack_trace: true,
        stack: stack(KFENCE_PARTS, &[]),
        ..F
    },
    Format {
        title: "BUG: KFENCE: invalid (read|write) in {{FUNC}}",
        fmt: "KFENCE: invalid {1} in {3}",
        alt: &["bad-access in {3}"],
        stack: stack(KFENCE_PARTS, &[]),
        ..F
    },
    Format {
        title: "BUG: KFENCE: memory corruption in {{FUNC}}",
        fmt: "KFENCE: memory corruption in {2}",
        no_stack_trace: true,
        stack: stack(KFENCE_PARTS, &[]),
        ..F
    },
    Format {
        title: "BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|Unable to handle kernel data access)",
        fmt: "BUG: unable to handle kernel paging request in {1}",
        alt: &["bad-access in {1}"],
        stack: stack(FAULT_PARTS, &[]),
        ..F
    },
    Format {
        title: "BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference|Kernel NULL pointer dereference)",
        fmt: "BUG: unable to handle kernel NULL pointer dereference in {1}",
        alt: &["bad-access in {1}"],
        stack: stack(FAULT_PARTS, &[]),
        ..F
    },
    Format { title: "BUG: (?:unable to handle kernel|Unable to handle kernel)", fmt: "BUG: unable to handle kernel", corrupted: true, ..F },
    Format {
        title: "BUG: (spinlock|rwlock) (lockup suspected|already unlocked|recursion|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)",
        fmt: "BUG: {1} {2} in {3}",
        stack: stack(TRACE_PARTS, &["spin_", "_lock", "_unlock"]),
        ..F
    },
    Format {
        title: "BUG: soft lockup",
        fmt: "BUG: soft lockup in {1}",
        alt: &["stall in {1}"],
        stack: stack_x(FAULT_PARTS, &[], Extractor::Stall),
        ..F
    },
    Format {
        title: "BUG: .*still has locks held!",
        report: Some(r"BUG: .*still has locks held!(?:.*\n)+?.*{{PC}} +{{FUNC}}"),
        fmt: "BUG: still has locks held in {1}",
        ..F
    },
    Format {
        title: "BUG: scheduling while atomic",
        fmt: "BUG: scheduling while atomic in {1}",
        stack: stack(TRACE_PARTS, &["schedule"]),
        ..F
    },
    Format {
        title: "BUG: lock held when returning to user space",
        report: Some(r"BUG: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"),
        fmt: "BUG: lock held when returning to user space in {1}",
        no_stack_trace: true,
        ..F
    },
    Format {
        title: "BUG: bad unlock balance detected!",
        fmt: "BUG: bad unlock balance in {1}",
        stack: stack(&[Re("{{PC}} +{{FUNC}}"), CALL_TRACE, Trace], &[]),
        ..F
    },
    Format {
        title: "BUG: held lock freed!",
        report: Some(r"BUG: held lock freed!(?:.*\n)+?.*{{PC}} +{{FUNC}}"),
        fmt: "BUG: held lock freed in {1}",
        ..F
    },
    Format { title: "BUG: Bad rss-counter state", fmt: "BUG: Bad rss-counter state", no_stack_trace: true, ..F },
    Format { title: "BUG: non-zero nr_ptes on freeing mm", fmt: "BUG: non-zero nr_ptes on freeing mm", no_stack_trace: true, ..F },
    Format { title: "BUG: non-zero nr_pmds on freeing mm", fmt: "BUG: non-zero nr_pmds on freeing mm", no_stack_trace: true, ..F },
    Format {
        title: "BUG: Dentry .* still in use",
        report: Some(r"BUG: Dentry .* still in use \([0-9]+\) \[(unmount) of ([^\]]+)\]"),
        fmt: "BUG: Dentry still in use in {1}",
        alt: &["BUG: Dentry still in use [{1} of {2}]"],
        ..F
    },
    Format {
        title: "BUG: Bad page (state|cache)",
        fmt: "BUG: Bad page {1} in {2}",
        stack: stack(
            &[Re("page last allocated"), Trace],
            &["(free|put|get|update|release)_page", "free_unref", "^_*folio", "truncate_inode_pages", "page_frag_free", "alloc", "vmap", "page_owner"],
        ),
        ..F
    },
    Format { title: "BUG: Bad page map", fmt: "BUG: Bad page map", ..F },
    Format { title: "BUG: workqueue lockup", fmt: "BUG: workqueue lockup", no_stack_trace: true, ..F },
    Format {
        title: "BUG: sleeping function called from invalid context at (.*)",
        fmt: "BUG: sleeping function called from invalid context in {2}",
        stack: stack(TRACE_PARTS, &[]),
        ..F
    },
    Format {
        title: r"BUG: using ([a-z_]+)\(\) in preemptible",
        fmt: "BUG: using {1}() in preemptible code in {2}",
        stack: stack(TRACE_PARTS, &["dump_stack", "preemption", "preempt", "debug_", "processor_id", "this_cpu"]),
        ..F
    },
    Format {
        title: "BUG: workqueue leaked lock or atomic",
        report: Some(r"BUG: workqueue leaked lock or atomic(?:.*\n)+?.*last function: ([a-zA-Z0-9_]+)\n"),
        fmt: "BUG: workqueue leaked lock or atomic in {1}",
        no_stack_trace: true,
        ..F
    },
    Format {
        title: "BUG: memory leak",
        fmt: "memory leak in {1}",
        stack: stack(
            &[Re(r"backtrace(?: \(crc [[:xdigit:]]*\))?:"), Trace],
            &["kmemleak", "mmap", "kmem", "slab", "alloc", "create_object", "idr_get", "list_lru_init", "kasprintf", "kvasprintf", "pcpu_create", "strdup", "strndup", "memdup"],
        ),
        ..F
    },
    Format {
        title: "BUG: .*stack guard page was hit at",
        fmt: "BUG: stack guard page was hit in {1}",
        alt: &["stack-overflow in {1}"],
        stack: stack_x(FAULT_PARTS, &[], Extractor::Stall),
        ..F
    },
    Format {
        title: "BUG: Invalid wait context",
        fmt: "WARNING: locking bug in {1}",
        stack: stack(TRACE_PARTS, &["lock_sock", "release_sock"]),
        ..F
    },
    Format { title: r"BUG:[[:space:]]*(?:\n|$)", fmt: "BUG: corrupted", corrupted: true, ..F },
];

pub static BUG_SUPPRESS: &[&str] = &[
    "ODEBUG:",
    "Boot_DEBUG:",
    "xlog_status:",
    "DEBUG:",
    "BUG: no syscalls can create resource",
];

//! Guilty-frame rules: which stack frames are infrastructure (sanitizers, printk, panic, locking,
//! allocators, string and list helpers, ...) and are skipped, and how frames are collected from
//! the report's stack traces.

use super::rules::{re, Extractor};
use regex::Regex;
use std::sync::OnceLock;

/// A format's stack parts, compiled (see [`super::compiled`]).
pub struct CStack {
    pub parts: Vec<Option<Regex>>,
    pub parts2: Vec<Option<Regex>>,
    /// Tried when `parts2` finds nothing either.
    pub parts3: Vec<Option<Regex>>,
    /// The format's own skip patterns (the common infrastructure list is [`common_skip`]).
    pub skip: Option<Regex>,
    pub extractor: Extractor,
}

impl CStack {
    /// Is this frame infrastructure (never guilty)?
    pub fn skips(&self, frame: &str) -> bool {
        common_skip().is_match(frame) || self.skip.as_ref().is_some_and(|r| r.is_match(frame))
    }
}

/// The common infrastructure frames, one pattern.
pub fn common_skip() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| re(&COMMON_SKIP.join("|")))
}

/// Frames matching any of these are never guilty.
pub const COMMON_SKIP: &[&str] = &[
    "__sanitizer",
    "__asan",
    "kasan",
    "hwasan",
    "__msan",
    "kmsan",
    "kcsan_setup_watchpoint",
    "check_memory_region",
    "check_heap_object",
    "check_object",
    "read_word_at_a_time",
    "(read|write)_once_.*nocheck",
    "print_address_description",
    "panic",
    "invalid_op",
    "report_bug",
    "fixup_bug",
    "print_report",
    "print_usage_bug",
    "do_error",
    "_trap$|do_trap",
    "show_stack",
    "dump_stack",
    "walk_stack",
    "dump_backtrace",
    "warn_slowpath",
    "warn_alloc",
    "warn_bogus",
    "__warn",
    "alloc_page",
    "k?v?(?:m|z|c)alloc",
    "krealloc",
    "kmem_cache",
    "allocate_slab",
    "__alloc_frozen_pages_noprof",
    "folio_(?:alloc|unlock)",
    "filemap_alloc_folio",
    "__filemap_get_folio",
    "find_or_create_page",
    "do_read_cache_folio",
    "read_cache_page",
    "pagecache_get_page",
    "grab_cache_page_write_begin",
    "slab_",
    "debug_object",
    "timer_is_static_object",
    "work_is_static_object",
    "__might_fault",
    "print_unlock",
    "imbalance_bug",
    "lockdep",
    "bh_enable",
    "bh_disable",
    "perf_trace",
    "lock_acquire",
    "lock_release",
    "lock_class",
    "mark_lock",
    "(reacquire|mark)_held_locks",
    "raw_spin_rq",
    "spin_lock",
    "spin_trylock",
    "spin_unlock",
    "read_lock",
    "read_trylock",
    "write_lock",
    "write_trylock",
    "read_unlock",
    "write_unlock",
    "^down$",
    "down_read",
    "down_write",
    "down_read_trylock",
    "down_write_trylock",
    "down_trylock",
    "up_read",
    "up_write",
    "^mutex_",
    "^__mutex_",
    "^rt_mutex_",
    "owner_on_cpu",
    "osq_lock",
    "osq_unlock",
    "atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)",
    "(set|clear|change|test)_bit",
    "__wake_up",
    "^refcount_",
    "^kref_",
    "ref_tracker",
    "seqprop_assert",
    "memcpy",
    "memcmp",
    "memset",
    "memchr",
    "memmove",
    "memdup",
    "strcmp",
    "strncmp",
    "strcpy",
    "strlcpy",
    "strncpy",
    "strscpy",
    "strlen",
    "strstr",
    "strnstr",
    "strnlen",
    "strchr",
    "strdup",
    "strndup",
    "copy_to_user",
    "copy_from_user",
    "copy_to_iter",
    "copy_from_iter",
    "copy_page_to_iter",
    "copy_page_from_iter",
    "copy_folio_to_iter",
    "^copyin$",
    "^copyout$",
    "put_user",
    "get_user",
    "might_fault",
    "might_sleep",
    "list_add",
    "list_del",
    "list_replace",
    "list_move",
    "list_splice",
    "^rb_",
    "^__rb_",
    "_indirect_thunk_",
    "string",
    "pointer",
    "snprintf",
    "scnprintf",
    "kasprintf",
    "kvasprintf",
    "printk",
    "va_format",
    "dev_info",
    "dev_notice",
    "dev_warn",
    "dev_err",
    "dev_alert",
    "dev_crit",
    "dev_emerg",
    "program_check_exception",
    "program_check_common",
    "del_timer",
    "flush_work",
    "__cancel_work_timer",
    "cancel_work_sync",
    "try_to_grab_pending",
    "flush_workqueue",
    "drain_workqueue",
    "destroy_workqueue",
    "queue_work",
    "finish_wait",
    "kthread_stop",
    "kobject_",
    "add_uevent_var",
    "get_device_parent",
    "device_add",
    "device_del",
    "device_unregister",
    "device_destroy",
    "device_release",
    "devres_release_all",
    "hwrng_unregister",
    "i2c_del_adapter",
    "__unregister_client",
    "device_for_each_child",
    "rollback_registered",
    "unregister_netdev",
    "sysfs_remove",
    "device_remove_file",
    "tty_unregister_device",
    "dummy_urb_enqueue",
    "usb_kill_urb",
    "usb_kill_anchored_urbs",
    "usb_control_msg",
    "usb_hcd_submit_urb",
    "usb_submit_urb",
    "^complete$",
    "wait_for_completion",
    "^kv?free$",
    "kfree_skb",
    "readb$",
    "readw$",
    "readl$",
    "readq$",
    "writeb$",
    "writew$",
    "writel$",
    "writeq$",
    "logic_in",
    "logic_out",
    r"^crc\d+",
    "crc_itu_t",
    "__might_resched",
    "assertfail",
    "^iput$",
    "^iput_final$",
    "^ihold$",
    "hex_dump_to_buffer",
    "print_hex_dump",
    "^klist_",
    "(trace|lockdep)_(hard|soft)irq",
    "^(un)?lock_page",
    "stack_trace_consume_entry",
    "arch_stack_walk",
    "stack_trace_save",
    "insert_work",
    "__queue_delayed_work",
    "queue_delayed_work_on",
    "ida_free",
    "do_(kernel|translation)_fault",
    "do_mem_abort",
    "el1_abort",
    "el1h_64_sync(?:_handler)?",
    "print_tainted",
    "xas_(?:start|load|find)",
    "find_lock_entries",
    "truncate_inode_pages_range",
    "__phys_addr",
    "__fortify_report",
    "cleanup_srcu_struct",
    "rhashtable_lookup",
    "extract_(user|iter)_to_sg",
    "drop_nlink",
    "^get_taint$",
    "^put_device$",
    "lock_timer_base",
    "__timer_delete_sync",
    "sk_stop_timer_sync",
    "__mod_timer",
    "fast_dput",
    "dput",
    "mark_buffer_dirty",
];

/// System-call wrapper prefixes: `__x64_sys_read` is reported as `read`.
pub const STRIP_PREFIXES: &[&str] = &[
    "SYSC_",
    "SyS_",
    "sys_",
    "__x64_",
    "__ia32_",
    "__arm64_",
    "____sys_",
    "___sys_",
    "__sys_",
    "__se_",
    "__se_sys_",
    "__do_sys_",
    "compat_SYSC_",
    "compat_SyS_",
    "ksys_",
];

/// Entry points that end the interesting part of a stalled CPU's stack.
const STALL_ANCHORS: &[&str] = &[
    "process_one_work",
    "do_syscall_",
    "do_fast_syscall_",
    "sysenter_dispatch",
    "tracesys_phase2",
    "el0_svc_handler",
    "invoke_syscall",
    "ret_fast_syscall",
    "netif_receive_skb",
    "do_softirq",
    "call_timer_fn",
    "_run_timers",
    "run_timer_softirq",
    "hrtimer_run",
    "run_ksoftirqd",
    "smpboot_thread_fn",
    "^kthread$",
    "start_secondary",
    "cpu_startup_entry",
    "ret_from_fork",
    "vfs_write",
    "vfs_read",
    "vfs_iter_read",
    "vfs_iter_write",
    "do_iter_read",
    "do_iter_write",
    "call_read_iter",
    "call_write_iter",
    "new_sync_read",
    "new_sync_write",
    "vfs_ioctl",
    "ksys_ioctl",
    "compat_ioctl",
    "compat_sys_ioctl",
    "blkdev_driver_ioctl",
    "blkdev_ioctl",
    "^call_read_iter",
    "^call_write_iter",
    "do_iter_readv_writev",
    "^call_mmap",
    "mmap_region",
    "do_mmap",
    "do_dentry_open",
    "vfs_open",
    "^sock_sendmsg",
    "^sock_recvmsg",
    "^sock_release",
    "^__sock_release",
    "^setsockopt$",
    "kernel_setsockopt",
    "sock_common_setsockopt",
    "^listen$",
    "kernel_listen",
    "sk_common_release",
    "^sock_mmap",
    "^accept$",
    "kernel_accept",
    "^sock_do_ioctl",
    "^sock_ioctl",
    "^compat_sock_ioctl",
    "^nfnetlink_rcv_msg",
    "^rtnetlink_rcv_msg",
    "^netlink_dump",
    "^(sys_)?(socketpair|connect|ioctl)",
    "__do_fault",
    "do_page_fault",
    "^page_fault$",
    "__fput",
    "task_work_run",
    "exit_to_usermode",
    "smp_call_function",
    "tasklet_action",
    "tasklet_hi_action",
];

pub struct StackParams {
    /// Lines that start a stack trace.
    pub starts: Vec<Regex>,
    /// A frame line; capture 1 is the function.
    pub frames: Vec<Regex>,
    /// Lines that make the stack unusable (fault injection).
    pub corrupted_lines: Vec<Regex>,
    /// Any of the stall anchors (one alternation).
    pub stall_anchors: Regex,
}

pub fn params() -> &'static StackParams {
    static P: OnceLock<StackParams> = OnceLock::new();
    P.get_or_init(|| StackParams {
        starts: [
            r"Call (?:T|t)race",
            "Allocated:",
            "Allocated by task [0-9]+:",
            "Freed:",
            "Freed by task [0-9]+:",
            r"[^k] backtrace(?: \(crc [[:xdigit:]]*\))?:",
            "Backtrace:",
            "Uninit was stored to memory at",
            RISCV_START,
        ]
        .iter()
        .map(|s| re(s))
        .collect(),
        frames: [
            r"^ *(?:{{PC}} ){0,2}{{FUNC}}",
            r"^ *{{PC}} \(([a-zA-Z0-9_.]+)\) from {{PC}} \({{FUNC}}",
        ]
        .iter()
        .map(|s| re(s))
        .collect(),
        corrupted_lines: vec![re(
            r"^( \[<?(?:0x)?[0-9a-f]+>?\])? should_fail(slab)?(\.[a-z0-9.]+)?\+0x",
        )],
        stall_anchors: re(&STALL_ANCHORS.join("|")),
    })
}

pub const RISCV_START: &str = "status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}";

/// The frame name without syscall-wrapper prefixes (the shortest result of stripping any one).
pub fn strip_frame(f: &str) -> &str {
    let mut best = f;
    for p in STRIP_PREFIXES {
        if let Some(s) = f.strip_prefix(p) {
            if s.len() < best.len() {
                best = s;
            }
        }
    }
    best
}

fn push_frames(out: &mut Vec<String>, caps: &regex::Captures, spec: &CStack) {
    for m in caps.iter().skip(1).flatten() {
        let f = super::demangle::demangle(m.as_str());
        if !spec.skips(&f) {
            out.push(f);
        }
    }
}

fn choose(raw: &[String], x: Extractor, p: &StackParams) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    let stripped: Vec<&str> = raw.iter().map(|f| strip_frame(f)).collect();
    match x {
        Extractor::First => Some(stripped[0].to_string()),
        Extractor::Stall => {
            let mut prev = stripped[0];
            for f in &stripped {
                if p.stall_anchors.is_match(f) {
                    if f.contains("smp_call_function") {
                        prev = "smp_call_function";
                    }
                    return Some(prev.to_string());
                }
                prev = f;
            }
            None
        }
        Extractor::Hang => {
            for f in &stripped {
                for (anchor, repl) in [
                    ("rtnl_lock", ""),
                    ("synchronize_rcu", "synchronize_rcu"),
                    ("synchronize_srcu", "synchronize_rcu"),
                    ("synchronize_net", "synchronize_rcu"),
                    ("synchronize_sched", "synchronize_rcu"),
                ] {
                    if f.contains(anchor) {
                        return Some(if repl.is_empty() {
                            f.to_string()
                        } else {
                            repl.to_string()
                        });
                    }
                }
            }
            const WAITING: &[&str] = &[
                "sched",
                "_lock",
                "_slowlock",
                "down",
                "rwsem",
                "completion",
                "kthread",
                "wait",
                "synchronize",
                "context_switch",
                "__switch_to",
                "cancel_delayed_work",
                "rcu_barrier",
            ];
            // A kernel thread's trace ends in kthread + ret_from_fork: the thread's entry is never
            // where it hangs. When every frame above it is a waiting one, the thread function
            // (the frame before kthread) names what hung.
            let entry = |f: &str| f.starts_with("ret_from_fork") || f == "kthread";
            match stripped
                .iter()
                .find(|f| !WAITING.iter().any(|w| f.contains(w)))
            {
                Some(f) if entry(f) => stripped
                    .iter()
                    .take_while(|f| !entry(f))
                    .last()
                    .filter(|f| !f.contains("sched"))
                    .map(|f| f.to_string()),
                found => found.map(|f| f.to_string()),
            }
        }
    }
}

/// Collects the guilty frame of every stack part; false when some part found no frame or the
/// stack holds an injected-failure frame.
pub fn extract(spec: &CStack, text: &str) -> (Vec<String>, bool) {
    let r = walk(spec, &spec.parts, text);
    if r.1 || spec.parts2.is_empty() {
        return r;
    }
    let r2 = walk(spec, &spec.parts2, text);
    if r2.1 || spec.parts3.is_empty() {
        return r2;
    }
    let r3 = walk(spec, &spec.parts3, text);
    if r3.1 {
        r3
    } else {
        r2
    }
}

fn walk(spec: &CStack, parts: &[Option<Regex>], text: &str) -> (Vec<String>, bool) {
    let p = params();
    let mut lines = text.split('\n');
    let mut raw: Vec<String> = Vec::new();
    let mut results = Vec::new();
    let mut ok = true;
    let mut traces = 0;
    let mut idx = 0usize;
    loop {
        if idx == parts.len() || (parts[idx].is_none() && traces > 0) {
            match choose(&raw, spec.extractor, p) {
                Some(f) => results.push(f),
                None => {
                    results.push("corrupted".to_string());
                    ok = false;
                }
            }
            raw.clear();
        }
        if idx == parts.len() {
            break;
        }
        match &parts[idx] {
            None => {
                traces += 1;
                'lines: for ln in lines.by_ref() {
                    if p.corrupted_lines.iter().any(|r| r.is_match(ln)) {
                        ok = false;
                        break 'lines;
                    }
                    if p.starts.iter().any(|r| r.is_match(ln)) {
                        break 'lines;
                    }
                    if let Some(Some(next)) = parts.get(idx + 1) {
                        if let Some(c) = next.captures(ln) {
                            push_frames(&mut raw, &c, spec);
                            idx += 1;
                            break 'lines;
                        }
                    }
                    if let Some(c) = p.frames.iter().find_map(|r| r.captures(ln)) {
                        push_frames(&mut raw, &c, spec);
                    }
                }
            }
            Some(part) => {
                for ln in lines.by_ref() {
                    if p.corrupted_lines.iter().any(|r| r.is_match(ln)) {
                        ok = false;
                        break;
                    }
                    if let Some(c) = part.captures(ln) {
                        push_frames(&mut raw, &c, spec);
                        break;
                    }
                }
            }
        }
        idx += 1;
    }
    (results, ok)
}

//! Title rules: filling a title template, normalising volatile parts (addresses, numbers, line
//! numbers, executor names) so identical crashes get identical titles, the crash type for a
//! title, and the guilty frame named in it.

use regex::Regex;
use std::sync::OnceLock;

/// Fills `{N}` (1-based) with `args[N-1]`; a missing argument leaves a visible marker.
pub fn fill(fmt: &str, args: &[String]) -> String {
    let mut out = String::with_capacity(fmt.len() + 32);
    let mut rest = fmt;
    while let Some(p) = rest.find('{') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        match after
            .find('}')
            .and_then(|e| after[..e].parse::<usize>().ok().map(|n| (e, n)))
        {
            Some((e, n)) => {
                match n.checked_sub(1).and_then(|i| args.get(i)) {
                    Some(a) => out.push_str(a),
                    None => out.push_str("%!v(BADINDEX)"),
                }
                rest = &after[e + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

struct Repl {
    re: Regex,
    with: &'static str,
}

fn replacements() -> &'static [Repl] {
    static R: OnceLock<Vec<Repl>> = OnceLock::new();
    R.get_or_init(|| {
        [
            (r"syz-executor\.?[0-9]+((/|:)[0-9]+)?", "syz-executor"),
            (r"syzkaller[0-9]+((/|:)[0-9]+)?", "syzkaller"),
            // Addresses and other long hex numbers.
            (r"([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,}", "${1}ADDR"),
            (r"([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})", "IP"),
            // file.c:123 -> file.c:LINE
            (r"(\.[0-9A-Za-z_]+)(:[0-9]+)+", "${1}:LINE"),
            // f+0x12/0x34 -> f
            (r"([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+/0x[0-9a-z]+", "${1}"),
            (r"CPU#[0-9]+", "CPU"),
            // Stand-alone numbers.
            (r"([^0-9A-Za-z_])([0-9]+)([^0-9A-Za-z_]|$)", "${1}NUM${3}"),
            (r"([0-9]+){7,}", "NUM"),
        ]
        .iter()
        .map(|(r, w)| Repl {
            re: Regex::new(r).expect("title pattern"),
            with: w,
        })
        .collect()
    })
}

/// Replaces volatile parts until nothing changes (bounded: every round shortens or stops).
pub fn normalize(title: &str) -> String {
    let mut s = title.to_string();
    for r in replacements() {
        for _ in 0..64 {
            let n = r.re.replace_all(&s, r.with).into_owned();
            if n == s {
                break;
            }
            s = n;
        }
    }
    s
}

/// At most 120 bytes, printable ASCII, tabs as spaces, runs of spaces collapsed, trimmed.
pub fn sanitize(title: &str) -> String {
    let mut out = String::new();
    let mut prev = b' ';
    for &c in title.as_bytes().iter().take(120) {
        let c = if c == b'\t' { b' ' } else { c };
        if !(0x20..0x7f).contains(&c) {
            continue;
        }
        if c == b' ' && prev == b' ' {
            continue;
        }
        out.push(c as char);
        prev = c;
    }
    out.trim().to_string()
}

/// The guilty frame named by a title: what follows its last " in ".
pub fn frame_of(title: &str) -> Option<String> {
    static R: OnceLock<Regex> = OnceLock::new();
    let r = R.get_or_init(|| {
        Regex::new(r".* in ((?:<[a-zA-Z0-9_: ]+>)?[a-zA-Z0-9_:]+)").expect("frame pattern")
    });
    r.captures(title)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

/// Title prefixes and the crash type they give, in syzkaller's names (first match wins).
static TYPES: &[(&[&str], &str)] = &[
    (
        &["KFENCE: use-after-free write"],
        "KFENCE-USE-AFTER-FREE-WRITE",
    ),
    (
        &["KFENCE: use-after-free read", "KFENCE: use-after-free"],
        "KFENCE-USE-AFTER-FREE-READ",
    ),
    (
        &["KFENCE: invalid write", "KFENCE: out-of-bounds write"],
        "KFENCE-WRITE",
    ),
    (
        &[
            "KFENCE: invalid read",
            "KFENCE: out-of-bounds read",
            "KFENCE: out-of-bounds",
        ],
        "KFENCE-READ",
    ),
    (&["KFENCE: memory corruption"], "KFENCE-MEMORY-CORRUPTION"),
    (&["KFENCE: invalid free"], "KFENCE-INVALID-FREE"),
    (&["KMSAN: uninit-value"], "KMSAN-UNINIT-VALUE"),
    (
        &[
            "KMSAN: kernel-infoleak-after-free",
            "KMSAN: kernel-usb-infoleak-after-free",
            "KMSAN: use-after-free",
        ],
        "KMSAN-USE-AFTER-FREE-READ",
    ),
    (
        &["KMSAN: kernel-infoleak", "KMSAN: kernel-usb-infoleak"],
        "KMSAN-INFO-LEAK",
    ),
    (
        &["KASAN: null-ptr-deref Write"],
        "KASAN-NULL-POINTER-DEREFERENCE-WRITE",
    ),
    (
        &["KASAN: null-ptr-deref Read"],
        "KASAN-NULL-POINTER-DEREFERENCE-READ",
    ),
    (
        &["BUG: unable to handle kernel NULL pointer dereference in"],
        "NULL-POINTER-DEREFERENCE",
    ),
    (
        &[
            "KASAN: global-out-of-bounds Write",
            "KASAN: out-of-bounds Write",
            "KASAN: slab-out-of-bounds Write",
            "KASAN: stack-out-of-bounds Write",
            "KASAN: user-memory-access Write",
            "KASAN: vmalloc-out-of-bounds Write",
            "KASAN: wild-memory-access Write",
        ],
        "KASAN-WRITE",
    ),
    (
        &[
            "KASAN: global-out-of-bounds Read",
            "KASAN: invalid-access Read",
            "KASAN: out-of-bounds Read",
            "KASAN: slab-out-of-bounds Read",
            "KASAN: slab-out-of-bounds",
            "KASAN: stack-out-of-bounds Read",
            "KASAN: stack-out-of-bounds",
            "KASAN: unknown-crash Read",
            "KASAN: user-memory-access Read",
            "KASAN: vmalloc-out-of-bounds Read",
            "KASAN: wild-memory-access Read",
            "KASAN: wild-memory-access",
        ],
        "KASAN-READ",
    ),
    (
        &["KASAN: double-free or invalid-free", "KASAN: invalid-free"],
        "KASAN-INVALID-FREE",
    ),
    (
        &[
            "KASAN: slab-use-after-free Write",
            "KASAN: use-after-free Write",
        ],
        "KASAN-USE-AFTER-FREE-WRITE",
    ),
    (
        &[
            "KASAN: slab-use-after-free Read",
            "KASAN: use-after-free Read",
            "KASAN: use-after-free",
        ],
        "KASAN-USE-AFTER-FREE-READ",
    ),
    (
        &[
            "BUG: corrupted list",
            "BUG: unable to handle kernel paging request",
        ],
        "MEMORY_SAFETY_BUG",
    ),
    (&["WARNING: refcount bug"], "REFCOUNT_WARNING"),
    (&["UBSAN: array-index-out-of-bounds"], "MEMORY_SAFETY_UBSAN"),
    (&["KCSAN: data-race"], "KCSAN-DATARACE"),
    (&["KCSAN: assert: race in"], "KCSAN-ASSERT"),
    (
        &[
            "BUG: bad unlock balance in",
            "BUG: held lock freed in",
            "BUG: rwlock",
            "BUG: spinlock",
            "BUG: still has locks held in",
            "BUG: using",
            "WARNING: bad unlock balance in",
            "WARNING: held lock freed in",
            "WARNING: lock held",
            "WARNING: locking bug in",
            "WARNING: nested lock was not taken in",
            "WARNING: still has locks held in",
            "WARNING: suspicious RCU usage in",
            "inconsistent lock state in",
            "possible deadlock in",
        ],
        "LOCKDEP",
    ),
    (
        &[
            "BUG: scheduling while atomic in",
            "BUG: sleeping function called from invalid context in",
        ],
        "ATOMIC_SLEEP",
    ),
    (&["memory leak in"], "LEAK"),
    (&["BUG: bad usercopy in", "kernel BUG"], "BUG"),
    (&["WARNING in"], "WARNING"),
    (
        &[
            "BUG: stack guard page was hit in",
            "WARNING: corrupted",
            "WARNING: kernel stack frame pointer has bad value",
            "WARNING: kernel stack regs has bad",
        ],
        "UNKNOWN",
    ),
    (
        &[
            "BUG: soft lockup in",
            "INFO: rcu detected stall in",
            "INFO: task can't die in",
            "INFO: task hung in",
            "watchdog: hard lockup in",
        ],
        "HANG",
    ),
    (
        &[
            "Alignment trap in",
            "BUG: Object already free",
            "Internal error in",
            "PANIC: double fault",
            "Unhandled fault in",
            "VFS: Busy inodes after unmount (use-after-free)",
            "VFS: Close: file count is zero (use-after-free)",
            "divide error in",
            "general protection fault in",
            "go runtime error",
            "int3 in",
            "invalid opcode in",
            "kernel panic:",
            "kernel stack overflow",
            "panic:",
            "rust_kernel panicked",
            "stack segment fault in",
            "trusty:",
            "unregister_netdevice: waiting for DEV to become free",
        ],
        "DoS",
    ),
    (&["no output from test machine"], "NO_OUTPUT"),
    (&["unexpected kernel reboot"], "REBOOT"),
    (&["SYZFAIL", "SYZFATAL:"], "SYZ_FAILURE"),
    (&["WARNING:"], "WARNING"),
    (&["BUG:", "INFO:"], "UNKNOWN"),
    (&["KASAN:"], "KASAN-UNKNOWN"),
    (&["KFENCE:"], "KFENCE-UNKNOWN"),
    (&["KMSAN:"], "KMSAN-UNKNOWN"),
    (&["UBSAN:"], "UBSAN"),
    (&["KCSAN:"], "KCSAN-UNKNOWN"),
];

/// Crash type of a title, in syzkaller's names (first matching prefix wins).
pub fn type_of(title: &str) -> &'static str {
    TYPES
        .iter()
        .find(|(ps, _)| ps.iter().any(|p| title.starts_with(p)))
        .map_or("UNKNOWN", |(_, t)| t)
}

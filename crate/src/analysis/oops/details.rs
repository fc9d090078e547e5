//! The structured content of one report: the task line (CPU / PID / Comm / taint / release),
//! hardware name, modules, RIP, the register dump, `Code:` bytes and the Call Trace with its
//! stack boundaries (`<IRQ>`, `<EOI>`, `<TASK>`, `<NMI>`, ...).

use regex::Regex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Frame {
    pub function: String,
    pub offset: Option<u64>,
    pub size: Option<u64>,
    pub module: Option<String>,
    /// false for frames printed with a leading `?` (found by scanning the stack, maybe stale).
    pub reliable: bool,
    /// The stack the frame is on, from the last boundary marker: "task", "irq", "nmi",
    /// "softirq", "exception" (e.g. "#DF"), or None before any marker.
    pub stack: Option<String>,
    #[serde(with = "crate::util::hex::opt")]
    pub address: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Code {
    /// The bytes as printed (hex, no spaces).
    pub bytes: String,
    /// Index of the faulting byte (printed as `<xx>`; `(xx)` for user-space code).
    pub fault_index: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Marker {
    /// As printed, e.g. "<IRQ>", "</IRQ>", "<EOI>", "<TASK>".
    pub marker: String,
    /// Index in `call_trace` of the frame that follows it.
    pub frame_index: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Details {
    pub cpu: Option<u32>,
    pub pid: Option<u32>,
    pub uid: Option<u32>,
    pub comm: Option<String>,
    pub taint: Option<String>,
    pub kernel_version: Option<String>,
    pub kernel_build: Option<String>,
    pub hardware: Option<String>,
    pub modules: Option<Vec<String>>,
    pub rip: Option<String>,
    pub rip_frame: Option<Frame>,
    pub registers: BTreeMap<String, String>,
    pub code: Option<Code>,
    pub call_trace: Vec<Frame>,
    pub markers: Vec<Marker>,
}

struct R {
    sym: Regex,
    frame: Regex,
    reg: Regex,
}

fn r() -> &'static R {
    static X: OnceLock<R> = OnceLock::new();
    X.get_or_init(|| R {
        sym: Regex::new(r"([A-Za-z0-9_.$]+)\+0x([0-9a-f]+)/0x([0-9a-f]+)(?: \[([A-Za-z0-9_.\-]+)[^\]]*\])?").expect("sym"),
        frame: Regex::new(
            r"^\s*(?:\[<?(?:0x)?([0-9a-f]+)>?\]\s*)?(\? )?([A-Za-z0-9_.$]+)\+0x([0-9a-f]+)/0x([0-9a-f]+)(?: \[([A-Za-z0-9_.\-]+)[^\]]*\])?",
        )
        .expect("frame"),
        reg: Regex::new(r"\b([A-Z][A-Z0-9]{1,6}|knlGS|ORIG_RAX):\s*(?:([0-9a-f]{4}):)?([0-9a-f]{4,16})\b").expect("reg"),
    })
}

/// Register names that start a line of the register dump.
const REG_NAMES: &[&str] = &[
    "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "RSP", "R8", "R9", "R08", "R09", "R10", "R11",
    "R12", "R13", "R14", "R15", "EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP", "FS", "GS",
    "CS", "DS", "ES", "SS", "CR0", "CR2", "CR3", "CR4", "DR0", "DR1", "DR2", "DR3", "DR6", "DR7",
    "PKRU", "EFLAGS",
];

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

fn is_reg_line(l: &str) -> bool {
    let t = l.trim_start();
    t.split_once(':')
        .is_some_and(|(name, _)| REG_NAMES.contains(&name))
}

fn frame_from_caps(c: &regex::Captures, fi: usize, stack: &Option<String>) -> Frame {
    let g = |i: usize| c.get(fi + i).map(|m| m.as_str());
    Frame {
        function: super::demangle::demangle(g(0).unwrap_or_default()),
        offset: g(1).and_then(hex),
        size: g(2).and_then(hex),
        module: g(3).map(str::to_string),
        reliable: true,
        stack: stack.clone(),
        address: None,
    }
}

/// `CPU: 0 PID: 103 Comm: sh Tainted: G           OE      6.1.0-56-cloud-amd64 #1  Debian 6.1.192-2`
/// (also `CPU: 1 UID: 0 PID: ...` and `Not tainted`).
pub fn parse_cpu_line(rest: &str, d: &mut Details) {
    let mut words = rest.split_whitespace().peekable();
    d.cpu = words.next().and_then(|w| w.parse().ok());
    while let Some(w) = words.next() {
        match w {
            "PID:" => d.pid = words.next().and_then(|w| w.parse().ok()),
            "UID:" => d.uid = words.next().and_then(|w| w.parse().ok()),
            "Comm:" => d.comm = words.next().map(str::to_string),
            _ => {}
        }
    }
    let after = if let Some(t) = rest.find("Tainted: ") {
        let a = &rest[t + 9..];
        let n = a
            .find(|c: char| !(c.is_ascii_uppercase() || c == ' '))
            .unwrap_or(a.len());
        // A fixed-width flag field ends where the release (a digit) starts.
        let flags = a[..n].trim();
        d.taint = Some(flags.to_string());
        &a[n..]
    } else if let Some(t) = rest.find("Not tainted ") {
        d.taint = Some(String::new());
        &rest[t + 12..]
    } else {
        ""
    };
    // RHEL/CentOS print a "------------" (or "-------  t") field before the release.
    let mut after = after.trim();
    while let Some(w) = after
        .split_whitespace()
        .next()
        .filter(|w| w.chars().all(|c| c == '-') || *w == "t")
    {
        after = after[w.len()..].trim_start();
    }
    if !after.is_empty() {
        let (rel, build) = after.split_once(' ').unwrap_or((after, ""));
        d.kernel_version = Some(rel.to_string());
        let b = build.split_whitespace().collect::<Vec<_>>().join(" ");
        d.kernel_build = (!b.is_empty()).then_some(b);
    }
}

fn parse_code(s: &str) -> Option<Code> {
    let mut bytes = String::new();
    let mut fault = None;
    let mut n = 0usize;
    for tok in s.split_whitespace() {
        let (t, mark) = match tok.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
            Some(t) => (t, true),
            None => match tok.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
                Some(t) => (t, true),
                None => (tok, false),
            },
        };
        if t.is_empty() || t.len() % 2 != 0 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        if mark && fault.is_none() {
            fault = Some(n);
        }
        bytes.push_str(&t.to_ascii_lowercase());
        n += t.len() / 2;
    }
    (!bytes.is_empty()).then_some(Code {
        bytes,
        fault_index: fault,
    })
}

fn marker_stack(m: &str) -> Option<Option<String>> {
    let s = match m {
        "<IRQ>" => Some("irq".to_string()),
        "<NMI>" => Some("nmi".to_string()),
        "<SOFTIRQ>" => Some("softirq".to_string()),
        "<TASK>" | "</IRQ>" | "</NMI>" | "</SOFTIRQ>" | "<EOI>" | "<<EOE>>" => {
            Some("task".to_string())
        }
        "</TASK>" => None,
        _ if m.starts_with("<#") && m.ends_with('>') => Some("exception".to_string()),
        _ if m.starts_with("</#") && m.ends_with('>') => Some("task".to_string()),
        _ => return None,
    };
    Some(s)
}

/// Where [`parse`] is in the Call Trace.
#[derive(Default)]
struct Trace {
    in_trace: bool,
    done: bool,
    /// The stack the next frames are on (`IRQ`, ...), from the last marker.
    stack: Option<String>,
    /// The registers are complete (the Call Trace began after them).
    regs_done: bool,
}

/// Reads the details from the report's lines (console prefixes already removed).
pub fn parse(lines: &[&str]) -> Details {
    let re = r();
    let mut d = Details::default();
    let mut tr = Trace::default();
    for raw in lines {
        let t = raw.trim_end().trim_start();
        if header_line(t, &mut d) || rip_line(t, &mut d, re, tr.regs_done) {
            continue;
        }
        if !tr.regs_done && d.rip.is_some() && is_reg_line(t) && !t.starts_with("RIP:") {
            for c in re.reg.captures_iter(t) {
                let name = c[1].to_string();
                d.registers.entry(name).or_insert_with(|| c[3].to_string());
            }
            continue;
        }
        if t.starts_with("Call Trace:") || t == "Call trace:" {
            if !d.registers.is_empty() {
                tr.regs_done = true;
            }
            if d.call_trace.is_empty() {
                tr.in_trace = !tr.done;
            }
            continue;
        }
        if tr.in_trace {
            trace_line(t, &mut d, re, &mut tr);
        }
    }
    d
}

/// The task line (`CPU: 0 PID: 1 Comm: ...`, or `CPU 0` + `Pid: 1, comm: ...` before 3.10),
/// taint, hardware, modules and the first `Code:` line. True when the line was one of them.
fn header_line(t: &str, d: &mut Details) -> bool {
    if d.pid.is_none() {
        if let Some(rest) = t.strip_prefix("CPU: ") {
            if rest.contains("PID:") {
                parse_cpu_line(rest, d);
                return true;
            }
        }
        // Kernels before 3.10: "CPU 0 " then "Pid: 1, comm: swapper/0 Not tainted 3.2.0-4-amd64 #1 ...".
        if let Some(rest) = t.strip_prefix("Pid: ") {
            if let Some((pid, after)) = rest.split_once(", comm: ") {
                let cpu = d.cpu;
                let comm = after.split_whitespace().next().map(str::to_string);
                let tail = after.split_once(' ').map_or("", |(_, b)| b);
                parse_cpu_line(
                    &format!("{} PID: {} Comm: x {}", cpu.map_or(0, |c| c), pid, tail),
                    d,
                );
                d.cpu = cpu;
                d.comm = comm;
                return true;
            }
        }
        if let Some(n) = t
            .strip_prefix("CPU ")
            .and_then(|r| r.trim().parse::<u32>().ok())
        {
            d.cpu = Some(n);
            return true;
        }
    }
    if let Some(rest) = t.strip_prefix("Tainted: ") {
        // 6.10+: a separate line "Tainted: [W]=WARN, [O]=OOT_MODULE".
        if rest.contains("]=") && d.taint.as_deref().is_none_or(|x| !x.contains("]=")) {
            d.taint = Some(rest.trim().to_string());
        }
        return true;
    }
    if d.hardware.is_none() {
        if let Some(h) = t.strip_prefix("Hardware name: ") {
            d.hardware = Some(h.trim().to_string());
            return true;
        }
    }
    if d.modules.is_none() {
        if let Some(m) = t.strip_prefix("Modules linked in:") {
            d.modules = Some(m.split_whitespace().map(str::to_string).collect());
            return true;
        }
    }
    if d.code.is_none() {
        if let Some(c) = t.strip_prefix("Code: ") {
            // The first Code: line belongs to the faulting kernel RIP (user RIP lines come later).
            d.code = parse_code(c);
            return true;
        }
    }
    false
}

/// The kernel RIP line. Old kernels print `IP: [<..>] f+..` first, then
/// `RIP: 0010:[<..>]  [<..>] f+..` with CS. True when the line was taken.
fn rip_line(t: &str, d: &mut Details, re: &R, regs_done: bool) -> bool {
    if !(d.rip.is_none()
        || (t.starts_with("RIP: ") && !d.registers.contains_key("CS") && !regs_done))
    {
        return false;
    }
    let Some(rest) = t
        .strip_prefix("RIP: ")
        .or_else(|| t.strip_prefix("EIP: "))
        .or_else(|| t.strip_prefix("IP: "))
    else {
        return false;
    };
    if rest.starts_with("0033:") || rest.starts_with("0023:") {
        return false;
    }
    if let Some(c) = re.sym.captures(rest) {
        let f = frame_from_caps(&c, 1, &None);
        d.rip = Some(c.get(0).map_or("", |m| m.as_str()).to_string());
        d.rip_frame = Some(f);
    } else {
        let s = rest.split_once(':').map_or(rest, |(_, a)| a).trim();
        d.rip = Some(s.to_string());
    }
    let mut segs = rest.splitn(2, ':');
    if let (Some(cs), Some(_)) = (segs.next(), segs.next()) {
        if cs.len() == 4 && cs.chars().all(|c| c.is_ascii_hexdigit()) {
            d.registers.entry("CS".into()).or_insert(cs.to_string());
        }
    }
    true
}

/// One line inside the Call Trace: stack markers, a frame, or the end of the trace.
fn trace_line(t: &str, d: &mut Details, re: &R, tr: &mut Trace) {
    // Boundary markers, alone on the line or in front of a frame (old kernels).
    let mut rest = t;
    while let Some(m) = rest
        .split_whitespace()
        .next()
        .filter(|w| w.starts_with('<') && w.ends_with('>') && !w.starts_with("<0"))
    {
        let Some(s) = marker_stack(m) else { break };
        d.markers.push(Marker {
            marker: m.to_string(),
            frame_index: d.call_trace.len(),
        });
        tr.stack = s;
        rest = rest.trim_start()[m.len()..].trim_start();
    }
    if rest.is_empty() {
        return;
    }
    if let Some(c) = re.frame.captures(rest) {
        let mut f = frame_from_caps(&c, 3, &tr.stack);
        f.reliable = c.get(2).is_none();
        f.address = c.get(1).and_then(|m| hex(m.as_str()));
        d.call_trace.push(f);
        return;
    }
    if is_reg_line(rest)
        || rest.starts_with("Code: ")
        || rest.contains("Exception stack")
        || rest.starts_with("---") && rest.contains("interrupt")
    {
        return;
    }
    // Anything else ends the trace.
    tr.in_trace = false;
    tr.done = !d.call_trace.is_empty();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CentOS 7 (3.10) page-fault oops as the kernel prints it: old `IP:`/`RIP:` forms with
    /// addresses, `?` frames, an IRQ stack section and RHEL's dashes in the task line.
    const EL7: &str = "BUG: unable to handle kernel NULL pointer dereference at 000000000000001c
IP: [<ffffffff8118a075>] __free_pages+0x5/0x40
PGD 1c7d9b067 PUD 1c7d9a067 PMD 0
Oops: 0002 [#1] SMP
Modules linked in: ceph libceph dns_resolver
CPU: 29 PID: 9377 Comm: nginx Tainted: G           OE  ------------   3.10.0-514.26.2.el7.x86_64 #1
Hardware name: Alibaba Cloud Alibaba Cloud ECS, BIOS rel-1.7.5-0-ge51488c-20140602_164612-nilsson.home.kraxel.org 04/01/2014
task: ffff881c65ee5e20 ti: ffff881f66bbc000 task.ti: ffff881f66bbc000
RIP: 0010:[<ffffffff8118a075>]  [<ffffffff8118a075>] __free_pages+0x5/0x40
RSP: 0018:ffff881f66bbfce0  EFLAGS: 00010246
RAX: 00000000fffffe00 RBX: 0000000000001a86 RCX: ffff881f66bbffd8
R08: ffff881f66bbfc28 R09: 0000000000000000 R10: df8093c0cb57bc70
CR2: 000000000000001c CR3: 0000001c7d9b8000 CR4: 00000000003407e0
Call Trace:
 <IRQ>
 [<ffffffff810a1b2c>] ? run_timer_softirq+0x1c/0x300
 <EOI>
 [<ffffffffa02deb11>] ceph_aio_read+0x8e1/0xca0 [ceph]
 [<ffffffff811fe0bd>] do_sync_read+0x8d/0xd0
 [<ffffffff81697809>] system_call_fastpath+0x16/0x1b
Code: 66 0f 1f 44 00 00 48 89 f8 5d c3 0f 1f 40 00 66 66 66 66 90 <f0> ff 4f 1c 74 01 c3 55 85 f6 48 89 e5 75 06
RIP  [<ffffffff8118a075>] __free_pages+0x5/0x40
";

    #[test]
    fn el7_oops() {
        let lines: Vec<&str> = EL7.lines().collect();
        let d = parse(&lines);
        assert_eq!(
            (d.cpu, d.pid, d.comm.as_deref()),
            (Some(29), Some(9377), Some("nginx"))
        );
        assert_eq!(d.taint.as_deref(), Some("G           OE"));
        assert_eq!(
            d.kernel_version.as_deref(),
            Some("3.10.0-514.26.2.el7.x86_64")
        );
        assert_eq!(d.rip.as_deref(), Some("__free_pages+0x5/0x40"));
        assert_eq!(
            d.registers.get("RSP").map(String::as_str),
            Some("ffff881f66bbfce0")
        );
        assert_eq!(
            d.registers.get("CR2").map(String::as_str),
            Some("000000000000001c")
        );
        assert_eq!(
            d.registers.get("R10").map(String::as_str),
            Some("df8093c0cb57bc70")
        );
        assert_eq!(d.registers.get("CS").map(String::as_str), Some("0010"));
        let c = d.code.unwrap();
        assert_eq!(
            &c.bytes[c.fault_index.unwrap() * 2..][..6],
            "f0ff4f",
            "lock decl 0x1c(%rdi)"
        );
        let t = &d.call_trace;
        assert_eq!(t.len(), 4);
        assert!(!t[0].reliable && t[0].stack.as_deref() == Some("irq"));
        assert_eq!(t[1].function, "ceph_aio_read");
        assert_eq!(t[1].module.as_deref(), Some("ceph"));
        assert_eq!(t[1].address, Some(0xffffffffa02deb11));
        assert!(t[1].reliable && t[1].stack.as_deref() == Some("task"));
        assert_eq!(
            d.markers
                .iter()
                .map(|m| (m.marker.as_str(), m.frame_index))
                .collect::<Vec<_>>(),
            [("<IRQ>", 0), ("<EOI>", 1)]
        );
        assert_eq!(d.modules.unwrap(), ["ceph", "libceph", "dns_resolver"]);
    }

    #[test]
    fn pre_3_10_task_line() {
        let lines = ["CPU 1 ", "Pid: 2345, comm: nginx Tainted: P           O 3.2.0-4-amd64 #1 Debian 3.2.46-1 Bochs Bochs"];
        let d = parse(&lines);
        assert_eq!(
            (d.cpu, d.pid, d.comm.as_deref()),
            (Some(1), Some(2345), Some("nginx"))
        );
        assert_eq!(d.taint.as_deref(), Some("P           O"));
        assert_eq!(d.kernel_version.as_deref(), Some("3.2.0-4-amd64"));
    }
}

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

const REG_LINE_STARTS: &[&str] = &[
    "RSP:", "RAX:", "RDX:", "RBP:", "R10:", "R13:", "FS:", "CS:", "CR2:", "DR0:", "DR3:", "EAX:", "ESI:", "DS:", "CR0:",
    "R8:", "R9:", "R11:", "R12:", "R14:", "R15:", "RBX:", "RCX:", "RSI:", "RDI:",
];

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

fn is_reg_line(l: &str) -> bool {
    let t = l.trim_start();
    REG_LINE_STARTS.iter().any(|p| t.starts_with(p)) || t.starts_with("RIP: ") || t.starts_with("EIP: ")
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
        let n = a.find(|c: char| !(c.is_ascii_uppercase() || c == ' ')).unwrap_or(a.len());
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
    let after = after.trim();
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
    (!bytes.is_empty()).then_some(Code { bytes, fault_index: fault })
}

fn marker_stack(m: &str) -> Option<Option<String>> {
    let s = match m {
        "<IRQ>" => Some("irq".to_string()),
        "<NMI>" => Some("nmi".to_string()),
        "<SOFTIRQ>" => Some("softirq".to_string()),
        "<TASK>" | "</IRQ>" | "</NMI>" | "</SOFTIRQ>" | "<EOI>" | "<<EOE>>" => Some("task".to_string()),
        "</TASK>" => None,
        _ if m.starts_with("<#") && m.ends_with('>') => Some("exception".to_string()),
        _ if m.starts_with("</#") && m.ends_with('>') => Some("task".to_string()),
        _ => return None,
    };
    Some(s)
}

/// Reads the details from the report's lines (console prefixes already removed).
pub fn parse(lines: &[&str]) -> Details {
    let re = r();
    let mut d = Details::default();
    let mut in_trace = false;
    let mut trace_done = false;
    let mut stack: Option<String> = None;
    let mut regs_done = false;
    for raw in lines {
        let l = raw.trim_end();
        let t = l.trim_start();
        if d.cpu.is_none() {
            if let Some(rest) = t.strip_prefix("CPU: ") {
                if rest.contains("PID:") {
                    parse_cpu_line(rest, &mut d);
                    continue;
                }
            }
        }
        if let Some(rest) = t.strip_prefix("Tainted: ") {
            // 6.10+: a separate line "Tainted: [W]=WARN, [O]=OOT_MODULE".
            if rest.contains("]=") && d.taint.as_deref().map_or(true, |x| !x.contains("]=")) {
                d.taint = Some(rest.trim().to_string());
            }
            continue;
        }
        if d.hardware.is_none() {
            if let Some(h) = t.strip_prefix("Hardware name: ") {
                d.hardware = Some(h.trim().to_string());
                continue;
            }
        }
        if d.modules.is_none() {
            if let Some(m) = t.strip_prefix("Modules linked in:") {
                d.modules = Some(m.split_whitespace().map(str::to_string).collect());
                continue;
            }
        }
        if d.code.is_none() {
            if let Some(c) = t.strip_prefix("Code: ") {
                // The first Code: line belongs to the faulting kernel RIP (user RIP lines come later).
                d.code = parse_code(c);
                continue;
            }
        }
        if d.rip.is_none() {
            if let Some(rest) = t.strip_prefix("RIP: ").or_else(|| t.strip_prefix("EIP: ")).or_else(|| t.strip_prefix("IP: ")) {
                if !rest.starts_with("0033:") && !rest.starts_with("0023:") {
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
                    continue;
                }
            }
        }
        if !regs_done && d.rip.is_some() && is_reg_line(t) && !t.starts_with("RIP:") {
            for c in re.reg.captures_iter(t) {
                let name = c[1].to_string();
                d.registers.entry(name).or_insert_with(|| c[3].to_string());
            }
            continue;
        }
        if t.starts_with("Call Trace:") || t == "Call trace:" {
            if !d.registers.is_empty() {
                regs_done = true;
            }
            if d.call_trace.is_empty() {
                in_trace = !trace_done;
            }
            continue;
        }
        if !in_trace {
            continue;
        }
        // Boundary markers, alone on the line or in front of a frame (old kernels).
        let mut rest = t;
        while let Some(m) = rest.split_whitespace().next().filter(|w| w.starts_with('<') && w.ends_with('>') && !w.starts_with("<0")) {
            if let Some(s) = marker_stack(m) {
                d.markers.push(Marker { marker: m.to_string(), frame_index: d.call_trace.len() });
                stack = s;
                rest = rest.trim_start()[m.len()..].trim_start();
            } else {
                break;
            }
        }
        if rest.is_empty() {
            continue;
        }
        if let Some(c) = re.frame.captures(rest) {
            let mut f = frame_from_caps(&c, 3, &stack);
            f.reliable = c.get(2).is_none();
            f.address = c.get(1).and_then(|m| hex(m.as_str()));
            d.call_trace.push(f);
            continue;
        }
        if is_reg_line(rest) || rest.starts_with("Code: ") || rest.contains("Exception stack") || rest.starts_with("---") && rest.contains("interrupt") {
            continue;
        }
        // Anything else ends the trace.
        in_trace = false;
        trace_done = !d.call_trace.is_empty();
    }
    d
}

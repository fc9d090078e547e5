//! crash-style commands against an opened dump: one command line in, its text out, from the
//! same renderers as the CLI. The CLI's `shell` and the page's console both call [`run`].
//!
//! Commands: `sys`, `log`, `bt [-a] [-p PID | PID]`, `ps`, `mod`, `sym ADDR|NAME`,
//! `dis [-l] [-r] SYMBOL|ADDR [COUNT]`, `struct [-o] TYPE [ADDR|SYMBOL]`,
//! `rd [-s] ADDR|SYMBOL [COUNT]`, `p SYMBOL`, `task [PID]`, `foreach bt`, `help [CMD]`.
//! Bad input gives one line saying what is wrong (and `error` set), never a panic.

pub mod dwarf;
pub mod types;

use crate::bytes::Le;
use crate::kernel::symbols::crash_sym_line;
use crate::kernel::Kernel;
use crate::report::build::Session;
use crate::report::tasks::{ps, TaskTracer};
use crate::report::Report;
use std::cell::OnceCell;
use std::fmt::Write;
use types::{FromBtf, Ty};

/// Words `rd` reads at most in one command.
pub const MAX_RD_WORDS: u64 = 1 << 16;
/// Bytes a `struct` value may span.
const MAX_VALUE_BYTES: u64 = 1 << 20;
/// Tasks `foreach bt` traces at most.
const MAX_TASKS: usize = 1 << 16;

/// What a command gave.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Output {
    /// The text, as crash would print it (ends with a newline).
    pub text: String,
    /// The command was not understood or could not be carried out; `text` says why.
    pub error: bool,
}

impl Output {
    fn ok(text: String) -> Output {
        Output { text, error: false }
    }
    fn err(cmd: &str, why: impl std::fmt::Display) -> Output {
        Output {
            text: format!("{cmd}: {why}\n"),
            error: true,
        }
    }
}

/// An opened dump and what the commands have worked out so far.
pub struct Console {
    pub session: Session,
    /// The dump's file name (for `sys`).
    pub file_name: Option<String>,
    report: OnceCell<Report>,
}

/// One command and its usage, for `help`.
pub struct Command {
    pub name: &'static str,
    pub usage: &'static str,
    pub what: &'static str,
}

/// Every command the console knows, in the order `help` lists them.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "bt",
        usage: "bt [-a] [-p PID | PID]",
        what: "backtrace of the crashing task; -a: of the task on every CPU; PID: of that task",
    },
    Command {
        name: "dis",
        usage: "dis [-l] [-r] SYMBOL|ADDR [COUNT]",
        what: "disassemble a function whole, or COUNT instructions at an address (-r: from the function start to it, -l: source lines)",
    },
    Command {
        name: "foreach",
        usage: "foreach bt",
        what: "backtrace of every task",
    },
    Command {
        name: "help",
        usage: "help [COMMAND]",
        what: "the commands, or one command's usage",
    },
    Command {
        name: "log",
        usage: "log",
        what: "the kernel log",
    },
    Command {
        name: "mod",
        usage: "mod",
        what: "loaded modules",
    },
    Command {
        name: "p",
        usage: "p SYMBOL",
        what: "a variable's value: typed when BTF or the debuginfo describes it, else its address and first 8 bytes",
    },
    Command {
        name: "ps",
        usage: "ps",
        what: "every task ('>' marks the ones running at the crash)",
    },
    Command {
        name: "rd",
        usage: "rd [-s] ADDR|SYMBOL [COUNT]",
        what: "COUNT 8-byte words of memory (default 1, at most 65536) in hex and ASCII; -s: kernel addresses as symbols",
    },
    Command {
        name: "struct",
        usage: "struct [-o] TYPE [ADDR|SYMBOL]",
        what: "a structure's members and values at ADDR; without ADDR its layout with offsets",
    },
    Command {
        name: "sym",
        usage: "sym ADDR|NAME",
        what: "an address to symbol+offset [module], a name to its address",
    },
    Command {
        name: "sys",
        usage: "sys",
        what: "system summary",
    },
    Command {
        name: "task",
        usage: "task [PID]",
        what: "struct task_struct of the task (default: the crashing task)",
    },
];

/// A number as crash reads an address: hex with or without `0x`.
pub fn parse_hex(s: &str) -> Option<u64> {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if h.is_empty() || h.len() > 16 {
        return None;
    }
    u64::from_str_radix(h, 16).ok()
}

/// A count: decimal, or hex with `0x`.
fn parse_count(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Runs one command line (the page's console and `crashlens shell` call this).
pub fn run(c: &mut Console, line: &str) -> Output {
    c.run(line)
}

impl Console {
    pub fn new(session: Session, file_name: Option<String>) -> Console {
        Console {
            session,
            file_name,
            report: OnceCell::new(),
        }
    }

    fn k(&self) -> &Kernel {
        &self.session.kernel
    }

    fn report(&self) -> &Report {
        self.report.get_or_init(|| {
            let mut r = self.session.report();
            r.dump.file_name = self.file_name.clone();
            r
        })
    }

    /// Completions of the last word of `line`: command names for the first word, type names
    /// for `struct`'s first argument, symbol names otherwise; sorted, at most `max`.
    pub fn complete(&self, line: &str, max: usize) -> Vec<String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let fresh = line.is_empty() || line.ends_with(char::is_whitespace);
        let prefix = if fresh {
            ""
        } else {
            words.last().copied().unwrap_or("")
        };
        let mut v: Vec<String> = if words.len() <= 1 && !fresh {
            COMMANDS
                .iter()
                .map(|c| c.name)
                .filter(|n| n.starts_with(prefix))
                .map(str::to_string)
                .collect()
        } else if prefix.is_empty() {
            Vec::new()
        } else {
            let index = if fresh { words.len() } else { words.len() - 1 };
            let types_here = words.first() == Some(&"struct") && index == 1;
            let mut v: Vec<String> = self
                .k()
                .symbols()
                .iter()
                .filter(|s| !types_here && s.name.starts_with(prefix))
                .map(|s| s.name.clone())
                .take(max.saturating_mul(4).max(64))
                .collect();
            if types_here {
                if let Some(b) = self.k().btf() {
                    v.extend(
                        (1..b.len() as u32)
                            .filter(|&i| {
                                b.get(i).is_some_and(|t| {
                                    matches!(
                                        t.kind,
                                        crate::kernel::btf::Kind::Struct
                                            | crate::kernel::btf::Kind::Union
                                    )
                                })
                            })
                            .map(|i| b.name(i))
                            .filter(|n| n.starts_with(prefix))
                            .take(max.saturating_mul(4).max(64))
                            .map(str::to_string),
                    );
                }
            }
            v
        };
        v.sort();
        v.dedup();
        v.truncate(max);
        v
    }

    /// Runs one command line.
    pub fn run(&mut self, line: &str) -> Output {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&cmd, args)) = words.split_first() else {
            return Output::default();
        };
        match cmd {
            "help" | "h" | "?" => self.help(args),
            "sys" => self.sys(),
            "log" => Output::ok(crate::render::log::render(&self.report().log)),
            "mod" => {
                let rows: Vec<crate::report::ModuleInfo> =
                    self.k().symbols().modules.iter().map(Into::into).collect();
                Output::ok(crate::render::modules::render(&rows))
            }
            "ps" => {
                let (rows, w) = ps(self.k());
                Output::ok(crate::render::ps::render(&rows, &w))
            }
            "bt" => self.bt(args),
            "foreach" => match args {
                ["bt"] => self.task_traces(None),
                _ => Output::err("foreach", "only `foreach bt` is supported"),
            },
            "sym" => self.sym(args),
            "dis" => self.dis(args),
            "struct" => self.struct_(args),
            "rd" => self.rd(args),
            "p" | "print" => self.p(args),
            "task" => self.task(args),
            other => Output::err(
                other,
                "unknown command (`help` lists the commands)".to_string(),
            ),
        }
    }

    fn help(&self, args: &[&str]) -> Output {
        let mut s = String::new();
        match args.first() {
            None => {
                for c in COMMANDS {
                    let _ = writeln!(s, "{:<36} {}", c.usage, c.what);
                }
                s.push_str("ADDR is hex (0x optional) or a symbol; COUNT is decimal or 0x hex.\n");
            }
            Some(name) => match COMMANDS.iter().find(|c| c.name == *name) {
                Some(c) => {
                    let _ = writeln!(s, "usage: {}\n  {}", c.usage, c.what);
                }
                None => return Output::err("help", format!("no command {name:?}")),
            },
        }
        Output::ok(s)
    }

    fn sys(&self) -> Output {
        let info = crate::kernel::sys::sys_info(self.k());
        let name = self
            .file_name
            .as_deref()
            .map(|p| p.rsplit('/').next().unwrap_or(p));
        let mut t = crate::render::sys::render(&info, name);
        for w in self.k().symbols().warnings.iter().chain(&info.warnings) {
            let _ = writeln!(t, "     WARNING: {w}");
        }
        Output::ok(t)
    }

    fn bt(&self, args: &[&str]) -> Output {
        let mut all = false;
        let mut pid = None;
        let mut it = args.iter();
        while let Some(&a) = it.next() {
            match a {
                "-a" => all = true,
                "-p" => match it.next().and_then(|v| v.parse::<i32>().ok()) {
                    Some(p) => pid = Some(p),
                    None => return Output::err("bt", "-p needs a PID"),
                },
                v => match v.parse::<i32>() {
                    Ok(p) => pid = Some(p),
                    Err(_) => {
                        return Output::err("bt", format!("unknown argument {v:?} (bt [-a] [PID])"))
                    }
                },
            }
        }
        if pid.is_some() {
            return self.task_traces(pid);
        }
        let r = self.report();
        let shown: Vec<String> = if all {
            r.cpu_traces.iter().map(crate::render::bt::render).collect()
        } else {
            r.cpu_traces
                .iter()
                .filter(|t| t.frames == r.backtrace || r.backtrace.is_empty())
                .take(1)
                .map(crate::render::bt::render)
                .collect()
        };
        if shown.is_empty() {
            return Output::err("bt", "no backtrace: the dump holds no CPU registers");
        }
        Output::ok(shown.join("\n"))
    }

    /// `bt PID` (every thread with that PID) and `foreach bt` (`pid` None).
    fn task_traces(&self, pid: Option<i32>) -> Output {
        let k = self.k();
        let (list, task_warnings) = k.tasks();
        let chosen: Vec<_> = list
            .iter()
            .filter(|t| pid.is_none_or(|p| t.pid == p))
            .take(MAX_TASKS)
            .collect();
        let cmd = if pid.is_some() { "bt" } else { "foreach" };
        if chosen.is_empty() {
            let why = task_warnings
                .first()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            return match pid {
                Some(p) => Output::err(cmd, format!("no task with PID {p}{why}")),
                None => Output::err(cmd, format!("no tasks{why}")),
            };
        }
        let tracer = TaskTracer::new(k);
        let text: Vec<String> = chosen
            .iter()
            .map(|t| crate::render::bt::render(&tracer.trace(t).trace))
            .collect();
        Output::ok(text.join("\n"))
    }

    fn sym(&self, args: &[&str]) -> Output {
        let [q] = args else {
            return Output::err("sym", "usage: sym ADDR|NAME");
        };
        let t = self.k().symbols();
        if let Some(s) = t.get(q) {
            return Output::ok(format!("{}\n", crash_sym_line(s.addr, s, 0)));
        }
        match parse_hex(q) {
            Some(a) => match t.lookup(a) {
                Some((s, off)) => Output::ok(format!("{}\n", crash_sym_line(a, s, off))),
                None => Output::err("sym", format!("no symbol contains {a:#x}")),
            },
            None => Output::err("sym", format!("no symbol named {q:?}")),
        }
    }

    fn dis(&self, args: &[&str]) -> Output {
        let mut lines = false;
        let mut reverse = false;
        let mut rest = Vec::new();
        for &a in args {
            match a {
                "-l" => lines = true,
                "-r" => reverse = true,
                f if f.starts_with('-') => {
                    return Output::err("dis", format!("unknown option {f:?} (-l, -r)"))
                }
                v => rest.push(v),
            }
        }
        let (target, count) = match rest.as_slice() {
            [t] => (*t, None),
            [t, n] => match parse_count(n) {
                Some(n) => (*t, Some(n.min(100_000) as usize)),
                None => return Output::err("dis", format!("bad COUNT {n:?}")),
            },
            _ => return Output::err("dis", "usage: dis [-l] [-r] SYMBOL|ADDR [COUNT]"),
        };
        // The report's `dis` takes 0x-prefixed or 16-digit addresses; a bare short hex
        // number that is not a symbol is made explicit here.
        let target = if self.k().symbols().get(target).is_none()
            && !target.starts_with("0x")
            && !target.contains('+')
        {
            match parse_hex(target) {
                Some(a) => format!("{a:#x}"),
                None => target.to_string(),
            }
        } else {
            target.to_string()
        };
        let range = crate::report::dis::Range { count, reverse };
        match crate::report::dis::dis(self.k(), &self.session.debuginfo, &target, range) {
            Ok(d) => Output::ok(crate::report::dis::render(&d, lines)),
            Err(e) => Output::err("dis", e),
        }
    }

    /// An address argument: a symbol (`init_task`, `sym+off`) or hex.
    fn address(&self, s: &str) -> Option<u64> {
        let t = self.k().symbols();
        if let Some(a) = t.addr_of(s) {
            return Some(a);
        }
        if let Some((name, off)) = s.split_once('+') {
            let off = parse_count(off)?;
            return t.addr_of(name)?.checked_add(off);
        }
        parse_hex(s)
    }

    /// `<name+off>` for an address inside a kernel symbol.
    fn name_of(&self, a: u64) -> Option<String> {
        if a < 0xffff_8000_0000_0000 {
            return None;
        }
        let (s, off) = self.k().symbols().lookup(a)?;
        Some(if off == 0 {
            s.name.clone()
        } else {
            format!("{}+{off}", s.name)
        })
    }

    /// A named type: BTF first, then the debuginfo's DWARF (module types).
    fn named_type(&self, name: &str) -> crate::error::Result<(String, Ty)> {
        let bare = name
            .strip_prefix("struct ")
            .or_else(|| name.strip_prefix("union "))
            .unwrap_or(name);
        if let Some(b) = self.k().btf() {
            if let Some(ty) = FromBtf::new(b).named(bare) {
                return Ok((title_of(bare, &ty), ty));
            }
        }
        if let Some(ty) = dwarf::named_type(&self.session.debuginfo, bare) {
            return Ok((title_of(bare, &ty), ty));
        }
        Err(match self.k().btf() {
            Some(_) if self.session.debuginfo.files.is_empty() => format!(
                "no type {bare:?} in the kernel's BTF (a module's types need its .ko: --debuginfo FILE)"
            ),
            Some(_) => format!("no type {bare:?} in the kernel's BTF or the debuginfo given"),
            None if self.session.debuginfo.files.is_empty() => format!(
                "no type {bare:?}: the kernel has no BTF and no debuginfo was given (--debuginfo FILE)"
            ),
            None => format!("no type {bare:?} in the debuginfo given (the kernel has no BTF)"),
        }
        .into())
    }

    fn struct_(&self, args: &[&str]) -> Output {
        let mut offsets = false;
        let mut rest = Vec::new();
        for &a in args {
            match a {
                "-o" => offsets = true,
                f if f.starts_with('-') => {
                    return Output::err("struct", format!("unknown option {f:?} (-o)"))
                }
                v => rest.push(v),
            }
        }
        // `struct task_struct ADDR` and `struct struct task_struct ADDR` alike.
        if rest
            .first()
            .is_some_and(|w| *w == "struct" || *w == "union")
        {
            rest.remove(0);
        }
        let (name, addr) = match rest.as_slice() {
            [n] => (*n, None),
            [n, a] => match self.address(a) {
                Some(x) => (*n, Some(x)),
                None => {
                    return Output::err(
                        "struct",
                        format!("{a:?} is neither an address nor a symbol"),
                    )
                }
            },
            _ => return Output::err("struct", "usage: struct [-o] TYPE [ADDR|SYMBOL]"),
        };
        let (title, ty) = match self.named_type(name) {
            Ok(t) => t,
            Err(e) => return Output::err("struct", e),
        };
        match addr {
            None => Output::ok(types::layout(&title, &ty)),
            Some(a) => {
                let _ = offsets;
                self.value_at("struct", &title, &ty, a)
            }
        }
    }

    /// The value of `ty` read at `a`, gdb's pretty print.
    fn value_at(&self, cmd: &str, title: &str, ty: &Ty, a: u64) -> Output {
        let size = ty.size();
        if size == 0 {
            return Output::err(cmd, format!("{title}: size unknown"));
        }
        if size > MAX_VALUE_BYTES {
            return Output::err(cmd, format!("{title}: {size} bytes is too large to print"));
        }
        let k = self.k();
        let bytes = match k.probing("a console command", || k.read_bytes(a, size as usize)) {
            Ok(b) => b,
            Err(e) => {
                return Output::err(cmd, format!("cannot read {title} at {a:#x}: {e}"));
            }
        };
        let names = |x: u64| self.name_of(x);
        Output::ok(types::value(title, ty, &bytes, &names))
    }

    fn rd(&self, args: &[&str]) -> Output {
        let mut symbolic = false;
        let mut rest = Vec::new();
        for &a in args {
            match a {
                "-s" => symbolic = true,
                "-64" | "-x" => {}
                f if f.starts_with('-') && parse_hex(f).is_none() => {
                    return Output::err("rd", format!("unknown option {f:?} (-s)"))
                }
                v => rest.push(v),
            }
        }
        let (at, count) = match rest.as_slice() {
            [a] => (*a, 1),
            [a, n] => match parse_count(n) {
                Some(0) | None => return Output::err("rd", format!("bad COUNT {n:?}")),
                Some(n) if n > MAX_RD_WORDS => {
                    return Output::err(
                        "rd",
                        format!("COUNT {n} is too large (at most {MAX_RD_WORDS} words)"),
                    )
                }
                Some(n) => (*a, n),
            },
            _ => return Output::err("rd", "usage: rd [-s] ADDR|SYMBOL [COUNT]"),
        };
        let Some(addr) = self.address(at) else {
            return Output::err("rd", format!("{at:?} is neither an address nor a symbol"));
        };
        if addr.checked_add(count * 8).is_none() {
            return Output::err("rd", format!("{addr:#x} + {count} words wraps around"));
        }
        rd_text(self.k(), addr, count, symbolic, &|a| self.name_of(a))
    }

    fn p(&self, args: &[&str]) -> Output {
        let [name] = args else {
            return Output::err("p", "usage: p SYMBOL");
        };
        let t = self.k().symbols();
        let sym = t.get(name);
        // Typed from the debuginfo's DWARF (a module's variables).
        if let (Some(s), Some((ty, decl))) = (sym, dwarf::variable(&self.session.debuginfo, name)) {
            let mut o = self.value_at("p", name, &ty, s.addr);
            if !o.error {
                o.text = format!("{decl};  /* {:x} */\n{}", s.addr, o.text);
            }
            return o;
        }
        // BTF describes the per-CPU variables (as crash: their type and per-CPU addresses).
        if let Some(b) = self.k().btf() {
            if let Some((ty, decl)) = FromBtf::new(b).var(name) {
                let off = sym.map(|s| s.addr);
                if let Some(off) = off.filter(|&o| o < 1 << 32) {
                    let mut s = format!("PER-CPU DATA TYPE:\n  {decl};\nPER-CPU ADDRESSES:\n");
                    for cpu in 0..self.k().nr_cpus() {
                        if let Some(base) = crate::kernel::tasks::per_cpu_offset(self.k(), cpu) {
                            let _ = writeln!(s, "  [{cpu}]: {:x}", base.wrapping_add(off));
                        }
                    }
                    return Output::ok(s);
                }
                if let Some(a) = off {
                    return self.value_at("p", name, &ty, a);
                }
            }
        }
        let Some(s) = sym else {
            return Output::err("p", format!("no symbol named {name:?}"));
        };
        let module = s
            .module
            .as_ref()
            .map(|m| format!(" [{m}]"))
            .unwrap_or_default();
        let mut text = format!(
            "{name}: {:x} ({}){module}, no type information (BTF describes only per-CPU variables; a .ko or vmlinux with --debuginfo gives types)\n",
            s.addr, s.kind
        );
        let r = rd_text(self.k(), s.addr, 1, false, &|a| self.name_of(a));
        text.push_str(&r.text);
        Output {
            text,
            error: r.error,
        }
    }

    fn task(&self, args: &[&str]) -> Output {
        let k = self.k();
        let (list, warnings) = k.tasks();
        let chosen: Vec<_> = match args {
            [] => {
                let r = self.report();
                let task = crate::render::report::crashing_trace(r).and_then(|t| t.task);
                list.iter().filter(|t| Some(t.addr) == task).collect()
            }
            [p] => match p.parse::<i32>() {
                Ok(pid) => list.iter().filter(|t| t.pid == pid).collect(),
                Err(_) => return Output::err("task", format!("bad PID {p:?}")),
            },
            _ => return Output::err("task", "usage: task [PID]"),
        };
        if chosen.is_empty() {
            let why = warnings
                .first()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            return Output::err("task", format!("no such task{why}"));
        }
        let (title, ty) = match self.named_type("task_struct") {
            Ok(t) => t,
            Err(e) => return Output::err("task", e),
        };
        let mut text = String::new();
        for t in chosen.iter().take(64) {
            let _ = writeln!(
                text,
                "PID: {:<8} TASK: {:<16x}  CPU: {:<4} COMMAND: \"{}\"",
                t.pid, t.addr, t.cpu, t.comm
            );
            let o = self.value_at("task", &title, &ty, t.addr);
            if o.error {
                return o;
            }
            text.push_str(&o.text);
        }
        Output::ok(text)
    }
}

/// `struct task_struct` for a struct, `union x` for a union, the name otherwise.
fn title_of(name: &str, ty: &Ty) -> String {
    match ty {
        Ty::Struct(c) => format!("{} {name}", c.kw),
        Ty::Enum { .. } => format!("enum {name}"),
        _ => name.to_string(),
    }
}

/// crash's `rd`: `ffffffffc0a02000:  564d434f52454649 0000000000000000   IFEROCMV........`,
/// two words a line; with `symbolic` (`rd -s`) kernel addresses as symbols and no ASCII.
pub fn rd_text(
    k: &Kernel,
    addr: u64,
    count: u64,
    symbolic: bool,
    names: &dyn Fn(u64) -> Option<String>,
) -> Output {
    let mut s = String::new();
    let mut line = 0u64;
    while line * 2 < count {
        let a = addr + line * 16;
        let words = (count - line * 2).min(2);
        let mut buf = [0u8; 16];
        let n = (words * 8) as usize;
        if let Err(e) = k.probing("a console command", || k.read(a, &mut buf[..n])) {
            let _ = writeln!(s, "rd: cannot read {a:x}: {e}");
            return Output {
                text: s,
                error: true,
            };
        }
        let _ = write!(s, "{a:x}:  ");
        for w in 0..words as usize {
            // `buf` holds two words: never short.
            let v = buf.u64_at(w * 8).unwrap_or(0);
            let named = if symbolic { names(v) } else { None };
            match named {
                Some(n) => {
                    let _ = write!(s, "{n:<16} ");
                }
                None => {
                    let _ = write!(s, "{v:016x} ");
                }
            }
        }
        if !symbolic {
            for _ in words..2 {
                s.push_str("                 ");
            }
            s.push_str("  ");
            for &b in &buf[..n] {
                s.push(if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                });
            }
        }
        let t = s.trim_end_matches(' ').len();
        s.truncate(t);
        s.push('\n');
        line += 1;
    }
    Output::ok(s)
}

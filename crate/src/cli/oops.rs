//! `crashlens oops FILE [--format json] [--all]`: the kernel's own crash reports, parsed.
//! FILE is console text (or a syzkaller report test file), or a vmcore whose log is read.

use super::{print_json, Args, Format};
use crate::analysis::oops::{self, Oops};
use crate::error::{Error, Result};
use crate::kernel::printk;
use crate::report::build::{Options, Session};
use crate::source::FileSource;
use std::io::Read;

/// Does the file start like a dump container (ELF, kdump-compressed, makedumpfile flattened)?
fn is_dump(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
        || head.starts_with(b"KDUMP   ")
        || head.starts_with(b"DISKDUMP")
        || head.starts_with(b"makedumpfile")
}

/// Most console logs are far smaller; this only bounds memory on a wrong file.
const MAX_TEXT: u64 = 512 << 20;

fn log_text(a: &Args) -> Result<String> {
    let path = a
        .paths
        .first()
        .ok_or_else(|| Error::Io("no log or dump file given".into()))?;
    let mut f = std::fs::File::open(path).map_err(|e| Error::Io(format!("{path}: {e}")))?;
    let mut head = [0u8; 16];
    let n = f
        .read(&mut head)
        .map_err(|e| Error::Io(format!("{path}: {e}")))?;
    if is_dump(&head[..n]) {
        let src = FileSource::open(std::path::Path::new(path))?;
        let opts = Options {
            cache_budget: a.cache_mb << 20,
            file_name: Some(path.clone()),
            ..Options::default()
        };
        let s = Session::open(Box::new(src), &opts)?;
        let log = printk::read_log(&s.kernel)?;
        return Ok(printk::plain_text(&log));
    }
    let mut buf = head[..n].to_vec();
    f.take(MAX_TEXT)
        .read_to_end(&mut buf)
        .map_err(|e| Error::Io(format!("{path}: {e}")))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

pub fn run(a: &Args) -> Result<()> {
    let text = log_text(a)?;
    let all = oops::parse_all(oops::console_text(&text));
    let every = a.flags.iter().any(|f| f == "--all");
    match a.format {
        Format::Json if every => print_json(&all),
        Format::Json => print_json(&oops::primary(&all)),
        Format::Text => {
            let list: Vec<&Oops> = if every {
                all.iter().collect()
            } else {
                oops::primary(&all).into_iter().collect()
            };
            if list.is_empty() {
                super::out("no crash report found\n");
            }
            let mut s = String::new();
            for o in list {
                s.push_str(&render(o));
            }
            super::out(&s);
        }
    }
    Ok(())
}

fn render(o: &Oops) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "{}", o.title);
    let _ = writeln!(
        s,
        "  type:      {}{}",
        o.kind,
        if o.corrupted {
            "  (corrupted report)"
        } else {
            ""
        }
    );
    if let Some(f) = &o.frame {
        let _ = writeln!(s, "  frame:     {f}");
    }
    let _ = writeln!(s, "  message:   {}", o.message);
    if let Some(r) = &o.rip {
        let _ = writeln!(s, "  RIP:       {r}");
    }
    if o.cpu.is_some() || o.pid.is_some() {
        let _ = writeln!(
            s,
            "  task:      CPU {} PID {} comm {}",
            o.cpu.map_or("?".into(), |c| c.to_string()),
            o.pid.map_or("?".into(), |c| c.to_string()),
            o.comm.as_deref().unwrap_or("?")
        );
    }
    if let Some(v) = &o.kernel_version {
        let _ = writeln!(
            s,
            "  kernel:    {v} {}",
            o.kernel_build.as_deref().unwrap_or("")
        );
    }
    if let Some(t) = &o.taint {
        let names: Vec<&str> = o.taint_flags.iter().map(|f| f.meaning).collect();
        let t = if t.is_empty() {
            "not tainted".to_string()
        } else {
            t.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        let _ = writeln!(
            s,
            "  taint:     {t}{}{}",
            if names.is_empty() { "" } else { ": " },
            names.join("; ")
        );
    }
    if let Some(h) = &o.hardware {
        let _ = writeln!(s, "  hardware:  {h}");
    }
    if let Some(p) = &o.panic_string {
        let _ = writeln!(s, "  panic:     {p}");
    }
    if !o.call_trace.is_empty() {
        let _ = writeln!(s, "  call trace:");
        for f in &o.call_trace {
            let _ = writeln!(
                s,
                "    {}{}+{:#x}/{:#x}{}",
                if f.reliable { "" } else { "? " },
                f.function,
                f.offset.unwrap_or(0),
                f.size.unwrap_or(0),
                f.module
                    .as_ref()
                    .map_or(String::new(), |m| format!(" [{m}]"))
            );
        }
    }
    s.push('\n');
    s
}

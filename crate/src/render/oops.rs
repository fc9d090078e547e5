//! The kernel's own crash report read from console text (`crashlens oops FILE`), and the page's
//! verdict from a console log alone (a `vmcore-dmesg.txt` dropped without its vmcore).

use super::Lang;
use crate::analysis::oops::Oops;
use std::fmt::Write;

/// One crash report as `crashlens oops` prints it.
pub fn text(o: &Oops) -> String {
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

/// A verdict from the console text alone: the title and the guilty function of the report (as
/// `crashlens oops` gives them), a note saying what such a verdict could not look at, and the
/// `crashlens oops` text.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TextVerdict {
    pub title: String,
    /// The guilty function (syzbot's rules), when the report names one.
    pub frame: Option<String>,
    pub note: String,
    pub text: String,
}

/// [`TextVerdict`] of the primary report of a console log named `file_name`.
pub fn text_verdict(o: &Oops, file_name: &str, lang: Lang) -> TextVerdict {
    let note = match lang {
        Lang::En => format!(
            "Verdict from the console text alone ({file_name}): no memory was read, so the registers, \
             the faulting instruction and where the bad value came from were not examined as they are \
             for a vmcore. Open the vmcore kdump saved beside it for the full analysis."
        ),
        Lang::Zh => format!(
            "这是仅根据控制台日志文本（{file_name}）得出的结论：没有读取任何内存，因此没有像分析 vmcore 那样\
             检查寄存器、出错指令和坏值的来源。要得到完整的分析，请打开 kdump 保存在它旁边的 vmcore。"
        ),
    };
    TextVerdict {
        title: o.title.clone(),
        frame: o.frame.clone(),
        note,
        text: text(o),
    }
}

/// No crash report in the text: what the page says.
pub fn no_report(file_name: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{file_name} is text, but it holds no kernel crash report (no Oops, BUG, panic or WARNING lines)."),
        Lang::Zh => format!("{file_name} 是文本文件，但其中没有内核崩溃报告（没有 Oops、BUG、panic 或 WARNING 行）。"),
    }
}

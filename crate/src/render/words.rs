//! The words of the Markdown and HTML documents (section titles, field labels) in English and
//! Simplified Chinese, and the key-value rows they share (summary, fault, dump file).

use super::Lang;
use crate::report::Report;

/// Section titles and notices, per language.
pub struct Words {
    pub verdict: &'static str,
    pub summary: &'static str,
    pub fault: &'static str,
    pub backtrace: &'static str,
    pub registers: &'static str,
    pub disassembly: &'static str,
    pub cpu_traces: &'static str,
    pub sys: &'static str,
    pub log: &'static str,
    pub modules: &'static str,
    pub warnings: &'static str,
    pub dump: &'static str,
    pub partial: &'static str,
    pub no_panic: &'static str,
}

const EN: Words = Words {
    verdict: "Verdict",
    summary: "Summary",
    fault: "Faulting access",
    backtrace: "Backtrace",
    registers: "Registers",
    disassembly: "Disassembly",
    cpu_traces: "Backtraces of every CPU",
    sys: "System",
    log: "Kernel log",
    modules: "Modules",
    warnings: "Warnings",
    dump: "Dump file",
    partial: "This report is partial: some information could not be derived from the dump (see warnings).",
    no_panic: "No crash report was found in the kernel log.",
};

const ZH: Words = Words {
    verdict: "结论",
    summary: "概要",
    fault: "出错的访存",
    backtrace: "调用栈",
    registers: "寄存器",
    disassembly: "反汇编",
    cpu_traces: "所有 CPU 的调用栈",
    sys: "系统信息",
    log: "内核日志",
    modules: "模块",
    warnings: "警告",
    dump: "转储文件",
    partial: "报告不完整：部分信息无法从转储中得出（见警告）。",
    no_panic: "内核日志中没有找到崩溃报告。",
};

pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

/// Field labels: (key, English, Chinese).
const FIELDS: &[(&str, &str, &str)] = &[
    ("kernel.release", "Kernel release", "内核版本号"),
    ("kernel.version", "Kernel version", "内核构建信息"),
    ("kernel.build_id", "Build ID", "Build ID"),
    ("kernel.machine", "Machine", "架构"),
    ("kernel.page_size", "Page size", "页大小"),
    ("kernel.kaslr_offset", "KASLR offset", "KASLR 偏移"),
    ("crash_time", "Crash time", "崩溃时间"),
    ("cpus", "CPUs", "CPU 数"),
    ("panic.message", "Panic", "Panic 信息"),
    ("panic.panic_string", "Panic string", "Panic 字符串"),
    ("panic.type", "Type", "类型"),
    ("panic.taint", "Taint", "污染标志"),
    ("panic.rip", "RIP", "RIP"),
    ("task", "Crashing task", "崩溃任务"),
    ("bucket", "Crash bucket", "崩溃分桶 ID"),
    ("address", "Address", "地址"),
    ("instruction", "Instruction", "指令"),
    ("location", "Location", "位置"),
    ("ip", "IP", "IP"),
    ("base_register", "Base register", "基址寄存器"),
    ("base_value", "Base value", "基址寄存器的值"),
    ("offset", "Offset", "偏移"),
    ("access", "Access", "访问类型"),
    ("argument_index", "Argument index", "参数序号"),
    ("argument_register", "Argument register", "参数寄存器"),
    ("field", "Field", "成员"),
    ("source", "Source", "来源"),
    ("source_function", "Source function", "源码函数"),
    ("inlined_into", "Inlined into", "内联进"),
    ("class", "Class", "类别"),
    ("file_name", "File name", "文件名"),
    ("format", "Format", "格式"),
    ("description", "Description", "描述"),
    ("file_size", "File size", "文件大小"),
    ("codecs", "Codecs", "压缩算法"),
    ("pages_present", "Pages present", "包含的页"),
    ("pages_excluded", "Pages excluded", "被过滤的页"),
    ("pages_zero", "Zero pages", "零页"),
    ("corrections", "Corrections", "已修正的问题"),
];

/// The label of `key` in `lang`.
pub fn label(lang: Lang, key: &str) -> &'static str {
    FIELDS
        .iter()
        .find(|f| f.0 == key)
        .map(|f| if lang == Lang::Zh { f.2 } else { f.1 })
        .unwrap_or("?")
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

fn signed_hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{v:#x}")
    }
}

/// A labelled value: (data-field key, label, value).
pub type Row = (&'static str, &'static str, String);

fn push(rows: &mut Vec<Row>, lang: Lang, key: &'static str, v: Option<String>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        rows.push((key, label(lang, key), v));
    }
}

/// The summary rows (the page's Summary section shows the same values).
pub fn summary(r: &Report, lang: Lang) -> Vec<Row> {
    let mut v = Vec::new();
    let k = &r.kernel;
    let p = &r.panic;
    push(&mut v, lang, "kernel.release", k.release.clone());
    push(&mut v, lang, "kernel.version", k.version.clone());
    push(&mut v, lang, "kernel.build_id", k.build_id.clone());
    push(&mut v, lang, "kernel.machine", k.machine.clone());
    push(
        &mut v,
        lang,
        "crash_time",
        r.crash_time_utc
            .clone()
            .or(r.crash_time.map(|t| t.to_string())),
    );
    push(&mut v, lang, "cpus", r.cpus.map(|c| c.to_string()));
    push(&mut v, lang, "panic.message", p.message.clone());
    push(&mut v, lang, "panic.panic_string", p.panic_string.clone());
    if p.cpu.is_some() || p.pid.is_some() || p.comm.is_some() {
        let q = |v: Option<String>| v.unwrap_or_else(|| "?".into());
        push(
            &mut v,
            lang,
            "task",
            Some(format!(
                "CPU {}  PID {}  COMMAND \"{}\"",
                q(p.cpu.map(|c| c.to_string())),
                q(p.pid.map(|c| c.to_string())),
                q(p.comm.clone())
            )),
        );
    }
    push(&mut v, lang, "panic.taint", p.taint.clone());
    push(&mut v, lang, "panic.rip", p.rip.clone());
    push(&mut v, lang, "panic.type", p.kind.clone());
    push(&mut v, lang, "bucket", r.bucket.clone());
    push(&mut v, lang, "kernel.kaslr_offset", k.kaslr_offset.map(hex));
    push(
        &mut v,
        lang,
        "kernel.page_size",
        k.page_size.map(|s| s.to_string()),
    );
    v
}

/// The faulting access's rows.
pub fn fault(r: &Report, lang: Lang) -> Vec<Row> {
    let mut v = Vec::new();
    let Some(f) = &r.fault else { return v };
    push(&mut v, lang, "class", Some(f.class.to_string()));
    push(&mut v, lang, "address", f.address.map(hex));
    push(&mut v, lang, "instruction", f.instruction.clone());
    push(&mut v, lang, "location", f.location.clone());
    push(&mut v, lang, "ip", f.ip.map(hex));
    push(&mut v, lang, "base_register", f.base_register.clone());
    push(&mut v, lang, "base_value", f.base_value.map(hex));
    push(&mut v, lang, "offset", f.offset.map(signed_hex));
    push(&mut v, lang, "access", f.access.clone());
    push(
        &mut v,
        lang,
        "argument_index",
        f.argument_index.map(|i| i.to_string()),
    );
    push(
        &mut v,
        lang,
        "argument_register",
        f.argument_register.clone(),
    );
    push(&mut v, lang, "field", f.field.clone());
    push(&mut v, lang, "source", f.source.clone());
    push(&mut v, lang, "source_function", f.source_function.clone());
    push(&mut v, lang, "inlined_into", f.inlined_into.clone());
    v
}

/// The dump file's rows (what the file is; not how this run read it, so that the documents of
/// one dump are the same whichever front made them).
pub fn dump(r: &Report, lang: Lang) -> Vec<Row> {
    let mut v = Vec::new();
    let c = &r.dump.container;
    push(&mut v, lang, "file_name", r.dump.file_name.clone());
    push(&mut v, lang, "format", Some(c.format.clone()));
    push(&mut v, lang, "description", Some(c.description.clone()));
    push(&mut v, lang, "file_size", Some(c.file_size.to_string()));
    push(&mut v, lang, "codecs", Some(c.codecs.join(", ")));
    push(
        &mut v,
        lang,
        "pages_present",
        Some(c.pages_present.to_string()),
    );
    push(
        &mut v,
        lang,
        "pages_excluded",
        Some(match c.pages_excluded {
            Some(n) => n.to_string(),
            None => match lang {
                Lang::En => "not counted (see the warnings)".to_string(),
                Lang::Zh => "未统计（见警告）".to_string(),
            },
        }),
    );
    push(&mut v, lang, "pages_zero", Some(c.pages_zero.to_string()));
    push(&mut v, lang, "corrections", Some(c.corrections.join("; ")));
    v
}

/// The lines of the log text the oops spans (`oops.start_line..oops.end_line`), with a little
/// context before it; without an oops, the last 60 lines. At most 400 lines.
pub fn oops_lines(r: &Report, log_text: &str) -> (usize, usize) {
    let n = log_text.lines().count();
    let (from, to) = match &r.oops {
        Some(o) => (o.start_line.saturating_sub(5), o.end_line.max(o.start_line)),
        None => (n.saturating_sub(60), n),
    };
    let from = from.min(n);
    (from, to.min(n).min(from + 400).max(from))
}

//! The kernel's own corruption reports in words: the stack protector, CONFIG_DEBUG_LIST, SLUB's
//! debug checks; each address of the report with what holds it (a module's variable, a slab
//! object), and the code whose object it is.

use super::ClassWords;
use crate::analysis::classes::corruption::{
    BadPage, ListCorruption, Place, SlabCheck, SlabCorruption, StackProtector,
};
use crate::analysis::verdict::Verdict;
use crate::render::verdict::Both;
use crate::render::Lang;
use std::fmt::Write;

/// `lab_list [crashlens_lab]`, `a kmalloc-64 object at X (+0x20)`, or the bare address.
fn where_words(p: &Place) -> Both {
    if let Some(s) = &p.symbol {
        return Both::new(s.clone(), s.clone());
    }
    if let Some(o) = &p.slab {
        return Both::new(
            format!(
                "{:#x} (offset {:#x} in a {} object at {:#x})",
                p.address, o.offset, o.cache, o.object
            ),
            format!(
                "{:#x}（{} 对象 {:#x} 内偏移 {:#x} 处）",
                p.address, o.cache, o.object, o.offset
            ),
        );
    }
    Both::new(format!("{:#x}", p.address), format!("{:#x}", p.address))
}

fn role_words(role: &str) -> (&'static str, &'static str) {
    match role {
        "prev" => ("the node before (prev)", "前一个节点（prev）"),
        "next" => ("the node after (next)", "后一个节点（next）"),
        "found" => ("the value found instead", "实际读到的值"),
        "entry" => ("the entry", "节点"),
        "new" => ("the new entry", "新节点"),
        _ => ("an address", "地址"),
    }
}

pub fn stack_words(_v: &Verdict, s: &StackProtector) -> ClassWords {
    let f = s
        .function
        .as_ref()
        .map(|x| x.text.clone())
        .unwrap_or_else(|| "?".into());
    let narrative = vec![Both::new(
        format!("The stack protector found the canary of {f} overwritten when the function was about to return: the function wrote past the end of a local array in its own stack frame, and the kernel stopped before it could return through a damaged frame."),
        format!("栈保护在 {f} 即将返回时发现它的 canary 被改写：这个函数写越界了自己栈帧里的局部数组，内核在它通过已损坏的栈帧返回之前停了下来。"),
    )];
    let evidence = vec![(
        "log",
        Both::new(
            format!("__stack_chk_fail() was called from {f} (the panic line names the function whose frame is damaged)."),
            format!("__stack_chk_fail() 是从 {f} 调用的（panic 行给出的就是栈帧被破坏的函数）。"),
        ),
    )];
    let next_steps = vec![Both::new(
        format!("Read the copies into local arrays in {f} (memcpy/strcpy/sprintf/loops into char buffers): a length not checked against the buffer's size overflowed it; rebuild with CONFIG_FORTIFY_SOURCE and KASAN (stack instrumentation) to catch the write itself."),
        format!("检查 {f} 中往局部数组拷贝数据的地方（memcpy/strcpy/sprintf/循环写 char 缓冲区）：某处长度没有和缓冲区大小比较导致溢出；可以打开 CONFIG_FORTIFY_SOURCE 和 KASAN（栈检测）重新编译，在越界写发生时就抓到它。"),
    )];
    ClassWords {
        narrative,
        evidence,
        next_steps,
    }
}

pub fn list_words(_v: &Verdict, l: &ListCorruption) -> ClassWords {
    let op = &l.operation;
    let caller = l.caller.as_ref().map(|c| c.text.clone());
    let (ck_en, ck_zh) = match &l.checker {
        Some(c) => (format!(" (the check in {c})"), format!("（检查函数 {c}）")),
        None => (String::new(), String::new()),
    };
    let mut narrative = vec![Both::new(
        format!("CONFIG_DEBUG_LIST{ck_en} found a corrupted linked list: {op}(){} checked the neighbours' pointers and they did not point at each other, so an entry of the list was freed, reused or overwritten while still linked.",
            caller.as_deref().map(|c| format!(" called from {c}")).unwrap_or_default()),
        format!("CONFIG_DEBUG_LIST{ck_zh}发现链表被破坏：{}{op}() 检查相邻节点的指针时发现它们没有互相指向，说明链表中的某个节点在仍然挂在链表上时被释放、复用或改写了。",
            caller.as_deref().map(|c| format!("{c} 调用的 ")).unwrap_or_default()),
    )];
    let mut parts_en = Vec::new();
    let mut parts_zh = Vec::new();
    for p in &l.places {
        let (re, rz) = role_words(&p.role);
        let w = where_words(p);
        parts_en.push(format!("{re} is {}", w.en));
        parts_zh.push(format!("{rz}是 {}", w.zh));
    }
    if !parts_en.is_empty() {
        narrative.push(Both::new(
            format!("In the report, {}.", parts_en.join("; ")),
            format!("报告中，{}。", parts_zh.join("；")),
        ));
    }
    let owner = l
        .places
        .iter()
        .find_map(|p| p.module.clone().map(|m| (m, p.symbol.clone())));
    if let Some((m, sym)) = &owner {
        let s = sym.as_deref().unwrap_or("");
        narrative.push(Both::new(
            format!("The list's memory belongs to module {m}{}: it is that module's list, and its code keeps it.", if s.is_empty() { String::new() } else { format!(" ({s})") }),
            format!("这个链表的内存属于 {m} 模块{}：这是该模块自己的链表，由它的代码维护。", if s.is_empty() { String::new() } else { format!("（{s}）") }),
        ));
    }
    let evidence = vec![(
        "log",
        Both::new(
            format!("The report: \"{}\".", l.message),
            format!("报告原文：\"{}\"。", l.message),
        ),
    )];
    let next_steps = vec![Both::new(
        "Review every place that adds, deletes and frees entries of this list: an entry freed without list_del() first, a list changed without its lock, or an entry added twice. KASAN or slub_debug=FZPU on a test system catches the write that corrupted it.",
        "检查所有添加、删除和释放该链表节点的代码：释放节点前没有先 list_del()、修改链表时没有持有对应的锁，或者同一节点被重复添加。在测试环境打开 KASAN 或 slub_debug=FZPU 可以抓到破坏它的那次写操作。",
    )];
    ClassWords {
        narrative,
        evidence,
        next_steps,
    }
}

/// "allocated in A (PID 1) and freed in F (PID 2)" in both languages.
fn sites(s: &SlabCorruption) -> Option<Both> {
    let pid_en = |p: Option<u32>| p.map(|p| format!(" (PID {p})")).unwrap_or_default();
    let pid_zh = |p: Option<u32>| p.map(|p| format!("（PID {p}）")).unwrap_or_default();
    match (&s.allocated_in, &s.freed_in) {
        (Some(a), Some(f)) => Some(Both::new(
            format!(
                "allocated in {}{} and freed in {}{}",
                a.text,
                pid_en(s.allocated_pid),
                f.text,
                pid_en(s.freed_pid)
            ),
            format!(
                "在 {} 中分配{}，在 {} 中释放{}",
                a.text,
                pid_zh(s.allocated_pid),
                f.text,
                pid_zh(s.freed_pid)
            ),
        )),
        (Some(a), None) => Some(Both::new(
            format!("allocated in {}{}", a.text, pid_en(s.allocated_pid)),
            format!("在 {} 中分配{}", a.text, pid_zh(s.allocated_pid)),
        )),
        _ => None,
    }
}

/// "8 bytes at 0x.. (byte 32 of the 32-byte object, just past its end) hold 0x47 instead of
/// 0xcc".
fn damage_words(s: &SlabCorruption) -> Option<Both> {
    let d = s.damage.as_ref()?;
    let n = d.end - d.start + 1;
    let size = s.object_in_dump.as_ref().map(|o| o.object_size);
    let (wen, wzh) = match (s.damage_offset, size) {
        (Some(off), Some(size)) if off >= 0 && off as u64 >= size => (
            format!(
                " (byte {off} of the {size}-byte object, {} past its end)",
                if off as u64 == size {
                    "just".to_string()
                } else {
                    format!("{} bytes", off as u64 - size)
                }
            ),
            format!("（{size} 字节对象的第 {off} 字节处，已经越过对象末尾）"),
        ),
        (Some(off), Some(size)) if off >= 0 => (
            format!(" (offset {off} in the {size}-byte object)"),
            format!("（{size} 字节对象内偏移 {off}）"),
        ),
        (Some(off), _) if off < 0 => (
            format!(" ({} bytes before the object)", -off),
            format!("（对象起始处之前 {} 字节）", -off),
        ),
        _ => (String::new(), String::new()),
    };
    Some(Both::new(
        format!(
            "{n} bytes at {:#x}{wen} hold {:#04x} where SLUB had written {:#04x}",
            d.start, d.first_byte, d.expected
        ),
        format!(
            "{:#x} 处的 {n} 个字节{wzh}是 {:#04x}，而不是 SLUB 填入的 {:#04x}",
            d.start, d.first_byte, d.expected
        ),
    ))
}

/// Who ran the check: "when lab_buf_release freed it (kfree)".
fn detector_words(s: &SlabCorruption) -> Option<Both> {
    let by = s.detected_by.as_ref()?;
    let cache = &s.cache;
    Some(match s.detected_in.as_deref() {
        Some("alloc") => Both::new(
            format!("SLUB checked the object when {} allocated from {cache} again: that allocation found the damage, it did not make it.", by.text),
            format!("SLUB 是在 {} 再次从 {cache} 分配对象时做的检查：这次分配只是发现了损坏，并不是它造成的。", by.text),
        ),
        _ => Both::new(
            format!("SLUB checked the object when {} freed it: that free found the damage, it did not make it.", by.text),
            format!("SLUB 是在 {} 释放这个对象时做的检查：这次释放只是发现了损坏，并不是它造成的。", by.text),
        ),
    })
}

pub fn slab_words(_v: &Verdict, s: &SlabCorruption) -> ClassWords {
    let cache = &s.cache;
    let obj = s.object.map(|o| format!(" {o:#x}")).unwrap_or_default();
    let dmg = damage_words(s);
    let (den, dzh) = dmg
        .as_ref()
        .map(|d| (format!(": {}", d.en), format!("：{}", d.zh)))
        .unwrap_or_default();
    let named = s.region.as_deref().unwrap_or(&s.problem);
    let mut narrative = vec![match s.check {
        SlabCheck::DoubleFree => Both::new(
            format!("SLUB's debug checks caught a double free: the {cache} object{obj} was freed when it was already free{}.",
                s.freeing_caller.as_ref().map(|c| format!(", by {}", c.text)).unwrap_or_default()),
            format!("SLUB 调试检查发现了重复释放（double free）：{cache} 对象{obj} 在已经释放的状态下{}又被释放了一次。",
                s.freeing_caller.as_ref().map(|c| format!("被 {} ", c.text)).unwrap_or_default()),
        ),
        SlabCheck::Redzone => {
            let (side_en, side_zh) = match s.zone.as_deref() {
                Some("right") => ("right ", "右侧"),
                Some("left") => ("left ", "左侧"),
                _ => ("", ""),
            };
            let (past_en, past_zh) = if s.zone.as_deref() == Some("left") {
                ("written before its start", "写到了对象起始处之前")
            } else {
                ("written past its end", "写过了对象末尾")
            };
            Both::new(
                format!("SLUB's debug checks found the {side_en}red zone of the {cache} object{obj} overwritten (\"{}\"){den}: the object was {past_en}.", named),
                format!("SLUB 调试检查发现 {cache} 对象{obj} 的{side_zh} redzone（红区）被改写（\"{}\"）{dzh}：有代码越界写了这个对象，{past_zh}。", named),
            )
        }
        SlabCheck::Poison => Both::new(
            format!("SLUB's debug checks found the free {cache} object{obj} written after it was freed (\"{}\"){den}.", named),
            format!("SLUB 调试检查发现已释放的 {cache} 对象{obj} 在释放后被写入（\"{}\"）{dzh}。", named),
        ),
        SlabCheck::Other => Both::new(
            format!("SLUB's debug checks found the {cache} object{obj} damaged: \"{}\"{den}.", s.problem),
            format!("SLUB 调试检查发现 {cache} 对象{obj}已损坏：\"{}\"{dzh}。", s.problem),
        ),
    }];
    if s.check != SlabCheck::DoubleFree {
        narrative.extend(detector_words(s));
    }
    match (s.check, sites(s)) {
        (SlabCheck::Redzone, Some(w)) => {
            let (a, f) = (&s.allocated_in, &s.freed_in);
            narrative.push(Both::new(
                format!(
                    "SLUB's tracking says it was {}{}.",
                    w.en.split(" and freed in").next().unwrap_or(&w.en),
                    a.as_ref()
                        .map(|a| format!(
                            ": the overrun is in the code that uses what {} allocated",
                            a.function
                        ))
                        .unwrap_or_default()
                ),
                format!(
                    "SLUB 的跟踪记录显示它{}{}。",
                    w.zh.split('，').next().unwrap_or(&w.zh),
                    a.as_ref()
                        .map(|a| format!("：越界写出自使用 {} 所分配对象的代码", a.function))
                        .unwrap_or_default()
                ),
            ));
            if let Some(f) = f {
                narrative.push(Both::new(
                    format!("Its \"Freed in\" ({}) is the free of that memory's previous object, before this allocation: it says nothing about the overrun.", f.text),
                    format!("报告中的 \"Freed in\"（{}）是这块内存上一个对象的释放记录，发生在这次分配之前，与这次越界无关。", f.text),
                ));
            }
        }
        (SlabCheck::Poison, Some(w)) => {
            let same = match (&s.allocated_in, &s.freed_in) {
                (Some(a), Some(f)) if a.module.is_some() && a.module == f.module => {
                    a.module.clone()
                }
                _ => None,
            };
            let freer = s
                .freed_in
                .as_ref()
                .map(|f| f.function.as_str())
                .unwrap_or("its free");
            narrative.push(Both::new(
                format!("SLUB's tracking says it was {}: code that still held a pointer to it wrote to it after {freer} had freed it (a use after free).", w.en),
                format!("SLUB 的跟踪记录显示它{}：{freer} 释放它之后，仍持有其指针的代码又写了它（释放后使用，use after free）。", w.zh),
            ));
            narrative.push(match same {
                Some(m) => Both::new(
                    format!("The report does not record the write itself, so no function is named; both sites are in module {m}, whose users of these objects are where to look."),
                    format!("报告不会记录那次写操作本身，所以这里不指认具体函数；分配和释放都在 {m} 模块中，应从该模块里使用这类对象的代码查起。"),
                ),
                None => Both::new(
                    "The report does not record the write itself, so no function is named.",
                    "报告不会记录那次写操作本身，所以这里不指认具体函数。",
                ),
            });
        }
        (_, Some(w)) => narrative.push(Both::new(
            format!("SLUB's tracking says it was {}.", w.en),
            format!("SLUB 的跟踪记录显示它{}。", w.zh),
        )),
        (_, None) => narrative.push(Both::new(
            "The report has no allocation or free sites (boot with slub_debug=U to record them).",
            "报告中没有分配和释放的位置（启动参数加上 slub_debug=U 才会记录）。",
        )),
    }
    let mut evidence = Vec::new();
    if let Some(o) = &s.object_in_dump {
        let same = o.cache == *cache;
        evidence.push((
            "memory",
            Both::new(
                format!(
                    "The dump's page for {:#x} is a slab of {} ({}).",
                    o.object,
                    o.cache,
                    if same {
                        "the cache the report names"
                    } else {
                        "not the cache the report names"
                    }
                ),
                format!(
                    "dump 中 {:#x} 所在的页属于 {} 的 slab（{}）。",
                    o.object,
                    o.cache,
                    if same {
                        "与报告中的缓存一致"
                    } else {
                        "与报告中的缓存不一致"
                    }
                ),
            ),
        ));
    }
    if let (Some(d), Some(o)) = (&s.damage, &s.damage_in_dump) {
        evidence.push((
            "memory",
            Both::new(
                format!(
                    "The first damaged byte {:#x} lies in the {} slab object {:#x}, {} bytes from its start ({} bytes of object).",
                    d.start, o.cache, o.object, o.offset as i64, o.object_size
                ),
                format!(
                    "第一个被改写的字节 {:#x} 位于 {} 的 slab 对象 {:#x} 内，距对象起始 {} 字节（对象大小 {} 字节）。",
                    d.start, o.cache, o.object, o.offset as i64, o.object_size
                ),
            ),
        ));
    }
    evidence.push((
        "log",
        Both::new(
            format!("The report: \"BUG {cache} (...): {}\".", s.problem),
            format!("报告原文：\"BUG {cache} (...): {}\"。", s.problem),
        ),
    ));
    let alloc = s.allocated_in.as_ref().map(|a| a.text.as_str());
    let next_steps = vec![match s.check {
        SlabCheck::DoubleFree => Both::new(
            "Find the two frees of the object: the first (\"Freed in\") and the one on the panicking stack; one of them frees an object it no longer owns (set the pointer to NULL after kfree(), or take a reference count).",
            "找出这个对象的两次释放：第一次（\"Freed in\"）和 panic 调用栈上的这一次；其中一处释放了已经不归它所有的对象（kfree() 之后把指针置 NULL，或者改用引用计数）。",
        ),
        SlabCheck::Redzone => Both::new(
            format!("Check the writes into the objects {} allocates from {cache}: a length, index or string copy that runs past the size it asked for; KASAN (CONFIG_KASAN) on a test system stops at the bad write itself.", alloc.unwrap_or("the code that allocated the object")),
            format!("检查 {} 从 {cache} 分配的对象的写操作：长度、下标或字符串拷贝是否超出了申请的大小；在测试环境打开 KASAN（CONFIG_KASAN）可以直接停在那次越界写上。", alloc.unwrap_or("分配这个对象的代码")),
        ),
        SlabCheck::Poison => Both::new(
            format!("Find who keeps a pointer to {cache} objects after {} frees them (a missing reference count, a list, timer or work item not removed before the free); KASAN on a test system names the write itself.", s.freed_in.as_ref().map(|f| f.text.as_str()).unwrap_or("their free")),
            format!("找出在 {} 释放 {cache} 对象之后仍持有其指针的代码（缺少引用计数，释放前没有从链表、定时器或工作队列中移除）；在测试环境打开 KASAN 可以直接定位到那次写操作。", s.freed_in.as_ref().map(|f| f.text.as_str()).unwrap_or("释放处")),
        ),
        SlabCheck::Other => Both::new(
            "Check the code that allocated the object for writes past its size or after its free; KASAN on a test system names the bad write itself.",
            "检查分配这个对象的代码有没有越界写或释放后写；在测试环境打开 KASAN 可以直接定位到那次错误的写操作。",
        ),
    }];
    ClassWords {
        narrative,
        evidence,
        next_steps,
    }
}

pub fn stack_section(s: &StackProtector, lang: Lang) -> String {
    let f = s.function.as_ref().map(|x| x.text.as_str()).unwrap_or("?");
    match lang {
        Lang::Zh => format!("canary 被改写的函数：{f}\n"),
        Lang::En => format!("CANARY OVERWRITTEN IN: {f}\n"),
    }
}

pub fn list_section(l: &ListCorruption, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let mut s = String::new();
    let _ = writeln!(s, "{}: {}", if zh { "报告" } else { "REPORT" }, l.message);
    if let Some(c) = &l.caller {
        let _ = writeln!(s, "{}: {}", if zh { "调用者" } else { "CALLER" }, c.text);
    }
    let _ = writeln!(
        s,
        "  {:<6} {:<18} {}",
        if zh { "角色" } else { "ROLE" },
        if zh { "地址" } else { "ADDRESS" },
        if zh { "所在位置" } else { "WHAT HOLDS IT" }
    );
    for p in &l.places {
        let w = where_words(p);
        let what = match (&p.symbol, &p.slab) {
            (Some(sy), _) => sy.clone(),
            (None, Some(o)) => format!("{} {:#x}+{:#x}", o.cache, o.object, o.offset),
            _ => "-".into(),
        };
        let _ = w;
        let _ = writeln!(s, "  {:<6} {:016x}   {what}", p.role, p.address);
    }
    s
}

pub fn slab_section(x: &SlabCorruption, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let mut s = String::new();
    let l = |en: &'static str, z: &'static str| if zh { z } else { en };
    let _ = writeln!(s, "{}: {}", l("CACHE", "缓存"), x.cache);
    let _ = writeln!(s, "{}: {}", l("PROBLEM", "问题"), x.problem);
    if let Some(r) = &x.region {
        let _ = writeln!(s, "{}: {r}", l("REGION", "区域"));
    }
    if let Some(o) = x.object {
        let _ = writeln!(s, "{}: {o:016x}", l("OBJECT", "对象"));
    }
    if let Some(o) = x.slab {
        let _ = writeln!(s, "{}: {o:016x}", l("SLAB", "slab"));
    }
    if let Some(a) = &x.allocated_in {
        let _ = writeln!(s, "{}: {}", l("ALLOCATED IN", "分配位置"), a.text);
    }
    if let Some(f) = &x.freed_in {
        let _ = writeln!(s, "{}: {}", l("FREED IN", "释放位置"), f.text);
    }
    if let Some(d) = &x.damage {
        let _ = writeln!(
            s,
            "{}: {:016x}-{:016x} {:#04x} {} {:#04x}{}",
            l("DAMAGE", "被改写"),
            d.start,
            d.end,
            d.first_byte,
            l("instead of", "应为"),
            d.expected,
            x.damage_offset
                .map(|o| format!(" ({} {o})", l("object offset", "对象内偏移")))
                .unwrap_or_default()
        );
    }
    match (x.check, &x.freeing_caller, &x.detected_by) {
        (SlabCheck::DoubleFree, Some(c), _) => {
            let _ = writeln!(s, "{}: {}", l("FREED AGAIN BY", "再次释放者"), c.text);
        }
        (_, _, Some(c)) => {
            let when = match x.detected_in.as_deref() {
                Some("alloc") => l("allocating", "分配时"),
                _ => l("freeing", "释放时"),
            };
            let _ = writeln!(s, "{}: {} ({when})", l("FOUND BY", "发现者"), c.text);
        }
        _ => {}
    }
    if let Some(o) = &x.object_in_dump {
        let _ = writeln!(
            s,
            "{}: {} {:016x} ({} {})",
            l("IN THE DUMP", "dump 中"),
            o.cache,
            o.object,
            o.object_size,
            l("bytes", "字节")
        );
    }
    s
}

pub fn bad_page_words(_v: &Verdict, b: &BadPage) -> ClassWords {
    let pfn = b.pfn.map(|p| format!(" (pfn {p:#x})")).unwrap_or_default();
    let pfn_zh = b.pfn.map(|p| format!("（pfn {p:#x}）")).unwrap_or_default();
    let reason = b.reason.as_deref().unwrap_or("?");
    // After a deferred check the process on the log line only flushed the list: not the freer.
    let (who, who_zh) = match (&b.freeing_caller, &b.process) {
        (Some(c), _) => (
            format!(", freed by {}", c.text),
            format!("，释放它的是 {}", c.text),
        ),
        (None, Some(p)) if !b.deferred_check => (
            format!(", freed by process {p}"),
            format!("，释放它的是进程 {p}"),
        ),
        _ => (String::new(), String::new()),
    };
    let mut narrative = vec![Both::new(
        format!("The page allocator was given back a page{pfn} that is still in use (\"{reason}\"){who}: whoever set up that use (a mapping, a reference, a flag) freed the page without undoing it, or freed a page that was not its own."),
        format!("页分配器收回的页{pfn_zh}仍处于使用状态（\"{reason}\"）{who_zh}：设置这种使用状态（映射、引用计数、标志位）的代码没有撤销就释放了页，或者释放了不属于自己的页。"),
    )];
    if b.deferred_check {
        narrative.push(Both::new(
            "The check ran when a per-CPU list of freed pages was flushed (free_pcppages_bulk), later than the free itself: the functions on the panicking stack only freed other pages and are not the cause, and who freed this page cannot be told from the stack.",
            "这次检查是在刷新每 CPU 空闲页链表（free_pcppages_bulk）时做的，比真正释放这个页要晚：panic 调用栈上的函数只是释放了别的页，不是原因，从调用栈也无法判断是谁释放了这个页。",
        ));
    }
    let mut evidence = Vec::new();
    if let Some(l) = &b.page_line {
        evidence.push((
            "log",
            Both::new(
                format!("The page as dumped: \"{l}\"."),
                format!("页的转储信息：\"{l}\"。"),
            ),
        ));
    }
    if let Some(p) = b.page {
        evidence.push((
            "memory",
            Both::new(
                format!("Its struct page is at {p:#x} (vmemmap)."),
                format!("它的 struct page 位于 {p:#x}（vmemmap）。"),
            ),
        ));
    }
    let next_steps = vec![Both::new(
        "Check the code that freed the page: every get_page()/page mapping/SetPage*() it did needs its put_page()/unmap/ClearPage*() before __free_pages(); page_owner (page_owner=on, CONFIG_PAGE_OWNER) records who allocated each page.",
        "检查释放这个页的代码：它做过的每个 get_page()、页映射或 SetPage*()，在 __free_pages() 之前都要有对应的 put_page()、解除映射或 ClearPage*()；打开 page_owner（CONFIG_PAGE_OWNER，启动参数 page_owner=on）可以记录每个页是谁分配的。",
    )];
    ClassWords {
        narrative,
        evidence,
        next_steps,
    }
}

pub fn bad_page_section(b: &BadPage, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let l = |en: &'static str, z: &'static str| if zh { z } else { en };
    let mut s = String::new();
    if let Some(p) = b.pfn {
        let _ = writeln!(s, "PFN: {p:#x}");
    }
    if let Some(p) = b.page {
        let _ = writeln!(s, "{}: {p:016x}", l("PAGE", "struct page"));
    }
    if let Some(r) = &b.reason {
        let _ = writeln!(s, "{}: {r}", l("REASON", "原因"));
    }
    if let Some(p) = &b.page_line {
        let _ = writeln!(s, "  {p}");
    }
    if let Some(c) = &b.freeing_caller {
        let _ = writeln!(s, "{}: {}", l("FREED BY", "释放者"), c.text);
    }
    if let Some(p) = &b.process {
        let _ = writeln!(s, "{}: {p}", l("PROCESS", "进程"));
    }
    s
}

//! An OOM panic in words: who took the memory (user space, or a slab cache that leaked and the
//! module behind it), and the tables a support engineer would type in crash: `kmem -i`, `ps`
//! sorted by RSS, `kmem -s` sorted by size, and the OOM report the kernel printed.

use super::ClassWords;
use crate::analysis::classes::oom::{Hog, Oom, ToldBy};
use crate::analysis::verdict::Verdict;
use crate::kernel::sys::size_text;
use crate::render::verdict::Both;
use crate::render::Lang;
use std::fmt::Write;

fn pages(p: u64) -> String {
    size_text(p.saturating_mul(4096))
}

fn told_by(t: &[ToldBy], cache: &str, m: &str, ctor: Option<&str>, f: Option<&str>) -> Both {
    let mut en = Vec::new();
    let mut zh = Vec::new();
    for x in t {
        match x {
            ToldBy::NamePrefix => {
                en.push(format!(
                    "the cache's name {cache} starts with the module's name"
                ));
                zh.push(format!("缓存名 {cache} 以模块名开头"));
            }
            ToldBy::Constructor => {
                let c = ctor.unwrap_or("?");
                en.push(format!("its constructor {c} is a function of {m}"));
                zh.push(format!("它的构造函数 {c} 属于 {m} 模块"));
            }
            ToldBy::AllocatingStack => {
                let f = f.unwrap_or("?");
                en.push(format!(
                    "{f} [{m}] was allocating when memory ran out (the panicking stack)"
                ));
                zh.push(format!(
                    "内存耗尽时正在分配的是 {f} [{m}]（panic 时的调用栈）"
                ));
            }
        }
    }
    Both::new(en.join("; "), zh.join("；"))
}

fn panic_reason(o: &Oom) -> Both {
    match o.report.panic_reason.as_deref() {
        Some(r) if r.contains("panic_on_oom") => Both::new(
            format!("and vm.panic_on_oom made the OOM killer panic instead of killing a process (\"{r}\")"),
            format!("由于设置了 vm.panic_on_oom，OOM killer 没有杀进程而是直接 panic（\"{r}\"）"),
        ),
        Some(r) => Both::new(
            format!("and the OOM killer gave up (\"{r}\")"),
            format!("OOM killer 最终放弃（\"{r}\"）"),
        ),
        None => Both::new(
            "and the OOM killer panicked",
            "OOM killer 触发了 panic",
        ),
    }
}

fn swap_words(o: &Oom) -> Both {
    let total = o
        .memory
        .as_ref()
        .and_then(|m| m.swap_total)
        .or_else(|| o.report.total_swap_kb.map(|k| k / 4));
    match total {
        Some(0) => Both::new("the machine has no swap", "机器没有配置 swap"),
        Some(p) => Both::new(
            format!("swap: {}", pages(p)),
            format!("swap 共 {}", pages(p)),
        ),
        None => Both::new("", ""),
    }
}

pub fn words(_v: &Verdict, o: &Oom) -> ClassWords {
    let pr = panic_reason(o);
    let sw = swap_words(o);
    let (sw_en, sw_zh) = if sw.en.is_empty() {
        (String::new(), String::new())
    } else {
        (format!(" ({})", sw.en), format!("（{}）", sw.zh))
    };
    let mut narrative = Vec::new();
    match &o.hog {
        Hog::UserSpace {
            pid,
            comm,
            rss_pages,
            all_rss_pages,
        } => {
            narrative.push(Both::new(
                format!("This is memory pressure from user space, not a kernel bug: the processes used up the memory{sw_en}, {}.", pr.en),
                format!("这是用户态进程造成的内存压力，不是内核缺陷：进程把内存用完了{sw_zh}，{}。", pr.zh),
            ));
            let share = if *all_rss_pages > 0 {
                rss_pages * 100 / all_rss_pages
            } else {
                0
            };
            narrative.push(Both::new(
                format!("The largest process is \"{comm}\" (PID {pid}) with {} resident, {share}% of the {} all processes hold.", pages(*rss_pages), pages(*all_rss_pages)),
                format!("占用内存最多的进程是 \"{comm}\"（PID {pid}），常驻内存 {}，占所有进程合计 {} 的 {share}%。", pages(*rss_pages), pages(*all_rss_pages)),
            ));
            if let Some(who) = &o.report.invoked_by {
                if who != comm {
                    narrative.push(Both::new(
                        format!("The task that hit the limit (\"{who}\") only made the last allocation; the kernel code on its stack is not the cause."),
                        format!("触发 OOM 的任务（\"{who}\"）只是最后一个申请内存的，它调用栈上的内核函数不是原因。"),
                    ));
                } else {
                    narrative.push(Both::new(
                        "The kernel functions on the panicking stack only made the last allocation; they are not the cause.",
                        "panic 调用栈上的内核函数只是做了最后一次内存分配，不是原因。",
                    ));
                }
            }
        }
        Hog::SlabCache {
            cache,
            bytes,
            module,
            told_by: t,
            allocating_function,
            ctor,
        } => {
            let user: u64 = o.tasks.iter().map(|t| t.rss).sum();
            narrative.push(Both::new(
                format!("This is a kernel memory leak: the slab cache {cache} grew to {}, more than all user processes hold ({}), until memory ran out{sw_en}, {}.", size_text(*bytes), pages(user), pr.en),
                format!("这是内核内存泄漏：slab 缓存 {cache} 增长到 {}，超过所有用户进程占用的内存（{}），直到内存耗尽{sw_zh}，{}。", size_text(*bytes), pages(user), pr.zh),
            ));
            match module {
                Some(m) => {
                    let how = told_by(t, cache, m, ctor.as_deref(), allocating_function.as_deref());
                    narrative.push(Both::new(
                        format!("The cache belongs to module {m}: {}.", how.en),
                        format!("这个缓存属于 {m} 模块：{}。", how.zh),
                    ));
                }
                None => narrative.push(Both::new(
                    "Which code allocates from it cannot be told from the dump (no module name in it, no module constructor, no module frame on the panicking stack).",
                    "无法从 dump 判断是哪段代码在从这个缓存分配（缓存名中没有模块名，构造函数不在模块里，panic 调用栈上也没有模块的函数）。",
                )),
            }
        }
        Hog::Unclear => narrative.push(Both::new(
            format!("The system ran out of memory{sw_en}, {}; neither one process nor one slab cache holds most of it (see the memory summary below).", pr.en),
            format!("系统内存耗尽{sw_zh}，{}；没有哪一个进程或哪一个 slab 缓存占用了大部分内存（见下面的内存概况）。", pr.zh),
        )),
    }
    let mut evidence = Vec::new();
    if let Some(who) = &o.report.invoked_by {
        let g = o.report.gfp_mask.as_deref().unwrap_or("?");
        let ord = o.report.order.unwrap_or(0);
        evidence.push((
            "log",
            Both::new(
                format!("\"{who} invoked oom-killer\": an allocation with gfp_mask={g}, order={ord} found no memory to reclaim."),
                format!("\"{who} invoked oom-killer\"：一次 gfp_mask={g}、order={ord} 的内存分配找不到可回收的内存。"),
            ),
        ));
    }
    if let Some(m) = &o.memory {
        let f = |x: Option<u64>| x.map(pages).unwrap_or_else(|| "?".into());
        evidence.push((
            "memory",
            Both::new(
                format!("vm_stat: {} RAM, {} free, page cache {}, anonymous {}, slab {} reclaimable / {} unreclaimable.", pages(m.total), pages(m.free), f(m.page_cache), f(m.anon), f(m.slab_reclaimable), f(m.slab_unreclaimable)),
                format!("vm_stat 计数：内存 {}，空闲 {}，页缓存 {}，匿名页 {}，slab 可回收 {} / 不可回收 {}。", pages(m.total), pages(m.free), f(m.page_cache), f(m.anon), f(m.slab_reclaimable), f(m.slab_unreclaimable)),
            ),
        ));
    }
    if let Some(t) = o.tasks.first() {
        evidence.push((
            "memory",
            Both::new(
                format!(
                    "Largest mm_struct: \"{}\" (PID {}), RSS {} (anon {}, file {}, shmem {}).",
                    t.comm,
                    t.pid,
                    pages(t.rss),
                    pages(t.anon),
                    pages(t.file),
                    pages(t.shmem)
                ),
                format!(
                    "最大的 mm_struct：\"{}\"（PID {}），RSS {}（匿名 {}，文件 {}，共享内存 {}）。",
                    t.comm,
                    t.pid,
                    pages(t.rss),
                    pages(t.anon),
                    pages(t.file),
                    pages(t.shmem)
                ),
            ),
        ));
    }
    if let Some(c) = o.caches.first() {
        evidence.push((
            "memory",
            Both::new(
                format!(
                    "Largest slab cache: {} with {} slabs, {} objects of {} bytes, {}.",
                    c.name,
                    c.slabs,
                    c.total_objects,
                    c.object_size,
                    size_text(c.bytes)
                ),
                format!(
                    "最大的 slab 缓存：{}，{} 个 slab，{} 个 {} 字节的对象，共 {}。",
                    c.name,
                    c.slabs,
                    c.total_objects,
                    c.object_size,
                    size_text(c.bytes)
                ),
            ),
        ));
    }
    if let Some((n, _, t)) = o.report.unreclaimable_slab.iter().max_by_key(|x| x.2) {
        evidence.push((
            "log",
            Both::new(
                format!("The report's \"Unreclaimable slab info\" puts {n} first with {t} KB."),
                format!("OOM 报告中的 \"Unreclaimable slab info\" 表里最大的是 {n}，{t} KB。"),
            ),
        ));
    }
    for u in &o.unread {
        evidence.push((
            "memory",
            Both::new(format!("Not read: {u}."), format!("未能读取：{u}。")),
        ));
    }
    let next_steps = match &o.hog {
        Hog::UserSpace { comm, .. } => vec![
            Both::new(
                format!("Find out why \"{comm}\" grew that large (a leak in the program, an unbounded cache, a workload bigger than the machine) and cap it: a memory cgroup limit (systemd MemoryMax=, a container memory limit) confines the OOM to it."),
                format!("查清 \"{comm}\" 为什么占用这么多内存（程序内存泄漏、无上限的缓存、负载超出机器容量），并给它设上限：用内存 cgroup 限制（systemd 的 MemoryMax=、容器的内存限制），OOM 就只发生在它内部。"),
            ),
            Both::new(
                "Decide whether vm.panic_on_oom=1 is wanted: with 0 the OOM killer kills the largest process and the machine stays up; add memory or swap if the workload needs it.",
                "评估是否真的需要 vm.panic_on_oom=1：设为 0 时 OOM killer 会杀掉最大的进程，机器可以继续运行；如果业务确实需要更多内存，请加内存或配置 swap。",
            ),
        ],
        Hog::SlabCache { cache, module, .. } => {
            let m = module.as_deref().unwrap_or("the code that allocates from it");
            let mz = module.as_deref().unwrap_or("分配它的代码");
            vec![
                Both::new(
                    format!("Look in {m} for objects of {cache} that are allocated and never freed (every kmem_cache_alloc() needs its kmem_cache_free() on each path, the error paths included); kmemleak (CONFIG_DEBUG_KMEMLEAK) and /proc/slabinfo or slabtop over time confirm the growth on a live system."),
                    format!("检查 {mz} 中 {cache} 对象只分配不释放的地方（每个 kmem_cache_alloc() 在每条路径上、包括出错路径，都需要对应的 kmem_cache_free()）；在运行中的系统上可以用 kmemleak（CONFIG_DEBUG_KMEMLEAK）以及持续观察 /proc/slabinfo 或 slabtop 来确认它在增长。"),
                ),
            ]
        }
        Hog::Unclear => vec![Both::new(
            "Compare the memory summary with what the machine should use: large page tables, kernel stacks or vmalloc usage point to many processes or a kernel leak outside slab.",
            "把内存概况和机器预期的用量对比：页表、内核栈或 vmalloc 占用过大，说明进程过多或存在 slab 之外的内核泄漏。",
        )],
    };
    ClassWords {
        narrative,
        evidence,
        next_steps,
    }
}

pub fn section(o: &Oom, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let t = |en: &'static str, z: &'static str| if zh { z } else { en };
    let mut s = String::new();
    if let Some(m) = &o.memory {
        let _ = writeln!(s, "{}", t("MEMORY (kmem -i)", "内存概况（kmem -i）"));
        let _ = writeln!(
            s,
            "  {:<20} {:>10} {:>12}  {}",
            "",
            t("PAGES", "页数"),
            t("TOTAL", "大小"),
            t("PERCENTAGE", "比例")
        );
        let row = |s: &mut String, name: &str, p: Option<u64>| {
            if let Some(p) = p {
                let pct = match (p * 100).checked_div(m.total) {
                    Some(pc) => format!(
                        "{:>3}% {}",
                        pc,
                        if zh { "占总内存" } else { "of TOTAL MEM" }
                    ),
                    None => String::new(),
                };
                let _ = writeln!(s, "  {name:<20} {p:>10} {:>12}  {pct}", pages(p));
            }
        };
        let _ = writeln!(
            s,
            "  {:<20} {:>10} {:>12}  ----",
            t("TOTAL MEM", "总内存"),
            m.total,
            pages(m.total)
        );
        row(&mut s, t("FREE", "空闲"), Some(m.free));
        row(&mut s, t("PAGE CACHE", "页缓存"), m.page_cache);
        row(&mut s, t("SHARED (shmem)", "共享内存（shmem）"), m.shmem);
        row(&mut s, t("ANON", "匿名页"), m.anon);
        row(
            &mut s,
            t("SLAB RECLAIMABLE", "slab 可回收"),
            m.slab_reclaimable,
        );
        row(
            &mut s,
            t("SLAB UNRECLAIMABLE", "slab 不可回收"),
            m.slab_unreclaimable,
        );
        row(&mut s, t("PAGE TABLES", "页表"), m.page_tables);
        if let Some(kb) = m.kernel_stack_kb {
            row(&mut s, t("KERNEL STACKS", "内核栈"), Some(kb / 4));
        }
        let _ = writeln!(
            s,
            "  {:<20} {:>10} {:>12}",
            t("TOTAL SWAP", "swap 总量"),
            m.swap_total.unwrap_or(0),
            pages(m.swap_total.unwrap_or(0))
        );
        let _ = writeln!(
            s,
            "  {:<20} {:>10} {:>12}",
            t("SWAP FREE", "swap 空闲"),
            m.swap_free.unwrap_or(0),
            pages(m.swap_free.unwrap_or(0))
        );
    }
    if !o.tasks.is_empty() {
        let _ = writeln!(
            s,
            "\n{}",
            t(
                "PROCESSES BY RSS (ps, pages)",
                "按常驻内存排序的进程（ps，单位：页）"
            )
        );
        let _ = writeln!(
            s,
            "  {:>7}  {:>9} {:>9} {:>8} {:>8} {:>7} {:>7}  COMM",
            "PID", "RSS", "TOTAL_VM", "ANON", "FILE", "SHMEM", "OOM_ADJ"
        );
        for p in &o.tasks {
            let adj = p
                .oom_score_adj
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                s,
                "  {:>7}  {:>9} {:>9} {:>8} {:>8} {:>7} {:>7}  {}",
                p.pid, p.rss, p.total_vm, p.anon, p.file, p.shmem, adj, p.comm
            );
        }
    }
    if !o.caches.is_empty() {
        let _ = writeln!(
            s,
            "\n{}",
            t(
                "SLAB CACHES BY SIZE (kmem -s)",
                "按大小排序的 slab 缓存（kmem -s）"
            )
        );
        let _ = writeln!(
            s,
            "  {:<16} {:>7} {:>9} {:>7} {:>5} {:>9}  NAME",
            "CACHE", "OBJSIZE", "TOTAL", "SLABS", "SSIZE", "SIZE"
        );
        for c in &o.caches {
            let _ = writeln!(
                s,
                "  {:016x} {:>7} {:>9} {:>7} {:>4}k {:>9}  {}",
                c.addr,
                c.object_size,
                c.total_objects,
                c.slabs,
                4u64 << c.order.min(20),
                size_text(c.bytes),
                c.name
            );
        }
    }
    let r = &o.report;
    let _ = writeln!(s, "\n{}", t("OOM REPORT (log)", "OOM 报告（日志）"));
    if let Some(w) = &r.invoked_by {
        let _ = writeln!(
            s,
            "  {}: {w}  gfp_mask={}  order={}",
            t("invoked by", "触发者"),
            r.gfp_mask.as_deref().unwrap_or("?"),
            r.order.unwrap_or(0)
        );
    }
    if let Some(p) = &r.panic_reason {
        let _ = writeln!(s, "  panic: {p}");
    }
    for k in &r.killed {
        let _ = writeln!(
            s,
            "  {}: {} ({}) anon-rss {} kB  total-vm {} kB  {}",
            t("killed", "被杀死"),
            k.pid,
            k.comm,
            k.anon_rss_kb.unwrap_or(0),
            k.total_vm_kb.unwrap_or(0),
            k.constraint.as_deref().unwrap_or("")
        );
    }
    if !r.unreclaimable_slab.is_empty() {
        let mut u = r.unreclaimable_slab.clone();
        crate::util::sort_by_key(&mut u, |x| std::cmp::Reverse(x.2));
        let _ = writeln!(
            s,
            "  {}:",
            t(
                "unreclaimable slab (largest)",
                "不可回收 slab（最大的几项）"
            )
        );
        for (n, used, total) in u.iter().take(5) {
            let _ = writeln!(s, "    {n:<24} {used:>9}KB {total:>9}KB");
        }
    }
    if let Some(top) = r.tasks.iter().max_by_key(|t| t.rss) {
        let _ = writeln!(
            s,
            "  {}: {} (PID {}) rss {} {}",
            t("largest in the task table", "任务表中最大的进程"),
            top.name,
            top.tgid,
            top.rss,
            t("pages", "页")
        );
    }
    for u in &o.unread {
        let _ = writeln!(s, "  {}: {u}", t("not read", "未能读取"));
    }
    s
}

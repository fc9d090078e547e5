//! "Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled": the page
//! allocator found no memory to reclaim and `vm.panic_on_oom` made the OOM killer panic instead
//! of killing a process. Who took the memory is the question: user-space processes (memory
//! pressure: no kernel function is to blame), or a slab cache that only grew (a kernel leak:
//! the code that allocates from it).
//!
//! Two witnesses, both kept: the OOM report the kernel printed (mm/oom_kill.c `dump_header()`:
//! the "invoked oom-killer" line, Mem-Info, the unreclaimable slab table when slab outgrew the
//! LRU pages, the task table, and "oom-kill:" / "Killed process" when a victim was chosen), and
//! the dump's memory ([`crate::kernel::mem`]: the page counters, each process's RSS;
//! [`crate::kernel::slab`]: every cache's size).

use super::{Examined, Finding, Input};
use crate::analysis::model::{Confidence, CpuTrace, CrashClass, ModuleInfo, PanicInfo};
use crate::analysis::oops::Oops;
use crate::analysis::verdict::{Culprit, CulpritRule, Taint};
use crate::kernel::mem::{self, MemSummary, TaskMem};
use crate::kernel::slab::{self, SlabCache};
use serde::Serialize;

/// Rows kept of each table (tasks, caches).
pub const TOP: usize = 10;
/// Lines of an OOM report read at most (the task table of a big machine is long).
const MAX_REPORT_LINES: usize = 20_000;

/// One row of the report's task table ("Tasks state (memory values in pages)").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OomTaskRow {
    pub pid: u32,
    pub uid: u32,
    pub tgid: u32,
    pub total_vm: u64,
    pub rss: u64,
    pub pgtables_bytes: u64,
    pub swapents: u64,
    pub oom_score_adj: i32,
    pub name: String,
}

/// "Out of memory: Killed process N (X) total-vm:..kB, anon-rss:..kB, file-rss:..kB,
/// shmem-rss:..kB, UID:.. pgtables:..kB oom_score_adj:.."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OomKill {
    pub pid: u32,
    pub comm: String,
    pub total_vm_kb: Option<u64>,
    pub anon_rss_kb: Option<u64>,
    pub file_rss_kb: Option<u64>,
    pub shmem_rss_kb: Option<u64>,
    /// From the "oom-kill:constraint=...,task=X,pid=N,uid=U" line.
    pub constraint: Option<String>,
    pub uid: Option<u32>,
}

/// The OOM report as the kernel printed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OomReport {
    /// The task whose allocation failed ("X invoked oom-killer").
    pub invoked_by: Option<String>,
    pub gfp_mask: Option<String>,
    pub order: Option<u32>,
    /// "system-wide panic_on_oom is enabled", "compulsory panic_on_oom is enabled",
    /// "System is deadlocked on memory".
    pub panic_reason: Option<String>,
    /// Mem-Info's `name:pages` counters, in the printed order.
    pub mem_info: Vec<(String, u64)>,
    pub total_swap_kb: Option<u64>,
    pub free_swap_kb: Option<u64>,
    pub pages_ram: Option<u64>,
    pub pages_reserved: Option<u64>,
    /// "Unreclaimable slab info": (cache, used KiB, total KiB).
    pub unreclaimable_slab: Vec<(String, u64, u64)>,
    pub tasks: Vec<OomTaskRow>,
    /// Victims the OOM killer chose before (when panic_on_oom did not stop it).
    pub killed: Vec<OomKill>,
}

/// Strips the `[    1.234567] ` prefix (or a continuation line's indent).
fn body(l: &str) -> &str {
    let t = l.trim_start();
    match t.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((ts, rest)) if ts.trim().parse::<f64>().is_ok() => rest.trim(),
        _ => t.trim(),
    }
}

fn num_kb(s: &str, key: &str) -> Option<u64> {
    let v = s.split(key).nth(1)?;
    let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    v[..end].parse().ok()
}

/// Parses the OOM report: from the last "invoked oom-killer" line (the one that panicked) on.
pub fn parse_report(log: &str) -> Option<OomReport> {
    let lines: Vec<&str> = log.lines().map(body).collect();
    let start = lines
        .iter()
        .rposition(|l| l.contains(" invoked oom-killer: "));
    let panic = lines.iter().rposition(|l| {
        l.starts_with("Kernel panic - not syncing: ") && l.contains("Out of memory")
    });
    let (start, panic) = match (start, panic) {
        (Some(s), p) => (s, p),
        (None, Some(p)) => (p, Some(p)),
        (None, None) => return None,
    };
    let mut r = OomReport::default();
    // The kill lines of earlier OOM kills come before the last report: read them all.
    for l in &lines[..start.min(lines.len())] {
        parse_kill(l, &mut r.killed);
    }
    let l0 = lines[start];
    if let Some((who, rest)) = l0.split_once(" invoked oom-killer: ") {
        r.invoked_by = Some(who.to_string());
        r.gfp_mask = rest
            .split("gfp_mask=")
            .nth(1)
            .and_then(|v| v.split(", ").next())
            .map(str::to_string);
        r.order = num_kb(rest, "order=").map(|v| v as u32);
    }
    let end = panic
        .map(|p| p + 1)
        .unwrap_or(lines.len())
        .min(start + MAX_REPORT_LINES);
    #[derive(PartialEq)]
    enum In {
        Head,
        MemInfo,
        Slab,
        Tasks,
    }
    let mut at = In::Head;
    // 6.2+ print rss_anon, rss_file, rss_shmem after rss.
    let mut split_rss = false;
    for l in &lines[start..end] {
        if l.starts_with("Kernel panic - not syncing: ") {
            r.panic_reason = l
                .split_once("Out of memory: ")
                .map(|(_, s)| s.trim().to_string())
                .or_else(|| {
                    l.split_once("not syncing: ")
                        .map(|(_, s)| s.trim().to_string())
                });
            break;
        }
        if *l == "Mem-Info:" {
            at = In::MemInfo;
            continue;
        }
        if l.starts_with("Unreclaimable slab info:") {
            at = In::Slab;
            continue;
        }
        if l.starts_with("Tasks state (memory values in pages)") {
            at = In::Tasks;
            continue;
        }
        if let Some(kb) = l.strip_prefix("Free swap  = ") {
            r.free_swap_kb = num_kb(kb, "");
        } else if let Some(kb) = l.strip_prefix("Total swap = ") {
            r.total_swap_kb = num_kb(kb, "");
        } else if l.ends_with(" pages RAM") {
            r.pages_ram = num_kb(l, "");
        } else if l.ends_with(" pages reserved") {
            r.pages_reserved = num_kb(l, "");
        }
        parse_kill(l, &mut r.killed);
        match at {
            In::MemInfo if !l.starts_with("Node ") && !l.contains(" total pagecache") => {
                for kv in l.split_whitespace() {
                    if let Some((k, v)) = kv.split_once(':') {
                        if let Ok(v) = v.parse::<u64>() {
                            if r.mem_info.len() < 64 {
                                r.mem_info.push((k.to_string(), v));
                            }
                        }
                    }
                }
            }
            In::Slab => {
                let f: Vec<&str> = l.split_whitespace().collect();
                if let [name, used, total] = f[..] {
                    if let (Some(u), Some(t)) = (kb(used), kb(total)) {
                        r.unreclaimable_slab.push((name.to_string(), u, t));
                    }
                }
            }
            In::Tasks => {
                if l.starts_with("[  pid  ]") {
                    split_rss = l.contains(" rss_anon ");
                } else if let Some(t) = task_row(l, split_rss) {
                    r.tasks.push(t);
                }
            }
            _ => {}
        }
    }
    Some(r)
}

fn kb(s: &str) -> Option<u64> {
    s.strip_suffix("KB")?.parse().ok()
}

/// `[    107]     0   107     4394     4092    69632        0             0 memhog`; with
/// `split_rss` three more columns (rss_anon rss_file rss_shmem) follow rss.
fn task_row(l: &str, split_rss: bool) -> Option<OomTaskRow> {
    let rest = l.strip_prefix('[')?;
    let (pid, rest) = rest.split_once(']')?;
    let mut f: Vec<&str> = rest.split_whitespace().collect();
    if split_rss && f.len() >= 10 {
        f.drain(4..7);
    }
    if f.len() < 7 {
        return None;
    }
    Some(OomTaskRow {
        pid: pid.trim().parse().ok()?,
        uid: f[0].parse().ok()?,
        tgid: f[1].parse().ok()?,
        total_vm: f[2].parse().ok()?,
        rss: f[3].parse().ok()?,
        pgtables_bytes: f[4].parse().ok()?,
        swapents: f[5].parse().ok()?,
        oom_score_adj: f[6].parse().ok()?,
        name: f[7..].join(" "),
    })
}

/// "oom-kill:constraint=CONSTRAINT_NONE,...,task=X,pid=N,uid=U" and "Out of memory: Killed
/// process N (X) total-vm:..kB, anon-rss:..kB, file-rss:..kB, shmem-rss:..kB, UID:..".
fn parse_kill(l: &str, killed: &mut Vec<OomKill>) {
    if killed.len() >= 64 {
        return;
    }
    if let Some(rest) = l.strip_prefix("oom-kill:") {
        let field = |k: &str| {
            rest.split(',')
                .find_map(|kv| kv.strip_prefix(k))
                .map(str::to_string)
        };
        let (Some(pid), Some(task)) = (field("pid="), field("task=")) else {
            return;
        };
        let Ok(pid) = pid.parse() else { return };
        killed.push(OomKill {
            pid,
            comm: task,
            constraint: field("constraint="),
            uid: field("uid=").and_then(|u| u.parse().ok()),
            ..Default::default()
        });
    } else if let Some(rest) = l
        .split_once("Killed process ")
        .filter(|(a, _)| {
            a.ends_with("Out of memory: ") || a.ends_with("Memory cgroup out of memory: ")
        })
        .map(|(_, r)| r)
    {
        let Some((pid, rest)) = rest.split_once(" (") else {
            return;
        };
        let Some((comm, rest)) = rest.split_once(") ") else {
            return;
        };
        let Ok(pid) = pid.parse::<u32>() else { return };
        let k = match killed.iter_mut().rev().find(|k| k.pid == pid) {
            Some(k) => k,
            None => {
                killed.push(OomKill {
                    pid,
                    comm: comm.to_string(),
                    ..Default::default()
                });
                killed.last_mut().expect("pushed")
            }
        };
        k.total_vm_kb = num_kb(rest, "total-vm:");
        k.anon_rss_kb = num_kb(rest, "anon-rss:");
        k.file_rss_kb = num_kb(rest, "file-rss:");
        k.shmem_rss_kb = num_kb(rest, "shmem-rss:");
        k.uid = k.uid.or_else(|| num_kb(rest, "UID:").map(|v| v as u32));
    }
}

/// How a slab cache was tied to a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToldBy {
    /// The cache's name starts with the module's name (`crashlens_lab_leak`).
    NamePrefix,
    /// The cache's constructor is a function of the module.
    Constructor,
    /// The allocation that hit the OOM was made by the module's code (on the panicking stack).
    AllocatingStack,
}

/// Who took the memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Hog {
    /// User-space processes: memory pressure, no kernel culprit; the largest process named.
    UserSpace {
        pid: u32,
        comm: String,
        rss_pages: u64,
        /// Pages of every process's RSS together.
        all_rss_pages: u64,
    },
    /// A slab cache that grew until memory ran out (a kernel leak).
    SlabCache {
        cache: String,
        bytes: u64,
        /// The module that allocates from it, when it could be told, and how.
        module: Option<String>,
        told_by: Vec<ToldBy>,
        /// The module's function on the panicking stack that made the failing allocation.
        allocating_function: Option<String>,
        /// The constructor's symbol.
        ctor: Option<String>,
    },
    /// Neither stands out (the memory is elsewhere: page cache, page tables, vmalloc...).
    Unclear,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Oom {
    pub report: OomReport,
    /// The page counters read from the dump (crash's `kmem -i`).
    pub memory: Option<MemSummary>,
    /// Processes by RSS, largest first (from the dump's `mm_struct`s).
    pub tasks: Vec<TaskMem>,
    /// Slab caches by size, largest first (crash's `kmem -s`).
    pub caches: Vec<SlabCache>,
    /// What could not be read (no BTF, a slab list cut short...).
    pub unread: Vec<String>,
    pub hog: Hog,
}

fn panic_line<'a>(panic: &'a PanicInfo, log: &'a str) -> Option<&'a str> {
    panic
        .panic_string
        .as_deref()
        .filter(|s| s.contains("Out of memory"))
        .or_else(|| {
            log.lines()
                .rev()
                .find(|l| l.contains("Kernel panic - not syncing: Out of memory"))
        })
}

pub fn recognise(panic: &PanicInfo, _oops: Option<&Oops>, log: &str) -> bool {
    panic_line(panic, log).is_some()
}

/// The module a cache belongs to by its name: `crashlens_lab_leak` -> `crashlens_lab`.
fn module_by_name<'a>(cache: &str, modules: &'a [ModuleInfo]) -> Option<&'a ModuleInfo> {
    modules
        .iter()
        .filter(|m| {
            let n = m.name.as_str();
            cache
                .strip_prefix(n)
                .or_else(|| cache.strip_prefix(&n.replace('_', "-")))
                .is_some_and(|r| r.is_empty() || r.starts_with(['_', '-', ':']))
        })
        .max_by_key(|m| m.name.len())
}

/// The first frame of the panicking CPU's trace in module `m` (the allocation's caller).
fn module_frame(traces: &[CpuTrace], cpu: Option<u32>, m: &str) -> Option<String> {
    traces
        .iter()
        .filter(|t| cpu.is_none_or(|c| t.cpu == c))
        .flat_map(|t| t.frames.iter())
        .find(|f| f.module.as_deref() == Some(m))
        .and_then(|f| f.function.clone())
}

pub fn examine(inp: &Input) -> Option<Examined> {
    panic_line(inp.panic, inp.log)?;
    let report = parse_report(inp.log).unwrap_or_default();
    let k = inp.kernel;
    let mut unread = Vec::new();
    let memory = mem::mem_summary(k)
        .map_err(|e| unread.push(format!("memory counters: {e}")))
        .ok();
    let tasks = mem::task_memory(k, usize::MAX)
        .map_err(|e| unread.push(format!("process memory: {e}")))
        .unwrap_or_default();
    let all_rss: u64 = tasks.iter().map(|t| t.rss).sum();
    let mut caches = match slab::slab_caches(k) {
        Ok((c, cut)) => {
            if let Some(c) = cut {
                unread.push(format!("slab caches: {c}"));
            }
            c
        }
        Err(e) => {
            unread.push(format!("slab caches: {e}"));
            Vec::new()
        }
    };
    crate::util::sort_by(&mut caches, |a, b| {
        b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name))
    });
    // Rows from the log where the dump could not give them.
    let log_rss: u64 = report.tasks.iter().map(|t| t.rss).sum();
    let unreclaimable = memory
        .as_ref()
        .and_then(|m| m.slab_unreclaimable)
        .or_else(|| {
            report
                .mem_info
                .iter()
                .find(|(k, _)| k == "slab_unreclaimable")
                .map(|x| x.1)
        })
        .unwrap_or(0);
    let user = if tasks.is_empty() { log_rss } else { all_rss };
    let top_cache: Option<(String, u64, Option<u64>)> = caches
        .first()
        .map(|c| (c.name.clone(), c.bytes, c.ctor))
        .or_else(|| {
            report
                .unreclaimable_slab
                .iter()
                .max_by_key(|x| x.2)
                .map(|x| (x.0.clone(), x.2 << 10, None))
        });
    let hog = match top_cache {
        // Unreclaimable slab beyond all user memory, and one cache holding most of it: a leak.
        Some((name, bytes, ctor)) if unreclaimable > user && bytes / 4096 * 2 > unreclaimable => {
            let by_name = module_by_name(&name, inp.modules).map(|m| m.name.clone());
            let ctor_sym = ctor.and_then(|c| k.symbols().lookup(c).map(|(s, _)| s.clone()));
            let by_ctor = ctor_sym.as_ref().and_then(|s| s.module.clone());
            let module = by_name.clone().or(by_ctor.clone());
            let mut told_by = Vec::new();
            if by_name.is_some() {
                told_by.push(ToldBy::NamePrefix);
            }
            if by_ctor.is_some() && by_ctor == module {
                told_by.push(ToldBy::Constructor);
            }
            let allocating_function = module
                .as_deref()
                .and_then(|m| module_frame(inp.traces, inp.panic.cpu, m));
            if allocating_function.is_some() {
                told_by.push(ToldBy::AllocatingStack);
            }
            Hog::SlabCache {
                cache: name,
                bytes,
                module,
                told_by,
                allocating_function,
                ctor: ctor_sym.map(|s| s.name),
            }
        }
        _ => match (tasks.first(), report.tasks.iter().max_by_key(|t| t.rss)) {
            (Some(t), _) if t.rss * 4 > user.max(1) => Hog::UserSpace {
                pid: t.pid as u32,
                comm: t.comm.clone(),
                rss_pages: t.rss,
                all_rss_pages: all_rss,
            },
            (None, Some(t)) => Hog::UserSpace {
                pid: t.tgid,
                comm: t.name.clone(),
                rss_pages: t.rss,
                all_rss_pages: log_rss,
            },
            _ => Hog::Unclear,
        },
    };
    let culprit = match &hog {
        Hog::SlabCache {
            module: Some(m),
            allocating_function: Some(f),
            cache,
            ..
        } => Some(Culprit {
            function: f.clone(),
            module: Some(m.clone()),
            confidence: Confidence::High,
            rule: CulpritRule::SlabLeak {
                cache: cache.clone(),
            },
            taint: inp
                .modules
                .iter()
                .find(|x| &x.name == m)
                .map(|x| Taint::of(&x.taint))
                .unwrap_or_default(),
        }),
        _ => None,
    };
    caches.truncate(TOP);
    let tasks = tasks.into_iter().take(TOP).collect();
    Some(Examined {
        class: CrashClass::Oom,
        finding: Finding::Oom(Box::new(Oom {
            report,
            memory,
            tasks,
            caches,
            unread,
            hog,
        })),
        culprit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kill_lines() {
        let mut k = Vec::new();
        parse_kill("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=memhog,pid=109,uid=0", &mut k);
        parse_kill("Out of memory: Killed process 109 (memhog) total-vm:37032kB, anon-rss:36164kB, file-rss:4kB, shmem-rss:0kB, UID:0 pgtables:108kB oom_score_adj:0", &mut k);
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].pid, 109);
        assert_eq!(k[0].comm, "memhog");
        assert_eq!(k[0].constraint.as_deref(), Some("CONSTRAINT_NONE"));
        assert_eq!(k[0].anon_rss_kb, Some(36164));
        assert_eq!(k[0].total_vm_kb, Some(37032));
        assert_eq!(k[0].uid, Some(0));
    }

    #[test]
    fn parses_a_task_row() {
        let t = task_row(
            "[    109]     0   109     9258     9042   110592        0             0 memhog",
            false,
        )
        .unwrap();
        assert_eq!((t.pid, t.tgid, t.total_vm, t.rss), (109, 109, 9258, 9042));
        assert_eq!(t.name, "memhog");
        assert!(task_row(
            "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
            false
        )
        .is_none());
        let t = task_row("[    110]     0   110      567      393       13        1       379    36864        0             0 sh", true).unwrap();
        assert_eq!(
            (t.tgid, t.rss, t.pgtables_bytes, t.name.as_str()),
            (110, 393, 36864, "sh")
        );
    }
}

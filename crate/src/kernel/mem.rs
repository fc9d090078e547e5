//! Memory at the crash, the way crash's `kmem -i` and `ps` (RSS) tell it: the global page
//! counters (`vm_zone_stat[]`, `vm_node_stat[]`, `_totalram_pages`, the swap counters) and each
//! process's resident set (`mm_struct.rss_stat`).
//!
//! Indices come from BTF (`enum zone_stat_item`, `enum node_stat_item`, the `MM_*PAGES`
//! enumerators), never from the release: the items move between releases (slab moved from the
//! zone to the node counters in 4.13 and counts `_B` since 5.9; `NR_ANON_MAPPED` was
//! `NR_ANON_PAGES` before 4.8). The RSS counters are an `atomic_long_t count[]` in `struct
//! mm_rss_stat` before 6.2 and an array of `struct percpu_counter` since (commit f1a7941243c1
//! "mm: convert mm's rss stats into percpu_counter"): told apart by the member's BTF shape.

use super::btf::{Btf, Kind};
use super::Kernel;
use serde::Serialize;

/// The global memory counters, in pages (crash's `kmem -i` lines).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemSummary {
    pub page_size: u64,
    /// `_totalram_pages` (`totalram_pages` before 5.0): RAM the page allocator manages.
    pub total: u64,
    /// `NR_FREE_PAGES`.
    pub free: u64,
    /// `NR_FILE_PAGES`: the page cache (shared memory included, as in `kmem -i`'s CACHED).
    pub page_cache: Option<u64>,
    /// `NR_SHMEM` (tmpfs, shared anonymous memory; part of the page cache).
    pub shmem: Option<u64>,
    /// `NR_ANON_MAPPED`: anonymous memory mapped by processes.
    pub anon: Option<u64>,
    pub slab_reclaimable: Option<u64>,
    pub slab_unreclaimable: Option<u64>,
    /// `NR_KERNEL_STACK_KB`, in KiB.
    pub kernel_stack_kb: Option<u64>,
    /// `NR_PAGETABLE`.
    pub page_tables: Option<u64>,
    /// `total_swap_pages`; 0 when no swap is configured.
    pub swap_total: Option<u64>,
    /// `nr_swap_pages`.
    pub swap_free: Option<u64>,
}

/// Reads `name` (an `atomic_long_t` array indexed by the enumerators of `enum_name`) at
/// `item`, clamped at 0 (the global counters lag the per-CPU deltas and can be negative).
fn stat(k: &Kernel, b: &Btf, sym: u64, len: u64, enum_name: &str, item: &str) -> Option<u64> {
    let i = b.enum_member(enum_name, item)?;
    let i = u64::try_from(i).ok().filter(|&i| i < len)?;
    let v = k.read_u64(sym + 8 * i).ok()? as i64;
    Some(v.max(0) as u64)
}

/// The memory counters, or why they cannot be read.
pub fn mem_summary(k: &Kernel) -> Result<MemSummary, String> {
    let b = k
        .btf()
        .ok_or("no BTF: the vm_stat item indices are unknown")?;
    let zone = k.symbol("vm_zone_stat").ok_or("no vm_zone_stat symbol")?;
    let zlen = b
        .enum_member("zone_stat_item", "NR_VM_ZONE_STAT_ITEMS")
        .ok_or("enum zone_stat_item not in BTF")? as u64;
    let node = k.symbol("vm_node_stat");
    let nlen = b
        .enum_member("node_stat_item", "NR_VM_NODE_STAT_ITEMS")
        .unwrap_or(0) as u64;
    // An item in the node counters (4.8+), else in the zone counters (where it was before).
    let item = |names: &[&str]| -> Option<u64> {
        names.iter().find_map(|n| {
            node.and_then(|s| stat(k, b, s, nlen, "node_stat_item", n))
                .or_else(|| stat(k, b, zone, zlen, "zone_stat_item", n))
        })
    };
    let free = stat(k, b, zone, zlen, "zone_stat_item", "NR_FREE_PAGES")
        .ok_or("vm_zone_stat[NR_FREE_PAGES] unreadable")?;
    let total = ["_totalram_pages", "totalram_pages"]
        .iter()
        .find_map(|s| k.symbol(s))
        .and_then(|a| k.read_u64(a).ok())
        .ok_or("_totalram_pages unreadable")?;
    let long = |s: &str| {
        k.symbol(s)
            .and_then(|a| k.read_u64(a).ok())
            .map(|v| (v as i64).max(0) as u64)
    };
    Ok(MemSummary {
        page_size: 4096,
        total,
        free,
        page_cache: item(&["NR_FILE_PAGES"]),
        shmem: item(&["NR_SHMEM"]),
        anon: item(&["NR_ANON_MAPPED", "NR_ANON_PAGES"]),
        slab_reclaimable: item(&["NR_SLAB_RECLAIMABLE_B", "NR_SLAB_RECLAIMABLE"]),
        slab_unreclaimable: item(&["NR_SLAB_UNRECLAIMABLE_B", "NR_SLAB_UNRECLAIMABLE"]),
        kernel_stack_kb: item(&["NR_KERNEL_STACK_KB"]),
        page_tables: item(&["NR_PAGETABLE"]),
        swap_total: long("total_swap_pages"),
        swap_free: long("nr_swap_pages"),
    })
}

/// One process's memory (crash's `ps` VSZ/RSS), in pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskMem {
    pub pid: i32,
    pub comm: String,
    #[serde(with = "crate::util::hex")]
    pub task: u64,
    #[serde(with = "crate::util::hex")]
    pub mm: u64,
    /// `mm_struct.total_vm`.
    pub total_vm: u64,
    /// `MM_ANONPAGES`, `MM_FILEPAGES`, `MM_SHMEMPAGES`: rss is their sum (`get_mm_rss()`).
    pub anon: u64,
    pub file: u64,
    pub shmem: u64,
    pub swap: u64,
    pub rss: u64,
    /// `signal_struct.oom_score_adj`.
    pub oom_score_adj: Option<i16>,
}

/// How `mm_struct.rss_stat` holds its counters.
#[derive(Debug, Clone, Copy)]
enum RssShape {
    /// 6.2+: `struct percpu_counter rss_stat[]`: `count` + every CPU's `counters` delta.
    PerCpu {
        elem: u64,
        count: u64,
        counters: u64,
    },
    /// Before: `struct mm_rss_stat { atomic_long_t count[]; }`.
    Atomic,
}

struct MmLayout {
    mm: u64,
    rss_stat: u64,
    shape: RssShape,
    total_vm: Option<u64>,
    /// `MM_FILEPAGES`, `MM_ANONPAGES`, `MM_SWAPENTS`, `MM_SHMEMPAGES`.
    idx: [Option<u64>; 4],
    signal: Option<u64>,
    oom_score_adj: Option<u64>,
}

fn mm_layout(k: &Kernel) -> Result<MmLayout, String> {
    let b = k.btf().ok_or("no BTF: mm_struct layout unknown")?;
    let l = k.task_layout().map_err(|e| e.to_string())?;
    let mm = l.mm.ok_or("task_struct.mm not known")?;
    let rss_stat = b
        .member_offset("mm_struct", "rss_stat")
        .ok_or("mm_struct.rss_stat not in BTF")?;
    let shape = match b.member_shape("mm_struct", "rss_stat") {
        Some((Kind::Array, ref e, Some(_))) if e == "percpu_counter" => RssShape::PerCpu {
            elem: b
                .struct_size("percpu_counter")
                .ok_or("percpu_counter size")?,
            count: b
                .member_offset("percpu_counter", "count")
                .ok_or("percpu_counter.count")?,
            counters: b
                .member_offset("percpu_counter", "counters")
                .ok_or("percpu_counter.counters")?,
        },
        Some((Kind::Struct, ref n, None)) if n == "mm_rss_stat" => RssShape::Atomic,
        other => return Err(format!("mm_struct.rss_stat has an unknown shape {other:?}")),
    };
    let e = |n: &str| {
        b.enum_value(n)
            .and_then(|v| u64::try_from(v).ok())
            .filter(|&v| v < 16)
    };
    Ok(MmLayout {
        mm,
        rss_stat,
        shape,
        total_vm: b.member_offset("mm_struct", "total_vm"),
        idx: [
            e("MM_FILEPAGES"),
            e("MM_ANONPAGES"),
            e("MM_SWAPENTS"),
            e("MM_SHMEMPAGES"),
        ],
        signal: l.signal,
        oom_score_adj: b.member_offset("signal_struct", "oom_score_adj"),
    })
}

fn counter(k: &Kernel, l: &MmLayout, mm: u64, i: Option<u64>, cpu_offs: &[u64]) -> Option<u64> {
    let i = i?;
    let v = match l.shape {
        RssShape::Atomic => k.read_u64(mm + l.rss_stat + 8 * i).ok()? as i64,
        RssShape::PerCpu {
            elem,
            count,
            counters,
        } => {
            let c = mm + l.rss_stat + elem * i;
            let mut v = k.read_u64(c + count).ok()? as i64;
            let pcp = k.read_u64(c + counters).ok()?;
            if pcp != 0 {
                for off in cpu_offs {
                    if let Ok(d) = k.read_u32(pcp.wrapping_add(*off)) {
                        v += d as i32 as i64;
                    }
                }
            }
            v
        }
    };
    Some(v.max(0) as u64)
}

/// Processes with memory (one per `mm`: threads share their leader's), largest RSS first, at
/// most `max`. The walk is bounded by the task list (itself bounded).
pub fn task_memory(k: &Kernel, max: usize) -> Result<Vec<TaskMem>, String> {
    let l = mm_layout(k)?;
    let cpu_offs: Vec<u64> = (0..k.nr_cpus().clamp(1, super::cpus::MAX_CPUS))
        .filter_map(|c| super::tasks::per_cpu_offset(k, c))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for t in k.tasks().0.iter().filter(|t| !t.idle) {
        let Ok(mm) = k.read_u64(t.addr + l.mm) else {
            continue;
        };
        if mm == 0 || !seen.insert(mm) {
            continue;
        }
        let c = |i: usize| counter(k, &l, mm, l.idx[i], &cpu_offs).unwrap_or(0);
        let (file, anon, swap, shmem) = (c(0), c(1), c(2), c(3));
        let oom_score_adj = match (l.signal, l.oom_score_adj) {
            (Some(s), Some(o)) => k
                .read_u64(t.addr + s)
                .ok()
                .filter(|&p| p != 0)
                .and_then(|p| k.read_u16(p + o).ok())
                .map(|v| v as i16),
            _ => None,
        };
        out.push(TaskMem {
            pid: t.tgid,
            comm: t.comm.clone(),
            task: t.addr,
            mm,
            total_vm: l
                .total_vm
                .and_then(|o| k.read_u64(mm + o).ok())
                .unwrap_or(0),
            anon,
            file,
            shmem,
            swap,
            rss: anon + file + shmem,
            oom_score_adj,
        });
    }
    crate::util::sort_by(&mut out, |a, b| b.rss.cmp(&a.rss).then(a.pid.cmp(&b.pid)));
    out.truncate(max);
    Ok(out)
}

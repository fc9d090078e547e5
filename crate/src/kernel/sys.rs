//! A summary like crash's `sys`, read from the dump alone: utsname, CPUs (present / online
//! masks), date (timekeeper `xtime_sec`, else VMCOREINFO CRASHTIME), uptime (jiffies),
//! load average (`avenrun`), tasks, memory (`totalram_pages`), CPU clock (`cpu_khz`), the
//! panic message (crash's `get_panicmsg` order) and the panicking task (`panic_cpu`).

use crate::bytes::Le;

use super::{printk, tasks, Kernel};
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SysInfo {
    pub release: Option<String>,
    pub version: Option<String>,
    pub nodename: Option<String>,
    pub machine: Option<String>,
    pub cpus: Option<u32>,
    pub cpus_offline: Option<u32>,
    /// Seconds since the epoch at the crash.
    pub date: Option<u64>,
    /// `date` as crash prints it (`Wed Nov 25 17:39:04 UTC 2026`).
    pub date_text: Option<String>,
    /// Where `date` came from: `vmcoreinfo` (CRASHTIME) or `timekeeper (SYMBOL)`.
    pub date_source: Option<String>,
    pub uptime_secs: Option<u64>,
    /// `HH:MM:SS`, or `N days, HH:MM:SS`.
    pub uptime: Option<String>,
    /// How the uptime was computed (`jiffies, HZ 250 from tick_nsec`).
    pub uptime_source: Option<String>,
    pub load_average: Option<String>,
    pub tasks: Option<usize>,
    pub memory_bytes: Option<u64>,
    pub memory: Option<String>,
    pub cpu_mhz: Option<u64>,
    /// Kernel taint letters from `tainted_mask` (`G` when untainted... empty string here means
    /// not tainted), e.g. `OE`; crash prints `[TAINTED]` when non-empty.
    pub tainted: Option<String>,
    /// The panic message as crash's `sys` shows it.
    pub panic: Option<String>,
    pub panic_task: Option<PanicTask>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PanicTask {
    pub cpu: u32,
    pub pid: i32,
    pub comm: String,
    #[serde(with = "crate::util::hex")]
    pub task: u64,
}

fn hms(s: u64) -> String {
    let (d, h, m, sec) = (s / 86400, (s % 86400) / 3600, (s % 3600) / 60, s % 60);
    if d > 0 {
        format!("{d} days, {h:02}:{m:02}:{sec:02}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

/// crash's memory size: `127.5 MB`, `4 GB`.
pub fn size_text(bytes: u64) -> String {
    let (v, unit) = if bytes >= 1 << 30 {
        (bytes as f64 / (1u64 << 30) as f64, "GB")
    } else {
        (bytes as f64 / (1u64 << 20) as f64, "MB")
    };
    let t = format!("{v:.1}");
    format!("{} {unit}", t.strip_suffix(".0").unwrap_or(&t))
}

/// crash's get_panicmsg(): the first line matching the highest-priority pattern group.
pub fn panic_message(log: &[printk::LogRecord]) -> Option<String> {
    let groups: [&[&str]; 4] = [
        &[
            "general protection fault: ",
            "double fault: ",
            "divide error: ",
            "stack segment: ",
        ],
        &[
            "SysRq : Netdump",
            "SysRq : Crash",
            "SysRq : Trigger a crash",
            "sysrq: Trigger a crash",
        ],
        &["Oops: ", "Kernel BUG at", "kernel BUG at"],
        &["Kernel panic - not syncing: ", "Kernel panic: "],
    ];
    for (gi, g) in groups.iter().enumerate() {
        for r in log {
            for pat in *g {
                if let Some(i) = r.text.find(pat) {
                    let line = r.text[i..].lines().next().unwrap_or("").trim_end();
                    return Some(if gi == 3 {
                        line.trim_start_matches("Kernel panic - not syncing: ")
                            .trim_start_matches("Kernel panic: ")
                            .to_string()
                    } else {
                        format!("\"{line}\" (check log for details)")
                    });
                }
            }
        }
    }
    None
}

/// `INITIAL_JIFFIES` (include/linux/jiffies.h): five minutes before the 32-bit wrap.
fn initial_jiffies(hz: u64) -> u64 {
    (hz.wrapping_mul(300) as u32).wrapping_neg() as u64
}

/// The HZ (of those x86_64 kernels are configured with) under which `jiffies` since boot
/// equal the monotonic clock `mono_ns`, to within a second; None when none or several do.
fn hz_from_monotonic(jiffies: u64, mono_ns: u64) -> Option<u64> {
    let mono = mono_ns as f64 / 1e9;
    let fits: Vec<(u64, f64)> = [100u64, 250, 300, 1000]
        .into_iter()
        .map(|hz| {
            let up = jiffies.wrapping_sub(initial_jiffies(hz)) as f64 / hz as f64;
            (hz, (up - mono).abs())
        })
        .filter(|&(_, d)| d < 1.0)
        .collect();
    match fits.as_slice() {
        [(hz, _)] => Some(*hz),
        // Near 300 s of uptime the candidates meet: the closest, if clearly so.
        [..] if fits.len() > 1 => {
            let mut f = fits.clone();
            crate::util::sort_by(&mut f, |a, b| a.1.total_cmp(&b.1));
            (f[1].1 - f[0].1 > 0.05).then_some(f[0].0)
        }
        _ => None,
    }
}

/// The kernel's timekeeper, as far as the dump tells it.
struct Timekeeper {
    /// The variable it was found in.
    symbol: &'static str,
    xtime_sec: Option<u64>,
    /// CLOCK_MONOTONIC at the last tick (`tkr_mono.base`), nanoseconds.
    mono_ns: Option<u64>,
}

/// `struct timekeeper` through BTF, in whichever variable this kernel keeps it: `tk_core`
/// (3.17 - 6.16: `{ seqcount; struct timekeeper timekeeper; ... }`), `timekeeper_data[]`
/// (6.17+, auxiliary clocks; element 0 is the core timekeeper, a `struct tk_data`), or a
/// plain `timekeeper` / `shadow_timekeeper`.
fn timekeeper(k: &Kernel) -> Option<Timekeeper> {
    let b = k.btf()?;
    let t = k.symbols();
    let xs = b.member_offset("timekeeper", "xtime_sec")?;
    // Offset of the timekeeper inside tk_core / tk_data: BTF's tk_data where it exists, else
    // the seqcount rounded up to 8 (tk_core was an anonymous struct).
    let inner = b.member_offset("tk_data", "timekeeper").unwrap_or_else(|| {
        let seq = b.struct_size("seqcount_raw_spinlock").unwrap_or(4);
        (seq + 7) & !7
    });
    let (symbol, base) = [
        ("tk_core", inner),
        ("timekeeper_data", inner),
        ("timekeeper", 0),
        ("shadow_timekeeper", 0),
    ]
    .into_iter()
    .find_map(|(n, off)| t.addr_of(n).map(|a| (n, a + off)))?;
    let xtime_sec = k.read_u64(base + xs).ok().filter(|&v| v > 0);
    let mono_ns = b
        .member_offset("timekeeper", "tkr_mono.base")
        .and_then(|o| k.read_u64(base + o).ok())
        .filter(|&v| v > 0 && v < 1 << 62);
    Some(Timekeeper {
        symbol,
        xtime_sec,
        mono_ns,
    })
}

pub fn sys_info(k: &Kernel) -> SysInfo {
    let (mut s, at) = sys_info_parts(k);
    add_tasks(k, &mut s, at);
    s
}

/// The task count (a walk of the whole task list) into `s`, its warnings inserted at `at` in
/// `s.warnings` (where [`sys_info`] has them); returns those warnings.
pub fn add_tasks(k: &Kernel, s: &mut SysInfo, at: usize) -> Vec<String> {
    let (tv, tw) = k.tasks();
    if !tv.is_empty() {
        s.tasks = Some(tv.len());
    }
    let at = at.min(s.warnings.len());
    s.warnings.splice(at..at, tw.iter().cloned());
    tw.clone()
}

/// [`sys_info`] without the task count (the report adds it after the verdict, which does not
/// need the walk: [`add_tasks`]); also returns where in `warnings` the task list's go.
pub fn sys_info_parts(k: &Kernel) -> (SysInfo, usize) {
    let mut s = SysInfo::default();
    let t = k.symbols();
    let var_u64 = |name: &str| var_u64(k, name);
    if let Some(u) = read_utsname(k) {
        s.release = Some(u[2].clone());
        s.version = Some(u[3].clone());
        s.nodename = Some(u[1].clone());
        s.machine = Some(u[4].clone());
    } else {
        s.warnings
            .push("utsname unreadable (no init_uts_ns)".into());
        s.release = k.vmcoreinfo.osrelease.clone();
    }
    // CPUs: crash counts present CPUs and reports those not online (stopped by panic's IPI).
    let c = k.cpus();
    s.cpus = Some(c.count).filter(|&n| n > 0);
    s.cpus_offline = c.offline;
    if c.offline.is_none() {
        s.warnings
            .push("CPU masks unreadable: CPU count from the dump's NT_PRSTATUS notes".into());
    }
    let tk = timekeeper(k);
    set_date(k, &mut s, &tk);
    s.date_text = s.date.map(crate::util::utc_date);
    set_uptime(k, &mut s, &tk);
    // avenrun[3]: fixed point, FSHIFT 11 (include/linux/sched/loadavg.h).
    if let Some(b) = t.addr_of("avenrun").and_then(|a| k.read_bytes(a, 24).ok()) {
        let f = |i: usize| {
            let x = b.u64_at(i * 8).unwrap_or(0) + (1 << 11) / 200; // FIXED_1/200 rounding
            format!("{}.{:02}", x >> 11, ((x & 2047) * 100) >> 11)
        };
        s.load_average = Some(format!("{}, {}, {}", f(0), f(1), f(2)));
    }
    let tasks_at = s.warnings.len();
    set_memory(k, &mut s);
    s.memory = s.memory_bytes.map(size_text);
    s.tainted = var_u64("tainted_mask").map(|m| {
        b"PFSRMBUDAWCIOELKXTNJ"
            .iter()
            .enumerate()
            .filter(|&(i, _)| m >> i & 1 != 0)
            .map(|(_, &c)| c as char)
            .collect()
    });
    s.cpu_mhz = t
        .addr_of("cpu_khz")
        .and_then(|a| k.read_u32(a).ok())
        .filter(|&v| v > 0)
        .map(|v| v as u64 / 1000);
    if let Ok(log) = printk::read_log(k) {
        s.panic = panic_message(&log);
    }
    s.panic_task = panic_task(k);
    (s, tasks_at)
}

/// A kernel variable's u64 value.
fn var_u64(k: &Kernel, name: &str) -> Option<u64> {
    k.symbols().addr_of(name).and_then(|a| k.read_u64(a).ok())
}

fn set_date(k: &Kernel, s: &mut SysInfo, tk: &Option<Timekeeper>) {
    // Date: VMCOREINFO CRASHTIME where kdump wrote it (the moment of the crash), else the
    // timekeeper's wall clock (xtime_sec), as crash's `sys` reads it.
    if let Some(c) = k.vmcoreinfo.crash_time {
        s.date = Some(c);
        s.date_source = Some("vmcoreinfo".into());
    } else if let Some(x) = tk.as_ref().and_then(|t| t.xtime_sec) {
        s.date = Some(x);
        s.date_source = Some(format!("timekeeper ({})", tk.as_ref().unwrap().symbol));
    } else {
        s.warnings.push(match &tk {
            Some(t) => format!(
                "crash date unknown (no CRASHTIME; {}.xtime_sec unreadable)",
                t.symbol
            ),
            None => "crash date unknown (no CRASHTIME, and the timekeeper's layout is not in BTF)"
                .into(),
        });
    }
}

fn set_uptime(k: &Kernel, s: &mut SysInfo, tk: &Option<Timekeeper>) {
    // Uptime: (jiffies_64 - INITIAL_JIFFIES) / HZ. HZ from tick_nsec (kernel/time/ntp.c) where
    // the kernel has it; kernels whose ntp code no longer keeps it (Debian's 7.x) give it by the
    // timekeeper's monotonic clock: the HZ under which jiffies count the same time.
    let jiffies = var_u64(k, "jiffies_64").or_else(|| var_u64(k, "jiffies"));
    let hz_tick = k
        .symbols()
        .addr_of("tick_nsec")
        .and_then(|a| k.read_u64(a).ok())
        .filter(|&n| n > 0 && n <= 1_000_000_000)
        .map(|n| (1_000_000_000 + n / 2) / n);
    let hz = match (hz_tick, jiffies) {
        (Some(hz), _) => Some((hz, "tick_nsec")),
        (None, Some(j)) => tk
            .as_ref()
            .and_then(|t| t.mono_ns)
            .and_then(|ns| hz_from_monotonic(j, ns))
            .map(|hz| (hz, "the timekeeper's monotonic clock")),
        _ => None,
    };
    match (hz, jiffies) {
        (Some((hz, from)), Some(j)) if hz > 0 => {
            let up = j.wrapping_sub(initial_jiffies(hz)) / hz;
            s.uptime_secs = Some(up);
            s.uptime = Some(hms(up));
            s.uptime_source = Some(format!("jiffies, HZ {hz} from {from}"));
        }
        _ => s.warnings.push(
            "uptime unknown (jiffies unreadable, or HZ: no tick_nsec and no timekeeper)".into(),
        ),
    }
}

fn set_memory(k: &Kernel, s: &mut SysInfo) {
    // totalram_pages: atomic_long_t _totalram_pages (5.0+), unsigned long totalram_pages before.
    let pages = var_u64(k, "_totalram_pages").or_else(|| var_u64(k, "totalram_pages"));
    let page = k.vmcoreinfo.page_size.unwrap_or(4096);
    match pages {
        Some(p) if p > 0 => s.memory_bytes = Some(p * page),
        _ => {
            let total: u64 = k.physical_ranges().iter().map(|(a, b)| b - a).sum();
            s.memory_bytes = Some(total);
            s.warnings.push(
                "totalram_pages unreadable: memory is the size of the dump's physical ranges"
                    .into(),
            );
        }
    }
    // crash's MEMORY counts present pages of all nodes; see memory_present().
    if let Some(present) = memory_present(k) {
        s.memory_bytes = Some(present * page);
    }
}

/// Sum of `node_present_pages` over online nodes (what crash's `sys` calls MEMORY).
fn memory_present(k: &Kernel) -> Option<u64> {
    let b = k.btf()?;
    let off = b.member_offset("pglist_data", "node_present_pages")?;
    let nd = k.symbols().addr_of("node_data")?;
    let n = k.vmcoreinfo.length("node_data").unwrap_or(1).min(1024);
    let mut total = 0;
    for i in 0..n {
        let p = k.read_u64(nd + 8 * i).ok()?;
        if p != 0 {
            total += k.read_u64(p + off).ok()?;
        }
    }
    (total > 0).then_some(total)
}

/// The task running on `panic_cpu` (per-CPU `pcpu_hot.current_task` since 6.2,
/// `current_task` before).
pub fn panic_task(k: &Kernel) -> Option<PanicTask> {
    let t = k.symbols();
    let cpu = k.read_u32(t.addr_of("panic_cpu")?).ok()?;
    if cpu == u32::MAX || cpu > 8192 {
        return None;
    }
    let task = tasks::current_task(k, cpu)?;
    let l = k.task_layout().ok()?;
    let tk = tasks::read_task(k, l, task).ok()?;
    Some(PanicTask {
        cpu,
        pid: tk.pid,
        comm: tk.comm,
        task,
    })
}

/// `init_uts_ns.name`: sysname, nodename, release, version, machine, domainname. The offset of
/// `name` comes from VMCOREINFO when it says (`OFFSET(uts_namespace.name)`), else from the
/// shape: `struct uts_namespace` starts with a `struct kref` (4 bytes) before 5.11 and with the
/// name itself after, so `name` is where "Linux" stands with the dump's release 130 bytes on.
pub fn read_utsname(k: &Kernel) -> Option<Vec<String>> {
    let ns = k
        .vmcoreinfo
        .symbol("init_uts_ns")
        .or_else(|| k.symbols().addr_of("init_uts_ns"))?;
    let b = k.read_bytes(ns, 16 + 65 * 6).ok()?;
    let field = |off: usize, i: usize| {
        let f = &b[off + i * 65..off + (i + 1) * 65];
        let end = f.iter().position(|&c| c == 0).unwrap_or(65);
        String::from_utf8_lossy(&f[..end]).into_owned()
    };
    let off = match k.vmcoreinfo.offset("uts_namespace.name") {
        Some(o) if o <= 16 => o as usize,
        _ => (0..=16).step_by(4).find(|&o| {
            field(o, 0) == "Linux"
                && k.vmcoreinfo
                    .osrelease
                    .as_deref()
                    .is_none_or(|r| field(o, 2) == r)
        })?,
    };
    Some((0..6).map(|i| field(off, i)).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::size_text(130560 * 1024), "127.5 MB");
        assert_eq!(super::size_text(4 << 30), "4 GB");
        assert_eq!(super::hms(1), "00:00:01");
        assert_eq!(super::hms(90061), "1 days, 01:01:01");
    }
}

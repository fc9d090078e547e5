use super::{open_session, print_json, Args, Format};
use crate::dump::diskdump::EXCLUDED_NOT_COUNTED;
use crate::error::Result;

pub fn run(a: &Args) -> Result<()> {
    let s = open_session(a)?;
    let k = &s.kernel;
    let physical_ranges = k.physical_ranges();
    // The report of a large machine's kdump leaves its excluded pages uncounted (that needs its
    // whole 1st page bitmap); the memory ranges listed here read that bitmap anyway: the pages
    // they cover (in memory or dumped) less the dumped ones are the excluded ones.
    let mut counted = k.container().clone();
    if counted.pages_excluded.is_none() {
        let page = k.vmcoreinfo.page_size.unwrap_or(4096).max(1);
        let in_ranges: u64 = physical_ranges.iter().map(|(s, e)| (e - s) / page).sum();
        counted.pages_excluded = Some(in_ranges.saturating_sub(counted.pages_present));
        counted
            .warnings
            .retain(|w| !w.starts_with(EXCLUDED_NOT_COUNTED));
    }
    let i = &counted;
    #[derive(serde::Serialize)]
    struct Info<'a> {
        container: &'a crate::dump::ContainerInfo,
        cpus: u32,
        /// How the saved register sets were matched to CPU numbers.
        cpu_mapping: crate::kernel::cpus::CpuMapping,
        vmcoreinfo: bool,
        physical_ranges: Vec<(u64, u64)>,
        cache: crate::cache::CacheStats,
    }
    let info = Info {
        container: i,
        cpus: k.nr_cpus(),
        cpu_mapping: k.cpus().mapping,
        vmcoreinfo: k.has_vmcoreinfo(),
        physical_ranges,
        cache: s.cache.stats(),
    };
    match a.format {
        Format::Json => print_json(&info),
        Format::Text => {
            use std::fmt::Write;
            let mut t = String::new();
            let _ = writeln!(t, "   FORMAT: {} — {}", i.format, i.description);
            let _ = writeln!(
                t,
                "FILE SIZE: {} bytes{}",
                i.file_size,
                i.files
                    .map(|n| format!(" in {n} files"))
                    .unwrap_or_default()
            );
            if let Some(v) = i.header_version {
                let level = i
                    .dump_level
                    .map(|l| format!(", dump level {l}"))
                    .unwrap_or_default();
                let _ = writeln!(t, "   HEADER: version {v}{level}");
            }
            let codecs = if i.codecs.is_empty() {
                "none (pages stored as is)".to_string()
            } else {
                i.codecs.join(", ")
            };
            let _ = writeln!(t, "   CODECS: {codecs}");
            let _ = writeln!(
                t,
                "    PAGES: {} present, {} excluded, {} zero",
                i.pages_present,
                i.pages_excluded
                    .map_or("(not counted)".to_string(), |n| n.to_string()),
                i.pages_zero
            );
            let saved = k.cpus_with_regs().len();
            let how = match info.cpu_mapping {
                crate::kernel::cpus::CpuMapping::CrashNotes => "matched to CPUs by crash_notes",
                crate::kernel::cpus::CpuMapping::OnlineMask => "in online-CPU order",
                crate::kernel::cpus::CpuMapping::Position => "in CPU order",
            };
            let _ = writeln!(
                t,
                "     CPUS: {} ({saved} NT_PRSTATUS notes, {how})",
                info.cpus
            );
            let _ = writeln!(
                t,
                "VMCOREINFO: {}",
                if info.vmcoreinfo { "present" } else { "absent" }
            );
            if let Some(pb) = i.phys_base {
                let _ = writeln!(
                    t,
                    "PHYS_BASE: {pb:#x} (container header{})",
                    if i.phys_base_corrected {
                        ", corrected"
                    } else {
                        ""
                    }
                );
            }
            if let Some(r) = &i.utsname_release {
                let _ = writeln!(t, "  RELEASE: {r} (container header)");
            }
            for (s, e) in &info.physical_ranges {
                let _ = writeln!(t, "   MEMORY: {s:#014x}-{e:#014x}");
            }
            for c in &i.corrections {
                let _ = writeln!(t, "CORRECTED: {c}");
            }
            for w in &i.warnings {
                let _ = writeln!(t, "  WARNING: {w}");
            }
            let c = &info.cache;
            let _ = writeln!(
                t,
                "    CACHE: {} bytes read, {} hits, {} misses, peak {} of {} bytes",
                c.bytes_read, c.hits, c.misses, c.peak_bytes, c.budget
            );
            super::out(&t);
        }
    }
    Ok(())
}

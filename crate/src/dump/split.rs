//! Split dumps (`makedumpfile --split`): several kdump-compressed files, each holding the pages
//! of one pfn range `[start_pfn_64, end_pfn_64)` of the same machine, given together in any order.
//! A single kdump file is a set of one part. Parts are checked to belong together (same page and
//! memory size, all marked split, no overlap); missing parts leave named gaps, whose pages read as
//! unreadable ("the part ... was not given"), never as zeros.

use super::diskdump::{
    describe, push_range, qemu_quirks, read_notes, unreadable, DiskDumpFile, EXCLUDED_COUNT_BYTES,
    EXCLUDED_NOT_COUNTED,
};
use super::notes::Notes;
use super::{ContainerInfo, Dump, PhysMem, Source};
use crate::error::{Error, MemError, Result};

/// Physical memory of one file or of all parts of a split dump (sorted by start pfn).
pub struct DiskDumpMem {
    parts: Vec<DiskDumpFile>,
    page_size: u64,
}

impl DiskDumpMem {
    fn part(&self, pfn: u64) -> Option<&DiskDumpFile> {
        if self.parts.len() == 1 {
            return self.parts.first();
        }
        let i = self.parts.partition_point(|p| p.start_pfn <= pfn);
        i.checked_sub(1)
            .map(|i| &self.parts[i])
            .filter(|p| p.holds(pfn))
    }
}

impl PhysMem for DiskDumpMem {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> std::result::Result<(), MemError> {
        let mut done = 0usize;
        while done < buf.len() {
            let pa = paddr
                .checked_add(done as u64)
                .ok_or(MemError::NoPhysical { paddr: u64::MAX })?;
            let n = (buf.len() - done).min((self.page_size - pa % self.page_size) as usize);
            let pfn = pa / self.page_size;
            let Some(part) = self.part(pfn) else {
                let max = self.parts.iter().map(|p| p.max_mapnr).max().unwrap_or(0);
                return Err(if pfn < max {
                    unreadable(
                        pa,
                        "the part of the split dump that holds this page was not given",
                    )
                } else {
                    MemError::NoPhysical { paddr: pa }
                });
            };
            part.read_span(pa, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(())
    }

    fn ranges(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        for p in &self.parts {
            for (s, e) in p.ranges() {
                push_range(&mut out, s, e);
            }
        }
        out
    }
}

/// Opens one kdump-compressed or diskdump file: a set of one part.
pub fn open(src: Source) -> Result<Dump> {
    open_parts(vec![src])
}

/// Parses every file; an error in a part after the first names the part.
fn parse_parts(srcs: Vec<Source>) -> Result<(Vec<DiskDumpFile>, u64, Vec<String>)> {
    let mut warnings = Vec::new();
    let mut parts = Vec::new();
    let mut file_size = 0u64;
    for (i, src) in srcs.into_iter().enumerate() {
        file_size += src.len();
        let mut w = Vec::new();
        let f = DiskDumpFile::parse(src, &mut w).map_err(|e| {
            if i == 0 {
                e
            } else {
                Error::Corrupt(format!("part {} of the split dump: {e}", i + 1))
            }
        })?;
        warnings.extend(w);
        parts.push(f);
    }
    Ok((parts, file_size, warnings))
}

/// Several files must all be parts of one split dump: all marked split, same page and memory
/// size, no overlap. Sorts them by start pfn.
fn check_split(parts: &mut [DiskDumpFile]) -> Result<()> {
    let ps = parts[0].page_size;
    let mm = parts[0].max_mapnr;
    for (i, p) in parts.iter().enumerate() {
        if p.sub.as_ref().is_none_or(|s| !s.split) {
            return Err(Error::Corrupt(format!(
                "several files were given but file {} is not part of a split dump (makedumpfile --split)",
                i + 1
            )));
        }
        if p.page_size != ps || p.max_mapnr != mm {
            return Err(Error::Corrupt(format!(
                "file {} of the split dump does not belong with the first (page size or memory size differ)",
                i + 1
            )));
        }
    }
    crate::util::sort_by_key(parts, |p| p.start_pfn);
    for w in parts.windows(2) {
        if w[1].start_pfn < w[0].end_pfn {
            return Err(Error::Corrupt(format!(
                "two parts of the split dump overlap (pfns {:#x}-{:#x} and {:#x}-{:#x}); was a file given twice?",
                w[0].start_pfn, w[0].end_pfn, w[1].start_pfn, w[1].end_pfn
            )));
        }
    }
    Ok(())
}

/// Warns of the pfn ranges that no given part holds.
fn gap_warnings(parts: &[DiskDumpFile], warnings: &mut Vec<String>) {
    // Missing parts of a split dump: name the pfn ranges nobody holds.
    if parts
        .iter()
        .any(|p| p.sub.as_ref().is_some_and(|s| s.split))
    {
        let mut at = 0u64;
        let mut gaps = Vec::new();
        for p in parts {
            if p.start_pfn > at {
                gaps.push((at, p.start_pfn));
            }
            at = at.max(p.end_pfn);
        }
        let mm = parts[0].max_mapnr;
        if at < mm {
            gaps.push((at, mm));
        }
        let ps = parts[0].page_size;
        for (s, e) in gaps {
            warnings.push(format!(
                "this is a split dump and the part holding physical {:#x}-{:#x} was not given: those pages are missing",
                s * ps,
                e * ps
            ));
        }
    }
}

/// The notes of the first part that has VMCOREINFO (else of the first part).
fn pick_notes(parts: &[DiskDumpFile], warnings: &mut Vec<String>) -> Notes {
    let mut notes = Notes::default();
    for p in parts {
        let mut n = Notes::default();
        read_notes(p, &mut n, warnings);
        if notes.vmcoreinfo.is_none() && n.vmcoreinfo.is_some() {
            notes = n;
        }
    }
    if notes.vmcoreinfo.is_none() && notes.prstatus.is_empty() {
        if let Some(p) = parts.first() {
            read_notes(p, &mut notes, warnings);
        }
    }
    notes
}

/// Counts pages and codecs over all parts (one scan of each descriptor table) into `info`.
fn count_pages(parts: &mut [DiskDumpFile], info: &mut ContainerInfo, warnings: &mut Vec<String>) {
    let mut codecs: Vec<String> = Vec::new();
    let mut scanned = true;
    let mut sampled: Vec<String> = Vec::new();
    // The 1st bitmaps are counted when small; a large machine's would be most of what a report
    // reads, so it is left to `crashlens info` and said.
    let bitmap: u64 = parts.iter().map(|p| p.present_bitmap_bytes()).sum();
    info.pages_excluded = if bitmap <= EXCLUDED_COUNT_BYTES {
        parts.iter().map(|p| p.count_excluded()).sum()
    } else {
        None
    };
    if info.pages_excluded.is_none() {
        warnings.push(format!(
            "{EXCLUDED_NOT_COUNTED} (pages in memory but filtered out of the dump): that needs the whole \
             1st page bitmap ({} KiB), more than is read at open; `crashlens info` counts them",
            bitmap.div_ceil(1024)
        ));
    }
    for p in parts.iter_mut() {
        info.pages_present += p.pages_present();
        match p.scan() {
            Some(s) => {
                for c in s.codecs {
                    if !codecs.contains(&c) {
                        codecs.push(c);
                    }
                }
                if let Some((from, unwritten)) = s.tail {
                    warnings.push(format!(
                        "from dumped page {} of {} on, the page data {}; those pages are reported as missing",
                        from + 1,
                        p.n_descs,
                        if unwritten {
                            "was never written (the dump is incomplete)"
                        } else {
                            "lies past the end of the file (it is truncated)"
                        }
                    ));
                }
                if let Some(k) = s.sampled {
                    sampled.push(format!(
                        "the page descriptor table holds {} entries ({} MiB), more than is read at open: \
                         the codecs are those of its first {k} entries, zero pages are not counted, and \
                         its end was checked for pages past the end of the file",
                        p.n_descs,
                        p.n_descs.saturating_mul(24) >> 20
                    ));
                } else {
                    info.pages_zero += s.zero;
                }
                if s.unwritten > 0 {
                    warnings.push(format!(
                        "{} dumped pages were never written ({}); they are reported as missing",
                        s.unwritten,
                        if p.incomplete {
                            "the dump is incomplete"
                        } else {
                            "empty page descriptors"
                        }
                    ));
                }
                if s.past_eof > 0 {
                    warnings.push(format!(
                        "{} pages lie past the end of the file (it is truncated); they are reported as missing",
                        s.past_eof
                    ));
                }
                if s.bad_size > 0 {
                    warnings.push(format!(
                        "{} page descriptors give an impossible stored size; those pages are reported as unreadable",
                        s.bad_size
                    ));
                }
            }
            None => scanned = false,
        }
    }
    sampled.dedup();
    warnings.extend(sampled);
    if !scanned {
        warnings.push("the page descriptor table is too large to scan at open: codecs and zero pages not counted".into());
    }
    info.codecs = codecs;
}

/// Opens one file, or all parts of a split dump (any order).
pub fn open_parts(srcs: Vec<Source>) -> Result<Dump> {
    if srcs.is_empty() {
        return Err(Error::Io("no dump file given".into()));
    }
    let (mut parts, file_size, mut warnings) = parse_parts(srcs)?;
    let many = parts.len() > 1;
    if many {
        check_split(&mut parts)?;
    }
    gap_warnings(&parts, &mut warnings);
    let notes = pick_notes(&parts, &mut warnings);
    let (format, description) = describe(&parts[0]);
    let mut info = ContainerInfo {
        format,
        description,
        file_size,
        warnings: Vec::new(),
        header_version: Some(parts[0].header.version as u32),
        dump_level: parts[0].sub.as_ref().map(|s| s.dump_level),
        phys_base: parts[0].sub.as_ref().map(|s| s.phys_base),
        ..Default::default()
    };
    let rel = parts[0].header.release();
    if !rel.is_empty() {
        info.utsname_release = Some(rel.to_string());
    }
    if many {
        info.format = "split".into();
        info.description = format!("{} files of a split {}", parts.len(), info.description);
    }
    qemu_quirks(&parts[0], &notes, &mut info);
    count_pages(&mut parts, &mut info, &mut warnings);
    info.warnings.extend(warnings);
    let page_size = parts[0].page_size;
    Ok(Dump {
        info,
        mem: Box::new(DiskDumpMem { parts, page_size }),
        notes,
        virt_ranges: Vec::new(),
    })
}

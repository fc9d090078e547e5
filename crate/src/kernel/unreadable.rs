//! Pages the analysis asked for that the dump could not deliver.
//!
//! Every read of kernel memory goes through [`super::Kernel::read`]; when the container has no
//! data for a page (the file is truncated, makedumpfile filtered the page out, a page is damaged)
//! the failure is counted here, by distinct page, with the first few and what was being read.
//! A bad pointer (an unmapped address, a page-table entry that is not present, an address past
//! every physical range) is an answer, not missing data, and is not counted.

use crate::error::MemError;
use serde::Serialize;
use std::collections::HashSet;

/// How many failed reads are kept with their address.
const KEEP: usize = 8;
/// Distinct pages remembered per kind (each one more is still counted as a read).
const MAX_PAGES: usize = 1 << 20;

/// Why the dump could not deliver a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// The page's data lies past the end of the file: the dump is truncated.
    PastEnd,
    /// makedumpfile filtered the page out (free, cache, user or zero page, by dump level).
    Excluded,
    /// The page is in the dump but cannot be read (never written, damaged, another part of a
    /// split dump).
    Unreadable,
}

impl Missing {
    fn of(e: &MemError) -> Option<(Missing, u64)> {
        match e {
            MemError::NotInDump { paddr } => Some((Missing::Excluded, *paddr)),
            MemError::Unreadable {
                paddr, past_end, ..
            } => Some((
                if *past_end {
                    Missing::PastEnd
                } else {
                    Missing::Unreadable
                },
                *paddr,
            )),
            MemError::NoPhysical { .. }
            | MemError::NotMapped { .. }
            | MemError::BadAddress { .. } => None,
        }
    }
}

/// One failed read.
#[derive(Debug, Clone, Serialize)]
pub struct FailedRead {
    pub kind: Missing,
    /// The kernel virtual address asked for.
    pub vaddr: u64,
    /// The physical page's address.
    pub paddr: u64,
    /// What was being read ("BTF", "the kernel log", ...); empty when no label was set.
    pub what: &'static str,
    /// The container's reason.
    pub why: String,
}

/// Counts of distinct pages the dump could not deliver, and the first few failures. Pages
/// filtered out by makedumpfile are not counted while memory is searched
/// ([`super::Kernel::probing`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Unreadable {
    /// Pages whose data lies past the end of the (truncated) file.
    pub past_end: u64,
    /// Pages makedumpfile filtered out.
    pub excluded: u64,
    /// Pages in the dump that could not be read.
    pub unreadable: u64,
    /// What was being read when pages were missing, in the order first seen.
    pub while_reading: Vec<&'static str>,
    pub first: Vec<FailedRead>,
    #[serde(skip)]
    seen: HashSet<(Missing, u64)>,
}

impl Unreadable {
    pub(super) fn record(&mut self, vaddr: u64, e: &MemError, what: &'static str, probe: bool) {
        let Some((kind, paddr)) = Missing::of(e) else {
            return;
        };
        if probe && kind == Missing::Excluded {
            return;
        }
        let page = paddr & !0xfff;
        if self.seen.len() < MAX_PAGES && !self.seen.insert((kind, page)) {
            return;
        }
        match kind {
            Missing::PastEnd => self.past_end += 1,
            Missing::Excluded => self.excluded += 1,
            Missing::Unreadable => self.unreadable += 1,
        }
        if !what.is_empty() && !self.while_reading.contains(&what) {
            self.while_reading.push(what);
        }
        if self.first.len() < KEEP {
            self.first.push(FailedRead {
                kind,
                vaddr,
                paddr,
                what,
                why: e.to_string(),
            });
        }
    }

    /// Pages whose data the dump should have held but does not (truncated or damaged file).
    pub fn missing(&self) -> u64 {
        self.past_end + self.unreadable
    }

    /// Whether any page asked for was not delivered.
    pub fn any(&self) -> bool {
        self.past_end + self.excluded + self.unreadable > 0
    }
}

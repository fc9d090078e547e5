//! Kernel virtual -> physical address translation for x86_64.
//!
//! The only fixed fact is the kernel text mapping: `__START_KERNEL_map` + phys_base
//! (arch/x86/include/asm/page_64.h `__phys_addr_symbol`). From it we find the physical address of
//! `init_top_pgt` and walk the kernel's own page tables for everything else (direct map, vmalloc,
//! modules, per-CPU, stacks): 4-level or 5-level (`pgtable_l5_enabled`), with 1 GiB and 2 MiB
//! pages. A non-present entry is a reported fault, never a guess.

use crate::dump::Dump;
use crate::error::MemError;
use std::cell::RefCell;
use std::collections::HashMap;

pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
const PAGE: u64 = 4096;
const PTE_PRESENT: u64 = 1;
const PTE_PSE: u64 = 1 << 7;
/// Physical-address bits of an entry (bits 12..51).
const PTE_ADDR: u64 = 0x000f_ffff_ffff_f000;
const TLB_MAX: usize = 1 << 16;

pub struct Paging {
    /// Physical address of the top-level table (`init_top_pgt`), if known.
    pub top_pgt: Option<u64>,
    pub five_level: bool,
    pub phys_base: u64,
    /// SME/SEV encryption bit to strip from entries.
    pub sme_mask: u64,
    /// Size of the kernel image mapping from `__START_KERNEL_map` that the text formula covers.
    pub kernel_image_size: u64,
    tlb: RefCell<HashMap<u64, u64>>,
}

impl Paging {
    pub fn new(
        top_pgt: Option<u64>,
        five_level: bool,
        phys_base: u64,
        sme_mask: u64,
        image: u64,
    ) -> Self {
        Paging {
            top_pgt,
            five_level,
            phys_base,
            sme_mask,
            kernel_image_size: image,
            tlb: RefCell::new(HashMap::new()),
        }
    }

    /// Kernel text/data/bss address -> physical, without page tables.
    pub fn text_to_phys(&self, vaddr: u64) -> Option<u64> {
        (vaddr >= START_KERNEL_MAP && vaddr - START_KERNEL_MAP < self.kernel_image_size).then(
            || {
                vaddr
                    .wrapping_sub(START_KERNEL_MAP)
                    .wrapping_add(self.phys_base)
            },
        )
    }

    fn canonical(&self, v: u64) -> bool {
        let bits = if self.five_level { 57 } else { 48 };
        let top = (v as i64) >> (bits - 1);
        top == 0 || top == -1
    }

    /// Translates one kernel virtual address.
    pub fn translate(&self, dump: &Dump, vaddr: u64) -> Result<u64, MemError> {
        if !self.canonical(vaddr) {
            return Err(MemError::BadAddress { vaddr });
        }
        let page = vaddr & !(PAGE - 1);
        if let Some(&p) = self.tlb.borrow().get(&page) {
            return Ok(p | (vaddr & (PAGE - 1)));
        }
        let Some(top) = self.top_pgt else {
            // No page tables: only the kernel image can be translated.
            return self
                .text_to_phys(vaddr)
                .ok_or(MemError::BadAddress { vaddr });
        };
        let p = self.walk(dump, top, vaddr)?;
        let mut tlb = self.tlb.borrow_mut();
        if tlb.len() >= TLB_MAX {
            tlb.clear();
        }
        tlb.insert(page, p & !(PAGE - 1));
        Ok(p)
    }

    /// Walks the tables rooted at physical `top` for `vaddr`.
    pub fn walk(&self, dump: &Dump, top: u64, vaddr: u64) -> Result<u64, MemError> {
        let mut table = top & PTE_ADDR & !self.sme_mask;
        let levels: &[u8] = if self.five_level {
            &[5, 4, 3, 2, 1]
        } else {
            &[4, 3, 2, 1]
        };
        for &level in levels {
            let shift = 12 + 9 * (level as u32 - 1);
            let idx = (vaddr >> shift) & 0x1ff;
            let mut e = [0u8; 8];
            dump.read_phys(table + idx * 8, &mut e)?;
            let entry = u64::from_le_bytes(e) & !self.sme_mask;
            if entry & PTE_PRESENT == 0 {
                return Err(MemError::NotMapped { vaddr, level });
            }
            let addr = entry & PTE_ADDR;
            if level == 1 || ((level == 2 || level == 3) && entry & PTE_PSE != 0) {
                let mask = (1u64 << shift) - 1;
                return Ok((addr & !mask) | (vaddr & mask));
            }
            table = addr;
        }
        unreachable!("the last level always returns")
    }
}

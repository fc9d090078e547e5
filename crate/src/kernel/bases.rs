//! The randomised bases of the x86_64 kernel address space (arch/x86/mm/kaslr.c): the direct
//! map (`page_offset_base`), `vmemmap_base` (struct page array) and `vmalloc_base`. With KASLR
//! they are variables; crashlens reads them at their kallsyms addresses (through the kernel
//! image mapping, which needs no page tables). A container that maps the direct map itself
//! (ELF PT_LOAD with virtual addresses) gives page_offset_base directly.

use super::Kernel;
use serde::Serialize;

/// Defaults without KASLR (Documentation/arch/x86/x86_64/mm.rst), 4-level / 5-level.
const PAGE_OFFSET_4: u64 = 0xffff_8880_0000_0000;
/// The direct map's fixed start before 4.20 (moved by commit d52888aa2753 "x86/mm: Move LDT
/// remap out of KASLR region on 5-level paging"); kernels before 4.8 have no page_offset_base.
const PAGE_OFFSET_OLD: u64 = 0xffff_8800_0000_0000;
const PAGE_OFFSET_5: u64 = 0xff11_0000_0000_0000;
const VMEMMAP_4: u64 = 0xffff_ea00_0000_0000;
const VMEMMAP_5: u64 = 0xffd4_0000_0000_0000;
const VMALLOC_4: u64 = 0xffff_c900_0000_0000;
const VMALLOC_5: u64 = 0xffa0_0000_0000_0000;

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Bases {
    #[serde(with = "crate::util::hex")]
    pub page_offset_base: u64,
    #[serde(with = "crate::util::hex")]
    pub vmemmap_base: u64,
    #[serde(with = "crate::util::hex")]
    pub vmalloc_base: u64,
    /// Where page_offset_base came from: `variable`, `PT_LOAD`, `default`.
    pub source: &'static str,
}

impl Bases {
    pub fn read(k: &Kernel, warnings: &mut Vec<String>) -> Bases {
        let five = k.paging.five_level;
        let var = |name: &str| {
            let a = k.symbols().addr_of(name)?;
            let v = k.read_u64(a).ok()?;
            (v >= 0xff00_0000_0000_0000).then_some(v)
        };
        let mut b = Bases {
            page_offset_base: if five { PAGE_OFFSET_5 } else { PAGE_OFFSET_4 },
            vmemmap_base: if five { VMEMMAP_5 } else { VMEMMAP_4 },
            vmalloc_base: if five { VMALLOC_5 } else { VMALLOC_4 },
            source: "default",
        };
        if let Some(v) = var("page_offset_base") {
            b.page_offset_base = v;
            b.source = "variable";
        } else if let Some(r) = k.virt_ranges().iter().find(|r| {
            r.vaddr >= 0xff00_0000_0000_0000
                && r.vaddr < super::paging::START_KERNEL_MAP
                && r.len > 0
        }) {
            b.page_offset_base = r.vaddr.wrapping_sub(r.paddr) & !((1 << 30) - 1);
            b.source = "PT_LOAD";
        } else if let Some(v) = direct_map_by_page_tables(k, five) {
            b.page_offset_base = v;
            b.source = "page tables";
        } else {
            warnings.push(format!(
                "page_offset_base not readable: assuming the non-KASLR default {:#x}",
                b.page_offset_base
            ));
        }
        match var("vmemmap_base") {
            Some(v) => b.vmemmap_base = v,
            None => warnings.push(format!(
                "vmemmap_base not readable: assuming {:#x}",
                b.vmemmap_base
            )),
        }
        match var("vmalloc_base") {
            Some(v) => b.vmalloc_base = v,
            None => warnings.push(format!(
                "vmalloc_base not readable: assuming {:#x}",
                b.vmalloc_base
            )),
        }
        b
    }
}

/// The direct map's fixed start, where the kernel has no page_offset_base variable: the
/// candidate under which the page tables map the kernel's own text at its physical address.
pub fn direct_map_by_page_tables(k: &Kernel, five: bool) -> Option<u64> {
    let text = k.symbol("_stext")?;
    let pa = k.paging.text_to_phys(text)?;
    let candidates: &[u64] = if five {
        &[PAGE_OFFSET_5]
    } else {
        &[PAGE_OFFSET_4, PAGE_OFFSET_OLD]
    };
    candidates
        .iter()
        .copied()
        .find(|&c| k.translate(c + pa).ok() == Some(pa))
}

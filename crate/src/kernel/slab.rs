//! SLUB caches the way crash's `kmem -s` lists them (the `slab_caches` list, each cache's size
//! from its per-node `nr_slabs` / `total_objects`), and which cache an address belongs to
//! (crash's `kmem ADDR`: the page, its slab, the object).
//!
//! Fields come from BTF. `kmem_cache_node.nr_slabs` and `total_objects` exist with
//! CONFIG_SLUB_DEBUG (on in distribution kernels). A slab page is told by `PG_slab` in
//! `page.flags` before 6.10 and by the page type after (commit 46df8e73a4a3 "mm: free up
//! PG_slab"; 6.12 moved the type to the top byte of `page_type`, `PGTY_slab`); `struct slab`
//! overlays `struct page` since 5.17 (commit d122019bf061 "mm: Split slab into its own type").
//! 7.x (slab sheaves) keeps the node pointers in `per_node[].node` instead of `node[]`.

use super::btf::Btf;
use super::Kernel;
use serde::Serialize;
use std::collections::HashSet;

/// Caches read at most (a looping or damaged list ends there, marked).
pub const MAX_CACHES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlabCache {
    #[serde(with = "crate::util::hex")]
    pub addr: u64,
    pub name: String,
    /// `object_size`: what the user asked for.
    pub object_size: u64,
    /// `size`: per object with metadata (red zones, tracking).
    pub size: u64,
    pub objects_per_slab: u64,
    /// Page order of one slab.
    pub order: u32,
    /// Sum over nodes of `kmem_cache_node.nr_slabs` / `total_objects`.
    pub slabs: u64,
    pub total_objects: u64,
    /// Bytes of its slabs (`slabs * PAGE_SIZE << order`).
    pub bytes: u64,
    /// The constructor, when it has one.
    #[serde(with = "crate::util::hex::opt")]
    pub ctor: Option<u64>,
}

struct Layout {
    list: u64,
    name: u64,
    object_size: u64,
    size: u64,
    oo: u64,
    ctor: Option<u64>,
    /// The first node's `kmem_cache_node *` and the distance between nodes.
    node: u64,
    node_stride: u64,
    node_len: u64,
    nr_slabs: u64,
    total_objects: u64,
}

fn layout(b: &Btf) -> Result<Layout, String> {
    let m = |st: &str, f: &str| {
        b.member_offset(st, f)
            .ok_or_else(|| format!("{st}.{f} not in BTF"))
    };
    // `struct kmem_cache_node *node[MAX_NUMNODES]`; 7.x (sheaves): `struct
    // kmem_cache_per_node_ptrs { barn; node; } per_node[MAX_NUMNODES]`.
    let (node, node_stride, node_len) = match b.member_offset("kmem_cache", "node") {
        Some(o) => (o, 8, b.member_array_len("kmem_cache", "node").unwrap_or(1)),
        None => (
            m("kmem_cache", "per_node")? + m("kmem_cache_per_node_ptrs", "node")?,
            b.struct_size("kmem_cache_per_node_ptrs")
                .ok_or("kmem_cache_per_node_ptrs size")?,
            b.member_array_len("kmem_cache", "per_node").unwrap_or(1),
        ),
    };
    Ok(Layout {
        list: m("kmem_cache", "list")?,
        name: m("kmem_cache", "name")?,
        object_size: m("kmem_cache", "object_size")?,
        size: m("kmem_cache", "size")?,
        oo: m("kmem_cache", "oo")?,
        ctor: b.member_offset("kmem_cache", "ctor"),
        node,
        node_stride,
        node_len,
        nr_slabs: m("kmem_cache_node", "nr_slabs")?,
        total_objects: m("kmem_cache_node", "total_objects")?,
    })
}

/// Every cache on `slab_caches` (bounded by [`MAX_CACHES`] and loop detection), and what cut
/// the walk short.
pub fn slab_caches(k: &Kernel) -> Result<(Vec<SlabCache>, Option<String>), String> {
    let b = k.btf().ok_or("no BTF: kmem_cache layout unknown")?;
    let l = layout(b)?;
    let head = k.symbol("slab_caches").ok_or("no slab_caches symbol")?;
    // Nodes in use: nr_node_ids (1 on a machine without NUMA), never past the array.
    let nodes = k
        .symbol("nr_node_ids")
        .and_then(|a| k.read_u32(a).ok())
        .map(u64::from)
        .unwrap_or(1)
        .clamp(1, l.node_len.max(1));
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut node = k.read_u64(head).map_err(|e| e.to_string())?;
    let mut cut = None;
    while node != head {
        if out.len() >= MAX_CACHES || !seen.insert(node) {
            cut = Some(format!("slab_caches looped or longer than {MAX_CACHES}"));
            break;
        }
        let c = node.wrapping_sub(l.list);
        match read_cache(k, &l, c, nodes) {
            Ok(sc) => out.push(sc),
            Err(e) => {
                cut = Some(format!("kmem_cache at {c:#x}: {e}"));
                break;
            }
        }
        node = match k.read_u64(node) {
            Ok(n) => n,
            Err(e) => {
                cut = Some(format!("slab_caches cut at {node:#x}: {e}"));
                break;
            }
        };
    }
    Ok((out, cut))
}

fn read_cache(k: &Kernel, l: &Layout, c: u64, nodes: u64) -> Result<SlabCache, String> {
    let e = |e: crate::error::MemError| e.to_string();
    let name_p = k.read_u64(c + l.name).map_err(e)?;
    let name = k.read_cstr(name_p, 64).map_err(e)?;
    let oo = k.read_u32(c + l.oo).map_err(e)?;
    let (order, per) = (oo >> 16, u64::from(oo & 0xffff));
    let (mut slabs, mut objs) = (0u64, 0u64);
    for n in 0..nodes {
        let p = k.read_u64(c + l.node + l.node_stride * n).map_err(e)?;
        if p == 0 {
            continue;
        }
        slabs += (k.read_u64(p + l.nr_slabs).map_err(e)? as i64).max(0) as u64;
        objs += (k.read_u64(p + l.total_objects).map_err(e)? as i64).max(0) as u64;
    }
    Ok(SlabCache {
        addr: c,
        name,
        object_size: u64::from(k.read_u32(c + l.object_size).map_err(e)?),
        size: u64::from(k.read_u32(c + l.size).map_err(e)?),
        objects_per_slab: per,
        order,
        slabs,
        total_objects: objs,
        bytes: slabs.saturating_mul(4096u64 << order.min(20)),
        ctor: l
            .ctor
            .and_then(|o| k.read_u64(c + o).ok())
            .filter(|&p| p != 0),
    })
}

/// Where an address lies in a slab (crash's `kmem ADDR`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlabObject {
    pub cache: String,
    #[serde(with = "crate::util::hex")]
    pub cache_addr: u64,
    /// `struct slab` / head `struct page` address.
    #[serde(with = "crate::util::hex")]
    pub slab: u64,
    /// Start of the object (as kmalloc returned it).
    #[serde(with = "crate::util::hex")]
    pub object: u64,
    /// `addr - object`.
    pub offset: u64,
    pub object_size: u64,
}

/// The slab object holding `addr`, when it is in a slab page of the direct map.
pub fn find_object(k: &Kernel, addr: u64) -> Option<SlabObject> {
    let b = k.btf()?;
    let phys = k.virt_to_phys(addr).ok()?;
    // Only the direct map: vmalloc and module addresses have no slab.
    if k.phys_to_virt(phys) != addr {
        return None;
    }
    let page = head_page(k, b, k.pfn_to_page(phys >> 12))?;
    if !is_slab(k, b, page)? {
        return None;
    }
    let sc = b
        .member_offset("slab", "slab_cache")
        .or_else(|| b.member_offset("page", "slab_cache"))?;
    let cache = k.read_u64(page + sc).ok()?;
    let l = layout(b).ok()?;
    let name = k
        .read_u64(cache + l.name)
        .ok()
        .and_then(|p| k.read_cstr(p, 64).ok())?;
    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    let size = u64::from(k.read_u32(cache + l.size).ok()?);
    if size > 1 << 22 {
        return None;
    }
    let object_size = u64::from(k.read_u32(cache + l.object_size).ok()?);
    let red_left = b
        .member_offset("kmem_cache", "red_left_pad")
        .and_then(|o| k.read_u32(cache + o).ok())
        .map_or(0, u64::from);
    let base = k.phys_to_virt(k.page_to_pfn(page)? << 12);
    if size == 0 || addr < base {
        return None;
    }
    let idx = (addr - base) / size;
    let object = base + idx * size + red_left;
    Some(SlabObject {
        cache: name,
        cache_addr: cache,
        slab: page,
        object,
        offset: addr.wrapping_sub(object),
        object_size,
    })
}

/// The head page of `page`. A tail page's `compound_head` (7.x: `compound_info`) has bit 0
/// set: the head page's address + 1, or (7.x with a power-of-2 struct page) a mask that gives
/// the head from the tail's own address. None when neither reads as a page.
fn head_page(k: &Kernel, b: &Btf, page: u64) -> Option<u64> {
    let Some(off) = b
        .member_offset("page", "compound_head")
        .or_else(|| b.member_offset("page", "compound_info"))
    else {
        return Some(page);
    };
    let ch = k.read_u64(page + off).ok()?;
    if ch & 1 == 0 {
        return Some(page);
    }
    let (ptr, mask) = (ch - 1, page & (ch - 1));
    if ptr <= page && k.page_to_pfn(ptr).is_some() {
        Some(ptr)
    } else if k.page_to_pfn(mask).is_some() {
        Some(mask)
    } else {
        None
    }
}

/// Whether the head page is a slab: `PG_slab` in `flags`, else the page type.
fn is_slab(k: &Kernel, b: &Btf, page: u64) -> Option<bool> {
    if let Some(bit) = b.enum_member("pageflags", "PG_slab") {
        let flags = k.read_u64(page + b.member_offset("page", "flags")?).ok()?;
        return Some(flags >> bit & 1 == 1);
    }
    let pt = k
        .read_u32(page + b.member_offset("page", "page_type")?)
        .ok()?;
    if let Some(t) = b.enum_member("pagetype", "PGTY_slab") {
        // 6.12+: the type in the top byte.
        return Some(u64::from(pt >> 24) == t as u64);
    }
    // 6.10-6.11: an inverted bit under PAGE_TYPE_BASE 0xf0000000.
    let bit = b.enum_value("PG_slab")? as u32;
    Some(pt & (0xf000_0000 | bit) == 0xf000_0000)
}

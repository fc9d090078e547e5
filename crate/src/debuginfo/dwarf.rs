//! DWARF of one file: source lines and inlined frames (addr2line), and the types a fault
//! needs (the struct a parameter points to, the member at an offset).

use crate::bytes::Le;

use gimli::{AttributeValue, EndianRcSlice, LittleEndian, Reader};
use std::rc::Rc;

pub type R = EndianRcSlice<LittleEndian>;

/// How deep type chains (typedef -> const -> pointer -> ...) and nested members are followed.
const MAX_DEPTH: u32 = 16;
/// DIEs looked at in one search at most (bounded work on huge or broken units).
const MAX_DIES: usize = 5_000_000;

/// The sections gimli reads, by their ELF names (not the location lists: variables' locations
/// are not used, and they are a large part of a vmlinux's DWARF).
pub const SECTIONS: &[&str] = &[
    ".debug_abbrev",
    ".debug_addr",
    ".debug_aranges",
    ".debug_info",
    ".debug_line",
    ".debug_line_str",
    ".debug_rnglists",
    ".debug_ranges",
    ".debug_str",
    ".debug_str_offsets",
];

/// A source position.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceLine {
    pub file: String,
    pub line: u32,
}

/// One level of the inline chain at an address, innermost first: the function and where in
/// it the address is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InlineFrame {
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
}

pub struct Dwarf {
    pub dwarf: Rc<gimli::Dwarf<R>>,
    ctx: addr2line::Context<R>,
    /// Line tables of the units looked at so far (one unit's rows each).
    lines: std::cell::RefCell<Vec<UnitLines>>,
}

/// A line-table row: address, file index, line, is_stmt.
type Row = (u64, u64, u32, bool);

/// A unit's line table: its sequences of rows and its file names.
struct UnitLines {
    ranges: Vec<(u64, u64)>,
    /// Each sequence: [start, end) and its rows by address.
    seqs: Vec<(u64, u64, Vec<Row>)>,
    files: Vec<(u64, String)>,
}

/// At most this many units' line tables are kept.
const MAX_CACHED_UNITS: usize = 64;
/// Rows of one unit at most.
const MAX_ROWS: usize = 4_000_000;

impl Dwarf {
    /// `section(name)` gives a section's (relocated) bytes or None.
    pub fn new(mut section: impl FnMut(&str) -> Option<Vec<u8>>) -> crate::error::Result<Dwarf> {
        let mut bytes: Vec<(&'static str, Rc<[u8]>)> = Vec::new();
        for &n in SECTIONS {
            if let Some(b) = section(n) {
                bytes.push((n, Rc::from(b.into_boxed_slice())));
            }
        }
        Self::from_shared(&bytes)
    }

    /// From sections already in memory (shared, not copied: each gimli view and every
    /// per-unit `Dwarf` of a vmlinux point at the same bytes).
    pub fn from_shared(bytes: &[(&'static str, Rc<[u8]>)]) -> crate::error::Result<Dwarf> {
        let load = |id: gimli::SectionId| -> Result<R, gimli::Error> {
            let b = bytes
                .iter()
                .find(|(n, _)| *n == id.name())
                .map(|(_, b)| b.clone())
                .unwrap_or_else(|| Rc::from(Vec::new().into_boxed_slice()));
            Ok(EndianRcSlice::new(b, LittleEndian))
        };
        let dwarf = Rc::new(gimli::Dwarf::load(load).map_err(|e| e.to_string())?);
        let ctx =
            addr2line::Context::from_dwarf(gimli::Dwarf::load(load).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        Ok(Dwarf {
            dwarf,
            ctx,
            lines: Default::default(),
        })
    }

    /// File and line of the code at `addr` (a DWARF address), chosen the way gdb does: where
    /// several rows share the address, the last `is_stmt` one (gcc emits a non-statement row
    /// after the statement rows of a prologue; addr2line would take that one).
    pub fn line(&self, addr: u64) -> Option<SourceLine> {
        self.stmt_line(addr).or_else(|| self.any_line(addr))
    }

    fn any_line(&self, addr: u64) -> Option<SourceLine> {
        let l = self.ctx.find_location(addr).ok()??;
        Some(SourceLine {
            file: l.file?.to_string(),
            line: l.line.filter(|&n| n != 0)?,
        })
    }

    fn stmt_line(&self, addr: u64) -> Option<SourceLine> {
        let hit = |u: &UnitLines| u.ranges.iter().any(|&(s, e)| addr >= s && addr < e);
        let mut cache = self.lines.borrow_mut();
        let i = match cache.iter().position(hit) {
            Some(i) => i,
            None => {
                let u = self.unit_lines(addr)?;
                if cache.len() >= MAX_CACHED_UNITS {
                    cache.remove(0);
                }
                cache.push(u);
                cache.len() - 1
            }
        };
        let u = &cache[i];
        let (_, _, rows) = u.seqs.iter().find(|(s, e, _)| addr >= *s && addr < *e)?;
        let last = rows.partition_point(|r| r.0 <= addr).checked_sub(1)?;
        let at = rows[last].0;
        let first = rows[..=last]
            .iter()
            .rposition(|r| r.0 != at)
            .map_or(0, |p| p + 1);
        let same = &rows[first..=last];
        let r = same.iter().rev().find(|r| r.3).unwrap_or(&rows[last]);
        let file = u
            .files
            .iter()
            .find(|(i, _)| *i == r.1)
            .map(|(_, f)| f.clone())?;
        (r.2 != 0).then_some(SourceLine { file, line: r.2 })
    }

    /// The line table of the unit whose ranges hold `addr`.
    fn unit_lines(&self, addr: u64) -> Option<UnitLines> {
        let d = &*self.dwarf;
        let mut units = d.units();
        while let Ok(Some(h)) = units.next() {
            let Ok(unit) = d.unit(h) else { continue };
            let mut ranges = Vec::new();
            if let Ok(mut rs) = d.unit_ranges(&unit) {
                while let Ok(Some(r)) = rs.next() {
                    ranges.push((r.begin, r.end));
                    if ranges.len() > 100_000 {
                        break;
                    }
                }
            }
            if !ranges.iter().any(|&(s, e)| addr >= s && addr < e) {
                continue;
            }
            let prog = unit.line_program.clone()?;
            let comp_dir = unit
                .comp_dir
                .as_ref()
                .and_then(|c| c.to_string_lossy().ok())
                .map(|c| c.into_owned());
            let mut rows = prog.rows();
            let mut seqs = Vec::new();
            let mut cur: Vec<Row> = Vec::new();
            let mut files: Vec<(u64, String)> = Vec::new();
            let mut n = 0usize;
            while let Ok(Some((header, row))) = rows.next_row() {
                n += 1;
                if n > MAX_ROWS {
                    break;
                }
                if row.end_sequence() {
                    if let Some(start) = cur.first().map(|r| r.0) {
                        cur.sort_by_key(|r| r.0);
                        seqs.push((start, row.address(), std::mem::take(&mut cur)));
                    }
                    continue;
                }
                let fi = row.file_index();
                if !files.iter().any(|(i, _)| *i == fi) {
                    if let Some(f) = row.file(header) {
                        files.push((fi, self.file_path(&unit, header, f, comp_dir.as_deref())));
                    }
                }
                cur.push((
                    row.address(),
                    fi,
                    row.line().map_or(0, |l| l.get() as u32),
                    row.is_stmt(),
                ));
            }
            return Some(UnitLines {
                ranges,
                seqs,
                files,
            });
        }
        None
    }

    fn file_path(
        &self,
        unit: &gimli::Unit<R>,
        header: &gimli::LineProgramHeader<R>,
        f: &gimli::FileEntry<R>,
        comp_dir: Option<&str>,
    ) -> String {
        let s = |v: AttributeValue<R>| -> Option<String> {
            Some(
                self.dwarf
                    .attr_string(unit, v)
                    .ok()?
                    .to_string_lossy()
                    .ok()?
                    .into_owned(),
            )
        };
        let name = s(f.path_name()).unwrap_or_default();
        if name.starts_with('/') {
            return name;
        }
        let dir = f.directory(header).and_then(s).unwrap_or_default();
        let mut p = if dir.starts_with('/') {
            dir
        } else {
            join(comp_dir.unwrap_or(""), &dir)
        };
        p = join(&p, &name);
        p
    }

    /// The inline chain at `addr`, innermost first; the last entry is the real function.
    pub fn frames(&self, addr: u64) -> Vec<InlineFrame> {
        let mut out = Vec::new();
        let Ok(mut it) = self.ctx.find_frames(addr).skip_all_loads() else {
            return out;
        };
        while let Ok(Some(f)) = it.next() {
            out.push(InlineFrame {
                function: f
                    .function
                    .as_ref()
                    .and_then(|n| n.raw_name().ok())
                    .map(|n| n.into_owned()),
                file: f.location.as_ref().and_then(|l| l.file).map(str::to_string),
                line: f.location.as_ref().and_then(|l| l.line),
            });
            if out.len() > 64 {
                break;
            }
        }
        out
    }

    /// `struct victim` -> member at `off` (`field`, `a.b` for nested ones), for the struct that
    /// parameter `index` (0-based) of `func` points to. `addr` (a DWARF address inside the
    /// function) picks the compilation unit quickly in a big vmlinux.
    pub fn param_field(
        &self,
        func: &str,
        addr: Option<u64>,
        index: usize,
        off: u64,
    ) -> Option<(String, Option<String>)> {
        let d = &*self.dwarf;
        let mut units = d.units();
        let mut budget = MAX_DIES;
        while let Ok(Some(h)) = units.next() {
            let Ok(unit) = d.unit(h) else { continue };
            if let Some(a) = addr {
                let mut hit = false;
                if let Ok(mut rs) = d.unit_ranges(&unit) {
                    while let Ok(Some(r)) = rs.next() {
                        if a >= r.begin && a < r.end {
                            hit = true;
                            break;
                        }
                    }
                }
                if !hit {
                    continue;
                }
            }
            if let Some(r) = self.param_field_in(&unit, func, index, off, &mut budget) {
                return Some(r);
            }
            if budget == 0 {
                break;
            }
        }
        None
    }

    fn param_field_in(
        &self,
        unit: &gimli::Unit<R>,
        func: &str,
        index: usize,
        off: u64,
        budget: &mut usize,
    ) -> Option<(String, Option<String>)> {
        let mut cur = unit.entries();
        while let Ok(Some((_, e))) = cur.next_dfs() {
            *budget = budget.checked_sub(1)?;
            if e.tag() != gimli::DW_TAG_subprogram
                || e.attr(gimli::DW_AT_declaration).ok().flatten().is_some()
            {
                continue;
            }
            // Out-of-line instances name their abstract origin.
            if self.die_name(unit, e.offset(), 0).as_deref() != Some(func) {
                continue;
            }
            let tree_off = e.offset();
            let mut params = Vec::new();
            let mut tree = unit.entries_tree(Some(tree_off)).ok()?;
            let root = tree.root().ok()?;
            let mut kids = root.children();
            while let Ok(Some(c)) = kids.next() {
                if c.entry().tag() == gimli::DW_TAG_formal_parameter {
                    params.push(c.entry().offset());
                }
            }
            if params.is_empty() {
                // A concrete instance without parameters listed: try its origin.
                continue;
            }
            let p = *params.get(index)?;
            let ty = self.attr_ref(unit, p, gimli::DW_AT_type, 0)?;
            let ptr = self.strip(unit, ty, 0)?;
            if unit.entry(ptr).ok()?.tag() != gimli::DW_TAG_pointer_type {
                return None;
            }
            let pointee = self.attr_ref(unit, ptr, gimli::DW_AT_type, 0)?;
            let st = self.strip(unit, pointee, 0)?;
            let tag = unit.entry(st).ok()?.tag();
            let kw = match tag {
                gimli::DW_TAG_structure_type => "struct",
                gimli::DW_TAG_union_type => "union",
                _ => return None,
            };
            let name = self
                .die_name(unit, st, 0)
                .unwrap_or_else(|| "(anonymous)".into());
            let mut path = Vec::new();
            self.member_at(unit, st, off, &mut path, 0);
            return Some((
                format!("{kw} {name}"),
                (!path.is_empty()).then(|| path.join(".")),
            ));
        }
        None
    }

    /// DW_AT_name of a DIE, through DW_AT_abstract_origin / DW_AT_specification.
    fn die_name(
        &self,
        unit: &gimli::Unit<R>,
        off: gimli::UnitOffset,
        depth: u32,
    ) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        let e = unit.entry(off).ok()?;
        if let Ok(Some(v)) = e.attr_value(gimli::DW_AT_name) {
            let s = self.dwarf.attr_string(unit, v).ok()?;
            return Some(s.to_string_lossy().ok()?.into_owned());
        }
        for a in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
            if let Ok(Some(AttributeValue::UnitRef(o))) = e.attr_value(a) {
                return self.die_name(unit, o, depth + 1);
            }
        }
        None
    }

    /// A reference attribute, through DW_AT_abstract_origin when the DIE lacks it.
    fn attr_ref(
        &self,
        unit: &gimli::Unit<R>,
        off: gimli::UnitOffset,
        at: gimli::DwAt,
        depth: u32,
    ) -> Option<gimli::UnitOffset> {
        if depth > MAX_DEPTH {
            return None;
        }
        let e = unit.entry(off).ok()?;
        match e.attr_value(at).ok()? {
            Some(AttributeValue::UnitRef(o)) => Some(o),
            Some(_) => None,
            None => match e.attr_value(gimli::DW_AT_abstract_origin).ok()? {
                Some(AttributeValue::UnitRef(o)) => self.attr_ref(unit, o, at, depth + 1),
                _ => None,
            },
        }
    }

    /// Follows typedef / const / volatile / restrict / atomic to the underlying type.
    fn strip(
        &self,
        unit: &gimli::Unit<R>,
        mut off: gimli::UnitOffset,
        _d: u32,
    ) -> Option<gimli::UnitOffset> {
        for _ in 0..MAX_DEPTH {
            let e = unit.entry(off).ok()?;
            match e.tag() {
                gimli::DW_TAG_typedef
                | gimli::DW_TAG_const_type
                | gimli::DW_TAG_volatile_type
                | gimli::DW_TAG_restrict_type
                | gimli::DW_TAG_atomic_type => {
                    off = self.attr_ref(unit, off, gimli::DW_AT_type, 0)?
                }
                _ => return Some(off),
            }
        }
        None
    }

    fn byte_size(&self, unit: &gimli::Unit<R>, off: gimli::UnitOffset, depth: u32) -> Option<u64> {
        if depth > MAX_DEPTH {
            return None;
        }
        let t = self.strip(unit, off, 0)?;
        let e = unit.entry(t).ok()?;
        if let Some(n) = e
            .attr_value(gimli::DW_AT_byte_size)
            .ok()?
            .and_then(|v| v.udata_value())
        {
            return Some(n);
        }
        match e.tag() {
            gimli::DW_TAG_pointer_type => Some(8),
            gimli::DW_TAG_array_type => {
                let elem = self.byte_size(
                    unit,
                    self.attr_ref(unit, t, gimli::DW_AT_type, 0)?,
                    depth + 1,
                )?;
                let mut tree = unit.entries_tree(Some(t)).ok()?;
                let root = tree.root().ok()?;
                let mut kids = root.children();
                let mut n = 1u64;
                while let Ok(Some(c)) = kids.next() {
                    let c = c.entry();
                    if c.tag() != gimli::DW_TAG_subrange_type {
                        continue;
                    }
                    let count = c
                        .attr_value(gimli::DW_AT_count)
                        .ok()
                        .flatten()
                        .and_then(|v| v.udata_value())
                        .or_else(|| {
                            c.attr_value(gimli::DW_AT_upper_bound)
                                .ok()
                                .flatten()
                                .and_then(|v| v.udata_value())
                                .map(|u| u + 1)
                        })
                        .unwrap_or(0);
                    n = n.checked_mul(count)?;
                }
                elem.checked_mul(n)
            }
            _ => None,
        }
    }

    /// Member names down to the one covering byte `off` of the struct/union at `st`.
    fn member_at(
        &self,
        unit: &gimli::Unit<R>,
        st: gimli::UnitOffset,
        off: u64,
        out: &mut Vec<String>,
        depth: u32,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let Ok(mut tree) = unit.entries_tree(Some(st)) else {
            return;
        };
        let Ok(root) = tree.root() else { return };
        let mut kids = root.children();
        while let Ok(Some(c)) = kids.next() {
            let m = c.entry();
            if m.tag() != gimli::DW_TAG_member {
                continue;
            }
            let loc = match m
                .attr_value(gimli::DW_AT_data_member_location)
                .ok()
                .flatten()
            {
                Some(v) => v.udata_value().unwrap_or(0),
                None => m
                    .attr_value(gimli::DW_AT_data_bit_offset)
                    .ok()
                    .flatten()
                    .and_then(|v| v.udata_value())
                    .map_or(0, |b| b / 8),
            };
            let Some(ty) = self.attr_ref(unit, m.offset(), gimli::DW_AT_type, 0) else {
                continue;
            };
            let size = self.byte_size(unit, ty, 0).unwrap_or(0).max(1);
            if off < loc || off >= loc + size {
                continue;
            }
            let before = out.len();
            if let Some(n) = self.die_name(unit, m.offset(), 0) {
                out.push(n);
            }
            if let Some(t) = self.strip(unit, ty, 0) {
                if unit.entry(t).is_ok_and(|e| {
                    matches!(
                        e.tag(),
                        gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type
                    )
                }) {
                    self.member_at(unit, t, off - loc, out, depth + 1);
                }
            }
            if out.len() > before {
                return;
            }
        }
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{}/{}", a.trim_end_matches('/'), b),
    }
}

/// A big file's DWARF one compilation unit at a time: `.debug_aranges` says which unit holds
/// an address; only that unit's bytes of `.debug_info` are read (from the file, when asked),
/// beside the smaller shared sections. A Debian vmlinux has 160 MB of `.debug_info`, most of
/// which a report never needs.
pub struct PerUnit {
    pub src: Rc<dyn crate::source::ReadAt>,
    /// File offset and size of `.debug_info`.
    pub info: (u64, u64),
    /// Every section but `.debug_info`.
    pub shared: Vec<(&'static str, Rc<[u8]>)>,
    /// (begin, end, unit offset in .debug_info), sorted by begin.
    pub aranges: Vec<(u64, u64, u64)>,
    cache: std::cell::RefCell<Vec<(u64, Rc<Dwarf>)>>,
    /// Bytes of `.debug_info` read so far.
    pub info_read: std::cell::Cell<u64>,
}

/// Units kept parsed at most.
const MAX_UNITS: usize = 32;
/// A unit larger than this is not read.
const MAX_UNIT: u64 = 256 << 20;

impl PerUnit {
    pub fn new(
        src: Rc<dyn crate::source::ReadAt>,
        info: (u64, u64),
        shared: Vec<(&'static str, Rc<[u8]>)>,
    ) -> crate::error::Result<PerUnit> {
        let ar = shared
            .iter()
            .find(|(n, _)| *n == ".debug_aranges")
            .map(|(_, b)| b.clone())
            .ok_or("no .debug_aranges")?;
        let aranges_sec = gimli::DebugAranges::new(&ar, LittleEndian);
        let mut headers = aranges_sec.headers();
        let mut v = Vec::new();
        while let Ok(Some(h)) = headers.next() {
            let cu = h.debug_info_offset().0 as u64;
            let mut es = h.entries();
            while let Ok(Some(e)) = es.next() {
                let r = e.range();
                if r.end > r.begin {
                    v.push((r.begin, r.end, cu));
                }
            }
        }
        if v.is_empty() {
            return Err(".debug_aranges is empty".into());
        }
        v.sort_unstable();
        Ok(PerUnit {
            src,
            info,
            shared,
            aranges: v,
            cache: Default::default(),
            info_read: Default::default(),
        })
    }

    /// The parsed unit holding DWARF address `addr`.
    pub fn unit_for(&self, addr: u64) -> Option<Rc<Dwarf>> {
        let i = self
            .aranges
            .partition_point(|r| r.0 <= addr)
            .checked_sub(1)?;
        // Ranges may nest or overlap: look back a little for one that covers addr.
        let cu = self.aranges[i.saturating_sub(8)..=i]
            .iter()
            .rev()
            .find(|r| addr < r.1)?
            .2;
        if let Some((_, d)) = self.cache.borrow().iter().find(|(o, _)| *o == cu) {
            return Some(d.clone());
        }
        let d = Rc::new(self.load(cu).ok()?);
        let mut c = self.cache.borrow_mut();
        if c.len() >= MAX_UNITS {
            c.remove(0);
        }
        c.push((cu, d.clone()));
        Some(d)
    }

    fn load(&self, cu: u64) -> crate::error::Result<Dwarf> {
        let (off, size) = self.info;
        let e = |x: crate::error::Error| x.to_string();
        let mut h = [0u8; 12];
        if cu.checked_add(12).is_none_or(|end| end > size) {
            return Err("unit offset outside .debug_info".into());
        }
        self.src
            .read_exact_at(off + cu, &mut h, "unit header")
            .map_err(e)?;
        let l32 = h.u32_at(0).unwrap_or(0);
        let len = if l32 == 0xffff_ffff {
            12 + h.u64_at(4).unwrap_or(0)
        } else {
            4 + l32 as u64
        };
        if len > MAX_UNIT || cu + len > size {
            return Err(format!("unit at {cu:#x} of {len} bytes does not fit").into());
        }
        // The unit alone, as a .debug_info of one unit: its DIE references are unit-relative
        // and its other offsets (lines, strings, ranges) point into the shared sections. The
        // aranges are left out: their unit offsets are the whole section's.
        let info = self
            .src
            .read_vec(off + cu, len as usize, "compilation unit")
            .map_err(e)?;
        self.info_read.set(self.info_read.get() + len);
        let mut secs: Vec<(&'static str, Rc<[u8]>)> = self
            .shared
            .iter()
            .filter(|(n, _)| *n != ".debug_aranges")
            .cloned()
            .collect();
        secs.push((".debug_info", Rc::from(info.into_boxed_slice())));
        Dwarf::from_shared(&secs)
    }
}

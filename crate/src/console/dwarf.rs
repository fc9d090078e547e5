//! Types and variables from the DWARF of the debuginfo the user gave (a module's `.ko`: the
//! types vmlinux's BTF lacks), as the console's neutral [`Ty`]. A vmlinux's DWARF is read a unit
//! at a time and is not searched by name here: its types are in BTF.

use super::types::{Composite, Field, Ty, MAX_NODES};
use crate::debuginfo::dwarf::R;
use crate::debuginfo::{DebugInfo, Dwarfs};
use gimli::{AttributeValue, Reader, UnitOffset};

/// Nesting depth followed.
const MAX_DEPTH: u32 = 24;
/// DIEs one search looks at at most.
const MAX_DIES: usize = 2_000_000;

struct Conv<'a> {
    d: &'a gimli::Dwarf<R>,
    unit: &'a gimli::Unit<R>,
    nodes: usize,
}

/// The struct, union, enum or typedef named `name` in the debuginfo's modules.
pub fn named_type(dbg: &DebugInfo, name: &str) -> Option<Ty> {
    search(dbg, name, |t| {
        matches!(
            t,
            gimli::DW_TAG_structure_type
                | gimli::DW_TAG_union_type
                | gimli::DW_TAG_enumeration_type
                | gimli::DW_TAG_typedef
        )
    })
    .map(|(t, _)| t)
}

/// A variable's type and its declaration (`struct fixture_item fixture_items[3]`).
pub fn variable(dbg: &DebugInfo, name: &str) -> Option<(Ty, String)> {
    search(dbg, name, |t| t == gimli::DW_TAG_variable)
}

fn search(
    dbg: &DebugInfo,
    name: &str,
    want: impl Fn(gimli::DwTag) -> bool,
) -> Option<(Ty, String)> {
    let mut budget = MAX_DIES;
    for f in &dbg.files {
        let Dwarfs::Whole(w) = &f.dwarf else { continue };
        let d = &*w.dwarf;
        let mut units = d.units();
        while let Ok(Some(h)) = units.next() {
            let Ok(unit) = d.unit(h) else { continue };
            let mut cur = unit.entries();
            while let Ok(Some((_, e))) = cur.next_dfs() {
                budget = budget.checked_sub(1)?;
                if !want(e.tag()) || e.attr(gimli::DW_AT_declaration).ok().flatten().is_some() {
                    continue;
                }
                let mut c = Conv {
                    d,
                    unit: &unit,
                    nodes: 0,
                };
                if c.name(e.offset()).as_deref() != Some(name) {
                    continue;
                }
                let off = e.offset();
                if e.tag() == gimli::DW_TAG_variable {
                    let Some(t) = c.type_of(off) else { continue };
                    let decl = fill(&c.decl(Some(t), "%s".into(), 0), name);
                    return Some((c.ty(Some(t), 0), decl));
                }
                // A typedef of the name itself (`typedef struct x x`) is fine too.
                return Some((c.ty(Some(off), 0), String::new()));
            }
        }
    }
    None
}

fn fill(decl: &str, name: &str) -> String {
    decl.replacen("%s", name, 1).trim_end().to_string()
}

impl Conv<'_> {
    fn name(&self, off: UnitOffset) -> Option<String> {
        let e = self.unit.entry(off).ok()?;
        let v = e.attr_value(gimli::DW_AT_name).ok()??;
        let s = self.d.attr_string(self.unit, v).ok()?;
        Some(s.to_string_lossy().ok()?.into_owned())
    }

    fn type_of(&self, off: UnitOffset) -> Option<UnitOffset> {
        let e = self.unit.entry(off).ok()?;
        match e.attr_value(gimli::DW_AT_type).ok()? {
            Some(AttributeValue::UnitRef(o)) => Some(o),
            _ => None,
        }
    }

    fn udata(&self, off: UnitOffset, at: gimli::DwAt) -> Option<u64> {
        let e = self.unit.entry(off).ok()?;
        e.attr_value(at).ok()??.udata_value()
    }

    fn tag(&self, off: UnitOffset) -> Option<gimli::DwTag> {
        self.unit.entry(off).ok().map(|e| e.tag())
    }

    fn children(&self, off: UnitOffset) -> Vec<UnitOffset> {
        let mut v = Vec::new();
        let Ok(mut tree) = self.unit.entries_tree(Some(off)) else {
            return v;
        };
        let Ok(root) = tree.root() else { return v };
        let mut kids = root.children();
        while let Ok(Some(c)) = kids.next() {
            v.push(c.entry().offset());
            if v.len() > MAX_NODES {
                break;
            }
        }
        v
    }

    /// Array dimensions (outermost first); an unknown bound counts 0 (a flexible array).
    fn dims(&self, off: UnitOffset) -> Vec<u64> {
        self.children(off)
            .into_iter()
            .filter(|&c| self.tag(c) == Some(gimli::DW_TAG_subrange_type))
            .map(|c| {
                self.udata(c, gimli::DW_AT_count)
                    .or_else(|| self.udata(c, gimli::DW_AT_upper_bound).map(|u| u + 1))
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Through typedefs and qualifiers.
    fn strip(&self, mut off: Option<UnitOffset>) -> Option<UnitOffset> {
        for _ in 0..MAX_DEPTH {
            let o = off?;
            match self.tag(o)? {
                gimli::DW_TAG_typedef
                | gimli::DW_TAG_const_type
                | gimli::DW_TAG_volatile_type
                | gimli::DW_TAG_restrict_type
                | gimli::DW_TAG_atomic_type => off = self.type_of(o),
                _ => return Some(o),
            }
        }
        None
    }

    /// C declarator with `inner` where the name goes (None: void).
    fn decl(&self, off: Option<UnitOffset>, inner: String, depth: u32) -> String {
        let base = |s: String| {
            if inner.is_empty() {
                s
            } else {
                format!("{s} {inner}")
            }
        };
        let Some(o) = off else {
            return base("void".into());
        };
        if depth > MAX_DEPTH {
            return base("...".into());
        }
        let Some(tag) = self.tag(o) else {
            return base("?".into());
        };
        let named = |kw: &str| match self.name(o) {
            Some(n) => format!("{kw} {n}"),
            None => format!("{kw} {{...}}"),
        };
        match tag {
            gimli::DW_TAG_base_type | gimli::DW_TAG_typedef => {
                base(self.name(o).unwrap_or_else(|| "?".into()))
            }
            gimli::DW_TAG_structure_type => base(named("struct")),
            gimli::DW_TAG_union_type => base(named("union")),
            gimli::DW_TAG_enumeration_type => base(named("enum")),
            gimli::DW_TAG_const_type => {
                format!("const {}", self.decl(self.type_of(o), inner, depth + 1))
            }
            gimli::DW_TAG_volatile_type => {
                format!("volatile {}", self.decl(self.type_of(o), inner, depth + 1))
            }
            gimli::DW_TAG_restrict_type | gimli::DW_TAG_atomic_type => {
                self.decl(self.type_of(o), inner, depth + 1)
            }
            gimli::DW_TAG_pointer_type => {
                let t = self.type_of(o);
                let wrap = matches!(
                    self.strip(t).and_then(|x| self.tag(x)),
                    Some(gimli::DW_TAG_array_type | gimli::DW_TAG_subroutine_type)
                );
                let inner = if wrap {
                    format!("(*{inner})")
                } else {
                    format!("*{inner}")
                };
                self.decl(t, inner, depth + 1)
            }
            gimli::DW_TAG_array_type => {
                let dims: String = self.dims(o).iter().map(|n| format!("[{n}]")).collect();
                self.decl(self.type_of(o), format!("{inner}{dims}"), depth + 1)
            }
            gimli::DW_TAG_subroutine_type => {
                let params: Vec<String> = self
                    .children(o)
                    .into_iter()
                    .filter_map(|c| match self.tag(c)? {
                        gimli::DW_TAG_formal_parameter => {
                            Some(self.decl(self.type_of(c), String::new(), depth + 1))
                        }
                        gimli::DW_TAG_unspecified_parameters => Some("...".into()),
                        _ => None,
                    })
                    .collect();
                let params = if params.is_empty() {
                    "void".into()
                } else {
                    params.join(", ")
                };
                self.decl(self.type_of(o), format!("{inner}({params})"), depth + 1)
            }
            _ => base("?".into()),
        }
    }

    fn ty(&mut self, off: Option<UnitOffset>, depth: u32) -> Ty {
        self.nodes += 1;
        let Some(o) = off else { return Ty::Void };
        let size = self.udata(o, gimli::DW_AT_byte_size).unwrap_or(0);
        if depth > MAX_DEPTH || self.nodes > MAX_NODES {
            return Ty::Opaque {
                name: fill(&self.decl(Some(o), "%s".into(), 0), ""),
                size,
            };
        }
        let Some(tag) = self.tag(o) else {
            return Ty::Opaque {
                name: "?".into(),
                size: 0,
            };
        };
        let declared = self
            .unit
            .entry(o)
            .ok()
            .and_then(|e| e.attr(gimli::DW_AT_declaration).ok().flatten())
            .is_some();
        match tag {
            gimli::DW_TAG_base_type => self.base_ty(o, size),
            gimli::DW_TAG_typedef => self.typedef_ty(o, depth),
            gimli::DW_TAG_const_type
            | gimli::DW_TAG_volatile_type
            | gimli::DW_TAG_restrict_type
            | gimli::DW_TAG_atomic_type => self.ty(self.type_of(o), depth + 1),
            gimli::DW_TAG_pointer_type => Ty::Ptr {
                decl: self.decl(Some(o), "%s".into(), 0),
            },
            gimli::DW_TAG_array_type => {
                let mut t = self.ty(self.type_of(o), depth + 1);
                for n in self.dims(o).into_iter().rev() {
                    t = Ty::Array {
                        elem: Box::new(t),
                        count: n,
                    };
                }
                t
            }
            gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type if !declared => {
                self.composite_ty(o, tag, size, depth)
            }
            gimli::DW_TAG_enumeration_type => self.enum_ty(o, size),
            gimli::DW_TAG_subroutine_type => Ty::Func {
                decl: self.decl(Some(o), "%s".into(), 0),
            },
            _ => Ty::Opaque {
                name: fill(&self.decl(Some(o), "%s".into(), 0), ""),
                size,
            },
        }
    }

    /// A DW_TAG_base_type: an integer (signed, bool, char by its encoding) or a float.
    fn base_ty(&mut self, o: UnitOffset, size: u64) -> Ty {
        let name = self.name(o).unwrap_or_default();
        let enc = self
            .unit
            .entry(o)
            .ok()
            .and_then(|e| e.attr_value(gimli::DW_AT_encoding).ok().flatten());
        let enc = match enc {
            Some(AttributeValue::Encoding(e)) => e,
            _ => gimli::DW_ATE_signed,
        };
        if enc == gimli::DW_ATE_float {
            return Ty::Float { name, size };
        }
        Ty::Int {
            signed: matches!(enc, gimli::DW_ATE_signed | gimli::DW_ATE_signed_char),
            bool_: enc == gimli::DW_ATE_boolean,
            char_: matches!(enc, gimli::DW_ATE_signed_char | gimli::DW_ATE_unsigned_char),
            name,
            size,
        }
    }

    /// A typedef: its target, an integer keeping the typedef's name (and `bool` its meaning).
    fn typedef_ty(&mut self, o: UnitOffset, depth: u32) -> Ty {
        let name = self.name(o).unwrap_or_default();
        match self.ty(self.type_of(o), depth + 1) {
            Ty::Int {
                size,
                signed,
                bool_,
                char_,
                ..
            } => Ty::Int {
                bool_: bool_ || name == "bool",
                name,
                size,
                signed,
                char_,
            },
            other => other,
        }
    }

    /// A defined struct or union with its members' types and bit offsets.
    fn composite_ty(&mut self, o: UnitOffset, tag: gimli::DwTag, size: u64, depth: u32) -> Ty {
        let mut members = Vec::new();
        for m in self.children(o) {
            if self.tag(m) != Some(gimli::DW_TAG_member) {
                continue;
            }
            let name = self.name(m).unwrap_or_default();
            let t = self.type_of(m);
            let loc = self
                .udata(m, gimli::DW_AT_data_member_location)
                .unwrap_or(0);
            let bits = self.udata(m, gimli::DW_AT_bit_size).unwrap_or(0);
            let bit_offset = self.member_bit_offset(m, t, loc, bits);
            members.push(Field {
                decl: fill(&self.decl(t, "%s".into(), 0), &name),
                ty: self.ty(t, depth + 1),
                name,
                bit_offset,
                bits: bits.min(64) as u8,
            });
        }
        Ty::Struct(Box::new(Composite {
            kw: if tag == gimli::DW_TAG_structure_type {
                "struct"
            } else {
                "union"
            },
            name: self.name(o).unwrap_or_default(),
            size,
            members,
        }))
    }

    /// A member's offset in bits: DW_AT_data_bit_offset, or DWARF 2/3's DW_AT_bit_offset, or
    /// its byte location.
    fn member_bit_offset(
        &mut self,
        m: UnitOffset,
        t: Option<UnitOffset>,
        loc: u64,
        bits: u64,
    ) -> u64 {
        match (
            self.udata(m, gimli::DW_AT_data_bit_offset),
            self.udata(m, gimli::DW_AT_bit_offset),
        ) {
            (Some(b), _) => b,
            // DWARF 2/3: counted from the most significant bit of the storage unit.
            (None, Some(b)) if bits > 0 => {
                let unit = self.udata(m, gimli::DW_AT_byte_size).unwrap_or_else(|| {
                    self.strip(t)
                        .and_then(|x| self.udata(x, gimli::DW_AT_byte_size))
                        .unwrap_or(4)
                });
                (loc * 8 + unit * 8).saturating_sub(b + bits)
            }
            _ => loc * 8,
        }
    }

    /// An enumeration with its enumerators' values.
    fn enum_ty(&mut self, o: UnitOffset, size: u64) -> Ty {
        let mut values = Vec::new();
        for c in self.children(o) {
            if self.tag(c) != Some(gimli::DW_TAG_enumerator) {
                continue;
            }
            let v = self.unit.entry(c).ok().and_then(|e| {
                let v = e.attr_value(gimli::DW_AT_const_value).ok()??;
                v.sdata_value()
                    .or_else(|| v.udata_value().map(|u| u as i64))
            });
            if let (Some(n), Some(v)) = (self.name(c), v) {
                values.push((n, v));
            }
        }
        Ty::Enum {
            name: self.name(o).unwrap_or_default(),
            size,
            signed: values.iter().any(|&(_, v)| v < 0),
            values,
        }
    }
}

//! BTF, the kernel's compact type information (Documentation/bpf/btf.rst), read from the dump's
//! own memory: kernels built with CONFIG_DEBUG_INFO_BTF (Debian, Fedora, Ubuntu... since 5.2)
//! carry vmlinux's BTF between `__start_BTF` and `__stop_BTF`. It gives structure layouts
//! (task_struct, module, page, ...) without a vmlinux with debuginfo.
//!
//! Only what crashlens needs: types, struct/union members with bit offsets, enums, names.

use crate::bytes::Le;
use crate::error::Error;
use std::cell::OnceCell;

const MAGIC: u16 = 0xeb9f;

/// BTF kinds (include/uapi/linux/btf.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Void,
    Int,
    Ptr,
    Array,
    Struct,
    Union,
    Enum,
    Fwd,
    Typedef,
    Volatile,
    Const,
    Restrict,
    Func,
    FuncProto,
    Var,
    Datasec,
    Float,
    DeclTag,
    TypeTag,
    Enum64,
}

#[derive(Debug, Clone)]
pub struct Member {
    /// Offset of the name in the string section ([`Btf::str_at`]); 0 = anonymous.
    pub name_off: u32,
    pub type_id: u32,
    /// Offset from the start of the containing struct, in bits.
    pub bit_offset: u64,
    /// Bit-field width (0 = not a bit-field).
    pub bitfield_size: u8,
}

#[derive(Debug, Clone)]
pub struct Type {
    pub kind: Kind,
    /// Offset of the name in the string section ([`Btf::str_at`], [`Btf::name`]).
    pub name_off: u32,
    /// Byte size (int, struct, union, enum, float, datasec).
    pub size: u64,
    /// Referenced type (ptr, typedef, const, volatile, restrict, func, var, type_tag, decl_tag).
    pub ref_type: u32,
    /// Struct/union members.
    pub members: Vec<Member>,
    /// Array: (element type, number of elements).
    pub array: Option<(u32, u64)>,
    /// Enum values: (name offset, value).
    pub enumerators: Vec<(u32, i64)>,
}

/// A parsed BTF blob. Names stay in the string section (no copy per type or member), and a
/// name index of type ids sorted by name serves lookups.
/// Members a single lookup may visit (nested anonymous structs and unions included).
const MAX_VISITS: usize = 1 << 16;

pub struct Btf {
    /// The type section as the kernel holds it.
    tb: Vec<u8>,
    /// Offset of each type's record in `tb`; index 0 is `void` (no record).
    offs: Vec<u32>,
    /// Each type's kind and name offset, read while indexing the records.
    heads: Vec<(Kind, u32)>,
    /// Types parsed so far (on first use: a report needs a few dozen of ~100k).
    types: Vec<OnceCell<Box<Type>>>,
    strs: Vec<u8>,
    /// (name hash, id) of the named types sorted by hash, then name, then id; built on the
    /// first lookup by name.
    by_name: OnceCell<crate::util::HashIndex>,
}

/// Bytes of a type record's kind-specific part (after the 12-byte `struct btf_type`).
fn body_len(kind: Kind, vlen: usize) -> usize {
    match kind {
        Kind::Int | Kind::Var | Kind::DeclTag => 4,
        Kind::Array => 12,
        Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => 12 * vlen,
        Kind::Enum | Kind::FuncProto => 8 * vlen,
        _ => 0,
    }
}

/// FNV-1a of a name (the name index's order).
fn hash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
        (h ^ c as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn u32_at(b: &[u8], o: usize) -> crate::error::Result<u32> {
    b.u32_at(o)
        .ok_or_else(|| Error::Invalid(format!("BTF truncated at {o}")))
}

/// The NUL-terminated bytes at `off` (empty past the end).
fn cbytes(strs: &[u8], off: u32) -> &[u8] {
    let o = off as usize;
    if o >= strs.len() {
        return &[];
    }
    let end = strs[o..]
        .iter()
        .position(|&c| c == 0)
        .map_or(strs.len(), |p| o + p);
    &strs[o..end]
}

fn cstr(strs: &[u8], off: u32) -> &str {
    std::str::from_utf8(cbytes(strs, off)).unwrap_or("")
}

/// BTF_KIND_* 1..=19 in their numeric order (0 is void, which no record in the section has).
const KINDS: [Kind; 19] = [
    Kind::Int,
    Kind::Ptr,
    Kind::Array,
    Kind::Struct,
    Kind::Union,
    Kind::Enum,
    Kind::Fwd,
    Kind::Typedef,
    Kind::Volatile,
    Kind::Const,
    Kind::Restrict,
    Kind::Func,
    Kind::FuncProto,
    Kind::Var,
    Kind::Datasec,
    Kind::Float,
    Kind::DeclTag,
    Kind::TypeTag,
    Kind::Enum64,
];

impl Type {
    fn new(kind: Kind, name_off: u32) -> Type {
        Type {
            kind,
            name_off,
            size: 0,
            ref_type: 0,
            members: vec![],
            array: None,
            enumerators: vec![],
        }
    }
}

/// One type record at `*p` in the type section (the `id`th type), `*p` moved past it.
fn read_type(tb: &[u8], p: &mut usize, id: usize) -> crate::error::Result<Type> {
    let name_off = u32_at(tb, *p)?;
    let info = u32_at(tb, *p + 4)?;
    let size_or_type = u32_at(tb, *p + 8)?;
    *p += 12;
    let vlen = (info & 0xffff) as usize;
    let kflag = info >> 31 != 0;
    let k = (info >> 24) & 0x1f;
    let kind = (k as usize)
        .checked_sub(1)
        .and_then(|i| KINDS.get(i).copied())
        .ok_or_else(|| format!("unknown BTF kind {k} at type {id}"))?;
    let mut t = Type::new(kind, name_off);
    read_body(tb, p, &mut t, vlen, kflag, size_or_type)?;
    Ok(t)
}

/// The kind-specific part of a type record (after the 12-byte `struct btf_type`).
fn read_body(
    tb: &[u8],
    p: &mut usize,
    t: &mut Type,
    vlen: usize,
    kflag: bool,
    size_or_type: u32,
) -> crate::error::Result<()> {
    match t.kind {
        Kind::Int => {
            t.size = size_or_type as u64;
            *p += 4;
        }
        Kind::Float | Kind::Datasec => {
            t.size = size_or_type as u64;
            if t.kind == Kind::Datasec {
                *p += 12 * vlen;
            }
        }
        Kind::Array => {
            t.array = Some((u32_at(tb, *p)?, u32_at(tb, *p + 8)? as u64));
            *p += 12;
        }
        Kind::Struct | Kind::Union => {
            t.size = size_or_type as u64;
            t.members = struct_members(tb, *p, vlen, kflag)?;
            *p += 12 * vlen;
        }
        Kind::Enum => {
            t.size = size_or_type as u64;
            for i in 0..vlen {
                let q = *p + 8 * i;
                let v = u32_at(tb, q + 4)?;
                let v = if kflag { v as i32 as i64 } else { v as i64 };
                t.enumerators.push((u32_at(tb, q)?, v));
            }
            *p += 8 * vlen;
        }
        Kind::Enum64 => {
            t.size = size_or_type as u64;
            for i in 0..vlen {
                let q = *p + 12 * i;
                let v = (u32_at(tb, q + 4)? as u64) | ((u32_at(tb, q + 8)? as u64) << 32);
                t.enumerators.push((u32_at(tb, q)?, v as i64));
            }
            *p += 12 * vlen;
        }
        Kind::FuncProto => {
            // Parameters (struct btf_param { name_off, type }) kept as members.
            t.ref_type = size_or_type;
            for i in 0..vlen {
                let q = *p + 8 * i;
                t.members.push(Member {
                    name_off: u32_at(tb, q)?,
                    type_id: u32_at(tb, q + 4)?,
                    bit_offset: 0,
                    bitfield_size: 0,
                });
            }
            *p += 8 * vlen;
        }
        Kind::Var | Kind::DeclTag => {
            t.ref_type = size_or_type;
            *p += 4;
        }
        Kind::Ptr
        | Kind::Typedef
        | Kind::Volatile
        | Kind::Const
        | Kind::Restrict
        | Kind::Func
        | Kind::TypeTag => {
            t.ref_type = size_or_type;
        }
        Kind::Fwd | Kind::Void => {}
    }
    Ok(())
}

/// A struct's or union's `vlen` members (struct btf_member) at `p`; with `kflag` the offset
/// word holds the bitfield size in its top byte.
fn struct_members(
    tb: &[u8],
    p: usize,
    vlen: usize,
    kflag: bool,
) -> crate::error::Result<Vec<Member>> {
    let mut members = Vec::with_capacity(vlen);
    for i in 0..vlen {
        let q = p + 12 * i;
        let off = u32_at(tb, q + 8)?;
        let (bit_offset, bitfield_size) = if kflag {
            ((off & 0xff_ffff) as u64, (off >> 24) as u8)
        } else {
            (off as u64, 0)
        };
        members.push(Member {
            name_off: u32_at(tb, q)?,
            type_id: u32_at(tb, q + 4)?,
            bit_offset,
            bitfield_size,
        });
    }
    Ok(members)
}

impl Btf {
    /// Parses a little-endian BTF blob (header, type section, string section).
    pub fn parse(b: &[u8]) -> crate::error::Result<Btf> {
        if b.len() < 24 || b.u16_at(0) != Some(MAGIC) {
            return Err("no BTF magic".into());
        }
        let hdr_len = u32_at(b, 4)? as usize;
        let (type_off, type_len) = (u32_at(b, 8)? as usize, u32_at(b, 12)? as usize);
        let (str_off, str_len) = (u32_at(b, 16)? as usize, u32_at(b, 20)? as usize);
        let span = |o: usize, l: usize| {
            hdr_len
                .checked_add(o)
                .and_then(|s| s.checked_add(l).map(|e| (s, e)))
                .filter(|&(_, e)| e <= b.len())
                .ok_or_else(|| "BTF section outside the blob".to_string())
        };
        let (ts, te) = span(type_off, type_len)?;
        let (ss, se) = span(str_off, str_len)?;
        let tb = &b[ts..te];
        let strs = &b[ss..se];
        // Index the records (kind, name, where each starts); each is parsed on first use.
        let mut offs = vec![0u32];
        let mut heads = vec![(Kind::Void, 0u32)];
        let mut p = 0usize;
        while p + 12 <= tb.len() {
            let id = offs.len();
            let name_off = u32_at(tb, p)?;
            let info = u32_at(tb, p + 4)?;
            let k = (info >> 24) & 0x1f;
            let kind = (k as usize)
                .checked_sub(1)
                .and_then(|i| KINDS.get(i).copied())
                .ok_or_else(|| format!("unknown BTF kind {k} at type {id}"))?;
            let end = p + 12 + body_len(kind, (info & 0xffff) as usize);
            if end > tb.len() {
                return Err(Error::Invalid(format!("BTF truncated at {}", tb.len())));
            }
            offs.push(p as u32);
            heads.push((kind, name_off));
            p = end;
        }
        let mut types = Vec::new();
        types.resize_with(offs.len(), OnceCell::new);
        Ok(Btf {
            tb: tb.to_vec(),
            offs,
            heads,
            types,
            strs: strs.to_vec(),
            by_name: OnceCell::new(),
        })
    }

    /// (hash, id) of every named type whose name is UTF-8, in the index's order.
    fn name_index(&self) -> crate::util::HashIndex {
        let v: Vec<(u64, u32)> = (1..self.heads.len() as u32)
            .filter_map(|i| {
                let n = cbytes(&self.strs, self.heads[i as usize].1);
                (!n.is_empty() && std::str::from_utf8(n).is_ok()).then(|| (hash(n), i))
            })
            .collect();
        crate::util::HashIndex::new(v)
    }

    /// The string at `off` in the string section.
    pub fn str_at(&self, off: u32) -> &str {
        cstr(&self.strs, off)
    }

    /// A type's name (`""` when anonymous).
    pub fn name(&self, id: u32) -> &str {
        self.get(id).map_or("", |t| self.str_at(t.name_off))
    }

    /// A member's name (`""` when anonymous).
    pub fn member_name(&self, m: &Member) -> &str {
        self.str_at(m.name_off)
    }

    pub fn len(&self) -> usize {
        self.offs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.offs.len() <= 1
    }

    pub fn get(&self, id: u32) -> Option<&Type> {
        let cell = self.types.get(id as usize)?;
        Some(cell.get_or_init(|| {
            let (kind, name_off) = self.heads[id as usize];
            if kind == Kind::Void {
                return Box::new(Type::new(Kind::Void, 0));
            }
            let mut p = self.offs[id as usize] as usize;
            // The record's bounds were checked when it was indexed.
            Box::new(
                read_type(&self.tb, &mut p, id as usize)
                    .unwrap_or_else(|_| Type::new(kind, name_off)),
            )
        }))
    }

    /// A type's kind without parsing it.
    pub fn kind(&self, id: u32) -> Option<Kind> {
        self.heads.get(id as usize).map(|h| h.0)
    }

    /// Type ids with this name (any kind), in id order.
    pub fn ids(&self, name: &str) -> Vec<u32> {
        let idx = self.by_name.get_or_init(|| self.name_index());
        let name = name.as_bytes();
        idx.get(hash(name))
            .filter(|&i| cbytes(&self.strs, self.heads[i as usize].1) == name)
            .collect()
    }

    /// The complete struct or union named `name` (`struct page` or `page`).
    pub fn find_struct(&self, name: &str) -> Option<u32> {
        let n = name
            .strip_prefix("struct ")
            .or_else(|| name.strip_prefix("union "))
            .unwrap_or(name);
        let ids = self.ids(n);
        ids.iter()
            .copied()
            .find(|&i| matches!(self.kind(i), Some(Kind::Struct | Kind::Union)))
            .or_else(|| {
                // A typedef'd struct (`atomic_long_t`, `seqcount_raw_spinlock_t`).
                ids.iter().map(|&i| self.resolve(i)).find(|&i| {
                    self.get(i)
                        .is_some_and(|t| matches!(t.kind, Kind::Struct | Kind::Union))
                })
            })
    }

    /// Follows typedef / const / volatile / restrict / type tags to the underlying type.
    pub fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..64 {
            match self.get(id) {
                Some(t)
                    if matches!(
                        t.kind,
                        Kind::Typedef
                            | Kind::Volatile
                            | Kind::Const
                            | Kind::Restrict
                            | Kind::TypeTag
                    ) =>
                {
                    id = t.ref_type
                }
                _ => break,
            }
        }
        id
    }

    /// Size in bytes of a type (arrays multiplied out, pointers 8).
    pub fn type_size(&self, id: u32) -> Option<u64> {
        self.type_size_in(id, 0)
    }

    fn type_size_in(&self, id: u32, depth: u32) -> Option<u64> {
        let id = self.resolve(id);
        let t = self.get(id)?;
        match t.kind {
            Kind::Ptr => Some(8),
            // Bounded: a damaged blob may make an array its own element type.
            Kind::Array if depth < 32 => {
                let (e, n) = t.array?;
                self.type_size_in(e, depth + 1)?.checked_mul(n)
            }
            Kind::Int | Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Float => {
                Some(t.size)
            }
            _ => None,
        }
    }

    pub fn struct_size(&self, name: &str) -> Option<u64> {
        self.find_struct(name)
            .and_then(|i| self.get(i))
            .map(|t| t.size)
    }

    /// A member by name, looking through anonymous structs and unions; returns the bit offset
    /// from the start of `id` and the member.
    fn member_in(&self, id: u32, name: &str, depth: u32) -> Option<(u64, &Member)> {
        let mut budget = MAX_VISITS;
        self.member_in_b(id, name, depth, &mut budget)
    }

    /// As `member_in`, with a budget of members visited: a damaged blob can nest anonymous
    /// members into each other so that the search would take exponential time.
    fn member_in_b(
        &self,
        id: u32,
        name: &str,
        depth: u32,
        budget: &mut usize,
    ) -> Option<(u64, &Member)> {
        if depth > 16 {
            return None;
        }
        let t = self.get(self.resolve(id))?;
        *budget = budget.checked_sub(t.members.len())?;
        for m in &t.members {
            if self.member_name(m) == name {
                return Some((m.bit_offset, m));
            }
        }
        for m in t
            .members
            .iter()
            .filter(|m| m.name_off == 0 || self.member_name(m).is_empty())
        {
            if let Some((o, mm)) = self.member_in_b(m.type_id, name, depth + 1, budget) {
                return Some((m.bit_offset.checked_add(o)?, mm));
            }
        }
        None
    }

    /// Resolves `a.b[2].c` in struct `st`: (bit offset, member type id, bit-field size).
    pub fn member(&self, st: &str, path: &str) -> Option<(u64, u32, u8)> {
        let mut id = self.find_struct(st)?;
        let mut bits = 0u64;
        let mut bf = 0u8;
        for part in path.split('.') {
            let (name, index) = match part.split_once('[') {
                Some((n, rest)) => (n, Some(rest.strip_suffix(']')?.parse::<u64>().ok()?)),
                None => (part, None),
            };
            let (o, m) = self.member_in(id, name, 0)?;
            bits = bits.checked_add(o)?;
            bf = m.bitfield_size;
            id = m.type_id;
            if let Some(i) = index {
                let at = self.get(self.resolve(id))?;
                let (elem, n) = at.array?;
                if i >= n {
                    return None;
                }
                bits = bits.checked_add(self.type_size(elem)?.checked_mul(8 * i)?)?;
                id = elem;
            }
        }
        Some((bits, id, bf))
    }

    /// Byte offset of `a.b.c` in struct `st` (`member_offset("module", "core_layout.base")`).
    pub fn member_offset(&self, st: &str, path: &str) -> Option<u64> {
        self.member(st, path).map(|(b, _, _)| b / 8)
    }

    /// Size in bytes of the member `path` of `st`.
    pub fn member_size(&self, st: &str, path: &str) -> Option<u64> {
        self.member(st, path)
            .and_then(|(_, id, _)| self.type_size(id))
    }

    /// Number of elements of an array member.
    pub fn member_array_len(&self, st: &str, path: &str) -> Option<u64> {
        let (_, id, _) = self.member(st, path)?;
        self.get(self.resolve(id))?.array.map(|(_, n)| n)
    }

    /// The named field path at byte `offset` in struct `st` (descending into nested structs and
    /// unions; for a union the first member that covers it): e.g. `page` + 52 -> `_refcount`.
    pub fn field_at(&self, st: &str, offset: u64) -> Option<String> {
        let id = self.find_struct(st)?;
        let mut out = Vec::new();
        let mut budget = MAX_VISITS;
        self.field_at_in(id, offset.checked_mul(8)?, &mut out, 0, &mut budget);
        (!out.is_empty()).then(|| out.join("."))
    }

    fn field_at_in(
        &self,
        id: u32,
        bit: u64,
        out: &mut Vec<String>,
        depth: u32,
        budget: &mut usize,
    ) {
        if depth > 16 {
            return;
        }
        let Some(t) = self.get(self.resolve(id)) else {
            return;
        };
        let Some(left) = budget.checked_sub(t.members.len()) else {
            return;
        };
        *budget = left;
        for m in &t.members {
            let size = if m.bitfield_size > 0 {
                m.bitfield_size as u64
            } else {
                self.type_size(m.type_id).unwrap_or(0).saturating_mul(8)
            };
            if bit >= m.bit_offset && bit < m.bit_offset.saturating_add(size.max(1)) {
                let inner = self.get(self.resolve(m.type_id)).map(|t| t.kind);
                let before = out.len();
                let mname = self.member_name(m);
                if !mname.is_empty() {
                    out.push(mname.to_string());
                }
                if matches!(inner, Some(Kind::Struct | Kind::Union)) {
                    self.field_at_in(m.type_id, bit - m.bit_offset, out, depth + 1, budget);
                }
                if out.len() > before {
                    return;
                }
            }
        }
    }

    /// The struct that parameter `index` (0-based) of function `func` points to:
    /// `__free_pages`, 0 -> `page`.
    pub fn param_pointee_struct(&self, func: &str, index: usize) -> Option<String> {
        let f = self
            .ids(func)
            .iter()
            .copied()
            .find(|&i| self.get(i).is_some_and(|t| t.kind == Kind::Func))?;
        let proto = self.get(self.get(f)?.ref_type)?;
        let param = proto.members.get(index)?;
        let ptr = self.get(self.resolve(param.type_id))?;
        if ptr.kind != Kind::Ptr {
            return None;
        }
        let sid = self.resolve(ptr.ref_type);
        let st = self.get(sid)?;
        matches!(st.kind, Kind::Struct | Kind::Union).then(|| self.name(sid).to_string())
    }

    /// Value of `enumerator` in the enum named `name` (`node_stat_item`, `NR_FILE_PAGES`): the
    /// same name in another enum does not answer.
    pub fn enum_member(&self, name: &str, enumerator: &str) -> Option<i64> {
        self.ids(name)
            .iter()
            .filter_map(|&i| self.get(i))
            .filter(|t| matches!(t.kind, Kind::Enum | Kind::Enum64))
            .find_map(|t| {
                t.enumerators
                    .iter()
                    .find(|&&(n, _)| self.str_at(n) == enumerator)
                    .map(|&(_, v)| v)
            })
    }

    /// The shape of member `path` of `st`, typedefs resolved: its kind, the name of its type (of
    /// the element type for an array) and the array length. `mm_struct.rss_stat` is
    /// `(Array, "percpu_counter", Some(4))` on 6.2+, `(Struct, "mm_rss_stat", None)` before.
    pub fn member_shape(&self, st: &str, path: &str) -> Option<(Kind, String, Option<u64>)> {
        let (_, id, _) = self.member(st, path)?;
        let id = self.resolve(id);
        let t = self.get(id)?;
        match t.array {
            Some((e, n)) => {
                let e = self.resolve(e);
                Some((t.kind, self.name(e).to_string(), Some(n)))
            }
            None => Some((t.kind, self.name(id).to_string(), None)),
        }
    }

    /// Value of an enumerator (`MOD_TEXT`, `TASK_RUNNING`...) in any enum.
    pub fn enum_value(&self, enumerator: &str) -> Option<i64> {
        (1..self.heads.len() as u32)
            .filter(|&i| matches!(self.heads[i as usize].0, Kind::Enum | Kind::Enum64))
            .filter_map(|i| self.get(i))
            .find_map(|t| {
                t.enumerators
                    .iter()
                    .find(|&&(n, _)| self.str_at(n) == enumerator)
                    .map(|&(_, v)| v)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-assembled blob: int (id 1), struct inner {int x; int y:3 (bitfield at 35)} (id 2),
    /// struct outer {int a; union {struct inner in;} ; int arr[4]} (id 3), anon union (id 4),
    /// array (id 5).
    #[test]
    fn parse_members() {
        let strs = b"\0int\0inner\0x\0y\0outer\0a\0in\0arr\0".to_vec();
        let so = |s: &str| {
            let pat = format!("\0{s}\0");
            strs.windows(pat.len())
                .position(|w| w == pat.as_bytes())
                .unwrap() as u32
                + 1
        };
        let mut t = Vec::new();
        let mut w = |v: u32| t.extend_from_slice(&v.to_le_bytes());
        // 1: int
        w(so("int"));
        w(1 << 24);
        w(4);
        w(32);
        // 2: struct inner, kflag, 2 members
        w(so("inner"));
        w((1 << 31) | (4 << 24) | 2);
        w(8);
        w(so("x"));
        w(1);
        w(0);
        w(so("y"));
        w(1);
        w((3 << 24) | 35);
        // 3: struct outer, 3 members
        w(so("outer"));
        w((4 << 24) | 3);
        w(28);
        w(so("a"));
        w(1);
        w(0);
        w(0);
        w(4);
        w(32);
        w(so("arr"));
        w(5);
        w(96);
        // 4: anonymous union { struct inner in; }
        w(0);
        w((5 << 24) | 1);
        w(8);
        w(so("in"));
        w(2);
        w(0);
        // 5: int[4]
        w(0);
        w(3 << 24);
        w(0);
        w(1);
        w(1);
        w(4);
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC.to_le_bytes());
        b.extend_from_slice(&[1, 0]);
        for v in [24u32, 0, t.len() as u32, t.len() as u32, strs.len() as u32] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&t);
        b.extend_from_slice(&strs);
        let btf = Btf::parse(&b).unwrap();
        assert_eq!(btf.struct_size("outer"), Some(28));
        assert_eq!(btf.member_offset("outer", "in.x"), Some(4));
        assert_eq!(btf.member("outer", "in.y"), Some((67, 1, 3)));
        assert_eq!(btf.member_offset("outer", "arr[2]"), Some(20));
        assert_eq!(btf.member_offset("outer", "arr[4]"), None);
        assert_eq!(btf.member_array_len("outer", "arr"), Some(4));
        assert_eq!(btf.field_at("outer", 5).as_deref(), Some("in.x"));
        assert_eq!(btf.field_at("outer", 16).as_deref(), Some("arr"));
        assert!(Btf::parse(&b[..30]).is_err());
    }

    /// Damaged blobs (valid header, random type data, every truncation) give an error or a
    /// table, never a panic or a hang.
    #[test]
    fn garbage_never_panics() {
        // An array that is its own element type.
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC.to_le_bytes());
        b.extend_from_slice(&[1, 0]);
        for v in [24u32, 0, 24, 24, 1] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [0u32, 3 << 24, 0, 1, 1, 4] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.push(0);
        let btf = Btf::parse(&b).unwrap();
        assert_eq!(btf.type_size(1), None);
        let mut x = 0x9e37_79b9u32;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for round in 0..200 {
            let tl = 64 + (rnd() % 512) as usize;
            let sl = 16 + (rnd() % 64) as usize;
            let mut b = Vec::new();
            b.extend_from_slice(&MAGIC.to_le_bytes());
            b.extend_from_slice(&[1, 0]);
            for v in [24u32, 0, tl as u32, tl as u32, sl as u32] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            for _ in 0..(tl + sl) {
                b.push(rnd() as u8);
            }
            let cut = if round % 2 == 0 {
                b.len()
            } else {
                (rnd() as usize) % b.len()
            };
            if let Ok(btf) = Btf::parse(&b[..cut]) {
                for id in 0..btf.len() as u32 {
                    let _ = btf.type_size(id);
                    let _ = btf.resolve(id);
                }
                let _ = btf.field_at("x", 3);
                let _ = btf.member_offset("x", "a.b[3]");
            }
        }
    }
}

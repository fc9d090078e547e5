//! One neutral description of a C type, built from BTF (vmlinux) or DWARF (a module's `.ko`,
//! a vmlinux with debuginfo), and the two ways crash shows it: the layout with offsets
//! (`struct -o`) and a value read from memory (`struct TYPE ADDR`, `p`), gdb's pretty print.
//!
//! Every walk is bounded: nesting depth, nodes per type, elements per array, lines of output.

use crate::bytes::Le;
use crate::kernel::btf::{Btf, Kind};
use std::fmt::Write;

/// Nesting depth a type may have before it is cut off.
const MAX_DEPTH: u32 = 24;
/// Nodes one type may expand into (task_struct expands into a few thousand).
pub const MAX_NODES: usize = 1 << 16;
/// Array elements printed before `...` (gdb's `print elements` default).
const MAX_ELEMENTS: u64 = 200;
/// Lines of output one value may take.
const MAX_LINES: usize = 50_000;

#[derive(Debug, Clone)]
pub enum Ty {
    Void,
    /// `name` is the C spelling (`unsigned int`, `_Bool`, a typedef's name for its base).
    Int {
        name: String,
        size: u64,
        signed: bool,
        bool_: bool,
        char_: bool,
    },
    Float {
        name: String,
        size: u64,
    },
    /// `decl` is the C spelling of the pointer type with `%s` where the name goes.
    Ptr {
        decl: String,
    },
    Array {
        elem: Box<Ty>,
        count: u64,
    },
    Struct(Box<Composite>),
    Enum {
        name: String,
        size: u64,
        signed: bool,
        values: Vec<(String, i64)>,
    },
    /// A function (never a member's type: members hold pointers to them).
    Func {
        decl: String,
    },
    /// Something the type information does not describe fully (a forward declaration, a cut).
    Opaque {
        name: String,
        size: u64,
    },
}

#[derive(Debug, Clone)]
pub struct Composite {
    /// `struct` or `union`.
    pub kw: &'static str,
    /// Empty when anonymous.
    pub name: String,
    pub size: u64,
    pub members: Vec<Field>,
}

#[derive(Debug, Clone)]
pub struct Field {
    /// Empty for an anonymous struct or union.
    pub name: String,
    /// The declaration as C writes it (`struct list_head tasks`, `char comm[16]`).
    pub decl: String,
    pub ty: Ty,
    /// From the start of the containing struct.
    pub bit_offset: u64,
    /// Bit-field width (0: not a bit-field).
    pub bits: u8,
}

impl Ty {
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Ty::Void | Ty::Func { .. } => 0,
            Ty::Int { size, .. }
            | Ty::Float { size, .. }
            | Ty::Enum { size, .. }
            | Ty::Opaque { size, .. } => *size,
            Ty::Ptr { .. } => 8,
            Ty::Array { elem, count } => elem.size().saturating_mul(*count),
            Ty::Struct(c) => c.size,
        }
    }
}

/// Fills `%s` of a declarator with a name (`char %s[16]` + `comm`).
fn fill(decl: &str, name: &str) -> String {
    let d = decl.replacen("%s", name, 1);
    d.trim_end().replace("  ", " ")
}

// ---------------------------------------------------------------------------------------------
// From BTF.

/// Builds [`Ty`] values from vmlinux's BTF.
pub struct FromBtf<'b> {
    pub btf: &'b Btf,
    nodes: usize,
}

impl<'b> FromBtf<'b> {
    pub fn new(btf: &'b Btf) -> Self {
        FromBtf { btf, nodes: 0 }
    }

    /// The struct, union, enum or typedef named `name` (`task_struct`, `struct page`).
    pub fn named(&mut self, name: &str) -> Option<Ty> {
        let b = self.btf;
        let bare = name
            .strip_prefix("struct ")
            .or_else(|| name.strip_prefix("union "))
            .or_else(|| name.strip_prefix("enum "))
            .unwrap_or(name)
            .trim();
        let id = b.find_struct(bare).or_else(|| {
            b.ids(bare).iter().copied().find(|&i| {
                b.get(i).is_some_and(|t| {
                    matches!(
                        t.kind,
                        Kind::Enum | Kind::Enum64 | Kind::Typedef | Kind::Int | Kind::Float
                    )
                })
            })
        })?;
        Some(self.ty(id, 0))
    }

    /// The type of a global variable BTF describes (`VAR`: per-CPU variables in vmlinux BTF).
    pub fn var(&mut self, name: &str) -> Option<(Ty, String)> {
        let b = self.btf;
        let id = b
            .ids(name)
            .iter()
            .copied()
            .find(|&i| b.get(i).is_some_and(|t| t.kind == Kind::Var))?;
        let t = b.get(id)?.ref_type;
        let decl = self.decl(t, 0);
        Some((self.ty(t, 0), fill(&decl, name)))
    }

    /// C declarator of type `id` with `%s` for the name (`struct list_head %s`, `char %s[16]`).
    pub fn decl(&self, id: u32, depth: u32) -> String {
        self.decl_in(id, "%s".into(), depth)
    }

    fn decl_in(&self, id: u32, inner: String, depth: u32) -> String {
        let b = self.btf;
        let Some(t) = b.get(id) else {
            return format!("? {inner}");
        };
        if depth > MAX_DEPTH {
            return format!("... {inner}");
        }
        let base = |s: String| {
            if inner.is_empty() {
                s
            } else {
                format!("{s} {inner}")
            }
        };
        match t.kind {
            Kind::Void => base("void".into()),
            Kind::Int | Kind::Float | Kind::Typedef => base(b.name(id).to_string()),
            Kind::Struct | Kind::Union | Kind::Fwd | Kind::Enum | Kind::Enum64 => {
                let kw = match t.kind {
                    Kind::Struct => "struct",
                    Kind::Union => "union",
                    Kind::Enum | Kind::Enum64 => "enum",
                    // BTF's FWD: kflag 1 = union; the kflag is not kept, struct is the usual.
                    _ => "struct",
                };
                let n = b.name(id);
                if n.is_empty() {
                    base(format!("{kw} {{...}}"))
                } else {
                    base(format!("{kw} {n}"))
                }
            }
            Kind::Const => format!("const {}", self.decl_in(t.ref_type, inner, depth + 1)),
            Kind::Volatile => format!("volatile {}", self.decl_in(t.ref_type, inner, depth + 1)),
            Kind::Restrict | Kind::TypeTag | Kind::DeclTag | Kind::Var => {
                self.decl_in(t.ref_type, inner, depth + 1)
            }
            Kind::Ptr => {
                let target = b.get(b.resolve(t.ref_type)).map(|t| t.kind);
                let inner = if matches!(target, Some(Kind::Array | Kind::FuncProto)) {
                    format!("(*{inner})")
                } else {
                    format!("*{inner}")
                };
                self.decl_in(t.ref_type, inner, depth + 1)
            }
            Kind::Array => {
                let (e, n) = t.array.unwrap_or((0, 0));
                self.decl_in(e, format!("{inner}[{n}]"), depth + 1)
            }
            Kind::FuncProto => {
                let params: Vec<String> = t
                    .members
                    .iter()
                    .map(|p| {
                        if p.type_id == 0 {
                            "...".to_string()
                        } else {
                            fill(&self.decl(p.type_id, depth + 1), "")
                        }
                    })
                    .collect();
                let params = if params.is_empty() {
                    "void".to_string()
                } else {
                    params.join(", ")
                };
                self.decl_in(t.ref_type, format!("{inner}({params})"), depth + 1)
            }
            Kind::Func => self.decl_in(t.ref_type, inner, depth + 1),
            Kind::Datasec => base(format!("section {}", b.name(id))),
        }
    }

    /// The type `id`, expanded (structs with their members, arrays with their element type).
    pub fn ty(&mut self, id: u32, depth: u32) -> Ty {
        let b = self.btf;
        self.nodes += 1;
        let Some(t) = b.get(id) else {
            return Ty::Opaque {
                name: "?".into(),
                size: 0,
            };
        };
        if depth > MAX_DEPTH || self.nodes > MAX_NODES {
            return Ty::Opaque {
                name: fill(&self.decl(id, 0), ""),
                size: b.type_size(id).unwrap_or(0),
            };
        }
        match t.kind {
            Kind::Void => Ty::Void,
            Kind::Int => {
                let name = b.name(id).to_string();
                Ty::Int {
                    signed: !name.contains("unsigned") && name != "_Bool",
                    bool_: name == "_Bool" || name == "bool",
                    char_: name.contains("char"),
                    name,
                    size: t.size,
                }
            }
            Kind::Float => Ty::Float {
                name: b.name(id).to_string(),
                size: t.size,
            },
            Kind::Typedef => {
                let inner = self.ty(t.ref_type, depth + 1);
                match inner {
                    Ty::Int {
                        size,
                        signed,
                        char_,
                        bool_,
                        ..
                    } => Ty::Int {
                        name: b.name(id).to_string(),
                        size,
                        signed,
                        char_,
                        bool_: bool_ || b.name(id) == "bool",
                    },
                    other => other,
                }
            }
            Kind::Const
            | Kind::Volatile
            | Kind::Restrict
            | Kind::TypeTag
            | Kind::DeclTag
            | Kind::Var => self.ty(t.ref_type, depth + 1),
            Kind::Ptr => Ty::Ptr {
                decl: self.decl(id, 0),
            },
            Kind::Array => {
                let (e, n) = t.array.unwrap_or((0, 0));
                Ty::Array {
                    elem: Box::new(self.ty(e, depth + 1)),
                    count: n,
                }
            }
            Kind::Struct | Kind::Union => {
                let mut members = Vec::with_capacity(t.members.len());
                for m in &t.members {
                    let name = b.member_name(m).to_string();
                    let decl = fill(&self.decl(m.type_id, 0), &name);
                    members.push(Field {
                        ty: self.ty(m.type_id, depth + 1),
                        name,
                        decl,
                        bit_offset: m.bit_offset,
                        bits: m.bitfield_size,
                    });
                }
                Ty::Struct(Box::new(Composite {
                    kw: if t.kind == Kind::Struct {
                        "struct"
                    } else {
                        "union"
                    },
                    name: b.name(id).to_string(),
                    size: t.size,
                    members,
                }))
            }
            Kind::Enum | Kind::Enum64 => Ty::Enum {
                name: b.name(id).to_string(),
                size: t.size,
                signed: t.enumerators.iter().any(|&(_, v)| v < 0),
                values: t
                    .enumerators
                    .iter()
                    .map(|&(n, v)| (b.str_at(n).to_string(), v))
                    .collect(),
            },
            Kind::Func | Kind::FuncProto => Ty::Func {
                decl: self.decl(id, 0),
            },
            Kind::Fwd | Kind::Datasec => Ty::Opaque {
                name: fill(&self.decl(id, 0), ""),
                size: 0,
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Layout: crash's `struct -o`.

/// `struct task_struct {` ... `}` with `[offset]` before each member and `SIZE: n` after;
/// anonymous structs and unions are expanded in place, named ones shown by name.
pub fn layout(title: &str, ty: &Ty) -> String {
    let mut s = String::new();
    match ty {
        Ty::Struct(c) => {
            let _ = writeln!(s, "{title} {{");
            layout_members(&mut s, c, 0, 1);
            let _ = writeln!(s, "}}");
            let _ = writeln!(s, "SIZE: {}", c.size);
        }
        Ty::Enum { values, size, .. } => {
            let _ = writeln!(s, "{title} {{");
            for (i, (n, v)) in values.iter().enumerate() {
                let comma = if i + 1 < values.len() { "," } else { "" };
                let _ = writeln!(s, "  {n} = {v}{comma}");
            }
            let _ = writeln!(s, "}};");
            let _ = writeln!(s, "SIZE: {size}");
        }
        other => {
            let _ = writeln!(s, "{title}");
            let _ = writeln!(s, "SIZE: {}", other.size());
        }
    }
    s
}

fn layout_members(s: &mut String, c: &Composite, base_bits: u64, level: usize) {
    for f in &c.members {
        if s.len() > 8 << 20 {
            return;
        }
        let bits = base_bits + f.bit_offset;
        let off = format!("[{}]", bits / 8);
        let pad = "  ".repeat(level.saturating_sub(1));
        match &f.ty {
            // Anonymous ones only (a typedef of an unnamed struct, `atomic_t`, has a name).
            Ty::Struct(inner) if f.decl.contains("{...}") => {
                let _ = writeln!(s, "{off:>8} {pad}{} {{", inner.kw);
                layout_members(s, inner, bits, level + 1);
                let name = if f.name.is_empty() {
                    String::new()
                } else {
                    format!(" {}", f.name)
                };
                let _ = writeln!(s, "{:>8} {pad}}}{name};", "");
            }
            _ => {
                let bf = if f.bits > 0 {
                    format!(" : {}", f.bits)
                } else {
                    String::new()
                };
                let _ = writeln!(s, "{off:>8} {pad}{}{bf};", f.decl);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Values: gdb's pretty print as crash shows it.

/// Names kernel addresses (`<init_task>`) in pointer values.
pub trait Namer {
    fn name(&self, addr: u64) -> Option<String>;
}

impl<F: Fn(u64) -> Option<String>> Namer for F {
    fn name(&self, addr: u64) -> Option<String> {
        self(addr)
    }
}

/// `struct task_struct {` + members `name = value,` indented two spaces per level + `}`:
/// `bytes` holds the value (its size, or less: what is missing prints as `<unreadable>`).
pub fn value(title: &str, ty: &Ty, bytes: &[u8], names: &dyn Namer) -> String {
    let mut p = Printer {
        out: String::new(),
        names,
        lines: 0,
    };
    // `struct task_struct {` for a struct printed by its type (crash's struct), `name = ` for
    // a variable (crash's p).
    let by_type = title.starts_with("struct ") || title.starts_with("union ");
    match ty {
        Ty::Struct(_) if by_type => {
            let _ = write!(p.out, "{title} ");
            p.val(ty, bytes, 0, 0, 0);
            p.out.push('\n');
        }
        _ => {
            let _ = write!(p.out, "{title} = ");
            p.val(ty, bytes, 0, 0, 0);
            p.out.push('\n');
        }
    }
    p.out
}

struct Printer<'a> {
    out: String,
    names: &'a dyn Namer,
    lines: usize,
}

fn uint_at(bytes: &[u8], byte: u64, size: u64) -> Option<u64> {
    let start = usize::try_from(byte).ok()?;
    let n = usize::try_from(size.min(8)).ok()?;
    bytes.uint_n_at(start, n)
}

/// The scalar at bit `bit` of `bytes`: a `bits`-wide bit-field, or (`bits` 0) `size` bytes.
fn scalar_at(bytes: &[u8], bit: u64, bits: u8, size: u64) -> Option<u64> {
    if bits > 0 {
        let first = bit / 8;
        let span = (bit % 8 + bits as u64).div_ceil(8);
        let raw = uint_at(bytes, first, span)?;
        let v = raw >> (bit % 8);
        Some(if bits >= 64 {
            v
        } else {
            v & ((1u64 << bits) - 1)
        })
    } else {
        uint_at(bytes, bit / 8, size)
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    if bits == 0 || bits >= 64 {
        return v as i64;
    }
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// gdb's spelling of a char: `0 '\000'`, `104 'h'`.
fn char_lit(v: i64) -> String {
    let c = v as u8;
    let shown = match c {
        b'\'' => "\\'".to_string(),
        b'\\' => "\\\\".to_string(),
        b'\n' => "\\n".to_string(),
        b'\t' => "\\t".to_string(),
        0x20..=0x7e => (c as char).to_string(),
        _ => format!("\\{c:03o}"),
    };
    format!("{v} '{shown}'")
}

/// A char array as gdb prints it with `print null-stop`: up to the first NUL.
fn string_lit(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let mut s = String::from("\"");
    for &c in &b[..end] {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\{c:03o}");
            }
        }
    }
    s.push('"');
    s
}

impl Printer<'_> {
    fn newline(&mut self, level: usize) {
        self.lines += 1;
        self.out.push('\n');
        for _ in 0..level {
            self.out.push_str("  ");
        }
    }

    /// Writes the value of `ty` at bit `bit` of `bytes` (`bits` > 0: a bit-field).
    fn val(&mut self, ty: &Ty, bytes: &[u8], bit: u64, bits: u8, level: usize) {
        if self.lines > MAX_LINES {
            self.out.push_str("...");
            return;
        }
        let byte = bit / 8;
        let size = ty.size();
        let readable = bits > 0
            || byte
                .checked_add(size)
                .is_some_and(|e| e <= bytes.len() as u64);
        if !readable && !matches!(ty, Ty::Struct(_) | Ty::Array { .. }) {
            self.out.push_str("<unreadable>");
            return;
        }
        let scalar = |bytes: &[u8]| scalar_at(bytes, bit, bits, size);
        let width = if bits > 0 {
            bits as u32
        } else {
            (size * 8) as u32
        };
        match ty {
            Ty::Void => self.out.push_str("void"),
            Ty::Int {
                signed,
                bool_,
                char_,
                size,
                ..
            } => {
                if *size > 8 {
                    // __int128: two words, low first.
                    let lo = uint_at(bytes, byte, 8).unwrap_or(0);
                    let hi = uint_at(bytes, byte + 8, 8).unwrap_or(0);
                    let v = ((hi as u128) << 64) | lo as u128;
                    let _ = write!(self.out, "{v}");
                    return;
                }
                let Some(v) = scalar(bytes) else {
                    self.out.push_str("<unreadable>");
                    return;
                };
                let char_ = *char_ && *size == 1 && bits == 0;
                self.int_val(v, *signed, *bool_, char_, width);
            }
            Ty::Float { size, .. } => match (size, scalar(bytes)) {
                (4, Some(v)) => {
                    let _ = write!(self.out, "{}", f32::from_bits(v as u32));
                }
                (8, Some(v)) => {
                    let _ = write!(self.out, "{}", f64::from_bits(v));
                }
                _ => self.out.push_str("<float>"),
            },
            Ty::Enum { values, signed, .. } => {
                let Some(v) = scalar(bytes) else {
                    self.out.push_str("<unreadable>");
                    return;
                };
                self.enum_val(values, *signed, v, width);
            }
            Ty::Ptr { .. } => {
                let Some(v) = scalar(bytes) else {
                    self.out.push_str("<unreadable>");
                    return;
                };
                self.ptr_val(v);
            }
            Ty::Func { decl } => {
                let _ = write!(self.out, "{{{}}}", fill(decl, ""));
            }
            Ty::Opaque { name, size } => {
                let _ = write!(self.out, "<{name}, {size} bytes>");
            }
            Ty::Array { elem, count } => self.array(elem, *count, bytes, bit, level),
            Ty::Struct(c) => self.struct_val(c, bytes, bit, level),
        }
    }

    /// An integer's value: `true`/`false`, a character literal, or a (sign-extended) number.
    fn int_val(&mut self, v: u64, signed: bool, bool_: bool, char_: bool, width: u32) {
        if bool_ {
            self.out.push_str(if v == 0 { "false" } else { "true" });
        } else if char_ {
            let v = if signed {
                v as u8 as i8 as i64
            } else {
                v as i64
            };
            self.out.push_str(&char_lit(v));
        } else if signed {
            let _ = write!(self.out, "{}", sign_extend(v, width));
        } else {
            let _ = write!(self.out, "{v}");
        }
    }

    /// An enum's value: the enumerator's name, else the number.
    fn enum_val(&mut self, values: &[(String, i64)], signed: bool, v: u64, width: u32) {
        let v = if signed {
            sign_extend(v, width)
        } else {
            v as i64
        };
        match values.iter().find(|(_, x)| *x == v) {
            Some((n, _)) => self.out.push_str(n),
            None => {
                let _ = write!(self.out, "{v}");
            }
        }
    }

    /// A pointer: hex, and the symbol it points at when it has one.
    fn ptr_val(&mut self, v: u64) {
        let _ = write!(self.out, "0x{v:x}");
        if v != 0 {
            if let Some(n) = self.names.name(v) {
                let _ = write!(self.out, " <{n}>");
            }
        }
    }

    /// A struct or union: `{`, one `name = value` line per member, `}`.
    fn struct_val(&mut self, c: &Composite, bytes: &[u8], bit: u64, level: usize) {
        self.out.push('{');
        let n = c.members.len();
        for (i, f) in c.members.iter().enumerate() {
            if self.lines > MAX_LINES {
                break;
            }
            self.newline(level + 1);
            if !f.name.is_empty() {
                let _ = write!(self.out, "{} = ", f.name);
            }
            self.val(&f.ty, bytes, bit + f.bit_offset, f.bits, level + 1);
            if i + 1 < n {
                self.out.push(',');
            }
        }
        if n > 0 {
            self.newline(level);
        }
        self.out.push('}');
    }

    fn array(&mut self, elem: &Ty, count: u64, bytes: &[u8], bit: u64, level: usize) {
        let esize = elem.size();
        let byte = bit / 8;
        if let Ty::Int {
            char_: true,
            size: 1,
            ..
        } = elem
        {
            let start = byte as usize;
            let end = start.saturating_add(count as usize).min(bytes.len());
            match bytes.get(start..end) {
                Some(b) if end - start == count as usize => self.out.push_str(&string_lit(b)),
                _ => self.out.push_str("<unreadable>"),
            }
            return;
        }
        if count == 0 || esize == 0 {
            self.out.push_str("{}");
            return;
        }
        let shown = count.min(MAX_ELEMENTS);
        let compound = matches!(elem, Ty::Struct(_) | Ty::Array { .. });
        self.out.push('{');
        let mut i = 0u64;
        while i < shown {
            if self.lines > MAX_LINES {
                break;
            }
            let at = bit + i * esize * 8;
            // gdb's `<repeats N times>` for runs of 10 or more equal elements.
            let raw = |j: u64| {
                let s = ((bit / 8) + j * esize) as usize;
                bytes.get(s..s.saturating_add(esize as usize))
            };
            let mut run = 1u64;
            while i + run < count && raw(i + run).is_some() && raw(i + run) == raw(i) {
                run += 1;
            }
            if i > 0 {
                self.out.push_str(", ");
            }
            self.val(elem, bytes, at, 0, level + usize::from(compound));
            if run >= 10 {
                let _ = write!(self.out, " <repeats {run} times>");
                i += run;
            } else {
                i += 1;
            }
        }
        if shown < count && i < count {
            self.out.push_str("...");
        }
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(name: &str, size: u64) -> Ty {
        Ty::Int {
            name: name.into(),
            size,
            signed: !name.contains("unsigned"),
            bool_: false,
            char_: name.contains("char"),
        }
    }

    #[test]
    fn values_like_gdb() {
        let st = Ty::Struct(Box::new(Composite {
            kw: "struct",
            name: "item".into(),
            size: 40,
            members: vec![
                Field {
                    name: "magic".into(),
                    decl: "u64 magic".into(),
                    ty: int("unsigned long long", 8),
                    bit_offset: 0,
                    bits: 0,
                },
                Field {
                    name: "index".into(),
                    decl: "int index".into(),
                    ty: int("int", 4),
                    bit_offset: 64,
                    bits: 0,
                },
                Field {
                    name: "name".into(),
                    decl: "char name[16]".into(),
                    ty: Ty::Array {
                        elem: Box::new(int("char", 1)),
                        count: 16,
                    },
                    bit_offset: 96,
                    bits: 0,
                },
                Field {
                    name: "flag".into(),
                    decl: "unsigned int flag".into(),
                    ty: int("unsigned int", 4),
                    bit_offset: 226,
                    bits: 3,
                },
                Field {
                    name: "next".into(),
                    decl: "struct item *next".into(),
                    ty: Ty::Ptr {
                        decl: "struct item *%s".into(),
                    },
                    bit_offset: 256,
                    bits: 0,
                },
            ],
        }));
        let mut b = vec![0u8; 40];
        b[..8].copy_from_slice(&0xfeedfacecafe0003u64.to_le_bytes());
        b[8..12].copy_from_slice(&(-3i32).to_le_bytes());
        b[12..17].copy_from_slice(b"gamma");
        b[28] = 0b0001_0100; // bits 226..229 = 0b101
        b[32..40].copy_from_slice(&0xffff_ffff_8100_0000u64.to_le_bytes());
        let names = |a: u64| (a == 0xffff_ffff_8100_0000).then(|| "_text".to_string());
        let s = value("struct item", &st, &b, &names);
        assert_eq!(
            s,
            "struct item {\n  magic = 18369614221189971971,\n  index = -3,\n  name = \"gamma\",\n  flag = 5,\n  next = 0xffffffff81000000 <_text>\n}\n"
        );
        let l = layout("struct item", &st);
        assert!(l.contains("    [12] char name[16];\n"), "{l}");
        assert!(l.contains("    [28] unsigned int flag : 3;\n"), "{l}");
        assert!(l.ends_with("}\nSIZE: 40\n"), "{l}");
        // Short bytes: the rest is unreadable, no panic.
        let s = value("struct item", &st, &b[..10], &names);
        assert!(s.contains("name = <unreadable>"), "{s}");
    }

    #[test]
    fn repeats_collapse() {
        let a = Ty::Array {
            elem: Box::new(int("int", 4)),
            count: 16,
        };
        let s = value("x", &a, &[0u8; 64], &|_| None);
        assert_eq!(s, "x = {0 <repeats 16 times>}\n");
    }
}

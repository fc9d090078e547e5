//! Demangling of the symbol names that appear in kernel stack traces from Rust code (the v0
//! scheme, `_R...`) and C++ test code (Itanium, `_Z...`), without parameters, so that guilty
//! frames read like `<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap`.
//! Anything outside the supported subset is returned unchanged.

/// Demangles `sym` if it is a mangled name this module understands.
pub fn demangle(sym: &str) -> String {
    if let Some(r) = sym.strip_prefix("_R") {
        let mut p = V0 {
            s: r.as_bytes(),
            pos: 0,
            depth: 0,
        };
        if let Some(out) = p.path() {
            if p.pos == p.s.len()
                || p.s[p.pos..]
                    .iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
            {
                return out;
            }
        }
    } else if let Some(r) = sym.strip_prefix("_Z") {
        if let Some(out) = itanium(r) {
            return out;
        }
    }
    sym.to_string()
}

struct V0<'a> {
    s: &'a [u8],
    pos: usize,
    depth: u32,
}

impl V0<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    /// `_` = 0, `<base-62>_` = value + 1.
    fn base62(&mut self) -> Option<u64> {
        if self.eat(b'_') {
            return Some(0);
        }
        let mut v: u64 = 0;
        loop {
            let c = self.next()?;
            if c == b'_' {
                return v.checked_add(1);
            }
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'z' => c - b'a' + 10,
                b'A'..=b'Z' => c - b'A' + 36,
                _ => return None,
            } as u64;
            v = v.checked_mul(62)?.checked_add(d)?;
        }
    }
    fn disambiguator(&mut self) -> Option<()> {
        if self.eat(b's') {
            self.base62()?;
        }
        Some(())
    }
    fn ident(&mut self) -> Option<String> {
        if self.peek() == Some(b'u') {
            return None; // punycode
        }
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let n: usize = std::str::from_utf8(&self.s[start..self.pos])
            .ok()?
            .parse()
            .ok()?;
        self.eat(b'_');
        let end = self.pos.checked_add(n)?;
        let id = std::str::from_utf8(self.s.get(self.pos..end)?)
            .ok()?
            .to_string();
        self.pos = end;
        Some(id)
    }
    fn backref<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let at = self.base62()? as usize;
        if at >= self.pos {
            return None;
        }
        let save = self.pos;
        self.pos = at;
        let r = f(self);
        self.pos = save;
        r
    }
    fn path(&mut self) -> Option<String> {
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        let r = self.path_inner();
        self.depth -= 1;
        r
    }
    fn path_inner(&mut self) -> Option<String> {
        match self.next()? {
            b'C' => {
                self.disambiguator()?;
                self.ident()
            }
            b'N' => {
                let _ns = self.next()?;
                let parent = self.path()?;
                self.disambiguator()?;
                let id = self.ident()?;
                Some(if id.is_empty() {
                    parent
                } else {
                    format!("{parent}::{id}")
                })
            }
            b'M' => {
                self.disambiguator()?;
                let _impl_path = self.path()?;
                let t = self.ty()?;
                Some(format!("<{t}>"))
            }
            b'X' => {
                self.disambiguator()?;
                let _impl_path = self.path()?;
                let t = self.ty()?;
                let tr = self.path()?;
                Some(format!("<{t} as {tr}>"))
            }
            b'Y' => {
                let t = self.ty()?;
                let tr = self.path()?;
                Some(format!("<{t} as {tr}>"))
            }
            b'I' => {
                let base = self.path()?;
                let mut args = Vec::new();
                while !self.eat(b'E') {
                    if self.eat(b'L') {
                        self.base62()?;
                        continue;
                    }
                    args.push(self.ty()?);
                    if args.len() > 32 {
                        return None;
                    }
                }
                Some(format!("{base}::<{}>", args.join(", ")))
            }
            b'B' => self.backref(|p| p.path()),
            _ => None,
        }
    }
    fn ty(&mut self) -> Option<String> {
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        let r = self.ty_inner();
        self.depth -= 1;
        r
    }
    fn ty_inner(&mut self) -> Option<String> {
        let basic = |c: u8| {
            Some(match c {
                b'a' => "i8",
                b'b' => "bool",
                b'c' => "char",
                b'd' => "f64",
                b'e' => "str",
                b'f' => "f32",
                b'h' => "u8",
                b'i' => "isize",
                b'j' => "usize",
                b'l' => "i32",
                b'm' => "u32",
                b'n' => "i128",
                b'o' => "u128",
                b's' => "i16",
                b't' => "u16",
                b'u' => "()",
                b'v' => "...",
                b'x' => "i64",
                b'y' => "u64",
                b'z' => "!",
                b'p' => "_",
                _ => return None,
            })
        };
        let c = self.peek()?;
        if let Some(b) = basic(c) {
            self.pos += 1;
            return Some(b.to_string());
        }
        match c {
            b'R' | b'Q' => {
                self.pos += 1;
                if self.eat(b'L') {
                    self.base62()?;
                }
                let t = self.ty()?;
                Some(format!("&{}{t}", if c == b'Q' { "mut " } else { "" }))
            }
            b'P' | b'O' => {
                self.pos += 1;
                let t = self.ty()?;
                Some(format!("*{} {t}", if c == b'O' { "mut" } else { "const" }))
            }
            b'S' => {
                self.pos += 1;
                Some(format!("[{}]", self.ty()?))
            }
            b'T' => {
                self.pos += 1;
                let mut v = Vec::new();
                while !self.eat(b'E') {
                    v.push(self.ty()?);
                    if v.len() > 32 {
                        return None;
                    }
                }
                Some(format!("({})", v.join(", ")))
            }
            b'B' => {
                self.pos += 1;
                self.backref(|p| p.ty())
            }
            _ => self.path(),
        }
    }
}

/// Itanium names: `name`, or `N qualifiers... name... E`, followed by parameters (dropped).
fn itanium(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut pos = 0usize;
    let source_name = |pos: &mut usize| -> Option<String> {
        let start = *pos;
        while b.get(*pos).is_some_and(|c| c.is_ascii_digit()) {
            *pos += 1;
        }
        let n: usize = s.get(start..*pos)?.parse().ok()?;
        let end = pos.checked_add(n)?;
        let id = s.get(*pos..end)?.to_string();
        *pos = end;
        Some(id)
    };
    if b.first() == Some(&b'N') {
        pos += 1;
        while matches!(b.get(pos), Some(b'K' | b'V' | b'r')) {
            pos += 1;
        }
        let mut parts = Vec::new();
        while b.get(pos) != Some(&b'E') {
            if !b.get(pos)?.is_ascii_digit() || parts.len() > 32 {
                return None;
            }
            parts.push(source_name(&mut pos)?);
        }
        Some(parts.join("::"))
    } else if b.first()?.is_ascii_digit() {
        source_name(&mut pos)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::demangle;
    #[test]
    fn rust_v0_and_itanium() {
        assert_eq!(
            demangle("_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind"),
            "__rustc::rust_begin_unwind"
        );
        assert_eq!(
            demangle("_RNvXs1_CscPPBqWtAqum_11ashmem_rustNtB5_6AshmemNtNtCs43vyB533jt3_6kernel10miscdevice10MiscDevice4mmap"),
            "<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap"
        );
        assert_eq!(demangle("_Z8fakeNameiii"), "fakeName");
        assert_eq!(demangle("_ZN3foo3barEv"), "foo::bar");
        assert_eq!(demangle("do_syscall_64"), "do_syscall_64");
        assert_eq!(demangle("_Rgarbage"), "_Rgarbage");
    }
}

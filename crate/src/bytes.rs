//! The one little-endian byte reader: every fixed-width field crashlens reads from a dump, a
//! kernel structure or an ELF file goes through [`Le`]. Each read is bounds-checked and answers
//! `None` past the end of the slice (never a panic), so a short or damaged buffer becomes an
//! error or a skipped field at the caller.

/// Little-endian (and, for makedumpfile's flattened format, big-endian) fields of a byte slice.
pub trait Le {
    fn u8_at(&self, off: usize) -> Option<u8>;
    fn u16_at(&self, off: usize) -> Option<u16>;
    fn u32_at(&self, off: usize) -> Option<u32>;
    fn u64_at(&self, off: usize) -> Option<u64>;
    fn i16_at(&self, off: usize) -> Option<i16> {
        self.u16_at(off).map(|v| v as i16)
    }
    fn i32_at(&self, off: usize) -> Option<i32> {
        self.u32_at(off).map(|v| v as i32)
    }
    /// Big-endian i64 (the flattened format's record headers).
    fn i64_be_at(&self, off: usize) -> Option<i64>;
    /// An unsigned `n`-byte (`n` <= 8) field, zero-extended (a bit-field's storage, a C
    /// integer of any size); `None` for `n` > 8.
    fn uint_n_at(&self, off: usize, n: usize) -> Option<u64>;
}

fn array<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}

impl Le for [u8] {
    fn u8_at(&self, off: usize) -> Option<u8> {
        self.get(off).copied()
    }
    fn u16_at(&self, off: usize) -> Option<u16> {
        array(self, off).map(u16::from_le_bytes)
    }
    fn u32_at(&self, off: usize) -> Option<u32> {
        array(self, off).map(u32::from_le_bytes)
    }
    fn u64_at(&self, off: usize) -> Option<u64> {
        array(self, off).map(u64::from_le_bytes)
    }
    fn i64_be_at(&self, off: usize) -> Option<i64> {
        array(self, off).map(i64::from_be_bytes)
    }
    fn uint_n_at(&self, off: usize, n: usize) -> Option<u64> {
        if n > 8 {
            return None;
        }
        let b = self.get(off..off.checked_add(n)?)?;
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(b);
        Some(u64::from_le_bytes(v))
    }
}

#[cfg(test)]
mod tests {
    use super::Le;

    #[test]
    fn reads_and_bounds() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(b.u16_at(0), Some(0x0201));
        assert_eq!(b.u32_at(1), Some(0x0504_0302));
        assert_eq!(b.u64_at(1), Some(0x0908_0706_0504_0302));
        assert_eq!(b.u64_at(2), None);
        assert_eq!(b.u32_at(usize::MAX - 1), None);
        assert_eq!(b[..0].u16_at(0), None);
        assert_eq!([0xffu8, 0xff].i16_at(0), Some(-1));
        assert_eq!(b.i64_be_at(0), Some(0x0102_0304_0506_0708));
        assert_eq!(b.uint_n_at(1, 3), Some(0x04_0302));
        assert_eq!(b.uint_n_at(0, 0), Some(0));
        assert_eq!(b.uint_n_at(7, 3), None);
        assert_eq!(b.uint_n_at(0, 9), None);
    }
}

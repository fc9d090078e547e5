//! Small helpers with no better home.

/// `Wed Nov 25 17:39:04 UTC 2026` for seconds since the epoch (as crash's `DATE`).
pub fn utc_date(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} UTC {}",
        WD[days.rem_euclid(7) as usize],
        MO[(mo - 1) as usize],
        d,
        h,
        m,
        s,
        y
    )
}

/// Entries `(hash, id)` grouped by hash in linear time: a counting sort on the top bits of the
/// mixed hash (Fibonacci hashing), about one bucket per entry. It replaces a comparison sort of
/// the whole table for name lookups in kallsyms (~90k names) and BTF (~100k types), which cost
/// tens of milliseconds in the browser. Within a bucket entries keep the order they were given
/// in.
#[derive(Debug, Default)]
pub struct HashIndex {
    shift: u32,
    /// `starts[b]..starts[b + 1]` are bucket `b`'s entries in `entries`.
    starts: Vec<u32>,
    entries: Vec<(u64, u32)>,
}

impl HashIndex {
    pub fn new(items: Vec<(u64, u32)>) -> HashIndex {
        let bits = (items.len().max(2).next_power_of_two().trailing_zeros()).clamp(1, 24);
        let shift = 64 - bits;
        let nb = 1usize << bits;
        let bucket = |h: u64| (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> shift) as usize;
        let mut starts = vec![0u32; nb + 1];
        for &(h, _) in &items {
            starts[bucket(h) + 1] += 1;
        }
        for b in 0..nb {
            starts[b + 1] += starts[b];
        }
        let mut next = starts.clone();
        let mut entries = vec![(0u64, 0u32); items.len()];
        for e in items {
            let b = bucket(e.0);
            entries[next[b] as usize] = e;
            next[b] += 1;
        }
        HashIndex {
            shift,
            starts,
            entries,
        }
    }

    /// The ids given with hash `h`, in the order they were given (other hashes skipped).
    pub fn get(&self, h: u64) -> impl Iterator<Item = u32> + '_ {
        let b = (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize;
        let (lo, hi) = match (self.starts.get(b), self.starts.get(b + 1)) {
            (Some(&lo), Some(&hi)) => (lo as usize, hi as usize),
            _ => (0, 0),
        };
        self.entries[lo..hi]
            .iter()
            .filter(move |e| e.0 == h)
            .map(|e| e.1)
    }
}

/// A stable sort (the same order as `slice::sort_by`) through one shared copy of the standard
/// sort: it orders indices with a `dyn` comparison, then moves the elements into place. Each
/// `sort_by` on its own element type and closure brings ~5 KB of sort code into the wasm; this
/// is for the report's short lists (tasks, CPUs, modules, caches). Large tables (symbols, ORC,
/// DWARF ranges) keep the standard sort, which is faster on them.
pub fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering) {
    if v.len() < 2 {
        return;
    }
    let mut idx: Vec<usize> = (0..v.len()).collect();
    sort_indices(&mut idx, &mut |a, b| cmp(&v[a], &v[b]));
    // Element i of the result is v[idx[i]]: follow each cycle of the permutation with swaps,
    // marking a placed position with idx[j] = j.
    for i in 0..v.len() {
        let mut j = i;
        while idx[j] != j {
            let k = idx[j];
            idx[j] = j;
            if k == i {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

/// [`sort_by`] on a key.
pub fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)))
}

#[inline(never)]
fn sort_indices(idx: &mut [usize], cmp: &mut dyn FnMut(usize, usize) -> std::cmp::Ordering) {
    idx.sort_by(|&a, &b| cmp(a, b));
}

#[cfg(test)]
mod hash_index_tests {
    use super::HashIndex;

    /// Every id is found under its hash, in the order given, and nothing else is: checked
    /// against a plain scan on colliding, short and repeated hashes.
    #[test]
    fn finds_what_a_scan_finds() {
        let items: Vec<(u64, u32)> = (0..5000u32)
            .map(|i| ((i % 37) as u64 * 0x1000_0000_0000 + (i % 3) as u64, i))
            .collect();
        let idx = HashIndex::new(items.clone());
        for h in items.iter().map(|e| e.0).chain([7, u64::MAX]) {
            let want: Vec<u32> = items.iter().filter(|e| e.0 == h).map(|e| e.1).collect();
            assert_eq!(idx.get(h).collect::<Vec<_>>(), want, "hash {h:#x}");
        }
        assert_eq!(HashIndex::new(vec![]).get(0).count(), 0);
    }
}

#[cfg(test)]
mod sort_tests {
    /// Equal to the standard stable sort, on every permutation of a small list with ties (the
    /// ties carry their original position, so stability is checked too).
    #[test]
    fn shared_sort_equals_std_stable_sort() {
        fn perms(n: usize, cur: &mut Vec<u8>, out: &mut Vec<Vec<u8>>) {
            if cur.len() == n {
                out.push(cur.clone());
                return;
            }
            for x in 0..n as u8 {
                if !cur.contains(&x) {
                    cur.push(x);
                    perms(n, cur, out);
                    cur.pop();
                }
            }
        }
        let mut all = Vec::new();
        perms(6, &mut Vec::new(), &mut all);
        for p in all {
            // Keys with ties: 0,0,1,1,2,2 by value / 2; the second field is the position.
            let v: Vec<(u8, usize)> = p.iter().enumerate().map(|(i, &x)| (x / 2, i)).collect();
            let mut a = v.clone();
            let mut b = v.clone();
            a.sort_by_key(|e| e.0);
            super::sort_by_key(&mut b, |e| e.0);
            assert_eq!(a, b, "from {v:?}");
            let mut c = v.clone();
            super::sort_by(&mut c, |x, y| y.0.cmp(&x.0));
            let mut d = v.clone();
            d.sort_by(|x, y| y.0.cmp(&x.0));
            assert_eq!(c, d, "descending from {v:?}");
        }
        let mut e: Vec<String> = Vec::new();
        super::sort_by_key(&mut e, |s| s.len());
        assert!(e.is_empty());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn date() {
        assert_eq!(
            super::utc_date(1_764_092_344),
            "Tue Nov 25 17:39:04 UTC 2025"
        );
    }
}

/// Kernel addresses and register values in JSON as hex strings (`"0xffffffff97cf613e"`): as
/// numbers they exceed 2^53, and jq 1.6 and JavaScript round them. Use with
/// `#[serde(with = "crate::util::hex")]` (and `hex::opt` for `Option<u64>`); reading accepts a
/// hex string or a plain number.
pub mod hex {
    use serde::{de, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:#x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(HexVisitor)
    }

    struct HexVisitor;

    impl de::Visitor<'_> for HexVisitor {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a hex string such as \"0xffffffff81000000\" or a number")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            let h = v
                .strip_prefix("0x")
                .or_else(|| v.strip_prefix("0X"))
                .ok_or_else(|| E::custom(format!("{v:?} is not a 0x-prefixed hex number")))?;
            u64::from_str_radix(h, 16).map_err(E::custom)
        }
    }

    /// The same for `Option<u64>` (`null` when absent).
    pub mod opt {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => super::serialize(v, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
            #[derive(Deserialize)]
            struct W(#[serde(with = "super")] u64);
            Ok(Option::<W>::deserialize(d)?.map(|W(v)| v))
        }
    }
}

#[cfg(test)]
mod hex_tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct A {
        #[serde(with = "super::hex")]
        a: u64,
        #[serde(with = "super::hex::opt")]
        b: Option<u64>,
    }

    #[test]
    fn addresses_are_exact_hex_strings() {
        let v = A {
            a: 0xffff_ffff_97cf_613e,
            b: None,
        };
        let j = serde_json::to_string(&v).unwrap();
        assert_eq!(j, r#"{"a":"0xffffffff97cf613e","b":null}"#);
        assert_eq!(serde_json::from_str::<A>(&j).unwrap(), v);
        // Plain numbers are read too; garbage is an error, not a panic.
        let n: A = serde_json::from_str(r#"{"a":24,"b":"0x18"}"#).unwrap();
        assert_eq!((n.a, n.b), (24, Some(0x18)));
        assert!(serde_json::from_str::<A>(r#"{"a":"ffff","b":null}"#).is_err());
        assert!(serde_json::from_str::<A>(r#"{"a":"0xzz","b":null}"#).is_err());
    }
}

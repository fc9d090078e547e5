// Shared by the fuzz targets: open a container from bytes and exercise every read path.
use crashlens::dump::Dump;
use crashlens::source::BytesSource;
use std::rc::Rc;

pub fn source(data: &[u8]) -> crashlens::dump::Source {
    Rc::new(BytesSource(data.to_vec()))
}

/// Reads a bounded sample of pages: the first and last of each range, a few in between, and
/// unaligned spans that cross page boundaries. Must never panic.
pub fn exercise(d: &Dump) {
    let _ = serde_json::to_string(&d.info);
    let mut buf = vec![0u8; 8192];
    let ranges = d.mem.ranges();
    for (s, e) in ranges.iter().take(16) {
        let len = e.saturating_sub(*s);
        for k in [0u64, 1, 2, 3] {
            let at = s.saturating_add(len / 4 * k);
            let _ = d.read_phys(at, &mut buf[..4096]);
            let _ = d.read_phys(at.saturating_add(4000), &mut buf[..200]);
        }
        let _ = d.read_phys(e.saturating_sub(8), &mut buf[..8]);
        let _ = d.read_phys(e.saturating_sub(100), &mut buf[..8192]);
    }
    for pa in [0u64, 0x1000, 0x7fff_f000, u64::MAX - 4, u64::MAX - 8192] {
        let _ = d.read_phys(pa, &mut buf[..64]);
    }
}

//! Every container of the same crash gives the same report, and the same page bytes.
//!
//! Containers: the fixture's QEMU ELF, its stored `vmcore.d31-zlib.kdump` and QEMU's flattened
//! `vmcore.qemu-kdump-zlib`, and re-encodings made here with makedumpfile (`-c`, `-l`, `-E`, `-F`,
//! uncompressed, `--split`) in a test-side cache (~/.cache/crashlens/variants, or
//! $CRASHLENS_CACHE/variants). Snappy and zstd, which no tool here writes, come from a test-side
//! writer that re-encodes the real dump's pages. Bad input: truncation at every structural
//! boundary, inconsistent bitmaps and descriptors, absurd sizes, offsets past the end, flattened
//! records that would loop: clear errors or partial results, never a panic.
//!
//! Skips (with a note) when ../shared/fixtures or makedumpfile is absent.

use crashlens::dump::{self, diskdump, Dump, Source};
use crashlens::error::MemError;
use crashlens::report::build::{analyze_many, Options};
use crashlens::report::Report;
use crashlens::source::{BytesSource, FileSource, ReadAt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::sync::OnceLock;

mod common;
use common::{cache_dir, elf, fixtures, skip, F61};

const PAGE: usize = 4096;

/// makedumpfile re-encodings of the ELF fixture (the commands of ../shared/checks/dump_checks.py).
struct Variants {
    dir: PathBuf,
}

fn variants() -> Option<&'static Variants> {
    static V: OnceLock<Option<Variants>> = OnceLock::new();
    V.get_or_init(|| {
        let elf = elf(F61)?;
        if Command::new("makedumpfile").arg("-v").output().is_err() {
            skip("makedumpfile not installed: its variants");
            return None;
        }
        let fx = fixtures()?;
        let dir = cache_dir().join("variants");
        std::fs::create_dir_all(&dir).ok()?;
        let base = dir.join("base.elf");
        if !base.exists() {
            let script = fx.join("../vmcore-lab/elf_phdr_first.py");
            let tmp = dir.join("base.elf.tmp");
            let ok = Command::new("python3")
                .arg(&script)
                .arg(&elf)
                .arg(&tmp)
                .output()
                .ok()?
                .status
                .success();
            if !ok {
                return None;
            }
            std::fs::rename(&tmp, &base).ok()?;
        }
        let mk = |name: &str, args: &[&str]| {
            let out = dir.join(name);
            if !out.exists() {
                let tmp = dir.join(format!("{name}.tmp"));
                let _ = std::fs::remove_file(&tmp);
                let ok = Command::new("makedumpfile")
                    .args(args)
                    .arg(&base)
                    .arg(&tmp)
                    .output()
                    .map(|o| o.status.success());
                assert!(ok.unwrap_or(false), "makedumpfile {args:?} failed");
                std::fs::rename(&tmp, &out).unwrap();
            }
        };
        mk("d31-c", &["-d", "31", "-c"]);
        mk("d31-l", &["-d", "31", "-l"]);
        mk("d31-E", &["-d", "31", "-E"]);
        mk("d31-raw", &["-d", "31"]);
        let flat = dir.join("d31-c.flat");
        if !flat.exists() {
            let tmp = dir.join("d31-c.flat.tmp");
            let f = std::fs::File::create(&tmp).unwrap();
            let st = Command::new("makedumpfile")
                .args(["-F", "-c", "-d", "31"])
                .arg(&base)
                .stdout(f)
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(st.success());
            std::fs::rename(&tmp, &flat).unwrap();
        }
        let parts = ["split-1", "split-2", "split-3"].map(|p| dir.join(p));
        if !parts.iter().all(|p| p.exists()) {
            let st = Command::new("makedumpfile")
                .args(["-c", "-d", "31", "--split", "--splitblock-size", "1024"])
                .arg(&base)
                .args(&parts)
                .output()
                .unwrap();
            assert!(
                st.status.success(),
                "makedumpfile --split: {}",
                String::from_utf8_lossy(&st.stderr)
            );
        }
        Some(Variants { dir })
    })
    .as_ref()
}

fn src_of(p: &Path) -> Source {
    Rc::new(FileSource::open(p).unwrap())
}

fn open_paths(paths: &[PathBuf]) -> Dump {
    dump::open_many(paths.iter().map(|p| src_of(p)).collect())
        .unwrap_or_else(|e| panic!("{paths:?}: {e}"))
}

fn report_of(paths: &[PathBuf]) -> Report {
    let srcs: Vec<Box<dyn ReadAt>> = paths
        .iter()
        .map(|p| Box::new(FileSource::open(p).unwrap()) as Box<dyn ReadAt>)
        .collect();
    analyze_many(srcs, &Options::default(), &mut |_| {})
        .unwrap_or_else(|e| panic!("{paths:?}: {e}"))
}

fn report_of_bytes(v: Vec<u8>) -> crashlens::Result<Report> {
    analyze_many(
        vec![Box::new(BytesSource(v))],
        &Options::default(),
        &mut |_| {},
    )
}

/// The facts every container must give (facts.json of the fixture).
fn check_report(r: &Report, what: &str) {
    let fx = fixtures().unwrap();
    let facts: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fx.join("linux-6.1-cloud-null/facts.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        r.kernel.release.as_deref(),
        facts["kernel_release"].as_str(),
        "{what}: release"
    );
    let msg = r.panic.message.as_deref().unwrap_or("");
    assert!(
        msg.contains(facts["panic_message_first_line"].as_str().unwrap()),
        "{what}: panic.message {msg:?}"
    );
    assert_eq!(
        r.panic.pid.map(|p| p as u64),
        facts["crashing_pid"].as_u64(),
        "{what}: pid"
    );
    assert_eq!(
        r.panic.comm.as_deref(),
        facts["crashing_comm"].as_str(),
        "{what}: comm"
    );
    // The page-cache budget holds whatever the container.
    let c = &r.dump.cache;
    assert!(
        c.bytes_read > 0 && c.peak_bytes <= c.budget,
        "{what}: cache {c:?}"
    );
}

/// Every page the container holds equals the ELF's page; excluded pages are NotInDump.
/// Returns (pages compared, pages excluded).
fn compare_pages(d: &Dump, elf: &Dump, max_pfn: u64) -> (u64, u64) {
    let (mut same, mut excluded) = (0, 0);
    let mut a = vec![0u8; PAGE];
    let mut b = vec![0u8; PAGE];
    for pfn in 0..max_pfn {
        let pa = pfn * PAGE as u64;
        match d.read_phys(pa, &mut a) {
            Ok(()) => {
                elf.read_phys(pa, &mut b)
                    .unwrap_or_else(|e| panic!("ELF page {pa:#x}: {e}"));
                assert!(a == b, "page {pa:#x} differs from the ELF dump");
                same += 1;
            }
            Err(MemError::NotInDump { .. }) => excluded += 1,
            Err(e) => panic!("page {pa:#x}: unexpected {e}"),
        }
    }
    (same, excluded)
}

fn fixture_file(name: &str) -> Option<PathBuf> {
    let p = fixtures()?.join("linux-6.1-cloud-null").join(name);
    p.exists().then_some(p)
}

macro_rules! need {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => {
                skip("fixtures (../shared/fixtures) or tools missing");
                return;
            }
        }
    };
}

#[test]
fn same_report_from_stored_containers() {
    let elf = need!(elf(F61));
    let kd = need!(fixture_file("vmcore.d31-zlib.kdump"));
    let qemu = need!(fixture_file("vmcore.qemu-kdump-zlib"));
    check_report(&report_of(std::slice::from_ref(&elf)), "ELF");
    let r = report_of(std::slice::from_ref(&kd));
    check_report(&r, "d31-zlib.kdump");
    let c = &r.dump.container;
    assert_eq!(c.format, "kdump-compressed");
    assert_eq!(c.codecs, vec!["zlib".to_string(), "none".to_string()]);
    // The 1st bitmap is small (4 KiB): counted at open, with no warning about it.
    assert_eq!((c.pages_present, c.pages_excluded), (15041, Some(17727)));
    assert!(
        !c.warnings.iter().any(|w| w.contains("not counted")),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.header_version, Some(6));
    assert_eq!(c.dump_level, Some(31));
    let r = report_of(std::slice::from_ref(&qemu));
    check_report(&r, "qemu-kdump-zlib");
    let c = &r.dump.container;
    assert_eq!(c.format, "flattened");
    // QEMU's quirks are corrected and said: phys_base from VMCOREINFO, release from OSRELEASE.
    assert_eq!(
        c.phys_base,
        Some((-570425344i64) as u64),
        "{:?}",
        c.corrections
    );
    assert!(
        c.corrections
            .iter()
            .any(|s| s.contains("phys_base") && s.contains("hexadecimal")),
        "{:?}",
        c.corrections
    );
    assert!(
        c.corrections.iter().any(|s| s.contains("utsname")),
        "{:?}",
        c.corrections
    );
    assert_eq!(c.utsname_release.as_deref(), Some("6.1.0-56-cloud-amd64"));
    assert_eq!(c.pages_excluded, Some(0));
    assert!(c.pages_zero > 10000, "{c:?}");

    // Page for page: the QEMU kdump holds all of memory, the makedumpfile one what -d 31 kept.
    let e = open_paths(&[elf]);
    let q = open_paths(&[qemu]);
    let (same, excl) = compare_pages(&q, &e, 0x8000);
    assert_eq!((same, excl), (0x8000, 0));
    let k = open_paths(&[kd]);
    let (same, excl) = compare_pages(&k, &e, 0x8000);
    assert_eq!((same, excl), (15041, 17727));
}

#[test]
fn same_report_from_makedumpfile_variants() {
    let v = need!(variants());
    let e = open_paths(&[need!(elf(F61))]);
    for (name, format, codec) in [
        ("d31-c", "kdump-compressed", "zlib"),
        ("d31-l", "kdump-compressed", "lzo"),
        ("d31-raw", "kdump-compressed", "none"),
        ("d31-c.flat", "flattened", "zlib"),
        ("d31-E", "elf", ""),
    ] {
        let p = v.dir.join(name);
        let r = report_of(std::slice::from_ref(&p));
        check_report(&r, name);
        assert_eq!(r.dump.container.format, format, "{name}");
        if !codec.is_empty() {
            assert_eq!(
                r.dump.container.codecs.first().map(String::as_str),
                Some(codec),
                "{name}"
            );
            let d = open_paths(&[p]);
            assert_eq!(compare_pages(&d, &e, 0x8000), (15041, 17727), "{name}");
        }
    }
}

#[test]
fn split_dump_in_any_order_and_with_a_part_missing() {
    let v = need!(variants());
    let p: Vec<PathBuf> = ["split-1", "split-2", "split-3"]
        .iter()
        .map(|n| v.dir.join(n))
        .collect();
    let e = open_paths(&[need!(elf(F61))]);
    for order in [[0, 1, 2], [2, 0, 1]] {
        let paths: Vec<PathBuf> = order.iter().map(|&i| p[i].clone()).collect();
        let r = report_of(&paths);
        check_report(&r, "split");
        assert_eq!(r.dump.container.format, "split");
        assert_eq!(r.dump.container.files, Some(3));
        assert_eq!(r.dump.container.pages_present, 15041);
        assert!(
            r.dump.container.warnings.is_empty(),
            "{:?}",
            r.dump.container.warnings
        );
        let d = open_paths(&paths);
        assert_eq!(compare_pages(&d, &e, 0x8000), (15041, 17727));
    }
    // The middle part missing: a partial result that names the missing range.
    let d = open_paths(&[p[0].clone(), p[2].clone()]);
    let w = d.info.warnings.join("\n");
    assert!(w.contains("was not given"), "{w}");
    let mut buf = [0u8; 8];
    let mut missing = 0;
    for pfn in 0..0x8000u64 {
        if let Err(MemError::Unreadable { why, .. }) = d.read_phys(pfn * 4096, &mut buf) {
            assert!(why.contains("split"), "{why}");
            missing += 1;
        }
    }
    assert!(missing > 1000, "{missing}");
    // The same file twice is refused with a clear message.
    let err = dump::open_many(vec![src_of(&p[0]), src_of(&p[0])])
        .err()
        .expect("refused");
    assert!(err.to_string().contains("overlap"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Test-side writer: re-encodes a real kdump-compressed file's pages with another codec. Header,
// sub-header, notes and bitmaps are copied; every page is decoded from the original and encoded
// again (pages that do not shrink are stored raw, as makedumpfile does); the shared zero page
// stays shared. Only real pages, never invented ones.

#[derive(Clone, Copy)]
enum Codec {
    Zlib,
    Lzo,
    Snappy,
    Zstd,
    Raw,
}

fn encode(c: Codec, page: &[u8]) -> (Vec<u8>, u32) {
    use std::io::Write;
    let (v, f) = match c {
        Codec::Zlib => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(page).unwrap();
            (e.finish().unwrap(), diskdump::DUMP_DH_COMPRESSED_ZLIB)
        }
        Codec::Lzo => (
            lzokay_native::compress(page).unwrap(),
            diskdump::DUMP_DH_COMPRESSED_LZO,
        ),
        Codec::Snappy => (
            snap::raw::Encoder::new().compress_vec(page).unwrap(),
            diskdump::DUMP_DH_COMPRESSED_SNAPPY,
        ),
        Codec::Zstd => (
            ruzstd09::encoding::compress_to_vec(
                page,
                ruzstd09::encoding::CompressionLevel::Fastest,
            ),
            diskdump::DUMP_DH_COMPRESSED_ZSTD,
        ),
        Codec::Raw => (page.to_vec(), 0),
    };
    if v.len() >= page.len() {
        (page.to_vec(), 0)
    } else {
        (v, f)
    }
}

struct Layout {
    bs: usize,
    desc_off: usize,
    ndesc: usize,
}

fn layout(k: &[u8]) -> Layout {
    let u32at = |o: usize| u32::from_le_bytes(k[o..o + 4].try_into().unwrap()) as usize;
    let bs = u32at(428);
    let (sub, bb) = (u32at(432), u32at(436));
    let desc_off = bs * (1 + sub + bb);
    let max_mapnr = u64::from_le_bytes(k[bs + 96..bs + 104].try_into().unwrap()) as usize;
    let bm2 = &k[bs * (1 + sub) + bs * bb / 2..];
    let ndesc = (0..max_mapnr)
        .filter(|&p| bm2[p / 8] >> (p % 8) & 1 != 0)
        .count();
    Layout {
        bs,
        desc_off,
        ndesc,
    }
}

fn reencode(k: &[u8], codec_of: impl Fn(usize) -> Codec, status: u32) -> Vec<u8> {
    let l = layout(k);
    let mut out = k[..l.desc_off].to_vec();
    out[424..428].copy_from_slice(&status.to_le_bytes());
    let data_start = l.desc_off + 24 * l.ndesc;
    let mut descs = Vec::with_capacity(24 * l.ndesc);
    let mut data = vec![0u8; l.bs]; // shared zero page first
    let mut old_zero = None;
    let mut page = vec![0u8; l.bs];
    for i in 0..l.ndesc {
        let d = &k[l.desc_off + 24 * i..l.desc_off + 24 * i + 24];
        let off = u64::from_le_bytes(d[..8].try_into().unwrap()) as usize;
        let size = u32::from_le_bytes(d[8..12].try_into().unwrap()) as usize;
        let flags = u32::from_le_bytes(d[12..16].try_into().unwrap());
        diskdump::decode_page(flags, &k[off..off + size], &mut page).unwrap();
        let zero = page.iter().all(|&b| b == 0) && flags == 0 && old_zero.is_none_or(|z| z == off);
        let (at, blob_len, f) = if zero {
            old_zero = Some(off);
            (data_start, l.bs, 0)
        } else {
            let (blob, f) = encode(codec_of(i), &page);
            let at = data_start + data.len();
            data.extend_from_slice(&blob);
            (at, blob.len(), f)
        };
        descs.extend_from_slice(&(at as u64).to_le_bytes());
        descs.extend_from_slice(&(blob_len as u32).to_le_bytes());
        descs.extend_from_slice(&f.to_le_bytes());
        descs.extend_from_slice(&0u64.to_le_bytes());
    }
    out.extend_from_slice(&descs);
    out.extend_from_slice(&data);
    out
}

fn d31_bytes() -> Option<Vec<u8>> {
    std::fs::read(fixture_file("vmcore.d31-zlib.kdump")?).ok()
}

#[test]
fn snappy_zstd_and_mixed_codecs_rewritten_from_real_pages() {
    let k = need!(d31_bytes());
    let e = open_paths(&[need!(elf(F61))]);
    let all = [
        Codec::Zlib,
        Codec::Lzo,
        Codec::Snappy,
        Codec::Zstd,
        Codec::Raw,
    ];
    for (name, file, codecs) in [
        (
            "snappy",
            reencode(&k, |_| Codec::Snappy, diskdump::DUMP_DH_COMPRESSED_SNAPPY),
            vec!["snappy", "none"],
        ),
        (
            "zstd",
            reencode(&k, |_| Codec::Zstd, diskdump::DUMP_DH_COMPRESSED_ZSTD),
            vec!["zstd", "none"],
        ),
        (
            "mixed",
            reencode(&k, |i| all[i % 5], diskdump::DUMP_DH_COMPRESSED_ZLIB),
            vec!["zlib", "lzo", "snappy", "zstd", "none"],
        ),
    ] {
        let d = dump::open(Rc::new(BytesSource(file.clone()))).unwrap();
        let got: Vec<&str> = d.info.codecs.iter().map(String::as_str).collect();
        assert_eq!(got, codecs, "{name}");
        assert_eq!(d.info.pages_zero, 2554, "{name}");
        assert_eq!(compare_pages(&d, &e, 0x8000), (15041, 17727), "{name}");
        check_report(&report_of_bytes(file).unwrap(), name);
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input.

fn must_not_panic(v: Vec<u8>, what: &str) -> Result<Report, String> {
    let r = std::panic::catch_unwind(|| report_of_bytes(v).map_err(|e| e.to_string()));
    match r {
        Ok(x) => x,
        Err(_) => panic!("{what}: panicked"),
    }
}

#[test]
fn truncation_at_every_structural_boundary() {
    let k = need!(d31_bytes());
    let l = layout(&k);
    let data_start = l.desc_off + 24 * l.ndesc;
    let cuts = [
        0,
        3,
        8,
        100,
        463,
        464,
        l.bs,
        l.bs + 50,
        l.bs + 104,
        2 * l.bs,
        3 * l.bs - 1,
        3 * l.bs + 100,
        l.desc_off - 1,
        l.desc_off,
        l.desc_off + 24 * 100 + 7,
        l.desc_off + 24 * l.ndesc / 2,
        data_start - 1,
        data_start,
        data_start + l.bs + 10,
        k.len() / 2,
        k.len() - 1,
    ];
    for cut in cuts {
        let what = format!("cut at {cut:#x}");
        match must_not_panic(k[..cut].to_vec(), &what) {
            Err(e) => {
                assert!(!e.is_empty(), "{what}");
                // Structure cut away: the message says what was cut.
                assert!(cut <= l.desc_off, "{what}: unexpected error {e}");
            }
            Ok(r) => {
                // Everything up to the bitmaps was there: a (partial) report naming what is missing.
                assert!(cut >= l.desc_off, "{what}: opened a dump with cut bitmaps");
                let w = r.dump.container.warnings.join("\n");
                assert!(
                    w.contains("truncated") || w.contains("past the end"),
                    "{what}: {w}"
                );
            }
        }
    }
    // Errors say what was cut.
    let e = must_not_panic(k[..100].to_vec(), "header").unwrap_err();
    assert!(e.contains("kdump header"), "{e}");
    let e = must_not_panic(k[..l.desc_off - 1].to_vec(), "bitmap").unwrap_err();
    assert!(e.contains("bitmap"), "{e}");
}

fn put32(v: &mut [u8], o: usize, x: u32) {
    v[o..o + 4].copy_from_slice(&x.to_le_bytes());
}

#[test]
fn absurd_sizes_and_inconsistent_tables() {
    let k = need!(d31_bytes());
    let l = layout(&k);
    let open = |v: Vec<u8>| dump::open(Rc::new(BytesSource(v)));
    for bs in [0u32, 3, 1000, 4097, 1 << 30, u32::MAX] {
        let mut v = k.clone();
        put32(&mut v, 428, bs);
        let e = open(v)
            .err()
            .unwrap_or_else(|| panic!("block size {bs} accepted"));
        assert!(e.to_string().contains("block (page) size"), "{e}");
    }
    for bb in [0u32, u32::MAX, 1 << 20] {
        let mut v = k.clone();
        put32(&mut v, 436, bb);
        let e = open(v)
            .err()
            .unwrap_or_else(|| panic!("bitmap blocks {bb} accepted"));
        assert!(e.to_string().contains("bitmap"), "{e}");
    }
    let mut v = k.clone();
    put32(&mut v, 432, u32::MAX);
    assert!(open(v).is_err());
    // max_mapnr larger than the bitmap: clamped with a warning.
    let mut v = k.clone();
    v[l.bs + 96..l.bs + 104].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let d = open(v).unwrap();
    assert!(
        d.info.warnings.iter().any(|w| w.contains("bitmap holds")),
        "{:?}",
        d.info.warnings
    );

    // Descriptor 10: stored size larger than a page; descriptor 11: data past the end of file;
    // a later zlib page: garbage instead of zlib data. Each page fails alone with a clear reason;
    // the rest of the dump still reads.
    let e = open_paths(&[need!(elf(F61))]);
    let mut v = k.clone();
    put32(&mut v, l.desc_off + 24 * 10 + 8, 5000);
    v[l.desc_off + 24 * 11..l.desc_off + 24 * 11 + 8]
        .copy_from_slice(&(k.len() as u64 - 10).to_le_bytes());
    // The first zlib page from descriptor 12 on gets garbage data.
    let z = (12..l.ndesc)
        .find(|&i| v[l.desc_off + 24 * i + 12] & 1 != 0)
        .unwrap();
    let offz = u64::from_le_bytes(
        v[l.desc_off + 24 * z..l.desc_off + 24 * z + 8]
            .try_into()
            .unwrap(),
    ) as usize;
    v[offz..offz + 8].copy_from_slice(b"garbage!");
    let d = open(v.clone()).unwrap();
    let w = d.info.warnings.join("\n");
    assert!(
        w.contains("impossible stored size") && w.contains("past the end"),
        "{w}"
    );
    let mut reasons = Vec::new();
    let (mut ok, mut buf) = (0, vec![0u8; PAGE]);
    let mut want = vec![0u8; PAGE];
    for pfn in 0..0x8000u64 {
        match d.read_phys(pfn * 4096, &mut buf) {
            Ok(()) => {
                e.read_phys(pfn * 4096, &mut want).unwrap();
                assert!(buf == want);
                ok += 1;
            }
            Err(MemError::NotInDump { .. }) => {}
            Err(MemError::Unreadable { why, .. }) => reasons.push(why),
            Err(x) => panic!("{x}"),
        }
    }
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("zlib")), "{reasons:?}");
    assert_eq!(ok + reasons.len() as u64, 15041);
    assert!(
        reasons.iter().any(|r| r.contains("stored size of 5000")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("past the end")),
        "{reasons:?}"
    );
    must_not_panic(v, "bad descriptors").unwrap();

    // Inconsistent bitmaps: the 2nd bitmap claims pages the 1st does not have, and more dumped
    // pages than there are descriptors; then all bits cleared.
    let bm2 = l.bs * 3 + l.bs;
    let mut v = k.clone();
    for b in &mut v[bm2..bm2 + 4096] {
        *b = 0xff;
    }
    let d = open(v.clone()).unwrap();
    let mut buf = [0u8; 64];
    for pfn in (0..0x8000u64).step_by(97) {
        let _ = d.read_phys(pfn * 4096, &mut buf);
    }
    let _ = must_not_panic(v, "2nd bitmap all set");
    let mut v = k.clone();
    for b in &mut v[bm2..bm2 + 4096] {
        *b = 0;
    }
    let d = open(v.clone()).unwrap();
    assert_eq!(d.info.pages_present, 0);
    assert!(matches!(
        d.read_phys(0x100000, &mut buf),
        Err(MemError::NotInDump { .. })
    ));
    let r = must_not_panic(v, "nothing dumped").unwrap();
    assert!(r.panic.message.is_none() && !r.warnings.is_empty());
    // INCOMPLETE: descriptors with offset 0 are pages that were never written.
    let mut v = k.clone();
    put32(
        &mut v,
        424,
        diskdump::DUMP_DH_COMPRESSED_ZLIB | diskdump::DUMP_DH_COMPRESSED_INCOMPLETE,
    );
    for i in l.ndesc / 2..l.ndesc {
        v[l.desc_off + 24 * i..l.desc_off + 24 * i + 24].fill(0);
    }
    let d = open(v).unwrap();
    let w = d.info.warnings.join("\n");
    assert!(
        w.contains("INCOMPLETE") && w.contains("never written"),
        "{w}"
    );
    let never = (0..0x8000u64)
        .filter(|p| matches!(d.read_phys(p * 4096, &mut buf), Err(MemError::Unreadable { ref why, .. }) if why.contains("never written")))
        .count();
    assert_eq!(never, l.ndesc - l.ndesc / 2);
}

#[test]
fn flattened_truncated_and_looping_records() {
    let v = need!(variants());
    let flat = std::fs::read(v.dir.join("d31-c.flat")).unwrap();
    // Record boundaries.
    let mut bounds = Vec::new();
    let mut at = 4096usize;
    while at + 16 <= flat.len() && bounds.len() < 100_000 {
        let len = i64::from_be_bytes(flat[at + 8..at + 16].try_into().unwrap());
        bounds.push(at);
        if len < 0 {
            break;
        }
        at += 16 + len as usize;
    }
    assert!(bounds.len() > 100);
    for cut in [
        10,
        4096,
        4100,
        bounds[1],
        bounds[1] + 20,
        bounds[3] + 9,
        bounds[bounds.len() / 2],
        flat.len() - 16,
        flat.len() - 1,
    ] {
        let r = must_not_panic(flat[..cut].to_vec(), &format!("flat cut {cut}"));
        if let Ok(r) = r {
            let w = r.dump.container.warnings.join("\n");
            assert!(
                w.contains("truncated") || w.contains("end marker"),
                "cut {cut}: {w}"
            );
        }
    }
    // A record with a negative size would send the reader backwards: refused.
    let mut bad = flat.clone();
    let b = bounds[5];
    bad[b + 8..b + 16].copy_from_slice(&(-32i64).to_be_bytes());
    let e = must_not_panic(bad, "loop").unwrap_err();
    assert!(e.contains("negative"), "{e}");
    // A record placing data at an absurd offset: refused.
    let mut bad = flat.clone();
    bad[b..b + 8].copy_from_slice(&(i64::MAX - 100).to_be_bytes());
    let e = must_not_panic(bad, "absurd offset").unwrap_err();
    assert!(e.contains("plausible"), "{e}");
    // A record with an absurd size: the file is truncated from there, partial result.
    let mut bad = flat.clone();
    bad[b + 8..b + 16].copy_from_slice(&(1i64 << 50).to_be_bytes());
    let _ = must_not_panic(bad, "absurd size");
}

#[test]
fn not_a_dump_and_wrong_parts() {
    let k = need!(d31_bytes());
    let e = must_not_panic(b"hello world, not a dump at all".to_vec(), "text").unwrap_err();
    assert!(e.contains("neither an ELF"), "{e}");
    let elf = need!(elf(F61));
    // An ELF is not a part of a split dump.
    let err = dump::open_many(vec![src_of(&elf), Rc::new(BytesSource(k))])
        .err()
        .unwrap();
    assert!(err.to_string().contains("ELF"), "{err}");
}

#[test]
fn old_diskdump_signature() {
    // The old DISKDUMP format has the same header, bitmaps and descriptors but no kdump
    // sub-header (so no notes). Made from the uncompressed makedumpfile output: same real pages.
    let v = need!(variants());
    let mut k = std::fs::read(v.dir.join("d31-raw")).unwrap();
    k[..8].copy_from_slice(b"DISKDUMP");
    let d = dump::open(Rc::new(BytesSource(k))).unwrap();
    assert_eq!(d.info.format, "diskdump");
    assert!(d.notes.vmcoreinfo.is_none());
    assert_eq!(d.info.codecs, vec!["none".to_string()]);
    let e = open_paths(&[need!(elf(F61))]);
    assert_eq!(compare_pages(&d, &e, 0x8000), (15041, 17727));
}

#[test]
fn flattened_index_reports_progress() {
    let qemu = need!(fixture_file("vmcore.qemu-kdump-zlib"));
    let size = std::fs::metadata(&qemu).unwrap().len();
    let mut seen = Vec::new();
    let src: Box<dyn ReadAt> = Box::new(FileSource::open(&qemu).unwrap());
    let r = analyze_many(vec![src], &Options::default(), &mut |p| {
        if p.phase == "index" {
            seen.push((p.bytes_read, p.file_size))
        }
    })
    .unwrap();
    check_report(&r, "qemu-kdump-zlib with progress");
    assert!(seen.len() >= 4, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
    assert_eq!(*seen.last().unwrap(), (size, size));
}

/// Inputs the fuzzers found crashes with (fuzz/): each must now open or fail cleanly, and every
/// page read must return or fail without a panic.
#[test]
fn fuzz_regressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if !p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("fuzz-")
        {
            continue;
        }
        n += 1;
        let v = std::fs::read(&p).unwrap();
        if let Ok(d) = dump::open(Rc::new(BytesSource(v.clone()))) {
            let mut buf = vec![0u8; PAGE];
            for (s, e) in d.mem.ranges() {
                let mut pa = s;
                while pa < e {
                    let _ = d.read_phys(pa, &mut buf);
                    pa += PAGE as u64;
                }
            }
        }
        let _ = must_not_panic(v, &p.display().to_string());
    }
    assert!(n >= 1);
}

#[test]
fn elf_truncated_at_its_boundaries() {
    let elf = need!(elf(F61));
    let mut f = std::fs::File::open(&elf).unwrap();
    let mut head = vec![0u8; 1 << 20];
    std::io::Read::read_exact(&mut f, &mut head).unwrap();
    let phoff = u64::from_le_bytes(head[32..40].try_into().unwrap()) as usize;
    let phnum = u16::from_le_bytes(head[56..58].try_into().unwrap()) as usize;
    let ph = |i: usize, o: usize| {
        u64::from_le_bytes(
            head[phoff + 56 * i + o..phoff + 56 * i + o + 8]
                .try_into()
                .unwrap(),
        ) as usize
    };
    let note = (0..phnum).find(|&i| head[phoff + 56 * i] == 4).unwrap();
    let (note_off, note_len) = (ph(note, 8), ph(note, 32));
    let load = (0..phnum).find(|&i| head[phoff + 56 * i] == 1).unwrap();
    let load_off = ph(load, 8);
    for cut in [
        10,
        63,
        64,
        phoff + 20,
        phoff + 56 * phnum - 1,
        note_off + note_len / 2,
        note_off + note_len,
        load_off + 4096 * 3 + 17,
        1 << 20,
    ] {
        let what = format!("ELF cut at {cut:#x}");
        match must_not_panic(head[..cut].to_vec(), &what) {
            Err(e) => assert!(cut < phoff + 56 * phnum, "{what}: {e}"),
            Ok(r) => {
                // Headers complete: a partial result that says what is missing.
                assert!(
                    cut >= phoff + 56 * phnum,
                    "{what}: opened without its program headers"
                );
                let w = r.dump.container.warnings.join("\n");
                assert!(w.contains("truncated"), "{what}: {w}");
                if cut < note_off + note_len {
                    assert!(w.contains("note segment is cut short"), "{what}: {w}");
                }
                assert!(
                    r.panic.message.is_none() && !r.warnings.is_empty(),
                    "{what}"
                );
            }
        }
    }
}

/// A report from a truncated copy of a dump is partial and says so first: the bundled sample
/// (kdump-compressed, so always present) at 10%, 50% and 90% of its length, and a lab ELF dump
/// at 50% and 90%. Exit is a report, never an error or a panic; the whole file is not partial.
#[test]
fn truncated_copies_give_partial_reports() {
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/sample/ref-nginx.kdump");
    let k = std::fs::read(&sample).expect("the bundled sample");
    let whole = must_not_panic(k.clone(), "whole sample").unwrap();
    assert!(!whole.partial, "{:?}", whole.warnings);
    assert_eq!(
        whole.culprit().map(|c| c.function.as_str()),
        Some("lab_read")
    );
    let check = |bytes: &[u8], pct: usize, what: &str| {
        let cut = bytes.len() * pct / 100;
        let r = must_not_panic(bytes[..cut].to_vec(), what)
            .unwrap_or_else(|e| panic!("{what} {pct}%: {e}"));
        assert!(r.partial, "{what} {pct}%: not partial: {:?}", r.warnings);
        // First: how many pages the analysis lacked, of which kind, while reading what.
        let w0 = &r.warnings[0];
        assert!(
            w0.starts_with("incomplete analysis: ")
                && w0.contains("past the end of the truncated file")
                && w0.contains("while reading "),
            "{what} {pct}%: {w0}"
        );
        // Then the container's own word on the truncation.
        assert!(
            r.warnings[1].contains("past the end") || r.warnings[1].contains("truncated"),
            "{what} {pct}%: {:?}",
            &r.warnings[..2]
        );
        eprintln!("{what} {pct}%: {w0}");
    };
    for pct in [10, 50, 90] {
        check(&k, pct, "sample");
    }
    let lab = common::lab_dir().join("ref-nginx/vmcore.elf");
    if !lab.is_file() {
        eprintln!("note: {} absent; lab ELF truncation skipped", lab.display());
        return;
    }
    let e = std::fs::read(&lab).unwrap();
    for pct in [50, 90] {
        check(&e, pct, "lab ELF");
    }
}

/// A vmcore in an archive (vmcore.tar.gz, .zst): every command, `oops` too, says the one
/// command that unpacks it instead of "neither an ELF vmcore nor ...", the archive made by the
/// real tar and zstd tools around a real dump's first MiB; the library says so too.
#[test]
fn archives_name_the_command_that_unpacks_them() {
    let Some(elf) = common::elf(common::F61) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("crashlens-archive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let head = std::fs::read(&elf).unwrap()[..1 << 20].to_vec();
    std::fs::write(dir.join("vmcore"), &head).unwrap();
    let tool = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .current_dir(&dir)
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut cases = vec![];
    if tool("tar", &["czf", "vmcore.tar.gz", "vmcore"]) {
        cases.push(("vmcore.tar.gz", "tar xzf vmcore.tar.gz"));
    }
    if tool("zstd", &["-q", "-k", "vmcore", "-o", "vmcore.zst"]) {
        cases.push(("vmcore.zst", "zstd -d vmcore.zst"));
    }
    assert!(!cases.is_empty(), "tar or zstd is needed");
    for (name, cmd) in cases {
        for sub in ["report", "bt", "oops"] {
            let out = Command::new(env!("CARGO_BIN_EXE_crashlens"))
                .args([sub, name])
                .current_dir(&dir)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{sub} {name}: {err}");
            assert!(
                err.starts_with(&format!("crashlens: not a crash dump: {name} is a "))
                    && err.contains(&format!("`{cmd}`")),
                "{sub} {name}: {err}"
            );
        }
        let src = FileSource::open(&dir.join(name)).unwrap();
        let e = dump::open(Rc::new(src)).err().unwrap().to_string();
        assert!(e.contains("cannot be read in place"), "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

//! The browser front: a [`ReadAt`] over a browser `File`, the analysis entry points, and the
//! renderer over the analysed report.
//!
//! Only valid inside a dedicated Web Worker: `FileReaderSync` does not exist on the main thread,
//! and the analysis blocks while it runs. The worker (`web/worker.js`) calls [`analyze_file`],
//! keeps the report here, and answers the page's requests for text with [`render_report`] and
//! [`sections`]: every text the page shows is the CLI's, from `crate::render`. Layout and
//! interaction live in JavaScript.
//!
//! The report crosses the boundary as its JSON text (the same bytes as `crashlens report
//! --format json`). serde-wasm-bindgen cannot carry kernel addresses: a `u64` above 2^53 is an
//! error unless every `u64` becomes a BigInt. The page parses the text with a reviver that
//! keeps such numbers exact.

mod console;

use crate::cache::ReadAhead;
use crate::dump::archive;
use crate::error::{Error, Result};
use crate::render::{self, Lang};
use crate::report::build::{analyze_many, Options, Progress};
use crate::report::Report;
use crate::source::ReadAt;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{File, FileReaderSync};

/// Read-ahead under the core's page cache (see [`ReadAhead`]): one `File.slice()` +
/// `readAsArrayBuffer` costs ~1.2-2 ms whatever its size plus ~6-7 ms per MiB (Chromium, loaded
/// machine), so a scattered miss reads 128 KiB, a run of sequential misses doubles that up to
/// 2 MiB, and up to 4 MiB of what was read is kept (the core's 32 MiB cache above keeps what is
/// used; a larger budget here read no less and took wasm memory). On the 6.1 fixture's report:
/// 69 calls for 17.4 MiB, where 1 MiB blocks in an 8 MiB cache made 45 calls for 45 MiB.
const AHEAD_FIRST: usize = 128 << 10;
const AHEAD_MAX: usize = 2 << 20;
const AHEAD_KEEP: usize = 4 << 20;

/// A browser file behind its read-ahead.
pub(crate) fn read_ahead(src: BrowserFile) -> ReadAhead<BrowserFile> {
    ReadAhead::new(src, AHEAD_FIRST, AHEAD_MAX, AHEAD_KEEP)
}
/// Progress is posted at most every this many bytes read from the file.
const PROGRESS_STEP: u64 = 4 << 20;

/// Shared between the file source and the progress callback.
struct Meter {
    bytes_read: Cell<u64>,
    /// Reads made from the file, and the milliseconds they took.
    calls: Cell<u64>,
    read_ms: Cell<f64>,
    last_report: Cell<u64>,
    phase: Cell<&'static str>,
    file_size: u64,
    callback: Option<js_sys::Function>,
}

impl Meter {
    fn new(phase: &'static str, file_size: u64, callback: Option<js_sys::Function>) -> Rc<Meter> {
        Rc::new(Meter {
            bytes_read: Cell::new(0),
            calls: Cell::new(0),
            read_ms: Cell::new(0.0),
            last_report: Cell::new(0),
            phase: Cell::new(phase),
            file_size,
            callback,
        })
    }

    fn post(&self) {
        self.post_with(None);
    }

    /// Posts the progress; `partial` is the report so far as JSON text, when a part is ready,
    /// with its text sections in both languages (`{"en": [...], "zh": [...]}`, JSON text).
    fn post_with(&self, partial: Option<(String, String)>) {
        let Some(cb) = &self.callback else { return };
        self.last_report.set(self.bytes_read.get());
        let o = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), &v);
        };
        set("phase", JsValue::from_str(self.phase.get()));
        set(
            "bytes_read",
            JsValue::from_f64(self.bytes_read.get() as f64),
        );
        set("file_size", JsValue::from_f64(self.file_size as f64));
        if let Some((json, sections)) = partial {
            set("partial", JsValue::from_str(&json));
            set("sections", JsValue::from_str(&sections));
        }
        // A throwing progress callback must not abort the analysis.
        let _ = cb.call1(&JsValue::NULL, &o);
    }
}

/// A browser `File` read with `FileReaderSync` over `File.slice()`.
pub struct BrowserFile {
    file: File,
    reader: FileReaderSync,
    len: u64,
    meter: Rc<Meter>,
}

impl BrowserFile {
    fn new(file: File, meter: Rc<Meter>) -> Result<Self> {
        let reader = FileReaderSync::new().map_err(|e| {
            Error::Io(format!(
                "the file can only be read inside a Web Worker ({})",
                js_text(&e)
            ))
        })?;
        let size = file.size();
        if !(size >= 0.0 && size.is_finite()) {
            return Err(Error::Io(
                "the browser reports no size for this file".into(),
            ));
        }
        Ok(BrowserFile {
            len: size as u64,
            file,
            reader,
            meter,
        })
    }
}

impl BrowserFile {
    /// One `FileReaderSync` read of `n` bytes at `offset` (`n` > 0, inside the file).
    fn read_array(&self, offset: u64, n: usize) -> Result<js_sys::Uint8Array> {
        // Offsets stay below 2^53 (a File larger than 8 PiB cannot exist), so f64 is exact.
        let blob = self
            .file
            .slice_with_f64_and_f64(offset as f64, (offset + n as u64) as f64)
            .map_err(|e| {
                Error::Io(format!(
                    "cannot slice the file at {offset:#x}: {}",
                    js_text(&e)
                ))
            })?;
        let ab = self.reader.read_as_array_buffer(&blob).map_err(|e| {
            Error::Io(format!(
                "the browser could not read the file at {offset:#x}: {}",
                js_text(&e)
            ))
        })?;
        let arr = js_sys::Uint8Array::new(&ab);
        let got = (arr.length() as usize).min(n);
        Ok(arr.subarray(0, got as u32))
    }

    /// Counts a read of `got` bytes that began at `t0` (and posts the progress now and then).
    fn count(&self, got: usize, t0: f64) {
        let m = &self.meter;
        m.bytes_read.set(m.bytes_read.get() + got as u64);
        m.calls.set(m.calls.get() + 1);
        m.read_ms.set(m.read_ms.get() + (now_ms() - t0));
        if m.bytes_read.get() - m.last_report.get() >= PROGRESS_STEP {
            m.post();
        }
    }
}

impl ReadAt for BrowserFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let n = (self.len - offset).min(buf.len() as u64) as usize;
        let t0 = now_ms();
        let arr = self.read_array(offset, n)?;
        let got = arr.length() as usize;
        arr.copy_to(&mut buf[..got]);
        self.count(got, t0);
        Ok(got)
    }

    /// The bytes go from the browser's buffer into a new vector, never zeroed first.
    fn read_to_vec(&self, offset: u64, len: usize, out: &mut Vec<u8>) -> Result<usize> {
        if offset >= self.len || len == 0 {
            out.clear();
            return Ok(0);
        }
        let n = (self.len - offset).min(len as u64) as usize;
        let t0 = now_ms();
        let arr = self.read_array(offset, n)?;
        *out = arr.to_vec();
        self.count(out.len(), t0);
        Ok(out.len())
    }
    fn len(&self) -> u64 {
        self.len
    }
}

thread_local! {
    /// The worker's `performance.now` (`Date.now` where it is missing).
    static NOW: Option<js_sys::Function> = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .filter(|p| p.is_object())
        .and_then(|p| js_sys::Reflect::get(&p, &JsValue::from_str("now")).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok()).map(|f| f.bind(&p)));
    /// The dump reads of the last analysis: `(calls, bytes, ms)`.
    static LAST_READS: Cell<(u64, u64, f64)> = const { Cell::new((0, 0, 0.0)) };
}

fn now_ms() -> f64 {
    NOW.with(|f| {
        f.as_ref()
            .and_then(|f| f.call0(&JsValue::NULL).ok())
            .and_then(|v| v.as_f64())
    })
    .unwrap_or_else(js_sys::Date::now)
}

/// How the last analysis read its dump, as JSON text `{"calls", "bytes", "ms"}`: the reads of
/// the file the browser made (each a `File.slice()` + `FileReaderSync.readAsArrayBuffer`), the
/// bytes they fetched and the time they took. For the page's timings (nothing of the dump).
#[wasm_bindgen(js_name = readStats)]
pub fn read_stats() -> String {
    let (calls, bytes, ms) = LAST_READS.with(|c| c.get());
    format!(
        "{{\"calls\":{calls},\"bytes\":{bytes},\"ms\":{}}}",
        ms.round()
    )
}

fn js_text(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    v.as_string().unwrap_or_else(|| format!("{v:?}"))
}

/// Analyses `file` and returns the report as JSON text. `progress`, if given, is called with
/// `{phase, bytes_read, file_size}`, and with `partial` (the report so far as JSON text, its
/// `pending` naming what is still to come) as each part becomes ready. On failure it throws one
/// plain sentence (a string).
#[wasm_bindgen(js_name = analyzeFile)]
pub fn analyze_file(
    file: File,
    progress: Option<js_sys::Function>,
) -> std::result::Result<String, JsValue> {
    run(vec![file], Vec::new(), progress)
}

/// [`analyze_file`] for a dump in several files (the parts of a split dump, in order).
#[wasm_bindgen(js_name = analyzeFiles)]
pub fn analyze_files(
    files: js_sys::Array,
    progress: Option<js_sys::Function>,
) -> std::result::Result<String, JsValue> {
    let files = dump_files(&files)?;
    run(files, Vec::new(), progress)
}

/// [`analyze_files`] with extra files the user added: a vmlinux or module `.ko` with DWARF, or
/// System.map (an array of `File`). Each is checked against the dump; one that does not match
/// is named in the report's `warnings` and not used; those used are listed in `debuginfo`.
/// Only the parts needed are read (a vmlinux's DWARF one compilation unit at a time).
#[wasm_bindgen(js_name = analyzeWithDebuginfo)]
pub fn analyze_with_debuginfo(
    files: js_sys::Array,
    extras: js_sys::Array,
    progress: Option<js_sys::Function>,
) -> std::result::Result<String, JsValue> {
    let files = dump_files(&files)?;
    let mut more = Vec::new();
    for v in extras.iter() {
        let f: File = v
            .dyn_into()
            .map_err(|_| JsValue::from_str("An extra file is not a File."))?;
        let name = f.name();
        let meter = Meter::new("debuginfo", f.size().max(0.0) as u64, None);
        let src = BrowserFile::new(f, meter).map_err(|e| sentence(&e))?;
        let cached: Rc<dyn ReadAt> = Rc::new(read_ahead(src));
        more.push(crate::debuginfo::Extra { name, src: cached });
    }
    run(files, more, progress)
}

/// The `File`s of a JS array; at least one.
fn dump_files(files: &js_sys::Array) -> std::result::Result<Vec<File>, JsValue> {
    let files: Vec<File> = files
        .iter()
        .filter_map(|f| f.dyn_into::<File>().ok())
        .collect();
    if files.is_empty() {
        return Err(JsValue::from_str("No file was given."));
    }
    Ok(files)
}

fn run(
    files: Vec<File>,
    extras: Vec<crate::debuginfo::Extra>,
    progress: Option<js_sys::Function>,
) -> std::result::Result<String, JsValue> {
    std::panic::set_hook(Box::new(report_panic));
    let name = files
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(" + ");
    let meter = Meter::new(
        "container",
        files.iter().map(|f| f.size().max(0.0) as u64).sum(),
        progress,
    );
    let mut srcs: Vec<Box<dyn ReadAt>> = Vec::with_capacity(files.len());
    for file in files {
        let fname = file.name();
        let src = BrowserFile::new(file, meter.clone()).map_err(|e| sentence(&e))?;
        // A vmcore.tar.gz / .xz / .zst: the CLI's error, with the command that unpacks it.
        if let Some(e) = archive::error(&archive::head_of(&src), &fname) {
            return Err(sentence(&e));
        }
        // The core's cache (64 KiB blocks) sits on the read-ahead.
        srcs.push(Box::new(read_ahead(src)));
    }
    let opts = Options {
        file_name: Some(name).filter(|n| !n.is_empty()),
        debuginfo: extras,
        ..Options::default()
    };
    let last_phase = RefCell::new("");
    let mut on_progress = |p: Progress<'_>| {
        meter.phase.set(p.phase);
        if let Some(r) = p.partial {
            *last_phase.borrow_mut() = p.phase;
            meter.post_with(serde_json::to_string(r).ok().map(|j| (j, both_sections(r))));
        } else if *last_phase.borrow() != p.phase {
            *last_phase.borrow_mut() = p.phase;
            meter.post();
        }
    };
    let report = analyze_many(srcs, &opts, &mut on_progress);
    LAST_READS.with(|c| {
        c.set((
            meter.calls.get(),
            meter.bytes_read.get(),
            meter.read_ms.get(),
        ))
    });
    let report = report.map_err(|e| sentence(&e))?;
    let json = serde_json::to_string(&report)
        .map_err(|e| JsValue::from_str(&format!("The report could not be encoded: {e}.")))?;
    LAST.with(|l| *l.borrow_mut() = Some(report));
    Ok(json)
}

thread_local! {
    /// The report of this worker's analysis, for [`render_report`] and [`sections`].
    static LAST: RefCell<Option<Report>> = const { RefCell::new(None) };
}

fn with_report<T>(
    f: impl FnOnce(&Report) -> std::result::Result<T, JsValue>,
) -> std::result::Result<T, JsValue> {
    LAST.with(|l| match &*l.borrow() {
        Some(r) => f(r),
        None => Err(JsValue::from_str(
            "No report has been analysed in this worker.",
        )),
    })
}

fn sections_text(r: &Report, lang: Lang) -> String {
    serde_json::to_string(&render::sections(r, lang)).unwrap_or_else(|_| "[]".into())
}

/// The text sections of a report in both languages, as JSON text `{"en": [...], "zh": [...]}`.
fn both_sections(r: &Report) -> String {
    format!(
        "{{\"en\":{},\"zh\":{}}}",
        sections_text(r, Lang::En),
        sections_text(r, Lang::Zh)
    )
}

/// The analysed report as a whole document: `format` is `text`, `md` or `html` (as
/// `crashlens report --format`), `lang` `en` or `zh`; `json` gives the report's JSON text.
#[wasm_bindgen(js_name = render)]
pub fn render_report(format: &str, lang: &str) -> std::result::Result<String, JsValue> {
    with_report(|r| {
        if format == "json" {
            return serde_json::to_string(r).map_err(|e| JsValue::from_str(&e.to_string()));
        }
        let f = render::Format::parse(format)
            .ok_or_else(|| JsValue::from_str(&format!("Unknown format {format:?}.")))?;
        Ok(render::render(r, f, Lang::parse(lang)))
    })
}

/// The text views of the analysed report in `lang` (JSON text of `[{id, text, parts?}]`), each
/// equal to its CLI command's output (see `render::sections`).
#[wasm_bindgen]
pub fn sections(lang: &str) -> std::result::Result<String, JsValue> {
    with_report(|r| Ok(sections_text(r, Lang::parse(lang))))
}

/// A panic aborts the wasm instance (panic = abort); before that, hand its message to the
/// worker's `self.crashlensPanic` so the page can say what went wrong.
fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let msg = info.to_string();
    let global = js_sys::global();
    if let Ok(f) = js_sys::Reflect::get(&global, &JsValue::from_str("crashlensPanic")) {
        if let Some(f) = f.dyn_ref::<js_sys::Function>() {
            let _ = f.call1(&JsValue::NULL, &JsValue::from_str(&msg));
        }
    }
}

/// The error as one sentence: capitalised, ending with a full stop.
fn sentence(e: &Error) -> JsValue {
    let s = e.to_string();
    let mut c = s.chars();
    let mut out = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>(),
        None => "The analysis failed".to_string(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    JsValue::from_str(&out)
}

/// A made-up oops in the kernel's format (for [`warm_up`]): the lines the parser's patterns
/// look for (title, #PF, Oops, CPU, RIP, Code, registers, Call Trace, modules, panic).
const WARM_OOPS: &str = "\
[    1.000000] BUG: kernel NULL pointer dereference, address: 0000000000000018
[    1.000001] #PF: supervisor read access in kernel mode
[    1.000002] #PF: error_code(0x0000) - not-present page
[    1.000003] PGD 0 P4D 0
[    1.000004] Oops: 0000 [#1] PREEMPT SMP NOPTI
[    1.000005] CPU: 0 PID: 1 Comm: init Tainted: G           OE      6.1.0 #1
[    1.000006] Hardware name: Example
[    1.000007] RIP: 0010:example_fn+0x15/0x1f [example]
[    1.000008] Code: 53 48 89 fb e8 00 00 00 00 <48> 8b 43 18 5b c3 cc cc cc cc
[    1.000009] RSP: 0018:ffffc90000013d70 EFLAGS: 00000246
[    1.000010] RAX: 0000000000000000 RBX: 0000000000000000 RCX: 0000000000000000
[    1.000011] CR2: 0000000000000018 CR3: 0000000002a0c000 CR4: 0000000000750eb0
[    1.000012] Call Trace:
[    1.000013]  <TASK>
[    1.000014]  example_caller+0x9/0x4e [example]
[    1.000015]  ? example_other+0x1b0/0x560
[    1.000016]  entry_SYSCALL_64_after_hwframe+0x6e/0xd8
[    1.000017]  </TASK>
[    1.000018] Modules linked in: example(OE)
[    1.000019] ---[ end trace 0000000000000000 ]---
[    1.000020] Kernel panic - not syncing: Fatal exception
";

/// Builds what the analyzer otherwise builds on its first use in each worker (the oops
/// parser's regular expressions, compiled once per process, and the disassembler's tables) by
/// parsing a made-up oops and decoding a few instructions; nothing of it is kept but those.
/// The worker calls it when it warms, while the page waits for a file: in Chromium the
/// expressions alone take some 30-100 ms to compile.
#[wasm_bindgen(js_name = warmUp)]
pub fn warm_up() {
    let all = crate::analysis::oops::parse_all(WARM_OOPS);
    let _ = crate::analysis::oops::primary(&all);
    let _ = crate::analysis::disasm::disassemble(
        &[0x53, 0x48, 0x8b, 0x43, 0x18, 0x5b, 0xc3],
        0xffff_ffff_8100_0000,
        &|_| None,
    );
}

/// The crate version, so the page can show what it runs.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Size of the wasm linear memory in bytes. Linear memory only grows, so after an analysis
/// this is its peak; the page reports it.
#[wasm_bindgen(js_name = memoryBytes)]
pub fn memory_bytes() -> f64 {
    core::arch::wasm32::memory_size(0) as f64 * 65536.0
}

/// A source over `file` for a quick look (no progress).
fn plain_source(file: File) -> std::result::Result<BrowserFile, JsValue> {
    let meter = Meter::new("reading", file.size().max(0.0) as u64, None);
    BrowserFile::new(file, meter).map_err(|e| sentence(&e))
}

/// What a file given to the page is, by its first bytes, as JSON text: `{"kind": "dump"}`,
/// `{"kind": "archive", "en": ..., "zh": ...}` (a compressed file or archive, with the sentence
/// that names the command unpacking it, the CLI's in English), `{"kind": "text"}` (a console
/// log such as vmcore-dmesg.txt) or `{"kind": "other"}`.
#[wasm_bindgen(js_name = fileKind)]
pub fn file_kind(file: File) -> std::result::Result<String, JsValue> {
    let name = file.name();
    let src = plain_source(file)?;
    let head = archive::head_of(&src);
    let magics: [&[u8]; 4] = [b"\x7fELF", b"KDUMP   ", b"DISKDUMP", b"makedumpfile"];
    let dump = magics.iter().any(|m| head.starts_with(m));
    let v = if dump {
        serde_json::json!({"kind": "dump"})
    } else if let Some(a) = archive::detect(&head, Some(&name)) {
        let en = sentence(&Error::NotADump(a.message(&name, Lang::En)))
            .as_string()
            .unwrap_or_default();
        serde_json::json!({"kind": "archive", "en": en, "zh": a.message(&name, Lang::Zh)})
    } else if archive::looks_like_text(&head) {
        serde_json::json!({"kind": "text"})
    } else {
        serde_json::json!({"kind": "other"})
    };
    Ok(v.to_string())
}

/// Console logs are far smaller; this only bounds memory on a wrong file.
const MAX_TEXT: u64 = 512 << 20;

/// The verdict from a console log alone (a `vmcore-dmesg.txt` dropped without its vmcore), as
/// JSON text `{"en": {title, frame, note, text}, "zh": {...}}`: the primary crash report's
/// title and guilty function as `crashlens oops FILE` gives them, and its text; `null` when the
/// text holds no crash report.
#[wasm_bindgen(js_name = textVerdict)]
pub fn text_verdict(file: File) -> std::result::Result<String, JsValue> {
    std::panic::set_hook(Box::new(report_panic));
    let name = file.name();
    let src = plain_source(file)?;
    let n = src.len().min(MAX_TEXT) as usize;
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match src
            .read_at(got as u64, &mut buf[got..])
            .map_err(|e| sentence(&e))?
        {
            0 => break,
            k => got += k,
        }
    }
    buf.truncate(got);
    let text = String::from_utf8_lossy(&buf);
    let all = crate::analysis::oops::parse_all(crate::analysis::oops::console_text(&text));
    let Some(o) = crate::analysis::oops::primary(&all) else {
        return Ok("null".into());
    };
    let v = serde_json::json!({
        "en": render::oops::text_verdict(o, &name, Lang::En),
        "zh": render::oops::text_verdict(o, &name, Lang::Zh),
    });
    Ok(v.to_string())
}

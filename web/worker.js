// The analysis worker: loads the wasm analyzer, runs one analysis, then keeps its report and
// answers the page's requests for text (sections, Markdown, HTML), all rendered in Rust.
// FileReaderSync (used by the wasm side) exists only in dedicated workers, and the analysis
// blocks while it runs, so it never touches the page's thread. The page starts one worker per
// analysis (a spare one ahead of time, `warm`) and terminates it on cancel or the next analysis.
//
// Messages in:  {type: 'warm', module?}              load the analyzer now and build what it
//                                                     builds on first use -> {type: 'warmed'}
//               {type: 'analyze', file|files, module?, lang?}  -> progress*, partial*, done | error
//                                                        (done carries the sections in `lang`)
//               {type: 'sections', id, lang}          -> {type: 'answer', id, text | error}
//               {type: 'render', id, format, lang}    -> {type: 'answer', id, text | error}
//               {type: 'console', id, op: 'open'}     -> {type: 'answer', id, text: ''} (opens the
//                                                        analysed files for the console's commands)
//               {type: 'console', id, op: 'run', line}      -> answer text: {"text", "error"} (JSON)
//               {type: 'console', id, op: 'complete', line} -> answer text: completions (JSON array)
// Before an analysis the worker looks at the file's first bytes (wasm fileKind): an archive
// (vmcore.tar.gz, .xz, .zst) is an error naming the command that unpacks it, in both languages
// ({type: 'error', message, messages: {en, zh}}); a console log (vmcore-dmesg.txt) gets a
// verdict from its text alone -> {type: 'text', json} (JSON {en, zh} of render::oops::TextVerdict).
// `module` is the WebAssembly.Module the page compiled once; without it the worker loads the
// module itself.
/* global wasm_bindgen */
'use strict';

// In the single-file build the page defines self.CRASHLENS_WASM (the module bytes) and the
// glue before this script; in the hosted build both are files beside this one, or, when
// <crash-lens> runs on another origin, under self.CRASHLENS_BASE (set by its Blob bootstrap).
const BASE = self.CRASHLENS_BASE || '';
if (typeof wasm_bindgen === 'undefined') importScripts(BASE + 'crashlens.js');

let panicMessage = null;
self.crashlensPanic = (m) => { panicMessage = m; };

let ready = null;
let opened = null; // the files of this worker's analysis, for the console: {files, extras, console}
function load(module) {
  if (!ready) ready = wasm_bindgen({ module_or_path: module || self.CRASHLENS_WASM || BASE + 'crashlens_bg.wasm' });
  return ready;
}

function errorText(e) {
  if (typeof e === 'string') return e;
  if (panicMessage) return 'The analyzer hit an internal error: ' + panicMessage;
  return 'The analyzer hit an internal error: ' + (e && e.message || e);
}

async function analyze(data) {
  // One file, or the parts of a split dump (makedumpfile --split), in order; debug files picked
  // with them (vmlinux, module .ko, System.map) only sharpen the analysis.
  const all = data.files || [data.file];
  const isExtra = (f) => /\.ko(\.debug)?$/.test(f.name) || /^vmlinux/.test(f.name) || /System\.map/.test(f.name);
  const extras = all.filter(isExtra);
  const files = all.filter((f) => !isExtra(f));
  try {
    await load(data.module);
  } catch (e) {
    self.postMessage({ type: 'error', message: 'The analyzer could not be loaded: ' + (e && e.message || e) });
    return;
  }
  opened = { files, extras, console: false };
  if (files.length === 1 && !extras.length) {
    try {
      const kind = JSON.parse(wasm_bindgen.fileKind(files[0]));
      if (kind.kind === 'archive') {
        self.postMessage({ type: 'error', message: kind.en, messages: { en: kind.en, zh: kind.zh } });
        return;
      }
      if (kind.kind === 'text') {
        const t0 = performance.now();
        const json = wasm_bindgen.textVerdict(files[0]);
        // A text without a crash report goes on to the analysis, which says it is not a dump.
        if (json !== 'null') {
          self.postMessage({ type: 'text', json, ms: performance.now() - t0 });
          return;
        }
      }
    } catch (e) {
      self.postMessage({ type: 'error', message: errorText(e) });
      return;
    }
  }
  const t0 = performance.now();
  try {
    // A part of the report that is ready (`partial`, JSON text, with its text views in both
    // languages) goes to the page at once.
    const progress = (p) => {
      if (p.partial) self.postMessage({ type: 'partial', json: p.partial, sections: p.sections, ms: performance.now() - t0 });
      self.postMessage({ type: 'progress', phase: p.phase, bytes_read: p.bytes_read, file_size: p.file_size });
    };
    let json;
    if (!files.length) throw 'Only debug files were given; add the vmcore too.';
    if (extras.length) json = wasm_bindgen.analyzeWithDebuginfo(files, extras, progress);
    else if (files.length === 1) json = wasm_bindgen.analyzeFile(files[0], progress);
    else json = wasm_bindgen.analyzeFiles(files, progress);
    const ms = performance.now() - t0;
    // The text views in the page's language come with it (one round trip fewer).
    let sections;
    try { sections = data.lang ? wasm_bindgen.sections(data.lang) : undefined; } catch (_) { /* the page asks */ }
    self.postMessage({ type: 'done', json, sections, lang: data.lang, ms, memory: wasm_bindgen.memoryBytes(), reads: JSON.parse(wasm_bindgen.readStats()) });
  } catch (e) {
    self.postMessage({ type: 'error', message: errorText(e) });
  }
}

self.onmessage = (ev) => {
  const m = ev.data || {};
  if (m.type === 'warm') {
    load(m.module).then(() => {
      try { wasm_bindgen.warmUp(); } catch (_) { /* the analysis builds them itself */ }
      self.postMessage({ type: 'warmed' });
    }, () => { ready = null; });
  } else if (m.type === 'console') {
    try {
      let text = '';
      if (!opened) throw 'No dump has been analysed in this worker.';
      if (m.op === 'open') {
        if (!opened.console) { wasm_bindgen.consoleOpen(opened.files, opened.extras); opened.console = true; }
      } else if (m.op === 'run') {
        text = wasm_bindgen.consoleRun(m.line);
      } else if (m.op === 'complete') {
        text = JSON.stringify(opened.console ? wasm_bindgen.consoleComplete(m.line) : []);
      }
      self.postMessage({ type: 'answer', id: m.id, text });
    } catch (e) {
      self.postMessage({ type: 'answer', id: m.id, error: errorText(e) });
    }
  } else if (m.type === 'sections' || m.type === 'render') {
    try {
      const text = m.type === 'sections' ? wasm_bindgen.sections(m.lang) : wasm_bindgen.render(m.format, m.lang);
      self.postMessage({ type: 'answer', id: m.id, text });
    } catch (e) {
      self.postMessage({ type: 'answer', id: m.id, error: errorText(e) });
    }
  } else {
    analyze(m);
  }
};

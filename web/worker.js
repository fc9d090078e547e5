// The analysis worker: loads the wasm analyzer and runs one analysis per message.
// FileReaderSync (used by the wasm side) exists only in dedicated workers, and the analysis
// blocks while it runs, so it never touches the page's thread.
/* global wasm_bindgen */
'use strict';

// In the single-file build the page defines self.CRASHLENS_WASM (the module bytes) and the
// glue before this script; in the hosted build both are files beside this one, or, when
// <crash-lens> runs on another origin, under self.CRASHLENS_BASE (set by its Blob bootstrap).
const BASE = self.CRASHLENS_BASE || '';
if (typeof wasm_bindgen === 'undefined') importScripts(BASE + 'crashlens.js');

let panicMessage = null;
self.crashlensPanic = (m) => { panicMessage = m; };

const ready = wasm_bindgen({ module_or_path: self.CRASHLENS_WASM || BASE + 'crashlens_bg.wasm' });

self.onmessage = async (ev) => {
  // One file, or the parts of a split dump (makedumpfile --split), in order; debug files picked
  // with them (vmlinux, module .ko, System.map) only sharpen the analysis.
  const all = ev.data.files || [ev.data.file];
  const isExtra = (f) => /\.ko(\.debug)?$/.test(f.name) || /^vmlinux/.test(f.name) || /System\.map/.test(f.name);
  const extras = all.filter(isExtra);
  const files = all.filter((f) => !isExtra(f));
  try {
    await ready;
  } catch (e) {
    self.postMessage({ type: 'error', message: 'The analyzer could not be loaded: ' + (e && e.message || e) });
    return;
  }
  const t0 = performance.now();
  try {
    // A part of the report that is ready (`partial`, JSON text) goes to the page at once.
    const progress = (p) => {
      if (p.partial) self.postMessage({ type: 'partial', json: p.partial, ms: performance.now() - t0 });
      self.postMessage({ type: 'progress', phase: p.phase, bytes_read: p.bytes_read, file_size: p.file_size });
    };
    let json;
    if (!files.length) throw 'Only debug files were given; add the vmcore too.';
    if (extras.length && wasm_bindgen.analyzeWithDebuginfo) json = wasm_bindgen.analyzeWithDebuginfo(files, extras, progress);
    else if (files.length === 1) json = wasm_bindgen.analyzeFile(files[0], progress);
    else if (wasm_bindgen.analyzeFiles) json = wasm_bindgen.analyzeFiles(files, progress);
    else throw 'This build reads one dump file at a time; choose a single file.';
    self.postMessage({ type: 'done', json, ms: performance.now() - t0, memory: wasm_bindgen.memoryBytes() });
  } catch (e) {
    let message;
    if (typeof e === 'string') message = e;
    else if (panicMessage) message = 'The analyzer hit an internal error: ' + panicMessage;
    else message = 'The analyzer hit an internal error: ' + (e && e.message || e);
    self.postMessage({ type: 'error', message });
  }
};

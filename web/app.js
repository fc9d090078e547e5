// The crashlens page: file pick/drop, one Web Worker per analysis, progress, report, exports.
// Every text the report shows and every export comes from the worker (rendered in Rust); the
// language switch asks it again.
// State lives on <html data-state="idle|working|done|error"> for people and for tests.
/* global CrashlensRender */
'use strict';
(function () {
  const R = CrashlensRender;
  const $ = (id) => document.getElementById(id);
  const root = document.documentElement;

  let lang = (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
  let run = null; // the running analysis: { cancel() }
  let current = null; // the last report: { report, json, name, run, texts: {lang: sections} }
  let lastProgress = null;
  let preview = null; // the report so far while the analysis runs: { report, sections: {en, zh} }
  const WASM_URL = window.CRASHLENS_INLINE_WORKER ? null : 'crashlens_bg.wasm';

  // Exposed for tests and embedding pages: timings of the last analysis (no dump content).
  // firstPartMs: drop to the first part of the report on screen; verdictMs: drop to the verdict.
  const timing = (window.crashlensTiming = { startedAt: 0, workerMs: null, totalMs: null, wasmMemory: null, firstPartMs: null, verdictMs: null });

  function setState(s) { root.dataset.state = s; }

  function applyLang() {
    const t = (k) => R.t(lang, k);
    root.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('title');
    document.querySelectorAll('[data-i18n]').forEach((e) => { e.textContent = t(e.dataset.i18n); });
    document.querySelectorAll('[data-i18n-label]').forEach((e) => { e.setAttribute('aria-label', t(e.dataset.i18nLabel)); });
    $('lang').value = lang;
    if (lastProgress) showProgress(lastProgress);
    if (current) showReport();
    else if (preview) showPartial(preview);
  }

  function showError(msg) {
    setState('error');
    $('progress').hidden = true;
    const e = $('error');
    e.textContent = msg;
    e.hidden = false;
  }

  function showProgress(p) {
    lastProgress = p;
    const phase = R.t(lang, 'phase_' + p.phase);
    $('phase').textContent = phase.startsWith('phase_') ? p.phase : phase;
    const bar = $('bar');
    if (p.file_size > 0 && p.bytes_read != null) {
      bar.max = p.file_size;
      bar.value = Math.min(p.bytes_read, p.file_size);
      $('bytes').textContent = R.bytes(p.bytes_read) + ' ' + R.t(lang, 'read') + ' (' + R.t(lang, 'of') + ' ' + R.bytes(p.file_size) + ')';
    } else {
      bar.removeAttribute('value');
      $('bytes').textContent = '';
    }
  }

  function makeWorker() {
    // Single-file build: the worker's code comes from the page itself (scripts/pack-web.mjs).
    if (window.CRASHLENS_INLINE_WORKER) return window.CRASHLENS_INLINE_WORKER();
    return new Worker('worker.js');
  }

  // `files`: one File, or several (the parts of a split dump).
  function analyze(files) {
    const file = files.length === 1 ? files[0] : files;
    const size = files.reduce((a, f) => a + f.size, 0);
    const name = files.length === 1 ? files[0].name : files.map((f) => f.name).join(' + ');
    if (run) run.cancel();
    if (current && current.run) current.run.cancel(); // the last analysis's worker
    const startedAt = performance.now();
    timing.startedAt = Date.now();
    timing.workerMs = timing.totalMs = timing.firstPartMs = timing.verdictMs = null;
    current = null;
    preview = null;
    $('error').hidden = true;
    $('notice').hidden = true;
    $('result').hidden = true;
    $('report').textContent = '';
    setState('working');
    $('progress').hidden = false;
    showProgress({ phase: 'loading', bytes_read: 0, file_size: size });
    $('cancel').focus();
    const since = () => Math.round(performance.now() - startedAt);
    const onPart = (p) => {
      if (run !== me) return;
      if (timing.firstPartMs == null) timing.firstPartMs = since();
      if (timing.verdictMs == null && !(p.report.pending || []).includes('narrative')) timing.verdictMs = since();
      showPartial(p);
    };
    const me = (run = R.startAnalysis(file, makeWorker, (p) => { if (run === me) showProgress(p); }, lang, onPart, { wasmUrl: WASM_URL }));
    me.done.then((res) => me.sections(lang).then((sections) => {
      if (run !== me) return;
      run = null;
      preview = null;
      if (timing.verdictMs == null) timing.verdictMs = since();
      current = { report: res.report, json: res.json, name, run: me, texts: { [lang]: sections } };
      timing.workerMs = Math.round(res.ms);
      timing.wasmMemory = res.memory;
      timing.totalMs = Math.round(performance.now() - startedAt);
      showReport();
      $('result').focus();
    })).catch((err) => {
      if (run !== me) return;
      run = null;
      preview = null;
      $('result').hidden = true;
      showError(err.message);
    });
  }

  const EXPORTS = ['export-json', 'export-md', 'export-html'];

  // The parts ready so far, above the progress bar's phase; exports wait for the whole report.
  function showPartial(p) {
    preview = p;
    const rep = $('report');
    R.renderInto(rep, p.report, lang, p.sections && p.sections[lang]);
    rep.setAttribute('aria-busy', 'true');
    for (const id of EXPORTS) $(id).disabled = true;
    $('timing').textContent = '';
    $('result').hidden = false;
  }

  function showReport() {
    if (!current) return;
    const cur = current;
    if (!cur.texts[lang]) {
      // The worker renders this language's text; draw when it answers (if still current).
      const want = lang;
      cur.run.sections(want).then((s) => { cur.texts[want] = s; if (current === cur && lang === want) showReport(); }, (e) => showError(e.message));
      return;
    }
    for (const id of EXPORTS) $(id).disabled = false;
    $('report').removeAttribute('aria-busy');
    $('progress').hidden = true;
    lastProgress = null;
    R.renderInto($('report'), current.report, lang, current.texts[lang]);
    $('timing').textContent = timing.totalMs != null ? R.t(lang, 'analyzedIn') + ' ' + (timing.totalMs / 1000).toFixed(2) + ' s' : '';
    $('result').hidden = false;
    setState('done');
  }

  function cancel() {
    if (!run) return;
    run.cancel();
    run = null;
    lastProgress = null;
    preview = null;
    $('progress').hidden = true;
    $('result').hidden = true;
    $('error').hidden = true;
    setState('idle');
    $('notice').textContent = R.t(lang, 'cancelled');
    $('notice').hidden = false;
    $('dump-input').focus();
  }

  function pickFile(files) {
    if (!files || !files.length) return;
    // Several files are the parts of one split dump, in name order (vmcore.1, vmcore.2, ...).
    analyze(Array.from(files).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true })));
  }

  function init() {
    const input = $('dump-input');
    input.addEventListener('change', () => { pickFile(input.files); input.value = ''; });
    $('cancel').addEventListener('click', cancel);
    // The sample: a real dump of the reference case (a module's read() handler frees a page that
    // was never allocated, read by "nginx"), made by tests/lab, served beside the page.
    const sample = $('sample');
    if (location.protocol === 'file:') sample.hidden = true;
    sample.addEventListener('click', async () => {
      try {
        const res = await fetch('sample/ref-nginx.kdump');
        if (!res.ok) throw new Error(String(res.status));
        const blob = await res.blob();
        pickFile([new File([blob], 'sample-ref-nginx.kdump')]);
      } catch (e) {
        showError(R.t(lang, 'sampleMissing'));
      }
    });
    $('lang').addEventListener('change', (e) => { lang = e.target.value; applyLang(); });
    const name = () => R.exportName(current && current.name);
    $('export-json').addEventListener('click', () => current && R.download(current.json, 'application/json', name() + '.json'));
    // Markdown and HTML: `crashlens report --format md|html --lang <lang>`, from the worker.
    const exportDoc = (format, type, ext) => {
      if (!current) return;
      current.run.render(format, lang).then((text) => R.download(text, type, name() + ext), (e) => showError(e.message));
    };
    $('export-md').addEventListener('click', () => exportDoc('md', 'text/markdown', '.md'));
    $('export-html').addEventListener('click', () => exportDoc('html', 'text/html', '.html'));
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && run) cancel(); });

    // Drop anywhere on the page; the drop zone highlights.
    const zone = $('drop');
    let depth = 0;
    window.addEventListener('dragenter', (e) => { e.preventDefault(); depth++; zone.classList.add('over'); });
    window.addEventListener('dragleave', () => { if (--depth <= 0) { depth = 0; zone.classList.remove('over'); } });
    window.addEventListener('dragover', (e) => { e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'; });
    window.addEventListener('drop', (e) => {
      e.preventDefault();
      depth = 0;
      zone.classList.remove('over');
      pickFile(e.dataTransfer && e.dataTransfer.files);
    });
    applyLang();
    setState('idle');
    // The analyzer compiled and a worker warmed while the reader picks a file.
    R.prepare(makeWorker, WASM_URL);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();

// The crashlens page: file pick/drop, one Web Worker per analysis, progress, report, exports.
// State lives on <html data-state="idle|working|done|error"> for people and for tests.
/* global CrashlensRender */
'use strict';
(function () {
  const R = CrashlensRender;
  const $ = (id) => document.getElementById(id);
  const root = document.documentElement;

  let lang = (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
  let worker = null;
  let current = null; // { report, json, name, ms }
  let lastProgress = null;
  let startedAt = 0;

  // Exposed for tests and embedding pages: timings of the last analysis (no dump content).
  const timing = (window.crashlensTiming = { startedAt: 0, workerMs: null, totalMs: null });

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

  function stopWorker() {
    if (worker) { worker.terminate(); worker = null; }
  }

  function makeWorker() {
    // Single-file build: the worker's code comes from the page itself (see scripts/single-file.mjs).
    if (window.CRASHLENS_INLINE_WORKER) return window.CRASHLENS_INLINE_WORKER();
    return new Worker('worker.js');
  }

  function analyze(file) {
    stopWorker();
    startedAt = performance.now();
    timing.startedAt = Date.now();
    timing.workerMs = timing.totalMs = null;
    current = null;
    $('error').hidden = true;
    $('result').hidden = true;
    $('report').textContent = '';
    setState('working');
    $('progress').hidden = false;
    showProgress({ phase: 'loading', bytes_read: 0, file_size: file.size });
    $('cancel').focus();
    try {
      worker = makeWorker();
    } catch (e) {
      showError(R.t(lang, 'errNoWorker') + ' (' + (e && e.message || e) + ')');
      return;
    }
    const w = worker;
    w.onmessage = (ev) => {
      if (w !== worker) return;
      const m = ev.data;
      if (m.type === 'progress') showProgress(m);
      else if (m.type === 'error') { stopWorker(); showError(m.message || R.t(lang, 'errUnknown')); }
      else if (m.type === 'done') {
        stopWorker();
        let report;
        try { report = R.parseReport(m.json); } catch (e) { showError(R.t(lang, 'errUnknown') + ' (' + e.message + ')'); return; }
        current = { report, json: m.json, name: file.name };
        timing.workerMs = Math.round(m.ms);
        showReport();
        timing.totalMs = Math.round(performance.now() - startedAt);
        $('timing').textContent = R.t(lang, 'analyzedIn') + ' ' + (timing.totalMs / 1000).toFixed(2) + ' s';
        $('result').focus();
      }
    };
    w.onerror = (ev) => {
      if (w !== worker) return;
      ev.preventDefault();
      stopWorker();
      showError(R.t(lang, 'errWorker') + (ev.message ? ' (' + ev.message + ')' : ''));
    };
    w.postMessage({ file });
  }

  function showReport() {
    if (!current) return;
    $('progress').hidden = true;
    lastProgress = null;
    const rep = $('report');
    rep.textContent = '';
    rep.append(R.renderReport(current.report, lang));
    $('result').hidden = false;
    $('timing').textContent = timing.totalMs != null ? R.t(lang, 'analyzedIn') + ' ' + (timing.totalMs / 1000).toFixed(2) + ' s' : '';
    setState('done');
  }

  function cancel() {
    if (!worker) return;
    stopWorker();
    lastProgress = null;
    $('progress').hidden = true;
    $('error').hidden = true;
    setState('idle');
    $('notice').textContent = R.t(lang, 'cancelled');
    $('notice').hidden = false;
    $('dump-input').focus();
  }

  function baseName() {
    const n = (current && current.name) || 'vmcore';
    return 'crashlens-' + n.replace(/[^A-Za-z0-9._-]+/g, '_');
  }

  function download(text, type, ext) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = document.createElement('a');
    a.href = url;
    a.download = baseName() + ext;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function pickFile(files) {
    if (!files || !files.length) return;
    $('notice').hidden = true;
    analyze(files[0]);
  }

  function init() {
    const input = $('dump-input');
    input.addEventListener('change', () => { pickFile(input.files); input.value = ''; });
    $('cancel').addEventListener('click', cancel);
    $('lang').addEventListener('change', (e) => { lang = e.target.value; applyLang(); });
    $('export-json').addEventListener('click', () => current && download(current.json, 'application/json', '.json'));
    $('export-md').addEventListener('click', () => current && download(R.toMarkdown(current.report, lang), 'text/markdown', '.md'));
    $('export-html').addEventListener('click', () => current && download(R.toHtml(current.report, lang, current.json), 'text/html', '.html'));
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && worker) cancel(); });

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
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();

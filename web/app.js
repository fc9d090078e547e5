// The crashlens page: file pick/drop, one Web Worker per analysis, progress, report, exports.
// Every text the report shows and every export comes from the worker (rendered in Rust); the
// language switch asks it again.
// State lives on <html data-state="idle|working|done|error"> for people and for tests;
// <html data-analyzer="ready"> once a worker has the analyzer loaded and warmed for the next file.
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
  // reads: the worker's reads of the file ({calls, bytes, ms}).
  const timing = (window.crashlensTiming = { startedAt: 0, workerMs: null, totalMs: null, wasmMemory: null, firstPartMs: null, verdictMs: null, reads: null });

  function setState(s) { root.dataset.state = s; }

  function applyLang() {
    const t = (k) => R.t(lang, k);
    root.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('title');
    document.querySelectorAll('[data-i18n]').forEach((e) => { e.textContent = t(e.dataset.i18n); });
    document.querySelectorAll('[data-i18n-label]').forEach((e) => { e.setAttribute('aria-label', t(e.dataset.i18nLabel)); });
    $('lang').value = lang;
    renderHelp();
    if (lastProgress) showProgress(lastProgress);
    if (current) showReport();
    else if (preview) showPartial(preview);
    if (lastError && root.dataset.state === 'error') showError(lastError.msg, lastError.messages);
  }

  let lastError = null; // {msg, messages?}: an archive's error is given in both languages
  function showError(msg, messages) {
    lastError = { msg, messages };
    setState('error');
    $('progress').hidden = true;
    const e = $('error');
    e.textContent = (messages && messages[lang]) || msg;
    e.hidden = false;
  }

  // ---------------------------------------------------------------- landing help
  function renderHelp() {
    const body = $('help-body');
    if (!body) return;
    body.textContent = '';
    for (const card of R.t(lang, 'help')) {
      const ul = R.h('ul', null);
      for (const item of card.items) {
        // Items alternate text and commands/paths: [text, code, text, code, ...].
        ul.append(R.h('li', null, item.map((x, i) => (i % 2 ? R.h('code', null, x) : x))));
      }
      body.append(R.h('div', { class: 'help-card' }, R.h('h3', null, card.h), ul));
    }
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
    timing.workerMs = timing.totalMs = timing.firstPartMs = timing.verdictMs = timing.reads = null;
    current = null;
    preview = null;
    lastError = null;
    followHash.done = false; // the next report follows the page's deep link (#backtrace) again
    resetConsole();
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
    delete root.dataset.analyzer; // the spare worker is taken; the next one says when it is ready
    const me = (run = R.startAnalysis(file, makeWorker, (p) => { if (run === me) showProgress(p); }, lang, onPart, { wasmUrl: WASM_URL, onReady: analyzerReady }));
    me.done.then((res) => (res.textVerdict ? Promise.resolve(null) : me.sections(lang)).then((sections) => {
      if (run !== me) return;
      if (res.textVerdict) {
        // A console log (vmcore-dmesg.txt): a verdict from its text alone.
        run = null;
        preview = null;
        current = { textVerdict: res.textVerdict, name, run: me, texts: {} };
        timing.workerMs = Math.round(res.ms);
        timing.totalMs = Math.round(performance.now() - startedAt);
        if (timing.verdictMs == null) timing.verdictMs = since();
        showReport();
        $('result').focus();
        return;
      }
      run = null;
      preview = null;
      if (timing.verdictMs == null) timing.verdictMs = since();
      current = { report: res.report, json: res.json, name, run: me, texts: { [lang]: sections } };
      timing.workerMs = Math.round(res.ms);
      timing.wasmMemory = res.memory;
      timing.reads = res.reads || null;
      timing.totalMs = Math.round(performance.now() - startedAt);
      showReport();
      $('result').focus();
    })).catch((err) => {
      if (run !== me) return;
      run = null;
      preview = null;
      $('result').hidden = true;
      showError(err.message, err.messages);
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
    $('copy-text').disabled = true;
    $('timing').textContent = '';
    $('result').hidden = false;
  }

  function showReport() {
    if (!current) return;
    const cur = current;
    if (cur.textVerdict) {
      for (const id of EXPORTS) $(id).disabled = true;
      $('copy-text').disabled = false;
      $('report').removeAttribute('aria-busy');
      $('progress').hidden = true;
      lastProgress = null;
      const rep = $('report');
      rep.textContent = '';
      rep.append(R.renderTextVerdict(cur.textVerdict[lang] || cur.textVerdict.en, lang));
      $('tab-console').hidden = true;
      afterDraw();
      $('result').hidden = false;
      setState('done');
      return;
    }
    $('tab-console').hidden = false;
    if (!cur.texts[lang]) {
      // The worker renders this language's text; draw when it answers (if still current).
      const want = lang;
      cur.run.sections(want).then((s) => { cur.texts[want] = s; if (current === cur && lang === want) showReport(); }, (e) => showError(e.message));
      return;
    }
    for (const id of EXPORTS) $(id).disabled = false;
    $('copy-text').disabled = false;
    $('report').removeAttribute('aria-busy');
    $('progress').hidden = true;
    lastProgress = null;
    R.renderInto($('report'), current.report, lang, current.texts[lang]);
    $('timing').textContent = timing.totalMs != null ? R.t(lang, 'analyzedIn') + ' ' + (timing.totalMs / 1000).toFixed(2) + ' s' : '';
    $('result').hidden = false;
    afterDraw();
    setState('done');
  }

  // ---------------------------------------------------------------- section index, deep links, keys
  function afterDraw() {
    const wrap = $('index-list-wrap');
    wrap.textContent = '';
    wrap.append(R.buildIndex($('report'), lang));
    markCurrent();
    if (!followHash.done) { followHash.done = true; followHash(); }
  }
  const sectionsOnPage = () => Array.from($('report').querySelectorAll('[data-section][id]'));

  // Opens what a deep link names (a section, or a frame line inside one) and scrolls to it.
  function jumpTo(id, push) {
    if (!id) return false;
    if (id === 'console') { showTab('console', push); return true; }
    const el = document.getElementById(id);
    if (!el || !$('report').contains(el)) return false;
    showTab('report', false);
    for (let d = el.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) d.open = true;
    for (const x of $('report').querySelectorAll('.frame.target')) x.classList.remove('target');
    if (el.classList.contains('frame')) el.classList.add('target');
    el.scrollIntoView({ block: el.classList.contains('frame') ? 'center' : 'start' });
    if (push && location.hash !== '#' + id) history.pushState(null, '', '#' + id);
    const sec = el.closest('[data-section]');
    if (sec) { markCurrent(sec.id); pinned = { id: sec.id, y: window.scrollY }; }
    return true;
  }
  function followHash() { return jumpTo(decodeURIComponent(location.hash.slice(1)), false); }

  // The section a jump went to stays marked until the reader scrolls away from it (near the
  // end of the page a short section cannot reach the top of the window).
  let pinned = null;
  function onScroll() {
    if (root.dataset.state !== 'done') return;
    if (pinned && Math.abs(window.scrollY - pinned.y) < 8) return;
    pinned = null;
    markCurrent();
  }

  function markCurrent(id) {
    const links = $('index-list-wrap').querySelectorAll('a');
    if (!id) {
      // The last section whose top has reached the top of the window.
      const y = 90;
      let best = null;
      for (const s of sectionsOnPage()) if (s.getBoundingClientRect().top <= y) best = s;
      id = best ? best.id : (sectionsOnPage()[0] || {}).id;
    }
    for (const a of links) {
      if (a.dataset.target === id) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    }
  }

  function stepSection(delta) {
    const secs = sectionsOnPage();
    if (!secs.length) return;
    const cur = ($('index-list-wrap').querySelector('a[aria-current]') || {}).dataset;
    let i = secs.findIndex((s) => cur && s.id === cur.target);
    i = Math.max(0, Math.min(secs.length - 1, (i < 0 ? -1 : i) + delta));
    jumpTo(secs[i].id, true);
  }

  function onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || root.dataset.state !== 'done') return;
    const tag = (e.target && e.target.tagName) || '';
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(tag) || (e.target && e.target.isContentEditable)) return;
    const k = e.key;
    if (k === 'j' || k === ']') stepSection(1);
    else if (k === 'k' || k === '[') stepSection(-1);
    else if (/^[1-9]$/.test(k)) { const s = sectionsOnPage()[+k - 1]; if (s) jumpTo(s.id, true); else return; }
    else if (k === '/') { const q = $('report').querySelector('[data-testid="log-search"]'); if (!q) return; jumpTo(q.closest('[data-section]').id, true); q.focus(); }
    else if (k === 'c' && !$('tab-console').hidden) showTab('console', true);
    else if (k === 'r') showTab('report', true);
    else return;
    e.preventDefault();
  }

  // ---------------------------------------------------------------- tabs
  function showTab(which, push) {
    const con = which === 'console';
    $('tab-report').setAttribute('aria-selected', String(!con));
    $('tab-console').setAttribute('aria-selected', String(con));
    $('report-panel').hidden = con;
    $('console').hidden = !con;
    root.dataset.tab = which;
    if (con) {
      openConsole().catch(() => {});
      $('tabs').scrollIntoView({ block: 'start' });
      $('console-input').focus({ preventScroll: true });
      if (push && location.hash !== '#console') history.pushState(null, '', '#console');
    } else if (push && location.hash === '#console') history.pushState(null, '', location.pathname + location.search);
  }

  // ---------------------------------------------------------------- console
  // Commands run in the analysis worker (wasm consoleRun): the text is `crashlens shell`'s.
  const con = { opened: null, history: [], at: 0, draft: '', queue: Promise.resolve() };
  function resetConsole() {
    con.opened = null;
    con.history = [];
    con.at = 0;
    $('console-log').textContent = '';
    $('console').dataset.consoleState = 'closed';
    hideCompletions();
    if (root.dataset.tab === 'console') showTab('report', false);
  }
  function openConsole() {
    if (!current || !current.run || current.textVerdict) return Promise.reject(new Error('no dump'));
    if (!con.opened) {
      const panel = $('console');
      panel.dataset.consoleState = 'opening';
      const note = R.h('p', { class: 'notice', 'data-opening': '' }, R.h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', R.t(lang, 'consoleOpening'));
      $('console-log').append(note);
      const run = current.run;
      con.opened = run.console('open').then(() => {
        note.remove();
        if (current && current.run === run) panel.dataset.consoleState = 'idle';
      }, (e) => {
        note.remove();
        addEntry('', e.message, true);
        panel.dataset.consoleState = 'error';
        throw e;
      });
    }
    return con.opened;
  }
  function addEntry(line, text, error) {
    const log = $('console-log');
    const prev = log.querySelector('[data-testid="console-output"]');
    if (prev) prev.removeAttribute('data-testid');
    const out = R.h('pre', { class: 'block console-out' + (error ? ' error-text' : ''), 'data-testid': 'console-output', 'data-command': line, 'data-error': error ? 'true' : 'false' }, text);
    const entry = R.h('div', { class: 'console-entry' }, R.h('div', { class: 'console-cmd mono' }, R.h('span', { class: 'prompt' }, 'crash> '), line), out);
    log.append(entry);
    // The new output starts at the top of the console's view, the prompt below it in view.
    log.scrollTop = entry.offsetTop;
    $('console-form').scrollIntoView({ block: 'nearest' });
    return out;
  }
  function runCommand(line) {
    line = line.trim();
    if (!line) return;
    if (con.history[con.history.length - 1] !== line) con.history.push(line);
    con.at = con.history.length;
    con.draft = '';
    const panel = $('console');
    const run = current && current.run;
    panel.dataset.consoleState = 'busy';
    con.queue = con.queue.then(() => openConsole()).then(() => run.console('run', line)).then((o) => {
      if (!current || current.run !== run) return;
      addEntry(line, o.text, o.error);
    }, (e) => {
      if (!current || current.run !== run) return;
      addEntry(line, e.message, true);
    }).then(() => { if (current && current.run === run) panel.dataset.consoleState = 'idle'; });
  }
  function hideCompletions() { const u = $('console-complete'); u.hidden = true; u.textContent = ''; }
  function complete() {
    const input = $('console-input');
    const line = input.value;
    const run = current && current.run;
    if (!run) return;
    openConsole().then(() => run.console('complete', line)).then((names) => {
      if (input.value !== line) return;
      const u = $('console-complete');
      hideCompletions();
      if (!names || !names.length) return;
      const m = /(\S*)$/.exec(line);
      const word = m ? m[1] : '';
      const head = line.slice(0, line.length - word.length);
      let common = names[0];
      for (const n of names) { let i = 0; while (i < common.length && common[i] === n[i]) i++; common = common.slice(0, i); }
      if (names.length === 1) { input.value = head + names[0] + ' '; return; }
      if (common.length > word.length) input.value = head + common;
      for (const n of names) {
        const li = R.h('li', null, R.h('button', { type: 'button', class: 'secondary mono' }, n));
        li.firstChild.addEventListener('click', () => { input.value = head + n + ' '; hideCompletions(); input.focus(); });
        u.append(li);
      }
      u.hidden = false;
    }, () => {});
  }
  function initConsole() {
    const input = $('console-input');
    $('console-form').addEventListener('submit', (e) => { e.preventDefault(); const l = input.value; input.value = ''; hideCompletions(); runCommand(l); });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowUp') {
        if (!con.history.length) return;
        if (con.at === con.history.length) con.draft = input.value;
        con.at = Math.max(0, con.at - 1);
        input.value = con.history[con.at];
      } else if (e.key === 'ArrowDown') {
        if (con.at >= con.history.length) return;
        con.at++;
        input.value = con.at === con.history.length ? con.draft : con.history[con.at];
      } else if (e.key === 'Tab' && !e.shiftKey) {
        complete();
      } else if (e.key === 'Escape') {
        hideCompletions();
        return;
      } else return;
      e.preventDefault();
      const n = input.value.length;
      input.setSelectionRange(n, n);
    });
    input.addEventListener('input', hideCompletions);
  }

  async function copyToClipboard(text) {
    try { await navigator.clipboard.writeText(text); return true; } catch (_) { /* fall back */ }
    const ta = R.h('textarea', { 'aria-hidden': 'true' }, text);
    ta.style.position = 'fixed';
    ta.style.left = '-9999px';
    document.body.append(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
    ta.remove();
    return ok;
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
    // The whole report as the CLI's `crashlens report --lang <lang>` text (from the worker); for a
    // console log, the `crashlens oops` text.
    const copyText = $('copy-text');
    copyText.addEventListener('click', () => {
      if (!current) return;
      const text = current.textVerdict ? Promise.resolve((current.textVerdict[lang] || current.textVerdict.en).text) : current.run.render('text', lang);
      text.then((t) => copyToClipboard(t)).then((ok) => {
        if (!ok) return;
        copyText.textContent = R.t(lang, 'copied');
        setTimeout(() => { copyText.textContent = R.t(lang, 'copyText'); }, 1500);
      }, (e) => showError(e.message));
    });
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && run) cancel(); });
    document.addEventListener('keydown', onKey);
    window.addEventListener('hashchange', followHash);
    window.addEventListener('popstate', () => { if (!location.hash) showTab('report', false); });
    window.addEventListener('scroll', onScroll, { passive: true });
    $('tab-report').addEventListener('click', () => showTab('report', true));
    $('tab-console').addEventListener('click', () => showTab('console', true));
    // The index: a sticky sidebar on wide screens, a menu on phones (the toggle).
    const toggle = $('index-toggle');
    toggle.addEventListener('click', () => {
      const open = $('index').classList.toggle('open');
      toggle.setAttribute('aria-expanded', String(open));
    });
    $('index').addEventListener('click', (e) => {
      const a = e.target.closest && e.target.closest('a[data-target]');
      if (!a) return;
      e.preventDefault();
      jumpTo(a.dataset.target, true);
      $('index').classList.remove('open');
      toggle.setAttribute('aria-expanded', 'false');
    });
    // A click on a frame line of a backtrace makes it the deep link.
    $('report').addEventListener('click', (e) => {
      const f = e.target.closest && e.target.closest('.frame[id]');
      if (f && !window.getSelection().toString()) jumpTo(f.id, true);
    });
    initConsole();

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
    R.prepare(makeWorker, WASM_URL, analyzerReady);
  }
  function analyzerReady() { root.dataset.analyzer = 'ready'; }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();

// <crash-lens>: the analyzer as a custom element, for support documents.
//
//   <script src="https://docs.example.com/crashlens/crash-lens.js"></script>
//   <crash-lens lang="zh" src="samples/vmcore.elf"></crash-lens>
//
// The script must be served from the same origin as the page (browsers start workers only from
// the page's origin); it starts worker.js from the directory it was loaded from. Attributes:
//   lang    en | zh (default: the browser's language)
//   src     optional URL of a dump to analyse at once (e.g. a bundled sample)
//   worker  optional URL of worker.js (default: beside crash-lens.js)
// The element carries data-state = idle | working | done | error, has `.report` (the model) and
// `.analyze(file)`, and fires `crashlens-done` / `crashlens-error` events.
// Built into dist/crash-lens.js (with render.js and the CSS) by scripts/pack-web.mjs.
/* global CrashlensRender */
'use strict';
(function () {
  if (typeof customElements === 'undefined' || customElements.get('crash-lens')) return;
  const R = CrashlensRender;
  const SCRIPT_URL = (document.currentScript && document.currentScript.src) || location.href;
  const CSS = (self.CRASHLENS_ELEMENT_CSS || '').replace(/:root/g, ':host').replace(/html, body \{[^}]*\}/, '') +
    '\n:host { display: block; background: var(--bg); color: var(--fg); border-radius: 12px; padding: 12px; ' +
    'font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", "PingFang SC", sans-serif; }\n[hidden] { display: none !important; }';

  class CrashLens extends HTMLElement {
    constructor() {
      super();
      this.report = null;
      this._json = null;
      this._name = null;
      this._run = null;
      const root = this.attachShadow({ mode: 'open' });
      const l = this._lang();
      const h = R.h;
      // A constructed stylesheet is CSSOM, so a strict style-src on the host page allows it.
      let style = null;
      try {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } catch (_) {
        style = document.createElement('style');
        style.textContent = CSS;
      }
      this._input = h('input', { type: 'file', class: 'visually-hidden', id: 'in', 'data-testid': 'dump-input', 'aria-label': R.t(l, 'dropLabel') });
      this._drop = h('div', { class: 'drop' },
        h('p', null, this._input, h('label', { for: 'in', class: 'button' }, R.t(l, 'choose')), ' ', h('span', null, R.t(l, 'dropHereBox'))),
        h('p', { class: 'hint' }, R.t(l, 'dropHint')));
      this._phase = h('span', { class: 'phase' });
      this._bar = h('progress', { 'aria-label': R.t(l, 'analyzing') });
      this._bytes = h('span', { class: 'bytes' });
      this._cancel = h('button', { type: 'button', class: 'secondary', 'data-testid': 'cancel' }, R.t(l, 'cancel'));
      this._progress = h('div', { class: 'progress', hidden: true, 'aria-live': 'polite' }, h('div', { class: 'row' }, this._phase, this._bar, this._bytes, this._cancel));
      this._error = h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'error' });
      const btn = (id, key, fn) => { const b = h('button', { type: 'button', 'data-testid': id }, R.t(l, key)); b.addEventListener('click', fn); return b; };
      this._exports = [
        btn('export-json', 'exportJson', () => this._export('json')),
        btn('export-md', 'exportMd', () => this._export('md')),
        btn('export-html', 'exportHtml', () => this._export('html'))];
      this._result = h('div', { hidden: true },
        h('div', { class: 'toolbar' }, ...this._exports),
        this._report = h('div', { 'data-testid': 'report' }));
      root.append(...(style ? [style] : []), this._drop, this._progress, this._error, this._result);

      this._input.addEventListener('change', () => { if (this._input.files.length) this.analyze(this._input.files[0]); this._input.value = ''; });
      this._cancel.addEventListener('click', () => this.cancel());
      this._drop.addEventListener('dragover', (e) => { e.preventDefault(); this._drop.classList.add('over'); });
      this._drop.addEventListener('dragleave', () => this._drop.classList.remove('over'));
      this._drop.addEventListener('drop', (e) => {
        e.preventDefault();
        this._drop.classList.remove('over');
        if (e.dataTransfer && e.dataTransfer.files.length) this.analyze(e.dataTransfer.files[0]);
      });
    }

    connectedCallback() {
      // Attributes may not be set in the constructor of a parser-created element.
      if (!this.dataset.state) this._setState('idle');
      const src = this.getAttribute('src');
      if (src && !this._loaded) {
        this._loaded = true;
        this._setState('working');
        fetch(new URL(src, document.baseURI)).then((r) => {
          if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
          return r.blob();
        }).then((b) => this.analyze(new File([b], src.split('/').pop() || 'vmcore')), (e) => this._fail(src + ': ' + e.message));
      }
    }

    _lang() {
      const a = (this.getAttribute('lang') || navigator.language || 'en').toLowerCase();
      return a.startsWith('zh') ? 'zh' : 'en';
    }
    _setState(s) { this.dataset.state = s; }
    _fail(msg) {
      this._setState('error');
      this._progress.hidden = true;
      this._error.textContent = msg;
      this._error.hidden = false;
      this.dispatchEvent(new CustomEvent('crashlens-error', { detail: { message: msg }, bubbles: true }));
    }
    _showProgress(p) {
      const l = this._lang();
      const phase = R.t(l, 'phase_' + p.phase);
      this._phase.textContent = phase.startsWith('phase_') ? p.phase : phase;
      if (p.file_size > 0) {
        this._bar.max = p.file_size;
        this._bar.value = Math.min(p.bytes_read || 0, p.file_size);
        this._bytes.textContent = R.bytes(p.bytes_read || 0) + ' / ' + R.bytes(p.file_size);
      }
    }

    /** Analyses a File or Blob; resolves to the report model. */
    analyze(file) {
      this.cancel();
      const l = this._lang();
      this.report = null;
      this._name = file.name;
      this._error.hidden = true;
      this._result.hidden = true;
      this._progress.hidden = false;
      this._setState('working');
      this._showProgress({ phase: 'loading', bytes_read: 0, file_size: file.size });
      const workerUrl = this.getAttribute('worker') || new URL('worker.js', SCRIPT_URL).href;
      // Parts of the report are shown as they become ready; exports wait for the whole one.
      const onPart = (p) => {
        if (this._run !== run) return;
        this._report.textContent = '';
        this._report.append(R.renderReport(p.report, l));
        this._exports.forEach((b) => { b.disabled = true; });
        this._result.hidden = false;
      };
      const run = (this._run = R.startAnalysis(file, () => new Worker(workerUrl), (p) => { if (this._run === run) this._showProgress(p); }, l, onPart));
      return run.done.then((res) => {
        if (this._run !== run) return null;
        this._run = null;
        this.report = res.report;
        this._json = res.json;
        this._report.textContent = '';
        this._report.append(R.renderReport(res.report, l));
        this._exports.forEach((b) => { b.disabled = false; });
        this._progress.hidden = true;
        this._result.hidden = false;
        this._setState('done');
        this.dispatchEvent(new CustomEvent('crashlens-done', { detail: { report: res.report }, bubbles: true }));
        return res.report;
      }, (err) => {
        if (this._run !== run) return null;
        this._run = null;
        this._result.hidden = true;
        this._fail(err.message);
        return null;
      });
    }

    /** Stops a running analysis (terminates its worker). */
    cancel() {
      if (!this._run) return;
      this._run.cancel();
      this._run = null;
      this._progress.hidden = true;
      this._result.hidden = true;
      this._setState('idle');
    }

    _export(kind) {
      if (!this.report) return;
      const l = this._lang();
      const name = R.exportName(this._name);
      if (kind === 'json') R.download(this._json, 'application/json', name + '.json');
      else if (kind === 'md') R.download(R.toMarkdown(this.report, l), 'text/markdown', name + '.md');
      else R.download(R.toHtml(this.report, l, this._json), 'text/html', name + '.html');
    }
  }
  customElements.define('crash-lens', CrashLens);
})();

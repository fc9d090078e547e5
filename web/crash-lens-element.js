// <crash-lens>: the analyzer as a custom element, for support documents.
//
//   <script src="https://docs.example.com/crashlens/crash-lens.js"></script>
//   <crash-lens lang="zh" src="samples/vmcore.elf"></crash-lens>
//
// The analyzer's files (crash-lens.js, crashlens.js, crashlens_bg.wasm, worker.js) stay together
// on one host. From the page's own origin the element starts worker.js directly. From another
// origin (a support site embedding the hosted analyzer) browsers refuse a worker script of that
// origin, so the element starts a tiny Blob worker that importScripts() the analyzer from its
// host; the wasm is then fetched across origins, so that host must send
// `Access-Control-Allow-Origin` (GitHub Pages and most static hosts send `*`), and a page with a
// CSP must allow `script-src <host> 'wasm-unsafe-eval'; connect-src <host>; worker-src blob:`.
// Attributes:
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

  // One Blob URL per worker script of another origin (a few bytes; kept for the page's life).
  const bootstraps = new Map();
  function makeWorker(url) {
    if (url.origin === location.origin) return new Worker(url.href);
    let boot = bootstraps.get(url.href);
    if (!boot) {
      const base = new URL('.', url).href;
      const code = 'self.CRASHLENS_BASE = ' + JSON.stringify(base) + ';\n' +
        'importScripts(' + JSON.stringify(new URL('crashlens.js', base).href) + ', ' + JSON.stringify(url.href) + ');\n';
      boot = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
      bootstraps.set(url.href, boot);
    }
    return new Worker(boot);
  }

  class CrashLens extends HTMLElement {
    constructor() {
      super();
      this.report = null;
      this._json = null;
      this._name = null;
      this._run = null;
      const root = this.attachShadow({ mode: 'open' });
      const h = R.h;
      // Texts are set by _label(): a parser-created element gets its attributes (lang) only
      // after the constructor, so the language is known at connectedCallback.
      const say = (el, key, attr) => { (this._texts || (this._texts = [])).push([el, key, attr]); return el; };
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
      this._input = say(h('input', { type: 'file', class: 'visually-hidden', id: 'in', 'data-testid': 'dump-input' }), 'dropLabel', 'aria-label');
      this._drop = h('div', { class: 'drop' },
        h('p', null, this._input, say(h('label', { for: 'in', class: 'button' }), 'choose'), ' ', say(h('span'), 'dropHereBox')),
        say(h('p', { class: 'hint' }), 'dropHint'));
      this._phase = h('span', { class: 'phase' });
      this._bar = say(h('progress'), 'analyzing', 'aria-label');
      this._bytes = h('span', { class: 'bytes' });
      this._cancel = say(h('button', { type: 'button', class: 'secondary', 'data-testid': 'cancel' }), 'cancel');
      this._progress = h('div', { class: 'progress', hidden: true, 'aria-live': 'polite' }, h('div', { class: 'row' }, this._phase, this._bar, this._bytes, this._cancel));
      this._error = h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'error' });
      const btn = (id, key, fn) => { const b = say(h('button', { type: 'button', 'data-testid': id }), key); b.addEventListener('click', fn); return b; };
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

    static get observedAttributes() { return ['lang']; }
    attributeChangedCallback() { this._label(); }

    /** Sets the element's texts in its language; a report shown is drawn again in it. */
    _label() {
      const l = this._lang();
      for (const [el, key, attr] of this._texts) {
        if (attr) el.setAttribute(attr, R.t(l, key));
        else el.textContent = R.t(l, key);
      }
      if (this.report && !this._run) this._draw(l);
    }

    connectedCallback() {
      // Attributes may not be set in the constructor of a parser-created element.
      this._label();
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

    /** Draws the report in `l`, asking the worker for that language's text when not yet had. */
    _draw(l) {
      const done = this._done;
      if (!done) return;
      if (done.texts[l]) { R.renderInto(this._report, this.report, l, done.texts[l]); return; }
      done.run.sections(l).then((s) => { done.texts[l] = s; if (this._done === done && this._lang() === l) this._draw(l); }, (e) => this._fail(e.message));
    }

    /** The worker script's URL, and one stable function that starts it (so a spare one started
     *  ahead of time is used by the next analysis). */
    _workerMaker() {
      const url = new URL(this.getAttribute('worker') || 'worker.js', SCRIPT_URL);
      if (!this._maker || this._makerUrl !== url.href) {
        this._makerUrl = url.href;
        this._maker = () => makeWorker(url);
      }
      return { maker: this._maker, wasmUrl: new URL('crashlens_bg.wasm', url).href };
    }

    /** Analyses a File or Blob; resolves to the report model. */
    analyze(file) {
      this.cancel();
      if (this._done) { this._done.run.cancel(); this._done = null; }
      const l = this._lang();
      this.report = null;
      this._name = file.name;
      this._report.textContent = ''; // nothing of the last report carries over
      this._error.hidden = true;
      this._result.hidden = true;
      this._progress.hidden = false;
      this._setState('working');
      this._showProgress({ phase: 'loading', bytes_read: 0, file_size: file.size });
      const { maker, wasmUrl } = this._workerMaker();
      // Parts of the report are shown as they become ready; exports wait for the whole one.
      const onPart = (p) => {
        if (this._run !== run) return;
        R.renderInto(this._report, p.report, l, p.sections && p.sections[l]);
        this._exports.forEach((b) => { b.disabled = true; });
        this._result.hidden = false;
      };
      const run = (this._run = R.startAnalysis(file, maker, (p) => { if (this._run === run) this._showProgress(p); }, l, onPart, { wasmUrl }));
      return run.done.then((res) => (res.textVerdict ? { res, sections: null } : run.sections(l).then((sections) => ({ res, sections })))).then(({ res, sections }) => {
        if (this._run !== run) return null;
        this._run = null;
        if (res.textVerdict) {
          // A console log (vmcore-dmesg.txt): the verdict from its text alone; no exports.
          this._report.textContent = '';
          this._report.append(R.renderTextVerdict(res.textVerdict[l] || res.textVerdict.en, l));
          this._progress.hidden = true;
          this._result.hidden = false;
          this._setState('done');
          this.dispatchEvent(new CustomEvent('crashlens-done', { detail: { textVerdict: res.textVerdict }, bubbles: true }));
          return null;
        }
        this.report = res.report;
        this._json = res.json;
        this._done = { run, texts: { [l]: sections } };
        R.renderInto(this._report, res.report, l, sections);
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
        this._fail((err.messages && err.messages[l]) || err.message);
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
      if (kind === 'json') { R.download(this._json, 'application/json', name + '.json'); return; }
      // Markdown and HTML: `crashlens report --format md|html`, rendered by the worker.
      const [type, ext] = kind === 'md' ? ['text/markdown', '.md'] : ['text/html', '.html'];
      this._done.run.render(kind, l).then((text) => R.download(text, type, name + ext), (e) => this._fail(e.message));
    }
  }
  customElements.define('crash-lens', CrashLens);
})();

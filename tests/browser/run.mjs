// Headless-Chromium tests of the built page (dist/), with the real fixture dumps.
//   node tests/browser/run.mjs            (scripts/test.sh runs it after building dist/)
// Env: CRASHLENS_DIST (default <repo>/dist), CRASHLENS_FIXTURES (default <repo>/../shared/fixtures),
//      CRASHLENS_SINGLE (the single-file build, default <repo>/dist-single/crashlens.html),
//      CHROMIUM (default /usr/bin/chromium), ONLY=<substring of a test name> (default: every test).
// Screenshots and exports go to tests/artifacts/ (gitignored). Exit code 1 if any test fails.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serve } from './serve.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const DIST = process.env.CRASHLENS_DIST || path.join(ROOT, 'dist');
const SINGLE = process.env.CRASHLENS_SINGLE || path.join(ROOT, 'dist-single', 'crashlens.html');
const FIXTURES = process.env.CRASHLENS_FIXTURES || path.join(ROOT, '..', 'shared', 'fixtures');
const ART = path.join(ROOT, 'tests', 'artifacts');
const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'crashlens');
fs.mkdirSync(ART, { recursive: true });

// ------------------------------------------------------------------ fixtures
/** The decompressed ELF of a fixture (made with the zstd CLI if absent), or null. */
function fixtureElf(name) {
  const elf = path.join(CACHE, `${name}.elf`);
  if (fs.existsSync(elf) && fs.statSync(elf).size > 0) return elf;
  const zst = path.join(FIXTURES, name, 'vmcore.elf.zst');
  if (!fs.existsSync(zst)) return null;
  fs.mkdirSync(CACHE, { recursive: true });
  execFileSync('zstd', ['-q', '-d', '-f', zst, '-o', elf + '.tmp']);
  fs.renameSync(elf + '.tmp', elf);
  return elf;
}
function facts(name) {
  const p = path.join(FIXTURES, name, 'facts.json');
  return fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, 'utf8')) : null;
}

// ------------------------------------------------------------------ harness
const results = [];
const tests = [];
const test = (name, fn) => tests.push({ name, fn });
class Skip extends Error {}
const skip = (why) => { throw new Skip(why); };
function assert(cond, msg) { if (!cond) throw new Error('assertion failed: ' + msg); }
function eq(a, b, msg) { if (a !== b) throw new Error(`${msg}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`); }

const CHROME_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function withBrowser(fn, { locale = 'en-US', colorScheme = 'light' } = {}) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlens-chromium-'));
  const ctx = await chromium.launchPersistentContext(userDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROME_ARGS,
    locale,
    colorScheme,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

async function withServer(fn, onRequest, prefix) {
  if (!fs.existsSync(path.join(DIST, 'index.html'))) throw new Error(`${DIST}/index.html missing: run scripts/build-web.sh`);
  const { server, url } = await serve(DIST, { onRequest, prefix });
  try { return await fn(url); } finally { server.close(); }
}

async function shot(page, name) {
  const file = path.join(ART, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Sets the file input and waits for data-state done|error; returns ms from set to summary. */
async function analyze(page, file, want = 'done') {
  await page.waitForSelector('html[data-state="idle"]');
  const t0 = Date.now();
  await page.setInputFiles('[data-testid="dump-input"]', file);
  await page.waitForSelector('html[data-state="done"], html[data-state="error"]', { timeout: 180000 });
  const ms = Date.now() - t0;
  const state = await page.getAttribute('html', 'data-state');
  if (state !== want) {
    const err = await page.textContent('[data-testid="error"]');
    throw new Error(`data-state is ${state}, wanted ${want} (error shown: ${err})`);
  }
  return ms;
}

const field = (page, f) => page.textContent(`[data-section="summary"] [data-field="${f}"]`);

async function checkSummary(page, fx) {
  eq((await field(page, 'kernel.release')).trim(), fx.kernel_release, 'release');
  eq((await field(page, 'panic.pid')).trim(), String(fx.crashing_pid), 'PID');
  eq((await field(page, 'panic.comm')).trim(), fx.crashing_comm, 'comm');
  eq((await field(page, 'panic.cpu')).trim(), String(fx.crashing_cpu), 'CPU');
  eq((await field(page, 'panic.message')).trim(), fx.panic_message_first_line, 'panic message');
  eq((await field(page, 'panic.panic_string')).trim(), fx.panic_line, 'panic line');
  assert(/^[0-9a-f]{40}$/.test((await field(page, 'kernel.build_id')).trim()), 'build id is 40 hex digits');
  eq((await field(page, 'cpus')).trim(), '2', 'CPUs');
}

// ------------------------------------------------------------------ tests
const NULL = 'linux-6.1-cloud-null';
const measured = {};

/** The 6.1 NULL-dereference fixture: its ELF and facts, or the test is skipped. */
function nullFixture() {
  const elf = fixtureElf(NULL);
  const fx = facts(NULL);
  if (!elf || !fx) skip(`fixture ${NULL} not found under ${FIXTURES}`);
  return { elf, fx };
}

/** `fn(page, url, ctx)` on a fresh tab of the hosted build, served for this test. */
function onHostedPage(fn) {
  return withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(url);
    return fn(page, url, ctx);
  }));
}

test('hosted: real 6.1 dump through the file input shows the summary', async () => {
  const { elf, fx } = nullFixture();
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await shot(page, 'hosted-idle');
    const ms = await analyze(page, elf);
    measured.dropToSummaryMs = ms;
    measured.pageTiming = await page.evaluate(() => window.crashlensTiming);
    assert(measured.pageTiming.wasmMemory > 0, 'the worker reports the wasm memory size');
    await checkSummary(page, fx);
    // The log view shows the oops, read from the dump's memory.
    const log = await page.textContent('[data-field="log"]');
    assert(log.includes(fx.oops_line), 'log contains the Oops line');
    await shot(page, 'hosted-done');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'hosted-done-phone');
    eq(errors.length, 0, 'page errors ' + errors.join('; '));
  }));
});

test('hosted: results appear part by part while the worker runs (summary, then verdict, then every CPU)', async () => {
  const { elf, fx } = nullFixture();
  await onHostedPage(async (page) => {
    await page.waitForSelector('html[data-state="idle"]');
    // Record what the report area shows each time it changes while the analysis is running.
    await page.evaluate(() => {
      window.partSnapshots = [];
      const rep = document.getElementById('report');
      new MutationObserver(() => {
        if (document.documentElement.dataset.state !== 'working' || !rep.firstChild) return;
        const secs = [...rep.querySelectorAll('[data-section]')];
        window.partSnapshots.push({
          sections: secs.map((e) => e.dataset.section),
          pending: secs.filter((e) => e.dataset.pending).map((e) => e.dataset.section),
          culprit: (rep.querySelector('[data-field="culprit"]') || {}).textContent || null,
          release: (rep.querySelector('[data-field="kernel.release"]') || {}).textContent || null,
          exportsDisabled: document.querySelector('[data-testid="export-json"]').disabled,
          phase: document.getElementById('phase').textContent,
          html: rep.innerHTML,
        });
      }).observe(rep, { childList: true });
    });
    await analyze(page, elf);
    const snaps = await page.evaluate(() => window.partSnapshots);
    assert(snaps.length >= 3, `at least three parts shown while working, got ${snaps.length}`);
    const first = snaps[0];
    eq(first.release && first.release.trim(), fx.kernel_release, 'the first part already names the kernel');
    assert(first.pending.includes('verdict') && first.pending.includes('backtrace') && first.pending.includes('log'), 'first part: verdict, backtrace and log pending: ' + first.pending);
    assert(snaps.every((s) => s.exportsDisabled), 'exports wait for the whole report');
    const verdictEarly = snaps.find((s) => !s.pending.includes('verdict'));
    assert(verdictEarly, 'the verdict is shown while the analysis still runs');
    assert(verdictEarly.culprit && verdictEarly.culprit.includes('fixture_null_deref'), 'early verdict names the culprit: ' + verdictEarly.culprit);
    eq(verdictEarly.pending.join(','), 'cpu_traces', 'only the other CPUs remain');
    // The finished page has no placeholders left and the exports enabled.
    eq(await page.$$eval('[data-pending]', (e) => e.length), 0, 'placeholders left');
    eq(await page.$eval('[data-testid="export-json"]', (b) => b.disabled), false, 'exports enabled');
    const t = await page.evaluate(() => window.crashlensTiming);
    assert(t.firstPartMs != null && t.firstPartMs <= t.verdictMs && t.verdictMs <= t.totalMs, 'first part <= verdict <= whole: ' + JSON.stringify(t));
    measured.parts = { firstPartMs: t.firstPartMs, verdictMs: t.verdictMs, totalMs: t.totalMs };
    // A picture of the first part, as the user saw it.
    await page.evaluate((html) => { document.getElementById('report').innerHTML = html; }, first.html);
    await shot(page, 'hosted-first-part');
  });
});

test('hosted: a module .ko picked with the dump sharpens the verdict (field name, source line)', async () => {
  const elf = fixtureElf(NULL);
  const ko = path.join(FIXTURES, NULL, 'vmcore_fixture.ko');
  if (!elf || !fs.existsSync(ko)) skip(`fixture ${NULL} or its .ko not found under ${FIXTURES}`);
  await onHostedPage(async (page) => {
    await analyze(page, [elf, ko]);
    const text = await page.evaluate(() => document.body.innerText);
    assert(text.includes('struct victim.field'), 'the field at the faulting offset is named from the .ko DWARF');
    assert(text.includes('vmcore_fixture.c:46'), 'the faulting source line is shown');
  });
});

test('hosted: "try a sample" analyses the bundled reference-case dump', async () => {
  await onHostedPage(async (page) => {
    await page.waitForSelector('html[data-state="idle"]');
    await page.click('[data-testid="sample"]');
    await page.waitForSelector('html[data-state="done"], html[data-state="error"]', { timeout: 180000 });
    eq(await page.getAttribute('html', 'data-state'), 'done', 'the sample is analysed');
    const text = await page.evaluate(() => document.body.innerText);
    assert(text.includes('lab_read'), 'the culprit of the reference case is named');
    assert(text.includes('__free_pages'), 'the faulting function is named');
    eq((await field(page, 'panic.comm')).trim(), 'nginx', 'the task is nginx');
    await shot(page, 'hosted-sample');
  });
});

test('hosted: a file that is not a dump gives a plain error and data-state=error', async () => {
  const junk = path.join(os.tmpdir(), 'crashlens-not-a-dump.txt');
  fs.writeFileSync(junk, 'this is a text file, not a vmcore\n'.repeat(100));
  await onHostedPage(async (page) => {
    await analyze(page, junk, 'error');
    const msg = (await page.textContent('[data-testid="error"]')).trim();
    assert(/not a crash dump/i.test(msg), 'error names the problem: ' + msg);
    assert(!msg.includes('\n') && msg.length < 300, 'one short sentence: ' + msg);
    assert(await page.isVisible('[data-testid="error"]'), 'error is visible');
    await shot(page, 'hosted-not-a-dump');
  });
});

test('hosted: exports download and parse (JSON, Markdown, HTML)', async () => {
  const { elf, fx } = nullFixture();
  await onHostedPage(async (page, url, ctx) => {
    await analyze(page, elf);
    const grab = async (id) => {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid="${id}"]`)]);
      const file = path.join(ART, 'export-' + dl.suggestedFilename());
      await dl.saveAs(file);
      return { file, text: fs.readFileSync(file, 'utf8') };
    };
    const j = await grab('export-json');
    const r = JSON.parse(j.text);
    eq(r.kernel.release, fx.kernel_release, 'JSON kernel.release');
    eq(r.panic.pid, fx.crashing_pid, 'JSON panic.pid');
    eq(r.panic.comm, fx.crashing_comm, 'JSON panic.comm');
    assert(Array.isArray(r.log) && r.log.length > 100, 'JSON has the log');
    // What the model holds, the page shows (sections other helpers add appear once the core has them).
    const text = async (sel) => ((await page.$(sel)) ? (await page.textContent(sel)) : null);
    if (r.panic.title) assert((await text('[data-field="verdict.headline"]')).includes(r.panic.title), 'verdict headline holds panic.title');
    if (r.culprit && r.culprit.function) assert((await text('[data-field="culprit"]') || '').includes(r.culprit.function), 'culprit shown');
    // The narrative as the CLI prints it: wrapped at 96 columns.
    const flat = (x) => x.replace(/\s+/g, ' ').trim();
    if (r.narrative && r.narrative.en) eq(flat(await text('[data-field="narrative"]')), flat(r.narrative.en), 'English narrative shown');
    if (Array.isArray(r.backtrace) && r.backtrace.length) {
      const bt = await text('[data-field="backtrace"]');
      for (const f of r.backtrace.filter((f) => f.function)) assert(bt.includes(f.function), 'backtrace shows ' + f.function);
      if (r.backtrace.some((f) => f.function && (f.regs || f.registers))) {
        assert(bt.includes('[exception RIP: '), 'exception RIP block');
        assert(/RIP: [0-9a-f]{16}/.test(await text('[data-field="registers"]')), 'registers section');
      }
    }
    if (Array.isArray(r.modules) && r.modules.length) {
      const mods = await text('[data-section="modules"]');
      for (const m of r.modules) assert(mods.includes(m.name), 'modules table lists ' + m.name);
    }
    if (Array.isArray(r.disassembly) && r.disassembly.some((d) => d.faulting)) {
      assert(await page.$('[data-field="disassembly"] .oops'), 'faulting instruction highlighted');
    }
    const md = await grab('export-md');
    assert(md.text.startsWith('# crashlens'), 'Markdown title');
    assert(md.text.includes(fx.kernel_release) && md.text.includes(fx.panic_message_first_line) && md.text.includes('PID ' + fx.crashing_pid), 'Markdown has the summary');
    assert(md.text.includes(fx.oops_line), 'Markdown has the oops part of the log');
    // Copy: a section's button puts its Markdown on the clipboard.
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
    await page.click('[data-section="backtrace"] [data-copy]');
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    assert(clip.startsWith('```') && clip.includes('[exception RIP: ') && clip.includes(r.culprit.function), 'backtrace copied as Markdown: ' + clip.slice(0, 80));
    await page.click('[data-section="verdict"] [data-copy]');
    assert((await page.evaluate(() => navigator.clipboard.readText())).includes(await text('[data-field="verdict"]')), 'verdict copied with the narrative');
    const html = await grab('export-html');
    assert(!/<script(?![^>]*application\/json)/i.test(html.text), 'exported HTML runs no script');
    const p2 = await ctx.newPage();
    await p2.goto(pathToFileURL(html.file).href);
    eq((await p2.textContent('[data-field="kernel.release"]')).trim(), fx.kernel_release, 'HTML export release');
    const embedded = JSON.parse(await p2.textContent('#crashlens-report'));
    eq(embedded.panic.comm, fx.crashing_comm, 'HTML export embedded JSON');
    await shot(p2, 'export-html');
  });
});

test('hosted: Chinese by browser language, switch to English; dark theme', async () => {
  const { elf, fx } = nullFixture();
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(url);
    eq(await page.getAttribute('html', 'lang'), 'zh-CN', 'default language from navigator.language');
    eq((await page.textContent('label[for="dump-input"]')).trim(), '选择 vmcore 文件…', 'Chinese picker label');
    await analyze(page, elf);
    eq((await page.textContent('[data-section="summary"] .title')).trim(), '概要', 'Chinese summary heading');
    eq((await field(page, 'kernel.release')).trim(), fx.kernel_release, 'release (zh)');
    const zhNarrative = await page.$('[data-field="narrative"]');
    if (zhNarrative) assert(/[\u4e00-\u9fff]/.test(await zhNarrative.textContent()), 'the narrative is in Chinese');
    const zhReason = await page.$('[data-field="culprit.reason"]');
    if (zhReason) assert(/[\u4e00-\u9fff]{4}/.test(await zhReason.textContent()), 'the culprit reason is in Chinese');
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    eq(bg, 'rgb(22, 24, 27)', 'dark background');
    await shot(page, 'hosted-zh-dark');
    // What the reader set survives drawing the report again (language switch, arriving parts).
    await page.fill('[data-testid="log-search"]', 'vmcore_fixture');
    await page.click('[data-section="cpu_traces"] > summary');
    const hits = await page.textContent('.log-tools .count');
    assert(/^[1-9]\d* /.test(hits), 'search hits: ' + hits);
    await page.selectOption('[data-testid="lang"]', 'en');
    // The worker renders the other language's text on the switch; the page redraws when it answers.
    await page.waitForFunction(() => {
      const t = document.querySelector('[data-section="summary"] .title');
      return t && t.textContent.trim() === 'Summary';
    }, null, { timeout: 20000 }).catch(() => {});
    eq((await page.textContent('[data-section="summary"] .title')).trim(), 'Summary', 'English after the switch');
    eq(await page.inputValue('[data-testid="log-search"]'), 'vmcore_fixture', 'log search kept');
    eq((await page.textContent('.log-tools .count')).split(' ')[0], hits.split(' ')[0], 'same hits, in English');
    assert((await page.textContent('.log-tools .count')).includes('matches'), 'count in English');
    eq(await page.$eval('[data-section="cpu_traces"]', (d) => d.open), true, 'opened section stays open');
    eq(await page.getAttribute('html', 'lang'), 'en', 'lang attribute follows');
  }, { locale: 'zh-CN', colorScheme: 'dark' }));
});

test('hosted: keyboard — Tab reaches the named controls, Escape cancels (the worker is terminated)', async () => {
  const elf = fixtureElf(NULL);
  if (!elf) skip(`fixture ${NULL} not found under ${FIXTURES}`);
  await withServer((url) => withBrowser(async (ctx) => {
    // Hold the wasm back so that the worker is surely still busy when we cancel.
    let release;
    const held = new Promise((r) => { release = r; });
    await ctx.route('**/crashlens_bg.wasm', async (route) => { await held; await route.continue(); });
    const page = await ctx.newPage();
    await page.goto(url);
    // Keyboard: the language switch and the file input are reachable with Tab, with names.
    const reached = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => { const e = document.activeElement; return e && (e.dataset.testid || e.id) + ':' + (e.getAttribute('aria-label') || ''); }));
    }
    assert(reached.some((r) => r.startsWith('dump-input:') && r.length > 'dump-input:'.length), 'Tab reaches the named file input: ' + reached.join(', '));
    assert(reached.some((r) => r.startsWith('lang:') && r.length > 'lang:'.length), 'Tab reaches the named language switch: ' + reached.join(', '));
    const workerStarted = page.waitForEvent('worker', { timeout: 10000 });
    await page.setInputFiles('[data-testid="dump-input"]', elf);
    await page.waitForSelector('html[data-state="working"]');
    assert(await page.isVisible('[data-testid="progress"]'), 'progress shown while working');
    const worker = await workerStarted;
    const workerClosed = new Promise((r) => worker.once('close', () => r(true)));
    eq(await page.evaluate(() => document.activeElement && document.activeElement.dataset.testid), 'cancel', 'focus moves to Cancel');
    await page.keyboard.press('Escape'); // keyboard: Escape cancels
    eq(await page.getAttribute('html', 'data-state'), 'idle', 'state after cancel');
    eq(await Promise.race([workerClosed, page.waitForTimeout(5000).then(() => false)]), true, 'the worker was terminated');
    release();
    await page.waitForTimeout(1500);
    eq(await page.getAttribute('html', 'data-state'), 'idle', 'a cancelled analysis never reports');
    assert(!(await page.isVisible('[data-testid="progress"]')), 'progress hidden after cancel');
    await shot(page, 'hosted-cancelled');
  }));
});

test('hosted: privacy — every request stays on the origin, no bodies, nothing stored, CSP blocks the rest', async () => {
  const elf = fixtureElf(NULL);
  if (!elf) skip(`fixture ${NULL} not found under ${FIXTURES}`);
  const serverSaw = [];
  await withServer((url) => withBrowser(async (ctx) => {
    const origin = new URL(url).origin;
    const seen = [];
    ctx.on('request', (req) => seen.push({ url: req.url(), method: req.method(), body: req.postDataBuffer() }));
    const page = await ctx.newPage();
    const violations = [];
    await page.exposeFunction('__cspViolation', (v) => violations.push(v));
    await page.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => window.__cspViolation(e.blockedURI + ' ' + e.violatedDirective)));
    await page.goto(url);
    await analyze(page, elf);
    await page.click('[data-testid="export-json"]').catch(() => {});
    // The page itself cannot reach anything else: the CSP refuses it.
    const attempt = await page.evaluate(() => fetch('http://127.0.0.2:9/leak', { method: 'POST', body: 'x' }).then(() => 'sent', () => 'blocked'));
    eq(attempt, 'blocked', 'cross-origin fetch');
    for (let i = 0; i < 40 && !violations.length; i++) await page.waitForTimeout(50);
    assert(violations.some((v) => v.includes('connect-src')), 'CSP connect-src violation recorded: ' + violations.join(', '));
    const stored = await page.evaluate(async () => ({
      local: localStorage.length, session: sessionStorage.length,
      idb: indexedDB.databases ? (await indexedDB.databases()).length : 0,
      caches: self.caches ? (await caches.keys()).length : 0,
    }));
    eq(JSON.stringify(stored), JSON.stringify({ local: 0, session: 0, idb: 0, caches: 0 }), 'nothing stored');
    const outside = seen.filter((r) => !(r.url.startsWith(origin + '/') || r.url.startsWith('blob:' + origin) || r.url.startsWith('data:')));
    // The deliberate CSP probe above is refused before it is sent; it must not reach the network.
    const leaked = outside.filter((r) => !r.url.startsWith('http://127.0.0.2:9/'));
    eq(leaked.length, 0, 'requests leaving the origin: ' + leaked.map((r) => r.url).join(', '));
    const withBody = seen.filter((r) => r.body && r.body.length && !r.url.startsWith('http://127.0.0.2:9/'));
    eq(withBody.length, 0, 'requests carrying a body');
    fs.writeFileSync(path.join(ART, 'privacy-requests.json'), JSON.stringify({ browser: seen.map((r) => r.method + ' ' + r.url), server: serverSaw }, null, 1));
  }), (req) => serverSaw.push(req.method + ' ' + req.url + ' ' + (req.headers['content-length'] || 0)));
  assert(serverSaw.length >= 5, 'server saw the page files: ' + serverSaw.join(', '));
  const bad = serverSaw.filter((s) => !/^GET \/[\w./-]* 0$/.test(s));
  eq(bad.length, 0, 'server got only body-less GETs of files: ' + bad.join(', '));
  const files = new Set(serverSaw.map((s) => s.split(' ')[1]));
  for (const f of ['/', '/app.js', '/render.js', '/worker.js', '/crashlens.js', '/crashlens_bg.wasm']) assert(files.has(f), 'loaded ' + f);
});

test('hosted under a sub-path (/tools/crashlens/): the page and its worker load relative to it', async () => {
  const { elf, fx } = nullFixture();
  const served = [];
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(url);
    await analyze(page, elf);
    eq((await field(page, 'kernel.release')).trim(), fx.kernel_release, 'release under a sub-path');
  }), (req) => served.push(req.url), '/tools/crashlens/');
  const outside = served.filter((u) => !u.startsWith('/tools/crashlens/') && u !== '/favicon.ico');
  eq(outside.length, 0, 'requests outside the sub-path: ' + outside.join(', '));
});

test('single file: opened from file:// with no server, the real dump gives the summary', async () => {
  const { elf, fx } = nullFixture();
  if (!fs.existsSync(SINGLE)) throw new Error(`${SINGLE} missing: run scripts/build-web.sh`);
  await withBrowser(async (ctx) => {
    const seen = [];
    ctx.on('request', (req) => seen.push(req.url()));
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(pathToFileURL(SINGLE).href);
    const ms = await analyze(page, elf);
    measured.singleFileDropToSummaryMs = ms;
    await checkSummary(page, fx);
    await shot(page, 'single-file-done');
    const outside = seen.filter((u) => !/^(file|blob|data):/.test(u));
    eq(outside.length, 0, 'requests other than file:/blob:/data: ' + outside.join(', '));
    eq(errors.length, 0, 'page errors ' + errors.join('; '));
    // Exports work offline too.
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
    const r = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
    eq(r.kernel.release, fx.kernel_release, 'single-file JSON export');
  });
});

test('embedding: <crash-lens> element analyses the real dump inside a host page', async () => {
  const { elf, fx } = nullFixture();
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url + 'embed.html');
    await page.waitForSelector('crash-lens[data-state="idle"]');
    await page.setInputFiles('crash-lens [data-testid="dump-input"]', elf);
    await page.waitForSelector('crash-lens[data-state="done"], crash-lens[data-state="error"]', { timeout: 180000 });
    eq(await page.getAttribute('crash-lens', 'data-state'), 'done', 'element state');
    const f = (k) => page.textContent(`crash-lens [data-section="summary"] [data-field="${k}"]`);
    eq((await f('kernel.release')).trim(), fx.kernel_release, 'element release');
    eq((await f('panic.pid')).trim(), String(fx.crashing_pid), 'element PID');
    eq((await f('panic.comm')).trim(), fx.crashing_comm, 'element comm');
    const model = await page.evaluate(() => document.querySelector('crash-lens').report.panic.message);
    eq(model, fx.panic_message_first_line, 'element .report');
    await shot(page, 'embed-done');
    eq(errors.length, 0, 'page errors ' + errors.join('; '));
  }));
});

test('embedding from another origin: <crash-lens> (Blob bootstrap, strict CSP) and an iframe of the page', async () => {
  const { elf, fx } = nullFixture();
  await withServer(async (analyzerUrl) => {
    // The support document lives on another origin (another port) and names the analyzer's host
    // in its CSP: scripts and the wasm from there, the worker from a Blob URL.
    const host = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlens-host-'));
    const a = new URL(analyzerUrl).origin;
    const csp = `default-src 'none'; script-src ${a} 'wasm-unsafe-eval'; worker-src blob:; connect-src ${a}; frame-src ${a}; style-src 'self'; img-src data:`;
    fs.writeFileSync(path.join(host, 'index.html'), `<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}"><title>support article</title>
<script src="${analyzerUrl}crash-lens.js"></script></head>
<body><h1>Upload nothing: analyse your vmcore here</h1><crash-lens lang="zh"></crash-lens></body></html>`);
    fs.writeFileSync(path.join(host, 'frame.html'), `<!doctype html><html><head><meta charset="utf-8"><title>iframe</title></head>
<body><iframe src="${analyzerUrl}index.html" style="width:1000px;height:800px" title="crashlens"></iframe></body></html>`);
    const { server, url: hostUrl } = await serve(host, {});
    try {
      assert(new URL(hostUrl).origin !== a, 'two origins');
      await withBrowser(async (ctx) => {
        const page = await ctx.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(e.message));
        page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
        await page.goto(hostUrl);
        await page.waitForSelector('crash-lens[data-state="idle"]');
        // lang="zh" is read even though the parser sets it after the element is constructed.
        eq(await page.$eval('crash-lens', (e) => e.shadowRoot.querySelector('label.button').textContent), '选择 vmcore 文件…', 'element controls in Chinese');
        await page.setInputFiles('crash-lens [data-testid="dump-input"]', elf);
        await page.waitForSelector('crash-lens[data-state="done"], crash-lens[data-state="error"]', { timeout: 180000 });
        const err = await page.$eval('crash-lens', (e) => e.shadowRoot.querySelector('[data-testid="error"]').textContent);
        eq(await page.getAttribute('crash-lens', 'data-state'), 'done', 'cross-origin element state (error: ' + err + ')');
        const f = (k) => page.textContent(`crash-lens [data-section="summary"] [data-field="${k}"]`);
        eq((await f('panic.pid')).trim(), String(fx.crashing_pid), 'cross-origin element PID');
        const culprit = await page.textContent('crash-lens [data-field="culprit"]');
        assert(culprit.includes('fixture_null_deref'), 'culprit in the element: ' + culprit);
        assert(/[\u4e00-\u9fff]/.test(await page.textContent('crash-lens [data-field="narrative"]')), 'the element speaks Chinese (lang="zh")');
        await shot(page, 'embed-cross-origin');
        eq(errors.length, 0, 'page errors ' + errors.join('; '));

        // The whole page in an iframe of another origin.
        const p2 = await ctx.newPage();
        await p2.goto(hostUrl + 'frame.html');
        const frame = await (await p2.waitForSelector('iframe')).contentFrame();
        await frame.waitForSelector('html[data-state="idle"]');
        await frame.setInputFiles('[data-testid="dump-input"]', elf);
        await frame.waitForSelector('html[data-state="done"], html[data-state="error"]', { timeout: 180000 });
        eq(await frame.getAttribute('html', 'data-state'), 'done', 'iframe state');
        eq((await frame.textContent('[data-section="summary"] [data-field="panic.comm"]')).trim(), fx.crashing_comm, 'iframe comm');
        await shot(p2, 'embed-iframe');
      });
    } finally {
      server.close();
      fs.rmSync(host, { recursive: true, force: true });
    }
  });
});

// The dump lab (tests/lab, another part of the project) leaves real dumps of many crash
// scenarios, in every container its tools write, under ~/.cache/crashlens/lab/<scenario>/.
const LAB = process.env.CRASHLENS_LAB_DIR || path.join(CACHE, 'lab');
const CLI = process.env.CRASHLENS_CLI || path.join(ROOT, 'target', 'debug', 'crashlens');
function labScenarios() {
  if (!fs.existsSync(LAB)) return [];
  return fs.readdirSync(LAB).filter((d) => !d.startsWith('_') && fs.existsSync(path.join(LAB, d, 'facts.json')) && fs.existsSync(path.join(LAB, d, 'vmcore.elf')));
}
/** What the CLI says about a dump: the report, or its one-line error. */
function cliReport(...files) {
  try {
    return { report: JSON.parse(execFileSync(CLI, ['report', ...files, '--format', 'json'], { maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] })) };
  } catch (e) {
    return { error: String(e.stderr || e.message).trim() };
  }
}
const pick = (r) => r && JSON.stringify([r.kernel.release, r.panic.message, r.panic.pid, r.panic.comm, r.panic.cpu, r.panic.title, r.culprit && r.culprit.function]);

test('lab dumps: the page and the CLI agree on every scenario and container (facts checked on the ELF)', async () => {
  const scenarios = labScenarios().filter((d) => d !== 'big-4g').sort((a, b) => (a === 'null' ? -1 : b === 'null' ? 1 : a.localeCompare(b)));
  if (!scenarios.length) skip(`no lab dumps under ${LAB} (tests/lab/run.sh makes them)`);
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: cargo build --bin crashlens`);
  const rows = [];
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(url);
    for (const sc of scenarios) {
      const dir = path.join(LAB, sc);
      const fx = JSON.parse(fs.readFileSync(path.join(dir, 'facts.json'), 'utf8'));
      // Every single-file container of the first scenario (and of all with CRASHLENS_LAB_ALL=1);
      // for the others the ELF and two kdump-compressed files (split dumps: the next test).
      const all = fs.readdirSync(dir).filter((f) => /^vmcore\./.test(f) && !/\.(txt|split\.\d+)$/.test(f)).sort();
      const files = (sc === scenarios[0] || process.env.CRASHLENS_LAB_ALL === '1') ? all
        : all.filter((f) => ['vmcore.elf', 'vmcore.d31-lzo.kdump', 'vmcore.qemu-kdump-zlib'].includes(f));
      for (const f of files) {
        const file = path.join(dir, f);
        const cli = cliReport(file);
        await page.reload();
        await page.waitForSelector('html[data-state="idle"]');
        const t0 = Date.now();
        await page.setInputFiles('[data-testid="dump-input"]', file);
        await page.waitForSelector('html[data-state="done"], html[data-state="error"]', { timeout: 300000 });
        const ms = Date.now() - t0;
        const state = await page.getAttribute('html', 'data-state');
        const row = { scenario: sc, container: f, bytes: fs.statSync(file).size, ms, state };
        rows.push(row);
        if (cli.error) {
          eq(state, 'error', `${sc}/${f}: the CLI fails (${cli.error}), so must the page`);
          const msg = (await page.textContent('[data-testid="error"]')).toLowerCase();
          const want = cli.error.replace(/^crashlens: /, '').replace(/\.$/, '').toLowerCase();
          assert(msg.includes(want), `${sc}/${f}: page error "${msg}" vs CLI "${want}"`);
          continue;
        }
        eq(state, 'done', `${sc}/${f}: state (error: ${state === 'error' ? await page.textContent('[data-testid="error"]') : ''})`);
        const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
        const r = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
        eq(pick(r), pick(cli.report), `${sc}/${f}: page report vs CLI report`);
        if (f === 'vmcore.elf') {
          eq(r.kernel.release, fx.kernel_release, `${sc}: release`);
          eq((await field(page, 'kernel.release')).trim(), fx.kernel_release, `${sc}: release shown`);
          if (fx.crashing_pid != null && r.panic.pid != null) eq(r.panic.pid, fx.crashing_pid, `${sc}: PID`);
          if (fx.crashing_comm && r.panic.comm != null) eq(r.panic.comm, fx.crashing_comm, `${sc}: comm`);
        }
      }
    }
  }));
  fs.writeFileSync(path.join(ART, 'lab-timings.json'), JSON.stringify(rows, null, 1));
  measured.labAnalyses = rows.length;
  measured.labErrors = rows.filter((r) => r.state === 'error').length;
});

// ------------------------------------------------------------------ page == CLI, byte for byte
// Each text view of the page and each export is the text of one CLI command (the wasm module
// renders it with the same Rust code, crate/src/render). The CLI runs in the dump's directory
// on its base name, so the name it prints is the File name the page has.
const TEXT_VIEWS = { backtrace: ['bt'], cpu_traces: ['bt', '-a'], sys: ['sys'], log: ['log'], modules: ['mod'] };
function cliText(file, ...args) {
  return execFileSync(CLI, [args[0], path.basename(file), ...args.slice(1)], { cwd: path.dirname(file), maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
}
/** The text of each view on the page (textContent of its <pre>), by section id. */
function pageTexts(page) {
  return page.evaluate(() => {
    const out = {};
    for (const pre of document.querySelectorAll('#report pre[data-field]')) out[pre.dataset.field] = pre.textContent;
    return out;
  });
}
/** The HTML document without its embedded JSON (which holds this run's read statistics). */
const htmlBody = (x) => x.replace(/(<script type="application\/json" id="crashlens-report">)[^]*?(<\/script>)/, '$1$2');
const embedded = (x) => { const j = JSON.parse(/<script type="application\/json" id="crashlens-report">([^]*?)<\/script>/.exec(x)[1]); delete j.dump.cache; return j; };

async function comparePageWithCli(page, file, label) {
  const diffs = [];
  const same = (a, b, what) => {
    if (a === b) return;
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    diffs.push(`${label} ${what}: differ at byte ${i}: page ${JSON.stringify((a || '').slice(i, i + 60))} vs CLI ${JSON.stringify((b || '').slice(i, i + 60))}`);
  };
  const cliOnce = {};
  for (const [id, args] of Object.entries(TEXT_VIEWS)) cliOnce[id] = cliText(file, ...args);
  let views = 0;
  for (const l of ['en', 'zh']) {
    await page.selectOption('[data-testid="lang"]', l);
    await page.waitForFunction((want) => {
      const r = document.querySelector('#report .report');
      return r && r.getAttribute('lang') === want;
    }, l === 'zh' ? 'zh-CN' : 'en');
    const got = await pageTexts(page);
    const report = cliText(file, 'report', '--lang', l);
    // The verdict is how `crashlens report` begins (up to its PANIC: line), the disassembly how it ends.
    let head = report.slice(0, report.search(/^PANIC: /m));
    // A crash class's own section follows the verdict in the CLI's text ("\nTITLE\n" + its
    // text); the page shows it as a section of its own: it must be that text, and the verdict
    // what comes before its title.
    if (got.finding) {
      const at = head.lastIndexOf(got.finding);
      assert(at > 0 && at + got.finding.length === head.length, `${label} ${l}: the finding section is the CLI's`);
      const t = head.lastIndexOf('\n', at - 2);
      head = head.slice(0, t >= 0 ? t : at);
      views++;
    }
    same(got.verdict || '', head, `${l} verdict`);
    if (got.verdict) views++;
    same(got.disassembly || '', report.slice(report.length - (got.disassembly || '').length), `${l} disassembly`);
    if (got.disassembly) { views++; assert(got.disassembly.includes('==>'), `${label}: the faulting instruction is marked`); }
    for (const id of Object.keys(TEXT_VIEWS)) {
      if (id === 'modules' && got.modules === undefined && /^\s*MODULE\s+NAME\s+BASE\s+SIZE\s+OBJECT FILE\s*$/.test(cliOnce.modules)) continue;
      same(got[id], cliOnce[id], `${l} ${id}`);
      views++;
    }
    if (got.registers !== undefined) { assert(cliOnce.backtrace.includes(got.registers), `${label} ${l}: registers are the bt's exception block`); views++; }
    for (const [kind, flag] of [['export-md', 'md'], ['export-html', 'html']]) {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid="${kind}"]`)]);
      const doc = fs.readFileSync(await dl.path(), 'utf8');
      const want = cliText(file, 'report', '--format', flag, '--lang', l);
      if (flag === 'md') same(doc, want, `${l} Markdown export`);
      else {
        same(htmlBody(doc), htmlBody(want), `${l} HTML export`);
        same(JSON.stringify(embedded(doc)), JSON.stringify(embedded(want)), `${l} HTML export's JSON`);
      }
      views++;
    }
  }
  await page.selectOption('[data-testid="lang"]', 'en');
  if (diffs.length) throw new Error(diffs.join('\n'));
  return views;
}

test('page == CLI: every text view and export equals the CLI text byte for byte (fixtures and lab dumps, en and zh)', async () => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: cargo build --bin crashlens`);
  const dumps = [];
  for (const name of [NULL, 'linux-6.12-cloud-bug']) { const e = fixtureElf(name); if (e) dumps.push([name, e]); }
  const k310 = path.join(FIXTURES, 'linux-3.10-el7-lkdtm', 'vmcore.d31-lzo.kdump');
  if (fs.existsSync(k310)) dumps.push(['linux-3.10-el7-lkdtm', k310]);
  if (process.env.CRASHLENS_SKIP_LAB !== '1') {
    for (const sc of labScenarios().filter((d) => d !== 'big-4g').sort()) dumps.push(['lab/' + sc, path.join(LAB, sc, 'vmcore.elf')]);
  }
  if (!dumps.length) skip('no fixtures and no lab dumps');
  const rows = [];
  const failures = [];
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(url);
    // A dump the lab rewrites while it is compared (tests/lab/run.sh running) is compared again.
    const queue = dumps.map(([label, file]) => [label, file, 0]);
    while (queue.length) {
      const [label, file, tries] = queue.shift();
      const mtime = fs.statSync(file).mtimeMs;
      await page.reload();
      await page.waitForSelector('html[data-state="idle"]');
      await page.setInputFiles('[data-testid="dump-input"]', file);
      await page.waitForSelector('html[data-state="done"], html[data-state="error"]', { timeout: 300000 });
      if ((await page.getAttribute('html', 'data-state')) !== 'done') {
        let cli = null;
        try { cliText(file, 'report'); } catch (e) { cli = String(e.stderr); }
        assert(cli, `${label}: the page failed (${await page.textContent('[data-testid="error"]')}) but the CLI did not`);
        rows.push({ dump: label, error: true });
        continue;
      }
      try {
        rows.push({ dump: label, views: await comparePageWithCli(page, file, label) });
      } catch (e) {
        if (fs.statSync(file).mtimeMs !== mtime && tries < 2) { queue.push([label, file, tries + 1]); continue; }
        failures.push(e.message);
      }
      if (label === NULL) {
        await shot(page, 'page-eq-cli-en');
        await page.selectOption('[data-testid="lang"]', 'zh');
        await page.waitForSelector('#report .report[lang="zh-CN"]');
        await shot(page, 'page-eq-cli-zh');
        await page.selectOption('[data-testid="lang"]', 'en');
      }
    }
  }));
  fs.writeFileSync(path.join(ART, 'page-eq-cli.json'), JSON.stringify(rows, null, 1));
  measured.pageEqCli = { dumps: rows.length, views: rows.reduce((a, r) => a + (r.views || 0), 0) };
  if (failures.length) throw new Error(failures.join('\n'));
});

test('lab split dumps: the parts given together through the file input', async () => {
  const scenarios = labScenarios().filter((d) => fs.readdirSync(path.join(LAB, d)).some((f) => /\.split\.1$/.test(f)));
  if (!scenarios.length) skip(`no split lab dumps under ${LAB}`);
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: cargo build --bin crashlens`);
  // The wasm reads several files when it exports analyzeFiles (the core's analyze_many).
  const multi = fs.readFileSync(path.join(DIST, 'crashlens.js'), 'utf8').includes('analyzeFiles');
  measured.splitInPage = multi;
  await onHostedPage(async (page) => {
    for (const sc of scenarios) {
      const dir = path.join(LAB, sc);
      const parts = fs.readdirSync(dir).filter((f) => /\.split\.\d+$/.test(f)).map((f) => path.join(dir, f));
      await page.reload();
      await page.waitForSelector('html[data-state="idle"]');
      // Given in reverse: the page puts the parts in name order.
      await page.setInputFiles('[data-testid="dump-input"]', [...parts].sort().reverse());
      await page.waitForSelector('html[data-state="done"], html[data-state="error"]', { timeout: 300000 });
      const state = await page.getAttribute('html', 'data-state');
      if (!multi) {
        eq(state, 'error', `${sc}: this wasm reads one file`);
        assert((await page.textContent('[data-testid="error"]')).includes('one dump file at a time'), `${sc}: says so`);
        continue;
      }
      const cliRes = cliReport(...parts.sort());
      if (cliRes.error) { eq(state, 'error', `${sc}: CLI fails (${cliRes.error}), so must the page`); continue; }
      eq(state, 'done', `${sc}: state (${state === 'error' ? await page.textContent('[data-testid="error"]') : ''})`);
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
      const r = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
      eq(pick(r), pick(cliRes.report), `${sc}: split dump, page vs CLI`);
    }
  });
});

test('lab big-4g: a dump of at least 4 GB in the page (time to summary, peak wasm memory)', async () => {
  const dir = path.join(LAB, 'big-4g');
  const file = path.join(dir, 'vmcore.elf');
  if (!fs.existsSync(file) || !fs.existsSync(path.join(dir, 'facts.json'))) skip(`no ${file} (tests/lab/run.sh makes it)`);
  const fx = JSON.parse(fs.readFileSync(path.join(dir, 'facts.json'), 'utf8'));
  await onHostedPage(async (page) => {
    const ms = await analyze(page, file);
    const t = await page.evaluate(() => window.crashlensTiming);
    measured.big4g = { bytes: fs.statSync(file).size, dropToSummaryMs: ms, firstPartMs: t.firstPartMs, verdictMs: t.verdictMs, workerMs: t.workerMs, wasmMemoryBytes: t.wasmMemory };
    eq((await field(page, 'kernel.release')).trim(), fx.kernel_release, 'big-4g release');
    if (await page.$('[data-section="summary"] [data-field="panic.pid"]')) eq((await field(page, 'panic.pid')).trim(), String(fx.crashing_pid), 'big-4g PID');
    await shot(page, 'lab-big-4g');
  });
});

// ------------------------------------------------------------------ navigation, console, help (issue 13)
const SCREENS = process.env.CRASHLENS_SCREENS || path.join(ROOT, '..', 'notes', 'screens');
/** A screenshot into tests/artifacts and, where the notes directory exists, /work/notes/screens. */
async function screen(page, name, full = false) {
  const file = path.join(ART, name + '.png');
  await page.screenshot({ path: file, fullPage: full });
  if (fs.existsSync(path.dirname(SCREENS))) {
    fs.mkdirSync(SCREENS, { recursive: true });
    fs.copyFileSync(file, path.join(SCREENS, name + '.png'));
  }
  return file;
}
/** `crashlens shell` on one command, in the dump's directory (the page's File name). */
function cliShell(file, line) {
  return execFileSync(CLI, ['shell', path.basename(file)], { cwd: path.dirname(file), input: line + '\n', maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'pipe'] }).toString('utf8');
}
/** Runs one console command on the page; returns its output's text. */
async function consoleRun(page, line) {
  const input = page.locator('[data-testid="console-input"]');
  await input.fill(line);
  await input.press('Enter');
  const sel = `[data-testid="console-output"][data-command="${line.replace(/"/g, '\\"')}"]`;
  await page.waitForSelector(sel, { timeout: 120000 });
  return page.$eval(sel, (e) => e.textContent);
}
/** Drops files on the page as a user does (a real drop event with a DataTransfer). */
async function dropFiles(page, files) {
  const list = files.map((f) => ({ name: path.basename(f), b64: fs.readFileSync(f).toString('base64') }));
  await page.evaluate((list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bin = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bin], f.name));
    }
    for (const type of ['dragenter', 'dragover', 'drop']) {
      window.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
  }, list);
}
/** crash-bt.txt's header: `PID: 103      TASK: ffff897482934180  CPU: 0    COMMAND: "sh"`. */
function crashBtHeader() {
  const p = path.join(FIXTURES, NULL, 'oracle', 'crash-bt.txt');
  if (!fs.existsSync(p)) return null;
  const text = fs.readFileSync(p, 'utf8');
  const w = text.split('\n')[0].split(/\s+/);
  const sps = [...text.matchAll(/^\s*#\d+ \[([0-9a-f]+)\]/gm)].map((m) => BigInt('0x' + m[1]));
  return { line: text.split('\n')[0], pid: w[1], task: w[3], cpu: w[5], comm: w[7].replace(/"/g, ''), sps };
}
const topField = (text, name) => { const m = new RegExp('^  ' + name + ' = (.*?),?$', 'm').exec(text); return m ? m[1] : null; };

test('hosted: the section index lists every section; keys and deep links (#section, #backtrace-fN) jump; phone menu', async () => {
  const { elf } = nullFixture();
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // A deep link to a frame, opened before the dump is given: followed once the report is drawn.
    await page.goto(url + '#backtrace-f3');
    await analyze(page, elf);
    const ids = await page.$$eval('#report [data-section][id]', (e) => e.map((x) => x.id));
    const links = await page.$$eval('[data-testid="section-index"] a', (e) => e.map((a) => [a.getAttribute('href'), a.textContent]));
    eq(links.map((l) => l[0]).join(' '), ids.map((i) => '#' + i).join(' '), 'one index link per section, in page order');
    for (const want of ['verdict', 'summary', 'backtrace', 'registers', 'disassembly', 'cpu_traces', 'sys', 'log', 'modules']) assert(ids.includes(want), 'section ' + want + ' in ' + ids);
    assert(await page.isVisible('[data-testid="section-index"] a[href="#backtrace"]'), 'the index is visible on a wide screen');
    const frame3 = await page.$eval('#backtrace-f3', (e) => ({ text: e.textContent, target: e.classList.contains('target'), top: e.getBoundingClientRect().top, h: innerHeight }));
    assert(/^ ?#3 \[/.test(frame3.text), 'frame 3 is the line " #3 [...": ' + frame3.text);
    assert(frame3.target && frame3.top >= 0 && frame3.top < frame3.h, 'the deep-linked frame is marked and in view: ' + JSON.stringify(frame3));
    // The sidebar stays in view while the page scrolls.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    const idxTop = await page.$eval('[data-testid="section-index"]', (e) => e.getBoundingClientRect().top);
    assert(idxTop >= 0 && idxTop < 40, 'the index is sticky: top ' + idxTop);
    // Keys: 1 = the first section, j = the next, k = back, 5 = the fifth.
    await page.locator('body').click({ position: { x: 2, y: 2 } });
    await page.keyboard.press('1');
    eq(await page.evaluate(() => location.hash), '#' + ids[0], 'key 1');
    await page.keyboard.press('j');
    eq(await page.evaluate(() => location.hash), '#' + ids[1], 'key j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    eq(await page.evaluate(() => location.hash), '#' + ids[1], 'key k');
    await page.keyboard.press('5');
    eq(await page.evaluate(() => location.hash), '#' + ids[4], 'key 5');
    eq(await page.$eval('[data-testid="section-index"] a[aria-current="true"]', (a) => a.getAttribute('href')), '#' + ids[4], 'the index marks the current section');
    // A closed section opens when linked to: the dump section is closed by default.
    if (ids.includes('dump')) {
      eq(await page.$eval('#dump', (d) => d.open), false, 'dump section starts closed');
      await page.evaluate(() => { location.hash = '#dump'; });
      await page.waitForFunction(() => document.getElementById('dump').open);
    }
    // A click on a frame line makes it the deep link; the hash then changes with back/forward.
    await page.click('#backtrace-f1');
    eq(await page.evaluate(() => location.hash), '#backtrace-f1', 'click on a frame');
    assert(await page.$eval('#backtrace-f1', (e) => e.classList.contains('target')), 'the clicked frame is marked');
    // Every CPU's frames have links of their own.
    assert(await page.$('[id^="cpu_traces-cpu0-f"]') && await page.$('[id^="cpu_traces-cpu1-f"]'), 'frames of both CPUs have ids');
    // The deep links do not change the text: still the CLI's bt.
    eq(await page.$eval('pre[data-field="backtrace"]', (p) => p.textContent), cliText(elf, 'bt'), 'backtrace text unchanged');
    // Phone: a menu instead of the sidebar.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    assert(await page.isVisible('#index-toggle'), 'the menu button shows on a phone');
    assert(!(await page.isVisible('[data-testid="section-index"] a[href="#log"]')), 'the list is folded on a phone');
    await page.click('#index-toggle');
    assert(await page.isVisible('[data-testid="section-index"] a[href="#log"]'), 'the menu opens');
    await page.click('[data-testid="section-index"] a[href="#log"]');
    eq(await page.evaluate(() => location.hash), '#log', 'menu link');
    assert(!(await page.isVisible('[data-testid="section-index"] a[href="#log"]')), 'the menu closes after a jump');
    eq(errors.length, 0, 'page errors ' + errors.join('; '));
  }));
});

test('hosted: "copy as text" gives the CLI\'s crashlens report text (en and zh)', async () => {
  const { elf } = nullFixture();
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: cargo build --bin crashlens`);
  await withServer((url) => withBrowser(async (ctx) => {
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url.replace(/\/$/, '') });
    const page = await ctx.newPage();
    await page.goto(url);
    await analyze(page, elf);
    for (const l of ['en', 'zh']) {
      await page.selectOption('[data-testid="lang"]', l);
      await page.waitForSelector(`#report .report[lang="${l === 'zh' ? 'zh-CN' : 'en'}"]`);
      await page.evaluate(() => navigator.clipboard.writeText(''));
      await page.click('[data-testid="copy-text"]');
      await page.waitForFunction(() => navigator.clipboard.readText().then((t) => t.length > 0));
      const got = await page.evaluate(() => navigator.clipboard.readText());
      const want = cliText(elf, 'report', '--format', 'text', '--lang', l);
      eq(got, want, `${l}: copied text vs crashlens report --format text`);
    }
  }));
});

test('hosted: the console runs crash commands as the CLI does (bt -a, struct task_struct of the crashing task against crash, rd, p, task, foreach bt, help); history and completion', async () => {
  const { elf } = nullFixture();
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: cargo build --bin crashlens`);
  const crash = crashBtHeader();
  if (!crash) skip('crash-bt.txt oracle absent');
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await analyze(page, elf);
    await page.click('[data-testid="tab-console"]');
    eq(await page.evaluate(() => location.hash), '#console', 'the console has a deep link');
    assert(await page.isVisible('[data-testid="console-input"]'), 'console input shown');
    const same = async (line) => { const got = await consoleRun(page, line); eq(got, cliShell(elf, line), `console "${line}" vs crashlens shell`); return got; };
    // bt -a: crash's every-CPU backtrace, the same text as the report's section and the CLI.
    const bta = await same('bt -a');
    eq(bta, cliText(elf, 'bt', '-a'), 'bt -a == crashlens bt -a');
    assert(bta.includes(crash.line), 'bt -a holds crash\'s header of the crashing task: ' + crash.line);
    // struct task_struct of the crashing task (crash's TASK address): checked against crash.
    const st = await same(`struct task_struct ${crash.task}`);
    eq(st, cliText(elf, 'struct', 'task_struct', crash.task), 'struct == crashlens struct VMCORE task_struct ADDR');
    assert(st.startsWith('struct task_struct {\n  thread_info = {\n'), 'struct print starts like crash\'s');
    eq(topField(st, 'pid'), crash.pid, 'pid (crash bt)');
    eq(topField(st, 'tgid'), crash.pid, 'tgid');
    eq(topField(st, 'comm'), `"${crash.comm}"`, 'comm (crash bt)');
    const ps = fs.readFileSync(path.join(FIXTURES, NULL, 'oracle', 'crash-ps.txt'), 'utf8').split('\n').find((r) => r.includes(crash.task));
    assert(ps && / RU /.test(ps), 'crash ps: the task is running: ' + ps);
    eq(topField(st, '__state'), '0', '__state (RU in crash ps)');
    eq(topField(st, 'on_cpu'), '1', 'on_cpu');
    assert(st.includes(`\n    cpu = ${crash.cpu}\n`), 'thread_info.cpu = crash CPU');
    const stack = BigInt(topField(st, 'stack').split(' ')[0]);
    assert(crash.sps.length >= 5 && crash.sps.every((sp) => sp >= stack && sp < stack + 16384n), 'crash\'s frames lie on task_struct.stack');
    // rd: the fixture's magic where the kernel log says the module put it.
    const log = fs.readFileSync(path.join(FIXTURES, NULL, 'oracle', 'console.log'), 'utf8');
    const m = /loaded, magic ([0-9a-f]+) at ([0-9a-f]+)/.exec(log);
    assert(m, 'console.log names the magic');
    eq(await same('rd vmcore_fixture_magic'), `${m[2]}:  ${m[1]}                    IFEROCMV\n`, 'rd of the magic');
    const rd = await same('rd -s fixture_items 18');
    assert(rd.split('\n').length === 10 && rd.includes('fixture_list'), 'rd -s names the list head');
    await same('p vmcore_fixture_magic');
    const task = await same('task');
    assert(task.startsWith(crash.line + '\n' + 'struct task_struct {'), 'task: crash\'s header, then the struct');
    const fe = await same('foreach bt');
    assert(fe.includes(crash.line), 'foreach bt holds the crashing task');
    const help = await same('help');
    for (const c of ['bt', 'struct', 'rd', 'p', 'task', 'foreach', 'help', 'sym', 'dis', 'ps', 'log', 'mod', 'sys']) assert(new RegExp('^' + c + ' ', 'm').test(help), 'help lists ' + c);
    // A wrong command: one line, marked as an error.
    const bad = await consoleRun(page, 'struct no_such_type_here');
    assert(bad.split('\n').length === 2 && bad.startsWith('struct: '), 'one line: ' + bad);
    eq(await page.$eval('[data-testid="console-output"]', (e) => e.dataset.error), 'true', 'marked as an error');
    // History: up gives the commands back, newest first; down returns to the draft.
    const input = page.locator('[data-testid="console-input"]');
    await input.fill('draft');
    await input.press('ArrowUp');
    eq(await input.inputValue(), 'struct no_such_type_here', 'up once');
    await input.press('ArrowUp');
    eq(await input.inputValue(), 'help', 'up twice');
    await input.press('ArrowDown');
    await input.press('ArrowDown');
    eq(await input.inputValue(), 'draft', 'down back to the draft');
    // Completion (wasm consoleComplete): a command, a type, a symbol.
    const tab = async (line, want) => {
      await input.fill(line);
      await input.press('Tab');
      await page.waitForFunction((w) => document.querySelector('[data-testid="console-input"]').value === w, want, { timeout: 30000 });
    };
    await tab('stru', 'struct ');
    await tab('struct task_stru', 'struct task_struct ');
    await tab('sym fixture_null_de', 'sym fixture_null_deref ');
    await input.fill('sym fixture_');
    await input.press('Tab');
    await page.waitForSelector('[data-testid="console-complete"]:not([hidden]) button');
    const names = await page.$$eval('[data-testid="console-complete"] button', (b) => b.map((x) => x.textContent));
    assert(names.includes('fixture_items') && names.includes('fixture_null_deref'), 'candidates listed: ' + names);
    eq(errors.length, 0, 'page errors ' + errors.join('; '));
  }));
});

test('hosted: vmcore.tar.gz / .xz / .zst give the one command that unpacks them (the CLI\'s error; en and zh)', async () => {
  const { elf } = nullFixture();
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: cargo build --bin crashlens`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlens-archives-'));
  // A real archive of a real dump's head (the first MiB is enough to be recognised).
  const head = path.join(dir, 'vmcore');
  fs.writeFileSync(head, fs.readFileSync(elf).subarray(0, 1 << 20));
  const made = [];
  execFileSync('tar', ['czf', 'vmcore.tar.gz', 'vmcore'], { cwd: dir }); made.push(['vmcore.tar.gz', 'tar xzf vmcore.tar.gz']);
  execFileSync('zstd', ['-q', '-k', 'vmcore', '-o', 'vmcore.zst'], { cwd: dir }); made.push(['vmcore.zst', 'zstd -d vmcore.zst']);
  try { execFileSync('xz', ['-k', '-T1', 'vmcore'], { cwd: dir }); made.push(['vmcore.xz', 'xz -dk vmcore.xz']); } catch (_) { /* no xz here */ }
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(url);
    for (const [name, cmd] of made) {
      const file = path.join(dir, name);
      let cli = '';
      try { execFileSync(CLI, ['report', name], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }); } catch (e) { cli = String(e.stderr).trim(); }
      assert(cli.includes('`' + cmd + '`'), `CLI error names ${cmd}: ${cli}`);
      await page.selectOption('[data-testid="lang"]', 'en');
      await page.reload();
      await analyze(page, file, 'error');
      const en = (await page.textContent('[data-testid="error"]')).trim();
      eq(en.toLowerCase(), cli.replace(/^crashlens: /, '').toLowerCase() + '.', `${name}: page error == CLI error`);
      assert(await page.isVisible('[data-testid="landing-help"]'), 'the help stays in view after the error');
      await page.selectOption('[data-testid="lang"]', 'zh');
      const zh = (await page.textContent('[data-testid="error"]')).trim();
      assert(zh.includes('`' + cmd + '`') && /解包/.test(zh), `${name}: Chinese error names the command: ${zh}`);
      if (name === 'vmcore.tar.gz') { await screen(page, 'archive-error-zh-light-wide'); }
    }
  }));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('hosted: a vmcore-dmesg.txt dropped on the page gives a verdict from the text alone (crashlens oops\'s title and guilty function)', async () => {
  const src = path.join(FIXTURES, NULL, 'oracle', 'makedumpfile-dmesg.txt');
  if (!fs.existsSync(src)) skip('the 6.1 fixture\'s dmesg oracle is absent');
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: cargo build --bin crashlens`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlens-dmesg-'));
  const file = path.join(dir, 'vmcore-dmesg.txt');
  fs.copyFileSync(src, file);
  const oops = JSON.parse(execFileSync(CLI, ['oops', file, '--format', 'json']).toString());
  const oopsText = execFileSync(CLI, ['oops', file]).toString();
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForSelector('html[data-state="idle"]');
    await dropFiles(page, [file]);
    await page.waitForSelector('html[data-state="done"], html[data-state="error"]', { timeout: 60000 });
    eq(await page.getAttribute('html', 'data-state'), 'done', 'the log is read (error: ' + await page.textContent('[data-testid="error"]') + ')');
    eq((await page.textContent('[data-field="oops.title"]')).trim(), oops.title, 'title == crashlens oops');
    eq((await page.textContent('[data-field="oops.frame"]')).trim(), oops.frame, 'guilty function == crashlens oops');
    eq(oops.frame, 'fixture_null_deref', 'the function at fault');
    eq(await page.textContent('[data-field="oops"]'), oopsText, 'the text == crashlens oops FILE');
    const note = await page.textContent('[data-field="text-verdict-note"]');
    assert(/console text alone/.test(note) && note.includes('vmcore-dmesg.txt'), 'marked as a verdict from the text alone: ' + note);
    await screen(page, 'dmesg-verdict-en-light-wide', true);
    await page.selectOption('[data-testid="lang"]', 'zh');
    assert(/仅根据控制台日志文本/.test(await page.textContent('[data-field="text-verdict-note"]')), 'Chinese note');
    eq((await page.textContent('[data-field="oops.frame"]')).trim(), oops.frame, 'same function in Chinese');
    await screen(page, 'dmesg-verdict-zh-light-wide', true);
  }));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('screens: landing help, section index and console (bt -a, struct task_struct, rd) in EN and 中文, light and dark, wide and phone', async () => {
  const { elf } = nullFixture();
  const crash = crashBtHeader();
  for (const scheme of ['light', 'dark']) {
    for (const l of ['en', 'zh']) {
      await withServer((url) => withBrowser(async (ctx) => {
        const page = await ctx.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(url);
        await page.selectOption('[data-testid="lang"]', l);
        const tag = `${l}-${scheme}`;
        assert(await page.isVisible('[data-testid="landing-help"]'), 'landing help shown');
        const help = await page.textContent('[data-testid="landing-help"]');
        for (const s of ['/var/crash/<host>-<date>/vmcore', '/var/crash/<timestamp>/dump.<timestamp>', 'makedumpfile -d 31 -c', 'kdumpctl status', 'vmcore-dmesg.txt', 'Amazon Linux', 'Alibaba Cloud Linux', 'SUSE', 'tar xzf vmcore.tar.gz']) assert(help.includes(s), `${tag}: help has ${s}`);
        await screen(page, `landing-${tag}-wide`, true);
        await page.setViewportSize({ width: 390, height: 844 });
        await screen(page, `landing-${tag}-phone`, true);
        await page.setViewportSize({ width: 1280, height: 900 });
        await analyze(page, elf);
        await page.evaluate(() => { location.hash = '#backtrace'; });
        await page.waitForTimeout(200);
        await screen(page, `index-${tag}-wide`);
        await page.setViewportSize({ width: 390, height: 844 });
        await page.click('#index-toggle');
        await screen(page, `index-${tag}-phone-menu`);
        await page.click('#index-toggle');
        await page.setViewportSize({ width: 1280, height: 900 });
        await page.click('[data-testid="tab-console"]');
        await consoleRun(page, 'bt -a');
        await screen(page, `console-bt-a-${tag}-wide`);
        if (crash) await consoleRun(page, `struct task_struct ${crash.task}`);
        await screen(page, `console-struct-${tag}-wide`);
        await consoleRun(page, 'rd -s fixture_items 18');
        await screen(page, `console-rd-${tag}-wide`);
        await page.setViewportSize({ width: 390, height: 844 });
        await consoleRun(page, 'rd vmcore_fixture_magic');
        await screen(page, `console-rd-${tag}-phone`);
        eq(errors.length, 0, 'page errors ' + errors.join('; '));
      }, { colorScheme: scheme, locale: l === 'zh' ? 'zh-CN' : 'en-US' }));
    }
  }
});

// ------------------------------------------------------------------ run
const only = process.env.ONLY;
let failed = 0;
for (const t of tests) {
  if (only && !t.name.includes(only)) continue;
  const t0 = Date.now();
  try {
    await t.fn();
    results.push(['PASS', t.name, Date.now() - t0]);
  } catch (e) {
    if (e instanceof Skip) { results.push(['SKIP', t.name + ' — ' + e.message, 0]); continue; }
    failed++;
    results.push(['FAIL', t.name + '\n      ' + (e && e.stack || e), Date.now() - t0]);
  }
}
for (const [s, n, ms] of results) console.log(`${s}  ${n}${ms ? `  (${ms} ms)` : ''}`);
if (Object.keys(measured).length) console.log('measured: ' + JSON.stringify(measured));
const wasm = path.join(DIST, 'crashlens_bg.wasm');
if (fs.existsSync(wasm)) {
  const { gzipSync } = await import('node:zlib');
  const raw = fs.readFileSync(wasm);
  console.log(`wasm size: ${raw.length} bytes raw, ${gzipSync(raw, { level: 9 }).length} bytes gzip`);
}
console.log(`${results.filter((r) => r[0] === 'PASS').length} passed, ${failed} failed, ${results.filter((r) => r[0] === 'SKIP').length} skipped`);
process.exit(failed ? 1 : 0);

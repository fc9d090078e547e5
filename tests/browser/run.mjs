// Headless-Chromium tests of the built page (dist/), with the real fixture dumps.
//   node tests/browser/run.mjs            (scripts/test.sh runs it after building dist/)
// Env: CRASHLENS_DIST (default <repo>/dist), CRASHLENS_FIXTURES (default <repo>/../shared/fixtures),
//      CRASHLENS_SINGLE (the single-file build, default <repo>/dist-single/crashlens.html),
//      CHROMIUM (default /usr/bin/chromium), ONLY=<substring of a test name>.
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

async function withServer(fn, onRequest) {
  if (!fs.existsSync(path.join(DIST, 'index.html'))) throw new Error(`${DIST}/index.html missing: run scripts/build-web.sh`);
  const { server, url } = await serve(DIST, { onRequest });
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

test('hosted: real 6.1 dump through the file input shows the summary', async () => {
  const elf = fixtureElf(NULL);
  const fx = facts(NULL);
  if (!elf || !fx) skip(`fixture ${NULL} not found under ${FIXTURES}`);
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await shot(page, 'hosted-idle');
    const ms = await analyze(page, elf);
    measured.dropToSummaryMs = ms;
    measured.pageTiming = await page.evaluate(() => window.crashlensTiming);
    await checkSummary(page, fx);
    // The log view shows the oops, read from the dump's memory.
    const log = await page.textContent('[data-field="log"]');
    assert(log.includes(fx.oops_line), 'log contains the Oops line');
    await shot(page, 'hosted-done');
    eq(errors.length, 0, 'page errors ' + errors.join('; '));
  }));
});

test('hosted: a file that is not a dump gives a plain error and data-state=error', async () => {
  const junk = path.join(os.tmpdir(), 'crashlens-not-a-dump.txt');
  fs.writeFileSync(junk, 'this is a text file, not a vmcore\n'.repeat(100));
  await withServer((url) => withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(url);
    await analyze(page, junk, 'error');
    const msg = (await page.textContent('[data-testid="error"]')).trim();
    assert(/not a crash dump/i.test(msg), 'error names the problem: ' + msg);
    assert(!msg.includes('\n') && msg.length < 300, 'one short sentence: ' + msg);
    assert(await page.isVisible('[data-testid="error"]'), 'error is visible');
    await shot(page, 'hosted-not-a-dump');
  }));
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

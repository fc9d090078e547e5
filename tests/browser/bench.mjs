// In-browser benchmark: the built page (dist/) in headless Chromium, per dump and per run a fresh
// tab, once its analyzer is ready (html[data-analyzer="ready"]: a worker has loaded and warmed it, as
// while a reader picks a file): time from setting the file input to the first part of the report on screen, to the
// verdict, and to the whole report; the worker's own time; peak wasm memory. Median of RUNS runs
// after one warm-up. Prints a Markdown table.
//   node tests/browser/bench.mjs [DUMP ...]    (default: the fixtures' ELF and the lab's dumps)
//   RUNS=5 node tests/browser/bench.mjs
// scripts/bench.sh runs it after the CLI benchmark. Timings are measured, never asserted.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './serve.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const DIST = process.env.CRASHLENS_DIST || path.join(ROOT, 'dist');
const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'crashlens');
const LAB = process.env.CRASHLENS_LAB_DIR || path.join(CACHE, 'lab');
const RUNS = Number(process.env.RUNS || 3);

let dumps = process.argv.slice(2);
if (!dumps.length) {
  dumps = [
    path.join(CACHE, 'linux-6.1-cloud-null.elf'),
    path.join(CACHE, 'linux-6.12-cloud-bug.elf'),
    ...['vmcore.elf', 'vmcore.d31-zlib.kdump', 'vmcore.d31-zlib.flat'].map((f) => path.join(LAB, 'ref-nginx', f)),
    ...['vmcore.elf', 'vmcore.d31-zlib.kdump'].map((f) => path.join(LAB, 'big-4g', f)),
  ].filter((f) => fs.existsSync(f));
}
if (!fs.existsSync(path.join(DIST, 'index.html'))) {
  console.error(`${DIST}/index.html missing: run scripts/build-web.sh`);
  process.exit(1);
}

// The worker's reads of the file (the page's timing.reads): median calls, MB and ms.
const reads = (runs) => { const r = runs.map((x) => x.reads).filter(Boolean); if (!r.length) return '-'; return `${median(r.map((x) => x.calls))} / ${(median(r.map((x) => x.bytes)) / 1048576).toFixed(1)} / ${median(r.map((x) => x.ms))}`; };
const median = (xs) => { const s = xs.filter((x) => x != null).sort((a, b) => a - b); return s.length ? s[(s.length - 1) >> 1] : null; };
const { server, url } = await serve(DIST, {});
const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlens-bench-'));
const ctx = await chromium.launchPersistentContext(userDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

/** One analysis in a fresh tab; the page's own timings (window.crashlensTiming). */
async function once(file) {
  const page = await ctx.newPage();
  try {
    await page.goto(url);
    await page.waitForSelector('html[data-state="idle"]');
    await page.waitForSelector('html[data-analyzer="ready"]', { timeout: 20000 }).catch(() => {});
    await page.setInputFiles('[data-testid="dump-input"]', file);
    await page.waitForSelector('html[data-state="done"], html[data-state="error"]', { timeout: 600000 });
    const state = await page.getAttribute('html', 'data-state');
    if (state !== 'done') throw new Error(`${file}: ${await page.textContent('[data-testid="error"]')}`);
    return await page.evaluate(() => window.crashlensTiming);
  } finally {
    await page.close();
  }
}

console.log(`| dump | size (MB) | first part (ms) | verdict (ms) | whole report (ms) | worker (ms) | peak wasm memory (MB) | file reads (calls / MB / ms) |`);
console.log(`|---|---:|---:|---:|---:|---:|---:|---:|`);
try {
  for (const d of dumps) {
    await once(d); // warm-up: the OS page cache and the browser's compiled wasm
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await once(d));
    const m = (k) => median(runs.map((r) => r[k]));
    const mb = (b) => (b / 1048576).toFixed(1);
    const name = path.relative(CACHE, d).startsWith('..') ? d : path.relative(CACHE, d);
    console.log(`| ${name} | ${mb(fs.statSync(d).size)} | ${m('firstPartMs')} | ${m('verdictMs')} | ${m('totalMs')} | ${m('workerMs')} | ${mb(m('wasmMemory'))} | ${reads(runs)} |`);
  }
} finally {
  await ctx.close();
  server.close();
  fs.rmSync(userDir, { recursive: true, force: true });
}

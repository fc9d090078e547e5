// CPU profile of one analysis in the built page (dist/): the worker's and the page's thread,
// through the DevTools protocol, summed by function (self time), plus the page's timings and
// the messages the worker posted (type, size, time). For finding where the page spends its time.
//   node tests/browser/profile.mjs DUMP [TOP]     (NOPROF=1: the timings and messages only;
//                                                SETTLE_MS: wait this long once the analyzer is
//                                                ready, default 500)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { serve } from './serve.mjs';

const require = createRequire(import.meta.url);
const { ws: WebSocket } = require('playwright-core/lib/utilsBundle');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIST = process.env.CRASHLENS_DIST || path.join(HERE, '../../dist');
const dump = process.argv[2];
const TOP = Number(process.argv[3] || 25);
const PORT = 9300 + (process.pid % 500);

const { server, url } = await serve(DIST, {});
const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlens-prof-'));
const ctx = await chromium.launchPersistentContext(userDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', `--remote-debugging-port=${PORT}`],
});
const ver = await (await fetch(`http://127.0.0.1:${PORT}/json/version`)).json();
const sock = new WebSocket(ver.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1 << 30 });
await new Promise((r) => sock.on('open', r));
let nextId = 1;
const waiting = new Map();
const targets = new Map(); // sessionId -> {type, url}
sock.on('message', (buf) => {
  const m = JSON.parse(buf.toString());
  if (m.id && waiting.has(m.id)) { const w = waiting.get(m.id); waiting.delete(m.id); m.error ? w.reject(new Error(JSON.stringify(m.error))) : w.resolve(m.result); return; }
  if (m.method === 'Target.attachedToTarget') {
    const { sessionId, targetInfo } = m.params;
    targets.set(sessionId, targetInfo);
    send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }, sessionId).catch(() => {});
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  sock.send(JSON.stringify({ id, method, params, sessionId }));
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

const page = await ctx.newPage();
await page.goto(url);
await page.waitForSelector('html[data-state="idle"]');
// Record the worker's messages as the page receives them.
await page.evaluate(() => {
  window.__msgs = [];
  const orig = Worker.prototype.addEventListener;
  const desc = Object.getOwnPropertyDescriptor(Worker.prototype, 'onmessage');
  Object.defineProperty(Worker.prototype, 'onmessage', {
    set(fn) { desc.set.call(this, (ev) => { const t0 = performance.now(); fn(ev); const d = ev.data || {}; window.__msgs.push({ t: Math.round(t0), type: d.type, phase: d.phase, json: d.json ? d.json.length : 0, sections: d.sections ? d.sections.length : 0, handlerMs: Math.round(performance.now() - t0), workerMs: d.ms != null ? Math.round(d.ms) : undefined }); }); },
    get() { return desc.get.call(this); },
  });
});
await page.waitForSelector('html[data-analyzer="ready"]', { timeout: 20000 }).catch(() => {});
await new Promise((r) => setTimeout(r, Number(process.env.SETTLE_MS || 500)));
const tlist = await send('Target.getTargets');
for (const t of tlist.targetInfos) {
  if (t.type === 'page' && t.url.startsWith(url)) await send('Target.attachToTarget', { targetId: t.targetId, flatten: true });
}
await new Promise((r) => setTimeout(r, 500));
const sessions = process.env.NOPROF ? [] : [...targets.entries()].filter(([, t]) => t.type === 'page' || t.type === 'worker');
for (const [s] of sessions) { await send('Profiler.enable', {}, s); await send('Profiler.setSamplingInterval', { interval: 200 }, s); await send('Profiler.start', {}, s); }
const start = await page.evaluate(() => performance.now());
await page.setInputFiles('[data-testid="dump-input"]', dump);
await page.waitForSelector('html[data-state="done"], html[data-state="error"]', { timeout: 600000 });
const timing = await page.evaluate(() => window.crashlensTiming);
const msgs = await page.evaluate(() => window.__msgs);
for (const [s, t] of sessions) {
  const { profile } = await send('Profiler.stop', {}, s);
  const dt = (profile.endTime - profile.startTime) / 1000;
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) || 0) + 1);
  const per = dt / profile.samples.length;
  for (const [id, c] of counts) {
    const n = byId.get(id);
    const k = n.callFrame.functionName || '(anon ' + path.basename(n.callFrame.url) + ':' + n.callFrame.lineNumber + ')';
    self.set(k, (self.get(k) || 0) + c * per);
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  console.log(`\n== ${t.type} ${t.url.split('/').pop()}: ${dt.toFixed(0)} ms profiled, self time by function`);
  for (const [k, v] of rows) console.log(`${v.toFixed(1).padStart(8)} ms  ${k.slice(0, 140)}`);
  fs.writeFileSync(path.join(os.tmpdir(), `crashlens-${t.type}.cpuprofile`), JSON.stringify(profile));
}
console.log('\ntiming', JSON.stringify(timing));
for (const m of msgs) console.log(`  +${m.t - Math.round(start)} ms ${m.type}${m.phase ? ' ' + m.phase : ''} json=${m.json} sections=${m.sections} handler=${m.handlerMs} ms${m.workerMs != null ? ' worker=' + m.workerMs : ''}`);
sock.close();
await ctx.close();
server.close();
fs.rmSync(userDir, { recursive: true, force: true });

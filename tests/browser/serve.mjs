// A tiny static file server for dist/ (no dependencies): `node serve.mjs DIR [HOST] [PORT]`.
// Used by scripts/serve.sh and by the browser tests. Loopback only by default.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8', '.md': 'text/markdown; charset=utf-8',
};

/** Starts a server for `dir`; resolves to { server, url }. `onRequest(req)` sees every request. */
/** `prefix` (e.g. '/tools/crashlens/') serves the directory under a sub-path, as static hosts do. */
export function serve(dir, { host = '127.0.0.1', port = 0, onRequest, prefix = '/' } = {}) {
  const rootDir = path.resolve(dir);
  const server = http.createServer((req, res) => {
    if (onRequest) onRequest(req);
    let rel;
    try { rel = decodeURIComponent(new URL(req.url, 'http://x').pathname); } catch { res.writeHead(400).end(); return; }
    if (!rel.startsWith(prefix)) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
    rel = '/' + rel.slice(prefix.length);
    let file = path.join(rootDir, rel);
    if (!file.startsWith(rootDir)) { res.writeHead(403).end(); return; }
    try { if (fs.statSync(file).isDirectory()) file = path.join(file, 'index.html'); } catch { /* 404 below */ }
    fs.readFile(file, (err, data) => {
      if (err) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        // The analyzer's files may be used by <crash-lens> on another origin (the wasm is fetched
        // across origins then). They are public files; nothing of a dump is ever served.
        'access-control-allow-origin': '*',
      });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      resolve({ server, url: `http://${host}:${a.port}${prefix}` });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir = 'dist', host = '127.0.0.1', port = '8080'] = process.argv.slice(2);
  if (!fs.existsSync(path.join(dir, 'index.html'))) { console.error(`${dir}/index.html not found: build first`); process.exit(1); }
  const { url } = await serve(dir, { host, port: Number(port) });
  console.log(`crashlens page: ${url}  (Ctrl-C to stop)`);
}

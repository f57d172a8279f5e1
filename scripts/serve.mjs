#!/usr/bin/env node
// A small static file server for the demo and the browser tests.
//
//   npm run demo                          # builds, then serves the demo on http://localhost:8080/
//   node scripts/serve.mjs --port 3000    # or PORT=3000; --port 0 picks a free port
//   node scripts/serve.mjs --no-isolation # without COOP/COEP: the engine runs single-threaded
//   node scripts/serve.mjs --host 0.0.0.0 # listen beyond localhost (default 127.0.0.1)
//
// With isolation on (the default) every response carries
//   Cross-Origin-Opener-Policy: same-origin
//   Cross-Origin-Embedder-Policy: require-corp
// which makes the page cross-origin isolated, so SharedArrayBuffer exists and
// wasmconv runs its worker pool over shared WebAssembly memory.
//
// The server serves the repository root (so /dist/index.js is what the demo imports)
// and redirects / to /demo/. It is also imported by the browser tests:
//   import { startServer } from './serve.mjs'; const s = await startServer({ port: 0 });
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

/**
 * Starts the server. Resolves to { server, port, url, close() }.
 * @param {{ port?: number, host?: string, root?: string, isolated?: boolean, index?: string, quiet?: boolean }} opts
 *   root: directory served (default: the repository); index: where / redirects (default /demo/,
 *   or none when root is not the repository); isolated: send COOP/COEP (default true).
 */
export function startServer(opts = {}) {
  const root = resolve(opts.root ?? REPO);
  const isolated = opts.isolated ?? true;
  const host = opts.host ?? '127.0.0.1';
  const index = opts.index ?? (root === REPO ? '/demo/' : null);
  const server = createServer((req, res) => {
    const headers = {
      'Cache-Control': 'no-store',
      // Same-origin resources only; CORP lets them load under COEP require-corp.
      'Cross-Origin-Resource-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
    };
    if (isolated) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400, headers).end('bad request\n');
      return;
    }
    if (pathname === '/' && index) {
      res.writeHead(302, { ...headers, Location: index }).end();
      return;
    }
    if (pathname === '/favicon.ico') {
      res.writeHead(204, headers).end();
      return;
    }
    const file = normalize(join(root, pathname));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403, headers).end('forbidden\n');
      return;
    }
    let target = file;
    let st;
    try {
      st = statSync(target);
      if (st.isDirectory()) {
        if (!pathname.endsWith('/')) {
          res.writeHead(301, { ...headers, Location: pathname + '/' }).end();
          return;
        }
        target = join(target, 'index.html');
        st = statSync(target);
      }
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${pathname}\n`);
      return;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': TYPES[extname(target).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': st.size,
    });
    if (req.method === 'HEAD') { res.end(); return; }
    createReadStream(target).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, host, () => {
      server.off('error', reject);
      const port = server.address().port;
      const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host === '127.0.0.1' ? 'localhost' : host;
      const url = `http://${shown}:${port}/`;
      resolvePromise({
        server, port, url, isolated,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

function parseArgs(argv) {
  const out = { port: process.env.PORT !== undefined ? Number(process.env.PORT) : 8080, isolated: true, host: process.env.HOST ?? '127.0.0.1', root: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--port' || a.startsWith('--port=') || a === '-p') out.port = Number(value());
    else if (a === '--host' || a.startsWith('--host=')) out.host = value();
    else if (a === '--root' || a.startsWith('--root=')) out.root = value();
    else if (a === '--no-isolation') out.isolated = false;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/serve.mjs [--port N] [--host H] [--root DIR] [--no-isolation]   (PORT and HOST env work too)');
      process.exit(0);
    } else fail(`unknown argument ${a} (try --help)`);
  }
  if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535) fail(`port must be an integer from 0 to 65535, got ${out.port}`);
  return out;
}

function fail(msg) {
  console.error(`serve: ${msg}`);
  process.exit(2);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = parseArgs(process.argv.slice(2));
  try {
    statSync(join(REPO, 'dist', 'index.js'));
  } catch {
    if (!args.root) console.warn('serve: dist/index.js is missing; run `npm run build` first (npm run demo does).');
  }
  startServer(args).then((s) => {
    const where = args.root ? s.url : `${s.url}demo/`;
    console.log(`wasmconv demo: ${where}`);
    console.log(s.isolated
      ? '  cross-origin isolated (COOP same-origin, COEP require-corp): the engine uses worker threads'
      : '  not cross-origin isolated (--no-isolation): the engine runs single-threaded');
    console.log('  Ctrl+C to stop');
  }, (e) => {
    fail(e.code === 'EADDRINUSE' ? `port ${args.port} is in use; pick another with --port N or PORT=N` : e.message);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
}

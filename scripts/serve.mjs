#!/usr/bin/env node
// A small static file server for the demo and the browser tests.
//
//   npm run demo                          # builds, then serves the demo on http://localhost:8080/
//   node scripts/serve.mjs --port 3000    # or PORT=3000; --port 0 picks a free port
//   node scripts/serve.mjs --no-isolation # without COOP/COEP: the engine runs single-threaded
//   node scripts/serve.mjs --host 0.0.0.0 # listen beyond localhost (default 127.0.0.1)
//   node scripts/serve.mjs --fashion-mnist DIR   # where the full Fashion-MNIST is (default: Debian's)
//
// With isolation on (the default) every response carries
//   Cross-Origin-Opener-Policy: same-origin
//   Cross-Origin-Embedder-Policy: require-corp
// which makes the page cross-origin isolated, so SharedArrayBuffer exists and
// wasmconv runs its worker pool over shared WebAssembly memory.
//
// The server serves the repository root (so /dist/index.js is what the demo imports)
// and redirects / to /demo/. Under /data/ it serves datasets from outside the
// repository, for the demo's LeNet panel:
//   /data/index.json                   which datasets this server has: { "fashion-mnist": { available, url, files } }
//   /data/fashion-mnist/<IDX file>     the four (gzip) IDX files of Fashion-MNIST, from
//                                      /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist
//                                      package) or --fashion-mnist DIR; 404 when absent
// Only those exact file names are served from there, so no path leads elsewhere.
// (The repository itself ships a subset, test/fixtures/fashion-mnist/, served as any file.)
//
// It is also imported by the browser tests:
//   import { startServer } from './serve.mjs'; const s = await startServer({ port: 0 });
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Debian's dataset-fashion-mnist package puts the four gzip IDX files here. */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const IDX_STEMS = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
/** The only names /data/fashion-mnist/ answers to (loadMNIST asks for `.gz` first, then the raw file). */
const IDX_NAMES = new Set(IDX_STEMS.flatMap((f) => [`${f}.gz`, f]));

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
  '.gz': 'application/gzip',
};

/** A regular file's size, or null. */
function fileSize(path) {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

/** What /data/index.json says about a Fashion-MNIST directory (null: none configured). */
function fashionMnistIndex(dir) {
  const files = [];
  let available = dir !== null;
  for (const stem of IDX_STEMS) {
    const name = dir === null ? null : [`${stem}.gz`, stem].find((n) => fileSize(join(dir, n)) !== null);
    if (name) files.push(name); else available = false;
  }
  return { available, url: '/data/fashion-mnist/', files };
}

/**
 * Starts the server. Resolves to { server, port, url, close() }.
 * @param {{ port?: number, host?: string, root?: string, isolated?: boolean, index?: string, quiet?: boolean, fashionMnist?: string | null }} opts
 *   root: directory served (default: the repository); index: where / redirects (default /demo/,
 *   or none when root is not the repository); isolated: send COOP/COEP (default true);
 *   fashionMnist: the directory /data/fashion-mnist/ serves (default Debian's; null: none).
 */
export function startServer(opts = {}) {
  const root = resolve(opts.root ?? REPO);
  const fashionMnist = opts.fashionMnist === null ? null : resolve(opts.fashionMnist ?? DEBIAN_FASHION_MNIST);
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
    if (pathname === '/data' || pathname.startsWith('/data/')) {
      serveData(req, res, headers, pathname, fashionMnist);
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

/** /data/index.json and /data/fashion-mnist/<IDX file>; everything else under /data/ is 404. */
function serveData(req, res, headers, pathname, fashionMnist) {
  const notFound = () => res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${pathname}\n`);
  if (pathname === '/data/index.json') {
    const body = JSON.stringify({ 'fashion-mnist': fashionMnistIndex(fashionMnist) });
    res.writeHead(200, { ...headers, 'Content-Type': TYPES['.json'], 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  const prefix = '/data/fashion-mnist/';
  const name = pathname.startsWith(prefix) ? pathname.slice(prefix.length) : '';
  if (fashionMnist === null || !IDX_NAMES.has(name)) { notFound(); return; }
  const file = join(fashionMnist, name);
  const size = fileSize(file);
  if (size === null) { notFound(); return; }
  res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(name)] ?? 'application/octet-stream', 'Content-Length': size });
  if (req.method === 'HEAD') { res.end(); return; }
  createReadStream(file).pipe(res);
}

function parseArgs(argv) {
  const out = { port: process.env.PORT !== undefined ? Number(process.env.PORT) : 8080, isolated: true, host: process.env.HOST ?? '127.0.0.1', root: undefined, fashionMnist: undefined };
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
    else if (a === '--fashion-mnist' || a.startsWith('--fashion-mnist=')) out.fashionMnist = value();
    else if (a === '--no-isolation') out.isolated = false;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/serve.mjs [--port N] [--host H] [--root DIR] [--fashion-mnist DIR] [--no-isolation]   (PORT and HOST env work too)');
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
    const data = fashionMnistIndex(args.fashionMnist === undefined ? DEBIAN_FASHION_MNIST : resolve(args.fashionMnist));
    console.log(data.available
      ? `  the full Fashion-MNIST from ${args.fashionMnist ?? DEBIAN_FASHION_MNIST} at /data/fashion-mnist/`
      : `  no full Fashion-MNIST in ${args.fashionMnist ?? DEBIAN_FASHION_MNIST} (apt-get install dataset-fashion-mnist, or --fashion-mnist DIR): the LeNet panel trains on the shipped subset`);
    console.log('  Ctrl+C to stop');
  }, (e) => {
    fail(e.code === 'EADDRINUSE' ? `port ${args.port} is in use; pick another with --port N or PORT=N` : e.message);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
}

// The package's ESM build in a browser, with nothing but the import: a plain
// <script type="module"> page, a module Web Worker, and a small app built with
// Vite (in the repository, and as a consumer that installed the packed package,
// built and on Vite's dev server). Cross-origin isolated pages must run the worker
// pool over shared memory; other pages one thread, with backendInfo().note saying why.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  REPO, launch, loadWasmconv, maxDiff, nodeChapter, requirePrerequisites, screenshot, serve, watch,
  type Served, type Wasmconv, type Watch,
} from './helpers';

interface Result {
  info: { backend: string; build: string; threads: number; sharedMemory: boolean; note?: string };
  crossOriginIsolated: boolean;
  edge: number[][];
  weight: number[];
  loss: number[];
  multi: number[];
  error?: string;
}

let browser: Awaited<ReturnType<typeof launch>>;
let wc: Wasmconv;
let expected: { edge: number[][]; weight: number[]; loss: number[]; multi: number[] };
const temp: string[] = [];
const servers: Served[] = [];
const byPage: Record<string, Result> = {};

beforeAll(async () => {
  requirePrerequisites();
  wc = await loadWasmconv();
  await wc.init();
  const chapter = nodeChapter(wc, { seed: 42, lr: 3e-2, epochs: 10 });
  const multi = wc.tidy(() => Array.from(
    wc.conv2d(wc.randn([2, 8, 48, 48], { seed: 1 }), wc.randn([16, 8, 3, 3], { seed: 2 }), { padding: 1 }).data()));
  expected = { ...chapter, multi };
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  for (const d of temp) rmSync(d, { recursive: true, force: true });
});

async function server(opts: Parameters<typeof serve>[0]): Promise<Served> {
  const s = await serve(opts);
  servers.push(s);
  return s;
}

/** Opens `url`, waits for the page's `body[data-done]`, returns its `window.__result`. */
async function run(url: string, shot: string): Promise<{ page: Page; w: Watch; r: Result }> {
  const page = await browser.context.newPage();
  const w = watch(page);
  await page.goto(url);
  await page.waitForSelector('body[data-done]', { timeout: 60_000 });
  const r = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as Result;
  await screenshot(page, shot);
  expect(r.error, r.error).toBeUndefined();
  expect(await page.getAttribute('body', 'data-done')).toBe('ok');
  return { page, w, r };
}

function expectChapterResults(r: Result) {
  expect(r.info.backend).toBe('wasm');
  expect(r.edge).toEqual(expected.edge);
  expect(maxDiff(r.weight, expected.weight), `browser ${r.weight} vs node ${expected.weight}`).toBeLessThanOrEqual(1e-6);
  expect(maxDiff(r.loss, expected.loss)).toBeLessThanOrEqual(1e-5);
  expect(r.multi.length).toBe(expected.multi.length);
  // relaxed SIMD (fused multiply-add) in Chromium vs plain SIMD in Node 20
  expect(maxDiff(r.multi, expected.multi)).toBeLessThanOrEqual(1e-4);
}

function expectThreads(r: Result, w: Watch) {
  expect(r.crossOriginIsolated).toBe(true);
  expect(r.info.threads).toBeGreaterThan(1);
  expect(r.info.sharedMemory).toBe(true);
  expect(r.info.note).toBeUndefined();
  expect(w.workers.filter((u) => u.startsWith('blob:')).length).toBe(r.info.threads - 1);
}

function expectSingleThread(r: Result, w: Watch) {
  expect(r.crossOriginIsolated).toBe(false);
  expect(r.info.threads).toBe(1);
  expect(r.info.sharedMemory).toBe(false);
  expect(w.workers.filter((u) => u.startsWith('blob:'))).toEqual([]);
}

function expectClean(w: Watch) {
  expect(w.problems, w.log.join('\n')).toEqual([]);
  expect(w.requests.filter((u) => u.startsWith('node:') || /worker_threads|node%3A/.test(u))).toEqual([]);
}

describe('plain <script type="module">', () => {
  it('cross-origin isolated: threads over shared memory; only the page and dist/index.js are fetched', async () => {
    const s = await server({ isolated: true });
    const { page, w, r } = await run(`${s.url}test/browser/plain/`, 'plain-isolated');
    expectThreads(r, w);
    expectChapterResults(r);
    expectClean(w);
    const fetched = w.requests.filter((u) => !u.startsWith('blob:') && !u.startsWith('data:')).map((u) => new URL(u).pathname);
    expect(fetched).toEqual(['/test/browser/plain/', '/dist/index.js']);
    byPage.plainIsolated = r;
    await page.close();
  });

  it('not isolated: one thread on the non-shared build, the same numbers, and backendInfo().note says why', async () => {
    const s = await server({ isolated: false });
    const { page, w, r } = await run(`${s.url}test/browser/plain/`, 'plain-not-isolated');
    expectSingleThread(r, w);
    expectChapterResults(r);
    expectClean(w);
    if (byPage.plainIsolated) {
      expect(r.edge).toEqual(byPage.plainIsolated.edge);
      expect(r.weight).toEqual(byPage.plainIsolated.weight);
      expect(r.loss).toEqual(byPage.plainIsolated.loss);
      // results do not depend on the thread count
      expect(r.multi).toEqual(byPage.plainIsolated.multi);
    }
    await page.close();
    // The engine's contract: a page that is not cross-origin isolated runs single-threaded
    // "with backendInfo().note explaining why" -- also for a plain `await init()`.
    expect(r.info.note ?? `no note in ${JSON.stringify(r.info)}`, 'init() in a non-isolated page should say why it runs on one thread')
      .toMatch(/cross-origin isolated|SharedArrayBuffer/);
  });
});

/** The page's own engine ran the same problem while the worker ran: identical results on both. */
async function expectPageBesideWorker(page: Page, r: { edge: unknown; weight: unknown; loss: unknown }): Promise<void> {
  const p = (await page.evaluate(() => (window as unknown as { __page: unknown }).__page)) as { edge: unknown; weight: unknown; loss: unknown; rounds: number; error?: string };
  expect(p.error).toBeUndefined();
  expect(p.rounds).toBeGreaterThanOrEqual(3);
  expect(p.edge).toEqual(r.edge);
  expect(p.weight).toEqual(r.weight);
  expect(p.loss).toEqual(r.loss);
}

describe('module Web Worker', () => {
  it('cross-origin isolated: the engine in a worker starts its own pool (nested workers)', async () => {
    const s = await server({ isolated: true });
    const { page, w, r } = await run(`${s.url}test/browser/worker/`, 'worker-isolated');
    expectThreads(r, w);
    expectChapterResults(r);
    expectClean(w);
    expect(w.workers.some((u) => u.endsWith('/test/browser/worker/worker.js'))).toBe(true);
    await expectPageBesideWorker(page, r);
    await page.close();
  });

  it('not isolated: single-threaded in the worker', async () => {
    const s = await server({ isolated: false });
    const { page, w, r } = await run(`${s.url}test/browser/worker/`, 'worker-not-isolated');
    expectSingleThread(r, w);
    expectChapterResults(r);
    expectClean(w);
    await expectPageBesideWorker(page, r);
    await page.close();
  });
});

describe('Vite', () => {
  type ViteModule = typeof import('vite');
  let vite: ViteModule;
  const warnings: string[] = [];
  const logger = () => {
    const base = vite.createLogger('warn');
    return { ...base, warn: (msg: string, o?: unknown) => { warnings.push(msg); base.warn(msg, o as never); }, warnOnce: (msg: string) => warnings.push(msg) };
  };

  beforeAll(async () => { vite = await import('vite'); });

  async function viteBuild(root: string): Promise<string> {
    const outDir = mkdtempSync(join(tmpdir(), 'wasmconv-vite-out-'));
    temp.push(outDir);
    // No plugins and no options about wasm, workers or wasmconv: only where to build.
    await vite.build({ root, configFile: false, logLevel: 'warn', customLogger: logger(), build: { outDir, emptyOutDir: true } });
    return outDir;
  }

  function bundleText(outDir: string): string {
    const assets = join(outDir, 'assets');
    return readdirSync(assets).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(assets, f), 'utf8')).join('\n');
  }

  /** A consumer project: the app, with the packed package installed in node_modules/. */
  function consumer(): string {
    const dir = mkdtempSync(join(tmpdir(), 'wasmconv-consumer-'));
    temp.push(dir);
    cpSync(join(REPO, 'test', 'browser', 'vite-app'), dir, { recursive: true, filter: (src) => !src.includes('node_modules') && !src.includes(`${join('vite-app', 'dist')}`) });
    const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8' }).trim().split('\n').pop()!;
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, tgz), '-C', join(dir, 'node_modules')]);
    renameSync(join(dir, 'node_modules', 'package'), join(dir, 'node_modules', 'wasmconv'));
    return dir;
  }

  it('the test app (test/browser/vite-app) builds and runs with threads in an isolated page', async () => {
    const outDir = await viteBuild(join(REPO, 'test', 'browser', 'vite-app'));
    // the engine (wasm builds embedded as base64, worker source inline) is in the one bundle
    expect(readdirSync(join(outDir, 'assets')).filter((f) => !f.endsWith('.js'))).toEqual([]);
    expect(bundleText(outDir).includes('WebAssembly.Memory')).toBe(true);
    const s = await server({ root: outDir, isolated: true, index: null });
    const { page, w, r } = await run(s.url, 'vite-app-isolated');
    expectThreads(r, w);
    expectChapterResults(r);
    expectClean(w);
    await page.close();
    expect(warnings, warnings.join('\n')).toEqual([]);
  });

  it('a consumer with the packed package in node_modules: built, served without isolation', async () => {
    const dir = consumer();
    const outDir = await viteBuild(dir);
    const s = await server({ root: outDir, isolated: false, index: null });
    const { page, w, r } = await run(s.url, 'vite-consumer-not-isolated');
    expectSingleThread(r, w);
    expectChapterResults(r);
    expectClean(w);
    await page.close();
    expect(warnings, warnings.join('\n')).toEqual([]);
  });

  it("a consumer on Vite's dev server (dependency pre-bundling), with COOP/COEP headers", async () => {
    const dir = consumer();
    const port = await freePort();
    const dev = await vite.createServer({
      root: dir, configFile: false, logLevel: 'warn', customLogger: logger(),
      server: {
        host: '127.0.0.1', port, strictPort: true, hmr: false,
        headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
      },
    });
    await dev.listen();
    try {
      const { page, w, r } = await run(`http://127.0.0.1:${port}/`, 'vite-dev-isolated');
      expectThreads(r, w);
      expectChapterResults(r);
      expectClean(w);
      // the dependency came through Vite's optimiser, as it does in a real project
      expect(w.requests.some((u) => /\/\.vite\/deps\/wasmconv\.js/.test(u)), w.requests.join('\n')).toBe(true);
      await page.close();
    } finally {
      await dev.close();
    }
    expect(warnings, warnings.join('\n')).toEqual([]);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

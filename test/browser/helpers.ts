// Shared pieces of the browser tests: Debian's Chromium driven by playwright-core,
// the static server of scripts/serve.mjs, the Node build of the library for the
// expected values, and a page watcher that collects everything that went wrong.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS = join(REPO, 'test-results', 'browser');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
];

/** The library as Node sees it: the same dist/index.js the pages load. */
export type Wasmconv = typeof import('../../src/index');

/** Fails with what to do when the build or the browser is missing (never skips). */
export function requirePrerequisites(): void {
  if (!existsSync(join(REPO, 'dist', 'index.js'))) {
    throw new Error('dist/index.js is missing: run `npm run build` first (`npm run test:browser` does)');
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run \`bash scripts/ensure-chromium.sh\` (as root it installs Debian's chromium package), or install chromium yourself`);
  }
}

export async function loadWasmconv(): Promise<Wasmconv> {
  const url = pathToFileURL(join(REPO, 'dist', 'index.js')).href;
  return (await import(/* @vite-ignore */ url)) as Wasmconv;
}

export interface Served { port: number; url: string; isolated: boolean; close(): Promise<void> }
/** startServer's options (scripts/serve.mjs); fashionMnist: the directory /data/fashion-mnist/ serves (null: none). */
export interface ServeOptions { root?: string; isolated?: boolean; index?: string | null; port?: number; fashionMnist?: string | null }

export async function serve(opts: ServeOptions): Promise<Served> {
  const url = pathToFileURL(join(REPO, 'scripts', 'serve.mjs')).href;
  const mod = (await import(/* @vite-ignore */ url)) as { startServer(o: ServeOptions & { port: number }): Promise<Served> };
  return mod.startServer({ port: 0, ...opts });
}

/** Headless Chromium with a fresh profile in a temp directory, removed on close. */
export async function launch(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'wasmconv-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 900 },
    timeout: 60_000,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A test file's Chromium and one static server, started before its tests and
 * closed after them (the prerequisites checked first). Read the fields inside tests.
 */
export function useChromium(opts: ServeOptions): { browser: Awaited<ReturnType<typeof launch>>; server: Served } {
  const session = {} as { browser: Awaited<ReturnType<typeof launch>>; server: Served };
  beforeAll(async () => {
    requirePrerequisites();
    session.browser = await launch();
    session.server = await serve(opts);
  });
  afterAll(async () => {
    await session.browser?.close();
    await session.server?.close();
  });
  return session;
}

/**
 * Opens `url` in a new page of `browser` (watched), waits for the page's
 * `body[data-done]`, expects no `window.__error` and returns `window.__result`.
 */
export async function pageResult<T>(browser: Awaited<ReturnType<typeof launch>>, url: string): Promise<{ page: Page; w: Watch; r: T }> {
  const page = await browser.context.newPage();
  const w = watch(page);
  await page.goto(url);
  await page.waitForSelector('body[data-done]', { timeout: 60_000 });
  const error = await page.evaluate(() => (window as unknown as { __error?: string }).__error);
  expect(error, error).toBeUndefined();
  return { page, w, r: (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as T };
}

export interface Watch {
  /** Console errors, uncaught exceptions, failed requests and HTTP errors, as lines. */
  problems: string[];
  /** Every URL the page and its workers requested. */
  requests: string[];
  /** URLs of the workers the page started. */
  workers: string[];
  /** Every console line, for the failure message. */
  log: string[];
}

/** Records what goes wrong in a page (and its workers) from now on. */
export function watch(page: Page): Watch {
  const w: Watch = { problems: [], requests: [], workers: [], log: [] };
  page.on('console', (m) => {
    w.log.push(`[${m.type()}] ${m.text()}`);
    if (m.type() === 'error') w.problems.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => w.problems.push(`uncaught: ${e.stack ?? e.message}`));
  page.on('request', (r) => w.requests.push(r.url()));
  page.on('requestfailed', (r) => w.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => { if (r.status() >= 400) w.problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  page.on('worker', (wk) => {
    w.workers.push(wk.url());
    wk.on('console', (m) => {
      w.log.push(`[worker ${m.type()}] ${m.text()}`);
      if (m.type() === 'error') w.problems.push(`worker console.error: ${m.text()}`);
    });
  });
  page.on('crash', () => w.problems.push('the page crashed'));
  return w;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The chapter's image: ones(6, 8) with columns 2..5 zero. */
export function chapterImage(wc: Wasmconv) {
  const X = wc.ones([6, 8]);
  X.assign((X.toArray() as number[][]).map((row) => row.map((v, j) => (j >= 2 && j < 6 ? 0 : v))));
  return X;
}

/** What the chapter computes in Node: the edge map and the kernel learned with `fit`. */
export function nodeChapter(wc: Wasmconv, { seed, lr, epochs }: { seed: number; lr: number; epochs: number }) {
  return wc.tidy(() => {
    const X = chapterImage(wc);
    const Y = wc.corr2d(X, wc.tensor([[1, -1]]));
    const conv = new wc.nn.Conv2D(1, 1, [1, 2], { bias: false, seed });
    const { loss } = wc.fit(conv, X.reshape([1, 1, 6, 8]), Y.reshape([1, 1, 6, 7]), { epochs, lr, loss: 'sse' });
    const weight = Array.from(conv.weight.data());
    conv.dispose();
    return { edge: Y.toArray() as number[][], loss, weight };
  });
}

/** Largest |a - b| over two equally long lists (Infinity when the lengths differ). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

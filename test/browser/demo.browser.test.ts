// The demo page (demo/, served by scripts/serve.mjs) in headless Chromium, cross-
// origin isolated and not: it loads without a console error, the chapter's edge
// map, the photo filters and the learned kernel equal what the same API computes
// in Node, the controls retrain, and the benchmark runs on 1 and all threads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  REPO, launch, loadWasmconv, maxDiff, nodeChapter, requirePrerequisites, screenshot, serve, watch,
  type Served, type Wasmconv, type Watch,
} from './helpers';

interface DemoState {
  info: { backend: string; build: string; threads: number; sharedMemory: boolean; note?: string };
  crossOriginIsolated: boolean;
  chapter: { X: number[][]; K: number[][]; Y: number[][]; YT: number[][] };
  photo: { width: number; height: number; sum: number };
  filters: Array<{ id: string; ms: number; shape: number[]; sum: number; sumAbs: number; sample: number[] }>;
  learn: { params: { lr: number; epochs: number; seed: number }; losses: number[]; weights: number[][]; weight: number[] };
  bench: null | {
    n: number; kh: number; kw: number; jsMs: number; speedup: number; maxErr: number;
    one: { info: DemoState['info']; ms: number; maxErr: number };
    all: { info: DemoState['info']; ms: number; maxErr: number };
  };
}

const KERNELS: Record<string, number[][]> = {
  'diff-x': [[1, -1]],
  'diff-y': [[1], [-1]],
  'sobel-x': [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
  'sobel-y': [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
  laplacian: [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
  'blur-5': [1, 4, 6, 4, 1].map((u) => [1, 4, 6, 4, 1].map((v) => (u * v) / 256)),
};

let browser: Awaited<ReturnType<typeof launch>>;
let wc: Wasmconv;
let isolated: Served;
let notIsolated: Served;
const seen: Record<string, DemoState> = {};

async function state(page: Page): Promise<DemoState> {
  return page.evaluate(() => {
    const s = (window as unknown as { wasmconvDemo: DemoState & { ready?: unknown } }).wasmconvDemo;
    const { ready: _ready, ...rest } = s;
    return JSON.parse(JSON.stringify(rest)) as DemoState;
  });
}

async function openDemo(server: Served): Promise<{ page: Page; w: Watch }> {
  const page = await browser.context.newPage();
  const w = watch(page);
  await page.goto(`${server.url}demo/`);
  await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
  expect(await page.getAttribute('body', 'data-ready'), w.problems.join('\n')).toBe('true');
  return { page, w };
}

/** The photo's filters in Node, from the PNG decoded here. */
async function nodeFilters() {
  const png = (await import(/* @vite-ignore */ pathToFileURL(join(REPO, 'demo', 'png.mjs')).href)) as {
    decodeGrayPNG(b: Buffer): { width: number; height: number; pixels: Uint8Array };
  };
  const { width, height, pixels } = png.decodeGrayPNG(readFileSync(join(REPO, 'demo', 'photo.png')));
  const gray = new Float32Array(pixels.length);
  let pixelSum = 0;
  for (let i = 0; i < pixels.length; i++) { gray[i] = pixels[i] / 255; pixelSum += pixels[i]; }
  const out: Record<string, { shape: number[]; sum: number; sumAbs: number; sample: number[] }> = {};
  wc.tidy(() => {
    const X = wc.tensor(gray, [height, width]);
    for (const [id, k] of Object.entries(KERNELS)) {
      const Y = wc.corr2d(X, wc.tensor(k));
      const d = Y.data();
      let sum = 0, sumAbs = 0;
      for (const v of d) { sum += v; sumAbs += Math.abs(v); }
      out[id] = { shape: [...Y.shape], sum, sumAbs, sample: Array.from(d.subarray(0, 16)) };
    }
  });
  return { width, height, pixelSum, out };
}

async function checkCommon(page: Page, s: DemoState) {
  // (a) the edge map, exactly
  const node = nodeChapter(wc, { seed: 42, lr: 0.03, epochs: 10 });
  expect(s.chapter.Y).toEqual(node.edge);
  expect(s.chapter.Y).toEqual(Array.from({ length: 6 }, () => [0, 1, 0, 0, 0, -1, 0]));
  expect(s.chapter.YT.flat().every((v) => v === 0)).toBe(true);
  expect(await page.locator('#chapter-grids .cell').count()).toBe(6 * 8 + 2 + 6 * 7);

  // (b) the photo: read exactly as Node decodes it, filtered to the same numbers
  const nf = await nodeFilters();
  expect(s.photo).toEqual({ width: nf.width, height: nf.height, sum: nf.pixelSum });
  expect(s.filters.map((f) => f.id)).toEqual(Object.keys(KERNELS));
  for (const f of s.filters) {
    const n = nf.out[f.id];
    expect(f.shape, f.id).toEqual(n.shape);
    expect(Math.abs(f.sum - n.sum), `${f.id} sum ${f.sum} vs ${n.sum}`).toBeLessThanOrEqual(1e-6 * n.sumAbs + 1e-3);
    expect(Math.abs(f.sumAbs - n.sumAbs), `${f.id} sum|.|`).toBeLessThanOrEqual(1e-6 * n.sumAbs + 1e-3);
    expect(maxDiff(f.sample, n.sample), `${f.id} first values`).toBeLessThanOrEqual(1e-6);
    expect(f.ms).toBeGreaterThan(0);
    await expect.poll(() => page.locator(`#filter-${f.id} .time`).textContent()).toMatch(/^\d+(\.\d+)? ms$/);
  }

  // (c) the kernel learned with the default controls
  expect(s.learn.params).toEqual({ lr: 0.03, epochs: 10, seed: 42 });
  expect(maxDiff(s.learn.weight, node.weight), `page ${s.learn.weight} vs node ${node.weight}`).toBeLessThanOrEqual(1e-6);
  expect(maxDiff(s.learn.losses, node.loss)).toBeLessThanOrEqual(1e-5);
  expect(s.learn.weight[0]).toBeCloseTo(1, 1);
  expect(s.learn.weight[1]).toBeCloseTo(-1, 1);
  expect(await page.locator('#learn-status').textContent()).toMatch(/after 10 epochs/);
}

async function retrain(page: Page, params: { lr: number; epochs: number; seed: number }) {
  await page.fill('#lr', String(params.lr));
  await page.fill('#epochs', String(params.epochs));
  await page.fill('#seed', String(params.seed));
  await page.click('#train');
  await page.waitForFunction((p) => {
    const s = (window as unknown as { wasmconvDemo: DemoState }).wasmconvDemo;
    return document.getElementById('learn')?.dataset.state === 'done' && s.learn?.params.epochs === p.epochs && s.learn.weight !== null;
  }, params, { timeout: 30_000 });
  const s = await state(page);
  const node = nodeChapter(wc, params);
  expect(s.learn.params).toEqual(params);
  expect(s.learn.losses).toHaveLength(params.epochs);
  expect(maxDiff(s.learn.weight, node.weight), `page ${s.learn.weight} vs node ${node.weight}`).toBeLessThanOrEqual(1e-6);
  expect(maxDiff(s.learn.losses, node.loss)).toBeLessThanOrEqual(1e-5);
  return s;
}

async function benchmark(page: Page, n: number, k: number) {
  await page.selectOption('#bench-n', String(n));
  await page.selectOption('#bench-k', String(k));
  await page.click('#bench-run');
  await page.waitForSelector('#bench[data-state=done]', { timeout: 60_000 });
  const s = await state(page);
  expect(s.bench).not.toBeNull();
  const b = s.bench!;
  expect([b.n, b.kh, b.kw]).toEqual([n, k === 2 ? 1 : k, k]);
  expect(b.one.info.threads).toBe(1);
  expect(b.maxErr).toBeLessThan(1e-4);
  expect(b.jsMs).toBeGreaterThan(0);
  expect(b.one.ms).toBeGreaterThan(0);
  expect(await page.locator('#bench-out tbody tr').count()).toBe(3);
  expect(await page.locator('#bench-ratio').textContent()).toMatch(/as fast as the plain-JavaScript corr2d/);
  return b;
}

beforeAll(async () => {
  requirePrerequisites();
  wc = await loadWasmconv();
  await wc.init();
  browser = await launch();
  isolated = await serve({ isolated: true });
  notIsolated = await serve({ isolated: false });
});

afterAll(async () => {
  await browser?.close();
  await isolated?.close();
  await notIsolated?.close();
});

describe('demo page', () => {
  it('cross-origin isolated: worker pool over shared memory, results equal Node, controls and benchmark work', async () => {
    const { page, w } = await openDemo(isolated);
    const s = await state(page);
    expect(s.crossOriginIsolated).toBe(true);
    expect(s.info.backend).toBe('wasm');
    expect(s.info.threads).toBeGreaterThan(1);
    expect(s.info.sharedMemory).toBe(true);
    expect(s.info.note).toBeUndefined();
    // the pool's workers come from an inline source (Blob URL), not from files
    expect(w.workers.length).toBe(s.info.threads - 1);
    for (const u of w.workers) expect(u.startsWith('blob:')).toBe(true);
    await checkCommon(page, s);
    seen.isolated = s;
    await screenshot(page, 'demo-isolated');

    seen.retrainIsolated = await retrain(page, { lr: 0.02, epochs: 25, seed: 7 });
    const b = await benchmark(page, 256, 3);
    expect(b.all.info.threads).toBe(s.info.threads);
    expect(b.all.info.sharedMemory).toBe(true);
    expect(b.all.maxErr).toBeLessThan(1e-4);
    // the header follows the re-initialised backend
    expect(await page.getAttribute('#backend', 'data-threads')).toBe(String(b.all.info.threads));
    await screenshot(page, 'demo-isolated-after-benchmark');
    expect(w.problems, w.log.join('\n')).toEqual([]);
    await page.close();
  });

  it('not isolated: single-threaded without shared memory, the same numbers', async () => {
    const { page, w } = await openDemo(notIsolated);
    const s = await state(page);
    expect(s.crossOriginIsolated).toBe(false);
    expect(s.info.threads).toBe(1);
    expect(s.info.sharedMemory).toBe(false);
    expect(w.workers).toEqual([]);
    expect(await page.locator('#backend').textContent()).toMatch(/not cross-origin isolated/);
    await checkCommon(page, s);
    if (seen.isolated) {
      expect(s.chapter).toEqual(seen.isolated.chapter);
      expect(s.learn.weight).toEqual(seen.isolated.learn.weight);
      expect(s.learn.losses).toEqual(seen.isolated.learn.losses);
      expect(s.filters.map((f) => [f.id, f.shape, f.sum, f.sample])).toEqual(seen.isolated.filters.map((f) => [f.id, f.shape, f.sum, f.sample]));
    }
    await screenshot(page, 'demo-not-isolated');
    const r = await retrain(page, { lr: 0.02, epochs: 25, seed: 7 });
    if (seen.retrainIsolated) expect(r.learn.weight).toEqual(seen.retrainIsolated.learn.weight);
    // asking for every thread re-initialises, stays on one, and says why
    const b = await benchmark(page, 128, 3);
    expect(b.all.info.threads).toBe(1);
    expect(b.all.info.sharedMemory).toBe(false);
    expect(b.all.info.note ?? '').toMatch(/cross-origin isolated|SharedArrayBuffer/);
    expect(w.problems, w.log.join('\n')).toEqual([]);
    await page.close();
  });
});

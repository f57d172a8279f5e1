// The demo page's LeNet panel (demo/lenet.js, demo/lenet-worker.js) in headless
// Chromium: the book's LeNet trained in the page's module worker gives Node's
// losses to the bit (the SIMD build forced on both sides; Node on 1 and on 2
// threads, which agree by design), threads nested in the worker when the page
// is cross-origin isolated, one thread otherwise; pausing and resuming through
// the buttons ends with the uninterrupted run's bits; the prediction grid shows
// 24 test images with Node's predictions; the trained model's downloads (a
// safetensors state dict, an ONNX model) are the bytes Node writes for the
// same model, and ONNX Runtime runs the ONNX one. Also the demo server's
// /data/ routes.
import { mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  REPO, RESULTS, launch, loadWasmconv, maxDiff, requirePrerequisites, screenshot, serve, watch,
  type Served, type Wasmconv, type Watch,
} from './helpers';

const SUBSET = join(REPO, 'test', 'fixtures', 'fashion-mnist');
const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** The train-steps check: 30 steps of batches of 128 (the subset has 40 a epoch). */
const STEPS = { steps: 30, batchSize: 128, seed: 0 };

interface EpochLog { epoch: number; loss: number; accuracy: number; valLoss: number; valAccuracy: number; seconds: number; imagesPerSecond: number | null }
interface Panel {
  status: string;
  engine: null | { info: { backend: string; build: string; threads: number; sharedMemory: boolean; note?: string }; note: string | null; crossOriginIsolated: boolean };
  full: null | { url: string; files: string[] };
  data: null | { url: string; train: number; test: number };
  run: null | { model: string; data: string; epochs: number; seed: number; build?: string; threads?: number };
  batches: number;
  losses: number[];
  epochs: EpochLog[];
  predictions: null | { epoch: number; predicted: number[]; confidence: number[]; right: number };
  labels: number[] | null;
  pauses: number;
  resumes: number;
  error: string | null;
  downloads: Array<{ format: string; name: string; bytes: number }>;
}
interface Steps { losses: number[]; info: { backend: string; build: string; threads: number; sharedMemory: boolean; note?: string }; seconds: number }

let browser: Awaited<ReturnType<typeof launch>>;
let wc: Wasmconv;
let isolated: Served;
let notIsolated: Served;

/** Each number's float64 bits, in hex: arrays of them are equal only if every value is bitwise equal. */
function bits(xs: readonly number[]): string[] {
  const v = new DataView(new ArrayBuffer(8));
  return xs.map((x) => { v.setFloat64(0, x); return v.getBigUint64(0).toString(16).padStart(16, '0'); });
}

async function panel(page: Page): Promise<Panel> {
  return page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { wasmconvDemo: { lenet: Panel } }).wasmconvDemo.lenet)) as Panel);
}

async function openDemo(server: Served, query: string): Promise<{ page: Page; w: Watch }> {
  const page = await browser.context.newPage();
  const w = watch(page);
  await page.goto(`${server.url}demo/${query}`);
  await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
  expect(await page.getAttribute('body', 'data-ready'), w.problems.join('\n')).toBe('true');
  expect(await page.getAttribute('#lenet', 'data-state')).toBe('idle');
  return { page, w };
}

async function trainSteps(page: Page, opts: Record<string, unknown>): Promise<Steps> {
  return page.evaluate((o) => (window as unknown as { wasmconvDemo: { lenetSteps(o: unknown): Promise<Steps> } }).wasmconvDemo.lenetSteps(o), opts);
}

// ---------------------------------------------------------------------------
// The same computations in Node, on the same dist/index.js, memoised.

let nodeEngine = '';
async function nodeInit(threads: number): Promise<void> {
  const key = `simd/${threads}`;
  if (nodeEngine === key) return;
  await wc.init({ build: 'simd', threads, replace: true });
  nodeEngine = key;
}

async function subset() {
  const [train, test] = await Promise.all([wc.loadMNIST(SUBSET, 'train'), wc.loadMNIST(SUBSET, 'test')]);
  return { train: new wc.TensorDataset(train.images, train.labels), test: new wc.TensorDataset(test.images, test.labels) };
}

const nodeStepsMemo = new Map<number, number[]>();
/** What the worker's train-steps does: the book's LeNet, SGD lr 0.9, a shuffling loader, STEPS.steps steps. */
async function nodeSteps(threads: number): Promise<number[]> {
  if (nodeStepsMemo.has(threads)) return nodeStepsMemo.get(threads)!;
  await nodeInit(threads);
  const { train, test } = await subset();
  const model = wc.models.lenet({ seed: STEPS.seed });
  const optimizer = new wc.optim.SGD(model.parameters(), { lr: 0.9 });
  const loader = new wc.DataLoader(train, { batchSize: STEPS.batchSize, shuffle: true, seed: STEPS.seed });
  const losses: number[] = [];
  await wc.fit(model, loader, {
    epochs: 1, optimizer, progress: false,
    onBatch: ({ loss }) => { losses.push(loss); return losses.length < STEPS.steps; },
  });
  for (const t of [optimizer, model, train, test]) t.dispose();
  nodeStepsMemo.set(threads, losses);
  return losses;
}

/** What the panel's Start does with the book's LeNet: batches of 256, validation on the test set, the grid's predictions. */
async function nodeRun(epochs: number, seed: number) {
  await nodeInit(2);
  const { train, test } = await subset();
  const model = wc.models.lenet({ seed });
  const optimizer = new wc.optim.SGD(model.parameters(), { lr: 0.9 });
  const loader = new wc.DataLoader(train, { batchSize: 256, shuffle: true, seed });
  const losses: number[] = [];
  const { history } = await wc.fit(model, loader, {
    epochs, optimizer, validation: test, metrics: ['accuracy'], progress: false,
    onBatch: ({ loss }) => { losses.push(loss); },
  });
  const predicted = wc.tidy(() => Array.from(wc.predict(model, test.x.narrow(0, 0, 24)).argmax(1).data()));
  const labels = Array.from(test.y.narrow(0, 0, 24).data());
  const firstImage = wc.tidy(() => Array.from(wc.toImageData(test.x.narrow(0, 0, 1)).data));
  // the model as the panel's downloads write it, and its outputs on 16 test images
  const safetensors = wc.saveSafetensors(model, { metadata: { format: 'pt' } });
  const onnx = wc.tidy(() => wc.exportOnnx(model, wc.zeros([1, 1, 28, 28])));
  const images = wc.tidy(() => ({ data: test.x.narrow(0, 0, 16).data(), shape: [16, 1, 28, 28] }));
  const logits = wc.tidy(() => wc.predict(model, test.x.narrow(0, 0, 16)).data());
  for (const t of [optimizer, model, train, test]) t.dispose();
  return { losses, history, predicted, labels, firstImage, safetensors, onnx, images, logits };
}

beforeAll(async () => {
  requirePrerequisites();
  wc = await loadWasmconv();
  browser = await launch();
  // The "full set" of these servers is the shipped subset (the isolated one) or
  // none: the tests do not depend on what is installed on the machine.
  isolated = await serve({ isolated: true, fashionMnist: SUBSET });
  notIsolated = await serve({ isolated: false, fashionMnist: null });
});

afterAll(async () => {
  await browser?.close();
  await isolated?.close();
  await notIsolated?.close();
});

describe('LeNet panel, cross-origin isolated', () => {
  let page: Page;
  let w: Watch;
  let trained: Awaited<ReturnType<typeof nodeRun>> | undefined;

  it('30 steps of the book\'s LeNet in the page\'s worker on 2 threads equal Node\'s on 1 and on 2 threads, bitwise', async () => {
    ({ page, w } = await openDemo(isolated, '?build=simd&threads=2'));
    const p0 = await panel(page);
    expect(p0.full).toEqual({ url: '/data/fashion-mnist/', files: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'] });
    expect(await page.locator('#lenet-data option[value=full]').isDisabled()).toBe(false);
    // the worker starts with the first run, not with the page
    expect(w.workers.filter((u) => u.endsWith('/demo/lenet-worker.js'))).toEqual([]);

    const r = await trainSteps(page, { ...STEPS, build: 'simd', threads: 2 });
    expect(r.info).toEqual({ backend: 'wasm', build: 'simd', threads: 2, sharedMemory: true });
    expect(w.workers.filter((u) => u.endsWith('/demo/lenet-worker.js'))).toHaveLength(1);
    expect(r.losses).toHaveLength(30);
    const [one, two] = [await nodeSteps(1), await nodeSteps(2)];
    expect(bits(one)).toEqual(bits(two));
    expect(bits(r.losses)).toEqual(bits(one));
    expect(r.losses[0]).toBeGreaterThan(2);   // about log(10) for an untrained classifier
    // the header of the panel shows the worker's engine
    expect(await page.getAttribute('#lenet-engine', 'data-threads')).toBe('2');
    expect(await page.locator('#lenet-engine').textContent()).toMatch(/simd.*2 threads/);

    // the full set's route (here serving the subset's files) gives the worker the same data
    const viaRoute = await trainSteps(page, { ...STEPS, steps: 5, data: 'full', build: 'simd', threads: 2 });
    expect(bits(viaRoute.losses)).toEqual(bits(one.slice(0, 5)));
    expect(w.requests.some((u) => u.endsWith('/data/fashion-mnist/train-images-idx3-ubyte.gz'))).toBe(true);
    expect(w.problems, w.log.join('\n')).toEqual([]);
  });

  it('Start, Pause, Resume: the run ends with the uninterrupted run\'s losses, accuracies and predictions, bitwise', async () => {
    expect(page, 'the previous test opens the page').toBeDefined();
    await page.selectOption('#lenet-model', 'lenet');
    await page.selectOption('#lenet-data', 'subset');
    await page.fill('#lenet-epochs', '2');
    await page.fill('#lenet-seed', '0');
    await page.click('#lenet-start');
    await page.waitForSelector('#lenet[data-state=running]', { timeout: 30_000 });
    expect(await page.locator('#lenet-start').isDisabled()).toBe(true);
    expect(await page.locator('#lenet-download-safetensors').isDisabled()).toBe(true);
    expect(await page.locator('#lenet-download-onnx').isDisabled()).toBe(true);
    expect(await page.locator('#lenet-resume').isDisabled()).toBe(true);
    await page.waitForFunction(() => (window as unknown as { wasmconvDemo: { lenet: Panel } }).wasmconvDemo.lenet.losses.length >= 7, null, { timeout: 30_000 });
    await page.click('#lenet-pause');
    await page.waitForSelector('#lenet[data-state=paused]', { timeout: 30_000 });
    const atPause = (await panel(page)).losses.length;
    expect(atPause).toBeGreaterThanOrEqual(7);
    expect(atPause).toBeLessThan(40);
    expect(await page.locator('#lenet-status').textContent()).toMatch(new RegExp(`paused after ${atPause} steps`));
    expect(await page.locator('#lenet-resume').isDisabled()).toBe(false);
    expect(await page.locator('#lenet-start').textContent()).toBe('Start over');
    // nothing trains while paused
    await page.waitForTimeout(500);
    expect((await panel(page)).losses.length).toBe(atPause);
    await page.click('#lenet-resume');
    await page.waitForSelector('#lenet[data-state=done]', { timeout: 60_000 });

    const p = await panel(page);
    expect(p.error).toBeNull();
    expect([p.pauses, p.resumes]).toEqual([1, 1]);
    expect(p.run).toMatchObject({ model: 'lenet', data: 'subset', epochs: 2, seed: 0, build: 'simd', threads: 2 });
    expect(p.data).toMatchObject({ train: 5120, test: 1000 });
    expect(p.batches).toBe(20);
    const node = await nodeRun(2, 0);
    trained = node;
    expect(p.losses).toHaveLength(40);
    expect(bits(p.losses)).toEqual(bits(node.losses));
    expect(p.epochs.map((l) => l.epoch)).toEqual([1, 2]);
    for (const k of ['loss', 'accuracy', 'valLoss', 'valAccuracy'] as const) {
      expect(bits(p.epochs.map((l) => l[k])), k).toEqual(bits(node.history.map((l) => l[k]!)));
    }
    for (const l of p.epochs) {
      expect(l.seconds).toBeGreaterThan(0);
      expect(l.imagesPerSecond).toBeGreaterThan(0);
    }
    expect(await page.locator('#lenet-table tbody tr').count()).toBe(2);
    expect(await page.locator('#lenet-status').textContent()).toMatch(/^done: 40 steps; after epoch 2: loss \d\.\d{4}, train accuracy/);

    // the grid: 24 test images, drawn from the worker's toImageData, with Node's predictions
    expect(p.predictions!.epoch).toBe(2);
    expect(p.predictions!.predicted).toEqual(node.predicted);
    expect(p.labels).toEqual(node.labels);
    await checkGrid(page, node.predicted, node.labels);
    const firstImage = await page.evaluate(() => {
      const c = document.querySelector('#lenet-grid canvas') as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, 28, 28).data);
    });
    expect(firstImage).toEqual(node.firstImage);
    expect(w.problems, w.log.join('\n')).toEqual([]);
  });

  it('Download model: the safetensors file is the bytes Node writes for the same run and loads back; ONNX Runtime runs the ONNX file with the model\'s outputs', async () => {
    expect(trained, 'the previous test trains the run').toBeDefined();
    const node = trained!;
    expect(await page.getAttribute('#lenet', 'data-state')).toBe('done');
    const get = async (format: string) => {
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.click(`#lenet-download-${format}`)]);
      return { name: download.suggestedFilename(), bytes: new Uint8Array(readFileSync((await download.path())!)) };
    };
    const st = await get('safetensors');
    expect(st.name).toBe('lenet-seed0-40steps.safetensors');
    expect(Buffer.from(st.bytes).equals(Buffer.from(node.safetensors)), 'the downloaded safetensors are Node\'s bytes').toBe(true);
    // loaded back in Node, into a model of another seed: the trained model's outputs, bitwise
    const net = wc.models.lenet({ seed: 5 });
    expect(wc.tidy(() => net.loadStateDict(wc.loadSafetensors(st.bytes)))).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const again = wc.tidy(() => wc.predict(net, wc.tensor(node.images.data, node.images.shape)).data());
    net.dispose();
    expect(bits(Array.from(again))).toEqual(bits(Array.from(node.logits)));

    const onnx = await get('onnx');
    expect(onnx.name).toBe('lenet-seed0-40steps.onnx');
    expect(Buffer.from(onnx.bytes).equals(Buffer.from(node.onnx)), 'the downloaded ONNX model is Node\'s exportOnnx bytes').toBe(true);
    const require = createRequire(import.meta.url);
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = pathToFileURL(`${dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'))}/`).href;
    const session = await ort.InferenceSession.create(onnx.bytes);
    const { output } = await session.run({ input: new ort.Tensor('float32', node.images.data, node.images.shape) });
    await session.release();
    expect(output.dims).toEqual([16, 10]);
    expect(maxDiff(output.data as Float32Array, node.logits)).toBeLessThan(1e-5);

    const p = await panel(page);
    expect(p.downloads).toEqual([
      { format: 'safetensors', name: 'lenet-seed0-40steps.safetensors', bytes: node.safetensors.length },
      { format: 'onnx', name: 'lenet-seed0-40steps.onnx', bytes: node.onnx.length },
    ]);
    expect(await page.locator('#lenet-status').textContent()).toBe(`lenet-seed0-40steps.onnx: ${node.onnx.length.toLocaleString('en-US')} bytes`);
    expect(w.problems, w.log.join('\n')).toEqual([]);
  });

  it('the modern LeNet learns in two epochs; the panel after training (screenshot)', async () => {
    await page.selectOption('#lenet-model', 'modern');
    await page.fill('#lenet-epochs', '2');
    await page.click('#lenet-start');
    await page.waitForSelector('#lenet[data-state=done]', { timeout: 60_000 });
    const p = await panel(page);
    expect(p.run).toMatchObject({ model: 'modern', epochs: 2 });
    expect(p.losses).toHaveLength(40);
    expect(p.epochs).toHaveLength(2);
    expect(p.epochs[1].valAccuracy).toBeGreaterThan(0.6);
    expect(p.predictions!.right).toBeGreaterThan(12);
    await checkGrid(page, p.predictions!.predicted, p.labels!);
    await page.locator('#lenet').scrollIntoViewIfNeeded();
    mkdirSync(RESULTS, { recursive: true });
    await page.locator('#lenet').screenshot({ path: join(RESULTS, 'lenet-panel.png') });
    await screenshot(page, 'lenet-isolated');
    expect(w.problems, w.log.join('\n')).toEqual([]);
    await page.close();
  });
});

/** 24 figures, each a 28x28 canvas with the predicted class, marked right or wrong, and the true class when wrong. */
async function checkGrid(page: Page, predicted: number[], labels: number[]): Promise<void> {
  const cells = page.locator('#lenet-grid figure.pred');
  expect(await cells.count()).toBe(24);
  const shown = await cells.evaluateAll((fs) => fs.map((f) => ({
    right: f.classList.contains('right'), wrong: f.classList.contains('wrong'),
    predicted: Number(f.getAttribute('data-predicted')), label: Number(f.getAttribute('data-label')),
    guess: f.querySelector('.guess')!.textContent, truth: f.querySelector('.truth')!.textContent,
    canvas: [f.querySelector('canvas')!.width, f.querySelector('canvas')!.height],
  })));
  let right = 0;
  shown.forEach((s, i) => {
    const ok = predicted[i] === labels[i];
    if (ok) right++;
    expect(s).toEqual({
      right: ok, wrong: !ok, predicted: predicted[i], label: labels[i],
      guess: `${ok ? '✓' : '✗'} ${CLASSES[predicted[i]]}`, truth: ok ? 'right' : `true: ${CLASSES[labels[i]]}`, canvas: [28, 28],
    });
  });
  expect(await page.locator('#lenet-grid-title').textContent()).toMatch(new RegExp(`after epoch \\d+: ${right} of 24 right$`));
}

describe('LeNet panel, not isolated', () => {
  it('one thread in the worker, with a note; the same losses as Node; no full set on this server', async () => {
    const { page, w } = await openDemo(notIsolated, '?build=simd');
    const p0 = await panel(page);
    expect(p0.full).toBeNull();
    expect(await page.locator('#lenet-data option[value=full]').isDisabled()).toBe(true);
    expect(await page.locator('#lenet-data').inputValue()).toBe('subset');
    const r = await trainSteps(page, { ...STEPS, build: 'simd' });
    expect(r.info.threads).toBe(1);
    expect(r.info.sharedMemory).toBe(false);
    expect(r.info.note ?? '').toMatch(/cross-origin isolated|SharedArrayBuffer/);
    expect(bits(r.losses)).toEqual(bits(await nodeSteps(1)));
    expect(await page.getAttribute('#lenet-engine', 'data-threads')).toBe('1');
    expect(await page.locator('#lenet-engine').textContent()).toMatch(/1 thread.*single-threaded/);
    // the worker's engine is the only one besides the page's: no pool workers anywhere
    expect(w.workers.map((u) => new URL(u).pathname)).toEqual(['/demo/lenet-worker.js']);
    expect(w.problems, w.log.join('\n')).toEqual([]);
    await page.close();
  });
});

// ---------------------------------------------------------------------------
// The server's /data/ routes, over raw HTTP (no URL normalisation on the way).

function get(server: Served, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('demo server: /data/', () => {
  it('serves the four IDX files of its Fashion-MNIST directory with the isolation headers, and an index', async () => {
    const index = await get(isolated, '/data/index.json');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(index.body.toString())).toEqual({
      'fashion-mnist': { available: true, url: '/data/fashion-mnist/', files: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'] },
    });
    for (const name of ['train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz']) {
      const r = await get(isolated, `/data/fashion-mnist/${name}`);
      expect(r.status, name).toBe(200);
      expect(r.body.equals(readFileSync(join(SUBSET, name))), name).toBe(true);
      expect(r.headers['content-type']).toBe('application/gzip');
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(r.headers['cross-origin-embedder-policy']).toBe('require-corp');
      expect(r.headers['cross-origin-resource-policy']).toBe('same-origin');
    }
    const head = await get(isolated, '/data/fashion-mnist/train-labels-idx1-ubyte.gz', 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(readFileSync(join(SUBSET, 'train-labels-idx1-ubyte.gz')).length);
    expect(head.body.length).toBe(0);
  });

  it('answers 404 to anything else under /data/: other names, raw files that are absent, paths that try to leave the directory', async () => {
    for (const path of [
      '/data/', '/data', '/data/fashion-mnist/', '/data/fashion-mnist/LICENSE', '/data/fashion-mnist/train-labels-idx1-ubyte',
      '/data/mnist/train-labels-idx1-ubyte.gz', '/data/fashion-mnist/..%2f..%2fpackage.json', '/data/fashion-mnist/..%2F..%2F..%2Fetc%2Fpasswd',
      '/data/fashion-mnist/%2e%2e%2fLICENSE', '/data/fashion-mnist/train-labels-idx1-ubyte.gz%00', '/data/fashion-mnist//train-labels-idx1-ubyte.gz',
      '/data/fashion-mnist/./train-labels-idx1-ubyte.gz/..%2f..%2f..%2fpackage.json',
    ]) {
      const r = await get(isolated, path);
      expect(r.status, path).toBe(404);
      expect(r.headers['cross-origin-embedder-policy'], path).toBe('require-corp');
    }
    expect((await get(isolated, '/data/fashion-mnist/train-labels-idx1-ubyte.gz', 'POST')).status).toBe(405);
  });

  it('without a directory: the index says so, the files are 404, no isolation headers when not isolated', async () => {
    const index = await get(notIsolated, '/data/index.json');
    expect(index.status).toBe(200);
    expect(JSON.parse(index.body.toString())).toEqual({ 'fashion-mnist': { available: false, url: '/data/fashion-mnist/', files: [] } });
    const r = await get(notIsolated, '/data/fashion-mnist/train-labels-idx1-ubyte.gz');
    expect(r.status).toBe(404);
    expect(r.headers['cross-origin-opener-policy']).toBeUndefined();
    expect(r.headers['cross-origin-resource-policy']).toBe('same-origin');
  });
});

// The demo's LeNet trainer: a module Web Worker with its own wasmconv engine, so
// the page's main thread only draws. In a cross-origin isolated page `init()`
// starts the engine's thread pool from here (Web Workers nested in this one);
// otherwise the engine runs on this one thread and backendInfo().note says why.
//
// Messages from the page (demo/lenet.js):
//   { type: 'start', run: { model: 'lenet' | 'modern', dataUrl, limit?, epochs, seed, build?, threads? } }
//       loads the data (once per URL and limit: the first `limit` training images), builds the model, its optimizer and a shuffling
//       DataLoader, and calls fit(); a run already going is stopped and dropped
//   { type: 'pause' }    aborts the fit's signal: training stops at the next batch boundary
//   { type: 'resume' }   calls fit again with the same options: the loader goes on from
//                        the batch where it stopped, so the run is bitwise the one that never paused
//   { type: 'export', id, format: 'safetensors' | 'onnx' }
//       the current run's model as a file (paused or done): saveSafetensors (metadata format: pt) or
//       exportOnnx with a [1, 1, 28, 28] example (batch dimension dynamic); answers
//       { type: 'model-file', id, format, name, bytes } (bytes: an ArrayBuffer, transferred)
//   { type: 'train-steps', id, dataUrl, limit?, steps, batchSize, seed, build?, threads? }
//       the book's LeNet (SGD, lr 0.9) for `steps` optimizer steps from a fresh model and a
//       fresh loader; answers { type: 'steps', id, losses, info } (the browser tests' hook)
// Messages to the page:
//   engine   { info, note, crossOriginIsolated, dropped }  after init (dropped: a run was lost)
//   status   { text }                                       what is happening (loading data...)
//   data     { url, train, test, seconds, images, labels } the test images the page shows
//   start    { run, batches }                               a run is set up
//   batches  { points: [[step, loss, accuracy]], epoch, batch, batches, imagesPerSecond }
//            every training step's loss, sent about every 150 ms
//   epoch    { logs, imagesPerSecond, predictions }          after each epoch (and epoch 0: untrained)
//   paused   { steps }, done { history, steps }, error { id?, message }
import {
  init, backendInfo, models, optim, transforms, fit, predict, softmax, tidy, zeros,
  DataLoader, TensorDataset, loadMNIST, toImageData, saveSafetensors, exportOnnx,
} from '../dist/index.js';

/** Test images shown with their predictions. */
const GRID = 24;
/** Batches per training step: the book's 256 for both models. */
const BATCH = 256;

const post = (m) => self.postMessage(m);

let engine = null;   // { key, info, note }
let data = null;     // { key, url, train: TensorDataset, test: TensorDataset }
let run = null;      // the current training run (see startRun)

// One thing at a time: start, resume and train-steps wait for each other (a
// pause acts at once). fit itself runs outside this queue, so a pause or a new
// start can reach it.
let queue = Promise.resolve();
function serial(fn) {
  const p = queue.then(fn);
  queue = p.catch(() => undefined);
  return p;
}

self.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'pause') { run?.controller?.abort(); return; }
  serial(async () => {
    if (m.type === 'start') await startRun(m.run);
    else if (m.type === 'resume') resumeRun();
    else if (m.type === 'train-steps') post({ type: 'steps', id: m.id, ...(await trainSteps(m)) });
    else if (m.type === 'export') {
      const file = exportModel(m.format);
      self.postMessage({ type: 'model-file', id: m.id, ...file }, [file.bytes]);
    }
    else throw new TypeError(`lenet-worker: unknown message type ${JSON.stringify(m.type)}`);
  }).catch((err) => post({ type: 'error', id: m.id, message: String((err && err.stack) || err) }));
};

/**
 * The engine with these options; a change of options replaces it, which
 * disposes every tensor of the old one (the data and any run go with it).
 */
async function engineFor({ build, threads }) {
  const opts = {};
  if (build !== undefined) opts.build = build;
  if (threads !== undefined) opts.threads = threads;
  const key = JSON.stringify(opts);
  if (engine?.key === key) return engine;
  await stopRun();
  const dropped = run !== null;
  run = null; data = null;
  let note;
  try {
    await init({ ...opts, replace: true });
  } catch (err) {
    // A browser that cannot start workers inside a worker: train on this thread.
    if (opts.threads === 1) throw err;
    await init({ ...opts, threads: 1, replace: true });
    note = `single-threaded: the engine could not start its thread pool inside this worker (${err.message})`;
  }
  const info = backendInfo();
  engine = { key, info, note: note ?? info.note };
  post({ type: 'engine', info, note: engine.note, crossOriginIsolated: self.crossOriginIsolated === true, dropped });
  return engine;
}

/**
 * The training and test sets at `url` (a directory URL with the four IDX
 * files; the first `limit` training images when given), read once.
 */
async function dataFor(url, limit) {
  const key = JSON.stringify([url, limit ?? null]);
  if (data?.key === key) return data;
  if (data) { data.train.dispose(); data.test.dispose(); data = null; }
  const t0 = performance.now();
  post({ type: 'status', text: `loading ${url} …` });
  const [train, test] = await Promise.all([loadMNIST(url, 'train', { limit }), loadMNIST(url, 'test')]);
  data = { key, url, train: new TensorDataset(train.images, train.labels), test: new TensorDataset(test.images, test.labels) };
  const n = Math.min(GRID, data.test.length);
  const images = [];
  for (let i = 0; i < n; i++) images.push(toImageData(data.test.x.narrow(0, i, 1)));
  const labels = Array.from(data.test.y.narrow(0, 0, n).data());
  post({ type: 'data', url, train: data.train.length, test: data.test.length, seconds: (performance.now() - t0) / 1000, images, labels });
  return data;
}

/** The model's class and confidence for the first GRID test images. */
function gridPredictions(model) {
  return tidy(() => {
    const n = Math.min(GRID, data.test.length);
    const p = softmax(predict(model, data.test.x.narrow(0, 0, n)), 1);
    const predicted = Array.from(p.argmax(1).data());
    const confidence = Array.from(p.max(1).data());
    return { predicted, confidence };
  });
}

/** Stops the run's fit (if it is going) and waits for it to return. */
async function stopRun() {
  if (!run) return;
  run.controller?.abort();
  await run.fitting;
}

async function startRun(p) {
  await stopRun();
  await engineFor(p);
  if (run) { run.optimizer.dispose(); run.model.dispose(); run = null; }
  const d = await dataFor(p.dataUrl, p.limit);
  const model = p.model === 'modern' ? models.lenetModern({ seed: p.seed }) : models.lenet({ seed: p.seed });
  let optimizer, scheduler = null, transform;
  if (p.model === 'modern') {
    // Random crops of the image padded by 2, horizontal flips; AdamW with a cosine schedule.
    transform = transforms.compose(transforms.randomCrop(28, { padding: 2 }), transforms.randomHorizontalFlip());
    optimizer = new optim.AdamW(model.parameters(), { lr: 0.01, weightDecay: 0.01 });
    scheduler = new optim.CosineAnnealingLR(optimizer, { tMax: p.epochs });
  } else {
    optimizer = new optim.SGD(model.parameters(), { lr: 0.9 });
  }
  const loader = new DataLoader(d.train, { batchSize: BATCH, shuffle: true, seed: p.seed, transform });
  const r = {
    params: p, model, optimizer, scheduler, loader, controller: null, fitting: Promise.resolve(), finished: false,
    steps: 0, pending: [], lastPost: 0, last: 0, epochImages: 0, epochMs: 0,
  };
  // The same options on every call: calling fit again resumes.
  r.options = {
    epochs: p.epochs, optimizer, validation: d.test, metrics: ['accuracy'], progress: false,
    onBatch: (logs) => onBatch(r, logs),
    onEpoch: (epoch, logs) => onEpoch(r, epoch, logs),
  };
  run = r;
  post({ type: 'start', run: p, batches: loader.length });
  post({ type: 'epoch', logs: { epoch: 0 }, predictions: gridPredictions(model) });
  r.fitting = fitRun(r);
}

function resumeRun() {
  if (!run || run.finished || run.controller) return;
  run.fitting = fitRun(run);
}

async function fitRun(r) {
  const controller = new AbortController();
  r.controller = controller;
  r.last = performance.now();
  post({ type: 'running', steps: r.steps });
  try {
    const { stopped, history } = await fit(r.model, r.loader, { ...r.options, signal: controller.signal });
    flush(r);
    if (stopped === 'aborted') post({ type: 'paused', steps: r.steps });
    else { r.finished = true; post({ type: 'done', steps: r.steps, history }); }
  } catch (err) {
    r.finished = true;
    post({ type: 'error', message: String((err && err.stack) || err) });
  } finally {
    r.controller = null;
  }
}

function onBatch(r, logs) {
  const now = performance.now();
  r.epochMs += now - r.last; r.epochImages += logs.size; r.last = now;
  r.steps++;
  r.pending.push([r.steps, logs.loss, logs.accuracy]);
  r.batch = logs;
  if (now - r.lastPost > 150) flush(r);
}

/** Sends the losses gathered since the last message. */
function flush(r) {
  if (!r.pending.length) return;
  const b = r.batch;
  post({
    type: 'batches', points: r.pending, epoch: b.epoch, batch: b.batch, batches: b.batches,
    imagesPerSecond: r.epochMs > 0 ? r.epochImages / (r.epochMs / 1000) : null,
  });
  r.pending = [];
  r.lastPost = performance.now();
}

function onEpoch(r, epoch, logs) {
  flush(r);
  r.scheduler?.step();
  post({ type: 'epoch', logs, imagesPerSecond: r.epochMs > 0 ? r.epochImages / (r.epochMs / 1000) : null, predictions: gridPredictions(r.model) });
  r.epochImages = 0; r.epochMs = 0; r.last = performance.now();
}

/**
 * The current run's model as a file: `{ format, name, bytes }`, bytes an
 * ArrayBuffer of a safetensors state dict (PyTorch's names; metadata format: pt)
 * or an ONNX model. Only between fits (paused or done), so the weights are
 * those of a batch boundary.
 */
function exportModel(format) {
  if (format !== 'safetensors' && format !== 'onnx') throw new RangeError(`export: format must be 'safetensors' or 'onnx', got ${JSON.stringify(format)}`);
  if (!run) throw new Error('export: there is no model yet: start a run first');
  if (run.controller) throw new Error(`export: the model is training (step ${run.steps}): pause it first`);
  const u8 = format === 'safetensors'
    ? saveSafetensors(run.model, { metadata: { format: 'pt' } })
    : tidy(() => exportOnnx(run.model, zeros([1, 1, 28, 28])));
  const { model, seed } = run.params;
  const name = `${model === 'modern' ? 'lenet-modern' : 'lenet'}-seed${seed}-${run.steps}steps.${format}`;
  const bytes = u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength ? u8.buffer : u8.slice().buffer;
  return { format, name, bytes };
}

/** The browser tests' hook: `steps` steps of the book's LeNet from a fresh model; the losses. */
async function trainSteps(m) {
  const { steps, batchSize, seed } = m;
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`train-steps: steps must be a positive integer, got ${steps}`);
  await stopRun();
  await engineFor(m);
  const d = await dataFor(m.dataUrl, m.limit);
  const model = models.lenet({ seed });
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.9 });
  const loader = new DataLoader(d.train, { batchSize, shuffle: true, seed });
  const losses = [];
  const t0 = performance.now();
  try {
    await fit(model, loader, {
      epochs: Math.ceil(steps / loader.length), optimizer, progress: false,
      onBatch: ({ loss }) => { losses.push(loss); return losses.length < steps; },
    });
  } finally {
    optimizer.dispose(); model.dispose();
  }
  return { losses, info: backendInfo(), seconds: (performance.now() - t0) / 1000 };
}

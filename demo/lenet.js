// The demo page's LeNet panel: the controls, the charts and the prediction grid
// of a training run that happens in a module Web Worker (demo/lenet-worker.js),
// which has its own engine. This module never touches the page's engine.
//
// URL parameters: ?build=simd (or relaxed-simd, no-simd) and ?threads=N for the
// worker's engine (by default it picks the fastest build and every core it
// can); ?limit=N trains on the first N training images only.

/** Fashion-MNIST's classes, by label. */
export const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** The two models the panel trains; the worker builds them (same names). */
const MODELS = {
  lenet: "the book's LeNet: sigmoid, average pooling; SGD, lr 0.9, batches of 256",
  modern: 'LeNet with batch norm, ReLU, max pooling; AdamW, lr 0.01, cosine schedule, random crops and flips; batches of 256',
};

/** Where the two datasets are, relative to this page (the repository root is served). */
const SUBSET_URL = new URL('../test/fixtures/fashion-mnist/', import.meta.url).href;
const DATA_INDEX_URL = new URL('../data/index.json', import.meta.url).href;

const $ = (id) => document.getElementById(id);
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}
const pct = (v) => `${(100 * v).toFixed(1)}%`;
const int = (v) => Math.round(v).toLocaleString('en-US');

/** The options from the page's URL (?build=simd&threads=2&limit=10000): the worker's engine, the training-set limit. */
function urlOptions() {
  const q = new URLSearchParams(location.search);
  const o = {};
  const build = q.get('build');
  if (build !== null) {
    if (!['relaxed-simd', 'simd', 'no-simd'].includes(build)) throw new RangeError(`?build= must be relaxed-simd, simd or no-simd, got ${build}`);
    o.build = build;
  }
  const threads = q.get('threads');
  if (threads !== null) {
    const n = Number(threads);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError(`?threads= must be an integer from 1 to 64, got ${threads}`);
    o.threads = n;
  }
  const limit = q.get('limit');
  if (limit !== null) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`?limit= must be a positive integer, got ${limit}`);
    o.limit = n;
  }
  return o;
}

/**
 * Sets the panel up: the data choice (the full set when the server has it),
 * the controls, and `demo.lenet`, the panel's state (plain data, for the
 * console and the browser tests). The worker starts on the first Start.
 * Resolves once the panel knows which data there are.
 */
export async function setupLenet(demo) {
  const panel = {
    status: 'idle', urlOptions: urlOptions(), engine: null, full: null, data: null, run: null, live: null,
    batches: 0, losses: [], epochs: [], predictions: null, labels: null, pauses: 0, resumes: 0, error: null,
    downloads: [],
  };
  demo.lenet = panel;
  let worker = null;
  const images = [];            // ImageData of the grid's test images (not in `panel`: not plain data)
  const requests = new Map();   // train-steps calls waiting for their answer
  let nextId = 1;

  const section = $('lenet');
  const buttons = { start: $('lenet-start'), pause: $('lenet-pause'), resume: $('lenet-resume') };
  const downloadButtons = { safetensors: $('lenet-download-safetensors'), onnx: $('lenet-download-onnx') };
  const inputs = ['lenet-model', 'lenet-data', 'lenet-epochs', 'lenet-seed'].map($);
  const modelNote = () => {
    const model = $('lenet-model').value, subset = $('lenet-data').value === 'subset';
    $('lenet-model-note').textContent = MODELS[model] + (model === 'lenet' && subset
      ? '. On the subset (20 steps an epoch) it needs about 10 epochs before it starts to learn: sigmoids and plain SGD are slow to start; the full set has 235 steps an epoch.'
      : '.');
  };
  $('lenet-model').addEventListener('change', modelNote);
  $('lenet-data').addEventListener('change', modelNote);
  const forced = Object.entries(panel.urlOptions).filter(([k]) => k !== 'limit').map(([k, v]) => `${k} ${v}`).join(', ');

  function setStatus(status, text) {
    panel.status = status;
    section.dataset.state = status;
    const busy = status === 'loading' || status === 'running';
    buttons.start.disabled = busy;
    buttons.pause.disabled = status !== 'running';
    buttons.resume.disabled = status !== 'paused';
    for (const i of inputs) i.disabled = busy || status === 'paused';
    buttons.start.textContent = status === 'paused' ? 'Start over' : 'Start';
    for (const b of Object.values(downloadButtons)) b.disabled = status !== 'paused' && status !== 'done';
    if (text !== undefined) $('lenet-status').textContent = text;
  }

  function ensureWorker() {
    if (worker) return worker;
    worker = new Worker(new URL('./lenet-worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (e) => onMessage(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      failed(`the worker failed: ${e.message}`);
    };
    return worker;
  }

  function failed(message) {
    panel.error = message;
    console.error(message);
    setStatus('error', message.split('\n')[0]);
  }

  function onMessage(m) {
    switch (m.type) {
      case 'engine': {
        panel.engine = { info: m.info, note: m.note ?? null, crossOriginIsolated: m.crossOriginIsolated };
        showEngine();
        // A paused run is lost when the engine is replaced (by a train-steps call with other options).
        if (m.dropped && panel.status === 'paused') setStatus('idle', 'The worker\'s engine was replaced, and the paused run with it: start a new run.');
        break;
      }
      case 'status': $('lenet-status').textContent = m.text; break;
      case 'data': {
        panel.data = { url: m.url, train: m.train, test: m.test, seconds: m.seconds };
        panel.labels = m.labels;
        images.splice(0, images.length, ...m.images);
        break;
      }
      case 'start': {
        panel.batches = m.batches;
        $('lenet-status').textContent = `${panel.data.train.toLocaleString('en-US')} training and ${panel.data.test.toLocaleString('en-US')} test images (read in ${panel.data.seconds.toFixed(1)} s); ${m.batches} batches per epoch`;
        break;
      }
      case 'running': setStatus('running'); break;
      case 'batches': {
        for (const [, loss] of m.points) panel.losses.push(loss);
        panel.live = { epoch: m.epoch, batch: m.batch + 1, batches: m.batches, imagesPerSecond: m.imagesPerSecond };
        const last = m.points[m.points.length - 1][1];
        $('lenet-status').textContent = `epoch ${m.epoch}/${panel.run.epochs}, batch ${m.batch + 1}/${m.batches}: loss ${last.toFixed(4)}` +
          (m.imagesPerSecond ? `, ${int(m.imagesPerSecond)} images/s` : '');
        drawLoss();
        break;
      }
      case 'epoch': {
        panel.predictions = { epoch: m.logs.epoch, ...m.predictions };
        if (m.logs.epoch > 0) {
          panel.epochs.push({ ...m.logs, imagesPerSecond: m.imagesPerSecond });
          showEpochs();
          drawAccuracy();
        }
        showGrid();
        break;
      }
      case 'paused': {
        setStatus('paused', `paused after ${m.steps} steps (epoch ${panel.live?.epoch ?? 1}, batch ${panel.live?.batch ?? 0}/${panel.batches}): Resume goes on from the next batch`);
        break;
      }
      case 'done': {
        const last = panel.epochs[panel.epochs.length - 1];
        setStatus('done', last
          ? `done: ${m.steps} steps; after epoch ${last.epoch}: loss ${last.loss.toFixed(4)}, train accuracy ${pct(last.accuracy)}, test accuracy ${pct(last.valAccuracy)}`
          : `done: ${m.steps} steps`);
        break;
      }
      case 'model-file': {
        const r = requests.get(m.id);
        requests.delete(m.id);
        r?.resolve(m);
        break;
      }
      case 'steps': {
        const r = requests.get(m.id);
        requests.delete(m.id);
        r?.resolve({ losses: m.losses, info: m.info, seconds: m.seconds });
        break;
      }
      case 'error': {
        const r = m.id !== undefined ? requests.get(m.id) : undefined;
        if (r) { requests.delete(m.id); r.reject(new Error(m.message)); } else failed(m.message);
        break;
      }
    }
  }

  function showEngine() {
    const { info, note, crossOriginIsolated } = panel.engine;
    $('lenet-engine').replaceChildren(...[
      el('span', { class: 'label', text: 'worker engine:' }),
      el('span', { class: 'pill', text: `${info.backend} · ${info.build}` }),
      el('span', { class: info.threads > 1 ? 'pill' : 'pill warn', text: `${info.threads} thread${info.threads === 1 ? '' : 's'}` }),
      forced ? el('span', { class: 'pill', text: `from the URL: ${forced}` }) : null,
      note ? el('span', { class: 'note', text: note }) : null,
      !note && !crossOriginIsolated && info.threads === 1 ? el('span', { class: 'note', text: 'single-threaded: the page is not cross-origin isolated' }) : null,
    ].filter(Boolean));
    $('lenet-engine').dataset.threads = String(info.threads);
  }

  function readParams() {
    const epochs = Number($('lenet-epochs').value), seed = Number($('lenet-seed').value);
    if (!(Number.isInteger(epochs) && epochs >= 1 && epochs <= 100)) throw new RangeError(`epochs must be an integer from 1 to 100, got ${$('lenet-epochs').value}`);
    if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31)) throw new RangeError(`seed must be an integer from 0 to 2^31 - 1, got ${$('lenet-seed').value}`);
    const full = $('lenet-data').value === 'full';
    return {
      model: $('lenet-model').value, data: full ? 'full' : 'subset',
      dataUrl: full ? new URL(panel.full.url, location.href).href : SUBSET_URL,
      epochs, seed, ...panel.urlOptions,
    };
  }

  function start() {
    let params;
    try { params = readParams(); } catch (e) { $('lenet-status').textContent = e.message; return; }
    Object.assign(panel, { run: params, batches: 0, losses: [], epochs: [], predictions: null, live: null, pauses: 0, resumes: 0, error: null });
    showEpochs(); drawLoss(); drawAccuracy();
    setStatus('loading', panel.engine ? 'starting…' : 'starting the worker…');
    ensureWorker().postMessage({ type: 'start', run: params });
  }

  $('lenet-form').addEventListener('submit', (ev) => { ev.preventDefault(); start(); });
  buttons.pause.addEventListener('click', () => {
    if (panel.status !== 'running') return;
    panel.pauses++;
    buttons.pause.disabled = true;
    $('lenet-status').textContent = 'pausing after this batch…';
    worker.postMessage({ type: 'pause' });
  });
  buttons.resume.addEventListener('click', () => {
    if (panel.status !== 'paused') return;
    panel.resumes++;
    setStatus('loading', 'resuming…');
    worker.postMessage({ type: 'resume' });
  });

  /** Asks the worker for the model as a file and hands it to the browser as a download. */
  async function download(format) {
    const id = nextId++;
    const file = await new Promise((resolve, reject) => {
      requests.set(id, { resolve, reject });
      worker.postMessage({ type: 'export', id, format });
    });
    const url = URL.createObjectURL(new Blob([file.bytes], { type: 'application/octet-stream' }));
    const a = el('a', { href: url, download: file.name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    panel.downloads.push({ format, name: file.name, bytes: file.bytes.byteLength });
    $('lenet-status').textContent = `${file.name}: ${int(file.bytes.byteLength)} bytes`;
  }
  for (const [format, button] of Object.entries(downloadButtons)) {
    button.addEventListener('click', () => {
      if (!worker || (panel.status !== 'paused' && panel.status !== 'done')) return;
      download(format).catch((e) => { $('lenet-status').textContent = `download failed: ${e.message}`; });
    });
  }

  /**
   * The browser tests' hook: `steps` steps of the book's LeNet in the worker
   * (`{ steps, batchSize, seed, build, threads, data: 'subset' | 'full' }`),
   * resolving to `{ losses, info, seconds }`.
   */
  demo.lenetSteps = (opts) => new Promise((resolve, reject) => {
    if (panel.status === 'loading' || panel.status === 'running') { reject(new Error('lenetSteps: a training run is going; pause it first')); return; }
    const id = nextId++;
    requests.set(id, { resolve, reject });
    const { data = 'subset', ...rest } = opts;
    const dataUrl = data === 'full' ? new URL(panel.full.url, location.href).href : SUBSET_URL;
    ensureWorker().postMessage({ type: 'train-steps', id, dataUrl, ...rest });
  });

  // Which data: the shipped subset, or the full set when the server has it.
  try {
    const r = await fetch(DATA_INDEX_URL);
    const index = r.ok ? await r.json() : {};
    const fm = index['fashion-mnist'];
    panel.full = fm && fm.available ? { url: fm.url, files: fm.files } : null;
  } catch {
    panel.full = null;
  }
  const fullOption = $('lenet-data').querySelector('option[value=full]');
  if (panel.full) {
    fullOption.disabled = false;
    fullOption.textContent = 'full set: 60,000 + 10,000 images';
    $('lenet-data').value = 'full';
  }
  modelNote();
  setStatus('idle', 'Press Start: the worker loads the data and trains; the page stays responsive.');
  drawLoss(); drawAccuracy(); showEpochs();

  // -------------------------------------------------------------------------
  // drawing

  function showEpochs() {
    const rows = panel.epochs.map((l) => el('tr', {},
      el('td', { class: 'num', text: String(l.epoch) }),
      el('td', { class: 'num', text: l.loss.toFixed(4) }),
      el('td', { class: 'num', text: pct(l.accuracy) }),
      el('td', { class: 'num', text: pct(l.valAccuracy) }),
      el('td', { class: 'num', text: l.seconds.toFixed(1) }),
      el('td', { class: 'num', text: l.imagesPerSecond ? int(l.imagesPerSecond) : '–' })));
    $('lenet-table').replaceChildren(
      el('thead', {}, el('tr', {}, ...['epoch', 'loss', 'train acc', 'test acc', 'seconds', 'images/s'].map((h) => el('th', { class: 'num', text: h })))),
      el('tbody', {}, ...rows));
  }

  function drawLoss() {
    const epochs = panel.run?.epochs ?? 10, per = panel.batches || 1;
    const raw = panel.losses.map((v, i) => [(i + 1) / per, v]);
    // An exponential moving average, bias-corrected, as TensorBoard smooths.
    const smooth = [];
    let avg = 0, weight = 0;
    panel.losses.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      avg = 0.9 * avg + 0.1 * v; weight = 0.9 * weight + 0.1;
      smooth.push([(i + 1) / per, avg / weight]);
    });
    const hi = Math.max(2.5, ...smooth.map((p) => p[1]));
    const ymax = Math.min(5, Math.ceil(hi * 2) / 2);
    chart($('lenet-loss'), {
      xmax: epochs, ymin: 0, ymax, yTicks: range(0, ymax * 2).map((k) => [k / 2, (k / 2).toFixed(1)]),
      series: [
        { color: 'rgba(47, 111, 223, 0.35)', width: 1, points: raw },
        { color: '#2f6fdf', width: 2, points: smooth },
      ],
    });
  }

  function drawAccuracy() {
    const epochs = panel.run?.epochs ?? 10;
    chart($('lenet-acc'), {
      xmax: epochs, ymin: 0, ymax: 1, yTicks: range(0, 5).map((k) => [k / 5, `${20 * k}%`]),
      guides: [[0.1, 'chance']],
      series: [
        { color: '#e0702e', width: 2, dots: true, points: panel.epochs.map((l) => [l.epoch, l.accuracy]) },
        { color: '#2f6fdf', width: 2, dots: true, points: panel.epochs.map((l) => [l.epoch, l.valAccuracy]) },
      ],
    });
  }

  function showGrid() {
    const p = panel.predictions;
    if (!p || !panel.labels) return;
    const cells = [];
    let right = 0;
    images.forEach((im, i) => {
      const truth = panel.labels[i], guess = p.predicted[i], ok = truth === guess;
      if (ok) right++;
      const canvas = el('canvas', { width: '28', height: '28', 'aria-label': `test image ${i}: ${CLASSES[truth]}` });
      canvas.getContext('2d').putImageData(im, 0, 0);
      cells.push(el('figure', { class: ok ? 'pred right' : 'pred wrong', 'data-predicted': String(guess), 'data-label': String(truth) },
        canvas,
        el('figcaption', {},
          el('span', { class: 'guess', text: `${ok ? '✓' : '✗'} ${CLASSES[guess]}` }),
          el('span', { class: 'truth', text: ok ? 'right' : `true: ${CLASSES[truth]}` }),
          el('span', { class: 'conf', text: `p = ${p.confidence[i].toFixed(2)}` }))));
    });
    $('lenet-grid-title').textContent = p.epoch === 0
      ? `The first ${images.length} test images, before training: ${right} of ${images.length} right`
      : `The first ${images.length} test images after epoch ${p.epoch}: ${right} of ${images.length} right`;
    $('lenet-grid').replaceChildren(...cells);
    panel.predictions.right = right;
  }
}

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/**
 * A line chart on a canvas: x from 0 to xmax epochs, y ticks as given, dashed
 * guides with labels (the legend is the figure's caption). Drawn at the
 * device's pixel ratio; the canvas's width and height attributes are its size
 * in CSS pixels.
 */
function chart(canvas, { xmax, ymin, ymax, yTicks, series, guides = [] }) {
  const dpr = window.devicePixelRatio || 1;
  const W = Number(canvas.dataset.width || (canvas.dataset.width = String(canvas.width)));
  const H = Number(canvas.dataset.height || (canvas.dataset.height = String(canvas.height)));
  if (canvas.width !== Math.round(W * dpr)) {
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    canvas.style.width = `${W}px`;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const L = 46, R = 12, T = 12, B = 30;
  ctx.clearRect(0, 0, W, H);
  const sx = (x) => L + (x / Math.max(1e-9, xmax)) * (W - L - R);
  const sy = (y) => T + (1 - (Math.min(ymax, Math.max(ymin, y)) - ymin) / (ymax - ymin)) * (H - T - B);
  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  ctx.strokeStyle = '#e3e6ec'; ctx.fillStyle = '#5b6475';
  ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
  for (const [v, label] of yTicks) {
    const y = Math.round(sy(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W - R, y); ctx.stroke();
    ctx.fillText(label, L - 6, y);
  }
  ctx.textAlign = 'center'; ctx.textBaseline = 'top';
  const step = Math.max(1, Math.ceil(xmax / 10));
  for (let x = 0; x <= xmax; x += step) ctx.fillText(String(x), sx(x), H - B + 6);
  ctx.textAlign = 'right';
  ctx.fillText('epoch', W - R, H - 13);
  ctx.strokeStyle = '#9aa3b2'; ctx.fillStyle = '#9aa3b2';
  ctx.beginPath(); ctx.moveTo(L + 0.5, T); ctx.lineTo(L + 0.5, H - B + 0.5); ctx.lineTo(W - R, H - B + 0.5); ctx.stroke();
  ctx.setLineDash([5, 4]);
  ctx.textAlign = 'left'; ctx.textBaseline = 'bottom';
  for (const [g, label] of guides) {
    ctx.beginPath(); ctx.moveTo(L, sy(g)); ctx.lineTo(W - R, sy(g)); ctx.stroke();
    ctx.fillText(label, L + 4, sy(g) - 2);
  }
  ctx.setLineDash([]);
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = s.width ?? 2;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
    ctx.stroke();
    if (s.dots) for (const [x, y] of s.points) { ctx.beginPath(); ctx.arc(sx(x), sy(y), 3, 0, 2 * Math.PI); ctx.fill(); }
  }
}

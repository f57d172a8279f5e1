// The wasmconv demo page. Plain ES modules, no bundler: the library is the
// package's ESM build, imported by path.
import { seeded } from './random.js';
import { setupLenet } from './lenet.js';
import {
  init, backendInfo, tensor, ones, corr2d, nn, fit, tidy, memory,
} from '../dist/index.js';

const $ = (id) => document.getElementById(id);
const state = {
  info: null, crossOriginIsolated: self.crossOriginIsolated === true,
  chapter: null, photo: null, filters: [], learn: null, bench: null,
};
/** What the page computed, for people poking around in the console and for the browser tests. */
window.wasmconvDemo = state;

// One thing at a time: training and the benchmark both drive the engine (the
// benchmark even replaces the backend), so their buttons take turns. (The LeNet
// panel trains in a worker with its own engine: its buttons are its own.)
let queue = Promise.resolve();
const engineButtons = () => document.querySelectorAll('#learn button, #bench button');
function exclusive(fn) {
  const run = queue.then(async () => {
    for (const b of engineButtons()) b.disabled = true;
    try { return await fn(); } finally {
      for (const b of engineButtons()) b.disabled = false;
      showMemory();
    }
  });
  queue = run.catch(() => undefined);
  return run;
}
const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'style') e.style.cssText = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}
const fmt = (v, digits = 4) => (Number.isInteger(v) ? String(v) : v.toFixed(digits));
const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/**
 * Milliseconds per call of `fn`: a warm-up of about 30 ms (browsers run new
 * WebAssembly code on a baseline compiler first and optimise what turns out to be
 * hot), then the median of 5 batches, each long enough (>= 5 ms) for the timer,
 * whose resolution is 5 us in a cross-origin isolated page and 100 us otherwise.
 */
function measure(fn, { warmMs = 30, batchMs = 5, batches = 5 } = {}) {
  for (let t0 = performance.now(), r = 0; r < 2 || (performance.now() - t0 < warmMs && r < 200); r++) fn();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= batchMs || reps >= 4096) break;
    reps = Math.min(4096, reps * (dt > 0 ? Math.min(16, Math.ceil((1.2 * batchMs) / dt)) : 16));
  }
  const per = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    per.push((performance.now() - t0) / reps);
  }
  return median(per);
}

function fail(section, e) {
  console.error(e);
  $(section).dataset.state = 'error';
  $(section).append(el('p', { class: 'error', text: String((e && e.stack) || e) }));
}

// ---------------------------------------------------------------------------
// Header: which backend runs
function showBackend() {
  const info = backendInfo();
  state.info = info;
  const p = $('backend');
  p.replaceChildren(...[
    el('span', { class: 'pill', text: `${info.backend} · ${info.build}` }),
    el('span', { class: info.threads > 1 ? 'pill' : 'pill warn', text: `${info.threads} thread${info.threads === 1 ? '' : 's'}` }),
    el('span', { class: info.sharedMemory ? 'pill' : 'pill warn', text: info.sharedMemory ? 'shared memory' : 'no shared memory' }),
    el('span', { class: state.crossOriginIsolated ? 'pill' : 'pill warn', text: state.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated' }),
    info.note ? el('span', { class: 'note', text: info.note }) : null,
  ].filter(Boolean));
  p.dataset.threads = String(info.threads);
}

function showMemory() {
  try {
    const m = memory();
    $('memory').textContent = `${m.tensors} tensor${m.tensors === 1 ? '' : 's'} live, ${(m.bytes / 1024).toFixed(1)} KiB; WebAssembly memory ${(m.wasmBytes / 1048576).toFixed(1)} MiB`;
  } catch { /* not initialised yet */ }
}

// ---------------------------------------------------------------------------
// (a) the chapter's 6x8 image, the kernel [1, -1] and the edge map
function cellColor(kind, v) {
  if (kind === 'image') {
    const g = Math.round(255 * Math.min(1, Math.max(0, v)));
    return { bg: `rgb(${g},${g},${g})`, fg: g > 128 ? '#111' : '#eee' };
  }
  const t = Math.min(1, Math.abs(v));
  const [r, g, b] = v > 0 ? [224, 112, 46] : [47, 111, 223];
  const mix = (c) => Math.round(255 + (c - 255) * t);
  return { bg: v === 0 ? '#f4f5f7' : `rgb(${mix(r)},${mix(g)},${mix(b)})`, fg: t > 0.55 ? '#fff' : '#222' };
}

function grid(rows, kind, label, cls = '') {
  const g = el('div', { class: `grid ${cls}`, style: `grid-template-columns: repeat(${rows[0].length}, auto)` });
  g.setAttribute('role', 'table');
  g.setAttribute('aria-label', label);
  for (const row of rows) {
    for (const v of row) {
      const { bg, fg } = cellColor(kind, v);
      g.append(el('div', { class: 'cell', style: `background:${bg};color:${fg}`, text: fmt(v, 2) }));
    }
  }
  return el('div', { class: 'grid-box' }, el('div', { class: 'grid-label', text: label }), g);
}

function chapter() {
  const out = tidy(() => {
    const X = ones([6, 8]);
    X.assign(X.toArray().map((row) => row.map((v, j) => (j >= 2 && j < 6 ? 0 : v))));
    const K = tensor([[1, -1]]);
    const Y = corr2d(X, K);
    const XT = tensor(transpose(X.toArray()));
    return { X: X.toArray(), K: K.toArray(), Y: Y.toArray(), YT: corr2d(XT, K).toArray() };
  });
  state.chapter = out;
  $('chapter-grids').replaceChildren(
    grid(out.X, 'image', 'X (6 × 8)'),
    el('span', { class: 'op', text: '⋆' }),
    grid(out.K, 'signed', 'K (1 × 2)'),
    el('span', { class: 'op', text: '=' }),
    grid(out.Y, 'signed', 'Y = corr2d(X, K) (6 × 7)'),
  );
  const zeros = out.YT.every((r) => r.every((v) => v === 0));
  $('chapter-transposed').replaceChildren(
    el('span', { text: `corr2d(X.t(), K) on the transposed image (8 × 8 → 8 × 7) is ${zeros ? 'all zeros' : 'not all zeros'}: the kernel [1, −1] only sees vertical edges; its transpose [[1], [−1]] finds horizontal ones (see the photograph below).` }),
  );
  $('chapter').dataset.state = 'done';
}

function transpose(rows) { return rows[0].map((_, j) => rows.map((r) => r[j])); }

// ---------------------------------------------------------------------------
// (b) the photograph through several kernels
const KERNELS = [
  { name: '[1, −1]', id: 'diff-x', k: [[1, -1]], signed: true },
  { name: '[1, −1]ᵀ', id: 'diff-y', k: [[1], [-1]], signed: true },
  { name: 'Sobel x', id: 'sobel-x', k: [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], signed: true },
  { name: 'Sobel y', id: 'sobel-y', k: [[-1, -2, -1], [0, 0, 0], [1, 2, 1]], signed: true },
  { name: 'Laplacian', id: 'laplacian', k: [[0, 1, 0], [1, -4, 1], [0, 1, 0]], signed: true },
  { name: '5 × 5 blur', id: 'blur-5', k: binomial5(), signed: false },
];
function binomial5() {
  const b = [1, 4, 6, 4, 1];
  return b.map((u) => b.map((v) => (u * v) / 256));
}

async function loadPhoto() {
  const img = new Image();
  img.src = new URL('photo.png', import.meta.url).href;
  await img.decode();
  const c = el('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, c.width, c.height).data;
  const gray = new Float32Array(c.width * c.height);
  let sum = 0;
  for (let i = 0; i < gray.length; i++) { gray[i] = rgba[4 * i] / 255; sum += rgba[4 * i]; }
  return { width: c.width, height: c.height, gray, sum };
}

function drawGray(canvas, data, h, w, signed) {
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d');
  const im = ctx.createImageData(w, h);
  let scale = 1;
  if (signed) {
    // 0 is mid-gray; the 99.5th percentile of |v| maps to black/white.
    const abs = Float32Array.from(data, Math.abs).sort();
    scale = abs[Math.floor(0.995 * (abs.length - 1))] || 1;
  }
  for (let i = 0; i < h * w; i++) {
    const v = signed ? 0.5 + 0.5 * (data[i] / scale) : data[i];
    const g = Math.round(255 * Math.min(1, Math.max(0, v)));
    im.data[4 * i] = g; im.data[4 * i + 1] = g; im.data[4 * i + 2] = g; im.data[4 * i + 3] = 255;
  }
  ctx.putImageData(im, 0, 0);
}

function kernelGrid(k) {
  const max = Math.max(...k.flat().map(Math.abs));
  const rows = k.map((r) => r.map((v) => v / max));
  const g = grid(rows, 'signed', '', 'small');
  // show the real values, colours scaled to the largest entry
  const cells = g.querySelectorAll('.cell');
  k.flat().forEach((v, i) => { cells[i].textContent = Number.isInteger(v) ? String(v) : String(Math.round(v * 256)); cells[i].title = String(v); });
  return g.querySelector('.grid');
}

async function filters() {
  const photo = await loadPhoto();
  state.photo = { width: photo.width, height: photo.height, sum: photo.sum };
  const gridEl = $('filter-grid');
  const original = el('canvas');
  drawGray(original, photo.gray, photo.height, photo.width, false);
  gridEl.replaceChildren(el('div', { class: 'filter', id: 'filter-original' },
    el('div', { class: 'head' }, el('span', { class: 'name', text: 'the photograph' }), el('span', { class: 'time', text: `${photo.width} × ${photo.height}` })),
    original,
    el('div', { class: 'meta' }, el('span', { text: 'demo/photo.png, values in [0, 1]' }))));
  state.filters = [];
  const X = tensor(photo.gray, [photo.height, photo.width]);
  try {
    for (const f of KERNELS) {
      await frame(); // let the page paint between filters
      const K = tensor(f.k);
      try {
        const ms = measure(() => corr2d(X, K).dispose());
        const Y = corr2d(X, K);
        const [h, w] = Y.shape;
        const data = Y.data();
        Y.dispose();
        let sum = 0, sumAbs = 0;
        for (const v of data) { sum += v; sumAbs += Math.abs(v); }
        state.filters.push({ id: f.id, name: f.name, ms, shape: [h, w], sum, sumAbs, sample: Array.from(data.subarray(0, 16)) });
        const canvas = el('canvas');
        drawGray(canvas, data, h, w, f.signed);
        const note = f.id === 'blur-5' ? ' (×1/256)' : '';
        gridEl.append(el('div', { class: 'filter', id: `filter-${f.id}` },
          el('div', { class: 'head' }, el('span', { class: 'name', text: f.name }), el('span', { class: 'time', text: `${fmtMs(ms)} ms` })),
          canvas,
          el('div', { class: 'meta' }, el('span', { text: `${h} × ${w} output${note}` }), kernelGrid(f.k))));
      } finally {
        K.dispose();
      }
    }
  } finally {
    X.dispose();
  }
  $('filters').dataset.state = 'done';
}

// ---------------------------------------------------------------------------
// (c) learning the kernel live
function readLearnParams() {
  const lr = Number($('lr').value), epochs = Number($('epochs').value), seed = Number($('seed').value);
  if (!(lr > 0 && lr <= 1)) throw new RangeError(`learning rate must be in (0, 1], got ${$('lr').value}`);
  if (!(Number.isInteger(epochs) && epochs >= 1 && epochs <= 500)) throw new RangeError(`epochs must be an integer from 1 to 500, got ${$('epochs').value}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${$('seed').value}`);
  return { lr, epochs, seed };
}

async function learn(params) {
  const { lr, epochs, seed } = params;
  const section = $('learn');
  section.dataset.state = 'running';
  const run = { params, losses: [], weights: [], weight: null, diverged: false };
  state.learn = run;
  const X = ones([6, 8]);
  X.assign(X.toArray().map((row) => row.map((v, j) => (j >= 2 && j < 6 ? 0 : v))));
  const K = tensor([[1, -1]]);
  const Y = corr2d(X, K);
  const X4 = X.reshape([1, 1, 6, 8]);
  const Y4 = Y.reshape([1, 1, 6, 7]);
  const conv = new nn.Conv2D(1, 1, [1, 2], { bias: false, seed });
  const delay = Math.max(0, Math.min(60, 2500 / epochs));
  try {
    run.weights.push(Array.from(conv.weight.data()));
    drawLearn(run);
    for (let e = 1; e <= epochs; e++) {
      const { loss } = fit(conv, X4, Y4, { epochs: 1, lr, loss: 'sse' });
      run.losses.push(loss[0]);
      run.weights.push(Array.from(conv.weight.data()));
      if (!Number.isFinite(loss[0])) run.diverged = true;
      drawLearn(run);
      $('learn-status').textContent = `epoch ${e}/${epochs}, loss ${loss[0].toPrecision(4)}`;
      if (delay > 0) await sleep(delay); else if (e % 10 === 0) await frame();
    }
    run.weight = run.weights[run.weights.length - 1];
    // Gradient descent on this loss is stable for lr < 2 / (largest Hessian eigenvalue) = 2 / 60.
    if (epochs > 1 && !(run.losses[epochs - 1] < run.losses[0])) run.diverged = true;
    const [w0, w1] = run.weight;
    $('learn-status').textContent = run.diverged
      ? `diverged: the loss grew to ${run.losses[epochs - 1].toPrecision(4)}; here gradient descent needs a learning rate below 1/30 ≈ 0.033`
      : `after ${epochs} epoch${epochs === 1 ? '' : 's'}: loss ${run.losses[epochs - 1].toPrecision(4)}, weight [${w0.toFixed(4)}, ${w1.toFixed(4)}] (target [1, −1])`;
    section.dataset.state = 'done';
  } finally {
    for (const t of [conv, X4, Y4, X, K, Y]) t.dispose();
  }
  return run;
}

function drawLearn(run) {
  const w = run.weights[run.weights.length - 1];
  const learned = $('learned');
  learned.className = 'grid wide';
  learned.style.gridTemplateColumns = 'repeat(2, auto)';
  learned.replaceChildren(...w.map((v) => {
    const { bg, fg } = cellColor('signed', Math.max(-1, Math.min(1, v)));
    return el('div', { class: 'cell', style: `background:${bg};color:${fg}`, text: Number.isFinite(v) ? v.toFixed(4) : String(v) });
  }));
  const epochs = run.params.epochs;
  // loss, log scale
  const finite = run.losses.filter((v) => Number.isFinite(v) && v > 0);
  const lo = finite.length ? Math.min(...finite) : 1e-3, hi = finite.length ? Math.max(...finite) : 1;
  const ymin = Math.floor(Math.log10(lo)), ymax = Math.max(ymin + 1, Math.ceil(Math.log10(hi)));
  plot($('loss-plot'), {
    xmax: epochs, ymin, ymax, yTicks: range(ymin, ymax).map((p) => [p, `1e${p}`]),
    series: [{ color: '#2f6fdf', points: run.losses.map((v, i) => [i + 1, Number.isFinite(v) && v > 0 ? Math.log10(v) : (v > 0 ? ymax : ymin)]) }],
  });
  const ws = run.weights;
  const all = ws.flat().filter(Number.isFinite);
  const wmin = Math.min(-1.2, ...all), wmax = Math.max(1.2, ...all);
  plot($('weight-plot'), {
    xmin: 0, xmax: epochs, ymin: Math.max(wmin, -5), ymax: Math.min(wmax, 5),
    yTicks: [-1, -0.5, 0, 0.5, 1].map((v) => [v, String(v)]),
    guides: [1, -1],
    series: [
      { color: '#e0702e', label: 'w[0] → 1', points: ws.map((p, i) => [i, p[0]]) },
      { color: '#2f6fdf', label: 'w[1] → −1', points: ws.map((p, i) => [i, p[1]]) },
    ],
  });
}
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

function plot(canvas, { xmin = 1, xmax, ymin, ymax, yTicks, series, guides = [] }) {
  const ctx = canvas.getContext('2d');
  const W = canvas.width, H = canvas.height, L = 52, R = 12, T = 12, B = 30;
  ctx.clearRect(0, 0, W, H);
  const sx = (x) => L + ((x - xmin) / Math.max(1e-9, xmax - xmin)) * (W - L - R);
  const sy = (y) => T + (1 - (Math.min(ymax, Math.max(ymin, y)) - ymin) / (ymax - ymin)) * (H - T - B);
  ctx.font = '11px system-ui, sans-serif';
  ctx.strokeStyle = '#e3e6ec'; ctx.fillStyle = '#5b6475'; ctx.lineWidth = 1;
  ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
  for (const [v, label] of yTicks) {
    if (v < ymin || v > ymax) continue;
    ctx.beginPath(); ctx.moveTo(L, sy(v) + 0.5); ctx.lineTo(W - R, sy(v) + 0.5); ctx.stroke();
    ctx.fillText(label, L - 6, sy(v));
  }
  ctx.textAlign = 'center'; ctx.textBaseline = 'top';
  const step = Math.max(1, Math.ceil((xmax - xmin) / 10));
  for (let x = xmin; x <= xmax; x += step) ctx.fillText(String(x), sx(x), H - B + 6);
  ctx.fillText('epoch', W - R - 16, H - 14);
  ctx.strokeStyle = '#9aa3b2';
  ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, H - B); ctx.lineTo(W - R, H - B); ctx.stroke();
  ctx.setLineDash([5, 4]); ctx.strokeStyle = '#9aa3b2';
  for (const g of guides) { ctx.beginPath(); ctx.moveTo(L, sy(g)); ctx.lineTo(W - R, sy(g)); ctx.stroke(); }
  ctx.setLineDash([]);
  let ly = (T + H - B) / 2 - 7 * series.filter((x) => x.label).length;
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = 2;
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
    ctx.stroke();
    for (const [x, y] of s.points) { ctx.beginPath(); ctx.arc(sx(x), sy(y), 2.5, 0, 2 * Math.PI); ctx.fill(); }
    if (s.label) {
      ctx.textAlign = 'right'; ctx.textBaseline = 'top';
      ctx.fillText(s.label, W - R - 4, ly); ly += 14;
    }
  }
}

// ---------------------------------------------------------------------------
// (d) benchmark: plain JS against wasm on 1 and all threads

// The chapter's corr2d, translated literally to JavaScript:
//   Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
function corr2dJS(X, K) {
  const h = K.length, w = K[0].length;
  const Y = [];
  for (let i = 0; i < X.length - h + 1; i++) {
    const row = [];
    for (let j = 0; j < X[0].length - w + 1; j++) {
      let s = 0;
      for (let a = 0; a < h; a++) {
        for (let b = 0; b < w; b++) s += X[i + a][j + b] * K[a][b];
      }
      row.push(s);
    }
    Y.push(row);
  }
  return Y;
}


async function benchWasm(threads, n, kh, kw, xFlat, kFlat, expect) {
  await init({ threads });
  const info = backendInfo();
  const X = tensor(xFlat, [n, n]);
  const K = tensor(kFlat, [kh, kw]);
  try {
    const Y = corr2d(X, K);
    const got = Y.data();
    Y.dispose();
    let maxErr = 0;
    for (let i = 0; i < got.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - expect[i]));
    const ms = measure(() => corr2d(X, K).dispose());
    return { info, ms, maxErr };
  } finally {
    X.dispose(); K.dispose();
  }
}

async function bench(n, k) {
  const section = $('bench');
  section.dataset.state = 'running';
  const out = $('bench-out');
  const kh = k === 2 ? 1 : k, kw = k;
  const status = el('p', { class: 'aside', text: 'running plain JavaScript…' });
  out.replaceChildren(status);
  await frame();
  const rnd = seeded(n * 131 + k);
  const xFlat = Float32Array.from({ length: n * n }, () => rnd() * 2 - 1);
  const kFlat = Float32Array.from({ length: kh * kw }, () => rnd() * 2 - 1);
  const Xa = Array.from({ length: n }, (_, i) => Array.from(xFlat.subarray(i * n, (i + 1) * n)));
  const Ka = Array.from({ length: kh }, (_, i) => Array.from(kFlat.subarray(i * kw, (i + 1) * kw)));
  const expect = corr2dJS(Xa, Ka).flat();
  const jsMs = measure(() => corr2dJS(Xa, Ka));
  const flops = 2 * (n - kh + 1) * (n - kw + 1) * kh * kw;
  status.textContent = 'running wasmconv on one thread…';
  await frame();
  const one = await benchWasm(1, n, kh, kw, xFlat, kFlat, expect);
  const cores = navigator.hardwareConcurrency || 1;
  status.textContent = `running wasmconv on ${cores} threads…`;
  await frame();
  const all = await benchWasm(cores, n, kh, kw, xFlat, kFlat, expect);
  showBackend();
  const rows = [
    { id: 'js', what: 'plain JavaScript corr2d', threads: 1, ms: jsMs },
    { id: 'wasm-1', what: `wasmconv (${one.info.build})`, threads: one.info.threads, ms: one.ms, maxErr: one.maxErr },
    { id: 'wasm-all', what: `wasmconv (${all.info.build})`, threads: all.info.threads, ms: all.ms, maxErr: all.maxErr, note: all.info.note },
  ];
  const slowest = Math.max(...rows.map((r) => r.ms));
  const table = el('table', {},
    el('thead', {}, el('tr', {}, ...['', 'threads', 'median ms', 'GFLOP/s', '× plain JS', ''].map((h, i) => el('th', { class: i >= 1 && i <= 4 ? 'num' : '', text: h })))),
    el('tbody', {}, ...rows.map((r) => el('tr', { id: `bench-${r.id}` },
      el('td', { text: r.what }),
      el('td', { class: 'num', text: String(r.threads) }),
      el('td', { class: 'num', text: fmtMs(r.ms) }),
      el('td', { class: 'num', text: (flops / r.ms / 1e6).toFixed(2) }),
      el('td', { class: 'num', text: `${(jsMs / r.ms).toFixed(1)}×` }),
      el('td', { style: 'width: 30%' }, el('div', { class: r.id === 'js' ? 'bar js' : 'bar', style: `width:${(100 * r.ms) / slowest}%` }))))));
  const speedup = jsMs / Math.min(one.ms, all.ms);
  const maxErr = Math.max(one.maxErr, all.maxErr);
  out.replaceChildren(...[
    el('p', { class: 'aside', text: `corr2d of ${n}×${n} with ${kh}×${kw}: ${(flops / 1e6).toFixed(1)} MFLOP per call; ${navigator.hardwareConcurrency || '?'} logical cores reported by this browser.` }),
    table,
    el('p', { class: 'ratio', id: 'bench-ratio', text: `wasmconv is ${speedup.toFixed(1)}× as fast as the plain-JavaScript corr2d here` +
      (all.info.threads > 1 ? `; ${all.info.threads} threads are ${(one.ms / all.ms).toFixed(2)}× one thread.` : '.') }),
    all.info.note ? el('p', { class: 'note', text: `All threads: ${all.info.note}` }) : null,
    all.info.threads > 1 && one.ms / all.ms < 1.15
      ? el('p', { class: 'aside', id: 'bench-threads-note', text: 'More threads barely help here: the engine splits this kernel over images × output channels, and the chapter\'s single-channel corr2d is one such unit, so one thread computes it (multi-channel conv2d layers do use every thread).' })
      : null,
    el('p', { class: 'aside', text: `Largest difference from the JavaScript result: ${maxErr.toExponential(2)} (float32 vs float64 sums).` }),
  ].filter(Boolean));
  state.bench = { n, kh, kw, jsMs, one, all, speedup, maxErr };
  section.dataset.state = 'done';
  return state.bench;
}

// ---------------------------------------------------------------------------
async function main() {
  $('js-source').textContent = corr2dJS.toString();
  const lenet = setupLenet(state).catch((e) => fail('lenet', e));
  await init();
  showBackend();
  try { chapter(); } catch (e) { fail('chapter', e); }
  showMemory();
  try { await filters(); } catch (e) { fail('filters', e); }
  showMemory();
  $('learn-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    let params;
    try { params = readLearnParams(); } catch (e) { $('learn-status').textContent = e.message; return; }
    exclusive(() => learn(params)).catch((e) => fail('learn', e));
  });
  $('bench-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    exclusive(() => bench(Number($('bench-n').value), Number($('bench-k').value))).catch((e) => fail('bench', e));
  });
  await exclusive(() => learn(readLearnParams())).catch((e) => fail('learn', e));
  await lenet;
  document.body.dataset.ready = 'true';
}

state.ready = main().catch((e) => {
  console.error(e);
  $('backend').replaceChildren(el('span', { class: 'error', text: `The engine failed to start: ${String((e && e.message) || e)}` }));
  document.body.dataset.ready = 'error';
});

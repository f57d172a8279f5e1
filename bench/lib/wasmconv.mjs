// wasmconv engines: each build / thread count is one `init()` configuration,
// measured through the public API (conv2d under noGrad for forward, y.backward(dy)
// through autograd for the input, weight and bias gradients).
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, attempt, checksum, cpuMeter, geometry, measure, now, readbackPolicy, withTimeout } from './common.mjs';

export async function loadWasmconv() {
  return import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);
}

export const CORES = availableParallelism();

/** The wasmconv configurations; `peak` names the peak each one is compared with. */
export function wasmconvVariants() {
  return [
    { id: 'wasm-simd-1t', label: 'wasmconv SIMD 1T', init: { build: 'simd', threads: 1 }, peak: 'simd1', api: 'conv2d' },
    { id: 'wasm-simd-nt', label: `wasmconv SIMD ${CORES}T`, init: { build: 'simd', threads: CORES }, peak: 'simdN', api: 'conv2d', skip: CORES < 2 ? 'one core' : null },
    { id: 'wasm-relaxed-1t', label: 'wasmconv relaxed-SIMD 1T', init: { build: 'relaxed-simd', threads: 1 }, peak: 'relaxed1', api: 'conv2d', child: 'relaxed' },
    { id: 'wasm-nosimd-1t', label: 'wasmconv no-SIMD 1T', init: { build: 'no-simd', threads: 1 }, peak: 'simd1', api: 'conv2d' },
    { id: 'reference', label: 'reference backend (f64 TS)', init: { backend: 'reference' }, peak: 'simd1', api: 'conv2d' },
    { id: 'wasm-corr2d', label: 'wasmconv corr2d() SIMD 1T', init: { build: 'simd', threads: 1 }, peak: 'simd1', api: 'corr2d', singleChannelOnly: true },
    { id: 'wasm-corr2d-nt', label: `wasmconv corr2d() SIMD ${CORES}T`, init: { build: 'simd', threads: CORES }, peak: 'simdN', api: 'corr2d', singleChannelOnly: true, skip: CORES < 2 ? 'one core' : null },
  ];
}

/** The first init() of each configuration in this process: decodes and compiles the build, spawns workers. */
const coldInits = new Map();
export function coldInitTimes() {
  const labels = new Map(wasmconvVariants().map((v) => [JSON.stringify(v.init), v.label.replace(' corr2d()', '')]));
  return [...coldInits].map(([key, ms]) => ({ key, label: labels.get(key) ?? key, ms }));
}

/** Switches this process's engine to the reference backend (frees the wasm memory and workers). */
export async function releaseEngine(wc) {
  if (initHung) return;
  await withTimeout(wc.init({ backend: 'reference', replace: true }), INIT_TIMEOUT_MS, "init({ backend: 'reference' })");
}
let initHung = null;
const INIT_TIMEOUT_MS = 60_000;
/**
 * init() with these options on a fresh backend (so that the memory high-water
 * mark belongs to this shape alone): `replace: true` makes init build a new
 * backend even when it already runs with these options (and disposes any
 * tensor still live on the old one).
 * An init that never settles would stall every later init (they queue behind
 * it), so after a timeout the remaining wasmconv measurements of this process
 * are skipped with that error.
 */
export async function freshInit(wc, opts) {
  if (initHung) throw new Error(`skipped: an earlier init() hung (${initHung})`);
  const key = JSON.stringify(opts);
  try {
    const t0 = now();
    await withTimeout(wc.init({ ...opts, replace: true }), INIT_TIMEOUT_MS, `init(${key})`);
    const ms = now() - t0;
    if (!coldInits.has(key)) coldInits.set(key, ms);
    return ms;
  } catch (e) {
    if (/did not finish/.test(e.message)) {
      initHung = e.message;
      try { e.message += `; diagnostic report: ${process.report.writeReport()}`; } catch { /* no report */ }
    }
    throw e;
  }
}

/**
 * JIT warm-up of the JS op layer (validation, autograd, tidy) before anything
 * is timed, so that the first engine measured is not penalised on tiny shapes.
 */
export async function warmUpOps(wc, ms) {
  await freshInit(wc, { build: 'simd', threads: 1 });
  const x = wc.tensor(new Float32Array(2 * 3 * 6 * 8).fill(0.5), [2, 3, 6, 8], { requiresGrad: true });
  const w = wc.tensor(new Float32Array(4 * 3 * 2).fill(0.25), [4, 3, 1, 2], { requiresGrad: true });
  const b = wc.tensor(new Float32Array(4), [4], { requiresGrad: true });
  const X = wc.tensor(new Float32Array(48).fill(1), [6, 8], { requiresGrad: true });
  const K = wc.tensor(new Float32Array([1, -1]), [1, 2], { requiresGrad: true });
  const t0 = now();
  while (now() - t0 < ms) {
    wc.tidy(() => {
      wc.noGrad(() => wc.conv2d(x, w, { bias: b, padding: 1 }));
      const y = wc.conv2d(x, w, { bias: b, padding: 1 });
      y.backward(wc.zeros(y.shape));
      wc.noGrad(() => wc.corr2d(X, K));
      wc.corr2d(X, K).sum().backward();
      for (const t of [x, w, b, X, K]) { t.grad.dispose(); t.grad = null; }
    });
  }
  for (const t of [x, w, b, X, K]) t.dispose();
}

/** A measurement, or { supported: false, error } when the engine throws. */
function guarded(f) {
  try { return { supported: true, ...f() }; } catch (e) { return { supported: false, error: e instanceof Error ? e.message : String(e) }; }
}

function clearGrads(...ts) {
  for (const t of ts) { if (t.grad) { t.grad.dispose(); t.grad = null; } }
}

/**
 * Measures one wasmconv configuration on one shape. Returns a result row:
 * { engine, label, supported, initMs, fwd, bwd, memory, checks, info, kernels }.
 */
export async function runWasmconv(wc, variant, shape, inputs, policy) {
  const g = geometry(shape);
  const row = { engine: variant.id, label: variant.label, peak: variant.peak, api: variant.api, supported: true };
  const meter = cpuMeter();
  const initMs = await freshInit(wc, variant.init);
  row.initMs = initMs;
  row.info = wc.backendInfo();

  const corr = variant.api === 'corr2d';
  const rg = { requiresGrad: true };
  const x = corr ? wc.tensor(inputs.x, [shape.H, shape.W], rg) : wc.tensor(inputs.x, [shape.N, shape.C, shape.H, shape.W], rg);
  const w = corr ? wc.tensor(inputs.w, [shape.KH, shape.KW], rg) : wc.tensor(inputs.w, [shape.O, g.Cg, shape.KH, shape.KW], rg);
  const b = corr ? null : wc.tensor(inputs.b, [shape.O], rg);
  const dy = corr ? wc.tensor(inputs.dy, [g.OH, g.OW]) : wc.tensor(inputs.dy, [shape.N, shape.O, g.OH, g.OW]);
  const opts = { bias: b, stride: shape.stride, padding: shape.pad, groups: shape.groups };
  const op = corr ? () => wc.corr2d(x, w) : () => wc.conv2d(x, w, opts);

  // Forward: the op under noGrad (no graph recorded), output disposed by the next call.
  let y = null;
  const checks = {};
  row.fwd = guarded(() => measure({
    policy,
    run: () => { if (y) y.dispose(); y = wc.noGrad(op); },
  }));
  row.fwd.flops = g.fwdFlops;
  if (y) { checks.y = checksum(y.data()); y.dispose(); y = null; }

  // Forward + readback: the same, then y.data() (a Float32Array copy of y in JS memory).
  row.fwdRead = guarded(() => measure({
    policy: readbackPolicy(policy),
    run: () => { if (y) y.dispose(); y = wc.noGrad(op); y.data(); },
  }));
  row.fwdRead.flops = g.fwdFlops;
  row.fwdRead.readback = 'y.data()';
  if (y) { y.dispose(); y = null; }

  // Backward: forward (recording the graph) outside the timed region, then
  // time y.backward(dy) alone: input, weight and (conv2d) bias gradients.
  const leaves = b ? [x, w, b] : [x, w];
  row.bwd = guarded(() => measure({
    policy,
    setup: () => {
      clearGrads(...leaves);
      return op();
    },
    run: (out) => out.backward(dy),
    teardown: (out) => out.dispose(),
  }));
  row.bwd.flops = b ? g.bwdFlops : g.bwdFlopsNoBias;
  if (x.grad) checks.dx = checksum(x.grad.data());
  if (w.grad) checks.dw = checksum(w.grad.data());
  if (b && b.grad) checks.db = checksum(b.grad.data());
  row.checks = checks;
  row.checksBias = !!b;

  const mem = wc.memory();
  row.memory = { wasmBytes: mem.wasmBytes, liveTensorBytes: mem.bytes, liveTensors: mem.tensors };
  const calls = x.backend && x.backend.calls instanceof Map ? Object.fromEntries(x.backend.calls) : null;
  if (calls) row.kernels = calls;
  clearGrads(...leaves);
  for (const t of [x, w, b, dy]) if (t) t.dispose();
  row.load = meter();
  return row;
}

/**
 * One training step of the chapter ("Learning a Kernel"): X is the 6x8 image
 * with a dark band, Y = corr2d(X, [[1, -1]]); the learned 1x2 kernel takes a
 * forward corr2d, the summed squared loss, backward and an SGD update in place.
 */
export async function trainingStep(wc, policy) {
  await freshInit(wc, { build: 'simd', threads: 1 });
  const Xd = new Float32Array(48).fill(1);
  for (let i = 0; i < 6; i++) for (let j = 2; j < 6; j++) Xd[i * 8 + j] = 0;
  const X = wc.tensor(Xd, [6, 8]);
  const Y = wc.tidy(() => wc.corr2d(X, wc.tensor([[1, -1]])));
  const K = wc.tensor(new Float32Array([0.3, 0.2]), [1, 2], { requiresGrad: true });
  const lr = 3e-2;
  const step = () => wc.tidy(() => {
    const l = wc.corr2d(X, K).sub(Y).square().sum();
    if (K.grad) { K.grad.dispose(); K.grad = null; }   // zero_grad
    l.backward();
    wc.noGrad(() => K.assign(K.sub(K.grad.mul(lr))));
    return undefined;
  });
  const loss = () => wc.tidy(() => wc.noGrad(() => wc.corr2d(X, K).sub(Y).square().sum().item()));
  const meter = cpuMeter();
  const loss0 = loss();
  const t0 = now(); step(); const firstUs = (now() - t0) * 1000;
  const tensorsAfterFirst = wc.memory().tensors;
  for (let i = 0; i < 9; i++) step();
  const loss10 = loss();
  // Steady state: batches of steps, median per step. The kernel keeps converging
  // to [1, -1] meanwhile (the loss only shrinks, the work per step is the same).
  const batch = 100;
  const r = measure({ policy: { ...policy, minIters: 30, minMs: Math.max(policy.minMs, 300) }, run: () => { for (let i = 0; i < batch; i++) step(); } });
  const kernel = Array.from(K.data());
  const leak = wc.memory().tensors - tensorsAfterFirst;
  const result = {
    firstUs, medianUs: (r.medianMs * 1000) / batch, minUs: (r.minMs * 1000) / batch, steps: r.calls * batch, batches: r.iters,
    loss0, loss10, kernel, leakedTensors: leak, load: meter(),
    what: '6x8 image, 1x2 kernel: corr2d forward, (Y_hat - Y)^2 summed, backward, K -= 0.03 * K.grad (noGrad + assign), inside tidy, SIMD 1 thread',
  };
  if (K.grad) K.grad.dispose();
  for (const t of [X, Y, K]) t.dispose();
  return result;
}

export { attempt };

// The machine's WebAssembly SIMD128 peak: the `simd_peak` export of the SIMD
// builds runs 12 independent f32x4 multiply-add chains in registers (96 flops
// per iteration, no memory traffic). build/simd.wasm gives the mul+add peak,
// build/relaxed.wasm (relaxed_madd, fused where the CPU has FMA) the relaxed one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ROOT, now } from './common.mjs';

const FLOPS_PER_ITER = 96;

export function wasmBytes(build) {
  return readFileSync(join(ROOT, 'build', `${build}.wasm`));
}

function peakFunction(bytes) {
  const module = new WebAssembly.Module(bytes);
  const instance = new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } });
  const f = instance.exports.simd_peak;
  if (typeof f !== 'function') throw new Error('this build exports no simd_peak');
  return f;
}

/**
 * Single-thread peak in GFLOP/s: the best of `runs` runs of about `runMs` each,
 * after warm-up (the first long call runs in Liftoff, before tier-up).
 */
export function singleThreadPeak(build = 'simd', { runs = 7, runMs = 150 } = {}) {
  const f = peakFunction(wasmBytes(build));
  for (let i = 0; i < 3; i++) f(200000, 0.5);
  // Calibrate the iteration count to about runMs.
  let iters = 1e6;
  for (;;) {
    const t0 = now(); f(iters, 0.5); const dt = now() - t0;
    if (dt > 20) { iters = Math.max(1, Math.round((iters * runMs) / dt)); break; }
    iters *= 4;
  }
  const rates = [];
  for (let r = 0; r < runs; r++) {
    const t0 = now(); f(iters, 0.5); const dt = now() - t0;
    rates.push((iters * FLOPS_PER_ITER) / dt / 1e6);
  }
  return { gflops: Math.max(...rates), runs: rates, iters, flopsPerIter: FLOPS_PER_ITER, build, threads: 1 };
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const m = new WebAssembly.Module(workerData.bytes);
const f = new WebAssembly.Instance(m, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } }).exports.simd_peak;
for (let i = 0; i < 3; i++) f(200000, 0.5);
parentPort.on('message', (iters) => {
  const t0 = performance.now(); f(iters, 0.5); parentPort.postMessage(performance.now() - t0);
});
parentPort.postMessage('ready');
`;

/**
 * All-thread peak: `threads` workers run the loop at once; GFLOP/s = total flops
 * over the wall time of the slowest. Shows whether the cores are SMT siblings.
 */
export async function multiThreadPeak(build, threads, itersPerThread, { runs = 5 } = {}) {
  const bytes = wasmBytes(build);
  const workers = [];
  try {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(WORKER, { eval: true, workerData: { bytes } });
      workers.push(w);
      await new Promise((res, rej) => { w.once('message', res); w.once('error', rej); });
    }
    const rates = [];
    for (let r = 0; r < runs; r++) {
      const t0 = now();
      await Promise.all(workers.map((w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej); w.postMessage(itersPerThread); })));
      const dt = now() - t0;
      rates.push((threads * itersPerThread * FLOPS_PER_ITER) / dt / 1e6);
    }
    return { gflops: Math.max(...rates), runs: rates, iters: itersPerThread, flopsPerIter: FLOPS_PER_ITER, build, threads };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

// The fully connected layers of LeNet at batch 256 through the public API:
// linear(x, w, b) forward (under noGrad) and forward + backward (dx, dw, db),
// next to the SIMD peak measured in the same process.
//
//   npm run build && node bench/matmul.mjs [simd|no-simd] [threads]
//   node --experimental-wasm-relaxed-simd bench/matmul.mjs relaxed-simd [threads]
//
// Each figure is the best of many short timing windows (the machine is shared:
// a window that another process interrupted is slower, never faster).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, now } from './lib/common.mjs';
import { singleThreadPeak } from './lib/peak.mjs';

const { init, linear, noGrad, randn, tidy } = await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);
const build = process.argv[2] ?? 'simd';
const threads = Number(process.argv[3] ?? 1);
await init({ build, threads, replace: true });

/** Best time of `fn` in ms over `windows` windows of about 2 ms each. */
function best(fn, windows = 60) {
  for (let i = 0; i < 20; i++) fn();
  const t0 = now(); fn(); const once = Math.max(now() - t0, 1e-3);
  const reps = Math.max(1, Math.round(2 / once));
  let b = Infinity;
  for (let w = 0; w < windows; w++) {
    const s = now();
    for (let i = 0; i < reps; i++) fn();
    b = Math.min(b, (now() - s) / reps);
  }
  return b;
}

const rows = [];
for (const [inF, outF] of [[400, 120], [120, 84], [84, 10]]) {
  const x = randn([256, inF], { requiresGrad: true }), w = randn([outF, inF], { requiresGrad: true }), b = randn([outF], { requiresGrad: true });
  const g = randn([256, outF]);
  const clear = () => { for (const t of [x, w, b]) { t.grad?.dispose(); t.grad = null; } };
  const flops = 2 * 256 * inF * outF;
  const fwd = best(() => tidy(() => { noGrad(() => linear(x, w, b)); return []; }));
  const both = best(() => tidy(() => { linear(x, w, b).backward(g); clear(); return []; }));
  rows.push({ layer: `[256, ${inF}] x [${outF}, ${inF}]^T`, fwdUs: fwd * 1000, fwdGflops: flops / fwd / 1e6, stepUs: both * 1000, stepGflops: (3 * flops) / both / 1e6 });
  for (const t of [x, w, b, g]) t.dispose();
}
const peak = build === 'no-simd' ? null : singleThreadPeak(build === 'relaxed-simd' ? 'relaxed' : 'simd', { runs: 200, runMs: 1 });
console.log(`linear at LeNet sizes, ${build}, ${threads} thread${threads > 1 ? 's' : ''}${peak ? `; 1-thread SIMD peak ${peak.gflops.toFixed(1)} GFLOP/s` : ''}`);
for (const r of rows) {
  console.log(`${r.layer.padEnd(24)} forward ${r.fwdUs.toFixed(0).padStart(5)} us ${r.fwdGflops.toFixed(1).padStart(5)} GFLOP/s   forward+backward ${r.stepUs.toFixed(0).padStart(5)} us ${r.stepGflops.toFixed(1).padStart(5)} GFLOP/s`);
}
process.exit(0);

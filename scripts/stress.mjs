// Oversubscribed stress of the worker pool: with background load on every core,
// runs conv2d forward and backward on more threads than cores (8 and 16 by
// default) over and over, comparing every result bitwise with a 1-thread run.
// Prints calls done and mismatches; exits 1 on any mismatch or pool failure.
//   npm run stress -- [--seconds 60] [--threads 8,16] [--load 2]
// (`npm run fuzz` runs it after the property tests.)
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { init, backendInfo, tensor, conv2d, tidy } from '../dist/index.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const seconds = Number(opt('--seconds', 60));
const threadCounts = String(opt('--threads', '8,16')).split(',').map(Number);
const loaders = Number(opt('--load', availableParallelism()));
if (!(seconds > 0)) {
  console.error(`--seconds needs a positive number, got ${opt('--seconds')}`);
  process.exit(2);
}
if (!threadCounts.every((t) => Number.isInteger(t) && t >= 2 && t <= 256)) {
  console.error(`--threads needs integers from 2 to 256, got ${opt('--threads')}`);
  process.exit(2);
}
if (!(Number.isInteger(loaders) && loaders >= 0)) {
  console.error(`--load needs a count of busy processes, got ${opt('--load')}`);
  process.exit(2);
}

// Shapes the engine splits over the pool, one per kernel family: just above the
// 2 MFLOP below which a call stays on one thread, so that calls are short and
// many. Each has two inputs, run alternately: an output block recycled from the
// previous call then holds the other input's result, so a share left unwritten
// when the call returns shows as a mismatch.
const CASES = [
  { name: 'gemm 3x3', x: [2, 16, 16, 16], w: [16, 16, 3, 3], opts: { padding: 1 } },
  { name: 'gemm strided', x: [2, 16, 34, 34], w: [32, 16, 3, 3], opts: { stride: 2, padding: 1 } },
  { name: 'depthwise', x: [2, 32, 48, 48], w: [32, 1, 3, 3], opts: { groups: 32, padding: 1 } },
  { name: 'single channel 7x7', x: [1, 1, 160, 160], w: [1, 1, 7, 7], opts: {} },
  { name: 'pointwise', x: [2, 48, 16, 16], w: [48, 48, 1, 1], opts: {} },
];
const SEEDS = [1, 2];

/** Deterministic values in [-1, 1) (a small LCG: inputs need not be high quality). */
function values(n, seed) {
  const a = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}
const size = (shape) => shape.reduce((a, b) => a * b, 1);

const inputs = CASES.flatMap((c) => SEEDS.map((seed) => ({
  c, seed,
  x: values(size(c.x), seed), w: values(size(c.w), seed + 100), b: values(c.w[0], seed + 200),
})));

/** Forward and backward (four kernel calls), each output read as soon as it is made: y, dx, dw, db. */
function step(k) {
  return tidy(() => {
    const x = tensor(k.x, k.c.x, { requiresGrad: true });
    const w = tensor(k.w, k.c.w, { requiresGrad: true });
    const b = tensor(k.b, [k.c.w[0]], { requiresGrad: true });
    const y = conv2d(x, w, { ...k.c.opts, bias: b });
    const yd = y.data();
    y.backward(tensor(k.dy ??= values(y.size, k.seed + 300), y.shape));
    return { y: yd, dx: x.grad.data(), dw: w.grad.data(), db: b.grad.data() };
  });
}

/** The first element whose bits differ, or -1. */
function firstDifference(a, b) {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

// Background load: busy processes that stop on their own at the deadline, or
// when this process is gone.
const busySource = `
const end = Date.now() + ${Math.ceil(seconds * 1000) + 60_000}, parent = process.ppid;
let x = 0;
while (Date.now() < end && process.ppid === parent) { for (let i = 0; i < 1e6; i++) x = (x * 31 + i) | 0; }
`;
const busy = [];
const stopLoad = () => { for (const p of busy) if (p.exitCode === null && p.signalCode === null) p.kill(); };
process.on('exit', stopLoad);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopLoad(); process.exit(130); });

await init({ threads: 1 });
const build = backendInfo().build;
const expected = inputs.map(step);
for (let i = 0; i < loaders; i++) busy.push(spawn(process.execPath, ['-e', busySource], { stdio: 'ignore' }));
console.log(`stress: ${build} build, ${threadCounts.join(' and ')} threads on ${availableParallelism()} cores with ${loaders} busy processes, ${seconds} s`);

let mismatches = 0, failures = 0, totalCalls = 0;
for (const [ti, threads] of threadCounts.entries()) {
  await init({ threads, build });
  const info = backendInfo();
  if (info.threads !== threads) {
    console.error(`stress: asked for ${threads} threads, the engine runs ${info.threads}${info.note ? ` (${info.note})` : ''}`);
    failures++;
    continue;
  }
  const end = performance.now() + (seconds * 1000) / threadCounts.length;
  let calls = 0, steps = 0, lastReport = performance.now(), reported = -1;
  const report = () => {
    if (reported === calls) return;
    reported = calls;
    console.log(`  ${threads} threads: ${calls} kernel calls (${steps} forward+backward), ${mismatches} mismatches, ${failures} failures`);
  };
  while (performance.now() < end) {
    for (let i = 0; i < inputs.length; i++) {
      let got;
      try {
        got = step(inputs[i]);
      } catch (e) {
        failures++;
        console.error(`  ${threads} threads, ${inputs[i].c.name} seed ${inputs[i].seed}: ${e.message}`);
        continue;
      } finally {
        calls += 4; steps++;
      }
      for (const k of ['y', 'dx', 'dw', 'db']) {
        const at = firstDifference(got[k], expected[i][k]);
        if (at < 0) continue;
        if (mismatches < 20) {
          console.error(`  MISMATCH ${threads} threads, ${inputs[i].c.name} seed ${inputs[i].seed}, ${k}[${at}]: ${got[k][at]} (1 thread: ${expected[i][k][at]})`);
        }
        mismatches++;
      }
    }
    if (performance.now() - lastReport > 10_000) { report(); lastReport = performance.now(); }
  }
  report();
  totalCalls += calls;
  if (ti === threadCounts.length - 1) await init({ threads: 1 });
}
stopLoad();
console.log(`stress: ${totalCalls} kernel calls, ${mismatches} mismatches, ${failures} failures`);
process.exit(mismatches || failures ? 1 : 0);

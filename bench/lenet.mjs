// LeNet on Fashion-MNIST-sized batches: training throughput (images/s of SGD
// steps at batch 256) and inference (batch 256 throughput, batch 1 latency),
// for wasmconv on one thread, on all threads and with relaxed SIMD, against
// PyTorch on the CPU of the same machine at the same thread counts
// (torch.set_num_threads; measured when /usr/bin/python3 has torch), tfjs-backend-cpu
// training the same model, and tfjs-backend-wasm's inference. Every engine runs in
// a child process of its own, one after another.
//
//   node bench/lenet.mjs                 # the table, and bench/results-lenet.json
//   node bench/lenet.mjs --quick         # fewer steps
//   node bench/lenet.mjs --json FILE     # another output file
//
// Each training figure is the median over timed steps after warm-up steps (V8
// runs a wasm function's first long calls in its baseline tier), on random
// images and labels of Fashion-MNIST's shape; the model is the book's LeNet
// (sigmoid, average pooling, SGD lr 0.9, cross-entropy).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const QUICK = flag('--quick');
const STEPS = { warm: QUICK ? 3 : 5, timed: QUICK ? 8 : 20 };
const INFER = { warm: 5, timed256: QUICK ? 10 : 30, timed1: QUICK ? 100 : 400 };
const BATCH = 256;

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** Deterministic images in [0, 1) and labels. */
function data(n, seed = 1) {
  let s = seed >>> 0;
  const next = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = next();
  const y = Int32Array.from({ length: n }, (_, i) => i % 10);
  return { x, y };
}

// ---------------------------------------------------------------------------
// Children
// ---------------------------------------------------------------------------

async function childWasmconv(threads, build) {
  const wc = await import(join(ROOT, 'dist', 'index.js'));
  await wc.init({ threads, build, replace: true });
  const info = wc.backendInfo();
  const net = wc.models.lenet({ seed: 0 });
  const opt = new wc.optim.SGD(net.parameters(), { lr: 0.9 });
  const { x: xs, y: ys } = data(BATCH);
  const x = wc.tensor(xs, [BATCH, 1, 28, 28]);
  const y = wc.tensor(Float32Array.from(ys), [BATCH]);
  const step = () => wc.tidy(() => {
    opt.zeroGrad();
    const l = wc.nn.crossEntropy(net.forward(x), y);
    l.backward();
    opt.step();
    return l.item();
  });
  const times = [];
  for (let i = 0; i < STEPS.warm + STEPS.timed; i++) {
    const t0 = performance.now();
    step();
    if (i >= STEPS.warm) times.push(performance.now() - t0);
  }
  net.eval();
  const infer = (input, n) => {
    const t = [];
    for (let i = 0; i < INFER.warm + n; i++) {
      const t0 = performance.now();
      wc.tidy(() => wc.noGrad(() => net.forward(input).data()));
      if (i >= INFER.warm) t.push(performance.now() - t0);
    }
    return median(t);
  };
  const x1 = wc.tensor(xs.subarray(0, 784), [1, 1, 28, 28]);
  return { info, stepMs: median(times), steps: times.length, infer256Ms: infer(x, INFER.timed256), infer1Ms: infer(x1, INFER.timed1) };
}

async function loadTfjs() {
  const require = createRequire(join(ROOT, 'package.json'));
  const tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu');
  const tfw = require('@tensorflow/tfjs-backend-wasm');
  tfw.setWasmPaths(join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + '/');
  return { tf, version: require('@tensorflow/tfjs-core/package.json').version };
}

/** The book's LeNet in tfjs-core ops, NHWC, with the same parameter shapes (HWIO filters). */
function tfLenet(tf) {
  const u = (shape, fanIn, fanOut) => tf.variable(tf.randomUniform(shape, -Math.sqrt(6 / (fanIn + fanOut)), Math.sqrt(6 / (fanIn + fanOut)), 'float32', 1));
  const p = {
    c1: u([5, 5, 1, 6], 25, 150), b1: tf.variable(tf.zeros([6])),
    c2: u([5, 5, 6, 16], 150, 400), b2: tf.variable(tf.zeros([16])),
    f1: u([400, 120], 400, 120), g1: tf.variable(tf.zeros([120])),
    f2: u([120, 84], 120, 84), g2: tf.variable(tf.zeros([84])),
    f3: u([84, 10], 84, 10), g3: tf.variable(tf.zeros([10])),
  };
  const forward = (x) => {
    let h = tf.sigmoid(tf.add(tf.conv2d(x, p.c1, 1, 2), p.b1));
    h = tf.avgPool(h, 2, 2, 'valid');
    h = tf.sigmoid(tf.add(tf.conv2d(h, p.c2, 1, 'valid'), p.b2));
    h = tf.avgPool(h, 2, 2, 'valid');
    // PyTorch flattens (C, H, W); the order does not change the cost.
    h = tf.reshape(h, [x.shape[0], 400]);
    h = tf.sigmoid(tf.add(tf.matMul(h, p.f1), p.g1));
    h = tf.sigmoid(tf.add(tf.matMul(h, p.f2), p.g2));
    return tf.add(tf.matMul(h, p.f3), p.g3);
  };
  return { p, forward };
}

/**
 * tfjs-core with its gradients registered (its Node bundle has none: they come
 * with the `@tensorflow/tfjs` union package, which this project does not
 * install), and the cpu backend: the ES modules bundled into one file.
 */
async function loadTfjsWithGradients() {
  const esbuild = await import('esbuild');
  const out = join(tmpdir(), `wasmconv-bench-tfjs-grads-${process.pid}.cjs`);
  await esbuild.build({
    stdin: {
      contents: "export * from '@tensorflow/tfjs-core'; import '@tensorflow/tfjs-core/dist/register_all_gradients'; import '@tensorflow/tfjs-backend-cpu';",
      resolveDir: ROOT,
    },
    bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'error', mainFields: ['module', 'main'],
  });
  try {
    const require = createRequire(join(ROOT, 'package.json'));
    const tf = require(out);
    return { tf, version: require('@tensorflow/tfjs-core/package.json').version };
  } finally {
    rmSync(out, { force: true });
  }
}

async function childTfjs(backend, train) {
  const { tf, version } = train ? await loadTfjsWithGradients() : await loadTfjs();
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  await tf.ready();
  const { forward } = tfLenet(tf);
  const { x: xs, y: ys } = data(BATCH);
  const x = tf.tensor4d(xs, [BATCH, 28, 28, 1]);
  const out = { version, backend };
  if (train) {
    const onehot = tf.oneHot(tf.tensor1d(ys, 'int32'), 10);
    const opt = tf.train.sgd(0.9);
    const times = [];
    const warm = 1, timed = QUICK ? 2 : 3;
    for (let i = 0; i < warm + timed; i++) {
      const t0 = performance.now();
      const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(onehot, forward(x)), true);
      l.dataSync(); l.dispose();
      if (i >= warm) times.push(performance.now() - t0);
    }
    out.stepMs = median(times);
    out.steps = times.length;
  } else {
    const infer = (input, n) => {
      const t = [];
      for (let i = 0; i < INFER.warm + n; i++) {
        const t0 = performance.now();
        tf.tidy(() => forward(input).dataSync());
        if (i >= INFER.warm) t.push(performance.now() - t0);
      }
      return median(t);
    };
    out.infer256Ms = infer(x, INFER.timed256);
    out.infer1Ms = infer(tf.tensor4d(xs.subarray(0, 784), [1, 28, 28, 1]), INFER.timed1);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------

function runChild(label, nodeArgs, childArgs) {
  process.stderr.write(`  ${label}...`);
  const r = spawnSync(process.execPath, [...nodeArgs, fileURLToPath(import.meta.url), '--child', ...childArgs, ...(QUICK ? ['--quick'] : [])],
    { encoding: 'utf8', maxBuffer: 1 << 24, timeout: 15 * 60_000 });
  if (r.status !== 0) {
    process.stderr.write(' failed\n');
    return { error: (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join(' ') };
  }
  process.stderr.write(' done\n');
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function runTorch(threads) {
  const py = '/usr/bin/python3';
  if (!existsSync(py)) return { notMeasured: `${py} is missing` };
  const probe = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) return { notMeasured: 'PyTorch is not installed: apt-get install python3-torch' };
  process.stderr.write(`  PyTorch ${threads} thread${threads > 1 ? 's' : ''}...`);
  const r = spawnSync(py, [join(BENCH, 'lenet_torch.py'), '--threads', String(threads), '--warm', String(STEPS.warm), '--timed', String(STEPS.timed),
    '--timed256', String(INFER.timed256), '--timed1', String(INFER.timed1)], { encoding: 'utf8', timeout: 15 * 60_000 });
  if (r.status !== 0) { process.stderr.write(' failed\n'); return { error: r.stderr.trim().split('\n').slice(-2).join(' ') }; }
  process.stderr.write(' done\n');
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function main() {
  if (flag('--child')) {
    const kind = value('--child');
    let out;
    if (kind === 'wasmconv') out = await childWasmconv(Number(value('--threads', '1')), value('--build'));
    else if (kind === 'tfjs-cpu') out = await childTfjs('cpu', true);
    else if (kind === 'tfjs-wasm') out = await childTfjs('wasm', false);
    else throw new Error(`unknown child ${kind}`);
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
    console.error('dist/ is missing: run `npm run build` first (npm run bench does).');
    process.exit(1);
  }
  const all = availableParallelism();
  process.stderr.write(`LeNet benchmark (batch ${BATCH}; ${all} cores: ${cpus()[0]?.model ?? 'unknown CPU'}; load ${loadavg()[0].toFixed(2)})\n`);
  const ours = {
    '1T': runChild('wasmconv 1 thread', [], ['wasmconv', '--threads', '1', '--build', 'simd']),
    [`${all}T`]: runChild(`wasmconv ${all} threads`, [], ['wasmconv', '--threads', String(all), '--build', 'simd']),
    [`${all}T relaxed`]: runChild(`wasmconv ${all} threads, relaxed SIMD`, ['--experimental-wasm-relaxed-simd'], ['wasmconv', '--threads', String(all), '--build', 'relaxed-simd']),
  };
  const torch = { '1T': runTorch(1), [`${all}T`]: runTorch(all) };
  const tfcpu = runChild('tfjs-backend-cpu training', [], ['tfjs-cpu']);
  const tfwasm = runChild('tfjs-backend-wasm inference', [], ['tfjs-wasm']);

  const ips = (ms) => (ms ? Math.round((BATCH * 1000) / ms) : null);
  const rows = [];
  for (const [k, r] of Object.entries(ours)) {
    const threadsKey = k.replace(' relaxed', '');
    const t = torch[threadsKey];
    rows.push({
      engine: `wasmconv ${k}`, build: r.info?.build ?? null, threads: r.info?.threads ?? null, error: r.error,
      trainImagesPerSec: ips(r.stepMs), stepMs: r.stepMs,
      vsTorch: t?.stepMs && r.stepMs ? t.stepMs / r.stepMs : null,
      vsTfjsCpu: tfcpu.stepMs && r.stepMs ? tfcpu.stepMs / r.stepMs : null,
      infer256ImagesPerSec: ips(r.infer256Ms), infer256Ms: r.infer256Ms, infer1Ms: r.infer1Ms,
      infer256VsTfjsWasm: tfwasm.infer256Ms && r.infer256Ms ? tfwasm.infer256Ms / r.infer256Ms : null,
      infer1VsTfjsWasm: tfwasm.infer1Ms && r.infer1Ms ? tfwasm.infer1Ms / r.infer1Ms : null,
    });
  }
  for (const [k, t] of Object.entries(torch)) {
    rows.push({ engine: `PyTorch ${t.version ?? ''} ${k}`.replace(/ +/g, ' '), threads: t.threads ?? null, notMeasured: t.notMeasured, error: t.error,
      trainImagesPerSec: ips(t.stepMs), stepMs: t.stepMs, infer256ImagesPerSec: ips(t.infer256Ms), infer256Ms: t.infer256Ms, infer1Ms: t.infer1Ms });
  }
  rows.push({ engine: `tfjs-backend-cpu ${tfcpu.version ?? ''}`.trim(), error: tfcpu.error, trainImagesPerSec: ips(tfcpu.stepMs), stepMs: tfcpu.stepMs });
  rows.push({ engine: `tfjs-backend-wasm ${tfwasm.version ?? ''} 1T`.trim(), error: tfwasm.error, infer256ImagesPerSec: ips(tfwasm.infer256Ms), infer256Ms: tfwasm.infer256Ms, infer1Ms: tfwasm.infer1Ms });

  const f = (v, d = 0) => (v === null || v === undefined ? '—' : typeof v === 'number' ? v.toFixed(d) : String(v));
  const x = (v) => (v ? `${v.toFixed(2)}x` : '—');
  console.log(`\nLeNet training (batch ${BATCH}, SGD) and inference; medians; ratios are peer time / wasmconv time (>1: wasmconv faster)\n`);
  console.log(['engine'.padEnd(28), 'train img/s'.padStart(11), 'step ms'.padStart(8), 'vs torch'.padStart(9), 'vs tfjs-cpu'.padStart(12),
    'infer img/s'.padStart(12), 'vs tfjs-wasm'.padStart(13), 'batch-1 ms'.padStart(11), 'vs tfjs-wasm'.padStart(13)].join(' '));
  for (const r of rows) {
    if (r.notMeasured || r.error) { console.log(`${r.engine.padEnd(28)} ${r.notMeasured ? `not measured: ${r.notMeasured}` : `failed: ${r.error}`}`); continue; }
    console.log([r.engine.padEnd(28), f(r.trainImagesPerSec).padStart(11), f(r.stepMs, 1).padStart(8), x(r.vsTorch).padStart(9), x(r.vsTfjsCpu).padStart(12),
      f(r.infer256ImagesPerSec).padStart(12), x(r.infer256VsTfjsWasm).padStart(13), f(r.infer1Ms, 3).padStart(11), x(r.infer1VsTfjsWasm).padStart(13)].join(' '));
  }
  const out = value('--json', join(BENCH, 'results-lenet.json'));
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), cores: all, cpu: cpus()[0]?.model, load: loadavg(), node: process.version,
    quick: QUICK, steps: STEPS, inference: INFER, rows }, null, 2)}\n`);
  console.log(`\n(written to ${out})`);
}

await main();

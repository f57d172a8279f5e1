// LeNet inference: wasmconv against the same model exported with exportOnnx and
// run by ONNX Runtime Web (onnxruntime-web, its wasm backend, in Node).
//
//   npm run build && node bench/onnx.mjs [--quick] [--rounds N] [--out FILE]
//
// Four engines, each in a child process of its own (ONNX Runtime fixes its
// thread count when its wasm starts, once per process): wasmconv with 1 thread
// and with all threads (`init({ threads })`), ONNX Runtime Web with
// `ort.env.wasm.numThreads` 1 and os.availableParallelism() (set explicitly:
// its default on 2 cores is 1). The model is models.lenet({ seed: 0 }) in eval
// mode; one inference is input values (a Float32Array) in, output values out:
// for wasmconv `tidy(() => noGrad(() => net.forward(tensor(x, shape)).data()))`,
// for ONNX Runtime `(await session.run({ input: new ort.Tensor(...) })).output.data`.
// Batches 1 and 256. Each figure: a warm-up (V8 tiers the wasm up), then the
// median over many timed windows (each ≥ 1 ms of back-to-back inferences).
// The four children run in turn, `--rounds` times (default 3; 1 with --quick);
// each figure reported is the lowest of its rounds' medians, since on a shared
// machine another process can only make a round slower (every round is in the
// JSON). Per-layer rows time each layer alone on its own input (wasmconv: the layer's
// forward; ONNX Runtime: a one-layer model exported from that layer), so the
// gap can be placed; the 'call' row is the cost of one call of an identity
// model (input in, output out).
//
// Prints a table (ms per inference, images/s, ratio to ONNX Runtime with the
// same thread count) and writes bench/results-onnx.json.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH_DIR, '..');
const CORES = availableParallelism();
const BATCHES = [1, 256];
const now = () => performance.now();

function parseArgs(argv) {
  const a = { quick: false, rounds: null, out: join(BENCH_DIR, 'results-onnx.json'), child: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') a.quick = true;
    else if (argv[i] === '--rounds') a.rounds = Number(argv[++i]);
    else if (argv[i] === '--out') a.out = argv[++i];
    else if (argv[i] === '--child') a.child = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}\nusage: node bench/onnx.mjs [--quick] [--rounds N] [--out FILE]`);
  }
  a.rounds ??= a.quick ? 1 : 3;
  if (!Number.isInteger(a.rounds) || a.rounds < 1) throw new Error(`--rounds must be a positive integer, got ${a.rounds}`);
  return a;
}

const median = (xs) => { const s = [...xs].sort((p, q) => p - q); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const quantile = (xs, q) => { const s = [...xs].sort((p, r) => p - r); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };

/** Median ms per call of `fn` (sync or async): warm-up, then windows of back-to-back calls, each ≥ 1 ms. */
async function timeIt(fn, { warmMs, windows, minMs }) {
  const w0 = now();
  let calls = 0;
  while (now() - w0 < warmMs || calls < 3) { await fn(); calls++; }
  const once = (now() - w0) / calls;
  const reps = Math.max(1, Math.round(1 / once));
  const samples = [];
  const t0 = now();
  while (samples.length < windows || now() - t0 < minMs) {
    const s = now();
    for (let i = 0; i < reps; i++) await fn();
    samples.push((now() - s) / reps);
  }
  return { ms: median(samples), p10: quantile(samples, 0.1), p90: quantile(samples, 0.9), windows: samples.length, reps };
}

/** Deterministic input values in [0, 1) (an image batch). */
function images(n) {
  const a = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; a[i] = (s >>> 8) / 16777216; }
  return a;
}

// ---------------------------------------------------------------------------
// A child: one engine, one thread count.
// ---------------------------------------------------------------------------

async function child(spec, quick) {
  const [engine, threadsText] = spec.split(':');
  const threads = Number(threadsText);
  const timing = quick ? { warmMs: 300, windows: 20, minMs: 200 } : { warmMs: 1500, windows: 60, minMs: 1500 };
  const layerTiming = quick ? { warmMs: 100, windows: 10, minMs: 100 } : { warmMs: 400, windows: 30, minMs: 500 };
  const wc = await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);
  const { init, models, nn, tensor, noGrad, tidy, keep, exportOnnx, backendInfo } = wc;
  await init({ threads: engine === 'wasmconv' ? threads : 1, replace: true });
  const net = models.lenet({ seed: 0 }).eval();
  const layers = net.namedChildren();
  const result = { engine, threads, rows: [] };

  let ort = null;
  if (engine === 'ort') {
    const require = createRequire(import.meta.url);
    ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.wasmPaths = pathToFileURL(`${dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'))}/`).href;
    result.version = JSON.parse((await import('node:fs')).readFileSync(join(ROOT, 'node_modules', 'onnxruntime-web', 'package.json'), 'utf8')).version;
  } else {
    result.build = backendInfo().build;
    result.poolThreads = backendInfo().threads;
  }
  const sessionOptions = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };

  for (const N of BATCHES) {
    const shape = [N, 1, 28, 28];
    const x = images(N * 784);
    // Each layer's input, from one forward of x.
    const inputs = tidy(() => noGrad(() => {
      let h = tensor(x, shape);
      const out = [];
      for (const [, m] of layers) { out.push(keep(h)); h = m.forward(h); }
      return out;
    }));
    if (engine === 'wasmconv') {
      const whole = await timeIt(() => tidy(() => noGrad(() => net.forward(tensor(x, shape)).data())), timing);
      result.rows.push({ what: 'lenet', batch: N, ...whole });
      const id = new nn.Identity();
      result.rows.push({ what: 'call', batch: N, ...(await timeIt(() => tidy(() => noGrad(() => id.forward(tensor(x, shape)).data())), layerTiming)) });
      for (let i = 0; i < layers.length; i++) {
        const [name, m] = layers[i];
        const r = await timeIt(() => tidy(() => { noGrad(() => m.forward(inputs[i])); }), layerTiming);
        result.rows.push({ what: `${name} ${String(m).split('(')[0]}`, batch: N, ...r });
      }
    } else {
      const bytes = exportOnnx(net, tensor(x, shape));
      const session = await ort.InferenceSession.create(bytes, sessionOptions);
      const feed = () => ({ input: new ort.Tensor('float32', x, shape) });
      const whole = await timeIt(async () => (await session.run(feed())).output.data, timing);
      result.rows.push({ what: 'lenet', batch: N, ...whole });
      await session.release();
      const idSession = await ort.InferenceSession.create(exportOnnx(new nn.Identity(), tensor(x, shape)), sessionOptions);
      result.rows.push({ what: 'call', batch: N, ...(await timeIt(async () => (await idSession.run(feed())).output.data, layerTiming)) });
      await idSession.release();
      for (let i = 0; i < layers.length; i++) {
        const [name, m] = layers[i];
        const h = inputs[i];
        const s = await ort.InferenceSession.create(exportOnnx(m, h), sessionOptions);
        const hv = h.data();
        const r = await timeIt(async () => (await s.run({ input: new ort.Tensor('float32', hv, h.shape) })).output.data, layerTiming);
        result.rows.push({ what: `${name} ${String(m).split('(')[0]}`, batch: N, ...r });
        await s.release();
      }
    }
    for (const t of inputs) t.dispose();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------
// The parent: the four children in turn, then the table and the JSON.
// ---------------------------------------------------------------------------

function runChild(spec, quick) {
  process.stderr.write(`bench/onnx: ${spec} ...\n`);
  const loadBefore = loadavg()[0];
  const args = [fileURLToPath(import.meta.url), '--child', spec, ...(quick ? ['--quick'] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`child ${spec} failed (exit ${r.status}, signal ${r.signal}):\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return { ...JSON.parse(lines[lines.length - 1]), loadBefore, loadAfter: loadavg()[0] };
}

async function parent(args) {
  const specs = ['wasmconv:1', 'ort:1', `wasmconv:${CORES}`, `ort:${CORES}`];
  const rounds = [];
  for (let k = 0; k < args.rounds; k++) rounds.push(specs.map((s) => runChild(s, args.quick)));
  const results = rounds.flat();
  // The lowest median of the rounds for each row.
  const get = (engine, threads, what, batch) => {
    const rows = results.filter((r) => r.engine === engine && r.threads === threads).map((r) => r.rows.find((x) => x.what === what && x.batch === batch));
    return rows.reduce((b, r) => (r.ms < b.ms ? r : b));
  };
  const ortVersion = results.find((r) => r.engine === 'ort').version;
  const wcBuild = results.find((r) => r.engine === 'wasmconv').build;

  const lines = [];
  lines.push(`LeNet inference (models.lenet, eval, noGrad): wasmconv (${wcBuild}) vs ONNX Runtime Web ${ortVersion} (wasm), Node ${process.versions.node}, ${CORES} cores`);
  lines.push(`median ms per inference (input values in, output values out; the lowest median of ${args.rounds} round${args.rounds > 1 ? 's' : ''}); images/s; ratio = ONNX Runtime time / wasmconv time (> 1: wasmconv faster)`);
  lines.push('');
  const head = `${'threads'.padEnd(8)}${'batch'.padStart(6)}${'wasmconv ms'.padStart(14)}${'img/s'.padStart(11)}${'ORT ms'.padStart(11)}${'img/s'.padStart(11)}${'ratio'.padStart(8)}`;
  lines.push(head, '-'.repeat(head.length));
  const summary = [];
  for (const t of [1, CORES]) {
    for (const N of BATCHES) {
      const a = get('wasmconv', t, 'lenet', N), b = get('ort', t, 'lenet', N);
      const ratio = b.ms / a.ms;
      summary.push({ threads: t, batch: N, wasmconvMs: a.ms, ortMs: b.ms, wasmconvImagesPerSec: (N * 1000) / a.ms, ortImagesPerSec: (N * 1000) / b.ms, ratio });
      lines.push(`${String(t).padEnd(8)}${String(N).padStart(6)}${a.ms.toFixed(3).padStart(14)}${((N * 1000) / a.ms).toFixed(0).padStart(11)}${b.ms.toFixed(3).padStart(11)}${((N * 1000) / b.ms).toFixed(0).padStart(11)}${ratio.toFixed(2).padStart(7)}x`);
    }
  }
  for (const t of [1, CORES]) {
    lines.push('', `per layer, ${t} thread${t > 1 ? 's' : ''}: median ms of each layer alone on its input (ORT: a one-layer model, so each row includes one ORT call)`);
    const layerNames = results[0].rows.filter((r) => r.batch === 1 && r.what !== 'lenet').map((r) => r.what);
    const h2 = `${'layer'.padEnd(16)}${BATCHES.map((N) => `${`wc b${N}`.padStart(11)}${`ORT b${N}`.padStart(11)}${'ratio'.padStart(8)}`).join('')}`;
    lines.push(h2, '-'.repeat(h2.length));
    for (const w of layerNames) {
      let line = w.padEnd(16);
      for (const N of BATCHES) {
        const a = get('wasmconv', t, w, N), b = get('ort', t, w, N);
        line += `${a.ms.toFixed(4).padStart(11)}${b.ms.toFixed(4).padStart(11)}${(b.ms / a.ms).toFixed(2).padStart(7)}x`;
      }
      lines.push(line);
    }
  }
  const maxLoad = Math.max(...results.flatMap((r) => [r.loadBefore, r.loadAfter]));
  const spread = summary.map((r) => {
    const all = (engine) => results.filter((x) => x.engine === engine && x.threads === r.threads).map((x) => x.rows.find((y) => y.what === 'lenet' && y.batch === r.batch).ms);
    return `${r.threads}t b${r.batch}: wasmconv ${all('wasmconv').map((v) => v.toFixed(3)).join('/')}, ORT ${all('ort').map((v) => v.toFixed(3)).join('/')}`;
  });
  if (args.rounds > 1) lines.push('', 'each round\'s median ms:', ...spread.map((l) => `  ${l}`));
  lines.push('', `1-minute load average during the run: up to ${maxLoad.toFixed(1)} on ${CORES} cores${maxLoad > CORES / 2 ? ' (other processes were running: the figures are disturbed)' : ''}`);
  console.log(lines.join('\n'));
  const out = {
    date: new Date().toISOString(), node: process.versions.node, cores: CORES, cpu: cpus()[0]?.model, memoryBytes: totalmem(),
    quick: args.quick, rounds: args.rounds, maxLoadAverage: maxLoad, model: 'models.lenet({ seed: 0 }).eval()', batches: BATCHES, wasmconvBuild: wcBuild, onnxruntimeWeb: ortVersion,
    summary, engines: results,
  };
  writeFileSync(args.out, `${JSON.stringify(out, null, 2)}\n`);
  process.stderr.write(`bench/onnx: wrote ${args.out}\n`);
}

const args = parseArgs(process.argv.slice(2));
if (args.child) await child(args.child, args.quick);
else await parent(args);
process.exit(0);

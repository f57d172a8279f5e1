// Pooling, activation and normalization ops on a CNN activation, forward and
// forward + backward, in GB/s against the engine's own wasm copy of the same
// input (`x.clone()`) measured in the same interleaved rounds; and the forward
// of tfjs-backend-wasm on the same values in its native NHWC layout (a child
// process of its own), for the ops it has.
//
// Bytes of a call (the least any implementation moves): forward = input read +
// output written (+ the per-channel parameters); forward + backward = that +
// the output gradient read + the input gradient written (+ the parameters'
// gradients). The copy reads and writes the input once: 2 x bytes.
import { MEM_POLICY, cpuMeter, measureInterleaved, nchwToNhwc, pairedRatio, prng, progress } from './common.mjs';

/** The activation: LeNet's first convolution's output at batch 64 (NCHW). `--ops-shape N,C,H,W` changes it. */
export const OPS_SHAPE = [64, 6, 28, 28];

const prod = (s) => s.reduce((a, b) => a * b, 1);

/** Deterministic values in [-4, 4). */
function values(n, seed) {
  const r = prng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * 4;
  return a;
}

/**
 * The ops. `out(shape)`: the output shape. `params`: float32 values of
 * per-channel parameters read (and, in the backward, their gradients written).
 * `wc(wc, x, p)`: the wasmconv call (p: prepared parameters). `tf`: the
 * tfjs-backend-wasm forward on the NHWC tensor, null when tfjs has no such op;
 * `tfNote` says what the tfjs call is when it is not the same op.
 * `target`: whether "forward >= 1.0x tfjs-wasm" is a target (else information).
 */
export const NN_OPS = [
  {
    id: 'maxPool2d', label: 'maxPool2d(x, 2)', out: ([N, C, H, W]) => [N, C, H >> 1, W >> 1], params: () => 0,
    wc: (wc, x) => wc.maxPool2d(x, 2), tf: (tf, x) => tf.maxPool(x, 2, 2, 'valid'), tfCall: "tf.maxPool(x, 2, 2, 'valid')", target: true,
  },
  {
    id: 'avgPool2d', label: 'avgPool2d(x, 2)', out: ([N, C, H, W]) => [N, C, H >> 1, W >> 1], params: () => 0,
    wc: (wc, x) => wc.avgPool2d(x, 2), tf: (tf, x) => tf.avgPool(x, 2, 2, 'valid'), tfCall: "tf.avgPool(x, 2, 2, 'valid')", target: true,
  },
  {
    id: 'adaptiveAvgPool2d', label: 'adaptiveAvgPool2d(x, 1)', out: ([N, C]) => [N, C, 1, 1], params: () => 0,
    wc: (wc, x) => wc.adaptiveAvgPool2d(x, 1), tf: (tf, x) => tf.mean(x, [1, 2], true), tfCall: 'tf.mean(x, [1, 2], true)',
    tfNote: 'tfjs has no adaptive pooling: its global average (mean over H, W) instead', target: false,
  },
  { id: 'relu', label: 'relu(x)', out: (s) => s, params: () => 0, wc: (wc, x) => wc.relu(x), tf: (tf, x) => tf.relu(x), tfCall: 'tf.relu(x)', target: true },
  {
    id: 'leakyRelu', label: 'leakyRelu(x, 0.01)', out: (s) => s, params: () => 0,
    wc: (wc, x) => wc.leakyRelu(x, 0.01), tf: (tf, x) => tf.leakyRelu(x, 0.01), tfCall: 'tf.leakyRelu(x, 0.01)', target: true,
  },
  { id: 'sigmoid', label: 'sigmoid(x)', out: (s) => s, params: () => 0, wc: (wc, x) => wc.sigmoid(x), tf: (tf, x) => tf.sigmoid(x), tfCall: 'tf.sigmoid(x)', target: true },
  { id: 'tanh', label: 'tanh(x)', out: (s) => s, params: () => 0, wc: (wc, x) => wc.tanh(x), tf: (tf, x) => tf.tanh(x), tfCall: 'tf.tanh(x)', target: true },
  {
    id: 'softmax', label: 'softmax(x, 1)', out: (s) => s, params: () => 0,
    wc: (wc, x) => wc.softmax(x, 1), tf: (tf, x) => tf.softmax(x, -1), tfCall: 'tf.softmax(x, -1) (channels: the last axis in NHWC)', target: true,
  },
  {
    id: 'logSoftmax', label: 'logSoftmax(x, 1)', out: (s) => s, params: () => 0,
    wc: (wc, x) => wc.logSoftmax(x, 1), tf: (tf, x) => tf.logSoftmax(x, -1), tfCall: 'tf.logSoftmax(x, -1)', target: true,
  },
  {
    id: 'batchNormTrain', label: 'BatchNorm2d, train', out: (s) => s, params: ([, C]) => 4 * C,
    wc: (wc, x, p) => p.bnTrain.forward(x),
    tf: (tf, x, p) => { const m = tf.moments(x, [0, 1, 2]); return tf.batchNorm(x, m.mean, m.variance, p.bias, p.weight, 1e-5); },
    tfCall: 'tf.moments(x, [0, 1, 2]) + tf.batchNorm(...)', tfNote: 'tfjs has no train-mode batch norm: the batch moments, then tf.batchNorm (no running-statistics update)', target: false,
  },
  {
    id: 'batchNormEval', label: 'BatchNorm2d, eval', out: (s) => s, params: ([, C]) => 4 * C,
    wc: (wc, x, p) => p.bnEval.forward(x),
    tf: (tf, x, p) => tf.batchNorm(x, p.mean, p.variance, p.bias, p.weight, 1e-5), tfCall: 'tf.batchNorm(x, mean, variance, offset, scale, 1e-5)', target: true,
  },
  {
    id: 'layerNorm', label: 'layerNorm(x, [C, H, W], w, b)', out: (s) => s, params: ([, C, H, W]) => 2 * C * H * W,
    wc: (wc, x, p) => wc.layerNorm(x, p.lnShape, p.lnWeight, p.lnBias), tf: null, tfNote: 'tfjs has no layer norm', target: false,
  },
];

/** Bytes of one forward and of one forward + backward. */
function bytesOf(op, shape) {
  const n = prod(shape), m = prod(op.out(shape)), p = op.params(shape);
  const fwd = 4 * (n + m + p);
  return { fwd, fwdBwd: fwd + 4 * (m + n + p) };
}

/** Per-thread-count block: every op's forward and forward + backward, interleaved with x.clone(). */
async function measureBlock(wc, freshInit, shape, threads, policy) {
  await freshInit(wc, { build: 'simd', threads });
  const meter = cpuMeter();
  const [, C, H, W] = shape;
  const n = prod(shape);
  const src = values(n, 41);
  const x = wc.tensor(src, shape);
  const xg = wc.tensor(src, shape, { requiresGrad: true });
  const grads = new Map(NN_OPS.map((op) => [op.id, wc.tensor(values(prod(op.out(shape)), 42), op.out(shape))]));
  const bnTrain = new wc.nn.BatchNorm2d(C);
  bnTrain.train();
  const bnEval = new wc.nn.BatchNorm2d(C);
  bnEval.eval();
  const p = {
    bnTrain, bnEval, lnShape: [C, H, W],
    lnWeight: wc.tensor(values(C * H * W, 43).map((v) => 1 + v / 8), [C, H, W], { requiresGrad: true }),
    lnBias: wc.tensor(values(C * H * W, 44), [C, H, W], { requiresGrad: true }),
  };
  const params = [bnTrain.weight, bnTrain.bias, bnEval.weight, bnEval.bias, p.lnWeight, p.lnBias];
  const clearGrads = () => {
    for (const t of [xg, ...params]) if (t.grad) { t.grad.dispose(); t.grad = null; }
  };
  const cases = [{ id: 'copy', run: () => x.clone().dispose() }];
  for (const op of NN_OPS) {
    cases.push({ id: `${op.id}:fwd`, run: () => op.wc(wc, x, p).dispose() });
    const g = grads.get(op.id);
    cases.push({
      id: `${op.id}:fwdBwd`,
      run: () => {
        const y = op.wc(wc, xg, p);
        y.backward(g);
        y.dispose();
        clearGrads();
      },
    });
  }
  let m;
  try {
    m = measureInterleaved(cases, policy);
  } finally {
    for (const t of [x, xg, ...grads.values(), p.lnWeight, p.lnBias]) t.dispose();
    for (const mod of [bnTrain, bnEval]) for (const t of [mod.weight, mod.bias, mod.running_mean, mod.running_var, mod.num_batches_tracked]) if (t && !t.isDisposed) t.dispose();
  }
  const copyBytes = 2 * 4 * n;
  const row = { threads: wc.backendInfo().threads, requestedThreads: threads, copy: null, ops: {}, load: meter() };
  const { samples: copySamples, ...copy } = m.copy;
  row.copy = { ...copy, bytes: copyBytes, gbps: copyBytes / copy.medianMs / 1e6 };
  for (const op of NN_OPS) {
    const b = bytesOf(op, shape);
    row.ops[op.id] = {};
    for (const dir of ['fwd', 'fwdBwd']) {
      const { samples, ...c } = m[`${op.id}:${dir}`];
      const bytes = b[dir];
      row.ops[op.id][dir] = { ...c, bytes, gbps: bytes / c.medianMs / 1e6, vsCopy: pairedRatio(copySamples, samples) * (bytes / copyBytes) };
    }
  }
  return row;
}

/** wasmconv's rows: 1 thread (the target) and all cores (information). */
export async function runNnOps(wc, { freshInit, cores, quick = false, shape = OPS_SHAPE, measureRow, budget }) {
  const policy = quick ? MEM_POLICY.quick : MEM_POLICY.full;
  const threadCounts = cores > 1 ? [1, cores] : [1];
  const out = {
    shape, elements: prod(shape), bytes: 4 * prod(shape), policy,
    ops: NN_OPS.map((op) => ({ id: op.id, label: op.label, outShape: op.out(shape), tfCall: op.tfCall ?? null, tfNote: op.tfNote ?? null, target: op.target, bytes: bytesOf(op, shape) })),
    rows: [],
  };
  for (const T of threadCounts) {
    progress(`pooling/activation/normalization ops ${shape.join('x')}: ${T} thread${T > 1 ? 's' : ''}`);
    try {
      out.rows.push(await measureRow(() => measureBlock(wc, freshInit, shape, T, policy), budget));
    } catch (e) {
      out.rows.push({ threads: T, requestedThreads: T, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

/** tfjs-backend-wasm's forwards (1 thread), NHWC, interleaved with one another and a Float32Array copy; in the tfjs child. */
export async function runNnOpsTfjs({ tf }, { quick = false, shape = OPS_SHAPE }) {
  const policy = quick ? MEM_POLICY.quick : MEM_POLICY.full;
  if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') failed");
  await tf.ready();
  const meter = cpuMeter();
  const [N, C, H, W] = shape;
  const n = prod(shape);
  const src = values(n, 41), dst = new Float32Array(n);
  const x = tf.tensor4d(nchwToNhwc(src, N, C, H, W), [N, H, W, C]);
  const p = {
    mean: tf.tensor1d(values(C, 45).map((v) => v / 8)),
    variance: tf.tensor1d(values(C, 46).map((v) => 1 + Math.abs(v) / 4)),
    weight: tf.ones([C]), bias: tf.zeros([C]),
  };
  const cases = [{ id: 'jsCopy', run: () => dst.set(src) }];
  const out = { backend: tf.getBackend(), layout: 'NHWC', shape: [N, H, W, C], ops: {} };
  for (const op of NN_OPS) {
    if (!op.tf) continue;
    // Runs once untimed to find a missing kernel.
    try {
      tf.tidy(() => { op.tf(tf, x, p); });
    } catch (e) {
      out.ops[op.id] = { supported: false, error: e instanceof Error ? e.message : String(e) };
      continue;
    }
    cases.push({ id: op.id, run: () => tf.tidy(() => { op.tf(tf, x, p); }) });
  }
  const m = measureInterleaved(cases, policy);
  for (const c of cases) {
    const { samples, ...r } = m[c.id];
    if (c.id === 'jsCopy') out.jsCopy = r;
    else out.ops[c.id] = { supported: true, ...r, vsJsCopy: pairedRatio(samples, m.jsCopy.samples) };
  }
  x.dispose();
  for (const t of Object.values(p)) t.dispose();
  out.load = meter();
  return out;
}

/** Derives, for each op, the ratio tfjs-wasm forward time / wasmconv 1-thread forward time. */
export function compareWithTfjs(nnops) {
  if (!nnops || nnops.error || !nnops.tfjs || nnops.tfjs.error) return;
  for (const row of nnops.rows) {
    if (!row.ops) continue;
    for (const op of NN_OPS) {
      const t = nnops.tfjs.ops[op.id];
      if (t && t.supported) row.ops[op.id].fwd.vsTfjsWasm = t.medianMs / row.ops[op.id].fwd.medianMs;
    }
  }
}

const us = (ms) => (ms * 1000 >= 100 ? (ms * 1000).toFixed(0) : (ms * 1000).toFixed(1));

/** Text lines for the report. */
export function nnOpsLines(r) {
  if (!r) return [];
  if (r.error) return ['', `Pooling, activation and normalization ops: failed: ${r.error}`];
  const lines = ['', `Pooling, activation and normalization ops on (${r.shape.join(', ')}) float32 (${(r.bytes / 2 ** 20).toFixed(2)} MiB), SIMD build: ` +
    'median µs · GB/s (input read + output written; + dy read + dx written for fwd+bwd) · ratio to the wasm copy x.clone() in the same rounds; ' +
    'tfjs = tfjs-backend-wasm 1T forward on the same values in NHWC (its layout) / wasmconv 1T forward (> 1: wasmconv faster)'];
  const tfj = r.tfjs;
  for (const row of r.rows) {
    lines.push('');
    if (!row.ops) { lines.push(`${row.requestedThreads} thread(s): failed: ${row.error}`); continue; }
    const others = row.load ? ` (others used ${(row.load.otherShare * 100).toFixed(0)}% of the machine${row.retry ? `; measured again after waiting, kept the ${row.retry.kept} attempt` : ''})` : '';
    lines.push(`${row.threads} thread${row.threads > 1 ? 's' : ''}: copy ${us(row.copy.medianMs)} µs, ${row.copy.gbps.toFixed(1)} GB/s${others}`);
    const one = row.requestedThreads === 1;
    const head = `${'op'.padEnd(30)}${'fwd µs'.padStart(9)}${'GB/s'.padStart(7)}${'/copy'.padStart(7)}${'fwd+bwd µs'.padStart(12)}${'GB/s'.padStart(7)}${'/copy'.padStart(7)}${one ? `${'tfjs µs'.padStart(10)}${'vs tfjs'.padStart(9)}` : ''}`;
    lines.push(head, '-'.repeat(head.length));
    for (const op of NN_OPS) {
      const c = row.ops[op.id];
      let l = `${op.label.padEnd(30)}${us(c.fwd.medianMs).padStart(9)}${c.fwd.gbps.toFixed(1).padStart(7)}${c.fwd.vsCopy.toFixed(2).padStart(7)}` +
        `${us(c.fwdBwd.medianMs).padStart(12)}${c.fwdBwd.gbps.toFixed(1).padStart(7)}${c.fwdBwd.vsCopy.toFixed(2).padStart(7)}`;
      if (one) {
        const t = tfj && !tfj.error ? tfj.ops[op.id] : null;
        l += t && t.supported ? `${us(t.medianMs).padStart(10)}${`${c.fwd.vsTfjsWasm.toFixed(2)}x${op.target ? '' : '*'}`.padStart(9)}` : `${'—'.padStart(10)}${'—'.padStart(9)}`;
      }
      lines.push(l);
    }
  }
  if (tfj && tfj.error) lines.push('', `tfjs-backend-wasm: failed: ${tfj.error}`);
  const notes = NN_OPS.filter((op) => op.tfNote).map((op) => `  ${op.label}: ${op.tfNote}${op.tf ? ' (* information, not a target)' : ''}`);
  if (notes.length) lines.push('', 'tfjs-backend-wasm peers:', ...notes);
  const missing = tfj && !tfj.error ? Object.entries(tfj.ops).filter(([, v]) => !v.supported) : [];
  for (const [id, v] of missing) lines.push(`  ${id}: not in tfjs-backend-wasm: ${v.error}`);
  return lines;
}

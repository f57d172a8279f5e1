// Memory-bound rows: element-wise ops and reductions of the public API on
// 64 KiB to 64 MiB tensors, against the engine's own wasm copy (`clone()`, the
// unary COPY kernel, `memory.copy`) measured in the same rounds; and `relu` on
// the (64, 6, 28, 28) activation of the LeNet chapter, forward and forward +
// backward, against a plain `Float32Array` copy (`dst.set(src)`).
//
// Bytes of a call = every tensor operand's bytes read (a broadcast row counts
// once, a scalar operand not at all) + the output's bytes written. The copy
// reads and writes the operand once: 2 x bytes. GB/s = bytes / median time / 1e9.
// Kernel-only: the op including its output allocation; the output is disposed
// right after the call (inside the timed call), nothing is read back.
import { MEM_POLICY, cpuMeter, measureInterleaved, pairedRatio, prng, progress } from './common.mjs';
import { CORES, freshInit } from './wasmconv.mjs';

const KiB = 1024, MiB = 1024 * KiB;
/** Bytes of float32 data per operand. */
export const MEM_SIZES = [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB];
/** Sizes from which the thread speed-up is a target. */
export const SPEEDUP_FROM = 4 * MiB;
/** Row length of the [n/1024, 1024] view used by the broadcast row, the last-dim sum and the dim-0 mean. */
const ROW = 1024;

/**
 * The ops. `read(n)` / `written(n)`: bytes read and written for n float32
 * elements per operand. `call(wc, t)` returns the op's output tensor.
 */
export const MEM_OPS = [
  { id: 'copy', label: 'clone() (wasm copy)', what: 'x.clone(): unary COPY kernel (memory.copy)', read: (n) => 4 * n, written: (n) => 4 * n, call: (wc, t) => t.x.clone() },
  { id: 'add', label: 'add(x, y)', what: 'x + y, same shape', read: (n) => 8 * n, written: (n) => 4 * n, call: (wc, t) => wc.add(t.x, t.y) },
  { id: 'add-row', label: 'add(x, row)', what: `[n/${ROW}, ${ROW}] + [${ROW}] (broadcast row)`, read: (n) => 4 * n + 4 * ROW, written: (n) => 4 * n, call: (wc, t) => wc.add(t.x, t.row) },
  { id: 'mul-scalar', label: 'mul(x, 2)', what: 'x * 2 (scalar)', read: (n) => 4 * n, written: (n) => 4 * n, call: (wc, t) => wc.mul(t.x, 2) },
  { id: 'relu', label: 'relu(x)', what: 'max(x, 0)', read: (n) => 4 * n, written: (n) => 4 * n, call: (wc, t) => wc.relu(t.x) },
  { id: 'exp', label: 'exp(x)', what: 'e^x', read: (n) => 4 * n, written: (n) => 4 * n, call: (wc, t) => wc.exp(t.x) },
  { id: 'sigmoid', label: 'sigmoid(x)', what: '1 / (1 + e^-x)', read: (n) => 4 * n, written: (n) => 4 * n, call: (wc, t) => wc.sigmoid(t.x) },
  { id: 'sum', label: 'sum(x)', what: 'sum of all elements', read: (n) => 4 * n, written: () => 4, call: (wc, t) => wc.sum(t.x) },
  { id: 'sum-last', label: 'sum(x, -1)', what: `sum over the last dim of [n/${ROW}, ${ROW}]`, read: (n) => 4 * n, written: (n) => (4 * n) / ROW, call: (wc, t) => wc.sum(t.x, -1) },
  { id: 'max', label: 'max(x)', what: 'max of all elements', read: (n) => 4 * n, written: () => 4, call: (wc, t) => wc.max(t.x) },
  { id: 'mean-0', label: 'mean(x, 0)', what: `mean over dim 0 of [n/${ROW}, ${ROW}]`, read: (n) => 4 * n, written: () => 4 * ROW, call: (wc, t) => wc.mean(t.x, 0) },
];

export const fmtBytes = (b) => (b >= MiB ? `${b / MiB} MiB` : `${b / KiB} KiB`);

/** Deterministic values in [-4, 4): a random block of 64 Ki floats, tiled (exp and sigmoid stay finite). */
function values(n, seed) {
  const r = prng(seed);
  const blk = new Float32Array(Math.min(n, 65536));
  for (let i = 0; i < blk.length; i++) blk[i] = (r() * 2 - 1) * 4;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i += blk.length) a.set(blk.subarray(0, Math.min(blk.length, n - i)), i);
  return a;
}

/** One size on one thread count: every op interleaved with the copy (see measureInterleaved). */
async function measureBlock(wc, bytes, threads, policy) {
  await freshInit(wc, { build: 'simd', threads });
  const meter = cpuMeter();
  const n = bytes / 4;
  const shape = [n / ROW, ROW];
  const t = {
    x: wc.tensor(values(n, 11), shape),
    y: wc.tensor(values(n, 12), shape),
    row: wc.tensor(values(ROW, 13), [ROW]),
  };
  const cases = MEM_OPS.map((op) => ({ id: op.id, run: () => op.call(wc, t).dispose() }));
  let m;
  try {
    m = measureInterleaved(cases, policy);
  } finally {
    for (const v of Object.values(t)) v.dispose();
  }
  const info = wc.backendInfo();
  const row = { bytes, threads: info.threads, requestedThreads: threads, elements: n, cases: {}, load: meter() };
  const copyMoved = MEM_OPS[0].read(n) + MEM_OPS[0].written(n);
  for (const op of MEM_OPS) {
    const { samples, ...c } = m[op.id];
    const moved = op.read(n) + op.written(n);
    row.cases[op.id] = {
      ...c, bytesMoved: moved, gbps: moved / c.medianMs / 1e6,
      // (op GB/s) / (copy GB/s): the median over rounds of that ratio within each round.
      vsCopy: op.id === 'copy' ? 1 : pairedRatio(m.copy.samples, samples) * (moved / copyMoved),
    };
  }
  return row;
}

/**
 * Every size on 1 thread and on all cores (sizes in increasing order; for each
 * size the 1-thread block and the all-thread block run back to back, so that a
 * change of the machine's load between them stays short).
 */
export async function runMemOps(wc, { quick = false, sizes = MEM_SIZES, measureRow, budget } = {}) {
  const policy = quick ? MEM_POLICY.quick : MEM_POLICY.full;
  const threadCounts = CORES > 1 ? [1, CORES] : [1];
  const out = {
    sizes, threads: threadCounts, speedupFrom: SPEEDUP_FROM, policy,
    // Bytes read and written by each op at each size (n = bytes / 4 elements per operand).
    ops: MEM_OPS.map(({ id, label, what, read, written }) => ({ id, label, what, read: sizes.map((b) => read(b / 4)), written: sizes.map((b) => written(b / 4)) })),
    rows: [],
  };
  for (const bytes of sizes) {
    for (const T of threadCounts) {
      progress(`element-wise and reductions: ${fmtBytes(bytes)}, ${T} thread${T > 1 ? 's' : ''}`);
      try {
        out.rows.push(await measureRow(() => measureBlock(wc, bytes, T, policy), budget));
      } catch (e) {
        out.rows.push({ bytes, threads: T, requestedThreads: T, error: e instanceof Error ? e.message : String(e) });
      }
    }
  }
  // Thread speed-up: 1-thread median / all-thread median, same op and size.
  out.speedups = [];
  if (threadCounts.length > 1) {
    for (const bytes of sizes) {
      const one = out.rows.find((r) => r.bytes === bytes && r.requestedThreads === 1 && r.cases);
      const many = out.rows.find((r) => r.bytes === bytes && r.requestedThreads === CORES && r.cases);
      if (!one || !many) continue;
      const s = { bytes, threads: many.threads, ops: {} };
      for (const op of MEM_OPS) s.ops[op.id] = one.cases[op.id].medianMs / many.cases[op.id].medianMs;
      out.speedups.push(s);
    }
  }
  return out;
}

// ---------------------------------------------------------------- relu

export const RELU_SHAPE = [64, 6, 28, 28];

/**
 * relu on (64, 6, 28, 28): forward (x without grad), forward + backward (x
 * requires grad: relu(x).backward(g), g preallocated, the output and x.grad
 * disposed in the timed call), and forward + readback (y.data()), interleaved
 * with a plain Float32Array copy of the same bytes (dst.set(src)) and the
 * engine's own copy (clone()). Ratios are times: op / copy (lower is better).
 */
export async function runRelu(wc, { quick = false, measureRow, budget } = {}) {
  const policy = quick ? MEM_POLICY.quick : MEM_POLICY.full;
  const threadCounts = CORES > 1 ? [1, CORES] : [1];
  const n = RELU_SHAPE.reduce((a, b) => a * b, 1);
  const out = { shape: RELU_SHAPE, elements: n, bytes: 4 * n, policy, rows: [] };
  for (const T of threadCounts) {
    progress(`relu ${RELU_SHAPE.join('x')}: ${T} thread${T > 1 ? 's' : ''}`);
    const block = async () => {
      await freshInit(wc, { build: 'simd', threads: T });
      const meter = cpuMeter();
      const src = values(n, 21), dst = new Float32Array(n);
      const x = wc.tensor(src, RELU_SHAPE);
      const xg = wc.tensor(src, RELU_SHAPE, { requiresGrad: true });
      const g = wc.tensor(values(n, 22), RELU_SHAPE);
      const cases = [
        { id: 'jsCopy', run: () => dst.set(src) },
        { id: 'clone', run: () => x.clone().dispose() },
        { id: 'forward', run: () => wc.relu(x).dispose() },
        {
          id: 'forwardBackward',
          run: () => {
            const y = wc.relu(xg);
            y.backward(g);
            y.dispose();
            xg.grad.dispose();
            xg.grad = null;
          },
        },
        { id: 'forwardReadback', run: () => { const y = wc.relu(x); y.data(); y.dispose(); } },
      ];
      let m;
      try {
        m = measureInterleaved(cases, policy);
      } finally {
        for (const v of [x, xg, g]) v.dispose();
      }
      const row = { threads: wc.backendInfo().threads, requestedThreads: T, cases: {}, load: meter() };
      for (const c of cases) {
        const r = m[c.id];
        row.cases[c.id] = { ...r, vsJsCopy: pairedRatio(r.samples, m.jsCopy.samples) };
        delete row.cases[c.id].samples;
      }
      row.jsCopyGbps = (2 * 4 * n) / m.jsCopy.medianMs / 1e6;
      return row;
    };
    try {
      out.rows.push(await measureRow(block, budget));
    } catch (e) {
      out.rows.push({ threads: T, requestedThreads: T, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

// ---------------------------------------------------------------- copies between JS and wasm memory

export const COPY_SIZES = [1 * MiB, 16 * MiB];

/**
 * The copies between JS and wasm memory (information, no target): `tensor()`
 * from a Float32Array, `data()`, `assign()` of a Float32Array and `toArray()`,
 * on 1 thread, interleaved with two JS references of the same bytes: a copy into
 * a preallocated array (`dst.set(src)`) and an allocating one (`src.slice()`,
 * what any API returning a fresh array pays at least). Ratios: time / dst.set's.
 */
export async function runCopies(wc, { quick = false, sizes = COPY_SIZES, measureRow, budget } = {}) {
  const policy = quick ? MEM_POLICY.quick : MEM_POLICY.full;
  const out = { sizes, policy, rows: [] };
  for (const bytes of sizes) {
    progress(`copies between JS and wasm memory: ${fmtBytes(bytes)}, 1 thread`);
    const block = async () => {
      await freshInit(wc, { build: 'simd', threads: 1 });
      const meter = cpuMeter();
      const n = bytes / 4, shape = [n / ROW, ROW];
      const src = values(n, 31), dst = new Float32Array(n);
      const x = wc.tensor(src, shape);
      const cases = [
        { id: 'jsSet', run: () => dst.set(src) },
        { id: 'jsSlice', run: () => src.slice() },
        { id: 'tensor', run: () => wc.tensor(src, shape).dispose() },
        { id: 'data', run: () => x.data() },
        { id: 'assign', run: () => x.assign(src) },
        { id: 'toArray', run: () => x.toArray() },
      ];
      let m;
      try {
        m = measureInterleaved(cases, policy);
      } finally {
        x.dispose();
      }
      const row = { bytes, threads: 1, cases: {}, load: meter() };
      for (const c of cases) {
        const { samples, ...r } = m[c.id];
        row.cases[c.id] = { ...r, gbps: (2 * bytes) / r.medianMs / 1e6, vsJsSet: pairedRatio(samples, m.jsSet.samples) };
      }
      return row;
    };
    try {
      out.rows.push(await measureRow(block, budget));
    } catch (e) {
      out.rows.push({ bytes, threads: 1, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

// Shared pieces of the benchmark: the shape list, geometry and FLOP counts,
// deterministic inputs, layout changes, checksums and the timing loop.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = join(BENCH_DIR, '..');

// ---------------------------------------------------------------- shapes

const INT_FIELDS = ['N', 'C', 'H', 'W', 'O', 'KH', 'KW', 'stride', 'pad', 'groups'];

/** Reads and validates bench/shapes.json (or another file in the same format). */
export function loadShapes(file = join(BENCH_DIR, 'shapes.json')) {
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  if (!doc || !Array.isArray(doc.shapes)) throw new Error(`${file}: expected an object with a "shapes" array`);
  const seen = new Set();
  return doc.shapes.map((s, i) => {
    const where = `${file}: shapes[${i}]${s && s.name ? ` (${s.name})` : ''}`;
    if (!s || typeof s.name !== 'string' || !s.name) throw new Error(`${where}: "name" must be a non-empty string`);
    if (seen.has(s.name)) throw new Error(`${where}: duplicate name`);
    seen.add(s.name);
    for (const f of INT_FIELDS) {
      const v = s[f];
      const min = f === 'pad' ? 0 : 1;
      if (!Number.isInteger(v) || v < min) throw new Error(`${where}: "${f}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    if (s.C % s.groups || s.O % s.groups) throw new Error(`${where}: C (${s.C}) and O (${s.O}) must be divisible by groups (${s.groups})`);
    const g = geometry(s);
    if (g.OH < 1 || g.OW < 1) throw new Error(`${where}: the kernel does not fit the padded input`);
    return { ...s, quick: !!s.quick };
  });
}

/** Output size, FLOPs and derived facts of a shape. */
export function geometry(s) {
  const OH = Math.floor((s.H + 2 * s.pad - s.KH) / s.stride) + 1;
  const OW = Math.floor((s.W + 2 * s.pad - s.KW) / s.stride) + 1;
  const Cg = s.C / s.groups;
  const fwdFlops = 2 * s.N * s.O * OH * OW * Cg * s.KH * s.KW;
  const biasFlops = s.N * s.O * OH * OW;
  return {
    OH, OW, Cg,
    xSize: s.N * s.C * s.H * s.W,
    wSize: s.O * Cg * s.KH * s.KW,
    ySize: s.N * s.O * OH * OW,
    fwdFlops,
    /** input + weight gradients (2x forward) plus the bias gradient (one add per output). */
    bwdFlops: 2 * fwdFlops + biasFlops,
    bwdFlopsNoBias: 2 * fwdFlops,
    biasFlops,
    singleChannel: s.N === 1 && s.C === 1 && s.O === 1 && s.groups === 1 && s.stride === 1 && s.pad === 0,
    multiChannel: s.C > 1,
  };
}

export function describeShape(s) {
  const g = geometry(s);
  return `N=${s.N} C=${s.C} ${s.H}x${s.W} -> O=${s.O} ${g.OH}x${g.OW}, kernel ${s.KH}x${s.KW}, stride ${s.stride}, pad ${s.pad}, groups ${s.groups}`;
}

// ---------------------------------------------------------------- inputs

/** mulberry32: a small deterministic PRNG, so every engine (and process) sees the same data. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(n, seed, scale = 1) {
  const r = prng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

/** Deterministic inputs of a shape, in the engine's native layouts: x NCHW, w OIHW, b (O), dy NCHW-shaped output gradient. */
export function makeInputs(s) {
  const g = geometry(s);
  let h = 0;
  for (const c of s.name) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  const fanIn = g.Cg * s.KH * s.KW;
  return {
    x: uniform(g.xSize, h ^ 1),
    w: uniform(g.wSize, h ^ 2, 1 / Math.sqrt(fanIn)),
    b: uniform(s.O, h ^ 3, 0.1),
    dy: uniform(g.ySize, h ^ 4),
  };
}

/** NCHW -> NHWC (also used for OIHW -> OHWI-like reorders with the right dims). */
export function nchwToNhwc(a, N, C, H, W) {
  const out = new Float32Array(a.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) {
    const src = ((n * C + c) * H + y) * W;
    for (let x = 0; x < W; x++) out[((n * H + y) * W + x) * C + c] = a[src + x];
  }
  return out;
}

/** OIHW (O, I, KH, KW) -> HWIO (KH, KW, I, O). */
export function oihwToHwio(a, O, I, KH, KW) {
  const out = new Float32Array(a.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let y = 0; y < KH; y++) for (let x = 0; x < KW; x++) {
    out[((y * KW + x) * I + i) * O + o] = a[((o * I + i) * KH + y) * KW + x];
  }
  return out;
}

/** Depthwise OIHW (C, 1, KH, KW) -> tfjs's (KH, KW, C, 1). */
export function depthwiseToHwc1(a, C, KH, KW) {
  const out = new Float32Array(a.length);
  for (let c = 0; c < C; c++) for (let y = 0; y < KH; y++) for (let x = 0; x < KW; x++) {
    out[(y * KW + x) * C + c] = a[(c * KH + y) * KW + x];
  }
  return out;
}

/** Layout-independent checksum of a result: sum, sum of |v| and sum of squares (float64). */
export function checksum(a) {
  let s = 0, sa = 0, sq = 0;
  for (let i = 0; i < a.length; i++) { const v = a[i]; s += v; sa += Math.abs(v); sq += v * v; }
  return { n: a.length, sum: s, abs: sa, sq };
}

/** Relative disagreement of two checksums (0 when identical), over |v| and v^2 sums. */
export function checksumError(a, b) {
  if (!a || !b) return null;
  if (a.n !== b.n) return Infinity;
  const rel = (x, y) => Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1e-30);
  return Math.max(rel(a.abs, b.abs), rel(a.sq, b.sq));
}

// ---------------------------------------------------------------- timing

export const now = () => performance.now();

/**
 * A full garbage collection, untimed, before each measurement: otherwise an
 * engine that makes much garbage (plain JS arrays, tfjs-cpu) has its GC paid by
 * the engine measured after it. `--expose-gc` set at run time, `gc` taken from
 * a fresh context (the usual trick when node was started without the flag).
 */
let gcFn = null;
try {
  v8.setFlagsFromString('--expose-gc');
  gcFn = vm.runInNewContext('gc');
} catch { /* no gc: figures are a little noisier */ }
export function collectGarbage() {
  if (gcFn) gcFn();
}

/** Median of numbers. */
export function median(xs) {
  const a = [...xs].sort((p, q) => p - q);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** The q-quantile (0..1) of numbers, linear between order statistics. */
export function quantile(xs, q) {
  const a = [...xs].sort((p, r) => p - r);
  if (!a.length) return NaN;
  const i = (a.length - 1) * q, lo = Math.floor(i), hi = Math.ceil(i);
  return a[lo] + (a[hi] - a[lo]) * (i - lo);
}

/** Median, minimum and quartiles of samples (ms), as the rows report them. */
export function summarize(samples) {
  return { medianMs: median(samples), minMs: Math.min(...samples), q1Ms: quantile(samples, 0.25), q3Ms: quantile(samples, 0.75) };
}

/**
 * Timing policies. A measurement is: one cold first call (reported apart), warm-up
 * calls (at least `warmIters` and `warmMs`), then samples until both `minIters`
 * and `minMs` are reached (at most `maxIters` or `maxMs`). Calls slower than
 * `slowMs` get one more call only; calls slower than `singleMs` are not repeated
 * (the single call is both the first and the reported figure, flagged).
 */
export const POLICY = {
  full: { warmIters: 2, warmMs: 200, minIters: 5, minMs: 500, maxIters: 400, maxMs: 2500, slowMs: 1000, singleMs: 8000, batchMs: 2 },
  quick: { warmIters: 1, warmMs: 30, minIters: 3, minMs: 80, maxIters: 100, maxMs: 600, slowMs: 300, singleMs: 3000, batchMs: 1 },
};

/**
 * Measures `run`. Without `setup`, calls much faster than a millisecond are
 * timed in batches (sample = batch time / calls). With `setup`/`teardown`
 * (run outside the timed region on every call), each call is timed alone.
 * Returns times in milliseconds.
 */
export function measure({ run, setup = null, teardown = null, policy = POLICY.full, maxCalls = Infinity }) {
  const once = () => {
    const ctx = setup ? setup() : undefined;
    const t0 = now();
    run(ctx);
    const dt = now() - t0;
    if (teardown) teardown(ctx);
    return dt;
  };
  collectGarbage();
  const first = once();
  if (first >= policy.singleMs || maxCalls <= 1) {
    return { firstMs: first, medianMs: first, minMs: first, iters: 1, calls: 1, note: '1 call' };
  }
  if (first >= policy.slowMs || maxCalls <= 2) {
    const t = once();
    return { firstMs: first, medianMs: t, minMs: t, iters: 1, calls: 2, note: '2 calls' };
  }
  // Warm-up: V8 runs wasm in Liftoff until a function is tiered up, and JS in the interpreter.
  let calls = 1;
  const w0 = now();
  let last = first;
  const warmIters = first > 200 ? 1 : policy.warmIters;
  for (let i = 0; i < warmIters || now() - w0 < policy.warmMs; i++) { last = once(); calls++; if (i > 50) break; }
  collectGarbage();
  // Batch size for very fast calls (no per-call setup).
  let batch = 1;
  if (!setup && last < policy.batchMs / 4) batch = Math.max(1, Math.min(10000, Math.floor(policy.batchMs / Math.max(last, 1e-4))));
  const samples = [];
  const s0 = now();
  while (samples.length < policy.maxIters) {
    if (batch === 1) samples.push(once());
    else {
      const t0 = now();
      for (let k = 0; k < batch; k++) run(undefined);
      samples.push((now() - t0) / batch);
    }
    calls += batch;
    const el = now() - s0;
    if ((samples.length >= policy.minIters && el >= policy.minMs) || el >= policy.maxMs) break;
  }
  return { firstMs: first, ...summarize(samples), iters: samples.length, calls, batch };
}

/**
 * Policy of the forward + readback pass: the same, except that calls over 300 ms
 * get one more call only and calls over 1 s are not repeated (the slow rows are
 * the reference backend and tfjs-cpu, where the readback is a small part).
 */
export function readbackPolicy(policy) {
  return { ...policy, slowMs: Math.min(policy.slowMs, 300), singleMs: Math.min(policy.singleMs, 1000) };
}

/**
 * Memory-bound rows: timing policy of the element-wise, reduction and relu rows
 * (measured with `measureInterleaved`). `sampleMs`: target length of one sample
 * (fast calls are batched up to it); a round times every case once.
 */
export const MEM_POLICY = {
  full: { warmMs: 150, warmIters: 3, minRounds: 9, minMs: 700, maxMs: 4000, sampleMs: 1 },
  quick: { warmMs: 30, warmIters: 2, minRounds: 5, minMs: 120, maxMs: 1000, sampleMs: 0.5 },
};

/**
 * Measures several cases in interleaved rounds: every round times one sample of
 * each case in turn (a sample is a batch of calls when calls are short), so
 * that a change in the machine's load during the measurement hits all cases
 * alike and ratios between cases taken within one round stay meaningful.
 * `cases`: [{ id, run }]. Returns { [id]: { firstMs, medianMs, minMs, q1Ms, q3Ms,
 * iters, calls, batch, samples } } (samples: per round, in round order).
 */
export function measureInterleaved(cases, policy = MEM_POLICY.full) {
  collectGarbage();
  const out = {};
  const last = {};
  for (const c of cases) {
    const t0 = now();
    c.run();
    out[c.id] = { firstMs: now() - t0, calls: 1, samples: [] };
  }
  // Warm-up, interleaved too (V8 tiers wasm and JS up meanwhile).
  const w0 = now();
  for (let i = 0; i < policy.warmIters || now() - w0 < policy.warmMs; i++) {
    for (const c of cases) {
      const t0 = now();
      c.run();
      last[c.id] = now() - t0;
      out[c.id].calls++;
    }
    if (i > 200) break;
  }
  const batch = {};
  for (const c of cases) batch[c.id] = Math.max(1, Math.min(10000, Math.floor(policy.sampleMs / Math.max(last[c.id], 1e-4))));
  collectGarbage();
  const s0 = now();
  for (let round = 0; ; round++) {
    for (const c of cases) {
      const k = batch[c.id];
      const t0 = now();
      for (let j = 0; j < k; j++) c.run();
      out[c.id].samples.push((now() - t0) / k);
      out[c.id].calls += k;
    }
    const el = now() - s0;
    if ((round + 1 >= policy.minRounds && el >= policy.minMs) || el >= policy.maxMs) break;
  }
  for (const c of cases) {
    const o = out[c.id];
    Object.assign(o, summarize(o.samples), { iters: o.samples.length, batch: batch[c.id] });
  }
  return out;
}

/** Median over rounds of a[i] / b[i] (two sample lists of one `measureInterleaved`). */
export function pairedRatio(a, b) {
  const n = Math.min(a.length, b.length);
  const r = [];
  for (let i = 0; i < n; i++) r.push(a[i] / b[i]);
  return n ? median(r) : NaN;
}

/** Runs `fn`, returning { ok: true, value } or { ok: false, error } (message only). */
export function attempt(fn) {
  try { return { ok: true, value: fn() }; } catch (e) { return { ok: false, error: e instanceof Error ? e.message : String(e) }; }
}

/** Logs progress to stderr (stdout carries the table only). */
export function progress(...args) {
  process.stderr.write(args.join(' ') + '\n');
}

// ---------------------------------------------------------------- other load

/** Busy jiffies of the whole machine from /proc/stat (user+nice+system+irq+softirq+steal), or null off Linux. */
function machineBusyTicks() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return user + nice + system + irq + softirq + (steal || 0);
  } catch {
    return null;
  }
}

/**
 * Measures how much CPU other processes (not this one) used while a measurement
 * ran: the machine's busy time from /proc/stat minus this process's CPU time.
 * The benchmark shares the machine; this says how noisy each figure may be.
 * Returns stop() -> { wallS, otherCpuS, otherShare (of all cores) } or null.
 */
export function cpuMeter() {
  const t0 = now(), b0 = machineBusyTicks(), u0 = process.cpuUsage();
  return () => {
    const b1 = machineBusyTicks();
    if (b0 === null || b1 === null) return null;
    const wallS = (now() - t0) / 1000;
    const u = process.cpuUsage(u0);
    const ownS = (u.user + u.system) / 1e6;
    const busyS = (b1 - b0) / 100; // USER_HZ is 100 on Linux
    const otherCpuS = Math.max(0, busyS - ownS);
    return { wallS, otherCpuS, otherShare: wallS > 0 ? Math.min(1, otherCpuS / (wallS * availableParallelism())) : 0 };
  };
}

/** Resolves like p, or rejects after ms milliseconds. */
export function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves after ms milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits (idle) until other processes use less than `share` of the machine over a
 * 250 ms window, or `maxMs` passed. Returns { quiet, waitedMs, lastShare }.
 */
export async function waitForQuiet(maxMs, share = 0.1) {
  const t0 = now();
  let last = null;
  while (now() - t0 < maxMs) {
    const stop = cpuMeter();
    await sleep(250);
    const m = stop();
    if (!m) return { quiet: true, waitedMs: now() - t0, lastShare: null };
    last = m.otherShare;
    if (last < share) return { quiet: true, waitedMs: now() - t0, lastShare: last };
  }
  return { quiet: false, waitedMs: now() - t0, lastShare: last };
}

/**
 * Measures a row with `fn`; if other processes used more than `RETRY_SHARE` of
 * the machine meanwhile (and the row is short), waits for quiet and measures it
 * again, keeping the attempt that was less disturbed. `budget` ({ ms }) caps the
 * waiting of a whole process.
 */
export const RETRY_SHARE = 0.2;
export async function measureRow(fn, budget) {
  const row = await fn();
  const l = row && row.load;
  if (!l || l.otherShare <= RETRY_SHARE || l.wallS > 15 || budget.ms <= 0) return row;
  const w = await waitForQuiet(Math.min(15000, budget.ms));
  budget.ms -= w.waitedMs;
  const again = await fn();
  const retry = { firstAttemptOtherShare: l.otherShare, waitedMs: w.waitedMs, quietBeforeRetry: w.quiet };
  if (again && again.load && again.load.otherShare <= l.otherShare) { again.retry = { ...retry, kept: 'second' }; return again; }
  row.retry = { ...retry, kept: 'first', secondAttemptOtherShare: again && again.load ? again.load.otherShare : null };
  return row;
}

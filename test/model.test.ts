// Model-based test (fast-check): random sequences of commands run against the
// engine and, side by side, against a plain-JS model of what the engine
// promises; after every command (also inside tidy) the two are compared.
//
// Commands: create (tensor() from nested arrays, flat arrays or typed arrays,
// zeros/ones/full, with or without requiresGrad; sometimes large: 2^17 or 2^18
// elements, so that ops split over the worker pool); add/sub/mul with
// broadcasting and with scalars; neg, relu, clone, detach; sum/mean/max/min over
// dims with keepdim; reshape and flatten (views), transpose (a copy); conv2d
// (stride, padding, 'same', dilation, groups, bias, unbatched) and corr2d, often
// on pool tensors viewed to the needed shape; backward (on a sum, on a
// one-element tensor, with a gradient as an array, a new tensor or any tensor
// of the pool); assign (arrays, typed arrays, tensors, through a new view);
// dispose (also of a .grad); keep; requiresGrad_; reads (item/toArray/data);
// tidy around a nested sequence, returning tensors alone, in arrays or nested
// objects, or throwing; optim.SGD (momentum, dampening, weight decay, nesterov,
// maximize) with step, zeroGrad and whole training steps; init with the same or
// other options, with or without replace; grad mode off (noGrad); bad input of
// every kind (types, shapes, dims, disposed operands, refused options). An
// engine with 4 MiB of memory (and a command that fills it) makes any command
// possibly run out of memory.
//
// Invariants, after every command: each tensor's isDisposed; for each live one
// its shape, requiresGrad, isLeaf, .grad (the very tensor object) and its values
// bit for bit (data()); memory().tensors (every live tensor object, views,
// gradients and optimizer buffers included) and memory().bytes (each storage
// once, 4 bytes an element). A refused command throws the error class the model
// predicts (with a message naming the function) and changes none of the above;
// so does one that runs out of memory (a RangeError), which may not have tried
// to grow the memory by more than it needed. After each sequence, disposing
// everything leaves memory() at zero.
//
// Float results: element-wise ops and each single-rounding step (a product, a
// quotient) are emulated exactly with Math.fround (float32 arithmetic done in
// float64 and rounded once is float32 arithmetic) and compared bit for bit. A
// sum is known bit for bit when every partial sum, in any order, is exact (all
// terms are multiples of a power of two q and the sum of their magnitudes is at
// most 2^24 q); otherwise it is checked against gamma(n-1) * sum|x|, a bound
// for every summation order, and the model adopts the engine's value.
// Gradients carry such a bound element by element through the model's own
// backward pass.
//
// Runs on 1 and on 2 threads, in both vitest projects (normal, and
// WASMCONV_DETACH_VIEWS=1). A failure prints fast-check's seed and path, the
// shrunk command list and a trace of its engine calls written as code
// (expectThrows(f, E): f throws E; pattern(n, v): a Float32Array of n elements
// ((i * 5 + v) % 7) - 3).
//   FUZZ_SECONDS=N  run each property for N/2 seconds (npm run fuzz)
//   FUZZ_SEED=S     the seed
//   MODEL_PATH=P    replay the counterexample at fast-check's path P (with its seed)
//   MODEL_RUNS=R    runs per property without FUZZ_SECONDS (default 40)
//   MODEL_STEPS=K   most commands per top-level sequence (default 40)
//   MODEL_STATS=1   print how many commands of each kind ran or were refused
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  init, memory, tidy, keep, noGrad, tensor, zeros, ones, full, add, sub, mul, relu, sum, mean, max, min, reshape, backward, optim,
  conv2d, corr2d,
  Tensor, ShapeError, DisposedError, AutogradError, InitError, type NestedNumbers,
} from '../src/index';
import { currentBackend } from '../src/engine';
import type { WasmBackend } from '../src/backend/wasm/index';

const seconds = Number(process.env.FUZZ_SECONDS ?? 0);
const seed = Number(process.env.FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.MODEL_RUNS ?? 40);
const STEPS = Number(process.env.MODEL_STEPS ?? 40);
const replay = process.env.MODEL_PATH;
const params = (): fc.Parameters<[Cmd[]]> => (replay
  ? { seed, path: replay, endOnFailure: true }
  : seconds > 0
    ? { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 500, markInterruptAsFailure: false }
    : { seed, numRuns: RUNS });
const timeout = seconds > 0 ? seconds * 1000 + 600_000 : 300_000;

// ---------------------------------------------------------------------------
// Float32 arithmetic with error bounds
// ---------------------------------------------------------------------------

const f32 = Math.fround;
const U = 2 ** -24;
/** Absolute error a rounding to float32 may add below the normal range. */
const TINY = 2 ** -149;
const gamma = (n: number) => (n * U) / (1 - n * U);

const lowbitBuf = new Float64Array(1);
const lowbitWords = new Uint32Array(lowbitBuf.buffer);
/** The largest power of two that divides x (finite, nonzero). */
function lowbit(x: number): number {
  lowbitBuf[0] = x;
  const lo = lowbitWords[0], hi = lowbitWords[1];
  const exp = (hi >>> 20) & 0x7ff;
  let tz: number;
  if (lo !== 0) tz = 31 - Math.clz32(lo & -lo);
  else if ((hi & 0xfffff) !== 0) tz = 32 + 31 - Math.clz32(hi & 0xfffff & -(hi & 0xfffff));
  else tz = 52;
  return 2 ** ((exp === 0 ? 1 : exp) - 1075 + tz);
}

/**
 * Element values as the model knows them: v, and a bound e on |engine - v|.
 * e = 0: the engine's float32 value is known bit for bit (v itself; NaN when v is NaN).
 * e = Infinity: unknown (only after overflow).
 */
interface G { v: Float64Array; e: Float64Array }

const gExact = (v: ArrayLike<number>): G => ({ v: Float64Array.from(v), e: new Float64Array(v.length) });

/** One float32 multiplication by an exactly known s: fl(x * s). */
function mulVE(v: number, e: number, s: number): [number, number] {
  if (e === 0) return [f32(v * s), 0];
  const p = v * s;
  const err = e * Math.abs(s) + (Math.abs(p) + e * Math.abs(s)) * U + TINY;
  if (!Number.isFinite(err) || !Number.isFinite(p) || Math.abs(p) + err >= 2 ** 127) return [NaN, Infinity];
  return [p, err];
}

/** One float32 division by an exactly known d: fl(x / d). */
function divVE(v: number, e: number, d: number): [number, number] {
  if (e === 0) return [f32(v / d), 0];
  const q = v / d, ed = e / Math.abs(d);
  const err = ed + (Math.abs(q) + ed) * U + TINY;
  if (!Number.isFinite(err) || !Number.isFinite(q) || Math.abs(q) + err >= 2 ** 127) return [NaN, Infinity];
  return [q, err];
}

/** A float32 sum of terms in any order (a reduction, or gradients accumulated in any order). */
class Acc {
  s = 0; a = 0; e = 0; n = 0; q = Infinity; nan = false; pinf = false; ninf = false; unknown = false;
  add(v: number, e: number): void {
    this.n++;
    if (e === Infinity || Number.isNaN(e)) { this.unknown = true; return; }
    if (Number.isNaN(v)) { this.nan = true; return; }
    if (v === Infinity) { this.pinf = true; return; }
    if (v === -Infinity) { this.ninf = true; return; }
    this.s += v; this.a += Math.abs(v); this.e += e;
    if (v !== 0) this.q = Math.min(this.q, lowbit(v));
  }
  result(): [number, number] {
    if (this.nan && !this.unknown) return [NaN, 0];
    if (this.unknown) return [NaN, Infinity];
    const mag = this.a + this.e;
    if (this.pinf && this.ninf) return [NaN, 0];
    if (this.pinf || this.ninf) return mag < 2 ** 126 ? [this.pinf ? Infinity : -Infinity, 0] : [NaN, Infinity];
    if (mag >= 2 ** 126) return [NaN, Infinity];
    if (this.e === 0 && (this.n <= 1 || this.q === Infinity || this.a / this.q <= 2 ** 24)) return [this.s, 0];
    return [this.s, this.e + gamma(Math.max(this.n - 1, 0)) * mag + this.n * TINY];
  }
}

/** Whether the engine's value a is allowed by (v, e). */
function allowed(a: number, v: number, e: number): boolean {
  if (e === Infinity) return true;
  if (Number.isNaN(v)) return Number.isNaN(a);
  if (e === 0) return a === v;
  return Math.abs(a - v) <= e;
}

// ---------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------

const prod = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** NumPy broadcasting, or null. */
function broadcast(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** For each flat index of `out`, the flat index of `shape` broadcast to it (or reduced from it). */
function indexMap(out: readonly number[], shape: readonly number[]): Int32Array {
  const n = prod(out);
  const map = new Int32Array(n);
  const nd = out.length, off = nd - shape.length;
  const st = new Array<number>(nd).fill(0);
  for (let d = shape.length - 1, acc = 1; d >= 0; d--) { st[d + off] = shape[d] === 1 ? 0 : acc; acc *= shape[d]; }
  const idx = new Array<number>(nd).fill(0);
  let j = 0;
  for (let i = 0; i < n; i++) {
    map[i] = j;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++; j += st[d];
      if (idx[d] < out[d]) break;
      j -= st[d] * idx[d]; idx[d] = 0;
    }
  }
  return map;
}

/** g of shape `from` summed down to `to` (the inverse of broadcasting `to` to `from`). */
function sumTo(g: G, from: readonly number[], to: readonly number[]): G {
  if (same(from, to)) return g;
  const map = indexMap(from, to);
  const accs = Array.from({ length: prod(to) }, () => new Acc());
  for (let i = 0; i < map.length; i++) accs[map[i]].add(g.v[i], g.e[i]);
  return fromAccs(accs);
}

function fromAccs(accs: Acc[]): G {
  const v = new Float64Array(accs.length), e = new Float64Array(accs.length);
  accs.forEach((a, i) => { [v[i], e[i]] = a.result(); });
  return { v, e };
}

/** g of shape `from` broadcast to `to` (a copy). */
function expandTo(g: G, from: readonly number[], to: readonly number[]): G {
  const map = indexMap(to, from);
  const v = new Float64Array(map.length), e = new Float64Array(map.length);
  for (let i = 0; i < map.length; i++) { v[i] = g.v[map[i]]; e[i] = g.e[map[i]]; }
  return { v, e };
}

const negG = (g: G): G => ({ v: g.v.map((x) => -x), e: g.e });

/** Integer factors of n spread over `rank` dimensions, chosen by r. */
function factorShape(n: number, rank: number, r: number): number[] {
  if (n === 0) {
    const s = Array.from({ length: Math.max(rank, 1) }, (_, i) => 1 + ((r >> i) % 3));
    s[r % s.length] = 0;
    return s;
  }
  if (rank === 0) return n === 1 ? [] : [n];
  const s = new Array<number>(rank).fill(1);
  let m = n, k = r;
  for (let p = 2; m > 1; p++) {
    while (m % p === 0) { s[k % rank] *= p; m /= p; k = (k * 7 + 3) >>> 0; }
    if (p * p > m && m > 1) { s[k % rank] *= m; m = 1; }
  }
  return s;
}

// ---------------------------------------------------------------------------
// Deterministic values
// ---------------------------------------------------------------------------

/** Small numbers from a seed: integers in [-3, 3], or halves in [-1.5, 1.5] when v % 4 == 3. */
function smallValues(n: number, v: number): number[] {
  let x = (Math.imul(v + 1, 2654435761) >>> 0) || 1;
  const half = v % 4 === 3;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const r = (x % 7) - 3;
    out[i] = half ? r / 2 : r;
  }
  return out;
}

/** The values of a large tensor: ((i * 5 + v) % 7) - 3. */
function pattern(n: number, v: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 5 + v) % 7) - 3;
  return a;
}

function nest(flat: readonly number[], shape: readonly number[]): NestedNumbers {
  if (shape.length === 0) return flat[0];
  const inner = prod(shape.slice(1));
  return Array.from({ length: shape[0] }, (_, i) => nest(flat.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}

const BIG_SHAPES = [[131072], [2, 65536], [4, 65536], [512, 512], [65536, 2], [1, 131072]];
const SCALARS = [0, 1, -1, 2, -2, 3, 0.5, 0.1, 1 / 3, 1e-3];
/** Output size above which an op is skipped (keeps the model cheap). */
const MAX_OUT = 2 ** 19;

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

type Op2 = 'add' | 'sub' | 'mul';
type Cmd =
  | { k: 'create'; shape: number[]; v: number; how: number; rg: boolean }
  | { k: 'big'; shape: number; v: number; rg: boolean }
  | { k: 'bin'; op: Op2; a: number; b: number; compat: boolean; ng: boolean; method: boolean }
  | { k: 'scalar'; op: Op2; a: number; s: number; left: boolean; ng: boolean }
  | { k: 'unary'; op: 'neg' | 'relu' | 'detach' | 'clone'; a: number; ng: boolean }
  | { k: 'transpose'; a: number; d0: number; d1: number; ng: boolean }
  | { k: 'flatten'; a: number; start: number | undefined; end: number | undefined; ng: boolean }
  | { k: 'requiresGrad'; a: number; flag: boolean }
  | { k: 'reduce'; op: 'sum' | 'mean' | 'max' | 'min'; a: number; dims: null | number | number[]; keepdim: boolean | undefined; ng: boolean }
  | { k: 'reshape'; a: number; r: number; mode: 'ok' | 'minus1' | 'bad'; ng: boolean }
  | { k: 'backward'; a: number; mode: 'direct' | 'sum' | 'seed' | 'seedT' | 'seedPool' | 'badSeed' | 'fn'; v: number }
  | { k: 'assign'; a: number; src: 'array' | 'nested' | 'typed' | 'tensor' | 'bad'; b: number; v: number; view: boolean }
  | { k: 'dispose'; a: number; grad: boolean }
  | { k: 'keep'; a: number }
  | { k: 'read'; a: number; how: 'item' | 'toArray' | 'data' }
  | { k: 'tidy'; body: Cmd[]; ret: number[]; form: 'none' | 'single' | 'array' | 'object'; throws: boolean }
  | { k: 'sgd'; ps: number[]; dup: boolean; lr: number; momentum: number; dampening: number; wd: number; nesterov: boolean; maximize: boolean }
  | { k: 'step'; o: number }
  | { k: 'train'; o: number; v: number; relu: boolean; make: Extract<Cmd, { k: 'sgd' }> }
  | { k: 'zeroGrad'; o: number }
  | { k: 'init'; which: 'none' | 'base' | 'simd' | 'nosimd' | 'mem' | 'tiny' | 'bad0' | 'bad1' | 'bad2'; replace: boolean }
  | { k: 'fill'; free: number }
  | { k: 'bad'; what: number; a: number }
  | {
    k: 'conv'; fn: 'conv2d' | 'corr2d'; N: number; G: number; Cg: number; Og: number; H: number; W: number; KH: number; KW: number;
    SH: number; SW: number; PH: number; PW: number; DH: number; DW: number; same: boolean; batched: boolean; bias: boolean;
    x: number; w: number; b: number; reuseX: boolean; reuseW: boolean; xrg: boolean; wrg: boolean; brg: boolean; v: number;
  };

/** A tensor pick: most picks are among live tensors (newest first); one in eight among all, disposed included. */
const pickArb = fc.nat({ max: 63 });
const shapeArb = fc.array(fc.oneof({ weight: 14, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(0) }), { maxLength: 3 });
const op2Arb = fc.constantFrom<Op2>('add', 'sub', 'mul');
/** A dimension argument: mostly in range for tensors of 2 or more dimensions, sometimes out of any range. */
const dimArb = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: -2, max: 1 }) }, { weight: 1, arbitrary: fc.constantFrom(-4, 3) });
const bool = (pTrue: number) => fc.integer({ min: 0, max: 99 }).map((x) => x < pTrue);

const sgdArb: fc.Arbitrary<Extract<Cmd, { k: 'sgd' }>> = fc.record({
  k: fc.constant('sgd' as const),
  ps: fc.oneof({ weight: 1, arbitrary: fc.constant<number[]>([]) }, { weight: 30, arbitrary: fc.array(pickArb, { minLength: 1, maxLength: 3 }) }),
  dup: bool(10),
  lr: fc.oneof({ weight: 20, arbitrary: fc.constantFrom(0.5, 0.25, 0.1, 1) }, { weight: 1, arbitrary: fc.constant(-0.5) }),
  momentum: fc.constantFrom(0, 0, 0.5, 0.9), dampening: fc.constantFrom(0, 0, 0.5), wd: fc.constantFrom(0, 0, 0.25),
  nesterov: bool(10), maximize: bool(20),
});

const baseCmds: Array<{ weight: number; arbitrary: fc.Arbitrary<Cmd> }> = [
  { weight: 12, arbitrary: fc.record({ k: fc.constant('create' as const), shape: shapeArb, v: fc.nat({ max: 9999 }), how: fc.integer({ min: 0, max: 5 }), rg: bool(60) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('big' as const), shape: fc.nat({ max: BIG_SHAPES.length - 1 }), v: fc.nat({ max: 6 }), rg: fc.boolean() }) },
  { weight: 14, arbitrary: fc.record({ k: fc.constant('bin' as const), op: op2Arb, a: pickArb, b: pickArb, compat: bool(80), ng: bool(10), method: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('scalar' as const), op: op2Arb, a: pickArb, s: fc.constantFrom(...SCALARS), left: fc.boolean(), ng: bool(10) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('unary' as const), op: fc.constantFrom('neg' as const, 'relu' as const, 'relu' as const, 'detach' as const, 'clone' as const), a: pickArb, ng: bool(10) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('transpose' as const), a: pickArb, d0: dimArb, d1: dimArb, ng: bool(10) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('flatten' as const), a: pickArb, start: fc.option(dimArb, { nil: undefined }), end: fc.option(dimArb, { nil: undefined }), ng: bool(10) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('requiresGrad' as const), a: pickArb, flag: bool(70) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('reduce' as const), op: fc.constantFrom('sum' as const, 'sum' as const, 'mean' as const, 'max' as const, 'min' as const), a: pickArb,
      dims: fc.oneof(fc.constant(null), dimArb, fc.array(dimArb, { maxLength: 2 })),
      keepdim: fc.constantFrom(undefined, true, false), ng: bool(10),
    }),
  },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('reshape' as const), a: pickArb, r: fc.nat({ max: 999 }), mode: fc.constantFrom('ok' as const, 'ok' as const, 'minus1' as const, 'bad' as const), ng: bool(10) }) },
  { weight: 9, arbitrary: fc.record({ k: fc.constant('backward' as const), a: pickArb, mode: fc.constantFrom('sum' as const, 'sum' as const, 'sum' as const, 'direct' as const, 'seed' as const, 'seedT' as const, 'seedPool' as const, 'badSeed' as const, 'fn' as const), v: fc.nat({ max: 999 }) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('assign' as const), a: pickArb, src: fc.constantFrom('array' as const, 'nested' as const, 'typed' as const, 'tensor' as const, 'tensor' as const, 'bad' as const), b: pickArb, v: fc.nat({ max: 999 }), view: bool(30) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('dispose' as const), a: pickArb, grad: bool(20) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('keep' as const), a: pickArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('read' as const), a: pickArb, how: fc.constantFrom('item' as const, 'toArray' as const, 'data' as const) }) },
  { weight: 2, arbitrary: sgdArb },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('step' as const), o: fc.nat({ max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('zeroGrad' as const), o: fc.nat({ max: 7 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('train' as const), o: fc.nat({ max: 7 }), v: fc.nat({ max: 999 }), relu: fc.boolean(), make: sgdArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('bad' as const), what: fc.nat({ max: 63 }), a: pickArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('fill' as const), free: fc.nat({ max: 3 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('conv' as const), fn: fc.oneof({ weight: 4, arbitrary: fc.constant('conv2d' as const) }, { weight: 1, arbitrary: fc.constant('corr2d' as const) }),
      N: fc.integer({ min: 1, max: 2 }), G: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }),
      Cg: fc.integer({ min: 1, max: 3 }), Og: fc.integer({ min: 1, max: 5 }), H: fc.integer({ min: 1, max: 7 }), W: fc.integer({ min: 1, max: 9 }),
      KH: fc.integer({ min: 1, max: 3 }), KW: fc.integer({ min: 1, max: 3 }), SH: fc.integer({ min: 1, max: 2 }), SW: fc.integer({ min: 1, max: 2 }),
      PH: fc.integer({ min: 0, max: 1 }), PW: fc.integer({ min: 0, max: 2 }), DH: fc.integer({ min: 1, max: 2 }), DW: fc.integer({ min: 1, max: 2 }),
      same: bool(10), batched: bool(80), bias: fc.boolean(), x: pickArb, w: pickArb, b: pickArb,
      reuseX: bool(40), reuseW: bool(60), xrg: bool(30), wrg: bool(70), brg: fc.boolean(), v: fc.nat({ max: 999 }),
    }),
  },
];

const { cmd: cmdArb } = fc.letrec<{ cmd: Cmd; tidy: Cmd }>((tie) => ({
  cmd: fc.oneof({ maxDepth: 2, depthIdentifier: 'tidy' }, ...baseCmds, { weight: 3, arbitrary: tie('tidy') }),
  tidy: fc.record({
    k: fc.constant('tidy' as const),
    body: fc.array(tie('cmd'), { maxLength: 8, size: 'max', depthIdentifier: 'tidy' }),
    ret: fc.array(fc.nat({ max: 63 }), { maxLength: 3 }),
    form: fc.constantFrom('none' as const, 'single' as const, 'array' as const, 'object' as const),
    throws: bool(15),
  }),
}));

const initArb: fc.Arbitrary<Cmd> = fc.record({
  k: fc.constant('init' as const),
  which: fc.oneof(
    { weight: 7, arbitrary: fc.constantFrom('base' as const, 'none' as const, 'simd' as const, 'nosimd' as const, 'mem' as const, 'tiny' as const) },
    { weight: 1, arbitrary: fc.constantFrom('bad0' as const, 'bad1' as const, 'bad2' as const) },
  ),
  replace: bool(30),
});

/** One run in eight starts on an engine with 4 MiB of memory (where any command may run out of memory). */
const programArb = fc.tuple(
  fc.oneof({ weight: 7, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.constant([{ k: 'init' as const, which: 'tiny' as const, replace: true }]) }),
  fc.array(baseCmds[0].arbitrary, { minLength: 1, maxLength: 4 }),
  fc.array(fc.oneof({ weight: 40, arbitrary: cmdArb }, { weight: 1, arbitrary: initArb }), { maxLength: STEPS, size: 'max' }),
).map(([i, a, b]) => [...i, ...a, ...b]);

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

/** A block of storage: float32 values (as doubles) and the version bumped by every write. */
interface MStorage { vals: Float64Array; version: number }

/** How a tensor was made, while its graph lives: what the engine saved, and the model's backward. */
interface MCtx {
  op: string;
  inputs: MT[];
  saved: Array<{ t: MT; version: number }>;
  back: (g: G) => Array<G | null>;
}

/** The model of one Tensor object. */
class MT {
  released = false;   // dispose() or its tidy scope
  dead = false;       // init replaced the engine it lived in
  ctx: MCtx | null = null;
  freed = false;      // an earlier backward freed its graph
  kept = false;       // keep(), a gradient, an optimizer buffer
  grad: MT | null = null;
  gradOf: MT | null = null;
  hidden = false;     // an optimizer buffer: not a pick
  constructor(readonly name: string, public t: Tensor, readonly shape: number[], readonly st: MStorage,
              public rg: boolean, readonly userLeaf: boolean) {}
  get size(): number { return prod(this.shape); }
  get disposed(): boolean { return this.released || this.dead; }
  get vals(): Float64Array { return this.st.vals; }
}

interface MOpt {
  name: string; o: optim.SGD; params: MT[];
  lr: number; momentum: number; dampening: number; wd: number; nesterov: boolean; maximize: boolean;
  bufs: Map<MT, MT>; started: Set<MT>;
}

type ErrClass = new (...args: never[]) => Error;
const Boom = class Boom extends Error {};

const baseOpts = (T: number) => ({ threads: T });
/** The memory of the engine where commands run out of memory. */
const TINY_MB = 4;
const keyOf = (o: { backend?: string; build?: string; threads?: number; maxMemoryMB?: number }) =>
  JSON.stringify([o.backend ?? 'wasm', o.build ?? null, o.threads ?? null, o.maxMemoryMB ?? 2048]);
/** The options the engine runs with now (the model's and the engine's across runs). */
let engineKey = '';

const stats = { runs: 0, commands: 0, refused: 0, backwards: 0, steps: 0, tidies: 0, inits: 0, bigOps: 0, pooled: 0, oom: 0 };
const kinds = new Map<string, { ok: number; refused: number }>();
function count(kind: string, refused: boolean): void {
  const k = kinds.get(kind) ?? { ok: 0, refused: 0 };
  if (refused) k.refused++; else k.ok++;
  kinds.set(kind, k);
}

class Model {
  all: MT[] = [];
  scopes: MT[][] = [];
  opts: MOpt[] = [];
  gradEnabled = true;
  /** The engine has TINY_MB of memory: any command may fail with a RangeError (cannot allocate) and must then change nothing. */
  tight = false;
  trace: string[] = [];
  depth = 0;
  private nextName = 0;

  constructor(readonly T: number) {}

  log(line: string): void { this.trace.push(`${'  '.repeat(this.depth)}${line}`); }

  /** A new model tensor for engine tensor t, in the innermost scope. */
  make(t: Tensor, shape: number[], st: MStorage, rg: boolean, userLeaf: boolean, ctx: MCtx | null = null, name?: string): MT {
    const m = new MT(name ?? `t${this.nextName++}`, t, shape.slice(), st, rg, userLeaf);
    m.ctx = ctx;
    this.all.push(m);
    if (this.scopes.length) this.scopes[this.scopes.length - 1].push(m);
    expect(t, `${m.name}: a Tensor`).toBeInstanceOf(Tensor);
    expect([...t.shape], `${m.name}.shape`).toEqual(shape);
    return m;
  }

  /** Tensor.dispose() */
  disposeCall(m: MT): void {
    if (m.released) return;
    m.released = true;
    if (m.grad) { this.disposeCall(m.grad); m.grad = null; }
    m.ctx = null;
  }

  live(): MT[] { return this.all.filter((m) => !m.hidden && !m.disposed); }
  pool(): MT[] { return this.all.filter((m) => !m.hidden); }

  pick(p: number, from?: MT[]): MT | null {
    const list = from ?? (p % 8 === 7 ? this.pool() : this.live());
    const l = list.length ? list : this.pool();
    if (!l.length) return null;
    return l[l.length - 1 - (Math.floor(p / 8) % l.length)];
  }

  /** Runs f, which must throw one of `errs` (a message that names the function), and logs it. */
  refuse(errs: ErrClass[], line: string, f: () => unknown, why = ''): void {
    const names = [...new Set(errs.map((e) => e.name))].join(' | ');
    this.log(`expectThrows(() => ${line}, ${names});${why ? ` // ${why}` : ''}`);
    stats.refused++;
    let err: unknown = null, threw = false;
    try { f(); } catch (e) { err = e; threw = true; }
    const because = why ? ` (${why})` : '';
    if (!threw) throw new Error(`expected ${line} to throw ${names}${because}; it returned`);
    if (!errs.some((c) => err instanceof c)) throw new Error(`expected ${line} to throw ${names}${because}; it threw ${String(err)}`);
    expect((err as Error).message, `${line}: message names the function`).toMatch(/^[A-Za-z][\w.]*: /);
  }

  async refuseAsync(errs: ErrClass[], line: string, f: () => Promise<unknown>): Promise<void> {
    const names = [...new Set(errs.map((e) => e.name))].join(' | ');
    this.log(`await expectRejects(() => ${line}, ${names});`);
    stats.refused++;
    let err: unknown = null, threw = false;
    try { await f(); } catch (e) { err = e; threw = true; }
    if (!threw) throw new Error(`expected ${line} to reject with ${names}; it resolved`);
    if (!errs.some((c) => err instanceof c)) throw new Error(`expected ${line} to reject with ${names}; it threw ${String(err)}`);
  }

  /** Checks an op's output against expected (v, e) and stores the engine's values in the model. */
  adopt(m: MT, g: G, what: string): void {
    const got = m.t.data();
    expect(got.length, `${what}: length`).toBe(g.v.length);
    for (let i = 0; i < got.length; i++) {
      if (!allowed(got[i], g.v[i], g.e[i])) {
        throw new Error(`${what}[${i}]: engine ${got[i]}, model ${g.v[i]}${g.e[i] ? ` ± ${g.e[i]}` : ' exactly'}`);
      }
    }
    m.st.vals = Float64Array.from(got);
  }

  // -------------------------------------------------------------------------
  // Invariants
  // -------------------------------------------------------------------------

  check(): void {
    let tensors = 0;
    const storages = new Set<MStorage>();
    const checked = new Set<MStorage>();
    for (const m of this.all) {
      const t = m.t;
      if (t.isDisposed !== m.disposed) throw new Error(`${m.name}.isDisposed is ${t.isDisposed}, the model says ${m.disposed}`);
      if (m.disposed) continue;
      tensors++;
      storages.add(m.st);
      if (!same(t.shape, m.shape)) throw new Error(`${m.name}.shape is ${fmt(t.shape)}, the model says ${fmt(m.shape)}`);
      if (t.requiresGrad !== m.rg) throw new Error(`${m.name}.requiresGrad is ${t.requiresGrad}, the model says ${m.rg}`);
      // (Not for an intermediate whose graph a backward freed: PyTorch still calls it a non-leaf.)
      if (!m.freed && t.isLeaf !== (m.ctx === null)) throw new Error(`${m.name}.isLeaf is ${t.isLeaf}, the model says ${m.ctx === null}`);
      if (!m.hidden && t.grad !== (m.grad ? m.grad.t : null)) {
        throw new Error(`${m.name}.grad is ${t.grad ? `tensor #${t.grad.id}` : 'null'}, the model says ${m.grad ? m.grad.name : 'null'}`);
      }
      // Every storage in full once; further views of a large one by a sample.
      const d = t.data();
      const v = m.vals;
      if (d.length !== v.length) throw new Error(`${m.name}.data() has ${d.length} elements, the model ${v.length}`);
      const full = !checked.has(m.st) || v.length <= 4096;
      checked.add(m.st);
      const step = full ? 1 : 997;
      for (let i = 0; i < v.length; i += step) {
        if (!(d[i] === v[i] || (Number.isNaN(d[i]) && Number.isNaN(v[i])))) {
          throw new Error(`${m.name}.data()[${i}] is ${d[i]}, the model says ${v[i]}`);
        }
      }
    }
    let bytes = 0;
    for (const s of storages) bytes += s.vals.length * 4;
    const mem = memory();
    if (mem.tensors !== tensors || mem.bytes !== bytes) {
      throw new Error(`memory() is { tensors: ${mem.tensors}, bytes: ${mem.bytes} }, the model says { tensors: ${tensors}, bytes: ${bytes} }`);
    }
  }

  // -------------------------------------------------------------------------
  // Commands
  // -------------------------------------------------------------------------

  async exec(c: Cmd): Promise<void> {
    const be = currentBackend() as WasmBackend | null;
    const pooled = be?.pooledCalls ?? 0;
    if (c.k === 'init') await this.init(c);
    else this.execSync(c);
    if (be && currentBackend() === be) stats.pooled += be.pooledCalls - pooled;
    this.check();
  }

  execSync(c: Cmd): void {
    stats.commands++;
    const before = stats.refused;
    try {
      this.dispatch(c);
    } catch (e) {
      if (!(this.tight && e instanceof RangeError && /cannot allocate/.test(e.message))) throw e;
      Model.checkGrowth(e.message);
      stats.oom++;
      this.log(`// out of memory: ${e.message}`);
    } finally {
      count(c.k, stats.refused !== before);
    }
  }

  dispatch(c: Cmd): void {
    switch (c.k) {
      case 'create': return this.create(c);
      case 'big': return this.big(c);
      case 'bin': return this.withGrad(c.ng, () => this.bin(c));
      case 'scalar': return this.withGrad(c.ng, () => this.scalar(c));
      case 'unary': return this.withGrad(c.ng, () => this.unary(c));
      case 'reduce': return this.withGrad(c.ng, () => { const a = this.pick(c.a); if (a) this.reduce(c.op, a, c.dims, c.keepdim); });
      case 'reshape': return this.withGrad(c.ng, () => this.reshape(c));
      case 'transpose': return this.withGrad(c.ng, () => this.transpose(c));
      case 'flatten': return this.withGrad(c.ng, () => this.flatten(c));
      case 'requiresGrad': return this.requiresGrad(c);
      case 'backward': return this.backward(c);
      case 'assign': return this.assign(c);
      case 'dispose': return this.dispose(c);
      case 'keep': return this.keep(c);
      case 'read': return this.read(c);
      case 'tidy': return this.tidy(c);
      case 'sgd': return this.sgd(c);
      case 'step': return this.step(c);
      case 'train': return this.train(c);
      case 'zeroGrad': return this.zeroGrad(c);
      case 'bad': return this.bad(c);
      case 'conv': return this.conv(c);
      case 'fill': return this.fill(c);
      case 'init': throw new Error('init inside tidy');
    }
  }

  /** Runs f under noGrad when ng (the engine and the model). */
  withGrad(ng: boolean, f: () => void): void {
    if (!ng) return f();
    this.log('noGrad(() => {');
    this.depth++;
    const prev = this.gradEnabled;
    this.gradEnabled = false;
    try {
      noGrad(f);
    } finally {
      this.gradEnabled = prev;
      this.depth--;
      this.log('});');
    }
  }

  create(c: Extract<Cmd, { k: 'create' }>): void {
    const shape = c.shape, n = prod(shape);
    const vals = c.how === 3 ? new Array<number>(n).fill(0) : c.how === 4 ? new Array<number>(n).fill(1)
      : c.how === 5 ? new Array<number>(n).fill(SCALARS[c.v % SCALARS.length]) : smallValues(n, c.v);
    const opts = c.rg ? { requiresGrad: true } : undefined;
    const o = c.rg ? ', { requiresGrad: true }' : '';
    let t: Tensor, line: string;
    const nested = c.how === 0 && !shape.includes(0);
    if (nested) {
      const data = nest(vals, shape);
      line = `tensor(${JSON.stringify(data)}${c.rg ? ', undefined, { requiresGrad: true }' : ''})`;
      t = tensor(data as number[], undefined, opts);
    } else if (c.how === 2 || (c.how === 0 && !nested)) {
      const typed = c.v % 2 ? Float64Array.from(vals) : Int32Array.from(vals.map((x) => Math.trunc(x)));
      for (let i = 0; i < n; i++) vals[i] = typed[i];
      line = `tensor(${typed.constructor.name}.from(${JSON.stringify(Array.from(typed))}), ${fmt(shape)}${o})`;
      t = tensor(typed, shape, opts);
    } else if (c.how === 1) {
      line = `tensor(${JSON.stringify(vals)}, ${fmt(shape)}${o})`;
      t = tensor(vals, shape, opts);
    } else if (c.how === 3) {
      line = `zeros(${fmt(shape)}${o})`; t = zeros(shape, opts);
    } else if (c.how === 4) {
      line = `ones(${fmt(shape)}${o})`; t = ones(shape, opts);
    } else {
      line = `full(${fmt(shape)}, ${vals[0] ?? SCALARS[c.v % SCALARS.length]}${o})`; t = full(shape, SCALARS[c.v % SCALARS.length], opts);
    }
    const m = this.make(t, shape, { vals: Float64Array.from(vals, f32), version: 0 }, c.rg, true);
    this.log(`const ${m.name} = ${line};`);
  }

  big(c: Extract<Cmd, { k: 'big' }>): void {
    const shape = BIG_SHAPES[c.shape], n = prod(shape);
    const data = pattern(n, c.v);
    const t = tensor(data, shape, c.rg ? { requiresGrad: true } : undefined);
    const m = this.make(t, shape, { vals: Float64Array.from(data), version: 0 }, c.rg, true);
    this.log(`const ${m.name} = tensor(pattern(${n}, ${c.v}), ${fmt(shape)}${c.rg ? ', { requiresGrad: true }' : ''});`);
  }

  /** A result of an op: recorded when grad mode is on and an input requires grad. */
  result(t: Tensor, shape: number[], st: MStorage, inputs: MT[], op: string, saved: MT[], back: MCtx['back']): MT {
    // Element-wise kernels split over the pool from about 125,000 elements, reductions from about 250,000.
    const reduction = op === 'sum' || op === 'mean' || op === 'max' || op === 'min';
    if (op !== 'reshape' && op !== 'flatten' && (reduction ? inputs[0].size >= 262144 : prod(shape) >= 131072)) stats.bigOps++;
    const rg = this.gradEnabled && inputs.some((x) => x.rg);
    const ctx = rg ? { op, inputs, saved: saved.map((s) => ({ t: s, version: s.st.version })), back } : null;
    return this.make(t, shape, st, rg, false, ctx);
  }

  bin(c: Extract<Cmd, { k: 'bin' }>): void {
    const a = this.pick(c.a);
    if (!a) return;
    let b: MT | null;
    if (c.compat) {
      const ok = this.live().filter((x) => { const s = broadcast(a.shape, x.shape); return s !== null && prod(s) <= MAX_OUT; });
      b = this.pick(c.b, ok.length ? ok : undefined);
    } else b = this.pick(c.b);
    if (!b) return;
    this.binary(c.op, a, b, c.method);
  }

  binary(op: Op2, a: MT, b: MT, method: boolean): MT | null {
    const c = { op, method };
    const out = broadcast(a.shape, b.shape);
    const line = c.method ? `${a.name}.${c.op}(${b.name})` : `${c.op}(${a.name}, ${b.name})`;
    const errs: ErrClass[] = [];
    if (a.disposed || b.disposed) errs.push(DisposedError);
    if (!out) errs.push(ShapeError);
    const call = () => (c.method ? a.t[c.op](b.t) : { add, sub, mul }[c.op](a.t, b.t));
    if (errs.length) { this.refuse(errs, line, call); return null; }
    if (prod(out!) > MAX_OUT) { this.log(`// skipped: ${line} (${prod(out!)} elements)`); return null; }
    const shape = out!;
    const ma = indexMap(shape, a.shape), mb = indexMap(shape, b.shape);
    const av = a.vals, bv = b.vals;
    const v = new Float64Array(ma.length);
    for (let i = 0; i < v.length; i++) {
      const x = av[ma[i]], y = bv[mb[i]];
      v[i] = f32(c.op === 'add' ? x + y : c.op === 'sub' ? x - y : x * y);
    }
    const t = call();
    const r = this.result(t, shape, { vals: v, version: 0 }, [a, b], c.op, c.op === 'mul' ? [a, b] : [], (g) => {
      if (c.op === 'add') return [a.rg ? sumTo(g, shape, a.shape) : null, b.rg ? sumTo(g, shape, b.shape) : null];
      if (c.op === 'sub') return [a.rg ? sumTo(g, shape, a.shape) : null, b.rg ? sumTo(negG(g), shape, b.shape) : null];
      const times = (other: MT): G => {
        const mo = indexMap(shape, other.shape);
        const pv = new Float64Array(g.v.length), pe = new Float64Array(g.v.length);
        for (let i = 0; i < pv.length; i++) [pv[i], pe[i]] = mulVE(g.v[i], g.e[i], other.vals[mo[i]]);
        return { v: pv, e: pe };
      };
      return [a.rg ? sumTo(times(b), shape, a.shape) : null, b.rg ? sumTo(times(a), shape, b.shape) : null];
    });
    this.log(`const ${r.name} = ${line};`);
    return r;
  }

  scalar(c: Extract<Cmd, { k: 'scalar' }>): void {
    const a = this.pick(c.a);
    if (!a) return;
    const s = c.s, fs = f32(s);
    const line = c.left ? `${c.op}(${s}, ${a.name})` : `${c.op}(${a.name}, ${s})`;
    const call = () => (c.left ? { add, sub, mul }[c.op](s, a.t) : { add, sub, mul }[c.op](a.t, s));
    if (a.disposed) return this.refuse([DisposedError], line, call);
    const v = a.vals.map((x) => f32(c.op === 'add' ? x + fs : c.op === 'mul' ? x * fs : c.left ? fs - x : x - fs));
    const t = call();
    const r = this.result(t, a.shape, { vals: v, version: 0 }, [a], c.op, [], (g) => {
      if (c.op === 'mul') {
        const pv = new Float64Array(g.v.length), pe = new Float64Array(g.v.length);
        for (let i = 0; i < pv.length; i++) [pv[i], pe[i]] = mulVE(g.v[i], g.e[i], fs);
        return [{ v: pv, e: pe }];
      }
      return [c.op === 'sub' && c.left ? negG(g) : g];
    });
    this.log(`const ${r.name} = ${line};`);
  }

  unary(c: Extract<Cmd, { k: 'unary' }>): void {
    const a = this.pick(c.a);
    if (!a) return;
    const line = `${a.name}.${c.op}()`;
    const call = () => (c.op === 'neg' ? a.t.neg() : c.op === 'relu' ? (c.ng ? a.t.relu() : relu(a.t)) : c.op === 'clone' ? a.t.clone() : a.t.detach());
    if (a.disposed) return this.refuse([DisposedError], line, call);
    if (c.op === 'relu') { this.reluOf(a, call); return; }
    const t = call();
    const r = c.op === 'detach'
      ? this.make(t, a.shape, { vals: a.vals.slice(), version: 0 }, false, true)
      : c.op === 'clone' ? this.result(t, a.shape, { vals: a.vals.slice(), version: 0 }, [a], 'clone', [], (g) => [g])
      : this.result(t, a.shape, { vals: a.vals.map((x) => -x), version: 0 }, [a], 'neg', [], (g) => [negG(g)]);
    this.log(`const ${r.name} = ${line};`);
  }

  /** relu(a): max(x, 0), NaN stays NaN; saves its output. */
  reluOf(a: MT, call: () => Tensor = () => relu(a.t)): MT {
    const t = call();
    const st = { vals: a.vals.map((x) => (x > 0 ? x : Number.isNaN(x) ? x : 0)), version: 0 };
    const self: MT = this.result(t, a.shape, st, [a], 'relu', [], (g) => {
      const y = self.vals;
      return [{ v: g.v.map((x, i) => (y[i] <= 0 ? 0 : x)), e: g.e.map((x, i) => (y[i] <= 0 ? 0 : x)) }];
    });
    if (self.ctx) self.ctx.saved.push({ t: self, version: self.st.version });
    this.log(`const ${self.name} = relu(${a.name});`);
    return self;
  }

  /** sum / mean / max over dims (raw, as the caller passed them). */
  reduce(op: 'sum' | 'mean' | 'max' | 'min', a: MT, dims: null | number | number[], keepdim: boolean | undefined): MT | null {
    const line = `${op}(${a.name}${dims !== null || keepdim !== undefined ? `, ${JSON.stringify(dims)}` : ''}${keepdim !== undefined ? `, ${keepdim}` : ''})`;
    const call = () => ({ sum, mean, max, min }[op](a.t, dims, keepdim));
    const extreme = op === 'max' || op === 'min';
    const nd = a.shape.length;
    const errs: ErrClass[] = [];
    if (a.disposed) errs.push(DisposedError);
    // dimArg: an integer in [-max(nd, 1), max(nd, 1) - 1]; then no repeats.
    const lo = -Math.max(nd, 1), hi = Math.max(nd, 1) - 1;
    const raw = dims === null ? null : Array.isArray(dims) ? dims : [dims];
    let red: number[] = [];
    if (raw === null || raw.length === 0) red = Array.from({ length: nd }, (_, i) => i);
    else if (raw.some((d) => d < lo || d > hi)) errs.push(RangeError);
    else {
      red = raw.map((d) => (d < 0 ? d + Math.max(nd, 1) : d));
      if (new Set(red).size !== red.length) errs.push(RangeError);
    }
    const D = new Set(red);
    const kept = a.shape.map((d, i) => (D.has(i) ? 1 : d));
    const outShape = keepdim ? kept : a.shape.filter((_, i) => !D.has(i));
    const R = D.size === nd ? a.size : prod(a.shape.filter((_, i) => D.has(i)));
    if (!errs.length && R === 0 && extreme) errs.push(ShapeError);
    if (errs.length) { this.refuse(errs, line, call); return null; }
    const n = prod(kept);
    const map = indexMap(a.shape, kept);
    const x = a.vals;
    let g: G;
    if (extreme) {
      // NaN wins (as torch.amax / torch.amin).
      const v = new Float64Array(n).fill(op === 'max' ? -Infinity : Infinity);
      for (let i = 0; i < map.length; i++) {
        const j = map[i];
        if (Number.isNaN(v[j])) continue;
        if (Number.isNaN(x[i]) || (op === 'max' ? x[i] > v[j] : x[i] < v[j])) v[j] = x[i];
      }
      g = gExact(v);
    } else {
      const accs = Array.from({ length: n }, () => new Acc());
      for (let i = 0; i < map.length; i++) accs[map[i]].add(x[i], 0);
      g = fromAccs(accs);
      if (op === 'mean') {
        for (let j = 0; j < n; j++) {
          if (R === 0) { g.v[j] = NaN; g.e[j] = 0; } else [g.v[j], g.e[j]] = divVE(g.v[j], g.e[j], R);
        }
      }
    }
    const t = call();
    let self: MT | null = null;
    self = this.result(t, outShape, { vals: new Float64Array(n), version: 0 }, [a], op, extreme ? [a] : [], (gy) => {
      const ge = expandTo(gy, kept, a.shape);
      if (op === 'sum') return [ge];
      if (op === 'mean') {
        for (let i = 0; i < ge.v.length; i++) [ge.v[i], ge.e[i]] = divVE(ge.v[i], ge.e[i], R);
        return [ge];
      }
      // max, min: the gradient shared evenly among the elements equal to the result: g * fl(mask / count).
      const y = self!.vals, xv = a.vals;
      const count = new Float64Array(n);
      for (let i = 0; i < map.length; i++) if (xv[i] === y[map[i]]) count[map[i]]++;
      for (let i = 0; i < ge.v.length; i++) {
        const q = f32((xv[i] === y[map[i]] ? 1 : 0) / count[map[i]]);
        [ge.v[i], ge.e[i]] = mulVE(ge.v[i], ge.e[i], q);
      }
      return [ge];
    });
    if (self.ctx && extreme) self.ctx.saved.push({ t: self, version: self.st.version });
    this.adopt(self, g, line);
    this.log(`const ${self.name} = ${line};`);
    return self;
  }

  reshape(c: Extract<Cmd, { k: 'reshape' }>): void {
    const a = this.pick(c.a);
    if (!a) return;
    let target: number[];
    const errs: ErrClass[] = [];
    if (a.disposed) errs.push(DisposedError);
    if (c.mode === 'bad') {
      target = [a.size + 1];
      errs.push(ShapeError);
    } else {
      target = factorShape(a.size, c.r % 4, c.r);
      if (c.mode === 'minus1' && target.length) {
        const j = c.r % target.length;
        const known = prod(target.filter((_, i) => i !== j));
        target[j] = -1;
        if (known === 0) errs.push(ShapeError);
      }
    }
    this.viewOf(a, target, errs);
  }

  /** a.reshape(target): a view sharing a's storage. */
  viewOf(a: MT, target: number[], errs: ErrClass[]): MT | null {
    const line = `${a.name}.reshape(${fmt(target)})`;
    const call = () => (this.depth % 2 ? reshape(a.t, target) : a.t.reshape(target));
    if (errs.length) { this.refuse(errs, line, call); return null; }
    const known = prod(target.filter((d) => d !== -1));
    const shape = target.map((d) => (d === -1 ? a.size / known : d));
    const t = call();
    const r = this.result(t, shape, a.st, [a], 'reshape', [], (g) => [g]);
    this.log(`const ${r.name} = ${line};`);
    return r;
  }

  /** dimArg: an integer in [-max(nd, 1), max(nd, 1) - 1], as a dimension in [0, max(nd, 1)); null when out of range. */
  static dim(d: number, nd: number): number | null {
    const n = Math.max(nd, 1);
    return d < -n || d >= n ? null : d < 0 ? d + n : d;
  }

  /** transpose(a, d0, d1): a contiguous copy; its gradient is transposed back. */
  transpose(c: Extract<Cmd, { k: 'transpose' }>): void {
    const a = this.pick(c.a);
    if (!a) return;
    const line = `${a.name}.transpose(${c.d0}, ${c.d1})`;
    const call = () => a.t.transpose(c.d0, c.d1);
    const nd = a.shape.length;
    const d0 = Model.dim(c.d0, nd), d1 = Model.dim(c.d1, nd);
    const errs: ErrClass[] = [];
    if (a.disposed) errs.push(DisposedError);
    if (d0 === null || d1 === null) errs.push(RangeError);
    if (errs.length) return this.refuse(errs, line, call);
    const perm = a.shape.map((_, i) => i);
    if (nd > 0) [perm[d0!], perm[d1!]] = [perm[d1!], perm[d0!]];
    const shape = perm.map((i) => a.shape[i]);
    // Output element -> input element.
    const inSt = new Array<number>(nd);
    for (let d = nd - 1, acc = 1; d >= 0; d--) { inSt[d] = acc; acc *= a.shape[d]; }
    const n = a.size, src = new Int32Array(n), idx = new Array<number>(nd).fill(0);
    for (let i = 0; i < n; i++) {
      let j = 0;
      for (let d = 0; d < nd; d++) j += idx[d] * inSt[perm[d]];
      src[i] = j;
      for (let d = nd - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
    }
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = a.vals[src[i]];
    const t = call();
    const r = this.result(t, shape, { vals: v, version: 0 }, [a], 'transpose', [], (g) => {
      const gv = new Float64Array(n), ge = new Float64Array(n);
      for (let i = 0; i < n; i++) { gv[src[i]] = g.v[i]; ge[src[i]] = g.e[i]; }
      return [{ v: gv, e: ge }];
    });
    this.log(`const ${r.name} = ${line};`);
  }

  /** flatten(a, start, end): a view (of a 0-d tensor: shape [1]). */
  flatten(c: Extract<Cmd, { k: 'flatten' }>): void {
    const a = this.pick(c.a);
    if (!a) return;
    const args = c.start === undefined ? (c.end === undefined ? '' : `undefined, ${c.end}`) : c.end === undefined ? `${c.start}` : `${c.start}, ${c.end}`;
    const line = `${a.name}.flatten(${args})`;
    const call = () => a.t.flatten(c.start, c.end);
    const nd = a.shape.length;
    const errs: ErrClass[] = [];
    if (a.disposed) errs.push(DisposedError);
    let shape = [1];
    if (nd > 0) {
      const s0 = Model.dim(c.start ?? 0, nd), s1 = Model.dim(c.end ?? -1, nd);
      if (s0 === null || s1 === null || s0 > s1) errs.push(RangeError);
      else shape = [...a.shape.slice(0, s0), prod(a.shape.slice(s0, s1 + 1)), ...a.shape.slice(s1 + 1)];
    }
    if (errs.length) return this.refuse(errs, line, call);
    const t = call();
    const r = this.result(t, shape, a.st, [a], nd > 0 ? 'flatten' : 'reshape', [], (g) => [g]);
    this.log(`const ${r.name} = ${line};`);
  }

  /** requiresGrad_(flag) on a tensor made by the user. */
  requiresGrad(c: Extract<Cmd, { k: 'requiresGrad' }>): void {
    const leaves = this.pool().filter((m) => m.userLeaf && !m.gradOf);
    const a = this.pick(c.a, leaves.length ? leaves : undefined);
    if (!a || !a.userLeaf || a.gradOf) return;
    this.log(`${a.name}.requiresGrad_(${c.flag});`);
    expect(a.t.requiresGrad_(c.flag)).toBe(a.t);
    a.rg = c.flag;
  }

  backward(c: Extract<Cmd, { k: 'backward' }>): void {
    const differentiable = this.live().filter((m) => m.rg && !m.freed);
    const root = this.pick(c.a, c.a % 8 === 7 || !differentiable.length ? undefined : differentiable);
    if (root) this.backwardOn(root, c);
  }

  backwardOn(picked: MT, c: { mode: Extract<Cmd, { k: 'backward' }>['mode']; v: number }): void {
    let root: MT | null = picked;
    if (c.mode === 'sum') {
      root = this.reduce('sum', root, null, undefined);
      if (!root) return;
    }
    let seedG: G | null = null;
    let seedArg: Tensor | number[] | undefined;
    let seedText = '';
    if (c.mode === 'seed' || c.mode === 'badSeed') {
      const n = root.size + (c.mode === 'badSeed' ? 1 : 0);
      const vals = smallValues(n, c.v);
      seedArg = vals;
      seedText = JSON.stringify(vals);
      seedG = gExact(vals);
    } else if (c.mode === 'seedT' && !root.disposed) {
      const vals = smallValues(root.size, c.v);
      const t = tensor(vals, root.shape);
      const s = this.make(t, root.shape, { vals: Float64Array.from(vals), version: 0 }, false, true);
      this.log(`const ${s.name} = tensor(${JSON.stringify(vals)}, ${fmt(root.shape)});`);
      seedArg = t;
      seedText = s.name;
      seedG = gExact(vals);
    } else if (c.mode === 'seedPool' && !root.disposed) {
      // Any live tensor of the root's shape: the root itself, a tensor of its graph, a .grad...
      const shaped = this.live().filter((m) => same(m.shape, root!.shape));
      const s = this.pick(c.v, shaped)!;
      seedArg = s.t;
      seedText = s.name;
      seedG = gExact(s.vals);
    }
    const r = root;
    const line = c.mode === 'fn' ? `backward(${r.name})` : `${r.name}.backward(${seedText})`;
    const call = () => (c.mode === 'fn' ? backward(r.t) : r.t.backward(seedArg));
    // Everything the engine must refuse, and why.
    const errs: ErrClass[] = [];
    const reasons: string[] = [];
    const why = (e: ErrClass, reason: string) => { errs.push(e); reasons.push(reason); };
    if (r.disposed) why(DisposedError, `${r.name} was disposed`);
    if (r.freed) why(AutogradError, `${r.name}'s graph was freed by an earlier backward()`);
    if (!r.rg) why(AutogradError, `${r.name} does not require grad`);
    if (seedArg === undefined && r.size !== 1) why(AutogradError, `${r.name} has ${r.size} elements and no gradient was given`);
    if (Array.isArray(seedArg) && seedArg.length !== r.size) why(ShapeError, `the gradient has ${seedArg.length} values for ${r.size} elements`);
    // The graph: nodes reachable through inputs that require grad.
    const order: MT[] = [];
    const seen = new Set<MT>([r]);
    const visit = (node: MT) => {
      if (node.disposed) why(DisposedError, `${node.name}, part of the graph, was disposed`);
      // A node whose graph an earlier backward freed cannot be differentiated through again.
      if (node !== r && node.freed) why(AutogradError, `${node.name}'s graph was freed by an earlier backward()`);
      if (node.ctx) {
        for (const s of node.ctx.saved) {
          if (s.t.disposed) why(DisposedError, `${s.t.name}, saved by ${node.ctx.op}, was disposed`);
          else if (s.t.st.version !== s.version) why(AutogradError, `${s.t.name}, saved by ${node.ctx.op}, was changed in place since`);
        }
        for (const x of node.ctx.inputs) if (x.rg && !seen.has(x)) { seen.add(x); visit(x); }
      }
      order.push(node);
    };
    if (!errs.length) visit(r);
    if (errs.length) return this.refuse(errs, line, call, reasons.join('; '));
    call();
    stats.backwards++;
    this.log(`${line};`);
    // The model's backward: gradients in reverse topological order.
    const contrib = new Map<MT, G[]>([[r, [seedG ?? gExact(new Array(r.size).fill(1))]]]);
    const leafGrads = new Map<MT, G>();
    for (let k = order.length - 1; k >= 0; k--) {
      const node = order[k];
      const gs = contrib.get(node);
      if (!gs) continue;
      const g = gs.length === 1 ? gs[0] : fromAccs(Array.from({ length: node.size }, (_, i) => {
        const acc = new Acc();
        for (const x of gs) acc.add(x.v[i], x.e[i]);
        return acc;
      }));
      if (!node.ctx) { leafGrads.set(node, g); continue; }
      const ins = node.ctx.back(g);
      node.ctx.inputs.forEach((x, i) => {
        const gi = ins[i];
        if (!gi || !x.rg) return;
        if (!contrib.has(x)) contrib.set(x, []);
        contrib.get(x)!.push(gi);
      });
    }
    for (const [leaf, g] of leafGrads) {
      const old = leaf.grad;
      if (old && !old.disposed) {
        const acc = Array.from({ length: leaf.size }, (_, i) => { const a = new Acc(); a.add(old.vals[i], 0); a.add(g.v[i], g.e[i]); return a; });
        this.adopt(old, fromAccs(acc), `${leaf.name}.grad`);
        old.st.version++;
      } else {
        const gt = leaf.t.grad;
        if (!gt) throw new Error(`${leaf.name}.grad is null after ${line}`);
        const m = this.make(gt, leaf.shape, { vals: new Float64Array(leaf.size), version: 0 }, false, true);
        m.kept = true;
        m.gradOf = leaf;
        leaf.grad = m;
        this.adopt(m, g, `${leaf.name}.grad`);
        this.log(`const ${m.name} = ${leaf.name}.grad;`);
      }
    }
    for (const node of order) if (node.ctx) { node.ctx = null; node.freed = true; }
  }

  assign(c: Extract<Cmd, { k: 'assign' }>): void {
    let a = this.pick(c.a);
    if (!a) return;
    if (c.view) {
      a = this.viewOf(a, [-1], a.disposed ? [DisposedError] : []);
      if (!a) return;
    }
    const tgt = a;
    const errs: ErrClass[] = [];
    if (tgt.disposed) errs.push(DisposedError);
    let src: Tensor | number[] | Float64Array | NestedNumbers;
    let srcText: string;
    let vals: ArrayLike<number>;
    if (c.src === 'tensor') {
      const same = this.live().filter((x) => x.size === tgt.size);
      const b = this.pick(c.b, c.b % 8 === 7 || !same.length ? undefined : same)!;
      src = b.t; srcText = b.name; vals = b.vals;
      if (b.disposed) errs.push(DisposedError);
      if (b.size !== tgt.size) errs.push(ShapeError);
    } else {
      const n = tgt.size + (c.src === 'bad' ? 1 : 0);
      const v = smallValues(n, c.v);
      if (c.src === 'typed') {
        const typed = Float64Array.from(v, (x) => x + 0.1);
        src = typed; srcText = `Float64Array.from(${JSON.stringify(Array.from(typed))})`; vals = typed;
      } else if (c.src === 'nested' && !tgt.shape.includes(0)) {
        src = nest(v, tgt.shape); srcText = JSON.stringify(src); vals = v;
      } else {
        src = v; srcText = JSON.stringify(v); vals = v;
      }
      if (n !== tgt.size) errs.push(ShapeError);
    }
    const line = `${tgt.name}.assign(${srcText})`;
    const call = () => tgt.t.assign(src as Tensor);
    if (errs.length) return this.refuse(errs, line, call);
    const out = call();
    expect(out, `${line} returns the tensor`).toBe(tgt.t);
    tgt.st.vals = Float64Array.from(vals, f32);
    tgt.st.version++;
    this.log(`${line};`);
  }

  dispose(c: Extract<Cmd, { k: 'dispose' }>): void {
    const a = this.pick(c.a);
    if (!a) return;
    if (c.grad) {
      if (!a.grad) return;
      this.log(`${a.name}.grad.dispose(); // ${a.grad.name}`);
      a.grad.t.dispose();
      this.disposeCall(a.grad);
      return;
    }
    this.log(`${a.name}.dispose();`);
    a.t.dispose();
    this.disposeCall(a);
  }

  keep(c: Extract<Cmd, { k: 'keep' }>): void {
    const a = this.pick(c.a);
    if (!a) return;
    this.log(`keep(${a.name});`);
    expect(keep(a.t)).toBe(a.t);
    a.kept = true;
  }

  read(c: Extract<Cmd, { k: 'read' }>): void {
    const a = this.pick(c.a);
    if (!a) return;
    const line = `${a.name}.${c.how}()`;
    const errs: ErrClass[] = [];
    if (a.disposed) errs.push(DisposedError);
    if (c.how === 'item' && a.size !== 1) errs.push(ShapeError);
    const call = () => a.t[c.how]();
    if (errs.length) return this.refuse(errs, line, call);
    this.log(`${line};`);
    const got = call();
    const vals = Array.from(a.vals);
    const flatten = (x: NestedNumbers): number[] => (Array.isArray(x) ? x.flatMap(flatten) : [x]);
    const flat = c.how === 'item' ? [got as number] : c.how === 'data' ? Array.from(got as Float32Array) : flatten(got as NestedNumbers);
    expect(flat.length, `${line}: length`).toBe(vals.length);
    flat.forEach((x, i) => { if (!allowed(x, vals[i], 0)) throw new Error(`${line}[${i}] is ${x}, the model says ${vals[i]}`); });
    if (c.how === 'toArray' && !a.shape.includes(0)) {
      // The nesting follows the shape.
      let level: unknown = got;
      for (const d of a.shape) { expect(Array.isArray(level) && level.length === d, `${line}: nesting`).toBe(true); level = (level as unknown[])[0]; }
      expect(typeof level, `${line}: innermost`).toBe('number');
    }
  }

  tidy(c: Extract<Cmd, { k: 'tidy' }>): void {
    stats.tidies++;
    const scope: MT[] = [];
    this.scopes.push(scope);
    this.log('tidy(() => {');
    this.depth++;
    let returned: MT[] = [];
    let threw = false;
    try {
      tidy(() => {
        for (const b of c.body) { this.execSync(b); this.check(); }
        const own = scope.filter((m) => !m.hidden);
        for (const r of c.ret) {
          const m = r % 5 === 4 ? this.pick(r) : own.length ? own[own.length - 1 - (Math.floor(r / 5) % own.length)] : null;
          if (m) returned.push(m);
        }
        if (c.throws) { this.log('throw new Error();'); throw new Boom(); }
        const ts = returned.map((m) => m.t), names = returned.map((m) => m.name);
        switch (c.form) {
          case 'none': returned = []; this.log('return 5;'); return 5;
          case 'single': returned = returned.slice(0, 1); this.log(`return ${names[0]};`); return ts[0];
          case 'array': this.log(`return [${names.join(', ')}];`); return ts;
          case 'object':
            this.log(`return { first: ${names[0]}, rest: [${names.slice(1).map((n) => `{ t: ${n} }`).join(', ')}], n: 1 };`);
            return { first: ts[0], rest: ts.slice(1).map((t) => ({ t })), n: 1 };
        }
      });
    } catch (e) {
      if (!(e instanceof Boom)) throw e;
      threw = true;
    } finally {
      this.depth--;
      this.log(threw ? '}); // throws' : '});');
      this.scopes.pop();
    }
    const keepSet = new Set(threw ? [] : returned);
    const outer = this.scopes.length ? this.scopes[this.scopes.length - 1] : null;
    for (let k = scope.length - 1; k >= 0; k--) {
      const m = scope[k];
      if (keepSet.has(m)) outer?.push(m);
      else if (!m.kept) this.disposeCall(m);
    }
  }

  sgd(c: Extract<Cmd, { k: 'sgd' }>): void {
    const leaves = this.pool().filter((m) => m.userLeaf && !m.gradOf);
    const good = leaves.filter((m) => m.rg && !m.disposed);
    let ps = c.ps.map((p) => this.pick(p, p % 8 === 7 ? leaves : good.length ? good : leaves)).filter((m): m is MT => m !== null);
    if (!c.dup) ps = [...new Set(ps)];
    const opts = { lr: c.lr, momentum: c.momentum, dampening: c.dampening, weightDecay: c.wd, nesterov: c.nesterov, maximize: c.maximize };
    const name = `o${this.opts.length}`;
    const line = `new optim.SGD([${ps.map((m) => m.name).join(', ')}], ${JSON.stringify(opts)})`;
    const errs: ErrClass[] = [];
    if (!ps.length) errs.push(RangeError);
    for (const p of ps) {
      if (p.disposed) errs.push(DisposedError);
      if (!p.rg) errs.push(RangeError);
    }
    if (new Set(ps).size !== ps.length) errs.push(RangeError);
    if (c.lr < 0) errs.push(RangeError);
    if (c.nesterov && (c.momentum <= 0 || c.dampening !== 0)) errs.push(RangeError);
    const call = () => new optim.SGD(ps.map((m) => m.t), opts);
    if (errs.length) return this.refuse(errs, line, call);
    const o = call();
    this.log(`const ${name} = ${line};`);
    this.opts.push({ name, o, params: ps, lr: c.lr, momentum: c.momentum, dampening: c.dampening, wd: c.wd, nesterov: c.nesterov, maximize: c.maximize, bufs: new Map(), started: new Set() });
  }

  step(c: Extract<Cmd, { k: 'step' }>): void {
    if (this.opts.length) this.stepOn(this.opts[c.o % this.opts.length]);
  }

  /** A training step with optimizer o: loss = sum over its live parameters of sum(relu(p * x)), backward, step. */
  train(c: Extract<Cmd, { k: 'train' }>): void {
    if (!this.opts.length) this.sgd(c.make);
    if (!this.opts.length) return;
    const o = this.opts[c.o % this.opts.length];
    this.log(`// a training step with ${o.name}`);
    let loss: MT | null = null;
    for (const p of o.params) {
      if (p.disposed) continue;
      const vals = smallValues(p.size, c.v);
      const x = this.make(tensor(vals, p.shape), p.shape, { vals: Float64Array.from(vals), version: 0 }, false, true);
      this.log(`const ${x.name} = tensor(${JSON.stringify(vals)}, ${fmt(p.shape)});`);
      const px = this.binary('mul', p, x, true);
      if (!px) return;
      const h = c.relu ? this.reluOf(px) : px;
      const term = this.reduce('sum', h, null, undefined);
      if (!term) return;
      loss = loss ? this.binary('add', loss, term, false) : term;
      if (!loss) return;
    }
    if (loss) this.backwardOn(loss, { mode: 'direct', v: c.v });
    this.stepOn(o);
  }

  stepOn(o: MOpt): void {
    const line = `${o.name}.step()`;
    const errs: ErrClass[] = [];
    for (const p of o.params) if (p.disposed || (p.grad && p.grad.disposed)) errs.push(DisposedError);
    if (errs.length) return this.refuse(errs, line, () => o.o.step());
    o.o.step();
    if (o.params.some((p) => p.grad)) stats.steps++;
    this.log(`${line};`);
    const negLr = f32(-o.lr), mom = f32(o.momentum), damp1 = f32(1 - o.dampening), wd = f32(o.wd);
    for (const p of o.params) {
      if (!p.grad) continue;
      let buf: MT | null = null;
      if (o.momentum !== 0) {
        buf = o.bufs.get(p) ?? null;
        if (!buf) {
          const engineBuf = o.o.stateDict().state[o.params.indexOf(p)].momentum_buffer as Tensor;
          buf = this.make(engineBuf, p.shape, { vals: new Float64Array(p.size), version: 0 }, false, true, null, `${o.name}.buf(${p.name})`);
          buf.kept = true;
          buf.hidden = true;
          o.bufs.set(p, buf);
        }
      }
      const first = buf !== null && !o.started.has(p);
      const w = p.vals, g = p.grad.vals;
      for (let i = 0; i < w.length; i++) {
        const pv = w[i];
        let d = o.maximize ? -g[i] : g[i];
        if (wd !== 0) d = f32(d + f32(wd * pv));
        if (buf) {
          const b = first ? d : f32(f32(buf.vals[i] * mom) + f32(damp1 * d));
          buf.vals[i] = b;
          d = o.nesterov ? f32(d + f32(mom * b)) : b;
        }
        w[i] = f32(pv + f32(negLr * d));
      }
      p.st.version++;
      if (buf) { o.started.add(p); buf.st.version++; }
    }
  }

  zeroGrad(c: Extract<Cmd, { k: 'zeroGrad' }>): void {
    if (!this.opts.length) return;
    const o = this.opts[c.o % this.opts.length];
    this.log(`${o.name}.zeroGrad();`);
    o.o.zeroGrad();
    for (const p of o.params) if (p.grad) { this.disposeCall(p.grad); p.grad = null; }
  }

  async init(c: Extract<Cmd, { k: 'init' }>): Promise<void> {
    stats.inits++;
    const T = this.T;
    const o: Record<string, unknown> =
      c.which === 'none' ? {} : c.which === 'base' ? { threads: T } : c.which === 'simd' ? { threads: T, build: 'simd' }
        : c.which === 'nosimd' ? { threads: T, build: 'no-simd' } : c.which === 'mem' ? { threads: T, maxMemoryMB: 1024 }
          : c.which === 'tiny' ? { threads: T, maxMemoryMB: TINY_MB }
            : c.which === 'bad0' ? { threads: 0 } : c.which === 'bad1' ? { threads: T, replace: 'yes' } : { threads: T, thread: 2 };
    if (c.replace && c.which !== 'none' && c.which !== 'bad1') o.replace = true;
    const line = `init(${JSON.stringify(o)})`;
    if (c.which === 'bad0' || c.which === 'bad2') return this.refuseAsync([RangeError], line, () => init(o));
    if (c.which === 'bad1') return this.refuseAsync([TypeError], line, () => init(o));
    const key = keyOf(o);
    const noOptions = c.which === 'none';
    const live = this.all.filter((m) => !m.disposed).length;
    if (!o.replace) {
      if (engineKey === key || noOptions) { this.log(`await ${line};`); await init(o); return; }
      if (live > 0) return this.refuseAsync([InitError], line, () => init(o));
    }
    this.log(`await ${line};`);
    await init(o);
    engineKey = key;
    this.tight = o.maxMemoryMB === TINY_MB;
    for (const m of this.all) m.dead = true;
  }

  bad(c: Extract<Cmd, { k: 'bad' }>): void {
    const a = this.pick(c.a);
    const D: ErrClass[] = a && a.disposed ? [DisposedError] : [];
    const t = a?.t as Tensor;
    const n = a?.name ?? 'null';
    const cases: Array<[string, ErrClass[], () => unknown] | null> = [
      a && [`add(${n}, 'x')`, [...D, TypeError], () => add(t, 'x' as unknown as number)],
      [`add(1, 2)`, [TypeError], () => add(1, 2)],
      a && [`mul(${n}, null)`, [...D, TypeError], () => mul(t, null as unknown as number)],
      a && [`sum(${n}, 1.5)`, [...D, RangeError], () => sum(t, 1.5)],
      a && [`sum(${n}, [0, 0])`, [...D, RangeError], () => sum(t, [0, 0])],
      a && [`sum(${n}, 0, 'yes')`, [...D, TypeError], () => sum(t, 0, 'yes' as unknown as boolean)],
      a && [`reshape(${n}, 'x')`, [...D, TypeError], () => reshape(t, 'x' as unknown as number[])],
      a && [`reshape(${n}, [-1, -1])`, [...D, RangeError], () => reshape(t, [-1, -1])],
      [`tensor('abc')`, [TypeError], () => tensor('abc' as unknown as number)],
      [`tensor([[1, 2], [3]])`, [ShapeError], () => tensor([[1, 2], [3]])],
      [`tensor([1, 2, 3], [2, 2])`, [ShapeError], () => tensor([1, 2, 3], [2, 2])],
      [`zeros([2, -1])`, [RangeError], () => zeros([2, -1])],
      [`full([2], 'a')`, [TypeError], () => full([2], 'a' as unknown as number)],
      [`tensor([1], undefined, { requiresGrad: 'yes' })`, [TypeError], () => tensor([1], undefined, { requiresGrad: 'yes' as unknown as boolean })],
      a && [`${n}.assign('abc')`, [...D, TypeError], () => t.assign('abc' as unknown as number)],
      [`tidy(5)`, [TypeError], () => tidy(5 as unknown as () => void)],
      a && [`${n}.requiresGrad_('yes')`, [TypeError], () => t.requiresGrad_('yes' as unknown as boolean)],
      a && [`${n}.transpose(0, 5)`, [...D, RangeError], () => t.transpose(0, 5)],
      [`backward(5)`, [TypeError], () => backward(5 as unknown as Tensor)],
      a && [`${n}.backward('x')`, [...D, ...(a.freed || !a.rg ? [AutogradError] : []), TypeError], () => t.backward('x' as unknown as number)],
      [`new optim.SGD('x')`, [TypeError], () => new optim.SGD('x' as unknown as Tensor[])],
      [`zeros([2 ** 29])`, [RangeError], () => zeros([2 ** 29])],
      [`new optim.SGD([])`, [RangeError], () => new optim.SGD([])],
      a && [`new optim.SGD([${n}], { lr: -1 })`, [...D, RangeError], () => new optim.SGD([t], { lr: -1 })],
      a && [`relu('x')`, [TypeError], () => relu('x' as unknown as Tensor)],
    ];
    const usable = cases.filter((x) => x !== null);
    const k = usable[c.what % usable.length]!;
    this.refuse(k[1], k[0], k[2]);
  }

  /**
   * An allocation that fails grows the memory by at most what it needs: its
   * block (the request, 64 bytes of slack, 64-byte alignment), in whole pages.
   */
  static checkGrowth(message: string): void {
    const m = /cannot allocate (\d+) bytes: growing the memory by (\d+) bytes failed/.exec(message);
    if (!m) return;
    const need = Math.ceil((Number(m[1]) + 128) / 65536) * 65536;
    if (Number(m[2]) > need) throw new Error(`an allocation of ${m[1]} bytes tried to grow the memory by ${m[2]} bytes (at most ${need} needed): ${message}`);
  }

  /** On the small engine: allocates until the memory is full, then frees the last `free` blocks. */
  fill(c: Extract<Cmd, { k: 'fill' }>): void {
    if (!this.tight) return;
    const made: MT[] = [];
    for (let n = 1 << 18; n >= 64; n >>= 2) {
      for (;;) {
        let t: Tensor;
        try { t = zeros([n]); } catch (e) {
          if (!(e instanceof RangeError && /cannot allocate/.test(e.message))) throw e;
          Model.checkGrowth(e.message);
          break;
        }
        made.push(this.make(t, [n], { vals: new Float64Array(n), version: 0 }, false, true));
      }
    }
    this.log(`// ${made.map((m) => m.name).join(', ')}: zeros() until the memory is full`);
    for (const m of made.slice(made.length - c.free)) { this.log(`${m.name}.dispose();`); m.t.dispose(); this.disposeCall(m); }
  }

  /** An operand of the wanted shape: a live tensor of that size from the pool (viewed with that shape if needed), or a new one. */
  operandOf(shape: number[], reuse: boolean, p: number, rg: boolean, v: number): MT | null {
    const n = prod(shape);
    if (reuse) {
      const fits = this.live().filter((m) => m.size === n);
      if (fits.length) {
        const m = this.pick(p, fits)!;
        return same(m.shape, shape) ? m : this.viewOf(m, shape, []);
      }
    }
    const vals = smallValues(n, v);
    const opts = rg ? { requiresGrad: true } : undefined;
    const m = this.make(tensor(vals, shape, opts), shape, { vals: Float64Array.from(vals), version: 0 }, rg, true);
    this.log(`const ${m.name} = tensor(${JSON.stringify(vals)}, ${fmt(shape)}${rg ? ', { requiresGrad: true }' : ''});`);
    return m;
  }

  /** conv2d (NCHW or CHW input, OIHW weight, bias, stride, padding, dilation, groups) or corr2d. */
  conv(c: Extract<Cmd, { k: 'conv' }>): void {
    const corr = c.fn === 'corr2d';
    const batched = !corr && c.batched;
    const G = corr ? 1 : c.G, Cg = corr ? 1 : c.Cg, Og = corr ? 1 : c.Og, N = batched ? c.N : 1;
    const C = G * Cg, O = G * Og;
    const SH = corr ? 1 : c.SH, SW = corr ? 1 : c.SW, DH = corr ? 1 : c.DH, DW = corr ? 1 : c.DW;
    const KH = c.KH, KW = c.KW, H = c.H, W = c.W;
    const xs = corr ? [H, W] : batched ? [N, C, H, W] : [C, H, W];
    const ws = corr ? [KH, KW] : [O, Cg, KH, KW];
    const x = this.operandOf(xs, c.reuseX, c.x, c.xrg, c.v);
    const w = x && this.operandOf(ws, c.reuseW, c.w, c.wrg, c.v + 1);
    const b = w && !corr && c.bias ? this.operandOf([O], c.reuseW, c.b, c.brg, c.v + 2) : null;
    if (!x || !w || (!corr && c.bias && !b)) return;
    const effH = DH * (KH - 1) + 1, effW = DW * (KW - 1) + 1;
    const same = !corr && c.same;
    const PH = corr ? 0 : same ? Math.floor((effH - 1) / 2) : c.PH, PW = corr ? 0 : same ? Math.floor((effW - 1) / 2) : c.PW;
    const opts = corr ? null : { stride: [SH, SW] as [number, number], padding: same ? 'same' as const : [PH, PW] as [number, number], dilation: [DH, DW] as [number, number], groups: G, bias: b?.t ?? null };
    const optText = corr ? '' : `, { stride: [${SH}, ${SW}], padding: ${same ? "'same'" : `[${PH}, ${PW}]`}, dilation: [${DH}, ${DW}], groups: ${G}, bias: ${b ? b.name : 'null'} }`;
    const line = corr ? `corr2d(${x.name}, ${w.name})` : `conv2d(${x.name}, ${w.name}${optText})`;
    const call = () => (corr ? corr2d(x.t, w.t) : conv2d(x.t, w.t, opts!));
    const errs: ErrClass[] = [];
    if (x.disposed || w.disposed || (b && b.disposed)) errs.push(DisposedError);
    if (same && (SH !== 1 || SW !== 1)) errs.push(RangeError);
    if (!same && (H + 2 * PH < effH || W + 2 * PW < effW)) errs.push(ShapeError);
    if (errs.length) return this.refuse(errs, line, call);
    const OH = same ? H : Math.floor((H + 2 * PH - effH) / SH) + 1, OW = same ? W : Math.floor((W + 2 * PW - effW) / SW) + 1;
    const ys = corr ? [OH, OW] : batched ? [N, O, OH, OW] : [O, OH, OW];
    // Every (output, input, weight) triple, zero padding included (its products take part, as in PyTorch).
    const each = (f: (yi: number, xi: number, wi: number, o: number) => void) => {
      for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
        const g = Math.floor(o / Og);
        for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
          const yi = ((n * O + o) * OH + oh) * OW + ow;
          for (let ci = 0; ci < Cg; ci++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
            const ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
            const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            f(yi, inside ? ((n * C + g * Cg + ci) * H + ih) * W + iw : -1, ((o * Cg + ci) * KH + kh) * KW + kw, o);
          }
        }
      }
    };
    const yn = prod(ys);
    const accs = Array.from({ length: yn }, () => new Acc());
    each((yi, xi, wi) => accs[yi].add(f32((xi < 0 ? 0 : x.vals[xi]) * w.vals[wi]), 0));
    if (b) for (let yi = 0; yi < yn; yi++) accs[yi].add(b.vals[Math.floor(yi / (OH * OW)) % O], 0);
    const expected = fromAccs(accs);
    const t = call();
    const r = this.result(t, ys, { vals: new Float64Array(yn), version: 0 }, b ? [x, w, b] : [x, w], c.fn, [x, w], (gy) => {
      const dx = x.rg ? Array.from({ length: x.size }, () => new Acc()) : null;
      const dw = w.rg ? Array.from({ length: w.size }, () => new Acc()) : null;
      const db = b && b.rg ? Array.from({ length: O }, () => new Acc()) : null;
      each((yi, xi, wi) => {
        if (dx && xi >= 0) { const [v, e] = mulVE(gy.v[yi], gy.e[yi], w.vals[wi]); dx[xi].add(v, e); }
        if (dw) { const [v, e] = mulVE(gy.v[yi], gy.e[yi], xi < 0 ? 0 : x.vals[xi]); dw[wi].add(v, e); }
      });
      if (db) for (let yi = 0; yi < yn; yi++) db[Math.floor(yi / (OH * OW)) % O].add(gy.v[yi], gy.e[yi]);
      const out: Array<G | null> = [dx && fromAccs(dx), dw && fromAccs(dw)];
      if (b) out.push(db && fromAccs(db));
      return out;
    });
    this.adopt(r, expected, line);
    this.log(`const ${r.name} = ${line};`);
  }

  /** Disposes everything the run made (optimizer buffers included); memory() must then be empty. */
  cleanup(): void {
    for (const m of this.all) if (!m.disposed) { m.t.dispose(); this.disposeCall(m); }
  }
}

// ---------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------

async function run(T: number, cmds: Cmd[]): Promise<void> {
  stats.runs++;
  const base = keyOf(baseOpts(T));
  if (engineKey !== base || memory().tensors !== 0 || memory().bytes !== 0) {
    await init({ ...baseOpts(T), replace: true });
    engineKey = base;
  }
  const m = new Model(T);
  try {
    m.log(`await init({ threads: ${T}, replace: true });`);
    m.check();
    for (const c of cmds) await m.exec(c);
    m.log('// dispose everything');
    m.cleanup();
    m.check();
    expect(memory(), 'memory() after disposing everything').toMatchObject({ tensors: 0, bytes: 0 });
  } catch (e) {
    try { m.cleanup(); } catch { /* the next run re-initialises */ }
    const err = new Error(`${(e as Error).message}\n--- the engine calls (${process.env.WASMCONV_DETACH_VIEWS === '1' ? 'WASMCONV_DETACH_VIEWS=1' : 'normal mode'}) ---\n${m.trace.join('\n')}`);
    err.stack = `${err.message}\n${(e as Error).stack?.split('\n').slice(1).join('\n') ?? ''}`;
    throw err;
  }
}

for (const T of [1, 2]) {
  describe(`model-based: random command sequences against a model of the engine (${T} thread${T > 1 ? 's' : ''})`, () => {
    beforeAll(async () => {
      await init({ ...baseOpts(T), replace: true });
      engineKey = keyOf(baseOpts(T));
    });

    it('values, gradients, errors, disposal and memory() follow the model', async () => {
      for (const k of Object.keys(stats) as Array<keyof typeof stats>) stats[k] = 0;
      kinds.clear();
      const t0 = performance.now();
      await fc.assert(fc.asyncProperty(programArb, (cmds) => run(T, cmds)), params());
      const ms = Math.round(performance.now() - t0);
      if (seconds > 0 || process.env.MODEL_STATS === '1') {
        console.log(`model (${T} thread${T > 1 ? 's' : ''}, ${process.env.WASMCONV_DETACH_VIEWS === '1' ? 'detached views' : 'normal'}): ${ms} ms, ${JSON.stringify(stats)}`);
      }
      if (process.env.MODEL_STATS === '1') console.log([...kinds].map(([k, v]) => `${k}: ${v.ok} ok, ${v.refused} refused`).join('\n'));
      if (T > 1 && stats.bigOps > 0) expect(stats.pooled, 'some ops were split over the pool').toBeGreaterThan(0);
    }, timeout);
  });
}

// squeeze, unsqueeze, slice, narrow, select, indexSelect, cat, stack, var and
// std through the generic harness (test/harness.ts): forward and backward on
// every build and thread count against the float64 reference backend, SIMD
// against scalar, 2 threads against 1, and central-difference gradients on the
// small cases; row lengths around the vector width and the bulk-copy length,
// repeated and reversed indices, and cases big enough to split over two threads.
// Then the view semantics (shared storage and version) and the registry check.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, tensor, zeros, tidy, memory, mul, sum, squeeze, unsqueeze, slice, narrow, select, indexSelect, cat, stack,
  std, var as variance, AutogradError, type Tensor,
} from '../src/index';
import { currentBackend } from '../src/engine';
import { WasmBackend } from '../src/backend/wasm/index';
import { opSuite, type OpCase } from './harness';

const cases: OpCase[] = [];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const loose = { rtol: 1e-5, atol: 1e-5 };

// ---- squeeze, unsqueeze (views) ----------------------------------------------
for (const [shape, dim] of [
  [[1, 3, 1, 2], undefined], [[1, 3, 1, 2], 0], [[1, 3, 1, 2], 1], [[1, 3, 1, 2], -2], [[1, 3, 1, 2], [0, 2]],
  [[1, 3, 1, 2], []], [[], undefined], [[], 0], [[1], -1],
] as Array<[number[], number | number[] | undefined]>) {
  cases.push({ name: `squeeze x=[${shape}] dim=${JSON.stringify(dim)}`, inputs: [{ shape }], op: (x) => squeeze(x, dim) });
}
for (const d of [-3, -2, -1, 0, 1, 2]) cases.push({ name: `unsqueeze x=[3,4] dim=${d}`, inputs: [{ shape: [3, 4] }], op: (x) => unsqueeze(x, d) });
cases.push({ name: 'unsqueeze x=[] dim=0', inputs: [{ shape: [] }], op: (x) => unsqueeze(x, 0) });
cases.push({ name: 'squeeze of unsqueeze, then mul', inputs: [{ shape: [2, 5] }], op: (x) => mul(squeeze(unsqueeze(x, 1), 1), 3) });

// ---- slice (dim 0, a view) -----------------------------------------------------
for (const [start, end] of [[1, 4], [-2, undefined], [0, -1], [3, 1], [-10, 10], [undefined, 2], [5, 5], [null, null]] as Array<[number | null | undefined, number | null | undefined]>) {
  cases.push({ name: `slice x=[5,3] ${start}:${end}`, inputs: [{ shape: [5, 3] }], op: (x) => slice(x, start, end) });
}
cases.push({ name: 'slice x=[7] 2:6', inputs: [{ shape: [7] }], op: (x) => slice(x, 2, 6) });
cases.push({ name: 'slice of a slice', inputs: [{ shape: [9, 2] }], op: (x) => mul(slice(slice(x, 2), 1, -1), 2) });
cases.push({ name: 'slice x=[30000,5] 1000:29000 (2 threads)', inputs: [{ shape: [30000, 5] }], op: (x) => slice(x, 1000, 29000) });

// ---- narrow and select: every dim, views and copies ------------------------------
for (const [shape, dim, start, len] of [
  [[3, 4, 5], 0, 1, 2], [[3, 4, 5], 1, 1, 2], [[3, 4, 5], 2, -3, 3], [[3, 4, 5], -1, 0, 5], [[3, 4, 5], 1, 4, 0],
  [[1, 6, 5], 1, 2, 3], [[1, 1, 9], 2, 3, 4],
  // run lengths (len * B) around the vector width and the bulk-copy length (32)
  ...[1, 3, 4, 5, 8, 9, 31, 32, 33].map((n) => [[4, 40, n], 1, 3, 1] as [number[], number, number, number]),
  ...[1, 3, 4, 5, 8, 31, 32, 33].map((n) => [[5, n + 2], 1, 1, n] as [number[], number, number, number]),
  [[3, 50000], 1, 100, 49000], [[60, 30, 100], 1, 5, 20],
] as Array<[number[], number, number, number]>) {
  cases.push({ name: `narrow x=[${shape}] dim=${dim} start=${start} len=${len}`, inputs: [{ shape }], op: (x) => narrow(x, dim, start, len) });
}
for (const [shape, dim, index] of [
  [[3, 4, 5], 0, 2], [[3, 4, 5], 0, -3], [[3, 4, 5], 1, -1], [[3, 4, 5], 2, 0], [[6], 0, 5], [[1, 4, 3], 1, 2], [[2, 70000], 1, 7],
] as Array<[number[], number, number]>) {
  cases.push({ name: `select x=[${shape}] dim=${dim} index=${index}`, inputs: [{ shape }], op: (x) => select(x, dim, index) });
}

// ---- indexSelect -----------------------------------------------------------------------
const reversed = (n: number) => Array.from({ length: n }, (_, i) => n - 1 - i);
const scattered = (n: number, r: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 7919 + seed * 104729 + ((i * i) % 13)) % r);
for (const d of [0, 1, 2, -1]) {
  const shape = [3, 4, 5];
  const R = shape[(d + 3) % 3];
  cases.push({ name: `indexSelect x=[3,4,5] dim=${d} repeated`, inputs: [{ shape }], op: (x) => indexSelect(x, d, [R - 1, 0, R - 1, 1, 1, 0]) });
  cases.push({ name: `indexSelect x=[3,4,5] dim=${d} reversed`, inputs: [{ shape }], op: (x) => indexSelect(x, d, reversed(R)) });
}
// row lengths B around the vector width, the 8-wide add, the bulk-copy length, and CHUNK
for (const B of [1, 3, 4, 5, 7, 8, 9, 16, 31, 32, 33, 16383, 16384, 16385]) {
  cases.push({
    name: `indexSelect x=[4,${B}] dim=0 rows of ${B}`, inputs: [{ shape: [4, B] }], op: (x) => indexSelect(x, 0, [3, 1, 3, 3, 0]),
    gradcheck: B <= 33 ? undefined : false,
  });
}
cases.push({ name: 'indexSelect index as an Int32Array', inputs: [{ shape: [5, 2] }], op: (x) => indexSelect(x, 0, new Int32Array([4, 4, 0])) });
cases.push({ name: 'indexSelect index as a float tensor', inputs: [{ shape: [5, 2] }], op: (x) => indexSelect(x, 1, tensor([1, 0, 1])) });
cases.push({ name: 'indexSelect index as a 0-d tensor', inputs: [{ shape: [5, 2] }], op: (x) => indexSelect(x, 0, tensor(3)) });
cases.push({ name: 'indexSelect x=[] index [0]', inputs: [{ shape: [] }], op: (x) => indexSelect(x, 0, [0]) });
cases.push({ name: 'indexSelect empty index', inputs: [{ shape: [4, 3] }], op: (x) => indexSelect(x, 0, []) });
cases.push({ name: 'indexSelect every row never: zero gradient rows', inputs: [{ shape: [6, 3] }], op: (x) => indexSelect(x, 0, [5, 5]) });
cases.push({
  name: 'indexSelect x=[2000,100] dim=0 1500 rows (2 threads)', inputs: [{ shape: [2000, 100] }], op: (x) => indexSelect(x, 0, scattered(1500, 2000, 1)),
  definition: ([x], dy) => {
    const idx = scattered(1500, 2000, 1);
    const y = new Float64Array(1500 * 100), dx = new Float64Array(2000 * 100);
    idx.forEach((r, i) => { for (let b = 0; b < 100; b++) { y[i * 100 + b] = x[r * 100 + b]; dx[r * 100 + b] += dy[i * 100 + b]; } });
    return { y, grads: [dx] };
  },
});
cases.push({ name: 'indexSelect x=[300,600] dim=1 500 columns (2 threads)', inputs: [{ shape: [300, 600] }], op: (x) => indexSelect(x, 1, scattered(500, 600, 2)) });
cases.push({ name: 'indexSelect x=[20,50,150] dim=1 60 rows (2 threads)', inputs: [{ shape: [20, 50, 150] }], op: (x) => indexSelect(x, 1, scattered(60, 50, 3)) });
cases.push({ name: 'indexSelect x=[2,3,20000] dim=1 reversed (2 threads)', inputs: [{ shape: [2, 3, 20000] }], op: (x) => indexSelect(x, 1, [2, 1, 0, 0]) });
cases.push({ name: 'indexSelect x=[70000] dim=0 every element twice (2 threads)', inputs: [{ shape: [70000] }], op: (x) => indexSelect(x, 0, [...reversed(70000), ...reversed(70000)]) });

// ---- cat and stack ----------------------------------------------------------------------
const catOf = (dim: number) => (...xs: Tensor[]) => cat(xs, dim);
for (const [shapes, dim] of [
  [[[2, 3, 4], [1, 3, 4], [3, 3, 4]], 0], [[[2, 3, 4], [2, 1, 4], [2, 2, 4]], 1], [[[2, 3, 4], [2, 3, 1], [2, 3, 5]], 2],
  [[[2, 3, 4], [2, 3, 2]], -1], [[[5], [0], [3]], 0], [[[0], [2, 3], [0], [1, 3]], 0], [[[2, 3], [0], [2, 2]], 1],
  [[[3, 0], [3, 2]], 1], [[[0], [0]], 0], [[[4, 2]], 1],
  // run lengths around the vector width and the bulk-copy length
  ...[1, 3, 4, 5, 8, 9, 31, 32, 33].map((n) => [[[3, n], [3, 1], [3, n + 1]], 1] as [number[][], number]),
  [[[45000, 3], [5000, 3]], 0], [[[3, 50000], [3, 10000]], 1], [[[20, 4000, 2], [20, 1000, 2]], 1],
] as Array<[number[][], number]>) {
  cases.push({ name: `cat ${shapes.map((s) => `[${s}]`).join(' ')} dim=${dim}`, inputs: shapes.map((shape) => ({ shape })), op: catOf(dim) });
}
cases.push({ name: 'cat with an input that needs no gradient', inputs: [{ shape: [2, 3] }, { shape: [2, 2], grad: false }, { shape: [2, 1] }], op: catOf(1) });
cases.push({ name: 'cat of one tensor twice', inputs: [{ shape: [2, 3] }], op: (x) => cat([x, mul(x, 2), x], 0) });
const stackOf = (dim: number) => (...xs: Tensor[]) => stack(xs, dim);
for (const [shape, n, dim] of [
  [[2, 3], 3, 0], [[2, 3], 3, 1], [[2, 3], 2, 2], [[2, 3], 2, -1], [[2, 3], 2, -3], [[], 4, 0], [[5], 1, 0], [[0, 2], 2, 1],
  ...[1, 4, 5, 8, 9, 32, 33].map((m) => [[2, m], 3, 1] as [number[], number, number]),
  [[300, 200], 3, 1], [[130000], 2, 0],
] as Array<[number[], number, number]>) {
  cases.push({ name: `stack ${n} x [${shape}] dim=${dim}`, inputs: Array.from({ length: n }, () => ({ shape })), op: stackOf(dim) });
}

// ---- var and std -------------------------------------------------------------------------
type VarCase = [number[], number | number[] | null | undefined, Record<string, unknown> | undefined];
for (const [shape, dim, opts] of [
  [[7], undefined, undefined], [[2, 3, 4], undefined, undefined], [[3, 17], 1, undefined], [[3, 17], -1, { keepdim: true }],
  [[9, 7], 0, { correction: 0 }], [[2, 5, 3], 1, { correction: 2 }], [[2, 3, 4], [0, 2], { keepdim: true }],
  [[2, 3, 4], [1, 2], { unbiased: false }], [[2, 3, 4], [], { correction: 0.5 }], [[1, 4, 1, 3], [0, 1], undefined],
  [[4, 6], 1, { correction: -1 }], [[], undefined, { correction: 0 }], [[3, 1], 1, { correction: 0 }],
  [[70000], undefined, undefined], [[3, 50001], 1, undefined], [[33000, 5], 0, { correction: 0 }], [[3, 300], 0, { keepdim: true }],
] as VarCase[]) {
  const big = size(shape) > 300;
  const name = `x=[${shape}] dim=${JSON.stringify(dim)} ${JSON.stringify(opts ?? {})}`;
  cases.push({ name: `var ${name}`, inputs: [{ shape }], op: (x) => variance(x, dim, opts), tol: big ? loose : undefined });
  cases.push({ name: `std ${name}`, inputs: [{ shape }], op: (x) => std(x, dim, opts), tol: big ? loose : undefined });
}
// Values far from 0 (the two-pass algorithm keeps the deviations exact enough), and constant rows.
cases.push({ name: 'var of values near 1000', inputs: [{ shape: [4, 50], values: (i, r) => 1000 + r.uniform() }], op: (x) => variance(x, 1), tol: { rtol: 1e-4, atol: 1e-5 } });
cases.push({ name: 'std with constant rows (gradient 0)', inputs: [{ shape: [3, 5], values: (i) => Math.floor(i / 5) }], op: (x) => std(x, 1), gradcheck: false });
// N - correction <= 0: NaN or infinity, as PyTorch.
cases.push({ name: 'var of one element (NaN)', inputs: [{ shape: [3, 1] }], op: (x) => variance(x, 1), gradcheck: false });
cases.push({ name: 'var with correction N (infinity)', inputs: [{ shape: [2, 4] }], op: (x) => variance(x, 1, { correction: 4 }), gradcheck: false });
cases.push({ name: 'std with correction above N', inputs: [{ shape: [2, 4] }], op: (x) => std(x, 1, { correction: 5 }), gradcheck: false });
cases.push({ name: 'var over an empty dimension (NaN)', inputs: [{ shape: [0, 3] }], op: (x) => variance(x, 0) });

const names = new Set(cases.map((c) => c.name));
if (names.size !== cases.length) throw new Error('ops_shape: two harness cases share a name');
opSuite('shape ops', cases, ['row_copy', 'index_select', 'sq_dev', 'reduce', 'unary', 'binary']);

// ---- views: the same storage and version --------------------------------------------------
describe('views share the storage and the version of their input', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('squeeze, unsqueeze, slice, narrow and select on dim 0 write through to the input', () => {
    tidy(() => {
      const x = tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]);
      const before = memory().bytes;
      const views = [unsqueeze(x, 0), squeeze(unsqueeze(x, 2)), slice(x, 1, 3), narrow(x, 0, 2, 2), select(x, 0, 3), narrow(unsqueeze(x, 0), 1, 1, 1)];
      expect(memory().bytes, 'no copy').toBe(before);
      for (const v of views) expect(v.storage).toBe(x.storage);
      slice(x, 1, 3).assign([[-3, -4, -5], [-6, -7, -8]]);
      select(x, 0, -1).assign([90, 100, 110]);
      expect(x.toArray()).toEqual([[0, 1, 2], [-3, -4, -5], [-6, -7, -8], [90, 100, 110]]);
      expect(views[3].toArray()).toEqual([[-6, -7, -8], [90, 100, 110]]);
      expect(views.every((v) => v.version === x.version)).toBe(true);
    });
  });

  it('narrow and select on a later dimension copy (the result must be contiguous)', () => {
    tidy(() => {
      const x = tensor([[0, 1, 2], [3, 4, 5]]);
      const n = narrow(x, 1, 1, 2), s = select(x, 1, 0);
      expect(n.storage).not.toBe(x.storage);
      expect(s.storage).not.toBe(x.storage);
      expect(n.toArray()).toEqual([[1, 2], [4, 5]]);
      expect(s.toArray()).toEqual([0, 3]);
    });
  });

  it('a write through a view is caught by autograd when the input was saved', () => {
    tidy(() => {
      const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
      const y = mul(x, x);             // saves x
      slice(x, 0, 1).assign([[5, 6]]);  // writes through a view of x
      expect(() => sum(y).backward()).toThrow(AutogradError);
    });
  });

  it('a slice of a leaf passes its gradient into the right rows', () => {
    tidy(() => {
      const x = zeros([4, 2], { requiresGrad: true });
      sum(mul(slice(x, 1, 3), tensor([[1, 2], [3, 4]]))).backward();
      expect(x.grad!.toArray()).toEqual([[0, 0], [1, 2], [3, 4], [0, 0]]);
    });
  });

  it('cat and stack outputs own new storage', () => {
    tidy(() => {
      const a = tensor([1, 2]), b = tensor([3]);
      const c = cat([a, b]);
      a.assign([7, 8]);
      expect(c.toArray()).toEqual([1, 2, 3]);
      expect(stack([a, a]).toArray()).toEqual([[7, 8], [7, 8]]);
    });
  });
});

describe('large calls split over two threads', () => {
  beforeAll(async () => { await init({ build: 'simd', threads: 2, replace: true }); });

  it('indexSelect forward and backward, cat, stack, narrow, a slice gradient and var run on the pool', () => {
    const be = currentBackend() as WasmBackend;
    expect(be).toBeInstanceOf(WasmBackend);
    expect(be.threads).toBe(2);
    const pooled = (f: () => void) => { const n = be.pooledCalls; tidy(f); return be.pooledCalls - n; };
    tidy(() => {
      const x = zeros([2000, 100], { requiresGrad: true }), u = zeros([3, 50000]), w = zeros([3, 90000]);
      const idx = scattered(1500, 2000, 1);
      expect(pooled(() => { indexSelect(x, 0, idx); }), 'indexSelect forward').toBe(1);
      expect(pooled(() => { sum(indexSelect(x, 0, idx)).backward(); }), 'indexSelect forward and backward').toBeGreaterThanOrEqual(2);
      expect(pooled(() => { cat([u, u], 1); }), 'cat').toBe(2);
      expect(pooled(() => { stack([u, u], 0); }), 'stack').toBe(2);
      expect(pooled(() => { narrow(u, 1, 10, 45000); }), 'narrow copy').toBe(1);
      expect(pooled(() => { sum(slice(x, 100, 1900)).backward(); }), 'slice gradient').toBeGreaterThanOrEqual(1);
      expect(pooled(() => { variance(w, 1); }), 'var (mean, squared deviations)').toBeGreaterThanOrEqual(2);
    });
    const calls = be.calls;
    for (const k of ['row_copy', 'index_select', 'sq_dev']) expect(calls.get(k) ?? 0, k).toBeGreaterThan(0);
  });
});

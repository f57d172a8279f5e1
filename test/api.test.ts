// The public API contract: init and backendInfo, tensor creation, the Tensor
// methods, tidy/keep/memory, the chapter's corr2d, and conv2d with
// torch.nn.functional.conv2d's semantics on small cases whose expected values
// are derived by hand in the comments (not recomputed by a loop like the
// implementation's).
import { describe, expect, it } from 'vitest';
import {
  init, backendInfo, tensor, zeros, ones, full, rand, randn, manualSeed, tidy, keep, memory,
  corr2d, conv2d, nn, fit, type Tensor, DisposedError, type InitOptions,
} from '../src/index';
import { Rng } from '../src/random';
import { edgeCases, randomArray } from './helpers';

const BUILDS = ['relaxed-simd', 'simd', 'no-simd', 'debug'];

/** The chapter's 6x8 image: ones with columns 2..5 set to zero. */
const IMAGE = Array.from({ length: 6 }, () => [1, 1, 0, 0, 0, 0, 1, 1]);
/** The chapter's edge map Y = corr2d(X, [[1, -1]]). */
const EDGES = Array.from({ length: 6 }, () => [0, 1, 0, 0, 0, -1, 0]);
const EDGES_STRING =
  'tensor([[ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n' +
  '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n' +
  '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n' +
  '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n' +
  '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n' +
  '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.]])';
const transpose = (rows: number[][]): number[][] => rows[0].map((_, j) => rows.map((r) => r[j]));

/** x as a [1, 1, h, w] tensor from rows. */
const img = (rows: number[][]): Tensor => tensor([[rows]]);
/** 0, 1, ..., 15 as [1, 1, 4, 4]. */
const arange16 = (): Tensor => tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
/** 1, 2, ..., 9 as [1, 1, 3, 3]. */
const x123 = (): Tensor => tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);

/** The chapter's results on whatever backend is active; frees what it makes. */
function checkChapter(): void {
  tidy(() => {
    const X = tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
    const K = tensor([[0, 1], [2, 3]]);
    const Y = corr2d(X, K);
    expect(Y.toArray()).toEqual([[19, 25], [37, 43]]);
    expect(String(Y)).toBe('tensor([[19., 25.],\n        [37., 43.]])');
    const E = corr2d(tensor(IMAGE), tensor([[1, -1]]));
    expect(E.toArray()).toEqual(EDGES);
    expect(String(E)).toBe(EDGES_STRING);
    const Z = corr2d(tensor(transpose(IMAGE)), tensor([[1, -1]]));
    expect(Z.shape).toEqual([8, 5]);
    expect(Z.toArray()).toEqual(Array.from({ length: 8 }, () => [0, 0, 0, 0, 0]));
    // An even kernel with padding 'same' (see the conv2d section for the derivation).
    const S = conv2d(x123(), tensor([[[[1, 2], [3, 4]]]]), { padding: 'same' });
    expect(S.toArray()).toEqual([[[[37, 47, 21], [67, 77, 33], [23, 26, 9]]]]);
  });
}

// ---------------------------------------------------------------------------

describe('init and backendInfo', () => {
  it('init() returns a Promise<void>; concurrent calls share one initialisation', async () => {
    const ps = [init(), init(), init()];
    for (const p of ps) expect(p).toBeInstanceOf(Promise);
    expect(await Promise.all(ps)).toEqual([undefined, undefined, undefined]);
    expect(memory()).toMatchObject({ tensors: 0, bytes: 0 });
  });

  it('is idempotent: calling it again keeps the backend and its tensors', async () => {
    const t = tensor([1, 2, 3]);
    const before = backendInfo();
    expect(await init()).toBeUndefined();
    await Promise.all([init(), init()]);
    expect(backendInfo()).toEqual(before);
    expect(t.isDisposed).toBe(false);
    expect(t.toArray()).toEqual([1, 2, 3]);
    t.dispose();
  });

  it('backendInfo() reports the wasm backend, its build, threads and shared memory', () => {
    const info = backendInfo();
    expect(info.backend).toBe('wasm');
    expect(BUILDS).toContain(info.build);
    expect(Number.isInteger(info.threads) && info.threads >= 1).toBe(true);
    expect(typeof info.sharedMemory).toBe('boolean');
    expect(info.sharedMemory).toBe(info.threads > 1);
    // A copy: mutating it does not change the engine's state.
    (info as { threads: number }).threads = 999;
    expect(backendInfo().threads).not.toBe(999);
  });

  it("gives the chapter's results on the default backend", () => {
    checkChapter();
  });
});

// ---------------------------------------------------------------------------

describe('creating tensors', () => {
  it('from nested arrays, inferring the shape', () => {
    const t = tensor([[0, 1, 2], [3, 4, 5]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.size).toBe(6);
    expect(t.ndim).toBe(2);
    expect(t.toArray()).toEqual([[0, 1, 2], [3, 4, 5]]);
    const t3 = tensor([[[1], [2]], [[3], [4]]]);
    expect(t3.shape).toEqual([2, 2, 1]);
    expect(t3.toArray()).toEqual([[[1], [2]], [[3], [4]]]);
    t.dispose(); t3.dispose();
  });

  it('from a number: a 0-d tensor', () => {
    const t = tensor(3.5);
    expect(t.shape).toEqual([]);
    expect(t.size).toBe(1);
    expect(t.ndim).toBe(0);
    expect(t.toArray()).toBe(3.5);
    expect(t.item()).toBe(3.5);
    expect(String(t)).toBe('tensor(3.5000)');
    expect(String(tensor(3))).toBe('tensor(3.)');
    t.dispose();
  });

  it('from number[] with a shape, and a flat number[] without one', () => {
    const t = tensor([0, 1, 2, 3, 4, 5], [2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.toArray()).toEqual([[0, 1, 2], [3, 4, 5]]);
    const flat = tensor([1, 2, 3]);
    expect(flat.shape).toEqual([3]);
    t.dispose(); flat.dispose();
  });

  it('from a Float32Array, with or without a shape, copying the data', () => {
    const src = new Float32Array([1, 2, 3, 4, 5, 6]);
    const a = tensor(src);
    const b = tensor(src, [3, 2]);
    expect(a.shape).toEqual([6]);
    expect(b.shape).toEqual([3, 2]);
    expect(b.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    src[0] = 100;
    expect(a.toArray()).toEqual([1, 2, 3, 4, 5, 6]);
    a.dispose(); b.dispose();
  });

  it('stores float32: 0.1 reads back as Math.fround(0.1)', () => {
    const t = tensor([0.1]);
    expect(t.toArray()).toEqual([Math.fround(0.1)]);
    t.dispose();
  });

  it('opts.requiresGrad marks a leaf that receives .grad', () => {
    const w = tensor([2, 3], undefined, { requiresGrad: true });
    const c = tensor([2, 3]);
    expect(w.requiresGrad).toBe(true);
    expect(c.requiresGrad).toBe(false);
    const y = w.mul(w).sum();  // d/dw sum(w^2) = 2w
    y.backward();
    expect(w.grad!.toArray()).toEqual([4, 6]);
    y.dispose(); w.dispose(); c.dispose();
  });

  it('zeros, ones and full', () => {
    const z = zeros([2, 3]), o = ones([6, 8]), f = full([2, 2], 7), z0 = zeros([]);
    expect(z.toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(o.shape).toEqual([6, 8]);
    expect(Array.from(o.data()).every((v) => v === 1)).toBe(true);
    expect(f.toArray()).toEqual([[7, 7], [7, 7]]);
    expect(z0.shape).toEqual([]);
    expect(z0.item()).toBe(0);
    const g = ones([2], { requiresGrad: true });
    expect(g.requiresGrad).toBe(true);
    for (const t of [z, o, f, z0, g]) t.dispose();
  });

  it('rand: uniform in [0, 1), reproducible with a seed, different for different seeds', () => {
    const a = rand([1000], { seed: 1 }), b = rand([1000], { seed: 1 }), c = rand([1000], { seed: 2 });
    const av = a.data();
    expect(a.shape).toEqual([1000]);
    expect(Array.from(av).every((v) => v >= 0 && v < 1)).toBe(true);
    expect(Array.from(b.data())).toEqual(Array.from(av));
    expect(Array.from(c.data())).not.toEqual(Array.from(av));
    // Roughly uniform: mean near 1/2, values spread over the interval.
    const mean = av.reduce((s, v) => s + v, 0) / av.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
    expect(Math.min(...av)).toBeLessThan(0.05);
    expect(Math.max(...av)).toBeGreaterThan(0.95);
    const g = rand([2, 2], { seed: 3, requiresGrad: true });
    expect(g.shape).toEqual([2, 2]);
    expect(g.requiresGrad).toBe(true);
    for (const t of [a, b, c, g]) t.dispose();
  });

  it('randn: mean about 0 and std about 1 on 10000 samples, reproducible with a seed', () => {
    const a = randn([100, 100], { seed: 7 });
    const v = a.data();
    const n = v.length;
    const mean = v.reduce((s, x) => s + x, 0) / n;
    const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(std - 1)).toBeLessThan(0.05);
    expect(Array.from(v).some((x) => x < 0)).toBe(true);
    const b = randn([100, 100], { seed: 7 }), c = randn([100, 100], { seed: 8 });
    expect(Array.from(b.data())).toEqual(Array.from(v));
    expect(Array.from(c.data())).not.toEqual(Array.from(v));
    for (const t of [a, b, c]) t.dispose();
  });

  it('manualSeed makes rand, randn and layer initialisation reproducible', () => {
    manualSeed(42);
    const a = rand([8]), b = randn([8]);
    const l1 = new nn.Conv2D(1, 2, 3);
    manualSeed(42);
    const c = rand([8]), d = randn([8]);
    const l2 = new nn.Conv2D(1, 2, 3);
    expect(Array.from(c.data())).toEqual(Array.from(a.data()));
    expect(Array.from(d.data())).toEqual(Array.from(b.data()));
    expect(Array.from(l2.weight.data())).toEqual(Array.from(l1.weight.data()));
    // The generator advances: a second draw differs from the first.
    const e = rand([8]);
    expect(Array.from(e.data())).not.toEqual(Array.from(a.data()));
    for (const t of [a, b, c, d, e]) t.dispose();
    l1.dispose(); l2.dispose();
  });
});

// ---------------------------------------------------------------------------

describe('Tensor methods', () => {
  it('shape is the tensor\'s own copy (read-only in the types); size and ndim follow it', () => {
    const dims = [2, 3, 4];
    const t = zeros(dims);
    dims[0] = 7;
    expect(t.shape).toEqual([2, 3, 4]);
    expect(t.size).toBe(24);
    expect(t.ndim).toBe(3);
    t.dispose();
  });

  it('data() returns a Float32Array copy: writing to it does not change the tensor', () => {
    const t = tensor([[1, 2], [3, 4]]);
    const d = t.data();
    expect(d).toBeInstanceOf(Float32Array);
    expect(Array.from(d)).toEqual([1, 2, 3, 4]);
    d[0] = 99;
    expect(t.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(t.data()).not.toBe(d);
    t.dispose();
  });

  it('toArray() returns fresh nested arrays', () => {
    const t = tensor([[1, 2], [3, 4]]);
    const a = t.toArray() as number[][];
    a[0][0] = 99;
    expect(t.toArray()).toEqual([[1, 2], [3, 4]]);
    t.dispose();
  });

  it('item() reads a one-element tensor of any rank', () => {
    const a = tensor([[[5]]]), b = tensor(-2);
    expect(a.item()).toBe(5);
    expect(b.item()).toBe(-2);
    a.dispose(); b.dispose();
  });

  it('reshape(shape) with and without -1 returns a new tensor with the same data', () => {
    const t = tensor([0, 1, 2, 3, 4, 5]);
    const a = t.reshape([2, 3]), b = t.reshape([-1, 2]), c = t.reshape([1, -1, 3]), d = a.reshape([-1]);
    expect(a.toArray()).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(b.shape).toEqual([3, 2]);
    expect(b.toArray()).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(c.shape).toEqual([1, 2, 3]);
    expect(d.shape).toEqual([6]);
    expect(t.shape).toEqual([6]);
    const s = tensor([7]).reshape([]);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(7);
    for (const x of [t, a, b, c, d, s]) x.dispose();
  });

  it('assign(values) copies in place from nested arrays, flat arrays, Float32Array and tensors', () => {
    const t = zeros([2, 2]);
    const id = t.id;
    expect(t.assign([[1, 2], [3, 4]])).toBe(t);
    expect(t.toArray()).toEqual([[1, 2], [3, 4]]);
    t.assign([5, 6, 7, 8]);
    expect(t.toArray()).toEqual([[5, 6], [7, 8]]);
    const src = new Float32Array([9, 10, 11, 12]);
    t.assign(src);
    src[0] = 0;
    expect(t.toArray()).toEqual([[9, 10], [11, 12]]);
    const other = tensor([-1, -2, -3, -4]);
    t.assign(other);
    expect(t.toArray()).toEqual([[-1, -2], [-3, -4]]);
    other.assign([0, 0, 0, 0]);
    expect(t.toArray()).toEqual([[-1, -2], [-3, -4]]);
    expect(t.id).toBe(id);
    expect(t.shape).toEqual([2, 2]);
    t.dispose(); other.dispose();
  });

  it("toString() prints like PyTorch: the chapter's tensors", () => {
    tidy(() => {
      const X = tensor(IMAGE);
      expect(String(X)).toBe(
        'tensor([[1., 1., 0., 0., 0., 0., 1., 1.],\n' +
        '        [1., 1., 0., 0., 0., 0., 1., 1.],\n' +
        '        [1., 1., 0., 0., 0., 0., 1., 1.],\n' +
        '        [1., 1., 0., 0., 0., 0., 1., 1.],\n' +
        '        [1., 1., 0., 0., 0., 0., 1., 1.],\n' +
        '        [1., 1., 0., 0., 0., 0., 1., 1.]])',
      );
      expect(String(corr2d(X, tensor([[1, -1]])))).toBe(EDGES_STRING);
      expect(String(corr2d(tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), tensor([[0, 1], [2, 3]]))))
        .toBe('tensor([[19., 25.],\n        [37., 43.]])');
      expect(tensor([[1, 2], [3, 4]]).toString()).toBe('tensor([[1., 2.],\n        [3., 4.]])');
      expect(String(tensor([0.5, 0.25, -1]))).toBe('tensor([ 0.5000,  0.2500, -1.0000])');
      expect(String(tensor([[[1, 2]], [[3, 4]]]))).toBe('tensor([[[1., 2.]],\n\n        [[3., 4.]]])');
      expect(String(zeros([0]))).toBe('tensor([])');
    });
  });

  it('toString() of a leaf that requires grad ends with requires_grad=True', () => {
    const w = tensor([1, 2], undefined, { requiresGrad: true });
    expect(String(w)).toBe('tensor([1., 2.], requires_grad=True)');
    w.dispose();
  });

  it('toString() of an op result with history shows grad_fn, as PyTorch does', () => {
    // PyTorch: (torch.tensor([1., 2.], requires_grad=True) * 2) prints
    // tensor([2., 4.], grad_fn=<MulBackward0>); only leaves print requires_grad=True.
    const w = tensor([1, 2], undefined, { requiresGrad: true });
    const y = w.mul(2);
    expect(String(y)).toBe('tensor([2., 4.], grad_fn=<MulBackward0>)');
    y.dispose(); w.dispose();
  });

  it('dispose() frees the data once; isDisposed; double dispose is harmless', () => {
    const before = memory();
    const t = zeros([3, 5]);
    expect(memory().tensors).toBe(before.tensors + 1);
    expect(memory().bytes).toBe(before.bytes + 60);
    expect(t.isDisposed).toBe(false);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    t.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    expect(() => t.data()).toThrow(DisposedError);
    expect(String(t)).toContain('disposed');
  });

  it('disposing a tensor also frees its gradient', () => {
    const before = memory();
    const w = tensor([1, 2], undefined, { requiresGrad: true });
    const y = w.sum();
    y.backward();
    y.dispose();
    expect(w.grad).not.toBeNull();
    w.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });
});

// ---------------------------------------------------------------------------

describe('tidy, keep and memory', () => {
  it('memory() reports live tensors, 4 bytes per element, and the wasm memory size', () => {
    const before = memory();
    const ts = [zeros([2, 3]), ones([7]), full([], 1), zeros([0]), tensor([[1, 2, 3, 4]])];
    const m = memory();
    expect(m.tensors).toBe(before.tensors + 5);
    expect(m.bytes).toBe(before.bytes + 4 * (6 + 7 + 1 + 0 + 4));
    expect(m.wasmBytes).toBeGreaterThan(0);
    expect(m.wasmBytes % 65536).toBe(0);
    expect(m.wasmBytes).toBeGreaterThanOrEqual(m.bytes);
    for (const t of ts) t.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it('frees everything made inside except the returned tensor', () => {
    const before = memory();
    const y = tidy(() => {
      const a = ones([4, 4]);
      const b = a.mul(2).add(1);
      return b.sub(a);
    });
    expect(y.toArray()).toEqual(Array.from({ length: 4 }, () => [2, 2, 2, 2]));
    expect(memory()).toMatchObject({ tensors: before.tensors + 1, bytes: before.bytes + 64 });
    y.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it('keeps tensors returned in an array or a plain object', () => {
    const before = memory();
    let inner: Tensor | null = null;
    const [a, b] = tidy(() => {
      inner = zeros([5]);
      return [ones([2]), full([3], 2)];
    });
    expect(inner!.isDisposed).toBe(true);
    expect(a.toArray()).toEqual([1, 1]);
    expect(b.toArray()).toEqual([2, 2, 2]);
    const o = tidy(() => {
      zeros([9]);
      return { x: ones([1]), nested: { y: zeros([2]) }, list: [full([1], 3)], n: 5 };
    });
    expect(o.n).toBe(5);
    expect(o.x.isDisposed).toBe(false);
    expect(o.nested.y.isDisposed).toBe(false);
    expect(o.list[0].item()).toBe(3);
    expect(memory().tensors).toBe(before.tensors + 5);
    for (const t of [a, b, o.x, o.nested.y, o.list[0]]) t.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it('returns non-tensor results unchanged and frees everything', () => {
    const before = memory();
    const v = tidy(() => corr2d(tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), tensor([[0, 1], [2, 3]])).toArray());
    expect(v).toEqual([[19, 25], [37, 43]]);
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it('does not free tensors made outside, even when it returns them', () => {
    const outside = ones([2]);
    const r = tidy(() => { outside.add(1); return outside; });
    expect(r).toBe(outside);
    expect(outside.isDisposed).toBe(false);
    tidy(() => outside.mul(3));
    expect(outside.isDisposed).toBe(false);
    outside.dispose();
  });

  it('nests: an inner result belongs to the outer scope', () => {
    const before = memory();
    let innerResult: Tensor | null = null, innerTemp: Tensor | null = null;
    const out = tidy(() => {
      innerResult = tidy(() => {
        innerTemp = zeros([3]);
        return ones([3]);
      });
      expect(innerTemp!.isDisposed).toBe(true);
      expect(innerResult.isDisposed).toBe(false);
      return innerResult.add(1);
    });
    expect(innerResult!.isDisposed).toBe(true);  // freed by the outer scope
    expect(out.toArray()).toEqual([2, 2, 2]);
    out.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it('keep() exempts a tensor from every enclosing scope', () => {
    const before = memory();
    let kept: Tensor | null = null;
    tidy(() => {
      tidy(() => {
        kept = keep(full([2], 5));
        zeros([2]);
      });
      expect(kept!.isDisposed).toBe(false);
    });
    expect(kept!.isDisposed).toBe(false);
    expect(kept!.toArray()).toEqual([5, 5]);
    expect(memory().tensors).toBe(before.tensors + 1);
    kept!.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it('a throwing fn frees its tensors (and inner scopes) and rethrows the same error', () => {
    const before = memory();
    const err = new Error('boom');
    const made: Tensor[] = [];
    expect(() => tidy(() => {
      made.push(ones([10]));
      tidy(() => { made.push(zeros([4])); throw err; });
    })).toThrow(err);
    expect(made.every((t) => t.isDisposed)).toBe(true);
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    // Scopes are balanced after the throw: a later tidy behaves normally.
    const y = tidy(() => { zeros([1]); return ones([1]); });
    expect(memory().tensors).toBe(before.tensors + 1);
    y.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });
});

describe('ops made of other ops leave only their result alive', () => {
  // Without gradients nothing needs the intermediates: disposing the result
  // must bring memory() back, outside tidy too.
  it('nn.mseLoss, every reduction', () => {
    const a = tensor([1, 2, 3]), b = tensor([0, 0, 0]);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const before = memory();
      const l = nn.mseLoss(a, b, { reduction });
      expect(l.toArray()).toEqual(reduction === 'none' ? [1, 4, 9] : reduction === 'sum' ? 14 : Math.fround(14 / 3));
      expect(memory().tensors, `${reduction}: live tensors while the result is alive`).toBe(before.tensors + 1);
      l.dispose();
      expect(memory(), reduction).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    }
    a.dispose(); b.dispose();
  });

  it("the chapter's Conv2D([kh, kw]).forward", () => {
    const layer = new nn.Conv2D([1, 2]);
    const X = ones([3, 3]);
    const before = memory();
    const y = layer.forward(X);
    expect(y.shape).toEqual([3, 2]);
    y.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    X.dispose(); layer.dispose();
  });

  it("the PyTorch-form Conv2D.forward", () => {
    const layer = new nn.Conv2D(1, 2, 2);
    const X = ones([1, 1, 3, 3]);
    const before = memory();
    const y = layer.forward(X);
    expect(y.shape).toEqual([1, 2, 2, 2]);
    y.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    X.dispose(); layer.dispose();
  });
});

describe('conv2d writes only its output', () => {
  // Forward and backward on shapes at the kernels' tile edges: the inputs, the
  // output gradient and tensors allocated around them keep their bits.
  for (const c of edgeCases(48, 7)) {
    const name = `x=[${c.x}] w=[${c.w}] ${JSON.stringify(c.opts)}${c.bias ? ' bias' : ''}`;
    it(name, () => {
      tidy(() => {
        const rng = new Rng(1);
        const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
        const guard1 = full([37], 12345);
        const xv = randomArray(n(c.x), rng), wv = randomArray(n(c.w), rng), bv = randomArray(c.w[0], rng);
        const x = tensor(xv, c.x, { requiresGrad: true });
        const w = tensor(wv, c.w, { requiresGrad: true });
        const b = c.bias ? tensor(bv, [c.w[0]], { requiresGrad: true }) : null;
        const guard2 = full([37], -54321);
        const y = conv2d(x, w, { ...c.opts, bias: b });
        const dyv = randomArray(y.size, rng);
        const dy = tensor(dyv, y.shape);
        const guard3 = full([37], 777);
        y.backward(dy);
        expect(Array.from(x.data())).toEqual(Array.from(xv));
        expect(Array.from(w.data())).toEqual(Array.from(wv));
        if (b) expect(Array.from(b.data())).toEqual(Array.from(bv));
        expect(Array.from(dy.data())).toEqual(Array.from(dyv));
        for (const [g, v] of [[guard1, 12345], [guard2, -54321], [guard3, 777]] as const) {
          expect(Array.from(g.data()).every((e) => e === v)).toBe(true);
        }
        expect(x.grad!.shape).toEqual(x.shape);
        expect(w.grad!.shape).toEqual(w.shape);
      });
    });
  }
});

// ---------------------------------------------------------------------------

describe("corr2d: the chapter's cross-correlation", () => {
  it('X = [[0,1,2],[3,4,5],[6,7,8]], K = [[0,1],[2,3]] gives [[19,25],[37,43]]', () => {
    tidy(() => {
      // 0*0+1*1+3*2+4*3 = 19, 1*0+2*1+4*2+5*3 = 25, 3*0+4*1+6*2+7*3 = 37, 4*0+5*1+7*2+8*3 = 43
      const Y = corr2d(tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), tensor([[0, 1], [2, 3]]));
      expect(Y.shape).toEqual([2, 2]);
      expect(Y.toArray()).toEqual([[19, 25], [37, 43]]);
    });
  });

  it("edge detection: the 6x8 image with K = [[1, -1]] gives the chapter's Y", () => {
    tidy(() => {
      const X = ones([6, 8]);
      X.assign(IMAGE);
      const Y = corr2d(X, tensor([[1, -1]]));
      expect(Y.shape).toEqual([6, 7]);
      expect(Y.toArray()).toEqual(EDGES);
      expect(String(Y)).toBe(EDGES_STRING);
    });
  });

  it('the transposed image gives all zeros of shape [8, 5]', () => {
    tidy(() => {
      const Z = corr2d(tensor(transpose(IMAGE)), tensor([[1, -1]]));
      expect(Z.shape).toEqual([8, 5]);
      expect(Array.from(Z.data()).every((v) => v === 0)).toBe(true);
    });
  });

  it('output shape is (nh - kh + 1) x (nw - kw + 1)', () => {
    tidy(() => {
      for (const [nh, nw, kh, kw] of [[5, 7, 2, 3], [4, 4, 4, 4], [3, 9, 1, 1], [1, 6, 1, 6], [8, 2, 3, 2]]) {
        const Y = corr2d(ones([nh, nw]), ones([kh, kw]));
        expect(Y.shape).toEqual([nh - kh + 1, nw - kw + 1]);
        expect(Array.from(Y.data()).every((v) => v === kh * kw)).toBe(true);
      }
    });
  });

  it('does not flip the kernel (cross-correlation, not convolution)', () => {
    tidy(() => {
      // K = [[1, 0], [0, 0]] picks the top-left of each window.
      expect(corr2d(tensor([[1, 2, 3], [4, 5, 6]]), tensor([[1, 0], [0, 0]])).toArray()).toEqual([[1, 2]]);
      // K = [[0, 0], [0, 1]] picks the bottom-right.
      expect(corr2d(tensor([[1, 2, 3], [4, 5, 6]]), tensor([[0, 0], [0, 1]])).toArray()).toEqual([[5, 6]]);
    });
  });

  it('leaves its inputs unchanged', () => {
    tidy(() => {
      const X = tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), K = tensor([[0, 1], [2, 3]]);
      corr2d(X, K);
      expect(X.toArray()).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
      expect(K.toArray()).toEqual([[0, 1], [2, 3]]);
    });
  });
});

// ---------------------------------------------------------------------------

describe('conv2d: torch.nn.functional.conv2d semantics on hand-computed cases', () => {
  const run = (x: () => Tensor, w: () => Tensor, opts: Parameters<typeof conv2d>[2] = {}) =>
    tidy(() => conv2d(x(), w(), opts).toArray());

  it('valid (default), 4-D input: x = 1..9 (3x3), w = [[1,2],[3,4]]', () => {
    // out[i][j] = x[i][j] + 2 x[i][j+1] + 3 x[i+1][j] + 4 x[i+1][j+1]
    // (0,0) 1+4+12+20 = 37, (0,1) 2+6+15+24 = 47, (1,0) 4+10+21+32 = 67, (1,1) 5+12+24+36 = 77
    const w = () => tensor([[[[1, 2], [3, 4]]]]);
    expect(run(x123, w)).toEqual([[[[37, 47], [67, 77]]]]);
    expect(run(x123, w, { padding: 'valid' })).toEqual([[[[37, 47], [67, 77]]]]);
    expect(run(x123, w, { padding: 0 })).toEqual([[[[37, 47], [67, 77]]]]);
    expect(run(x123, w, { padding: [0, 0] })).toEqual([[[[37, 47], [67, 77]]]]);
  });

  it('3-D unbatched input gives a 3-D output', () => {
    const y = tidy(() => {
      const r = conv2d(tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3]), tensor([[[[1, 2], [3, 4]]]]));
      return { shape: [...r.shape], v: r.toArray() };
    });
    expect(y.shape).toEqual([1, 2, 2]);
    expect(y.v).toEqual([[[37, 47], [67, 77]]]);
  });

  it("padding 'same' with an odd kernel keeps the size and does not flip", () => {
    // K with a single 1 at (1, 2): out[i][j] = x[i][j+1] (zero past the right edge).
    const shiftLeft = () => tensor([[[[0, 0, 0], [0, 0, 1], [0, 0, 0]]]]);
    expect(run(x123, shiftLeft, { padding: 'same' })).toEqual([[[[2, 3, 0], [5, 6, 0], [8, 9, 0]]]]);
    // K with a single 1 at (0, 0): out[i][j] = x[i-1][j-1].
    const shiftDown = () => tensor([[[[1, 0, 0], [0, 0, 0], [0, 0, 0]]]]);
    expect(run(x123, shiftDown, { padding: 'same' })).toEqual([[[[0, 0, 0], [0, 1, 2], [0, 4, 5]]]]);
    // Ones: each output is the sum of the 3x3 neighbourhood.
    expect(run(x123, () => ones([1, 1, 3, 3]), { padding: 'same' }))
      .toEqual([[[[12, 21, 16], [27, 45, 33], [24, 39, 28]]]]);
  });

  it("padding 'same' with an even 2x2 kernel pads the extra row/column at the bottom/right", () => {
    // Total padding 1 per dimension: 0 top/left, 1 bottom/right, as PyTorch.
    // Padded x:  1 2 3 0 / 4 5 6 0 / 7 8 9 0 / 0 0 0 0, out[i][j] as in the valid case:
    // (0,2) 3+0+18+0 = 21, (1,2) 6+0+27+0 = 33, (2,0) 7+16 = 23, (2,1) 8+18 = 26, (2,2) 9.
    expect(run(x123, () => tensor([[[[1, 2], [3, 4]]]]), { padding: 'same' }))
      .toEqual([[[[37, 47, 21], [67, 77, 33], [23, 26, 9]]]]);
  });

  it("padding 'same' with an even 1x4 kernel: 1 on the left, 2 on the right", () => {
    // Row 1..5 padded to 0 1 2 3 4 5 0 0; out[j] = p[j] + 10 p[j+1] + 100 p[j+2] + 1000 p[j+3].
    const y = run(() => tensor([[[[1, 2, 3, 4, 5]]]]), () => tensor([[[[1, 10, 100, 1000]]]]), { padding: 'same' });
    expect(y).toEqual([[[[3210, 4321, 5432, 543, 54]]]]);
  });

  it("padding 'same' with a dilated even kernel (total padding 2: 1 on each side)", () => {
    // out[i][j] = x[i-1][j-1] + 2 x[i-1][j+1] + 3 x[i+1][j-1] + 4 x[i+1][j+1]
    const y = run(x123, () => tensor([[[[1, 2], [3, 4]]]]), { padding: 'same', dilation: 2 });
    expect(y).toEqual([[[[20, 36, 15], [36, 64, 26], [10, 16, 5]]]]);
  });

  it('padding as a number and as [ph, pw]', () => {
    // x = [[1,2],[3,4]] padded with a ring of zeros, 2x2 ones kernel: sums of 2x2 windows.
    const x = () => img([[1, 2], [3, 4]]);
    const k = () => ones([1, 1, 2, 2]);
    expect(run(x, k, { padding: 1 })).toEqual([[[[1, 3, 2], [4, 10, 6], [3, 7, 4]]]]);
    expect(run(x, k, { padding: [1, 1] })).toEqual([[[[1, 3, 2], [4, 10, 6], [3, 7, 4]]]]);
    expect(run(x, k, { padding: [0, 1] })).toEqual([[[[4, 10, 6]]]]);
    expect(run(x, k, { padding: [1, 0] })).toEqual([[[[3], [10], [7]]]]);
  });

  it('stride as a number and as [sh, sw]', () => {
    // x = 0..15 (4x4), 2x2 ones kernel: window sums.
    const k = () => ones([1, 1, 2, 2]);
    // stride 2: blocks 0+1+4+5 = 10, 2+3+6+7 = 18, 8+9+12+13 = 42, 10+11+14+15 = 50
    expect(run(arange16, k, { stride: 2 })).toEqual([[[[10, 18], [42, 50]]]]);
    expect(run(arange16, k, { stride: [2, 2] })).toEqual([[[[10, 18], [42, 50]]]]);
    // stride [1, 2]: rows 0..2, columns 0 and 2: 4+5+8+9 = 26, 6+7+10+11 = 34
    expect(run(arange16, k, { stride: [1, 2] })).toEqual([[[[10, 18], [26, 34], [42, 50]]]]);
    // stride 3 does not divide: floor((4 - 2) / 3) + 1 = 1 output per dimension
    expect(run(arange16, k, { stride: 3 })).toEqual([[[[10]]]]);
  });

  it('stride with padding: 3x3 ones, stride 2, padding 1 on 0..15', () => {
    // (0,0) rows 0..1 cols 0..1: 0+1+4+5 = 10; (0,1) rows 0..1 cols 1..3: 1+2+3+5+6+7 = 24
    // (1,0) rows 1..3 cols 0..1: 4+5+8+9+12+13 = 51; (1,1) rows 1..3 cols 1..3: 90
    expect(run(arange16, () => ones([1, 1, 3, 3]), { stride: 2, padding: 1 })).toEqual([[[[10, 24], [51, 90]]]]);
  });

  it('dilation as a number and as [dh, dw]', () => {
    const k = () => ones([1, 1, 2, 2]);
    // dilation 2: out[i][j] = x[i][j] + x[i][j+2] + x[i+2][j] + x[i+2][j+2]
    // (0,0) 0+2+8+10 = 20, (0,1) 1+3+9+11 = 24, (1,0) 4+6+12+14 = 36, (1,1) 5+7+13+15 = 40
    expect(run(arange16, k, { dilation: 2 })).toEqual([[[[20, 24], [36, 40]]]]);
    // dilation [2, 1]: out[i][j] = x[i][j] + x[i][j+1] + x[i+2][j] + x[i+2][j+1], 2x3
    expect(run(arange16, k, { dilation: [2, 1] })).toEqual([[[[18, 22, 26], [34, 38, 42]]]]);
  });

  it('several input channels are summed; bias is added per output channel', () => {
    // x channel 0 = [[1,2],[3,4]], channel 1 = [[5,6],[7,8]]
    const x = () => tensor([[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]]);
    // 1x1 kernel [2, 3]: 2 c0 + 3 c1 = [[17,22],[27,32]]
    expect(run(x, () => tensor([2, 3], [1, 2, 1, 1]))).toEqual([[[[17, 22], [27, 32]]]]);
    const y = tidy(() => conv2d(x(), tensor([2, 3], [1, 2, 1, 1]), { bias: tensor([0.5]) }).toArray());
    expect(y).toEqual([[[[17.5, 22.5], [27.5, 32.5]]]]);
    // identity 1x1 weights [[1,0],[0,1]] with bias [10, -10]
    const z = tidy(() => conv2d(x(), tensor([1, 0, 0, 1], [2, 2, 1, 1]), { bias: tensor([10, -10]) }).toArray());
    expect(z).toEqual([[[[11, 12], [13, 14]], [[-5, -4], [-3, -2]]]]);
    // bias: null is no bias
    expect(tidy(() => conv2d(x(), tensor([2, 3], [1, 2, 1, 1]), { bias: null }).toArray())).toEqual([[[[17, 22], [27, 32]]]]);
  });

  it('groups: each group of output channels sees only its input channels', () => {
    const x = () => tensor([[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]]);
    // groups 2, weight [2, 1, 1, 1] = [2, 3]: channel 0 = 2 c0, channel 1 = 3 c1
    expect(run(x, () => tensor([2, 3], [2, 1, 1, 1]), { groups: 2 }))
      .toEqual([[[[2, 4], [6, 8]], [[15, 18], [21, 24]]]]);
    // groups 2, four outputs [1, 10, 100, 1000]: outputs 0, 1 from c0, outputs 2, 3 from c1
    const y = tidy(() => conv2d(x(), tensor([1, 10, 100, 1000], [4, 1, 1, 1]), { groups: 2, bias: tensor([0, 0, 0, 1]) }).toArray());
    expect(y).toEqual([[[[1, 2], [3, 4]], [[10, 20], [30, 40]], [[500, 600], [700, 800]], [[5001, 6001], [7001, 8001]]]]);
  });

  it('batches are independent', () => {
    // batch 0 = [[1,2],[3,4]], batch 1 = [[5,6],[7,8]], kernel [[1, 2]]: x[i][0] + 2 x[i][1]
    const y = run(() => tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 2, 2]), () => tensor([[[[1, 2]]]]));
    expect(y).toEqual([[[[5], [11]]], [[[17], [23]]]]);
  });

  it("two channels, 3x3 weight, padding 'same': two elements checked by hand", () => {
    // x = 1..32 as [1, 2, 4, 4]; weight = (1..18) / 10 as [1, 2, 3, 3].
    const r = tidy(() => {
      const x = tensor(Array.from({ length: 32 }, (_, i) => i + 1), [1, 2, 4, 4]);
      const w = tensor(Array.from({ length: 18 }, (_, i) => (i + 1) / 10), [1, 2, 3, 3]);
      const y = conv2d(x, w, { padding: 'same' });
      return { shape: [...y.shape], v: y.data() };
    });
    expect(r.shape).toEqual([1, 1, 4, 4]);
    // (1,1): channel 0 window [[1,2,3],[5,6,7],[9,10,11]] . [[.1,.2,.3],[.4,.5,.6],[.7,.8,.9]] = 34.8
    //        channel 1 window [[17,18,19],[21,22,23],[25,26,27]] . [[1,1.1,1.2],[1.3,1.4,1.5],[1.6,1.7,1.8]] = 285
    expect(r.v[5]).toBeCloseTo(319.8, 3);
    // (0,0): channel 0: 1*.5 + 2*.6 + 5*.8 + 6*.9 = 11.1; channel 1: 17*1.4 + 18*1.5 + 21*1.7 + 22*1.8 = 126.1
    expect(r.v[0]).toBeCloseTo(137.2, 3);
  });

  it('output shapes follow floor((H + 2p - d(k-1) - 1) / s) + 1', () => {
    tidy(() => {
      const shape = (x: number[], w: number[], o: Parameters<typeof conv2d>[2]) => [...conv2d(ones(x), ones(w), o).shape];
      expect(shape([2, 4, 9, 9], [6, 2, 3, 3], { stride: 2, padding: 1, groups: 2 })).toEqual([2, 6, 5, 5]);
      expect(shape([1, 1, 6, 8], [1, 1, 1, 2], {})).toEqual([1, 1, 6, 7]);
      expect(shape([1, 1, 6, 8], [1, 1, 1, 2], { padding: 'same' })).toEqual([1, 1, 6, 8]);
      expect(shape([1, 3, 10, 7], [4, 3, 3, 2], { stride: [3, 2], padding: [2, 1], dilation: [2, 3] })).toEqual([1, 4, 4, 3]);
      expect(shape([3, 5, 5], [2, 3, 5, 5], {})).toEqual([2, 1, 1]);
    });
  });

  it('leaves its inputs unchanged', () => {
    tidy(() => {
      const x = x123(), w = tensor([[[[1, 2], [3, 4]]]]), b = tensor([1]);
      conv2d(x, w, { bias: b, padding: 'same' });
      expect(Array.from(x.data())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(Array.from(w.data())).toEqual([1, 2, 3, 4]);
      expect(Array.from(b.data())).toEqual([1]);
    });
  });
});

// ---------------------------------------------------------------------------
// Re-initialising replaces the backend: runs last, since it disposes tensors.

describe('init with options replaces the backend', () => {
  const variants: Array<{ opts: InitOptions; info: Record<string, unknown> }> = [
    { opts: { build: 'no-simd', threads: 1 }, info: { backend: 'wasm', build: 'no-simd', threads: 1, sharedMemory: false } },
    { opts: { build: 'debug', threads: 1 }, info: { backend: 'wasm', build: 'debug', threads: 1, sharedMemory: false } },
    { opts: { backend: 'reference' }, info: { backend: 'reference', threads: 1, sharedMemory: false } },
  ];

  for (const { opts, info } of variants) {
    it(`init(${JSON.stringify(opts)}) works, gives the chapter's results and disposes earlier tensors`, async () => {
      const old = tensor([1, 2, 3]);
      const oldGrad = tensor([1], undefined, { requiresGrad: true });
      await init({ ...opts, replace: true });
      expect(backendInfo()).toMatchObject(info);
      expect(old.isDisposed).toBe(true);
      expect(oldGrad.isDisposed).toBe(true);
      expect(() => old.data()).toThrow(DisposedError);
      expect(() => old.toArray()).toThrow(DisposedError);
      expect(() => corr2d(old.reshape([1, 3]), tensor([[1]]))).toThrow(DisposedError);
      expect(() => old.add(1)).toThrow(DisposedError);
      expect(memory()).toMatchObject({ tensors: 0, bytes: 0 });
      old.dispose();  // harmless on a tensor of a replaced backend
      expect(memory()).toMatchObject({ tensors: 0, bytes: 0 });
      // Same options again: nothing is replaced.
      const t = tensor([4]);
      await init(opts);
      expect(t.isDisposed).toBe(false);
      t.dispose();
      checkChapter();
      expect(memory()).toMatchObject({ tensors: 0, bytes: 0 });
    });
  }

  it("learns the chapter's kernel [1, -1] on the reference backend", () => {
    tidy(() => {
      const X = tensor(IMAGE).reshape([1, 1, 6, 8]);
      const Y = tensor(EDGES).reshape([1, 1, 6, 7]);
      const conv = new nn.Conv2D(1, 1, [1, 2], { bias: false, seed: 3 });
      const { loss } = fit(conv, X, Y, { epochs: 30, lr: 3e-2, loss: 'sse' });
      expect(loss[loss.length - 1]).toBeLessThan(loss[0]);
      const [a, b] = Array.from(conv.weight.data());
      expect(Math.abs(a - 1)).toBeLessThan(0.05);
      expect(Math.abs(b + 1)).toBeLessThan(0.05);
      conv.dispose();
    });
  });

  it('init({ backend: "wasm" }) switches back to WebAssembly', async () => {
    const old = tensor([1]);
    await init({ backend: 'wasm', threads: 1, replace: true });
    expect(backendInfo()).toMatchObject({ backend: 'wasm', threads: 1, sharedMemory: false });
    expect(BUILDS).toContain(backendInfo().build);
    expect(old.isDisposed).toBe(true);
    checkChapter();
  });
});

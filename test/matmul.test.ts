// matmul and linear beyond the harness: the documented examples, the Tensor
// method, and every bad call (error class, the values the message names, inputs
// and memory() unchanged afterwards, no WebAssembly trap reaching the caller).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, linear, matmul, memory, ones, sum, tensor, tidy, zeros, mul, AutogradError, DisposedError, ShapeError, type Tensor,
} from '../src/index';

/* eslint-disable @typescript-eslint/no-explicit-any */
const A = (v: unknown): any => v;

describe('matmul and linear', () => {
  beforeAll(async () => { await init({ build: 'simd', threads: 2, replace: true }); });

  it('computes the documented examples', () => {
    tidy(() => {
      expect(matmul(tensor([1, 2, 3]), tensor([4, 5, 6])).item()).toBe(32);
      expect(matmul(tensor([1, 2, 3]), tensor([4, 5, 6])).shape).toEqual([]);
      expect(matmul(tensor([[1, 2], [3, 4]]), tensor([[5, 6], [7, 8]])).toArray()).toEqual([[19, 22], [43, 50]]);
      expect(matmul(tensor([[1, 2], [3, 4]]), tensor([1, 1])).toArray()).toEqual([3, 7]);
      expect(matmul(tensor([1, 1]), tensor([[1, 2], [3, 4]])).toArray()).toEqual([4, 6]);
      expect(matmul(ones([2, 1, 3, 4]), ones([5, 4, 6])).shape).toEqual([2, 5, 3, 6]);
      const x = tensor([[1, 2, 3], [4, 5, 6]]), w = tensor([[1, 0, 0], [0, 1, 1]]);
      expect(linear(x, w).toArray()).toEqual([[1, 5], [4, 11]]);
      expect(linear(x, w, tensor([10, 20])).toArray()).toEqual([[11, 25], [14, 31]]);
      expect(linear(ones([4, 7, 3]), ones([5, 3])).shape).toEqual([4, 7, 5]);
      return [];
    });
  });

  it('is a Tensor method, with gradients for both operands', () => {
    tidy(() => {
      const a = tensor([[1, 2, 3], [4, 5, 6]], undefined, { requiresGrad: true });
      const b = tensor([[1, 2], [3, 4], [5, 6]], undefined, { requiresGrad: true });
      const y = a.matmul(b);
      expect(y.toArray()).toEqual([[22, 28], [49, 64]]);
      sum(y).backward();
      expect(a.grad!.toArray()).toEqual([[3, 7, 11], [3, 7, 11]]);
      expect(b.grad!.toArray()).toEqual([[5, 5], [7, 7], [9, 9]]);
      return [];
    });
  });

  it('differentiates a product of a tensor with itself', () => {
    tidy(() => {
      const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
      sum(matmul(x, x)).backward();
      // d/dx sum(x @ x) = ones @ x^T + x^T @ ones
      expect(x.grad!.toArray()).toEqual([[7, 11], [9, 13]]);
      return [];
    });
  });

  it('sums the gradient of a broadcast operand over the batches it was broadcast along', () => {
    tidy(() => {
      const a = ones([3, 2], { requiresGrad: true });
      const b = ones([4, 2, 5], { requiresGrad: true });
      sum(matmul(a, b)).backward();
      // Each a[i][k] meets 4 batches x 5 columns of ones.
      expect(a.grad!.toArray()).toEqual([[20, 20], [20, 20], [20, 20]]);
      expect(b.grad!.shape).toEqual([4, 2, 5]);
      expect(Array.from(b.grad!.data())).toEqual(new Array(40).fill(3));
      return [];
    });
  });

  it('gives zeros (plus the bias) for an empty inner dimension, and empty results for empty operands', () => {
    tidy(() => {
      expect(matmul(zeros([2, 0]), zeros([0, 3])).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
      expect(matmul(zeros([0]), zeros([0])).item()).toBe(0);
      expect(linear(zeros([2, 0]), zeros([3, 0]), tensor([1, 2, 3])).toArray()).toEqual([[1, 2, 3], [1, 2, 3]]);
      expect(matmul(zeros([0, 4]), zeros([4, 3])).shape).toEqual([0, 3]);
      // An empty batch: the broadcast operand's gradient sums over no batch at all.
      const a = ones([1, 2, 3], { requiresGrad: true }), b = ones([0, 3, 4], { requiresGrad: true });
      const y = matmul(a, b);
      expect(y.shape).toEqual([0, 2, 4]);
      sum(y).backward();
      expect(a.grad!.toArray()).toEqual([[[0, 0, 0], [0, 0, 0]]]);
      expect(b.grad!.shape).toEqual([0, 3, 4]);
      return [];
    });
  });

  it('refuses a backward after an operand was modified in place', () => {
    tidy(() => {
      const x = tensor([[1, 2]], undefined, { requiresGrad: true });
      const w = tensor([[3, 4]], undefined, { requiresGrad: true });
      const y = linear(mul(x, 1), w);
      w.assign([[5, 6]]);
      expect(() => y.backward()).toThrow(AutogradError);
      return [];
    });
  });

  it("keeps each operand only for the other one's gradient, as PyTorch", () => {
    tidy(() => {
      // The weight is not needed when the input needs no gradient: changing it is allowed.
      const x = tensor([[1, 2]]), w = tensor([[3, 4]], undefined, { requiresGrad: true });
      const y = linear(x, w);
      w.assign([[5, 6]]);
      y.backward(tensor([[1]]));
      expect(w.grad!.toArray()).toEqual([[1, 2]]);
      const a = tensor([[1, 2], [3, 4]]), b = ones([2, 2], { requiresGrad: true });
      const z = matmul(a, b);
      b.assign([[0, 0], [0, 0]]);
      sum(z).backward();
      expect(b.grad!.toArray()).toEqual([[4, 4], [6, 6]]);
      return [];
    });
  });

  // ---- bad calls -----------------------------------------------------------
  type ErrorClass = new (...args: never[]) => Error;
  const rows: Array<[string, ErrorClass, Array<string>, () => { call: () => unknown; inputs: Tensor[] }]> = [
    ['matmul: 0-d first operand', ShapeError, ['matmul', '0-D and 1-D', '[]', '[3]'], () => { const a = tensor(2), b = ones([3]); return { call: () => matmul(a, b), inputs: [a, b] }; }],
    ['matmul: 0-d second operand', ShapeError, ['matmul', '2-D and 0-D', '[2, 3]', '[]'], () => { const a = ones([2, 3]), b = tensor(2); return { call: () => matmul(a, b), inputs: [a, b] }; }],
    ['matmul: inner sizes differ', ShapeError, ['matmul', '[2, 3]', '[4, 5]', '3', '4'], () => { const a = ones([2, 3]), b = ones([4, 5]); return { call: () => matmul(a, b), inputs: [a, b] }; }],
    ['matmul: dot of different lengths', ShapeError, ['matmul', '[3]', '[4]'], () => { const a = ones([3]), b = ones([4]); return { call: () => matmul(a, b), inputs: [a, b] }; }],
    ['matmul: matrix-vector mismatch', ShapeError, ['matmul', '[2, 3]', '[4]'], () => { const a = ones([2, 3]), b = ones([4]); return { call: () => matmul(a, b), inputs: [a, b] }; }],
    ['matmul: batched inner sizes differ', ShapeError, ['matmul', '[2, 2, 3]', '[2, 4, 5]'], () => { const a = ones([2, 2, 3]), b = ones([2, 4, 5]); return { call: () => matmul(a, b), inputs: [a, b] }; }],
    ['matmul: batches not broadcastable', ShapeError, ['matmul', '[2, 2, 3]', '[3, 3, 4]', 'broadcast'], () => { const a = ones([2, 2, 3]), b = ones([3, 3, 4]); return { call: () => matmul(a, b), inputs: [a, b] }; }],
    ['matmul: result too large', RangeError, ['matmul', '[32768, 1, 1, 1]', '[32768, 1, 1]', '2^29'], () => { const a = ones([32768, 1, 1, 1]), b = ones([32768, 1, 1]); return { call: () => matmul(a, b), inputs: [a, b] }; }],
    ['matmul: batch dimensions that do not merge into 8', RangeError, ['matmul', '18 dimensions', 'at most 8'], () => {
      // Broadcast along alternate dimensions: no two neighbours merge.
      const a = ones([...Array.from({ length: 18 }, (_, i) => (i % 2 ? 1 : 2)), 1, 1]);
      const b = ones([...Array.from({ length: 18 }, (_, i) => (i % 2 ? 2 : 1)), 1, 1]);
      return { call: () => matmul(a, b), inputs: [a, b] };
    }],
    ['matmul: a number', TypeError, ['matmul', 'b', '2'], () => { const a = ones([2]); return { call: () => matmul(a, A(2)), inputs: [a] }; }],
    ['matmul: an array', TypeError, ['matmul', 'a'], () => { const b = ones([2]); return { call: () => matmul(A([1, 2]), b), inputs: [b] }; }],
    ['linear: 0-d input', ShapeError, ['linear', '0-D', '[]', '[3, 4]'], () => { const x = tensor(1), w = ones([3, 4]); return { call: () => linear(x, w), inputs: [x, w] }; }],
    ['linear: 0-d weight', ShapeError, ['linear', '0-D', '[3, 4]', '[]'], () => { const x = ones([3, 4]), w = tensor(1); return { call: () => linear(x, w), inputs: [x, w] }; }],
    ['linear: 3-d weight', ShapeError, ['linear', 'weight', '[2, 5, 4]'], () => { const x = ones([3, 4]), w = ones([2, 5, 4]); return { call: () => linear(x, w), inputs: [x, w] }; }],
    ['linear: in_features differ', ShapeError, ['linear', '[3, 4]', '[5, 3]', '4', '3'], () => { const x = ones([3, 4]), w = ones([5, 3]); return { call: () => linear(x, w), inputs: [x, w] }; }],
    ['linear: bias of the wrong length', ShapeError, ['linear', 'bias', '[4]', '[3, 5]'], () => { const x = ones([3, 4]), w = ones([5, 4]), b = ones([4]); return { call: () => linear(x, w, b), inputs: [x, w, b] }; }],
    ['linear: bias that would grow the output', ShapeError, ['linear', 'bias', '[2, 3, 5]', '[3, 5]'], () => { const x = ones([3, 4]), w = ones([5, 4]), b = ones([2, 3, 5]); return { call: () => linear(x, w, b), inputs: [x, w, b] }; }],
    ['linear: bias [1, 5] for a 1-D input', ShapeError, ['linear', 'bias', '[1, 5]', '[5]'], () => { const x = ones([4]), w = ones([5, 4]), b = ones([1, 5]); return { call: () => linear(x, w, b), inputs: [x, w, b] }; }],
    ['linear: bias not a tensor', TypeError, ['linear', 'bias'], () => { const x = ones([3, 4]), w = ones([5, 4]); return { call: () => linear(x, w, A([1, 2, 3, 4, 5])), inputs: [x, w] }; }],
  ];
  for (const [name, cls, contains, make] of rows) {
    it(name, () => {
      const { call, inputs } = make();
      const before = inputs.map((t) => Array.from(t.data()));
      const mem = memory();
      let err: unknown = null;
      try { call(); } catch (e) { err = e; }
      expect(err, `${name}: no error`).toBeInstanceOf(cls);
      expect(err).not.toBeInstanceOf(WebAssembly.RuntimeError);
      for (const s of contains) expect((err as Error).message, name).toContain(s);
      expect(memory(), `${name}: memory`).toEqual(mem);
      inputs.forEach((t, i) => expect(Array.from(t.data()), `${name}: input ${i}`).toEqual(before[i]));
      inputs.forEach((t) => t.dispose());
    });
  }

  it('refuses a disposed operand', () => {
    const a = ones([2, 2]), b = ones([2, 2]);
    b.dispose();
    expect(() => matmul(a, b)).toThrow(DisposedError);
    expect(() => linear(a, b)).toThrow(DisposedError);
    expect(() => a.matmul(b)).toThrow(DisposedError);
    a.dispose();
  });
});

describe('matmul and linear when memory runs out', () => {
  beforeAll(async () => { await init({ build: 'simd', threads: 1, maxMemoryMB: 16, replace: true }); });

  it('frees what they made and name themselves', () => {
    const a = ones([2048, 1]), b = ones([1, 2048]);
    // The product alone (16 MiB) does not fit.
    // (The memory may have grown meanwhile; no tensor or byte may be left behind.)
    const live = () => { const m = memory(); return [m.tensors, m.bytes]; };
    let mem = live();
    expect(() => matmul(a, b)).toThrow(/matmul.*\[2048, 2048\]/);
    expect(live()).toEqual(mem);
    // The product fits, the copy with a [R, 1] bias added does not: the product is freed.
    const x = ones([1500, 1]), w = ones([1500, 1]), bias = ones([1500, 1]);
    const fits = linear(x, w);
    expect(fits.shape).toEqual([1500, 1500]);
    fits.dispose();
    mem = live();
    expect(() => linear(x, w, bias)).toThrow(/linear.*\[1500, 1500\]/);
    expect(live()).toEqual(mem);
    for (const t of [a, b, x, w, bias]) t.dispose();
  });
});

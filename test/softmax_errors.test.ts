// softmax, logSoftmax, where, gather, oneHot, crossEntropy and nllLoss: every
// bad call (the error class, the values the message names; inputs and memory()
// unchanged afterwards, no WebAssembly trap), and the semantics the harness
// does not cover: empty and fully ignored batches, index arguments, Tensor
// methods, and the kernel calls of a LeNet-sized cross-entropy step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  init, tensor, tidy, memory, softmax, logSoftmax, where, gather, oneHot, nn, type Tensor, ShapeError,
} from '../src/index';
import { currentBackend } from '../src/engine';
import { type WasmBackend } from '../src/backend/wasm/index';

type ErrorClass = new (...args: never[]) => Error;
/* eslint-disable @typescript-eslint/no-explicit-any */
const A = (v: unknown): any => v;

interface F {
  x: Tensor; logits: Tensor; t: Tensor; w: Tensor; c: Tensor; wg: Tensor;
  c5: Tensor; cnan: Tensor; t7: Tensor; v4: Tensor; t41: Tensor; s0: Tensor; e20: Tensor;
}
let f: F;

const rows: Array<[string, ErrorClass, Array<string | RegExp>, (f: F) => unknown]> = [
  // softmax / logSoftmax
  ['softmax: dim out of range', RangeError, ['softmax', 'dim', '[-2, 1]', '2'], (f) => softmax(f.x, 2)],
  ['logSoftmax: dim missing', RangeError, ['logSoftmax', 'dim', 'undefined'], (f) => logSoftmax(f.x, A(undefined))],
  ['softmax: dim not an integer', RangeError, ['softmax', '0.5'], (f) => softmax(f.x, 0.5)],
  ['softmax: not a tensor', TypeError, ['softmax', 'x must be a Tensor'], () => softmax(A([1, 2]), 0)],
  // where
  ['where: shapes that do not broadcast', ShapeError, ['where', '[2, 3]', '[4]'], (f) => where(f.c, f.x, f.v4)],
  ['where: condition a number', TypeError, ['where', 'condition'], (f) => where(A(1), f.x, 0)],
  ['where: a a string', TypeError, ['where', 'a must be a Tensor or a number'], (f) => where(f.c, A('1'), 0)],
  // gather
  ['gather: index too large', RangeError, ['gather', 'index 3', '[1, 0]', 'dimension 1', 'size 3'], (f) => gather(f.x, 1, [[0, 1], [3, 0]])],
  ['gather: negative index', RangeError, ['gather', 'index -1', '[0, 1]', 'size 2'], (f) => gather(f.x, 0, new Int32Array([0, -1]), [1, 2])],
  ['gather: non-integer index', TypeError, ['gather', 'whole numbers', '1.5'], (f) => gather(f.x, 1, [[0, 1.5]])],
  ['gather: NaN index in a tensor', TypeError, ['gather', 'whole numbers', 'NaN'], (f) => gather(f.x, 1, f.cnan)],
  ['gather: index in a tensor out of range', RangeError, ['gather', 'index 5', 'size 3'], (f) => gather(f.x, 1, f.c5)],
  ['gather: index of another rank', ShapeError, ['gather', '[2]', '[2, 3]'], (f) => gather(f.x, 1, [0, 1])],
  ['gather: index larger apart from dim', ShapeError, ['gather', '[3, 1]', '[2, 3]', 'dimension 1'], (f) => gather(f.x, 1, [[0], [1], [2]])],
  ['gather: flat index of the wrong size', ShapeError, ['gather', '3', '[2, 2]'], (f) => gather(f.x, 1, new Int32Array([0, 1, 2]), [2, 2])],
  ['gather: shape with a tensor index', TypeError, ['gather', 'shape'], (f) => gather(f.x, 1, f.c, [2, 3])],
  ['gather: dim out of range', RangeError, ['gather', 'dim', '-3'], (f) => gather(f.x, -3, [[0]])],
  ['gather: index a string', TypeError, ['gather', 'index must be'], (f) => gather(f.x, 0, A('0'))],
  // oneHot
  ['oneHot: negative label', RangeError, ['oneHot', 'non-negative', '-1', '[1]'], () => oneHot([0, -1, 2], 3)],
  ['oneHot: label too large', RangeError, ['oneHot', 'label 3', '[2]', '3 classes'], () => oneHot(new Int32Array([0, 1, 3]), 3)],
  ['oneHot: non-integer label', TypeError, ['oneHot', 'whole numbers', '0.5'], () => oneHot([0.5], 3)],
  ['oneHot: numClasses below -1', RangeError, ['oneHot', 'numClasses', '-2'], () => oneHot([0], -2)],
  ['oneHot: numClasses fractional', RangeError, ['oneHot', 'numClasses', '2.5'], () => oneHot([0], 2.5)],
  ['oneHot: infer from nothing', RangeError, ['oneHot', 'infer', 'empty'], () => oneHot([])],
  ['oneHot: too many classes', RangeError, ['oneHot', '2^24'], () => oneHot([0], 2 ** 24 + 1)],
  // crossEntropy
  ['crossEntropy: target out of range', RangeError, ['crossEntropy', 'target 3', '[1]', '3 classes', 'ignoreIndex (-100)'], (f) => nn.crossEntropy(f.logits, [0, 3, 1, 2])],
  ['crossEntropy: negative target', RangeError, ['crossEntropy', 'target -1', '[2]'], (f) => nn.crossEntropy(f.logits, new Int32Array([0, 1, -1, 2]))],
  ['crossEntropy: non-integer target', TypeError, ['crossEntropy', 'target must hold whole numbers', '2.5'], (f) => nn.crossEntropy(f.logits, [0, 1, 2.5, 2])],
  ['crossEntropy: target in a tensor out of range', RangeError, ['crossEntropy', 'target 7'], (f) => nn.crossEntropy(f.logits, f.t7)],
  ['crossEntropy: target batch of another size', ShapeError, ['crossEntropy', '[2]', '[4, 3]', '[4]'], (f) => nn.crossEntropy(f.logits, [0, 1])],
  ['crossEntropy: target of another rank', ShapeError, ['crossEntropy', '[4, 1]', '[4, 3]'], (f) => nn.crossEntropy(f.logits, f.t41)],
  ['crossEntropy: 0-d input', ShapeError, ['crossEntropy', '0-d'], (f) => nn.crossEntropy(f.s0, [0])],
  ['crossEntropy: no classes', ShapeError, ['crossEntropy', '[2, 0]', 'no classes'], (f) => nn.crossEntropy(f.e20, [0, 0])],
  ['crossEntropy: labelSmoothing above 1', RangeError, ['crossEntropy', 'labelSmoothing', '1.5'], (f) => nn.crossEntropy(f.logits, f.t, { labelSmoothing: 1.5 })],
  ['crossEntropy: labelSmoothing negative', RangeError, ['crossEntropy', 'labelSmoothing', '-0.1'], (f) => nn.crossEntropy(f.logits, f.t, { labelSmoothing: -0.1 })],
  ['crossEntropy: labelSmoothing NaN', RangeError, ['crossEntropy', 'labelSmoothing', 'NaN'], (f) => nn.crossEntropy(f.logits, f.t, { labelSmoothing: NaN })],
  ['crossEntropy: labelSmoothing a string', TypeError, ['crossEntropy', 'labelSmoothing'], (f) => nn.crossEntropy(f.logits, f.t, { labelSmoothing: A('0.1') })],
  ['crossEntropy: weight of the wrong shape', ShapeError, ['crossEntropy', 'weight', '[3]', '[4]'], (f) => nn.crossEntropy(f.logits, f.t, { weight: f.v4 })],
  ['crossEntropy: weight requiring grad', TypeError, ['crossEntropy', 'weight requires grad'], (f) => nn.crossEntropy(f.logits, f.t, { weight: f.wg })],
  ['crossEntropy: bad reduction', RangeError, ['crossEntropy', 'reduction', 'avg'], (f) => nn.crossEntropy(f.logits, f.t, { reduction: A('avg') })],
  ['crossEntropy: fractional ignoreIndex', RangeError, ['crossEntropy', 'ignoreIndex', '0.5'], (f) => nn.crossEntropy(f.logits, f.t, { ignoreIndex: 0.5 })],
  ['crossEntropy: ignoreIndex with probabilities', TypeError, ['crossEntropy', 'ignoreIndex', 'probabilities'], (f) => nn.crossEntropy(f.logits, f.logits, { ignoreIndex: 1 })],
  ['crossEntropy: target a string', TypeError, ['crossEntropy', 'target must be'], (f) => nn.crossEntropy(f.logits, A('0'))],
  ['crossEntropy: options not an object', TypeError, ['crossEntropy', 'options'], (f) => nn.crossEntropy(f.logits, f.t, A(3))],
  // nllLoss
  ['nllLoss: target out of range', RangeError, ['nllLoss', 'target 4', '3 classes'], (f) => nn.nllLoss(f.logits, [0, 1, 4, 2])],
  ['nllLoss: probabilities are not targets', ShapeError, ['nllLoss', '[4, 3]', 'class indices have shape [4]'], (f) => nn.nllLoss(f.logits, f.logits)],
  ['nllLoss: labelSmoothing is not an option', TypeError, ['nllLoss', 'labelSmoothing'], (f) => nn.nllLoss(f.logits, f.t, A({ labelSmoothing: 0.1 }))],
];

describe.each([['wasm'], ['reference']] as const)('%s backend: bad calls', (backend) => {
  beforeAll(async () => {
    await init({ backend, replace: true });
    f = {
      x: tensor([[1, 2, 3], [4, 5, 6]]), logits: tensor([[1, 2, 3], [0, 0, 1], [-1, 2, 0], [3, 3, 3]], undefined, { requiresGrad: true }),
      t: tensor([0, 2, 1, 1]), w: tensor([1, 2, 3]), c: tensor([[1, 0, 1], [0, 0, 1]]), wg: tensor([1, 2, 3], undefined, { requiresGrad: true }),
      c5: tensor([[5, 0, 5], [0, 0, 5]]), cnan: tensor([[0, NaN, 0], [0, 0, 0]]), t7: tensor([0, 7, 1, 1]), v4: tensor([1, 2, 3, 4]),
      t41: tensor([[0], [1], [2], [0]]), s0: tensor(1), e20: tensor([], [2, 0]),
    };
  });
  afterAll(() => { for (const t of Object.values(f)) t.dispose(); });

  for (const [name, error, contains, call] of rows) {
    it(`${name} -> ${error.name}`, () => {
      const watched = Object.values(f);
      const before = watched.map((t) => Array.from(t.data()));
      const mem = memory();
      let err: unknown;
      try { call(f); } catch (e) { err = e; }
      expect(err, 'the call should throw').toBeDefined();
      expect(err).not.toBeInstanceOf(WebAssembly.RuntimeError);
      expect(err, `got ${(err as Error).name}: ${(err as Error).message}`).toBeInstanceOf(error);
      for (const s of contains) {
        if (typeof s === 'string') expect((err as Error).message).toContain(s);
        else expect((err as Error).message).toMatch(s);
      }
      expect({ tensors: memory().tensors, bytes: memory().bytes }).toEqual({ tensors: mem.tensors, bytes: mem.bytes });
      watched.forEach((t, i) => expect(Array.from(t.data()), `fixture ${i}`).toEqual(before[i]));
      for (const t of watched) expect(t.grad).toBeNull();
    });
  }

  it('a failed op leaves memory() as it was, counting only the op itself', () => {
    tidy(() => {
      const idx = f.c.mul(5);
      const m = memory();
      expect(() => gather(f.x, 1, idx)).toThrow(RangeError);
      expect(() => gather(f.x, 1, [[0, 1], [3, 0]])).toThrow(RangeError);
      expect(() => nn.crossEntropy(f.logits, [0, 3, 1, 2])).toThrow(RangeError);
      expect(() => oneHot([0, 5], 3)).toThrow(RangeError);
      expect(memory()).toEqual(m);
    });
  });
});

describe('semantics', () => {
  beforeAll(async () => { await init({ replace: true }); });

  it('mean over no elements or only ignored targets is NaN, the sum 0, as PyTorch', () => {
    tidy(() => {
      const x = tensor([[1, 2], [3, 4]]);
      expect(nn.crossEntropy(x, [-100, -100]).item()).toBeNaN();
      expect(nn.crossEntropy(x, [-100, -100], { reduction: 'sum' }).item()).toBe(0);
      expect(nn.crossEntropy(x, [-100, -100], { reduction: 'none' }).toArray()).toEqual([0, 0]);
      expect(nn.crossEntropy(x, [-100, -100], { labelSmoothing: 0.1 }).item()).toBeNaN();
      expect(nn.nllLoss(x, [1, 1], { ignoreIndex: 1 }).item()).toBeNaN();
      const e = tensor([], [0, 3]);
      expect(nn.crossEntropy(e, []).item()).toBeNaN();
      expect(nn.crossEntropy(e, [], { reduction: 'sum' }).item()).toBe(0);
      expect(nn.crossEntropy(e, [], { reduction: 'none' }).shape).toEqual([0]);
      expect(nn.crossEntropy(e, tensor([], [0, 3])).item()).toBeNaN();
    });
  });

  it('ignored targets get no gradient; an all-ignored mean a zero gradient', () => {
    tidy(() => {
      const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
      nn.crossEntropy(x, [-100, 1]).backward();
      const g = x.grad!.toArray() as number[][];
      expect(g[0]).toEqual([0, 0]);
      expect(g[1][0]).toBeCloseTo(Math.exp(3) / (Math.exp(3) + Math.exp(4)), 6);
      const y = tensor([[1, 2]], undefined, { requiresGrad: true });
      nn.crossEntropy(y, [-100]).backward();
      expect(y.grad!.toArray()).toEqual([[0, 0]]);
    });
  });

  it('targets and indices: Int32Array, number arrays, whole-number tensors and flat arrays agree', () => {
    tidy(() => {
      const x = tensor([[1, 2, 3], [0, 0, 1]]);
      const a = nn.crossEntropy(x, new Int32Array([2, 0])).item();
      expect(nn.crossEntropy(x, [2, 0]).item()).toBe(a);
      expect(nn.crossEntropy(x, tensor([2, 0])).item()).toBe(a);
      expect(nn.crossEntropy(x, new Uint8Array([2, 0])).item()).toBe(a);
      const x4 = tensor(Array.from({ length: 12 }, (_, i) => i % 5), [1, 2, 3, 2]);
      expect(nn.crossEntropy(x4, [1, 0, 1, 1, 0, 0], { reduction: 'none' }).toArray())
        .toEqual(nn.crossEntropy(x4, [[[1, 0], [1, 1], [0, 0]]], { reduction: 'none' }).toArray());
      expect(gather(x, 1, new Int32Array([2, 0]), [2, 1]).toArray()).toEqual([[3], [0]]);
      expect(gather(x, 1, tensor([[2], [0]])).toArray()).toEqual([[3], [0]]);
    });
  });

  it('Tensor methods: softmax, logSoftmax, gather', () => {
    tidy(() => {
      const x = tensor([[0, Math.log(3)]]);
      expect(x.softmax(1).toArray()).toEqual(softmax(x, 1).toArray());
      expect(x.logSoftmax(-1).toArray()).toEqual(logSoftmax(x, -1).toArray());
      expect(x.gather(1, [[1, 0, 1]]).toArray()).toEqual([[Math.fround(Math.log(3)), 0, Math.fround(Math.log(3))]]);
    });
  });

  it('a gradient of gather adds repeated indices; an index array is freed with its scope', () => {
    const m = memory();
    tidy(() => {
      const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
      gather(x, 0, [2, 2, 0, 2]).sum().backward();
      expect(x.grad!.toArray()).toEqual([1, 0, 3]);
    });
    expect(memory()).toEqual(m);
    // Without gradients, nothing outlives the call but its result.
    const x = tensor([1, 2, 3]);
    const m1 = memory();
    const y = gather(x, 0, [1]);
    expect(memory().tensors).toBe(m1.tensors + 1);
    y.dispose(); x.dispose();
  });

  it('a LeNet-sized cross-entropy step is a few kernel calls: check, log-softmax, nll; one for the gradient', () => {
    const be = currentBackend() as WasmBackend;
    tidy(() => {
      const logits = tensor(Array.from({ length: 2560 }, (_, i) => Math.sin(i)), [256, 10], { requiresGrad: true });
      const labels = tensor(Array.from({ length: 256 }, (_, i) => i % 10));
      const total = () => [...be.calls.values()].reduce((a, b) => a + b, 0);
      const c0 = total();
      const loss = nn.crossEntropy(logits, labels);
      const c1 = total();
      loss.backward();
      const c2 = total();
      expect(c1 - c0).toBe(3);
      expect(c2 - c1).toBeLessThanOrEqual(2); // nll_backward (and the seed's fill)
    });
  });
});

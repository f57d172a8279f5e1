// maxPool2d, avgPool2d, adaptiveAvgPool2d, pad and conv2d's paddingMode beyond
// the op harness: PyTorch's semantics on hand-checked cases (ties, NaN, windows
// without taps, ceil mode, divisors, negative pads), the documented examples,
// every argument error (typed, naming the values, leaving memory as it was),
// the ownership of max pooling's indices, and the LeNet shapes on two threads.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AutogradError, ShapeError, adaptiveAvgPool2d, avgPool2d, conv2d, init, maxPool2d, memory, ones, pad, tensor, tidy, zeros, type Tensor,
} from '../src/index';
import { currentBackend } from '../src/engine';
import { type WasmBackend } from '../src/backend/wasm/index';
import { PAD } from '../src/backend/constants';
import * as ref from '../src/backend/reference/pooling';
import { padForward, padGeometry, padGradient, rowsPerUnit } from '../src/ops/pad_core';

const arr = (t: Tensor) => t.toArray();

/** Asserts f throws `type` with a message matching `pattern`, and that memory() is as it was. */
function refused(f: () => unknown, type: new (...a: never[]) => Error, pattern: RegExp): void {
  const before = memory();
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err, String(pattern)).toBeInstanceOf(type);
  expect((err as Error).message).toMatch(pattern);
  expect(memory(), String(pattern)).toEqual(before);
}

for (const backend of ['wasm', 'reference'] as const) {
  describe(`pooling semantics (${backend})`, () => {
    beforeAll(async () => { await init({ backend, threads: 1, replace: true }); });

    it('the documented examples', () => {
      tidy(() => {
        const x = tensor([[[[1, 2, 5, 6], [3, 4, 7, 8], [9, 10, 13, 14], [11, 12, 15, 16]]]]);
        expect(arr(maxPool2d(x, 2))).toEqual([[[[4, 8], [12, 16]]]]);
        expect(maxPool2d(x, 3, { stride: 2, ceilMode: true }).shape).toEqual([1, 1, 2, 2]);
        const [, i] = maxPool2d(x, 2, { returnIndices: true });
        expect(arr(i)).toEqual([[[[5, 7], [13, 15]]]]);
        const x3 = tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);
        expect(arr(avgPool2d(x3, 2, { stride: 1 }))).toEqual([[[[3, 4], [6, 7]]]]);
        expect(arr(avgPool2d(x3, 2, { padding: 1 }))).toEqual([[[[0.25, 1.25], [2.75, 7]]]]);
        expect(arr(avgPool2d(x3, 2, { padding: 1, countIncludePad: false }))).toEqual([[[[1, 2.5], [5.5, 7]]]]);
        expect(arr(adaptiveAvgPool2d(x3, 1))).toEqual([[[[5]]]]);
        expect(arr(adaptiveAvgPool2d(x3, 2))).toEqual([[[[3, 4], [6, 7]]]]);
        expect(arr(adaptiveAvgPool2d(x3, [null, 1]))).toEqual([[[[2], [5], [8]]]]);
        const p = tensor([[[0, 1, 2, 3]]]);
        expect(arr(pad(p, [2, 1]))).toEqual([[[0, 0, 0, 1, 2, 3, 0]]]);
        expect(arr(pad(p, [1, 1], { value: 9 }))).toEqual([[[9, 0, 1, 2, 3, 9]]]);
        expect(arr(pad(p, [2, 2], { mode: 'reflect' }))).toEqual([[[2, 1, 0, 1, 2, 3, 2, 1]]]);
        expect(arr(pad(p, [2, 2], { mode: 'replicate' }))).toEqual([[[0, 0, 0, 1, 2, 3, 3, 3]]]);
        expect(arr(pad(p, [2, 2], { mode: 'circular' }))).toEqual([[[2, 3, 0, 1, 2, 3, 0, 1]]]);
        expect(arr(pad(p, [-1, 0]))).toEqual([[[1, 2, 3]]]);
        expect(arr(conv2d(tensor([[[[1, 2, 3]]]]), ones([1, 1, 1, 3]), { padding: [0, 1], paddingMode: 'circular' }))).toEqual([[[[6, 6, 6]]]]);
      });
    });

    it('the Tensor methods', () => {
      tidy(() => {
        const x = tensor([[[[1, 2], [3, 4]]]]);
        expect(arr(x.maxPool2d(2))).toEqual([[[[4]]]]);
        const [v, i] = x.maxPool2d(2, { returnIndices: true });
        expect([arr(v), arr(i)]).toEqual([[[[[4]]]], [[[[3]]]]]);
        expect(arr(x.avgPool2d(2))).toEqual([[[[2.5]]]]);
        expect(arr(x.adaptiveAvgPool2d([1, 2]))).toEqual([[[[2, 3]]]]);
        expect(arr(x.pad([1, 0, 0, 1], { mode: 'replicate' }))).toEqual([[[[1, 1, 2], [3, 3, 4], [3, 3, 4]]]]);
      });
    });

    it('max pooling: ties take the first tap in window order, the last NaN wins, all -inf take the first tap', () => {
      tidy(() => {
        const x = tensor([[[[1, 3, 3, 2], [NaN, 0, NaN, 5]]]]);
        const [y, i] = maxPool2d(x, 2, { returnIndices: true });
        expect(Array.from(y.data())).toEqual([NaN, NaN]);
        expect(arr(i)).toEqual([[[[4, 6]]]]);
        const [y2, i2] = maxPool2d(tensor([[[[NaN, 3, NaN, 2]]]]), [1, 4], { returnIndices: true });
        expect([Number.isNaN(y2.item()), i2.item()]).toEqual([true, 2]);
        const [y3, i3] = maxPool2d(tensor([[[[3, 1, 3, 3]]]]), [1, 4], { returnIndices: true });
        expect([y3.item(), i3.item()]).toEqual([3, 0]);
        const [y4, i4] = maxPool2d(tensor([[[[-Infinity, -Infinity]]]]), [1, 2], { returnIndices: true });
        expect([y4.item(), i4.item()]).toEqual([-Infinity, 0]);
        // -0 and 0 are equal: the first one stays.
        expect(Object.is(maxPool2d(tensor([[[[-0, 0]]]]), [1, 2]).item(), -0)).toBe(true);
      });
    });

    it('max pooling: a window without taps inside gives -inf, PyTorch\'s index, and no gradient', () => {
      tidy(() => {
        const x = tensor([[[[7], [8]]]], undefined, { requiresGrad: true });
        const [y, i] = maxPool2d(x, [1, 2], { stride: 1, padding: [0, 1], dilation: [1, 2], returnIndices: true });
        expect(arr(y)).toEqual([[[[-Infinity], [-Infinity]]]]);
        expect(arr(i)).toEqual([[[[1], [2]]]]); // as torch 1.13 (outside the window)
        y.backward(ones([1, 1, 2, 1]));
        expect(arr(x.grad!)).toEqual([[[[0], [0]]]]); // PyTorch gives [0, 1] here: the gradient lands on the index
      });
    });

    it('max pooling: overlapping windows add their gradients at a shared maximum', () => {
      tidy(() => {
        const x = tensor([[[[0, 5, 0, 1]]]], undefined, { requiresGrad: true });
        maxPool2d(x, [1, 2], { stride: 1 }).sum().backward();
        expect(arr(x.grad!)).toEqual([[[[0, 2, 0, 1]]]]);
      });
    });

    it('ceil mode: the last window starts inside the input or its left padding', () => {
      tidy(() => {
        // torch: (H, k, s, p) -> ceil-mode size
        for (const [H, k, s, p, want] of [[5, 2, 2, 0, 3], [5, 3, 2, 1, 3], [6, 3, 3, 1, 3], [7, 2, 3, 1, 3], [4, 3, 2, 1, 3], [1, 2, 2, 1, 1], [2, 2, 3, 1, 1]]) {
          expect(maxPool2d(zeros([1, 1, H, 1]), [k, 1], { stride: [s, 1], padding: [p, 0], ceilMode: true }).shape[2], `${[H, k, s, p]}`).toBe(want);
          expect(avgPool2d(zeros([1, 1, H, 1]), [k, 1], { stride: [s, 1], padding: [p, 0], ceilMode: true }).shape[2], `${[H, k, s, p]}`).toBe(want);
        }
      });
    });

    it('average pooling divisors: padding counted, windows clipped at the padded end, override', () => {
      tidy(() => {
        const x = ones([1, 1, 5, 5]);
        const r = (t: Tensor) => Array.from(t.data(), (v) => Math.round(v * 1e4) / 1e4);
        expect(r(avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }))).toEqual([0.4444, 0.6667, 0.4444, 0.6667, 1, 0.6667, 0.4444, 0.6667, 0.4444]);
        expect(r(avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }))).toEqual(new Array(9).fill(1));
        expect(r(avgPool2d(x, 2, { stride: 2, padding: 1, ceilMode: true }))).toEqual([0.25, 0.5, 0.5, 0.5, 1, 1, 0.5, 1, 1]);
        expect(r(avgPool2d(x, 3, { stride: 2, padding: 1, divisorOverride: 2 }))).toEqual([2, 3, 2, 3, 4.5, 3, 2, 3, 2]);
        expect(r(avgPool2d(x, 2, { divisorOverride: -2 }))).toEqual([-2, -2, -2, -2]);
      });
    });

    it('adaptive pooling: empty outputs, and an output larger than the input', () => {
      tidy(() => {
        const x = tensor([[[[1, 2, 3], [4, 5, 6]]]], undefined, { requiresGrad: true });
        const y = adaptiveAvgPool2d(x, 0);
        expect(y.shape).toEqual([1, 1, 0, 0]);
        expect(arr(adaptiveAvgPool2d(x, [2, 4]))).toEqual([[[[1, 1.5, 2.5, 3], [4, 4.5, 5.5, 6]]]]);
        adaptiveAvgPool2d(x, [1, 2]).sum().backward();
        expect(arr(x.grad!)).toEqual([[[[0.25, 0.5, 0.25], [0.25, 0.5, 0.25]]]]);
      });
    });

    it('pad: negative paddings crop in every mode, circular wraps what is left, gradients fold back', () => {
      tidy(() => {
        const x = tensor([[[0, 1, 2, 3]]]);
        expect(arr(pad(x, [-1, 2], { mode: 'reflect' }))).toEqual([[[1, 2, 3, 2, 1]]]);
        expect(arr(pad(x, [-1, 2], { mode: 'replicate' }))).toEqual([[[1, 2, 3, 3, 3]]]);
        expect(arr(pad(x, [-1, 2], { mode: 'circular' }))).toEqual([[[1, 2, 3, 1, 2]]]);
        expect(arr(pad(x, [3, -1], { mode: 'circular' }))).toEqual([[[0, 1, 2, 0, 1, 2]]]);
        expect(arr(pad(x, [-5, 3], { mode: 'reflect' }))).toEqual([[[1, 0]]]);
        expect(arr(pad(x, [-5, 3], { mode: 'replicate' }))).toEqual([[[3, 3]]]);
        expect(pad(x, [-2, -2]).shape).toEqual([1, 1, 0]);
        expect(pad(zeros([2, 0]), [1, 1], { value: 3 }).toArray()).toEqual([[3, 3], [3, 3]]);
        expect(Array.from(pad(x, [1, 0], { value: NaN }).data())).toEqual([NaN, 0, 1, 2, 3]);
        // torch: the gradient of reflect padding (2, 3, 2, 1) of a 3x4 plane for dy = 0, 1, 2, ...
        const g = tensor([[[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]]], undefined, { requiresGrad: true });
        const y = pad(g, [2, 3, 2, 1], { mode: 'reflect' });
        y.backward(tensor(Array.from({ length: y.size }, (_, i) => i), y.shape));
        expect(arr(g.grad!)).toEqual([[[[46, 65, 64, 23], [192, 276, 273, 96], [92, 130, 128, 46]]]]);
        const c = tensor([[[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]]], undefined, { requiresGrad: true });
        const yc = pad(c, [-1, 3, 2, -1], { mode: 'circular' });
        expect(arr(yc)).toEqual([[[[1, 2, 3, 1, 2, 3], [5, 6, 7, 5, 6, 7], [1, 2, 3, 1, 2, 3], [5, 6, 7, 5, 6, 7]]]]);
        yc.backward(tensor(Array.from({ length: yc.size }, (_, i) => i), yc.shape));
        expect(arr(c.grad!)).toEqual([[[[0, 30, 34, 38], [0, 54, 58, 62], [0, 0, 0, 0]]]]);
      });
    });

    it('conv2d paddingMode: same with an even kernel pads one more on the bottom and right', () => {
      tidy(() => {
        const x = tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);
        // replicate: bottom row and right column repeated, kernel of ones 2x2.
        expect(arr(conv2d(x, ones([1, 1, 2, 2]), { padding: 'same', paddingMode: 'replicate' }))).toEqual([[[[12, 16, 18], [24, 28, 30], [30, 34, 36]]]]);
        expect(arr(conv2d(x, ones([1, 1, 2, 2]), { padding: 'same', paddingMode: 'zeros' }))).toEqual([[[[12, 16, 9], [24, 28, 15], [15, 17, 9]]]]);
        // no padding: paddingMode changes nothing.
        expect(arr(conv2d(x, ones([1, 1, 3, 3]), { paddingMode: 'reflect' }))).toEqual([[[[45]]]]);
      });
    });
  });
}

describe('empty batches and the internal helpers\' examples', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('an empty batch gives an empty output and an empty gradient', () => {
    tidy(() => {
      const x = zeros([0, 2, 4, 4], { requiresGrad: true });
      for (const y of [maxPool2d(x, 2), avgPool2d(x, 2), adaptiveAvgPool2d(x, 3), pad(x, [1, 1, 1, 1], { mode: 'reflect' })]) {
        expect(y.shape[0]).toBe(0);
        y.sum().backward();
      }
      expect(x.grad!.shape).toEqual([0, 2, 4, 4]);
    });
  });

  it('the examples of the pad helpers and of the reference functions', () => {
    const g = padGeometry([2, 3, 4], [1, 2], 'reflect', 0, 'pad');
    expect(g).toEqual({ P: 6, D: 1, H: 1, W: 4, OD: 1, OH: 1, OW: 7, PD: 0, PT: 0, PL: 1, mode: PAD.REFLECT, value: 0, inShape: [2, 3, 4], outShape: [2, 3, 7] });
    expect([rowsPerUnit(1536, 14), rowsPerUnit(1, 300)]).toEqual([14, 10]);
    tidy(() => {
      const be = currentBackend()!;
      const rg = padGeometry([1, 3], [1, 0], 'replicate', 0, 'pad');
      expect(padForward(be, rg, tensor([[1, 2, 3]]), 'pad').toArray()).toEqual([[1, 1, 2, 3]]);
      expect(padGradient(be, rg, tensor([[1, 1, 1, 1]]), 'pad').toArray()).toEqual([[2, 1, 1]]);
    });
    const base = { KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, include: 0, div: 0, RB: 1, x: null, y: null, idx: null, flat: null, dy: null, dx: null };
    const y = new Float64Array(1), idx = new Float64Array(1), flat = new Float64Array(1);
    ref.maxPoolRef({ ...base, P: 1, H: 2, W: 2, OH: 1, OW: 1, x: Float64Array.of(1, 5, 3, 2), y, idx, flat });
    expect([y[0], idx[0], flat[0]]).toEqual([5, 1, 1]);
    const dx = new Float64Array(4);
    ref.maxPoolBackwardRef({ ...base, P: 1, H: 2, W: 2, OH: 1, OW: 1, idx: Float64Array.of(1), dy: Float64Array.of(7), dx });
    expect(Array.from(dx)).toEqual([0, 7, 0, 0]);
    ref.avgPoolRef({ ...base, P: 1, H: 1, W: 1, OH: 1, OW: 1, PH: 1, PW: 1, include: 1, x: Float64Array.of(8), y });
    expect(y[0]).toBe(2);
    ref.avgPoolRef({ ...base, P: 1, H: 1, W: 1, OH: 1, OW: 1, PH: 1, PW: 1, include: 0, x: Float64Array.of(8), y });
    expect(y[0]).toBe(8);
    ref.avgPoolBackwardRef({ ...base, P: 1, H: 2, W: 2, OH: 1, OW: 1, include: 1, dy: Float64Array.of(8), dx });
    expect(Array.from(dx)).toEqual([2, 2, 2, 2]);
    const ad = { ...base, KH: 1, KW: 1, SH: 1, SW: 1, P: 1, H: 1, W: 3, OH: 1, OW: 2 };
    const y2 = new Float64Array(2), dx3 = new Float64Array(3);
    ref.adaptiveAvgPoolRef({ ...ad, x: Float64Array.of(1, 2, 3), y: y2 });
    expect(Array.from(y2)).toEqual([1.5, 2.5]);
    ref.adaptiveAvgPoolBackwardRef({ ...ad, dy: Float64Array.of(2, 4), dx: dx3 });
    expect(Array.from(dx3)).toEqual([1, 3, 2]);
    expect([ref.padSource(PAD.REFLECT, 0, 4, 2, 8), ref.padSource(PAD.CIRCULAR, 0, 4, 2, 8), ref.padSource(PAD.CONSTANT, 0, 4, 2, 8)]).toEqual([2, 2, -1]);
    const pd = { P: 1, D: 1, H: 1, W: 3, OD: 1, OH: 1, PD: 0, PT: 0, PL: 1, RB: 1, x: null, y: null, dy: null, dx: null };
    const y4 = new Float64Array(4);
    ref.padRef({ ...pd, OW: 4, mode: PAD.CONSTANT, value: 9, x: Float64Array.of(1, 2, 3), y: y4 });
    expect(Array.from(y4)).toEqual([9, 1, 2, 3]);
    ref.padBackwardRef({ ...pd, OW: 5, mode: PAD.REPLICATE, value: 0, dy: Float64Array.of(1, 1, 1, 1, 1), dx: dx3 });
    expect(Array.from(dx3)).toEqual([2, 1, 2]);
  });
});

describe('pooling errors', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('maxPool2d and avgPool2d refuse bad arguments with typed errors naming the values', () => {
    const x = zeros([1, 2, 5, 5]), x2 = zeros([5, 5]), x5 = zeros([1, 1, 1, 5, 5]), c0 = zeros([1, 0, 5, 5]), h0 = zeros([1, 1, 0, 5]);
    for (const [f, fn] of [[maxPool2d, 'maxPool2d'], [avgPool2d, 'avgPool2d']] as const) {
      const pool = f as (x: unknown, k: unknown, o?: unknown) => Tensor;
      refused(() => pool([1, 2], 2), TypeError, new RegExp(`${fn}: input must be a Tensor`));
      refused(() => pool(x2, 2), ShapeError, new RegExp(`${fn}: input must be 4-D \\(N, C, H, W\\) or 3-D \\(C, H, W\\), got shape \\[5, 5\\]`));
      refused(() => pool(x5, 2), ShapeError, /or 3-D \(C, H, W\), got shape \[1, 1, 1, 5, 5\]/);
      refused(() => pool(c0, 2), ShapeError, /non-zero channels, height and width.*\[1, 0, 5, 5\]/);
      refused(() => pool(h0, 2), ShapeError, /non-zero channels/);
      refused(() => pool(x, 0), RangeError, new RegExp(`${fn}: kernelSize must be a positive integer or a pair of them, got 0`));
      refused(() => pool(x, -2), RangeError, /kernelSize must be a positive integer or a pair of them, got -2/);
      refused(() => pool(x, 1.5), RangeError, /kernelSize .* got 1.5/);
      refused(() => pool(x, [2]), RangeError, /kernelSize must be .* got \[2\]/);
      refused(() => pool(x, [2, 2, 2]), RangeError, /kernelSize must be .* got \[2, 2, 2\]/);
      refused(() => pool(x, '2'), TypeError, /kernelSize must be .* got the string "2"/);
      refused(() => pool(x, 2 ** 28 + 1), RangeError, /kernelSize 268435457 is larger than the 2\^28/);
      refused(() => pool(x, 2, { stride: 0 }), RangeError, /stride must be a positive integer or a pair of them, got 0/);
      refused(() => pool(x, 2, { stride: [1, -1] }), RangeError, /stride must be .* got \[1, -1\]/);
      refused(() => pool(x, 2, { padding: -1 }), RangeError, /padding must be a non-negative integer or a pair of them, got -1/);
      refused(() => pool(x, 2, { padding: 2 }), RangeError, new RegExp(`${fn}: padding \\[2, 2\\] must be at most half the kernelSize \\[2, 2\\]`));
      refused(() => pool(x, [3, 2], { padding: [1, 2] }), RangeError, /padding \[1, 2\] must be at most half the kernelSize \[3, 2\]/);
      refused(() => pool(x, 6), ShapeError, new RegExp(`${fn}: the kernel \\[6, 6\\] is larger than the padded input \\[5, 5\\]`));
      refused(() => pool(x, [2, 8], { padding: 1 }), ShapeError, /kernel \[2, 8\] is larger than the padded input \[7, 7\]/);
      refused(() => pool(x, 2, { ceilMode: 1 }), TypeError, /ceilMode must be a boolean, got 1/);
      refused(() => pool(x, 2, null), TypeError, /options must be an object, got null/);
      refused(() => pool(x, 2, 3), TypeError, /options must be an object, got 3/);
    }
    refused(() => maxPool2d(x, 3, { dilation: 0 }), RangeError, /maxPool2d: dilation must be a positive integer or a pair of them, got 0/);
    refused(() => maxPool2d(x, 3, { dilation: 3 }), ShapeError, /maxPool2d: the kernel \[3, 3\] dilated to \[7, 7\] is larger than the padded input \[5, 5\]/);
    refused(() => maxPool2d(x, 2, { returnIndices: 'yes' as unknown as true }), TypeError, /returnIndices must be a boolean/);
    refused(() => avgPool2d(x, 2, { divisorOverride: 0 }), RangeError, /avgPool2d: divisorOverride must not be 0/);
    refused(() => avgPool2d(x, 2, { divisorOverride: 1.5 }), TypeError, /avgPool2d: divisorOverride must be an integer, got 1.5/);
    refused(() => avgPool2d(x, 2, { divisorOverride: 2 ** 31 }), RangeError, /divisorOverride 2147483648 is outside the 32-bit range/);
    refused(() => avgPool2d(x, 2, { countIncludePad: 0 as unknown as boolean }), TypeError, /countIncludePad must be a boolean, got 0/);
    for (const t of [x, x2, x5, c0, h0]) t.dispose();
  });

  it('adaptiveAvgPool2d refuses bad output sizes and inputs', () => {
    const x = zeros([1, 2, 5, 5]), x2 = zeros([5, 5]), h0 = zeros([1, 1, 0, 4]);
    refused(() => adaptiveAvgPool2d(x, -1), RangeError, /adaptiveAvgPool2d: outputSize must be a non-negative integer or a pair of them \(null: the input's size\), got -1/);
    refused(() => adaptiveAvgPool2d(x, [2, -1]), RangeError, /outputSize .* got \[2, -1\]/);
    refused(() => adaptiveAvgPool2d(x, [2] as unknown as [number, number]), RangeError, /outputSize .* got \[2\]/);
    refused(() => adaptiveAvgPool2d(x, [1, 2, 3] as unknown as [number, number]), RangeError, /got \[1, 2, 3\]/);
    refused(() => adaptiveAvgPool2d(x, 1.5), RangeError, /got 1.5/);
    refused(() => adaptiveAvgPool2d(x, 'a' as unknown as number), TypeError, /outputSize must be .* got the string "a"/);
    refused(() => adaptiveAvgPool2d(x, 2 ** 28 + 1), RangeError, /larger than the 2\^28/);
    refused(() => adaptiveAvgPool2d(x2, 2), ShapeError, /adaptiveAvgPool2d: input must be 4-D .* got shape \[5, 5\]/);
    refused(() => adaptiveAvgPool2d(h0, 2), ShapeError, /non-zero channels, height and width/);
    for (const t of [x, x2, h0]) t.dispose();
  });

  it('pad refuses bad paddings, modes and values', () => {
    const x = zeros([1, 2, 3, 4]), x1 = zeros([4]), x2 = zeros([3, 4]), x3 = zeros([2, 3, 4]), e = zeros([1, 2, 0]);
    refused(() => pad(x, 2 as unknown as number[]), TypeError, /pad: pad must be an array of 2, 4 or 6 integers \(last dimension first\), got 2/);
    refused(() => pad(x, [1, 1, 1]), RangeError, /pad: pad must have an even length \(a pair per dimension\), got \[1, 1, 1\]/);
    refused(() => pad(x, []), RangeError, /pad must pad 1, 2 or 3 dimensions/);
    refused(() => pad(x, [1, 1, 1, 1, 1, 1, 1, 1]), RangeError, /pad must pad 1, 2 or 3 dimensions \(2, 4 or 6 integers\), got \[1, 1, 1, 1, 1, 1, 1, 1\]/);
    refused(() => pad(x, [1, 0.5]), TypeError, /pad must be an array of integers, got \[1, 0.5\]/);
    refused(() => pad(x, [1, 2 ** 28 + 1]), RangeError, /larger than the 2\^28/);
    refused(() => pad(x1, [1, 1, 1, 1]), ShapeError, /pad: pad \[1, 1, 1, 1\] pads 2 dimensions but the input has 1 \(shape \[4\]\)/);
    refused(() => pad(x, [1, 1], { mode: 'wrap' as 'reflect' }), RangeError, /pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got the string "wrap"/);
    refused(() => pad(x, [1, 1], { mode: 3 as unknown as 'reflect' }), TypeError, /mode must be .* got 3/);
    refused(() => pad(x, [1, 1], { mode: 'reflect' }), ShapeError, /pad: mode 'reflect' pads the last 1 dimension of a 2-D or 3-D input, got shape \[1, 2, 3, 4\] with pad \[1, 1\]/);
    refused(() => pad(x2, [1, 1, 1, 1], { mode: 'circular' }), ShapeError, /mode 'circular' pads the last 2 dimensions of a 3-D or 4-D input, got shape \[3, 4\]/);
    refused(() => pad(x, [4, 0, 0, 0], { mode: 'reflect' }), RangeError, /pad: reflect padding \[4, 0\] of dimension 3 \(size 4\) of input \[1, 2, 3, 4\] must be smaller than the size/);
    refused(() => pad(x, [0, 0, 0, 3], { mode: 'reflect' }), RangeError, /reflect padding \[0, 3\] of dimension 2 \(size 3\)/);
    refused(() => pad(x, [5, 0, 0, 0], { mode: 'circular' }), RangeError, /pad: circular padding \[5, 0\] of dimension 3 \(size 4\) .* wraps around more than once/);
    refused(() => pad(x, [4, -1, 0, 0], { mode: 'circular' }), RangeError, /circular padding \[4, -1\] .* wraps around more than once the 3 elements left after cropping/);
    refused(() => pad(e, [1, 1], { mode: 'replicate' }), ShapeError, /replicate padding of an empty dimension 2/);
    refused(() => pad(x, [-3, -2]), ShapeError, /pad: pad \[-3, -2\] leaves dimension 3 \(size 4\) of input \[1, 2, 3, 4\] with -1 elements/);
    refused(() => pad(x3, [-2, -2], { mode: 'reflect' }), ShapeError, /leaves dimension 2 \(size 4\) of input \[2, 3, 4\] with 0 elements/);
    refused(() => pad(x, [1, 1], { mode: 'reflect', value: 1 } as never), TypeError, /pad: mode 'reflect' takes no value \(got 1\)/);
    refused(() => pad(x, [1, 1], { value: 1e40 }), RangeError, /pad: value 1e\+40 cannot be converted to float32 without overflow/);
    refused(() => pad(x, [1, 1], { value: '1' as unknown as number }), TypeError, /pad: value must be a number, got the string "1"/);
    refused(() => pad(x, [1, 1], 'reflect' as never), TypeError, /pad: options must be an object/);
    for (const t of [x, x1, x2, x3, e]) t.dispose();
  });

  it('conv2d refuses a bad paddingMode, and paddings its mode cannot make', () => {
    const x = zeros([1, 1, 3, 3]), w = zeros([1, 1, 3, 3]);
    refused(() => conv2d(x, w, { padding: 1, paddingMode: 'mirror' as 'reflect' }), RangeError, /conv2d: paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular', got the string "mirror"/);
    refused(() => conv2d(x, w, { padding: 1, paddingMode: 1 as unknown as 'reflect' }), TypeError, /paddingMode must be .* got 1/);
    refused(() => conv2d(x, w, { padding: 3, paddingMode: 'reflect' }), RangeError, /conv2d: reflect padding \[3, 3\] of dimension 3 \(size 3\)/);
    refused(() => conv2d(x, w, { padding: 4, paddingMode: 'circular' }), RangeError, /conv2d: circular padding \[4, 4\] .* wraps around more than once/);
    x.dispose(); w.dispose();
  });
});

describe('max pooling indices and autograd', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('the indices live with the output: backward works after the scope that made it', () => {
    const x = tensor([[[[1, 5], [3, 2]]]], undefined, { requiresGrad: true });
    const y = tidy(() => maxPool2d(x, 2));
    tidy(() => y.mul(3).sum().backward());
    expect(arr(x.grad!)).toEqual([[[[0, 3], [0, 0]]]]);
    y.dispose(); x.dispose();
  });

  it('the indices are freed with the output', () => {
    const be = currentBackend() as WasmBackend;
    const x = tensor(Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i)), [2, 3, 32, 32], { requiresGrad: true });
    tidy(() => { maxPool2d(x, 2).sum().backward(); }); // warms the workspace
    const live = be.arena.liveBytes, before = memory();
    const y = maxPool2d(x, 2);
    expect(be.arena.liveBytes).toBeGreaterThan(live + y.size * 4); // output and indices
    y.dispose();
    expect(be.arena.liveBytes).toBe(live);
    expect(memory()).toEqual(before);
    x.dispose();
  });

  it('changing the input in place after max pooling makes backward refuse, as PyTorch', () => {
    tidy(() => {
      const x = tensor([[[[1, 5], [3, 2]]]], undefined, { requiresGrad: true });
      const w = x.mul(1);
      const y = maxPool2d(w, 2);
      w.assign([[[[9, 1], [1, 1]]]]);
      expect(() => y.backward(ones([1, 1, 1, 1]))).toThrow(AutogradError);
    });
  });

  it('without gradients no indices are kept', () => {
    const be = currentBackend() as WasmBackend;
    const x = zeros([2, 3, 32, 32]);
    maxPool2d(x, 2).dispose();
    const live = be.arena.liveBytes;
    const y = maxPool2d(x, 2);
    expect(be.arena.liveBytes - live).toBeLessThanOrEqual(Math.ceil((y.size * 4) / 64) * 64 + 64);
    y.dispose(); x.dispose();
  });
});

describe('LeNet shapes on two threads', () => {
  beforeAll(async () => { await init({ threads: 2, replace: true }); });

  it('max and average pooling of (256, 6, 28, 28) and (256, 16, 10, 10) split over the pool, forward and backward', () => {
    const be = currentBackend() as WasmBackend;
    if (be.threads < 2) return; // no shared memory on this runtime
    for (const shape of [[256, 6, 28, 28], [256, 16, 10, 10]]) {
      for (const f of [(t: Tensor) => maxPool2d(t, 2, { stride: 2 }), (t: Tensor) => avgPool2d(t, 2, { stride: 2 })]) {
        tidy(() => {
          const x = zeros(shape, { requiresGrad: true });
          const pooled = be.pooledCalls;
          const y = f(x);
          expect(be.pooledCalls, `forward ${shape}`).toBe(pooled + 1);
          y.backward(ones(y.shape));
          expect(be.pooledCalls, `backward ${shape}`).toBeGreaterThanOrEqual(pooled + 2);
        });
      }
    }
  });
});

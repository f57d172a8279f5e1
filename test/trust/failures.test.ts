// An op (or its backward) that fails halfway, at any of its allocations,
// leaves everything as it was: no tensor or byte leaked, inputs and gradients
// unchanged, and the engine works afterwards. The failure is injected at
// every allocation point of every op, forward and backward.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, tensor, tidy, memory, noGrad, add, sub, mul, div, pow, maximum, minimum, eq, gt, neg, square, relu, exp, log, sigmoid,
  tanh, sqrt, abs, clamp, clone, sum, mean, max, min, argmax, argmin, reshape, flatten, transpose, permute, conv2d, corr2d,
  softplus, leakyRelu, batchNorm, layerNorm, linear, maxPool2d, nn, optim, type Tensor,
} from '../../src/index';
import { currentBackend } from '../../src/engine';
import type { WasmBackend } from '../../src/backend/wasm/index';
import { Rng } from '../../src/random';
import { MEMORY_HINT, randomArray } from '../helpers';

type Case = [name: string, shapes: number[][], op: (...xs: Tensor[]) => Tensor | number];
const CASES: Case[] = [
  ['add broadcast', [[3, 4], [4]], (a, b) => add(a, b)], ['sub', [[5], [5]], (a, b) => sub(a, b)], ['mul scalar', [[5]], (a) => mul(a, 3)],
  ['div', [[2, 3], [2, 1]], (a, b) => div(a, b.add(2))], ['pow', [[4]], (a) => pow(a.abs().add(1), 2.5)],
  ['maximum', [[4], [4]], (a, b) => maximum(a, b)], ['minimum scalar', [[4]], (a) => minimum(a, 0.1)],
  ['eq and gt', [[4], [4]], (a, b) => eq(a, b).add(gt(a, 0.2))], ['neg square relu', [[6]], (a) => relu(square(neg(a)))],
  ['exp log', [[5]], (a) => log(exp(a).add(1))], ['sigmoid tanh sqrt', [[5]], (a) => sqrt(sigmoid(tanh(a)).add(1))],
  ['abs clamp clone', [[5]], (a) => clone(clamp(abs(a), 0.1, 0.7))], ['softplus leakyRelu', [[6]], (a) => softplus(leakyRelu(a, 0.2))],
  ['sum all', [[40000]], (a) => sum(a)], ['sum dims (gathered)', [[2, 3, 4]], (a) => sum(a, [0, 2])], ['mean keepdim', [[3, 5]], (a) => mean(a, 1, true)],
  ['max all (two passes)', [[40000]], (a) => max(a)], ['min dim', [[4, 6]], (a) => min(a, 0)], ['argmax', [[3, 70000]], (a) => argmax(a, 1)],
  ['argmin all', [[5, 4]], (a) => argmin(a)], ['reshape flatten', [[2, 3, 4]], (a) => flatten(reshape(a, [6, 4]).mul(2))],
  ['transpose permute', [[2, 3, 4]], (a) => permute(transpose(a, 0, 2), [1, 0, 2])],
  ['conv2d gemm', [[2, 4, 7, 7], [6, 4, 3, 3], [6]], (x, w, b) => conv2d(x, w, { bias: b, padding: 1 })],
  ['conv2d strided', [[1, 2, 8, 8], [5, 2, 3, 3]], (x, w) => conv2d(x, w, { stride: 2 })],
  ['conv2d direct', [[1, 1, 9, 9], [1, 1, 3, 3]], (x, w) => conv2d(x, w)], ['corr2d', [[6, 8], [1, 2]], (x, k) => corr2d(x, k)],
  ['batchNorm', [[4, 3, 3, 3], [3], [3]], (x, w, b) => batchNorm(x, { weight: w, bias: b, training: true })],
  ['layerNorm', [[3, 5], [5], [5]], (x, w, b) => layerNorm(x, [5], w, b)], ['mseLoss', [[3, 4], [3, 4]], (a, b) => nn.mseLoss(a, b)],
];

describe('a failure at any allocation changes nothing', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  for (const [name, shapes, op] of CASES) {
    it(name, () => {
      const be = currentBackend() as WasmBackend;
      const rng = new Rng(name.length);
      const xs = shapes.map((s) => tensor(randomArray(s.reduce((a, b) => a * b, 1), rng), s, { requiresGrad: true }));
      const grads = () => xs.map((x) => (x.grad ? Array.from(x.grad.data()) : null));
      const data = () => xs.map((x) => Array.from(x.data()));
      // Count the allocations of the op with its backward, once, and take the gradients.
      const start = be.allocations;
      const full = () => tidy(() => {
        const y = op(...xs);
        if (typeof y === 'number') return;
        if (y.requiresGrad) (y.size === 1 ? y : y.sum()).backward();
      });
      full();                               // fills the caches (packed weights)
      const start2 = be.allocations;
      full();
      const count = be.allocations - start2;
      void start;
      expect(count).toBeGreaterThan(0);
      const g0 = grads(), d0 = data(), m0 = memory();
      for (let k = 0; k < count; k++) {
        be.failAfter = k;
        let err: unknown;
        try { full(); } catch (e) { err = e; }
        be.failAfter = null;
        expect(err, `${name}: failure at allocation ${k} of ${count}`).toBeInstanceOf(RangeError);
        expect((err as Error).message, `${name} at ${k}`).toMatch(/injected by a test/);
        expect(memory(), `${name}: memory after a failure at allocation ${k}`).toMatchObject({ tensors: m0.tensors, bytes: m0.bytes });
        expect(grads(), `${name}: gradients after a failure at allocation ${k}`).toEqual(g0);
        expect(data(), `${name}: inputs after a failure at allocation ${k}`).toEqual(d0);
      }
      // And it works afterwards.
      full();
      for (const x of xs) x.dispose();
    });
  }

  it('conv2d failing while it builds its packed weights (a cold cache) leaves nothing behind', () => {
    const be = currentBackend() as WasmBackend;
    const rng = new Rng(3);
    const xv = randomArray(2 * 4 * 7 * 7, rng), wv = randomArray(6 * 4 * 9, rng);
    const run = () => tidy(() => {
      const x = tensor(xv, [2, 4, 7, 7], { requiresGrad: true }), w = tensor(wv, [6, 4, 3, 3], { requiresGrad: true });
      conv2d(x, w, { padding: 1 }).sum().backward();
      return Array.from(w.grad!.data());
    });
    const start = be.allocations;
    const want = run();
    const count = be.allocations - start;
    const m0 = memory();
    for (let k = 0; k < count; k++) {
      be.failAfter = k;
      expect(() => run(), `failure at allocation ${k}`).toThrow(/injected by a test/);
      be.failAfter = null;
      expect(memory(), `after a failure at allocation ${k}`).toMatchObject({ tensors: m0.tensors, bytes: m0.bytes });
    }
    expect(run()).toEqual(want);
  });

  it('linear and maxPool2d failing while they build their derived blocks (cold caches): named after the op, nothing left behind', () => {
    const be = currentBackend() as WasmBackend;
    const rng = new Rng(4);
    const xv = randomArray(3 * 20, rng), wv = randomArray(12 * 20, rng), pv = randomArray(2 * 3 * 6 * 6, rng);
    const cases: Array<[string, () => number[], RegExp]> = [
      ['linear', () => tidy(() => {
        const x = tensor(xv, [3, 20], { requiresGrad: true }), w = tensor(wv, [12, 20], { requiresGrad: true });
        linear(x, w).sum().backward();
        return [...w.grad!.data(), ...x.grad!.data()];
      }), new RegExp(String.raw`^linear: packed copy of weight \[12, 20\]: cannot allocate \d+ bytes: a failure injected by a test` + MEMORY_HINT + '$')],
      ['maxPool2d', () => tidy(() => {
        const x = tensor(pv, [2, 3, 6, 6], { requiresGrad: true });
        maxPool2d(x, 2).sum().backward();
        return [...x.grad!.data()];
      }), new RegExp(String.raw`^maxPool2d: indices of shape \[2, 3, 3, 3\]: cannot allocate \d+ bytes: a failure injected by a test` + MEMORY_HINT + '$')],
    ];
    for (const [name, run, derivedMessage] of cases) {
      const start = be.allocations;
      const want = run();
      const count = be.allocations - start;
      const m0 = memory();
      const messages: string[] = [];
      for (let k = 0; k < count; k++) {
        be.failAfter = k;
        let err: unknown;
        try { run(); } catch (e) { err = e; }
        be.failAfter = null;
        expect(err, `${name}: failure at allocation ${k}`).toBeInstanceOf(RangeError);
        messages.push((err as Error).message);
        expect(memory(), `${name}: after a failure at allocation ${k}`).toMatchObject({ tensors: m0.tensors, bytes: m0.bytes });
      }
      expect(messages.filter((m) => derivedMessage.test(m)).length, `${name}: ${messages.join('\n')}`).toBe(1);
      expect(run(), name).toEqual(want);
    }
  });

  it('optimizer steps (whose state is made on the first step) and module construction', () => {
    const be = currentBackend() as WasmBackend;
    for (const make of [(ps: Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9 }), (ps: Tensor[]) => new optim.Adam(ps, { amsgrad: true }), (ps: Tensor[]) => new optim.AdamW(ps)]) {
      const ps = [tensor([1, 2, 3], undefined, { requiresGrad: true }), tensor([4, 5], undefined, { requiresGrad: true })];
      noGrad(() => ps.forEach((p) => { p.grad = p.mul(1); }));
      const opt = make(ps);
      // The first step allocates the state: fail at each of those allocations.
      const m0 = memory(), v0 = ps.map((p) => Array.from(p.data()));
      for (let k = 0; k < 6; k++) {
        be.failAfter = k;
        let err: unknown;
        try { opt.step(); } catch (e) { err = e; }
        be.failAfter = null;
        if (!err) break;
        expect(err).toBeInstanceOf(RangeError);
        expect(memory()).toMatchObject({ tensors: m0.tensors, bytes: m0.bytes });
        expect(ps.map((p) => Array.from(p.data()))).toEqual(v0);
      }
      (opt as unknown as { dispose(): void }).dispose();
      ps.forEach((p) => p.dispose());
    }
    for (const make of [() => new nn.Conv2d(2, 3, 3), () => new nn.BatchNorm2d(4), () => new nn.LayerNorm([3, 4])]) {
      const m0 = memory();
      for (let k = 0; k < 6; k++) {
        be.failAfter = k;
        let made: nn.Module | null = null;
        try { made = make(); } catch { /* refused */ }
        be.failAfter = null;
        if (made) { made.dispose(); break; }
        expect(memory()).toMatchObject({ tensors: m0.tensors, bytes: m0.bytes });
      }
    }
  });
});

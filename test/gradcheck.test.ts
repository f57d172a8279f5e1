// Central-difference gradient checks in float64 on the reference backend, for
// every differentiable op and every convolution option.
import { beforeAll, describe, it } from 'vitest';
import {
  init, tensor, tidy, add, sub, mul, div, neg, square, pow, sum, mean, reshape, relu, corr2d, conv2d,
  type Tensor,
} from '../src/index';
import { Rng } from '../src/random';
import { TOL, expectClose } from './helpers';

/**
 * Checks d(sum(f(inputs) * R))/d(input) from autograd against central differences,
 * for every input, with R a fixed random projection (so every output element matters).
 */
function gradcheck(name: string, shapes: number[][], f: (...xs: Tensor[]) => Tensor, seed = 1, positive = false): void {
  const rng = new Rng(seed);
  const values = shapes.map((s) => Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => (positive ? 0.5 + rng.uniform() : rng.uniform() * 2 - 1)));
  tidy(() => {
    const xs = shapes.map((s, i) => tensor(values[i], s, { requiresGrad: true }));
    const y0 = f(...xs);
    const R = tensor(Array.from({ length: y0.size }, () => rng.uniform() * 2 - 1), y0.shape);
    const objective = () => sum(mul(f(...xs), R));
    objective().backward();
    const eps = 1e-6;
    xs.forEach((x, k) => {
      const v = x.values() as Float64Array;
      const numeric = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const keep = v[i];
        v[i] = keep + eps; const fp = objective().item();
        v[i] = keep - eps; const fm = objective().item();
        v[i] = keep;
        numeric[i] = (fp - fm) / (2 * eps);
      }
      expectClose(x.grad!.values(), numeric, TOL.gradcheck, `${name}: d/d input ${k}`);
    });
  });
}

describe('gradients by central differences (reference backend, float64)', () => {
  beforeAll(async () => { await init({ backend: 'reference' }); });

  it('add, with tensor, scalar-tensor and number operands', () => {
    gradcheck('add', [[2, 3], [2, 3]], (a, b) => add(a, b));
    gradcheck('add broadcast [1]', [[2, 3], [1]], (a, b) => add(a, b));
    gradcheck('add broadcast row', [[2, 3], [3]], (a, b) => add(a, b));
    gradcheck('add number', [[4]], (a) => add(a, 2.5));
  });
  it('sub', () => {
    gradcheck('sub', [[3, 2], [3, 2]], (a, b) => sub(a, b));
    gradcheck('sub scalar tensor', [[1], [3, 2]], (a, b) => sub(a, b));
    gradcheck('sub number', [[5]], (a) => sub(1, a));
  });
  it('mul', () => {
    gradcheck('mul', [[2, 2], [2, 2]], (a, b) => mul(a, b));
    gradcheck('mul broadcast', [[2, 1], [1, 3]], (a, b) => mul(a, b));
    gradcheck('mul number', [[3]], (a) => mul(a, -3));
  });
  it('div', () => {
    gradcheck('div', [[2, 3], [2, 3]], (a, b) => div(a, b), 3, true);
    gradcheck('div scalar', [[4], [1]], (a, b) => div(a, b), 4, true);
    gradcheck('div number numerator', [[4]], (a) => div(2, a), 5, true);
  });
  it('neg, square, pow, relu', () => {
    gradcheck('neg', [[5]], (a) => neg(a));
    gradcheck('square', [[2, 3]], (a) => square(a));
    gradcheck('pow 3', [[2, 3]], (a) => pow(a, 3));
    gradcheck('pow 0.5', [[6]], (a) => pow(a, 0.5), 6, true);
    gradcheck('pow -2', [[6]], (a) => pow(a, -2), 7, true);
    gradcheck('relu', [[3, 4]], (a) => relu(a), 8);
  });
  it('sum, mean, reshape', () => {
    gradcheck('sum', [[2, 3]], (a) => sum(a));
    gradcheck('mean', [[2, 3]], (a) => mean(a));
    gradcheck('reshape', [[2, 6]], (a) => square(reshape(a, [3, -1])));
  });
  it("the chapter's corr2d(X, weight) + bias", () => {
    gradcheck('corr2d', [[6, 8], [1, 2]], (x, w) => corr2d(x, w));
    gradcheck('corr2d + bias', [[5, 7], [3, 2], [1]], (x, w, b) => add(corr2d(x, w), b));
  });

  const convCases: Array<[string, number[], number[], Record<string, unknown>, boolean]> = [
    ['x=[2,3,5,6] f=[4,3,3,3] s=1 p=0', [2, 3, 5, 6], [4, 3, 3, 3], {}, true],
    ['x=[1,2,7,7] f=[3,2,3,3] s=2 p=1', [1, 2, 7, 7], [3, 2, 3, 3], { stride: 2, padding: 1 }, true],
    ['x=[1,2,8,7] f=[2,2,2,3] s=[2,1] p=[1,2]', [1, 2, 8, 7], [2, 2, 2, 3], { stride: [2, 1], padding: [1, 2] }, false],
    ['x=[1,1,9,9] f=[2,1,3,3] d=2', [1, 1, 9, 9], [2, 1, 3, 3], { dilation: 2 }, true],
    ['x=[1,2,8,9] f=[2,2,3,2] d=[2,1] p=1', [1, 2, 8, 9], [2, 2, 3, 2], { dilation: [2, 1], padding: 1 }, false],
    ['x=[2,4,5,5] f=[6,2,3,3] g=2 p=1', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, padding: 1 }, true],
    ['x=[1,3,6,6] f=[3,1,3,3] depthwise g=3 p=1', [1, 3, 6, 6], [3, 1, 3, 3], { groups: 3, padding: 1 }, true],
    ['x=[1,2,5,6] f=[2,2,2,2] same (even kernel)', [1, 2, 5, 6], [2, 2, 2, 2], { padding: 'same' }, true],
    ['x=[1,1,6,5] f=[1,1,3,3] same d=2', [1, 1, 6, 5], [1, 1, 3, 3], { padding: 'same', dilation: 2 }, false],
    ['x=[1,2,6,6] f=[2,2,3,3] valid s=3', [1, 2, 6, 6], [2, 2, 3, 3], { padding: 'valid', stride: 3 }, true],
    ['x=[3,5,5] unbatched f=[2,3,2,2]', [3, 5, 5], [2, 3, 2, 2], {}, true],
  ];
  for (const [name, xs, ws, opts, bias] of convCases) {
    it(`conv2d gradient ${name}${bias ? ' bias' : ''}`, () => {
      const shapes = bias ? [xs, ws, [ws[0]]] : [xs, ws];
      gradcheck(name, shapes, (x, w, b) => conv2d(x, w, { ...opts, bias: b ?? null }));
    });
  }
});

// Every op through the generic harness (test/harness.ts): forward and backward
// on every build and thread count against the float64 reference backend, SIMD
// against scalar, 2 threads against 1, and central-difference gradients, at the
// vector-width, chunk and tile edges of the kernels.
import {
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, neg, square, relu, leakyRelu, exp, log,
  sigmoid, tanh, sqrt, abs, sign, clamp, clone, sum, mean, max, min, argmax, argmin, reshape, flatten, transpose,
  permute, conv2d, corr2d, nn, optim, softplus, type Tensor,
} from '../src/index';
import {
  conv2dForwardRef, conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dBackwardBiasRef,
} from '../src/backend/reference/conv';
import { conv2dInfo } from '../src/ops/conv_info';
import { useLanes } from '../src/ops/conv';
import { expect, it } from 'vitest';
import { EDGE_SIZES, opSuite, type OpCase } from './harness';
import { edgeCases, geometryName } from './helpers';

const BIG = [3, 50001]; // 150,003 elements: enough work to be split over two threads
const cases: OpCase[] = [];
const shapesFor = (sizes: number[]) => [...sizes.map((n) => [n]), [2, 3, 5], BIG];

// Unary element-wise ops.
const unary: Array<[string, (x: Tensor) => Tensor, 'any' | 'positive' | 'nonzero', boolean?]> = [
  ['neg', neg, 'any'], ['square', square, 'any'], ['relu', relu, 'nonzero'], ['leakyRelu', (x) => leakyRelu(x, 0.1), 'nonzero'],
  ['exp', exp, 'any'], ['log', log, 'positive'], ['sigmoid', sigmoid, 'any'], ['tanh', tanh, 'any'], ['sqrt', sqrt, 'positive'],
  ['abs', abs, 'nonzero'], ['sign', sign, 'any', false], ['clamp', (x) => clamp(x, -0.5, 0.5), 'any'], ['clone', clone, 'any'],
  ['add scalar', (x) => add(x, 0.5), 'any'], ['scalar sub', (x) => sub(2, x), 'any'], ['mul scalar', (x) => mul(x, -3), 'any'],
  ['div scalar', (x) => div(x, 3), 'any'], ['scalar div', (x) => div(2, x), 'positive'], ['pow 3', (x) => pow(x, 3), 'any'],
  ['pow 2.5', (x) => pow(x, 2.5), 'positive'], ['pow -0.5', (x) => pow(x, -0.5), 'positive'],
  ['maximum scalar', (x) => maximum(x, 0.25), 'any'], ['minimum scalar', (x) => minimum(x, 0.25), 'any'],
];
for (const [name, op, values, differentiable] of unary) {
  for (const shape of shapesFor(name === 'exp' || name === 'neg' ? EDGE_SIZES : [1, 4, 7, 9, 17, 16385])) {
    cases.push({ name: `${name} x=[${shape}]`, inputs: [{ shape, values }], op, differentiable });
  }
}
// softplus: both branches of the threshold, beta, and tiny exp(beta * x) (where log1p matters).
for (const shape of shapesFor([1, 4, 7, 17, 16385])) {
  cases.push({ name: `softplus x=[${shape}]`, inputs: [{ shape, values: (i, r) => (r.uniform() - 0.5) * 8 }], op: (x) => softplus(x) });
}
cases.push({ name: 'softplus beta 2 threshold 3', inputs: [{ shape: [41], values: (i) => -5.01 + i * 0.25 }], op: (x) => softplus(x, 2, 3) });
cases.push({ name: 'softplus over [-60, 30]', inputs: [{ shape: [91], values: (i) => -60 + i, grad: false }], op: (x) => softplus(x), differentiable: false, tol: { rtol: 3e-6, atol: 1e-45 } });

// Functions at extremes: exp over and underflow, log of tiny numbers, tanh and sigmoid saturation.
cases.push({ name: 'exp over [-110, 90]', inputs: [{ shape: [403], values: (i) => -110 + i * 0.5, grad: false }], op: exp, tol: { rtol: 1e-6, atol: 3e-84 }, differentiable: false }); // subnormal results: within one ulp
cases.push({ name: 'log over [1e-30, 1e30]', inputs: [{ shape: [61], values: (i) => 10 ** (i - 30), grad: false }], op: log, differentiable: false });
cases.push({ name: 'tanh over [-12, 12]', inputs: [{ shape: [97], values: (i) => -12 + i * 0.25, grad: false }], op: tanh, differentiable: false });
cases.push({ name: 'sigmoid over [-30, 30]', inputs: [{ shape: [121], values: (i) => -30 + i * 0.5, grad: false }], op: sigmoid, differentiable: false, tol: { rtol: 2e-6, atol: 0 } });

// Binary element-wise ops with broadcasting.
const binary: Array<[string, (a: Tensor, b: Tensor) => Tensor, 'any' | 'positive' | 'nonzero', boolean?]> = [
  ['add', add, 'any'], ['sub', sub, 'any'], ['mul', mul, 'any'], ['div', div, 'nonzero'], ['maximum', maximum, 'any'],
  ['minimum', minimum, 'any'], ['pow', pow, 'positive'], ['eq', eq, 'any', false], ['ne', ne, 'any', false],
  ['lt', lt, 'any', false], ['le', le, 'any', false], ['gt', gt, 'any', false], ['ge', ge, 'any', false],
];
const pairs: Array<[number[], number[]]> = [
  [[5], [5]], [[17], [17]], [[16385], [16385]], [[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [4]], [[2, 3, 4], [3, 1]],
  [[2, 1, 4], [1, 3, 1]], [[7, 1], [1, 9]], [[3], []], [[], [5]], [[1, 1, 6], [2, 1, 1]], BIG.map((d) => [d]) as unknown as [number[], number[]],
];
pairs[pairs.length - 1] = [BIG, [3, 1]];
for (const [name, op, values, differentiable] of binary) {
  for (const [a, b] of pairs) {
    cases.push({ name: `${name} a=[${a}] b=[${b}]`, inputs: [{ shape: a, values }, { shape: b, values }], op, differentiable });
  }
}
// Comparisons and maximum with ties.
cases.push({ name: 'eq with ties', inputs: [{ shape: [12], values: (i) => i % 3 }, { shape: [12], values: (i) => i % 2 }], op: eq, differentiable: false });
cases.push({ name: 'maximum with ties', inputs: [{ shape: [12], values: (i) => i % 3 }, { shape: [12], values: (i) => i % 2 }], op: maximum, gradcheck: false });

// Reductions over dims: fast paths [A, R, 1] and [A, R, B], the gathered case, chunked R, many columns.
const reductions: Array<[string, number[], number | number[] | undefined, boolean]> = [
  ['all', [5], undefined, false], ['all', [2, 3, 4], undefined, false], ['last', [3, 17], 1, false], ['last keepdim', [3, 17], -1, true],
  ['first', [9, 7], 0, false], ['middle', [2, 5, 3], 1, false], ['outer pair', [2, 3, 4], [0, 2], true],
  ['trailing pair', [2, 3, 4], [1, 2], false], ['all 70000', [70000], undefined, false], ['rows 2x40000', [2, 40000], 1, false],
  ['columns 40000x3', [40000, 3], 0, false], ['many columns', [3, 300], 0, false], ['size-1 dims', [1, 4, 1, 3], [0, 1], false],
];
for (const [what, shape, dim, keep] of reductions) {
  const big = shape.reduce((a, b) => a * b, 1) > 300;
  cases.push({ name: `sum ${what} x=[${shape}]`, inputs: [{ shape }], op: (x) => sum(x, dim, keep), tol: big ? { rtol: 1e-5, atol: 1e-5 } : undefined });
  cases.push({ name: `mean ${what} x=[${shape}]`, inputs: [{ shape }], op: (x) => mean(x, dim, keep), tol: big ? { rtol: 1e-5, atol: 1e-5 } : undefined });
  cases.push({ name: `max ${what} x=[${shape}]`, inputs: [{ shape }], op: (x) => max(x, dim, keep) });
  cases.push({ name: `min ${what} x=[${shape}]`, inputs: [{ shape }], op: (x) => min(x, dim, keep) });
  if (typeof dim !== 'object') {
    cases.push({ name: `argmax ${what} x=[${shape}]`, inputs: [{ shape }], op: (x) => argmax(x, dim, keep), differentiable: false });
    cases.push({ name: `argmin ${what} x=[${shape}]`, inputs: [{ shape }], op: (x) => argmin(x, dim, keep), differentiable: false });
  }
}
// Ties and NaN: the first maximum, NaN counts as the largest.
cases.push({ name: 'argmax with ties', inputs: [{ shape: [4, 9], values: (i) => (i * 7) % 3 }], op: (x) => argmax(x, 1), differentiable: false });
cases.push({ name: 'max with ties (gradient shared evenly)', inputs: [{ shape: [4, 9], values: (i) => (i * 7) % 3 }], op: (x) => max(x, 1), gradcheck: false });
cases.push({ name: 'argmax with NaN', inputs: [{ shape: [3, 20], values: (i) => (i === 7 || i === 9 || i === 45 ? NaN : i % 5) }], op: (x) => argmax(x, 1), differentiable: false });
cases.push({ name: 'max with NaN', inputs: [{ shape: [3, 20], values: (i) => (i === 7 || i === 45 ? NaN : i % 5), grad: false }], op: (x) => max(x, 1), differentiable: false });
// Edges of the reduction loops: one run of L contiguous floats (sums 32 wide, then whole
// vectors, then a tail of up to three; max and min 16 wide), and rows combined into
// columns (up to four rows a pass, eight columns a step, column tails, past BB = 256).
for (const L of [3, 4, 15, 16, 17, 31, 32, 33, 35, 36, 47, 63, 64, 67]) {
  cases.push({ name: `sum run of ${L}`, inputs: [{ shape: [2, L] }], op: (x) => sum(x, 1), tol: { rtol: 1e-6, atol: 1e-6 } });
  cases.push({ name: `max run of ${L}`, inputs: [{ shape: [2, L] }], op: (x) => max(x, 1) });
  cases.push({ name: `min run of ${L}`, inputs: [{ shape: [2, L] }], op: (x) => min(x) });
}
for (const [R, C] of [[1, 13], [2, 9], [4, 8], [5, 7], [6, 260], [9, 4], [8, 3], [13, 17]]) {
  cases.push({ name: `mean rows ${R}x${C}`, inputs: [{ shape: [R, C] }], op: (x) => mean(x, 0), tol: { rtol: 1e-6, atol: 1e-6 } });
  cases.push({ name: `max rows ${R}x${C}`, inputs: [{ shape: [R, C] }], op: (x) => max(x, 0) });
  cases.push({ name: `min rows ${R}x${C}`, inputs: [{ shape: [2, R, C] }], op: (x) => min(x, 1) });
}
// NaN wins wherever it sits (the first vectors, the loop, the tail; the first row, a
// later pass, the remainder rows, a column tail), and infinities of both signs without
// NaN (whose running sum is NaN) still give the max.
const special = (at: number[], v: number) => (i: number) => (at.includes(i) ? v : (i % 7) - 3);
for (const at of [[0], [20], [68], [5, 40]]) {
  cases.push({ name: `max of 70 with NaN at ${at}`, inputs: [{ shape: [70], values: special(at, NaN), grad: false }], op: (x) => max(x), differentiable: false });
  cases.push({ name: `min of 70 with NaN at ${at}`, inputs: [{ shape: [70], values: special(at, NaN), grad: false }], op: (x) => min(x), differentiable: false });
}
const infs = (i: number) => (i === 3 ? Infinity : i === 50 ? -Infinity : (i % 7) - 3);
cases.push({ name: 'max of 70 with +-inf', inputs: [{ shape: [70], values: infs, grad: false }], op: (x) => max(x), differentiable: false });
cases.push({ name: 'min of 70 with +-inf', inputs: [{ shape: [70], values: infs, grad: false }], op: (x) => min(x), differentiable: false });
for (const at of [[2], [3 * 12 + 5], [5 * 12 + 10], [12 + 11, 4 * 12]]) {
  cases.push({ name: `max rows 6x12 with NaN at ${at}`, inputs: [{ shape: [6, 12], values: special(at, NaN), grad: false }], op: (x) => max(x, 0), differentiable: false });
  cases.push({ name: `min rows 6x12 with NaN at ${at}`, inputs: [{ shape: [6, 12], values: special(at, NaN), grad: false }], op: (x) => min(x, 0), differentiable: false });
}

// Shape ops.
cases.push({ name: 'reshape', inputs: [{ shape: [2, 3, 4] }], op: (x) => mul(reshape(x, [4, -1]), 2) });
cases.push({ name: 'flatten', inputs: [{ shape: [2, 3, 4] }], op: (x) => mul(flatten(x, 1), 2) });
for (const [shape, perm] of [[[3, 5], [1, 0]], [[2, 3, 4], [2, 0, 1]], [[2, 3, 4, 5], [0, 2, 3, 1]], [[300, 200], [1, 0]]] as Array<[number[], number[]]>) {
  cases.push({ name: `permute x=[${shape}] to [${perm}]`, inputs: [{ shape }], op: (x) => permute(x, perm) });
}
cases.push({ name: 'transpose', inputs: [{ shape: [4, 6] }], op: (x) => transpose(x, 0, 1) });

// Losses.
cases.push({ name: 'mseLoss mean', inputs: [{ shape: [3, 7] }, { shape: [3, 7] }], op: (a, b) => nn.mseLoss(a, b) });
cases.push({ name: 'mseLoss sum', inputs: [{ shape: [19] }, { shape: [19] }], op: (a, b) => nn.mseLoss(a, b, { reduction: 'sum' }) });
cases.push({ name: 'mseLoss none', inputs: [{ shape: [2, 5] }, { shape: [2, 5] }], op: (a, b) => nn.mseLoss(a, b, { reduction: 'none' }) });

// Convolution: the chapter's corr2d, and cases at every kernel's tile edges, each
// also against the convolution's own definition (forEachTerm).
cases.push({ name: 'corr2d 6x8 k1x2', inputs: [{ shape: [6, 8] }, { shape: [1, 2] }], op: corr2d });
for (const c of edgeCases(240, 20261125)) {
  const g = conv2dInfo(c.x, c.w, c.opts);
  const inputs = [{ shape: c.x }, { shape: c.w }, ...(c.bias ? [{ shape: [c.w[0]] }] : [])];
  cases.push({
    name: `conv2d ${geometryName(g)}${c.opts.padding === 'same' ? ' same' : ''}${c.bias ? ' bias' : ''}`,
    inputs,
    op: (x, w, b) => conv2d(x, w, { ...c.opts, bias: b ?? null }),
    gradcheck: false,
    definition: ([x, w, b], dy) => {
      const y = new Float64Array(dy.length), dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(g.O);
      conv2dForwardRef(g, x, w, b ?? null, y);
      conv2dBackwardInputRef(g, dy, w, dx);
      conv2dBackwardWeightRef(g, x, dy, dw);
      conv2dBackwardBiasRef(g, dy, db);
      return { y, grads: [dx, dw, ...(b ? [db] : [])] };
    },
  });
}
// The lanes kernels (stride 1, batches of four and more): LeNet's layers at a
// small batch, and random geometries at their edges: a partial sample group,
// odd output widths (a lone column), output channels not a multiple of four or
// two, more than five taps in a row, padding wider than the kernel, dilation, groups.
const lanesConvs: Array<[number[], number[], Record<string, unknown>]> = [
  [[5, 1, 28, 28], [6, 1, 5, 5], { padding: 2 }], [[4, 6, 14, 14], [16, 6, 5, 5], {}], [[9, 6, 14, 14], [16, 6, 5, 5], {}],
  [[4, 1, 7, 9], [3, 1, 3, 3], { padding: 1 }], [[6, 2, 5, 11], [5, 2, 2, 7], { padding: [1, 3] }], [[7, 3, 6, 6], [7, 3, 1, 1], {}],
  [[4, 2, 4, 5], [2, 2, 3, 3], { padding: 3 }], [[5, 4, 9, 8], [6, 2, 3, 2], { groups: 2, dilation: [2, 3], padding: [1, 2] }],
  [[4, 3, 6, 7], [3, 1, 3, 3], { groups: 3, padding: 'same' }], [[8, 1, 1, 1], [1, 1, 1, 1], {}], [[4, 2, 3, 1], [9, 2, 2, 1], { padding: [1, 0] }],
];
for (const c of edgeCases(40, 20260301)) {
  const stride = (c.opts as { stride: number[] }).stride;
  if (stride[0] !== 1 || stride[1] !== 1) continue;
  const x = [4 + (lanesConvs.length % 6), ...c.x.slice(1)];
  if (useLanes(conv2dInfo(x, c.w, c.opts))) lanesConvs.push([x, c.w, c.opts]);
}
// The largest output plane the lanes kernels take (32 x 32), and one row more (the other kernels).
lanesConvs.push([[4, 2, 34, 34], [3, 2, 3, 3], {}]);
cases.push({
  name: 'conv2d x=[4,2,35,34] w=[3,2,3,3] (one output row past the lanes kernels\' planes) bias',
  inputs: [{ shape: [4, 2, 35, 34] }, { shape: [3, 2, 3, 3] }, { shape: [3] }],
  op: (a, b, bias) => conv2d(a, b, { bias }),
  gradcheck: false,
});
it('the lanes cases run on the lanes kernels, and only planes up to 32 x 32 do', () => {
  const off = lanesConvs.filter(([x, w, opts]) => !useLanes(conv2dInfo(x, w, opts)));
  expect(off).toEqual([]);
  expect(useLanes(conv2dInfo([4, 2, 35, 34], [3, 2, 3, 3], {}))).toBe(false);
});
for (const [x, w, opts] of lanesConvs) {
  const g = conv2dInfo(x, w, opts);
  cases.push({
    name: `conv2d lanes ${geometryName(g)}${opts.padding === 'same' ? ' same' : ''} bias`,
    inputs: [{ shape: x }, { shape: w }, { shape: [w[0]] }],
    op: (a, b, bias) => conv2d(a, b, { ...opts, bias }),
    gradcheck: false,
  });
}
// Without a bias (the weight-gradient kernel then writes no bias gradient).
for (const [x, w, opts] of [lanesConvs[0], lanesConvs[2], lanesConvs[7]]) {
  const g = conv2dInfo(x, w, opts);
  cases.push({ name: `conv2d lanes ${geometryName(g)}`, inputs: [{ shape: x }, { shape: w }], op: (a, b) => conv2d(a, b, opts), gradcheck: false });
}
// Central differences on a few small convolutions covering every option.
const gradConvs: Array<[string, number[], number[], Record<string, unknown>]> = [
  ['s=1 p=0', [2, 3, 5, 6], [4, 3, 3, 3], {}], ['s=2 p=1', [1, 2, 7, 7], [3, 2, 3, 3], { stride: 2, padding: 1 }],
  ['s=[2,1] p=[1,2]', [1, 2, 8, 7], [2, 2, 2, 3], { stride: [2, 1], padding: [1, 2] }], ['d=2', [1, 1, 9, 9], [2, 1, 3, 3], { dilation: 2 }],
  ['g=2 p=1', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, padding: 1 }], ['depthwise', [1, 3, 6, 6], [3, 1, 3, 3], { groups: 3, padding: 1 }],
  ['same even kernel', [1, 2, 5, 6], [2, 2, 2, 2], { padding: 'same' }], ['unbatched', [3, 5, 5], [2, 3, 2, 2], {}],
];
for (const [what, x, w, opts] of gradConvs) {
  cases.push({ name: `conv2d gradient ${what} x=[${x}] w=[${w}]`, inputs: [{ shape: x }, { shape: w }, { shape: [w[0]] }], op: (a, b, c) => conv2d(a, b, { ...opts, bias: c }), gradcheck: true });
}

// Optimizer updates: one step of each fused kernel, the updated parameter compared.
const stepCase = (name: string, make: (p: Tensor) => optim.Optimizer<{ lr: number }>, steps: number): (p: Tensor, g: Tensor) => Tensor => (p, g) => {
  const w = p.clone().requiresGrad_();
  const opt = make(w);
  for (let s = 0; s < steps; s++) { w.grad = g.mul(s + 1); opt.step(); w.grad.dispose(); w.grad = null; }
  (opt as unknown as { dispose(): void }).dispose();
  void name;
  return w.detach().add(0);
};
for (const shape of [[7], [16385], BIG]) {
  const optCases: Array<[string, (p: Tensor) => optim.Optimizer<{ lr: number }>]> = [
    ['SGD', (p) => new optim.SGD([p], { lr: 0.1 })],
    ['SGD momentum nesterov weightDecay', (p) => new optim.SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
    ['SGD dampening maximize', (p) => new optim.SGD([p], { lr: 0.05, momentum: 0.5, dampening: 0.2, maximize: true })],
    ['Adam', (p) => new optim.Adam([p], { lr: 0.01, weightDecay: 0.1 })],
    ['Adam amsgrad', (p) => new optim.Adam([p], { lr: 0.01, amsgrad: true })],
    ['AdamW', (p) => new optim.AdamW([p], { lr: 0.01 })],
  ];
  for (const [name, make] of optCases) {
    cases.push({ name: `${name} x=[${shape}]`, inputs: [{ shape, grad: false }, { shape, grad: false }], op: stepCase(name, make, 3), differentiable: false });
  }
}

opSuite('ops', cases, [
  'conv2d_forward_direct', 'conv2d_forward_gemm', 'conv2d_backward_input_gemm', 'conv2d_backward_weight_gemm',
  'conv2d_backward_weight_direct', 'conv2d_backward_bias', 'conv2d_pack', 'conv2d_forward_lanes', 'conv2d_backward_weight_lanes', 'conv2d_pack_lanes', 'unary', 'binary', 'reduce', 'permute', 'softplus', 'sgd', 'adam',
]);

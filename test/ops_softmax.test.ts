// softmax, logSoftmax, where, gather, oneHot, crossEntropy and nllLoss through
// the generic harness (test/harness.ts): forward and backward on every build
// and thread count against the float64 reference, SIMD against scalar, 2
// threads against 1, central-difference gradients on small shapes; at the
// kernels' edges (rows around the vector width and the 8-lane unroll, column
// blocks around BB = 256, chunks, every dimension) and at extreme values.
import { expect, it } from 'vitest';
import { softmax, logSoftmax, where, gather, oneHot, nn } from '../src/index';
import { currentBackend } from '../src/engine';
import { WasmBackend } from '../src/backend/wasm/index';
import { opSuite, type OpCase, type Values } from './harness';

const cases: OpCase[] = [];
const BIGTOL = { rtol: 1e-4, atol: 2e-5 };
/** Whole numbers in [0, n), drawn. */
const classes = (n: number): Values => (_i, r) => Math.min(n - 1, Math.floor(r.uniform() * n));

// softmax / logSoftmax: every dim, rows (B = 1) at the SIMD width and the
// 8-lane unroll, columns (B > 1) around 4 and the BB = 256 block, work for two
// threads, and extreme values.
for (const [name, op] of [['softmax', softmax], ['logSoftmax', logSoftmax]] as const) {
  for (const dim of [0, 1, 2, -1]) {
    cases.push({ name: `${name} x=[2,3,5] dim=${dim}`, inputs: [{ shape: [2, 3, 5] }], op: (x) => op(x, dim) });
  }
  for (const R of [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33]) {
    cases.push({ name: `${name} rows x=[3,${R}]`, inputs: [{ shape: [3, R] }], op: (x) => op(x, 1) });
  }
  for (const B of [2, 3, 4, 5, 9]) {
    cases.push({ name: `${name} columns x=[2,5,${B}] dim=1`, inputs: [{ shape: [2, 5, B] }], op: (x) => op(x, 1) });
  }
  cases.push({ name: `${name} columns x=[2,3,257] dim=1 (past one column block)`, inputs: [{ shape: [2, 3, 257] }], op: (x) => op(x, 1) });
  cases.push({ name: `${name} 0-d`, inputs: [{ shape: [] }], op: (x) => op(x, 0) });
  cases.push({ name: `${name} 1-d x=[70]`, inputs: [{ shape: [70] }], op: (x) => op(x, -1), gradcheck: false });
  // Work for two threads: 300 rows, and 20 slabs of 300 columns.
  cases.push({ name: `${name} rows x=[300,129] (2 threads)`, inputs: [{ shape: [300, 129] }], op: (x) => op(x, 1), tol: BIGTOL });
  cases.push({ name: `${name} columns x=[20,17,300] dim=1 (2 threads)`, inputs: [{ shape: [20, 17, 300] }], op: (x) => op(x, 1), tol: BIGTOL });
  // Large values (exp overflows without the maximum subtracted) and wide spreads (exp underflows).
  cases.push({ name: `${name} large values`, inputs: [{ shape: [4, 19], values: (i, r) => 80 + r.uniform() * 40 }], op: (x) => op(x, 1), gradcheck: false });
  cases.push({ name: `${name} wide spread`, inputs: [{ shape: [4, 19], values: (i, r) => (r.uniform() - 0.5) * 400 }], op: (x) => op(x, 1), gradcheck: false });
  cases.push({ name: `${name} wide spread columns`, inputs: [{ shape: [3, 19, 6], values: (i, r) => (r.uniform() - 0.5) * 400 }], op: (x) => op(x, 1), gradcheck: false });
  // Rows with +inf, NaN, only -inf (NaN throughout), and -inf among finite values (0 / -inf), as PyTorch.
  const special = [1, Infinity, 2, 0, -Infinity, -Infinity, -Infinity, -Infinity, 3, NaN, 1, 2, -Infinity, 0, 1, -Infinity, 3e38, -3e38, 3e38, 0];
  cases.push({ name: `${name} inf and NaN rows`, inputs: [{ shape: [5, 4], values: (i) => special[i] }], op: (x) => op(x, 1), gradcheck: false });
  cases.push({ name: `${name} inf and NaN columns`, inputs: [{ shape: [4, 5], values: (i) => special[(i % 5) * 4 + Math.floor(i / 5)] }], op: (x) => op(x, 0), gradcheck: false });
}

// where: broadcasting of all three operands, scalar branches, NaN and -0 conditions, two threads.
const cond: Values = (i) => [0, 1, NaN, -0, 2, 0][i % 6];
const triples: Array<[number[], number[], number[]]> = [
  [[5], [5], [5]], [[17], [17], [17]], [[2, 3, 4], [4], [3, 1]], [[3, 1], [1, 4], []], [[1, 4], [3, 1], [3, 4]],
  [[2, 1, 3, 1], [1, 5, 1, 2], [2, 5, 3, 2]], [[16385], [1], [16385]], [[3, 50001], [3, 1], [50001]],
];
for (const [c, a, b] of triples) {
  cases.push({
    name: `where c=[${c}] a=[${a}] b=[${b}]`, inputs: [{ shape: c, values: cond, grad: false }, { shape: a }, { shape: b }],
    op: (x, y, z) => where(x, y, z), tol: c.length && c[c.length - 1] > 1000 ? BIGTOL : undefined,
  });
}
cases.push({ name: 'where a scalar', inputs: [{ shape: [3, 7], values: cond, grad: false }, { shape: [7] }], op: (c, b) => where(c, 0.5, b) });
cases.push({ name: 'where b scalar', inputs: [{ shape: [3, 7], values: cond, grad: false }, { shape: [3, 1] }], op: (c, a) => where(c, a, -2) });
cases.push({ name: 'where both scalars', inputs: [{ shape: [9], values: cond }], op: (c) => where(c, 1, -1), differentiable: false });
cases.push({ name: 'where both scalars (2 threads)', inputs: [{ shape: [200001], values: cond }], op: (c) => where(c, 1, -1), differentiable: false });

// gather: each dim, indices smaller than x apart from dim, repeated indices (the
// gradient adds), Int32Array and nested-array indices, 0-d, two threads.
const gathers: Array<[number[], number, number[]]> = [
  [[3, 5], 0, [4, 5]], [[3, 5], 1, [3, 8]], [[3, 5], 0, [2, 3]], [[3, 5], 1, [1, 2]], [[4], 0, [9]],
  [[2, 3, 4], 0, [3, 3, 4]], [[2, 3, 4], 1, [2, 5, 3]], [[2, 3, 4], 2, [1, 3, 6]], [[2, 3, 4], -1, [2, 2, 2]],
  [[3, 100001], 1, [3, 100001]], [[50001, 3], 1, [50001, 4]], [[3, 4], 1, [3, 0]],
];
for (const [xs, dim, is] of gathers) {
  const R = xs[(dim + xs.length) % xs.length];
  const big = xs.reduce((p, q) => p * q, 1) > 1000;
  cases.push({
    name: `gather x=[${xs}] dim=${dim} index=[${is}]`, inputs: [{ shape: xs }, { shape: is, values: classes(R), grad: false }],
    op: (x, idx) => gather(x, dim, idx), gradcheck: !big, tol: big ? BIGTOL : undefined,
  });
}
cases.push({ name: 'gather 0-d', inputs: [{ shape: [] }], op: (x) => gather(x, 0, [0], []).mul(2) });
cases.push({ name: 'gather Int32Array index', inputs: [{ shape: [3, 4] }], op: (x) => gather(x, 1, new Int32Array([3, 3, 0, 1, 2, 2]), [3, 2]) });
cases.push({ name: 'gather nested index', inputs: [{ shape: [3, 4] }], op: (x) => gather(x, 0, [[2, 1, 0, 2], [0, 0, 0, 0]]) });

// oneHot (no gradient): class counts around the vector width, nested labels, inferred counts, two threads.
for (const C of [1, 3, 4, 5, 8, 17]) {
  cases.push({ name: `oneHot n=7 C=${C}`, inputs: [{ shape: [7], values: classes(C) }], op: (l) => oneHot(l, C), differentiable: false });
}
cases.push({ name: 'oneHot labels [2,3] inferred', inputs: [{ shape: [2, 3], values: classes(6) }], op: (l) => oneHot(l), differentiable: false });
cases.push({ name: 'oneHot 0-d label', inputs: [{ shape: [], values: () => 2 }], op: (l) => oneHot(l, 4), differentiable: false });
cases.push({ name: 'oneHot 30000 labels C=10 (2 threads)', inputs: [{ shape: [30000], values: classes(10) }], op: (l) => oneHot(l, 10), differentiable: false });

// crossEntropy and nllLoss: every reduction, weights, ignored targets, label
// smoothing, probability targets, K-dimensional inputs, LeNet's [256, 10], and
// enough elements for two threads (several chunks of the nll kernels).
type Opts = Parameters<typeof nn.crossEntropy>[2];
const IGN = -100;
const targets = (C: number, ignore = false): Values => (i, r) => (ignore && i % 5 === 3 ? IGN : Math.min(C - 1, Math.floor(r.uniform() * C)));
const positive: Values = (_i, r) => 0.1 + r.uniform();
const ceCases: Array<[string, number[], boolean, boolean, Omit<NonNullable<Opts>, 'weight'>]> = [
  ['mean', [6, 5], false, false, {}], ['sum', [6, 5], false, false, { reduction: 'sum' }], ['none', [6, 5], false, false, { reduction: 'none' }],
  ['weighted mean', [6, 5], true, false, {}], ['weighted none', [6, 5], true, false, { reduction: 'none' }],
  ['ignored mean', [8, 5], false, true, {}], ['ignored weighted sum', [8, 5], true, true, { reduction: 'sum' }],
  ['smoothing 0.2 mean', [6, 5], false, false, { labelSmoothing: 0.2 }], ['smoothing 0.2 none', [6, 5], false, true, { labelSmoothing: 0.2, reduction: 'none' }],
  ['smoothing 1 weighted ignored mean', [8, 5], true, true, { labelSmoothing: 1 }], ['smoothing 0.3 weighted sum', [6, 5], true, false, { labelSmoothing: 0.3, reduction: 'sum' }],
  ['ignoreIndex 2', [6, 4], false, false, { ignoreIndex: 2 }],
  ['4-d mean', [2, 3, 4, 5], false, true, {}], ['4-d weighted smoothing none', [2, 3, 4, 5], true, true, { labelSmoothing: 0.1, reduction: 'none' }],
  ['1-d', [7], false, false, {}], ['one class', [5, 1], false, false, {}],
  ['LeNet [256,10]', [256, 10], false, false, {}],
  ['two threads [20000,10] smoothing', [20000, 10], false, true, { labelSmoothing: 0.1 }],
  ['two threads [20000,10] weighted none', [20000, 10], true, true, { reduction: 'none' }],
];
for (const [what, shape, weighted, ignore, opts] of ceCases) {
  const C = shape.length === 1 ? shape[0] : shape[1];
  const tshape = shape.length === 1 ? [] : [shape[0], ...shape.slice(2)];
  const big = shape.reduce((a, b) => a * b, 1) > 1000;
  const inputs = [{ shape, values: ((_i, r) => (r.uniform() - 0.5) * 6) as Values }, { shape: tshape, values: targets(C, ignore), grad: false },
    ...(weighted ? [{ shape: [C], values: positive, grad: false }] : [])];
  cases.push({
    name: `crossEntropy ${what} x=[${shape}]`, inputs, tol: big ? BIGTOL : undefined,
    op: (x, t, w) => nn.crossEntropy(x, t, { ...opts, weight: w }),
  });
  if (!('labelSmoothing' in opts)) {
    cases.push({
      name: `nllLoss ${what} x=[${shape}]`, inputs, tol: big ? BIGTOL : undefined,
      op: (x, t, w) => nn.nllLoss(x, t, { ...opts, weight: w }),
    });
  }
}
// Probability targets (their gradient too).
const probCases: Array<[string, number[], boolean, Omit<NonNullable<Opts>, 'weight'>]> = [
  ['mean', [5, 4], false, {}], ['sum weighted', [5, 4], true, { reduction: 'sum' }], ['none smoothing', [5, 4], false, { reduction: 'none', labelSmoothing: 0.25 }],
  ['mean weighted smoothing', [5, 4], true, { labelSmoothing: 0.1 }], ['3-d none', [2, 3, 4], false, { reduction: 'none' }], ['1-d', [6], false, {}],
  ['two threads [20000,10]', [20000, 10], false, {}],
];
for (const [what, shape, weighted, opts] of probCases) {
  const C = shape.length === 1 ? shape[0] : shape[1];
  const big = shape.reduce((a, b) => a * b, 1) > 1000;
  cases.push({
    name: `crossEntropy probabilities ${what} x=[${shape}]`, tol: big ? BIGTOL : undefined,
    inputs: [{ shape }, { shape, values: positive }, ...(weighted ? [{ shape: [C], values: positive, grad: false }] : [])],
    op: (x, t, w) => nn.crossEntropy(x, t, { ...opts, weight: w }),
  });
}
// Targets as an Int32Array and a number array; large logits.
cases.push({ name: 'crossEntropy Int32Array targets', inputs: [{ shape: [4, 3] }], op: (x) => nn.crossEntropy(x, new Int32Array([2, 0, 1, 1])) });
cases.push({ name: 'nllLoss number[] targets [2,3] flat', inputs: [{ shape: [2, 4, 3] }], op: (x) => nn.nllLoss(x, [0, 3, 1, 2, 2, -100], { reduction: 'none' }) });
cases.push({
  name: 'crossEntropy large logits', inputs: [{ shape: [4, 6], values: (i, r) => (r.uniform() - 0.5) * 2e4 }, { shape: [4], values: targets(6), grad: false }],
  op: (x, t) => nn.crossEntropy(x, t, { labelSmoothing: 0.1 }), gradcheck: false,
});

opSuite('softmax, where, gather, oneHot, losses', cases, ['softmax', 'where', 'index_check', 'gather', 'one_hot', 'nll', 'nll_backward']);

it('every kernel family of this file ran', () => {
  const be = currentBackend();
  expect(be).toBeInstanceOf(WasmBackend);
  const calls = (be as WasmBackend).calls;
  for (const name of ['softmax', 'where', 'index_check', 'gather', 'one_hot', 'nll', 'nll_backward']) {
    expect(calls.get(name) ?? 0, name).toBeGreaterThan(0);
  }
});



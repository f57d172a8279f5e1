// Pooling, padding and conv2d's paddingMode through the generic op harness
// (test/harness.ts): forward and backward on every build and thread count
// against the float64 reference, SIMD against scalar, 2 threads against 1,
// central differences on the small cases. Shapes sit at the kernels' edges:
// overlapping windows, stride larger than the kernel, ceil-mode windows past
// the end, padding, dilation, windows without taps, 1x1 outputs, rows wider
// than the 4-wide vectors, planes split into row blocks, and calls big enough
// to run on two threads (the last test checks that each family did).
import { beforeAll, expect, it } from 'vitest';
import { adaptiveAvgPool2d, avgPool2d, conv2d, maxPool2d, pad, type Tensor } from '../src/index';
import { currentBackend } from '../src/engine';
import { WasmBackend } from '../src/backend/wasm/index';
import { KERNELS } from '../src/backend/registry';
import { envs, opSuite, type OpCase } from './harness';

const cases: OpCase[] = [];
type Opts = Record<string, unknown>;
const show = (o: Opts) => Object.entries(o).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');

// Max pooling: [input shape, kernel, options, gradcheck].
const maxCases: Array<[number[], number | [number, number], Opts]> = [
  [[2, 3, 8, 8], 2, {}],
  [[1, 2, 7, 9], 3, { stride: 1 }], // overlapping windows
  [[1, 1, 9, 11], 2, { stride: 3 }], // stride > kernel
  [[1, 2, 7, 7], 2, { ceilMode: true }], // the last window hangs past the end
  [[1, 1, 6, 7], 3, { stride: 2, padding: 1 }],
  [[1, 1, 5, 6], 3, { stride: 2, padding: 1, ceilMode: true }],
  [[1, 1, 9, 9], 3, { stride: 2, padding: 1, dilation: 2, ceilMode: true }],
  [[1, 1, 6, 10], [2, 3], { stride: [1, 2], padding: [1, 1], dilation: [2, 1] }],
  [[2, 3, 4, 4], 4, {}], // 1x1 outputs
  [[1, 1, 3, 3], 3, { stride: 3, padding: 1 }],
  [[3, 8, 8], 2, {}], // unbatched
  [[1, 2, 5, 67], 2, {}], // rows wider than the vectors, stride 2
  [[1, 1, 3, 130], 3, { stride: 1, padding: 1 }], // stride 1 with borders
  [[1, 1, 4, 50], 3, { stride: 3 }], // stride 3 (gathered lanes)
  [[1, 1, 5, 41], 3, { stride: 2, dilation: 2, padding: 1 }],
  [[1, 1, 6, 9], 2, { padding: 1 }], // 2 wide, stride 2, padded (the direct gradient with borders)
  [[1, 2, 9, 10], [2, 2], { stride: [3, 2], dilation: [2, 1], padding: [1, 1] }], // rows between dilated taps
  [[64, 6, 28, 28], 2, { stride: 2 }], // LeNet's first pooling, on two threads
  [[1, 1, 300, 300], 3, { stride: 1, padding: 1 }], // one plane cut into row blocks
];
for (const [shape, k, o] of maxCases) {
  cases.push({ name: `maxPool2d x=[${shape}] k=${k} ${show(o)}`, inputs: [{ shape }], op: (x) => maxPool2d(x, k, o) });
}
// Windows without a tap inside the input: -inf, no gradient (gradcheck meaningless).
cases.push({ name: 'maxPool2d windows without taps', inputs: [{ shape: [1, 2, 2, 1] }], op: (x) => maxPool2d(x, [1, 2], { stride: 1, padding: [0, 1], dilation: [1, 2] }), gradcheck: false });
// Ties (the first in window order wins), NaN (the last NaN wins), -inf everywhere (the first tap).
const ties = (i: number) => (i * 7) % 3;
cases.push({ name: 'maxPool2d ties', inputs: [{ shape: [2, 2, 6, 9], values: ties }], op: (x) => maxPool2d(x, 3, { stride: 1, padding: 1 }), gradcheck: false });
cases.push({ name: 'maxPool2d ties, wide rows', inputs: [{ shape: [1, 1, 4, 40], values: ties }], op: (x) => maxPool2d(x, 2), gradcheck: false });
const withNaN = (i: number, r: { uniform(): number }) => (i % 7 === 3 || i % 11 === 5 ? NaN : r.uniform());
cases.push({ name: 'maxPool2d NaN, 2x2', inputs: [{ shape: [1, 2, 6, 21], values: withNaN }], op: (x) => maxPool2d(x, 2), gradcheck: false });
cases.push({ name: 'maxPool2d NaN', inputs: [{ shape: [1, 2, 6, 21], values: withNaN }], op: (x) => maxPool2d(x, 3, { stride: 2, padding: 1 }), gradcheck: false });
cases.push({ name: 'maxPool2d -inf', inputs: [{ shape: [1, 1, 4, 12], values: (i) => (i % 5 === 0 ? 1 : -Infinity) }], op: (x) => maxPool2d(x, 2, { stride: 1 }), gradcheck: false });
// Without a gradient no tap indices are kept, and the vector kernel takes its values-only
// path (with a NaN, or infinities of both signs, in a block: the exact path again).
for (const [shape, k, o] of maxCases) {
  cases.push({ name: `maxPool2d values only x=[${shape}] k=${k} ${show(o)}`, inputs: [{ shape, grad: false }], op: (x) => maxPool2d(x, k, o), differentiable: false });
}
const infs = (i: number, r: { uniform(): number }) => (i % 13 === 2 ? Infinity : i % 13 === 3 ? -Infinity : r.uniform());
for (const [what, values] of [['NaN', withNaN], ['ties', ties], ['+-inf', infs], ['-inf', (i: number) => (i % 5 === 0 ? 1 : -Infinity)]] as const) {
  cases.push({ name: `maxPool2d values only, ${what}, 2x2`, inputs: [{ shape: [1, 2, 6, 21], values, grad: false }], op: (x) => maxPool2d(x, 2), differentiable: false });
  cases.push({ name: `maxPool2d values only, ${what}, 3x3`, inputs: [{ shape: [1, 2, 6, 21], values, grad: false }], op: (x) => maxPool2d(x, 3, { stride: 2, padding: 1 }), differentiable: false });
  cases.push({ name: `maxPool2d values only, ${what}, 2x3 dilated`, inputs: [{ shape: [1, 1, 7, 30], values, grad: false }], op: (x) => maxPool2d(x, [2, 3], { stride: 1, dilation: [1, 2] }), differentiable: false });
}
// returnIndices: PyTorch's flat indices (whole numbers).
const indices = (x: Tensor, k: number | [number, number], o: Opts): Tensor => maxPool2d(x, k, { ...o, returnIndices: true })[1];
for (const [shape, k, o] of [...maxCases.slice(0, 17), [[1, 2, 2, 1], [1, 2], { stride: 1, padding: [0, 1], dilation: [1, 2] }]] as Array<[number[], number | [number, number], Opts]>) {
  cases.push({ name: `maxPool2d indices x=[${shape}] k=${k} ${show(o)}`, inputs: [{ shape, grad: false }], op: (x) => indices(x, k, o), differentiable: false });
}
cases.push({ name: 'maxPool2d indices with ties and NaN', inputs: [{ shape: [1, 1, 6, 21], values: (i) => (i % 9 === 4 ? NaN : ties(i)), grad: false }], op: (x) => indices(x, 3, { stride: 2, padding: 1 }), differentiable: false });

// Average pooling.
const avgCases: Array<[number[], number | [number, number], Opts]> = [
  [[2, 3, 8, 8], 2, {}],
  [[1, 2, 7, 9], 3, { stride: 1, padding: 1 }],
  [[1, 2, 7, 9], 3, { stride: 1, padding: 1, countIncludePad: false }],
  [[1, 1, 5, 5], 3, { stride: 2, padding: 1, ceilMode: true }],
  [[1, 1, 5, 5], 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }],
  [[1, 1, 5, 6], 2, { padding: 1, ceilMode: true }], // windows clipped at the padded end
  [[1, 1, 5, 6], 2, { padding: 1, ceilMode: true, countIncludePad: false }],
  [[1, 1, 6, 7], 3, { stride: 2, padding: 1, divisorOverride: 3 }],
  [[1, 1, 6, 7], [2, 3], { stride: [2, 1], divisorOverride: -2 }],
  [[1, 1, 9, 11], 2, { stride: 3 }],
  [[2, 3, 4, 4], 4, {}],
  [[3, 6, 6], 2, {}],
  [[1, 2, 3, 67], 2, { padding: 1 }], // stride-2 rows with borders
  [[1, 2, 3, 67], 2, { padding: 1, countIncludePad: false, ceilMode: true }],
  [[1, 1, 4, 130], 3, { stride: 1, padding: 1 }],
  [[1, 1, 4, 50], 3, { stride: 3, padding: 1, countIncludePad: false }],
  [[1, 1, 5, 41], 3, { stride: 2 }], // overlapping columns in the gradient
  [[64, 6, 28, 28], 2, { stride: 2 }], // LeNet's pooling, on two threads
  [[3, 16, 10, 10], 2, {}], // 2x2 tiles: a row of five (a vector and a lone column)
  [[1, 2, 7, 9], 2, {}], // 2x2 tiles: an odd last row and column get no gradient
  [[1, 1, 6, 10], 2, { divisorOverride: 3 }], // 2x2 tiles with a divisor
  [[1, 1, 5, 7], 2, { ceilMode: true }], // 2x2 with partial windows: not tiles
  [[1, 1, 300, 300], 3, { stride: 1, padding: 1 }], // one plane cut into row blocks, on two threads
];
for (const [shape, k, o] of avgCases) {
  cases.push({ name: `avgPool2d x=[${shape}] k=${k} ${show(o)}`, inputs: [{ shape }], op: (x) => avgPool2d(x, k, o) });
}

// Adaptive average pooling.
const adaptiveCases: Array<[number[], number | [number | null, number | null]]> = [
  [[2, 3, 7, 9], [3, 4]], [[2, 3, 7, 9], 1], [[1, 2, 7, 9], [7, 9]], [[1, 2, 5, 6], [8, 13]], [[1, 2, 5, 6], [null, 2]],
  [[3, 10, 10], 3], [[1, 1, 9, 70], [4, 33]], [[64, 6, 28, 28], 5], [[1, 2, 400, 400], [7, 7]],
];
for (const [shape, s] of adaptiveCases) {
  cases.push({ name: `adaptiveAvgPool2d x=[${shape}] to ${JSON.stringify(s)}`, inputs: [{ shape }], op: (x) => adaptiveAvgPool2d(x, s) });
}

// pad: every mode at 1, 2 and 3 padded dimensions, unbatched, cropping, the largest paddings allowed.
const modes = ['constant', 'reflect', 'replicate', 'circular'] as const;
const padCases: Array<[number[], number[]]> = [
  [[2, 3, 9], [2, 3]], [[3, 9], [3, 1]], [[2, 2, 5, 6], [1, 2, 3, 1]], [[2, 5, 6], [0, 2, 1, 0]], [[1, 2, 3, 4, 5], [1, 1, 2, 0, 1, 2]],
  [[2, 4, 5], [3, 4, 3, 3]], [[2, 2, 5, 6], [-1, 2, 1, -2]], [[1, 1, 3, 70], [5, 7, 1, 1]], [[2, 3, 4, 5, 6], [-1, 1, 0, -2, 1, 1]],
  [[8, 16, 64, 64], [2, 2, 2, 2]],
];
for (const mode of modes) {
  for (const [shape, p] of padCases) {
    // reflect needs each padding below its size; circular at most it.
    cases.push({ name: `pad ${mode} x=[${shape}] pad=[${p}]`, inputs: [{ shape }], op: (x) => pad(x, p, { mode }) });
  }
}
cases.push({ name: 'pad reflect of one big plane (row blocks, two threads)', inputs: [{ shape: [1, 1, 600, 600] }], op: (x) => pad(x, [3, 3, 3, 3], { mode: 'reflect' }) });
cases.push({ name: 'pad circular by the whole size', inputs: [{ shape: [1, 2, 4, 3] }], op: (x) => pad(x, [3, 3, 4, 0], { mode: 'circular' }) });
cases.push({ name: 'pad circular after cropping', inputs: [{ shape: [1, 2, 4, 5] }], op: (x) => pad(x, [4, -1, -2, 2], { mode: 'circular' }) });
cases.push({ name: 'pad reflect beyond the crop', inputs: [{ shape: [1, 1, 4, 4] }], op: (x) => pad(x, [-3, 3, 2, -3], { mode: 'reflect' }) });
cases.push({ name: 'pad replicate beyond the crop', inputs: [{ shape: [1, 1, 4, 4] }], op: (x) => pad(x, [-5, 3, 6, 6], { mode: 'replicate' }) });
cases.push({ name: 'pad constant value 2.5 on 2-D', inputs: [{ shape: [5, 6] }], op: (x) => pad(x, [1, 2, -1, 3], { value: 2.5 }) });
cases.push({ name: 'pad constant on 4 dims of 4-D, 3 padded', inputs: [{ shape: [2, 3, 4, 5] }], op: (x) => pad(x, [0, 1, 2, 0, 1, 1]) });
cases.push({ name: 'pad constant 1-D', inputs: [{ shape: [17] }], op: (x) => pad(x, [5, -2], { value: -1 }) });
cases.push({ name: 'pad constant to empty', inputs: [{ shape: [2, 4] }], op: (x) => pad(x, [-2, -2]) });

// conv2d with paddingMode: the input padded by `pad`, then convolved without padding.
const convCases: Array<[number[], number[], Opts]> = [
  [[2, 3, 6, 7], [4, 3, 3, 3], { padding: 1 }],
  [[1, 2, 5, 6], [2, 2, 2, 2], { padding: 'same' }], // even kernel: the extra on the bottom and right
  [[1, 2, 7, 7], [2, 2, 3, 2], { padding: 'same', dilation: 2 }],
  [[1, 2, 7, 8], [3, 2, 3, 3], { padding: [2, 1], stride: 2 }],
  [[1, 4, 6, 6], [4, 2, 3, 3], { padding: 1, groups: 2 }],
  [[2, 5, 5], [3, 2, 3, 3], { padding: 2 }], // unbatched
];
for (const paddingMode of ['reflect', 'replicate', 'circular'] as const) {
  for (const [xs, ws, o] of convCases) {
    const small = xs.reduce((a, b) => a * b, 1) <= 120;
    cases.push({
      name: `conv2d paddingMode=${paddingMode} x=[${xs}] w=[${ws}] ${show(o)}`,
      inputs: [{ shape: xs }, { shape: ws }, { shape: [ws[0]] }],
      op: (x, w, b) => conv2d(x, w, { ...o, bias: b, paddingMode }),
      gradcheck: small,
    });
  }
}

// Which families some case split over the pool (counted around each run by wrapping the backend's run).
const pooledFamilies = new Set<string>();
beforeAll(() => {
  const proto = WasmBackend.prototype as unknown as { run: (k: { name: string }, p: unknown) => void };
  const run = proto.run;
  proto.run = function (this: WasmBackend, k: { name: string }, p: unknown) {
    const before = this.pooledCalls;
    run.call(this, k, p);
    if (this.pooledCalls > before) pooledFamilies.add(k.name);
  };
  return () => { proto.run = run; };
});

opSuite('pooling', cases, ['max_pool2d', 'max_pool2d_backward', 'avg_pool2d', 'avg_pool2d_backward', 'adaptive_avg_pool2d', 'adaptive_avg_pool2d_backward', 'pad', 'pad_backward']);

it('every pooling and padding kernel family ran, and ran on two threads', () => {
  const be = currentBackend();
  expect(be).toBeInstanceOf(WasmBackend);
  const calls = (be as WasmBackend).calls;
  for (const k of KERNELS) {
    if (k.source !== 'pooling' && k.source !== 'pad') continue;
    expect(calls.get(k.name) ?? 0, k.name).toBeGreaterThan(0);
  }
  // Some configuration has two threads: the biggest case of every family costs enough to be split.
  if (envs().some((e) => e.opts.threads === 2)) {
    for (const k of KERNELS) {
      if (k.source !== 'pooling' && k.source !== 'pad') continue;
      expect(pooledFamilies.has(k.name), `${k.name} split over threads`).toBe(true);
    }
  }
});

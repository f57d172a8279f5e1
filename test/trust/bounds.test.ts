// Every size, option and derived extent is bounded to what the kernels'
// 32-bit arithmetic addresses; the rest is refused with a RangeError naming
// the value, and nothing is allocated or written.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, zeros, ones, full, conv2d, reshape, memory, rand, nn, type Tensor } from '../../src/index';
import { conv2dForwardRef } from '../../src/backend/reference/conv';
import { conv2dInfo } from '../../src/ops/conv_info';

function refused(f: () => unknown, pattern: RegExp): void {
  const before = memory();
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err, String(pattern)).toBeInstanceOf(RangeError);
  expect((err as Error).message).toMatch(pattern);
  expect(memory()).toEqual(before);
}

describe('geometry and shape bounds', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('strides, paddings and dilations of 2^31 and more are refused by value (the issue\'s wrapping case included)', () => {
    const x = ones([1, 1, 3, 3]), w = ones([1, 1, 2, 2]);
    refused(() => conv2d(x, w, { stride: [2 ** 32, 1], padding: [2 ** 32, 0] }), /stride \[4294967296, 1\] is larger than the 2\^28/);
    for (const v of [2 ** 31, 2 ** 31 - 1, 2 ** 32 + 2, 2 ** 53, Number.MAX_SAFE_INTEGER]) {
      refused(() => conv2d(x, w, { stride: v }), new RegExp(`stride ${v} is larger`));
      refused(() => conv2d(x, w, { padding: v }), new RegExp(`padding ${v} is larger`));
      refused(() => conv2d(x, w, { dilation: [1, v] }), new RegExp(`dilation \\[1, ${v}\\] is larger`));
    }
    refused(() => conv2d(x, w, { padding: [2 ** 27, 2 ** 27] }), /padded input height \d+ is larger than the 2\^28/);
    refused(() => conv2d(x, w, { padding: [2 ** 14, 2 ** 14] }), /would have \d+ elements, more than the 2\^29/);
    refused(() => conv2d(x, w, { dilation: 2 ** 28, padding: 2 ** 28 }), /padded input height \d+ is larger than the 2\^28/);
    for (const t of [x, w]) t.dispose();
  });

  it('large but addressable geometries give the reference\'s results', () => {
    const cases: Array<[number[], number[], Record<string, unknown>]> = [
      [[1, 1, 3, 3], [1, 1, 2, 2], { stride: [2 ** 20, 1], padding: [2 ** 20, 0] }],
      [[1, 1, 3, 3], [1, 1, 2, 2], { padding: [100000, 0] }],
      [[1, 2, 4, 5], [3, 2, 2, 2], { stride: 1000, padding: 1000 }],
      [[1, 1, 5, 5], [1, 1, 2, 2], { dilation: [4, 1] }],
    ];
    for (const [xs, ws, opts] of cases) {
      const g = conv2dInfo(xs, ws, opts);
      const xv = Array.from({ length: xs.reduce((a, b) => a * b, 1) }, (_, i) => i + 1);
      const wv = Array.from({ length: ws.reduce((a, b) => a * b, 1) }, (_, i) => (i % 3) - 1);
      const want = new Float64Array(g.N * g.O * g.OH * g.OW);
      conv2dForwardRef(g, xv, wv, null, want);
      const x = tensor(xv, xs), w = tensor(wv, ws);
      const y = conv2d(x, w, opts);
      expect(Array.from(y.data()), JSON.stringify(opts)).toEqual(Array.from(want));
      // The backward pass too: it must not write outside its own outputs.
      const xg = x.clone().requiresGrad_(), wg = w.clone().requiresGrad_();
      const sentinel = full([64], 7);
      conv2d(xg, wg, opts).sum().backward();
      expect(Array.from(sentinel.data())).toEqual(new Array(64).fill(7));
      for (const t of [x, w, y, xg, wg, sentinel]) t.dispose();
    }
  });

  it('shapes whose element count or byte size overflow are refused by every creation function', () => {
    const makers: Array<[string, (s: number[]) => Tensor]> = [
      ['zeros', (s) => zeros(s)], ['ones', (s) => ones(s)], ['full', (s) => full(s, 1)], ['rand', (s) => rand(s)],
      ['tensor', (s) => tensor(new Float32Array(0), s)],
    ];
    for (const [name, make] of makers) {
      refused(() => make([2 ** 16, 2 ** 16]), new RegExp(`${name}: shape \\[65536, 65536\\] has more than the 2\\^29`));
      refused(() => make([2 ** 31, 0]), new RegExp(`${name}: shape \\[2147483648, 0\\] has more than`));
      refused(() => make([2 ** 53, 2]), /has more than the 2\^29/);
      refused(() => make(new Array(40).fill(1)), /40 dimensions, more than the 32/);
    }
    const t = zeros([4]);
    for (const shape of [[2 ** 40, 0], [-1, 2 ** 31, 2 ** 31], [2 ** 31, 2 ** 31, 0, -1]]) {
      expect(() => reshape(t, shape)).toThrow(/invalid for a tensor of 4 elements/);
    }
    t.dispose();
  });

  it('layer options are bounded the same way', () => {
    refused(() => new nn.Conv2D(1, 1, 3, { stride: 2 ** 31 }), /stride 2147483648 is larger/);
    refused(() => new nn.Conv2D(1, 1, 3, { padding: 2 ** 40 }), /padding \d+ is larger/);
  });
});

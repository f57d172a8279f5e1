// Caches of derived data key on everything the data depends on: one weight
// (convolution or linear) reused across every geometry that changes its packed layouts gives the same
// bits as a fresh, never-cached copy of it; a change of the values is seen; the
// packed copies are freed with the weight, explicitly or by garbage collection.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, conv2d, linear, tidy, memory, noGrad, type Tensor } from '../../src/index';
import { Rng } from '../../src/random';
import { expectBitwise, randomArray } from '../helpers';

/** conv2d forward and input gradient, as bits. */
function run(x: Tensor, w: Tensor, opts: Record<string, unknown>): { y: Float32Array; dx: Float32Array } {
  return tidy(() => {
    const xg = x.clone().requiresGrad_();
    const y = conv2d(xg, w, opts);
    y.backward(tensor(randomArray(y.size, new Rng(3)), y.shape as number[]));
    return { y: y.data(), dx: xg.grad!.data() };
  });
}

/** Geometries (input shape, weight view shape, options) that change every packed layout of one [4, 2, 3, 3] weight. */
const VARIANTS: Array<[string, number[], number[], Record<string, unknown>]> = [
  ['groups 1', [2, 2, 9, 9], [4, 2, 3, 3], {}],
  ['groups 2, stride 2', [2, 4, 9, 9], [4, 2, 3, 3], { groups: 2, stride: 2 }],
  ['groups 2, stride 1 (flipped, transposed-correlation path)', [2, 4, 9, 9], [4, 2, 3, 3], { groups: 2, padding: 1 }],
  ['groups 1, padding 2, dilation 2', [1, 2, 11, 10], [4, 2, 3, 3], { padding: 2, dilation: 2 }],
  ['groups 1, stride [2, 1] (col2im GEMM)', [1, 2, 12, 9], [4, 2, 3, 3], { stride: [2, 1] }],
  ['viewed as [4, 2, 9, 1]', [1, 2, 12, 4], [4, 2, 9, 1], {}],
  ['viewed as [4, 1, 6, 3], groups 1', [1, 1, 8, 8], [4, 1, 6, 3], {}],
  ['viewed as [4, 1, 6, 3], groups 2', [1, 2, 8, 8], [4, 1, 6, 3], { groups: 2 }],
  ['viewed as [2, 4, 3, 3]', [1, 4, 7, 7], [2, 4, 3, 3], {}],
  ['viewed as [8, 1, 3, 3], depthwise', [1, 8, 7, 7], [8, 1, 3, 3], { groups: 8, padding: 1 }],
  ['viewed as [72, 1, 1, 1], pointwise groups 72', [1, 72, 3, 3], [72, 1, 1, 1], { groups: 72 }],
  ['groups 1 again', [2, 2, 9, 9], [4, 2, 3, 3], {}],
];

describe('derived-data caches', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('one weight reused across every geometry equals an uncached copy, bit for bit', () => {
    const rng = new Rng(7);
    const base = tensor(randomArray(72, rng), [4, 2, 3, 3]);
    for (const [name, xs, ws, opts] of VARIANTS) {
      const x = tensor(randomArray(xs.reduce((a, b) => a * b, 1), rng), xs);
      const w = base.reshape(ws);            // a view of the same storage
      const cached = run(x, w, opts);
      const again = run(x, w, opts);         // second use: the cache hit
      const fresh = run(x, tensor(base.data(), ws), opts);
      expectBitwise(cached.y, fresh.y, `${name}: forward`);
      expectBitwise(cached.dx, fresh.dx, `${name}: input gradient`);
      expectBitwise(again.y, fresh.y, `${name}: forward, cached`);
      expectBitwise(again.dx, fresh.dx, `${name}: input gradient, cached`);
      x.dispose(); w.dispose();
    }
    base.dispose();
  });

  it('a weight changed in place (through any view) is repacked', () => {
    const rng = new Rng(8);
    const w = tensor(randomArray(72, rng), [4, 2, 3, 3]);
    const x = tensor(randomArray(2 * 2 * 9 * 9, rng), [2, 2, 9, 9]);
    run(x, w, {});
    const flat = w.reshape([72]);
    noGrad(() => flat.assign(randomArray(72, rng)));
    expectBitwise(run(x, w, {}).y, run(x, tensor(w.data(), [4, 2, 3, 3]), {}).y, 'after assign through a view');
    for (const t of [w, x, flat]) t.dispose();
  });

  it("one linear weight reused across every shape and row count equals an uncached copy, bit for bit", () => {
    // linear packs its weight whole (the panels the GEMM reads) and caches it on the storage.
    const rng = new Rng(10);
    const base = tensor(randomArray(24 * 6 * 3, rng), [72, 6]);
    const lin = (x: Tensor, w: Tensor) => tidy(() => {
      const xg = x.clone().requiresGrad_();
      const y = linear(xg, w);
      y.backward(tensor(randomArray(y.size, new Rng(4)), y.shape as number[]));
      return { y: y.data(), dx: xg.grad!.data() };
    });
    const views: Array<[string, () => Tensor]> = [
      ['[72, 6]', () => base.reshape([72, 6])], ['[36, 12]', () => base.reshape([36, 12])], ['[12, 36]', () => base.reshape([12, 36])],
      ['[9, 48]', () => base.reshape([9, 48])], ['rows 8..72 of [72, 6]', () => base.slice(8, 72)], ['rows 1..9 of [9, 48]', () => base.reshape([9, 48]).slice(1, 9)],
      ['[72, 6] again', () => base.reshape([72, 6])],
    ];
    for (const [name, make] of views) {
      const w = make();
      for (const M of [1, 5, 70]) {
        const x = tensor(randomArray(M * w.shape[1], rng), [M, w.shape[1]]);
        const cached = lin(x, w), again = lin(x, w), fresh = lin(x, tensor(w.data(), w.shape as number[]));
        for (const [what, a, b] of [['forward', cached.y, fresh.y], ['forward, cached', again.y, fresh.y], ['input gradient', cached.dx, fresh.dx]] as const) {
          expectBitwise(a, b, `${name}, ${M} rows: ${what}`);
        }
        x.dispose();
      }
      // A write through another view of the storage is seen.
      noGrad(() => base.reshape([432]).assign(randomArray(432, rng)));
      const x = tensor(randomArray(3 * w.shape[1], rng), [3, w.shape[1]]);
      expectBitwise(lin(x, w).y, lin(x, tensor(w.data(), w.shape as number[])).y, `${name}: after assign through another view`);
      x.dispose(); w.dispose();
    }
    base.dispose();
  });

  it('packed copies are freed with their weight', () => {
    const before = memory();
    const rng = new Rng(9);
    const x = tensor(randomArray(2 * 4 * 9 * 9, rng), [2, 4, 9, 9]);
    const wasmBefore = memory().wasmBytes;
    for (let i = 0; i < 200; i++) {
      const w = tensor(randomArray(4 * 2 * 9, rng), [4, 2, 3, 3]);
      for (const [, xs, ws, opts] of VARIANTS.slice(0, 3)) {
        if (xs[1] !== 4 && xs[1] !== 2) continue;
        tidy(() => { conv2d(xs[1] === 4 ? x : x.reshape([4, 2, 9, 9]), w.reshape(ws), opts); });
      }
      w.dispose();
      const lw = tensor(randomArray(20 * 9, rng), [20, 9]);
      tidy(() => { linear(tensor(randomArray(18, rng), [2, 9]), lw); linear(tensor(randomArray(18, rng), [2, 9]), lw.reshape([10, 18]).slice(2, 10).reshape([16, 9])); });
      lw.dispose();
    }
    x.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    expect(memory().wasmBytes).toBe(wasmBefore);
  });
});

const gc = (globalThis as { gc?: () => void }).gc;
describe.runIf(typeof gc === 'function')('garbage collection', () => {
  it('weights freed by the garbage collector release their packed copies too', async () => {
    await init({ threads: 1, maxMemoryMB: 32, replace: true });
    const x = tensor(new Float32Array(1 * 64 * 8 * 8).fill(1), [1, 64, 8, 8]);
    // Each weight is 64*64*9 floats (147 KB) with packed copies about as large; never disposed.
    // Finalizers run as tasks some time after a collection; on a loaded machine that can take a
    // few turns of the event loop, so each collection waits (up to 2 s) until they have run.
    const collect = async () => {
      gc!();
      for (let t = 0; t < 200 && memory().tensors > 20; t++) await new Promise((r) => setTimeout(r, 10));
    };
    for (let i = 0; i < 600; i++) {
      const w = tensor(new Float32Array(64 * 64 * 9).fill(0.01), [64, 64, 3, 3]);
      conv2d(x, w, { padding: 1 }).dispose();
      if (i % 20 === 19) await collect();
    }
    await collect();
    // 600 weights with their packed copies are 350 MB: only collection of both kept this within 32 MB.
    expect(memory().tensors).toBeLessThan(100);
    x.dispose();
  });
});

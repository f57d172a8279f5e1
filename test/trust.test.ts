// Faults, memory limits, numerics and interleaved users.
import { describe, expect, it } from 'vitest';
import {
  init, backendInfo, tensor, zeros, ones, corr2d, conv2d, tidy, keep, memory, BackendError, type Tensor,
} from '../src/index';
import { currentBackend } from '../src/engine';
import type { WasmBackend } from '../src/backend/wasm/index';
import { conv2dForwardRef, conv2dBackwardInputRef, conv2dBackwardWeightRef } from '../src/backend/reference/conv';
import { conv2dInfo } from '../src/ops/conv_info';
import { Rng } from '../src/random';
import { TOL, expectBitwise, expectClose, randomArray } from './helpers';

const big = { x: [2, 16, 40, 40], w: [16, 16, 3, 3] }; // large enough to use both threads

function bigConv(seed = 5) {
  const rng = new Rng(seed);
  return tidy(() => {
    const x = tensor(randomArray(2 * 16 * 40 * 40, rng), big.x);
    const w = tensor(randomArray(16 * 16 * 9, rng), big.w);
    return conv2d(x, w, { padding: 1 }).data();
  });
}

describe('worker faults', () => {
  it('a worker that throws fails that call with BackendError; later calls work and are correct', async () => {
    await init({ threads: 2, build: 'simd', replace: true });
    const expected = bigConv();
    const be = currentBackend() as WasmBackend;
    const before = memory();
    be.pool!.injectFault(1, 1);
    expect(() => bigConv()).toThrow(BackendError);
    expect(() => bigConv()).toThrow(/worker 1 failed while running conv2d_forward_gemm_simd/);
    be.pool!.injectFault(1, 0);
    expect(memory().tensors).toBe(before.tensors);
    expectBitwise(bigConv(), expected, 'after a throwing worker');
    expect(backendInfo().threads).toBe(2);
  });

  it('a worker that dies mid-call fails that call; the engine continues on one thread, then rebuilds the pool', async () => {
    await init({ threads: 2, build: 'simd', replace: true });
    const expected = bigConv();
    const be = currentBackend() as WasmBackend;
    be.pool!.injectFault(1, 2);
    expect(() => bigConv()).toThrow(/a worker stopped responding while running conv2d_forward_gemm_simd/);
    const info = backendInfo();
    expect(info.threads).toBe(1);
    expect(info.note).toMatch(/a worker failed; running on one thread while the pool of 2 is rebuilt/);
    expectBitwise(bigConv(), expected, 'on one thread after the fault');
    await be.rebuilding;
    expect(backendInfo().threads).toBe(2);
    expect(backendInfo().note).toBeUndefined();
    expectBitwise(bigConv(), expected, 'on the rebuilt pool');
  });

  it('init twice and concurrently is safe', async () => {
    await Promise.all([init({ threads: 1 }), init({ threads: 1 }), init({ threads: 1 })]);
    await init({ threads: 1, replace: true });
    expect(corr2d(tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), tensor([[0, 1], [2, 3]])).toArray()).toEqual([[19, 25], [37, 43]]);
  });
});

describe('memory limits', () => {
  it('a request beyond the maximum memory is a RangeError naming the bytes; nothing leaks; the engine keeps working', async () => {
    await init({ threads: 1, maxMemoryMB: 64, replace: true });
    const before = memory();
    let err: unknown;
    try { zeros([4096, 4096]); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(new RegExp(String.raw`^zeros: output of shape \[4096, 4096\]: cannot allocate 67108864 bytes: the largest free range is \d+ bytes \(\d+ free in all, \d+ in use, 67108864-byte maximum\)` + `; ${before.tensors} tensors? (is|are) live`));
    expect(memory().tensors).toBe(before.tensors);
    expect(memory().bytes).toBe(before.bytes);
    // A backward pass that gets its input gradient but nothing after it: fill the
    // memory, leaving exactly one hole of the input gradient's size.
    const x = tensor(new Float32Array(1 * 4 * 300 * 300), [1, 4, 300, 300], { requiresGrad: true });
    const w = ones([8, 4, 3, 3], { requiresGrad: true });
    const y = conv2d(x, w);
    const dy = ones(y.shape);
    const hole = zeros(x.shape);
    const fillers = [];
    for (let size = 1 << 22; size >= 256; size >>= 1) {
      for (;;) {
        try { fillers.push(zeros([size])); } catch { break; }
      }
    }
    hole.dispose();
    const mid = memory();
    expect(() => y.backward(dy)).toThrow(/conv2d backward: .*cannot allocate \d+ bytes/);
    expect(memory().tensors).toBe(mid.tensors);
    expect(memory().bytes).toBe(mid.bytes);
    expect(x.grad).toBeNull();
    for (const t of [x, w, y, dy, ...fillers]) t.dispose();
    expect(memory().tensors).toBe(before.tensors);
    expect(corr2d(ones([3, 3]), ones([2, 2])).toArray()).toEqual([[4, 4], [4, 4]]);
  });
  it('an out-of-memory error counts the live tensors and, when some are in no tidy() scope, says how to free them', async () => {
    await init({ threads: 1, maxMemoryMB: 16, replace: true });
    const base = memory().tensors;
    // A loop that drops its results without dispose(): the garbage collector frees
    // them only when it runs, and this loop gives it almost no JS memory to collect.
    const dropped: Tensor[] = [];
    let err: unknown;
    try { for (;;) dropped.push(ones([64, 1024])); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RangeError);
    const live = memory().tensors;
    expect(live).toBe(base + dropped.length);
    expect((err as Error).message).toMatch(new RegExp(String.raw`^ones: output of shape \[64, 1024\]: cannot allocate 262144 bytes: .*\)` +
      String.raw`; ${live} tensors are live, ${live} of them in no tidy\(\) scope and not disposed: dispose\(\) the tensors you no longer need, or run each step of a loop inside tidy\(\)$`));
    for (const t of dropped) t.dispose();
    // The same inside one tidy scope: the count, and no advice about scopes.
    let inner: unknown;
    tidy(() => { try { for (;;) ones([64, 1024]); } catch (e) { inner = e; } });
    expect((inner as Error).message).toMatch(/\); \d+ tensors are live$/);
    expect(memory().tensors).toBe(base);
    // Views count as tensors; kept and returned tensors leave the scope and count again.
    const kept = tidy(() => { const a = ones([4]); keep(a); return [a, a.reshape([2, 2])]; });
    let third: unknown;
    try { zeros([8 << 20]); } catch (e) { third = e; }
    expect((third as Error).message).toMatch(new RegExp(`; ${base + 2} tensors are live, 2 of them in no tidy`));
    for (const t of kept) t.dispose();
    expect(memory().tensors).toBe(base);
  });
});

describe('numerics', () => {
  it('NaN and ±Infinity propagate as in PyTorch', async () => {
    await init({ threads: 1, replace: true });
    tidy(() => {
      const x = tensor(Array.from({ length: 16 }, (_, i) => i + 1), [1, 1, 4, 4]);
      x.assign(x.data().map((v, i) => (i === 5 ? NaN : i === 11 ? Infinity : v)));
      const w = tensor([[[[1, -1], [0.5, 2]]]]);
      // torch.nn.functional.conv2d, PyTorch 2.x
      expect(conv2d(x, w).toArray()).toEqual([[[[NaN, NaN, 18.5], [NaN, NaN, Infinity], [33.5, 36, -Infinity]]]]);
      expect(conv2d(x, w, { padding: 1 }).toArray()).toEqual([[[
        [2, 4.5, 7, 9.5, 2], [9, NaN, NaN, 18.5, 8], [13, NaN, NaN, Infinity, Infinity],
        [17, 33.5, 36, -Infinity, Infinity], [-13, -1, -1, -1, 16]]]]);
      // Zero padding takes part in the products: 0 * inf is NaN, as in PyTorch.
      const x2 = tensor(Array.from({ length: 9 }, (_, i) => i + 1), [1, 1, 3, 3]);
      const w2 = tensor([[[[Infinity, 1], [1, 1]]]]);
      expect(conv2d(x2, w2, { padding: 1 }).toArray()).toEqual([[[[NaN, NaN, NaN, NaN], [NaN, Infinity, Infinity, Infinity], [NaN, Infinity, Infinity, Infinity], [NaN, Infinity, Infinity, Infinity]]]]);
      const xg = tensor([[[[1, 2], [3, 4]]]], undefined, { requiresGrad: true });
      const wg = tensor([[[[1, 1]]]], undefined, { requiresGrad: true });
      conv2d(xg, wg, { padding: [0, 1] }).backward(tensor([[[[Infinity, 1, 1], [1, 1, 1]]]]));
      expect(xg.grad!.toArray()).toEqual([[[[Infinity, 2], [2, 2]]]]);
      expect(wg.grad!.toArray()).toEqual([[[[NaN, Infinity]]]]);
      expect(tensor([NaN, -1, 2]).relu().toArray()).toEqual([NaN, 0, 2]);
    });
  });

  it('very large and very small magnitudes match the reference', async () => {
    await init({ threads: 1, replace: true });
    for (const scale of [1e30, 1e-30, 1e-38]) {
      const rng = new Rng(11);
      const g = conv2dInfo([2, 6, 9, 11], [5, 6, 3, 3], { padding: 1, stride: [1, 2] });
      const xs = randomArray(2 * 6 * 9 * 11, rng).map((v) => v * scale);
      const ws = randomArray(5 * 6 * 9, rng);
      const dys = randomArray(g.N * g.O * g.OH * g.OW, rng);
      const out = tidy(() => {
        const x = tensor(xs, [2, 6, 9, 11], { requiresGrad: true });
        const w = tensor(ws, [5, 6, 3, 3], { requiresGrad: true });
        const y = conv2d(x, w, { padding: 1, stride: [1, 2] });
        y.backward(tensor(dys, y.shape));
        return { y: y.data(), dx: x.grad!.data(), dw: w.grad!.data() };
      });
      const y = new Float64Array(out.y.length), dx = new Float64Array(xs.length), dw = new Float64Array(ws.length);
      conv2dForwardRef(g, xs, ws, null, y);
      conv2dBackwardInputRef(g, dys, ws, dx);
      conv2dBackwardWeightRef(g, xs, dys, dw);
      // Subnormal float32 loses relative precision: compare in units of the scale.
      const tol = scale < 1e-37 ? { rtol: 1e-3, atol: 1e-3 } : TOL.f32;
      expectClose(Array.from(out.y, (v) => v / scale), Array.from(y, (v) => v / scale), tol, `forward x${scale}`);
      expectClose(out.dx, dx, TOL.f32, `input gradient x${scale}`);
      expectClose(Array.from(out.dw, (v) => v / scale), Array.from(dw, (v) => v / scale), tol, `weight gradient x${scale}`);
    }
  });

  it('results are deterministic from run to run', async () => {
    await init({ threads: 2, build: 'simd', replace: true });
    const a = bigConv(3), b = bigConv(3);
    expectBitwise(a, b, 'run to run');
  });
});

describe('interleaved users', () => {
  it('several async users of the engine cannot corrupt each other', async () => {
    await init({ threads: 2, build: 'simd', replace: true });
    const user = async (k: number) => {
      const out: number[][] = [];
      for (let step = 0; step < 20; step++) {
        const X = tensor(Array.from({ length: 48 }, (_, i) => ((i + k + step) % 5) - 2), [6, 8]);
        await new Promise((r) => setTimeout(r, (k * 7 + step) % 3));
        const K = tensor([[1, -1 - k]]);
        await Promise.resolve();
        const Y = corr2d(X, K);
        const want = corr2dPlain(X.toArray() as number[][], [[1, -1 - k]]);
        expect(Y.toArray()).toEqual(want);
        out.push(Y.data().slice(0, 3) as unknown as number[]);
        for (const t of [X, K, Y]) t.dispose();
      }
      return out.length;
    };
    const before = memory().tensors;
    expect(await Promise.all([0, 1, 2, 3, 4].map(user))).toEqual([20, 20, 20, 20, 20]);
    expect(memory().tensors).toBe(before);
  });
});

/** The chapter's corr2d, literally. */
function corr2dPlain(X: number[][], K: number[][]): number[][] {
  const h = K.length, w = K[0].length;
  const Y: number[][] = [];
  for (let i = 0; i < X.length - h + 1; i++) {
    Y.push([]);
    for (let j = 0; j < X[0].length - w + 1; j++) {
      let s = 0;
      for (let a = 0; a < h; a++) for (let b = 0; b < w; b++) s += X[i + a][j + b] * K[a][b];
      Y[i].push(s);
    }
  }
  return Y;
}

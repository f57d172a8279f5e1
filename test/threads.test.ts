// Results are bitwise identical for any thread count: work is split over
// disjoint outputs and every output is summed in the kernel's fixed order.
import { describe, expect, it } from 'vitest';
import { init, backendInfo, tensor, conv2d, tidy } from '../src/index';
import { currentBackend } from '../src/engine';
import type { WasmBackend } from '../src/backend/wasm/index';
import { Rng } from '../src/random';
import { expectBitwise, randomArray } from './helpers';

const CASES: Array<{ name: string; x: number[]; w: number[]; opts: Record<string, unknown> }> = [
  { name: 'gemm x=[3,16,30,29] w=[20,16,3,3] p=1', x: [3, 16, 30, 29], w: [20, 16, 3, 3], opts: { padding: 1 } },
  { name: 'gemm strided x=[2,24,66,70] w=[26,24,3,3] s=2 p=1', x: [2, 24, 66, 70], w: [26, 24, 3, 3], opts: { stride: 2, padding: 1 } },
  { name: 'direct depthwise x=[4,48,80,81] w=[48,1,3,3] g=48 p=1', x: [4, 48, 80, 81], w: [48, 1, 3, 3], opts: { groups: 48, padding: 1 } },
  { name: 'direct single channel x=[1,1,400,403] w=[1,1,7,7]', x: [1, 1, 400, 403], w: [1, 1, 7, 7], opts: {} },
  { name: 'pointwise x=[2,48,40,40] w=[40,48,1,1]', x: [2, 48, 40, 40], w: [40, 48, 1, 1], opts: {} },
];

function run(c: (typeof CASES)[number], seed: number) {
  const rng = new Rng(seed);
  const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
  return tidy(() => {
    const x = tensor(randomArray(n(c.x), rng), c.x, { requiresGrad: true });
    const w = tensor(randomArray(n(c.w), rng), c.w, { requiresGrad: true });
    const b = tensor(randomArray(c.w[0], rng), [c.w[0]], { requiresGrad: true });
    const y = conv2d(x, w, { ...c.opts, bias: b });
    y.backward(tensor(randomArray(y.size, rng), y.shape));
    return { y: y.data(), dx: x.grad!.data(), dw: w.grad!.data(), db: b.grad!.data() };
  });
}

describe('thread-count determinism', () => {
  it('1 and 2 threads give identical bits for forward and every gradient', async () => {
    await init({ threads: 2, build: 'simd', replace: true });
    expect(backendInfo().threads).toBe(2);
    const be = currentBackend() as WasmBackend;
    const pooled = CASES.map((c, i) => {
      const before = be.pooledCalls;
      const r = run(c, i);
      // The forward pass at least was split over both threads.
      expect(be.pooledCalls, c.name).toBeGreaterThan(before);
      return r;
    });
    await init({ threads: 1, build: 'simd', replace: true });
    expect(backendInfo().threads).toBe(1);
    CASES.forEach((c, i) => {
      const single = run(c, i);
      for (const k of ['y', 'dx', 'dw', 'db'] as const) expectBitwise(pooled[i][k], single[k], `${c.name} ${k}`);
    });
  });
});

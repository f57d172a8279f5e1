// Every kernel family against the float64 reference, and each SIMD kernel
// against its scalar sibling, on shapes at the kernels' tile edges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, conv2d, tidy, noGrad, memory } from '../src/index';
import { currentBackend } from '../src/engine';
import { WasmBackend, type Variant } from '../src/backend/wasm/index';
import { KERNELS, chooseForward } from '../src/backend/wasm/kernels';
import {
  conv2dForwardRef, conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dBackwardBiasRef,
} from '../src/backend/reference/index';
import { conv2dInfo } from '../src/ops/conv_info';
import { Rng } from '../src/random';
import { TOL, edgeCases, expectBitwise, expectClose, geometryName, randomArray } from './helpers';

const CASES = edgeCases(240, 20261125);

interface Result { y: Float32Array; dx: Float32Array; dw: Float32Array; db: Float32Array | null }

function runWasm(c: (typeof CASES)[number], data: { x: Float32Array; w: Float32Array; b: Float32Array; dy: Float32Array }, variant: Variant): Result {
  const be = currentBackend() as WasmBackend;
  be.variant = variant;
  try {
    return tidy(() => {
      const x = tensor(data.x, c.x, { requiresGrad: true });
      const w = tensor(data.w, c.w, { requiresGrad: true });
      const b = c.bias ? tensor(data.b, [c.w[0]], { requiresGrad: true }) : null;
      const y = conv2d(x, w, { ...c.opts, bias: b });
      const yv = y.data();
      y.backward(tensor(data.dy, y.shape));
      return { y: yv, dx: x.grad!.data(), dw: w.grad!.data(), db: b ? b.grad!.data() : null };
    });
  } finally {
    be.variant = 'simd';
  }
}

describe('conv2d kernels vs reference (SIMD build, 1 thread)', () => {
  beforeAll(async () => { await init({ threads: 1 }); });

  it('has at least 200 cases covering both forward algorithms', () => {
    const chosen = new Set(CASES.map((c) => chooseForward(conv2dInfo(c.x, c.w, c.opts)).name));
    expect([...chosen].sort()).toEqual(['conv2d_forward_direct', 'conv2d_forward_gemm']);
    expect(CASES.length).toBeGreaterThanOrEqual(200);
  });

  const rng = new Rng(99);
  for (const c of CASES) {
    const g = conv2dInfo(c.x, c.w, c.opts);
    const data = {
      x: randomArray(g.N * g.C * g.H * g.W, rng),
      w: randomArray(c.w.reduce((a, b) => a * b, 1), rng),
      b: randomArray(g.O, rng),
      dy: randomArray(g.N * g.O * g.OH * g.OW, rng),
    };
    it(`${geometryName(g)}${c.opts.padding === 'same' ? ' same' : ''}${c.bias ? ' bias' : ''}`, () => {
      const before = memory();
      const simd = runWasm(c, data, 'simd');
      const scalar = runWasm(c, data, 'scalar');
      const y = new Float64Array(simd.y.length), dx = new Float64Array(data.x.length);
      const dw = new Float64Array(data.w.length), db = new Float64Array(g.O);
      conv2dForwardRef(g, data.x, data.w, c.bias ? data.b : null, y);
      conv2dBackwardInputRef(g, data.dy, data.w, dx);
      conv2dBackwardWeightRef(g, data.x, data.dy, dw);
      conv2dBackwardBiasRef(g, data.dy, db);
      expectClose(simd.y, y, TOL.f32, 'forward');
      expectClose(simd.dx, dx, TOL.f32, 'backward input');
      expectClose(simd.dw, dw, TOL.f32, 'backward weight');
      if (c.bias) expectClose(simd.db!, db, TOL.f32, 'backward bias');
      // mul + add SIMD and its scalar sibling sum in the same order: identical bits.
      expectBitwise(simd.y, scalar.y, 'forward simd vs scalar');
      expectBitwise(simd.dx, scalar.dx, 'backward input simd vs scalar');
      expectBitwise(simd.dw, scalar.dw, 'backward weight simd vs scalar');
      if (c.bias) expectBitwise(simd.db!, scalar.db!, 'backward bias simd vs scalar');
      expect(memory().tensors).toBe(before.tensors);
    });
  }

  it('ran every kernel family in the kernel table', () => {
    const calls = (currentBackend() as WasmBackend).calls;
    for (const k of KERNELS) expect(calls.get(k.name) ?? 0, k.name).toBeGreaterThan(0);
  });
});

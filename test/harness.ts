// The generic op harness: `opSuite(title, cases)` runs every case of any op,
// forward and backward, on the reference backend (float64: the expected values,
// and a central-difference gradient check) and then on every WebAssembly build
// and thread count this test project runs, comparing
//   - each result with the reference (relative tolerance in one helper),
//   - each SIMD kernel with its scalar sibling (bitwise; within FMA rounding on relaxed SIMD),
//   - 2 threads with 1 thread (bitwise),
//   - memory() before and after (nothing leaks).
// The builds come from WASMCONV_BUILDS (comma-separated; default simd,no-simd,debug);
// the relaxed-SIMD vitest project sets it to relaxed-simd and runs Node with
// --experimental-wasm-relaxed-simd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, memory, noGrad, tensor, tidy, type InitOptions, type Tensor } from '../src/index';
import { currentBackend } from '../src/engine';
import { WasmBackend } from '../src/backend/wasm/index';
import { Rng } from '../src/random';
import { TOL, expectBitwise, expectClose } from './helpers';

/** How an input's values are drawn. */
export type Values = 'any' | 'positive' | 'nonzero' | ((i: number, rng: Rng) => number);

export interface Input {
  shape: readonly number[];
  /** Whether the op is differentiated with respect to it (default true). */
  grad?: boolean;
  /** Default 'any': uniform in [-1, 1). */
  values?: Values;
}

export interface OpCase {
  name: string;
  inputs: readonly Input[];
  /** The op under test. */
  op: (...xs: Tensor[]) => Tensor;
  /** Whether a gradient flows (default true). */
  differentiable?: boolean;
  /** Central differences in float64 (default: when every input has at most 300 elements). */
  gradcheck?: boolean;
  /** Tolerance against the float64 reference (default TOL.f32). */
  tol?: { rtol: number; atol: number };
  /**
   * An independent float64 definition of the forward (and optionally the
   * gradients given the output gradient dy), checked against the reference backend.
   */
  definition?: (xs: Float64Array[], dy: Float64Array) => { y: ArrayLike<number>; grads?: Array<ArrayLike<number> | null> };
}

interface Result { y: Float32Array | Float64Array; grads: Array<Float32Array | Float64Array | null> }

/** The WebAssembly configurations this project runs. */
export function envs(): Array<{ name: string; opts: InitOptions }> {
  const builds = (process.env.WASMCONV_BUILDS ?? 'simd,no-simd,debug').split(',') as Array<NonNullable<InitOptions['build']>>;
  const out: Array<{ name: string; opts: InitOptions }> = [];
  for (const build of builds) {
    for (const threads of build === 'debug' ? [1] : [1, 2]) out.push({ name: `${build}, ${threads} thread${threads > 1 ? 's' : ''}`, opts: { build, threads } });
  }
  return out;
}

function draw(v: Values | undefined, i: number, rng: Rng): number {
  if (typeof v === 'function') return v(i, rng);
  const u = rng.uniform() * 2 - 1;
  if (v === 'positive') return 0.25 + Math.abs(u) * 2;
  if (v === 'nonzero') return (u < 0 ? -0.25 : 0.25) + u;
  return u;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Deterministic data for a case: the inputs and the output gradient. */
function data(c: OpCase, k: number): { xs: Float64Array[]; seed: number } {
  const rng = new Rng(1000 + k);
  // Rounded to float32 so that every backend starts from the same numbers.
  const xs = c.inputs.map((inp) => Float64Array.from({ length: size(inp.shape) }, (_, i) => Math.fround(draw(inp.values, i, rng))));
  return { xs, seed: 5000 + k };
}

/** Runs a case on the current backend: the output and the gradients of sum(y * dy). */
function runCase(c: OpCase, xs: Float64Array[], seed: number): Result {
  return tidy(() => {
    const ts = c.inputs.map((inp, i) => tensor(xs[i], inp.shape as number[], { requiresGrad: c.differentiable !== false && inp.grad !== false }));
    const y = c.differentiable === false ? noGrad(() => c.op(...ts)) : c.op(...ts);
    const yv = y.values();
    const grads: Result['grads'] = ts.map(() => null);
    if (c.differentiable !== false && y.requiresGrad) {
      const rng = new Rng(seed);
      const dy = Float64Array.from({ length: y.size }, () => Math.fround(rng.uniform() * 2 - 1));
      y.backward(tensor(dy, y.shape as number[]));
      ts.forEach((t, i) => { grads[i] = t.grad ? t.grad.values() : null; });
    }
    return { y: yv, grads };
  });
}

/** The projection sum(y * dy) of the op's output at the given inputs, in float64 on the reference backend. */
function objective(c: OpCase, xs: Float64Array[], dy: Float64Array): number {
  return tidy(() => noGrad(() => {
    const ts = c.inputs.map((inp, i) => tensor(xs[i], inp.shape as number[]));
    const y = c.op(...ts).values();
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * dy[i];
    return s;
  }));
}

function gradcheck(c: OpCase, xs: Float64Array[], seed: number, analytic: Result): void {
  const yn = analytic.y.length;
  const rng = new Rng(seed);
  const dy = Float64Array.from({ length: yn }, () => Math.fround(rng.uniform() * 2 - 1));
  const eps = 1e-6;
  c.inputs.forEach((inp, k) => {
    if (inp.grad === false) return;
    const x = xs[k].slice();
    const numeric = new Float64Array(x.length);
    const at = xs.slice();
    at[k] = x;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      x[i] = v + eps; const fp = objective(c, at, dy);
      x[i] = v - eps; const fm = objective(c, at, dy);
      x[i] = v;
      numeric[i] = (fp - fm) / (2 * eps);
    }
    expect(analytic.grads[k], `${c.name}: gradient of input ${k}`).not.toBeNull();
    expectClose(analytic.grads[k]!, numeric, TOL.gradcheck, `${c.name}: d/d input ${k}`);
  });
}

/**
 * Registers the suite: one test per case on the reference backend, then per
 * WebAssembly configuration. Cases run in order; each configuration is
 * initialised once. `families` names the registry's kernel families the cases
 * exercise: each configuration checks that every one of them ran (and
 * test/registry.test.ts that every family of the registry is claimed by a suite).
 */
export function opSuite(title: string, cases: readonly OpCase[], families: readonly string[]): void {
  const expected = new Map<string, Result>();
  const oneThread = new Map<string, Result>();
  describe(title, () => {
    describe('reference backend (float64)', () => {
      beforeAll(async () => { await init({ backend: 'reference', replace: true }); });
      cases.forEach((c, k) => {
        it(c.name, () => {
          const { xs, seed } = data(c, k);
          const before = memory().tensors;
          const r = runCase(c, xs, seed);
          expected.set(c.name, r);
          if (c.definition) {
            const rng = new Rng(seed);
            const dy = Float64Array.from({ length: r.y.length }, () => Math.fround(rng.uniform() * 2 - 1));
            const d = c.definition(xs, dy);
            expectClose(r.y, d.y, TOL.f64, `${c.name}: forward against its definition`);
            d.grads?.forEach((g, i) => { if (g && r.grads[i]) expectClose(r.grads[i]!, g, TOL.f64, `${c.name}: gradient ${i} against its definition`); });
          }
          const small = c.inputs.every((inp) => size(inp.shape) <= 300);
          if (c.differentiable !== false && (c.gradcheck ?? small)) gradcheck(c, xs, seed, r);
          expect(memory().tensors, `${c.name}: tensors left alive`).toBe(before);
        });
      });
    });

    for (const env of envs()) {
      describe(`WebAssembly ${env.name}`, () => {
        let before = new Map<string, number>();
        beforeAll(async () => {
          await init({ ...env.opts, replace: true });
          before = (currentBackend() as WasmBackend).calls;
        });
        afterAll(() => {
          const calls = (currentBackend() as WasmBackend).calls;
          for (const f of families) {
            if (!calls.has(f)) throw new Error(`${title}: ${f} is not a kernel family of the registry`);
            if ((calls.get(f) ?? 0) <= (before.get(f) ?? 0)) throw new Error(`${title} on ${env.name}: no case ran the kernel family ${f}`);
          }
        });
        cases.forEach((c, k) => {
          it(c.name, () => {
            const { xs, seed } = data(c, k);
            const be = currentBackend() as WasmBackend;
            expect(be).toBeInstanceOf(WasmBackend);
            const before = memory();
            const simd = runCase(c, xs, seed);
            const want = expected.get(c.name);
            expect(want, `${c.name}: the reference run`).toBeDefined();
            const tol = c.tol ?? TOL.f32;
            // The best a float32 result can be is the reference rounded to float32 (overflow to Infinity included).
            expectClose(simd.y, want!.y.map(Math.fround), tol, `${c.name}: forward`);
            simd.grads.forEach((g, i) => {
              expect(g === null, `${c.name}: gradient ${i} present`).toBe(want!.grads[i] === null);
              if (g) expectClose(g, want!.grads[i]!.map(Math.fround), tol, `${c.name}: gradient ${i}`);
            });
            if (be.hasSimd) {
              be.variant = 'scalar';
              let scalar: Result;
              try { scalar = runCase(c, xs, seed); } finally { be.variant = 'simd'; }
              const same = (a: Float32Array | Float64Array, b: Float32Array | Float64Array, what: string) => (
                env.opts.build === 'relaxed-simd' ? expectClose(a, b, TOL.fma, what) : expectBitwise(a as Float32Array, b as Float32Array, what));
              same(simd.y, scalar.y, `${c.name}: forward, SIMD vs scalar`);
              simd.grads.forEach((g, i) => { if (g) same(g, scalar.grads[i]!, `${c.name}: gradient ${i}, SIMD vs scalar`); });
            }
            const key = `${env.opts.build}/${c.name}`;
            if (env.opts.threads === 1) oneThread.set(key, simd);
            else {
              const one = oneThread.get(key);
              expect(one, `${c.name}: the 1-thread run`).toBeDefined();
              expectBitwise(simd.y as Float32Array, one!.y as Float32Array, `${c.name}: forward, 2 threads vs 1`);
              simd.grads.forEach((g, i) => { if (g) expectBitwise(g as Float32Array, one!.grads[i] as Float32Array, `${c.name}: gradient ${i}, 2 threads vs 1`); });
            }
            expect(memory().tensors, `${c.name}: tensors left alive`).toBe(before.tensors);
            expect(memory().bytes, `${c.name}: bytes left alive`).toBe(before.bytes);
          });
        });
      });
    }
  });
  afterAll(() => { expected.clear(); oneThread.clear(); });
}

/** Sizes around the vector width, the 8-wide unroll and the element-wise chunk (CHUNK = 16384). */
export const EDGE_SIZES = [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 16383, 16384, 16385];

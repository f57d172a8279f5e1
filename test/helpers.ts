import { expect } from 'vitest';
import type { ConvGeometry } from '../src/backend/backend';
import { Rng } from '../src/random';
import { memory } from '../src/index';

/** Tolerances for float32 kernels against the float64 reference, in one place. */
export const TOL = {
  /** float32 forward/backward vs float64 reference, relative to the scale of the sums */
  f32: { rtol: 2e-5, atol: 1e-5 },
  /** relaxed-SIMD fused multiply-add vs separate mul + add */
  fma: { rtol: 1e-5, atol: 1e-6 },
  /** central differences in float64 */
  gradcheck: { rtol: 1e-5, atol: 1e-7 },
  /** two float64 computations of the same thing in different orders */
  f64: { rtol: 1e-10, atol: 1e-12 },
};

/**
 * Asserts |a - e| <= atol * scale + rtol * |e| element-wise, where scale is the
 * largest |e| (so near-cancelled sums of large terms are judged fairly).
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: { rtol: number; atol: number }, what = ''): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) if (Number.isFinite(expected[i])) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e)) { expect(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`).toBe(true); continue; }
    if (!Number.isFinite(e)) { expect(a, `${what}[${i}]`).toBe(e); continue; }
    const err = Math.abs(a - e);
    if (err > tol.atol * scale + tol.rtol * Math.abs(e)) {
      expect.fail(`${what}[${i}]: got ${a}, expected ${e} (error ${err}, scale ${scale})`);
    }
  }
}

/** Asserts two float arrays are bitwise identical. */
export function expectBitwise(a: Float32Array, b: Float32Array, what = ''): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] !== ub[i]) expect.fail(`${what}[${i}]: ${a[i]} !== ${b[i]}`);
  }
}

/** Deterministic random values in [-1, 1). */
export function randomArray(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform() * 2 - 1;
  return a;
}

/** A test name that states the shape, e.g. `x=[2,3,9,9] w=[4,3,3,3] s=2,1 p=1,0 d=1,1 g=1`. */
export function geometryName(g: ConvGeometry): string {
  return `x=[${g.N},${g.C},${g.H},${g.W}] w=[${g.O},${g.C / g.G},${g.KH},${g.KW}] s=${g.SH},${g.SW} p=${g.PH},${g.PW} d=${g.DH},${g.DW} g=${g.G}`;
}

/** Options chosen so that sizes fall just below, at and above the kernels' tiles. */
export interface Case {
  x: number[]; w: number[];
  opts: { stride: [number, number]; padding: [number, number] | 'same'; dilation: [number, number]; groups: number };
  bias: boolean;
}

/**
 * Random convolution cases at the kernels' tile edges: output widths around the
 * 4- and 16-wide vectors, output planes around the 8- and 64-column tiles,
 * output channels per group around the 4-row tile, channels per group around the
 * 4-channel backward-input block, (c, kh, kw) counts around the 8-column
 * backward-weight block; every option appears.
 */
export function edgeCases(count: number, seed: number): Case[] {
  const rng = new Rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.uniform() * xs.length)];
  const cases: Case[] = [];
  while (cases.length < count) {
    const G = pick([1, 1, 1, 2, 3]);
    const depthwise = rng.uniform() < 0.15;
    const Cg = depthwise ? 1 : pick([1, 2, 3, 4, 5, 8]);
    const Og = depthwise ? pick([1, 2]) : pick([1, 2, 3, 4, 5, 7, 8, 9]);
    const G2 = depthwise ? pick([3, 4, 8]) : G;
    const KH = pick([1, 2, 3, 3, 5]), KW = pick([1, 2, 3, 3, 4]);
    const SH = pick([1, 1, 1, 2, 3]), SW = pick([1, 1, 1, 2]);
    const DH = pick([1, 1, 1, 2]), DW = pick([1, 1, 2]);
    const same = SH === 1 && SW === 1 && rng.uniform() < 0.15;
    const PH = pick([0, 0, 1, 2]), PW = pick([0, 1, 2]);
    const N = pick([1, 1, 2, 3]);
    const effH = DH * (KH - 1) + 1, effW = DW * (KW - 1) + 1;
    // Output width (stride 1) around 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65.
    const OWt = pick([1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65]);
    const OHt = pick([1, 2, 3, 5, 8, 9]);
    const H = Math.max(1, (OHt - 1) * SH + effH - 2 * (same ? 0 : PH));
    const W = Math.max(1, (OWt - 1) * SW + effW - 2 * (same ? 0 : PW));
    if (!same && (H + 2 * PH < effH || W + 2 * PW < effW)) continue;
    cases.push({
      x: [N, Cg * G2, H, W], w: [Og * G2, Cg, KH, KW],
      opts: { stride: [SH, SW], padding: same ? 'same' : [PH, PW], dilation: [DH, DW], groups: G2 },
      bias: rng.uniform() < 0.7,
    });
  }
  return cases;
}

/**
 * The end of every out-of-memory RangeError: the live tensor count and, when some
 * are in no tidy() scope, how to free them (a regular expression source).
 */
export const MEMORY_HINT = String.raw`; \d+ tensors? (is|are) live(, \d+ of them in no tidy\(\) scope and not disposed: dispose\(\) the tensors you no longer need, or run each step of a loop inside tidy\(\))?`;

/**
 * Collects garbage and waits until the safety net has freed every tensor that
 * earlier tests dropped (memory().tensors unchanged over three collections), so
 * that a test which yields to the event loop (a fit, a file read) while it
 * watches memory() sees only its own tensors come and go.
 */
export async function settleGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  let last = -1, same = 0;
  for (let i = 0; i < 200 && same < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
    const n = memory().tensors;
    same = n === last ? same + 1 : 0;
    last = n;
  }
}

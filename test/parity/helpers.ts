// Reading the PyTorch parity fixtures (test/fixtures/parity/<area>.json, written
// by scripts/parity/<area>.py) and comparing with this engine's results.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { tensor, type Tensor } from '../../src/index';

export interface FixtureTensor { shape: number[]; data: Array<number | 'nan' | 'inf' | '-inf'> }
export interface FixtureCase {
  name: string;
  inputs: Record<string, FixtureTensor>;
  args: Record<string, unknown>;
  outputs: Record<string, FixtureTensor>;
  grads: Record<string, FixtureTensor>;
}

/** The cases of one area, with the PyTorch version that made them. */
export function fixture(area: string): { torch: string; cases: FixtureCase[] } {
  return JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'parity', `${area}.json`), 'utf8'));
}

/** A fixture tensor's values as numbers. */
export function values(t: FixtureTensor): Float32Array {
  return Float32Array.from(t.data, (v) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v));
}

/** A fixture tensor as an engine tensor (requiresGrad as asked). */
export function load(t: FixtureTensor, requiresGrad = false): Tensor {
  return tensor(values(t), t.shape, { requiresGrad });
}

/**
 * Asserts an engine tensor equals PyTorch's: same shape; every element within
 * atol + rtol * |expected| (NaN where PyTorch has NaN, equal infinities).
 */
export function expectTorch(actual: Tensor | null | undefined, expected: FixtureTensor, what: string, tol = { rtol: 1e-5, atol: 1e-6 }): void {
  expect(actual, `${what}: missing`).toBeTruthy();
  expect(actual!.shape, `${what}: shape`).toEqual(expected.shape);
  const a = actual!.data(), e = values(expected);
  for (let i = 0; i < e.length; i++) {
    if (Number.isNaN(e[i])) { expect(Number.isNaN(a[i]), `${what}[${i}]: expected NaN, got ${a[i]}`).toBe(true); continue; }
    if (!Number.isFinite(e[i])) { expect(a[i], `${what}[${i}]`).toBe(e[i]); continue; }
    const err = Math.abs(a[i] - e[i]);
    if (err > tol.atol + tol.rtol * Math.abs(e[i])) expect.fail(`${what}[${i}]: got ${a[i]}, PyTorch ${e[i]} (error ${err})`);
  }
}

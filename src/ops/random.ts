import { rngFor } from '../random';
import { checkShape, empty, type Tensor, type TensorOptions } from '../tensor';

/** Options of `rand` and `randn`. */
export interface RandomOptions extends TensorOptions {
  /** Seed for this call only; without it the global generator (see `manualSeed`) is used. */
  seed?: number;
}

/**
 * Uniform random numbers in [0, 1).
 * @example rand([2, 2], { seed: 1 }).shape; // [2, 2], the same values for the same seed
 */
export function rand(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  checkShape(shape, 'rand');
  const rng = rngFor(opts.seed, 'rand');
  const t = empty(shape, 'rand', !!opts.requiresGrad);
  const v = t.values();
  for (let i = 0; i < v.length; i++) v[i] = rng.uniform();
  return t;
}

/**
 * Standard normal random numbers.
 * @example randn([1000], { seed: 7 }).shape; // [1000], mean about 0, std about 1
 */
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  checkShape(shape, 'randn');
  const rng = rngFor(opts.seed, 'randn');
  const t = empty(shape, 'randn', !!opts.requiresGrad);
  const v = t.values();
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  return t;
}

/** @internal Uniform in [lo, hi), from a generator, for layer initialisation. */
export function uniformInto(t: Tensor, lo: number, hi: number, seed?: number): Tensor {
  const rng = rngFor(seed, 'init');
  const v = t.values();
  for (let i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * rng.uniform();
  t.version++;
  return t;
}

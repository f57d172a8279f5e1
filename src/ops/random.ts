import { rngFor, type Rng } from '../random';
import { empty, readOptions, readShape, type Tensor, type TensorOptions } from '../tensor';

/** Options of `rand` and `randn`. */
export interface RandomOptions extends TensorOptions {
  /** Seed for this call only; without it the global generator (see `manualSeed`) is used. */
  seed?: number;
}

/** Fills t with `n` draws of `draw`, generated in JS and copied in once. */
function fillWith(t: Tensor, draw: () => number): Tensor {
  const v = new Float32Array(t.size);
  for (let i = 0; i < v.length; i++) v[i] = draw();
  t.backend.write(t.storage.block, t.offset, v);
  t.storage.version++;
  return t;
}

function random(fn: string, shape: readonly number[], opts: RandomOptions | undefined, draw: (rng: Rng) => number): Tensor {
  const s = readShape(shape, fn);
  const rg = readOptions(opts, fn);
  const rng = rngFor(opts?.seed, fn);
  const t = empty(s.shape, fn);
  fillWith(t, () => draw(rng));
  t.requiresGrad = rg;
  return t;
}

/**
 * Uniform random numbers in [0, 1).
 * @example rand([2, 2], { seed: 1 }).shape; // [2, 2], the same values for the same seed
 */
export function rand(shape: readonly number[], opts?: RandomOptions): Tensor {
  return random('rand', shape, opts, (rng) => rng.uniform());
}

/**
 * Standard normal random numbers.
 * @example randn([1000], { seed: 7 }).shape; // [1000], mean about 0, std about 1
 */
export function randn(shape: readonly number[], opts?: RandomOptions): Tensor {
  return random('randn', shape, opts, (rng) => rng.normal());
}

/** @internal Uniform in [lo, hi), from a generator, for layer initialisation. */
export function uniformInto(t: Tensor, lo: number, hi: number, rng: Rng): Tensor {
  return fillWith(t, () => lo + (hi - lo) * rng.uniform());
}

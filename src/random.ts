/**
 * Seeded pseudo-random numbers (xoshiro128**), so that `rand`, `randn` and layer
 * initialisation are reproducible with `manualSeed(n)` or a per-call `seed`.
 */
export class Rng {
  private s0: number; private s1: number; private s2: number; private s3: number;
  constructor(seed: number) {
    // splitmix32 expands the seed into the state.
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
  }
  /** The generator's state (four 32-bit words), to save and restore. */
  state(): number[] { return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0]; }

  /** A generator continuing from a saved `state()`. */
  static fromState(s: readonly number[], fn = 'Rng.fromState'): Rng {
    if (!Array.isArray(s) || s.length !== 4 || s.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff) || s.every((w) => w === 0)) {
      throw new TypeError(`${fn}: a generator state is four 32-bit unsigned integers, not all 0, got ${JSON.stringify(s)}`);
    }
    const r = new Rng(0);
    [r.s0, r.s1, r.s2, r.s3] = [s[0] | 0, s[1] | 0, s[2] | 0, s[3] | 0];
    return r;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0; this.s3 ^= this.s1; this.s1 ^= this.s2; this.s0 ^= this.s3;
    this.s2 ^= t; this.s3 = rotl(this.s3, 11);
    return r;
  }
  /** Uniform in [0, 1) with 24 random bits (exactly representable in float32). */
  uniform(): number { return (this.nextU32() >>> 8) / 16777216; }
  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
function rotl(x: number, k: number): number { return (x << k) | (x >>> (32 - k)); }

let global = new Rng(Date.now() ^ Math.floor(Math.random() * 0x7fffffff));

/** Seeds the generator behind `rand`, `randn` and layer initialisation. */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed)) throw new TypeError(`manualSeed: seed must be an integer, got ${seed}`);
  global = new Rng(seed);
}

/** The global generator's state (see `manualSeed`), for checkpoints. */
export function getRngState(): number[] { return global.state(); }
/** Restores the global generator from `getRngState()`. */
export function setRngState(s: readonly number[]): void { global = Rng.fromState(s, 'setRngState'); }

/** The generator for one call: a fresh one for an explicit seed, else the global one. */
export function rngFor(seed: number | undefined, fn: string): Rng {
  if (seed === undefined) return global;
  if (!Number.isInteger(seed)) throw new TypeError(`${fn}: seed must be an integer, got ${seed}`);
  return new Rng(seed);
}

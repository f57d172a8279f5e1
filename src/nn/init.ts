// Parameter initialisation with PyTorch's formulas (torch.nn.init). Each
// function fills a tensor in place (no history) from the global generator
// (see `manualSeed`) or a `seed`, and returns it.
import { describe, noGrad } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { fillInPlace } from '../ops/elementwise';
import { rngFor, type Rng } from '../random';
import { Tensor } from '../tensor';

/** What every init function accepts besides its own parameters. */
export interface InitOptions { seed?: number }

type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/**
 * The recommended gain for a nonlinearity, as `torch.nn.init.calculate_gain`.
 * @example calculateGain('relu'); // 1.4142135623730951
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new TypeError(`calculateGain: negative slope ${describe(slope)} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: throw new RangeError(`calculateGain: unsupported nonlinearity ${describe(nonlinearity)}`);
  }
}

/** fan_in and fan_out of a weight, as PyTorch's _calculate_fan_in_and_fan_out. */
export function fans(t: Tensor, fn: string): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new ShapeError(`${fn}: fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape ${fmtShape(t.shape)})`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

function target(t: unknown, fn: string): Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${fn}: expected a Tensor, got ${describe(t)}`);
  return t.check(fn);
}

function fill(t: Tensor, fn: string, opts: InitOptions | undefined, draw: (rng: Rng) => number): Tensor {
  const rng = rngFor(opts?.seed, fn);
  const v = new Float32Array(t.size);
  for (let i = 0; i < v.length; i++) v[i] = draw(rng);
  noGrad(() => t.assign(v));
  return t;
}

/** U(a, b), in place. @example uniform_(zeros([3]), -1, 1); */
export function uniform_(t: Tensor, a = 0, b = 1, opts?: InitOptions): Tensor {
  const x = target(t, 'uniform_');
  if (!(a <= b)) throw new RangeError(`uniform_: a (${a}) must not exceed b (${b})`);
  return fill(x, 'uniform_', opts, (r) => a + (b - a) * r.uniform());
}

/** N(mean, std²), in place. @example normal_(zeros([3]), 0, 0.02); */
export function normal_(t: Tensor, mean = 0, std = 1, opts?: InitOptions): Tensor {
  const x = target(t, 'normal_');
  if (!(std >= 0)) throw new RangeError(`normal_: std must be non-negative, got ${std}`);
  return fill(x, 'normal_', opts, (r) => mean + std * r.normal());
}

/** Fills with `value`, in place. */
export function constant_(t: Tensor, value: number): Tensor {
  const x = target(t, 'constant_');
  if (typeof value !== 'number') throw new TypeError(`constant_: value must be a number, got ${describe(value)}`);
  noGrad(() => fillInPlace(x, value));
  return x;
}
/** Zeros, in place. */
export function zeros_(t: Tensor): Tensor { return constant_(t, 0); }
/** Ones, in place. */
export function ones_(t: Tensor): Tensor { return constant_(t, 1); }

/**
 * U(-a, a) with a = gain·√(6 / (fan_in + fan_out)), in place (Glorot), as
 * `torch.nn.init.xavier_uniform_`: the book's LeNet initialisation.
 * @example xavierUniform_(empty([120, 400])); // U(-0.1061, 0.1061)
 */
export function xavierUniform_(t: Tensor, gain = 1, opts?: InitOptions): Tensor {
  const x = target(t, 'xavierUniform_');
  const { fanIn, fanOut } = fans(x, 'xavierUniform_');
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return fill(x, 'xavierUniform_', opts, (r) => -a + 2 * a * r.uniform());
}

/** N(0, std²) with std = gain·√(2 / (fan_in + fan_out)), in place, as `torch.nn.init.xavier_normal_`. */
export function xavierNormal_(t: Tensor, gain = 1, opts?: InitOptions): Tensor {
  const x = target(t, 'xavierNormal_');
  const { fanIn, fanOut } = fans(x, 'xavierNormal_');
  const std = gain * Math.sqrt(2 / (fanIn + fanOut));
  return fill(x, 'xavierNormal_', opts, (r) => std * r.normal());
}

/** Options of the Kaiming initialisations. */
export interface KaimingOptions extends InitOptions {
  /** The negative slope of the leaky ReLU that follows (default 0). */
  a?: number;
  /** 'fanIn' (default) keeps the forward pass's variance, 'fanOut' the backward's. */
  mode?: 'fanIn' | 'fanOut';
  /** Default 'leaky_relu'. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(x: Tensor, fn: string, opts: KaimingOptions): number {
  const { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu' } = opts;
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new RangeError(`${fn}: mode must be 'fanIn' or 'fanOut', got ${describe(mode)}`);
  const { fanIn, fanOut } = fans(x, fn);
  return calculateGain(nonlinearity, a) / Math.sqrt(mode === 'fanIn' ? fanIn : fanOut);
}

/** U(-b, b) with b = gain·√(3 / fan), in place (He), as `torch.nn.init.kaiming_uniform_`. */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const x = target(t, 'kaimingUniform_');
  const bound = Math.sqrt(3) * kaimingStd(x, 'kaimingUniform_', opts);
  return fill(x, 'kaimingUniform_', opts, (r) => -bound + 2 * bound * r.uniform());
}

/** N(0, std²) with std = gain / √fan, in place, as `torch.nn.init.kaiming_normal_`. */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const x = target(t, 'kaimingNormal_');
  const std = kaimingStd(x, 'kaimingNormal_', opts);
  return fill(x, 'kaimingNormal_', opts, (r) => std * r.normal());
}

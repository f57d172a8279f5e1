import { describe, getBackend } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { relu, sigmoid, tanh, mul } from '../ops/elementwise';
import { leakyRelu } from '../ops/activation';
import { flatten } from '../ops/shape';
import { logSoftmax, softmax } from '../ops/softmax';
import { Rng, rngFor } from '../random';
import { Tensor, empty, zeros } from '../tensor';
import { Module } from './module';

/** Checks a layer's input. */
export function layerInput(x: unknown, layer: string): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${layer}.forward: expected a Tensor, got ${describe(x)}`);
  return x;
}

/**
 * Modules applied in order, as `torch.nn.Sequential`; children are named
 * '0', '1', ... (so parameters are '0.weight', '3.bias', ...).
 *
 * @example
 * const net = new nn.Sequential(new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.Sigmoid(), new nn.AvgPool2d(2));
 * net.forward(randn([1, 1, 28, 28])).shape; // [1, 6, 14, 14]
 * net.namedParameters().map(([n]) => n);      // ['0.weight', '0.bias']
 */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new TypeError(`Sequential: argument ${i} is not a Module, got ${describe(m)}`);
      (this as unknown as Record<string, Module>)[String(i)] = m;
    });
  }

  /** Number of modules. */
  get length(): number { return this.children().length; }

  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    const kids = this.children();
    const m = kids[i < 0 ? kids.length + i : i];
    if (!m) throw new RangeError(`Sequential.at: index ${i} is out of range for ${kids.length} modules`);
    return m;
  }

  forward(x: Tensor): Tensor {
    let h = layerInput(x, 'Sequential');
    for (const m of this.children()) {
      h = m.forward(h);
      if (!(h instanceof Tensor)) throw new TypeError(`Sequential.forward: a ${m.constructor.name} returned ${describe(h)}, not a Tensor`);
    }
    return h;
  }
}

/** Flattens dimensions startDim..endDim (default 1..-1), as `torch.nn.Flatten`. @example new nn.Flatten().forward(ones([2, 3, 4])).shape; // [2, 12] */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    for (const [k, v] of [['startDim', startDim], ['endDim', endDim]] as const) {
      if (!Number.isInteger(v)) throw new TypeError(`Flatten: ${k} must be an integer, got ${describe(v)}`);
    }
  }
  forward(x: Tensor): Tensor { return flatten(layerInput(x, 'Flatten'), this.startDim, this.endDim); }
  protected override extraRepr(): string { return `start_dim=${this.startDim}, end_dim=${this.endDim}`; }
}

/** The input unchanged. */
export class Identity extends Module {
  forward(x: Tensor): Tensor { return layerInput(x, 'Identity'); }
}

/** max(x, 0), as `torch.nn.ReLU`. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor { return relu(layerInput(x, 'ReLU')); }
}

/** x or negativeSlope * x, as `torch.nn.LeakyReLU` (default slope 0.01). */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope)) throw new TypeError(`LeakyReLU: negativeSlope must be a finite number, got ${describe(negativeSlope)}`);
  }
  forward(x: Tensor): Tensor { return leakyRelu(layerInput(x, 'LeakyReLU'), this.negativeSlope); }
  protected override extraRepr(): string { return `negative_slope=${pyFloat(this.negativeSlope)}`; }
}

/** 1 / (1 + e^-x), as `torch.nn.Sigmoid`. */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return sigmoid(layerInput(x, 'Sigmoid')); }
}

/** tanh(x), as `torch.nn.Tanh`. */
export class Tanh extends Module {
  forward(x: Tensor): Tensor { return tanh(layerInput(x, 'Tanh')); }
}

function dimArg(dim: unknown, layer: string): number {
  if (typeof dim !== 'number' || !Number.isInteger(dim)) throw new TypeError(`${layer}: dim must be an integer, got ${describe(dim)}`);
  return dim;
}

/**
 * softmax over `dim`, as `torch.nn.Softmax` (the dim is required: PyTorch's
 * implicit choice is deprecated).
 *
 * @example
 * new nn.Softmax(1).forward(tensor([[0, Math.log(3)]])).toArray(); // [[0.25, 0.75]]
 */
export class Softmax extends Module {
  constructor(readonly dim: number) { super(); dimArg(dim, 'Softmax'); }
  forward(x: Tensor): Tensor { return softmax(layerInput(x, 'Softmax'), this.dim); }
  protected override extraRepr(): string { return `dim=${this.dim}`; }
}

/**
 * log(softmax(x)) over `dim`, computed stably, as `torch.nn.LogSoftmax`.
 *
 * @example
 * new nn.LogSoftmax(-1).forward(tensor([[0, 0]])).toArray(); // [[-0.6931…, -0.6931…]]
 */
export class LogSoftmax extends Module {
  constructor(readonly dim: number) { super(); dimArg(dim, 'LogSoftmax'); }
  forward(x: Tensor): Tensor { return logSoftmax(layerInput(x, 'LogSoftmax'), this.dim); }
  protected override extraRepr(): string { return `dim=${this.dim}`; }
}

/** Options of `Dropout`. */
export interface DropoutOptions {
  /** Seed of this layer's own generator (default: one drawn from the global generator, see `manualSeed`). */
  seed?: number;
}

/**
 * Zeroes each element with probability p during training and scales the rest
 * by 1/(1-p); the identity in eval mode; as `torch.nn.Dropout`. Each Dropout
 * draws from its own seeded generator, so training is reproducible.
 *
 * @example
 * const drop = new nn.Dropout(0.5, { seed: 1 });
 * drop.forward(ones([4])).toArray(); // e.g. [2, 0, 2, 2]; drop.eval() makes it the identity
 */
export class Dropout extends Module {
  /** @internal The layer's generator. */
  readonly _rng: Rng;
  constructor(readonly p = 0.5, opts: DropoutOptions = {}) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be a number in [0, 1], got ${describe(p)}`);
    if (opts === null || typeof opts !== 'object') throw new TypeError(`Dropout: options must be an object, got ${describe(opts)}`);
    const seed = opts.seed;
    this._rng = seed === undefined ? new Rng(rngFor(undefined, 'Dropout').nextU32()) : rngFor(seed, 'Dropout');
  }

  forward(x: Tensor): Tensor {
    const t = layerInput(x, 'Dropout');
    if (!this.training || this.p === 0) return mul(t, 1);
    if (this.p === 1) return mul(t, 0);
    getBackend('Dropout');
    const keepScale = Math.fround(1 / (1 - this.p));
    const m = new Float32Array(t.size);
    for (let i = 0; i < m.length; i++) m[i] = this._rng.uniform() < 1 - this.p ? keepScale : 0;
    const mask = empty(t.shape, 'Dropout');
    let y: Tensor;
    try {
      mask.backend.write(mask.storage.block, 0, m);
      y = mul(t, mask);
    } catch (e) {
      mask.dispose();
      throw e;
    }
    // The mask is saved for the gradient when one is recorded; it then lives in the caller's scope.
    if (!y.requiresGrad) mask.dispose();
    return y;
  }

  protected override extraRepr(): string { return `p=${pyFloat(this.p)}, inplace=False`; }
}

/** Python's repr of a float: 0.5, 0.01, 1e-05, 1.0 (exponent form below 1e-4 and from 1e16, as Python). */
export function pyFloat(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) {
    const [m, e] = v.toExponential().split('e');
    const exp = Number(e);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

/** @internal A zero tensor that is a parameter (requires grad). */
export function zeroParam(shape: number[]): Tensor { return zeros(shape).requiresGrad_(); }

/** @internal Checks an input's rank for a layer. */
export function expectRank(x: Tensor, ranks: number[], layer: string, what: string): void {
  if (!ranks.includes(x.ndim)) throw new ShapeError(`${layer}.forward: expected ${what}, got shape ${fmtShape(x.shape)}`);
}

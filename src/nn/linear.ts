import { describe, getBackend, keep } from '../engine';
import { linear } from '../ops/matmul';
import { uniformInto } from '../ops/random';
import { rngFor } from '../random';
import { type Tensor, empty } from '../tensor';
import { layerInput } from './layers';
import { Module } from './module';

/** Options of `Linear`. */
export interface LinearOptions {
  /** Whether the layer has a bias; default true. */
  bias?: boolean;
  /** Seed for the initial weights (default: the global generator, see `manualSeed`). */
  seed?: number;
}

function features(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 28) {
    throw new RangeError(`Linear: ${name} must be an integer in [1, 2^28], got ${describe(v)}`);
  }
  return v;
}

/**
 * A fully connected layer, as `torch.nn.Linear`: `y = x @ weight^T + bias` over
 * the last dimension of `x` (any leading dimensions are kept). The weight is
 * stored (outFeatures, inFeatures), as PyTorch stores it, and both weight and
 * bias start uniform in [-1/√inFeatures, 1/√inFeatures] (PyTorch's
 * Kaiming-uniform with a = √5). Parameters survive `tidy`; free them with
 * `dispose()`.
 *
 * @example
 * const fc = new nn.Linear(400, 120);
 * fc.forward(randn([256, 400])).shape;   // [256, 120]
 * fc.weight.shape;                       // [120, 400]
 * String(fc);                            // 'Linear(in_features=400, out_features=120, bias=True)'
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    features(inFeatures, 'inFeatures');
    features(outFeatures, 'outFeatures');
    if (opts === null || typeof opts !== 'object') throw new TypeError(`Linear: options must be an object, got ${describe(opts)}`);
    const { bias = true, seed } = opts;
    if (typeof bias !== 'boolean') throw new TypeError(`Linear: bias must be a boolean, got ${describe(bias)}`);
    const rngW = rngFor(seed, 'Linear');
    const rngB = seed === undefined ? rngW : rngFor(seed + 1, 'Linear');
    if (inFeatures * outFeatures > 2 ** 29) {
      throw new RangeError(`Linear: a weight of ${outFeatures} x ${inFeatures} has ${inFeatures * outFeatures} elements, more than the 2^29 supported`);
    }
    getBackend('Linear');
    const bound = 1 / Math.sqrt(inFeatures);
    const weight = keep(uniformInto(empty([outFeatures, inFeatures], 'Linear'), -bound, bound, rngW).requiresGrad_());
    try {
      this.bias = bias ? keep(uniformInto(empty([outFeatures], 'Linear'), -bound, bound, rngB).requiresGrad_()) : null;
    } catch (e) {
      weight.dispose();
      throw e;
    }
    this.weight = weight;
  }

  /** `x @ weight^T + bias` for `x` of shape (..., inFeatures). */
  forward(x: Tensor): Tensor { return linear(layerInput(x, 'Linear'), this.weight, this.bias); }

  protected override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}`;
  }
}

import { describe, keep, noGrad } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { batchNorm, layerNorm } from '../ops/norm';
import { type Tensor, full, ones, zeros } from '../tensor';
import { layerInput, pyFloat } from './layers';
import { Module, tuple } from './module';

/** Options of `BatchNorm2d`, as `torch.nn.BatchNorm2d`. */
export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running statistics (default 0.1); null for a cumulative average. */
  momentum?: number | null;
  /** Learnable per-channel scale and shift (default true). */
  affine?: boolean;
  /** Keep running statistics for eval mode (default true). */
  trackRunningStats?: boolean;
}

/**
 * Batch normalization over the (N, H, W) of each channel of NCHW input, as
 * `torch.nn.BatchNorm2d`: in training, the batch's mean and (biased) variance
 * normalize it and update the running statistics with the unbiased variance;
 * in eval mode the running statistics are used. Parameters `weight`, `bias`;
 * buffers `running_mean`, `running_var`, `num_batches_tracked` (PyTorch's names).
 *
 * @example
 * const bn = new nn.BatchNorm2d(6);
 * const y = bn.forward(randn([8, 6, 14, 14]));   // each channel: mean 0, variance 1
 * bn.running_mean!.shape;                        // [6], moved 10% towards the batch mean
 * bn.eval();                                     // now normalizes with the running statistics
 */
export class BatchNorm2d extends Module {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly running_mean: Tensor | null;
  readonly running_var: Tensor | null;
  readonly num_batches_tracked: Tensor | null;

  constructor(readonly numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    const fn = 'BatchNorm2d';
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new RangeError(`${fn}: numFeatures must be a positive integer, got ${describe(numFeatures)}`);
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
    const { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true } = opts;
    if (typeof eps !== 'number' || !(eps >= 0)) throw new RangeError(`${fn}: eps must be a non-negative number, got ${describe(eps)}`);
    if (momentum !== null && (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1))) throw new RangeError(`${fn}: momentum must be a number in [0, 1] or null, got ${describe(momentum)}`);
    if (typeof affine !== 'boolean') throw new TypeError(`${fn}: affine must be a boolean, got ${describe(affine)}`);
    if (typeof trackRunningStats !== 'boolean') throw new TypeError(`${fn}: trackRunningStats must be a boolean, got ${describe(trackRunningStats)}`);
    this.eps = eps; this.momentum = momentum; this.affine = affine; this.trackRunningStats = trackRunningStats;
    this.registerBuffer('running_mean'); this.registerBuffer('running_var'); this.registerBuffer('num_batches_tracked');
    const made: Tensor[] = [];
    const make = (f: () => Tensor) => { const t = keep(f()); made.push(t); return t; };
    try {
      this.weight = affine ? make(() => ones([numFeatures], { requiresGrad: true })) : null;
      this.bias = affine ? make(() => zeros([numFeatures], { requiresGrad: true })) : null;
      this.running_mean = trackRunningStats ? make(() => zeros([numFeatures])) : null;
      this.running_var = trackRunningStats ? make(() => ones([numFeatures])) : null;
      this.num_batches_tracked = trackRunningStats ? make(() => zeros([])) : null;
    } catch (e) {
      for (const t of made) t.dispose();
      throw e;
    }
  }

  forward(x: Tensor): Tensor {
    const fn = 'BatchNorm2d.forward';
    const t = layerInput(x, 'BatchNorm2d');
    if (t.ndim !== 4) throw new ShapeError(`${fn}: expected 4-D input (N, C, H, W), got shape ${fmtShape(t.shape)}`);
    if (t.shape[1] !== this.numFeatures) throw new ShapeError(`${fn}: input has ${t.shape[1]} channels, the layer ${this.numFeatures} (input shape ${fmtShape(t.shape)})`);
    const track = this.training && this.trackRunningStats;
    if (this.training && t.size / this.numFeatures <= 1) {
      throw new ShapeError(`${fn}: expected more than 1 value per channel when training, got input shape ${fmtShape(t.shape)}`);
    }
    let momentum = this.momentum ?? 0;
    if (track) {
      const nbt = this.num_batches_tracked!;
      noGrad(() => nbt.assign([nbt.item() + 1]));
      // momentum null: a cumulative moving average
      if (this.momentum === null) momentum = 1 / nbt.item();
    }
    return batchNorm(t, {
      runningMean: this.trackRunningStats && (track || !this.training) ? this.running_mean : null,
      runningVar: this.trackRunningStats && (track || !this.training) ? this.running_var : null,
      weight: this.weight, bias: this.bias, training: this.training || !this.trackRunningStats, momentum, eps: this.eps,
    });
  }

  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum === null ? 'None' : pyFloat(this.momentum)}, affine=${this.affine ? 'True' : 'False'}, track_running_stats=${this.trackRunningStats ? 'True' : 'False'}`;
  }
}

/** Options of `LayerNorm`, as `torch.nn.LayerNorm`. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learnable elementwise scale and shift (default true). */
  elementwiseAffine?: boolean;
}

/**
 * Normalization over the last dimensions (`normalizedShape`) of each sample,
 * as `torch.nn.LayerNorm`: (x - mean) / sqrt(var + eps) * weight + bias, with
 * the biased variance.
 *
 * @example
 * const ln = new nn.LayerNorm(10);
 * ln.forward(randn([4, 10])).shape; // [4, 10], each row with mean 0 and variance 1
 */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    const fn = 'LayerNorm';
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : Array.isArray(normalizedShape) ? [...normalizedShape] : null;
    if (!shape || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new RangeError(`${fn}: normalizedShape must be a positive integer or a non-empty list of them, got ${describe(normalizedShape)}`);
    }
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
    const { eps = 1e-5, elementwiseAffine = true } = opts;
    if (typeof eps !== 'number' || !(eps >= 0)) throw new RangeError(`${fn}: eps must be a non-negative number, got ${describe(eps)}`);
    if (typeof elementwiseAffine !== 'boolean') throw new TypeError(`${fn}: elementwiseAffine must be a boolean, got ${describe(elementwiseAffine)}`);
    this.normalizedShape = shape; this.eps = eps; this.elementwiseAffine = elementwiseAffine;
    const w = elementwiseAffine ? keep(full(shape, 1, { requiresGrad: true })) : null;
    try {
      this.bias = elementwiseAffine ? keep(zeros(shape, { requiresGrad: true })) : null;
    } catch (e) {
      w?.dispose();
      throw e;
    }
    this.weight = w;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(layerInput(x, 'LayerNorm'), this.normalizedShape, this.weight, this.bias, this.eps);
  }

  protected override extraRepr(): string {
    return `${tuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${this.elementwiseAffine ? 'True' : 'False'}`;
  }
}

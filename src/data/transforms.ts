// Per-batch transforms for a DataLoader, each seeded from the loader's
// augmentation generator: normalize, random crop with padding, random
// horizontal flip (as torchvision's), composed in order.
import { cropFlip as cropFlipK } from '../backend/registry';
import { describe, tidy } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { div, sub } from '../ops/elementwise';
import { output, run } from '../ops/op';
import type { Rng } from '../random';
import { tensor, type Tensor } from '../tensor';

/** A transform of a batch [N, C, H, W] drawing its randomness from `rng`; returns a new tensor. */
export type Transform = (batch: Tensor, rng: Rng) => Tensor;

function perChannel(v: number | readonly number[], name: string, fn: string): number[] {
  const a = typeof v === 'number' ? [v] : Array.isArray(v) ? [...v] : null;
  if (!a || a.length === 0 || a.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new TypeError(`${fn}: ${name} must be a number or a list of numbers (one per channel), got ${describe(v)}`);
  }
  return a;
}

/**
 * (x - mean) / std per channel, as torchvision's Normalize.
 * @example transforms.normalize(0.2860, 0.3530)   // Fashion-MNIST's mean and std
 */
export function normalize(mean: number | readonly number[], std: number | readonly number[]): Transform {
  const fn = 'normalize';
  const m = perChannel(mean, 'mean', fn), s = perChannel(std, 'std', fn);
  if (s.some((v) => v === 0)) throw new RangeError(`${fn}: std must not be 0, got [${s.join(', ')}]`);
  if (m.length !== s.length && m.length !== 1 && s.length !== 1) throw new RangeError(`${fn}: mean has ${m.length} values and std ${s.length}`);
  return (x) => {
    const C = x.shape[1];
    const fit = (v: number[], name: string) => {
      if (v.length !== 1 && v.length !== C) throw new ShapeError(`${fn}: ${name} has ${v.length} values for ${C} channels (batch ${fmtShape(x.shape)})`);
      return tensor(v.length === 1 ? v : v, [1, v.length, 1, 1]);
    };
    return tidy(() => div(sub(x, fit(m, 'mean')), fit(s, 'std')));
  };
}

/** Runs the crop-and-flip kernel with per-sample offsets. */
function cropFlip(x: Tensor, oh: number, ow: number, pad: number, offsets: Float32Array, fn: string): Tensor {
  const [N, C, H, W] = x.shape;
  const y = output([N, C, oh, ow], fn);
  const o = tensor(offsets, [N, 3]);
  try {
    run(x.backend, cropFlipK, { N, C, H, W, OH: oh, OW: ow, pad, x, offsets: o, y }, fn, y);
  } finally {
    o.dispose();
  }
  return y;
}

function batch4(x: Tensor, fn: string): void {
  if (x.ndim !== 4) throw new ShapeError(`${fn}: expected a batch of images [N, C, H, W], got ${fmtShape(x.shape)}`);
}

/**
 * A crop of `size` at a random offset of the image padded with `padding`
 * zeros on every side, per sample, as torchvision's RandomCrop(size, padding).
 * @example transforms.randomCrop(28, { padding: 4 })
 */
export function randomCrop(size: number | readonly [number, number], opts: { padding?: number } = {}): Transform {
  const fn = 'randomCrop';
  const [oh, ow] = typeof size === 'number' ? [size, size] : Array.isArray(size) ? [size[0], size[1]] : [NaN, NaN];
  if (!Number.isInteger(oh) || !Number.isInteger(ow) || oh < 1 || ow < 1) throw new RangeError(`${fn}: size must be a positive integer or a pair of them, got ${describe(size)}`);
  const pad = opts.padding ?? 0;
  if (!Number.isInteger(pad) || pad < 0) throw new RangeError(`${fn}: padding must be a non-negative integer, got ${describe(pad)}`);
  return (x, rng) => {
    batch4(x, fn);
    const [N, , H, W] = x.shape;
    if (H + 2 * pad < oh || W + 2 * pad < ow) throw new ShapeError(`${fn}: a ${oh}x${ow} crop does not fit images of ${H}x${W} padded by ${pad}`);
    const off = new Float32Array(N * 3);
    for (let n = 0; n < N; n++) {
      off[n * 3] = Math.floor(rng.uniform() * (H + 2 * pad - oh + 1));
      off[n * 3 + 1] = Math.floor(rng.uniform() * (W + 2 * pad - ow + 1));
    }
    return cropFlip(x, oh, ow, pad, off, fn);
  };
}

/**
 * Each image flipped left to right with probability p (default 0.5), as
 * torchvision's RandomHorizontalFlip.
 * @example transforms.randomHorizontalFlip()
 */
export function randomHorizontalFlip(p = 0.5): Transform {
  const fn = 'randomHorizontalFlip';
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${fn}: p must be a number in [0, 1], got ${describe(p)}`);
  return (x, rng) => {
    batch4(x, fn);
    const [N, , H, W] = x.shape;
    const off = new Float32Array(N * 3);
    for (let n = 0; n < N; n++) off[n * 3 + 2] = rng.uniform() < p ? 1 : 0;
    return cropFlip(x, H, W, 0, off, fn);
  };
}

/** The transforms applied in order (intermediates freed). @example transforms.compose(randomCrop(28, { padding: 2 }), normalize(0.5, 0.5)) */
export function compose(...ts: Transform[]): Transform {
  ts.forEach((t, i) => { if (typeof t !== 'function') throw new TypeError(`compose: argument ${i} is not a transform, got ${describe(t)}`); });
  return (x, rng) => tidy(() => ts.reduce((h, t) => t(h, rng), x));
}

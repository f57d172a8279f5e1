import { describe, noGrad, tidy } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { mul, neg, square, sub } from '../ops/elementwise';
import { record, sameBackend, tensorArg } from '../ops/op';
import { mean, sum } from '../ops/reduce';
import type { Tensor } from '../tensor';

/** How a loss reduces over elements, as in PyTorch. */
export type Reduction = 'mean' | 'sum' | 'none';

/** @internal Reads a loss's `reduction` option. */
export function readReduction(opts: unknown, fn: string): Reduction {
  if (opts === undefined) return 'mean';
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
  const r = (opts as { reduction?: unknown }).reduction ?? 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new RangeError(`${fn}: reduction must be 'mean', 'sum' or 'none', got ${describe(r)}`);
  return r;
}

/**
 * Squared error between a prediction and a target of the same shape:
 * `(yhat - y)^2`, averaged ('mean', default), summed ('sum') or element-wise ('none').
 * One op with its own gradient, 2·(yhat - y)·g (divided by the count for 'mean').
 *
 * @example
 * mseLoss(tensor([1, 2]), tensor([0, 0])).item();                      // 2.5
 * mseLoss(tensor([1, 2]), tensor([0, 0]), { reduction: 'sum' }).item(); // 5
 */
export function mseLoss(yhat: Tensor, y: Tensor, opts?: { reduction?: Reduction }): Tensor {
  const fn = 'mseLoss';
  const a = tensorArg(yhat, fn, 'yhat'), b = tensorArg(y, fn, 'y');
  const reduction = readReduction(opts, fn);
  sameBackend(fn, a, b);
  if (fmtShape(a.shape) !== fmtShape(b.shape)) {
    throw new ShapeError(`${fn}: prediction shape ${fmtShape(a.shape)} does not match target shape ${fmtShape(b.shape)}`);
  }
  const out = noGrad(() => tidy(() => {
    const sq = square(sub(a, b));
    return reduction === 'none' ? sq : reduction === 'mean' ? mean(sq) : sum(sq);
  }));
  const scale = reduction === 'mean' ? 2 / a.size : 2;
  return record(out, fn, [a, b], [a, b], (g) => {
    const ga = mul(mul(sub(a, b), scale), g);
    return [a.requiresGrad ? ga : null, b.requiresGrad ? neg(ga) : null];
  });
}

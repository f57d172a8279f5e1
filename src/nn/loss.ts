import { ShapeError, fmtShape } from '../errors';
import { mean, sub, square, sum } from '../ops/index';
import type { Tensor } from '../tensor';

/** How a loss reduces over elements, as in PyTorch. */
export type Reduction = 'mean' | 'sum' | 'none';

/**
 * Squared error between a prediction and a target of the same shape:
 * `(yhat - y)^2`, averaged ('mean', default), summed ('sum') or element-wise ('none').
 *
 * @example
 * mseLoss(tensor([1, 2]), tensor([0, 0])).item();                      // 2.5
 * mseLoss(tensor([1, 2]), tensor([0, 0]), { reduction: 'sum' }).item(); // 5
 */
export function mseLoss(yhat: Tensor, y: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new RangeError(`mseLoss: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
  }
  if (yhat?.shape && y?.shape && fmtShape(yhat.shape) !== fmtShape(y.shape)) {
    throw new ShapeError(`mseLoss: prediction shape ${fmtShape(yhat.shape)} does not match target shape ${fmtShape(y.shape)}`);
  }
  const sq = square(sub(yhat, y));
  if (reduction === 'none') return sq;
  return reduction === 'mean' ? mean(sq) : sum(sq);
}

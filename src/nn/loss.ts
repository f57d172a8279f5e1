import { ShapeError, fmtShape } from '../errors';
import { operand, output } from '../ops/elementwise';
import { Tensor, empty } from '../tensor';

/** How a loss reduces over elements, as in PyTorch. */
export type Reduction = 'mean' | 'sum' | 'none';

/**
 * Squared error between a prediction and a target of the same shape:
 * `(yhat - y)^2`, averaged ('mean', default), summed ('sum') or element-wise ('none').
 * One op with its own gradient, 2·(yhat - y)·g (divided by the count for 'mean').
 *
 * @example
 * mseLoss(tensor([1, 2]), tensor([0, 0])).item();                      // 2.5
 * mseLoss(tensor([1, 2]), tensor([0, 0]), { reduction: 'sum' }).item(); // 5
 */
export function mseLoss(yhat: Tensor, y: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const fn = 'mseLoss';
  const a = operand(yhat, fn, 'yhat'), b = operand(y, fn, 'y');
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw new TypeError(`${fn}: yhat and y must be Tensors`);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${String(opts)}`);
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new RangeError(`${fn}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
  }
  if (fmtShape(a.shape) !== fmtShape(b.shape)) {
    throw new ShapeError(`${fn}: prediction shape ${fmtShape(a.shape)} does not match target shape ${fmtShape(b.shape)}`);
  }
  const n = a.size;
  const scale = reduction === 'mean' ? 1 / n : 1;
  const out = output(reduction === 'none' ? a.shape : [], fn, [a, b], (g) => {
    const gv = g.values();
    const grads: Array<Tensor | null> = [];
    const diff = (sign: number): Tensor => {
      const t = empty(a.shape, fn);
      const o = t.values(), av = a.values(), bv = b.values(), gg = g.values();
      for (let i = 0; i < n; i++) o[i] = sign * 2 * (av[i] - bv[i]) * (reduction === 'none' ? gg[i] : gv[0] * scale);
      return t;
    };
    grads.push(a.requiresGrad ? diff(1) : null);
    grads.push(b.requiresGrad ? diff(-1) : null);
    return grads;
  });
  const o = out.values(), av = a.values(), bv = b.values();
  if (reduction === 'none') {
    for (let i = 0; i < n; i++) { const d = av[i] - bv[i]; o[i] = d * d; }
  } else {
    let s = 0;
    for (let i = 0; i < n; i++) { const d = av[i] - bv[i]; s += d * d; }
    o[0] = s * scale;
  }
  return out;
}

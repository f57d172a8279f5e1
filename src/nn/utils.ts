// Gradient utilities, as torch.nn.utils.
import { describe, noGrad, tidy } from '../engine';
import { DisposedError } from '../errors';
import { abs, mul, pow } from '../ops/elementwise';
import { max, sum } from '../ops/reduce';
import { Tensor } from '../tensor';
import { Module } from './module';

/**
 * Scales the gradients of `params` (a Module, or tensors) in place so that
 * their total norm is at most `maxNorm`, as `torch.nn.utils.clip_grad_norm_`:
 * coef = min(1, maxNorm / (total + 1e-6)). Returns the total norm before clipping.
 *
 * @example
 * loss.backward();
 * nn.utils.clipGradNorm_(model, 1.0);   // then optimizer.step()
 */
export function clipGradNorm_(params: Module | readonly Tensor[], maxNorm: number, normType = 2): number {
  const fn = 'clipGradNorm_';
  const list = params instanceof Module ? params.parameters() : Array.isArray(params) ? [...params] : null;
  if (!list) throw new TypeError(`${fn}: params must be a Module or an array of tensors, got ${describe(params)}`);
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) throw new RangeError(`${fn}: maxNorm must be a non-negative number, got ${describe(maxNorm)}`);
  if (typeof normType !== 'number' || !(normType > 0)) throw new RangeError(`${fn}: normType must be a positive number or Infinity, got ${describe(normType)}`);
  const grads: Tensor[] = [];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${fn}: params[${i}] is not a Tensor`);
    if (p.isDisposed) throw new DisposedError(`${fn}: params[${i}] (tensor #${p.id}) was disposed`);
    if (p.grad) grads.push(p.grad);
  });
  if (grads.length === 0) return 0;
  return noGrad(() => tidy(() => {
    // The norm of each gradient, then the norm of those norms (PyTorch's order).
    const norms = grads.map((g) => (normType === Infinity ? max(abs(g)).item() : Math.fround(pow(sum(pow(abs(g), normType)), 1 / normType).item())));
    const total = normType === Infinity ? Math.max(...norms) : Math.fround(norms.reduce((s, v) => s + v ** normType, 0) ** (1 / normType));
    const coef = Math.min(1, maxNorm / (total + 1e-6));
    for (const g of grads) g.assign(mul(g, coef));
    return total;
  }));
}

// Normalization ops, as torch.nn.functional.batch_norm and layer_norm: one
// recorded op each, whose backward keeps only the normalized input and the
// inverse standard deviation alive between the passes.
import { describe, noGrad, tidy } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import type { Tensor } from '../tensor';
import { add, mul, pow, square, sub } from './elementwise';
import { boolArg, needsGrad, numberArg, record, tensorArg } from './op';
import { mean, sum } from './reduce';
import { reshape } from './shape';

/** Options of `batchNorm`. */
export interface BatchNormArgs {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Use the batch's statistics and update the running ones (default false: use the running ones). */
  training?: boolean;
  /** Weight of the batch in the running statistics (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Batch normalization over every dimension but the channels (dim 1), as
 * `torch.nn.functional.batch_norm`. In training the batch's mean and biased
 * variance normalize the input, and the running statistics (when given) move
 * towards the batch's with `momentum`, using the unbiased variance; otherwise
 * the running statistics normalize it.
 *
 * @example
 * const x = randn([8, 3, 5, 5]);
 * batchNorm(x, { training: true }).mean([0, 2, 3]).toArray(); // about [0, 0, 0]
 */
export function batchNorm(x: Tensor, args: BatchNormArgs = {}): Tensor {
  const fn = 'batchNorm';
  const t = tensorArg(x, fn, 'input');
  if (args === null || typeof args !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(args)}`);
  const { runningMean = null, runningVar = null, weight = null, bias = null } = args;
  const training = boolArg(args.training, fn, 'training', false);
  const momentum = numberArg(args.momentum ?? 0.1, fn, 'momentum');
  const eps = numberArg(args.eps ?? 1e-5, fn, 'eps');
  if (t.ndim < 2) throw new ShapeError(`${fn}: expected at least 2-D input (N, C, ...), got shape ${fmtShape(t.shape)}`);
  const C = t.shape[1];
  const perChannel = (v: Tensor | null, name: string): Tensor | null => {
    if (v === null) return null;
    const u = tensorArg(v, fn, name);
    if (u.ndim !== 1 || u.shape[0] !== C) throw new ShapeError(`${fn}: ${name} must have shape [${C}] (one per channel of input ${fmtShape(t.shape)}), got ${fmtShape(u.shape)}`);
    return u;
  };
  const rm = perChannel(runningMean, 'runningMean'), rv = perChannel(runningVar, 'runningVar');
  const w = perChannel(weight, 'weight'), b = perChannel(bias, 'bias');
  if (!training && (!rm || !rv)) throw new TypeError(`${fn}: runningMean and runningVar are needed when not training`);
  const dims = t.shape.map((_, i) => i).filter((i) => i !== 1);
  const n = t.size / C;
  if (training && n <= 1) throw new ShapeError(`${fn}: expected more than 1 value per channel when training, got input shape ${fmtShape(t.shape)}`);
  const stat = t.shape.map((d, i) => (i === 1 ? d : 1));
  // The normalized input and 1/std, made without history; the output recorded as one op.
  const [xhat, invstd] = noGrad(() => tidy(() => {
    if (training) {
      const mu = mean(t, dims, true);
      const centered = sub(t, mu);
      const v = mean(square(centered), dims, true);
      if (rm && rv) {
        rm.assign(add(mul(rm, 1 - momentum), mul(reshape(mu, [C]), momentum)));
        rv.assign(add(mul(rv, 1 - momentum), mul(reshape(v, [C]), (momentum * n) / (n - 1))));
      }
      const is = pow(add(v, eps), -0.5);
      return [mul(centered, is), is];
    }
    const is = pow(add(reshape(rv!, stat), eps), -0.5);
    return [mul(sub(t, reshape(rm!, stat)), is), is];
  }));
  const out = noGrad(() => tidy(() => (w ? add(mul(xhat, reshape(w, stat)), reshape(b!, stat)) : b ? add(xhat, reshape(b, stat)) : mul(xhat, 1))));
  const inputs = [t, ...(w ? [w] : []), ...(b ? [b] : [])];
  if (!needsGrad(inputs)) { xhat.dispose(); invstd.dispose(); return out; }
  return record(out, fn, inputs, [xhat, invstd, ...(w ? [w] : [])], (g) => {
    const grads: Array<Tensor | null> = [null];
    if (t.requiresGrad) {
      const dxhat = w ? mul(g, reshape(w, stat)) : g;
      grads[0] = training
        // (1/n) * invstd * (n dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
        ? mul(mul(sub(sub(mul(dxhat, n), sum(dxhat, dims, true)), mul(xhat, sum(mul(dxhat, xhat), dims, true))), invstd), 1 / n)
        : mul(dxhat, invstd);
    }
    if (w) grads.push(w.requiresGrad ? reshape(sum(mul(g, xhat), dims), [C]) : null);
    if (b) grads.push(b.requiresGrad ? reshape(sum(g, dims), [C]) : null);
    return grads;
  });
}

/**
 * Layer normalization over the last `normalizedShape.length` dimensions, as
 * `torch.nn.functional.layer_norm`: (x - mean) / sqrt(var + eps) * weight + bias
 * with the biased variance.
 *
 * @example layerNorm(tensor([[1, 2, 3]]), [3]).toArray(); // [[-1.2247, 0, 1.2247]]
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const fn = 'layerNorm';
  const t = tensorArg(x, fn, 'input');
  if (!Array.isArray(normalizedShape)) throw new TypeError(`${fn}: normalizedShape must be an array of integers, got ${describe(normalizedShape)}`);
  const shape = [...normalizedShape];
  const k = shape.length;
  const tail = t.shape.slice(t.ndim - k);
  if (k === 0 || t.ndim < k || tail.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${fn}: input shape ${fmtShape(t.shape)} does not end with the normalized shape ${fmtShape(shape)}`);
  }
  const e = numberArg(eps, fn, 'eps');
  const w = weight === null ? null : tensorArg(weight, fn, 'weight'), b = bias === null ? null : tensorArg(bias, fn, 'bias');
  for (const [v, name] of [[w, 'weight'], [b, 'bias']] as const) {
    if (v && fmtShape(v.shape) !== fmtShape(shape)) throw new ShapeError(`${fn}: ${name} must have the normalized shape ${fmtShape(shape)}, got ${fmtShape(v.shape)}`);
  }
  const dims = Array.from({ length: k }, (_, i) => t.ndim - k + i);
  const D = shape.reduce((p, q) => p * q, 1);
  const [xhat, invstd] = noGrad(() => tidy(() => {
    const centered = sub(t, mean(t, dims, true));
    const is = pow(add(mean(square(centered), dims, true), e), -0.5);
    return [mul(centered, is), is];
  }));
  const out = noGrad(() => tidy(() => (w ? (b ? add(mul(xhat, w), b) : mul(xhat, w)) : b ? add(xhat, b) : mul(xhat, 1))));
  const inputs = [t, ...(w ? [w] : []), ...(b ? [b] : [])];
  if (!needsGrad(inputs)) { xhat.dispose(); invstd.dispose(); return out; }
  const lead = t.shape.map((_, i) => i).slice(0, t.ndim - k);
  return record(out, fn, inputs, [xhat, invstd, ...(w ? [w] : [])], (g) => {
    const grads: Array<Tensor | null> = [null];
    if (t.requiresGrad) {
      const dxhat = w ? mul(g, w) : g;
      grads[0] = mul(mul(sub(sub(mul(dxhat, D), sum(dxhat, dims, true)), mul(xhat, sum(mul(dxhat, xhat), dims, true))), invstd), 1 / D);
    }
    if (w) grads.push(w.requiresGrad ? sum(mul(g, xhat), lead) : null);
    if (b) grads.push(b.requiresGrad ? sum(g, lead) : null);
    return grads;
  });
}

// Activation functions. Every export of this module is public (src/ops/index.ts
// re-exports it whole), so a new activation is added here and nowhere else.
import { BINARY, UNARY, softplus as softplusK } from '../backend/registry';
import type { Tensor } from '../tensor';
import { binaryNew, unaryOp } from './elementwise';
import { numberArg, output, record, run, tensorArg } from './op';

/**
 * x where x > 0, else negativeSlope * x (default 0.01).
 * @example leakyRelu(tensor([-1, 2]), 0.1).toArray(); // [-0.1, 2]
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  const s = numberArg(negativeSlope, 'leakyRelu', 'negativeSlope');
  return unaryOp('leakyRelu', x, UNARY.LEAKY_RELU, (g, t) => binaryNew(BINARY.LEAKY_BW, g, t, 'leakyRelu', s), 'x', s);
}


/**
 * log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold, as
 * `torch.nn.functional.softplus` (defaults beta 1, threshold 20).
 * @example softplus(tensor([0])).item(); // 0.6931 (log 2)
 */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  const fn = 'softplus';
  const t = tensorArg(x, fn, 'x');
  const b = numberArg(beta, fn, 'beta'), th = numberArg(threshold, fn, 'threshold');
  if (b === 0) throw new RangeError(`${fn}: beta must not be 0`);
  const y = output(t.shape, fn);
  run(t.backend, softplusK, { n: t.size, beta: b, threshold: th, backward: 0, x: t, y }, fn, y);
  return record(y, fn, [t], [t], (g) => {
    const dx = output(t.shape, fn);
    run(t.backend, softplusK, { n: t.size, beta: b, threshold: th, backward: 1, x: t, g, y: dx }, fn, dx);
    return [dx];
  });
}

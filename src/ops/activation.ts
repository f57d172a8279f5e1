// Activation functions. Every export of this module is public (src/ops/index.ts
// re-exports it whole), so a new activation is added here and nowhere else.
import { BINARY, UNARY } from '../backend/registry';
import type { Tensor } from '../tensor';
import { binaryNew, unaryOp } from './elementwise';
import { numberArg } from './op';

/**
 * x where x > 0, else negativeSlope * x (default 0.01).
 * @example leakyRelu(tensor([-1, 2]), 0.1).toArray(); // [-0.1, 2]
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  const s = numberArg(negativeSlope, 'leakyRelu', 'negativeSlope');
  return unaryOp('leakyRelu', x, UNARY.LEAKY_RELU, (g, t) => binaryNew(BINARY.LEAKY_BW, g, t, 'leakyRelu', s), 'x', s);
}


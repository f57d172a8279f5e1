// The op functions (each is also a Tensor method).
export {
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge,
  neg, square, relu, exp, log, sigmoid, tanh, sqrt, abs, sign, clamp, clone,
} from './elementwise';
export * from './activation';
export * from './norm';
export * from './shape_ops';
export * from './softmax';
export { sum, mean, max, min, argmax, argmin } from './reduce';
export { reshape, flatten, transpose, permute } from './shape';
export type { Operand } from './op';
export { conv2d, corr2d, type Conv2dArgs } from './conv';
export { conv2dInfo, type Conv2dOptions } from './conv_info';
export { rand, randn, type RandomOptions } from './random';
export * from './matmul';
export * from './pooling';

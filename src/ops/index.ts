// The op functions, and the same ops as Tensor methods.
import { backward } from '../autograd';
import { Tensor } from '../tensor';
import { add, copy, div, mean, mul, neg, pow, relu, reshape, square, sub, sum, type Operand } from './elementwise';
import { noGrad, type TensorLike } from '../tensor';

export { add, sub, mul, div, neg, square, pow, relu, sum, mean, reshape } from './elementwise';
export type { Operand } from './elementwise';
export { conv2d, corr2d, type Conv2dArgs } from './conv';
export { conv2dInfo, type Conv2dOptions } from './conv_info';
export { rand, randn, type RandomOptions } from './random';

declare module '../tensor' {
  interface Tensor {
    /** `add(this, other)` */ add(other: Operand): Tensor;
    /** `sub(this, other)` */ sub(other: Operand): Tensor;
    /** `mul(this, other)` */ mul(other: Operand): Tensor;
    /** `div(this, other)` */ div(other: Operand): Tensor;
    /** `neg(this)` */ neg(): Tensor;
    /** `square(this)` */ square(): Tensor;
    /** `pow(this, p)` */ pow(p: number): Tensor;
    /** `relu(this)` */ relu(): Tensor;
    /** `sum(this)` */ sum(): Tensor;
    /** `mean(this)` */ mean(): Tensor;
    /** `reshape(this, shape)` */ reshape(shape: readonly number[]): Tensor;
    /** Reverse-mode differentiation into the leaves' `.grad`; see `backward`. */
    backward(grad?: Tensor | TensorLike): void;
    /** A copy without history that does not require grad. */
    detach(): Tensor;
  }
}

const proto = Tensor.prototype;
proto.add = function (o) { return add(this, o); };
proto.sub = function (o) { return sub(this, o); };
proto.mul = function (o) { return mul(this, o); };
proto.div = function (o) { return div(this, o); };
proto.neg = function () { return neg(this); };
proto.square = function () { return square(this); };
proto.pow = function (p) { return pow(this, p); };
proto.relu = function () { return relu(this); };
proto.sum = function () { return sum(this); };
proto.mean = function () { return mean(this); };
proto.reshape = function (shape) { return reshape(this, shape); };
proto.backward = function (grad) { backward(this, grad); };
proto.detach = function () { this.check('detach'); return noGrad(() => copy(this)); };

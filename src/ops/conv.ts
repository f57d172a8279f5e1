import type { ConvGeometry } from '../backend/backend';
import { ShapeError, fmtShape } from '../errors';
import { Tensor, empty } from '../tensor';
import { checkSameBackend, operand, output } from './elementwise';
import { conv2dInfo, type Conv2dOptions } from './conv_info';

/** Options of `conv2d`: `torch.nn.functional.conv2d`'s, with the bias among them. */
export interface Conv2dArgs extends Conv2dOptions {
  /** Shape [out_channels]. */
  bias?: Tensor | null;
}

function tensorArg(x: unknown, fn: string, name: string): Tensor {
  const t = operand(x, fn, name);
  if (!(t instanceof Tensor)) throw new TypeError(`${fn}: ${name} must be a Tensor, got a number`);
  return t;
}

/** Forward convolution of validated operands with its gradient function. */
function convolve(fn: string, g: ConvGeometry, x: Tensor, w: Tensor, b: Tensor | null, outShape: number[]): Tensor {
  const inputs = b ? [x, w, b] : [x, w];
  const y = output(outShape, fn, inputs, (dy) => {
    const be = x.backend;
    const grads: Array<Tensor | null> = [null, null];
    try {
      if (x.requiresGrad) {
        grads[0] = empty(x.shape, fn);
        be.conv2dBackwardInput(g, dy.storage, w.check(fn).storage, grads[0].storage, { id: w.id, version: w.version });
      }
      if (w.requiresGrad) {
        grads[1] = empty(w.shape, fn);
        be.conv2dBackwardWeight(g, x.check(fn).storage, dy.storage, grads[1].storage);
      }
      if (b) {
        grads.push(b.requiresGrad ? empty(b.shape, fn) : null);
        if (grads[2]) be.conv2dBackwardBias(g, dy.storage, grads[2].storage);
      }
    } catch (e) {
      // Nothing half-made survives a failure (e.g. memory exhausted).
      for (const t of grads) t?.dispose();
      throw named(e, `${fn} backward`, x, w);
    }
    return grads;
  });
  try {
    x.backend.conv2dForward(g, x.storage, w.storage, b ? b.storage : null, y.storage, { id: w.id, version: w.version });
  } catch (e) {
    y.dispose();
    throw named(e, fn, x, w);
  }
  return y;
}

/** Prefixes an allocation failure with the op and its shapes. */
function named(e: unknown, fn: string, x: Tensor, w: Tensor): unknown {
  if (e instanceof RangeError && e.message.startsWith('wasmconv:')) {
    return new RangeError(`${fn}: input ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)}: ${e.message.slice('wasmconv: '.length)}`);
  }
  return e;
}

/**
 * 2-D cross-correlation with the semantics of `torch.nn.functional.conv2d`:
 * input (N, C, H, W) or (C, H, W), weight (O, C/groups, kH, kW), optional bias (O).
 *
 * @example
 * const x = ones([1, 1, 6, 8]);
 * const w = tensor([[[[1, -1]]]]);                       // (1, 1, 1, 2)
 * conv2d(x, w).shape;                                     // [1, 1, 6, 7]
 * conv2d(x, w, { padding: 'same' }).shape;                // [1, 1, 6, 8]
 * conv2d(ones([2, 4, 9, 9]), ones([6, 2, 3, 3]), { stride: 2, padding: 1, groups: 2 }).shape; // [2, 6, 5, 5]
 */
export function conv2d(x: Tensor, weight: Tensor, opts: Conv2dArgs = {}): Tensor {
  const fn = 'conv2d';
  const xt = tensorArg(x, fn, 'input'), wt = tensorArg(weight, fn, 'weight');
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${String(opts)}`);
  const b = opts.bias === undefined || opts.bias === null ? null : tensorArg(opts.bias, fn, 'bias');
  checkSameBackend(fn, xt, wt, ...(b ? [b] : []));
  const g = conv2dInfo(xt.shape, wt.shape, opts, fn);
  if (b && (b.ndim !== 1 || b.shape[0] !== g.O)) {
    throw new ShapeError(`${fn}: bias must have shape [${g.O}] (one per output channel), got ${fmtShape(b.shape)}`);
  }
  const outShape = xt.ndim === 4 ? [g.N, g.O, g.OH, g.OW] : [g.O, g.OH, g.OW];
  return convolve(fn, g, xt, wt, b, outShape);
}

/**
 * The chapter's two-dimensional cross-correlation: `X` (h, w) with kernel `K`
 * (kh, kw), no padding, stride 1; the output is (h - kh + 1, w - kw + 1).
 *
 * @example
 * const X = tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
 * const K = tensor([[0, 1], [2, 3]]);
 * corr2d(X, K).toArray(); // [[19, 25], [37, 43]]
 */
export function corr2d(X: Tensor, K: Tensor): Tensor {
  return corr2dBias(X, K, null);
}

/** @internal corr2d(X, K) + bias for a one-element bias, as one op (the chapter's layer). */
export function corr2dBias(X: Tensor, K: Tensor, bias: Tensor | null, fn = 'corr2d'): Tensor {
  const x = tensorArg(X, fn, 'X'), k = tensorArg(K, fn, 'K');
  if (x.ndim !== 2) throw new ShapeError(`${fn}: X must be 2-D (h, w), got shape ${fmtShape(x.shape)}`);
  if (k.ndim !== 2) throw new ShapeError(`${fn}: K must be 2-D (kh, kw), got shape ${fmtShape(k.shape)}`);
  checkSameBackend(fn, x, k);
  if (k.shape[0] > x.shape[0] || k.shape[1] > x.shape[1] || k.size === 0) {
    throw new ShapeError(`${fn}: kernel ${fmtShape(k.shape)} is larger than the input ${fmtShape(x.shape)}`);
  }
  const g = conv2dInfo([1, 1, x.shape[0], x.shape[1]], [1, 1, k.shape[0], k.shape[1]], {}, fn);
  const b = bias === null ? null : tensorArg(bias, fn, 'bias');
  if (b && b.size !== 1) throw new ShapeError(`${fn}: bias must have one element, got shape ${fmtShape(b.shape)}`);
  return convolve(fn, g, x, k, b, [g.OH, g.OW]);
}

// Shape ops. reshape and flatten are views: the result shares the input's
// storage (and its version), no copy. transpose and permute copy into a new
// contiguous tensor with the registry's `permute` kernel.
import { ShapeError, fmtShape } from '../errors';
import { describe } from '../engine';
import { MAX_ELEMENTS, MAX_NDIM, type Tensor, view } from '../tensor';
import { broadcastShapes } from './elementwise';
import { dimArg, output, record, run, tensorArg } from './op';
import { permute as permuteK } from '../backend/registry';
import { permuteInto } from './reduce';

/** A private copy of a reshape target: integers >= 0, at most one -1 inferred from `size`. */
function readTarget(shape: unknown, size: number, from: readonly number[], fn: string): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${fn}: shape must be an array of integers, got ${describe(shape)}`);
  const n = shape.length;
  if (n > MAX_NDIM) throw new RangeError(`${fn}: shape has ${n} dimensions, more than the ${MAX_NDIM} supported`);
  const s = new Array<number>(n);
  for (let i = 0; i < n; i++) s[i] = shape[i];
  let free = -1, known = 1;
  for (let i = 0; i < n; i++) {
    const d = s[i];
    if (d === -1 && free < 0) { free = i; continue; }
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new RangeError(`${fn}: shape entries must be non-negative integers or a single -1, got [${s.map(String).join(', ')}]`);
    }
    known *= d;
    if (known > MAX_ELEMENTS) throw new ShapeError(`${fn}: shape [${s.join(', ')}] is invalid for a tensor of ${size} elements (shape ${fmtShape(from)})`);
  }
  if (free >= 0) {
    if (known === 0 || size % known !== 0) throw new ShapeError(`${fn}: shape [${s.join(', ')}] is invalid for a tensor of ${size} elements (shape ${fmtShape(from)})`);
    s[free] = size / known;
  } else if (known !== size) {
    throw new ShapeError(`${fn}: shape ${fmtShape(s)} (${known} elements) is invalid for a tensor of ${size} elements (shape ${fmtShape(from)})`);
  }
  return s;
}

/**
 * The same data with a new shape (one entry may be -1): a view that shares
 * the input's memory, as `torch.reshape` on a contiguous tensor.
 * @example reshape(ones([6, 8]), [1, 1, 6, -1]).shape; // [1, 1, 6, 8]
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const fn = 'reshape';
  const t = tensorArg(x, fn, 'x');
  const s = readTarget(shape, t.size, t.shape, fn);
  return record(view(t, s, t.size), fn, [t], [], (g) => [view(g, t.shape, g.size)]);
}

/**
 * Flattens dimensions startDim..endDim (default all) into one: a view.
 * @example flatten(ones([2, 3, 4]), 1).shape; // [2, 12]
 */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  const fn = 'flatten';
  const t = tensorArg(x, fn, 'x');
  if (t.ndim === 0) return reshape(t, [1]);
  const a = dimArg(startDim, t.ndim, fn, 'startDim'), b = dimArg(endDim, t.ndim, fn, 'endDim');
  if (a > b) throw new RangeError(`${fn}: startDim (${startDim}) must not come after endDim (${endDim}) for a ${t.ndim}-d tensor`);
  const s = [...t.shape.slice(0, a), t.shape.slice(a, b + 1).reduce((p, q) => p * q, 1), ...t.shape.slice(b + 1)];
  return record(view(t, s, t.size), fn, [t], [], (g) => [view(g, t.shape, g.size)]);
}

/**
 * The dimensions reordered (a contiguous copy), as `torch.permute`.
 * @example permute(ones([2, 3, 4]), [2, 0, 1]).shape; // [4, 2, 3]
 */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  return permuteNamed('permute', x, dims);
}

function permuteNamed(fn: string, x: unknown, dims: readonly number[]): Tensor {
  const t = tensorArg(x, fn, 'x');
  if (!Array.isArray(dims)) throw new TypeError(`${fn}: dims must be an array of integers, got ${describe(dims)}`);
  const n = dims.length;
  const d = new Array<number>(n);
  for (let i = 0; i < n; i++) d[i] = dims[i];
  if (n !== t.ndim) throw new ShapeError(`${fn}: dims [${d.join(', ')}] must list each of the ${t.ndim} dimensions of shape ${fmtShape(t.shape)} once`);
  const p = d.map((v) => dimArg(v, t.ndim, fn));
  if (new Set(p).size !== n) throw new RangeError(`${fn}: dims [${d.join(', ')}] repeat a dimension`);
  const y = output(p.map((i) => t.shape[i]), fn);
  if (y.size > 0) permuteInto(fn, t, p, y);
  const inverse = new Array<number>(n);
  p.forEach((v, i) => { inverse[v] = i; });
  return record(y, fn, [t], [], (g) => [permute(g, inverse)]);
}

/**
 * Swaps two dimensions (a contiguous copy), as `torch.transpose`.
 * @example transpose(tensor([[1, 2, 3]]), 0, 1).toArray(); // [[1], [2], [3]]
 */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const t = tensorArg(x, 'transpose', 'x');
  const a = dimArg(dim0, t.ndim, 'transpose', 'dim0'), b = dimArg(dim1, t.ndim, 'transpose', 'dim1');
  if (t.ndim === 0) return permuteNamed('transpose', t, []);
  const p = t.shape.map((_, i) => i);
  [p[a], p[b]] = [p[b], p[a]];
  return permuteNamed('transpose', t, p);
}

/**
 * @internal `x` broadcast to `shape` as a new contiguous tensor (no history);
 * disposes `x` when it made a copy, returns `x` itself when the shapes match.
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (x.ndim === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  const out = broadcastShapes(x.shape, shape, 'expand');
  if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`expand: shape ${fmtShape(x.shape)} cannot be broadcast to ${fmtShape(shape)}`);
  }
  const y = output(shape, 'expand');
  if (x.size === 1) {
    // One element everywhere.
    if (y.size > 0) run(x.backend, permuteK, { ndim: 1, n: y.size, shape: [y.size], st: [0], x, y }, 'expand', y);
    x.dispose();
    return y;
  }
  // A permutation that is the identity, with zero strides where x broadcasts.
  const lead = shape.length - x.ndim;
  const src = view(x, [...new Array<number>(lead).fill(1), ...x.shape], x.size);
  try {
    if (y.size > 0) permuteInto('expand', src, shape.map((_, i) => i), y, [y]);
  } finally {
    src.dispose();
  }
  x.dispose();
  return y;
}

// Reductions over any dimensions: sum, mean, max, min, argmax, argmin, with
// keepdim as in PyTorch. Each runs the registry's `reduce` family over a
// canonical [A, R, B] view of the input (reduced dimensions that are not
// adjacent are first gathered with one `permute` copy); the reduced axis is
// cut in fixed chunks, so results do not depend on the thread count.
import { CONSTANTS, REDUCE, UNARY, permute as permuteK, reduce as reduceK, unary as unaryK } from '../backend/registry';
import { ShapeError, fmtShape } from '../errors';
import { type Tensor, view } from '../tensor';
import { boolArg, dimArg, dimsArg, output, record, run, tensorArg } from './op';
import { div, eq, mul } from './elementwise';
import { expand } from './shape';

const { RC } = CONSTANTS;

interface Plan {
  /** Kept size before, reduced size, kept size after. */
  A: number; R: number; B: number;
  /** Permutation to apply first (reduced dimensions last), or null. */
  perm: number[] | null;
  /** The output shape with keepdim, and without. */
  keptShape: number[]; outShape: number[];
}

function plan(shape: readonly number[], dims: readonly number[]): Plan {
  if (dims.length === shape.length) {
    let R = 1;
    for (let i = 0; i < shape.length; i++) R *= shape[i];
    return { A: 1, R, B: 1, perm: null, keptShape: shape.map(() => 1), outShape: [] };
  }
  const red = new Set(dims);
  const keptShape = shape.map((d, i) => (red.has(i) ? 1 : d));
  const outShape = shape.filter((_, i) => !red.has(i));
  // Classes of the dimensions that matter (size 1 fits either).
  const kinds: boolean[] = [];
  shape.forEach((d, i) => { if (d !== 1) kinds.push(red.has(i)); });
  let blocks = 0;
  for (let i = 0; i < kinds.length; i++) if (kinds[i] && (i === 0 || !kinds[i - 1])) blocks++;
  let A = 1, R = 1, B = 1;
  if (blocks <= 1) {
    let seenR = false;
    shape.forEach((d, i) => {
      if (red.has(i)) { R *= d; if (d !== 1) seenR = true; } else if (seenR) B *= d; else A *= d;
    });
    return { A, R, B, perm: null, keptShape, outShape };
  }
  const kept = shape.map((_, i) => i).filter((i) => !red.has(i));
  const perm = [...kept, ...dims];
  for (const i of kept) A *= shape[i];
  for (const i of dims) R *= shape[i];
  return { A, R, B: 1, perm, keptShape, outShape };
}

/**
 * Runs the reduction: y (and yi, the first indices) of shape [A, B], in two
 * passes when R has more than one chunk. Frees what it made on failure.
 */
function reduceInto(fn: string, op: number, x: Tensor, p: Plan, y: Tensor, yi: Tensor | null, divisor: number): void {
  const be = x.backend;
  // Every temporary is freed whatever happens; on failure the outputs too.
  const temps: Tensor[] = [];
  try {
    let src = x;
    if (p.perm) {
      const temp = output(p.perm.map((d) => x.shape[d]), fn);
      temps.push(temp);
      permuteInto(fn, x, p.perm, temp, null);
      src = temp;
    }
    const nchunk = Math.ceil(p.R / RC);
    if (nchunk <= 1) {
      run(be, reduceK, { op, A: p.A, R: p.R, B: p.B, RC: Math.max(p.R, 1), divisor, x: src, y, yi }, fn, null);
      return;
    }
    const part = output([p.A, nchunk, p.B], fn);
    temps.push(part);
    // Partial indices only when indices are asked for: max and min of values alone need none.
    const parti = yi ? output([p.A, nchunk, p.B], fn) : null;
    if (parti) temps.push(parti);
    run(be, reduceK, { op, A: p.A, R: p.R, B: p.B, RC, divisor: 1, x: src, y: part, yi: parti }, fn, null);
    run(be, reduceK, { op, A: p.A, R: nchunk, B: p.B, RC: nchunk, divisor, x: part, xi: parti, y, yi }, fn, null);
  } catch (e) {
    y.dispose();
    yi?.dispose();
    throw e;
  } finally {
    for (const t of temps) t.dispose();
  }
}

/**
 * @internal Copies x, its dimensions reordered by `perm`, into the contiguous
 * `out`; where x has size 1 and out does not, x is broadcast (stride 0).
 */
export function permuteInto(fn: string, x: Tensor, perm: readonly number[], out: Tensor, made: Tensor | Tensor[] | null = out): void {
  const nd = x.ndim;
  const xs = new Array<number>(nd);
  for (let d = nd - 1, acc = 1; d >= 0; d--) { xs[d] = acc; acc *= x.shape[d]; }
  const m = mergeForCopy(out.shape, perm.map((d) => (x.shape[d] === 1 ? 0 : xs[d])), fn);
  run(x.backend, permuteK, { ndim: m.shape.length, n: out.size, shape: m.shape, st: m.st, x, y: out }, fn, made);
}

/** Merges dimensions of a strided copy (see mergeDims in elementwise.ts) for one operand. */
function mergeForCopy(shape: readonly number[], st: readonly number[], fn: string): { shape: number[]; st: number[] } {
  const s: number[] = [], t: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = s.length - 1;
    if (last >= 0 && t[last] === st[d] * shape[d]) { s[last] *= shape[d]; t[last] = st[d]; }
    else { s.push(shape[d]); t.push(st[d]); }
  }
  if (s.length === 0) { s.push(1); t.push(0); }
  if (s.length > CONSTANTS.MAXDIM) throw new RangeError(`${fn}: the copy leaves ${s.length} dimensions that cannot be merged; the kernels take at most ${CONSTANTS.MAXDIM}`);
  return { shape: s, st: t };
}

function reduction(fn: string, x: unknown, dim: unknown, keepdim: unknown, op: number, mean: boolean): { t: Tensor; p: Plan; dims: number[]; keep: boolean; y: Tensor } {
  const t = tensorArg(x, fn, 'x');
  const dims = dimsArg(dim, t.ndim, fn);
  const keep = boolArg(keepdim, fn, 'keepdim', false);
  const p = plan(t.shape, dims);
  if (p.R === 0 && op !== REDUCE.SUM) {
    throw new ShapeError(`${fn}: cannot reduce over zero elements: input shape ${fmtShape(t.shape)}, dims [${dims.join(', ')}]`);
  }
  const y = output(keep ? p.keptShape : p.outShape, fn);
  if (y.size > 0) {
    if (p.R === 0) run(t.backend, unaryK, { n: y.size, op: UNARY.FILL, s0: mean ? NaN : 0, x: y, y }, fn, [y]);
    else reduceInto(fn, op, t, p, y, null, mean ? p.R : 1);
  }
  return { t, p, dims, keep, y };
}

/**
 * Sum over `dim` (a dimension, a list, or all when omitted), as `torch.sum`.
 * @example
 * sum(tensor([[1, 2], [3, 4]])).item();           // 10
 * sum(tensor([[1, 2], [3, 4]]), 0).toArray();     // [4, 6]
 * sum(tensor([[1, 2], [3, 4]]), 1, true).shape;   // [2, 1]
 */
export function sum(x: Tensor, dim?: number | readonly number[] | null, keepdim?: boolean): Tensor {
  const { t, p, y } = reduction('sum', x, dim, keepdim, REDUCE.SUM, false);
  return record(y, 'sum', [t], [], (g) => [expand(view(g, p.keptShape, g.size), t.shape)]);
}

/**
 * Mean over `dim` (all when omitted), as `torch.mean`.
 * @example mean(tensor([1, 2, 3, 4])).item(); // 2.5
 */
export function mean(x: Tensor, dim?: number | readonly number[] | null, keepdim?: boolean): Tensor {
  const { t, p, y } = reduction('mean', x, dim, keepdim, REDUCE.SUM, true);
  return record(y, 'mean', [t], [], (g) => [div(expand(view(g, p.keptShape, g.size), t.shape), p.R)]);
}

function extreme(fn: 'max' | 'min', op: number, x: unknown, dim: unknown, keepdim: unknown): Tensor {
  const { t, p, dims, y } = reduction(fn, x, dim, keepdim, op, false);
  // As torch.amax: the gradient is shared evenly among the elements equal to the result.
  return record(y, fn, [t], [t, y], (g) => {
    const mask = eq(t, expand(view(y, p.keptShape, y.size), t.shape));
    return [mul(expand(view(g, p.keptShape, g.size), t.shape), div(mask, sum(mask, dims, true)))];
  });
}

/**
 * Largest element over `dim` (all when omitted), NaN if any is NaN, as
 * `torch.amax`; the gradient is shared evenly among ties.
 * @example max(tensor([[1, 5], [3, 2]]), 1).toArray(); // [5, 3]
 */
export function max(x: Tensor, dim?: number | readonly number[] | null, keepdim?: boolean): Tensor {
  return extreme('max', REDUCE.MAX, x, dim, keepdim);
}

/** Smallest element over `dim` (all when omitted), as `torch.amin`. @example min(tensor([4, 1, 3])).item(); // 1 */
export function min(x: Tensor, dim?: number | readonly number[] | null, keepdim?: boolean): Tensor {
  return extreme('min', REDUCE.MIN, x, dim, keepdim);
}

function argExtreme(fn: 'argmax' | 'argmin', op: number, x: unknown, dim: unknown, keepdim: unknown): Tensor {
  const t = tensorArg(x, fn, 'x');
  const keep = boolArg(keepdim, fn, 'keepdim', false);
  const flat = dim === undefined || dim === null;
  const d = flat ? -1 : dimArg(dim, t.ndim, fn);
  const dims = flat ? t.shape.map((_, i) => i) : [d];
  const p = plan(t.shape, dims);
  if (p.R === 0) throw new ShapeError(`${fn}: cannot take the ${fn} of zero elements: input shape ${fmtShape(t.shape)}`);
  if (p.R > 2 ** 24) throw new RangeError(`${fn}: ${p.R} elements along the reduced dimension; indices are exact in float32 only up to 2^24`);
  // Without a dim the result is a 0-d index into the flattened tensor (keepdim: all ones).
  const shape = flat ? (keep ? t.shape.map(() => 1) : []) : keep ? p.keptShape : p.outShape;
  const yi = output(shape, fn);
  if (yi.size > 0) {
    let y: Tensor;
    try {
      y = output(shape, fn);
    } catch (e) {
      yi.dispose();
      throw e;
    }
    reduceInto(fn, op, t, p, y, yi, 1);   // frees y and yi on failure
    y.dispose();
  }
  return yi;
}

/**
 * Index of the first largest element along `dim` (of the flattened tensor when
 * omitted), as whole numbers in float32; NaN counts as the largest.
 * @example argmax(tensor([[1, 5], [3, 2]]), 1).toArray(); // [1, 0]
 */
export function argmax(x: Tensor, dim?: number | null, keepdim?: boolean): Tensor { return argExtreme('argmax', REDUCE.MAX, x, dim, keepdim); }

/** Index of the first smallest element along `dim` (flattened when omitted). @example argmin(tensor([4, 1, 3])).item(); // 1 */
export function argmin(x: Tensor, dim?: number | null, keepdim?: boolean): Tensor { return argExtreme('argmin', REDUCE.MIN, x, dim, keepdim); }

/**
 * @internal Sums `g` down to `shape` (the inverse of broadcasting), for
 * gradients: returns `g` itself when the shapes match, else a new tensor
 * (and disposes `g`).
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.ndim === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  const s = sum(g, dims, true);
  g.dispose();
  const r = view(s, shape, s.size);
  s.dispose();
  return r;
}

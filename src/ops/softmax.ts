// Softmax and log-softmax over a dimension, and the selection ops that
// classification needs: where (by a condition), gather (by indices) and
// oneHot. Every export of this module is public (src/ops/index.ts re-exports
// it whole). softmax and logSoftmax run the registry's `softmax` family over a
// canonical [A, R, B] view of the dimension; gather and oneHot check their
// indices with the `index_check` kernel first (see ./indices.ts).
import { CONSTANTS, UNARY, gather as gatherK, oneHot as oneHotK, softmax as softmaxK, unary as unaryK, where as whereK } from '../backend/registry';
import { noGrad } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { Tensor, readShape } from '../tensor';
import { broadcastShapes, broadcastStrides, mergeDims } from './elementwise';
import { MAX_INDEX, indexArg, indexTensor, type IndexLike } from './indices';
import { dimArg, needsGrad, operand, output, record, run, sameBackend, tensorArg, type Operand } from './op';
import { max as maxOp, sumTo } from './reduce';

export type { IndexLike } from './indices';

const { CHUNK } = CONSTANTS;

/** The sizes before, at and after dimension d (a 0-d tensor is one element). */
function around(shape: readonly number[], d: number): { A: number; R: number; B: number } {
  let A = 1, B = 1;
  for (let i = 0; i < d; i++) A *= shape[i];
  for (let i = d + 1; i < shape.length; i++) B *= shape[i];
  return { A, R: shape.length ? shape[d] : 1, B };
}

/** Contiguous element strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  for (let d = shape.length - 1, acc = 1; d >= 0; d--) { st[d] = acc; acc *= shape[d]; }
  return st;
}

function softmaxOp(fn: 'softmax' | 'logSoftmax', x: unknown, dim: unknown): Tensor {
  const t = tensorArg(x, fn, 'x');
  const d = dimArg(dim, t.ndim, fn);
  const { A, R, B } = around(t.shape, d);
  const log = fn === 'logSoftmax' ? 1 : 0;
  const y = output(t.shape, fn);
  if (y.size > 0) run(t.backend, softmaxK, { A, R, B, log, backward: 0, x: t, y }, fn, y);
  return record(y, fn, [t], [y], (g) => {
    const dx = output(t.shape, fn);
    if (dx.size > 0) run(t.backend, softmaxK, { A, R, B, log, backward: 1, x: y, g, y: dx }, fn, dx);
    return [dx];
  });
}

/**
 * exp(x) / sum(exp(x)) along `dim`, computed stably (the maximum subtracted
 * first), as `torch.softmax`. A slice holding NaN or +inf, or only -inf,
 * gives NaN throughout, as in PyTorch.
 * @example softmax(tensor([[0, Math.log(3)]]), 1).toArray(); // [[0.25, 0.75]]
 */
export function softmax(x: Tensor, dim: number): Tensor { return softmaxOp('softmax', x, dim); }

/**
 * log(softmax(x)) along `dim`, computed as x - max - log(sum(exp(x - max))),
 * as `torch.log_softmax` (accurate where softmax underflows).
 * @example logSoftmax(tensor([0, 0]), 0).toArray(); // [-0.6931, -0.6931] (log 0.5)
 */
export function logSoftmax(x: Tensor, dim: number): Tensor { return softmaxOp('logSoftmax', x, dim); }

/** Runs the where kernel: out = c != 0 ? a : b, broadcast to out's shape. */
function whereInto(fn: string, c: Tensor, a: Operand, b: Operand, out: Tensor): void {
  const zero = out.shape.map(() => 0);
  const m = mergeDims(out.shape, [
    broadcastStrides(c.shape, out.shape),
    typeof a === 'number' ? zero : broadcastStrides(a.shape, out.shape),
    typeof b === 'number' ? zero : broadcastStrides(b.shape, out.shape),
  ], fn);
  run(c.backend, whereK, {
    ndim: m.shape.length, n: out.size, flags: (typeof a === 'number' ? 1 : 0) | (typeof b === 'number' ? 2 : 0),
    s0: typeof a === 'number' ? a : 0, s1: typeof b === 'number' ? b : 0,
    shape: m.shape, sc: m.strides[0], sa: m.strides[1], sb: m.strides[2],
    c, a: typeof a === 'number' ? null : a, b: typeof b === 'number' ? null : b, y: out,
  }, fn, out);
}

/**
 * Elements of `a` where `condition` is nonzero (NaN counts as true), else of
 * `b`, with NumPy broadcasting of all three, as `torch.where`. `a` and `b` may
 * be numbers; the condition is a float tensor such as the 0/1 results of the
 * comparisons. Gradients flow to `a` and `b`, none to the condition.
 * @example where(tensor([1, 0, 1]), tensor([1, 2, 3]), 0).toArray(); // [1, 0, 3]
 */
export function where(condition: Tensor, a: Operand, b: Operand): Tensor {
  const fn = 'where';
  const c = tensorArg(condition, fn, 'condition');
  const x = operand(a, fn, 'a'), y = operand(b, fn, 'b');
  sameBackend(fn, c, x, y);
  const sx = typeof x === 'number' ? [] : x.shape, sy = typeof y === 'number' ? [] : y.shape;
  let shape: number[];
  try {
    shape = broadcastShapes(broadcastShapes(c.shape, sx, fn), sy, fn);
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    throw new ShapeError(`${fn}: shapes ${fmtShape(c.shape)} (condition), ${fmtShape(sx)} (a) and ${fmtShape(sy)} (b) cannot be broadcast together`);
  }
  readShape(shape, fn, 'the broadcast shape');
  const out = output(shape, fn);
  if (out.size > 0) whereInto(fn, c, x, y, out);
  const ins = [x, y].filter((v): v is Tensor => v instanceof Tensor);
  return record(out, fn, ins, [c], (g) => ins.map((v) => {
    if (!v.requiresGrad) return null;
    const gv = output(g.shape, fn);
    if (gv.size > 0) whereInto(fn, c, v === x ? g : 0, v === x ? 0 : g, gv);
    return sumTo(gv, v.shape);
  }));
}

/**
 * Values of `x` picked along `dim` by `index`, as `torch.gather`: for a 2-d x
 * and dim 1, `out[i][j] = x[i][index[i][j]]`. The output has the index's
 * shape; the index has x's number of dimensions and, apart from `dim`, is no
 * larger than x. `index` is a tensor of whole numbers, nested arrays of
 * numbers, or a flat typed array (such as an Int32Array) with its `shape`.
 * Every index must lie in [0, x.shape[dim]) (a RangeError names the first that
 * does not). The gradient adds back into the picked positions.
 * @example
 * gather(tensor([[1, 2], [3, 4]]), 1, [[0, 0], [1, 0]]).toArray();               // [[1, 1], [4, 3]]
 * gather(tensor([[1, 2], [3, 4]]), 0, new Int32Array([1, 0]), [1, 2]).toArray(); // [[3, 2]]
 */
export function gather(x: Tensor, dim: number, index: IndexLike, shape?: readonly number[]): Tensor {
  const fn = 'gather';
  const t = tensorArg(x, fn, 'x');
  const d = dimArg(dim, t.ndim, fn);
  const ia = indexArg(index, fn, 'index', shape);
  if (ia.tensor) sameBackend(fn, t, ia.tensor);
  const nd = t.ndim;
  if (ia.shape.length !== nd) {
    throw new ShapeError(`${fn}: index shape ${fmtShape(ia.shape)} must have as many dimensions as input shape ${fmtShape(t.shape)} (${nd})`);
  }
  for (let e = 0; e < nd; e++) {
    if (e !== d && ia.shape[e] > t.shape[e]) {
      throw new ShapeError(`${fn}: index shape ${fmtShape(ia.shape)} must be no larger than input shape ${fmtShape(t.shape)} apart from dimension ${d}`);
    }
  }
  const R = nd ? t.shape[d] : 1;
  if (R > MAX_INDEX) throw new RangeError(`${fn}: dimension ${d} has size ${R}; indices are exact in float32 only up to 2^24 (${MAX_INDEX})`);
  const { t: idx, own } = indexTensor(ia, fn, R, null,
    (v, at) => `${fn}: index ${v} at ${at} is out of range for dimension ${d} with size ${R}`);
  const xs = stridesOf(t.shape);
  const sd = nd ? xs[d] : 1;
  if (nd) xs[d] = 0;
  let out: Tensor;
  try {
    out = output(ia.shape, fn);
    if (out.size > 0) {
      const m = mergeDims(ia.shape, [xs], fn);
      run(t.backend, gatherK, { backward: 0, ndim: m.shape.length, n: out.size, sd, shape: m.shape, st: m.strides[0], x: t, idx, y: out }, fn, out);
    }
  } catch (e) {
    if (own) idx.dispose();
    throw e;
  }
  if (own && !needsGrad([t])) { idx.dispose(); return out; }
  return record(out, fn, [t], [idx], (g) => {
    const dx = output(t.shape, fn);
    run(t.backend, unaryK, { n: dx.size, op: UNARY.FILL, s0: 0, x: dx, y: dx }, fn, dx);
    if (g.size === 0) return [dx];
    // Lines along dim: the index space without dim, with x's and the index's strides.
    const is = stridesOf(ia.shape);
    const keep = (s: readonly number[]) => s.filter((_, e) => e !== d);
    const m = mergeDims(keep(ia.shape), [keep(xs), keep(is)], fn);
    const J = nd ? ia.shape[d] : 1;
    run(t.backend, gatherK, {
      backward: 1, ndim: m.shape.length, n: g.size / J, J, sj: nd ? is[d] : 1, sd,
      shape: m.shape, st: m.strides[0], sg: m.strides[1], idx, g, y: dx,
    }, fn, dx);
    return [dx];
  });
}

/**
 * One-hot rows: a float32 tensor of shape [...labels.shape, numClasses] with
 * 1 at each label's class and 0 elsewhere, as `torch.nn.functional.one_hot`.
 * `labels` holds whole numbers in [0, numClasses): a tensor, an Int32Array or
 * (nested) arrays of numbers. numClasses -1 (the default) uses the largest
 * label plus one.
 * @example
 * oneHot([0, 2], 3).toArray();              // [[1, 0, 0], [0, 0, 1]]
 * oneHot(new Int32Array([1, 0])).toArray(); // [[0, 1], [1, 0]]
 */
export function oneHot(labels: IndexLike, numClasses = -1): Tensor {
  const fn = 'oneHot';
  const ia = indexArg(labels, fn, 'labels');
  if (typeof numClasses !== 'number' || !Number.isInteger(numClasses) || numClasses < -1) {
    throw new RangeError(`${fn}: numClasses must be a non-negative integer or -1 (inferred), got ${String(numClasses)}`);
  }
  if (numClasses > MAX_INDEX) throw new RangeError(`${fn}: numClasses ${numClasses} is more than the 2^24 (${MAX_INDEX}) classes float32 labels can tell apart`);
  const infer = numClasses === -1;
  if (infer && ia.size === 0) throw new RangeError(`${fn}: cannot infer the number of classes from empty labels (shape ${fmtShape(ia.shape)}); pass numClasses`);
  if (!infer) readShape([...ia.shape, numClasses], fn, 'the output shape');
  const { t: idx, own } = indexTensor(ia, fn, infer ? MAX_INDEX : numClasses, null, (v, at) => (v < 0
    ? `${fn}: labels must be non-negative; the label at ${at} is ${v}`
    : `${fn}: label ${v} at ${at} is out of range for ${infer ? `at most 2^24 (${MAX_INDEX})` : numClasses} classes`));
  try {
    let C = numClasses;
    if (infer) {
      const mx = noGrad(() => maxOp(idx));
      try { C = mx.item() + 1; } finally { mx.dispose(); }
      readShape([...ia.shape, C], fn, 'the output shape');
    }
    const out = output([...ia.shape, C], fn);
    if (out.size > 0) run(idx.backend, oneHotK, { n: ia.size, C, K: Math.max(1, Math.floor(CHUNK / C)), idx, y: out }, fn, out);
    return out;
  } finally {
    if (own) idx.dispose();
  }
}

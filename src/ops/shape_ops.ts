// Views, slices, gathers and joins: squeeze, unsqueeze, slice, narrow, select,
// indexSelect, cat, stack (and, from ./moments, var and std). Every export of
// this module is public (src/ops/index.ts re-exports it whole).
//
// squeeze and unsqueeze are views (the same storage and version, no copy), as
// are slice, and narrow and select whenever their result is contiguous in the
// input (dimension 0, or only size-1 dimensions before it). The other cases
// copy, with the registry's `row_copy` family, which also joins cat's and
// stack's inputs and computes every gradient here (a gradient's slice copied
// out, or a gradient embedded in zeros). indexSelect runs the `index_select`
// family: a gather forward, an index_add into zeros backward.
import type { Backend } from '../backend/backend';
import type { Buf } from '../backend/layout';
import { CONSTANTS, indexSelect as indexSelectK, rowCopy as rowCopyK } from '../backend/registry';
import { describe } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { MAX_ELEMENTS, Tensor, detached, view } from '../tensor';
import { dimArg, output, record, run, sameBackend, tensorArg } from './op';

export * from './moments';

const { CHUNK } = CONSTANTS;

/** Largest whole number float32 holds exactly (and every one below it). */
const EXACT = 2 ** 24;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** Product of shape[from, to). */
function prod(shape: readonly number[], from = 0, to = shape.length): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= shape[i];
  return n;
}

/** A kernel buffer `k` elements into `t`. */
function at(t: Tensor, k: number): Buf {
  return { block: t.block, offset: t.offset + k };
}

/** An integer argument: TypeError when not a number, RangeError when not whole. */
function intArg(v: unknown, fn: string, name: string): number {
  if (typeof v !== 'number') throw new TypeError(`${fn}: ${name} must be an integer, got ${describe(v)}`);
  if (!Number.isInteger(v)) throw new RangeError(`${fn}: ${name} must be an integer, got ${v}`);
  return v;
}

/**
 * Work units of a copy of `rows` runs of `cols` floats: runs of at least
 * CHUNK floats are cut in chunks of CHUNK, shorter ones grouped CHUNK floats
 * at a time.
 */
function blocking(rows: number, cols: number): { rpu: number; cpu: number } {
  if (cols >= CHUNK) return { rpu: 1, cpu: CHUNK };
  return { rpu: Math.max(1, Math.min(rows, Math.floor(CHUNK / Math.max(cols, 1)))), cpu: Math.max(cols, 1) };
}

/**
 * Runs `row_copy`: rows x cols floats from x (row stride xs) into y (row
 * stride ys), each destination row written over dcols floats with the run at
 * column `at` and zeros around it. Frees `made` on failure.
 */
function copyRows(be: Backend, fn: string, made: Tensor[], x: Buf, xs: number, y: Buf, ys: number,
                  rows: number, cols: number, dcols = cols, atCol = 0): void {
  if (rows === 0 || dcols === 0) return;
  const { rpu, cpu } = blocking(rows, dcols);
  run(be, rowCopyK, { rows, cols, xs, ys, dcols, at: atCol, rpu, cpu, x, y }, fn, made);
}

/**
 * A new tensor of `shape` ([A, R, B] seen along one axis) holding zeros but
 * for g ([A, len, B]) at positions [start, start + len) of that axis: the
 * gradient of a slice, narrow or select.
 */
function embed(fn: string, g: Tensor, shape: readonly number[], A: number, R: number, B: number, start: number, len: number): Tensor {
  const dx = output(shape, fn);
  copyRows(g.backend, fn, [dx], g, len * B, dx, R * B, A, len * B, R * B, start * B);
  return dx;
}

/** A private copy of an array of tensors (each checked), in order. */
function tensorList(tensors: unknown, fn: string): Tensor[] {
  if (!Array.isArray(tensors)) throw new TypeError(`${fn}: tensors must be an array of Tensors, got ${describe(tensors)}`);
  const n = tensors.length;
  const copy = new Array<unknown>(n);
  for (let i = 0; i < n; i++) copy[i] = tensors[i];
  if (n === 0) throw new RangeError(`${fn}: expected a non-empty array of Tensors`);
  const ts = copy.map((t, i) => tensorArg(t, fn, `tensors[${i}]`));
  sameBackend(fn, ...ts);
  return ts;
}

/** Refuses an output of more than MAX_ELEMENTS elements (before anything is allocated). */
function checkSize(fn: string, shape: readonly number[]): void {
  let extent = 1;
  for (const d of shape) extent *= Math.max(d, 1);
  if (extent > MAX_ELEMENTS) throw new RangeError(`${fn}: the result would have shape ${fmtShape(shape)}, more than the 2^29 (${MAX_ELEMENTS}) elements a tensor may have`);
}

// ---------------------------------------------------------------------------
// squeeze, unsqueeze
// ---------------------------------------------------------------------------

/**
 * Removes dimensions of size 1: all of them when `dim` is omitted, else `dim`
 * (or each of a list of dims) if its size is 1 (a dimension of another size is
 * left as it is), as `torch.squeeze`. A view: no copy, the same storage.
 * @example
 * squeeze(zeros([1, 3, 1])).shape;      // [3]
 * squeeze(zeros([1, 3, 1]), 0).shape;   // [3, 1]
 * squeeze(zeros([1, 3, 1]), 1).shape;   // [1, 3, 1] (size 3: unchanged)
 * squeeze(zeros([1, 3, 1]), [0, 2]).shape; // [3]
 */
export function squeeze(x: Tensor, dim?: number | readonly number[] | null): Tensor {
  const fn = 'squeeze';
  const t = tensorArg(x, fn, 'x');
  const from = t.shape.slice(), nd = from.length;
  const drop = new Array<boolean>(nd).fill(false);
  if (dim === undefined || dim === null) {
    for (let i = 0; i < nd; i++) drop[i] = from[i] === 1;
  } else if (Array.isArray(dim)) {
    const n = dim.length;
    const copy = new Array<unknown>(n);
    for (let i = 0; i < n; i++) copy[i] = dim[i];
    const seen = new Set<number>();
    for (const v of copy) {
      const d = dimArg(v, nd, fn);
      if (seen.has(d)) throw new RangeError(`${fn}: dim ${d} appears more than once in [${copy.map(String).join(', ')}]`);
      seen.add(d);
      if (nd > 0 && from[d] === 1) drop[d] = true;
    }
  } else {
    if (typeof dim !== 'number') throw new TypeError(`${fn}: dim must be an integer or an array of integers, got ${describe(dim)}`);
    const d = dimArg(dim, nd, fn);
    if (nd > 0 && from[d] === 1) drop[d] = true;
  }
  const shape = from.filter((_, i) => !drop[i]);
  return record(view(t, shape, t.size), fn, [t], [], (g) => [view(g, from, g.size)]);
}

/**
 * Inserts a dimension of size 1 at `dim` (in [-ndim - 1, ndim]), as
 * `torch.unsqueeze`. A view: no copy, the same storage.
 * @example
 * unsqueeze(zeros([2, 3]), 0).shape;   // [1, 2, 3]
 * unsqueeze(zeros([2, 3]), -1).shape;  // [2, 3, 1]
 */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const fn = 'unsqueeze';
  const t = tensorArg(x, fn, 'x');
  const from = t.shape.slice();
  const d = dimArg(dim, from.length + 1, fn);
  const shape = [...from.slice(0, d), 1, ...from.slice(d)];
  return record(view(t, shape, t.size), fn, [t], [], (g) => [view(g, from, g.size)]);
}

// ---------------------------------------------------------------------------
// slice, narrow, select
// ---------------------------------------------------------------------------

/** A slice bound as Python reads it: null or undefined for the default, negative from the end, clamped to [0, n]. */
function sliceBound(v: unknown, n: number, dflt: number, fn: string, name: string): number {
  if (v === undefined || v === null) return dflt;
  const i = intArg(v, fn, name);
  const j = i < 0 ? i + n : i;
  return j < 0 ? 0 : j > n ? n : j;
}

/**
 * Rows start..end - 1 along dimension 0, as Python's `x[start:end]`: negative
 * bounds count from the end, bounds out of range are clamped, and `end`
 * before `start` gives an empty result. A view: it shares the input's storage
 * and version, so a write through it is seen by the input (and by autograd's
 * checks of saved tensors).
 * @example
 * const x = tensor([[0, 1], [2, 3], [4, 5]]);
 * slice(x, 1).toArray();        // [[2, 3], [4, 5]]
 * slice(x, 0, -1).toArray();    // [[0, 1], [2, 3]]
 * slice(x, -1, 10).toArray();   // [[4, 5]]
 * slice(x, 2, 1).shape;         // [0, 2]
 */
export function slice(x: Tensor, start?: number | null, end?: number | null): Tensor {
  const fn = 'slice';
  const t = tensorArg(x, fn, 'x');
  const from = t.shape.slice();
  if (from.length === 0) throw new ShapeError(`${fn}: cannot slice a 0-d tensor`);
  const R = from[0], B = prod(from, 1);
  const s = sliceBound(start, R, 0, fn, 'start');
  const e = sliceBound(end, R, R, fn, 'end');
  const len = Math.max(0, e - s);
  const y = view(t, [len, ...from.slice(1)], len * B, t.offset + s * B);
  return record(y, fn, [t], [], (g) => [embed(fn, g, from, 1, R, B, s, len)]);
}

/**
 * `len` entries along `dim` from `start` (of the 1, 0 or more removed with `keep` false);
 * a view when the result is contiguous in the input, else a copy.
 */
function narrowed(fn: string, t: Tensor, d: number, s: number, len: number, keep: boolean): Tensor {
  const from = t.shape.slice();
  const A = prod(from, 0, d), R = from[d], B = prod(from, d + 1);
  const shape = keep ? from.map((v, i) => (i === d ? len : v)) : from.filter((_, i) => i !== d);
  let y: Tensor;
  if (A === 1 || len === R || A * len * B === 0) {
    y = view(t, shape, A * len * B, t.offset + s * B);
  } else {
    y = output(shape, fn);
    copyRows(t.backend, fn, [y], at(t, s * B), R * B, y, len * B, A, len * B);
  }
  return record(y, fn, [t], [], (g) => [embed(fn, g, from, A, R, B, s, len)]);
}

/**
 * `length` entries of dimension `dim` from `start` (negative: from the end),
 * as `torch.narrow`. A view sharing the input's storage and version when the
 * result is contiguous in the input (dim 0, or only size-1 dimensions before
 * `dim`); otherwise a copy, as this engine's tensors are always contiguous.
 * @example
 * const x = tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
 * narrow(x, 0, 1, 2).toArray();    // [[3, 4, 5], [6, 7, 8]]
 * narrow(x, 1, -2, 2).toArray();   // [[1, 2], [4, 5], [7, 8]] (a copy)
 */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const fn = 'narrow';
  const t = tensorArg(x, fn, 'x');
  if (t.ndim === 0) throw new ShapeError(`${fn}: cannot narrow a 0-d tensor`);
  const d = dimArg(dim, t.ndim, fn);
  const R = t.shape[d];
  const s0 = intArg(start, fn, 'start');
  const len = intArg(length, fn, 'length');
  if (s0 < -R || s0 > R) throw new RangeError(`${fn}: start ${s0} is out of range for dimension ${d} of size ${R} (expected an integer in [${-R}, ${R}])`);
  const s = s0 < 0 ? s0 + R : s0;
  if (len < 0 || s + len > R) throw new RangeError(`${fn}: start (${s0}) + length (${len}) exceeds dimension ${d} of size ${R} (shape ${fmtShape(t.shape)})`);
  return narrowed(fn, t, d, s, len, true);
}

/**
 * The entry `index` of dimension `dim` (negative: from the end), with that
 * dimension removed, as `torch.select` (`x[i]` for dim 0). A view sharing the
 * input's storage when contiguous in the input (as narrow), else a copy.
 * @example
 * const x = tensor([[0, 1], [2, 3], [4, 5]]);
 * select(x, 0, 1).toArray();    // [2, 3]
 * select(x, 0, -1).toArray();   // [4, 5]
 * select(x, 1, 0).toArray();    // [0, 2, 4] (a copy)
 */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const fn = 'select';
  const t = tensorArg(x, fn, 'x');
  if (t.ndim === 0) throw new ShapeError(`${fn}: cannot select from a 0-d tensor`);
  const d = dimArg(dim, t.ndim, fn);
  const R = t.shape[d];
  const i = intArg(index, fn, 'index');
  if (i < -R || i >= R) throw new RangeError(`${fn}: index ${i} is out of range for dimension ${d} of size ${R} (shape ${fmtShape(t.shape)})`);
  return narrowed(fn, t, d, i < 0 ? i + R : i, 1, false);
}

// ---------------------------------------------------------------------------
// indexSelect
// ---------------------------------------------------------------------------

/**
 * A private, validated copy of an index argument (a 0-d or 1-D tensor of
 * whole numbers, an Int32Array or an array of integers), each value read
 * once and in [0, n): float32 holds every one exactly.
 */
function readIndex(index: unknown, fn: string, x: Tensor, d: number, n: number): Float32Array {
  let v: ArrayLike<unknown>;
  if (index instanceof Tensor) {
    const it = tensorArg(index, fn, 'index');
    sameBackend(fn, x, it);
    if (it.ndim > 1) throw new ShapeError(`${fn}: index must be a 0-d or 1-D tensor, got shape ${fmtShape(it.shape)}`);
    v = it.values(fn);
  } else if (index instanceof Int32Array) {
    if (detached(index)) throw new TypeError(`${fn}: the index's buffer is detached (transferred, or a view of memory that has since grown)`);
    v = index.slice();
  } else if (Array.isArray(index)) {
    const len = index.length;
    if (len > MAX_ELEMENTS) throw new RangeError(`${fn}: ${len} indices, more than the 2^29 elements a tensor may have`);
    const copy = new Array<unknown>(len);
    for (let i = 0; i < len; i++) copy[i] = index[i];
    v = copy;
  } else {
    throw new TypeError(`${fn}: index must be a Tensor, an Int32Array or an array of integers, got ${describe(index)}`);
  }
  const len = v.length;
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    const k = v[i];
    if (typeof k !== 'number') throw new TypeError(`${fn}: index[${i}] must be an integer, got ${describe(k)}`);
    if (!Number.isInteger(k)) throw new RangeError(`${fn}: index[${i}] must be a whole number, got ${k}`);
    if (k < 0 || k >= n) throw new RangeError(`${fn}: index ${k} (index[${i}]) is out of range for dimension ${d} of size ${n} (shape ${fmtShape(x.shape)})`);
    if (k > EXACT) throw new RangeError(`${fn}: index ${k} (index[${i}]) is above 2^24, the largest index this engine stores exactly`);
    out[i] = k;
  }
  return out;
}

/** The indices in a new tensor of the backend (freed by the caller; `made` on failure). */
function indexTensor(fn: string, idx: Float32Array): Tensor {
  const it = output([idx.length], fn);
  if (idx.length > 0) it.backend.write(it.storage.block, it.offset, idx);
  return it;
}

/**
 * The entries of `x` at `index` along `dim`, in the order given (repeats
 * allowed), as `torch.index_select`: `index` is a 0-d or 1-D tensor of whole
 * numbers, an Int32Array or an array of integers, each in [0, size of dim).
 * The result keeps x's dimensions, with `dim` of the index's length. Its
 * gradient adds each row of the incoming gradient into the row it was taken
 * from (repeated indices sum, in a fixed order).
 * @example
 * const x = tensor([[0, 1], [2, 3], [4, 5]]);
 * indexSelect(x, 0, [2, 0, 2]).toArray();   // [[4, 5], [0, 1], [4, 5]]
 * indexSelect(x, 1, new Int32Array([1])).toArray();   // [[1], [3], [5]]
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor | Int32Array | readonly number[]): Tensor {
  const fn = 'indexSelect';
  const t = tensorArg(x, fn, 'x');
  const from = t.shape.slice(), nd = from.length;
  const d = dimArg(dim, nd, fn);
  const R = nd === 0 ? 1 : from[d];
  const idx = readIndex(index, fn, t, d, R);
  const N = idx.length;
  if (nd === 0 && N !== 1) throw new ShapeError(`${fn}: a 0-d tensor takes exactly one index, got ${N}`);
  const A = prod(from, 0, d), B = nd === 0 ? 1 : prod(from, d + 1);
  const shape = nd === 0 ? [] : from.map((v, i) => (i === d ? N : v));
  checkSize(fn, shape);
  const be = t.backend;
  const w = B >= CHUNK ? CHUNK : Math.max(B, 1);
  const y = output(shape, fn);
  if (y.size > 0) {
    const it = indexTensor(fn, idx);
    run(be, indexSelectK, { backward: 0, A, R, B, N, rpu: Math.max(1, Math.floor(CHUNK / w)), cpu: w, x: t, idx: it, y }, fn, [y, it]);
    it.dispose();
  }
  return record(y, fn, [t], [], (g) => {
    const dx = output(from, fn);
    if (dx.size === 0) return [dx];
    // Rows per unit: about CHUNK floats, and at least enough that scanning the N indices costs no more than the unit's own work.
    const rpu = Math.min(R, Math.max(1, Math.floor(CHUNK / w), Math.ceil(N / w)));
    const it = N > 0 ? indexTensor(fn, idx) : null;
    const made = it ? [dx, it] : [dx];
    run(be, indexSelectK, { backward: 1, A, R, B, N, rpu, cpu: w, x: g, idx: it, y: dx }, fn, made);
    it?.dispose();
    return [dx];
  });
}

// ---------------------------------------------------------------------------
// cat, stack
// ---------------------------------------------------------------------------

/**
 * Joins tensors along an existing dimension `dim` (default 0), as `torch.cat`:
 * every shape must match except in `dim`. As PyTorch's legacy rule, 1-D
 * tensors with no elements (shape [0]) are skipped whatever the others' shapes.
 * Each input's gradient is its slice of the result's.
 * @example
 * cat([tensor([[1, 2]]), tensor([[3, 4], [5, 6]])]).toArray();   // [[1, 2], [3, 4], [5, 6]]
 * cat([tensor([[1], [2]]), tensor([[3], [4]])], 1).toArray();    // [[1, 3], [2, 4]]
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  const fn = 'cat';
  const ts = tensorList(tensors, fn);
  const legacy = ts.map((u) => u.ndim === 1 && u.size === 0);
  const r = legacy.indexOf(false);
  if (r < 0) {
    intArg(dim, fn, 'dim');
    return record(output([0], fn), fn, ts, [], () => ts.map((u) => (u.requiresGrad ? output([0], fn) : null)));
  }
  const ref = ts[r].shape.slice();
  for (let k = 0; k < ts.length; k++) {
    if (!legacy[k] && ts[k].ndim === 0) throw new ShapeError(`${fn}: zero-dimensional tensor (tensors[${k}]) cannot be concatenated`);
  }
  const d = dimArg(dim, ref.length, fn);
  const sizes = new Array<number>(ts.length).fill(0);
  let total = 0;
  for (let k = 0; k < ts.length; k++) {
    if (legacy[k]) continue;
    const s = ts[k].shape;
    if (s.length !== ref.length) {
      throw new ShapeError(`${fn}: tensors must have the same number of dimensions: got ${ref.length} (tensors[${r}], shape ${fmtShape(ref)}) and ${s.length} (tensors[${k}], shape ${fmtShape(s)})`);
    }
    for (let j = 0; j < ref.length; j++) {
      if (j !== d && s[j] !== ref[j]) {
        throw new ShapeError(`${fn}: sizes of tensors must match except in dimension ${d}: expected size ${ref[j]} but got size ${s[j]} in dimension ${j} for tensors[${k}] (shape ${fmtShape(s)}; tensors[${r}] has shape ${fmtShape(ref)})`);
      }
    }
    sizes[k] = s[d];
    total += s[d];
  }
  const shape = ref.map((v, j) => (j === d ? total : v));
  checkSize(fn, shape);
  const A = prod(ref, 0, d), B = prod(ref, d + 1);
  const y = output(shape, fn);
  const be = y.backend;
  for (let k = 0, acc = 0; k < ts.length; acc += sizes[k], k++) {
    if (sizes[k] > 0) copyRows(be, fn, [y], ts[k], sizes[k] * B, at(y, acc * B), total * B, A, sizes[k] * B);
  }
  const shapes = ts.map((u) => u.shape.slice());
  return record(y, fn, ts, [], (g) => {
    const out: Array<Tensor | null> = [];
    const made: Tensor[] = [];
    for (let k = 0, acc = 0; k < ts.length; acc += sizes[k], k++) {
      if (!ts[k].requiresGrad) { out.push(null); continue; }
      const gk = output(shapes[k], fn);
      made.push(gk);
      copyRows(be, fn, made, at(g, acc * B), total * B, gk, sizes[k] * B, A, sizes[k] * B);
      out.push(gk);
    }
    return out;
  });
}

/**
 * Joins tensors of one shape along a new dimension `dim` (in [-ndim - 1, ndim],
 * default 0), as `torch.stack`. Each input's gradient is its slice of the
 * result's.
 * @example
 * stack([tensor([1, 2]), tensor([3, 4])]).toArray();      // [[1, 2], [3, 4]]
 * stack([tensor([1, 2]), tensor([3, 4])], 1).toArray();   // [[1, 3], [2, 4]]
 */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  const fn = 'stack';
  const ts = tensorList(tensors, fn);
  const ref = ts[0].shape.slice();
  const d = dimArg(dim, ref.length + 1, fn);
  for (let k = 1; k < ts.length; k++) {
    const s = ts[k].shape;
    if (s.length !== ref.length || s.some((v, j) => v !== ref[j])) {
      throw new ShapeError(`${fn}: every tensor must have the same shape, but tensors[0] has shape ${fmtShape(ref)} and tensors[${k}] has shape ${fmtShape(s)}`);
    }
  }
  const n = ts.length;
  const shape = [...ref.slice(0, d), n, ...ref.slice(d)];
  checkSize(fn, shape);
  const A = prod(ref, 0, d), B = prod(ref, d);
  const y = output(shape, fn);
  const be = y.backend;
  for (let k = 0; k < n; k++) copyRows(be, fn, [y], ts[k], B, at(y, k * B), n * B, A, B);
  return record(y, fn, ts, [], (g) => {
    const out: Array<Tensor | null> = [];
    const made: Tensor[] = [];
    for (let k = 0; k < n; k++) {
      if (!ts[k].requiresGrad) { out.push(null); continue; }
      const gk = output(ref, fn);
      made.push(gk);
      copyRows(be, fn, made, at(g, k * B), n * B, gk, B, A, B);
      out.push(gk);
    }
    return out;
  });
}

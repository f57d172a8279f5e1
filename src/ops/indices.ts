// Index arguments (gather indices, class labels and targets), shared by the
// index ops and the losses: read once into a private description, uploaded as
// float32 (whole numbers are exact up to 2^24), and checked by the registry's
// `index_check` kernel before any kernel uses them, so an index out of range
// is a RangeError naming the value and its position, never a wild read.
// Not re-exported by src/ops/index.ts: its exports are internal.
import { CONSTANTS, indexCheck as indexCheckK } from '../backend/registry';
import { describe } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { Tensor, empty, readShape, readValues, type NestedArray, type NumericArray } from '../tensor';
import { output, run, tensorArg } from './op';

const { CHUNK } = CONSTANTS;

/**
 * Indices or class labels: a tensor of whole numbers (float32), a numeric
 * typed array such as an Int32Array, or (nested) arrays of numbers.
 */
export type IndexLike = Tensor | NumericArray | NestedArray;

/** @internal Most positions along an indexed dimension (and most classes): float32 holds whole numbers exactly up to 2^24. */
export const MAX_INDEX = 2 ** 24;

/** @internal An index argument, read once: its shape and either the user's tensor or the values of an array. */
export interface IndexArg {
  /** The argument's name, for messages. */
  name: string;
  shape: number[];
  size: number;
  /** The user's tensor, or null when the values come from an array. */
  tensor: Tensor | null;
  /** The values of an array argument (the user's typed array, or a private copy of nested arrays). */
  data: ArrayLike<number> | null;
}

/**
 * @internal Reads an index argument. `shape` (for flat arrays only) gives the
 * array's shape; nested arrays carry theirs.
 */
export function indexArg(v: unknown, fn: string, name: string, shape?: unknown): IndexArg {
  if (v instanceof Tensor) {
    const t = tensorArg(v, fn, name);
    if (shape !== undefined && shape !== null) throw new TypeError(`${fn}: a shape is given only with an array of indices; ${name} is a Tensor of shape ${fmtShape(t.shape)}`);
    return { name, shape: t.shape.slice(), size: t.size, tensor: t, data: null };
  }
  if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array))) {
    throw new TypeError(`${fn}: ${name} must be a Tensor of whole numbers, an Int32Array or an array of whole numbers, got ${describe(v)}`);
  }
  const r = readValues(v, fn);
  if (shape === undefined || shape === null) return { name, shape: r.shape, size: r.data.length, tensor: null, data: r.data };
  const s = readShape(shape, fn, 'index shape');
  if (s.size !== r.data.length) {
    throw new ShapeError(`${fn}: ${r.data.length} ${name} values do not fit shape ${fmtShape(s.shape)} (${s.size} elements)`);
  }
  return { name, shape: s.shape, size: s.size, tensor: null, data: r.data };
}

/** @internal The multi-index of flat position `pos` in `shape`, as `[i, j, ...]`. */
export function position(pos: number, shape: readonly number[]): string {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = pos % shape[d]; pos = Math.floor(pos / shape[d]); }
  return `[${idx.join(', ')}]`;
}

/**
 * @internal The index tensor of an argument, checked: every value a whole
 * number in [0, hi) or equal to `ignore` (when not null). The tensor is the
 * user's (own: false) or a new one holding the array's values (own: true,
 * disposed here if the check fails). A bad value throws a TypeError (not a
 * whole number) or a RangeError whose message `bad(value, position)` makes.
 */
export function indexTensor(a: IndexArg, fn: string, hi: number, ignore: number | null,
                            bad: (value: number, at: string) => string): { t: Tensor; own: boolean } {
  let t = a.tensor;
  const own = t === null;
  if (!t) {
    t = empty(a.shape, fn);
    t.backend.write(t.storage.block, t.offset, a.data!);
  }
  const n = t.size;
  if (n === 0) return { t, own };
  const nchunk = Math.ceil(n / CHUNK);
  const res = output([nchunk], fn);
  let found = -1;
  try {
    run(t.backend, indexCheckK, { n, hi, useIgnore: ignore === null ? 0 : 1, ignore: ignore ?? 0, x: t, y: res }, fn, null);
    const r = t.backend.read(res.storage.block, res.offset, nchunk);
    for (let u = 0; u < nchunk; u++) if (r[u] >= 0) { found = u * CHUNK + r[u]; break; }
  } catch (e) {
    if (own) t.dispose();
    throw e;
  } finally {
    res.dispose();
  }
  if (found < 0) return { t, own };
  const value = a.data ? a.data[found] : t.backend.read(t.storage.block, t.offset + found, 1)[0];
  if (own) t.dispose();
  const at = position(found, a.shape);
  if (!Number.isInteger(value)) throw new TypeError(`${fn}: ${a.name} must hold whole numbers; ${a.name}${at} is ${value}`);
  throw new RangeError(bad(value, at));
}

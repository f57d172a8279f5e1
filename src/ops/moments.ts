// var and std over any dimensions, as torch.var and torch.std, in two passes:
// the mean (the reduce family), then the sum of squared deviations from it
// (the registry's `sq_dev` family, in the reductions' fixed chunks along the
// reduced axis, their partial sums added by the reduce family), so results are
// as sound as the sums, need no full-size temporary, and are identical on any
// thread count. Re-exported by ./shape_ops (every export public).
import { CONSTANTS, REDUCE, UNARY, reduce as reduceK, sqDev as sqDevK } from '../backend/registry';
import { describe, noGrad } from '../engine';
import { type Tensor, view } from '../tensor';
import { add, div, eq, mul, ne, sub, unaryInPlace } from './elementwise';
import { boolArg, dimsArg, numberArg, output, record, run, tensorArg } from './op';
import { mean } from './reduce';
import { permute } from './shape';

const { RC } = CONSTANTS;

/** Options of `var` and `std`. */
export interface VarOptions {
  /**
   * The sum of squared deviations is divided by max(0, N - correction), N the
   * number of elements reduced (default 1, Bessel's correction; 0 gives the
   * population variance). Any finite number, as PyTorch.
   */
  correction?: number;
  /** PyTorch's older spelling: true is correction 1, false correction 0 (give one or the other). */
  unbiased?: boolean;
  /** Keep the reduced dimensions with size 1 (default false). */
  keepdim?: boolean;
}

function readOptions(opts: unknown, fn: string): { correction: number; keepdim: boolean } {
  if (opts === undefined) return { correction: 1, keepdim: false };
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`${fn}: options must be an object like { correction: 1, keepdim: false }, got ${describe(opts)}`);
  }
  const o = opts as VarOptions;
  const c = o.correction, u = o.unbiased, k = o.keepdim;
  if (c !== undefined && u !== undefined) {
    throw new TypeError(`${fn}: give either correction (${describe(c)}) or unbiased (${describe(u)}), not both`);
  }
  const correction = c !== undefined ? numberArg(c, fn, 'correction') : boolArg(u, fn, 'unbiased', true) ? 1 : 0;
  return { correction, keepdim: boolArg(k, fn, 'keepdim', false) };
}

/**
 * The reduction as [A, R, B] (kept size before, reduced size, kept size
 * after), with the permutation that gathers the reduced dimensions last first
 * when they are not adjacent (size-1 dimensions fit anywhere): as the
 * reductions plan theirs, so `mean` leaves its result in the same [A, B] order.
 */
function plan(shape: readonly number[], dims: readonly number[]): { A: number; R: number; B: number; perm: number[] | null } {
  const red = new Set(dims);
  let A = 1, R = 1, B = 1;
  if (shape.length === 0 || dims.length === shape.length) {
    for (const d of shape) R *= d;
    return { A, R, B, perm: null };
  }
  const kinds: boolean[] = [];
  shape.forEach((d, i) => { if (d !== 1) kinds.push(red.has(i)); });
  let blocks = 0;
  for (let i = 0; i < kinds.length; i++) if (kinds[i] && (i === 0 || !kinds[i - 1])) blocks++;
  if (blocks <= 1) {
    let seenR = false;
    shape.forEach((d, i) => {
      if (red.has(i)) { R *= d; if (d !== 1) seenR = true; } else if (seenR) B *= d; else A *= d;
    });
    return { A, R, B, perm: null };
  }
  const kept = shape.map((_, i) => i).filter((i) => !red.has(i));
  for (const i of kept) A *= shape[i];
  for (const i of dims) R *= shape[i];
  return { A, R, B, perm: [...kept, ...dims] };
}

function moments(fn: 'var' | 'std', x: unknown, dim: unknown, opts: unknown): Tensor {
  const t = tensorArg(x, fn, 'x');
  const dims = dimsArg(dim, t.ndim, fn);
  const { correction, keepdim } = readOptions(opts, fn);
  const from = t.shape.slice();
  const kept = from.map((v, i) => (dims.includes(i) ? 1 : v));
  const { A, R, B, perm } = plan(from, dims);
  const N = R;
  const root = fn === 'std';
  const be = t.backend;
  const y = output(keepdim ? kept : from.filter((_, i) => !dims.includes(i)), fn);
  const temps: Tensor[] = [];
  try {
    noGrad(() => {
      if (y.size === 0) return;
      if (R === 0) {
        unaryInPlace(y, UNARY.FILL, 0);
      } else {
        const m = mean(t, dims, true);
        temps.push(m);
        const src = perm ? permute(t, perm) : t;
        if (perm) temps.push(src);
        const nchunk = Math.ceil(R / RC);
        if (nchunk === 1) {
          run(be, sqDevK, { A, R, B, RC, x: src, m, y }, fn, null);
        } else {
          const part = output([A, nchunk, B], fn);
          temps.push(part);
          run(be, sqDevK, { A, R, B, RC, x: src, m, y: part }, fn, null);
          run(be, reduceK, { op: REDUCE.SUM, A, R: nchunk, B, RC: nchunk, divisor: 1, x: part, y }, fn, null);
        }
      }
      // As PyTorch: N - correction <= 0 divides by 0 (inf, or NaN where the sum is 0).
      unaryInPlace(y, UNARY.DIVS, Math.max(0, N - correction));
      if (root) unaryInPlace(y, UNARY.SQRT);
    });
  } catch (e) {
    y.dispose();
    throw e;
  } finally {
    for (const u of temps) u.dispose();
  }
  // d var / dx = 2 (x - mean) / (N - correction), as PyTorch (not clamped at 0);
  // d std / dx = the same times 1 / (2 std), and 0 where std is 0.
  const factor = 2 / (N - correction);
  return record(y, fn, [t], root ? [t, y] : [t], (g) => {
    let gk = view(g, kept, g.size);
    if (root) {
      const yk = view(y, kept, y.size);
      const nz = ne(yk, 0), z = eq(yk, 0);
      // g / (2 std) where std != 0, else 0 / 1
      gk = div(mul(gk, nz), add(mul(yk, 2), z));
    }
    const scaled = mul(gk, factor);
    const m = mean(t, dims, true);
    const d = sub(t, m);
    m.dispose();
    const dx = mul(scaled, d);
    d.dispose(); scaled.dispose();
    return [dx];
  });
}

/**
 * Variance over `dim` (a dimension, a list, or all when omitted), as
 * `torch.var`: the sum of squared deviations from the mean divided by
 * max(0, N - correction) (correction 1 by default; `unbiased: false` is
 * correction 0). Exported as `var`.
 * @example
 * var(tensor([1, 2, 3, 4])).item();                          // 1.6667 (5 / 3)
 * var(tensor([1, 2, 3, 4]), null, { correction: 0 }).item(); // 1.25
 * var(tensor([[1, 3], [2, 6]]), 1, { keepdim: true }).toArray(); // [[2], [8]]
 */
function variance(x: Tensor, dim?: number | readonly number[] | null, opts?: VarOptions): Tensor {
  return moments('var', x, dim, opts);
}
export { variance as var };

/**
 * Standard deviation over `dim` (all when omitted), as `torch.std`: the square
 * root of `var` with the same options. Its gradient is 0 where the result is 0.
 * @example
 * std(tensor([2, 4, 4, 4, 5, 5, 7, 9]), null, { correction: 0 }).item(); // 2
 * std(tensor([[1, 3], [2, 6]]), 1).toArray();   // [1.4142, 2.8284]
 */
export function std(x: Tensor, dim?: number | readonly number[] | null, opts?: VarOptions): Tensor {
  return moments('std', x, dim, opts);
}

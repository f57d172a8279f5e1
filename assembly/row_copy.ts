// Row copies between strided blocks: cat, stack, narrow and select (when they
// copy), and the gradients of cat, stack, narrow, select and slice.
//
//   y[r * ys + c] = x[r * xs + c - at]  for at <= c < at + cols
//   y[r * ys + c] = 0                   for the other c < dcols
//
// for every row r < rows. With dcols == cols and at == 0 it is a plain copy of
// `rows` runs of `cols` floats; with dcols > cols it writes whole destination
// rows with the source embedded at column `at` (a slice's gradient). Nothing
// is summed, so the SIMD kernel, its scalar sibling and any split over threads
// write the same bits; copies move raw 32-bit words (NaN payloads included).
import { RowCopyP } from './generated/params';
import { isSimd } from './math';

@inline function f4(i: i32): usize { return <usize>i << 2; }
@inline function imin(a: i32, b: i32): i32 { return a < b ? a : b; }
@inline function imax(a: i32, b: i32): i32 { return a > b ? a : b; }

/** Runs at least this long go through bulk memory; shorter ones are copied inline (a call costs more). */
const BULK: i32 = 32;

/** Copies n floats (as 32-bit words) from src to dst; the blocks do not overlap. */
@inline export function copyWords<V>(dst: usize, src: usize, n: i32): void {
  if (n >= BULK) { memory.copy(dst, src, f4(n)); return; }
  let t = 0;
  if (isSimd<V>()) for (; t + 4 <= n; t += 4) v128.store(dst + f4(t), v128.load(src + f4(t)));
  for (; t < n; t++) store<i32>(dst + f4(t), load<i32>(src + f4(t)));
}

/** Writes n zeros at dst. */
@inline export function zeroWords<V>(dst: usize, n: i32): void {
  if (n >= BULK) { memory.fill(dst, 0, f4(n)); return; }
  let t = 0;
  if (isSimd<V>()) { const z = i32x4.splat(0); for (; t + 4 <= n; t += 4) v128.store(dst + f4(t), z); }
  for (; t < n; t++) store<i32>(dst + f4(t), 0);
}

/**
 * Units: ceil(rows / rpu) row blocks times ceil(dcols / cpu) column chunks of
 * the destination rows; unit u is row block u / nc, column chunk u % nc.
 */
export function rowCopy<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const rows = RowCopyP.rows(p), cols = RowCopyP.cols(p), dcols = RowCopyP.dcols(p), at = RowCopyP.at(p);
  const xs = RowCopyP.xs(p), ys = RowCopyP.ys(p), rpu = RowCopyP.rpu(p), cpu = RowCopyP.cpu(p);
  const x = RowCopyP.x(p), y = RowCopyP.y(p);
  const nc = (dcols + cpu - 1) / cpu;
  for (let u = begin; u < end; u++) {
    const rb = u / nc, cc = u - rb * nc;
    const r0 = rb * rpu, r1 = imin(rows, r0 + rpu);
    const c0 = cc * cpu, c1 = imin(dcols, c0 + cpu);
    // Destination columns [c0, c1): zeros in [c0, z0), the source in [a0, a1), zeros in [a1, c1).
    const z0 = imax(c0, imin(c1, at));
    const a1 = imax(z0, imin(c1, at + cols));
    for (let r = r0; r < r1; r++) {
      const drow = y + f4(r * ys);
      if (z0 > c0) zeroWords<V>(drow + f4(c0), z0 - c0);
      if (a1 > z0) copyWords<V>(drow + f4(z0), x + f4(r * xs + z0 - at), a1 - z0);
      if (c1 > a1) zeroWords<V>(drow + f4(a1), c1 - a1);
    }
  }
}

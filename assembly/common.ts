// Shared helpers for the convolution kernels.
//
// Every kernel has the same signature so that one dispatcher (and every worker)
// can run any of them over a range of work units:
//
//   kernel(params, ws, begin, end)
//
// `params` points at the kernel's parameter block (its layout is declared in
// src/backend/registry.ts and generated into assembly/generated/params.ts),
// `ws` is this thread's private workspace and [begin, end) the work units to
// compute. Units always own disjoint outputs and
// each output is summed in an order that does not depend on how units are split,
// so results are bitwise identical for any thread count.
//
// The generic parameter V selects the arithmetic: `v128` compiles the SIMD kernel,
// `f32` its scalar sibling (same algorithm, same summation order).

// Geometry (i32 fields of the Conv layout, generated from the registry).
import { ConvP } from './generated/params';
@inline export function gN(p: usize): i32 { return ConvP.N(p); }
@inline export function gC(p: usize): i32 { return ConvP.C(p); }
@inline export function gH(p: usize): i32 { return ConvP.H(p); }
@inline export function gW(p: usize): i32 { return ConvP.W(p); }
@inline export function gO(p: usize): i32 { return ConvP.O(p); }
@inline export function gKH(p: usize): i32 { return ConvP.KH(p); }
@inline export function gKW(p: usize): i32 { return ConvP.KW(p); }
@inline export function gOH(p: usize): i32 { return ConvP.OH(p); }
@inline export function gOW(p: usize): i32 { return ConvP.OW(p); }
@inline export function gSH(p: usize): i32 { return ConvP.SH(p); }
@inline export function gSW(p: usize): i32 { return ConvP.SW(p); }
@inline export function gPH(p: usize): i32 { return ConvP.PH(p); }
@inline export function gPW(p: usize): i32 { return ConvP.PW(p); }
@inline export function gDH(p: usize): i32 { return ConvP.DH(p); }
@inline export function gDW(p: usize): i32 { return ConvP.DW(p); }
@inline export function gG(p: usize): i32 { return ConvP.G(p); }

import { isSimd } from './math';
export { isSimd };

@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline export function imin(a: i32, b: i32): i32 { return a < b ? a : b; }
@inline export function imax(a: i32, b: i32): i32 { return a > b ? a : b; }
@inline export function f4(i: i32): usize { return <usize>i << 2; }

/** Horizontal sum in a fixed order: (l0 + l1) + (l2 + l3). */
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
         (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Stores the first n (0..4) lanes of v at p. */
@inline export function storeLanes(p: usize, v: v128, n: i32): void {
  if (n >= 4) { v128.store(p, v); return; }
  if (n > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** Stores the first n (0..8) of the 8 lanes v0:v1 at p. */
@inline export function store8(p: usize, v0: v128, v1: v128, n: i32): void {
  if (n >= 8) { v128.store(p, v0); v128.store(p, v1, 16); }
  else if (n >= 4) { v128.store(p, v0); storeLanes(p + 16, v1, n - 4); }
  else storeLanes(p, v0, n);
}

/**
 * C[r][j] = init[r] + sum_k A[k][r] * B[k][j] for r < rows (<= 4), j < cols (<= 8).
 * A is packed [K][4] (zero rows past `rows`), B has rows of stride `bs` bytes
 * with at least 8 readable floats each, C rows have stride `cs` bytes.
 * init[r] = bias[r] when bias != 0, else 0. k is summed in ascending order.
 */
export function tile4x8<V>(a: usize, b: usize, bs: usize, K: i32, c: usize, cs: usize,
                           rows: i32, cols: i32, bias: usize): void {
  if (isSimd<V>()) {
    let i0 = f32x4.splat(0), i1 = i0, i2 = i0, i3 = i0;
    if (bias) {
      i0 = v128.load32_splat(bias);
      if (rows > 1) i1 = v128.load32_splat(bias, 4);
      if (rows > 2) i2 = v128.load32_splat(bias, 8);
      if (rows > 3) i3 = v128.load32_splat(bias, 12);
    }
    let c00 = i0, c01 = i0, c10 = i1, c11 = i1, c20 = i2, c21 = i2, c30 = i3, c31 = i3;
    for (let k = 0; k < K; k++) {
      let b0 = v128.load(b), b1 = v128.load(b, 16);
      let av = v128.load32_splat(a);
      c00 = madd(av, b0, c00); c01 = madd(av, b1, c01);
      av = v128.load32_splat(a, 4);
      c10 = madd(av, b0, c10); c11 = madd(av, b1, c11);
      av = v128.load32_splat(a, 8);
      c20 = madd(av, b0, c20); c21 = madd(av, b1, c21);
      av = v128.load32_splat(a, 12);
      c30 = madd(av, b0, c30); c31 = madd(av, b1, c31);
      a += 16; b += bs;
    }
    store8(c, c00, c01, cols);
    if (rows > 1) store8(c + cs, c10, c11, cols);
    if (rows > 2) store8(c + 2 * cs, c20, c21, cols);
    if (rows > 3) store8(c + 3 * cs, c30, c31, cols);
  } else {
    for (let r = 0; r < rows; r++) {
      let init: f32 = bias ? load<f32>(bias + f4(r)) : 0;
      for (let j = 0; j < cols; j++) {
        let s = init;
        let pa = a + f4(r), pb = b + f4(j);
        for (let k = 0; k < K; k++) {
          s = s + load<f32>(pa) * load<f32>(pb);
          pa += 16; pb += bs;
        }
        store<f32>(c + <usize>r * cs + f4(j), s);
      }
    }
  }
}

/** Writes n zeros at dst (short runs inline: a call costs more than the stores). */
@inline export function zeroRun<V>(dst: usize, n: i32): void {
  let t = 0;
  if (isSimd<V>()) {
    const z = f32x4.splat(0);
    for (; t + 4 <= n; t += 4) v128.store(dst + f4(t), z);
  }
  for (; t < n; t++) store<f32>(dst + f4(t), 0);
}

/** Copies n floats from src to dst (inline, for the short runs of im2col). */
@inline export function copyRun<V>(dst: usize, src: usize, n: i32): void {
  let t = 0;
  if (isSimd<V>()) {
    for (; t + 4 <= n; t += 4) v128.store(dst + f4(t), v128.load(src + f4(t)));
  }
  for (; t < n; t++) store<f32>(dst + f4(t), load<f32>(src + f4(t)));
}

/**
 * Copies `run` consecutive columns of one output row from a source row:
 * dst[t] = src[w0 + t * step] when 0 <= w0 + t * step < width, else 0.
 */
@inline export function gatherRow<V>(dst: usize, src: usize, w0: i32, step: i32, width: i32, run: i32): void {
  if (step == 1) {
    const t0 = imin(run, imax(0, -w0));
    const t1 = imax(t0, imin(run, width - w0));
    zeroRun<V>(dst, t0);
    copyRun<V>(dst + f4(t0), src + f4(w0 + t0), t1 - t0);
    zeroRun<V>(dst + f4(t1), run - t1);
  } else {
    let w = w0;
    for (let t = 0; t < run; t++) {
      store<f32>(dst + f4(t), (w >= 0 && w < width) ? load<f32>(src + f4(w)) : 0);
      w += step;
    }
  }
}

/**
 * Copies an H x W plane into a zero-bordered Hp x Wp plane at row offset PH
 * and column offset PW (rows and columns that fall outside are dropped).
 */
export function padPlane<V>(dst: usize, src: usize, H: i32, W: i32, Hp: i32, Wp: i32, PH: i32, PW: i32): void {
  const q0 = imin(PW, Wp), q1 = imax(q0, imin(PW + W, Wp));
  for (let r = 0; r < Hp; r++) {
    const row = dst + f4(r * Wp);
    const h = r - PH;
    if (h < 0 || h >= H) { zeroRun<V>(row, Wp); continue; }
    // Rows are short: inline copies, not bulk-memory calls.
    zeroRun<V>(row, q0);
    copyRun<V>(row + f4(q0), src + f4(h * W + q0 - PW), q1 - q0);
    zeroRun<V>(row + f4(q1), Wp - q1);
  }
}

// Entry of the SIMD and relaxed-SIMD builds: the SIMD kernels beside their scalar siblings.
export * from './kernels';
import { forwardGemm, forwardDirect } from './conv2d_forward';
import { backwardInputGemm } from './conv2d_backward_input';
import { backwardWeightGemm, backwardWeightDirect } from './conv2d_backward_weight';
import { backwardBias } from './conv2d_backward_bias';
import { madd } from './common';

export function conv2d_forward_gemm_simd(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  forwardGemm<v128>(p, a, b, c, d, ws, begin, end);
}
export function conv2d_forward_direct_simd(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  forwardDirect<v128>(p, a, b, c, d, ws, begin, end);
}
export function conv2d_backward_input_gemm_simd(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  backwardInputGemm<v128>(p, a, b, c, d, ws, begin, end);
}
export function conv2d_backward_weight_gemm_simd(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  backwardWeightGemm<v128>(p, a, b, c, d, ws, begin, end);
}
export function conv2d_backward_weight_direct_simd(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  backwardWeightDirect<v128>(p, a, b, c, d, ws, begin, end);
}
export function conv2d_backward_bias_simd(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  backwardBias<v128>(p, a, b, c, d, ws, begin, end);
}

/**
 * Register-only multiply-add loop for measuring the SIMD peak: 12 independent
 * accumulators, `iters` iterations, 96 flops each (mul + add counted as 2).
 */
export function simd_peak(iters: i32, seed: f32): f32 {
  const m = f32x4.splat(0.999999), s = f32x4.splat(seed);
  let a0 = s, a1 = f32x4.add(s, m), a2 = f32x4.add(a1, m), a3 = f32x4.add(a2, m);
  let a4 = f32x4.add(a3, m), a5 = f32x4.add(a4, m), a6 = f32x4.add(a5, m), a7 = f32x4.add(a6, m);
  let a8 = f32x4.add(a7, m), a9 = f32x4.add(a8, m), a10 = f32x4.add(a9, m), a11 = f32x4.add(a10, m);
  for (let i = 0; i < iters; i++) {
    a0 = madd(a0, m, s); a1 = madd(a1, m, s); a2 = madd(a2, m, s); a3 = madd(a3, m, s);
    a4 = madd(a4, m, s); a5 = madd(a5, m, s); a6 = madd(a6, m, s); a7 = madd(a7, m, s);
    a8 = madd(a8, m, s); a9 = madd(a9, m, s); a10 = madd(a10, m, s); a11 = madd(a11, m, s);
  }
  const t = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)),
            f32x4.add(f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)),
                      f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))));
  return f32x4.extract_lane(t, 0);
}

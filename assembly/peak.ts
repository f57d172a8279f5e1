// The benchmark's peak loop (SIMD builds only).
import { madd } from './common';

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

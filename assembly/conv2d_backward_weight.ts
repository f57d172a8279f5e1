// Gradient of the cross-correlation with respect to its weight:
//   dw[o, c, ki, kj] = sum_n sum_{i,j} dy[n, o, i, j] * x[n, g*Cg + c, i*SH + ki*DH - PH, j*SW + kj*DW - PW]
// Each unit owns KB consecutive (c, ki, kj) columns of one group for every o of
// that group; it packs those im2col rows (full OH*OW) and takes dot products with
// the rows of dy, summing over n in order, so every element has one fixed order.
import {
  gN, gC, gH, gW, gO, gKH, gKW, gOH, gOW, gSH, gSW, gPH, gPW, gDH, gDW, gG,
  isSimd, madd, hsum, imin, f4, gatherRow,
} from './common';

/** Weight columns (c, ki, kj) handled per work unit. */
export const KB: i32 = 8;

/** Sum of a[t] * b[t] for t < len: four lane sums, (l0+l1)+(l2+l3), plus the tail's sum. */
@inline function dotScalar(a: usize, b: usize, len: i32): f32 {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  let t = 0;
  for (; t + 4 <= len; t += 4) {
    s0 = s0 + load<f32>(a) * load<f32>(b);
    s1 = s1 + load<f32>(a, 4) * load<f32>(b, 4);
    s2 = s2 + load<f32>(a, 8) * load<f32>(b, 8);
    s3 = s3 + load<f32>(a, 12) * load<f32>(b, 12);
    a += 16; b += 16;
  }
  let tt: f32 = 0;
  for (; t < len; t++) { tt = tt + load<f32>(a) * load<f32>(b); a += 4; b += 4; }
  return ((s0 + s1) + (s2 + s3)) + tt;
}

@inline function tail(a: usize, b: usize, t: i32, len: i32): f32 {
  let s: f32 = 0;
  a += f4(t); b += f4(t);
  for (; t < len; t++) { s = s + load<f32>(a) * load<f32>(b); a += 4; b += 4; }
  return s;
}

@inline function accum(dst: usize, v: f32, first: bool): void {
  store<f32>(dst, first ? v : load<f32>(dst) + v);
}

/**
 * a = x, b = dy, c = dw (fully overwritten), d unused.
 * ws: KB rows of roundup(OH*OW, 4) floats. Units: G * ceil(Kg / KB).
 */
export function backwardWeightGemm<V>(p: usize, x: usize, dy: usize, dw: usize, unused: usize,
                                      ws: usize, begin: i32, end: i32): void {
  const N = gN(p), C = gC(p), H = gH(p), W = gW(p), O = gO(p), G = gG(p);
  const KH = gKH(p), KW = gKW(p), OH = gOH(p), OW = gOW(p);
  const SH = gSH(p), SW = gSW(p), PH = gPH(p), PW = gPW(p), DH = gDH(p), DW = gDW(p);
  const Cg = C / G, Og = O / G, KK = KH * KW, Kg = Cg * KK;
  const P = OH * OW, Pp = (P + 3) & ~3, P4 = P & ~3;
  const rowBytes = f4(Pp);
  const nkb = (Kg + KB - 1) / KB;
  for (let u = begin; u < end; u++) {
    const kb = u % nkb, g = u / nkb;
    const k0 = kb * KB, kc = imin(KB, Kg - k0);
    for (let n = 0; n < N; n++) {
      const first = n == 0;
      // im2col rows k0..k0+kc for sample n.
      for (let r = 0; r < kc; r++) {
        const k = k0 + r, c = k / KK, kk = k % KK, ki = kk / KW, kj = kk % KW;
        const plane = x + f4((n * C + g * Cg + c) * H * W);
        const row = ws + <usize>r * rowBytes;
        for (let i = 0; i < OH; i++) {
          const h = i * SH + ki * DH - PH;
          if (h < 0 || h >= H) memory.fill(row + f4(i * OW), 0, f4(OW));
          else gatherRow(row + f4(i * OW), plane + f4(h * W), kj * DW - PW, SW, W, OW);
        }
      }
      const dyb = dy + f4((n * O + g * Og) * P);
      const dwb = dw + f4(g * Og * Kg + k0);
      if (isSimd<V>()) {
        if (Og >= 4) {
          // 4 (o) x 2 (k) dot products at a time.
          for (let ob = 0; ob < Og; ob += 4) {
            const o0 = imin(ob, Og - 4); // last block overlaps instead of running past Og
            const d0 = dyb + f4(o0 * P), d1 = d0 + f4(P), d2 = d1 + f4(P), d3 = d2 + f4(P);
            for (let r = 0; r < kc; r += 2) {
              const r1 = imin(r + 1, kc - 1);
              const x0 = ws + <usize>r * rowBytes, x1 = ws + <usize>r1 * rowBytes;
              let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00;
              let a20 = a00, a21 = a00, a30 = a00, a31 = a00;
              for (let t = 0; t < P4; t += 4) {
                const off = f4(t);
                const v0 = v128.load(x0 + off), v1 = v128.load(x1 + off);
                let e = v128.load(d0 + off); a00 = madd(e, v0, a00); a01 = madd(e, v1, a01);
                e = v128.load(d1 + off); a10 = madd(e, v0, a10); a11 = madd(e, v1, a11);
                e = v128.load(d2 + off); a20 = madd(e, v0, a20); a21 = madd(e, v1, a21);
                e = v128.load(d3 + off); a30 = madd(e, v0, a30); a31 = madd(e, v1, a31);
              }
              for (let q = ob == o0 ? 0 : ob - o0; q < 4; q++) {
                const dq = d0 + <usize>q * f4(P);
                const base = dwb + f4((o0 + q) * Kg + r);
                const s0 = q == 0 ? a00 : q == 1 ? a10 : q == 2 ? a20 : a30;
                const s1 = q == 0 ? a01 : q == 1 ? a11 : q == 2 ? a21 : a31;
                accum(base, hsum(s0) + tail(dq, x0, P4, P), first);
                if (r1 != r) accum(base + 4, hsum(s1) + tail(dq, x1, P4, P), first);
              }
            }
          }
        } else {
          // Few output channels per group (depthwise, single channel): 1 (o) x 4 (k).
          for (let o = 0; o < Og; o++) {
            const d0 = dyb + f4(o * P);
            for (let r = 0; r < kc; r += 4) {
              const r1 = imin(r + 1, kc - 1), r2 = imin(r + 2, kc - 1), r3 = imin(r + 3, kc - 1);
              const x0 = ws + <usize>r * rowBytes, x1 = ws + <usize>r1 * rowBytes;
              const x2 = ws + <usize>r2 * rowBytes, x3 = ws + <usize>r3 * rowBytes;
              let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
              for (let t = 0; t < P4; t += 4) {
                const off = f4(t);
                const e = v128.load(d0 + off);
                a0 = madd(e, v128.load(x0 + off), a0);
                a1 = madd(e, v128.load(x1 + off), a1);
                a2 = madd(e, v128.load(x2 + off), a2);
                a3 = madd(e, v128.load(x3 + off), a3);
              }
              const base = dwb + f4(o * Kg + r);
              accum(base, hsum(a0) + tail(d0, x0, P4, P), first);
              if (r1 > r) accum(base + 4, hsum(a1) + tail(d0, x1, P4, P), first);
              if (r2 > r1) accum(base + 8, hsum(a2) + tail(d0, x2, P4, P), first);
              if (r3 > r2) accum(base + 12, hsum(a3) + tail(d0, x3, P4, P), first);
            }
          }
        }
      } else {
        for (let o = 0; o < Og; o++) {
          for (let r = 0; r < kc; r++) {
            accum(dwb + f4(o * Kg + r), dotScalar(dyb + f4(o * P), ws + <usize>r * rowBytes, P), first);
          }
        }
      }
    }
  }
}

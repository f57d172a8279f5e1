// Gradient of the cross-correlation with respect to its weight:
//   dw[o, c, ki, kj] = sum_n sum_{i,j} dy[n, o, i, j] * x[n, g*Cg + c, i*SH + ki*DH - PH, j*SW + kj*DW - PW]
// Each unit owns KB (at most 8) consecutive (c, ki, kj) columns of one group for every o of
// that group; it packs those im2col rows (full OH*OW) and takes dot products with
// the rows of dy, summing over n in order, so every element has one fixed order.
import {
  gN, gC, gH, gW, gO, gKH, gKW, gOH, gOW, gSH, gSW, gPH, gPW, gDH, gDW, gG,
  isSimd, madd, hsum, imin, f4, gatherRow, padPlane,
} from './common';
import { ConvP } from './generated/params';

/**
 * Weight columns (c, ki, kj) per work unit, from the geometry block (slot 16):
 * 8 normally, fewer when a layer has so few columns that the units would not
 * spread evenly over the threads.
 */
@inline function gKB(p: usize): i32 { return ConvP.KB(p); }

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
 * x, dy, dw (fully overwritten).
 * ws: KB rows of roundup(OH*OW, 4) + 16 floats. Units: G * ceil(Kg / KB).
 */
export function backwardWeightGemm<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const x = ConvP.x(p), dy = ConvP.dy(p), dw = ConvP.dw(p);
  const N = gN(p), C = gC(p), H = gH(p), W = gW(p), O = gO(p), G = gG(p);
  const KH = gKH(p), KW = gKW(p), OH = gOH(p), OW = gOW(p);
  const SH = gSH(p), SW = gSW(p), PH = gPH(p), PW = gPW(p), DH = gDH(p), DW = gDW(p);
  const Cg = C / G, Og = O / G, KK = KH * KW, Kg = Cg * KK;
  const P = OH * OW, Pp = (P + 3) & ~3, P4 = P & ~3;
  const rowBytes = f4(Pp + 16); // +64 bytes: rows of power-of-two length would share cache sets
  const KB = gKB(p);
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
          else gatherRow<V>(row + f4(i * OW), plane + f4(h * W), kj * DW - PW, SW, W, OW);
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

/** The plane the taps read: a zero-bordered copy in ws when padding is needed. */
@inline function taps<V>(src: usize, padded: bool, H: i32, W: i32, Hp: i32, Wp: i32, PH: i32, PW: i32, ws: usize): usize {
  if (!padded) return src;
  padPlane<V>(ws, src, H, W, Hp, Wp, PH, PW);
  return ws;
}

/** Up to three rows or columns of taps per direct weight-gradient unit. */
export const TB: i32 = 3;

/**
 * Direct weight gradient for stride 1 and few channels (the single-channel
 * corr2d, image filters, depthwise): dw[o, c, ki, kj] is the correlation of one
 * input plane with one output-gradient plane. x, dy, dw.
 * ws: one zero-bordered input plane when padding is needed. Units: O * Cg * ceil(KH/3) * ceil(KW/3), a block of up to 3x3 taps
 * each, so that every dy load serves nine taps. Each tap sums four lanes over
 * (n, i, j) in order (padding adds zeros), then (l0+l1)+(l2+l3),
 * plus the row tails' sum.
 */
export function backwardWeightDirect<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const x = ConvP.x(p), dy = ConvP.dy(p), dw = ConvP.dw(p);
  const N = gN(p), C = gC(p), H = gH(p), W = gW(p), O = gO(p), G = gG(p);
  const KH = gKH(p), KW = gKW(p), OH = gOH(p), OW = gOW(p);
  const PH = gPH(p), PW = gPW(p), DH = gDH(p), DW = gDW(p);
  const Cg = C / G, Og = O / G;
  const OW4 = OW & ~3;
  const padded = PH != 0 || PW != 0 || OH + (KH - 1) * DH > H || OW + (KW - 1) * DW > W;
  const Hp = padded ? OH + (KH - 1) * DH : H, Wp = padded ? OW + (KW - 1) * DW : W;
  const rs = f4(Wp * DH);
  const nbh = (KH + TB - 1) / TB, nbw = (KW + TB - 1) / TB;
  for (let u = begin; u < end; u++) {
    const bw = u % nbw, t1 = u / nbw, bh = t1 % nbh, t2 = t1 / nbh, c = t2 % Cg, o = t2 / Cg, g = o / Og;
    const ki0 = bh * TB, kj0 = bw * TB;
    const nki = imin(TB, KH - ki0), nkj = imin(TB, KW - kj0);
    // Column byte offsets of the block's taps; missing ones repeat the last.
    const c0 = f4(kj0 * DW), c1 = f4(imin(kj0 + 1, KW - 1) * DW), c2 = f4(imin(kj0 + 2, KW - 1) * DW);
    const out = dw + f4(((o * Cg + c) * KH + ki0) * KW + kj0);
    let t00: f32 = 0, t01: f32 = 0, t02: f32 = 0, t10: f32 = 0, t11: f32 = 0, t12: f32 = 0, t20: f32 = 0, t21: f32 = 0, t22: f32 = 0;
    if (isSimd<V>()) {
      let a00 = f32x4.splat(0), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00, a20 = a00, a21 = a00, a22 = a00;
      for (let n = 0; n < N; n++) {
        const plane = taps<V>(x + f4((n * C + g * Cg + c) * H * W), padded, H, W, Hp, Wp, PH, PW, ws);
        const dyp = dy + f4((n * O + o) * OH * OW);
        for (let i = 0; i < OH; i++) {
          // Rows of the block's taps; missing ones repeat the last.
          const r0 = plane + f4((i + ki0 * DH) * Wp);
          const r1 = nki > 1 ? r0 + rs : r0, r2 = nki > 2 ? r1 + rs : r1;
          const dr = dyp + f4(i * OW);
          for (let j = 0; j < OW4; j += 4) {
            const d = v128.load(dr + f4(j));
            const jj = f4(j);
            let q = r0 + jj;
            a00 = madd(d, v128.load(q + c0), a00); a01 = madd(d, v128.load(q + c1), a01); a02 = madd(d, v128.load(q + c2), a02);
            q = r1 + jj;
            a10 = madd(d, v128.load(q + c0), a10); a11 = madd(d, v128.load(q + c1), a11); a12 = madd(d, v128.load(q + c2), a12);
            q = r2 + jj;
            a20 = madd(d, v128.load(q + c0), a20); a21 = madd(d, v128.load(q + c1), a21); a22 = madd(d, v128.load(q + c2), a22);
          }
          for (let j = OW4; j < OW; j++) {
            const d = load<f32>(dr + f4(j)), jj = f4(j);
            t00 += d * load<f32>(r0 + jj + c0); t01 += d * load<f32>(r0 + jj + c1); t02 += d * load<f32>(r0 + jj + c2);
            t10 += d * load<f32>(r1 + jj + c0); t11 += d * load<f32>(r1 + jj + c1); t12 += d * load<f32>(r1 + jj + c2);
            t20 += d * load<f32>(r2 + jj + c0); t21 += d * load<f32>(r2 + jj + c1); t22 += d * load<f32>(r2 + jj + c2);
          }
        }
      }
      const ks = f4(KW);
      store<f32>(out, hsum(a00) + t00);
      if (nkj > 1) store<f32>(out, hsum(a01) + t01, 4);
      if (nkj > 2) store<f32>(out, hsum(a02) + t02, 8);
      if (nki > 1) {
        store<f32>(out + ks, hsum(a10) + t10);
        if (nkj > 1) store<f32>(out + ks, hsum(a11) + t11, 4);
        if (nkj > 2) store<f32>(out + ks, hsum(a12) + t12, 8);
      }
      if (nki > 2) {
        store<f32>(out + 2 * ks, hsum(a20) + t20);
        if (nkj > 1) store<f32>(out + 2 * ks, hsum(a21) + t21, 4);
        if (nkj > 2) store<f32>(out + 2 * ks, hsum(a22) + t22, 8);
      }
    } else {
      // Scalar sibling: the same sums, one tap at a time.
      for (let a = 0; a < nki; a++) {
        for (let b = 0; b < nkj; b++) {
          const off = f4((kj0 + b) * DW);
          let l0: f32 = 0, l1: f32 = 0, l2: f32 = 0, l3: f32 = 0, tt: f32 = 0;
          for (let n = 0; n < N; n++) {
            const plane = taps<V>(x + f4((n * C + g * Cg + c) * H * W), padded, H, W, Hp, Wp, PH, PW, ws);
            const dyp = dy + f4((n * O + o) * OH * OW);
            for (let i = 0; i < OH; i++) {
              const xr = plane + f4((i + (ki0 + a) * DH) * Wp);
              const dr = dyp + f4(i * OW);
              for (let j = 0; j < OW4; j += 4) {
                const q = xr + f4(j) + off, e = dr + f4(j);
                l0 += load<f32>(e) * load<f32>(q);
                l1 += load<f32>(e, 4) * load<f32>(q, 4);
                l2 += load<f32>(e, 8) * load<f32>(q, 8);
                l3 += load<f32>(e, 12) * load<f32>(q, 12);
              }
              for (let j = OW4; j < OW; j++) tt += load<f32>(dr + f4(j)) * load<f32>(xr + f4(j) + off);
            }
          }
          store<f32>(out + f4(a * KW + b), ((l0 + l1) + (l2 + l3)) + tt);
        }
      }
    }
  }
}

/**
 * Byte offset of tap k (row-major over KH x KW) in a lanes-layout plane,
 * relative to output pixel (0, 0). Found by a walk, not a division: the
 * offsets stay loop-invariant values instead of being recomputed in the loops.
 */
function tapOffset(k: i32, KW: i32, DH: i32, DW: i32, base: i32, LPW: i32, rowB: usize): usize {
  let ki = 0, kj = k;
  while (kj >= KW) { kj -= KW; ki++; }
  return <usize>(ki * DH + base) * rowB + (<usize>(LPW + kj * DW) << 4);
}

/**
 * Weight gradient for stride 1 with four samples in the vector lanes. x is the
 * input in the planar lanes layout (conv2d_pack_lanes) with the image at row
 * TP >= PH and column LP >= PW and every tap inside the buffer (the zero padding
 * takes part in the products, as in PyTorch); dy is the output gradient in the
 * planar lanes layout with frame (0, 3, OH, OW + 6); dw (fully overwritten).
 *
 * Blocks of taps consecutive in row-major order over the kernel, of one input
 * channel: when Og is a multiple of four, four output channels by two taps;
 * else two output channels by four taps (missing ones repeat the last,
 * unstored). A unit owns KB consecutive blocks of the same channels; it walks
 * the sample groups once, doing all its blocks on each group while that
 * group's planes are in cache, its accumulators kept in ws between groups
 * (ws: KB * 32 floats). Units: G * ceil(Og/OB) * Cg * ceil(ceil(KH*KW/TB) / KB).
 * Each tap sums four lanes (four samples) over (sample group, i, j) in order,
 * then (l0 + l1) + (l2 + l3).
 *
 * With db set, the units of the first channel and first blocks (c = 0, grp = 0)
 * also write the bias gradient of their output channels, db[o] = sum of
 * dy[., o] over (n, i, j), summing each sample group's dy while it is in cache
 * (see biasGroup for the order; ws: KB * 32 + 16 floats).
 */
export function backwardWeightLanes<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const x = ConvP.x(p), dy = ConvP.dy(p), dw = ConvP.dw(p), db = ConvP.db(p);
  const N = gN(p), C = gC(p), O = gO(p), G = gG(p);
  const KH = gKH(p), KW = gKW(p), OH = gOH(p), OW = gOW(p);
  const PH = gPH(p), PW = gPW(p), DH = gDH(p), DW = gDW(p);
  const LP = ConvP.LP(p), WQ = ConvP.WQ(p), TP = ConvP.TP(p), HQ = ConvP.HQ(p);
  const KB = ConvP.KB(p);
  const bws = ws + (<usize>KB << 7); // the bias gradient's lane sums, after the blocks' accumulators
  const Cg = C / G, Og = O / G, KK = KH * KW;
  const NG = (N + 3) / 4;
  const rowB = <usize>WQ << 4, planeB = <usize>HQ * rowB;
  const drowB = <usize>(OW + 6) << 4, dplaneB = <usize>OH * drowB;
  const quad = (Og & 3) == 0;
  const OB = quad ? 4 : 2, TB = quad ? 2 : 4; // output channels and taps per block
  const nob = (Og + OB - 1) / OB, nkb = (KK + TB - 1) / TB, ngrp = (nkb + KB - 1) / KB;
  const base = TP - PH, LPW = LP - PW;
  const outO = f4(Cg * KK);
  for (let u = begin; u < end; u++) {
    const grp = u % ngrp;
    let t = u / ngrp;
    const c = t % Cg; t /= Cg;
    const ob = t % nob, g = t / nob;
    const o0 = g * Og + ob * OB, no = imin(OB, Og - ob * OB);
    const kb0 = grp * KB, kb1 = imin(nkb, kb0 + KB);
    const xc = x + <usize>(g * Cg + c) * planeB;
    const dyo = dy + <usize>o0 * dplaneB + 48;
    const out0 = dw + f4((o0 * Cg + c) * KK);
    const withBias = db != 0 && c == 0 && grp == 0;
    if (isSimd<V>()) {
      // Offsets of the block's other output channels in dy (repeating the last).
      const e1 = <usize>imin(1, no - 1) * dplaneB, e2 = <usize>imin(2, no - 1) * dplaneB, e3 = <usize>imin(3, no - 1) * dplaneB;
      for (let ng = 0; ng < NG; ng++) {
        const xn = xc + <usize>(ng * C) * planeB;
        const dn = dyo + <usize>(ng * O) * dplaneB;
        if (withBias) biasGroup(dn, dplaneB, drowB, OH, OW, no, bws, ng == 0);
        for (let kb = kb0; kb < kb1; kb++) {
          const k0 = kb * TB, nk = imin(TB, KK - k0);
          const c0 = tapOffset(k0, KW, DH, DW, base, LPW, rowB);
          const c1 = tapOffset(k0 + imin(1, nk - 1), KW, DH, DW, base, LPW, rowB);
          const c2 = tapOffset(k0 + imin(2, nk - 1), KW, DH, DW, base, LPW, rowB);
          const c3 = tapOffset(k0 + imin(3, nk - 1), KW, DH, DW, base, LPW, rowB);
          const acc = ws + (<usize>(kb - kb0) << 7);
          let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00;
          let a20 = a00, a21 = a00, a30 = a00, a31 = a00;
          if (ng > 0) {
            a00 = v128.load(acc); a01 = v128.load(acc, 16); a10 = v128.load(acc, 32); a11 = v128.load(acc, 48);
            a20 = v128.load(acc, 64); a21 = v128.load(acc, 80); a30 = v128.load(acc, 96); a31 = v128.load(acc, 112);
          }
          for (let i = 0; i < OH; i++) {
            let xq = xn + <usize>i * rowB;
            let dq = dn + <usize>i * drowB;
            if (quad) {
              // a<channel><tap>
              for (let j = 0; j < OW; j++) {
                const x0 = v128.load(xq + c0), x1 = v128.load(xq + c1);
                let e = v128.load(dq);
                a00 = madd(e, x0, a00); a01 = madd(e, x1, a01);
                e = v128.load(dq + e1);
                a10 = madd(e, x0, a10); a11 = madd(e, x1, a11);
                e = v128.load(dq + e2);
                a20 = madd(e, x0, a20); a21 = madd(e, x1, a21);
                e = v128.load(dq + e3);
                a30 = madd(e, x0, a30); a31 = madd(e, x1, a31);
                xq += 16; dq += 16;
              }
            } else {
              // Channel 0's taps in a00, a01, a10, a11; channel 1's in a20, a21, a30, a31.
              for (let j = 0; j < OW; j++) {
                const f0 = v128.load(dq), f1 = v128.load(dq + e1);
                let xv = v128.load(xq + c0);
                a00 = madd(f0, xv, a00); a20 = madd(f1, xv, a20);
                xv = v128.load(xq + c1);
                a01 = madd(f0, xv, a01); a21 = madd(f1, xv, a21);
                xv = v128.load(xq + c2);
                a10 = madd(f0, xv, a10); a30 = madd(f1, xv, a30);
                xv = v128.load(xq + c3);
                a11 = madd(f0, xv, a11); a31 = madd(f1, xv, a31);
                xq += 16; dq += 16;
              }
            }
          }
          v128.store(acc, a00); v128.store(acc, a01, 16); v128.store(acc, a10, 32); v128.store(acc, a11, 48);
          v128.store(acc, a20, 64); v128.store(acc, a21, 80); v128.store(acc, a30, 96); v128.store(acc, a31, 112);
        }
      }
      if (withBias) for (let m = 0; m < no; m++) store<f32>(db + f4(o0 + m), hsum(v128.load(bws + (<usize>m << 4))));
      // The block's sums: slot s of the accumulators is (channel, tap) = quad ? (s / 2, s % 2) : (s / 4, s % 4).
      for (let kb = kb0; kb < kb1; kb++) {
        const k0 = kb * TB, nk = imin(TB, KK - k0);
        const acc = ws + (<usize>(kb - kb0) << 7);
        for (let m = 0; m < no; m++) {
          for (let k = 0; k < nk; k++) {
            const slot = quad ? m * 2 + k : m * 4 + k;
            store<f32>(out0 + <usize>m * outO + f4(k0 + k), hsum(v128.load(acc + (<usize>slot << 4))));
          }
        }
      }
    } else {
      if (withBias) biasLanes(dyo, dplaneB, <usize>O * dplaneB, drowB, NG, OH, OW, no, db + f4(o0));
      // Scalar sibling: the same four lane sums, one output and one tap at a time.
      for (let kb = kb0; kb < kb1; kb++) {
        const k0 = kb * TB, nk = imin(TB, KK - k0);
        for (let m = 0; m < no; m++) {
          for (let k = 0; k < nk; k++) {
            const ck = tapOffset(k0 + k, KW, DH, DW, base, LPW, rowB);
            let l0: f32 = 0, l1: f32 = 0, l2: f32 = 0, l3: f32 = 0;
            for (let ng = 0; ng < NG; ng++) {
              const xn = xc + <usize>(ng * C) * planeB;
              const dn = dyo + <usize>m * dplaneB + <usize>(ng * O) * dplaneB;
              for (let i = 0; i < OH; i++) {
                let xq = xn + <usize>i * rowB + ck;
                let dq = dn + <usize>i * drowB;
                for (let j = 0; j < OW; j++) {
                  l0 = l0 + load<f32>(dq) * load<f32>(xq);
                  l1 = l1 + load<f32>(dq, 4) * load<f32>(xq, 4);
                  l2 = l2 + load<f32>(dq, 8) * load<f32>(xq, 8);
                  l3 = l3 + load<f32>(dq, 12) * load<f32>(xq, 12);
                  xq += 16; dq += 16;
                }
              }
            }
            store<f32>(out0 + <usize>m * outO + f4(k0 + k), (l0 + l1) + (l2 + l3));
          }
        }
      }
    }
  }
}

/**
 * The bias gradient's lane sums over one sample group, for the SIMD kernel:
 * dn is channel 0's first column of the group's dy (channels dplaneB apart);
 * acc holds one vector per channel, four (zeroed first when `first`). Per row,
 * even and odd columns are summed apart, added, and added to the running sum.
 */
@inline function biasGroup(dn: usize, dplaneB: usize, drowB: usize, OH: i32, OW: i32, no: i32, acc: usize, first: bool): void {
  // Up to four channels at once (missing ones repeat the last, unstored): eight independent chains.
  const d1 = <usize>imin(1, no - 1) * dplaneB, d2 = <usize>imin(2, no - 1) * dplaneB, d3 = <usize>imin(3, no - 1) * dplaneB;
  const z = f32x4.splat(0);
  let s0 = first ? z : v128.load(acc), s1 = first ? z : v128.load(acc, 16);
  let s2 = first ? z : v128.load(acc, 32), s3 = first ? z : v128.load(acc, 48);
  for (let i = 0; i < OH; i++) {
    let dq = dn + <usize>i * drowB;
    let e0 = z, f0 = z, e1 = z, f1 = z, e2 = z, f2 = z, e3 = z, f3 = z;
    let j = 0;
    for (; j + 1 < OW; j += 2) {
      e0 = f32x4.add(e0, v128.load(dq)); f0 = f32x4.add(f0, v128.load(dq, 16));
      e1 = f32x4.add(e1, v128.load(dq + d1)); f1 = f32x4.add(f1, v128.load(dq + d1, 16));
      e2 = f32x4.add(e2, v128.load(dq + d2)); f2 = f32x4.add(f2, v128.load(dq + d2, 16));
      e3 = f32x4.add(e3, v128.load(dq + d3)); f3 = f32x4.add(f3, v128.load(dq + d3, 16));
      dq += 32;
    }
    if (j < OW) {
      e0 = f32x4.add(e0, v128.load(dq)); e1 = f32x4.add(e1, v128.load(dq + d1));
      e2 = f32x4.add(e2, v128.load(dq + d2)); e3 = f32x4.add(e3, v128.load(dq + d3));
    }
    s0 = f32x4.add(s0, f32x4.add(e0, f0)); s1 = f32x4.add(s1, f32x4.add(e1, f1));
    s2 = f32x4.add(s2, f32x4.add(e2, f2)); s3 = f32x4.add(s3, f32x4.add(e3, f3));
  }
  v128.store(acc, s0); v128.store(acc, s1, 16); v128.store(acc, s2, 32); v128.store(acc, s3, 48);
}

/**
 * The scalar sibling of biasGroup over every sample group (dyo: channel 0's
 * first column, sample groups groupB apart), then (l0 + l1) + (l2 + l3) per
 * channel into out[0..no).
 */
function biasLanes(dyo: usize, dplaneB: usize, groupB: usize, drowB: usize, NG: i32, OH: i32, OW: i32, no: i32, out: usize): void {
  for (let m = 0; m < no; m++) {
    const dm = dyo + <usize>m * dplaneB;
    let l0: f32 = 0, l1: f32 = 0, l2: f32 = 0, l3: f32 = 0;
    for (let ng = 0; ng < NG; ng++) {
      const dn = dm + <usize>ng * groupB;
      for (let i = 0; i < OH; i++) {
        let dq = dn + <usize>i * drowB;
        let e0: f32 = 0, e1: f32 = 0, e2: f32 = 0, e3: f32 = 0;
        let k0: f32 = 0, k1: f32 = 0, k2: f32 = 0, k3: f32 = 0;
        let j = 0;
        for (; j + 1 < OW; j += 2) {
          e0 += load<f32>(dq); e1 += load<f32>(dq, 4); e2 += load<f32>(dq, 8); e3 += load<f32>(dq, 12);
          k0 += load<f32>(dq, 16); k1 += load<f32>(dq, 20); k2 += load<f32>(dq, 24); k3 += load<f32>(dq, 28);
          dq += 32;
        }
        if (j < OW) { e0 += load<f32>(dq); e1 += load<f32>(dq, 4); e2 += load<f32>(dq, 8); e3 += load<f32>(dq, 12); }
        l0 += e0 + k0; l1 += e1 + k1; l2 += e2 + k2; l3 += e3 + k3;
      }
    }
    store<f32>(out + f4(m), (l0 + l1) + (l2 + l3));
  }
}

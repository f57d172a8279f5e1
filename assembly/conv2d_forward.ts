// Forward cross-correlation, NCHW input, OIHW weight:
//   y[n,o,i,j] = bias[o] + sum_{c,ki,kj} w[o,c,ki,kj] * x[n, g*Cg + c, i*SH + ki*DH - PH, j*SW + kj*DW - PW]
// with zero padding, where g = o / Og.
import {
  gN, gC, gH, gW, gO, gKH, gKW, gOH, gOW, gSH, gSW, gPH, gPW, gDH, gDW, gG,
  isSimd, madd, imin, f4, tile4x8, gatherRow, zeroRun, storeLanes, padPlane,
} from './common';
import { ConvP, NCOL, RB } from './generated/params';

/**
 * Packs im2col columns [p0, p0 + pc) of one group of one sample into
 * dst[k][NCOL] (k = (c, ki, kj)), zero-filling columns pc..roundup(pc, 8).
 */
function packIm2col<V>(p: usize, xg: usize, p0: i32, pc: i32, dst: usize): void {
  const H = gH(p), W = gW(p), KH = gKH(p), KW = gKW(p), OW = gOW(p);
  const SH = gSH(p), SW = gSW(p), PH = gPH(p), PW = gPW(p), DH = gDH(p), DW = gDW(p);
  const Cg = gC(p) / gG(p);
  const pad = ((pc + 7) & ~7) - pc;
  const rowBytes = f4(NCOL);
  const i0 = p0 / OW, j0 = p0 % OW;
  for (let c = 0; c < Cg; c++) {
    const plane = xg + f4(c * H * W);
    for (let ki = 0; ki < KH; ki++) {
      const rows = dst + <usize>((c * KH + ki) * KW) * rowBytes;
      // Walk the panel's runs (pieces of one output row); each feeds KW im2col rows.
      let i = i0, j = j0, col = 0;
      while (col < pc) {
        const run = imin(OW - j, pc - col);
        const h = i * SH + ki * DH - PH;
        let row = rows + f4(col);
        if (h < 0 || h >= H) {
          for (let kj = 0; kj < KW; kj++) { zeroRun<V>(row, run); row += rowBytes; }
        } else {
          const src = plane + f4(h * W);
          let w0 = j * SW - PW;
          for (let kj = 0; kj < KW; kj++) { gatherRow<V>(row, src, w0, SW, W, run); row += rowBytes; w0 += DW; }
        }
        col += run; i++; j = 0;
      }
      if (pad) {
        let row = rows + f4(pc);
        for (let kj = 0; kj < KW; kj++) { zeroRun<V>(row, pad); row += rowBytes; }
      }
    }
  }
}

/**
 * Implicit-GEMM forward. x, w = weight packed [G][ceil(Og/4)][Kg][4],
 * bias or 0, y. ws: Kg * NCOL floats.
 * Units: N * G * ceil(OH*OW / NCOL).
 */
export function forwardGemm<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const x = ConvP.x(p), wp = ConvP.w(p), bias = ConvP.bias(p), y = ConvP.y(p);
  const C = gC(p), H = gH(p), W = gW(p), O = gO(p), G = gG(p);
  const Cg = C / G, Og = O / G, Kg = Cg * gKH(p) * gKW(p);
  const P = gOH(p) * gOW(p);
  const nblk = (P + NCOL - 1) / NCOL;
  const Ogp = (Og + 3) & ~3;
  for (let u = begin; u < end; u++) {
    const jb = u % nblk, t = u / nblk, g = t % G, n = t / G;
    const p0 = jb * NCOL, pc = imin(NCOL, P - p0);
    packIm2col<V>(p, x + f4((n * C + g * Cg) * H * W), p0, pc, ws);
    const yb = y + f4((n * O + g * Og) * P + p0);
    for (let ob = 0; ob < Og; ob += 4) {
      const rows = imin(4, Og - ob);
      const a = wp + f4((g * Ogp + ob) * Kg);
      const bb: usize = bias ? bias + f4(g * Og + ob) : 0;
      for (let js = 0; js < pc; js += 8) {
        tile4x8<V>(a, ws + f4(js), f4(NCOL), Kg, yb + f4(ob * P + js), f4(P), rows, imin(8, pc - js), bb);
      }
    }
  }
}

/**
 * Direct forward for stride 1 and few channels per group (the single-channel
 * corr2d, image filters, depthwise). x, w = weight (OIHW), bias or 0, y. ws: Cg zero-bordered slabs of (RB + (KH-1)*DH) rows when padding is needed.
 * Units: N * O * ceil(OH / RB), a block of output rows of one plane each.
 */
export function forwardDirect<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const x = ConvP.x(p), w = ConvP.w(p), bias = ConvP.bias(p), y = ConvP.y(p);
  const C = gC(p), H = gH(p), W = gW(p), O = gO(p), G = gG(p);
  const KH = gKH(p), KW = gKW(p), OH = gOH(p), OW = gOW(p);
  const PH = gPH(p), PW = gPW(p), DH = gDH(p), DW = gDW(p);
  const Cg = C / G, Og = O / G;
  // Zero borders are needed for padding, including PyTorch's extra bottom/right row of 'same'.
  const padded = PH != 0 || PW != 0 || OH + (KH - 1) * DH > H || OW + (KW - 1) * DW > W;
  // A padded slab holds exactly the rows and columns the block's taps read.
  const Wp = padded ? OW + (KW - 1) * DW : W;
  const KK = KH * KW;
  const nrb = (OH + RB - 1) / RB;
  for (let u = begin; u < end; u++) {
    const rb = u % nrb, t = u / nrb, o = t % O, n = t / O, g = o / Og;
    const i0 = rb * RB, i1 = imin(OH, i0 + RB);
    const xg = x + f4((n * C + g * Cg) * H * W);
    let src = xg, Hp = H;
    // Row r of the source holds input row r (unpadded) or padded row i0 + r.
    let rowOff = 0;
    if (padded) {
      src = ws;
      Hp = i1 - i0 + (KH - 1) * DH;
      rowOff = i0;
      for (let c = 0; c < Cg; c++) padPlane<V>(ws + f4(c * Hp * Wp), xg + f4(c * H * W), H, W, Hp, Wp, PH - i0, PW);
    }
    const planeBytes = f4(Hp * Wp);
    const wo = w + f4(o * Cg * KK);
    const b: f32 = bias ? load<f32>(bias + f4(o)) : 0;
    const yo = y + f4((n * O + o) * OH * OW);
    for (let i = i0; i < i1; i++) {
      const yr = yo + f4(i * OW);
      let j = 0;
      if (isSimd<V>()) {
        const bv = f32x4.splat(b);
        for (; j + 16 <= OW; j += 16) {
          let a0 = bv, a1 = bv, a2 = bv, a3 = bv;
          let wk = wo;
          for (let c = 0; c < Cg; c++) {
            const sp = src + <usize>c * planeBytes;
            for (let ki = 0; ki < KH; ki++) {
              let q = sp + f4((i - rowOff + ki * DH) * Wp + j);
              for (let kj = 0; kj < KW; kj++) {
                const wv = v128.load32_splat(wk);
                a0 = madd(wv, v128.load(q), a0);
                a1 = madd(wv, v128.load(q, 16), a1);
                a2 = madd(wv, v128.load(q, 32), a2);
                a3 = madd(wv, v128.load(q, 48), a3);
                wk += 4; q += f4(DW);
              }
            }
          }
          v128.store(yr + f4(j), a0); v128.store(yr + f4(j), a1, 16);
          v128.store(yr + f4(j), a2, 32); v128.store(yr + f4(j), a3, 48);
        }
        for (; j < OW; j += 4) {
          let a0 = bv;
          let wk = wo;
          const rem = imin(4, OW - j);
          for (let c = 0; c < Cg; c++) {
            const sp = src + <usize>c * planeBytes;
            for (let ki = 0; ki < KH; ki++) {
              let q = sp + f4((i - rowOff + ki * DH) * Wp + j);
              for (let kj = 0; kj < KW; kj++) {
                let xv: v128;
                if (rem == 4) xv = v128.load(q);
                else {
                  xv = f32x4.splat(0);
                  xv = f32x4.replace_lane(xv, 0, load<f32>(q));
                  if (rem > 1) xv = f32x4.replace_lane(xv, 1, load<f32>(q, 4));
                  if (rem > 2) xv = f32x4.replace_lane(xv, 2, load<f32>(q, 8));
                }
                a0 = madd(v128.load32_splat(wk), xv, a0);
                wk += 4; q += f4(DW);
              }
            }
          }
          storeLanes(yr + f4(j), a0, rem);
        }
      } else {
        for (; j < OW; j++) {
          let s = b;
          let wk = wo;
          for (let c = 0; c < Cg; c++) {
            const sp = src + <usize>c * planeBytes;
            for (let ki = 0; ki < KH; ki++) {
              let q = sp + f4((i - rowOff + ki * DH) * Wp + j);
              for (let kj = 0; kj < KW; kj++) {
                s = s + load<f32>(wk) * load<f32>(q);
                wk += 4; q += f4(DW);
              }
            }
          }
          store<f32>(yr + f4(j), s);
        }
      }
    }
  }
}

/** Stores columns j (and j + 1 when two) of samples n0 .. n0 + nl - 1 from a0 (column j) and a1 (column j + 1). */
@inline function storeColumnPair(yp: usize, sampleB: usize, a0: v128, a1: v128, nl: i32, two: bool): void {
  const t0 = i32x4.shuffle(a0, a1, 0, 4, 1, 5), t1 = i32x4.shuffle(a0, a1, 2, 6, 3, 7);
  if (two) {
    v128.store64_lane(yp, t0, 0);
    if (nl > 1) v128.store64_lane(yp + sampleB, t0, 1);
    if (nl > 2) v128.store64_lane(yp + 2 * sampleB, t1, 0);
    if (nl > 3) v128.store64_lane(yp + 3 * sampleB, t1, 1);
  } else {
    v128.store32_lane(yp, t0, 0);
    if (nl > 1) v128.store32_lane(yp + sampleB, t0, 2);
    if (nl > 2) v128.store32_lane(yp + 2 * sampleB, t1, 0);
    if (nl > 3) v128.store32_lane(yp + 3 * sampleB, t1, 2);
  }
}

/** Stores ncol (1..4) columns j .. of samples n0 .. n0 + nl - 1 from a0..a3 (columns j .. j + 3, a sample per lane). */
@inline function storeColumnQuad(yp: usize, sampleB: usize, a0: v128, a1: v128, a2: v128, a3: v128, nl: i32, ncol: i32): void {
  const t0 = i32x4.shuffle(a0, a1, 0, 4, 1, 5), t1 = i32x4.shuffle(a0, a1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(a2, a3, 0, 4, 1, 5), t3 = i32x4.shuffle(a2, a3, 2, 6, 3, 7);
  storeLanes(yp, i64x2.shuffle(t0, t2, 0, 2), ncol);
  if (nl > 1) storeLanes(yp + sampleB, i64x2.shuffle(t0, t2, 1, 3), ncol);
  if (nl > 2) storeLanes(yp + 2 * sampleB, i64x2.shuffle(t1, t3, 0, 2), ncol);
  if (nl > 3) storeLanes(yp + 3 * sampleB, i64x2.shuffle(t1, t3, 1, 3), ncol);
}

/**
 * Forward for stride 1 with four samples in the vector lanes: x is the input in
 * the lanes layout (conv2d_pack_lanes: [ceil(N/4)][C][HQ][WQ][4], the image at
 * row TP and column LP, zeros around it), w packed [G][ceil(Og/4)][Kg][4]
 * (PACK_FORWARD), bias or 0, y NCHW.
 * Units: ceil(N/4) * OH, one output row of four samples each, every channel.
 *
 * Register blocks: three or four output channels by a pair of columns, or one
 * or two channels by four columns (the remainder of a group's channels), the
 * block's x columns rolling along a row of taps when DW = 1.
 *
 * Each output is bias + sum over (c, ki, kj) in ascending order of
 * w[o, c, ki, kj] * x[n, c, i + ki*DH - PH, j + kj*DW - PW]:
 * - mode 0, the forward pass: every tap, the zero padding taking part as in
 *   PyTorch (TP >= PH, LP >= PW, and the buffer holds every tap of a multiple
 *   of four columns);
 * - mode 1, the input gradient as the correlation of the output gradient padded
 *   by (k - 1) * d - p (w packed PACK_FLIP_FORWARD): only the taps that read the
 *   input, rows ki inside it and columns kj inside it for some column of the
 *   block, so the wide padding costs nothing (TP = 0, LP >= 3, WQ >= LP + W + 3).
 */
export function forwardLanes<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const x = ConvP.x(p), w = ConvP.w(p), bias = ConvP.bias(p), y = ConvP.y(p);
  const N = gN(p), C = gC(p), H = gH(p), W = gW(p), O = gO(p), G = gG(p);
  const KH = gKH(p), KW = gKW(p), OH = gOH(p), OW = gOW(p);
  const PH = gPH(p), PW = gPW(p), DH = gDH(p), DW = gDW(p);
  const LP = ConvP.LP(p), WQ = ConvP.WQ(p), TP = ConvP.TP(p), HQ = ConvP.HQ(p);
  const clip = ConvP.mode(p) != 0;
  const Cg = C / G, Og = O / G, KK = KH * KW, Kg = Cg * KK;
  const Ogp = (Og + 3) & ~3;
  const rowB = <usize>WQ << 4, planeB = <usize>HQ * rowB;
  const dwB = <usize>DW << 4, dhB = <usize>DH * rowB;
  const sampleB = f4(O * OH * OW), oB = f4(OH * OW);
  for (let u = begin; u < end; u++) {
    const i = u % OH, ng = u / OH;
    const n0 = ng * 4, nl = imin(4, N - n0);
    // Mode 1: rows r = i + ki*DH - PH inside [0, H).
    let kiLo = 0, kiHi = KH - 1;
    if (clip) {
      kiLo = PH > i ? (PH - i + DH - 1) / DH : 0;
      const topR = H - 1 + PH - i;
      kiHi = topR < 0 ? -1 : imin(KH - 1, topR / DH);
    }
    const xr0 = x + <usize>(ng * C) * planeB + <usize>(i + kiLo * DH - PH + TP) * rowB;
    for (let g = 0; g < G; g++) {
      const xg = xr0 + <usize>(g * Cg) * planeB;
      for (let ob = 0; ob < Og; ob += 4) {
        const o0 = g * Og + ob, nb = imin(4, Og - ob);
        const wb = w + f4((g * Ogp + ob) * Kg); // block ob/4 of [ceil(Og/4)][Kg][4]
        const yo = y + f4(((n0 * O + o0) * OH + i) * OW);
        // Columns per block: a pair for three or four channels, four for one or two.
        const JB = nb > 2 ? 2 : 4;
        for (let j = 0; j < OW; j += JB) {
          // Mode 1: taps kj inside the input for some column of the block.
          let kjLo = 0, kjHi = KW - 1;
          if (clip) {
            const loC = PW - j - (JB - 1);
            kjLo = loC > 0 ? (loC + DW - 1) / DW : 0;
            const topC = W - 1 + PW - j;
            kjHi = topC < 0 ? -1 : imin(KW - 1, topC / DW);
          }
          const ncol = imin(JB, OW - j);
          const two = ncol > 1;
          const nk = kiHi < kiLo ? 0 : kjHi - kjLo + 1; // taps per row
          const xj = xg + (<usize>(LP + j + kjLo * DW - PW) << 4);
          const wj = wb + f4((kiLo * KW + kjLo) * 4);
          const yp = yo + f4(j);
          if (isSimd<V>()) {
            if (nb > 2) {
              let b0 = f32x4.splat(0), b1 = b0, b2 = b0, b3 = b0;
              if (bias) {
                const bp = bias + f4(o0);
                b0 = v128.load32_splat(bp); b1 = v128.load32_splat(bp, 4); b2 = v128.load32_splat(bp, 8);
                if (nb > 3) b3 = v128.load32_splat(bp, 12);
              }
              let a00 = b0, a01 = b0, a10 = b1, a11 = b1, a20 = b2, a21 = b2, a30 = b3, a31 = b3;
              if (nk > 0) {
                for (let c = 0; c < Cg; c++) {
                  let xr = xj + <usize>c * planeB;
                  let wr = wj + f4(c * KK * 4);
                  for (let ki = kiLo; ki <= kiHi; ki++) {
                    let xq = xr, wq = wr;
                    if (DW == 1) {
                      let xa = v128.load(xq);
                      for (let t = 0; t < nk; t++) {
                        const xb = v128.load(xq, 16);
                        let wv = v128.load32_splat(wq);
                        a00 = madd(wv, xa, a00); a01 = madd(wv, xb, a01);
                        wv = v128.load32_splat(wq, 4);
                        a10 = madd(wv, xa, a10); a11 = madd(wv, xb, a11);
                        wv = v128.load32_splat(wq, 8);
                        a20 = madd(wv, xa, a20); a21 = madd(wv, xb, a21);
                        wv = v128.load32_splat(wq, 12);
                        a30 = madd(wv, xa, a30); a31 = madd(wv, xb, a31);
                        xa = xb; xq += 16; wq += 16;
                      }
                    } else {
                      for (let t = 0; t < nk; t++) {
                        const xa = v128.load(xq), xb = v128.load(xq, 16);
                        let wv = v128.load32_splat(wq);
                        a00 = madd(wv, xa, a00); a01 = madd(wv, xb, a01);
                        wv = v128.load32_splat(wq, 4);
                        a10 = madd(wv, xa, a10); a11 = madd(wv, xb, a11);
                        wv = v128.load32_splat(wq, 8);
                        a20 = madd(wv, xa, a20); a21 = madd(wv, xb, a21);
                        wv = v128.load32_splat(wq, 12);
                        a30 = madd(wv, xa, a30); a31 = madd(wv, xb, a31);
                        xq += dwB; wq += 16;
                      }
                    }
                    xr += dhB; wr += f4(KW * 4);
                  }
                }
              }
              storeColumnPair(yp, sampleB, a00, a01, nl, two);
              storeColumnPair(yp + oB, sampleB, a10, a11, nl, two);
              storeColumnPair(yp + 2 * oB, sampleB, a20, a21, nl, two);
              if (nb > 3) storeColumnPair(yp + 3 * oB, sampleB, a30, a31, nl, two);
            } else {
              // One or two channels by four columns; the four x columns roll along a row of taps when DW = 1.
              let b0 = f32x4.splat(0), b1 = b0;
              if (bias) {
                const bp = bias + f4(o0);
                b0 = v128.load32_splat(bp);
                if (nb > 1) b1 = v128.load32_splat(bp, 4);
              }
              const w1: usize = nb > 1 ? 4 : 0;
              let a00 = b0, a01 = b0, a02 = b0, a03 = b0, a10 = b1, a11 = b1, a12 = b1, a13 = b1;
              if (nk > 0) {
                for (let c = 0; c < Cg; c++) {
                  let xr = xj + <usize>c * planeB;
                  let wr = wj + f4(c * KK * 4);
                  for (let ki = kiLo; ki <= kiHi; ki++) {
                    let xq = xr, wq = wr;
                    if (DW == 1) {
                      let x0 = v128.load(xq), x1 = v128.load(xq, 16), x2 = v128.load(xq, 32);
                      for (let t = 0; t < nk; t++) {
                        const x3 = v128.load(xq, 48);
                        let wv = v128.load32_splat(wq);
                        a00 = madd(wv, x0, a00); a01 = madd(wv, x1, a01); a02 = madd(wv, x2, a02); a03 = madd(wv, x3, a03);
                        wv = v128.load32_splat(wq + w1);
                        a10 = madd(wv, x0, a10); a11 = madd(wv, x1, a11); a12 = madd(wv, x2, a12); a13 = madd(wv, x3, a13);
                        x0 = x1; x1 = x2; x2 = x3; xq += 16; wq += 16;
                      }
                    } else {
                      for (let t = 0; t < nk; t++) {
                        const x0 = v128.load(xq), x1 = v128.load(xq, 16), x2 = v128.load(xq, 32), x3 = v128.load(xq, 48);
                        let wv = v128.load32_splat(wq);
                        a00 = madd(wv, x0, a00); a01 = madd(wv, x1, a01); a02 = madd(wv, x2, a02); a03 = madd(wv, x3, a03);
                        wv = v128.load32_splat(wq + w1);
                        a10 = madd(wv, x0, a10); a11 = madd(wv, x1, a11); a12 = madd(wv, x2, a12); a13 = madd(wv, x3, a13);
                        xq += dwB; wq += 16;
                      }
                    }
                    xr += dhB; wr += f4(KW * 4);
                  }
                }
              }
              storeColumnQuad(yp, sampleB, a00, a01, a02, a03, nl, ncol);
              if (nb > 1) storeColumnQuad(yp + oB, sampleB, a10, a11, a12, a13, nl, ncol);
            }
          } else {
            // Scalar sibling: the same sums, one sample, channel and column at a time.
            for (let m = 0; m < nb; m++) {
              const b: f32 = bias ? load<f32>(bias + f4(o0 + m)) : 0;
              for (let l = 0; l < nl; l++) {
                for (let jj = 0; jj < ncol; jj++) {
                  let s = b;
                  if (nk > 0) {
                    for (let c = 0; c < Cg; c++) {
                      let xr = xj + <usize>c * planeB + f4(l) + (<usize>jj << 4);
                      let wr = wj + f4(c * KK * 4 + m);
                      for (let ki = kiLo; ki <= kiHi; ki++) {
                        let xq = xr, wq = wr;
                        for (let t = 0; t < nk; t++) {
                          s = s + load<f32>(wq) * load<f32>(xq);
                          xq += dwB; wq += 16;
                        }
                        xr += dhB; wr += f4(KW * 4);
                      }
                    }
                  }
                  store<f32>(yp + <usize>l * sampleB + <usize>m * oB + f4(jj), s);
                }
              }
            }
          }
        }
      }
    }
  }
}

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

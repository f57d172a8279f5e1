// Gradient of the cross-correlation with respect to its input:
//   dx[n, g*Cg + c, h, w] = sum over o in group g, ki, kj of
//     w[o, c, ki, kj] * dy[n, o, i, j]  where h = i*SH + ki*DH - PH, w = j*SW + kj*DW - PW.
// Computed as a GEMM  dcol[(c,ki,kj)][p] = sum_o wT[(c,ki,kj)][o] * dy[o][p]
// followed by a col2im scatter-add into this unit's own input channels.
import {
  gN, gC, gH, gW, gO, gKH, gKW, gOH, gOW, gSH, gSW, gPH, gPW, gDH, gDW, gG,
  isSimd, imin, imax, f4, tile4x8, copyRun,
} from './common';
import { ConvP, CB, NCOLB } from './generated/params';

/**
 * dy, w = weight packed transposed [G][ceil(Kg/4)][Og][4] (Kg = Cg*KH*KW),
 * dx (fully overwritten). CB input channels per unit; dy in chunks of NCOLB columns. ws: roundup(CB*KH*KW, 4) + Og rows of NCOLB floats.
 * Units: N * G * ceil(Cg / CB).
 */
export function backwardInputGemm<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const dy = ConvP.dy(p), wpT = ConvP.w(p), dx = ConvP.dx(p);
  const C = gC(p), H = gH(p), W = gW(p), O = gO(p), G = gG(p);
  const KH = gKH(p), KW = gKW(p), OW = gOW(p);
  const SH = gSH(p), SW = gSW(p), PH = gPH(p), PW = gPW(p), DH = gDH(p), DW = gDW(p);
  const Cg = C / G, Og = O / G, KK = KH * KW, Kg = Cg * KK;
  const Kgp = (Kg + 3) & ~3;
  const P = gOH(p) * OW;
  const ncb = (Cg + CB - 1) / CB;
  for (let u = begin; u < end; u++) {
    const cb = u % ncb, t = u / ncb, g = t % G, n = t / G;
    const c0 = cb * CB, cc = imin(CB, Cg - c0);
    const rowsAll = cc * KK;
    const dxb = dx + f4((n * C + g * Cg + c0) * H * W);
    memory.fill(dxb, 0, f4(cc * H * W));
    const dyb = dy + f4((n * O + g * Og) * P);
    const dyp = ws + f4(((CB * KK + 3) & ~3) * NCOLB);
    for (let p0 = 0; p0 < P; p0 += NCOLB) {
      const pc = imin(NCOLB, P - p0);
      // The chunk of dy, packed [Og][NCOLB]: planes of power-of-two size would
      // otherwise put every row of a tile's loads in the same cache set.
      for (let o = 0; o < Og; o++) copyRun<V>(dyp + f4(o * NCOLB), dyb + f4(o * P + p0), pc);
      // dcol rows for this unit's channels, columns p0..p0+pc.
      for (let rb = 0; rb < rowsAll; rb += 4) {
        const rows = imin(4, rowsAll - rb);
        const a = wpT + f4((g * Kgp + c0 * KK + rb) * Og);
        for (let js = 0; js < pc; js += 8) {
          tile4x8<V>(a, dyp + f4(js), f4(NCOLB), Og, ws + f4(rb * NCOLB + js), f4(NCOLB), rows, imin(8, pc - js), 0);
        }
      }
      // col2im: scatter-add the rows into dx, in a fixed order.
      const i0 = p0 / OW, j0 = p0 % OW;
      for (let r = 0; r < rowsAll; r++) {
        const c = r / KK, kk = r % KK, ki = kk / KW, kj = kk % KW;
        const plane = dxb + f4(c * H * W);
        const src = ws + f4(r * NCOLB);
        let i = i0, j = j0, col = 0;
        while (col < pc) {
          const run = imin(OW - j, pc - col);
          const h = i * SH + ki * DH - PH;
          if (h >= 0 && h < H) {
            const rowp = plane + f4(h * W);
            const wbase = j * SW + kj * DW - PW;
            // valid t: 0 <= wbase + t*SW < W
            let t0 = 0;
            if (wbase < 0) t0 = (-wbase + SW - 1) / SW;
            let t1 = run;
            if (wbase >= W) t1 = 0;
            else if (wbase + (run - 1) * SW >= W) t1 = (W - 1 - wbase) / SW + 1;
            let sp = src + f4(col + t0);
            let t = t0;
            if (isSimd<V>() && SW == 1) {
              let dp = rowp + f4(wbase + t0);
              for (; t + 4 <= t1; t += 4) {
                v128.store(dp, f32x4.add(v128.load(dp), v128.load(sp)));
                dp += 16; sp += 16;
              }
            }
            let dp = rowp + f4(wbase + t * SW);
            for (; t < t1; t++) {
              store<f32>(dp, load<f32>(dp) + load<f32>(sp));
              dp += f4(SW); sp += 4;
            }
          }
          col += run; i++; j = 0;
        }
      }
    }
  }
}

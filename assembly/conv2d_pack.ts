// Weight layouts the convolution kernels read, made from an OIHW weight:
//   PACK_FORWARD     [G][ceil(Og/4)][Kg][4]   for the forward GEMM
//   PACK_TRANSPOSED  [G][ceil(Kg/4)][Og][4]   for the backward-input GEMM
//   PACK_FLIP        [C][Og][KH][KW]          flipped in both spatial axes, channel axes
//                                             swapped within each group (the weight of the
//                                             transposed correlation, for the direct kernel)
//   PACK_FLIP_FORWARD  the flipped weight in the forward GEMM layout
// where Kg = Cg*KH*KW. Padding rows and columns are zeros.
import { ConvP, PACK_FORWARD, PACK_TRANSPOSED, PACK_FLIP, PACK_FLIP_FORWARD } from './generated/params';
import { isSimd, zeroRun } from './common';

@inline function f4(i: i32): usize { return <usize>i << 2; }

/** w (OIHW), dst; mode in ConvP.mode. Units: G (one group each). */
export function pack<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const C = ConvP.C(p), O = ConvP.O(p), G = ConvP.G(p), KK = ConvP.KH(p) * ConvP.KW(p);
  const mode = ConvP.mode(p), w = ConvP.w(p), dst = ConvP.y(p);
  const Cg = C / G, Og = O / G, Kg = Cg * KK;
  for (let grp = begin; grp < end; grp++) {
    if (mode == PACK_FORWARD) {
      const Ogp = (Og + 3) & ~3;
      for (let o = 0; o < Ogp; o++) {
        const base = (grp * Ogp + (o & ~3)) * Kg + (o & 3);
        const src = (grp * Og + o) * Kg;
        for (let k = 0; k < Kg; k++) store<f32>(dst + f4(base + k * 4), o < Og ? load<f32>(w + f4(src + k)) : 0);
      }
    } else if (mode == PACK_TRANSPOSED) {
      const Kp = (Kg + 3) & ~3;
      for (let r = 0; r < Kp; r++) {
        const base = (grp * Kp + (r & ~3)) * Og + (r & 3);
        for (let o = 0; o < Og; o++) store<f32>(dst + f4(base + o * 4), r < Kg ? load<f32>(w + f4((grp * Og + o) * Kg + r)) : 0);
      }
    } else if (mode == PACK_FLIP) {
      for (let c = 0; c < Cg; c++) for (let o = 0; o < Og; o++) {
        const src = ((grp * Og + o) * Cg + c) * KK, out = ((grp * Cg + c) * Og + o) * KK;
        for (let k = 0; k < KK; k++) store<f32>(dst + f4(out + k), load<f32>(w + f4(src + KK - 1 - k)));
      }
    } else if (mode == PACK_FLIP_FORWARD) {
      // The forward layout of the transposed geometry: its output channels are
      // this weight's input channels (Cg per group), its reduction is (o, k).
      const Cgp = (Cg + 3) & ~3, Kt = Og * KK;
      for (let c = 0; c < Cgp; c++) {
        const base = (grp * Cgp + (c & ~3)) * Kt + (c & 3);
        for (let o = 0; o < Og; o++) for (let k = 0; k < KK; k++) {
          const v: f32 = c < Cg ? load<f32>(w + f4(((grp * Og + o) * Cg + c) * KK + KK - 1 - k)) : 0;
          store<f32>(dst + f4(base + (o * KK + k) * 4), v);
        }
      }
    } else unreachable();
  }
}

// The batch-in-lanes layouts of an NCHW tensor, for the lanes kernels:
//   mode 0, planar:       [ceil(N/4)][C][HQ][WQ][4]  element (n, c, h, w) at group n/4,
//                         lane n%4, row TP + h, column LP + w; everything else (the
//                         border, lanes of samples past N) is zero;
//   mode 1, interleaved:  [ceil(N/4)][H][W][C][4]    the channels of a pixel side by side.

/**
 * x (NCHW, geometry N, C, H, W of the layout) into y in the lanes layout `mode`,
 * planar with the frame TP, LP, HQ, WQ of the layout (TP + H <= HQ, LP + W <= WQ).
 * Units: ceil(N/4) * C, one plane of four samples each.
 */
export function packLanes<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const N = ConvP.N(p), C = ConvP.C(p), H = ConvP.H(p), W = ConvP.W(p);
  const LP = ConvP.LP(p), WQ = ConvP.WQ(p), TP = ConvP.TP(p), HQ = ConvP.HQ(p);
  const x = ConvP.x(p), y = ConvP.y(p);
  const interleaved = ConvP.mode(p) != 0;
  const planeF = H * W, sampleB = f4(C * planeF);
  // Bytes between rows, between columns, and the plane's offset within its group.
  const colB: usize = interleaved ? <usize>C << 4 : 16;
  const rowB: usize = interleaved ? <usize>W * colB : <usize>WQ << 4;
  const W4 = W & ~3;
  for (let u = begin; u < end; u++) {
    const c = u % C, ng = u / C, n0 = ng * 4, nl = N - n0 < 4 ? N - n0 : 4;
    let dst: usize;
    if (interleaved) {
      dst = y + <usize>ng * <usize>H * rowB + (<usize>c << 4);
    } else {
      dst = y + <usize>(ng * C + c) * <usize>HQ * rowB + <usize>TP * rowB + (<usize>LP << 4);
      const plane = y + <usize>(ng * C + c) * <usize>HQ * rowB;
      zeroRun<V>(plane, TP * WQ * 4);
      zeroRun<V>(plane + <usize>(TP + H) * rowB, (HQ - TP - H) * WQ * 4);
    }
    const s0 = x + f4((n0 * C + c) * planeF);
    for (let h = 0; h < H; h++) {
      const drow = dst + <usize>h * rowB;
      const srow = s0 + f4(h * W);
      if (!interleaved) {
        zeroRun<V>(drow - (<usize>LP << 4), LP * 4);
        zeroRun<V>(drow + (<usize>W << 4), (WQ - LP - W) * 4);
      }
      let w = 0;
      if (isSimd<V>()) {
        const z = f32x4.splat(0);
        for (; w < W4; w += 4) {
          const r0 = v128.load(srow + f4(w));
          const r1 = nl > 1 ? v128.load(srow + sampleB + f4(w)) : z;
          const r2 = nl > 2 ? v128.load(srow + 2 * sampleB + f4(w)) : z;
          const r3 = nl > 3 ? v128.load(srow + 3 * sampleB + f4(w)) : z;
          const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
          const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
          const d = drow + <usize>w * colB;
          v128.store(d, i64x2.shuffle(t0, t2, 0, 2));
          v128.store(d + colB, i64x2.shuffle(t0, t2, 1, 3));
          v128.store(d + 2 * colB, i64x2.shuffle(t1, t3, 0, 2));
          v128.store(d + 3 * colB, i64x2.shuffle(t1, t3, 1, 3));
        }
      }
      for (; w < W; w++) {
        const d = drow + <usize>w * colB;
        for (let l = 0; l < 4; l++) store<f32>(d + f4(l), l < nl ? load<f32>(srow + <usize>l * sampleB + f4(w)) : 0);
      }
    }
  }
}

// Weight layouts the convolution kernels read, made from an OIHW weight:
//   PACK_FORWARD     [G][ceil(Og/4)][Kg][4]   for the forward GEMM
//   PACK_TRANSPOSED  [G][ceil(Kg/4)][Og][4]   for the backward-input GEMM
//   PACK_FLIP        [C][Og][KH][KW]          flipped in both spatial axes, channel axes
//                                             swapped within each group (the weight of the
//                                             transposed correlation, for the direct kernel)
//   PACK_FLIP_FORWARD  the flipped weight in the forward GEMM layout
// where Kg = Cg*KH*KW. Padding rows and columns are zeros.
import { ConvP, PACK_FORWARD, PACK_TRANSPOSED, PACK_FLIP, PACK_FLIP_FORWARD } from './generated/params';

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

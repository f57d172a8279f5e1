import type { ConvGeometry } from '../backend';
import { PACK } from '../constants';

/**
 * Calls `term(yi, wi, xi)` for every product of the convolution, in the order
 * PyTorch's definition sums them: for each output element (n, o, i, j), over
 * (c, ki, kj). `xi` is -1 where the tap reads the zero padding.
 */
function forEachTerm(g: ConvGeometry, term: (yi: number, wi: number, xi: number) => void, start?: (yi: number, o: number) => void): void {
  const { N, C, H, W, O, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW, G } = g;
  const Cg = C / G, Og = O / G;
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
    const grp = Math.floor(o / Og);
    for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
      const yi = ((n * O + o) * OH + i) * OW + j;
      start?.(yi, o);
      for (let c = 0; c < Cg; c++) for (let ki = 0; ki < KH; ki++) for (let kj = 0; kj < KW; kj++) {
        const h = i * SH + ki * DH - PH, v = j * SW + kj * DW - PW;
        const xi = h < 0 || h >= H || v < 0 || v >= W ? -1 : ((n * C + grp * Cg + c) * H + h) * W + v;
        term(yi, ((o * Cg + c) * KH + ki) * KW + kj, xi);
      }
    }
  }
}

/**
 * The convolution, in float64 loops: the living definition that every
 * WebAssembly convolution kernel is tested against. Slow and obvious.
 * Padding is zeros that take part in the products, as in PyTorch (0 * inf is NaN).
 *
 * @example
 * const g = conv2dInfo([1, 1, 3, 3], [1, 1, 2, 2], {});
 * const y = new Float64Array(4);
 * conv2dForwardRef(g, [0, 1, 2, 3, 4, 5, 6, 7, 8], [0, 1, 2, 3], null, y);
 * // y = [19, 25, 37, 43]
 */
export function conv2dForwardRef(g: ConvGeometry, x: ArrayLike<number>, w: ArrayLike<number>,
                                 bias: ArrayLike<number> | null, y: { [i: number]: number }): void {
  let s = 0, at = -1;
  const flush = () => { if (at >= 0) y[at] = s; };
  forEachTerm(g, (_yi, wi, xi) => { s += w[wi] * (xi < 0 ? 0 : x[xi]); },
    (yi, o) => { flush(); at = yi; s = bias ? bias[o] : 0; });
  flush();
}

/** dx = the gradient of sum(y * dy) with respect to x (overwrites dx). */
export function conv2dBackwardInputRef(g: ConvGeometry, dy: ArrayLike<number>, w: ArrayLike<number>,
                                       dx: { [i: number]: number; length: number }): void {
  for (let t = 0; t < dx.length; t++) dx[t] = 0;
  forEachTerm(g, (yi, wi, xi) => { if (xi >= 0) dx[xi] += dy[yi] * w[wi]; });
}

/** dw = the gradient of sum(y * dy) with respect to w (overwrites dw). */
export function conv2dBackwardWeightRef(g: ConvGeometry, x: ArrayLike<number>, dy: ArrayLike<number>,
                                        dw: { [i: number]: number; length: number }): void {
  for (let t = 0; t < dw.length; t++) dw[t] = 0;
  forEachTerm(g, (yi, wi, xi) => { dw[wi] += dy[yi] * (xi < 0 ? 0 : x[xi]); });
}

/** db[o] = sum over batch and space of dy[n, o] (overwrites db). */
export function conv2dBackwardBiasRef(g: ConvGeometry, dy: ArrayLike<number>, db: { [i: number]: number }): void {
  const { N, O, OH, OW } = g;
  for (let o = 0; o < O; o++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let p = 0; p < OH * OW; p++) s += dy[(n * O + o) * OH * OW + p];
    db[o] = s;
  }
}

const { FORWARD, TRANSPOSED, FLIP, FLIP_FORWARD } = PACK;
/**
 * Writes the OIHW weight `w` into `dst` in layout `mode`: the definition of the
 * conv2d_pack kernel (see assembly/conv2d_pack.ts for the layouts).
 */
export function pack(g: ConvGeometry, mode: number, w: ArrayLike<number>, dst: { [i: number]: number }): void {
  const { C, O, G, KH, KW } = g;
  const Cg = C / G, Og = O / G, KK = KH * KW, K = Cg * KK;
  for (let grp = 0; grp < G; grp++) {
    if (mode === FORWARD) {
      const Ogp = Math.ceil(Og / 4) * 4;
      for (let o = 0; o < Ogp; o++) for (let k = 0; k < K; k++) {
        dst[(grp * Ogp + (o & ~3)) * K + (o & 3) + k * 4] = o < Og ? w[(grp * Og + o) * K + k] : 0;
      }
    } else if (mode === TRANSPOSED) {
      const Kp = Math.ceil(K / 4) * 4;
      for (let r = 0; r < Kp; r++) for (let o = 0; o < Og; o++) {
        dst[(grp * Kp + (r & ~3)) * Og + (r & 3) + o * 4] = r < K ? w[(grp * Og + o) * K + r] : 0;
      }
    } else if (mode === FLIP) {
      for (let c = 0; c < Cg; c++) for (let o = 0; o < Og; o++) for (let k = 0; k < KK; k++) {
        dst[((grp * Cg + c) * Og + o) * KK + k] = w[((grp * Og + o) * Cg + c) * KK + KK - 1 - k];
      }
    } else if (mode === FLIP_FORWARD) {
      const Cgp = Math.ceil(Cg / 4) * 4, Kt = Og * KK;
      for (let c = 0; c < Cgp; c++) for (let o = 0; o < Og; o++) for (let k = 0; k < KK; k++) {
        dst[(grp * Cgp + (c & ~3)) * Kt + (c & 3) + (o * KK + k) * 4] = c < Cg ? w[((grp * Og + o) * Cg + c) * KK + KK - 1 - k] : 0;
      }
    } else throw new RangeError(`pack: unknown layout ${mode}`);
  }
}

/** The OIHW weight back from a FORWARD or TRANSPOSED layout (the reference kernels read packed weights this way). */
export function unpack(g: ConvGeometry, mode: number, packed: ArrayLike<number>): Float64Array {
  const { C, O, G, KH, KW } = g;
  const Cg = C / G, Og = O / G, K = Cg * KH * KW;
  const w = new Float64Array(O * K);
  for (let grp = 0; grp < G; grp++) for (let o = 0; o < Og; o++) for (let k = 0; k < K; k++) {
    w[(grp * Og + o) * K + k] = mode === FORWARD
      ? packed[(grp * Math.ceil(Og / 4) * 4 + (o & ~3)) * K + (o & 3) + k * 4]
      : packed[(grp * Math.ceil(K / 4) * 4 + (k & ~3)) * Og + (k & 3) + o * 4];
  }
  return w;
}

/** Where an image sits in a lanes-layout buffer: row TP, column LP of HQ x WQ planes. */
export interface LanesFrame { TP: number; LP: number; HQ: number; WQ: number }

/** Index of element (n, c, h, w) of an (N, C, H, W) tensor in a lanes layout: planar in frame f, or interleaved when f is null. */
function lanesIndex(n: number, c: number, h: number, w: number, C: number, H: number, W: number, f: LanesFrame | null): number {
  return f
    ? ((((n >> 2) * C + c) * f.HQ + f.TP + h) * f.WQ + f.LP + w) * 4 + (n & 3)
    : ((((n >> 2) * H + h) * W + w) * C + c) * 4 + (n & 3);
}

/**
 * The lanes layouts of an NCHW tensor (N, C, H, W), four samples side by side:
 * planar [ceil(N/4)][C][HQ][WQ][4] with element (n, c, h, w) at row TP + h,
 * column LP + w of frame f, or interleaved [ceil(N/4)][H][W][C][4] when f is
 * null; zeros elsewhere. The definition of the conv2d_pack_lanes kernel.
 */
export function packLanes(N: number, C: number, H: number, W: number, f: LanesFrame | null, x: ArrayLike<number>,
                          dst: { [i: number]: number }): void {
  const size = Math.ceil(N / 4) * C * (f ? f.HQ * f.WQ : H * W) * 4;
  for (let i = 0; i < size; i++) dst[i] = 0;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    dst[lanesIndex(n, c, h, w, C, H, W, f)] = x[((n * C + c) * H + h) * W + w];
  }
}

/** The NCHW tensor (N, C, H, W) held by a lanes-layout buffer (the inverse of packLanes). */
export function unpackLanes(N: number, C: number, H: number, W: number, f: LanesFrame | null, packed: ArrayLike<number>): Float64Array {
  const x = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    x[((n * C + c) * H + h) * W + w] = packed[lanesIndex(n, c, h, w, C, H, W, f)];
  }
  return x;
}

import type { Backend, ConvGeometry, Storage } from '../backend';

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
 * The reference backend: plain TypeScript loops in float64, the living
 * definition that every WebAssembly kernel is tested against. Slow and obvious.
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

/** The reference backend: tensors are Float64Arrays, kernels the functions above. */
export class ReferenceBackend implements Backend {
  readonly name = 'reference' as const;
  private bytes = 0;
  alloc(length: number): Storage { this.bytes += length * 8; return new Float64Array(length); }
  free(s: Storage): void { this.bytes -= (s as Float64Array).length * 8; }
  view(s: Storage): Float64Array { return s as Float64Array; }
  memoryBytes(): number { return this.bytes; }
  conv2dForward(g: ConvGeometry, x: Storage, w: Storage, bias: Storage | null, y: Storage): void {
    conv2dForwardRef(g, x as Float64Array, w as Float64Array, bias as Float64Array | null, y as Float64Array);
  }
  conv2dBackwardInput(g: ConvGeometry, dy: Storage, w: Storage, dx: Storage): void {
    conv2dBackwardInputRef(g, dy as Float64Array, w as Float64Array, dx as Float64Array);
  }
  conv2dBackwardWeight(g: ConvGeometry, x: Storage, dy: Storage, dw: Storage): void {
    conv2dBackwardWeightRef(g, x as Float64Array, dy as Float64Array, dw as Float64Array);
  }
  conv2dBackwardBias(g: ConvGeometry, dy: Storage, db: Storage): void {
    conv2dBackwardBiasRef(g, dy as Float64Array, db as Float64Array);
  }
}

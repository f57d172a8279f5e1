// The float64 definitions of the pooling and padding kernels, written
// straight from PyTorch's semantics: every output visits its window's taps in
// window order; every gradient is scattered output by output.
import type { RefParams } from '../layout';
import type { Pad, Pool } from '../registry';
import { PAD } from '../constants';

type PoolRef = RefParams<typeof Pool.fields>;
type PadRef = RefParams<typeof Pad.fields>;

/**
 * max_pool2d: values, tap indices within the window (-1: no tap inside), PyTorch's flat indices.
 * @example
 * const y = new Float64Array(1), idx = new Float64Array(1), flat = new Float64Array(1);
 * maxPoolRef({ P: 1, H: 2, W: 2, OH: 1, OW: 1, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, include: 0, div: 0, RB: 1,
 *   x: Float64Array.of(1, 5, 3, 2), y, idx, flat, dy: null, dx: null });
 * [y[0], idx[0], flat[0]]; // [5, 1, 1]
 */
export function maxPoolRef(p: PoolRef): void {
  const { P, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW } = p;
  const x = p.x!, y = p.y!, idx = p.idx, flat = p.flat;
  for (let c = 0; c < P; c++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const ih0 = oh * SH - PH, iw0 = ow * SW - PW;
        let m = -Infinity, t = -1, f = -1;
        for (let kh = 0; kh < KH; kh++) {
          const ih = ih0 + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = iw0 + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const v = x[(c * H + ih) * W + iw];
            // The first tap inside is chosen unless a later value beats it; NaN always wins.
            if (t < 0) { t = kh * KW + kw; f = ih * W + iw; }
            if (v > m || Number.isNaN(v)) { m = v; t = kh * KW + kw; f = ih * W + iw; }
          }
        }
        if (t < 0) {
          // PyTorch's index for a window without taps: its corner moved inside by whole dilations.
          const r = ih0 < 0 ? ih0 + Math.ceil(-ih0 / DH) * DH : ih0, q = iw0 < 0 ? iw0 + Math.ceil(-iw0 / DW) * DW : iw0;
          f = r * W + q;
        }
        const o = (c * OH + oh) * OW + ow;
        y[o] = m;
        if (idx) idx[o] = t;
        if (flat) flat[o] = f;
      }
    }
  }
}

/**
 * Gradient of max_pool2d: each output's gradient added at its tap.
 * @example
 * const dx = new Float64Array(4);
 * maxPoolBackwardRef({ P: 1, H: 2, W: 2, OH: 1, OW: 1, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, include: 0, div: 0, RB: 2,
 *   x: null, y: null, idx: Float64Array.of(1), flat: null, dy: Float64Array.of(7), dx });
 * dx; // Float64Array [0, 7, 0, 0]
 */
export function maxPoolBackwardRef(p: PoolRef): void {
  const { P, H, W, OH, OW, KW, SH, SW, PH, PW, DH, DW } = p;
  const dy = p.dy!, dx = p.dx!, idx = p.idx!;
  dx.fill(0, 0, P * H * W);
  for (let c = 0; c < P; c++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const o = (c * OH + oh) * OW + ow;
        const t = idx[o];
        if (t < 0) continue;
        const kh = Math.floor(t / KW), kw = t - kh * KW;
        dx[(c * H + oh * SH - PH + kh * DH) * W + ow * SW - PW + kw * DW] += dy[o];
      }
    }
  }
}

/** The window of an average-pooling output: its taps inside the input [a, b) x [c, d), and its divisor (0: no tap inside). */
function avgWindow(p: PoolRef, oh: number, ow: number): { a: number; b: number; c: number; d: number; div: number } {
  const { H, W, KH, KW, SH, SW, PH, PW } = p;
  const ih0 = oh * SH - PH, iw0 = ow * SW - PW;
  const ihe = Math.min(ih0 + KH, H + PH), iwe = Math.min(iw0 + KW, W + PW);
  const a = Math.max(ih0, 0), b = Math.min(ihe, H), c = Math.max(iw0, 0), d = Math.min(iwe, W);
  const empty = a >= b || c >= d;
  const div = empty ? 0 : p.div !== 0 ? p.div : p.include ? (ihe - ih0) * (iwe - iw0) : (b - a) * (d - c);
  return { a, b, c, d, div };
}

/**
 * avg_pool2d, with PyTorch's divisors.
 * @example
 * const y = new Float64Array(1);
 * avgPoolRef({ P: 1, H: 1, W: 1, OH: 1, OW: 1, KH: 2, KW: 2, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1, include: 1, div: 0, RB: 1,
 *   x: Float64Array.of(8), y, idx: null, flat: null, dy: null, dx: null });
 * y[0]; // 2 (8 over the 4 taps of the padded window; 8 with include: 0)
 */
export function avgPoolRef(p: PoolRef): void {
  const { P, H, W, OH, OW } = p;
  const x = p.x!, y = p.y!;
  for (let n = 0; n < P; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const { a, b, c, d, div } = avgWindow(p, oh, ow);
        let s = 0;
        for (let ih = a; ih < b; ih++) for (let iw = c; iw < d; iw++) s += x[(n * H + ih) * W + iw];
        y[(n * OH + oh) * OW + ow] = div === 0 ? 0 : s / div;
      }
    }
  }
}

/**
 * Gradient of avg_pool2d: each output's gradient over its divisor, added at its taps.
 * @example
 * const dx = new Float64Array(4);
 * avgPoolBackwardRef({ P: 1, H: 2, W: 2, OH: 1, OW: 1, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, include: 1, div: 0, RB: 2,
 *   x: null, y: null, idx: null, flat: null, dy: Float64Array.of(8), dx });
 * dx; // Float64Array [2, 2, 2, 2]
 */
export function avgPoolBackwardRef(p: PoolRef): void {
  const { P, H, W, OH, OW } = p;
  const dy = p.dy!, dx = p.dx!;
  dx.fill(0, 0, P * H * W);
  for (let n = 0; n < P; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const { a, b, c, d, div } = avgWindow(p, oh, ow);
        if (div === 0) continue;
        const g = dy[(n * OH + oh) * OW + ow] / div;
        for (let ih = a; ih < b; ih++) for (let iw = c; iw < d; iw++) dx[(n * H + ih) * W + iw] += g;
      }
    }
  }
}

/** PyTorch's adaptive windows: [floor(i * n / o), ceil((i + 1) * n / o)). */
const start = (i: number, o: number, n: number) => Math.floor((i * n) / o);
const end = (i: number, o: number, n: number) => Math.ceil(((i + 1) * n) / o);

/**
 * adaptive_avg_pool2d.
 * @example
 * const y = new Float64Array(2);
 * adaptiveAvgPoolRef({ P: 1, H: 1, W: 3, OH: 1, OW: 2, KH: 1, KW: 1, SH: 1, SW: 1, PH: 0, PW: 0, DH: 1, DW: 1, include: 0, div: 0, RB: 1,
 *   x: Float64Array.of(1, 2, 3), y, idx: null, flat: null, dy: null, dx: null });
 * y; // Float64Array [1.5, 2.5] (windows [0, 2) and [1, 3))
 */
export function adaptiveAvgPoolRef(p: PoolRef): void {
  const { P, H, W, OH, OW } = p;
  const x = p.x!, y = p.y!;
  for (let n = 0; n < P; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const a = start(oh, OH, H), b = end(oh, OH, H);
      for (let ow = 0; ow < OW; ow++) {
        const c = start(ow, OW, W), d = end(ow, OW, W);
        let s = 0;
        for (let ih = a; ih < b; ih++) for (let iw = c; iw < d; iw++) s += x[(n * H + ih) * W + iw];
        y[(n * OH + oh) * OW + ow] = s / ((b - a) * (d - c));
      }
    }
  }
}

/**
 * Gradient of adaptive_avg_pool2d.
 * @example
 * const dx = new Float64Array(3);
 * adaptiveAvgPoolBackwardRef({ P: 1, H: 1, W: 3, OH: 1, OW: 2, KH: 1, KW: 1, SH: 1, SW: 1, PH: 0, PW: 0, DH: 1, DW: 1, include: 0, div: 0,
 *   RB: 1, x: null, y: null, idx: null, flat: null, dy: Float64Array.of(2, 4), dx });
 * dx; // Float64Array [1, 3, 2]
 */
export function adaptiveAvgPoolBackwardRef(p: PoolRef): void {
  const { P, H, W, OH, OW } = p;
  const dy = p.dy!, dx = p.dx!;
  dx.fill(0, 0, P * H * W);
  for (let n = 0; n < P; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const a = start(oh, OH, H), b = end(oh, OH, H);
      for (let ow = 0; ow < OW; ow++) {
        const c = start(ow, OW, W), d = end(ow, OW, W);
        const g = dy[(n * OH + oh) * OW + ow] / ((b - a) * (d - c));
        for (let ih = a; ih < b; ih++) for (let iw = c; iw < d; iw++) dx[(n * H + ih) * W + iw] += g;
      }
    }
  }
}

/**
 * The input index output o reads along a dimension of n inputs, left padding
 * pl, O outputs; -1 outside the input in constant mode. Circular mode wraps
 * within the input left after cropping by negative paddings (as PyTorch).
 * @example
 * padSource(PAD.REFLECT, 0, 4, 2, 8);   // 2 (output 0 of [2, 1, 0, 1, 2, 3, 2, 1])
 * padSource(PAD.CIRCULAR, 0, 4, 2, 8);  // 2 (output 0 of [2, 3, 0, 1, 2, 3, 0, 1])
 * padSource(PAD.CONSTANT, 0, 4, 2, 8);  // -1
 */
export function padSource(mode: number, o: number, n: number, pl: number, O: number): number {
  const j = o - pl;
  if (j >= 0 && j < n) return j;
  if (mode === PAD.CONSTANT) return -1;
  if (mode === PAD.REPLICATE) return Math.min(Math.max(j, 0), n - 1);
  if (mode === PAD.REFLECT) return j < 0 ? -j : 2 * (n - 1) - j;
  const pr = O - n - pl;
  const c0 = Math.max(-pl, 0), m = n - c0 - Math.max(-pr, 0);
  return c0 + ((((o - Math.max(pl, 0)) % m) + m) % m);
}

/**
 * pad.
 * @example
 * const y = new Float64Array(4);
 * padRef({ P: 1, D: 1, H: 1, W: 3, OD: 1, OH: 1, OW: 4, PD: 0, PT: 0, PL: 1, mode: PAD.CONSTANT, value: 9, RB: 1,
 *   x: Float64Array.of(1, 2, 3), y, dy: null, dx: null });
 * y; // Float64Array [9, 1, 2, 3]
 */
export function padRef(p: PadRef): void {
  const { P, D, H, W, OD, OH, OW, PD, PT, PL, mode } = p;
  const x = p.x!, y = p.y!;
  let o = 0;
  for (let n = 0; n < P; n++) {
    for (let od = 0; od < OD; od++) {
      const d = padSource(mode, od, D, PD, OD);
      for (let oh = 0; oh < OH; oh++) {
        const h = padSource(mode, oh, H, PT, OH);
        for (let ow = 0; ow < OW; ow++) {
          const w = padSource(mode, ow, W, PL, OW);
          y[o++] = d < 0 || h < 0 || w < 0 ? p.value : x[((n * D + d) * H + h) * W + w];
        }
      }
    }
  }
}

/**
 * Gradient of pad: every output's gradient added at its source.
 * @example
 * const dx = new Float64Array(3);
 * padBackwardRef({ P: 1, D: 1, H: 1, W: 3, OD: 1, OH: 1, OW: 5, PD: 0, PT: 0, PL: 1, mode: PAD.REPLICATE, value: 0, RB: 1,
 *   x: null, y: null, dy: Float64Array.of(1, 1, 1, 1, 1), dx });
 * dx; // Float64Array [2, 1, 2]
 */
export function padBackwardRef(p: PadRef): void {
  const { P, D, H, W, OD, OH, OW, PD, PT, PL, mode } = p;
  const dy = p.dy!, dx = p.dx!;
  dx.fill(0, 0, P * D * H * W);
  let o = 0;
  for (let n = 0; n < P; n++) {
    for (let od = 0; od < OD; od++) {
      const d = padSource(mode, od, D, PD, OD);
      for (let oh = 0; oh < OH; oh++) {
        const h = padSource(mode, oh, H, PT, OH);
        for (let ow = 0; ow < OW; ow++, o++) {
          const w = padSource(mode, ow, W, PL, OW);
          if (d >= 0 && h >= 0 && w >= 0) dx[((n * D + d) * H + h) * W + w] += dy[o];
        }
      }
    }
  }
}

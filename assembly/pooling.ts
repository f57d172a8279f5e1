// 2-D pooling over NCHW planes (P = N * C planes of H x W): max pooling with its
// argmax, average pooling, adaptive average pooling, and their gradients, with
// the semantics of torch.nn.functional.max_pool2d, avg_pool2d and
// adaptive_avg_pool2d.
//
// Forward units are (plane, block of RB output rows); backward units are
// (plane, block of RB input rows): each backward unit zeroes its input-gradient
// rows, then adds the contributions of every output whose window reaches them,
// in output order (row-major). Units own disjoint outputs and every output is
// summed in an order that does not depend on the split, so results are bitwise
// identical on any thread count.
//
// The SIMD kernels compute 4 adjacent outputs of a row at once where every tap
// of the 4 windows lies inside the row (the interior); the border outputs, and
// every output of the scalar siblings, go through the per-element functions.
// Both compute each output with the same operations in the same order.
import { PoolP } from './generated/params';
import { isSimd, f4, imin, imax, zeroRun } from './common';

/** a / b rounded towards minus infinity (b > 0). */
@inline function fdiv(a: i32, b: i32): i32 {
  const q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
/** a / b rounded towards plus infinity (b > 0). */
@inline function cdivi(a: i32, b: i32): i32 { return -fdiv(-a, b); }

/** The first tap k with s + k * D >= 0 (may be >= the kernel size: no tap). */
@inline function tapStart(s: i32, D: i32): i32 { return s >= 0 ? 0 : cdivi(-s, D); }
/** One past the last tap k < K with s + k * D < n. */
@inline function tapEnd(s: i32, D: i32, K: i32, n: i32): i32 { return n - s <= 0 ? 0 : imin(K, cdivi(n - s, D)); }

/**
 * 4 floats at a, a + SW, a + 2 SW, a + 3 SW (in floats). For SW == 2 it reads
 * one float past the last lane (the interior bounds leave room for it).
 */
@inline function loadStrided(a: usize, SW: i32): v128 {
  if (SW == 1) return v128.load(a);
  if (SW == 2) {
    return i8x16.shuffle(v128.load(a), v128.load(a, 16), 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  }
  let v = f32x4.splat(load<f32>(a));
  v = f32x4.replace_lane(v, 1, load<f32>(a + f4(SW)));
  v = f32x4.replace_lane(v, 2, load<f32>(a + f4(2 * SW)));
  return f32x4.replace_lane(v, 3, load<f32>(a + f4(3 * SW)));
}

/**
 * The interior outputs of a row, [lo, hi): every tap of the 4-output blocks
 * starting there lies in [0, W), including the extra float a stride-2 load reads.
 */
@inline function interiorLo(PW: i32, SW: i32): i32 { return PW <= 0 ? 0 : cdivi(PW, SW); }
@inline function interiorHi(W: i32, PW: i32, SW: i32, lastTap: i32, OW: i32): i32 {
  const extra = SW == 2 ? 1 : 0;
  return imin(OW, fdiv(W - 1 - extra + PW - lastTap, SW) + 1);
}

// ---------------------------------------------------------------------------
// Max pooling
// ---------------------------------------------------------------------------

/**
 * One output of max pooling: the largest value of the window's taps inside the
 * input, in window order, where a NaN always wins (so the last NaN is taken),
 * and ties keep the first; -inf and the first tap when no value is larger.
 * Stores the value and, when io != 0, the tap's index kh * KW + kw (-1 when
 * the window has no tap inside the input).
 */
@inline function maxElement(xp: usize, W: i32, ih0: i32, k0: i32, k1: i32, DH: i32, iw0: i32, l0: i32, l1: i32, DW: i32, KW: i32,
                            yo: usize, io: usize): void {
  let m = <f32>-Infinity;
  let t: i32 = k0 < k1 && l0 < l1 ? k0 * KW + l0 : -1;
  for (let kh = k0; kh < k1; kh++) {
    const base = (ih0 + kh * DH) * W + iw0;
    for (let kw = l0; kw < l1; kw++) {
      const v = load<f32>(xp + f4(base + kw * DW));
      if (v > m || v != v) { m = v; t = kh * KW + kw; }
    }
  }
  store<f32>(yo, m);
  if (io) store<f32>(io, <f32>t);
}

/**
 * Max pooling: y (P, OH, OW) from x (P, H, W); idx (when not null) gets each
 * output's tap index within its window (as a float; -1 for a window without
 * taps), and flat (when not null, with idx) PyTorch's index into the H x W plane.
 */
export function maxPool<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const H = PoolP.H(p), W = PoolP.W(p), OH = PoolP.OH(p), OW = PoolP.OW(p);
  const KH = PoolP.KH(p), KW = PoolP.KW(p), SH = PoolP.SH(p), SW = PoolP.SW(p);
  const PH = PoolP.PH(p), PW = PoolP.PW(p), DH = PoolP.DH(p), DW = PoolP.DW(p), RB = PoolP.RB(p);
  const x = PoolP.x(p), y = PoolP.y(p), idx = PoolP.idx(p), flat = PoolP.flat(p);
  const nb = (OH + RB - 1) / RB;
  const lo = interiorLo(PW, SW), hi = interiorHi(W, PW, SW, (KW - 1) * DW, OW);
  for (let u = begin; u < end; u++) {
    const plane = u / nb, blk = u - plane * nb;
    const xp = x + f4(plane * H * W);
    const oh1 = imin(OH, (blk + 1) * RB);
    for (let oh = blk * RB; oh < oh1; oh++) {
      const ih0 = oh * SH - PH;
      const k0 = tapStart(ih0, DH), k1 = tapEnd(ih0, DH, KH, H);
      const at = (plane * OH + oh) * OW;
      const yr = y + f4(at);
      const ir = idx ? idx + f4(at) : 0;
      let ow = 0;
      if (isSimd<V>()) {
        for (; ow < lo && ow < OW; ow++) {
          const iw0 = ow * SW - PW;
          maxElement(xp, W, ih0, k0, k1, DH, iw0, tapStart(iw0, DW), tapEnd(iw0, DW, KW, W), DW, KW, yr + f4(ow), ir ? ir + f4(ow) : 0);
        }
        const t0 = f32x4.splat(k0 < k1 ? <f32>(k0 * KW) : <f32>-1);
        for (; ow + 4 <= hi; ow += 4) {
          const iw0 = ow * SW - PW;
          let m = f32x4.splat(-Infinity);
          let t = t0;
          for (let kh = k0; kh < k1; kh++) {
            const base = (ih0 + kh * DH) * W + iw0;
            if (ir) {
              for (let kw = 0; kw < KW; kw++) {
                const v = loadStrided(xp + f4(base + kw * DW), SW);
                const take = v128.or(f32x4.gt(v, m), f32x4.ne(v, v));
                m = v128.bitselect(v, m, take);
                t = v128.bitselect(f32x4.splat(<f32>(kh * KW + kw)), t, take);
              }
            } else {
              for (let kw = 0; kw < KW; kw++) {
                const v = loadStrided(xp + f4(base + kw * DW), SW);
                m = v128.bitselect(v, m, v128.or(f32x4.gt(v, m), f32x4.ne(v, v)));
              }
            }
          }
          v128.store(yr + f4(ow), m);
          if (ir) v128.store(ir + f4(ow), t);
        }
      }
      for (; ow < OW; ow++) {
        const iw0 = ow * SW - PW;
        maxElement(xp, W, ih0, k0, k1, DH, iw0, tapStart(iw0, DW), tapEnd(iw0, DW, KW, W), DW, KW, yr + f4(ow), ir ? ir + f4(ow) : 0);
      }
      if (flat) {
        // PyTorch's flat index: of the chosen tap, or, for a window without taps,
        // of the first tap position at or after its top-left corner clamped to 0.
        const fr = flat + f4(at);
        const r0 = ih0 + k0 * DH;
        for (let o = 0; o < OW; o++) {
          const t = <i32>load<f32>(ir + f4(o));
          const iw0 = o * SW - PW;
          let f: i32;
          if (t >= 0) {
            const kh = t / KW;
            f = (ih0 + kh * DH) * W + iw0 + (t - kh * KW) * DW;
          } else {
            f = r0 * W + iw0 + tapStart(iw0, DW) * DW;
          }
          store<f32>(fr + f4(o), <f32>f);
        }
      }
    }
  }
}

/**
 * Gradient of max pooling: dx (P, H, W) from dy (P, OH, OW) and the tap
 * indices idx written by maxPool; each output's gradient goes to its tap.
 */
export function maxPoolBackward<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const H = PoolP.H(p), W = PoolP.W(p), OH = PoolP.OH(p), OW = PoolP.OW(p);
  const KH = PoolP.KH(p), KW = PoolP.KW(p), SH = PoolP.SH(p), SW = PoolP.SW(p);
  const PH = PoolP.PH(p), PW = PoolP.PW(p), DH = PoolP.DH(p), DW = PoolP.DW(p), RB = PoolP.RB(p);
  const dy = PoolP.dy(p), dx = PoolP.dx(p), idx = PoolP.idx(p);
  const nb = (H + RB - 1) / RB;
  const ext = (KH - 1) * DH + 1;
  for (let u = begin; u < end; u++) {
    const plane = u / nb, blk = u - plane * nb;
    const h0 = blk * RB, h1 = imin(H, h0 + RB);
    const dxp = dx + f4(plane * H * W);
    zeroRun<V>(dxp + f4(h0 * W), (h1 - h0) * W);
    // Outputs whose window rows reach [h0, h1).
    const o0 = imax(0, cdivi(h0 + PH - ext + 1, SH)), o1 = imin(OH, fdiv(h1 - 1 + PH, SH) + 1);
    for (let oh = o0; oh < o1; oh++) {
      const at = (plane * OH + oh) * OW;
      const ih0 = oh * SH - PH;
      for (let ow = 0; ow < OW; ow++) {
        const t = <i32>load<f32>(idx + f4(at + ow));
        if (t < 0) continue;
        const kh = t / KW;
        const ih = ih0 + kh * DH;
        if (ih < h0 || ih >= h1) continue;
        const a = dxp + f4(ih * W + ow * SW - PW + (t - kh * KW) * DW);
        store<f32>(a, load<f32>(a) + load<f32>(dy + f4(at + ow)));
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Average pooling
// ---------------------------------------------------------------------------

/**
 * The divisor of one average-pooling window, as PyTorch: divisorOverride when
 * given, else with countIncludePad the window clipped to the padded input,
 * else the taps inside the input; 0 when the window has no tap inside.
 */
@inline function avgDivisor(ih0: i32, H: i32, PH: i32, KH: i32, iw0: i32, W: i32, PW: i32, KW: i32, include: bool, div: i32): i32 {
  const ihe = imin(ih0 + KH, H + PH), iwe = imin(iw0 + KW, W + PW);
  const a = imax(ih0, 0), b = imin(ihe, H), c = imax(iw0, 0), d = imin(iwe, W);
  if (a >= b || c >= d) return 0;
  if (div != 0) return div;
  return include ? (ihe - ih0) * (iwe - iw0) : (b - a) * (d - c);
}

/** One output of average pooling: the taps inside the input summed row by row, divided by the divisor. */
@inline function avgElement(xp: usize, H: i32, W: i32, ih0: i32, PH: i32, KH: i32, iw0: i32, PW: i32, KW: i32,
                            include: bool, div: i32, yo: usize): void {
  const dv = avgDivisor(ih0, H, PH, KH, iw0, W, PW, KW, include, div);
  if (dv == 0) { store<f32>(yo, 0); return; }
  const a = imax(ih0, 0), b = imin(ih0 + KH, H), c = imax(iw0, 0), d = imin(iw0 + KW, W);
  let s: f32 = 0;
  for (let ih = a; ih < b; ih++) {
    const row = xp + f4(ih * W);
    for (let iw = c; iw < d; iw++) s += load<f32>(row + f4(iw));
  }
  store<f32>(yo, s / <f32>dv);
}

/** The divisor shared by a row's interior outputs (whose windows lie inside the input's columns). */
@inline function rowDivisor(ih0: i32, H: i32, PH: i32, KH: i32, KW: i32, include: bool, div: i32): i32 {
  const ihe = imin(ih0 + KH, H + PH);
  const a = imax(ih0, 0), b = imin(ihe, H);
  if (a >= b) return 0;
  if (div != 0) return div;
  return (include ? ihe - ih0 : b - a) * KW;
}

/** Average pooling: y (P, OH, OW) from x (P, H, W); `include` is countIncludePad, `div` divisorOverride (0: none). */
export function avgPool<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const H = PoolP.H(p), W = PoolP.W(p), OH = PoolP.OH(p), OW = PoolP.OW(p);
  const KH = PoolP.KH(p), KW = PoolP.KW(p), SH = PoolP.SH(p), SW = PoolP.SW(p);
  const PH = PoolP.PH(p), PW = PoolP.PW(p), RB = PoolP.RB(p);
  const include = PoolP.include(p) != 0, div = PoolP.div(p);
  const x = PoolP.x(p), y = PoolP.y(p);
  const nb = (OH + RB - 1) / RB;
  const lo = interiorLo(PW, SW), hi = interiorHi(W, PW, SW, KW - 1, OW);
  for (let u = begin; u < end; u++) {
    const plane = u / nb, blk = u - plane * nb;
    const xp = x + f4(plane * H * W);
    const oh1 = imin(OH, (blk + 1) * RB);
    for (let oh = blk * RB; oh < oh1; oh++) {
      const ih0 = oh * SH - PH;
      const yr = y + f4((plane * OH + oh) * OW);
      let ow = 0;
      if (isSimd<V>()) {
        for (; ow < lo && ow < OW; ow++) avgElement(xp, H, W, ih0, PH, KH, ow * SW - PW, PW, KW, include, div, yr + f4(ow));
        const dv = rowDivisor(ih0, H, PH, KH, KW, include, div);
        const a = imax(ih0, 0), b = imin(ih0 + KH, H);
        const vd = f32x4.splat(<f32>dv);
        for (; ow + 4 <= hi; ow += 4) {
          if (dv == 0) { v128.store(yr + f4(ow), f32x4.splat(0)); continue; }
          const iw0 = ow * SW - PW;
          let s = f32x4.splat(0);
          for (let ih = a; ih < b; ih++) {
            const base = ih * W + iw0;
            for (let kw = 0; kw < KW; kw++) s = f32x4.add(s, loadStrided(xp + f4(base + kw), SW));
          }
          v128.store(yr + f4(ow), f32x4.div(s, vd));
        }
      }
      for (; ow < OW; ow++) avgElement(xp, H, W, ih0, PH, KH, ow * SW - PW, PW, KW, include, div, yr + f4(ow));
    }
  }
}

/** g[ow] = dy[ow] / divisor of output (oh, ow) for one output row (0 where the window has no tap inside). */
@inline function avgRowGradient<V>(g: usize, dyr: usize, OW: i32, ih0: i32, H: i32, W: i32, PH: i32, KH: i32, SW: i32, PW: i32, KW: i32,
                                   include: bool, div: i32, lo: i32, hi: i32): void {
  let ow = 0;
  if (isSimd<V>()) {
    for (; ow < lo && ow < OW; ow++) {
      const dv = avgDivisor(ih0, H, PH, KH, ow * SW - PW, W, PW, KW, include, div);
      store<f32>(g + f4(ow), dv == 0 ? 0 : load<f32>(dyr + f4(ow)) / <f32>dv);
    }
    const dv = rowDivisor(ih0, H, PH, KH, KW, include, div);
    if (dv != 0) {
      const vd = f32x4.splat(<f32>dv);
      for (; ow + 4 <= hi; ow += 4) v128.store(g + f4(ow), f32x4.div(v128.load(dyr + f4(ow)), vd));
    }
  }
  for (; ow < OW; ow++) {
    const dv = avgDivisor(ih0, H, PH, KH, ow * SW - PW, W, PW, KW, include, div);
    store<f32>(g + f4(ow), dv == 0 ? 0 : load<f32>(dyr + f4(ow)) / <f32>dv);
  }
}

/**
 * Gradient of average pooling: dx (P, H, W) from dy (P, OH, OW). Workspace:
 * one row of per-output gradients (OW + 4 floats).
 */
export function avgPoolBackward<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const H = PoolP.H(p), W = PoolP.W(p), OH = PoolP.OH(p), OW = PoolP.OW(p);
  const KH = PoolP.KH(p), KW = PoolP.KW(p), SH = PoolP.SH(p), SW = PoolP.SW(p);
  const PH = PoolP.PH(p), PW = PoolP.PW(p), RB = PoolP.RB(p);
  const include = PoolP.include(p) != 0, div = PoolP.div(p);
  const dy = PoolP.dy(p), dx = PoolP.dx(p);
  const nb = (H + RB - 1) / RB;
  const lo = interiorLo(PW, SW), hi = interiorHi(W, PW, SW, KW - 1, OW);
  // Without overlap along a row (SW >= KW) each input of a row gets at most one
  // contribution per output row, so the order of the columns does not matter.
  const pairs = SW == 2 && KW == 2;
  const g = ws;
  for (let u = begin; u < end; u++) {
    const plane = u / nb, blk = u - plane * nb;
    const h0 = blk * RB, h1 = imin(H, h0 + RB);
    const dxp = dx + f4(plane * H * W);
    zeroRun<V>(dxp + f4(h0 * W), (h1 - h0) * W);
    const o0 = imax(0, cdivi(h0 + PH - KH + 1, SH)), o1 = imin(OH, fdiv(h1 - 1 + PH, SH) + 1);
    for (let oh = o0; oh < o1; oh++) {
      const ih0 = oh * SH - PH;
      const r0 = imax(imax(ih0, 0), h0), r1 = imin(imin(ih0 + KH, H), h1);
      if (r0 >= r1) continue;
      avgRowGradient<V>(g, dy + f4((plane * OH + oh) * OW), OW, ih0, H, W, PH, KH, SW, PW, KW, include, div, lo, hi);
      for (let ih = r0; ih < r1; ih++) {
        const row = dxp + f4(ih * W);
        let ow = 0;
        if (isSimd<V>() && pairs) {
          for (; ow < lo && ow < OW; ow++) addWindowRow(row, g, ow, SW, PW, KW, W);
          for (; ow + 4 <= hi; ow += 4) {
            const gv = v128.load(g + f4(ow));
            const a = row + f4(ow * 2 - PW);
            v128.store(a, f32x4.add(v128.load(a), v128.shuffle<f32>(gv, gv, 0, 0, 1, 1)));
            v128.store(a, f32x4.add(v128.load(a, 16), v128.shuffle<f32>(gv, gv, 2, 2, 3, 3)), 16);
          }
        }
        for (; ow < OW; ow++) addWindowRow(row, g, ow, SW, PW, KW, W);
      }
    }
  }
}

/** Adds g[ow] to the taps of output ow's window inside one input row. */
@inline function addWindowRow(row: usize, g: usize, ow: i32, SW: i32, PW: i32, KW: i32, W: i32): void {
  const iw0 = ow * SW - PW;
  const c = imax(iw0, 0), d = imin(iw0 + KW, W);
  const v = load<f32>(g + f4(ow));
  for (let iw = c; iw < d; iw++) store<f32>(row + f4(iw), load<f32>(row + f4(iw)) + v);
}

// ---------------------------------------------------------------------------
// Adaptive average pooling
// ---------------------------------------------------------------------------

/** floor(a * n / o): the first input index of adaptive window a (of o over n). */
@inline function adaptiveStart(a: i32, o: i32, n: i32): i32 { return <i32>(<i64>a * <i64>n / <i64>o); }
/** ceil((a + 1) * n / o): one past the last input index of adaptive window a. */
@inline function adaptiveEnd(a: i32, o: i32, n: i32): i32 { return <i32>((<i64>(a + 1) * <i64>n + <i64>(o - 1)) / <i64>o); }

/** Adaptive average pooling: y (P, OH, OW) from x (P, H, W); each window's sum divided by its height, then its width. */
export function adaptiveAvgPool<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const H = PoolP.H(p), W = PoolP.W(p), OH = PoolP.OH(p), OW = PoolP.OW(p), RB = PoolP.RB(p);
  const x = PoolP.x(p), y = PoolP.y(p);
  const nb = (OH + RB - 1) / RB;
  for (let u = begin; u < end; u++) {
    const plane = u / nb, blk = u - plane * nb;
    const xp = x + f4(plane * H * W);
    const oh1 = imin(OH, (blk + 1) * RB);
    for (let oh = blk * RB; oh < oh1; oh++) {
      const a = adaptiveStart(oh, OH, H), b = adaptiveEnd(oh, OH, H);
      const yr = y + f4((plane * OH + oh) * OW);
      for (let ow = 0; ow < OW; ow++) {
        const c = adaptiveStart(ow, OW, W), d = adaptiveEnd(ow, OW, W);
        let s: f32 = 0;
        for (let ih = a; ih < b; ih++) {
          const row = xp + f4(ih * W);
          for (let iw = c; iw < d; iw++) s += load<f32>(row + f4(iw));
        }
        store<f32>(yr + f4(ow), s / <f32>(b - a) / <f32>(d - c));
      }
    }
  }
}

/** Gradient of adaptive average pooling: dx (P, H, W) from dy (P, OH, OW). */
export function adaptiveAvgPoolBackward<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const H = PoolP.H(p), W = PoolP.W(p), OH = PoolP.OH(p), OW = PoolP.OW(p), RB = PoolP.RB(p);
  const dy = PoolP.dy(p), dx = PoolP.dx(p);
  const nb = (H + RB - 1) / RB;
  for (let u = begin; u < end; u++) {
    const plane = u / nb, blk = u - plane * nb;
    const h0 = blk * RB, h1 = imin(H, h0 + RB);
    const dxp = dx + f4(plane * H * W);
    zeroRun<V>(dxp + f4(h0 * W), (h1 - h0) * W);
    // Windows reaching rows [h0, h1): end(oh) > h0 and start(oh) < h1.
    const o0 = <i32>(<i64>h0 * <i64>OH / <i64>H);
    const o1 = imin(OH, <i32>((<i64>h1 * <i64>OH - 1) / <i64>H) + 1);
    for (let oh = o0; oh < o1; oh++) {
      const a = imax(adaptiveStart(oh, OH, H), h0), b = imin(adaptiveEnd(oh, OH, H), h1);
      const kh = <f32>(adaptiveEnd(oh, OH, H) - adaptiveStart(oh, OH, H));
      const dyr = dy + f4((plane * OH + oh) * OW);
      for (let ow = 0; ow < OW; ow++) {
        const c = adaptiveStart(ow, OW, W), d = adaptiveEnd(ow, OW, W);
        const v = load<f32>(dyr + f4(ow)) / kh / <f32>(d - c);
        for (let ih = a; ih < b; ih++) {
          const row = dxp + f4(ih * W);
          for (let iw = c; iw < d; iw++) store<f32>(row + f4(iw), load<f32>(row + f4(iw)) + v);
        }
      }
    }
  }
}

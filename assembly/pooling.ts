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
/** tapStart and tapEnd for a window whose last tap is at s + last, without divisions when it lies inside [0, n). */
@inline function colStart(s: i32, D: i32, last: i32, n: i32): i32 { return s >= 0 && s + last < n ? 0 : tapStart(s, D); }
@inline function colEnd(s: i32, D: i32, K: i32, last: i32, n: i32): i32 { return s >= 0 && s + last < n ? K : tapEnd(s, D, K, n); }

/** 4 floats at a, a + SW, a + 2 SW, a + 3 SW (in floats), reading nothing past the last. */
@inline function loadStrided(a: usize, SW: i32): v128 {
  if (SW == 1) return v128.load(a);
  if (SW == 2) return v128.shuffle<f32>(v128.load(a), v128.load(a, 12), 0, 2, 5, 7);
  let v = f32x4.splat(load<f32>(a));
  v = f32x4.replace_lane(v, 1, load<f32>(a + f4(SW)));
  v = f32x4.replace_lane(v, 2, load<f32>(a + f4(2 * SW)));
  return f32x4.replace_lane(v, 3, load<f32>(a + f4(3 * SW)));
}

/** The interior outputs of a row, [lo, hi): every tap of their windows lies in [0, W). */
@inline function interiorLo(PW: i32, SW: i32): i32 { return PW <= 0 ? 0 : cdivi(PW, SW); }
@inline function interiorHi(W: i32, PW: i32, SW: i32, lastTap: i32, OW: i32): i32 {
  return imin(OW, fdiv(W - 1 + PW - lastTap, SW) + 1);
}

/** t / K for 0 <= t < 2^24, 0 < K < 2^24, without an integer division (a reciprocal, then exact). */
@inline function quotient(t: i32, K: i32, rcp: f64): i32 {
  let q = <i32>(<f64>t * rcp);
  if (q * K > t) q--;
  else if ((q + 1) * K <= t) q++;
  return q;
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
      // Without branches: the comparisons of random data are unpredictable.
      const take = <bool>(i32(v > m) | i32(v != v));
      m = select<f32>(v, m, take);
      t = select<i32>(kh * KW + kw, t, take);
    }
  }
  store<f32>(yo, m);
  if (io) store<f32>(io, <f32>t);
}

/** One step of the vector max: lanes where v is larger, or NaN, take v (and tap t). */
@inline function maxStep(v: v128, m: v128, take: v128): v128 { return v128.bitselect(v, m, take); }

/**
 * 4 adjacent interior outputs of max pooling, the same as 4 calls of
 * maxElement: y at yo and, when io != 0, the tap indices at io. `pairs`:
 * kernel width 2, stride 2, no dilation (each row's 8 inputs loaded once).
 */
@inline function maxBlock(xp: usize, W: i32, ih0: i32, k0: i32, k1: i32, DH: i32, iw0: i32, DW: i32, KW: i32, SW: i32, pairs: bool,
                          yo: usize, io: usize): void {
  let m = f32x4.splat(-Infinity);
  if (!io) {
    // Values alone: pmax (one instruction; it takes v only where v > m, as below,
    // and skips a NaN v) beside a running sum of the taps, which a NaN turns NaN.
    // Only then (or with infinities of both signs) is the block taken again below.
    let s = f32x4.splat(0);
    for (let kh = k0; kh < k1; kh++) {
      const a = xp + f4((ih0 + kh * DH) * W + iw0);
      if (pairs) {
        const lo = v128.load(a), hi = v128.load(a, 16);
        const v0 = v128.shuffle<f32>(lo, hi, 0, 2, 4, 6), v1 = v128.shuffle<f32>(lo, hi, 1, 3, 5, 7);
        m = f32x4.pmax(f32x4.pmax(m, v0), v1);
        s = f32x4.add(s, f32x4.add(v0, v1));
      } else {
        for (let kw = 0; kw < KW; kw++) {
          const v = loadStrided(a + f4(kw * DW), SW);
          m = f32x4.pmax(m, v);
          s = f32x4.add(s, v);
        }
      }
    }
    if (!v128.any_true(f32x4.ne(s, s))) { v128.store(yo, m); return; }
    m = f32x4.splat(-Infinity);
  }
  let t = f32x4.splat(k0 < k1 ? <f32>(k0 * KW) : <f32>-1);
  for (let kh = k0; kh < k1; kh++) {
    const a = xp + f4((ih0 + kh * DH) * W + iw0);
    if (pairs) {
      const lo = v128.load(a), hi = v128.load(a, 16);
      const v0 = v128.shuffle<f32>(lo, hi, 0, 2, 4, 6), v1 = v128.shuffle<f32>(lo, hi, 1, 3, 5, 7);
      const take0 = v128.or(f32x4.gt(v0, m), f32x4.ne(v0, v0));
      m = maxStep(v0, m, take0);
      const take1 = v128.or(f32x4.gt(v1, m), f32x4.ne(v1, v1));
      m = maxStep(v1, m, take1);
      if (io) {
        t = maxStep(f32x4.splat(<f32>(kh * 2)), t, take0);
        t = maxStep(f32x4.splat(<f32>(kh * 2 + 1)), t, take1);
      }
    } else {
      for (let kw = 0; kw < KW; kw++) {
        const v = loadStrided(a + f4(kw * DW), SW);
        const take = v128.or(f32x4.gt(v, m), f32x4.ne(v, v));
        m = maxStep(v, m, take);
        if (io) t = maxStep(f32x4.splat(<f32>(kh * KW + kw)), t, take);
      }
    }
  }
  v128.store(yo, m);
  if (io) v128.store(io, t);
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
  const pairs = KW == 2 && SW == 2 && DW == 1;
  const rcp = 1.0 / <f64>KW;
  const last = (KW - 1) * DW;
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
          maxElement(xp, W, ih0, k0, k1, DH, iw0, colStart(iw0, DW, last, W), colEnd(iw0, DW, KW, last, W), DW, KW, yr + f4(ow), ir ? ir + f4(ow) : 0);
        }
        if (hi - ow >= 4) {
          for (; ow + 4 <= hi; ow += 4) {
            maxBlock(xp, W, ih0, k0, k1, DH, ow * SW - PW, DW, KW, SW, pairs, yr + f4(ow), ir ? ir + f4(ow) : 0);
          }
          // The rest of the interior as one more block overlapping the last (the same values again).
          if (ow < hi) {
            const o = hi - 4;
            maxBlock(xp, W, ih0, k0, k1, DH, o * SW - PW, DW, KW, SW, pairs, yr + f4(o), ir ? ir + f4(o) : 0);
            ow = hi;
          }
        }
      }
      for (; ow < OW; ow++) {
        const iw0 = ow * SW - PW;
        maxElement(xp, W, ih0, k0, k1, DH, iw0, colStart(iw0, DW, last, W), colEnd(iw0, DW, KW, last, W), DW, KW, yr + f4(ow), ir ? ir + f4(ow) : 0);
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
            const kh = quotient(t, KW, rcp);
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
  const rcp = 1.0 / <f64>KW;
  // Windows 2 wide with stride 2 that do not overlap along the rows either: each
  // input gets at most one gradient, so the rows are written directly.
  const direct = isSimd<V>() && KW == 2 && SW == 2 && DW == 1 && SH >= ext;
  const lo = interiorLo(PW, SW), hi = interiorHi(W, PW, SW, 1, OW);
  for (let u = begin; u < end; u++) {
    const plane = u / nb, blk = u - plane * nb;
    const h0 = blk * RB, h1 = imin(H, h0 + RB);
    const dxp = dx + f4(plane * H * W);
    if (direct) {
      for (let ih = h0; ih < h1; ih++) maxGradientRow(dxp + f4(ih * W), ih, W, OH, OW, SH, PH, PW, DH, ext, lo, hi,
                                                     dy + f4(plane * OH * OW), idx + f4(plane * OH * OW), rcp);
      continue;
    }
    zeroRun<V>(dxp + f4(h0 * W), (h1 - h0) * W);
    // Outputs whose window rows reach [h0, h1).
    const o0 = imax(0, cdivi(h0 + PH - ext + 1, SH)), o1 = imin(OH, fdiv(h1 - 1 + PH, SH) + 1);
    for (let oh = o0; oh < o1; oh++) {
      const at = (plane * OH + oh) * OW;
      const ih0 = oh * SH - PH;
      for (let ow = 0; ow < OW; ow++) {
        const t = <i32>load<f32>(idx + f4(at + ow));
        if (t < 0) continue;
        const kh = quotient(t, KW, rcp);
        const ih = ih0 + kh * DH;
        if (ih < h0 || ih >= h1) continue;
        const a = dxp + f4(ih * W + ow * SW - PW + (t - kh * KW) * DW);
        store<f32>(a, load<f32>(a) + load<f32>(dy + f4(at + ow)));
      }
    }
  }
}

/**
 * One input-gradient row of max pooling with windows 2 wide, stride 2, that
 * overlap no other window: the same values as zeroing the row and adding each
 * output's gradient at its tap (0 + g), computed 4 outputs (8 inputs) at a time.
 */
@inline function maxGradientRow(row: usize, ih: i32, W: i32, OH: i32, OW: i32, SH: i32, PH: i32, PW: i32, DH: i32, ext: i32,
                                lo: i32, hi: i32, dyp: usize, ip: usize, rcp: f64): void {
  zeroRun<v128>(row, W);
  const r = ih + PH, oh = r / SH, d = r - oh * SH;
  if (oh >= OH || d >= ext || d % DH != 0) return;
  const kh = d / DH;
  const gr = dyp + f4(oh * OW), tr = ip + f4(oh * OW);
  const c0 = f32x4.splat(<f32>(kh * 2)), c1 = f32x4.splat(<f32>(kh * 2 + 1)), zero = f32x4.splat(0);
  let ow = 0;
  for (; ow < lo && ow < OW; ow++) maxGradientAt(row, gr, tr, ow, kh, PW, W, rcp);
  if (hi - ow >= 4) {
    let o = ow;
    while (true) {
      const t = v128.load(tr + f4(o)), g = v128.load(gr + f4(o));
      const v0 = f32x4.add(zero, v128.and(g, f32x4.eq(t, c0))), v1 = f32x4.add(zero, v128.and(g, f32x4.eq(t, c1)));
      const a = row + f4(o * 2 - PW);
      v128.store(a, v128.shuffle<f32>(v0, v1, 0, 4, 1, 5));
      v128.store(a, v128.shuffle<f32>(v0, v1, 2, 6, 3, 7), 16);
      if (o + 4 == hi) break;
      o = o + 8 <= hi ? o + 4 : hi - 4; // the last block overlaps the one before (the same values again)
    }
    ow = hi;
  }
  for (; ow < OW; ow++) maxGradientAt(row, gr, tr, ow, kh, PW, W, rcp);
}

/** Output ow's gradient at its tap, when that tap lies in this row (tap row kh). */
@inline function maxGradientAt(row: usize, gr: usize, tr: usize, ow: i32, kh: i32, PW: i32, W: i32, rcp: f64): void {
  const t = <i32>load<f32>(tr + f4(ow));
  if (t < 0 || quotient(t, 2, rcp) != kh) return;
  const iw = ow * 2 - PW + (t - kh * 2);
  store<f32>(row + f4(iw), load<f32>(row + f4(iw)) + load<f32>(gr + f4(ow)));
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

/**
 * 4 adjacent interior outputs of average pooling (rows [a, b) inside, divisor
 * dv), the same as 4 calls of avgElement. `pairs`: kernel width 2, stride 2.
 */
@inline function avgBlock(xp: usize, W: i32, a: i32, b: i32, iw0: i32, KW: i32, SW: i32, pairs: bool, dv: i32, yo: usize): void {
  if (dv == 0) { v128.store(yo, f32x4.splat(0)); return; }
  let s = f32x4.splat(0);
  for (let ih = a; ih < b; ih++) {
    const r = xp + f4(ih * W + iw0);
    if (pairs) {
      const lo = v128.load(r), hi = v128.load(r, 16);
      s = f32x4.add(s, v128.shuffle<f32>(lo, hi, 0, 2, 4, 6));
      s = f32x4.add(s, v128.shuffle<f32>(lo, hi, 1, 3, 5, 7));
    } else {
      for (let kw = 0; kw < KW; kw++) s = f32x4.add(s, loadStrided(r + f4(kw), SW));
    }
  }
  v128.store(yo, f32x4.div(s, f32x4.splat(<f32>dv)));
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
  const pairs = KW == 2 && SW == 2;
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
        if (hi - ow >= 4) {
          for (; ow + 4 <= hi; ow += 4) avgBlock(xp, W, a, b, ow * SW - PW, KW, SW, pairs, dv, yr + f4(ow));
          // The rest of the interior as one more block overlapping the last (the same values again).
          if (ow < hi) { avgBlock(xp, W, a, b, (hi - 4) * SW - PW, KW, SW, pairs, dv, yr + f4(hi - 4)); ow = hi; }
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
    if (dv != 0 && hi - ow >= 4) {
      const vd = f32x4.splat(<f32>dv);
      for (; ow + 4 <= hi; ow += 4) v128.store(g + f4(ow), f32x4.div(v128.load(dyr + f4(ow)), vd));
      if (ow < hi) { v128.store(g + f4(hi - 4), f32x4.div(v128.load(dyr + f4(hi - 4)), vd)); ow = hi; }
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
  // 2x2 windows at stride 2 without padding, all inside the input: each input
  // gets 0 + dy / divisor of its one window, written at once (the same value
  // the general path adds to the zeroed row).
  const tiles = KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 && PW == 0 && 2 * OH <= H && 2 * OW <= W;
  const dv: f32 = div != 0 ? <f32>div : 4;
  for (let u = begin; u < end; u++) {
    const plane = u / nb, blk = u - plane * nb;
    const h0 = blk * RB, h1 = imin(H, h0 + RB);
    const dxp = dx + f4(plane * H * W);
    if (tiles) {
      for (let ih = h0; ih < h1; ih++) {
        const row = dxp + f4(ih * W);
        const oh = ih >> 1;
        if (oh >= OH) { zeroRun<V>(row, W); continue; }
        const dyr = dy + f4((plane * OH + oh) * OW);
        let ow = 0;
        if (isSimd<V>()) {
          const vd = f32x4.splat(dv), z = f32x4.splat(0);
          for (; ow + 4 <= OW; ow += 4) {
            const gv = f32x4.add(z, f32x4.div(v128.load(dyr + f4(ow)), vd));
            const a = row + f4(ow * 2);
            v128.store(a, v128.shuffle<f32>(gv, gv, 0, 0, 1, 1));
            v128.store(a, v128.shuffle<f32>(gv, gv, 2, 2, 3, 3), 16);
          }
        }
        for (; ow < OW; ow++) {
          const v: f32 = <f32>0 + load<f32>(dyr + f4(ow)) / dv;
          store<f32>(row + f4(ow * 2), v);
          store<f32>(row + f4(ow * 2), v, 4);
        }
        zeroRun<V>(row + f4(OW * 2), W - OW * 2);
      }
      continue;
    }
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

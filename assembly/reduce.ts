// Reductions over the middle axis of a contiguous [A, R, B] array:
//   y[a, c, b] = reduce over r in chunk c of x[a, r, b]
// Chunks of RC elements along R are fixed by the shape alone, so each output is
// summed in the same order whatever the thread count; when R has more than one
// chunk the op layer combines the partial results with a second call.
// Max and min track the index of the first maximum (NaN counts as the maximum,
// the first NaN wins), as PyTorch's max(dim) and argmax do.
import { ReduceP, BB, REDUCE_SUM, REDUCE_MAX, REDUCE_MIN } from './generated/params';
import { isSimd } from './math';

@inline function f4(i: i32): usize { return <usize>i << 2; }

/** Whether v beats best for max (or, with min, for min): strictly better, or the first NaN. */
@inline function better(isMax: bool, v: f32, best: f32): bool {
  if (v != v) return best == best;
  return isMax ? v > best : v < best;
}

/** Lanes of v that beat best (see `better`). */
@inline function betterV(isMax: bool, v: v128, best: v128): v128 {
  const vnan = f32x4.ne(v, v), bnan = f32x4.ne(best, best);
  const cmp = isMax ? f32x4.gt(v, best) : f32x4.lt(v, best);
  return v128.or(v128.andnot(vnan, bnan), cmp);
}

/**
 * Sum of len contiguous floats from q in a fixed order: eight running lanes,
 * folded (l0+l4, l1+l5, l2+l6, l3+l7), then (t0+t1)+(t2+t3), then the tail.
 */
@inline function sumRun<V>(q: usize, len: i32): f32 {
  let t = 0;
  let r: f32 = 0;
  if (isSimd<V>()) {
    let a0 = f32x4.splat(0), a1 = a0;
    for (; t + 8 <= len; t += 8) {
      a0 = f32x4.add(a0, v128.load(q + f4(t)));
      a1 = f32x4.add(a1, v128.load(q + f4(t), 16));
    }
    const s = f32x4.add(a0, a1);
    r = (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  } else {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
    for (; t + 8 <= len; t += 8) {
      const b = q + f4(t);
      s0 += load<f32>(b); s1 += load<f32>(b, 4); s2 += load<f32>(b, 8); s3 += load<f32>(b, 12);
      s4 += load<f32>(b, 16); s5 += load<f32>(b, 20); s6 += load<f32>(b, 24); s7 += load<f32>(b, 28);
    }
    r = ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7));
  }
  for (; t < len; t++) r += load<f32>(q + f4(t));
  return r;
}

/**
 * x: [A, R, B] (or, when xi != 0, partial results [A, R, B] with their indices
 * in xi); y: [A, nchunk, B]; yi: indices of y (as floats), or 0. op: sum, max
 * or min; results are divided by `divisor` (R for a mean, as PyTorch's sum / n, else 1).
 * Units: A * nchunk * ceil(B / BB), nchunk = ceil(R / RC).
 */
export function reduce<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const op = ReduceP.op(p), A = ReduceP.A(p), R = ReduceP.R(p), B = ReduceP.B(p), RC = ReduceP.RC(p);
  const divisor = ReduceP.divisor(p);
  const x = ReduceP.x(p), xi = ReduceP.xi(p), y = ReduceP.y(p), yi = ReduceP.yi(p);
  const nchunk = (R + RC - 1) / RC, nbb = (B + BB - 1) / BB;
  const isMax = op == REDUCE_MAX;
  for (let u = begin; u < end; u++) {
    const bb = u % nbb, t = u / nbb, c = t % nchunk, a = t / nchunk;
    const r0 = c * RC, r1 = r0 + RC < R ? r0 + RC : R;
    const b0 = bb * BB, b1 = b0 + BB < B ? b0 + BB : B;
    const out = (a * nchunk + c) * B;
    if (op == REDUCE_SUM) {
      if (B == 1) {
        store<f32>(y + f4(out), sumRun<V>(x + f4(a * R + r0), r1 - r0) / divisor);
        continue;
      }
      let b = b0;
      if (isSimd<V>()) {
        const dv = f32x4.splat(divisor);
        for (; b + 4 <= b1; b += 4) {
          let q = x + f4((a * R + r0) * B + b);
          let acc = v128.load(q);
          for (let r = r0 + 1; r < r1; r++) { q += f4(B); acc = f32x4.add(acc, v128.load(q)); }
          v128.store(y + f4(out + b), f32x4.div(acc, dv));
        }
      }
      for (; b < b1; b++) {
        let q = x + f4((a * R + r0) * B + b);
        let s = load<f32>(q);
        for (let r = r0 + 1; r < r1; r++) { q += f4(B); s += load<f32>(q); }
        store<f32>(y + f4(out + b), s / divisor);
      }
      continue;
    }
    // max / min with the first index
    if (isSimd<V>() && B == 1 && !xi && r1 - r0 >= 8) {
      // Four lanes, each the first best of every fourth element, then the lanes
      // folded: NaN first, then the better value, ties to the smaller index.
      const q = x + f4(a * R);
      let best = v128.load(q + f4(r0));
      let idx = f32x4(<f32>r0, <f32>(r0 + 1), <f32>(r0 + 2), <f32>(r0 + 3));
      let cur = idx;
      const four = f32x4.splat(4);
      let r = r0 + 4;
      for (; r + 4 <= r1; r += 4) {
        cur = f32x4.add(cur, four);
        const v = v128.load(q + f4(r));
        const m = betterV(isMax, v, best);
        best = v128.bitselect(v, best, m);
        idx = v128.bitselect(cur, idx, m);
      }
      let bv = f32x4.extract_lane(best, 0), bi = f32x4.extract_lane(idx, 0);
      for (let l = 1; l < 4; l++) {
        const v = l == 1 ? f32x4.extract_lane(best, 1) : l == 2 ? f32x4.extract_lane(best, 2) : f32x4.extract_lane(best, 3);
        const i = l == 1 ? f32x4.extract_lane(idx, 1) : l == 2 ? f32x4.extract_lane(idx, 2) : f32x4.extract_lane(idx, 3);
        const vn = v != v, bn = bv != bv;
        if ((vn && !bn) || (vn == bn && (vn ? i < bi : (better(isMax, v, bv) || (v == bv && i < bi))))) { bv = v; bi = i; }
      }
      for (; r < r1; r++) {
        const v = load<f32>(q + f4(r));
        if (better(isMax, v, bv)) { bv = v; bi = <f32>r; }
      }
      store<f32>(y + f4(out), bv / divisor);
      if (yi) store<f32>(yi + f4(out), bi);
      continue;
    }
    let b = b0;
    if (isSimd<V>() && B > 1) {
      for (; b + 4 <= b1; b += 4) {
        let q = x + f4((a * R + r0) * B + b);
        let best = v128.load(q);
        let idx = xi ? v128.load(xi + f4((a * R + r0) * B + b)) : f32x4.splat(<f32>r0);
        for (let r = r0 + 1; r < r1; r++) {
          q += f4(B);
          const v = v128.load(q);
          const m = betterV(isMax, v, best);
          best = v128.bitselect(v, best, m);
          const iv = xi ? v128.load(xi + f4((a * R + r) * B + b)) : f32x4.splat(<f32>r);
          idx = v128.bitselect(iv, idx, m);
        }
        v128.store(y + f4(out + b), f32x4.div(best, f32x4.splat(divisor)));
        if (yi) v128.store(yi + f4(out + b), idx);
      }
    }
    for (; b < b1; b++) {
      let q = x + f4((a * R + r0) * B + b);
      let best = load<f32>(q);
      let at = r0;
      for (let r = r0 + 1; r < r1; r++) {
        q += f4(B);
        const v = load<f32>(q);
        if (better(isMax, v, best)) { best = v; at = r; }
      }
      store<f32>(y + f4(out + b), best / divisor);
      if (yi) store<f32>(yi + f4(out + b), xi ? load<f32>(xi + f4((a * R + at) * B + b)) : <f32>at);
    }
  }
}

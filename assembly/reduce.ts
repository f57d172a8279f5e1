// Reductions over the middle axis of a contiguous [A, R, B] array:
//   y[a, c, b] = reduce over r in chunk c of x[a, r, b]
// Chunks of RC elements along R are fixed by the shape alone, so each output is
// summed in the same order whatever the thread count; when R has more than one
// chunk the op layer combines the partial results with a second call.
// Sums, and max and min of values alone (NaN if any is NaN, as torch.amax),
// read each row of a [R, B] block once, contiguously. When indices are asked
// for, max and min track the index of the first maximum (NaN counts as the
// maximum, the first NaN wins), as PyTorch's max(dim) and argmax do.
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
 * Sum of len contiguous floats from q in a fixed order: 32 running lanes (lane
 * l takes the elements t with t % 32 == l; eight vectors, enough adds in flight
 * to run at load speed; the last whole vectors of four go to a0), folded
 * vector-wise as ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)), then lanes
 * (t0+t1)+(t2+t3), then the tail of up to three. The scalar sibling keeps
 * the same 32 sums and folds them alike: identical bits.
 */
@inline function sumRun<V>(q: usize, len: i32): f32 {
  let t = 0;
  let r: f32 = 0;
  if (isSimd<V>()) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (; t + 32 <= len; t += 32) {
      const b = q + f4(t);
      a0 = f32x4.add(a0, v128.load(b)); a1 = f32x4.add(a1, v128.load(b, 16));
      a2 = f32x4.add(a2, v128.load(b, 32)); a3 = f32x4.add(a3, v128.load(b, 48));
      a4 = f32x4.add(a4, v128.load(b, 64)); a5 = f32x4.add(a5, v128.load(b, 80));
      a6 = f32x4.add(a6, v128.load(b, 96)); a7 = f32x4.add(a7, v128.load(b, 112));
    }
    for (; t + 4 <= len; t += 4) a0 = f32x4.add(a0, v128.load(q + f4(t)));
    const s = f32x4.add(f32x4.add(f32x4.add(a0, a4), f32x4.add(a2, a6)), f32x4.add(f32x4.add(a1, a5), f32x4.add(a3, a7)));
    r = (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  } else {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0, s8: f32 = 0, s9: f32 = 0, s10: f32 = 0, s11: f32 = 0, s12: f32 = 0, s13: f32 = 0, s14: f32 = 0, s15: f32 = 0;
    let s16: f32 = 0, s17: f32 = 0, s18: f32 = 0, s19: f32 = 0, s20: f32 = 0, s21: f32 = 0, s22: f32 = 0, s23: f32 = 0, s24: f32 = 0, s25: f32 = 0, s26: f32 = 0, s27: f32 = 0, s28: f32 = 0, s29: f32 = 0, s30: f32 = 0, s31: f32 = 0;
    for (; t + 32 <= len; t += 32) {
      const b = q + f4(t);
      s0 += load<f32>(b); s1 += load<f32>(b, 4); s2 += load<f32>(b, 8); s3 += load<f32>(b, 12);
      s4 += load<f32>(b, 16); s5 += load<f32>(b, 20); s6 += load<f32>(b, 24); s7 += load<f32>(b, 28);
      s8 += load<f32>(b, 32); s9 += load<f32>(b, 36); s10 += load<f32>(b, 40); s11 += load<f32>(b, 44);
      s12 += load<f32>(b, 48); s13 += load<f32>(b, 52); s14 += load<f32>(b, 56); s15 += load<f32>(b, 60);
      s16 += load<f32>(b, 64); s17 += load<f32>(b, 68); s18 += load<f32>(b, 72); s19 += load<f32>(b, 76);
      s20 += load<f32>(b, 80); s21 += load<f32>(b, 84); s22 += load<f32>(b, 88); s23 += load<f32>(b, 92);
      s24 += load<f32>(b, 96); s25 += load<f32>(b, 100); s26 += load<f32>(b, 104); s27 += load<f32>(b, 108);
      s28 += load<f32>(b, 112); s29 += load<f32>(b, 116); s30 += load<f32>(b, 120); s31 += load<f32>(b, 124);
    }
    for (; t + 4 <= len; t += 4) {
      const b = q + f4(t);
      s0 += load<f32>(b); s1 += load<f32>(b, 4); s2 += load<f32>(b, 8); s3 += load<f32>(b, 12);
    }
    const u0 = ((s0 + s16) + (s8 + s24)) + ((s4 + s20) + (s12 + s28));
    const u1 = ((s1 + s17) + (s9 + s25)) + ((s5 + s21) + (s13 + s29));
    const u2 = ((s2 + s18) + (s10 + s26)) + ((s6 + s22) + (s14 + s30));
    const u3 = ((s3 + s19) + (s11 + s27)) + ((s7 + s23) + (s15 + s31));
    r = (u0 + u1) + (u2 + u3);
  }
  for (; t < len; t++) r += load<f32>(q + f4(t));
  return r;
}

/** max or min of two values, NaN if either is NaN (as torch.amax and amin). */
@inline function pick<V>(isMax: bool, a: V, b: V): V {
  if (isSimd<V>()) return isMax ? f32x4.max(a, b) : f32x4.min(a, b);
  return isMax ? max<f32>(a, b) : min<f32>(a, b);
}

/**
 * The running max (or min) m combined with v, for the hot loops: pmax/pmin (one
 * instruction each, where f32x4.max takes several) keep a NaN already in m, and
 * a NaN in v sets every bit of its lane (a NaN too), so NaN still wins.
 */
@inline function run4(isMax: bool, m: v128, v: v128): v128 {
  return v128.or(isMax ? f32x4.pmax(m, v) : f32x4.pmin(m, v), f32x4.ne(v, v));
}

/** Whether any of len contiguous floats from q is NaN. */
@inline function anyNan<V>(q: usize, len: i32): bool {
  let t = 0;
  if (isSimd<V>()) {
    let n = f32x4.splat(0);
    for (; t + 4 <= len; t += 4) { const v = v128.load(q + f4(t)); n = v128.or(n, f32x4.ne(v, v)); }
    if (v128.any_true(n)) return true;
  }
  for (; t < len; t++) { const v = load<f32>(q + f4(t)); if (v != v) return true; }
  return false;
}

/**
 * The max (or min) of len >= 1 contiguous floats from q, NaN if any is NaN.
 * The SIMD loop runs pmax/pmin (one instruction each, where f32x4.max takes
 * several), which skip a NaN operand, beside a running sum, which does not:
 * only when the sum ends NaN (a NaN, or infinities of both signs) are the
 * floats scanned for NaN.
 */
@inline function extremeRun<V>(isMax: bool, q: usize, len: i32): f32 {
  let t = 0;
  let r = load<f32>(q);
  if (isSimd<V>() && len >= 16) {
    let m0 = v128.load(q), m1 = v128.load(q, 16), m2 = v128.load(q, 32), m3 = v128.load(q, 48);
    let s0 = m0, s1 = m1, s2 = m2, s3 = m3;
    for (t = 16; t + 16 <= len; t += 16) {
      const b = q + f4(t);
      let v = v128.load(b);
      m0 = isMax ? f32x4.pmax(m0, v) : f32x4.pmin(m0, v); s0 = f32x4.add(s0, v);
      v = v128.load(b, 16);
      m1 = isMax ? f32x4.pmax(m1, v) : f32x4.pmin(m1, v); s1 = f32x4.add(s1, v);
      v = v128.load(b, 32);
      m2 = isMax ? f32x4.pmax(m2, v) : f32x4.pmin(m2, v); s2 = f32x4.add(s2, v);
      v = v128.load(b, 48);
      m3 = isMax ? f32x4.pmax(m3, v) : f32x4.pmin(m3, v); s3 = f32x4.add(s3, v);
    }
    const s = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
    if (v128.any_true(f32x4.ne(s, s)) && anyNan<V>(q, t)) return NaN;   // as below
    const m = pick<v128>(isMax, pick<v128>(isMax, m0, m1), pick<v128>(isMax, m2, m3));
    r = pick<f32>(isMax, pick<f32>(isMax, f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
      pick<f32>(isMax, f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  } else if (!isSimd<V>()) {
    let r1 = r, r2 = r, r3 = r;
    for (t = 1; t + 4 <= len; t += 4) {
      const b = q + f4(t);
      r = pick<f32>(isMax, r, load<f32>(b)); r1 = pick<f32>(isMax, r1, load<f32>(b, 4));
      r2 = pick<f32>(isMax, r2, load<f32>(b, 8)); r3 = pick<f32>(isMax, r3, load<f32>(b, 12));
    }
    r = pick<f32>(isMax, pick<f32>(isMax, r, r1), pick<f32>(isMax, r2, r3));
  }
  for (; t < len; t++) r = pick<f32>(isMax, r, load<f32>(q + f4(t)));
  return r != r ? NaN : r;   // one NaN, whichever path found it
}

/** NaN lanes of a as the one NaN the scalar paths store (SIMD and scalar builds agree bit for bit). */
@inline function oneNan(a: v128): v128 {
  return v128.bitselect(f32x4.splat(NaN), a, f32x4.ne(a, a));
}

/** acc combined with v: a sum, or a running max/min (see run4). */
@inline function comb4(op: i32, acc: v128, v: v128): v128 {
  return op == REDUCE_SUM ? f32x4.add(acc, v) : run4(op == REDUCE_MAX, acc, v);
}

/** The scalar sibling of comb4. */
@inline function comb1(op: i32, acc: f32, v: f32): f32 {
  return op == REDUCE_SUM ? acc + v : pick<f32>(op == REDUCE_MAX, acc, v);
}

/**
 * Columns b0..b1 of rows r0..r1 of the [R, B] block at x, combined row after
 * row into y[b0..b1] (a sum, or a max/min without indices), divided by divisor
 * at the end. Rows are read contiguously, up to four per pass over y (the first
 * pass starts from row r0 itself); each column is still combined in row order,
 * as a running value in a register would be.
 */
@inline function streamRows<V>(op: i32, x: usize, B: i32, r0: i32, r1: i32, b0: i32, b1: i32, y: usize, divisor: f32): void {
  const rs = f4(B);
  let from = x + f4(r0 * B);       // the running values: row r0, then y
  let r = r0 + 1;
  while (true) {
    const n = r1 - r < 4 ? r1 - r : 4, last = r + n == r1;
    const q = x + f4(r * B);
    const dv = last ? divisor : 1;
    let b = b0;
    if (isSimd<V>()) {
      const d4 = f32x4.splat(dv);
      if (n == 4) {
        for (; b + 8 <= b1; b += 8) {
          const s = q + f4(b);
          let a0 = v128.load(from + f4(b)), a1 = v128.load(from + f4(b), 16);
          a0 = comb4(op, a0, v128.load(s)); a1 = comb4(op, a1, v128.load(s, 16));
          a0 = comb4(op, a0, v128.load(s + rs)); a1 = comb4(op, a1, v128.load(s + rs, 16));
          a0 = comb4(op, a0, v128.load(s + 2 * rs)); a1 = comb4(op, a1, v128.load(s + 2 * rs, 16));
          a0 = comb4(op, a0, v128.load(s + 3 * rs)); a1 = comb4(op, a1, v128.load(s + 3 * rs, 16));
          if (dv != 1) { a0 = f32x4.div(a0, d4); a1 = f32x4.div(a1, d4); }
          if (last && op != REDUCE_SUM) { a0 = oneNan(a0); a1 = oneNan(a1); }
          v128.store(y + f4(b), a0); v128.store(y + f4(b), a1, 16);
        }
      }
      for (; b + 4 <= b1; b += 4) {
        let a = v128.load(from + f4(b));
        for (let k = 0; k < n; k++) a = comb4(op, a, v128.load(q + <usize>k * rs + f4(b)));
        if (dv != 1) a = f32x4.div(a, d4);
        if (last && op != REDUCE_SUM) a = oneNan(a);
        v128.store(y + f4(b), a);
      }
    }
    for (; b < b1; b++) {
      let a = load<f32>(from + f4(b));
      for (let k = 0; k < n; k++) a = comb1(op, a, load<f32>(q + <usize>k * rs + f4(b)));
      if (dv != 1) a /= dv;
      store<f32>(y + f4(b), last && op != REDUCE_SUM && a != a ? NaN : a);
    }
    if (last) break;
    from = y;
    r += n;
  }
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
      streamRows<V>(REDUCE_SUM, x + f4(a * R * B), B, r0, r1, b0, b1, y + f4(out), divisor);
      continue;
    }
    // max / min of values alone (no indices in or out): order does not matter
    if (!xi && !yi) {
      // Constant op arguments, so that each inlined copy runs only its own instructions.
      const xa = x + f4(a * R * B), ya = y + f4(out);
      if (B == 1) store<f32>(ya, (isMax ? extremeRun<V>(true, xa + f4(r0), r1 - r0) : extremeRun<V>(false, xa + f4(r0), r1 - r0)) / divisor);
      else if (isMax) streamRows<V>(REDUCE_MAX, xa, B, r0, r1, b0, b1, ya, divisor);
      else streamRows<V>(REDUCE_MIN, xa, B, r0, r1, b0, b1, ya, divisor);
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

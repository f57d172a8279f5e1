// softmax and log_softmax over the middle axis R of a contiguous [A, R, B]
// array, and their gradients, as PyTorch computes them:
//   softmax:      y = exp(x - max) / sum(exp(x - max))   (times the reciprocal)
//   log_softmax:  y = (x - max) - log(sum(exp(x - max)))
//   gradients:    softmax dx = y * (g - sum(g * y)),  log_softmax dx = g - exp(y) * sum(g)
// A row holding NaN or +inf, or only -inf, gives NaN throughout, as in PyTorch.
// Rows (B = 1) are contiguous: the SIMD kernel sums them in eight running lanes
// folded in a fixed order, which the scalar sibling reproduces with eight
// accumulators. Columns (B > 1) are summed one by one down R, four columns a vector.
import { SoftmaxP, BB } from './generated/params';
import { isSimd, expS, expV, logS, logV } from './math';

@inline function f4(i: i32): usize { return <usize>i << 2; }

/** The largest of n contiguous floats (the one NaN constant if any is NaN; the same in any order). */
@inline export function rowMax<V>(q: usize, n: i32): f32 {
  let i = 0;
  let m: f32 = -Infinity;
  if (isSimd<V>() && n >= 4) {
    let mv = v128.load(q);
    for (i = 4; i + 4 <= n; i += 4) mv = f32x4.max(mv, v128.load(q + f4(i)));
    m = Mathf.max(Mathf.max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)),
                  Mathf.max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  }
  for (; i < n; i++) m = Mathf.max(m, load<f32>(q + f4(i)));
  // One NaN for every order of evaluation (f32.max may return any NaN).
  return m != m ? NaN : m;
}

/** Folds eight running sums as sumRun in reduce.ts: ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)). */
@inline function fold(a0: v128, a1: v128): f32 {
  const s = f32x4.add(a0, a1);
  return (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
}

/**
 * sum of exp(q[i] - m) over n contiguous floats, in the fixed order of eight
 * lanes then the tail; stores each exp at o when `keep`.
 */
@inline export function rowExpSum<V>(q: usize, o: usize, n: i32, m: f32, keep: bool): f32 {
  let i = 0;
  let r: f32 = 0;
  if (isSimd<V>()) {
    const mv = f32x4.splat(m);
    let a0 = f32x4.splat(0), a1 = a0;
    for (; i + 8 <= n; i += 8) {
      const e0 = expV(f32x4.sub(v128.load(q + f4(i)), mv));
      const e1 = expV(f32x4.sub(v128.load(q + f4(i), 16), mv));
      if (keep) { v128.store(o + f4(i), e0); v128.store(o + f4(i), e1, 16); }
      a0 = f32x4.add(a0, e0); a1 = f32x4.add(a1, e1);
    }
    r = fold(a0, a1);
  } else {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
    for (; i + 8 <= n; i += 8) {
      const b = q + f4(i);
      const e0 = expS(load<f32>(b) - m), e1 = expS(load<f32>(b, 4) - m), e2 = expS(load<f32>(b, 8) - m), e3 = expS(load<f32>(b, 12) - m);
      const e4 = expS(load<f32>(b, 16) - m), e5 = expS(load<f32>(b, 20) - m), e6 = expS(load<f32>(b, 24) - m), e7 = expS(load<f32>(b, 28) - m);
      if (keep) {
        const c = o + f4(i);
        store<f32>(c, e0); store<f32>(c, e1, 4); store<f32>(c, e2, 8); store<f32>(c, e3, 12);
        store<f32>(c, e4, 16); store<f32>(c, e5, 20); store<f32>(c, e6, 24); store<f32>(c, e7, 28);
      }
      s0 += e0; s1 += e1; s2 += e2; s3 += e3; s4 += e4; s5 += e5; s6 += e6; s7 += e7;
    }
    r = ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7));
  }
  for (; i < n; i++) {
    const e = expS(load<f32>(q + f4(i)) - m);
    if (keep) store<f32>(o + f4(i), e);
    r += e;
  }
  return r;
}

/** sum of a[i] (times b[i] when `prod`) over n contiguous floats, in the fixed order of rowExpSum. */
@inline function rowSum<V>(a: usize, b: usize, n: i32, prod: bool): f32 {
  let i = 0;
  let r: f32 = 0;
  if (isSimd<V>()) {
    let a0 = f32x4.splat(0), a1 = a0;
    for (; i + 8 <= n; i += 8) {
      let v0 = v128.load(a + f4(i)), v1 = v128.load(a + f4(i), 16);
      if (prod) { v0 = f32x4.mul(v0, v128.load(b + f4(i))); v1 = f32x4.mul(v1, v128.load(b + f4(i), 16)); }
      a0 = f32x4.add(a0, v0); a1 = f32x4.add(a1, v1);
    }
    r = fold(a0, a1);
  } else {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
    for (; i + 8 <= n; i += 8) {
      const p = a + f4(i), q = b + f4(i);
      if (prod) {
        s0 += load<f32>(p) * load<f32>(q); s1 += load<f32>(p, 4) * load<f32>(q, 4);
        s2 += load<f32>(p, 8) * load<f32>(q, 8); s3 += load<f32>(p, 12) * load<f32>(q, 12);
        s4 += load<f32>(p, 16) * load<f32>(q, 16); s5 += load<f32>(p, 20) * load<f32>(q, 20);
        s6 += load<f32>(p, 24) * load<f32>(q, 24); s7 += load<f32>(p, 28) * load<f32>(q, 28);
      } else {
        s0 += load<f32>(p); s1 += load<f32>(p, 4); s2 += load<f32>(p, 8); s3 += load<f32>(p, 12);
        s4 += load<f32>(p, 16); s5 += load<f32>(p, 20); s6 += load<f32>(p, 24); s7 += load<f32>(p, 28);
      }
    }
    r = ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7));
  }
  for (; i < n; i++) r += prod ? load<f32>(a + f4(i)) * load<f32>(b + f4(i)) : load<f32>(a + f4(i));
  return r;
}

/** One contiguous row of R: forward (x into y) or backward (x = the forward's y, g into y). */
@inline function row<V>(x: usize, g: usize, y: usize, R: i32, log: bool, back: bool): void {
  let i = 0;
  if (!back) {
    const m = rowMax<V>(x, R);
    const s = rowExpSum<V>(x, y, R, m, !log);
    if (log) {
      const l = logS(s);
      if (isSimd<V>()) {
        const mv = f32x4.splat(m), lv = f32x4.splat(l);
        for (; i + 4 <= R; i += 4) v128.store(y + f4(i), f32x4.sub(f32x4.sub(v128.load(x + f4(i)), mv), lv));
      }
      for (; i < R; i++) store<f32>(y + f4(i), (load<f32>(x + f4(i)) - m) - l);
    } else {
      const inv = <f32>1 / s;
      if (isSimd<V>()) {
        const iv = f32x4.splat(inv);
        for (; i + 4 <= R; i += 4) v128.store(y + f4(i), f32x4.mul(v128.load(y + f4(i)), iv));
      }
      for (; i < R; i++) store<f32>(y + f4(i), load<f32>(y + f4(i)) * inv);
    }
    return;
  }
  if (log) {
    // dx = g - exp(y) * sum(g)
    const s = rowSum<V>(g, 0, R, false);
    if (isSimd<V>()) {
      const sv = f32x4.splat(s);
      for (; i + 4 <= R; i += 4) {
        v128.store(y + f4(i), f32x4.sub(v128.load(g + f4(i)), f32x4.mul(expV(v128.load(x + f4(i))), sv)));
      }
    }
    for (; i < R; i++) store<f32>(y + f4(i), load<f32>(g + f4(i)) - expS(load<f32>(x + f4(i))) * s);
  } else {
    // dx = y * (g - sum(g * y))
    const s = rowSum<V>(g, x, R, true);
    if (isSimd<V>()) {
      const sv = f32x4.splat(s);
      for (; i + 4 <= R; i += 4) {
        v128.store(y + f4(i), f32x4.mul(v128.load(x + f4(i)), f32x4.sub(v128.load(g + f4(i)), sv)));
      }
    }
    for (; i < R; i++) store<f32>(y + f4(i), load<f32>(x + f4(i)) * (load<f32>(g + f4(i)) - s));
  }
}

/** Four columns b..b+3 of an [R, B] slab (x, g, y at the slab's column b), each summed down R in order. */
@inline function columns4(x: usize, g: usize, y: usize, R: i32, B: i32, log: bool, back: bool): void {
  const st = f4(B);
  const zero = f32x4.splat(0), one = f32x4.splat(1);
  if (!back) {
    let m = v128.load(x);
    for (let r = 1; r < R; r++) m = f32x4.max(m, v128.load(x + <usize>r * st));
    m = v128.bitselect(f32x4.splat(NaN), m, f32x4.ne(m, m));
    let s = zero;
    for (let r = 0; r < R; r++) {
      const e = expV(f32x4.sub(v128.load(x + <usize>r * st), m));
      if (!log) v128.store(y + <usize>r * st, e);
      s = f32x4.add(s, e);
    }
    if (log) {
      const l = logV(s);
      for (let r = 0; r < R; r++) v128.store(y + <usize>r * st, f32x4.sub(f32x4.sub(v128.load(x + <usize>r * st), m), l));
    } else {
      const inv = f32x4.div(one, s);
      for (let r = 0; r < R; r++) v128.store(y + <usize>r * st, f32x4.mul(v128.load(y + <usize>r * st), inv));
    }
    return;
  }
  let s = zero;
  if (log) {
    for (let r = 0; r < R; r++) s = f32x4.add(s, v128.load(g + <usize>r * st));
    for (let r = 0; r < R; r++) {
      const o = <usize>r * st;
      v128.store(y + o, f32x4.sub(v128.load(g + o), f32x4.mul(expV(v128.load(x + o)), s)));
    }
  } else {
    for (let r = 0; r < R; r++) s = f32x4.add(s, f32x4.mul(v128.load(g + <usize>r * st), v128.load(x + <usize>r * st)));
    for (let r = 0; r < R; r++) {
      const o = <usize>r * st;
      v128.store(y + o, f32x4.mul(v128.load(x + o), f32x4.sub(v128.load(g + o), s)));
    }
  }
}

/** One column of an [R, B] slab: the scalar sibling of one lane of columns4. */
@inline function column(x: usize, g: usize, y: usize, R: i32, B: i32, log: bool, back: bool): void {
  const st = f4(B);
  if (!back) {
    let m: f32 = -Infinity;
    for (let r = 0; r < R; r++) m = Mathf.max(m, load<f32>(x + <usize>r * st));
    if (m != m) m = NaN;
    let s: f32 = 0;
    for (let r = 0; r < R; r++) {
      const e = expS(load<f32>(x + <usize>r * st) - m);
      if (!log) store<f32>(y + <usize>r * st, e);
      s += e;
    }
    if (log) {
      const l = logS(s);
      for (let r = 0; r < R; r++) store<f32>(y + <usize>r * st, (load<f32>(x + <usize>r * st) - m) - l);
    } else {
      const inv = <f32>1 / s;
      for (let r = 0; r < R; r++) store<f32>(y + <usize>r * st, load<f32>(y + <usize>r * st) * inv);
    }
    return;
  }
  let s: f32 = 0;
  if (log) {
    for (let r = 0; r < R; r++) s += load<f32>(g + <usize>r * st);
    for (let r = 0; r < R; r++) {
      const o = <usize>r * st;
      store<f32>(y + o, load<f32>(g + o) - expS(load<f32>(x + o)) * s);
    }
  } else {
    for (let r = 0; r < R; r++) s += load<f32>(g + <usize>r * st) * load<f32>(x + <usize>r * st);
    for (let r = 0; r < R; r++) {
      const o = <usize>r * st;
      store<f32>(y + o, load<f32>(x + o) * (load<f32>(g + o) - s));
    }
  }
}

/**
 * softmax / log_softmax (log) or their gradient (backward) over R of [A, R, B].
 * Units: A * ceil(B / BB); unit u covers slab a = u / ceil(B / BB) and its
 * columns [bb * BB, (bb + 1) * BB) (the whole row when B = 1).
 */
export function softmax<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const R = SoftmaxP.R(p), B = SoftmaxP.B(p);
  const log = SoftmaxP.log(p) != 0, back = SoftmaxP.backward(p) != 0;
  const x = SoftmaxP.x(p), g = SoftmaxP.g(p), y = SoftmaxP.y(p);
  const nbb = (B + BB - 1) / BB;
  for (let u = begin; u < end; u++) {
    const a = u / nbb, bb = u % nbb;
    const slab = f4(a * R * B);
    if (B == 1) {
      row<V>(x + slab, g + slab, y + slab, R, log, back);
      continue;
    }
    const b1 = (bb + 1) * BB < B ? (bb + 1) * BB : B;
    let b = bb * BB;
    if (isSimd<V>()) {
      for (; b + 4 <= b1; b += 4) columns4(x + slab + f4(b), g + slab + f4(b), y + slab + f4(b), R, B, log, back);
    }
    for (; b < b1; b++) column(x + slab + f4(b), g + slab + f4(b), y + slab + f4(b), R, B, log, back);
  }
}

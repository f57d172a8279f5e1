// The second pass of var and std: sums of squared deviations from a given mean
// over the middle axis of a contiguous [A, R, B] array,
//   y[a, c, b] = sum over r in chunk c of (x[a, r, b] - m[a, b])^2,
// in the fixed chunks of RC along R that the reductions use (assembly/reduce.ts),
// so each result is summed in the same order whatever the thread count; the op
// layer adds the chunks' partial sums with the reduce family. A SIMD kernel
// and its scalar sibling make the same additions in the same order (no fused
// multiply-add, so relaxed-SIMD builds give the same bits too).
import { SqDevP, BB } from './generated/params';
import { isSimd } from './math';

@inline function f4(i: i32): usize { return <usize>i << 2; }
@inline function sq(v: f32, m: f32): f32 { const d = v - m; return d * d; }

/**
 * The sum of (q[t] - m)^2 for t < len, in a fixed order: eight running lanes
 * (element t in lane t % 8), folded (l0+l4, l1+l5, l2+l6, l3+l7), then
 * (t0+t1)+(t2+t3), then the tail in order (as the reductions' sumRun).
 */
@inline function sqDevRun<V>(q: usize, len: i32, m: f32): f32 {
  let t = 0;
  let r: f32 = 0;
  if (isSimd<V>()) {
    const mv = f32x4.splat(m);
    let a0 = f32x4.splat(0), a1 = a0;
    for (; t + 8 <= len; t += 8) {
      const d0 = f32x4.sub(v128.load(q + f4(t)), mv), d1 = f32x4.sub(v128.load(q + f4(t), 16), mv);
      a0 = f32x4.add(a0, f32x4.mul(d0, d0));
      a1 = f32x4.add(a1, f32x4.mul(d1, d1));
    }
    const s = f32x4.add(a0, a1);
    r = (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  } else {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
    for (; t + 8 <= len; t += 8) {
      const b = q + f4(t);
      s0 += sq(load<f32>(b), m); s1 += sq(load<f32>(b, 4), m); s2 += sq(load<f32>(b, 8), m); s3 += sq(load<f32>(b, 12), m);
      s4 += sq(load<f32>(b, 16), m); s5 += sq(load<f32>(b, 20), m); s6 += sq(load<f32>(b, 24), m); s7 += sq(load<f32>(b, 28), m);
    }
    r = ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7));
  }
  for (; t < len; t++) r += sq(load<f32>(q + f4(t)), m);
  return r;
}

/**
 * x: [A, R, B]; m: the means [A, B]; y: [A, nchunk, B], nchunk = ceil(R / RC).
 * Units: A * nchunk * ceil(B / BB) (unit u: column block u % nbb, then chunk, then a).
 */
export function sqDev<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const A = SqDevP.A(p), R = SqDevP.R(p), B = SqDevP.B(p), RC = SqDevP.RC(p);
  const x = SqDevP.x(p), mp = SqDevP.m(p), y = SqDevP.y(p);
  const nchunk = (R + RC - 1) / RC, nbb = (B + BB - 1) / BB;
  for (let u = begin; u < end; u++) {
    const bb = u % nbb, t = u / nbb, c = t % nchunk, a = t / nchunk;
    const r0 = c * RC, r1 = r0 + RC < R ? r0 + RC : R;
    const b0 = bb * BB, b1 = b0 + BB < B ? b0 + BB : B;
    const out = (a * nchunk + c) * B;
    if (B == 1) {
      store<f32>(y + f4(out), sqDevRun<V>(x + f4(a * R + r0), r1 - r0, load<f32>(mp + f4(a))));
      continue;
    }
    let b = b0;
    if (isSimd<V>()) {
      for (; b + 4 <= b1; b += 4) {
        const mv = v128.load(mp + f4(a * B + b));
        let q = x + f4((a * R + r0) * B + b);
        let d = f32x4.sub(v128.load(q), mv);
        let acc = f32x4.mul(d, d);
        for (let r = r0 + 1; r < r1; r++) {
          q += f4(B);
          d = f32x4.sub(v128.load(q), mv);
          acc = f32x4.add(acc, f32x4.mul(d, d));
        }
        v128.store(y + f4(out + b), acc);
      }
    }
    for (; b < b1; b++) {
      const m = load<f32>(mp + f4(a * B + b));
      let q = x + f4((a * R + r0) * B + b);
      let s = sq(load<f32>(q), m);
      for (let r = r0 + 1; r < r1; r++) { q += f4(B); s += sq(load<f32>(q), m); }
      store<f32>(y + f4(out + b), s);
    }
  }
}

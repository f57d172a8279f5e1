// softplus(x) = log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold
// (as torch.nn.functional.softplus); the same family computes its gradient,
// g * exp(beta * x) / (exp(beta * x) + 1) (g where beta * x > threshold).
import { SoftplusP, CHUNK } from './generated/params';
import { isSimd, expS, expV, logS, logV } from './math';

@inline function f4(i: i32): usize { return <usize>i << 2; }

/** log(1 + u) for u >= 0, accurate for tiny u: log(w) * u / (w - 1) with w = 1 + u (exact when w == 1). */
@inline function log1pS(u: f32): f32 {
  const w = <f32>1 + u;
  return w == 1 ? u : logS(w) * u / (w - <f32>1);
}
@inline function log1pV(u: v128): v128 {
  const one = f32x4.splat(1);
  const w = f32x4.add(one, u);
  const r = f32x4.div(f32x4.mul(logV(w), u), f32x4.sub(w, one));
  return v128.bitselect(u, r, f32x4.eq(w, one));
}

@inline function forwardS(x: f32, beta: f32, threshold: f32): f32 {
  const t = x * beta;
  return t > threshold ? x : log1pS(expS(t)) / beta;
}
@inline function backwardS(x: f32, g: f32, beta: f32, threshold: f32): f32 {
  const t = x * beta;
  if (t > threshold) return g;
  const z = expS(t);
  return g * z / (z + <f32>1);
}

/**
 * Forward (backward = 0): y = softplus(x). Backward (backward = 1): y = the
 * gradient for the incoming gradient g. Units: chunks of CHUNK elements.
 */
export function softplus<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const n = SoftplusP.n(p), beta = SoftplusP.beta(p), threshold = SoftplusP.threshold(p);
  const back = SoftplusP.backward(p) != 0;
  const x = SoftplusP.x(p), g = SoftplusP.g(p), y = SoftplusP.y(p);
  const i1 = end * CHUNK < n ? end * CHUNK : n;
  let i = begin * CHUNK;
  if (isSimd<V>()) {
    const vb = f32x4.splat(beta), vt = f32x4.splat(threshold), one = f32x4.splat(1);
    for (; i + 4 <= i1; i += 4) {
      const xv = v128.load(x + f4(i));
      const t = f32x4.mul(xv, vb);
      const big = f32x4.gt(t, vt);
      const z = expV(t);
      if (back) {
        const gv = v128.load(g + f4(i));
        v128.store(y + f4(i), v128.bitselect(gv, f32x4.div(f32x4.mul(gv, z), f32x4.add(z, one)), big));
      } else {
        v128.store(y + f4(i), v128.bitselect(xv, f32x4.div(log1pV(z), vb), big));
      }
    }
  }
  for (; i < i1; i++) {
    const xv = load<f32>(x + f4(i));
    store<f32>(y + f4(i), back ? backwardS(xv, load<f32>(g + f4(i)), beta, threshold) : forwardS(xv, beta, threshold));
  }
}

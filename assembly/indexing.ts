// Index kernels over float32 indices (whole numbers, exact up to 2^24): the
// range check that ops run before using indices, torch.gather and its
// scatter-add gradient, and one_hot.
import { IndexCheckP, GatherP, OneHotP, CHUNK } from './generated/params';
import { isSimd } from './math';

@inline function f4(i: i32): usize { return <usize>i << 2; }

/** Whether v is a whole number in [0, hi), or the ignored value. */
@inline function valid(v: f32, hi: f32, useIgnore: bool, ignore: f32): bool {
  return (v == Mathf.floor(v) && v >= 0 && v < hi) || (useIgnore && v == ignore);
}

/**
 * y[u] = the offset within chunk u (CHUNK values) of its first value that is
 * not `valid`, or -1. Units: chunks.
 */
export function indexCheck<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const n = IndexCheckP.n(p), hi = <f32>IndexCheckP.hi(p);
  const useIgnore = IndexCheckP.useIgnore(p) != 0, ignore = IndexCheckP.ignore(p);
  const x = IndexCheckP.x(p), y = IndexCheckP.y(p);
  for (let u = begin; u < end; u++) {
    const i0 = u * CHUNK, i1 = i0 + CHUNK < n ? i0 + CHUNK : n;
    let i = i0;
    let bad = -1;
    if (isSimd<V>()) {
      const hv = f32x4.splat(hi), zero = f32x4.splat(0), iv = f32x4.splat(ignore);
      for (; i + 4 <= i1; i += 4) {
        const v = v128.load(x + f4(i));
        let ok = v128.and(v128.and(f32x4.eq(v, f32x4.floor(v)), f32x4.ge(v, zero)), f32x4.lt(v, hv));
        if (useIgnore) ok = v128.or(ok, f32x4.eq(v, iv));
        if (!i32x4.all_true(ok)) break; // the scalar loop below finds the lane
      }
    }
    for (; i < i1; i++) {
      if (!valid(load<f32>(x + f4(i)), hi, useIgnore, ignore)) { bad = i - i0; break; }
    }
    store<f32>(y + f4(u), <f32>bad);
  }
}

/**
 * Forward (backward 0): y[i] = x[off(i) + idx[i] * sd] for the n outputs of
 * the index space (shape, x strides st; idx and y contiguous); units: chunks
 * of CHUNK outputs. Backward (backward 1): for each of n lines of the line
 * space (shape, x strides st, index strides sg), y[offx + idx[offg + j*sj] * sd]
 * += g[offg + j*sj] for j = 0 .. J-1 in order (lines own disjoint outputs);
 * units: lines. ws: the multi-index.
 */
export function gather<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const nd = GatherP.ndim(p), n = GatherP.n(p), sd = GatherP.sd(p);
  const x = GatherP.x(p), idx = GatherP.idx(p), y = GatherP.y(p);
  if (GatherP.backward(p) != 0) {
    const J = GatherP.J(p), sj = GatherP.sj(p), g = GatherP.g(p);
    for (let u = begin; u < end; u++) {
      let rest = u, ox = 0, og = 0;
      for (let d = nd - 1; d >= 0; d--) {
        const s = GatherP.shape(p, d), k = rest % s;
        rest = rest / s;
        ox += k * GatherP.st(p, d); og += k * GatherP.sg(p, d);
      }
      for (let j = 0; j < J; j++) {
        const at = og + j * sj;
        const q = y + f4(ox + <i32>load<f32>(idx + f4(at)) * sd);
        store<f32>(q, load<f32>(q) + load<f32>(g + f4(at)));
      }
    }
    return;
  }
  const i0 = begin * CHUNK;
  const i1 = end * CHUNK < n ? end * CHUNK : n;
  if (i0 >= i1) return;
  const inner = GatherP.shape(p, nd - 1), s0 = GatherP.st(p, nd - 1);
  let rest = i0 / inner, off = 0;
  for (let d = nd - 2; d >= 0; d--) {
    const s = GatherP.shape(p, d), k = rest % s;
    rest = rest / s;
    store<i32>(ws + f4(d), k);
    off += k * GatherP.st(p, d);
  }
  let j = i0 % inner, i = i0;
  while (i < i1) {
    const len = inner - j < i1 - i ? inner - j : i1 - i;
    const src = off + j * s0;
    for (let t = 0; t < len; t++) {
      const k = <i32>load<f32>(idx + f4(i + t));
      store<f32>(y + f4(i + t), load<f32>(x + f4(src + t * s0 + k * sd)));
    }
    i += len; j = 0;
    for (let d = nd - 2; d >= 0; d--) {
      const k = load<i32>(ws + f4(d)) + 1, st = GatherP.st(p, d);
      if (k < GatherP.shape(p, d)) { store<i32>(ws + f4(d), k); off += st; break; }
      store<i32>(ws + f4(d), 0);
      off -= (k - 1) * st;
    }
  }
}

/** y[i, c] = 1 where c == idx[i], else 0, for K labels per unit (y is [n, C]). */
export function oneHot<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const n = OneHotP.n(p), C = OneHotP.C(p), K = OneHotP.K(p);
  const idx = OneHotP.idx(p), y = OneHotP.y(p);
  const i1 = end * K < n ? end * K : n;
  for (let i = begin * K; i < i1; i++) {
    const label = load<f32>(idx + f4(i));
    const row = y + f4(i * C);
    let c = 0;
    if (isSimd<V>()) {
      const lv = f32x4.splat(label), one = f32x4.splat(1), four = f32x4.splat(4);
      let cv = f32x4(0, 1, 2, 3);
      for (; c + 4 <= C; c += 4) {
        v128.store(row + f4(c), v128.and(f32x4.eq(cv, lv), one));
        cv = f32x4.add(cv, four);
      }
    }
    for (; c < C; c++) store<f32>(row + f4(c), <f32>c == label ? 1 : 0);
  }
}

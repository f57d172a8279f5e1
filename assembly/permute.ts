// Strided copy into a contiguous array: transpose, permute and materialised
// broadcasts. y[i0, ..., ik] = x[sum_d i_d * st_d], y contiguous in `shape`.
import { PermuteP, CHUNK } from './generated/params';
import { isSimd } from './math';

@inline function f4(i: i32): usize { return <usize>i << 2; }

/** Units: chunks of CHUNK output elements. ws: ndim i32 (the multi-index). */
export function permute<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const nd = PermuteP.ndim(p), n = PermuteP.n(p);
  const x = PermuteP.x(p), y = PermuteP.y(p);
  const i0 = begin * CHUNK;
  const i1 = end * CHUNK < n ? end * CHUNK : n;
  if (i0 >= i1) return;
  const inner = PermuteP.shape(p, nd - 1), s0 = PermuteP.st(p, nd - 1);
  let rest = i0 / inner, off = 0;
  for (let d = nd - 2; d >= 0; d--) {
    const s = PermuteP.shape(p, d), k = rest % s;
    rest = rest / s;
    store<i32>(ws + f4(d), k);
    off += k * PermuteP.st(p, d);
  }
  let j = i0 % inner, i = i0;
  while (i < i1) {
    const len = inner - j < i1 - i ? inner - j : i1 - i;
    const src = x + f4(off + j * s0), dst = y + f4(i);
    if (s0 == 1) memory.copy(dst, src, f4(len));
    else if (s0 == 0) {
      const v = load<f32>(src);
      let t = 0;
      if (isSimd<V>()) { const vv = f32x4.splat(v); for (; t + 4 <= len; t += 4) v128.store(dst + f4(t), vv); }
      for (; t < len; t++) store<f32>(dst + f4(t), v);
    } else {
      for (let t = 0; t < len; t++) store<f32>(dst + f4(t), load<f32>(src + f4(t * s0)));
    }
    i += len; j = 0;
    for (let d = nd - 2; d >= 0; d--) {
      const k = load<i32>(ws + f4(d)) + 1, st = PermuteP.st(p, d);
      if (k < PermuteP.shape(p, d)) { store<i32>(ws + f4(d), k); off += st; break; }
      store<i32>(ws + f4(d), 0);
      off -= (k - 1) * st;
    }
  }
}

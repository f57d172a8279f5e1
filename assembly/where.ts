// where(c, a, b): y = c != 0 ? a : b with NumPy broadcasting of all three,
// given as element strides in y's index space (0 where broadcast), like the
// binary family in elementwise.ts. a or b may be a scalar instead (flags bit 1:
// a is s0, bit 2: b is s1). A NaN condition counts as true, -0 as false, as a
// float turned into a bool in PyTorch.
import { WhereP, CHUNK } from './generated/params';
import { isSimd } from './math';

@inline function f4(i: i32): usize { return <usize>i << 2; }

/** One run of len outputs along the innermost dimension. */
@inline function whereRun<V>(pc: usize, pa: usize, pb: usize, py: usize, len: i32, sc: i32, sa: i32, sb: i32,
                             aS: bool, bS: bool, s0: f32, s1: f32): void {
  let t = 0;
  if (isSimd<V>() && (sc == 0 || sc == 1) && (sa == 0 || sa == 1) && (sb == 0 || sb == 1)) {
    const zero = f32x4.splat(0);
    const ca = sc == 0 ? v128.load32_splat(pc) : zero;
    const av0 = aS ? f32x4.splat(s0) : sa == 0 ? v128.load32_splat(pa) : zero;
    const bv0 = bS ? f32x4.splat(s1) : sb == 0 ? v128.load32_splat(pb) : zero;
    for (; t + 4 <= len; t += 4) {
      const cv = sc == 0 ? ca : v128.load(pc + f4(t));
      const av = aS || sa == 0 ? av0 : v128.load(pa + f4(t));
      const bv = bS || sb == 0 ? bv0 : v128.load(pb + f4(t));
      v128.store(py + f4(t), v128.bitselect(av, bv, f32x4.ne(cv, zero)));
    }
  }
  for (; t < len; t++) {
    const c = load<f32>(pc + f4(t * sc));
    const a = aS ? s0 : load<f32>(pa + f4(t * sa));
    const b = bS ? s1 : load<f32>(pb + f4(t * sb));
    store<f32>(py + f4(t), c != 0 ? a : b);
  }
}

/**
 * y = where(c, a, b) over n outputs in `shape` (ndim dims, outermost first,
 * y contiguous). Units: chunks of CHUNK outputs. ws: the outer multi-index.
 */
export function where<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const nd = WhereP.ndim(p), n = WhereP.n(p), flags = WhereP.flags(p);
  const aS = (flags & 1) != 0, bS = (flags & 2) != 0;
  const s0 = WhereP.s0(p), s1 = WhereP.s1(p);
  const c = WhereP.c(p), a = WhereP.a(p), b = WhereP.b(p), y = WhereP.y(p);
  const i0 = begin * CHUNK;
  const i1 = end * CHUNK < n ? end * CHUNK : n;
  if (i0 >= i1) return;
  const inner = WhereP.shape(p, nd - 1);
  const sc0 = WhereP.sc(p, nd - 1), sa0 = WhereP.sa(p, nd - 1), sb0 = WhereP.sb(p, nd - 1);
  let rest = i0 / inner;
  let oc = 0, oa = 0, ob = 0;
  for (let d = nd - 2; d >= 0; d--) {
    const s = WhereP.shape(p, d);
    const k = rest % s;
    rest = rest / s;
    store<i32>(ws + f4(d), k);
    oc += k * WhereP.sc(p, d); oa += k * WhereP.sa(p, d); ob += k * WhereP.sb(p, d);
  }
  let j = i0 % inner;
  let i = i0;
  while (i < i1) {
    const len = inner - j < i1 - i ? inner - j : i1 - i;
    whereRun<V>(c + f4(oc + j * sc0), a + f4(oa + j * sa0), b + f4(ob + j * sb0), y + f4(i), len, sc0, sa0, sb0, aS, bS, s0, s1);
    i += len; j = 0;
    for (let d = nd - 2; d >= 0; d--) {
      const k = load<i32>(ws + f4(d)) + 1;
      const sc = WhereP.sc(p, d), sa = WhereP.sa(p, d), sb = WhereP.sb(p, d);
      if (k < WhereP.shape(p, d)) { store<i32>(ws + f4(d), k); oc += sc; oa += sa; ob += sb; break; }
      store<i32>(ws + f4(d), 0);
      oc -= (k - 1) * sc; oa -= (k - 1) * sa; ob -= (k - 1) * sb;
    }
  }
}

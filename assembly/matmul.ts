// Batched matrix products with broadcasting: the GEMM family behind matmul and linear.
//
//   C[b] = init + sum over r of op(A[b, r]) @ op(B[b, r])
//
// op(A) is M x K: A stored [M][K] (ta = 0) or [K][M] (ta = 1, a transposed
// operand read in place); op(B) is K x N: B stored [K][N] (tb = 0) or [N][K]
// (tb = 1). b runs over the output batches (bdim dimensions bshape with element
// strides bsa, bsb, bsc; stride 0 where an operand is broadcast) and r over the
// reduction batches (rdim dimensions rshape, strides rsa, rsb): the batches a
// broadcast operand's gradient sums over. init is bias[j * bs] for column j
// (bs = 0: one value for every column) when bias != 0, else 0. C is [M][N] per
// batch, rows contiguous.
//
// Every element of C is summed as  s = init; for r ascending, for k ascending:
// s = s + a * b  (one rounding for the product, one for the sum; relaxed SIMD
// fuses them), whatever the tile, the k block or the thread, so the SIMD kernel
// and its scalar sibling agree bitwise and so do 1 and N threads.
//
// Work units: (output batch, block of MB rows, block of NB columns), each owning
// its block of C. A unit packs op(A) rows into panels [K][4] and op(B) columns
// into panels [K][8] (zero-padded), KC values of k at a time, and runs the
// register-blocked 4 x 8 f32x4 micro-kernel over them, continuing each block of
// k from the sums stored in C by the previous one.
import { GemmP } from './generated/params';
import { isSimd, madd, imin, f4 } from './common';

/** Bytes of a [kc][4] panel row and a [kc][8] panel row. */
const A_ROW: usize = 16, B_ROW: usize = 32;
/**
 * Bytes between consecutive panels beyond their data: panels of a power-of-two
 * size would put the stores of one packed row (one value of k for every panel)
 * in the same cache set.
 */
const GAP: usize = 64;

/** The n (0..4) floats at p in lanes 0..n-1, zeros after. */
@inline function loadLanes(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  if (n > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/**
 * Transposes the 4 x 4 block whose rows are r0..r3 and stores its columns at
 * dst, dst + step, dst + 2 step, dst + 3 step.
 */
@inline function transpose4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, step: usize): void {
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i64x2.shuffle(t0, t2, 0, 2));
  v128.store(dst + step, i64x2.shuffle(t0, t2, 1, 3));
  v128.store(dst + 2 * step, i64x2.shuffle(t1, t3, 0, 2));
  v128.store(dst + 3 * step, i64x2.shuffle(t1, t3, 1, 3));
}

/**
 * Packs rows m0..m0+mc of op(A), columns k0..k0+kc, into panels of 4 rows:
 * dst[panel][k][4] (panels GAP bytes apart), rows past mc zero.
 */
function packA<V>(a: usize, ta: bool, M: i32, K: i32, m0: i32, mc: i32, k0: i32, kc: i32, dst: usize): void {
  const pstep = <usize>kc * A_ROW + GAP;
  if (ta) {
    // A stored [K][M]: row k holds the block's mc values contiguously; each
    // row is read once, 4 values to each panel.
    const m4 = mc & ~3;
    let s = a + f4(k0 * M + m0);
    const step = f4(M);
    for (let k = 0; k < kc; k++) {
      let q = dst + <usize>k * A_ROW;
      let i = 0;
      if (isSimd<V>()) {
        for (; i < m4; i += 4) { v128.store(q, v128.load(s + f4(i))); q += pstep; }
      }
      for (; i < mc; i += 4) {
        const rows = imin(4, mc - i);
        for (let r = 0; r < 4; r++) store<f32>(q + f4(r), r < rows ? load<f32>(s + f4(i + r)) : 0);
        q += pstep;
      }
      s += step;
    }
    return;
  }
  // A stored [M][K]: each panel's 4 rows read along k and transposed 4 x 4 at a time.
  for (let ip = 0; ip < mc; ip += 4) {
    const rows = imin(4, mc - ip);
    const d = dst + <usize>(ip >> 2) * pstep;
    const s0 = a + f4((m0 + ip) * K + k0);
    const rs = f4(K);
    let k = 0;
    if (isSimd<V>() && rows == 4) {
      for (; k + 4 <= kc; k += 4) {
        const p = s0 + f4(k);
        transpose4(v128.load(p), v128.load(p + rs), v128.load(p + 2 * rs), v128.load(p + 3 * rs), d + <usize>k * A_ROW, A_ROW);
      }
    }
    for (; k < kc; k++) {
      const q = d + <usize>k * A_ROW;
      for (let r = 0; r < 4; r++) store<f32>(q + f4(r), r < rows ? load<f32>(s0 + <usize>r * rs + f4(k)) : 0);
    }
  }
}

/**
 * Packs columns n0..n0+nc of op(B), rows k0..k0+kc, into panels of 8 columns:
 * dst[panel][k][8] (panels GAP bytes apart), columns past nc zero.
 */
function packB<V>(b: usize, tb: bool, N: i32, K: i32, n0: i32, nc: i32, k0: i32, kc: i32, dst: usize): void {
  const pstep = <usize>kc * B_ROW + GAP;
  if (!tb) {
    // B stored [K][N]: row k holds the block's nc values contiguously; each
    // row is read once, 8 values to each panel.
    const n8 = nc & ~7;
    let s = b + f4(k0 * N + n0);
    const step = f4(N);
    for (let k = 0; k < kc; k++) {
      let q = dst + <usize>k * B_ROW;
      let j = 0;
      if (isSimd<V>()) {
        for (; j < n8; j += 8) {
          const p = s + f4(j);
          v128.store(q, v128.load(p)); v128.store(q, v128.load(p, 16), 16);
          q += pstep;
        }
      }
      for (; j < nc; j += 8) {
        const cols = imin(8, nc - j);
        for (let t = 0; t < 8; t++) store<f32>(q + f4(t), t < cols ? load<f32>(s + f4(j + t)) : 0);
        q += pstep;
      }
      s += step;
    }
    return;
  }
  // B stored [N][K]: each panel's 8 rows read along k, transposed 4 x 4 at a time.
  for (let jp = 0; jp < nc; jp += 8) {
    const cols = imin(8, nc - jp);
    const d = dst + <usize>(jp >> 3) * pstep;
    const s0 = b + f4((n0 + jp) * K + k0);
    const rs = f4(K);
    let k = 0;
    if (isSimd<V>() && cols == 8) {
      for (; k + 4 <= kc; k += 4) {
        const p = s0 + f4(k), q = d + <usize>k * B_ROW;
        transpose4(v128.load(p), v128.load(p + rs), v128.load(p + 2 * rs), v128.load(p + 3 * rs), q, B_ROW);
        const p4 = p + 4 * rs;
        transpose4(v128.load(p4), v128.load(p4 + rs), v128.load(p4 + 2 * rs), v128.load(p4 + 3 * rs), q + 16, B_ROW);
      }
    }
    for (; k < kc; k++) {
      const q = d + <usize>k * B_ROW;
      for (let j = 0; j < 8; j++) store<f32>(q + f4(j), j < cols ? load<f32>(s0 + <usize>j * rs + f4(k)) : 0);
    }
  }
}

/**
 * The SIMD micro-kernel: a full 4 x 8 tile of C at c (row stride cs bytes)
 * from the A panel a ([kc][4]) and the B panel b ([kc][8]). Accumulators start
 * at the tile's stored values (fromC) or at the 8 values at init (every row).
 */
function micro4x8(a: usize, b: usize, kc: i32, c: usize, cs: usize, fromC: bool, init: usize): void {
  let c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128;
  if (fromC) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + cs); c11 = v128.load(c + cs, 16);
    c20 = v128.load(c + 2 * cs); c21 = v128.load(c + 2 * cs, 16);
    c30 = v128.load(c + 3 * cs); c31 = v128.load(c + 3 * cs, 16);
  } else {
    c00 = v128.load(init); c01 = v128.load(init, 16);
    c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01;
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = madd(av, b0, c00); c01 = madd(av, b1, c01);
    av = v128.load32_splat(a, 4);
    c10 = madd(av, b0, c10); c11 = madd(av, b1, c11);
    av = v128.load32_splat(a, 8);
    c20 = madd(av, b0, c20); c21 = madd(av, b1, c21);
    av = v128.load32_splat(a, 12);
    c30 = madd(av, b0, c30); c31 = madd(av, b1, c31);
    a += A_ROW; b += B_ROW;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + cs, c10); v128.store(c + cs, c11, 16);
  v128.store(c + 2 * cs, c20); v128.store(c + 2 * cs, c21, 16);
  v128.store(c + 3 * cs, c30); v128.store(c + 3 * cs, c31, 16);
}

/**
 * The SIMD micro-kernel for one row (M = 1, vector-matrix products): 8 columns
 * from row `r` of the A panel, two accumulators. Same sums as micro4x8's row.
 */
function micro1x8(a: usize, b: usize, kc: i32, c: usize, fromC: bool, init: usize): void {
  let c0: v128, c1: v128;
  if (fromC) { c0 = v128.load(c); c1 = v128.load(c, 16); } else { c0 = v128.load(init); c1 = v128.load(init, 16); }
  for (let k = 0; k < kc; k++) {
    const av = v128.load32_splat(a);
    c0 = madd(av, v128.load(b), c0); c1 = madd(av, v128.load(b, 16), c1);
    a += 16; b += 32;
  }
  v128.store(c, c0); v128.store(c, c1, 16);
}

/**
 * The SIMD micro-kernel for narrow edges (at most 4 columns): columns 0..3 of
 * the 8-wide B panel, four accumulators. Same sums as micro4x8's lanes 0..3.
 */
function micro4x4(a: usize, b: usize, kc: i32, c: usize, cs: usize, fromC: bool, init: usize): void {
  let c0: v128, c1: v128, c2: v128, c3: v128;
  if (fromC) {
    c0 = v128.load(c); c1 = v128.load(c + cs); c2 = v128.load(c + 2 * cs); c3 = v128.load(c + 3 * cs);
  } else {
    c0 = v128.load(init); c1 = c0; c2 = c0; c3 = c0;
  }
  for (let k = 0; k < kc; k++) {
    const bv = v128.load(b);
    c0 = madd(v128.load32_splat(a), bv, c0);
    c1 = madd(v128.load32_splat(a, 4), bv, c1);
    c2 = madd(v128.load32_splat(a, 8), bv, c2);
    c3 = madd(v128.load32_splat(a, 12), bv, c3);
    a += A_ROW; b += B_ROW;
  }
  v128.store(c, c0); v128.store(c + cs, c1); v128.store(c + 2 * cs, c2); v128.store(c + 3 * cs, c3);
}

/**
 * A tile of rows x cols (at most 4 x 8) of C at c, SIMD: full tiles in place
 * (4 x 8, 1 x 8, 4 x 4), the others through the 4 x 8 scratch tile t (rows of
 * 32 bytes), on the narrowest micro-kernel that covers them.
 */
@inline function tileSimd(a: usize, b: usize, kc: i32, c: usize, cs: usize, rows: i32, cols: i32,
                          fromC: bool, init: usize, t: usize): void {
  if (cols == 8) {
    if (rows == 4) { micro4x8(a, b, kc, c, cs, fromC, init); return; }
    if (rows == 1) { micro1x8(a, b, kc, c, fromC, init); return; }
  } else if (cols == 4 && rows == 4) { micro4x4(a, b, kc, c, cs, fromC, init); return; }
  if (fromC) {
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) store<f32>(t + <usize>r * B_ROW + f4(j), load<f32>(c + <usize>r * cs + f4(j)));
  }
  if (rows == 1) micro1x8(a, b, kc, t, fromC, init);
  else if (cols <= 4) micro4x4(a, b, kc, t, B_ROW, fromC, init);
  else micro4x8(a, b, kc, t, B_ROW, fromC, init);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) store<f32>(c + <usize>r * cs + f4(j), load<f32>(t + <usize>r * B_ROW + f4(j)));
}

/**
 * The scalar sibling of a tile: the same sums, element by element, four
 * columns of one row at a time (independent chains).
 */
function tileScalar(a: usize, b: usize, kc: i32, c: usize, cs: usize, rows: i32, cols: i32, fromC: bool, init: usize): void {
  for (let r = 0; r < rows; r++) {
    const cr = c + <usize>r * cs;
    for (let j = 0; j < cols; j += 4) {
      const jn = imin(4, cols - j);
      const cj = cr + f4(j);
      let s0: f32, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      if (fromC) {
        s0 = load<f32>(cj);
        if (jn > 1) s1 = load<f32>(cj, 4);
        if (jn > 2) s2 = load<f32>(cj, 8);
        if (jn > 3) s3 = load<f32>(cj, 12);
      } else {
        const q = init + f4(j);
        s0 = load<f32>(q); s1 = load<f32>(q, 4); s2 = load<f32>(q, 8); s3 = load<f32>(q, 12);
      }
      let pa = a + f4(r), pb = b + f4(j);
      for (let k = 0; k < kc; k++) {
        const av = load<f32>(pa);
        s0 = s0 + av * load<f32>(pb);
        s1 = s1 + av * load<f32>(pb, 4);
        s2 = s2 + av * load<f32>(pb, 8);
        s3 = s3 + av * load<f32>(pb, 12);
        pa += A_ROW; pb += B_ROW;
      }
      store<f32>(cj, s0);
      if (jn > 1) store<f32>(cj, s1, 4);
      if (jn > 2) store<f32>(cj, s2, 8);
      if (jn > 3) store<f32>(cj, s3, 12);
    }
  }
}

/**
 * C = init + sum_r op(A) @ op(B) over a range of work units (see the top of
 * this file). ws: MB / 4 panels of KC * 4 floats and NB / 8 panels of KC * 8
 * floats (each followed by a GAP of 16 floats), then a 4 x 8 scratch tile and
 * a row of 8 initial values.
 */
export function gemm<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const M = GemmP.M(p), N = GemmP.N(p), K = GemmP.K(p);
  const ta = GemmP.ta(p) != 0, tb = GemmP.tb(p) != 0;
  const MB = GemmP.MB(p), NB = GemmP.NB(p), KC = GemmP.KC(p);
  const bdim = GemmP.bdim(p), nr = GemmP.nr(p), rdim = GemmP.rdim(p);
  const a = GemmP.a(p), b = GemmP.b(p), bias = GemmP.bias(p), c = GemmP.c(p);
  const bs = GemmP.bs(p), bp = GemmP.bp(p);
  // Panels of a prepacked op(B) (gemmPackB): K rows of 8 floats and the gap.
  const bstep = <usize>K * B_ROW + GAP;
  const nmb = (M + MB - 1) / MB, nnb = (N + NB - 1) / NB;
  // No reduction batch (a broadcast dimension of size 0): the sums are empty.
  const R = nr > 0 ? nr : 1, Kx = nr > 0 ? K : 0;
  const Ap = ws, Bp = Ap + <usize>(MB >> 2) * (<usize>KC * A_ROW + GAP);
  const T = Bp + <usize>(NB >> 3) * (<usize>KC * B_ROW + GAP), I = T + 4 * B_ROW;
  const cs = f4(N);
  for (let u = begin; u < end; u++) {
    const jb = u % nnb, t = u / nnb, ib = t % nmb;
    let bi = t / nmb;
    let oa = 0, ob = 0, oc = 0;
    for (let d = bdim - 1; d >= 0; d--) {
      const s = GemmP.bshape(p, d), i = bi % s;
      bi /= s;
      oa += i * GemmP.bsa(p, d); ob += i * GemmP.bsb(p, d); oc += i * GemmP.bsc(p, d);
    }
    const m0 = ib * MB, mc = imin(MB, M - m0), n0 = jb * NB, nc = imin(NB, N - n0);
    const cb = c + f4(oc + m0 * N + n0);
    for (let r = 0; r < R; r++) {
      let ra = oa, rb = ob;
      if (nr > 0) {
        let ri = r;
        for (let d = rdim - 1; d >= 0; d--) {
          const s = GemmP.rshape(p, d), i = ri % s;
          ri /= s;
          ra += i * GemmP.rsa(p, d); rb += i * GemmP.rsb(p, d);
        }
      }
      let k0 = 0;
      do {
        const kc = imin(KC, Kx - k0);
        const first = r == 0 && k0 == 0;
        packA<V>(a + f4(ra), ta, M, K, m0, mc, k0, kc, Ap);
        if (bp == 0) packB<V>(b + f4(rb), tb, N, K, n0, nc, k0, kc, Bp);
        for (let jp = 0; jp < nc; jp += 8) {
          const cols = imin(8, nc - jp);
          if (first) {
            // The initial values of these 8 columns: bias or zeros.
            for (let j = 0; j < 8; j++) store<f32>(I + f4(j), bias && j < cols ? load<f32>(bias + f4((n0 + jp + j) * bs)) : 0);
          }
          const bpan = bp != 0
            ? bp + <usize>((n0 + jp) >> 3) * bstep + <usize>k0 * B_ROW
            : Bp + <usize>(jp >> 3) * (<usize>kc * B_ROW + GAP);
          for (let ip = 0; ip < mc; ip += 4) {
            const rows = imin(4, mc - ip);
            const apan = Ap + <usize>(ip >> 2) * (<usize>kc * A_ROW + GAP);
            const ct = cb + <usize>ip * cs + f4(jp);
            if (isSimd<V>()) tileSimd(apan, bpan, kc, ct, cs, rows, cols, !first, I, T);
            else tileScalar(apan, bpan, kc, ct, cs, rows, cols, !first, I);
          }
        }
        k0 += KC;
      } while (k0 < Kx);
    }
  }
}

/**
 * op(B) packed whole for gemm's bp: panel u (columns 8u..8u+7, zeros past N)
 * as [K][8] at c + u * (K * 32 + GAP) bytes, the same values packB gives every
 * block of k. Units: panels.
 */
export function gemmPackB<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const N = GemmP.N(p), K = GemmP.K(p), tb = GemmP.tb(p) != 0, b = GemmP.b(p), c = GemmP.c(p);
  const bstep = <usize>K * B_ROW + GAP;
  for (let u = begin; u < end; u++) {
    const n0 = u * 8;
    packB<V>(b, tb, N, K, n0, imin(8, N - n0), 0, K, c + <usize>u * bstep);
  }
}

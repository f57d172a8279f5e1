// index_select over the middle axis of a contiguous [A, R, B] array, and its
// gradient (index_add into zeros).
//
// Forward (backward = 0): y[a, i, b] = x[a, idx[i], b], y of shape [A, N, B];
// each output row is a copy of B floats (bulk memory for long rows).
// Backward (backward = 1): x holds the incoming gradient g [A, N, B] and y the
// input's gradient [A, R, B]: y[a, r, b] = 0 + sum of g[a, i, b] over the i
// with idx[i] = r, in ascending i. A unit owns a block of rows r of one a (and
// a chunk of columns) and scans every index for the rows it owns, so repeated
// indices are summed in the same order whatever the split over threads.
// The indices are whole numbers stored as float32 (exact up to 2^24), checked
// by the op before the call.
import { IndexSelectP } from './generated/params';
import { isSimd } from './math';
import { copyWords, zeroWords } from './row_copy';

@inline function f4(i: i32): usize { return <usize>i << 2; }
@inline function imin(a: i32, b: i32): i32 { return a < b ? a : b; }

/** dst[t] += src[t] for t < n, lane by lane (the SIMD and scalar sums are the same additions). */
@inline function addRun<V>(dst: usize, src: usize, n: i32): void {
  let t = 0;
  if (isSimd<V>()) {
    for (; t + 8 <= n; t += 8) {
      const d = dst + f4(t), s = src + f4(t);
      v128.store(d, f32x4.add(v128.load(d), v128.load(s)));
      v128.store(d, f32x4.add(v128.load(d, 16), v128.load(s, 16)), 16);
    }
    for (; t + 4 <= n; t += 4) {
      const d = dst + f4(t);
      v128.store(d, f32x4.add(v128.load(d), v128.load(src + f4(t))));
    }
  }
  for (; t < n; t++) {
    const d = dst + f4(t);
    store<f32>(d, load<f32>(d) + load<f32>(src + f4(t)));
  }
}

/**
 * Forward units: ceil(A * N / rpu) blocks of output rows times ceil(B / cpu)
 * column chunks. Backward units: A * ceil(R / rpu) blocks of gradient rows
 * times ceil(B / cpu) column chunks (unit u: column chunk u % nc).
 */
export function indexSelect<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const A = IndexSelectP.A(p), R = IndexSelectP.R(p), B = IndexSelectP.B(p), N = IndexSelectP.N(p);
  const rpu = IndexSelectP.rpu(p), cpu = IndexSelectP.cpu(p);
  const x = IndexSelectP.x(p), idx = IndexSelectP.idx(p), y = IndexSelectP.y(p);
  const nc = (B + cpu - 1) / cpu;
  if (IndexSelectP.backward(p) == 0) {
    const rows = A * N;
    for (let u = begin; u < end; u++) {
      const rb = u / nc, cc = u - rb * nc;
      const r0 = rb * rpu, r1 = imin(rows, r0 + rpu);
      const c0 = cc * cpu, len = imin(B, c0 + cpu) - c0;
      let a = r0 / N, i = r0 - a * N;
      for (let r = r0; r < r1; r++) {
        const j = <i32>load<f32>(idx + f4(i));
        copyWords<V>(y + f4(r * B + c0), x + f4((a * R + j) * B + c0), len);
        if (++i == N) { i = 0; a++; }
      }
    }
    return;
  }
  const nrb = (R + rpu - 1) / rpu;
  for (let u = begin; u < end; u++) {
    const t = u / nc, cc = u - t * nc;
    const a = t / nrb, rb = t - a * nrb;
    const r0 = rb * rpu, r1 = imin(R, r0 + rpu);
    const c0 = cc * cpu, len = imin(B, c0 + cpu) - c0;
    const base = y + f4(a * R * B + c0);
    for (let r = r0; r < r1; r++) zeroWords<V>(base + f4(r * B), len);
    const g = x + f4(a * N * B + c0);
    for (let i = 0; i < N; i++) {
      const j = <i32>load<f32>(idx + f4(i));
      if (j >= r0 && j < r1) addRun<V>(base + f4(j * B), g + f4(i * B), len);
    }
  }
}

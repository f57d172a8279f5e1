// The float64 definition of the matrix-product kernels.
import type { RefParams } from '../layout';
import type { Gemm } from '../registry';

/** Element offsets of batch index `i` over dimensions `shape` (last fastest) for each stride array. */
function offsets(i: number, n: number, shape: readonly number[], strides: ReadonlyArray<readonly number[]>): number[] {
  const out = strides.map(() => 0);
  for (let d = n - 1; d >= 0; d--) {
    const s = shape[d], j = i % s;
    i = Math.floor(i / s);
    strides.forEach((st, q) => { out[q] += j * st[d]; });
  }
  return out;
}

/**
 * C[b] = init + sum over reduction batches r of op(A[b, r]) @ op(B[b, r]),
 * op(A)[m][k] = A[m*K + k] (or A[k*M + m] when ta), op(B)[k][n] = B[k*N + n]
 * (or B[n*K + k] when tb), init = bias[n * bs] or 0.
 */
export function gemmRef(p: RefParams<typeof Gemm.fields>): void {
  const { M, N, K, ta, tb, nb, bdim, nr, rdim, bs } = p;
  const a = p.a!, b = p.b!, c = p.c!, bias = p.bias;
  for (let bi = 0; bi < nb; bi++) {
    const [oa, ob, oc] = offsets(bi, bdim, p.bshape, [p.bsa, p.bsb, p.bsc]);
    const rs: number[][] = [];
    for (let r = 0; r < nr; r++) {
      const [ra, rb] = offsets(r, rdim, p.rshape, [p.rsa, p.rsb]);
      rs.push([oa + ra, ob + rb]);
    }
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = bias ? bias[n * bs] : 0;
        for (const [xa, xb] of rs) {
          for (let k = 0; k < K; k++) {
            s += a[xa + (ta ? k * M + m : m * K + k)] * b[xb + (tb ? n * K + k : k * N + n)];
          }
        }
        c[oc + m * N + n] = s;
      }
    }
  }
}

/** gemm_pack_b: op(B) in panels of 8 columns, [K][8] each, K * 8 + 16 floats apart, zeros past N. */
export function gemmPackBRef(p: RefParams<typeof Gemm.fields>): void {
  const { N, K, tb } = p;
  const b = p.b!, c = p.c!;
  const step = K * 8 + 16;
  for (let u = 0; u * 8 < N; u++) {
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < 8; j++) {
        const n = u * 8 + j;
        c[u * step + k * 8 + j] = n < N ? b[tb ? n * K + k : k * N + n] : 0;
      }
    }
  }
}

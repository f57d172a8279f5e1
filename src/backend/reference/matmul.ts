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

// matmul and linear through the generic op harness (test/harness.ts): forward
// and backward on every build and thread count against the float64 reference,
// SIMD against scalar, 2 threads against 1, central differences on the small
// cases; shapes at the GEMM kernel's edges (4-row and 8-column tiles, 16- to
// 64-wide unit blocks, 256-long k blocks), every 1-D and broadcasting form of
// matmul, and LeNet's fully connected layers at batch 256.
import { expect, it } from 'vitest';
import { linear, matmul, type Tensor } from '../src/index';
import { currentBackend } from '../src/engine';
import { WasmBackend } from '../src/backend/wasm/index';
import { KERNELS } from '../src/backend/registry';
import { opSuite, type OpCase } from './harness';

const cases: OpCase[] = [];
const size = (s: readonly number[]) => s.reduce((p, q) => p * q, 1);
/** Looser tolerance for long sums (K in the hundreds) of float32 products. */
const LONG = { rtol: 5e-5, atol: 2e-5 };

/**
 * torch.matmul defined directly: each output element as an explicit sum over
 * broadcast batch indices, independent of the op's stride plans.
 */
function matmulDefinition(as: readonly number[], bs: readonly number[]) {
  return ([a, b]: Float64Array[]) => {
    const A = as.length === 1 ? [1, as[0]] : as, B = bs.length === 1 ? [bs[0], 1] : bs;
    const M = A[A.length - 2], K = A[A.length - 1], N = B[B.length - 1];
    const ba = A.slice(0, -2), bb = B.slice(0, -2);
    const nd = Math.max(ba.length, bb.length);
    const pa = [...new Array<number>(nd - ba.length).fill(1), ...ba], pb = [...new Array<number>(nd - bb.length).fill(1), ...bb];
    const S = pa.map((d, i) => (d === 1 ? pb[i] : d));
    const nb = size(S);
    const y = new Float64Array(nb * M * N);
    for (let bi = 0; bi < nb; bi++) {
      // Batch multi-index, then each operand's flat batch (index 0 where broadcast).
      let rem = bi, ia = 0, ib = 0, sa = 1, sb = 1;
      for (let d = nd - 1; d >= 0; d--) {
        const i = rem % S[d];
        rem = Math.floor(rem / S[d]);
        ia += (pa[d] === 1 ? 0 : i) * sa; sa *= pa[d];
        ib += (pb[d] === 1 ? 0 : i) * sb; sb *= pb[d];
      }
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[ia * M * K + m * K + k] * b[ib * K * N + k * N + n];
          y[bi * M * N + m * N + n] = s;
        }
      }
    }
    return { y };
  };
}

function mm(as: number[], bs: number[], extra: Partial<OpCase> = {}): void {
  const K = as[as.length - 1];
  if (cases.some((c) => c.name === `matmul a=[${as}] b=[${bs}]`)) return;
  cases.push({
    name: `matmul a=[${as}] b=[${bs}]`, inputs: [{ shape: as }, { shape: bs }], op: matmul,
    definition: size(as) * size(bs) <= 1e6 ? matmulDefinition(as, bs) : undefined,
    tol: K > 64 ? LONG : undefined,
    ...extra,
  });
}

// 1-D forms: dot, vector-matrix, matrix-vector, with a batch on either side.
for (const k of [1, 3, 4, 5, 8, 9, 17, 300]) mm([k], [k]);
mm([1000], [1000], { gradcheck: false });
for (const [k, n] of [[1, 1], [3, 5], [4, 8], [5, 9], [17, 63], [7, 65]]) { mm([k], [k, n]); mm([n, k], [k]); }
mm([4], [2, 4, 5]);
mm([3, 2, 4, 5], [5]);
mm([2, 1, 3, 4], [4]);
mm([300], [300, 70], { gradcheck: false });
mm([70, 300], [300], { gradcheck: false });

// 2-D by 2-D at the tile edges: each of M, N, K over the edge sizes with the others small.
const EDGES = [1, 3, 4, 5, 7, 8, 9, 17, 63, 65];
for (const s of EDGES) {
  mm([s, 5], [5, 9]);
  mm([5, 7], [7, s]);
  mm([3, s], [s, 9]);
}
for (const [M, K, N] of [[4, 8, 8], [8, 16, 16], [12, 3, 24], [64, 64, 64], [65, 33, 65], [9, 257, 17], [3, 513, 11], [1, 600, 20], [130, 40, 129]]) {
  mm([M, K], [K, N], { gradcheck: M * K <= 300 && K * N <= 300 });
}
// Large enough to be split over two threads (and into units of 16 and 32 rows).
mm([100, 300], [300, 90]);
mm([40, 70], [70, 260]);

// Batched with broadcasting.
mm([2, 3, 4], [2, 4, 5]);
mm([2, 3, 4], [4, 5]);
mm([3, 4], [2, 4, 5]);
mm([1, 3, 4], [2, 4, 5]);
mm([2, 1, 3, 4], [5, 4, 6]);
mm([2, 1, 3, 4], [1, 3, 4, 5]);
mm([3, 1, 2, 1, 3, 4], [2, 1, 2, 4, 5]);
mm([2, 2, 9, 17], [2, 1, 17, 65], { gradcheck: false });
mm([6, 33, 40], [40, 70]);
// Long k (two blocks of 256) with batches, and a gradient summed over batches with long k.
mm([2, 3, 300], [300, 5], { gradcheck: false });
mm([5, 300, 4], [4, 6], { gradcheck: false });
mm([40, 70], [6, 70, 33]);

// Empty operands: zero rows, zero inner size (a zero-filled result), an empty batch.
mm([0, 3], [3, 4]);
mm([2, 0], [0, 4]);
mm([0], [0]);
mm([0, 2, 3], [3, 4]);
mm([2, 3], [1, 0, 3, 4]);

/** linear cases: input shape, (out, in) weight or [in], bias shape or null. */
function lin(x: number[], w: number[], b: number[] | null, extra: Partial<OpCase> = {}): void {
  const K = x[x.length - 1];
  cases.push({
    name: `linear x=[${x}] w=[${w}]${b ? ` bias=[${b}]` : ''}`,
    inputs: [{ shape: x }, { shape: w }, ...(b ? [{ shape: b }] : [])],
    op: (xt: Tensor, wt: Tensor, bt?: Tensor) => linear(xt, wt, bt),
    tol: K > 64 ? LONG : undefined,
    ...extra,
  });
}
// LeNet's fully connected layers at batch 256, forward and all three gradients.
lin([256, 400], [120, 400], [120]);
lin([256, 120], [84, 120], [84]);
lin([256, 84], [10, 84], [10]);
lin([256, 84], [10, 84], null);
// Edges and every form.
for (const [R, K, N] of [[1, 1, 1], [3, 4, 5], [5, 7, 8], [7, 9, 9], [9, 17, 3], [4, 5, 1], [17, 3, 63], [2, 65, 4]]) {
  lin([R, K], [N, K], [N]);
  lin([R, K], [N, K], null);
}
lin([2, 3, 4], [5, 4], [5]);
lin([2, 1, 3, 4], [6, 4], [6]);
lin([4], [3, 4], [3]);
lin([4], [3, 4], null);
lin([3, 4], [4], null);
lin([3, 4], [4], []);
lin([5, 6], [3, 6], [1]);
lin([5, 6], [3, 6], []);
lin([5, 6], [3, 6], [5, 3]);
lin([2, 5, 6], [3, 6], [5, 1]);
lin([0, 4], [3, 4], [3]);
lin([3, 0], [2, 0], [2]);
lin([40, 300], [70, 300], [70], { gradcheck: false });

opSuite('matmul', cases, ['gemm', 'gemm_pack_b']);

it('every gemm kernel family ran', () => {
  const be = currentBackend();
  expect(be).toBeInstanceOf(WasmBackend);
  const calls = (be as WasmBackend).calls;
  for (const k of KERNELS) if (k.source === 'matmul') expect(calls.get(k.name) ?? 0, k.name).toBeGreaterThan(0);
});

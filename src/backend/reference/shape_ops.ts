// The float64 definitions of the row-copy, index-select and squared-deviation kernels.
import type { RefParams } from '../layout';
import type { IndexSelect, RowCopy, SqDev } from '../registry';

/**
 * y[r * ys + c] = x[r * xs + c - at] for at <= c < at + cols, else 0, for
 * r < rows and c < dcols.
 */
export function rowCopyRef(p: RefParams<typeof RowCopy.fields>): void {
  const x = p.x!, y = p.y!;
  for (let r = 0; r < p.rows; r++) {
    for (let c = 0; c < p.dcols; c++) {
      y[r * p.ys + c] = c >= p.at && c < p.at + p.cols ? x[r * p.xs + c - p.at] : 0;
    }
  }
}

/**
 * Forward: y[a, i, b] = x[a, idx[i], b]. Backward: y[a, r, b] = the sum, in
 * ascending i, of x[a, i, b] over the i with idx[i] = r (0 when there is none).
 */
export function indexSelectRef(p: RefParams<typeof IndexSelect.fields>): void {
  const { A, R, B, N } = p;
  const x = p.x!, idx = p.idx!, y = p.y!;
  if (!p.backward) {
    for (let a = 0; a < A; a++) {
      for (let i = 0; i < N; i++) {
        for (let b = 0; b < B; b++) y[(a * N + i) * B + b] = x[(a * R + idx[i]) * B + b];
      }
    }
    return;
  }
  y.fill(0, 0, A * R * B);
  for (let a = 0; a < A; a++) {
    for (let i = 0; i < N; i++) {
      for (let b = 0; b < B; b++) y[(a * R + idx[i]) * B + b] += x[(a * N + i) * B + b];
    }
  }
}

/** y[a, c, b] = the sum over r in chunk c (RC long) of (x[a, r, b] - m[a, b])^2. */
export function sqDevRef(p: RefParams<typeof SqDev.fields>): void {
  const { A, R, B, RC } = p;
  const x = p.x!, m = p.m!, y = p.y!;
  const nchunk = Math.ceil(R / RC);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < nchunk; c++) {
      for (let b = 0; b < B; b++) {
        let s = 0;
        for (let r = c * RC; r < Math.min(R, (c + 1) * RC); r++) { const d = x[(a * R + r) * B + b] - m[a * B + b]; s += d * d; }
        y[(a * nchunk + c) * B + b] = s;
      }
    }
  }
}

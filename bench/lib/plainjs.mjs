// The chapter's corr2d (Dive into Deep Learning, "Convolutions for Images"),
// translated literally to plain JavaScript: arrays of arrays and nested loops,
// no typed arrays, no wasm.
//
//   def corr2d(X, K):
//       h, w = K.shape
//       Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
//       for i in range(Y.shape[0]):
//           for j in range(Y.shape[1]):
//               Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
//       return Y
//
// `(X[i:i+h, j:j+w] * K).sum()` becomes two inner loops (no slice is copied,
// which only favours the plain-JS figure). The backward pass is the same loops
// run the other way: dX[i+a][j+b] += dY[i][j] * K[a][b], dK[a][b] += dY[i][j] * X[i+a][j+b]
// (corr2d has no bias, so neither does this).
import { checksum, cpuMeter, geometry, measure } from './common.mjs';

export function zeros2d(h, w) {
  const Y = [];
  for (let i = 0; i < h; i++) Y.push(new Array(w).fill(0));
  return Y;
}

export function corr2d(X, K) {
  const h = K.length, w = K[0].length;
  const Y = zeros2d(X.length - h + 1, X[0].length - w + 1);
  for (let i = 0; i < Y.length; i++) {
    for (let j = 0; j < Y[0].length; j++) {
      let s = 0;
      for (let a = 0; a < h; a++) for (let b = 0; b < w; b++) s += X[i + a][j + b] * K[a][b];
      Y[i][j] = s;
    }
  }
  return Y;
}

/** Gradients of sum(dY * corr2d(X, K)) with respect to X and K. */
export function corr2dBackward(X, K, dY) {
  const h = K.length, w = K[0].length;
  const dX = zeros2d(X.length, X[0].length);
  const dK = zeros2d(h, w);
  for (let i = 0; i < dY.length; i++) {
    for (let j = 0; j < dY[0].length; j++) {
      const g = dY[i][j];
      for (let a = 0; a < h; a++) {
        for (let b = 0; b < w; b++) {
          dX[i + a][j + b] += g * K[a][b];
          dK[a][b] += g * X[i + a][j + b];
        }
      }
    }
  }
  return { dX, dK };
}

/** A flat row-major array as an array of rows (plain numbers). */
export function toNested(a, h, w) {
  const out = [];
  for (let i = 0; i < h; i++) out.push(Array.from(a.subarray(i * w, (i + 1) * w)));
  return out;
}

export function flatten2d(A) {
  return Float64Array.from(A.flat());
}

// ---------------------------------------------------------------- runner


/** Measures the plain-JS corr2d on a single-channel shape (row format of the other engines). */
export function runPlainJs(shape, inputs, policy) {
  const g = geometry(shape);
  const row = { engine: 'plainjs-corr2d', label: 'plain-JS corr2d (chapter)', peak: 'simd1', api: 'corr2d', supported: true, checksBias: false };
  const meter = cpuMeter();
  // Arrays of arrays of plain numbers, made untimed.
  const X = toNested(inputs.x, shape.H, shape.W);
  const K = toNested(inputs.w, shape.KH, shape.KW);
  const dY = toNested(inputs.dy, g.OH, g.OW);
  let Y = null;
  row.fwd = { supported: true, ...measure({ policy, run: () => { Y = corr2d(X, K); } }), flops: g.fwdFlops };
  // The result is already JS arrays: reading it back costs nothing, the forward is the figure.
  row.fwdRead = { ...row.fwd, readback: 'none (the result is already JS arrays)' };
  let grads = null;
  row.bwd = { supported: true, ...measure({ policy, run: () => { grads = corr2dBackward(X, K, dY); } }), flops: g.bwdFlopsNoBias };
  row.checks = { y: checksum(flatten2d(Y)), dx: checksum(flatten2d(grads.dX)), dw: checksum(flatten2d(grads.dK)) };
  row.load = meter();
  return row;
}

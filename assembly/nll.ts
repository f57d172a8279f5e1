// Negative log-likelihood, the core of nll_loss and cross_entropy, with
// PyTorch's formulas (class weights w, the ignored class, label smoothing eps):
//
//   class targets k:  nll_e = -w[k] * x[e, k], smooth_e = -sum_c w[c] * x[e, c],
//                     weight_e = w[k] (all three 0 where k is the ignored class);
//                     loss_e = (1 - eps) * nll_e + smooth_e * (eps / C) (nll_e when eps = 0);
//                     'mean' divides both sums by sum(weight_e), 'sum' adds.
//   probabilities t:  loss_e = -sum_c x[e, c] * t'[e, c] * w[c], t' = t * (1 - eps) + eps / C;
//                     'mean' divides by the number of elements.
//
// x is [A, C, B] (log-probabilities; an element e = (a, b) owns the C values
// at stride B), targets are [A, B] (or [A, C, B] probabilities). Elements are
// cut in fixed chunks of MC: a unit sums its chunk in order into part[3u..3u+2]
// (loss, smoothing, weight), and the finish call adds the chunks in order, so
// results do not depend on the thread count. With one chunk the unit finishes
// at once. The finish also leaves the three totals at part[3 * nchunk].
import { NllP } from './generated/params';
import { expS, logS } from './math';
import { rowMax, rowExpSum } from './softmax';

@inline function f4(i: i32): usize { return <usize>i << 2; }

/** Writes the reduced loss to y and the totals after the partial sums. */
@inline function finishSums(p: usize, nchunk: i32, sn: f32, ss: f32, sw: f32): void {
  const C = NllP.C(p), red = NllP.red(p), eps = NllP.eps(p);
  const part = NllP.part(p), y = NllP.y(p);
  store<f32>(part + f4(3 * nchunk), sn);
  store<f32>(part + f4(3 * nchunk + 1), ss);
  store<f32>(part + f4(3 * nchunk + 2), sw);
  let r: f32;
  if (NllP.prob(p) != 0 || eps == 0) r = red == 2 ? sn / sw : sn;
  else if (red == 2) r = (<f32>1 - eps) * (sn / sw) + (ss / sw) * (eps / <f32>C);
  else r = (<f32>1 - eps) * sn + ss * (eps / <f32>C);
  store<f32>(y, r);
}

/**
 * Forward. red 0: y[e] = loss_e. red 1 (sum) or 2 (mean): per-chunk sums into
 * part, and with one chunk the loss into y. finish 1: adds the chunks' sums
 * (one unit). Units: ceil(A * B / MC) chunks, or 1 to finish.
 */
export function nll<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const A = NllP.A(p), C = NllP.C(p), B = NllP.B(p), MC = NllP.MC(p), red = NllP.red(p);
  const prob = NllP.prob(p) != 0, eps = NllP.eps(p), ignore = NllP.ignore(p);
  const x = NllP.x(p), t = NllP.t(p), w = NllP.w(p), y = NllP.y(p), part = NllP.part(p);
  const M = A * B, nchunk = (M + MC - 1) / MC;
  if (NllP.finish(p) != 0) {
    let sn: f32 = 0, ss: f32 = 0, sw: f32 = 0;
    for (let u = 0; u < nchunk; u++) {
      sn += load<f32>(part + f4(3 * u)); ss += load<f32>(part + f4(3 * u + 1)); sw += load<f32>(part + f4(3 * u + 2));
    }
    finishSums(p, nchunk, sn, ss, sw);
    return;
  }
  const keep = <f32>1 - eps, share = eps / <f32>C;
  const st = f4(B);
  for (let u = begin; u < end; u++) {
    const e0 = u * MC, e1 = e0 + MC < M ? e0 + MC : M;
    let sn: f32 = 0, ss: f32 = 0, sw: f32 = 0;
    for (let e = e0; e < e1; e++) {
      const a = e / B, b = e - a * B;
      const row = x + f4(a * C * B + b);
      let ln: f32 = 0, ls: f32 = 0, lw: f32 = 0;
      if (prob) {
        const trow = t + f4(a * C * B + b);
        let s: f32 = 0;
        for (let c = 0; c < C; c++) {
          let tc = load<f32>(trow + <usize>c * st);
          if (eps != 0) tc = tc * keep + share;
          let v = load<f32>(row + <usize>c * st) * tc;
          if (w) v = v * load<f32>(w + f4(c));
          s += v;
        }
        ln = -s; lw = 1;
      } else {
        const tv = load<f32>(t + f4(e));
        if (tv != ignore) {
          const k = <i32>tv;
          lw = w ? load<f32>(w + f4(k)) : 1;
          ln = -(load<f32>(row + <usize>k * st) * lw);
          if (eps != 0) {
            let s: f32 = 0;
            if (w) for (let c = 0; c < C; c++) s += load<f32>(row + <usize>c * st) * load<f32>(w + f4(c));
            else for (let c = 0; c < C; c++) s += load<f32>(row + <usize>c * st);
            ls = -s;
          }
        }
      }
      if (red == 0) store<f32>(y + f4(e), prob || eps == 0 ? ln : keep * ln + ls * share);
      else { sn += ln; ss += ls; sw += lw; }
    }
    if (red == 0) continue;
    if (nchunk == 1) finishSums(p, 1, sn, ss, sw);
    store<f32>(part + f4(3 * u), sn); store<f32>(part + f4(3 * u + 1), ss); store<f32>(part + f4(3 * u + 2), sw);
  }
}

/**
 * Backward, for the incoming gradient g (per element for red 0; else the one
 * value g[0], divided by wsum for the mean). ce 0: y = the gradient of nll
 * for x = log-probabilities (class targets): -w[k] * g at k, 0 elsewhere.
 * ce 1: y = the gradient of cross-entropy for x = logits, through the
 * log-softmax (p = softmax(x)): dlogp - p * sum(dlogp), and, when dt is
 * given, the gradient of probability targets -(1 - eps) * w * logp * g.
 * Units: ceil(A * B / MC) chunks of elements, each writing its elements' rows
 * (x and y are distinct blocks: y holds exp(x - max) until the row is done).
 */
export function nllBackward<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const A = NllP.A(p), C = NllP.C(p), B = NllP.B(p), MC = NllP.MC(p), red = NllP.red(p);
  const prob = NllP.prob(p) != 0, ce = NllP.ce(p) != 0, eps = NllP.eps(p), ignore = NllP.ignore(p), wsum = NllP.wsum(p);
  const x = NllP.x(p), t = NllP.t(p), w = NllP.w(p), g = NllP.g(p), y = NllP.y(p), dt = NllP.dt(p);
  const M = A * B;
  const keep = <f32>1 - eps, share = eps / <f32>C;
  const st = f4(B);
  // The sum of the class weights, for smoothed class targets (in order, the same in every unit).
  let wc: f32 = <f32>C;
  if (w && eps != 0 && !prob) { wc = 0; for (let c = 0; c < C; c++) wc += load<f32>(w + f4(c)); }
  for (let u = begin; u < end; u++) {
    const e0 = u * MC, e1 = e0 + MC < M ? e0 + MC : M;
    for (let e = e0; e < e1; e++) {
      const a = e / B, b = e - a * B;
      const off = a * C * B + b;
      const row = x + f4(off), out = y + f4(off);
      const gs = red == 0 ? load<f32>(g + f4(e)) : red == 2 ? load<f32>(g) / wsum : load<f32>(g);
      let k = -1;
      let wk: f32 = 0;
      if (!prob) {
        const tv = load<f32>(t + f4(e));
        if (tv == ignore) {
          for (let c = 0; c < C; c++) store<f32>(out + <usize>c * st, 0);
          continue;
        }
        k = <i32>tv;
        wk = w ? load<f32>(w + f4(k)) : 1;
      }
      if (!ce) {
        const v = wk * -gs;
        for (let c = 0; c < C; c++) store<f32>(out + <usize>c * st, c == k ? v : 0);
        continue;
      }
      // p = softmax of the row: exp(x - max) (kept in the output) times 1 / sum.
      // Contiguous rows as the softmax kernel computes them (SIMD); strided ones in order.
      let m: f32, s: f32;
      if (B == 1) {
        m = rowMax<V>(row, C);
        s = rowExpSum<V>(row, out, C, m, true);
      } else {
        m = -Infinity;
        for (let c = 0; c < C; c++) m = Mathf.max(m, load<f32>(row + <usize>c * st));
        if (m != m) m = NaN;
        s = 0;
        for (let c = 0; c < C; c++) {
          const ex = expS(load<f32>(row + <usize>c * st) - m);
          store<f32>(out + <usize>c * st, ex);
          s += ex;
        }
      }
      const inv = <f32>1 / s;
      if (prob) {
        const trow = t + f4(off);
        // S = sum(dlogp) = -g * sum_c t'[c] * w[c]
        let tw: f32 = 0;
        for (let c = 0; c < C; c++) {
          let tc = load<f32>(trow + <usize>c * st);
          if (eps != 0) tc = tc * keep + share;
          tw += w ? tc * load<f32>(w + f4(c)) : tc;
        }
        const S = -gs * tw;
        const lse = logS(s);
        for (let c = 0; c < C; c++) {
          const o = <usize>c * st;
          const xc = load<f32>(row + o);
          let tc = load<f32>(trow + o);
          if (eps != 0) tc = tc * keep + share;
          const wcc: f32 = w ? load<f32>(w + f4(c)) : 1;
          const d = -gs * (w ? tc * wcc : tc);
          store<f32>(out + o, d - load<f32>(out + o) * inv * S);
          if (dt) store<f32>(dt + f4(off) + o, -(keep * wcc * ((xc - m) - lse)) * gs);
        }
        continue;
      }
      const nk = eps != 0 ? keep * wk : wk;
      const S = -gs * (eps != 0 ? nk + share * wc : nk);
      for (let c = 0; c < C; c++) {
        const o = <usize>c * st;
        const sm: f32 = eps != 0 ? share * (w ? load<f32>(w + f4(c)) : 1) : 0;
        const d = -gs * ((c == k ? nk : 0) + sm);
        store<f32>(out + o, d - load<f32>(out + o) * inv * S);
      }
    }
  }
}

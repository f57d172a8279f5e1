// The float64 definitions of the softmax, where, index and negative
// log-likelihood kernels (see assembly/softmax.ts, where.ts, indexing.ts, nll.ts).
import type { RefParams } from '../layout';
import type { Gather, IndexCheck, Nll, OneHot, Softmax, Where } from '../registry';
import { CONSTANTS } from '../constants';

const { CHUNK } = CONSTANTS;

/** IEEE maximum as WebAssembly's f32.max: NaN if either is NaN, +0 above -0. */
const fmax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a === b ? (Object.is(a, -0) ? b : a) : a > b ? a : b);

/** softmax / log_softmax over R of [A, R, B], or their gradients (x then being the forward's output). */
export function softmaxRef(p: RefParams<typeof Softmax.fields>): void {
  const { A, R, B } = p;
  const x = p.x!, y = p.y!, g = p.g;
  for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) {
    const at = (r: number) => (a * R + r) * B + b;
    if (!p.backward) {
      let m = -Infinity;
      for (let r = 0; r < R; r++) m = fmax(m, x[at(r)]);
      let s = 0;
      for (let r = 0; r < R; r++) s += Math.exp(x[at(r)] - m);
      const l = Math.log(s);
      for (let r = 0; r < R; r++) y[at(r)] = p.log ? x[at(r)] - m - l : Math.exp(x[at(r)] - m) / s;
    } else if (p.log) {
      let s = 0;
      for (let r = 0; r < R; r++) s += g![at(r)];
      for (let r = 0; r < R; r++) y[at(r)] = g![at(r)] - Math.exp(x[at(r)]) * s;
    } else {
      let s = 0;
      for (let r = 0; r < R; r++) s += g![at(r)] * x[at(r)];
      for (let r = 0; r < R; r++) y[at(r)] = x[at(r)] * (g![at(r)] - s);
    }
  }
}

/** Offsets of every point of a strided index space, outermost dimension first. */
function forEachIndex(nd: number, shape: readonly number[], strides: ReadonlyArray<readonly number[]>, visit: (i: number, offs: number[]) => void): void {
  let n = 1;
  for (let d = 0; d < nd; d++) n *= shape[d];
  const idx = new Array<number>(nd).fill(0);
  const offs = strides.map(() => 0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < strides.length; k++) { let o = 0; for (let d = 0; d < nd; d++) o += idx[d] * strides[k][d]; offs[k] = o; }
    visit(i, offs);
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/** y = c != 0 ? a : b, broadcast by strides (flags: a, b scalars s0, s1). */
export function whereRef(p: RefParams<typeof Where.fields>): void {
  const c = p.c!, y = p.y!, aS = (p.flags & 1) !== 0, bS = (p.flags & 2) !== 0;
  forEachIndex(p.ndim, p.shape, [p.sc, p.sa, p.sb], (i, [oc, oa, ob]) => {
    y[i] = c[oc] !== 0 ? (aS ? p.s0 : p.a![oa]) : (bS ? p.s1 : p.b![ob]);
  });
}

/** y[u] = the offset in chunk u of the first value that is not a whole number in [0, hi) (nor the ignored value), or -1. */
export function indexCheckRef(p: RefParams<typeof IndexCheck.fields>): void {
  const x = p.x!, y = p.y!;
  const nchunk = Math.ceil(p.n / CHUNK);
  for (let u = 0; u < nchunk; u++) {
    y[u] = -1;
    for (let i = u * CHUNK; i < Math.min(p.n, (u + 1) * CHUNK); i++) {
      const v = x[i];
      const ok = (Number.isInteger(v) && v >= 0 && v < p.hi) || (p.useIgnore !== 0 && v === p.ignore);
      if (!ok) { y[u] = i - u * CHUNK; break; }
    }
  }
}

/** torch.gather (backward 0) and its scatter-add gradient into y (backward 1). */
export function gatherRef(p: RefParams<typeof Gather.fields>): void {
  const x = p.x!, idx = p.idx!, y = p.y!;
  if (!p.backward) {
    forEachIndex(p.ndim, p.shape, [p.st], (i, [o]) => { y[i] = x[o + idx[i] * p.sd]; });
    return;
  }
  const g = p.g!;
  forEachIndex(p.ndim, p.shape, [p.st, p.sg], (_l, [ox, og]) => {
    for (let j = 0; j < p.J; j++) y[ox + idx[og + j * p.sj] * p.sd] += g[og + j * p.sj];
  });
}

/** y[i, c] = (c == idx[i]). */
export function oneHotRef(p: RefParams<typeof OneHot.fields>): void {
  const idx = p.idx!, y = p.y!;
  for (let i = 0; i < p.n; i++) for (let c = 0; c < p.C; c++) y[i * p.C + c] = c === idx[i] ? 1 : 0;
}

type NllP = RefParams<typeof Nll.fields>;

/** One element's (loss, smoothing, weight) terms; see assembly/nll.ts. */
function terms(p: NllP, a: number, b: number): [number, number, number] {
  const { C, B, eps } = p;
  const x = p.x!, t = p.t!, w = p.w;
  const at = (c: number) => (a * C + c) * B + b;
  if (p.prob) {
    let s = 0;
    for (let c = 0; c < C; c++) {
      const tc = eps !== 0 ? t[at(c)] * (1 - eps) + eps / C : t[at(c)];
      s += x[at(c)] * tc * (w ? w[c] : 1);
    }
    return [-s, 0, 1];
  }
  const tv = t[a * B + b];
  if (tv === p.ignore) return [0, 0, 0];
  const wk = w ? w[tv] : 1;
  let s = 0;
  if (eps !== 0) for (let c = 0; c < C; c++) s += x[at(c)] * (w ? w[c] : 1);
  return [-(x[at(tv)] * wk), -s, wk];
}

/** The loss from the totals, as PyTorch combines them. */
function combine(p: NllP, sn: number, ss: number, sw: number): number {
  const { C, eps } = p;
  if (p.prob || eps === 0) return p.red === 2 ? sn / sw : sn;
  return p.red === 2 ? (1 - eps) * (sn / sw) + (ss / sw) * (eps / C) : (1 - eps) * sn + ss * (eps / C);
}

/** nll forward: per-element losses, chunk sums and the reduced loss, or the finish of chunk sums. */
export function nllRef(p: NllP): void {
  const { A, B, MC } = p;
  const M = A * B, nchunk = Math.ceil(M / MC);
  const y = p.y!, part = p.part;
  const finish = (sn: number, ss: number, sw: number) => {
    part![3 * nchunk] = sn; part![3 * nchunk + 1] = ss; part![3 * nchunk + 2] = sw;
    y[0] = combine(p, sn, ss, sw);
  };
  if (p.finish) {
    let sn = 0, ss = 0, sw = 0;
    for (let u = 0; u < nchunk; u++) { sn += part![3 * u]; ss += part![3 * u + 1]; sw += part![3 * u + 2]; }
    finish(sn, ss, sw);
    return;
  }
  for (let u = 0; u < nchunk; u++) {
    let sn = 0, ss = 0, sw = 0;
    for (let e = u * MC; e < Math.min(M, (u + 1) * MC); e++) {
      const [ln, ls, lw] = terms(p, Math.floor(e / B), e % B);
      if (p.red === 0) y[e] = p.prob || p.eps === 0 ? ln : (1 - p.eps) * ln + ls * (p.eps / p.C);
      else { sn += ln; ss += ls; sw += lw; }
    }
    if (p.red === 0) continue;
    part![3 * u] = sn; part![3 * u + 1] = ss; part![3 * u + 2] = sw;
    if (nchunk === 1) finish(sn, ss, sw);
  }
}

/** nll backward: for log-probabilities (ce 0) or, through log-softmax, for logits (ce 1). */
export function nllBackwardRef(p: NllP): void {
  const { A, C, B, eps } = p;
  const x = p.x!, t = p.t!, w = p.w, g = p.g!, y = p.y!, dt = p.dt;
  const wt = (c: number) => (w ? w[c] : 1);
  for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) {
    const e = a * B + b;
    const at = (c: number) => (a * C + c) * B + b;
    const gs = p.red === 0 ? g[e] : p.red === 2 ? g[0] / p.wsum : g[0];
    // dlogp[c], the gradient with respect to the log-probabilities.
    const dlogp = new Float64Array(C);
    if (p.prob) {
      for (let c = 0; c < C; c++) dlogp[c] = -gs * (eps !== 0 ? t[at(c)] * (1 - eps) + eps / C : t[at(c)]) * wt(c);
    } else {
      const k = t[e];
      if (k === p.ignore) { for (let c = 0; c < C; c++) y[at(c)] = 0; continue; }
      for (let c = 0; c < C; c++) dlogp[c] = -gs * ((c === k ? (1 - eps) * wt(k) : 0) + (eps / C) * wt(c));
    }
    if (!p.ce) { for (let c = 0; c < C; c++) y[at(c)] = dlogp[c]; continue; }
    let m = -Infinity, s = 0, S = 0;
    for (let c = 0; c < C; c++) m = fmax(m, x[at(c)]);
    for (let c = 0; c < C; c++) { s += Math.exp(x[at(c)] - m); S += dlogp[c]; }
    for (let c = 0; c < C; c++) {
      y[at(c)] = dlogp[c] - (Math.exp(x[at(c)] - m) / s) * S;
      if (dt) dt[at(c)] = -(1 - eps) * wt(c) * (x[at(c)] - m - Math.log(s)) * gs;
    }
  }
}

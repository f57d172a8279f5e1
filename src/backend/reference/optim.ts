// The float64 definitions of the fused optimizer updates (see assembly/optim.ts).
import type { RefParams } from '../layout';
import type { Adam, Sgd } from '../registry';
import { OPT } from '../constants';

const { MOMENTUM, FIRST, NESTEROV, MAXIMIZE, DECOUPLED, AMSGRAD } = OPT;

export function sgdRef(p: RefParams<typeof Sgd.fields>): void {
  const w = p.param!, g = p.grad!, buf = p.buf;
  for (let i = 0; i < p.n; i++) {
    let d = p.flags & MAXIMIZE ? -g[i] : g[i];
    if (p.wd !== 0) d += p.wd * w[i];
    if (p.flags & MOMENTUM) {
      buf![i] = p.flags & FIRST ? d : buf![i] * p.momentum + p.dampening1 * d;
      d = p.flags & NESTEROV ? d + p.momentum * buf![i] : buf![i];
    }
    w[i] += p.negLr * d;
  }
}

export function adamRef(p: RefParams<typeof Adam.fields>): void {
  const w = p.param!, g = p.grad!, m = p.m!, v = p.v!;
  for (let i = 0; i < p.n; i++) {
    if (p.flags & DECOUPLED) w[i] *= p.decay;
    let d = p.flags & MAXIMIZE ? -g[i] : g[i];
    if (!(p.flags & DECOUPLED) && p.wd !== 0) d += p.wd * w[i];
    m[i] = m[i] * p.beta1 + p.oneMinusBeta1 * d;
    v[i] = v[i] * p.beta2 + p.oneMinusBeta2 * d * d;
    let vv = v[i];
    if (p.flags & AMSGRAD) { p.vmax![i] = Math.max(p.vmax![i], vv); vv = p.vmax![i]; }
    w[i] += (p.negStep * m[i]) / (Math.sqrt(vv) / p.bc2sqrt + p.eps);
  }
}

// Fused optimizer updates, each one pass over a parameter, in the order of
// operations of PyTorch's single-tensor implementations (float32 throughout,
// the Python scalars rounded to float32 by the caller as PyTorch does).
import { SgdP, AdamP, CHUNK, OPT_MOMENTUM, OPT_FIRST, OPT_NESTEROV, OPT_MAXIMIZE, OPT_DECOUPLED, OPT_AMSGRAD } from './generated/params';
import { isSimd } from './math';

@inline function f4(i: i32): usize { return <usize>i << 2; }

/**
 * SGD: d = ±g (+ wd·p); with momentum, buf = d on the first step, else
 * buf·momentum + (1 - dampening)·d, and d = nesterov ? d + momentum·buf : buf;
 * p = p + (-lr)·d. Units: chunks of CHUNK elements.
 */
export function sgd<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const n = SgdP.n(p), flags = SgdP.flags(p);
  const negLr = SgdP.negLr(p), mom = SgdP.momentum(p), damp1 = SgdP.dampening1(p), wd = SgdP.wd(p);
  const w = SgdP.param(p), g = SgdP.grad(p), buf = SgdP.buf(p);
  const hasMom = (flags & OPT_MOMENTUM) != 0, first = (flags & OPT_FIRST) != 0;
  const nesterov = (flags & OPT_NESTEROV) != 0, maximize = (flags & OPT_MAXIMIZE) != 0;
  const i0 = begin * CHUNK, i1 = end * CHUNK < n ? end * CHUNK : n;
  let i = i0;
  if (isSimd<V>()) {
    const vlr = f32x4.splat(negLr), vm = f32x4.splat(mom), vd = f32x4.splat(damp1), vwd = f32x4.splat(wd);
    for (; i + 4 <= i1; i += 4) {
      const pw = w + f4(i);
      const pv = v128.load(pw);
      let d = v128.load(g + f4(i));
      if (maximize) d = f32x4.neg(d);
      if (wd != 0) d = f32x4.add(d, f32x4.mul(vwd, pv));
      if (hasMom) {
        const pb = buf + f4(i);
        const b = first ? d : f32x4.add(f32x4.mul(v128.load(pb), vm), f32x4.mul(vd, d));
        v128.store(pb, b);
        d = nesterov ? f32x4.add(d, f32x4.mul(vm, b)) : b;
      }
      v128.store(pw, f32x4.add(pv, f32x4.mul(vlr, d)));
    }
  }
  for (; i < i1; i++) {
    const pw = w + f4(i);
    const pv = load<f32>(pw);
    let d = load<f32>(g + f4(i));
    if (maximize) d = -d;
    if (wd != 0) d = d + wd * pv;
    if (hasMom) {
      const pb = buf + f4(i);
      const b = first ? d : load<f32>(pb) * mom + damp1 * d;
      store<f32>(pb, b);
      d = nesterov ? d + mom * b : b;
    }
    store<f32>(pw, pv + negLr * d);
  }
}

/**
 * Adam and AdamW: (AdamW: p = p·(1 - lr·wd)); d = ±g (Adam: + wd·p);
 * m = m·β1 + (1-β1)·d; v = v·β2 + ((1-β2)·d)·d; (AMSGrad: vmax = max(vmax, v));
 * denom = sqrt(v or vmax) / √bc2 + eps; p = p + ((-step)·m) / denom.
 * Units: chunks of CHUNK elements.
 */
export function adam<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const n = AdamP.n(p), flags = AdamP.flags(p);
  const b1 = AdamP.beta1(p), omb1 = AdamP.oneMinusBeta1(p), b2 = AdamP.beta2(p), omb2 = AdamP.oneMinusBeta2(p);
  const wd = AdamP.wd(p), decay = AdamP.decay(p), eps = AdamP.eps(p), bc2 = AdamP.bc2sqrt(p), negStep = AdamP.negStep(p);
  const w = AdamP.param(p), g = AdamP.grad(p), m = AdamP.m(p), v = AdamP.v(p), vmax = AdamP.vmax(p);
  const decoupled = (flags & OPT_DECOUPLED) != 0, ams = (flags & OPT_AMSGRAD) != 0, maximize = (flags & OPT_MAXIMIZE) != 0;
  const i0 = begin * CHUNK, i1 = end * CHUNK < n ? end * CHUNK : n;
  let i = i0;
  if (isSimd<V>()) {
    const vb1 = f32x4.splat(b1), vo1 = f32x4.splat(omb1), vb2 = f32x4.splat(b2), vo2 = f32x4.splat(omb2);
    const vwd = f32x4.splat(wd), vdec = f32x4.splat(decay), veps = f32x4.splat(eps), vbc = f32x4.splat(bc2), vst = f32x4.splat(negStep);
    for (; i + 4 <= i1; i += 4) {
      const pw = w + f4(i);
      let pv = v128.load(pw);
      if (decoupled) pv = f32x4.mul(pv, vdec);
      let d = v128.load(g + f4(i));
      if (maximize) d = f32x4.neg(d);
      if (!decoupled && wd != 0) d = f32x4.add(d, f32x4.mul(vwd, pv));
      const mv = f32x4.add(f32x4.mul(v128.load(m + f4(i)), vb1), f32x4.mul(vo1, d));
      let vv = f32x4.add(f32x4.mul(v128.load(v + f4(i)), vb2), f32x4.mul(f32x4.mul(vo2, d), d));
      v128.store(m + f4(i), mv); v128.store(v + f4(i), vv);
      if (ams) { vv = f32x4.max(v128.load(vmax + f4(i)), vv); v128.store(vmax + f4(i), vv); }
      const den = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc), veps);
      v128.store(pw, f32x4.add(pv, f32x4.div(f32x4.mul(vst, mv), den)));
    }
  }
  for (; i < i1; i++) {
    const pw = w + f4(i);
    let pv = load<f32>(pw);
    if (decoupled) pv = pv * decay;
    let d = load<f32>(g + f4(i));
    if (maximize) d = -d;
    if (!decoupled && wd != 0) d = d + wd * pv;
    const mv = load<f32>(m + f4(i)) * b1 + omb1 * d;
    let vv = load<f32>(v + f4(i)) * b2 + (omb2 * d) * d;
    store<f32>(m + f4(i), mv); store<f32>(v + f4(i), vv);
    if (ams) { vv = Mathf.max(load<f32>(vmax + f4(i)), vv); store<f32>(vmax + f4(i), vv); }
    const den = Mathf.sqrt(vv) / bc2 + eps;
    store<f32>(pw, pv + (negStep * mv) / den);
  }
}

import { checkNumber, checkParams, zeroGrads, type Optimizer } from './optimizer';
import type { Tensor } from '../tensor';

/** Options of `Adam`, as `torch.optim.Adam`. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** (beta1, beta2), default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

const f = Math.fround;

/**
 * Adam with PyTorch's update rule: g = grad + weightDecay·p; m = β1·m + (1-β1)·g;
 * v = β2·v + (1-β2)·g²; p = p - (lr / (1-β1^t)) · m / (√v / √(1-β2^t) + eps).
 *
 * @example
 * const w = tensor([1], undefined, { requiresGrad: true });
 * const opt = new Adam([w], { lr: 0.1 });
 * w.square().sum().backward();
 * opt.step();
 * w.item();   // 0.9 (the first Adam step moves each weight by about lr)
 */
export class Adam implements Optimizer {
  readonly params: readonly Tensor[];
  readonly lr: number; readonly beta1: number; readonly beta2: number;
  readonly eps: number; readonly weightDecay: number;
  private readonly state = new Map<Tensor, { step: number; m: Float32Array; v: Float32Array }>();

  constructor(params: readonly Tensor[], opts: AdamOptions = {}) {
    this.params = checkParams(params, 'Adam');
    if (opts === null || typeof opts !== 'object') throw new TypeError(`Adam: options must be an object, got ${String(opts)}`);
    this.lr = checkNumber(opts.lr ?? 1e-3, 'lr', 'Adam', 0);
    const betas = opts.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) throw new RangeError(`Adam: betas must be a pair of numbers in [0, 1), got ${JSON.stringify(betas)}`);
    this.beta1 = checkNumber(betas[0], 'betas[0]', 'Adam', 0, 1, false);
    this.beta2 = checkNumber(betas[1], 'betas[1]', 'Adam', 0, 1, false);
    this.eps = checkNumber(opts.eps ?? 1e-8, 'eps', 'Adam', 0);
    this.weightDecay = checkNumber(opts.weightDecay ?? 0, 'weightDecay', 'Adam', 0);
  }

  step(): void {
    const { lr, beta1, beta2, eps, weightDecay } = this;
    for (const p of this.params) {
      if (!p.grad) continue;
      const w = p.values('Adam.step'), g = p.grad.values('Adam.step');
      let s = this.state.get(p);
      if (!s) { s = { step: 0, m: new Float32Array(w.length), v: new Float32Array(w.length) }; this.state.set(p, s); }
      s.step++;
      const bc1 = 1 - beta1 ** s.step, bc2 = 1 - beta2 ** s.step;
      const stepSize = lr / bc1, bc2Sqrt = Math.sqrt(bc2);
      const { m, v } = s;
      for (let i = 0; i < w.length; i++) {
        const d = weightDecay !== 0 ? f(g[i] + f(weightDecay * w[i])) : g[i];
        m[i] = f(m[i] + f(f(d - m[i]) * f(1 - beta1)));          // lerp, as PyTorch
        v[i] = f(f(beta2 * v[i]) + f(f(f(1 - beta2) * d) * d));
        const denom = f(f(Math.sqrt(v[i]) / bc2Sqrt) + eps);
        w[i] = f(w[i] - f(stepSize * f(m[i] / denom)));
      }
      p.version++;
    }
  }

  zeroGrad(): void { zeroGrads(this.params); }
}

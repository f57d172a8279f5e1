import { OPT, adam as adamK } from '../backend/registry';
import { describe } from '../engine';
import { run } from '../ops/op';
import type { Tensor } from '../tensor';
import { checkNumber, checkParams, ensureState, stateLike, stepParams, zeroGrads, type Optimizer } from './optimizer';

/** Options of `Adam` and `AdamW`, as `torch.optim.Adam` and `torch.optim.AdamW`. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** (beta1, beta2), default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 0.01). */
  weightDecay?: number;
  /** Use the maximum of past second moments (default false). */
  amsgrad?: boolean;
  /** Ascend instead of descend. */
  maximize?: boolean;
}

interface AdamState { step: number; m: Tensor; v: Tensor; vmax: Tensor | null }

/**
 * Adam with PyTorch's update rule, one fused kernel per parameter:
 * g = grad + weightDecay·p; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
 * p = p - (lr / (1-β1^t)) · m / (√v / √(1-β2^t) + eps).
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
  readonly eps: number; readonly weightDecay: number; readonly amsgrad: boolean; readonly maximize: boolean;
  /** Whether the weight decay is decoupled (AdamW). */
  protected readonly decoupled: boolean = false;
  private readonly state = new Map<Tensor, AdamState>();

  constructor(params: readonly Tensor[], opts: AdamOptions = {}, name = 'Adam', defaultDecay = 0) {
    this.params = checkParams(params, name);
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${name}: options must be an object, got ${describe(opts)}`);
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = defaultDecay, amsgrad = false, maximize = false } = opts;
    this.lr = checkNumber(lr, 'lr', name, 0);
    if (!Array.isArray(betas) || betas.length !== 2) throw new RangeError(`${name}: betas must be a pair of numbers in [0, 1), got ${Array.isArray(betas) ? JSON.stringify(betas) : describe(betas)}`);
    const [b1, b2] = [betas[0], betas[1]];
    this.beta1 = checkNumber(b1, 'betas[0]', name, 0, 1, false);
    this.beta2 = checkNumber(b2, 'betas[1]', name, 0, 1, false);
    this.eps = checkNumber(eps, 'eps', name, 0);
    this.weightDecay = checkNumber(weightDecay, 'weightDecay', name, 0);
    if (typeof amsgrad !== 'boolean') throw new TypeError(`${name}: amsgrad must be a boolean, got ${describe(amsgrad)}`);
    if (typeof maximize !== 'boolean') throw new TypeError(`${name}: maximize must be a boolean, got ${describe(maximize)}`);
    this.amsgrad = amsgrad; this.maximize = maximize;
  }

  step(): void {
    const fn = `${this.decoupled ? 'AdamW' : 'Adam'}.step`;
    const ps = stepParams(this.params, fn);
    ensureState(this.state, ps, (p) => ({ step: 0, m: stateLike(p), v: stateLike(p), vmax: this.amsgrad ? stateLike(p) : null }),
      (s) => (s.vmax ? [s.m, s.v, s.vmax] : [s.m, s.v]));
    const { lr, beta1, beta2, eps, weightDecay } = this;
    for (const p of ps) {
      const s = this.state.get(p)!;
      const step = s.step + 1;
      const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
      const flags = (this.decoupled ? OPT.DECOUPLED : 0) | (this.amsgrad ? OPT.AMSGRAD : 0) | (this.maximize ? OPT.MAXIMIZE : 0);
      run(p.backend, adamK, {
        n: p.size, flags, beta1, oneMinusBeta1: 1 - beta1, beta2, oneMinusBeta2: 1 - beta2, wd: weightDecay,
        decay: 1 - lr * weightDecay, eps, bc2sqrt: Math.sqrt(bc2), negStep: -(lr / bc1),
        param: p, grad: p.grad, m: s.m, v: s.v, vmax: s.vmax,
      }, fn, []);
      s.step = step;
      p.storage.version++; s.m.storage.version++; s.v.storage.version++;
      if (s.vmax) s.vmax.storage.version++;
    }
  }

  zeroGrad(): void { zeroGrads(this.params); }
}

/**
 * AdamW: Adam with decoupled weight decay (p = p·(1 - lr·weightDecay) before
 * the Adam update; default weightDecay 0.01), as `torch.optim.AdamW`.
 *
 * @example
 * const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
  constructor(params: readonly Tensor[], opts: AdamOptions = {}) {
    super(params, opts, 'AdamW', 0.01);
  }
}

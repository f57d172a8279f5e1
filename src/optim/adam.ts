import { OPT, adam as adamK } from '../backend/registry';
import { describe } from '../engine';
import { run } from '../ops/op';
import type { Tensor } from '../tensor';
import { Optimizer, checkNumber, stateLike, type ParamGroup, type ParamGroupSpec } from './optimizer';
import { pick } from './sgd';

/** Every option of a group (see `AdamOptions`, where each is optional). */
export interface AdamGroupOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** (beta1, beta2), default [0.9, 0.999]. */
  betas: readonly [number, number];
  /** Default 1e-8. */
  eps: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 0.01). */
  weightDecay: number;
  /** Use the maximum of past second moments (default false). */
  amsgrad: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
}

/** Options of `Adam` (and of its parameter groups), as PyTorch's; every one optional. */
export type AdamOptions = Partial<AdamGroupOptions>;

function check(o: AdamGroupOptions, fn: string): AdamGroupOptions {
  checkNumber(o.lr, 'lr', fn, 0);
  const b = o.betas;
  if (!Array.isArray(b) || b.length !== 2) throw new RangeError(`${fn}: betas must be a pair of numbers in [0, 1), got ${Array.isArray(b) ? JSON.stringify(b) : describe(b)}`);
  checkNumber(b[0], 'betas[0]', fn, 0, 1, false);
  checkNumber(b[1], 'betas[1]', fn, 0, 1, false);
  checkNumber(o.eps, 'eps', fn, 0);
  checkNumber(o.weightDecay, 'weightDecay', fn, 0);
  if (typeof o.amsgrad !== 'boolean') throw new TypeError(`${fn}: amsgrad must be a boolean, got ${describe(o.amsgrad)}`);
  if (typeof o.maximize !== 'boolean') throw new TypeError(`${fn}: maximize must be a boolean, got ${describe(o.maximize)}`);
  return Object.assign({}, o, { betas: [b[0], b[1]] as [number, number] });
}

/** Adam and AdamW: one fused kernel per parameter, PyTorch 1.13's update order. */
abstract class AdamBase extends Optimizer<AdamGroupOptions> {
  protected abstract readonly decoupled: boolean;

  /** The first group's options (every group's, unless groups set their own). */
  get lr(): number { return this.paramGroups[0].lr; }
  get weightDecay(): number { return this.paramGroups[0].weightDecay; }
  get betas(): readonly [number, number] { return this.paramGroups[0].betas; }
  get eps(): number { return this.paramGroups[0].eps; }

  step(): void {
    const fn = `${this.name}.step`;
    const ready = this.ready(fn);
    this.paramGroups.forEach((g, i) => {
      this.ensureState(ready[i], (p) => ({
        step: 0, exp_avg: stateLike(p), exp_avg_sq: stateLike(p), ...(g.amsgrad ? { max_exp_avg_sq: stateLike(p) } : {}),
      }));
    });
    this.paramGroups.forEach((g, i) => {
      const [beta1, beta2] = g.betas;
      for (const p of ready[i]) {
        const s = this.state.get(p)!;
        const step = (s.step as number) + 1;
        const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
        const flags = (this.decoupled ? OPT.DECOUPLED : 0) | (g.amsgrad ? OPT.AMSGRAD : 0) | (g.maximize ? OPT.MAXIMIZE : 0);
        const m = s.exp_avg as Tensor, v = s.exp_avg_sq as Tensor, vmax = (s.max_exp_avg_sq as Tensor | undefined) ?? null;
        run(p.backend, adamK, {
          n: p.size, flags, beta1, oneMinusBeta1: 1 - beta1, beta2, oneMinusBeta2: 1 - beta2, wd: g.weightDecay,
          decay: 1 - g.lr * g.weightDecay, eps: g.eps, bc2sqrt: Math.sqrt(bc2), negStep: -(g.lr / bc1),
          param: p, grad: p.grad, m, v, vmax,
        }, fn, null);
        s.step = step;
        p.storage.version++; m.storage.version++; v.storage.version++;
        if (vmax) vmax.storage.version++;
      }
    });
  }

  protected validate(o: AdamGroupOptions, fn: string): AdamGroupOptions { return check(o, fn); }

  protected groupForDict(g: ParamGroup<AdamGroupOptions>): Record<string, unknown> {
    return { lr: g.lr, betas: [...g.betas], eps: g.eps, weight_decay: g.weightDecay, amsgrad: g.amsgrad, maximize: g.maximize };
  }
  protected groupFromDict(d: Record<string, unknown>): Partial<AdamGroupOptions> {
    return pick(d, { lr: 'lr', betas: 'betas', eps: 'eps', weight_decay: 'weightDecay', amsgrad: 'amsgrad', maximize: 'maximize' });
  }
}

function construct(name: string, defaults: AdamGroupOptions, opts: Partial<AdamGroupOptions>): AdamGroupOptions {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${name}: options must be an object, got ${describe(opts)}`);
  for (const k of Object.keys(opts)) if (!(k in defaults)) throw new RangeError(`${name}: unknown option ${JSON.stringify(k)}`);
  return check(Object.assign({}, defaults, opts), name);
}

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
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: readonly Tensor[] | ReadonlyArray<ParamGroupSpec<AdamGroupOptions>>, opts: AdamOptions = {}) {
    const defaults: AdamGroupOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false };
    super(params, construct('Adam', defaults, opts), 'Adam');
  }
}

/**
 * AdamW: Adam with decoupled weight decay (p = p·(1 - lr·weightDecay) before
 * the Adam update; default weightDecay 0.01), as `torch.optim.AdamW`.
 *
 * @example
 * const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: readonly Tensor[] | ReadonlyArray<ParamGroupSpec<AdamGroupOptions>>, opts: AdamOptions = {}) {
    const defaults: AdamGroupOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, amsgrad: false, maximize: false };
    super(params, construct('AdamW', defaults, opts), 'AdamW');
  }
}

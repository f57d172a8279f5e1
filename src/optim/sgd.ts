import { OPT, sgd as sgdK } from '../backend/registry';
import { describe } from '../engine';
import { run } from '../ops/op';
import type { Tensor } from '../tensor';
import { checkNumber, checkParams, ensureState, stateLike, stepParams, zeroGrads, type Optimizer } from './optimizer';

/** Options of `SGD`, as `torch.optim.SGD`. */
export interface SGDOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** Ascend instead of descend. */
  maximize?: boolean;
}

/**
 * Stochastic gradient descent with PyTorch's update rule, one fused kernel per
 * parameter: g = grad + weightDecay·p; with momentum, buf = g the first step and
 * buf = momentum·buf + (1 - dampening)·g after; g = nesterov ? g + momentum·buf : buf;
 * p = p - lr·g.
 *
 * @example
 * const w = tensor([1], undefined, { requiresGrad: true });
 * const opt = new SGD([w], { lr: 0.1 });
 * w.square().sum().backward();   // grad 2
 * opt.step();
 * w.item();                      // 0.8
 */
export class SGD implements Optimizer {
  readonly params: readonly Tensor[];
  readonly lr: number; readonly momentum: number; readonly dampening: number;
  readonly weightDecay: number; readonly nesterov: boolean; readonly maximize: boolean;
  private readonly buffers = new Map<Tensor, { buf: Tensor | null }>();

  constructor(params: readonly Tensor[], opts: SGDOptions = {}) {
    this.params = checkParams(params, 'SGD');
    if (opts === null || typeof opts !== 'object') throw new TypeError(`SGD: options must be an object, got ${describe(opts)}`);
    const { lr = 1e-3, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, maximize = false } = opts;
    this.lr = checkNumber(lr, 'lr', 'SGD', 0);
    this.momentum = checkNumber(momentum, 'momentum', 'SGD', 0);
    this.dampening = checkNumber(dampening, 'dampening', 'SGD', -Infinity);
    this.weightDecay = checkNumber(weightDecay, 'weightDecay', 'SGD', 0);
    if (typeof nesterov !== 'boolean') throw new TypeError(`SGD: nesterov must be a boolean, got ${describe(nesterov)}`);
    if (typeof maximize !== 'boolean') throw new TypeError(`SGD: maximize must be a boolean, got ${describe(maximize)}`);
    this.nesterov = nesterov; this.maximize = maximize;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError(`SGD: nesterov needs a positive momentum and zero dampening, got momentum ${this.momentum}, dampening ${this.dampening}`);
    }
  }

  step(): void {
    const fn = 'SGD.step';
    const ps = stepParams(this.params, fn);
    const { lr, momentum, dampening, weightDecay } = this;
    if (momentum !== 0) ensureState(this.buffers, ps, (p) => ({ buf: stateLike(p) }), (s) => (s.buf ? [s.buf] : []));
    for (const p of ps) {
      const s = this.buffers.get(p);
      const first = s !== undefined && !this.started.has(p);
      let flags = this.maximize ? OPT.MAXIMIZE : 0;
      if (momentum !== 0) flags |= OPT.MOMENTUM | (first ? OPT.FIRST : 0) | (this.nesterov ? OPT.NESTEROV : 0);
      run(p.backend, sgdK, {
        n: p.size, flags, negLr: -lr, momentum, dampening1: 1 - dampening, wd: weightDecay,
        param: p, grad: p.grad, buf: s?.buf ?? null,
      }, fn, []);
      p.storage.version++;
      if (s) { this.started.add(p); s.buf!.storage.version++; }
    }
  }

  private readonly started = new Set<Tensor>();

  zeroGrad(): void { zeroGrads(this.params); }
}

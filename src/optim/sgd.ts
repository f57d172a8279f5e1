import { checkNumber, checkParams, zeroGrads, type Optimizer } from './optimizer';
import type { Tensor } from '../tensor';

/** Options of `SGD`, as `torch.optim.SGD`. */
export interface SGDOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

const f = Math.fround;

/**
 * Stochastic gradient descent with PyTorch's update rule:
 * g = grad + weightDecay·p; with momentum, buf = g the first step and
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
  readonly weightDecay: number; readonly nesterov: boolean;
  private readonly buffers = new Map<Tensor, Float32Array>();

  constructor(params: readonly Tensor[], opts: SGDOptions = {}) {
    this.params = checkParams(params, 'SGD');
    if (opts === null || typeof opts !== 'object') throw new TypeError(`SGD: options must be an object, got ${String(opts)}`);
    this.lr = checkNumber(opts.lr ?? 1e-3, 'lr', 'SGD', 0);
    this.momentum = checkNumber(opts.momentum ?? 0, 'momentum', 'SGD', 0);
    this.dampening = checkNumber(opts.dampening ?? 0, 'dampening', 'SGD', -Infinity);
    this.weightDecay = checkNumber(opts.weightDecay ?? 0, 'weightDecay', 'SGD', 0);
    this.nesterov = !!opts.nesterov;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError(`SGD: nesterov needs a positive momentum and zero dampening, got momentum ${this.momentum}, dampening ${this.dampening}`);
    }
  }

  step(): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = this;
    for (const p of this.params) {
      if (!p.grad) continue;
      const v = p.values('SGD.step'), g = p.grad.values('SGD.step');
      let buf = this.buffers.get(p);
      const first = momentum !== 0 && !buf;
      if (first) { buf = new Float32Array(v.length); this.buffers.set(p, buf); }
      for (let i = 0; i < v.length; i++) {
        let d = weightDecay !== 0 ? f(g[i] + f(weightDecay * v[i])) : g[i];
        if (momentum !== 0) {
          buf![i] = first ? d : f(f(momentum * buf![i]) + f((1 - dampening) * d));
          d = nesterov ? f(d + f(momentum * buf![i])) : buf![i];
        }
        v[i] = v[i] - f(lr * d);
      }
      p.version++;
    }
  }

  zeroGrad(): void { zeroGrads(this.params); }
}

import { OPT, sgd as sgdK } from '../backend/registry';
import { describe } from '../engine';
import { run } from '../ops/op';
import type { Tensor } from '../tensor';
import { Optimizer, checkNumber, stateLike, type ParamGroup, type ParamGroupSpec } from './optimizer';

/** Every option of a group (see `SGDOptions`, where each is optional). */
export interface SGDGroupOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
}

/** Options of `SGD` (and of its parameter groups), as PyTorch's; every one optional. */
export type SGDOptions = Partial<SGDGroupOptions>;

const DEFAULTS: SGDGroupOptions = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

function check(o: SGDGroupOptions, fn: string): SGDGroupOptions {
  checkNumber(o.lr, 'lr', fn, 0);
  checkNumber(o.momentum, 'momentum', fn, 0);
  checkNumber(o.dampening, 'dampening', fn, -Infinity);
  checkNumber(o.weightDecay, 'weightDecay', fn, 0);
  if (typeof o.nesterov !== 'boolean') throw new TypeError(`${fn}: nesterov must be a boolean, got ${describe(o.nesterov)}`);
  if (typeof o.maximize !== 'boolean') throw new TypeError(`${fn}: maximize must be a boolean, got ${describe(o.maximize)}`);
  if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
    throw new RangeError(`${fn}: nesterov needs a positive momentum and zero dampening, got momentum ${o.momentum}, dampening ${o.dampening}`);
  }
  return o;
}

/**
 * Stochastic gradient descent with PyTorch's update rule, one fused kernel per
 * parameter: g = grad + weightDecay·p; with momentum, buf = g the first step and
 * buf = momentum·buf + (1 - dampening)·g after; g = nesterov ? g + momentum·buf : buf;
 * p = p - lr·g. Parameter groups may set their own options.
 *
 * @example
 * const w = tensor([1], undefined, { requiresGrad: true });
 * const opt = new SGD([w], { lr: 0.1 });
 * w.square().sum().backward();   // grad 2
 * opt.step();
 * w.item();                      // 0.8
 * new SGD([{ params: conv.parameters() }, { params: fc.parameters(), lr: 0.01 }], { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer<SGDGroupOptions> {
  constructor(params: readonly Tensor[] | ReadonlyArray<ParamGroupSpec<SGDGroupOptions>>, opts: SGDOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw new TypeError(`SGD: options must be an object, got ${describe(opts)}`);
    for (const k of Object.keys(opts)) if (!(k in DEFAULTS)) throw new RangeError(`SGD: unknown option ${JSON.stringify(k)}`);
    super(params, check(Object.assign({}, DEFAULTS, opts), 'SGD'), 'SGD');
  }

  /** The first group's learning rate (every group's, unless groups set their own). */
  get lr(): number { return this.paramGroups[0].lr; }
  get momentum(): number { return this.paramGroups[0].momentum; }
  get weightDecay(): number { return this.paramGroups[0].weightDecay; }
  get dampening(): number { return this.paramGroups[0].dampening; }
  get nesterov(): boolean { return this.paramGroups[0].nesterov; }

  step(): void {
    const fn = 'SGD.step';
    const ready = this.ready(fn);
    const fresh = new Set<Tensor>();
    this.paramGroups.forEach((g, i) => {
      if (g.momentum !== 0) for (const p of this.ensureState(ready[i], (q) => ({ momentum_buffer: stateLike(q) }))) fresh.add(p);
    });
    this.paramGroups.forEach((g, i) => {
      for (const p of ready[i]) {
        const s = this.state.get(p);
        const buf = (s?.momentum_buffer as Tensor | undefined) ?? null;
        // A new buffer takes the gradient as it is (PyTorch clones it).
        const first = fresh.has(p);
        let flags = g.maximize ? OPT.MAXIMIZE : 0;
        if (g.momentum !== 0) flags |= OPT.MOMENTUM | (first ? OPT.FIRST : 0) | (g.nesterov ? OPT.NESTEROV : 0);
        run(p.backend, sgdK, {
          n: p.size, flags, negLr: -g.lr, momentum: g.momentum, dampening1: 1 - g.dampening, wd: g.weightDecay,
          param: p, grad: p.grad, buf: g.momentum !== 0 ? buf : null,
        }, fn, null);
        p.storage.version++;
        if (buf && g.momentum !== 0) buf.storage.version++;
      }
    });
  }

  protected validate(o: SGDGroupOptions, fn: string): SGDGroupOptions { return check(o, fn); }

  protected groupForDict(g: ParamGroup<SGDGroupOptions>): Record<string, unknown> {
    return { lr: g.lr, momentum: g.momentum, dampening: g.dampening, weight_decay: g.weightDecay, nesterov: g.nesterov, maximize: g.maximize };
  }
  protected groupFromDict(d: Record<string, unknown>): Partial<SGDGroupOptions> {
    return pick(d, { lr: 'lr', momentum: 'momentum', dampening: 'dampening', weight_decay: 'weightDecay', nesterov: 'nesterov', maximize: 'maximize' });
  }
}

/** @internal Options named as PyTorch names them, renamed; missing ones left out. */
export function pick<O>(d: Record<string, unknown>, names: Record<string, keyof O>): Partial<O> {
  const out: Partial<O> = {};
  for (const [from, to] of Object.entries(names)) if (d[from] !== undefined) (out as Record<string, unknown>)[to as string] = d[from];
  return out;
}

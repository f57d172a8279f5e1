import { describe } from '../engine';
import type { Optimizer } from './optimizer';

/** A scheduler's state, as PyTorch's `scheduler.state_dict()` names it. */
export interface SchedulerStateDict {
  last_epoch: number;
  base_lrs: number[];
  _last_lr: number[];
  [option: string]: unknown;
}

/**
 * The base of learning-rate schedulers, as `torch.optim.lr_scheduler`: each
 * `step()` (once per epoch, after `optimizer.step()`) sets every group's `lr`.
 */
export abstract class LRScheduler {
  /** Epochs stepped so far (0 after construction). */
  lastEpoch = 0;
  /** The groups' learning rates when the scheduler was made. */
  readonly baseLrs: number[];
  private lastLr: number[];

  protected constructor(readonly optimizer: Optimizer<{ lr: number }>, readonly name: string) {
    if (!optimizer || !Array.isArray((optimizer as { paramGroups?: unknown }).paramGroups)) {
      throw new TypeError(`${name}: expected an optimizer, got ${describe(optimizer)}`);
    }
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.lastLr = [...this.baseLrs];
  }

  /** The next learning rate of each group, from the current ones (PyTorch's recursive forms). */
  protected abstract nextLrs(): number[];

  /** Advances one epoch and sets the groups' learning rates. */
  step(): void {
    this.lastEpoch++;
    const lrs = this.nextLrs();
    this.optimizer.paramGroups.forEach((g, i) => { g.lr = lrs[i]; });
    this.lastLr = lrs;
  }

  /** The learning rates the last step set (or the initial ones). */
  getLastLr(): number[] { return [...this.lastLr]; }

  /** @internal The options PyTorch keeps in the state dict. */
  protected abstract options(): Record<string, unknown>;

  /** The state with PyTorch's names: `last_epoch`, `base_lrs`, `_last_lr` and the options. */
  stateDict(): SchedulerStateDict {
    return Object.assign({}, this.options(), { base_lrs: [...this.baseLrs], last_epoch: this.lastEpoch, _last_lr: [...this.lastLr] });
  }

  /** Restores a state from `stateDict()` (the options are checked to match this scheduler's). */
  loadStateDict(d: SchedulerStateDict): void {
    const fn = `${this.name}.loadStateDict`;
    if (d === null || typeof d !== 'object' || !Number.isInteger(d.last_epoch) || !Array.isArray(d.base_lrs) || d.base_lrs.length !== this.baseLrs.length) {
      throw new TypeError(`${fn}: expected { last_epoch, base_lrs (${this.baseLrs.length}), _last_lr }, got ${describe(d)}`);
    }
    for (const [k, v] of Object.entries(this.options())) {
      if (d[k] !== undefined && d[k] !== v) throw new RangeError(`${fn}: ${k} is ${String(d[k])} in the state dict and ${String(v)} in this scheduler`);
    }
    this.lastEpoch = d.last_epoch;
    this.baseLrs.splice(0, this.baseLrs.length, ...d.base_lrs);
    this.lastLr = Array.isArray(d._last_lr) ? [...d._last_lr] : this.optimizer.paramGroups.map((g) => g.lr);
  }
}

/**
 * Multiplies every group's learning rate by `gamma` every `stepSize` epochs,
 * as `torch.optim.lr_scheduler.StepLR`.
 *
 * @example
 * const sched = new StepLR(opt, { stepSize: 30, gamma: 0.1 });
 * for (let epoch = 0; epoch < 100; epoch++) { train(); sched.step(); } // lr 0.1, 0.01 after 30, ...
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: Optimizer<{ lr: number }>, opts: { stepSize: number; gamma?: number }) {
    super(optimizer, 'StepLR');
    if (opts === null || typeof opts !== 'object') throw new TypeError(`StepLR: options { stepSize, gamma } are required, got ${describe(opts)}`);
    const { stepSize, gamma = 0.1 } = opts;
    if (!Number.isInteger(stepSize) || stepSize < 1) throw new RangeError(`StepLR: stepSize must be a positive integer, got ${describe(stepSize)}`);
    if (typeof gamma !== 'number' || !Number.isFinite(gamma)) throw new RangeError(`StepLR: gamma must be a finite number, got ${describe(gamma)}`);
    this.stepSize = stepSize; this.gamma = gamma;
  }
  protected nextLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => (this.lastEpoch % this.stepSize === 0 ? g.lr * this.gamma : g.lr));
  }
  protected options(): Record<string, unknown> { return { step_size: this.stepSize, gamma: this.gamma }; }
}

/**
 * Cosine annealing from each group's initial learning rate to `etaMin` over
 * `tMax` epochs (and back, periodically), as
 * `torch.optim.lr_scheduler.CosineAnnealingLR` (its recursive form, so the
 * numbers are PyTorch's).
 *
 * @example
 * const sched = new CosineAnnealingLR(opt, { tMax: 10, etaMin: 1e-5 });
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: Optimizer<{ lr: number }>, opts: { tMax: number; etaMin?: number }) {
    super(optimizer, 'CosineAnnealingLR');
    if (opts === null || typeof opts !== 'object') throw new TypeError(`CosineAnnealingLR: options { tMax, etaMin } are required, got ${describe(opts)}`);
    const { tMax, etaMin = 0 } = opts;
    if (!Number.isInteger(tMax) || tMax < 1) throw new RangeError(`CosineAnnealingLR: tMax must be a positive integer, got ${describe(tMax)}`);
    if (typeof etaMin !== 'number' || !Number.isFinite(etaMin)) throw new RangeError(`CosineAnnealingLR: etaMin must be a finite number, got ${describe(etaMin)}`);
    this.tMax = tMax; this.etaMin = etaMin;
  }
  protected nextLrs(): number[] {
    const e = this.lastEpoch, T = this.tMax, lo = this.etaMin;
    return this.optimizer.paramGroups.map((g, i) => {
      if ((e - 1 - T) % (2 * T) === 0) return g.lr + ((this.baseLrs[i] - lo) * (1 - Math.cos(Math.PI / T))) / 2;
      return ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - lo) + lo;
    });
  }
  protected options(): Record<string, unknown> { return { T_max: this.tMax, eta_min: this.etaMin }; }
}

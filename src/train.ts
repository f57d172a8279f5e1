import { ShapeError, fmtShape } from './errors';
import { mseLoss } from './nn/loss';
import { SGD } from './optim/sgd';
import type { Optimizer } from './optim/optimizer';
import { describe, tidy } from './engine';
import { Tensor } from './tensor';

/** Anything with a forward pass and parameters, such as `nn.Conv2D`. */
export interface Model {
  forward(x: Tensor): Tensor;
  parameters(): Tensor[];
}

/** A loss: 'mse' (mean squared error), 'sse' (summed squared error, the chapter's) or a function. */
export type LossSpec = 'mse' | 'sse' | ((yhat: Tensor, y: Tensor) => Tensor);

/** Options of `fit`. */
export interface FitOptions {
  /** Number of full passes over (x, y); each is one gradient step. */
  epochs: number;
  /** An optimizer over the model's parameters... */
  optimizer?: Optimizer;
  /** ...or a learning rate for plain SGD (default 1e-3 when neither is given). */
  lr?: number;
  /** Default 'mse'. */
  loss?: LossSpec;
  /** Called after every epoch with the 1-based epoch and that epoch's loss. */
  onEpoch?: (epoch: number, loss: number) => void;
  /**
   * Progress lines `epoch 2, loss 2.765`, as the chapter prints them: true for
   * about five lines over the run, a number to print every that many epochs, or
   * a function that receives each line instead of console.log.
   */
  log?: boolean | number | ((line: string) => void);
}

/**
 * Trains `model` on one batch (x, y) by full-batch gradient descent. Each epoch
 * computes the loss, back-propagates, steps the optimizer and frees everything it
 * made, so memory stays flat however many epochs run.
 *
 * @example
 * const conv = new nn.Conv2D(1, 1, [1, 2], { bias: false });
 * const { loss } = fit(conv, X, Y, { epochs: 10, lr: 3e-2, loss: 'sse', log: 2 });
 * // epoch 2, loss 4.923 ... epoch 10, loss 0.089 (values depend on the initial weight)
 */
export function fit(model: Model, x: Tensor, y: Tensor, opts: FitOptions): { loss: number[] } {
  const fn = 'fit';
  if (!model || typeof model.forward !== 'function' || typeof model.parameters !== 'function') {
    throw new TypeError(`${fn}: model must have forward(x) and parameters(), got ${String(model)}`);
  }
  if (!(x instanceof Tensor)) throw new TypeError(`${fn}: x must be a Tensor`);
  if (!(y instanceof Tensor)) throw new TypeError(`${fn}: y must be a Tensor`);
  x.check(fn); y.check(fn);
  if (!opts || typeof opts !== 'object') throw new TypeError(`${fn}: options { epochs, ... } are required`);
  const { epochs } = opts;
  if (typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 1) {
    throw new RangeError(`${fn}: epochs must be a positive integer, got ${String(epochs)}`);
  }
  if (x.ndim > 0 && y.ndim > 0 && x.shape[0] !== y.shape[0]) {
    throw new ShapeError(`${fn}: x and y have different batch sizes: x ${fmtShape(x.shape)}, y ${fmtShape(y.shape)}`);
  }
  if (opts.optimizer && opts.lr !== undefined) throw new TypeError(`${fn}: give either optimizer or lr, not both`);
  const optimizer = opts.optimizer ?? new SGD(model.parameters(), { lr: opts.lr ?? 1e-3 });
  const lossSpec = opts.loss ?? 'mse';
  let lossFn: (a: Tensor, b: Tensor) => Tensor;
  if (lossSpec === 'mse') lossFn = (a, b) => mseLoss(a, b);
  else if (lossSpec === 'sse') lossFn = (a, b) => mseLoss(a, b, { reduction: 'sum' });
  else if (typeof lossSpec === 'function') lossFn = lossSpec;
  else throw new RangeError(`${fn}: loss must be 'mse', 'sse' or a function, got ${JSON.stringify(lossSpec)}`);
  const log = opts.log, onEpoch = opts.onEpoch;
  if (log !== undefined && typeof log !== 'boolean' && typeof log !== 'function' && !(typeof log === 'number' && Number.isInteger(log) && log >= 1)) {
    throw new RangeError(`${fn}: log must be true, a positive integer or a function, got ${describe(log)}`);
  }
  if (onEpoch !== undefined && typeof onEpoch !== 'function') throw new TypeError(`${fn}: onEpoch must be a function, got ${describe(onEpoch)}`);
  if (opts.optimizer !== undefined && (typeof opts.optimizer?.step !== 'function' || typeof opts.optimizer?.zeroGrad !== 'function')) {
    throw new TypeError(`${fn}: optimizer must have step() and zeroGrad(), got ${describe(opts.optimizer)}`);
  }
  const every = log === true || typeof log === 'function' ? Math.max(1, Math.round(epochs / 5)) : typeof log === 'number' ? log : 0;
  const print = typeof log === 'function' ? log : (line: string) => console.log(line);

  const losses: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const value = tidy(() => {
      const yhat = model.forward(x);
      if (!(yhat instanceof Tensor)) throw new TypeError(`${fn}: model.forward must return a Tensor, got ${describe(yhat)}`);
      if (fmtShape(yhat.shape) !== fmtShape(y.shape)) {
        throw new ShapeError(`${fn}: model output shape ${fmtShape(yhat.shape)} does not match y shape ${fmtShape(y.shape)}`);
      }
      const l = lossFn(yhat, y);
      if (!(l instanceof Tensor)) throw new TypeError(`${fn}: the loss function must return a Tensor, got ${describe(l)}`);
      if (l.size !== 1) throw new ShapeError(`${fn}: the loss must have one element, got shape ${fmtShape(l.shape)}`);
      optimizer.zeroGrad();
      l.backward();
      optimizer.step();
      return l.item();
    });
    losses.push(value);
    onEpoch?.(epoch, value);
    if (every && epoch % every === 0) print(`epoch ${epoch}, loss ${value.toFixed(3)}`);
  }
  return { loss: losses };
}

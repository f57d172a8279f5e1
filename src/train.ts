// Training loops: fit (one batch, synchronously, as the chapter trains; or a
// DataLoader, asynchronously, epoch by epoch), evaluate and predict.
import { ShapeError, fmtShape } from './errors';
import { mseLoss } from './nn/loss';
import { crossEntropy } from './nn/losses';
import { SGD } from './optim/sgd';
import type { Optimizer } from './optim/optimizer';
import { describe, keep, noGrad, tidy } from './engine';
import { cat } from './ops/shape_ops';
import { Tensor } from './tensor';
import { DataLoader, TensorDataset, type Batch } from './data/dataset';

/** Anything with a forward pass and parameters, such as `nn.Conv2D` or an `nn.Sequential`. */
export interface Model {
  forward(x: Tensor): Tensor;
  parameters(): Tensor[];
  /** Training mode (Modules have it): fit trains in it and validates in eval mode. */
  training?: boolean;
  train?(mode?: boolean): unknown;
}

/**
 * A loss: 'mse' (mean squared error), 'sse' (summed squared error, the
 * chapter's), 'crossEntropy' (logits and class labels) or a function of the
 * model's output and the targets returning a one-element tensor.
 */
export type LossSpec = 'mse' | 'sse' | 'crossEntropy' | ((yhat: Tensor, y: Tensor) => Tensor);

/** A metric computed alongside the loss: 'accuracy' (the share of argmax predictions equal to the label). */
export type Metric = 'accuracy';

/** Options of the one-batch `fit(model, x, y, opts)`. */
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
  progress?: boolean | number | ((line: string) => void);
  /** The former name of `progress` (still accepted). */
  log?: boolean | number | ((line: string) => void);
}

/** What `fit` with a loader records for each epoch (also passed to `onEpoch`). */
export interface EpochLogs {
  /** 1-based. */
  epoch: number;
  /** The mean training loss over the epoch's samples. */
  loss: number;
  /** Training accuracy, with `metrics: ['accuracy']`. */
  accuracy?: number;
  /** Loss over the validation set, with `validation`. */
  valLoss?: number;
  /** Validation accuracy, with `validation` and `metrics: ['accuracy']`. */
  valAccuracy?: number;
  /** Wall time of the epoch (training and validation). */
  seconds: number;
}

/** What `onBatch` receives after each training step. */
export interface BatchLogs {
  /** 1-based epoch. */
  epoch: number;
  /** 0-based batch index within the epoch. */
  batch: number;
  /** Batches per epoch. */
  batches: number;
  /** This batch's loss. */
  loss: number;
  /** This batch's accuracy, with `metrics: ['accuracy']`. */
  accuracy?: number;
  /** Samples in the batch. */
  size: number;
}

/** Options of `fit(model, loader, opts)`. */
export interface FitLoaderOptions {
  /**
   * Train until the loader has completed this many epochs (its `epoch`
   * counter): a fresh loader trains that many; a paused or restored one
   * continues where it was, so calling `fit` again with the same options
   * resumes.
   */
  epochs: number;
  /** An optimizer over the model's parameters, or `lr` for plain SGD (one of them is required). */
  optimizer?: Optimizer;
  lr?: number;
  /** Default 'crossEntropy'. */
  loss?: LossSpec;
  /** Evaluated after every epoch in eval mode (a TensorDataset is read in batches of 256). */
  validation?: DataLoader | TensorDataset;
  /** Default none; ['accuracy'] adds accuracy and valAccuracy. */
  metrics?: readonly Metric[];
  /** After each training step; returning false stops training after it (resume by calling fit again). */
  onBatch?: (logs: BatchLogs) => void | boolean | Promise<void | boolean>;
  /** After each epoch with its logs; returning false stops training (early stopping). */
  onEpoch?: (epoch: number, logs: EpochLogs) => void | boolean | Promise<void | boolean>;
  /**
   * true (the default in Node): a progress bar on a terminal (only when stdout
   * is one) and a line per epoch; false: silent; a function receives the
   * per-epoch lines instead. The default in a browser is false.
   */
  progress?: boolean | ((line: string) => void);
  /** Training stops at the next batch boundary once it is aborted (resume by calling fit again). */
  signal?: AbortSignal;
}

/** What `fit` with a loader resolves to. */
export interface FitResult {
  /** One entry per epoch completed in this call. */
  history: EpochLogs[];
  /** 'done' (reached `epochs`), 'aborted' (by `signal`) or 'stopped' (onBatch or onEpoch returned false). */
  stopped: 'done' | 'aborted' | 'stopped';
}

/**
 * Trains `model` on one batch (x, y) by full-batch gradient descent,
 * synchronously. Each epoch computes the loss, back-propagates, steps the
 * optimizer and frees everything it made, so memory stays flat however many
 * epochs run.
 *
 * @example
 * const conv = new nn.Conv2D(1, 1, [1, 2], { bias: false });
 * const { loss } = fit(conv, X, Y, { epochs: 10, lr: 3e-2, loss: 'sse', progress: 2 });
 * // epoch 2, loss 4.923 ... epoch 10, loss 0.089 (values depend on the initial weight)
 */
export function fit(model: Model, x: Tensor, y: Tensor, opts: FitOptions): { loss: number[] };
/**
 * Trains `model` over a `DataLoader` for (up to) `opts.epochs` epochs, one
 * optimizer step per batch, yielding to the event loop between batches so a
 * page or worker stays responsive. Resolves to the history, one entry per
 * epoch. Pausing is aborting `opts.signal`; calling `fit` again with the same
 * options resumes at the batch where it stopped (the loader keeps its place).
 *
 * @example
 * const train = new DataLoader(new TensorDataset(images, labels), { batchSize: 256, shuffle: true, seed: 0 });
 * const net = models.lenet({ seed: 0 });
 * const { history } = await fit(net, train, {
 *   epochs: 10, optimizer: new optim.SGD(net.parameters(), { lr: 0.9 }),
 *   validation: test, metrics: ['accuracy'],
 * });
 * // epoch 1/10  loss 2.3196  accuracy 0.1003  val_loss 2.3069  val_accuracy 0.1000  9.8 s
 * history.at(-1); // { epoch: 10, loss: 0.47, accuracy: 0.82, valLoss: 0.52, valAccuracy: 0.80, seconds: 9.1 }
 */
export function fit(model: Model, loader: DataLoader, opts: FitLoaderOptions): Promise<FitResult>;
export function fit(model: Model, a: Tensor | DataLoader, b: Tensor | FitLoaderOptions, c?: FitOptions): { loss: number[] } | Promise<FitResult> {
  checkModel(model, 'fit');
  if (a instanceof DataLoader) return fitLoader(model, a, b as FitLoaderOptions);
  return fitBatch(model, a, b as Tensor, c as FitOptions);
}

function checkModel(model: Model, fn: string): void {
  if (!model || typeof model.forward !== 'function' || typeof model.parameters !== 'function') {
    throw new TypeError(`${fn}: model must have forward(x) and parameters(), got ${describe(model)}`);
  }
}

function lossFunction(spec: unknown, dflt: LossSpec, fn: string): (a: Tensor, b: Tensor) => Tensor {
  const s = spec ?? dflt;
  if (s === 'mse') return (a, b) => mseLoss(a, b);
  if (s === 'sse') return (a, b) => mseLoss(a, b, { reduction: 'sum' });
  if (s === 'crossEntropy') return (a, b) => crossEntropy(a, b);
  if (typeof s === 'function') return s as (a: Tensor, b: Tensor) => Tensor;
  throw new RangeError(`${fn}: loss must be 'mse', 'sse', 'crossEntropy' or a function, got ${JSON.stringify(s) ?? describe(s)}`);
}

function optimizerOf(model: Model, opts: { optimizer?: Optimizer; lr?: number }, fn: string, dfltLr: number | null): Optimizer {
  if (opts.optimizer !== undefined && opts.lr !== undefined) throw new TypeError(`${fn}: give either optimizer or lr, not both`);
  if (opts.optimizer !== undefined) {
    const o = opts.optimizer as Partial<Optimizer> | null;
    if (!o || typeof o.step !== 'function' || typeof o.zeroGrad !== 'function') {
      throw new TypeError(`${fn}: optimizer must have step() and zeroGrad(), got ${describe(opts.optimizer)}`);
    }
    return opts.optimizer;
  }
  if (opts.lr === undefined && dfltLr === null) throw new TypeError(`${fn}: an optimizer or a learning rate (lr) is required`);
  return new SGD(model.parameters(), { lr: opts.lr ?? dfltLr! });
}

function checkLoss(l: unknown, fn: string): Tensor {
  if (!(l instanceof Tensor)) throw new TypeError(`${fn}: the loss function must return a Tensor, got ${describe(l)}`);
  if (l.size !== 1) throw new ShapeError(`${fn}: the loss must have one element, got shape ${fmtShape(l.shape)}`);
  return l;
}

function checkOutput(yhat: unknown, fn: string): Tensor {
  if (!(yhat instanceof Tensor)) throw new TypeError(`${fn}: model.forward must return a Tensor, got ${describe(yhat)}`);
  return yhat;
}

function fitBatch(model: Model, x: Tensor, y: Tensor, opts: FitOptions): { loss: number[] } {
  const fn = 'fit';
  if (!(x instanceof Tensor)) throw new TypeError(`${fn}: x must be a Tensor or a DataLoader, got ${describe(x)}`);
  if (!(y instanceof Tensor)) throw new TypeError(`${fn}: y must be a Tensor, got ${describe(y)}`);
  x.check(fn); y.check(fn);
  if (!opts || typeof opts !== 'object') throw new TypeError(`${fn}: options { epochs, ... } are required`);
  const { epochs } = opts;
  if (typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 1) {
    throw new RangeError(`${fn}: epochs must be a positive integer, got ${String(epochs)}`);
  }
  if (x.ndim > 0 && y.ndim > 0 && x.shape[0] !== y.shape[0]) {
    throw new ShapeError(`${fn}: x and y have different batch sizes: x ${fmtShape(x.shape)}, y ${fmtShape(y.shape)}`);
  }
  const lossFn = lossFunction(opts.loss, 'mse', fn);
  if (opts.progress !== undefined && opts.log !== undefined) throw new TypeError(`${fn}: give either progress or log (its former name), not both`);
  const log = opts.progress ?? opts.log, onEpoch = opts.onEpoch;
  if (log !== undefined && typeof log !== 'boolean' && typeof log !== 'function' && !(typeof log === 'number' && Number.isInteger(log) && log >= 1)) {
    throw new RangeError(`${fn}: ${opts.log !== undefined ? 'log' : 'progress'} must be true, a positive integer or a function, got ${describe(log)}`);
  }
  if (onEpoch !== undefined && typeof onEpoch !== 'function') throw new TypeError(`${fn}: onEpoch must be a function, got ${describe(onEpoch)}`);
  const optimizer = optimizerOf(model, opts, fn, 1e-3);
  const every = log === true || typeof log === 'function' ? Math.max(1, Math.round(epochs / 5)) : typeof log === 'number' ? log : 0;
  const print = typeof log === 'function' ? log : (line: string) => console.log(line);

  const losses: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const value = tidy(() => {
      const yhat = checkOutput(model.forward(x), fn);
      if ((opts.loss ?? 'mse') !== 'crossEntropy' && typeof opts.loss !== 'function' && fmtShape(yhat.shape) !== fmtShape(y.shape)) {
        throw new ShapeError(`${fn}: model output shape ${fmtShape(yhat.shape)} does not match y shape ${fmtShape(y.shape)}`);
      }
      const l = checkLoss(lossFn(yhat, y), fn);
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

// ---------------------------------------------------------------------------
// Training over a DataLoader
// ---------------------------------------------------------------------------

/** A paused epoch's running totals, so a resumed epoch reports the whole epoch. */
interface Carry { epoch: number; position: number; lossSum: number; correct: number; count: number; seconds: number }
const carried = new WeakMap<DataLoader, Carry>();

/** Lets the event loop run (timers, messages, an abort): a macrotask, not a microtask. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return new Promise((r) => { g.setImmediate!(r); });
  if (typeof MessageChannel === 'function') {
    return new Promise((r) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { ch.port1.close(); r(); };
      ch.port2.postMessage(0);
    });
  }
  return new Promise((r) => { setTimeout(r, 0); });
}

interface Terminal { isTTY?: boolean; columns?: number; write(s: string): unknown }
function terminal(): Terminal | null {
  const p = (globalThis as { process?: { stdout?: Terminal } }).process;
  return p?.stdout && typeof p.stdout.write === 'function' ? p.stdout : null;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));

/** The epoch's line: `epoch 3/10  loss 0.5123  accuracy 0.8101  val_loss 0.55  val_accuracy 0.79  9.8 s`. */
function epochLine(l: EpochLogs, epochs: number): string {
  let s = `epoch ${l.epoch}/${epochs}  loss ${fmt(l.loss)}`;
  if (l.accuracy !== undefined) s += `  accuracy ${fmt(l.accuracy)}`;
  if (l.valLoss !== undefined) s += `  val_loss ${fmt(l.valLoss)}`;
  if (l.valAccuracy !== undefined) s += `  val_accuracy ${fmt(l.valAccuracy)}`;
  return `${s}  ${l.seconds.toFixed(1)} s`;
}

function metricsArg(m: unknown, fn: string): boolean {
  if (m === undefined) return false;
  if (!Array.isArray(m)) throw new TypeError(`${fn}: metrics must be an array such as ['accuracy'], got ${describe(m)}`);
  for (const k of m) if (k !== 'accuracy') throw new RangeError(`${fn}: unknown metric ${JSON.stringify(k) ?? describe(k)}; the metrics are 'accuracy'`);
  return m.length > 0;
}

function callbackArg(f: unknown, name: string, fn: string): void {
  if (f !== undefined && typeof f !== 'function') throw new TypeError(`${fn}: ${name} must be a function, got ${describe(f)}`);
}

/** The number of correct argmax predictions of a (B, C) output for labels y (B). */
function correctCount(yhat: Tensor, y: Tensor, fn: string): number {
  if (yhat.ndim !== 2 || y.ndim !== 1 || y.shape[0] !== yhat.shape[0]) {
    throw new ShapeError(`${fn}: accuracy needs a (batch, classes) output and (batch) class labels, got output ${fmtShape(yhat.shape)} and labels ${fmtShape(y.shape)}`);
  }
  return yhat.argmax(1).eq(y).sum().item();
}

function setMode(model: Model, training: boolean): void {
  if (typeof model.train === 'function') model.train(training);
}

async function fitLoader(model: Model, loader: DataLoader, opts: FitLoaderOptions): Promise<FitResult> {
  const fn = 'fit';
  if (!opts || typeof opts !== 'object') throw new TypeError(`${fn}: options { epochs, optimizer | lr, ... } are required`);
  const { epochs, validation, onBatch, onEpoch, signal } = opts;
  if (typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 1) {
    throw new RangeError(`${fn}: epochs must be a positive integer, got ${describe(epochs)}`);
  }
  const lossFn = lossFunction(opts.loss, 'crossEntropy', fn);
  const accuracy = metricsArg(opts.metrics, fn);
  callbackArg(onBatch, 'onBatch', fn);
  callbackArg(onEpoch, 'onEpoch', fn);
  if (validation !== undefined && !(validation instanceof DataLoader) && !(validation instanceof TensorDataset)) {
    throw new TypeError(`${fn}: validation must be a DataLoader or a TensorDataset, got ${describe(validation)}`);
  }
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw new TypeError(`${fn}: signal must be an AbortSignal, got ${describe(signal)}`);
  }
  const progress = opts.progress ?? (terminal() !== null && typeof (globalThis as { window?: unknown }).window === 'undefined');
  if (typeof progress !== 'boolean' && typeof progress !== 'function') {
    throw new TypeError(`${fn}: progress must be a boolean or a function, got ${describe(progress)}`);
  }
  const optimizer = optimizerOf(model, opts, fn, null);
  const out = terminal();
  const bar = progress === true && out?.isTTY === true ? out : null;
  const print = typeof progress === 'function' ? progress : progress ? (line: string) => console.log(line) : null;

  const history: EpochLogs[] = [];
  const wasTraining = model.training;
  let lastYield = performance.now(), lastDraw = 0;
  try {
    while (loader.epoch < epochs) {
      const epoch = loader.epoch + 1, batches = loader.length;
      const prev = carried.get(loader);
      const c: Carry = prev && prev.epoch === loader.epoch && prev.position === loader.position
        ? prev : { epoch: loader.epoch, position: loader.position, lossSum: 0, correct: 0, count: 0, seconds: 0 };
      carried.delete(loader);
      let t0 = performance.now();
      setMode(model, true);
      let stop: FitResult['stopped'] | null = null;
      for (;;) {
        if (signal?.aborted) { stop = 'aborted'; break; }
        const b = loader.next();
        if (!b) break;
        const index = b.index;
        const step = stepOn(model, optimizer, lossFn, b, accuracy, fn);
        c.lossSum += step.loss * step.size; c.correct += step.correct; c.count += step.size;
        c.position = loader.position;
        if (bar && (performance.now() - lastDraw > 100 || loader.position === batches)) {
          lastDraw = performance.now();
          drawBar(bar, epoch, epochs, loader.position, batches, c, accuracy, c.seconds + (lastDraw - t0) / 1000);
        }
        if (onBatch) {
          const logs: BatchLogs = { epoch, batch: index, batches, loss: step.loss, size: step.size };
          if (accuracy) logs.accuracy = step.correct / step.size;
          if (await onBatch(logs) === false) { stop = 'stopped'; }
        }
        if (performance.now() - lastYield > 8) { await yieldToEventLoop(); lastYield = performance.now(); }
        if (stop) break;
      }
      if (stop) {
        // The epoch is unfinished: keep its totals for the call that resumes it.
        c.seconds += (performance.now() - t0) / 1000;
        c.epoch = loader.epoch; c.position = loader.position;
        carried.set(loader, c);
        if (bar) bar.write('\n');
        return { history, stopped: stop };
      }
      const logs: EpochLogs = { epoch, loss: c.count ? c.lossSum / c.count : NaN, seconds: 0 };
      if (accuracy) logs.accuracy = c.count ? c.correct / c.count : NaN;
      if (validation) {
        const v = await evaluateOn(model, validation, lossFn, accuracy, fn);
        logs.valLoss = v.loss;
        if (accuracy) logs.valAccuracy = v.accuracy;
      }
      logs.seconds = c.seconds + (performance.now() - t0) / 1000;
      t0 = performance.now();
      history.push(logs);
      if (bar) bar.write('\r\x1b[K');
      print?.(epochLine(logs, epochs));
      if (onEpoch && await onEpoch(epoch, { ...logs }) === false) return { history, stopped: 'stopped' };
    }
    return { history, stopped: 'done' };
  } finally {
    if (wasTraining !== undefined) setMode(model, wasTraining);
  }
}

function drawBar(out: Terminal, epoch: number, epochs: number, pos: number, batches: number, c: Carry, accuracy: boolean, seconds: number): void {
  const width = 24, filled = Math.round((width * pos) / Math.max(batches, 1));
  let s = `\r\x1b[Kepoch ${epoch}/${epochs} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${pos}/${batches}  loss ${fmt(c.lossSum / Math.max(c.count, 1))}`;
  if (accuracy) s += `  accuracy ${fmt(c.correct / Math.max(c.count, 1))}`;
  s += `  ${seconds.toFixed(1)} s`;
  const cols = out.columns ?? 120;
  out.write(s.length > cols + 4 ? s.slice(0, cols + 4) : s);
}

/** One optimizer step on a batch; frees everything it made and the batch. */
function stepOn(model: Model, optimizer: Optimizer, lossFn: (a: Tensor, b: Tensor) => Tensor, b: Batch, accuracy: boolean, fn: string):
  { loss: number; correct: number; size: number } {
  try {
    return tidy(() => {
      const yhat = checkOutput(model.forward(b.x), fn);
      const l = checkLoss(lossFn(yhat, b.y), fn);
      optimizer.zeroGrad();
      l.backward();
      optimizer.step();
      const correct = accuracy ? noGrad(() => correctCount(yhat, b.y, fn)) : 0;
      return { loss: l.item(), correct, size: b.x.shape[0] };
    });
  } finally {
    b.x.dispose(); b.y.dispose();
  }
}

async function evaluateOn(model: Model, data: DataLoader | TensorDataset, lossFn: (a: Tensor, b: Tensor) => Tensor, accuracy: boolean, fn: string):
  Promise<{ loss: number; accuracy: number }> {
  const loader = data instanceof DataLoader ? data : new DataLoader(data, { batchSize: 256 });
  // A whole epoch of the loader, from its start.
  if (loader.position > 0) loader.loadState(Object.assign({}, loader.state(), { position: 0 }));
  const wasTraining = model.training;
  setMode(model, false);
  let lossSum = 0, correct = 0, count = 0, lastYield = performance.now();
  try {
    for (let b = loader.next(); b; b = loader.next()) {
      const batch = b;
      try {
        const r = tidy(() => noGrad(() => {
          const yhat = checkOutput(model.forward(batch.x), fn);
          const l = checkLoss(lossFn(yhat, batch.y), fn);
          return { loss: l.item(), correct: accuracy ? correctCount(yhat, batch.y, fn) : 0 };
        }));
        const n = batch.x.shape[0];
        lossSum += r.loss * n; correct += r.correct; count += n;
      } finally {
        batch.x.dispose(); batch.y.dispose();
      }
      if (performance.now() - lastYield > 8) { await yieldToEventLoop(); lastYield = performance.now(); }
    }
  } finally {
    if (wasTraining !== undefined) setMode(model, wasTraining);
  }
  return { loss: count ? lossSum / count : NaN, accuracy: count ? correct / count : NaN };
}

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Default 'crossEntropy'. */
  loss?: LossSpec;
  /** Default ['accuracy']. */
  metrics?: readonly Metric[];
}

/**
 * The mean loss (and accuracy) of `model` over a whole epoch of `data`, in eval
 * mode without recording gradients; the model's mode is restored after.
 *
 * @example
 * const { loss, accuracy } = await evaluate(net, testLoader);   // { loss: 0.52, accuracy: 0.80 }
 */
export async function evaluate(model: Model, data: DataLoader | TensorDataset, opts: EvaluateOptions = {}): Promise<{ loss: number; accuracy?: number }> {
  const fn = 'evaluate';
  checkModel(model, fn);
  if (!(data instanceof DataLoader) && !(data instanceof TensorDataset)) {
    throw new TypeError(`${fn}: data must be a DataLoader or a TensorDataset, got ${describe(data)}`);
  }
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
  const lossFn = lossFunction(opts.loss, 'crossEntropy', fn);
  const accuracy = opts.metrics === undefined ? true : metricsArg(opts.metrics, fn);
  const r = await evaluateOn(model, data, lossFn, accuracy, fn);
  return accuracy ? r : { loss: r.loss };
}

/**
 * The model's outputs for `x` (its first dimension is the batch), computed in
 * eval mode without recording gradients, `batchSize` samples at a time (default
 * 256) so a large input does not need the memory of one huge batch; the model's
 * mode is restored after. The caller owns the result.
 *
 * @example
 * const logits = predict(net, images);          // [N, 10]
 * const labels = logits.argmax(1);              // predicted classes
 */
export function predict(model: Model, x: Tensor, opts: { batchSize?: number } = {}): Tensor {
  const fn = 'predict';
  checkModel(model, fn);
  if (!(x instanceof Tensor)) throw new TypeError(`${fn}: x must be a Tensor, got ${describe(x)}`);
  x.check(fn);
  if (x.ndim < 1) throw new ShapeError(`${fn}: x must have a batch dimension, got shape ${fmtShape(x.shape)}`);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
  const { batchSize = 256 } = opts;
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`${fn}: batchSize must be a positive integer, got ${describe(batchSize)}`);
  }
  const wasTraining = model.training;
  setMode(model, false);
  try {
    return tidy(() => noGrad(() => {
      const n = x.shape[0];
      if (n <= batchSize) return checkOutput(model.forward(x), fn).clone();
      const parts: Tensor[] = [];
      for (let s = 0; s < n; s += batchSize) {
        parts.push(keep(tidy(() => checkOutput(model.forward(x.narrow(0, s, Math.min(batchSize, n - s))), fn).clone())));
      }
      try {
        return cat(parts, 0);
      } finally {
        for (const p of parts) p.dispose();
      }
    }));
  } finally {
    if (wasTraining !== undefined) setMode(model, wasTraining);
  }
}

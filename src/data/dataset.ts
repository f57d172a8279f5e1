// Datasets and the DataLoader: batches are gathered in WebAssembly memory
// (a view of the data when not shuffled, one gather kernel when shuffled),
// with seeded shuffling and seeded per-batch transforms, and a position that
// survives pauses (and checkpoints).
import { describe, keep, tidy } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { indexSelect } from '../ops/shape_ops';
import { Rng } from '../random';
import { Tensor, tensor } from '../tensor';
import type { Transform } from './transforms';

/**
 * Samples as the rows of tensors: `x[i]` and `y[i]` (labels may be given as
 * an Int32Array or numbers; they become a float32 tensor of whole numbers).
 * The dataset keeps its tensors until `dispose()`.
 *
 * @example
 * const ds = new TensorDataset(images, labels);   // images [N, 1, 28, 28], labels [N]
 * ds.length;                                      // N
 */
export class TensorDataset {
  readonly x: Tensor;
  readonly y: Tensor;

  constructor(x: Tensor, y: Tensor | Int32Array | readonly number[]) {
    const fn = 'TensorDataset';
    if (!(x instanceof Tensor)) throw new TypeError(`${fn}: x must be a Tensor, got ${describe(x)}`);
    x.check(fn);
    if (x.ndim < 1) throw new ShapeError(`${fn}: x must have a first (sample) dimension, got shape ${fmtShape(x.shape)}`);
    let labels: Tensor;
    if (y instanceof Tensor) labels = y.check(fn);
    else if (y instanceof Int32Array || Array.isArray(y)) labels = tensor(y instanceof Int32Array ? y : Float32Array.from(y), [y.length]);
    else throw new TypeError(`${fn}: y must be a Tensor, an Int32Array or an array of numbers, got ${describe(y)}`);
    if (labels.ndim < 1 || labels.shape[0] !== x.shape[0]) {
      if (!(y instanceof Tensor)) labels.dispose();
      throw new ShapeError(`${fn}: x has ${x.shape[0]} samples and y ${labels.ndim ? labels.shape[0] : 'none'} (shapes ${fmtShape(x.shape)} and ${fmtShape(labels.shape)})`);
    }
    this.x = keep(x);
    this.y = keep(labels);
  }

  /** Number of samples. */
  get length(): number { return this.x.shape[0]; }

  /** Frees the samples. */
  dispose(): void { this.x.dispose(); this.y.dispose(); }
}

/** Options of `DataLoader`. */
export interface DataLoaderOptions {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** A new random order every epoch (default false: the dataset's order). */
  shuffle?: boolean;
  /** Seed of the loader's generators (shuffling and transforms); default: drawn from the global generator. */
  seed?: number;
  /** Drop the last, incomplete batch (default false). */
  dropLast?: boolean;
  /** A transform of each batch of x (see `transforms`), seeded by the loader. */
  transform?: Transform;
}

/** One batch: inputs, labels, and its position in the epoch. */
export interface Batch { x: Tensor; y: Tensor; index: number }

/** Where a loader is: for pausing, resuming and checkpoints. */
export interface LoaderState {
  /** Completed epochs. */
  epoch: number;
  /** Batches already given in the current epoch. */
  position: number;
  /** The generators' states (shuffle, transforms) at the start of the current epoch. */
  shuffle: number[];
  augment: number[];
}

/**
 * Batches of a dataset, as PyTorch's DataLoader: a batch is gathered in
 * WebAssembly memory (no per-sample JavaScript arrays), shuffled with the
 * loader's own seeded generator and transformed with another. The loader
 * remembers its position: iterating it gives the rest of the current epoch,
 * and `fit` resumes a paused epoch where it stopped.
 *
 * @example
 * const loader = new DataLoader(train, { batchSize: 256, shuffle: true, seed: 0 });
 * for (const { x, y } of loader) { ... x.dispose(); y.dispose(); }   // one epoch
 * loader.length; // batches per epoch
 */
export class DataLoader implements Iterable<Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly transform: Transform | null;
  /** Completed epochs. */
  epoch = 0;
  /** Batches already given in the current epoch. */
  position = 0;
  private shuffleRng: Rng;
  private augmentRng: Rng;
  private order: Int32Array | null = null;
  private epochStart: { shuffle: number[]; augment: number[] };

  constructor(readonly dataset: TensorDataset, opts: DataLoaderOptions = {}) {
    const fn = 'DataLoader';
    if (!(dataset instanceof TensorDataset)) throw new TypeError(`${fn}: expected a TensorDataset, got ${describe(dataset)}`);
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
    const { batchSize = 1, shuffle = false, seed, dropLast = false, transform } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`${fn}: batchSize must be a positive integer, got ${describe(batchSize)}`);
    if (typeof shuffle !== 'boolean') throw new TypeError(`${fn}: shuffle must be a boolean, got ${describe(shuffle)}`);
    if (typeof dropLast !== 'boolean') throw new TypeError(`${fn}: dropLast must be a boolean, got ${describe(dropLast)}`);
    if (transform !== undefined && typeof transform !== 'function') throw new TypeError(`${fn}: transform must be a function (see transforms), got ${describe(transform)}`);
    if (seed !== undefined && !Number.isInteger(seed)) throw new TypeError(`${fn}: seed must be an integer, got ${describe(seed)}`);
    this.batchSize = batchSize; this.shuffle = shuffle; this.dropLast = dropLast; this.transform = transform ?? null;
    const base = seed ?? new Rng(Date.now() ^ Math.floor(Math.random() * 0x7fffffff)).nextU32();
    this.shuffleRng = new Rng(base);
    this.augmentRng = new Rng(base ^ 0x5bd1e995);
    this.epochStart = { shuffle: this.shuffleRng.state(), augment: this.augmentRng.state() };
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of the current epoch (drawn when the epoch starts). */
  private orderOf(): Int32Array | null {
    if (!this.shuffle) return null;
    if (!this.order) {
      const n = this.dataset.length;
      const o = new Int32Array(n);
      for (let i = 0; i < n; i++) o[i] = i;
      for (let i = n - 1; i > 0; i--) {
        const j = this.shuffleRng.nextU32() % (i + 1);
        const t = o[i]; o[i] = o[j]; o[j] = t;
      }
      this.order = o;
    }
    return this.order;
  }

  /**
   * The next batch of the current epoch, or null at its end (the loader then
   * moves on to the next epoch). The caller owns the batch's tensors.
   */
  next(): Batch | null {
    if (this.position >= this.length) { this.endEpoch(); return null; }
    const n = this.dataset.length, b = this.batchSize;
    const start = this.position * b, end = Math.min(n, start + b);
    const order = this.orderOf();
    const { x, y } = this.dataset;
    const batch = tidy(() => {
      const idx = order ? order.subarray(start, end) : null;
      let bx = idx ? indexSelect(x, 0, idx) : x.slice(start, end);
      const by = idx ? indexSelect(y, 0, idx) : y.slice(start, end);
      if (this.transform) bx = this.transform(bx, this.augmentRng);
      return { x: bx, y: by };
    });
    const index = this.position++;
    return Object.assign({}, batch, { index });
  }

  /** Ends the current epoch: the next batch starts the next one. */
  private endEpoch(): void {
    this.epoch++;
    this.position = 0;
    this.order = null;
    this.epochStart = { shuffle: this.shuffleRng.state(), augment: this.augmentRng.state() };
  }

  /** The rest of the current epoch. */
  *[Symbol.iterator](): Iterator<Batch> {
    for (let b = this.next(); b; b = this.next()) yield b;
  }

  /** Where the loader is (see `loadState`). */
  state(): LoaderState {
    return { epoch: this.epoch, position: this.position, shuffle: [...this.epochStart.shuffle], augment: [...this.epochStart.augment] };
  }

  /**
   * Puts the loader back where `state()` was taken: the same epoch, the same
   * order, and the same transforms for the batches still to come.
   */
  loadState(s: LoaderState): void {
    const fn = 'DataLoader.loadState';
    if (s === null || typeof s !== 'object' || !Number.isInteger(s.epoch) || !Number.isInteger(s.position) || s.position < 0 || s.position > this.length) {
      throw new TypeError(`${fn}: expected { epoch, position (0..${this.length}), shuffle, augment }, got ${describe(s)}`);
    }
    this.shuffleRng = Rng.fromState(s.shuffle, fn);
    this.augmentRng = Rng.fromState(s.augment, fn);
    this.epochStart = { shuffle: [...s.shuffle], augment: [...s.augment] };
    this.epoch = s.epoch;
    this.order = null;
    this.position = 0;
    // Replay the epoch up to the position: the same order, the transforms' draws consumed.
    this.orderOf();
    if (this.transform && s.position > 0) {
      for (let p = 0; p < s.position; p++) tidy(() => { const b = this.next(); if (b) { b.x.dispose(); b.y.dispose(); } });
    }
    this.position = s.position;
  }
}

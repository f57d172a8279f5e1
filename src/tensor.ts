import type { Backend, Storage } from './backend/backend';
import { currentBackend, getBackend, onBackendChange } from './engine';
import { DisposedError, ShapeError, fmtShape } from './errors';
import { formatTensor } from './format';

/** Anything `tensor()` accepts: a number, nested arrays of numbers, or a typed array. */
export type TensorLike = number | NestedArray | Float32Array | Float64Array;
export interface NestedArray extends ReadonlyArray<number | NestedArray> {}
/** A nested array as `toArray()` returns it. */
export type NestedNumbers = number | NestedNumbers[];

/** PyTorch's names for the gradient functions, as printed in `grad_fn=<...>`. */
const GRAD_FN_NAMES: Record<string, string> = {
  add: 'AddBackward0', sub: 'SubBackward0', mul: 'MulBackward0', div: 'DivBackward0', neg: 'NegBackward0',
  square: 'PowBackward0', pow: 'PowBackward0', relu: 'ReluBackward0', sum: 'SumBackward0', mean: 'MeanBackward0',
  reshape: 'ViewBackward0', conv2d: 'ConvolutionBackward0', corr2d: 'ConvolutionBackward0', mseLoss: 'MseLossBackward0',
};

/** How an op's output propagates gradients to its inputs. */
export interface GradFn {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Gradients for each input (null where an input needs none), given the output's gradient. */
  backward(grad: Tensor): Array<Tensor | null>;
}

let nextId = 1;
let liveTensors = 0;
let liveBytes = 0;
let generation = 0;
onBackendChange(() => { generation++; liveTensors = 0; liveBytes = 0; scopes.length = 0; });

const scopes: Tensor[][] = [];
let gradEnabled = true;

interface Held { backend: Backend; storage: Storage; bytes: number; generation: number }
const finalizer = typeof FinalizationRegistry !== 'undefined'
  ? new FinalizationRegistry<Held>((h) => {
    if (h.generation !== generation) return;
    h.backend.free(h.storage);
    liveTensors--; liveBytes -= h.bytes;
  })
  : null;

/** Validates a shape and returns its element count. */
export function checkShape(shape: unknown, fn: string): number {
  if (!Array.isArray(shape)) throw new TypeError(`${fn}: shape must be an array of integers, got ${String(shape)}`);
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new RangeError(`${fn}: shape entries must be non-negative integers, got ${fmtShape(shape as number[])}`);
    }
    n *= d;
  }
  if (n > 2 ** 30) throw new RangeError(`${fn}: shape ${fmtShape(shape as number[])} has ${n} elements, more than the 2^30 supported`);
  return n;
}

/**
 * An n-dimensional float32 array in the engine's memory, with an optional
 * gradient. Free it with `dispose()` or create it inside `tidy()`.
 *
 * @example
 * const t = tensor([[1, 2], [3, 4]]);
 * t.shape;      // [2, 2]
 * t.toArray();  // [[1, 2], [3, 4]]
 * String(t);    // 'tensor([[1., 2.],\n        [3., 4.]])'
 * t.dispose();
 */
export class Tensor {
  readonly id: number;
  readonly shape: readonly number[];
  readonly size: number;
  /** Whether gradients flow to this tensor; set at creation or with `requiresGrad_()`. */
  requiresGrad: boolean;
  /** The accumulated gradient (leaves only), or null. */
  grad: Tensor | null = null;
  /** @internal */ readonly backend: Backend;
  /** @internal */ readonly storage: Storage;
  /** @internal */ _ctx: GradFn | null;
  /** @internal Bumped by every in-place write; keys cached packed weights. */
  version = 0;
  private readonly gen: number;
  private disposed = false;
  private guarded = false;

  /** @internal Use `tensor()`, `zeros()` and the ops instead. */
  constructor(shape: readonly number[], backend: Backend, storage: Storage, requiresGrad = false, ctx: GradFn | null = null) {
    this.id = nextId++;
    this.shape = shape.slice();
    let size = 1;
    for (let i = 0; i < shape.length; i++) size *= shape[i];
    this.size = size;
    this.backend = backend;
    this.storage = storage;
    this.requiresGrad = requiresGrad;
    this._ctx = ctx;
    this.gen = generation;
    liveTensors++; liveBytes += this.size * 4;
    // Tensors made inside tidy() are freed by it; others get the safety net.
    if (scopes.length) scopes[scopes.length - 1].push(this);
    else this.guard();
  }

  /** @internal Registers the tensor with the FinalizationRegistry safety net. */
  guard(): void {
    if (this.guarded || !finalizer) return;
    this.guarded = true;
    finalizer.register(this, { backend: this.backend, storage: this.storage, bytes: this.size * 4, generation: this.gen }, this);
  }

  /** Number of dimensions. */
  get ndim(): number { return this.shape.length; }
  /** Whether `dispose()` was called (or the backend was replaced). */
  get isDisposed(): boolean { return this.disposed || this.gen !== generation; }
  /** Whether this tensor was created by the user rather than by an op. */
  get isLeaf(): boolean { return this._ctx === null; }

  /** @internal Throws DisposedError when the tensor can no longer be used. */
  check(fn: string): this {
    if (this.disposed) throw new DisposedError(`${fn}: tensor #${this.id} with shape ${fmtShape(this.shape)} was disposed`);
    if (this.gen !== generation) throw new DisposedError(`${fn}: tensor #${this.id} belongs to a backend that init() replaced`);
    return this;
  }

  /** @internal The live view of the data (float32 for wasm, float64 for reference). */
  values(fn = 'values'): Float32Array | Float64Array {
    this.check(fn);
    return this.backend.view(this.storage);
  }

  /** A copy of the data as a Float32Array, row-major. */
  data(): Float32Array { return Float32Array.from(this.values('data')); }

  /** The data as nested arrays (a number for a 0-d tensor). */
  toArray(): NestedNumbers {
    const v = this.values('toArray');
    const build = (dim: number, off: number): NestedNumbers => {
      if (dim === this.shape.length) return v[off];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const out: NestedNumbers[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, off + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    const v = this.values('item');
    if (this.size !== 1) throw new ShapeError(`item: only one-element tensors can be converted to a number, got shape ${fmtShape(this.shape)}`);
    return v[0];
  }

  /**
   * Copies `values` into this tensor in place (same number of elements).
   * Not recorded by autograd; use it for parameters under `noGrad`.
   */
  assign(values: Tensor | TensorLike): this {
    const dst = this.values('assign');
    let src: ArrayLike<number>;
    if (values instanceof Tensor) src = values.values('assign');
    else if (values instanceof Float32Array || values instanceof Float64Array) src = values;
    else src = flatten(values, 'assign').data;
    if (src.length !== this.size) {
      throw new ShapeError(`assign: got ${src.length} values for a tensor of shape ${fmtShape(this.shape)} (${this.size} elements)`);
    }
    for (let i = 0; i < this.size; i++) {
      if (typeof src[i] !== 'number') throw new TypeError(`assign: value ${i} is not a number: ${String(src[i])}`);
    }
    if (src !== dst) dst.set(src);
    this.version++;
    return this;
  }

  /** PyTorch's printed form, e.g. `tensor([[19., 25.],\n        [37., 43.]])`. */
  toString(): string {
    if (this.isDisposed) return `tensor(<disposed #${this.id}>)`;
    return formatTensor(this.values('toString'), this.shape, {
      requiresGrad: this.requiresGrad,
      gradFn: this._ctx ? GRAD_FN_NAMES[this._ctx.name] ?? `${this._ctx.name}Backward` : undefined,
    });
  }

  /** Frees the data. Harmless to call twice; the tensor throws DisposedError afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.gen !== generation) return;
    if (this.guarded) finalizer?.unregister(this);
    this.backend.free(this.storage);
    (this.backend as { forgetWeight?: (id: number) => void }).forgetWeight?.(this.id);
    liveTensors--; liveBytes -= this.size * 4;
    if (this.grad) { this.grad.dispose(); this.grad = null; }
    this._ctx = null;
  }

  /** Marks this tensor as a leaf that accumulates gradients. */
  requiresGrad_(flag = true): this { this.requiresGrad = flag; return this; }
}

/** @internal Makes an output tensor on the active backend. */
export function empty(shape: readonly number[], fn: string, requiresGrad = false, ctx: GradFn | null = null): Tensor {
  const backend = getBackend(fn);
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(shape, backend, backend.alloc(n), requiresGrad, ctx);
}

/** Flattens nested arrays, inferring the shape and checking it is rectangular and numeric. */
export function flatten(data: unknown, fn: string): { data: number[]; shape: number[] } {
  if (typeof data === 'number') return { data: [data], shape: [] };
  if (!Array.isArray(data)) throw new TypeError(`${fn}: data must be a number, a nested array of numbers or a Float32Array, got ${describe(data)}`);
  const shape: number[] = [];
  for (let d: unknown = data; Array.isArray(d); d = d[0]) shape.push(d.length);
  const out: number[] = [];
  const walk = (d: unknown, dim: number, path: number[]): void => {
    if (dim === shape.length) {
      if (typeof d !== 'number') throw new TypeError(`${fn}: element [${path.join(', ')}] is not a number: ${describe(d)}`);
      out.push(d);
      return;
    }
    if (!Array.isArray(d) || d.length !== shape[dim]) {
      throw new ShapeError(`${fn}: ragged nested array: element [${path.join(', ')}] has ${Array.isArray(d) ? `length ${d.length}` : describe(d)}, expected length ${shape[dim]}`);
    }
    for (let i = 0; i < d.length; i++) walk(d[i], dim + 1, [...path, i]);
  };
  walk(data, 0, []);
  return { data: out, shape };
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return String(v);
}

/** Options for creating tensors. */
export interface TensorOptions { requiresGrad?: boolean }

/**
 * Creates a tensor from a number, nested arrays, a `number[]` or a `Float32Array`
 * (with `shape` for flat data).
 *
 * @example
 * tensor([[0, 1, 2], [3, 4, 5]]).shape;          // [2, 3]
 * tensor([0, 1, 2, 3, 4, 5], [2, 3]).shape;      // [2, 3]
 * tensor(new Float32Array(6), [3, 2]).shape;     // [3, 2]
 * tensor(3).item();                              // 3 (a 0-d tensor)
 * tensor([1, -1], [1, 2], { requiresGrad: true });
 */
export function tensor(data: TensorLike, shape?: readonly number[], opts: TensorOptions = {}): Tensor {
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (data instanceof Float32Array || data instanceof Float64Array) {
    flat = data; inferred = [data.length];
  } else {
    const f = flatten(data, 'tensor');
    flat = f.data; inferred = f.shape;
  }
  const finalShape = shape === undefined ? inferred : [...shape];
  const n = checkShape(finalShape, 'tensor');
  if (n !== flat.length) {
    throw new ShapeError(`tensor: ${flat.length} values do not fit shape ${fmtShape(finalShape)} (${n} elements)`);
  }
  checkOpts(opts, 'tensor');
  const t = empty(finalShape, 'tensor', !!opts.requiresGrad);
  t.values().set(flat);
  return t;
}

function checkOpts(opts: TensorOptions, fn: string): void {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${String(opts)}`);
  if (opts.requiresGrad !== undefined && typeof opts.requiresGrad !== 'boolean') {
    throw new TypeError(`${fn}: requiresGrad must be a boolean, got ${String(opts.requiresGrad)}`);
  }
}

/**
 * A tensor of the given shape filled with `value`.
 *
 * @example
 * full([2, 2], 7).toArray(); // [[7, 7], [7, 7]]
 */
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  return filled(shape, value, opts, 'full');
}

function filled(shape: readonly number[], value: number, opts: TensorOptions, fn: string): Tensor {
  checkShape(shape, fn);
  if (typeof value !== 'number') throw new TypeError(`${fn}: value must be a number, got ${describe(value)}`);
  checkOpts(opts, fn);
  const t = empty(shape, fn, !!opts.requiresGrad);
  t.values().fill(value);
  return t;
}

/** A tensor of zeros. @example zeros([2, 3]).toArray(); // [[0, 0, 0], [0, 0, 0]] */
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return filled(shape, 0, opts, 'zeros');
}

/** A tensor of ones. @example ones([6, 8]).size; // 48 */
export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return filled(shape, 1, opts, 'ones');
}

/** Number of live tensors, their bytes, and the size of the WebAssembly memory. */
export interface MemoryInfo { tensors: number; bytes: number; wasmBytes: number }

/**
 * What the engine holds: live tensors, their bytes, and the bytes of the
 * WebAssembly memory (which grows but never shrinks).
 *
 * @example
 * const before = memory().tensors;
 * tidy(() => corr2d(ones([6, 8]), tensor([[1, -1]])));
 * memory().tensors === before; // true
 */
export function memory(): MemoryInfo {
  const b = currentBackend();
  return { tensors: liveTensors, bytes: liveBytes, wasmBytes: b && b.name === 'wasm' ? b.memoryBytes() : 0 };
}


function collect(x: unknown, out: Set<Tensor>): void {
  if (x instanceof Tensor) out.add(x);
  else if (Array.isArray(x)) for (const v of x) collect(v, out);
  else if (x && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) for (const v of Object.values(x)) collect(v, out);
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the tensors it
 * returns (alone, in an array or in a plain object) and those passed to `keep`.
 * Scopes nest; returned tensors belong to the enclosing scope.
 *
 * @example
 * const y = tidy(() => corr2d(X, K).mul(2)); // the corr2d result is freed, y is kept
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`tidy: expected a function, got ${describe(fn)}`);
  const scope: Tensor[] = [];
  scopes.push(scope);
  const depth = scopes.length;
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new TypeError('tidy: the function must be synchronous; it returned a Promise');
  } catch (e) {
    if (scopes.length >= depth) scopes.length = depth - 1;
    for (const t of scope) if (!keptForever.has(t)) t.dispose();
    throw e;
  }
  scopes.length = depth - 1;
  const kept = new Set<Tensor>();
  collect(result, kept);
  const outer = scopes.length ? scopes[scopes.length - 1] : null;
  // Newest first: the allocator then mostly frees its topmost block.
  for (let k = scope.length - 1; k >= 0; k--) {
    const t = scope[k];
    if (kept.has(t)) { if (outer) outer.push(t); else t.guard(); }
    else if (!keptForever.has(t)) t.dispose();
  }
  return result;
}

const keptForever = new WeakSet<Tensor>();

/**
 * Exempts a tensor from disposal by the enclosing `tidy` scopes.
 * @example const w = tidy(() => keep(randn([3, 3]))); // survives the scope
 */
export function keep<T extends Tensor>(t: T): T {
  keptForever.add(t);
  t.guard();
  return t;
}

/** @internal Whether ops record gradients right now. */
export function isGradEnabled(): boolean { return gradEnabled; }

/**
 * Runs `fn` without recording gradients: its results have no history and need none.
 *
 * @example
 * noGrad(() => w.assign(w.sub(w.grad!.mul(0.1))));
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

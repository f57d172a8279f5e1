import type { Backend } from './backend/backend';
import type { Block } from './backend/layout';
import { Owned, Storage, adopt, checkCurrent, describe, getBackend, noGrad, renamed } from './engine';
import { DisposedError, ShapeError, fmtShape } from './errors';
import { formatWith } from './format';
import { backward } from './autograd';
import * as ew from './ops/elementwise';
import * as red from './ops/reduce';
import * as shp from './ops/shape';
import * as act from './ops/activation';
import * as so from './ops/shape_ops';
import * as sm from './ops/softmax';
import * as mm from './ops/matmul';
import * as pool from './ops/pooling';
import type { Operand } from './ops/op';

/** Anything `tensor()` accepts: a number, nested arrays of numbers, or a numeric typed array. */
export type TensorLike = number | NestedArray | NumericArray;
/** Nested arrays of numbers. */
export interface NestedArray extends ReadonlyArray<number | NestedArray> {}
/** The typed arrays `tensor()` and `assign()` accept (values are converted to float32). */
export type NumericArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array
  | Uint8ClampedArray | Uint16Array | Uint32Array;
/** A nested array as `toArray()` returns it. */
export type NestedNumbers = number | NestedNumbers[];

/** Most elements one tensor may have: byte offsets stay within what the kernels' 32-bit arithmetic addresses. */
export const MAX_ELEMENTS = 2 ** 29;
/** Most dimensions a tensor may have. */
export const MAX_NDIM = 32;

/** PyTorch's names for the gradient functions, as printed in `grad_fn=<...>`. */
const GRAD_FN_NAMES: Record<string, string> = {
  add: 'AddBackward0', sub: 'SubBackward0', mul: 'MulBackward0', div: 'DivBackward0', neg: 'NegBackward0',
  square: 'PowBackward0', pow: 'PowBackward0', relu: 'ReluBackward0', sum: 'SumBackward0', mean: 'MeanBackward0',
  reshape: 'ViewBackward0', flatten: 'ViewBackward0', conv2d: 'ConvolutionBackward0', corr2d: 'ConvolutionBackward0',
  mseLoss: 'MseLossBackward0', exp: 'ExpBackward0', log: 'LogBackward0', sigmoid: 'SigmoidBackward0', tanh: 'TanhBackward0',
  sqrt: 'SqrtBackward0', abs: 'AbsBackward0', clamp: 'ClampBackward1', leakyRelu: 'LeakyReluBackward0',
  maximum: 'MaximumBackward0', minimum: 'MinimumBackward0', max: 'AmaxBackward0', min: 'AminBackward0',
  transpose: 'TransposeBackward0', permute: 'PermuteBackward0', clone: 'CloneBackward0',
  maxPool2d: 'MaxPool2DWithIndicesBackward0', avgPool2d: 'AvgPool2DBackward0', adaptiveAvgPool2d: 'AdaptiveAvgPool2DBackward0',
  pad: 'ConstantPadNdBackward0', batchNorm: 'NativeBatchNormBackward0', layerNorm: 'NativeLayerNormBackward0',
  cat: 'CatBackward0', stack: 'StackBackward0', gather: 'GatherBackward0', indexSelect: 'IndexSelectBackward0',
  linear: 'AddmmBackward0', matmul: 'MmBackward0', narrow: 'SliceBackward0', slice: 'SliceBackward0', select: 'SelectBackward0',
  squeeze: 'SqueezeBackward1', unsqueeze: 'UnsqueezeBackward0', where: 'WhereBackward0', softplus: 'SoftplusBackward0',
  softmax: 'SoftmaxBackward0', logSoftmax: 'LogSoftmaxBackward0', nllLoss: 'NllLossBackward0', crossEntropy: 'NllLossBackward0',
  var: 'VarBackward0', std: 'StdBackward0', expand: 'ExpandBackward0',
};

/** How an op's output propagates gradients to its inputs. */
export interface GradFn {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Tensors the backward reads... */
  readonly saved: readonly Tensor[];
  /** ...and their storages' versions when recorded. */
  readonly versions: readonly number[];
  /** Gradients for each input (null where an input needs none), given the output's gradient. */
  backward(grad: Tensor): Array<Tensor | null>;
}

let nextId = 1;

/**
 * A private copy of a shape, validated: an array of at most MAX_NDIM whole
 * numbers, each read once, whose element count (counting zero dimensions as
 * one) is at most MAX_ELEMENTS. Returns the copy and its element count.
 */
export function readShape(shape: unknown, fn: string, what = 'shape'): { shape: number[]; size: number } {
  if (!Array.isArray(shape)) throw new TypeError(`${fn}: ${what} must be an array of integers, got ${describe(shape)}`);
  const n = shape.length;
  if (n > MAX_NDIM) throw new RangeError(`${fn}: ${what} has ${n} dimensions, more than the ${MAX_NDIM} supported`);
  const s = new Array<number>(n);
  for (let i = 0; i < n; i++) s[i] = shape[i];
  let size = 1, extent = 1;
  for (let i = 0; i < n; i++) {
    const d = s[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new RangeError(`${fn}: ${what} entries must be non-negative integers, got ${fmtValues(s)}`);
    }
    size *= d;
    extent *= Math.max(d, 1);
    if (extent > MAX_ELEMENTS) {
      throw new RangeError(`${fn}: ${what} ${fmtValues(s)} has more than the 2^29 (${MAX_ELEMENTS}) elements a tensor may have`);
    }
  }
  return { shape: s, size };
}

function fmtValues(s: readonly unknown[]): string {
  return `[${s.map((v) => (typeof v === 'number' ? String(v) : describe(v))).join(', ')}]`;
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
export class Tensor extends Owned {
  /** A number unique to this tensor, used in messages. */
  readonly id: number;
  /** Dimensions (the tensor's own copy; read-only: an op refuses a tensor whose shape was changed). */
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** Whether gradients flow to this tensor; set at creation or with `requiresGrad_()`. */
  requiresGrad: boolean;
  /**
   * The accumulated gradient (leaves only), or null. It belongs to this tensor
   * and is freed with it; dispose it yourself if you take it away and drop it.
   */
  grad: Tensor | null = null;
  /** @internal The storage this tensor views. */
  readonly storage: Storage;
  /** @internal Where this tensor starts in its storage, in elements. */
  readonly offset: number;
  /** @internal The op that made this tensor, while its graph lives. */
  _ctx: GradFn | null = null;
  /** @internal Whether an earlier backward() freed the graph behind this tensor. */
  _graphFreed = false;
  /** @internal backward()'s bookkeeping: the pass that visited it, and its gradient so far. */
  _mark = 0;
  /** @internal */
  _acc: Tensor | null = null;

  /** @internal Use `tensor()`, `zeros()` and the ops instead. */
  constructor(shape: readonly number[], size: number, storage: Storage, offset = 0) {
    super();
    this.id = nextId++;
    this.shape = shape.slice();
    this.size = size;
    this.storage = storage;
    this.offset = offset;
    this.requiresGrad = false;
    storage.retain();
    adopt(this);
  }

  /** Number of dimensions. */
  get ndim(): number { return this.shape.length; }
  /** Whether `dispose()` was called (or the backend was replaced). */
  get isDisposed(): boolean { return this._released || !this.storage.current; }
  /** Whether this tensor was created by the user rather than by an op. */
  get isLeaf(): boolean { return this._ctx === null; }
  /** @internal The storage's version: bumped by every in-place write. */
  get version(): number { return this.storage.version; }
  /** @internal The backend block (a Buf for the kernels); throws DisposedError when the tensor was disposed. */
  get block(): Block {
    if (this._released) this.check('kernel');
    return this.storage.block;
  }
  /** @internal The backend. */
  get backend(): Backend { return this.storage.backend; }

  /** @internal Throws when the tensor's shape array was changed from outside (its size no longer matches). */
  checkShape(fn: string): this {
    const s = this.shape;
    let n = 1;
    for (let i = 0; i < s.length; i++) n *= s[i];
    if (n !== this.size || !Array.isArray(s)) throw new TypeError(`${fn}: the shape of tensor #${this.id} was modified to ${fmtShape(s)}; a tensor's shape is read-only (it has ${this.size} elements)`);
    return this;
  }

  /** @internal Throws DisposedError when the tensor can no longer be used. */
  check(fn: string): this {
    if (this._released) throw new DisposedError(`${fn}: tensor #${this.id} with shape ${fmtShape(this.shape)} was disposed`);
    checkCurrent(this.storage, fn, `tensor #${this.id}`);
    return this;
  }

  /** @internal A copy of the values (float32 on wasm, float64 on the reference backend). */
  values(fn = 'values'): Float32Array | Float64Array {
    this.check(fn);
    return this.backend.read(this.storage.block, this.offset, this.size);
  }

  /**
   * A copy of the data as a Float32Array, row-major (a memory copy).
   * @example tensor([[1, 2], [3, 4]]).data(); // Float32Array [1, 2, 3, 4]
   */
  data(): Float32Array {
    const v = this.values('data');
    return v instanceof Float32Array ? v : Float32Array.from(v);
  }

  /**
   * The data as nested arrays (a number for a 0-d tensor).
   * @example tensor([[1, 2], [3, 4]]).toArray(); // [[1, 2], [3, 4]]
   */
  toArray(): NestedNumbers {
    const v = this.values('toArray');
    const shape = this.shape, nd = shape.length;
    if (nd === 0) return v[0];
    const strides = new Array<number>(nd);
    for (let d = nd - 1, acc = 1; d >= 0; d--) { strides[d] = acc; acc *= shape[d]; }
    const build = (dim: number, off: number): NestedNumbers[] => {
      const n = shape[dim];
      const out: NestedNumbers[] = new Array(n);
      if (dim === nd - 1) for (let i = 0; i < n; i++) out[i] = v[off + i];
      else for (let i = 0; i < n; i++) out[i] = build(dim + 1, off + i * strides[dim]);
      return out;
    };
    return build(0, 0);
  }

  /**
   * The value of a one-element tensor.
   * @example tensor([[5]]).item(); // 5
   */
  item(): number {
    this.check('item');
    if (this.size !== 1) throw new ShapeError(`item: only one-element tensors can be converted to a number, got shape ${fmtShape(this.shape)}`);
    return this.backend.read(this.storage.block, this.offset, 1)[0];
  }

  /**
   * Copies `values` into this tensor in place (same number of elements): a
   * tensor, nested arrays or a typed array. Not recorded by autograd; a graph
   * that saved this tensor refuses to run backward afterwards.
   *
   * @example
   * const w = zeros([2]);
   * w.assign([1, 2]).toArray(); // [1, 2]
   */
  assign(values: Tensor | TensorLike): this {
    this.check('assign');
    let src: ArrayLike<number>;
    if (values instanceof Tensor) {
      values.check('assign');
      if (values.backend !== this.backend) throw new TypeError(`assign: tensors #${values.id} and #${this.id} live on different backends`);
      src = values.values('assign');
    } else src = readValues(values, 'assign').data;
    if (src.length !== this.size) {
      throw new ShapeError(`assign: got ${src.length} values for a tensor of shape ${fmtShape(this.shape)} (${this.size} elements)`);
    }
    this.backend.write(this.storage.block, this.offset, src);
    this.storage.version++;
    return this;
  }

  /** PyTorch's printed form, e.g. `tensor([[19., 25.],\n        [37., 43.]])`. */
  toString(): string {
    if (this.isDisposed) return `tensor(<disposed #${this.id}>)`;
    const opts = { requiresGrad: this.requiresGrad, gradFn: this._ctx ? GRAD_FN_NAMES[this._ctx.name] ?? `${this._ctx.name}Backward` : undefined };
    if (this.size <= 1000) {
      const v = this.values('toString');
      return formatWith((i) => v[i], this.shape, opts);
    }
    // Summarised: read only the printed elements.
    return formatWith((i) => this.backend.read(this.storage.block, this.offset + i, 1)[0], this.shape, opts);
  }

  /** Frees the data (once the last view of it is gone). Harmless to call twice; the tensor throws DisposedError afterwards. */
  dispose(): void {
    if (!this.letGo()) return;
    if (this.grad) { this.grad.dispose(); this.grad = null; }
    this._ctx = null;
  }

  /** Marks this tensor as a leaf that accumulates gradients (or not). */
  requiresGrad_(flag = true): this {
    if (typeof flag !== 'boolean') throw new TypeError(`requiresGrad_: flag must be a boolean, got ${describe(flag)}`);
    this.requiresGrad = flag;
    return this;
  }

  /** Reverse-mode differentiation into the leaves' `.grad`; see `backward`. */
  backward(grad?: Tensor | TensorLike): void { backward(this, grad); }
  /** A copy without history that does not require grad. */
  detach(): Tensor { this.check('detach'); return noGrad(() => ew.clone(this)); }

  /** `add(this, other)` */ add(other: Operand): Tensor { return ew.add(this, other); }
  /** `sub(this, other)` */ sub(other: Operand): Tensor { return ew.sub(this, other); }
  /** `mul(this, other)` */ mul(other: Operand): Tensor { return ew.mul(this, other); }
  /** `div(this, other)` */ div(other: Operand): Tensor { return ew.div(this, other); }
  /** `pow(this, exponent)` */ pow(exponent: Operand): Tensor { return ew.pow(this, exponent); }
  /** `maximum(this, other)` */ maximum(other: Operand): Tensor { return ew.maximum(this, other); }
  /** `minimum(this, other)` */ minimum(other: Operand): Tensor { return ew.minimum(this, other); }
  /** `eq(this, other)` */ eq(other: Operand): Tensor { return ew.eq(this, other); }
  /** `ne(this, other)` */ ne(other: Operand): Tensor { return ew.ne(this, other); }
  /** `lt(this, other)` */ lt(other: Operand): Tensor { return ew.lt(this, other); }
  /** `le(this, other)` */ le(other: Operand): Tensor { return ew.le(this, other); }
  /** `gt(this, other)` */ gt(other: Operand): Tensor { return ew.gt(this, other); }
  /** `ge(this, other)` */ ge(other: Operand): Tensor { return ew.ge(this, other); }
  /** `neg(this)` */ neg(): Tensor { return ew.neg(this); }
  /** `square(this)` */ square(): Tensor { return ew.square(this); }
  /** `relu(this)` */ relu(): Tensor { return ew.relu(this); }
  /** `softplus(this, beta, threshold)` */ softplus(beta?: number, threshold?: number): Tensor { return act.softplus(this, beta, threshold); }
  /** `leakyRelu(this, negativeSlope)` */ leakyRelu(negativeSlope?: number): Tensor { return act.leakyRelu(this, negativeSlope); }
  /** `exp(this)` */ exp(): Tensor { return ew.exp(this); }
  /** `log(this)` */ log(): Tensor { return ew.log(this); }
  /** `sigmoid(this)` */ sigmoid(): Tensor { return ew.sigmoid(this); }
  /** `tanh(this)` */ tanh(): Tensor { return ew.tanh(this); }
  /** `sqrt(this)` */ sqrt(): Tensor { return ew.sqrt(this); }
  /** `abs(this)` */ abs(): Tensor { return ew.abs(this); }
  /** `sign(this)` */ sign(): Tensor { return ew.sign(this); }
  /** `clamp(this, min, max)` */ clamp(min?: number | null, max?: number | null): Tensor { return ew.clamp(this, min, max); }
  /** `clone(this)` */ clone(): Tensor { return ew.clone(this); }
  /** `sum(this, dim, keepdim)` */ sum(dim?: number | readonly number[] | null, keepdim?: boolean): Tensor { return red.sum(this, dim, keepdim); }
  /** `mean(this, dim, keepdim)` */ mean(dim?: number | readonly number[] | null, keepdim?: boolean): Tensor { return red.mean(this, dim, keepdim); }
  /** `max(this, dim, keepdim)` */ max(dim?: number | readonly number[] | null, keepdim?: boolean): Tensor { return red.max(this, dim, keepdim); }
  /** `min(this, dim, keepdim)` */ min(dim?: number | readonly number[] | null, keepdim?: boolean): Tensor { return red.min(this, dim, keepdim); }
  /** `argmax(this, dim, keepdim)` */ argmax(dim?: number | null, keepdim?: boolean): Tensor { return red.argmax(this, dim, keepdim); }
  /** `argmin(this, dim, keepdim)` */ argmin(dim?: number | null, keepdim?: boolean): Tensor { return red.argmin(this, dim, keepdim); }
  /** `reshape(this, shape)` */ reshape(shape: readonly number[]): Tensor { return shp.reshape(this, shape); }
  /** `flatten(this, startDim, endDim)` */ flatten(startDim?: number, endDim?: number): Tensor { return shp.flatten(this, startDim, endDim); }
  /** `transpose(this, dim0, dim1)` */ transpose(dim0: number, dim1: number): Tensor { return shp.transpose(this, dim0, dim1); }
  /** `permute(this, dims)` */ permute(dims: readonly number[]): Tensor { return shp.permute(this, dims); }
  /** `squeeze(this, dim)` */ squeeze(dim?: number | readonly number[] | null): Tensor { return so.squeeze(this, dim); }
  /** `unsqueeze(this, dim)` */ unsqueeze(dim: number): Tensor { return so.unsqueeze(this, dim); }
  /** `slice(this, start, end)` */ slice(start?: number | null, end?: number | null): Tensor { return so.slice(this, start, end); }
  /** `narrow(this, dim, start, length)` */ narrow(dim: number, start: number, length: number): Tensor { return so.narrow(this, dim, start, length); }
  /** `select(this, dim, index)` */ select(dim: number, index: number): Tensor { return so.select(this, dim, index); }
  /** `indexSelect(this, dim, index)` */ indexSelect(dim: number, index: Tensor | Int32Array | readonly number[]): Tensor { return so.indexSelect(this, dim, index); }
  /** `var(this, dim, opts)` */ var(dim?: number | readonly number[] | null, opts?: so.VarOptions): Tensor { return so.var(this, dim, opts); }
  /** `std(this, dim, opts)` */ std(dim?: number | readonly number[] | null, opts?: so.VarOptions): Tensor { return so.std(this, dim, opts); }
  /** `softmax(this, dim)` */ softmax(dim: number): Tensor { return sm.softmax(this, dim); }
  /** `logSoftmax(this, dim)` */ logSoftmax(dim: number): Tensor { return sm.logSoftmax(this, dim); }
  /** `gather(this, dim, index, shape)` */ gather(dim: number, index: sm.IndexLike, shape?: readonly number[]): Tensor { return sm.gather(this, dim, index, shape); }
  /** `matmul(this, other)` */ matmul(other: Tensor): Tensor { return mm.matmul(this, other); }
  /** `maxPool2d(this, kernelSize, opts)` */
  maxPool2d(kernelSize: pool.Size2, opts: pool.MaxPool2dOptions & { returnIndices: true }): [Tensor, Tensor];
  maxPool2d(kernelSize: pool.Size2, opts?: pool.MaxPool2dOptions & { returnIndices?: false }): Tensor;
  maxPool2d(kernelSize: pool.Size2, opts?: pool.MaxPool2dOptions): Tensor | [Tensor, Tensor];
  maxPool2d(kernelSize: pool.Size2, opts?: pool.MaxPool2dOptions): Tensor | [Tensor, Tensor] { return pool.maxPool2d(this, kernelSize, opts); }
  /** `avgPool2d(this, kernelSize, opts)` */ avgPool2d(kernelSize: pool.Size2, opts?: pool.AvgPool2dOptions): Tensor { return pool.avgPool2d(this, kernelSize, opts); }
  /** `adaptiveAvgPool2d(this, outputSize)` */ adaptiveAvgPool2d(outputSize: number | readonly [number | null, number | null]): Tensor { return pool.adaptiveAvgPool2d(this, outputSize); }
  /** `pad(this, pads, opts)` */ pad(pads: readonly number[], opts?: pool.PadOptions): Tensor { return pool.pad(this, pads, opts); }
}

/**
 * @internal A new tensor of `shape` on the active backend (contents undefined).
 * An allocation failure is a RangeError that names `fn` and the shape.
 */
export function empty(shape: readonly number[], fn: string): Tensor {
  const be = getBackend(fn);
  let size = 1;
  for (let i = 0; i < shape.length; i++) size *= shape[i];
  let block: Block;
  try {
    block = be.alloc(size);
  } catch (e) {
    throw renamed(e, fn, `output of shape ${fmtShape(shape)}`);
  }
  return new Tensor(shape, size, new Storage(be, block, size));
}

/** @internal A tensor that views `t`'s storage with another shape (same elements, same version). */
export function view(t: Tensor, shape: readonly number[], size: number, offset = t.offset): Tensor {
  return new Tensor(shape, size, t.storage, offset);
}

function isNumericArray(v: unknown): v is NumericArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}

/** @internal Whether a typed array's buffer was detached (transferred or after memory growth). */
export function detached(a: NumericArray): boolean {
  if (a.buffer instanceof ArrayBuffer === false) return false; // shared buffers cannot be detached
  try {
    new Uint8Array(a.buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * @internal A private flat copy of `data` with its inferred shape: a number,
 * nested arrays (rectangular, numeric, at most MAX_NDIM deep, each element
 * read once) or a numeric typed array (copied).
 */
export function readValues(data: unknown, fn: string): { data: ArrayLike<number>; shape: number[] } {
  if (typeof data === 'number') return { data: [data], shape: [] };
  if (isNumericArray(data)) {
    if (detached(data)) throw new TypeError(`${fn}: the typed array's buffer is detached (transferred, or a view of memory that has since grown)`);
    // Copied once, straight into the engine's memory, by the caller.
    return { data, shape: [data.length] };
  }
  if (ArrayBuffer.isView(data)) throw new TypeError(`${fn}: data must be a number, nested arrays or a numeric typed array, got a ${data.constructor.name}`);
  if (!Array.isArray(data)) throw new TypeError(`${fn}: data must be a number, a nested array of numbers or a numeric typed array, got ${describe(data)}`);
  // The shape, from the first element of each level (a cyclic array ends at the depth limit).
  const shape: number[] = [];
  let size = 1;
  for (let d: unknown = data; Array.isArray(d); d = d[0]) {
    if (shape.length === MAX_NDIM) throw new RangeError(`${fn}: nested arrays deeper than ${MAX_NDIM} dimensions (a cyclic array?)`);
    shape.push(d.length);
    size *= Math.max(d.length, 1);
    if (size > MAX_ELEMENTS) throw new RangeError(`${fn}: nested arrays of shape ${fmtShape(shape)}... have more than the 2^29 elements a tensor may have`);
  }
  const out: number[] = [];
  const path: number[] = [];
  const walk = (d: unknown, dim: number): void => {
    if (dim === shape.length) {
      if (typeof d !== 'number') throw new TypeError(`${fn}: element [${path.join(', ')}] is not a number: ${describe(d)}`);
      out.push(d);
      return;
    }
    if (!Array.isArray(d) || d.length !== shape[dim]) {
      throw new ShapeError(`${fn}: ragged nested array: element [${path.join(', ')}] has ${Array.isArray(d) ? `length ${d.length}` : describe(d)}, expected length ${shape[dim]}`);
    }
    for (let i = 0; i < shape[dim]; i++) {
      path.push(i);
      walk(d[i], dim + 1);
      path.pop();
    }
  };
  walk(data, 0);
  return { data: out, shape };
}

/** Options for creating tensors. */
export interface TensorOptions { requiresGrad?: boolean }

/** @internal Reads `requiresGrad` from creation options. */
export function readOptions(opts: unknown, fn: string): boolean {
  if (opts === undefined) return false;
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
  const rg = (opts as TensorOptions).requiresGrad;
  if (rg !== undefined && typeof rg !== 'boolean') throw new TypeError(`${fn}: requiresGrad must be a boolean, got ${describe(rg)}`);
  return rg === true;
}

/**
 * Creates a tensor from a number, nested arrays or a numeric typed array (with
 * `shape` for flat data). Values are converted to float32 and copied.
 *
 * @example
 * tensor([[0, 1, 2], [3, 4, 5]]).shape;          // [2, 3]
 * tensor([0, 1, 2, 3, 4, 5], [2, 3]).shape;      // [2, 3]
 * tensor(new Float32Array(6), [3, 2]).shape;     // [3, 2]
 * tensor(3).item();                              // 3 (a 0-d tensor)
 * tensor([1, -1], [1, 2], { requiresGrad: true });
 */
export function tensor(data: TensorLike, shape?: readonly number[], opts?: TensorOptions): Tensor {
  const fn = 'tensor';
  const v = readValues(data, fn);
  const s = shape === undefined ? { shape: v.shape, size: v.data.length } : readShape(shape, fn);
  if (s.size !== v.data.length) {
    throw new ShapeError(`${fn}: ${v.data.length} values do not fit shape ${fmtShape(s.shape)} (${s.size} elements)`);
  }
  const rg = readOptions(opts, fn);
  const t = empty(s.shape, fn);
  t.backend.write(t.storage.block, 0, v.data);
  t.requiresGrad = rg;
  return t;
}

/**
 * A tensor of the given shape filled with `value`.
 *
 * @example
 * full([2, 2], 7).toArray(); // [[7, 7], [7, 7]]
 */
export function full(shape: readonly number[], value: number, opts?: TensorOptions): Tensor {
  return filled(shape, value, opts, 'full');
}

function filled(shape: readonly number[], value: unknown, opts: TensorOptions | undefined, fn: string): Tensor {
  const s = readShape(shape, fn);
  if (typeof value !== 'number') throw new TypeError(`${fn}: value must be a number, got ${describe(value)}`);
  const rg = readOptions(opts, fn);
  const t = empty(s.shape, fn);
  ew.fillInPlace(t, value);
  t.requiresGrad = rg;
  return t;
}

/** A tensor of zeros. @example zeros([2, 3]).toArray(); // [[0, 0, 0], [0, 0, 0]] */
export function zeros(shape: readonly number[], opts?: TensorOptions): Tensor {
  return filled(shape, 0, opts, 'zeros');
}

/** A tensor of ones. @example ones([6, 8]).size; // 48 */
export function ones(shape: readonly number[], opts?: TensorOptions): Tensor {
  return filled(shape, 1, opts, 'ones');
}

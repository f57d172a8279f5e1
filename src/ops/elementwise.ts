import { ShapeError, fmtShape } from '../errors';
import { Tensor, empty, isGradEnabled, checkShape, type GradFn } from '../tensor';

/** A tensor or a plain number (broadcast as a scalar). */
export type Operand = Tensor | number;

/** @internal Checks an operand and returns it (numbers pass through). */
export function operand(x: unknown, fn: string, name: string): Operand {
  if (typeof x === 'number') return x;
  if (x instanceof Tensor) return x.check(fn);
  throw new TypeError(`${fn}: ${name} must be a Tensor or a number, got ${x === null ? 'null' : typeof x === 'object' ? `a ${(x as object).constructor?.name}` : typeof x}`);
}

/** @internal Whether an op with these inputs records a gradient. */
export function needsGrad(...xs: Operand[]): boolean {
  if (!isGradEnabled()) return false;
  for (const x of xs) if (x instanceof Tensor && x.requiresGrad) return true;
  return false;
}

/** @internal Output tensor of an op, with its gradient function when one is needed. */
export function output(shape: readonly number[], fn: string, inputs: Operand[], backward: ((g: Tensor) => Array<Tensor | null>) | null): Tensor {
  const grad = backward !== null && needsGrad(...inputs);
  const ctx: GradFn | null = grad
    ? { name: fn, inputs: inputs.filter((x): x is Tensor => x instanceof Tensor), backward: backward! }
    : null;
  return empty(shape, fn, grad, ctx);
}

/** NumPy broadcasting of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[], fn: string): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${fn}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` laid out in `outShape`'s index space (0 where broadcast). */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = outShape.length - shape.length + i;
    strides[j] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

/** For each output index, the index into a broadcast input (general path). */
function mapIndices(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const n = outShape.reduce((a, b) => a * b, 1);
  const strides = broadcastStrides(shape, outShape);
  const idx = new Int32Array(n);
  const counter = new Array<number>(outShape.length).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    idx[i] = off;
    for (let d = outShape.length - 1; d >= 0; d--) {
      counter[d]++; off += strides[d];
      if (counter[d] < outShape[d]) break;
      off -= strides[d] * counter[d]; counter[d] = 0;
    }
  }
  return idx;
}

const enum Op { Add, Sub, Mul, Div }

function apply(op: Op, a: Operand, b: Operand, out: Tensor): void {
  const o = out.values();
  const n = o.length;
  if (typeof a === 'number' || typeof b === 'number' || a.size === 1 || b.size === 1 || sameShape(a.shape, b.shape)) {
    const av = typeof a === 'number' ? null : a.values();
    const bv = typeof b === 'number' ? null : b.values();
    const as = av === null ? (a as number) : av.length === 1 && n !== 1 ? av[0] : NaN;
    const bs = bv === null ? (b as number) : bv.length === 1 && n !== 1 ? bv[0] : NaN;
    const aScalar = av === null || (av.length === 1 && n !== 1);
    const bScalar = bv === null || (bv.length === 1 && n !== 1);
    for (let i = 0; i < n; i++) {
      const x = aScalar ? as : av![i], y = bScalar ? bs : bv![i];
      o[i] = op === Op.Add ? x + y : op === Op.Sub ? x - y : op === Op.Mul ? x * y : x / y;
    }
    return;
  }
  const ia = mapIndices(a.shape, out.shape), ib = mapIndices(b.shape, out.shape);
  const av = a.values(), bv = b.values();
  for (let i = 0; i < n; i++) {
    const x = av[ia[i]], y = bv[ib[i]];
    o[i] = op === Op.Add ? x + y : op === Op.Sub ? x - y : op === Op.Mul ? x * y : x / y;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const shapeOf = (x: Operand): readonly number[] => (typeof x === 'number' ? [] : x.shape);

/**
 * Sums `g` down to `shape` (the inverse of broadcasting), for gradients.
 * @internal
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const out = empty(shape, 'sumTo');
  const o = out.values();
  o.fill(0);
  const gv = g.values();
  if (out.size === 1) {
    let s = 0;
    for (let i = 0; i < gv.length; i++) s += gv[i];
    o[0] = s;
  } else {
    const idx = mapIndices(shape, g.shape);
    for (let i = 0; i < gv.length; i++) o[idx[i]] += gv[i];
  }
  g.dispose();
  return out;
}

function binary(op: Op, fn: string, a: unknown, b: unknown,
                grad: (g: Tensor, a: Operand, b: Operand) => [Tensor | null, Tensor | null]): Tensor {
  const x = operand(a, fn, 'a'), y = operand(b, fn, 'b');
  checkSameBackend(fn, x, y);
  const shape = broadcastShapes(shapeOf(x), shapeOf(y), fn);
  const out = output(shape, fn, [x, y], (g) => {
    const [ga, gb] = grad(g, x, y);
    const res: Array<Tensor | null> = [];
    if (x instanceof Tensor) res.push(ga && x.requiresGrad ? sumTo(ga, x.shape) : (ga?.dispose(), null));
    else ga?.dispose();
    if (y instanceof Tensor) res.push(gb && y.requiresGrad ? sumTo(gb, y.shape) : (gb?.dispose(), null));
    else gb?.dispose();
    return res;
  });
  apply(op, x, y, out);
  return out;
}

/** @internal */
export function checkSameBackend(fn: string, ...xs: Operand[]): void {
  let first: Tensor | null = null;
  for (const x of xs) {
    if (!(x instanceof Tensor)) continue;
    if (first && x.backend !== first.backend) throw new TypeError(`${fn}: tensors #${first.id} and #${x.id} live on different backends`);
    first = first ?? x;
  }
}

const needs = (x: Operand) => x instanceof Tensor && x.requiresGrad;

/**
 * Element-wise a + b with NumPy broadcasting (numbers are scalars).
 * @example add(tensor([1, 2]), 10).toArray(); // [11, 12]
 */
export function add(a: Operand, b: Operand): Tensor {
  return binary(Op.Add, 'add', a, b, (g, x, y) => [needs(x) ? copy(g) : null, needs(y) ? copy(g) : null]);
}

/** Element-wise a - b. @example sub(tensor([1, 2]), tensor([3, 5])).toArray(); // [-2, -3] */
export function sub(a: Operand, b: Operand): Tensor {
  return binary(Op.Sub, 'sub', a, b, (g, x, y) => [needs(x) ? copy(g) : null, needs(y) ? neg(g) : null]);
}

/** Element-wise a * b. @example mul(tensor([1, 2]), 3).toArray(); // [3, 6] */
export function mul(a: Operand, b: Operand): Tensor {
  return binary(Op.Mul, 'mul', a, b, (g, x, y) => [needs(x) ? mul(g, y) : null, needs(y) ? mul(g, x) : null]);
}

/** Element-wise a / b. @example div(tensor([1, 2]), 4).toArray(); // [0.25, 0.5] */
export function div(a: Operand, b: Operand): Tensor {
  return binary(Op.Div, 'div', a, b, (g, x, y) => [
    needs(x) ? div(g, y) : null,
    needs(y) ? mapOut([g, x, y], (gv, xv, yv) => (-gv * xv) / (yv * yv)) : null,
  ]);
}

/** Element-wise function of up to three same-or-broadcast operands, no gradient. */
function mapOut(xs: Operand[], f: (a: number, b: number, c: number) => number): Tensor {
  let shape: readonly number[] = [];
  for (const x of xs) shape = broadcastShapes(shape, shapeOf(x), 'map');
  const out = empty(shape, 'map');
  const n = out.size;
  const views = xs.map((x) => {
    if (typeof x === 'number') return () => x;
    const v = x.values();
    if (sameShape(x.shape, shape)) return (i: number) => v[i];
    if (x.size === 1) return () => v[0];
    const idx = mapIndices(x.shape, shape);
    return (i: number) => v[idx[i]];
  });
  const o = out.values();
  const a = views[0], b = views[1] ?? (() => 0), c = views[2] ?? (() => 0);
  for (let i = 0; i < n; i++) o[i] = f(a(i), b(i), c(i));
  return out;
}

function unary(fn: string, x: unknown, f: (v: number) => number, grad: ((g: Tensor, x: Tensor, y: Tensor) => Tensor) | null): Tensor {
  const t = operand(x, fn, 'x');
  if (!(t instanceof Tensor)) throw new TypeError(`${fn}: x must be a Tensor, got a number`);
  let out: Tensor;
  out = output(t.shape, fn, [t], grad ? (g) => [grad(g, t, out)] : null);
  const o = out.values(), v = t.values();
  for (let i = 0; i < o.length; i++) o[i] = f(v[i]);
  return out;
}

/** -x. @example neg(tensor([1, -2])).toArray(); // [-1, 2] */
export function neg(x: Tensor): Tensor {
  return unary('neg', x, (v) => -v, (g) => neg(g));
}

/** x * x. @example square(tensor([3])).toArray(); // [9] */
export function square(x: Tensor): Tensor {
  return unary('square', x, (v) => v * v, (g, t) => square_grad(g, t));
}

/** 2 * t * g, the gradient of t^2. */
function square_grad(g: Tensor, t: Tensor): Tensor {
  const out = empty(t.shape, 'square');
  const o = out.values(), gv = g.values(), tv = t.values();
  for (let i = 0; i < o.length; i++) o[i] = 2 * tv[i] * gv[i];
  return out;
}

/**
 * x ** p for a number p.
 * @example pow(tensor([2, 3]), 2).toArray(); // [4, 9]
 */
export function pow(x: Tensor, p: number): Tensor {
  if (typeof p !== 'number') throw new TypeError(`pow: exponent must be a number, got ${typeof p}`);
  if (p === 2) return unary('pow', x, (v) => v * v, (g, t) => square_grad(g, t));
  return unary('pow', x, (v) => v ** p, (g, t) => mapOut([g, t], (gv, tv) => (p === 0 ? 0 : p * tv ** (p - 1) * gv)));
}

/** max(x, 0). @example relu(tensor([-1, 2])).toArray(); // [0, 2] */
export function relu(x: Tensor): Tensor {
  return unary('relu', x, (v) => (v > 0 ? v : v !== v ? v : 0), (g, t) => mapOut([g, t], (gv, tv) => (tv > 0 ? gv : 0)));
}

/** @internal A copy with no history. */
export function copy(x: Tensor): Tensor {
  const out = empty(x.shape, 'copy');
  out.values().set(x.values());
  return out;
}

/** @internal A tensor of ones shaped like x. */
export function ones_like(x: Tensor): Tensor {
  const out = empty(x.shape, 'ones');
  out.values().fill(1);
  return out;
}

/** @internal dst += src, in place (same size). */
export function addInPlace(dst: Tensor, src: Tensor): void {
  const d = dst.values(), s = src.values();
  for (let i = 0; i < d.length; i++) d[i] += s[i];
  dst.version++;
}

/**
 * Sum of all elements, a 0-d tensor.
 * @example sum(tensor([[1, 2], [3, 4]])).item(); // 10
 */
export function sum(x: Tensor): Tensor {
  const t = operand(x, 'sum', 'x') as Tensor;
  if (!(t instanceof Tensor)) throw new TypeError('sum: x must be a Tensor');
  const out = output([], 'sum', [t], (g) => [expand(g, t.shape)]);
  const v = t.values();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  out.values()[0] = s;
  return out;
}

/**
 * Mean of all elements, a 0-d tensor.
 * @example mean(tensor([1, 2, 3, 4])).item(); // 2.5
 */
export function mean(x: Tensor): Tensor {
  const t = operand(x, 'mean', 'x') as Tensor;
  if (!(t instanceof Tensor)) throw new TypeError('mean: x must be a Tensor');
  const n = t.size;
  const out = output([], 'mean', [t], (g) => {
    const e = expand(g, t.shape);
    const v = e.values();
    for (let i = 0; i < v.length; i++) v[i] /= n;
    return [e];
  });
  const v = t.values();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  out.values()[0] = s / n;
  return out;
}

/** A one-element tensor's value broadcast to `shape`. */
function expand(g: Tensor, shape: readonly number[]): Tensor {
  const out = empty(shape, 'expand');
  out.values().fill(g.values()[0]);
  return out;
}

/**
 * The same data with a new shape (one entry may be -1). Returns a new tensor.
 * @example reshape(ones([6, 8]), [1, 1, 6, -1]).shape; // [1, 1, 6, 8]
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const t = operand(x, 'reshape', 'x') as Tensor;
  if (!(t instanceof Tensor)) throw new TypeError('reshape: x must be a Tensor');
  if (!Array.isArray(shape)) throw new TypeError(`reshape: shape must be an array of integers, got ${String(shape)}`);
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free >= 0 && s.indexOf(-1, free + 1) >= 0) throw new RangeError(`reshape: only one dimension can be -1, got ${fmtShape(s)}`);
  if (free >= 0) {
    const known = s.reduce((a, b, i) => (i === free ? a : a * b), 1);
    if (known === 0 || t.size % known !== 0) throw new ShapeError(`reshape: shape ${fmtShape(s)} is invalid for a tensor of ${t.size} elements (shape ${fmtShape(t.shape)})`);
    s[free] = t.size / known;
  }
  const n = checkShape(s, 'reshape');
  if (n !== t.size) throw new ShapeError(`reshape: shape ${fmtShape(s)} (${n} elements) is invalid for a tensor of ${t.size} elements (shape ${fmtShape(t.shape)})`);
  const out = output(s, 'reshape', [t], (g) => [reshape(g, t.shape)]);
  out.values().set(t.values());
  return out;
}

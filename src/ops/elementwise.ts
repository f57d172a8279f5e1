// Element-wise ops: unary functions, binary ops with NumPy broadcasting (run on
// strides, never materialised), comparisons, and the in-place helpers that
// optimizers and gradient accumulation use. Every one runs in WebAssembly
// through the registry's `unary` and `binary` families.
import { MAXDIM } from '../backend/layout';
import { BINARY, UNARY, binary as binaryK, unary as unaryK } from '../backend/registry';
import { ShapeError, fmtShape } from '../errors';
import { type Tensor, view } from '../tensor';
import { numberArg, operand, output, record, run, sameBackend, tensorArg, type Operand } from './op';
import { sumTo } from './reduce';

/** NumPy broadcasting of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[], fn: string): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${fn}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Element strides of a contiguous `shape` seen in `out`'s index space (0 where broadcast). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const st = new Array<number>(out.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = out.length - shape.length + i;
    st[j] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return st;
}

/**
 * Merges an index space and its strides into the fewest dimensions: size-1
 * dimensions dropped, neighbours merged where every operand steps through
 * them as one. At most MAXDIM dimensions may remain.
 */
export function mergeDims(shape: readonly number[], strides: readonly (readonly number[])[], fn: string): { shape: number[]; strides: number[][] } {
  const s: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = s.length - 1;
    if (last >= 0 && strides.every((x, k) => st[k][last] === x[d] * shape[d])) {
      s[last] *= shape[d];
      strides.forEach((x, k) => { st[k][last] = x[d]; });
    } else {
      s.push(shape[d]);
      strides.forEach((x, k) => st[k].push(x[d]));
    }
  }
  if (s.length === 0) { s.push(1); st.forEach((x) => x.push(0)); }
  if (s.length > MAXDIM) {
    throw new RangeError(`${fn}: the operands' shapes leave ${s.length} dimensions that cannot be merged; the kernels take at most ${MAXDIM}`);
  }
  return { shape: s, strides: st };
}

// Parameter arrays of the one-dimensional fast path (read synchronously by the backend's writer).
const SHAPE1 = [0], ONE = [1], ZERO = [0];

/** Runs the unary family into `out` (which may be `x` itself: in place). */
function unaryInto(code: number, x: Tensor, out: Tensor, fn: string, s0 = 0, s1 = 0, made: Tensor | null = out): void {
  run(x.backend, unaryK, { n: x.size, op: code, s0, s1, x, y: out }, fn, made);
}

/** y = f(x), a new tensor. */
function unaryNew(code: number, x: Tensor, fn: string, s0 = 0, s1 = 0): Tensor {
  const y = output(x.shape, fn);
  unaryInto(code, x, y, fn, s0, s1);
  return y;
}

/** Runs the binary family: out = f(a, b) broadcast to out's shape (out may be a, when shapes match). */
function binaryInto(code: number, a: Tensor, b: Tensor, out: Tensor, fn: string, s0 = 0, s1 = 0, made: Tensor | null = out): void {
  const n = out.size;
  // One dimension when each operand is either the whole output or a single element.
  if ((a.size === n || a.size === 1) && (b.size === n || b.size === 1)) {
    SHAPE1[0] = n;
    run(a.backend, binaryK, { op: code, ndim: 1, n, s0, s1, shape: SHAPE1, sa: a.size === n ? ONE : ZERO, sb: b.size === n ? ONE : ZERO, a, b, y: out }, fn, made);
    return;
  }
  const m = mergeDims(out.shape, [broadcastStrides(a.shape, out.shape), broadcastStrides(b.shape, out.shape)], fn);
  run(a.backend, binaryK, { op: code, ndim: m.shape.length, n, s0, s1, shape: m.shape, sa: m.strides[0], sb: m.strides[1], a, b, y: out }, fn, made);
}

/** @internal f(a, b) into a new tensor of the broadcast shape. */
export function binaryNew(code: number, a: Tensor, b: Tensor, fn: string, s0 = 0, s1 = 0): Tensor {
  const y = output(broadcastShapes(a.shape, b.shape, fn), fn);
  binaryInto(code, a, b, y, fn, s0, s1);
  return y;
}

/** Checks two operands (at least one a tensor) on one backend. */
function operands(fn: string, a: unknown, b: unknown): [Operand, Operand] {
  const x = operand(a, fn, 'a'), y = operand(b, fn, 'b');
  if (typeof x === 'number' && typeof y === 'number') throw new TypeError(`${fn}: at least one operand must be a Tensor, got two numbers`);
  sameBackend(fn, x, y);
  return [x, y];
}

/** A gradient flowing unchanged to a tensor of the same shape: a new view of `g` (no copy). */
function pass(g: Tensor, shape: readonly number[]): Tensor { return sumTo(view(g, g.shape, g.size), shape); }

/**
 * Element-wise a + b with NumPy broadcasting (numbers are scalars).
 * @example add(tensor([1, 2]), 10).toArray(); // [11, 12]
 */
export function add(a: Operand, b: Operand): Tensor {
  const fn = 'add';
  const [x, y] = operands(fn, a, b);
  if (typeof y === 'number') return record(unaryNew(UNARY.ADDS, x as Tensor, fn, y), fn, [x], [], (g) => [pass(g, (x as Tensor).shape)]);
  if (typeof x === 'number') return record(unaryNew(UNARY.ADDS, y, fn, x), fn, [y], [], (g) => [pass(g, y.shape)]);
  return record(binaryNew(BINARY.ADD, x, y, fn), fn, [x, y], [], (g) => [x.requiresGrad ? pass(g, x.shape) : null, y.requiresGrad ? pass(g, y.shape) : null]);
}

/** Element-wise a - b. @example sub(tensor([1, 2]), tensor([3, 5])).toArray(); // [-2, -3] */
export function sub(a: Operand, b: Operand): Tensor {
  const fn = 'sub';
  const [x, y] = operands(fn, a, b);
  if (typeof y === 'number') return record(unaryNew(UNARY.SUBS, x as Tensor, fn, y), fn, [x], [], (g) => [pass(g, (x as Tensor).shape)]);
  if (typeof x === 'number') return record(unaryNew(UNARY.RSUBS, y, fn, x), fn, [y], [], (g) => [neg(g)]);
  return record(binaryNew(BINARY.SUB, x, y, fn), fn, [x, y], [], (g) => [x.requiresGrad ? pass(g, x.shape) : null, y.requiresGrad ? sumTo(neg(g), y.shape) : null]);
}

/** Element-wise a * b. @example mul(tensor([1, 2]), 3).toArray(); // [3, 6] */
export function mul(a: Operand, b: Operand): Tensor {
  const fn = 'mul';
  const [x, y] = operands(fn, a, b);
  if (typeof y === 'number') return record(unaryNew(UNARY.MULS, x as Tensor, fn, y), fn, [x], [], (g) => [mul(g, y)]);
  if (typeof x === 'number') return record(unaryNew(UNARY.MULS, y, fn, x), fn, [y], [], (g) => [mul(g, x)]);
  return record(binaryNew(BINARY.MUL, x, y, fn), fn, [x, y], [x, y], (g) => [
    x.requiresGrad ? sumTo(mul(g, y), x.shape) : null,
    y.requiresGrad ? sumTo(mul(g, x), y.shape) : null,
  ]);
}

/** Element-wise a / b. @example div(tensor([1, 2]), 4).toArray(); // [0.25, 0.5] */
export function div(a: Operand, b: Operand): Tensor {
  const fn = 'div';
  const [x, y] = operands(fn, a, b);
  if (typeof y === 'number') return record(unaryNew(UNARY.DIVS, x as Tensor, fn, y), fn, [x], [], (g) => [div(g, y)]);
  if (typeof x === 'number') {
    // d(s / y) = -s / y^2
    return record(unaryNew(UNARY.RDIVS, y, fn, x), fn, [y], [y], (g) => [div(mul(g, -x), square(y))]);
  }
  return record(binaryNew(BINARY.DIV, x, y, fn), fn, [x, y], [x, y], (g) => [
    x.requiresGrad ? sumTo(div(g, y), x.shape) : null,
    y.requiresGrad ? sumTo(div(mul(neg(g), x), square(y)), y.shape) : null,
  ]);
}

/**
 * x ** p, with p a number or a broadcast tensor.
 * @example pow(tensor([2, 3]), 2).toArray(); // [4, 9]
 */
export function pow(x: Operand, p: Operand): Tensor {
  const fn = 'pow';
  const [a, b] = operands(fn, x, p);
  if (typeof a === 'number') throw new TypeError(`${fn}: the base must be a Tensor, got a number`);
  if (typeof b === 'number') {
    // d(x^p) = p * x^(p-1), 0 for p = 0 (as PyTorch)
    return record(unaryNew(UNARY.POWS, a, fn, b), fn, [a], [a], (g) => [
      b === 0 ? mul(g, 0) : b === 2 ? binaryNew(BINARY.SCALED_MUL, g, a, fn, 2) : mul(g, mul(pow(a, b - 1), b)),
    ]);
  }
  const y = binaryNew(BINARY.POW, a, b, fn);
  return record(y, fn, [a, b], [a, b, y], (g) => [
    a.requiresGrad ? sumTo(mul(g, mul(b, pow(a, sub(b, 1)))), a.shape) : null,
    b.requiresGrad ? sumTo(mul(g, mul(y, log(a))), b.shape) : null,
  ]);
}

/** Splits the gradient of maximum/minimum: all to the winner, half each on ties, as PyTorch. */
function extremum(code: number, name: 'maximum' | 'minimum', a: unknown, b: unknown): Tensor {
  const [x, y] = operands(name, a, b);
  const xt = typeof x === 'number' ? null : x, yt = typeof y === 'number' ? null : y;
  if (!xt || !yt) {
    const t = (xt ?? yt)!, s = (xt ? y : x) as number;
    const out = unaryNew(UNARY.CLAMP, t, name, code === BINARY.MAXIMUM ? s : -Infinity, code === BINARY.MAXIMUM ? Infinity : s);
    return record(out, name, [t], [t], (g) => {
      const win = code === BINARY.MAXIMUM ? gt(t, s) : lt(t, s);
      return [mul(g, add(win, mul(eq(t, s), 0.5)))];
    });
  }
  return record(binaryNew(code, xt, yt, name), name, [xt, yt], [xt, yt], (g) => {
    const tie = mul(eq(xt, yt), 0.5);
    const wx = add(code === BINARY.MAXIMUM ? gt(xt, yt) : lt(xt, yt), tie);
    const wy = add(code === BINARY.MAXIMUM ? lt(xt, yt) : gt(xt, yt), tie);
    return [xt.requiresGrad ? sumTo(mul(g, wx), xt.shape) : null, yt.requiresGrad ? sumTo(mul(g, wy), yt.shape) : null];
  });
}

/** Element-wise maximum (NaN if either is NaN). @example maximum(tensor([1, 5]), tensor([3, 2])).toArray(); // [3, 5] */
export function maximum(a: Operand, b: Operand): Tensor { return extremum(BINARY.MAXIMUM, 'maximum', a, b); }
/** Element-wise minimum (NaN if either is NaN). @example minimum(tensor([1, 5]), 2).toArray(); // [1, 2] */
export function minimum(a: Operand, b: Operand): Tensor { return extremum(BINARY.MINIMUM, 'minimum', a, b); }

function compare(code: number, fn: string, a: unknown, b: unknown): Tensor {
  const [x, y] = operands(fn, a, b);
  if (typeof x !== 'number' && typeof y !== 'number') return binaryNew(code, x, y, fn);
  // With a scalar, compare against a one-element broadcast: flip the operands when the number comes first.
  const t = (typeof x === 'number' ? y : x) as Tensor, s = (typeof x === 'number' ? x : y) as number;
  const flipped = typeof x === 'number';
  const codes: Record<number, number> = { [BINARY.LT]: BINARY.GT, [BINARY.GT]: BINARY.LT, [BINARY.LE]: BINARY.GE, [BINARY.GE]: BINARY.LE };
  const c = flipped ? codes[code] ?? code : code;
  const scalar = output([], fn);
  try {
    unaryInto(UNARY.FILL, scalar, scalar, fn, s);
    return binaryNew(c, t, scalar, fn);
  } finally {
    scalar.dispose();
  }
}

/** a == b as 1/0 floats. @example eq(tensor([1, 2]), 2).toArray(); // [0, 1] */
export function eq(a: Operand, b: Operand): Tensor { return compare(BINARY.EQ, 'eq', a, b); }
/** a != b as 1/0 floats. */
export function ne(a: Operand, b: Operand): Tensor { return compare(BINARY.NE, 'ne', a, b); }
/** a < b as 1/0 floats. */
export function lt(a: Operand, b: Operand): Tensor { return compare(BINARY.LT, 'lt', a, b); }
/** a <= b as 1/0 floats. */
export function le(a: Operand, b: Operand): Tensor { return compare(BINARY.LE, 'le', a, b); }
/** a > b as 1/0 floats. @example gt(tensor([1, 3]), 2).toArray(); // [0, 1] */
export function gt(a: Operand, b: Operand): Tensor { return compare(BINARY.GT, 'gt', a, b); }
/** a >= b as 1/0 floats. */
export function ge(a: Operand, b: Operand): Tensor { return compare(BINARY.GE, 'ge', a, b); }

/** @internal A unary op of the `unary` family with its gradient (from x, from y, or none). */
export function unaryOp(fn: string, x: unknown, code: number, grad: ((g: Tensor, x: Tensor, y: Tensor) => Tensor) | null,
                 saves: 'x' | 'y' | 'none', s0 = 0, s1 = 0): Tensor {
  const t = tensorArg(x, fn, 'x');
  const y = unaryNew(code, t, fn, s0, s1);
  if (!grad) return y;
  return record(y, fn, [t], saves === 'x' ? [t] : saves === 'y' ? [y] : [], (g) => [grad(g, t, y)]);
}

/** -x. @example neg(tensor([1, -2])).toArray(); // [-1, 2] */
export function neg(x: Tensor): Tensor { return unaryOp('neg', x, UNARY.NEG, (g) => neg(g), 'none'); }

/** x * x. @example square(tensor([3])).toArray(); // [9] */
export function square(x: Tensor): Tensor {
  return unaryOp('square', x, UNARY.SQUARE, (g, t) => binaryNew(BINARY.SCALED_MUL, g, t, 'square', 2), 'x');
}

/** max(x, 0) (NaN stays NaN). @example relu(tensor([-1, 2])).toArray(); // [0, 2] */
export function relu(x: Tensor): Tensor {
  return unaryOp('relu', x, UNARY.RELU, (g, _t, y) => binaryNew(BINARY.RELU_BW, g, y, 'relu'), 'y');
}

/** e^x. @example exp(tensor([0])).toArray(); // [1] */
export function exp(x: Tensor): Tensor { return unaryOp('exp', x, UNARY.EXP, (g, _t, y) => mul(g, y), 'y'); }
/** Natural logarithm. @example log(tensor([1])).toArray(); // [0] */
export function log(x: Tensor): Tensor { return unaryOp('log', x, UNARY.LOG, (g, t) => div(g, t), 'x'); }
/** 1 / (1 + e^-x). @example sigmoid(tensor([0])).toArray(); // [0.5] */
export function sigmoid(x: Tensor): Tensor {
  return unaryOp('sigmoid', x, UNARY.SIGMOID, (g, _t, y) => binaryNew(BINARY.SIGMOID_BW, g, y, 'sigmoid'), 'y');
}
/** Hyperbolic tangent. @example tanh(tensor([0])).toArray(); // [0] */
export function tanh(x: Tensor): Tensor {
  return unaryOp('tanh', x, UNARY.TANH, (g, _t, y) => binaryNew(BINARY.TANH_BW, g, y, 'tanh'), 'y');
}
/** Square root. @example sqrt(tensor([4])).toArray(); // [2] */
export function sqrt(x: Tensor): Tensor {
  return unaryOp('sqrt', x, UNARY.SQRT, (g, _t, y) => binaryNew(BINARY.SQRT_BW, g, y, 'sqrt'), 'y');
}
/** |x|. @example abs(tensor([-2, 3])).toArray(); // [2, 3] */
export function abs(x: Tensor): Tensor {
  return unaryOp('abs', x, UNARY.ABS, (g, t) => binaryNew(BINARY.SIGN_MUL, g, t, 'abs'), 'x');
}
/** -1, 0 or 1 (not differentiable: no gradient flows). @example sign(tensor([-2, 0, 3])).toArray(); // [-1, 0, 1] */
export function sign(x: Tensor): Tensor { return unaryOp('sign', x, UNARY.SIGN, null, 'none'); }

/**
 * Clamps into [min, max] (either may be null or undefined; NaN stays NaN).
 * @example clamp(tensor([-2, 0.5, 3]), 0, 1).toArray(); // [0, 0.5, 1]
 */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const fn = 'clamp';
  const lo = min === undefined || min === null ? -Infinity : numberArg(min, fn, 'min', false);
  const hi = max === undefined || max === null ? Infinity : numberArg(max, fn, 'max', false);
  if (lo === -Infinity && hi === Infinity && (min === undefined || min === null) && (max === undefined || max === null)) {
    throw new TypeError(`${fn}: at least one of min and max must be a number`);
  }
  return unaryOp(fn, x, UNARY.CLAMP, (g, t) => binaryNew(BINARY.CLAMP_BW, g, t, fn, lo, hi), 'x', lo, hi);
}

/** A copy that keeps the history (gradients flow through). @example clone(tensor([1])).toArray(); // [1] */
export function clone(x: Tensor): Tensor {
  const t = tensorArg(x, 'clone', 'x');
  return record(unaryNew(UNARY.COPY, t, 'clone'), 'clone', [t], [], (g) => [pass(g, t.shape)]);
}

// ---------------------------------------------------------------------------
// In place (optimizers, gradient accumulation, initialisation): not recorded.
// ---------------------------------------------------------------------------

/** @internal dst = value everywhere. */
export function fillInPlace(dst: Tensor, value: number): void {
  unaryInto(UNARY.FILL, dst, dst, 'fill', value, 0, null);
  dst.storage.version++;
}

/** @internal dst += src (src broadcast to dst's shape). */
export function addInPlace(dst: Tensor, src: Tensor): void {
  broadcastShapes(src.shape, dst.shape, 'add_');
  binaryInto(BINARY.ADD, dst, src, dst, 'add_', 0, 0, null);
  dst.storage.version++;
}

/** @internal dst = f(dst, s0, s1) with a unary op code. */
export function unaryInPlace(dst: Tensor, code: number, s0 = 0, s1 = 0): void {
  unaryInto(code, dst, dst, 'unary_', s0, s1, null);
  dst.storage.version++;
}

/** @internal dst = f(dst, src) with a binary op code (src broadcast to dst's shape). */
export function binaryInPlace(dst: Tensor, code: number, src: Tensor, s0 = 0, s1 = 0): void {
  binaryInto(code, dst, src, dst, 'binary_', s0, s1, null);
  dst.storage.version++;
}

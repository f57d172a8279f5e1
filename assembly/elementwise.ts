// Element-wise kernels: one unary family over contiguous data and one binary
// family over NumPy-broadcast operands given by strides (never materialised).
// Op codes come from the registry (src/backend/registry.ts) via the generated
// constants, so JS and WebAssembly cannot disagree on them.
import {
  UnaryP, BinaryP, CHUNK,
  UNARY_COPY, UNARY_FILL, UNARY_NEG, UNARY_RELU, UNARY_SQUARE, UNARY_EXP, UNARY_LOG, UNARY_SIGMOID,
  UNARY_TANH, UNARY_SQRT, UNARY_ABS, UNARY_SIGN, UNARY_ADDS, UNARY_SUBS, UNARY_RSUBS, UNARY_MULS,
  UNARY_DIVS, UNARY_RDIVS, UNARY_POWS, UNARY_CLAMP, UNARY_LEAKY_RELU,
  BINARY_ADD, BINARY_SUB, BINARY_MUL, BINARY_DIV, BINARY_MAXIMUM, BINARY_MINIMUM, BINARY_POW,
  BINARY_EQ, BINARY_NE, BINARY_LT, BINARY_LE, BINARY_GT, BINARY_GE, BINARY_RELU_BW, BINARY_LEAKY_BW,
  BINARY_SIGMOID_BW, BINARY_TANH_BW, BINARY_SQRT_BW, BINARY_SIGN_MUL, BINARY_CLAMP_BW, BINARY_SCALED_MUL,
} from './generated/params';
import { isSimd, expS, expV, expVi, logS, logV, tanhS, tanhV, sigmoidS, sigmoidV, signS, signV } from './math';

@inline function f4(i: i32): usize { return <usize>i << 2; }

/** x ** p as PyTorch computes a tensor-scalar power: special exponents exactly. */
function powS(x: f32, p: f32): f32 {
  if (p == 2) return x * x;
  if (p == 3) return x * x * x;
  if (p == 0.5) return Mathf.sqrt(x);
  if (p == -0.5) return <f32>1 / Mathf.sqrt(x);
  if (p == -1) return <f32>1 / x;
  if (p == -2) return <f32>1 / (x * x);
  return Mathf.pow(x, p);
}

function unaryS(op: i32, x: f32, s0: f32, s1: f32): f32 {
  switch (op) {
    case UNARY_COPY: return x;
    case UNARY_FILL: return s0;
    case UNARY_NEG: return -x;
    case UNARY_RELU: return x > 0 ? x : (x != x ? x : 0);
    case UNARY_SQUARE: return x * x;
    case UNARY_EXP: return expS(x);
    case UNARY_LOG: return logS(x);
    case UNARY_SIGMOID: return sigmoidS(x);
    case UNARY_TANH: return tanhS(x);
    case UNARY_SQRT: return Mathf.sqrt(x);
    case UNARY_ABS: return Mathf.abs(x);
    case UNARY_SIGN: return signS(x);
    case UNARY_ADDS: return x + s0;
    case UNARY_SUBS: return x - s0;
    case UNARY_RSUBS: return s0 - x;
    case UNARY_MULS: return x * s0;
    case UNARY_DIVS: return x / s0;
    case UNARY_RDIVS: return s0 / x;
    case UNARY_POWS: return powS(x, s0);
    // min(max(x, lo), hi) with NaN kept, as torch.clamp
    case UNARY_CLAMP: return x != x ? x : Mathf.min(Mathf.max(x, s0), s1);
    case UNARY_LEAKY_RELU: return x > 0 ? x : x * s0;
    default: unreachable();
  }
  return 0;
}

@inline function unaryV(op: i32, x: v128, s0: v128, s1: v128): v128 {
  const zero = f32x4.splat(0);
  switch (op) {
    case UNARY_COPY: return x;
    case UNARY_FILL: return s0;
    case UNARY_NEG: return f32x4.neg(x);
    // x where x > 0 or NaN, else 0
    case UNARY_RELU: return v128.andnot(x, f32x4.le(x, zero));
    case UNARY_SQUARE: return f32x4.mul(x, x);
    case UNARY_EXP: return expV(x);
    case UNARY_LOG: return logV(x);
    case UNARY_SIGMOID: return sigmoidV(x);
    case UNARY_TANH: return tanhV(x);
    case UNARY_SQRT: return f32x4.sqrt(x);
    case UNARY_ABS: return f32x4.abs(x);
    case UNARY_SIGN: return signV(x);
    case UNARY_ADDS: return f32x4.add(x, s0);
    case UNARY_SUBS: return f32x4.sub(x, s0);
    case UNARY_RSUBS: return f32x4.sub(s0, x);
    case UNARY_MULS: return f32x4.mul(x, s0);
    case UNARY_DIVS: return f32x4.div(x, s0);
    case UNARY_RDIVS: return f32x4.div(s0, x);
    case UNARY_CLAMP: return v128.bitselect(x, f32x4.min(f32x4.max(x, s0), s1), f32x4.ne(x, x));
    case UNARY_LEAKY_RELU: return v128.bitselect(x, f32x4.mul(x, s0), f32x4.gt(x, zero));
    default: {
      // Lane by lane (general powers).
      const p = f32x4.extract_lane(s0, 0), q = f32x4.extract_lane(s1, 0);
      let r = f32x4.splat(unaryS(op, f32x4.extract_lane(x, 0), p, q));
      r = f32x4.replace_lane(r, 1, unaryS(op, f32x4.extract_lane(x, 1), p, q));
      r = f32x4.replace_lane(r, 2, unaryS(op, f32x4.extract_lane(x, 2), p, q));
      return f32x4.replace_lane(r, 3, unaryS(op, f32x4.extract_lane(x, 3), p, q));
    }
  }
}

/**
 * y[i] = f(x[i]) for i in this unit's chunks of CHUNK elements; x and y may be
 * the same block (in place). Units: ceil(n / CHUNK).
 */
export function unary<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  // The common ops on loops of their own: with the op a constant there, the
  // switch of unaryV inside the loop folds away.
  // (The SIMD build only: the scalar one is the fallback, and every copy of the
  // loop adds to the binaries the package carries.)
  if (isSimd<V>()) {
    switch (UnaryP.op(p)) {
      case UNARY_RELU: unaryBody<V>(UNARY_RELU, p, begin, end); return;
      case UNARY_MULS: unaryBody<V>(UNARY_MULS, p, begin, end); return;
      case UNARY_ADDS: unaryBody<V>(UNARY_ADDS, p, begin, end); return;
      case UNARY_NEG: unaryBody<V>(UNARY_NEG, p, begin, end); return;
      case UNARY_SQUARE: unaryBody<V>(UNARY_SQUARE, p, begin, end); return;
      case UNARY_LEAKY_RELU: unaryBody<V>(UNARY_LEAKY_RELU, p, begin, end); return;
    }
  }
  unaryBody<V>(UnaryP.op(p), p, begin, end);
}

@inline function unaryBody<V>(op: i32, p: usize, begin: i32, end: i32): void {
  const n = UnaryP.n(p);
  const s0 = UnaryP.s0(p), s1 = UnaryP.s1(p);
  const x = UnaryP.x(p), y = UnaryP.y(p);
  const i0 = begin * CHUNK;
  const i1 = end * CHUNK < n ? end * CHUNK : n;
  let i = i0;
  if (op == UNARY_COPY) {
    if (x != y) memory.copy(y + f4(i0), x + f4(i0), f4(i1 - i0));
    return;
  }
  if (isSimd<V>()) {
    const v0 = f32x4.splat(s0), v1 = f32x4.splat(s1);
    if (op == UNARY_SIGMOID) {
      // The activation of most small networks: a loop of its own, with no switch inside.
      for (; i + 16 <= i1; i += 16) {
        const a = v128.load(x + f4(i)), b = v128.load(x + f4(i), 16);
        const c = v128.load(x + f4(i), 32), d = v128.load(x + f4(i), 48);
        v128.store(y + f4(i), sigmoidV(a));
        v128.store(y + f4(i), sigmoidV(b), 16);
        v128.store(y + f4(i), sigmoidV(c), 32);
        v128.store(y + f4(i), sigmoidV(d), 48);
      }
    } else if (op == UNARY_EXP) {
      for (; i + 8 <= i1; i += 8) {
        const a = v128.load(x + f4(i)), b = v128.load(x + f4(i), 16);
        v128.store(y + f4(i), expVi(a));
        v128.store(y + f4(i), expVi(b), 16);
      }
    }
    for (; i + 8 <= i1; i += 8) {
      const a = v128.load(x + f4(i)), b = v128.load(x + f4(i), 16);
      v128.store(y + f4(i), unaryV(op, a, v0, v1));
      v128.store(y + f4(i), unaryV(op, b, v0, v1), 16);
    }
    for (; i + 4 <= i1; i += 4) v128.store(y + f4(i), unaryV(op, v128.load(x + f4(i)), v0, v1));
  }
  for (; i < i1; i++) store<f32>(y + f4(i), unaryS(op, load<f32>(x + f4(i)), s0, s1));
}

function binaryS(op: i32, a: f32, b: f32, s0: f32, s1: f32): f32 {
  switch (op) {
    case BINARY_ADD: return a + b;
    case BINARY_SUB: return a - b;
    case BINARY_MUL: return a * b;
    case BINARY_DIV: return a / b;
    case BINARY_MAXIMUM: return Mathf.max(a, b);
    case BINARY_MINIMUM: return Mathf.min(a, b);
    case BINARY_POW: return Mathf.pow(a, b);
    case BINARY_EQ: return a == b ? 1 : 0;
    case BINARY_NE: return a != b ? 1 : 0;
    case BINARY_LT: return a < b ? 1 : 0;
    case BINARY_LE: return a <= b ? 1 : 0;
    case BINARY_GT: return a > b ? 1 : 0;
    case BINARY_GE: return a >= b ? 1 : 0;
    // Gradients: a is the incoming gradient, b the op's input (x) or output (y).
    case BINARY_RELU_BW: return b <= 0 ? 0 : a;
    case BINARY_LEAKY_BW: return b > 0 ? a : a * s0;
    case BINARY_SIGMOID_BW: return a * (<f32>1 - b) * b;
    case BINARY_TANH_BW: return a * (<f32>1 - b * b);
    case BINARY_SQRT_BW: return a / (b + b);
    case BINARY_SIGN_MUL: return a * signS(b);
    case BINARY_CLAMP_BW: return b >= s0 && b <= s1 ? a : 0;
    // (b * s0) * a: the gradient of x^2 is (x * 2) * g, in PyTorch's order
    case BINARY_SCALED_MUL: return (b * s0) * a;
    default: unreachable();
  }
  return 0;
}

@inline function binaryV(op: i32, a: v128, b: v128, s0: v128, s1: v128): v128 {
  const one = f32x4.splat(1), zero = f32x4.splat(0);
  switch (op) {
    case BINARY_ADD: return f32x4.add(a, b);
    case BINARY_SUB: return f32x4.sub(a, b);
    case BINARY_MUL: return f32x4.mul(a, b);
    case BINARY_DIV: return f32x4.div(a, b);
    case BINARY_MAXIMUM: return f32x4.max(a, b);
    case BINARY_MINIMUM: return f32x4.min(a, b);
    case BINARY_EQ: return v128.and(f32x4.eq(a, b), one);
    case BINARY_NE: return v128.and(f32x4.ne(a, b), one);
    case BINARY_LT: return v128.and(f32x4.lt(a, b), one);
    case BINARY_LE: return v128.and(f32x4.le(a, b), one);
    case BINARY_GT: return v128.and(f32x4.gt(a, b), one);
    case BINARY_GE: return v128.and(f32x4.ge(a, b), one);
    case BINARY_RELU_BW: return v128.andnot(a, f32x4.le(b, zero));
    case BINARY_LEAKY_BW: return v128.bitselect(a, f32x4.mul(a, s0), f32x4.gt(b, zero));
    case BINARY_SIGMOID_BW: return f32x4.mul(f32x4.mul(a, f32x4.sub(one, b)), b);
    case BINARY_TANH_BW: return f32x4.mul(a, f32x4.sub(one, f32x4.mul(b, b)));
    case BINARY_SQRT_BW: return f32x4.div(a, f32x4.add(b, b));
    case BINARY_SIGN_MUL: return f32x4.mul(a, signV(b));
    case BINARY_CLAMP_BW: return v128.and(a, v128.and(f32x4.ge(b, s0), f32x4.le(b, s1)));
    case BINARY_SCALED_MUL: return f32x4.mul(f32x4.mul(b, s0), a);
    default: {
      const p = f32x4.extract_lane(s0, 0), q = f32x4.extract_lane(s1, 0);
      let r = f32x4.splat(binaryS(op, f32x4.extract_lane(a, 0), f32x4.extract_lane(b, 0), p, q));
      r = f32x4.replace_lane(r, 1, binaryS(op, f32x4.extract_lane(a, 1), f32x4.extract_lane(b, 1), p, q));
      r = f32x4.replace_lane(r, 2, binaryS(op, f32x4.extract_lane(a, 2), f32x4.extract_lane(b, 2), p, q));
      return f32x4.replace_lane(r, 3, binaryS(op, f32x4.extract_lane(a, 3), f32x4.extract_lane(b, 3), p, q));
    }
  }
}

/**
 * One run of `len` outputs along the innermost dimension: a and b advance by
 * their strides (0 = broadcast, 1 = contiguous, anything else = strided).
 */
@inline function binaryRun<V>(op: i32, pa: usize, pb: usize, py: usize, len: i32, sa: i32, sb: i32, s0: f32, s1: f32): void {
  let t = 0;
  if (isSimd<V>() && (sa == 0 || sa == 1) && (sb == 0 || sb == 1)) {
    const v0 = f32x4.splat(s0), v1 = f32x4.splat(s1);
    if (sa == 1 && sb == 1) {
      // The common ops on loops of their own, without the switch of binaryV
      // (an optimizer folds loops that differ only by a constant op back into one).
      if (op == BINARY_ADD) {
        for (; t + 8 <= len; t += 8) {
          const qa = pa + f4(t), qb = pb + f4(t), qy = py + f4(t);
          v128.store(qy, f32x4.add(v128.load(qa), v128.load(qb)));
          v128.store(qy, f32x4.add(v128.load(qa, 16), v128.load(qb, 16)), 16);
        }
      } else if (op == BINARY_MUL) {
        for (; t + 8 <= len; t += 8) {
          const qa = pa + f4(t), qb = pb + f4(t), qy = py + f4(t);
          v128.store(qy, f32x4.mul(v128.load(qa), v128.load(qb)));
          v128.store(qy, f32x4.mul(v128.load(qa, 16), v128.load(qb, 16)), 16);
        }
      } else if (op == BINARY_SUB) {
        for (; t + 8 <= len; t += 8) {
          const qa = pa + f4(t), qb = pb + f4(t), qy = py + f4(t);
          v128.store(qy, f32x4.sub(v128.load(qa), v128.load(qb)));
          v128.store(qy, f32x4.sub(v128.load(qa, 16), v128.load(qb, 16)), 16);
        }
      } else if (op == BINARY_RELU_BW) {
        const zero = f32x4.splat(0);
        for (; t + 8 <= len; t += 8) {
          const qa = pa + f4(t), qb = pb + f4(t), qy = py + f4(t);
          v128.store(qy, v128.andnot(v128.load(qa), f32x4.le(v128.load(qb), zero)));
          v128.store(qy, v128.andnot(v128.load(qa, 16), f32x4.le(v128.load(qb, 16), zero)), 16);
        }
      } else if (op == BINARY_SIGMOID_BW) {
        const one = f32x4.splat(1);
        for (; t + 8 <= len; t += 8) {
          const qa = pa + f4(t), qb = pb + f4(t), qy = py + f4(t);
          const b0 = v128.load(qb), b1 = v128.load(qb, 16);
          v128.store(qy, f32x4.mul(f32x4.mul(v128.load(qa), f32x4.sub(one, b0)), b0));
          v128.store(qy, f32x4.mul(f32x4.mul(v128.load(qa, 16), f32x4.sub(one, b1)), b1), 16);
        }
      }
      for (; t + 8 <= len; t += 8) {
        const qa = pa + f4(t), qb = pb + f4(t), qy = py + f4(t);
        v128.store(qy, binaryV(op, v128.load(qa), v128.load(qb), v0, v1));
        v128.store(qy, binaryV(op, v128.load(qa, 16), v128.load(qb, 16), v0, v1), 16);
      }
      for (; t + 4 <= len; t += 4) v128.store(py + f4(t), binaryV(op, v128.load(pa + f4(t)), v128.load(pb + f4(t)), v0, v1));
    } else if (sa == 1) {
      const bv = v128.load32_splat(pb);
      for (; t + 8 <= len; t += 8) {
        const qa = pa + f4(t), qy = py + f4(t);
        v128.store(qy, binaryV(op, v128.load(qa), bv, v0, v1));
        v128.store(qy, binaryV(op, v128.load(qa, 16), bv, v0, v1), 16);
      }
      for (; t + 4 <= len; t += 4) v128.store(py + f4(t), binaryV(op, v128.load(pa + f4(t)), bv, v0, v1));
    } else if (sb == 1) {
      const av = v128.load32_splat(pa);
      for (; t + 4 <= len; t += 4) v128.store(py + f4(t), binaryV(op, av, v128.load(pb + f4(t)), v0, v1));
    }
  }
  for (; t < len; t++) {
    store<f32>(py + f4(t), binaryS(op, load<f32>(pa + f4(t * sa)), load<f32>(pb + f4(t * sb)), s0, s1));
  }
}

/**
 * y = f(a, b) with NumPy broadcasting: out shape `shape` (ndim dims, outermost
 * first, contiguous y), element strides sa and sb of a and b in that index space
 * (0 where broadcast). Units: chunks of CHUNK output elements.
 */
export function binary<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const op = BinaryP.op(p), nd = BinaryP.ndim(p), n = BinaryP.n(p);
  const s0 = BinaryP.s0(p), s1 = BinaryP.s1(p);
  const a = BinaryP.a(p), b = BinaryP.b(p), y = BinaryP.y(p);
  const i0 = begin * CHUNK;
  const i1 = end * CHUNK < n ? end * CHUNK : n;
  if (i0 >= i1) return;
  const inner = BinaryP.shape(p, nd - 1);
  const sa0 = BinaryP.sa(p, nd - 1), sb0 = BinaryP.sb(p, nd - 1);
  // Multi-index of i0 in the outer dimensions, kept in the workspace.
  const idx = ws;
  let rest = i0 / inner;
  let oa = 0, ob = 0;
  for (let d = nd - 2; d >= 0; d--) {
    const s = BinaryP.shape(p, d);
    const k = rest % s;
    rest = rest / s;
    store<i32>(idx + f4(d), k);
    oa += k * BinaryP.sa(p, d); ob += k * BinaryP.sb(p, d);
  }
  let j = i0 % inner;
  let i = i0;
  while (i < i1) {
    const len = inner - j < i1 - i ? inner - j : i1 - i;
    binaryRun<V>(op, a + f4(oa + j * sa0), b + f4(ob + j * sb0), y + f4(i), len, sa0, sb0, s0, s1);
    i += len; j = 0;
    // Advance the outer multi-index by one.
    for (let d = nd - 2; d >= 0; d--) {
      const k = load<i32>(idx + f4(d)) + 1;
      const sa = BinaryP.sa(p, d), sb = BinaryP.sb(p, d);
      if (k < BinaryP.shape(p, d)) { store<i32>(idx + f4(d), k); oa += sa; ob += sb; break; }
      store<i32>(idx + f4(d), 0);
      oa -= (k - 1) * sa; ob -= (k - 1) * sb;
    }
  }
}

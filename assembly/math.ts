// Vector math shared by the element-wise kernels: exp, log, tanh and friends as
// polynomial approximations (after Cephes) written once for V = v128 and once
// for V = f32 with the same operations in the same order, so a SIMD kernel and
// its scalar sibling give identical bits. Accuracy: about 2 ulp over float32.

@inline export function isSimd<V>(): bool { return sizeof<V>() == 16; }

// f32 constants (as bit patterns where exactness matters)
const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const EXP_HI: f32 = 88.72283935546875;   // exp(x) overflows above this
const EXP_LO: f32 = -103.97208404541015; // exp(x) is 0 below this
const SQRTHF: f32 = 0.707106781186547524;
const EXP_MAGIC: f32 = 12582912.0;        // 1.5 * 2^23: v + EXP_MAGIC rounds v to an integer

/** exp(x) for one lane, the scalar sibling of expV. */
export function expS(x: f32): f32 {
  if (x != x) return x;
  if (x > EXP_HI) return Infinity;
  if (x < EXP_LO) return 0;
  // n = round(x log2 e) by the magic-number trick: cheaper than floor and a
  // float-to-int conversion in four lanes, and the same bits in one.
  const v = x * LOG2E + EXP_MAGIC;
  const fx = v - EXP_MAGIC;
  let r = x - fx * LN2_HI;
  r = r - fx * LN2_LO;
  const z = r * r;
  let y: f32 = 1.9875691500e-4;
  y = y * r + <f32>1.3981999507e-3;
  y = y * r + <f32>8.3334519073e-3;
  y = y * r + <f32>4.1665795894e-2;
  y = y * r + <f32>1.6666665459e-1;
  y = y * r + <f32>5.0000001201e-1;
  y = y * z + r;
  y = y + <f32>1;
  // Scale by 2^n in two steps so that subnormal results stay exact.
  const n = reinterpret<i32>(v) - reinterpret<i32>(EXP_MAGIC);
  const n1 = n >> 1, n2 = n - n1;
  y = y * reinterpret<f32>((n1 + 127) << 23);
  return y * reinterpret<f32>((n2 + 127) << 23);
}

/** exp(x) for four lanes (a call; expVi is the same, inlined where a loop is bound by it). */
export function expV(x: v128): v128 { return expVi(x); }

/** exp(x) for four lanes, inlined: the same operations as expS. */
@inline export function expVi(x: v128): v128 {
  const nan = f32x4.ne(x, x);
  const over = f32x4.gt(x, f32x4.splat(EXP_HI));
  const under = f32x4.lt(x, f32x4.splat(EXP_LO));
  const xc = f32x4.pmax(f32x4.pmin(x, f32x4.splat(EXP_HI)), f32x4.splat(EXP_LO));
  const v = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(EXP_MAGIC));
  const fx = f32x4.sub(v, f32x4.splat(EXP_MAGIC));
  let r = f32x4.sub(xc, f32x4.mul(fx, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(LN2_LO)));
  const z = f32x4.mul(r, r);
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.mul(y, z), r);
  y = f32x4.add(y, f32x4.splat(1));
  const n = i32x4.sub(v, i32x4.splat(0x4b400000)); // bits of EXP_MAGIC
  const n1 = i32x4.shr_s(n, 1), n2 = i32x4.sub(n, n1);
  const bias = i32x4.splat(127);
  y = f32x4.mul(y, i32x4.shl(i32x4.add(n1, bias), 23));
  y = f32x4.mul(y, i32x4.shl(i32x4.add(n2, bias), 23));
  y = v128.bitselect(f32x4.splat(Infinity), y, over);
  y = v128.andnot(y, under);
  return v128.bitselect(x, y, nan);
}

/** log(x) for one lane (NaN below 0, -inf at 0, +inf at +inf). */
export function logS(x: f32): f32 {
  if (x != x || x < 0) return NaN;
  if (x == 0) return -Infinity;
  if (x == Infinity) return x;
  let bits = reinterpret<i32>(x);
  let e = 0;
  if (bits < 0x00800000) { // subnormal: scale into the normal range first
    x = x * <f32>16777216.0; bits = reinterpret<i32>(x); e = -24;
  }
  e += ((bits >> 23) & 0xff) - 126;
  let m = reinterpret<f32>((bits & 0x007fffff) | 0x3f000000); // in [0.5, 1)
  if (m < SQRTHF) { e -= 1; m = m + m - <f32>1; } else { m = m - <f32>1; }
  const z = m * m;
  let y: f32 = 7.0376836292e-2;
  y = y * m - <f32>1.1514610310e-1;
  y = y * m + <f32>1.1676998740e-1;
  y = y * m - <f32>1.2420140846e-1;
  y = y * m + <f32>1.4249322787e-1;
  y = y * m - <f32>1.6668057665e-1;
  y = y * m + <f32>2.0000714765e-1;
  y = y * m - <f32>2.4999993993e-1;
  y = y * m + <f32>3.3333331174e-1;
  y = y * m * z;
  const fe = <f32>e;
  y = y + fe * LN2_LO;
  y = y - z * <f32>0.5;
  return m + y + fe * LN2_HI;
}

/** log(x) for four lanes. */
export function logV(x: v128): v128 {
  const invalid = v128.or(f32x4.ne(x, x), f32x4.lt(x, f32x4.splat(0)));
  const zero = f32x4.eq(x, f32x4.splat(0));
  const inf = f32x4.eq(x, f32x4.splat(Infinity));
  const sub = i32x4.lt_s(x, i32x4.splat(0x00800000));
  const xs = v128.bitselect(f32x4.mul(x, f32x4.splat(16777216.0)), x, sub);
  let e = i32x4.sub(i32x4.sub(v128.and(i32x4.shr_s(xs, 23), i32x4.splat(0xff)), i32x4.splat(126)),
                    v128.and(sub, i32x4.splat(24)));
  let m = v128.or(v128.and(xs, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000));
  const small = f32x4.lt(m, f32x4.splat(SQRTHF));
  e = i32x4.add(e, small); // true lanes are -1
  m = v128.bitselect(f32x4.sub(f32x4.add(m, m), f32x4.splat(1)), f32x4.sub(m, f32x4.splat(1)), small);
  const z = f32x4.mul(m, m);
  let y = f32x4.splat(7.0376836292e-2);
  y = f32x4.sub(f32x4.mul(y, m), f32x4.splat(1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.1676998740e-1));
  y = f32x4.sub(f32x4.mul(y, m), f32x4.splat(1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.4249322787e-1));
  y = f32x4.sub(f32x4.mul(y, m), f32x4.splat(1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(2.0000714765e-1));
  y = f32x4.sub(f32x4.mul(y, m), f32x4.splat(2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, m), z);
  const fe = f32x4.convert_i32x4_s(e);
  y = f32x4.add(y, f32x4.mul(fe, f32x4.splat(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  let r = f32x4.add(f32x4.add(m, y), f32x4.mul(fe, f32x4.splat(LN2_HI)));
  r = v128.bitselect(f32x4.splat(-Infinity), r, zero);
  r = v128.bitselect(x, r, inf);
  return v128.bitselect(f32x4.splat(NaN), r, invalid);
}

/** tanh(x), one lane: an odd polynomial below 0.625, else 1 - 2 / (exp(2|x|) + 1). */
export function tanhS(x: f32): f32 {
  if (x != x) return x;
  const a = Mathf.abs(x);
  let r: f32;
  if (a < <f32>0.625) {
    const z = x * x;
    let y: f32 = -5.70498872745e-3;
    y = y * z + <f32>2.06390887954e-2;
    y = y * z - <f32>5.37397155531e-2;
    y = y * z + <f32>1.33314422036e-1;
    y = y * z - <f32>3.33332819422e-1;
    return y * z * x + x;
  }
  if (a > <f32>9.01091289) r = 1;
  else r = <f32>1 - <f32>2 / (expS(a + a) + <f32>1);
  return x < 0 ? -r : r;
}

/** tanh(x), four lanes. */
export function tanhV(x: v128): v128 {
  const a = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let y = f32x4.splat(-5.70498872745e-3);
  y = f32x4.add(f32x4.mul(y, z), f32x4.splat(2.06390887954e-2));
  y = f32x4.sub(f32x4.mul(y, z), f32x4.splat(5.37397155531e-2));
  y = f32x4.add(f32x4.mul(y, z), f32x4.splat(1.33314422036e-1));
  y = f32x4.sub(f32x4.mul(y, z), f32x4.splat(3.33332819422e-1));
  const poly = f32x4.add(f32x4.mul(f32x4.mul(y, z), x), x);
  const one = f32x4.splat(1);
  let big = f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(expV(f32x4.add(a, a)), one)));
  big = v128.bitselect(one, big, f32x4.gt(a, f32x4.splat(9.01091289)));
  big = v128.or(big, v128.and(x, i32x4.splat(0x80000000))); // copy the sign
  const r = v128.bitselect(poly, big, f32x4.lt(a, f32x4.splat(0.625)));
  return v128.bitselect(x, r, f32x4.ne(x, x));
}

// Sigmoid: 1 / (1 + exp(-x)) with exp(t) for t clamped to [-88, 88], where
// 2^n needs a single scaling (t above 88 gives sigmoid(x) < 7e-39, below -88
// exactly 1). n = round(t * log2(e)) is read from the bits of t * log2(e) + 1.5*2^23,
// so no floor or float-to-int conversion is needed; NaN stays NaN through
// every step. Then the reduced argument and Cephes' polynomial of expS.
const SIG_CLAMP: f32 = 88;
const ROUND_MAGIC: f32 = 12582912.0; // 1.5 * 2^23

/** 1 / (1 + exp(-x)), one lane. */
@inline export function sigmoidS(x: f32): f32 {
  const t = Mathf.min(Mathf.max(-x, -SIG_CLAMP), SIG_CLAMP);
  const v = t * LOG2E + ROUND_MAGIC;
  const fx = v - ROUND_MAGIC;
  let r = t - fx * LN2_HI;
  r = r - fx * LN2_LO;
  const z = r * r;
  let y: f32 = 1.9875691500e-4;
  y = y * r + <f32>1.3981999507e-3;
  y = y * r + <f32>8.3334519073e-3;
  y = y * r + <f32>4.1665795894e-2;
  y = y * r + <f32>1.6666665459e-1;
  y = y * r + <f32>5.0000001201e-1;
  y = y * z + r;
  y = y + <f32>1;
  const n = reinterpret<i32>(v) - reinterpret<i32>(ROUND_MAGIC);
  y = y * reinterpret<f32>((n + 127) << 23);
  return <f32>1 / (<f32>1 + y);
}
/** 1 / (1 + exp(-x)), four lanes: the same operations as sigmoidS. */
@inline export function sigmoidV(x: v128): v128 {
  const t = f32x4.pmin(f32x4.pmax(f32x4.neg(x), f32x4.splat(-SIG_CLAMP)), f32x4.splat(SIG_CLAMP));
  const v = f32x4.add(f32x4.mul(t, f32x4.splat(LOG2E)), f32x4.splat(ROUND_MAGIC));
  const fx = f32x4.sub(v, f32x4.splat(ROUND_MAGIC));
  let r = f32x4.sub(t, f32x4.mul(fx, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(LN2_LO)));
  const z = f32x4.mul(r, r);
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.mul(y, z), r);
  const one = f32x4.splat(1);
  y = f32x4.add(y, one);
  const n = i32x4.sub(v, i32x4.splat(0x4b400000)); // bits of ROUND_MAGIC
  y = f32x4.mul(y, i32x4.shl(i32x4.add(n, i32x4.splat(127)), 23));
  return f32x4.div(one, f32x4.add(one, y));
}

/** sign(x): -1, 0 or 1 (0 for -0 and NaN, as PyTorch's (0 < x) - (x < 0)), one lane. */
@inline export function signS(x: f32): f32 { return x > 0 ? 1 : x < 0 ? -1 : 0; }
/** sign(x), four lanes. */
@inline export function signV(x: v128): v128 {
  const r = v128.and(f32x4.splat(1), f32x4.gt(x, f32x4.splat(0)));
  return v128.bitselect(f32x4.splat(-1), r, f32x4.lt(x, f32x4.splat(0)));
}

// The float64 definitions of the element-wise and copy kernels.
import type { RefParams } from '../layout';
import type { Binary, Permute, Unary } from '../registry';

type UnaryP = RefParams<typeof Unary.fields>;
type BinaryP = RefParams<typeof Binary.fields>;
type PermuteP = RefParams<typeof Permute.fields>;

/** x ** p with PyTorch's exact special exponents. */
function pows(x: number, p: number): number {
  if (p === 2) return x * x;
  if (p === 3) return x * x * x;
  if (p === 0.5) return Math.sqrt(x);
  if (p === -0.5) return 1 / Math.sqrt(x);
  if (p === -1) return 1 / x;
  if (p === -2) return 1 / (x * x);
  return x ** p;
}
const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);
/** IEEE maximum/minimum: NaN if either is NaN, -0 < +0 (WebAssembly's f32.max/min, PyTorch's maximum/minimum). */
const fmax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a === b ? (Object.is(a, -0) ? b : a) : a > b ? a : b);
const fmin = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a === b ? (Object.is(a, -0) ? a : b) : a < b ? a : b);

/** Op functions of the unary family, in the order of the registry's UNARY codes. */
export const UNARY_FNS: ReadonlyArray<(x: number, s0: number, s1: number) => number> = [
  (x) => x,                                          // COPY
  (_x, s0) => s0,                                    // FILL
  (x) => -x,                                         // NEG
  (x) => (x > 0 || Number.isNaN(x) ? x : 0),         // RELU
  (x) => x * x,                                      // SQUARE
  (x) => Math.exp(x),                                // EXP
  (x) => Math.log(x),                                // LOG
  (x) => 1 / (1 + Math.exp(-x)),                     // SIGMOID
  (x) => Math.tanh(x),                               // TANH
  (x) => Math.sqrt(x),                               // SQRT
  (x) => Math.abs(x),                                // ABS
  sign,                                              // SIGN
  (x, s) => x + s,                                   // ADDS
  (x, s) => x - s,                                   // SUBS
  (x, s) => s - x,                                   // RSUBS
  (x, s) => x * s,                                   // MULS
  (x, s) => x / s,                                   // DIVS
  (x, s) => s / x,                                   // RDIVS
  pows,                                              // POWS
  (x, lo, hi) => (Number.isNaN(x) ? x : fmin(fmax(x, lo), hi)), // CLAMP
  (x, s) => (x > 0 ? x : x * s),                     // LEAKY_RELU
];

/** Op functions of the binary family, in the order of the registry's BINARY codes. */
export const BINARY_FNS: ReadonlyArray<(a: number, b: number, s0: number, s1: number) => number> = [
  (a, b) => a + b, (a, b) => a - b, (a, b) => a * b, (a, b) => a / b, // ADD SUB MUL DIV
  fmax, fmin, (a, b) => a ** b,                                         // MAXIMUM MINIMUM POW
  (a, b) => +(a === b), (a, b) => +(a !== b), (a, b) => +(a < b),       // EQ NE LT
  (a, b) => +(a <= b), (a, b) => +(a > b), (a, b) => +(a >= b),         // LE GT GE
  (g, x) => (x <= 0 ? 0 : g),                                           // RELU_BW
  (g, x, s) => (x > 0 ? g : g * s),                                     // LEAKY_BW
  (g, y) => g * (1 - y) * y,                                            // SIGMOID_BW
  (g, y) => g * (1 - y * y),                                            // TANH_BW
  (g, y) => g / (y + y),                                                // SQRT_BW
  (g, x) => g * sign(x),                                                // SIGN_MUL
  (g, x, lo, hi) => (x >= lo && x <= hi ? g : 0),                       // CLAMP_BW
  (a, b, s) => b * s * a,                                               // SCALED_MUL
];

export function unaryRef(p: UnaryP): void {
  const f = UNARY_FNS[p.op];
  const x = p.x!, y = p.y!;
  for (let i = 0; i < p.n; i++) y[i] = f(x[i], p.s0, p.s1);
}

/** Calls visit(outIndex, offsets...) over a strided index space, outermost dimension first. */
function strided(shape: readonly number[], nd: number, strides: ReadonlyArray<readonly number[]>, visit: (i: number, offs: number[]) => void): void {
  const n = shape.slice(0, nd).reduce((a, b) => a * b, 1);
  const idx = new Array<number>(nd).fill(0);
  for (let i = 0; i < n; i++) {
    const offs = strides.map((s) => idx.reduce((acc, k, d) => acc + k * s[d], 0));
    visit(i, offs);
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

export function binaryRef(p: BinaryP): void {
  const f = BINARY_FNS[p.op];
  const a = p.a!, b = p.b!, y = p.y!;
  strided(p.shape, p.ndim, [p.sa, p.sb], (i, [oa, ob]) => { y[i] = f(a[oa], b[ob], p.s0, p.s1); });
}

export function permuteRef(p: PermuteP): void {
  const x = p.x!, y = p.y!;
  strided(p.shape, p.ndim, [p.st], (i, [o]) => { y[i] = x[o]; });
}

/**
 * PyTorch-compatible tensor printing.
 *
 * Reproduces the output of `print(t)` / `repr(t)` for a float32 CPU tensor
 * under PyTorch's default print options (precision 4, threshold 1000,
 * edgeitems 3, linewidth 80, sci_mode auto), following the rules of
 * `torch/_tensor_str.py`. Numbers are formatted exactly like Python's
 * `'{:.4f}'`, `'{:.4e}'` and `'{:.0f}'` (correctly rounded from the exact
 * binary value, ties to even), so outputs can be compared character for
 * character with PyTorch.
 */

const PRECISION = 4;
const THRESHOLD = 1000;
const EDGEITEMS = 3;
const LINEWIDTH = 80;
const PREFIX = 'tensor(';

// ---------------------------------------------------------------------------
// Exact decimal formatting of doubles (Python float.__format__ semantics)
// ---------------------------------------------------------------------------

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Index of the high word on this platform (little endian almost everywhere).
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** |x| = n / 10^k exactly, for finite x. */
function exactDecimal(x: number): { n: bigint; k: number } {
  f64[0] = x;
  const hi = u32[HI]!;
  const lo = u32[LO]!;
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (biased === 0) {
    e = -1074; // subnormal or zero
  } else {
    mant |= 1n << 52n;
    e = biased - 1075;
  }
  if (mant === 0n) return { n: 0n, k: 0 };
  if (e >= 0) return { n: mant << BigInt(e), k: 0 };
  // m * 2^e = m * 5^-e / 10^-e
  return { n: mant * 5n ** BigInt(-e), k: -e };
}

/** Round n / 10^d to an integer, ties to even (d >= 0). */
function divRoundHalfEven(n: bigint, d: number): bigint {
  if (d <= 0) return n * 10n ** BigInt(-d);
  const div = 10n ** BigInt(d);
  const q = n / div;
  const r = n % div;
  const twice = r * 2n;
  if (twice > div || (twice === div && (q & 1n) === 1n)) return q + 1n;
  return q;
}

function isNegative(x: number): boolean {
  return x < 0 || Object.is(x, -0);
}

function nonFinite(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  return x > 0 ? 'inf' : '-inf';
}

/** Python `'{:.{p}f}'.format(x)`. */
function pyFixed(x: number, p: number): string {
  if (!Number.isFinite(x)) return nonFinite(x);
  const sign = isNegative(x) ? '-' : '';
  const { n, k } = exactDecimal(Math.abs(x));
  const scaled = divRoundHalfEven(n, k - p); // round(|x| * 10^p)
  let digits = scaled.toString();
  if (p === 0) return sign + digits;
  if (digits.length <= p) digits = '0'.repeat(p - digits.length + 1) + digits;
  return sign + digits.slice(0, digits.length - p) + '.' + digits.slice(digits.length - p);
}

/** Python `'{:.{p}e}'.format(x)`. */
function pySci(x: number, p: number): string {
  if (!Number.isFinite(x)) return nonFinite(x);
  const sign = isNegative(x) ? '-' : '';
  const { n, k } = exactDecimal(Math.abs(x));
  let mantissa: string;
  let exp: number;
  if (n === 0n) {
    mantissa = '0'.repeat(p + 1);
    exp = 0;
  } else {
    const len = n.toString().length;
    exp = len - 1 - k;
    let r = divRoundHalfEven(n, len - (p + 1));
    mantissa = r.toString();
    if (mantissa.length > p + 1) {
      // carried into a new digit (e.g. 9.99996 -> 10.0000): drop a zero
      r /= 10n;
      mantissa = r.toString();
      exp += 1;
    }
  }
  const body = p > 0 ? mantissa[0] + '.' + mantissa.slice(1) : mantissa;
  const expSign = exp < 0 ? '-' : '+';
  const expDigits = String(Math.abs(exp)).padStart(2, '0');
  return `${sign}${body}e${expSign}${expDigits}`;
}

// ---------------------------------------------------------------------------
// _Formatter
// ---------------------------------------------------------------------------

class Formatter {
  intMode = true;
  sciMode = false;
  maxWidth = 1;

  constructor(values: readonly number[]) {
    const nz = values.filter((v) => Number.isFinite(v) && v !== 0);
    if (nz.length === 0) return;
    let min = Infinity;
    let max = 0;
    for (const v of nz) {
      const a = Math.abs(v);
      if (a < min) min = a;
      if (a > max) max = a;
      if (this.intMode && v !== Math.ceil(v)) this.intMode = false;
    }
    const wideRange = max / min > 1000 || max > 1e8;
    if (this.intMode) {
      if (wideRange) {
        this.sciMode = true;
        for (const v of nz) this.maxWidth = Math.max(this.maxWidth, pySci(v, PRECISION).length);
      } else {
        for (const v of nz) this.maxWidth = Math.max(this.maxWidth, pyFixed(v, 0).length + 1);
      }
    } else if (wideRange || min < 1e-4) {
      this.sciMode = true;
      for (const v of nz) this.maxWidth = Math.max(this.maxWidth, pySci(v, PRECISION).length);
    } else {
      for (const v of nz) this.maxWidth = Math.max(this.maxWidth, pyFixed(v, PRECISION).length);
    }
  }

  format(v: number): string {
    let s: string;
    if (this.sciMode) {
      s = pySci(v, PRECISION);
    } else if (this.intMode) {
      s = pyFixed(v, 0);
      if (Number.isFinite(v)) s += '.';
    } else {
      s = pyFixed(v, PRECISION);
    }
    return s.length < this.maxWidth ? ' '.repeat(this.maxWidth - s.length) + s : s;
  }
}

// ---------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------

/** Indices kept along a dimension of size n (all, or edge items when summarizing). */
function keptIndices(n: number, summarize: boolean): number[] {
  if (summarize && n > 2 * EDGEITEMS) {
    const idx: number[] = [];
    for (let i = 0; i < EDGEITEMS; i++) idx.push(i);
    for (let i = n - EDGEITEMS; i < n; i++) idx.push(i);
    return idx;
  }
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Format a tensor of float32 values the way PyTorch prints it with default
 * print options, e.g. `tensor([[ 0.,  1.],\n        [-1.,  0.]])`.
 *
 * - Integral values print in "int mode" (`1.`, `-1.`), otherwise with four
 *   decimals (`0.3000`), or in scientific notation (`1.2346e+05`) when the
 *   nonzero magnitudes span more than 1000x, exceed 1e8, or go below 1e-4.
 * - All elements share one right-aligned width; rows wrap at 80 columns;
 *   tensors with more than 1000 elements are summarized with `...`
 *   (3 edge items per dimension).
 *
 * Worked example — a 2x3 tensor with a negative entry is in int mode; the
 * widest value `-1.` sets the width to 3, so every element is padded to 3:
 *
 * ```ts
 * formatTensor([0, 1, -1, 2, 3, 4], [2, 3]);
 * // 'tensor([[ 0.,  1., -1.],\n' +
 * // '        [ 2.,  3.,  4.]])'
 * formatTensor([0.3], []);                               // 'tensor(0.3000)'
 * formatTensor([1, 2], [2], { requiresGrad: true });     // 'tensor([1., 2.], requires_grad=True)'
 * ```
 *
 * @param data  Row-major (C order) values; each is rounded to float32.
 * @param shape Dimensions; `[]` for a 0-d (scalar) tensor.
 * @param opts  `requiresGrad: true` appends the `requires_grad=True` suffix;
 *              `gradFn: 'MulBackward0'` appends `grad_fn=<MulBackward0>` instead (results of ops).
 */
export function formatTensor(
  data: ArrayLike<number>,
  shape: readonly number[],
  opts?: { requiresGrad?: boolean; gradFn?: string },
): string {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid shape [${shape.join(', ')}]`);
  }
  const numel = shape.reduce((a, b) => a * b, 1);
  if (data.length !== numel) {
    throw new RangeError(`data has ${data.length} elements but shape [${shape.join(', ')}] needs ${numel}`);
  }
  return formatWith((i) => data[i]!, shape, opts);
}

/**
 * @internal `formatTensor` over an element getter: only the printed elements
 * are read, so a summarised tensor of any size costs a few thousand reads.
 */
export function formatWith(
  get: (i: number) => number,
  shape: readonly number[],
  opts?: { requiresGrad?: boolean; gradFn?: string },
): string {
  const numel = shape.reduce((a, b) => a * b, 1);
  const values = { at: (i: number) => Math.fround(get(i)) };

  const indent = PREFIX.length;
  const suffixes: string[] = [];
  let body: string;

  if (numel === 0) {
    if (shape.length !== 1) {
      suffixes.push(`size=(${shape.join(', ')})`);
    }
    body = '[]';
  } else {
    const summarize = numel > THRESHOLD;
    const strides = new Array<number>(shape.length);
    let acc = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      strides[d] = acc;
      acc *= shape[d]!;
    }

    // Values seen by the formatter (get_summarized_data).
    const seen: number[] = [];
    const collect = (dim: number, offset: number): void => {
      if (dim === shape.length) {
        seen.push(values.at(offset));
        return;
      }
      for (const i of keptIndices(shape[dim]!, summarize)) collect(dim + 1, offset + i * strides[dim]!);
    };
    collect(0, 0);
    const fmt = new Formatter(seen);

    const render = (dim: number, offset: number, ind: number): string => {
      const rank = shape.length - dim;
      if (rank === 0) return fmt.format(values.at(offset));
      const n = shape[dim]!;
      const elided = summarize && n > 2 * EDGEITEMS;
      if (rank === 1) {
        const elementLength = fmt.maxWidth + 2;
        const perLine = Math.max(1, Math.floor((LINEWIDTH - ind) / elementLength));
        const items: string[] = [];
        if (elided) {
          for (let i = 0; i < EDGEITEMS; i++) items.push(fmt.format(values.at(offset + i * strides[dim]!)));
          items.push(' ...');
          for (let i = n - EDGEITEMS; i < n; i++) items.push(fmt.format(values.at(offset + i * strides[dim]!)));
        } else {
          for (let i = 0; i < n; i++) items.push(fmt.format(values.at(offset + i * strides[dim]!)));
        }
        const lines: string[] = [];
        for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
        return '[' + lines.join(',\n' + ' '.repeat(ind + 1)) + ']';
      }
      const slices: string[] = [];
      if (elided) {
        for (let i = 0; i < EDGEITEMS; i++) slices.push(render(dim + 1, offset + i * strides[dim]!, ind + 1));
        slices.push('...');
        for (let i = n - EDGEITEMS; i < n; i++) slices.push(render(dim + 1, offset + i * strides[dim]!, ind + 1));
      } else {
        for (let i = 0; i < n; i++) slices.push(render(dim + 1, offset + i * strides[dim]!, ind + 1));
      }
      return '[' + slices.join(',' + '\n'.repeat(rank - 1) + ' '.repeat(ind + 1)) + ']';
    };
    body = render(0, 0, indent);
  }

  if (opts?.gradFn) suffixes.push(`grad_fn=<${opts.gradFn}>`);
  else if (opts?.requiresGrad) suffixes.push('requires_grad=True');
  return addSuffixes(PREFIX + body, suffixes, indent);
}

/** torch's _add_suffixes (force_newline is only used for sparse tensors). */
function addSuffixes(tensorStr: string, suffixes: readonly string[], indent: number): string {
  const parts = [tensorStr];
  // Mirrors torch's arithmetic exactly (it over-counts by two).
  let lastLineLen = tensorStr.length - tensorStr.lastIndexOf('\n') + 1;
  for (const suffix of suffixes) {
    if (lastLineLen + suffix.length + 2 > LINEWIDTH) {
      parts.push(',\n' + ' '.repeat(indent) + suffix);
      lastLineLen = indent + suffix.length;
    } else {
      parts.push(', ' + suffix);
      lastLineLen += suffix.length + 2;
    }
  }
  parts.push(')');
  return parts.join('');
}

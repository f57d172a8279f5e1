import type { ConvGeometry } from '../backend/backend';
import { ShapeError, fmtShape } from '../errors';

/** Options of `conv2d`, as in `torch.nn.functional.conv2d`. */
export interface Conv2dOptions {
  /** A number or [sh, sw]; default 1. */
  stride?: number | readonly [number, number];
  /** A number, [ph, pw] (each side), 'valid' (0) or 'same' (output size = input size, stride 1); default 0. */
  padding?: number | readonly [number, number] | 'valid' | 'same';
  /** A number or [dh, dw]; default 1. */
  dilation?: number | readonly [number, number];
  /** Channel groups; default 1. */
  groups?: number;
}

/**
 * Largest value of any convolution size, option or derived extent (padded
 * input, dilated kernel): sums and products of them stay within the kernels'
 * 32-bit index arithmetic, and anything larger could not fit in memory anyway.
 */
export const MAX_EXTENT = 2 ** 28;

function pair(v: unknown, name: string, min: number, fn: string): [number, number] {
  const what = min === 1 ? 'a positive integer' : 'a non-negative integer';
  const check = (x: unknown, shown: unknown): number => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min) {
      throw new RangeError(`${fn}: ${name} must be ${what} or a pair of them, got ${fmtValue(shown)}`);
    }
    if (x > MAX_EXTENT) throw new RangeError(`${fn}: ${name} ${fmtValue(shown)} is larger than the 2^28 (${MAX_EXTENT}) supported`);
    return x;
  };
  if (Array.isArray(v)) {
    // A private copy, each entry read once.
    const n = v.length;
    const c = n === 2 ? [v[0], v[1]] : [];
    if (n !== 2) throw new RangeError(`${fn}: ${name} must be ${what} or a pair of them, got ${fmtValue(Array.from({ length: Math.min(n, 8) }, (_, i) => v[i]))}${n > 8 ? ' ...' : ''}`);
    return [check(c[0], c), check(c[1], c)];
  }
  if (typeof v !== 'number') throw new TypeError(`${fn}: ${name} must be ${what} or a pair of them, got ${fmtValue(v)}`);
  const x = check(v, v);
  return [x, x];
}

function fmtValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

/**
 * Validates a convolution's shapes and options and computes its geometry, once,
 * for every backend. Input NCHW (or unbatched CHW), weight OIHW.
 * Throws ShapeError, TypeError or RangeError naming the offending values.
 *
 * @example
 * conv2dInfo([1, 1, 6, 8], [1, 1, 1, 2], {});
 * // { N: 1, C: 1, H: 6, W: 8, O: 1, KH: 1, KW: 2, OH: 6, OW: 7, SH: 1, SW: 1, PH: 0, PW: 0, DH: 1, DW: 1, G: 1 }
 */
export function conv2dInfo(xShape: readonly number[], wShape: readonly number[], opts: Conv2dOptions, fn = 'conv2d'): ConvGeometry {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${fmtValue(opts)}`);
  // Each option read once, into locals.
  const stride = opts.stride, paddingOpt = opts.padding, dilation = opts.dilation, groups = opts.groups;
  if (xShape.length !== 4 && xShape.length !== 3) {
    throw new ShapeError(`${fn}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape ${fmtShape(xShape)}`);
  }
  if (wShape.length !== 4) throw new ShapeError(`${fn}: weight must be 4-D (out_channels, in_channels/groups, kH, kW), got shape ${fmtShape(wShape)}`);
  const [N, C, H, W] = xShape.length === 4 ? xShape : [1, ...xShape];
  const [O, Ci, KH, KW] = wShape;
  const G = groups ?? 1;
  if (typeof G !== 'number' || !Number.isInteger(G) || G < 1) throw new RangeError(`${fn}: groups must be a positive integer, got ${fmtValue(G)}`);
  const [SH, SW] = pair(stride ?? 1, 'stride', 1, fn);
  const [DH, DW] = pair(dilation ?? 1, 'dilation', 1, fn);
  if (C % G !== 0) throw new ShapeError(`${fn}: groups (${G}) must divide the input channels (${C}); input shape ${fmtShape(xShape)}`);
  if (O % G !== 0) throw new ShapeError(`${fn}: groups (${G}) must divide the output channels (${O}); weight shape ${fmtShape(wShape)}`);
  if (Ci * G !== C) {
    throw new ShapeError(`${fn}: input has ${C} channels, but weight of shape ${fmtShape(wShape)} with groups=${G} expects ${Ci * G} (input shape ${fmtShape(xShape)})`);
  }
  if (O === 0 || KH === 0 || KW === 0 || N === 0 || C === 0) {
    throw new ShapeError(`${fn}: zero-sized dimension: input ${fmtShape(xShape)}, weight ${fmtShape(wShape)}`);
  }
  const effH = DH * (KH - 1) + 1, effW = DW * (KW - 1) + 1;
  let PH: number, PW: number, OH: number, OW: number;
  const padding = paddingOpt ?? 0;
  if (typeof padding === 'string' && padding !== 'same' && padding !== 'valid') {
    throw new RangeError(`${fn}: padding must be 'valid', 'same', a non-negative integer or a pair of them, got ${fmtValue(padding)}`);
  }
  if (padding === 'same') {
    if (SH !== 1 || SW !== 1) throw new RangeError(`${fn}: padding='same' needs stride 1, got stride [${SH}, ${SW}]`);
    // As PyTorch: total padding d*(k-1), the extra one (when odd) on the bottom/right.
    PH = Math.floor((effH - 1) / 2); PW = Math.floor((effW - 1) / 2);
    OH = H; OW = W;
  } else {
    [PH, PW] = padding === 'valid' ? [0, 0] : pair(padding, 'padding', 0, fn);
    if (H + 2 * PH < effH || W + 2 * PW < effW) {
      const which = H + 2 * PH < effH ? 'height' : 'width';
      throw new ShapeError(`${fn}: kernel of ${which} ${which === 'height' ? effH : effW}${(which === 'height' ? DH : DW) > 1 ? ' (dilated)' : ''} is larger than the padded input ${which} ${which === 'height' ? H + 2 * PH : W + 2 * PW} (input shape ${fmtShape(xShape)}, weight shape ${fmtShape(wShape)}, padding [${PH}, ${PW}])`);
    }
    OH = Math.floor((H + 2 * PH - effH) / SH) + 1;
    OW = Math.floor((W + 2 * PW - effW) / SW) + 1;
  }
  // Every extent the kernels index with, and every block they fill, within 32-bit arithmetic.
  const Kg = Ci * KH * KW;
  const hp = H + 2 * PH + effH, wp = W + 2 * PW + effW;
  if (hp > MAX_EXTENT || wp > MAX_EXTENT) {
    throw new RangeError(`${fn}: the padded input ${hp > MAX_EXTENT ? `height ${hp}` : `width ${wp}`} is larger than the 2^28 (${MAX_EXTENT}) supported ${geometryText(xShape, wShape, SH, SW, PH, PW, DH, DW)}`);
  }
  const sizes = [N * O * OH * OW, N * C * H * W, O * Kg, Kg * 64, (OH + effH) * (OW + effW), 8 * (OH * OW + 16), (Math.ceil((4 * KH * KW) / 4) * 4 + O / G) * 256];
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] > 2 ** 29) {
      const what = ['output', 'input', 'weight', 'im2col panel', 'zero-bordered plane', 'weight-gradient rows', 'input-gradient workspace'][i];
      throw new RangeError(`${fn}: the ${what} would have ${sizes[i]} elements, more than the 2^29 supported ${geometryText(xShape, wShape, SH, SW, PH, PW, DH, DW)}`);
    }
  }
  return { N, C, H, W, O, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW, G };
}

function geometryText(x: readonly number[], w: readonly number[], SH: number, SW: number, PH: number, PW: number, DH: number, DW: number): string {
  return `(input ${fmtShape(x)}, weight ${fmtShape(w)}, stride [${SH}, ${SW}], padding [${PH}, ${PW}], dilation [${DH}, ${DW}])`;
}

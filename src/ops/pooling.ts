// Pooling and padding: maxPool2d, avgPool2d, adaptiveAvgPool2d and pad, with
// the semantics of torch.nn.functional's max_pool2d, avg_pool2d,
// adaptive_avg_pool2d and pad. Every export of this module is public
// (src/ops/index.ts re-exports it whole).
import type { Buf } from '../backend/layout';
import {
  adaptiveAvgPool2d as adaptiveK, adaptiveAvgPool2dBackward as adaptiveBackwardK, avgPool2d as avgK,
  avgPool2dBackward as avgBackwardK, maxPool2d as maxK, maxPool2dBackward as maxBackwardK,
} from '../backend/registry';
import { describe, renamed } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { MAX_ELEMENTS, type Tensor } from '../tensor';
import { MAX_EXTENT } from './conv_info';
import { boolArg, needsGrad, output, record, run, tensorArg } from './op';
import { padForward, padGeometry, padGradient, padModeArg, padValueArg, padsArg, rowsPerUnit, type PadMode } from './pad_core';

export type { PadMode } from './pad_core';

/** A size of a 2-D window: one number for both dimensions, or [height, width]. */
export type Size2 = number | readonly [number, number];

/** Options of `maxPool2d`, as `torch.nn.functional.max_pool2d`'s. */
export interface MaxPool2dOptions {
  /** Default (undefined or null): the kernel size. */
  stride?: Size2 | null;
  /** Implicit -inf padding on both sides, at most half the kernel size; default 0. */
  padding?: Size2;
  /** Spacing between the kernel's taps; default 1. */
  dilation?: Size2;
  /** Output sizes rounded up instead of down (the last window must start inside the input or its left padding); default false. */
  ceilMode?: boolean;
  /** Also return the indices of the maxima; default false. */
  returnIndices?: boolean;
}

/** Options of `avgPool2d`, as `torch.nn.functional.avg_pool2d`'s. */
export interface AvgPool2dOptions {
  /** Default (undefined or null): the kernel size. */
  stride?: Size2 | null;
  /** Implicit zero padding on both sides, at most half the kernel size; default 0. */
  padding?: Size2;
  /** Output sizes rounded up instead of down; default false. */
  ceilMode?: boolean;
  /** Whether the padding counts in the divisor; default true. */
  countIncludePad?: boolean;
  /** A non-zero integer to divide every window's sum by, instead of its size; default none. */
  divisorOverride?: number | null;
}

/** Options of `pad`. */
export interface PadOptions {
  /** Default 'constant'. */
  mode?: PadMode;
  /** The fill value of constant mode (default 0); other modes take none. */
  value?: number;
}

/** The geometry of a pooling: planes, input and output sizes, kernel, stride, padding, dilation. */
interface PoolGeometry {
  P: number; H: number; W: number; OH: number; OW: number; KH: number; KW: number;
  SH: number; SW: number; PH: number; PW: number; DH: number; DW: number; outShape: number[];
}

function fmtValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(', ')}]`;
  return typeof v === 'number' ? String(v) : describe(v);
}

/** A private copy of a size argument: an integer >= min, or a pair of them. */
function pairArg(v: unknown, name: string, min: number, fn: string): [number, number] {
  const what = min === 1 ? 'a positive integer' : 'a non-negative integer';
  let c: unknown[];
  if (Array.isArray(v)) {
    const n = v.length;
    c = Array.from({ length: Math.min(n, 8) }, (_, i) => v[i]);
    if (n !== 2) throw new RangeError(`${fn}: ${name} must be ${what} or a pair of them, got ${fmtValue(c)}${n > 8 ? ' ...' : ''}`);
  } else if (typeof v === 'number') {
    c = [v, v];
  } else {
    throw new TypeError(`${fn}: ${name} must be ${what} or a pair of them, got ${describe(v)}`);
  }
  const shown = Array.isArray(v) ? fmtValue(c) : String(v);
  for (const e of c) {
    if (typeof e !== 'number' || !Number.isInteger(e) || e < min) throw new RangeError(`${fn}: ${name} must be ${what} or a pair of them, got ${shown}`);
    if (e > MAX_EXTENT) throw new RangeError(`${fn}: ${name} ${shown} is larger than the 2^28 (${MAX_EXTENT}) supported`);
  }
  return [c[0] as number, c[1] as number];
}

/** The options object (a private reference; each option is read once by the caller). */
function optionsArg<T extends object>(opts: unknown, fn: string): Partial<T> {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
  return opts as Partial<T>;
}

/** PyTorch's pooling output size: floor or ceil, and in ceil mode the last window starts inside the input or its left padding. */
function pooledSize(n: number, k: number, p: number, s: number, d: number, ceil: boolean): number {
  let o = Math.floor((n + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

/** The input of a pooling: (N, C, H, W) or (C, H, W) with non-zero C, H, W. */
function poolInput(fn: string, shape: readonly number[]): { lead: number[]; P: number; H: number; W: number } {
  if (shape.length !== 4 && shape.length !== 3) {
    throw new ShapeError(`${fn}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape ${fmtShape(shape)}`);
  }
  const nd = shape.length, H = shape[nd - 2], W = shape[nd - 1], C = shape[nd - 3];
  if (C === 0 || H === 0 || W === 0) {
    throw new ShapeError(`${fn}: input must have non-zero channels, height and width (only the batch may be empty), got shape ${fmtShape(shape)}`);
  }
  const lead = shape.slice(0, nd - 2);
  return { lead, P: lead.reduce((a, b) => a * b, 1), H, W };
}

/** Validates a pooling's arguments (private copies) and computes its geometry. */
function poolGeometry(fn: string, shape: readonly number[], kernelSize: unknown, stride: unknown, padding: unknown,
                      dilation: unknown, ceil: boolean): PoolGeometry {
  const { lead, P, H, W } = poolInput(fn, shape);
  const [KH, KW] = pairArg(kernelSize, 'kernelSize', 1, fn);
  const [SH, SW] = stride === undefined || stride === null ? [KH, KW] : pairArg(stride, 'stride', 1, fn);
  const [PH, PW] = pairArg(padding ?? 0, 'padding', 0, fn);
  const [DH, DW] = pairArg(dilation ?? 1, 'dilation', 1, fn);
  if (KH * KW > 2 ** 24) throw new RangeError(`${fn}: kernelSize [${KH}, ${KW}] has ${KH * KW} taps, more than the 2^24 supported`);
  if (PH > Math.floor(KH / 2) || PW > Math.floor(KW / 2)) {
    throw new RangeError(`${fn}: padding [${PH}, ${PW}] must be at most half the kernelSize [${KH}, ${KW}] (rounded down)`);
  }
  const eh = DH * (KH - 1) + 1, ew = DW * (KW - 1) + 1;
  if (eh > MAX_EXTENT || ew > MAX_EXTENT || H + 2 * PH > MAX_EXTENT || W + 2 * PW > MAX_EXTENT) {
    throw new RangeError(`${fn}: the dilated kernel [${eh}, ${ew}] or the padded input [${H + 2 * PH}, ${W + 2 * PW}] is larger than the 2^28 (${MAX_EXTENT}) supported`);
  }
  const OH = pooledSize(H, KH, PH, SH, DH, ceil), OW = pooledSize(W, KW, PW, SW, DW, ceil);
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`${fn}: the kernel [${KH}, ${KW}]${DH > 1 || DW > 1 ? ` dilated to [${eh}, ${ew}]` : ''} is larger than the padded input [${H + 2 * PH}, ${W + 2 * PW}] (input shape ${fmtShape(shape)}, stride [${SH}, ${SW}], padding [${PH}, ${PW}]): the output would be ${OH} x ${OW}`);
  }
  const outShape = [...lead, OH, OW];
  if (P * OH * OW > MAX_ELEMENTS) throw new RangeError(`${fn}: the output ${fmtShape(outShape)} would have more than the 2^29 elements a tensor may have`);
  return { P, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, outShape };
}

/** The Pool layout's geometry fields, with RB rows per unit over `rows` rows a plane. */
function poolParams(g: PoolGeometry, rows: number, b: { include?: number; div?: number; x?: Buf | null; y?: Buf | null; idx?: Buf | null;
                                                         flat?: Buf | null; dy?: Buf | null; dx?: Buf | null }) {
  // Every field in one literal: an object built by adding a dozen properties to
  // another is slow to build and to read.
  return {
    P: g.P, H: g.H, W: g.W, OH: g.OH, OW: g.OW, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, PH: g.PH, PW: g.PW, DH: g.DH, DW: g.DW,
    include: b.include ?? 0, div: b.div ?? 0, RB: rowsPerUnit(g.P, rows),
    x: b.x ?? null, y: b.y ?? null, idx: b.idx ?? null, flat: b.flat ?? null, dy: b.dy ?? null, dx: b.dx ?? null,
  };
}

/** Allocation failures of a derived block, named after the op. */
/** Where maxPool2d keeps its outputs' tap indices: a block derived from the output's storage, freed with it. */
const INDICES = 'maxPool2d/indices';

/**
 * 2-D max pooling over the last two dimensions of an (N, C, H, W) or (C, H, W)
 * input, as `torch.nn.functional.max_pool2d`: the stride defaults to the kernel
 * size, padding (at most half the kernel size) never wins, dilation spaces the
 * taps, ceilMode rounds the output size up. In each window the first largest
 * value wins, and any NaN beats every number. With `returnIndices`, also
 * returns each maximum's index into its H x W plane (as PyTorch's, in float32:
 * whole numbers); the gradient flows to those positions only.
 *
 * @example
 * const x = tensor([[[[1, 2, 5, 6], [3, 4, 7, 8], [9, 10, 13, 14], [11, 12, 15, 16]]]]);
 * maxPool2d(x, 2).toArray();                               // [[[[4, 8], [12, 16]]]]
 * maxPool2d(x, 3, { stride: 2, ceilMode: true }).shape;    // [1, 1, 2, 2]
 * const [y, i] = maxPool2d(x, 2, { returnIndices: true });
 * i.toArray();                                             // [[[[5, 7], [13, 15]]]]
 */
export function maxPool2d(x: Tensor, kernelSize: Size2, opts: MaxPool2dOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool2d(x: Tensor, kernelSize: Size2, opts?: MaxPool2dOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(x: Tensor, kernelSize: Size2, opts?: MaxPool2dOptions): Tensor | [Tensor, Tensor];
export function maxPool2d(x: Tensor, kernelSize: Size2, opts?: MaxPool2dOptions): Tensor | [Tensor, Tensor] {
  const fn = 'maxPool2d';
  const t = tensorArg(x, fn, 'input');
  const o = optionsArg<MaxPool2dOptions>(opts, fn);
  const stride = o.stride, padding = o.padding, dilation = o.dilation, ceilMode = o.ceilMode, returnIndices = o.returnIndices;
  const ceil = boolArg(ceilMode, fn, 'ceilMode', false), withIndices = boolArg(returnIndices, fn, 'returnIndices', false);
  const g = poolGeometry(fn, t.shape, kernelSize, stride, padding, dilation, ceil);
  if (withIndices && g.H * g.W > 2 ** 24) {
    throw new RangeError(`${fn}: returnIndices on planes of ${g.H} x ${g.W} elements: indices are exact in float32 only up to 2^24`);
  }
  const be = t.backend;
  const forward = (y: Buf, idx: Buf | null, flat: Buf | null) => run(be, maxK, poolParams(g, g.OH, { x: t, y, idx, flat }), fn, []);
  const grad = needsGrad([t]);
  const y = output(g.outShape, fn);
  let flat: Tensor | null = null;
  try {
    if (withIndices) flat = output(g.outShape, fn);
    if (y.size > 0) {
      if (grad) {
        // The tap indices live as long as y: the gradient reads them.
        y.storage.derive(INDICES, y.size, (idx) => forward(y, idx, flat));
      } else if (flat) {
        const idx = output(g.outShape, fn);
        try { forward(y, idx, flat); } finally { idx.dispose(); }
      } else {
        forward(y, null, null);
      }
    }
  } catch (e) {
    y.dispose();
    flat?.dispose();
    throw renamed(e, fn, `indices of shape ${fmtShape(g.outShape)}`);
  }
  const out = record(y, fn, [t], [t, y], (dy) => {
    const dx = output(t.shape, fn);
    if (dx.size === 0) return [dx];
    try {
      // Rebuilt from x only if they were lost (they are not: y's version is checked before backward).
      const idx = y.storage.derive(INDICES, y.size, (dst) => {
        const tmp = output(g.outShape, fn);
        try { forward(tmp, dst, null); } finally { tmp.dispose(); }
      });
      run(be, maxBackwardK, poolParams(g, g.H, { dy, idx, dx }), fn, []);
    } catch (e) {
      dx.dispose();
      throw renamed(e, fn, `indices of shape ${fmtShape(g.outShape)}`);
    }
    return [dx];
  });
  return flat ? [out, flat] : out;
}

/**
 * 2-D average pooling over the last two dimensions of an (N, C, H, W) or
 * (C, H, W) input, as `torch.nn.functional.avg_pool2d`: the stride defaults to
 * the kernel size; each window's sum is divided by `divisorOverride` when
 * given, else by its size clipped to the padded input (countIncludePad, the
 * default) or by the number of its elements inside the input.
 *
 * @example
 * const x = tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);
 * avgPool2d(x, 2, { stride: 1 }).toArray();                                  // [[[[3, 4], [6, 7]]]]
 * avgPool2d(x, 2, { padding: 1 }).toArray();                                 // [[[[0.25, 1.25], [2.75, 7]]]]
 * avgPool2d(x, 2, { padding: 1, countIncludePad: false }).toArray();         // [[[[1, 2.5], [5.5, 7]]]]
 */
export function avgPool2d(x: Tensor, kernelSize: Size2, opts?: AvgPool2dOptions): Tensor {
  const fn = 'avgPool2d';
  const t = tensorArg(x, fn, 'input');
  const o = optionsArg<AvgPool2dOptions>(opts, fn);
  const stride = o.stride, padding = o.padding, ceilMode = o.ceilMode, countIncludePad = o.countIncludePad, divisorOverride = o.divisorOverride;
  const ceil = boolArg(ceilMode, fn, 'ceilMode', false), include = boolArg(countIncludePad, fn, 'countIncludePad', true);
  let div = 0;
  if (divisorOverride !== undefined && divisorOverride !== null) {
    if (typeof divisorOverride !== 'number' || !Number.isInteger(divisorOverride)) {
      throw new TypeError(`${fn}: divisorOverride must be an integer, got ${fmtValue(divisorOverride)}`);
    }
    if (divisorOverride === 0) throw new RangeError(`${fn}: divisorOverride must not be 0`);
    if (Math.abs(divisorOverride) > 2 ** 31 - 1) throw new RangeError(`${fn}: divisorOverride ${divisorOverride} is outside the 32-bit range supported`);
    div = divisorOverride;
  }
  const g = poolGeometry(fn, t.shape, kernelSize, stride, padding, 1, ceil);
  const be = t.backend;
  const y = output(g.outShape, fn);
  if (y.size > 0) run(be, avgK, poolParams(g, g.OH, { include: include ? 1 : 0, div, x: t, y }), fn, y);
  return record(y, fn, [t], [], (dy) => {
    const dx = output(t.shape, fn);
    if (dx.size > 0) run(be, avgBackwardK, poolParams(g, g.H, { include: include ? 1 : 0, div, dy, dx }), fn, dx);
    return [dx];
  });
}

/**
 * 2-D adaptive average pooling to `outputSize` (a number, or [height, width]
 * where null keeps the input's size), as `torch.nn.functional.adaptive_avg_pool2d`:
 * output i averages inputs floor(i * H / OH) to ceil((i + 1) * H / OH) - 1 in
 * each dimension (windows may overlap).
 *
 * @example
 * const x = tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);
 * adaptiveAvgPool2d(x, 1).toArray();              // [[[[5]]]]
 * adaptiveAvgPool2d(x, 2).toArray();              // [[[[3, 4], [6, 7]]]]
 * adaptiveAvgPool2d(x, [null, 1]).toArray();      // [[[[2], [5], [8]]]]
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  const fn = 'adaptiveAvgPool2d';
  const t = tensorArg(x, fn, 'input');
  let c: unknown[];
  if (Array.isArray(outputSize)) {
    const n = outputSize.length;
    c = Array.from({ length: Math.min(n, 8) }, (_, i) => outputSize[i]);
    if (n !== 2) throw new RangeError(`${fn}: outputSize must be a non-negative integer or a pair of them (null: the input's size), got ${fmtValue(c)}${n > 8 ? ' ...' : ''}`);
  } else if (typeof outputSize === 'number') {
    c = [outputSize, outputSize];
  } else {
    throw new TypeError(`${fn}: outputSize must be a non-negative integer or a pair of them (null: the input's size), got ${describe(outputSize)}`);
  }
  const shown = Array.isArray(outputSize) ? fmtValue(c) : String(outputSize);
  const { lead, P, H, W } = poolInput(fn, t.shape);
  const sizes = c.map((e, i) => {
    if (e === null || e === undefined) return i === 0 ? H : W;
    if (typeof e !== 'number' || !Number.isInteger(e) || e < 0) {
      throw new RangeError(`${fn}: outputSize must be a non-negative integer or a pair of them (null: the input's size), got ${shown}`);
    }
    if (e > MAX_EXTENT) throw new RangeError(`${fn}: outputSize ${shown} is larger than the 2^28 (${MAX_EXTENT}) supported`);
    return e;
  });
  const [OH, OW] = sizes;
  const outShape = [...lead, OH, OW];
  if (P * OH * OW > MAX_ELEMENTS) throw new RangeError(`${fn}: the output ${fmtShape(outShape)} would have more than the 2^29 elements a tensor may have`);
  const g: PoolGeometry = { P, H, W, OH, OW, KH: 1, KW: 1, SH: 1, SW: 1, PH: 0, PW: 0, DH: 1, DW: 1, outShape };
  const be = t.backend;
  const y = output(outShape, fn);
  if (y.size > 0) run(be, adaptiveK, poolParams(g, OH, { x: t, y }), fn, y);
  return record(y, fn, [t], [], (dy) => {
    const dx = output(t.shape, fn);
    if (dx.size > 0) run(be, adaptiveBackwardK, poolParams(g, H, { dy, dx }), fn, dx);
    return [dx];
  });
}

/**
 * Pads (or, with negative amounts, crops) the last 1, 2 or 3 dimensions, as
 * `torch.nn.functional.pad`: `pads` lists [left, right] for the last dimension,
 * then [top, bottom], then [front, back]. Modes: 'constant' (with `value`,
 * default 0), 'reflect' (mirrored without repeating the edge; each padding
 * smaller than its dimension), 'replicate' (the edge repeated), 'circular'
 * (wrapped around; at most the dimension's size). The modes other than
 * 'constant' pad an input with one or two dimensions more than they pad.
 *
 * @example
 * const x = tensor([[[0, 1, 2, 3]]]);
 * pad(x, [2, 1]).toArray();                          // [[[0, 0, 0, 1, 2, 3, 0]]]
 * pad(x, [1, 1], { value: 9 }).toArray();            // [[[9, 0, 1, 2, 3, 9]]]
 * pad(x, [2, 2], { mode: 'reflect' }).toArray();     // [[[2, 1, 0, 1, 2, 3, 2, 1]]]
 * pad(x, [2, 2], { mode: 'replicate' }).toArray();   // [[[0, 0, 0, 1, 2, 3, 3, 3]]]
 * pad(x, [2, 2], { mode: 'circular' }).toArray();    // [[[2, 3, 0, 1, 2, 3, 0, 1]]]
 * pad(x, [-1, 0]).toArray();                         // [[[1, 2, 3]]]
 */
export function pad(x: Tensor, pads: readonly number[], opts?: PadOptions): Tensor {
  const fn = 'pad';
  const t = tensorArg(x, fn, 'input');
  const p = padsArg(pads, fn);
  const o = optionsArg<PadOptions>(opts, fn);
  const modeOpt = o.mode, valueOpt = o.value;
  const mode = modeOpt === undefined ? 'constant' : padModeArg(modeOpt, fn);
  let value = 0;
  if (valueOpt !== undefined) {
    if (mode !== 'constant') throw new TypeError(`${fn}: mode '${mode}' takes no value (got ${fmtValue(valueOpt)})`);
    value = padValueArg(valueOpt, fn);
  }
  const g = padGeometry(t.shape, p, mode, value, fn);
  const be = t.backend;
  const y = padForward(be, g, t, fn);
  return record(y, fn, [t], [], (dy) => [padGradient(be, g, dy, fn)]);
}

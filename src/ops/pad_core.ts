// The geometry and kernel calls of `pad`, shared by the `pad` op and by
// conv2d's paddingMode (not re-exported: `pad` in src/ops/pooling.ts is the public op).
import type { Backend } from '../backend/backend';
import { PAD } from '../backend/constants';
import { pad as padK, padBackward as padBackwardK } from '../backend/registry';
import { describe } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { MAX_ELEMENTS, type Tensor } from '../tensor';
import { MAX_EXTENT } from './conv_info';
import { output, run } from './op';

/** How `pad` fills the new elements, as `torch.nn.functional.pad`'s mode. */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

const MODES: Record<PadMode, number> = { constant: PAD.CONSTANT, reflect: PAD.REFLECT, replicate: PAD.REPLICATE, circular: PAD.CIRCULAR };

/** A validated padding: the input seen as P planes of (D, H, W), the output (OD, OH, OW), the left paddings. */
export interface PadGeometry {
  P: number; D: number; H: number; W: number; OD: number; OH: number; OW: number;
  PD: number; PT: number; PL: number; mode: number; value: number;
  inShape: number[]; outShape: number[];
}

/** @internal A padding mode argument. @example padModeArg('reflect', 'pad'); // 'reflect' */
export function padModeArg(v: unknown, fn: string, name = 'mode'): PadMode {
  if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(MODES, v)) return v as PadMode;
  const msg = `${fn}: ${name} must be 'constant', 'reflect', 'replicate' or 'circular', got ${describe(v)}`;
  throw typeof v === 'string' ? new RangeError(msg) : new TypeError(msg);
}

/**
 * @internal A private copy of a flat padding list (last dimension first): 2, 4 or 6 integers, negative ones crop.
 * @example padsArg([1, 2, -1, 0], 'pad'); // [1, 2, -1, 0]
 */
export function padsArg(v: unknown, fn: string): number[] {
  if (!Array.isArray(v)) throw new TypeError(`${fn}: pad must be an array of 2, 4 or 6 integers (last dimension first), got ${describe(v)}`);
  const n = v.length;
  const c = new Array<unknown>(Math.min(n, 8));
  for (let i = 0; i < c.length; i++) c[i] = v[i];
  const shown = `[${c.map((e) => (typeof e === 'number' ? String(e) : describe(e))).join(', ')}${n > 8 ? ', ...' : ''}]`;
  if (n % 2 !== 0) throw new RangeError(`${fn}: pad must have an even length (a pair per dimension), got ${shown}`);
  if (n < 2 || n > 6) throw new RangeError(`${fn}: pad must pad 1, 2 or 3 dimensions (2, 4 or 6 integers), got ${shown}`);
  for (const e of c) {
    if (typeof e !== 'number' || !Number.isInteger(e)) throw new TypeError(`${fn}: pad must be an array of integers, got ${shown}`);
    if (Math.abs(e) > MAX_EXTENT) throw new RangeError(`${fn}: pad ${shown} has an entry larger than the 2^28 (${MAX_EXTENT}) supported`);
  }
  return c as number[];
}

/**
 * @internal A constant-mode fill value (a number that float32 can hold; NaN and infinities allowed).
 * @example padValueArg(-Infinity, 'pad'); // -Infinity (1e40 throws RangeError)
 */
export function padValueArg(v: unknown, fn: string): number {
  if (typeof v !== 'number') throw new TypeError(`${fn}: value must be a number, got ${describe(v)}`);
  if (Number.isFinite(v) && !Number.isFinite(Math.fround(v))) throw new RangeError(`${fn}: value ${v} cannot be converted to float32 without overflow`);
  return v;
}

/**
 * Validates a padding of `shape` (pads: last dimension first) and computes its
 * geometry, as `torch.nn.functional.pad`: constant mode pads any of the last
 * dimensions (negative paddings crop); the other modes pad the last 1, 2 or 3
 * dimensions of an input with one or two more dimensions, reflect needs each
 * padding smaller than its dimension, circular at most its size.
 *
 * @example
 * padGeometry([2, 3, 4], [1, 2], 'reflect', 0, 'pad');
 * // { P: 6, D: 1, H: 1, W: 4, OD: 1, OH: 1, OW: 7, PD: 0, PT: 0, PL: 1, mode: 1 (PAD.REFLECT), value: 0,
 * //   inShape: [2, 3, 4], outShape: [2, 3, 7] }
 */
export function padGeometry(shape: readonly number[], pads: readonly number[], modeName: PadMode, value: number, fn: string): PadGeometry {
  const k = pads.length / 2, nd = shape.length;
  const mode = MODES[modeName];
  const padText = `pad [${pads.join(', ')}]`;
  if (k > nd) throw new ShapeError(`${fn}: ${padText} pads ${k} dimensions but the input has ${nd} (shape ${fmtShape(shape)})`);
  if (mode !== PAD.CONSTANT && nd !== k + 1 && nd !== k + 2) {
    throw new ShapeError(`${fn}: mode '${modeName}' pads the last ${k} dimension${k > 1 ? 's' : ''} of a ${k + 1}-D or ${k + 2}-D input, got shape ${fmtShape(shape)} with ${padText}`);
  }
  const inner = [1, 1, 1], outer = [1, 1, 1], left = [0, 0, 0];
  for (let i = 0; i < k; i++) {
    const dim = nd - 1 - i, n = shape[dim], l = pads[2 * i], r = pads[2 * i + 1];
    const o = n + l + r;
    const where = `dimension ${dim} (size ${n}) of input ${fmtShape(shape)}`;
    if (mode === PAD.REFLECT && (l >= n || r >= n)) {
      throw new RangeError(`${fn}: reflect padding [${l}, ${r}] of ${where} must be smaller than the size`);
    }
    if (mode === PAD.REPLICATE && n === 0) throw new ShapeError(`${fn}: replicate padding of an empty ${where}`);
    if (mode === PAD.CIRCULAR) {
      if (l > n || r > n) throw new RangeError(`${fn}: circular padding [${l}, ${r}] of ${where} wraps around more than once (at most the size)`);
      const kept = n - Math.max(-l, 0) - Math.max(-r, 0);
      if (o > 0 && (l > kept || r > kept)) {
        throw new RangeError(`${fn}: circular padding [${l}, ${r}] of ${where} wraps around more than once the ${kept} elements left after cropping`);
      }
    }
    if (o < 0 || (o === 0 && (mode === PAD.REFLECT || mode === PAD.REPLICATE))) {
      throw new ShapeError(`${fn}: ${padText} leaves ${where} with ${o} elements`);
    }
    if (o > MAX_EXTENT) throw new RangeError(`${fn}: ${padText} makes ${where} ${o} long, more than the 2^28 (${MAX_EXTENT}) supported`);
    inner[2 - i] = n; outer[2 - i] = o; left[2 - i] = l;
  }
  const lead = shape.slice(0, nd - k);
  const P = lead.reduce((a, b) => a * b, 1);
  const outShape = [...lead, ...outer.slice(3 - k)];
  const size = P * outer[0] * outer[1] * outer[2];
  if (size > MAX_ELEMENTS) throw new RangeError(`${fn}: the output ${fmtShape(outShape)} would have ${size} elements, more than the 2^29 supported`);
  return {
    P, D: inner[0], H: inner[1], W: inner[2], OD: outer[0], OH: outer[1], OW: outer[2], PD: left[0], PT: left[1], PL: left[2],
    mode, value, inShape: shape.slice(), outShape,
  };
}

/**
 * @internal Rows per work unit: whole planes when there are many, else enough blocks for about 32 units.
 * @example rowsPerUnit(1536, 14); // 14 (a plane per unit); rowsPerUnit(1, 300); // 10 (30 units)
 */
export function rowsPerUnit(planes: number, rows: number): number {
  if (rows <= 0) return 1;
  const parts = planes >= 32 ? 1 : Math.ceil(32 / Math.max(planes, 1));
  return Math.max(1, Math.ceil(rows / parts));
}

function padParams(g: PadGeometry, rows: number) {
  return {
    P: g.P, D: g.D, H: g.H, W: g.W, OD: g.OD, OH: g.OH, OW: g.OW, PD: g.PD, PT: g.PT, PL: g.PL, mode: g.mode, value: g.value,
    RB: rowsPerUnit(g.P, rows),
  };
}

/**
 * @internal x padded (a new tensor without history).
 * @example padForward(be, padGeometry([1, 3], [1, 0], 'replicate', 0, 'pad'), tensor([[1, 2, 3]]), 'pad').toArray(); // [[1, 1, 2, 3]]
 */
export function padForward(be: Backend, g: PadGeometry, x: Tensor, fn: string): Tensor {
  const y = output(g.outShape, fn);
  if (y.size > 0) run(be, padK, Object.assign(padParams(g, g.OD * g.OH), { x, y }), fn, y);
  return y;
}

/**
 * @internal The gradient of a padding for the output gradient dy (a new tensor).
 * @example padGradient(be, padGeometry([1, 3], [1, 0], 'replicate', 0, 'pad'), tensor([[1, 1, 1, 1]]), 'pad').toArray(); // [[2, 1, 1]]
 */
export function padGradient(be: Backend, g: PadGeometry, dy: Tensor, fn: string): Tensor {
  const dx = output(g.inShape, fn);
  if (dx.size > 0) run(be, padBackwardK, Object.assign(padParams(g, g.D * g.H), { dy, dx }), fn, dx);
  return dx;
}

// Images in and out: pixels (an ImageData, a canvas, an ImageBitmap, or RGBA /
// RGB / grey bytes) to float CHW or NCHW tensors, and tensors back to pixels.
import { describe, getBackend, tidy } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { clamp, mul } from '../ops/elementwise';
import { sum } from '../ops/reduce';
import { permute } from '../ops/shape';
import { narrow, unsqueeze } from '../ops/shape_ops';
import { Tensor, tensor } from '../tensor';

/** Pixels with their size: an ImageData or bytes with `width`, `height` and `channels` (1, 3 or 4). */
export interface Pixels { data: Uint8Array | Uint8ClampedArray; width: number; height: number; channels?: 1 | 3 | 4 }

/** Options of `fromImage`. */
export interface FromImageOptions {
  /** 'rgb' (default for colour pictures), 'grey' (ITU-R 601 luma, for one channel), or 'rgba'. */
  mode?: 'rgb' | 'grey' | 'rgba';
  /** Divide by 255 (default true): values in [0, 1] as torchvision's ToTensor. */
  scale?: boolean;
  /** Add a batch dimension: [1, C, H, W] (default false: [C, H, W]). */
  batch?: boolean;
}

type ImageSource = Pixels | { getContext(kind: '2d'): unknown; width: number; height: number } | { width: number; height: number; close(): void };

/** The RGBA (or given) pixels of any source. */
function pixelsOf(src: ImageSource, fn: string): Required<Pixels> {
  const s = src as Pixels;
  if (s && (s.data instanceof Uint8ClampedArray || s.data instanceof Uint8Array)) {
    const channels = s.channels ?? 4;
    if (![1, 3, 4].includes(channels)) throw new RangeError(`${fn}: channels must be 1, 3 or 4, got ${describe(channels)}`);
    if (!Number.isInteger(s.width) || !Number.isInteger(s.height) || s.width < 1 || s.height < 1) throw new RangeError(`${fn}: width and height must be positive integers, got ${s.width}x${s.height}`);
    if (s.data.length !== s.width * s.height * channels) throw new ShapeError(`${fn}: ${s.data.length} bytes for a ${s.width}x${s.height} image of ${channels} channels (${s.width * s.height * channels} expected)`);
    return { data: s.data, width: s.width, height: s.height, channels };
  }
  const c = src as { getContext?: (k: '2d') => { getImageData(x: number, y: number, w: number, h: number): Pixels } | null; width: number; height: number };
  if (typeof c?.getContext === 'function') {
    const ctx = c.getContext('2d');
    if (!ctx) throw new TypeError(`${fn}: the canvas has no 2d context`);
    return pixelsOf(ctx.getImageData(0, 0, c.width, c.height), fn);
  }
  const g = globalThis as { OffscreenCanvas?: new (w: number, h: number) => { getContext(k: '2d'): { drawImage(i: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): Pixels } } };
  if (src && typeof (src as { close?: unknown }).close === 'function' && g.OffscreenCanvas) {
    const b = src as { width: number; height: number };
    const ctx = new g.OffscreenCanvas(b.width, b.height).getContext('2d');
    ctx.drawImage(src, 0, 0);
    return pixelsOf(ctx.getImageData(0, 0, b.width, b.height), fn);
  }
  throw new TypeError(`${fn}: expected an ImageData, a canvas, an ImageBitmap or { data, width, height, channels }, got ${describe(src)}`);
}

/**
 * An image as a float tensor, channels first: [C, H, W] (or [1, C, H, W] with
 * `batch`), values / 255 unless `scale: false`. Colour becomes 3 channels (or
 * 4 with mode 'rgba'), grey 1 (from colour: 0.299 R + 0.587 G + 0.114 B).
 *
 * @example
 * const x = fromImage(ctx.getImageData(0, 0, 28, 28), { mode: 'grey', batch: true }); // [1, 1, 28, 28]
 * fromImage({ data: bytes, width: 28, height: 28, channels: 1 }).shape;               // [1, 28, 28]
 */
export function fromImage(src: ImageSource, opts: FromImageOptions = {}): Tensor {
  const fn = 'fromImage';
  getBackend(fn);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
  const { mode, scale = true, batch = false } = opts;
  if (mode !== undefined && mode !== 'rgb' && mode !== 'grey' && mode !== 'rgba') throw new RangeError(`${fn}: mode must be 'rgb', 'grey' or 'rgba', got ${describe(mode)}`);
  const p = pixelsOf(src, fn);
  const want = mode ?? (p.channels === 1 ? 'grey' : 'rgb');
  if (want === 'rgba' && p.channels !== 4) throw new RangeError(`${fn}: mode 'rgba' needs 4 channels, the image has ${p.channels}`);
  return tidy(() => {
    let t = permute(tensor(p.data, [p.height, p.width, p.channels]), [2, 0, 1]);      // [C, H, W]
    if (want === 'grey' && p.channels > 1) t = sum(mul(narrow(t, 0, 0, 3), tensor([0.299, 0.587, 0.114], [3, 1, 1])), 0, true);
    else if (want === 'rgb' && p.channels === 4) t = narrow(t, 0, 0, 3);
    else if (want === 'rgb' && p.channels === 1) t = mul(t, tensor([1, 1, 1], [3, 1, 1]));
    if (scale) t = t.div(255);
    return batch ? unsqueeze(t, 0) : t.clone();
  });
}

/** What `toImageData` returns: an ImageData where the runtime has one, else the same fields. */
export interface ImageDataLike { data: Uint8ClampedArray; width: number; height: number; colorSpace?: string }

/**
 * A tensor of [C, H, W], [1, C, H, W] or [H, W] (C = 1, 3 or 4) back to RGBA
 * pixels: values × 255 unless `scale: false`, clamped to 0..255 and rounded;
 * grey is repeated into R, G, B; alpha is 255 unless given.
 *
 * @example ctx.putImageData(toImageData(x), 0, 0);
 */
export function toImageData(x: Tensor, opts: { scale?: boolean } = {}): ImageDataLike {
  const fn = 'toImageData';
  if (!(x instanceof Tensor)) throw new TypeError(`${fn}: expected a Tensor, got ${describe(x)}`);
  x.check(fn);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
  const scale = opts.scale ?? true;
  if (typeof scale !== 'boolean') throw new TypeError(`${fn}: scale must be a boolean, got ${describe(scale)}`);
  let shape = x.shape;
  if (shape.length === 4 && shape[0] === 1) shape = shape.slice(1);
  if (shape.length === 2) shape = [1, ...shape];
  if (shape.length !== 3 || ![1, 3, 4].includes(shape[0])) throw new ShapeError(`${fn}: expected [C, H, W], [1, C, H, W] or [H, W] with 1, 3 or 4 channels, got ${fmtShape(x.shape)}`);
  const [C, H, W] = shape;
  const hwc = tidy(() => {
    let t = x.reshape([C, H, W]);
    if (scale) t = t.mul(255);
    return permute(clamp(t, 0, 255), [1, 2, 0]).data();
  });
  const out = new Uint8ClampedArray(H * W * 4);
  for (let i = 0, j = 0; i < H * W; i++, j += C) {
    const r = hwc[j], g = C >= 3 ? hwc[j + 1] : r, b = C >= 3 ? hwc[j + 2] : r;
    out[i * 4] = r; out[i * 4 + 1] = g; out[i * 4 + 2] = b; out[i * 4 + 3] = C === 4 ? hwc[j + 3] : 255;
  }
  const g = globalThis as { ImageData?: new (d: Uint8ClampedArray, w: number, h: number) => ImageDataLike };
  return g.ImageData ? new g.ImageData(out, W, H) : { data: out, width: W, height: H };
}

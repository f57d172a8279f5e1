// The IDX format of MNIST and Fashion-MNIST (gzip or raw), in Node (a file or a
// directory) and in browsers (URLs, bytes, fetch responses).
import { describe, getBackend } from '../engine';
import { tensor, type Tensor } from '../tensor';

/** The decoded contents of an IDX file: dimensions and values. */
export interface Idx { shape: number[]; data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array }

const TYPES: Record<number, [bytes: number, make: (n: number) => Idx['data'], read: (v: DataView, at: number) => number]> = {
  0x08: [1, (n) => new Uint8Array(n), (v, at) => v.getUint8(at)],
  0x09: [1, (n) => new Int8Array(n), (v, at) => v.getInt8(at)],
  0x0b: [2, (n) => new Int16Array(n), (v, at) => v.getInt16(at)],
  0x0c: [4, (n) => new Int32Array(n), (v, at) => v.getInt32(at)],
  0x0d: [4, (n) => new Float32Array(n), (v, at) => v.getFloat32(at)],
  0x0e: [8, (n) => new Float64Array(n), (v, at) => v.getFloat64(at)],
};

/**
 * Decodes an IDX file (already decompressed): the magic number's type and
 * rank, big-endian dimensions, then the values. Throws a RangeError naming
 * what is wrong with a malformed file.
 *
 * @example
 * const { shape, data } = parseIdx(bytes);   // e.g. [60000, 28, 28], a Uint8Array
 */
export function parseIdx(bytes: Uint8Array): Idx {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`parseIdx: expected a Uint8Array, got ${describe(bytes)}`);
  if (bytes.length < 4) throw new RangeError(`parseIdx: ${bytes.length} bytes is too short for an IDX file`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint16(0) !== 0) throw new RangeError(`parseIdx: not an IDX file (the magic number starts with 0x${v.getUint16(0).toString(16)}, not 0x0000)`);
  const type = TYPES[bytes[2]];
  if (!type) throw new RangeError(`parseIdx: unknown value type 0x${bytes[2].toString(16)}`);
  const rank = bytes[3];
  if (bytes.length < 4 + 4 * rank) throw new RangeError(`parseIdx: the file ends inside its ${rank} dimensions`);
  const shape: number[] = [];
  let n = 1;
  for (let i = 0; i < rank; i++) { const d = v.getUint32(4 + 4 * i); shape.push(d); n *= d; }
  const at = 4 + 4 * rank, [size, make, read] = type;
  if (bytes.length !== at + n * size) throw new RangeError(`parseIdx: shape [${shape.join(', ')}] needs ${at + n * size} bytes, the file has ${bytes.length}`);
  const data = make(n);
  if (size === 1) data.set(bytes[2] === 0x08 ? bytes.subarray(at) : new Int8Array(bytes.buffer, bytes.byteOffset + at, n));
  else for (let i = 0; i < n; i++) data[i] = read(v, at + i * size);
  return { shape, data };
}

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node && typeof (globalThis as { window?: unknown }).window === 'undefined';

/** Decompresses gzip bytes (Node's zlib, or the browser's DecompressionStream); other bytes pass through. */
export async function gunzipIfNeeded(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  if (typeof process !== 'undefined' && !!process.versions?.node && isNode()) {
    const specifier = 'node:zlib';
    const zlib = (await import(/* @vite-ignore */ specifier)) as typeof import('node:zlib');
    return new Uint8Array(zlib.gunzipSync(bytes));
  }
  if (typeof DecompressionStream === 'undefined') throw new TypeError('gunzip: this runtime has no DecompressionStream; give the IDX files uncompressed');
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Where IDX bytes come from: a path (Node), a URL (fetch), bytes, or a fetch response. */
export type IdxSource = string | URL | Uint8Array | ArrayBuffer | Response;

async function bytesOf(src: IdxSource): Promise<Uint8Array> {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  if (typeof Response !== 'undefined' && src instanceof Response) return new Uint8Array(await src.arrayBuffer());
  const s = String(src);
  if (typeof process !== 'undefined' && !!process.versions?.node && isNode() && !/^(https?|file|blob|data):/.test(s)) {
    const specifier = 'node:fs/promises';
    const fs = (await import(/* @vite-ignore */ specifier)) as typeof import('node:fs/promises');
    return new Uint8Array(await fs.readFile(s));
  }
  const r = await fetch(s);
  if (!r.ok) throw new RangeError(`readIdx: fetching ${s} failed: ${r.status} ${r.statusText}`);
  return new Uint8Array(await r.arrayBuffer());
}

/**
 * Reads an IDX file, gzip-compressed or not, from a path (Node), a URL, bytes
 * or a fetch response.
 * @example const labels = await readIdx('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz'); // shape [10000]
 */
export async function readIdx(src: IdxSource): Promise<Idx> {
  return parseIdx(await gunzipIfNeeded(await bytesOf(src)));
}

/** One split of MNIST or Fashion-MNIST as tensors. */
export interface ImageSet {
  /** [N, 1, 28, 28] floats in [0, 1] (pixels / 255, as torchvision's ToTensor). */
  images: Tensor;
  /** [N] class labels, whole numbers in float32. */
  labels: Tensor;
}

/**
 * MNIST or Fashion-MNIST (they share the file names) from a directory (Node)
 * or a base URL: `train-images-idx3-ubyte.gz` and its labels for 'train',
 * `t10k-...` for 'test' (the `.gz` is optional: uncompressed files are found too).
 *
 * @example
 * const train = await loadMNIST('/usr/share/datasets/fashion-mnist', 'train');
 * train.images.shape; // [60000, 1, 28, 28]
 */
export async function loadMNIST(base: string | URL, split: 'train' | 'test', opts: { limit?: number } = {}): Promise<ImageSet> {
  const fn = 'loadMNIST';
  if (split !== 'train' && split !== 'test') throw new RangeError(`${fn}: split must be 'train' or 'test', got ${describe(split)}`);
  getBackend(fn);
  const stem = split === 'train' ? 'train' : 't10k';
  const root = String(base).replace(/\/?$/, '/');
  const find = async (name: string): Promise<Idx> => {
    let first: unknown;
    for (const suffix of ['.gz', '']) {
      try { return await readIdx(root + name + suffix); } catch (e) { first ??= e; }
    }
    throw new RangeError(`${fn}: cannot read ${root}${name}(.gz): ${(first as Error).message}`);
  };
  const [img, lab] = await Promise.all([find(`${stem}-images-idx3-ubyte`), find(`${stem}-labels-idx1-ubyte`)]);
  if (img.shape.length !== 3 || lab.shape.length !== 1 || img.shape[0] !== lab.shape[0]) {
    throw new RangeError(`${fn}: images of shape [${img.shape.join(', ')}] and labels of shape [${lab.shape.join(', ')}] do not go together`);
  }
  const limit = opts.limit ?? img.shape[0];
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`${fn}: limit must be a positive integer, got ${describe(limit)}`);
  const n = Math.min(limit, img.shape[0]);
  const [, h, w] = img.shape;
  const pixels = tensor(img.data.subarray(0, n * h * w) as Uint8Array, [n, 1, h, w]);
  try {
    const images = pixels.div(255);
    return { images, labels: tensor(lab.data.subarray(0, n) as Uint8Array, [n]) };
  } finally {
    pixels.dispose();
  }
}

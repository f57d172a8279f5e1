// The safetensors format (huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON header, then the tensors' raw
// little-endian data. Written byte for byte as the reference implementation
// writes it; read with the reference implementation's validation, plus
// duplicate keys and this engine's tensor limits, before anything is allocated.
import { describe, tidy } from '../engine';
import { SafetensorsError } from '../errors';
import { Module, type StateDict } from '../nn/module';
import { MAX_ELEMENTS, MAX_NDIM, Tensor, empty } from '../tensor';
import { JsonSyntaxError, parseJson, type Json, type JsonObject } from './json';

/** The dtypes this engine reads (each converted to float32); it writes F32 and I64. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** The dtypes this engine writes: F32 for float tensors, I64 for integer buffers. */
export type SafetensorsWriteDtype = 'F32' | 'I64';

/**
 * Every dtype of the reference implementation, in its declaration order
 * (increasing alignment). The reference writer lays tensors out by this
 * order, descending, then by name; so does `saveSafetensors`.
 */
const REFERENCE_ORDER = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ',
  'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
];

const BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};
const READABLE = Object.keys(BYTES).join(', ');

/** Largest header the reference implementation reads, in bytes (100 MB); larger ones are refused. @example MAX_HEADER_BYTES; // 100000000 */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a safetensors header. */
export interface SafetensorsTensorInfo {
  /** The tensor's name (a state dict key). */
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) of its bytes, relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

/** A validated safetensors header. */
export interface SafetensorsHeader {
  /** The `__metadata__` strings, or null when the file has none. */
  metadata: Record<string, string> | null;
  /** The tensors in the order the header lists them. */
  tensors: SafetensorsTensorInfo[];
  /** Where the data buffer starts in the file (8 + the header length). */
  dataStart: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function checkHost(fn: string): void {
  // Typed arrays use the host's byte order; safetensors and WebAssembly memory are little-endian.
  if (!LITTLE_ENDIAN) throw new RangeError(`${fn}: this host is big-endian; safetensors files (and the engine's memory) are little-endian`);
}

/** An own, enumerable property, even for a name such as `__proto__`. */
function define<T>(o: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** @internal Orders strings by code point, as the reference implementation orders names (Rust compares UTF-8 bytes). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (code points past U+FFFF) sort after U+E000..U+FFFF.
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/** @internal The bytes of a source that is already in memory. */
export function bytesOf(src: unknown, fn: string): Uint8Array {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && src instanceof SharedArrayBuffer)) return new Uint8Array(src);
  if (ArrayBuffer.isView(src)) return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  throw new TypeError(`${fn}: expected the bytes of a safetensors file (a Uint8Array, an ArrayBuffer, a Blob or a Response), got ${describe(src)}`);
}

function isAsyncSource(src: unknown): src is Blob | Response {
  return (typeof Blob !== 'undefined' && src instanceof Blob) || (typeof Response !== 'undefined' && src instanceof Response);
}

async function readAll(src: Blob | Response): Promise<Uint8Array> {
  return new Uint8Array(await src.arrayBuffer());
}

const shapeText = (s: readonly bigint[]) => `[${s.join(', ')}]`;

/**
 * @internal Parses and validates a safetensors header against the file's length, as
 * the reference implementation's `read_metadata` and `validate` do, plus:
 * the header begins with '{' (the spec's MUST), no duplicate keys, shapes
 * within this engine's tensor limits. Nothing is allocated in the engine.
 */
export function parseHeader(bytes: Uint8Array, fileLength: number, fn: string): SafetensorsHeader {
  const bad = (msg: string): never => { throw new SafetensorsError(`${fn}: ${msg}`); };
  if (bytes.length < 8) bad(`${fileLength} bytes is too short for a safetensors file (it starts with an 8-byte header length)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) bad(`the header length is ${n64} bytes, more than the ${MAX_HEADER_BYTES} (100 MB) allowed`);
  const n = Number(n64);
  if (8 + n > fileLength) bad(`the header length is ${n} bytes, past the end of the file (${fileLength} bytes, so at most ${Math.max(0, fileLength - 8)})`);
  if (n === 0 || bytes[8] !== 0x7b) bad(`the header must begin with '{' (0x7B), got ${n === 0 ? 'an empty header' : `0x${bytes[8].toString(16).padStart(2, '0').toUpperCase()}`}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return bad('the header is not valid UTF-8');
  }
  let root: Json;
  try {
    root = parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return bad(`the header is not valid JSON: ${e.message}`);
    throw e;
  }
  if (!(root instanceof Map)) return bad('the header must be a JSON object');
  let metadata: Record<string, string> | null = null;
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of root) {
    if (name === '__metadata__') {
      if (entry === null) continue;
      if (!(entry instanceof Map)) bad(`__metadata__ must be an object of strings, got ${jsonKind(entry)}`);
      metadata = {};
      for (const [k, v] of entry as JsonObject) {
        if (typeof v !== 'string') bad(`__metadata__ values must be strings; ${JSON.stringify(k)} is ${jsonKind(v)}`);
        define(metadata, k, v as string);
      }
      continue;
    }
    const what = `tensor ${JSON.stringify(name)}`;
    if (!(entry instanceof Map)) return bad(`${what}: its entry must be an object { dtype, shape, data_offsets }, got ${jsonKind(entry)}`);
    const dtype = entry.get('dtype'), shape = entry.get('shape'), offsets = entry.get('data_offsets');
    if (typeof dtype !== 'string') return bad(`${what}: dtype must be a string, got ${jsonKind(dtype)}`);
    if (!(dtype in BYTES)) {
      return bad(REFERENCE_ORDER.includes(dtype)
        ? `${what}: dtype ${dtype} is not supported (this engine reads ${READABLE})`
        : `${what}: unknown dtype ${JSON.stringify(dtype)} (this engine reads ${READABLE})`);
    }
    if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'bigint' || d < 0n)) {
      return bad(`${what}: shape must be an array of non-negative integers, got ${jsonText(shape)}`);
    }
    const dims = shape as bigint[];
    if (dims.length > MAX_NDIM) bad(`${what}: shape ${shapeText(dims)} has ${dims.length} dimensions, more than the ${MAX_NDIM} a tensor may have`);
    // As readShape: zero dimensions count as one, so no shape hides a huge extent.
    let extent = 1n, count = 1n;
    for (const d of dims) { extent *= d > 1n ? d : 1n; count *= d; }
    if (extent > BigInt(MAX_ELEMENTS)) bad(`${what}: shape ${shapeText(dims)} has more than the 2^29 (${MAX_ELEMENTS}) elements a tensor may have`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => typeof o !== 'bigint' || o < 0n)) {
      return bad(`${what}: data_offsets must be [begin, end], two non-negative integers, got ${jsonText(offsets)}`);
    }
    const [b, e] = offsets as bigint[];
    if (e < b) bad(`${what}: data_offsets [${b}, ${e}] end before they begin`);
    const size = count * BigInt(BYTES[dtype as SafetensorsDtype]);
    if (e - b !== size) bad(`${what}: ${dtype} of shape ${shapeText(dims)} takes ${size} bytes, but data_offsets [${b}, ${e}] span ${e - b}`);
    const dataLength = BigInt(fileLength - 8 - n);
    if (e > dataLength) bad(`${what}: data_offsets [${b}, ${e}] run past the end of the data (${dataLength} bytes)`);
    tensors.push({ name, dtype: dtype as SafetensorsDtype, shape: dims.map(Number), dataOffsets: [Number(b), Number(e)] });
  }
  // The data buffer must be covered exactly: tensors back to back from 0 to its end, no holes, no overlaps.
  const order = tensors.map((_, i) => i).sort((x, y) => tensors[x].dataOffsets[0] - tensors[y].dataOffsets[0] || tensors[x].dataOffsets[1] - tensors[y].dataOffsets[1]);
  let at = 0, prev: string | null = null;
  for (const i of order) {
    const t = tensors[i], [b, e] = t.dataOffsets;
    if (b !== at) {
      const where = prev === null ? 'the data starts at 0' : `tensor ${JSON.stringify(prev)} ends at ${at}`;
      bad(`tensor ${JSON.stringify(t.name)}: data_offsets [${b}, ${e}] ${b > at ? 'leave a gap' : 'overlap'}: ${where}`);
    }
    at = e;
    prev = t.name;
  }
  const dataLength = fileLength - 8 - n;
  if (at !== dataLength) {
    bad(`the tensors cover ${at} bytes of data, but the file has ${dataLength} after the header (${dataLength - at} bytes no tensor claims)`);
  }
  return { metadata, tensors, dataStart: 8 + n };
}

function jsonKind(v: Json | undefined): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (v instanceof Map) return 'an object';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'bigint') return `the number ${v}`;
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return String(v);
}

/** A short array of numbers as written (a number with a fraction or an exponent shows as one: 2.0), else its kind. */
function jsonText(v: Json | undefined): string {
  if (Array.isArray(v) && v.length <= 40 && v.every((x) => typeof x === 'bigint' || typeof x === 'number')) {
    return `[${v.map((x) => (typeof x === 'number' && Number.isInteger(x) ? `${x}.0` : String(x))).join(', ')}]`;
  }
  return jsonKind(v);
}

// Decoding to float32. Each returns the values of `count` elements at byte
// `at` of `bytes`; views are used where the data is aligned, copies otherwise.

function aligned(bytes: Uint8Array, at: number, length: number, align: number): [ArrayBufferLike, number] {
  const abs = bytes.byteOffset + at;
  if (abs % align === 0) return [bytes.buffer, abs];
  return [bytes.slice(at, at + length).buffer, 0];
}

let halfTable: Float32Array | null = null;

/** Every float16 value as float32 (exact; built on first use). */
function halves(): Float32Array {
  if (halfTable) return halfTable;
  const bits = new Uint32Array(65536);
  const t = new Float32Array(bits.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16, e = (h >> 10) & 31, m = h & 1023;
    if (e === 0) t[h] = (sign ? -1 : 1) * m * 2 ** -24; // zero and subnormals
    else if (e === 31) bits[h] = sign | 0x7f800000 | (m << 13); // infinities and NaNs
    else bits[h] = sign | ((e + 112) << 23) | (m << 13);
  }
  halfTable = t;
  return t;
}

/** An int64 (or uint64) as the nearest float32, ties to even, as PyTorch's `.float()`. */
function bigToFloat32(x: bigint): number {
  const neg = x < 0n;
  const m = neg ? -x : x;
  const bits = m.toString(2).length;
  if (bits <= 24) return neg ? -Number(m) : Number(m);
  const shift = BigInt(bits - 24);
  let q = m >> shift;
  const r = m - (q << shift), half = 1n << (shift - 1n);
  if (r > half || (r === half && (q & 1n) === 1n)) q += 1n;
  const v = Number(q) * 2 ** (bits - 24);
  return neg ? -v : v;
}

function decode(bytes: Uint8Array, at: number, dtype: SafetensorsDtype, count: number): Float32Array {
  const length = count * BYTES[dtype];
  switch (dtype) {
    case 'F32': {
      const [buf, off] = aligned(bytes, at, length, 4);
      return new Float32Array(buf, off, count);
    }
    case 'F64': {
      const [buf, off] = aligned(bytes, at, length, 8);
      return new Float32Array(new Float64Array(buf, off, count));
    }
    case 'F16': {
      const [buf, off] = aligned(bytes, at, length, 2);
      const h = new Uint16Array(buf, off, count), table = halves(), out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[h[i]];
      return out;
    }
    case 'BF16': {
      const [buf, off] = aligned(bytes, at, length, 2);
      const h = new Uint16Array(buf, off, count), out = new Uint32Array(count);
      for (let i = 0; i < count; i++) out[i] = h[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'I64':
    case 'U64': {
      const [buf, off] = aligned(bytes, at, length, 8);
      const lo = new Uint32Array(buf, off, 2 * count), hi = new Int32Array(buf, off, 2 * count), out = new Float32Array(count);
      const signed = dtype === 'I64';
      for (let i = 0; i < count; i++) {
        const h = signed ? hi[2 * i + 1] : lo[2 * i + 1], l = lo[2 * i];
        // |value| < 2^53: exact as a double, rounded once by the store.
        if (h >= -0x200000 && h < 0x200000) out[i] = h * 4294967296 + l;
        else out[i] = bigToFloat32((BigInt(h) << 32n) | BigInt(l));
      }
      return out;
    }
    case 'I32': { const [buf, off] = aligned(bytes, at, length, 4); return new Float32Array(new Int32Array(buf, off, count)); }
    case 'U32': { const [buf, off] = aligned(bytes, at, length, 4); return new Float32Array(new Uint32Array(buf, off, count)); }
    case 'I16': { const [buf, off] = aligned(bytes, at, length, 2); return new Float32Array(new Int16Array(buf, off, count)); }
    case 'U16': { const [buf, off] = aligned(bytes, at, length, 2); return new Float32Array(new Uint16Array(buf, off, count)); }
    case 'I8': return new Float32Array(new Int8Array(bytes.buffer, bytes.byteOffset + at, count));
    case 'U8': return new Float32Array(bytes.subarray(at, at + count));
    case 'BOOL': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = bytes[at + i] ? 1 : 0;
      return out;
    }
  }
}

/** @internal The tensors of a validated file, made in the engine (all or none). */
export function tensorsOf(bytes: Uint8Array, header: SafetensorsHeader, fn: string): StateDict {
  const out: StateDict = {};
  const made: Tensor[] = [];
  try {
    for (const t of header.tensors) {
      const count = t.shape.reduce((a, d) => a * d, 1);
      const values = decode(bytes, header.dataStart + t.dataOffsets[0], t.dtype, count);
      const x = empty(t.shape, fn);
      made.push(x);
      if (count > 0) x.backend.write(x.storage.block, 0, values);
      define(out, t.name, x);
    }
  } catch (e) {
    for (const x of made) x.dispose();
    throw e;
  }
  return out;
}

/** @internal Parses and validates the whole file, then makes its tensors; the header too, for checkpoints. */
export function decodeSafetensors(src: unknown, fn: string): { tensors: StateDict; header: SafetensorsHeader } {
  checkHost(fn);
  const bytes = bytesOf(src, fn);
  const header = parseHeader(bytes, bytes.length, fn);
  return { tensors: tensorsOf(bytes, header, fn), header };
}

/**
 * Reads a safetensors file into a state dict of new float32 tensors, keyed
 * by the file's names in the order its header lists them. Every dtype is
 * converted as PyTorch's `.float()` converts it (rounding to nearest, ties to
 * even): F32, F16, BF16, F64 (values past float32's range become ±Infinity),
 * I64, I32, I16, I8, U64, U32, U16, U8, BOOL (integers past 2^24 are rounded
 * to the nearest float32). The whole file is validated first, as the
 * reference implementation validates it (and more: duplicate keys, shapes
 * past 2^29 elements); a malformed file is refused with a `SafetensorsError`
 * saying what is wrong, before anything is allocated. The bytes are never
 * modified. Bytes give the dict at once; a `Blob` or a fetch `Response` give a
 * Promise of it. The caller owns the tensors (dispose them, or load inside
 * `tidy`); read the `__metadata__` with `readSafetensorsHeader`.
 *
 * @example
 * const bytes = saveSafetensors(models.lenet({ seed: 0 }));
 * const dict = loadSafetensors(bytes);
 * dict['0.weight'].shape;                        // [6, 1, 5, 5]
 * tidy(() => net.loadStateDict(loadSafetensors(bytes)));
 * const fromUrl = await loadSafetensors(await fetch('/lenet.safetensors'));
 */
export function loadSafetensors(src: Uint8Array | ArrayBufferLike | ArrayBufferView): StateDict;
export function loadSafetensors(src: Blob | Response): Promise<StateDict>;
export function loadSafetensors(src: Uint8Array | ArrayBufferLike | ArrayBufferView | Blob | Response): StateDict | Promise<StateDict>;
export function loadSafetensors(src: Uint8Array | ArrayBufferLike | ArrayBufferView | Blob | Response): StateDict | Promise<StateDict> {
  const fn = 'loadSafetensors';
  if (isAsyncSource(src)) return readAll(src).then((b) => decodeSafetensors(b, fn).tensors);
  return decodeSafetensors(src, fn).tensors;
}

/**
 * The validated header of a safetensors file: its `__metadata__` strings and
 * each tensor's dtype, shape and offsets, without loading any tensor (the
 * whole file is checked as by `loadSafetensors`; from a `Blob`, only the
 * header is read).
 *
 * @example
 * const h = readSafetensorsHeader(saveSafetensors(net, { metadata: { format: 'pt' } }));
 * h.metadata;                 // { format: 'pt' }
 * h.tensors[0];               // { name: '1.num_batches_tracked', dtype: 'I64', shape: [], dataOffsets: [0, 8] }
 */
export function readSafetensorsHeader(src: Uint8Array | ArrayBufferLike | ArrayBufferView): SafetensorsHeader;
export function readSafetensorsHeader(src: Blob | Response): Promise<SafetensorsHeader>;
export function readSafetensorsHeader(src: Uint8Array | ArrayBufferLike | ArrayBufferView | Blob | Response): SafetensorsHeader | Promise<SafetensorsHeader> {
  const fn = 'readSafetensorsHeader';
  checkHost(fn);
  if (typeof Blob !== 'undefined' && src instanceof Blob) {
    return (async () => {
      const head = new Uint8Array(await src.slice(0, 8).arrayBuffer());
      let n = 0;
      if (head.length === 8) {
        const n64 = new DataView(head.buffer).getBigUint64(0, true);
        n = n64 > BigInt(MAX_HEADER_BYTES) ? 0 : Number(n64);
      }
      const bytes = new Uint8Array(await src.slice(0, 8 + n).arrayBuffer());
      return parseHeader(bytes, src.size, fn);
    })();
  }
  if (isAsyncSource(src)) return readAll(src).then((b) => parseHeader(b, b.length, fn));
  const bytes = bytesOf(src, fn);
  return parseHeader(bytes, bytes.length, fn);
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/** Options of `saveSafetensors` (and `save`). */
export interface SaveSafetensorsOptions {
  /** Strings for the header's `__metadata__` (written in key order), e.g. `{ format: 'pt' }` as transformers writes. */
  metadata?: Record<string, string>;
  /**
   * The dtype of particular tensors, by name. Default: I64 for BatchNorm's
   * `num_batches_tracked` (an integer buffer, torch.long in PyTorch), F32 for
   * everything else.
   */
  dtypes?: Record<string, SafetensorsWriteDtype>;
}

/** @internal A state dict's entries from a Module, an object or a Map, checked: names and live tensors. */
export function entriesOf(src: unknown, fn: string): Array<[string, Tensor]> {
  let given: Array<[unknown, unknown]>;
  if (src instanceof Map) given = [...src.entries()];
  else if (src !== null && typeof src === 'object' && !Array.isArray(src) && !(src instanceof Tensor) && !ArrayBuffer.isView(src)) given = Object.entries(src);
  else throw new TypeError(`${fn}: expected a Module or a state dict (an object or a Map of tensors by name), got ${describe(src)}`);
  return given.map(([k, v]) => {
    if (typeof k !== 'string') throw new TypeError(`${fn}: tensor names must be strings, got ${describe(k)}`);
    if (!(v instanceof Tensor)) throw new TypeError(`${fn}: the value of ${JSON.stringify(k)} must be a Tensor, got ${describe(v)}`);
    v.check(`${fn}: ${k}`);
    return [k, v];
  });
}

/** @internal The layout of a file: names, dtypes, values, header bytes; validated before any byte is written. */
interface Planned { name: string; dtype: SafetensorsWriteDtype; shape: readonly number[]; values: Float32Array | Float64Array; bytes: number }

function checkText(s: string, what: string, fn: string): void {
  if (LONE_SURROGATE.test(s)) throw new RangeError(`${fn}: ${what} ${JSON.stringify(s)} has a lone surrogate, which UTF-8 cannot encode`);
}

/** @internal Serializes checked entries (values read once) with the reference implementation's layout. */
export function encodeSafetensors(entries: ReadonlyArray<readonly [string, Tensor]>, opts: unknown, fn: string): Uint8Array {
  checkHost(fn);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
  const { metadata, dtypes } = opts as SaveSafetensorsOptions;
  for (const k of Object.keys(opts)) if (k !== 'metadata' && k !== 'dtypes') throw new RangeError(`${fn}: unknown option ${JSON.stringify(k)}; options are metadata, dtypes`);
  let meta: Array<[string, string]> | null = null;
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== 'object' || Array.isArray(metadata)) throw new TypeError(`${fn}: metadata must be an object of strings, got ${describe(metadata)}`);
    meta = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== 'string') throw new TypeError(`${fn}: metadata values must be strings; ${JSON.stringify(k)} is ${describe(v)}`);
      checkText(k, 'the metadata key', fn);
      checkText(v, `the metadata value of ${JSON.stringify(k)}`, fn);
      return [k, v] as [string, string];
    }).sort((a, b) => compareCodePoints(a[0], b[0]));
  }
  const names = new Set(entries.map(([k]) => k));
  const types = new Map<string, SafetensorsWriteDtype>();
  if (dtypes !== undefined) {
    if (dtypes === null || typeof dtypes !== 'object' || Array.isArray(dtypes)) throw new TypeError(`${fn}: dtypes must be an object of 'F32' or 'I64' by tensor name, got ${describe(dtypes)}`);
    for (const [k, v] of Object.entries(dtypes)) {
      if (!names.has(k)) throw new RangeError(`${fn}: dtypes names ${JSON.stringify(k)}, which is not among the tensors`);
      if (v !== 'F32' && v !== 'I64') throw new RangeError(`${fn}: the dtype of ${JSON.stringify(k)} must be 'F32' or 'I64', got ${describe(v)}`);
      types.set(k, v);
    }
  }
  const planned: Planned[] = entries.map(([name, t]) => {
    if (name === '__metadata__') throw new RangeError(`${fn}: a tensor may not be named "__metadata__" (the header's metadata key)`);
    checkText(name, 'the tensor name', fn);
    const dtype = types.get(name) ?? (name === 'num_batches_tracked' || name.endsWith('.num_batches_tracked') ? 'I64' : 'F32');
    const values = t.values(fn);
    if (dtype === 'I64') {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!Number.isInteger(v) || Math.abs(v) >= 2 ** 63) {
          throw new RangeError(`${fn}: ${name} is written as I64, but element ${i} is ${v}, not an integer in the int64 range`);
        }
      }
    }
    return { name, dtype, shape: t.shape, values, bytes: values.length * (dtype === 'I64' ? 8 : 4) };
  });
  // The reference layout: descending dtype alignment, then names in byte order.
  const rank = (d: string) => REFERENCE_ORDER.indexOf(d);
  planned.sort((a, b) => rank(b.dtype) - rank(a.dtype) || compareCodePoints(a.name, b.name));
  // serde_json's compact form; JSON.stringify escapes strings as it does.
  const parts: string[] = [];
  if (meta) parts.push(`"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  let offset = 0;
  for (const p of planned) {
    parts.push(`${JSON.stringify(p.name)}:{"dtype":"${p.dtype}","shape":[${p.shape.join(',')}],"data_offsets":[${offset},${offset + p.bytes}]}`);
    offset += p.bytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  // Padded with spaces to a multiple of 8, so the data is 8-byte aligned.
  const n = Math.ceil(json.length / 8) * 8;
  if (n > MAX_HEADER_BYTES) throw new RangeError(`${fn}: the header would take ${n} bytes, more than the ${MAX_HEADER_BYTES} (100 MB) the format allows`);
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  for (const p of planned) {
    const count = p.values.length;
    // I64 tensors come first and F32 after them, so every store is aligned.
    if (p.dtype === 'F32') new Float32Array(out.buffer, at, count).set(p.values);
    else {
      const words = new Int32Array(out.buffer, at, 2 * count);
      for (let i = 0; i < count; i++) {
        const v = p.values[i];
        const hi = Math.floor(v / 4294967296);
        words[2 * i] = v - hi * 4294967296; // the low word, as uint32 bits
        words[2 * i + 1] = hi;
      }
    }
    at += p.bytes;
  }
  return out;
}

/**
 * Writes a model's state dict (or a state dict) as a safetensors file, byte
 * for byte as the reference implementation (the `safetensors` Python
 * package, `safetensors.torch.save`) writes the same tensors: F32 for float
 * tensors, I64 for `num_batches_tracked` (PyTorch's torch.long buffer); the
 * data laid out by descending dtype alignment then by name (code point
 * order); the header compact JSON with `__metadata__` first, then the tensors
 * in data order, each `{"dtype","shape","data_offsets"}`, padded with spaces
 * to a multiple of 8 bytes. The one difference: the reference writes several
 * metadata entries in hash-map order, this in key order. The file loads in
 * PyTorch (`safetensors.torch.load_file`) with the same names, dtypes and values.
 *
 * @example
 * const net = models.lenet({ seed: 0 });
 * const bytes = saveSafetensors(net, { metadata: { format: 'pt' } });   // a Uint8Array
 * saveSafetensors({ w: tensor([1, 2]) }).length;                       // 72: 8, a 56-byte header, 8 bytes of data
 */
export function saveSafetensors(src: Module | StateDict | ReadonlyMap<string, Tensor>, opts: SaveSafetensorsOptions = {}): Uint8Array {
  const fn = 'saveSafetensors';
  if (src instanceof Module) return tidy(() => encodeSafetensors(entriesOf(src.stateDict(), fn), opts, fn));
  return encodeSafetensors(entriesOf(src, fn), opts, fn);
}

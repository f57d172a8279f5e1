import * as binaries from './binaries.generated';

import type { BuildKind } from '../backend';

export type { BuildKind };

const BASE64: Record<BuildKind | 'debug', string> = {
  'relaxed-simd': binaries.relaxed, simd: binaries.simd, 'no-simd': binaries.nosimd, debug: binaries.debug,
};

/** Pages of the shared memory's maximum (4 GiB: the largest a wasm32 memory can be). */
const SHARED_MAX_PAGES = 65536;

function readLeb(b: Uint8Array, at: number): [value: number, next: number] {
  let v = 0, shift = 0, i = at;
  for (;;) {
    const byte = b[i++];
    v += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return [v, i];
    shift += 7;
  }
}

function leb(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

/**
 * A build's bytes with its imported memory declared shared (and given a
 * maximum), which is all that tells a threads build from a plain one: the
 * kernels use no atomics. The bundle embeds each build once and derives the
 * shared variant here. Throws if the module has no memory import.
 */
export function withSharedMemory(b: Uint8Array): Uint8Array {
  let at = 8;
  while (at < b.length) {
    const id = b[at];
    const [size, body] = readLeb(b, at + 1);
    if (id === 2) {
      let i = body;
      const [count, afterCount] = readLeb(b, i);
      i = afterCount;
      for (let k = 0; k < count; k++) {
        for (let s = 0; s < 2; s++) { const [len, next] = readLeb(b, i); i = next + len; } // module and field names
        const kind = b[i++];
        if (kind === 0x00) { i = readLeb(b, i)[1]; continue; }                    // function: type index
        if (kind === 0x01) { i++; const f = b[i++]; i = readLeb(b, i)[1]; if (f & 1) i = readLeb(b, i)[1]; continue; } // table
        if (kind === 0x03) { i += 2; continue; }                                  // global: type, mutability
        if (kind !== 0x02) break;
        // The memory's limits: flags, minimum[, maximum] -> shared, minimum, maximum.
        const flags = b[i];
        const [min, afterMin] = readLeb(b, i + 1);
        const end = flags & 1 ? readLeb(b, afterMin)[1] : afterMin;
        const limits = [0x03, ...leb(min), ...leb(SHARED_MAX_PAGES)];
        const newBody = [...b.subarray(body, i), ...limits, ...b.subarray(end, body + size)];
        return Uint8Array.from([...b.subarray(0, at + 1), ...leb(newBody.length), ...newBody, ...b.subarray(body + size)]);
      }
      break;
    }
    at = body + size;
  }
  throw new Error('wasmconv: internal error: the build has no memory import to share');
}

/** Decodes base64 without Node's Buffer, so the same code runs in browsers. */
export function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * A build's bytes from its embedded form (gzip, base64), inflated with the
 * runtime's DecompressionStream (Node 18+ and every current browser).
 */
export async function decodeBuild(s: string): Promise<Uint8Array> {
  const packed = decodeBase64(s);
  if (typeof DecompressionStream === 'undefined') {
    throw new Error('wasmconv: this runtime has no DecompressionStream (Node 18+, Chrome 80+, Firefox 113+, Safari 16.4+ have it)');
  }
  const stream = new Blob([packed as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const bytesCache = new Map<string, Promise<Uint8Array>>();
function buildBytes(kind: BuildKind | 'debug', shared: boolean): Promise<Uint8Array> {
  const key = `${kind}/${shared}`;
  let b = bytesCache.get(key);
  if (!b) {
    b = decodeBuild(BASE64[kind]).then((plain) => (shared ? withSharedMemory(plain) : plain));
    bytesCache.set(key, b);
    b.catch(() => bytesCache.delete(key));
  }
  return b;
}

/**
 * The fastest build this runtime accepts, tested with `WebAssembly.validate`:
 * relaxed SIMD (fused multiply-add), then SIMD, then the scalar build.
 */
export async function bestBuild(shared: boolean): Promise<BuildKind> {
  for (const kind of ['relaxed-simd', 'simd'] as const) {
    if (WebAssembly.validate(await buildBytes(kind, shared) as BufferSource)) return kind;
  }
  return 'no-simd';
}

/** Whether this runtime can run `kind` (with shared memory when `shared`). */
export async function buildSupported(kind: BuildKind, shared: boolean): Promise<boolean> {
  return WebAssembly.validate(await buildBytes(kind, shared) as BufferSource);
}

const moduleCache = new Map<string, Promise<WebAssembly.Module>>();

/** Compiles a build once and caches the `WebAssembly.Module` (also posted to workers). */
export function compileBuild(kind: BuildKind | 'debug', shared: boolean): Promise<WebAssembly.Module> {
  const key = `${kind}/${shared}`;
  let m = moduleCache.get(key);
  if (!m) {
    m = buildBytes(kind, shared).then((b) => WebAssembly.compile(b as BufferSource));
    moduleCache.set(key, m);
    m.catch(() => moduleCache.delete(key));
  }
  return m;
}

/** A kernel export: (parameter block, this thread's workspace, first unit, end unit). */
export type KernelFn = (params: number, ws: number, begin: number, end: number) => void;

/** Instantiates a compiled build over `memory`. Kernels import nothing else. */
export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): WebAssembly.Instance {
  return new WebAssembly.Instance(module, { env: { memory } });
}

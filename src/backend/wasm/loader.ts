import * as binaries from './binaries.generated';

import type { BuildKind } from '../backend';

export type { BuildKind };

const BASE64: Record<BuildKind, { plain: string; shared: string }> = {
  'relaxed-simd': { plain: binaries.relaxed, shared: binaries.relaxed_shared },
  simd: { plain: binaries.simd, shared: binaries.simd_shared },
  'no-simd': { plain: binaries.nosimd, shared: binaries.nosimd_shared },
};

/** Decodes base64 without Node's Buffer, so the same code runs in browsers. */
export function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const bytesCache = new Map<string, Uint8Array>();
function buildBytes(kind: BuildKind | 'debug', shared: boolean): Uint8Array {
  const key = `${kind}/${shared}`;
  let b = bytesCache.get(key);
  if (!b) {
    b = decodeBase64(kind === 'debug' ? binaries.debug : shared ? BASE64[kind].shared : BASE64[kind].plain);
    bytesCache.set(key, b);
  }
  return b;
}

/**
 * The fastest build this runtime accepts, tested with `WebAssembly.validate`:
 * relaxed SIMD (fused multiply-add), then SIMD, then the scalar build.
 */
export function bestBuild(shared: boolean): BuildKind {
  for (const kind of ['relaxed-simd', 'simd'] as const) {
    if (WebAssembly.validate(buildBytes(kind, shared) as BufferSource)) return kind;
  }
  return 'no-simd';
}

/** Whether this runtime can run `kind` (with shared memory when `shared`). */
export function buildSupported(kind: BuildKind, shared: boolean): boolean {
  return WebAssembly.validate(buildBytes(kind, shared) as BufferSource);
}

const moduleCache = new Map<string, Promise<WebAssembly.Module>>();

/** Compiles a build once and caches the `WebAssembly.Module` (also posted to workers). */
export function compileBuild(kind: BuildKind | 'debug', shared: boolean): Promise<WebAssembly.Module> {
  const key = `${kind}/${shared}`;
  let m = moduleCache.get(key);
  if (!m) {
    m = WebAssembly.compile(buildBytes(kind, shared) as BufferSource);
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

import type { Backend } from './backend/backend';
import { ReferenceBackend } from './backend/reference/index';
import { WasmBackend } from './backend/wasm/index';
import type { BuildKind } from './backend/wasm/loader';
import { NotInitializedError } from './errors';

/** Options of `init`. */
export interface InitOptions {
  /** 'wasm' (default) or 'reference' (float64 TypeScript loops, for checking). */
  backend?: 'wasm' | 'reference';
  /** Force a build; default: relaxed SIMD, else SIMD, else no SIMD, whichever this runtime validates. */
  build?: BuildKind | 'debug';
  /** Threads, including the calling one. Default: every core where shared memory is available, else 1. */
  threads?: number;
  /** Largest the WebAssembly memory may grow, in MiB (default 2048). */
  maxMemoryMB?: number;
}

/** What `backendInfo()` reports. */
export interface BackendInfo {
  backend: 'wasm' | 'reference';
  /** The WebAssembly build in use, or null for the reference backend. */
  build: BuildKind | 'debug' | null;
  threads: number;
  sharedMemory: boolean;
  /** Why the engine runs on one thread, when it does. */
  note?: string;
}

interface EngineState {
  backend: Backend;
  info: BackendInfo;
  key: string;
}

let state: EngineState | null = null;
let pending: Promise<void> | null = null;
let pendingKey = '';

function sharedMemoryAvailable(): { ok: boolean; why?: string } {
  if (typeof SharedArrayBuffer === 'undefined') return { ok: false, why: 'SharedArrayBuffer is unavailable (the page is not cross-origin isolated)' };
  const g = globalThis as { crossOriginIsolated?: boolean; window?: unknown };
  if (g.crossOriginIsolated === false) return { ok: false, why: 'the page is not cross-origin isolated (COOP/COEP headers)' };
  return { ok: true };
}

async function coreCount(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  if (typeof process !== 'undefined' && process.versions?.node) {
    const specifier = 'node:os';
    const os = (await import(/* @vite-ignore */ specifier)) as typeof import('node:os');
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return 1;
}

function validateOptions(opts: InitOptions): void {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`init: options must be an object, got ${String(opts)}`);
  if (opts.backend !== undefined && opts.backend !== 'wasm' && opts.backend !== 'reference') {
    throw new RangeError(`init: backend must be 'wasm' or 'reference', got ${JSON.stringify(opts.backend)}`);
  }
  const builds = ['relaxed-simd', 'simd', 'no-simd', 'debug'];
  if (opts.build !== undefined && !builds.includes(opts.build)) {
    throw new RangeError(`init: build must be one of ${builds.join(', ')}, got ${JSON.stringify(opts.build)}`);
  }
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1 && opts.threads <= 256)) {
    throw new RangeError(`init: threads must be an integer from 1 to 256, got ${opts.threads}`);
  }
  if (opts.maxMemoryMB !== undefined && !(Number.isInteger(opts.maxMemoryMB) && opts.maxMemoryMB >= 2 && opts.maxMemoryMB <= 4096)) {
    throw new RangeError(`init: maxMemoryMB must be an integer from 2 to 4096, got ${opts.maxMemoryMB}`);
  }
}

/** Called when the backend changes, so tensors of the old one can be invalidated. */
const listeners: Array<() => void> = [];
export function onBackendChange(f: () => void): void { listeners.push(f); }

/**
 * Loads and instantiates the engine. Idempotent: calling it again with the same
 * options (or none) returns at once; concurrent calls share one initialisation.
 * Calling it with different options replaces the backend: tensors made before
 * are disposed.
 *
 * @example
 * await init();                       // fastest build, all cores where possible
 * await init({ threads: 1 });         // single-threaded
 * backendInfo(); // { backend: 'wasm', build: 'simd', threads: 1, sharedMemory: false }
 */
export async function init(opts: InitOptions = {}): Promise<void> {
  validateOptions(opts);
  const key = JSON.stringify([opts.backend ?? 'wasm', opts.build ?? null, opts.threads ?? null, opts.maxMemoryMB ?? 2048]);
  if (state && (state.key === key || Object.keys(opts).length === 0)) return;
  if (pending && pendingKey === key) return pending;
  const run = async () => {
    if (pending) await pending.catch(() => undefined);
    if (state && state.key === key) return;
    const next = await create(opts, key);
    const old = state;
    state = next;
    if (old) {
      for (const f of listeners) f();
      (old.backend as { dispose?: () => void }).dispose?.();
    }
  };
  const p = run();
  pending = p; pendingKey = key;
  try {
    await p;
  } finally {
    if (pending === p) { pending = null; pendingKey = ''; }
  }
}

async function create(opts: InitOptions, key: string): Promise<EngineState> {
  if ((opts.backend ?? 'wasm') === 'reference') {
    return { backend: new ReferenceBackend(), key, info: { backend: 'reference', build: null, threads: 1, sharedMemory: false } };
  }
  const shm = sharedMemoryAvailable();
  let threads = opts.threads ?? (shm.ok ? await coreCount() : 1);
  let note: string | undefined;
  // Say why whenever shared memory is what keeps the engine on one thread.
  if (!shm.ok && (opts.threads ?? 2) > 1) { note = `single-threaded: ${shm.why}`; threads = 1; }
  if (threads > 1 && opts.build === 'debug') { note = 'single-threaded: the debug build uses non-shared memory'; threads = 1; }
  const maxMemoryBytes = (opts.maxMemoryMB ?? 2048) * 1024 * 1024;
  const backend = await WasmBackend.create({ build: opts.build, threads, maxMemoryBytes });
  const info: BackendInfo = { backend: 'wasm', build: backend.build, threads: backend.threads, sharedMemory: backend.threads > 1 };
  if (note) info.note = note;
  return { backend, key, info };
}

/** The active backend; throws NotInitializedError before `init()`. */
export function getBackend(fn: string): Backend {
  if (!state) throw new NotInitializedError(`${fn}: the engine is not initialised; call \`await init()\` first`);
  return state.backend;
}

/** The active backend or null. */
export function currentBackend(): Backend | null { return state ? state.backend : null; }

/**
 * Which backend, build and thread count the engine runs on.
 *
 * @example
 * await init();
 * backendInfo(); // { backend: 'wasm', build: 'relaxed-simd', threads: 2, sharedMemory: true }
 */
export function backendInfo(): BackendInfo {
  if (!state) throw new NotInitializedError('backendInfo: the engine is not initialised; call `await init()` first');
  const info = { ...state.info };
  const be = state.backend as { threads?: number; poolNote?: string | null };
  if (be.poolNote) { info.threads = be.threads ?? 1; info.sharedMemory = true; info.note = be.poolNote; }
  else if (be.threads !== undefined) info.threads = be.threads;
  return info;
}

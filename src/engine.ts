import type { Backend, BuildKind } from './backend/backend';
import type { Block, Buf } from './backend/layout';
import { ReferenceBackend } from './backend/reference/index';
import { WasmBackend } from './backend/wasm/index';
import { DisposedError, InitError, NotInitializedError } from './errors';

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
  /**
   * Replace a running engine that has other options (its tensors are then
   * disposed). Without it, `init` with other options is refused while another
   * `init` is in flight or while tensors are live.
   */
  replace?: boolean;
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
  opts: string;
}

let state: EngineState | null = null;
let pending: { promise: Promise<void>; key: string; opts: string } | null = null;

// ---------------------------------------------------------------------------
// Ownership: one owner per block of memory.
//
// A Storage owns one block of backend memory and every block derived from it
// (packed weights); it frees them all exactly once, when the last tensor that
// views it lets go (a reshape is another tensor viewing the same storage).
// Each tensor lets go of its storage at most once, by whichever comes first:
// `dispose()`, the end of the `tidy` scope that made it, the
// garbage-collection safety net (only for tensors outside every scope), or
// `init` replacing the backend (which frees the backend's memory wholesale).
// ---------------------------------------------------------------------------

let liveRefs = 0;
let liveBytes = 0;

interface Derived { readonly buf: Buf; version: number }

/** A block of backend memory with the tensors that view it counted, its version, and what is derived from it. */
export class Storage {
  /** Bumped by every write: autograd checks saved tensors against it; derived copies key on it. */
  version = 0;
  /** Tensors viewing this storage. */
  refs = 0;
  private derived: Map<string, Derived> | null = null;
  private freed = false;

  constructor(readonly backend: Backend, readonly block: Block, readonly floats: number) {
    liveBytes += floats * 4;
  }

  /** Whether the backend this storage lives in is still the engine's. */
  get current(): boolean { return state !== null && state.backend === this.backend && !this.freed; }

  /**
   * A block derived from this storage's data (a packed weight), cached under
   * `key`, which must name everything the derived data depends on besides the
   * data itself; rebuilt by `fill` when the data changed since.
   */
  derive(key: string, floats: number, fill: (dst: Buf) => void): Buf {
    const map = this.derived ?? (this.derived = new Map());
    let d = map.get(key);
    if (d && d.version === this.version) return d.buf;
    if (!d) {
      d = { buf: { block: this.backend.alloc(floats), offset: 0 }, version: -1 };
      map.set(key, d);
    }
    try {
      fill(d.buf);
    } catch (e) {
      map.delete(key);
      this.backend.free(d.buf.block);
      throw e;
    }
    d.version = this.version;
    return d.buf;
  }

  /** @internal A tensor starts viewing this storage. */
  retain(): void { this.refs++; liveRefs++; }

  /** @internal A tensor stops viewing this storage; the last one frees the block and everything derived from it. */
  release(): void {
    if (this.backend.disposed) return; // counted down when the backend was replaced
    liveRefs--;
    if (--this.refs > 0 || this.freed) return;
    this.freed = true;
    liveBytes -= this.floats * 4;
    this.backend.free(this.block);
    if (this.derived) for (const d of this.derived.values()) this.backend.free(d.buf.block);
    this.derived = null;
  }
}

/**
 * What the safety net holds for a tensor: its storage, whether the tensor
 * already let go, and the gradient it owns (freed with it).
 */
interface Cell { readonly storage: Storage; released: boolean; grad: Owned | null }

/** Tensors under the safety net (made outside every scope) that are neither disposed nor collected yet. */
let unscoped = 0;

/** A safety-net entry stops counting (its tensor was disposed or collected). */
function settle(c: Cell): void {
  c.released = true;
  if (!c.storage.backend.disposed) unscoped--;
}

/** The safety net: a tensor collected without `dispose()` lets go of its storage. */
const finalizer = typeof FinalizationRegistry !== 'undefined'
  ? new FinalizationRegistry<Cell>((c) => {
    if (c.released) return;
    settle(c);
    c.storage.release();
    c.grad?.dispose();
  })
  : null;

/**
 * @internal What an out-of-memory error adds: how many tensors are live, and,
 * when tensors in no `tidy` scope are among them, how to free them (the
 * garbage collector frees dropped tensors only when it runs, which a loop that
 * allocates little JS memory may never make it do).
 */
export function memoryHint(): string {
  const made = unscoped > 0
    ? `, ${unscoped} of them in no tidy() scope and not disposed: dispose() the tensors you no longer need, or run each step of a loop inside tidy()`
    : '';
  return `; ${liveRefs} tensor${liveRefs === 1 ? ' is' : 's are'} live${made}`;
}

/**
 * @internal An allocation the memory refused (a RangeError 'wasmconv: ...')
 * renamed after the op and what the memory was for, with memoryHint(); any
 * other error as it was.
 */
export function renamed(e: unknown, fn: string, what: string): unknown {
  if (e instanceof RangeError && e.message.startsWith('wasmconv: ')) return new RangeError(`${fn}: ${what}: ${e.message.slice('wasmconv: '.length)}${memoryHint()}`);
  return e;
}

/**
 * Something that holds a storage and lets go of it exactly once (a Tensor).
 * Scopes and the safety net work on this.
 */
export abstract class Owned {
  /** @internal Whether this tensor let go of its storage. */
  _released = false;
  /** @internal Its entry in the safety net, if it has one. */
  _cell: Cell | null = null;
  /** @internal Exempt from every tidy scope (keep(), or a gradient owned by its tensor). */
  _kept = false;
  /** @internal */
  abstract readonly storage: Storage;
  /** Frees the data (once the last view of it is gone). */
  abstract dispose(): void;

  /** Subclasses only: tensors come from `tensor()`, `zeros()` and the ops. */
  protected constructor() {}

  /** @internal Lets go of the storage, once. */
  protected letGo(): boolean {
    if (this._released) return false;
    this._released = true;
    const c = this._cell;
    if (c) {
      this._cell = null;
      if (c.released) return true;
      settle(c);
      finalizer!.unregister(this);
    }
    this.storage.release();
    return true;
  }
}

const scopes: Owned[][] = [];

/** @internal Puts a new owner in the innermost scope, or under the safety net outside any scope. */
export function adopt(o: Owned): void {
  if (scopes.length) scopes[scopes.length - 1].push(o);
  else guard(o);
}

/** @internal Registers an owner with the safety net (never a released one, never twice). */
export function guard(o: Owned): void {
  if (o._released || o._cell || !finalizer) return;
  o._cell = { storage: o.storage, released: false, grad: (o as { grad?: Owned | null }).grad ?? null };
  finalizer.register(o, o._cell, o);
  unscoped++;
}

/**
 * @internal Makes `g` the gradient owned by `o`: exempt from scopes, freed when
 * `o` is disposed or collected (so it needs no safety-net entry of its own).
 */
export function ownGrad(o: Owned, g: Owned): void {
  g._kept = true;
  if (o._cell) o._cell.grad = g;
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the tensors it
 * returns (alone, or anywhere in arrays and plain objects) and those passed to
 * `keep`. Scopes nest; returned tensors belong to the enclosing scope.
 *
 * @example
 * const y = tidy(() => corr2d(X, K).mul(2)); // the corr2d result is freed, y is kept
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`tidy: expected a function, got ${describe(fn)}`);
  const scope: Owned[] = [];
  scopes.push(scope);
  const depth = scopes.length;
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new TypeError('tidy: the function must be synchronous; it returned a Promise');
  } catch (e) {
    scopes.length = depth - 1;
    for (let k = scope.length - 1; k >= 0; k--) if (!scope[k]._kept) scope[k].dispose();
    throw e;
  }
  scopes.length = depth - 1;
  const kept = result !== null && typeof result === 'object' ? owners(result) : null;
  const outer = scopes.length ? scopes[scopes.length - 1] : null;
  // Newest first: the allocator then mostly frees its topmost block.
  for (let k = scope.length - 1; k >= 0; k--) {
    const t = scope[k];
    if (kept !== null && kept.has(t)) { if (outer) outer.push(t); else guard(t); }
    else if (!t._kept) t.dispose();
  }
  return result;
}

/**
 * @internal `tidy` for a function that returns an array of owners (a backward
 * closure's gradients): everything else it made is freed, on success or failure.
 */
export function scoped<T extends ReadonlyArray<Owned | null>>(fn: () => T): T {
  const scope: Owned[] = [];
  scopes.push(scope);
  const depth = scopes.length;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.length = depth - 1;
    for (let k = scope.length - 1; k >= 0; k--) if (!scope[k]._kept) scope[k].dispose();
    throw e;
  }
  scopes.length = depth - 1;
  const outer = scopes.length ? scopes[scopes.length - 1] : null;
  for (let k = scope.length - 1; k >= 0; k--) {
    const t = scope[k];
    if (result.includes(t)) { if (outer) outer.push(t); else guard(t); }
    else if (!t._kept) t.dispose();
  }
  return result;
}

/** The owners in a result: itself, or inside arrays and plain objects, at any depth, cycles included. */
function owners(x: unknown): Set<Owned> {
  const out = new Set<Owned>();
  if (x instanceof Owned) { out.add(x); return out; }
  // A flat array of tensors (the common case) needs no traversal.
  if (Array.isArray(x) && x.every((v) => v === null || v === undefined || v instanceof Owned)) {
    for (let i = 0; i < x.length; i++) if (x[i]) out.add(x[i]);
    return out;
  }
  const seen = new Set<object>();
  const stack: unknown[] = [x];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Owned) out.add(v);
    else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) stack.push(v[i]);
    else if (Object.getPrototypeOf(v) === Object.prototype) for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
  }
  return out;
}

/**
 * Exempts a tensor from disposal by the enclosing `tidy` scopes.
 * @example const w = tidy(() => keep(randn([3, 3]))); // survives the scope
 */
export function keep<T extends Owned>(t: T): T {
  t._kept = true;
  guard(t);
  return t;
}

// ---------------------------------------------------------------------------
// Grad mode
// ---------------------------------------------------------------------------

let gradEnabled = true;

/** @internal Whether ops record gradients right now. */
export function isGradEnabled(): boolean { return gradEnabled; }

/**
 * Runs `fn` without recording gradients: its results have no history and need none.
 *
 * @example
 * noGrad(() => w.assign(w.sub(w.grad!.mul(0.1))));
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

// ---------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------

function sharedMemoryAvailable(): { ok: boolean; why?: string } {
  if (typeof SharedArrayBuffer === 'undefined') return { ok: false, why: 'SharedArrayBuffer is unavailable (the page is not cross-origin isolated)' };
  const g = globalThis as { crossOriginIsolated?: boolean };
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

/** A private, validated copy of init's options (each read once). */
function readOptions(opts: unknown): Required<Pick<InitOptions, 'replace'>> & Omit<InitOptions, 'replace'> {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`init: options must be an object, got ${describe(opts)}`);
  const o = opts as Record<string, unknown>;
  const backend = o.backend, build = o.build, threads = o.threads, maxMemoryMB = o.maxMemoryMB, replace = o.replace;
  for (const k of Object.keys(o)) {
    if (!['backend', 'build', 'threads', 'maxMemoryMB', 'replace'].includes(k)) {
      throw new RangeError(`init: unknown option ${JSON.stringify(k)}; options are backend, build, threads, maxMemoryMB, replace`);
    }
  }
  if (backend !== undefined && backend !== 'wasm' && backend !== 'reference') {
    throw new RangeError(`init: backend must be 'wasm' or 'reference', got ${describe(backend)}`);
  }
  const builds = ['relaxed-simd', 'simd', 'no-simd', 'debug'];
  if (build !== undefined && !builds.includes(build as string)) {
    throw new RangeError(`init: build must be one of ${builds.join(', ')}, got ${describe(build)}`);
  }
  if (threads !== undefined && !(typeof threads === 'number' && Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw new RangeError(`init: threads must be an integer from 1 to 256, got ${describe(threads)}`);
  }
  if (maxMemoryMB !== undefined && !(typeof maxMemoryMB === 'number' && Number.isInteger(maxMemoryMB) && maxMemoryMB >= 2 && maxMemoryMB <= 4096)) {
    throw new RangeError(`init: maxMemoryMB must be an integer from 2 to 4096, got ${describe(maxMemoryMB)}`);
  }
  if (replace !== undefined && typeof replace !== 'boolean') throw new TypeError(`init: replace must be a boolean, got ${describe(replace)}`);
  return {
    backend: backend as InitOptions['backend'], build: build as InitOptions['build'], threads: threads as number | undefined,
    maxMemoryMB: maxMemoryMB as number | undefined, replace: replace === true,
  };
}

/** The options as a call would print them, for messages: `{ threads: 2, build: 'simd' }`. */
function optionText(o: Omit<InitOptions, 'replace'>): string {
  const parts: string[] = [];
  if (o.backend !== undefined) parts.push(`backend: '${o.backend}'`);
  if (o.build !== undefined) parts.push(`build: '${o.build}'`);
  if (o.threads !== undefined) parts.push(`threads: ${o.threads}`);
  if (o.maxMemoryMB !== undefined) parts.push(`maxMemoryMB: ${o.maxMemoryMB}`);
  return parts.length ? `{ ${parts.join(', ')} }` : '{}';
}

/**
 * Loads and instantiates the engine. Idempotent: calling it again with the same
 * options (or none) returns at once, and concurrent calls with the same options
 * share one initialisation. A call with other options is refused with an
 * `InitError` naming both option sets while another call is in flight or while
 * tensors are live, unless it passes `replace: true`; replacing the engine
 * disposes every tensor of the old one and ends its workers.
 *
 * @example
 * await init();                                   // fastest build, all cores where possible
 * await init({ threads: 1 });                     // the same engine? no: refused while tensors are live...
 * await init({ threads: 1, replace: true });      // ...unless asked to replace it
 * backendInfo(); // { backend: 'wasm', build: 'simd', threads: 1, sharedMemory: false }
 */
export async function init(opts: InitOptions = {}): Promise<void> {
  const o = readOptions(opts);
  const key = JSON.stringify([o.backend ?? 'wasm', o.build ?? null, o.threads ?? null, o.maxMemoryMB ?? 2048]);
  const text = optionText(o);
  const noOptions = o.backend === undefined && o.build === undefined && o.threads === undefined && o.maxMemoryMB === undefined;
  if (!o.replace) {
    if (pending) {
      if (pending.key === key || noOptions) return pending.promise;
      throw new InitError(`init: called with ${text} while init(${pending.opts}) is still in flight; pass replace: true to replace that engine`);
    }
    if (state && (state.key === key || noOptions)) return;
    if (state && liveRefs > 0) {
      throw new InitError(`init: the engine runs with ${state.opts} and ${liveRefs} tensor${liveRefs === 1 ? ' is' : 's are'} live; init with ${text} would dispose them. Dispose them first, or pass replace: true`);
    }
  }
  const before = pending?.promise;
  const run = async () => {
    if (before) await before.catch(() => undefined);
    const next = await create(o, key, text);
    const old = state;
    state = next;
    if (old) {
      liveRefs = 0; liveBytes = 0; unscoped = 0; scopes.length = 0;
      old.backend.dispose();
    }
  };
  const promise = run();
  const mine = { promise, key, opts: text };
  pending = mine;
  try {
    await promise;
  } finally {
    if (pending === mine) pending = null;
  }
}

/** Test mode: every allocation detaches existing views (see WasmBackendOptions.detachViews). */
function detachViewsRequested(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.WASMCONV_DETACH_VIEWS === '1';
}

async function create(o: Omit<InitOptions, 'replace'>, key: string, text: string): Promise<EngineState> {
  if ((o.backend ?? 'wasm') === 'reference') {
    return { backend: new ReferenceBackend(), key, opts: text, info: { backend: 'reference', build: null, threads: 1, sharedMemory: false } };
  }
  const shm = sharedMemoryAvailable();
  let threads = o.threads ?? (shm.ok ? await coreCount() : 1);
  let note: string | undefined;
  // Say why whenever shared memory is what keeps the engine on one thread.
  if (!shm.ok && (o.threads ?? 2) > 1) { note = `single-threaded: ${shm.why}`; threads = 1; }
  if (threads > 1 && o.build === 'debug') { note = 'single-threaded: the debug build uses non-shared memory'; threads = 1; }
  const maxMemoryBytes = (o.maxMemoryMB ?? 2048) * 1024 * 1024;
  const backend = await WasmBackend.create({ build: o.build, threads, maxMemoryBytes, detachViews: detachViewsRequested() });
  const info: BackendInfo = { backend: 'wasm', build: backend.build, threads: backend.threads, sharedMemory: backend.threads > 1 };
  if (note) info.note = note;
  return { backend, key, opts: text, info };
}

/** @internal The active backend; throws NotInitializedError before `init()`. */
export function getBackend(fn: string): Backend {
  if (!state) throw new NotInitializedError(`${fn}: the engine is not initialised; call \`await init()\` first`);
  return state.backend;
}

/** @internal The active backend or null. */
export function currentBackend(): Backend | null { return state ? state.backend : null; }

/** @internal Throws DisposedError unless `s` lives in the engine's current backend. */
export function checkCurrent(s: Storage, fn: string, what: string): void {
  if (s.backend !== state?.backend) throw new DisposedError(`${fn}: ${what} belongs to a backend that init() replaced`);
}

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
  const be = state.backend;
  if (be instanceof WasmBackend && be.poolNote) { info.threads = be.threads; info.sharedMemory = true; info.note = be.poolNote; }
  else info.threads = be.threads;
  return info;
}

/** Number of live tensors, their bytes, and the size of the WebAssembly memory. */
export interface MemoryInfo { tensors: number; bytes: number; wasmBytes: number }

/**
 * What the engine holds: live tensors, the bytes of their data (float32, each
 * storage once however many tensors view it), and the bytes of the WebAssembly
 * memory (which grows but never shrinks).
 *
 * @example
 * const before = memory().tensors;
 * tidy(() => corr2d(ones([6, 8]), tensor([[1, -1]])));
 * memory().tensors === before; // true
 */
export function memory(): MemoryInfo {
  const b = currentBackend();
  return { tensors: liveRefs, bytes: liveBytes, wasmBytes: b && b.name === 'wasm' ? b.memoryBytes() : 0 };
}

/** @internal A short description of any value, for messages. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an Array of length ${v.length}`;
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  if (typeof v === 'function') return 'a function';
  return String(v);
}


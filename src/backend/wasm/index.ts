import type { Backend, BuildKind } from '../backend';
import type { Fields, Kernel, Params } from '../layout';
import { KERNELS, LAYOUTS, abiTable } from '../registry';
import { BackendError } from '../../errors';
import { Arena } from './arena';
import { bestBuild, buildSupported, compileBuild, instantiate, type KernelFn } from './loader';
import { Pool } from './pool';
import { WRITERS, type Writer } from './params.generated';

const PAGE = 65536;
/** Calls whose kernel reports less work than this (flop-equivalents) stay on the calling thread. */
export const PARALLEL_COST = 2e6;
/** Bytes of the parameter block (the largest layout fits). */
const PARAM_BYTES = Math.ceil(Math.max(...LAYOUTS.map((l) => l.bytes)) / 64) * 64;
/** Workspace reserved at start, per thread, so that small kernels never allocate. */
const MIN_WORKSPACE = 4096;

export interface WasmBackendOptions {
  /** Which build to run; default: the fastest this runtime validates. 'debug' is the SIMD build with assertions on and names kept, lightly optimised (-O1). */
  build?: BuildKind | 'debug';
  /** Threads including the caller; 1 uses no workers and non-shared memory. */
  threads: number;
  /** Upper bound of the linear memory, in bytes. */
  maxMemoryBytes: number;
  /**
   * Test mode: every allocation detaches the memory's buffer (`memory.grow(0)`
   * on non-shared memory) exactly as a real growth would, so that any view
   * kept across an allocation reads nothing instead of stale data.
   */
  detachViews?: boolean;
}

/** Which variant of a kernel family to run: the SIMD kernel or its scalar sibling. */
export type Variant = 'simd' | 'scalar';

interface Entry { simd: KernelFn | null; scalar: KernelFn; simdIndex: number; scalarIndex: number; write: Writer }

/**
 * The WebAssembly backend: one memory, one instance on this thread, optionally a
 * worker pool over the same shared memory, the JS-side allocator, a parameter
 * block and a workspace. Every kernel call goes through `run`.
 */
export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly bytesPerElement = 4;
  readonly arena: Arena;
  disposed = false;
  /** Variant the kernels run in; tests switch it to compare SIMD kernels with their scalar siblings. */
  variant: Variant = 'simd';
  /** Kernel calls split over the worker pool. */
  pooledCalls = 0;
  private readonly counts = new Array<number>(KERNELS.length).fill(0);
  /** Kernel calls made, by family name: tests and benchmarks read it. */
  get calls(): Map<string, number> { return new Map(KERNELS.map((k, i) => [k.name, this.counts[i]])); }
  /** Why the engine runs on fewer threads than asked, if it does. */
  poolNote: string | null = null;
  /** Resolves when a pool being rebuilt after a fault is ready (tests await it). */
  rebuilding: Promise<void> | null = null;

  private readonly table: Entry[] = [];
  private readonly names: string[] = [];
  private params: number;
  /** Blocks freed while workers of a shut-down pool may still write; null when none may. */
  private held: number[] | null = null;
  private ws = 0;
  private wsBytes = 0;
  /** Views of the whole memory, re-derived whenever the buffer changed (growth detaches or replaces it). */
  private buf: ArrayBufferLike | null = null;
  private i32 = new Int32Array(0);
  private f32 = new Float32Array(0);

  private constructor(readonly build: BuildKind | 'debug', readonly memory: WebAssembly.Memory,
                      instance: WebAssembly.Instance, public pool: Pool | null, maxBytes: number,
                      private readonly module: WebAssembly.Module, private readonly detachViews: boolean) {
    const ex = instance.exports as Record<string, unknown>;
    checkAbi(ex.abi as (i: number) => number, build);
    for (const k of KERNELS) {
      const scalar = ex[`${k.name}_scalar`] as KernelFn | undefined;
      const simd = (ex[`${k.name}_simd`] as KernelFn | undefined) ?? null;
      if (!scalar) throw new BackendError(`the ${build} build has no export ${k.name}_scalar; rebuild with npm run build`);
      const write = WRITERS[k.layout.name];
      if (!write) throw new BackendError(`no parameter writer for layout ${k.layout.name}; rebuild with npm run build`);
      const entry: Entry = { simd, scalar, simdIndex: -1, scalarIndex: this.names.push(`${k.name}_scalar`) - 1, write };
      if (simd) entry.simdIndex = this.names.push(`${k.name}_simd`) - 1;
      this.table[k.index!] = entry;
    }
    const heapBase = (ex.heap_base as () => number)();
    this.arena = new Arena(memory, Math.max(heapBase, 1024), maxBytes);
    this.params = this.allocBytes(PARAM_BYTES);
    this.workspace(MIN_WORKSPACE * this.threads);
  }

  static async create(opts: WasmBackendOptions): Promise<WasmBackend> {
    const shared = opts.threads > 1 && opts.build !== 'debug';
    const build = opts.build ?? await bestBuild(shared);
    if (build !== 'debug' && !(await buildSupported(build, shared))) {
      throw new RangeError(`init: the ${build} build is not supported by this runtime${shared ? ' with shared memory' : ''}`);
    }
    const module = await compileBuild(build, shared);
    const maximum = Math.floor(opts.maxMemoryBytes / PAGE);
    const memory = new WebAssembly.Memory({ initial: 17, maximum, shared } as WebAssembly.MemoryDescriptor);
    const instance = instantiate(module, memory);
    const be = new WasmBackend(build, memory, instance, null, maximum * PAGE, module, !!opts.detachViews && !shared);
    if (shared) be.pool = await Pool.create(opts.threads, module, memory, be.names);
    return be;
  }

  /** Threads this backend runs kernels on right now. */
  get threads(): number { return this.pool ? this.pool.size : 1; }
  /** Whether the SIMD variants exist in this build. */
  get hasSimd(): boolean { return this.build !== 'no-simd'; }

  /** A block of `floats` float32 elements: its byte address. */
  alloc(floats: number): number { return this.allocBytes(floats * 4); }

  /** @internal Test hook: the number of allocations to allow before one fails (null: none fails). */
  failAfter: number | null = null;
  /** @internal Allocations made so far (tests count an op's allocations with it). */
  allocations = 0;

  /** Every allocation of the backend goes through here: the views follow the memory. */
  private allocBytes(bytes: number): number {
    if (this.failAfter !== null && this.failAfter-- <= 0) {
      this.failAfter = null;
      throw new RangeError(`wasmconv: cannot allocate ${bytes} bytes: a failure injected by a test`);
    }
    this.allocations++;
    const ptr = this.arena.alloc(bytes);
    if (this.detachViews) { this.memory.grow(0); this.views(); }
    else if (this.arena.buffer !== this.buf) this.views(); // the arena grew the memory
    return ptr;
  }
  free(ptr: number): void { this.release(ptr); }

  /** Frees a block, or holds it until no straggling worker can write into it. */
  private release(ptr: number): void {
    if (this.held) this.held.push(ptr);
    else this.arena.free(ptr);
  }
  /**
   * Views of the current memory, re-derived when the buffer changed. Only an
   * allocation can change it (the memory grows from JS alone, in the arena),
   * so alloc() refreshes them and everything else uses them as they are.
   */
  private views(): void {
    const buf = this.memory.buffer;
    if (buf !== this.buf) {
      this.buf = buf;
      this.i32 = new Int32Array(buf);
      this.f32 = new Float32Array(buf);
    }
  }
  read(ptr: number, offset: number, length: number): Float32Array {
    const at = (ptr >>> 2) + offset;
    return this.f32.slice(at, at + length);
  }
  write(ptr: number, offset: number, src: ArrayLike<number>): void {
    this.f32.set(src, (ptr >>> 2) + offset);
  }
  memoryBytes(): number { return this.memory.buffer.byteLength; }

  /** A workspace of at least `bytes`, reused between calls. */
  private workspace(bytes: number): number {
    if (bytes > this.wsBytes) {
      const ptr = this.allocBytes(bytes);
      if (this.ws) this.release(this.ws);
      this.ws = ptr;
      this.wsBytes = bytes;
    }
    return this.ws;
  }

  /**
   * Runs a kernel family over all its units, split across threads when the call
   * is large enough. A trap inside a kernel surfaces as a BackendError.
   */
  run<F extends Fields>(k: Kernel<F>, p: Params<F>): void {
    if (this.disposed) throw new BackendError(`${k.name}: the backend was disposed`);
    const e = this.table[k.index ?? -1];
    if (!e) throw new BackendError(`${k.name}: not a kernel of the registry`);
    const useSimd = this.variant === 'simd' && e.simd !== null;
    const fn = useSimd ? e.simd! : e.scalar;
    const units = k.units(p);
    if (!(units > 0)) return;
    const T = Math.max(1, Math.min(this.threads, units, k.cost(p) < PARALLEL_COST ? 1 : units));
    const floats = k.workspace(p);
    const stride = floats > 0 ? Math.ceil((floats * 4 + 64) / 64) * 64 : 0;
    const ws = stride > 0 ? this.workspace(stride * T) : 0;
    e.write(p, this.i32, this.f32, this.params >>> 2);
    this.counts[k.index!]++;
    try {
      if (T === 1 || !this.pool) { fn(this.params, ws, 0, units); return; }
      this.pooledCalls++;
      try {
        this.pool.run(useSimd ? e.simdIndex : e.scalarIndex, [this.params], ws, stride, units, T, fn as (...a: number[]) => void,
          Math.max(5000, (k.cost(p) / 1e8) * 1000));
      } finally {
        if (this.pool.broken) this.recoverPool();
      }
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) throw new BackendError(`${k.name}: internal error in the kernel (${err.message})`);
      throw err;
    }
  }

  /** After a worker died: continue on this thread now, rebuild the pool in the background. */
  private recoverPool(): void {
    const lost = this.pool!;
    const threads = lost.size;
    this.pool = null;
    // A worker that timed out may still run its kernel until it has exited: nothing
    // freed until then is reused, and the next calls get a fresh parameter block and
    // workspace (the straggler may read the old block and write its old workspace).
    const held = (this.held ??= []);
    if (this.ws) { held.push(this.ws); this.ws = 0; this.wsBytes = 0; }
    try {
      const params = this.allocBytes(PARAM_BYTES);
      held.push(this.params);
      this.params = params;
    } catch { /* no memory for a new block: keep the old one */ }
    void lost.terminate().then(() => {
      if (this.held !== held) return;
      this.held = null;
      if (!this.disposed) for (const ptr of held) this.arena.free(ptr);
    });
    this.poolNote = `a worker failed; running on one thread while the pool of ${threads} is rebuilt`;
    this.rebuilding = Pool.create(threads, this.module, this.memory, this.names).then(
      (p) => {
        if (this.disposed) { void p.terminate(); return; }
        this.pool = p; this.poolNote = null;
      },
      (e: Error) => { this.poolNote = `a worker failed and the pool could not be rebuilt (${e.message}); running on one thread`; },
    ).finally(() => { this.rebuilding = null; });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.pool) void this.pool.terminate();
    this.pool = null;
  }
}

/** Refuses a build whose constants or parameter offsets differ from the registry's. */
function checkAbi(abi: ((i: number) => number) | undefined, build: string): void {
  if (typeof abi !== 'function') throw new BackendError(`the ${build} build has no abi export; rebuild with npm run build`);
  const table = abiTable();
  table.forEach(([label, want], i) => {
    const got = abi(i);
    if (got !== want) {
      throw new BackendError(`the ${build} build does not match the kernel registry: ${label} is ${got} in the build and ${want} in src/backend/registry.ts; rebuild with npm run build`);
    }
  });
  if (abi(table.length) !== -1) throw new BackendError(`the ${build} build has more constants than the kernel registry; rebuild with npm run build`);
}

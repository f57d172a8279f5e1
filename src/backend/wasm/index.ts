import type { Backend, ConvGeometry, Storage, WasmStorage, WeightKey } from '../backend';
import { Arena } from './arena';
import { bestBuild, buildSupported, compileBuild, instantiate, type BuildKind, type KernelFn } from './loader';
import {
  KERNELS, backwardBias, backwardInputGemm, chooseBackwardWeight, chooseForward, convFlops, flipWeight,
  forwardDirect, packForward, packTransposed, packedForwardLength, packedTransposedLength,
  transposedGeometry, weightBlock, type KernelSpec,
} from './kernels';
import { Pool } from './pool';

const PAGE = 65536;
/** Below this many flops a call stays on the calling thread. */
export const PARALLEL_THRESHOLD = 2e6;

/** A tensor's block of linear memory, with its view cached per buffer. */
export class WasmBlock implements WasmStorage {
  view: Float32Array | null = null;
  constructor(readonly ptr: number, readonly length: number) {}
}

export interface WasmBackendOptions {
  /** Which build to run; default: the fastest this runtime validates. 'debug' is the unoptimised SIMD build. */
  build?: BuildKind | 'debug';
  /** Threads including the caller; 1 uses no workers and non-shared memory. */
  threads: number;
  /** Upper bound of the linear memory, in bytes. */
  maxMemoryBytes: number;
}

/** Which variant of a kernel family to run: the SIMD kernel or its scalar sibling. */
export type Variant = 'simd' | 'scalar';

/**
 * The WebAssembly backend: one memory, one instance on this thread, optionally a
 * worker pool over the same shared memory, the JS-side allocator, a reusable
 * workspace and a cache of packed weights.
 */
export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly arena: Arena;
  private readonly fns = new Map<string, KernelFn>();
  private readonly names: string[];
  private params: number;
  private ws = 0;
  private wsBytes = 0;
  private readonly packed = new Map<string, { version: number; ptr: number }>();
  private readonly packedIds = new Set<number>();
  private geometryView: Int32Array | null = null;
  /** Kernel calls split over the worker pool. */
  pooledCalls = 0;
  /** Kernel calls made, by family name: tests and benchmarks read it. */
  readonly calls = new Map<string, number>();

  private constructor(readonly build: BuildKind | 'debug', readonly memory: WebAssembly.Memory,
                      readonly instance: WebAssembly.Instance, public pool: Pool | null, maxBytes: number,
                      private readonly module: WebAssembly.Module | null = null) {
    const ex = instance.exports as Record<string, unknown>;
    this.names = Object.keys(ex).filter((k) => k.startsWith('conv2d_'));
    for (const n of this.names) this.fns.set(n, ex[n] as KernelFn);
    const heapBase = (ex.heap_base as () => number)();
    this.arena = new Arena(memory, Math.max(heapBase, 1024), maxBytes);
    this.params = this.arena.alloc(64 * 4);
  }

  static async create(opts: WasmBackendOptions): Promise<WasmBackend> {
    const shared = opts.threads > 1;
    const build = opts.build ?? bestBuild(shared);
    if (build !== 'debug' && !buildSupported(build, shared)) {
      throw new RangeError(`init: the ${build} build is not supported by this runtime${shared ? ' with shared memory' : ''}`);
    }
    const module = await compileBuild(build, shared && build !== 'debug');
    const maximum = Math.floor(opts.maxMemoryBytes / PAGE);
    const memory = new WebAssembly.Memory({ initial: 17, maximum, shared: shared && build !== 'debug' } as WebAssembly.MemoryDescriptor);
    const instance = instantiate(module, memory);
    let pool: Pool | null = null;
    if (shared && build !== 'debug') {
      const names = Object.keys(instance.exports).filter((k) => k.startsWith('conv2d_'));
      pool = await Pool.create(opts.threads, module, memory, names);
    }
    return new WasmBackend(build, memory, instance, pool, maximum * PAGE, pool ? module : null);
  }

  /** Threads this backend runs kernels on right now. */
  get threads(): number { return this.pool ? this.pool.size : 1; }
  /** Whether the SIMD variants exist in this build. */
  get hasSimd(): boolean { return this.fns.has('conv2d_forward_gemm_simd'); }

  alloc(length: number): WasmBlock { return new WasmBlock(this.arena.alloc(length * 4), length); }
  free(s: Storage): void { this.release((s as WasmBlock).ptr); }
  view(s: Storage): Float32Array {
    const b = s as WasmBlock;
    const buf = this.arena.buffer;
    if (b.view === null || b.view.buffer !== buf) b.view = new Float32Array(buf, b.ptr, b.length);
    return b.view;
  }
  memoryBytes(): number { return this.arena.memoryBytes; }

  /** Frees the packed copies of a weight that is gone. */
  forgetWeight(id: number): void {
    if (!this.packedIds.delete(id)) return;
    for (const kind of ['f', 't', 'r', 'rf']) {
      const e = this.packed.get(`${kind}${id}`);
      if (e) { this.release(e.ptr); this.packed.delete(`${kind}${id}`); }
    }
  }

  private workspace(floats: number): number {
    const bytes = floats * 4;
    if (bytes > this.wsBytes) {
      if (this.ws) this.release(this.ws);
      this.ws = 0; this.wsBytes = 0;
      this.ws = this.arena.alloc(bytes);
      this.wsBytes = bytes;
    }
    return this.ws;
  }

  /**
   * The weight in the layout a kernel reads, cached by weight id and version:
   * 'f' packed for the forward GEMM, 't' packed transposed for the backward-input
   * GEMM, 'r' flipped for the transposed correlation, 'rf' flipped then packed.
   */
  private packedWeight(kind: 'f' | 't' | 'r' | 'rf', g: ConvGeometry, w: WasmBlock, key: WeightKey | undefined): { ptr: number; temp: boolean } {
    const gt = kind === 'rf' ? transposedGeometry(g)! : g;
    const len = kind === 'f' ? packedForwardLength(g) : kind === 't' ? packedTransposedLength(g) : kind === 'r' ? w.length : packedForwardLength(gt);
    const cacheKey = key ? `${kind}${key.id}` : '';
    const hit = key ? this.packed.get(cacheKey) : undefined;
    if (hit && hit.version === key!.version) return { ptr: hit.ptr, temp: false };
    if (hit) { this.release(hit.ptr); this.packed.delete(cacheKey); }
    const ptr = this.arena.alloc(len * 4);
    const dst = new Float32Array(this.arena.buffer, ptr, len);
    const src = this.view(w);
    if (kind === 'f') packForward(g, src, dst);
    else if (kind === 't') packTransposed(g, src, dst);
    else if (kind === 'r') flipWeight(g, src, dst);
    else {
      const flipped = new Float32Array(w.length);
      flipWeight(g, src, flipped);
      packForward(gt, flipped, dst);
    }
    if (key) { this.packed.set(cacheKey, { version: key.version, ptr }); this.packedIds.add(key.id); }
    return { ptr, temp: !key };
  }

  private writeGeometry(g: ConvGeometry): void {
    let p = this.geometryView;
    if (p === null || p.buffer !== this.arena.buffer) p = this.geometryView = new Int32Array(this.arena.buffer, this.params, 17);
    p[0] = g.N; p[1] = g.C; p[2] = g.H; p[3] = g.W; p[4] = g.O; p[5] = g.KH; p[6] = g.KW; p[7] = g.OH;
    p[8] = g.OW; p[9] = g.SH; p[10] = g.SW; p[11] = g.PH; p[12] = g.PW; p[13] = g.DH; p[14] = g.DW; p[15] = g.G;
    p[16] = weightBlock(g);
  }

  /**
   * Runs one kernel family over all its units, split across threads when the
   * problem is large enough. Pointers are byte offsets into linear memory.
   */
  run(spec: KernelSpec, variant: Variant, g: ConvGeometry, a: number, b: number, c: number, d: number, threads = this.threads): void {
    const name = `${spec.name}_${this.hasSimd ? variant : 'scalar'}`;
    const fn = this.fns.get(name)!;
    const units = spec.units(g);
    const T = Math.max(1, Math.min(threads, this.threads, units, convFlops(g) < PARALLEL_THRESHOLD ? 1 : units));
    const stride = Math.ceil((spec.workspace(g) * 4 + 64) / 64) * 64;
    const ws = stride > 64 ? this.workspace((stride * T) / 4) : 0;
    this.writeGeometry(g);
    this.calls.set(spec.name, (this.calls.get(spec.name) ?? 0) + 1);
    if (T === 1 || !this.pool) { fn(this.params, a, b, c, d, ws, 0, units); return; }
    this.pooledCalls++;
    try {
      this.pool.run(this.names.indexOf(name), [this.params, a, b, c, d], ws, stride, units, T, fn,
        Math.max(5000, (convFlops(g) / 1e8) * 1000));
    } finally {
      if (this.pool.broken) this.recoverPool();
    }
  }

  /** Why the engine runs on fewer threads than asked, if it does. */
  poolNote: string | null = null;
  /** Resolves when a pool being rebuilt after a fault is ready (tests await it). */
  rebuilding: Promise<void> | null = null;

  /** Blocks freed while workers of a shut-down pool may still write; null when none may. */
  private held: number[] | null = null;
  private disposed = false;

  /** Frees a block, or holds it until no straggling worker can write into it. */
  private release(ptr: number): void {
    if (this.held) this.held.push(ptr);
    else this.arena.free(ptr);
  }

  /** After a worker died: continue on this thread now, rebuild the pool in the background. */
  private recoverPool(): void {
    const lost = this.pool!;
    const threads = lost.size;
    this.pool = null;
    // A worker that timed out may still run its kernel until it has exited: nothing
    // freed until then is reused, and the next calls get a fresh geometry block and
    // workspace (the straggler may read the old block and write its old workspace).
    const held = (this.held ??= []);
    if (this.ws) { held.push(this.ws); this.ws = 0; this.wsBytes = 0; }
    try {
      const params = this.arena.alloc(64 * 4);
      held.push(this.params);
      this.params = params;
      this.geometryView = null;
    } catch { /* no memory for a new block: keep the old one */ }
    void lost.terminate().then(() => {
      if (this.held !== held) return;
      this.held = null;
      for (const p of held) this.arena.free(p);
    });
    this.poolNote = `a worker failed; running on one thread while the pool of ${threads} is rebuilt`;
    this.rebuilding = Pool.create(threads, this.module!, this.memory, this.names).then(
      (p) => {
        if (this.disposed) { void p.terminate(); return; }
        this.pool = p; this.poolNote = null;
      },
      (e: Error) => { this.poolNote = `a worker failed and the pool could not be rebuilt (${e.message}); running on one thread`; },
    ).finally(() => { this.rebuilding = null; });
  }

  /** Variant used by the op layer; tests switch it to compare siblings. */
  variant: Variant = 'simd';

  /** Runs `fn` with the weight in layout `kind` (see packedWeight), freeing an uncached copy after. */
  private withWeight(kind: 'f' | 't' | 'r' | 'rf', g: ConvGeometry, w: Storage, key: WeightKey | undefined, fn: (ptr: number) => void): void {
    const pw = this.packedWeight(kind, g, w as WasmBlock, key);
    try {
      fn(pw.ptr);
    } finally {
      if (pw.temp) this.release(pw.ptr);
    }
  }

  conv2dForward(g: ConvGeometry, x: Storage, w: Storage, bias: Storage | null, y: Storage, key?: WeightKey): void {
    const spec = chooseForward(g);
    const xp = (x as WasmBlock).ptr, bp = bias ? (bias as WasmBlock).ptr : 0, yp = (y as WasmBlock).ptr;
    if (spec.weight === 'oihw') this.run(spec, this.variant, g, xp, (w as WasmBlock).ptr, bp, yp);
    else this.withWeight('f', g, w, key, (wp) => this.run(spec, this.variant, g, xp, wp, bp, yp));
  }

  conv2dBackwardInput(g: ConvGeometry, dy: Storage, w: Storage, dx: Storage, key?: WeightKey): void {
    const dyp = (dy as WasmBlock).ptr, dxp = (dx as WasmBlock).ptr;
    const gt = transposedGeometry(g);
    if (gt && (chooseForward(gt) === forwardDirect || gt.O / gt.G >= 8)) {
      // Stride 1: a correlation of dy with the flipped weight, on a forward kernel
      // (when its output channels fill the GEMM tile; else the col2im GEMM is faster).
      const spec = chooseForward(gt);
      this.withWeight(spec === forwardDirect ? 'r' : 'rf', g, w, key, (wp) => this.run(spec, this.variant, gt, dyp, wp, 0, dxp));
    } else {
      this.withWeight('t', g, w, key, (wp) => this.run(backwardInputGemm, this.variant, g, dyp, wp, dxp, 0));
    }
  }

  conv2dBackwardWeight(g: ConvGeometry, x: Storage, dy: Storage, dw: Storage): void {
    this.run(chooseBackwardWeight(g), this.variant, g, (x as WasmBlock).ptr, (dy as WasmBlock).ptr, (dw as WasmBlock).ptr, 0);
  }

  conv2dBackwardBias(g: ConvGeometry, dy: Storage, db: Storage): void {
    this.run(backwardBias, this.variant, g, (dy as WasmBlock).ptr, (db as WasmBlock).ptr, 0, 0);
  }

  /** Ends every worker this backend started, including a pool still being rebuilt (ended when it arrives). */
  dispose(): void {
    this.disposed = true;
    void this.pool?.terminate();
    this.pool = null;
  }
}

export { KERNELS };

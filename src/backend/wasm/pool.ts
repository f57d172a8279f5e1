import { BackendError } from '../../errors';

// Control block layout (Int32Array over a SharedArrayBuffer).
const GEN = 0;      // job generation, bumped to start a job; -1 stops the workers
const DONE = 1;     // workers finished with the current job
const FN = 2;       // kernel index into the names list
const ARGS = 3;     // p, a, b, c, d (5 slots)
const WS = 8;       // workspace base (bytes)
const WS_STRIDE = 9; // workspace bytes per thread
const UNITS = 10;
const NTHREADS = 11;
const ERR = 12;     // 1 + index of the first worker whose kernel threw, else 0
const FAULT = 13;   // test hook: 1 + index of a worker that should throw (mode 1) or exit (mode 2)
const FAULT_MODE = 14;
const SLOTS = 16;

/**
 * The worker's whole program, as source text so that it needs no separate file:
 * Node runs it with `eval: true`, browsers from a Blob URL. It instantiates the
 * compiled module over the shared memory, then loops: wait for a new generation,
 * run its share of the units, count itself done.
 */
const WORKER_SOURCE = `
'use strict';
function start(msg, post) {
  const { module, memory, ctrl, names, index } = msg;
  let fns;
  try {
    const inst = new WebAssembly.Instance(module, { env: { memory } });
    fns = names.map((n) => inst.exports[n]);
  } catch (e) { post({ error: String(e && e.message || e) }); return; }
  const c = new Int32Array(ctrl);
  // Read the generation before reporting ready: the first job may follow at once.
  let seen = Atomics.load(c, ${GEN});
  post({ ready: index });
  for (;;) {
    // Spin a little before sleeping: a forward pass is usually followed at once
    // by more calls, and waking a sleeping thread costs tens of microseconds.
    for (let spin = 0; spin < 20000 && Atomics.load(c, ${GEN}) === seen; spin++);
    Atomics.wait(c, ${GEN}, seen);
    seen = Atomics.load(c, ${GEN});
    if (seen < 0) return;
    const T = c[${NTHREADS}];
    if (index >= T) continue;
    const units = c[${UNITS}];
    const begin = Math.floor((units * index) / T), end = Math.floor((units * (index + 1)) / T);
    const fault = c[${FAULT}] === index + 1 ? c[${FAULT_MODE}] : 0;
    if (fault === 2) { if (typeof process !== 'undefined' && process.exit) process.exit(1); else self.close(); return; }
    try {
      if (fault === 1) throw new Error('injected fault');
      if (end > begin) fns[c[${FN}]](c[${ARGS}] >>> 0, c[${ARGS} + 1] >>> 0, c[${ARGS} + 2] >>> 0, c[${ARGS} + 3] >>> 0,
        c[${ARGS} + 4] >>> 0, ((c[${WS}] >>> 0) + index * (c[${WS_STRIDE}] >>> 0)) >>> 0, begin, end);
    } catch (e) {
      Atomics.compareExchange(c, ${ERR}, 0, index + 1);
    }
    Atomics.add(c, ${DONE}, 1);
    Atomics.notify(c, ${DONE});
  }
}
if (typeof require === 'function' && typeof self === 'undefined') {
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', (m) => start(m, (x) => parentPort.postMessage(x)));
} else {
  self.onmessage = (e) => { self.onmessage = null; start(e.data, (x) => self.postMessage(x)); };
}
`;

interface AnyWorker { terminate(): unknown; }

/** Whether the current thread may block in `Atomics.wait` (not a browser's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

async function spawn(index: number, init: object): Promise<AnyWorker> {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
  if (isNode) {
    const specifier = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ specifier)) as typeof import('node:worker_threads');
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    return new Promise((resolve, reject) => {
      w.once('message', (m: { ready?: number; error?: string }) => (m.error ? reject(new BackendError(`worker ${index}: ${m.error}`)) : resolve(w)));
      w.once('error', (e) => reject(new BackendError(`worker ${index} failed to start: ${e.message}`)));
      w.postMessage(init);
    });
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url);
  URL.revokeObjectURL(url);
  return new Promise((resolve, reject) => {
    w.onmessage = (e: MessageEvent) => (e.data.error ? reject(new BackendError(`worker ${index}: ${e.data.error}`)) : resolve(w));
    w.onerror = (e) => reject(new BackendError(`worker ${index} failed to start: ${e.message}`));
    w.postMessage(init);
  });
}

/**
 * A fork-join pool over one shared `WebAssembly.Memory`. The calling thread is
 * thread 0 and runs its share too; `threads - 1` workers run the rest. Units are
 * split into contiguous ranges, so every output is computed by exactly one
 * thread in the kernel's fixed order: results do not depend on the thread count.
 */
export class Pool {
  private readonly ctrl: Int32Array;
  private readonly blocking = canBlock();
  private constructor(readonly workers: AnyWorker[], ctrl: SharedArrayBuffer, private readonly names: string[]) {
    this.ctrl = new Int32Array(ctrl);
  }

  /** Total threads including the caller. */
  get size(): number { return this.workers.length + 1; }

  static async create(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory, names: string[]): Promise<Pool> {
    const ctrl = new SharedArrayBuffer(SLOTS * 4);
    const workers: AnyWorker[] = [];
    try {
      for (let i = 1; i < threads; i++) workers.push(await spawn(i, { module, memory, ctrl, names, index: i }));
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new Pool(workers, ctrl, names);
  }

  /**
   * Runs kernel `fn` over `units` units on `threads` threads (including this one),
   * thread t using workspace `ws + t * wsStride`.
   */
  run(fn: number, local: (p: number, a: number, b: number, c: number, d: number, ws: number, begin: number, end: number) => void,
      args: [number, number, number, number, number], ws: number, wsStride: number, units: number, threads: number,
      timeoutMs = 30_000): void {
    const c = this.ctrl;
    for (let i = 0; i < 5; i++) c[ARGS + i] = args[i] | 0;
    c[FN] = fn; c[WS] = ws | 0; c[WS_STRIDE] = wsStride | 0; c[UNITS] = units; c[NTHREADS] = threads;
    Atomics.store(c, ERR, 0);
    Atomics.store(c, DONE, 0);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    let localError: unknown = null;
    try {
      local(args[0], args[1], args[2], args[3], args[4], ws, 0, Math.floor(units / threads));
    } catch (e) {
      localError = e;
    }
    const want = threads - 1;
    // A worker that dies never reports; give up when the call makes no progress
    // for `timeoutMs` (far beyond any kernel's time at the slowest build's speed).
    const start = Date.now();
    for (let done = Atomics.load(c, DONE); done < want; done = Atomics.load(c, DONE)) {
      if (this.blocking) Atomics.wait(c, DONE, done, 50);
      if (Date.now() - start > timeoutMs) {
        this.broken = true;
        throw new BackendError(`a worker stopped responding while running ${this.names[fn]} (${want - done} of ${want} workers did not finish within ${timeoutMs} ms); the pool was shut down`);
      }
    }
    if (localError) throw localError;
    const err = Atomics.load(c, ERR);
    if (err) throw new BackendError(`worker ${err - 1} failed while running ${this.names[fn]}`);
  }

  /** Set when a worker stopped responding: the pool must not be used again. */
  broken = false;

  /** Test hook: make worker `index` (1 .. size-1) throw (mode 1) or exit (mode 2) on the next job; mode 0 clears. */
  injectFault(index: number, mode: 0 | 1 | 2): void {
    Atomics.store(this.ctrl, FAULT, mode ? index + 1 : 0);
    Atomics.store(this.ctrl, FAULT_MODE, mode);
  }

  terminate(): void {
    Atomics.store(this.ctrl, GEN, -1);
    Atomics.notify(this.ctrl, GEN);
    for (const w of this.workers) w.terminate();
  }
}

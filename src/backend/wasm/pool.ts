import { BackendError } from '../../errors';

// The control block: an Int32Array over a SharedArrayBuffer.
//
//   header (one 64-byte line)     test hooks and tuning, read by everyone
//   job (two lines)               the current job's parameters, written by the caller only
//   worker t, t = 1 .. size-1     one 64-byte line each: DOOR, ACK, ERR, ERR_KIND
//
// Protocol for job number s (1 .. 2^31-1; -1 in a doorbell stops its worker):
//   caller: write the job's parameters; Atomics.store(DOOR[t], s) for every
//           participating worker t; Atomics.notify(DOOR[t]); run share 0; wait until
//           Atomics.load(ACK[t]) === s for every participating t; read ERR[t].
//   worker t: wait until Atomics.load(DOOR[t]) !== last (the last job it did); that
//           load makes the parameters written before the store visible; read them;
//           run its share; on error ERR[t] = s; Atomics.store(ACK[t], s); last = s;
//           Atomics.notify(ACK[t]).
// A wake-up that finds DOOR[t] === last (a late or spurious notify) goes back to
// waiting, so a job is never run twice; the caller counts nothing, it compares each
// participant's own acknowledgement with s, so it cannot return before every
// participant finished this job; the parameters are rewritten only after every
// participant of the previous job acknowledged (so after it read them), and workers
// that take no part are neither woken nor read anything.

const INJECT = 0;      // test hook: bit mask of PoolStep values at which to pause; 0 = off
const INJECT_US = 1;   // the pause's base length in microseconds
const SPIN = 2;        // how many times an idle worker checks its doorbell before sleeping
const FAULT = 3;       // test hook: 1 + index of a worker that should throw (mode 1) or exit (mode 2)
const FAULT_MODE = 4;
const SCRATCH = 5;     // always 0: pauses wait on it
const PAUSED = 8;      // test hook: pauses made at step 1 << i are counted in PAUSED + i (7 slots)
const JOB = 16;        // the job's sequence number, written with its parameters
const FN = 17;         // kernel index into the names list
const NARGS = 18;
const WS = 19;         // workspace base (bytes)
const WS_STRIDE = 20;  // workspace bytes per thread
const UNITS = 21;
const NTHREADS = 22;
const ARGS = 24;       // up to MAX_ARGS values
const WORKER0 = 32;    // worker t's line starts at WORKER0 + t * LINE
const LINE = 16;
const DOOR = 0, ACK = 1, ERR = 2, ERR_KIND = 3;

/** Most arguments a job passes to its kernel before `ws, begin, end`. */
export const MAX_ARGS = 8;
const STOP = -1;
const MAX_SEQ = 0x7fffffff;
const DEFAULT_SPIN = 20_000;

/**
 * The steps of the protocol at which `Pool.injectDelay` can pause (bit flags).
 * Tests pause at each to check that no interleaving miscounts.
 */
export const PoolStep = {
  /** Caller: after writing the job's parameters, before ringing the doorbells. */
  callerParams: 1,
  /** Caller: after storing the doorbells, before notifying (a late notify). */
  callerNotify: 2,
  /** Caller: after running its own share, before waiting for acknowledgements. */
  callerWait: 4,
  /** Worker: after waking from `Atomics.wait`, before loading its doorbell. */
  workerWake: 8,
  /** Worker: after reading the job's parameters, before running its share. */
  workerRun: 16,
  /** Worker: after running its share, before acknowledging. */
  workerAck: 32,
  /** Worker: after acknowledging. */
  workerAcked: 64,
} as const;

/**
 * The worker's whole program, as source text so that it needs no separate file:
 * Node runs it with `eval: true`, browsers from a Blob URL. It instantiates the
 * compiled module over the shared memory, then serves jobs from its doorbell.
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
  const line = ${WORKER0} + index * ${LINE};
  const door = line + ${DOOR}, ack = line + ${ACK};
  // Test hook: pause at a step when its bit is set (a varying length per job and worker).
  const pause = (step, seq) => {
    if ((c[${INJECT}] & step) === 0) return;
    Atomics.add(c, ${PAUSED} + 31 - Math.clz32(step), 1);
    const us = c[${INJECT_US}] * ((seq + index) % 3);
    if (us > 0) Atomics.wait(c, ${SCRATCH}, 0, us / 1000);
  };
  const args = [];
  let last = 0;  // the last job number this worker did (doorbells start at 0)
  post({ ready: index });
  for (;;) {
    // Wait for a job number other than the last one done. Spin a little before
    // sleeping: a call is usually followed at once by more, and waking a
    // sleeping thread costs tens of microseconds.
    let seq = Atomics.load(c, door);
    for (let spin = c[${SPIN}]; seq === last && spin > 0; spin--) seq = Atomics.load(c, door);
    while (seq === last) {
      Atomics.wait(c, door, last);
      if (c[${INJECT}] !== 0) pause(${PoolStep.workerWake}, last);
      seq = Atomics.load(c, door);  // a late or spurious wake-up finds it unchanged
    }
    if (seq === ${STOP}) return;
    // The load above saw this job's number: its parameters are visible now.
    let kind = c[${JOB}] === seq ? 0 : 2;
    const fn = c[${FN}], n = c[${NARGS}], units = c[${UNITS}], T = c[${NTHREADS}];
    const ws = ((c[${WS}] >>> 0) + index * (c[${WS_STRIDE}] >>> 0)) >>> 0;
    args.length = n;
    for (let i = 0; i < n; i++) args[i] = c[${ARGS} + i] >>> 0;
    const fault = c[${FAULT}] === index + 1 ? c[${FAULT_MODE}] : 0;
    if (c[${INJECT}] !== 0) pause(${PoolStep.workerRun}, seq);
    if (kind === 0 && index < T) {
      if (fault === 2) { if (typeof process !== 'undefined' && process.exit) process.exit(1); else self.close(); return; }
      const begin = Math.floor((units * index) / T), end = Math.floor((units * (index + 1)) / T);
      try {
        if (fault === 1) throw new Error('injected fault');
        if (end > begin) fns[fn](...args, ws, begin, end);
      } catch (e) {
        kind = 1;
      }
    }
    if (c[${INJECT}] !== 0) pause(${PoolStep.workerAck}, seq);
    if (kind !== 0) { Atomics.store(c, line + ${ERR_KIND}, kind); Atomics.store(c, line + ${ERR}, seq); }
    Atomics.store(c, ack, seq);
    last = seq;
    Atomics.notify(c, ack);
    if (c[${INJECT}] !== 0) pause(${PoolStep.workerAcked}, seq);
  }
}
if (typeof require === 'function' && typeof self === 'undefined') {
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', (m) => start(m, (x) => parentPort.postMessage(x)));
} else {
  self.onmessage = (e) => { self.onmessage = null; start(e.data, (x) => self.postMessage(x)); };
}
`;

/** A started worker: how to end it, and when it has really ended. */
interface WorkerHandle {
  terminate(): void;
  /** Resolves when the worker's thread has exited (in browsers: when `terminate()` was called). */
  readonly exited: Promise<void>;
}

/** Whether the current thread may block in `Atomics.wait` (not a browser's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

async function spawn(index: number, init: object): Promise<WorkerHandle> {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
  if (isNode) {
    const specifier = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ specifier)) as typeof import('node:worker_threads');
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    // 'exit' is emitted once the worker's thread has stopped: it writes nothing after.
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    const handle: WorkerHandle = { terminate: () => void w.terminate(), exited };
    return new Promise((resolve, reject) => {
      const fail = (e: BackendError) => { void w.terminate(); reject(e); };
      w.once('message', (m: { ready?: number; error?: string }) => (m.error ? fail(new BackendError(`worker ${index}: ${m.error}`)) : resolve(handle)));
      // Before the worker is ready these fail its start; after, the worker is gone
      // or going anyway (a job it was running times out).
      w.on('error', (e) => fail(new BackendError(`worker ${index} failed to start: ${e.message}`)));
      w.once('exit', (code) => fail(new BackendError(`worker ${index} exited with code ${code} while starting`)));
      w.postMessage(init);
    });
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url);
  URL.revokeObjectURL(url);
  let ended!: () => void;
  const exited = new Promise<void>((resolve) => { ended = resolve; });
  // A browser ends a worker at once on terminate(): there is no later event to wait for.
  const handle: WorkerHandle = { terminate: () => { w.terminate(); ended(); }, exited };
  return new Promise((resolve, reject) => {
    const fail = (e: BackendError) => { handle.terminate(); reject(e); };
    w.onmessage = (e: MessageEvent) => (e.data.error ? fail(new BackendError(`worker ${index}: ${e.data.error}`)) : resolve(handle));
    w.onerror = (e) => fail(new BackendError(`worker ${index} failed to start: ${e.message}`));
    w.postMessage(init);
  });
}

/**
 * A fork-join pool over one shared `WebAssembly.Memory`. The calling thread is
 * thread 0 and runs its share too; `size - 1` workers run the rest. Units are
 * split into contiguous ranges, so every output is computed by exactly one
 * thread in the kernel's fixed order: results do not depend on the thread count.
 *
 * Every job has a sequence number; each worker has its own doorbell and its own
 * acknowledgement slot (see the protocol at the top of this file). A job is
 * complete only when every participating worker acknowledged that number.
 */
export class Pool {
  private readonly ctrl: Int32Array;
  private readonly blocking = canBlock();
  /** The last job's sequence number (tests set it to check the wrap-around). @internal */
  seq = 0;
  /** The last job number published to each worker (index t): once it acknowledged, its last job. */
  private readonly given: Int32Array;
  private stopping = false;
  private isBroken = false;
  /** Resolves when every worker has exited (after `terminate()`, or on its own). */
  readonly exited: Promise<void>;

  private constructor(private readonly workers: WorkerHandle[], ctrl: SharedArrayBuffer, private readonly names: readonly string[]) {
    this.ctrl = new Int32Array(ctrl);
    this.given = new Int32Array(workers.length + 1);
    this.exited = Promise.all(workers.map((w) => w.exited)).then(() => undefined);
  }

  /** Total threads including the caller. */
  get size(): number { return this.workers.length + 1; }

  /**
   * Set when a worker stopped responding: the pool is shut down and must not be
   * used again, and until `exited` resolves that worker may still be running its
   * kernel, writing into the memory of the job that timed out.
   */
  get broken(): boolean { return this.isBroken; }

  /**
   * Starts `threads - 1` workers, each instantiating `module` over `memory`;
   * `names` are the exports a job's `fn` indexes.
   */
  static async create(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory, names: readonly string[]): Promise<Pool> {
    const ctrl = new SharedArrayBuffer((WORKER0 + Math.max(1, threads) * LINE) * 4);
    new Int32Array(ctrl)[SPIN] = DEFAULT_SPIN;
    const started = await Promise.allSettled(
      Array.from({ length: Math.max(0, threads - 1) }, (_, i) => spawn(i + 1, { module, memory, ctrl, names: [...names], index: i + 1 })),
    );
    const workers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      for (const w of workers) w.terminate();
      await Promise.all(workers.map((w) => w.exited));
      throw failed.reason;
    }
    return new Pool(workers, ctrl, names);
  }

  /**
   * Runs kernel `names[fn]` over `units` units on `threads` threads (this one and
   * workers 1 .. threads-1). Thread t calls `kernel(...args, ws + t * wsStride,
   * begin, end)` with `[begin, end) = [floor(units*t/threads), floor(units*(t+1)/threads))`;
   * this thread calls `local` the same way. `args` are up to `MAX_ARGS` u32 values.
   * Returns when every thread has finished its share. Throws the local kernel's
   * error, or a `BackendError` when a worker's kernel threw, or when a worker did
   * not finish within `timeoutMs` (then the pool is `broken` and shut down).
   */
  run(fn: number, args: readonly number[], ws: number, wsStride: number, units: number, threads: number,
      local: (...a: number[]) => void, timeoutMs = 30_000): void {
    if (this.stopping) {
      throw new BackendError(`the worker pool was shut down${this.isBroken ? ' after a worker stopped responding' : ''}; it cannot run ${this.names[fn]}`);
    }
    if (!(Number.isInteger(threads) && threads >= 1 && threads <= this.size)) {
      throw new RangeError(`Pool.run: threads must be an integer from 1 to ${this.size}, got ${threads}`);
    }
    if (args.length > MAX_ARGS) throw new RangeError(`Pool.run: at most ${MAX_ARGS} arguments, got ${args.length}`);
    const c = this.ctrl;
    // Numbers increase, so a participant's last job number is below this one;
    // at the wrap-around, the new number is one that no worker holds, and every
    // worker takes part in that job (those beyond `threads` with an empty share),
    // so that afterwards no worker's last number can equal a later one.
    let seq = this.seq + 1, last = threads;
    if (seq > MAX_SEQ) {
      seq = 1;
      while (this.given.includes(seq)) seq++;
      last = this.size;
    }
    this.seq = seq;
    if (last > 1) {
      c[JOB] = seq; c[FN] = fn; c[NARGS] = args.length;
      for (let i = 0; i < args.length; i++) c[ARGS + i] = args[i] | 0;
      c[WS] = ws | 0; c[WS_STRIDE] = wsStride | 0; c[UNITS] = units; c[NTHREADS] = threads;
      if (c[INJECT] !== 0) this.pause(PoolStep.callerParams, seq);
      for (let t = 1; t < last; t++) { this.given[t] = seq; Atomics.store(c, WORKER0 + t * LINE + DOOR, seq); }
      if (c[INJECT] !== 0) this.pause(PoolStep.callerNotify, seq);
      for (let t = 1; t < last; t++) Atomics.notify(c, WORKER0 + t * LINE + DOOR, 1);
    }
    let localFailed = false, localError: unknown;
    try {
      local(...args, ws, 0, Math.floor(units / threads));
    } catch (e) {
      localFailed = true;
      localError = e;
    }
    if (last === 1) {
      if (localFailed) throw localError;
      return;
    }
    if (c[INJECT] !== 0) this.pause(PoolStep.callerWait, seq);
    // A worker that died or is stuck never acknowledges: give up after `timeoutMs`
    // (far beyond any kernel's time at the slowest build's speed).
    let deadline = 0;
    for (let t = 1; t < last; t++) {
      const slot = WORKER0 + t * LINE + ACK;
      let a = Atomics.load(c, slot);
      for (let spin = 0; a !== seq && spin < 1000; spin++) a = Atomics.load(c, slot);
      while (a !== seq) {
        const now = Date.now();
        if (deadline === 0) deadline = now + timeoutMs;
        else if (now >= deadline) this.timedOut(seq, last, fn, timeoutMs);
        if (this.blocking) Atomics.wait(c, slot, a, deadline - now);
        a = Atomics.load(c, slot);
      }
    }
    let failed = 0, kind = 0;
    for (let t = last - 1; t >= 1; t--) {
      const line = WORKER0 + t * LINE;
      if (Atomics.load(c, line + ERR) === seq) {
        failed = t;
        kind = Atomics.load(c, line + ERR_KIND);
        Atomics.store(c, line + ERR, 0);
      }
    }
    if (localFailed) throw localError;
    if (failed) {
      throw new BackendError(kind === 1
        ? `worker ${failed} failed while running ${this.names[fn]}`
        : `worker ${failed} read the parameters of another job while running ${this.names[fn]} (a pool protocol error)`);
    }
  }

  private timedOut(seq: number, last: number, fn: number, timeoutMs: number): never {
    let missing = 0;
    for (let t = 1; t < last; t++) if (Atomics.load(this.ctrl, WORKER0 + t * LINE + ACK) !== seq) missing++;
    this.isBroken = true;
    void this.terminate();
    throw new BackendError(`a worker stopped responding while running ${this.names[fn]} (${missing} of ${last - 1} workers did not finish within ${timeoutMs} ms); the pool was shut down`);
  }

  /** Test hook: the caller's pause at a step (see the worker's `pause`). */
  private pause(step: number, seq: number): void {
    const c = this.ctrl;
    if ((c[INJECT] & step) === 0) return;
    Atomics.add(c, PAUSED + 31 - Math.clz32(step), 1);
    const us = c[INJECT_US] * (seq % 3);
    if (us <= 0) return;
    if (this.blocking) Atomics.wait(c, SCRATCH, 0, us / 1000);
    else for (const end = performance.now() + us / 1000; performance.now() < end;);
  }

  /** Test hook: make worker `index` (1 .. size-1) throw (mode 1) or exit (mode 2) on its next job; mode 0 clears. */
  injectFault(index: number, mode: 0 | 1 | 2): void {
    Atomics.store(this.ctrl, FAULT_MODE, mode);
    Atomics.store(this.ctrl, FAULT, mode ? index + 1 : 0);
  }

  /**
   * Test hook: pause at every step in the bit mask `steps` (`PoolStep` values; 0
   * turns pauses off) for 0, 1 or 2 times `us` microseconds, varying with the job
   * and the thread. Off, each step costs one load of a slot that is 0.
   */
  injectDelay(steps: number, us: number): void {
    Atomics.store(this.ctrl, INJECT_US, Math.max(0, Math.round(us)));
    Atomics.store(this.ctrl, INJECT, steps);
  }

  /** Test hook: how many times any thread reached `step` (a `PoolStep` value) with pauses on for it. */
  pausesAt(step: number): number {
    return Atomics.load(this.ctrl, PAUSED + 31 - Math.clz32(step));
  }

  /** How many times an idle worker checks its doorbell before it sleeps (default 20000; 0: sleep at once). */
  setWorkerSpin(checks: number): void {
    Atomics.store(this.ctrl, SPIN, Math.max(0, Math.floor(checks)));
  }

  /**
   * Stops every worker. The returned promise (the same as `exited`) resolves only
   * when every worker's thread has exited, in Node; a browser ends its workers at
   * once. Until then a worker that timed out may still write into linear memory.
   * Calling it again returns the same promise.
   */
  terminate(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      for (let t = 1; t < this.size; t++) {
        Atomics.store(this.ctrl, WORKER0 + t * LINE + DOOR, STOP);
        Atomics.notify(this.ctrl, WORKER0 + t * LINE + DOOR);
      }
      for (const w of this.workers) w.terminate();
    }
    return this.exited;
  }
}

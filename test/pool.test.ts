// The worker pool's protocol, tested deterministically: a tiny hand-assembled
// WebAssembly kernel records, per unit, how many times it ran, which job ran it
// and whether it ran after the caller had returned; delays are injected at every
// step of the protocol on both sides (the caller and the workers), with more
// threads than cores. Then the real engine on 8 threads against 1 thread, and
// workers that throw, die or never answer.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Pool, PoolStep } from '../src/backend/wasm/pool';
import { BackendError } from '../src/errors';
import { init, tensor, conv2d, tidy } from '../src/index';
import { currentBackend } from '../src/engine';
import type { WasmBackend } from '../src/backend/wasm/index';
import { Rng } from '../src/random';
import { expectBitwise, randomArray } from './helpers';

// ---------------------------------------------------------------------------
// The test module. Imports a shared `env.memory`; exports
//   mark(base, tag, ws, begin, end): for each unit u in [begin, end):
//       if (atomic load [base]) != 0: atomic add [base + 4] += 1   (ran after the job was closed)
//       atomic add [base + 16 + 8u] += 1                            (times unit u ran)
//       atomic store [base + 20 + 8u] = tag                         (which job ran it)
//       atomic add [ws] += 1                                        (units run with this workspace)
//   spin(flag, counter, ws, begin, end): while (atomic load [flag]) == 0: atomic add [counter] += 1
// ---------------------------------------------------------------------------

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const str = (s: string) => [...leb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];

const I32 = 0x7f;
const get = (i: number) => [0x20, i], set = (i: number) => [0x21, i], konst = (v: number) => [0x41, ...leb(v)];
const atomicLoad = (off: number) => [0xfe, 0x10, 2, off];
const atomicStore = (off: number) => [0xfe, 0x17, 2, off];
const atomicAdd = (off: number) => [0xfe, 0x1e, 2, off];
const DROP = 0x1a, END = 0x0b;

function testModuleBytes(): Uint8Array<ArrayBuffer> {
  const mark = [
    1, 2, I32, // locals 5 (u) and 6 (address of unit u's record)
    ...get(3), ...set(5),
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(5), ...get(4), 0x4f, 0x0d, 1, // u >= end: break
    ...get(0), ...get(5), ...konst(3), 0x74, 0x6a, ...set(6),
    ...get(0), ...atomicLoad(0), 0x04, 0x40, ...get(0), ...konst(1), ...atomicAdd(4), DROP, END,
    ...get(6), ...konst(1), ...atomicAdd(16), DROP,
    ...get(6), ...get(1), ...atomicStore(20),
    ...get(2), ...konst(1), ...atomicAdd(0), DROP,
    ...get(5), ...konst(1), 0x6a, ...set(5),
    0x0c, 0, END, END, END,
  ];
  const spin = [
    0,
    0x02, 0x40, 0x03, 0x40,
    ...get(0), ...atomicLoad(0), 0x0d, 1,
    ...get(1), ...konst(1), ...atomicAdd(0), DROP,
    0x0c, 0, END, END, END,
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 5, I32, I32, I32, I32, I32, 0]])),
    // env.memory: shared, minimum 1 page, maximum 65536 pages
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x03, ...leb(1), ...leb(65536)]])),
    ...section(3, vec([[0], [0]])),
    ...section(7, vec([[...str('mark'), 0x00, 0], [...str('spin'), 0x00, 1]])),
    ...section(10, vec([[...leb(mark.length), ...mark], [...leb(spin.length), ...spin]])),
  ]);
}

const MARK = 0, SPIN = 1;
const MAX_UNITS = 40;
const WS_STRIDE = 64;
const RECORD = 16 + MAX_UNITS * 8;

interface Job { base: number; ws: number; units: number; threads: number; tag: number }

/** A pool over a fresh shared memory, with the test module instantiated on this thread too. */
class Harness {
  readonly memory: WebAssembly.Memory;
  readonly i32: Int32Array;
  readonly mark: (...a: number[]) => void;
  readonly spin: (...a: number[]) => void;
  readonly jobs: Job[] = [];
  readonly problems: string[] = [];
  private next = 64;
  private tag = 0;
  private readonly jobBytes: number;

  private constructor(readonly pool: Pool, module: WebAssembly.Module, memory: WebAssembly.Memory, readonly maxJobs: number) {
    this.memory = memory;
    this.i32 = new Int32Array(memory.buffer);
    const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, (...a: number[]) => void>;
    this.mark = ex.mark;
    this.spin = ex.spin;
    this.jobBytes = RECORD + pool.size * WS_STRIDE;
  }

  static async create(threads: number, maxJobs: number): Promise<Harness> {
    const module = new WebAssembly.Module(testModuleBytes());
    const pages = Math.ceil((64 + maxJobs * (RECORD + threads * WS_STRIDE)) / 65536) + 1;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true } as WebAssembly.MemoryDescriptor);
    const pool = await Pool.create(threads, module, memory, ['mark', 'spin']);
    return new Harness(pool, module, memory, maxJobs);
  }

  /** A fresh zeroed block of `bytes` (memory is never reused within a harness). */
  block(bytes: number): number {
    const p = this.next;
    this.next += Math.ceil(bytes / 64) * 64;
    if (this.next > this.i32.byteLength) throw new Error('test harness out of memory');
    return p;
  }

  private note(msg: string): void { if (this.problems.length < 20) this.problems.push(msg); }

  /** Runs one job of the marking kernel and checks it at once: every unit exactly once, by this job. */
  job(units: number, threads: number): void {
    if (this.jobs.length >= this.maxJobs) throw new Error('test harness: too many jobs');
    const base = this.block(this.jobBytes);
    const ws = base + RECORD;
    const tag = ++this.tag;
    const job = { base, ws, units, threads, tag };
    this.pool.run(MARK, [base, tag], ws, WS_STRIDE, units, threads, this.mark, 10_000);
    this.check(job, 'when run returned');
    Atomics.store(this.i32, base >> 2, 1); // closed: a unit that runs from now on counts as late
    this.jobs.push(job);
  }

  /** Checks a job's records: every unit ran exactly once by it, each thread ran its range, nothing ran late. */
  check(j: Job, when: string): void {
    const m = this.i32, b = j.base >> 2;
    const late = Atomics.load(m, b + 1);
    if (late) this.note(`job ${j.tag} (${j.threads} threads, ${j.units} units): ${late} units ran after run returned (${when})`);
    for (let u = 0; u < MAX_UNITS; u++) {
      const count = Atomics.load(m, b + 4 + 2 * u), tag = Atomics.load(m, b + 5 + 2 * u);
      const want = u < j.units ? 1 : 0;
      if (count !== want) this.note(`job ${j.tag} (${j.threads} threads, ${j.units} units): unit ${u} ran ${count} times (${when})`);
      else if (want && tag !== j.tag) this.note(`job ${j.tag}: unit ${u} carries tag ${tag} (${when})`);
    }
    for (let t = 0; t < this.pool.size; t++) {
      const ran = Atomics.load(m, (j.ws + t * WS_STRIDE) >> 2);
      const want = t < j.threads ? Math.floor((j.units * (t + 1)) / j.threads) - Math.floor((j.units * t) / j.threads) : 0;
      if (ran !== want) this.note(`job ${j.tag}: thread ${t} ran ${ran} units, its range has ${want} (${when})`);
    }
  }

  /** Re-checks every job since job index `from`: catches units run twice or after their job returned. */
  checkAll(when: string, from = 0): void { for (const j of this.jobs.slice(from)) this.check(j, when); }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const STEPS: Array<[string, number]> = [
  ['caller: after writing the parameters, before the doorbells', PoolStep.callerParams],
  ['caller: between the doorbells and the notifies (late notify)', PoolStep.callerNotify],
  ['caller: after its own share, before waiting for acknowledgements', PoolStep.callerWait],
  ['worker: after waking, before loading its doorbell', PoolStep.workerWake],
  ['worker: after reading the parameters, before running', PoolStep.workerRun],
  ['worker: after running, before acknowledging', PoolStep.workerAck],
  ['worker: after acknowledging', PoolStep.workerAcked],
  ['every step at once', Object.values(PoolStep).reduce((a, b) => a | b, 0)],
];
const JOBS_PER_STEP = 120;
const DELAY_US = 250;

for (const size of [4, 8]) {
  describe(`pool protocol, ${size} threads on a small machine, delays injected`, () => {
    let h: Harness;
    beforeAll(async () => { h = await Harness.create(size, JOBS_PER_STEP * (STEPS.length + 1) + 1500); });
    afterAll(async () => { await h?.pool.terminate(); });

    it('back to back without delays: every unit once, nothing late', async () => {
      for (let j = 0; j < 1500; j++) h.job(1 + ((j * 7) % MAX_UNITS), size - (j % 3 === 1 ? 1 : 0));
      await sleep(20);
      h.checkAll('20 ms later');
      expect(h.problems).toEqual([]);
    });

    for (const [name, step] of STEPS) {
      it(name, async () => {
        // Thread counts vary from job to job, so that some workers take no part;
        // workers alternate between spinning and sleeping at once between jobs.
        const counts = [size, 2, size, size - 1, 3, 1, size];
        const from = h.jobs.length;
        const reached = () => Object.values(PoolStep).map((s) => h.pool.pausesAt(s));
        const before = reached();
        h.problems.length = 0;
        h.pool.injectDelay(step, DELAY_US);
        try {
          for (let j = 0; j < JOBS_PER_STEP; j++) {
            if (j % 20 === 0) h.pool.setWorkerSpin(j % 40 === 0 ? 0 : 20_000);
            h.job(1 + ((j * 13 + 5) % MAX_UNITS), counts[j % counts.length]);
          }
        } finally {
          h.pool.injectDelay(0, 0);
          h.pool.setWorkerSpin(20_000);
        }
        await sleep(3 * DELAY_US / 1000 + 20);
        h.checkAll('after the delays had passed', from);
        expect(h.problems).toEqual([]);
        // Every step asked for was reached, many times.
        const after = reached();
        Object.values(PoolStep).forEach((s, i) => {
          if (step & s) expect(after[i] - before[i], `pauses at step ${s}`).toBeGreaterThanOrEqual(20);
          else expect(after[i], `pauses at step ${s}`).toBe(before[i]);
        });
      });
    }

    it('every worker has exited when terminate() resolves; later jobs never ran', async () => {
      h.problems.length = 0;
      await h.pool.terminate();
      h.checkAll('after the workers exited');
      expect(h.problems).toEqual([]);
      expect(() => h.pool.run(MARK, [0, 0], 0, 0, 4, 2, h.mark)).toThrow(BackendError);
    });
  });
}

describe('pool protocol: sequence numbers', () => {
  it('wrap around without a miscount, with workers that sat out many jobs', async () => {
    const h = await Harness.create(4, 200);
    try {
      const pool = h.pool as unknown as { seq: number };
      // Jumping the counter forward stands for a long run of jobs on this thread alone.
      pool.seq = 0x7fffffff - 40;
      for (let j = 0; j < 80; j++) h.job(1 + (j % 17), j % 10 === 0 ? 4 : 2);
      // Workers 2 and 3 sit out every job after the wrap-around's...
      pool.seq = 0x7fffffff - 1;
      for (let j = 0; j < 6; j++) h.job(9, 2);
      // ...up to the next wrap-around, which must not reuse the number they hold.
      pool.seq = 0x7fffffff - 1;
      for (let j = 0; j < 40; j++) h.job(1 + (j % 23), j % 2 ? 4 : 3);
      await sleep(20);
      h.checkAll('20 ms later');
      expect(h.problems).toEqual([]);
    } finally {
      await h.pool.terminate();
    }
  });
});

describe('pool faults', () => {
  it('a worker that throws fails the call with BackendError naming it; the next job is complete', async () => {
    const h = await Harness.create(3, 10);
    try {
      h.pool.injectFault(2, 1);
      expect(() => h.pool.run(MARK, [h.block(RECORD), 1], 0, 0, 6, 3, () => {})).toThrow(/worker 2 failed while running mark/);
      h.pool.injectFault(2, 0);
      expect(h.pool.broken).toBe(false);
      h.job(12, 3);
      expect(h.problems).toEqual([]);
    } finally {
      await h.pool.terminate();
    }
  });

  it('a worker that never answers fails the call within the timeout; terminate() resolves once it has exited', async () => {
    const h = await Harness.create(2, 1);
    const flag = h.block(64), counter = flag + 4;
    const t0 = performance.now();
    let err: unknown;
    // The caller's own share returns at once; worker 1 spins until the flag is set, which never happens.
    try { h.pool.run(SPIN, [flag, counter], 0, 0, 2, 2, () => {}, 300); } catch (e) { err = e; }
    const elapsed = performance.now() - t0;
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/while running spin \(1 of 1 workers did not finish within 300 ms\)/);
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(3000);
    expect(h.pool.broken).toBe(true);
    expect(Atomics.load(h.i32, counter >> 2)).toBeGreaterThan(0); // it was running, and writing
    let exited = false;
    const done = h.pool.terminate().then(() => { exited = true; });
    await Promise.race([done, sleep(10_000)]);
    expect(exited).toBe(true);
    await h.pool.exited;
    // Nothing writes any more.
    const a = Atomics.load(h.i32, counter >> 2);
    await sleep(50);
    expect(Atomics.load(h.i32, counter >> 2)).toBe(a);
    expect(() => h.pool.run(MARK, [h.block(RECORD), 1], 0, 0, 2, 2, h.mark)).toThrow(/shut down/);
  });

  it('a worker that exits mid-job fails the call within the timeout; terminate() resolves', async () => {
    const h = await Harness.create(3, 1);
    h.pool.injectFault(1, 2);
    expect(() => h.pool.run(MARK, [h.block(RECORD), 1], 0, 0, 6, 3, () => {}, 300))
      .toThrow(/a worker stopped responding while running mark \(1 of 2 workers did not finish within 300 ms\)/);
    expect(h.pool.broken).toBe(true);
    let exited = false;
    await Promise.race([h.pool.terminate().then(() => { exited = true; }), sleep(10_000)]);
    expect(exited).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// The real engine: every kernel family on 8 threads (2 cores) equals 1 thread
// bit for bit, also with delays injected into the pool.
// ---------------------------------------------------------------------------

const CASES: Array<{ x: number[]; w: number[]; opts: Record<string, unknown> }> = [
  { x: [2, 16, 30, 29], w: [20, 16, 3, 3], opts: { padding: 1 } },
  { x: [2, 24, 34, 36], w: [26, 24, 3, 3], opts: { stride: 2, padding: 1 } },
  { x: [2, 32, 40, 41], w: [32, 1, 3, 3], opts: { groups: 32, padding: 1 } },
  { x: [1, 1, 200, 203], w: [1, 1, 7, 7], opts: {} },
];

function convCase(c: (typeof CASES)[number], seed: number) {
  const rng = new Rng(seed);
  const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
  return tidy(() => {
    const x = tensor(randomArray(n(c.x), rng), c.x, { requiresGrad: true });
    const w = tensor(randomArray(n(c.w), rng), c.w, { requiresGrad: true });
    const b = tensor(randomArray(c.w[0], rng), [c.w[0]], { requiresGrad: true });
    const y = conv2d(x, w, { ...c.opts, bias: b });
    y.backward(tensor(randomArray(y.size, rng), y.shape));
    return { y: y.data(), dx: x.grad!.data(), dw: w.grad!.data(), db: b.grad!.data() };
  });
}

describe('the engine on an oversubscribed pool', () => {
  it('conv2d forward and backward on 8 threads equal 1 thread bitwise, with and without injected delays', async () => {
    await init({ threads: 1, build: 'simd' });
    const single = CASES.map((c, i) => convCase(c, i));
    await init({ threads: 8, build: 'simd' });
    const be = currentBackend() as WasmBackend;
    expect(be.threads).toBe(8);
    const before = be.pooledCalls;
    const all = Object.values(PoolStep).reduce((a, b) => a | b, 0);
    for (let round = 0; round < 6; round++) {
      be.pool!.injectDelay(round % 2 ? all : 0, 100);
      try {
        CASES.forEach((c, i) => {
          const r = convCase(c, i);
          for (const k of ['y', 'dx', 'dw', 'db'] as const) expectBitwise(r[k], single[i][k], `case ${i} ${k} round ${round}`);
        });
      } finally {
        be.pool!.injectDelay(0, 0);
      }
    }
    expect(be.pooledCalls - before).toBeGreaterThanOrEqual(6 * CASES.length * 2);
  });

  it('a backend disposed while its pool is being rebuilt terminates the rebuilt pool when it arrives', async () => {
    await init({ threads: 2, build: 'simd' });
    const be = currentBackend() as WasmBackend;
    const lost = be.pool!;
    const created: Array<Promise<Pool>> = [];
    const create = Pool.create.bind(Pool);
    const spy = vi.spyOn(Pool, 'create').mockImplementation((...a) => { const p = create(...a); created.push(p); return p; });
    try {
      lost.injectFault(1, 2);
      expect(() => convCase(CASES[0], 0)).toThrow(BackendError);
      expect(be.pool).toBe(null);
      expect(created.length).toBe(1);
      // Until the stopped worker has exited, freed blocks are held back from reuse.
      const held = () => (be as unknown as { held: number[] | null }).held;
      expect(held()?.length).toBeGreaterThan(0);
      be.dispose(); // while the new pool is still starting
      await be.rebuilding;
      const rebuilt = await created[0];
      let exited = false;
      await Promise.race([rebuilt.exited.then(() => { exited = true; }), sleep(10_000)]);
      expect(exited).toBe(true);
      expect(be.pool).toBe(null);
      let lostExited = false;
      await Promise.race([lost.exited.then(() => { lostExited = true; }), sleep(10_000)]);
      expect(lostExited).toBe(true);
      await sleep(0);
      expect(held()).toBe(null);
    } finally {
      spy.mockRestore();
      await init({ threads: 1 });
    }
  });
});

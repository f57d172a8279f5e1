// The JS-side allocator: random alloc/free/quarantine sequences against a plain
// model, merging and the error message on fixed layouts, quarantine, and the
// fragmentation case through the public API.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Arena, SLACK } from '../src/backend/wasm/arena';
import { init, zeros, memory, type Tensor } from '../src/index';
import { currentBackend } from '../src/engine';
import type { WasmBackend } from '../src/backend/wasm/index';
import { MEMORY_HINT } from './helpers';

const PAGE = 65536;
const seconds = Number(process.env.FUZZ_SECONDS ?? 0);
const seed = Number(process.env.FUZZ_SEED ?? 20261127);
const params = (runs: number): fc.Parameters<unknown> => (seconds > 0
  ? { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 500, markInterruptAsFailure: false }
  : { seed, numRuns: runs });

/** The block a request takes, written out independently of the arena: the request and SLACK, rounded up to 64. */
const blockOf = (bytes: number) => Math.ceil((Math.max(bytes, 1) + SLACK) / 64) * 64;
/** Lets settled quarantines run their callbacks. */
const flush = async () => { for (let i = 0; i < 3; i++) await Promise.resolve(); };

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** An arena over a fresh (non-shared) memory of one page that may grow to `pages`. */
function arena(pages: number) {
  return new Arena(new WebAssembly.Memory({ initial: 1, maximum: pages }), 0, pages * PAGE);
}

/**
 * A stand-in for a WebAssembly.Memory of up to 4 GiB that holds no bytes (the
 * allocator only reads `buffer.byteLength` and calls `grow`): the size classes
 * of large blocks get exercised without the memory.
 */
function virtualMemory(initial: number, maximum: number): WebAssembly.Memory {
  let pages = initial;
  let buffer = { byteLength: pages * PAGE };
  return {
    get buffer() { return buffer; },
    grow(n: number) {
      if (pages + n > maximum) throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
      pages += n;
      buffer = { byteLength: pages * PAGE };
      return pages - n;
    },
  } as unknown as WebAssembly.Memory;
}

type Op =
  | { kind: 'alloc'; bytes: number }
  | { kind: 'free'; pick: number }
  | { kind: 'hold'; pick: number }
  | { kind: 'holdFreed'; pick: number }
  | { kind: 'settle'; pick: number; reject: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('alloc' as const), bytes: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 20000 }), fc.integer({ min: 1, max: 300000 })) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hold' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('holdFreed' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), reject: fc.boolean() }) },
);

interface Block { ptr: number; size: number; held: boolean; holds: number; tag: number }

describe('Arena against a model', () => {
  it('random alloc/free/quarantine sequences: aligned, inside the memory, disjoint, counted, merged; empty again at the end', async () => {
    await fc.assert(fc.asyncProperty(
      fc.record({
        cfg: fc.oneof(
          fc.record({
            pages: fc.integer({ min: 2, max: 24 }),
            initial: fc.integer({ min: 1, max: 24 }),
            shared: fc.boolean(),
            virtual: fc.constant(false),
            scale: fc.constant(1),
          }),
          // Up to 4 GiB, with requests up to about 5 GB.
          fc.record({
            pages: fc.integer({ min: 2, max: 65536 }),
            initial: fc.integer({ min: 1, max: 65536 }),
            shared: fc.constant(false),
            virtual: fc.constant(true),
            scale: fc.constantFrom(1, 64, 4096, 16384),
          }),
        ),
        base: fc.integer({ min: 0, max: 5000 }),
        ops: fc.array(opArb, { maxLength: 120 }),
      }),
      async ({ cfg: { pages, initial, shared, virtual, scale }, base, ops }) => {
        initial = Math.min(initial, pages);
        const mem = virtual
          ? virtualMemory(initial, pages)
          : new WebAssembly.Memory({ initial, maximum: pages, shared } as WebAssembly.MemoryDescriptor);
        const maxBytes = pages * PAGE;
        const a = new Arena(mem, base, maxBytes);
        const start = Math.ceil(base / 64) * 64;
        const blocks = new Map<number, Block>();   // live and quarantined blocks, by offset
        const freed: Array<{ ptr: number; bytes: number }> = [];
        const pending: Array<{ block: Block; d: ReturnType<typeof deferred> }> = [];
        let highWater = start;
        let tags = 0;

        /** A block's bytes (none in a virtual memory). */
        const bytesAt = (b: Block) => (virtual ? new Uint8Array(0) : new Uint8Array(a.buffer, b.ptr, b.size));
        const sorted = () => [...blocks.values()].sort((x, y) => x.ptr - y.ptr);
        const model = () => {
          let live = 0, held = 0, top = start, largestInside = 0, at = start;
          for (const b of sorted()) {
            if (b.held) held += b.size; else live += b.size;
            largestInside = Math.max(largestInside, b.ptr - at);
            at = b.ptr + b.size;
            top = Math.max(top, at);
          }
          return { live, held, top, largestInside, room: maxBytes - top };
        };
        const overlaps = (ptr: number, size: number) => [...blocks.values()].some((b) => ptr < b.ptr + b.size && b.ptr < ptr + size);
        const check = () => {
          const m = model();
          expect(a.liveBytes).toBe(m.live);
          expect(a.heldBytes).toBe(m.held);
          expect(a.top).toBe(m.top);
          expect(a.freeBytes).toBe(m.top - start - m.live - m.held);
          expect(a.largestFree).toBe(Math.max(m.largestInside, m.room));
          highWater = Math.max(highWater, m.top);
          // The memory grows only when the top passes its end, by whole pages.
          expect(a.memoryBytes).toBe(Math.max(initial * PAGE, Math.ceil(highWater / PAGE) * PAGE));
          expect(a.buffer).toBe(mem.buffer);
        };
        const unhold = (b: Block) => {
          if (--b.holds === 0 && b.held) {
            blocks.delete(b.ptr);
            freed.push({ ptr: b.ptr, bytes: b.size - SLACK });
          }
        };

        for (const op of ops) {
          if (op.kind === 'alloc') {
            const bytes = op.bytes * scale;
            const size = blockOf(bytes);
            const m = model();
            const fitsInside = sorted().some((b, i, all) => b.ptr - (i === 0 ? start : all[i - 1].ptr + all[i - 1].size) >= size);
            let ptr: number;
            try {
              ptr = a.alloc(bytes);
            } catch (e) {
              expect(e).toBeInstanceOf(RangeError);
              expect(fitsInside || m.room >= size).toBe(false);
              const msg = (e as Error).message;
              expect(msg).toContain(`wasmconv: cannot allocate ${bytes} bytes: the largest free range is ${Math.max(m.largestInside, m.room)} bytes`);
              expect(msg).toContain(`(${m.top - start - m.live - m.held + m.room} free in all, ${m.live} in use`);
              expect(msg).toContain(`${maxBytes}-byte maximum)`);
              check();
              continue;
            }
            expect(fitsInside || m.room >= size).toBe(true);
            expect(ptr % 64).toBe(0);
            expect(ptr).toBeGreaterThanOrEqual(start);
            expect(ptr + bytes + SLACK).toBeLessThanOrEqual(a.memoryBytes);
            expect(overlaps(ptr, size)).toBe(false);
            // The top rises only when no free range below it fits.
            if (fitsInside) expect(ptr + size).toBeLessThanOrEqual(m.top);
            const b: Block = { ptr, size, held: false, holds: 0, tag: (tags++ % 255) + 1 };
            blocks.set(ptr, b);
            bytesAt(b).fill(b.tag);
          } else if (op.kind === 'free') {
            const live = sorted().filter((b) => !b.held);
            if (live.length === 0) continue;
            const b = live[op.pick % live.length];
            expect(bytesAt(b).every((v) => v === b.tag)).toBe(true);
            a.free(b.ptr);
            if (b.holds > 0) b.held = true;
            else { blocks.delete(b.ptr); freed.push({ ptr: b.ptr, bytes: b.size - SLACK }); }
            expect(() => a.free(b.ptr)).toThrow(/free of unknown block/);
          } else if (op.kind === 'hold') {
            const all = sorted();
            if (all.length === 0) continue;
            const b = all[op.pick % all.length];
            const d = deferred();
            a.quarantine(b.ptr, d.promise);
            b.holds++;
            pending.push({ block: b, d });
          } else if (op.kind === 'holdFreed') {
            if (freed.length === 0) continue;
            const f = freed[op.pick % freed.length];
            const size = blockOf(f.bytes);
            const d = deferred();
            const there = blocks.get(f.ptr);
            if (there) {
              // Reused at the same offset: a quarantine of that block.
              a.quarantine(f.ptr, d.promise, f.bytes);
              there.holds++;
              pending.push({ block: there, d });
            } else if (overlaps(f.ptr, size)) {
              expect(() => a.quarantine(f.ptr, d.promise, f.bytes)).toThrow(/not a free block/);
            } else {
              a.quarantine(f.ptr, d.promise, f.bytes);
              const b: Block = { ptr: f.ptr, size, held: true, holds: 1, tag: 0 };
              blocks.set(f.ptr, b);
              pending.push({ block: b, d });
            }
          } else {
            if (pending.length === 0) continue;
            const [{ block, d }] = pending.splice(op.pick % pending.length, 1);
            if (op.reject) d.reject(new Error('worker gone')); else d.resolve();
            await flush();
            unhold(block);
          }
          check();
        }

        // Settle everything, free everything: the arena is empty again.
        for (const { block, d } of pending) { d.resolve(); await flush(); unhold(block); check(); }
        for (const b of sorted()) {
          expect(b.held).toBe(false);
          expect(bytesAt(b).every((v) => v === b.tag)).toBe(true);
          a.free(b.ptr);
          blocks.delete(b.ptr);
          check();
        }
        expect(a.top).toBe(start);
        expect(a.freeBytes).toBe(0);
        expect(a.liveBytes).toBe(0);
        expect(a.largestFree).toBe(maxBytes - start);
        expect(a.alloc(1)).toBe(start);
      },
    ), params(200));
  });
});

describe('Arena', () => {
  it('merges a freed block with free neighbours on both sides; a refusal names the request, the largest range and the totals', () => {
    const a = arena(4);
    const p = a.alloc(PAGE - SLACK);   // [0, 65536)
    const q = a.alloc(100);            // [65536, 65728)
    const r = a.alloc(PAGE - SLACK);   // [65728, 131264)
    const s = a.alloc(100);            // [131264, 131456)
    expect([p, q, r, s]).toEqual([0, 65536, 65728, 131264]);
    a.free(p);
    a.free(r);
    expect(a.freeBytes).toBe(2 * PAGE);
    expect(a.largestFree).toBe(4 * PAGE - 131456);
    expect(() => a.alloc(140000)).toThrow(new RangeError(
      'wasmconv: cannot allocate 140000 bytes: the largest free range is 130688 bytes (261760 free in all, 384 in use, 262144-byte maximum)'));
    a.free(q);                         // [0, 131264) is one range now
    expect(a.largestFree).toBe(131264);
    expect(a.alloc(131000)).toBe(0);
    expect(a.freeBytes).toBe(131264 - 131072);
    // Exactly the size of a free range: that range, not the top.
    a.free(0);
    expect(a.alloc(131264 - SLACK)).toBe(0);
    expect(a.freeBytes).toBe(0);
    // Freeing the top block gives back everything free below it too.
    a.free(0);
    a.free(s);
    expect(a.top).toBe(0);
    expect(a.freeBytes).toBe(0);
  });

  it('says when a request only misses for its alignment and slack, or the memory would not grow', () => {
    const a = arena(1);
    a.alloc(65400);                     // a 65472-byte block: 64 bytes left at the top
    expect(() => a.alloc(10)).toThrow('wasmconv: cannot allocate 10 bytes: the largest free range is 64 bytes, short of the 128-byte block the request takes with alignment and slack (64 free in all, 65472 in use, 65536-byte maximum)');
    expect(() => a.alloc(Number.NaN)).toThrow(/cannot allocate NaN bytes/);
    // A memory that cannot grow as far as the arena's maximum.
    const b = new Arena(new WebAssembly.Memory({ initial: 1, maximum: 2 }), 0, 4 * PAGE);
    expect(() => b.alloc(3 * PAGE)).toThrow(/^wasmconv: cannot allocate 196608 bytes: growing the memory by 196608 bytes failed: .+ \(262144 free in all, 0 in use, 262144-byte maximum\)$/);
    expect(b.memoryBytes).toBe(PAGE);
    expect(b.alloc(PAGE)).toBe(0);
  });

  it('picks the smallest free range that fits, and reuses same-size blocks last-freed first', () => {
    const a = arena(4);
    const ps = [1000, 100, 3000, 100, 2000, 100].map((n) => a.alloc(n));
    a.free(ps[0]); a.free(ps[2]); a.free(ps[4]);
    expect(a.alloc(1500)).toBe(ps[4]);   // 2048-byte range rather than 3072
    const x = a.alloc(10);
    a.alloc(10);
    const y = a.alloc(10);
    a.alloc(10);
    a.free(x); a.free(y);
    expect(a.alloc(10)).toBe(y);
    expect(a.alloc(10)).toBe(x);
  });

  it('finds a fitting free range of the same size class however many smaller ones were freed after it', () => {
    const a = arena(16);
    const old = a.alloc(8640 - SLACK);          // an 8640-byte block
    a.alloc(10);
    const later: number[] = [];
    for (let i = 0; i < 40; i++) { later.push(a.alloc(8192 - SLACK)); a.alloc(10); }
    a.free(old);
    for (const p of later) a.free(p);
    const top = a.top;
    expect(a.alloc(8640 - SLACK)).toBe(old);
    expect(a.top).toBe(top);
    expect(a.alloc(8192 - SLACK)).toBe(later[39]);
  });

  it('gives a free range to the requests it can hold and to no others, for sizes in every class up to 4 GiB', () => {
    const units: number[] = [];
    for (let l = 1; l <= 25; l++) {
      for (const f of [0, 1 / 16, 5 / 16, 11 / 16, 15 / 16, 1 - 2 ** -l]) units.push(Math.floor(2 ** l * (1 + f)));
    }
    const sizes = [...new Set(units)].sort((x, y) => x - y).map((u) => u * 64);
    const maxBytes = 2 ** 32;
    for (const A of sizes.filter((n) => n + 128 <= maxBytes)) {
      const a = new Arena(virtualMemory(1, 65536), 0, maxBytes);
      const x = a.alloc(A - SLACK);
      a.alloc(10);
      a.free(x);
      for (const B of sizes) {
        if (B <= A) {
          const p = a.alloc(B - SLACK);
          expect(p).toBe(x);
          a.free(p);
        } else if (B <= maxBytes - a.top) {
          const p = a.alloc(B - SLACK);
          expect(p).toBe(a.top - B);
          a.free(p);
        } else {
          expect(() => a.alloc(B - SLACK)).toThrow(RangeError);
        }
      }
      expect(a.freeBytes).toBe(A);
    }
  });

  it('grows shared memory by whole pages, only when needed', () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 8, shared: true } as WebAssembly.MemoryDescriptor);
    const a = new Arena(mem, 1024, 8 * PAGE);
    const p = a.alloc(2 * PAGE);       // [1024, 132160)
    expect(a.memoryBytes).toBe(3 * PAGE);
    expect(a.buffer).toBe(mem.buffer);
    a.free(p);
    a.alloc(3 * PAGE - 2048);          // up to 195648
    expect(a.memoryBytes).toBe(3 * PAGE);
    a.alloc(PAGE);
    expect(a.memoryBytes).toBe(4 * PAGE);  // up to 261248
    expect(a.buffer).toBe(mem.buffer);
  });

  it('throws on freeing a block twice or one it never gave out', () => {
    const a = arena(1);
    const p = a.alloc(64);
    expect(() => a.free(p + 64)).toThrow(/free of unknown block/);
    a.free(p);
    expect(() => a.free(p)).toThrow(/free of unknown block/);
  });
});

describe('Arena.quarantine', () => {
  it('a block freed while in quarantine is not reused or merged until the promise settles', async () => {
    const a = arena(4);
    const before = a.alloc(1000);
    const out = a.alloc(1000);
    const after = a.alloc(1000);
    const worker = deferred();
    a.quarantine(out, worker.promise);
    a.free(out);
    expect(a.heldBytes).toBe(1088);
    expect(a.liveBytes).toBe(2 * 1088);
    a.free(before);
    a.free(after);
    // Neither the block nor a range across it is handed out; the top stays above it.
    expect(a.top).toBe(out + 1088);
    expect(a.freeBytes).toBe(1088);
    expect(a.largestFree).toBe(4 * PAGE - out - 1088);
    expect(a.alloc(1000)).toBe(before);
    expect(a.alloc(1000)).toBe(out + 1088);
    expect(a.alloc(2000)).toBe(out + 2 * 1088);
    expect(() => a.free(out)).toThrow(/free of unknown block/);
    worker.resolve();
    await flush();
    expect(a.heldBytes).toBe(0);
    expect(a.alloc(1000)).toBe(out);
  });

  it('a block already free when quarantined is taken out of its free range until then; a rejection also ends it', async () => {
    const a = arena(4);
    const p = a.alloc(4000), q = a.alloc(4000), r = a.alloc(4000);
    a.alloc(10);
    a.free(p); a.free(q); a.free(r);     // one free range [p, r + 4096)
    const worker = deferred();
    a.quarantine(q, worker.promise, 4000);
    expect(a.heldBytes).toBe(4096);
    expect(a.freeBytes).toBe(2 * 4096);
    expect(a.largestFree).toBe(4 * PAGE - a.top);
    const top = a.top;
    expect(a.alloc(8000)).toBe(top);   // no room below: at the top
    expect([a.alloc(4000), a.alloc(4000)].sort((x, y) => x - y)).toEqual([p, r]);
    // A range that is in use again cannot be quarantined as free.
    expect(() => a.quarantine(p + 64, worker.promise, 10)).toThrow(/not a free block/);
    worker.reject(new Error('exited'));
    await flush();
    expect(a.heldBytes).toBe(0);
    expect(a.alloc(4000)).toBe(q);
  });

  it('above the top, a freed block is kept and the top raised to cover it', async () => {
    const a = arena(4);
    const p = a.alloc(100), q = a.alloc(5000);
    a.free(q);
    a.free(p);
    expect(a.top).toBe(0);
    const worker = deferred();
    a.quarantine(q, worker.promise, 5000);
    expect(a.top).toBe(q + 5120);
    expect(a.freeBytes).toBe(192);
    expect(a.alloc(100)).toBe(p);
    a.free(p);
    worker.resolve();
    await flush();
    expect(a.top).toBe(0);
    expect(a.freeBytes).toBe(0);
  });

  it('two quarantines of one block: it comes back after both; one that ends while the block is in use changes nothing', async () => {
    const a = arena(4);
    const p = a.alloc(100);
    const w1 = deferred(), w2 = deferred(), w3 = deferred();
    a.quarantine(p, w1.promise);
    a.quarantine(p, w2.promise);
    a.free(p);
    w1.resolve();
    await flush();
    expect(a.heldBytes).toBe(192);
    w2.resolve();
    await flush();
    expect(a.heldBytes).toBe(0);
    expect(a.top).toBe(0);
    const q = a.alloc(100);
    a.quarantine(q, w3.promise);
    w3.resolve();
    await flush();
    a.free(q);
    expect(a.heldBytes).toBe(0);
    expect(a.top).toBe(0);
  });
});

describe('fragmentation through the engine', () => {
  it('with 64 bytes of tensors left between freed ones, a 2 MiB tensor fits; a refusal names the largest range', async () => {
    await init({ threads: 1, maxMemoryMB: 16 });
    const arena = (currentBackend() as WasmBackend).arena;
    expect(memory().tensors).toBe(0);
    // Fill the memory with 1 MiB tensors, put a small one in the last one's place, free the big ones.
    const big: Tensor[] = [];
    for (;;) {
      try { big.push(zeros([262144])); } catch (e) { expect(e).toBeInstanceOf(RangeError); break; }
    }
    expect(big.length).toBeGreaterThan(12);
    big.pop()!.dispose();
    const small = zeros([16]);
    for (const t of big) t.dispose();
    expect(memory().bytes).toBe(64);
    // Less than 2 MiB is left above the small tensor: the freed ones must have merged.
    expect(16 * 2 ** 20 - arena.top).toBeLessThan(2 * 2 ** 20);
    const t = zeros([524288]);
    expect(t.data()[524287]).toBe(0);
    t.dispose();
    // The largest free range is taken whole, and one float more is refused with the numbers.
    const largest = arena.largestFree;
    expect(largest).toBeGreaterThan(12 * 2 ** 20);
    const whole = zeros([(largest - SLACK) / 4]);
    whole.dispose();
    const floats = (largest - SLACK) / 4 + 32;
    expect(() => zeros([floats])).toThrow(new RegExp(
      `^zeros: output of shape \\[${floats}\\]: cannot allocate ${floats * 4} bytes: the largest free range is ${largest} bytes \\(${arena.freeBytes + 16 * 2 ** 20 - arena.top} free in all, ${arena.liveBytes} in use, 16777216-byte maximum\\)${MEMORY_HINT}$`));
    small.dispose();
    expect(memory().bytes).toBe(0);
  });
});

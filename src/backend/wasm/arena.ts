/** Alignment of every block (a cache line, and enough for v128). */
export const ALIGN = 64;
/** Readable bytes past the end of every block: SIMD tiles may load (never store) a few floats past a row. */
export const SLACK = 64;
const PAGE = 65536;

/** Bytes a block for a request of `bytes` takes: the request and SLACK, rounded up to ALIGN. */
export function blockBytes(bytes: number): number {
  return Math.ceil((Math.max(bytes, 1) + SLACK) / ALIGN) * ALIGN;
}

// States of a span.
const LIVE = 0;  // a block handed out by alloc
const FREE = 1;  // a free range, in the list of its size class
const HELD = 2;  // a freed block in quarantine: neither in use nor free
const DEAD = 3;  // not a span any more (merged away, or above the top); kept for reuse at its offset

/**
 * Free ranges are kept in size classes: one per size below 8 KiB (128 units
 * of 64 bytes), then 16 per power of two, up to 4 GiB.
 */
const EXACT = 128;
const CLASSES = EXACT + (26 - 7 + 1) * 16;
/** How many of the latest free ranges of its class an allocation looks at for the best fit. */
const SCAN = 32;

/**
 * The smallest free span of `size` bytes or more among `limit` spans from
 * `from` on, older and older (the first of exactly `size`, if any).
 */
function bestFrom(from: Span | null, size: number, limit: number): Span | undefined {
  let r: Span | undefined;
  for (let f = from; f !== null && limit > 0; f = f.older, limit--) {
    if (f.size === size) return f;
    if (f.size > size && (r === undefined || f.size < r.size)) r = f;
  }
  return r;
}

/** The class of a size (a multiple of 64, at most 4 GiB). */
function classOf(size: number): number {
  const u = size / ALIGN;
  if (u < EXACT) return u;
  const log = 31 - Math.clz32(u);
  return EXACT + (log - 7) * 16 + ((u >>> (log - 4)) & 15);
}

/**
 * A block or a free range. The spans below the top tile it and are linked in
 * address order. A span object keeps its start offset for life (its size and
 * state change in place), so `spans.get(start)` is undefined or a span with
 * that start; a DEAD one there is reused when a new span begins at it.
 */
class Span {
  /** The neighbours in address order (null: none below / this is the highest). */
  prev: Span | null = null;
  next: Span | null = null;
  /** The neighbours in the list of its size class while FREE. */
  newer: Span | null = null;
  older: Span | null = null;
  /** Quarantines not yet over. */
  holds = 0;
  constructor(readonly start: number, public size: number, public state: number) {}
}

/**
 * Allocator over a `WebAssembly.Memory` (shared or not), owned by JS.
 *
 * Blocks are 64-byte aligned and take the request plus SLACK readable bytes,
 * rounded up to 64 ({@link blockBytes}). Below the top, every byte is in a
 * live block, a free range or a block in quarantine. Freeing a block merges
 * it with the free ranges on both sides; a free range that would reach the
 * top lowers the top instead. `alloc` looks for a free range in the class of
 * its size (one class per size under 8 KiB, sixteen per power of two above):
 * the same size if one was freed lately (the common case: the same sizes come
 * back every training step; the last freed is reused first), else the
 * smallest of the latest 32 that fits; else any free range of the next
 * non-empty class, all of which fit; else it raises the top, growing the
 * memory (between kernel calls only, by whole 64 KiB pages) when the top
 * passes its end. So a request fails only when neither a free range nor the
 * room above the top (up to `maxBytes`) can hold it; the RangeError then says
 * how much is free in all and in the largest range. A free range is split
 * when taken, and what is left of it stays free.
 *
 * Costs: free is one map look-up and a few links; alloc looks at most at 32
 * ranges of its class and searches a 448-bit bitmap. Only when that finds
 * nothing are the older ranges of its class looked at before the top.
 *
 * @example
 * const arena = new Arena(new WebAssembly.Memory({ initial: 1, maximum: 100 }), 1024, 100 * 65536);
 * const a = arena.alloc(4000);   // byte offset, 64-aligned; the block is 4096 bytes
 * const b = arena.alloc(4000);
 * const c = arena.alloc(100);
 * arena.free(a); arena.free(b);  // one free range of 8192 bytes below c
 * arena.alloc(8000) === a;       // true
 * arena.quarantine(c, worker.terminate()); // c is not reused until the worker has exited
 * arena.free(c);
 */
export class Arena {
  /** Offset of the first block: `base` rounded up to ALIGN. */
  readonly start: number;
  private _top: number;
  /** The highest span (it ends at the top), null when there is none. */
  private last: Span | null = null;
  /**
   * start -> span. Nothing is deleted from it (V8 maps slow down when the same
   * keys are deleted and set again); stale entries are DEAD and swept now and then.
   */
  private spans = new Map<number, Span>();
  /** The latest free span of each size class (the others follow by `older`). */
  private readonly latest: Array<Span | null> = Array.from({ length: CLASSES }, () => null);
  /** Bit c: whether class c has free spans. */
  private readonly nonEmpty = new Uint32Array(CLASSES >>> 5);
  /** Spans not DEAD. */
  private count = 0;
  private _buffer: ArrayBufferLike;
  private _live = 0;
  private _free = 0;
  private _held = 0;

  constructor(readonly memory: WebAssembly.Memory, readonly base: number, readonly maxBytes: number) {
    if (!(maxBytes <= 2 ** 32)) throw new RangeError(`wasmconv: internal error: a maximum of ${maxBytes} bytes is more than a 32-bit memory holds`);
    this.start = this._top = Math.ceil(base / ALIGN) * ALIGN;
    this._buffer = memory.buffer;
  }

  /** The current `memory.buffer`; changes only when this arena grows the memory. */
  get buffer(): ArrayBufferLike { return this._buffer; }
  /** Bytes in live blocks. */
  get liveBytes(): number { return this._live; }
  /** Bytes of the memory itself. */
  get memoryBytes(): number { return this._buffer.byteLength; }
  /** Bytes in free ranges below the top (the room above the top is not counted). */
  get freeBytes(): number { return this._free; }
  /** Bytes in freed blocks still in quarantine. */
  get heldBytes(): number { return this._held; }
  /** End of the highest block in use or in quarantine (`start` when there is none). */
  get top(): number { return this._top; }
  /** The largest contiguous free range, counting the room above the top up to `maxBytes`. */
  get largestFree(): number {
    let largest = Math.max(0, this.maxBytes - this._top);
    for (let w = this.nonEmpty.length - 1; w >= 0; w--) {
      if (this.nonEmpty[w] === 0) continue;
      for (let f = this.latest[w * 32 + 31 - Math.clz32(this.nonEmpty[w])]; f !== null; f = f.older) largest = Math.max(largest, f.size);
      break;
    }
    return largest;
  }

  /** Allocates `bytes` (plus SLACK readable bytes) and returns the byte offset. Throws RangeError when nothing can hold it. */
  alloc(bytes: number): number {
    const size = blockBytes(bytes);
    if (!(size <= this.maxBytes)) throw this.refusal(bytes, size);
    const s = this.fit(size) ?? this.raiseTop(bytes, size);
    s.state = LIVE;
    this._live += size;
    return s.start;
  }

  /** Frees a block returned by `alloc`. Freeing anything else (or twice) throws. */
  free(ptr: number): void {
    const s = this.spans.get(ptr);
    if (s === undefined || s.state !== LIVE) throw new Error(`wasmconv: internal error: free of unknown block ${ptr}`);
    this._live -= s.size;
    if (s.holds !== 0) {
      s.state = HELD;
      this._held += s.size;
    } else {
      this.release(s);
    }
  }

  /**
   * Keeps the block at `ptr` out of reuse until `until` settles (fulfils or
   * rejects): if it is freed before then, or was already free, it stays in
   * quarantine, neither in use nor free, and becomes free (merging with its
   * neighbours) only after. For memory something else may still write to,
   * such as a job's output when the worker running it timed out:
   * `arena.quarantine(ptr, worker.terminate())` (Node's `Worker.terminate()`
   * resolves once the thread has stopped).
   *
   * `bytes` (the size the block was allocated with) is needed only when the
   * block is already free; its range must then still be free, else this throws.
   */
  quarantine(ptr: number, until: PromiseLike<unknown>, bytes?: number): void {
    let s = this.spans.get(ptr);
    if (s === undefined || (s.state !== LIVE && s.state !== HELD)) {
      if (bytes === undefined) throw new Error(`wasmconv: internal error: quarantine of block ${ptr}, which is not in use, without its size`);
      s = this.carve(ptr, blockBytes(bytes));
    }
    const held = s;
    held.holds++;
    const over = (): void => {
      if (--held.holds === 0 && held.state === HELD) {
        this._held -= held.size;
        this.release(held);
      }
    };
    Promise.resolve(until).then(over, over);
  }

  /** Turns a block (just freed, or out of quarantine) into free space: merged with free neighbours, or given back to the top. */
  private release(s: Span): void {
    let keep = s;
    const left = s.prev;
    if (left !== null && left.state === FREE) {
      this.unbin(left);
      this._free -= left.size;
      left.size += s.size;
      this.unlink(s);
      keep = left;
    }
    const right = keep.next;
    if (right === null) {
      // The highest span: lower the top. (Its lower neighbour is not free.)
      this._top = keep.start;
      this.unlink(keep);
      return;
    }
    if (right.state === FREE) {
      this.unbin(right);
      this._free -= right.size;
      keep.size += right.size;
      this.unlink(right);
    }
    keep.state = FREE;
    this.addFree(keep);
  }

  /** Takes a span out of the address list; it becomes DEAD. */
  private unlink(s: Span): void {
    const { prev, next } = s;
    if (prev !== null) prev.next = next;
    if (next !== null) next.prev = prev; else this.last = prev;
    s.prev = s.next = null;
    s.state = DEAD;
    this.count--;
  }

  /** Links a new span `s` right after `p` (null: first) in the address list. */
  private linkAfter(p: Span | null, s: Span): void {
    const next = p === null ? null : p.next;
    s.prev = p;
    s.next = next;
    if (p !== null) p.next = s;
    if (next !== null) next.prev = s; else this.last = s;
  }

  /** Puts a FREE span (with its final size) in its class, as the latest. */
  private addFree(s: Span): void {
    this._free += s.size;
    const c = classOf(s.size);
    const head = this.latest[c];
    if (head === null) this.nonEmpty[c >>> 5] |= 1 << (c & 31);
    else head.newer = s;
    s.older = head;
    s.newer = null;
    this.latest[c] = s;
  }

  /** Takes a FREE span out of its class (the caller fixes `_free` and the state). */
  private unbin(s: Span): void {
    const { newer, older } = s;
    if (older !== null) older.newer = newer;
    if (newer !== null) {
      newer.older = older;
    } else {
      const c = classOf(s.size);
      this.latest[c] = older;
      if (older === null) this.nonEmpty[c >>> 5] &= ~(1 << (c & 31));
    }
    s.newer = s.older = null;
  }

  /** A free range for `size` bytes (see the class comment), split to that size; undefined if none. */
  private fit(size: number): Span | undefined {
    const c = classOf(size);
    let r = bestFrom(this.latest[c], size, SCAN);
    if (r === undefined) {
      // The next class with free ranges: each of them is larger than `size`.
      const words = this.nonEmpty;
      let w = (c + 1) >>> 5;
      let bits = w < words.length ? words[w] & (~0 << ((c + 1) & 31)) : 0;
      while (bits === 0 && ++w < words.length) bits = words[w] | 0;
      if (bits !== 0) {
        r = this.latest[w * 32 + 31 - Math.clz32(bits & -bits)]!;
      } else {
        // None: the older ranges of this class are the last chance before the top.
        let f = this.latest[c];
        for (let i = 0; i < SCAN && f !== null; i++) f = f.older;
        r = bestFrom(f, size, Infinity);
        if (r === undefined) return undefined;
      }
    }
    this.unbin(r);
    this._free -= r.size;
    if (r.size > size) {
      const rest = this.spanAt(r.start + size, r.size - size, FREE);
      this.linkAfter(r, rest);
      this.addFree(rest);
      r.size = size;
    }
    return r;
  }

  /** A new block at the top, growing the memory if needed. */
  private raiseTop(bytes: number, size: number): Span {
    const ptr = this._top;
    const end = ptr + size;
    if (!(end <= this.maxBytes)) throw this.refusal(bytes, size);
    if (end > this._buffer.byteLength) {
      this._buffer = this.memory.buffer;
      if (end > this._buffer.byteLength) {
        const pages = Math.ceil((end - this._buffer.byteLength) / PAGE);
        try {
          this.memory.grow(pages);
        } catch (e) {
          throw this.refusal(bytes, size, `growing the memory by ${pages * PAGE} bytes failed: ${(e as Error).message}`);
        }
        this._buffer = this.memory.buffer;
      }
    }
    this._top = end;
    const s = this.spanAt(ptr, size, LIVE);
    this.linkAfter(this.last, s);
    return s;
  }

  /** The span object for a new span at `start` (the caller links it): the DEAD one there, or a new one. */
  private spanAt(start: number, size: number, state: number): Span {
    let s = this.spans.get(start);
    if (s === undefined) {
      if (this.spans.size > 2 * this.count + 1024) this.sweep();
      s = new Span(start, size, state);
      this.spans.set(start, s);
    } else if (s.state !== DEAD) {
      throw new Error(`wasmconv: internal error: a new block at ${start} overlaps one there`);
    } else {
      s.size = size;
      s.state = state;
    }
    this.count++;
    return s;
  }

  /** Rebuilds the span map without its stale entries. */
  private sweep(): void {
    const spans = new Map<number, Span>();
    for (const [k, s] of this.spans) if (s.state !== DEAD) spans.set(k, s);
    this.spans = spans;
  }

  /** Takes the free bytes [ptr, ptr + size) (inside a free range, or above the top) into quarantine. */
  private carve(ptr: number, size: number): Span {
    const end = ptr + size;
    const notFree = (): Error => new Error(`wasmconv: internal error: cannot quarantine ${size} bytes at ${ptr}: not a free block`);
    if (!(ptr >= this.start && ptr % ALIGN === 0 && end <= this._buffer.byteLength && end <= this.maxBytes)) throw notFree();
    let h: Span;
    if (ptr >= this._top) {
      if (ptr > this._top) {
        const gap = this.spanAt(this._top, ptr - this._top, FREE);
        this.linkAfter(this.last, gap);
        this.addFree(gap);
      }
      h = this.spanAt(ptr, size, HELD);
      this.linkAfter(this.last, h);
      this._top = end;
    } else {
      let r: Span | undefined;
      search: for (const latest of this.latest) {
        for (let f = latest; f !== null; f = f.older) {
          if (f.start <= ptr && end <= f.start + f.size) { r = f; break search; }
        }
      }
      if (r === undefined) throw notFree();
      const rEnd = r.start + r.size;
      this.unbin(r);
      this._free -= r.size;
      if (r.start < ptr) {
        r.size = ptr - r.start;
        this.addFree(r);
        h = this.spanAt(ptr, size, HELD);
        this.linkAfter(r, h);
      } else {
        h = r;
        h.state = HELD;
        h.size = size;
      }
      if (end < rEnd) {
        const tail = this.spanAt(end, rEnd - end, FREE);
        this.linkAfter(h, tail);
        this.addFree(tail);
      }
    }
    this._held += size;
    return h;
  }

  private refusal(bytes: number, size: number, why?: string): RangeError {
    const largest = this.largestFree;
    const room = Math.max(0, this.maxBytes - this._top);
    const reason = why ?? `the largest free range is ${largest} bytes${largest >= bytes ? `, short of the ${size}-byte block the request takes with alignment and slack` : ''}`;
    const held = this._held !== 0 ? `, ${this._held} in quarantine` : '';
    return new RangeError(`wasmconv: cannot allocate ${bytes} bytes: ${reason} (${this._free + room} free in all, ${this._live} in use${held}, ${this.maxBytes}-byte maximum)`);
  }
}

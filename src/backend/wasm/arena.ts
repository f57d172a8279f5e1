/** Alignment of every block (a cache line, and enough for v128). */
export const ALIGN = 64;
/** Readable bytes past the end of every block: SIMD tiles may load (never store) a few floats past a row. */
export const SLACK = 64;
const PAGE = 65536;

/**
 * Allocator over a `WebAssembly.Memory`, owned by JS. Blocks are 64-byte
 * aligned; freed blocks are kept in exact-size free lists and reused; freeing
 * the topmost block lowers the top. The memory grows (between kernel calls
 * only) when no free block fits.
 *
 * @example
 * const arena = new Arena(new WebAssembly.Memory({ initial: 1, maximum: 100 }), 1024, 100 * 65536);
 * const p = arena.alloc(4000); // byte offset, 64-aligned
 * arena.free(p);               // the next alloc(4000) returns p again
 */
export class Arena {
  private top: number;
  private readonly sizes = new Map<number, number>();          // live ptr -> block bytes
  private readonly freeLists = new Map<number, number[]>();    // block bytes -> free ptrs
  private readonly freeByEnd = new Map<number, number>();      // end -> free ptr
  private _buffer: ArrayBufferLike;
  private _live = 0;

  constructor(readonly memory: WebAssembly.Memory, readonly base: number, readonly maxBytes: number) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
    this._buffer = memory.buffer;
  }

  /** The current `memory.buffer`; changes only when this arena grows the memory. */
  get buffer(): ArrayBufferLike { return this._buffer; }
  /** Bytes in live blocks. */
  get liveBytes(): number { return this._live; }
  /** Bytes of the memory itself. */
  get memoryBytes(): number { return this._buffer.byteLength; }

  /** Allocates `bytes` (plus SLACK readable bytes) and returns the byte offset. Throws RangeError past the maximum. */
  alloc(bytes: number): number {
    const size = Math.ceil((Math.max(bytes, 1) + SLACK) / ALIGN) * ALIGN;
    const list = this.freeLists.get(size);
    let ptr: number;
    if (list && list.length > 0) {
      ptr = list.pop()!;
      this.freeByEnd.delete(ptr + size);
    } else {
      ptr = this.top;
      const end = ptr + size;
      if (end > this.maxBytes) {
        throw new RangeError(`wasmconv: cannot allocate ${bytes} bytes: ${this.maxBytes - this.top} of the ${this.maxBytes}-byte maximum memory are free at the top, ${this._live} bytes are in use`);
      }
      if (end > this._buffer.byteLength) {
        const pages = Math.ceil((end - this._buffer.byteLength) / PAGE);
        try {
          this.memory.grow(pages);
        } catch (e) {
          throw new RangeError(`wasmconv: cannot allocate ${bytes} bytes: growing the memory by ${pages * PAGE} bytes failed (${(e as Error).message}); ${this._live} bytes are in use`);
        }
        this._buffer = this.memory.buffer;
      }
      this.top = end;
    }
    this.sizes.set(ptr, size);
    this._live += size;
    return ptr;
  }

  /** Frees a block returned by `alloc`. Freeing an unknown pointer throws. */
  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`wasmconv: internal error: free of unknown block ${ptr}`);
    this.sizes.delete(ptr);
    this._live -= size;
    if (ptr + size === this.top) {
      this.top = ptr;
      // Fold free blocks that now touch the top.
      for (let below = this.freeByEnd.get(this.top); below !== undefined; below = this.freeByEnd.get(this.top)) {
        const bsize = this.top - below;
        const l = this.freeLists.get(bsize)!;
        l.splice(l.lastIndexOf(below), 1);
        this.freeByEnd.delete(this.top);
        this.top = below;
      }
    } else {
      let l = this.freeLists.get(size);
      if (!l) this.freeLists.set(size, (l = []));
      l.push(ptr);
      this.freeByEnd.set(ptr + size, ptr);
    }
  }
}

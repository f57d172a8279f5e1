import type { Block, Fields, Kernel, Params } from './layout';

export type { Block, Buf } from './layout';

/**
 * Geometry of one 2-D convolution, computed once by `conv2dInfo` (src/ops/conv_info.ts)
 * and handed to the kernels of every backend. NCHW input, OIHW weight.
 */
export interface ConvGeometry {
  /** batch */ N: number;
  /** input channels */ C: number;
  /** input height and width */ H: number; W: number;
  /** output channels */ O: number;
  /** kernel height and width */ KH: number; KW: number;
  /** output height and width */ OH: number; OW: number;
  /** stride */ SH: number; SW: number;
  /** zero padding on each side */ PH: number; PW: number;
  /** dilation */ DH: number; DW: number;
  /** groups */ G: number;
}

/** The instruction set of a WebAssembly build. */
export type BuildKind = 'relaxed-simd' | 'simd' | 'no-simd';

/**
 * Everything the op layer uses from a backend: blocks of memory, copies in and
 * out at memory speed, and `run`, the one path by which every op reaches its
 * kernel (a family of the registry, src/backend/registry.ts).
 */
export interface Backend {
  readonly name: 'wasm' | 'reference';
  /** The WebAssembly build, or null for the reference backend. */
  readonly build: BuildKind | 'debug' | null;
  /** Threads kernels run on right now. */
  readonly threads: number;
  /** Bytes a block of `floats` elements occupies (float32 on wasm, float64 on reference). */
  readonly bytesPerElement: number;
  /** Whether `dispose()` was called. */
  readonly disposed: boolean;
  /** Allocates `floats` elements; throws a RangeError naming the bytes when memory is exhausted. */
  alloc(floats: number): Block;
  /** Frees a block from `alloc`, once. */
  free(block: Block): void;
  /** A copy of elements [offset, offset + length) of a block. */
  read(block: Block, offset: number, length: number): Float32Array | Float64Array;
  /** Copies `src` into a block at element `offset`. */
  write(block: Block, offset: number, src: ArrayLike<number>): void;
  /** Runs a kernel family over its work units (split over threads when worth it). */
  run<F extends Fields>(k: Kernel<F>, p: Params<F>): void;
  /** Bytes of backing memory (the WebAssembly memory, or the reference backend's arrays). */
  memoryBytes(): number;
  /** Frees everything and ends every worker the backend started. */
  dispose(): void;
}

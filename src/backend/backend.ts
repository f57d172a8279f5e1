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

/** A tensor's data as a backend stores it. */
export type Storage = WasmStorage | Float64Array;

/** A block of WebAssembly linear memory: byte offset and element count. */
export interface WasmStorage { readonly ptr: number; readonly length: number; }

/**
 * What the op layer needs from a backend: storage and the convolution kernels.
 * Element-wise work happens in JS over `view()`, which both backends provide.
 */
export interface Backend {
  readonly name: 'wasm' | 'reference';
  alloc(length: number): Storage;
  free(s: Storage): void;
  /** A typed-array view of the storage, valid until the next allocation. */
  view(s: Storage): Float32Array | Float64Array;
  conv2dForward(g: ConvGeometry, x: Storage, w: Storage, bias: Storage | null, y: Storage, weightKey?: WeightKey): void;
  conv2dBackwardInput(g: ConvGeometry, dy: Storage, w: Storage, dx: Storage, weightKey?: WeightKey): void;
  conv2dBackwardWeight(g: ConvGeometry, x: Storage, dy: Storage, dw: Storage): void;
  conv2dBackwardBias(g: ConvGeometry, dy: Storage, db: Storage): void;
  /** Bytes of backing memory (WebAssembly memory size, or JS array bytes). */
  memoryBytes(): number;
}

/** Identifies a weight's contents so that packed copies can be reused: tensor id and version. */
export interface WeightKey { id: number; version: number; }

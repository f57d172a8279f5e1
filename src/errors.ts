/**
 * Error classes thrown by wasmconv. Every message names the function and the
 * offending values, e.g. `conv2d: input has 3 channels but weight expects 4 (weight shape [8, 4, 3, 3])`.
 *
 * - `ShapeError`: shapes or ranks that do not fit together.
 * - `TypeError` / `RangeError` (built-in): an argument of the wrong type, or a number out of range.
 * - `DisposedError`: a tensor used after `dispose()`.
 * - `NotInitializedError`: an op called before `await init()`.
 * - `InitError`: `init` with other options while another `init` is in flight or tensors are live.
 * - `AutogradError`: a gradient that cannot be computed (no graph, a disposed or modified saved tensor).
 * - `BackendError`: the WebAssembly backend or its worker pool failed; the engine recovers.
 * - `StateDictError`: a state dict that does not fit a model (missing or unexpected keys, other shapes).
 * - `SafetensorsError`: bytes that are not a valid safetensors file.
 * - `CheckpointError`: a checkpoint that does not fit what it is restored into.
 */
export class WasmconvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes or ranks that do not fit together. */
export class ShapeError extends WasmconvError {}

/** A tensor was used after `dispose()`. */
export class DisposedError extends WasmconvError {}

/** An operation that needs the engine was called before `await init()`. */
export class NotInitializedError extends WasmconvError {}

/** `init` with other options while another `init` is in flight or tensors are live (pass `replace: true`). */
export class InitError extends WasmconvError {}

/** A gradient that cannot be computed: no graph, a freed graph, a disposed or modified saved tensor. */
export class AutogradError extends WasmconvError {}

/** The WebAssembly backend or one of its workers failed. */
export class BackendError extends WasmconvError {}

/** One entry of a state dict whose shape differs from the model's. */
export interface ShapeMismatch {
  /** The state dict key (`0.weight`). */
  key: string;
  /** The shape in the state dict. */
  got: number[];
  /** The shape in the model. */
  expected: number[];
}

/**
 * A state dict that does not fit a model, as PyTorch's `load_state_dict`
 * reports it: every missing key, unexpected key and shape mismatch at once,
 * as properties and in the message. The model is left unchanged.
 *
 * @example
 * try { model.loadStateDict(dict); } catch (e) {
 *   if (e instanceof StateDictError) e.missingKeys; // ['3.weight', '3.bias']
 * }
 */
export class StateDictError extends WasmconvError {
  constructor(
    message: string,
    /** Keys the model has and the state dict lacks. */
    readonly missingKeys: string[],
    /** Keys the state dict has and the model lacks. */
    readonly unexpectedKeys: string[],
    /** Keys present in both whose shapes differ. */
    readonly shapeMismatches: ShapeMismatch[],
  ) {
    super(message);
  }
}

/**
 * Bytes that are not a valid safetensors file (the message says what is
 * wrong and where); nothing was allocated.
 *
 * @example
 * loadSafetensors(bytes.subarray(0, 100));
 * // SafetensorsError: loadSafetensors: the header length is 1208 bytes, past the end of the file (100 bytes, so at most 92)
 */
export class SafetensorsError extends WasmconvError {}

/**
 * A checkpoint that does not fit what it is restored into (another
 * optimizer, a loader it does not hold, other Dropout layers); nothing was changed.
 *
 * @example
 * restoreCheckpoint(checkpoint({ model, optimizer: adamw }), { model, optimizer: sgd });
 * // CheckpointError: restoreCheckpoint: the checkpoint holds the state of optimizer AdamW, not of SGD
 */
export class CheckpointError extends WasmconvError {}

/** Formats a shape for messages: `[2, 3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

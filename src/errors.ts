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

/** Formats a shape for messages: `[2, 3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Op plumbing, shared by every op: operand checks, dimension arguments,
 * output creation, running a kernel with cleanup on failure, and recording the
 * backward closure. An op function validates private copies of its arguments,
 * computes its shapes once, then calls `output`, `run` and `record`.
 */
import type { Backend } from '../backend/backend';
import type { Buf, Fields, Kernel, Params } from '../backend/layout';
import { describe, isGradEnabled, renamed } from '../engine';
import { BackendError } from '../errors';
import { Tensor, empty, type GradFn } from '../tensor';

/** A tensor or a plain number (a scalar, rounded to float32 as PyTorch does with Python numbers). */
export type Operand = Tensor | number;

/** @internal A live tensor argument; throws TypeError or DisposedError otherwise. */
export function tensorArg(x: unknown, fn: string, name: string): Tensor {
  if (x instanceof Tensor) return x.check(fn).checkShape(fn);
  throw new TypeError(`${fn}: ${name} must be a Tensor, got ${describe(x)}`);
}

/** @internal A live tensor or a number. */
export function operand(x: unknown, fn: string, name: string): Operand {
  if (typeof x === 'number') return x;
  if (x instanceof Tensor) return x.check(fn).checkShape(fn);
  throw new TypeError(`${fn}: ${name} must be a Tensor or a number, got ${describe(x)}`);
}

/** @internal A number argument (finite unless `finite` is false). */
export function numberArg(x: unknown, fn: string, name: string, finite = true): number {
  if (typeof x !== 'number' || (finite && !Number.isFinite(x))) {
    throw new TypeError(`${fn}: ${name} must be a ${finite ? 'finite ' : ''}number, got ${describe(x)}`);
  }
  return x;
}

/** @internal A boolean argument with a default. */
export function boolArg(x: unknown, fn: string, name: string, dflt: boolean): boolean {
  if (x === undefined) return dflt;
  if (typeof x !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean, got ${describe(x)}`);
  return x;
}

/** @internal The backend shared by the tensors among `xs`; TypeError when they differ. */
export function sameBackend(fn: string, ...xs: Operand[]): Backend | null {
  let first: Tensor | null = null;
  for (const x of xs) {
    if (!(x instanceof Tensor)) continue;
    if (first && x.backend !== first.backend) throw new TypeError(`${fn}: tensors #${first.id} and #${x.id} live on different backends`);
    first = first ?? x;
  }
  return first ? first.backend : null;
}

/** @internal A dimension argument in [-ndim, ndim), returned in [0, ndim). */
export function dimArg(d: unknown, ndim: number, fn: string, name = 'dim'): number {
  const lo = -Math.max(ndim, 1), hi = Math.max(ndim, 1) - 1;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < lo || d > hi) {
    throw new RangeError(`${fn}: ${name} must be an integer in [${lo}, ${hi}] for a ${ndim}-d tensor, got ${typeof d === 'number' ? d : describe(d)}`);
  }
  return d < 0 ? d + Math.max(ndim, 1) : d;
}

/** @internal Dimension arguments (a number or an array, read once), sorted and unique; null or undefined: all. */
export function dimsArg(dims: unknown, ndim: number, fn: string): number[] {
  if (dims === undefined || dims === null) return allDims(ndim);
  if (typeof dims === 'number') return [dimArg(dims, ndim, fn)];
  if (!Array.isArray(dims)) throw new TypeError(`${fn}: dim must be an integer or an array of integers, got ${describe(dims)}`);
  const n = dims.length;
  const copy = new Array<unknown>(n);
  for (let i = 0; i < n; i++) copy[i] = dims[i];
  // PyTorch reduces over every dimension for an empty list.
  if (n === 0) return allDims(ndim);
  const out = copy.map((d) => dimArg(d, ndim, fn));
  const seen = new Set<number>();
  for (const d of out) {
    if (seen.has(d)) throw new RangeError(`${fn}: dim ${d} appears more than once in [${copy.join(', ')}]`);
    seen.add(d);
  }
  return out.sort((a, b) => a - b);
}

function allDims(ndim: number): number[] {
  const out = new Array<number>(ndim);
  for (let i = 0; i < ndim; i++) out[i] = i;
  return out;
}

/** @internal A new output tensor (the allocation failure names `fn`). */
export function output(shape: readonly number[], fn: string): Tensor {
  return empty(shape, fn);
}

/**
 * @internal Runs a kernel. On failure the tensors in `made` (the op's outputs
 * so far) are freed, so a failed op leaves memory as it was; a backend error
 * is prefixed with the op's name.
 */
export function run<F extends Fields>(be: Backend, k: Kernel<F>, p: Params<F>, fn: string, made: Tensor | readonly Tensor[] | null): void {
  try {
    be.run(k, p);
  } catch (e) {
    if (made instanceof Tensor) made.dispose();
    else if (made) for (const t of made) t.dispose();
    if (e instanceof BackendError && !e.message.startsWith(`${fn}:`)) throw new BackendError(`${fn}: ${e.message}`);
    throw e;
  }
}

/** @internal Whether an op with these inputs records a gradient. */
export function needsGrad(xs: readonly Operand[]): boolean {
  if (!isGradEnabled()) return false;
  for (let i = 0; i < xs.length; i++) { const x = xs[i]; if (x instanceof Tensor && x.requiresGrad) return true; }
  return false;
}

/**
 * @internal Records how `out` was made, when any input requires grad and grad
 * mode is on: its inputs, the tensors its backward reads (checked against
 * their versions when backward runs), and the backward closure, which returns
 * one gradient (or null) per input. Returns `out`.
 */
export function record(out: Tensor, name: string, inputs: readonly Operand[], saved: readonly Tensor[],
                       backward: (g: Tensor) => Array<Tensor | null>): Tensor {
  if (!needsGrad(inputs)) return out;
  let ins = inputs as readonly Tensor[];
  if (!inputs.every((x) => x instanceof Tensor)) ins = inputs.filter((x): x is Tensor => x instanceof Tensor);
  const versions = new Array<number>(saved.length);
  for (let i = 0; i < saved.length; i++) versions[i] = saved[i].version;
  const ctx: GradFn = { name, inputs: ins, saved, versions, backward };
  out.requiresGrad = true;
  out._ctx = ctx;
  return out;
}


/** t.storage.derive (a packed copy cached on the storage) with an allocation refused named after the op and what was packed. */
export function derived(t: Tensor, key: string, floats: number, fill: (dst: Buf) => void, what: string, fn: string): Buf {
  try {
    return t.storage.derive(key, floats, fill);
  } catch (e) {
    throw renamed(e, fn, `packed copy of ${what}`);
  }
}

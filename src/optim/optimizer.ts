import { Tensor } from '../tensor';

/** Checks a parameter list and a learning rate the way every optimizer does. */
export function checkParams(params: unknown, fn: string): Tensor[] {
  if (!Array.isArray(params)) throw new TypeError(`${fn}: params must be an array of tensors, got ${String(params)}`);
  if (params.length === 0) throw new RangeError(`${fn}: got an empty parameter list`);
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${fn}: params[${i}] is not a Tensor`);
    p.check(fn);
    if (!p.requiresGrad) throw new RangeError(`${fn}: params[${i}] (tensor #${p.id}, shape [${p.shape.join(', ')}]) does not require grad`);
  });
  return [...params];
}

export function checkNumber(v: unknown, name: string, fn: string, min: number, max = Infinity, maxInclusive = true): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || (maxInclusive ? v > max : v >= max)) {
    throw new RangeError(`${fn}: ${name} must be a number in [${min}, ${max}${maxInclusive ? ']' : ')'}, got ${String(v)}`);
  }
  return v;
}

/** What `fit` needs from an optimizer. */
export interface Optimizer {
  readonly params: readonly Tensor[];
  /** Applies one update from the parameters' `.grad` (parameters without a gradient are skipped). */
  step(): void;
  /** Drops the parameters' gradients (sets them to null). */
  zeroGrad(): void;
}

export function zeroGrads(params: readonly Tensor[]): void {
  for (const p of params) if (p.grad) { p.grad.dispose(); p.grad = null; }
}

/** Per-parameter state buffer: a plain Float32Array (float32 arithmetic, as PyTorch). */
export type Buffer = Float32Array;

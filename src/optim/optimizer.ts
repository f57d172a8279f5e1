import { describe, keep } from '../engine';
import { DisposedError } from '../errors';
import { Tensor, zeros } from '../tensor';

/** Checks a parameter list the way every optimizer does, and copies it. */
export function checkParams(params: unknown, fn: string): Tensor[] {
  if (!Array.isArray(params)) throw new TypeError(`${fn}: params must be an array of tensors, got ${describe(params)}`);
  const n = params.length;
  const out = new Array<Tensor>(n);
  for (let i = 0; i < n; i++) out[i] = params[i];
  if (n === 0) throw new RangeError(`${fn}: got an empty parameter list`);
  out.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${fn}: params[${i}] is not a Tensor, got ${describe(p)}`);
    p.check(fn);
    if (!p.requiresGrad) throw new RangeError(`${fn}: params[${i}] (tensor #${p.id}, shape [${p.shape.join(', ')}]) does not require grad`);
  });
  if (new Set(out).size !== n) throw new RangeError(`${fn}: a parameter appears more than once in the list`);
  return out;
}

/** A number option in [min, max] (or [min, max) when `maxInclusive` is false). */
export function checkNumber(v: unknown, name: string, fn: string, min: number, max = Infinity, maxInclusive = true): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || (maxInclusive ? v > max : v >= max)) {
    throw new RangeError(`${fn}: ${name} must be a number in [${min}, ${max}${maxInclusive ? ']' : ')'}, got ${describe(v)}`);
  }
  return v;
}

/**
 * Before a step changes anything: every parameter and gradient must be usable
 * (DisposedError names the first that is not). Returns the parameters that
 * have a gradient.
 */
export function stepParams(params: readonly Tensor[], fn: string): Tensor[] {
  const out: Tensor[] = [];
  params.forEach((p, i) => {
    if (p.isDisposed) throw new DisposedError(`${fn}: params[${i}] (tensor #${p.id}, shape [${p.shape.join(', ')}]) was disposed`);
    if (!p.grad) return;
    if (p.grad.isDisposed) throw new DisposedError(`${fn}: the gradient of params[${i}] (tensor #${p.id}) was disposed`);
    if (p.grad.size !== p.size) throw new RangeError(`${fn}: the gradient of params[${i}] has ${p.grad.size} elements, the parameter ${p.size}`);
    out.push(p);
  });
  return out;
}

/**
 * Per-parameter state tensors (momentum buffers, moments), made before a step
 * changes anything: when one cannot be allocated, those made for this step are
 * freed and nothing changes.
 */
export function ensureState<S>(state: Map<Tensor, S>, params: readonly Tensor[], make: (p: Tensor) => S, tensorsOf: (s: S) => Tensor[]): void {
  const made: Tensor[] = [];
  try {
    for (const p of params) {
      if (state.has(p)) continue;
      const s = make(p);
      made.push(...tensorsOf(s));
      state.set(p, s);
    }
  } catch (e) {
    for (const [p, s] of state) if (tensorsOf(s).some((t) => made.includes(t))) state.delete(p);
    for (const t of made) t.dispose();
    throw e;
  }
}

/** A zero tensor like p that lives until the optimizer drops it. */
export function stateLike(p: Tensor): Tensor { return keep(zeros(p.shape)); }

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

import { describe, keep, tidy } from '../engine';
import { DisposedError, ShapeError, fmtShape } from '../errors';
import { Tensor, zeros } from '../tensor';

/** A group of parameters with its own options, as PyTorch's `[{ params, lr }]`. */
export type ParamGroupSpec<O> = { params: readonly Tensor[] } & Partial<O>;

/** A parameter group as the optimizer holds it: its tensors and every option (mutable, e.g. `lr` by a scheduler). */
export type ParamGroup<O> = { readonly params: readonly Tensor[] } & O;

/** An optimizer's state, as PyTorch's `state_dict()`: per-parameter state by index, and the groups' options. */
export interface OptimizerStateDict {
  state: Record<number, Record<string, Tensor | number>>;
  param_groups: Array<Record<string, unknown> & { params: number[] }>;
}

/** A number option in [min, max] (or [min, max) when `maxInclusive` is false). */
export function checkNumber(v: unknown, name: string, fn: string, min: number, max = Infinity, maxInclusive = true): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || (maxInclusive ? v > max : v >= max)) {
    throw new RangeError(`${fn}: ${name} must be a number in [${min}, ${max}${maxInclusive ? ']' : ')'}, got ${describe(v)}`);
  }
  return v;
}

/** Checks a list of parameters (each a live tensor that requires grad, none repeated) and copies it. */
function checkTensors(params: unknown, fn: string, where: string): Tensor[] {
  if (!Array.isArray(params)) throw new TypeError(`${fn}: ${where} must be an array of tensors, got ${describe(params)}`);
  const n = params.length;
  const out = new Array<Tensor>(n);
  for (let i = 0; i < n; i++) out[i] = params[i];
  out.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${fn}: ${where}[${i}] is not a Tensor, got ${describe(p)}`);
    p.check(fn);
    if (!p.requiresGrad) throw new RangeError(`${fn}: ${where}[${i}] (tensor #${p.id}, shape [${p.shape.join(', ')}]) does not require grad`);
  });
  return out;
}

/**
 * The base of every optimizer: parameter groups with their own options,
 * per-parameter state, `zeroGrad`, and `stateDict`/`loadStateDict` with
 * PyTorch's layout. A step validates every parameter before it changes any.
 */
export abstract class Optimizer<O extends object = object> {
  /** The groups with their options; a scheduler changes `lr` here. */
  readonly paramGroups: Array<ParamGroup<O>>;
  /** @internal Per-parameter state tensors and counters. */
  protected readonly state = new Map<Tensor, Record<string, Tensor | number>>();

  protected constructor(params: readonly Tensor[] | ReadonlyArray<ParamGroupSpec<O>>, defaults: O, readonly name: string) {
    if (!Array.isArray(params)) throw new TypeError(`${name}: params must be an array of tensors or of parameter groups, got ${describe(params)}`);
    if (params.length === 0) throw new RangeError(`${name}: got an empty parameter list`);
    const specs: ReadonlyArray<ParamGroupSpec<O>> = params.every((p) => p instanceof Tensor)
      ? [{ params: params as readonly Tensor[] } as ParamGroupSpec<O>]
      : (params as ReadonlyArray<ParamGroupSpec<O>>);
    const all = new Set<Tensor>();
    this.paramGroups = specs.map((spec, g) => {
      if (spec === null || typeof spec !== 'object' || spec instanceof Tensor) {
        throw new TypeError(`${name}: params must be all tensors or all parameter groups ({ params, ...options }); item ${g} is ${describe(spec)}`);
      }
      const tensors = checkTensors(spec.params, name, specs.length > 1 ? `paramGroups[${g}].params` : 'params');
      if (tensors.length === 0) throw new RangeError(`${name}: parameter group ${g} is empty`);
      for (const t of tensors) {
        if (all.has(t)) throw new RangeError(`${name}: tensor #${t.id} appears in more than one place among the parameters`);
        all.add(t);
      }
      const opts: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
      for (const [k, v] of Object.entries(spec)) {
        if (k === 'params') continue;
        if (!(k in defaults)) throw new RangeError(`${name}: unknown option ${JSON.stringify(k)} in parameter group ${g}`);
        if (v !== undefined) opts[k] = v;
      }
      return Object.assign({}, this.validate(opts as O, name), { params: tensors }) as ParamGroup<O>;
    });
  }

  /** Every parameter, in group order. */
  get params(): readonly Tensor[] { return this.paramGroups.flatMap((g) => g.params); }

  /** Applies one update from the parameters' `.grad` (parameters without a gradient are skipped). */
  abstract step(): void;

  /** Drops the parameters' gradients (sets them to null, freeing them). */
  zeroGrad(): void {
    for (const p of this.params) if (p.grad) { p.grad.dispose(); p.grad = null; }
  }

  /**
   * Before a step changes anything: every parameter and gradient must be
   * usable (DisposedError names the first that is not). Returns, per group,
   * the parameters that have a gradient.
   */
  protected ready(fn: string): Tensor[][] {
    let i = 0;
    return this.paramGroups.map((g) => g.params.filter((p) => {
      const at = i++;
      if (p.isDisposed) throw new DisposedError(`${fn}: params[${at}] (tensor #${p.id}, shape [${p.shape.join(', ')}]) was disposed`);
      if (!p.grad) return false;
      if (p.grad.isDisposed) throw new DisposedError(`${fn}: the gradient of params[${at}] (tensor #${p.id}) was disposed`);
      if (p.grad.size !== p.size) throw new ShapeError(`${fn}: the gradient of params[${at}] has shape ${fmtShape(p.grad.shape)}, the parameter ${fmtShape(p.shape)}`);
      return true;
    }));
  }

  /**
   * Per-parameter state, made before a step changes anything: `make` builds
   * the state of a parameter that has none. When an allocation fails, the state
   * made for this step is freed and nothing changes.
   */
  protected ensureState(params: readonly Tensor[], make: (p: Tensor) => Record<string, Tensor | number>): Set<Tensor> {
    const made: Tensor[] = [];
    const added: Tensor[] = [];
    try {
      for (const p of params) {
        if (this.state.has(p)) continue;
        // Made in a scope: tensors of a state that fails halfway are freed by it.
        const s = tidy(() => make(p));
        for (const v of Object.values(s)) if (v instanceof Tensor) { keep(v); made.push(v); }
        this.state.set(p, s);
        added.push(p);
      }
    } catch (e) {
      for (const p of added) this.state.delete(p);
      for (const t of made) t.dispose();
      throw e;
    }
    return new Set(added);
  }

  /** Checks a group's options, with messages naming `fn`. */
  protected abstract validate(o: O, fn: string): O;

  /** The group options as PyTorch names them in `param_groups` (snake_case). */
  protected abstract groupForDict(g: ParamGroup<O>): Record<string, unknown>;
  /** Group options back from a state dict's `param_groups` entry. */
  protected abstract groupFromDict(d: Record<string, unknown>): Partial<O>;

  /**
   * The state as PyTorch's `optimizer.state_dict()` lays it out: `state` by
   * parameter index (the optimizer's own tensors, not copies; step counts as
   * numbers) and `param_groups` with each group's options and parameter indices.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    this.params.forEach((p, i) => index.set(p, i));
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) if (index.has(p)) state[index.get(p)!] = { ...s };
    let i = 0;
    const groups = this.paramGroups.map((g) => Object.assign({}, this.groupForDict(g), { params: g.params.map(() => i++) }));
    return { state, param_groups: groups };
  }

  /**
   * Loads a state dict made by `stateDict()` (or by PyTorch, with its names):
   * the group options, and copies of the per-parameter state. Checks the
   * groups' sizes and every tensor's shape first; on error nothing changes.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const fn = `${this.name}.loadStateDict`;
    if (dict === null || typeof dict !== 'object' || !Array.isArray(dict.param_groups) || typeof dict.state !== 'object') {
      throw new TypeError(`${fn}: expected { state, param_groups }, got ${describe(dict)}`);
    }
    if (dict.param_groups.length !== this.paramGroups.length) {
      throw new RangeError(`${fn}: the state dict has ${dict.param_groups.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    }
    const params = this.params;
    dict.param_groups.forEach((g, i) => {
      if (!Array.isArray(g.params) || g.params.length !== this.paramGroups[i].params.length) {
        throw new RangeError(`${fn}: parameter group ${i} has ${Array.isArray(g.params) ? g.params.length : 'no'} parameters in the state dict, ${this.paramGroups[i].params.length} in the optimizer`);
      }
    });
    const order = dict.param_groups.flatMap((g) => g.params);
    const incoming = new Map<Tensor, Record<string, Tensor | number>>();
    for (const [k, s] of Object.entries(dict.state)) {
      const at = order.indexOf(Number(k));
      if (at < 0) throw new RangeError(`${fn}: state for parameter ${k}, which no group lists`);
      const p = params[at];
      for (const [name, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          v.check(fn);
          if (v.size !== p.size) throw new ShapeError(`${fn}: ${name} of parameter ${k} has shape ${fmtShape(v.shape)}, the parameter ${fmtShape(p.shape)}`);
        } else if (typeof v !== 'number') throw new TypeError(`${fn}: ${name} of parameter ${k} must be a tensor or a number, got ${describe(v)}`);
      }
      incoming.set(p, s);
    }
    const groups = dict.param_groups.map((g, i) => {
      const { params: _p, ...current } = this.paramGroups[i];
      return this.validate(Object.assign({}, current as unknown as O, this.groupFromDict(g)), fn);
    });
    // Copies first (they may fail on memory); then nothing can fail.
    const copies = new Map<Tensor, Record<string, Tensor | number>>();
    try {
      for (const [p, s] of incoming) {
        const c: Record<string, Tensor | number> = {};
        copies.set(p, c);
        for (const [name, v] of Object.entries(s)) c[name] = v instanceof Tensor ? keep(zeros(p.shape)).assign(v) : v;
      }
    } catch (e) {
      for (const c of copies.values()) for (const v of Object.values(c)) if (v instanceof Tensor) v.dispose();
      throw e;
    }
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    for (const [p, c] of copies) this.state.set(p, c);
    groups.forEach((o, i) => Object.assign(this.paramGroups[i], o));
  }

  /** Frees the optimizer's state tensors. */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }
}

/** A zero tensor like p (for a state; `ensureState` keeps it until the optimizer drops it). */
export function stateLike(p: Tensor): Tensor { return zeros(p.shape); }

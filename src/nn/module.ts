import { describe } from '../engine';
import { StateDictError, fmtShape, type ShapeMismatch } from '../errors';
import { Tensor, view } from '../tensor';

/**
 * A state dict: PyTorch's dotted names (`0.weight`, `1.running_mean`) to
 * tensors, as a plain object whose keys are in PyTorch's order (each module in
 * pre-order: its parameters, then its buffers, then its children). A plain
 * object rather than a Map, so that `dict['0.weight']`, `Object.keys` and
 * `tidy` (which keeps the tensors of a returned object) work as expected;
 * `loadStateDict` also takes a Map.
 */
export type StateDict = Record<string, Tensor>;

/** Options of `Module.loadStateDict`. */
export interface LoadStateDictOptions {
  /** Refuse missing and unexpected keys (default true, as PyTorch). Shape mismatches are refused either way. */
  strict?: boolean;
}

/** What `Module.loadStateDict` reports, as PyTorch's `load_state_dict` (empty lists after a strict load). */
export interface LoadStateDictResult {
  /** Keys of the model that the state dict lacks (left as they were). */
  missingKeys: string[];
  /** Keys of the state dict that the model lacks (ignored). */
  unexpectedKeys: string[];
}

/**
 * The base of every layer and model, as `torch.nn.Module`.
 *
 * A module's parameters, buffers and children are its own properties, found in
 * the order they were assigned (as PyTorch registers attributes): a `Module`
 * value is a child, a `Tensor` a parameter, unless its name was declared a
 * buffer with `registerBuffer` (BatchNorm's `running_mean`, ...). Names are
 * PyTorch's dotted paths (`features.0.weight`), so a state dict moves between
 * this engine and the same `torch.nn.Sequential` without renaming.
 *
 * @example
 * class Net extends nn.Module {
 *   conv = new nn.Conv2d(1, 6, 5, { padding: 2 });
 *   fc = new nn.Linear(6 * 28 * 28, 10);
 *   forward(x: Tensor): Tensor { return this.fc.forward(this.conv.forward(x).relu().flatten(1)); }
 * }
 * const net = new Net();
 * net.namedParameters().map(([name]) => name); // ['conv.weight', 'conv.bias', 'fc.weight', 'fc.bias']
 * String(net);
 * // Net(
 * //   (conv): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
 * //   (fc): Linear(in_features=4704, out_features=10, bias=True)
 * // )
 */
export abstract class Module {
  /** Training mode (true) or evaluation mode (false): see `train()` and `eval()`. */
  training = true;
  /** @internal Names of the properties that are buffers, not parameters. */
  private _buffers?: Set<string>;

  /** The module's output for `x`. */
  abstract forward(x: Tensor): Tensor;

  /** The class name PyTorch prints (`Conv2d`, `Linear`, ...). */
  protected get typeName(): string { return this.constructor.name; }

  /** What PyTorch prints inside the parentheses (its `extra_repr`). */
  protected extraRepr(): string { return ''; }

  /** Declares the property `name` a buffer (state that is not trained), as PyTorch's `register_buffer`. */
  protected registerBuffer(name: string): void {
    (this._buffers ??= new Set()).add(name);
  }

  /** Own properties in assignment order: [name, value] for children, parameters and buffers. */
  private entries(): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = [];
    for (const k of Object.keys(this)) {
      if (k.startsWith('_') || k === 'training') continue;
      const v = (this as Record<string, unknown>)[k];
      if (v instanceof Module || v instanceof Tensor || (v === null && this._buffers?.has(k))) out.push([k, v]);
    }
    return out;
  }

  /** The direct children with their names. */
  namedChildren(): Array<[string, Module]> {
    return this.entries().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  /** The direct children. */
  children(): Module[] { return this.namedChildren().map(([, m]) => m); }

  /** This module and every module below it, with dotted names ('' for this one). */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    const seen = new Set<Module>([this]);
    const walk = (m: Module, p: string): void => {
      for (const [name, c] of m.namedChildren()) {
        if (seen.has(c)) continue;
        seen.add(c);
        const full = p ? `${p}.${name}` : name;
        out.push([full, c]);
        walk(c, full);
      }
    };
    walk(this, prefix);
    return out;
  }

  /** Every parameter with its dotted name (`0.weight`, `features.3.bias`), each tensor once. */
  namedParameters(): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [k, v] of m.entries()) {
        if (!(v instanceof Tensor) || m._buffers?.has(k) || seen.has(v)) continue;
        seen.add(v);
        out.push([prefix ? `${prefix}.${k}` : k, v]);
      }
    }
    return out;
  }

  /** Every parameter (what an optimizer takes). */
  parameters(): Tensor[] { return this.namedParameters().map(([, t]) => t); }

  /** Every buffer with its dotted name (`1.running_mean`, `1.num_batches_tracked`). */
  namedBuffers(): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [k, v] of m.entries()) {
        if (v instanceof Tensor && m._buffers?.has(k)) out.push([prefix ? `${prefix}.${k}` : k, v]);
      }
    }
    return out;
  }

  /** Every buffer. */
  buffers(): Tensor[] { return this.namedBuffers().map(([, t]) => t); }

  /**
   * The module's parameters and buffers (BatchNorm's `running_mean`,
   * `running_var`, `num_batches_tracked`) by PyTorch's dotted names and in
   * PyTorch's order: each module in pre-order, its parameters, then its
   * buffers, then its children; a shared module or parameter appears under
   * every name it has, as in PyTorch (`namedParameters` lists it once).
   *
   * Ownership: each value is a new tensor viewing the same memory as the
   * model's (no copy; detached, not requiring grad), as PyTorch's `state_dict()`
   * values share storage with the model. Writing into one (`assign`) changes the
   * model. The caller owns the views: dispose them (or make the dict inside
   * `tidy`); disposing one never frees the model's tensor, and a view keeps its
   * memory alive after the model is disposed.
   *
   * @example
   * const net = new nn.Sequential(new nn.Conv2d(1, 6, 5), new nn.BatchNorm2d(6));
   * tidy(() => Object.keys(net.stateDict()));
   * // ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']
   * tidy(() => net.stateDict()['0.weight'].shape); // [6, 1, 5, 5]
   */
  stateDict(): StateDict {
    const fn = 'stateDict';
    const entries = this.stateEntries();
    for (const [k, t] of entries) t.check(`${fn}: ${k}`);
    const out: StateDict = {};
    const made: Tensor[] = [];
    try {
      for (const [k, t] of entries) {
        const v = view(t, t.shape, t.size);
        made.push(v);
        // An own property even for a name such as __proto__.
        Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
    } catch (e) {
      for (const v of made) v.dispose();
      throw e;
    }
    return out;
  }

  /**
   * Copies a state dict's values into this module's parameters and buffers,
   * as PyTorch's `load_state_dict`: values must have the model's shapes
   * (Linear's weight is (out, in) as in PyTorch, so no transposes; a 0-d
   * tensor also takes a one-element 1-d value, as PyTorch does for old files).
   * Every key is checked before anything is copied: with `strict` (the
   * default) missing and unexpected keys, and in any mode shape mismatches,
   * are reported together in one `StateDictError` that lists them, and the
   * model is left unchanged. Without `strict`, what matches is loaded and the
   * missing and unexpected keys are returned. The values are read, never
   * modified, and stay the caller's.
   *
   * @example
   * const a = models.lenet({ seed: 0 }), b = models.lenet({ seed: 1 });
   * tidy(() => b.loadStateDict(a.stateDict()));         // { missingKeys: [], unexpectedKeys: [] }; b now computes as a
   * tidy(() => b.loadStateDict({ '0.bias': zeros([6]) }, { strict: false }));
   * // { missingKeys: ['0.weight', '3.weight', ...], unexpectedKeys: [] }
   * b.loadStateDict({ '0.bias': zeros([5]) });
   * // StateDictError: loadStateDict: error(s) in loading the state dict for Sequential:
   * //   Missing key(s) in state_dict: "0.weight", ...
   * //   size mismatch for 0.bias: copying a param with shape [5] from checkpoint, the shape in current model is [6].
   */
  loadStateDict(dict: StateDict | ReadonlyMap<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const fn = 'loadStateDict';
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
    const strict = opts.strict ?? true;
    if (typeof strict !== 'boolean') throw new TypeError(`${fn}: strict must be a boolean, got ${describe(strict)}`);
    const plan = this._planLoad(dict, strict, fn);
    plan.commit();
    return { missingKeys: plan.missingKeys, unexpectedKeys: plan.unexpectedKeys };
  }

  /**
   * @internal `loadStateDict` in two steps: every check (throwing as it
   * does), then `commit()`, which copies the values in and cannot fail. A
   * checkpoint checks the model before it changes anything else.
   */
  _planLoad(dict: unknown, strict: boolean, fn: string): LoadStateDictResult & { commit(): void } {
    let given: Array<[unknown, unknown]>;
    if (dict instanceof Map) given = [...dict.entries()];
    else if (dict !== null && typeof dict === 'object' && !Array.isArray(dict) && !(dict instanceof Tensor)) given = Object.entries(dict);
    else throw new TypeError(`${fn}: expected a state dict (an object or a Map of tensors by name), got ${describe(dict)}`);
    const incoming = new Map<string, Tensor>();
    for (const [k, v] of given) {
      if (typeof k !== 'string') throw new TypeError(`${fn}: state dict keys must be strings, got ${describe(k)}`);
      if (!(v instanceof Tensor)) throw new TypeError(`${fn}: the value of ${JSON.stringify(k)} must be a Tensor, got ${describe(v)}`);
      v.check(`${fn}: ${k}`);
      incoming.set(k, v);
    }
    const own = this.stateEntries();
    const ownKeys = new Set<string>();
    const missing: string[] = [];
    const mismatches: ShapeMismatch[] = [];
    const matched: Array<[Tensor, Tensor]> = [];
    for (const [k, t] of own) {
      t.check(`${fn}: the model's ${k}`);
      ownKeys.add(k);
      const src = incoming.get(k);
      if (src === undefined) { missing.push(k); continue; }
      const same = src.shape.length === t.shape.length && src.shape.every((d, i) => d === t.shape[i]);
      if (same || (t.shape.length === 0 && src.shape.length === 1 && src.shape[0] === 1)) matched.push([t, src]);
      else mismatches.push({ key: k, got: [...src.shape], expected: [...t.shape] });
    }
    const unexpected = [...incoming.keys()].filter((k) => !ownKeys.has(k));
    if (mismatches.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      const lines = [`${fn}: error(s) in loading the state dict for ${this.typeName}:`];
      const keys = (ks: string[]) => ks.map((k) => JSON.stringify(k)).join(', ');
      if (strict && missing.length) lines.push(`\tMissing key(s) in state_dict: ${keys(missing)}.`);
      if (strict && unexpected.length) lines.push(`\tUnexpected key(s) in state_dict: ${keys(unexpected)}.`);
      for (const m of mismatches) {
        lines.push(`\tsize mismatch for ${m.key}: copying a param with shape ${fmtShape(m.got)} from checkpoint, the shape in current model is ${fmtShape(m.expected)}.`);
      }
      throw new StateDictError(lines.join('\n'), strict ? missing : [], strict ? unexpected : [], mismatches);
    }
    const commit = (): void => {
      // Every value is read before any is written, so a dict whose values view
      // the model's own tensors (in any arrangement) loads as it reads.
      const values = matched.map(([, src]) => src.values(fn));
      matched.forEach(([t], i) => {
        t.backend.write(t.storage.block, t.offset, values[i]);
        t.storage.version++;
      });
    };
    return { missingKeys: missing, unexpectedKeys: unexpected, commit };
  }

  /** @internal [dotted name, tensor] of every parameter and buffer, in PyTorch's state dict order. */
  private stateEntries(): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    const onPath = new Set<Module>();
    const walk = (m: Module, prefix: string): void => {
      onPath.add(m);
      const entries = m.entries();
      for (const [k, v] of entries) if (v instanceof Tensor && !m._buffers?.has(k)) out.push([prefix + k, v]);
      for (const [k, v] of entries) if (v instanceof Tensor && m._buffers?.has(k)) out.push([prefix + k, v]);
      for (const [k, v] of entries) if (v instanceof Module && !onPath.has(v)) walk(v, `${prefix}${k}.`);
      onPath.delete(m);
    };
    walk(this, '');
    return out;
  }

  /** Sets training mode on this module and every module below it (Dropout, BatchNorm behave differently). */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new TypeError(`train: mode must be a boolean, got ${describe(mode)}`);
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this { return this.train(false); }

  /** Drops every parameter's gradient (sets it to null, as PyTorch 2 does by default). */
  zeroGrad(): void {
    for (const p of this.parameters()) if (p.grad) { p.grad.dispose(); p.grad = null; }
  }

  /** Freezes (false) or unfreezes (true) every parameter. */
  requiresGrad_(flag = true): this {
    if (typeof flag !== 'boolean') throw new TypeError(`requiresGrad_: flag must be a boolean, got ${describe(flag)}`);
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  /** Frees every parameter and buffer of this module and the modules below it. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const [, v] of m.entries()) if (v instanceof Tensor) v.dispose();
    }
  }

  /** PyTorch's printed form of the module, children indented. */
  toString(): string {
    const kids = this.namedChildren();
    const extra = this.extraRepr();
    if (kids.length === 0) return `${this.typeName}(${extra})`;
    const lines = [`${this.typeName}(`];
    if (extra) lines.push(...extra.split('\n').map((l) => `  ${l}`));
    for (const [name, m] of kids) {
      const [first, ...rest] = String(m).split('\n');
      lines.push(`  (${name}): ${first}`, ...rest.map((l) => `  ${l}`));
    }
    lines.push(')');
    return lines.join('\n');
  }
}

/** PyTorch's rendering of a pair option: `(5, 5)`. */
export function tuple(v: readonly number[]): string {
  return v.length === 1 ? `(${v[0]},)` : `(${v.join(', ')})`;
}

import { describe } from '../engine';
import { Tensor } from '../tensor';

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

import { ShapeError, fmtShape } from '../errors';
import { conv2d, corr2dBias } from '../ops/conv';
import { conv2dInfo, type Conv2dOptions } from '../ops/conv_info';
import { describe, getBackend, keep } from '../engine';
import { rand, uniformInto } from '../ops/random';
import { rngFor } from '../random';
import { Tensor, zeros, empty } from '../tensor';
import { Module, tuple } from './module';

/** Options of the PyTorch-style `Conv2D` (as `torch.nn.Conv2d`). */
export interface Conv2DOptions extends Conv2dOptions {
  /** Whether the layer has a bias; default true. */
  bias?: boolean;
  /** Seed for the initial weights (default: the global generator, see `manualSeed`). */
  seed?: number;
  /** How the input is padded: 'zeros' (default), 'reflect', 'replicate' or 'circular', as torch.nn.Conv2d's padding_mode. */
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
}

function kernelPair(k: unknown, fn: string): [number, number] {
  const ok = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (ok(k)) return [k as number, k as number];
  if (Array.isArray(k) && k.length === 2 && ok(k[0]) && ok(k[1])) return [k[0], k[1]];
  throw new RangeError(`${fn}: kernelSize must be a positive integer or a pair of them, got ${JSON.stringify(k)}`);
}

function channels(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`Conv2D: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/**
 * A convolution layer, in two forms.
 *
 * The chapter's layer, `new Conv2D([kh, kw])`: weight `rand([kh, kw])`, bias
 * `zeros([1])`, and `forward(X)` on a 2-D `X` is `corr2d(X, weight) + bias`.
 *
 * PyTorch's layer, `new Conv2D(inChannels, outChannels, kernelSize, opts)`: weight
 * (out, in/groups, kh, kw) and bias (out) initialised as `torch.nn.Conv2d`
 * (Kaiming-uniform with a = √5, i.e. U(-1/√fan_in, 1/√fan_in), bias the same),
 * and `forward(x)` on NCHW (or CHW) input is `conv2d(x, weight, opts)`.
 *
 * Parameters survive `tidy`; free them with `dispose()`. It is an `nn.Module`
 * (also exported as `nn.Conv2d`, PyTorch's name), printed as PyTorch prints it.
 *
 * @example
 * const layer = new Conv2D([1, 2]);                    // the chapter's
 * layer.forward(ones([6, 8])).shape;                   // [6, 7]
 * const conv = new Conv2D(1, 1, [1, 2], { bias: false });
 * conv.forward(ones([1, 1, 6, 8])).shape;              // [1, 1, 6, 7]
 */
export class Conv2D extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** Input and output channels and kernel size (PyTorch's form; the chapter's has 1, 1). */
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  /** Options passed to conv2d (empty for the chapter's form). */
  readonly options: Conv2dOptions;
  /** Whether this is the chapter's 2-D form. */
  readonly chapterForm: boolean;

  constructor(kernelSize: readonly [number, number]);
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number, number], opts?: Conv2DOptions);
  constructor(a: number | readonly [number, number], b?: number, k?: number | readonly [number, number], opts: Conv2DOptions = {}) {
    super();
    getBackend('Conv2D');
    if (Array.isArray(a) && b === undefined) {
      const [kh, kw] = kernelPair(a, 'Conv2D');
      this.inChannels = 1; this.outChannels = 1; this.kernelSize = [kh, kw];
      this.chapterForm = true;
      this.options = {};
      const weight = keep(rand([kh, kw], { requiresGrad: true }));
      try {
        this.bias = keep(zeros([1], { requiresGrad: true }));
      } catch (e) {
        weight.dispose();
        throw e;
      }
      this.weight = weight;
      return;
    }
    if (typeof a !== 'number' || b === undefined) {
      throw new TypeError(`Conv2D: expected new Conv2D([kh, kw]) or new Conv2D(inChannels, outChannels, kernelSize, options), got (${JSON.stringify(a)}, ${JSON.stringify(b)})`);
    }
    const C = channels(a, 'inChannels'), O = channels(b, 'outChannels');
    const [kh, kw] = kernelPair(k, 'Conv2D');
    if (opts === null || typeof opts !== 'object') throw new TypeError(`Conv2D: options must be an object, got ${String(opts)}`);
    const { bias = true, seed, paddingMode = 'zeros', ...convOpts } = opts;
    if (!['zeros', 'reflect', 'replicate', 'circular'].includes(paddingMode)) {
      throw new RangeError(`Conv2D: paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular', got ${describe(paddingMode)}`);
    }
    if (typeof bias !== 'boolean') throw new TypeError(`Conv2D: bias must be a boolean, got ${describe(bias)}`);
    // Every option is checked before anything is allocated.
    const rngW = rngFor(seed, 'Conv2D');
    const rngB = seed === undefined ? rngW : rngFor(seed + 1, 'Conv2D');
    const groups = convOpts.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`Conv2D: groups must be a positive integer, got ${String(groups)}`);
    if (C % groups !== 0) throw new ShapeError(`Conv2D: groups (${groups}) must divide inChannels (${C})`);
    if (O % groups !== 0) throw new ShapeError(`Conv2D: groups (${groups}) must divide outChannels (${O})`);
    // Reject options no input could run with now, as torch.nn.Conv2d does (a
    // probe input large enough for any kernel checks stride, padding, dilation).
    const [dh, dw] = typeof convOpts.dilation === 'number' ? [convOpts.dilation, convOpts.dilation] : convOpts.dilation ?? [1, 1];
    const probe = (kk: number, d: unknown) => (typeof d === 'number' && Number.isFinite(d) && d > 0 ? d * (kk - 1) + 1 : kk);
    conv2dInfo([1, C, probe(kh, dh), probe(kw, dw)], [O, C / groups, kh, kw], convOpts, 'Conv2D');
    this.chapterForm = false;
    if (paddingMode !== 'zeros') (convOpts as Conv2dOptions & { paddingMode?: string }).paddingMode = paddingMode;
    this.options = convOpts;
    this.inChannels = C; this.outChannels = O; this.kernelSize = [kh, kw];
    const fanIn = (C / groups) * kh * kw;
    const bound = 1 / Math.sqrt(fanIn);
    const weight = keep(uniformInto(empty([O, C / groups, kh, kw], 'Conv2D'), -bound, bound, rngW).requiresGrad_());
    try {
      this.bias = bias ? keep(uniformInto(empty([O], 'Conv2D'), -bound, bound, rngB).requiresGrad_()) : null;
    } catch (e) {
      weight.dispose();
      throw e;
    }
    this.weight = weight;
  }

  /** The layer's output for `x`. */
  forward(x: Tensor): Tensor {
    if (this.chapterForm) {
      if (!(x instanceof Tensor) || x.ndim !== 2) {
        throw new ShapeError(`Conv2D.forward: the chapter's Conv2D([kh, kw]) takes a 2-D input, got ${x instanceof Tensor ? `shape ${fmtShape(x.shape)}` : String(x)}`);
      }
      return corr2dBias(x, this.weight, this.bias!);
    }
    const o = this.options as Conv2dOptions & { paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular' };
    return conv2d(x, this.weight, { stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups, paddingMode: o.paddingMode, bias: this.bias });
  }

  protected override get typeName(): string { return this.chapterForm ? 'Conv2D' : 'Conv2d'; }

  /** As torch.nn.Conv2d's extra_repr. */
  protected override extraRepr(): string {
    if (this.chapterForm) return `kernel_size=${tuple(this.kernelSize)}`;
    const o = this.options as Conv2dOptions & { paddingMode?: string };
    const pair = (v: number | readonly [number, number] | undefined, d: number) => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]]);
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${tuple(this.kernelSize)}, stride=${tuple(pair(o.stride, 1))}`;
    if (typeof o.padding === 'string') s += `, padding=${o.padding}`;
    else { const p = pair(o.padding, 0); if (p[0] || p[1]) s += `, padding=${tuple(p)}`; }
    const d = pair(o.dilation, 1);
    if (d[0] !== 1 || d[1] !== 1) s += `, dilation=${tuple(d)}`;
    if ((o.groups ?? 1) !== 1) s += `, groups=${o.groups}`;
    if (!this.bias) s += ', bias=False';
    if (o.paddingMode && o.paddingMode !== 'zeros') s += `, padding_mode=${o.paddingMode}`;
    return s;
  }
}

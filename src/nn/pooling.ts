import { describe, noGrad, tidy } from '../engine';
import {
  adaptiveAvgPool2d, avgPool2d, maxPool2d, type AvgPool2dOptions, type MaxPool2dOptions, type Size2,
} from '../ops/pooling';
import { type Tensor, zeros } from '../tensor';
import { layerInput } from './layers';
import { Module } from './module';

/** PyTorch's rendering of an int-or-pair option: `2` or `(2, 3)`; null as `None`. */
function pyValue(v: number | null | undefined | readonly (number | null)[]): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'number') return String(v);
  return `(${v.map((e) => pyValue(e)).join(', ')})`;
}

/** The extent a kernel of `k` taps spaced `d` apart covers (the probe's size). */
function extent(k: unknown, d: unknown, i: number): number {
  const at = (v: unknown, dflt: number) => (typeof v === 'number' ? v : Array.isArray(v) && typeof v[i] === 'number' ? v[i] as number : dflt);
  const kk = at(k, 1), dd = at(d, 1);
  return Number.isInteger(kk) && kk > 0 && Number.isInteger(dd) && dd > 0 ? Math.min(dd * (kk - 1) + 1, 2 ** 28) : 1;
}

/**
 * Checks a pooling layer's options when it is made (as far as no input is
 * needed), by pooling an empty batch just large enough for the kernel: the
 * error is the op's own, naming the value, and nothing is allocated.
 */
function probe(layer: string, run: (x: Tensor) => unknown, kernelSize: unknown, dilation?: unknown): void {
  tidy(() => noGrad(() => {
    try {
      run(zeros([0, 1, extent(kernelSize, dilation, 0), extent(kernelSize, dilation, 1)]));
    } catch (e) {
      if (e instanceof Error) e.message = e.message.replace(/^\w+:/, `${layer}:`);
      throw e;
    }
  }));
}

function optionsObject<T>(opts: T | undefined, layer: string): T {
  if (opts === undefined) return {} as T;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError(`${layer}: options must be an object, got ${describe(opts)}`);
  return opts;
}

/** Options of the `MaxPool2d` layer (the op's, without `returnIndices`). */
export type MaxPool2dLayerOptions = Omit<MaxPool2dOptions, 'returnIndices'>;

/**
 * 2-D max pooling, as `torch.nn.MaxPool2d`: `maxPool2d(x, kernelSize, opts)`
 * (stride defaulting to the kernel size, padding, dilation, ceilMode).
 *
 * @example
 * const pool = new nn.MaxPool2d(2);
 * pool.forward(tensor([[[[1, 2], [3, 4]]]])).toArray(); // [[[[4]]]]
 * String(pool); // 'MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)'
 */
export class MaxPool2d extends Module {
  readonly options: MaxPool2dLayerOptions;
  constructor(readonly kernelSize: Size2, opts?: MaxPool2dLayerOptions) {
    super();
    const o = optionsObject(opts, 'MaxPool2d');
    if ('returnIndices' in o) throw new TypeError('MaxPool2d: returnIndices is not a layer option (a layer returns one tensor); call maxPool2d(x, kernelSize, { returnIndices: true })');
    this.options = { ...o };
    probe('MaxPool2d', (x) => maxPool2d(x, kernelSize, this.options), kernelSize, o.dilation);
  }
  forward(x: Tensor): Tensor { return maxPool2d(layerInput(x, 'MaxPool2d'), this.kernelSize, this.options); }
  protected override extraRepr(): string {
    const o = this.options;
    return `kernel_size=${pyValue(this.kernelSize)}, stride=${pyValue(o.stride ?? this.kernelSize)}, padding=${pyValue(o.padding ?? 0)}, `
      + `dilation=${pyValue(o.dilation ?? 1)}, ceil_mode=${o.ceilMode ? 'True' : 'False'}`;
  }
}

/**
 * 2-D average pooling, as `torch.nn.AvgPool2d`: `avgPool2d(x, kernelSize, opts)`
 * (stride defaulting to the kernel size, padding, ceilMode, countIncludePad,
 * divisorOverride).
 *
 * @example
 * const pool = new nn.AvgPool2d(2);
 * pool.forward(tensor([[[[1, 2], [3, 4]]]])).toArray(); // [[[[2.5]]]]
 * String(pool); // 'AvgPool2d(kernel_size=2, stride=2, padding=0)'
 */
export class AvgPool2d extends Module {
  readonly options: AvgPool2dOptions;
  constructor(readonly kernelSize: Size2, opts?: AvgPool2dOptions) {
    super();
    this.options = { ...optionsObject(opts, 'AvgPool2d') };
    probe('AvgPool2d', (x) => avgPool2d(x, kernelSize, this.options), kernelSize);
  }
  forward(x: Tensor): Tensor { return avgPool2d(layerInput(x, 'AvgPool2d'), this.kernelSize, this.options); }
  protected override extraRepr(): string {
    const o = this.options;
    return `kernel_size=${pyValue(this.kernelSize)}, stride=${pyValue(o.stride ?? this.kernelSize)}, padding=${pyValue(o.padding ?? 0)}`;
  }
}

/**
 * 2-D adaptive average pooling to a fixed output size, as
 * `torch.nn.AdaptiveAvgPool2d` (null in a pair keeps the input's size).
 *
 * @example
 * const gap = new nn.AdaptiveAvgPool2d(1);              // global average pooling
 * gap.forward(ones([8, 16, 7, 7])).shape;               // [8, 16, 1, 1]
 * String(new nn.AdaptiveAvgPool2d([null, 1]));          // 'AdaptiveAvgPool2d(output_size=(None, 1))'
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | readonly [number | null, number | null]) {
    super();
    probe('AdaptiveAvgPool2d', (x) => adaptiveAvgPool2d(x, outputSize), 1);
  }
  forward(x: Tensor): Tensor { return adaptiveAvgPool2d(layerInput(x, 'AdaptiveAvgPool2d'), this.outputSize); }
  protected override extraRepr(): string { return `output_size=${pyValue(this.outputSize)}`; }
}

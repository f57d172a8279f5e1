// exportOnnx: a model built from nn.Sequential and the standard layers, as an
// ONNX ModelProto. The model is run once on the example input (eval mode, no
// gradients, inside tidy) to learn every layer's input and output shapes; each
// layer then becomes the ONNX nodes that compute what its forward computes.
import { describe, noGrad, tidy } from '../engine';
import { WasmconvError, fmtShape } from '../errors';
import { conv2dInfo, type Conv2dOptions } from '../ops/conv_info';
import { Tensor } from '../tensor';
import { Module } from '../nn/module';
import { Conv2D } from '../nn/conv2d';
import { Dropout, Flatten, Identity, LeakyReLU, LogSoftmax, ReLU, Sequential, Sigmoid, Softmax, Tanh } from '../nn/layers';
import { Linear } from '../nn/linear';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../nn/pooling';
import { BatchNorm2d } from '../nn/norm';
import * as nn from '../nn/index';
import { GraphBuilder, type AttrValue, type Dim } from './graph';
import { version as packageVersion } from '../../package.json';

/** Options of `exportOnnx`. */
export interface OnnxExportOptions {
  /** The ONNX operator set (default 17, the version of the ONNX 1.12 schema); 13 to 21. */
  opset?: number;
  /** Name of the graph input (default 'input'). */
  inputName?: string;
  /** Name of the graph output (default 'output'). */
  outputName?: string;
  /**
   * Whether dimension 0 of the example input is the batch and stays symbolic
   * ('N') in the graph's input and output shapes (default true). Every other
   * dimension is fixed to the example input's.
   */
  dynamicBatch?: boolean;
}

/**
 * A model, or one of its layers, that has no ONNX form: `path` is the layer's
 * dotted name in the model ('' for the model itself, `features.3` for a nested
 * one) and `layer` its class name as PyTorch prints it.
 *
 * @example
 * try { exportOnnx(new nn.Sequential(new nn.Linear(4, 4), new nn.LayerNorm(4)), zeros([1, 4])); }
 * catch (e) { e instanceof OnnxExportError; e.path; e.layer; } // true, '1', 'LayerNorm'
 */
export class OnnxExportError extends WasmconvError {
  constructor(readonly path: string, readonly layer: string, reason: string) {
    super(`exportOnnx: cannot export ${path === '' ? 'the model' : `layer '${path}'`} (${layer}): ${reason}`);
  }
}

/** The IR version of the ONNX release that introduced each operator set exported (13 to 21). */
const IR_VERSION: Record<number, number> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };
const OPSET_MIN = 13, OPSET_MAX = 21;

/** The layers exported, for messages. */
const SUPPORTED = 'Sequential, Conv2d, Linear, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, BatchNorm2d, ReLU, LeakyReLU, Sigmoid, Tanh, '
  + 'Softmax, LogSoftmax, Flatten, Dropout, Identity';

/** A value flowing through the graph: its ONNX name and the engine tensor the trace computed for it. */
interface Value { name: string; t: Tensor }

/** What every layer's exporter gets. */
interface Ctx {
  g: GraphBuilder;
  opset: number;
  /** Whether dimension 0 of the values depends on the batch (dynamicBatch); only dimension 0 ever does. */
  dynamic: boolean;
  /** The state-dict name of each parameter and buffer of the exported model. */
  names: Map<Tensor, string>;
  /** Set when a Flatten merged the batch into other dimensions: dimension 0 is then no longer 'N'. */
  batchMerged: boolean;
}

/** PyTorch's printed class name of a module (`Conv2d`, `LayerNorm`, `Net`). */
function typeName(m: Module): string {
  return /^[^(]*/.exec(String(m))![0] || m.constructor.name;
}

/** The ONNX scope of a module path: `features.3` → `/features/3` ('' for the root). */
function scopeOf(path: string): string {
  return path === '' ? '' : `/${path.split('.').join('/')}`;
}

function pair(v: number | readonly [number, number] | readonly (number | null)[] | null | undefined, dflt: readonly [number, number]): [number, number] {
  if (v === undefined || v === null) return [dflt[0], dflt[1]];
  if (typeof v === 'number') return [v, v];
  return [v[0] ?? dflt[0], v[1] ?? dflt[1]];
}

/** A parameter or buffer as an initializer under its state-dict name. */
function weight(ctx: Ctx, t: Tensor, path: string, key: string): string {
  const name = ctx.names.get(t) ?? (path ? `${path}.${key}` : key);
  return ctx.g.initializer(name, t.shape, t.data());
}

/**
 * ONNX pooling's ceil_mode and pads [top, left, bottom, right] for PyTorch's
 * pooling of `n` to the traced output size `out`. PyTorch's ceil mode drops a
 * last window that would start in the right padding; ONNX's output-size
 * formula (and ONNX Runtime's shape inference) does not. So: when the floor
 * formula gives the traced size along both dimensions, ceil_mode 0 (the same
 * windows); when the ceil formula gives it along both, ceil_mode 1; when the
 * dimensions disagree, ceil_mode 0 with the bottom/right padding extended to
 * reach the kept last window, which only changes nothing where padding does
 * not count (max pooling, average pooling without countIncludePad).
 */
function poolingPads(n: readonly number[], out: readonly number[], k: readonly number[], s: readonly number[], p: readonly number[], d: readonly number[],
                     padCounts: boolean, refuse: (reason: string) => never): { ceil: 0 | 1; pads: number[] } {
  const span = (i: number) => n[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1;
  const floorOut = [0, 1].map((i) => Math.floor(span(i) / s[i]) + 1);
  const ceilOut = [0, 1].map((i) => Math.ceil(span(i) / s[i]) + 1);
  const pads = [p[0], p[1], p[0], p[1]];
  if (floorOut[0] === out[0] && floorOut[1] === out[1]) return { ceil: 0, pads };
  if (ceilOut[0] === out[0] && ceilOut[1] === out[1]) return { ceil: 1, pads };
  if (padCounts) {
    refuse(`with ceilMode, PyTorch drops the last window along one dimension and keeps a window past the padding along the other (input ${n.join(' x ')}, output ${out.join(' x ')}); `
      + 'ONNX expresses that only where padding does not count: use countIncludePad: false');
  }
  for (let i = 0; i < 2; i++) {
    if (out[i] !== floorOut[i]) pads[2 + i] = (out[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - n[i] - p[i];
  }
  return { ceil: 0, pads };
}

/** Refuses an input that is not batched NCHW. */
function expect4d(x: Value, path: string, m: Module): void {
  if (x.t.ndim !== 4) {
    throw new OnnxExportError(path, typeName(m), `its input has shape ${fmtShape(x.t.shape)}; ONNX needs a batched (N, C, H, W) input here: export with a 4-D example input`);
  }
}

type Exporter<M extends Module> = (ctx: Ctx, m: M, x: Value, y: Tensor, path: string) => string;

function conv(ctx: Ctx, m: Conv2D, x: Value, y: Tensor, path: string): string {
  const scope = scopeOf(path);
  if (m.chapterForm) throw new OnnxExportError(path, typeName(m), "the chapter's 2-D Conv2D([kh, kw]) has no ONNX form; use new nn.Conv2d(inChannels, outChannels, kernelSize)");
  expect4d(x, path, m);
  const opts = m.options as Conv2dOptions & { paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular' };
  const g = conv2dInfo(x.t.shape, m.weight.shape, opts, 'exportOnnx');
  // 'same' puts the odd extra row/column on the bottom/right, as PyTorch.
  const same = opts.padding === 'same';
  const [top, left] = [g.PH, g.PW];
  const bottom = same ? g.DH * (g.KH - 1) - g.PH : g.PH, right = same ? g.DW * (g.KW - 1) - g.PW : g.PW;
  let input = x.name;
  let pads = [top, left, bottom, right];
  const mode = opts.paddingMode ?? 'zeros';
  if (mode !== 'zeros' && pads.some((p) => p > 0)) {
    const onnxMode = mode === 'reflect' ? 'reflect' : mode === 'replicate' ? 'edge' : 'wrap';
    if (onnxMode === 'wrap' && ctx.opset < 19) {
      throw new OnnxExportError(path, typeName(m), `paddingMode 'circular' is ONNX Pad mode 'wrap', which needs opset 19 or later (this export: opset ${ctx.opset}); pass { opset: 19 }`);
    }
    const padsIn = ctx.g.constInt64(scope, [0, 0, top, left, 0, 0, bottom, right]);
    [input] = ctx.g.node('Pad', scope, [input, padsIn], { mode: { s: onnxMode } });
    pads = [0, 0, 0, 0];
  }
  const inputs = [input, weight(ctx, m.weight, path, 'weight')];
  if (m.bias) inputs.push(weight(ctx, m.bias, path, 'bias'));
  return ctx.g.node('Conv', scope, inputs, {
    dilations: { ints: [g.DH, g.DW] }, group: { i: g.G }, kernel_shape: { ints: [g.KH, g.KW] },
    pads: { ints: pads }, strides: { ints: [g.SH, g.SW] },
  })[0];
}

function linear(ctx: Ctx, m: Linear, x: Value, _y: Tensor, path: string): string {
  const scope = scopeOf(path);
  if (ctx.dynamic && x.t.ndim === 1) {
    throw new OnnxExportError(path, typeName(m), `its input has shape ${fmtShape(x.t.shape)}, whose only dimension is both the batch (dynamicBatch) and the features; pass { dynamicBatch: false }`);
  }
  const w = weight(ctx, m.weight, path, 'weight');
  const b = m.bias ? weight(ctx, m.bias, path, 'bias') : null;
  if (x.t.ndim === 2) {
    return ctx.g.node('Gemm', scope, b ? [x.name, w, b] : [x.name, w], { alpha: { f: 1 }, beta: { f: 1 }, transB: { i: 1 } })[0];
  }
  // Other ranks: x @ weight^T (+ bias), the transpose of the stored (out, in) weight a node of the graph.
  const [wt] = ctx.g.node('Transpose', scope, [w], { perm: { ints: [1, 0] } });
  const [mm] = ctx.g.node('MatMul', scope, [x.name, wt]);
  return b ? ctx.g.node('Add', scope, [mm, b])[0] : mm;
}

function maxPool(ctx: Ctx, m: MaxPool2d, x: Value, y: Tensor, path: string): string {
  expect4d(x, path, m);
  const o = m.options;
  const k = pair(m.kernelSize, [1, 1]), s = pair(o.stride, k), p = pair(o.padding, [0, 0]), d = pair(o.dilation, [1, 1]);
  const refuse = (reason: string): never => { throw new OnnxExportError(path, typeName(m), reason); };
  const { ceil, pads } = poolingPads(x.t.shape.slice(2), y.shape.slice(2), k, s, p, d, false, refuse);
  return ctx.g.node('MaxPool', scopeOf(path), [x.name], {
    ceil_mode: { i: ceil }, dilations: { ints: d }, kernel_shape: { ints: k }, pads: { ints: pads }, strides: { ints: s },
  })[0];
}

function avgPool(ctx: Ctx, m: AvgPool2d, x: Value, y: Tensor, path: string): string {
  expect4d(x, path, m);
  const o = m.options;
  if (o.divisorOverride !== undefined && o.divisorOverride !== null) {
    throw new OnnxExportError(path, typeName(m), `divisorOverride (${o.divisorOverride}) has no ONNX AveragePool form`);
  }
  const k = pair(m.kernelSize, [1, 1]), s = pair(o.stride, k), p = pair(o.padding, [0, 0]);
  const include = o.countIncludePad ?? true;
  const refuse = (reason: string): never => { throw new OnnxExportError(path, typeName(m), reason); };
  // With ceil_mode 1, a last window running past the right padding is divided
  // by its size clipped to the padded input (countIncludePad), in PyTorch and
  // in ONNX Runtime alike (checked by the tests).
  const { ceil, pads } = poolingPads(x.t.shape.slice(2), y.shape.slice(2), k, s, p, [1, 1], include, refuse);
  return ctx.g.node('AveragePool', scopeOf(path), [x.name], {
    ceil_mode: { i: ceil }, count_include_pad: { i: include ? 1 : 0 }, kernel_shape: { ints: k }, pads: { ints: pads }, strides: { ints: s },
  })[0];
}

function adaptiveAvgPool(ctx: Ctx, m: AdaptiveAvgPool2d, x: Value, y: Tensor, path: string): string {
  expect4d(x, path, m);
  const [H, W] = x.t.shape.slice(2), [OH, OW] = y.shape.slice(2);
  if (OH === 1 && OW === 1) return ctx.g.node('GlobalAveragePool', scopeOf(path), [x.name])[0];
  if (OH === 0 || OW === 0 || H % OH !== 0 || W % OW !== 0) {
    throw new OnnxExportError(path, typeName(m), `pooling ${H} x ${W} to ${OH} x ${OW} is not one fixed window and stride (ONNX has no adaptive pooling; only output sizes that divide the input's, here from input shape ${fmtShape(x.t.shape)}, export)`);
  }
  const k = [H / OH, W / OW];
  return ctx.g.node('AveragePool', scopeOf(path), [x.name], {
    ceil_mode: { i: 0 }, count_include_pad: { i: 0 }, kernel_shape: { ints: k }, pads: { ints: [0, 0, 0, 0] }, strides: { ints: k },
  })[0];
}

function batchNorm(ctx: Ctx, m: BatchNorm2d, x: Value, _y: Tensor, path: string): string {
  expect4d(x, path, m);
  const scope = scopeOf(path);
  if (!m.trackRunningStats || !m.running_mean || !m.running_var) {
    throw new OnnxExportError(path, typeName(m), 'without running statistics (trackRunningStats: false) it normalizes with each batch\'s statistics even in eval mode; ONNX BatchNormalization takes fixed ones');
  }
  const C = m.numFeatures;
  const scale = m.weight ? weight(ctx, m.weight, path, 'weight') : ctx.g.constFloat(scope, [C], new Float32Array(C).fill(1));
  const bias = m.bias ? weight(ctx, m.bias, path, 'bias') : ctx.g.constFloat(scope, [C], new Float32Array(C));
  const mean = weight(ctx, m.running_mean, path, 'running_mean'), variance = weight(ctx, m.running_var, path, 'running_var');
  // ONNX's momentum weighs the old running value (PyTorch's the new batch); inference ignores it.
  const attrs: Record<string, AttrValue> = { epsilon: { f: m.eps } };
  if (m.momentum !== null) attrs.momentum = { f: 1 - m.momentum };
  return ctx.g.node('BatchNormalization', scope, [x.name, scale, bias, mean, variance], attrs)[0];
}

function flatten(ctx: Ctx, m: Flatten, x: Value, y: Tensor, path: string): string {
  const r = x.t.ndim;
  const start = m.startDim < 0 ? m.startDim + r : m.startDim, end = m.endDim < 0 ? m.endDim + r : m.endDim;
  if (r > 0 && start === end) return x.name;  // nothing merged: the input itself, as torch.flatten returns
  if (start === 0) ctx.batchMerged = true;
  if (start === 1 && end === r - 1) return ctx.g.node('Flatten', scopeOf(path), [x.name], { axis: { i: 1 } })[0];
  // ONNX Flatten always makes 2-D: other spans are a Reshape to the traced
  // shape, dimension 0 copied from the input (0) or, when merged, inferred (-1).
  const shape = [...y.shape];
  if (start === 0) shape[0] = -1;
  else if (ctx.dynamic) shape[0] = 0;
  const s = ctx.g.constInt64(scopeOf(path), shape);
  return ctx.g.node('Reshape', scopeOf(path), [x.name, s])[0];
}

const simple = (op: string, attrs?: (m: Module, x: Value) => Record<string, AttrValue>): Exporter<Module> => (ctx, m, x, _y, path) =>
  ctx.g.node(op, scopeOf(path), [x.name], attrs ? attrs(m, x) : {})[0];

const axis = (m: Module, x: Value) => {
  const dim = (m as Softmax | LogSoftmax).dim;
  return { axis: { i: dim < 0 ? dim + Math.max(x.t.ndim, 1) : dim } };
};

/** Each exported layer class with its exporter, most derived first. */
const EXPORTERS: Array<[abstract new (...args: never[]) => Module, Exporter<never>]> = [
  [Conv2D, conv],
  [Linear, linear],
  [MaxPool2d, maxPool],
  [AvgPool2d, avgPool],
  [AdaptiveAvgPool2d, adaptiveAvgPool],
  [BatchNorm2d, batchNorm],
  [ReLU, simple('Relu')],
  [LeakyReLU, simple('LeakyRelu', (m) => ({ alpha: { f: (m as LeakyReLU).negativeSlope } }))],
  [Sigmoid, simple('Sigmoid')],
  [Tanh, simple('Tanh')],
  [Softmax, simple('Softmax', axis)],
  [LogSoftmax, simple('LogSoftmax', axis)],
  [Flatten, flatten],
  [Dropout, (_ctx, _m, x) => x.name],   // eval mode: the identity
  [Identity, (_ctx, _m, x) => x.name],
];

/** The value `m` computes from `x`, its nodes added to the graph; refuses what has no ONNX form. */
function visit(ctx: Ctx, m: Module, path: string, x: Value): Value {
  if (m instanceof Sequential) {
    if (m.forward !== Sequential.prototype.forward) {
      throw new OnnxExportError(path, typeName(m), 'a Sequential whose forward is overridden is not a sequence of its layers');
    }
    let h = x;
    for (const [name, child] of m.namedChildren()) h = visit(ctx, child, path ? `${path}.${name}` : name, h);
    return h;
  }
  const entry = EXPORTERS.find(([cls]) => m instanceof cls);
  if (!entry) {
    const builtIn = (Object.values(nn) as unknown[]).includes(m.constructor);
    throw new OnnxExportError(path, typeName(m), builtIn
      ? `this layer has no ONNX export here (exported: ${SUPPORTED})`
      : `a custom Module's forward cannot be traced into ONNX; build the model from nn.Sequential and the layers exported (${SUPPORTED})`);
  }
  const [cls, exporter] = entry;
  if (m.forward !== cls.prototype.forward) {
    throw new OnnxExportError(path, typeName(m), `its forward overrides ${cls.name}'s, so it is not exported as one`);
  }
  const y = m.forward(x.t);
  if (!(y instanceof Tensor)) throw new TypeError(`exportOnnx: layer '${path}' (${typeName(m)}) returned ${describe(y)}, not a Tensor`);
  return { name: (exporter as Exporter<Module>)(ctx, m, x, y, path), t: y };
}

function stringOption(v: unknown, name: string, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || v === '') throw new TypeError(`exportOnnx: ${name} must be a non-empty string, got ${describe(v)}`);
  return v;
}

/**
 * The model as an ONNX model (a serialized `ModelProto`), ready for ONNX
 * Runtime (onnxruntime-web, onnxruntime-node) or any other ONNX consumer.
 *
 * The model is `nn.Sequential` (nested too) of Conv2d (every option; a
 * paddingMode other than 'zeros' becomes a Pad node, 'circular' from opset
 * 19), Linear (Gemm; MatMul + Add for inputs of rank other than 2), MaxPool2d,
 * AvgPool2d (not divisorOverride), AdaptiveAvgPool2d (output 1, or sizes that
 * divide the example input's), BatchNorm2d (with running statistics), ReLU,
 * LeakyReLU, Sigmoid, Tanh, Softmax, LogSoftmax, Flatten, Dropout and
 * Identity; or one such layer. Anything else throws `OnnxExportError` naming
 * the layer's path and class.
 *
 * The model is run once on `exampleInput` in eval mode, without gradients and
 * inside `tidy`, to learn every layer's shapes; the graph's input has the
 * example's shape, with dimension 0 the symbolic batch 'N' unless
 * `dynamicBatch` is false. A model in training mode is exported as in eval
 * mode (Dropout is the identity, BatchNorm2d uses its running statistics, as
 * `torch.onnx.export` does by default) and left in the mode it was in; its
 * running statistics do not change.
 *
 * Parameters and buffers are initializers (float32, little-endian raw data)
 * named as in the state dict (`0.weight`, `1.running_mean`, ...); node names
 * follow torch.onnx (`/0/Conv`). The IR version is that of the opset's ONNX
 * release (8 for opset 17); the producer is 'wasmconv' with this package's
 * version.
 *
 * @param model The model (an `nn.Sequential`, or one supported layer).
 * @param exampleInput An input the model accepts, e.g. `zeros([1, 1, 28, 28])`.
 * @param options `opset` (13 to 21, default 17), `inputName` ('input'), `outputName` ('output'), `dynamicBatch` (true).
 * @returns The ModelProto's bytes.
 * @throws OnnxExportError for a layer with no ONNX form; TypeError or RangeError for bad arguments.
 *
 * @example
 * const net = models.lenet({ seed: 0 }).eval();
 * const bytes = exportOnnx(net, zeros([1, 1, 28, 28]));    // Uint8Array: save it as lenet.onnx, or serve it
 * // with onnxruntime-web (or onnxruntime-node) as ort:
 * const session = await ort.InferenceSession.create(bytes);
 * const { output } = await session.run({ input: new ort.Tensor('float32', images, [256, 1, 28, 28]) });
 * output.dims;                                              // [256, 10]
 */
export function exportOnnx(model: Module, exampleInput: Tensor, options: OnnxExportOptions = {}): Uint8Array {
  if (!(model instanceof Module)) throw new TypeError(`exportOnnx: model must be an nn.Module, got ${describe(model)}`);
  if (!(exampleInput instanceof Tensor)) throw new TypeError(`exportOnnx: exampleInput must be a Tensor, got ${describe(exampleInput)}`);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`exportOnnx: options must be an object, got ${describe(options)}`);
  const { opset = 17, dynamicBatch = true } = options;
  if (typeof opset !== 'number' || !Number.isInteger(opset)) throw new TypeError(`exportOnnx: opset must be an integer, got ${describe(opset)}`);
  if (opset < OPSET_MIN || opset > OPSET_MAX) throw new RangeError(`exportOnnx: opset must be from ${OPSET_MIN} to ${OPSET_MAX}, got ${opset}`);
  const inputName = stringOption(options.inputName, 'inputName', 'input');
  const outputName = stringOption(options.outputName, 'outputName', 'output');
  if (inputName === outputName) throw new RangeError(`exportOnnx: inputName and outputName must differ, both are ${JSON.stringify(inputName)}`);
  if (typeof dynamicBatch !== 'boolean') throw new TypeError(`exportOnnx: dynamicBatch must be a boolean, got ${describe(dynamicBatch)}`);
  exampleInput.check('exportOnnx');
  if (dynamicBatch && exampleInput.ndim === 0) throw new RangeError('exportOnnx: a 0-d example input has no batch dimension; pass { dynamicBatch: false }');

  const names = new Map<Tensor, string>();
  for (const [n, t] of [...model.namedParameters(), ...model.namedBuffers()]) if (!names.has(t)) names.set(t, n);
  const ctx: Ctx = { g: new GraphBuilder(), opset, dynamic: dynamicBatch, names, batchMerged: false };

  // Trace in eval mode, then give every module back its own mode.
  const modes = model.namedModules().map(([, m]) => [m, m.training] as const);
  model.eval();
  let last: string, outShape: number[];
  try {
    [last, outShape] = tidy(() => noGrad(() => {
      const y = visit(ctx, model, '', { name: inputName, t: exampleInput });
      return [y.name, [...y.t.shape]] as [string, number[]];
    }));
  } finally {
    for (const [m, mode] of modes) m.training = mode;
  }
  const dims = (shape: readonly number[], batch: Dim): Dim[] => shape.map((d, i) => (dynamicBatch && i === 0 ? batch : d));
  return ctx.g.encode(
    { irVersion: IR_VERSION[opset], opset, producerName: 'wasmconv', producerVersion: packageVersion, graphName: 'main_graph' },
    { name: inputName, dims: dims(exampleInput.shape, 'N') },
    last,
    // Dimension 0 of the output is the batch 'N' unless a Flatten merged the batch into it.
    { name: outputName, dims: dims(outShape, ctx.batchMerged ? null : 'N') },
  );
}

// ONNX export: exported models run in ONNX Runtime (onnxruntime-web's wasm
// backend, inside Node, files from node_modules) and agree with this engine;
// the ModelProto's header, names and shapes; the layers and options exported;
// the typed refusals; and the interop fixtures (test/fixtures/interop/*.onnx,
// checked byte for byte here and by scripts/interop/onnx_check.py with
// Python's onnx checker and PyTorch).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-web';
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, nn, models, optim, tensor, zeros, noGrad, tidy, memory, manualSeed, exportOnnx, OnnxExportError,
  WasmconvError, type Tensor,
} from '../src/index';
import { Rng } from '../src/random';
import { expectClose, randomArray } from './helpers';

const require = createRequire(import.meta.url);
const root = join(__dirname, '..');
const interop = join(root, 'test', 'fixtures', 'interop');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** Outputs of ONNX Runtime and this engine agree to 1e-5, relative to the output's scale (at least 1). */
const TOL = { rtol: 1e-5, atol: 1e-5 };

/** The ModelProto decoded with protobufjs' reflection over the same onnx.proto (independent of the generated encoder). */
const ModelProto = protobuf.loadSync(join(root, 'src', 'onnx', 'proto', 'onnx.proto')).lookupType('onnx.ModelProto');
interface Attr { name: string; type: number; i?: number; f?: number; s?: Uint8Array; ints?: number[] }
interface Decoded {
  irVersion: number; producerName: string; producerVersion: string; opsetImport: Array<{ domain?: string; version: number }>;
  graph: {
    name: string;
    node: Array<{ name: string; opType: string; input: string[]; output: string[]; attribute?: Attr[] }>;
    initializer: Array<{ name: string; dims: number[]; dataType: number; rawData: Uint8Array }>;
    input: Array<{ name: string; type: { tensorType: { elemType: number; shape: { dim: Array<{ dimValue?: number; dimParam?: string }> } } } }>;
    output: Decoded['graph']['input'];
  };
}
function decode(bytes: Uint8Array): Decoded {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, arrays: true, defaults: false }) as Decoded;
}
const dimsOf = (v: Decoded['graph']['input'][0]) => v.type.tensorType.shape.dim.map((d) => d.dimParam ?? d.dimValue ?? null);
const attr = (m: Decoded, node: string, name: string) => m.graph.node.find((n) => n.name === node)!.attribute!.find((a) => a.name === name)!;

/** Runs the exported model in ONNX Runtime on `x`'s values. */
async function runOrt(bytes: Uint8Array, x: Tensor, names = { input: 'input', output: 'output' }): Promise<{ dims: number[]; data: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ [names.input]: new ort.Tensor('float32', x.data(), x.shape) });
    const y = out[names.output];
    return { dims: [...y.dims], data: y.data as Float32Array };
  } finally {
    await session.release();
  }
}

/** Exports `net` with the example `x`, runs both on each of `inputs` (default: x) and compares. */
async function agree(net: nn.Module, x: Tensor, opts: Parameters<typeof exportOnnx>[2] = {}, inputs: Tensor[] = [x]): Promise<Uint8Array> {
  const bytes = exportOnnx(net, x, opts);
  for (const input of inputs) {
    const ours = noGrad(() => tidy(() => { const y = net.forward(input); return { shape: y.shape, data: y.data() }; }));
    const theirs = await runOrt(bytes, input, { input: opts.inputName ?? 'input', output: opts.outputName ?? 'output' });
    expect(theirs.dims, 'output shape').toEqual(ours.shape);
    expectClose(theirs.data, ours.data, TOL, `input ${JSON.stringify(input.shape)}`);
  }
  return bytes;
}

/** Whether two arrays hold the same bytes (faster than toEqual on large arrays). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** A tensor of deterministic values in [-1, 1). */
function seeded(shape: number[], seed: number): Tensor {
  return tensor(randomArray(shape.reduce((a, b) => a * b, 1), new Rng(seed)), shape);
}

beforeAll(async () => {
  await init({ threads: 1, replace: true });
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = pathToFileURL(`${dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'))}/`).href;
});

describe('exportOnnx: LeNet in ONNX Runtime', () => {
  it('models.lenet({ seed: 3 }) at batch 1 and 64 matches ONNX Runtime within 1e-5', async () => {
    const net = models.lenet({ seed: 3 }).eval();
    const x1 = seeded([1, 1, 28, 28], 1), x64 = seeded([64, 1, 28, 28], 2);
    const bytes = await agree(net, x1, {}, [x1, x64]);
    const m = decode(bytes);
    expect(m.graph.node.map((n) => n.opType)).toEqual(['Conv', 'Sigmoid', 'AveragePool', 'Conv', 'Sigmoid', 'AveragePool', 'Flatten', 'Gemm', 'Sigmoid', 'Gemm', 'Sigmoid', 'Gemm']);
    net.dispose(); x1.dispose(); x64.dispose();
  });

  it('models.lenetModern after training steps (running statistics moved), in eval mode, at batch 1 and 64', async () => {
    const net = models.lenetModern({ seed: 4 });
    const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
    for (let step = 0; step < 3; step++) {
      tidy(() => {
        const x = seeded([16, 1, 28, 28], 10 + step);
        const target = Array.from({ length: 16 }, (_, i) => (i * 7 + step) % 10);
        nn.crossEntropy(net.forward(x), target).backward();
        opt.step();
        net.zeroGrad();
      });
    }
    const bn = net.at(1) as nn.BatchNorm2d;
    expect(Math.max(...bn.running_mean!.data().map(Math.abs))).toBeGreaterThan(1e-3);
    expect(Math.max(...bn.running_var!.data().map((v) => Math.abs(v - 1)))).toBeGreaterThan(1e-3);
    net.eval();
    const x1 = seeded([1, 1, 28, 28], 20), x64 = seeded([64, 1, 28, 28], 21);
    const bytes = await agree(net, x64, {}, [x1, x64]);
    expect(decode(bytes).graph.node.map((n) => n.opType)).toEqual([
      'Conv', 'BatchNormalization', 'Relu', 'MaxPool', 'Conv', 'BatchNormalization', 'Relu', 'MaxPool', 'Flatten', 'Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm',
    ]);
    net.dispose(); x1.dispose(); x64.dispose();
  });
});

describe('exportOnnx: the ModelProto', () => {
  it('header: IR 8, opset 17, producer wasmconv with the package version; initializers named as the state dict, float32 little-endian', () => {
    const net = models.lenetModern({ seed: 1 }).eval();
    const m = decode(exportOnnx(net, zeros([2, 1, 28, 28])));
    expect(m.irVersion).toBe(8);
    expect(m.opsetImport).toEqual([{ domain: '', version: 17 }]);
    expect([m.producerName, m.producerVersion]).toEqual(['wasmconv', version]);
    const state = [...net.namedParameters(), ...net.namedBuffers()].filter(([n]) => !n.endsWith('num_batches_tracked'));
    expect(m.graph.initializer.map((t) => t.name).sort()).toEqual(state.map(([n]) => n).sort());
    for (const [name, t] of state) {
      const init = m.graph.initializer.find((i) => i.name === name)!;
      expect(init.dims, name).toEqual(t.shape);
      expect(init.dataType).toBe(1);
      const raw = init.rawData, view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const values = Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
      expect(sameBytes(values, t.data()), name).toBe(true);
    }
    expect(m.graph.node[0]).toMatchObject({ name: '/0/Conv', opType: 'Conv', input: ['input', '0.weight', '0.bias'], output: ['/0/Conv_output_0'] });
    expect(m.graph.node.at(-1)).toMatchObject({ name: '/13/Gemm', output: ['output'] });
    expect(attr(m, '/0/Conv', 'pads').ints).toEqual([2, 2, 2, 2]);
    expect(attr(m, '/9/Gemm', 'transB').i).toBe(1);
    expect(attr(m, '/1/BatchNormalization', 'epsilon').f).toBeCloseTo(1e-5, 10);
    net.dispose();
  });

  it('graph input and output shapes: batch "N" by default, fixed with dynamicBatch false; names as asked', () => {
    const net = models.lenet({ seed: 1 }).eval();
    const x = zeros([3, 1, 28, 28]);
    let m = decode(exportOnnx(net, x));
    expect([m.graph.input[0].name, dimsOf(m.graph.input[0])]).toEqual(['input', ['N', 1, 28, 28]]);
    expect([m.graph.output[0].name, dimsOf(m.graph.output[0])]).toEqual(['output', ['N', 10]]);
    expect(m.graph.input[0].type.tensorType.elemType).toBe(1);
    m = decode(exportOnnx(net, x, { dynamicBatch: false, inputName: 'images', outputName: 'logits' }));
    expect([m.graph.input[0].name, dimsOf(m.graph.input[0])]).toEqual(['images', [3, 1, 28, 28]]);
    expect([m.graph.output[0].name, dimsOf(m.graph.output[0])]).toEqual(['logits', [3, 10]]);
    net.dispose();
  });

  it('is deterministic, leaks no tensor, and leaves a model in training mode in training mode with its statistics unchanged (exported as eval)', () => {
    const net = models.lenetModern({ seed: 2 });
    const x = seeded([4, 1, 28, 28], 3);
    const before = memory().tensors;
    const bn = net.at(1) as nn.BatchNorm2d;
    const stats = [bn.running_mean!.data(), bn.running_var!.data(), bn.num_batches_tracked!.data()];
    const trained = exportOnnx(net, x);
    expect(memory().tensors).toBe(before);
    expect(net.namedModules().every(([, m]) => m.training)).toBe(true);
    expect([bn.running_mean!.data(), bn.running_var!.data(), bn.num_batches_tracked!.data()]).toEqual(stats);
    net.eval();
    expect(sameBytes(exportOnnx(net, x), trained)).toBe(true);
    expect(net.namedModules().every(([, m]) => !m.training)).toBe(true);
    net.dispose(); x.dispose();
  });

  it('returns a plain Uint8Array', () => {
    const bytes = tidy(() => exportOnnx(new nn.ReLU(), zeros([1, 2])));
    expect(bytes.constructor).toBe(Uint8Array);
  });
});

describe('exportOnnx: every layer and option, against ONNX Runtime', () => {
  it('convolutions: stride, padding, dilation, groups, no bias, same (odd extra), valid, reflect and replicate padding', async () => {
    manualSeed(11);
    const net = new nn.Sequential(
      new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 }),
      new nn.Conv2d(8, 8, 3, { padding: 'same', dilation: 2, groups: 4, bias: false }),
      new nn.Conv2d(8, 6, [2, 4], { padding: 'same', paddingMode: 'reflect', dilation: [1, 2] }),
      new nn.Conv2d(6, 6, 3, { stride: [2, 1], padding: [1, 2], paddingMode: 'replicate', groups: 3 }),
      new nn.Conv2d(6, 4, [1, 3], { padding: 'valid', dilation: [1, 3] }),
    ).eval();
    const x = seeded([2, 3, 17, 19], 5);
    const m = decode(await agree(net, x, {}, [x, seeded([5, 3, 17, 19], 6)]));
    expect(m.graph.node.map((n) => n.opType)).toEqual(['Conv', 'Conv', 'Constant', 'Pad', 'Conv', 'Constant', 'Pad', 'Conv', 'Conv']);
    expect(attr(m, '/1/Conv', 'pads').ints).toEqual([2, 2, 2, 2]);
    expect(attr(m, '/1/Conv', 'group').i).toBe(4);
    expect(new TextDecoder().decode(attr(m, '/2/Pad', 'mode').s)).toBe('reflect');
    expect(new TextDecoder().decode(attr(m, '/3/Pad', 'mode').s)).toBe('edge');
    expect(attr(m, '/2/Conv', 'pads').ints).toEqual([0, 0, 0, 0]);
    expect(m.graph.initializer.map((t) => t.name)).toEqual(['0.weight', '0.bias', '1.weight', '2.weight', '2.bias', '3.weight', '3.bias', '4.weight', '4.bias']);
    net.dispose();
  });

  it("circular padding is Pad mode 'wrap' from opset 19; refused, by name, before it", async () => {
    const net = new nn.Sequential(new nn.Conv2d(2, 3, 3, { padding: 1, paddingMode: 'circular', seed: 1 })).eval();
    const x = seeded([2, 2, 6, 7], 7);
    expect(() => exportOnnx(net, x)).toThrow(/cannot export layer '0' \(Conv2d\): paddingMode 'circular' .*opset 19/);
    await agree(net, x, { opset: 19 });
    net.dispose();
  });

  it('pooling: max with padding, dilation and ceil mode, average with ceil mode and countIncludePad false/true, adaptive to 1 and to a divisor; nested Sequential, activations', async () => {
    manualSeed(12);
    const net = new nn.Sequential(
      new nn.Conv2d(2, 6, 3, { padding: 1 }),
      new nn.BatchNorm2d(6, { affine: false }),
      new nn.LeakyReLU(0.2),
      new nn.Sequential(
        new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),            // 17 -> 9 (torch keeps the last window)
        new nn.Sequential(new nn.Tanh(), new nn.Dropout(0.3), new nn.Identity()),
        new nn.MaxPool2d([2, 3], { stride: 1, dilation: [2, 1] }),
      ),
      new nn.AvgPool2d(2, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
      new nn.Sigmoid(),
      new nn.AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true }),               // a last window past the padding
      new nn.AdaptiveAvgPool2d([3, 1]),                                             // 3 x 3 to 3 x 1
    ).eval();
    const bn = net.at(1) as nn.BatchNorm2d;
    bn.running_mean!.assign(randomArray(6, new Rng(1)));
    bn.running_var!.assign(randomArray(6, new Rng(2)).map((v) => 1 + v / 2));
    const x = seeded([2, 2, 17, 17], 8);
    const m = decode(await agree(net, x, {}, [x, seeded([3, 2, 17, 17], 9)]));
    expect(m.graph.node.map((n) => n.name)).toEqual([
      '/0/Conv', '/1/Constant', '/1/Constant_1', '/1/BatchNormalization', '/2/LeakyRelu', '/3/0/MaxPool', '/3/1/0/Tanh', '/3/2/MaxPool',
      '/4/AveragePool', '/5/Sigmoid', '/6/AveragePool', '/7/AveragePool',
    ]);
    expect(attr(m, '/2/LeakyRelu', 'alpha').f).toBeCloseTo(0.2, 7);
    expect(attr(m, '/4/AveragePool', 'count_include_pad').i).toBe(0);
    expect(attr(m, '/3/2/MaxPool', 'dilations').ints).toEqual([2, 1]);
    expect(m.graph.initializer.map((t) => t.name)).toEqual(['0.weight', '0.bias', '1.running_mean', '1.running_var']);
    net.dispose();
  });

  it('ceil mode where PyTorch drops the window starting in the padding: exported as the same windows; mixed along height and width', async () => {
    for (const [H, k, s, p] of [[5, 2, 2, 1], [6, 3, 2, 1], [4, 3, 2, 1]]) {
      for (const layer of [new nn.MaxPool2d(k, { stride: s, padding: p, ceilMode: true }), new nn.AvgPool2d(k, { stride: s, padding: p, ceilMode: true }),
        new nn.AvgPool2d(k, { stride: s, padding: p, ceilMode: true, countIncludePad: false })]) {
        await agree(layer, seeded([1, 2, H, H + 1], H));
      }
    }
    // Mixed: along the height PyTorch drops the last window, along the width it keeps the extra one:
    // ceil_mode 0 with the right padding extended; refused where padding counts.
    for (const layer of [new nn.MaxPool2d([2, 3], { stride: 2, padding: [1, 0], ceilMode: true }),
      new nn.AvgPool2d([2, 3], { stride: 2, padding: [1, 0], ceilMode: true, countIncludePad: false })]) {
      const m = decode(await agree(layer, seeded([2, 2, 5, 4], 3)));
      expect(m.graph.node[0].attribute!.find((a) => a.name === 'pads')!.ints).toEqual([1, 0, 1, 1]);
    }
    expect(() => exportOnnx(new nn.AvgPool2d([2, 3], { stride: 2, padding: [1, 0], ceilMode: true }), zeros([2, 2, 5, 4])))
      .toThrow(/cannot export the model \(AvgPool2d\): with ceilMode, PyTorch drops .*countIncludePad: false/);
  });

  it('global average pooling, Flatten other than (1, -1) as Reshape, Linear on 3-D input (MatMul + Add), Linear without bias, Softmax and LogSoftmax axes', async () => {
    manualSeed(13);
    const a = new nn.Sequential(
      new nn.Conv2d(3, 4, 3), new nn.ReLU(), new nn.Flatten(2), new nn.Linear(25, 6), new nn.Softmax(1), new nn.Linear(6, 5, { bias: false }), new nn.LogSoftmax(-1),
    ).eval();
    const x = seeded([2, 3, 7, 7], 10);
    let m = decode(await agree(a, x, {}, [x, seeded([4, 3, 7, 7], 11)]));
    expect(m.graph.node.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Constant', 'Reshape', 'Transpose', 'MatMul', 'Add', 'Softmax', 'Transpose', 'MatMul', 'LogSoftmax']);
    expect(attr(m, '/6/LogSoftmax', 'axis').i).toBe(2);
    expect(dimsOf(m.graph.output[0])).toEqual(['N', 4, 5]);
    const b = new nn.Sequential(new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(3, 4, { bias: false }), new nn.Softmax(-1)).eval();
    m = decode(await agree(b, x, {}, [x, seeded([1, 3, 7, 7], 12)]));
    expect(m.graph.node.map((n) => n.opType)).toEqual(['GlobalAveragePool', 'Flatten', 'Gemm', 'Softmax']);
    expect(m.graph.node[2].input).toHaveLength(2);
    // Flatten over the batch: dimension 0 of the output is no longer the batch.
    const c = new nn.Sequential(new nn.Flatten(0, 1), new nn.Softmax(0), new nn.Flatten()).eval();
    m = decode(await agree(c, x, {}, [x, seeded([3, 3, 7, 7], 13)]));
    expect(dimsOf(m.graph.output[0])).toEqual([null, 49]);
    a.dispose(); b.dispose(); c.dispose();
  });

  it('opsets 13 and 21 (IR 7 and 10); a single layer as the model; a model that is the identity', async () => {
    manualSeed(14);
    const net = new nn.Sequential(new nn.Conv2d(2, 3, 3), new nn.BatchNorm2d(3), new nn.Flatten(), new nn.Linear(3 * 4 * 5, 3), new nn.Softmax(1)).eval();
    const x = seeded([3, 2, 6, 7], 14);
    expect(decode(await agree(net, x, { opset: 13 })).irVersion).toBe(7);
    expect(decode(await agree(net, x, { opset: 21 })).irVersion).toBe(10);
    const fc = new nn.Linear(4, 2, { seed: 2 });
    const m = decode(await agree(fc, seeded([5, 4], 15)));
    expect(m.graph.initializer.map((t) => t.name)).toEqual(['weight', 'bias']);
    const id = new nn.Sequential(new nn.Dropout(0.5), new nn.Identity()).eval();
    expect(decode(await agree(id, seeded([3, 2], 16), { inputName: 'x', outputName: 'y' })).graph.node).toMatchObject([{ opType: 'Identity', input: ['x'], output: ['y'] }]);
    net.dispose(); fc.dispose();
  });
});

describe('exportOnnx: refusals', () => {
  function refusal(fn: () => unknown): OnnxExportError {
    try { fn(); } catch (e) {
      expect(e).toBeInstanceOf(OnnxExportError);
      expect(e).toBeInstanceOf(WasmconvError);
      return e as OnnxExportError;
    }
    throw new Error('expected an OnnxExportError');
  }

  it("a layer with no ONNX form, by path and class: exportOnnx: cannot export layer '3' (LayerNorm)", () => {
    const net = new nn.Sequential(new nn.Flatten(), new nn.Linear(4, 4, { seed: 1 }), new nn.ReLU(), new nn.LayerNorm(4));
    const e = refusal(() => exportOnnx(net, zeros([2, 2, 2])));
    expect(e.message).toMatch(/^exportOnnx: cannot export layer '3' \(LayerNorm\): this layer has no ONNX export/);
    expect([e.path, e.layer]).toEqual(['3', 'LayerNorm']);
    const nested = new nn.Sequential(new nn.Sequential(new nn.Identity(), new nn.Sequential(new nn.LayerNorm(2))));
    expect(refusal(() => exportOnnx(nested, zeros([1, 2]))).path).toBe('0.1.0');
    net.dispose(); nested.dispose();
  });

  it('custom Module subclasses, a Sequential or layer whose forward is overridden; a subclass that keeps the forward is exported', async () => {
    class Net extends nn.Module {
      fc = new nn.Linear(2, 2, { seed: 1 });
      forward(x: Tensor): Tensor { return this.fc.forward(x).relu(); }
    }
    const net = new Net();
    let e = refusal(() => exportOnnx(net, zeros([1, 2])));
    expect([e.path, e.layer]).toEqual(['', 'Net']);
    expect(e.message).toMatch(/^exportOnnx: cannot export the model \(Net\): a custom Module's forward cannot be traced/);
    e = refusal(() => exportOnnx(new nn.Sequential(new nn.ReLU(), net), zeros([1, 2])));
    expect([e.path, e.layer]).toEqual(['1', 'Net']);
    class Skip extends nn.Sequential { forward(x: Tensor): Tensor { return x.add(super.forward(x)); } }
    expect(refusal(() => exportOnnx(new Skip(new nn.ReLU()), zeros([1, 2]))).message).toMatch(/forward is overridden/);
    class Doubled extends nn.ReLU { forward(x: Tensor): Tensor { return super.forward(x).mul(2); } }
    expect(refusal(() => exportOnnx(new nn.Sequential(new Doubled()), zeros([1, 2]))).message).toMatch(/cannot export layer '0' \(Doubled\): its forward overrides ReLU's/);
    class Dense extends nn.Linear {}
    class Stack extends nn.Sequential {}
    await agree(new Stack(new Dense(2, 3, { seed: 3 }), new nn.Tanh()).eval(), seeded([2, 2], 1));
    net.dispose();
  });

  it("what ONNX cannot say: divisorOverride, adaptive sizes that do not divide, BatchNorm2d without running statistics, the chapter's Conv2D, unbatched input, a 1-D input whose only dimension is the batch", () => {
    const cases: Array<[nn.Module, Tensor, RegExp]> = [
      [new nn.AvgPool2d(2, { divisorOverride: 3 }), zeros([1, 1, 4, 4]), /\(AvgPool2d\): divisorOverride \(3\)/],
      [new nn.AdaptiveAvgPool2d([3, 3]), zeros([1, 1, 7, 7]), /\(AdaptiveAvgPool2d\): pooling 7 x 7 to 3 x 3/],
      [new nn.BatchNorm2d(2, { trackRunningStats: false }).eval(), zeros([2, 2, 3, 3]), /\(BatchNorm2d\): without running statistics/],
      [new nn.Conv2D([2, 2]), zeros([4, 4]), /\(Conv2D\): the chapter's 2-D Conv2D/],
      [new nn.Conv2d(1, 1, 3), zeros([1, 5, 5]), /\(Conv2d\): its input has shape \[1, 5, 5\]; ONNX needs a batched/],
      [new nn.Linear(3, 2), zeros([3]), /\(Linear\): .*pass \{ dynamicBatch: false \}/],
    ];
    for (const [layer, x, re] of cases) {
      expect(refusal(() => exportOnnx(layer, x)).message).toMatch(re);
      layer.dispose(); x.dispose();
    }
    tidy(() => expect(exportOnnx(new nn.Linear(3, 2), zeros([3]), { dynamicBatch: false })).toBeInstanceOf(Uint8Array));
  });

  it('bad arguments: TypeError or RangeError naming the value', () => {
    const x = zeros([1, 2]), relu = new nn.ReLU();
    expect(() => exportOnnx({} as nn.Module, x)).toThrow(new TypeError('exportOnnx: model must be an nn.Module, got a Object'));
    expect(() => exportOnnx(relu, [1, 2] as unknown as Tensor)).toThrow(TypeError);
    expect(() => exportOnnx(relu, x, { opset: 12 })).toThrow(new RangeError('exportOnnx: opset must be from 13 to 21, got 12'));
    expect(() => exportOnnx(relu, x, { opset: 17.5 })).toThrow(TypeError);
    expect(() => exportOnnx(relu, x, { inputName: '' })).toThrow(/inputName must be a non-empty string/);
    expect(() => exportOnnx(relu, x, { inputName: 'a', outputName: 'a' })).toThrow(RangeError);
    expect(() => exportOnnx(relu, x, { dynamicBatch: 1 as unknown as boolean })).toThrow(/dynamicBatch must be a boolean/);
    expect(() => exportOnnx(relu, tensor(1))).toThrow(/0-d example input has no batch/);
    x.dispose();
    expect(() => exportOnnx(relu, x)).toThrow(/disposed/);
  });
});

// The interop fixtures: made here from seeds, committed, and checked by
// scripts/interop/onnx_check.py (onnx.checker with full_check, and PyTorch run
// on the initializers). The .onnx bytes must stay what the engine makes; the
// outputs (for Python to compare with) only within tolerance, as kernels evolve.
// WASMCONV_UPDATE_FIXTURES=1 rewrites them.
describe('exportOnnx: interop fixtures (test/fixtures/interop)', () => {
  function modernFixture(): nn.Sequential {
    const net = models.lenetModern({ seed: 7 }).eval();
    // Running statistics set from a seed rather than trained, so the bytes do not depend on the kernels' rounding.
    for (const [i, c] of [[1, 6], [5, 16]]) {
      const bn = net.at(i) as nn.BatchNorm2d;
      bn.running_mean!.assign(randomArray(c, new Rng(100 + i)).map((v) => v / 2));
      bn.running_var!.assign(randomArray(c, new Rng(200 + i)).map((v) => 1 + v / 2));
      bn.weight!.assign(randomArray(c, new Rng(300 + i)).map((v) => 1 + v / 4));
      bn.bias!.assign(randomArray(c, new Rng(400 + i)).map((v) => v / 4));
    }
    return net;
  }
  function layersFixture(): nn.Sequential {
    return new nn.Sequential(
      new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1, seed: 1 }),
      new nn.BatchNorm2d(8),
      new nn.LeakyReLU(0.1),
      new nn.Conv2d(8, 8, 3, { padding: 'same', dilation: 2, groups: 4, bias: false, seed: 2 }),
      new nn.Conv2d(8, 6, [2, 3], { padding: 'same', paddingMode: 'reflect', seed: 3 }),
      new nn.Sequential(new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }), new nn.Tanh(), new nn.Dropout(0.2, { seed: 1 })),
      new nn.Conv2d(6, 6, 3, { padding: 1, paddingMode: 'replicate', seed: 4 }),
      new nn.AvgPool2d(2, { stride: 1, padding: 1, countIncludePad: false }),
      new nn.Sigmoid(),
      new nn.AdaptiveAvgPool2d(1),
      new nn.Flatten(),
      new nn.Linear(6, 5, { seed: 5 }),
      new nn.LogSoftmax(1),
    ).eval();
  }
  const fixtures: Array<[string, () => nn.Sequential, number[]]> = [
    ['lenet', () => models.lenet({ seed: 5 }).eval(), [2, 1, 28, 28]],
    ['lenet_modern', modernFixture, [2, 1, 28, 28]],
    ['layers', layersFixture, [2, 3, 16, 16]],
  ];

  for (const [name, make, shape] of fixtures) {
    it(`${name}.onnx is what the engine makes (byte for byte); ${name}.json holds an input and the engine's output`, async () => {
      const net = make();
      const x = seeded(shape, 42);
      const bytes = await agree(net, x);
      const y = noGrad(() => tidy(() => { const t = net.forward(x); return { shape: t.shape, data: [...t.data()] }; }));
      const io = { input: { shape, data: [...x.data()] }, output: y };
      const onnxPath = join(interop, `${name}.onnx`), jsonPath = join(interop, `${name}.json`);
      if (process.env.WASMCONV_UPDATE_FIXTURES === '1' || !existsSync(onnxPath) || !existsSync(jsonPath)) {
        mkdirSync(interop, { recursive: true });
        writeFileSync(onnxPath, bytes);
        writeFileSync(jsonPath, `${JSON.stringify(io)}\n`);
      }
      expect(sameBytes(bytes, readFileSync(onnxPath)), `${name}.onnx differs from the committed fixture (WASMCONV_UPDATE_FIXTURES=1 rewrites it)`).toBe(true);
      const saved = JSON.parse(readFileSync(jsonPath, 'utf8')) as typeof io;
      expect(saved.input).toEqual(io.input);
      expect(saved.output.shape).toEqual(io.output.shape);
      expectClose(saved.output.data, io.output.data, TOL, `${name} output`);
      net.dispose(); x.dispose();
    });
  }
});

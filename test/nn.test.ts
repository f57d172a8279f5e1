// The nn API: Module names and traversal, train/eval, freezing, dispose,
// Dropout, init formulas, gradient clipping, and their errors.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, nn, optim, tensor, zeros, ones, randn, tidy, memory, manualSeed, DisposedError, ShapeError, type Tensor } from '../src/index';

describe('nn.Module', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  class Block extends nn.Module {
    conv = new nn.Conv2d(2, 3, 3, { padding: 1, seed: 1 });
    bn = new nn.BatchNorm2d(3);
    act = new nn.ReLU();
    forward(x: Tensor): Tensor { return this.act.forward(this.bn.forward(this.conv.forward(x))); }
  }
  class Net extends nn.Module {
    features = new nn.Sequential(new Block(), new nn.Dropout(0.5, { seed: 3 }), new nn.Flatten());
    head = new nn.Sequential(new nn.Tanh());
    forward(x: Tensor): Tensor { return this.head.forward(this.features.forward(x)); }
  }

  it("names parameters, buffers and modules with PyTorch's dotted paths, in assignment order", () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'features.0.conv.weight', 'features.0.conv.bias', 'features.0.bn.weight', 'features.0.bn.bias',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['features.0.bn.running_mean', 'features.0.bn.running_var', 'features.0.bn.num_batches_tracked']);
    expect(net.namedModules().map(([n]) => n)).toEqual(['', 'features', 'features.0', 'features.0.conv', 'features.0.bn', 'features.0.act', 'features.1', 'features.2', 'head', 'head.0']);
    expect(net.children().length).toBe(2);
    expect(net.parameters()).toHaveLength(4);
    expect(String(net)).toBe([
      'Net(', '  (features): Sequential(', '    (0): Block(',
      '      (conv): Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))',
      '      (bn): BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)',
      '      (act): ReLU()', '    )', '    (1): Dropout(p=0.5, inplace=False)', '    (2): Flatten(start_dim=1, end_dim=-1)', '  )',
      '  (head): Sequential(', '    (0): Tanh()', '  )', ')',
    ].join('\n'));
    net.dispose();
  });

  it('train() and eval() reach every module; a shared module and parameter are listed once', () => {
    const conv = new nn.Conv2d(1, 1, 1, { seed: 2 });
    const seq = new nn.Sequential(conv, new nn.Dropout(0.5), conv);
    expect(seq.parameters()).toHaveLength(2);
    expect(seq.namedModules().map(([n]) => n)).toEqual(['', '0', '1']);
    seq.eval();
    expect(seq.namedModules().every(([, m]) => !m.training)).toBe(true);
    seq.train();
    expect(seq.namedModules().every(([, m]) => m.training)).toBe(true);
    expect(() => seq.train('no' as unknown as boolean)).toThrow(TypeError);
    seq.dispose();
  });

  it('requiresGrad_(false) freezes: no gradient reaches frozen parameters; zeroGrad frees gradients', () => {
    const a = new nn.Conv2d(1, 2, 3, { seed: 1 }), b = new nn.Conv2d(2, 1, 1, { seed: 2 });
    const net = new nn.Sequential(a, new nn.ReLU(), b);
    a.requiresGrad_(false);
    tidy(() => net.forward(randn([1, 1, 5, 5], { seed: 3 })).sum().backward());
    expect(a.weight.grad).toBeNull();
    expect(b.weight.grad).not.toBeNull();
    const before = memory().tensors;
    net.zeroGrad();
    expect(b.weight.grad).toBeNull();
    expect(memory().tensors).toBe(before - 2);
    a.requiresGrad_(true);
    expect(a.weight.requiresGrad).toBe(true);
    net.dispose();
    expect(a.weight.isDisposed && b.bias!.isDisposed).toBe(true);
  });

  it('Sequential checks its arguments and what each module returns', () => {
    expect(() => new nn.Sequential(new nn.ReLU(), 3 as unknown as nn.Module)).toThrow(/argument 1 is not a Module, got 3/);
    class Bad extends nn.Module { forward(): Tensor { return 5 as unknown as Tensor; } }
    expect(() => new nn.Sequential(new Bad()).forward(ones([1]))).toThrow(/a Bad returned 5, not a Tensor/);
    const s = new nn.Sequential(new nn.ReLU(), new nn.Tanh());
    expect(s.length).toBe(2);
    expect(s.at(-1)).toBeInstanceOf(nn.Tanh);
    expect(() => s.at(5)).toThrow(RangeError);
    expect(String(new nn.Sequential())).toBe('Sequential()');
  });
});

describe('layers', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('Dropout: seeded, scaled by 1/(1-p) in training, the identity in eval, p = 0 and 1', () => tidy(() => {
    const x = ones([10000]);
    const d1 = new nn.Dropout(0.3, { seed: 7 }), d2 = new nn.Dropout(0.3, { seed: 7 });
    const y1 = d1.forward(x).data(), y2 = d2.forward(x).data();
    expect(y1).toEqual(y2);
    const kept = y1.filter((v) => v !== 0);
    expect(new Set(kept)).toEqual(new Set([Math.fround(1 / 0.7)]));
    expect(kept.length / 10000).toBeGreaterThan(0.67);
    expect(kept.length / 10000).toBeLessThan(0.73);
    d1.eval();
    expect(Array.from(d1.forward(x).data())).toEqual(Array.from(x.data()));
    expect(Array.from(new nn.Dropout(1).forward(tensor([1, 2])).data())).toEqual([0, 0]);
    expect(Array.from(new nn.Dropout(0).forward(tensor([1, 2])).data())).toEqual([1, 2]);
    expect(() => new nn.Dropout(1.5)).toThrow(/p must be a number in \[0, 1\], got 1.5/);
    // The gradient flows through the kept elements only.
    const w = tensor(new Float32Array(100).fill(1), [100], { requiresGrad: true });
    const d = new nn.Dropout(0.5, { seed: 1 });
    const y = d.forward(w);
    y.sum().backward();
    expect(Array.from(w.grad!.data())).toEqual(Array.from(y.data()));
  }));

  it('BatchNorm2d and LayerNorm refuse wrong inputs and options', () => {
    const bn = new nn.BatchNorm2d(3);
    expect(() => bn.forward(zeros([2, 4, 3, 3]))).toThrow(/input has 4 channels, the layer 3/);
    expect(() => bn.forward(zeros([2, 3, 3]))).toThrow(ShapeError);
    expect(() => bn.forward(zeros([1, 3, 1, 1]))).toThrow(/more than 1 value per channel when training/);
    expect(bn.num_batches_tracked!.item()).toBe(0);
    expect(() => new nn.BatchNorm2d(0)).toThrow(RangeError);
    expect(() => new nn.BatchNorm2d(3, { momentum: 2 })).toThrow(/momentum must be a number in \[0, 1\] or null/);
    const ln = new nn.LayerNorm([2, 3]);
    expect(() => ln.forward(zeros([4, 3, 2]))).toThrow(/does not end with the normalized shape \[2, 3\]/);
    expect(() => new nn.LayerNorm([])).toThrow(RangeError);
    bn.dispose(); ln.dispose();
  });

  it("Linear: weight (out, in), PyTorch's initial bounds, seeded, forward equal to linear(), leading dims kept", () => tidy(() => {
    const fc = new nn.Linear(400, 120, { seed: 5 });
    expect(fc.weight.shape).toEqual([120, 400]);
    expect(fc.bias!.shape).toEqual([120]);
    const bound = 1 / Math.sqrt(400);
    const w = Array.from(fc.weight.data());
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...w)).toBeGreaterThan(0.95 * bound); // spread over the whole interval
    expect(Array.from(new nn.Linear(400, 120, { seed: 5 }).weight.data())).toEqual(w);
    expect(fc.weight.requiresGrad && fc.bias!.requiresGrad).toBe(true);
    const x = randn([2, 3, 400], { seed: 1 });
    const y = fc.forward(x);
    expect(y.shape).toEqual([2, 3, 120]);
    const ref = x.matmul(fc.weight.transpose(0, 1)).add(fc.bias!);
    const yd = y.data(), rd = ref.data();
    for (let i = 0; i < yd.length; i++) expect(yd[i]).toBeCloseTo(rd[i], 4);
    const nb = new nn.Linear(3, 2, { bias: false });
    expect(nb.bias).toBeNull();
    expect(nb.parameters()).toHaveLength(1);
    expect(() => fc.forward(zeros([2, 399]))).toThrow(ShapeError);
    expect(() => fc.forward([1, 2] as unknown as Tensor)).toThrow(/Linear.forward: expected a Tensor, got \[1,2\]|Linear.forward: expected a Tensor/);
    for (const bad of [0, -1, 1.5, NaN, 2 ** 31, '3']) {
      expect(() => new nn.Linear(bad as number, 2), String(bad)).toThrow(/Linear: inFeatures must be an integer in \[1, 2\^28\]/);
      expect(() => new nn.Linear(2, bad as number), String(bad)).toThrow(/Linear: outFeatures must be an integer in \[1, 2\^28\]/);
    }
    expect(() => new nn.Linear(2 ** 16, 2 ** 16)).toThrow(/65536 x 65536 has 4294967296 elements, more than the 2\^29 supported/);
    expect(() => new nn.Linear(2, 2, { bias: 1 as unknown as boolean })).toThrow(/bias must be a boolean, got 1/);
    fc.dispose(); nb.dispose();
  }));

  it('Linear and the pooling layers free everything they allocate, also when construction fails', () => {
    const before = memory().bytes;
    for (let i = 0; i < 3; i++) {
      const net = new nn.Sequential(new nn.Linear(10, 5), new nn.MaxPool2d(2), new nn.AvgPool2d(2), new nn.AdaptiveAvgPool2d(1));
      net.dispose();
      expect(() => new nn.MaxPool2d(2, { padding: 2 })).toThrow();
    }
    expect(memory().bytes).toBe(before);
  });

  it('the pooling layers run their op with their options; bad options are refused when the layer is made', () => tidy(() => {
    const x = randn([2, 3, 9, 10], { seed: 4 });
    const same = (a: Tensor, b: Tensor) => expect(Array.from(a.data())).toEqual(Array.from(b.data()));
    same(new nn.MaxPool2d(3, { stride: 2, padding: 1, dilation: 2, ceilMode: true }).forward(x), x.maxPool2d(3, { stride: 2, padding: 1, dilation: 2, ceilMode: true }));
    same(new nn.MaxPool2d([2, 3]).forward(x), x.maxPool2d([2, 3]));
    same(new nn.AvgPool2d(2, { stride: 1, padding: 1, countIncludePad: false }).forward(x), x.avgPool2d(2, { stride: 1, padding: 1, countIncludePad: false }));
    same(new nn.AvgPool2d(3, { divisorOverride: 2, ceilMode: true }).forward(x), x.avgPool2d(3, { divisorOverride: 2, ceilMode: true }));
    same(new nn.AdaptiveAvgPool2d([null, 2]).forward(x), x.adaptiveAvgPool2d([null, 2]));
    expect(new nn.AdaptiveAvgPool2d(1).forward(x).shape).toEqual([2, 3, 1, 1]);
    // Each error names the layer and the value.
    expect(() => new nn.MaxPool2d(0)).toThrow(/^MaxPool2d: kernelSize must be a positive integer or a pair of them, got 0/);
    expect(() => new nn.MaxPool2d(2, { padding: 2 })).toThrow(/^MaxPool2d: padding \[2, 2\] must be at most half the kernelSize \[2, 2\]/);
    expect(() => new nn.MaxPool2d(2, { stride: [1, 2, 3] as unknown as number })).toThrow(/^MaxPool2d: stride must be a positive integer or a pair of them, got \[1, 2, 3\]/);
    expect(() => new nn.MaxPool2d(2, { dilation: 2 ** 31 })).toThrow(RangeError);
    expect(() => new nn.MaxPool2d(2, { returnIndices: true } as object)).toThrow(/returnIndices is not a layer option/);
    expect(() => new nn.MaxPool2d(2, 'x' as unknown as object)).toThrow(/^MaxPool2d: options must be an object, got 'x'|^MaxPool2d: options must be an object/);
    expect(() => new nn.AvgPool2d(2, { divisorOverride: 0 })).toThrow(/^AvgPool2d: divisorOverride must not be 0/);
    expect(() => new nn.AvgPool2d(2, { ceilMode: 'yes' as unknown as boolean })).toThrow(/^AvgPool2d: ceilMode/);
    expect(() => new nn.AdaptiveAvgPool2d(-1)).toThrow(/^AdaptiveAvgPool2d: outputSize must be a non-negative integer or a pair of them/);
    expect(() => new nn.AdaptiveAvgPool2d([1, 2, 3] as unknown as number)).toThrow(/^AdaptiveAvgPool2d: outputSize .* got \[1, 2, 3\]/);
    expect(() => new nn.MaxPool2d(2).forward(zeros([4, 4]))).toThrow(ShapeError);
  }));

  it('Softmax and LogSoftmax: over their dim, refusing a missing or fractional dim', () => tidy(() => {
    const x = randn([3, 5], { seed: 2 });
    expect(Array.from(new nn.Softmax(1).forward(x).data())).toEqual(Array.from(x.softmax(1).data()));
    expect(Array.from(new nn.LogSoftmax(0).forward(x).data())).toEqual(Array.from(x.logSoftmax(0).data()));
    expect(() => new (nn.Softmax as unknown as new () => nn.Module)()).toThrow(/Softmax: dim must be an integer, got undefined/);
    expect(() => new nn.LogSoftmax(0.5)).toThrow(/LogSoftmax: dim must be an integer, got 0.5/);
    expect(() => new nn.Softmax(2).forward(x)).toThrow(RangeError);
  }));

  it("the book's LeNet: shapes layer by layer, one training step lowers the loss", () => tidy(() => {
    manualSeed(0);
    const net = new nn.Sequential(
      new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }),
      new nn.Conv2d(6, 16, 5), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }), new nn.Flatten(),
      new nn.Linear(16 * 5 * 5, 120), new nn.Sigmoid(), new nn.Linear(120, 84), new nn.Sigmoid(), new nn.Linear(84, 10));
    const shapes: number[][] = [];
    let h = randn([8, 1, 28, 28], { seed: 1 });
    const x = h;
    for (const m of net.children()) { h = m.forward(h); shapes.push([...h.shape]); }
    expect(shapes).toEqual([[8, 6, 28, 28], [8, 6, 28, 28], [8, 6, 14, 14], [8, 16, 10, 10], [8, 16, 10, 10], [8, 16, 5, 5],
      [8, 400], [8, 120], [8, 120], [8, 84], [8, 84], [8, 10]]);
    const labels = [0, 1, 2, 3, 4, 5, 6, 7];
    const opt = new optim.SGD(net.parameters(), { lr: 0.9 });
    const loss0 = nn.crossEntropy(net.forward(x), labels);
    loss0.backward();
    opt.step();
    const loss1 = nn.crossEntropy(net.forward(x), labels);
    expect(loss1.item()).toBeLessThan(loss0.item());
    opt.dispose(); net.dispose();
  }));
});

describe('nn.init', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });
  const stats = (t: Tensor) => {
    const v = t.data();
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    return { mean, std, min: Math.min(...v), max: Math.max(...v) };
  };

  it("PyTorch's formulas: bounds of the uniforms, standard deviations of the normals", () => tidy(() => {
    manualSeed(1);
    const w = zeros([120, 400]);
    const a = Math.sqrt(6 / 520);
    let s = stats(nn.init.xavierUniform_(w));
    expect(s.max).toBeLessThanOrEqual(a); expect(s.min).toBeGreaterThanOrEqual(-a); expect(s.max).toBeGreaterThan(a * 0.99);
    s = stats(nn.init.xavierNormal_(w, 2));
    expect(s.std / (2 * Math.sqrt(2 / 520))).toBeCloseTo(1, 1);
    s = stats(nn.init.kaimingUniform_(w, { a: Math.sqrt(5) }));
    expect(s.max).toBeLessThanOrEqual(1 / Math.sqrt(400) + 1e-7);
    s = stats(nn.init.kaimingNormal_(w, { mode: 'fanOut', nonlinearity: 'relu' }));
    expect(s.std / Math.sqrt(2 / 120)).toBeCloseTo(1, 1);
    const c = zeros([6, 1, 5, 5]);
    s = stats(nn.init.kaimingUniform_(c, { nonlinearity: 'relu' }));
    expect(s.max).toBeLessThanOrEqual(Math.sqrt(6 / 25));
    expect(stats(nn.init.normal_(w, 3, 0.5, { seed: 2 })).mean).toBeCloseTo(3, 1);
    expect(stats(nn.init.uniform_(w, -2, -1)).max).toBeLessThan(-1);
    expect(Array.from(nn.init.ones_(zeros([3])).data())).toEqual([1, 1, 1]);
    expect(Array.from(nn.init.zeros_(ones([2])).data())).toEqual([0, 0]);
    expect(nn.init.calculateGain('tanh')).toBeCloseTo(5 / 3);
    expect(nn.init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04));
    expect(() => nn.init.xavierUniform_(zeros([5]))).toThrow(/fewer than 2 dimensions/);
    expect(() => nn.init.kaimingUniform_(w, { mode: 'in' as 'fanIn' })).toThrow(RangeError);
    // Seeds make it reproducible.
    expect(Array.from(nn.init.xavierUniform_(zeros([3, 4]), 1, { seed: 9 }).data())).toEqual(Array.from(nn.init.xavierUniform_(zeros([3, 4]), 1, { seed: 9 }).data()));
  }));
});

describe('nn.utils.clipGradNorm_', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });
  it('scales gradients to the norm, returns the norm before clipping; below the norm nothing changes', () => tidy(() => {
    const a = tensor([3, 0], undefined, { requiresGrad: true }), b = tensor([4], undefined, { requiresGrad: true });
    a.mul(a).sum().mul(0.5).add(b.mul(b).sum().mul(0.5)).backward(); // grads [3, 0] and [4]
    expect(nn.utils.clipGradNorm_([a, b], 1)).toBeCloseTo(5, 6);
    expect(Array.from(a.grad!.data())[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
    expect(Array.from(b.grad!.data())[0]).toBeCloseTo(4 / (5 + 1e-6), 6);
    expect(nn.utils.clipGradNorm_([a, b], 10)).toBeCloseTo(1, 5);
    expect(Array.from(b.grad!.data())[0]).toBeCloseTo(4 / (5 + 1e-6), 6);
    expect(nn.utils.clipGradNorm_([a, b], 0.1, Infinity)).toBeCloseTo(4 / 5, 5);
    expect(() => nn.utils.clipGradNorm_([a, b], -1)).toThrow(RangeError);
    b.dispose();
    expect(() => nn.utils.clipGradNorm_([a, b], 1)).toThrow(DisposedError);
  }));

  it('works on a Module and with an optimizer', () => tidy(() => {
    const conv = new nn.Conv2d(1, 2, 3, { seed: 4 });
    const opt = new optim.SGD(conv.parameters(), { lr: 0.1 });
    conv.forward(randn([2, 1, 6, 6], { seed: 5 })).sum().backward();
    const n = nn.utils.clipGradNorm_(conv, 0.5);
    expect(n).toBeGreaterThan(0.5);
    const total = Math.sqrt(conv.parameters().reduce((s, p) => s + p.grad!.data().reduce((q, v) => q + v * v, 0), 0));
    expect(total).toBeCloseTo(0.5, 4);
    opt.step();
    conv.dispose();
  }));
});

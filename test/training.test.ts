// The chapter's kernel learning, optimizers against PyTorch's updates, fit, and
// flat memory over long training.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, ones, tidy, memory, noGrad, nn, optim, fit, corr2d, type Tensor } from '../src/index';
import { expectClose } from './helpers';

// PyTorch 1.13 (and 2.x): the chapter's loop from the weight [0.3, -0.7].
const CHAPTER_LOSSES = [5.4, 2.7648, 1.486356, 0.835304, 0.4870956, 0.2922859, 0.1790937, 0.1113558, 0.06993084, 0.04420812];
const CHAPTER_WEIGHT = [0.9727606, -1.0157102];
const REL = { rtol: 1e-4, atol: 0 };

function chapterData(): { X: Tensor; Y: Tensor } {
  const X = ones([6, 8]);
  X.assign(Array.from({ length: 48 }, (_, i) => (i % 8 >= 2 && i % 8 < 6 ? 0 : 1)));
  const Y = corr2d(X, tensor([[1, -1]]));
  return { X: X.reshape([1, 1, 6, 8]), Y: Y.reshape([1, 1, 6, 7]) };
}

describe('training (wasm backend)', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it("learns the chapter's kernel with PyTorch's losses (hand-written loop)", () => {
    tidy(() => {
      const { X, Y } = chapterData();
      const conv = new nn.Conv2D(1, 1, [1, 2], { bias: false });
      conv.weight.assign([0.3, -0.7]);
      const losses: number[] = [];
      for (let i = 0; i < 10; i++) {
        tidy(() => {
          const l = conv.forward(X).sub(Y).pow(2);
          conv.zeroGrad();
          const total = l.sum();
          total.backward();
          noGrad(() => conv.weight.assign(conv.weight.sub(conv.weight.grad!.mul(3e-2))));
          losses.push(total.item());
        });
      }
      expectClose(losses, CHAPTER_LOSSES, REL, 'losses');
      expectClose(conv.weight.data(), CHAPTER_WEIGHT, REL, 'weight');
      conv.dispose();
    });
  });

  it("learns the chapter's kernel with fit and optim.SGD, printing every two epochs", () => {
    tidy(() => {
      const { X, Y } = chapterData();
      const conv = new nn.Conv2D(1, 1, [1, 2], { bias: false });
      conv.weight.assign([0.3, -0.7]);
      const lines: string[] = [];
      const epochs: number[] = [];
      const { loss } = fit(conv, X, Y, {
        epochs: 10, optimizer: new optim.SGD(conv.parameters(), { lr: 3e-2 }), loss: 'sse',
        log: (line) => lines.push(line), onEpoch: (e) => epochs.push(e),
      });
      expectClose(loss, CHAPTER_LOSSES, REL, 'fit losses');
      expectClose(conv.weight.data(), CHAPTER_WEIGHT, REL, 'fit weight');
      expect(lines).toEqual(['epoch 2, loss 2.765', 'epoch 4, loss 0.835', 'epoch 6, loss 0.292', 'epoch 8, loss 0.111', 'epoch 10, loss 0.044']);
      expect(epochs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      conv.dispose();
    });
  });

  it("the chapter's Conv2D([kh, kw]) is corr2d(X, weight) + bias and trains its bias too", () => {
    tidy(() => {
      const layer = new nn.Conv2D([1, 2]);
      expect(layer.weight.shape).toEqual([1, 2]);
      expect(layer.bias!.toArray()).toEqual([0]);
      for (const v of layer.weight.data()) expect(v >= 0 && v < 1).toBe(true);
      layer.weight.assign([[2, 3]]);
      layer.bias!.assign([0.5]);
      const X = tensor([[1, 2, 3], [4, 5, 6]]);
      expect(layer.forward(X).toArray()).toEqual([[8.5, 13.5], [23.5, 28.5]]);
      const l = layer.forward(X).sum();
      l.backward();
      expect(layer.weight.grad!.toArray()).toEqual([[1 + 2 + 4 + 5, 2 + 3 + 5 + 6]]);
      expect(layer.bias!.grad!.toArray()).toEqual([4]);
      layer.zeroGrad();
      expect(layer.weight.grad).toBeNull();
      layer.dispose();
    });
  });

  it("nn.Conv2D(in, out, k) initialises as torch.nn.Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in))", () => {
    const conv = new nn.Conv2D(8, 16, 3, { padding: 1, seed: 3 });
    expect(conv.weight.shape).toEqual([16, 8, 3, 3]);
    expect(conv.bias!.shape).toEqual([16]);
    const bound = 1 / Math.sqrt(8 * 9);
    const w = conv.weight.data();
    let maxAbs = 0, mean = 0;
    for (const v of w) { maxAbs = Math.max(maxAbs, Math.abs(v)); mean += v / w.length; }
    expect(maxAbs).toBeLessThanOrEqual(bound);
    expect(maxAbs).toBeGreaterThan(0.9 * bound);
    expect(Math.abs(mean)).toBeLessThan(0.1 * bound);
    for (const v of conv.bias!.data()) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    const again = new nn.Conv2D(8, 16, 3, { padding: 1, seed: 3 });
    expect(again.weight.data()).toEqual(w);
    expect(conv.forward(ones([2, 8, 5, 5])).shape).toEqual([2, 16, 5, 5]);
    const grouped = new nn.Conv2D(4, 6, [3, 1], { groups: 2, bias: false });
    expect(grouped.weight.shape).toEqual([6, 2, 3, 1]);
    expect(grouped.bias).toBeNull();
    expect(grouped.parameters().length).toBe(1);
    for (const m of [conv, again, grouped]) m.dispose();
  });

  it('mseLoss reductions', () => {
    tidy(() => {
      const a = tensor([1, 2, 3]), b = tensor([0, 0, 1]);
      expect(nn.mseLoss(a, b).item()).toBeCloseTo((1 + 4 + 4) / 3, 6);
      expect(nn.mseLoss(a, b, { reduction: 'sum' }).item()).toBe(9);
      expect(nn.mseLoss(a, b, { reduction: 'none' }).toArray()).toEqual([1, 4, 4]);
    });
  });
});

describe("optimizers against PyTorch's updates", () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  // loss = sum((w * [1, 2, -3])^2) + sum(w) from w = [0.5, -1.5, 2], three steps.
  function run(make: (p: Tensor[]) => optim.Optimizer, steps = 3): Float32Array {
    return tidy(() => {
      const w = tensor([0.5, -1.5, 2.0], undefined, { requiresGrad: true });
      const c = tensor([1, 2, -3]);
      const opt = make([w]);
      for (let s = 0; s < steps; s++) {
        tidy(() => {
          opt.zeroGrad();
          w.mul(c).square().sum().add(w.sum()).backward();
          opt.step();
        });
      }
      const out = w.data();
      w.dispose();
      return out;
    });
  }

  it('SGD: first step by hand', () => {
    // grad = 2 * c^2 * w + 1 = [2, -11, 37]; w - 0.1 * grad
    const w = run((p) => new optim.SGD(p, { lr: 0.1 }), 1);
    expectClose(w, [0.5 - 0.2, -1.5 + 1.1, 2 - 3.7], { rtol: 1e-6, atol: 0 });
  });
  it('SGD plain, momentum with dampening, nesterov with weight decay (torch 2.x values)', () => {
    expectClose(run((p) => new optim.SGD(p, { lr: 0.1 })), [0.012000001966953278, -0.13599999248981476, -1.1080001592636108], { rtol: 1e-5, atol: 1e-7 });
    expectClose(run((p) => new optim.SGD(p, { lr: 0.05, momentum: 0.9, dampening: 0.1 })), [0.009490030817687511, 0.5666799545288086, -2.0128347873687744], { rtol: 1e-5, atol: 1e-7 });
    expectClose(run((p) => new optim.SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 })), [-0.17373248934745789, 0.4711514413356781, -0.011686866171658039], { rtol: 1e-5, atol: 1e-7 });
  });
  it('SGD momentum: second step by hand (buf = g1, then 0.9 buf + g2)', () => {
    const w = run((p) => new optim.SGD(p, { lr: 0.01, momentum: 0.9 }), 2);
    const c2 = [1, 4, 9];
    let w1 = [0.5, -1.5, 2], buf = [0, 0, 0];
    for (let s = 0; s < 2; s++) {
      const g = w1.map((v, i) => 2 * c2[i] * v + 1);
      buf = s === 0 ? g : buf.map((b, i) => 0.9 * b + g[i]);
      w1 = w1.map((v, i) => v - 0.01 * buf[i]);
    }
    expectClose(w, w1, { rtol: 1e-5, atol: 1e-7 });
  });
  it('Adam with bias correction (by hand for one step; torch 2.x values for more)', () => {
    // Step 1: m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2: w -= lr * g / (|g| + eps) = lr * sign(g)
    expectClose(run((p) => new optim.Adam(p, { lr: 0.1 }), 1), [0.4, -1.4, 1.9], { rtol: 1e-6, atol: 0 });
    expectClose(run((p) => new optim.Adam(p, { lr: 0.1 })), [0.2015862762928009, -1.2010143995285034, 1.700602412223816], { rtol: 1e-5, atol: 1e-7 });
    expectClose(run((p) => new optim.Adam(p, { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }), 5), [0.450093150138855, -1.4500652551651, 1.9500433206558228], { rtol: 1e-5, atol: 1e-7 });
  });
});

describe('memory stays flat over long training', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it("10,000 iterations of the chapter's loop inside tidy", () => {
    const { X, Y } = chapterData();
    const conv = new nn.Conv2D(1, 1, [1, 2], { bias: false, seed: 1 });
    const step = () => tidy(() => {
      const total = conv.forward(X).sub(Y).pow(2).sum();
      conv.zeroGrad();
      total.backward();
      noGrad(() => conv.weight.assign(conv.weight.sub(conv.weight.grad!.mul(3e-2))));
    });
    step();
    const before = memory();
    for (let i = 0; i < 10_000; i++) step();
    expect(memory()).toEqual(before);
    expectClose(conv.weight.data(), [1, -1], { rtol: 1e-4, atol: 1e-4 });
    for (const t of [X, Y]) t.dispose();
    conv.dispose();
  });

  it('fit for 10,000 epochs', () => {
    const { X, Y } = chapterData();
    const conv = new nn.Conv2D(1, 1, [1, 2], { bias: false, seed: 2 });
    fit(conv, X, Y, { epochs: 1, lr: 3e-2, loss: 'sse' });
    const before = memory();
    const { loss } = fit(conv, X, Y, { epochs: 10_000, lr: 3e-2, loss: 'sse' });
    expect(memory()).toEqual(before);
    expect(loss.length).toBe(10_000);
    expect(loss[loss.length - 1]).toBeLessThan(1e-8);
    for (const t of [X, Y]) t.dispose();
    conv.dispose();
  });
});

// nn layers, optimizers and schedulers against PyTorch 1.13 (fixtures from
// scripts/parity/nn.py): BatchNorm2d over training steps (outputs, running
// statistics, gradients) and in eval mode, LayerNorm, SGD/Adam/AdamW with
// parameter groups and schedulers step by step.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, nn, optim, tensor, tidy, type Tensor } from '../../src/index';
import { expectTorch, fixture, load, values, type FixtureTensor } from './helpers';

const { cases } = fixture('nn');
const TOL = { rtol: 2e-5, atol: 2e-6 };

describe('PyTorch parity: nn', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  for (const c of cases.filter((k) => k.name.startsWith('BatchNorm2d'))) {
    it(c.name, () => tidy(() => {
      const raw = c as unknown as {
        args: { momentum?: number | null; eps?: number; affine?: boolean; track_running_stats?: boolean };
        weight: FixtureTensor | null; bias: FixtureTensor | null; inputs: FixtureTensor[]; outputs: FixtureTensor[];
        running: Array<{ mean: FixtureTensor; var: FixtureTensor; n: number }>; dy: FixtureTensor;
        grads: { x: FixtureTensor; weight: FixtureTensor | null; bias: FixtureTensor | null }; eval_input: FixtureTensor; eval_output: FixtureTensor;
      };
      const a = raw.args;
      const bn = new nn.BatchNorm2d(3, { momentum: a.momentum, eps: a.eps, affine: a.affine, trackRunningStats: a.track_running_stats });
      if (raw.weight) { bn.weight!.assign(values(raw.weight)); bn.bias!.assign(values(raw.bias!)); }
      raw.inputs.forEach((xi, i) => {
        const x = load(xi, true);
        const y = bn.forward(x);
        expectTorch(y, raw.outputs[i], `output ${i}`, TOL);
        if (raw.running.length) {
          expectTorch(bn.running_mean, raw.running[i].mean, `running_mean ${i}`, TOL);
          expectTorch(bn.running_var, raw.running[i].var, `running_var ${i}`, TOL);
          expect(bn.num_batches_tracked!.item()).toBe(raw.running[i].n);
        }
        if (i === 2) {
          y.backward(load(raw.dy));
          expectTorch(x.grad, raw.grads.x, 'input gradient', { rtol: 1e-4, atol: 1e-5 });
          if (raw.grads.weight) {
            expectTorch(bn.weight!.grad, raw.grads.weight, 'weight gradient', { rtol: 1e-4, atol: 1e-5 });
            expectTorch(bn.bias!.grad, raw.grads.bias!, 'bias gradient', { rtol: 1e-4, atol: 1e-5 });
          }
        }
      });
      bn.eval();
      expectTorch(bn.forward(load(raw.eval_input)), raw.eval_output, 'eval output', TOL);
      bn.dispose();
    }));
  }

  for (const c of cases.filter((k) => k.name.startsWith('LayerNorm'))) {
    it(c.name, () => tidy(() => {
      const raw = c as unknown as {
        args: { normalizedShape: number[]; affine: boolean }; weight: FixtureTensor | null; bias: FixtureTensor | null;
        input: FixtureTensor; output: FixtureTensor; dy: FixtureTensor; grads: { x: FixtureTensor; weight: FixtureTensor | null; bias: FixtureTensor | null };
      };
      const ln = new nn.LayerNorm(raw.args.normalizedShape, { elementwiseAffine: raw.args.affine });
      if (raw.weight) { ln.weight!.assign(values(raw.weight)); ln.bias!.assign(values(raw.bias!)); }
      const x = load(raw.input, true);
      const y = ln.forward(x);
      expectTorch(y, raw.output, 'output', TOL);
      y.backward(load(raw.dy));
      expectTorch(x.grad, raw.grads.x, 'input gradient', { rtol: 1e-4, atol: 1e-5 });
      if (raw.grads.weight) {
        expectTorch(ln.weight!.grad, raw.grads.weight, 'weight gradient', { rtol: 1e-4, atol: 1e-5 });
        expectTorch(ln.bias!.grad, raw.grads.bias!, 'bias gradient', { rtol: 1e-4, atol: 1e-5 });
      }
      ln.dispose();
    }));
  }

  type OptimCase = { name: string; init: FixtureTensor[]; a0: FixtureTensor; b0: FixtureTensor; a1: FixtureTensor; b1: FixtureTensor; trajectory: FixtureTensor[][]; lrs: number[][] };
  const makers: Record<string, (p0: Tensor, p1: Tensor) => { opt: optim.Optimizer<{ lr: number }>; sched: optim.LRScheduler | null }> = {
    'SGD momentum groups StepLR': (p0, p1) => {
      const opt = new optim.SGD([{ params: [p0] }, { params: [p1], lr: 0.05, momentum: 0.5 }], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
      return { opt, sched: new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 }) };
    },
    'SGD nesterov dampening=0': (p0, p1) => ({ opt: new optim.SGD([p0, p1], { lr: 0.1, momentum: 0.8, nesterov: true }), sched: null }),
    'SGD dampening': (p0, p1) => ({ opt: new optim.SGD([p0, p1], { lr: 0.1, momentum: 0.8, dampening: 0.3 }), sched: null }),
    'Adam groups CosineAnnealingLR': (p0, p1) => {
      const opt = new optim.Adam([{ params: [p0], lr: 0.05 }, { params: [p1] }], { lr: 0.01, weightDecay: 0.1 });
      return { opt, sched: new optim.CosineAnnealingLR(opt, { tMax: 3, etaMin: 0.001 }) };
    },
    'Adam amsgrad': (p0, p1) => ({ opt: new optim.Adam([p0, p1], { lr: 0.02, betas: [0.8, 0.99], eps: 1e-6, amsgrad: true }), sched: null }),
    AdamW: (p0, p1) => ({ opt: new optim.AdamW([p0, p1], { lr: 0.05 }), sched: null }),
    'AdamW groups StepLR': (p0, p1) => {
      const opt = new optim.AdamW([{ params: [p0], weightDecay: 0.5 }, { params: [p1], lr: 0.01 }], { lr: 0.03, weightDecay: 0.05 });
      return { opt, sched: new optim.StepLR(opt, { stepSize: 3, gamma: 0.3 }) };
    },
  };
  for (const c of cases.filter((k) => k.name in makers) as unknown as OptimCase[]) {
    it(`${c.name}: every step's parameters and learning rates`, () => {
      const p0 = load(c.init[0], true), p1 = load(c.init[1], true);
      const [a0, b0, a1, b1] = [c.a0, c.b0, c.a1, c.b1].map((t) => load(t));
      const { opt, sched } = makers[c.name](p0, p1);
      c.trajectory.forEach(([w0, w1], s) => {
        opt.zeroGrad();
        tidy(() => a0.mul(p0).sum().add(b0.mul(p0).mul(p0).sum().mul(0.5)).add(a1.mul(p1).sum()).add(b1.mul(p1).mul(p1).sum().mul(0.5)).backward());
        opt.step();
        if (sched && s % 2 === 1) sched.step();
        expectTorch(p0, w0, `${c.name} step ${s} p0`, { rtol: 1e-5, atol: 1e-6 });
        expectTorch(p1, w1, `${c.name} step ${s} p1`, { rtol: 1e-5, atol: 1e-6 });
        opt.paramGroups.forEach((g, i) => expect(g.lr, `step ${s} group ${i} lr`).toBeCloseTo(c.lrs[s][i], 12));
      });
      for (const t of [p0, p1, a0, b0, a1, b1]) t.dispose();
      (opt as unknown as { dispose(): void }).dispose();
    });
  }
});

describe('optimizer and scheduler state dicts', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });
  it('a state dict restores an optimizer and a scheduler exactly (same next steps)', () => {
    const run = (resumeAt: number | null) => tidy(() => {
      const p = tensor([0.5, -1, 2], undefined, { requiresGrad: true });
      let opt = new optim.Adam([{ params: [p], lr: 0.1 }], { amsgrad: true });
      let sched: optim.LRScheduler = new optim.CosineAnnealingLR(opt, { tMax: 4 });
      const out: number[][] = [];
      for (let s = 0; s < 8; s++) {
        if (s === resumeAt) {
          const sd = opt.stateDict(), ss = sched.stateDict();
          const opt2 = new optim.Adam([{ params: [p], lr: 123 }], { amsgrad: true });
          opt2.loadStateDict(sd);
          const sched2 = new optim.CosineAnnealingLR(opt2, { tMax: 4 });
          sched2.loadStateDict(ss);
          opt.dispose();
          opt = opt2; sched = sched2;
        }
        opt.zeroGrad();
        p.square().sum().backward();
        opt.step(); sched.step();
        out.push(Array.from(p.data()));
      }
      opt.dispose();
      return out;
    });
    const straight = run(null);
    for (const at of [1, 3, 5]) expect(run(at), `resumed at ${at}`).toEqual(straight);
  });

  it("the state dict has PyTorch's layout and names", () => {
    const p = tensor([1, 2], undefined, { requiresGrad: true }), q = tensor([3], undefined, { requiresGrad: true });
    const opt = new optim.SGD([{ params: [p] }, { params: [q], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
    p.add(q).sum().backward();
    opt.step();
    const sd = opt.stateDict();
    expect(Object.keys(sd.state)).toEqual(['0', '1']);
    expect(Object.keys(sd.state[0])).toEqual(['momentum_buffer']);
    expect(sd.param_groups).toEqual([
      { lr: 0.1, momentum: 0.9, dampening: 0, weight_decay: 0, nesterov: false, maximize: false, params: [0] },
      { lr: 0.5, momentum: 0.9, dampening: 0, weight_decay: 0, nesterov: false, maximize: false, params: [1] },
    ]);
    expect(() => opt.loadStateDict({ ...sd, param_groups: [sd.param_groups[0]] })).toThrow(/1 parameter groups, the optimizer 2/);
    expect(() => opt.loadStateDict({ ...sd, param_groups: [sd.param_groups[0], { ...sd.param_groups[1], lr: -1 }] })).toThrow(/lr must be a number in \[0, Infinity\]/);
    expect(Array.from((opt.stateDict().state[0].momentum_buffer as Tensor).data())).toEqual([1, 1]);
    opt.dispose(); p.dispose(); q.dispose();
  });
});

describe("PyTorch parity: a model's printed form and names", () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });
  const printed = (name: string) => cases.find((c) => c.name === name) as unknown as { printed: string; names: string[] };
  // PyTorch's state_dict order: each module's parameters, then its buffers, modules in order.
  const names = (m: nn.Module) => m.namedModules().flatMap(([prefix, sub]) => [...sub.namedParameters(), ...sub.namedBuffers()]
    .filter(([n]) => !n.includes('.')).map(([n]) => (prefix ? `${prefix}.${n}` : n)));
  const check = (m: nn.Module, name: string) => {
    const want = printed(name);
    expect(String(m)).toBe(want.printed);
    expect(names(m)).toEqual(want.names);
    m.dispose();
  };

  it("the book's LeNet", () => check(new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }),
    new nn.Conv2d(6, 16, 5), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }), new nn.Flatten(),
    new nn.Linear(16 * 5 * 5, 120), new nn.Sigmoid(), new nn.Linear(120, 84), new nn.Sigmoid(), new nn.Linear(84, 10),
  ), 'print LeNet'));

  it('every layer kind and option that changes the print', () => check(new nn.Sequential(
    new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1, dilation: 2, bias: false, paddingMode: 'reflect' }), new nn.BatchNorm2d(8), new nn.ReLU(),
    new nn.LeakyReLU(0.2), new nn.Dropout(0.3), new nn.Tanh(), new nn.LayerNorm([4, 5], { eps: 1e-6, elementwiseAffine: false }),
    new nn.BatchNorm2d(4, { momentum: null, affine: false, trackRunningStats: false }), new nn.Flatten(2, 3), new nn.Conv2d(4, 4, [3, 1], { groups: 2 }),
    new nn.Conv2d(4, 4, 3, { padding: 'same' }), new nn.Identity(), new nn.Sequential(new nn.Sigmoid(), new nn.Conv2d(2, 2, 1)),
  ), 'print layers'));

  it('pooling, softmax and linear layers', () => check(new nn.Sequential(
    new nn.MaxPool2d(2), new nn.MaxPool2d([2, 3], { stride: 1, padding: [1, 0], dilation: 2, ceilMode: true }), new nn.AvgPool2d(3),
    new nn.AvgPool2d([2, 2], { stride: [1, 2], padding: 1, ceilMode: true, countIncludePad: false, divisorOverride: 3 }),
    new nn.AdaptiveAvgPool2d([null, 1]), new nn.AdaptiveAvgPool2d(1), new nn.Softmax(1), new nn.LogSoftmax(-1), new nn.Linear(3, 4, { bias: false }),
  ), 'print pooling and linear'));
});

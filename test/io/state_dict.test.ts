// Module.stateDict and Module.loadStateDict: PyTorch's keys and order, views
// the caller owns, strict and non-strict loads, one error listing every
// problem, and a model left unchanged when a load is refused.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, memory, models, nn, tensor, zeros, ones, tidy, noGrad, randn, DisposedError, StateDictError, type Tensor,
} from '../../src/index';

class Block extends nn.Module {
  conv = new nn.Conv2d(2, 3, 3, { padding: 1, seed: 1, bias: false });
  bn = new nn.BatchNorm2d(3);
  act = new nn.ReLU();
  forward(x: Tensor): Tensor { return this.act.forward(this.bn.forward(this.conv.forward(x))); }
}
class Net extends nn.Module {
  features = new nn.Sequential(new Block(), new nn.Dropout(0.5, { seed: 3 }), new nn.Flatten());
  head = new nn.Linear(3 * 4 * 4, 5, { seed: 2 });
  norm = new nn.BatchNorm2d(2, { affine: false });
  plain = new nn.BatchNorm2d(2, { trackRunningStats: false });
  forward(x: Tensor): Tensor { return this.head.forward(this.features.forward(x)); }
}

/** The values of every entry of a state dict. */
function valuesOf(m: nn.Module): Record<string, number[]> {
  return tidy(() => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data())])));
}

describe('Module.stateDict', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it("has PyTorch's keys in PyTorch's order: each module's parameters, then its buffers, then its children; no entry for absent ones", () => {
    const net = new Net();
    // torch: the same classes give exactly these keys (BatchNorm2d(affine=False) has no weight/bias,
    // track_running_stats=False no buffers, Conv2d(bias=False) no bias).
    expect(tidy(() => Object.keys(net.stateDict()))).toEqual([
      'features.0.conv.weight',
      'features.0.bn.weight', 'features.0.bn.bias', 'features.0.bn.running_mean', 'features.0.bn.running_var', 'features.0.bn.num_batches_tracked',
      'head.weight', 'head.bias',
      'norm.running_mean', 'norm.running_var', 'norm.num_batches_tracked',
      'plain.weight', 'plain.bias',
    ]);
    expect(tidy(() => net.stateDict()['head.weight'].shape)).toEqual([5, 48]);
    net.dispose();
  });

  it("models.lenet() and models.lenetModern() have torch.nn.Sequential's keys", () => {
    const a = models.lenet({ seed: 0 }), b = models.lenetModern({ seed: 0 });
    expect(tidy(() => Object.keys(a.stateDict()))).toEqual(['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias', '9.weight', '9.bias', '11.weight', '11.bias']);
    expect(tidy(() => Object.keys(b.stateDict()))).toEqual([
      '0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked',
      '4.weight', '4.bias', '5.weight', '5.bias', '5.running_mean', '5.running_var', '5.num_batches_tracked',
      '9.weight', '9.bias', '11.weight', '11.bias', '13.weight', '13.bias',
    ]);
    a.dispose(); b.dispose();
  });

  it('lists a shared module and a shared parameter under every name, as PyTorch does', () => {
    const lin = new nn.Linear(2, 2, { seed: 1 });
    const net = new nn.Sequential(lin, new nn.ReLU(), lin);
    expect(tidy(() => Object.keys(net.stateDict()))).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(net.parameters()).toHaveLength(2);
    lin.dispose();
  });

  it('values are detached views of the model\'s memory that the caller owns: no copy, writes reach the model, disposing frees nothing of it', () => {
    const net = new Net();
    const before = memory();
    const dict = net.stateDict();
    const n = Object.keys(dict).length;
    expect(memory().tensors).toBe(before.tensors + n);
    expect(memory().bytes).toBe(before.bytes);
    const w = dict['head.weight'];
    expect(w).not.toBe(net.head.weight);
    expect(w.requiresGrad).toBe(false);
    expect(w.isLeaf).toBe(true);
    expect(Array.from(w.data())).toEqual(Array.from(net.head.weight.data()));
    tidy(() => w.assign(zeros([5, 48])));
    expect(net.head.weight.data().every((v) => v === 0)).toBe(true);
    for (const t of Object.values(dict)) t.dispose();
    expect(memory()).toEqual(before);
    expect(net.head.weight.isDisposed).toBe(false);
    // Inside tidy the views are freed with the scope; a returned dict is kept.
    const kept = tidy(() => { net.stateDict(); return net.stateDict(); });
    expect(memory().tensors).toBe(before.tensors + n);
    // A view keeps its memory alive after the model is disposed.
    net.dispose();
    expect(kept['head.weight'].data().every((v) => v === 0)).toBe(true);
    for (const t of Object.values(kept)) t.dispose();
    expect(() => net.stateDict()).toThrow(DisposedError);
    expect(() => net.stateDict()).toThrow(/^stateDict: features\.0\.conv\.weight: tensor #\d+ with shape \[3, 2, 3, 3\] was disposed$/);
  });
});

describe('Module.loadStateDict', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('copies every value in: a model loaded from another computes as it does; the dict stays the caller\'s, unchanged', () => {
    const a = models.lenetModern({ seed: 0 }), b = models.lenetModern({ seed: 1 });
    tidy(() => noGrad(() => a.forward(randn([4, 1, 28, 28], { seed: 1 })))); // running statistics move
    const x = randn([2, 1, 28, 28], { seed: 2 });
    const before = memory();
    const dict = a.stateDict();
    const keys = Object.keys(dict);
    const snapshot = Object.values(dict).map((t) => Array.from(t.data()));
    expect(b.loadStateDict(dict)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(Object.keys(dict)).toEqual(keys);
    expect(Object.values(dict).map((t) => Array.from(t.data()))).toEqual(snapshot);
    expect(Object.values(dict).every((t) => !t.isDisposed)).toBe(true);
    for (const t of Object.values(dict)) t.dispose();
    expect(memory()).toEqual(before);
    expect(valuesOf(b)).toEqual(valuesOf(a));
    expect((b.at(1) as nn.BatchNorm2d).num_batches_tracked!.item()).toBe(1);
    a.eval(); b.eval();
    tidy(() => expect(Array.from(b.forward(x).data())).toEqual(Array.from(a.forward(x).data())));
    // The copies are the model's own: changing a's weights leaves b's.
    noGrad(() => (a.at(0) as nn.Conv2d).weight.assign(zeros([6, 1, 5, 5])));
    expect((b.at(0) as nn.Conv2d).weight.data().some((v) => v !== 0)).toBe(true);
    x.dispose(); a.dispose(); b.dispose();
  });

  it('takes a Map too, and Linear weights (out, in) as PyTorch stores them, without transposing', () => {
    const fc = new nn.Linear(3, 2, { seed: 1 });
    tidy(() => {
      fc.loadStateDict(new Map([['weight', tensor([[1, 2, 3], [4, 5, 6]])], ['bias', tensor([10, 20])]]));
      expect(fc.forward(tensor([[1, 0, -1]])).toArray()).toEqual([[8, 18]]);
    });
    fc.dispose();
  });

  it('reads every value before writing any: a dict of views of the model\'s own tensors, swapped, loads as it reads', () => {
    const net = new nn.Sequential(new nn.Linear(2, 2, { seed: 1 }), new nn.Linear(2, 2, { seed: 2 }));
    const v = valuesOf(net);
    tidy(() => {
      const d = net.stateDict();
      net.loadStateDict({ '0.weight': d['1.weight'], '0.bias': d['1.bias'], '1.weight': d['0.weight'], '1.bias': d['0.bias'] });
    });
    expect(valuesOf(net)).toEqual({ '0.weight': v['1.weight'], '0.bias': v['1.bias'], '1.weight': v['0.weight'], '1.bias': v['0.bias'] });
    net.dispose();
  });

  it('a 0-d buffer takes a one-element 1-d value (old PyTorch files), as PyTorch does', () => {
    const bn = new nn.BatchNorm2d(2);
    tidy(() => {
      const d = bn.stateDict();
      bn.loadStateDict({ ...d, num_batches_tracked: tensor([7]) });
    });
    expect(bn.num_batches_tracked!.shape).toEqual([]);
    expect(bn.num_batches_tracked!.item()).toBe(7);
    bn.dispose();
  });

  it('strict: missing keys, unexpected keys and shape mismatches in one StateDictError with the lists as properties; nothing changes, nothing leaks', () => {
    const net = models.lenet({ seed: 0 });
    const before = valuesOf(net);
    const mem = memory();
    let err: unknown;
    tidy(() => {
      const d = net.stateDict();
      delete d['3.weight'];
      delete d['11.bias'];
      d['0.bias'] = zeros([5]);
      d['7.weight'] = zeros([400, 120]);
      d['12.weight'] = ones([1]);
      d.extra = ones([2]);
      try { net.loadStateDict(d); } catch (e) { err = e; }
    });
    expect(err).toBeInstanceOf(StateDictError);
    const e = err as StateDictError;
    expect(e.name).toBe('StateDictError');
    expect(e.missingKeys).toEqual(['3.weight', '11.bias']);
    expect(e.unexpectedKeys).toEqual(['12.weight', 'extra']);
    expect(e.shapeMismatches).toEqual([
      { key: '0.bias', got: [5], expected: [6] },
      { key: '7.weight', got: [400, 120], expected: [120, 400] },
    ]);
    expect(e.message).toBe([
      'loadStateDict: error(s) in loading the state dict for Sequential:',
      '\tMissing key(s) in state_dict: "3.weight", "11.bias".',
      '\tUnexpected key(s) in state_dict: "12.weight", "extra".',
      '\tsize mismatch for 0.bias: copying a param with shape [5] from checkpoint, the shape in current model is [6].',
      '\tsize mismatch for 7.weight: copying a param with shape [400, 120] from checkpoint, the shape in current model is [120, 400].',
    ].join('\n'));
    expect(valuesOf(net)).toEqual(before);
    expect(memory()).toEqual(mem);
    net.dispose();
  });

  it('non-strict: loads what matches and returns the missing and unexpected keys; shape mismatches are still refused, as PyTorch', () => {
    const net = new nn.Sequential(new nn.Linear(2, 3, { seed: 1 }), new nn.BatchNorm2d(3));
    const before = valuesOf(net);
    tidy(() => {
      const r = net.loadStateDict({ '0.bias': tensor([1, 2, 3]), '1.running_mean': tensor([4, 5, 6]), 'x.y': zeros([1]) }, { strict: false });
      expect(r).toEqual({ missingKeys: ['0.weight', '1.weight', '1.bias', '1.running_var', '1.num_batches_tracked'], unexpectedKeys: ['x.y'] });
    });
    const after = valuesOf(net);
    expect(after['0.bias']).toEqual([1, 2, 3]);
    expect(after['1.running_mean']).toEqual([4, 5, 6]);
    expect(after['0.weight']).toEqual(before['0.weight']);
    let err: unknown;
    tidy(() => { try { net.loadStateDict({ '0.bias': zeros([4]), '0.weight': zeros([3, 2]), nope: zeros([1]) }, { strict: false }); } catch (e) { err = e; } });
    expect(err).toBeInstanceOf(StateDictError);
    expect((err as StateDictError).message).toBe('loadStateDict: error(s) in loading the state dict for Sequential:\n'
      + '\tsize mismatch for 0.bias: copying a param with shape [4] from checkpoint, the shape in current model is [3].');
    expect((err as StateDictError).missingKeys).toEqual([]);
    expect((err as StateDictError).unexpectedKeys).toEqual([]);
    expect(valuesOf(net)).toEqual(after);
    net.dispose();
  });

  it('refuses what is not a state dict with TypeErrors and DisposedErrors naming the key, before changing anything', () => {
    const fc = new nn.Linear(2, 2, { seed: 1 });
    const before = valuesOf(fc);
    const mem = memory();
    const gone = zeros([2]);
    gone.dispose();
    const w = zeros([2, 2]);
    const cases: Array<[unknown, unknown, ErrorConstructor | typeof DisposedError, RegExp]> = [
      [null, undefined, TypeError, /^loadStateDict: expected a state dict \(an object or a Map of tensors by name\), got null$/],
      [[w], undefined, TypeError, /^loadStateDict: expected a state dict \(an object or a Map of tensors by name\), got an Array of length 1$/],
      [w, undefined, TypeError, /^loadStateDict: expected a state dict \(an object or a Map of tensors by name\), got a Tensor$/],
      [{ weight: [[1, 2], [3, 4]] }, undefined, TypeError, /^loadStateDict: the value of "weight" must be a Tensor, got an Array of length 2$/],
      [new Map([[1, w]]), undefined, TypeError, /^loadStateDict: state dict keys must be strings, got 1$/],
      [{ weight: w, bias: gone }, undefined, DisposedError, /^loadStateDict: bias: tensor #\d+ with shape \[2\] was disposed$/],
      [{ weight: w }, { strict: 'no' }, TypeError, /^loadStateDict: strict must be a boolean, got the string "no"$/],
      [{ weight: w }, null, TypeError, /^loadStateDict: options must be an object, got null$/],
    ];
    for (const [dict, opts, type, message] of cases) {
      const call = () => fc.loadStateDict(dict as never, opts as never);
      expect(call, String(message)).toThrow(type);
      expect(call).toThrow(message);
    }
    expect(valuesOf(fc)).toEqual(before);
    w.dispose();
    expect(memory()).toEqual(mem);
    fc.dispose();
    expect(() => fc.loadStateDict({})).toThrow(/^loadStateDict: the model's weight: tensor #\d+ with shape \[2, 2\] was disposed$/);
  });
});

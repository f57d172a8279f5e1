// Bad input changes nothing: every argument is validated before anything is
// changed or allocated, and a failure leaves memory() as it was.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, tensor, zeros, tidy, memory, nn, optim, fit, DisposedError, ShapeError, type Tensor,
} from '../../src/index';

function unchanged(f: () => unknown, type: new (...a: never[]) => Error, pattern: RegExp): void {
  const before = memory();
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err, String(pattern)).toBeInstanceOf(type);
  expect((err as Error).message).toMatch(pattern);
  expect(memory(), String(pattern)).toEqual(before);
}

const values = (ts: Tensor[]) => ts.map((t) => Array.from(t.data()));

describe('validate everything first, then change anything', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('optimizer.step() with a disposed parameter throws DisposedError and updates none of the others', () => {
    for (const make of [(ps: Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9 }), (ps: Tensor[]) => new optim.Adam(ps, { lr: 0.1 }), (ps: Tensor[]) => new optim.AdamW(ps, { lr: 0.1 })]) {
      const ps = [tensor([1, 2], undefined, { requiresGrad: true }), tensor([3], undefined, { requiresGrad: true }), tensor([4, 5, 6], undefined, { requiresGrad: true })];
      const opt = make(ps);
      for (const p of ps) p.mul(p).sum().backward();
      ps[2].dispose();
      const before = values(ps.slice(0, 2));
      unchanged(() => opt.step(), DisposedError, /params\[2\] \(tensor #\d+, shape \[3\]\) was disposed/);
      expect(values(ps.slice(0, 2))).toEqual(before);
      ps[0].dispose(); ps[1].dispose();
    }
  });

  it('an optimizer over a disposed layer throws instead of silently doing nothing', () => {
    const conv = new nn.Conv2D(1, 2, 3, { seed: 1 });
    const opt = new optim.SGD(conv.parameters(), { lr: 0.1 });
    conv.dispose();
    expect(() => opt.step()).toThrow(DisposedError);
  });

  it('a Conv2D whose options are refused allocates nothing', () => {
    unchanged(() => new nn.Conv2D(1, 2, 3, { seed: 1.5 }), TypeError, /seed must be an integer, got 1.5/);
    unchanged(() => new nn.Conv2D(1, 2, 3, { stride: 0 }), RangeError, /stride must be a positive integer/);
    unchanged(() => new nn.Conv2D(1, 2, 3, { bias: 'yes' as unknown as boolean }), TypeError, /bias must be a boolean/);
  });

  it('tensor() from a detached ArrayBuffer is a TypeError and allocates nothing', () => {
    const a = new Float32Array(8);
    structuredClone(a.buffer, { transfer: [a.buffer] });
    unchanged(() => tensor(a), TypeError, /buffer is detached/);
    unchanged(() => tensor(a, [0]), TypeError, /buffer is detached/);
    const t = zeros([8]);
    unchanged(() => t.assign(a), TypeError, /buffer is detached/);
    t.dispose();
  });

  it('a cyclic nested array is refused (no heap exhaustion); tidy returning a cyclic object works', () => {
    const cyc: unknown[] = [];
    cyc.push(cyc);
    unchanged(() => tensor(cyc as number[]), RangeError, /deeper than 32 dimensions \(a cyclic array\?\)/);
    const cyc2: unknown[] = [1, 2];
    cyc2.push(cyc2);
    unchanged(() => tensor(cyc2 as number[]), TypeError, /element \[2\] is not a number/);
    const before = memory();
    const out = tidy(() => {
      const o: Record<string, unknown> = { t: tensor([1, 2]), other: tensor([3]) };
      o.self = o;
      o.list = [o, [o.t]];
      zeros([5]); // freed
      return o;
    });
    expect(memory().tensors).toBe(before.tensors + 2);
    (out.t as Tensor).dispose(); (out.other as Tensor).dispose();
    expect(memory()).toEqual(before);
  });

  it('fit validates everything before the first step', () => {
    const conv = new nn.Conv2D(1, 1, [1, 2], { bias: false, seed: 2 });
    const x = tensor(new Float32Array(48).fill(1), [1, 1, 6, 8]), y = zeros([1, 1, 6, 7]);
    const w0 = Array.from(conv.weight.data());
    unchanged(() => fit(conv, x, y, { epochs: 2, lr: 0.1, onEpoch: 'print' as unknown as () => void }), TypeError, /onEpoch must be a function, got the string "print"/);
    unchanged(() => fit(conv, x, y, { epochs: 2, lr: 0.1, log: -1 }), RangeError, /log must be true, a positive integer or a function, got -1/);
    unchanged(() => fit({ forward: () => 3 as unknown as Tensor, parameters: () => conv.parameters() }, x, y, { epochs: 1, lr: 0.1 }), TypeError, /model.forward must return a Tensor, got 3/);
    unchanged(() => fit(conv, x, y, { epochs: 1, lr: 0.1, loss: () => 5 as unknown as Tensor }), TypeError, /the loss function must return a Tensor, got 5/);
    const y6 = zeros([1, 1, 6, 6]);
    unchanged(() => fit(conv, x, y6, { epochs: 1, lr: 0.1 }), ShapeError, /model output shape \[1, 1, 6, 7\] does not match y shape \[1, 1, 6, 6\]/);
    expect(Array.from(conv.weight.data())).toEqual(w0);
    expect(conv.weight.grad).toBeNull();
    for (const t of [x, y, y6]) t.dispose();
    conv.dispose();
  });

  it('String() of a tensor with 2^27 elements prints PyTorch\'s summary', async () => {
    await init({ threads: 1, maxMemoryMB: 1024, replace: true });
    const t = zeros([2 ** 13, 2 ** 14]);
    expect(String(t)).toBe('tensor([[0., 0., 0.,  ..., 0., 0., 0.],\n        [0., 0., 0.,  ..., 0., 0., 0.],\n        [0., 0., 0.,  ..., 0., 0., 0.],\n        ...,\n        [0., 0., 0.,  ..., 0., 0., 0.],\n        [0., 0., 0.,  ..., 0., 0., 0.],\n        [0., 0., 0.,  ..., 0., 0., 0.]])');
    t.dispose();
    // Only the printed elements are read: PyTorch's str(torch.arange(2**20, dtype=torch.float32).reshape(2**10, 2**10)).
    const values = new Float32Array(2 ** 20);
    for (let i = 0; i < values.length; i++) values[i] = i;
    const r = tensor(values, [2 ** 10, 2 ** 10]);
    expect(String(r)).toBe('tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.0210e+03, 1.0220e+03,\n         1.0230e+03],\n        [1.0240e+03, 1.0250e+03, 1.0260e+03,  ..., 2.0450e+03, 2.0460e+03,\n         2.0470e+03],\n        [2.0480e+03, 2.0490e+03, 2.0500e+03,  ..., 3.0690e+03, 3.0700e+03,\n         3.0710e+03],\n        ...,\n        [1.0455e+06, 1.0455e+06, 1.0455e+06,  ..., 1.0465e+06, 1.0465e+06,\n         1.0465e+06],\n        [1.0465e+06, 1.0465e+06, 1.0465e+06,  ..., 1.0475e+06, 1.0476e+06,\n         1.0476e+06],\n        [1.0476e+06, 1.0476e+06, 1.0476e+06,  ..., 1.0486e+06, 1.0486e+06,\n         1.0486e+06]])');
    r.dispose();
    await init({ threads: 1, replace: true });
  });
});

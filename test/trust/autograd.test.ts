// Autograd never lies: a graph through freed tensors, or through tensors
// changed in place since they were saved, is refused before anything runs; a
// backward that fails leaves every .grad as it was; any depth works.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, tensor, tidy, memory, noGrad, conv2d, mul, AutogradError, DisposedError, type Tensor,
} from '../../src/index';

/** The .grad of each tensor as plain numbers (null when absent). */
const grads = (...ts: Tensor[]) => ts.map((t) => (t.grad ? Array.from(t.grad.data()) : null));

describe('autograd refuses graphs it cannot differentiate honestly', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('an intermediate freed by dispose() or by its tidy scope makes backward throw, changing nothing', () => {
    const w = tensor([1, 2, 3], undefined, { requiresGrad: true });
    // Freed by dispose(): every op kind on the path.
    for (const make of [(x: Tensor) => x.mul(2), (x: Tensor) => x.reshape([3, 1]), (x: Tensor) => x.exp(), (x: Tensor) => x.add(x)]) {
      const mid = make(w);
      const out = mid.sum();
      mid.dispose();
      expect(() => out.backward()).toThrow(DisposedError);
      expect(() => out.backward()).toThrow(/is part of the graph but was disposed/);
      expect(w.grad).toBeNull();
      out.dispose();
    }
    // Freed by tidy: only the loss was returned.
    const loss = tidy(() => w.mul(3).square().sum());
    expect(() => loss.backward()).toThrow(/was disposed \(by dispose\(\) or the tidy scope that made it\)/);
    expect(w.grad).toBeNull();
    // A leaf disposed.
    const v = tensor([1], undefined, { requiresGrad: true });
    const y = v.mul(w.sum());
    v.dispose();
    expect(() => y.sum().backward()).toThrow(DisposedError);
    expect(w.grad).toBeNull();
    for (const t of [w, loss, y]) t.dispose();
  });

  it('a saved tensor changed by assign() (through itself or any view) since it was recorded is refused, as PyTorch does', () => {
    const a = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const b = tensor([4, 5, 6], undefined, { requiresGrad: true });
    const assigners: Array<[string, (t: Tensor) => void]> = [
      ['assign', (t) => noGrad(() => t.assign([7, 8, 9]))],
      ['assign through a reshape view', (t) => noGrad(() => t.reshape([3, 1]).assign([[7], [8], [9]]))],
      ['an optimizer-style in-place update', (t) => noGrad(() => t.assign(t.mul(2)))],
    ];
    for (const [what, change] of assigners) {
      const y = mul(a, b).sum();   // mul saves a and b
      change(b);
      let err: unknown;
      try { y.backward(); } catch (e) { err = e; }
      expect(err, what).toBeInstanceOf(AutogradError);
      expect((err as Error).message, what).toMatch(/one of the variables needed for gradient computation has been modified by an inplace operation: tensor #\d+ with shape \[3\], saved by mul, is at version \d+; expected version \d+ instead/);
      expect(grads(a, b), what).toEqual([null, null]);
      y.dispose();
    }
    // conv2d saves its weight: a training step between forward and backward is refused.
    const x = tensor([[[[1, 2, 3, 4]]]]), w = tensor([[[[1, -1]]]], undefined, { requiresGrad: true });
    const out = conv2d(x, w).sum();
    noGrad(() => w.assign([[[[0.5, 0.5]]]]));
    expect(() => out.backward()).toThrow(/saved by conv2d/);
    expect(w.grad).toBeNull();
    for (const t of [a, b, x, w, out]) t.dispose();
  });

  it('a backward that fails halfway (out of memory) leaves every .grad and the graph as they were', async () => {
    await init({ threads: 1, maxMemoryMB: 16, replace: true });
    const a = tensor(new Float32Array(1000).fill(0.5), [1000], { requiresGrad: true });
    const b = tensor(new Float32Array(1000).fill(2), [1000], { requiresGrad: true });
    const ones = tensor(new Float32Array(1000).fill(1), [1000, 1]);
    // y = sum(b broadcast to 1000 x 1000) + sum(a): a's gradient is complete (a leaf is
    // reached) before the broadcast branch needs two 4 MB temporaries.
    const graph = () => {
      const wide = mul(b.reshape([1, 1000]), ones);   // 4 MB, alive as part of the graph
      return { wide, y: wide.sum().add(a.sum()) };
    };
    const first = graph();
    first.y.backward();
    expect(grads(a, b)).toEqual([new Array(1000).fill(1), new Array(1000).fill(1000)]);
    first.wide.dispose(); first.y.dispose();
    const { wide, y } = graph();
    // Fill the memory, then free room for one of the two temporaries.
    const fillers: Tensor[] = [];
    for (let n = 1 << 20; n >= 256; n >>= 1) {
      for (;;) { try { fillers.push(tensor(new Float32Array(n), [n])); } catch { break; } }
    }
    expect(fillers[0].size).toBe(1 << 20);
    fillers.shift()!.dispose();
    const mid = memory();
    let err: unknown;
    try { y.backward(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/cannot allocate/);
    expect(grads(a, b)).toEqual([new Array(1000).fill(1), new Array(1000).fill(1000)]);
    expect(memory()).toMatchObject({ tensors: mid.tensors, bytes: mid.bytes });
    // The graph is intact: with memory back, the same backward succeeds and adds once.
    for (const t of fillers) t.dispose();
    y.backward();
    expect(grads(a, b)).toEqual([new Array(1000).fill(2), new Array(1000).fill(2000)]);
    for (const t of [a, b, ones, wide, y]) t.dispose();
    await init({ threads: 1, replace: true });
  });

  it('backward works on a graph 10,000 ops deep (and 100,000), iteratively', () => {
    for (const depth of [10_000, 100_000]) {
      const x = tensor([1.5], undefined, { requiresGrad: true });
      const before = memory().tensors;
      const y = tidy(() => {
        let h: Tensor = x;
        for (let i = 0; i < depth; i++) h = h.add(1e-3);
        return h.sum();
      });
      // The intermediates were freed by tidy: refused, not a stack overflow.
      expect(() => y.backward()).toThrow(DisposedError);
      y.dispose();
      let h: Tensor = x;
      const chain: Tensor[] = [];
      for (let i = 0; i < depth; i++) { h = h.mul(i % 2 ? 0.5 : 2); chain.push(h); }
      h.sum().backward();
      expect(x.grad!.item()).toBe(1);
      for (const t of chain) t.dispose();
      x.dispose();
      expect(memory().tensors).toBeLessThanOrEqual(before + 1);
    }
  });
});

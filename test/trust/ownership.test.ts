// One owner per block: a tensor's claim on its memory is released exactly once,
// whichever of dispose(), tidy, keep and the garbage-collection safety net
// comes first, so two live tensors never share memory they do not both view.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, zeros, ones, full, tidy, keep, memory, rand, reshape, permute, sum } from '../../src/index';
import { memoryHint } from '../../src/engine';

const gc = (globalThis as { gc?: () => void }).gc;
// Finalizers run as tasks some time after a collection; on a loaded machine that can take a few
// turns of the event loop. Collects three times, then waits (up to 2 s) until `done` holds.
const collect = async (done: () => boolean = () => true) => {
  for (let i = 0; i < 3; i++) { gc!(); await new Promise((r) => setTimeout(r, 0)); }
  for (let t = 0; t < 200 && !done(); t++) { gc!(); await new Promise((r) => setTimeout(r, 10)); }
};

describe('ownership', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it.runIf(typeof gc === 'function')('a disposed tensor returned from tidy or passed to keep is never freed a second time', async () => {
    const before = memory();
    (() => {
      tidy(() => { const t = zeros([16]); t.dispose(); return t; });
      const k = zeros([16]); k.dispose(); keep(k);
      const both = tidy(() => { const t = zeros([16]); keep(t); t.dispose(); return [t, t]; });
      void both;
    })();
    await collect();
    // Were any block freed twice, these two live tensors would share memory.
    const a = full([16], 1), b = full([16], 2);
    const c = full([16], 3), d = full([16], 4);
    expect([a, b, c, d].map((t) => t.data()[0])).toEqual([1, 2, 3, 4]);
    expect(memory().tensors).toBe(before.tensors + 4);
    for (const t of [a, b, c, d]) t.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it.runIf(typeof gc === 'function')('tensors dropped without dispose() are freed by the safety net, once, and views keep their storage alive', async () => {
    const before = memory();
    // The count an out-of-memory error reports of tensors in no tidy() scope follows the safety net too.
    const inNoScope = () => Number(/(\d+) of them in no tidy/.exec(memoryHint())?.[1] ?? 0);
    const scopeless = inNoScope();
    let view = (() => {
      const base = tensor([1, 2, 3, 4, 5, 6]);
      return base.reshape([2, 3]);            // base is dropped; the view keeps the storage
    })();
    (() => { for (let i = 0; i < 100; i++) rand([64]); })();
    expect(inNoScope()).toBe(scopeless + 102);
    await collect(() => inNoScope() === scopeless + 1);
    expect(inNoScope()).toBe(scopeless + 1);  // the view; its base and the 100 dropped tensors were collected
    const other = full([6], 9);
    expect(view.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(other.toArray()).toEqual(new Array(6).fill(9));
    view = null as unknown as typeof view;
    await collect(() => memory().tensors === before.tensors + 1);
    expect(memory().tensors).toBe(before.tensors + 1);
    expect(inNoScope()).toBe(scopeless + 1);  // other
    other.dispose();
    expect(inNoScope()).toBe(scopeless);
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it('views share storage and its version; disposing one view leaves the others working', () => {
    const before = memory();
    const a = tensor([1, 2, 3, 4]);
    const b = a.reshape([2, 2]), c = b.flatten();
    a.dispose();
    expect(b.toArray()).toEqual([[1, 2], [3, 4]]);
    c.assign([5, 6, 7, 8]);
    expect(b.toArray()).toEqual([[5, 6], [7, 8]]);
    expect(memory().bytes).toBe(before.bytes + 16);   // one storage, however many views
    b.dispose(); c.dispose();
    expect(memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it('a crafted shape array is copied once, validated, and only the copy is used', () => {
    const before = memory();
    // Each read of an index returns a different value: validation and use would disagree.
    let reads = 0;
    const crafted = new Proxy([2, 3], { get(t, k) { if (k === '0') { reads++; return reads === 1 ? 2 : NaN; } return Reflect.get(t, k); } });
    const t = zeros(crafted as number[]);
    expect(t.shape).toEqual([2, 3]);
    expect(reads).toBe(1);
    t.dispose();
    // An iterator that lies about the contents.
    const liar = [4, 4];
    (liar as unknown as { [Symbol.iterator]: () => Iterator<number> })[Symbol.iterator] = function* () { yield 1; };
    const u = ones(liar);
    expect(u.shape).toEqual([4, 4]);
    expect(u.size).toBe(16);
    u.dispose();
    // Getters on option arrays and dims.
    let n = 0;
    const dims = new Proxy([0], { get(tg, k) { if (k === '0') return n++ === 0 ? 0 : 7; return Reflect.get(tg, k); } });
    const s = sum(full([2, 3], 1), dims as number[]);
    expect(s.toArray()).toEqual([2, 2, 2]);
    let m = 0;
    const perm = new Proxy([1, 0], { get(tg, k) { if (k === '1') return m++ === 0 ? 0 : 5; return Reflect.get(tg, k); } });
    expect(permute(tensor([[1, 2, 3]]), perm as number[]).shape).toEqual([3, 1]);
    const r = reshape(tensor([1, 2, 3, 4]), new Proxy([2, 2], { get(tg, k) { return k === '0' ? 2 : Reflect.get(tg, k); } }) as number[]);
    expect(r.shape).toEqual([2, 2]);
    tidy(() => undefined);
    expect(memory().bytes).toBeGreaterThanOrEqual(before.bytes);
    // Every later tensor gets its own memory (a NaN size would alias everything at byte 0).
    const p = full([3], 1), q = full([3], 2);
    expect([p.data()[0], q.data()[0]]).toEqual([1, 2]);
  });

  it('a tensor whose shape array was changed from outside is refused by every op (it could not read past its memory)', () => {
    const t = zeros([2, 3]);
    (t.shape as number[])[0] = 1000;
    expect(() => t.add(1)).toThrow(/the shape of tensor #\d+ was modified to \[1000, 3\]; a tensor's shape is read-only \(it has 6 elements\)/);
    expect(() => sum(t)).toThrow(TypeError);
    (t.shape as number[])[0] = 2;
    (t.shape as number[]).push(7);
    expect(() => reshape(t, [6])).toThrow(/was modified to \[2, 3, 7\]/);
    (t.shape as number[]).pop();
    expect(t.add(1).toArray()).toEqual([[1, 1, 1], [1, 1, 1]]);
    t.dispose();
  });
});

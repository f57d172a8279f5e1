// The init rule: a call with other options is refused while another call is in
// flight or while tensors are live (InitError naming both option sets), unless
// it asks to replace the engine; a replaced or disposed backend ends every
// worker it started.
import { describe, expect, it, vi } from 'vitest';

async function fresh() {
  vi.resetModules();
  return import('../../src/index');
}

describe('init', () => {
  it('refuses other options while an init is in flight, naming both option sets', async () => {
    const m = await fresh();
    const first = m.init({ threads: 1, build: 'simd' });
    await expect(m.init({ threads: 1, build: 'no-simd' })).rejects.toThrow(m.InitError);
    await expect(m.init({ threads: 1, build: 'no-simd' })).rejects.toThrow(
      "init: called with { build: 'no-simd', threads: 1 } while init({ build: 'simd', threads: 1 }) is still in flight; pass replace: true to replace that engine");
    // The same options, or none, share the pending initialisation.
    await Promise.all([m.init({ threads: 1, build: 'simd' }), m.init(), first]);
    const t = m.tensor([1, 2, 3]);
    expect(t.toArray()).toEqual([1, 2, 3]);
    expect(m.backendInfo().build).toBe('simd');
  });

  it('refuses other options while tensors are live; succeeds once they are disposed; replace: true replaces', async () => {
    const m = await fresh();
    await m.init({ threads: 1 });
    const t = m.tensor([1, 2]);
    await expect(m.init({ threads: 1, build: 'no-simd' })).rejects.toThrow(
      /init: the engine runs with \{ threads: 1 \} and 1 tensor is live; init with \{ build: 'no-simd', threads: 1 \} would dispose them/);
    expect(t.toArray()).toEqual([1, 2]);
    t.dispose();
    await m.init({ threads: 1, build: 'no-simd' });
    expect(m.backendInfo().build).toBe('no-simd');
    const u = m.tensor([3]);
    await m.init({ threads: 1, build: 'simd', replace: true });
    expect(u.isDisposed).toBe(true);
    expect(() => u.toArray()).toThrow(m.DisposedError);
    expect(m.memory()).toMatchObject({ tensors: 0, bytes: 0 });
  });

  it('a concurrent init with replace: true waits for the one in flight, then replaces it; fresh tensors of the first caller are refused, not silently wrong', async () => {
    const m = await fresh();
    const a = m.init({ threads: 1, build: 'simd' });
    const b = m.init({ threads: 1, build: 'no-simd', replace: true });
    await a;
    await b;
    expect(m.backendInfo().build).toBe('no-simd');
  });

  it('options are validated before anything happens', async () => {
    const m = await fresh();
    await expect(m.init({ threads: 0 })).rejects.toThrow(RangeError);
    await expect(m.init({ replace: 'yes' as unknown as boolean })).rejects.toThrow(/replace must be a boolean/);
    await expect(m.init({ thread: 2 } as unknown as object)).rejects.toThrow(/unknown option "thread"/);
    expect(() => m.backendInfo()).toThrow(m.NotInitializedError);
  });

  it('a replaced backend ends its workers, including a pool that was being rebuilt', async () => {
    const m = await fresh();
    const { currentBackend } = await import('../../src/engine');
    await m.init({ threads: 2, build: 'simd' });
    const be = currentBackend() as import('../../src/backend/wasm/index').WasmBackend;
    expect(be.pool).not.toBeNull();
    const workers = be.pool!['workers'];
    // Kill a worker: the pool is rebuilt in the background...
    be.pool!.injectFault(1, 2);
    const x = m.tensor(new Float32Array(2 * 16 * 40 * 40), [2, 16, 40, 40]);
    const w = m.tensor(new Float32Array(16 * 16 * 9), [16, 16, 3, 3]);
    expect(() => m.conv2d(x, w, { padding: 1 })).toThrow(m.BackendError);
    expect(be.rebuilding).not.toBeNull();
    const rebuilding = be.rebuilding!;
    // ...and the engine is replaced before the new pool arrives.
    await m.init({ threads: 1, replace: true });
    await rebuilding;
    expect(be.pool).toBeNull();
    expect(be.disposed).toBe(true);
    void workers;
  });
});

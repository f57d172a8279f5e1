// The loader derives each shared-memory build from the plain one by declaring
// its imported memory shared: the rewrite must parse every kind of import and
// leave everything else byte for byte.
import { describe, expect, it } from 'vitest';
import * as binaries from '../src/backend/wasm/binaries.generated';
import { decodeBuild, withSharedMemory } from '../src/backend/wasm/loader';

/** A module importing a function, a table, a global and then a memory (limits given), exporting one function. */
function synthetic(memoryLimits: number[]): Uint8Array {
  const str = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const imports = [
    4,
    ...str('env'), ...str('f'), 0x00, 0x00,                    // func, type 0
    ...str('env'), ...str('t'), 0x01, 0x70, 0x00, 0x01,        // table funcref, min 1
    ...str('env'), ...str('g'), 0x03, 0x7f, 0x00,              // global i32, immutable
    ...str('env'), ...str('memory'), 0x02, ...memoryLimits,    // memory
  ];
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 0, 0]),                              // type 0: () -> ()
    ...section(2, imports),
    ...section(3, [1, 0]),                                       // one function of type 0
    ...section(7, [1, ...str('run'), 0x00, 1]),                  // export "run" = func 1
    ...section(10, [1, 2, 0, 0x0b]),                             // body: end
  ]);
}

describe('withSharedMemory', () => {
  for (const [what, limits] of [['min only', [0x00, 0x11]], ['min and max', [0x01, 0x02, 0x80, 0x01]]] as const) {
    it(`declares the memory import shared with a 4 GiB maximum (${what}), everything else unchanged`, () => {
      const plain = synthetic([...limits]);
      expect(WebAssembly.validate(plain as BufferSource)).toBe(true);
      const shared = withSharedMemory(plain);
      expect(WebAssembly.validate(shared as BufferSource)).toBe(true);
      const m = new WebAssembly.Module(shared as BufferSource);
      expect(WebAssembly.Module.imports(m).map((i) => `${i.name}:${i.kind}`)).toEqual(['f:function', 't:table', 'g:global', 'memory:memory']);
      expect(WebAssembly.Module.exports(m).map((e) => e.name)).toEqual(['run']);
      const memory = new WebAssembly.Memory({ initial: 17, maximum: 65536, shared: true } as WebAssembly.MemoryDescriptor);
      const table = new WebAssembly.Table({ initial: 1, element: 'anyfunc' });
      expect(() => new WebAssembly.Instance(m, { env: { f: () => undefined, t: table, g: 1, memory } })).not.toThrow();
      // A non-shared memory no longer satisfies the import.
      expect(() => new WebAssembly.Instance(m, { env: { f: () => undefined, t: table, g: 1, memory: new WebAssembly.Memory({ initial: 17 }) } })).toThrow();
    });
  }

  it('turns every embedded build into a valid shared-memory module with the same exports', async () => {
    for (const name of ['simd', 'relaxed', 'nosimd', 'debug'] as const) {
      const plain = await decodeBuild(binaries[name]);
      const shared = withSharedMemory(plain);
      if (!WebAssembly.validate(plain as BufferSource)) continue; // relaxed SIMD without the flag
      expect(WebAssembly.validate(shared as BufferSource), name).toBe(true);
      const a = WebAssembly.Module.exports(new WebAssembly.Module(plain as BufferSource)).map((e) => e.name);
      const b = WebAssembly.Module.exports(new WebAssembly.Module(shared as BufferSource)).map((e) => e.name);
      expect(b, name).toEqual(a);
      expect(shared.length - plain.length, name).toBeLessThanOrEqual(4);
    }
  });

  it('refuses a module without a memory import', () => {
    expect(() => withSharedMemory(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]))).toThrow(/no memory import/);
  });
});

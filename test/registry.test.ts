// The kernel registry and the op harness: every family of the registry is
// claimed by an op harness suite (test/ops*.test.ts), which checks on every
// build and thread count that it ran; and the builds agree with the registry.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERNELS, LAYOUTS, abiTable } from '../src/backend/registry';
import * as binaries from '../src/backend/wasm/binaries.generated';
import { decodeBuild } from '../src/backend/wasm/loader';

describe('the kernel registry', () => {
  it('every kernel family is claimed by an op harness suite', () => {
    const claimed = new Set<string>();
    for (const f of readdirSync(__dirname).filter((n) => /^ops.*\.test\.ts$/.test(n))) {
      const src = readFileSync(join(__dirname, f), 'utf8');
      for (const m of src.matchAll(/opSuite\(\s*'[^']*'\s*,\s*\w+\s*,\s*\[([^\]]*)\]/g)) {
        for (const name of m[1].matchAll(/'([a-z0-9_]+)'/g)) claimed.add(name[1]);
      }
    }
    const unclaimed = KERNELS.map((k) => k.name).filter((n) => !claimed.has(n));
    expect(unclaimed, 'families no op harness suite runs').toEqual([]);
  });

  it('names and layouts are unique; every layout fits the parameter block', () => {
    const names = KERNELS.map((k) => k.name);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(LAYOUTS.map((l) => l.name)).size).toBe(LAYOUTS.length);
    for (const k of KERNELS) expect(k.index, k.name).toBe(KERNELS.indexOf(k));
  });

  it('JS and AssemblyScript agree on every constant, op code and parameter offset, in every build', async () => {
    const table = abiTable();
    expect(table.length).toBeGreaterThan(100);
    for (const name of ['simd', 'relaxed', 'nosimd', 'debug'] as const) {
      const bytes = await decodeBuild(binaries[name]);
      if (!WebAssembly.validate(bytes as BufferSource)) continue; // relaxed SIMD without its flag: the relaxed project checks it
      const memory = new WebAssembly.Memory({ initial: 17 });
      const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { memory } }).exports as Record<string, unknown>;
      const abi = ex.abi as (i: number) => number;
      const got = table.map((_, i) => abi(i));
      expect(got, name).toEqual(table.map(([, v]) => v));
      expect(abi(table.length), `${name}: nothing past the registry's table`).toBe(-1);
      // Nothing else: no function with a v128 in its signature reaches JavaScript (build-wasm.mjs silences AS112 on that ground).
      const entries = new Set(KERNELS.flatMap((k) => [`${k.name}_scalar`, `${k.name}_simd`]));
      expect(Object.keys(ex).filter((e) => !entries.has(e)).sort(), name).toEqual(
        ['abi', 'heap_base', 'memory', ...(name === 'nosimd' ? [] : ['simd_peak'])].sort());
      for (const k of KERNELS) {
        expect(typeof ex[`${k.name}_scalar`], `${name}: ${k.name}_scalar`).toBe('function');
        expect(typeof ex[`${k.name}_simd`], `${name}: ${k.name}_simd`).toBe(k.simd && name !== 'nosimd' ? 'function' : 'undefined');
      }
    }
  });
});

import { defineConfig } from 'vitest/config';

// Three projects, all run by `vitest run` (and so by `npm test`):
// - node:    the whole Node suite;
// - detach:  the same suite with every allocation detaching the views of the
//            non-shared memory exactly as a real growth would
//            (WASMCONV_DETACH_VIEWS=1), so that a view kept across an allocation
//            fails loudly instead of reading stale memory;
// - relaxed: the op harness on the relaxed-SIMD builds, in workers that run
//            Node 20 with --experimental-wasm-relaxed-simd.
const common = {
  exclude: ['test/browser/**', 'node_modules/**'],
  testTimeout: 120_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
  execArgv: ['--expose-gc'],
};

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { ...common, name: 'node', include: ['test/**/*.test.ts'] } },
      { test: { ...common, name: 'detach', include: ['test/**/*.test.ts'], exclude: [...common.exclude, 'test/package.test.ts', 'test/types.test.ts'], env: { WASMCONV_DETACH_VIEWS: '1' } } },
      {
        test: {
          ...common, name: 'relaxed', include: ['test/ops*.test.ts'],
          execArgv: ['--expose-gc', '--experimental-wasm-relaxed-simd'],
          env: { WASMCONV_BUILDS: 'relaxed-simd' },
        },
      },
    ],
  },
});

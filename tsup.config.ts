import { defineConfig } from 'tsup';

// One bundle for Node and browsers: the wasm builds are embedded (base64) and
// node: modules are reached only through dynamic imports taken in Node alone.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  // The public declarations leave out everything marked @internal (test/types.test.ts checks them).
  dts: { compilerOptions: { stripInternal: true } },
  platform: 'neutral',
  target: 'es2022',
  sourcemap: false,
  clean: true,
  splitting: false,
  treeshake: true,
});

// PyTorch parity of matmul and linear (fixtures from scripts/parity/matmul.py):
// every form of torch.matmul and torch.nn.functional.linear with and without
// bias, forward and the gradients of every input, on the reference backend and
// on the WebAssembly builds with 1 and 2 threads.
import { beforeAll, describe, it } from 'vitest';
import { init, linear, matmul, tidy, type InitOptions, type Tensor } from '../../src/index';
import { expectTorch, fixture, load } from './helpers';

const { cases } = fixture('matmul');

const configs: Array<[string, InitOptions]> = [
  ['reference', { backend: 'reference' }],
  ['simd, 1 thread', { build: 'simd', threads: 1 }],
  ['no-simd, 1 thread', { build: 'no-simd', threads: 1 }],
  ['simd, 2 threads', { build: 'simd', threads: 2 }],
];

for (const [name, opts] of configs) {
  describe(`matmul and linear parity with PyTorch (${name})`, () => {
    beforeAll(async () => { await init({ ...opts, replace: true }); });
    for (const c of cases) {
      it(c.name, () => {
        tidy(() => {
          const ins: Record<string, Tensor> = {};
          for (const [k, t] of Object.entries(c.inputs)) ins[k] = load(t, true);
          const y = c.name.startsWith('matmul') ? matmul(ins.a, ins.b) : linear(ins.x, ins.w, ins.b);
          expectTorch(y, c.outputs.y, `${c.name}: forward`);
          y.backward(load(c.outputs.dy));
          for (const [k, g] of Object.entries(c.grads)) expectTorch(ins[k].grad, g, `${c.name}: gradient of ${k}`);
          return [];
        });
      });
    }
  });
}

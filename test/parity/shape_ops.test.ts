// PyTorch parity of squeeze, unsqueeze, slice, narrow, select, indexSelect,
// cat, stack, var and std: forward and gradients of every case in
// test/fixtures/parity/shape_ops.json (written by scripts/parity/shape_ops.py
// with PyTorch 1.13), on the WebAssembly backend (1 and 2 threads) and the
// float64 reference backend.
import { describe, it } from 'vitest';
import {
  init, tidy, tensor, squeeze, unsqueeze, slice, narrow, select, indexSelect, cat, stack, std, var as variance, type Tensor,
} from '../../src/index';
import { expectTorch, fixture, load, type FixtureCase } from './helpers';

const { torch, cases } = fixture('shape_ops');

/** Runs a case's op with its arguments as the engine takes them. */
function call(c: FixtureCase, xs: Record<string, Tensor>): Tensor {
  const a = c.args as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const x = xs.x;
  switch (a.op) {
    case 'squeeze': return squeeze(x, a.dim);
    case 'unsqueeze': return unsqueeze(x, a.dim);
    case 'slice': return slice(x, a.start, a.end);
    case 'narrow': return narrow(x, a.dim, a.start, a.length);
    case 'select': return select(x, a.dim, a.index);
    case 'indexSelect': return indexSelect(x, a.dim, typeof a.index === 'number' ? tensor(a.index) : a.index);
    case 'cat': return cat((a.names as string[]).map((n) => xs[n]), a.dim);
    case 'stack': return stack((a.names as string[]).map((n) => xs[n]), a.dim);
    case 'var':
    case 'std': {
      const opts: Record<string, unknown> = {};
      for (const k of ['correction', 'unbiased', 'keepdim']) if (k in a) opts[k] = a[k];
      return (a.op === 'var' ? variance : std)(x, a.dim, opts);
    }
    default: throw new Error(`unknown op ${a.op}`);
  }
}

/** Copies are exact; var and std sum in float32 in another order than PyTorch's. */
function tolerance(c: FixtureCase): { rtol: number; atol: number } {
  return c.args.op === 'var' || c.args.op === 'std' ? { rtol: 1e-5, atol: 1e-6 } : { rtol: 0, atol: 0 };
}

for (const [label, opts] of [
  ['WebAssembly, 1 thread', { threads: 1 }], ['WebAssembly, 2 threads', { threads: 2 }], ['reference backend', { backend: 'reference' }],
] as const) {
  describe(`PyTorch ${torch} parity: shape ops (${label})`, () => {
    it('loads', async () => { await init({ ...opts, replace: true }); });
    for (const c of cases) {
      it(c.name, () => {
        tidy(() => {
          const xs: Record<string, Tensor> = {};
          for (const [k, v] of Object.entries(c.inputs)) xs[k] = load(v, true);
          const y = call(c, xs);
          const tol = tolerance(c);
          expectTorch(y, c.outputs.y, `${c.name}: output`, tol);
          if (!c.outputs.dy) return;
          y.backward(load(c.outputs.dy));
          for (const [k, g] of Object.entries(c.grads)) expectTorch(xs[k].grad, g, `${c.name}: gradient of ${k}`, tol);
        });
      });
    }
  });
}

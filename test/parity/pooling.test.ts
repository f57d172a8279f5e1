// PyTorch parity of pooling, padding and conv2d's paddingMode: forward values,
// max-pooling indices and input gradients against test/fixtures/parity/pooling.json
// (written by scripts/parity/pooling.py with torch 1.13), on the WebAssembly
// backend and the float64 reference backend.
import { beforeAll, describe, expect, it } from 'vitest';
import { adaptiveAvgPool2d, avgPool2d, conv2d, init, maxPool2d, pad, tidy, type Tensor } from '../../src/index';
import { expectTorch, fixture, load, type FixtureCase } from './helpers';

const { cases } = fixture('pooling');

type Args = Record<string, unknown>;
const pair = (v: unknown) => v as number | [number, number];

/** Runs one fixture case: the outputs by name, and the inputs (with their gradients after backward). */
function runCase(c: FixtureCase): { outs: Record<string, Tensor>; ins: Record<string, Tensor> } {
  const a = c.args as Args;
  const grad = Object.keys(c.grads).length > 0;
  const ins: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(c.inputs)) ins[k] = load(t, grad);
  const x = ins.x;
  let outs: Record<string, Tensor>;
  const op = c.name.split(' ')[0];
  if (op === 'max_pool2d') {
    const opts = { stride: a.stride as [number, number] | undefined, padding: a.padding as [number, number] | undefined, dilation: a.dilation as [number, number] | undefined, ceilMode: a.ceil_mode as boolean | undefined };
    if (a.return_indices) {
      const [y, i] = maxPool2d(x, pair(a.kernel_size), { ...opts, returnIndices: true });
      outs = { y, indices: i };
    } else outs = { y: maxPool2d(x, pair(a.kernel_size), opts) };
  } else if (op === 'avg_pool2d') {
    outs = {
      y: avgPool2d(x, pair(a.kernel_size), {
        stride: a.stride as [number, number] | undefined, padding: a.padding as [number, number] | undefined, ceilMode: a.ceil_mode as boolean,
        countIncludePad: a.count_include_pad as boolean, divisorOverride: a.divisor_override as number | undefined,
      }),
    };
  } else if (op === 'adaptive_avg_pool2d') {
    outs = { y: adaptiveAvgPool2d(x, a.output_size as number | [number | null, number | null]) };
  } else if (op === 'pad') {
    const value = a.value === 'inf' ? Infinity : a.value === '-inf' ? -Infinity : (a.value as number | undefined);
    outs = { y: pad(x, a.pad as number[], { mode: a.mode as 'constant', ...(value === undefined ? {} : { value }) }) };
  } else if (op === 'conv2d') {
    outs = {
      y: conv2d(x, ins.weight, {
        bias: ins.bias, padding: a.padding as number, stride: a.stride as number | undefined, dilation: a.dilation as number | undefined,
        groups: a.groups as number | undefined, paddingMode: a.padding_mode as 'reflect',
      }),
    };
  } else throw new Error(`unknown op in ${c.name}`);
  if (grad) outs.y.backward(load(c.outputs.dy));
  return { outs, ins };
}

for (const backend of ['wasm', 'reference'] as const) {
  describe(`pooling parity with PyTorch ${fixture('pooling').torch} (${backend})`, () => {
    beforeAll(async () => { await init({ backend, replace: true }); });
    it('has cases for every op', () => {
      const ops = new Set(cases.map((c) => c.name.split(' ')[0]));
      expect([...ops].sort()).toEqual(['adaptive_avg_pool2d', 'avg_pool2d', 'conv2d', 'max_pool2d', 'pad']);
    });
    for (const c of cases) {
      it(c.name, () => {
        tidy(() => {
          const { outs, ins } = runCase(c);
          for (const [k, t] of Object.entries(c.outputs)) {
            if (k === 'dy') continue;
            // Max pooling and padding move values: exact. Sums: float32 rounding.
            const exact = c.name.startsWith('max_pool2d') || c.name.startsWith('pad ');
            expectTorch(outs[k], t, `${c.name}: ${k}`, exact ? { rtol: 0, atol: 0 } : { rtol: 1e-5, atol: 1e-6 });
          }
          for (const [k, t] of Object.entries(c.grads)) expectTorch(ins[k].grad, t, `${c.name}: gradient of ${k}`, { rtol: 1e-5, atol: 1e-6 });
        });
      });
    }
  });
}

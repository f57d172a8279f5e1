// Parity with PyTorch 1.13 (fixtures from scripts/parity/softmax.py): softmax
// and log_softmax over each dim and at inf/NaN, gather, one_hot, where with
// broadcasting, cross_entropy (every reduction, weights, ignore_index, label
// smoothing, K-dimensional, unbatched, probability targets) and nll_loss;
// forward, and the gradients of sum(y * dy) for PyTorch's dy.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, tidy, softmax, logSoftmax, gather, oneHot, where, nn, type Tensor } from '../../src/index';
import { expectTorch, fixture, load, values, type FixtureCase } from './helpers';

const { torch, cases } = fixture('softmax');

/** Runs a case's op on loaded inputs (targets as a tensor, or as an Int32Array when asked). */
function runOp(c: FixtureCase, t: Record<string, Tensor>, int32: boolean): Tensor {
  const a = c.args as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const target = () => (int32 ? new Int32Array(values(c.inputs.t)) : t.t);
  switch (a.op) {
    case 'softmax': return softmax(t.x, a.dim);
    case 'logSoftmax': return logSoftmax(t.x, a.dim);
    case 'gather': return gather(t.x, a.dim, int32 ? new Int32Array(values(c.inputs.index)) : t.index, int32 ? c.inputs.index.shape : undefined);
    case 'oneHot': return oneHot(int32 ? new Int32Array(values(c.inputs.labels)) : t.labels, a.numClasses);
    case 'where': return where(t.c, t.a ?? a.a, t.b ?? a.b);
    case 'crossEntropy':
    case 'nllLoss': {
      const opts = { reduction: a.reduction, ignoreIndex: a.ignoreIndex, weight: t.w ?? null, ...(a.op === 'crossEntropy' ? { labelSmoothing: a.labelSmoothing } : {}) };
      const probs = c.inputs.t.shape.length === c.inputs.x.shape.length;
      return a.op === 'crossEntropy' ? nn.crossEntropy(t.x, probs ? t.t : target(), opts) : nn.nllLoss(t.x, target(), opts);
    }
    default: throw new Error(`unknown op ${a.op}`);
  }
}

/** Loose where PyTorch and this engine sum in different orders over many terms. */
const TOL = { rtol: 2e-5, atol: 2e-6 };

describe.each([['wasm'], ['reference']] as const)(`PyTorch ${torch} parity: softmax, gather, oneHot, where, losses (%s backend)`, (backend) => {
  beforeAll(async () => { await init({ backend, replace: true }); });

  it('has its cases', () => { expect(cases.length).toBeGreaterThan(90); });

  for (const c of cases) {
    it(c.name, () => {
      tidy(() => {
        const ts: Record<string, Tensor> = {};
        for (const [k, v] of Object.entries(c.inputs)) ts[k] = load(v, k in c.grads);
        const y = runOp(c, ts, false);
        expectTorch(y, c.outputs.y, `${c.name}: forward`, TOL);
        if (c.outputs.dy) {
          y.backward(load(c.outputs.dy));
          for (const [k, g] of Object.entries(c.grads)) expectTorch(ts[k].grad, g, `${c.name}: gradient of ${k}`, TOL);
        }
        // Index arguments given as an Int32Array give the same result.
        // (A flat array of labels makes 1-d labels: only for oneHot's 1-d cases.)
        const classTargets = 't' in c.inputs && c.inputs.t.shape.length !== c.inputs.x.shape.length;
        if (classTargets || 'index' in c.inputs || ('labels' in c.inputs && c.inputs.labels.shape.length === 1)) {
          const ts2: Record<string, Tensor> = {};
          for (const [k, v] of Object.entries(c.inputs)) ts2[k] = load(v);
          expectTorch(runOp(c, ts2, true), c.outputs.y, `${c.name}: forward with an Int32Array`, TOL);
        }
      });
    });
  }
});

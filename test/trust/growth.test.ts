// Memory that really grows while ops and their backward passes run, on the
// threaded (shared-memory) build, where old views keep working at their old
// length: results must not depend on when the memory grew.
import { describe, expect, it } from 'vitest';
import { init, tensor, conv2d, tidy, memory, sum, max, mean, nn, optim, type Tensor } from '../../src/index';
import { currentBackend } from '../../src/engine';
import { Rng } from '../../src/random';
import { expectBitwise, randomArray } from '../helpers';

/** A small training step whose every kernel family runs: conv, element-wise, reductions, optimizer. */
function step(seed: number, grow: () => void): Float32Array[] {
  const rng = new Rng(seed);
  return tidy(() => {
    const conv = new nn.Conv2D(3, 8, 3, { padding: 1, seed });
    const x = tensor(randomArray(2 * 3 * 40 * 40, rng), [2, 3, 40, 40]);
    const target = tensor(randomArray(2 * 8 * 40 * 40, rng), [2, 8, 40, 40]);
    const opt = new optim.Adam(conv.parameters(), { lr: 0.01 });
    const outs: Float32Array[] = [];
    for (let i = 0; i < 3; i++) {
      const y = conv.forward(x).relu();
      grow();
      const loss = nn.mseLoss(y, target).add(mean(y).mul(0.1)).add(max(y, [2, 3]).sum().mul(1e-3));
      grow();
      opt.zeroGrad();
      loss.backward();
      grow();
      opt.step();
      outs.push(loss.data(), conv.weight.data(), conv.bias!.data(), sum(y, [0, 2]).data());
    }
    conv.dispose();
    return outs;
  });
}

describe('memory growth on the shared-memory build', () => {
  it('growing the memory between forward, backward and the optimizer step changes no bit', async () => {
    await init({ threads: 2, build: 'simd', maxMemoryMB: 1024, replace: true });
    expect(currentBackend()!.threads).toBe(2);
    const quiet = step(1, () => undefined);
    const grown: Tensor[] = [];
    const start = memory().wasmBytes;
    const loud = step(1, () => { grown.push(tensor(new Float32Array(4 << 20), [4 << 20])); });
    expect(memory().wasmBytes).toBeGreaterThan(start + 8 * (16 << 20));
    quiet.forEach((q, i) => expectBitwise(loud[i], q, `result ${i}`));
    for (const t of grown) t.dispose();
  });

  it('growing the memory inside an op (its temporaries and outputs past the current end) changes no bit', async () => {
    await init({ threads: 2, build: 'simd', maxMemoryMB: 1024, replace: true });
    const rng = new Rng(3);
    const xs = randomArray(4 * 64 * 28 * 28, rng), ws = randomArray(64 * 64 * 9, rng);
    const run = () => tidy(() => {
      const x = tensor(xs, [4, 64, 28, 28], { requiresGrad: true }), w = tensor(ws, [64, 64, 3, 3], { requiresGrad: true });
      const y = conv2d(x, w, { padding: 1 });
      const s = sum(y.mul(y), [1, 2, 3]).sum();      // reductions with partials, element-wise ops
      s.backward();
      return [y.data(), x.grad!.data(), w.grad!.data(), s.data()];
    });
    const quiet = run();
    // Fill the memory up to its current end, so that every allocation of the next run grows it.
    const fill: Tensor[] = [];
    for (let n = 1 << 20; n >= 16; n >>= 1) {
      for (;;) {
        const end = memory().wasmBytes;
        const t = tensor(new Float32Array(n), [n]);
        if (memory().wasmBytes !== end) { t.dispose(); break; } // full at this size
        fill.push(t);
      }
    }
    const before = memory().wasmBytes;
    const loud = run();
    expect(memory().wasmBytes).toBeGreaterThan(before);
    quiet.forEach((q, i) => expectBitwise(loud[i], q, `result ${i}`));
    for (const t of fill) t.dispose();
  });
});

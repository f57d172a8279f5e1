// The book's LeNet against PyTorch 1.13 (fixture from scripts/parity/lenet.py):
// the same initial weights, the first 20 minibatches of Fashion-MNIST in file
// order, SGD with lr 0.9: every step's loss within 1e-5 relative and the final
// parameters within 1e-4.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, TensorDataset, fit, init, loadMNIST, memory, models, optim } from '../../src/index';
import { settleGarbage } from '../helpers';

interface LenetFixture {
  torch: string; batch: number; lr: number; steps: number; shapes: Record<string, number[]>;
  initial: Record<string, string>; final: Record<string, string>; losses: number[];
}
const FIX: LenetFixture = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'parity', 'lenet.json'), 'utf8'));
const DATA = join(__dirname, '..', 'fixtures', 'fashion-mnist');
const floats = (b64: string) => { const b = Buffer.from(b64, 'base64'); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice(); };

describe('PyTorch parity: LeNet on Fashion-MNIST, 20 minibatches', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it(`every loss within 1e-5 relative, parameters within 1e-4 (torch ${FIX.torch})`, async () => {
    const { images, labels } = await loadMNIST(DATA, 'train');
    expect(images.shape).toEqual([5120, 1, 28, 28]);
    await settleGarbage();
    const before = memory().tensors;
    const net = models.lenet();
    const named = net.namedParameters();
    expect(named.map(([n]) => n)).toEqual(Object.keys(FIX.initial));
    for (const [name, p] of named) {
      expect(p.shape, name).toEqual(FIX.shapes[name]);
      p.assign(floats(FIX.initial[name]));
    }
    const loader = new DataLoader(new TensorDataset(images, labels), { batchSize: FIX.batch });
    const losses: number[] = [];
    const opt = new optim.SGD(net.parameters(), { lr: FIX.lr });
    const { history } = await fit(net, loader, {
      epochs: 1, optimizer: opt, progress: false,
      onBatch: ({ loss }) => { losses.push(loss); },
    });
    expect(history).toHaveLength(1);
    expect(losses).toHaveLength(FIX.steps);
    losses.forEach((l, s) => {
      const e = FIX.losses[s];
      expect(Math.abs(l - e) / Math.abs(e), `step ${s}: loss ${l}, PyTorch ${e}`).toBeLessThan(1e-5);
    });
    for (const [name, p] of named) {
      const got = p.data(), want = floats(FIX.final[name]);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      expect(worst, `${name}: largest difference from PyTorch`).toBeLessThan(1e-4);
    }
    opt.dispose(); net.dispose(); loader.dataset.dispose();
    expect(memory().tensors).toBe(before - 2); // images and labels went with the dataset
  });
});

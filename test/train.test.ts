// fit over a DataLoader, evaluate and predict: the history, metrics,
// validation, early stopping, pausing with an AbortSignal and resuming
// (bitwise the same as never pausing), progress output, flat memory, errors;
// and the shipped Fashion-MNIST subset trained to a stated accuracy with
// bitwise-identical results on one and two threads.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DataLoader, ShapeError, TensorDataset, evaluate, fit, init, loadMNIST, memory, models, nn, optim, predict, randn, tensor,
  transforms, zeros, type BatchLogs, type EpochLogs, type Tensor,
} from '../src/index';
import { settleGarbage } from './helpers';

const DATA = join(__dirname, 'fixtures', 'fashion-mnist');

/** A small classification problem: 4 classes of 2x6x6 images with a class-dependent mean. */
function problem(n: number, seed: number): TensorDataset {
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7 + seed) % 4);
  const noise = randn([n, 2, 6, 6], { seed });
  const shift = tensor(Float32Array.from(labels, (c) => c - 1.5), [n, 1, 1, 1]);
  const x = noise.mul(0.5).add(shift);
  noise.dispose(); shift.dispose();
  return new TensorDataset(x, labels);
}

function smallNet(seed: number): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(2, 4, 3, { padding: 1, seed }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Dropout(0.2, { seed: seed + 1 }), new nn.Linear(36, 4, { seed: seed + 2 }));
}

const params = (m: nn.Module) => m.parameters().map((p) => Array.from(p.data()));

describe('fit over a DataLoader', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('returns one history entry per epoch with loss, accuracy, validation and time; onEpoch gets the same', async () => {
    const train = problem(40, 1), val = problem(24, 2);
    const net = smallNet(1);
    const seen: Array<[number, EpochLogs]> = [];
    const lines: string[] = [];
    const loader = new DataLoader(train, { batchSize: 8, shuffle: true, seed: 1 });
    const r = await fit(net, loader, {
      epochs: 3, optimizer: new optim.Adam(net.parameters(), { lr: 0.01 }), validation: val, metrics: ['accuracy'],
      onEpoch: (e, logs) => { seen.push([e, logs]); }, progress: (l) => lines.push(l),
    });
    expect(r.stopped).toBe('done');
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(seen.map(([e, l]) => [e, l])).toEqual(r.history.map((h) => [h.epoch, h]));
    for (const h of r.history) {
      expect(Object.keys(h).sort()).toEqual(['accuracy', 'epoch', 'loss', 'seconds', 'valAccuracy', 'valLoss']);
      expect(h.loss).toBeGreaterThan(0);
      expect(h.accuracy! * 40 % 1).toBeCloseTo(0, 9);     // a share of 40 samples
      expect(h.valAccuracy! * 24 % 1).toBeCloseTo(0, 9);
      expect(h.seconds).toBeGreaterThan(0);
    }
    expect(r.history[2].loss).toBeLessThan(r.history[0].loss);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^epoch 1\/3 {2}loss \d\.\d{4} {2}accuracy \d\.\d{4} {2}val_loss \d\.\d{4} {2}val_accuracy \d\.\d{4} {2}\d+\.\d s$/);
    // Validation ran in eval mode with no gradients: the model is back in training mode.
    expect(net.training).toBe(true);
    // The epoch loss is the sample-weighted mean of the batch losses.
    const batches: BatchLogs[] = [];
    const again = await fit(net, loader, { epochs: 4, lr: 0.01, progress: false, onBatch: (b) => { batches.push(b); } });
    expect(batches.map((b) => b.batch)).toEqual([0, 1, 2, 3, 4]);
    expect(batches.every((b) => b.epoch === 4 && b.batches === 5 && b.size === 8)).toBe(true);
    expect(again.history[0].loss).toBeCloseTo(batches.reduce((s, b) => s + b.loss * b.size, 0) / 40, 12);
    expect(again.history[0].accuracy).toBeUndefined();
    net.dispose(); train.dispose(); val.dispose();
  });

  it('a pause (abort) and a resume at every batch boundary give bitwise the same training as no pause', async () => {
    const data = problem(30, 3);
    const run = async (pauseAt: number[]) => {
      const net = smallNet(5);
      const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
      const loader = new DataLoader(data, { batchSize: 7, shuffle: true, seed: 4, transform: transforms.randomHorizontalFlip() });
      const losses: number[] = [], history: EpochLogs[] = [];
      let step = 0, calls = 0;
      for (;;) {
        const ctrl = new AbortController();
        calls++;
        const r = await fit(net, loader, {
          epochs: 3, optimizer: opt, metrics: ['accuracy'], progress: false, signal: ctrl.signal,
          onBatch: ({ loss }) => { losses.push(loss); step++; if (pauseAt.includes(step)) ctrl.abort(); },
        });
        history.push(...r.history);
        if (r.stopped === 'done') break;
        expect(r.stopped).toBe('aborted');
      }
      const out = { losses, history: history.map(({ seconds, ...h }) => (void seconds, h)), params: params(net), calls };
      opt.dispose(); net.dispose();
      return out;
    };
    const straight = await run([]);
    expect(straight.losses).toHaveLength(15);
    for (const at of [[1], [4], [5], [6, 7], [2, 9, 10, 14]]) {
      const paused = await run(at);
      expect(paused.calls, `paused at ${at}`).toBe(at.length + 1);
      expect(paused.losses, `paused at ${at}`).toEqual(straight.losses);
      expect(paused.history, `paused at ${at}`).toEqual(straight.history);
      expect(paused.params, `paused at ${at}`).toEqual(straight.params);
    }
    data.dispose();
  });

  it('an abort fired from a timer stops at the next batch boundary; the promise resolves', async () => {
    const data = problem(64, 4);
    const net = smallNet(2);
    const loader = new DataLoader(data, { batchSize: 1 });
    const ctrl = new AbortController();
    let batches = 0;
    setTimeout(() => ctrl.abort(), 5);
    const r = await fit(net, loader, { epochs: 1000, lr: 0.01, progress: false, signal: ctrl.signal, onBatch: () => { batches++; } });
    expect(r.stopped).toBe('aborted');
    expect(batches).toBeGreaterThan(0);
    expect(loader.epoch * 64 + loader.position).toBe(batches);
    net.dispose(); data.dispose();
  });

  it('early stopping: onEpoch or onBatch returning false stops training', async () => {
    const data = problem(16, 5);
    const net = smallNet(3);
    const r = await fit(net, new DataLoader(data, { batchSize: 4 }), { epochs: 10, lr: 0.01, progress: false, onEpoch: (e) => e < 2 });
    expect(r).toMatchObject({ stopped: 'stopped' });
    expect(r.history).toHaveLength(2);
    const loader = new DataLoader(data, { batchSize: 4 });
    const r2 = await fit(net, loader, { epochs: 10, lr: 0.01, progress: false, onBatch: async (b) => b.batch !== 2 });
    expect(r2).toEqual({ history: [], stopped: 'stopped' });
    expect(loader.position).toBe(3);
    net.dispose(); data.dispose();
  });

  it('memory stays flat over epochs', async () => {
    const data = problem(32, 6), val = problem(8, 7);
    const net = smallNet(4);
    const opt = new optim.AdamW(net.parameters(), { lr: 0.01 });
    const loader = new DataLoader(data, { batchSize: 8, shuffle: true, seed: 1, transform: transforms.normalize(0, 2) });
    await fit(net, loader, { epochs: 1, optimizer: opt, validation: val, metrics: ['accuracy'], progress: false });
    await settleGarbage();   // what earlier tests dropped must not be freed during the fits below
    const before = memory();
    await fit(net, loader, { epochs: 6, optimizer: opt, validation: val, metrics: ['accuracy'], progress: false });
    expect(memory().tensors).toBe(before.tensors);
    expect(memory().bytes).toBe(before.bytes);
    opt.dispose(); net.dispose(); data.dispose(); val.dispose();
  });

  it('draws a progress bar only on a terminal', async () => {
    const data = problem(8, 8);
    const net = smallNet(6);
    const out = process.stdout as unknown as { isTTY?: boolean; write: (s: string) => boolean };
    const { isTTY, write } = out;
    const written: string[] = [];
    const log = console.log;
    try {
      out.write = (s: string) => { written.push(s); return true; };
      console.log = (s: string) => { written.push(`${s}\n`); };
      out.isTTY = true;
      await fit(net, new DataLoader(data, { batchSize: 2 }), { epochs: 1, lr: 0.01 });
      const tty = written.join('');
      written.length = 0;
      out.isTTY = false;
      await fit(net, new DataLoader(data, { batchSize: 2 }), { epochs: 1, lr: 0.01 });
      const plain = written.join('');
      // eslint-disable-next-line no-control-regex
      expect(tty).toMatch(/\r\u001b\[Kepoch 1\/1 \[=+ *\] 4\/4 {2}loss/);
      expect(tty).toMatch(/epoch 1\/1 {2}loss \d\.\d{4} {2}\d+\.\d s\n$/);
      expect(plain).not.toMatch(/\r|\[=/);
      expect(plain).toMatch(/^epoch 1\/1 {2}loss \d\.\d{4} {2}\d+\.\d s\n$/);
    } finally {
      out.write = write; out.isTTY = isTTY; console.log = log;
    }
    net.dispose(); data.dispose();
  });

  it('refuses bad options before training, naming them', async () => {
    const data = problem(8, 9);
    const net = smallNet(7);
    const loader = new DataLoader(data, { batchSize: 4 });
    const bad = async (opts: object, re: RegExp, type: ErrorConstructor = TypeError) => {
      await expect(fit(net, loader, opts as never)).rejects.toThrow(re);
      await expect(fit(net, loader, opts as never)).rejects.toBeInstanceOf(type);
    };
    const w0 = params(net);
    await bad({ epochs: 0, lr: 1 }, /fit: epochs must be a positive integer, got 0/, RangeError);
    await bad({ epochs: 1 }, /an optimizer or a learning rate \(lr\) is required/);
    await bad({ epochs: 1, lr: 1, metrics: ['f1'] }, /unknown metric "f1"; the metrics are 'accuracy'/, RangeError);
    await bad({ epochs: 1, lr: 1, metrics: 'accuracy' }, /metrics must be an array/);
    await bad({ epochs: 1, lr: 1, loss: 'hinge' }, /loss must be 'mse', 'sse', 'crossEntropy' or a function, got "hinge"/, RangeError);
    await bad({ epochs: 1, lr: 1, validation: [1] }, /validation must be a DataLoader or a TensorDataset/);
    await bad({ epochs: 1, lr: 1, onEpoch: 3 }, /onEpoch must be a function, got 3/);
    await bad({ epochs: 1, lr: 1, signal: {} }, /signal must be an AbortSignal/);
    await bad({ epochs: 1, lr: 1, progress: 'yes' }, /progress must be a boolean or a function/);
    await bad({ epochs: 1, lr: 1, optimizer: new optim.SGD(net.parameters(), { lr: 1 }) }, /give either optimizer or lr, not both/);
    await expect(fit(net, loader, { epochs: 1, lr: 1, progress: false, loss: () => zeros([2]) })).rejects.toThrow(/the loss must have one element, got shape \[2\]/);
    await expect(fit(net, loader, { epochs: 1, lr: 1, progress: false, loss: 'mse' })).rejects.toBeInstanceOf(ShapeError);
    expect(params(net)).toEqual(w0);
    expect(() => fit({} as never, loader, { epochs: 1, lr: 1 })).toThrow(/fit: model must have forward\(x\) and parameters\(\)/);
    net.dispose(); data.dispose();
  });
});

describe('evaluate and predict', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('evaluate: the mean loss and accuracy over a whole epoch, in eval mode, the mode restored', async () => {
    const data = problem(20, 10);
    const net = smallNet(8);
    const all = predict(net, data.x);
    const want = nn.crossEntropy(all, data.y).item();
    const correct = all.argmax(1).eq(data.y).sum().item();
    const r = await evaluate(net, new DataLoader(data, { batchSize: 6 }));
    expect(r.loss).toBeCloseTo(want, 5);
    expect(r.accuracy).toBe(correct / 20);
    expect(net.training).toBe(true);
    const noAcc = await evaluate(net, data, { metrics: [] });
    expect(Object.keys(noAcc)).toEqual(['loss']);
    expect(noAcc.loss).toBeCloseTo(r.loss, 6);
    // A loader in the middle of an epoch is evaluated over the whole epoch.
    const mid = new DataLoader(data, { batchSize: 6 });
    const b = mid.next()!; b.x.dispose(); b.y.dispose();
    expect((await evaluate(net, mid)).loss).toBeCloseTo(r.loss, 6);
    await expect(evaluate(net, [] as never)).rejects.toThrow(/evaluate: data must be a DataLoader or a TensorDataset/);
    all.dispose(); net.dispose(); data.dispose();
  });

  it('predict: batch by batch in eval mode, equal to one forward pass; the caller owns the result', () => {
    const data = problem(10, 11);
    const net = smallNet(9);
    net.eval();
    const one = net.forward(data.x);
    net.train();
    const before = memory().tensors;
    const p = predict(net, data.x, { batchSize: 3 });
    expect(memory().tensors).toBe(before + 1);
    expect(p.shape).toEqual([10, 4]);
    const a = p.data(), b = one.data();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
    expect(p.requiresGrad).toBe(false);
    expect(net.training).toBe(true);
    expect(() => predict(net, data.x, { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => predict(net, tensor(1))).toThrow(/x must have a batch dimension/);
    const id = new nn.Identity();
    const copy = predict({ forward: (x: Tensor) => id.forward(x), parameters: () => [] }, data.x);
    copy.dispose();
    expect(data.x.isDisposed).toBe(false);
    p.dispose(); one.dispose(); net.dispose(); data.dispose();
  });

  it('the one-batch fit keeps working: progress is the new name of log', () => {
    const lines: string[] = [];
    const conv = new nn.Conv2D(1, 1, [1, 2], { bias: false, seed: 1 });
    const x = randn([1, 1, 4, 5], { seed: 2 }), y = conv.forward(x).detach();
    const { loss } = fit(conv, x, y, { epochs: 4, lr: 0.1, progress: 2 as never, log: undefined });
    expect(loss).toHaveLength(4);
    fit(conv, x, y, { epochs: 2, lr: 0.1, progress: (l) => lines.push(l) });
    expect(lines).toEqual([expect.stringMatching(/^epoch 1, loss/), expect.stringMatching(/^epoch 2, loss/)]);
    expect(() => fit(conv, x, y, { epochs: 1, progress: true, log: true })).toThrow(/give either progress or log/);
    conv.dispose(); x.dispose(); y.dispose();
  });
});

describe('the shipped Fashion-MNIST subset', () => {
  const train = async (threads: number) => {
    await init({ threads, replace: true });
    const tr = await loadMNIST(DATA, 'train'), te = await loadMNIST(DATA, 'test');
    const net = models.lenetModern({ seed: 1 });
    const opt = new optim.AdamW(net.parameters(), { lr: 0.01 });
    const loader = new DataLoader(new TensorDataset(tr.images, tr.labels), { batchSize: 128, shuffle: true, seed: 1 });
    const test = new TensorDataset(te.images, te.labels);
    const { history } = await fit(net, loader, { epochs: 3, optimizer: opt, validation: test, metrics: ['accuracy'], progress: false });
    const out = { history: history.map(({ seconds, ...h }) => (void seconds, h)), params: params(net) };
    opt.dispose(); net.dispose(); loader.dataset.dispose(); test.dispose();
    return out;
  };

  it('LeNet with batch norm and AdamW reaches 0.78 test accuracy in 3 epochs of 5,120 images, bitwise the same on 1 and 2 threads', async () => {
    const one = await train(1);
    expect(one.history.at(-1)!.valAccuracy).toBeGreaterThanOrEqual(0.78);
    const two = await train(2);
    expect(two.history).toEqual(one.history);
    expect(two.params).toEqual(one.params);
  }, 60_000);
});

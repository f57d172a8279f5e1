// Checkpoints: training resumed from a checkpoint taken at any step boundary
// follows bitwise the trajectory of uninterrupted training (on 1 and 2
// threads), and a checkpoint that does not fit is refused with nothing changed.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  init, memory, nn, optim, tidy, randn, manualSeed, getRngState, setRngState,
  DataLoader, TensorDataset, transforms, checkpoint, restoreCheckpoint, saveCheckpoint, loadCheckpoint,
  loadSafetensors, readSafetensorsHeader, saveSafetensors, CheckpointError, StateDictError, SafetensorsError,
  type LoaderState,
} from '../../src/index';

const SAMPLES = 20, BATCH = 6, EPOCHS = 3;
const STEPS = EPOCHS * Math.ceil(SAMPLES / BATCH); // 12

/** Conv, BatchNorm, ReLU, max pooling, Dropout and Linear; the seed changes every weight and the Dropout's generator. */
function build(seed: number, outFeatures = 3): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1, seed }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Dropout(0.3, { seed: seed + 7 }), new nn.Linear(4 * 4 * 4, outFeatures, { seed: seed + 3 }),
  );
}

type Kind = 'adamw' | 'sgd';
interface Run { model: nn.Sequential; optimizer: optim.Optimizer<{ lr: number }>; scheduler: optim.LRScheduler; loader: DataLoader }

function makeRun(ds: TensorDataset, kind: Kind, seed: number): Run {
  const model = build(seed);
  const optimizer = kind === 'adamw'
    ? new optim.AdamW(model.parameters(), { lr: 0.01, weightDecay: 0.05 })
    : new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true });
  const scheduler = kind === 'adamw' ? new optim.StepLR(optimizer, { stepSize: 2, gamma: 0.5 }) : new optim.CosineAnnealingLR(optimizer, { tMax: 3 });
  const loader = new DataLoader(ds, {
    batchSize: BATCH, shuffle: true, seed: seed + 11,
    transform: transforms.compose(transforms.randomCrop(8, { padding: 1 }), transforms.randomHorizontalFlip()),
  });
  return { model, optimizer, scheduler, loader };
}

function disposeRun(r: Run): void { r.model.dispose(); r.optimizer.dispose(); }

/**
 * One training step, written out by hand: the next batch (the scheduler steps
 * when an epoch ends), input noise from the global generator, cross-entropy,
 * backward, the optimizer's step. Returns the loss.
 */
function step(r: Run): number {
  return tidy(() => {
    let b = r.loader.next();
    if (!b) { r.scheduler.step(); b = r.loader.next()!; }
    const x = b.x.add(randn(b.x.shape).mul(0.01));
    const loss = nn.crossEntropy(r.model.forward(x), b.y);
    r.optimizer.zeroGrad();
    loss.backward();
    r.optimizer.step();
    return loss.item();
  });
}

/** Every parameter and buffer's values, by name. */
function snapshot(m: nn.Module): Record<string, number[]> {
  return tidy(() => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data())])));
}

function dataset(): TensorDataset {
  const x = randn([SAMPLES, 1, 8, 8], { seed: 3 });
  return new TensorDataset(x, Array.from({ length: SAMPLES }, (_, i) => i % 3));
}

/** Everything restoreCheckpoint may change, to check that a refused restore changed nothing. */
function everything(r: Run): unknown {
  const opt = r.optimizer.stateDict();
  return {
    model: snapshot(r.model),
    optimizer: {
      groups: opt.param_groups,
      state: Object.entries(opt.state).map(([i, s]) => [i, Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v.data())])]),
    },
    scheduler: r.scheduler.stateDict(),
    loader: r.loader.state(),
    dropout: (r.model.at(5) as nn.Dropout)._rng.state(),
    global: getRngState(),
  };
}

const uninterrupted: Record<string, { losses: number[]; final: Record<string, number[]> }> = {};

describe.each([1, 2])('checkpoints on %i thread(s)', (threads) => {
  let ds: TensorDataset;
  beforeAll(async () => {
    await init({ threads, replace: true });
    ds = dataset();
  });

  describe.each(['adamw', 'sgd'] as Kind[])('%s', (kind) => {
    const title = kind === 'adamw'
      ? 'AdamW, StepLR, Dropout, BatchNorm, shuffled loader with random crops and flips'
      : 'nesterov momentum SGD, CosineAnnealingLR, Dropout, BatchNorm, shuffled loader with random crops and flips';

    it(`resumed at every step boundary 0..${STEPS}, training follows bitwise the uninterrupted trajectory (${title})`, () => {
      const before = memory().tensors;
      manualSeed(1);
      const ref = makeRun(ds, kind, 0);
      const losses = Array.from({ length: STEPS }, () => step(ref));
      const final = snapshot(ref.model);
      disposeRun(ref);
      // The trajectory is the same on any thread count.
      if (uninterrupted[kind]) {
        expect(losses).toEqual(uninterrupted[kind].losses);
        expect(final).toEqual(uninterrupted[kind].final);
      } else uninterrupted[kind] = { losses, final };
      expect(new Set(losses).size).toBe(STEPS);

      for (let k = 0; k <= STEPS; k++) {
        manualSeed(1);
        const first = makeRun(ds, kind, 0);
        for (let i = 0; i < k; i++) expect(step(first), `step ${i}`).toBe(losses[i]);
        const bytes = checkpoint({ model: first.model, optimizer: first.optimizer, scheduler: first.scheduler, loaders: [first.loader], extra: { step: k } });
        disposeRun(first);
        // Another process, another seed everywhere: the checkpoint puts everything back.
        manualSeed(999);
        const second = makeRun(ds, kind, 40);
        const { extra } = restoreCheckpoint(bytes, { model: second.model, optimizer: second.optimizer, scheduler: second.scheduler, loaders: [second.loader] });
        expect(extra).toEqual({ step: k });
        for (let i = k; i < STEPS; i++) expect(step(second), `resumed at ${k}: step ${i}`).toBe(losses[i]);
        expect(snapshot(second.model), `resumed at ${k}: final parameters and buffers`).toEqual(final);
        disposeRun(second);
      }
      expect(memory().tensors).toBe(before);
    });
  });
});

describe('checkpoint contents and errors', () => {
  let ds: TensorDataset;
  beforeAll(async () => {
    await init({ threads: 1, replace: true });
    ds = dataset();
  });

  /** A run three steps in, and its checkpoint. */
  function trained(kind: Kind = 'adamw'): { run: Run; bytes: Uint8Array } {
    manualSeed(5);
    const run = makeRun(ds, kind, 0);
    for (let i = 0; i < 3; i++) step(run);
    return { run, bytes: checkpoint({ model: run.model, optimizer: run.optimizer, scheduler: run.scheduler, loaders: { train: run.loader }, extra: { epoch: 0, note: 'é' } }) };
  }

  it('is a safetensors file: model.<key> (I64 num_batches_tracked), optimizer.state.<i>.<name>, the rest as JSON metadata', () => {
    const { run, bytes } = trained();
    const h = readSafetensorsHeader(bytes);
    const names = h.tensors.map((t) => t.name);
    expect(names.slice(0, 1)).toEqual(['model.1.num_batches_tracked']);
    expect(h.tensors[0].dtype).toBe('I64');
    expect(names).toContain('model.0.weight');
    expect(names).toContain('model.1.running_var');
    expect(names).toContain('optimizer.state.0.exp_avg');
    expect(names).toContain('optimizer.state.5.exp_avg_sq');
    const meta = h.metadata!;
    expect(Object.keys(meta).sort()).toEqual(['extra', 'loaders', 'model', 'optimizer', 'rng', 'scheduler', 'wasmconv.checkpoint']);
    expect(meta['wasmconv.checkpoint']).toBe('1');
    const opt = JSON.parse(meta.optimizer);
    expect(opt.type).toBe('AdamW');
    expect(opt.state['0'].step).toBe(3);
    expect(opt.param_groups[0]).toMatchObject({ lr: 0.01, weight_decay: 0.05, betas: [0.9, 0.999] });
    expect(JSON.parse(meta.scheduler)).toEqual({ type: 'StepLR', state: run.scheduler.stateDict() });
    expect(JSON.parse(meta.loaders)).toEqual({ train: run.loader.state() });
    expect(JSON.parse(meta.rng)).toEqual({ global: getRngState(), modules: { 5: (run.model.at(5) as nn.Dropout)._rng.state() } });
    expect(JSON.parse(meta.extra)).toEqual({ epoch: 0, note: 'é' });
    // The model's tensors load as a state dict.
    tidy(() => {
      const d = loadSafetensors(bytes);
      expect(d['model.1.num_batches_tracked'].item()).toBe(3);
      const model = build(9);
      model.loadStateDict(Object.fromEntries(Object.entries(d).filter(([k]) => k.startsWith('model.')).map(([k, v]) => [k.slice(6), v])));
      expect(snapshot(model)).toEqual(snapshot(run.model));
      model.dispose();
    });
    disposeRun(run);
  });

  it('restores only the parts given; the global generator unless rng: false', () => {
    const { run, bytes } = trained();
    const model = build(20);
    setRngState([1, 2, 3, 4]);
    expect(restoreCheckpoint(bytes, { model, rng: false })).toEqual({ extra: { epoch: 0, note: 'é' }, missingKeys: [], unexpectedKeys: [] });
    expect(getRngState()).toEqual([1, 2, 3, 4]);
    expect(snapshot(model)).toEqual(snapshot(run.model));
    expect((model.at(5) as nn.Dropout)._rng.state()).toEqual((run.model.at(5) as nn.Dropout)._rng.state());
    const saved = JSON.parse(readSafetensorsHeader(bytes).metadata!.rng).global;
    restoreCheckpoint(bytes, {});
    expect(getRngState()).toEqual(saved);
    model.dispose();
    disposeRun(run);
  });

  it('a model of another shape: the StateDictError of loadStateDict, and nothing changes (optimizer, scheduler, loader, generators, memory)', () => {
    const { run, bytes } = trained();
    manualSeed(77);
    const other = makeRun(ds, 'adamw', 30);
    step(other);
    const wrong = build(30, 4);
    const wrongOpt = new optim.AdamW(wrong.parameters(), { lr: 0.01, weightDecay: 0.05 });
    const wrongSched = new optim.StepLR(wrongOpt, { stepSize: 2, gamma: 0.5 });
    const target = { ...other, model: wrong, optimizer: wrongOpt, scheduler: wrongSched };
    const state = everything(target);
    const mem = memory();
    let err: unknown;
    try { restoreCheckpoint(bytes, { model: wrong, optimizer: wrongOpt, scheduler: wrongSched, loaders: { train: other.loader } }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(StateDictError);
    const e = err as StateDictError;
    expect(e.message).toBe('restoreCheckpoint: error(s) in loading the state dict for Sequential:\n'
      + '\tsize mismatch for 6.weight: copying a param with shape [3, 64] from checkpoint, the shape in current model is [4, 64].\n'
      + '\tsize mismatch for 6.bias: copying a param with shape [3] from checkpoint, the shape in current model is [4].');
    expect(e.shapeMismatches).toEqual([{ key: '6.weight', got: [3, 64], expected: [4, 64] }, { key: '6.bias', got: [3], expected: [4] }]);
    expect(everything(target)).toEqual(state);
    expect(memory()).toEqual(mem);
    for (const r of [run, other]) disposeRun(r);
    wrong.dispose(); wrongOpt.dispose();
  });

  it('parts that do not fit are a CheckpointError naming them, with nothing changed', () => {
    const { run, bytes } = trained();
    manualSeed(78);
    const other = makeRun(ds, 'adamw', 30);
    step(other);
    const sgd = new optim.SGD(other.model.parameters(), { lr: 0.1, momentum: 0.9 });
    const cosine = new optim.CosineAnnealingLR(other.optimizer, { tMax: 3 });
    const stepLR = new optim.StepLR(other.optimizer, { stepSize: 3, gamma: 0.5 });
    const noDropout = new nn.Sequential(...other.model.children().filter((m) => !(m instanceof nn.Dropout)));
    const plain = saveSafetensors(other.model);
    const partial = checkpoint({ model: other.model });
    const cases: Array<[Uint8Array, Parameters<typeof restoreCheckpoint>[1], RegExp]> = [
      [bytes, { model: other.model, optimizer: sgd }, /^restoreCheckpoint: the checkpoint holds the state of optimizer AdamW, not of SGD$/],
      [bytes, { scheduler: cosine }, /^restoreCheckpoint: the checkpoint holds the state of scheduler StepLR, not of CosineAnnealingLR$/],
      [bytes, { scheduler: stepLR }, /^restoreCheckpoint: the scheduler's step_size is 2 in the checkpoint and 3 here$/],
      [bytes, { loaders: [other.loader] }, /^restoreCheckpoint: the checkpoint has no state for loader "0" \(it has "train"\)$/],
      [bytes, { model: noDropout }, /^restoreCheckpoint: the model's modules with generators of their own \(Dropout\) are none, the checkpoint's "5"$/],
      [partial, { optimizer: other.optimizer }, /^restoreCheckpoint: the checkpoint has no optimizer state$/],
      [partial, { scheduler: other.scheduler }, /^restoreCheckpoint: the checkpoint has no scheduler state$/],
      [partial, { loaders: { train: other.loader } }, /^restoreCheckpoint: the checkpoint has no state for loader "train"$/],
      [checkpoint({ optimizer: other.optimizer }), { model: other.model }, /^restoreCheckpoint: the checkpoint has no model$/],
      [plain, { model: other.model }, /^restoreCheckpoint: these bytes are a safetensors file but not a checkpoint \(no "wasmconv.checkpoint" metadata\); load a state dict with loadSafetensors$/],
      [saveSafetensors({}, { metadata: { 'wasmconv.checkpoint': '7' } }), {}, /^restoreCheckpoint: checkpoint format "7" is not supported \(this version reads 1\)$/],
      [saveSafetensors({}, { metadata: { 'wasmconv.checkpoint': '1', optimizer: '{"type"' } }), { optimizer: other.optimizer }, /^restoreCheckpoint: the checkpoint's optimizer metadata is not valid JSON: /],
      [saveSafetensors({}, { metadata: { 'wasmconv.checkpoint': '1' } }), {}, /^restoreCheckpoint: the checkpoint has no generator states$/],
    ];
    const state = everything(other);
    const mem = memory();
    for (const [b, targets, message] of cases) {
      let err: unknown = null;
      try { restoreCheckpoint(b, targets); } catch (e) { err = e; }
      expect(err, String(message)).toBeInstanceOf(CheckpointError);
      expect(() => restoreCheckpoint(b, targets)).toThrow(message);
      expect(everything(other)).toEqual(state);
      expect(memory()).toEqual(mem);
    }
    // A generator state that is not one: Rng's TypeError, before any change.
    const badRng = saveSafetensors({}, { metadata: { 'wasmconv.checkpoint': '1', rng: '{"global":[0,0,0,0]}' } });
    expect(() => restoreCheckpoint(badRng, {})).toThrow(/^restoreCheckpoint: the global generator: a generator state is four 32-bit unsigned integers, not all 0, got \[0,0,0,0\]$/);
    expect(everything(other)).toEqual(state);
    // The optimizer's own checks (here: another number of parameter groups) come before any change too.
    const grouped = new optim.AdamW([{ params: other.model.parameters().slice(0, 2) }, { params: other.model.parameters().slice(2) }]);
    let groupsError: unknown;
    try { restoreCheckpoint(bytes, { model: other.model, optimizer: grouped, scheduler: other.scheduler, loaders: { train: other.loader } }); } catch (e) { groupsError = e; }
    expect(groupsError).toBeInstanceOf(RangeError);
    expect((groupsError as Error).message).toBe('AdamW.loadStateDict: the state dict has 1 parameter groups, the optimizer 2');
    expect(everything(other)).toEqual(state);
    expect(memory()).toEqual(mem);
    // A loader position the loader cannot have (a smaller dataset).
    const small = new TensorDataset(ds.x.slice(0, 6), ds.y.slice(0, 6));
    const smallLoader = new DataLoader(small, { batchSize: BATCH });
    const loaded = new DataLoader(ds, { batchSize: BATCH });
    tidy(() => { loaded.next(); });
    const early = checkpoint({ loaders: [loaded] });
    tidy(() => { loaded.next(); });
    const late = checkpoint({ loaders: [loaded] });
    expect(() => restoreCheckpoint(late, { loaders: [smallLoader] })).toThrow(/^restoreCheckpoint: loader "0": the checkpoint is at epoch 0, batch 2, which this loader \(1 batches an epoch\) cannot be at$/);
    expect(smallLoader.state().position).toBe(0);
    restoreCheckpoint(early, { loaders: [smallLoader] });
    expect(smallLoader.state().position).toBe(1);
    small.dispose();
    for (const r of [run, other]) disposeRun(r);
    sgd.dispose();
  });

  it('malformed bytes are a SafetensorsError; bad arguments are TypeErrors and RangeErrors naming them', () => {
    const { run, bytes } = trained();
    const mem = memory();
    expect(() => restoreCheckpoint(bytes.subarray(0, bytes.length - 1), { model: run.model })).toThrow(SafetensorsError);
    expect(() => restoreCheckpoint(bytes.subarray(0, bytes.length - 1), { model: run.model })).toThrow(/^restoreCheckpoint: tensor "optimizer.state.5.exp_avg_sq": data_offsets \[\d+, \d+\] run past the end of the data \(\d+ bytes\)$/);
    expect(() => restoreCheckpoint('x' as never, {})).toThrow(TypeError);
    expect(() => restoreCheckpoint(bytes, null as never)).toThrow(/^restoreCheckpoint: expected the targets \{ model, optimizer, scheduler, loaders \}, got null$/);
    expect(() => restoreCheckpoint(bytes, { modle: run.model } as never)).toThrow(/^restoreCheckpoint: unknown target "modle"; they are model, optimizer, scheduler, loaders, strict, rng$/);
    expect(() => restoreCheckpoint(bytes, { model: {} as never })).toThrow(/^restoreCheckpoint: model must be an nn.Module, got a Object$/);
    expect(() => restoreCheckpoint(bytes, { strict: 1 as never })).toThrow(/^restoreCheckpoint: strict must be a boolean, got 1$/);
    expect(() => restoreCheckpoint(bytes, { loaders: [1] as never })).toThrow(/^restoreCheckpoint: loaders\["0"\] is not a DataLoader, got 1$/);
    expect(() => checkpoint({ model: run.model, extra: { big: 1n } })).toThrow(/^checkpoint: extra is not JSON-serializable: Do not know how to serialize a BigInt$/);
    expect(() => checkpoint({ extra: () => 1 })).toThrow(/^checkpoint: extra is not JSON-serializable \(got a function\)$/);
    expect(() => checkpoint({ optimizer: run.model } as never)).toThrow(/^checkpoint: optimizer must be an optim.Optimizer, got a Sequential$/);
    expect(() => checkpoint({ scheduler: 1 } as never)).toThrow(/^checkpoint: scheduler must be an optim.LRScheduler, got 1$/);
    expect(() => checkpoint({ loaders: run.loader } as never)).toThrow(/^checkpoint: loaders must be an array or an object of DataLoaders, got a DataLoader$/);
    expect(() => checkpoint({ epochs: 1 } as never)).toThrow(/^checkpoint: unknown part "epochs"; they are model, optimizer, scheduler, loaders, extra$/);
    expect(() => checkpoint(null as never)).toThrow(/^checkpoint: expected \{ model, optimizer, scheduler, loaders, extra \}, got null$/);
    expect(memory()).toEqual(mem);
    disposeRun(run);
  });

  it('a non-strict restore loads what matches and reports the rest', () => {
    const { run, bytes } = trained();
    const bigger = new nn.Sequential(...build(3).children(), new nn.Linear(3, 2, { seed: 1 }));
    const r = restoreCheckpoint(bytes, { model: bigger, strict: false });
    expect(r.missingKeys).toEqual(['7.weight', '7.bias']);
    expect(r.unexpectedKeys).toEqual([]);
    expect(snapshot(bigger)['0.weight']).toEqual(snapshot(run.model)['0.weight']);
    expect(() => restoreCheckpoint(bytes, { model: bigger })).toThrow(/Missing key\(s\) in state_dict: "7.weight", "7.bias"\./);
    bigger.dispose();
    disposeRun(run);
  });

  describe('files (Node)', () => {
    let dir: string;
    beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'wasmconv-ckpt-')); });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('saveCheckpoint and loadCheckpoint write and read the same bytes, leaving no temporary file', async () => {
      const { run, bytes } = trained();
      const path = join(dir, 'run.safetensors');
      const before = getRngState();
      await saveCheckpoint(path, { model: run.model, optimizer: run.optimizer, scheduler: run.scheduler, loaders: { train: run.loader }, extra: { epoch: 0, note: 'é' } });
      expect(readdirSync(dir)).toEqual(['run.safetensors']);
      expect(Buffer.compare(Buffer.from(new Uint8Array((await import('node:fs')).readFileSync(path))), Buffer.from(bytes))).toBe(0);
      const other = makeRun(ds, 'adamw', 50);
      const { extra } = await loadCheckpoint(path, { model: other.model, optimizer: other.optimizer, scheduler: other.scheduler, loaders: { train: other.loader } });
      expect(extra).toEqual({ epoch: 0, note: 'é' });
      expect(getRngState()).toEqual(before);
      const resumed = step(other);
      setRngState(before);
      expect(resumed).toBe(step(run));
      await expect(loadCheckpoint(join(dir, 'missing.safetensors'), {})).rejects.toThrow(/ENOENT/);
      await expect(saveCheckpoint('' as never, {})).rejects.toThrow(/^saveCheckpoint: path must be a non-empty string or a URL, got the string ""$/);
      for (const r of [run, other]) disposeRun(r);
    });
  });

  it('a state of a loader mid-epoch is the LoaderState that DataLoader.loadState takes', () => {
    const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 1 });
    tidy(() => { loader.next(); });
    const s: LoaderState = JSON.parse(readSafetensorsHeader(checkpoint({ loaders: [loader] })).metadata!.loaders)['0'];
    expect(s).toEqual(loader.state());
    expect(s.position).toBe(1);
  });
});

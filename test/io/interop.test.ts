// safetensors files between PyTorch and this engine, both ways. The fixtures
// in test/fixtures/interop/ come from scripts/interop/torch_interop.py (PyTorch
// 1.13, Debian's python3-torch), except wasmconv-lenet.safetensors, which the
// first test here writes when WASMCONV_UPDATE_FIXTURES=1 (`npm run
// fixtures:interop` does both, in that order) and otherwise checks byte for
// byte, so that PyTorch's verification of that file keeps holding.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, memory, models, nn, tidy, noGrad, loadSafetensors, readSafetensorsHeader, saveSafetensors,
} from '../../src/index';
import { expectTorch, load, values, type FixtureTensor } from '../parity/helpers';

const DIR = join(__dirname, '..', 'fixtures', 'interop');
const file = (name: string) => new Uint8Array(readFileSync(join(DIR, name)));
const json = <T>(name: string): T => JSON.parse(readFileSync(join(DIR, name), 'utf8')) as T;
const TOL = { rtol: 1e-5, atol: 1e-5 };

interface ModelCase { keys: string[]; input: FixtureTensor; output: FixtureTensor }
interface TorchFixture { torch: string; lenet: ModelCase; bn: ModelCase; dtypes: Record<string, FixtureTensor & { dtype: string }> }
interface TheirOutputs { torch: string; metadata: Record<string, string>; dtypes: Record<string, string>; input: FixtureTensor; output: FixtureTensor }

/** The model of torch_interop.py's bn_net(). */
const bnNet = () => new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 5));

/** The model's eval-mode output on a fixture input, compared with PyTorch's. */
function expectOutputs(net: nn.Module, c: { input: FixtureTensor; output: FixtureTensor }, what: string): void {
  tidy(() => noGrad(() => expectTorch(net.eval().forward(load(c.input)), c.output, what, TOL)));
}

describe('safetensors interop with PyTorch', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('writes the committed wasmconv-lenet.safetensors byte for byte (models.lenet({ seed: 0 }), metadata format: pt)', () => {
    const net = models.lenet({ seed: 0 });
    const bytes = saveSafetensors(net, { metadata: { format: 'pt' } });
    net.dispose();
    const path = join(DIR, 'wasmconv-lenet.safetensors');
    if (process.env.WASMCONV_UPDATE_FIXTURES === '1') writeFileSync(path, bytes);
    expect(existsSync(path), `${path} is missing: run npm run fixtures:interop`).toBe(true);
    expect(Buffer.compare(Buffer.from(file('wasmconv-lenet.safetensors')), Buffer.from(bytes))).toBe(0);
  });

  it("PyTorch's outputs of LeNet loaded from this engine's file match this engine's within 1e-5", () => {
    const theirs = json<TheirOutputs>('wasmconv-lenet-torch.json');
    expect(theirs.metadata).toEqual({ format: 'pt' });
    expect(Object.values(theirs.dtypes).every((d) => d === 'F32')).toBe(true);
    const before = memory().tensors;
    const net = models.lenet({ seed: 0 });
    expectOutputs(net, theirs, 'LeNet on the file PyTorch read');
    net.dispose();
    expect(memory().tensors).toBe(before);
  });

  it("loads PyTorch's LeNet (keys in PyTorch's order) and computes PyTorch's outputs within 1e-5", () => {
    const fx = json<TorchFixture>('torch.json');
    const before = memory().tensors;
    const net = models.lenet({ seed: 5 });
    expect(tidy(() => Object.keys(net.stateDict()))).toEqual(fx.lenet.keys);
    const header = readSafetensorsHeader(file('torch-lenet.safetensors'));
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.tensors.map((t) => t.name).sort()).toEqual([...fx.lenet.keys].sort());
    expect(tidy(() => net.loadStateDict(loadSafetensors(file('torch-lenet.safetensors'))))).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expectOutputs(net, fx.lenet, 'LeNet with PyTorch\'s weights');
    net.dispose();
    expect(memory().tensors).toBe(before);
  });

  it("loads PyTorch's BatchNorm2d model (num_batches_tracked I64 → 3, running statistics) and computes its eval outputs within 1e-5", () => {
    const fx = json<TorchFixture>('torch.json');
    const before = memory().tensors;
    const net = bnNet();
    expect(tidy(() => Object.keys(net.stateDict()))).toEqual(fx.bn.keys);
    const header = readSafetensorsHeader(file('torch-bn.safetensors'));
    expect(header.tensors.find((t) => t.name === '1.num_batches_tracked')).toEqual({ name: '1.num_batches_tracked', dtype: 'I64', shape: [], dataOffsets: [0, 8] });
    tidy(() => net.loadStateDict(loadSafetensors(file('torch-bn.safetensors'))));
    const bn = net.at(1) as nn.BatchNorm2d;
    expect(bn.num_batches_tracked!.item()).toBe(3);
    expect(bn.running_mean!.data().some((v) => v !== 0)).toBe(true);
    expectOutputs(net, fx.bn, 'the BatchNorm model with PyTorch\'s state');
    net.dispose();
    expect(memory().tensors).toBe(before);
  });

  it("writes PyTorch's files back byte for byte after loading them", () => {
    for (const [name, make] of [['torch-lenet.safetensors', () => models.lenet()], ['torch-bn.safetensors', bnNet]] as const) {
      const bytes = file(name);
      const net = make();
      tidy(() => net.loadStateDict(loadSafetensors(bytes)));
      const again = saveSafetensors(net, { metadata: readSafetensorsHeader(bytes).metadata! });
      net.dispose();
      expect(Buffer.compare(Buffer.from(again), Buffer.from(bytes)), name).toBe(0);
    }
  });

  it("converts F16, BF16, F64, I64, I32, I16, I8, U8 and BOOL exactly as PyTorch's .float() (bitwise, -0 and NaN included)", () => {
    const fx = json<TorchFixture>('torch.json');
    const bytes = file('torch-dtypes.safetensors');
    const header = readSafetensorsHeader(bytes);
    const before = memory().tensors;
    tidy(() => {
      const dict = loadSafetensors(bytes);
      expect(Object.keys(dict)).toEqual(header.tensors.map((t) => t.name));
      for (const [name, want] of Object.entries(fx.dtypes)) {
        expect(header.tensors.find((t) => t.name === name)!.dtype, name).toBe(want.dtype);
        const got = dict[name];
        expect(got.shape, name).toEqual(want.shape);
        const a = got.data(), e = values(want);
        const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ue = new Uint32Array(e.buffer, e.byteOffset, e.length);
        for (let i = 0; i < e.length; i++) {
          if (Number.isNaN(e[i])) expect(Number.isNaN(a[i]), `${name}[${i}]`).toBe(true);
          else expect(ua[i], `${name}[${i}]: got ${a[i]}, PyTorch ${e[i]}`).toBe(ue[i]);
        }
      }
    });
    expect(memory().tensors).toBe(before);
  });
});

// README's "Moving a model to PyTorch and to ONNX Runtime": its worked examples
// are the files examples/interop/*.mjs (run here on dist/, which `npm test`
// builds first) and examples/python/*.py (run by `npm run examples:python`,
// never here). The README shows the JavaScript files whole and the Python in
// verbatim excerpts, with the recorded outputs; the JavaScript must still write
// the very files the Python scripts were run on (examples/python/*.safetensors,
// lenet.onnx), byte for byte, and agree with the Python outputs within 1e-5.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, load, loadMNIST, memory, models, predict, tidy } from '../src/index';
import { settleGarbage } from './helpers';

const root = join(__dirname, '..');
const JS = join(root, 'examples', 'interop');
const PY = join(root, 'examples', 'python');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const text = (path: string) => readFileSync(path, 'utf8');
const bytes = (path: string) => readFileSync(path);
const tmp = mkdtempSync(join(tmpdir(), 'wasmconv-examples-'));

/** The README's section, from its heading to the next heading of its level. */
function section(): string {
  const start = readme.indexOf('### Moving a model to PyTorch and to ONNX Runtime\n');
  expect(start, 'README has the section').toBeGreaterThan(0);
  const end = readme.indexOf('\n### ', start + 4);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Fenced blocks of a language in a Markdown text. */
function blocks(markdown: string, lang: string): string[] {
  return [...markdown.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1]);
}

/** Runs an example with node from the repository root; its stdout, with the temp directory's prefix removed. */
async function run(file: string, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(JS, file), ...args], { cwd: root, encoding: 'utf8' });
  return stdout.split(`${tmp}/`).join('');
}

/** The rows of numbers of a printed output (lines of numbers only). */
function rows(out: string): number[][] {
  return out.split('\n').filter((l) => /^-?\d+\.\d+( -?\d+\.\d+)*$/.test(l)).map((l) => l.split(' ').map(Number));
}

/** Every value of `got` within `tol` of `want`, the shapes equal. */
function expectWithin(got: number[][], want: number[][], tol: number, what: string): void {
  expect(got.map((r) => r.length), what).toEqual(want.map((r) => r.length));
  let worst = 0;
  got.forEach((r, i) => r.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - want[i][j])); }));
  expect(worst, `${what}: largest difference ${worst}`).toBeLessThanOrEqual(tol);
}

/** This engine's LeNet outputs, loaded from a safetensors file, on the first four shipped test images. */
async function logitsOf(file: string): Promise<number[][]> {
  const net = models.lenet();
  const dict = await load(file);
  expect(net.loadStateDict(dict)).toEqual({ missingKeys: [], unexpectedKeys: [] });
  for (const t of Object.values(dict)) t.dispose();
  const test = await loadMNIST(join(root, 'test', 'fixtures', 'fashion-mnist'), 'test', { limit: 4 });
  const out = tidy(() => predict(net, test.images).toArray() as number[][]);
  for (const t of [net, test.images, test.labels]) t.dispose();
  return out;
}

beforeAll(async () => { await init({ threads: 1, replace: true }); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("README's examples: moving a model to PyTorch and to ONNX Runtime", () => {
  it('shows every examples/interop/*.mjs whole (importing wasmconv), every recorded output, and Python excerpts that are in the scripts verbatim', () => {
    const s = section();
    const files = readdirSync(JS).filter((f) => f.endsWith('.mjs')).sort();
    expect(files).toEqual(['from-pytorch.mjs', 'serve-onnx.mjs', 'to-pytorch.mjs']);
    const shown = blocks(s, 'js');
    for (const f of files) {
      const code = text(join(JS, f));
      expect(code, f).toContain("from '../../dist/index.js'");
      expect(shown, `README shows ${f} as it is`).toContain(code.split("'../../dist/index.js'").join("'wasmconv'"));
    }
    expect(shown).toHaveLength(files.length);
    const outputs = blocks(s, 'text');
    for (const f of ['interop/to-pytorch.expected.txt', 'interop/serve-onnx.expected.txt', 'python/lenet_from_wasmconv.expected.txt',
      'python/train_ddp.expected.txt', 'python/check_onnx.expected.txt']) {
      expect(outputs, `README shows ${f}`).toContain(text(join(root, 'examples', f)));
    }
    const python = readdirSync(PY).filter((f) => f.endsWith('.py')).map((f) => text(join(PY, f)));
    const excerpts = blocks(s, 'python');
    expect(excerpts.length).toBeGreaterThanOrEqual(3);
    for (const e of excerpts) expect(python.some((p) => p.includes(e)), `README's Python is in examples/python/*.py:\n${e}`).toBe(true);
  });

  it('to-pytorch.mjs prints the recorded output and writes the file lenet_from_wasmconv.py was run on, byte for byte', async () => {
    const out = await run('to-pytorch.mjs', join(tmp, 'lenet-wasmconv.safetensors'));
    expect(out).toBe(text(join(JS, 'to-pytorch.expected.txt')));
    expect(bytes(join(tmp, 'lenet-wasmconv.safetensors')).equals(bytes(join(PY, 'lenet-wasmconv.safetensors')))).toBe(true);
  });

  it("PyTorch's recorded outputs of that file (lenet_from_wasmconv.expected.txt) are this engine's within 1e-5", async () => {
    await settleGarbage();
    const before = memory().tensors;
    const python = text(join(PY, 'lenet_from_wasmconv.expected.txt'));
    const ours = await logitsOf(join(PY, 'lenet-wasmconv.safetensors'));
    expectWithin(ours, rows(python), 1e-5, 'LeNet trained here, in PyTorch');
    const classes = ours.map((r) => r.indexOf(Math.max(...r))).join(' ');
    expect(python).toContain(`predicted classes: ${classes} (true: 9 2 1 1)`);
    expect(memory().tensors).toBe(before);
  });

  it('from-pytorch.mjs loads the file train_ddp.py wrote (DDP on 2 processes) and prints its recorded outputs within 1e-5', async () => {
    const out = await run('from-pytorch.mjs', join(PY, 'lenet-ddp.safetensors'));
    const python = text(join(PY, 'train_ddp.expected.txt'));
    expect(python).toMatch(/^epoch 1: loss \d\.\d{4} \(2 processes, 20 steps each\)\nepoch 2: loss/);
    expect(out.split('\n')[0]).toBe('{ missingKeys: [], unexpectedKeys: [] }');
    expect(rows(out)).toHaveLength(4);
    expectWithin(rows(out), rows(python), 1e-5, 'LeNet trained by PyTorch, here');
    const classes = /predicted classes: .*\)/.exec(python)![0];
    expect(out).toContain(classes);
    // PyTorch trained on from this engine's weights: they changed
    expect(bytes(join(PY, 'lenet-ddp.safetensors')).equals(bytes(join(PY, 'lenet-wasmconv.safetensors')))).toBe(false);
    expectWithin(await logitsOf(join(PY, 'lenet-ddp.safetensors')), rows(python), 1e-5, 'LeNet trained by PyTorch, in-process');
  });

  it('serve-onnx.mjs prints the recorded output and writes the lenet.onnx check_onnx.py was run on; its outputs agree within 1e-5', async () => {
    const out = await run('serve-onnx.mjs', join(PY, 'lenet-wasmconv.safetensors'), join(tmp, 'lenet.onnx'));
    expect(out).toBe(text(join(JS, 'serve-onnx.expected.txt')));
    expect(out).toContain('largest difference from wasmconv: below 1e-5');
    expect(bytes(join(tmp, 'lenet.onnx')).equals(bytes(join(PY, 'lenet.onnx')))).toBe(true);
    const python = text(join(PY, 'check_onnx.expected.txt'));
    expect(python.split('\n')[0]).toBe('onnx.checker: ok (opset 17, 12 nodes: Conv Sigmoid AveragePool Conv Sigmoid AveragePool Flatten Gemm Sigmoid Gemm Sigmoid Gemm)');
    expectWithin(await logitsOf(join(PY, 'lenet-wasmconv.safetensors')), rows(python), 1e-5, 'the ONNX initializers in PyTorch');
  });
});

// The built package, as users get it: `import ... from 'wasmconv'` from ESM and
// `require('wasmconv')` from CommonJS in Node, both by self-reference inside
// this package and from a separate project that installed the packed tarball;
// and a bundle that browsers and bundlers can take (no static node: imports).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(root, 'test', 'fixtures');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Report {
  format: string;
  info: { backend: string; build: string; threads: number; sharedMemory: boolean };
  corr2d: number[][];
  corr2dString: string;
  conv2d: number[][][][];
  big: { shape: number[]; corner: number; edge: number; interior: number; last: number };
  tensors: number;
}

/** Runs a fixture script with Node in `cwd`; returns its JSON report. */
function runScript(script: string, cwd: string): Report {
  const r = spawnSync(process.execPath, [script], { cwd, encoding: 'utf8', timeout: 60_000 });
  const out = `exit ${r.status} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  expect(r.error, out).toBeUndefined();
  expect(r.status, out).toBe(0);  // and it exits by itself: worker threads do not keep it alive
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Report;
}

function checkReport(r: Report, format: string): void {
  expect(r.format).toBe(format);
  expect(r.info.backend).toBe('wasm');
  expect(['relaxed-simd', 'simd', 'no-simd']).toContain(r.info.build);
  expect(r.corr2d).toEqual([[19, 25], [37, 43]]);
  expect(r.corr2dString).toBe('tensor([[19., 25.],\n        [37., 43.]])');
  // 1..9 with [[1, 2], [3, 4]], padding 'same': the extra row/column of zeros at the bottom/right.
  expect(r.conv2d).toEqual([[[[37, 47, 21], [67, 77, 33], [23, 26, 9]]]]);
  // ones(1, 8, 64, 64) with ones(16, 8, 3, 3), padding 1: 8 channels x (4, 6 or 9) taps.
  expect(r.big).toEqual({ shape: [1, 16, 64, 64], corner: 32, edge: 48, interior: 72, last: 32 });
  expect(r.tensors).toBe(9);
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string; main: string; module: string; types: string;
  exports: Record<string, { import: { types: string; default: string }; require: { types: string; default: string } } | string>;
};

beforeAll(() => {
  // `npm test` builds first; build here only when dist/ is missing (e.g. a bare `npx vitest run`).
  if (!existsSync(join(root, 'dist', 'index.js')) || !existsSync(join(root, 'dist', 'index.cjs'))) {
    execFileSync(npm, ['run', 'build'], { cwd: root, stdio: 'pipe', timeout: 600_000 });
  }
}, 600_000);

describe('package.json', () => {
  it("is named wasmconv, with an exports map whose targets exist", () => {
    expect(pkg.name).toBe('wasmconv');
    const dot = pkg.exports['.'] as Exclude<(typeof pkg.exports)['.'], string>;
    const targets = [dot.import.default, dot.import.types, dot.require.default, dot.require.types, pkg.main, pkg.module, pkg.types];
    for (const t of targets) expect(existsSync(join(root, t)), t).toBe(true);
    expect(dot.import.default).toMatch(/\.js$/);
    expect(dot.require.default).toMatch(/\.cjs$/);
  });

  it('packs the files the exports map points to', () => {
    const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
    for (const f of ['package.json', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) expect(files).toContain(f);
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
  });
});

describe('importing the package by name (self-reference inside the package)', () => {
  it("ESM: import { init, tensor, corr2d, conv2d } from 'wasmconv'", () => {
    checkReport(runScript(join(fixtures, 'esm.mjs'), root), 'esm');
  });

  it("CommonJS: require('wasmconv')", () => {
    checkReport(runScript(join(fixtures, 'cjs.cjs'), root), 'cjs');
  });
});

describe('importing the package from another project that installed the tarball', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wasmconv-consumer-'));
    const packed = execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    const tarball = join(dir, (JSON.parse(packed) as Array<{ filename: string }>)[0].filename);
    const dest = join(dir, 'node_modules', 'wasmconv');
    mkdirSync(dest, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', dest, '--strip-components=1']);
    cpSync(join(fixtures, 'esm.mjs'), join(dir, 'esm.mjs'));
    cpSync(join(fixtures, 'cjs.cjs'), join(dir, 'cjs.cjs'));
  }, 180_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('ESM', () => {
    expect(existsSync(join(dir, 'node_modules', 'wasmconv', 'src'))).toBe(false);
    checkReport(runScript(join(dir, 'esm.mjs'), dir), 'esm');
  });

  it('CommonJS', () => {
    checkReport(runScript(join(dir, 'cjs.cjs'), dir), 'cjs');
  });
});

describe('the bundle runs outside Node too', () => {
  const esm = () => readFileSync(join(root, 'dist', 'index.js'), 'utf8');
  const cjs = () => readFileSync(join(root, 'dist', 'index.cjs'), 'utf8');
  /** The worker's program is a string, run only in a worker; its `require` is not the bundle's. */
  const withoutWorkerSource = (s: string) => s.replace(/WORKER_SOURCE\s*=\s*`[\s\S]*?`;/, 'WORKER_SOURCE = ``;');

  it('dist/index.js has no static import of node: modules', () => {
    const src = esm();
    expect(src).not.toMatch(/^\s*import\s[^;]*?\bfrom\s*["']node:/m);
    expect(src).not.toMatch(/^\s*import\s*["']node:/m);
    expect(src).not.toMatch(/^\s*export\s[^;]*?\bfrom\s*["']node:/m);
    // Nor of their bare names.
    expect(src).not.toMatch(/^\s*import\s[^;]*?\bfrom\s*["'](fs|os|path|url|worker_threads|module|child_process)["']/m);
  });

  it('reaches node: modules only through dynamic imports guarded by a Node check', () => {
    const src = withoutWorkerSource(esm());
    const uses = [...src.matchAll(/["']node:[a-z_/]+["']/g)];
    expect(uses.length).toBeGreaterThan(0);
    for (const m of uses) {
      const before = src.slice(Math.max(0, m.index! - 400), m.index);
      const after = src.slice(m.index!, m.index! + 200);
      const context = src.slice(Math.max(0, m.index! - 100), m.index! + 100);
      expect(before, `guard before ${m[0]}:\n${context}`).toMatch(/process\.versions/);
      expect(/import\(\s*(?:\/\*[\s\S]*?\*\/\s*)?(?:specifier|["']node:)/.test(before.slice(-60) + after), `dynamic import of ${m[0]}:\n${context}`).toBe(true);
      expect(before.slice(-20), `require of ${m[0]}`).not.toMatch(/require\(\s*$/);
    }
  });

  it('neither bundle requires fs, and dist/index.js calls no require() outside the worker source', () => {
    for (const src of [esm(), cjs()]) {
      expect(src).not.toMatch(/require\(\s*["'](node:)?fs(\/promises)?["']\s*\)/);
      expect(src).not.toMatch(/from\s*["'](node:)?fs(\/promises)?["']/);
    }
    expect(withoutWorkerSource(esm())).not.toMatch(/\brequire\(/);
  });
});

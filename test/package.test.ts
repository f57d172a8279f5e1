// The built package, as users get it: `import ... from 'wasmconv'` from ESM and
// `require('wasmconv')` from CommonJS in Node, both by self-reference inside
// this package and from a separate project that installed the packed tarball;
// and a bundle that browsers and bundlers can take (no static node: imports).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distSettled, distSignature, ensureDist, npm, packInto, root } from './pack';

const fixtures = join(root, 'test', 'fixtures');

interface Report {
  format: string;
  info: { backend: string; build: string; threads: number; sharedMemory: boolean };
  corr2d: number[][];
  corr2dString: string;
  conv2d: number[][][][];
  big: { shape: number[]; corner: number; edge: number; interior: number; last: number };
  tensors: number;
}

/** Runs a fixture script with Node in `cwd`; returns the result and whether dist/ changed meanwhile. */
function spawnScript(script: string, cwd: string) {
  const before = distSignature();
  const r = spawnSync(process.execPath, [script], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { r, distChanged: distSignature() !== before || before === '' };
}

/**
 * Runs a fixture script with Node in `cwd` and returns its JSON report. When it
 * runs against this checkout's dist/ and dist/ was rebuilt meanwhile, it waits
 * for the rebuild and runs once more.
 */
async function runScript(script: string, cwd: string, live: boolean): Promise<Report> {
  let { r, distChanged } = spawnScript(script, cwd);
  if (live && (r.status !== 0 || r.error) && distChanged && (await distSettled(120_000))) ({ r } = spawnScript(script, cwd));
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

beforeAll(async () => {
  expect(await ensureDist(), 'dist/ is complete and stable').toBe(true);
}, 900_000);

describe('package.json', () => {
  it("is named wasmconv, with an exports map whose targets exist", async () => {
    await distSettled(120_000);
    expect(pkg.name).toBe('wasmconv');
    const dot = pkg.exports['.'] as Exclude<(typeof pkg.exports)['.'], string>;
    const targets = [dot.import.default, dot.import.types, dot.require.default, dot.require.types, pkg.main, pkg.module, pkg.types];
    for (const t of targets) expect(existsSync(join(root, t)), t).toBe(true);
    expect(dot.import.default).toMatch(/\.js$/);
    expect(dot.require.default).toMatch(/\.cjs$/);
  });

  it('packs the files the exports map points to', async () => {
    await distSettled(120_000);
    const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
    for (const f of ['package.json', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) expect(files).toContain(f);
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
  });
});

describe('importing the package by name (self-reference inside the package)', () => {
  it("ESM: import { init, tensor, corr2d, conv2d } from 'wasmconv'", async () => {
    checkReport(await runScript(join(fixtures, 'esm.mjs'), root, true), 'esm');
  });

  it("CommonJS: require('wasmconv')", async () => {
    checkReport(await runScript(join(fixtures, 'cjs.cjs'), root, true), 'cjs');
  });
});

describe('importing the package from another project that installed the tarball', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmconv-consumer-'));
    const dest = join(dir, 'node_modules', 'wasmconv');
    // Pack a settled dist/ (packing during a concurrent rebuild would miss files).
    const tarball = await packInto(dir);
    mkdirSync(dest, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', dest, '--strip-components=1']);
    cpSync(join(fixtures, 'esm.mjs'), join(dir, 'esm.mjs'));
    cpSync(join(fixtures, 'cjs.cjs'), join(dir, 'cjs.cjs'));
  }, 600_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('ESM', async () => {
    expect(existsSync(join(dir, 'node_modules', 'wasmconv', 'src'))).toBe(false);
    checkReport(await runScript(join(dir, 'esm.mjs'), dir, false), 'esm');
  });

  it('CommonJS', async () => {
    checkReport(await runScript(join(dir, 'cjs.cjs'), dir, false), 'cjs');
  });
});

describe('the bundle runs outside Node too', () => {
  let esmText = '', cjsText = '';
  beforeAll(async () => {
    await distSettled(120_000);
    esmText = readFileSync(join(root, 'dist', 'index.js'), 'utf8');
    cjsText = readFileSync(join(root, 'dist', 'index.cjs'), 'utf8');
  }, 180_000);
  const esm = () => esmText;
  const cjs = () => cjsText;
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

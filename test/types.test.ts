// The published types, as TypeScript users get them: a separate project
// installs the packed tarball (npm pack, then npm install --offline) and this
// repository's `tsc` compiles it with `--strict --noEmit --skipLibCheck false`
// (so dist/index.d.ts itself is checked too), once with `nodenext` module
// resolution (a Node project: @types/node, no DOM) and once with `bundler`
// (a browser project: the DOM library, no @types/node). The project holds:
//
// - test/fixtures/consumer/api.ts: the public API used broadly, with the types
//   it gets back pinned;
// - test/fixtures/consumer/cjs.cts (nodenext only): the CommonJS side, whose
//   `require` resolves to dist/index.d.cts;
// - readme.ts: every ```ts block of README.md, generated (see readmeModule);
// - test/fixtures/consumer/wrong.ts: deliberately wrong code, which must fail
//   with exactly the errors marked on its lines, so that the test cannot pass
//   vacuously (every import resolving to `any` would not produce them).
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, npm, packInto, root } from './pack';

const fixtures = join(root, 'test', 'fixtures', 'consumer');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

// ---------------------------------------------------------------------------
// README.md's TypeScript blocks as one module
// ---------------------------------------------------------------------------

/** A fenced ```ts (or ```typescript) block of a Markdown text, with the line number of its first line of code. */
interface Snippet { line: number; code: string }

function markdownSnippets(markdown: string): Snippet[] {
  const lines = markdown.split(/\r?\n/);
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const close = new RegExp(`^\\s*\\${fence[0]}{${fence.length},}\\s*$`);
    let j = i + 1;
    while (j < lines.length && !close.test(lines[j])) j++;
    if (lang === 'ts' || lang === 'typescript') {
      const body = lines.slice(i + 1, j).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()));
      out.push({ line: i + 2, code: body.join('\n') });
    }
    i = j;
  }
  return out;
}

/**
 * What the README uses without defining it, declared before its snippets. Add
 * a name here when the README starts using a new one; the failure names it
 * ("Cannot find name ...") with its README line.
 */
const README_GIVENS: Record<string, string> = {
  /** The chapter's edge map: corr2d of its 6x8 image X with the kernel [1, -1]. */
  Y: 'Tensor',
  /** A prediction, in the losses' example. */
  yhat: 'Tensor',
};

/** The names dist/index.d.ts exports, and whether each is a type only. */
function exportedNames(dts: string): Array<{ name: string; typeOnly: boolean }> {
  const sf = ts.createSourceFile('index.d.ts', dts, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: Array<{ name: string; typeOnly: boolean }> = [];
  for (const s of sf.statements) {
    if (ts.isExportDeclaration(s) && !s.moduleSpecifier && s.exportClause && ts.isNamedExports(s.exportClause)) {
      for (const e of s.exportClause.elements) out.push({ name: e.name.text, typeOnly: s.isTypeOnly || e.isTypeOnly });
    } else if (ts.canHaveModifiers(s) && ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      const name = (s as ts.DeclarationStatement).name;
      if (name && ts.isIdentifier(name)) out.push({ name: name.text, typeOnly: ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s) });
    }
  }
  return out;
}

/**
 * README.md's ```ts blocks as one module, with a map from its lines back to
 * README lines (null for lines of the prelude).
 *
 * The README reads as one session: a later snippet uses what an earlier one
 * made (`img`, `conv`, `loss`) and sometimes makes a name again (`w`, `y`,
 * `loss`). So the snippets go, in order, into one async function, each in a
 * block nested inside the previous one: earlier names stay visible and a
 * later declaration shadows them. Import declarations move to the top of the
 * module. The prelude before them
 *
 * - imports from 'wasmconv' every public name the README's own imports do not
 *   bind (its first snippet imports the main ones; later ones use others, such
 *   as `randn` or `backendInfo`, as if imported), and
 * - declares README_GIVENS, the data the README takes as given.
 */
function readmeModule(snippets: Snippet[], exported: Array<{ name: string; typeOnly: boolean }>): { text: string; readmeLine: Array<number | null> } {
  const head: Array<[string, number | null]> = [];
  const body: Array<[string, number | null]> = [];
  const bound = new Set<string>();
  for (const s of snippets) {
    const sf = ts.createSourceFile('snippet.ts', s.code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    let code = s.code;
    for (const st of sf.statements) {
      if (!ts.isImportDeclaration(st) && !ts.isImportEqualsDeclaration(st)) continue;
      const start = st.getStart(sf), end = st.getEnd();
      const first = sf.getLineAndCharacterOfPosition(start).line;
      st.getText(sf).split('\n').forEach((l, k) => head.push([l, s.line + first + k]));
      // Blank the import where it was, keeping the lines in place.
      code = code.slice(0, start) + code.slice(start, end).replace(/[^\n]/g, ' ') + code.slice(end);
      if (ts.isImportEqualsDeclaration(st)) { bound.add(st.name.text); continue; }
      const clause = st.importClause;
      if (clause?.name) bound.add(clause.name.text);
      const nb = clause?.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) bound.add(nb.name.text);
      else if (nb) for (const e of nb.elements) bound.add(e.name.text);
    }
    body.push([`{ // README.md:${s.line}`, null]);
    code.split('\n').forEach((l, k) => body.push([l, s.line + k]));
  }
  // Exports named with a reserved word (`var`) cannot be imported under their own name.
  const reserved = new Set(['var', 'delete', 'new', 'function', 'class', 'default', 'in', 'typeof', 'void']);
  const missing = exported.filter((e) => !bound.has(e.name) && !reserved.has(e.name));
  const lines: Array<[string, number | null]> = [
    ["// README.md's ```ts blocks, generated by test/types.test.ts (see readmeModule there).", null],
  ];
  if (missing.length) lines.push([`import { ${missing.map((e) => (e.typeOnly ? `type ${e.name}` : e.name)).join(', ')} } from 'wasmconv';`, null]);
  lines.push(...head);
  for (const [name, type] of Object.entries(README_GIVENS)) lines.push([`declare const ${name}: ${type};`, null]);
  lines.push(['export async function readme(): Promise<void> {', null], ...body, ['}'.repeat(snippets.length), null], ['}', null]);
  return { text: lines.map((l) => l[0]).join('\n') + '\n', readmeLine: [null, ...lines.map((l) => l[1])] };
}

// ---------------------------------------------------------------------------
// The consumer project
// ---------------------------------------------------------------------------

interface Diagnostic { file: string; line: number; code: string; text: string }

/** Parses `tsc --pretty false` output: `file(line,col): error TSnnnn: message`, continuation lines indented. */
function parseDiagnostics(out: string): Diagnostic[] {
  const ds: Diagnostic[] = [];
  for (const l of out.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(l);
    if (m) ds.push({ file: m[1].replace(/\\/g, '/'), line: Number(m[2]), code: m[4], text: l });
    else if (l.trim() && ds.length) ds[ds.length - 1].text += `\n${l}`;
    else if (l.trim()) ds.push({ file: '', line: 0, code: '', text: l });
  }
  return ds;
}

const MODES = {
  nodenext: {
    flags: ['--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2022', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types')],
    files: ['api.ts', 'readme.ts', 'wrong.ts', 'cjs.cts'],
  },
  bundler: {
    flags: ['--module', 'esnext', '--moduleResolution', 'bundler', '--lib', 'es2022,dom'],
    files: ['api.ts', 'readme.ts', 'wrong.ts'],
  },
} as const;
type Mode = keyof typeof MODES;

let dir = '';
let readme: ReturnType<typeof readmeModule> | null = null;
const runs = new Map<Mode, Promise<{ status: number; ms: number; diagnostics: Diagnostic[]; output: string }>>();

function compile(mode: Mode) {
  const args = [tsc, '--strict', '--noEmit', '--skipLibCheck', 'false', '--pretty', 'false', '--noErrorTruncation',
    '--target', 'es2022', ...MODES[mode].flags, ...MODES[mode].files];
  const t0 = Date.now();
  return new Promise<{ status: number; ms: number; diagnostics: Diagnostic[]; output: string }>((resolve, reject) => {
    execFile(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 180_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') { reject(err); return; }
      const output = `${stdout}${stderr}`;
      resolve({ status: err ? (err.code as number) : 0, ms: Date.now() - t0, diagnostics: parseDiagnostics(output), output });
    });
  });
}

beforeAll(async () => {
  expect(await ensureDist(), 'dist/ is complete and stable').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'wasmconv-types-'));
  const tarball = await packInto(dir);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'wasmconv-types-consumer', private: true, type: 'module' }, null, 2)}\n`);
  // The package has no dependencies: the tarball alone installs offline.
  execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball], { cwd: dir, stdio: 'pipe', timeout: 120_000 });
  for (const f of ['api.ts', 'wrong.ts', 'cjs.cts']) cpSync(join(fixtures, f), join(dir, f));
  const dts = readFileSync(join(dir, 'node_modules', 'wasmconv', 'dist', 'index.d.ts'), 'utf8');
  readme = readmeModule(markdownSnippets(readFileSync(join(root, 'README.md'), 'utf8')), exportedNames(dts));
  writeFileSync(join(dir, 'readme.ts'), readme.text);
  for (const mode of Object.keys(MODES) as Mode[]) {
    const run = compile(mode);
    run.catch(() => undefined);
    runs.set(mode, run);
  }
}, 600_000);

afterAll(async () => {
  await Promise.allSettled(runs.values());
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed declarations', () => {
  it('are self-contained, the same for import and require, and carry no @internal member', () => {
    const pkgDir = join(dir, 'node_modules', 'wasmconv');
    expect(existsSync(join(pkgDir, 'src'))).toBe(false);
    const dts = readFileSync(join(pkgDir, 'dist', 'index.d.ts'), 'utf8');
    expect(readFileSync(join(pkgDir, 'dist', 'index.d.cts'), 'utf8')).toBe(dts);
    expect(dts).not.toMatch(/@internal/);
    // No module augmentation, and nothing imported from files that are not in the package.
    expect(dts).not.toMatch(/declare\s+module\b/);
    expect(dts).not.toMatch(/\bfrom\s*['"]|\bimport\s*\(/);
    // Internal classes do not leak through public signatures.
    for (const name of ['Storage', 'Backend', 'Kernel', 'Buf', 'Block', 'GradFn', 'WasmBackend']) {
      expect(dts, name).not.toMatch(new RegExp(`\\b(class|interface|type)\\s+${name}\\b`));
    }
    const names = exportedNames(dts).map((e) => e.name);
    for (const n of ['Tensor', 'tensor', 'init', 'tidy', 'nn', 'optim', 'fit', 'TensorLike', 'ShapeError']) expect(names).toContain(n);
  });
});

describe.each(Object.keys(MODES) as Mode[])('tsc --strict --skipLibCheck false, %s resolution', (mode) => {
  const result = () => runs.get(mode)!;
  const errorsIn = async (file: string) => (await result()).diagnostics.filter((d) => d.file === file);

  it('compiles the API consumer' + (mode === 'nodenext' ? ' (ESM and CommonJS) and dist/index.d.ts, d.cts' : ' and dist/index.d.ts'), async () => {
    const r = await result();
    const bad = r.diagnostics.filter((d) => d.file !== 'wrong.ts' && d.file !== 'readme.ts');
    expect(bad.map((d) => d.text).join('\n'), `tsc took ${r.ms} ms`).toBe('');
  });

  it('compiles every ```ts block of README.md', async () => {
    const map = readme!.readmeLine;
    const lines = readme!.text.split('\n');
    const errors = (await errorsIn('readme.ts')).map((d) => {
      const at = map[d.line];
      const where = at === null || at === undefined ? `the prelude of readme.ts (line ${d.line})` : `README.md:${at}`;
      return `${where}: ${d.text.replace(/^readme\.ts\(\d+,\d+\): /, '')}\n    ${lines[d.line - 1]?.trim()}`;
    });
    expect(markdownSnippets(readFileSync(join(root, 'README.md'), 'utf8')).length).toBeGreaterThan(0);
    expect(errors.join('\n'), 'README.md snippets that do not compile').toBe('');
  });

  it('rejects the deliberately wrong module with exactly the marked errors', async () => {
    const r = await result();
    expect(r.status).not.toBe(0);
    const src = readFileSync(join(dir, 'wrong.ts'), 'utf8').split('\n');
    const expected = src.flatMap((l, i) => [...l.matchAll(/\/\/ error (TS\d+)/g)].map((m) => `${i + 1}: ${m[1]}`));
    expect(expected.length).toBeGreaterThan(10);
    const got = (await errorsIn('wrong.ts')).map((d) => `${d.line}: ${d.code}`);
    const text = (await errorsIn('wrong.ts')).map((d) => d.text).join('\n');
    expect(got.sort(), text).toEqual(expected.sort());
  });
});

// The built package as npm packs it, for the tests that use it from outside
// (test/package.test.ts runs it, test/types.test.ts compiles against its types).
// Other work on this checkout may be rebuilding dist/ meanwhile (the build
// cleans it first), so everything here waits for a complete, stable dist/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const DIST = ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts'].map((f) => join(root, 'dist', f));

/** Sizes and times of the dist files ('' when one is missing). */
export function distSignature(): string {
  if (!DIST.every((f) => existsSync(f))) return '';
  try {
    return DIST.map((f) => { const st = statSync(f); return `${st.size}:${st.mtimeMs}`; }).join('|');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until dist/ is complete and has not changed for a moment. Returns false
 * when it stays missing or changing for `timeoutMs`.
 */
export async function distSettled(timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  let last = distSignature();
  while (Date.now() < end) {
    await sleep(750);
    const now = distSignature();
    if (now !== '' && now === last) return true;
    last = now;
  }
  return false;
}

/**
 * Makes sure dist/ exists and is stable. `npm test` builds first; this builds
 * only when dist/ is missing (e.g. a bare `npx vitest run`) and no concurrent
 * build brings it back within a while.
 */
export async function ensureDist(): Promise<boolean> {
  if (distSignature() === '' && !(await distSettled(30_000))) await buildOnce();
  return distSettled(120_000);
}

/**
 * Runs `npm run build` unless dist/ exists, one test file at a time (they run
 * in separate processes): a lock directory in build/ says a build is under
 * way; one left behind by a killed run expires after 15 minutes.
 */
async function buildOnce(): Promise<void> {
  const lock = join(root, 'build', '.dist-build.lock');
  mkdirSync(dirname(lock), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 900_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      await sleep(1000);
    }
  }
  try {
    if (distSignature() === '') execFileSync(npm, ['run', 'build'], { cwd: root, stdio: 'pipe', timeout: 600_000 });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Packs the package into `dir` (`npm pack`, no scripts) from a settled dist/,
 * packing again when dist/ changed meanwhile. Returns the tarball's path.
 */
export async function packInto(dir: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    await distSettled(120_000);
    const before = distSignature();
    const packed = execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    const tarball = join(dir, (JSON.parse(packed) as Array<{ filename: string }>)[0].filename);
    if ((before !== '' && distSignature() === before) || attempt === 3) return tarball;
  }
}

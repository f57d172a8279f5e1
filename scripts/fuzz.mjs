// Fuzzing, in two phases of half the time each:
//  1. the property-based tests (test/properties.test.ts) for longer; each property
//     gets half of the phase, and fast-check prints a reproducible counterexample
//     (seed and path) when one fails;
//  2. the oversubscribed pool stress (scripts/stress.mjs): conv2d on 8 and 16
//     threads with background load on every core, every result compared bitwise
//     with one thread.
//   npm run fuzz -- --seconds 120 [--seed 7]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const seconds = Number(opt('--seconds', 60));
const seed = Number(opt('--seed', Date.now() % 2 ** 31));
if (!(seconds > 0)) {
  console.error(`--seconds needs a positive number, got ${opt('--seconds')}`);
  process.exit(2);
}
const half = seconds / 2;
console.log(`fuzzing for ${seconds} s with seed ${seed}: property tests for ${half} s, then the pool stress for ${half} s`);
const props = spawnSync('npx', ['vitest', 'run', 'test/properties.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_SECONDS: String(half), FUZZ_SEED: String(seed) },
});
const stress = spawnSync(process.execPath, [fileURLToPath(new URL('./stress.mjs', import.meta.url)), '--seconds', String(half)], {
  stdio: 'inherit',
});
const failed = [props.status !== 0 && 'property tests', stress.status !== 0 && 'pool stress'].filter(Boolean);
if (failed.length) console.error(`fuzz: ${failed.join(' and ')} failed`);
process.exit(failed.length ? 1 : 0);

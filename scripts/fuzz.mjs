// Runs the property-based tests (test/properties.test.ts) for longer:
//   npm run fuzz -- --seconds 120 [--seed 7]
// Each property gets half of the time; fast-check prints a reproducible
// counterexample (seed and path) when one fails.
import { spawnSync } from 'node:child_process';

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
console.log(`fuzzing for ${seconds} s with seed ${seed}`);
const r = spawnSync('npx', ['vitest', 'run', 'test/properties.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_SECONDS: String(seconds), FUZZ_SEED: String(seed) },
});
process.exit(r.status ?? 1);

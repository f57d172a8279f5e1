// Fuzzing, in three phases of a third of the time each:
//  1. the property-based tests (test/properties.test.ts) for longer; each property
//     gets half of the phase, and fast-check prints a reproducible counterexample
//     (seed and path) when one fails;
//  2. the model-based test (test/model.test.ts): random sequences of create / op /
//     backward / assign / dispose / tidy / optimizer step / init against a model of
//     the engine, on 1 and 2 threads (half of the phase each), in normal mode and
//     with WASMCONV_DETACH_VIEWS=1 (the vitest projects `node` and `detach`, side
//     by side); a failure prints the seed, the path (replay it with
//     FUZZ_SEED=<seed> MODEL_PATH=<path> npx vitest run test/model.test.ts) and
//     the engine calls of the shrunk sequence;
//  3. the oversubscribed pool stress (scripts/stress.mjs): conv2d on 8 and 16
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
const phase = seconds / 3;
// Each test runs for at most its share of the phase; shrinking a counterexample may take longer.
const testTimeout = `--testTimeout=${Math.ceil((phase + 600) * 1000)}`;
const env = { ...process.env, FUZZ_SECONDS: String(phase), FUZZ_SEED: String(seed) };
console.log(`fuzzing for ${seconds} s with seed ${seed}: property tests, model test (normal and detached views), pool stress, ${phase.toFixed(1)} s each`);
const props = spawnSync('npx', ['vitest', 'run', 'test/properties.test.ts', testTimeout], { stdio: 'inherit', env });
const model = spawnSync('npx', ['vitest', 'run', 'test/model.test.ts', '--project', 'node', '--project', 'detach', testTimeout], { stdio: 'inherit', env });
const stress = spawnSync(process.execPath, [fileURLToPath(new URL('./stress.mjs', import.meta.url)), '--seconds', String(phase)], {
  stdio: 'inherit',
});
const failed = [props.status !== 0 && 'property tests', model.status !== 0 && 'model test', stress.status !== 0 && 'pool stress'].filter(Boolean);
if (failed.length) console.error(`fuzz: ${failed.join(', ')} failed`);
process.exit(failed.length ? 1 : 0);

// The browser tests: `npm run test:browser` (builds, makes sure Debian's chromium
// is there, then runs vitest with this file). They drive /usr/bin/chromium with
// playwright-core against scripts/serve.mjs and a Vite-built test app, and save
// screenshots under test-results/browser/.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/browser/**/*.browser.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One Chromium at a time: the machines have 2 cores, and the pages' worker
    // pools want them.
    fileParallelism: false,
    reporters: ['default'],
  },
});

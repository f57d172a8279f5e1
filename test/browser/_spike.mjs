import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os'; import { join } from 'node:path';
import { startServer } from '/work/main/scripts/serve.mjs';
const iso = process.argv[2] !== 'no';
const s = await startServer({ port: 0, isolated: iso });
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'chr-')), { executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox','--headless','--disable-gpu','--disable-background-networking','--disable-component-update','--no-first-run','--disable-sync','--disable-quic'] });
const page = await ctx.newPage();
page.on('console', (m) => console.log('console', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror', e.message));
const t0 = Date.now();
await page.goto(s.url + 'test/browser/plain/');
await page.waitForSelector('body[data-done]', { timeout: 30000 });
console.log(Date.now() - t0, 'ms');
console.log(JSON.stringify(await page.evaluate(() => window.__result ?? window.__error)).slice(0, 1500));
await ctx.close(); await s.close();

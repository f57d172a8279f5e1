import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os'; import { join } from 'node:path';
import { startServer } from '/work/main/scripts/serve.mjs';
const iso = process.argv[2] !== 'no';
const s = await startServer({ port: 0, isolated: iso });
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'chr-')), { executablePath: '/usr/bin/chromium', headless: true, viewport: {width: 1200, height: 900},
  args: ['--no-sandbox','--headless','--disable-gpu','--disable-background-networking','--disable-component-update','--no-first-run','--disable-sync','--disable-quic'] });
const page = await ctx.newPage();
page.on('console', (m) => console.log('console', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror', e.message));
const t0 = Date.now();
await page.goto(s.url + (process.argv[3] ?? 'demo/'));
await page.waitForSelector('body[data-ready]', { timeout: 60000 });
console.log(Date.now() - t0, 'ms');
if (process.argv[4]) { await page.click('#bench-run'); await page.waitForSelector('#bench[data-state=done]', { timeout: 60000 }); }
console.log(JSON.stringify(await page.evaluate(() => { const s = window.wasmconvDemo; return { info: s.info, filters: s.filters.map(f => [f.id, f.ms]), learn: s.learn?.weight, bench: s.bench && { js: s.bench.jsMs, one: s.bench.one.ms, all: s.bench.all.ms, allinfo: s.bench.all.info } }; })));
await page.screenshot({ path: '/tmp/demo-' + (iso ? 'iso' : 'noiso') + '.png', fullPage: true });
await ctx.close(); await s.close();

// safetensors and checkpoints in a browser, from the package's ESM build with
// nothing but the import: the page writes the same bytes as Node, reads Blobs,
// fetch Responses and URLs, restores a checkpoint, and save() (which needs
// Node's file system) refuses with a TypeError that says so.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, loadWasmconv, maxDiff, pageResult, screenshot, useChromium } from './helpers';

interface Result {
  checksum: number; length: number; header: Record<string, string>; same: boolean; torchOut: number[];
  extra: unknown; saveError: string | null; tensors: number;
}

const fnv = (b: Uint8Array) => { let h = 0x811c9dc5; for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193) >>> 0; return h; };

const session = useChromium({ isolated: false });

describe('safetensors in a browser', () => {
  it("writes Node's bytes, reads Blobs, Responses and URLs, restores checkpoints; save() needs Node and says so", async () => {
    const wc = await loadWasmconv();
    await wc.init();
    const net = wc.models.lenet({ seed: 0 });
    const bytes = wc.saveSafetensors(net, { metadata: { format: 'pt' } });
    const torchNet = wc.models.lenet();
    const dict = await wc.load(join(REPO, 'test', 'fixtures', 'interop', 'torch-lenet.safetensors'));
    torchNet.loadStateDict(dict);
    const x = wc.randn([2, 1, 28, 28], { seed: 3 });
    const expected = Array.from(torchNet.eval().forward(x).data());

    const { page, w, r } = await pageResult<Result>(session.browser, `${session.server.url}test/browser/io/`);
    await screenshot(page, 'io');
    expect(r.length).toBe(bytes.length);
    expect(r.checksum).toBe(fnv(bytes));
    expect(r.header).toEqual({ format: 'pt' });
    expect(r.same).toBe(true);
    // relaxed SIMD (fused multiply-add) in Chromium vs plain SIMD in Node 20
    expect(maxDiff(r.torchOut, expected)).toBeLessThanOrEqual(1e-5);
    expect(r.extra).toEqual({ page: true });
    expect(r.saveError).toBe('TypeError: save: files need Node; in a browser, use saveSafetensors / loadSafetensors (or checkpoint / restoreCheckpoint) with bytes');
    expect(w.problems, w.log.join('\n')).toEqual([]);
    expect(w.requests.filter((u) => u.startsWith('node:') || /node%3A/.test(u))).toEqual([]);
    await page.close();
  });
});

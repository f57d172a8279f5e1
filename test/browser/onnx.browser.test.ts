// exportOnnx in a browser: a page imports dist/index.js, exports LeNet, and
// serves it with onnxruntime-web's wasm build loaded from node_modules. The
// bytes must be those Node makes (the committed interop fixture) and ONNX
// Runtime's output the page's own forward.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, maxDiff, screenshot, useChromium, watch } from './helpers';

const session = useChromium({ isolated: true });

describe('exportOnnx in Chromium', () => {
  it('exports models.lenet({ seed: 5 }) byte for byte as in Node, and onnxruntime-web in the page agrees with the page\'s forward', async () => {
    const page = await session.browser.context.newPage();
    const w = watch(page);
    await page.goto(`${session.server.url}package.json`);
    const input = Array.from({ length: 2 * 784 }, (_, i) => Math.sin(i) / 2);
    // A string, so that vitest's transform leaves the page's import() alone.
    const code = `(async () => {
      const values = ${JSON.stringify(input)};
      const wc = await import('/dist/index.js');
      await wc.init();
      const net = wc.models.lenet({ seed: 5 }).eval();
      const x = wc.tensor(Float32Array.from(values), [2, 1, 28, 28]);
      const bytes = wc.exportOnnx(net, x);
      const ours = wc.noGrad(() => net.forward(x).data());
      const ort = await import('/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs');
      ort.env.wasm.numThreads = 1;
      const session = await ort.InferenceSession.create(bytes);
      const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(values), [2, 1, 28, 28]) });
      return { isUint8Array: bytes.constructor === Uint8Array, bytes: Array.from(bytes), ours: Array.from(ours), theirs: Array.from(out.output.data), dims: out.output.dims };
    })()`;
    const r = (await page.evaluate(code)) as { isUint8Array: boolean; bytes: number[]; ours: number[]; theirs: number[]; dims: number[] };
    await screenshot(page, 'onnx');
    expect(w.problems, w.log.join('\n')).toEqual([]);
    expect(r.isUint8Array).toBe(true);
    const fixture = readFileSync(join(REPO, 'test', 'fixtures', 'interop', 'lenet.onnx'));
    expect(Buffer.compare(Buffer.from(r.bytes), fixture), 'the browser\'s bytes differ from Node\'s').toBe(0);
    expect(r.dims).toEqual([2, 10]);
    expect(maxDiff(r.theirs, r.ours)).toBeLessThanOrEqual(1e-5);
    await page.close();
  });
});

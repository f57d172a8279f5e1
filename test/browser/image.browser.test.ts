// fromImage and toImageData on the browser's own image types: an ImageData, a
// canvas, an OffscreenCanvas and an ImageBitmap keep their pixels in accessors
// on the prototype, so they are read as Chromium gives them, not as plain
// objects. Every source must give the tensor the same bytes give as a plain
// { data, width, height } object, and toImageData must draw them back exactly.
import { describe, expect, it } from 'vitest';
import { pageResult, useChromium } from './helpers';

interface Run { shape: number[]; values: number[] }
type Modes = { rgb: Run; grey: Run; rgba: Run };
interface Result { plain: Modes; imageData: Modes; canvas: Modes; offscreen: Modes; bitmap: Modes; backIsImageData: boolean; roundTrip: number[]; bytes: number[] }

const session = useChromium({ isolated: false });

describe('images in a browser', () => {
  it('fromImage reads ImageData, canvas, OffscreenCanvas and ImageBitmap as their bytes; toImageData draws them back', async () => {
    const { page, w, r } = await pageResult<Result>(session.browser, `${session.server.url}test/browser/image/`);
    // The plain object against the bytes themselves: channels first, / 255.
    const W = 5, H = 3;
    const expected: number[] = [];
    for (let c = 0; c < 3; c++) for (let i = 0; i < W * H; i++) expected.push(Math.fround(r.bytes[4 * i + c] / 255));
    expect(r.plain.rgb.shape).toEqual([3, H, W]);
    expect(r.plain.rgb.values).toEqual(expected);
    expect(r.plain.grey.shape).toEqual([1, 1, H, W]);
    expect(r.plain.rgba.shape).toEqual([4, H, W]);
    expect(r.plain.rgba.values.slice(3 * W * H)).toEqual(new Array(W * H).fill(255));
    for (const name of ['imageData', 'canvas', 'offscreen', 'bitmap'] as const) {
      expect(r[name], name).toEqual(r.plain);
    }
    expect(r.backIsImageData).toBe(true);
    expect(r.roundTrip).toEqual(r.bytes);
    expect(w.problems, w.log.join('\n')).toEqual([]);
    await page.close();
  });
});

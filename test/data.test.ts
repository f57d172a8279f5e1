// Data: IDX files (gzip and raw, malformed ones), loadMNIST on the shipped
// Fashion-MNIST subset, TensorDataset, the DataLoader (order, shuffling,
// dropLast, positions and their restoration), the per-batch transforms against
// plain JavaScript definitions, and images in and out.
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DataLoader, ShapeError, TensorDataset, fromImage, init, loadMNIST, memory, parseIdx, readIdx, tensor, tidy, toImageData,
  transforms, zeros, type Batch, type Tensor,
} from '../src/index';
import { Rng } from '../src/random';
import { settleGarbage } from './helpers';

const DATA = join(__dirname, 'fixtures', 'fashion-mnist');

/** An IDX file: magic (type, rank), big-endian dimensions, big-endian values. */
function idx(type: number, shape: number[], values: number[]): Uint8Array {
  const size = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[type]!;
  const b = new Uint8Array(4 + 4 * shape.length + values.length * size);
  const v = new DataView(b.buffer);
  b[2] = type; b[3] = shape.length;
  shape.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  const at = 4 + 4 * shape.length;
  values.forEach((x, i) => {
    const o = at + i * size;
    if (type === 0x08) v.setUint8(o, x); else if (type === 0x09) v.setInt8(o, x); else if (type === 0x0b) v.setInt16(o, x);
    else if (type === 0x0c) v.setInt32(o, x); else if (type === 0x0d) v.setFloat32(o, x); else v.setFloat64(o, x);
  });
  return b;
}

const arr = (t: Tensor) => Array.from(t.data());

describe('IDX files', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('decodes every value type, big-endian, with its shape', () => {
    expect(parseIdx(idx(0x08, [2, 3], [0, 1, 2, 253, 254, 255]))).toEqual({ shape: [2, 3], data: Uint8Array.from([0, 1, 2, 253, 254, 255]) });
    expect(parseIdx(idx(0x09, [3], [-128, 0, 127])).data).toEqual(Int8Array.from([-128, 0, 127]));
    expect(parseIdx(idx(0x0b, [2], [-300, 300])).data).toEqual(Int16Array.from([-300, 300]));
    expect(parseIdx(idx(0x0c, [1, 2], [-70000, 2 ** 31 - 1])).data).toEqual(Int32Array.from([-70000, 2 ** 31 - 1]));
    expect(parseIdx(idx(0x0d, [2], [1.5, -0.25])).data).toEqual(Float32Array.from([1.5, -0.25]));
    expect(parseIdx(idx(0x0e, [1], [Math.PI])).data).toEqual(Float64Array.from([Math.PI]));
    expect(parseIdx(idx(0x08, [0, 28, 28], [])).shape).toEqual([0, 28, 28]);
  });

  it('refuses malformed files, naming what is wrong', () => {
    const good = idx(0x08, [2, 2], [1, 2, 3, 4]);
    expect(() => parseIdx(good.subarray(0, 3))).toThrow(/3 bytes is too short for an IDX file/);
    const magic = good.slice(); magic[0] = 0x1f;
    expect(() => parseIdx(magic)).toThrow(/not an IDX file \(the magic number starts with 0x1f00/);
    const type = good.slice(); type[2] = 0x07;
    expect(() => parseIdx(type)).toThrow(/unknown value type 0x7/);
    expect(() => parseIdx(good.subarray(0, 9))).toThrow(/the file ends inside its 2 dimensions/);
    expect(() => parseIdx(good.subarray(0, 15))).toThrow(/shape \[2, 2\] needs 16 bytes, the file has 15/);
    expect(() => parseIdx(Uint8Array.from([...good, 0]))).toThrow(/needs 16 bytes, the file has 17/);
    expect(() => parseIdx(idx(0x08, [65536, 65536, 65536], []))).toThrow(RangeError);
    expect(() => parseIdx([0, 0, 8, 1] as unknown as Uint8Array)).toThrow(/parseIdx: expected a Uint8Array/);
  });

  it('reads gzip and raw bytes, ArrayBuffers, fetch responses and paths alike', async () => {
    const raw = idx(0x08, [4], [9, 8, 7, 6]);
    const want = { shape: [4], data: Uint8Array.from([9, 8, 7, 6]) };
    expect(await readIdx(raw)).toEqual(want);
    expect(await readIdx(gzipSync(raw))).toEqual(want);
    expect(await readIdx(raw.slice().buffer)).toEqual(want);
    expect(await readIdx(new Response(gzipSync(raw)))).toEqual(want);
    const labels = await readIdx(join(DATA, 't10k-labels-idx1-ubyte.gz'));
    expect(labels.shape).toEqual([1000]);
    await expect(readIdx(join(DATA, 'no-such-file'))).rejects.toThrow(/ENOENT/);
  });

  it('loadMNIST: the shipped subset as [N, 1, 28, 28] pixels / 255 and whole-number labels', async () => {
    await settleGarbage();
    const before = memory().tensors;
    const { images, labels } = await loadMNIST(DATA, 'test');
    expect(images.shape).toEqual([1000, 1, 28, 28]);
    expect(labels.shape).toEqual([1000]);
    const raw = (await readIdx(join(DATA, 't10k-images-idx3-ubyte.gz'))).data as Uint8Array;
    const got = images.data();
    for (let i = 0; i < raw.length; i += 97) expect(got[i]).toBe(Math.fround(raw[i] / 255));
    const lab = (await readIdx(join(DATA, 't10k-labels-idx1-ubyte.gz'))).data as Uint8Array;
    expect(arr(labels)).toEqual(Array.from(lab));
    expect(arr(labels).slice(0, 5)).toEqual([9, 2, 1, 1, 6]); // Fashion-MNIST's first test labels
    const some = await loadMNIST(DATA, 'train', { limit: 10 });
    expect(some.images.shape).toEqual([10, 1, 28, 28]);
    const whole = await loadMNIST(DATA, 'train');
    expect(arr(some.images)).toEqual(Array.from(whole.images.data().subarray(0, 10 * 784)));
    whole.images.dispose(); whole.labels.dispose();
    await expect(loadMNIST(DATA, 'valid' as 'train')).rejects.toThrow(/split must be 'train' or 'test', got the string "valid"/);
    await expect(loadMNIST(join(DATA, 'missing'), 'train')).rejects.toThrow(/loadMNIST: cannot read .*missing\/train-images-idx3-ubyte\(\.gz\)/);
    await expect(loadMNIST(DATA, 'train', { limit: 0 })).rejects.toThrow(/limit must be a positive integer, got 0/);
    images.dispose(); labels.dispose(); some.images.dispose(); some.labels.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('the subset is what Debian ships, byte for byte, when the package is installed', async () => {
    const full = '/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz';
    let whole: Uint8Array;
    try { whole = (await readIdx(full)).data as Uint8Array; } catch { return; } // the package is optional for the tests
    const ours = (await readIdx(join(DATA, 't10k-labels-idx1-ubyte.gz'))).data as Uint8Array;
    expect(Array.from(ours)).toEqual(Array.from(whole.subarray(0, 1000)));
  });
});

describe('TensorDataset and DataLoader', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });
  const N = 10;
  const make = () => new TensorDataset(tensor(Float32Array.from({ length: N * 2 }, (_, i) => i), [N, 2]), Int32Array.from({ length: N }, (_, i) => i % 3));
  const rows = (b: Batch) => { const x = arr(b.x); const r = Array.from({ length: b.x.shape[0] }, (_, i) => x[2 * i] / 2); b.x.dispose(); b.y.dispose(); return r; };

  it('checks its samples and labels', () => {
    const x = zeros([3, 2]);
    expect(() => new TensorDataset(x, [1, 2])).toThrow(/x has 3 samples and y 2/);
    expect(() => new TensorDataset(zeros([]), [])).toThrow(ShapeError);
    expect(() => new TensorDataset([1, 2] as unknown as Tensor, [1])).toThrow(/TensorDataset: x must be a Tensor/);
    expect(() => new TensorDataset(x, 'abc' as unknown as number[])).toThrow(/y must be a Tensor, an Int32Array or an array of numbers, got the string "abc"/);
    const ds = new TensorDataset(x, [0, 1, 2]);
    expect(ds.length).toBe(3);
    expect(arr(ds.y)).toEqual([0, 1, 2]);
    ds.dispose();
    expect(x.isDisposed).toBe(true);
  });

  it('gives the samples in order in batches; the last one short unless dropLast', () => {
    const ds = make();
    const l = new DataLoader(ds, { batchSize: 4 });
    expect(l.length).toBe(3);
    const got: number[][] = [];
    for (const b of l) got.push(rows(b));
    expect(got).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(l.epoch).toBe(1);
    const d = new DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(d.length).toBe(2);
    expect([...d].map(rows)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    const labels: number[] = [];
    for (const b of new DataLoader(ds, { batchSize: 3 })) { labels.push(...arr(b.y)); b.x.dispose(); b.y.dispose(); }
    expect(labels).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    ds.dispose();
  });

  it('shuffles with its seed: a permutation per epoch, another each epoch, the same for the same seed', () => {
    const ds = make();
    const epoch = (l: DataLoader) => [...l].flatMap(rows);
    const a = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 7 }), b = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 7 });
    const a1 = epoch(a), a2 = epoch(a);
    expect([...a1].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...a2].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a1).not.toEqual(a2);
    expect(epoch(b)).toEqual(a1);
    expect(epoch(new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 8 }))).not.toEqual(a1);
    // The labels travel with their samples.
    for (const bt of new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 1 })) {
      const x = arr(bt.x), y = arr(bt.y);
      y.forEach((v, i) => expect(v).toBe((x[2 * i] / 2) % 3));
      bt.x.dispose(); bt.y.dispose();
    }
    ds.dispose();
  });

  it('state() and loadState() resume an epoch: the same order and the same random transforms', () => {
    const ds = new TensorDataset(tensor(Float32Array.from({ length: 12 * 16 }, (_, i) => i), [12, 1, 4, 4]), Int32Array.from({ length: 12 }, (_, i) => i));
    const t = transforms.compose(transforms.randomCrop(4, { padding: 1 }), transforms.randomHorizontalFlip());
    const opts = { batchSize: 5, shuffle: true, seed: 3, transform: t };
    const all = (l: DataLoader, n: number) => { const out: number[][] = []; for (let i = 0; i < n; i++) { const b = l.next(); if (!b) { i--; continue; } out.push([...arr(b.x), ...arr(b.y)]); b.x.dispose(); b.y.dispose(); } return out; };
    const straight = all(new DataLoader(ds, opts), 7); // 3 batches per epoch: into the third epoch
    for (const at of [0, 1, 2, 3, 4, 5]) {
      const l = new DataLoader(ds, opts);
      const first = all(l, at);
      const s = JSON.parse(JSON.stringify(l.state()));
      const l2 = new DataLoader(ds, { ...opts, seed: 99 });
      l2.loadState(s);
      expect(l2.epoch).toBe(l.epoch);
      expect(l2.position).toBe(l.position);
      expect([...first, ...all(l2, 7 - at)], `resumed after ${at} batches`).toEqual(straight);
    }
    const l = new DataLoader(ds, opts);
    expect(() => l.loadState({ ...l.state(), position: 4 })).toThrow(/position \(0..3\)/);
    expect(() => l.loadState({ ...l.state(), shuffle: [0, 0, 0, 0] })).toThrow(/four 32-bit unsigned integers, not all 0/);
    ds.dispose();
  });

  it('refuses bad options, naming them', () => {
    const ds = make();
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => new DataLoader(ds, { batchSize: 2.5 })).toThrow(/got 2.5/);
    expect(() => new DataLoader(ds, { shuffle: 1 as unknown as boolean })).toThrow(/shuffle must be a boolean, got 1/);
    expect(() => new DataLoader(ds, { dropLast: 'no' as unknown as boolean })).toThrow(/dropLast must be a boolean/);
    expect(() => new DataLoader(ds, { transform: 3 as unknown as transforms.Transform })).toThrow(/transform must be a function/);
    expect(() => new DataLoader(ds, { seed: 0.5 })).toThrow(/seed must be an integer, got 0.5/);
    expect(() => new DataLoader({} as TensorDataset)).toThrow(/expected a TensorDataset/);
    ds.dispose();
  });

  it('an epoch of batches leaves no memory behind once the batches are freed', () => {
    const ds = make();
    const l = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 1, transform: transforms.normalize(1, 2) });
    for (const b of l) { b.x.dispose(); b.y.dispose(); }
    const before = memory();
    for (let e = 0; e < 5; e++) for (const b of l) { b.x.dispose(); b.y.dispose(); }
    expect(memory().tensors).toBe(before.tensors);
    expect(memory().bytes).toBe(before.bytes);
    ds.dispose();
  });
});

describe('transforms', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });
  const batch = (n: number, c: number, h: number, w: number) => tensor(Float32Array.from({ length: n * c * h * w }, (_, i) => i + 1), [n, c, h, w]);

  it('normalize: (x - mean) / std per channel, as torchvision', () => tidy(() => {
    const x = batch(2, 2, 1, 2);
    const y = transforms.normalize([1, 2], [2, 4])(x, new Rng(0));
    const xs = arr(x);
    expect(arr(y)).toEqual(xs.map((v, i) => { const c = Math.floor(i / 2) % 2; return Math.fround(Math.fround(v - [1, 2][c]) / [2, 4][c]); }));
    expect(arr(transforms.normalize(0.5, 0.25)(x, new Rng(0)))).toEqual(xs.map((v) => Math.fround(Math.fround(v - 0.5) / 0.25)));
    expect(() => transforms.normalize([1, 2, 3], [1, 2, 3])(x, new Rng(0))).toThrow(/mean has 3 values for 2 channels/);
    expect(() => transforms.normalize(0, 0)).toThrow(/std must not be 0/);
    expect(() => transforms.normalize('a' as unknown as number, 1)).toThrow(/mean must be a number or a list of numbers/);
  }));

  it('randomCrop and randomHorizontalFlip equal crops of the zero-padded image and mirrored rows', () => tidy(() => {
    const [N, C, H, W] = [5, 2, 6, 7];
    const x = batch(N, C, H, W), xs = arr(x);
    const at = (n: number, c: number, i: number, j: number) => (i < 0 || j < 0 || i >= H || j >= W ? 0 : xs[((n * C + c) * H + i) * W + j]);
    for (const [oh, ow, pad] of [[6, 7, 2], [4, 3, 0], [8, 9, 1], [1, 1, 3]]) {
      const y = arr(transforms.randomCrop([oh, ow], { padding: pad })(x, new Rng(11)));
      const r = new Rng(11);
      const want: number[] = [];
      for (let n = 0; n < N; n++) {
        const top = Math.floor(r.uniform() * (H + 2 * pad - oh + 1)), left = Math.floor(r.uniform() * (W + 2 * pad - ow + 1));
        for (let c = 0; c < C; c++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) want.push(at(n, c, top - pad + i, left - pad + j));
      }
      expect(y, `crop ${oh}x${ow} padding ${pad}`).toEqual(want);
    }
    const flipped = arr(transforms.randomHorizontalFlip()(x, new Rng(5)));
    const r = new Rng(5);
    const want: number[] = [];
    for (let n = 0; n < N; n++) {
      const f = r.uniform() < 0.5;
      for (let c = 0; c < C; c++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) want.push(at(n, c, i, f ? W - 1 - j : j));
    }
    expect(flipped).toEqual(want);
    expect(arr(transforms.randomHorizontalFlip(0)(x, new Rng(1)))).toEqual(xs);
    expect(() => transforms.randomCrop(10)(x, new Rng(0))).toThrow(/a 10x10 crop does not fit images of 6x7 padded by 0/);
    expect(() => transforms.randomCrop(0)).toThrow(/size must be a positive integer or a pair of them, got 0/);
    expect(() => transforms.randomCrop(3, { padding: -1 })).toThrow(/padding must be a non-negative integer, got -1/);
    expect(() => transforms.randomHorizontalFlip(2)).toThrow(/p must be a number in \[0, 1\], got 2/);
    expect(() => transforms.randomHorizontalFlip()(zeros([3, 4]), new Rng(0))).toThrow(/expected a batch of images \[N, C, H, W\], got \[3, 4\]/);
    expect(() => transforms.compose(transforms.normalize(0, 1), 5 as unknown as transforms.Transform)).toThrow(/compose: argument 1 is not a transform/);
    expect(arr(x)).toEqual(xs); // inputs unchanged
  }));
});

describe('images in and out', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });
  // A 2x3 RGBA image.
  const rgba = Uint8ClampedArray.from([
    255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0,
    10, 20, 30, 255, 200, 100, 50, 255, 1, 2, 3, 4,
  ]);
  const img = { data: rgba, width: 3, height: 2 };

  it('fromImage: channels first, scaled, RGB or grey or RGBA, optionally batched', () => tidy(() => {
    const t = fromImage(img);
    expect(t.shape).toEqual([3, 2, 3]);
    const px = (c: number) => [0, 1, 2, 3, 4, 5].map((p) => rgba[p * 4 + c]);
    expect(arr(t)).toEqual([...px(0), ...px(1), ...px(2)].map((v) => Math.fround(v / 255)));
    expect(arr(fromImage(img, { scale: false, mode: 'rgba' }))).toEqual([...px(0), ...px(1), ...px(2), ...px(3)]);
    const grey = fromImage(img, { mode: 'grey', batch: true, scale: false });
    expect(grey.shape).toEqual([1, 1, 2, 3]);
    arr(grey).forEach((v, p) => expect(v).toBeCloseTo(0.299 * rgba[p * 4] + 0.587 * rgba[p * 4 + 1] + 0.114 * rgba[p * 4 + 2], 3));
    const bytes = Uint8Array.from([0, 51, 102, 153, 204, 255]);
    expect(arr(fromImage({ data: bytes, width: 2, height: 3, channels: 1 }))).toEqual(Array.from(bytes, (v) => Math.fround(v / 255)));
    expect(fromImage({ data: bytes, width: 2, height: 3, channels: 1 }, { mode: 'rgb' }).shape).toEqual([3, 3, 2]);
    expect(() => fromImage({ data: bytes, width: 3, height: 3, channels: 1 })).toThrow(/6 bytes for a 3x3 image of 1 channels \(9 expected\)/);
    expect(() => fromImage({ data: bytes, width: 2, height: 3, channels: 2 as 1 })).toThrow(/channels must be 1, 3 or 4, got 2/);
    expect(() => fromImage(img, { mode: 'cmyk' as 'rgb' })).toThrow(/mode must be 'rgb', 'grey' or 'rgba', got the string "cmyk"/);
    expect(() => fromImage({ data: bytes, width: 2, height: 3, channels: 1 }, { mode: 'rgba' })).toThrow(/mode 'rgba' needs 4 channels, the image has 1/);
    expect(() => fromImage([1, 2] as unknown as typeof img)).toThrow(/expected an ImageData, a canvas, an ImageBitmap/);
  }));

  it('toImageData: back to RGBA bytes, clamped and rounded; grey repeated; a round trip is exact', () => tidy(() => {
    const back = toImageData(fromImage(img, { mode: 'rgba' }));
    expect(Array.from(back.data)).toEqual(Array.from(rgba));
    expect([back.width, back.height]).toEqual([3, 2]);
    const g = toImageData(tensor([[-0.5, 0.5, 2]]));
    expect(Array.from(g.data)).toEqual([0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255]);
    expect(Array.from(toImageData(tensor([[[[3, 300]]]]), { scale: false }).data)).toEqual([3, 3, 3, 255, 255, 255, 255, 255]);
    expect(() => toImageData(zeros([2, 2, 2]))).toThrow(/expected \[C, H, W\], \[1, C, H, W\] or \[H, W\] with 1, 3 or 4 channels, got \[2, 2, 2\]/);
    expect(() => toImageData('x' as unknown as Tensor)).toThrow(/toImageData: expected a Tensor, got the string "x"/);
  }));
});

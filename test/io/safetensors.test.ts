// safetensors: the reference implementation's layout byte for byte, round
// trips, every dtype, malformed files refused with nothing allocated, bytes,
// Blobs, Responses and files, and the speed of large copies.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  init, memory, models, nn, tensor, zeros, randn, tidy, saveSafetensors, loadSafetensors, readSafetensorsHeader,
  save, load, SafetensorsError, DisposedError, type StateDict,
} from '../../src/index';
import { settleGarbage } from '../helpers';

const enc = new TextEncoder();

/** A file from a header text (padded to 8 with spaces unless `raw`), data bytes, and optionally a forged length. */
function fileOf(header: string, data: ArrayLike<number> = [], opts: { raw?: boolean; length?: bigint } = {}): Uint8Array {
  let h = enc.encode(header);
  if (!opts.raw && h.length % 8) h = enc.encode(header + ' '.repeat(8 - (h.length % 8)));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('safetensors', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it("writes the reference layout byte for byte: I64 before F32, names in code point order, compact header, __metadata__ first in key order, space padding", () => {
    tidy(() => {
      const dict = { b: tensor([1, 2]), a: tensor(3), 'x.num_batches_tracked': tensor(5) };
      const bytes = saveSafetensors(dict, { metadata: { z: '1', a: '2' } });
      const header = '{"__metadata__":{"a":"2","z":"1"},'
        + '"x.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},'
        + '"a":{"dtype":"F32","shape":[],"data_offsets":[8,12]},'
        + '"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}';
      const data = [...new Uint8Array(new BigInt64Array([5n]).buffer), ...f32(3), ...f32(1, 2)];
      expect(Array.from(bytes)).toEqual(Array.from(fileOf(header, data)));
      expect(header.length % 8).not.toBe(0); // the padding was needed
      // An empty dict: '{}' and six spaces.
      expect(Array.from(saveSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, ...enc.encode('{}      ')]);
    });
  });

  it('orders names by code point as the reference implementation (UTF-8 bytes), not by UTF-16 code unit', () => {
    tidy(() => {
      const names = ['\u{1F600}', '\uFFFD', 'é', 'z', 'Z', 'a.b', 'a'];
      const dict: StateDict = {};
      for (const n of names) dict[n] = zeros([1]);
      expect(readSafetensorsHeader(saveSafetensors(dict)).tensors.map((t) => t.name)).toEqual(['Z', 'a', 'a.b', 'z', 'é', '\uFFFD', '\u{1F600}']);
    });
  });

  it('round-trips every bit of float32 values (NaN payloads, -0, infinities, subnormals) and every shape (0-d, empty)', () => {
    const before = memory();
    tidy(() => {
      const special = new Float32Array(new Uint32Array([0x7fc00001, 0xffa00000, 0x80000000, 0x7f800000, 0xff800000, 1, 0x3f800000]).buffer);
      const dict = { special: tensor(special), scalar: tensor(-2.5), empty: zeros([0, 3]), big: randn([3, 4, 5], { seed: 1 }) };
      const bytes = saveSafetensors(dict);
      const back = loadSafetensors(bytes);
      expect(Object.keys(back)).toEqual(['big', 'empty', 'scalar', 'special']);
      for (const [k, t] of Object.entries(dict)) {
        expect(back[k].shape, k).toEqual(t.shape);
        expect(bits(back[k].data()), k).toEqual(bits(t.data()));
      }
    });
    expect(memory()).toEqual(before);
  });

  it('writes num_batches_tracked and the tensors named in dtypes as I64, refusing values that are not int64 integers', () => {
    tidy(() => {
      const h = readSafetensorsHeader(saveSafetensors({ num_batches_tracked: tensor(3), n: tensor([-1, 2 ** 40]), w: tensor([0.5]) }, { dtypes: { n: 'I64' } }));
      expect(h.tensors.map((t) => [t.name, t.dtype])).toEqual([['n', 'I64'], ['num_batches_tracked', 'I64'], ['w', 'F32']]);
      const back = loadSafetensors(saveSafetensors({ n: tensor([-1, 2 ** 40, -(2 ** 31)]) }, { dtypes: { n: 'I64' } }));
      expect(back.n.toArray()).toEqual([-1, 2 ** 40, -(2 ** 31)]);
      expect(() => saveSafetensors({ w: tensor([1, 0.5]) }, { dtypes: { w: 'I64' } })).toThrow(/^saveSafetensors: w is written as I64, but element 1 is 0\.5, not an integer in the int64 range$/);
      expect(() => saveSafetensors({ w: tensor([1e30]) }, { dtypes: { w: 'I64' } })).toThrow(/^saveSafetensors: w is written as I64, but element 0 is 1\.0000000150474662e\+30, not an integer in the int64 range$/);
      expect(() => saveSafetensors({ 'bn.num_batches_tracked': tensor(NaN) })).toThrow(/^saveSafetensors: bn\.num_batches_tracked is written as I64, but element 0 is NaN/);
      expect(saveSafetensors({ num_batches_tracked: tensor(0.5) }, { dtypes: { num_batches_tracked: 'F32' } }).length).toBeGreaterThan(0);
    });
  });

  it('keeps __metadata__: written when given (even empty), read back by readSafetensorsHeader, null when absent', () => {
    tidy(() => {
      const w = { w: zeros([2]) };
      expect(readSafetensorsHeader(saveSafetensors(w, { metadata: { format: 'pt', 'note ✓': 'a "quoted"\nline' } })).metadata).toEqual({ format: 'pt', 'note ✓': 'a "quoted"\nline' });
      expect(readSafetensorsHeader(saveSafetensors(w, { metadata: {} })).metadata).toEqual({});
      expect(readSafetensorsHeader(saveSafetensors(w)).metadata).toBeNull();
      expect(readSafetensorsHeader(fileOf('{"__metadata__":null}')).metadata).toBeNull();
      expect(readSafetensorsHeader(fileOf('{"__metadata__":{"__proto__":"x"}}')).metadata!.__proto__).toBe('x');
    });
  });

  it('saves a Module, an object or a Map, never modifying them; refuses what it cannot write with errors naming the value', () => {
    const net = models.lenet({ seed: 0 });
    const mem = memory();
    const fromModel = saveSafetensors(net);
    const fromDict = tidy(() => saveSafetensors(net.stateDict()));
    const fromMap = tidy(() => saveSafetensors(new Map(Object.entries(net.stateDict()))));
    expect(Buffer.compare(Buffer.from(fromModel), Buffer.from(fromDict))).toBe(0);
    expect(Buffer.compare(Buffer.from(fromModel), Buffer.from(fromMap))).toBe(0);
    expect(memory()).toEqual(mem);
    tidy(() => {
      const dict = { w: tensor([1, 2]) };
      const metadata = { b: '1', a: '2' };
      saveSafetensors(dict, { metadata });
      expect(Object.keys(dict)).toEqual(['w']);
      expect(Object.keys(metadata)).toEqual(['b', 'a']);
      expect(dict.w.toArray()).toEqual([1, 2]);
      const gone = zeros([1]);
      gone.dispose();
      const cases: Array<[() => unknown, ErrorConstructor | typeof DisposedError, RegExp]> = [
        [() => saveSafetensors(null as never), TypeError, /^saveSafetensors: expected a Module or a state dict \(an object or a Map of tensors by name\), got null$/],
        [() => saveSafetensors(dict.w as never), TypeError, /^saveSafetensors: expected a Module or a state dict \(an object or a Map of tensors by name\), got a Tensor$/],
        [() => saveSafetensors({ w: [1, 2] } as never), TypeError, /^saveSafetensors: the value of "w" must be a Tensor, got an Array of length 2$/],
        [() => saveSafetensors({ w: gone }), DisposedError, /^saveSafetensors: w: tensor #\d+ with shape \[1\] was disposed$/],
        [() => saveSafetensors(new Map([[1, dict.w]]) as never), TypeError, /^saveSafetensors: tensor names must be strings, got 1$/],
        [() => saveSafetensors({ __metadata__: dict.w }), RangeError, /^saveSafetensors: a tensor may not be named "__metadata__" \(the header's metadata key\)$/],
        [() => saveSafetensors({ ['a\uD800']: dict.w }), RangeError, /^saveSafetensors: the tensor name "a\\ud800" has a lone surrogate, which UTF-8 cannot encode$/],
        [() => saveSafetensors(dict, { metadata: { a: 1 } as never }), TypeError, /^saveSafetensors: metadata values must be strings; "a" is 1$/],
        [() => saveSafetensors(dict, { metadata: 'x' as never }), TypeError, /^saveSafetensors: metadata must be an object of strings, got the string "x"$/],
        [() => saveSafetensors(dict, { dtypes: { v: 'I64' } }), RangeError, /^saveSafetensors: dtypes names "v", which is not among the tensors$/],
        [() => saveSafetensors(dict, { dtypes: { w: 'F16' as never } }), RangeError, /^saveSafetensors: the dtype of "w" must be 'F32' or 'I64', got the string "F16"$/],
        [() => saveSafetensors(dict, { meta: {} } as never), RangeError, /^saveSafetensors: unknown option "meta"; options are metadata, dtypes$/],
        [() => saveSafetensors(dict, null as never), TypeError, /^saveSafetensors: options must be an object, got null$/],
      ];
      for (const [call, type, message] of cases) {
        expect(call, String(message)).toThrow(type);
        expect(call).toThrow(message);
      }
    });
    expect(memory()).toEqual(mem);
    net.dispose();
  });

  it('reads bytes at any alignment, ArrayBuffers, Buffers, Blobs and Responses, and never modifies them', async () => {
    await settleGarbage();
    const before = memory();
    const bytes = tidy(() => saveSafetensors({ a: tensor([1, 2, 3]), n: tensor(4) }, { dtypes: { n: 'I64' } })) as Uint8Array<ArrayBuffer>;
    const copy = bytes.slice();
    const odd = new Uint8Array(bytes.length + 3);
    odd.set(bytes, 3);
    const sources = [bytes, bytes.buffer, odd.subarray(3), Buffer.from(bytes), new DataView(bytes.buffer)];
    for (const src of sources) {
      tidy(() => {
        const d = loadSafetensors(src as Uint8Array);
        expect(d.a.toArray()).toEqual([1, 2, 3]);
        expect(d.n.item()).toBe(4);
      });
    }
    for (const src of [new Blob([bytes]), new Response(bytes)]) {
      const d = await loadSafetensors(src);
      expect(d.a.toArray()).toEqual([1, 2, 3]);
      for (const t of Object.values(d)) t.dispose();
    }
    expect((await readSafetensorsHeader(new Blob([bytes]))).tensors.map((t) => t.name)).toEqual(['n', 'a']);
    expect((await readSafetensorsHeader(new Response(bytes))).tensors.map((t) => t.name)).toEqual(['n', 'a']);
    await expect(readSafetensorsHeader(new Blob([bytes.slice(0, bytes.length - 1)]))).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(new Blob([bytes.slice(0, 5)]))).rejects.toThrow(/^loadSafetensors: 5 bytes is too short for a safetensors file/);
    expect(Array.from(bytes)).toEqual(Array.from(copy));
    expect(() => loadSafetensors('x' as never)).toThrow(/^loadSafetensors: expected the bytes of a safetensors file \(a Uint8Array, an ArrayBuffer, a Blob or a Response\), got the string "x"$/);
    expect(memory()).toEqual(before);
  });

  describe('malformed files: a SafetensorsError naming the problem, nothing allocated', () => {
    const ok = '"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
    const w = f32(1, 2);
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['an empty file', new Uint8Array(0), /^0 bytes is too short for a safetensors file \(it starts with an 8-byte header length\)$/],
      ['7 bytes', new Uint8Array(7), /^7 bytes is too short for a safetensors file/],
      ['a truncated header', fileOf(`{${ok}}`, w).subarray(0, 20), /^the header length is 56 bytes, past the end of the file \(20 bytes, so at most 12\)$/],
      ['a header length past the end', fileOf(`{${ok}}`, w, { length: 1000n }), /^the header length is 1000 bytes, past the end of the file \(72 bytes, so at most 64\)$/],
      ['a header over 100 MB', fileOf('{}', [], { length: 100_000_001n }), /^the header length is 100000001 bytes, more than the 100000000 \(100 MB\) allowed$/],
      ['a header length of 2^64 - 1', fileOf('{}', [], { length: 2n ** 64n - 1n }), /^the header length is 18446744073709551615 bytes, more than/],
      ['an empty header', fileOf('', []), /^the header must begin with '\{' \(0x7B\), got an empty header$/],
      ['a header not starting with {', fileOf(' {}'), /^the header must begin with '\{' \(0x7B\), got 0x20$/],
      ['a header that is not UTF-8', fileOf('{"\xff":1}').map((b) => (b === 0xc3 ? 0xff : b)), /^the header is not valid UTF-8$/],
      ['a header that is not JSON', fileOf('{"w":}'), /^the header is not valid JSON: unexpected character "}" at position 5$/],
      ['trailing text after the JSON', fileOf('{} x'), /^the header is not valid JSON: unexpected character "x" at position 3$/],
      ['an unterminated object', fileOf('{"w":{}', [], { raw: true }), /^the header is not valid JSON: unexpected end of text at position 7$/],
      ['a duplicate key', fileOf(`{${ok},${ok}}`, w), /^the header is not valid JSON: duplicate key "w" \(first at position 1\) at position 54$/],
      ['a lone surrogate escape', fileOf('{"\\ud800":1}'), /^the header is not valid JSON: lone leading surrogate in a \\u escape at position 2$/],
      ['a control character in a string', fileOf('{"a\tb":1}'), /^the header is not valid JSON: control character in a string at position 3$/],
      ['nesting past 128 levels', fileOf(`{"a":${'['.repeat(200)}${']'.repeat(200)}}`), /^the header is not valid JSON: nested too deeply at position 132$/],
      ['an entry that is not an object', fileOf('{"w":1}'), /^tensor "w": its entry must be an object \{ dtype, shape, data_offsets \}, got the number 1$/],
      ['an entry without a dtype', fileOf('{"w":{"shape":[],"data_offsets":[0,0]}}'), /^tensor "w": dtype must be a string, got missing$/],
      ['an unknown dtype', fileOf('{"w":{"dtype":"F128","shape":[],"data_offsets":[0,16]}}', new Uint8Array(16)), /^tensor "w": unknown dtype "F128" \(this engine reads F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL\)$/],
      ['an unsupported dtype', fileOf('{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', [0]), /^tensor "w": dtype F8_E4M3 is not supported \(this engine reads F64, /],
      ['a shape that is not an array', fileOf('{"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}', w), /^tensor "w": shape must be an array of non-negative integers, got the number 2$/],
      ['a negative dimension', fileOf('{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', w), /^tensor "w": shape must be an array of non-negative integers, got \[-2\]$/],
      ['a fractional dimension', fileOf('{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}', w), /^tensor "w": shape must be an array of non-negative integers, got \[2\.0\]$/],
      ['a dimension in exponent form', fileOf('{"w":{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}}', w), /^tensor "w": shape must be an array of non-negative integers, got \[2\.0\]$/],
      ['a fractional offset', fileOf('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}}', w), /^tensor "w": data_offsets must be \[begin, end\], two non-negative integers, got \[0, 8\.5\]$/],
      ['a string dimension', fileOf('{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}', w), /^tensor "w": shape must be an array of non-negative integers, got an array$/],
      ['33 dimensions', fileOf(`{"w":{"dtype":"F32","shape":[${Array(33).fill(1)}],"data_offsets":[0,4]}}`, f32(1)), /^tensor "w": shape \[1(, 1){32}\] has 33 dimensions, more than the 32 a tensor may have$/],
      ['more than 2^29 elements', fileOf('{"w":{"dtype":"U8","shape":[65536,8193],"data_offsets":[0,0]}}'), /^tensor "w": shape \[65536, 8193\] has more than the 2\^29 \(536870912\) elements a tensor may have$/],
      ['a huge dimension beside a zero', fileOf('{"w":{"dtype":"F32","shape":[0,18446744073709551617],"data_offsets":[0,0]}}'), /^tensor "w": shape \[0, 18446744073709551617\] has more than the 2\^29/],
      ['offsets that are not a pair', fileOf('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}', w), /^tensor "w": data_offsets must be \[begin, end\], two non-negative integers, got \[0\]$/],
      ['negative offsets', fileOf('{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}', w), /^tensor "w": data_offsets must be \[begin, end\], two non-negative integers, got \[-8, 0\]$/],
      ['offsets that end before they begin', fileOf('{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', w), /^tensor "w": data_offsets \[8, 0\] end before they begin$/],
      ['a shape that does not fit the offsets', fileOf('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', w), /^tensor "w": F32 of shape \[3\] takes 12 bytes, but data_offsets \[0, 8\] span 8$/],
      ['offsets past the end of the data', fileOf('{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', w), /^tensor "w": data_offsets \[4, 12\] run past the end of the data \(8 bytes\)$/],
      ['a gap', fileOf('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', w), /^tensor "w": data_offsets \[4, 8\] leave a gap: the data starts at 0$/],
      ['overlapping tensors', fileOf('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', w), /^tensor "b": data_offsets \[4, 8\] overlap: tensor "a" ends at 8$/],
      ['bytes no tensor claims', fileOf(`{${ok}}`, [...w, 0, 0, 0, 0]), /^the tensors cover 8 bytes of data, but the file has 12 after the header \(4 bytes no tensor claims\)$/],
      ['data but no tensors', fileOf('{}', [1]), /^the tensors cover 0 bytes of data, but the file has 1 after the header \(1 bytes no tensor claims\)$/],
      ['metadata that is not an object', fileOf('{"__metadata__":[]}'), /^__metadata__ must be an object of strings, got an array$/],
      ['metadata values that are not strings', fileOf('{"__metadata__":{"epoch":3}}'), /^__metadata__ values must be strings; "epoch" is the number 3$/],
    ];
    it.each(cases)('%s', (_, bytes, message) => {
      const before = memory();
      const call = () => loadSafetensors(bytes);
      expect(call).toThrow(SafetensorsError);
      let err: Error | null = null;
      try { call(); } catch (e) { err = e as Error; }
      expect(err!.name).toBe('SafetensorsError');
      expect(err!.message.replace(/^loadSafetensors: /, '')).toMatch(message);
      expect(() => readSafetensorsHeader(bytes)).toThrow(SafetensorsError);
      expect(memory()).toEqual(before);
    });
  });

  it('reads headers in any JSON the format allows: escapes, surrogate pairs, whitespace, any key order, unknown fields', () => {
    tidy(() => {
      const header = '{ "\\u00e9\\/\\ud83d\\ude00\\"\\\\\\n" : {"data_offsets":[0,4],"shape":[1],"x":[{"y":null}],"dtype":"F32"},\n\t"__metadata__":{"k":"v\\u0000"}}';
      const bytes = fileOf(header, f32(7));
      const h = readSafetensorsHeader(bytes);
      expect(h.tensors).toEqual([{ name: 'é/\u{1F600}"\\\n', dtype: 'F32', shape: [1], dataOffsets: [0, 4] }]);
      expect(h.metadata).toEqual({ k: 'v\0' });
      expect(loadSafetensors(bytes)['é/\u{1F600}"\\\n'].item()).toBe(7);
    });
  });

  it('reads the zero-sized tensors of a file at any offset (offsets sorted as the reference sorts them)', () => {
    tidy(() => {
      const bytes = fileOf('{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1, 2));
      const d = loadSafetensors(bytes);
      expect(Object.keys(d)).toEqual(['b', 'e', 'a']);
      expect([d.a.item(), d.b.item(), d.e.shape]).toEqual([1, 2, [0]]);
    });
  });

  it('a 10 MB state dict goes through bytes and back bit for bit, with no memory left behind (its speed: npm run bench)', () => {
    const before = memory();
    const dict = tidy(() => {
      const d: StateDict = {};
      for (let i = 0; i < 10; i++) d[`layer${i}.weight`] = randn([256, 1024], { seed: i });
      d['bn.num_batches_tracked'] = tensor(12);
      return d;
    });
    for (let r = 0; r < 2; r++) {
      const bytes = saveSafetensors(dict);
      expect(bytes.length).toBeGreaterThan(10 * 2 ** 20);
      const back = loadSafetensors(bytes);
      for (let i = 0; i < 10; i++) expect(bits(back[`layer${i}.weight`].data())).toEqual(bits(dict[`layer${i}.weight`].data()));
      expect(back['bn.num_batches_tracked'].item()).toBe(12);
      for (const t of Object.values(back)) t.dispose();
    }
    for (const t of Object.values(dict)) t.dispose();
    // (the WebAssembly memory grew for the 10 MB; it never shrinks)
    expect({ ...memory(), wasmBytes: 0 }).toEqual({ ...before, wasmBytes: 0 });
  });

  describe('files (Node)', () => {
    let dir: string;
    beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'wasmconv-io-')); });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('save writes saveSafetensors\' bytes (whole, no temporary file left) and load reads them back, from a path or a file: URL', async () => {
      const net = models.lenetModern({ seed: 0 });
      const path = join(dir, 'net.safetensors');
      await save(net, path, { metadata: { format: 'pt' } });
      expect(readdirSync(dir)).toEqual(['net.safetensors']);
      expect(Buffer.compare(readFileSync(path), Buffer.from(saveSafetensors(net, { metadata: { format: 'pt' } })))).toBe(0);
      await settleGarbage();
      const before = memory();
      for (const src of [path, pathToFileURL(path), pathToFileURL(path).href]) {
        const dict = await load(src);
        const other = models.lenetModern({ seed: 1 });
        other.loadStateDict(dict);
        for (const t of Object.values(dict)) t.dispose();
        expect(Buffer.compare(Buffer.from(saveSafetensors(other)), Buffer.from(saveSafetensors(net)))).toBe(0);
        other.dispose();
      }
      expect(memory()).toEqual(before);
      const w = tidy(() => ({ w: tensor([1]) }));
      await save(w, pathToFileURL(join(dir, 'w é.safetensors')));
      await save(w, pathToFileURL(join(dir, 'w2.safetensors')).href);
      expect(readdirSync(dir).sort()).toEqual(['net.safetensors', 'w é.safetensors', 'w2.safetensors'].sort());
      for (const name of ['w é.safetensors', 'w2.safetensors']) {
        const d = await load(join(dir, name));
        expect(d.w.item()).toBe(1);
        d.w.dispose();
      }
      w.w.dispose();
      net.dispose();
    });

    it('load and save report what is wrong', async () => {
      await expect(load(join(dir, 'missing.safetensors'))).rejects.toThrow(/ENOENT/);
      await expect(load('' as never)).rejects.toThrow(/^load: path must be a non-empty string or a URL, got the string ""$/);
      await expect(save({}, 3 as never)).rejects.toThrow(/^save: path must be a non-empty string or a URL, got 3$/);
      await expect(save({}, join(dir, 'no', 'such', 'dir', 'x.safetensors'))).rejects.toThrow(/ENOENT/);
      const bad = join(dir, 'bad.safetensors');
      (await import('node:fs')).writeFileSync(bad, new Uint8Array(4));
      await settleGarbage();
      const before = memory();
      await expect(load(bad)).rejects.toThrow(/^loadSafetensors: 4 bytes is too short for a safetensors file/);
      expect(memory()).toEqual(before);
    });
  });

  it('a model saved and loaded is the same model (nn layers of every kind)', () => {
    const make = (seed: number) => new nn.Sequential(
      new nn.Conv2d(3, 4, 3, { seed }), new nn.BatchNorm2d(4), new nn.LayerNorm([4, 6, 6]), new nn.Flatten(), new nn.Linear(144, 2, { seed: seed + 1 }),
    );
    const a = make(1), b = make(2);
    tidy(() => b.loadStateDict(loadSafetensors(saveSafetensors(a))));
    expect(Buffer.compare(Buffer.from(saveSafetensors(a)), Buffer.from(saveSafetensors(b)))).toBe(0);
    a.dispose(); b.dispose();
  });
});

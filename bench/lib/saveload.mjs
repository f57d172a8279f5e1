// Saving and loading a 10 MB state dict as a safetensors file in Node, with the
// package's `save(dict, path)` and `load(path)`: median ms of each.
//
// The dict: 10 float32 tensors of 250,000 values ([500, 500]), 10,000,000 bytes
// of data (plus the safetensors header). A `save` call encodes the file and
// writes it (whole or not at all: a temporary file, then a rename); a `load` call
// reads it and makes new tensors, which are disposed after the timed call. The
// file lives in the OS temporary directory (os.tmpdir()); the page cache holds
// it after the first call, so `load` measures no disk.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectGarbage, cpuMeter, now, prng, progress, summarize } from './common.mjs';

export const SAVELOAD = { tensors: 10, shape: [500, 500] };

export async function runSaveLoad(wc, { freshInit, quick = false, measureRow, budget }) {
  const calls = quick ? { warm: 1, timed: 5 } : { warm: 3, timed: 21 };
  progress(`save/load: ${SAVELOAD.tensors} x [${SAVELOAD.shape.join(', ')}] float32 state dict, 1 thread`);
  const block = async () => {
    await freshInit(wc, { build: 'simd', threads: 1 });
    const meter = cpuMeter();
    const dir = mkdtempSync(join(tmpdir(), 'wasmconv-bench-io-'));
    const path = join(dir, 'state.safetensors');
    const n = SAVELOAD.shape[0] * SAVELOAD.shape[1];
    const dict = {};
    const r = prng(51);
    for (let k = 0; k < SAVELOAD.tensors; k++) {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
      dict[`layer${k}.weight`] = wc.tensor(a, SAVELOAD.shape);
    }
    const timeAll = async (f) => {
      const t = [];
      collectGarbage();
      for (let i = 0; i < calls.warm + calls.timed; i++) {
        const t0 = now();
        await f();
        const dt = now() - t0;
        if (i >= calls.warm) t.push(dt);
      }
      return { ...summarize(t), iters: t.length };
    };
    try {
      const save = await timeAll(() => wc.save(dict, path));
      const fileBytes = statSync(path).size;
      let check = null;
      const load = await timeAll(async () => {
        const d = await wc.load(path);
        if (!check) check = Object.keys(d).length === SAVELOAD.tensors && d['layer0.weight'].shape.join() === SAVELOAD.shape.join();
        for (const t of Object.values(d)) t.dispose();
      });
      // `load` is the other-load meter (measureRow reads it); the timings are saveCall and loadCall.
      return { tensors: SAVELOAD.tensors, shape: SAVELOAD.shape, dataBytes: 4 * n * SAVELOAD.tensors, fileBytes, dir: tmpdir(), saveCall: save, loadCall: load, roundTripOk: check, load: meter() };
    } finally {
      for (const t of Object.values(dict)) t.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return measureRow(block, budget);
}

export function saveLoadLines(r) {
  if (!r) return [];
  if (r.error) return ['', `Save/load of a state dict: failed: ${r.error}`];
  const f = (m) => `${m.medianMs.toFixed(1)} ms (quartiles ${m.q1Ms.toFixed(1)}–${m.q3Ms.toFixed(1)}, ${m.iters} calls)`;
  return ['', `Save/load, Node, safetensors file of ${r.tensors} float32 tensors [${r.shape.join(', ')}] (${(r.dataBytes / 1e6).toFixed(0)} MB of data, ${r.fileBytes} bytes file, in ${r.dir}): ` +
    `save(dict, path) ${f(r.saveCall)}; load(path) ${f(r.loadCall)} (new tensors, disposed after each call)${r.roundTripOk === false ? '; ROUND TRIP WRONG' : ''}`];
}

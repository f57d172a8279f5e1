// Prints the README's benchmark table (Markdown) from a results file:
//   node bench/table.mjs [bench/results.json]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTargets } from './targets.mjs';

const file = process.argv[2] ?? join(fileURLToPath(new URL('.', import.meta.url)), 'results.json');
const r = JSON.parse(readFileSync(file, 'utf8'));
const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v >= 0.01 ? v.toFixed(3) : v.toPrecision(2));
const cell = (e, dir) => {
  const p = e && e[dir];
  if (!e || !p) return '–';
  if (!p.supported) return 'not supported';
  return `${ms(p.medianMs)} ms · ${p.gflops >= 10 ? p.gflops.toFixed(1) : p.gflops.toPrecision(2)}`;
};
const cols = [
  ['wasm-simd-1t', 'wasmconv SIMD 1T'],
  [r.machine.cores > 1 ? 'wasm-simd-nt' : null, `wasmconv SIMD ${r.machine.threadsEngine}T`],
  ['wasm-relaxed-1t', 'wasmconv relaxed 1T'],
  ['tfjs-wasm', 'tfjs-backend-wasm'],
  ['tfjs-cpu', 'tfjs-backend-cpu'],
  ['plainjs-corr2d', 'plain-JS corr2d'],
].filter(([id]) => id);
const out = [];
out.push(`Machine: ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}; ${r.machine.date.slice(0, 10)}. ` +
  `SIMD128 peak measured in the same run: ${r.peaks.simd1.gflops.toFixed(1)} GFLOP/s (1 thread, mul+add), ` +
  `${r.peaks.simdN ? `${r.peaks.simdN.gflops.toFixed(1)} (all threads), ` : ''}` +
  `${r.peaks.relaxed1 ? `${r.peaks.relaxed1.gflops.toFixed(1)} (relaxed fused multiply-add)` : 'relaxed SIMD not available'}.`);
out.push('');
out.push('Median time · GFLOP/s, forward then backward (input + weight + bias gradients):');
out.push('');
out.push(`| shape | pass | ${cols.map((c) => c[1]).join(' | ')} |`);
out.push(`|---|---|${cols.map(() => '---:').join('|')}|`);
for (const s of r.shapes) {
  for (const dir of ['fwd', 'bwd']) {
    const row = cols.map(([id]) => cell(s.engines[id], dir));
    out.push(`| ${dir === 'fwd' ? `\`${s.name}\`` : ''} | ${dir === 'fwd' ? 'forward' : 'backward'} | ${row.join(' | ')} |`);
  }
}

// Forward with readback, beside kernel-only: the ratio of wasmconv SIMD 1T to each peer, both ways.
const peers = [['tfjs-wasm', 'tfjs-backend-wasm'], ['tfjs-cpu', 'tfjs-backend-cpu'], ['plainjs-corr2d', 'plain-JS corr2d']];
const ratio = (s, id, dir) => {
  const a = s.engines['wasm-simd-1t']?.[dir], b = s.engines[id]?.[dir];
  return a && b && a.supported && b.supported ? b.medianMs / a.medianMs : null;
};
if (r.shapes.some((s) => s.engines['wasm-simd-1t']?.fwdRead)) {
  out.push('');
  out.push('Forward, kernel-only and with the output read back into JS (wasmconv `y.data()`, tfjs `y.dataSync()`; plain JS already has its arrays): median time, and how many times faster wasmconv SIMD 1T is than each peer, kernel-only → with readback:');
  out.push('');
  out.push(`| shape | wasmconv SIMD 1T | + readback | ${peers.map((p) => `vs ${p[1]}`).join(' | ')} |`);
  out.push(`|---|---:|---:|${peers.map(() => '---:').join('|')}|`);
  const x = (v) => (v === null ? '–' : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}x`);
  for (const s of r.shapes) {
    const b = s.engines['wasm-simd-1t'];
    if (!b || !b.fwdRead) continue;
    const cells = peers.map(([id]) => (s.engines[id]?.fwdRead ? `${x(ratio(s, id, 'fwd'))} → ${x(ratio(s, id, 'fwdRead'))}` : '–'));
    out.push(`| \`${s.name}\` | ${ms(b.fwd.medianMs)} ms | ${b.fwdRead.supported ? ms(b.fwdRead.medianMs) + ' ms' : '–'} | ${cells.join(' | ')} |`);
  }
}

// Element-wise ops and reductions: GB/s and the ratio to the wasm copy; the thread speed-up.
const m = r.memops;
const size = (b) => (b >= 2 ** 20 ? `${b / 2 ** 20} MiB` : `${b / 1024} KiB`);
if (m && !m.error) {
  for (const T of m.threads) {
    const rows = m.rows.filter((x) => x.requestedThreads === T);
    out.push('');
    out.push(`Element-wise ops and reductions, ${T} thread${T > 1 ? 's' : ''}, kernel-only: GB/s (operand bytes read + output bytes written, per median call) · ratio to the wasm copy (\`clone()\`, 2 × bytes) measured in the same rounds:`);
    out.push('');
    out.push(`| op | ${m.sizes.map(size).join(' | ')} |`);
    out.push(`|---|${m.sizes.map(() => '---:').join('|')}|`);
    for (const op of m.ops) {
      const cells = m.sizes.map((b) => {
        const row = rows.find((x) => x.bytes === b);
        if (!row || !row.cases) return '–';
        const c = row.cases[op.id];
        return op.id === 'copy' ? `${c.gbps.toFixed(1)}` : `${c.gbps.toFixed(1)} · ${c.vsCopy.toFixed(2)}`;
      });
      out.push(`| \`${op.label.replace(' (wasm copy)', '')}\`${op.id === 'copy' ? ' (copy)' : ''} | ${cells.join(' | ')} |`);
    }
  }
  const sp = (m.speedups ?? []).filter((x) => x.bytes >= m.speedupFrom);
  if (sp.length) {
    out.push('');
    out.push(`${sp[0].threads} threads against 1 (1-thread median / ${sp[0].threads}-thread median):`);
    out.push('');
    out.push(`| op | ${sp.map((x) => size(x.bytes)).join(' | ')} |`);
    out.push(`|---|${sp.map(() => '---:').join('|')}|`);
    for (const op of m.ops) out.push(`| \`${op.label.replace(' (wasm copy)', '')}\` | ${sp.map((x) => `${x.ops[op.id].toFixed(2)}x`).join(' | ')} |`);
  }
}
const rl = r.relu;
if (rl && !rl.error) {
  out.push('');
  out.push(`\`relu\` on (${rl.shape.join(', ')}), against a \`Float32Array\` copy of the same bytes (\`dst.set(src)\`) in the same rounds:`);
  out.push('');
  out.push('| threads | copy | forward | forward + backward | forward + `data()` |');
  out.push('|---|---:|---:|---:|---:|');
  const us = (c) => `${(c.medianMs * 1000).toFixed(0)} µs`;
  for (const row of rl.rows) {
    if (!row.cases) continue;
    const c = row.cases;
    out.push(`| ${row.threads} | ${us(c.jsCopy)} | ${us(c.forward)} · ${c.forward.vsJsCopy.toFixed(1)}x | ${us(c.forwardBackward)} · ${c.forwardBackward.vsJsCopy.toFixed(1)}x | ${us(c.forwardReadback)} · ${c.forwardReadback.vsJsCopy.toFixed(1)}x |`);
  }
}
const cp = r.copies;
if (cp && !cp.error) {
  out.push('');
  out.push('Copies between JS and wasm memory, 1 thread: median time · time / `dst.set(src)` of the same bytes in the same rounds:');
  out.push('');
  out.push(`| copy | ${cp.rows.map((x) => size(x.bytes)).join(' | ')} |`);
  out.push(`|---|${cp.rows.map(() => '---:').join('|')}|`);
  for (const [id, label] of [['jsSet', '`dst.set(src)`'], ['jsSlice', '`src.slice()`'], ['tensor', '`tensor(src, shape)`'], ['data', '`x.data()`'], ['assign', '`x.assign(src)`'], ['toArray', '`x.toArray()`']]) {
    out.push(`| ${label} | ${cp.rows.map((x) => (x.cases ? `${ms(x.cases[id].medianMs)} ms · ${x.cases[id].vsJsSet.toFixed(2)}x` : '–')).join(' | ')} |`);
  }
}
const nn = r.nnops;
if (nn && !nn.error) {
  const usf = (t) => `${(t * 1000).toFixed(t * 1000 >= 100 ? 0 : 1)} µs`;
  for (const row of nn.rows) {
    if (!row.ops) continue;
    const one = row.requestedThreads === 1;
    out.push('');
    out.push(`Pooling, activation and normalization ops on (${nn.shape.join(', ')}), ${row.threads} thread${row.threads > 1 ? 's' : ''}: median time · GB/s (input read + output written; fwd+bwd adds dy read + dx written) · ratio to the wasm copy \`x.clone()\` (${row.copy.gbps.toFixed(1)} GB/s) in the same rounds` +
      (one ? '; tfjs-backend-wasm 1T forward on the same values in NHWC and how many times faster wasmconv is (* not the same op: information):' : ':'));
    out.push('');
    out.push(`| op | forward | forward + backward |${one ? ' tfjs-backend-wasm forward |' : ''}`);
    out.push(`|---|---:|---:|${one ? '---:|' : ''}`);
    for (const op of nn.ops) {
      const c = row.ops[op.id];
      const t = one && nn.tfjs && !nn.tfjs.error ? nn.tfjs.ops[op.id] : null;
      const tf = one ? ` ${t && t.supported ? `${usf(t.medianMs)} · ${c.fwd.vsTfjsWasm.toFixed(2)}x${op.target ? '' : '*'}` : '–'} |` : '';
      out.push(`| \`${op.label}\` | ${usf(c.fwd.medianMs)} · ${c.fwd.gbps.toFixed(1)} · ${c.fwd.vsCopy.toFixed(2)} | ${usf(c.fwdBwd.medianMs)} · ${c.fwdBwd.gbps.toFixed(1)} · ${c.fwdBwd.vsCopy.toFixed(2)} |${tf}`);
    }
  }
}
const sl = r.saveload;
if (sl && !sl.error && sl.saveCall) {
  out.push('');
  out.push(`Save and load of a ${(sl.dataBytes / 1e6).toFixed(0)} MB state dict (${sl.tensors} float32 tensors [${sl.shape.join(', ')}], safetensors file, Node): \`save(dict, path)\` median ${sl.saveCall.medianMs.toFixed(1)} ms, \`load(path)\` median ${sl.loadCall.medianMs.toFixed(1)} ms.`);
}
const ln = r.lenet;
if (ln && !ln.error && ln.rows) {
  const f = (v, d = 0) => (v === null || v === undefined ? '–' : v.toFixed(d));
  const x = (v) => (v ? `${v.toFixed(2)}x` : '–');
  out.push('');
  out.push(`LeNet (batch 256, SGD) on ${ln.cores} cores: training images/s and inference; ratios = peer time / wasmconv time (> 1: wasmconv faster)${ln.quick ? ' (--quick run)' : ''}:`);
  out.push('');
  out.push('| engine | train img/s | vs PyTorch | vs tfjs-cpu | infer img/s (b256) | vs tfjs-wasm | batch-1 ms | vs tfjs-wasm |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of ln.rows) {
    if (w.notMeasured || w.error) { out.push(`| ${w.engine} | ${w.notMeasured ? `not measured: ${w.notMeasured}` : `failed: ${String(w.error).slice(0, 120)}`} | | | | | | |`); continue; }
    out.push(`| ${w.engine} | ${f(w.trainImagesPerSec)} | ${x(w.vsTorch)} | ${x(w.vsTfjsCpu)} | ${f(w.infer256ImagesPerSec)} | ${x(w.infer256VsTfjsWasm)} | ${f(w.infer1Ms, 3)} | ${x(w.infer1VsTfjsWasm)} |`);
  }
}
const ox = r.onnx;
if (ox && !ox.error && ox.summary) {
  out.push('');
  out.push(`LeNet inference against ONNX Runtime Web ${ox.onnxruntimeWeb} (wasm backend): median ms per inference (values in, values out)${ox.rounds ? `, the lowest of ${ox.rounds} round${ox.rounds > 1 ? 's' : ''}` : ''}; ratio = ORT time / wasmconv time:`);
  out.push('');
  out.push('| threads | batch | wasmconv | ONNX Runtime Web | ratio |');
  out.push('|---:|---:|---:|---:|---:|');
  for (const q of ox.summary) out.push(`| ${q.threads} | ${q.batch} | ${ms(q.wasmconvMs)} ms | ${ms(q.ortMs)} ms | ${q.ratio.toFixed(2)}x |`);
}
const v = r.vsPrevious;
if (v && !v.error) {
  const own = v.rows.filter((x) => x.own);
  out.push('');
  out.push(`Against the previous run (${v.source}, ${String(v.previousGeneratedAt).slice(0, 10)}${v.sameMachine ? '' : `, another machine: ${v.machines.prev}; ratios divided by the peers' ${v.control.factor.toFixed(2)}x`}): ` +
    `${own.length} wasmconv convolution rows, ${own.filter((x) => x.verdict === 'slower').length} slower beyond their noise band, ${own.filter((x) => x.verdict === 'faster').length} faster (bench/README.md, "Noise").`);
}

if (r.training && Number.isFinite(r.training.medianUs)) {
  out.push('');
  out.push(`Training step (the chapter's 6x8 image, 1x2 kernel: forward, summed squared loss, backward, SGD update): ` +
    `median ${r.training.medianUs.toFixed(2)} µs.`);
}
out.push('');
out.push('| target | on | result | figures |');
out.push('|---|---|---|---|');
for (const t of checkTargets(r)) out.push(`| ${t.target} | \`${t.subject}\` | ${t.status} | ${t.figures} |`);
console.log(out.join('\n'));

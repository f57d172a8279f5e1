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
out.push('');
out.push(`Training step (the chapter's 6x8 image, 1x2 kernel: forward, summed squared loss, backward, SGD update): ` +
  `median ${r.training.medianUs.toFixed(2)} µs.`);
out.push('');
out.push('| target | on | result | figures |');
out.push('|---|---|---|---|');
for (const t of checkTargets(r)) out.push(`| ${t.target} | \`${t.subject}\` | ${t.status} | ${t.figures} |`);
console.log(out.join('\n'));

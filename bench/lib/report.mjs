// Text report of a run (stdout).
import { describeShape } from './common.mjs';

export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return '-';
  if (ms >= 1000) return ms.toFixed(0);
  if (ms >= 100) return ms.toFixed(1);
  if (ms >= 10) return ms.toFixed(2);
  if (ms >= 1) return ms.toFixed(3);
  return ms.toFixed(4);
}
const fmtG = (g) => (!Number.isFinite(g) ? '-' : g >= 100 ? g.toFixed(0) : g >= 10 ? g.toFixed(1) : g >= 0.1 ? g.toFixed(2) : g.toFixed(3));
const fmtPct = (f) => (!Number.isFinite(f) ? '-' : (f * 100 >= 10 ? (f * 100).toFixed(0) : (f * 100).toFixed(1)) + '%');
const fmtX = (r) => (!Number.isFinite(r) ? '-' : (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r >= 0.01 ? r.toFixed(2) : r.toExponential(1)) + 'x');
const fmtMB = (b) => (!Number.isFinite(b) ? '-' : (b / 2 ** 20).toFixed(1));

function pad(s, w, left = false) {
  s = String(s);
  return left ? s.padEnd(w) : s.padStart(w);
}

const COLS = [
  ['engine', 28, true],
  ['first ms', 9], ['median ms', 10], ['GFLOP/s', 8], ['%peak', 6], ['speed', 7], ['n', 5],
  ['|', 2],
  ['first ms', 9], ['median ms', 10], ['GFLOP/s', 8], ['%peak', 6], ['speed', 7], ['n', 5],
  ['|', 2],
  ['mem MB', 7], ['check', 6], ['others', 7],
];

function line(cells) {
  return cells.map((c, i) => pad(c, COLS[i][1], COLS[i][2])).join(' ').trimEnd();
}

function passCells(p) {
  if (!p) return ['', '', '', '', '', ''];
  if (!p.supported) return ['not', 'supported', '', '', '', ''];
  const mark = p.calls === 1 ? '*' : p.calls === 2 ? '+' : '';
  return [fmtMs(p.firstMs), fmtMs(p.medianMs) + mark, fmtG(p.gflops), fmtPct(p.fractionOfPeak), fmtX(p.speedVsSimd1t), String(p.calls === 1 ? 1 : p.iters)];
}

/** The per-shape tables. */
export function shapeTables(results) {
  const out = [];
  const head1 = line(['', 'forward', '', '', '', '', '', '|', 'backward (input + weight + bias)', '', '', '', '', '', '|', '', '', '']);
  const head2 = line(COLS.map((c) => c[0]));
  for (const s of results.shapes) {
    const g = s.geometry;
    out.push('');
    out.push(`== ${s.name}: ${describeShape(s)}`);
    out.push(`   forward ${(g.fwdFlops / 1e6).toFixed(g.fwdFlops < 1e6 ? 4 : 1)} MFLOP, backward ${(g.bwdFlops / 1e6).toFixed(g.bwdFlops < 1e6 ? 4 : 1)} MFLOP (2x forward + ${g.biasFlops} for the bias)`);
    out.push(head1);
    out.push(head2);
    const notes = [];
    for (const id of results.engineOrder) {
      const r = s.engines[id];
      if (!r) continue;
      const mem = r.memory && Number.isFinite(r.memory.wasmBytes) && r.memory.wasmBytes > 0 ? fmtMB(r.memory.wasmBytes) : '-';
      const check = r.check ? (r.check.ok ? 'ok' : r.check.ok === false ? 'DIFF' : '-') : '-';
      const others = r.load ? fmtPct(r.load.otherShare) : '-';
      out.push(line([r.label, ...passCells(r.fwd), '|', ...passCells(r.bwd), '|', mem, check, others]));
      if (r.fwd && !r.fwd.supported) notes.push(`${r.label}: forward not supported: ${r.fwd.error}`);
      if (r.bwd && !r.bwd.supported) {
        let n = `${r.label}: backward not supported: ${r.bwd.error}`;
        if (r.bwdParts) {
          const parts = Object.entries(r.bwdParts).map(([k, p]) => `${k} ${p.supported ? fmtMs(p.medianMs) + ' ms' : 'not supported'}`);
          n += ` (alone: ${parts.join(', ')})`;
        }
        notes.push(n);
      }
      if (r.retry) {
        notes.push(`${r.label}: re-measured: other processes used ${fmtPct(r.retry.firstAttemptOtherShare)} of the machine during the first attempt; waited ${(r.retry.waitedMs / 1000).toFixed(1)} s${r.retry.quietBeforeRetry ? '' : ' (not quiet)'}, kept the ${r.retry.kept} attempt`);
      }
      if (r.api === 'corr2d') notes.push(`${r.label}: 2-D corr2d(X, K), no bias (backward = input + weight gradients)`);
      if (r.check && r.check.ok === false) notes.push(`${r.label}: results differ from ${r.check.vs}: ${JSON.stringify(r.check.errors)}`);
    }
    for (const n of notes) out.push(`   - ${n}`);
  }
  return out;
}

export function legend(results) {
  const p = results.peaks;
  const L = [];
  L.push('Columns: first = the first call on fresh tensors (cold: weight packing, memory growth, JIT/Liftoff), reported apart;');
  L.push('  median = steady state after warm-up; n = timed samples (calls of a few us are timed in batches).');
  L.push('  * = one call only (the call is slow: first = median, not warmed); + = first call plus one timed call.');
  L.push('  GFLOP/s: forward 2*N*O*OH*OW*(C/groups)*KH*KW; backward 2x that + N*O*OH*OW for the bias (corr2d rows: 2x, no bias).');
  L.push(`  %peak: of the measured SIMD128 peak for the same thread count and instruction set: ${fmtG(p.simd1?.gflops)} GFLOP/s (1T mul+add)` +
    (p.simdN ? `, ${fmtG(p.simdN.gflops)} GFLOP/s (${p.simdN.threads}T)` : '') +
    (p.relaxed1 ? `, ${fmtG(p.relaxed1.gflops)} GFLOP/s (relaxed madd, relaxed rows)` : '') + '; no-SIMD, JS and tfjs rows use the 1T SIMD peak.');
  L.push('  speed = wasmconv SIMD 1T median / this median (> 1x: faster). mem MB = WebAssembly memory high-water mark of that engine on that shape.');
  L.push('  check = layout-independent checksums (sum |v|, sum v^2 of y, dx, dw, db) agree with the float64 reference backend within 1e-3.');
  L.push('  others = share of the machine (all cores) used by other processes while that row was measured (/proc/stat): high values mean noisy figures.');
  return L;
}

export function summary(results) {
  const L = [];
  const m = results.machine;
  L.push(`wasmconv benchmark, ${results.generatedAt}${results.quick ? ' (--quick)' : ''}`);
  L.push(`Machine: ${m.cpu}, ${m.cores} logical cores, Node ${m.node} (V8 ${m.v8}), ${m.platform}/${m.arch}, ${m.memoryGB} GB RAM`);
  const p = results.peaks;
  L.push(`SIMD128 peak (register-blocked f32x4 multiply-add, 12 accumulators, no memory traffic; best of ${p.simd1?.runs?.length ?? '?'} runs):`);
  const busy = (x) => (x && x.load && x.load.otherShare > 0.05 ? `; others used ${fmtPct(x.load.otherShare)} of the machine meanwhile` : '');
  if (p.simd1) L.push(`  1 thread, mul+add (build/simd.wasm):                ${fmtG(p.simd1.gflops)} GFLOP/s${busy(p.simd1)}`);
  if (p.simdN) L.push(`  ${p.simdN.threads} threads at once, mul+add:                       ${fmtG(p.simdN.gflops)} GFLOP/s (${(p.simdN.gflops / p.simd1.gflops).toFixed(2)}x one thread)${busy(p.simdN)}`);
  if (p.relaxed1) L.push(`  1 thread, relaxed madd (build/relaxed.wasm, child): ${fmtG(p.relaxed1.gflops)} GFLOP/s` + (p.simd1 ? ` (${(p.relaxed1.gflops / p.simd1.gflops).toFixed(2)}x mul+add)` : ''));
  else if (results.relaxed) L.push(`  relaxed SIMD: ${results.relaxed.supported ? 'measured' : 'not available: ' + results.relaxed.reason}`);
  const o = m.otherLoad;
  if (o) L.push(`Other processes on this machine during the run: ${o.otherCpuS.toFixed(1)} CPU-s over ${o.wallS.toFixed(0)} s (${fmtPct(o.otherShare)} of all cores); load average at start ${m.loadavgAtStart.map((v) => v.toFixed(2)).join(' ')}`);
  if (results.tfjs) L.push(`tfjs ${results.tfjs.version}: wasm backend ${JSON.stringify(results.tfjs.wasmInfo ?? {})}`);
  return L;
}

export function startupTable(results) {
  const L = ['', 'Startup, apart from the tables (first time in its process):'];
  for (const c of results.coldInits ?? []) {
    L.push(`  ${pad(c.label, 28, true)} ${pad(fmtMs(c.ms), 9)} ms  init(${c.key}): decode + compile the build, instantiate${c.key.includes('"threads":1') ? '' : ', spawn workers'}${c.process ? ` (${c.process})` : ''}`);
  }
  const seen = new Set();
  for (const s of results.shapes) {
    for (const id of ['tfjs-wasm', 'tfjs-cpu']) {
      const r = s.engines[id];
      if (!r || seen.has(id) || !Number.isFinite(r.initMs)) continue;
      seen.add(id);
      L.push(`  ${pad(r.label, 28, true)} ${pad(fmtMs(r.initMs), 9)} ms  tf.setBackend + tf.ready${id === 'tfjs-wasm' ? ' (loads and compiles its .wasm)' : ''}`);
    }
  }
  L.push('  Later shapes re-run init() on a fresh memory (~1 ms single-threaded; the module stays compiled).');
  return L;
}

export function memoryTable(results) {
  const ids = results.engineOrder.filter((id) => results.shapes.some((s) => s.engines[id]?.memory?.wasmBytes > 0));
  const L = ['', 'Peak WebAssembly memory per shape (MB; fresh backend per shape and engine, high-water mark after forward + backward):'];
  const labels = ids.map((id) => results.shapes.map((s) => s.engines[id]).find(Boolean).label.replace('wasmconv ', ''));
  L.push(`  ${pad('shape', 28, true)} ${labels.map((l) => pad(l, 14)).join(' ')} ${pad('tensors MB', 11)}`);
  for (const s of results.shapes) {
    const g = s.geometry;
    // x, w, b, y, dy and the three gradients.
    const tensors = 4 * (2 * g.xSize + 2 * g.wSize + 2 * s.O + 2 * g.ySize);
    L.push(`  ${pad(s.name, 28, true)} ${ids.map((id) => pad(fmtMB(s.engines[id]?.memory?.wasmBytes), 14)).join(' ')} ${pad(fmtMB(tensors), 11)}`);
  }
  L.push('  (tensors MB = x, w, b, y, dy, dx, dw, db in float32: the least any engine needs for forward + backward.)');
  return L;
}

export function trainingLines(results) {
  const t = results.training;
  if (!t) return [];
  if (t.error) return ['', `Training step: failed: ${t.error}`];
  return [
    '',
    `Chapter training step (${t.what}):`,
    `  median ${t.medianUs.toFixed(2)} us per step (min ${t.minUs.toFixed(2)} us, ${t.steps} steps timed; first step ${t.firstUs.toFixed(1)} us)`,
    `  other processes used ${t.load ? fmtPct(t.load.otherShare) : '-'} of the machine meanwhile`,
    `  loss ${t.loss0.toFixed(4)} -> ${t.loss10.toFixed(4)} after 10 steps; kernel after all steps [${t.kernel.map((v) => v.toFixed(4)).join(', ')}] (target [1, -1]); tensors leaked per run: ${t.leakedTensors}`,
  ];
}

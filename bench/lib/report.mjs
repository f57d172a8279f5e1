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
    const what = c.key.includes('"reference"') ? 'the float64 TypeScript backend' : `decode + compile the build, instantiate${c.key.includes('"threads":1') ? '' : ', spawn workers'}`;
    L.push(`  ${pad(c.label, 28, true)} ${pad(fmtMs(c.ms), 9)} ms  init(${c.key}): ${what}${c.process ? ` (${c.process})` : ''}`);
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
    `  other processes used ${t.load ? fmtPct(t.load.otherShare) : '-'} of the machine meanwhile` +
      (t.retry ? ` (re-measured: ${fmtPct(t.retry.firstAttemptOtherShare)} during the first attempt; kept the ${t.retry.kept})` : ''),
    `  loss ${t.loss0.toFixed(4)} -> ${t.loss10.toFixed(4)} after 10 steps; kernel after all steps [${t.kernel.map((v) => v.toFixed(4)).join(', ')}] (target [1, -1]); tensors leaked per run: ${t.leakedTensors}`,
  ];
}

// ---------------------------------------------------------------- readback

/** Forward with and without reading the output back into JS, every engine, with the speed ratios of both. */
export function readbackTable(results) {
  const L = ['', 'Forward + readback: the forward as in the tables above, then the output read into JS memory',
    '  (wasmconv: y.data(), a Float32Array copy; tfjs: y.dataSync(); plain JS: the result already is JS arrays).',
    '  speed = wasmconv SIMD 1T / this engine, kernel-only and with readback; read ms = difference of the medians.'];
  const cols = [['engine', 28, true], ['fwd ms', 10], ['fwd+read ms', 12], ['read ms', 9], ['read %', 7], ['speed', 8], ['+read', 8], ['n', 5], ['others', 7]];
  const ln = (cells) => cells.map((c, i) => pad(c, cols[i][1], cols[i][2])).join(' ').trimEnd();
  for (const s of results.shapes) {
    const rows = results.engineOrder.map((id) => s.engines[id]).filter((r) => r && r.fwdRead);
    if (!rows.length) continue;
    L.push('');
    L.push(`== ${s.name}`);
    L.push(ln(cols.map((c) => c[0])));
    for (const r of rows) {
      const f = r.fwd, fr = r.fwdRead;
      if (!fr.supported || !f || !f.supported) { L.push(ln([r.label, 'not', 'supported'])); continue; }
      const mark = fr.calls === 1 ? '*' : fr.calls === 2 ? '+' : '';
      const d = fr.medianMs - f.medianMs;
      L.push(ln([r.label, fmtMs(f.medianMs), fmtMs(fr.medianMs) + mark, fmtMs(d), fmtPct(d / fr.medianMs), fmtX(f.speedVsSimd1t), fmtX(fr.speedVsSimd1t),
        String(fr.calls === 1 ? 1 : fr.iters), r.load ? fmtPct(r.load.otherShare) : '-']));
    }
    const base = s.engines['wasm-simd-1t'];
    const vs = [];
    for (const id of ['tfjs-wasm', 'tfjs-cpu', 'plainjs-corr2d']) {
      const p = s.engines[id];
      if (!base || !p || !p.fwd?.supported || !p.fwdRead?.supported || !base.fwd?.supported || !base.fwdRead?.supported) continue;
      vs.push(`vs ${id}: kernel-only ${fmtX(p.fwd.medianMs / base.fwd.medianMs)}, with readback ${fmtX(p.fwdRead.medianMs / base.fwdRead.medianMs)}`);
    }
    if (vs.length) L.push(`   - wasmconv SIMD 1T forward ${vs.join('; ')}`);
  }
  return L;
}

// ---------------------------------------------------------------- element-wise and reductions

const fmtSize = (b) => (b >= 2 ** 20 ? `${b / 2 ** 20} MiB` : `${b / 1024} KiB`);
const fmtGB = (g) => (!Number.isFinite(g) ? '-' : g >= 10 ? g.toFixed(1) : g.toFixed(2));

/** GB/s and the ratio to the wasm copy, per op, size and thread count; the thread speed-ups. */
export function memOpsTables(results) {
  const m = results.memops;
  if (!m) return [];
  if (m.error) return ['', `Element-wise and reductions: failed: ${m.error}`];
  const L = ['', 'Element-wise ops and reductions, kernel-only (the op and its output allocation; the output is disposed, nothing is read back).',
    '  Each cell: GB/s = (bytes of every tensor operand read + bytes of the output written) / median time, then the ratio to the',
    '  wasm copy (clone(): unary COPY kernel, memory.copy; GB/s = 2 x bytes / median time) timed in the same interleaved rounds',
    '  at the same size and thread count (the median over rounds of op GB/s / copy GB/s). Sizes: float32 bytes per operand.'];
  const w0 = 14, w = 13;
  for (const T of m.threads) {
    const rows = m.rows.filter((r) => r.requestedThreads === T);
    L.push('');
    L.push(`  ${T} thread${T > 1 ? 's' : ''}:`);
    L.push(`  ${pad('op', w0, true)} ${m.sizes.map((b) => pad(fmtSize(b), w)).join(' ')}`);
    for (const op of m.ops) {
      const cells = m.sizes.map((b) => {
        const r = rows.find((x) => x.bytes === b);
        if (!r) return pad('', w);
        if (r.error) return pad('error', w);
        const c = r.cases[op.id];
        return pad(op.id === 'copy' ? fmtGB(c.gbps) : `${fmtGB(c.gbps)} ${fmtX(c.vsCopy)}`, w);
      });
      L.push(`  ${pad(op.label.replace(' (wasm copy)', ' copy'), w0, true)} ${cells.join(' ')}`);
    }
    L.push(`  ${pad('others', w0, true)} ${m.sizes.map((b) => { const r = rows.find((x) => x.bytes === b); return pad(r && r.load ? fmtPct(r.load.otherShare) : '-', w); }).join(' ')}`);
    const errs = rows.filter((r) => r.error);
    for (const r of errs) L.push(`   - ${fmtSize(r.bytes)}: ${r.error}`);
    const retried = rows.filter((r) => r.retry);
    for (const r of retried) L.push(`   - ${fmtSize(r.bytes)}: re-measured (others used ${fmtPct(r.retry.firstAttemptOtherShare)} during the first attempt), kept the ${r.retry.kept}`);
  }
  if (m.speedups && m.speedups.length) {
    const sp = m.speedups.filter((s) => s.bytes >= m.speedupFrom);
    if (sp.length) {
      L.push('');
      L.push(`  ${sp[0].threads}-thread speed-up (1-thread median / ${sp[0].threads}-thread median, same op and size):`);
      L.push(`  ${pad('op', w0, true)} ${sp.map((s) => pad(fmtSize(s.bytes), 8)).join(' ')}`);
      for (const op of m.ops) L.push(`  ${pad(op.label.replace(' (wasm copy)', ' copy'), w0, true)} ${sp.map((s) => pad(fmtX(s.ops[op.id]), 8)).join(' ')}`);
    }
  }
  return L;
}

/** relu on (64, 6, 28, 28) against a Float32Array copy of the same bytes. */
export function reluLines(results) {
  const r = results.relu;
  if (!r) return [];
  if (r.error) return ['', `relu rows: failed: ${r.error}`];
  const L = ['', `relu on (${r.shape.join(', ')}) (${(r.bytes / 2 ** 20).toFixed(2)} MiB): median time, and time / a Float32Array copy of the same bytes`,
    '  (dst.set(src)) timed in the same interleaved rounds (median over rounds of the per-round ratio). forward: relu(x), x without grad;',
    '  forward+backward: relu(x).backward(g), x requires grad, g preallocated, y and x.grad disposed every call; + data(): forward then y.data().'];
  const us = (ms) => `${(ms * 1000).toFixed(ms < 0.1 ? 1 : 0)} us`;
  for (const row of r.rows) {
    if (row.error) { L.push(`  ${row.requestedThreads}T: ${row.error}`); continue; }
    const c = row.cases;
    L.push(`  ${row.threads} thread${row.threads > 1 ? 's' : ''}: Float32Array copy ${us(c.jsCopy.medianMs)} (${fmtGB(row.jsCopyGbps)} GB/s read+write); clone() ${us(c.clone.medianMs)} ${fmtX(c.clone.vsJsCopy)}; ` +
      `forward ${us(c.forward.medianMs)} ${fmtX(c.forward.vsJsCopy)}; forward+backward ${us(c.forwardBackward.medianMs)} ${fmtX(c.forwardBackward.vsJsCopy)}; ` +
      `forward + data() ${us(c.forwardReadback.medianMs)} ${fmtX(c.forwardReadback.vsJsCopy)}; others ${row.load ? fmtPct(row.load.otherShare) : '-'}` +
      (row.retry ? ` (re-measured: ${fmtPct(row.retry.firstAttemptOtherShare)} during the first attempt; kept the ${row.retry.kept})` : ''));
  }
  return L;
}

// ---------------------------------------------------------------- previous run

/** This run's convolution medians against the previous run's, with the noise verdicts. */
export function vsPreviousLines(results) {
  const v = results.vsPrevious;
  if (!v) return [];
  if (v.error) return ['', `Against the previous run: ${v.error}`];
  const f = v.floors;
  const L = ['', `Convolution rows against the previous run (${v.source}, run of ${v.previousGeneratedAt}${v.previousQuick ? ', --quick' : ''}):`,
    '  ratio = this median / previous median (> 1: slower now). Noise band per row = max(floor, IQR/median of either run\'s samples);',
    `  floor ${fmtPct(f.oneThread)} for 1-thread rows (${fmtPct(f.tiny)} under ${f.tinyMs * 1000} us), ${fmtPct(f.allThreads)} for all-thread rows, ${fmtPct(f.singleCall)} for rows timed from 1-2 calls.`,
    `  ! = slower beyond the band; ? = beyond it, but other processes used > ${fmtPct(v.disturbedShare)} of the machine meanwhile (not judged); ~ = faster beyond it.`,
    '  tfjs and plain-JS rows (code that did not change) are the control: when they moved, the machine did.'];
  if (v.peaks) L.push(`  SIMD peak now / previous: ${Object.entries(v.peaks).map(([k, p]) => `${k} ${fmtG(p.now)} / ${fmtG(p.prev)} GFLOP/s`).join(', ')}`);
  if (v.control) L.push(`  undisturbed control rows (not timed from 1-2 calls): ${v.control.rows}, geometric-mean ratio ${fmtX(v.control.factor)}, geometric SD ${v.control.gsd.toFixed(2)}`);
  if (!v.sameMachine) {
    L.push(`  ANOTHER MACHINE: previous ${v.machines.prev}; now ${v.machines.now}.`);
    L.push(v.adjusted
      ? `  The verdicts use adjusted ratios (ratio / ${v.control.factor.toFixed(2)}, the control's geometric mean) and bands widened by ${fmtPct(v.control.gsd - 1)} (its geometric SD - 1); the matrix shows raw ratios.`
      : `  ${v.note}.`);
  }
  const mark = { slower: '!', disturbed: '?', faster: '~' };
  const engines = results.engineOrder.filter((id) => v.rows.some((r) => r.engine === id));
  const labels = engines.map((id) => id.replace('wasm-', '').replace('plainjs-', 'js-'));
  const cw = Math.max(9, ...labels.map((l) => l.length + 1));
  L.push(`  ${pad('shape', 28, true)} ${pad('pass', 4, true)} ${labels.map((l) => pad(l, cw)).join(' ')}`);
  for (const s of results.shapes) {
    for (const dir of ['fwd', 'bwd']) {
      const cells = engines.map((id) => {
        const r = v.rows.find((x) => x.shape === s.name && x.engine === id && x.dir === dir);
        return pad(r ? `${r.ratio.toFixed(2)}${mark[r.verdict] ?? ' '}` : '', cw);
      });
      if (cells.every((c) => !c.trim())) continue;
      L.push(`  ${pad(dir === 'fwd' ? s.name : '', 28, true)} ${pad(dir, 4, true)} ${cells.join(' ')}`);
    }
  }
  const own = v.rows.filter((r) => r.own), peers = v.rows.filter((r) => !r.own);
  const n = (rs, verdict) => rs.filter((r) => r.verdict === verdict).length;
  const gm = (rs) => (rs.length ? Math.exp(rs.reduce((a, r) => a + Math.log(r.ratio), 0) / rs.length) : NaN);
  L.push(`  wasmconv rows: ${own.length} compared: ${n(own, 'slower')} slower beyond noise, ${n(own, 'disturbed')} beyond it but disturbed, ${n(own, 'faster')} faster; ` +
    `${own.filter((r) => r.disturbed).length} measured while others used > ${fmtPct(v.disturbedShare)}; geometric mean ratio ${fmtX(gm(own))}` +
    (v.adjusted ? ` (adjusted ${fmtX(gm(own) / v.control.factor)})` : ''));
  if (peers.length) L.push(`  control (tfjs, plain JS): ${peers.length} compared, geometric mean ratio ${fmtX(gm(peers))}; ${n(peers, 'slower') + n(peers, 'disturbed')} beyond the band`);
  for (const r of own.filter((x) => x.verdict === 'slower' || x.verdict === 'disturbed')) {
    L.push(`   ${mark[r.verdict]} ${r.shape} ${r.engine} ${r.dir}: ${fmtMs(r.prevMs)} -> ${fmtMs(r.nowMs)} ms, ${fmtX(r.ratio)}${v.adjusted ? ` (adjusted ${fmtX(r.adjRatio)})` : ''} (min ${r.minRatio ? fmtX(r.minRatio) : '-'}), band ${fmtPct(r.band)}; others now ${r.othersNow === null ? '-' : fmtPct(r.othersNow)}, then ${r.othersPrev === null ? '-' : fmtPct(r.othersPrev)}`);
  }
  if (v.training) L.push(`  training step: ${v.training.prevUs.toFixed(2)} -> ${v.training.nowUs.toFixed(2)} us (${fmtX(v.training.ratio)})`);
  return L;
}

/** Copies between JS and wasm memory against JS copies of the same bytes. */
export function copyLines(results) {
  const c = results.copies;
  if (!c) return [];
  if (c.error) return ['', `Copies between JS and wasm memory: failed: ${c.error}`];
  const L = ['', 'Copies between JS and wasm memory, 1 thread (information): median time · time / dst.set(src) of the same bytes in the same rounds',
    '  (GB/s = 2 x bytes / time: read once, written once). jsSlice = src.slice(): a JS copy into a fresh array, what returning a new array costs at least.'];
  const ids = [['jsSet', 'dst.set(src)'], ['jsSlice', 'src.slice()'], ['tensor', 'tensor(src, shape)'], ['data', 'x.data()'], ['assign', 'x.assign(src)'], ['toArray', 'x.toArray()']];
  L.push(`  ${pad('', 20, true)} ${c.rows.map((r) => pad(fmtSize(r.bytes), 30)).join(' ')}`);
  for (const [id, label] of ids) {
    L.push(`  ${pad(label, 20, true)} ${c.rows.map((r) => {
      const x = r.cases?.[id];
      return pad(!x ? (r.error ? 'error' : '') : `${fmtMs(x.medianMs)} ms ${fmtGB(x.gbps)} GB/s ${fmtX(x.vsJsSet)}`, 30);
    }).join(' ')}`);
  }
  L.push(`  ${pad('others', 20, true)} ${c.rows.map((r) => pad(r.load ? fmtPct(r.load.otherShare) : '-', 30)).join(' ')}`);
  return L;
}

// Performance targets, checked against the figures of one benchmark run.
//
//   node bench/targets.mjs [bench/results.json]    (run.mjs also prints them)
//
// Every ratio compares two medians from the same run. A target whose figures
// were not measured in that run (filtered out with --only/--engines, or a
// runtime without relaxed SIMD) is reported as SKIP, not PASS.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RESNET = 'resnet-4x64x56-o64-k3p1';
const K7 = 'filter-512-k7';
const K3 = 'filter-512-k3';

const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));
const fmtX = (r) => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(3)) + 'x';

function pass(results, shapeName, engine, dir) {
  const s = results.shapes.find((x) => x.name === shapeName);
  const row = s && s.engines[engine];
  const p = row && row[dir];
  return p && p.supported && Number.isFinite(p.medianMs) ? p : null;
}

/** Checks the targets; returns [{ target, subject, status: 'PASS'|'FAIL'|'SKIP'|'INFO', figures }]. */
export function checkTargets(results) {
  const out = [];
  const add = (target, subject, status, figures) => out.push({ target, subject, status, figures });
  const shapes = results.shapes;
  const has = (name) => shapes.some((s) => s.name === name);
  const nT = results.machine && results.machine.threadsEngine ? results.machine.threadsEngine : 'N';

  // Ratio target: a is faster than b by at least `min` (time(b) / time(a) >= min).
  const ratio = (target, subject, a, b, min, la, lb) => {
    if (!a || !b) return add(target, subject, 'SKIP', `not measured (${!a ? la : lb})`);
    const r = b.medianMs / a.medianMs;
    add(target, subject, r >= min ? 'PASS' : 'FAIL', `${la} ${fmtMs(a.medianMs)} ms vs ${lb} ${fmtMs(b.medianMs)} ms: ${fmtX(r)} (need >= ${fmtX(min)})`);
  };

  for (const s of shapes) {
    ratio('forward 1T >= tfjs-wasm', s.name, pass(results, s.name, 'wasm-simd-1t', 'fwd'), pass(results, s.name, 'tfjs-wasm', 'fwd'), 1, 'wasmconv SIMD 1T', 'tfjs-wasm');
  }
  if (has(K7)) ratio('forward 1T >= 10x tfjs-wasm', K7, pass(results, K7, 'wasm-simd-1t', 'fwd'), pass(results, K7, 'tfjs-wasm', 'fwd'), 10, 'wasmconv SIMD 1T', 'tfjs-wasm');
  if (has(RESNET)) {
    const f = pass(results, RESNET, 'wasm-simd-1t', 'fwd');
    if (!f) add('forward 1T >= 28 GFLOP/s', RESNET, 'SKIP', 'not measured');
    else {
      const gf = f.flops / f.medianMs / 1e6;
      add('forward 1T >= 28 GFLOP/s', RESNET, gf >= 28 ? 'PASS' : 'FAIL', `${gf.toFixed(1)} GFLOP/s (${fmtMs(f.medianMs)} ms)`);
    }
  }
  for (const s of shapes.filter((x) => x.C > 1)) {
    const f = pass(results, s.name, 'wasm-simd-1t', 'fwd'), b = pass(results, s.name, 'wasm-simd-1t', 'bwd');
    if (!f || !b) add('backward 1T <= 2.5x forward', s.name, 'SKIP', 'not measured');
    else {
      const r = b.medianMs / f.medianMs;
      add('backward 1T <= 2.5x forward', s.name, r <= 2.5 ? 'PASS' : 'FAIL', `backward ${fmtMs(b.medianMs)} ms / forward ${fmtMs(f.medianMs)} ms = ${r.toFixed(2)} (need <= 2.50)`);
    }
  }
  for (const s of shapes.filter((x) => x.C > 1)) {
    const cpu = pass(results, s.name, 'tfjs-cpu', 'bwd');
    ratio('backward 1T >= 100x tfjs-cpu', s.name, pass(results, s.name, 'wasm-simd-1t', 'bwd'), cpu, 100, 'wasmconv SIMD 1T', `tfjs-cpu${cpu && cpu.calls === 1 ? ' (1 call)' : ''}`);
  }
  // The four largest shapes of the shape list (recorded by run.mjs), those of this run among them.
  const largest = results.largestShapes
    ? shapes.filter((s) => results.largestShapes.includes(s.name))
    : [...shapes].sort((a, b) => b.geometry.fwdFlops - a.geometry.fwdFlops).slice(0, 4);
  for (const s of largest) {
    for (const dir of ['fwd', 'bwd']) {
      ratio(`${nT} threads >= 1.7x 1 thread (${dir === 'fwd' ? 'forward' : 'backward'})`, s.name,
        pass(results, s.name, 'wasm-simd-nt', dir), pass(results, s.name, 'wasm-simd-1t', dir), 1.7, `SIMD ${nT}T`, 'SIMD 1T');
    }
  }
  if (has(RESNET)) {
    for (const dir of ['fwd', 'bwd']) {
      const rel = pass(results, RESNET, 'wasm-relaxed-1t', dir);
      const why = results.relaxed && !results.relaxed.supported ? `runtime has no relaxed SIMD: ${results.relaxed.reason}` : null;
      if (!rel && why) add(`relaxed SIMD >= 1.3x SIMD (${dir === 'fwd' ? 'forward' : 'backward'})`, RESNET, 'SKIP', why);
      else ratio(`relaxed SIMD >= 1.3x SIMD (${dir === 'fwd' ? 'forward' : 'backward'})`, RESNET, rel, pass(results, RESNET, 'wasm-simd-1t', dir), 1.3, 'relaxed 1T', 'SIMD 1T');
    }
  }
  if (has(K3)) {
    // The target names no thread count: it is judged as a user runs corr2d after a
    // plain `await init()` (every core); the one-thread figure is listed beside it.
    ratio('corr2d >= 30x plain-JS corr2d (forward, init() default threads)', K3, pass(results, K3, 'wasm-corr2d-nt', 'fwd') ?? pass(results, K3, 'wasm-corr2d', 'fwd'), pass(results, K3, 'plainjs-corr2d', 'fwd'), 30, `corr2d() ${nT}T`, 'plain JS');
    const one = pass(results, K3, 'wasm-corr2d', 'fwd'), js = pass(results, K3, 'plainjs-corr2d', 'fwd');
    if (one && js) add('corr2d vs plain-JS corr2d, 1 thread (information)', K3, 'INFO', `corr2d() 1T ${fmtMs(one.medianMs)} ms vs plain JS ${fmtMs(js.medianMs)} ms: ${fmtX(js.medianMs / one.medianMs)}`);
  }
  const t = results.training;
  if (!t || !Number.isFinite(t.medianUs)) add('training step <= 10 us', 'chapter 6x8, 1x2', 'SKIP', 'not measured');
  else add('training step <= 10 us', 'chapter 6x8, 1x2', t.medianUs <= 10 ? 'PASS' : 'FAIL', `${t.medianUs.toFixed(2)} us per step (median)`);
  return out;
}

/** The PASS/FAIL list as text lines. */
export function formatTargets(list) {
  const lines = [];
  const w = Math.max(...list.map((t) => t.target.length + t.subject.length + 3), 20);
  for (const t of list) lines.push(`${t.status.padEnd(4)}  ${(t.target + ' | ' + t.subject).padEnd(w)}  ${t.figures}`);
  const n = (s) => list.filter((t) => t.status === s).length;
  lines.push(`${n('PASS')} PASS, ${n('FAIL')} FAIL, ${n('SKIP')} SKIP${n('INFO') ? `, ${n('INFO')} INFO` : ''}`);
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2] ?? join(fileURLToPath(new URL('.', import.meta.url)), 'results.json');
  const results = JSON.parse(readFileSync(file, 'utf8'));
  console.log(`Targets (${file}, run of ${results.generatedAt}):`);
  for (const l of formatTargets(checkTargets(results))) console.log(l);
}

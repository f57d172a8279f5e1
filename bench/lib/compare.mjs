// This run's convolution medians against a previous run (by default the
// committed bench/results.json), each row judged against a noise band.
//
// ratio = this median / previous median (> 1: slower now). Noise band of a row:
//   band = max(floor, IQR/median of this run's samples, IQR/median of the previous run's)
// The floor is the run-to-run variation of the medians of the same row between
// repeated runs on this machine while it was quiet (NOISE_FLOOR; the figures are
// in bench/README.md, "Noise"); rows timed from one or two calls have no spread
// to go by and get SINGLE_CALL_FLOOR. The IQR term widens the band of a row whose
// samples were spread (it was disturbed while measured).
//
// Verdicts: "slower" when ratio > 1 + band, "faster" when ratio < 1 / (1 + band),
// else "noise". A row measured while other processes used more than
// DISTURBED_SHARE of the machine (in either run) cannot be judged slower: it is
// "disturbed" instead (re-run on a quiet machine). The peers' rows (tfjs, plain
// JS: code that did not change) are compared the same way, as a control.
// When the previous run was made on another machine (CPU model or core count),
// the ratios are first divided by the geometric-mean ratio of the undisturbed
// control rows, and the band is widened by their geometric standard deviation - 1.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BENCH_DIR, ROOT } from './common.mjs';

/**
 * Smallest band, by kind of row, from repeated runs on this 2-vCPU shared VM
 * (bench/README.md, "Noise"): one-thread rows' medians moved by up to ~7% between
 * quiet runs (90th percentile; 29% at most, on rows of a few microseconds);
 * all-thread rows by 1.1x to 1.9x, even when the row itself looked quiet: a job
 * is split statically in two halves, so a core taken by another process for a
 * moment stalls the whole call.
 */
export const NOISE_FLOOR = { oneThread: 0.15, tiny: 0.3, allThreads: 0.5 };
/** Rows whose median is below this (ms) get the `tiny` floor: timer, JIT and GC effects dominate. */
export const TINY_MS = 0.02;
/** Rows timed from one or two (cold) calls. */
export const SINGLE_CALL_FLOOR = 0.3;
/** Share of the machine used by other processes during a row above which it is not judged slower. */
export const DISTURBED_SHARE = 0.2;

/** wasmconv's own rows (the others are peers: the control). */
export const OWN_ENGINES = ['wasm-simd-1t', 'wasm-simd-nt', 'wasm-relaxed-1t', 'wasm-nosimd-1t', 'wasm-corr2d', 'wasm-corr2d-nt', 'reference'];
const ALL_THREADS = new Set(['wasm-simd-nt', 'wasm-corr2d-nt']);

/**
 * Loads the previous run: `file` if given, else the committed bench/results.json
 * (`git show HEAD:bench/results.json`), else the file on disk. Returns
 * { results, source } or { error }.
 */
export function loadBaseline(file) {
  try {
    if (file) return { results: JSON.parse(readFileSync(file, 'utf8')), source: file };
    const rel = relative(ROOT, join(BENCH_DIR, 'results.json')).split('\\').join('/');
    try {
      const text = execFileSync('git', ['show', `HEAD:${rel}`], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
      let commit = null;
      try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { /* no commit id */ }
      return { results: JSON.parse(text), source: `git HEAD${commit ? ` (${commit})` : ''}:${rel}` };
    } catch {
      const disk = join(BENCH_DIR, 'results.json');
      if (existsSync(disk)) return { results: JSON.parse(readFileSync(disk, 'utf8')), source: disk };
      return { error: 'no previous results (no committed bench/results.json)' };
    }
  } catch (e) {
    return { error: `cannot read the previous results: ${e.message}` };
  }
}

const relSpread = (p) => (p && Number.isFinite(p.q1Ms) && Number.isFinite(p.q3Ms) && p.iters >= 5 && p.medianMs > 0 ? (p.q3Ms - p.q1Ms) / p.medianMs : null);
const fewCalls = (p) => p && (p.calls ?? 3) <= 2;

/** Compares the convolution rows of `results` with `prev`; returns the comparison stored in results.vsPrevious. */
export function compareWithPrevious(results, baseline) {
  if (!baseline || baseline.error) return { error: baseline ? baseline.error : 'no previous results' };
  const prev = baseline.results;
  const out = {
    source: baseline.source, previousGeneratedAt: prev.generatedAt, previousQuick: !!prev.quick,
    method: 'ratio = this median / previous median; band = max(floor, IQR/median of either run); slower when ratio > 1 + band, unless others used > 20% of the machine (disturbed)',
    floors: { ...NOISE_FLOOR, tinyMs: TINY_MS, singleCall: SINGLE_CALL_FLOOR }, disturbedShare: DISTURBED_SHARE, rows: [],
  };
  if (prev.peaks && results.peaks) {
    out.peaks = {};
    for (const k of ['simd1', 'simdN', 'relaxed1']) {
      if (prev.peaks[k] && results.peaks[k]) out.peaks[k] = { now: results.peaks[k].gflops, prev: prev.peaks[k].gflops, ratio: prev.peaks[k].gflops / results.peaks[k].gflops };
    }
  }
  const rows = out.rows;
  for (const s of results.shapes) {
    const ps = (prev.shapes ?? []).find((x) => x.name === s.name);
    if (!ps) continue;
    for (const [id, r] of Object.entries(s.engines)) {
      const pr = ps.engines?.[id];
      if (!pr) continue;
      for (const dir of ['fwd', 'bwd']) {
        const a = r[dir], b = pr[dir];
        if (!a || !b || !a.supported || !b.supported || !(a.medianMs > 0) || !(b.medianMs > 0)) continue;
        const sNow = relSpread(a), sPrev = relSpread(b);
        const few = fewCalls(a) || fewCalls(b);
        const floor = few ? SINGLE_CALL_FLOOR : ALL_THREADS.has(id) ? NOISE_FLOOR.allThreads
          : Math.min(a.medianMs, b.medianMs) < TINY_MS ? NOISE_FLOOR.tiny : NOISE_FLOOR.oneThread;
        const othersNow = r.load?.otherShare ?? null, othersPrev = pr.load?.otherShare ?? null;
        rows.push({
          shape: s.name, engine: id, dir, own: OWN_ENGINES.includes(id), nowMs: a.medianMs, prevMs: b.medianMs, ratio: a.medianMs / b.medianMs,
          minRatio: Number.isFinite(a.minMs) && b.minMs > 0 ? a.minMs / b.minMs : null,
          spreadNow: sNow, spreadPrev: sPrev, floor, band: Math.max(floor, sNow ?? 0, sPrev ?? 0),
          othersNow, othersPrev, fewCalls: few,
          disturbed: (othersNow ?? 0) > DISTURBED_SHARE || (othersPrev ?? 0) > DISTURBED_SHARE,
        });
      }
    }
  }
  // Another machine (the CPU model or the core count changed): the raw ratios
  // mix the machines' difference with the code's. The control rows (peers whose
  // code did not change) measure the machines' difference on real convolutions:
  // their geometric-mean ratio is divided out, and the band widened by their
  // geometric standard deviation (how unevenly the change of machine affected them).
  const pm = prev.machine ?? {}, m = results.machine ?? {};
  out.sameMachine = pm.cpu === m.cpu && pm.cores === m.cores;
  out.machines = { now: `${m.cpu}, ${m.cores} cores`, prev: `${pm.cpu}, ${pm.cores} cores` };
  const control = rows.filter((r) => !r.own && !r.fewCalls && !r.disturbed);
  const logs = control.map((r) => Math.log(r.ratio));
  const mean = logs.length ? logs.reduce((x, y) => x + y, 0) / logs.length : 0;
  const sd = logs.length > 1 ? Math.sqrt(logs.reduce((x, y) => x + (y - mean) ** 2, 0) / (logs.length - 1)) : 0;
  out.control = { rows: control.length, factor: Math.exp(mean), gsd: Math.exp(sd) };
  out.adjusted = !out.sameMachine && control.length >= 3;
  out.comparable = out.sameMachine || out.adjusted;
  if (!out.comparable) out.note = `another machine, and ${control.length} undisturbed control rows (at least 3 needed) to adjust for it: not judged`;
  for (const r of rows) {
    r.adjRatio = out.adjusted ? r.ratio / out.control.factor : r.ratio;
    if (out.adjusted) r.band += out.control.gsd - 1;
    const slower = r.adjRatio > 1 + r.band;
    r.verdict = !out.comparable ? 'not judged' : slower ? (r.disturbed ? 'disturbed' : 'slower') : r.adjRatio < 1 / (1 + r.band) ? 'faster' : 'noise';
  }
  const t = results.training, pt = prev.training;
  if (t && pt && Number.isFinite(t.medianUs) && Number.isFinite(pt.medianUs)) out.training = { nowUs: t.medianUs, prevUs: pt.medianUs, ratio: t.medianUs / pt.medianUs };
  return out;
}

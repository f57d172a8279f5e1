// wasmconv benchmark suite: `npm run bench [-- --quick] [-- --only NAME]`.
// See bench/README.md. The table goes to stdout, progress to stderr, and
// everything to bench/results.json.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BENCH_DIR, POLICY, ROOT, checksumError, cpuMeter, geometry, loadShapes, makeInputs, measureRow, now, progress, waitForQuiet,
} from './lib/common.mjs';

/** Per process: at most this long waiting for other processes to quiet down before re-measuring a disturbed row. */
const RETRY_BUDGET_MS = 45_000;
import { multiThreadPeak, singleThreadPeak, wasmBytes } from './lib/peak.mjs';
import { CORES, coldInitTimes, freshInit, loadWasmconv, releaseEngine, runWasmconv, trainingStep, warmUpOps, wasmconvVariants } from './lib/wasmconv.mjs';
import { runPlainJs } from './lib/plainjs.mjs';
import { MEM_SIZES, runCopies, runMemOps, runRelu } from './lib/memops.mjs';
import { compareWithPrevious, loadBaseline } from './lib/compare.mjs';
import { copyLines, legend, memOpsTables, memoryTable, readbackTable, reluLines, shapeTables, startupTable, summary, trainingLines, vsPreviousLines } from './lib/report.mjs';
import { checkTargets, formatTargets } from './targets.mjs';
import { OPS_SHAPE, compareWithTfjs, nnOpsLines, runNnOps } from './lib/nnops.mjs';
import { runSaveLoad, saveLoadLines } from './lib/saveload.mjs';
import { modelLines, runModelBench } from './lib/models.mjs';

/** The parts of a run besides the convolution engines (for --engines and --skip). */
const PARTS = ['conv', 'training', 'memops', 'relu', 'copies', 'ops', 'saveload', 'lenet', 'onnx'];

const USAGE = `usage: node bench/run.mjs [--quick] [--only NAME[,NAME...]] [--engines ID[,ID...]] [--skip PART[,PART...]] [--ops-shape N,C,H,W] [--shapes FILE] [--out FILE] [--baseline FILE]
  --quick          the shapes marked "quick" in the shape list, shorter timing (smoke run)
  --only NAME      only these shapes (repeatable or comma-separated; overrides --quick's subset)
  --engines ID     only these engines: ${['wasm-simd-1t', 'wasm-simd-nt', 'wasm-relaxed-1t', 'wasm-nosimd-1t', 'reference', 'wasm-corr2d', 'wasm-corr2d-nt', 'plainjs-corr2d', 'tfjs-cpu', 'tfjs-wasm'].join(', ')}
                   (ratios need wasm-simd-1t, which always runs); also: training, memops (element-wise and
                   reduction rows), relu (the relu rows), copies (JS <-> wasm copies), ops (pooling, activation and
                   normalization ops, with tfjs-wasm's forwards), saveload (save/load of a 10 MB state dict), lenet
                   (bench/lenet.mjs), onnx (bench/onnx.mjs); --only alone skips all of these
  --skip PART      skip these parts: ${PARTS.join(', ')} (conv: every convolution row, its children and peers),
                   or any engine id
  --ops-shape S    the NCHW activation of the ops rows (default ${OPS_SHAPE.join(',')})
  --shapes FILE    another shape list in the bench/shapes.json format
  --out FILE       where to write the results (default bench/results.json)
  --baseline FILE  the previous run to compare the convolution rows with (default: the committed
                   bench/results.json, git show HEAD:bench/results.json)`;

class UsageError extends Error {}

function parseArgs(argv) {
  const a = { quick: false, only: [], engines: [], skip: [], opsShape: OPS_SHAPE, out: join(BENCH_DIR, 'results.json'), shapesFile: join(BENCH_DIR, 'shapes.json'), child: null, baseline: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => { if (i + 1 >= argv.length) throw new UsageError(`${k} needs a value\n${USAGE}`); return argv[++i]; };
    if (k === '--quick') a.quick = true;
    else if (k === '--only') a.only.push(...val().split(',').filter(Boolean));
    else if (k.startsWith('--only=')) a.only.push(...k.slice(7).split(',').filter(Boolean));
    else if (k === '--engines') a.engines.push(...val().split(',').filter(Boolean));
    else if (k.startsWith('--engines=')) a.engines.push(...k.slice(10).split(',').filter(Boolean));
    else if (k === '--skip') a.skip.push(...val().split(',').filter(Boolean));
    else if (k.startsWith('--skip=')) a.skip.push(...k.slice(7).split(',').filter(Boolean));
    else if (k === '--ops-shape') {
      a.opsShape = val().split(',').map(Number);
      if (a.opsShape.length !== 4 || !a.opsShape.every((d) => Number.isInteger(d) && d > 0) || a.opsShape[2] % 2 || a.opsShape[3] % 2) throw new UsageError(`--ops-shape: four positive integers N,C,H,W with H and W even\n${USAGE}`);
    }
    else if (k === '--out') a.out = val();
    else if (k === '--baseline') a.baseline = val();
    else if (k === '--shapes') a.shapesFile = val();
    else if (k === '--child') a.child = val();
    else if (k === '--help' || k === '-h') { console.log(USAGE); process.exit(0); }
    else throw new UsageError(`unknown argument ${k}\n${USAGE}`);
  }
  const engineIds = wasmconvVariants().map((v) => v.id).concat(['plainjs-corr2d', 'tfjs-cpu', 'tfjs-wasm']);
  const bad = [...a.skip, ...a.engines].filter((id) => !PARTS.includes(id) && !engineIds.includes(id));
  if (bad.length) throw new UsageError(`unknown part or engine ${bad.join(', ')}\n${USAGE}`);
  return a;
}

function selectShapes(args) {
  if (args.skip.includes('conv')) return [];
  const all = loadShapes(args.shapesFile);
  if (args.only.length) {
    const unknown = args.only.filter((n) => !all.some((s) => s.name === n));
    if (unknown.length) throw new UsageError(`--only: unknown shape ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`);
    return all.filter((s) => args.only.includes(s.name));
  }
  return args.quick ? all.filter((s) => s.quick) : all;
}

const wants = (args, id) => !args.skip.includes(id) && (!args.engines.length || args.engines.includes(id) || id === 'wasm-simd-1t');
/**
 * The parts that do not depend on the shape list (memops, relu, copies, ops, saveload, lenet, onnx):
 * by default, and when asked by --engines; --only (shapes) alone skips them; --skip skips them.
 */
const wantsMem = (args, id) => !args.skip.includes(id) && (args.engines.length ? args.engines.includes(id) : !args.only.length);

// ---------------------------------------------------------------- children

/** Child processes: the relaxed-SIMD build (needs a V8 flag on Node 20) and tfjs (kept apart from wasmconv's process). */
async function childMain(args) {
  const shapes = selectShapes(args);
  const policy = args.quick ? POLICY.quick : POLICY.full;
  const result = { kind: args.child, rows: {} };
  const budget = { ms: RETRY_BUDGET_MS };
  if (args.child === 'relaxed') {
    const ok = WebAssembly.validate(wasmBytes('relaxed'));
    result.supported = ok;
    if (!ok) {
      result.reason = `WebAssembly.validate(build/relaxed.wasm) is false in node ${process.version} with flags [${process.execArgv.join(' ')}]`;
    } else {
      result.flags = process.execArgv;
      progress('  relaxed child: peak');
      const q = await waitForQuiet(15000);
      budget.ms -= q.waitedMs;
      const m = cpuMeter();
      result.peak = singleThreadPeak('relaxed');
      result.peak.load = m();
      const wc = await loadWasmconv();
      await warmUpOps(wc, policy === POLICY.quick ? 100 : 300);
      const variant = wasmconvVariants().find((v) => v.id === 'wasm-relaxed-1t');
      for (const s of shapes) {
        progress(`  relaxed child: ${s.name}`);
        const inputs = makeInputs(s);
        result.rows[s.name] = { [variant.id]: await measureRow(() => runWasmconv(wc, variant, s, inputs, policy), budget) };
      }
      result.coldInits = coldInitTimes();
    }
  } else if (args.child === 'tfjs') {
    const { loadTfjs, runTfjs, warmUpTfjs, TFJS_ENGINES } = await import('./lib/tfjs.mjs');
    const tfjs = await loadTfjs();
    result.version = tfjs.version;
    const engines = TFJS_ENGINES.filter((e) => !args.engines.length || args.engines.includes(e.id));
    await warmUpTfjs(tfjs, engines, policy === POLICY.quick ? 100 : 300);
    for (const s of shapes) {
      const inputs = makeInputs(s);
      result.rows[s.name] = {};
      for (const e of engines) {
        progress(`  tfjs child: ${s.name} ${e.id}`);
        const t0 = now();
        try {
          result.rows[s.name][e.id] = await measureRow(() => runTfjs(tfjs, e, s, inputs, policy), budget);
        } catch (err) {
          result.rows[s.name][e.id] = { engine: e.id, label: e.label, peak: e.peak, supported: false, fwd: { supported: false, error: err.message }, bwd: { supported: false, error: err.message } };
        }
        progress(`    ${((now() - t0) / 1000).toFixed(1)} s`);
        if (e.id === 'tfjs-wasm') result.wasmInfo = result.rows[s.name][e.id].info;
      }
    }
  } else if (args.child === 'tfjs-ops') {
    const { loadTfjs } = await import('./lib/tfjs.mjs');
    const { runNnOpsTfjs } = await import('./lib/nnops.mjs');
    const tfjs = await loadTfjs();
    result.version = tfjs.version;
    progress(`  tfjs child: pooling/activation/normalization forwards on tfjs-backend-wasm`);
    result.ops = await measureRow(() => runNnOpsTfjs(tfjs, { quick: args.quick, shape: args.opsShape }), budget);
  } else {
    throw new Error(`unknown child ${args.child}`);
  }
  const u = process.cpuUsage();
  result.cpuS = (u.user + u.system) / 1e6;
  writeFileSync(args.out, JSON.stringify(result));
}

function runChild(kind, args, nodeFlags) {
  const dir = mkdtempSync(join(tmpdir(), 'wasmconv-bench-'));
  const out = join(dir, `${kind}.json`);
  const childArgs = [...nodeFlags, fileURLToPath(import.meta.url), '--child', kind, '--out', out, '--shapes', args.shapesFile];
  if (args.quick) childArgs.push('--quick');
  if (args.only.length) childArgs.push('--only', args.only.join(','));
  if (args.engines.length) childArgs.push('--engines', args.engines.join(','));
  if (args.skip.length) childArgs.push('--skip', args.skip.join(','));
  childArgs.push('--ops-shape', args.opsShape.join(','));
  return new Promise((resolve) => {
    // Child stdout (tfjs prints notices there) goes to our stderr: stdout is the table.
    const p = spawn(process.execPath, childArgs, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
    let err = '';
    p.stdout.on('data', (d) => process.stderr.write(d));
    p.stderr.on('data', (d) => { err += d; process.stderr.write(d); });
    p.on('close', (code) => {
      let data = null;
      if (code === 0 && existsSync(out)) data = JSON.parse(readFileSync(out, 'utf8'));
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, data, stderr: err });
    });
  });
}

// ---------------------------------------------------------------- main

function machineInfo() {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch { /* not Linux */ }
  return {
    cpu, cores: CORES, threadsEngine: CORES, node: process.version, v8: process.versions.v8,
    platform: process.platform, arch: process.arch, memoryGB: Math.round(totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}

/** GFLOP/s, fraction of peak and speed relative to wasmconv SIMD 1T, for every row. */
function derive(results) {
  for (const s of results.shapes) {
    const base = s.engines['wasm-simd-1t'];
    for (const r of Object.values(s.engines)) {
      const peak = results.peaks[r.peak];
      for (const dir of ['fwd', 'bwd', 'fwdRead']) {
        const p = r[dir];
        if (!p || !p.supported) continue;
        p.gflops = p.flops / p.medianMs / 1e6;
        p.firstGflops = p.flops / p.firstMs / 1e6;
        p.peak = r.peak;
        p.fractionOfPeak = peak ? p.gflops / peak.gflops : null;
        const b = base && base[dir];
        p.speedVsSimd1t = b && b.supported ? b.medianMs / p.medianMs : null;
      }
      if (r.bwdParts) {
        for (const p of Object.values(r.bwdParts)) if (p.supported) { p.gflops = p.flops / p.medianMs / 1e6; p.fractionOfPeak = peak ? p.gflops / peak.gflops : null; }
      }
    }
    // Checksums against the float64 reference backend (corr2d rows have no bias: their y is compared with the plain-JS corr2d).
    const ref = s.engines.reference?.checks ?? base?.checks;
    const refName = s.engines.reference ? 'reference' : 'wasm-simd-1t';
    const refNoBiasY = s.engines['plainjs-corr2d']?.checks?.y ?? s.engines['wasm-corr2d']?.checks?.y;
    for (const r of Object.values(s.engines)) {
      if (!r.checks || !ref) continue;
      const errors = {};
      for (const k of ['y', 'dx', 'dw', 'db']) {
        if (!r.checks[k]) continue;
        const want = k === 'y' && r.checksBias === false ? refNoBiasY : ref[k];
        const e = checksumError(r.checks[k], want);
        if (e !== null) errors[k] = e;
      }
      const vals = Object.values(errors);
      r.check = { vs: refName, errors, ok: vals.length ? vals.every((e) => e <= 1e-3) : null };
    }
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) return childMain(args);
  const t0 = now();
  const meter = cpuMeter();
  const shapes = selectShapes(args);
  // The previous run, read before this one overwrites bench/results.json.
  const baseline = loadBaseline(args.baseline);
  const policy = args.quick ? POLICY.quick : POLICY.full;
  const results = {
    schema: 1, generatedAt: new Date().toISOString(), quick: args.quick, argv: process.argv.slice(2),
    machine: machineInfo(), policy, peaks: {}, shapes: [], engineOrder: [],
  };
  results.machine.loadavgAtStart = loadavg();
  // The thread-scaling target concerns the four largest shapes of the whole list (by forward FLOPs).
  results.largestShapes = loadShapes(args.shapesFile).sort((a, b) => geometry(b).fwdFlops - geometry(a).fwdFlops).slice(0, 4).map((s) => s.name);
  let childCpuS = 0;
  const budget = { ms: RETRY_BUDGET_MS };
  progress(`wasmconv bench: ${shapes.length} shapes${args.quick ? ' (quick)' : ''}; progress on stderr, table on stdout`);

  // The peaks are the denominators of every %peak: measure them on a quiet machine if possible.
  const quiet = await waitForQuiet(15000);
  budget.ms -= quiet.waitedMs;
  progress('SIMD peak: 1 thread');
  let m = cpuMeter();
  results.peaks.simd1 = singleThreadPeak('simd');
  results.peaks.simd1.load = m();
  if (CORES > 1) {
    progress(`SIMD peak: ${CORES} threads`);
    m = cpuMeter();
    results.peaks.simdN = await multiThreadPeak('simd', CORES, results.peaks.simd1.iters);
    results.peaks.simdN.load = m();
  }

  const wc = await loadWasmconv();
  // The chapter's training step first, in a fresh process state (as a reader's script would run it).
  if (wants(args, 'training')) {
    progress('training step');
    try {
      // Measured again after waiting for quiet when other processes were busy meanwhile (as the rows are).
      results.training = await measureRow(() => trainingStep(wc, policy), budget);
    } catch (e) {
      results.training = { error: e.message };
    }
  }
  progress('JIT warm-up of the op layer');
  await warmUpOps(wc, args.quick ? 100 : 300);
  const variants = wasmconvVariants().filter((v) => !v.child && !v.skip && wants(args, v.id));
  const tConv = now();
  for (const s of shapes) {
    const g = geometry(s);
    const entry = { ...s, geometry: g, engines: {} };
    results.shapes.push(entry);
    const inputs = makeInputs(s);
    for (const v of variants) {
      if (v.singleChannelOnly && !g.singleChannel) continue;
      progress(`${s.name}: ${v.id}`);
      const t1 = now();
      try {
        entry.engines[v.id] = await measureRow(() => runWasmconv(wc, v, s, inputs, policy), budget);
      } catch (e) {
        entry.engines[v.id] = { engine: v.id, label: v.label, peak: v.peak, supported: false, fwd: { supported: false, error: e.message }, bwd: { supported: false, error: e.message } };
      }
      progress(`  ${((now() - t1) / 1000).toFixed(1)} s`);
    }
    if (g.singleChannel && wants(args, 'plainjs-corr2d')) {
      progress(`${s.name}: plainjs-corr2d`);
      entry.engines['plainjs-corr2d'] = await measureRow(async () => runPlainJs(s, inputs, policy), budget);
    }
  }

  results.sectionS = { conv: (now() - tConv) / 1000 };
  // Memory-bound rows: element-wise ops and reductions against the wasm copy, relu against a Float32Array copy.
  const tMem = now();
  if (wantsMem(args, 'memops')) {
    try {
      results.memops = await runMemOps(wc, { quick: args.quick, sizes: MEM_SIZES, measureRow, budget });
    } catch (e) {
      results.memops = { error: e.message };
    }
  }
  if (wantsMem(args, 'relu')) {
    try {
      results.relu = await runRelu(wc, { quick: args.quick, measureRow, budget });
    } catch (e) {
      results.relu = { error: e.message };
    }
  }

  if (wantsMem(args, 'copies')) {
    try {
      results.copies = await runCopies(wc, { quick: args.quick, measureRow, budget });
    } catch (e) {
      results.copies = { error: e.message };
    }
  }
  results.sectionS.memory = (now() - tMem) / 1000;
  if (wantsMem(args, 'ops')) {
    const tOps = now();
    try {
      results.nnops = await runNnOps(wc, { freshInit, cores: CORES, quick: args.quick, shape: args.opsShape, measureRow, budget });
    } catch (e) {
      results.nnops = { error: e.message };
    }
    results.sectionS.ops = (now() - tOps) / 1000;
  }
  if (wantsMem(args, 'saveload')) {
    try {
      results.saveload = await runSaveLoad(wc, { freshInit, quick: args.quick, measureRow, budget });
    } catch (e) {
      results.saveload = { error: e.message };
    }
  }
  results.coldInits = coldInitTimes();
  // Release the main process's engine before the children run.
  await releaseEngine(wc).catch((e) => progress(`  ${e.message}`));

  if (shapes.length && wants(args, 'wasm-relaxed-1t') && (!args.engines.length || args.engines.includes('wasm-relaxed-1t'))) {
    progress('relaxed-SIMD child (node --experimental-wasm-relaxed-simd)');
    const tChild = now();
    let r = await runChild('relaxed', args, ['--experimental-wasm-relaxed-simd']);
    if (r.code !== 0 && /bad option|unknown option|not allowed/i.test(r.stderr)) {
      progress('  the flag is unknown to this node; retrying without it');
      r = await runChild('relaxed', args, []);
    }
    childCpuS += r.data?.cpuS ?? 0;
    if (!r.data) results.relaxed = { supported: false, reason: `child failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' / ')}` };
    else {
      results.relaxed = { supported: r.data.supported, reason: r.data.reason, flags: r.data.flags };
      if (r.data.peak) results.peaks.relaxed1 = r.data.peak;
      for (const c of r.data.coldInits ?? []) if (!results.coldInits.some((d) => d.key === c.key)) results.coldInits.push({ ...c, process: 'relaxed child' });
      for (const entry of results.shapes) Object.assign(entry.engines, r.data.rows[entry.name] ?? {});
    }
    results.sectionS.relaxedChild = (now() - tChild) / 1000;
  }

  const tfjsWanted = ['tfjs-cpu', 'tfjs-wasm'].filter((id) => wants(args, id));
  if (tfjsWanted.length && shapes.length) {
    progress('tfjs child');
    const tChild = now();
    const r = await runChild('tfjs', args, []);
    results.sectionS.tfjsChild = (now() - tChild) / 1000;
    childCpuS += r.data?.cpuS ?? 0;
    if (!r.data) results.tfjs = { error: `child failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' / ')}` };
    else {
      results.tfjs = { version: r.data.version, wasmInfo: r.data.wasmInfo };
      for (const entry of results.shapes) Object.assign(entry.engines, r.data.rows[entry.name] ?? {});
    }
  }

  if (results.nnops && !results.nnops.error) {
    progress('tfjs child: pooling, activation and normalization ops');
    const tChild = now();
    const r = await runChild('tfjs-ops', args, []);
    results.sectionS.opsTfjsChild = (now() - tChild) / 1000;
    childCpuS += r.data?.cpuS ?? 0;
    results.nnops.tfjs = r.data ? { version: r.data.version, ...r.data.ops } : { error: `child failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' / ')}` };
    compareWithTfjs(results.nnops);
  }

  // The whole-model benchmarks, each a script of its own with its own child processes.
  for (const id of ['lenet', 'onnx']) {
    if (!wantsMem(args, id)) continue;
    const r = await runModelBench(id, { quick: args.quick });
    results[id] = r;
    results.sectionS[id] = r.seconds;
  }

  results.engineOrder = ['wasm-simd-1t', 'wasm-simd-nt', 'wasm-relaxed-1t', 'wasm-nosimd-1t', 'wasm-corr2d', 'wasm-corr2d-nt', 'reference', 'plainjs-corr2d', 'tfjs-wasm', 'tfjs-cpu']
    .filter((id) => results.shapes.some((s) => s.engines[id]));
  derive(results);
  results.vsPrevious = compareWithPrevious(results, baseline);
  results.targets = checkTargets(results);
  results.durationS = (now() - t0) / 1000;
  const load = meter();
  if (load) {
    // The children's CPU time is ours too.
    load.otherCpuS = Math.max(0, load.otherCpuS - childCpuS);
    load.otherShare = Math.min(1, load.otherCpuS / (load.wallS * CORES));
    results.machine.otherLoad = load;
  }
  results.machine.loadavgAtEnd = loadavg();
  writeFileSync(args.out, JSON.stringify(results, null, 1) + '\n');

  const out = [
    ...summary(results),
    ...legend(results),
    ...shapeTables(results),
    ...readbackTable(results),
    ...memOpsTables(results),
    ...reluLines(results),
    ...copyLines(results),
    ...nnOpsLines(results.nnops),
    ...saveLoadLines(results.saveload),
    ...modelLines(results),
    ...vsPreviousLines(results),
    ...startupTable(results),
    ...memoryTable(results),
    ...trainingLines(results),
    '',
    'Targets (figures from this run):',
    ...formatTargets(results.targets),
    '',
    `Results: ${args.out}; bench took ${results.durationS.toFixed(0)} s (excluding npm run build): ` +
      Object.entries(results.sectionS).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ') + '.',
  ];
  process.stdout.write(out.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (e) => { process.stderr.write(`bench: ${e instanceof UsageError ? e.message : e && e.stack ? e.stack : e}\n`); process.exit(e instanceof UsageError ? 2 : 1); },
);

// The whole-model benchmarks, run by run.mjs as the standalone scripts they are
// (each spawns its own child processes, one engine at a time): bench/lenet.mjs
// (LeNet training and inference against PyTorch, tfjs-backend-cpu and
// tfjs-backend-wasm) and bench/onnx.mjs (LeNet inference against ONNX Runtime
// Web). Their JSON goes to a temporary file and from there into run.mjs's
// results (`lenet`, `onnx`); their tables are printed as they print them.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, ROOT, now, progress } from './common.mjs';

/** script: file in bench/; outFlag: its option naming the JSON file. */
export const MODEL_BENCHES = {
  lenet: { script: 'lenet.mjs', outFlag: '--json', title: 'LeNet training and inference (bench/lenet.mjs)' },
  onnx: { script: 'onnx.mjs', outFlag: '--out', title: 'LeNet inference against ONNX Runtime Web (bench/onnx.mjs)' },
};

export function runModelBench(id, { quick }) {
  const b = MODEL_BENCHES[id];
  const dir = mkdtempSync(join(tmpdir(), `wasmconv-bench-${id}-`));
  const out = join(dir, `${id}.json`);
  const args = [join(BENCH_DIR, b.script), b.outFlag, out, ...(quick ? ['--quick'] : [])];
  progress(`${b.title}: node ${args.map((a) => a.replace(`${ROOT}/`, '')).join(' ')}`);
  const t0 = now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; process.stderr.write(d); });
    p.on('close', (code) => {
      let data = null;
      try {
        if (code === 0 && existsSync(out)) data = JSON.parse(readFileSync(out, 'utf8'));
      } catch { /* reported below */ }
      rmSync(dir, { recursive: true, force: true });
      const table = stdout.split('\n').filter((l) => !l.startsWith('(written to ')).join('\n').trim();
      const seconds = (now() - t0) / 1000;
      if (!data) resolve({ error: `node bench/${b.script} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`, table, seconds });
      else resolve({ ...data, table, seconds });
    });
  });
}

export function modelLines(results) {
  const lines = [];
  for (const [id, b] of Object.entries(MODEL_BENCHES)) {
    const r = results[id];
    if (!r) continue;
    lines.push('', `${b.title}${r.quick ? ', --quick' : ''}:`);
    if (r.error) lines.push(`failed: ${r.error}`);
    if (r.table) lines.push(r.table);
  }
  return lines;
}

// Soak: trains for many steps and reports live tensors and WebAssembly memory
// over time; both must stay flat.
//   npm run soak [-- --steps 100000]
import { init, backendInfo, tensor, ones, corr2d, nn, optim, tidy, memory, randn } from '../dist/index.js';

const args = process.argv.slice(2);
const at = args.indexOf('--steps');
const steps = at >= 0 ? Number(args[at + 1]) : 100_000;
if (!Number.isInteger(steps) || steps < 1) {
  console.error(`--steps needs a positive integer, got ${args[at + 1]}`);
  process.exit(2);
}
await init();
const info = backendInfo();
console.log(`soak: ${steps} steps, ${info.build} build, ${info.threads} threads`);

// The chapter's model every step, and a small two-layer CNN (3 -> 8 -> 3 channels,
// 4 x 32 x 32, Adam) every other step.
const X = ones([6, 8]);
X.assign(Array.from({ length: 48 }, (_, i) => (i % 8 >= 2 && i % 8 < 6 ? 0 : 1)));
const Y = corr2d(X, tensor([[1, -1]]));
const X4 = X.reshape([1, 1, 6, 8]), Y4 = Y.reshape([1, 1, 6, 7]);
const chapter = new nn.Conv2D(1, 1, [1, 2], { bias: false, seed: 1 });
const sgd = new optim.SGD(chapter.parameters(), { lr: 3e-2 });
const c1 = new nn.Conv2D(3, 8, 3, { padding: 1, seed: 2 }), c2 = new nn.Conv2D(8, 3, 3, { padding: 1, seed: 3 });
const adam = new optim.Adam([...c1.parameters(), ...c2.parameters()], { lr: 1e-3 });
const xc = randn([4, 3, 32, 32], { seed: 4 }), yc = randn([4, 3, 32, 32], { seed: 5 });

const samples = [];
const t0 = performance.now();
let last = 0;
for (let step = 1; step <= steps; step++) {
  tidy(() => {
    sgd.zeroGrad();
    const l = chapter.forward(X4).sub(Y4).pow(2).sum();
    l.backward();
    sgd.step();
    last = l.item();
    if (step % 2 === 0) {
      adam.zeroGrad();
      const lc = nn.mseLoss(c2.forward(c1.forward(xc).relu()), yc);
      lc.backward();
      adam.step();
    }
  });
  if (step % Math.max(1, Math.floor(steps / 10)) === 0 || step === steps) {
    const m = memory();
    samples.push({ step, ...m });
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`step ${String(step).padStart(7)}  ${s.padStart(6)} s  tensors ${m.tensors}  tensor bytes ${m.bytes}  wasm bytes ${m.wasmBytes}  chapter loss ${last.toExponential(2)}`);
  }
}
const first = samples[0], end = samples[samples.length - 1];
const flat = samples.every((s) => s.tensors === first.tensors && s.bytes === first.bytes && s.wasmBytes === first.wasmBytes);
console.log(flat ? `flat: ${end.tensors} tensors, ${end.wasmBytes} wasm bytes from step ${first.step} to ${end.step}` : 'NOT FLAT');
console.log(`chapter kernel ${String(chapter.weight.detach().reshape([1, 2]))}; CNN loss ${tidy(() => nn.mseLoss(c2.forward(c1.forward(xc).relu()), yc).item()).toFixed(4)}`);
process.exit(flat ? 0 : 1);

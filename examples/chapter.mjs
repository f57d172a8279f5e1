// The convolution chapter of Dive into Deep Learning, computed by wasmconv:
// corr2d, edge detection with the kernel [1, -1], and learning that kernel
// back from the image and its edge map.
//
//   npm start                 # after npm install; builds, then runs this file
//   npm start -- --seed 7     # reproducible initial weights
import { init, backendInfo, tensor, ones, corr2d, nn, manualSeed, noGrad, memory } from '../dist/index.js';

const args = process.argv.slice(2);
const seedAt = args.indexOf('--seed');
if (seedAt >= 0) {
  const seed = Number(args[seedAt + 1]);
  if (!Number.isInteger(seed)) {
    console.error(`--seed needs an integer, got ${args[seedAt + 1] ?? 'nothing'}`);
    process.exit(2);
  }
  manualSeed(seed);
}

await init();
const info = backendInfo();
console.log(`wasmconv on WebAssembly: ${info.build} build, ${info.threads} thread${info.threads === 1 ? '' : 's'}\n`);

console.log('## Cross-correlation');
const X0 = tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]);
const K0 = tensor([[0.0, 1.0], [2.0, 3.0]]);
console.log('corr2d(X, K)');
console.log(String(corr2d(X0, K0)) + '\n');

console.log('## A convolutional layer');
const layer = new nn.Conv2D([2, 2]);
console.log(`Conv2D([2, 2]): weight ${layer.weight.shape.join('x')} = rand, bias = ${String(layer.bias)}`);
console.log(`forward(X).shape = [${layer.forward(X0).shape.join(', ')}]\n`);

console.log('## Edge detection');
const X = ones([6, 8]);
X.assign(X.toArray().map((row) => row.map((v, j) => (j >= 2 && j < 6 ? 0 : v))));
console.log('X = torch.ones((6, 8)); X[:, 2:6] = 0');
console.log(String(X));
const K = tensor([[1.0, -1.0]]);
const Y = corr2d(X, K);
console.log('Y = corr2d(X, K) with K = [[1, -1]]: 1 marks white-to-black, -1 black-to-white');
console.log(String(Y));
const XT = tensor(transpose(X.toArray()));
console.log('corr2d(X.t(), K): the kernel only sees vertical edges, so the transposed image gives nothing');
console.log(String(corr2d(XT, K)) + '\n');

console.log('## Learning a kernel');
// A 1x1-channel Conv2d with a (1, 2) kernel and no bias, trained on (X, Y) by
// gradient descent on the summed squared error, learning rate 3e-2.
const conv2d = new nn.Conv2D(1, 1, [1, 2], { bias: false });
const X4 = X.reshape([1, 1, 6, 8]);
const Y4 = Y.reshape([1, 1, 6, 7]);
const lr = 3e-2;
for (let i = 0; i < 10; i++) {
  const Yhat = conv2d.forward(X4);
  const l = Yhat.sub(Y4).pow(2);
  conv2d.zeroGrad();
  const total = l.sum();
  total.backward();
  noGrad(() => conv2d.weight.assign(conv2d.weight.sub(conv2d.weight.grad.mul(lr))));
  if ((i + 1) % 2 === 0) console.log(`epoch ${i + 1}, loss ${total.item().toFixed(3)}`);
  for (const t of [Yhat, l, total]) t.dispose();
}
console.log('\nconv2d.weight.data.reshape((1, 2))');
console.log(String(conv2d.weight.detach().reshape([1, 2])));
const m = memory();
console.log(`\n${m.tensors} tensors live, ${m.bytes} bytes; WebAssembly memory ${(m.wasmBytes / 1048576).toFixed(1)} MiB`);

function transpose(rows) {
  return rows[0].map((_, j) => rows.map((r) => r[j]));
}

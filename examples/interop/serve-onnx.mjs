// LeNet trained by wasmconv, exported to ONNX and served by ONNX Runtime (onnxruntime-web, here in Node).
//   node examples/interop/serve-onnx.mjs [lenet-wasmconv.safetensors] [lenet.onnx]
import { writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { init, models, load, exportOnnx, predict, zeros, loadMNIST } from '../../dist/index.js';

const [weights = 'lenet-wasmconv.safetensors', out = 'lenet.onnx'] = process.argv.slice(2);
await init();
const net = models.lenet();
const dict = await load(weights);
net.loadStateDict(dict);
for (const t of Object.values(dict)) t.dispose();
const bytes = exportOnnx(net, zeros([1, 1, 28, 28]));            // input 'input' [N, 1, 28, 28], output 'output' [N, 10]
writeFileSync(out, bytes);
console.log(`wrote ${out}: ${bytes.length} bytes`);

// Serving: only ONNX Runtime and the .onnx file from here on.
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(out);
const test = await loadMNIST('test/fixtures/fashion-mnist', 'test', { limit: 4 });
const { output } = await session.run({ input: new ort.Tensor('float32', test.images.data(), test.images.shape) });
console.log('ONNX Runtime:', output.dims, Array.from(output.data.slice(0, 4), (v) => v.toFixed(4)).join(' '), '...');
const classes = [];
for (let i = 0; i < output.dims[0]; i++) {
  const row = Array.from(output.data.subarray(10 * i, 10 * i + 10));
  classes.push(row.indexOf(Math.max(...row)));
}
console.log('predicted classes:', classes.join(' '), `(true: ${Array.from(test.labels.data()).join(' ')})`);
const ours = predict(net, test.images).data();
console.log('largest difference from wasmconv:', Math.max(...ours.map((v, i) => Math.abs(v - output.data[i]))) < 1e-5 ? 'below 1e-5' : 'ABOVE 1e-5');
await session.release();

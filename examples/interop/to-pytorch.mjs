// Train LeNet briefly here, then save it for PyTorch (examples/python/lenet_from_wasmconv.py loads it).
//   node examples/interop/to-pytorch.mjs [out.safetensors]
import { init, models, optim, fit, predict, save, DataLoader, TensorDataset, loadMNIST } from '../../dist/index.js';

const out = process.argv[2] ?? 'lenet-wasmconv.safetensors';
await init({ build: 'simd' });        // not relaxed SIMD, whose fused multiply-add rounds differently: the same bytes everywhere
const data = 'test/fixtures/fashion-mnist';                         // the first 5,120 + 1,000 Fashion-MNIST images
const train = await loadMNIST(data, 'train');
const test = await loadMNIST(data, 'test', { limit: 4 });
const net = models.lenet({ seed: 0 });
const loader = new DataLoader(new TensorDataset(train.images, train.labels), { batchSize: 256, shuffle: true, seed: 0 });
const { history } = await fit(net, loader, { epochs: 3, optimizer: new optim.Adam(net.parameters(), { lr: 0.01 }), progress: false });
console.log('loss per epoch:', history.map((h) => h.loss.toFixed(4)).join(' '));
await save(net, out, { metadata: { format: 'pt' } });             // PyTorch's keys: 0.weight, 0.bias, 3.weight, ...
const logits = predict(net, test.images);
console.log('logits of the first test image:', Array.from(logits.data().slice(0, 10), (v) => v.toFixed(4)).join(' '));
console.log('predicted classes:', Array.from(logits.argmax(1).data()).join(' '), '(true:', Array.from(test.labels.data()).join(' ') + ')');
console.log(`wrote ${out}`);

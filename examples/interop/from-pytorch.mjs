// LeNet trained further in PyTorch (examples/python/train_ddp.py), loaded back into wasmconv.
//   node examples/interop/from-pytorch.mjs [lenet-ddp.safetensors]
import { init, models, load, predict, tidy, loadMNIST } from '../../dist/index.js';

const file = process.argv[2] ?? 'lenet-ddp.safetensors';
await init();
const net = models.lenet();
const dict = await load(file);                                     // PyTorch's state dict, by PyTorch's names
console.log(net.loadStateDict(dict));                              // { missingKeys: [], unexpectedKeys: [] }
for (const t of Object.values(dict)) t.dispose();
const test = await loadMNIST('test/fixtures/fashion-mnist', 'test', { limit: 4 });
tidy(() => {
  const logits = predict(net, test.images);                        // eval mode, no gradients
  for (const row of logits.toArray()) console.log(row.map((v) => v.toFixed(6)).join(' '));
  console.log('predicted classes:', Array.from(logits.argmax(1).data()).join(' '), `(true: ${Array.from(test.labels.data()).join(' ')})`);
});

// wasmconv in a dedicated module worker: the same import as on a page.
import { init, backendInfo, ones, tensor, corr2d, conv2d, randn, nn, fit } from '../../../dist/index.js';

try {
  await init();
  const info = backendInfo();
  const X = ones([6, 8]);
  X.assign(X.toArray().map((row) => row.map((v, j) => (j >= 2 && j < 6 ? 0 : v))));
  const Y = corr2d(X, tensor([[1, -1]]));
  const conv = new nn.Conv2D(1, 1, [1, 2], { bias: false, seed: 42 });
  const { loss } = fit(conv, X.reshape([1, 1, 6, 8]), Y.reshape([1, 1, 6, 7]), { epochs: 10, lr: 3e-2, loss: 'sse' });
  // Many channels: a problem the engine splits over its worker pool, when it has one.
  const multi = conv2d(randn([2, 8, 48, 48], { seed: 1 }), randn([16, 8, 3, 3], { seed: 2 }), { padding: 1 }).data();
  postMessage({ info, crossOriginIsolated: self.crossOriginIsolated, edge: Y.toArray(), weight: Array.from(conv.weight.data()), loss, multi: Array.from(multi) });
} catch (e) {
  postMessage({ error: String((e && e.stack) || e) });
}

// The whole integration: import the package by name. No Vite plugin, no config,
// no ?url / ?init wasm import, no optimizeDeps exclusion.
import { init, backendInfo, ones, tensor, corr2d, conv2d, randn, nn, fit } from 'wasmconv';

const out = document.getElementById('out');
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
  const result = { info, crossOriginIsolated: self.crossOriginIsolated, edge: Y.toArray(), weight: Array.from(conv.weight.data()), loss, multi: Array.from(multi) };
  window.__result = result;
  out.textContent = JSON.stringify({ ...result, multi: `${multi.length} values, sum ${multi.reduce((a, b) => a + b, 0).toFixed(3)}` }, null, 1);
  document.body.dataset.done = 'ok';
} catch (e) {
  window.__error = String((e && e.stack) || e);
  out.textContent = window.__error;
  document.body.dataset.done = 'error';
  throw e;
}

import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core'); require('@tensorflow/tfjs-backend-cpu'); const tfw = require('@tensorflow/tfjs-backend-wasm');
import { fileURLToPath } from 'node:url';
console.log(Object.keys(tfw));
tfw.setWasmPaths(fileURLToPath(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url)));
if (tfw.setThreadsCount) tfw.setThreadsCount(1);
const which = process.argv[2];
await tf.setBackend(which); await tf.ready();
console.log(tf.getBackend(), which==='wasm'?tfw.getThreadsCount():'');
const N=4,C=64,H=56,W=56,O=64;
const x = tf.randomNormal([N,H,W,C]); const w = tf.randomNormal([3,3,C,O]); const b = tf.zeros([O]);
for (let r=0;r<4;r++){ const t0=performance.now(); const y=tf.fused.conv2d({x, filter:w, bias:b, strides:1, pad:1}); y.dataSync(); const dt=performance.now()-t0; console.log('fwd',dt, 2*N*O*H*W*C*9/dt/1e6); y.dispose(); }
const dy = tf.randomNormal([N,H,W,O]);
try { const t0=performance.now(); const dx = tf.engine().runKernel('Conv2DBackpropInput', {dy, filter:w}, {strides:[1,1], pad:1, dataFormat:'NHWC', inputShape:[N,H,W,C]}); dx.dataSync(); console.log('bwdInput', performance.now()-t0);} catch(e){console.log('bwdInput err', e.message)}
try { const t0=performance.now(); const dw = tf.engine().runKernel('Conv2DBackpropFilter', {x, dy}, {strides:[1,1], pad:1, dataFormat:'NHWC', filterShape:[3,3,C,O]}); dw.dataSync(); console.log('bwdFilter', performance.now()-t0);} catch(e){console.log('bwdFilter err', e.message)}
console.log(tf.memory());

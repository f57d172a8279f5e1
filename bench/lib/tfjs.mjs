// TensorFlow.js peers: @tensorflow/tfjs-backend-cpu (plain JS) and
// @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD), in their native layouts
// (NHWC input, HWIO filter; (KH, KW, C, 1) for depthwise). Layout changes
// happen before timing. Forward is tf.fused.conv2d / tf.fused.depthwiseConv2d
// with the bias; backward runs the kernels tf.grads would run for that op:
// Conv2DBackpropInput + Conv2DBackpropFilter (or the DepthwiseConv2dNative
// ones) + Sum of dy for the bias, through tf.engine().runKernel.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT, checksum, cpuMeter, depthwiseToHwc1, geometry, measure, nchwToNhwc, now, oihwToHwio, readbackPolicy } from './common.mjs';

export async function loadTfjs() {
  // CommonJS entry points, so that core and both backends share one tfjs-core.
  const require = createRequire(join(ROOT, 'package.json'));
  const tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu');
  const tfw = require('@tensorflow/tfjs-backend-wasm');
  tfw.setWasmPaths(join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + '/');
  if (typeof tfw.setThreadsCount === 'function') tfw.setThreadsCount(1);
  const version = require('@tensorflow/tfjs-core/package.json').version;
  return { tf, tfw, version };
}

export const TFJS_ENGINES = [
  { id: 'tfjs-cpu', label: 'tfjs-backend-cpu', backend: 'cpu', peak: 'simd1' },
  { id: 'tfjs-wasm', label: 'tfjs-backend-wasm 1T', backend: 'wasm', peak: 'simd1' },
];

const initDone = new Map();
async function useBackend(tf, tfw, name) {
  const t0 = now();
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`tf.setBackend('${name}') failed (active: ${tf.getBackend()})`);
  const ms = now() - t0;
  if (!initDone.has(name)) {
    const info = { initMs: ms };
    if (name === 'wasm') {
      info.threads = typeof tfw.getThreadsCount === 'function' ? tfw.getThreadsCount() : null;
      info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      info.multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    }
    initDone.set(name, info);
  }
  return initDone.get(name);
}

function guarded(f) {
  try { return { supported: true, ...f() }; } catch (e) { return { supported: false, error: e instanceof Error ? e.message : String(e) }; }
}

/** Measures one tfjs backend on one shape; same row format as the wasmconv engines. */
export async function runTfjs({ tf, tfw }, engine, shape, inputs, policy) {
  const g = geometry(shape);
  const row = { engine: engine.id, label: engine.label, peak: engine.peak, supported: true, checksBias: true };
  const depthwise = shape.groups > 1 && shape.groups === shape.C && shape.O === shape.C;
  if (shape.groups > 1 && !depthwise) {
    row.supported = false;
    row.fwd = row.bwd = { supported: false, error: 'tfjs has no grouped convolution (only depthwise)' };
    return row;
  }
  const meter = cpuMeter();
  const info = await useBackend(tf, tfw, engine.backend);
  row.initMs = info.initMs;
  row.info = { backend: tf.getBackend(), ...info };
  delete row.info.initMs;

  // Layout changes, untimed.
  const xh = nchwToNhwc(inputs.x, shape.N, shape.C, shape.H, shape.W);
  const dyh = nchwToNhwc(inputs.dy, shape.N, shape.O, g.OH, g.OW);
  const wh = depthwise ? depthwiseToHwc1(inputs.w, shape.C, shape.KH, shape.KW) : oihwToHwio(inputs.w, shape.O, g.Cg, shape.KH, shape.KW);
  const filterShape = depthwise ? [shape.KH, shape.KW, shape.C, 1] : [shape.KH, shape.KW, shape.C, shape.O];
  const x = tf.tensor4d(xh, [shape.N, shape.H, shape.W, shape.C]);
  const filter = tf.tensor4d(wh, filterShape);
  const bias = tf.tensor1d(inputs.b);
  const dy = tf.tensor4d(dyh, [shape.N, g.OH, g.OW, shape.O]);
  const pad = shape.pad === 0 ? 'valid' : shape.pad;
  const strides = [shape.stride, shape.stride];
  const inputShape = [shape.N, shape.H, shape.W, shape.C];

  const forward = depthwise
    ? () => tf.fused.depthwiseConv2d({ x, filter, bias, strides, pad })
    : () => tf.fused.conv2d({ x, filter, bias, strides, pad, dataFormat: 'NHWC' });
  const parts = depthwise
    ? {
        db: () => tf.sum(dy, [0, 1, 2]),
        dw: () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides, pad, dilations: [1, 1], dimRoundingMode: undefined, filterShape }),
        dx: () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { strides, pad, dilations: [1, 1], dimRoundingMode: undefined, inputShape }),
      }
    : {
        db: () => tf.sum(dy, [0, 1, 2]),
        dw: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape }),
        dx: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape }),
      };

  const checks = {};
  let y = null;
  row.fwd = guarded(() => measure({ policy, run: () => { if (y) y.dispose(); y = forward(); } }));
  row.fwd.flops = g.fwdFlops;
  if (y) { checks.y = checksum(y.dataSync()); row.memory = { tfjsBytes: tf.memory().numBytes }; y.dispose(); y = null; }

  // Forward + readback: the same, then y.dataSync() (the values as a typed array in JS).
  row.fwdRead = guarded(() => measure({ policy: readbackPolicy(policy), run: () => { if (y) y.dispose(); y = forward(); y.dataSync(); } }));
  row.fwdRead.flops = g.fwdFlops;
  row.fwdRead.readback = 'y.dataSync()';
  if (y) { y.dispose(); y = null; }

  // The whole backward (db, dw, dx); the slow tfjs-cpu calls run once or twice (see POLICY).
  let grads = null;
  const disposeGrads = () => { if (grads) for (const t of Object.values(grads)) t.dispose(); grads = null; };
  row.bwd = guarded(() => measure({
    policy,
    run: () => {
      disposeGrads();
      const r = {};
      try { for (const [k, f] of Object.entries(parts)) r[k] = f(); } catch (e) { for (const t of Object.values(r)) t.dispose(); throw e; }
      grads = r;
    },
  }));
  row.bwd.flops = g.bwdFlops;
  if (grads) { for (const [k, t] of Object.entries(grads)) checks[k] = checksum(t.dataSync()); disposeGrads(); }
  if (!row.bwd.supported) {
    // What the backend can do of the backward, each part alone (not a full backward).
    row.bwdParts = {};
    for (const [k, f] of Object.entries(parts)) {
      let t = null;
      const m = guarded(() => measure({ policy, run: () => { if (t) t.dispose(); t = f(); } }));
      m.flops = k === 'db' ? g.biasFlops : g.fwdFlops;
      if (t) { checks[k] = checksum(t.dataSync()); t.dispose(); }
      row.bwdParts[k] = m;
    }
  }
  row.checks = checks;
  for (const t of [x, filter, bias, dy]) t.dispose();
  row.load = meter();
  return row;
}

/** JIT warm-up of tfjs's JS layers on both backends (tiny conv, forward and backward), untimed. */
export async function warmUpTfjs({ tf, tfw }, engines, ms) {
  for (const e of engines) {
    await useBackend(tf, tfw, e.backend);
    const x = tf.ones([2, 6, 8, 3]), f = tf.ones([1, 2, 3, 4]), b = tf.zeros([4]), dy = tf.ones([2, 6, 7, 4]);
    const t0 = now();
    while (now() - t0 < ms) {
      tf.tidy(() => {
        tf.fused.conv2d({ x, filter: f, bias: b, strides: [1, 1], pad: 'valid', dataFormat: 'NHWC' });
        tf.sum(dy, [0, 1, 2]);
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: [2, 6, 8, 3] });
        if (tf.getKernel('Conv2DBackpropFilter', e.backend)) {
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [1, 2, 3, 4] });
        }
      });
    }
    for (const t of [x, f, b, dy]) t.dispose();
  }
}

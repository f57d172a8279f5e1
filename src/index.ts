// wasmconv: 2-D convolution for JavaScript and TypeScript on SIMD WebAssembly.
export { init, backendInfo, memory, tidy, keep, noGrad, type InitOptions, type BackendInfo, type MemoryInfo } from './engine';
export {
  Tensor, tensor, zeros, ones, full,
  type TensorLike, type TensorOptions, type NestedNumbers, type NestedArray, type NumericArray,
} from './tensor';
export * from './ops/index';
export { backward } from './autograd';
export { manualSeed, getRngState, setRngState, type Rng } from './random';
export { WasmconvError, ShapeError, DisposedError, NotInitializedError, InitError, AutogradError, BackendError } from './errors';
export { formatTensor } from './format';
export type { ConvGeometry, BuildKind } from './backend/backend';
export * as nn from './nn/index';
export * as optim from './optim/index';
export {
  fit, evaluate, predict, type FitOptions, type FitLoaderOptions, type FitResult, type EpochLogs, type BatchLogs,
  type EvaluateOptions, type Model, type LossSpec, type Metric,
} from './train';
export * from './data/index';
export * as models from './models';
export * from './io/index';
export { exportOnnx, OnnxExportError, type OnnxExportOptions } from './onnx/index';

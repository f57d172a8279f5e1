// wasmconv: 2-D convolution for JavaScript and TypeScript on SIMD WebAssembly.
export { init, backendInfo, type InitOptions, type BackendInfo } from './engine';
export {
  Tensor, tensor, zeros, ones, full, tidy, keep, memory, noGrad,
  type TensorLike, type TensorOptions, type NestedNumbers, type MemoryInfo,
} from './tensor';
export * from './ops/index';
export { backward, AutogradError } from './autograd';
export { manualSeed } from './random';
export { WasmconvError, ShapeError, DisposedError, NotInitializedError, BackendError } from './errors';
export { formatTensor } from './format';
export type { ConvGeometry } from './backend/backend';
export * as nn from './nn/index';
export * as optim from './optim/index';
export { fit, type FitOptions, type Model, type LossSpec } from './train';

// Optimizers with PyTorch's update rules, as fused WebAssembly kernels.
export { SGD, type SGDOptions } from './sgd';
export { Adam, AdamW, type AdamOptions } from './adam';
export type { Optimizer } from './optimizer';

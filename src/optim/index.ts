// Optimizers with PyTorch's update rules.
export { SGD, type SGDOptions } from './sgd';
export { Adam, type AdamOptions } from './adam';
export type { Optimizer } from './optimizer';

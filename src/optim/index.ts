// Optimizers with PyTorch's update rules, as fused WebAssembly kernels, and schedulers.
export { Optimizer, type ParamGroup, type ParamGroupSpec, type OptimizerStateDict } from './optimizer';
export { SGD, type SGDOptions, type SGDGroupOptions } from './sgd';
export { Adam, AdamW, type AdamOptions, type AdamGroupOptions } from './adam';
export { LRScheduler, StepLR, CosineAnnealingLR, type SchedulerStateDict } from './scheduler';

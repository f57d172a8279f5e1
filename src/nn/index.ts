// Layers and losses.
export { Conv2D, type Conv2DOptions } from './conv2d';
export { mseLoss, type Reduction } from './loss';
export * from './losses';

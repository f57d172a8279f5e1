// Layers, losses, initialisation and utilities, as torch.nn.
export { Module } from './module';
export { Conv2D, Conv2D as Conv2d, type Conv2DOptions } from './conv2d';
export { Sequential, Flatten, Identity, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, LogSoftmax, Dropout, type DropoutOptions } from './layers';
export { Linear, type LinearOptions } from './linear';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type MaxPool2dLayerOptions } from './pooling';
export { BatchNorm2d, LayerNorm, type BatchNormOptions, type LayerNormOptions } from './norm';
export { mseLoss, type Reduction } from './loss';
export * as init from './init';
export * as utils from './utils';
export * from './losses';

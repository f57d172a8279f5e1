// Entry of the no-SIMD build: the scalar kernels only.
export * from './kernels';

// The kernel table of one build: every export takes
// (params, a, b, c, d, ws, begin, end); see common.ts.
import { forwardGemm, forwardDirect } from './conv2d_forward';
import { backwardInputGemm } from './conv2d_backward_input';
import { backwardWeightGemm, backwardWeightDirect } from './conv2d_backward_weight';
import { backwardBias } from './conv2d_backward_bias';

export function conv2d_forward_gemm_scalar(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  forwardGemm<f32>(p, a, b, c, d, ws, begin, end);
}
export function conv2d_forward_direct_scalar(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  forwardDirect<f32>(p, a, b, c, d, ws, begin, end);
}
export function conv2d_backward_input_gemm_scalar(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  backwardInputGemm<f32>(p, a, b, c, d, ws, begin, end);
}
export function conv2d_backward_weight_gemm_scalar(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  backwardWeightGemm<f32>(p, a, b, c, d, ws, begin, end);
}
export function conv2d_backward_weight_direct_scalar(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  backwardWeightDirect<f32>(p, a, b, c, d, ws, begin, end);
}
export function conv2d_backward_bias_scalar(p: usize, a: usize, b: usize, c: usize, d: usize, ws: usize, begin: i32, end: i32): void {
  backwardBias<f32>(p, a, b, c, d, ws, begin, end);
}

/** First byte after the module's own data; the JS allocator starts above it. */
export function heap_base(): usize { return __heap_base; }

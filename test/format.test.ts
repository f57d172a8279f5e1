import { describe, it, expect } from 'vitest';
import { formatTensor } from '../src/format.js';

// Every expected string below was produced by PyTorch's repr() of the same
// float32 tensor with default print options.

const range = (n: number, start = 0): number[] => Array.from({ length: n }, (_, i) => start + i);

describe('formatTensor: number modes', () => {
  it('prints the chapter example in int mode with a common width', () => {
    const row = [0, 1, 0, 0, 0, -1, 0];
    const data = Array.from({ length: 6 }, () => row).flat();
    expect(formatTensor(data, [6, 7])).toBe(
      'tensor([[ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n' +
        '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n' +
        '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n' +
        '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n' +
        '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n' +
        '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.]])',
    );
  });

  it('prints integral values with a trailing dot', () => {
    expect(formatTensor([19, 25, 37, 43], [2, 2])).toBe('tensor([[19., 25.],\n        [37., 43.]])');
  });

  it('prints fixed mode with 4 decimals, rounding the float32 value', () => {
    expect(formatTensor([0.9727606, -1.0157102], [1, 2])).toBe('tensor([[ 0.9728, -1.0157]])');
    expect(formatTensor([0.1, 0.2, 0.3], [3])).toBe('tensor([0.1000, 0.2000, 0.3000])');
  });

  it('right-aligns negatives and wider values in fixed mode', () => {
    expect(formatTensor([1.5, -0.25, -10.125, 3], [2, 2])).toBe(
      'tensor([[  1.5000,  -0.2500],\n        [-10.1250,   3.0000]])',
    );
  });

  it('switches to scientific notation for a wide range, large or tiny values', () => {
    expect(formatTensor([123456.789, 1, -0.5], [3])).toBe('tensor([ 1.2346e+05,  1.0000e+00, -5.0000e-01])');
    expect(formatTensor([1e-5, 0.5], [2])).toBe('tensor([1.0000e-05, 5.0000e-01])');
  });

  it('uses scientific notation in int mode when max > 1e8', () => {
    expect(formatTensor([1e9, 1, -3], [3])).toBe('tensor([ 1.0000e+09,  1.0000e+00, -3.0000e+00])');
  });

  it('rounds exact binary ties half to even like Python', () => {
    // 0.03125 and -0.09375 are exact in binary: Python gives 0.0312 / -0.0938
    expect(formatTensor([0.03125, -0.09375, 1], [3])).toBe('tensor([ 0.0312, -0.0938,  1.0000])');
  });

  it('keeps the sign of negative zero', () => {
    expect(formatTensor([-0, 1], [2])).toBe('tensor([-0., 1.])');
  });

  it('prints nan and inf, ignoring them for the width', () => {
    expect(formatTensor([NaN, Infinity, -Infinity, 1.5], [4])).toBe('tensor([   nan,    inf,   -inf, 1.5000])');
    expect(formatTensor([NaN, 1, -Infinity, 10], [4])).toBe('tensor([nan,  1., -inf, 10.])');
    expect(formatTensor([NaN, 0], [2])).toBe('tensor([nan, 0.])');
  });
});

describe('formatTensor: shapes and layout', () => {
  it('prints 0-d tensors', () => {
    expect(formatTensor([3], [])).toBe('tensor(3.)');
    expect(formatTensor([0.3], [])).toBe('tensor(0.3000)');
    expect(formatTensor([-2.5], [])).toBe('tensor(-2.5000)');
    // one value has ratio 1, so no scientific notation
    expect(formatTensor([123456.789], [])).toBe('tensor(123456.7891)');
  });

  it('prints empty tensors, with the size when not 1-D', () => {
    expect(formatTensor([], [0])).toBe('tensor([])');
    expect(formatTensor([], [2, 0])).toBe('tensor([], size=(2, 0))');
  });

  it('separates 3-D slices with one blank line', () => {
    expect(formatTensor(range(12), [2, 2, 3])).toBe(
      'tensor([[[ 0.,  1.,  2.],\n' +
        '         [ 3.,  4.,  5.]],\n' +
        '\n' +
        '        [[ 6.,  7.,  8.],\n' +
        '         [ 9., 10., 11.]]])',
    );
  });

  it('separates 4-D blocks with two blank lines', () => {
    expect(formatTensor(range(16, -8), [2, 2, 2, 2])).toBe(
      'tensor([[[[-8., -7.],\n' +
        '          [-6., -5.]],\n' +
        '\n' +
        '         [[-4., -3.],\n' +
        '          [-2., -1.]]],\n' +
        '\n' +
        '\n' +
        '        [[[ 0.,  1.],\n' +
        '          [ 2.,  3.]],\n' +
        '\n' +
        '         [[ 4.,  5.],\n' +
        '          [ 6.,  7.]]]])',
    );
  });

  it('wraps a long 1-D row at linewidth 80', () => {
    expect(formatTensor(range(30), [30])).toBe(
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n' +
        '        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n' +
        '        28., 29.])',
    );
    expect(formatTensor(range(15).map((i) => i / 4), [15])).toBe(
      'tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000, 1.2500, 1.5000, 1.7500, 2.0000,\n' +
        '        2.2500, 2.5000, 2.7500, 3.0000, 3.2500, 3.5000])',
    );
  });

  it('summarizes a 2000-element 1-D tensor (formatter sees only edge items)', () => {
    expect(formatTensor(range(2000), [2000])).toBe(
      'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n' +
        '        1.9990e+03])',
    );
    expect(formatTensor(range(2000, 1000), [2000])).toBe(
      'tensor([1000., 1001., 1002.,  ..., 2997., 2998., 2999.])',
    );
  });

  it('summarizes a 40x50 tensor in both dimensions', () => {
    expect(formatTensor(new Float32Array(2000).fill(1), [40, 50])).toBe(
      'tensor([[1., 1., 1.,  ..., 1., 1., 1.],\n' +
        '        [1., 1., 1.,  ..., 1., 1., 1.],\n' +
        '        [1., 1., 1.,  ..., 1., 1., 1.],\n' +
        '        ...,\n' +
        '        [1., 1., 1.,  ..., 1., 1., 1.],\n' +
        '        [1., 1., 1.,  ..., 1., 1., 1.],\n' +
        '        [1., 1., 1.,  ..., 1., 1., 1.]])',
    );
    expect(formatTensor(range(2000).map((i) => i / 8), [40, 50])).toBe(
      'tensor([[0.0000e+00, 1.2500e-01, 2.5000e-01,  ..., 5.8750e+00, 6.0000e+00,\n' +
        '         6.1250e+00],\n' +
        '        [6.2500e+00, 6.3750e+00, 6.5000e+00,  ..., 1.2125e+01, 1.2250e+01,\n' +
        '         1.2375e+01],\n' +
        '        [1.2500e+01, 1.2625e+01, 1.2750e+01,  ..., 1.8375e+01, 1.8500e+01,\n' +
        '         1.8625e+01],\n' +
        '        ...,\n' +
        '        [2.3125e+02, 2.3138e+02, 2.3150e+02,  ..., 2.3712e+02, 2.3725e+02,\n' +
        '         2.3738e+02],\n' +
        '        [2.3750e+02, 2.3762e+02, 2.3775e+02,  ..., 2.4338e+02, 2.4350e+02,\n' +
        '         2.4362e+02],\n' +
        '        [2.4375e+02, 2.4388e+02, 2.4400e+02,  ..., 2.4962e+02, 2.4975e+02,\n' +
        '         2.4988e+02]])',
    );
  });
});

describe('formatTensor: requires_grad suffix', () => {
  it('appends requires_grad=True on the same line when it fits', () => {
    expect(formatTensor([1, 2], [2], { requiresGrad: true })).toBe('tensor([1., 2.], requires_grad=True)');
    expect(formatTensor([0.5], [], { requiresGrad: true })).toBe('tensor(0.5000, requires_grad=True)');
    expect(formatTensor(range(20), [20], { requiresGrad: true })).toBe(
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n' +
        '        14., 15., 16., 17., 18., 19.], requires_grad=True)',
    );
  });

  it('moves the suffix to its own line when the last line is too long', () => {
    expect(formatTensor(range(11), [11], { requiresGrad: true })).toBe(
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10.],\n       requires_grad=True)',
    );
  });

  it('omits the suffix when requiresGrad is false', () => {
    expect(formatTensor([1, 2], [2], { requiresGrad: false })).toBe('tensor([1., 2.])');
  });
});

describe('formatTensor: argument checks', () => {
  it('rejects data whose length does not match the shape', () => {
    expect(() => formatTensor([1, 2, 3], [2, 2])).toThrow(RangeError);
    expect(() => formatTensor([1], [-1])).toThrow(RangeError);
  });
});

"""PyTorch parity fixtures for pooling, padding and conv2d's padding_mode:
max_pool2d (every option, indices, ties, NaN, -inf), avg_pool2d (ceil_mode,
count_include_pad, divisor_override), adaptive_avg_pool2d, pad (every mode,
1 to 3 padded dimensions, negative pads) and nn.Conv2d with padding_mode.
Writes test/fixtures/parity/pooling.json (read by test/parity/pooling.test.ts).

    /usr/bin/python3 scripts/parity/pooling.py
"""
import itertools
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.stateless import functional_call

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import case, rand, write  # noqa: E402

gen = torch.Generator().manual_seed(20261127)
cases = []


def avg(x, **a):
    return F.avg_pool2d(x, **a)


def adaptive(x, **a):
    return F.adaptive_avg_pool2d(x, **a)


def padf(x, **a):
    return F.pad(x, **a)


def ri(lo, hi):
    """A random integer in [lo, hi]."""
    return int(torch.randint(lo, hi + 1, (1,), generator=gen))


def pick(xs):
    return xs[ri(0, len(xs) - 1)]


def pooled(n, k, p, s, d, ceil):
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


# --- max_pool2d: every combination of ceil_mode and return_indices, with and
# without padding and dilation, on random shapes whose output is not empty.
def max_case(name, x, args):
    def fn(x, **a):
        ri_ = a.get('return_indices', False)
        out = F.max_pool2d(x, **a)
        return {'y': out[0], 'indices': out[1].float()} if ri_ else out
    cases.append(case(name, {'x': x}, fn, args))


for ceil, ret, padded, dilated in itertools.product([False, True], [False, True], [False, True], [False, True]):
    for rep in range(2):
        while True:
            kh, kw = ri(1, 4), ri(1, 4)
            k = kh if rep == 0 and kh == kw else [kh, kw]
            sh, sw = ri(1, 3), ri(1, 3)
            stride = pick([None, [sh, sw], sh])
            ph, pw = (ri(0, kh // 2), ri(0, kw // 2)) if padded else (0, 0)
            dh, dw = (ri(1, 3), ri(1, 2)) if dilated else (1, 1)
            H, W = ri(1, 9), ri(1, 11)
            s2 = (kh, kw) if stride is None else (stride, stride) if isinstance(stride, int) else tuple(stride)
            if pooled(H, kh, ph, s2[0], dh, ceil) >= 1 and pooled(W, kw, pw, s2[1], dw, ceil) >= 1:
                break
        args = {'kernel_size': k, 'ceil_mode': ceil}
        if stride is not None:
            args['stride'] = stride
        if padded:
            args['padding'] = [ph, pw]
        if dilated:
            args['dilation'] = [dh, dw]
        if ret:
            args['return_indices'] = True
        shape = pick([[1, 2, H, W], [2, 1, H, W], [2, H, W]])
        max_case(f'max_pool2d x={shape} {args}', rand(gen, *shape), args)

# Ties (the first in window order), NaN (the last NaN), -inf windows, LeNet's shape (smaller batch).
tie = (torch.arange(2 * 2 * 7 * 9) * 7 % 3).float().reshape(2, 2, 7, 9)
max_case('max_pool2d ties k3 s1 p1', tie, {'kernel_size': 3, 'stride': 1, 'padding': 1, 'return_indices': True})
max_case('max_pool2d ties k2', tie, {'kernel_size': 2, 'return_indices': True})
nanx = rand(gen, 1, 2, 6, 9)
nanx.view(-1)[torch.tensor([3, 4, 17, 30, 31, 32, 60, 99])] = float('nan')
max_case('max_pool2d NaN', nanx, {'kernel_size': 3, 'stride': 2, 'padding': 1, 'return_indices': True})
infx = torch.full((1, 1, 4, 6), float('-inf'))
infx[0, 0, 1, 4] = 2.0
cases.append(case('max_pool2d -inf windows', {'x': infx}, lambda x, **a: {'y': F.max_pool2d(x, **a)[0], 'indices': F.max_pool2d(x, **a)[1].float()},
                  {'kernel_size': 2, 'stride': 1, 'return_indices': True}, grad=False))
max_case('max_pool2d lenet', rand(gen, 1, 2, 28, 28), {'kernel_size': 2, 'stride': 2})
# A window without taps inside (dilation over the padding): -inf, PyTorch's index.
# PyTorch scatters such a window's gradient to that index (outside the window);
# this engine gives it none, so only the forward is compared.
cases.append(case('max_pool2d windows without taps', {'x': rand(gen, 1, 1, 2, 1)},
                  lambda x, **a: {'y': F.max_pool2d(x, **a)[0], 'indices': F.max_pool2d(x, **a)[1].float()},
                  {'kernel_size': [1, 2], 'stride': 1, 'padding': [0, 1], 'dilation': [1, 2], 'return_indices': True}, grad=False))

# --- avg_pool2d: ceil_mode x count_include_pad x divisor_override, with and without padding.
for ceil, include, div, padded in itertools.product([False, True], [False, True], [None, 3, -2], [False, True]):
    while True:
        kh, kw = ri(1, 4), ri(1, 4)
        sh, sw = ri(1, 3), ri(1, 3)
        stride = pick([None, [sh, sw]])
        s2 = (sh, sw) if stride is not None else (kh, kw)
        ph, pw = (ri(0, kh // 2), ri(0, kw // 2)) if padded else (0, 0)
        H, W = ri(1, 9), ri(1, 11)
        if pooled(H, kh, ph, s2[0], 1, ceil) >= 1 and pooled(W, kw, pw, s2[1], 1, ceil) >= 1:
            break
    args = {'kernel_size': [kh, kw], 'ceil_mode': ceil, 'count_include_pad': include}
    if stride is not None:
        args['stride'] = stride
    if padded:
        args['padding'] = [ph, pw]
    if div is not None:
        args['divisor_override'] = div
    shape = pick([[1, 2, H, W], [2, H, W]])
    cases.append(case(f'avg_pool2d x={shape} {args}', {'x': rand(gen, *shape)}, avg, args))
cases.append(case('avg_pool2d clipped ceil windows', {'x': rand(gen, 1, 1, 5, 5)}, avg,
                  {'kernel_size': 2, 'stride': 2, 'padding': 1, 'ceil_mode': True}))
cases.append(case('avg_pool2d lenet', {'x': rand(gen, 1, 2, 28, 28)}, avg, {'kernel_size': 2, 'stride': 2}))

# --- adaptive_avg_pool2d (None keeps the input's size).
for shape, size in [([1, 2, 7, 9], [3, 4]), ([2, 3, 7, 9], 1), ([1, 2, 5, 6], [8, 13]), ([1, 2, 5, 6], [None, 2]),
                    ([3, 10, 10], 3), ([1, 1, 9, 7], [4, None]), ([2, 1, 6, 6], [6, 6]), ([1, 2, 11, 5], [3, 5])]:
    cases.append(case(f'adaptive_avg_pool2d x={shape} size={size}', {'x': rand(gen, *shape)}, adaptive, {'output_size': size}))

# --- pad: every mode, 1 to 3 padded dimensions, negative pads, values.
pad_shapes = {1: [[2, 3, 7], [3, 7]], 2: [[1, 2, 4, 5], [2, 4, 5]], 3: [[1, 1, 3, 3, 4], [1, 3, 3, 4]]}
for mode in ['constant', 'reflect', 'replicate', 'circular']:
    for k, shapes in pad_shapes.items():
        for shape in shapes:
            if mode == 'circular' and len(shape) != k + 2:
                continue  # PyTorch 1.13 pads circularly only batched inputs
            for crop in [False, True]:
                pads = []
                for i in range(k):
                    n = shape[-1 - i]
                    hi = n - 1 if mode == 'reflect' else n
                    lo, hi2 = (-(n // 2), hi) if crop else (0, hi)
                    left = ri(lo, hi2)
                    pads += [left, max(ri(lo, hi2), 1 - n - left)]  # at least one element left
                if crop and mode != 'constant' and all(p >= 0 for p in pads):
                    pads[0] = -1
                if mode == 'circular' and crop:
                    # keep each wrap within the cropped size
                    for i in range(k):
                        n = shape[-1 - i]
                        kept = n - max(-pads[2 * i], 0) - max(-pads[2 * i + 1], 0)
                        pads[2 * i] = min(pads[2 * i], kept)
                        pads[2 * i + 1] = min(pads[2 * i + 1], kept)
                args = {'pad': pads, 'mode': mode}
                if mode == 'constant' and crop:
                    args['value'] = 1.5
                cases.append(case(f'pad {mode} x={shape} {pads}', {'x': rand(gen, *shape)}, padf, args))
# (JSON has no infinities: the value is written as the fixtures write tensors, 'inf' or '-inf'.)
cases.append(case('pad constant value -inf', {'x': rand(gen, 2, 4)}, lambda x, pad, value: F.pad(x, pad, value=float(value)),
                  {'pad': [1, 2, 2, 0], 'value': '-inf'}))
cases.append(case('pad reflect largest', {'x': rand(gen, 1, 2, 3, 4)}, padf, {'pad': [3, 3, 2, 2], 'mode': 'reflect'}))
cases.append(case('pad circular whole size', {'x': rand(gen, 1, 2, 3, 4)}, padf, {'pad': [4, 4, 3, 3], 'mode': 'circular'}))
cases.append(case('pad replicate large', {'x': rand(gen, 1, 1, 2, 3)}, padf, {'pad': [5, 7, 6, 1], 'mode': 'replicate'}))


# --- nn.Conv2d with padding_mode (its own forward, weights passed functionally).
def conv_case(name, xs, ws, opts, mode):
    m = nn.Conv2d(ws[1] * opts.get('groups', 1), ws[0], ws[2:], padding_mode=mode, **opts)

    def fn(x, weight, bias):
        return functional_call(m, {'weight': weight, 'bias': bias}, (x,))
    args = {**opts, 'padding_mode': mode}
    cases.append(case(name, {'x': rand(gen, *xs), 'weight': rand(gen, *ws), 'bias': rand(gen, ws[0])}, fn, None))
    cases[-1]['args'] = args


for mode in ['reflect', 'replicate', 'circular', 'zeros']:
    for xs, ws, opts in [([1, 3, 6, 7], [4, 3, 3, 3], {'padding': 1}), ([1, 2, 5, 6], [2, 2, 2, 2], {'padding': 'same'}),
                         ([1, 2, 7, 7], [2, 2, 3, 2], {'padding': 'same', 'dilation': 2}),
                         ([1, 2, 7, 8], [3, 2, 3, 3], {'padding': [2, 1], 'stride': 2}),
                         ([1, 4, 6, 6], [4, 2, 3, 3], {'padding': 1, 'groups': 2}), ([1, 2, 4, 5], [2, 2, 1, 3], {'padding': [0, 2]})]:
        conv_case(f'conv2d padding_mode={mode} x={xs} w={ws} {opts}', xs, ws, opts, mode)

write('pooling', cases)

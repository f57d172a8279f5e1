"""PyTorch parity fixtures for squeeze, unsqueeze, slice, narrow, select,
index_select, cat, stack, var and std (forward and gradients), read by
test/parity/shape_ops.test.ts. Every case's args name the op (`op`) and its
arguments as the engine takes them.

    python3 scripts/parity/shape_ops.py
"""
import torch

import common
from common import case, write


def rand(gen, *shape, low=-1.0, high=1.0):
    # common.rand, for 0-d shapes too (torch.rand needs its size as a tuple then)
    return torch.rand(tuple(shape), generator=gen, dtype=torch.float32) * (high - low) + low


# case() draws the output gradient with common.rand: give it the 0-d-capable one (0-d results here)
common.rand = rand

g = torch.Generator().manual_seed(20261127)
cases = []


def r(*shape):
    return rand(g, *shape)


def add(name, inputs, fn, args, grad=True):
    cases.append(case(name, inputs, lambda **kw: fn(**{k: kw[k] for k in inputs}), args, grad=grad))


# ---- squeeze, unsqueeze ------------------------------------------------------
def squeeze_dims(x, dims):
    # PyTorch 2's squeeze over a tuple of dims, as successive squeezes (1.13 takes one dim)
    for d in sorted((d % max(x.dim(), 1) for d in dims), reverse=True):
        x = x.squeeze(d)
    return x


for shape, dim in [([1, 3, 1, 2], None), ([1, 3, 1, 2], 0), ([1, 3, 1, 2], 1), ([1, 3, 1, 2], -2),
                   ([1, 3, 1, 2], [0, 2]), ([1, 3, 1, 2], [-1, 0]), ([], None), ([], 0), ([2, 1], -1)]:
    fn = (lambda x, dim=dim: x.squeeze()) if dim is None else (lambda x, dim=dim: squeeze_dims(x, dim)) if isinstance(dim, list) else (lambda x, dim=dim: x.squeeze(dim))
    add(f'squeeze {shape} dim={dim}', {'x': r(*shape)}, fn, {'op': 'squeeze', 'dim': dim})
for shape, dim in [([3, 4], 0), ([3, 4], 1), ([3, 4], 2), ([3, 4], -1), ([3, 4], -3), ([], 0), ([], -1)]:
    add(f'unsqueeze {shape} dim={dim}', {'x': r(*shape)}, lambda x, dim=dim: x.unsqueeze(dim), {'op': 'unsqueeze', 'dim': dim})

# ---- slice (dim 0), narrow, select ---------------------------------------------
for start, end in [(1, 4), (-2, None), (0, -1), (3, 1), (-10, 10), (None, 2), (5, 5), (2, 100), (-1, None)]:
    add(f'slice [5, 3] {start}:{end}', {'x': r(5, 3)}, lambda x, s=start, e=end: x[s:e], {'op': 'slice', 'start': start, 'end': end})
for shape, dim, start, length in [([4, 3, 5], 0, 1, 2), ([4, 3, 5], 1, 0, 3), ([4, 3, 5], 1, -2, 1), ([4, 3, 5], 2, 2, 3),
                                  ([4, 3, 5], -1, -5, 5), ([4, 3, 5], 0, 4, 0), ([1, 6, 2], 1, 3, 2), ([6], 0, -3, 2)]:
    add(f'narrow {shape} dim={dim} start={start} length={length}', {'x': r(*shape)},
        lambda x, d=dim, s=start, n=length: torch.narrow(x, d, s, n), {'op': 'narrow', 'dim': dim, 'start': start, 'length': length})
for shape, dim, index in [([4, 3, 5], 0, 2), ([4, 3, 5], 0, -1), ([4, 3, 5], 1, 1), ([4, 3, 5], 2, -5), ([6], 0, 3)]:
    add(f'select {shape} dim={dim} index={index}', {'x': r(*shape)},
        lambda x, d=dim, i=index: x.select(d, i), {'op': 'select', 'dim': dim, 'index': index})

# ---- index_select: every dim, repeated, reversed, empty, 0-d -------------------------
for shape, dim, index in [([5, 3], 0, [4, 0, 4, 4, 1]), ([5, 3], 1, [2, 2, 0]), ([3, 4, 5], 1, [3, 2, 1, 0]),
                          ([3, 4, 5], 2, [0, 4, 0]), ([3, 4, 5], -1, [1]), ([3, 4, 5], 0, []), ([6, 2], 0, list(range(5, -1, -1)) * 2),
                          ([4, 37], 0, [3, 3, 0]), ([], 0, [0])]:
    add(f'index_select {shape} dim={dim} index={index}', {'x': r(*shape)},
        lambda x, d=dim, i=index: torch.index_select(x, d, torch.tensor(i, dtype=torch.long)),
        {'op': 'indexSelect', 'dim': dim, 'index': index})
add('index_select 0-d index', {'x': r(5, 2)}, lambda x: torch.index_select(x, 0, torch.tensor(3)),
    {'op': 'indexSelect', 'dim': 0, 'index': 3})

# ---- cat, stack -------------------------------------------------------------------
for shapes, dim in [([[2, 3, 4], [1, 3, 4], [3, 3, 4]], 0), ([[2, 3, 4], [2, 1, 4], [2, 2, 4]], 1), ([[2, 3, 4], [2, 3, 2]], 2),
                    ([[2, 3, 4], [2, 3, 2]], -1), ([[5], [0], [3]], 0), ([[0], [2, 3], [1, 3]], 0), ([[2, 3], [0], [2, 2]], 1),
                    ([[3, 0], [3, 2]], 1), ([[0], [0]], 0), ([[4, 2]], -2)]:
    names = [f'x{k}' for k in range(len(shapes))]
    inputs = {n: r(*s) for n, s in zip(names, shapes)}
    add(f'cat {shapes} dim={dim}', inputs, lambda dim=dim, names=names, **kw: torch.cat([kw[n] for n in names], dim),
        {'op': 'cat', 'dim': dim, 'names': names})
for shape, n, dim in [([2, 3], 3, 0), ([2, 3], 3, 1), ([2, 3], 2, 2), ([2, 3], 2, -1), ([2, 3], 2, -3), ([], 4, 0), ([5], 1, 0), ([0, 2], 2, 1)]:
    names = [f'x{k}' for k in range(n)]
    inputs = {nm: r(*shape) for nm in names}
    add(f'stack {n} x {shape} dim={dim}', inputs, lambda dim=dim, names=names, **kw: torch.stack([kw[nm] for nm in names], dim),
        {'op': 'stack', 'dim': dim, 'names': names})

# ---- var, std: dims, keepdim, correction, unbiased, and N - correction <= 0 -----------------
# (dim=[] reduces over everything; PyTorch 1.13's gradient then divides by 1 - correction
# instead of N - correction, a bug of that version: its forward only is recorded.)
def moment(op, dim, opts):
    def fn(x):
        f = torch.var if op == 'var' else torch.std
        kw = {}
        if 'keepdim' in opts:
            kw['keepdim'] = opts['keepdim']
        if 'unbiased' in opts:
            kw['unbiased'] = opts['unbiased']
        if 'correction' in opts:
            kw['correction'] = opts['correction']
        if dim is None and not kw:
            return f(x)
        return f(x, dim, **kw)
    return fn


for op in ['var', 'std']:
    for shape, dim, opts, grad in [
        ([7], None, {}, True), ([2, 3, 4], None, {}, True), ([3, 17], 1, {}, True), ([3, 17], -1, {'keepdim': True}, True),
        ([9, 7], 0, {'correction': 0}, True), ([2, 5, 3], 1, {'correction': 2}, True), ([2, 3, 4], [0, 2], {'keepdim': True}, True),
        ([2, 3, 4], [1, 2], {'unbiased': False}, True), ([2, 3, 4], None, {'unbiased': True, 'keepdim': True}, True),
        ([2, 3, 4], [], {'correction': 0}, False), ([4, 6], 1, {'correction': -1}, True), ([3, 1], 1, {}, True),
        ([2, 4], 1, {'correction': 4}, True), ([2, 4], 1, {'correction': 5}, True), ([], 0, {'correction': 0}, True),
        ([0, 3], 0, {}, True), ([0, 3], 1, {}, True), ([4, 300], 1, {}, True),
    ]:
        x = r(*shape)
        add(f'{op} {shape} dim={dim} {opts}', {'x': x}, moment(op, dim, opts), {'op': op, 'dim': dim, **opts}, grad=grad)
    x = torch.floor(r(3, 5) * 2)
    x[1] = 0.5
    add(f'{op} with a constant row', {'x': x}, moment(op, 1, {}), {'op': op, 'dim': 1})
    add(f'{op} of values near 1000', {'x': 1000 + r(4, 50)}, moment(op, 1, {}), {'op': op, 'dim': 1})

write('shape_ops', cases)

"""PyTorch parity fixtures for softmax, log_softmax, gather, one_hot, where,
cross_entropy and nll_loss: writes test/fixtures/parity/softmax.json, read by
test/parity/softmax.test.ts.

Each case's args name the op ('op') and its options in this engine's terms;
class indices are stored as floats (the engine's targets are float32 whole
numbers). Run: /usr/bin/python3 scripts/parity/softmax.py
"""
import math

import torch
import torch.nn.functional as F

import common
from common import case, write


def rand(gen, *shape, low=-1.0, high=1.0):
    # common.rand with the shape as one tuple, so that 0-d shapes (the losses' reduced
    # outputs, whose dy case() draws with common.rand) work too.
    return torch.rand(tuple(shape), generator=gen, dtype=torch.float32) * (high - low) + low


common.rand = rand

g = torch.Generator().manual_seed(20261127)
cases = []
INF, NAN = math.inf, math.nan


def labels(*shape, C, ignore=None, every=0):
    t = torch.randint(0, C, shape, generator=g)
    if ignore is not None and every:
        flat = t.view(-1)
        flat[::every] = ignore
    return t


# softmax and log_softmax over every dim, 1-d, 0-d, and rows with inf and NaN.
x345 = rand(g, 3, 4, 5, low=-3, high=3)
for op, f in (('softmax', F.softmax), ('logSoftmax', F.log_softmax)):
    for dim in (0, 1, 2, -1):
        cases.append(case(f'{op} x=[3,4,5] dim={dim}', {'x': x345}, lambda x, op, dim, f=f: f(x, dim), {'op': op, 'dim': dim}))
    cases.append(case(f'{op} 1-d', {'x': rand(g, 13, low=-5, high=5)}, lambda x, op, dim, f=f: f(x, dim), {'op': op, 'dim': 0}))
    cases.append(case(f'{op} 0-d', {'x': torch.tensor(0.7)}, lambda x, op, dim, f=f: f(x, dim), {'op': op, 'dim': 0}))
    special = torch.tensor([[1, INF, 2], [-INF, -INF, -INF], [1, NAN, 2], [INF, INF, 0], [-INF, 0, 1],
                            [3e38, 3e38, -3e38], [100, 0, -100], [-1e4, 1e4, 0]], dtype=torch.float32)
    cases.append(case(f'{op} special rows', {'x': special}, lambda x, op, dim, f=f: f(x, dim), {'op': op, 'dim': 1}))
    cases.append(case(f'{op} special columns', {'x': special.t().contiguous()}, lambda x, op, dim, f=f: f(x, dim), {'op': op, 'dim': 0}))
    cases.append(case(f'{op} large values x=[4,9]', {'x': rand(g, 4, 9, low=80, high=120)}, lambda x, op, dim, f=f: f(x, dim), {'op': op, 'dim': 1}))

# gather along each dim, indices smaller than x apart from dim, repeated indices.
for dim, ishape in ((0, (5, 4, 5)), (1, (3, 6, 2)), (2, (2, 4, 7)), (-1, (3, 4, 1)), (1, (1, 1, 1))):
    R = x345.shape[dim]
    idx = torch.randint(0, R, ishape, generator=g)
    cases.append(case(f'gather x=[3,4,5] dim={dim} index={list(ishape)}', {'x': x345, 'index': idx},
                      lambda x, index, op, dim: torch.gather(x, dim, index), {'op': 'gather', 'dim': dim}))
cases.append(case('gather 1-d', {'x': rand(g, 6), 'index': torch.tensor([5, 0, 0, 3, 5, 5, 1])},
                  lambda x, index, op, dim: torch.gather(x, dim, index), {'op': 'gather', 'dim': 0}))

# one_hot (no gradient).
for name, lab, nc in (('inferred', torch.tensor([0, 2, 1, 2]), -1), ('5 classes', torch.tensor([0, 4, 1]), 5),
                      ('2-d labels', torch.tensor([[1, 0, 3], [2, 2, 0]]), 4), ('0-d label', torch.tensor(3), 6)):
    cases.append(case(f'oneHot {name}', {'labels': lab}, lambda labels, op, numClasses: F.one_hot(labels, numClasses).float(),
                      {'op': 'oneHot', 'numClasses': nc}, grad=False))

# where with broadcasting of all three; scalar branches; NaN and -0 conditions.
def cond(*shape):
    return (rand(g, *shape) > 0).float()


for cs, as_, bs in (((5,), (5,), (5,)), ((2, 3, 4), (4,), (3, 1)), ((3, 1), (1, 4), ()), ((1, 4), (3, 1), (3, 4))):
    cases.append(case(f'where c={list(cs)} a={list(as_)} b={list(bs)}', {'c': cond(*cs), 'a': rand(g, *as_), 'b': rand(g, *bs)},
                      lambda c, a, b, op: torch.where(c != 0, a, b), {'op': 'where'}))
cases.append(case('where NaN and -0 conditions', {'c': torch.tensor([NAN, -0.0, 0.0, 2.0, -1.0]), 'a': rand(g, 5), 'b': rand(g, 5)},
                  lambda c, a, b, op: torch.where(c != 0, a, b), {'op': 'where'}))
cases.append(case('where scalar a', {'c': cond(2, 3), 'b': rand(g, 3)},
                  lambda c, b, op, a: torch.where(c != 0, torch.tensor(a), b), {'op': 'where', 'a': 0.25}))
cases.append(case('where scalar b', {'c': cond(2, 3), 'a': rand(g, 2, 1)},
                  lambda c, a, op, b: torch.where(c != 0, a, torch.tensor(b)), {'op': 'where', 'b': -1.5}))


# cross_entropy and nll_loss.
def ce(x, t, op, reduction='mean', ignoreIndex=-100, labelSmoothing=0.0, w=None):
    return F.cross_entropy(x, t, weight=None if w is None else w.detach(), reduction=reduction,
                           ignore_index=ignoreIndex, label_smoothing=labelSmoothing)


def nll(x, t, op, reduction='mean', ignoreIndex=-100, w=None):
    return F.nll_loss(x, t, weight=None if w is None else w.detach(), reduction=reduction, ignore_index=ignoreIndex)


def weights(C):
    return rand(g, C, low=0.2, high=2.0)


for reduction in ('mean', 'sum', 'none'):
    x = rand(g, 7, 5, low=-3, high=3)
    t = labels(7, C=5)
    ti = labels(7, C=5, ignore=-100, every=3)
    w = weights(5)
    for fname, f, extra in (('crossEntropy', ce, {}), ('nllLoss', nll, {})):
        cases.append(case(f'{fname} {reduction}', {'x': x, 't': t}, f, {'op': fname, 'reduction': reduction}))
        cases.append(case(f'{fname} {reduction} weighted', {'x': x, 't': t, 'w': w}, f, {'op': fname, 'reduction': reduction}))
        cases.append(case(f'{fname} {reduction} ignored', {'x': x, 't': ti}, f, {'op': fname, 'reduction': reduction}))
        cases.append(case(f'{fname} {reduction} weighted ignored', {'x': x, 't': ti, 'w': w}, f, {'op': fname, 'reduction': reduction}))
        cases.append(case(f'{fname} {reduction} ignoreIndex 1', {'x': x, 't': t}, f, {'op': fname, 'reduction': reduction, 'ignoreIndex': 1}))
    for ls in (0.1, 0.45, 1.0):
        cases.append(case(f'crossEntropy {reduction} smoothing {ls}', {'x': x, 't': t}, ce, {'op': 'crossEntropy', 'reduction': reduction, 'labelSmoothing': ls}))
    cases.append(case(f'crossEntropy {reduction} smoothing weighted ignored', {'x': x, 't': ti, 'w': w}, ce,
                      {'op': 'crossEntropy', 'reduction': reduction, 'labelSmoothing': 0.2}))
    # K-dimensional: [N, C, d1, d2] with targets [N, d1, d2].
    x4 = rand(g, 2, 4, 3, 2, low=-2, high=2)
    t4 = labels(2, 3, 2, C=4, ignore=-100, every=4)
    cases.append(case(f'crossEntropy {reduction} 4-d weighted smoothing', {'x': x4, 't': t4, 'w': weights(4)}, ce,
                      {'op': 'crossEntropy', 'reduction': reduction, 'labelSmoothing': 0.15}))
    cases.append(case(f'nllLoss {reduction} 4-d weighted', {'x': x4, 't': t4, 'w': weights(4)}, nll, {'op': 'nllLoss', 'reduction': reduction}))
    # Unbatched: [C] with a 0-d target.
    cases.append(case(f'crossEntropy {reduction} 1-d', {'x': rand(g, 6), 't': torch.tensor(4)}, ce, {'op': 'crossEntropy', 'reduction': reduction}))
    cases.append(case(f'nllLoss {reduction} 1-d', {'x': rand(g, 6), 't': torch.tensor(2)}, nll, {'op': 'nllLoss', 'reduction': reduction}))
    # Probability targets, their gradient too.
    p = torch.softmax(rand(g, 7, 5, low=-2, high=2), 1)
    cases.append(case(f'crossEntropy {reduction} probabilities', {'x': x, 't': p}, ce, {'op': 'crossEntropy', 'reduction': reduction}))
    cases.append(case(f'crossEntropy {reduction} probabilities weighted smoothing', {'x': x, 't': p, 'w': w}, ce,
                      {'op': 'crossEntropy', 'reduction': reduction, 'labelSmoothing': 0.3}))
    p4 = torch.softmax(rand(g, 2, 4, 3, 2), 1)
    cases.append(case(f'crossEntropy {reduction} 4-d probabilities', {'x': x4, 't': p4}, ce, {'op': 'crossEntropy', 'reduction': reduction}))

# LeNet's batch: [256, 10].
cases.append(case('crossEntropy LeNet [256,10]', {'x': rand(g, 256, 10, low=-4, high=4), 't': labels(256, C=10)}, ce, {'op': 'crossEntropy'}))
# Large logits (stable through log-softmax).
cases.append(case('crossEntropy large logits', {'x': rand(g, 4, 6, low=-1e4, high=1e4), 't': labels(4, C=6)}, ce,
                  {'op': 'crossEntropy', 'labelSmoothing': 0.1}))

write('softmax', cases)

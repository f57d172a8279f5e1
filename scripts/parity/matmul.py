"""PyTorch parity fixtures for matmul and linear: torch.matmul in every form
(dot, matrix-matrix, vector-matrix, matrix-vector, batched with broadcasting,
empty inner size) and torch.nn.functional.linear with and without bias (2-D,
3-D and 1-D inputs, 1-D weight, bias of one value), forward and the gradients
of every input. Writes test/fixtures/parity/matmul.json."""
import torch
import torch.nn.functional as F

import common
from common import case, write


def rand(gen, *shape, low=-1.0, high=1.0):
    # common.rand with the shape passed as one tuple, so that a 0-d shape works
    # (torch.rand() with no sizes is refused); the same numbers otherwise.
    return torch.rand(tuple(shape), generator=gen, dtype=torch.float32) * (high - low) + low


# case() draws the output gradient with common.rand: a dot product's is 0-d.
common.rand = rand

gen = torch.Generator().manual_seed(20261127)
cases = []


def matmul(a, b):
    return torch.matmul(a, b)


def linear(x, w, b=None):
    return F.linear(x, w, b)


MATMUL = [
    ('dot', [7], [7]),
    ('dot K=1', [1], [1]),
    ('dot K=65', [65], [65]),
    ('matrix-matrix', [3, 5], [5, 4]),
    ('matrix-matrix edges', [9, 17], [17, 7]),
    ('matrix-matrix 1x1', [1, 1], [1, 1]),
    ('matrix-matrix K=300', [5, 300], [300, 9]),
    ('vector-matrix', [5], [5, 9]),
    ('matrix-vector', [9, 5], [5]),
    ('vector-batched', [4], [2, 4, 3]),
    ('batched-vector', [2, 3, 4], [4]),
    ('batched-vector 4-D', [2, 1, 3, 4], [4]),
    ('batched', [2, 3, 4], [2, 4, 5]),
    ('batched by matrix', [2, 3, 4], [4, 5]),
    ('matrix by batched', [3, 4], [2, 4, 5]),
    ('broadcast batch 1', [1, 3, 4], [2, 4, 5]),
    ('broadcast [2,1,3,4]@[5,4,6]', [2, 1, 3, 4], [5, 4, 6]),
    ('broadcast both 4-D', [2, 1, 3, 4], [1, 3, 4, 5]),
    ('broadcast 6-D', [3, 1, 2, 1, 3, 4], [2, 1, 2, 4, 5]),
    ('empty inner size', [3, 0], [0, 4]),
]
for name, sa, sb in MATMUL:
    cases.append(case(f'matmul {name} {sa} @ {sb}', {'a': rand(gen, *sa), 'b': rand(gen, *sb)}, matmul))

LINEAR = [
    ('2-D', [8, 5], [3, 5], [3]),
    ('2-D no bias', [8, 5], [3, 5], None),
    ('2-D edges', [17, 9], [10, 9], [10]),
    ('LeNet-like', [16, 40], [12, 40], [12]),
    ('3-D', [2, 3, 4], [5, 4], [5]),
    ('3-D no bias', [2, 3, 4], [5, 4], None),
    ('4-D', [2, 2, 3, 4], [6, 4], [6]),
    ('1-D input', [4], [3, 4], [3]),
    ('1-D input no bias', [4], [3, 4], None),
    ('1-D weight', [3, 4], [4], None),
    ('one output', [6, 4], [1, 4], [1]),
    ('bias of one value', [5, 6], [3, 6], [1]),
    ('0-d bias', [5, 6], [3, 6], []),
    ('bias [R, out]', [5, 6], [3, 6], [5, 3]),
]
for name, sx, sw, sbias in LINEAR:
    inputs = {'x': rand(gen, *sx), 'w': rand(gen, *sw)}
    if sbias is not None:
        inputs['b'] = rand(gen, *sbias)
    cases.append(case(f'linear {name} x={sx} w={sw} bias={sbias}', inputs, linear))

write('matmul', cases)

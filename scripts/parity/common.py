"""Shared helpers of the PyTorch parity fixture scripts.

Each script in scripts/parity/ (run with Debian's python3-torch:
`python3 scripts/parity/<area>.py`, or all of them with `npm run fixtures`)
computes cases with PyTorch and writes test/fixtures/parity/<area>.json, which
test/parity/<area>.test.ts reads; `npm test` never needs Python.

A fixture file is {"torch": version, "cases": [case, ...]}; a case is
{"name": str, "inputs": {name: tensor}, "args": {...}, "outputs": {name: tensor},
 "grads": {input name: tensor}} where a tensor is {"shape": [...], "data": [...]}
(float32 values written as Python floats; NaN and infinities as the strings
"nan", "inf", "-inf").
"""
import json
import math
import os
import sys

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')


def enc(v):
    v = float(v)
    if math.isnan(v):
        return 'nan'
    if math.isinf(v):
        return 'inf' if v > 0 else '-inf'
    return v


def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous()
    return {'shape': list(t.shape), 'data': [enc(v) for v in t.reshape(-1).tolist()]}


def rand(gen, *shape, low=-1.0, high=1.0):
    return (torch.rand(tuple(shape), generator=gen, dtype=torch.float32) * (high - low) + low)


def write(area, cases):
    path = os.path.join(ROOT, 'test', 'fixtures', 'parity', area + '.json')
    with open(path, 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
        f.write('\n')
    print(f'{path}: {len(cases)} cases (torch {torch.__version__})', file=sys.stderr)


def case(name, inputs, fn, args=None, grad=True, seed_grad=None):
    """Runs fn(**inputs, **args) with PyTorch; records outputs and, when grad, the
    gradients of sum(out * dy) for a fixed random dy (recorded as output 'dy')."""
    args = args or {}
    leaves = {k: v.clone().requires_grad_(grad and v.dtype.is_floating_point) for k, v in inputs.items()}
    out = fn(**leaves, **args)
    outs = out if isinstance(out, dict) else {'y': out}
    rec = {'name': name, 'inputs': {k: tensor_json(v) for k, v in inputs.items()}, 'args': args,
           'outputs': {k: tensor_json(v) for k, v in outs.items()}, 'grads': {}}
    if grad:
        y = outs['y']
        g = torch.Generator().manual_seed(seed_grad if seed_grad is not None else len(name))
        dy = rand(g, *y.shape)
        rec['outputs']['dy'] = tensor_json(dy)
        (y * dy).sum().backward()
        for k, v in leaves.items():
            if v.grad is not None:
                rec['grads'][k] = tensor_json(v.grad)
    return rec

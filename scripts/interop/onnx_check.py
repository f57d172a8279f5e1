"""Checks the ONNX models wasmconv exports, with Python's onnx and PyTorch.

Run with Debian's python3-onnx and python3-torch: `/usr/bin/python3 scripts/interop/onnx_check.py`.
`npm test` never runs it; it reads the fixtures that test/onnx.test.ts keeps
byte for byte (test/fixtures/interop/<name>.onnx, made by the engine from
seeds) and, beside each, <name>.json: an input and the engine's output for it.

For every fixture:
1. onnx.checker.check_model(model, full_check=True): the schema, every node
   against its operator's definition at the model's opset, and shape
   inference over the whole graph; plus the header (IR version, opset,
   producer) and the graph output shape that shape inference finds.
2. The graph evaluated node by node with torch.nn.functional (ONNX semantics,
   written out below) on the fixture's input: the output must match the
   engine's within 1e-5.
3. The same model built with torch.nn (LeNet as d2l builds it, and so on),
   its state dict loaded from the ONNX initializers by name (strict: every
   key but BatchNorm's num_batches_tracked must be there, and nothing else):
   its output must match the engine's within 1e-5. This checks that the
   initializer names are PyTorch's state-dict keys.
4. torch.onnx.export of that torch model at the same opset, for comparison:
   the operator sequences are printed side by side (informational).
5. onnx.reference's evaluator, when the installed onnx has it (1.13 or later;
   Debian's 1.12 does not): its output must match too.

Prints one line per check and ends with 'N passed, N failed'; exits 1 on any
failure.
"""
import importlib.util
import io
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
FIXTURES = os.path.join(ROOT, 'test', 'fixtures', 'interop')
RTOL = ATOL = 1e-5


# --- The torch models the fixtures were made from (test/onnx.test.ts) -------

def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def lenet_modern():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def layers():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.BatchNorm2d(8),
        nn.LeakyReLU(0.1),
        nn.Conv2d(8, 8, 3, padding='same', dilation=2, groups=4, bias=False),
        nn.Conv2d(8, 6, (2, 3), padding='same', padding_mode='reflect'),
        nn.Sequential(nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), nn.Tanh(), nn.Dropout(0.2)),
        nn.Conv2d(6, 6, 3, padding=1, padding_mode='replicate'),
        nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        nn.Sigmoid(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 5),
        nn.LogSoftmax(1))


MODELS = {'lenet': lenet, 'lenet_modern': lenet_modern, 'layers': layers}


# --- ONNX semantics with torch.nn.functional ---------------------------------

def attrs_of(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def pool_args(a):
    pads = list(a.get('pads', [0, 0, 0, 0]))
    if pads[:2] != pads[2:]:
        raise ValueError(f'asymmetric pool pads {pads}')
    return dict(kernel_size=list(a['kernel_shape']), stride=list(a.get('strides', [1, 1])), padding=pads[:2],
                ceil_mode=bool(a.get('ceil_mode', 0)))


def run_node(op, a, x):
    if op == 'Conv':
        pads = list(a.get('pads', [0, 0, 0, 0]))
        inp = x[0]
        if pads[:2] != pads[2:]:
            inp = F.pad(inp, [pads[1], pads[3], pads[0], pads[2]])
            pads = [0, 0, 0, 0]
        return F.conv2d(inp, x[1], x[2] if len(x) > 2 else None, stride=list(a.get('strides', [1, 1])),
                        padding=pads[:2], dilation=list(a.get('dilations', [1, 1])), groups=a.get('group', 1))
    if op == 'Pad':
        p = x[1].tolist()
        r = len(p) // 2
        if p[:2] != [0, 0] or p[r:r + 2] != [0, 0]:
            raise ValueError(f'Pad over N or C: {p}')
        mode = {b'reflect': 'reflect', b'edge': 'replicate', b'wrap': 'circular', b'constant': 'constant'}[a.get('mode', b'constant')]
        return F.pad(x[0], [p[3], p[7], p[2], p[6]], mode=mode)
    if op == 'Gemm':
        w = x[1].t() if a.get('transB', 0) else x[1]
        y = a.get('alpha', 1.0) * (x[0].t() if a.get('transA', 0) else x[0]) @ w
        return y + a.get('beta', 1.0) * x[2] if len(x) > 2 else y
    if op == 'MatMul':
        return torch.matmul(x[0], x[1])
    if op == 'Add':
        return x[0] + x[1]
    if op == 'Transpose':
        return x[0].permute(*a['perm'])
    if op == 'MaxPool':
        return F.max_pool2d(x[0], dilation=list(a.get('dilations', [1, 1])), **pool_args(a))
    if op == 'AveragePool':
        return F.avg_pool2d(x[0], count_include_pad=bool(a.get('count_include_pad', 0)), **pool_args(a))
    if op == 'GlobalAveragePool':
        return x[0].mean(dim=(2, 3), keepdim=True)
    if op == 'BatchNormalization':
        return F.batch_norm(x[0], x[3], x[4], x[1], x[2], training=False, eps=a.get('epsilon', 1e-5))
    if op == 'Relu':
        return F.relu(x[0])
    if op == 'LeakyRelu':
        return F.leaky_relu(x[0], a.get('alpha', 0.01))
    if op == 'Sigmoid':
        return torch.sigmoid(x[0])
    if op == 'Tanh':
        return torch.tanh(x[0])
    if op == 'Softmax':
        return F.softmax(x[0], dim=a.get('axis', -1))
    if op == 'LogSoftmax':
        return F.log_softmax(x[0], dim=a.get('axis', -1))
    if op == 'Flatten':
        ax = a.get('axis', 1)
        return x[0].reshape(int(np.prod(x[0].shape[:ax])), -1)
    if op == 'Reshape':
        shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(x[1].tolist())]
        return x[0].reshape(shape)
    if op == 'Identity':
        return x[0]
    raise ValueError(f'no evaluator for {op}')


def evaluate(model, inp):
    g = model.graph
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
    env[g.input[0].name] = inp
    for node in g.node:
        a = attrs_of(node)
        if node.op_type == 'Constant':
            env[node.output[0]] = torch.from_numpy(numpy_helper.to_array(a['value']).copy())
            continue
        env[node.output[0]] = run_node(node.op_type, a, [env[i] for i in node.input])
    return env[g.output[0].name]


# --- Checks ------------------------------------------------------------------

results = []


def check(name, ok, detail=''):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")


def close(a, e):
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    e = np.asarray(e, dtype=np.float64).reshape(-1)
    err = np.abs(a - e)
    bound = ATOL * max(1.0, float(np.abs(e).max())) + RTOL * np.abs(e)
    return bool((err <= bound).all()), f'max abs error {err.max():.3g}'


def main():
    print(f'onnx {onnx.__version__}, torch {torch.__version__}, numpy {np.__version__}')
    have_reference = importlib.util.find_spec('onnx.reference') is not None
    if not have_reference:
        print(f'note: onnx {onnx.__version__} has no onnx.reference (onnx 1.13 or later); its evaluator is not run')
    for name, build in MODELS.items():
        path = os.path.join(FIXTURES, f'{name}.onnx')
        model = onnx.load(path)
        with open(os.path.join(FIXTURES, f'{name}.json')) as f:
            io_ = json.load(f)
        inp = torch.tensor(io_['input']['data'], dtype=torch.float32).reshape(io_['input']['shape'])
        expected = np.array(io_['output']['data'], dtype=np.float32).reshape(io_['output']['shape'])

        try:
            onnx.checker.check_model(model, full_check=True)
            check(f'{name}: onnx.checker full_check', True)
        except Exception as e:  # noqa: BLE001 - report whatever the checker raised
            check(f'{name}: onnx.checker full_check', False, str(e).splitlines()[0])
        opset = {o.domain: o.version for o in model.opset_import}.get('', None)
        check(f'{name}: header', model.ir_version == 8 and opset == 17 and model.producer_name == 'wasmconv',
              f'ir_version {model.ir_version}, opset {opset}, producer {model.producer_name} {model.producer_version}')
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        out_dims = [d.dim_param or d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim]
        check(f'{name}: output shape {out_dims}', out_dims[1:] == list(expected.shape[1:]) and out_dims[0] == 'N')

        with torch.no_grad():
            ok, detail = close(evaluate(model, inp), expected)
        check(f'{name}: graph evaluated with torch.nn.functional vs the engine', ok, detail)

        net = build().eval()
        state = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
        missing, unexpected = net.load_state_dict(state, strict=False)
        names_ok = unexpected == [] and all(k.endswith('num_batches_tracked') for k in missing)
        check(f'{name}: initializers are the torch state dict', names_ok, f'missing {missing}, unexpected {unexpected}' if not names_ok else '')
        with torch.no_grad():
            ok, detail = close(net(inp), expected)
        check(f'{name}: torch.nn model with the ONNX weights vs the engine', ok, detail)

        ours = [n.op_type for n in model.graph.node]
        print(f'info {name}: wasmconv   {" ".join(ours)}')
        buf = io.BytesIO()
        try:
            torch.onnx.export(net, inp, buf, opset_version=17, input_names=['input'], output_names=['output'],
                              dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}})
            theirs = [n.op_type for n in onnx.load_from_string(buf.getvalue()).graph.node]
            print(f'info {name}: torch.onnx {" ".join(theirs)}')
        except Exception as e:  # noqa: BLE001 - informational only
            print(f'info {name}: torch.onnx {torch.__version__} cannot export it: {str(e).splitlines()[0][:160]}')

        if have_reference:
            from onnx.reference import ReferenceEvaluator
            out = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: inp.numpy()})[0]
            ok, detail = close(out, expected)
            check(f'{name}: onnx.reference evaluator vs the engine', ok, detail)

    failed = results.count(False)
    print(f'{len(results) - failed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

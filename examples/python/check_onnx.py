"""The ONNX model wasmconv exported (examples/interop/serve-onnx.mjs), checked in Python.

    /usr/bin/python3 examples/python/check_onnx.py [lenet.onnx]

onnx.checker validates the model (full_check: every node against its operator
at the model's opset, and shape inference); its initializers, named as
PyTorch's state dict, load into d2l's LeNet; the outputs on the first four
Fashion-MNIST test images are printed. With the `onnxruntime` package installed
(Debian has none), ONNX Runtime runs the model too and must agree within 1e-5.
The expected output is check_onnx.expected.txt beside this file.
"""
import os
import sys

import onnx
import torch
from onnx import numpy_helper

from lenet_from_wasmconv import HERE, lenet, test_images


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, 'lenet.onnx')
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    graph = model.graph
    print(f'onnx.checker: ok (opset {model.opset_import[0].version}, {len(graph.node)} nodes:',
          ' '.join(n.op_type for n in graph.node) + ')')
    net = lenet()
    net.load_state_dict({t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}, strict=True)
    net.eval()
    x, labels = test_images(4)
    with torch.no_grad():
        logits = net(x)
    for row in logits.tolist():
        print(' '.join(f'{v:.6f}' for v in row))
    print('predicted classes:', ' '.join(map(str, logits.argmax(1).tolist())), f'(true: {" ".join(map(str, labels))})')
    try:
        import onnxruntime
    except ImportError:
        return
    (y,) = onnxruntime.InferenceSession(path).run(None, {graph.input[0].name: x.numpy()})
    assert abs(torch.from_numpy(y) - logits).max() < 1e-5, 'ONNX Runtime and PyTorch disagree'
    print('onnxruntime agrees within 1e-5', file=sys.stderr)


if __name__ == '__main__':
    main()

"""LeNet trained by wasmconv (examples/interop/to-pytorch.mjs), loaded into PyTorch.

    /usr/bin/python3 examples/python/lenet_from_wasmconv.py [lenet-wasmconv.safetensors]

Prints the outputs on the first four Fashion-MNIST test images; the expected
output is lenet_from_wasmconv.expected.txt beside this file.
"""
import gzip
import os
import sys

import torch
from torch import nn

try:
    from safetensors.torch import load_file
except ImportError:  # Debian has no python3-safetensors
    from safetensors_lite import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', '..', 'test', 'fixtures', 'fashion-mnist')


def lenet():
    """d2l's LeNet, layer for layer as models.lenet() builds it: the state dict keys are the same."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def test_images(n):
    """The first n test images as [n, 1, 28, 28] floats in [0, 1], and their labels."""
    with gzip.open(os.path.join(DATA, 't10k-images-idx3-ubyte.gz')) as f:
        images = f.read()[16:16 + n * 784]
    with gzip.open(os.path.join(DATA, 't10k-labels-idx1-ubyte.gz')) as f:
        labels = f.read()[8:8 + n]
    return torch.frombuffer(bytearray(images), dtype=torch.uint8).float().div(255).reshape(n, 1, 28, 28), list(labels)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, 'lenet-wasmconv.safetensors')
    net = lenet()
    net.load_state_dict(load_file(path), strict=True)
    net.eval()
    x, labels = test_images(4)
    with torch.no_grad():
        logits = net(x)
    for row in logits.tolist():
        print(' '.join(f'{v:.6f}' for v in row))
    print('predicted classes:', ' '.join(map(str, logits.argmax(1).tolist())), f'(true: {" ".join(map(str, labels))})')


if __name__ == '__main__':
    main()

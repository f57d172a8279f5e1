"""The book's LeNet trained by PyTorch over the first 20 minibatches of
Fashion-MNIST, in file order, from fixed initial weights: the parity fixture of
test/parity/lenet.test.ts, and the Fashion-MNIST subset the tests train on.

Reads Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) and writes
- test/fixtures/fashion-mnist/{train,t10k}-*-idx*-ubyte.gz: the first 5,120
  training and 1,000 test images with their labels (gzip IDX, as the originals;
  Fashion-MNIST is Copyright 2017 Zalando SE, MIT licence, see LICENSE there);
- test/fixtures/parity/lenet.json: the initial and final parameters (float32
  little-endian, base64, under PyTorch's state dict names) and each step's loss.
"""
import base64
import gzip
import json
import os
import struct

import torch
from torch import nn

from common import ROOT

SRC = '/usr/share/datasets/fashion-mnist'
OUT = os.path.join(ROOT, 'test', 'fixtures', 'fashion-mnist')
N_TRAIN, N_TEST, BATCH, STEPS, LR = 5120, 1000, 256, 20, 0.9


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack('>HBB', data[:4])
    assert zero == 0 and dtype == 0x08, path
    shape = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return shape, data[4 + 4 * ndim:]


def write_subset(name, n):
    shape, body = read_idx(os.path.join(SRC, name))
    per = 1
    for d in shape[1:]:
        per *= d
    header = struct.pack('>HBB', 0, 0x08, len(shape)) + struct.pack('>' + 'I' * len(shape), n, *shape[1:])
    raw = header + body[:n * per]
    with open(os.path.join(OUT, name), 'wb') as f:
        # mtime 0: the same bytes on every run.
        with gzip.GzipFile(fileobj=f, mode='wb', mtime=0, filename='') as g:
            g.write(raw)
    return shape, body[:n * per]


os.makedirs(OUT, exist_ok=True)
_, images = write_subset('train-images-idx3-ubyte.gz', N_TRAIN)
_, labels = write_subset('train-labels-idx1-ubyte.gz', N_TRAIN)
write_subset('t10k-images-idx3-ubyte.gz', N_TEST)
write_subset('t10k-labels-idx1-ubyte.gz', N_TEST)

x_all = torch.tensor(list(images), dtype=torch.float32).reshape(N_TRAIN, 1, 28, 28) / 255
y_all = torch.tensor(list(labels), dtype=torch.long)

torch.manual_seed(0)
torch.set_num_threads(1)
net = nn.Sequential(nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
                    nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
                    nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))
for m in net:
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(m.weight)


def params():
    return {k: base64.b64encode(v.detach().contiguous().numpy().astype('<f4').tobytes()).decode() for k, v in net.state_dict().items()}


initial = params()
opt = torch.optim.SGD(net.parameters(), lr=LR)
loss_fn = nn.CrossEntropyLoss()
losses = []
for s in range(STEPS):
    x, y = x_all[s * BATCH:(s + 1) * BATCH], y_all[s * BATCH:(s + 1) * BATCH]
    opt.zero_grad()
    loss = loss_fn(net(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.item())

shapes = {k: list(v.shape) for k, v in net.state_dict().items()}
with open(os.path.join(ROOT, 'test', 'fixtures', 'parity', 'lenet.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'batch': BATCH, 'lr': LR, 'steps': STEPS, 'shapes': shapes,
               'initial': initial, 'final': params(), 'losses': losses}, f)
print(f'lenet.json: {STEPS} steps, losses {losses[0]:.4f} .. {losses[-1]:.4f} (torch {torch.__version__})')

"""PyTorch's side of bench/lenet.mjs: the book's LeNet, SGD steps at batch 256
on random Fashion-MNIST-shaped data, and inference at batch 256 and 1, on the
CPU with torch.set_num_threads(N). Prints one JSON line with the medians (ms)."""
import argparse
import json
import statistics
import time

import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument('--threads', type=int, default=1)
p.add_argument('--warm', type=int, default=5)
p.add_argument('--timed', type=int, default=20)
p.add_argument('--timed256', type=int, default=30)
p.add_argument('--timed1', type=int, default=400)
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
                    nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
                    nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))
for m in net:
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(m.weight)
opt = torch.optim.SGD(net.parameters(), lr=0.9)
loss_fn = nn.CrossEntropyLoss()
x = torch.rand(256, 1, 28, 28)
y = torch.arange(256) % 10

times = []
for i in range(a.warm + a.timed):
    t0 = time.perf_counter()
    opt.zero_grad()
    loss = loss_fn(net(x), y)
    loss.backward()
    opt.step()
    loss.item()
    if i >= a.warm:
        times.append((time.perf_counter() - t0) * 1000)

net.eval()


def infer(inp, n):
    t = []
    with torch.no_grad():
        for i in range(a.warm + n):
            t0 = time.perf_counter()
            net(inp).numpy()
            if i >= a.warm:
                t.append((time.perf_counter() - t0) * 1000)
    return statistics.median(t)


print(json.dumps({'version': torch.__version__, 'threads': torch.get_num_threads(), 'stepMs': statistics.median(times), 'steps': len(times),
                  'infer256Ms': infer(x, a.timed256), 'infer1Ms': infer(x[:1], a.timed1)}))

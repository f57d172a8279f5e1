"""Training goes on in PyTorch, data-parallel: DistributedDataParallel over the gloo backend (CPU).

    /usr/bin/python3 examples/python/train_ddp.py [--nproc N] [--data DIR] [--epochs N]
    torchrun --nproc_per_node 2 examples/python/train_ddp.py [--data DIR] [--epochs N]

Started by torchrun, each process is one rank (RANK, WORLD_SIZE, MASTER_ADDR
and MASTER_PORT set by torchrun). Started by python, it spawns --nproc
processes itself with torch.multiprocessing (Debian's torchrun of torch 1.13
fails under Python 3.11 before starting any process).

Every process loads LeNet from wasmconv's file (lenet-wasmconv.safetensors,
written by examples/interop/to-pytorch.mjs), trains on its share of the
training set (DistributedSampler; DDP averages the gradients), and process 0
saves the result as lenet-ddp.safetensors, which wasmconv loads back
(examples/interop/from-pytorch.mjs). With --data /usr/share/datasets/fashion-mnist
(Debian's dataset-fashion-mnist) it trains on the whole set; by default on the
repository's subset. The expected output is train_ddp.expected.txt beside this file.
"""
import argparse
import gzip
import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from lenet_from_wasmconv import HERE, DATA, lenet, test_images

try:
    from safetensors.torch import load_file, save_file
except ImportError:  # Debian has no python3-safetensors
    from safetensors_lite import load_file, save_file


def read_idx(directory, split):
    prefix = 'train' if split == 'train' else 't10k'
    with gzip.open(os.path.join(directory, f'{prefix}-images-idx3-ubyte.gz')) as f:
        images = torch.frombuffer(bytearray(f.read()[16:]), dtype=torch.uint8)
    with gzip.open(os.path.join(directory, f'{prefix}-labels-idx1-ubyte.gz')) as f:
        labels = torch.frombuffer(bytearray(f.read()[8:]), dtype=torch.uint8)
    return images.float().div(255).reshape(-1, 1, 28, 28), labels.long()


def main():
    args = argparse.ArgumentParser()
    args.add_argument('--nproc', type=int, default=2)
    args.add_argument('--data', default=DATA)
    args.add_argument('--epochs', type=int, default=2)
    args.add_argument('--weights', default=os.path.join(HERE, 'lenet-wasmconv.safetensors'))
    args.add_argument('--out', default=os.path.join(HERE, 'lenet-ddp.safetensors'))
    a = args.parse_args()
    if 'RANK' in os.environ:                        # started by torchrun
        train(int(os.environ['RANK']), int(os.environ['WORLD_SIZE']), a)
    else:
        os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
        os.environ.setdefault('MASTER_PORT', '29517')
        mp.spawn(train, args=(a.nproc, a), nprocs=a.nproc)


def train(rank, world, a):
    dist.init_process_group('gloo', rank=rank, world_size=world)
    torch.manual_seed(0)
    torch.set_num_threads(1)

    net = lenet()
    net.load_state_dict(load_file(a.weights), strict=True)
    model = DDP(net)                                # every process starts from rank 0's weights
    x, y = read_idx(a.data, 'train')
    sampler = DistributedSampler(TensorDataset(x, y), num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(TensorDataset(x, y), batch_size=256 // world, sampler=sampler)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(a.epochs):
        sampler.set_epoch(epoch)
        total, count = torch.zeros(2), 0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()                         # DDP all-reduces the gradients here
            optimizer.step()
            total += torch.tensor([loss.item() * len(yb), len(yb)])
        dist.all_reduce(total)
        if rank == 0:
            print(f'epoch {epoch + 1}: loss {total[0] / total[1]:.4f} ({world} processes, {len(loader)} steps each)')

    if rank == 0:
        net.eval()
        save_file(net.state_dict(), a.out, metadata={'format': 'pt'})
        images, labels = test_images(4)
        with torch.no_grad():
            logits = net(images)
        for row in logits.tolist():
            print(' '.join(f'{v:.6f}' for v in row))
        print('predicted classes:', ' '.join(map(str, logits.argmax(1).tolist())), f'(true: {" ".join(map(str, labels))})')
    dist.destroy_process_group()


if __name__ == '__main__':
    main()

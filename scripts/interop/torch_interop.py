"""PyTorch interoperability fixtures for safetensors state dicts.

Run with Debian's python3-torch (`/usr/bin/python3 scripts/interop/torch_interop.py`,
or `npm run fixtures:interop`, which first has this engine write its file).
Debian's Python has no `safetensors` package, so the format is read and written
here with json and struct, as the reference implementation (huggingface/safetensors,
safetensors/src/tensor.rs) lays it out: tensors sorted by descending dtype
alignment then by name, the header compact JSON (`__metadata__` first, then the
tensors in data order), padded with spaces to a multiple of 8 bytes.

(a) PyTorch writes, into test/fixtures/interop/:
    torch-lenet.safetensors   models.lenet()'s layers as a torch.nn.Sequential (F32)
    torch-bn.safetensors      a small Sequential with BatchNorm2d after three
                              training batches (num_batches_tracked as I64)
    torch-dtypes.safetensors  one tensor each of F16, BF16, F64, I64, I32, I16, I8, U8, BOOL
    torch.json                PyTorch's state dict keys, its outputs of both models on
                              fixed inputs, and `.float()` of every dtype tensor
(b) PyTorch reads wasmconv-lenet.safetensors, written by this engine
    (test/io/interop.test.ts, with WASMCONV_UPDATE_FIXTURES=1), into the same
    torch LeNet, checks that re-serializing its tensors gives the same bytes, and
    records its outputs on fixed inputs in wasmconv-lenet-torch.json.

`npm test` never runs Python: test/io/interop.test.ts reads these files.
"""
import json
import os
import struct
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'parity'))
from common import ROOT, tensor_json  # noqa: E402

OUT = os.path.normpath(os.path.join(ROOT, 'test', 'fixtures', 'interop'))

# The reference implementation's dtype order (increasing alignment).
ORDER = ['BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ',
         'F8_E5M2FNUZ', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64']
DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16',
          torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8',
          torch.bool: 'BOOL'}
TORCH = {v: k for k, v in DTYPES.items()}


def raw(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def serialize(tensors, metadata=None):
    """Bytes of a safetensors file, as safetensors.torch.save(tensors, metadata) writes them."""
    assert sys.byteorder == 'little'
    items = sorted(tensors.items(), key=lambda kv: (-ORDER.index(DTYPES[kv[1].dtype]), kv[0].encode('utf-8')))
    header, chunks, offset = {}, [], 0
    if metadata is not None:
        header['__metadata__'] = dict(sorted(metadata.items()))
    for name, t in items:
        data = raw(t)
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    js = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    js += b' ' * (-len(js) % 8)
    return struct.pack('<Q', len(js)) + js + b''.join(chunks)


def deserialize(data):
    """(tensors, metadata) of a safetensors file, checked as the reference implementation checks it."""
    (n,) = struct.unpack('<Q', data[:8])
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f'duplicate keys in {keys}'
        return dict(pairs)
    header = json.loads(data[8:8 + n].decode('utf-8'), object_pairs_hook=no_duplicates)
    metadata = header.pop('__metadata__', None)
    body = data[8 + n:]
    end = 0
    tensors = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
        b, e = info['data_offsets']
        assert b == end, f'{name}: data_offsets {b} after {end}'
        end = e
        dtype = TORCH[info['dtype']]
        t = torch.frombuffer(bytearray(body[b:e]), dtype=dtype) if e > b else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info['shape'])
    assert end == len(body), 'the data buffer is not fully covered'
    # The header's own order, as written.
    return {k: tensors[k] for k in header}, metadata


def write_bytes(name, data):
    path = os.path.join(OUT, name)
    with open(path, 'wb') as f:
        f.write(data)
    print(f'{path}: {len(data)} bytes', file=sys.stderr)


def lenet():
    """models.lenet()'s layers, in its order."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def bn_net():
    """A small model with BatchNorm2d (test/io/interop.test.ts builds the same)."""
    return nn.Sequential(nn.Conv2d(3, 4, kernel_size=3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 5))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    fixture = {'torch': torch.__version__}

    # (a) PyTorch's files and outputs.
    net = lenet().eval()
    x = torch.rand((2, 1, 28, 28), generator=g)
    with torch.no_grad():
        y = net(x)
    write_bytes('torch-lenet.safetensors', serialize(net.state_dict(), {'format': 'pt'}))
    fixture['lenet'] = {'keys': list(net.state_dict().keys()), 'input': tensor_json(x), 'output': tensor_json(y)}

    bn = bn_net()
    with torch.no_grad():
        for _ in range(3):
            bn(torch.randn((8, 3, 6, 6), generator=g) * 2 + 0.5)
    bn.eval()
    xb = torch.randn((2, 3, 6, 6), generator=g)
    with torch.no_grad():
        yb = bn(xb)
    assert int(bn[1].num_batches_tracked) == 3 and bn[1].num_batches_tracked.dtype == torch.int64
    write_bytes('torch-bn.safetensors', serialize(bn.state_dict(), {'format': 'pt'}))
    fixture['bn'] = {'keys': list(bn.state_dict().keys()), 'input': tensor_json(xb), 'output': tensor_json(yb)}

    inf, nan = float('inf'), float('nan')
    dtypes = {
        'f16': torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, 1e-5, inf, -inf, nan, 0.1], dtype=torch.float16),
        'bf16': torch.tensor([[0.0, -1.0, 3.140625], [1e38, -3e-39, 0.1]], dtype=torch.bfloat16),
        'f64': torch.tensor([0.1, -0.0, 1 + 2 ** -30, 1 + 3 * 2 ** -24, 1e39, -1e39, 1e-46, 3.4028235677973366e38,
                             2 ** -149 * 0.5000001, nan, inf], dtype=torch.float64),
        'i64': torch.tensor([0, -1, 2 ** 24 + 1, 2 ** 24 + 3, 2 ** 53 + 1, -(2 ** 62) - 1, 2 ** 63 - 1, -(2 ** 63),
                             2 ** 40 + 2 ** 16 + 1, 123456789012345678, 2 ** 54 + 2 ** 30 + 1, -(2 ** 54) - 2 ** 30 - 1],
                            dtype=torch.int64),
        'i32': torch.tensor([[0, -7], [2 ** 31 - 1, -(2 ** 31)], [16777217, -16777219]], dtype=torch.int32),
        'i16': torch.tensor([-32768, 32767, 5], dtype=torch.int16),
        'i8': torch.tensor([-128, 127, 0], dtype=torch.int8),
        'u8': torch.tensor([0, 255, 17], dtype=torch.uint8),
        'bool': torch.tensor([True, False, True], dtype=torch.bool),
        'empty': torch.zeros((0, 3), dtype=torch.float32),
        'scalar': torch.tensor(2.5, dtype=torch.float32),
    }
    write_bytes('torch-dtypes.safetensors', serialize(dtypes))
    fixture['dtypes'] = {k: {'dtype': DTYPES[t.dtype], **tensor_json(t.float())} for k, t in dtypes.items()}

    path = os.path.join(OUT, 'torch.json')
    with open(path, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    print(f'{path} (torch {torch.__version__})', file=sys.stderr)

    # (b) This engine's file in PyTorch.
    mine = os.path.join(OUT, 'wasmconv-lenet.safetensors')
    if not os.path.exists(mine):
        sys.exit(f'{mine} is missing: run `npm run fixtures:interop` (this engine writes it first)')
    with open(mine, 'rb') as f:
        data = f.read()
    tensors, metadata = deserialize(data)
    assert serialize(tensors, metadata) == data, 'wasmconv-lenet.safetensors is not laid out as the reference implementation lays it out'
    net = lenet()
    net.load_state_dict(tensors, strict=True)
    net.eval()
    x = torch.rand((3, 1, 28, 28), generator=g)
    with torch.no_grad():
        y = net(x)
    theirs = {'torch': torch.__version__, 'metadata': metadata, 'dtypes': {k: DTYPES[t.dtype] for k, t in tensors.items()},
              'input': tensor_json(x), 'output': tensor_json(y)}
    path = os.path.join(OUT, 'wasmconv-lenet-torch.json')
    with open(path, 'w') as f:
        json.dump(theirs, f, separators=(',', ':'))
        f.write('\n')
    print(f'{path}: PyTorch loaded {len(tensors)} tensors (metadata {metadata})', file=sys.stderr)


if __name__ == '__main__':
    main()

"""load_file and save_file of safetensors.torch, for F32 and I64 tensors, with json and struct only.

For a Python without the `safetensors` package (Debian has none); with it, use
`from safetensors.torch import load_file, save_file` instead. The layout is the
reference implementation's: an 8-byte little-endian header length, the header
as compact JSON (`__metadata__` first), padded with spaces to a multiple of 8,
then the tensors' bytes, sorted by descending dtype alignment, then by name.
"""
import json
import struct

import torch

DTYPES = {'F32': torch.float32, 'I64': torch.int64}
NAMES = {v: k for k, v in DTYPES.items()}


def load_file(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    header.pop('__metadata__', None)
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        if info['dtype'] not in DTYPES:
            raise ValueError(f'{path}: tensor {name!r} has dtype {info["dtype"]}; this reader takes {sorted(DTYPES)}')
        b, e = info['data_offsets']
        out[name] = torch.frombuffer(bytearray(body[b:e]), dtype=DTYPES[info['dtype']]).reshape(info['shape'])
    return out


def save_file(tensors, path, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0].encode('utf-8')))
    header, chunks, offset = {}, [], 0
    if metadata is not None:
        header['__metadata__'] = dict(sorted(metadata.items()))
    for name, t in items:
        raw = t.detach().contiguous().numpy().tobytes()
        header[name] = {'dtype': NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    js = json.dumps(header, separators=(',', ':')).encode('utf-8')
    js += b' ' * (-len(js) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(js)) + js + b''.join(chunks))

"""Read and write flatgrad checkpoints (safetensors) with torch alone.

flatgrad's saveParams() writes the safetensors layout: an 8-byte little-endian header length, a
UTF-8 JSON header {name: {"dtype", "shape", "data_offsets"}}, then the raw little-endian data.
The `safetensors` package is not in Debian, and these few lines are all the format needs.

    from safetensors_io import load_file, save_file
    state = load_file("digits.safetensors")            # every tensor, optimizer state included
    model.load_state_dict(params_and_buffers(state, model), strict=True)
    save_file(model.state_dict(), "trained.safetensors")   # loads back with loadParams()
"""
import json
import struct

import torch

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64}
_NAMES = {v: k for k, v in _DTYPES.items()}


def load_file(path):
    """Every tensor of a safetensors file, by name (the header's __metadata__ is skipped)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def save_file(tensors, path, metadata=None):
    """Write tensors (a state_dict) as safetensors, in key order, 8-byte aligned as the format asks."""
    header = {"__metadata__": dict(metadata or {"format": "pt"})}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        if t.dtype not in _NAMES:
            raise ValueError(f"{name}: dtype {t.dtype} is not one flatgrad reads (float32, float64, int32, int64)")
        b = t.numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def params_and_buffers(state, model):
    """The entries of a flatgrad checkpoint that are the model's state_dict (optimizer state left out)."""
    keys = model.state_dict().keys()
    return {k: v for k, v in state.items() if k in keys}

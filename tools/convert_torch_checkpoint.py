#!/usr/bin/env python3
"""Convert a PyTorch `.pth` checkpoint into a lofi safetensors weight file, without torch.

Reads torch's zip serialization (torch >= 1.6: `<archive>/data.pkl` plus one raw little-endian
file per storage under `<archive>/data/`) with a restricted unpickler: only the handful of globals
a state dict needs are allowed (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`, the
`torch.*Storage` types, `collections.OrderedDict`); anything else is refused, so a checkpoint
cannot run code. Storages come through `persistent_load` and tensors are rebuilt as numpy views
(offset, size, stride) of them, then copied contiguous.

Names are mapped to lofi's (= torchvision / official G-TAD) names:
  - `module.` (DataParallel) and `base_model.` (TSM's TSN wrapper) prefixes are removed;
  - `.net` segments (TSM's TemporalShift wrapper around a block's conv1) are removed;
  - TSM's classifier `new_fc` becomes `fc`; `--drop-head` drops `fc.*` (encoder-only files);
  - `num_batches_tracked` buffers are dropped (lofi's BN uses momentum 0.1 and does not count).
Covers torchvision ResNet-18/50, TSM zoo checkpoints (`{"state_dict": ...}`) and G-TAD
checkpoints (`module.backbone1.0.weight`, ...). The legacy (pre-1.6, non-zip) format is refused
with a message. Needs only numpy and safetensors (versions pinned in CI).

Usage: convert_torch_checkpoint.py IN.pth OUT.safetensors [--drop-head]
"""

import argparse
import collections
import io
import os
import pickle
import sys
import zipfile

import numpy as np
from safetensors.numpy import save_file

# torch storage class name -> numpy dtype (little endian, as torch writes on every platform it
# supports; the archive's `byteorder` record is checked below).
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class ConvertError(Exception):
    pass


class _StorageType:
    def __init__(self, name):
        if name not in STORAGE_DTYPES:
            raise ConvertError(f"unsupported storage type torch.{name} (bfloat16 needs torch to read)")
        self.dtype = np.dtype(STORAGE_DTYPES[name]).newbyteorder("<")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    size, stride = tuple(size), tuple(stride)
    if not size:
        return storage[storage_offset].copy().reshape(())
    itemsize = storage.dtype.itemsize
    end = storage_offset + 1 + sum((n - 1) * s for n, s in zip(size, stride) if n > 0)
    if any(n == 0 for n in size):
        return np.zeros(size, dtype=storage.dtype)
    if end > storage.shape[0]:
        raise ConvertError(f"tensor of size {size} and stride {stride} overruns its storage")
    view = np.lib.stride_tricks.as_strided(
        storage[storage_offset:], shape=size, strides=tuple(s * itemsize for s in stride), writeable=False
    )
    return np.ascontiguousarray(view)


def _rebuild_parameter(data, requires_grad=False, hooks=None):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, data, archive, prefix):
        super().__init__(io.BytesIO(data))
        self.archive = archive
        self.prefix = prefix
        self.storages = {}

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        raise ConvertError(f"refusing to load global {module}.{name} (not part of a state dict)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise ConvertError(f"unknown persistent id {pid!r}")
        storage_type, key, numel = pid[1], pid[2], pid[4]
        if not isinstance(storage_type, _StorageType):
            raise ConvertError(f"storage {key} has no known element type")
        if key not in self.storages:
            raw = self.archive.read(f"{self.prefix}/data/{key}")
            arr = np.frombuffer(raw, dtype=storage_type.dtype)
            if arr.shape[0] < numel:
                raise ConvertError(f"storage {key} holds {arr.shape[0]} elements, expected {numel}")
            self.storages[key] = arr
        return self.storages[key]


def load_torch_zip(path):
    """The pickled object of a torch zip checkpoint, tensors as numpy arrays."""
    if not zipfile.is_zipfile(path):
        raise ConvertError(f"{path}: not a torch zip checkpoint (legacy pre-1.6 format? re-save it with torch.save)")
    with zipfile.ZipFile(path) as archive:
        pkl = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise ConvertError(f"{path}: expected one <archive>/data.pkl, found {len(pkl)}")
        prefix = pkl[0].split("/")[0]
        order = f"{prefix}/byteorder"
        if order in archive.namelist() and archive.read(order).strip() != b"little":
            raise ConvertError(f"{path}: big-endian checkpoints are not supported")
        return _Unpickler(archive.read(pkl[0]), archive, prefix).load()


def state_dict_of(obj, path):
    """The name -> array mapping inside a checkpoint object."""
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise ConvertError(f"{path}: no state dict found (top level is {type(obj).__name__})")
    tensors = {k: v for k, v in obj.items() if isinstance(v, np.ndarray)}
    if not tensors:
        raise ConvertError(f"{path}: the state dict holds no tensors")
    return tensors


def lofi_name(name):
    """lofi's name for a checkpoint name, or None for tensors lofi does not keep."""
    for prefix in ("module.", "base_model."):
        if name.startswith(prefix):
            name = name[len(prefix):]
    parts = [p for p in name.split(".") if p != "net"]
    if parts and parts[0] == "new_fc":
        parts[0] = "fc"
    if parts and parts[-1] == "num_batches_tracked":
        return None
    return ".".join(parts)


def convert(src, dst, drop_head=False):
    tensors = state_dict_of(load_torch_zip(src), src)
    out = {}
    for name, value in tensors.items():
        new = lofi_name(name)
        if new is None or (drop_head and new.split(".")[0] == "fc"):
            continue
        if new in out:
            raise ConvertError(f"{src}: {name} maps to {new}, which is already taken")
        out[new] = np.ascontiguousarray(value)
    tmp = dst + ".tmp"
    save_file(out, tmp, metadata={"format": "pt", "converted_from": os.path.basename(src)})
    os.replace(tmp, dst)
    return sorted(out)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", help="input .pth (torch zip format)")
    ap.add_argument("dst", help="output .safetensors")
    ap.add_argument("--drop-head", action="store_true", help="drop the classifier fc.* tensors")
    args = ap.parse_args(argv)
    try:
        names = convert(args.src, args.dst, args.drop_head)
    except (ConvertError, OSError, zipfile.BadZipFile, pickle.UnpicklingError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {len(names)} tensors to {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Convert a PyTorch `.pth` checkpoint into a lofi safetensors weight file, without torch.

Reads torch's zip serialization (torch >= 1.6: `<archive>/data.pkl` plus one raw little-endian
file per storage under `<archive>/data/`) with a restricted unpickler: only the handful of globals
a state dict needs are allowed (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`, the
`torch.*Storage` types, `collections.OrderedDict`); anything else is refused, so a checkpoint
cannot run code.

The file is untrusted, so nothing it declares is believed before it is checked:
  - unpickling only records tensors as (storage, offset, size, stride); no byte is read yet;
  - every view is validated against its storage before it is read: integer sizes, strides and
    offset, none negative, and the last element inside the storage;
  - a tensor whose materialised bytes exceed 4x its storage's (zero strides blow a tiny file up
    into a huge tensor) is refused, naming it, unless --allow-expand;
  - inflating the archive is capped: by default at the declared storages plus the pickle plus
    16 MiB; --max-inflated-bytes raises it; a member is read in chunks and reading stops at the cap;
  - the output may not be the input; the output is written to a temporary file and renamed, and
    the temporary file is removed on any failure.
Every failure is one line on stderr naming the file (and the tensor), exit status 1; no
traceback. A missing numpy or safetensors module gives the install command.

Names are mapped to lofi's (= torchvision / official G-TAD) names:
  - `module.` (DataParallel) and `base_model.` (TSM's TSN wrapper) prefixes are removed;
  - `.net` segments (TSM's TemporalShift wrapper around a block's conv1) are removed;
  - TSM's classifier `new_fc` becomes `fc`; `--drop-head` drops `fc.*` (encoder-only files);
  - `num_batches_tracked` buffers are dropped (lofi's BN uses momentum 0.1 and does not count).
Covers torchvision ResNet-18/50, TSM zoo checkpoints (`{"state_dict": ...}`) and G-TAD
checkpoints (`module.backbone1.0.weight`, ...). The legacy (pre-1.6, non-zip) format is refused
with a message. Needs only numpy and safetensors (versions pinned in CI).

Usage: convert_torch_checkpoint.py IN.pth OUT.safetensors [--drop-head] [--allow-expand]
                                   [--max-inflated-bytes N]
"""

import argparse
import collections
import io
import os
import pickle
import sys
import zipfile

try:
    import numpy as np
    from safetensors.numpy import save_file
except ImportError as _missing:  # pragma: no cover - depends on the machine
    np = None
    save_file = None
    _IMPORT_ERROR = _missing
else:
    _IMPORT_ERROR = None

# torch storage class name -> numpy dtype name (little endian, as torch writes on every platform it
# supports; the archive's `byteorder` record is checked below).
STORAGE_DTYPES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}

# A tensor may materialise at most this many times its storage's bytes without --allow-expand.
MAX_EXPANSION = 4
# Inflation margin beyond the declared storages and the pickle.
INFLATE_MARGIN = 16 << 20
CHUNK = 1 << 20


class ConvertError(Exception):
    pass


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class _StorageType:
    def __init__(self, name):
        if name not in STORAGE_DTYPES:
            raise ConvertError(f"unsupported storage type torch.{name} (bfloat16 needs torch to read)")
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class StorageRef:
    """A storage named by the pickle: its archive member, element type and declared length."""

    def __init__(self, key, storage_type, numel):
        self.key, self.dtype, self.numel = key, storage_type.dtype, numel


class TensorRef:
    """A tensor as the pickle describes it; nothing is read until `materialise`."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    if not isinstance(storage, StorageRef):
        raise ConvertError("a tensor is not backed by a storage")
    return TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, hooks=None):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.storages = {}

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and isinstance(name, str) and name.endswith("Storage"):
            return _StorageType(name)
        raise ConvertError(f"refusing to load global {module}.{name} (not part of a state dict)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise ConvertError(f"unknown persistent id {str(pid)[:100]!r}")
        storage_type, key, numel = pid[1], pid[2], pid[4]
        if not isinstance(storage_type, _StorageType):
            raise ConvertError(f"storage {str(key)[:100]!r} has no known element type")
        if not isinstance(key, str) or not key or "/" in key or ".." in key:
            raise ConvertError(f"storage key {str(key)[:100]!r} is not a plain name")
        if not _is_int(numel) or numel < 0:
            raise ConvertError(f"storage {key} declares {str(numel)[:100]} elements")
        ref = self.storages.get(key)
        if ref is None:
            ref = self.storages[key] = StorageRef(key, storage_type, numel)
        elif ref.dtype != storage_type.dtype or ref.numel != numel:
            raise ConvertError(f"storage {key} is declared twice, differently")
        return ref


class Archive:
    """A torch zip archive whose members are inflated under a byte cap."""

    def __init__(self, path, zf, prefix, cap):
        self.path, self.zf, self.prefix, self.cap, self.inflated = path, zf, prefix, cap, 0
        self.cache = {}

    def read(self, name, limit):
        """Member `name`, at most `limit` bytes (more is an error), counted against the cap."""
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise ConvertError(f"{self.path}: missing archive member {name}") from None
        parts = []
        got = 0
        with self.zf.open(info) as f:
            while True:
                chunk = f.read(min(CHUNK, limit + 1 - got))
                if not chunk:
                    break
                got += len(chunk)
                self.inflated += len(chunk)
                if got > limit:
                    raise ConvertError(f"{self.path}: {name} holds more than the {limit} bytes it should")
                if self.inflated > self.cap:
                    raise ConvertError(
                        f"{self.path}: inflating the archive passed {self.cap} bytes "
                        "(raise it with --max-inflated-bytes if the file is trusted)"
                    )
                parts.append(chunk)
        return b"".join(parts)

    def storage(self, ref):
        if ref.key not in self.cache:
            nbytes = ref.numel * ref.dtype.itemsize
            member = f"{self.prefix}/data/{ref.key}"
            try:
                declared = self.zf.getinfo(member).file_size
            except KeyError:
                raise ConvertError(f"{self.path}: missing archive member {member}") from None
            if declared < nbytes:
                raise ConvertError(f"{self.path}: storage {ref.key} holds {declared} bytes, expected {nbytes}")
            raw = self.read(member, nbytes)
            if len(raw) < nbytes:
                raise ConvertError(f"{self.path}: storage {ref.key} holds {len(raw)} bytes, expected {nbytes}")
            self.cache[ref.key] = np.frombuffer(raw, dtype=ref.dtype, count=ref.numel)
        return self.cache[ref.key]


def check_view(t, name, allow_expand):
    """Raises unless the view (offset, size, stride) of `t` lies inside its storage."""
    size, stride, offset = t.size, t.stride, t.offset
    if not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list)):
        raise ConvertError(f"tensor {name}: size and stride must be lists")
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride) or len(size) > 16:
        raise ConvertError(f"tensor {name}: {len(size)} sizes but {len(stride)} strides")
    if not all(_is_int(v) for v in size + stride + (offset,)):
        raise ConvertError(f"tensor {name}: sizes, strides and offset must be integers")
    if any(v < 0 for v in size) or any(v < 0 for v in stride) or offset < 0:
        raise ConvertError(f"tensor {name}: negative size, stride or offset ({size}, {stride}, {offset})")
    count = 1
    for n in size:
        count *= n
    if count == 0:
        return size, stride, 0
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= t.storage.numel:
        raise ConvertError(
            f"tensor {name}: view (offset {offset}, size {size}, stride {stride}) reaches element {last} "
            f"of a storage of {t.storage.numel}"
        )
    storage_bytes = max(t.storage.numel, 1) * t.storage.dtype.itemsize
    if count * t.storage.dtype.itemsize > MAX_EXPANSION * storage_bytes and not allow_expand:
        raise ConvertError(
            f"tensor {name}: {count} elements from a storage of {t.storage.numel} "
            f"(more than {MAX_EXPANSION}x its bytes; zero strides?); pass --allow-expand if the file is trusted"
        )
    return size, stride, count


def materialise(archive, t, name, allow_expand):
    size, stride, count = check_view(t, name, allow_expand)
    if count == 0:
        return np.zeros(size, dtype=t.storage.dtype)
    data = archive.storage(t.storage)
    if not size:
        return data[t.offset : t.offset + 1].copy().reshape(())
    itemsize = data.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        data[t.offset :], shape=size, strides=tuple(s * itemsize for s in stride), writeable=False
    )
    return np.ascontiguousarray(view)


def open_archive(path, zf, max_inflated):
    names = zf.namelist()
    pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkl) != 1:
        raise ConvertError(f"{path}: expected one <archive>/data.pkl, found {len(pkl)}")
    prefix = pkl[0].split("/")[0]
    pickle_size = zf.getinfo(pkl[0]).file_size
    # The cap before the storages are known: the pickle (its declared size) plus the margin.
    archive = Archive(path, zf, prefix, max_inflated if max_inflated is not None else pickle_size + INFLATE_MARGIN)
    order = f"{prefix}/byteorder"
    if order in names and archive.read(order, 64).strip() != b"little":
        raise ConvertError(f"{path}: big-endian checkpoints are not supported")
    return archive, pkl[0], pickle_size


def load_checkpoint(path, max_inflated=None):
    """(archive, the unpickled object with TensorRefs in place of tensors)."""
    if not zipfile.is_zipfile(path):
        raise ConvertError(f"{path}: not a torch zip checkpoint (legacy pre-1.6 format? re-save it with torch.save)")
    zf = zipfile.ZipFile(path)
    archive, pkl, pickle_size = open_archive(path, zf, max_inflated)
    unpickler = _Unpickler(archive.read(pkl, max(pickle_size, 0) + INFLATE_MARGIN))
    obj = unpickler.load()
    if max_inflated is None:
        declared = sum(r.numel * r.dtype.itemsize for r in unpickler.storages.values())
        archive.cap = archive.inflated + declared + INFLATE_MARGIN
    return archive, obj


def state_dict_of(obj, path):
    """The name -> TensorRef mapping inside a checkpoint object."""
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise ConvertError(f"{path}: no state dict found (top level is {type(obj).__name__})")
    tensors = {k: v for k, v in obj.items() if isinstance(v, TensorRef)}
    if not tensors:
        raise ConvertError(f"{path}: the state dict holds no tensors")
    bad = [k for k in tensors if not isinstance(k, str)]
    if bad:
        raise ConvertError(f"{path}: tensor names must be strings ({str(bad[0])[:100]!r})")
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


def same_file(a, b):
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def convert(src, dst, drop_head=False, allow_expand=False, max_inflated=None):
    if same_file(src, dst):
        raise ConvertError(f"{dst}: the output would overwrite the input")
    archive, obj = load_checkpoint(src, max_inflated)
    tensors = state_dict_of(obj, src)
    out = {}
    for name, ref in tensors.items():
        new = lofi_name(name)
        if new is None or (drop_head and new.split(".")[0] == "fc"):
            continue
        if new in out:
            raise ConvertError(f"{src}: {name} maps to {new}, which is already taken")
        try:
            out[new] = materialise(archive, ref, name, allow_expand)
        except ConvertError as e:
            raise ConvertError(f"{src}: {e}") from None
    tmp = f"{dst}.tmp-{os.getpid()}"
    try:
        save_file(out, tmp, metadata={"format": "pt", "converted_from": os.path.basename(src)})
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return sorted(out)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", help="input .pth (torch zip format)")
    ap.add_argument("dst", help="output .safetensors")
    ap.add_argument("--drop-head", action="store_true", help="drop the classifier fc.* tensors")
    ap.add_argument(
        "--allow-expand",
        action="store_true",
        help=f"accept tensors larger than {MAX_EXPANSION}x their storage (zero strides); trusted files only",
    )
    ap.add_argument(
        "--max-inflated-bytes",
        type=int,
        default=None,
        help="cap on the bytes inflated from the archive (default: the declared storages + pickle + 16 MiB)",
    )
    args = ap.parse_args(argv)
    if _IMPORT_ERROR is not None:
        print(
            f"error: {_IMPORT_ERROR.name or 'a module'} is not installed; the converter needs numpy and safetensors: "
            "python3 -m pip install numpy safetensors",
            file=sys.stderr,
        )
        return 1
    try:
        names = convert(args.src, args.dst, args.drop_head, args.allow_expand, args.max_inflated_bytes)
    except ConvertError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as e:
        print(f"error: {args.src}: {type(e).__name__}: {str(e)[:300]}", file=sys.stderr)
        return 1
    except (pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            RecursionError, OverflowError, MemoryError, UnicodeDecodeError, zlib_error()) as e:
        print(f"error: {args.src}: not a readable checkpoint ({type(e).__name__}: {str(e)[:300]})", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - one line, never a traceback, whatever the file does
        print(f"error: {args.src}: cannot convert ({type(e).__name__}: {str(e)[:300]})", file=sys.stderr)
        return 1
    print(f"wrote {len(names)} tensors to {args.dst}")
    return 0


def zlib_error():
    import zlib

    return zlib.error


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

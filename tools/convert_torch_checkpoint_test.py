#!/usr/bin/env python3
"""Self-test of convert_torch_checkpoint.py without torch (run by tests/weights.rs).

Writes torch-zip checkpoints by hand — a pickle whose tensors reduce to
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` with storages as persistent
ids, exactly the layout torch.save produces — and checks: a DataParallel G-TAD checkpoint inside
{"epoch", "state_dict"} converts to the official names with exact values (a strided view
included); `num_batches_tracked` is dropped; a checkpoint that names any other global (here
`os.system`) is refused without running it; a non-zip file is refused with a message.
Exits non-zero on the first failure.
"""

import io
import os
import pickle
import sys
import tempfile
import zipfile

import numpy as np
from safetensors.numpy import load_file

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_torch_checkpoint as conv  # noqa: E402


def _global(module, name):
    """A stand-in callable that pickles as `module.name`."""

    def f(*args):
        raise AssertionError("never called while pickling")

    f.__module__, f.__qualname__, f.__name__ = module, name, name
    sys.modules.setdefault(module, type(sys)(module))
    setattr(sys.modules[module], name, f)
    return f


REBUILD = _global("torch._utils", "_rebuild_tensor_v2")
FLOAT_STORAGE = _global("torch", "FloatStorage")
LONG_STORAGE = _global("torch", "LongStorage")


class _Storage:
    def __init__(self, key, kind, values):
        self.key, self.kind, self.values = key, kind, values


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, {})

    def __reduce__(self):
        return (REBUILD, self.args)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", obj.kind, obj.key, "cpu", obj.values.size)
        return None


def write_pth(path, obj, storages, extra_global=None):
    """A torch-zip archive holding `obj` (or the raw pickle `extra_global`) and its storages."""
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(obj)
    data = buf.getvalue() if extra_global is None else extra_global
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", data)
        z.writestr("archive/byteorder", "little")
        for s in storages:
            z.writestr(f"archive/data/{s.key}", s.values.astype(s.values.dtype.newbyteorder("<")).tobytes())


def check(cond, msg):
    if not cond:
        print(f"FAIL: {msg}")
        sys.exit(1)


def main():
    rng = np.random.default_rng(0)
    w = rng.standard_normal(64 * 8 * 3).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    t = np.arange(12, dtype=np.float32)  # viewed transposed: a non-contiguous tensor
    n = np.array([7], dtype=np.int64)
    sw, sb, st, sn = (
        _Storage("0", FLOAT_STORAGE, w),
        _Storage("1", FLOAT_STORAGE, b),
        _Storage("2", FLOAT_STORAGE, t),
        _Storage("3", LONG_STORAGE, n),
    )
    state = {
        "module.backbone1.0.weight": _Tensor(sw, 0, (64, 8, 3), (24, 3, 1)),
        "module.backbone1.0.bias": _Tensor(sb, 0, (64,), (1,)),
        "module.localization.8.weight": _Tensor(st, 2, (2, 5), (1, 2)),
        "module.bn.num_batches_tracked": _Tensor(sn, 0, (), ()),
    }
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "gtad.pth"), os.path.join(d, "gtad.safetensors")
        write_pth(src, {"epoch": 3, "state_dict": state}, [sw, sb, st, sn])
        names = conv.convert(src, dst)
        check(names == ["backbone1.0.bias", "backbone1.0.weight", "localization.8.weight"], f"names {names}")
        out = load_file(dst)
        check(np.array_equal(out["backbone1.0.weight"], w.reshape(64, 8, 3)), "weight values")
        check(np.array_equal(out["backbone1.0.bias"], b), "bias values")
        want = np.lib.stride_tricks.as_strided(t[2:], shape=(2, 5), strides=(4, 8))
        check(np.array_equal(out["localization.8.weight"], want), "strided view values")
        check(not os.path.exists(dst + ".tmp"), "temporary file renamed")

        evil = os.path.join(d, "evil.pth")
        payload = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85q\x01Rq\x02."
        write_pth(evil, None, [], extra_global=payload)
        try:
            conv.convert(evil, os.path.join(d, "evil.safetensors"))
            check(False, "a checkpoint naming os.system must be refused")
        except conv.ConvertError as e:
            check("os.system" in str(e), f"message names the global: {e}")

        legacy = os.path.join(d, "legacy.pth")
        with open(legacy, "wb") as f:
            pickle.dump({"a": 1}, f)
        try:
            conv.convert(legacy, os.path.join(d, "legacy.safetensors"))
            check(False, "a non-zip checkpoint must be refused")
        except conv.ConvertError as e:
            check("legacy" in str(e), f"message explains: {e}")
    print("convert_torch_checkpoint self-test: ok")


if __name__ == "__main__":
    main()

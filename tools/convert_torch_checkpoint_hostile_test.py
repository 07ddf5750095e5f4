#!/usr/bin/env python3
"""convert_torch_checkpoint.py on untrusted files (run by tests/converter_hostile.rs).

Hand-built torch-zip files with views that lie about their storage — negative strides, negative
offsets, zero strides that expand a tiny storage, a view past the storage's end — and a
compressed member that inflates far beyond what the pickle declares; output == input; a missing
numpy module; then a mutation run over the pickle's view arguments and over the archive's bytes.
Every failure must be exit status 1 with exactly one stderr line naming the file (and the
tensor where there is one), no traceback, and no output or temporary file left behind.
Exits non-zero on the first failure.
"""

import contextlib
import io
import os
import random
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import convert_torch_checkpoint as conv  # noqa: E402
import convert_torch_checkpoint_test as fx  # noqa: E402  (the hand-built torch-zip writer)


def check(cond, msg):
    if not cond:
        print(f"FAIL: {msg}")
        sys.exit(1)


def run(argv):
    """(status, stderr) of the converter's main, in process."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = conv.main(argv)
        except SystemExit as e:  # argparse
            status = e.code
        except BaseException as e:  # noqa: BLE001 - the test is that nothing escapes
            check(False, f"{argv}: {type(e).__name__} escaped main: {e}")
    return status, err.getvalue()


def leftovers(d, keep):
    return sorted(n for n in os.listdir(d) if n not in keep)


def assert_refused(d, src, needles, extra=()):
    dst = os.path.join(d, "out.safetensors")
    status, err = run([src, dst, *extra])
    check(status == 1, f"{os.path.basename(src)}: status {status}, stderr {err!r}")
    lines = err.strip().splitlines()
    check(len(lines) == 1 and lines[0].startswith("error: "), f"one error line, got {err!r}")
    check("Traceback" not in err, f"traceback: {err!r}")
    check(src in lines[0], f"the file is named: {err!r}")
    for n in needles:
        check(n in lines[0], f"{n!r} not in {lines[0]!r}")
    check(not os.path.exists(dst), "no output on failure")
    check(not [n for n in os.listdir(d) if ".tmp" in n], f"temporary files left: {os.listdir(d)}")
    return lines[0]


def one_tensor(d, name, values, offset, size, stride, storage_type=fx.FLOAT_STORAGE):
    s = fx._Storage("0", storage_type, values)
    path = os.path.join(d, f"{name}.pth")
    fx.write_pth(path, {"state_dict": {name: fx._Tensor(s, offset, size, stride)}}, [s])
    return path


def main():
    vals = np.arange(16, dtype=np.float32)
    with tempfile.TemporaryDirectory() as d:
        # Views that lie about their storage.
        assert_refused(d, one_tensor(d, "neg_stride", vals, 15, (4,), (-1,)), ["neg_stride", "negative"])
        assert_refused(d, one_tensor(d, "neg_offset", vals, -8, (4,), (1,)), ["neg_offset", "negative"])
        assert_refused(d, one_tensor(d, "past_end", vals, 10, (4, 2), (2, 1)), ["past_end", "reaches element"])
        assert_refused(d, one_tensor(d, "float_size", vals, 0, (4.0,), (1,)), ["float_size", "integers"])
        assert_refused(d, one_tensor(d, "rank_mismatch", vals, 0, (4, 4), (1,)), ["rank_mismatch"])
        expand = one_tensor(d, "expand", vals[:1], 0, (1000, 1000), (0, 0))
        assert_refused(d, expand, ["expand", "--allow-expand"])
        dst = os.path.join(d, "expanded.safetensors")
        status, err = run([expand, dst, "--allow-expand"])
        check(status == 0 and os.path.exists(dst), f"--allow-expand converts: {err!r}")
        os.remove(dst)
        huge = one_tensor(d, "huge_zero_stride", vals, 0, (1 << 62, 1 << 62), (0, 0))
        assert_refused(d, huge, ["huge_zero_stride", "--allow-expand"])

        # A member that inflates to 64 MiB where the pickle declares 16 floats: reading stops at
        # the declared size, long before the bomb is inflated.
        bomb = os.path.join(d, "bomb.pth")
        s = fx._Storage("0", fx.FLOAT_STORAGE, vals)
        buf = io.BytesIO()
        fx._Pickler(buf, protocol=2).dump({"w": fx._Tensor(s, 0, (16,), (1,))})
        with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("archive/data.pkl", buf.getvalue())
            z.writestr("archive/data/0", b"\0" * (64 << 20))
        check(os.path.getsize(bomb) < 1 << 20, "the bomb is small on disk")
        assert_refused(d, bomb, ["more than the 64 bytes"])
        # A valid file under a cap smaller than its content.
        ok = one_tensor(d, "fine", vals, 0, (16,), (1,))
        assert_refused(d, ok, ["--max-inflated-bytes"], extra=["--max-inflated-bytes", "100"])

        # Output == input (also through another spelling of the path).
        status, err = run([ok, os.path.join(d, ".", "fine.pth")])
        check(status == 1 and "overwrite the input" in err, f"output == input: {err!r}")
        check(zipfile.is_zipfile(ok), "the input is intact")

        # A missing numpy: the install hint, no traceback.
        blocker = (
            "import sys, runpy\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('numpy', 'safetensors'): raise ImportError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, Block())\n"
            f"sys.argv = ['convert', {ok!r}, {os.path.join(d, 'x.safetensors')!r}]\n"
            f"runpy.run_path({os.path.join(HERE, 'convert_torch_checkpoint.py')!r}, run_name='__main__')\n"
        )
        p = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True)
        check(p.returncode == 1 and "pip install numpy safetensors" in p.stderr, f"install hint: {p.stderr!r}")
        check("Traceback" not in p.stderr, f"traceback: {p.stderr!r}")

        # Mutations of the view arguments: whatever they are, one line or a conversion.
        rng = random.Random(12)
        weird = [0, 1, -1, 2, 15, 16, 17, 1 << 31, -(1 << 63), 1 << 64, 0.5, "1", None, (1,), True]
        tracebacks = 0
        for i in range(300):
            rank = rng.randint(0, 3)
            size = tuple(rng.choice(weird) if rng.random() < 0.3 else rng.randint(0, 5) for _ in range(rank))
            stride = tuple(rng.choice(weird) if rng.random() < 0.3 else rng.randint(0, 4) for _ in range(rank))
            offset = rng.choice(weird) if rng.random() < 0.3 else rng.randint(0, 8)
            path = one_tensor(d, f"m{i}", vals, offset, size, stride)
            dst = os.path.join(d, f"m{i}.safetensors")
            status, err = run([path, dst])
            check(status in (0, 1), f"status {status}")
            if status == 1:
                lines = err.strip().splitlines()
                check(len(lines) == 1 and f"m{i}" in lines[0], f"{size} {stride} {offset}: {err!r}")
            tracebacks += "Traceback" in err
            for f in (path, dst):
                if os.path.exists(f):
                    os.remove(f)
        check(tracebacks == 0, f"{tracebacks} tracebacks")

        # Byte mutations of a whole valid archive (zip structure, pickle and storages).
        gtad = os.path.join(d, "gtad.pth")
        w = np.arange(24, dtype=np.float32)
        s = fx._Storage("0", fx.FLOAT_STORAGE, w)
        fx.write_pth(gtad, {"epoch": 1, "state_dict": {"module.a.weight": fx._Tensor(s, 0, (4, 6), (6, 1))}}, [s])
        seed = open(gtad, "rb").read()
        for i in range(400):
            b = bytearray(seed)
            for _ in range(rng.randint(1, 6)):
                k = rng.randrange(len(b))
                op = rng.randrange(4)
                if op == 0:
                    b[k] ^= 1 << rng.randrange(8)
                elif op == 1:
                    b[k] = rng.choice([0, 0xFF, 0x7F, 0x80])
                elif op == 2:
                    del b[k : k + rng.randint(1, 16)]
                else:
                    b[k:k] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            path = os.path.join(d, "mut.pth")
            with open(path, "wb") as f:
                f.write(bytes(b))
            dst = os.path.join(d, "mut.safetensors")
            status, err = run([path, dst])
            check(status in (0, 1), f"status {status}")
            check("Traceback" not in err and len(err.strip().splitlines()) <= 1, f"mutation {i}: {err!r}")
            if status == 1:
                check(path in err, f"mutation {i}: the file is not named: {err!r}")
                check(not os.path.exists(dst), "no output on failure")
            if os.path.exists(dst):
                os.remove(dst)
        check(leftovers(d, set()) == sorted(n for n in os.listdir(d)), "listing")
        check(not [n for n in os.listdir(d) if ".tmp" in n], f"temporary files left: {os.listdir(d)}")
    print("convert_torch_checkpoint hostile-input test: ok")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The training step of `lofi bench step`, in PyTorch, for side-by-side speed comparisons.

Written from lofi's own specification of its models (docs/architecture.md, docs/training.md), not
copied from any codebase: the TSM encoder presets with the same temporal shift (fold = C // 8
channels read the next frame, the next fold the previous one, zero padding, on the residual
branch before conv1), the same input normalisation, the snippet feature as the mean over a
snippet's frames of the globally pooled last stage; then the ACP head (a linear classifier with
softmax cross-entropy, what `lofi bench step --head none` times) and Adam (lr 1e-3, L2 decay
1e-4), lofi's default optimizer. Same shapes, same thread count (`torch.set_num_threads`), warm-up
steps untimed, the median of the timed steps.

PyTorch is an optional install for this comparison only; lofi and its tests never need it.

    python3 tools/torch_reference.py --encoder synthetic-tiny --fidelity 1x32 --batch 128 --threads 2
    python3 tools/torch_reference.py ... --channels-last      # NHWC memory format
    python3 tools/torch_reference.py ... --compile            # torch.compile (default mode)
    python3 tools/torch_reference.py ... --json               # one JSON line, like lofi's --json
"""

import argparse
import json
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("torch_reference.py needs PyTorch: python3 -m pip install torch")

PRESETS = {
    # name: (block, blocks per stage, stem width, widths, strides, stem, frames per snippet, mean, std)
    "synthetic-tiny": ("basic", [1, 1, 1, 1], 8, [8, 16, 32, 64], [2, 2, 2, 2], "small", 4, [0.5] * 3, [0.25] * 3),
    "resnet18": ("basic", [2, 2, 2, 2], 64, [64, 128, 256, 512], [1, 2, 2, 2], "imagenet", 8,
                 [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    "resnet50": ("bottleneck", [3, 4, 6, 3], 64, [64, 128, 256, 512], [1, 2, 2, 2], "imagenet", 8,
                 [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
}


def temporal_shift(x, frames):
    """(N·T, C, H, W): channels [0, f) take frame t+1, [f, 2f) frame t-1, zero at the ends."""
    nt, c, h, w = x.shape
    fold = c // 8
    if fold == 0:
        return x
    v = x.view(nt // frames, frames, c, h, w)
    out = torch.zeros_like(v)
    out[:, :-1, :fold] = v[:, 1:, :fold]
    out[:, 1:, fold:2 * fold] = v[:, :-1, fold:2 * fold]
    out[:, :, 2 * fold:] = v[:, :, 2 * fold:]
    return out.view(nt, c, h, w)


class Block(nn.Module):
    def __init__(self, kind, c_in, width, stride, frames):
        super().__init__()
        self.frames = frames
        out = width * (4 if kind == "bottleneck" else 1)
        plan = ([(c_in, width, 3, stride), (width, width, 3, 1)] if kind == "basic"
                else [(c_in, width, 1, 1), (width, width, 3, stride), (width, out, 1, 1)])
        self.convs = nn.ModuleList(nn.Conv2d(i, o, k, s, k // 2, bias=False) for i, o, k, s in plan)
        self.bns = nn.ModuleList(nn.BatchNorm2d(o) for _, o, _, _ in plan)
        self.down = None
        if stride != 1 or c_in != out:
            self.down = nn.Sequential(nn.Conv2d(c_in, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        h = temporal_shift(x, self.frames)
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            h = bn(conv(h))
            if i < len(self.convs) - 1:
                h = F.relu(h)
        return F.relu(h + (self.down(x) if self.down is not None else x))


class Encoder(nn.Module):
    def __init__(self, preset):
        super().__init__()
        kind, blocks, stem_w, widths, strides, stem, frames, mean, std = PRESETS[preset]
        self.frames = frames
        k, s = (7, 2) if stem == "imagenet" else (3, 1)
        self.stem = nn.Sequential(nn.Conv2d(3, stem_w, k, s, k // 2, bias=False), nn.BatchNorm2d(stem_w), nn.ReLU())
        self.pool = stem == "imagenet"
        layers, c_in = [], stem_w
        for n, wd, st in zip(blocks, widths, strides):
            for b in range(n):
                layers.append(Block(kind, c_in, wd, st if b == 0 else 1, frames))
                c_in = wd * (4 if kind == "bottleneck" else 1)
        self.layers = nn.Sequential(*layers)
        self.dim = c_in
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, frames_u8):
        # u8 [N·T, H, W, 3] → normalised (N·T, 3, H, W), as lofi's normalize_frames
        x = frames_u8.permute(0, 3, 1, 2).float().div_(255.0).sub_(self.mean).div_(self.std)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        h = self.stem(x)
        if self.pool:
            h = F.max_pool2d(h, 3, 2, 1)
        f = self.layers(h).mean(dim=(2, 3))
        return f.view(-1, self.frames, self.dim).mean(dim=1)

    channels_last = False


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoder", default="synthetic-tiny", choices=sorted(PRESETS))
    p.add_argument("--fidelity", default="1x32", help="LxS: snippets per sample and frame side")
    p.add_argument("--batch", type=int, default=128, help="samples (clips or videos) per step")
    p.add_argument("--classes", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    try:
        l_str, s_str = a.fidelity.lower().split("x")
        snippets, side = int(l_str), int(s_str)
    except ValueError:
        sys.exit(f"--fidelity {a.fidelity!r}: expected LxS, e.g. 1x32")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    enc = Encoder(a.encoder)
    enc.channels_last = a.channels_last
    head = nn.Linear(enc.dim, a.classes)
    model = nn.ModuleDict({"encoder": enc, "head": head})
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    frames_per_sample = snippets * enc.frames
    n_frames = a.batch * frames_per_sample
    frames = torch.randint(0, 256, (n_frames, side, side, 3), dtype=torch.uint8)
    targets = torch.zeros(a.batch * snippets, dtype=torch.long)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = head(enc(frames))
        loss = F.cross_entropy(logits, targets)
        loss.backward()
        opt.step()
        return loss

    run = torch.compile(step) if a.compile else step
    times = []
    for i in range(a.warmup + a.repeats):
        t = time.perf_counter()
        run()
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
    median = statistics.median(times)
    out = {
        "impl": "pytorch", "torch": torch.__version__, "encoder": a.encoder, "head": "none",
        "fidelity": f"{snippets}x{side}", "batch": a.batch, "threads": torch.get_num_threads(),
        "channels_last": a.channels_last, "compile": a.compile, "median_s": median, "steps_s": times,
        "frames_per_s": n_frames / median, "peak_bytes": None,
    }
    if a.json:
        print(json.dumps(out))
    else:
        print(f"pytorch {torch.__version__} step {a.encoder} at {snippets}x{side} x {a.batch} ({out['threads']} threads"
              f"{', channels-last' if a.channels_last else ''}{', compiled' if a.compile else ''}): median "
              f"{1e3 * median:.1f} ms, {out['frames_per_s']:.0f} frames/s")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The training step of `lofi bench step`, in PyTorch, for side-by-side speed comparisons.

Written from lofi's own specification of its models (docs/architecture.md, docs/training.md,
src/nn/gtad/, src/loss/gtad.rs), not copied from any codebase. Same shapes, same thread count
(`torch.set_num_threads`), warm-up steps untimed, the median of the timed steps; Adam (lr 1e-3,
L2 decay 1e-4), lofi's default optimizer, over every trained parameter.

Encoders (`--encoder`): the TSM presets with the same temporal shift (fold = C // 8 channels read
the next frame, the next fold the previous one, zero padding, on the residual branch before
conv1), the same input normalisation, the snippet feature as the mean over a snippet's frames of
the globally pooled last stage. `--encoder none` feeds the head random N(0, 1) features
[batch, --in-channels, L] instead, L from `--fidelity LxS` (S is then ignored), as lofi's bench.

Heads (`--head`):
- none: the ACP head, a linear classifier with softmax cross-entropy (needs an encoder).
- gtad-synthetic, gtad-activitynet: lofi's TAL head. A fixed per-channel standardisation (identity
  statistics), G-TAD (backbone1, regu_s / regu_e, backbone2: four GCNeXt blocks with kNN graphs;
  SGAlign over all L x L anchors; the 1x1 localization convs to the (B, 2, L, L) map) and a 1x1
  snippet classifier on G-TAD's `base`. Loss: TEM + 10 PEM-reg + PEM-cls (the official balancing,
  the regression sampling drawn afresh each step, lofi's guards) + 0.5 x snippet cross-entropy.
  Targets are those of lofi's placeholder batch: all-zero IoU map and boundaries, every snippet
  covered with class 0 (the work per step does not depend on their values).

PyTorch is an optional install for this comparison only; lofi and its tests never need it.

    python3 tools/torch_reference.py --encoder synthetic-tiny --fidelity 1x32 --batch 128 --threads 2
    python3 tools/torch_reference.py --encoder none --head gtad-synthetic --fidelity 32x32 --batch 16
    python3 tools/torch_reference.py --encoder none --head gtad-activitynet --in-channels 512 --fidelity 32x32 --batch 16
    python3 tools/torch_reference.py --encoder synthetic-tiny --head gtad-synthetic --fidelity 32x32 --batch 2
    python3 tools/torch_reference.py ... --channels-last      # NHWC memory format (encoder only)
    python3 tools/torch_reference.py ... --compile            # torch.compile (default mode)
    python3 tools/torch_reference.py ... --json               # one JSON line, like lofi's --json
"""

import argparse
import json
import statistics
import sys
import time
import warnings

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("torch_reference.py needs PyTorch: python3 -m pip install torch")

# SGAlign's constant sparse matrices (align_matrix): PyTorch warns that sparse CSR is beta and
# that invariant checks are off; both are expected here and would only clutter the output.
warnings.filterwarnings("ignore", message="Sparse (CSR tensor support|invariant checks)")

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


# ---- the G-TAD head (src/nn/gtad/, src/train/model.rs TalHead) ---------------------------------

GTAD_PRESETS = {
    # src/train/presets.rs head_config: 1-D width, later 2-D width, first 2-D width, groups of the
    # input conv, GCNeXt groups x channels per group, k of every kNN, SGAlign inner + context bins.
    "gtad-activitynet": dict(h1=256, h2=128, h3=512, in_groups=4, groups=32, width_group=4, k=3, inner=32, context=4),
    "gtad-synthetic": dict(h1=64, h2=32, h3=64, in_groups=4, groups=8, width_group=4, k=3, inner=8, context=2),
}


@torch.no_grad()
def knn(x, k):
    """Indices [B, L, k] of every node's k nearest nodes (itself first) in x [B, C, L], by the
    score -|x_j|^2 + 2<x_i, x_j> - |x_i|^2. Indices are data: no gradient flows through them."""
    sq = (x * x).sum(dim=1)
    score = 2 * (x.transpose(1, 2) @ x) - sq[:, None, :] - sq[:, :, None]
    return score.topk(k, dim=-1).indices


def neighbours(x, idx):
    """Rows of x [B, C, L] gathered at idx [B, L, k]: [B, L, k, C] (backward sums into each node)."""
    b, c, l = x.shape
    rows = x.transpose(1, 2).reshape(b * l, c)
    flat = (idx + l * torch.arange(b).view(b, 1, 1)).reshape(-1)
    return rows[flat].view(b, l, idx.shape[-1], c)


class Gcnext(nn.Module):
    """ReLU(temporal(x) + x + semantic(x)); the semantic stream convolves the style-1 graph feature
    [neighbour; self] (B, 2C, L, k) of x's kNN graph and takes the max over the k neighbours."""

    def __init__(self, c, groups, width_group, k):
        super().__init__()
        w = groups * width_group
        self.k = k
        self.tconvs = nn.Sequential(nn.Conv1d(c, w, 1), nn.ReLU(), nn.Conv1d(w, w, 3, padding=1, groups=groups),
                                    nn.ReLU(), nn.Conv1d(w, c, 1))
        self.sconvs = nn.Sequential(nn.Conv2d(2 * c, w, 1), nn.ReLU(), nn.Conv2d(w, w, 1, groups=groups),
                                    nn.ReLU(), nn.Conv2d(w, c, 1))

    def forward(self, x):
        nb = neighbours(x, knn(x, self.k))
        me = x.transpose(1, 2).unsqueeze(2).expand_as(nb)
        # (B, 2C, L, k) as a view of (B, L, k, 2C): PyTorch's conv picks its layout from the strides
        feature = torch.cat([nb, me], dim=3).permute(0, 3, 1, 2)
        # .max (not .amax): the gradient goes to one maximum, as lofi's max_lastdim
        semantic = self.sconvs(feature).max(dim=-1).values
        return F.relu(self.tconvs(x) + x + semantic)


def align_matrix(l, bins):
    """Align1D of every SGAlign anchor over a length-L feature as a sparse matrix W [L*L*bins, L]
    (CSR): row a*bins + p is bin p of anchor a = s*L + d.

    The anchors (src/nn/gtad/sgalign.rs): roi [s - (d+1)/2, s + d + (d+1)/2] when s + d < L, else
    [0, 0] (still computed, masked by the loss). Align1D (src/backend/cpu/align.rs): len = max(e - s,
    1), bin = len/P, grid = ceil(len/P); bin p averages grid linear interpolations at
    t = (s + p*bin) + ((it + 0.5)*bin)/grid, a sample outside [-1, L] counts 0, t <= 0 reads x[0],
    floor(t) >= L - 1 reads x[L - 1]. Evaluated in f32 in that order; samples on one position add
    up (coalesce), as lofi folds them into one tap per position before its per-channel loop."""
    a = l * l
    s = torch.arange(l).repeat_interleave(l).float()
    d = torch.arange(l).repeat(l).float()
    inside = s + d < l
    start = torch.where(inside, s - 0.5 * (d + 1), 0.0).view(a, 1, 1)
    end = torch.where(inside, s + d + 0.5 * (d + 1), 0.0).view(a, 1, 1)
    length = (end - start).clamp(min=1.0)
    bin_w, grid = length / bins, torch.ceil(length / bins)
    p = torch.arange(bins).float().view(1, bins, 1)
    it = torch.arange(int(grid.max())).float().view(1, 1, -1)
    t = (start + p * bin_w) + ((it + 0.5) * bin_w) / grid
    keep = (it < grid) & (t >= -1) & (t <= l)
    t = t.clamp(min=0.0)
    last = t.floor() >= l - 1
    low = torch.where(last, float(l - 1), t.floor())
    frac = torch.where(last, 0.0, t - low)
    row = (torch.arange(a).view(a, 1, 1) * bins + p.long()).expand_as(t)[keep]
    taps = [(low, (1 - frac) / grid), (torch.where(last, low, low + 1), frac / grid)]
    index = torch.stack([torch.cat([row, row]), torch.cat([pos[keep].long() for pos, _ in taps])])
    w = torch.sparse_coo_tensor(index, torch.cat([v[keep] for _, v in taps]), (a * bins, l)).coalesce()
    return w.to_sparse_csr()


def bags(m, batch):
    """CSR matrix m [R, N] repeated over the batch as embedding_bag arguments (indices, offsets,
    weights): bag b*R + r sums rows b*N + n of a [B*N, C] table, weighted m[r, n]."""
    crow, col, val = m.crow_indices(), m.col_indices(), m.values()
    n, nnz = m.shape[1], val.numel()
    shift = torch.arange(batch).view(batch, 1)
    index = (col.view(1, -1) + n * shift).reshape(-1)
    offsets = torch.cat([(crow[:-1].view(1, -1) + nnz * shift).reshape(-1), torch.tensor([batch * nnz])])
    return index, offsets, val.repeat(batch)


def weighted_rows(table, plan):
    return F.embedding_bag(plan[0], table, plan[1], mode="sum", per_sample_weights=plan[2], include_last_offset=True)


class Align1d(torch.autograd.Function):
    """Align1D of every anchor: rows (b, anchor, bin) of weighted sums of the feature rows (b, t)
    [B*L, C] — a weighted gather per output row, the work of lofi's kernel (a few taps per bin,
    every channel), here as embedding_bag, PyTorch's fused weighted gather-sum. Backward is the
    same gather with W^T, built once (autograd's own embedding_bag backward sorts the indices
    every step, and W is a constant)."""

    @staticmethod
    def forward(ctx, table, plan, plan_t):
        ctx.plan_t = plan_t
        return weighted_rows(table, plan)

    @staticmethod
    def backward(ctx, dy):
        return weighted_rows(dy, ctx.plan_t), None, None


class Gtad(nn.Module):
    """G-TAD (SPEC §b, ActivityNet configuration, D = L), parameter names as the official state_dict."""

    def __init__(self, in_channels, h1, h2, h3, in_groups, groups, width_group, k, inner, context):
        super().__init__()
        block = lambda: Gcnext(h1, groups, width_group, k)  # noqa: E731
        self.k, self.bins = k, (inner, context)
        self.backbone1 = nn.Sequential(nn.Conv1d(in_channels, h1, 3, padding=1, groups=in_groups), nn.ReLU(), block())
        self.regu_s = nn.Sequential(block(), nn.Conv1d(h1, 1, 1))
        self.regu_e = nn.Sequential(block(), nn.Conv1d(h1, 1, 1))
        self.backbone2 = nn.Sequential(block())
        widths = [(h1 * (inner + context), h3), (h3, h2), (h2, h2), (h2, h2), (h2, 2)]
        layers = []
        for ci, co in widths:
            layers += [nn.Conv2d(ci, co, 1), nn.ReLU()]
        self.localization = nn.Sequential(*layers[:-1])  # the last conv is followed by a sigmoid
        self.plans = {}  # (B, L) → SGAlign's gather plans

    def plan(self, b, l):
        """SGAlign's gather plans (inner, context) for B samples of L snippets, each with its
        transpose for backward: built on first use, which main() makes before the timed steps."""
        if (b, l) not in self.plans:
            mats = [align_matrix(l, bins) for bins in self.bins]
            self.plans[(b, l)] = [(bags(m, b), bags(m.t().to_sparse_csr(), b)) for m in mats]
        return self.plans[(b, l)]

    def sgalign_rows(self, g):
        """SGAlign of g [B, C, L] as rows [B*L*L, (inner + context)*C] in anchor order (b, s, d):
        what a 1x1 conv over the map multiplies directly. Within a row the columns are bin-major
        (bin*C + c), lofi's channel-major (c*bins + bin) transposed: forward reorders the small
        conv weight to match instead of the widest tensor of the head."""
        b, c, l = g.shape
        (inner_plan, inner_t), (ctx_plan, ctx_t) = self.plan(b, l)
        ctx = neighbours(g, knn(g, self.k)).mean(dim=2)                    # [B, L, C]
        inner = Align1d.apply(g.transpose(1, 2).reshape(b * l, c), inner_plan, inner_t)
        context = Align1d.apply(ctx.reshape(b * l, c), ctx_plan, ctx_t)
        # As lofi, the inner and context bins are concatenated: one copy of the widest tensor.
        rows = torch.cat([inner.view(b * l * l, -1, c), context.view(b * l * l, -1, c)], dim=1)
        return rows.view(b * l * l, -1)

    def forward(self, x):
        """x [B, C_in, L] → (map [B, 2, D, L] (0 = regression, 1 = classification), start, end, base)."""
        b, _, l = x.shape
        base = self.backbone1(x)
        g = self.backbone2(base)
        start = torch.sigmoid(self.regu_s(base)).view(b, l)
        end = torch.sigmoid(self.regu_e(base)).view(b, l)
        # As lofi (Gtad::localization_input): the first 1x1 conv as one product with the SGAlign rows,
        # then into the map layout (B, h3, D, L_s), indexed [d, s].
        first = self.localization[0]
        weight = first.weight.view(first.out_channels, -1, sum(self.bins)).transpose(1, 2).flatten(1)
        h = F.relu(F.linear(self.sgalign_rows(g), weight, first.bias))
        h = h.view(b, l, l, -1).permute(0, 3, 2, 1)
        return torch.sigmoid(self.localization[2:](h)), start, end, base


class TalHead(nn.Module):
    """lofi's TAL head: feature standardisation (a depthwise 1x1 conv with constant weights, here
    the identity as before `set_stats`), G-TAD, and a 1x1 snippet classifier on G-TAD's base."""

    def __init__(self, preset, in_channels, classes):
        super().__init__()
        cfg = GTAD_PRESETS[preset]
        if in_channels % cfg["in_groups"]:
            sys.exit(f"--in-channels {in_channels}: G-TAD's input conv has {cfg['in_groups']} groups")
        self.register_buffer("scale", torch.ones(in_channels))
        self.register_buffer("shift", torch.zeros(in_channels))
        self.gtad = Gtad(in_channels, **cfg)
        self.snippet_classifier = nn.Conv1d(cfg["h1"], classes, 1)

    def forward(self, x):
        c = x.shape[1]
        x = F.conv1d(x, self.scale.view(c, 1, 1), self.shift, groups=c)
        cmap, start, end, base = self.gtad(x)
        return cmap, start, end, self.snippet_classifier(base)


# ---- G-TAD's loss (src/loss/gtad.rs) and lofi's TAL loss (src/train/model.rs tal_loss) ---------

EPS = 1e-6


def bce(p, pos, w1=1.0, w0=1.0):
    return -(w1 * pos * torch.log(p + EPS) + w0 * (1 - pos) * torch.log(1 - p + EPS)).mean()


def balanced_bce(p, pos):
    """The official balancing r = N/n+ (c1 = r/2, c0 = r/(2(r - 1))), or lofi's guard, the plain BCE
    mean, where a class is empty and the official coefficients are not finite."""
    n, n_pos = pos.numel(), int(pos.sum())
    if n_pos in (0, n):
        return bce(p, pos)
    r = n / n_pos
    return bce(p, pos, 0.5 * r, 0.5 * r / (r - 1))


def pem_reg_loss(p, g, mask, u_m, u_l):
    """0.5 Σ(w·p − w·G)²/Σw over the buckets H, sampled M and Lo (f32 ratios, IEEE 0/0 and x/0 as
    the reference); lofi's guard when Σw = 0: the masked MSE."""
    h = (g > 0.7).float()
    m = ((g <= 0.7) & (g > 0.3)).float()
    lo = ((g <= 0.3) & (g > 0)).float() * mask
    n_h = h.sum()
    w = h + (m * u_m > 1 - n_h / m.sum()).float() + (lo * u_l > 1 - n_h / lo.sum()).float()
    if w.sum() == 0:
        w = mask
    return 0.5 * ((w * p - w * g) ** 2).sum() / w.sum()


def gtad_loss(cmap, start, end, iou, gt_start, gt_end, u_m, u_l):
    """TEM + 10 PEM-reg + PEM-cls; every count over the whole batch."""
    l = iou.shape[-1]
    mask = (torch.arange(l).view(l, 1) + torch.arange(l).view(1, l) < l).float().expand_as(iou)  # d + s < L
    g = iou * mask
    tem = balanced_bce(start.reshape(-1), (gt_start > 0.5).float().reshape(-1)) + \
        balanced_bce(end.reshape(-1), (gt_end > 0.5).float().reshape(-1))
    reg = pem_reg_loss(cmap[:, 0], g, mask, u_m, u_l)
    valid = mask.reshape(-1).nonzero().squeeze(1)  # P ∪ Nn: the masked-in entries
    cls = balanced_bce(cmap[:, 1].reshape(-1)[valid], (g.reshape(-1)[valid] > 0.9).float())
    return tem + 10 * reg + cls, (tem, reg, cls)


def tal_loss(out, targets, snippet_weight):
    """G-TAD's loss + snippet_weight x the cross-entropy of the covered snippets (all of them, in
    lofi's placeholder batch); the regression sampling draws afresh each step, as lofi's."""
    cmap, start, end, logits = out
    iou, gt_start, gt_end, rows, classes = targets
    u_m, u_l = torch.rand(iou.shape), torch.rand(iou.shape)
    total, _ = gtad_loss(cmap, start, end, iou, gt_start, gt_end, u_m, u_l)
    b, k, l = logits.shape
    per_snippet = logits.permute(0, 2, 1).reshape(b * l, k)[rows]
    return total + snippet_weight * F.cross_entropy(per_snippet, classes)


# ---- the step -----------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoder", default="synthetic-tiny", choices=sorted(PRESETS) + ["none"])
    p.add_argument("--head", default="none", choices=["none"] + sorted(GTAD_PRESETS))
    p.add_argument("--fidelity", default="1x32", help="LxS: snippets per sample and frame side")
    p.add_argument("--batch", type=int, default=128, help="samples (clips or videos) per step")
    p.add_argument("--classes", type=int, default=6, help="of the ACP classifier or the snippet classifier")
    p.add_argument("--in-channels", type=int, default=64, help="feature width with --encoder none")
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
    if a.encoder == "none" and a.head == "none":
        sys.exit("--head none (the ACP classifier) needs an encoder")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    enc = None if a.encoder == "none" else Encoder(a.encoder)
    parts = {}
    if enc is not None:
        enc.channels_last = a.channels_last
        parts["encoder"] = enc
    if a.head == "none":
        head = nn.Linear(enc.dim, a.classes)
        head_params = sum(t.numel() for t in head.parameters())
    else:
        k = GTAD_PRESETS[a.head]["k"]
        if snippets < k:
            sys.exit(f"--fidelity {a.fidelity}: G-TAD's graphs need at least k = {k} snippets")
        in_channels = a.in_channels if enc is None else enc.dim
        head = TalHead(a.head, in_channels, max(a.classes, 1))
        # SGAlign's sampling geometry, built once before the timed steps (lofi's align kernel derives
        # its taps per call, per roi: a small share next to the per-channel sums).
        head.gtad.plan(a.batch, snippets)
        head_params = sum(t.numel() for t in head.gtad.parameters())  # G-TAD alone, as lofi counts
    parts["head"] = head
    if enc is not None and a.channels_last:
        enc.to(memory_format=torch.channels_last)  # the encoder only: the head stays as lofi lays it out
    model = nn.ModuleDict(parts)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    trained_params = sum(t.numel() for t in model.parameters())
    n_frames = 0 if enc is None else a.batch * snippets * enc.frames
    if enc is not None:
        inputs = torch.randint(0, 256, (n_frames, side, side, 3), dtype=torch.uint8)
    else:
        inputs = torch.randn(a.batch, a.in_channels, snippets)

    if a.head == "none":
        targets = torch.zeros(a.batch * snippets, dtype=torch.long)

        def loss_of(features):
            return F.cross_entropy(head(features), targets)
    else:
        b, l = a.batch, snippets
        # lofi's placeholder batch: IoU map [B, D, L], start and end [B, L] all 0, every snippet
        # covered (rows b*L + s) with class 0. lofi's bench trains with snippet weight 0.5.
        targets = (torch.zeros(b, l, l), torch.zeros(b, l), torch.zeros(b, l),
                   torch.arange(b * l), torch.zeros(b * l, dtype=torch.long))

        def loss_of(features):
            if features.dim() == 2:  # encoder output [B*L, C] → the head's [B, C, L]
                features = features.view(b, l, -1).permute(0, 2, 1)
            return tal_loss(head(features), targets, snippet_weight=0.5)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_of(inputs if enc is None else enc(inputs))
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
        "impl": "pytorch", "torch": torch.__version__, "encoder": a.encoder, "head": a.head,
        "fidelity": f"{snippets}x{side}", "batch": a.batch, "threads": torch.get_num_threads(),
        "channels_last": a.channels_last, "compile": a.compile, "median_s": median, "steps_s": times,
        "frames_per_s": n_frames / median, "peak_bytes": None, "params": head_params,
        "trained_params": trained_params,
    }
    if enc is None:
        out["in_channels"] = a.in_channels
    if a.json:
        print(json.dumps(out))
    else:
        print(f"pytorch {torch.__version__} step {a.encoder} + {a.head} at {snippets}x{side} x {a.batch} "
              f"({out['threads']} threads{', channels-last' if a.channels_last else ''}"
              f"{', compiled' if a.compile else ''}): median {1e3 * median:.1f} ms, "
              f"{out['frames_per_s']:.0f} frames/s; head {head_params:,} parameters "
              f"({'G-TAD alone; ' if a.head != 'none' else ''}{trained_params:,} trained in all)")


if __name__ == "__main__":
    main()

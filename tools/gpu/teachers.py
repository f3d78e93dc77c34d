"""Cross-fitted teacher labels for FER2013's Training faces, trained on a GPU with PyTorch.

Each Training face gets class probabilities from teachers that never saw it: the Training rows
are split into K folds (pixel-identical faces kept in one fold), and for each fold M teachers are
trained on the other K-1 folds. A face's label is the mean of its fold's teachers' test-time
views. The file this writes is read by `emodetect train --teacher <file>` (the toolkit's own
trainer distils its students from it); the teachers themselves are not shipped.

All K*M teachers train at once as one network with grouped convolutions (group g is teacher g,
fed its own batches), so the GPU runs a few large kernels instead of many small ones. Training
is budgeted in seconds, not epochs: the learning rate follows a cosine over the time budget and
the report records how many epochs each teacher saw.

Input: FER2013's compact form, uncompressed (`../shared/data/fer2013/fer2013.u8.xz`, see its
README: `emotion[N]`, `usage[N]`, then N*2304 pixels). PrivateTest rows (usage 2, last) are
dropped on reading: they are never seen. Output: `<out>/teacher-labels.json` (Training,
out-of-fold), `<out>/publictest-labels.json` (PublicTest, all teachers) and `<out>/report.json`.

Usage: python3 tools/gpu/teachers.py --data fer2013.u8 --out DIR [--seconds 300] [--seed 1]
"""

import argparse
import copy
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def read_rows(path):
    raw = np.fromfile(path, dtype=np.uint8)
    n = raw.size // (2 + 48 * 48)
    if n == 0 or raw.size != n * (2 + 48 * 48):
        sys.exit(f"{path}: {raw.size} bytes is not a whole number of rows (2 + 2304 bytes each)")
    labels, usage = raw[:n].astype(np.int64), raw[n : 2 * n]
    if labels.max() > 6 or usage.max() > 2:
        sys.exit(f"{path}: labels must be 0..6 and usage 0 (Training), 1 (PublicTest) or 2 (PrivateTest)")
    # PrivateTest is the final test: never read here. FER2013 orders its rows Training,
    # PublicTest, PrivateTest, so dropping the last usage keeps every row number.
    keep = int((usage < 2).sum())
    if (usage[:keep] == 2).any():
        sys.exit(f"{path}: PrivateTest rows (usage 2) must come last")
    return labels[:keep], usage[:keep], raw[2 * n :].reshape(n, 48, 48)[:keep]


def assign_folds(pixels, labels, rows, k, seed):
    """Fold per row: pixel-identical faces share a fold; folds are dealt per class (stratified)."""
    key_of = {}
    group = np.empty(len(rows), dtype=np.int64)
    for i, r in enumerate(rows):
        group[i] = key_of.setdefault(hashlib.sha1(pixels[r].tobytes()).digest(), len(key_of))
    rng = np.random.default_rng(seed)
    _, first = np.unique(group, return_index=True)  # each group's first row
    first_label = labels[rows][first]
    fold_of_group = np.empty(len(key_of), dtype=np.int64)
    offset = 0
    for c in range(7):
        g = np.flatnonzero(first_label == c)
        rng.shuffle(g)
        fold_of_group[g] = (np.arange(len(g)) + offset) % k
        offset += len(g)
    return fold_of_group[group], len(rows) - len(key_of)


class GroupedNet(nn.Module):
    """G independent VGG-style nets (conv-BN-ReLU x2 then pool, four stages) as one grouped net."""

    def __init__(self, groups, widths, dropout):
        super().__init__()
        self.g = groups
        layers, cin = [], 1
        for w in widths:
            for _ in range(2):
                layers += [
                    nn.Conv2d(cin * groups, w * groups, 3, padding=1, groups=groups, bias=False),
                    nn.BatchNorm2d(w * groups),
                    nn.ReLU(inplace=True),
                ]
                cin = w
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Conv2d(cin * groups, 7 * groups, 1, groups=groups)

    def forward(self, x):  # x: (B, G, 48, 48), channel g is teacher g's face
        y = self.features(x)
        y = F.adaptive_avg_pool2d(y, 1)
        y = self.head(self.drop(y))
        return y.view(x.shape[0], self.g, 7)


def augment(x, gen):
    """Random flip, rotation (+-15 deg), zoom (0.85..1.15), shift (+-8%), erasing; x: (N,1,48,48)."""
    n = x.shape[0]
    dev = x.device
    u = lambda: torch.rand(n, device=dev, generator=gen)
    ang = (u() * 2 - 1) * math.radians(15)
    scale = 1 / (0.85 + 0.3 * u())
    flip = torch.where(u() < 0.5, -1.0, 1.0)
    tx, ty = (u() * 2 - 1) * 0.16, (u() * 2 - 1) * 0.16
    cos, sin = torch.cos(ang) * scale, torch.sin(ang) * scale
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # brightness / contrast jitter
    x = (x - 0.5) * (0.8 + 0.4 * u()).view(n, 1, 1, 1) + 0.5 + (u() * 0.2 - 0.1).view(n, 1, 1, 1)
    # random erasing, half of the faces, 2-20% of the area
    area = (0.02 + 0.18 * u()) * 48 * 48
    aspect = torch.exp((u() * 2 - 1) * math.log(3))
    h = torch.sqrt(area * aspect).clamp(4, 40)
    w = torch.sqrt(area / aspect).clamp(4, 40)
    cy, cx = u() * 48, u() * 48
    ii = torch.arange(48, device=dev).view(1, 48, 1)
    jj = torch.arange(48, device=dev).view(1, 1, 48)
    box = ((ii - cy.view(n, 1, 1)).abs() < h.view(n, 1, 1) / 2) & ((jj - cx.view(n, 1, 1)).abs() < w.view(n, 1, 1) / 2)
    box &= (u() < 0.5).view(n, 1, 1)
    x = torch.where(box.unsqueeze(1), torch.rand_like(x), x)
    return x


def views(x):
    """Test-time views: the face and its mirror, each also shifted by 2 px in four directions."""
    out = []
    for f in (x, torch.flip(x, dims=[3])):
        out.append(f)
        p = F.pad(f, (2, 2, 2, 2), mode="replicate")
        for dy, dx in ((0, 0), (0, 4), (4, 0), (4, 4)):
            out.append(p[:, :, dy : dy + 48, dx : dx + 48])
    return out


def normalise(x):
    return (x - 0.5) / 0.25


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--per-fold", type=int, default=2)
    ap.add_argument("--widths", default="48,96,192,384")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N rows of each usage (smoke test)")
    a = ap.parse_args()

    t_start = time.time()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(a.seed)
    torch.backends.cudnn.benchmark = True
    labels, usage, pixels = read_rows(a.data)
    train_rows = np.flatnonzero(usage == 0)
    pub_rows = np.flatnonzero(usage == 1)
    if a.limit:
        train_rows, pub_rows = train_rows[: a.limit], pub_rows[: a.limit]
    K, M = a.folds, a.per_fold
    G = K * M
    fold, dups = assign_folds(pixels, labels, train_rows, K, a.seed)

    X = torch.from_numpy(pixels[train_rows].astype(np.float32) / 255).unsqueeze(1).to(dev)
    Y = torch.from_numpy(labels[train_rows]).to(dev)
    XP = torch.from_numpy(pixels[pub_rows].astype(np.float32) / 255).unsqueeze(1).to(dev)
    YP = torch.from_numpy(labels[pub_rows]).to(dev)
    fold_t = torch.from_numpy(fold).to(dev)
    # teacher g trains on every fold but g // M
    pools = [torch.nonzero(fold_t != g // M).squeeze(1) for g in range(G)]
    per_epoch = min(len(p) for p in pools)

    widths = [int(w) for w in a.widths.split(",")]
    net = GroupedNet(G, widths, a.dropout).to(dev)
    amp = dict(device_type="cuda", dtype=torch.bfloat16) if dev.type == "cuda" else dict(device_type="cpu", dtype=torch.bfloat16, enabled=False)

    def step_seconds(fmt, steps=12):
        """Seconds per training step of a throwaway copy of the net in memory format `fmt`."""
        probe = copy.deepcopy(net).to(memory_format=fmt)
        o = torch.optim.SGD(probe.parameters(), lr=0.0, momentum=0.9)
        x = torch.rand(a.batch, G, 48, 48, device=dev).contiguous(memory_format=fmt)
        y = torch.randint(0, 7, (a.batch * G,), device=dev)
        for i in range(steps + 3):
            if i == 3:
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                t = time.time()
            with torch.autocast(**amp):
                loss = F.cross_entropy(probe(x).float().reshape(-1, 7), y)
            o.zero_grad()
            loss.backward()
            o.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return (time.time() - t) / steps

    probes = {name: step_seconds(fmt) for name, fmt in (("channels_last", torch.channels_last), ("contiguous", torch.contiguous_format))}
    layout = min(probes, key=probes.get)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    print("step seconds by memory format: " + ", ".join(f"{k} {v:.4f}" for k, v in probes.items()) + f"; using {layout}", flush=True)
    net = net.to(memory_format=fmt)
    params = sum(p.numel() for p in net.parameters()) // G
    decay = [p for p in net.parameters() if p.ndim > 1]
    no_decay = [p for p in net.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0}],
        lr=a.lr, momentum=0.9, nesterov=True,
    )
    gen = torch.Generator(device=dev)
    gen.manual_seed(a.seed)
    print(f"{G} teachers ({K} folds x {M}), {params} parameters each, {len(train_rows)} Training faces "
          f"({dups} pixel duplicates kept in one fold), {per_epoch} per teacher-epoch, device {dev}", flush=True)

    t0 = time.time()
    steps, seen, last_print = 0, 0, t0
    perms = None
    pos = per_epoch
    net.train()
    while True:
        progress = (time.time() - t0) / a.seconds
        if progress >= 1:
            break
        lr = a.lr * min(1.0, progress / 0.03) * 0.5 * (1 + math.cos(math.pi * progress))
        for group in opt.param_groups:
            group["lr"] = lr
        if pos + a.batch > per_epoch:
            perms = torch.stack([p[torch.randperm(len(p), device=dev, generator=gen)[:per_epoch]] for p in pools])
            pos = 0
        idx = perms[:, pos : pos + a.batch]  # (G, B)
        pos += a.batch
        xb = augment(X[idx.reshape(-1)], gen).view(G, a.batch, 48, 48).transpose(0, 1)
        yb = Y[idx].transpose(0, 1)  # (B, G)
        xb = normalise(xb).contiguous(memory_format=fmt)
        with torch.autocast(**amp):
            logits = net(xb)
        loss = F.cross_entropy(logits.float().reshape(-1, 7), yb.reshape(-1)) * G
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
        seen += a.batch
        if time.time() - last_print > 20:
            last_print = time.time()
            print(f"{time.time() - t0:6.0f} s  epoch {seen / per_epoch:5.1f}  loss {loss.item() / G:.3f}  lr {lr:.4f}", flush=True)
    train_s = time.time() - t0
    epochs = seen / per_epoch

    net.eval()

    @torch.no_grad()
    def predict(x):
        out = []
        for i in range(0, x.shape[0], 512):
            b = x[i : i + 512]
            acc = 0
            for v in views(b):
                v = normalise(v).expand(-1, G, -1, -1).contiguous(memory_format=fmt)
                with torch.autocast(**amp):
                    acc = acc + torch.softmax(net(v).float(), dim=2)
            out.append(acc / 10)
        return torch.cat(out)  # (N, G, 7)

    pt = predict(X)
    pp = predict(XP)
    member = F.one_hot(torch.arange(G, device=dev) // M, K).float()  # (G, K)
    own = member[:, fold_t].T  # (N, G): 1 where teacher g belongs to the row's fold
    oof = (pt * own.unsqueeze(2)).sum(1) / M
    train_acc_in = [(pt[:, g].argmax(1) == Y)[fold_t != g // M].float().mean().item() for g in range(G)]
    oof_acc = (oof.argmax(1) == Y).float().mean().item()
    pub_each = [(pp[:, g].argmax(1) == YP).float().mean().item() for g in range(G)]
    pub_ens = (pp.mean(1).argmax(1) == YP).float().mean().item()
    pub_fold = [(pp[:, k * M : (k + 1) * M].mean(1).argmax(1) == YP).float().mean().item() for k in range(K)]

    os.makedirs(a.out, exist_ok=True)
    probs = oof.cpu().numpy()
    doc = {
        "format": "emodetect-teacher-labels",
        "version": 1,
        "dataset": "fer2013",
        "usage": "Training",
        "classes": CLASSES,
        "description": f"out-of-fold probabilities of {G} VGG-style teachers ({K} folds x {M}, "
        f"{params} parameters each, {epochs:.1f} epochs), 10 test-time views",
        "rows": [int(r) for r in train_rows],
        "probabilities": [[round(float(v), 5) for v in row] for row in probs],
    }
    with open(os.path.join(a.out, "teacher-labels.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    # PublicTest: all G teachers averaged (none saw it), for fine-tuning on Training + PublicTest
    # with soft targets, or for choosing ensembles.
    pub = dict(doc, usage="PublicTest", rows=[int(r) for r in pub_rows],
               description=f"mean of all {G} teachers ({K} folds x {M}), 10 test-time views",
               probabilities=[[round(float(v), 5) for v in row] for row in pp.mean(1).cpu().numpy()])
    with open(os.path.join(a.out, "publictest-labels.json"), "w") as f:
        json.dump(pub, f, separators=(",", ":"))
    report = {
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "args": vars(a),
        "teachers": G,
        "parameters_each": params,
        "train_seconds": round(train_s, 1),
        "steps": steps,
        "memory_format": layout,
        "probe_step_seconds": {k: round(v, 5) for k, v in probes.items()},
        "epochs": round(epochs, 2),
        "teacher_images_per_second": round(seen * G / train_s),
        "pixel_duplicates": int(dups),
        "training_accuracy_in_sample": [round(v, 4) for v in train_acc_in],
        "training_accuracy_out_of_fold": round(oof_acc, 4),
        "publictest_accuracy_each": [round(v, 4) for v in pub_each],
        "publictest_accuracy_per_fold_pair": [round(v, 4) for v in pub_fold],
        "publictest_accuracy_all": round(pub_ens, 4),
        "total_seconds": round(time.time() - t_start, 1),
    }
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k: v for k, v in report.items() if k != "args"}, indent=1), flush=True)


if __name__ == "__main__":
    main()

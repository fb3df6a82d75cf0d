"""PyTorch's side of scripts/bench_train_vs_pytorch.sh: training throughput on the CPU of one
network, described as wattevo's NetSpec JSON (`train_throughput --describe NAME` or
`--export-run RUN`), built here layer for layer: explicit zero pads, convolutions, pools,
batch norm, dropout, dense layers, the output head's logits under cross-entropy. The same work
as the burn side: PyTorch's default initialisation (the same Kaiming-uniform bounds as burn's
defaults), Adam 1e-3, batch 64, 4096 random inputs already in memory, shuffled each epoch, a
warm-up run excluded, the same thread count.

Usage: bench_train_vs_pytorch.py SPEC.json THREADS [SECONDS] [WARMUP]
Prints one JSON line: side, network, images_per_s, peak_rss_mb, train_rss_mb.
"""
import json
import os
import resource
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

BATCH = 64
SAMPLES = 4096


class ZeroPad(nn.Module):
    def __init__(self, pads):
        super().__init__()
        self.pads = (pads["left"], pads["right"], pads["top"], pads["bottom"])

    def forward(self, x):
        return F.pad(x, self.pads) if any(self.pads) else x


def dims(shape):
    if "image" in shape:
        s = shape["image"]
        return [s["channels"], s["height"], s["width"]]
    return [shape["flat"]["features"]]


def activation(name):
    if name == "relu":
        return [nn.ReLU()]
    if name == "sigmoid":
        return [nn.Sigmoid()]
    if name in ("linear", "softmax"):
        # the output heads' softmax is inside the cross-entropy, as in wattevo's trainer
        return []
    raise ValueError(f"unknown activation {name}")


def build(spec):
    layers = []
    for node in spec["layers"] + [spec["output"]]:
        layer, kind = node["layer"], node["layer"]["layer"]
        in_dims = dims(node["input"])
        if kind == "conv":
            layers += [ZeroPad(node["pads"]),
                       nn.Conv2d(in_dims[0], layer["out_channels"], layer["kernel"], layer["stride"],
                                 bias=layer["bias"])]
            layers += activation(layer["activation"])
        elif kind == "pool":
            pool = nn.MaxPool2d if layer["kind"] == "max" else nn.AvgPool2d
            layers += [ZeroPad(node["pads"]), pool(layer["kernel"], layer["stride"]),
                       ZeroPad(node["post_pads"])]
        elif kind == "batch_norm":
            layers.append(nn.BatchNorm2d(in_dims[0]) if len(in_dims) == 3 else nn.BatchNorm1d(in_dims[0]))
        elif kind == "dropout":
            layers.append(nn.Dropout(layer["rate"]))
        elif kind == "dense":
            if len(in_dims) == 3:
                layers.append(nn.Flatten())
            features = 1
            for d in in_dims:
                features *= d
            layers.append(nn.Linear(features, layer["out_features"], bias=layer["bias"]))
            layers += activation(layer["activation"])
        else:
            raise ValueError(f"unknown layer {kind}")
    return nn.Sequential(*layers)


def rss_mb(kind=resource.RUSAGE_SELF):
    return resource.getrusage(kind).ru_maxrss / 1024.0


def images_per_s(spec, images, labels, seconds):
    torch.manual_seed(1)
    model = build(spec)
    model.train()
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        order = torch.randperm(SAMPLES)
        for b in range(SAMPLES // BATCH):
            idx = order[b * BATCH:(b + 1) * BATCH]
            optim.zero_grad()
            loss = loss_fn(model(images[idx]), labels[idx])
            loss.backward()
            optim.step()
            steps += 1
            if time.perf_counter() - start >= seconds:
                break
    return steps * BATCH / (time.perf_counter() - start)


def main():
    path, threads = sys.argv[1], int(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    warmup = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    torch.set_num_threads(threads)
    with open(path) as f:
        spec = json.load(f)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(SAMPLES, *dims(spec["input"]), generator=gen)
    labels = torch.arange(SAMPLES) % spec["num_classes"]
    before = rss_mb()
    if warmup > 0:
        images_per_s(spec, images, labels, warmup)
    rate = images_per_s(spec, images, labels, seconds)
    peak = rss_mb()
    name = os.path.splitext(os.path.basename(path))[0]
    print(json.dumps({"side": "torch", "network": name, "images_per_s": rate, "torch": torch.__version__,
                      "peak_rss_mb": peak, "train_rss_mb": peak - before}))


if __name__ == "__main__":
    main()

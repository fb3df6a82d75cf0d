"""Training throughput of PyTorch on the CPU (images/s) for the networks of
host/benches/train_throughput.rs: same layers, 1x28x28 inputs, Adam 1e-3, batch 64,
cross-entropy on logits, same thread count. Prints `network <name> images_per_s <value>`
(median of 3 runs of SECONDS each, after a warm-up run)."""
import sys
import time

import torch
from torch import nn

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
BATCH = 64
SAMPLES = 4096


def networks():
    def conv(cin, cout, pad):
        return [nn.Conv2d(cin, cout, 3, padding=pad), nn.ReLU()]

    pool = nn.MaxPool2d(2, 2)
    return {
        "cnn": nn.Sequential(*conv(1, 32, 1), pool, *conv(32, 64, 1), pool, nn.Flatten(),
                             nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)),
        "small_cnn": nn.Sequential(*conv(1, 8, 0), pool, nn.Flatten(), nn.Linear(8 * 13 * 13, 64),
                                   nn.ReLU(), nn.Linear(64, 10)),
        "mlp": nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)),
    }


def images_per_s(make, images, labels, seconds):
    torch.manual_seed(1)
    model = make()
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    steps, start = 0, time.perf_counter()
    order = torch.randperm(SAMPLES)
    while time.perf_counter() - start < seconds:
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
    torch.set_num_threads(THREADS)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(SAMPLES, 1, 28, 28, generator=gen)
    labels = torch.arange(SAMPLES) % 10
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    for name, net in networks().items():
        make = lambda net=net: __import__("copy").deepcopy(net)
        images_per_s(make, images, labels, min(SECONDS, 3.0))
        runs = sorted(images_per_s(make, images, labels, SECONDS) for _ in range(3))
        print(f"network {name} images_per_s {runs[1]:.1f}")


if __name__ == "__main__":
    main()

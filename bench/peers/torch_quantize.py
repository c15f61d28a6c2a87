#!/usr/bin/env python3
"""PyTorch peer for `npm run bench:optimize`: the seed's MNIST MLP trained by bench:train's recipe
(Flatten -> Linear(784,128) -> ReLU -> Dropout(0.2) -> Linear(128,10); Adam 1e-3, batch 32, 5 epochs,
pixels / 255), then torch.quantization.quantize_dynamic({nn.Linear}, qint8), as the seed documents show.
Prints one JSON line: size (state_dict bytes), test accuracy and single-row / 64-row p50 latency (ms, one
thread, interleaved fp32/int8), for both.
Usage: /usr/bin/python3 torch_quantize.py <data_dir> [seed=0]
"""
import io
import json
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torch_train import load, mlp  # noqa: E402  the same model and data loading


def size(model):
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell()


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def latencies(models, x, runs):
    times = [[] for _ in models]
    with torch.no_grad():
        for i in range(runs + 3):
            for k, m in enumerate(models):
                t0 = time.perf_counter()
                m(x)
                if i >= 3:
                    times[k].append((time.perf_counter() - t0) * 1000)
    return [statistics.median(t) for t in times]


def main():
    data = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    xtr, ytr = load(f"{data}/mnist_train.csv.gz")
    xte, yte = load(f"{data}/mnist_test.csv.gz")
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(5):
        perm = torch.randperm(xtr.shape[0])
        for i in range(0, xtr.shape[0], 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss_fn(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
    model.eval()
    q = torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    row = latencies([model, q], xte[:1], 201)
    batch = latencies([model, q], xte[:64], 41)
    print(json.dumps({
        "torch": torch.__version__,
        "fp32": {"sizeBytes": size(model), "accuracy": accuracy(model, xte, yte), "p50Row": row[0], "p50Batch": batch[0]},
        "int8": {"sizeBytes": size(q), "accuracy": accuracy(q, xte, yte), "p50Row": row[1], "p50Batch": batch[1]},
    }))


if __name__ == "__main__":
    main()

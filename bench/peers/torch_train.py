#!/usr/bin/env python3
"""PyTorch peer for `npm run bench:train`: the same two recipes on the same data.

MLP: Flatten -> Linear(784,128) -> ReLU -> Dropout(0.2) -> Linear(128,10); Adam 1e-3, batch 32, 5 epochs.
CNN: Conv(1->16, 5x5) -> ReLU -> MaxPool 2 -> Conv(16->32, 5x5) -> ReLU -> MaxPool 2 -> Linear(512,10);
     Adam 1e-3, batch 32, 2 epochs.
Minibatches are indexed from pre-loaded tensors (no DataLoader), the fastest idiomatic loop.
Prints one JSON line per (recipe, threads): samples/s over the training epochs, test accuracy.
Usage: /usr/bin/python3 torch_train.py <data_dir> [recipes=mlp,cnn] [threads=1,2] [seed=0]  (run k uses seed+k)
"""
import gzip
import json
import sys
import time

import numpy as np
import torch
from torch import nn


def load(path):
    with gzip.open(path, "rt") as f:
        arr = np.loadtxt(f, delimiter=",", skiprows=1, dtype=np.float32)
    return torch.from_numpy(arr[:, 1:] / 255.0), torch.from_numpy(arr[:, 0].astype(np.int64))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(512, 10),
    )


RECIPES = {"mlp": (mlp, 5), "cnn": (cnn, 2)}


def run(recipe, threads, xtr, ytr, xte, yte, seed):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    build, epochs = RECIPES[recipe]
    model = build()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n, batch = xtr.shape[0], 32
    model.train()
    start = time.perf_counter()
    cpu_start = time.process_time()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    return {"recipe": recipe, "threads": threads, "samplesPerSecond": n * epochs / seconds,
            "seconds": seconds, "cpuSeconds": cpu_seconds, "testAccuracy": acc, "seed": seed, "torch": torch.__version__}


def main():
    data = sys.argv[1]
    recipes = (sys.argv[2] if len(sys.argv) > 2 else "mlp,cnn").split(",")
    threads = [int(t) for t in (sys.argv[3] if len(sys.argv) > 3 else "1,2").split(",")]
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    xtr, ytr = load(f"{data}/mnist_train.csv.gz")
    xte, yte = load(f"{data}/mnist_test.csv.gz")
    for r in recipes:
        for k, t in enumerate(threads):
            # A different seed per run, so the mean accuracy averages over initialisations.
            print(json.dumps(run(r, t, xtr, ytr, xte, yte, seed + k)), flush=True)


if __name__ == "__main__":
    main()

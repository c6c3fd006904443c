"""Benchmark: one epoch of the CNN of upgrade_to_cnn.ipynb, the reference against PyTorch, in one process.

    .venv/bin/python solutions/bench/bench_cnn.py [--repeats 3] [--threads 1 2] [--quick]

The notebook's CNN (conv 1→16 3×3 padding 1, ReLU, max-pool 2, conv 16→32 3×3 padding 1, ReLU,
max-pool 2, flatten, linear 1568→64, ReLU, dropout 0.25, linear 64→10), softmax cross-entropy,
SGD lr 0.05 with momentum 0.9, float32, batch 64, over 10,000 MNIST-shaped images. Compared:
the reference framework (solutions/) and PyTorch CPU eager when torch is importable, at 1 and
2 threads (BLAS and PyTorch's own), taking turns epoch by epoch; median seconds per epoch after
a warm-up epoch.
``--quick``: 2 epochs of 2,000 images at 1 thread, a first look.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

KIT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(KIT / "solutions" / "bench"))
sys.path.insert(0, str(KIT / "tools"))
from bench_mlp import (ReferenceMLP, TorchMLP, load_data, nn, optional_torch,  # noqa: E402  (the reference,
                       parse_arguments, time_epochs)                          # from solutions/)
from train import build_cnn  # noqa: E402  (the notebook's CNN)

BATCH, LR, MOMENTUM, N_SAMPLES = 64, 0.05, 0.9, 10_000


class ReferenceCNN(ReferenceMLP):  # the same training step
    def __init__(self, seed: int):
        self.model = build_cnn(seed)
        self.optimizer = nn.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)


class TorchCNN(TorchMLP):
    """The same network and initial weights in PyTorch (its layouts match ours except Linear's, transposed)."""

    def __init__(self, seed: int):
        import torch

        self.torch = torch
        self.model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 64), torch.nn.ReLU(), torch.nn.Dropout(0.25),
            torch.nn.Linear(64, 10))
        ours = build_cnn(seed).state_dict()
        for linear in ("7.weight", "10.weight"):
            ours[linear] = ours[linear].T
        self.model.load_state_dict({name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in ours.items()})
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)


def main(argv=None) -> None:
    args = parse_arguments(argv, __doc__, repeats=3, samples=N_SAMPLES, quick=(2, 2_000), unit="images")
    x, y, source = load_data(np.random.default_rng(0))
    x = np.ascontiguousarray(x[:args.samples].reshape(-1, 1, 28, 28), np.float32)
    y = y[:args.samples].astype(np.int64)
    print(f"\nOne epoch: the CNN of upgrade_to_cnn.ipynb (conv 1→16→32, 3×3, padding 1, max-pool 2 after each, "
          f"linear 1568→64→10, dropout 0.25), batch {BATCH}, SGD lr {LR} momentum {MOMENTUM}, float32, "
          f"{len(x):,} images ({source}); median of {args.repeats} epochs after a warm-up.")
    kinds = {"reference (nn)": ReferenceCNN}
    torch = optional_torch()
    if torch:
        kinds["PyTorch eager"] = TorchCNN

    progress = tqdm(total=len(args.threads) * len(kinds) * (1 + args.repeats), unit="epoch", desc="bench_cnn",
                    leave=False)
    header = f"{'threads':>7}  {'implementation':<16}{'s/epoch':>9}{'× torch':>9}"
    lines = []
    for threads in args.threads:
        progress.set_description(f"{threads} thread{'s' * (threads > 1)}")
        with threadpool_limits(limits=threads):
            if torch:
                torch.set_num_threads(threads)
            models = {name: kind(seed=3) for name, kind in kinds.items()}
            seconds = time_epochs(models, x, y, args.repeats, progress, BATCH)
        for name in kinds:
            ratio = f"{seconds[name] / seconds['PyTorch eager']:.2f}" if torch else "-"
            lines.append(f"{threads:>7}  {name:<16}{seconds[name]:>9.2f}{ratio:>9}")
    progress.close()
    print("\n" + header + "\n" + "-" * len(header) + "\n" + "\n".join(lines))
    print("\nTarget: reference ≤ 1.5 × PyTorch at each thread count.")


if __name__ == "__main__":
    main()

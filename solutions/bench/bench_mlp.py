"""Benchmark: one MNIST epoch of an MLP, three ways, in one process.

    .venv/bin/python solutions/bench/bench_mlp.py [--repeats 7] [--threads 1 2] [--samples 60000] [--quick]

MLP 784-256-128-10, ReLU, softmax cross-entropy, SGD lr 0.1, float32, batch 128,
60,000 shuffled samples per epoch (``--quick``: 3 epochs of 30,000 samples at 1
thread, a first look in about half a minute). Compared: the reference framework
(solutions/), a hand-written NumPy forward/backward without autodiff (the floor
no framework can beat), and PyTorch CPU eager when torch is importable. Each at
1 and 2 BLAS threads; seconds per epoch are the median of ``--repeats`` epochs
after one warm-up epoch, the three taking turns epoch by epoch; peak memory is measured by tracemalloc (NumPy reports
its buffers to it) in a separate, untimed epoch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

KIT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(KIT / "solutions"))  # benchmark the reference, whatever the caller's path

import act  # noqa: E402
import loss  # noqa: E402
import nn  # noqa: E402

SIZES = (784, 256, 128, 10)
BATCH, LR, N_SAMPLES = 128, 0.1, 60_000
SHARED_MNIST = KIT.parent / "shared" / "data" / "mnist"


def load_data(rng: np.random.Generator):
    """Real MNIST training images if available (data/mnist or ../shared), else random ones of that shape."""
    try:
        (x, y), _ = nn.load_mnist(source="full", mnist_dir=SHARED_MNIST if SHARED_MNIST.is_dir() else None,
                                  mirrors=(), progress=False)  # no download in a benchmark
        return x, y, "MNIST train set"
    except nn.data.MnistUnavailable:
        x = rng.random((N_SAMPLES, SIZES[0]), dtype=np.float32)
        return x, rng.integers(0, 10, N_SAMPLES), "random data of MNIST's shape (timing does not depend on values)"


def xavier(rng, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


# --- the NumPy floor: forward and backward written out by hand -------------------
class NumpyMLP:
    def __init__(self, rng):
        self.weights = [xavier(rng, a, b) for a, b in zip(SIZES, SIZES[1:])]
        self.biases = [np.zeros(b, np.float32) for b in SIZES[1:]]

    def step(self, x, y):
        activations = [x]
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = activations[-1] @ w + b
            activations.append(np.maximum(z, 0) if i < len(self.weights) - 1 else z)
        logits = activations[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        n = len(y)
        loss_value = float(np.mean(np.log(sums[:, 0]) - shifted[np.arange(n), y]))
        grad = exp / sums
        grad[np.arange(n), y] -= 1
        grad /= n
        for i in reversed(range(len(self.weights))):
            w = self.weights[i]
            grad_w = activations[i].T @ grad
            grad_b = grad.sum(axis=0)
            if i > 0:
                grad = grad @ w.T
                grad *= activations[i] > 0
            w -= LR * grad_w
            self.biases[i] -= LR * grad_b
        return loss_value


class ReferenceMLP:
    def __init__(self, rng):
        layers = []
        for i, (a, b) in enumerate(zip(SIZES, SIZES[1:])):
            layers.append(nn.Linear(a, b, rng=rng))
            if i < len(SIZES) - 2:
                layers.append(act.ReLU())
        self.model = nn.Sequential(*layers)
        self.optimizer = nn.SGD(self.model.parameters(), lr=LR)

    def step(self, x, y):
        batch_loss = loss.cross_entropy(self.model(nn.Tensor(x)), y)
        self.optimizer.zero_grad()
        batch_loss.backward()
        self.optimizer.step()
        return batch_loss.item()


class TorchMLP:
    def __init__(self, rng):
        import torch

        self.torch = torch
        layers = []
        for i, (a, b) in enumerate(zip(SIZES, SIZES[1:])):
            linear = torch.nn.Linear(a, b)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(xavier(rng, a, b).T))
                linear.bias.zero_()
            layers.append(linear)
            if i < len(SIZES) - 2:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)

    def step(self, x, y):
        torch = self.torch
        batch_loss = torch.nn.functional.cross_entropy(self.model(torch.from_numpy(x)), torch.from_numpy(y))
        self.optimizer.zero_grad()
        batch_loss.backward()
        self.optimizer.step()
        return batch_loss.item()


def run_epoch(model, x, y, rng, batch: int = BATCH) -> float:
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch):
        index = order[start:start + batch]
        model.step(x[index], y[index])
    return 0.0


def time_epochs(models: dict, x, y, repeats: int, progress: tqdm, batch: int = BATCH) -> dict[str, float]:
    """Median seconds per epoch of each model; the models take turns epoch by epoch,
    so a slow phase of the machine hits all of them alike."""
    rng = np.random.default_rng(1)
    times: dict[str, list[float]] = {name: [] for name in models}
    for name, model in models.items():
        progress.set_postfix_str(f"warm-up: {name}")
        run_epoch(model, x, y, rng, batch)
        progress.update()
    for _ in range(repeats):
        for name, model in models.items():
            progress.set_postfix_str(name)
            start = time.perf_counter()
            run_epoch(model, x, y, rng, batch)
            times[name].append(time.perf_counter() - start)
            progress.update()
    return {name: statistics.median(t) for name, t in times.items()}


def peak_memory_mb(model, x, y) -> float:
    tracemalloc.start()
    run_epoch(model, x, y, np.random.default_rng(2))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def flops_per_epoch(samples: int) -> float:
    """Multiply-adds ×2 of the matmuls: forward, gradient of weights, gradient of inputs (not of x)."""
    per_sample = sum(a * b for a, b in zip(SIZES, SIZES[1:]))
    first = SIZES[0] * SIZES[1]
    return 2 * samples * (3 * per_sample - first)


def parse_arguments(argv, description: str, repeats: int, samples: int, quick: tuple[int, int], unit: str):
    """The options every epoch benchmark takes; ``--quick`` means ``quick`` = (repeats, samples) at 1 thread."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=repeats, help="timed epochs per setting (median)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--samples", type=int, default=samples, help=f"{unit} per epoch (the first ones)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{quick[0]} epochs of {quick[1]:,} {unit} at 1 thread: a first look")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.samples, args.threads = quick[0], quick[1], [1]
    return args


def optional_torch():
    """PyTorch when it is installed (the comparison is optional), else None; prints the versions compared."""
    try:
        import torch
    except ImportError:
        torch = None
    print(f"NumPy {np.__version__}" + (f", PyTorch {torch.__version__}" if torch else ", PyTorch not installed"),
          flush=True)
    return torch


def main(argv=None) -> None:
    args = parse_arguments(argv, __doc__, repeats=7, samples=N_SAMPLES, quick=(3, 30_000), unit="samples")
    rng = np.random.default_rng(0)
    x, y, source = load_data(rng)
    x, y = np.ascontiguousarray(x[:args.samples], np.float32), y[:args.samples].astype(np.int64)
    print(f"One epoch: MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, SGD lr {LR}, float32, "
          f"{len(x):,} samples ({source}); median of {args.repeats} epochs after a warm-up.")
    kinds = {"NumPy floor": NumpyMLP, "reference (nn)": ReferenceMLP}
    torch = optional_torch()
    if torch:
        kinds["PyTorch eager"] = TorchMLP

    flops = flops_per_epoch(len(x))
    rows = []
    measured = [name for name in kinds if name != "PyTorch eager"]
    epochs = len(args.threads) * len(kinds) * (1 + args.repeats) + len(measured)
    progress = tqdm(total=epochs, unit="epoch", desc="bench_mlp", leave=False)
    for threads in args.threads:
        progress.set_description(f"{threads} thread{'s' * (threads > 1)}")
        with threadpool_limits(limits=threads):
            if torch:
                torch.set_num_threads(threads)
            models = {name: kind(np.random.default_rng(3)) for name, kind in kinds.items()}
            seconds = time_epochs(models, x, y, args.repeats, progress)
        for name in kinds:
            row = {"threads": threads, "impl": name, "s": seconds[name],
                   "floor": seconds[name] / seconds["NumPy floor"],
                   "torch": seconds[name] / seconds["PyTorch eager"] if torch else None,
                   "gflops": flops / seconds[name] / 1e9}
            rows.append(row)

    progress.set_description("peak memory")
    memory = {}
    with threadpool_limits(limits=1):  # memory does not depend on threads; one is never slowed by a busy core
        for name in measured:
            progress.set_postfix_str(name)
            memory[name] = peak_memory_mb(kinds[name](np.random.default_rng(3)), x, y)
            progress.update()
    progress.close()

    header = f"{'threads':>7}  {'implementation':<16}{'s/epoch':>9}{'× floor':>9}{'× torch':>9}{'GFLOP/s':>9}{'peak MB':>9}"
    print("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        torch_ratio = f"{row['torch']:.2f}" if row["torch"] is not None else "-"
        mem = f"{memory[row['impl']]:.1f}" if row["impl"] in memory else "-"
        print(f"{row['threads']:>7}  {row['impl']:<16}{row['s']:>9.3f}{row['floor']:>9.2f}{torch_ratio:>9}"
              f"{row['gflops']:>9.1f}{mem:>9}")
    ratio = memory["reference (nn)"] / memory["NumPy floor"]
    print(f"\nPeak memory (tracemalloc, one epoch): reference / floor = {ratio:.2f}")
    print("Targets: reference ≤ 1.10 × floor and ≤ 0.90 × PyTorch at each thread count; memory ≤ 1.2 × floor.")


if __name__ == "__main__":
    main()

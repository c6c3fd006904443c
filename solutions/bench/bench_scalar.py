"""Benchmark: the scalar engine (``nn.Scalar``) on micrograd's demo.

    .venv/bin/python solutions/bench/bench_scalar.py [--repeats 7] [--points 100] [--quick]

An MLP 2-16-16-1 (ReLU) built from Scalars is trained on two-moons points
(generated here with NumPy), full batch: SVM hinge loss plus L2 regularization,
plain gradient descent. One step = forward over all points + backward + update.
The table gives ms per step and µs per graph node (every Scalar the loss
depends on, inputs and weights included): the median (and the minimum) of
``--repeats`` steps after two warm-up steps, once with Python's cycle collector
on (Python's default, as in a notebook: the row the target of ≤ 2.5 µs per node
is for) and once with it off, for reference: the engine makes no reference
cycles, so nothing needs the collector, but while on it keeps walking the live
graph (see ``time_steps``).

The script benchmarks the reference: it puts the kit's ``solutions/`` first on
``sys.path``, so ``import nn`` finds ``solutions/nn`` whatever the caller's path
or KIT_IMPL.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

KIT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(KIT / "solutions"))  # benchmark the reference, whatever the caller's path

import nn  # noqa: E402
from nn import Scalar  # noqa: E402

TARGET_US_PER_NODE = 2.5


def make_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: points (n, 2) and labels ±1."""
    n_upper = n // 2
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n - n_upper)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    points = np.concatenate([upper, lower]) + rng.normal(scale=noise, size=(n, 2))
    labels = np.concatenate([np.ones(n_upper), -np.ones(n - n_upper)])
    return points, labels


class Neuron:
    def __init__(self, n_inputs: int, relu: bool, rng: random.Random):
        self.weights = [Scalar(rng.uniform(-1, 1)) for _ in range(n_inputs)]
        self.bias = Scalar(0.0)
        self.relu = relu

    def __call__(self, inputs: list) -> Scalar:
        total = self.bias
        for w, x in zip(self.weights, inputs):
            total = total + w * x
        return total.relu() if self.relu else total

    def parameters(self) -> list[Scalar]:
        return [*self.weights, self.bias]


class MLP:
    def __init__(self, sizes: tuple[int, ...], seed: int = 0):
        rng = random.Random(seed)
        last = len(sizes) - 2
        self.layers = [
            [Neuron(n_in, relu=(k != last), rng=rng) for _ in range(n_out)]
            for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]))
        ]

    def __call__(self, inputs: list) -> Scalar:
        for layer in self.layers:
            inputs = [neuron(inputs) for neuron in layer]
        return inputs[0]

    def parameters(self) -> list[Scalar]:
        return [p for layer in self.layers for neuron in layer for p in neuron.parameters()]


def loss_and_accuracy(model: MLP, points: list, labels: list, alpha: float = 1e-4) -> tuple[Scalar, float]:
    """Mean hinge loss max(0, 1 − y·score) plus alpha·Σ p², and the training accuracy."""
    scores = [model(x) for x in points]
    data_loss = sum((1 - y * score).relu() for y, score in zip(labels, scores)) * (1.0 / len(points))
    reg_loss = alpha * sum(p * p for p in model.parameters())
    accuracy = sum((score.value > 0) == (y > 0) for y, score in zip(labels, scores)) / len(points)
    return data_loss + reg_loss, accuracy


def train_step(model: MLP, points: list, labels: list, lr: float) -> tuple[float, float]:
    loss, accuracy = loss_and_accuracy(model, points, labels)
    for p in model.parameters():
        p.grad = 0.0
    loss.backward()
    for p in model.parameters():
        p.value -= lr * p.grad
    return loss.value, accuracy


def count_nodes(model: MLP, points: list, labels: list) -> int:
    loss, _ = loss_and_accuracy(model, points, labels)
    return len(nn.topological_order(loss))


def time_steps(model: MLP, points: list, labels: list, repeats: int, collector: bool,
               progress: tqdm) -> tuple[list[float], float]:
    """CPU seconds per training step (``repeats`` steps after 2 warm-up steps), and the last accuracy.

    CPU time of this process (time.process_time; the steps are single-threaded
    Python), so other programs busy on the machine disturb the figure less than
    they would wall-clock time.

    ``collector=False`` turns Python's cycle collector off during the steps
    (gc.disable), for reference only. That is safe here: the engine creates no
    reference cycles, so every graph is freed by reference counting alone
    (tests/test_scalar.py checks this) — but the collector, when on, walks the
    young objects every 700 new ones and, now and then, all live objects, and a
    graph of 65,000 Scalars is many (which is why a Scalar is one object, not
    three). ``collector=True`` leaves the collector as Python sets it.
    """
    step_times = []
    was_enabled = gc.isenabled()
    (gc.enable if collector else gc.disable)()
    try:
        for step in range(2 + repeats):
            start = time.process_time()
            _, accuracy = train_step(model, points, labels, lr=0.1)
            if step >= 2:
                step_times.append(time.process_time() - start)
            progress.update()
    finally:
        (gc.enable if was_enabled else gc.disable)()
    return step_times, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed steps (median), after 2 warm-up steps")
    parser.add_argument("--points", type=int, default=100, help="two-moons points (full batch)")
    parser.add_argument("--quick", action="store_true", help="3 timed steps: a first look")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 3

    points_np, labels_np = make_moons(args.points, noise=0.1, rng=np.random.default_rng(1))
    points = [[Scalar(float(a)), Scalar(float(b))] for a, b in points_np]
    labels = [float(y) for y in labels_np]
    model = MLP((2, 16, 16, 1))
    nodes = count_nodes(model, points, labels)
    first_loss = loss_and_accuracy(model, points, labels)[0].value  # .value only: the graph is freed at once

    print(f"Scalar engine on micrograd's demo: MLP 2-16-16-1 (ReLU), {args.points} two-moons points, "
          f"full batch, hinge loss + L2, SGD; {nodes:,} nodes per step")
    print(f"Python {platform.python_version()}; CPU time, median (and min) of {args.repeats} steps "
          "after 2 warm-up steps", flush=True)
    progress = tqdm(total=2 * (2 + args.repeats), unit="step", desc="bench_scalar", leave=False)
    results = [(collector, *time_steps(model, points, labels, args.repeats, collector, progress))
               for collector in (True, False)]
    progress.close()
    print()
    print(f"{'cycle collector':<20}{'ms/step':>9}{'(min)':>8}{'µs/node':>9}{'(min)':>7}{'target':>8}")
    for collector, step_times, accuracy in results:
        ms, ms_min = statistics.median(step_times) * 1e3, min(step_times) * 1e3
        us, us_min = ms * 1e3 / nodes, ms_min * 1e3 / nodes
        label = "on (Python default)" if collector else "off (gc.disable)"
        if collector:
            verdict = "ok" if us <= TARGET_US_PER_NODE else "over"
            target = f"{'≤ ' + str(TARGET_US_PER_NODE):>8}  {verdict}"
        else:
            target = f"{'-':>8}  (for reference)"
        print(f"{label:<20}{ms:>9.1f}{ms_min:>8.1f}{us:>9.2f}{us_min:>7.2f}{target}")
    last_loss, _ = loss_and_accuracy(model, points, labels)
    print()
    print(f"training works: loss {first_loss:.4f} → {last_loss.value:.4f} after "
          f"{2 * (2 + args.repeats)} steps, training accuracy {accuracy:.0%}")


if __name__ == "__main__":
    main()

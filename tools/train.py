"""Train the reference MLP (or CNN) on MNIST from the terminal (``make train``).

    python tools/train.py [--epochs 2] [--hidden 256 128] [--lr 0.05] [--momentum 0.9]
                          [--lr-decay 0.1] [--batch-size 64] [--model mlp|cnn]

``--model cnn`` trains the CNN of notebooks/upgrade_to_cnn.ipynb instead (``--hidden`` is
then ignored).

Uses the reference framework in solutions/ (whatever is on the caller's path),
MNIST from ``nn.load_mnist()`` (cache, pre-seeded folder, download, or the
offline sample — it says which), a tqdm progress bar per epoch with the running
loss, and prints the test accuracy after every epoch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

REFERENCE = Path(__file__).resolve().parent.parent / "solutions"
sys.path.insert(0, str(REFERENCE))

import act  # noqa: E402
import loss  # noqa: E402
import nn  # noqa: E402


def build_mlp(sizes=(784, 256, 128, 10), seed: int = 0) -> nn.Sequential:
    """Linear layers with Xavier init and ReLU between them (none after the last: logits)."""
    rng = np.random.default_rng(seed)
    layers: list = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out, rng=rng))
        if i < len(sizes) - 2:
            layers.append(act.ReLU())
    return nn.Sequential(*layers)


def build_cnn(seed: int = 0) -> nn.Sequential:
    """The CNN of upgrade_to_cnn.ipynb: two blocks conv 3×3 → ReLU → max-pool 2 (1→16, 16→32 channels),
    then linear 1568→64 → ReLU → dropout 0.25 → linear 64→10."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng), act.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng), act.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64, rng=rng), act.ReLU(), nn.Dropout(0.25, rng=rng),
        nn.Linear(64, 10, rng=rng))


def as_images(data):
    """MNIST rows (N, 784) as images (N, 1, 28, 28), for a CNN."""
    (x_train, y_train), (x_test, y_test) = data
    return (x_train.reshape(-1, 1, 28, 28), y_train), (x_test.reshape(-1, 1, 28, 28), y_test)


def accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> float:
    """Fraction of samples whose largest logit is at the true label (in evaluation mode)."""
    model.eval()
    correct = 0
    with nn.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(nn.Tensor(x[start:start + batch_size])).data
            correct += int((logits.argmax(axis=1) == y[start:start + batch_size]).sum())
    return correct / len(x)


def train(model, data, epochs: int, lr: float, batch_size: int, momentum: float = 0.0,
          lr_decay: float = 1.0, seed: int = 0, progress: bool = True) -> list[float]:
    """Mini-batch SGD on cross-entropy; returns the test accuracy after each epoch.

    The learning rate is multiplied by ``lr_decay`` after every epoch (big steps
    first, then smaller ones to settle into the minimum).
    """
    (x_train, y_train), (x_test, y_test) = data
    optimizer = nn.SGD(model.parameters(), lr=lr, momentum=momentum)
    rng = np.random.default_rng(seed)
    accuracies = []
    for epoch in range(1, epochs + 1):
        model.train()
        bar = tqdm(nn.batches(x_train, y_train, batch_size, rng=rng), total=-(-len(x_train) // batch_size),
                   desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=True)
        running = None
        for xb, yb in bar:
            batch_loss = loss.cross_entropy(model(nn.Tensor(xb)), yb)
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
            running = batch_loss.item() if running is None else 0.95 * running + 0.05 * batch_loss.item()
            bar.set_postfix(loss=f"{running:.3f}", refresh=False)
        optimizer.lr *= lr_decay
        accuracies.append(accuracy(model, x_test, y_test))
        if progress:
            print(f"epoch {epoch}: test accuracy {accuracies[-1]:.2%}")
    return accuracies


#: The recipes (``make train`` and ``--model cnn``); tests/test_training.py checks both on the full set.
RECIPES = {
    "mlp": dict(epochs=2, lr=0.05, batch_size=64, momentum=0.9, lr_decay=0.1),
    "cnn": dict(epochs=6, lr=0.05, batch_size=64, momentum=0.9, lr_decay=0.6),
}


def number(kind: type, low: float, high: float | None = None, low_allowed: bool = False):
    """An argparse type: a ``kind`` (int or float) above ``low`` (or equal, if ``low_allowed``) and below ``high``;
    anything else is argparse's one-line error, naming the range."""
    bounds = f"{'≥' if low_allowed else '>'} {low:g}" + (f" and < {high:g}" if high is not None else "")

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'} {bounds}, "
                                             f"got {text!r}") from None
        if not ((value >= low if low_allowed else value > low) and (high is None or value < high)):
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value
    return parse


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Train the reference MLP (or CNN) on MNIST.",
                                     epilog=f"recipes (the defaults): {RECIPES}")
    parser.add_argument("--model", choices=sorted(RECIPES), default="mlp")
    parser.add_argument("--hidden", type=number(int, 0), nargs="*", default=[256, 128],
                        help="the MLP's hidden layers")
    parser.add_argument("--epochs", type=number(int, 0))
    parser.add_argument("--lr", type=number(float, 0))
    parser.add_argument("--momentum", type=number(float, 0, 1, low_allowed=True))
    parser.add_argument("--lr-decay", type=number(float, 0), help="learning-rate factor after each epoch")
    parser.add_argument("--batch-size", type=number(int, 0))
    args = parser.parse_args(argv)
    recipe = {name: value if getattr(args, name) is None else getattr(args, name)
              for name, value in RECIPES[args.model].items()}
    model = build_cnn() if args.model == "cnn" else build_mlp((784, *args.hidden, 10))
    print(model)
    print("recipe:", recipe)
    data = nn.load_mnist()
    train(model, as_images(data) if args.model == "cnn" else data, **recipe)


if __name__ == "__main__":
    main()

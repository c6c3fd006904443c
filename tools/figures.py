"""Draw every figure of the slides and notebooks (``make figures``).

    python tools/figures.py [FOLDER] [--only NAME ...]

Writes one PNG per entry of ``FIGURES`` into FOLDER (default: the kit's img/), each atomically.
A figure that differs from both its committed version and the new drawing (a figure
someone edited) is kept as it is, never overwritten: the run names it and exits with 1.
Deterministic: the Agg backend, fixed seeds, and no software name or date in
the PNG metadata, so a re-run on the same machine gives the same bytes. (Other
matplotlib versions may draw slightly differently; nothing compares bytes.)

The training curves come from a real, short run of the reference framework
(solutions/) on the committed offline MNIST sample, data/mnist-sample.npz;
the digit grid shows images of that sample.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle, FancyBboxPatch  # noqa: E402

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))
from files import write_atomically  # noqa: E402  (tools/files.py)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDER = ROOT / "img"
SAMPLE_PATH = ROOT / "data" / "mnist-sample.npz"
DPI = 100
BLUE, ORANGE, GREEN, RED, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f"

FIGURES: dict[str, Callable[[], Figure]] = {}
NEEDS_REFERENCE: set[str] = set()  # figures drawn with the reference framework in solutions/
REFERENCE = ROOT / "solutions"


def figure(name: str, needs_reference: bool = False):
    """Register a function that returns a matplotlib Figure as ``<name>.png``."""
    def register(draw: Callable[[], Figure]) -> Callable[[], Figure]:
        FIGURES[name] = draw
        if needs_reference:
            NEEDS_REFERENCE.add(name)
        return draw
    return register


def png_bytes(fig: Figure) -> bytes:
    """PNG without the 'Software' entry (matplotlib writes no date into PNGs)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def committed(path: Path) -> bytes | None:
    """``path`` as the last commit has it; None outside git or when it was never committed."""
    try:
        shown = subprocess.run(["git", "-C", str(path.parent), "show", f"HEAD:./{path.name}"],
                               capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return shown.stdout if shown.returncode == 0 else None


def save(data: bytes, path: Path) -> bool:
    """Write ``data`` to ``path`` unless the file there is someone's: neither the committed figure nor
    ``data``. Atomic (a temporary file renamed), so an interrupted run leaves no half-written PNG."""
    if path.is_file() and path.read_bytes() not in (data, committed(path)):
        return False
    write_atomically(path, data)
    return True


# ---------------------------------------------------------------- drawing helpers

def box(ax, x: float, y: float, text: str, color: str = BLUE, width: float = 1.3, height: float = 0.6,
        fontsize: int = 12) -> None:
    """A rounded box centred at (x, y) with text inside: a value in a computational graph."""
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.05", facecolor="white", edgecolor=color, linewidth=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def operation(ax, x: float, y: float, symbol: str, radius: float = 0.28) -> None:
    """A circle with an operator symbol inside: an operation in a computational graph."""
    ax.add_patch(Circle((x, y), radius, facecolor="#f2f2f2", edgecolor="black", linewidth=1.5))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=15, fontweight="bold")


def arrow(ax, start, end, color: str = "black", label: str = "", label_offset=(0.0, 0.18), fontsize: int = 11,
          shrink: float = 22) -> None:
    """An arrow from start to end, with an optional label near its middle."""
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=1.8, shrinkA=shrink, shrinkB=shrink,
                                mutation_scale=16))
    if label:
        middle = ((start[0] + end[0]) / 2 + label_offset[0], (start[1] + end[1]) / 2 + label_offset[1])
        ax.text(*middle, label, ha="center", va="center", fontsize=fontsize, color=color,
                bbox=dict(facecolor="white", edgecolor="none", pad=1))


def blank_axes(fig: Figure, xlim, ylim):
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(x / 2))  # = 1 / (1 + e^-x), without overflow


def load_sample() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The committed offline MNIST sample: uint8 images (N, 28, 28) and labels."""
    if not SAMPLE_PATH.exists():
        raise FileNotFoundError(f"the MNIST sample {SAMPLE_PATH} is missing; the digit grid and the training "
                                "curves are drawn from it (`git checkout data/mnist-sample.npz` restores it)")
    with np.load(SAMPLE_PATH, allow_pickle=False) as sample:
        return (sample["x_train"], sample["y_train"]), (sample["x_test"], sample["y_test"])


# ---------------------------------------------------------------- machine learning

@figure("linear_model")
def linear_model() -> Figure:
    """Empirical risk minimization with a line: regression (fit) and classification (separator)."""
    rng = np.random.default_rng(0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))

    x = np.sort(rng.uniform(0, 1, 20))
    y = 2 * x + 0.5 + rng.normal(0, 0.25, x.shape)
    w, b = np.polyfit(x, y, 1)  # least squares: minimizes the mean squared error
    left.vlines(x, y, w * x + b, color=RED, lw=1, label="errors ŷ − y")
    left.plot(x, y, "o", color=BLUE, label="data (x, y)")
    grid = np.linspace(0, 1, 2)
    left.plot(grid, w * grid + b, color=ORANGE, lw=2.5, label=f"model ŷ = w·x + b  (w={w:.2f}, b={b:.2f})")
    left.set_title("Regression: minimize the mean of (ŷ − y)²")
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.legend(loc="upper left", fontsize=9)

    points0 = rng.normal((-1, -0.5), 0.6, (40, 2))
    points1 = rng.normal((1, 0.8), 0.6, (40, 2))
    normal = points1.mean(axis=0) - points0.mean(axis=0)
    bias = -normal @ (points1.mean(axis=0) + points0.mean(axis=0)) / 2
    xs = np.linspace(-3, 3, 200)
    grid_x, grid_y = np.meshgrid(xs, xs)
    score = normal[0] * grid_x + normal[1] * grid_y + bias
    right.contourf(grid_x, grid_y, score > 0, levels=[-0.5, 0.5, 1.5], colors=["#dbe8f5", "#fde3cc"])
    right.contour(grid_x, grid_y, score, levels=[0], colors="black", linewidths=2)
    right.plot(*points0.T, "o", color=BLUE, label="class 0")
    right.plot(*points1.T, "s", color=ORANGE, label="class 1")
    right.set_title("Classification: the line w·x + b = 0 separates")
    right.set_xlabel("x₁")
    right.set_ylabel("x₂")
    right.legend(loc="upper left", fontsize=9)
    right.set_aspect("equal")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- derivatives

def f(x):
    return np.sin(2 * x)


def f_prime(x):
    return 2 * np.cos(2 * x)


@figure("tangent")
def tangent() -> Figure:
    """f(x) = sin(2x) and its tangent at x₀ = 0.5: the derivative is the slope."""
    x0 = 0.5
    xs = np.linspace(-np.pi / 2, np.pi / 2, 300)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(xs, f(xs), lw=2.5, label="f(x) = sin(2x)")
    ax.plot(xs, f(x0) + f_prime(x0) * (xs - x0), "--", color=ORANGE, lw=2,
            label=f"tangent at x₀ = {x0}: slope f'(x₀) = 2 cos(1) = {f_prime(x0):.3f}")
    ax.plot([x0], [f(x0)], "o", color="black", ms=8)
    ax.set_ylim(-1.5, 1.5)
    ax.axhline(0, color=GREY, lw=0.8)
    ax.set_xlabel("x")
    ax.set_title("The derivative is the slope of the tangent")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


@figure("central_difference")
def central_difference() -> Figure:
    """The central chord (x₀ ± ε) is much closer to the tangent than the one-sided chord."""
    x0, eps = 0.5, 0.4
    central = (f(x0 + eps) - f(x0 - eps)) / (2 * eps)
    one_sided = (f(x0 + eps) - f(x0)) / eps
    xs = np.linspace(-0.4, 1.4, 300)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.plot(xs, f(xs), lw=2.5, label="f(x) = sin(2x)")
    ax.plot(xs, f(x0) + f_prime(x0) * (xs - x0), color="black", lw=1.5,
            label=f"tangent, slope {f_prime(x0):.3f}")
    ax.plot(xs, f(x0) + central * (xs - x0), "--", color=GREEN, lw=2,
            label=f"central (f(x₀+ε) − f(x₀−ε)) / 2ε = {central:.3f}")
    ax.plot(xs, f(x0) + one_sided * (xs - x0), ":", color=RED, lw=2,
            label=f"one-sided (f(x₀+ε) − f(x₀)) / ε = {one_sided:.3f}")
    for x in (x0 - eps, x0 + eps):
        ax.plot([x], [f(x)], "o", color=GREEN, ms=7)
        ax.axvline(x, color=GREEN, lw=0.8, alpha=0.5)
    ax.plot([x0], [f(x0)], "o", color="black", ms=7)
    ax.set_xticks([x0 - eps, x0, x0 + eps], ["x₀ − ε", "x₀", "x₀ + ε"])
    ax.set_ylim(-0.9, 1.6)
    ax.set_title(f"Central difference with a (too) large ε = {eps}: still close to the tangent")
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return fig


@figure("chain_rule")
def chain_rule() -> Figure:
    """Rates multiply along a chain: speeds (×4, ×2 → ×8) and d/dx ln(x²) = 2/x."""
    fig = plt.figure(figsize=(10, 4.6))
    ax = blank_axes(fig, (0, 10), (0, 4.6))
    ax.text(0.2, 4.25, "Speeds: a car is 2× as fast as a bike, a bike 4× as fast as a person", fontsize=13)
    for x, name in ((1.5, "person\n5 km/h"), (5, "bike\n20 km/h"), (8.5, "car\n40 km/h")):
        box(ax, x, 3.2, name, width=1.9, height=0.8)
    arrow(ax, (1.5, 3.2), (5, 3.2), label="× 4", shrink=45)
    arrow(ax, (5, 3.2), (8.5, 3.2), label="× 2", shrink=45)
    ax.annotate("", xy=(8.5, 2.75), xytext=(1.5, 2.75),
                arrowprops=dict(arrowstyle="-|>", color=RED, lw=2, connectionstyle="arc3,rad=0.12"))
    ax.text(5, 2.2, "car / person = 2 × 4 = 8", color=RED, fontsize=13, ha="center")

    ax.text(0.2, 1.55, "Functions: y = ln(u) with u = x²", fontsize=13)
    box(ax, 1.5, 0.7, "x", color=GREEN, width=1.9, height=0.7)
    box(ax, 5, 0.7, "u = x²", color=GREEN, width=1.9, height=0.7)
    box(ax, 8.5, 0.7, "y = ln u", color=GREEN, width=1.9, height=0.7)
    arrow(ax, (1.5, 0.7), (5, 0.7), label="du/dx = 2x", shrink=45)
    arrow(ax, (5, 0.7), (8.5, 0.7), label="dy/du = 1/u", shrink=45)
    ax.text(5, 0.08, "dy/dx = dy/du · du/dx = (1/x²) · 2x = 2/x", color=RED, fontsize=13, ha="center")
    return fig


# The graph of the slides: L = (a·b + c) · f with a = 2, b = −3, c = 10, f = −2.
GRAPH_VALUES = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}


def graph_values_and_grads() -> tuple[dict[str, float], dict[str, float]]:
    """Forward values and backward gradients (∂L/∂node) of the example graph, by the chain rule."""
    v = dict(GRAPH_VALUES)
    v["e"] = v["a"] * v["b"]
    v["d"] = v["e"] + v["c"]
    v["L"] = v["d"] * v["f"]
    g = {"L": 1.0}
    g["d"], g["f"] = g["L"] * v["f"], g["L"] * v["d"]      # L = d·f
    g["e"], g["c"] = g["d"], g["d"]                        # d = e + c
    g["a"], g["b"] = g["e"] * v["b"], g["e"] * v["a"]      # e = a·b
    return v, g


GRAPH_NODES = {"a": (0.9, 3.3), "b": (0.9, 1.9), "e": (4.1, 2.6), "c": (4.1, 1.2), "d": (7.3, 1.9),
               "f": (7.3, 0.5), "L": (10.5, 1.2)}
GRAPH_OPS = {"e": ("×", (2.5, 2.6), ("a", "b")), "d": ("+", (5.7, 1.9), ("e", "c")),
             "L": ("×", (8.9, 1.2), ("d", "f"))}
BOX_WIDTH, OP_RADIUS = 1.6, 0.28


def draw_graph(backward: bool) -> Figure:
    values, grads = graph_values_and_grads()
    fig = plt.figure(figsize=(10, 4.6))
    ax = blank_axes(fig, (0, 11.4), (-0.6, 4.6))
    title = ("Backward: each node's gradient ∂L/∂node, from the output to the inputs" if backward
             else "Forward: compute the values, from the inputs to the output L")
    ax.text(5.7, 4.25, title, ha="center", fontsize=14)
    color = RED if backward else BLUE
    for name, (x, y) in GRAPH_NODES.items():
        text = f"{name} = {values[name]:g}"
        if backward:
            text += f"\n∂L/∂{name} = {grads[name]:g}"
        box(ax, x, y, text, color=color, width=BOX_WIDTH, height=0.95 if backward else 0.6)
    for output, (symbol, (ox, oy), inputs) in GRAPH_OPS.items():
        operation(ax, ox, oy, symbol, OP_RADIUS)
        links = [((GRAPH_NODES[name][0] + BOX_WIDTH / 2 + 0.05, GRAPH_NODES[name][1]), (ox - OP_RADIUS, oy))
                 for name in inputs]
        links.append(((ox + OP_RADIUS, oy), (GRAPH_NODES[output][0] - BOX_WIDTH / 2 - 0.05, oy)))
        for start, end in links:
            if backward:
                start, end = end, start
            arrow(ax, start, end, color="black" if not backward else RED, shrink=2)
    if backward:
        ax.text(5.7, -0.45, "×: each input gets grad · the other input      +: each input gets grad unchanged",
                ha="center", fontsize=11, color=RED)
    return fig


@figure("graph_forward")
def graph_forward() -> Figure:
    """The computational graph of L = (a·b + c)·f with the forward values."""
    return draw_graph(backward=False)


@figure("graph_backward")
def graph_backward() -> Figure:
    """The same graph with the gradients of the backward pass."""
    return draw_graph(backward=True)


# ---------------------------------------------------------------- activations

ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "step": (lambda x: (x > 0).astype(float), lambda x: np.zeros_like(x)),
    "sigmoid σ": (sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x))),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "ReLU": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    "leaky ReLU (α = 0.1)": (lambda x: np.where(x > 0, x, 0.1 * x), lambda x: np.where(x > 0, 1.0, 0.1)),
    "swish x·σ(x)": (lambda x: x * sigmoid(x), lambda x: sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x))),
}


def plot_activation(ax, name: str, xs: np.ndarray) -> None:
    function, derivative = ACTIVATIONS[name]
    ax.axhline(0, color=GREY, lw=0.6)
    ax.axvline(0, color=GREY, lw=0.6)
    ax.plot(xs, function(xs), lw=2.2, color=BLUE, label="f(x)")
    ax.plot(xs, derivative(xs), "--", lw=2, color=ORANGE, label="f'(x)")
    ax.set_title(name)


@figure("sigmoid")
def sigmoid_figure() -> Figure:
    """σ(x) = 1/(1 + e⁻ˣ) and σ' = σ(1 − σ)."""
    xs = np.linspace(-6, 6, 400)
    fig, ax = plt.subplots(figsize=(8, 4))
    plot_activation(ax, "sigmoid σ", xs)
    ax.set_title("σ(x) = 1 / (1 + e⁻ˣ)  and  σ'(x) = σ(x)·(1 − σ(x))  (at most 1/4)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


@figure("activations")
def activations() -> Figure:
    """Every activation with its derivative; softmax as logits → probabilities."""
    xs = np.linspace(-4, 4, 401)
    fig, axes = plt.subplots(2, 4, figsize=(12, 5.6))
    for ax, name in zip(axes.flat, ACTIVATIONS):
        plot_activation(ax, name, xs)
        ax.set_ylim(-1.3, 2.2 if name not in ("ReLU", "leaky ReLU (α = 0.1)", "swish x·σ(x)") else 4.2)
    axes.flat[0].legend(loc="upper left", fontsize=9)
    logits = np.array([2.0, 1.0, 0.1, -1.0])
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    labels = [f"z{i}" for i in range(len(logits))]
    axes.flat[6].bar(labels, logits, color=BLUE)
    axes.flat[6].axhline(0, color=GREY, lw=0.6)
    axes.flat[6].set_title("softmax: input logits z")
    axes.flat[7].bar(labels, probabilities, color=ORANGE)
    axes.flat[7].set_ylim(0, 1)
    axes.flat[7].set_title("softmax(z): sums to 1")
    for i, p in enumerate(probabilities):
        axes.flat[7].text(i, p + 0.03, f"{p:.2f}", ha="center")
    fig.tight_layout()
    return fig


@figure("xor")
def xor() -> Figure:
    """XOR: no line separates it; two hidden units (two lines) do."""
    points = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    labels = np.array([0, 1, 1, 0])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
    for ax in (left, right):
        for label, marker, color in ((0, "o", BLUE), (1, "s", ORANGE)):
            ax.plot(*points[labels == label].T, marker, color=color, ms=14, label=f"XOR = {label}")
        ax.set_xlim(-0.5, 1.5)
        ax.set_ylim(-0.5, 1.5)
        ax.set_aspect("equal")
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
    xs = np.linspace(-0.5, 1.5, 2)
    for slope, intercept in ((-1, 0.6), (1, 0.3), (0, 0.5)):
        left.plot(xs, slope * xs + intercept, color=GREY, lw=1.5, ls="--")
    left.set_title("A linear model: every line fails")
    left.legend(loc="upper right", fontsize=9)
    grid = np.linspace(-0.5, 1.5, 300)
    gx, gy = np.meshgrid(grid, grid)
    # A 2-2-1 network with hand-set weights: h₁ = step(x₁ + x₂ − 0.5), h₂ = step(x₁ + x₂ − 1.5), out = h₁ − h₂.
    out = (gx + gy - 0.5 > 0).astype(float) - (gx + gy - 1.5 > 0).astype(float)
    right.contourf(gx, gy, out, levels=[-0.5, 0.5, 1.5], colors=["#dbe8f5", "#fde3cc"])
    right.plot(xs, 0.5 - xs, color="black", lw=2)
    right.plot(xs, 1.5 - xs, color="black", lw=2)
    right.set_title("One hidden layer: h₁ − h₂ with two lines")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- the MLP on MNIST

@figure("mnist_grid")
def mnist_grid() -> Figure:
    """Four training images of each digit, from the committed sample."""
    (images, labels), _ = load_sample()
    fig, axes = plt.subplots(4, 10, figsize=(10, 4.4))
    for digit in range(10):
        for row, index in enumerate(np.flatnonzero(labels == digit)[:4]):
            axes[row, digit].imshow(images[index], cmap="gray_r", interpolation="nearest")
        axes[0, digit].set_title(str(digit), fontsize=14)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle("MNIST: 28 × 28 grey-level images of handwritten digits, labels 0–9", fontsize=13)
    fig.tight_layout()
    return fig


@figure("mlp")
def mlp() -> Figure:
    """The MLP of notebooks/train.ipynb: 28×28 image → flatten → 784 → 256 (ReLU) → 10 logits."""
    (images, labels), _ = load_sample()
    fig = plt.figure(figsize=(11, 5.2))
    ax = blank_axes(fig, (-3.4, 12.8), (-1.5, 6.1))
    ax.imshow(images[0], cmap="gray_r", extent=(-3.2, -1.0, 1.7, 3.9), interpolation="nearest")
    ax.text(-2.1, 1.5, f"28 × 28 image\n(label {labels[0]})", ha="center", va="top", fontsize=10)
    arrow(ax, (-0.9, 2.8), (0.6, 2.8), label="flatten", label_offset=(0, 0.3), shrink=0)
    layers = [("784 inputs\n(pixels)", 7, BLUE), ("256 hidden\nReLU", 7, GREEN), ("10 logits\none per digit", 10, ORANGE)]
    columns = []
    for (name, count, color), x in zip(layers, (1.2, 6.0, 10.8)):
        ys = np.linspace(5.4, 0.0, count) if count == 10 else np.linspace(4.8, 0.6, count)
        shown = [y for k, y in enumerate(ys) if count == 10 or k != count // 2]
        columns.append((x, shown))
        if count != 10:
            ax.text(x, ys[count // 2], "⋮", ha="center", va="center", fontsize=16)
        for k, y in enumerate(shown):
            ax.add_patch(Circle((x, y), 0.2, facecolor="white", edgecolor=color, lw=2, zorder=3))
            if count == 10:
                ax.text(x + 0.4, y, str(k), va="center", fontsize=11)
        ax.text(x, -0.45, name, ha="center", va="top", fontsize=11)
    for (x0, ys0), (x1, ys1), shape in zip(columns, columns[1:], ("784 × 256", "256 × 10")):
        for y0 in ys0:
            for y1 in ys1:
                ax.plot([x0, x1], [y0, y1], color=GREY, lw=0.4, alpha=0.6, zorder=1)
        ax.text((x0 + x1) / 2, 5.6, f"Linear, W: {shape}", ha="center", fontsize=10)
    return fig


@figure("celoss")
def celoss() -> Figure:
    """−log p of the true class; and why not the 0/1 'argmax correct' as a loss."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    p = np.linspace(0.005, 1, 400)
    left.plot(p, -np.log(p), lw=2.5)
    for value, offset in ((0.1, (12, 10)), (0.5, (12, 10)), (0.9, (-40, 22))):
        left.plot([value], [-np.log(value)], "o", color=ORANGE)
        left.annotate(f"p = {value}: loss {-np.log(value):.2f}", (value, -np.log(value)),
                      xytext=offset, textcoords="offset points")
    left.set_xlabel("p = probability the model gives to the right class")
    left.set_ylabel("loss = −log p")
    left.set_ylim(0, 5.5)
    left.set_title("Cross-entropy of one example")

    z = np.linspace(-4, 4, 400)  # the logit of the right class; two other logits stay at 0 and 1
    others = np.array([0.0, 1.0])
    log_sum = np.logaddexp(z, np.logaddexp(*others))
    right.plot(z, log_sum - z, lw=2.5, label="cross-entropy: smooth, always a slope")
    right.plot(z, (z > others.max()).astype(float), lw=2.5, color=RED,
               label="correct? (argmax): flat, gradient 0")
    right.set_xlabel("logit of the right class (the other logits: 0 and 1)")
    right.set_title("Why not train on the argmax?")
    right.legend(loc="center right", fontsize=9)
    fig.tight_layout()
    return fig


@figure("celoss_2")
def celoss_2() -> Figure:
    """The formula, and one worked example from logits to loss."""
    logits = np.array([0.5, -1.0, 1.2, 3.1, -0.3, 0.8, -2.0, 1.5, 0.2, -0.6])
    label = 3
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    fig = plt.figure(figsize=(10, 4.6))
    fig.text(0.5, 0.9, r"$L = -\frac{1}{N}\sum_{i=1}^{N} \log\ \mathrm{softmax}(z_i)_{y_i}$"
             r"$\qquad \mathrm{softmax}(z)_k = \frac{e^{z_k}}{\sum_j e^{z_j}}$", ha="center", fontsize=19)
    left = fig.add_axes((0.07, 0.12, 0.4, 0.58))
    right = fig.add_axes((0.57, 0.12, 0.4, 0.58))
    colors = [ORANGE if k == label else BLUE for k in range(10)]
    left.bar(range(10), logits, color=colors)
    left.axhline(0, color=GREY, lw=0.6)
    left.set_xticks(range(10))
    left.set_title("logits z (model output) for an image of a 3")
    right.bar(range(10), probabilities, color=colors)
    right.set_xticks(range(10))
    right.set_ylim(0, 1)
    right.set_title(f"softmax(z): p(3) = {probabilities[label]:.2f}  →  "
                    f"loss = −log {probabilities[label]:.2f} = {-np.log(probabilities[label]):.2f}")
    return fig


# ---------------------------------------------------------------- training

def loss_surface(w1, w2):
    """An elongated bowl, like a real loss near a minimum."""
    return 0.5 * (w1 ** 2 + 8 * w2 ** 2)


@figure("gradient_descent")
def gradient_descent() -> Figure:
    """w ← w − η ∇L: on a 1-D parabola, and on a 2-D loss surface (full gradient vs noisy SGD)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1.3]})
    ws = np.linspace(-3.2, 3.2, 200)
    left.plot(ws, ws ** 2, lw=2.5)
    w, lr = -2.8, 0.3
    for _ in range(5):
        new_w = w - lr * 2 * w
        left.annotate("", xy=(new_w, new_w ** 2), xytext=(w, w ** 2),
                      arrowprops=dict(arrowstyle="-|>", color=ORANGE, lw=1.8))
        left.plot([w], [w ** 2], "o", color=ORANGE)
        w = new_w
    left.set_title("L(w) = w²,  w ← w − η·L'(w),  η = 0.3")
    left.set_xlabel("w")

    grid = np.linspace(-3.5, 3.5, 300)
    g1, g2 = np.meshgrid(grid, grid)
    right.contour(g1, g2, loss_surface(g1, g2), levels=np.geomspace(0.05, 40, 12), cmap="viridis")
    rng = np.random.default_rng(0)
    for name, noise, color in (("gradient descent", 0.0, RED), ("SGD (noisy mini-batch gradients)", 1.5, ORANGE)):
        point, path = np.array([-3.0, 1.5]), []
        for _ in range(25):
            path.append(point)
            gradient = np.array([point[0], 8 * point[1]]) + noise * rng.normal(size=2)
            point = point - 0.11 * gradient
        path = np.array(path)
        right.plot(*path.T, ".-", color=color, lw=1.5, label=name)
    right.plot([0], [0], "*", color="black", ms=12)
    right.set_aspect("equal")
    right.set_xlabel("w₁")
    right.set_ylabel("w₂")
    right.set_title("A loss surface L(w₁, w₂), 25 steps")
    right.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return fig


# The recipe of notebooks/train.ipynb (MLP 784 → 256 → 10, SGD lr 0.1, batches of 32), for fewer epochs.
TRAINING_RUN = {"sizes": (784, 256, 10), "epochs": 3, "lr": 0.1, "batch_size": 32, "seed": 0, "eval_every": 60}


def training_run() -> dict[str, list]:
    """A short real run of the reference framework on the offline sample: losses and accuracies."""
    sys.path[:0] = [str(ROOT / "solutions"), str(ROOT / "tools")]
    import loss
    import nn
    from train import accuracy, build_mlp  # tools/train.py, next to this file

    (x_train, y_train), (x_test, y_test) = nn.data.load_sample(path=SAMPLE_PATH)
    cfg = TRAINING_RUN
    model = build_mlp(cfg["sizes"], seed=cfg["seed"])
    optimizer = nn.SGD(model.parameters(), lr=cfg["lr"])
    rng = np.random.default_rng(cfg["seed"])
    steps_per_epoch = -(-len(x_train) // cfg["batch_size"])
    last_step = cfg["epochs"] * steps_per_epoch
    history = {"step": [], "loss": [], "eval_step": [0], "test_accuracy": [accuracy(model, x_test, y_test)],
               "steps_per_epoch": steps_per_epoch, "train_size": len(x_train), "test_size": len(x_test)}
    step = 0
    for _ in range(cfg["epochs"]):
        for xb, yb in nn.batches(x_train, y_train, cfg["batch_size"], rng=rng):
            batch_loss = loss.cross_entropy(model(nn.Tensor(xb)), yb)
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
            step += 1
            history["step"].append(step)
            history["loss"].append(batch_loss.item())
            if step % cfg["eval_every"] == 0 or step == last_step:
                history["eval_step"].append(step)
                history["test_accuracy"].append(accuracy(model, x_test, y_test))
    return history


@figure("training_curves", needs_reference=True)
def training_curves() -> Figure:
    """Loss per mini-batch and test accuracy of a real (short) run."""
    run = training_run()
    cfg = TRAINING_RUN
    losses = np.array(run["loss"])
    smooth = np.convolve(losses, np.ones(30) / 30, mode="valid")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    left.plot(run["step"], losses, color=BLUE, alpha=0.3, lw=0.8, label="each mini-batch")
    left.plot(run["step"][29:], smooth, color=BLUE, lw=2, label="mean of the last 30")
    left.set_xlabel("step (one mini-batch)")
    left.set_ylabel("cross-entropy loss")
    left.set_ylim(0, None)
    left.legend()
    left.set_title("Training loss")
    right.plot(run["eval_step"], 100 * np.array(run["test_accuracy"]), "o-", color=GREEN)
    right.set_xlabel("step")
    right.set_ylabel("test accuracy (%)")
    right.set_ylim(0, 100)
    right.set_title(f"Test accuracy: {100 * run['test_accuracy'][-1]:.1f}% after {cfg['epochs']} epochs")
    for ax in (left, right):
        for epoch in range(1, cfg["epochs"]):
            ax.axvline(epoch * run["steps_per_epoch"], color=GREY, lw=0.8, ls=":")
    sizes = "-".join(map(str, cfg["sizes"]))
    fig.suptitle(f"A real run: MLP {sizes}, SGD lr {cfg['lr']}, batch {cfg['batch_size']}, "
                 f"on the offline sample ({run['train_size']:,} train / {run['test_size']:,} test images)",
                 fontsize=11)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- convolutional networks

#: Sobel's vertical edges: large where the values rise from left to right (paper, then ink: a stroke's left edge).
VERTICAL_EDGE = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """What Conv2d computes (no flip), with zero padding that keeps the size."""
    k = kernel.shape[0]
    padded = np.pad(image, k // 2)
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape)
    return np.einsum("ijkl,kl->ij", windows, kernel)


def grid_with_numbers(ax, values: np.ndarray, origin, cell: float, highlight=None, colors=None, fontsize=11,
                      fmt="{:g}") -> None:
    """A table of numbers drawn as squares, top row first; ``colors[i, j]`` fills a square."""
    rows, cols = values.shape
    x0, y0 = origin
    for i in range(rows):
        for j in range(cols):
            face = colors[i][j] if colors is not None else "white"
            ax.add_patch(plt.Rectangle((x0 + j * cell, y0 - (i + 1) * cell), cell, cell, facecolor=face,
                                       edgecolor=GREY, lw=1))
            ax.text(x0 + (j + 0.5) * cell, y0 - (i + 0.5) * cell, fmt.format(values[i, j]), ha="center",
                    va="center", fontsize=fontsize)
    if highlight is not None:
        (i, j), (h, w), color = highlight
        ax.add_patch(plt.Rectangle((x0 + j * cell, y0 - (i + h) * cell), w * cell, h * cell, fill=False,
                                   edgecolor=color, lw=3))


@figure("convolution")
def convolution() -> Figure:
    """A 3×3 kernel sliding over a digit: each output pixel is the window times the kernel, summed."""
    (images, labels), _ = load_sample()
    digit = images[np.flatnonzero(labels == 7)[0]] / 255.0
    feature = correlate(digit, VERTICAL_EDGE)
    row, col = np.unravel_index(feature[14:].argmax(), feature[14:].shape)  # a strong edge in the lower half
    row += 14
    fig = plt.figure(figsize=(11, 4.6))
    ax = blank_axes(fig, (0, 23), (-1.6, 8))
    ax.imshow(digit, cmap="gray_r", extent=(0, 7, 0, 7), interpolation="nearest")
    scale = 7 / 28
    ax.add_patch(plt.Rectangle((col * scale - scale, 7 - (row + 2) * scale), 3 * scale, 3 * scale, fill=False,
                               edgecolor=ORANGE, lw=2.5))
    ax.text(3.5, -0.3, "input: 28 × 28 digit", ha="center", va="top", fontsize=12)
    window = np.pad(digit, 1)[row: row + 3, col: col + 3]
    grid_with_numbers(ax, window, (8.0, 6.2), 0.85, highlight=((0, 0), (3, 3), ORANGE), fmt="{:.2f}",
                      fontsize=10)
    ax.text(9.3, 3.2, "window", ha="center", va="top", fontsize=12)
    ax.text(11.1, 4.9, "×", ha="center", va="center", fontsize=22)
    grid_with_numbers(ax, VERTICAL_EDGE, (11.7, 6.2), 0.85, highlight=((0, 0), (3, 3), BLUE))
    ax.text(13.0, 3.2, "3 × 3 kernel\n(vertical edges)", ha="center", va="top", fontsize=12)
    value = float(np.sum(window * VERTICAL_EDGE))
    ax.text(13.0, 1.3, f"Σ window · kernel = {value:.2f}", ha="center", va="center", fontsize=12)
    limit = np.abs(feature).max()
    ax.imshow(feature, cmap="RdBu_r", vmin=-limit, vmax=limit, extent=(16, 23, 0, 7), interpolation="nearest")
    ax.add_patch(plt.Rectangle((16 + col * scale, 7 - (row + 1) * scale), scale, scale, fill=False,
                               edgecolor=ORANGE, lw=2.5))
    ax.text(19.5, -0.3, "output: 28 × 28 feature map\nleft to right, red: paper → ink,\nblue: ink → paper", ha="center",
            va="top", fontsize=12)
    arrow(ax, (14.4, 3.5), (15.9, 3.5), shrink=0)
    ax.text(11.5, 7.6, "The same 9 weights at every position: slide the window, multiply, add.", ha="center",
            fontsize=13)
    return fig


@figure("pooling")
def pooling() -> Figure:
    """2×2 max pooling, stride 2: each output keeps its window's maximum; backward sends the gradient there."""
    values = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 2, 7, 6], [9, 1, 3, 5]], dtype=float)
    tints = [["#dbe9f6", "#fde2c8"], ["#d9f0d3", "#f6d5d5"]]
    colors = [[tints[i // 2][j // 2] for j in range(4)] for i in range(4)]
    pooled = values.reshape(2, 2, 2, 2).max(axis=(1, 3))
    fig = plt.figure(figsize=(10, 3.8))
    ax = blank_axes(fig, (0, 20.5), (-1.2, 6.6))
    grid_with_numbers(ax, values, (0.5, 5.5), 1.2, colors=colors, fontsize=14)
    ax.text(2.9, 0.2, "input 4 × 4", ha="center", va="top", fontsize=12)
    arrow(ax, (5.6, 3.1), (7.4, 3.1), label="max of\neach 2 × 2", label_offset=(0, 0.8), shrink=0)
    grid_with_numbers(ax, pooled, (7.8, 4.3), 1.2, colors=tints, fontsize=14)
    ax.text(9.0, 1.4, "output 2 × 2", ha="center", va="top", fontsize=12)
    gradient = np.zeros((4, 4))
    for i in range(2):
        for j in range(2):
            block = values[2 * i: 2 * i + 2, 2 * j: 2 * j + 2]
            di, dj = np.unravel_index(block.argmax(), (2, 2))
            gradient[2 * i + di, 2 * j + dj] = [[10, 20], [30, 40]][i][j]
    arrow(ax, (11.6, 3.1), (13.9, 3.1), label="backward", label_offset=(0, 0.45), shrink=0)
    ax.text(12.75, 2.5, "gradient\n[[10, 20],\n [30, 40]]", ha="center", va="top", fontsize=11)
    grid_with_numbers(ax, gradient, (14.3, 5.5), 1.2, colors=colors, fontsize=14)
    ax.text(16.7, 0.2, "dL/dinput: all to each winner", ha="center", va="top", fontsize=12)
    return fig


# ---------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Draw the figures of the slides and notebooks.")
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER,
                        help="where to write the PNGs (default: img/ of the kit)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(FIGURES),
                        help="draw only these figures (names without .png)")
    args = parser.parse_args(argv)
    chosen = args.only or list(FIGURES)
    needing = [name for name in chosen if name in NEEDS_REFERENCE]
    if needing and not (REFERENCE / "nn").is_dir():
        sys.exit(f"make figures draws {', '.join(needing)} with the reference framework in solutions/, which this "
                 "copy of the kit does not have (a handout copy); nothing was drawn: the committed figures in img/ "
                 "are complete (others alone: .venv/bin/python tools/figures.py --only NAME ..., names in --help)")
    args.folder.mkdir(parents=True, exist_ok=True)
    kept = []
    for name in chosen:
        path = args.folder / f"{name}.png"
        if save(png_bytes(FIGURES[name]()), path):
            print(f"{path}  {path.stat().st_size / 1000:.0f} kB")
        else:
            kept.append(str(path))
    if kept:
        sys.exit(f"kept {', '.join(kept)} as {'they are' if len(kept) > 1 else 'it is'}, not redrawn: "
                 f"{'they differ' if len(kept) > 1 else 'it differs'} from the committed figure and from the new "
                 "drawing (edited by hand?). To redraw, move it away (or commit it) and run make figures again.")


if __name__ == "__main__":
    main()

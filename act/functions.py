"""Activation functions: the nonlinearities between layers, each a ``Function``.

Every activation works element by element (softmax: along one axis), so its
backward is ``grad`` times the local derivative. Each one stays finite for
inputs of any size: nothing here computes ``exp`` of a large positive number.

The lower-case functions (``act.relu(x)``) are what you call on tensors; the
``Function`` classes hold the math.
"""

from __future__ import annotations

import numbers

import numpy as np

from nn.functions import Function, normalize_axes
from nn.tensor import Tensor


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e⁻ˣ), without overflow for any x.

    For x < 0, e⁻ˣ overflows (e¹⁰⁰⁰⁰ = inf); the same value written as
    σ(x) = eˣ / (1 + eˣ) only needs eˣ, which is small there. With e = e^-|x|
    (always in (0, 1]): σ(x) = 1 / (1 + e) for x ≥ 0 and e / (1 + e) for x < 0.
    """
    # TODO Task 4.2: stable_sigmoid: σ(x) = 1 / (1 + e⁻ˣ) for every x without overflow: for x < 0
    #   use the equal form eˣ / (1 + eˣ). Sigmoid.forward returns σ(x); backward returns grad ·
    #   σ(x)(1 − σ(x)).
    #   (stuck? make hint TASK=4.2)
    raise NotImplementedError("Task 4.2: Sigmoid (act/functions.py: stable_sigmoid) — stable_sigmoid: σ(x) = 1 / (1 + e⁻ˣ) for every x without overflow: for x < 0 use the equal form eˣ / (1 + eˣ). Sigmoid.forward returns σ(x); backward returns grad · σ(x)(1 − σ(x)). Stuck? make hint TASK=4.2. Check with: make check")


class Step(Function):
    """step(x) = 1 if x > 0 else 0  (the perceptron's threshold);
    d step/dx = 0 wherever it is defined, so no gradient passes through."""

    @staticmethod
    def forward(ctx, x):
        # TODO Task 4.1: forward: step(x) = 1 where x > 0, else 0, elementwise, in x's dtype.
        #   backward: ∂step/∂x = 0 wherever it is defined: an all-zero gradient of grad's shape.
        #   (stuck? make hint TASK=4.1)
        raise NotImplementedError("Task 4.1: Step (act/functions.py: Step.forward) — forward: step(x) = 1 where x > 0, else 0, elementwise, in x's dtype. backward: ∂step/∂x = 0 wherever it is defined: an all-zero gradient of grad's shape. Stuck? make hint TASK=4.1. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 4.1: forward: step(x) = 1 where x > 0, else 0, elementwise, in x's dtype.
        #   backward: ∂step/∂x = 0 wherever it is defined: an all-zero gradient of grad's shape.
        #   (stuck? make hint TASK=4.1)
        raise NotImplementedError("Task 4.1: Step (act/functions.py: Step.backward) — forward: step(x) = 1 where x > 0, else 0, elementwise, in x's dtype. backward: ∂step/∂x = 0 wherever it is defined: an all-zero gradient of grad's shape. Stuck? make hint TASK=4.1. Check with: make check")


class Sigmoid(Function):
    """σ(x) = 1 / (1 + e⁻ˣ);  dσ/dx = σ(x) (1 − σ(x))."""

    @staticmethod
    def forward(ctx, x):
        # TODO Task 4.2: stable_sigmoid: σ(x) = 1 / (1 + e⁻ˣ) for every x without overflow: for
        #   x < 0 use the equal form eˣ / (1 + eˣ). Sigmoid.forward returns σ(x); backward returns
        #   grad · σ(x)(1 − σ(x)).
        #   (stuck? make hint TASK=4.2)
        raise NotImplementedError("Task 4.2: Sigmoid (act/functions.py: Sigmoid.forward) — stable_sigmoid: σ(x) = 1 / (1 + e⁻ˣ) for every x without overflow: for x < 0 use the equal form eˣ / (1 + eˣ). Sigmoid.forward returns σ(x); backward returns grad · σ(x)(1 − σ(x)). Stuck? make hint TASK=4.2. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 4.2: stable_sigmoid: σ(x) = 1 / (1 + e⁻ˣ) for every x without overflow: for
        #   x < 0 use the equal form eˣ / (1 + eˣ). Sigmoid.forward returns σ(x); backward returns
        #   grad · σ(x)(1 − σ(x)).
        #   (stuck? make hint TASK=4.2)
        raise NotImplementedError("Task 4.2: Sigmoid (act/functions.py: Sigmoid.backward) — stable_sigmoid: σ(x) = 1 / (1 + e⁻ˣ) for every x without overflow: for x < 0 use the equal form eˣ / (1 + eˣ). Sigmoid.forward returns σ(x); backward returns grad · σ(x)(1 − σ(x)). Stuck? make hint TASK=4.2. Check with: make check")


class Tanh(Function):
    """tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ);  d tanh/dx = 1 − tanh(x)²."""

    @staticmethod
    def forward(ctx, x):
        # TODO Task 4.3: forward: tanh(x) elementwise; backward: grad · (1 − tanh(x)²).
        #   (stuck? make hint TASK=4.3)
        raise NotImplementedError("Task 4.3: Tanh (act/functions.py: Tanh.forward) — forward: tanh(x) elementwise; backward: grad · (1 − tanh(x)²). Stuck? make hint TASK=4.3. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 4.3: forward: tanh(x) elementwise; backward: grad · (1 − tanh(x)²).
        #   (stuck? make hint TASK=4.3)
        raise NotImplementedError("Task 4.3: Tanh (act/functions.py: Tanh.backward) — forward: tanh(x) elementwise; backward: grad · (1 − tanh(x)²). Stuck? make hint TASK=4.3. Check with: make check")


class ReLU(Function):
    """relu(x) = max(x, 0);  d relu/dx = 1 for x > 0, 0 for x < 0 (we use 0 at x = 0)."""

    @staticmethod
    def forward(ctx, x):
        # TODO Task 4.4: forward: relu(x) = max(x, 0) elementwise; backward: grad where x > 0, 0
        #   elsewhere (also 0 at x = 0).
        #   (stuck? make hint TASK=4.4)
        raise NotImplementedError("Task 4.4: ReLU (act/functions.py: ReLU.forward) — forward: relu(x) = max(x, 0) elementwise; backward: grad where x > 0, 0 elsewhere (also 0 at x = 0). Stuck? make hint TASK=4.4. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 4.4: forward: relu(x) = max(x, 0) elementwise; backward: grad where x > 0, 0
        #   elsewhere (also 0 at x = 0).
        #   (stuck? make hint TASK=4.4)
        raise NotImplementedError("Task 4.4: ReLU (act/functions.py: ReLU.backward) — forward: relu(x) = max(x, 0) elementwise; backward: grad where x > 0, 0 elsewhere (also 0 at x = 0). Stuck? make hint TASK=4.4. Check with: make check")


class LeakyReLU(Function):
    """leaky_relu(x) = x for x > 0, α·x otherwise;  derivative 1 for x > 0, α otherwise.

    A small slope α (0.01) keeps a gradient flowing where ReLU would give none.
    """

    @staticmethod
    def forward(ctx, x, alpha: float = 0.01):
        check_alpha(alpha)
        # TODO Task 4.5: forward: x where x > 0, else α·x (α = alpha); backward: grad · 1 where
        #   x > 0, grad · α elsewhere.
        #   (stuck? make hint TASK=4.5)
        raise NotImplementedError("Task 4.5: Leaky ReLU (act/functions.py: LeakyReLU.forward) — forward: x where x > 0, else α·x (α = alpha); backward: grad · 1 where x > 0, grad · α elsewhere. Stuck? make hint TASK=4.5. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 4.5: forward: x where x > 0, else α·x (α = alpha); backward: grad · 1 where
        #   x > 0, grad · α elsewhere.
        #   (stuck? make hint TASK=4.5)
        raise NotImplementedError("Task 4.5: Leaky ReLU (act/functions.py: LeakyReLU.backward) — forward: x where x > 0, else α·x (α = alpha); backward: grad · 1 where x > 0, grad · α elsewhere. Stuck? make hint TASK=4.5. Check with: make check")


class Swish(Function):
    """swish(x) = x σ(x);  d swish/dx = σ(x) + x σ(x) (1 − σ(x))  (product rule)."""

    @staticmethod
    def forward(ctx, x):
        # TODO Task 4.6: forward: swish(x) = x · σ(x) (use your stable_sigmoid from task 4.2);
        #   backward: grad · (σ(x) + x · σ(x)(1 − σ(x))) (the product rule).
        #   (stuck? make hint TASK=4.6)
        raise NotImplementedError("Task 4.6: Swish (act/functions.py: Swish.forward) — forward: swish(x) = x · σ(x) (use your stable_sigmoid from task 4.2); backward: grad · (σ(x) + x · σ(x)(1 − σ(x))) (the product rule). Stuck? make hint TASK=4.6. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 4.6: forward: swish(x) = x · σ(x) (use your stable_sigmoid from task 4.2);
        #   backward: grad · (σ(x) + x · σ(x)(1 − σ(x))) (the product rule).
        #   (stuck? make hint TASK=4.6)
        raise NotImplementedError("Task 4.6: Swish (act/functions.py: Swish.backward) — forward: swish(x) = x · σ(x) (use your stable_sigmoid from task 4.2); backward: grad · (σ(x) + x · σ(x)(1 − σ(x))) (the product rule). Stuck? make hint TASK=4.6. Check with: make check")


class Softmax(Function):
    """softmax(x)ᵢ = eˣⁱ / Σⱼ eˣʲ along ``axis``: positive, sums to 1.

    Subtracting m = max x first gives the same result (the factor e⁻ᵐ cancels)
    and keeps every exponent ≤ 0, so nothing overflows.
    Backward (s = softmax(x), g = dL/ds): dL/dxᵢ = sᵢ (gᵢ − Σⱼ gⱼ sⱼ).
    """

    @staticmethod
    def forward(ctx, x, axis: int = -1):
        axis = check_axis("softmax", x, axis)
        # TODO Task 4.7: forward: softmax(x)ᵢ = eˣⁱ / Σⱼ eˣʲ along axis, without overflow (subtract
        #   the max along axis first: the result is the same). backward: with s = softmax(x) and g =
        #   grad, ∂L/∂xᵢ = sᵢ (gᵢ − Σⱼ gⱼ sⱼ), the sum along axis.
        #   (stuck? make hint TASK=4.7)
        raise NotImplementedError("Task 4.7: Softmax (act/functions.py: Softmax.forward) — forward: softmax(x)ᵢ = eˣⁱ / Σⱼ eˣʲ along axis, without overflow (subtract the max along axis first: the result is the same). backward: with s = softmax(x) and g = grad, ∂L/∂xᵢ = sᵢ (gᵢ − Σⱼ gⱼ sⱼ), the sum along axis. Stuck? make hint TASK=4.7. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 4.7: forward: softmax(x)ᵢ = eˣⁱ / Σⱼ eˣʲ along axis, without overflow (subtract
        #   the max along axis first: the result is the same). backward: with s = softmax(x) and g =
        #   grad, ∂L/∂xᵢ = sᵢ (gᵢ − Σⱼ gⱼ sⱼ), the sum along axis.
        #   (stuck? make hint TASK=4.7)
        raise NotImplementedError("Task 4.7: Softmax (act/functions.py: Softmax.backward) — forward: softmax(x)ᵢ = eˣⁱ / Σⱼ eˣʲ along axis, without overflow (subtract the max along axis first: the result is the same). backward: with s = softmax(x) and g = grad, ∂L/∂xᵢ = sᵢ (gᵢ − Σⱼ gⱼ sⱼ), the sum along axis. Stuck? make hint TASK=4.7. Check with: make check")


class LogSoftmax(Function):
    """log_softmax(x)ᵢ = xᵢ − log Σⱼ eˣʲ = xᵢ − m − log Σⱼ e^(xⱼ − m)  with m = max x, along ``axis``.

    The log of softmax, computed without ever forming softmax: with the max shift every
    exponent is ≤ 0 and the sum is ≥ 1, so nothing overflows and the log never sees 0
    (log(softmax(x)) gives −inf for x = [0, −1e4]).
    Backward (s = softmax(x) = e^out, g = dL/dout): dL/dxᵢ = gᵢ − sᵢ Σⱼ gⱼ.
    """

    @staticmethod
    def forward(ctx, x, axis: int = -1):
        check_axis("log_softmax", x, axis)
        # TODO Task 8.4: forward: log_softmax(x)ᵢ = xᵢ − log Σⱼ eˣʲ along axis, computed stably:
        #   with m = max x along axis, xᵢ − m − log Σⱼ e^(xⱼ − m) (every exponent ≤ 0 and the
        #   sum ≥ 1, so nothing overflows and the log never sees 0). backward: with s = softmax(x) =
        #   e^out and g = grad, ∂L/∂xᵢ = gᵢ − sᵢ Σⱼ gⱼ, the sum along axis.
        #   (stuck? make hint TASK=8.4)
        raise NotImplementedError("Task 8.4: Log-softmax (act/functions.py: LogSoftmax.forward) — forward: log_softmax(x)ᵢ = xᵢ − log Σⱼ eˣʲ along axis, computed stably: with m = max x along axis, xᵢ − m − log Σⱼ e^(xⱼ − m) (every exponent ≤ 0 and the sum ≥ 1, so nothing overflows and the log never sees 0). backward: with s = softmax(x) = e^out and g = grad, ∂L/∂xᵢ = gᵢ − sᵢ Σⱼ gⱼ, the sum along axis. Stuck? make hint TASK=8.4. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 8.4: forward: log_softmax(x)ᵢ = xᵢ − log Σⱼ eˣʲ along axis, computed stably:
        #   with m = max x along axis, xᵢ − m − log Σⱼ e^(xⱼ − m) (every exponent ≤ 0 and the
        #   sum ≥ 1, so nothing overflows and the log never sees 0). backward: with s = softmax(x) =
        #   e^out and g = grad, ∂L/∂xᵢ = gᵢ − sᵢ Σⱼ gⱼ, the sum along axis.
        #   (stuck? make hint TASK=8.4)
        raise NotImplementedError("Task 8.4: Log-softmax (act/functions.py: LogSoftmax.backward) — forward: log_softmax(x)ᵢ = xᵢ − log Σⱼ eˣʲ along axis, computed stably: with m = max x along axis, xᵢ − m − log Σⱼ e^(xⱼ − m) (every exponent ≤ 0 and the sum ≥ 1, so nothing overflows and the log never sees 0). backward: with s = softmax(x) = e^out and g = grad, ∂L/∂xᵢ = gᵢ − sᵢ Σⱼ gⱼ, the sum along axis. Stuck? make hint TASK=8.4. Check with: make check")


def check_alpha(alpha) -> None:
    """The leaky slope must be a plain finite number."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not np.isfinite(alpha):
        raise TypeError(f"leaky_relu: alpha (the slope for x ≤ 0) must be a finite number such as 0.01, got {alpha!r}")


def check_axis_type(name: str, axis) -> None:
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name}: axis must be one integer (e.g. -1, the last axis), got {axis!r}")


def check_axis(name: str, x: np.ndarray, axis) -> int:
    """``axis`` must name one of the axes of ``x``; returns it counted from the start (−1 → ndim − 1)."""
    check_axis_type(name, axis)
    return normalize_axes(name, axis, x.shape)[0]


# --- what you call on tensors --------------------------------------------------------
def step(x: Tensor) -> Tensor:
    """1 where x > 0, else 0 (no gradient)."""
    return Step.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    """σ(x) = 1 / (1 + e⁻ˣ), elementwise."""
    return Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    """tanh(x), elementwise."""
    return Tanh.apply(x)


def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise."""
    return ReLU.apply(x)


def leaky_relu(x: Tensor, alpha: float = 0.01) -> Tensor:
    """x where x > 0, alpha · x elsewhere."""
    return LeakyReLU.apply(x, alpha=alpha)


def swish(x: Tensor) -> Tensor:
    """x · σ(x), elementwise (also called SiLU)."""
    return Swish.apply(x)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """e^x / Σ e^x along ``axis`` (each row of a (batch, classes) input sums to 1)."""
    return Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, computed stably (finite for inputs up to ±1e4 and beyond)."""
    return LogSoftmax.apply(x, axis=axis)

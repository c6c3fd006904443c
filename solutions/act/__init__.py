"""act — activation functions, as functions (``act.relu(x)``) and as layers (``act.ReLU()``).

The layers are Modules without parameters, so they fit in a model:
``nn.Sequential(nn.Linear(784, 256), act.ReLU(), nn.Linear(256, 10))``.
The math is in ``act/functions.py``.
"""

from __future__ import annotations

from nn.module import Module
from nn.tensor import Tensor

from . import functions
from .functions import leaky_relu, log_softmax, relu, sigmoid, softmax, step, swish, tanh


class Step(Module):
    """1 where x > 0, else 0 (no gradient)."""

    def forward(self, x: Tensor) -> Tensor:
        return step(x)


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e⁻ˣ), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return sigmoid(x)


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return tanh(x)


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return relu(x)


class LeakyReLU(Module):
    """x where x > 0, alpha · x elsewhere."""

    def __init__(self, alpha: float = 0.01):
        functions.check_alpha(alpha)
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return leaky_relu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Swish(Module):
    """x · σ(x), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return swish(x)


class Softmax(Module):
    """e^x / Σ e^x along ``axis`` (default: the last axis, the classes)."""

    function = staticmethod(softmax)

    def __init__(self, axis: int = -1):
        functions.check_axis_type(self.function.__name__, axis)
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        return self.function(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along ``axis`` (default: the last axis), computed stably."""

    function = staticmethod(log_softmax)

"""Layers without parameters: ``Flatten`` (images to rows) and ``Dropout`` (noise while training)."""

from __future__ import annotations

import numbers

import numpy as np

from .module import Module
from .tensor import Tensor


class Flatten(Module):
    """(batch, d1, d2, …) → (batch, d1·d2·…): each sample becomes one row, e.g. for a Linear layer."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2:
            raise ValueError(f"Flatten expects a batch of samples, shape (batch, ...), got shape {x.shape}")
        return x.reshape(x.shape[0], -1)


class Dropout(Module):
    """Inverted dropout (Srivastava et al., 2014): while training, zero each element with probability ``p``
    and multiply the others by 1/(1 − p), so the expected value of every element is unchanged;
    in evaluation mode (``model.eval()``) pass the input through untouched.

    The gradient flows through the kept elements only, scaled by the same 1/(1 − p)
    (it is a multiplication by a constant mask). ``rng``: a ``numpy.random.Generator``
    or a seed, for masks that repeat from run to run.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p is the probability of zeroing an element, a number from 0 to 1, got {p!r}")
        self.p = float(p)
        self.rng = np.random.default_rng(rng)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        keep = self.rng.random(x.shape) >= self.p
        scale = 0.0 if self.p == 1 else 1 / (1 - self.p)
        return x * (keep * np.asarray(scale, dtype=x.dtype))

    def extra_repr(self) -> str:
        return f"p={self.p}"

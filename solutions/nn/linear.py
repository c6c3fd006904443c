"""The fully connected layer ``Linear`` and how its weights start out.

A layer computes out = x W + b for a batch x of shape (batch, in_features):
each row of x is one sample, W has shape (in_features, out_features) and b
(out_features,) is added to every row (broadcasting).
"""

from __future__ import annotations

import numpy as np

from .module import Module
from .tensor import Tensor


def xavier_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """Glorot & Bengio (2010): W ~ U(−a, a) with a = √(6 / (fan_in + fan_out)), shape (fan_in, fan_out).

    Var U(−a, a) = a²/3 = 2 / (fan_in + fan_out): a compromise that keeps the
    variance of the signal about constant forward (needs 1/fan_in) and of the
    gradient backward (needs 1/fan_out), for tanh- and sigmoid-like layers.
    """
    ### BEGIN SOLUTION
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))
    ### END SOLUTION


def he_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """He et al. (2015): W ~ U(−a, a) with a = √(6 / fan_in), shape (fan_in, fan_out).

    Var = 2 / fan_in: ReLU zeroes half of its inputs, so twice Xavier's
    forward variance keeps the signal's scale through ReLU layers.
    """
    ### BEGIN SOLUTION
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))
    ### END SOLUTION


INITIALIZERS = {"xavier": xavier_uniform, "he": he_uniform}


class Linear(Module):
    """out = x W + b, for x of shape (batch, in_features).

    ``weight``: (in_features, out_features), initialized by ``init``
    ("xavier", the default, or "he"); ``bias``: (out_features,), zeros, or None
    with ``bias=False``. Both float32 and ``requires_grad=True``. ``rng`` is a
    ``numpy.random.Generator`` or a seed (None: fresh randomness).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "xavier", rng: np.random.Generator | int | None = None):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive integer, got {value!r}")
        if init not in INITIALIZERS:
            raise ValueError(f"Linear: init must be one of {sorted(INITIALIZERS)}, got {init!r}")
        self.in_features, self.out_features, self.init = int(in_features), int(out_features), init
        rng = np.random.default_rng(rng)
        weight = INITIALIZERS[init](self.in_features, self.out_features, rng)
        self.weight = Tensor(np.asarray(weight, dtype=np.float32), requires_grad=True)
        self.bias = Tensor(np.zeros(self.out_features, np.float32), requires_grad=True) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        """out = x W + b: (batch, in_features) times (in_features, out_features), plus b (out_features,).

        (``self.bias`` is None when the layer was made with ``bias=False``.)
        """
        x = self._check_input(x)
        ### BEGIN SOLUTION
        out = x @ self.weight
        return out if self.bias is None else out + self.bias
        ### END SOLUTION

    def _check_input(self, x) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            hint = ""
            if x.ndim > 2:
                features = int(np.prod(x.shape[1:]))
                needs = "" if features == self.in_features else f", and then this layer needs in_features={features}"
                hint = (f" (flatten each sample to one row first: nn.Flatten() or x.reshape(len(x), -1) gives shape "
                        f"({x.shape[0]}, {features}){needs})")
            elif x.ndim == 2 and x.shape[0] == self.in_features:
                hint = " (is x transposed? each row must be one sample)"
            elif x.ndim == 2:
                hint = (f" (each sample has {x.shape[1]} features here: this layer needs in_features={x.shape[1]}, "
                        f"or the layers before must give {self.in_features})")
            raise ValueError(
                f"{self!r} expects input of shape (batch, {self.in_features}), got shape {x.shape}{hint}"
            )
        return x

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

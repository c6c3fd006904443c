"""Indexing: ``x[0]``, ``x[:, 1:3]``, ``x[..., ::2]``, ``x[None]``, ``x[[0, 0, 2]]``, ``x[x > 0]``.

Whatever NumPy can index with works, because the forward is NumPy's own
indexing. The backward is the interesting half: the output is a selection of
the input's elements, so each selected element receives its output's gradient
and every other element receives 0.
"""

from __future__ import annotations

import numpy as np

from .functions import Function
from .tensor import Tensor


class GetItem(Function):
    """out = a[index], NumPy's indexing (ints, slices with steps, ..., None, integer arrays, boolean masks);

    dout/da is 1 from each picked element to its place in out, 0 elsewhere, so dL/da is
    zero except at the picked elements, which receive dL/dout. An integer array may pick
    one element twice (``a[[0, 0]]``): its gradient is then the sum of both. ``np.add.at``
    adds repeats up, where ``grad_a[index] += grad`` would keep only one of them.
    """

    @staticmethod
    def forward(ctx, a, index):
        ctx.a_shape, ctx.index = a.shape, index
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        grad_a = np.zeros(ctx.a_shape, dtype=grad.dtype)
        np.add.at(grad_a, ctx.index, grad)
        return grad_a


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]`` (what ``Tensor.__getitem__`` calls); an index may not hold a Tensor."""
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(part, Tensor) for part in parts):
        raise TypeError(
            "indexing a Tensor with a Tensor: tensors hold floats, and an index needs integers or booleans. "
            "Index with a NumPy array instead, e.g. x[labels.data.astype(int)] or x[mask] with a boolean array."
        )
    return GetItem.apply(x, index=index)

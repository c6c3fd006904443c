"""Max pooling: ``MaxPool2d`` keeps the largest value of every window.

A 2×2 pooling with stride 2 halves height and width: each output is the maximum
of a 2×2 block of the input, so a feature found anywhere in the block survives a
shift by one pixel, and the next layer sees a smaller image.
"""

from __future__ import annotations

import numpy as np

from .conv import add_windows_back, image_hint, pair, sliding_windows, zeros_batch_innermost
from .functions import Function
from .module import Module
from .tensor import Tensor


class MaxPooling(Function):
    """out[n, c, i, j] = max of the window x[n, c, i·sh : i·sh + kh, j·sw : j·sw + kw];

    dout/dx is 1 for the window's maximal element and 0 for the others, so each
    output's gradient goes to the one input element that won its window (on a tie,
    the first in reading order, as in PyTorch). Windows overlap when the stride is
    smaller than the kernel: an element that wins several windows collects each one's gradient.
    """

    @staticmethod
    def forward(ctx, x, kernel_size=(2, 2), stride=(2, 2)):
        check_pooling(x, kernel_size, stride)
        windows = sliding_windows(x, kernel_size, stride)  # (batch, c, oh, ow, kh, kw), a view
        # one slab per position in the window: candidates[p] holds every window's p-th element (reading order)
        candidates = [windows[..., i, j] for i in range(kernel_size[0]) for j in range(kernel_size[1])]  # views
        out = candidates[0].copy(order="K")
        for candidate in candidates[1:]:
            np.maximum(out, candidate, out=out)
        # winner[p]: the p-th element won its window; (kh·kw, batch, c, oh, ow), in nn/conv.py's layout
        ctx.winner = zeros_batch_innermost((len(candidates), *out.shape), bool)
        taken = np.zeros_like(out, dtype=bool)
        for winner, candidate in zip(ctx.winner, candidates):  # in reading order: on a tie the first one wins
            np.equal(candidate, out, out=winner)
            winner &= ~taken
            taken |= winner
        ctx.x_shape, ctx.kernel_size, ctx.stride = x.shape, kernel_size, stride
        return out

    @staticmethod
    def backward(ctx, grad):
        """grad (batch, c, oh, ow) → dL/dx (batch, c, h, w). ``ctx.winner`` (kh·kw, batch, c, oh, ow) is True
        where the p-th element of a window (read row by row) is the one that won it, once per window."""
        kernel_h, kernel_w = ctx.kernel_size
        ### BEGIN SOLUTION
        window_grads = ctx.winner * grad  # (kh·kw, batch, c, oh, ow): each window's gradient, all on its winner
        window_grads = window_grads.reshape(kernel_h, kernel_w, *grad.shape).transpose(2, 3, 4, 5, 0, 1)
        return add_windows_back(window_grads, ctx.x_shape, ctx.stride)  # (batch, c, oh, ow, kh, kw) onto x
        ### END SOLUTION


def check_pooling(x, kernel_size, stride) -> None:
    if x.ndim != 4:
        raise ValueError(f"MaxPool2d expects input of shape (batch, channels, height, width), got shape {x.shape}"
                         f"{image_hint(x)}")
    if kernel_size[0] > x.shape[2] or kernel_size[1] > x.shape[3]:
        raise ValueError(
            f"MaxPool2d: the pooling window ({kernel_size[0]}×{kernel_size[1]}) does not fit the input "
            f"({x.shape[2]}×{x.shape[3]}, shape {x.shape}): use a smaller window or pool less often"
        )


class MaxPool2d(Module):
    """Max pooling over windows of ``kernel_size`` (an integer or a pair), ``stride`` apart (default: the
    kernel size). Input (batch, channels, h, w) → (batch, channels, (h − kh) // sh + 1, (w − kw) // sw + 1):
    rows and columns that do not fill a whole window are dropped, as in PyTorch."""

    def __init__(self, kernel_size=2, stride=None):
        self.kernel_size = pair(kernel_size, "MaxPool2d: kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "MaxPool2d: stride")

    def forward(self, x: Tensor) -> Tensor:
        return MaxPooling.apply(x, kernel_size=self.kernel_size, stride=self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"

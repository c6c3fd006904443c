"""Convolution: ``Conv2d``, a small Linear layer applied to every window of an image.

A 3×3 convolution computes, at every position of the output, a weighted sum of the
3×3 window of the input under it (all channels), plus a bias: the same weights at
every position ("weight sharing"). Written out as loops that is slow in Python; the
classic trick, im2col, copies every window into one row of a matrix

    rows = im2col(x)          (out_height · out_width · batch,  channels · kh · kw)

so that the whole layer is one matrix product, ``W · rowsᵀ`` with the kernels as the rows of
W (out_channels, channels · kh · kw): one column per output position, the product of ``Linear``.
Shapes follow PyTorch: images (batch, channels, height, width), weight (out_channels,
in_channels, kh, kw), bias (out_channels,).

Memory layout, for speed only: the arrays this module and nn/pool.py make keep the
batch as the innermost axis in memory (``x.transpose(1, 2, 3, 0)`` is contiguous), while
their shapes stay (batch, channels, height, width). Copying one window offset for the
whole batch then moves runs of ow · batch neighbouring numbers instead of rows of ow, and
NumPy copies long runs several times faster. That is why the rows of im2col are ordered
output row, output column, then image.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .functions import Function
from .linear import INITIALIZERS
from .module import Module
from .tensor import Tensor


def pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """3 → (3, 3); (3, 5) stays (3, 5): a size for height and width, integers ≥ ``minimum``."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= minimum
                                   for v in values):
        raise ValueError(f"{name} must be an integer or a pair of integers (height, width), each at least "
                         f"{minimum}, got {value!r}")
    return int(values[0]), int(values[1])


def sliding_windows(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Every kh × kw window of the images x (batch, channels, height, width), ``stride`` apart:

        windows[n, c, i, j] = x[n, c, i·sh : i·sh + kh, j·sw : j·sw + kw],   shape (batch, channels, oh, ow, kh, kw)

    A view into x (no copy): NumPy's ``sliding_window_view`` only changes the strides.
    """
    windows = sliding_window_view(x, kernel_size, axis=(2, 3))
    return windows[:, :, :: stride[0], :: stride[1]]


def zeros_batch_innermost(shape: tuple[int, ...], dtype) -> np.ndarray:
    """``np.zeros(shape)`` for shape (…, batch, channels, h, w), stored with the batch axis innermost
    in memory (the layout of this module, see its docstring): NumPy's operations keep it."""
    *leading, batch, channels, height, width = shape
    return np.moveaxis(np.zeros((*leading, channels, height, width, batch), dtype), -1, -4)


def add_windows_back(window_grads: np.ndarray, image_shape: tuple[int, ...], stride: tuple[int, int]) -> np.ndarray:
    """The backward of ``sliding_windows``: add each window's gradient (batch, channels, oh, ow, kh, kw)
    back onto the pixels it was cut from, an array of ``image_shape``. Windows overlap when the
    stride is smaller than the kernel: a pixel seen by several windows receives the sum.

    One loop step per kernel offset (9 for 3×3), each moving all windows at once.
    """
    _, _, out_h, out_w, kernel_h, kernel_w = window_grads.shape
    grad_x = zeros_batch_innermost(image_shape, window_grads.dtype)
    overlap = stride[0] < kernel_h or stride[1] < kernel_w
    for di in range(kernel_h):
        for dj in range(kernel_w):
            pixels = grad_x[:, :, di : di + stride[0] * out_h : stride[0], dj : dj + stride[1] * out_w : stride[1]]
            if overlap:
                pixels += window_grads[:, :, :, :, di, dj]
            else:  # each pixel in one window at most: a copy, several times faster than NumPy's strided +=
                pixels[...] = window_grads[:, :, :, :, di, dj]
    return grad_x


def pad(x: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    """Zeros around each image: (batch, channels, h, w) → (batch, channels, h + 2·ph, w + 2·pw), a copy
    with the batch innermost in memory."""
    (ph, pw), (batch, channels, height, width) = padding, x.shape
    padded = zeros_batch_innermost((batch, channels, height + 2 * ph, width + 2 * pw), x.dtype)
    padded[:, :, ph : ph + height, pw : pw + width] = x
    return padded


def unpad(x: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    """Cut the padding off again: the inverse of ``pad``."""
    ph, pw = padding
    return x[:, :, ph : x.shape[2] - ph, pw : x.shape[3] - pw]


def im2col(x: np.ndarray, kernel_size, stride, padding) -> np.ndarray:
    """Images (batch, channels, h, w) → rows (oh · ow · batch, channels · kh · kw): one row per output
    position (row of the output, then column, then image: the memory order, see the module's
    docstring), holding the (padded) window the kernel sees there, channel by channel, each
    channel's window read row by row."""
    # TODO Task 8.1: im2col: images x (batch, c, h, w) → rows (oh·ow·batch, c·kh·kw), one row per
    #   output position (output row, then column, then image) holding the padded window the kernel
    #   sees there. forward: out[n, o, i, j] = Σ_{c, di, dj} x_padded[n, c, i·s + di, j·s + dj] ·
    #   weight[o, c, di, dj] + bias[o], shape (batch, out_channels, oh, ow), computed as one matrix
    #   product of the rows with the kernels; keep the rows as ctx.rows for backward.
    #   (stuck? make hint TASK=8.1)
    raise NotImplementedError("Task 8.1: Convolution forward (nn/conv.py: im2col) — im2col: images x (batch, c, h, w) → rows (oh·ow·batch, c·kh·kw), one row per output position (output row, then column, then image) holding the padded window the kernel sees there. forward: out[n, o, i, j] = Σ_{c, di, dj} x_padded[n, c, i·s + di, j·s + dj] · weight[o, c, di, dj] + bias[o], shape (batch, out_channels, oh, ow), computed as one matrix product of the rows with the kernels; keep the rows as ctx.rows for backward. Stuck? make hint TASK=8.1. Check with: make check")


def col2im(grad_rows: np.ndarray, image_shape, kernel_size, stride, padding) -> np.ndarray:
    """The backward of ``im2col``: gradients of the rows (oh · ow · batch, channels · kh · kw) → the
    gradient of the images, ``image_shape`` (batch, channels, h, w), overlapping windows summed."""
    # TODO Task 8.2: backward: from g = ∂L/∂out (batch, out_channels, oh, ow) return ∂L/∂x,
    #   ∂L/∂weight and ∂L/∂bias (None where ctx.needs_input_grad says nobody needs it): the
    #   derivatives of out = W · rowsᵀ + bias, as in Linear, with G = g laid out as W · rowsᵀ,
    #   (out_channels, oh·ow·batch), then col2im. Read only ctx.rows, ctx.weight, ctx.x_shape,
    #   ctx.stride and ctx.padding (the output's shape is grad.shape). col2im: the gradient of the
    #   rows (oh·ow·batch, c·kh·kw) → the gradient of the images (batch, c, h, w): every window's
    #   gradient added back onto the pixels it was cut from, the padding dropped.
    #   (stuck? make hint TASK=8.2)
    raise NotImplementedError("Task 8.2: Convolution backward (nn/conv.py: col2im) — backward: from g = ∂L/∂out (batch, out_channels, oh, ow) return ∂L/∂x, ∂L/∂weight and ∂L/∂bias (None where ctx.needs_input_grad says nobody needs it): the derivatives of out = W · rowsᵀ + bias, as in Linear, with G = g laid out as W · rowsᵀ, (out_channels, oh·ow·batch), then col2im. Read only ctx.rows, ctx.weight, ctx.x_shape, ctx.stride and ctx.padding (the output's shape is grad.shape). col2im: the gradient of the rows (oh·ow·batch, c·kh·kw) → the gradient of the images (batch, c, h, w): every window's gradient added back onto the pixels it was cut from, the padding dropped. Stuck? make hint TASK=8.2. Check with: make check")


def output_size(image_size: tuple[int, int], kernel_size, stride) -> tuple[int, int]:
    """How many windows fit along height and width: (size − kernel) // stride + 1 each."""
    return tuple((size - kernel) // step + 1 for size, kernel, step in zip(image_size, kernel_size, stride))


class Convolution(Function):
    """out[n, o, i, j] = Σ_{c, di, dj} x_padded[n, c, i·s + di, j·s + dj] · weight[o, c, di, dj] + bias[o].

    With rows = im2col(x) (oh·ow·batch, c·kh·kw) and W = weight as a matrix (out_channels, c·kh·kw)
    it is one product, W · rowsᵀ + bias (out_channels, oh·ow·batch): one column per output position,
    in the rows' order. So the derivatives are Linear's, with G = dL/dout laid out the same way,
    (out_channels, oh·ow·batch):

        dL/dW = G · rows,   dL/dbias = G summed over its columns,   dL/drows = Gᵀ · W,   dL/dx = col2im(dL/drows)

    (col2im adds each row's gradient back onto the pixels of its window).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride=(1, 1), padding=(0, 0)):
        """x (batch, c, h, w), weight (out_channels, c, kh, kw), bias (out_channels,) → (batch, out_channels, oh, ow).

        Saves on ctx what backward needs: ``ctx.rows`` = im2col(x) (set it below), and
        the weight, the input's shape, stride and padding (saved for you). Backward reads only these
        (task 8.2's tests give it just these; the output's shape is grad.shape).
        """
        check_convolution(x, weight, bias, stride, padding)
        ctx.weight, ctx.x_shape, ctx.stride, ctx.padding = weight, x.shape, stride, padding
        batch, out_channels, kernel_size = x.shape[0], weight.shape[0], weight.shape[2:]
        out_h, out_w = output_size((x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]), kernel_size, stride)
        # TODO Task 8.1: im2col: images x (batch, c, h, w) → rows (oh·ow·batch, c·kh·kw), one row
        #   per output position (output row, then column, then image) holding the padded window the
        #   kernel sees there. forward: out[n, o, i, j] = Σ_{c, di, dj} x_padded[n, c, i·s + di, j·s
        #   + dj] · weight[o, c, di, dj] + bias[o], shape (batch, out_channels, oh, ow), computed as
        #   one matrix product of the rows with the kernels; keep the rows as ctx.rows for backward.
        #   (stuck? make hint TASK=8.1)
        raise NotImplementedError("Task 8.1: Convolution forward (nn/conv.py: Convolution.forward) — im2col: images x (batch, c, h, w) → rows (oh·ow·batch, c·kh·kw), one row per output position (output row, then column, then image) holding the padded window the kernel sees there. forward: out[n, o, i, j] = Σ_{c, di, dj} x_padded[n, c, i·s + di, j·s + dj] · weight[o, c, di, dj] + bias[o], shape (batch, out_channels, oh, ow), computed as one matrix product of the rows with the kernels; keep the rows as ctx.rows for backward. Stuck? make hint TASK=8.1. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        """grad (batch, out_channels, oh, ow) → the gradients of x, weight and bias (None where not needed)."""
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad
        weight = ctx.weight
        # TODO Task 8.2: backward: from g = ∂L/∂out (batch, out_channels, oh, ow) return ∂L/∂x,
        #   ∂L/∂weight and ∂L/∂bias (None where ctx.needs_input_grad says nobody needs it): the
        #   derivatives of out = W · rowsᵀ + bias, as in Linear, with G = g laid out as W · rowsᵀ,
        #   (out_channels, oh·ow·batch), then col2im. Read only ctx.rows, ctx.weight, ctx.x_shape,
        #   ctx.stride and ctx.padding (the output's shape is grad.shape). col2im: the gradient of
        #   the rows (oh·ow·batch, c·kh·kw) → the gradient of the images (batch, c, h, w): every
        #   window's gradient added back onto the pixels it was cut from, the padding dropped.
        #   (stuck? make hint TASK=8.2)
        raise NotImplementedError("Task 8.2: Convolution backward (nn/conv.py: Convolution.backward) — backward: from g = ∂L/∂out (batch, out_channels, oh, ow) return ∂L/∂x, ∂L/∂weight and ∂L/∂bias (None where ctx.needs_input_grad says nobody needs it): the derivatives of out = W · rowsᵀ + bias, as in Linear, with G = g laid out as W · rowsᵀ, (out_channels, oh·ow·batch), then col2im. Read only ctx.rows, ctx.weight, ctx.x_shape, ctx.stride and ctx.padding (the output's shape is grad.shape). col2im: the gradient of the rows (oh·ow·batch, c·kh·kw) → the gradient of the images (batch, c, h, w): every window's gradient added back onto the pixels it was cut from, the padding dropped. Stuck? make hint TASK=8.2. Check with: make check")


def image_hint(x) -> str:
    """How to turn MNIST as it comes (rows of 784 pixels, or 28 × 28 images) into (batch, channels, h, w)."""
    if x.ndim == 2:
        return " — MNIST rows of 784 pixels become images with x.reshape(-1, 1, 28, 28)"
    if x.ndim == 3:
        return f" — images of one channel get their channel axis with x.reshape(-1, 1, {x.shape[1]}, {x.shape[2]})"
    return ""


def check_convolution(x, weight, bias, stride, padding) -> None:
    """Clear errors for the usual mistakes: flat images, a wrong channel count, a kernel that does not fit."""
    if x.ndim != 4:
        raise ValueError(f"Conv2d expects input of shape (batch, channels, height, width), got shape {x.shape}"
                         f"{image_hint(x)}")
    out_channels, in_channels, kernel_h, kernel_w = weight.shape
    if x.shape[1] != in_channels:
        hint = (" — are the channels last, as in (batch, height, width, channels)? "
                "x.transpose(0, 3, 1, 2) puts them at axis 1" if x.shape[3] == in_channels else "")
        raise ValueError(
            f"Conv2d expects {in_channels} input channel(s) (input shape (batch, {in_channels}, height, width)), "
            f"got shape {x.shape} with {x.shape[1]} channel(s){hint}"
        )
    if bias.shape != (out_channels,):
        raise ValueError(f"Conv2d: the bias must have shape ({out_channels},), one per output channel, got {bias.shape}")
    height, width = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    if kernel_h > height or kernel_w > width:
        raise ValueError(
            f"Conv2d: the kernel ({kernel_h}×{kernel_w}) is larger than the input ({x.shape[2]}×{x.shape[3]}, "
            f"{height}×{width} with padding={padding}): use a smaller kernel, more padding, or a larger image"
        )


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0) -> Tensor:
    """The convolution of images x (batch, in_channels, h, w) with weight (out_channels, in_channels, kh, kw)."""
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=weight.dtype)
    return Convolution.apply(x, weight, bias, stride=pair(stride, "stride"),
                             padding=pair(padding, "padding", minimum=0))


class Conv2d(Module):
    """A 2-D convolution layer: out = conv2d(x, weight) + bias, for x of shape (batch, in_channels, h, w).

    ``weight``: (out_channels, in_channels, kh, kw), initialized by ``init`` ("he", the default, for
    ReLU networks, or "xavier") as the Linear layer it is for every window: fan_in = in_channels·kh·kw
    inputs, out_channels outputs. ``bias``: (out_channels,), zeros, or None with ``bias=False``.
    ``kernel_size``, ``stride``, ``padding``: an integer or a pair (height, width).
    Output: (batch, out_channels, (h + 2·padding − kh) // stride + 1, (w + 2·padding − kw) // stride + 1).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, bias: bool = True,
                 init: str = "he", rng: np.random.Generator | int | None = None):
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Conv2d: {name} must be a positive integer, got {value!r}")
        if init not in INITIALIZERS:
            raise ValueError(f"Conv2d: init must be one of {sorted(INITIALIZERS)}, got {init!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride = pair(kernel_size, "Conv2d: kernel_size"), pair(stride, "Conv2d: stride")
        self.padding = pair(padding, "Conv2d: padding", minimum=0)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        matrix = INITIALIZERS[init](fan_in, self.out_channels, np.random.default_rng(rng))  # (fan_in, out)
        weight = matrix.T.reshape(self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Tensor(np.asarray(weight, dtype=np.float32), requires_grad=True)
        self.bias = Tensor(np.zeros(self.out_channels, np.float32), requires_grad=True) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.bias is not None}")

"""Convolution and pooling (nn/conv.py, nn/pool.py): tasks 8.1–8.3 and the reference.

Task tests call the functions under test directly on ndarrays and compare them with
the definitions written as plain loops (below), never through Tensor.backward.
Convolution.backward's tests build ``ctx`` themselves, as Convolution.forward's
docstring says it is filled, so task 8.2 does not wait for task 8.1.
The other tests (reference only) gradcheck through Tensor.backward in float64 on
generated shapes, check the layers' errors, and agree with PyTorch when it is installed.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import IMPL, IMPL_ROOT, load_tools_module
from helpers import (in_float64, kept_on_the_class, naming, numerical_grads, on_the_class_advice, raising_frame,
                     run_function, show)
from hypothesis import given, settings
from hypothesis import strategies as st

import act
import loss
import nn
from nn import conv, pool

reference_only = pytest.mark.skipif(IMPL != "solutions", reason="tests the reference (KIT_IMPL=solutions)")
SETTINGS = settings(max_examples=30, deadline=None)


# --- the definitions, as loops: the tests' own oracle -----------------------------------------
def padded(x, padding):
    return np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))


def output_shape(x_shape, kernel, stride, padding):
    return tuple((size + 2 * p - k) // s + 1 for size, k, s, p in zip(x_shape[2:], kernel, stride, padding))


def im2col_by_loops(x, kernel, stride, padding):
    """One row per output position (i, j, n), in that order (image innermost): the window's values,
    channel by channel."""
    xp = padded(x, padding)
    out_h, out_w = output_shape(x.shape, kernel, stride, padding)
    return np.array([xp[n, :, i * stride[0]: i * stride[0] + kernel[0], j * stride[1]: j * stride[1] + kernel[1]].ravel()
                     for i in range(out_h) for j in range(out_w) for n in range(x.shape[0])])


def conv_by_loops(x, weight, bias, stride=(1, 1), padding=(0, 0)):
    """out[n, o, i, j] = Σ window(n, i, j) · weight[o] + bias[o]."""
    xp = padded(x, padding)
    kernel = weight.shape[2:]
    out_h, out_w = output_shape(x.shape, kernel, stride, padding)
    out = np.zeros((x.shape[0], weight.shape[0], out_h, out_w))
    for n, o, i, j in np.ndindex(out.shape):
        window = xp[n, :, i * stride[0]: i * stride[0] + kernel[0], j * stride[1]: j * stride[1] + kernel[1]]
        out[n, o, i, j] = np.sum(window * weight[o]) + bias[o]
    return out


def col2im_by_loops(rows, x_shape, kernel, stride, padding):
    """Each row element added back onto the pixel of the window it was copied from (padding cut off)."""
    out_h, out_w = output_shape(x_shape, kernel, stride, padding)
    n_, c_, h_, w_ = x_shape
    grad = np.zeros((n_, c_, h_ + 2 * padding[0], w_ + 2 * padding[1]))
    for row, (i, j, n) in zip(rows, np.ndindex(out_h, out_w, n_)):
        grad[n, :, i * stride[0]: i * stride[0] + kernel[0], j * stride[1]: j * stride[1] + kernel[1]] += \
            row.reshape(c_, *kernel)
    return grad[:, :, padding[0]: padding[0] + h_, padding[1]: padding[1] + w_]


def max_pool_by_loops(x, kernel, stride):
    out_h, out_w = output_shape(x.shape, kernel, stride, (0, 0))
    out = np.zeros((*x.shape[:2], out_h, out_w))
    for n, c, i, j in np.ndindex(out.shape):
        out[n, c, i, j] = x[n, c, i * stride[0]: i * stride[0] + kernel[0], j * stride[1]: j * stride[1] + kernel[1]].max()
    return out


def assert_close(what: str, got, expected, setting: str, hint: str = "", rtol=1e-6, atol=1e-8):
    got = np.asarray(got)
    assert got.shape == np.shape(expected), (
        f"{what} ({setting}) should have shape {np.shape(expected)}, got shape {got.shape}{hint}")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        index = tuple(int(i) for i in np.argwhere(~np.isclose(got, expected, rtol=rtol, atol=atol))[0])
        raise AssertionError(  # the advice before the arrays: `make check` shows a message's first lines
            f"{what} ({setting}) is wrong at index {index}: expected {expected[index]:.6g}, got {got[index]:.6g}."
            f"{hint}\nexpected = {show(expected)}\ngot      = {show(got)}")


def assert_keeps_float32(function: str, inputs: str, result: str, got) -> None:
    dtype = np.asarray(got).dtype
    assert dtype == np.float32, (f"{function}: float32 {inputs} should give float32 for {result}, got {dtype} "
                                 "(a new NumPy array is float64 unless it is given a dtype)")


def test_a_wrong_large_array_keeps_its_advice_in_what_make_check_shows():
    expected = np.arange(12 * 27.0).reshape(12, 27)
    with pytest.raises(AssertionError) as failure:
        assert_close("im2col", expected[::-1], expected, "a 3-channel case", "\nTHE ADVICE")
    shown = load_tools_module("check").trimmed(str(failure.value))
    assert "THE ADVICE" in shown and "got      = " in shown, shown


RNG = np.random.default_rng(0)
#: (x shape, weight shape, stride, padding): one channel, several, stride, padding, non-square
CASES = [
    ((1, 1, 3, 3), (1, 1, 2, 2), (1, 1), (0, 0)),
    ((2, 3, 4, 5), (2, 3, 3, 3), (1, 1), (0, 0)),
    ((2, 2, 5, 5), (3, 2, 3, 3), (2, 2), (1, 1)),
    ((1, 2, 4, 6), (2, 2, 2, 3), (1, 2), (1, 0)),
]
CASE_IDS = ["1ch-2x2", "3ch-3x3", "stride2-pad1", "non-square"]


def conv_case(x_shape, w_shape):
    return RNG.normal(size=x_shape), RNG.normal(size=w_shape), RNG.normal(size=w_shape[0])


def describe(x_shape, w_shape, stride, padding):
    return f"x of shape {x_shape}, weight {w_shape}, stride={stride}, padding={padding}"


# --- Task 8.1: im2col and the forward -------------------------------------------------------------
ROW_ORDER_HINT = (
    "im2col has the right windows, in another order. Its rows go through the output positions row by row "
    "and, at each position, through the images of the batch: row 0 is image 0's window at output (0, 0), "
    "row 1 image 1's window at (0, 0), and so on (the batch innermost: the memory order of nn/conv.py, see "
    "its docstring).")


def same_rows_in_another_order(got, expected) -> bool:
    got = np.asarray(got)
    if got.shape != expected.shape or np.allclose(got, expected):
        return False
    return np.allclose(*(rows[np.lexsort(rows.T[::-1])] for rows in (got, expected)))


def rows_mistake(got, x, kernel, stride, padding) -> str | None:
    """What is wrong with im2col's rows ``got`` when it is a usual slip: their order, the padding left
    out, or each window read with the channels innermost. None when it is none of these."""
    got, expected = np.asarray(got), im2col_by_loops(x, kernel, stride, padding)
    if same_rows_in_another_order(got, expected):
        return ROW_ORDER_HINT
    if padding != (0, 0) and got.shape == output_rows_shape(x, kernel, stride, (0, 0)) != expected.shape:
        return (f"these are the windows of x without its padding. padding={padding} puts {count(padding[0], 'row')} "
                f"of zeros above and below each image and {count(padding[1], 'column')} left and right; the windows "
                "are cut from that padded image.")
    if stride != (1, 1) and got.shape == output_rows_shape(x, kernel, (1, 1), padding) != expected.shape:
        return (f"these are the windows at every position. With stride={stride} the windows start at rows 0, "
                f"{stride[0]}, {2 * stride[0]}, … and columns 0, {stride[1]}, {2 * stride[1]}, … of the padded image.")
    channels, (kernel_h, kernel_w) = x.shape[1], kernel
    channels_last = expected.reshape(-1, channels, kernel_h, kernel_w).transpose(0, 2, 3, 1).reshape(expected.shape)
    if channels > 1 and got.shape == expected.shape and np.allclose(got, channels_last):
        return ("each row has the right numbers in another order: pixel by pixel with the channels innermost. "
                "A row holds the window channel by channel: channel 0's window read row by row, then channel "
                "1's, and so on (the order of the weight's axes (in_channels, kh, kw)).")
    return None


def count(number: int, thing: str) -> str:
    return f"{number} {thing}" + ("" if number == 1 else "s")


def forward_mistake(out, x, weight, bias, stride, padding) -> str | None:
    """What is wrong with Convolution.forward's output when it is a usual slip: the bias left out, or the
    right numbers laid out in another order. None when it is none of these."""
    out, expected = np.asarray(out), conv_by_loops(x, weight, bias, stride, padding)
    if out.shape != expected.shape or np.allclose(out, expected):
        return None
    if np.allclose(out, conv_by_loops(x, weight, np.zeros_like(bias), stride, padding)):
        return f"the bias is missing: each output channel o gets bias[o] = {show(bias)}[o] added, at every position."
    if np.allclose(np.sort(out, axis=None), np.sort(expected, axis=None)):
        return ("the right numbers in another order. The product W · rowsᵀ has shape (out_channels, oh·ow·batch), "
                "its columns in the order of im2col's rows (output row, output column, then image); the output is "
                "(batch, out_channels, oh, ow): reshape by that order first, then move the axes.")
    return None


def output_rows_shape(x, kernel, stride, padding) -> tuple[int, int]:
    out_h, out_w = output_shape(x.shape, kernel, stride, padding)
    return out_h * out_w * x.shape[0], x.shape[1] * kernel[0] * kernel[1]


@pytest.mark.task8_1
def test_im2col_small_example():
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    with naming("im2col(x of shape (1, 1, 3, 4), kernel_size=(2, 2), stride=(1, 1), padding=(0, 0))"):
        rows = conv.im2col(x, (2, 2), (1, 1), (0, 0))
    expected = np.array([[0, 1, 4, 5], [1, 2, 5, 6], [2, 3, 6, 7], [4, 5, 8, 9], [5, 6, 9, 10], [6, 7, 10, 11]],
                        dtype=float)
    assert_close("im2col(x, kernel_size=(2, 2), stride=(1, 1), padding=(0, 0))", rows, expected,
                 f"x = {show(x[0, 0])}",
                 "\nEach row is one 2×2 window read row by row: the top-left window [[0, 1], [4, 5]] gives [0, 1, 4, 5]; "
                 "rows go through the output positions row by row (2 rows of 3 positions here).")


@pytest.mark.task8_1
@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CASES, ids=CASE_IDS)
def test_im2col_matches_the_windows(x_shape, w_shape, stride, padding):
    x = RNG.normal(size=x_shape)
    with naming(f"im2col, {describe(x_shape, w_shape, stride, padding)},"):
        rows = conv.im2col(x, w_shape[2:], stride, padding)
    expected = im2col_by_loops(x, w_shape[2:], stride, padding)
    mistake = rows_mistake(rows, x, w_shape[2:], stride, padding)
    assert mistake is None, f"im2col, {describe(x_shape, w_shape, stride, padding)}: {mistake}"
    assert_close("im2col", rows, expected,
                 describe(x_shape, w_shape, stride, padding),
                 "\nrows has shape (out_h·out_w·batch, channels·kh·kw), one row per output position in the order "
                 "output row, output column, then image; a row holds the window of the padded image, channel by "
                 "channel, each channel's window read row by row.")


@pytest.mark.task8_1
@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CASES, ids=CASE_IDS)
def test_convolution_forward_matches_the_definition(x_shape, w_shape, stride, padding):
    x, w, b = conv_case(x_shape, w_shape)
    ctx = SimpleNamespace(needs_input_grad=(True, True, True))
    with naming(f"Convolution.forward, {describe(x_shape, w_shape, stride, padding)},"):
        out = nn.conv.Convolution.checked_forward(ctx, x, w, b, stride=stride, padding=padding)
    mistake = forward_mistake(out, x, w, b, stride, padding)
    assert mistake is None, f"Convolution.forward, {describe(x_shape, w_shape, stride, padding)}: {mistake}"
    assert_close("Convolution.forward", out, conv_by_loops(x, w, b, stride, padding),
                 describe(x_shape, w_shape, stride, padding),
                 "\nout[n, o, i, j] = Σ (window at (i, j) of image n) · weight[o] + bias[o]: every row of im2col "
                 "times every filter (the weight as a matrix of shape (out_channels, channels·kh·kw)), plus that "
                 "filter's bias, laid out as (batch, out_channels, out_h, out_w).")
    rows = getattr(ctx, "rows", None)
    kept = kept_on_the_class(nn.conv.Convolution)
    assert rows is not None, on_the_class_advice(nn.conv.Convolution, kept[0]) if kept else \
        "Convolution.forward must save im2col(x) as ctx.rows: backward needs it"
    mistake = rows_mistake(rows, x, w.shape[2:], stride, padding)
    assert mistake is None, f"ctx.rows, {describe(x_shape, w_shape, stride, padding)}: {mistake}"
    assert_close("ctx.rows (saved by Convolution.forward)", rows, im2col_by_loops(x, w.shape[2:], stride, padding),
                 describe(x_shape, w_shape, stride, padding), "\nctx.rows must be im2col of the input x")


@pytest.mark.task8_1
def test_convolution_forward_keeps_float32():
    x, w, b = (a.astype(np.float32) for a in conv_case((2, 1, 5, 5), (4, 1, 3, 3)))
    ctx = SimpleNamespace(needs_input_grad=(True,) * 3)
    out = nn.conv.Convolution.checked_forward(ctx, x, w, b, stride=(1, 1), padding=(1, 1))
    # the rows first: float64 rows make a float64 output too, and the cause is in im2col, unless im2col on its own
    # keeps float32 and forward converted the images or the rows
    rows = getattr(ctx, "rows", out)
    converted_by_forward = np.asarray(rows).dtype != np.float32 \
        and conv.im2col(x, (3, 3), (1, 1), (1, 1)).dtype == np.float32
    assert_keeps_float32("Convolution.forward" if converted_by_forward else "im2col", "images",
                         "the rows (ctx.rows, which backward multiplies)"
                         + (": im2col alone keeps float32, so the conversion is in forward" if converted_by_forward else ""),
                         rows)
    assert_keeps_float32("Convolution.forward", "images and weights", "the output", out)


# --- Task 8.2: col2im and the backward --------------------------------------------------------------
@pytest.mark.task8_2
@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CASES, ids=CASE_IDS)
def test_col2im_adds_every_row_back_onto_its_window(x_shape, w_shape, stride, padding):
    n_rows = x_shape[0] * np.prod(output_shape(x_shape, w_shape[2:], stride, padding))
    rows = RNG.normal(size=(n_rows, x_shape[1] * w_shape[2] * w_shape[3]))
    advice = ("\nThe rows come in im2col's order (output row, output column, then image). col2im is im2col "
              "backwards: every element of a row is added onto the pixel of the padded image it was copied from "
              "(a pixel seen by several windows receives the sum), and the padding is cut off at the end.")
    setting = describe(x_shape, w_shape, stride, padding)
    try:
        got = conv.col2im(rows, x_shape, w_shape[2:], stride, padding)
    except (ValueError, IndexError) as error:  # NumPy's shape errors: add what col2im should do
        raise AssertionError(f"col2im ({setting}) failed with {type(error).__name__}: {error}{advice}") from error
    assert_close("col2im", got, col2im_by_loops(rows, x_shape, w_shape[2:], stride, padding), setting, advice)


def test_a_shape_error_inside_col2im_comes_with_the_advice(monkeypatch):
    def unpadded(grad_rows, image_shape, kernel_size, stride, padding):
        raise ValueError("operands could not be broadcast together with shapes (2,2,3,2) (2,2,3,3)")

    monkeypatch.setattr(conv, "col2im", unpadded)
    with pytest.raises(AssertionError, match=r"col2im .* failed with ValueError: operands could not be broadcast"
                                             r"(.|\n)*the padded image") as failure:
        test_col2im_adds_every_row_back_onto_its_window(*CASES[2])
    assert isinstance(failure.value.__cause__, ValueError), "the participant's line stays in the chain"


G_AND_W = ("with G the gradient laid out as W · rowsᵀ, (out_channels, out_h·out_w·batch), its columns in the order "
           "of im2col's rows, and W the weight as a matrix (out_channels, channels·kh·kw)")


def convolution_ctx(x, w, stride, padding, needs=(True, True, True)):
    """ctx as Convolution.forward leaves it (see its docstring)."""
    return SimpleNamespace(needs_input_grad=needs, rows=im2col_by_loops(x, w.shape[2:], stride, padding), weight=w,
                           x_shape=x.shape, stride=stride, padding=padding)


def convolution_backward(ctx, grad_out, inputs):
    """Convolution.backward as Tensor.backward calls it: on a read-only grad, its results checked."""
    convolution = nn.conv.Convolution
    try:
        return convolution.checked_backward(ctx, grad_out, inputs)
    except (AttributeError, ValueError) as error:  # a missing attribute, or NumPy's shape error
        missing = error.__cause__ if isinstance(error.__cause__, AttributeError) else error
        if isinstance(missing, AttributeError) and getattr(missing, "obj", None) is convolution:
            raise AssertionError(on_the_class_advice(convolution, missing.name)) from error
        by_the_framework = getattr(raising_frame(error), "name", "") == "checked_backward"  # 'returned None', ...
        if isinstance(missing, ValueError) and kept_on_the_class(convolution) and not by_the_framework:
            raise AssertionError(on_the_class_advice(convolution, kept_on_the_class(convolution)[0])) from error
        if not (isinstance(missing, AttributeError) and getattr(missing, "obj", None) is ctx):
            raise
        raise AssertionError(
            f"Convolution.backward reads ctx.{missing.name}, which these tests do not give it: they call backward "
            f"without your forward (so that task 8.2 is checked on its own), with ctx as Convolution.forward's "
            f"docstring lists it: ctx.rows, ctx.weight, ctx.x_shape, ctx.stride, ctx.padding and "
            f"ctx.needs_input_grad. Compute anything else from these and grad (the output's shape is grad.shape)."
        ) from error


@pytest.mark.task8_2
@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CASES, ids=CASE_IDS)
def test_convolution_backward_matches_central_differences(x_shape, w_shape, stride, padding):
    x, w, b = conv_case(x_shape, w_shape)
    grad_out = RNG.normal(size=conv_by_loops(x, w, b, stride, padding).shape)
    with naming(f"Convolution.backward, {describe(x_shape, w_shape, stride, padding)},"):
        grads = convolution_backward(convolution_ctx(x, w, stride, padding), grad_out, (x, w, b))
    expected = numerical_grads(lambda *a: conv_by_loops(*a, stride, padding), [x, w, b], grad_out)
    advice = {
        "x": f"\ndL/dx = col2im(Gᵀ · W), {G_AND_W}",
        "weight": f"\ndL/dweight = G · rows, (out_channels, channels·kh·kw) in the weight's shape, {G_AND_W}",
        "bias": "\ndL/dbias = G summed over its columns (every output position adds the bias once)",
    }
    for name, got, want in zip(("x", "weight", "bias"), grads, expected):
        assert_close(f"Convolution.backward: the gradient of {name}", got, want,
                     describe(x_shape, w_shape, stride, padding), advice[name], rtol=1e-5, atol=1e-7)


@pytest.mark.task8_2
def test_convolution_backward_when_the_images_need_no_gradient():
    """The first layer of a CNN: its input images need no gradient (ctx.needs_input_grad[0] is False)."""
    x_shape, w_shape, stride, padding = CASES[2]
    x, w, b = conv_case(x_shape, w_shape)
    grad_out = RNG.normal(size=conv_by_loops(x, w, b, stride, padding).shape)
    ctx = convolution_ctx(x, w, stride, padding, needs=(False, True, True))
    grad_x, grad_w, grad_b = convolution_backward(ctx, grad_out, (x, w, b))
    _, want_w, want_b = numerical_grads(lambda *a: conv_by_loops(*a, stride, padding), [x, w, b], grad_out)
    setting = describe(x_shape, w_shape, stride, padding) + ", ctx.needs_input_grad = (False, True, True)"
    assert grad_x is None, (
        f"Convolution.backward computed a gradient for the images although nothing needs it ({setting}): give None "
        "for x when ctx.needs_input_grad[0] is False. The first layer's images never need one, and the product "
        "and col2im for it would take about half of that layer's backward in every training step.")
    assert_close("Convolution.backward: the gradient of weight", grad_w, want_w, setting, rtol=1e-5, atol=1e-7)
    assert_close("Convolution.backward: the gradient of bias", grad_b, want_b, setting, rtol=1e-5, atol=1e-7)


@pytest.mark.task8_2
def test_convolution_backward_keeps_float32():
    x, w, b = (a.astype(np.float32) for a in conv_case((2, 2, 5, 5), (3, 2, 3, 3)))
    grad_out = RNG.normal(size=(2, 3, 5, 5)).astype(np.float32)
    grads = convolution_backward(convolution_ctx(x, w, (1, 1), (1, 1)), grad_out, (x, w, b))
    for name, grad in zip(("x", "weight", "bias"), grads):
        assert_keeps_float32("Convolution.backward", "images, weights and grad", f"the gradient of {name}", grad)


@reference_only
def test_a_backward_that_reads_what_its_own_forward_saved_is_told_what_the_tests_give_it(monkeypatch):
    """The tests build ctx without running the participant's forward: a backward that reads anything more is
    right in the framework, and the message says so and what to read instead, not 'set it in forward'."""
    original = nn.conv.Convolution.backward

    def reading_the_output_shape(ctx, grad):
        assert ctx.out_shape == grad.shape  # saved by its own forward
        return original(ctx, grad)

    monkeypatch.setattr(nn.conv.Convolution, "backward", staticmethod(reading_the_output_shape))
    with pytest.raises(AssertionError) as failure:
        test_convolution_backward_when_the_images_need_no_gradient()
    message = str(failure.value)
    assert "ctx.out_shape" in message and "grad.shape" in message and "set ctx.out_shape in forward" not in message, \
        message
    assert "ctx.rows, ctx.weight, ctx.x_shape, ctx.stride, ctx.padding" in message, message


def test_arrays_kept_on_the_class_are_found_in_a_container_too(monkeypatch):
    """`Convolution.saved = {'rows': …}` lost the ctx advice once only bare arrays counted; a string does not count."""
    monkeypatch.setattr(nn.conv.Convolution, "saved", {"rows": np.zeros(2)}, raising=False)
    monkeypatch.setattr(nn.conv.Convolution, "layout", "NCHW", raising=False)
    assert kept_on_the_class(nn.conv.Convolution) == ["saved"]


def test_the_frameworks_own_message_stays_when_the_class_holds_an_array(monkeypatch):
    """A constant array on the class (KERNEL_AXES) turned 'backward returned None' into the ctx advice."""
    monkeypatch.setattr(nn.conv.Convolution, "KERNEL_AXES", np.array([2, 3]), raising=False)
    monkeypatch.setattr(nn.conv.Convolution, "backward", staticmethod(lambda ctx, grad: None))
    x_shape, w_shape, stride, padding = CASES[2]
    x, w, b = conv_case(x_shape, w_shape)
    grad_out = RNG.normal(size=conv_by_loops(x, w, b, stride, padding).shape)
    with pytest.raises(Exception) as failure:
        convolution_backward(convolution_ctx(x, w, stride, padding), grad_out, (x, w, b))
    assert "return" in str(failure.value) and "kept on the class" not in str(failure.value), str(failure.value)


@reference_only
def test_gradients_in_another_order_are_named_by_their_inputs(monkeypatch):
    original = nn.conv.Convolution.backward
    monkeypatch.setattr(nn.conv.Convolution, "backward",
                        staticmethod(lambda ctx, grad: tuple(original(ctx, grad)[i] for i in (1, 0, 2))))
    x_shape, w_shape, stride, padding = CASES[2]
    x, w, b = conv_case(x_shape, w_shape)
    grad_out = RNG.normal(size=conv_by_loops(x, w, b, stride, padding).shape)
    with pytest.raises(ValueError, match=r"input 0 \(x\), which has shape .*forward's order: x, weight, bias"):
        convolution_backward(convolution_ctx(x, w, stride, padding), grad_out, (x, w, b))


@reference_only
@pytest.mark.parametrize(("owner", "name", "test"), [
    (nn.conv.Convolution, "forward", lambda: test_convolution_forward_keeps_float32()),
    (nn.conv.Convolution, "backward", lambda: test_convolution_backward_keeps_float32()),
    (nn.pool.MaxPooling, "backward", lambda: test_max_pool_backward_keeps_float32()),
], ids=["8.1", "8.2", "8.3"])
def test_a_float64_result_is_named_with_its_function_and_the_usual_cause(monkeypatch, owner, name, test):
    monkeypatch.setattr(owner, name, in_float64(getattr(owner, name)))
    with pytest.raises(AssertionError, match=rf"{owner.__name__}\.{name}: float32 .* got float64 \(a new NumPy "
                                             r"array is float64 unless it is given a dtype\)"):
        test()


@reference_only
def test_float64_rows_are_wrong_in_task_8_1_even_when_the_output_is_cast_back(monkeypatch):
    """Rows padded into np.zeros(shape) are float64; an output cast back hides it until 8.2's gradients."""
    forward = nn.conv.Convolution.forward
    monkeypatch.setattr(nn.conv, "im2col", in_float64(nn.conv.im2col))
    monkeypatch.setattr(nn.conv.Convolution, "forward", staticmethod(
        lambda ctx, x, *rest, **options: forward(ctx, x, *rest, **options).astype(x.dtype)))
    with pytest.raises(AssertionError, match=r"im2col: float32 images should give float32 for the rows"):
        test_convolution_forward_keeps_float32()


@reference_only
def test_float64_rows_are_blamed_on_im2col_not_on_the_forward_that_multiplies_them(monkeypatch):
    monkeypatch.setattr(nn.conv, "im2col", in_float64(nn.conv.im2col))
    with pytest.raises(AssertionError, match=r"^im2col: float32 images should give float32 for the rows"):
        test_convolution_forward_keeps_float32()


@reference_only
def test_rows_made_float64_by_forward_are_blamed_on_forward_not_on_im2col(monkeypatch):
    """forward converted the images (x.astype(np.float64)) before im2col, and the message blamed im2col."""
    forward = nn.conv.Convolution.forward
    monkeypatch.setattr(nn.conv.Convolution, "forward", staticmethod(
        lambda ctx, x, *rest, **options: forward(ctx, x.astype(np.float64), *rest, **options).astype(x.dtype)))
    with pytest.raises(AssertionError, match=r"^Convolution\.forward: float32 images should give float32 for the rows "
                                             r"\(ctx\.rows, which backward multiplies\): im2col alone keeps float32"):
        test_convolution_forward_keeps_float32()


def test_the_convolution_is_written_one_way_wherever_its_gradients_are():
    """Goal, hints, docstrings, notebook and these tests' advice all write the layer as W · rowsᵀ, and name
    the gradient's shape where they use it: one convention, not gᵀ · rows here and G · rows there."""
    tasks = load_tools_module("tasks").TASKS_BY_ID
    cells = {cell["id"]: "".join(cell["source"]) for cell in json.loads(
        (IMPL_ROOT / "notebooks" / "upgrade_to_cnn.ipynb").read_text(encoding="utf-8"))["cells"]}
    texts = {"task 8.1's goal": tasks["8.1"].goal, "task 8.2's goal": tasks["8.2"].goal,
             "task 8.2's second hint": tasks["8.2"].hints[1], "nn/conv.py's docstring": conv.__doc__,
             "Convolution's docstring": conv.Convolution.__doc__, "the notebook on im2col": cells["373522e7"],
             "the notebook on backward": cells["30e104af"], "the tests' advice": G_AND_W}
    for where, text in texts.items():
        assert not re.search(r"gᵀ|rows @ Wᵀ|x @ W\b", text), where
        if where != "task 8.1's goal":  # which product: the first hint's question
            assert "W · rowsᵀ" in text and re.search(r"\((out_channels|16) ?[×,]", text), where
    for where in ("task 8.2's second hint", "Convolution's docstring", "the notebook on backward"):
        assert "G · rows" in texts[where] and "Gᵀ · W" in texts[where], where


# --- Task 8.3: max pooling backward --------------------------------------------------------------------
def pool_backward(x, kernel, stride, grad_out):
    ctx = SimpleNamespace(needs_input_grad=(True,))
    pool.MaxPooling.checked_forward(ctx, x, kernel_size=kernel, stride=stride)
    try:
        return pool.MaxPooling.checked_backward(ctx, np.array(grad_out), (x,))[0]
    except (ValueError, IndexError) as error:  # NumPy's shape errors: add what the backward should do
        frame = raising_frame(error)
        if frame is not None and frame.name == "checked_backward":  # the framework's own message says it
            raise
        raise AssertionError(
            f"MaxPooling.backward (x of shape {x.shape}, kernel {kernel}, stride {stride}, so grad and each "
            f"window slab of ctx.winner have shape {np.shape(grad_out)}) failed with {type(error).__name__}: "
            f"{error}{POOL_HINT}") from error


POOL_HINT = ("\nEach output's gradient goes to the one element that won its window, and 0 to the others; an element "
             "that wins several (overlapping) windows receives the sum. ctx.winner, of shape (kh·kw, batch, c, "
             "out_h, out_w), is True at [p, n, c, i, j] where the p-th element of window (i, j), reading the window "
             "row by row, won it.")


@pytest.mark.task8_3
def test_max_pool_backward_small_example():
    x = np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 1.0], [0.0, 0.0, 7.0, 7.0], [9.0, 0.0, 7.0, 7.0]]]])
    grad = pool_backward(x, (2, 2), (2, 2), np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    expected = np.array([[[[0, 10, 0, 0], [0, 0, 20, 0], [0, 0, 40, 0], [30, 0, 0, 0]]]], dtype=float)
    assert_close("MaxPooling.backward", grad, expected, f"2×2 windows, stride 2, x = {show(x[0, 0])}, upstream "
                 "gradient [[10, 20], [30, 40]]", POOL_HINT + "\nA tie (the four 7s) gives the whole gradient to the "
                 "first of them in reading order, as PyTorch does.")


@pytest.mark.task8_3
def test_max_pool_backward_overlapping_windows_add_up():
    x = np.array([[[[0.0, 1.0, 0.0], [1.0, 9.0, 2.0], [0.0, 3.0, 0.0]]]])
    grad = pool_backward(x, (2, 2), (1, 1), np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    expected = np.array([[[[0, 0, 0], [0, 10, 0], [0, 0, 0]]]], dtype=float)
    assert_close("MaxPooling.backward", grad, expected, f"2×2 windows, stride 1, x = {show(x[0, 0])}", POOL_HINT +
                 "\nThe 9 wins all four windows, so it receives 1 + 2 + 3 + 4.")


@pytest.mark.task8_3
@pytest.mark.parametrize("shape, kernel, stride", [((2, 3, 4, 4), (2, 2), (2, 2)), ((1, 2, 5, 7), (3, 2), (1, 2)),
                                                   ((2, 1, 6, 5), (3, 3), (3, 3))])
def test_max_pool_backward_matches_central_differences(shape, kernel, stride):
    x = RNG.permutation(np.prod(shape)).reshape(shape) / 8.0  # distinct values: no ties within ε
    grad_out = RNG.normal(size=max_pool_by_loops(x, kernel, stride).shape)
    expected = numerical_grads(lambda a: max_pool_by_loops(a, kernel, stride), [x], grad_out)[0]
    setting = f"x of shape {shape}, kernel {kernel}, stride {stride}"
    with naming(f"MaxPooling.backward, {setting},"):
        got = pool_backward(x, kernel, stride, grad_out)
    assert_close("MaxPooling.backward", got, expected, setting, POOL_HINT)


@pytest.mark.task8_3
def test_max_pool_backward_keeps_float32():
    x = RNG.permutation(2 * 3 * 4 * 4).reshape(2, 3, 4, 4).astype(np.float32)
    grad = pool_backward(x, (2, 2), (2, 2), RNG.normal(size=(2, 3, 2, 2)).astype(np.float32))
    assert_keeps_float32("MaxPooling.backward", "images and grad", "the gradient", grad)


# --- the reference: gradchecks through Tensor.backward ------------------------------------------------
@st.composite
def convolution_settings(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    height = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 6))
    width = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 6))
    batch, channels, out_channels = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    return (batch, channels, height, width), (out_channels, channels, *kernel), stride, padding, seed


def leaf(array) -> nn.Tensor:
    return nn.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


@reference_only
@SETTINGS
@given(convolution_settings())
def test_conv2d_gradcheck_generated(setting):
    x_shape, w_shape, stride, padding, seed = setting
    rng = np.random.default_rng(seed)
    x, w, b = (leaf(rng.normal(size=shape)) for shape in (x_shape, w_shape, w_shape[:1]))
    out = nn.conv2d(x, w, b, stride, padding)
    np.testing.assert_allclose(out.data, conv_by_loops(x.data, w.data, b.data, stride, padding), rtol=1e-10, atol=1e-10)
    assert nn.gradcheck(lambda *t: nn.conv2d(*t, stride=stride, padding=padding), x, w, b)


@reference_only
@SETTINGS
@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 3), st.integers(0, 3), st.integers(0, 2**16))
def test_max_pool_gradcheck_generated(batch, channels, kh, kw, stride, extra_h, extra_w, seed):
    shape = (batch, channels, kh + extra_h, kw + extra_w)
    x = leaf(np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 8.0)  # no ties
    layer = nn.MaxPool2d((kh, kw), stride)
    np.testing.assert_array_equal(layer(x).data, max_pool_by_loops(x.data, (kh, kw), (stride, stride)))
    assert nn.gradcheck(layer, x)


@reference_only
def test_max_pool_ties_send_the_gradient_to_one_element():
    x = leaf(np.ones((1, 1, 4, 4)))
    nn.MaxPool2d(2)(x).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])


@reference_only
def test_conv2d_layer_shapes_init_and_dtype():
    layer = nn.Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2), rng=0)
    assert layer.weight.shape == (8, 3, 3, 5) and layer.bias.shape == (8,)
    assert layer.weight.dtype == np.float32 and np.all(layer.bias.data == 0)
    limit = np.sqrt(6 / (3 * 3 * 5))  # He: fan_in = in_channels · kh · kw
    assert np.abs(layer.weight.data).max() <= limit and np.abs(layer.weight.data).max() > 0.8 * limit
    out = layer(nn.Tensor(np.zeros((2, 3, 7, 9), np.float32)))
    assert out.shape == (2, 8, 4, 5) and out.dtype == np.float32
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert nn.Conv2d(1, 2, 3, bias=False).parameters()[0].shape == (2, 1, 3, 3)
    assert len(nn.Conv2d(1, 2, 3, bias=False).parameters()) == 1
    np.testing.assert_array_equal(nn.Conv2d(1, 4, 3, rng=5).weight.data, nn.Conv2d(1, 4, 3, rng=5).weight.data)
    assert repr(nn.Conv2d(1, 4, 3)) == "Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(0, 0), bias=True)"


@reference_only
def test_the_input_images_get_no_gradient_computed():
    calls = []
    original = conv.col2im

    def spy(*args):
        calls.append(args)
        return original(*args)

    conv.col2im = spy
    try:
        layer = nn.Conv2d(1, 2, 3, rng=0)
        layer(nn.Tensor(np.ones((1, 1, 4, 4)))).sum().backward()
    finally:
        conv.col2im = original
    assert not calls and layer.weight.grad is not None


# --- clear errors -------------------------------------------------------------------------------------
@reference_only
def test_conv2d_on_flat_mnist_rows_says_how_to_reshape():
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, channels, height, width\), got shape "
                                         r"\(64, 784\).*x\.reshape\(-1, 1, 28, 28\)"):
        nn.Conv2d(1, 8, 3)(nn.Tensor(np.zeros((64, 784), np.float32)))


@reference_only
@pytest.mark.parametrize("make_layer", [lambda: nn.Conv2d(1, 8, 3), lambda: nn.MaxPool2d(2)], ids=["Conv2d", "MaxPool2d"])
def test_images_without_a_channel_axis_get_one_in_the_message(make_layer):
    """MNIST as (N, 28, 28) images, as load_mnist(flatten=False) gives them. (The layers are made in the test:
    making a Conv2d while the file loads would need task 3.4, and the file would not load without it.)"""
    with pytest.raises(ValueError, match=r"got shape \(64, 28, 28\) — images of one channel get their channel axis "
                                         r"with x\.reshape\(-1, 1, 28, 28\)"):
        make_layer()(nn.Tensor(np.zeros((64, 28, 28), np.float32)))


@reference_only
def test_a_wrong_bias_gradient_gets_no_advice_about_broadcasting(monkeypatch):
    """sum_to undoes the broadcasting of an element-wise operation; a convolution's bias is added along axis 1."""
    def backward_without_the_bias_sum(ctx, grad):
        grad_x, grad_weight, _ = original(ctx, grad)
        return grad_x, grad_weight, grad.sum(axis=0)

    original = nn.conv.Convolution.backward
    monkeypatch.setattr(nn.conv.Convolution, "backward", staticmethod(backward_without_the_bias_sum))
    layer = nn.Conv2d(1, 2, 3)
    with pytest.raises(ValueError, match=r"Convolution\.backward returned a gradient of shape \(2, 2, 2\) for input 2") as error:
        layer(nn.Tensor(np.ones((1, 1, 4, 4), np.float32), requires_grad=True)).sum().backward()
    assert "sum_to" not in str(error.value), error.value


@reference_only
def test_conv2d_channel_mismatch():
    with pytest.raises(ValueError, match=r"expects 3 input channel\(s\).*got shape \(2, 1, 8, 8\) with 1 channel"):
        nn.Conv2d(3, 8, 3)(nn.Tensor(np.zeros((2, 1, 8, 8), np.float32)))


@reference_only
def test_conv2d_on_images_with_the_channels_last_says_how_to_move_them():
    """Images as PIL, matplotlib and TensorFlow keep them, (batch, height, width, channels)."""
    with pytest.raises(ValueError, match=r"expects 3 input channel\(s\).*got shape \(2, 28, 28, 3\) with 28 "
                                         r"channel.*are the channels last.*x\.transpose\(0, 3, 1, 2\)"):
        nn.Conv2d(3, 8, 3)(nn.Tensor(np.zeros((2, 28, 28, 3), np.float32)))
    with pytest.raises(ValueError, match=r"with 1 channel\(s\)$"):  # no such hint where it would not help
        nn.Conv2d(3, 8, 3)(nn.Tensor(np.zeros((2, 1, 8, 8), np.float32)))


@reference_only
def test_conv2d_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match=r"the kernel \(7×7\) is larger than the input \(3×3, 5×5 with padding=\(1, 1\)\)"):
        nn.Conv2d(1, 1, 7, padding=1)(nn.Tensor(np.zeros((1, 1, 3, 3), np.float32)))
    assert nn.Conv2d(1, 1, 5, padding=1)(nn.Tensor(np.zeros((1, 1, 3, 4), np.float32))).shape == (1, 1, 1, 2)


@reference_only
def test_max_pool_window_that_does_not_fit():
    with pytest.raises(ValueError, match=r"the pooling window \(2×2\) does not fit the input \(1×1"):
        nn.MaxPool2d(2)(nn.Tensor(np.zeros((1, 4, 1, 1), np.float32)))
    with pytest.raises(ValueError, match=r"MaxPool2d expects input of shape \(batch, channels, height, width\)"):
        nn.MaxPool2d(2)(nn.Tensor(np.zeros((4, 784), np.float32)))


@reference_only
@pytest.mark.parametrize("arguments", [dict(kernel_size=0), dict(kernel_size=(3,)), dict(stride=0),
                                       dict(padding=-1), dict(kernel_size=2.5), dict(in_channels=0)])
def test_conv2d_settings_are_checked(arguments):
    settings_ = dict(in_channels=1, out_channels=2, kernel_size=3) | arguments
    with pytest.raises(ValueError, match="Conv2d: "):
        nn.Conv2d(**settings_)


# --- the memory layout (nn/conv.py's docstring): a matter of speed, never of values ----------------------
def batch_innermost(array) -> bool:
    return array.transpose(1, 2, 3, 0).flags.c_contiguous


@reference_only
def test_a_conv_stack_is_right_whatever_the_memory_order_of_its_arrays():
    """The second convolution reads the first block's batch-innermost output (with and without padding),
    and Flatten's gradient goes back into that order: gradcheck the whole stack."""
    rng = np.random.default_rng(5)
    x = leaf(rng.normal(size=(3, 2, 7, 6)))
    w1, b1, w2, b2 = (leaf(rng.normal(size=shape)) for shape in ((4, 2, 3, 3), (4,), (3, 4, 2, 2), (3,)))

    def stack(x, w1, b1, w2, b2):
        hidden = nn.MaxPool2d(2)(act.relu(nn.conv2d(x, w1, b1, padding=1)))
        return nn.Flatten()(nn.conv2d(hidden, w2, b2)) * nn.Tensor(np.arange(1.0, 13.0))

    assert nn.gradcheck(stack, x, w1, b1, w2, b2)


@reference_only
def test_the_layers_keep_the_batch_innermost_and_their_gradients_do_too(monkeypatch):
    incoming = {}  # the gradient each backward receives

    def spy(function):
        backward = function.backward

        def recording(ctx, grad):
            incoming[function.__name__] = grad
            return backward(ctx, grad)
        monkeypatch.setattr(function, "backward", staticmethod(recording))

    for function in (pool.MaxPooling, conv.Convolution):
        spy(function)
    x = nn.Tensor(np.random.default_rng(6).random((4, 1, 8, 8)), requires_grad=True)
    convolved = nn.Conv2d(1, 3, 3, padding=1, rng=0)(x)
    pooled = nn.MaxPool2d(2)(act.relu(convolved))
    nn.Flatten()(pooled).sum().backward()
    assert batch_innermost(convolved.data) and batch_innermost(pooled.data)
    assert batch_innermost(incoming["MaxPooling"]) and batch_innermost(incoming["Convolution"])
    assert x.grad.shape == x.shape


# --- a small CNN learns -------------------------------------------------------------------------------
@reference_only
def test_a_small_cnn_fits_a_few_images():
    rng = np.random.default_rng(0)
    x = nn.Tensor(rng.random((16, 1, 8, 8), dtype=np.float32))
    labels = rng.integers(0, 3, 16)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=1), act.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 3, rng=2))
    optimizer = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(60):
        batch_loss = loss.cross_entropy(model(x), labels)
        batch_loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(batch_loss.item())
    assert losses[-1] < 0.2 * losses[0], f"the loss went from {losses[0]:.3f} to {losses[-1]:.3f}"


# --- PyTorch agreement (skipped without torch) ----------------------------------------------------------
@reference_only
@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CASES, ids=CASE_IDS)
def test_conv2d_matches_torch(x_shape, w_shape, stride, padding):
    torch = pytest.importorskip("torch")
    x, w, b = conv_case(x_shape, w_shape)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    t_out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding)
    grad_out = RNG.normal(size=tuple(t_out.shape))
    t_out.backward(torch.tensor(grad_out))
    ours = [leaf(a) for a in (x, w, b)]
    out = nn.conv2d(*ours, stride=stride, padding=padding)
    out.backward(grad_out)
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, theirs in zip(ours, (tx, tw, tb)):
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@reference_only
@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 1), ((2, 3), (2, 1))])
def test_max_pool_matches_torch_including_ties(kernel, stride):
    torch = pytest.importorskip("torch")
    x = RNG.integers(0, 3, size=(2, 3, 6, 7)).astype(np.float64)  # many ties
    tx = torch.tensor(x, requires_grad=True)
    t_out = torch.nn.functional.max_pool2d(tx, kernel, stride)
    grad_out = RNG.normal(size=tuple(t_out.shape))
    t_out.backward(torch.tensor(grad_out))
    ours = leaf(x)
    out = nn.MaxPool2d(kernel, stride)(ours)
    out.backward(grad_out)
    np.testing.assert_array_equal(out.data, t_out.detach().numpy())
    np.testing.assert_allclose(ours.grad, tx.grad.numpy(), rtol=1e-12)


@reference_only
def test_a_torch_state_dict_loads_into_the_same_cnn():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Conv2d(4, 6, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten())
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), act.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), act.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten())
    ours.load_state_dict({name: value.numpy() for name, value in theirs.state_dict().items()})
    x = np.random.default_rng(1).random((3, 1, 12, 12), dtype=np.float32)
    np.testing.assert_allclose(ours(nn.Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)

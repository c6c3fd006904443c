"""Test helpers: check a Function's backward against central differences, in float64.

Independent of the kit's own ``nn.gradcheck`` (which a participant writes), so
the tests have an oracle of their own.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def run_function(function, *inputs: np.ndarray, grad_out: np.ndarray | None = None, **options):
    """Call ``function.forward`` then ``function.backward`` directly on arrays.

    Returns ``(output, input_grads)``; ``grad_out`` defaults to ones. Does not
    use ``Tensor.backward``, so a task's test depends only on that task.
    """
    ctx = SimpleNamespace(needs_input_grad=(True,) * len(inputs))
    output = function.forward(ctx, *[np.array(x) for x in inputs], **options)
    if grad_out is None:
        grad_out = np.ones_like(output)
    grads = function.backward(ctx, np.asarray(grad_out, dtype=np.asarray(output).dtype))
    if not isinstance(grads, tuple):
        grads = (grads,)
    return output, grads


def numerical_grads(forward, inputs, grad_out, eps: float = 1e-6, wrt=None):
    """Central differences of Σ forward(*inputs) · grad_out with respect to each input."""
    inputs = [np.array(x, dtype=np.float64) for x in inputs]
    grads = []
    for k, x in enumerate(inputs):
        if wrt is not None and k not in wrt:
            grads.append(None)
            continue
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            original = x[index]
            x[index] = original + eps
            plus = np.sum(forward(*inputs) * grad_out)
            x[index] = original - eps
            minus = np.sum(forward(*inputs) * grad_out)
            x[index] = original
            grad[index] = (plus - minus) / (2 * eps)
        grads.append(grad)
    return grads


def assert_function_gradients(function, *inputs, rtol=1e-5, atol=1e-7, seed=0, wrt=None, **options):
    """Assert that ``function.backward`` matches central differences for float64 ``inputs``.

    A random ``grad_out`` (not just ones) catches a backward that ignores its
    incoming gradient. ``wrt`` limits the check to some inputs (e.g. not labels).
    The failure message names the Function, the input, the index, and both values.
    """
    inputs = [np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.array(x) for x in inputs]
    output, grads = run_function(function, *inputs, **options)
    grad_out = np.random.default_rng(seed).normal(size=np.shape(output))
    output, grads = run_function(function, *inputs, grad_out=grad_out, **options)
    name = getattr(function, "__name__", str(function))
    assert len(grads) == len(inputs), (
        f"{name}.backward returned {len(grads)} gradient(s); expected one per input of forward ({len(inputs)})"
    )

    def forward(*xs):
        return function.forward(SimpleNamespace(needs_input_grad=(True,) * len(xs)), *xs, **options)

    which = range(len(inputs)) if wrt is None else wrt
    expected_grads = numerical_grads(forward, inputs, grad_out, wrt=set(which))
    for k in which:
        got, expected = grads[k], expected_grads[k]
        assert got is not None, f"{name}.backward returned None for input {k}; expected a gradient of shape {inputs[k].shape}"
        got = np.asarray(got)
        assert got.shape == inputs[k].shape, (
            f"{name}.backward: the gradient for input {k} has shape {got.shape}, "
            f"but the input has shape {inputs[k].shape} (a gradient always has its input's shape)"
        )
        close = np.isclose(got, expected, rtol=rtol, atol=atol)
        if not close.all():
            index = tuple(int(i) for i in np.argwhere(~close)[0])
            raise AssertionError(
                f"{name}.backward: the gradient for input {k} (shape {inputs[k].shape}) is wrong at index "
                f"{index}: the central difference gives {expected[index]:.6g}, backward gave {got[index]:.6g} "
                f"({(~close).sum()} of {close.size} elements differ).\n"
                f"input {k} = {np.array2string(inputs[k], precision=4)}\n"
                f"expected gradient = {np.array2string(expected, precision=4)}\n"
                f"your gradient     = {np.array2string(got, precision=4)}"
            )

"""Check derivatives numerically: the central difference, and ``gradcheck`` for whole functions.

The derivative is a limit, f'(x) = lim (f(x + h) − f(x)) / h. Taking a small
step to both sides, (f(x + ε) − f(x − ε)) / 2ε, cancels the error term in f''
and leaves an error of order ε² · f'''. That is precise enough to catch any
wrong backward, provided we compute in float64 (in float32, rounding errors
of about 1e-7 / ε would drown the result).
"""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from .tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    """``gradcheck`` found a gradient that disagrees with the central difference."""


def central_difference(f: Callable, x, eps: float = 1e-6):
    """f'(x) ≈ (f(x + ε) − f(x − ε)) / (2ε), the slope of the chord across x.

    Works for a float ``x``, and elementwise for an ndarray ``x`` when ``f``
    works elementwise (e.g. ``np.sin``).
    """
    ### BEGIN SOLUTION
    return (f(x + eps) - f(x - eps)) / (2 * eps)
    ### END SOLUTION


def gradcheck(fn: Callable[..., Tensor], *inputs, eps: float = 1e-6, rtol: float = 1e-5,
              atol: float = 1e-7, skip_kinks: bool = False, seed: int = 0) -> bool:
    """Compare the gradients of ``fn(*inputs)`` from ``backward()`` with central differences.

    Every element of every input Tensor with ``requires_grad=True`` is checked.
    The check runs on float64 copies of the Tensor inputs (other inputs, such as
    integer labels, are passed through unchanged). To test that ``backward``
    uses its incoming gradient, the output is weighted by fixed random numbers
    w: the checked quantity is L = Σ w · fn(*inputs).

    Kinks: where ``fn`` is not differentiable (ReLU at 0, a step, a max with
    ties), no single slope exists and the central difference measures an
    average of the two one-sided slopes. When an element disagrees, gradcheck
    compares the one-sided slopes (L(x+ε) − L(x))/ε and (L(x) − L(x−ε))/ε; if
    they differ by more than the disagreement, x sits within ε of a kink and
    the error says so (or, with ``skip_kinks=True``, that element is skipped).

    Returns True; raises ``GradcheckError`` naming the input, the index, the
    expected (numerical) and the computed (backward) value otherwise.
    """
    inputs = tuple(_float64_copy(x) for x in inputs)
    checked = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True, so there is nothing to check")

    output = _call(fn, inputs)
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=output.shape)
    if output.requires_grad:
        output.backward(weights)

    def loss() -> float:
        with no_grad():
            return float(np.sum(_call(fn, inputs).data * weights))

    base = loss()
    for k in checked:
        x = inputs[k]
        computed = x.grad if x.grad is not None else np.zeros_like(x.data)
        for index in np.ndindex(x.shape):
            original = x.data[index]
            x.data[index] = original + eps
            plus = loss()
            x.data[index] = original - eps
            minus = loss()
            x.data[index] = original
            expected = (plus - minus) / (2 * eps)
            got = float(computed[index])
            if abs(got - expected) <= atol + rtol * abs(expected):
                continue
            right, left = (plus - base) / eps, (base - minus) / eps
            at_kink = abs(right - left) > abs(got - expected)
            if at_kink and skip_kinks:
                continue
            raise GradcheckError(_message(fn, k, x, index, expected, got, (left, right) if at_kink else None))
    return True


def _float64_copy(x):
    """A float64 copy of a Tensor (same requires_grad); anything else unchanged."""
    if isinstance(x, Tensor):
        return Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad)
    return x


def _call(fn, inputs) -> Tensor:
    output = fn(*inputs)
    if not isinstance(output, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(output).__name__}")
    if output.dtype != np.float64:
        raise TypeError(
            f"gradcheck: fn returned {output.dtype} for float64 inputs; the check needs float64 "
            f"all the way through (is a float32 array or parameter used inside fn?)"
        )
    return output


def _message(fn, k, x, index, expected, got, kink) -> str:
    name = getattr(fn, "__name__", type(fn).__name__)
    names = _parameter_names(fn)
    label = f"{names[k]}, shape {x.shape}" if k < len(names) else f"shape {x.shape}"
    caller = "gradcheck" if name == "<lambda>" else f"gradcheck({name})"
    where = f"{caller}: input {k} ({label}) at index {index}, value {x.data[index]:.6g}"
    if kink is not None:
        left, right = kink
        return (
            f"{where} sits within eps of a kink: the one-sided difference quotients differ (left "
            f"{left:.6g}, right {right:.6g}), so there is no derivative to check there (backward gave {got:.6g}). "
            f"Choose inputs away from the kink, or pass skip_kinks=True."
        )
    message = f"{where}: the central difference gives {expected:.6g}, backward gave {got:.6g}."
    if x.size <= SHOWN_INPUT_SIZE:
        message += f"\ninput {k} = {np.array2string(x.data, precision=4)}"
    return message


SHOWN_INPUT_SIZE = 12  # a larger input's numbers would bury the message


def _parameter_names(fn) -> list[str]:
    """The names of the positional parameters of ``fn`` (of its ``forward`` for a Module), if it has any."""
    try:
        parameters = inspect.signature(getattr(fn, "forward", fn)).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return []
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

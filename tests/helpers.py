"""Test helpers: check a Function's backward against central differences, in float64.

Independent of the kit's own ``nn.gradcheck`` (which a participant writes), so
the tests have an oracle of their own.
"""

from __future__ import annotations

import contextlib
import traceback
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import load_tools_module

TESTS = Path(__file__).resolve().parent
COMMANDS = load_tools_module("commands")
#: What a participant's code raises by mistake (not a hole's NotImplementedError, nor the check's own errors).
MISTAKES = (ArithmeticError, AttributeError, LookupError, NameError, TypeError, ValueError)


class NeedsTask(Exception):
    """A test cannot judge its task yet: an earlier task's result it builds on is wrong. Its message starts
    with 'Task X:', as a hole's does, so that make check reads 'waiting for task X'."""


@contextlib.contextmanager
def naming(call: str):
    """A mistake raised inside fails the test with ``call`` (what was called, on which input) in front:
    'sum_to(grad of shape (4, 2, 3), (2, 1)) raised ValueError: …'. Raised ``from`` the error, so the
    report still shows the participant's line."""
    try:
        yield
    except MISTAKES as error:
        raise pytest.fail.Exception(f"{call} raised {type(error).__name__}: {error}") from error


def more_help(task_id: str) -> str:
    """Where a message sends the participant for more: 'more: make hint TASK=4.2', or the Python form when the
    check was not run by make (tools/commands.py)."""
    return f"more: {COMMANDS.hint(task_id)}"


def show(array) -> str:
    """An array for a message: whole when small, its corners when large (the message must stay short)."""
    return np.array2string(np.asarray(array), precision=4, threshold=64, edgeitems=2)


def run_function(function, *inputs: np.ndarray, grad_out: np.ndarray | None = None, **options):
    """Call ``function.forward`` then ``function.backward`` directly on arrays.

    Returns ``(output, input_grads)``; ``grad_out`` defaults to ones. Does not
    use ``Tensor.backward``, so a task's test depends only on that task. Both go
    through the framework's contract checks (``Function.checked_forward`` and
    ``checked_backward``): forward returns a float array, backward one float array
    of its input's shape per input, and leaves its read-only ``grad_out`` alone.
    """
    ctx, inputs, output = run_forward(function, *inputs, **options)
    grad_out = np.array(np.ones_like(output) if grad_out is None else grad_out, dtype=output.dtype)
    grads = function.checked_backward(ctx, grad_out, inputs)
    assert_same_gradients(function, grads, function.checked_backward(ctx, grad_out, inputs), (
        "when called a second time with the same ctx and grad: it changed in place something forward saved on "
        "ctx. Backward may run more than once (backward(retain_graph=True)), so leave ctx's arrays as they are: "
        "change a copy."))
    assert_kept_on_ctx(function, inputs, grad_out, grads, options)
    return output, grads


def assert_kept_on_ctx(function, inputs, grad_out, grads, options) -> None:
    """A network runs every layer's forward before any backward: with two ReLU layers, ReLU.forward runs twice,
    then ReLU.backward twice. So backward must give the same gradients when another call's forward ran in
    between; one that reads what forward kept on the class or in a global gets the other call's values."""
    ctx, _, _ = run_forward(function, *inputs, **options)
    others = [np.flip(x) if x.dtype.kind == "f" else x for x in inputs]
    for other_options in (other_values(options), options):
        try:
            run_forward(function, *others, **other_options)
            break
        except Exception:  # noqa: BLE001  (values this function does not take: try the next, or nothing to compare)
            continue
    else:
        return
    name = getattr(function, "__name__", str(function))
    assert_same_gradients(function, grads, function.checked_backward(ctx, grad_out, inputs), (
        f"when another {name}.forward (on other inputs) ran between its forward and it: it read what forward kept "
        f"somewhere shared, on the class or in a global, which the other call replaced. A network with two {name} "
        "layers runs both forwards before either backward, so each call's values belong on its own ctx."))


def kept_on_the_class(function) -> list[str]:
    """The arrays code set on a Function's class ('rows' for Convolution.rows, or in a dict, list or tuple
    there): one call's data, which every call shares. The kit's Functions hold only methods there."""
    def holds_arrays(value) -> bool:
        values = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        return any(isinstance(item, np.ndarray) for item in values)

    return [name for name, value in vars(function).items() if holds_arrays(value)]


def on_the_class_advice(function, name: str) -> str:
    owner = function.__name__
    return (f"{owner}.{name} is kept on the class, which every call shares: a network with two {owner} layers runs "
            f"both forwards before either backward, so the second call replaces what the first kept. Keep what "
            f"backward needs on ctx (ctx.{name}); these tests give backward a ctx of their own.")


def other_values(options: dict) -> dict:
    """Other values of the same kind, where that is safe: integer labels rolled, a float (alpha) halved."""
    return {key: np.roll(value, 1) if isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.ndim
            else value / 2 if isinstance(value, float) else value for key, value in options.items()}


def assert_same_gradients(function, grads, again, why: str) -> None:
    """``again`` must equal ``grads``; else an AssertionError: '{function}.backward gave another gradient {why}'."""
    for k, (first, second) in enumerate(zip(grads, again)):
        if (first is None) != (second is None) or (first is not None and not np.array_equal(first, second, equal_nan=True)):
            name = getattr(function, "__name__", str(function))
            raise AssertionError(f"{name}.backward gave another gradient (input {k}) {why}")


def run_forward(function, *inputs: np.ndarray, **options):
    """``function.forward`` alone, through the contract check: ``(ctx, inputs as arrays, output)``. For
    a test of forward's value, which a backward that depends on it must not fail first."""
    inputs = [np.array(x) for x in inputs]
    ctx = SimpleNamespace(needs_input_grad=(True,) * len(inputs))
    return ctx, inputs, function.checked_forward(ctx, *inputs, **options)


def raised_by_the_contract(error: BaseException) -> bool:
    """Whether ``error`` is the framework's contract check naming a slip (an in-place write, a gradient of
    the wrong shape): its message says what to fix, and a test's own advice about shapes would not fit."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].name in ("checked_forward", "checked_backward")


def raising_frame(error: BaseException) -> traceback.FrameSummary | None:
    """The frame of the code under test that raised ``error``: the innermost one outside the tests and
    outside installed packages such as NumPy."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if "site-packages" not in frame.filename and Path(frame.filename).resolve().parent != TESTS]
    return frames[-1] if frames else None


def raised_where(error: BaseException) -> str:
    """Where in the code under test ``error`` was raised: 'line 204 of functions.py'."""
    frame = raising_frame(error)
    return f"line {frame.lineno} of {Path(frame.filename).name}" if frame else "in your code"


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


def assert_function_gradients(function, *inputs, rtol=1e-5, atol=1e-7, seed=0, wrt=None,
                              factor_names: dict | None = None, **options):
    """Assert that ``function.backward`` matches central differences for float64 ``inputs``.

    A random ``grad_out`` (not just ones) catches a backward that ignores its
    incoming gradient. ``wrt`` limits the check to some inputs (e.g. not labels).
    The failure message names the Function, the input, the index, and both values,
    and what a typical slip looks like (a flipped sign, a constant factor such as N for
    sum vs mean: ``factor_names={N: "N = 3, the number of rows: the loss is their mean ..."}``).
    """
    inputs = [np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.array(x) for x in inputs]
    name = getattr(function, "__name__", str(function))
    shapes = ", ".join(str(x.shape) for x in inputs)
    call = (f"{name}.forward and backward on input{'s' * (len(inputs) > 1)} of shape {shapes}"
            + "".join(f", {key}={value!r}" for key, value in options.items()))
    with naming(call):
        output, grads = run_function(function, *inputs, **options)
        grad_out = np.random.default_rng(seed).normal(size=np.shape(output))
        output, grads = run_function(function, *inputs, grad_out=grad_out, **options)
    assert len(grads) == len(inputs), (
        f"{name}.backward returned {len(grads)} gradient(s); expected one per input of forward ({len(inputs)})"
    )

    def forward(*xs):
        return function.forward(SimpleNamespace(needs_input_grad=(True,) * len(xs)), *xs, **options)

    which = range(len(inputs)) if wrt is None else wrt
    expected_grads = numerical_grads(forward, inputs, grad_out, wrt=set(which))
    for k in which:
        got, expected = grads[k], expected_grads[k]
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
                f"input {k} = {show(inputs[k])}"
                + "".join(f", {key}={value!r}" for key, value in options.items()) + "\n"
                f"upstream grad (passed to backward) = {show(grad_out)}\n"
                f"expected gradient = {show(expected)}\n"
                f"your gradient     = {show(got)}"
                + slip_hint(got, expected, factor_names, grad_out)
            )


def slip_hint(got: np.ndarray, expected: np.ndarray, factor_names: dict | None = None, grad_out=None) -> str:
    """Why a gradient may be wrong when it is a constant multiple of the right one, or the right one without
    the upstream gradient ``grad_out`` (when that is elementwise, or one number)."""
    significant = np.abs(expected) > 1e-6
    if not significant.any():
        return ""
    if grad_out is not None and np.all(grad_out != 0) and not np.allclose(grad_out, 1):
        with contextlib.suppress(ValueError):  # shapes that do not broadcast: not an elementwise backward
            if np.allclose(np.asarray(got, dtype=np.float64) * grad_out, expected, rtol=1e-4, atol=1e-7):
                return ("\nYour gradient is the expected one divided by the upstream grad: backward must multiply "
                        "its local derivative by grad, the gradient that arrives from the output (the chain rule).")
    ratios = np.asarray(got, dtype=np.float64)[significant] / expected[significant]
    ratio = float(np.median(ratios))
    if not np.allclose(ratios, ratio, rtol=1e-4):
        return ""
    if np.isclose(ratio, -1, rtol=1e-4):
        return "\nYour gradient is the expected one with the opposite sign."
    for factor, explanation in (factor_names or {}).items():
        if np.isclose(ratio, factor, rtol=1e-4):
            return f"\nYour gradient is {ratio:.6g} times the expected one: {explanation}"
    if significant.sum() > 1 and not np.isclose(ratio, 1, rtol=1e-4):
        return f"\nYour gradient is {ratio:.6g} times the expected one everywhere (a constant factor is off)."
    return ""


def assert_values(name: str, x, got, expected, rtol: float = 1e-6, atol: float = 1e-7, hint: str = "") -> None:
    """``got`` must equal ``expected`` (shape and values), with a message on the concrete input."""
    assert got is not None, (
        f"{name} on an input of shape {np.shape(x)} returned None; expected an array of shape {np.shape(expected)}")
    got = np.asarray(got)
    assert got.shape == np.shape(expected), (
        f"{name} on an input of shape {np.shape(x)} should return shape {np.shape(expected)}, got shape {got.shape}"
    )
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        raise AssertionError(
            f"{name} is wrong.\ninput    = {np.array2string(np.asarray(x), precision=4)}\n"
            f"expected = {np.array2string(np.asarray(expected), precision=6)}\n"
            f"got      = {np.array2string(got, precision=6)}{hint}"
        )


def forward_backward_strict(function, *inputs, name: str, advice: str | dict[str, str] = "", **options):
    """forward then backward (upstream gradient 1) with NumPy overflow, 0/0 and log(0) raised as errors.

    Returns the output and the gradients after checking that all of them are finite. ``advice`` follows
    the message; a dict gives one per kind of NumPy report ('overflow', 'invalid value', 'divide by
    zero'), since each points at a different slip.
    """
    shown = ", ".join(np.array2string(np.asarray(x), precision=4) for x in inputs)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            output, grads = run_function(function, *inputs, **options)
        except FloatingPointError as error:
            said = advice if isinstance(advice, str) else next(
                (text for kind, text in advice.items() if kind in str(error)), "")
            frame = raising_frame(error)
            if frame is not None and "where(" in (frame.line or ""):
                said = (" np.where(condition, a, b) computes all of a and all of b before it picks, so a form "
                        "meant only for some x still runs on every x: compute each form only where it "
                        "applies." + said)
            raise AssertionError(  # from error: the check shows the line that NumPy stopped at
                f"{name} on the float32 input {shown}: NumPy reported '{error}'. "
                f"Large inputs must give finite results without overflow, 0/0 or log(0).{said}"
            ) from error
    for what, array in [("output", output)] + [(f"gradient {k}", g) for k, g in enumerate(grads) if g is not None]:
        if not np.all(np.isfinite(array)):
            raise AssertionError(
                f"{name} on the float32 input {shown}: the {what} contains NaN or inf: "
                f"{np.array2string(np.asarray(array), precision=4)}.{advice if isinstance(advice, str) else ''}"
            )
    return output, grads


def in_float64(function):
    """``function`` (a Function's forward or backward) with its result, or each of its results, in float64:
    the slip of a new array made without a dtype."""
    def wrong_dtype(*args, **options):
        result = function(*args, **options)
        return tuple(np.asarray(r, np.float64) for r in result) if isinstance(result, tuple) else \
            np.asarray(result, np.float64)

    return staticmethod(wrong_dtype)

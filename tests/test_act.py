"""Activation functions (act/): values, gradients, stability, bad input.

Task tests (tasks 4.1–4.7, and the optional 8.4: log-softmax) call a Function's forward/backward directly on arrays.
The other tests go through the public API and ``Tensor.backward`` and run
against the reference only.
"""

from __future__ import annotations

import contextlib

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from conftest import IMPL, examples
from helpers import (NeedsTask, assert_function_gradients, assert_values, forward_backward_strict, more_help, naming,
                     numerical_grads, run_forward, run_function)
from hypothesis import given, settings
from hypothesis import strategies as st

import act
import nn
from act import functions as F

reference_only = pytest.mark.skipif(IMPL != "solutions", reason="tests the reference (KIT_IMPL=solutions)")
generated = settings(max_examples=examples(40), deadline=None)

SMALL = np.array([-2.0, -0.5, 0.5, 3.0])


def away_from_zero(low: float = 0.01, high: float = 5.0):
    """Floats with low ≤ |x| ≤ high: no kink (ReLU, step) within the central difference's reach."""
    return st.one_of(st.floats(-high, -low), st.floats(low, high))


def float_arrays(elements=st.floats(-5, 5), max_dims: int = 3):
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=max_dims, max_side=4), elements=elements)


def sigmoid64(x):
    with np.errstate(over="ignore"):  # e^10000 = inf gives σ = 1 / inf = 0, as it should
        return 1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))


HUGE = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=np.float32)


# --- 4.1 step ---------------------------------------------------------------------------------
@pytest.mark.task4_1
def test_step_values():
    x = np.array([-2.0, -0.1, 0.0, 0.1, 3.0])
    output, _ = run_function(F.Step, x)
    assert_values("Step.forward", x, output, [0.0, 0.0, 0.0, 1.0, 1.0],
                  hint="\nstep(x) is 1 where x > 0 and 0 elsewhere (also 0 at x = 0)")


@pytest.mark.task4_1
def test_step_gradient_is_zero():
    x = np.array([[-2.0, 0.5], [3.0, -0.1]])
    _, (grad,) = run_function(F.Step, x, grad_out=np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert_values("Step.backward (the derivative of a step is 0)", x, grad, np.zeros_like(x))


@pytest.mark.task4_1
@generated
@given(float_arrays(away_from_zero()))
def test_step_gradcheck(x):
    assert_function_gradients(F.Step, x)


# --- 4.1–4.6: every element-wise activation ------------------------------------------------------
ELEMENTWISE = [pytest.param(function, marks=mark, id=function.__name__) for function, mark in [
    (F.Step, pytest.mark.task4_1), (F.Sigmoid, pytest.mark.task4_2), (F.Tanh, pytest.mark.task4_3),
    (F.ReLU, pytest.mark.task4_4), (F.LeakyReLU, pytest.mark.task4_5), (F.Swish, pytest.mark.task4_6)]]
KEEP_THE_DTYPE = {F.Step: "convert the comparison to x's dtype, whichever it is"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("function", ELEMENTWISE)
def test_elementwise_keeps_the_input_shape_and_dtype(function, dtype):
    """Element by element: the output and the gradient have x's shape and dtype. A 2 × 3 input, so that a
    transposed result cannot pass; float32 too, the framework's dtype, which float64 must not replace."""
    x = np.array([[-1.5, 0.5, 2.0], [0.25, -0.75, 1.0]], dtype=dtype)
    name, kind = function.__name__, np.dtype(dtype)
    output, _ = run_function(function, x)
    assert np.shape(output) == x.shape, (
        f"{name}.forward of an array of shape {x.shape} returned shape {np.shape(output)}: an element-wise "
        f"function gives one value per element of x, in x's shape"
    )
    assert output.dtype == kind, (
        f"{name}.forward of a {kind} array returned {output.dtype}: return x's dtype ("
        + KEEP_THE_DTYPE.get(function, "a float64 number or array mixed into the computation turns float32 into "
                                       "float64; compute from x and values of its dtype")
        + ")"
    )
    _, (grad,) = run_function(function, x, grad_out=np.ones(x.shape, dtype))
    assert grad.dtype == kind, f"{name}.backward returned {grad.dtype} for a {kind} input and grad: return their dtype"


# --- 4.2 sigmoid ------------------------------------------------------------------------------
@pytest.mark.task4_2
def test_sigmoid_values():
    output, _ = run_function(F.Sigmoid, SMALL)
    assert_values("Sigmoid.forward", SMALL, output, sigmoid64(SMALL), hint="\nσ(x) = 1 / (1 + e^-x)")


@pytest.mark.task4_2
def test_stable_sigmoid_values():
    x = np.array([-30.0, -1.0, 0.0, 1.0, 30.0])
    assert_values("stable_sigmoid", x, F.stable_sigmoid(x), sigmoid64(x), hint="\nσ(x) = 1 / (1 + e^-x)")


def test_a_result_of_none_is_named_as_none_not_as_a_shape():
    """np.asarray(None) is 0-d: without this, 'should return shape (4,), got shape ()'."""
    with pytest.raises(AssertionError, match=r"^stable_sigmoid on an input of shape \(4,\) returned None; "
                                             r"expected an array of shape \(4,\)$"):
        assert_values("stable_sigmoid", SMALL, None, sigmoid64(SMALL))


@pytest.mark.task4_2
def test_sigmoid_gradient():
    assert_function_gradients(F.Sigmoid, SMALL)


@pytest.mark.task4_2
@generated
@given(float_arrays(st.floats(-20, 20)))
def test_sigmoid_gradcheck(x):
    assert_function_gradients(F.Sigmoid, x)


@pytest.mark.task4_2
def test_sigmoid_is_stable_at_large_inputs():
    output, (grad,) = forward_backward_strict(
        F.Sigmoid, HUGE, name="Sigmoid",
        advice=" For x = -1e4, e^-x = e^10000 overflows. Expected: no power of e above e^0 = 1 for any x "
        "(σ(x) = e^x / (1 + e^x) is the same function); " + more_help("4.2"),
    )
    assert_values("Sigmoid.forward at large inputs", HUGE, output, [0.0, 0.0, 0.5, 1.0, 1.0])
    assert np.asarray(output).dtype == np.float32, f"Sigmoid.forward turned float32 into {np.asarray(output).dtype}"
    assert_values("Sigmoid.backward at large inputs", HUGE, grad, [0.0, 0.0, 0.25, 0.0, 0.0])


# --- 4.3 tanh ---------------------------------------------------------------------------------
@pytest.mark.task4_3
def test_tanh_values():
    output, _ = run_function(F.Tanh, SMALL)
    expected = (np.exp(SMALL) - np.exp(-SMALL)) / (np.exp(SMALL) + np.exp(-SMALL))
    assert_values("Tanh.forward", SMALL, output, expected)


@pytest.mark.task4_3
@generated
@given(float_arrays(st.floats(-10, 10)))
def test_tanh_gradcheck(x):
    assert_function_gradients(F.Tanh, x)


@pytest.mark.task4_3
def test_tanh_is_stable_at_large_inputs():
    output, (grad,) = forward_backward_strict(F.Tanh, HUGE, name="Tanh", advice=" Written out as (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ),"
                                              " tanh overflows for |x| ≥ 89 in float32 (inf / inf = nan): compute it"
                                              f" in a form that stays finite for any x ({more_help('4.3')}).")
    assert_values("Tanh.forward at large inputs", HUGE, output, [-1.0, -1.0, 0.0, 1.0, 1.0])
    assert_values("Tanh.backward at large inputs", HUGE, grad, [0.0, 0.0, 1.0, 0.0, 0.0])


# --- 4.4 ReLU ---------------------------------------------------------------------------------
@pytest.mark.task4_4
def test_relu_values_and_gradient():
    output, (grad,) = run_function(F.ReLU, SMALL, grad_out=np.array([10.0, 20.0, 30.0, 40.0]))
    assert_values("ReLU.forward", SMALL, output, [0.0, 0.0, 0.5, 3.0], hint="\nrelu(x) = max(x, 0)")
    assert_values("ReLU.backward with upstream gradient [10, 20, 30, 40]", SMALL, grad, [0.0, 0.0, 30.0, 40.0],
                  hint="\nthe upstream gradient passes where x > 0 and is 0 elsewhere")


@pytest.mark.task4_4
def test_relu_derivative_at_zero_is_zero():
    x = np.array([-1.0, 0.0, 2.0])
    _, (grad,) = run_function(F.ReLU, x)
    assert_values("ReLU.backward at x = 0", x, grad, [0.0, 0.0, 1.0],
                  hint="\nAt x = 0 the kit uses the derivative 0 (relu has a kink there; 0 is PyTorch's choice too): "
                       "the gradient passes only where x > 0.")


def test_a_relu_with_derivative_1_at_zero_is_told_about_x_0(monkeypatch):
    """Its first failing test (the report shows that one) must name x = 0, not 'at large inputs'."""
    def forward(ctx, x):
        ctx.x = x
        return np.where(x > 0, x, 0.0)

    monkeypatch.setattr(F.ReLU, "forward", staticmethod(forward))
    monkeypatch.setattr(F.ReLU, "backward", staticmethod(lambda ctx, grad: grad * (ctx.x >= 0)))
    tests = [name for name in globals() if name.startswith("test_relu")]
    assert tests.index("test_relu_derivative_at_zero_is_zero") < tests.index("test_relu_is_stable_at_large_inputs")
    test_relu_values_and_gradient()
    with pytest.raises(AssertionError, match=r"^ReLU\.backward at x = 0 is wrong\.(.|\n)*At x = 0 the kit uses "
                                             r"the derivative 0"):
        test_relu_derivative_at_zero_is_zero()


@pytest.mark.task4_4
@generated
@given(float_arrays(away_from_zero()))
def test_relu_gradcheck(x):
    assert_function_gradients(F.ReLU, x)


@pytest.mark.task4_4
def test_relu_is_stable_at_large_inputs():
    output, (grad,) = forward_backward_strict(F.ReLU, HUGE, name="ReLU")
    assert_values("ReLU.forward at large inputs", HUGE, output, [0.0, 0.0, 0.0, 100.0, 1e4])
    assert_values("ReLU.backward at large inputs", HUGE, grad, [0.0, 0.0, 0.0, 1.0, 1.0])


# --- 4.5 leaky ReLU -------------------------------------------------------------------------------
@pytest.mark.task4_5
def test_leaky_relu_default_alpha():
    output, (grad,) = run_function(F.LeakyReLU, SMALL)
    assert_values("LeakyReLU.forward (alpha = 0.01)", SMALL, output, [-0.02, -0.005, 0.5, 3.0],
                  hint="\nleaky_relu(x) = x for x > 0, alpha * x otherwise; the default alpha is 0.01")
    assert_values("LeakyReLU.backward (alpha = 0.01)", SMALL, grad, [0.01, 0.01, 1.0, 1.0])


@pytest.mark.task4_5
def test_leaky_relu_derivative_at_zero_is_alpha():
    x = np.array([-1.0, 0.0, 2.0])
    _, (grad,) = run_function(F.LeakyReLU, x, alpha=0.1)
    slopes = np.ravel(np.asarray(grad, dtype=np.float64))
    if slopes.size == 3 and not np.isclose(slopes[0], 0.1):  # not a matter of the kink: the cause comes first
        raise AssertionError(
            f"LeakyReLU.backward (alpha = 0.1): the slope at x = -1 should be 0.1, got {slopes[0]:.6g}. Forward was "
            "given alpha = 0.1, so the slope for x < 0 is 0.1: use the alpha that forward was given (keep it on "
            f"ctx for backward), not a fixed number.\ninput    = {x}\nexpected = [0.1, 0.1, 1.0]\ngot      = {slopes}")
    assert_values("LeakyReLU.backward (alpha = 0.1) at x = 0", x, grad, [0.1, 0.1, 1.0],
                  hint="\nAt x = 0 the kit uses the derivative alpha, as the formula says (x for x > 0, alpha·x "
                       "otherwise) and as PyTorch does: the slope 1 is for x > 0 only.")


@pytest.mark.task4_5
def test_leaky_relu_uses_the_alpha_option():
    output, (grad,) = run_function(F.LeakyReLU, SMALL, alpha=0.2)
    assert_values("LeakyReLU.forward with alpha=0.2", SMALL, output, [-0.4, -0.1, 0.5, 3.0],
                  hint="\nuse the alpha argument of forward, not a fixed 0.01")
    assert_values("LeakyReLU.backward with alpha=0.2 (save alpha on ctx)", SMALL, grad, [0.2, 0.2, 1.0, 1.0])


@pytest.mark.task4_5
@generated
@given(float_arrays(away_from_zero()), st.floats(0.0, 0.5))
def test_leaky_relu_gradcheck(x, alpha):
    assert_function_gradients(F.LeakyReLU, x, alpha=alpha)


@pytest.mark.task4_5
def test_leaky_relu_is_stable_at_large_inputs():
    output, _ = forward_backward_strict(F.LeakyReLU, HUGE, name="LeakyReLU")
    assert_values("LeakyReLU.forward at large inputs", HUGE, output, [-100.0, -1.0, 0.0, 100.0, 1e4], rtol=1e-6)
    assert np.asarray(output).dtype == np.float32, f"LeakyReLU.forward turned float32 into {np.asarray(output).dtype}"


# --- 4.6 swish ---------------------------------------------------------------------------------
def sigmoid_slip(stable_sigmoid, x) -> str | None:
    """What is wrong with stable_sigmoid(x) (task 4.2), else None: an overflow, or values that are not σ(x).
    An error of another kind inside it is reported as it is, with its line."""
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            got = np.asarray(stable_sigmoid(x), dtype=np.float64)
    except FloatingPointError as error:
        return f"stable_sigmoid overflows for x = {np.asarray(x).tolist()} (NumPy: {error})"
    except Exception:
        return None
    if got.shape != np.shape(x) or not np.allclose(got, sigmoid64(x), rtol=1e-4, atol=1e-6):
        return (f"stable_sigmoid gives {np.round(got, 4).tolist()} for x = {np.asarray(x).tolist()} instead of "
                f"{np.round(sigmoid64(x), 4).tolist()}")
    return None


@contextlib.contextmanager
def building_on_stable_sigmoid():
    """Swish is judged on its own only while the σ it takes from stable_sigmoid (task 4.2) is right: a
    Swish test that fails after calling a wrong stable_sigmoid waits for task 4.2 (NeedsTask)."""
    original, calls = F.stable_sigmoid, []

    def recorded(*args, **options):
        calls.append(args)
        return original(*args, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(F, "stable_sigmoid", recorded)
        try:
            yield
        except Exception as error:
            for x, *_ in calls[:3]:
                slip = sigmoid_slip(original, x)
                if slip is not None:
                    raise NeedsTask(f"Task 4.2: Swish.forward takes σ(x) from stable_sigmoid, and {slip}: Swish is "
                                    "checked once task 4.2 is right") from error
            raise


@pytest.mark.task4_6
def test_swish_values():
    with building_on_stable_sigmoid():
        output, _ = run_function(F.Swish, SMALL)
        assert_values("Swish.forward", SMALL, output, SMALL * sigmoid64(SMALL), hint="\nswish(x) = x σ(x)")


@pytest.mark.task4_6
@generated
@given(float_arrays(st.floats(-20, 20)))
def test_swish_gradcheck(x):
    with building_on_stable_sigmoid():
        assert_function_gradients(F.Swish, x)


@pytest.mark.task4_6
def test_swish_is_stable_at_large_inputs():
    with building_on_stable_sigmoid():
        output, (grad,) = forward_backward_strict(
            F.Swish, HUGE, name="Swish", advice=" For x = -1e4, e^-x = e^10000 overflows in 1 / (1 + e^-x). "
            "Expected: σ(x) from stable_sigmoid (task 4.2), which never overflows.",
        )
        assert_values("Swish.forward at large inputs", HUGE, output, [0.0, 0.0, 0.0, 100.0, 1e4], atol=1e-30)
        assert_values("Swish.backward at large inputs", HUGE, grad, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-30)


# --- 4.7 softmax -------------------------------------------------------------------------------
ROWS = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
#: NumPy's report tells the two slips apart: without a shift e^x overflows; with one maximum over the whole
#: array, a row whose own maximum is far below it becomes all zeros, and 0/0 follows.
SOFTMAX_AT_LARGE_INPUTS = {
    "overflow": "\nWithout a shift, e^x overflows for x = 1e4. Expected: softmax(x) = softmax(x − m) with m the "
                "maximum along the axis, so that every exponent is ≤ 0; " + more_help("4.7"),
    "invalid value": "\nA whole row became 0 after the shift (0/0): the m subtracted from it was larger than that "
                     "row's own maximum, as one maximum over the whole array is. Expected: m is the maximum of each "
                     "row (each slice along the axis) on its own, so that every row keeps an e^0 = 1; "
                     + more_help("4.7"),
}


@pytest.mark.task4_7
def test_softmax_values():
    output, _ = run_function(F.Softmax, ROWS)
    expected = np.exp(ROWS) / np.exp(ROWS).sum(axis=1, keepdims=True)
    assert_values("Softmax.forward (along the last axis)", ROWS, output, expected,
                  hint="\nsoftmax(x)_i = e^x_i / Σ_j e^x_j along the axis (default -1: each row)")


@pytest.mark.task4_7
def test_softmax_along_axis_0():
    output, _ = run_function(F.Softmax, ROWS, axis=0)
    expected = np.exp(ROWS) / np.exp(ROWS).sum(axis=0, keepdims=True)
    assert_values("Softmax.forward with axis=0 (each column sums to 1)", ROWS, output, expected,
                  hint="\nwith axis=0 each column is one softmax: its maximum and its sum run down the column")


@pytest.mark.task4_7
@generated
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), elements=st.floats(-30, 30)),
       st.data())
def test_softmax_is_positive_and_sums_to_one(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    output, _ = run_function(F.Softmax, x, axis=axis)
    assert np.all(np.asarray(output) >= 0), f"softmax must be ≥ 0, got {output} for {x}"
    sums = np.asarray(output).sum(axis=axis)
    assert np.allclose(sums, 1.0), f"softmax along axis {axis} must sum to 1; the sums are {sums} for input {x}"


@pytest.mark.task4_7
def test_softmax_ignores_a_shift_of_the_input():
    output, _ = run_function(F.Softmax, ROWS)
    shifted, _ = run_function(F.Softmax, ROWS + 500.0)
    assert_values("Softmax.forward of x + 500 (must equal softmax(x))", ROWS + 500.0, shifted, output,
                  hint="\nsoftmax(x + c) = softmax(x) for any c: the factor e^c cancels")


@pytest.mark.task4_7
@generated
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=st.floats(-10, 10)),
       st.data())
def test_softmax_gradcheck(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    assert_function_gradients(F.Softmax, x, axis=axis)


@pytest.mark.task4_7
def test_softmax_is_stable_at_large_inputs():
    x = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]], dtype=np.float32)
    output, (grad,) = forward_backward_strict(F.Softmax, x, name="Softmax", advice=SOFTMAX_AT_LARGE_INPUTS)
    assert_values("Softmax.forward at large inputs", x, output, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]],
                  hint="\nEach row is a softmax on its own: [1e4, 0, -1e4] gives [1, 0, 0], and equal values 1/3 each")
    assert_values("Softmax.backward with upstream gradient 1 (the rows sum to 1, a constant)", x, grad,
                  np.zeros_like(x))


def softmax_shifted_by(shift):
    """A Softmax.forward that subtracts ``shift(x)`` before e^x."""
    def forward(ctx, x, axis=-1):
        e = np.exp(x - shift(x))
        ctx.out = e / np.sum(e, axis=axis, keepdims=True)
        ctx.axis = axis
        return ctx.out
    return staticmethod(forward)


@pytest.mark.parametrize("shift, diagnosis", [
    (lambda x: 0.0, r"Without a shift, e\^x overflows"),
    (lambda x: x.max(), r"A whole row became 0 after the shift \(0/0\): the m subtracted from it was larger than "
                        r"that row's own maximum"),
])
def test_a_softmax_without_a_shift_and_one_shifted_by_the_global_maximum_are_told_apart(monkeypatch, shift, diagnosis):
    monkeypatch.setattr(F.Softmax, "forward", softmax_shifted_by(shift))
    with pytest.raises(AssertionError, match=r"NumPy reported .*\n" + diagnosis) as failure:
        test_softmax_is_stable_at_large_inputs()
    assert "Hint" not in str(failure.value) and more_help("4.7") in str(failure.value)


# --- the public API, through Tensor.backward (reference) ------------------------------------------
PAIRS = [
    (act.step, act.Step, F.Step, {}),
    (act.sigmoid, act.Sigmoid, F.Sigmoid, {}),
    (act.tanh, act.Tanh, F.Tanh, {}),
    (act.relu, act.ReLU, F.ReLU, {}),
    (act.leaky_relu, act.LeakyReLU, F.LeakyReLU, {"alpha": 0.1}),
    (act.swish, act.Swish, F.Swish, {}),
    (act.softmax, act.Softmax, F.Softmax, {"axis": 0}),
    (act.log_softmax, act.LogSoftmax, F.LogSoftmax, {"axis": 0}),
]
IDS = [pair[0].__name__ for pair in PAIRS]


@reference_only
@pytest.mark.parametrize("function, module, primitive, options", PAIRS, ids=IDS)
def test_public_function_and_module_agree_with_the_primitive(function, module, primitive, options):
    x = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    grad_out = np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32)
    expected, (expected_grad,) = run_function(primitive, x, grad_out=grad_out, **options)
    for name, call in [(function.__name__, lambda t: function(t, **options)), (module.__name__, module(**options))]:
        t = nn.Tensor(x, requires_grad=True)
        y = call(t)
        assert isinstance(y, nn.Tensor) and y.dtype == np.float32, f"{name} returned {y!r}"
        y.backward(grad_out)
        np.testing.assert_allclose(y.data, expected, rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(t.grad, expected_grad, rtol=1e-6, err_msg=name)


@reference_only
@pytest.mark.parametrize("function, module, primitive, options", PAIRS, ids=IDS)
def test_stable_in_float32_through_tensors(function, module, primitive, options):
    x = nn.Tensor(np.array([[-1e4, -50.0, 0.0], [50.0, 1e4, 3.0]], dtype=np.float32), requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        y = function(x, **options)
        (y * y).sum().backward()
    assert np.isfinite(y.data).all() and np.isfinite(x.grad).all(), f"{function.__name__}: {y.data}, {x.grad}"


@reference_only
def test_modules_inside_sequential_train_through():
    model = nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(0)), act.LeakyReLU(0.1), act.Swish(),
                          nn.Linear(4, 2, rng=np.random.default_rng(1)), act.Tanh(), act.Softmax(axis=-1))
    x = nn.Tensor(np.random.default_rng(2).normal(size=(5, 3)))
    y = model(x)
    assert y.shape == (5, 2) and np.allclose(y.data.sum(axis=1), 1.0, atol=1e-6)
    (y * nn.Tensor(np.array([1.0, -1.0], dtype=np.float32))).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    assert model.parameters() and act.ReLU().parameters() == []
    assert "LeakyReLU(alpha=0.1)" in repr(model) and "Softmax(axis=-1)" in repr(model)


@reference_only
def test_activations_keep_float64():
    x = nn.Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    assert x.dtype == np.float64
    for function, *_ in PAIRS:
        assert function(x).dtype == np.float64, f"{function.__name__} changed float64 to {function(x).dtype}"


@reference_only
@pytest.mark.parametrize("function, module, primitive, options", PAIRS, ids=IDS)
def test_gradcheck_through_tensors(function, module, primitive, options):
    x = nn.Tensor(np.array([[-1.5, 0.3, 2.0], [0.7, -0.2, 1.1]]), requires_grad=True)
    grad_out = np.random.default_rng(3).normal(size=x.shape)
    function(x, **options).backward(grad_out)
    expected = numerical_grads(lambda a: function(nn.Tensor(a), **options).data, [x.data], grad_out)[0]
    np.testing.assert_allclose(x.grad, expected, rtol=1e-5, atol=1e-8, err_msg=function.__name__)


# --- Task 8.4: log_softmax -----------------------------------------------------------------------
LOG_SOFTMAX_STABLE = ("\nExpected log_softmax(x) = x − m − log Σ e^(x − m) with m the maximum along the axis: every "
                      "exponent is then ≤ 0 and the sum ≥ 1, so nothing overflows and the log never sees 0; "
                      + more_help("8.4"))


def log_softmax64(x, axis: int = -1):
    """The oracle, in float64: log Σ eˣ by NumPy's logaddexp, which never overflows."""
    x = np.asarray(x, dtype=np.float64)
    return x - np.logaddexp.reduce(x, axis=axis, keepdims=True)


@pytest.mark.task8_4
@pytest.mark.parametrize("axis", [-1, 0])
def test_log_softmax_values(axis):
    _, _, output = run_forward(F.LogSoftmax, ROWS, axis=axis)  # forward alone: a backward to come must not hide it
    assert_values(f"LogSoftmax.forward with axis={axis}", ROWS, output, log_softmax64(ROWS, axis),
                  hint="\nlog_softmax(x)_i = x_i − log Σ_j e^x_j along the axis (its exponentials sum to 1)")


@pytest.mark.task8_4
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_log_softmax_backward_along_each_axis(axis):
    """Before the generated check: a slip about the axis (one fixed in backward) shown on a small array."""
    grad_out = np.arange(1.0, 1.0 + ROWS.size).reshape(ROWS.shape)
    with naming(f"LogSoftmax.backward with axis={axis} for x = {ROWS.tolist()} and grad = {grad_out.tolist()} (x's shape)"):
        _, (grad,) = run_function(F.LogSoftmax, ROWS, grad_out=grad_out, axis=axis)
    softmax = np.exp(log_softmax64(ROWS, axis))
    expected = grad_out - softmax * grad_out.sum(axis=axis, keepdims=True)
    softmax_backward = softmax * (grad_out - (grad_out * softmax).sum(axis=axis, keepdims=True))
    if grad is not None and np.shape(grad) == ROWS.shape and np.allclose(grad, softmax_backward):
        hint = ("\nthat is softmax's backward, s · (g − Σ g·s) with s = softmax(x). Log-softmax has another "
                "derivative: ∂ log s_i / ∂x_j = δ_ij − s_j, so its backward is g − s · Σ g")
    else:
        hint = (f"\ng − softmax(x) · Σ g, the sum taken along axis={axis}: the axis forward was given (saved on ctx), "
                "in backward too")
    assert_values(f"LogSoftmax.backward with axis={axis} and grad {grad_out.tolist()}", ROWS, grad, expected, hint=hint)


@pytest.mark.task8_4
@generated
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=st.floats(-30, 30)),
       st.data())
def test_log_softmax_gradcheck(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    output, _ = run_function(F.LogSoftmax, x, axis=axis)
    assert_values(f"LogSoftmax.forward with axis={axis}", x, output, log_softmax64(x, axis), rtol=1e-9, atol=1e-9)
    assert_function_gradients(F.LogSoftmax, x, axis=axis)


@pytest.mark.task8_4
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_is_exact_and_finite_at_plus_minus_1e4(dtype):
    """log(softmax(x)) would give log(0) = −inf here; log_softmax gives the exact differences."""
    x = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]], dtype=dtype)
    output, (grad,) = forward_backward_strict(F.LogSoftmax, x, name="LogSoftmax", advice=LOG_SOFTMAX_STABLE)
    assert_values("LogSoftmax.forward at large inputs", x, output, [[0.0, -1e4, -2e4], [-np.log(3)] * 3],
                  hint=LOG_SOFTMAX_STABLE)
    assert_values("LogSoftmax.backward with upstream gradient 1 (g − softmax(x) · Σ g: each row's Σ g is 3)", x, grad,
                  [[-2.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    assert output.dtype == dtype, f"LogSoftmax.forward on {np.dtype(dtype).name} should stay {np.dtype(dtype).name}, got {output.dtype}"


@reference_only
def test_log_softmax_axis_is_checked():
    with pytest.raises(ValueError, match=r"log_softmax: axis 2 is out of range"):
        act.log_softmax(nn.Tensor(np.zeros((2, 3))), axis=2)
    with pytest.raises(TypeError, match="log_softmax: axis must be one integer"):
        act.LogSoftmax(axis=None)


# --- bad input (reference) --------------------------------------------------------------------
@reference_only
@pytest.mark.parametrize("axis", [2, -3])
def test_softmax_axis_out_of_range(axis):
    with pytest.raises(ValueError, match=rf"softmax: axis {axis} is out of range for an input of shape \(2, 3\)"):
        act.softmax(nn.Tensor(np.zeros((2, 3))), axis=axis)


@reference_only
@pytest.mark.parametrize("axis", [None, 1.0, (0, 1), True])
def test_softmax_axis_must_be_one_integer(axis):
    with pytest.raises(TypeError, match="softmax: axis must be one integer"):
        act.softmax(nn.Tensor(np.zeros((2, 3))), axis=axis)
    with pytest.raises(TypeError, match="softmax: axis must be one integer"):
        act.Softmax(axis)


@reference_only
@pytest.mark.parametrize("alpha", ["0.1", None, float("nan"), np.array([0.1, 0.2])])
def test_leaky_relu_alpha_must_be_a_number(alpha):
    with pytest.raises(TypeError, match="leaky_relu: alpha"):
        act.leaky_relu(nn.Tensor([1.0, -1.0]), alpha=alpha)
    with pytest.raises(TypeError, match="leaky_relu: alpha"):
        act.LeakyReLU(alpha)


@reference_only
def test_integer_input_is_a_clear_error():
    with pytest.raises(TypeError, match="floating-point"):
        act.relu(np.array([1, -2]))


@reference_only
def test_matches_torch_where_available():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).normal(scale=3, size=(4, 5))
    grad_out = np.random.default_rng(5).normal(size=(4, 5))
    oracles = {
        "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "swish": torch.nn.functional.silu,
        "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01),
        "softmax": lambda t: torch.softmax(t, dim=-1),
        "log_softmax": lambda t: torch.log_softmax(t, dim=-1),
    }
    for name, oracle in oracles.items():
        t = torch.tensor(x, requires_grad=True)
        oracle(t).backward(torch.tensor(grad_out))
        ours = nn.Tensor(x, requires_grad=True)
        out = getattr(act, name)(ours)
        out.backward(grad_out)
        np.testing.assert_allclose(out.data, oracle(torch.tensor(x)).numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(ours.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)

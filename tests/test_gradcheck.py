"""The numerical derivative (task 1.1) and gradcheck, the kit's own gradient test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

import nn


# --- Task 1.1: central difference ------------------------------------------------------
def cube(x):
    return x**3


@pytest.mark.task1_1
def test_central_difference_of_x_cubed():
    eps = 1e-3
    got = nn.central_difference(cube, 2.0, eps=eps)
    # exact for a cubic: ((x+ε)³ − (x−ε)³) / 2ε = 3x² + ε²
    expected = 3 * 2.0**2 + eps**2
    one_sided = (cube(2.0 + eps) - cube(2.0)) / eps
    assert got is not None, "central_difference returned None: did you forget the return?"
    assert isinstance(got, (float, np.floating, np.ndarray)), (
        f"central_difference(x³, 2.0) returned {got!r}, a {type(got).__name__}: expected a number, the slope "
        f"(f(x + ε) − f(x − ε)) / (2ε) itself (for an array x, an array of the same shape)"
    )
    coarse = nn.central_difference(cube, 2.0, eps=0.1)
    if coarse == got:  # a step of its own instead of eps
        raise AssertionError(
            f"central_difference(x³, 2, eps=...) gave {got!r} for eps={eps} and for eps=0.1 alike: it ignores "
            f"its eps argument. The step to both sides is ε = eps: (f(2 + ε) − f(2 − ε)) / (2ε) is "
            f"{expected:.9g} for eps={eps} and {3 * 2.0**2 + 0.1**2:.9g} for eps=0.1"
        )
    if math.isclose(got, one_sided, rel_tol=1e-9):
        raise AssertionError(
            f"central_difference(x³, 2, eps={eps}) gave {got:.9g}: that is the one-sided difference "
            f"(f(x+ε) − f(x)) / ε. Step to both sides: (f(x + ε) − f(x − ε)) / (2ε) = {expected:.9g}"
        )
    if math.isclose(got, 2 * expected, rel_tol=1e-9):
        raise AssertionError(
            f"central_difference(x³, 2, eps={eps}) gave {got:.9g}, twice the slope: the chord from "
            f"x − ε to x + ε is 2ε wide, so divide by 2 * eps"
        )
    assert math.isclose(got, expected, rel_tol=1e-9), (
        f"central_difference(x³, 2, eps={eps}): expected (f(2 + ε) − f(2 − ε)) / (2ε) = {expected:.9g}, got {got!r}"
    )


def test_a_central_difference_that_ignores_eps_is_told_so(monkeypatch):
    """Not 'expected 12.000001, got 12.000000000789157', which reads like a rounding problem."""
    monkeypatch.setattr(nn, "central_difference", lambda f, x, eps=1e-6: (f(x + 1e-6) - f(x - 1e-6)) / 2e-6)
    with pytest.raises(AssertionError, match=r"for eps=0\.001 and for eps=0\.1 alike: it ignores its eps argument\. "
                                             r".* is 12\.000001 for eps=0\.001 and 12\.01 for eps=0\.1$"):
        test_central_difference_of_x_cubed()


@pytest.mark.task1_1
@pytest.mark.parametrize("f, df, x", [
    (math.sin, math.cos, 0.3), (math.exp, math.exp, -1.2), (lambda x: x * x, lambda x: 2 * x, 5.0),
    (math.log, lambda x: 1 / x, 2.5), (lambda x: 7.0, lambda x: 0.0, 1.0),
])
def test_central_difference_of_known_derivatives(f, df, x):
    got = nn.central_difference(f, x)
    assert got == pytest.approx(df(x), rel=1e-6, abs=1e-8), (
        f"central_difference at x = {x}: the derivative is {df(x):.8g}, got {got!r}"
    )


@pytest.mark.task1_1
def test_central_difference_uses_eps():
    got_coarse = nn.central_difference(cube, 1.0, eps=0.1)
    assert got_coarse == pytest.approx(3.01), (
        f"central_difference(x³, 1, eps=0.1) should be ((1.1)³ − (0.9)³) / 0.2 = 3.01, got {got_coarse!r}: "
        f"use the eps argument, not a fixed step"
    )


@pytest.mark.task1_1
def test_central_difference_works_elementwise_on_arrays():
    x = np.array([0.0, 0.3, 0.5, 0.7, 1.0, 1.3])  # x + ε − 2ε + ε is not x again for 0.3, 0.7 and 1.3
    given = x.copy()
    got = nn.central_difference(np.sin, given)
    assert np.array_equal(given, x), (
        f"central_difference(np.sin, x) changed the array x it was given: {x.tolist()} became {given.tolist()}. "
        "The caller still needs x as it was: compute x + ε and x − ε as new arrays, "
        "and leave x as it is"
    )
    assert np.shape(got) == x.shape and np.allclose(got, np.cos(x), rtol=1e-7), (
        f"central_difference(np.sin, {x.tolist()}) should be cos(x) = {np.cos(x).tolist()}, got {got!r}"
    )


@pytest.mark.task1_1
@settings(max_examples=examples(40), deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=4), st.floats(-2, 2))
def test_central_difference_of_polynomials(coefficients, x):
    poly = np.polynomial.Polynomial(coefficients)
    assert nn.central_difference(poly, x, eps=1e-4) == pytest.approx(poly.deriv()(x), rel=1e-6, abs=1e-6)


# --- gradcheck (reference) -------------------------------------------------------------------
class Relu(nn.Function):
    """A kinked function for the tests (act/ has the real one)."""

    @staticmethod
    def forward(ctx, a):
        ctx.a = a
        return np.maximum(a, 0)

    @staticmethod
    def backward(ctx, grad):
        return grad * (ctx.a > 0)


class SquareWithWrongGradient(nn.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.a = a
        return a * a

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.a  # should be 2a


class IgnoresIncomingGradient(nn.Function):
    @staticmethod
    def forward(ctx, a):
        return 3 * a

    @staticmethod
    def backward(ctx, grad):
        return np.full_like(grad, 3.0)  # should be 3 * grad


def leaf(values) -> nn.Tensor:
    return nn.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_gradcheck_passes_correct_gradients():
    assert nn.gradcheck(lambda a, b: (a * b + a.exp()).sum(axis=0), leaf(np.ones((2, 3))), leaf([1.0, 2.0, 3.0]))


def test_gradcheck_reports_input_index_expected_and_computed():
    with pytest.raises(nn.GradcheckError) as error:
        nn.gradcheck(lambda t: SquareWithWrongGradient.apply(t), leaf([1.0, 2.0, 3.0]))
    message = str(error.value)
    assert "input 0" in message and "(0,)" in message, message
    assert "central difference gives 2" in message.replace("2.0", "2") or "gives 2" in message, message
    assert "backward gave 1" in message, message


def test_gradcheck_names_the_failing_input():
    with pytest.raises(AssertionError, match=r"input 1 \(b, shape \(2,\)\) at index \(0,\)"):
        nn.gradcheck(lambda a, b: a + SquareWithWrongGradient.apply(b), leaf([1.0, 1.0]), leaf([2.0, 3.0]))


def test_gradcheck_numbers_the_inputs_of_a_function_without_parameter_names():
    with pytest.raises(AssertionError, match=r"^gradcheck: input 1 \(shape \(2,\)\) at index \(0,\)"):
        nn.gradcheck(lambda *t: t[0] + SquareWithWrongGradient.apply(t[1]), leaf([1.0, 1.0]), leaf([2.0, 3.0]))


def test_gradcheck_names_a_modules_input_after_its_forward():
    class Squares(nn.Module):
        def forward(self, images):
            return SquareWithWrongGradient.apply(images)

    with pytest.raises(AssertionError, match=r"^gradcheck\(Squares\): input 0 \(images, shape \(2,\)\)"):
        nn.gradcheck(Squares(), leaf([2.0, 3.0]))


def test_gradcheck_shows_a_small_input_but_not_a_large_one():
    """A wrong gradient of a 4-D image batch printed all its numbers before any advice that followed."""
    for size, shown in ((3, True), (180, False)):
        with pytest.raises(nn.GradcheckError) as error:
            nn.gradcheck(lambda t: SquareWithWrongGradient.apply(t), leaf(np.full(size, 2.0)))
        message = str(error.value)
        assert ("input 0 = [2. 2. 2.]" in message) == shown and len(message.splitlines()) <= 2, message


def test_gradcheck_catches_a_backward_that_ignores_its_incoming_gradient():
    with pytest.raises(nn.GradcheckError):
        nn.gradcheck(lambda t: IgnoresIncomingGradient.apply(t), leaf([1.0, 2.0]))


def test_gradcheck_explains_a_kink():
    with pytest.raises(nn.GradcheckError, match=r"index \(1,\), value 0 sits within eps of a kink.*left 0, right 0\.7"):
        nn.gradcheck(lambda t: Relu.apply(t), leaf([1.0, 0.0, -1.0]))


def test_gradcheck_can_skip_kinks_but_still_checks_the_rest():
    assert nn.gradcheck(lambda t: Relu.apply(t), leaf([1.0, 0.0, -1.0]), skip_kinks=True)
    with pytest.raises(nn.GradcheckError, match="index \\(1,\\)"):  # (0,) is the skipped kink
        nn.gradcheck(lambda t: Relu.apply(t) + SquareWithWrongGradient.apply(t), leaf([0.0, -1.0, 2.0]), skip_kinks=True)


def test_gradcheck_does_not_mistake_a_wrong_gradient_for_a_kink():
    with pytest.raises(nn.GradcheckError) as error:
        nn.gradcheck(lambda t: SquareWithWrongGradient.apply(t), leaf([0.5]))
    assert "kink" not in str(error.value)


def test_gradcheck_checks_only_inputs_that_require_grad_and_passes_others_through():
    labels = np.array([2, 0])
    constant = nn.Tensor(np.array([5.0, 6.0]))

    def picked(x, c, labels):
        assert labels.dtype.kind == "i"
        return (x * nn.Tensor(np.eye(3)[labels]) * c.reshape(2, 1)).sum()

    assert nn.gradcheck(picked, leaf(np.ones((2, 3))), constant, labels)
    assert constant.grad is None


def test_gradcheck_works_on_float64_copies():
    x = nn.Tensor([1.0, 2.0], requires_grad=True)  # float32
    assert nn.gradcheck(lambda t: (t * t).sum(), x)
    assert x.grad is None and x.dtype == np.float32, "gradcheck must not touch its inputs"


def test_gradcheck_refuses_float32_inside_fn():
    weights = nn.Tensor([1.0, 2.0])  # float32 data that is not one of the inputs
    with pytest.raises(TypeError, match="float64"):
        nn.gradcheck(lambda t: nn.Tensor(t.data.astype(np.float32)) * weights, leaf([1.0, 1.0]))


def test_gradcheck_needs_something_to_check():
    with pytest.raises(ValueError, match="requires_grad"):
        nn.gradcheck(lambda t: t * 2, nn.Tensor(np.ones(2)))


def test_gradcheck_needs_a_tensor_result():
    with pytest.raises(TypeError, match="Tensor"):
        nn.gradcheck(lambda t: 1.0, leaf([1.0]))


def test_gradcheck_of_a_scalar_input():
    assert nn.gradcheck(lambda t: t * t * t, leaf(1.5))

"""Loss functions (loss/): cross-entropy and MSE — values, gradients, stability, bad input.

Task tests (tasks 5.1, 5.2) call a Function's forward/backward directly on arrays.
The other tests go through the public API and ``Tensor.backward`` and run
against the reference only.
"""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from helpers import (assert_function_gradients, assert_values, forward_backward_strict, more_help, numerical_grads,
                     run_forward, run_function)
from test_act import generated, reference_only

import loss
import nn
from loss import functions as F

LOGITS = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
LABELS = np.array([0, 2])
#: What NumPy reports at logits of ±1e4 points at the slip.
STABLE_LOG_SOFTMAX = {
    "overflow": " Without a shift, e^z overflows for z = 1e4. Expected: log softmax(z)ⱼ = zⱼ − m − log Σₖ e^(zₖ − m) "
                "with m the maximum of each row, so that every exponent is ≤ 0; " + more_help("5.1"),
    "divide by zero": " log(0): a probability, or a sum of e^(zₖ − m), rounded to 0 (e^-20000 is 0 in floats). "
                      "Expected: log softmax from the logits shifted by each row's own maximum m, "
                      "zⱼ − m − log Σₖ e^(zₖ − m) (that sum is ≥ 1), never the log of a probability; "
                      + more_help("5.1"),
    "invalid value": " 0/0: a whole row of e^(zₖ − m) became 0, so the m subtracted from it was larger than that "
                     "row's own maximum. Expected: m is the maximum of each row on its own; " + more_help("5.1"),
}


def log_softmax64(z):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def expected_cross_entropy(z, labels):
    return -log_softmax64(z)[np.arange(len(labels)), labels].mean()


def labels_for(n: int, c: int):
    return hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1))


def logits_and_labels(max_n: int = 5, max_c: int = 6, bound: float = 10):
    @st.composite
    def logits_labels(draw):
        n, c = draw(st.integers(1, max_n)), draw(st.integers(1, max_c))
        z = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-bound, bound)))
        return z, draw(labels_for(n, c))
    return logits_labels()


def assert_one_number(name: str, output: np.ndarray, mean: str) -> None:
    assert output.shape == (), (
        f"{name}.forward returned an array of shape {output.shape}; a loss is one number, {mean}: "
        f"a 0-d array (np.asarray of the mean)"
    )


# --- 5.1 cross-entropy -------------------------------------------------------------------------
@pytest.mark.task5_1
def test_cross_entropy_value():
    *_, output = run_forward(F.CrossEntropy, LOGITS, labels=LABELS)
    expected = expected_cross_entropy(LOGITS, LABELS)
    n = len(LABELS)
    assert_one_number("CrossEntropy", output, f"the mean over the N = {n} rows of −log softmax at the label")
    hint = ""
    if np.isclose(output, n * expected):
        hint = f"\nYour loss is N = {n} times the expected one: the loss is the mean over the N rows, not their sum."
    elif np.isclose(output, -expected):
        hint = "\nYour loss has the wrong sign: expected minus the mean of log softmax at the label (a loss ≥ 0)."
    assert_values(f"CrossEntropy.forward (the mean loss: one number, a 0-d array) with labels {LABELS.tolist()}",
                  LOGITS, output, expected, hint=hint or "\nloss = mean over rows i of -log softmax(logits[i])[labels[i]]")


@pytest.mark.task5_1
def test_cross_entropy_of_a_confident_wrong_prediction_is_large():
    """logits [0, 40], label 0: p(label) = e⁻⁴⁰ ≈ 4e-18, so the loss is 40. An ε added inside the log
    (log(p + 1e-12)) caps it at −log ε ≈ 27.6, and a too small loss gives a too small push."""
    z = np.array([[0.0, 40.0]])
    output, _ = run_function(F.CrossEntropy, z, labels=np.array([0]))
    got = float(np.asarray(output))
    hint = (f"\n{got:.4g} is about −log ε for an ε = {np.exp(-got):.0e} added inside the log: it caps the loss of a "
            "confident wrong prediction. The stable form, log softmax(z)ⱼ = zⱼ − m − log Σₖ e^(zₖ − m), never takes "
            "the log of 0, so it needs no ε" if 10 < got < 39 else "")
    assert_values("CrossEntropy.forward with labels [0]", z, output, expected_cross_entropy(z, np.array([0])),
                  rtol=1e-6, hint=hint)


@pytest.mark.task5_1
@generated
@given(logits_and_labels(bound=30))
def test_cross_entropy_is_minus_log_softmax_at_the_label(case):
    z, labels = case
    output, _ = run_function(F.CrossEntropy, z, labels=labels)
    assert_values(f"CrossEntropy.forward with labels {labels.tolist()}", z, output,
                  expected_cross_entropy(z, labels), rtol=1e-9, atol=1e-12)


@pytest.mark.task5_1
def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    _, (grad,) = run_function(F.CrossEntropy, LOGITS, labels=LABELS)
    probs = np.exp(log_softmax64(LOGITS))
    expected = (probs - np.eye(3)[LABELS]) / len(LABELS)
    hint = "\n(softmax − onehot) / N, times the upstream gradient"
    if np.allclose(grad, expected * len(LABELS)):
        hint = f"\nYour gradient is N = {len(LABELS)} times the expected one: the loss is a mean over the N rows."
    elif np.allclose(grad, -expected):
        hint = "\nYour gradient has the wrong sign: expected (softmax − onehot) / N, you have its negative."
    assert_values(f"CrossEntropy.backward with labels {LABELS.tolist()} and upstream gradient 1", LOGITS, grad,
                  expected, hint=hint)


@pytest.mark.task5_1
@generated
@given(logits_and_labels())
def test_cross_entropy_gradcheck(case):
    z, labels = case
    assert_function_gradients(F.CrossEntropy, z, labels=labels,
                     factor_names={len(labels): f"N = {len(labels)}, the number of rows (the loss is their mean)."})


@pytest.mark.task5_1
@generated
@given(logits_and_labels())
def test_one_hot_and_integer_labels_agree(case):
    z, labels = case
    one_hot = np.eye(z.shape[1])[labels]
    grad_out = np.array(0.7)
    by_index, (grad_index,) = run_function(F.CrossEntropy, z, labels=labels, grad_out=grad_out)
    by_one_hot, (grad_one_hot,) = run_function(F.CrossEntropy, z, labels=one_hot, grad_out=grad_out)
    assert_values("CrossEntropy.forward with one-hot labels (must equal integer labels)", z, by_one_hot, by_index)
    assert_values("CrossEntropy.backward with one-hot labels (must equal integer labels)", z, grad_one_hot,
                  grad_index)


def assert_float32(name: str, output, grads) -> None:
    """A loss of float32 inputs, and its gradients, stay float32 (NumPy makes float64 of an array built without
    a dtype, such as np.eye(C) or np.zeros(n), and of anything combined with one)."""
    assert np.asarray(output).dtype == np.float32, (
        f"{name}.forward returned {np.asarray(output).dtype} for float32 inputs; keep the inputs' dtype, float32")
    for position, grad in enumerate(grads):
        assert grad is None or np.asarray(grad).dtype == np.float32, (
            f"{name}.backward returned a gradient of dtype {np.asarray(grad).dtype} for input {position}, of dtype "
            f"float32; a gradient has its input's dtype (an array made without a dtype, such as np.eye(C), is "
            f"float64, and so is anything computed with it)")


@pytest.mark.task5_1
def test_cross_entropy_keeps_float32():
    output, grads = run_function(F.CrossEntropy, LOGITS.astype(np.float32), labels=LABELS)
    assert_float32("CrossEntropy", output, grads)


@pytest.mark.task5_1
def test_cross_entropy_is_stable_at_large_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, 0.0]], dtype=np.float32)
    labels = np.array([0, 0, 2])
    output, (grad,) = forward_backward_strict(F.CrossEntropy, z, name="CrossEntropy", advice=STABLE_LOG_SOFTMAX,
                                              labels=labels)
    # rows: -log 1 = 0; -log(e^-2e4 / 2) = 2e4 + log 2; -log(1/3) = log 3
    expected = (0.0 + (2e4 + np.log(2)) + np.log(3)) / 3
    assert_values("CrossEntropy.forward at large logits", z, output, expected, rtol=1e-5,
                  hint="\nExpected each row's −log softmax at its label on its own (rows: 0, 20000 + log 2, log 3)")
    assert_values("CrossEntropy.backward at large logits", z, grad,
                  np.array([[0, 0, 0], [-1, 0.5, 0.5], [1 / 3, 1 / 3, -2 / 3]]) / 3, rtol=1e-5, atol=1e-7)
    assert np.asarray(output).dtype == np.float32, f"CrossEntropy turned float32 logits into {np.asarray(output).dtype}"


# --- 5.2 MSE ---------------------------------------------------------------------------------------
PRED = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]])
TARGET = np.array([[1.5, 2.0], [1.0, 4.0], [0.0, 1.0]])


@pytest.mark.task5_2
def test_mse_value():
    *_, output = run_forward(F.MSE, PRED, TARGET)
    expected = np.mean((PRED - TARGET) ** 2)  # (0.25 + 4 + 4) / 6
    assert_one_number("MSE", output, f"the mean over all {PRED.size} elements of (pred − target)²")
    hint = "\nmse = mean over all elements of (pred − target)²"
    if np.isclose(output, PRED.size * expected):
        hint = f"\nYour loss is {PRED.size} times the expected one: the mean over all elements, not their sum."
    elif np.isclose(output, len(PRED) * expected):
        hint = (f"\nYour loss is {len(PRED)} times the expected one: the mean is over all {PRED.size} elements, "
                f"not over the {len(PRED)} rows.")
    assert_values(f"MSE.forward with target {TARGET.tolist()}", PRED, output, expected, hint=hint)


@pytest.mark.task5_2
def test_mse_gradients():
    _, (grad_pred, grad_target) = run_function(F.MSE, PRED, TARGET)
    expected = 2 * (PRED - TARGET) / PRED.size
    hint = ""
    if np.allclose(grad_pred, -expected):
        hint = "\nThe gradient for pred has the wrong sign: expected 2 (pred − target) / n."
    elif np.allclose(grad_pred, expected * PRED.size):
        hint = f"\nYour gradient is n = {PRED.size} times the expected one, 2 (pred − target) / n with n = {PRED.size}."
    elif np.allclose(grad_pred, expected / 2):
        hint = "\nYour gradient is half the expected one: the derivative of d² is 2d."
    assert_values("MSE.backward, gradient for pred", PRED, grad_pred, expected, hint=hint)
    same_sign = ("\nThe gradient for target has the wrong sign: target enters the loss as −target, so its gradient "
                 "is minus the one for pred." if grad_target is not None and np.allclose(grad_target, expected) else "")
    assert_values("MSE.backward, gradient for target (minus the one for pred)", TARGET, grad_target, -expected,
                  hint=same_sign)


@pytest.mark.task5_2
@generated
@given(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4).flatmap(
    lambda shape: st.tuples(*[hnp.arrays(np.float64, shape, elements=st.floats(-10, 10))] * 2)))
def test_mse_gradcheck(pair):
    pred, target = pair
    assert_function_gradients(F.MSE, pred, target,
                     factor_names={pred.size: f"n = {pred.size}, the number of elements (the loss is their mean)."})


@pytest.mark.task5_2
def test_mse_keeps_float32():
    output, grads = run_function(F.MSE, PRED.astype(np.float32), TARGET.astype(np.float32))
    assert_float32("MSE", output, grads)


@pytest.mark.task5_2
def test_mse_is_stable_at_large_inputs():
    pred = np.array([1e4, -1e4, 0.0], dtype=np.float32)
    target = np.array([-1e4, 1e4, 0.0], dtype=np.float32)
    output, (grad_pred, _) = forward_backward_strict(F.MSE, pred, target, name="MSE")
    assert_values("MSE.forward at large inputs", pred, output, 2 * 4e8 / 3, rtol=1e-6)
    assert_values("MSE.backward at large inputs", pred, grad_pred, [4e4 / 3, -4e4 / 3, 0.0], rtol=1e-6)


# --- the public API, through Tensor.backward (reference) ------------------------------------------
@reference_only
def test_cross_entropy_backward_through_tensors():
    logits = nn.Tensor(LOGITS.astype(np.float32), requires_grad=True)
    value = loss.cross_entropy(logits, LABELS)
    assert value.shape == () and value.dtype == np.float32
    value.backward()
    expected = (np.exp(log_softmax64(LOGITS)) - np.eye(3)[LABELS]) / len(LABELS)
    np.testing.assert_allclose(value.item(), expected_cross_entropy(LOGITS, LABELS), rtol=1e-6)
    np.testing.assert_allclose(logits.grad, expected, rtol=1e-5, atol=1e-7)


@reference_only
def test_cross_entropy_after_a_linear_layer_matches_central_differences():
    x = np.random.default_rng(0).normal(size=(4, 3))
    weight = nn.Tensor(np.random.default_rng(1).normal(size=(3, 5)), requires_grad=True)
    labels = np.array([4, 0, 2, 2])
    loss.cross_entropy(nn.Tensor(x) @ weight, labels).backward()
    expected = numerical_grads(lambda w: loss.cross_entropy(nn.Tensor(x) @ nn.Tensor(w), labels).data,
                               [weight.data], np.array(1.0))[0]
    np.testing.assert_allclose(weight.grad, expected, rtol=1e-6, atol=1e-9)


@reference_only
def test_accepts_lists_and_one_hot_tensors():
    a = loss.cross_entropy([[1.0, 2.0], [3.0, 0.0]], [1, 0]).item()
    b = loss.cross_entropy(nn.Tensor([[1.0, 2.0], [3.0, 0.0]]), nn.Tensor([[0.0, 1.0], [1.0, 0.0]])).item()
    assert np.isclose(a, b) and np.isclose(a, expected_cross_entropy([[1.0, 2.0], [3.0, 0.0]], [1, 0]), rtol=1e-6)


@reference_only
def test_mse_backward_through_tensors():
    pred = nn.Tensor(PRED.astype(np.float32), requires_grad=True)
    target = nn.Tensor(TARGET.astype(np.float32), requires_grad=True)
    value = loss.mse(pred, target)
    value.backward()
    assert value.shape == () and np.isclose(value.item(), np.mean((PRED - TARGET) ** 2))
    np.testing.assert_allclose(pred.grad, 2 * (PRED - TARGET) / PRED.size, rtol=1e-6)
    np.testing.assert_allclose(target.grad, -2 * (PRED - TARGET) / PRED.size, rtol=1e-6)


@reference_only
def test_mse_takes_the_dtype_of_pred_for_a_plain_target():
    pred = nn.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    value = loss.mse(pred, np.array([0.0, 0.0]))  # a float64 target
    value.backward()
    assert value.dtype == np.float32 and pred.grad.dtype == np.float32


@reference_only
def test_losses_are_stable_in_float32_through_tensors():
    logits = nn.Tensor(np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=np.float32), requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        value = loss.cross_entropy(logits, np.array([1, 1]))
        value.backward()
    assert np.isclose(value.item(), 1e4) and np.isfinite(logits.grad).all()


@reference_only
def test_matches_torch_where_available():
    torch = pytest.importorskip("torch")
    z = np.random.default_rng(6).normal(scale=4, size=(6, 4))
    labels = np.array([0, 3, 1, 1, 2, 0])
    t = torch.tensor(z, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(t, torch.tensor(labels))
    expected.backward()
    ours = nn.Tensor(z, requires_grad=True)
    value = loss.cross_entropy(ours, labels)
    value.backward()
    np.testing.assert_allclose(value.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)


# --- bad input (reference) --------------------------------------------------------------------
def ce(logits=LOGITS, labels=LABELS):
    return loss.cross_entropy(nn.Tensor(logits), labels)


@reference_only
@pytest.mark.parametrize("labels, bad", [([0, 3], 3), ([-1, 0], -1), ([0, 7], 7)])
def test_label_out_of_range_names_the_label_and_c(labels, bad):
    with pytest.raises(ValueError, match=rf"label {bad} \(at position \d\) is out of range: with C = 3 classes"):
        ce(labels=np.array(labels))


@reference_only
@pytest.mark.parametrize("labels", [np.array([0, 1, 2]), np.array([0]), np.array([[0], [1]])])
def test_integer_labels_of_the_wrong_shape(labels):
    with pytest.raises(ValueError, match=r"integer labels must have shape \(N,\) = \(2,\)"):
        ce(labels=labels)


@reference_only
def test_float_labels_of_shape_n_are_not_class_indices():
    with pytest.raises(ValueError, match=r"float labels must be one-hot rows of shape \(N, C\) = \(2, 3\).*integers"):
        ce(labels=np.array([0.0, 2.0]))


@reference_only
@pytest.mark.parametrize("labels", [[[0.5, 0.5, 0.0], [0, 0, 1]], [[1, 1, 0], [0, 0, 1.0]], [[0, 0, 0], [0, 0, 1.0]]])
def test_float_labels_that_are_not_one_hot(labels):
    with pytest.raises(ValueError, match="float labels must be one-hot .* row 0 is"):
        ce(labels=np.array(labels, dtype=np.float32))


@reference_only
def test_n_mismatch_between_one_hot_labels_and_logits():
    with pytest.raises(ValueError, match=r"shape \(N, C\) = \(2, 3\), got shape \(3, 3\)"):
        ce(labels=np.eye(3))


@reference_only
@pytest.mark.parametrize("labels", [np.array([True, False]), np.array(["a", "b"])])
def test_labels_of_another_type(labels):
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        ce(labels=labels)


@reference_only
def test_integer_logits_are_an_error():
    with pytest.raises(TypeError, match="cross_entropy: logits needs floating-point data"):
        loss.cross_entropy(np.array([[1, 2], [3, 4]]), np.array([0, 1]))
    with pytest.raises(TypeError, match="cross_entropy: logits must be floats"):
        F.CrossEntropy.forward(None, np.array([[1, 2], [3, 4]]), labels=np.array([0, 1]))


@reference_only
@pytest.mark.parametrize("shape", [(3,), (2, 3, 1), (0, 3), (2, 0)])
def test_logits_must_be_a_nonempty_matrix(shape):
    with pytest.raises(ValueError, match=rf"logits must have shape \(N, C\).*got shape {re_shape(shape)}"):
        loss.cross_entropy(nn.Tensor(np.zeros(shape)), np.zeros(shape[:1], dtype=np.int64))


def re_shape(shape) -> str:
    return str(shape).replace("(", r"\(").replace(")", r"\)")


@reference_only
def test_mse_shape_mismatch_is_an_error_not_a_broadcast():
    with pytest.raises(ValueError, match=r"mse: pred has shape \(3, 1\) but target has shape \(3,\)"):
        loss.mse(nn.Tensor(np.zeros((3, 1))), np.zeros(3))


@reference_only
def test_mse_integer_target_is_an_error():
    with pytest.raises(TypeError, match="mse: target needs floating-point data"):
        loss.mse(nn.Tensor([1.0, 0.0]), np.array([1, 0]))


@reference_only
def test_mse_of_empty_arrays_is_an_error():
    with pytest.raises(ValueError, match="mse: pred and target are empty"):
        loss.mse(nn.Tensor(np.zeros((0, 2))), np.zeros((0, 2)))

"""Tensor and backward() of the reference: construction, errors, accumulation, deep graphs, graph release.

Also two checks of the whole engine: a random MLP's loss and gradients against
PyTorch (where torch happens to be importable), and an MLP that learns XOR.
"""

from __future__ import annotations

import gc
import re
import threading
import warnings
import weakref

import numpy as np
import pytest
from helpers import run_function

import nn
from nn import functions as F


def leaf(values, dtype=np.float64) -> nn.Tensor:
    return nn.Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# --- construction and properties --------------------------------------------------------
def test_defaults_to_float32_and_keeps_float64():
    assert nn.Tensor([1, 2, 3]).dtype == np.float32
    assert nn.Tensor(2.5).dtype == np.float32
    assert nn.Tensor(np.zeros(3)).dtype == np.float64
    assert nn.Tensor(np.zeros(3), dtype=np.float32).dtype == np.float32
    assert nn.Tensor([1.0], requires_grad=True).requires_grad


@pytest.mark.parametrize("data", [np.arange(3), np.array([True, False]), np.array([1, None], dtype=object),
                                  np.zeros(2, np.float16), "abc", [1.0, None]])
def test_rejects_non_float_data_with_a_type_error(data):
    with pytest.raises(TypeError, match="float|numbers"):
        nn.Tensor(data)


def test_integer_array_message_says_how_to_fix_it():
    with pytest.raises(TypeError, match=r"int64.*astype"):
        nn.Tensor(np.arange(3, dtype=np.int64))


def test_properties():
    t = nn.Tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.T.shape == (3, 2) and np.array_equal(t.T.data, t.data.T)
    assert t.numpy() is t.data
    assert nn.Tensor([[4.0]]).item() == 4.0 and isinstance(nn.Tensor([[4.0]]).item(), float)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        t.item()
    assert "Tensor(" in repr(t) and "requires_grad=True" in repr(leaf([1.0]))


def test_detach_shares_values_but_not_the_graph():
    x = leaf([1.0, 2.0])
    y = (x * 3).detach()
    assert not y.requires_grad and y.parents() == () and np.array_equal(y.data, [3, 6])


def test_comparisons_return_plain_boolean_arrays():
    t = nn.Tensor([1.0, 2.0, 3.0])
    for result, expected in ((t > 2, [False, False, True]), (t >= 2, [False, True, True]),
                             (t < 2, [True, False, False]), (t <= 2, [True, True, False]),
                             (t > nn.Tensor([0.0, 5.0, 1.0]), [True, False, True])):
        assert type(result) is np.ndarray and result.dtype == bool and result.tolist() == expected


def test_ndarray_on_the_left_gives_a_tensor():
    x = leaf([1.0, 2.0])
    for y in (np.ones(2) + x, np.ones(2) * x, np.ones(2) - x, np.ones(2) / x, np.ones((1, 2)) @ leaf([[1.0], [2.0]])):
        assert isinstance(y, nn.Tensor) and y.requires_grad


def test_python_numbers_keep_the_tensor_dtype():
    x32, x64 = nn.Tensor([1.0]), nn.Tensor(np.array([1.0]))
    for y in (x32 + 1.5, 2 * x32, 1 / x32, x32**2, 3 - x32):
        assert y.dtype == np.float32
    for y in (x64 + 1.5, 2 * x64, 1 / x64):
        assert y.dtype == np.float64


def test_pow_needs_a_number_exponent():
    with pytest.raises(TypeError, match="exponent"):
        nn.Tensor([2.0]) ** nn.Tensor([2.0])


# --- backward: errors ---------------------------------------------------------------
def test_backward_on_a_non_scalar_without_grad_names_the_shape():
    y = leaf(np.ones((2, 3))) * 2
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        y.backward()


def test_backward_with_a_grad_of_the_wrong_shape():
    y = leaf(np.ones((2, 3))) * 2
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_with_an_explicit_grad():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).backward(np.array([1.0, 0.0, 2.0]))
    assert np.allclose(x.grad, [2.0, 0.0, 12.0])


@pytest.mark.parametrize("make", [lambda: nn.Tensor([1.0]), lambda: nn.Tensor([1.0]) * 2,
                                  lambda: _inside_no_grad(lambda: leaf([1.0]) * 2)])
def test_backward_on_a_tensor_that_does_not_require_grad(make):
    with pytest.raises(RuntimeError, match="does not require grad"):
        make().sum().backward()


def _inside_no_grad(fn):
    with nn.no_grad():
        return fn()


def test_second_backward_through_a_released_graph_is_a_clear_error():
    x = leaf([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="released.*retain_graph"):
        loss.backward()


def test_backward_into_a_released_part_of_the_graph_is_an_error():
    x = leaf([1.0, 2.0])
    hidden = x * 2
    (hidden * 3).sum().backward()
    with pytest.raises(RuntimeError, match="released"):
        (hidden + 1).sum().backward()


class WrongShape(nn.Function):
    @staticmethod
    def forward(ctx, a):
        return a * 2

    @staticmethod
    def backward(ctx, grad):
        return grad.sum(axis=0)


class WrongCount(nn.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad


def test_backward_names_a_function_that_returns_a_wrong_gradient_shape():
    with pytest.raises(ValueError, match=r"WrongShape\.backward.*\(3,\).*\(2, 3\)"):
        WrongShape.apply(leaf(np.ones((2, 3)))).sum().backward()


class Unsummed(WrongCount):
    """a + b with b broadcast over the rows, and b's gradient not summed back to b's shape."""

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


def test_a_gradient_of_a_broadcast_shape_points_at_sum_to():
    with pytest.raises(ValueError, match=r"Unsummed\.backward.*\(2, 3\) for input 1.*\(3,\).*undo broadcasting with sum_to"):
        Unsummed.apply(leaf(np.ones((2, 3))), leaf(np.ones(3))).sum().backward()


def transposed_mask(grad):
    """An element-wise backward's slip: grad (1, 3) times a mask transposed to (3, 1) broadcasts to (3, 3)."""
    return grad * np.ones(grad.shape).T


@pytest.mark.parametrize("cut", [lambda grad: grad[:, 0], lambda grad: grad[::2, ::2], transposed_mask],
                         ids=["fewer axes", "every other element", "a broadcast shape of a one-input function"])
def test_a_gradient_of_another_shape_gets_no_advice_about_broadcasting(cut):
    class Cut(WrongShape):
        @staticmethod
        def backward(ctx, grad):
            return cut(grad)

    with pytest.raises(ValueError, match=r"Cut\.backward returned a gradient of shape") as error:
        Cut.apply(leaf(np.ones((1, 3)) if cut is transposed_mask else np.ones((4, 4)))).sum().backward()
    assert "sum_to" not in str(error.value), "sum_to undoes broadcasting between inputs; this gradient was not broadcast"


def test_the_gradients_of_several_inputs_may_come_as_a_list():
    class ListOfTwo(nn.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return [grad * 2.0, grad * 3.0]

    a, b = leaf([1.0]), leaf([2.0])
    ListOfTwo.apply(a, b).sum().backward()
    assert a.grad.tolist() == [2.0] and b.grad.tolist() == [3.0]


def test_backward_names_a_function_that_returns_the_wrong_number_of_gradients():
    with pytest.raises(ValueError, match=r"WrongCount\.backward returned 1 gradient\(s\) for 2"):
        WrongCount.apply(leaf([1.0]), leaf([2.0])).sum().backward()


# --- backward: accumulation --------------------------------------------------------------
def test_backward_twice_with_retain_graph_doubles_the_gradient():
    x = leaf([1.0, -2.0, 3.0])
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    once = x.grad.copy()
    loss.backward()
    assert np.allclose(once, 2 * x.data) and np.allclose(x.grad, 2 * once)


def test_zero_grad_resets():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    x.zero_grad()
    assert x.grad is None
    (x * 5).sum().backward()
    assert np.allclose(x.grad, [5.0, 5.0])


def test_a_value_used_twice_gets_both_contributions():
    a = leaf(2.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0, f"c = (a + a) + (a + a) so dc/da = 4, got {a.grad}"


def test_a_reused_intermediate():
    x = leaf([1.0, 2.0])
    hidden = x * x            # used by two consumers
    out = (hidden * 3 + hidden.exp()).sum()
    out.backward()
    assert np.allclose(x.grad, (3 + np.exp(x.data**2)) * 2 * x.data)


def test_leaf_versus_constant():
    w, c = leaf([1.0, 2.0]), nn.Tensor(np.array([3.0, 4.0]))
    (w * c).sum().backward()
    assert np.allclose(w.grad, [3.0, 4.0]) and c.grad is None


def test_leaf_grads_are_owned_arrays_of_the_leaf_dtype():
    x = nn.Tensor([1.0, 2.0], requires_grad=True)
    y = nn.Tensor([3.0, 4.0], requires_grad=True)
    (x + y).sum().backward()       # Add passes the same array on to both inputs
    x.grad += 1
    assert np.allclose(y.grad, [1.0, 1.0]) and x.grad.dtype == np.float32
    assert x.grad.flags.writeable and y.grad.flags.writeable


def test_an_input_without_a_path_to_the_output_keeps_grad_none():
    x, unused = leaf([1.0]), leaf([2.0])
    (x * 2).sum().backward()
    assert unused.grad is None


def test_is_leaf_and_parents():
    x = leaf([1.0])
    y = x * 2
    assert x.is_leaf and x.parents() == () and not y.is_leaf
    assert any(parent is x for parent in y.parents())


# --- deep graphs and memory --------------------------------------------------------------
def test_a_100000_node_chain_has_no_recursion_error():
    x = nn.Tensor(np.array(0.5, dtype=np.float64), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + x             # 100,000 Add nodes in a chain; x feeds every one of them
    y.backward()
    assert x.grad == 100_001.0


def test_intermediates_are_freed_after_backward():
    gc.disable()           # freed by reference counting alone: no cycles for the collector
    try:
        x = leaf(np.ones(3))
        hidden = x * 2
        probe = weakref.ref(hidden)
        loss = (hidden.exp() * 3).sum()
        del hidden
        assert probe() is not None, "the graph keeps the intermediate alive until backward"
        loss.backward()
        assert probe() is None, "after backward the graph is released, so the intermediate is freed"
    finally:
        gc.enable()


def test_retain_graph_keeps_intermediates():
    x = leaf(np.ones(3))
    hidden = x * 2
    probe = weakref.ref(hidden)
    loss = hidden.sum()
    del hidden
    loss.backward(retain_graph=True)
    assert probe() is not None


def test_no_grad_records_nothing():
    x = leaf(np.ones(3))
    gc.disable()
    try:
        with nn.no_grad():
            hidden = x * 2
            out = (hidden + 1).sum()
        probe = weakref.ref(hidden)
        del hidden
        assert not out.requires_grad and out.parents() == ()
        assert probe() is None, "no_grad() must not keep intermediates alive"
    finally:
        gc.enable()
    y = x * 2
    assert y.requires_grad, "no_grad() must switch recording back on when it ends"


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with nn.no_grad():
            1 / 0
    assert (leaf([1.0]) * 2).requires_grad


# --- the whole engine ----------------------------------------------------------------------
def log_softmax(logits: nn.Tensor) -> nn.Tensor:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - shifted.exp().sum(axis=1, keepdims=True).log()


def cross_entropy(logits: nn.Tensor, labels: np.ndarray) -> nn.Tensor:
    """Mean of −log softmax(logits)[i, label_i], from Tensor ops (one-hot mask picks the label)."""
    onehot = np.eye(logits.shape[1], dtype=logits.dtype)[labels]
    return -(log_softmax(logits) * onehot).sum() / len(labels)


def tanh(x: nn.Tensor) -> nn.Tensor:
    """tanh x = 1 − 2 / (e^{2x} + 1), from Tensor ops."""
    return 1.0 - 2.0 / ((x * 2.0).exp() + 1.0)


def test_random_mlp_with_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(8, 5)), rng.integers(0, 4, size=8)
    shapes = [(5, 7), (7,), (7, 4), (4,)]
    arrays = [rng.normal(size=shape) * 0.5 for shape in shapes]

    params = [leaf(a) for a in arrays]
    w1, b1, w2, b2 = params
    loss = cross_entropy(tanh(nn.Tensor(x) @ w1 + b1) @ w2 + b2, labels)
    loss.backward()

    t_params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    tw1, tb1, tw2, tb2 = t_params
    t_logits = torch.tanh(torch.tensor(x) @ tw1 + tb1) @ tw2 + tb2
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.tensor(labels))
    t_loss.backward()

    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-5, abs=1e-12)
    for name, p, tp in zip(("w1", "b1", "w2", "b2"), params, t_params):
        assert np.allclose(p.grad, tp.grad.numpy(), rtol=1e-5, atol=1e-12), f"gradient of {name} differs from torch"


def test_mlp_loss_gradcheck():
    rng = np.random.default_rng(1)
    x, labels = nn.Tensor(rng.normal(size=(4, 3))), rng.integers(0, 3, size=4)

    def loss(w1, b1, w2):
        return cross_entropy(tanh(x @ w1 + b1) @ w2, labels)

    assert nn.gradcheck(loss, leaf(rng.normal(size=(3, 5))), leaf(rng.normal(size=5)), leaf(rng.normal(size=(5, 3))))


def test_reference_mlp_learns_xor():
    act, loss = pytest.importorskip("act"), pytest.importorskip("loss")
    rng = np.random.default_rng(0)
    x = nn.Tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 8, rng=rng), act.Tanh(), nn.Linear(8, 2, rng=rng))
    optimizer = nn.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(300):
        batch_loss = loss.cross_entropy(model(x), y)
        optimizer.zero_grad()
        batch_loss.backward()
        optimizer.step()
    with nn.no_grad():
        predictions = model(x).data.argmax(axis=1)
    assert batch_loss.item() < 0.05 and predictions.tolist() == y.tolist(), (
        f"after 300 steps: loss {batch_loss.item():.4f}, predictions {predictions.tolist()} for XOR {y.tolist()}"
    )


def test_mlp_from_tensor_ops_learns_xor():
    rng = np.random.default_rng(0)
    x = nn.Tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    hidden, out = nn.Linear(2, 8, rng=rng), nn.Linear(8, 2, rng=rng)
    optimizer = nn.Adam(hidden.parameters() + out.parameters(), lr=0.05)
    for _ in range(300):
        batch_loss = cross_entropy(out(tanh(hidden(x))), y)
        optimizer.zero_grad()
        batch_loss.backward()
        optimizer.step()
    assert batch_loss.item() < 0.05, f"after 300 Adam steps the XOR loss is still {batch_loss.item():.4f}"


def test_reference_loss_and_activation_match_the_tensor_op_versions():
    act, loss = pytest.importorskip("act"), pytest.importorskip("loss")
    rng = np.random.default_rng(3)
    logits, labels = rng.normal(size=(6, 4)) * 3, rng.integers(0, 4, size=6)
    a, b = leaf(logits), leaf(logits)
    fused, composed = loss.cross_entropy(act.tanh(a) * 2, labels), cross_entropy(tanh(b) * 2, labels)
    fused.backward()
    composed.backward()
    assert fused.item() == pytest.approx(composed.item(), rel=1e-12)
    assert np.allclose(a.grad, b.grad, rtol=1e-10, atol=1e-14)


def test_function_apply_wraps_arrays_as_constants():
    x = leaf([1.0, 2.0])
    y = F.Mul.apply(x, np.array([3.0, 4.0]))
    assert len(y.parents()) == 2 and not y.parents()[1].requires_grad
    y.sum().backward()
    assert np.allclose(x.grad, [3.0, 4.0]) and y.parents() == (), "backward releases the graph"


def test_leaves_never_share_a_gradient_array():
    """Add passes the same (fresh) gradient array to both inputs; each leaf must get its own."""
    a = nn.Tensor([1.0, 2.0], requires_grad=True)
    b = nn.Tensor([3.0, 4.0], requires_grad=True)
    ((a + b) * 1.0).sum().backward()
    assert a.grad is not b.grad and not np.shares_memory(a.grad, b.grad)
    (a * 2.0 + b).sum().backward()  # accumulates in place: must not leak into the other leaf
    np.testing.assert_array_equal(a.grad, [3.0, 3.0])
    np.testing.assert_array_equal(b.grad, [2.0, 2.0])


def test_backward_does_not_alias_the_callers_gradient():
    w = nn.Tensor([1.0, 2.0], requires_grad=True)
    seed = np.array([1.0, 1.0], dtype=np.float32)
    (w + 0.0).backward(seed)
    w.grad += 1
    np.testing.assert_array_equal(seed, [1.0, 1.0])


# --- the Function contract (Function.checked_forward / checked_backward) --------------------------
def function_returning(forward_result=None, backward_result=None, writes_grad=False):
    """A Function whose forward / backward return the given results (or behave correctly)."""

    class Broken(nn.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2 if forward_result is None else forward_result(a)

        @staticmethod
        def backward(ctx, grad):
            if writes_grad:
                grad *= 2
                return grad
            return grad * 2 if backward_result is None else backward_result(grad)

    return Broken


@pytest.mark.parametrize("result, what", [
    (lambda a: (a * 2).tolist(), r"a list, not a NumPy array"),
    (lambda a: float(a.sum()), r"a Python float, not an array"),
    (lambda a: (a > 0), r"an array of dtype bool; .*float64 here; a comparison gives booleans .*convert to that dtype"),
    (lambda a: None, r"None"),
    (lambda a: nn.Tensor(a), r"a Tensor, not a NumPy array"),
    (lambda a: np.asmatrix(a * 2), r"a numpy\.matrix \(an ndarray subclass"),
])
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.asmatrix, on purpose
def test_a_forward_that_returns_no_float_array_is_named(result, what):
    with pytest.raises(TypeError, match=r"Broken\.forward returned " + what):
        function_returning(forward_result=result).apply(leaf([1.0, 2.0]))


@pytest.mark.parametrize("result, what", [
    (lambda grad: (grad * 2).tolist(), r"a list, not a NumPy array as the gradient of input 0"),
    (lambda grad: np.ones(grad.shape, dtype=np.int64), r"an array of dtype int64"),
    (lambda grad: np.ma.masked_array(grad * 2), r"a numpy\.MaskedArray \(an ndarray subclass"),
])
def test_a_backward_that_returns_no_float_array_is_named(result, what):
    with pytest.raises(TypeError, match=r"Broken\.backward returned " + what):
        function_returning(backward_result=result).apply(leaf([1.0, 2.0])).sum().backward()


class PredMinusTarget(nn.Function):
    """pred − target, whose backward gives pred its gradient and target None."""

    @staticmethod
    def forward(ctx, pred, target):
        return pred - target

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def test_a_backward_that_returns_none_for_an_input_that_needs_a_gradient_says_so():
    """Not 'should return shape (3, 2), got shape ()' (np.asarray(None) is 0-d): that None is the fault."""
    pred, target = np.ones((3, 2)), np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"^PredMinusTarget\.backward returned None as the gradient of input 1 "
                                         r"\(target\), which needs one .*shape \(3, 2\), with zeros where the "
                                         r"derivative is 0$"):
        run_function(PredMinusTarget, pred, target)
    with pytest.raises(ValueError, match=r"returned None as the gradient of input 1"):
        PredMinusTarget.apply(leaf(pred), leaf(target)).sum().backward()
    x = leaf(pred)
    PredMinusTarget.apply(x, nn.Tensor(target)).sum().backward()  # target needs no gradient: None is fine
    assert x.grad.tolist() == np.ones((3, 2)).tolist()


def test_a_backward_that_writes_into_its_grad_is_stopped_before_it_corrupts_another_path():
    """x + f(x): both paths get the same grad array; writing into it would change x's other gradient."""
    x = leaf([1.0, 2.0])
    broken = function_returning(writes_grad=True)
    with pytest.raises(ValueError, match=r"Broken\.backward wrote into its incoming grad.*do not modify grad "
                                         r"in place.*return a new array"):
        (x + broken.apply(x)).sum().backward()


def test_a_forward_that_writes_into_its_input_is_stopped_before_it_corrupts_the_input():
    """relu(x) by x[x < 0] = 0 would change x itself, which x's other uses (and backward) still read."""
    def zero_the_negatives(a):
        a[a < 0] = 0
        return a

    x = leaf([1.0, -2.0])
    with pytest.raises(ValueError, match=r"Broken\.forward wrote into one of its inputs.*do not modify an input "
                                         r"in place.*new array"):
        function_returning(forward_result=zero_the_negatives).apply(x)
    assert x.data.tolist() == [1.0, -2.0] and x.data.flags.writeable


def test_the_grad_is_writeable_again_after_backward():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    x.grad += 1  # the leaf owns its gradient
    assert np.allclose(x.grad, [4.0, 4.0])


def test_no_grad_without_parentheses_says_to_call_it():
    with pytest.raises(TypeError, match=r"with nn\.no_grad\(\):"):
        with nn.no_grad:
            pass
    assert nn.tensor.is_grad_enabled()


# --- edges (issue: robust at the edges) ------------------------------------------------------
def test_transpose_none_reverses_the_axes_like_numpy():
    x = leaf(np.arange(6.0).reshape(1, 2, 3))
    assert x.transpose(None).shape == (3, 2, 1)
    assert np.array_equal(x.transpose(None).data, np.transpose(x.data))


def test_transpose_with_a_negative_axis_has_the_right_gradient():
    a = leaf(np.zeros((2, 2)))
    w = np.array([[1.0, 2.0], [3.0, 4.0]])
    (a.transpose(-1, 0) * w).sum().backward()
    assert a.grad.tolist() == [[1, 3], [2, 4]], f"d/da sum(aᵀ * w) = wᵀ, got {a.grad.tolist()}"
    b = leaf(np.zeros((2, 3)))
    (b.transpose(-1, 0) * np.arange(6.0).reshape(3, 2)).sum().backward()
    assert b.grad.tolist() == np.arange(6.0).reshape(3, 2).T.tolist()


@pytest.mark.parametrize("axes, words", [((0, 0), "twice"), ((0, 2), "out of range"), ((0,), "each of"),
                                         ((0, 1.5), "integer")])
def test_transpose_with_bad_axes_says_what_is_wrong(axes, words):
    with pytest.raises((ValueError, TypeError), match=words) as error:
        nn.Tensor(np.zeros((2, 3))).transpose(axes)
    assert "transpose" in str(error.value)


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reductions_over_an_out_of_range_axis_name_the_op(name):
    with pytest.raises(ValueError, match=rf"{name}: axis -3 is out of range"):
        getattr(nn.Tensor(np.zeros((2, 3))), name)(axis=-3)


def test_the_other_operand_is_promoted_to_the_tensor_dtype():
    t32, t64 = nn.Tensor([1.0, 2.0, 3.0]), nn.Tensor(np.array([1.0, 2.0, 3.0]))
    for other in (np.int64(2), np.float64(2.0), np.int32(2), np.array([1, 2, 3]), np.array([True, False, True])):
        for result in (t32 + other, other + t32, t32 * other, other - t32, t32 / (other + 1)):
            assert isinstance(result, nn.Tensor) and result.dtype == np.float32, (other, result.dtype)
        assert (t64 + other).dtype == np.float64
    assert (t32 + np.int64(2)).data.tolist() == [3.0, 4.0, 5.0]
    assert (np.array([1, 2, 3]) + t32).data.tolist() == [2.0, 4.0, 6.0]
    assert (nn.Tensor(np.ones((2, 3), np.float32)) @ np.ones((3, 1), dtype=np.int64)).dtype == np.float32
    with pytest.raises(TypeError, match="int64"):
        nn.Tensor(np.arange(3))  # the tensor itself still needs float data


def test_a_value_too_large_for_float32_is_an_error_not_inf():
    with pytest.raises(OverflowError, match=r"1e\+300 does not fit float32.*float64"):
        nn.Tensor(1e300)
    with pytest.raises(OverflowError, match="does not fit float32"):
        nn.Tensor(np.array([1.0, -1e300]), dtype=np.float32)
    with pytest.raises(OverflowError, match="does not fit float32"):
        nn.Tensor([1.0]) + 1e300
    assert nn.Tensor(1e300, dtype=np.float64).item() == 1e300
    assert np.isinf(nn.Tensor(np.inf).item()), "an infinity that was given stays infinite"


@pytest.mark.parametrize("name, shape, axis", [("mean", (0,), None), ("mean", (2, 0), 1), ("max", (0, 3), 0),
                                               ("max", (2, 0), -1), ("max", (0,), None)])
def test_a_reduction_over_no_elements_names_the_op_and_the_shape(name, shape, axis):
    with pytest.raises(ValueError, match=rf"{name}: the input of shape {re.escape(str(shape))} has no elements"):
        getattr(nn.Tensor(np.zeros(shape)), name)(axis=axis)


def test_pow_zero_has_gradient_zero_everywhere():
    x = leaf([0.0, 2.0, -1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x**0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_pow_below_one_at_zero_has_an_infinite_gradient_without_warning():
    x = leaf([0.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x**0.5).sum().backward()
    assert x.grad.tolist() == [np.inf, 0.25]


def test_no_grad_applies_only_to_the_thread_that_entered_it():
    inside, leave = threading.Event(), threading.Event()

    def evaluate():
        with nn.no_grad():
            inside.set()
            leave.wait(10)

    worker = threading.Thread(target=evaluate)
    worker.start()
    try:
        assert inside.wait(10)
        assert (leaf([1.0]) * 2).requires_grad, "another thread's no_grad() switched off this thread's graph"
        with nn.no_grad():
            pass
    finally:
        leave.set()
        worker.join(10)
    assert (leaf([1.0]) * 2).requires_grad


def test_a_new_thread_records_the_graph_even_inside_no_grad():
    seen = []
    with nn.no_grad():
        worker = threading.Thread(target=lambda: seen.append((leaf([1.0]) * 2).requires_grad))
        worker.start()
        worker.join(10)
    assert seen == [True]

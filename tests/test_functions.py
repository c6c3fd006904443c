"""The differentiable primitives of nn/functions.py, and sum_to.

Task tests (3.1 sum_to, 3.2 MatMul, 3.3 Sum/Mean backward) call the function
under test directly on ndarrays (tests/helpers.py), never Tensor.backward.
The other tests gradcheck every primitive through Tensor.backward on
generated shapes, in float64.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nn
from helpers import assert_function_gradients, naming, raised_by_the_contract, raised_where, run_function
from nn import functions as F

SETTINGS = settings(max_examples=examples(40), deadline=None)
SMALL = st.floats(-2, 2, allow_nan=False, width=64)
AWAY_FROM_ZERO = st.floats(0.5, 2, width=64).flatmap(lambda x: st.sampled_from([x, -x]))
POSITIVE = st.floats(0.2, 3, width=64)
#: distinct multiples of 1/8: no ties and no near-ties, for max (a kink at a tie)
SPACED = st.integers(-40, 40).map(lambda i: i / 8)


def float_arrays(shape, elements=SMALL, unique=False):
    return hnp.arrays(np.float64, shape, elements=elements, unique=unique)


def broadcast_pairs(elements=SMALL, other=SMALL):
    """Two float64 arrays whose shapes broadcast together (like (N, D) and (D,), or (N, 1) and (1, D))."""
    shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)
    return shapes.flatmap(lambda s: st.tuples(float_arrays(s.input_shapes[0], elements),
                                              float_arrays(s.input_shapes[1], other)))


def maybe_negative(axis: int, ndim: int):
    """``axis`` as written, or as the same axis counted from the end (axis − ndim)."""
    return st.sampled_from([axis, axis - ndim])


def axes_for(ndim: int):
    """None, one axis, or a tuple of distinct axes of an ndim-array; each possibly negative."""
    if ndim == 0:
        return st.just(None)
    one = st.integers(-ndim, ndim - 1)
    distinct = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
    several = distinct.flatmap(lambda axes: st.tuples(*(maybe_negative(a, ndim) for a in axes)))
    return st.one_of(st.none(), one, several)


def permutations_for(ndim: int):
    """A permutation of an ndim-array's axes, each axis possibly written negative."""
    return st.permutations(range(ndim)).flatmap(lambda axes: st.tuples(*(maybe_negative(a, ndim) for a in axes)))


def leaf(array) -> nn.Tensor:
    return nn.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


# --- Task 3.1: sum_to ---------------------------------------------------------------
def sum_to_by_loops(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The definition, element by element: each grad element goes to the input element it came from."""
    out = np.zeros(shape)
    for index in np.ndindex(grad.shape):
        tail = index[len(index) - len(shape):] if shape else ()
        out[tuple(0 if size == 1 else i for i, size in zip(tail, shape))] += grad[index]
    return out


def check_sum_to(grad: np.ndarray, shape: tuple[int, ...]) -> None:
    with naming(f"sum_to(grad of shape {grad.shape}, {shape})"):
        got = nn.sum_to(grad, shape)
    expected = sum_to_by_loops(grad, shape)
    got_shape = np.shape(got)
    assert got_shape == shape, (
        f"sum_to(grad of shape {grad.shape}, {shape}) returned shape {got_shape}; it must return exactly "
        f"the input's shape {shape} (sum over the added leading axes, and with keepdims over the size-1 axes)"
    )
    assert np.allclose(got, expected), (
        f"sum_to(grad, {shape}) with grad of shape {grad.shape}:\n"
        f"grad     = {np.array2string(grad, precision=3)}\n"
        f"expected = {np.array2string(expected, precision=3)}\n"
        f"got      = {np.array2string(np.asarray(got), precision=3)}\n"
        f"(every input element receives the sum of the grad elements it was broadcast to)"
    )


@pytest.mark.task3_1
@pytest.mark.parametrize("grad_shape, shape", [
    ((2, 3), (2, 3)),        # nothing was broadcast
    ((2, 3), (3,)),          # a bias added to every row: sum over rows
    ((2, 3), (2, 1)),        # a column broadcast across: sum over columns, keep the axis
    ((2, 3), (1, 3)),
    ((2, 3), ()),            # a scalar: the total
    ((4, 2, 3), (2, 1)),     # both at once
    ((4, 1, 3), (1, 3)),
    ((1, 3), (3,)),
])
def test_sum_to_examples(grad_shape, shape):
    grad = np.arange(1, np.prod(grad_shape) + 1, dtype=np.float64).reshape(grad_shape)
    check_sum_to(grad, shape)


@pytest.mark.task3_1
def test_sum_to_bias_of_a_batch():
    grad = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    with naming(f"sum_to({grad.tolist()}, (3,))"):
        got = np.asarray(nn.sum_to(grad, (3,)))
    assert got.shape == (3,) and np.allclose(got, [11, 22, 33]), (
        f"a bias b of shape (3,) added to x of shape (2, 3) is used in both rows, so its gradient is the sum "
        f"over rows: sum_to({grad.tolist()}, (3,)) should be [11, 22, 33], got {got.tolist()} (shape {got.shape})"
    )


@pytest.mark.task3_1
@SETTINGS
@given(st.data())
def test_sum_to_generated(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3))
    shape = shapes.input_shapes[0]
    grad = data.draw(float_arrays(shapes.result_shape))
    check_sum_to(grad, shape)


def test_an_error_in_sum_to_names_the_call_that_raised_it(monkeypatch):
    """The test's id (grad_shape5-shape5) does not say which input failed: the message must."""
    def axes_not_offset(grad, shape):  # size-1 axes counted from the left, not after the added leading ones
        return grad.sum(axis=(0, 1), keepdims=True).reshape(shape)

    monkeypatch.setattr(nn, "sum_to", axes_not_offset)
    with pytest.raises(pytest.fail.Exception, match=r"^sum_to\(grad of shape \(4, 2, 3\), \(2, 1\)\) raised "
                                                    r"ValueError: cannot reshape array of size 3 into shape \(2,\s?1\)$") as failure:
        check_sum_to(np.ones((4, 2, 3)), (2, 1))
    assert isinstance(failure.value.__cause__, ValueError), "make check finds the participant's line through it"


class FailsWhenZeroD(F.Function):
    @staticmethod
    def forward(ctx, x, scale=1.0):
        ctx.scale = scale
        return x * scale

    @staticmethod
    def backward(ctx, grad):
        if grad.ndim == 0:
            raise IndexError("too many indices for array")
        return grad * ctx.scale


def test_an_error_in_a_generated_gradient_check_names_the_input():
    """A generated test shows no input of its own: the message names the shapes and options."""
    with pytest.raises(pytest.fail.Exception, match=r"^FailsWhenZeroD\.forward and backward on input of shape \(\), "
                                                    r"scale=2\.0 raised IndexError: too many indices for array$"):
        assert_function_gradients(FailsWhenZeroD, np.array(0.5), scale=2.0)
    assert_function_gradients(FailsWhenZeroD, np.ones(3), scale=2.0)


# --- Task 3.2: MatMul ---------------------------------------------------------------
@pytest.mark.task3_2
def test_matmul_forward_small():
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    got = F.MatMul.checked_forward(SimpleNamespace(needs_input_grad=(True, True)), a, b)  # as apply gives it
    expected = a @ b
    assert np.shape(got) == (2, 2), f"MatMul.forward of (2, 3) @ (3, 2) should have shape (2, 2), got {np.shape(got)}"
    assert np.allclose(got, expected), (
        f"MatMul.forward: a = {a.tolist()}, b = {b.tolist()}: expected a @ b = {expected.tolist()}, "
        f"got {np.asarray(got).tolist()}" + matmul_slip(a, b, got)
    )


def matmul_slip(a: np.ndarray, b: np.ndarray, got) -> str:
    """What a wrong product of the right shape was, when it is a known slip."""
    if np.allclose(got, (a @ b).T):
        return (": that is (a @ b).T, the product with rows and columns swapped (b.T @ a.T); "
                "row i of a @ b combines row i of a with the columns of b")
    return ""


@pytest.mark.task3_2
@pytest.mark.parametrize("n, k, m", [(2, 3, 4), (1, 5, 1), (3, 1, 2), (4, 4, 4)])
def test_matmul_backward_shapes_and_values(n, k, m):
    rng = np.random.default_rng(n * 100 + k * 10 + m)
    a, b = rng.normal(size=(n, k)), rng.normal(size=(k, m))
    shape_guide = (f"Shapes guide you: dL/da must be ({n}, {k}) like a, dL/db ({k}, {m}) like b, "
                   f"from grad ({n}, {m})")
    try:
        _, grads = run_function(F.MatMul, a, b, grad_out=np.ones((n, m)))
    except ValueError as error:
        if raised_by_the_contract(error):
            raise
        pytest.fail(f"MatMul with a of shape {a.shape}, b of shape {b.shape} and grad of shape ({n}, {m}): "
                    f"{raised_where(error)} raised ValueError ({error}); "
                    f"a product there has mismatched shapes. {shape_guide}")
    assert len(grads) == 2, f"MatMul.backward must return two gradients (for a and for b), got {len(grads)}"
    for name, grad, x in (("a", grads[0], a), ("b", grads[1], b)):
        assert grad is not None and np.shape(grad) == x.shape, (
            f"MatMul with a of shape {a.shape} and b of shape {b.shape}: the gradient for {name} must have "
            f"{name}'s shape {x.shape}, got {np.shape(grad) if grad is not None else None}. {shape_guide}"
        )
    assert_function_gradients(F.MatMul, a, b)


@pytest.mark.task3_2
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_keeps_the_input_dtype(dtype):
    a, b = np.ones((2, 3), dtype), np.ones((3, 4), dtype)
    output, (grad_a, grad_b) = run_function(F.MatMul, a, b)
    got = {"forward": output.dtype, "the gradient of a": grad_a.dtype, "the gradient of b": grad_b.dtype}
    wrong = {name: str(kind) for name, kind in got.items() if kind != dtype}
    assert not wrong, (
        f"MatMul of two {np.dtype(dtype)} matrices should stay {np.dtype(dtype)}, got {wrong}: "
        f"a product of float32 arrays is float32 already; a conversion to another dtype doubles the memory "
        f"(float64) or loses precision (float32), and a new array (np.zeros, np.empty) is float64 unless it is "
        f"given a dtype"
    )


@pytest.mark.task3_2
@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.data())
def test_matmul_gradients_generated(n, k, m, data):
    a, b = data.draw(float_arrays((n, k))), data.draw(float_arrays((k, m)))
    assert_function_gradients(F.MatMul, a, b)


@pytest.mark.parametrize("a_shape, b_shape", [((2, 3), (2, 3)), ((3,), (3, 2)), ((2, 3, 4), (4, 2))])
def test_matmul_shape_mismatch_names_the_op_and_both_shapes(a_shape, b_shape):
    with pytest.raises(ValueError, match="matmul") as error:
        nn.Tensor(np.ones(a_shape)) @ nn.Tensor(np.ones(b_shape))
    assert str(a_shape) in str(error.value) and str(b_shape) in str(error.value)


# --- Task 3.3: Sum and Mean backward ---------------------------------------------------
REDUCTIONS = [(None, False), (None, True), (0, False), (1, False), (-1, True), ((0, 2), False), ((0, 2), True)]


def check_reduction_backward(function, axis, keepdims):
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    out_shape = np.sum(x, axis=axis, keepdims=keepdims).shape
    grad_out = np.arange(1, int(np.prod(out_shape)) + 1, dtype=np.float64).reshape(out_shape)
    keep = np.sum(x, axis=axis, keepdims=True)
    what = f"{function.__name__}(x, axis={axis}, keepdims={keepdims}) with x of shape {x.shape}"
    try:
        _, (got,) = run_function(function, x, grad_out=grad_out, axis=axis, keepdims=keepdims)
    except ValueError as error:
        if raised_by_the_contract(error):
            raise
        pytest.fail(f"{what}, incoming grad of shape {grad_out.shape}: backward raised ValueError ({error}) "
                    f"at {raised_where(error)}. grad has the reduced shape; the result needs x's shape {x.shape} "
                    f"(the keepdims shape of the reduction is {keep.shape})")
    count = x.size // keep.size
    expected = np.broadcast_to(grad_out.reshape(keep.shape), x.shape) / (count if function is F.Mean else 1)
    assert np.shape(got) == x.shape, (
        f"{what}: backward must return a gradient of x's shape {x.shape}, got {np.shape(got)}. "
        f"grad (shape {grad_out.shape}) is the reduced shape (with keepdims: {keep.shape}); every element of x "
        f"gets the gradient of the output it was reduced into"
    )
    if function is F.Mean and np.allclose(got, expected * count):
        raise AssertionError(f"{what}: your gradient is {count}x too large: the mean divides by the {count} "
                             f"averaged elements, so its backward divides grad by {count} (Sum's does not)")
    if function is F.Mean and np.all(np.asarray(got) != 0):
        divisors = count * expected / got  # the number Mean.backward divided grad by, if it is one number
        if np.allclose(divisors, divisors.flat[0]) and not np.isclose(divisors.flat[0], count):
            raise AssertionError(f"{what}: your gradient is grad divided by {divisors.flat[0]:g}, but each output of "
                                 f"this mean averages {count} elements of x: divide by that count, the number of "
                                 f"elements reduced into one output ({x.size} elements, {x.size // count} outputs)")
    if function is F.Sum and np.allclose(got * count, expected):
        raise AssertionError(f"{what}: your gradient is divided by {count}: that is Mean's; "
                             f"for a sum every element's derivative is 1")
    index = tuple(int(i) for i in np.argwhere(~np.isclose(got, expected))[0]) if not np.allclose(got, expected) else None
    assert index is None, (
        f"{what}, incoming grad {grad_out.tolist()}: the gradient at x{list(index)} should be "
        f"{expected[index]:g}, got {np.asarray(got)[index]:g} (each x element gets the grad of the output it went into)"
    )


@pytest.mark.task3_3
@pytest.mark.parametrize("axis, keepdims", REDUCTIONS)
def test_sum_backward(axis, keepdims):
    check_reduction_backward(F.Sum, axis, keepdims)


@pytest.mark.task3_3
@pytest.mark.parametrize("axis, keepdims", REDUCTIONS)
def test_mean_backward(axis, keepdims):
    check_reduction_backward(F.Mean, axis, keepdims)


@pytest.mark.task3_3
@pytest.mark.parametrize("function", [F.Sum, F.Mean], ids=["Sum", "Mean"])
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), keepdims=st.booleans(), data=st.data())
def test_sum_mean_gradients_generated(function, shape, keepdims, data):
    x = data.draw(float_arrays(shape))
    assert_function_gradients(function, x, axis=data.draw(axes_for(len(shape))), keepdims=keepdims)


# --- every primitive through Tensor.backward (reference) ---------------------------------------
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b}


@SETTINGS
@given(st.sampled_from(sorted(BINARY)), st.data())
def test_binary_ops_gradcheck_with_broadcasting(name, data):
    a, b = data.draw(broadcast_pairs(other=AWAY_FROM_ZERO if name == "div" else SMALL))
    assert nn.gradcheck(BINARY[name], leaf(a), leaf(b))


@pytest.mark.parametrize("a_shape, b_shape", [((5, 3), (3,)), ((4, 1), (1, 3)), ((), (2, 3)), ((2, 3), ()), ((2, 1, 3), (4, 1))])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_named_broadcasting_cases(name, a_shape, b_shape):
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.5, 2, size=a_shape), rng.uniform(0.5, 2, size=b_shape)
    assert nn.gradcheck(BINARY[name], leaf(a), leaf(b))
    assert_function_gradients({"add": F.Add, "sub": F.Sub, "mul": F.Mul, "div": F.Div}[name], a, b)


@SETTINGS
@given(st.sampled_from(["radd", "rsub", "rmul", "rdiv", "add", "sub", "mul", "div"]),
       hnp.array_shapes(min_dims=0, max_dims=3, max_side=4).flatmap(lambda s: float_arrays(s, AWAY_FROM_ZERO)),
       st.floats(-3, 3))
def test_ops_with_python_numbers(name, x, number):
    fn = {
        "add": lambda t: t + number, "radd": lambda t: number + t,
        "sub": lambda t: t - number, "rsub": lambda t: number - t,
        "mul": lambda t: t * number, "rmul": lambda t: number * t,
        "div": lambda t: t / (number if abs(number) > 0.1 else 0.5), "rdiv": lambda t: number / t,
    }[name]
    assert nn.gradcheck(fn, leaf(x))


@SETTINGS
@given(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), st.data())
def test_unary_ops_gradcheck(shape, data):
    x = leaf(data.draw(float_arrays(shape)))
    positive = leaf(data.draw(float_arrays(shape, POSITIVE)))
    assert nn.gradcheck(lambda t: -t, x)
    assert nn.gradcheck(lambda t: t.exp(), x)
    assert nn.gradcheck(lambda t: t.log(), positive)


@SETTINGS
@given(st.sampled_from([2, 3, 0.5, -1, 1.5, -2.5, 1, 0]), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), st.data())
def test_pow_gradcheck(exponent, shape, data):
    base = data.draw(float_arrays(shape, POSITIVE))
    assert nn.gradcheck(lambda t: t**exponent, leaf(base))
    assert_function_gradients(F.Pow, base, exponent=float(exponent))


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.data())
def test_matmul_gradcheck_through_backward(n, k, m, data):
    a, b = leaf(data.draw(float_arrays((n, k)))), leaf(data.draw(float_arrays((k, m))))
    assert nn.gradcheck(lambda x, y: x @ y, a, b)


@SETTINGS
@given(st.sampled_from(["sum", "mean", "max"]), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
       st.booleans(), st.data())
def test_reductions_gradcheck(name, shape, keepdims, data):
    x = data.draw(float_arrays(shape, SPACED, unique=True))
    axis = data.draw(axes_for(len(shape)))
    assert nn.gradcheck(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), leaf(x))
    expected = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    got = getattr(nn.Tensor(x), name)(axis=axis, keepdims=keepdims)
    assert got.shape == expected.shape and np.allclose(got.data, expected)


def test_max_shares_the_gradient_between_ties():
    x = leaf([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]])
    x.max(axis=1).sum().backward()
    assert np.array_equal(x.grad, [[0, 0.5, 0.5], [1, 0, 0]])


def test_reductions_take_a_list_of_axes():
    x = leaf(np.arange(24.0).reshape(2, 3, 4))
    assert x.sum(axis=[0, 2]).shape == (3,) and x.mean(axis=[0, 2]).shape == (3,) and x.max(axis=[0, 2]).shape == (3,)


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), st.data())
def test_reshape_and_transpose_gradcheck(shape, data):
    x = leaf(data.draw(float_arrays(shape)))
    new_shape = data.draw(st.sampled_from([(-1,), (x.size, 1), (1, -1), tuple(reversed(shape))]))
    axes = data.draw(permutations_for(len(shape)))
    assert nn.gradcheck(lambda t: t.reshape(new_shape), x)
    assert nn.gradcheck(lambda t: t.reshape(*new_shape), x)
    assert nn.gradcheck(lambda t: t.transpose(axes), x)
    assert nn.gradcheck(lambda t: t.transpose(*axes), x)
    assert nn.gradcheck(lambda t: t.T, x)
    assert nn.gradcheck(lambda t: t.transpose(None), x)
    assert np.array_equal(x.transpose(axes).data, np.transpose(x.data, axes))


def test_reshape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        nn.Tensor(np.ones((2, 3))).reshape(4)


@pytest.mark.parametrize("op, symbol", [(lambda a, b: a + b, "add"), (lambda a, b: a - b, "subtract"),
                                        (lambda a, b: a * b, "multiply"), (lambda a, b: a / b, "divide")])
def test_binary_shape_mismatch_names_the_op_and_both_shapes(op, symbol):
    with pytest.raises(ValueError, match=symbol) as error:
        op(nn.Tensor(np.ones((2, 3))), nn.Tensor(np.ones((4,))))
    assert "(2, 3)" in str(error.value) and "(4,)" in str(error.value)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 5), st.data())
def test_composite_log_softmax_gradcheck(n, d, data):
    x = leaf(data.draw(float_arrays((n, d), st.floats(-5, 5))))

    def log_softmax(t):
        shifted = t - t.max(axis=1, keepdims=True)
        return shifted - shifted.exp().sum(axis=1, keepdims=True).log()

    assert nn.gradcheck(log_softmax, x)


@SETTINGS
@given(broadcast_pairs(), st.data())
def test_primitives_directly_with_broadcasting(pair, data):
    """The same rules as above, through forward/backward on arrays (the tests' own oracle)."""
    a, b = pair
    for function in (F.Add, F.Sub, F.Mul):
        assert_function_gradients(function, a, b)
    assert_function_gradients(F.Exp, a)
    assert_function_gradients(F.Neg, a)


def test_float32_in_float32_out():
    x = nn.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    y = ((x * 2 + 1) / 3 - 0.5) ** 2
    out = (y.exp().log() @ nn.Tensor(np.ones((3, 1), np.float32))).mean()
    assert out.dtype == np.float32
    out.backward()
    assert x.grad.dtype == np.float32


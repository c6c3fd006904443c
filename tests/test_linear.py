"""Linear and its initialization: Xavier and He (task 3.4), forward (task 3.5), and the reference as a whole.

Task 3.5's tests look at forward's output and the graph it records (no backward), and compute the
matrix product with NumPy in place of MatMul.forward and the starting weights with NumPy in place
of the initializers, so they do not depend on tasks 3.2 and 3.4.
"""

from __future__ import annotations

import numpy as np
import pytest

import nn
from nn import functions as F


def numpy_matmul(ctx, a, b):
    """NumPy's product, with the learner's message when the shapes don't fit."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise AssertionError(
            f"Linear.forward multiplied shapes {a.shape} @ {b.shape}, which don't fit: (n, k) @ (k, m) needs "
            f"equal inner sizes. x is (batch, in_features) and self.weight is (in_features, out_features), "
            f"so write x @ self.weight (not the transpose)."
        )
    return a @ b


@pytest.fixture
def matmul_without_task_3_2(monkeypatch):
    monkeypatch.setattr(F.MatMul, "forward", staticmethod(numpy_matmul))


# --- Task 3.4: Xavier and He initialization ----------------------------------------------
# name -> (the limit a of U(-a, a) for (fan_in, fan_out), the same as text for messages)
INITIALIZERS = {
    "xavier_uniform": (lambda fan_in, fan_out: np.sqrt(6 / (fan_in + fan_out)), "sqrt(6 / (fan_in + fan_out))"),
    "he_uniform": (lambda fan_in, fan_out: np.sqrt(6 / fan_in), "sqrt(6 / fan_in)"),
}


@pytest.mark.task3_4
@pytest.mark.parametrize("name", INITIALIZERS)
def test_initializer_shape_and_range(name):
    w = np.asarray(getattr(nn, name)(3, 5, np.random.default_rng(0)))
    limit, formula = INITIALIZERS[name][0](3, 5), INITIALIZERS[name][1]
    assert w.shape == (3, 5), f"{name}(fan_in=3, fan_out=5, rng) must have shape (3, 5) = (fan_in, fan_out), got {w.shape}"
    assert np.all(np.abs(w) <= limit), (
        f"{name}(3, 5): every value must lie in [-a, a] with a = {formula} = {limit:.4f}; "
        f"got values from {w.min():.4f} to {w.max():.4f}"
    )


@pytest.mark.task3_4
@pytest.mark.parametrize("name", INITIALIZERS)
@pytest.mark.parametrize("fan_in, fan_out", [(784, 256), (256, 10), (30, 30)])
def test_initializer_statistics(name, fan_in, fan_out):
    w = np.asarray(getattr(nn, name)(fan_in, fan_out, np.random.default_rng(1)))
    limit, formula = INITIALIZERS[name][0](fan_in, fan_out), INITIALIZERS[name][1]
    variance = limit**2 / 3
    assert w.shape == (fan_in, fan_out), f"{name}({fan_in}, {fan_out}) must have shape {(fan_in, fan_out)}, got {w.shape}"
    assert np.abs(w).max() > 0.95 * limit and np.abs(w).max() <= limit, (
        f"{name}({fan_in}, {fan_out}): values should fill [-{limit:.4f}, {limit:.4f}] "
        f"(uniform, a = {formula}); the largest |value| is {np.abs(w).max():.4f}"
    )
    assert abs(w.mean()) < 0.1 * limit, f"{name}({fan_in}, {fan_out}): the mean should be about 0, got {w.mean():.4f}"
    assert w.var() == pytest.approx(variance, rel=0.15), (
        f"{name}({fan_in}, {fan_out}): the variance should be about a² / 3 = {variance:.3g} (a = {formula}), "
        f"got {w.var():.3g}"
    )


@pytest.mark.task3_4
@pytest.mark.parametrize("name", INITIALIZERS)
def test_initializer_uses_the_given_generator(name):
    a, b, c = (np.asarray(getattr(nn, name)(4, 3, np.random.default_rng(seed))) for seed in (7, 7, 8))
    assert np.array_equal(a, b) and not np.array_equal(a, c), (
        f"{name} must draw from the generator rng it is given (not from np.random), so that the same seed "
        "gives the same weights and another seed other weights"
    )


@pytest.mark.task3_4
def test_linear_initializes_with_xavier_by_default():
    layer = nn.Linear(100, 50, rng=np.random.default_rng(0))
    limit = np.sqrt(6 / 150)
    assert layer.weight.shape == (100, 50) and np.abs(layer.weight.data).max() <= limit * (1 + 1e-6)
    assert layer.weight.data.std() == pytest.approx(np.sqrt(2 / 150), rel=0.1)


@pytest.mark.task3_4
def test_linear_with_init_he_uses_he_uniform():
    layer = nn.Linear(400, 300, init="he", rng=0)
    limit = np.sqrt(6 / 400)
    assert np.abs(layer.weight.data).max() <= limit * (1 + 1e-6) and \
        layer.weight.data.var() == pytest.approx(2 / 400, rel=0.1), (
            f"Linear(400, 300, init='he'): the weights should come from U(-a, a) with a = sqrt(6 / fan_in) = "
            f"{limit:.4f} (variance 2 / fan_in = {2 / 400:.4g}); got values up to {np.abs(layer.weight.data).max():.4f} "
            f"with variance {layer.weight.data.var():.4g}")


# --- Task 3.5: Linear.forward ---------------------------------------------------------------
def small_layer() -> nn.Linear:
    layer = nn.Linear(3, 2, rng=0)
    layer.weight.data[...] = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]  # (in_features, out_features)
    layer.bias.data[...] = [10.0, 20.0]
    return layer


@pytest.mark.task3_5
def test_linear_forward_values(matmul_without_task_3_2, initializers_without_task_3_4):
    layer = small_layer()
    x = nn.Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out = layer(x)
    expected = x.data @ layer.weight.data + layer.bias.data
    assert isinstance(out, nn.Tensor), f"Linear.forward must return a Tensor, got {type(out).__name__}"
    assert out.shape == (2, 2), (
        f"Linear(3, 2) on x of shape (2, 3) must give shape (batch, out_features) = (2, 2), got {out.shape}. "
        f"x @ weight is (2, 3) @ (3, 2)"
    )
    if np.allclose(out.data, x.data @ layer.weight.data):
        raise AssertionError(f"Linear.forward returned x @ weight = {out.data.tolist()}: add the bias, "
                             f"expected {expected.tolist()}")
    assert np.allclose(out.data, expected), (
        f"Linear.forward with weight {layer.weight.data.tolist()} (shape (3, 2)) and bias {layer.bias.data.tolist()}, "
        f"x = {x.data.tolist()}: expected x @ weight + bias = {expected.tolist()}, got {out.data.tolist()}"
    )


@pytest.mark.task3_5
def test_linear_forward_adds_the_bias_to_every_row(matmul_without_task_3_2, initializers_without_task_3_4):
    layer = small_layer()
    out = layer(nn.Tensor(np.zeros((4, 3))))
    assert out.shape == (4, 2) and np.allclose(out.data, [[10.0, 20.0]] * 4), (
        f"Linear.forward on zeros of shape (4, 3) must give the bias [10, 20] in each of the 4 rows, "
        f"got shape {out.shape}: {out.data.tolist()} (the bias of shape (2,) broadcasts over the batch)"
    )


@pytest.mark.task3_5
@pytest.mark.parametrize("batch, n_in, n_out", [(1, 784, 256), (5, 4, 4), (7, 2, 9)])
def test_linear_forward_shapes(matmul_without_task_3_2, initializers_without_task_3_4, batch, n_in, n_out):
    layer = nn.Linear(n_in, n_out, rng=1)
    layer.bias.data[...] = np.arange(n_out)
    x = np.random.default_rng(2).normal(size=(batch, n_in)).astype(np.float32)
    out = layer(nn.Tensor(x))
    assert out.shape == (batch, n_out), f"Linear({n_in}, {n_out}) on ({batch}, {n_in}) must give ({batch}, {n_out}), got {out.shape}"
    assert np.allclose(out.data, x @ layer.weight.data + layer.bias.data, rtol=1e-5, atol=1e-5)
    assert out.dtype == np.float32, f"float32 in, float32 weights: the output should stay float32, got {out.dtype}"


def graph_ancestors(out: nn.Tensor) -> list:
    """Every tensor ``out`` was computed from, following ``parents()`` (no Tensor.backward: task 2.2)."""
    found, stack = {}, [out]
    while stack:
        for parent in stack.pop().parents():
            if id(parent) not in found:
                found[id(parent)] = parent
                stack.append(parent)
    return list(found.values())


@pytest.mark.task3_5
def test_linear_forward_keeps_weight_and_bias_in_the_graph(matmul_without_task_3_2, initializers_without_task_3_4):
    layer = small_layer()
    out = layer(nn.Tensor([[1.0, 2.0, 3.0]]))
    assert isinstance(out, nn.Tensor), f"Linear.forward must return a Tensor, got {type(out).__name__}"
    reached = {id(tensor) for tensor in graph_ancestors(out)}
    missing = [name for name in ("weight", "bias") if id(getattr(layer, name)) not in reached]
    assert not missing, (
        f"Linear.forward's output must stay in the graph so that gradients reach the weight and the bias; "
        f"it was not computed from {' and '.join('self.' + name for name in missing)} (its requires_grad is "
        f"{out.requires_grad}). Build it from Tensor operations on x, self.weight and self.bias, "
        f"not from their .data arrays"
    )


@pytest.mark.task3_5
def test_linear_forward_without_bias(matmul_without_task_3_2, initializers_without_task_3_4):
    layer = nn.Linear(3, 2, bias=False, rng=0)
    x = nn.Tensor([[1.0, 2.0, 3.0]])
    try:
        out = layer(x)
    except TypeError as error:
        raise AssertionError(
            f"a layer made with bias=False has self.bias = None, so there is no bias to add: its output is "
            f"x·W alone. Linear(3, 2, bias=False) raised TypeError instead ({error})"
        ) from error
    expected = x.data @ layer.weight.data
    assert isinstance(out, nn.Tensor) and np.allclose(out.data, expected), (
        f"Linear(3, 2, bias=False) (self.bias is None) on x = {x.data.tolist()}: expected x @ weight = "
        f"{expected.tolist()}, got {out.data.tolist() if isinstance(out, nn.Tensor) else repr(out)}"
    )


# --- the layer as a whole (reference) ---------------------------------------------------------
def test_linear_parameters_and_defaults():
    layer = nn.Linear(4, 3, rng=0)
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (3,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer.weight.requires_grad and layer.bias.requires_grad
    assert np.array_equal(layer.bias.data, np.zeros(3))
    assert layer.parameters() == [layer.weight, layer.bias]
    assert repr(layer) == "Linear(in_features=4, out_features=3, bias=True)"


def test_linear_without_bias():
    layer = nn.Linear(4, 3, bias=False, rng=0)
    assert layer.bias is None and layer.parameters() == [layer.weight]
    x = nn.Tensor(np.ones((2, 4)))
    assert np.allclose(layer(x).data, x.data @ layer.weight.data)


def test_seeds_reproduce_and_generators_are_accepted():
    a, b = nn.Linear(5, 4, rng=3), nn.Linear(5, 4, rng=np.random.default_rng(3))
    assert np.array_equal(a.weight.data, b.weight.data)
    assert not np.array_equal(nn.Linear(5, 4).weight.data, nn.Linear(5, 4).weight.data)


@pytest.mark.parametrize("shape, hint", [
    ((2, 5), r"expects input of shape \(batch, 4\), got shape \(2, 5\) \(each sample has 5 features here: this "
             r"layer needs in_features=5, or the layers before must give 4\)"),
    ((4, 2), "transposed"),
    ((3, 2, 2), r"flatten each sample to one row first: nn\.Flatten\(\) or x\.reshape\(len\(x\), -1\) gives "
                r"shape \(3, 4\)\)$"),
    ((3, 2, 3), r"gives shape \(3, 6\), and then this layer needs in_features=6\)"),  # a CNN's flatten size, miscounted
    ((4,), r"got shape \(4,\)"),
])
def test_wrong_number_of_features_names_the_layer_and_the_shapes(shape, hint):
    layer = nn.Linear(4, 3, rng=0)
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=3") as error:
        layer(nn.Tensor(np.ones(shape)))
    assert error.match(hint)


@pytest.mark.parametrize("args, kwargs, match", [((0, 3), {}, "in_features"), ((3, 2.5), {}, "out_features"),
                                                 ((3, 2), {"init": "normal"}, "init")])
def test_bad_constructor_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.Linear(*args, **kwargs)


def test_linear_accepts_arrays():
    layer = nn.Linear(2, 2, rng=0)
    assert layer(np.ones((3, 2), np.float32)).shape == (3, 2)


def test_linear_gradcheck():
    layer = nn.Linear(3, 4, rng=0)
    rng = np.random.default_rng(5)

    def through_layer(x, weight, bias):
        layer.weight, layer.bias = weight, bias
        return layer(x)

    weight, bias = layer.weight.data.astype(np.float64), rng.normal(size=4)
    x = nn.Tensor(rng.normal(size=(5, 3)), requires_grad=True)
    assert nn.gradcheck(through_layer, x, nn.Tensor(weight, requires_grad=True), nn.Tensor(bias, requires_grad=True))


def test_linear_backward_shapes_and_values():
    layer = nn.Linear(3, 2, rng=0)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    layer(nn.Tensor(x)).sum().backward()
    assert np.allclose(layer.weight.grad, x.T @ np.ones((2, 2)))
    assert np.allclose(layer.bias.grad, [2.0, 2.0]), "the bias is used by both rows: its gradient sums over the batch"

"""train()/eval(), Dropout and Flatten (reference; no task)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import IMPL

import act
import nn

pytestmark = pytest.mark.skipif(IMPL != "solutions", reason="tests the reference (KIT_IMPL=solutions)")


class Block(nn.Module):
    def __init__(self):
        self.layers = [nn.Linear(4, 4, rng=0), nn.Dropout(0.5)]
        self.by_name = {"inner": nn.Sequential(nn.Dropout(0.2), act.ReLU())}

    def forward(self, x):
        return x


def test_train_and_eval_reach_every_submodule_and_return_the_module():
    model = nn.Sequential(Block(), nn.Linear(4, 2, rng=1))
    modules = list(model.modules())
    assert len(modules) == 8 and modules[0] is model
    assert all(m.training for m in modules), "a new module is in training mode"
    assert model.eval() is model
    assert [m.training for m in modules] == [False] * 8
    assert model.train() is model
    assert [m.training for m in modules] == [True] * 8
    model.train(False)
    assert not any(m.training for m in modules)
    assert "training" not in model.state_dict(), "the mode is not a parameter"


def test_train_mode_must_be_a_bool():
    with pytest.raises(TypeError, match="True or False"):
        nn.Linear(2, 2).train("eval")


def test_dropout_in_training_zeroes_about_p_and_scales_the_rest():
    x = nn.Tensor(np.ones((200, 500), dtype=np.float32), requires_grad=True)
    layer = nn.Dropout(0.3, rng=0)
    y = layer(x)
    kept = y.data != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01, f"dropped fraction {1 - kept.mean():.3f}, expected about 0.3"
    np.testing.assert_allclose(y.data[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.data.mean() - 1) < 0.01, "inverted dropout keeps the expected value"
    assert y.dtype == np.float32
    grad_out = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    y.backward(grad_out)
    np.testing.assert_allclose(x.grad, grad_out * kept / 0.7, rtol=1e-6)


def test_dropout_is_the_identity_in_eval_mode():
    x = nn.Tensor(np.random.default_rng(0).normal(size=(3, 4)), requires_grad=True)
    layer = nn.Dropout(0.9, rng=0).eval()
    y = layer(x)
    np.testing.assert_array_equal(y.data, x.data)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((3, 4)))


def test_dropout_is_seedable_and_draws_a_new_mask_each_call():
    x = nn.Tensor(np.ones((4, 50)))
    first, second = nn.Dropout(0.5, rng=7), nn.Dropout(0.5, rng=7)
    a, b = first(x).data, second(x).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first(x).data, a), "each forward draws a fresh mask"


def test_dropout_edge_probabilities():
    x = nn.Tensor(np.ones((2, 3)))
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).data, x.data)
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, np.zeros((2, 3)))


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", None, True])
def test_dropout_probability_is_checked(p):
    with pytest.raises(ValueError, match="Dropout: p is the probability"):
        nn.Dropout(p)


def test_dropout_gradcheck_with_a_fixed_mask():
    layer = nn.Dropout(0.4, rng=3)
    x = nn.Tensor(np.random.default_rng(0).normal(size=(3, 5)), requires_grad=True)
    mask_seed = 3

    def fixed(t):
        layer.rng = np.random.default_rng(mask_seed)  # the same mask at every evaluation
        return layer(t)

    assert nn.gradcheck(fixed, x)


def test_flatten():
    x = nn.Tensor(np.arange(24.0).reshape(2, 3, 2, 2), requires_grad=True)
    y = nn.Flatten()(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y.data, x.data.reshape(2, 12))
    y.backward(np.arange(24.0).reshape(2, 12))
    np.testing.assert_array_equal(x.grad, np.arange(24.0).reshape(2, 3, 2, 2))
    with pytest.raises(ValueError, match=r"Flatten expects a batch"):
        nn.Flatten()(nn.Tensor([1.0, 2.0]))


def test_repr():
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25)" and repr(nn.Flatten()) == "Flatten()"

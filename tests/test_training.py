"""Training sanity of the reference: the MLP recipe of `make train` learns MNIST."""

import pytest
from conftest import IMPL, load_tools_module

import nn

pytestmark = pytest.mark.skipif(IMPL != "solutions", reason="trains the reference (KIT_IMPL=solutions)")


@pytest.mark.slow
def test_two_epochs_on_full_mnist_reach_97_percent(shared_mnist, tmp_path):
    train = load_tools_module("train")
    data = nn.load_mnist(source="full", mnist_dir=shared_mnist, cache_dir=tmp_path, mirrors=(), progress=False)
    (x_train, _), (x_test, _) = data
    assert (len(x_train), len(x_test)) == (60_000, 10_000)
    accuracies = train.train(train.build_mlp(), data, progress=False, **train.RECIPES["mlp"])  # `make train`
    assert accuracies[-1] >= 0.97, f"test accuracy after 2 epochs: {accuracies[-1]:.2%}, expected ≥ 97%"

"""Training sanity of the reference: the recipes of `make train` learn MNIST (MLP ≥ 97%, CNN ≥ 99%)."""

import json

import pytest
from conftest import IMPL, load_tools_module

import nn

pytestmark = [pytest.mark.skipif(IMPL != "solutions", reason="trains the reference (KIT_IMPL=solutions)"),
              pytest.mark.slow]


@pytest.fixture
def full_mnist(shared_mnist, tmp_path):
    data = nn.load_mnist(source="full", mnist_dir=shared_mnist, cache_dir=tmp_path, mirrors=(), progress=False)
    (x_train, _), (x_test, _) = data
    assert (len(x_train), len(x_test)) == (60_000, 10_000)
    return data


def test_two_epochs_on_full_mnist_reach_97_percent(full_mnist):
    train = load_tools_module("train")
    accuracies = train.train(train.build_mlp(), full_mnist, progress=False, **train.RECIPES["mlp"])  # `make train`
    assert accuracies[-1] >= 0.97, f"test accuracy after 2 epochs: {accuracies[-1]:.2%}, expected ≥ 97%"


def test_the_cnn_recipe_reaches_99_percent_on_full_mnist(cnn_recipe_run):
    """The CNN of upgrade_to_cnn.ipynb with its recipe (`make train TRAIN_ARGS="--model cnn"`), trained in a
    process of its own that started with the run (conftest.start_cnn_recipe)."""
    printed, errors = cnn_recipe_run.communicate(timeout=1800)
    assert cnn_recipe_run.returncode == 0, f"the CNN recipe's run failed:\n{errors[-3000:]}"
    accuracies = json.loads(printed.splitlines()[-1])
    epochs = load_tools_module("train").RECIPES["cnn"]["epochs"]
    per_epoch = ", ".join(f"{a:.2%}" for a in accuracies)
    assert len(accuracies) == epochs, f"{len(accuracies)} epochs trained ({per_epoch}), the recipe has {epochs}"
    assert accuracies[-1] >= 0.99, f"CNN test accuracy after {epochs} epochs: {per_epoch}; expected ≥ 99.0%"


@pytest.mark.parametrize(("arguments", "said"), [
    (["--epochs", "0"], "argument --epochs: must be > 0, got 0"),
    (["--batch-size", "0"], "argument --batch-size: must be > 0, got 0"),
    (["--hidden", "128", "0"], "argument --hidden: must be > 0, got 0"),
    (["--lr", "-1"], "argument --lr: must be > 0, got -1"),
    (["--momentum", "1"], "argument --momentum: must be ≥ 0 and < 1, got 1"),
    (["--epochs", "two"], "argument --epochs: expected an integer > 0, got 'two'"),
])
def test_make_train_with_a_value_out_of_range_is_one_line_before_any_training(capsys, arguments, said):
    with pytest.raises(SystemExit) as stopped:
        load_tools_module("train").main(arguments)
    shown = capsys.readouterr()
    assert stopped.value.code == 2 and shown.err.strip().endswith(said) and not shown.out, shown

"""Tasks 6.1–6.3: ``forward``, ``forward_backward`` and ``accuracy`` in notebooks/train.ipynb.

Each test takes the one function out of the notebook of the chosen
implementation (the participant's notebooks/train.ipynb, or the reference with
KIT_IMPL=solutions) as Run All leaves it defined, with the imports, helpers and
plain constants it uses, without running the notebook (tools/notebook_functions.py).
Stand-in models, losses and optimizers replace the framework, so a
task's test depends on that task alone (not on Linear, backward or SGD).
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
import pytest
from conftest import IMPL_ROOT, load_tools_module

import nn

notebook_functions = load_tools_module("notebook_functions")
NOTEBOOK = IMPL_ROOT / "notebooks" / "train.ipynb"


def notebook_function(name: str, **replacements):
    """``name`` as train.ipynb defines it last, with the helpers it needs (tools/notebook_functions.py).

    ``replacements`` (e.g. a stand-in ``forward`` or ``loss``) take the place of the
    notebook's own definitions of those names.
    """
    try:
        return notebook_functions.task_function(NOTEBOOK, name, **replacements)
    except notebook_functions.FunctionNotFound as error:
        pytest.fail(str(error))


def says_which_definition(name: str):
    """A test of ``name``: when it fails and the notebook defines ``name`` more than once, its message
    starts with which definition was tested."""
    def decorate(test):
        @functools.wraps(test)
        def run(*args, **kwargs):
            try:
                return test(*args, **kwargs)
            except (AssertionError, pytest.fail.Exception) as error:
                note = notebook_functions.definition_note(NOTEBOOK, name)
                if not note:
                    raise
                raise type(error)(f"{note}.\n{error}") from None

        return run

    return decorate


def rounded(values) -> list:
    """``values`` for a message, without float32 noise (0.49000000953674316 is 0.49)."""
    return np.round(np.asarray(values, dtype=np.float64), 6).tolist()


def reference_forward(model, x):
    return model(x)


class StandInModel(nn.Module):
    """logits = x @ weight (no graph); remembers its calls and whether gradients were being recorded.
    An nn.Module, so model(x), model.forward(x), parameters(), zero_grad(), train() and eval() all work."""

    def __init__(self, weight: np.ndarray):
        self.weight = nn.Tensor(weight.copy(), requires_grad=True)
        self.calls: list = []
        self.grad_enabled: list[bool] = []

    def forward(self, x):
        self.calls.append(x)
        is_grad_enabled = getattr(getattr(nn, "tensor", None), "is_grad_enabled", None)
        self.grad_enabled.append(is_grad_enabled() if is_grad_enabled else True)
        data = x.data if isinstance(x, nn.Tensor) else np.asarray(x, dtype=np.float32)
        return nn.Tensor(data @ self.weight.data)

    def __getattr__(self, name: str):  # only for names it lacks, such as model.layers
        raise AttributeError(name, self)


@contextlib.contextmanager
def only_what_every_model_has(call: str):
    """A task function that looks inside the stand-in model (model.layers, …) is told that it gets any model."""
    try:
        yield
    except AttributeError as error:
        if len(error.args) == 2 and isinstance(error.args[1], StandInModel):
            pytest.fail(f"{call} used model.{error.args[0]}: the check passes a model of its own, which has only "
                        "what every nn.Module has (model(x), parameters(), zero_grad(), train(), eval()); "
                        "a task function works for any model, so call it, model(x), instead of looking inside")
        raise


@pytest.mark.task6_1
@says_which_definition("forward")
def test_forward_returns_the_models_logits():
    forward = notebook_function("forward")
    x = nn.Tensor(np.arange(8, dtype=np.float32).reshape(2, 4) / 10)
    weight = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.float32)
    model = StandInModel(weight)
    with only_what_every_model_has("forward(model, x)"):
        returned = forward(model, x)
    expected = x.data @ weight
    assert model.calls, ("forward(model, x) never called the model: the logits are the model's output for the batch "
                         "x (forward's docstring)")
    assert returned is not None, "forward(model, x) returned None: did you forget the return?"
    assert isinstance(returned, nn.Tensor), (
        f"forward(model, x) should return the model's output, an nn.Tensor; got {type(returned).__name__}"
    )
    assert returned.shape == (2, 3), (
        f"for x of shape (2, 4) and a model with 3 outputs, forward should return logits of shape (2, 3); "
        f"got shape {returned.shape}"
    )
    assert np.allclose(returned.data, expected), (
        f"forward(model, x) should return model(x) unchanged (no activation or softmax on top: the loss applies "
        f"the softmax itself).\nexpected {rounded(expected)}\ngot      {rounded(returned.data)}"
    )


class StandInLoss(nn.Tensor):
    """What the stand-in cross_entropy returns: a one-number Tensor (.item(), .data, .numpy() as usual)
    whose backward() adds known gradients (+=, as Tensor.backward does)."""

    def __init__(self, value: float, gradients: dict, events: list):
        super().__init__(np.float32(value))
        self.gradients, self.events = gradients, events

    def backward(self, grad=None, retain_graph: bool = False):
        self.events.append("backward")
        for parameter, grad in self.gradients.items():
            parameter.grad = grad.copy() if parameter.grad is None else parameter.grad + grad


class StandInLossModule:
    """The ``loss`` module as forward_backward sees it: only cross_entropy, and a clear word for any other loss."""

    def __init__(self, cross_entropy):
        self.cross_entropy = cross_entropy

    def __getattr__(self, name: str):
        pytest.fail(f"forward_backward used loss.{name}: a classifier of 10 digits trains with the softmax "
                    "cross-entropy of its logits, loss.cross_entropy(logits, y)")


class StandInSGD:
    """p ← p − lr · grad; zero_grad() forgets the gradients. Records the order of the calls."""

    def __init__(self, params, lr: float, events: list):
        self.params, self.lr, self.events = list(params), lr, events

    def step(self):
        self.events.append("step")
        for p in self.params:
            if p.grad is not None:
                p.data -= self.lr * p.grad

    def zero_grad(self):
        self.events.append("zero_grad")
        for p in self.params:
            p.grad = None


@pytest.mark.task6_2
@says_which_definition("forward_backward")
def test_forward_backward_takes_one_sgd_step():
    events: list = []
    weight = np.array([[0.5, -0.5], [1.0, 0.0]], dtype=np.float32)
    model = StandInModel(weight)
    grad = np.array([[0.1, 0.2], [-0.3, 0.4]], dtype=np.float32)
    second_grad = np.array([[0.5, -0.5], [0.25, 0.0]], dtype=np.float32)  # the next batch's
    received = {}

    def cross_entropy(logits, labels):
        events.append("cross_entropy")
        received.update(logits=logits, labels=labels)
        return StandInLoss(0.75, {model.weight: grad if events.count("cross_entropy") == 1 else second_grad}, events)

    forward_backward = notebook_function("forward_backward", forward=reference_forward,
                                         loss=StandInLossModule(cross_entropy), cross_entropy=cross_entropy)
    lr = 0.25  # not the notebook's LEARNING_RATE: forward_backward must step with the optimizer it is given
    optimizer = StandInSGD(model.parameters(), lr=lr, events=events)
    x = nn.Tensor(np.array([[1.0, 2.0]], dtype=np.float32))
    y = np.array([1])
    with only_what_every_model_has("forward_backward(model, optimizer, x, y)"):
        result = forward_backward(model, optimizer, x, y)

    assert "cross_entropy" in events, "forward_backward never computed the loss: call loss.cross_entropy(logits, y)"
    assert events.count("cross_entropy") == 1, f"the loss should be computed once per step; the calls were {events}"
    assert isinstance(received["logits"], nn.Tensor) and np.allclose(received["logits"].data, x.data @ weight), (
        "loss.cross_entropy should get the logits forward(model, x) returned, "
        f"{(x.data @ weight).tolist()}; it got {received['logits']!r}"
    )
    assert np.array_equal(np.asarray(received["labels"]), y), (
        f"loss.cross_entropy should get the labels y = {y.tolist()}; it got {received['labels']!r}"
    )
    assert events.count("backward") == 1, (
        f"forward_backward should call backward() on the loss once (so every parameter gets its .grad); "
        f"the calls were {events}"
    )
    assert "step" in events, (
        "forward_backward should update the parameters with the optimizer it is given, optimizer.step() "
        f"(not an optimizer of its own, nor by hand); that optimizer was never stepped (the calls were {events})"
    )
    expected = weight - lr * grad
    assert np.allclose(model.weight.data, expected), (
        f"after one step of the optimizer (lr = {lr}) each parameter should be p − lr · grad (optimizer.step()).\n"
        f"weight before {rounded(weight)}, its grad {rounded(grad)}\n"
        f"expected      {rounded(expected)}\ngot           {rounded(model.weight.data)}\n(the calls were {events})"
    )
    assert isinstance(result, float) and not isinstance(result, bool), (
        f"forward_backward should return the loss as a Python float (a one-element Tensor can give its number); "
        + ("got the loss Tensor that loss.cross_entropy returned, not a number" if isinstance(result, nn.Tensor)
           else f"got {type(result).__name__}: {result!r}")
    )
    assert result == 0.75, f"forward_backward should return this batch's loss, 0.75 here; got {result!r}"

    # The next call: its step must use the next batch's gradient alone (the reset may come first or last).
    before = model.weight.data.copy()
    forward_backward(model, optimizer, x, y)
    expected = before - lr * second_grad
    assert np.allclose(model.weight.data, expected), (
        "a second call's step should use only its own batch's gradient: backward() adds to .grad, so the "
        "gradients must be reset once per call (before backward() or after the step), or they pile up.\n"
        f"weight before {rounded(before)}, this batch's grad {rounded(second_grad)}\n"
        f"expected      {rounded(expected)}\ngot           {rounded(model.weight.data)}"
        + ("  (the first batch's gradient was added in as well)"
           if np.allclose(model.weight.data, before - lr * (grad + second_grad)) else "")
        + f"\n(the calls were {events})"
    )


@pytest.mark.task6_3
@says_which_definition("accuracy")
def test_accuracy_is_the_fraction_of_correct_argmax_predictions():
    accuracy = notebook_function("accuracy", forward=reference_forward)
    model = StandInModel(np.eye(3, dtype=np.float32))  # the logits are the inputs themselves
    logits = np.array([[2.0, 1.0, 0.0],    # predicts 0
                       [0.0, 3.0, 1.0],    # predicts 1
                       [0.5, 0.0, 0.9],    # predicts 2
                       [1.0, 0.2, 0.1]],   # predicts 0
                      dtype=np.float32)
    labels = np.array([0, 1, 2, 2])  # the last one is wrong
    with only_what_every_model_has("accuracy(model, images, labels)"):
        got = accuracy(model, logits, labels)
    assert model.calls, "accuracy never ran the model: compute the logits with forward(model, nn.Tensor(images))"
    assert not isinstance(got, nn.Tensor), (
        "accuracy should return a plain number (a float), not a Tensor: the fraction of rows whose largest logit "
        "is at the label"
    )
    assert got is not None and np.ndim(got) == 0, f"accuracy should return one number; got {got!r}"
    if np.isclose(float(got), 75.0):
        pytest.fail("accuracy returned 75, a percentage; return the fraction, between 0 and 1 (0.75 here)")
    assert np.isclose(float(got), 0.75), (
        f"predictions (argmax of each row) {logits.argmax(axis=1).tolist()} vs labels {labels.tolist()}: "
        f"3 of 4 are right, so accuracy should be 0.75; got {got!r}"
    )
    assert accuracy(model, logits, np.array([1, 0, 0, 1])) == 0.0, (
        "with every prediction wrong, accuracy should be 0.0"
    )
    assert not any(model.grad_enabled), (
        "accuracy should compute the logits inside `with nn.no_grad():` — evaluation records no graph"
    )


@pytest.mark.task6_3
@says_which_definition("accuracy")
def test_accuracy_counts_every_image_once_whatever_the_batches():
    """37 images, the last 5 predicted wrong: 32/37. The mean of per-batch accuracies (batches of 32: 1.0 and
    0.0) weighs the short last batch like a full one and read "done" with the 4 images above."""
    accuracy = notebook_function("accuracy", forward=reference_forward)
    model = StandInModel(np.eye(3, dtype=np.float32))
    labels = np.arange(37) % 3
    logits = np.eye(3, dtype=np.float32)[np.where(np.arange(37) < 32, labels, (labels + 1) % 3)]
    with only_what_every_model_has("accuracy(model, images, labels)"):
        got = accuracy(model, logits, labels)
    assert got is not None and np.ndim(got) == 0 and np.isclose(float(got), 32 / 37), (
        f"with 37 images of which 32 are predicted right, accuracy should be 32/37 = {32 / 37:.4f}; got {got!r}. "
        "A mean of per-batch accuracies counts a short last batch as much as a full one: count the right "
        "predictions over all the images, then divide by their number"
    )

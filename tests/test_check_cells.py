"""Notebook check cells are as strict as the tests: a cell never says 'Good' for what the tests reject.

The check cell of try_extensions.ipynb (tasks 7.1–7.3) runs on the reference with one
optimizer broken at a time, the way a participant could get it wrong; train.ipynb's check
cell of task 6.2 on the reference's forward_backward with its lines in another order.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest
from conftest import IMPL_ROOT, one_line
from helpers import in_float64

import act
import loss
import nn

NOTEBOOK = IMPL_ROOT / "notebooks" / "try_extensions.ipynb"


def run_optimizer_check_cell(capsys, whole: bool = False) -> dict[str, str]:
    """The check cell's verdict per optimizer: 'Good', 'Not yet' or 'not written yet' (``whole``: its whole line)."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    source = next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and "candidates" in "".join(c["source"]))
    exec(compile(source, "try_extensions.ipynb check cell", "exec"), {"nn": nn, "np": np})
    lines = [line for line in capsys.readouterr().out.splitlines() if " (task" in line]
    verdicts = {line.split(" (task")[0]: line.split(": ", 1)[1] for line in lines}
    return verdicts if whole else {name: verdict.split(":")[0] for name, verdict in verdicts.items()}


def momentum_not_in_place(self, velocity, grad):
    return self.momentum * velocity + grad  # the velocity array itself stays 0


def adam_without_bias_correction(self):
    self.t += 1
    for p, m, v in zip(self.params, self.m, self.v):
        m[...] = self.beta1 * m + (1 - self.beta1) * p.grad
        v[...] = self.beta2 * v + (1 - self.beta2) * p.grad**2
        p.data -= self.lr * m / (np.sqrt(v) + self.eps)


def rmsprop_replacing_the_data(self):
    for p, s in zip(self.params, self.squares):
        s[...] = self.alpha * s + (1 - self.alpha) * p.grad**2
        p.data = p.data - self.lr * p.grad / (np.sqrt(s) + self.eps)


def test_the_reference_is_good(capsys):
    assert set(run_optimizer_check_cell(capsys).values()) == {"Good"}


@pytest.mark.parametrize(("name", "owner", "method", "broken"), [
    ("SGD with momentum", nn.SGD, "momentum_direction", momentum_not_in_place),
    ("Adam", nn.Adam, "step", adam_without_bias_correction),
    ("RMSProp", nn.RMSProp, "step", rmsprop_replacing_the_data),
])
def test_a_broken_optimizer_is_not_good(capsys, monkeypatch, name, owner, method, broken):
    monkeypatch.setattr(owner, method, broken)
    verdicts = run_optimizer_check_cell(capsys, whole=True)
    assert verdicts[name].startswith("Not yet"), verdicts
    if broken is adam_without_bias_correction:  # wrong from step 1 on: nothing remembered is to blame yet
        assert "after step 1" in verdicts[name] and "remembers between steps" not in verdicts[name], verdicts[name]
    verdicts = {other: verdict.split(":")[0] for other, verdict in verdicts.items()}
    assert [verdict for other, verdict in verdicts.items() if other != name] == ["Good", "Good"]


def train_cells() -> list[str]:
    cells = json.loads((IMPL_ROOT / "notebooks" / "train.ipynb").read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def zero_grad_first(lines: list[str]) -> list[str]:
    """PyTorch's usual order: the gradients reset before the backward pass instead of after the step."""
    reset = next(line for line in lines if "optimizer.zero_grad()" in line)
    lines = [line for line in lines if line is not reset]
    backward = next(n for n, line in enumerate(lines) if ".backward()" in line)
    return lines[:backward] + [reset] + lines[backward:]


def never_reset(lines: list[str]) -> list[str]:
    return [line for line in lines if "optimizer.zero_grad()" not in line]


def forward_backward_verdict(capsys, rearranged) -> str:
    """What train.ipynb's check cell of task 6.2 prints for the reference's forward_backward, its lines
    rearranged."""
    cells = train_cells()
    namespace = {"nn": nn, "np": np, "act": act, "loss": loss}
    for cell in (next(c for c in cells if "def build_model" in c), next(c for c in cells if c.startswith("def forward("))):
        exec(cell, namespace)
    defined = next(c for c in cells if c.startswith("def forward_backward("))
    exec("".join(rearranged(defined.splitlines(keepends=True))), namespace)
    (namespace["x_train"], namespace["y_train"]), _ = nn.load_mnist()
    capsys.readouterr()
    exec(next(c for c in cells if "scratch_optimizer = " in c), namespace)
    return capsys.readouterr().out


@pytest.mark.parametrize("rearranged", [list, zero_grad_first])
def test_forward_backward_is_good_with_the_reset_before_backward_or_after_the_step(capsys, rearranged):
    assert forward_backward_verdict(capsys, rearranged).startswith("Good"), rearranged.__name__


def test_forward_backward_that_never_resets_the_gradients_is_not_good(capsys):
    verdict = forward_backward_verdict(capsys, never_reset)
    assert verdict.startswith("Not yet: the second step also used the first batch's gradient"), verdict


def task_cells_changed(**changes) -> dict[str, str]:
    """train.ipynb's cells defining forward, forward_backward and accuracy, each as the reference has it
    or with ``changes[name]`` = (old, new) replaced in it."""
    cells = train_cells()
    defined = {name: next(c for c in cells if c.startswith(f"def {name}("))
               for name in ("forward", "forward_backward", "accuracy")}
    for name, (old, new) in changes.items():
        for old_part, new_part in zip(old.split(" | "), new.split(" | ")):  # 'a | b' → 'c | d': two changes
            assert old_part in defined[name], (name, old_part)
            defined[name] = defined[name].replace(old_part, new_part)
    return defined


def train_check_verdicts(capsys, **changes) -> list[str]:
    """What train.ipynb's check cells of tasks 6.1, 6.2, 6.3 and its final cell print (their last lines),
    for the reference's task functions with ``changes`` (see task_cells_changed) made."""
    cells = train_cells()
    namespace = {"nn": nn, "np": np, "act": act, "loss": loss}
    (namespace["x_train"], namespace["y_train"]), (namespace["x_test"], namespace["y_test"]) = nn.load_mnist()
    namespace["FULL_MNIST"] = False
    exec(next(c for c in cells if "def build_model" in c), namespace)
    for source in task_cells_changed(**changes).values():
        exec(source, namespace)
    capsys.readouterr()
    verdicts = []
    for marker in ("logits = forward(model, nn.Tensor(x_train[:5]))", "scratch_optimizer = ", "untrained = accuracy(",
                   "final = accuracy("):
        exec(next(c for c in cells if marker in c), namespace)
        verdicts.append(capsys.readouterr().out.strip().splitlines()[-1])
    return verdicts


def test_the_train_check_cells_are_good_for_the_reference(capsys):
    verdicts = train_check_verdicts(capsys)
    assert [verdict.split(":")[0] for verdict in verdicts] == ["Good", "Good", "Good", "Below the bar"], verdicts


@pytest.mark.parametrize(("changes", "cell", "said"), [
    ({"forward": ("return model(x)", "return act.softmax(model(x), axis=1)")}, 0, "no activation or softmax on top"),
    ({"forward": ("return model(x)", "return model.layers[2](model.layers[0](x))")}, 0, "no layer left out"),
    ({"forward_backward": ("loss.cross_entropy(logits, y)", "loss.mse(logits, np.eye(10, dtype=np.float32)[y])")},
     1, "but the batch's cross-entropy loss was"),
    ({"forward_backward": ("loss.cross_entropy(logits, y)", "loss.cross_entropy(act.softmax(logits, axis=1), y)")},
     1, "but the batch's cross-entropy loss was"),
    ({"accuracy": ("nn.Tensor(images) | == labels", "nn.Tensor(x_test) | == y_test")}, 2,
     "accuracy should score the images and labels it is given"),
    ({"accuracy": ("return float(", "return nn.Tensor(")}, 2, "accuracy should return one plain number"),
    ({"accuracy": ("return float(", "return nn.Tensor(")}, 3, "accuracy should return a fraction between 0 and 1"),
    ({"accuracy": ("return float(", "return 100 * float(")}, 3, "accuracy should return a fraction between 0 and 1"),
    ({"accuracy": ("argmax(axis=1)", "argmax(axis=0)")}, 2, "Not yet: ValueError: operands could not be broadcast"),
    ({"accuracy": ("nn.no_grad()", "np.errstate()")}, 2, "accuracy recorded a graph"),
], ids=["6.1 softmax on top", "6.1 a layer left out", "6.2 mean squared error", "6.2 softmax before the loss",
        "6.3 the test set instead of its arguments", "6.3 a Tensor", "6.3 a Tensor, in the final cell",
        "6.3 a percentage, in the final cell", "6.3 the argmax of each column", "6.3 a graph recorded"])
def test_a_train_check_cell_is_not_good_for_code_the_tests_reject(capsys, changes, cell, said):
    verdicts = train_check_verdicts(capsys, **changes)
    assert verdicts[cell].startswith("Not yet") and said in verdicts[cell], verdicts


def scalar_autodiff_cell(marker: str) -> str:
    cells = json.loads((IMPL_ROOT / "notebooks" / "scalar_autodiff.ipynb").read_text(encoding="utf-8"))["cells"]
    return next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and marker in "".join(c["source"]))


def backward_that_assigns(slot: str):
    """Scalar.backward with ``=`` instead of ``+=`` for one input slot ("a" or "b"): a value used twice keeps
    only one contribution, unless the graph happens to hide it. Gradients gathered in a dict, then set."""
    def backward(self, retain_graph=False):
        received = {id(self): 1.0}
        nodes = nn.topological_order(self)
        for node in reversed(nodes):
            if node._input_a is None:  # an input: nothing to pass on
                continue
            passed = node._function.backward(node, received.get(id(node), 0.0))
            for name, parent, gradient in zip("ab", (node._input_a, node._input_b), passed):
                if parent is not None:
                    received[id(parent)] = gradient + (0.0 if name == slot else received.get(id(parent), 0.0))
        for node in nodes:
            node.grad = received.get(id(node), 0.0)
    return backward


@pytest.mark.parametrize("slot", ["a", "b"])
def test_scalar_backward_that_overwrites_a_gradient_is_not_good(capsys, monkeypatch, slot):
    monkeypatch.setattr(nn.Scalar, "backward", backward_that_assigns(slot))
    exec(scalar_autodiff_cell("used three times"), {"nn": nn, "np": np})
    verdict = capsys.readouterr().out
    assert verdict.startswith("Not yet"), verdict


def test_scalar_backward_of_the_reference_is_good(capsys):
    exec(scalar_autodiff_cell("used three times"), {"nn": nn, "np": np})
    verdict = capsys.readouterr().out
    assert verdict.startswith("Good"), verdict


def derivatives_table_verdict(capsys) -> str:
    """The last line derivatives.ipynb's table of symbolic, numerical and automatic derivatives prints."""
    cells = json.loads((IMPL_ROOT / "notebooks" / "derivatives.ipynb").read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    namespace = {"nn": nn, "np": np}
    exec(next(c for c in code if c.startswith("def f(")), namespace)
    exec(next(c for c in code if "class Sin(nn.Function)" in c), namespace)
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_the_derivatives_table_of_the_reference_agrees(capsys):
    assert derivatives_table_verdict(capsys) == "All three agree."


def test_a_one_sided_difference_is_not_yet_in_the_derivatives_table(capsys, monkeypatch):
    monkeypatch.setattr(nn, "central_difference", lambda f, x, eps=1e-6: (f(x + eps) - f(x)) / eps)
    verdict = derivatives_table_verdict(capsys)
    assert verdict.startswith("Not yet: the numerical column") and "task 1.1" in verdict, verdict


def cnn_cell_verdict(capsys, *cell_ids: str) -> str:
    """The verdict that the last of ``cell_ids`` of upgrade_to_cnn.ipynb prints (see ``cnn_cell_output``)."""
    return verdict_in(cnn_cell_output(capsys, *cell_ids))


def verdict_in(output: str) -> str:
    return [line for line in output.splitlines() if line.startswith(VERDICTS)][-1]


def cnn_cell_output(capsys, *cell_ids: str, **stand_ins) -> str:
    """What the cells ``cell_ids`` of upgrade_to_cnn.ipynb print, run after the cells all need (imports,
    MNIST, the loops of a convolution) and with the names ``stand_ins`` defined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = {c["id"]: "".join(c["source"]) for c in json.loads(
        (IMPL_ROOT / "notebooks" / "upgrade_to_cnn.ipynb").read_text(encoding="utf-8"))["cells"]}
    namespace: dict = {}
    for needed in ("035968bd", "2ebfa193", *cell_ids):  # imports and data, the loops of a convolution, the cells
        exec(cells[needed], namespace)
        namespace.update(stand_ins)
        plt.close("all")
    return capsys.readouterr().out


VERDICTS = ("Good", "Not yet", "Slow", "One training step")


def overwriting_windows(window_grads, image_shape, stride):
    """Each window's gradient put onto its pixels with =, so that a pixel in two windows keeps only one."""
    out_h, out_w, kernel_h, kernel_w = window_grads.shape[2:]
    grad_x = np.zeros(image_shape, window_grads.dtype)
    for di in range(kernel_h):
        for dj in range(kernel_w):
            grad_x[:, :, di:di + stride[0] * out_h:stride[0], dj:dj + stride[1] * out_w:stride[1]] = \
                window_grads[:, :, :, :, di, dj]
    return grad_x


def without_bias(forward):
    return staticmethod(lambda ctx, x, weight, bias, **options: forward(ctx, x, weight, np.zeros_like(bias), **options))


def images_rolled(forward):
    return staticmethod(lambda ctx, *inputs, **options: np.roll(forward(ctx, *inputs, **options), 1, axis=0))


def weight_gradient_in_float64(backward):
    return staticmethod(lambda ctx, grad: (lambda x, w, b: (x, w.astype(np.float64), b))(*backward(ctx, grad)))


def weight_gradient_doubled(backward):
    return staticmethod(lambda ctx, grad: (lambda x, w, b: (x, 2 * w, b))(*backward(ctx, grad)))


def gradients_in_another_order(backward):
    return staticmethod(lambda ctx, grad: (lambda x, w, b: (w, x, b))(*backward(ctx, grad)))


def ties_all_winning(forward):
    """Every element equal to its window's maximum marked as a winner: a tie's gradient goes to all of them."""
    def forward_marking_every_tie(ctx, x, kernel_size=(2, 2), stride=(2, 2)):
        out = forward(ctx, x, kernel_size=kernel_size, stride=stride)
        windows = nn.conv.sliding_windows(x, kernel_size, stride)  # (batch, c, oh, ow, kh, kw)
        ctx.winner = np.moveaxis(windows == out[..., None, None], (4, 5), (0, 1)).reshape(ctx.winner.shape)
        return out

    return staticmethod(forward_marking_every_tie)


def weight_gradient_only_with_the_images(backward):
    return staticmethod(lambda ctx, grad: (lambda x, w, b: (x, w if ctx.needs_input_grad[0] else None, b))(
        *backward(ctx, grad)))


def rows_not_saved(forward):
    def forgetting_the_rows(ctx, *inputs, **options):
        out = forward(ctx, *inputs, **options)
        del ctx.rows
        return out

    return staticmethod(forgetting_the_rows)


def output_flattened(forward):
    return staticmethod(lambda ctx, *inputs, **options: (lambda out: out.reshape(*out.shape[:2], -1))(
        forward(ctx, *inputs, **options)))


def windows_not_added_back(backward):
    return staticmethod(lambda ctx, grad: (ctx.winner * grad).reshape(*ctx.winner.shape))


def indexing_past_the_end(backward):
    return staticmethod(lambda ctx, grad: grad[:, :, :, grad.shape[3]])


def reshaping_to_a_wrong_size(im2col):
    return lambda x, *args, **options: np.reshape(im2col(x, *args, **options), (5, -1))


def without_padding(im2col):
    return lambda x, kernel_size, stride, padding: im2col(x, kernel_size, stride, (0, 0))


@pytest.mark.parametrize(("cell", "owner", "name", "broken", "said"), [
    ("a9bbcf8e", nn.conv.Convolution, "forward", without_bias, "bias"),
    ("a9bbcf8e", nn.conv.Convolution, "forward", images_rolled, "3 images"),
    ("a9bbcf8e", nn.conv, "im2col", without_padding, r"gave shape \(676, 9\), expected \(784, 9\)"),
    ("a9bbcf8e", nn.conv, "im2col", lambda im2col: lambda *a, **k: im2col(*a, **k).T,
     r"gave shape \(9, 784\), expected \(784, 9\)"),
    ("a9bbcf8e", nn.conv.Convolution, "forward", in_float64, r"Convolution\.forward.*float64 unless"),
    ("ffb337e6", nn.conv, "col2im", lambda col2im: lambda *a, **k: col2im(*a, **k).astype(np.float64), r"\bx\b"),
    ("ffb337e6", nn.conv.Convolution, "backward", weight_gradient_in_float64, "weight"),
    ("ffb337e6", nn.conv.Convolution, "backward", gradients_in_another_order, "forward's order: x, weight, bias"),
    ("ffb337e6", nn.conv.Convolution, "backward", weight_gradient_doubled,
     r"input 1 \(weight, shape \(4, 3, 3, 2\)\) at index .*backward gave .*TASKS=8\.2"),
    ("a77d0d06", nn.pool, "add_windows_back", lambda _: overwriting_windows,
     r"gradcheck\(MaxPool2d\): input 0 \(x, shape \(1, 1, 8, 8\)\) at index .*backward gave .*TASKS=8\.3"),
    ("a77d0d06", nn.pool.MaxPooling, "forward", ties_all_winning, "tie"),
    ("a9bbcf8e", nn.conv.Convolution, "forward", rows_not_saved, "ctx.rows"),
    ("a9bbcf8e", nn.conv.Convolution, "forward", output_flattened, r"shape \(1, 1, 784\), expected \(1, 1, 28, 28\)"),
    ("ffb337e6", nn.conv.Convolution, "forward", rows_not_saved, "ctx.rows"),
    ("a77d0d06", nn.pool.MaxPooling, "backward", in_float64, "float32"),
    ("a77d0d06", nn.pool.MaxPooling, "backward", windows_not_added_back, "shape"),
    ("a77d0d06", nn.pool.MaxPooling, "backward", indexing_past_the_end, r"index 2 is out of bounds.*TASKS=8\.3"),
    ("a9bbcf8e", nn.conv, "im2col", reshaping_to_a_wrong_size, r"ValueError: cannot reshape.*TASKS=8\.1"),
    ("a9bbcf8e", nn.conv, "im2col", lambda im2col: lambda x, kernel_size, stride, padding:
     im2col(x, kernel_size, (1, 1), padding), r"TASKS=8\.1"),
    ("a9bbcf8e", nn.conv, "im2col", lambda im2col: lambda x, kernel_size, stride, padding:
     im2col(x, kernel_size[::-1], stride, padding), r"TASKS=8\.1"),
    ("a9bbcf8e", nn.conv, "im2col", lambda im2col: lambda x, kernel_size, stride, padding:
     im2col(x, kernel_size, stride, (padding[0], padding[0])), r"TASKS=8\.1"),
    ("ffb337e6", nn.conv.Convolution, "backward", weight_gradient_only_with_the_images, "needs_input_grad"),
    ("ffb337e6", nn.conv, "unpad", lambda _: lambda x, padding: x[:, :, padding[0]:-padding[0], padding[1]:-padding[1]],
     r"TASKS=8\.2"),
    ("a77d0d06", nn.pool, "add_windows_back", lambda add_windows_back: lambda window_grads, shape, stride:
     add_windows_back(window_grads.reshape(*window_grads.shape[:-2], *window_grads.shape[:-3:-1]), shape, stride),
     r"TASKS=8\.3"),
], ids=["conv forward without the bias", "conv forward with the images of a batch mixed up",
        "im2col without the padding", "im2col returning columns", "conv forward in float64",
        "col2im in float64", "the weight gradient in float64", "the gradients in another order",
        "the weight gradient doubled",
        "pooling windows that overwrite", "pooling ties all winning", "conv forward without ctx.rows",
        "conv forward flattened", "conv backward without ctx.rows", "pooling gradient in float64",
        "pooling windows not added back", "pooling backward indexing past the end", "im2col of a wrong size",
        "im2col ignoring the stride", "im2col with the kernel's sides swapped", "im2col with one padding for both sides",
        "the weight gradient only when the images need one", "unpad by slicing, empty for a padding of 0",
        "pooling windows read as wide as tall"])
def test_a_cnn_check_cell_is_not_good_for_code_the_tests_reject(capsys, monkeypatch, cell, owner, name, broken,
                                                                said):
    monkeypatch.setattr(owner, name, broken(getattr(owner, name)))
    verdict = cnn_cell_verdict(capsys, cell)
    assert verdict.startswith("Not yet") and re.search(said, verdict), verdict


def not_written(task_id: str):
    def unwritten(*args, **options):
        raise NotImplementedError(f"Task {task_id}: the participant's hole")

    return unwritten


@pytest.mark.parametrize(("cell", "owner", "name", "task_id", "file"), [
    ("a9bbcf8e", nn.conv, "im2col", "8.1", "nn/conv.py"),
    ("a9bbcf8e", nn.conv.Convolution, "forward", "8.1", "nn/conv.py"),
    ("ffb337e6", nn.conv, "col2im", "8.2", "nn/conv.py"),
    ("a77d0d06", nn.pool.MaxPooling, "backward", "8.3", "nn/pool.py"),
])
def test_a_cnn_check_cell_says_which_task_is_not_written_yet(capsys, monkeypatch, cell, owner, name, task_id, file):
    """The earlier notebooks' check cells say 'not written yet'; these showed a traceback."""
    unwritten = not_written(task_id)
    monkeypatch.setattr(owner, name, staticmethod(unwritten) if isinstance(owner, type) else unwritten)
    output = cnn_cell_output(capsys, cell)
    assert verdict_in(output).startswith(f"Not yet: Task {task_id}: the participant's hole"), output
    assert f"Save {file} and run this cell again" in output, output


AFTER_THE_TRAINING = ("84c771df", "06365967", "cb46a6c2", "7f8a6344", "23ab4849")  # results, filters, confusion, …


def test_with_a_convolution_task_not_written_the_cells_from_the_timing_on_say_not_yet(capsys, monkeypatch):
    """The timing and the training ended in NotImplementedError tracebacks, the cells after them in NameErrors,
    and two plotted an untrained CNN."""
    monkeypatch.setattr(nn.conv, "im2col", not_written("8.1"))
    output = cnn_cell_output(capsys, "387c88a5", "d0ba4906", SPEED_CELL, "4923a6d8", *AFTER_THE_TRAINING)
    assert output.count("Not yet: Task 8.1: the participant's hole") == 2, output
    assert output.count("Not yet: the CNN is not trained") == len(AFTER_THE_TRAINING), output


def test_the_verdict_at_the_end_is_not_passed_while_a_check_above_said_not_yet(capsys, monkeypatch):
    """A wrong pooling gradient still trains the CNN over the bar: the last cell said 'Passed' under the
    8.3 check cell's 'Not yet'."""
    trained = {"cnn_ready": lambda: True, "cnn_accuracies": [0.97]}
    assert "Passed: the CNN clears the bar" in cnn_cell_output(capsys, "a77d0d06", "23ab4849", **trained)
    monkeypatch.setattr(nn.pool, "add_windows_back", overwriting_windows)
    output = cnn_cell_output(capsys, "a77d0d06", "23ab4849", **trained)
    assert "Not yet" in output and "Passed" not in output, output
    assert re.search(r"Clears the bar, but not passed yet: the check of task 8\.3 above said 'Not yet'.*"
                     r"make check TASKS=\"8\.3\"", output), output
    rerun = cnn_cell_output(capsys, "a77d0d06", "035968bd", "23ab4849", **trained)  # the first cell run again
    assert "not passed yet" in rerun and "Passed" not in rerun, rerun


def test_with_log_softmax_not_written_its_cell_says_not_yet(capsys, monkeypatch):
    monkeypatch.setattr(act.functions.LogSoftmax, "forward", staticmethod(not_written("8.4")))
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    output = cnn_cell_output(capsys, "7f8a6344", cnn=model, cnn_ready=lambda: True)
    assert verdict_in(output).startswith("Not yet: Task 8.4: the participant's hole"), output
    assert "Save act/functions.py and run this cell again" in output, output


def test_slow_convolutions_are_named_before_training(capsys, monkeypatch):
    """A right but loop-based im2col reads 'done' in the check and trains for half an hour: the cell before
    training says so (here im2col sleeps, standing in for Python loops: no timing is asserted)."""
    im2col = nn.conv.im2col

    def slow_im2col(*args, **options):
        time.sleep(0.3)
        return im2col(*args, **options)

    monkeypatch.setattr(nn.conv, "im2col", slow_im2col)
    verdict = cnn_cell_verdict(capsys, "387c88a5", "d0ba4906", SPEED_CELL)  # build_cnn, the recipe, the cell
    assert verdict.startswith("Slow: one training step") and "minutes on the full MNIST set" in verdict \
        and "im2col" in verdict and "busy" in verdict, verdict


SPEED_CELL = "5f3c0a7e"


@pytest.mark.parametrize("cell", ["a9bbcf8e", "ffb337e6", "a77d0d06"])
def test_the_cnn_check_cells_are_good_for_the_reference(capsys, cell):
    verdict = cnn_cell_verdict(capsys, cell)
    assert verdict.startswith("Good"), verdict


# --- the check cells of tasks 1.1, 2.1, 2.2 and 7.1–7.3 ----------------------------------------------
def central_difference_verdict(capsys) -> str:
    """The last line of derivatives.ipynb's check cell of task 1.1."""
    cells = json.loads((IMPL_ROOT / "notebooks" / "derivatives.ipynb").read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    namespace = {"nn": nn, "np": np}
    exec(next(c for c in code if c.startswith("def f(")), namespace)
    exec(next(c for c in code if c.startswith("numerical = nn.central_difference(")), namespace)
    return capsys.readouterr().out.strip().splitlines()[-1]


def local_derivative_verdicts(capsys) -> list[str]:
    exec(scalar_autodiff_cell("def check_local_derivative("), {"nn": nn, "np": np})
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith(("Good", "Not yet"))]


def without_d_out(backward):
    return staticmethod(lambda ctx, d_out: backward(ctx, 1.0))


@pytest.mark.parametrize(("owner", "broken", "said"), [
    (nn.scalar.Exp, without_d_out, "backward multiplies by its d_out"),
    (nn.scalar.Mul, lambda backward: staticmethod(lambda ctx, d_out: list(backward(ctx, d_out))), "returned [2"),
    (nn.scalar.Exp, lambda backward: staticmethod(lambda ctx, d_out: backward(ctx, d_out)[0]), "returns a tuple"),
    (nn.scalar.ReLU, lambda backward: staticmethod(lambda ctx, d_out: (d_out * 1.0,) if ctx.saved == 0 else
                                                   backward(ctx, d_out)), "at x = 0 gives (0.7,)"),
], ids=["d_out forgotten", "a list", "no tuple", "1 at the kink"])
def test_a_scalar_backward_the_tests_reject_is_not_good(capsys, monkeypatch, owner, broken, said):
    monkeypatch.setattr(owner, "backward", broken(owner.backward))
    verdicts = local_derivative_verdicts(capsys)
    assert any(verdict.startswith("Not yet") and said in verdict for verdict in verdicts), verdicts


def test_the_scalar_backwards_of_the_reference_are_good(capsys):
    assert {verdict.split(":")[0] for verdict in local_derivative_verdicts(capsys)} == {"Good"}


def order_verdict(capsys) -> str:
    exec(scalar_autodiff_cell("order = nn.topological_order(z)"), {"nn": nn, "np": np})
    return capsys.readouterr().out.strip().splitlines()[-1]


def breadth_first_reversed(root):
    """Nodes in the order a breadth-first search meets them, reversed: a parent met early can end up after
    a child met later."""
    met, queue = [], [root]
    while queue:
        node = queue.pop(0)
        if all(node is not other for other in met):
            met.append(node)
            queue.extend(node.parents())
    return met[::-1]


def recursive_order(root, found=None):
    found = [] if found is None else found
    for parent in root.parents():
        if all(parent is not other for other in found):
            recursive_order(parent, found)
    found.append(root)
    return found


@pytest.mark.parametrize(("name", "broken", "verdict_of", "said"), [
    ("central_difference", lambda f, x, eps=1e-6: (f(x + 1e-5) - f(x - 1e-5)) / 2e-5, central_difference_verdict,
     "use eps, and the points x ± ε"),
    ("central_difference", lambda f, x, eps=1e-6: (f(x + eps / 2) - f(x - eps / 2)) / eps, central_difference_verdict,
     "use eps, and the points x ± ε"),
    ("central_difference", lambda f, x, eps=1e-6: float((f(x + eps) - f(x - eps)) / (2 * eps)),
     central_difference_verdict, "one per element"),
    ("central_difference", lambda f, x, eps=1e-6: None, central_difference_verdict, "returned None"),
    ("topological_order", breadth_first_reversed, order_verdict, "x + x·y as well"),
    ("topological_order", recursive_order, order_verdict, "raised RecursionError"),
], ids=["1.1 eps ignored", "1.1 half a step", "1.1 a float for an array", "1.1 no return",
        "2.2 breadth first, reversed", "2.2 recursive"])
def test_a_function_the_tests_reject_is_not_good_in_its_check_cell(capsys, monkeypatch, name, broken, verdict_of,
                                                                    said):
    monkeypatch.setattr(nn, name, broken)
    verdict = verdict_of(capsys)
    assert verdict.startswith("Not yet") and said in verdict, verdict


@pytest.mark.parametrize("verdict_of", [central_difference_verdict, order_verdict], ids=["1.1", "2.2"])
def test_the_check_cells_of_1_1_and_2_2_are_good_for_the_reference(capsys, verdict_of):
    assert verdict_of(capsys).startswith("Good")


def momentum_without_return(self, velocity, grad):
    velocity[...] = self.momentum * velocity + grad


def momentum_of_0_9(self, velocity, grad):
    velocity[...] = 0.9 * velocity + grad  # the setting written in as a number
    return velocity


@pytest.mark.parametrize(("broken", "said"), [(momentum_without_return, "a step failed with TypeError"),
                                              (momentum_of_0_9, "after step 2")],
                         ids=["no return", "momentum 0.9 written in"])
def test_a_momentum_the_tests_reject_is_not_good(capsys, monkeypatch, broken, said):
    monkeypatch.setattr(nn.SGD, "momentum_direction", broken)
    verdicts = run_optimizer_check_cell(capsys, whole=True)
    assert verdicts["SGD with momentum"].startswith("Not yet") and said in verdicts["SGD with momentum"], verdicts


def scalar_backward_verdict(capsys) -> str:
    exec(scalar_autodiff_cell("used three times"), {"nn": nn, "np": np})
    return capsys.readouterr().out.strip().splitlines()[-1]


def keeping_old_grads(backward):
    """Scalar.backward that does not reset the computed nodes' grad before a pass (simulated: put back after)."""
    def run(self, retain_graph=False):
        old = {id(node): node.grad for node in nn.topological_order(self) if node._function is not None}
        backward(self, retain_graph)
        for node in nn.topological_order(self) if retain_graph else ():
            node.grad += old.get(id(node), 0.0)
    return run


def input_set_to_one(backward):
    def run(self, retain_graph=False):
        if self._function is None:
            self.grad = 1.0  # = instead of +=
        else:
            backward(self, retain_graph)
    return run


@pytest.mark.parametrize(("broken", "said"), [
    (keeping_old_grads, "At the start of a pass set grad to 0 on the computed nodes only"),
    (input_set_to_one, "an input adds 1 when backward() is called on it"),
    (lambda backward: lambda self, retain_graph=False: backward(self, True), "should release the graph"),
    (lambda backward: lambda self, retain_graph=False: backward(self, False), "keep it when retain_graph is True"),
], ids=["computed nodes not reset", "an input set to 1", "never released", "always released"])
def test_a_scalar_backward_pass_the_tests_reject_is_not_good(capsys, monkeypatch, broken, said):
    monkeypatch.setattr(nn.Scalar, "backward", broken(nn.Scalar.backward))
    verdict = scalar_backward_verdict(capsys)
    assert verdict.startswith("Not yet") and said in one_line(verdict), verdict

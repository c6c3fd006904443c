"""How the task tests take a participant's function out of a notebook (tools/notebook_functions.py).

The task tests of train.ipynb (tests/test_train_tasks.py) test the definition that Run All leaves
defined, with the helpers the participant wrote around it, whatever else the notebook holds; a
damaged notebook is one clear line. The loader's rules are tested on small notebooks written here;
the whole path (tools/check.py, as `make check` runs it) on a participant tree with tasks 6.1–6.3
solved.
"""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import IMPL_ROOT, ROOT, TASKS, load_tools_module, one_line, solve

notebook_functions = load_tools_module("notebook_functions")
check = load_tools_module("check")
sync = load_tools_module("sync")
NOTEBOOK_TASKS = [TASKS.TASKS_BY_ID[task_id] for task_id in ("6.1", "6.2", "6.3")]


def write_notebook(path, *sources: str):
    """A notebook of these code cells (a markdown cell first, so code cell numbers are not cell indices)."""
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# A notebook"]}]
    cells += [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
               "source": source.splitlines(keepends=True)} for source in sources]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
                    encoding="utf-8")
    return path


# --- the loader on small notebooks --------------------------------------------------------------
def test_the_last_definition_is_the_one_taken(tmp_path):
    path = write_notebook(tmp_path / "train.ipynb", "def score():\n    return 1\n", "print(score())",
                          "def score():\n    return 2\n")
    assert notebook_functions.task_function(path, "score")() == 2
    assert notebook_functions.defining_cells(path, "score") == [1, 3]


@pytest.mark.parametrize("later", ["score = lambda: 5\n", "score = other\n", "def other():\n    return 5\nscore = other\n",
                                   "import math as score\n", "[(score := v) for v in [other]]\n",
                                   "try:\n    1 / 0\nexcept ZeroDivisionError as score:\n    pass\n"])
def test_a_name_set_again_after_its_last_def_is_an_error_that_says_where(tmp_path, later):
    """Run All leaves the later value, not the def: testing the def would say 'done' about code the notebook
    does not run."""
    path = write_notebook(tmp_path / "train.ipynb", "def other():\n    return 5\n", "def score():\n    return 2\n",
                          "print(score())", later)
    with pytest.raises(notebook_functions.SetAgainLater) as error:
        notebook_functions.task_function(path, "score")
    message = str(error.value)
    assert message.startswith("code cell 4 of notebooks/train.ipynb sets score again (line "), message
    assert "after its def in code cell 2, so Run All leaves that value and not the def" in message, message


def test_a_function_defined_only_inside_an_if_is_named_with_its_cell_and_line(tmp_path):
    path = write_notebook(tmp_path / "train.ipynb", "x = 1\n", "if True:\n    def score():\n        return 2\n")
    with pytest.raises(notebook_functions.FunctionNotFound, match=r"^code cell 2 of notebooks/train\.ipynb defines "
                                                                  r"`def score\(\.\.\.\)` on line 2 inside another "
                                                                  r"statement"):
        notebook_functions.task_function(path, "score")


def test_a_name_used_but_not_set_again_after_its_def_is_no_error(tmp_path):
    path = write_notebook(tmp_path / "train.ipynb", "def score():\n    return 2\n",
                          "result = score()\nfor other in range(3):\n    pass\n", "def wrap(score):\n    return score\n",
                          "score: 'Callable'\n", "[score for score in range(3)]\n")
    assert notebook_functions.task_function(path, "score")() == 2


def test_helpers_imports_and_plain_constants_of_any_cell_are_there_but_no_other_code_runs(tmp_path):
    path = write_notebook(
        tmp_path / "train.ipynb",
        "import math\nimport json as unused_module\nSCALE = 10\nOFFSET: float = -0.5\nLABELS = ('a', 'b')\n",
        "raise RuntimeError('a cell that computes something: never run by the check')\nCOUNT = len(LABELS)\n",
        "def halve(x):\n    return x / 2\n\n\nclass Box:\n    size = SCALE\n",
        "def score(x):\n    return helper(x) + Box.size + OFFSET + len(LABELS) + math.floor(0.5)\n\n\n"
        "def helper(x):\n    return halve(x) * SCALE\n\n\nprint(score(1))  # this line is not run either\n",
    )
    score = notebook_functions.task_function(path, "score")
    assert score(4) == 20 + 10 - 0.5 + 2
    assert "unused_module" not in score.__wrapped__.__globals__  # only what the function needs is imported


def test_replacements_win_over_the_notebooks_own_definitions(tmp_path):
    path = write_notebook(tmp_path / "train.ipynb", "def forward(x):\n    return x\n",
                          "def step(x):\n    return forward(x) + 1\n")
    assert notebook_functions.task_function(path, "step", forward=lambda x: 10 * x)(1) == 11


@pytest.mark.parametrize(("source", "said"), [
    ("x_train = load()\n", "code cell 1 sets it by running code"),
    ("y = 1\n", "no code cell of notebooks/train.ipynb defines it"),
])
def test_a_name_the_check_cannot_see_is_named_with_the_rule(tmp_path, source, said):
    path = write_notebook(tmp_path / "train.ipynb", source, "def score():\n    return len(x_train)\n")
    with pytest.raises(NameError) as error:
        notebook_functions.task_function(path, "score")()
    message = str(error.value)
    assert message.startswith("name 'x_train' is not defined when the check runs score: "), message
    assert said in message and "only the imports, def and class statements and assignments of plain values" \
        in message, message
    assert isinstance(error.value.__cause__, NameError)  # the participant's line stays in the chain


@pytest.mark.parametrize("ipython", [
    "x = 1\nnp.argmax?\n", "files = !ls\n", "%%bash\necho hi\n", "%matplotlib inline\n",
    "await asyncio.sleep(0)\n", "np.argmax??\n",
])
def test_ipython_syntax_in_a_cell_is_no_error(tmp_path, ipython):
    path = write_notebook(tmp_path / "train.ipynb", "import numpy as np\n", ipython,
                          "def score():\n    return int(np.argmax([1, 3, 2]))\n")
    assert notebook_functions.task_function(path, "score")() == 1


def test_ipython_syntax_in_the_functions_own_cell_is_no_error(tmp_path):
    path = write_notebook(tmp_path / "train.ipynb", "%load_ext autoreload\ndef score():\n    return 3\n%time score()\n")
    assert notebook_functions.task_function(path, "score")() == 3


def test_a_syntax_error_in_a_cell_without_functions_is_ignored_one_in_a_function_cell_is_not(tmp_path):
    path = write_notebook(tmp_path / "train.ipynb", "print((1, 2)\n", "def score():\n    return 3\n",
                          "def other(:\n    pass\n")
    with pytest.raises(SyntaxError) as error:
        notebook_functions.task_function(path, "score")
    assert error.value.filename == "train.ipynb cell 3" and error.value.lineno == 1


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda path: path.write_text('{"cells": [', encoding="utf-8"), "it is not valid JSON"),
    (lambda path: path.write_text("", encoding="utf-8"), "the file is empty"),
    (lambda path: path.write_text("{}", encoding="utf-8"), "it has no list of cells"),
    (lambda path: path.write_text('{"cells": [{"cell_type": "code"}]}', encoding="utf-8"), "cell 1 has no source"),
    (lambda path: path.write_bytes(b"\xff\xfe{"), "it is not UTF-8 text"),
    (lambda path: path.unlink(), "the file is missing"),
    (lambda path: (path.unlink(), path.mkdir()), "it is a folder"),
])
def test_a_damaged_notebook_is_an_invalid_notebook_with_its_reason(tmp_path, damage, reason):
    path = write_notebook(tmp_path / "train.ipynb", "def score():\n    return 3\n")
    damage(path)
    with pytest.raises(notebook_functions.InvalidNotebook) as error:
        notebook_functions.task_function(path, "score")
    assert error.value.file == "notebooks/train.ipynb"
    assert error.value.reason.startswith(reason), error.value.reason


# --- make check on a participant tree -----------------------------------------------------------
@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A participant tree with the reference's nn/, act/, loss/ and tasks 6.1–6.3 solved in train.ipynb."""
    if not (ROOT / "solutions").is_dir():
        pytest.skip("a handout has no solutions/")
    tree = tmp_path_factory.mktemp("participant")
    for name in sync.handout_files(ROOT):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    for package in ("nn", "act", "loss"):
        shutil.rmtree(tree / package)
        shutil.copytree(ROOT / "solutions" / package, tree / package)
    solve(tree, {task.id for task in NOTEBOOK_TASKS})
    return tree


@pytest.fixture
def notebook(tree):
    """train.ipynb of the tree, put back as it was after the test."""
    path = tree / "notebooks" / "train.ipynb"
    original = path.read_bytes()
    yield path
    if path.is_dir():
        path.rmdir()
    path.write_bytes(original)


def edit_notebook(path, edit) -> None:
    """``edit(cells)`` changes the notebook's list of cells (each source one string); it is written back."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        cell["source"] = "".join(cell["source"])
    edit(nb["cells"])
    path.write_text(json.dumps(nb), encoding="utf-8")


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": source}


def index_of(cells: list[dict], text: str) -> int:
    """The index of the one code cell that contains ``text``."""
    found = [n for n, cell in enumerate(cells) if cell["cell_type"] == "code" and text in cell["source"]]
    assert len(found) == 1, f"{text!r} is in cells {found}"
    return found[0]


def report(tree, *task_ids: str):
    progress = check.report(tree, [TASKS.TASKS_BY_ID[task_id] for task_id in task_ids])
    return {task.id: status for task, status in progress.rows}, one_line(check.render(progress))


def test_a_broken_later_copy_of_a_task_function_is_what_is_tested(tree, notebook):
    def add_an_experiment(cells):
        accuracy = index_of(cells, "def accuracy(")
        lines = cells[accuracy]["source"].rstrip("\n").splitlines()
        cells.insert(accuracy + 1, code_cell("\n".join(lines[:-1] + ["    return 1.0  # experiment"])))

    edit_notebook(notebook, add_an_experiment)
    statuses, text = report(tree, "6.3")
    assert statuses["6.3"].label == "wrong", text
    assert "accuracy is defined in code cells 10 and 11 of notebooks/train.ipynb; the check tests the last " \
           "one, code cell 11, the one Run All leaves defined" in text, text


def test_a_task_function_set_again_by_a_later_cell_is_not_done(tree, notebook):
    """A correct def followed by `accuracy = lambda …` read "done", while Run All trains with the lambda."""
    def replace_by_a_lambda(cells):
        cells.insert(index_of(cells, "def accuracy(") + 1, code_cell("accuracy = lambda model, images, labels: 1.0"))

    edit_notebook(notebook, replace_by_a_lambda)
    statuses, text = report(tree, "6.3")
    assert statuses["6.3"].label != "done", text
    assert "code cell 11 of notebooks/train.ipynb sets accuracy again (line 1: accuracy = lambda model, images, " \
           "labels: 1.0), after its def in code cell 10" in text, text


def test_helpers_in_the_task_cell_and_constants_of_other_cells_are_available(tree, notebook):
    """The participant's accuracy becomes a helper of the cell (below the new accuracy, which calls it), and
    the new accuracy uses a constant of the hyperparameter cell. (No solution code is written here.)"""
    def use_helpers(cells):
        accuracy = cells[index_of(cells, "def accuracy(")]
        accuracy["source"] = ("def accuracy(model, images, labels):\n"
                              "    return SCALE * accuracy_as_written(model, images, labels)\n\n\n"
                              + accuracy["source"].replace("def accuracy(", "def accuracy_as_written("))
        cells[index_of(cells, "BATCH_SIZE = 32")]["source"] += "\nSCALE = 1.0\n"

    edit_notebook(notebook, use_helpers)
    statuses, text = report(tree, "6.3")
    assert statuses["6.3"].label == "done", text


def test_a_name_the_check_does_not_see_says_which_and_why_and_where(tree, notebook):
    def use_the_data(cells):
        accuracy = cells[index_of(cells, "def accuracy(")]
        accuracy["source"] = accuracy["source"].replace("    with nn.no_grad():",
                                                        "    len(x_train)\n    with nn.no_grad():")

    edit_notebook(notebook, use_the_data)
    statuses, text = report(tree, "6.3")
    assert statuses["6.3"].label == "wrong", text
    assert "name 'x_train' is not defined when the check runs accuracy: code cell 2 sets it by running code" \
        in text, text
    assert "(raised at notebooks/train.ipynb, code cell 10, line 4 (accuracy))" in text, text


def test_ipython_syntax_in_other_cells_blocks_no_task(tree, notebook):
    def add_ipython(cells):
        plotting = index_of(cells, "The first 16 training images")
        cells[plotting]["source"] += "\nnp.argmax?"
        cells.insert(plotting + 1, code_cell("files = !ls\n%time print(files)"))
        cells.insert(plotting + 2, code_cell("%%bash\necho this is not Python\n"))
        cells.append(code_cell("await asyncio.sleep(0)"))

    edit_notebook(notebook, add_ipython)
    statuses, text = report(tree, "6.1", "6.2", "6.3")
    assert {task_id: status.label for task_id, status in statuses.items()} == dict.fromkeys(statuses, "done"), text


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda path: path.write_text(path.read_text(encoding="utf-8")[:5000], encoding="utf-8"), "it is not valid JSON"),
    (lambda path: path.write_text("", encoding="utf-8"), "the file is empty"),
    (lambda path: path.write_text("{}", encoding="utf-8"), "it has no list of cells"),
    (lambda path: path.unlink(), "the file is missing"),
    (lambda path: (path.unlink(), path.mkdir()), "it is a folder"),
])
def test_a_damaged_notebook_is_not_checked_with_advice_that_works_in_a_handout(tree, notebook, damage, reason):
    damage(notebook)
    statuses, text = report(tree, "6.1", "6.3")
    label = "not checked: notebooks/train.ipynb is not a valid notebook"
    assert {status.label for status in statuses.values()} == {label}, text
    assert f"notebooks/train.ipynb is not a valid notebook ({reason}" in text, text
    assert ("restore it (your last saved copy, or notebooks/train.ipynb of a fresh copy of the kit as it was "
            "handed out)") in text, text  # the tree is a handout: no git, no JupyterLab checkpoint yet
    for wrong_advice in ("git checkout", "make sync", "JSONDecodeError", "KeyError", "IsADirectoryError", "Traceback"):
        assert wrong_advice not in text, text
    assert text.count("is not a valid notebook (") == 1, text


def test_the_advice_to_restore_a_file_fits_the_folder_and_keeps_the_participants_work_first(tmp_path):
    """A handout has no git: the advice names JupyterLab's checkpoint when there is one, else the kit as handed
    out. In a git clone `git checkout` comes last, after the copy to keep: it brings back the file without the
    participant's work (it came first, and a participant who followed it lost a notebook's worth of tasks)."""
    advice = check.taskreport.restore_advice
    assert advice(tmp_path, "notebooks/train.ipynb") == (
        "your last saved copy, or notebooks/train.ipynb of a fresh copy of the kit as it was handed out")
    (tmp_path / "notebooks" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "notebooks" / ".ipynb_checkpoints" / "train-checkpoint.ipynb").write_text("{}")
    checkpoint = ("copy JupyterLab's last checkpoint, notebooks/.ipynb_checkpoints/train-checkpoint.ipynb, back to "
                  "notebooks/train.ipynb; or your last saved copy")
    assert advice(tmp_path, "notebooks/train.ipynb") == checkpoint
    (tmp_path / ".git").mkdir()
    (tmp_path / "notebooks" / "train.ipynb").write_text('{"cells": [')  # cut off: the rest of it is the participant's
    assert advice(tmp_path, "notebooks/train.ipynb") == (
        f"{checkpoint}; or, without your work in it, the kit's own version: keep a copy first "
        "(cp notebooks/train.ipynb notebooks/train.ipynb.broken), then git checkout HEAD -- notebooks/train.ipynb")
    assert advice(tmp_path, "nn/conv.py") == ("your last saved copy; or, without your work in it, the kit's own "
                                              "version: git checkout HEAD -- nn/conv.py")  # a missing file: nothing to keep


def test_a_notebook_line_reads_the_same_in_every_part_of_the_report(tmp_path):
    """'raised at', the printed-lines note and a file error name a notebook line in one form."""
    location = "notebooks/train.ipynb cell 10:5"
    assert check.taskreport.shown_location(location) == "notebooks/train.ipynb, code cell 10, line 5"
    assert check.taskreport.shown_location("nn/functions.py:53") == "nn/functions.py:53"
    run = check.taskreport.Report([], [], [], prints={location: 5000})
    note = check.notes(check.Progress([], run, tmp_path))[0]
    assert "5,000 of them at notebooks/train.ipynb, code cell 10, line 5;" in note, note
    error = check.taskreport.FileError("notebooks/train.ipynb cell 10", 5, "x = (", "SyntaxError", "never closed")
    assert check.describe_file_error(tmp_path, error).startswith("notebooks/train.ipynb, code cell 10, line 5: SyntaxError")


def test_a_name_possibly_in_a_cell_that_does_not_parse_says_so(tmp_path):
    path = write_notebook(tmp_path / "train.ipynb", "LIMIT = (3\n", "def score():\n    return LIMIT\n")
    with pytest.raises(NameError, match=r"no code cell of notebooks/train\.ipynb defines it that the check could "
                                        r"read \(code cell 1 is not valid Python\)"):
        notebook_functions.task_function(path, "score")()


def test_the_set_up_cells_magic_costs_no_import_of_ipython(tmp_path):
    """Importing IPython's transformer takes 0.1 s of every check; a cell with only line magics does not need it."""
    import subprocess
    import sys

    path = write_notebook(tmp_path / "train.ipynb", "%load_ext autoreload\n%autoreload 2\nimport math\n",
                          "def score():\n    return math.floor(2.5)\n")
    code = "\n".join([
        "import importlib.util, sys",
        f"spec = importlib.util.spec_from_file_location('loader', {str(ROOT / 'tools' / 'notebook_functions.py')!r})",
        "module = importlib.util.module_from_spec(spec)",
        "spec.loader.exec_module(module)",
        f"assert module.task_function(module.Path({str(path)!r}), 'score')() == 2",
        "print('IPython' in sys.modules)",
    ])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", done.stdout + done.stderr


# --- the tests of 6.1–6.3 judge what a function does, not how it is written ------------------------
import test_train_tasks as train_tests  # noqa: E402  (tests/test_train_tasks.py)

TASK_TESTS = {"forward": train_tests.test_forward_returns_the_models_logits,
              "forward_backward": train_tests.test_forward_backward_takes_one_sgd_step,
              "accuracy": train_tests.test_accuracy_is_the_fraction_of_correct_argmax_predictions}
IMPORTS = "import numpy as np\n\nimport act\nimport loss\nimport nn\n"
STEP = ("def forward_backward(model, optimizer, x, y):\n    {reset}\n    out = forward(model, x)\n"
        "    value = loss.cross_entropy(out, y)\n    value.backward()\n    optimizer.step()\n    return {number}\n")


def run_task_test(tmp_path, monkeypatch, source: str) -> None:
    """The task test of the function ``source`` defines, on a notebook that holds it."""
    name = source.split("def ", 1)[1].split("(", 1)[0]
    monkeypatch.setattr(train_tests, "NOTEBOOK", write_notebook(tmp_path / "train.ipynb", IMPORTS, source))
    TASK_TESTS[name]()


@pytest.mark.parametrize("source", [
    "def forward(model, x):\n    return model.forward(x)\n",
    STEP.format(reset="model.zero_grad()", number="float(value.data)"),
    STEP.format(reset="optimizer.zero_grad()", number="value.data.item()"),
    STEP.format(reset="optimizer.zero_grad()", number="float(value.numpy())"),
], ids=["model.forward", "model.zero_grad and float of .data", ".data.item()", "float of .numpy()"])
def test_other_correct_ways_to_write_a_notebook_task_pass(tmp_path, monkeypatch, source):
    run_task_test(tmp_path, monkeypatch, source)


@pytest.mark.parametrize(("source", "said"), [
    ("def forward(model, x):\n    return model.layers[0](x)\n",
     "forward(model, x) used model.layers: the check passes a model of its own"),
    (STEP.format(reset="optimizer.zero_grad()", number="value.item()").replace("loss.cross_entropy(out, y)",
                                                                               "loss.mse(out, y)"),
     "forward_backward used loss.mse: a classifier of 10 digits trains with the softmax cross-entropy"),
    pytest.param(STEP.format(reset="optimizer.zero_grad()", number="value.item()").replace(
        "    optimizer.step()\n", "    mine = nn.SGD(model.parameters(), lr=0.1)\n    mine.step()\n"),
        "forward_backward should update the parameters with the optimizer it is given",
        marks=pytest.mark.skipif(IMPL_ROOT.name != "solutions", reason="nn.SGD of the reference (task 5.3)")),
    (STEP.format(reset="optimizer.zero_grad()", number="value.item()").replace(
        "    optimizer.step()\n", "    for p in model.parameters():\n        p.data -= 0.1 * p.grad\n"),
     "forward_backward should update the parameters with the optimizer it is given"),
], ids=["forward looks inside the model", "the wrong loss", "an optimizer of its own", "an update by hand"])
def test_a_notebook_task_that_ignores_what_it_is_given_is_told_so(tmp_path, monkeypatch, source, said):
    with pytest.raises((AssertionError, pytest.fail.Exception)) as failure:
        run_task_test(tmp_path, monkeypatch, source)
    assert said in one_line(str(failure.value)), failure.value

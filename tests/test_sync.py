"""tools/sync.py: the participant version generated from solutions/.

Most tests build a tiny kit in tmp_path with a catalogue of their own; the last
ones check the real kit (fresh participant version, handout).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, load_tools_module

sync = load_tools_module("sync")
Task = sync.catalogue.Task

HINTS = ("a question?", "the math", "close to code")
TASKS = (
    Task("1.1", "Square forward", ("nn/ops.py:Square.forward",), "Return x².", HINTS, "slide"),
    Task("1.2", "Square backward", ("nn/ops.py:Square.backward",), "Return 2x.", HINTS, "slide"),
    Task("1.3", "Root", ("nn/ops.py:root",), "Return √x, a goal long enough to be wrapped over two comment lines "
         "of the generated file (N, K) (M, K) (A, B)", HINTS, "slide"),
    Task("2.1", "forward (train.ipynb)", ("notebooks/train.ipynb:forward",), 'Return "the logits".', HINTS, "slide"),
)

OPS = '''\
"""Ops for the tests of sync."""

import math


class Square:
    """x²."""

    @staticmethod
    def forward(x):
        y = x  # kept
        ### BEGIN SOLUTION
        return y * y
        ### END SOLUTION

    def backward(self, x, flag=True):
        if flag:
            for _ in range(1):
                ### BEGIN SOLUTION
                return 2 * x
                ### END SOLUTION
        return 0


def root(x):
    """The whole body is the block."""
    ### BEGIN SOLUTION
    return math.sqrt(x)
    ### END SOLUTION
'''

EXPECTED_OPS = '''\
"""Ops for the tests of sync."""

import math


class Square:
    """x²."""

    @staticmethod
    def forward(x):
        y = x  # kept
        # TODO Task 1.1: Return x².
        #   (stuck? make hint TASK=1.1)
        raise NotImplementedError("Task 1.1: Square forward (nn/ops.py: Square.forward) — Return x². Stuck? make hint TASK=1.1. Check with: make check")

    def backward(self, x, flag=True):
        if flag:
            for _ in range(1):
                # TODO Task 1.2: Return 2x.
                #   (stuck? make hint TASK=1.2)
                raise NotImplementedError("Task 1.2: Square backward (nn/ops.py: Square.backward) — Return 2x. Stuck? make hint TASK=1.2. Check with: make check")
        return 0


def root(x):
    """The whole body is the block."""
    # TODO Task 1.3: Return √x, a goal long enough to be wrapped over two comment lines of the
    #   generated file (N, K) (M, K) (A, B)
    #   (stuck? make hint TASK=1.3)
    raise NotImplementedError("Task 1.3: Root (nn/ops.py: root) — Return √x, a goal long enough to be wrapped over two comment lines of the generated file (N, K) (M, K) (A, B) Stuck? make hint TASK=1.3. Check with: make check")
'''

FORWARD_CELL = "%matplotlib inline\ndef forward(model, x):\n    ### BEGIN SOLUTION\n    return model(x)\n    ### END SOLUTION\n"


def notebook() -> dict:
    def code(cell_id, source, **extra):
        return {"cell_type": "code", "id": cell_id, "metadata": extra.pop("metadata", {}),
                "execution_count": 7, "outputs": [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}],
                "source": source, **extra}

    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
                     "language_info": {"name": "python", "version": "3.11.7"}, "widgets": {"state": {}}},
        "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# Train\n", "Fill in `forward`."]},
            code("setup", ["import nn\n", "print('hi')"]),
            code("forward-cell", FORWARD_CELL.splitlines(keepends=True),
                 metadata={"tags": ["task"], "ExecuteTime": {"end_time": "2026-05-01"}, "scrolled": True}),
        ],
    }


def write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


@pytest.fixture
def kit(tmp_path):
    """A tiny kit: solutions/nn (a file with blocks, one without) and a notebook."""
    write(tmp_path / "solutions/nn/ops.py", OPS)
    write(tmp_path / "solutions/nn/__init__.py", "from .ops import Square, root\n")
    write(tmp_path / "solutions/notebooks/train.ipynb", json.dumps(notebook(), indent=1))
    return tmp_path


def run_sync(kit, tasks=TASKS, **options):
    return sync.sync(kit, tasks, out=open(os.devnull, "w"), **options)


def test_each_block_becomes_a_todo_and_a_raise_and_the_rest_is_copied_byte_for_byte(kit):
    run_sync(kit)
    assert (kit / "nn/ops.py").read_text(encoding="utf-8") == EXPECTED_OPS


def test_a_file_without_blocks_is_copied_verbatim(kit):
    run_sync(kit)
    assert (kit / "nn/__init__.py").read_bytes() == (kit / "solutions/nn/__init__.py").read_bytes()


def test_the_participant_version_imports_and_each_hole_raises_its_own_task(kit):
    run_sync(kit)
    spec = importlib.util.spec_from_file_location("generated_ops", kit / "nn/ops.py")
    ops = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ops)
    calls = {"1.1": lambda: ops.Square.forward(3), "1.2": lambda: ops.Square().backward(3), "1.3": lambda: ops.root(4)}
    for task_id, call in calls.items():
        with pytest.raises(NotImplementedError, match=rf"^Task {task_id}: .* Check with: make check$"):
            call()


def test_keep_leaves_the_solution_of_chosen_tasks_in_place(kit):
    text = sync.generate(kit, TASKS, keep=frozenset({"1.2"}))["nn/ops.py"]
    assert "                return 2 * x\n" in text
    assert "BEGIN SOLUTION" not in text
    assert "Task 1.1: Square forward" in text


def test_notebooks_get_holes_in_code_cells_and_lose_outputs_and_run_metadata(kit):
    run_sync(kit)
    original = notebook()
    generated = json.loads((kit / "notebooks/train.ipynb").read_text(encoding="utf-8"))
    assert [c["id"] for c in generated["cells"]] == [c["id"] for c in original["cells"]]
    assert generated["cells"][0] == original["cells"][0], "a markdown cell must not change"
    setup, forward = generated["cells"][1], generated["cells"][2]
    assert setup["source"] == original["cells"][1]["source"]
    for cell in (setup, forward):
        assert cell["outputs"] == [] and cell["execution_count"] is None
    assert forward["metadata"] == {"tags": ["task"]}
    assert "widgets" not in generated["metadata"]
    assert forward["source"] == [
        "%matplotlib inline\n",
        "def forward(model, x):\n",
        '    # TODO Task 2.1: Return "the logits".\n',
        '    #   (stuck? make hint TASK=2.1)\n',
        '    raise NotImplementedError("Task 2.1: forward (train.ipynb) (notebooks/train.ipynb: forward) — '
        'Return \\"the logits\\". Stuck? make hint TASK=2.1. Check with: make check")\n',
    ]
    namespace = {}
    exec("".join(forward["source"][1:]), namespace)
    with pytest.raises(NotImplementedError, match=r'^Task 2\.1: .*"the logits"'):
        namespace["forward"](None, 1)


def test_running_twice_changes_nothing(kit):
    assert run_sync(kit)  # the first run writes
    before = {p: p.stat().st_mtime_ns for p in kit.rglob("*") if p.is_file()}
    assert run_sync(kit) == []
    assert {p: p.stat().st_mtime_ns for p in kit.rglob("*") if p.is_file()} == before
    assert sync.check(kit, TASKS) == []


def test_stale_generated_files_are_deleted_and_nothing_else(kit):
    write(kit / "nn/old.py", "x = 1\n")
    write(kit / "nn/__pycache__/old.cpython-311.pyc", "")
    write(kit / "nn/notes.txt", "mine\n")
    assert "nn/old.py" in run_sync(kit)
    assert not (kit / "nn/old.py").exists()
    assert (kit / "nn/__pycache__/old.cpython-311.pyc").exists() and (kit / "nn/notes.txt").exists()


def test_check_names_a_hand_edited_file_and_says_what_to_do(kit):
    run_sync(kit)
    write(kit / "nn/__init__.py", "from .ops import Square, root  # edited\n")
    write(kit / "nn/extra.py", "")
    messages = sync.check(kit, TASKS)
    assert messages[0] == ("nn/__init__.py differs from what tools/sync.py generates from solutions/: edit "
                           "solutions/ and run `make sync` (generated files are not edited by hand)")
    assert messages[1].startswith("nn/extra.py has no solutions/nn/extra.py")
    assert len(messages) == 2


def test_sync_refuses_to_overwrite_filled_holes_unless_forced(kit):
    run_sync(kit)
    filled = EXPECTED_OPS.replace(
        '        # TODO Task 1.1: Return x².\n        #   (stuck? make hint TASK=1.1)\n'
        '        raise NotImplementedError("Task 1.1: Square forward (nn/ops.py: Square.forward) — Return x². '
        'Stuck? make hint TASK=1.1. Check with: make check")\n', "        return y * y\n")
    assert filled != EXPECTED_OPS
    write(kit / "nn/ops.py", filled)
    with pytest.raises(sync.SyncError, match=r"nn/ops.py \(1 filled\).*make sync FORCE=1"):
        run_sync(kit)
    assert (kit / "nn/ops.py").read_text(encoding="utf-8") == filled
    run_sync(kit, force=True)
    assert (kit / "nn/ops.py").read_text(encoding="utf-8") == EXPECTED_OPS


def function(body: str) -> str:
    return "def root(x):\n" + textwrap.indent(textwrap.dedent(body), "    ")


@pytest.mark.parametrize(("source", "error"), [
    (function("### BEGIN SOLUTION\nreturn x\n"), r"line 2: ### BEGIN SOLUTION is never closed"),
    (function("return x\n### END SOLUTION\n"), r"line 3: ### END SOLUTION without a ### BEGIN SOLUTION"),
    (function("### BEGIN SOLUTION\n### BEGIN SOLUTION\nreturn x\n### END SOLUTION\n### END SOLUTION\n"),
     r"line 3: .*cannot be nested"),
    (function("return x  ### BEGIN SOLUTION\n"), r"line 2: a solution marker must be a line of its own"),
    (function("### BEGIN SOLUTION: the answer\nreturn x\n### END SOLUTION\n"),
     r"line 2: .*a marker line is exactly '### BEGIN SOLUTION'.*goal in tools/tasks.py"),
    (function("### BEGIN SOLUTION\n# only a comment\n### END SOLUTION\n"), r"the solution block is empty"),
    ("### BEGIN SOLUTION\nX = 1\n### END SOLUTION\n", r"line 1: the solution block is not inside a function"),
    (function("### BEGIN SOLUTION\nreturn x\n  ### END SOLUTION\n"), r"indented differently"),
])
def test_malformed_blocks_are_errors_that_say_where(kit, source, error):
    write(kit / "solutions/nn/ops.py", source)
    with pytest.raises(sync.SyncError, match=error) as caught:
        sync.generate(kit, TASKS[2:3])
    assert "solutions/nn/ops.py" in str(caught.value)


def test_a_block_of_no_task_is_an_error_naming_the_place_to_add(kit):
    write(kit / "solutions/nn/extra.py", function("### BEGIN SOLUTION\nreturn x\n### END SOLUTION\n"))
    with pytest.raises(sync.SyncError, match=r"solutions/nn/extra.py line 2: .*belongs to no task: add 'nn/extra.py:root'"):
        sync.generate(kit, TASKS)
    assert not (kit / "nn").exists(), "nothing is written when solutions/ and the catalogue disagree"


def test_a_place_of_two_tasks_is_an_error(kit):
    twice = TASKS + (Task("9.9", "Again", ("nn/ops.py:root",), "goal", HINTS, "slide"),)
    with pytest.raises(sync.SyncError, match=r"'nn/ops.py:root' is a place of task 1.3 and of task 9.9"):
        sync.generate(kit, twice)


def test_a_task_place_without_a_block_is_an_error(kit):
    extra = TASKS + (Task("9.9", "Missing", ("nn/ops.py:Square.missing",), "goal", HINTS, "slide"),)
    with pytest.raises(sync.SyncError, match=r"(?s)no solution block.*task 9.9: nn/ops.py:Square.missing"):
        sync.generate(kit, extra)


# --- the real kit ------------------------------------------------------------------------------
needs_solutions = pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="a handout has no solutions/")


@needs_solutions
def test_the_committed_participant_version_is_what_make_sync_generates():
    done = subprocess.run([sys.executable, str(ROOT / "tools/sync.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, f"the participant version is out of date:\n{done.stderr}{done.stdout}"


@needs_solutions
def test_handout_copies_the_kit_without_solutions(tmp_path):
    destination = tmp_path / "handout"
    sync.handout(ROOT, destination, out=open(os.devnull, "w"))
    assert not (destination / "solutions").exists()
    for name in ("Makefile", "README.md", "nn/__init__.py", "tools/check.py", "tests/conftest.py"):
        assert (destination / name).is_file(), f"{name} is missing from the handout"
    assert (destination / "nn/functions.py").read_bytes() == (ROOT / "nn/functions.py").read_bytes()
    assert not (destination / ".venv").exists()
    with pytest.raises(sync.SyncError, match="is not empty"):
        sync.handout(ROOT, destination, out=open(os.devnull, "w"))

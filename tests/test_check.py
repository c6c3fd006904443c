"""tools/check.py (make check): the participant's progress report.

The statuses are tested on made-up results. The report as a whole runs as a
participant runs it (``tools/check.py`` in a copy of the kit), on an untouched
participant tree, on a complete one (the reference's code pasted over the top
level), and on the complete tree with one mistake at a time: each mistake must
come out as what it is, with a message that says so, in bounded time.
"""

from __future__ import annotations

import contextlib
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, TASKS, load_tools_module, one_line, solve

check = load_tools_module("check")
sync = load_tools_module("sync")
taskreport = check.taskreport
Outcome = taskreport.Outcome
TASK = TASKS.TASKS_BY_ID["3.2"]
NO_PROBLEMS = taskreport.Report([], [], [])

needs_solutions = pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="a handout has no solutions/")


def nie(task_id: str) -> dict:
    return {"outcome": "failed", "exception": "NotImplementedError", "message": f"Task {task_id}: do it"}


@pytest.mark.parametrize(("outcomes", "label", "shown"), [
    ([{"outcome": "passed"}, {"outcome": "passed"}], "done", None),
    ([nie("3.2"), nie("3.2")], "not started", 0),
    ([{"outcome": "passed"}, nie("3.2")], "in progress", 1),
    ([nie("3.2"), {"outcome": "failed", "exception": "AssertionError", "message": "expected (2, 3), got (3, 2)"}],
     "wrong", 1),
    ([{"outcome": "failed", "exception": "NotImplementedError", "message": ""}], "wrong", 0),
    ([nie("3.2"), nie("3.1")], "waiting for task 3.1", 1),
    ([{"outcome": "skipped"}], "no tests found", None),
    ([{"outcome": "passed"}, {"outcome": "failed", "exception": "DidNotFinish",
                              "message": "it did not finish in 10 s — an endless loop?"}],
     "wrong: it did not finish in 10 s — an endless loop?", 1),
    ([nie("3.2"), {"outcome": "failed", "exception": "NotChecked", "message": "nn could not be imported"}],
     "not checked: a test file did not load", 1),
])
def test_status_of_a_task_from_its_tests(outcomes, label, shown):
    """``shown``: which result is the failing check shown to the participant."""
    results = [Outcome(nodeid=f"tests/t.py::test_{n}", tasks=("3.2",), **o) for n, o in enumerate(outcomes)]
    status = check.status_of(TASK, results + [Outcome("tests/t.py::test_other", ("3.1",), "passed")], NO_PROBLEMS)
    assert status.label == label
    assert status.failure is (None if shown is None else results[shown])


def test_a_local_variable_named_like_a_module_is_explained():
    """`loss = loss.cross_entropy(...)` in a function: Python's own words do not say why the module is gone."""
    failure = Outcome("tests/t.py::test_step", ("6.2",), "failed", "UnboundLocalError",
                      "cannot access local variable 'loss' where it is not associated with a value")
    said = " ".join(" ".join(check.failure_lines(check.Status("wrong", failure, 0, 1))).split())
    assert "local variable 'loss'" in said and "module" in said and "a name of its own" in said, said


@pytest.mark.parametrize(("message", "said"), [("bye", "sys.exit('bye')"), ("1", "sys.exit(1)"),
                                              ("None", "sys.exit() (or exit())")])
def test_an_exit_in_a_task_is_shown_as_it_was_called(message, said):
    failure = Outcome("tests/t.py::test_step", ("3.3",), "failed", "SystemExit", message)
    assert f"your code called {said}" in " ".join(check.failure_lines(check.Status("wrong", failure, 0, 1)))


def test_trimmed_drops_pytests_assertion_introspection():
    message = "Linear.forward: expected shape (2, 3), got (3, 2)\nassert (3, 2) == (2, 3)\n  At index 0 diff: 3 != 2"
    assert check.trimmed(message) == "Linear.forward: expected shape (2, 3), got (3, 2)"


def test_a_long_message_is_wrapped_and_keeps_its_advice_at_the_end():
    what = ("MatMul with a of shape (2, 3), b of shape (3, 4) and grad of shape (2, 4): line 319 of functions.py "
            "raised ValueError (matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
            "signature (n?,k),(k,m?)->(n?,m?) (size 3 is different from 4)); a product there has mismatched shapes.")
    advice = "Shapes guide you: dL/da must be (2, 3) like a, dL/db (3, 4) like b, from grad (2, 4)"
    failure = Outcome("tests/t.py::test_matmul", ("3.2",), "failed", "Failed", f"{what} {advice}")
    shown = check.failure_lines(check.Status("wrong", failure, 0, 1))
    assert " ".join(" ".join(shown[1:]).split()) == f"{what} {advice}", shown
    assert max(map(len, shown)) <= check.hints.width(), shown


def test_a_wrapped_line_keeps_its_indentation():
    """NumPy prints the rows of an array after the first one indented; wrapping keeps that."""
    row = " ".join(f"{n}.25" for n in range(40))
    shown = check.trimmed(f"got = [[{row}]\n       [{row}]]").splitlines()
    second_row = shown[[number for number, line in enumerate(shown) if line.strip().startswith("[0.25")][0]:]
    assert len(second_row) > 1 and all(line.startswith("       ") for line in second_row), shown
    assert max(map(len, shown)) <= check.message_width(), shown


def test_a_message_with_a_huge_array_loses_part_of_the_array_not_the_advice():
    array = "\n".join(" ".join(f"{n}.5" for n in range(row, row + 10)) for row in range(0, 1000, 10))
    shown = check.trimmed(f"Linear.forward is wrong.\ngot = {array}\nTHE ADVICE: expected the shape (2, 3)")
    lines = shown.splitlines()
    assert len(lines) == check.MAX_MESSAGE_LINES and "lines left out" in shown, shown
    assert lines[0] == "Linear.forward is wrong." and lines[-1] == "THE ADVICE: expected the shape (2, 3)", shown


def test_an_unknown_task_is_a_clear_error():
    with pytest.raises(SystemExit, match=r"there is no task '9.9'; the tasks are 1.1, "):
        check.selected_tasks(["9.9"])
    assert [t.id for t in check.selected_tasks(["task3_2,3.1"])] == ["3.1", "3.2"]


@pytest.mark.parametrize("argument", ["TASKS=8.1;8.2", "TASK=8.1 && echo SHELL-RAN", "TASK=$(shell echo SHELL-RAN)"])
def test_make_check_passes_the_tasks_to_the_check_not_to_the_shell(argument):
    done = subprocess.run(["make", "-s", "check", argument], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "there is no task" in done.stderr, done.stdout + done.stderr
    assert "not found" not in done.stderr and "SHELL-RAN" not in done.stdout, done.stdout + done.stderr
    assert "$(shell" in done.stderr or "$(shell" not in argument, "the value reaches the check as it was typed"


@pytest.mark.parametrize(("ids", "expected"), [
    (["7.1"], "0 of 1 optional task done."),
    (["7.1", "7.2"], "0 of 2 optional tasks done."),
    (["3.2"], "0 of 1 task done."),
    (["3.2", "7.1"], "0 of 1 task done (optional: 0 of 1)."),
])
def test_the_summary_reads_like_a_sentence(ids, expected):
    rows = [(TASKS.TASKS_BY_ID[i], check.Status("not started", None, 0, 1)) for i in ids]
    assert check.summary(rows) == expected


def test_enclosing_names_work_on_a_file_that_does_not_parse():
    lines = ["import numpy as np", "", "class ReLU(Function):", "    @staticmethod", "    def forward(ctx, x):",
             "        return np.maximum(x, 0", "", "    def backward(ctx, grad):", "        # a comment",
             "        return grad *", "def helper():", "    pass"]
    names = check.enclosing_names(lines)
    assert names[5] == "ReLU.forward" and names[9] == "ReLU.backward" and names[8] == "ReLU.backward"
    assert names[0] == "" and names[3] == "ReLU" and names[11] == "helper"


def test_enclosing_names_count_a_tab_as_python_does_and_skip_the_inside_of_strings():
    lines = ["class ReLU(Function):", "    def forward(ctx, x):", "\tnote = \"\"\"", "the mask, at column 0", "\"\"\"",
             "\treturn x", "    def backward(ctx, grad):", "        return grad", "def helper():", "    pass"]
    names = check.enclosing_names(lines)
    assert names[2:6] == ["ReLU.forward"] * 4 and names[7] == "ReLU.backward" and names[9] == "helper", names


def test_enclosing_names_skip_the_lines_that_continue_a_statement_whatever_their_indentation():
    lines = ["class ReLU(Function):", "    def forward(ctx, x):", "        out = np.maximum(x,", "0)",
             "        total = 1 + \\", "2", "        return out", "    def backward(ctx, grad):", "        return grad"]
    names = check.enclosing_names(lines)
    assert names[1:7] == ["ReLU.forward"] * 6 and names[8] == "ReLU.backward", names


@needs_solutions
def test_every_place_of_the_catalogue_is_found_by_line(tmp_path):
    """place_of maps a line inside each task's function (in the reference) to that task."""
    for task in TASKS.TASKS:
        for place in task.places:
            file, name = place.split(":")
            if file.endswith(".ipynb"):
                continue
            lines = (ROOT / "solutions" / file).read_text(encoding="utf-8").splitlines()
            begin = next(n for n, names in enumerate(check.enclosing_names(lines), start=1)
                         if names == name and "### BEGIN SOLUTION" in lines[n - 1])
            found, owner = check.place_of(ROOT / "solutions", f"{file}:{begin}")
            assert (found, owner.id) == (name, task.id), place


# --- the report in a scratch participant tree --------------------------------------------------
def handout_copy(folder):
    for name in sync.handout_files(ROOT):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, folder / name)
    return folder


def run_check(scratch, *task_ids: str, limit: float = 300, columns: int = 100) -> str:
    """tools/check.py as `make check` runs it, in a terminal ``columns`` wide; it must exit 0 with the
    table, within ``limit`` seconds."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(scratch / "tools/check.py"), *task_ids],
                          cwd=scratch, capture_output=True, text=True, timeout=limit, stdin=subprocess.DEVNULL,
                          env={**os.environ, "COLUMNS": str(columns), "KIT_VIA_MAKE": "1"})
    output = done.stdout
    assert done.returncode == 0, f"check exited with {done.returncode}:\n{output}{done.stderr}"
    assert re.search(r"^  task\s+title\s+status", output, flags=re.MULTILINE), f"no table:\n{output}"
    assert re.search(r"^\d+ of \d+ .*done", output, flags=re.MULTILINE), f"no summary:\n{output}"
    run_check.seconds = time.monotonic() - started
    return output


def statuses(output: str) -> dict[str, str]:
    """task id -> status, from the table: its status column (a status may go on over lines)."""
    lines = output.splitlines()
    header = next(number for number, line in enumerate(lines) if line.startswith("  task  title"))
    start = lines[header].index("status")
    end = lines[header].index("place") if "place" in lines[header] else None
    found, task_id = {}, None
    for line in lines[header + 1:]:
        if not line.strip():
            break
        if line[:start].strip():
            task_id = line.split()[0]
            found[task_id] = line[start:end].strip()
        else:  # the status going on
            found[task_id] += " " + line[start:end].strip()
    return found


def next_part(output: str) -> str:
    return output.split("\nNext: ", 1)[1]


@needs_solutions
def test_an_untouched_tree_has_every_task_not_started(scratch):
    output = run_check(scratch)
    assert statuses(output) == {task.id: "not started" for task in TASKS.TASKS}, output
    first = TASKS.TASKS[0]
    assert next_part(output).startswith(f"task {first.id} — {first.title}"), output


@needs_solutions
def test_the_report_fits_an_80_column_terminal(scratch):
    output = run_check(scratch, columns=80)
    assert [line for line in output.splitlines() if len(line) > 80] == [], output
    assert statuses(output) == {task.id: "not started" for task in TASKS.TASKS}, output
    assert re.search(r"^  2\.1 .* not started  nn/scalar\.py: Mul\.\S*…$", output, flags=re.MULTILINE), output


LONG_STATUSES = {"4.4": "wrong: it did not finish in 10 s — an endless loop?",
                 "8.1": "not checked: fix the error in act/functions.py first", "2.1": "not started, 2 hints"}


@pytest.mark.parametrize("width", [60, 80, 100])
def test_the_table_fits_the_terminal_and_shows_every_status_whole(width):
    rows = [(TASKS.TASKS_BY_ID[task_id], check.Status(label.removesuffix(", 2 hints"), None, 0, 3))
            for task_id, label in LONG_STATUSES.items()]
    text = check.table(rows, {"2.1": 2}, width=width)
    assert max(map(len, text.splitlines())) <= width, text
    assert statuses(text) == LONG_STATUSES, text


def test_the_place_column_is_cut_to_the_room_left_and_left_out_when_too_narrow():
    rows = [(TASKS.TASKS_BY_ID["2.1"], check.Status("not started", None, 0, 4))]
    for width in (100, 70):
        row = check.table(rows, width=width).splitlines()[1]
        assert row.endswith("…") and width - 2 <= len(row) <= width and "not started  nn/scalar.py: Mul." in row, row
    narrow = check.table(rows, width=50)
    assert "place" not in narrow and "nn/scalar.py" not in narrow, narrow


def edit_hole(scratch: Path, task_id: str, edit, place: int = 0) -> None:
    """Apply ``edit(lines, at)`` to the lines of the file (or notebook cell) holding the hole of the task's
    ``place``-th function, ``at`` being the index of its raise line."""
    task = TASKS.TASKS_BY_ID[task_id]
    file, function = task.places[place].split(":")
    raise_line = f'raise NotImplementedError("Task {task_id}: {task.title} ({file}: {function})'

    def edited(source: str) -> str:
        lines = source.split("\n")
        at = next(n for n, line in enumerate(lines) if raise_line in line)
        return "\n".join(edit(lines, at))

    if file.endswith(".ipynb"):
        nb = json.loads((scratch / file).read_text(encoding="utf-8"))
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and raise_line in "".join(c["source"]))
        cell["source"] = edited("".join(cell["source"]))
        (scratch / file).write_text(json.dumps(nb), encoding="utf-8")
    else:
        (scratch / file).write_text(edited((scratch / file).read_text(encoding="utf-8")), encoding="utf-8")


def indent_of(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def todo_start(lines: list[str], at: int) -> int:
    """The index of the first line of the TODO comment above the raise line at ``at``."""
    return next(n for n in range(at, -1, -1) if lines[n].strip().startswith("# TODO Task"))


BESIDE_THE_RAISE = {  # where a participant wrote code while the task's raise line stayed
    "between the TODO and the raise": lambda lines, at: [*lines[:at], indent_of(lines[at]) + "slope = 0.0",
                                                          *lines[at:]],
    "after the raise": lambda lines, at: [*lines[:at + 1], indent_of(lines[at]) + "return 0.0", *lines[at + 1:]],
    "above the TODO comment": lambda lines, at: [*lines[:todo_start(lines, at)], indent_of(lines[at]) + "h = 2.0",
                                                 *lines[todo_start(lines, at):]],
    "in place of the TODO comment": lambda lines, at: [*lines[:todo_start(lines, at)],
                                                       indent_of(lines[at]) + "h = 2.0", *lines[at:]],
    "with a line continued at column 0": lambda lines, at: [*lines[:at], indent_of(lines[at]) + "h = (2.0 +", "1.0)",
                                                             *lines[at:]],
    "in a notebook cell": lambda lines, at: [*lines[:at], indent_of(lines[at]) + "correct = 0", *lines[at:]],
    "in a file saved with a byte-order mark": lambda lines, at: ["\ufeff" + lines[0], *lines[1:at],
                                                                 indent_of(lines[at]) + "h = 2.0", *lines[at:]],
}


@needs_solutions
@pytest.mark.parametrize("where", BESIDE_THE_RAISE)
def test_code_beside_a_raise_still_there_is_in_progress_and_told_to_delete_it(scratch, where):
    """The most common slip: code written above (or below) the task's raise line, which stays. The task was
    'not started', which is not true, and nothing said which line to delete. Found wherever the code is
    in the function: make sync records each task function's fingerprint, and the check compares."""
    task = TASKS.TASKS_BY_ID["6.3" if where == "in a notebook cell" else "1.1"]
    file = task.places[0].split(":")[0]
    if where == "in a notebook cell":
        solve(scratch, {"6.1", "6.2"})  # accuracy runs forward
    edit_hole(scratch, task.id, BESIDE_THE_RAISE[where])
    output = run_check(scratch, task.id)
    assert statuses(output)[task.id] == "in progress", output
    said = " ".join(next_part(output).split())
    assert re.search(r"reaches the task's raise NotImplementedError at " + re.escape(file), said), said
    assert "delete that line" in said, said


@needs_solutions
def test_a_task_whose_second_function_is_written_first_is_in_progress(scratch):
    """ReLU's backward written, its forward not yet: the tests stop at forward's raise, which the
    participant has not touched, so the next step names forward's TODO, not a line to delete."""
    def write_backward(lines, at):
        return [*lines[:todo_start(lines, at)], *RELU_BACKWARD.rstrip("\n").split("\n"), *lines[at + 1:]]

    edit_hole(scratch, "4.4", write_backward, place=1)
    output = run_check(scratch, "4.4")
    assert statuses(output)["4.4"] == "in progress", output
    said = " ".join(next_part(output).split())
    assert "stops at the TODO of Task 4.4: ReLU (act/functions.py: ReLU.forward)" in said, said
    assert "delete that line" not in said, said


@needs_solutions
def test_a_function_defined_twice_in_a_notebook_is_told_which_one_the_check_tests(scratch):
    """The solved forward in a cell above the untouched one: 'not started', and nothing said that the
    check tests the last definition, the one Run All leaves."""
    nb = json.loads((scratch / "notebooks/train.ipynb").read_text(encoding="utf-8"))
    at = next(n for n, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and "def forward(" in "".join(c["source"]))
    nb["cells"].insert(at, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                            "source": ["def forward(model, x):\n", "    return 0\n"]})
    (scratch / "notebooks/train.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    output = run_check(scratch, "6.1")
    said = " ".join(next_part(output).split())
    assert re.search(r"forward is defined in code cells \d+ and \d+ of notebooks/train\.ipynb; the check tests the "
                     r"last one", said), said


def test_changes_name_a_changed_function_once_and_survive_a_hand_edited_manifest(tmp_path):
    given = "def outer():\n    def inner():\n        return 1\n    return inner\n\n\ndef other():\n    return 2\n"
    (tmp_path / "nn").mkdir()
    (tmp_path / "nn/given.py").write_text(given, encoding="utf-8")
    recorded = sync.fingerprints.all_fingerprints({"nn/given.py": given})
    recorded["a key without a colon"] = "abc"
    (tmp_path / sync.MANIFEST).write_text(json.dumps({"files": {}, "functions": recorded}), encoding="utf-8")
    assert check.Changes(tmp_path).given_code() == []
    (tmp_path / "nn/given.py").write_text(given.replace("return 1", "return 3"), encoding="utf-8")
    assert check.Changes(tmp_path).given_code() == ["nn/given.py:outer"], "inner is part of outer's change"


@needs_solutions
@pytest.mark.parametrize("edit", ["the TODO comment deleted", "blank lines and a comment added"])
def test_comments_and_blank_lines_do_not_start_a_task(scratch, edit):
    def without_todo(lines, at):
        return [*lines[:todo_start(lines, at)], *lines[at:]]

    def with_comment(lines, at):
        return [*lines[:at], "", indent_of(lines[at]) + "# I will do this later", "", *lines[at:]]

    edit_hole(scratch, "1.1", without_todo if edit == "the TODO comment deleted" else with_comment)
    output = run_check(scratch, "1.1")
    assert statuses(output)["1.1"] == "not started", output


@needs_solutions
def test_a_failing_test_names_the_code_the_kit_gives_that_the_participant_changed(scratch):
    """Add.forward changed to subtract: the Linear layer of task 3.5 is wrong though its own code is right,
    and nothing said that the cause was outside the task. A function of one's own is no change."""
    linear = TASKS.TASKS_BY_ID["3.5"]
    solve(scratch, {task.id for task in TASKS.TASKS[: TASKS.TASKS.index(linear) + 1]})
    path = scratch / "nn/functions.py"
    given = "        return a + b\n"
    text = path.read_text(encoding="utf-8")
    assert text.count(given) == 1, "Add.forward is not as this test expects"
    path.write_text(text.replace(given, given.replace("+", "-")) + "\n\ndef mine():\n    pass\n", encoding="utf-8")
    output = run_check(scratch, "3.5")
    assert statuses(output)["3.5"] == "wrong", output
    said = " ".join(output.split())
    assert "You changed code the kit gives, which no task asks you to change: nn/functions.py: Add.forward." in said
    assert "mine" not in said, said


@needs_solutions
def test_one_solved_task_is_done_and_the_next_tasks_message_is_shown(scratch):
    first, second = TASKS.TASKS[0], TASKS.TASKS[1]
    solve(scratch, {first.id})
    output = run_check(scratch, first.id, second.id)
    assert statuses(output) == {first.id: "done", second.id: "not started"}, output
    assert next_part(output).startswith(f"task {second.id} — {second.title}"), output
    assert f"Task {second.id}: {second.title}" in next_part(output), output
    assert f"stuck? make hint TASK={second.id}" in next_part(output), output
    assert "1 of 2 tasks done" in output


@needs_solutions
def test_a_transposed_linear_weight_is_wrong_with_a_message_about_shapes(scratch):
    linear = TASKS.TASKS_BY_ID["3.5"]
    earlier = [task.id for task in TASKS.TASKS[: TASKS.TASKS.index(linear)]]
    solve(scratch, set(earlier))
    file = linear.places[0].split(":")[0]
    text = (scratch / file).read_text(encoding="utf-8")
    hole = re.compile(r"^( *)# TODO Task 3\.5:.*\n(?: *#.*\n)* +raise NotImplementedError\(\"Task 3\.5:.*$", flags=re.MULTILINE)
    assert hole.search(text), f"no hole of task 3.5 in {file}"
    (scratch / file).write_text(hole.sub(r"\1return x @ self.weight.T + self.bias", text), encoding="utf-8")
    output = run_check(scratch, "3.5")
    assert statuses(output) == {"3.5": "wrong"}, output
    assert "shape" in next_part(output).split("stuck?")[0].lower(), output


# --- a complete tree with mistakes ------------------------------------------------------------------
@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    """A participant tree with every task done: the reference's nn/, act/, loss/, notebooks/ on top."""
    if not (ROOT / "solutions").is_dir():
        pytest.skip("a handout has no solutions/")
    tree = handout_copy(tmp_path_factory.mktemp("complete"))
    for package in ("nn", "act", "loss", "notebooks"):
        shutil.rmtree(tree / package)
        shutil.copytree(ROOT / "solutions" / package, tree / package)
    return tree


@contextlib.contextmanager
def mistakes(tree, *changes: tuple[str, str, str]):
    """Each (file, old, new): ``old`` (exactly once in ``file``) replaced by ``new`` for the duration."""
    originals = {}
    try:
        for file, old, new in changes:
            path = tree / file
            text = originals.setdefault(file, path.read_text(encoding="utf-8"))
            current = path.read_text(encoding="utf-8")
            assert text.count(old) == 1, f"{old!r} is not exactly once in {file}"
            path.write_text(current.replace(old, new), encoding="utf-8")
        yield
    finally:
        for file, text in originals.items():
            (tree / file).write_text(text, encoding="utf-8")


def test_a_complete_tree_is_all_done(complete):
    output = run_check(complete)
    assert set(statuses(output).values()) == {"done"}, output
    assert "Every task here is done" in output, output
    assert f"{sum(not t.optional for t in TASKS.TASKS)} of " in output


def solution(file: str, qualname: str) -> str:
    """The reference's solution block of one function (the lines between its markers). Read, not
    written here: no test file holds a solution's code (tests/test_hints.py)."""
    lines = (ROOT / "solutions" / file).read_text(encoding="utf-8").splitlines(keepends=True)
    names = check.enclosing_names([line.rstrip("\n") for line in lines])
    begin = next(n for n, line in enumerate(lines) if names[n] == qualname and "### BEGIN SOLUTION" in line)
    end = next(n for n in range(begin, len(lines)) if "### END SOLUTION" in lines[n])
    return "".join(lines[begin + 1:end])


def squeezed(text: str) -> str:
    return "".join(text.split())


def solution_lines(task) -> list[str]:
    """The code lines of the task's solution blocks, without whitespace (those of 10 characters or more)."""
    lines = []
    for place in task.places:
        file, _, name = place.rpartition(":")
        if not file.endswith(".ipynb"):
            lines += [squeezed(line) for line in solution(file, name).splitlines() if not line.strip().startswith("#")]
        else:
            cells = json.loads((ROOT / "solutions" / file).read_text(encoding="utf-8"))["cells"]
            source = next("".join(c["source"]) for c in cells if f"def {name}(" in "".join(c["source"]))
            block = source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
            lines += [squeezed(line) for line in block.splitlines()[1:] if not line.strip().startswith("#")]
    return [line for line in lines if len(line) >= 10]


MATMUL_FORWARD = solution("nn/functions.py", "MatMul.forward")
RELU_BACKWARD = solution("act/functions.py", "ReLU.backward")
LINEAR_FORWARD = solution("nn/linear.py", "Linear.forward").splitlines(keepends=True)[0]
TANH_BACKWARD = solution("act/functions.py", "Tanh.backward")
STABLE_SIGMOID = solution("act/functions.py", "stable_sigmoid")
MSE_FORWARD = solution("loss/functions.py", "MSE.forward")
LEAKY_RELU_FORWARD = solution("act/functions.py", "LeakyReLU.forward")
# One mistake per task: each must be wrong, with a message that says what is wrong in the
# participant's terms (or, for the prints, done with one line about them).
BROKEN = {
    "3.2": (("nn/functions.py", MATMUL_FORWARD, "        return (a @ b).tolist()\n"),
            r"MatMul\.forward returned a list, not a NumPy array"),
    "3.3": (("nn/functions.py", solution("nn/functions.py", "Sum.backward"), "        import sys\n        sys.exit(0)\n"),
            r"your code called sys\.exit\(0\)"),
    "4.1": (("act/functions.py", solution("act/functions.py", "Step.forward"), "        import os\n        os._exit(3)\n"),
            r"your code called os\._exit\(3\)"),
    "4.3": (("act/functions.py", TANH_BACKWARD, TANH_BACKWARD.replace("return ", "return (").rstrip() + ").astype(int)\n"),
            r"Tanh\.backward returned an array of dtype int64 .*as the gradient of input 0"),
    "4.4": (("act/functions.py", RELU_BACKWARD, "        grad[~ctx.positive] = 0\n        return grad\n"),
            r"ReLU\.backward wrote into its incoming grad.*do not modify grad in place.*return a new array"),
    "4.5": (("act/functions.py", LEAKY_RELU_FORWARD,  # its first line (the mask), then the slope put into x itself
             LEAKY_RELU_FORWARD.splitlines(keepends=True)[0] + "        x[~ctx.positive] *= alpha\n        return x\n"),
            r"LeakyReLU\.forward wrote into one of its inputs.*do not modify an input in place"),
    "5.2": (("loss/functions.py", MSE_FORWARD, MSE_FORWARD.replace("np.asarray(", "float(")),
            r"MSE\.forward returned a Python float, not an array"),
    "6.3": (("notebooks/train.ipynb", '"    with nn.no_grad():\\n"', '"    with nn.no_grad:\\n"'),
            r"write `with nn\.no_grad\(\):`, with parentheses"),
}
PRINTS = ("nn/linear.py", LINEAR_FORWARD, "        for _ in range(2000):\n            print('debug', x.shape)\n"
          + LINEAR_FORWARD)


def test_broken_functions_are_wrong_with_messages_that_name_them(complete):
    """The whole report (tools/check.py's report and render) on a tree with all these mistakes at once."""
    chosen = [check.catalogue.TASKS_BY_ID[task_id] for task_id in ["3.1", *BROKEN, "3.5"]]
    with mistakes(complete, *[change for change, _ in BROKEN.values()], PRINTS):
        progress = check.report(complete, chosen)
    text = check.render(progress)
    labels = {task.id: status.label for task, status in progress.rows}
    assert labels == {"3.1": "done", "3.5": "done", **{task_id: "wrong" for task_id in BROKEN}}, text
    for task, status in progress.rows:
        if task.id in BROKEN:
            shown = one_line("\n".join(check.failure_lines(status)))
            assert re.search(BROKEN[task.id][1], shown, flags=re.DOTALL), f"task {task.id}:\n{shown}"
            assert "site-packages" not in shown and ".venv" not in shown and "_pytest" not in shown, shown
    assert re.search(r"Your code printed [\d,]+ lines during the check, [\d,]+ of them at nn/linear\.py:\d+ "
                     r"\(Linear\.forward\)", text), text
    assert "debug" not in text and statuses(text) == labels, text


LINEAR_BLOCK = solution("nn/linear.py", "Linear.forward")
CENTRAL_DIFFERENCE = solution("nn/gradcheck.py", "central_difference")
MEAN_BACKWARD = solution("nn/functions.py", "Mean.backward")
TANH_FORWARD = solution("act/functions.py", "Tanh.forward")
LEAKY_RELU_BACKWARD = solution("act/functions.py", "LeakyReLU.backward")
CROSS_ENTROPY_FORWARD = solution("loss/functions.py", "CrossEntropy.forward")
CROSS_ENTROPY_BACKWARD = solution("loss/functions.py", "CrossEntropy.backward")
MOMENTUM = solution("nn/optim.py", "SGD.momentum_direction")
SGD_UPDATE = solution("nn/optim.py", "SGD.update")
SCALAR_BACKWARD = solution("nn/scalar.py", "Scalar.backward")
LOG_SOFTMAX_BACKWARD = solution("act/functions.py", "LogSoftmax.backward")
CONVOLUTION_BACKWARD = solution("nn/conv.py", "Convolution.backward")
RELU_FORWARD = solution("act/functions.py", "ReLU.forward")
IM2COL = solution("nn/conv.py", "im2col")
POOL_BACKWARD = solution("nn/pool.py", "MaxPooling.backward")
ADAM_STEP, RMSPROP_STEP = solution("nn/optim.py", "Adam.step"), solution("nn/optim.py", "RMSProp.step")
# Mistakes a beginner made in a fresh handout, each with the verdict it must get and what its message must say.
BEGINNERS_MISTAKES = {
    "3.5 off the graph": ("3.5", ("nn/linear.py", LINEAR_BLOCK,
                                  "        return Tensor(x.data @ self.weight.data + self.bias.data)\n"),
                          r"must stay in the graph so that gradients reach the weight and the bias"),
    "3.5 bias=False": ("3.5", ("nn/linear.py", LINEAR_BLOCK, "        return x @ self.weight + self.bias\n"),
                       r"a layer made with bias=False has self\.bias = None, so there is no bias to add"),
    "2.3 the order not reversed": ("2.3", ("nn/scalar.py", SCALAR_BACKWARD, SCALAR_BACKWARD.replace("reversed(order)", "order")),
                                   r"a and b got nothing: the node a\*b passed its grad on before d had added to it"),
    "8.4 the axis fixed in backward": ("8.4", ("act/functions.py", LOG_SOFTMAX_BACKWARD,
                                               LOG_SOFTMAX_BACKWARD.replace("axis=ctx.axis", "axis=-1")),
                                       r"LogSoftmax\.backward with axis=0 and grad \[\[1\.0, 2\.0, 3\.0\], \[4\.0, 5\.0, "
                                       r"6\.0\]\] is wrong\..*the sum taken along axis=0"),
    "8.2 reads what its own forward saved": ("8.2", ("nn/conv.py", CONVOLUTION_BACKWARD,
                                                     "        assert ctx.out_shape == grad.shape\n" + CONVOLUTION_BACKWARD),
                                             r"Convolution\.backward reads ctx\.out_shape, which these tests do not give "
                                             r"it.*the output's shape is grad\.shape.*\(raised at nn/conv\.py:\d+ "
                                             r"\(Convolution\.backward\)\)"),
    "1.1 a list": ("1.1", ("nn/gradcheck.py", CENTRAL_DIFFERENCE, f"    return [{CENTRAL_DIFFERENCE.strip()[7:]}]\n"),
                   r"central_difference\(x³, 2\.0\) returned \[[\d.]+\], a list: expected a number"),
    "3.2 ctx not saved": ("3.2", ("nn/functions.py", MATMUL_FORWARD, MATMUL_FORWARD.replace("ctx.a, ctx.b = a, b", "ctx.a = a")),
                          r"MatMul\.backward reads ctx\.b, which MatMul\.forward did not save: set ctx\.b in forward"
                          r".*\(raised at nn/functions\.py:\d+ \(MatMul\.backward\)\)"),
    "3.3 grad /= count": ("3.3", ("nn/functions.py", MEAN_BACKWARD, "        grad /= ctx.count\n" + MEAN_BACKWARD),
                          r"Mean\.backward wrote into its incoming grad.*return a new array[^(]*"
                          r"\s*\(raised at nn/functions\.py:\d+ \(Mean\.backward\)\)$"),
    "4.3 float64": ("4.3", ("act/functions.py", TANH_FORWARD, TANH_FORWARD.replace("np.tanh(x)", "np.tanh(x.astype(np.float64))")),
                    r"Tanh\.forward of a float32 array returned float64: return x's dtype"),
    "4.4 a gradient of another shape": ("4.4", ("act/functions.py", RELU_BACKWARD,
                                                RELU_BACKWARD.replace("return ", "return (").rstrip() + ")[..., :1]\n"),
                                        r"ReLU\.backward returned a gradient of shape \(2, 1\) for input 0 \(x\), which has "
                                        r"shape \(2, 3\)[^(]*\(raised at act/functions\.py:\d+ \(ReLU\.backward\)\)$"),
    "7.1 returns grad": ("7.1", ("nn/optim.py", MOMENTUM, MOMENTUM.replace("return velocity", "return grad")),
                         r"should return the new velocity, 0\.9 v \+ grad = \[1\.4, 2\.3, 1\.7\]; it returned "
                         r"\[0\.5, 0\.5, -1\.0\]"),
    "5.1 no mean": ("5.1", ("loss/functions.py", CROSS_ENTROPY_FORWARD, CROSS_ENTROPY_FORWARD.replace(".mean())", ")")),
                    r"CrossEntropy\.forward returned an array of shape \(2,\); a loss is one number, the mean over "
                    r"the N = 2 rows"),
    "5.3 the Tensor updated": ("5.3", ("nn/optim.py", SGD_UPDATE, SGD_UPDATE.replace("p.data", "p")),
                               r"SGD\.update left the parameter as it was.*an update of the Tensor p, which makes "
                               r"a new Tensor"),
    "4.5 alpha fixed in backward": ("4.5", ("act/functions.py", LEAKY_RELU_BACKWARD,
                                            LEAKY_RELU_BACKWARD.replace("ctx.alpha", "0.01")),
                                    r"fails with AssertionError: LeakyReLU\.backward \(alpha = 0\.1\): the slope at x = -1 "
                                    r"should be 0\.1, got 0\.01\. Forward was given alpha = 0\.1"),
    "4.2 np.where of both forms": ("4.2", ("act/functions.py", STABLE_SIGMOID,
                                           "    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))\n"),
                                   r"NumPy reported 'overflow encountered in exp'.*np\.where\(condition, a, b\) computes "
                                   r"all of a and all of b before it picks.*\(raised at act/functions\.py:\d+ "
                                   r"\(stable_sigmoid\)\)$"),
    "8.2 the images' gradient computed anyway": ("8.2", ("nn/conv.py", CONVOLUTION_BACKWARD,
                                                          CONVOLUTION_BACKWARD.replace("needs_x:", "True:")),
                                                 r"Convolution\.backward computed a gradient for the images although "
                                                 r"nothing needs it.*ctx\.needs_input_grad\[0\] is False"),
    "8.2 no bias gradient": ("8.2", ("nn/conv.py", CONVOLUTION_BACKWARD,
                                     CONVOLUTION_BACKWARD.replace("grad_weight, grad_bias", "grad_weight, None")),
                             r"Convolution\.backward returned None as the gradient of input 2 \(bias\), which needs one"),
    "8.4 softmax's backward": ("8.4", ("act/functions.py", LOG_SOFTMAX_BACKWARD,  # task 4.7's, on exp(log-softmax)
                                       solution("act/functions.py", "Softmax.backward").replace("ctx.out", "np.exp(ctx.out)")),
                               r"that is softmax's backward.*its backward is g − s · Σ g"),
    "8.1 the padding forgotten": ("8.1", ("nn/conv.py", IM2COL, IM2COL.replace("pad(x, padding)", "x")),
                                  r"im2col, .*padding=\(1, 1\): these are the windows of x without its padding"),
    "8.1 the channels innermost": ("8.1", ("nn/conv.py", IM2COL, IM2COL.replace("transpose(1, 4, 5,", "transpose(4, 5, 1,")),
                                   r"right numbers in another order: pixel by pixel with the channels innermost"),
    "8.1 the stride ignored": ("8.1", ("nn/conv.py", IM2COL, IM2COL.replace("kernel_size, stride)", "kernel_size, (1, 1))")),
                               r"padding=\(1, 1\): these are the windows at every position\. With stride=\(2, 2\) the windows start at rows 0, 2, 4"),
    "8.1 no bias": ("8.1", ("nn/conv.py", solution("nn/conv.py", "Convolution.forward"),
                            re.sub(r"\n.*bias\[:, None\].*\n", "\n", solution("nn/conv.py", "Convolution.forward"))),
                    r"Convolution\.forward, .*: the bias is missing: each output channel o gets bias\[o\]"),
    "8.1 the output reshaped as it comes": ("8.1", ("nn/conv.py", solution("nn/conv.py", "Convolution.forward"),
                                                    re.sub(r"return out\.reshape\(.*\n", "return out.reshape(batch, "
                                                           "out_channels, out_h, out_w)\n",
                                                           solution("nn/conv.py", "Convolution.forward"))),
                                            r"Convolution\.forward, .*: the right numbers in another order"),
    "8.1 float64 rows": ("8.1", ("nn/conv.py", IM2COL, IM2COL.replace("columns.T", "columns.T.astype(float)")),
                         r"im2col: float32 images should give float32 for the rows"),
    "8.3 argmax along the last axis": ("8.3", ("nn/pool.py", POOL_BACKWARD, POOL_BACKWARD.replace(
        "ctx.winner * grad", "(np.arange(kernel_h * kernel_w)[:, None, None, None, None] == ctx.winner.argmax(-1)) * grad")),
        r"MaxPooling\.backward \(x of shape \(1, 1, 4, 4\), kernel \(2, 2\), stride \(2, 2\), so grad and each window "
        r"slab of ctx\.winner have shape \(1, 1, 2, 2\)\) failed with ValueError: cannot reshape.*ctx\.winner, of shape "
        r"\(kh·kw, batch, c, out_h, out_w\)"),
    "7.2 eps outside the denominator": ("7.2", ("nn/optim.py", ADAM_STEP,
                                                ADAM_STEP.replace("(np.sqrt(v_hat) + self.eps)", "np.sqrt(v_hat) + self.eps")),
                                        r"the middle parameter has gradient 0 and should stay -2, got nan.*"
                                        r"eps belongs to the denominator"),
    "7.3 eps outside the denominator": ("7.3", ("nn/optim.py", RMSPROP_STEP,
                                                RMSPROP_STEP.replace("(np.sqrt(s) + self.eps)", "np.sqrt(s) + self.eps")),
                                        r"RMSProp\(lr=0\.01\) with gradient .* should stay -2, got nan"),
    "7.3 g instead of g²": ("7.3", ("nn/optim.py", RMSPROP_STEP, RMSPROP_STEP.replace("g * g", "g")),
                           r"invalid value encountered in sqrt.*\(the square root of a negative number is NaN"),
    "5.1 upstream grad left out": ("5.1", ("loss/functions.py", CROSS_ENTROPY_BACKWARD,
                                           CROSS_ENTROPY_BACKWARD.replace("grad * ", "")),
                                   r"Your gradient is the expected one divided by the upstream grad"),
    "4.3 upstream grad left out": ("4.3", ("act/functions.py", TANH_BACKWARD, re.sub(r"grad \* ", "", TANH_BACKWARD)),
                                   r"Your gradient is the expected one divided by the upstream grad"),
    "5.2 the target's sign": ("5.2", ("loss/functions.py", solution("loss/functions.py", "MSE.backward"),
                                      solution("loss/functions.py", "MSE.backward").replace("-", "")),
                              r"The gradient for target has the wrong sign"),
    "4.3 written out": ("4.3", ("act/functions.py", TANH_FORWARD,
                                TANH_FORWARD.replace("np.tanh(x)", "(np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))")),
                        r"overflow encountered in exp.*tanh overflows for \|x\| ≥ 89 in float32"),
    "8.4 the sum without keepdims": ("8.4", ("act/functions.py", LOG_SOFTMAX_BACKWARD,
                                             LOG_SOFTMAX_BACKWARD.replace(", keepdims=True", "")),
                                     r"LogSoftmax\.backward with axis=1 for x = \[\[1\.0, 2\.0, 3\.0\], \[0\.0, 0\.0, "
                                     r"0\.0\]\] and grad = .* raised ValueError: operands could not be broadcast"),
    "4.4 Python's max": ("4.4", ("act/functions.py", RELU_FORWARD, RELU_FORWARD.replace("np.maximum(", "max(")),
                         r"truth value of an array .* is ambiguous.*\(an array was used where Python needs one True or "
                         r"False: `if`, `and`, `or`, `not`, `max\(\)`"),
    "3.3 divided by every element": ("3.3", ("nn/functions.py", MEAN_BACKWARD,
                                             re.sub(r"ctx\.count\b", "np.prod(ctx.a_shape)", MEAN_BACKWARD)),
                                     r"Mean\(x, axis=0, keepdims=False\) with x of shape \(2, 3, 4\): your gradient is "
                                     r"grad divided by 24, but each output of this mean averages 2 elements of x"),
    "2.1 ReLU's slope from 1": ("2.1", ("nn/scalar.py", solution("nn/scalar.py", "ReLU.backward"),
                                        solution("nn/scalar.py", "ReLU.backward").replace("> 0", ">= 1")),
                                r"ReLU\.backward: the gradient for input 0 is wrong\. After ReLU\.forward\(ctx, 0\.5\)"),
    "2.1 no return": ("2.1", ("nn/scalar.py", solution("nn/scalar.py", "ReLU.backward"),
                              solution("nn/scalar.py", "ReLU.backward").replace("return ", "slope = ")),
                      r"ReLU\.backward\(ctx, d_out=0\.7\) after ReLU\.forward\(ctx, 2\.0\) returned None: did you "
                      r"forget the return\?"),
    "4.4 no return": ("4.4", ("act/functions.py", RELU_BACKWARD, RELU_BACKWARD.replace("return ", "grad_x = ")),
                      r"ReLU\.backward returned None: did you forget the return\? It returns the gradient of "
                      r"forward's input"),
    "6.1 no return": ("6.1", ("notebooks/train.ipynb", "    return model(x)", "    logits = model(x)"),
                      r"forward\(model, x\) returned None: did you forget the return\?"),
    "6.1 only a comment left": ("6.1", ("notebooks/train.ipynb", "    return model(x)", "    pass  # my code here"),
                                r"never called the model: the logits are the model's output for the batch x"),
    "5.1 probs changed in place": ("5.1", ("loss/functions.py", CROSS_ENTROPY_BACKWARD,
                                            CROSS_ENTROPY_BACKWARD.replace(".copy()", "")),
                                   r"CrossEntropy\.backward gave another gradient \(input 0\) when called a second time .*"
                                   r"changed in place something forward saved on ctx"),
}


@pytest.mark.parametrize("mistake", BEGINNERS_MISTAKES)
def test_a_beginners_mistake_is_wrong_with_a_message_that_says_why(complete, mistake):
    task_id, change, message = BEGINNERS_MISTAKES[mistake]
    with mistakes(complete, change):
        status = check.report(complete, [check.catalogue.TASKS_BY_ID[task_id]]).rows[0][1]
    shown = one_line("\n".join(check.failure_lines(status)))
    assert status.label == "wrong" and re.search(message, shown, flags=re.DOTALL), f"{status.label}:\n{shown}"
    given_away = [line for line in solution_lines(check.catalogue.TASKS_BY_ID[task_id]) if line in squeezed(shown)]
    assert not given_away, f"the message hands out the solution's {given_away}:\n{shown}"


@pytest.mark.parametrize(("task_id", "file", "forward", "backward", "owner", "kept"), [
    ("4.4", "act/functions.py", RELU_FORWARD, RELU_BACKWARD, "ReLU", "ctx."),
    ("5.1", "loss/functions.py", CROSS_ENTROPY_FORWARD, CROSS_ENTROPY_BACKWARD, "CrossEntropy", "ctx."),
    ("5.1", "loss/functions.py", CROSS_ENTROPY_FORWARD, CROSS_ENTROPY_BACKWARD, "CrossEntropy", "ctx.labels"),
    ("4.5", "act/functions.py", LEAKY_RELU_FORWARD, LEAKY_RELU_BACKWARD, "LeakyReLU", "ctx.alpha"),
], ids=["ReLU", "CrossEntropy", "CrossEntropy's labels", "LeakyReLU's alpha"])
def test_what_forward_keeps_on_the_class_instead_of_ctx_is_wrong(complete, task_id, file, forward, backward, owner,
                                                                  kept):
    """A network with two ReLU layers runs both forwards before either backward, so a backward that reads what
    forward kept on the class (or in a global) gets the second call's values: it read "done" before. The same
    for an option (two LeakyReLU layers with their own alpha) or the labels (a validation loss computed between
    the training loss and its backward)."""
    moved = kept.replace("ctx.", f"{owner}.")
    with mistakes(complete, (file, forward, forward.replace(kept, moved)),
                  (file, backward, backward.replace(kept, moved))):
        status = check.report(complete, [check.catalogue.TASKS_BY_ID[task_id]]).rows[0][1]
    shown = one_line("\n".join(check.failure_lines(status)))
    assert status.label == "wrong", f"{status.label}:\n{shown}"
    assert f"{owner}.backward gave another gradient (input 0) when another {owner}.forward (on other inputs) ran " \
           "between its forward and it: it read what forward kept somewhere shared, on the class or in a global" \
           in shown, shown


@pytest.mark.parametrize("task_id", ["8.1", "8.2"])
def test_rows_kept_on_the_convolution_class_are_wrong_with_the_ctx_advice(complete, task_id):
    """Convolution.rows instead of ctx.rows: task 8.2's tests give backward its ctx without running forward, so
    its backward read a stale Convolution.rows and showed NumPy's matmul error (or, run alone, 'type object
    has no attribute'), with nothing about ctx."""
    code = (complete / "nn" / "conv.py").read_text(encoding="utf-8").splitlines()
    changes = [("nn/conv.py", line, line.replace("ctx.rows", "Convolution.rows")) for line in code
               if "ctx.rows" in line and "``" not in line]  # the code's uses, not the docstring's
    assert len(changes) >= 2, changes
    with mistakes(complete, *changes):
        tasks = [check.catalogue.TASKS_BY_ID[task] for task in ("8.1", "8.2")]
        status = dict((task.id, status) for task, status in check.report(complete, tasks).rows)[task_id]
        alone = check.report(complete, [check.catalogue.TASKS_BY_ID[task_id]]).rows[0][1]
    for status in (status, alone):
        shown = one_line("\n".join(check.failure_lines(status)))
        assert status.label == "wrong", f"{status.label}:\n{shown}"
        assert "Convolution.rows" in shown and "ctx.rows" in shown and "on the class" in shown, shown


@needs_solutions
def test_a_constant_on_the_convolution_class_is_not_taken_for_rows_kept_there(scratch):
    """`Convolution.layout = "NCHW"` with tasks 8.1 and 8.2 untouched read 'wrong: Convolution.layout is kept on
    the class', not 'not started'."""
    path = scratch / "nn" / "conv.py"
    path.write_text(path.read_text(encoding="utf-8") + '\nConvolution.layout = "NCHW"\n', encoding="utf-8")
    output = run_check(scratch, "8.1", "8.2")
    assert statuses(output) == {"8.1": "not started", "8.2": "not started"}, output


def test_a_forward_that_keeps_only_what_backward_needs_is_done(complete):
    """Reading ctx.needs_input_grad in forward (as PyTorch allows) failed task 3.2's first test, whose ctx had
    no needs_input_grad."""
    kept = re.sub(r"ctx\.a, ctx\.b = a, b", "ctx.a = a if ctx.needs_input_grad[1] else None\n"
                                             "        ctx.b = b if ctx.needs_input_grad[0] else None", MATMUL_FORWARD)
    assert kept != MATMUL_FORWARD
    with mistakes(complete, ("nn/functions.py", MATMUL_FORWARD, kept)):
        status = check.report(complete, [check.catalogue.TASKS_BY_ID["3.2"]]).rows[0][1]
    assert status.label == "done", "\n".join(check.failure_lines(status)) if status.failure else status.label


def test_raised_at_is_the_participants_line_and_a_wrong_value_has_none(complete):
    matmul = check.catalogue.TASKS_BY_ID["3.2"]
    with mistakes(complete, ("nn/functions.py", MATMUL_FORWARD, "        return (a @ b).T\n")):
        transposed = check.report(complete, [matmul]).rows[0][1]
    with mistakes(complete, ("nn/functions.py", MATMUL_FORWARD, "        return a @ b.T\n")):
        mismatched = check.report(complete, [matmul]).rows[0][1]
        line = (complete / "nn/functions.py").read_text(encoding="utf-8").splitlines().index("        return a @ b.T")
    assert transposed.label == "wrong" and transposed.raised_at == "", transposed
    assert "that is (a @ b).T" in transposed.failure.message and "elementwise" not in transposed.failure.message
    assert mismatched.label == "wrong" and mismatched.raised_at == f"nn/functions.py:{line + 1} (MatMul.forward)"


def test_where_names_the_line_or_cell_of_each_of_the_tasks_functions_in_the_participants_files(complete):
    """A wrong value raises nowhere in the participant's code: 'where:' is then the only pointer to it,
    so it gives the line of each function (the file may have grown above it) or the notebook's cell."""
    relu, train_accuracy = check.catalogue.TASKS_BY_ID["4.4"], check.catalogue.TASKS_BY_ID["6.3"]
    with mistakes(complete, ("act/functions.py", RELU_BACKWARD, "        return grad\n"),
                  ("act/functions.py", "import numpy as np\n", "import numpy as np\n\n\n# my notes\n")):
        shown = check.next_steps(relu, check.report(complete, [relu]).rows[0][1], complete)
        lines = (complete / "act/functions.py").read_text(encoding="utf-8").splitlines()
    forward, backward = (lines.index("    def forward(ctx, x):", lines.index("class ReLU(Function):")),
                         lines.index("    def backward(ctx, grad):", lines.index("class ReLU(Function):")))
    assert f"  where: act/functions.py:{forward + 1} (ReLU.forward), act/functions.py:{backward + 1} (ReLU.backward)\n" \
        in shown, shown
    cells = check.notebook_functions.code_cells(complete / "notebooks/train.ipynb")
    accuracy_cell = max(n for n, source in enumerate(cells, start=1) if "def accuracy(" in source)
    assert check.located(complete, train_accuracy) == f"notebooks/train.ipynb, code cell {accuracy_cell} (accuracy)"


def test_a_done_task_whose_raise_line_stayed_below_the_code_is_told_to_delete_it(complete):
    matmul = check.catalogue.TASKS_BY_ID["3.2"]
    left = '        raise NotImplementedError("Task 3.2: Matrix multiplication")\n'
    with mistakes(complete, ("nn/functions.py", MATMUL_FORWARD, MATMUL_FORWARD + left)):
        progress = check.report(complete, [matmul])
        text = one_line(check.render(progress))
        line = (complete / "nn/functions.py").read_text(encoding="utf-8").splitlines().index(left.rstrip("\n")) + 1
    assert progress.rows[0][1].label == "done", text
    assert (f"Task 3.2 is done, and its raise NotImplementedError line is still there, below a return "
            f"(nn/functions.py:{line}): "
            "it no longer runs, so delete it") in text, text
    assert "raise NotImplementedError" not in one_line(check.render(check.report(complete, [matmul])))


@pytest.mark.parametrize("kept", [
    '        """Notes. The kit had:\n        raise NotImplementedError("Task 3.2: Matrix multiplication")\n        """\n',
    '        if a.ndim != 2:\n            raise NotImplementedError("Task 3.2: Matrix multiplication")\n',
], ids=["quoted in a docstring", "in a branch of its own"])
def test_a_raise_line_that_can_still_run_or_is_no_statement_gets_no_note(complete, kept):
    matmul = check.catalogue.TASKS_BY_ID["3.2"]
    with mistakes(complete, ("nn/functions.py", MATMUL_FORWARD, kept.replace('"""Notes', '"""Notes') + MATMUL_FORWARD)):
        progress = check.report(complete, [matmul])
        text = one_line(check.render(progress))
    assert progress.rows[0][1].label == "done" and "is still there" not in text, text


def test_the_participant_version_has_no_dead_raise_line():
    """Its raise lines are the first statement of each hole: they run (dead_raises looks below a return)."""
    assert [check.dead_raises(ROOT, task) for task in TASKS.TASKS] == [[] for _ in TASKS.TASKS]


def test_swish_on_a_wrong_stable_sigmoid_waits_for_task_4_2(complete):
    """Swish takes σ from stable_sigmoid (task 4.2): with that one wrong, right Swish code read 'wrong'."""
    swapped = STABLE_SIGMOID.replace("1 / (1 + e), e / (1 + e)", "e / (1 + e), 1 / (1 + e)")
    with mistakes(complete, ("act/functions.py", STABLE_SIGMOID, swapped)):
        progress = check.report(complete, [TASKS.TASKS_BY_ID["4.2"], TASKS.TASKS_BY_ID["4.6"]])
    labels = {task.id: status.label for task, status in progress.rows}
    assert labels == {"4.2": "wrong", "4.6": "waiting for task 4.2"}, labels
    with mistakes(complete, ("act/functions.py", STABLE_SIGMOID, "    return 1 / (1 + np.exp(-x))\n")):  # overflows
        progress = check.report(complete, [TASKS.TASKS_BY_ID["4.6"]])
    assert progress.rows[0][1].label == "waiting for task 4.2", one_line(check.render(progress))


def test_a_wrong_forward_is_wrong_while_its_backward_is_still_to_do(complete):
    """Log-softmax's forward without its log, backward not written yet: the values test ran backward too
    and stopped at its TODO, so the task read 'in progress' and the wrong forward went unsaid."""
    forward = solution("act/functions.py", "LogSoftmax.forward")
    todo = '        raise NotImplementedError("Task 8.4: Log-softmax (act/functions.py: LogSoftmax.backward)")\n'
    with mistakes(complete, ("act/functions.py", forward, forward.replace("np.log(", "(")),
                  ("act/functions.py", LOG_SOFTMAX_BACKWARD, todo)):
        status = check.report(complete, [TASKS.TASKS_BY_ID["8.4"]]).rows[0][1]
    shown = one_line("\n".join(check.failure_lines(status)))
    assert status.label == "wrong" and "LogSoftmax.forward with axis=-1" in shown, f"{status.label}: {shown}"


def test_where_names_the_definition_python_keeps_when_a_function_is_defined_twice(complete):
    relu = check.catalogue.TASKS_BY_ID["4.4"]
    again = RELU_BACKWARD + "\n    @staticmethod\n    def backward(ctx, grad):\n        return grad * 2.0\n"
    with mistakes(complete, ("act/functions.py", RELU_BACKWARD, again)):
        lines = (complete / "act/functions.py").read_text(encoding="utf-8").splitlines()
        located = check.located(complete, relu)
    start = lines.index("class ReLU(Function):")
    end = next(n for n in range(start + 1, len(lines)) if lines[n].startswith("class "))
    definitions = [n + 1 for n in range(start, end) if lines[n] == "    def backward(ctx, grad):"]
    second = definitions[-1]
    assert len(definitions) == 2 and located.endswith(f"act/functions.py:{second} (ReLU.backward)"), located


@pytest.mark.parametrize(("statement", "said"), [("if a.ndim == 2:", "'if' statement"),
                                                 ("for row in a:", "'for' statement")])
def test_an_empty_block_in_a_task_function_is_not_called_an_empty_function(complete, statement, said):
    body = f"        {statement}\n            # to do\n" + MATMUL_FORWARD
    with mistakes(complete, ("nn/functions.py", MATMUL_FORWARD, body)):
        output = one_line(next_part(run_check(complete, "3.2")))
    assert output.startswith("fix the error in MatMul.forward (task 3.2") and f"after {said}" in output, output
    assert "has no statement left" not in output, output


ENDLESS = "        import os, pathlib\n        pathlib.Path('loop.pid').write_text(str(os.getpid()))\n" \
          "        while True:\n            pass\n"


def test_an_endless_loop_is_wrong_in_bounded_time_and_leaves_no_process(complete):
    with mistakes(complete, ("nn/functions.py", MATMUL_FORWARD, ENDLESS)):
        output = run_check(complete, "3.1", "3.2")
    pid = int((complete / "loop.pid").read_text())
    (complete / "loop.pid").unlink()
    assert statuses(output) == {"3.1": "done", "3.2": f"wrong: it did not finish in {taskreport.DEFAULT_TIMEOUT} s "
                                                       f"— an endless loop?"}, output
    assert re.search(r"\(raised at nn/functions\.py:\d+ \(MatMul\.forward\)\)", output), output
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the process that looped is gone
    print(f"tools/check.py 3.1 3.2 with an endless loop in MatMul.forward: {run_check.seconds:.0f} s")


def test_a_task_whose_test_file_is_gone_says_what_to_put_back(complete):
    """'no tests found' said nothing about why (tests/test_optim.py deleted or renamed by mistake)."""
    tests = complete / "tests" / "test_optim.py"
    moved = tests.rename(complete / "test_optim.py.away")
    try:
        output = run_check(complete, "7.2")
    finally:
        moved.rename(tests)
    assert statuses(output) == {"7.2": "no tests found"}, output
    marker = TASKS.TASKS_BY_ID["7.2"].marker  # not written out: the check would take this file for 7.2's tests
    assert f"no test in tests/ is marked @pytest.mark.{marker}, so nothing checks this task: was a test file " \
           "deleted, renamed or moved?" in one_line(output), output


def test_numpy_error_handling_set_in_one_file_does_not_fail_other_tasks(complete):
    with mistakes(complete, ("act/functions.py", "\nclass ReLU(", "\nnp.seterr(all='raise')\n\n\nclass ReLU(")):
        output = run_check(complete, "1.1", "3.2", "4.2", "4.3", "5.1")
    assert set(statuses(output).values()) == {"done"}, output


@pytest.mark.parametrize(("call", "said"), [("sys.exit(1)", "sys.exit(1)"), ("os._exit(1)", "os._exit(1)"),
                                           ("exit()", "exit() or sys.exit()"), ("sys.exit('bye')", "sys.exit('bye')")])
def test_exiting_while_being_imported_is_one_clear_line(complete, call, said):
    with mistakes(complete, ("nn/functions.py", "\nclass Function:", f"\nimport os, sys\n{call}\n\nclass Function:")):
        output = run_check(complete, "3.1", "4.4")
    assert set(statuses(output).values()) == {"not checked: fix the error in nn/functions.py first"}, output
    assert output.count(f"called {said} while being imported") == 1, output


@pytest.mark.parametrize(("call", "said"), [("input('threshold? ')", "your code called input()"),
                                           ("breakpoint()", "your code called breakpoint()")])
def test_input_or_breakpoint_while_being_imported_says_what_to_remove(complete, call, said):
    with mistakes(complete, ("loss/functions.py", "\nclass MSE(", f"\n{call}\n\n\nclass MSE(")):
        output = run_check(complete, "5.1")
    assert set(statuses(output).values()) == {"not checked: fix the error in loss/functions.py first"}, output
    assert one_line(output).count(said) == 1 and "remove it" in output and "Called:" not in output, output


@pytest.mark.parametrize("kept", ["", "import numpy as np\n"], ids=["emptied", "cut after its imports"])
def test_a_file_that_lost_a_name_the_package_imports_is_named_with_how_to_restore_it(complete, kept):
    path = complete / "act" / "functions.py"
    original = path.read_bytes()
    try:
        path.write_text(kept, encoding="utf-8")
        output = run_check(complete, "3.1", "4.4")
    finally:
        path.write_bytes(original)
    assert statuses(output) == {"3.1": "done", "4.4": "not checked: fix the error in act/functions.py first"}, output
    said = one_line(next_part(output))
    assert said.startswith("act/functions.py does not define ") and "which act/__init__.py imports from it" in said, \
        output
    assert "restore it (your last saved copy, or act/functions.py of a fresh copy of the kit" in said, output
    assert "outside every task's function" not in said, output


def test_a_file_cut_off_in_the_middle_of_a_line_is_named_as_cut_with_how_to_restore_it(complete):
    """A cut that leaves a syntax error got only the error, as if it were a slip to fix by hand."""
    path = complete / "act" / "functions.py"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original[: original.index("class LeakyReLU(") + 120], encoding="utf-8")
        output = run_check(complete, "4.4")
    finally:
        path.write_text(original, encoding="utf-8")
    said = one_line(next_part(output))
    assert said.startswith("restore act/functions.py; until then") and "undo the change" not in said, said
    assert re.search(r"The file looks cut off: \d+ of the kit's classes and functions are gone from it \(.*Softmax.*\)\. "
                     r"Restore it \(your last saved copy", said), said


def test_an_endless_loop_while_being_imported_is_said_once(complete):
    with mistakes(complete, ("act/functions.py", "\nclass ReLU(", "\nwhile True:\n    pass\n\n\nclass ReLU(")):
        output = run_check(complete, "4.4")
    assert "act/functions.py, line 1" not in output
    assert re.search(r"act/functions\.py, line \d+: importing it did not finish in \d+ s — an endless loop\?", output), output


@pytest.mark.parametrize(("new", "owner"), [
    ("        return grad * (ctx.positive\n", "ReLU.backward"),
    ("        g = grad\n          return g * ctx.positive\n", "ReLU.backward"),
    (RELU_BACKWARD + "import no_such_module\n", None),
])
def test_a_file_that_does_not_load_is_reported_once_and_its_tasks_are_not_checked(complete, new, owner):
    with mistakes(complete, ("act/functions.py", RELU_BACKWARD, new)):
        output = run_check(complete, "3.2", "4.4", "5.1")
    not_checked = "not checked: fix the error in act/functions.py first"
    assert statuses(output) == {"3.2": "done", "4.4": not_checked, "5.1": not_checked}, output
    offending = new.strip().splitlines()[-1]
    assert output.count(offending) == 1, f"the offending line is not shown exactly once:\n{output}"
    if owner:
        assert next_part(output).startswith(f"fix the error in {owner} (task 4.4 — ReLU)"), output
    else:
        assert next_part(output).startswith("fix the error in act/functions.py; it is outside every task's"), output
    assert "wrong" not in output


AT_COLUMN_0 = {  # file, the task's code, the same with an indentation slip, the function and task blamed
    "a last line at column 0": ("act/functions.py", RELU_FORWARD,
                                RELU_FORWARD.rstrip("\n").rpartition("\n")[0] + "\n" + RELU_FORWARD.split("\n")[-2].lstrip()
                                + "\n", "ReLU.forward", "4.4 — ReLU", r"is less indented than the lines before it, "
                                r"which ends ReLU\.forward there: indent it like them"),
    "a first line at column 0": ("nn/linear.py", LINEAR_BLOCK, LINEAR_BLOCK.lstrip(" "), "Linear.forward", "3.5",
                                 r"which ends Linear\.forward there"),
    "only a comment left": ("act/functions.py", RELU_FORWARD, "        # my code here\n", "ReLU.forward", "4.4 — ReLU",
                            r"expected an indented block after function definition on line \d+.*has no statement left"),
    "a notebook line at column 0": ("notebooks/train.ipynb", "    return model(x)", "logits = model(x)\\n    return logits",
                                    "forward", "6.1", r"which ends forward there"),
    "a decorator at column 0": ("nn/functions.py", MATMUL_FORWARD + "        ### END SOLUTION\n\n    @staticmethod\n",
                                MATMUL_FORWARD + "        ### END SOLUTION\n\n@staticmethod\n", "MatMul.backward", "3.2",
                                r"@staticmethod, is less indented than the def below it: indent it like that def"),
    "a line indented like no other": ("nn/functions.py", MATMUL_FORWARD, MATMUL_FORWARD.rstrip("\n").rpartition("\n")[0]
                                      + "\n  " + MATMUL_FORWARD.rstrip("\n").rpartition("\n")[2].lstrip() + "\n",
                                      "MatMul.forward", "3.2", r"is indented by 2 columns, like no line above it: indent it "
                                      r"like the lines around it \(8 columns\)"),
    "the last line of a file at column 0": ("nn/optim.py", RMSPROP_STEP, RMSPROP_STEP.rstrip("\n").rpartition("\n")[0]
                                            + "\n" + RMSPROP_STEP.rstrip("\n").rpartition("\n")[2].lstrip() + "\n",
                                            "RMSProp.step", "7.3", r"starts at column 0, so it is not part of "
                                            r"RMSProp\.step above it"),
    "a tab after spaces": ("nn/gradcheck.py", CENTRAL_DIFFERENCE, "    h = eps\n    \t" + CENTRAL_DIFFERENCE.lstrip(),
                           "central_difference", "1.1", r"IndentationError: unexpected indent \(the line is indented "
                           r"with a tab, which looks like spaces: indent it with spaces only\)"),
    "a notebook line unindented": ("notebooks/train.ipynb", '"    with nn.no_grad():\\n"', '"with nn.no_grad():\\n"',
                                   "accuracy", "6.3", r"notebooks/train\.ipynb, code cell \d+, line \d+: IndentationError.*"
                                   r"with nn\.no_grad\(\):, is less indented than the lines before it, which ends accuracy"),
    "a notebook return at column 0": ("notebooks/train.ipynb", "    return model(x)", "return model(x)", "forward", "6.1",
                                      r"'return' outside function"),
}


@pytest.mark.parametrize("slip", AT_COLUMN_0)
def test_an_indentation_slip_in_a_task_function_is_blamed_on_that_function(complete, slip):
    """Python names the line after the slip (the kit's next def, say) or the def above it: the check names
    the task function the slip is in, never 'outside every task's function, so undo the change'."""
    file, old, new, function, task, said = AT_COLUMN_0[slip]
    task_id = task.split(" ")[0]
    with mistakes(complete, (file, old, new)):
        output = run_check(complete, task_id)
    steps = one_line(next_part(output))
    assert steps.startswith(f"fix the error in {function} (task {task}"), output
    assert re.search(said, steps) and "undo the change" not in steps, output


def test_a_stray_indented_line_between_functions_is_not_blamed_on_the_function_above(complete):
    """Top-level code of the file's own, then a line indented for no reason: the slip is that line, not a line
    'cut' from the function above (the advice to indent the top-level line would have moved it into it)."""
    backward = solution("nn/functions.py", "MatMul.backward")
    with mistakes(complete, ("nn/functions.py", backward + "        ### END SOLUTION\n",
                             backward + "        ### END SOLUTION\n\n\nDEBUG = False\n    print('loaded')\n")):
        steps = one_line(next_part(run_check(complete, "3.2")))
    assert steps.startswith("fix the error in nn/functions.py; it is outside every task's function"), steps
    assert "MatMul" not in steps and "indent it like" not in steps, steps


def test_a_notebook_cell_that_does_not_parse_is_reported_once(complete):
    with mistakes(complete, ("notebooks/train.ipynb", "return model(x)", "return model(x")):
        output = run_check(complete, "6.1", "6.2")
    assert set(statuses(output).values()) == {"not checked: fix the error in notebooks/train.ipynb first"}, output
    assert next_part(output).startswith("fix the error in forward (task 6.1"), output
    assert output.count("return model(x") == 1, output


@needs_solutions
def test_make_hint_without_a_task_opens_hint_1_of_the_task_check_names_next(scratch):
    first, second = TASKS.TASKS[0], TASKS.TASKS[1]
    solve(scratch, {first.id})
    done = subprocess.run([sys.executable, str(scratch / "tools/hints.py")], cwd=scratch, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Task {second.id} — {second.title}" in done.stdout, done.stdout
    shown = "".join(done.stdout.split())
    assert "".join(second.hints[0].split()) in shown and "".join(second.hints[1].split()) not in shown, done.stdout
    assert (scratch / ".hints-opened.json").read_text(encoding="utf-8").count(f'"{second.id}": 1') == 1
    table = statuses(run_check(scratch, first.id, second.id))
    assert table[second.id] == "not started, 1 hint", table


def test_a_same_size_edit_within_the_same_second_is_checked_as_it_is_now(complete):
    """Python's cached bytecode is keyed to the source's size and mtime in whole seconds: a one-character
    fix saved in the same second as the broken version (make watch re-runs at once) must not be judged
    on the broken version's cached bytecode."""
    path = complete / "act/functions.py"
    fixed = path.read_text(encoding="utf-8")
    assert fixed.count("np.maximum(x, 0)") == 1
    path.write_text(fixed.replace("np.maximum(x, 0)", "np.minimum(x, 0)"), encoding="utf-8")
    broken_stat = path.stat()
    try:
        assert statuses(run_check(complete, "4.4"))["4.4"] != "done"
        py_compile.compile(str(path), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)  # as a kernel would
        path.write_text(fixed, encoding="utf-8")  # the same size...
        os.utime(path, ns=(broken_stat.st_atime_ns, broken_stat.st_mtime_ns))  # ...and the same second
        output = run_check(complete, "4.4")
        assert statuses(output)["4.4"] == "done", output
    finally:
        path.write_text(fixed, encoding="utf-8")


@pytest.mark.parametrize(("tool", "package"), [("check.py", "pluggy"), ("watch.py", "watchfiles")])
def test_a_tool_run_without_its_package_says_what_to_install(tool, package):
    """A hub or Colab where `python tools/check.py` runs without the kit's test packages (the README's way there)."""
    hidden = (f"import runpy, sys; sys.modules[{package!r}] = None; sys.argv = [{tool!r}]; "
              f"runpy.run_path({str(ROOT / 'tools' / tool)!r}, run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", hidden], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"the package {package}" in done.stderr and "pip install" in done.stderr, done.stderr


def test_correct_but_quadratic_code_that_runs_out_of_time_is_told_why(complete):
    """A list of visited nodes gives the right order, but looking a node up in it reads the whole list: far too
    slow for the 100,000-node chain, which the message then names (the test's when_too_slow marker)."""
    order = solution("nn/graph.py", "topological_order")
    listed = order.replace("set()", "[]").replace(".add(node)", ".append(node)")  # the set of visited nodes a list
    with mistakes(complete, ("nn/graph.py", order, listed)):
        status = check.report(complete, [check.catalogue.TASKS_BY_ID["2.2"]], timeout=2).rows[0][1]
    shown = one_line("\n".join(check.failure_lines(status)))
    assert status.label == "wrong: it did not finish in 2 s — an endless loop?", status.label  # the table stays narrow
    assert "100000_node_chain" in shown, shown
    assert re.search(r"did not finish in 2 s .*Or too slow: this test orders a chain of 100,000 nodes\. Looking a node "
                     r"up in a list \(node in visited\)", shown), shown


def test_a_result_the_contract_rejects_is_shown_at_the_return_line(complete):
    """The contract checks what forward or backward returned after it returned: the line shown is its return."""
    relu = check.catalogue.TASKS_BY_ID["4.4"]
    with mistakes(complete, ("act/functions.py", RELU_BACKWARD, "        kept = grad * ctx.positive\n"
                                                                "        return kept[..., :1]\n")):
        status = check.report(complete, [relu]).rows[0][1]
        line = (complete / "act/functions.py").read_text(encoding="utf-8").splitlines().index("        return kept[..., :1]")
    assert status.label == "wrong" and status.raised_at == f"act/functions.py:{line + 1} (ReLU.backward)", status

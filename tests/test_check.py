"""tools/check.py (make check): the participant's progress report.

The statuses are tested on made-up results; the report as a whole in a scratch
copy of the participant tree where one task is solved, or solved wrongly.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT, TASKS, load_tools_module, solve

check = load_tools_module("check")
Outcome = check.taskreport.Outcome
TASK = TASKS.TASKS_BY_ID["3.2"]

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
])
def test_status_of_a_task_from_its_tests(outcomes, label, shown):
    """``shown``: which result is the failing check shown to the participant."""
    results = [Outcome(nodeid=f"tests/t.py::test_{n}", tasks=("3.2",), **o) for n, o in enumerate(outcomes)]
    status = check.status_of(TASK, results + [Outcome("tests/t.py::test_other", ("3.1",), "passed")], False)
    assert status.label == label
    assert status.failure is (None if shown is None else results[shown])


def test_trimmed_drops_pytests_assertion_introspection():
    message = "Linear.forward: expected shape (2, 3), got (3, 2)\nassert (3, 2) == (2, 3)\n  At index 0 diff: 3 != 2"
    assert check.trimmed(message) == "Linear.forward: expected shape (2, 3), got (3, 2)"
    assert check.trimmed("\n".join(map(str, range(40)))).splitlines()[-1] == "…"


def test_an_unknown_task_is_a_clear_error():
    with pytest.raises(SystemExit, match=r"there is no task '9.9'; the tasks are 1.1, "):
        check.selected_tasks(["9.9"])
    assert [t.id for t in check.selected_tasks(["task3_2,3.1"])] == ["3.1", "3.2"]


# --- the report in a scratch participant tree --------------------------------------------------
def run_check(scratch, *task_ids: str) -> str:
    done = subprocess.run([sys.executable, str(scratch / "tools/check.py"), *task_ids],
                          cwd=scratch, capture_output=True, text=True)
    assert done.returncode == 0, f"check exited with {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


def statuses(output: str) -> dict[str, str]:
    """task id -> status, from the table."""
    rows = re.findall(r"^  (\d+(?:\.\d+)*)\s+.+?\s{2,}(\S.*?)\s{2,}\S", output, flags=re.MULTILINE)
    return dict(rows)


@needs_solutions
def test_one_solved_task_is_done_and_the_next_tasks_message_is_shown(scratch):
    first, second = TASKS.TASKS[0], TASKS.TASKS[1]
    solve(scratch, {first.id})
    output = run_check(scratch)
    table = statuses(output)
    assert list(table) == [task.id for task in TASKS.TASKS], output
    assert table[first.id] == "done", output
    assert [task_id for task_id, label in table.items() if label == "done"] == [first.id], output
    next_part = output.split("\nNext: ", 1)[1]
    assert next_part.startswith(f"task {second.id} — {second.title}"), output
    assert f"Task {second.id}: {second.title}" in next_part and f"stuck? make hint TASK={second.id}" in next_part, output
    required = sum(not task.optional for task in TASKS.TASKS)
    assert f"1 of {required} tasks done" in output


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
    assert "shape" in output.split("\nNext: ", 1)[1].split("stuck?")[0].lower(), output


@needs_solutions
def test_a_file_that_does_not_load_is_reported_and_check_still_exits_0(scratch):
    (scratch / "nn/functions.py").write_text("def broken(:\n", encoding="utf-8")
    output = run_check(scratch, "3.1")
    assert "could not be loaded" in output and "SyntaxError" in output, output
    assert statuses(output)["3.1"].startswith("not run"), output


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
    table = statuses(run_check(scratch))
    assert table[second.id] == "not started, 1 hint", table

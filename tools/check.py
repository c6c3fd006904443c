"""Your progress: run the task tests against your code and show, task by task, what works.

    python tools/check.py            every task            (= make check)
    python tools/check.py 3.2 3.3    only these tasks      (= make check TASKS="3.2 3.3")

The task tests run against the top level (nn/, act/, loss/, notebooks/: what you
wrote). Statuses: done (all its tests pass), not started (its tests stop at the
task's own NotImplementedError), in progress (some pass, the rest stop there),
wrong (a test fails for another reason: read the message), waiting for task X
(its tests stop at an earlier task's hole). Exits 0 whenever it could run.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))
import hints  # noqa: E402  (tools/hints.py)
import tasks as catalogue  # noqa: E402  (tools/tasks.py)
import taskreport  # noqa: E402  (tools/taskreport.py)

ROOT = Path(__file__).resolve().parent.parent
TASK_PREFIX = re.compile(r"Task (\d+(?:\.\d+)*):")
MAX_MESSAGE_LINES = 14
MAX_PLACE_WIDTH = 58
COLORS = {"done": "32", "wrong": "31", "in progress": "33", "waiting": "33"}


@dataclass(frozen=True)
class Status:
    label: str  # 'done', 'not started', 'in progress', 'wrong', 'waiting for task 3.2', ...
    failure: taskreport.Outcome | None  # the failing check to show for this task
    passed: int
    total: int

    @property
    def done(self) -> bool:
        return self.label == "done"


def status_of(task: catalogue.Task, results: list[taskreport.Outcome], could_not_load: bool) -> Status:
    """The status of one task from its tests' results (see the module docstring)."""
    ran = [r for r in results if task.id in r.tasks and r.outcome != "skipped"]
    passed = sum(r.outcome == "passed" for r in ran)
    failed = [r for r in ran if r.outcome == "failed"]
    if not ran:
        label = "not run (a test file did not load)" if could_not_load else "no tests found"
        return Status(label, None, 0, 0)
    if not failed:
        return Status("done", None, passed, len(ran))

    def hole_of(result: taskreport.Outcome) -> str | None:
        match = TASK_PREFIX.match(result.message)
        return match.group(1) if result.exception == "NotImplementedError" and match else None

    wrong = [r for r in failed if hole_of(r) is None]
    waiting = [r for r in failed if hole_of(r) not in (None, task.id)]
    if wrong:
        return Status("wrong", wrong[0], passed, len(ran))
    if waiting:
        return Status(f"waiting for task {hole_of(waiting[0])}", waiting[0], passed, len(ran))
    return Status("in progress" if passed else "not started", failed[0], passed, len(ran))


def trimmed(message: str) -> str:
    """A failure message without pytest's assertion introspection, at most MAX_MESSAGE_LINES lines."""
    lines = message.strip().splitlines()
    if len(lines) > 1:  # 'our message\nassert 3 == 4\n +  where ...': keep our message
        for number, line in enumerate(lines[1:], start=1):
            if line.startswith("assert "):
                lines = lines[:number]
                break
    if len(lines) > MAX_MESSAGE_LINES:
        lines = lines[:MAX_MESSAGE_LINES] + ["…"]
    return "\n".join(lines)


def _paint(text: str, label: str) -> str:
    code = COLORS.get(label.split(" for ")[0])
    if code and sys.stdout.isatty() and "NO_COLOR" not in os.environ:
        return f"\033[{code}m{text}\033[0m"
    return text


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[tuple[catalogue.Task, Status]], opened_hints: dict[str, int] | None = None) -> str:
    opened_hints = opened_hints or {}
    labels = {task.id: status.label + hints.count_label(opened_hints.get(task.id, 0)) for task, status in rows}
    title_width = max([len("title")] + [len(task.title) + (11 if task.optional else 0) for task, _ in rows])
    status_width = max([len("status")] + list(map(len, labels.values())))
    lines = [f"  {'task':<5} {'title':<{title_width}}  {'status':<{status_width}}  place"]
    for task, status in rows:
        title = task.title + (" (optional)" if task.optional else "")
        label = _paint(f"{labels[task.id]:<{status_width}}", status.label)
        lines.append(f"  {task.id:<5} {title:<{title_width}}  {label}  {_shorten(task.place, MAX_PLACE_WIDTH)}")
    return "\n".join(lines)


def _python() -> str:
    """How to call this Python from the kit's folder ('.venv/bin/python')."""
    try:
        return Path(sys.executable).relative_to(ROOT).as_posix()
    except ValueError:
        return "python"


def next_steps(task: catalogue.Task, status: Status, root: Path = ROOT) -> str:
    """What to do next for the first task that is not done: its first failing check and its hint."""
    optional = ", optional" if task.optional else ""
    lines = [f"Next: task {task.id} — {task.title} ({status.label}{optional})", f"  where: {task.place}"]
    failure = status.failure
    own_hole = TASK_PREFIX.match(failure.message) if failure is not None else None
    if own_hole and failure.exception == "NotImplementedError" and own_hole.group(1) == task.id:
        # The message of our own hole repeats the hint printed below: name only the function to fill.
        lines.append(f"  {failure.nodeid} stops at the TODO of {failure.message.split(' — ')[0]}")
    elif failure is not None:
        raised = "" if failure.exception == "Failed" else f" with {failure.exception}"  # Failed: pytest.fail
        lines.append(f"  {failure.nodeid} fails{raised}:")
        lines.extend("    " + line for line in trimmed(failure.message).splitlines())
        if status.label.startswith("waiting"):
            lines.append(f"  Its tests need task {TASK_PREFIX.match(failure.message).group(1)} first: "
                         "do that one, then come back.")
        elif status.label == "wrong" and taskreport.in_participant_code(failure.where):
            lines.append(f"  (raised at {failure.where})")
    lines.extend(hints.wrap(task.goal, hints.WIDTH, "  goal: ", "    "))
    lines.append(f"  {hints.how_to_get_more(task, root)}")
    if any(place.startswith("notebooks/") for place in task.places):
        lines.append("  (the check reads the notebook file: save it first, Ctrl+S in JupyterLab)")
    lines.append(f"  Only this task: make check TASKS={task.id}   (with tracebacks: {_python()} -m pytest -m {task.marker})")
    return "\n".join(lines)


def summary(rows: list[tuple[catalogue.Task, Status]]) -> str:
    required = [status for task, status in rows if not task.optional]
    optional = [status for task, status in rows if task.optional]
    text = f"{sum(s.done for s in required)} of {len(required)} tasks done"
    if optional:
        text += f" (optional: {sum(s.done for s in optional)} of {len(optional)})"
    return text + "."


def selected_tasks(arguments: list[str]) -> list[catalogue.Task]:
    """The tasks named on the command line ('3.2', 'task3_2', '3_2'; commas allowed); all when none."""
    names = [name for argument in arguments for name in argument.replace(",", " ").split()]
    if not names:
        return list(catalogue.TASKS)
    chosen = []
    for name in names:
        task_id = name.removeprefix("task").replace("_", ".")
        if task_id not in catalogue.TASKS_BY_ID:
            known = ", ".join(catalogue.TASKS_BY_ID)
            raise SystemExit(f"check: there is no task {name!r}; the tasks are {known}")
        chosen.append(catalogue.TASKS_BY_ID[task_id])
    return [task for task in catalogue.TASKS if task in chosen]


def first_pending(rows: list[tuple[catalogue.Task, Status]]) -> tuple[catalogue.Task, Status] | None:
    """The row to work on next: the first required task not done, else the first optional one."""
    pending = [(task, status) for task, status in rows if not status.done]
    return next((row for row in pending if not row[0].optional), pending[0] if pending else None)


def next_task(root: Path) -> catalogue.Task | None:
    """The task to work on next in the top level of ``root`` (runs every task's tests); None when all are done."""
    first = first_pending(statuses(root, list(catalogue.TASKS))[0])
    return first[0] if first else None


def statuses(root: Path, chosen: list[catalogue.Task]) -> tuple[list[tuple[catalogue.Task, Status]],
                                                                  list[tuple[str, str]]]:
    """Run the tests of the ``chosen`` tasks against the top level of ``root``: (task, status) rows and
    the test files that could not be loaded, as (file, error)."""
    everything = len(chosen) == len(catalogue.TASKS)
    result = taskreport.run_task_tests(root, None if everything else [task.id for task in chosen])
    rows = [(task, status_of(task, result.tests, bool(result.collection_errors))) for task in chosen]
    return rows, result.collection_errors


def report(root: Path, chosen: list[catalogue.Task]) -> str:
    """Run the tests of the ``chosen`` tasks against the top level of ``root``; the text to print."""
    return render(root, *statuses(root, chosen))


def render(root: Path, rows: list[tuple[catalogue.Task, Status]], collection_errors: list[tuple[str, str]]) -> str:
    """The table (with the hints opened in ``root``), the files that did not load, what to do next, the summary."""
    parts = [table(rows, hints.opened(root))]
    for file, error in collection_errors:
        parts.append(f"{file} could not be loaded, so its tests did not run. The error:\n"
                     + "\n".join("    " + line for line in error.strip().splitlines()[-MAX_MESSAGE_LINES:]))
    first = first_pending(rows)
    if first is not None:
        parts.append(next_steps(*first, root))
    else:
        parts.append("Every task here is done. Well done!")
    parts.append(summary(rows))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    chosen = selected_tasks(sys.argv[1:] if argv is None else argv)
    print("Running the task tests against your code (nn/, act/, loss/, notebooks/)…\n", flush=True)
    try:
        print(report(ROOT, chosen))
    except taskreport.TaskRunError as error:
        print(f"check: could not run the tests.\n{error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Hints on request, one level at a time, remembered on this machine.

    python tools/hints.py               the next hint of the first task not done   (= make hint)
    python tools/hints.py 3.2           the next hint of task 3.2                   (= make hint TASK=3.2)
    python tools/hints.py 3.2 --level=2 hint 2 of task 3.2                          (= make hint TASK=3.2 LEVEL=2)

From a notebook cell: ``%run ../tools/hint.py 6.2`` (tools/hint.py).

Every task of tools/tasks.py has three levels: (1) a question that points at the
idea, (2) the math or shape reasoning, (3) close to code. "The next hint" opens
one more level and shows every level opened so far. The levels opened are kept
per task in the git-ignored file .hints-opened.json at the kit's top (no
network; ``NN_HINTS_FILE`` names another file), written atomically; ``make
check`` shows them ("done, 1 hint").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import textwrap
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))
import commands  # noqa: E402  (tools/commands.py)
import tasks as catalogue  # noqa: E402  (tools/tasks.py)
from files import write_atomically  # noqa: E402  (tools/files.py)

ROOT = Path(__file__).resolve().parent.parent
LEVELS = 3
LEVEL_NAMES = {1: "a question", 2: "the math", 3: "close to code"}
WIDTH, MIN_WIDTH = 100, 60  # text is written in the terminal's width, within these bounds
SHORT_GROUP = re.compile(r"\([^()]{1,16}\)")
SHORT_RELATION = re.compile(r"(?<!\S)\S{1,4} [<>=≥≤·] \S{1,4}(?!\S)")  # 'x < 0', 'a = 1' stay together
WARNED: set[str] = set()


def state_file(root: Path = ROOT) -> Path:
    return Path(os.environ.get("NN_HINTS_FILE") or root / ".hints-opened.json")


def warn(message: str) -> None:
    """Print ``message`` on stderr once per run (a hint or a check reads the file more than once)."""
    if message not in WARNED:
        WARNED.add(message)
        print(f"hint: {message}", file=sys.stderr)


def _load(path: Path) -> dict[str, int] | None:
    """The levels opened recorded in ``path``; None when it cannot be read (it is then left as it is)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {task_id: int(level) for task_id, level in data["opened"].items()
                if task_id in catalogue.TASKS_BY_ID and 0 < int(level) <= LEVELS}
    except FileNotFoundError:
        return {}
    except OSError as error:
        warn(f"cannot read {path} ({error.strerror or error}); delete it or fix its permissions "
             "(until then the hints you open are not counted)")
        return None
    except (ValueError, KeyError, TypeError, AttributeError):
        warn(f"{path} is not a hints file any more; starting from no hints opened")
        return {}


def opened(root: Path = ROOT) -> dict[str, int]:
    """task id -> how many levels have been opened (tasks without hints are absent)."""
    return _load(state_file(root)) or {}


def remember(task_id: str, level: int, root: Path = ROOT) -> None:
    """Record that ``level`` of ``task_id`` was opened (levels only go up), atomically."""
    path = state_file(root)
    levels = _load(path)
    if levels is None:
        return
    levels[task_id] = max(level, levels.get(task_id, 0))
    text = json.dumps({"opened": dict(sorted(levels.items()))}, indent=1) + "\n"
    try:
        write_atomically(path, text)
    except OSError as error:
        fix = "set NN_HINTS_FILE to a file in a folder you can write" if os.environ.get("NN_HINTS_FILE") \
            else f"fix the permissions of {path.parent}"
        warn(f"cannot save the hints opened in {path} ({error.strerror or error}); {fix}")


def count_label(levels: int) -> str:
    """', 1 hint' / ', 2 hints' for the check's table ('' for none)."""
    return f", {levels} hint{'s' if levels > 1 else ''}" if levels else ""


def how_to_get_more(task: catalogue.Task, root: Path = ROOT) -> str:
    """One line for `make check`: where the next hint is (never the hint itself)."""
    levels = opened(root).get(task.id, 0)
    if levels >= LEVELS:
        return f"hints: all {LEVELS} opened; again: {unbroken(commands.hint(task.id, 'n'))}"
    return f"stuck? {unbroken(commands.hint(task.id))}" + (f"   ({levels} of {LEVELS} hints opened)" if levels else "")


def width() -> int:
    """Columns to write in: the terminal's (COLUMNS if set), kept between MIN_WIDTH and WIDTH; WIDTH where
    there is no terminal (a notebook, a pipe)."""
    return max(MIN_WIDTH, min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns))


def wrap(text: str, width: int, first: str = "", rest: str = "  ", break_words: bool = True) -> list[str]:
    """``text`` in lines of at most ``width`` columns, keeping groups such as '(N, K)' on one line; a word
    longer than a line is cut, or with ``break_words=False`` has a line of its own."""
    text = SHORT_GROUP.sub(lambda group: group.group().replace(" ", "\0"), " ".join(text.split()))
    text = SHORT_RELATION.sub(lambda relation: relation.group().replace(" ", "\0"), text)
    return [line.replace("\0", " ") for line in textwrap.wrap(
        text, width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False,
        break_long_words=break_words)]


def unbroken(command: str) -> str:
    """``command`` kept on one line by ``wrap`` (a command cut in two runs something else when copied)."""
    return command.replace(" ", "\0")


def _paragraph(label: str, text: str) -> str:
    return "\n".join(wrap(text, width(), label))


def show(task: catalogue.Task, level: int | None = None, root: Path = ROOT, ask: str | None = None) -> str:
    """Open ``level`` of ``task`` (None: the next one) and return the text to print (``ask``: how to ask for more,
    a template such as 'make hint TASK={}'; by default the form this was run in)."""
    ask = ask or commands.hint("{}")
    already = opened(root).get(task.id, 0)
    explicit = level is not None
    level = level if explicit else min(already + 1, LEVELS)
    remember(task.id, level, root)
    lines = [_paragraph("", f"Task {task.id} — {task.title} ({task.place})"), _paragraph("Goal: ", task.goal), ""]
    for shown in ([level] if explicit else range(1, level + 1)):
        lines.append(_paragraph(f"Hint {shown} of {LEVELS} ({LEVEL_NAMES[shown]}): ", task.hints[shown - 1]))
    lines.append("")
    opened_now, again = max(already, level), unbroken(ask.format(task.id))
    if opened_now < LEVELS:
        more = f"Still stuck? {again} shows hint {opened_now + 1} of {LEVELS} ({LEVEL_NAMES[opened_now + 1]})."
    elif level < LEVELS:  # a lower level asked for again
        more = f"All {LEVELS} hints are open: {again} shows them all."
    else:
        more = "That is the last hint. Still stuck? Ask your neighbour or a helper."
    where = "" if ask == commands.hint("{}") else " in a terminal, in the kit's folder"  # asked in a notebook
    lines.append(_paragraph("", f"{more} Check your code with: {unbroken(commands.check(task.id))}{where}"))
    return "\n".join(lines)


def task_id_of(name: str) -> str:
    """'3.2' for '3.2', 'task3_2' or '3_2'."""
    return name.strip().removeprefix("task").replace("_", ".")


def is_task(name: str) -> bool:
    return task_id_of(name) in catalogue.TASKS_BY_ID


def find_task(name: str, ask: str | None = None) -> catalogue.Task:
    ask = ask or commands.hint("{}")
    task_id = task_id_of(name)
    if task_id not in catalogue.TASKS_BY_ID:
        raise SystemExit(f"hint: there is no task {name!r}; the tasks are {', '.join(catalogue.TASKS_BY_ID)} "
                         f"(e.g. {ask.format('3.2')})")
    return catalogue.TASKS_BY_ID[task_id]


def parse_level(text: str, ask: str | None = None) -> int:
    if text.strip() not in {str(n) for n in range(1, LEVELS + 1)}:
        name = "LEVEL" if (ask or commands.hint("{}")).startswith("make ") else "the level"  # make's variable
        raise SystemExit(f"hint: {name} must be 1, 2 or 3 (1 a question, 2 the math, 3 close to code), got {text!r}")
    return int(text)


def first_unfinished(root: Path) -> catalogue.Task | None:
    """The task `make check` would name next (runs the task tests)."""
    import check  # tools/check.py; imported here: naming a task needs no test run

    return check.next_task(root)


def main(argv: list[str] | None = None, root: Path = ROOT, ask: str | None = None) -> int:
    """``ask``: how the participant asks for a task's hint, in the messages (tools/hint.py: the notebook's form)."""
    ask = ask or commands.hint("{}")
    parser = argparse.ArgumentParser(prog=commands.hint(), description="Show the next hint of a task.")
    parser.add_argument("task", nargs="*", help="a task id such as 3.2 (default: the first not done)")
    parser.add_argument("--level", default="", help="show this level (1, 2 or 3) instead of the next")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    level = parse_level(args.level, ask) if args.level.strip() else None
    names = " ".join(args.task).replace(",", " ").split()
    if len(names) > 1:
        raise SystemExit(f"hint: one task at a time, got {' '.join(args.task)!r} (e.g. {ask.format('3.2')})")
    if names:
        task = find_task(names[0], ask)
    else:
        print(f"Finding the first task not done… To choose one: {ask.format('3.2')}\n", flush=True)
        try:
            task = first_unfinished(root)
        except KeyboardInterrupt:  # Ctrl-C while the task tests run
            print(f"{commands.hint()} stopped.", flush=True)
            return 130
        if task is None:
            print(f"Every task is done: no hint needed. Hints of a task: {ask.format('3.2')}")
            return 0
    print(show(task, level, root, ask))
    return 0


if __name__ == "__main__":
    sys.exit(main())

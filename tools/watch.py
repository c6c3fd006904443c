"""Your progress, live: every time you save a file, the checks of what you are working on run again.

    python tools/watch.py            (= make watch; Ctrl-C stops it)

Watches nn/, act/, loss/ and notebooks/. It first checks every task, as `make check`
does. After each save it checks the tasks whose files changed, with the tasks that
were waiting for another one or whose tests did not load, or, when the saved file
holds no task, the next task not done; then it clears the screen and shows the
table and what to do next. A thin loop over tools/check.py: same tests, statuses
and messages. Files are watched with watchfiles (events from the operating system,
no polling).
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import watchfiles

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))
import check  # noqa: E402  (tools/check.py)
import tasks as catalogue  # noqa: E402  (tools/tasks.py)
import taskreport  # noqa: E402  (tools/taskreport.py)

WATCHED = ("nn", "act", "loss", "notebooks")
CLEAR_SCREEN = "\033[2J\033[H"


class ParticipantFiles(watchfiles.DefaultFilter):
    """The .py and .ipynb files a participant edits: no caches, no hidden files (editors' and
    JupyterLab's temporary copies, .ipynb_checkpoints)."""

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        parts = Path(path).parts
        return (super().__call__(change, path) and Path(path).suffix in (".py", ".ipynb")
                and not any(part.startswith(".") for part in parts[-2:]))


def file_of(place: str) -> str:
    return place.split(":")[0]


def tasks_to_check(changed: set[str], known: dict[str, check.Status]) -> list[catalogue.Task]:
    """The tasks to check again after the files ``changed`` ('nn/functions.py') were saved."""
    chosen = {task.id for task in catalogue.TASKS if any(file_of(place) in changed for place in task.places)}
    if not chosen:  # a file without a task (nn/tensor.py): check what comes next, or all when all are done
        first = check.first_pending([(task, known[task.id]) for task in catalogue.TASKS])
        chosen = {first[0].id} if first else {task.id for task in catalogue.TASKS}
    chosen |= {task_id for task_id, status in known.items() if status.label.startswith(("waiting", "not checked"))}
    return [task for task in catalogue.TASKS if task.id in chosen]


def screen(text: str, interactive: bool) -> None:
    print((CLEAR_SCREEN if interactive else "\n" + "-" * 72 + "\n") + text, flush=True)


def describe(tasks: list[catalogue.Task], changed: set[str]) -> str:
    which = "every task" if len(tasks) == len(catalogue.TASKS) else \
        ("task " if len(tasks) == 1 else "tasks ") + ", ".join(task.id for task in tasks)
    return which + (f" after {', '.join(sorted(changed))} changed" if changed else "")


def watch(root: Path, interactive: bool) -> None:
    """Check, show, wait for a save, and again, until Ctrl-C (KeyboardInterrupt)."""
    header = f"make watch: checks again each time you save in {', '.join(f + '/' for f in WATCHED)}. Ctrl-C stops."
    known: dict[str, check.Status] = {}
    chosen, changed = list(catalogue.TASKS), set()
    folders = [root / folder for folder in WATCHED if (root / folder).is_dir()]
    # yield_on_timeout: an empty set every 0.2 s without changes; the first one starts the watcher
    # before the first check, so that a save during a check is seen afterwards.
    changes = watchfiles.watch(*folders, watch_filter=ParticipantFiles(), step=100,
                               rust_timeout=200, yield_on_timeout=True)
    next(changes)
    while True:
        print(f"\nChecking {describe(chosen, changed)} …", flush=True)
        try:
            progress = check.report(root, chosen)
            known.update((task.id, status) for task, status in progress.rows)
            body = check.render(replace(progress, rows=[(task, known[task.id]) for task in catalogue.TASKS
                                                        if task.id in known]))
        except taskreport.TaskRunError as error:
            body = f"The checks could not run.\n{error}"
        screen(f"{header}\nChecked {describe(chosen, changed)} at {time.strftime('%H:%M:%S')}.\n\n{body}",
               interactive)
        batch: set = set()
        while not batch:
            batch = next(changes)
        changed = {Path(path).resolve().relative_to(root.resolve()).as_posix() for _, path in batch}
        chosen = tasks_to_check(changed, known)


def main() -> int:
    taskreport.interrupt_on_termination()
    try:
        watch(check.ROOT, sys.stdout.isatty())
    except KeyboardInterrupt:
        print("\nmake watch stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

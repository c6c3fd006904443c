"""Your progress, live: every time you save a file, the checks of what you are working on run again.

    python tools/watch.py            (= make watch; Ctrl-C stops it)

Watches nn/, act/, loss/ and notebooks/. It first checks every task, as `make check`
does. After each save it checks the tasks whose files changed, with the tasks that
were waiting for another one or whose tests did not load, or, when the saved file
holds no task, the next task not done (every task when a file does not load: the
other tasks' tests import it too); then it clears the screen and shows the table and
what to do next. A thin loop over tools/check.py: same tests, statuses
and messages. Files are watched with watchfiles (events from the operating system,
no polling); a folder replaced under the same name (git checkout, a restored copy) is
watched again.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))
import check  # noqa: E402  (tools/check.py)
import commands  # noqa: E402  (tools/commands.py)

try:
    import watchfiles
except ModuleNotFoundError:
    sys.exit(f"watch.py: the watch mode waits for saved files with the package watchfiles, which is not installed "
             f"in this Python ({sys.executable}): pip install watchfiles, or use make watch, which installs it; "
             f"{commands.check()} shows the same table once")
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


def check_again(root: Path, chosen: list[catalogue.Task]) -> check.Progress:
    """check.report of the ``chosen`` tasks, or of every task when a file did not load: the tests
    of other tasks import it too, and none of them may keep an old 'done'."""
    progress = check.report(root, chosen)
    if progress.run.file_errors and len(chosen) < len(catalogue.TASKS):
        progress = check.report(root, list(catalogue.TASKS))
    return progress


def identity(folder: Path) -> tuple[int, int] | None:
    """Which folder is at this path now (None: none)."""
    try:
        found = folder.stat()
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def files_in(root: Path, folders: list[str]) -> set[str]:
    """The participant files in ``folders`` and the task files that belong there, relative to ``root``."""
    present = {path.relative_to(root).as_posix() for folder in folders for path in (root / folder).rglob("*")
               if ParticipantFiles()(watchfiles.Change.added, str(path))}
    return present | {file_of(place) for task in catalogue.TASKS for place in task.places
                      if file_of(place).split("/")[0] in folders}


def saved_files(root: Path) -> Iterator[set[str]]:
    """The files saved in the WATCHED folders ('nn/functions.py'), every 0.2 s (an empty set when none).

    The first report comes once the watch is armed. A watch follows the folder it was put on,
    not its name, so a folder replaced under the same name (git checkout, a restored copy) is
    watched again, and all its files count as saved."""
    saved: set[str] = set()
    while True:
        folders = {name: identity(root / name) for name in WATCHED}
        changes = watchfiles.watch(*[root / name for name, folder in folders.items() if folder],
                                   watch_filter=ParticipantFiles(), step=100, rust_timeout=200,
                                   yield_on_timeout=True)
        with closing(changes):
            for batch in changes:
                saved |= {Path(path).relative_to(root).as_posix() for _, path in batch}
                replaced = [name for name, folder in folders.items() if identity(root / name) != folder]
                if replaced:  # watch again, then report
                    saved |= files_in(root, replaced)
                    break
                yield saved
                saved = set()


def screen(text: str, interactive: bool) -> None:
    print((CLEAR_SCREEN if interactive else "\n" + "-" * 72 + "\n") + text, flush=True)


def describe(tasks: list[catalogue.Task], changed: set[str]) -> str:
    which = "every task" if len(tasks) == len(catalogue.TASKS) else \
        ("task " if len(tasks) == 1 else "tasks ") + ", ".join(task.id for task in tasks)
    return which + (f" after {', '.join(sorted(changed))} changed" if changed else "")


def watch(root: Path, interactive: bool) -> None:
    """Check, show, wait for a save, and again, until Ctrl-C (KeyboardInterrupt)."""
    header = f"{commands.watch()}: checks again each time you save in {', '.join(f + '/' for f in WATCHED)}. Ctrl-C stops."
    known: dict[str, check.Status] = {}
    chosen, changed = list(catalogue.TASKS), set()
    saves = saved_files(root)
    next(saves)  # armed before the first check, so that a save during a check is seen afterwards
    while True:
        print(f"\nChecking {describe(chosen, changed)} …", flush=True)
        try:
            progress = check_again(root, chosen)
            chosen = [task for task, _ in progress.rows]
            known.update((task.id, status) for task, status in progress.rows)
            body = check.render(replace(progress, rows=[(task, known[task.id]) for task in catalogue.TASKS
                                                        if task.id in known]))
        except taskreport.TaskRunError as error:
            body = f"The checks could not run.\n{error}"
        screen(f"{header}\nChecked {describe(chosen, changed)} at {time.strftime('%H:%M:%S')}.\n\n{body}",
               interactive)
        changed = set()
        while not changed:
            changed = next(saves)
        chosen = tasks_to_check(changed, known)


def main() -> int:
    taskreport.interrupt_on_termination()
    try:
        watch(check.ROOT, sys.stdout.isatty())
    except KeyboardInterrupt:
        print(f"\n{commands.watch()} stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

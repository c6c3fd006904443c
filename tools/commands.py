"""The commands the tools name in their messages, in the form the participant runs them: through make (the
Makefile sets KIT_VIA_MAKE=1 for make check, make hint and make watch), or with Python itself where there
is no make or no .venv of the kit (conda, a hub's terminal, Windows; README, "Running on a hub").

    check("3.2")   'make check TASKS=3.2'       or 'python tools/check.py 3.2'
    hint("3.2")    'make hint TASK=3.2'          or 'python tools/hints.py 3.2'
    hint("3.2", "n")  'make hint TASK=3.2 LEVEL=n'  or 'python tools/hints.py 3.2 --level=n'
    watch()        'make watch'                  or 'python tools/watch.py'

They name commands to type in the kit's folder.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIA_MAKE = "KIT_VIA_MAKE"


def via_make() -> bool:
    return os.environ.get(VIA_MAKE) == "1"


def python() -> str:
    """How to call this Python from the kit's folder: '.venv/bin/python', else the name it has ('python3')."""
    executable = Path(os.path.abspath(sys.executable))  # '.venv/bin/python' run as ../.venv/bin/python from nn/
    try:
        return executable.relative_to(ROOT).as_posix()
    except ValueError:
        return executable.stem if executable.suffix.lower() == ".exe" else executable.name


def check(task_id: str = "") -> str:
    if via_make():
        return f"make check TASKS={task_id}" if task_id else "make check"
    return f"{python()} tools/check.py {task_id}".rstrip()


def watch() -> str:
    return "make watch" if via_make() else f"{python()} tools/watch.py"


def hint(task_id: str = "", level: str = "") -> str:
    """``task_id`` may be '{}', for a template the caller formats."""
    if via_make():
        return "make hint" + (f" TASK={task_id}" if task_id else "") + (f" LEVEL={level}" if level else "")
    return f"{python()} tools/hints.py {task_id}".rstrip() + (f" --level={level}" if level else "")

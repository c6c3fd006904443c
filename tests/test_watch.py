"""make watch (tools/watch.py) in a real terminal: start it, save a solution, see the status change, Ctrl-C.

The terminal is a pseudo-terminal (the standard library's pty), so the program sees
a terminal as it does for a participant: the screen is cleared, colors are on, and
Ctrl-C is the character the terminal turns into SIGINT for make and everything it started.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, TASKS, load_tools_module, solve

watch = load_tools_module("watch")

pytestmark = pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="a handout has no solutions/")

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Seconds allowed for a check on a busy CI machine; a guard against a hang, not a speed test.
PATIENCE = 240


class Terminal:
    """A program running in a pseudo-terminal: read its screen, type keys."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str]):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the program
            os.chdir(cwd)
            os.execvpe(command[0], command, env)
        self.text = ""
        self.status: int | None = None

    def read(self, seconds: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if ready:
            try:
                self.text += ANSI.sub("", os.read(self.fd, 65536).decode("utf-8", "replace")
                                  .replace("\x1b[2J", "\f").replace("\r\n", "\n"))
            except OSError:  # the program has ended and the terminal is closed
                time.sleep(seconds)

    def screen(self) -> str:
        """What the terminal shows now: the text since the last screen clear."""
        return self.text.rsplit("\f", 1)[-1]

    def wait_for(self, what: str, found) -> str:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            if found(self.screen()):
                return self.screen()
            self.read(0.2)
        raise AssertionError(f"make watch did not show {what} within {PATIENCE} s; the terminal shows:\n{self.text}")

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def wait_exit(self, seconds: float) -> int | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.read(0.1)
                return os.waitstatus_to_exitcode(status)
            self.read(0.1)
        return None

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def status_of(screen: str, task_id: str) -> str | None:
    row = re.search(rf"^  {re.escape(task_id)}\s+.+?\s{{2,}}(\S.*?)\s{{2,}}\S", screen, flags=re.MULTILINE)
    return row.group(1) if row else None


def processes_in(folder: Path) -> list[str]:
    """The command lines of running processes that mention ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if str(folder) in command:
                found.append(f"{entry.name}: {command}")
    return found


@pytest.fixture
def kit_with_venv(scratch):
    """A participant's copy of the kit that `make` runs in without installing: its .venv is ours."""
    venv = Path(sys.prefix)
    if not (venv / ".installed-stamp").exists():
        pytest.skip(f"{venv} is not the kit's .venv (no .installed-stamp); run the tests with make test")
    (scratch / ".venv").symlink_to(venv)
    return scratch


def start_make_watch(folder: Path) -> Terminal:
    env = {name: value for name, value in os.environ.items()
           if name not in ("KIT_IMPL", "PYTHONPATH", "MAKEFLAGS", "MAKELEVEL", "NO_COLOR")}
    return Terminal(["make", "watch"], folder, {**env, "TERM": "xterm"})


def assert_ctrl_c_stops_it_cleanly(terminal: Terminal, folder: Path) -> None:
    terminal.type(b"\x03")  # Ctrl-C
    assert terminal.wait_exit(60) is not None, f"make watch did not stop within 60 s of Ctrl-C:\n{terminal.text}"
    assert "make watch stopped." in terminal.text, terminal.text
    after = terminal.text.split("make watch stopped.")[-1]
    assert "Traceback" not in terminal.text and "Error" not in after and "***" not in after, terminal.text
    deadline = time.monotonic() + 10
    while processes_in(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not processes_in(folder), f"processes left after Ctrl-C: {processes_in(folder)}"


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a POSIX pseudo-terminal")


@needs_fork
def test_make_watch_rechecks_on_save_and_stops_cleanly_on_ctrl_c(kit_with_venv):
    first = TASKS.TASKS[0]
    file = first.places[0].split(":")[0]
    terminal = start_make_watch(kit_with_venv)
    try:
        screen = terminal.wait_for("the first table", lambda s: "Checked every task" in s and "tasks done" in s)
        assert status_of(screen, first.id) == "not started", screen

        solve(kit_with_venv, {first.id})  # a participant saves the solution
        screen = terminal.wait_for(f"task {first.id} checked again after {file} was saved",
                                   lambda s: f"Checked task {first.id} after {file} changed" in s and "tasks done" in s)
        assert status_of(screen, first.id) == "done", screen
        assert f"Next: task {TASKS.TASKS[1].id}" in screen, screen

        assert_ctrl_c_stops_it_cleanly(terminal, kit_with_venv)
    finally:
        terminal.kill()


@needs_fork
def test_ctrl_c_during_a_check_stops_it_cleanly(kit_with_venv):
    terminal = start_make_watch(kit_with_venv)
    try:
        terminal.wait_for("that it is checking", lambda s: "Checking every task" in s)
        assert_ctrl_c_stops_it_cleanly(terminal, kit_with_venv)
        assert "Checked every task" not in terminal.text, "the check ran to its end: Ctrl-C came too late to test"
    finally:
        terminal.kill()


def test_a_file_without_a_task_rechecks_the_next_task_not_done():
    known = {task.id: watch.check.Status("not started", None, 0, 1) for task in TASKS.TASKS}
    known[TASKS.TASKS[0].id] = watch.check.Status("done", None, 1, 1)
    assert [task.id for task in watch.tasks_to_check({"nn/tensor.py"}, known)] == [TASKS.TASKS[1].id]
    everything_done = {task_id: watch.check.Status("done", None, 1, 1) for task_id in known}
    assert len(watch.tasks_to_check({"nn/tensor.py"}, everything_done)) == len(TASKS.TASKS)


def test_a_saved_file_rechecks_its_tasks_and_those_waiting():
    functions = [task.id for task in TASKS.TASKS if any(p.startswith("nn/functions.py:") for p in task.places)]
    known = {task.id: watch.check.Status("not started", None, 0, 1) for task in TASKS.TASKS}
    waiting = TASKS.TASKS[-1].id
    known[waiting] = watch.check.Status(f"waiting for task {functions[0]}", None, 0, 1)
    assert [task.id for task in watch.tasks_to_check({"nn/functions.py"}, known)] == functions + [waiting]


def test_the_watcher_sees_python_files_and_notebooks_only():
    seen = watch.ParticipantFiles()
    modified = watch.watchfiles.Change.modified
    assert seen(modified, "/kit/nn/functions.py") and seen(modified, "/kit/notebooks/train.ipynb")
    for ignored in ("/kit/nn/__pycache__/functions.cpython-311.pyc", "/kit/notebooks/.ipynb_checkpoints/train.ipynb",
                    "/kit/notebooks/.~train.ipynb", "/kit/nn/.functions.py.swp", "/kit/nn/notes.txt"):
        assert not seen(modified, ignored), ignored


def saved_until(saves, file: str, seconds: float = 10) -> set[str]:
    """Every file that ``saves`` (watch.saved_files) reports until it reports ``file`` (at most ``seconds``)."""
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while file not in seen and time.monotonic() < deadline:
        seen |= next(saves)
    return seen


def test_a_replaced_folder_is_still_watched(tmp_path):
    for folder in ("nn", "act"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "functions.py").write_text("x = 1\n")
    saves = watch.saved_files(tmp_path)
    try:
        assert next(saves) == set(), "the first report comes once the watch is armed, before any save"
        (tmp_path / "act").rename(tmp_path / "act-before")  # git checkout, restoring a copy
        shutil.copytree(tmp_path / "act-before", tmp_path / "act")
        assert "act/functions.py" in saved_until(saves, "act/functions.py"), "a replaced folder's files count as saved"
        with open(tmp_path / "act" / "functions.py", "a") as file:
            file.write("y = 2\n")
        assert "act/functions.py" in saved_until(saves, "act/functions.py"), "a save in the new act/ was not seen"
        (tmp_path / "nn" / "functions.py").write_text("x = 3\n")
        assert saved_until(saves, "nn/functions.py") == {"nn/functions.py"}
    finally:
        saves.close()


def test_a_package_that_no_longer_imports_leaves_no_task_done(scratch):
    first = TASKS.TASKS[0]
    solve(scratch, {first.id})
    functions = scratch / "nn" / "functions.py"
    functions.write_text(functions.read_text().replace("class Function", "x = (\n\nclass Function", 1))
    saved = [task for task in TASKS.TASKS if any(place.startswith("nn/functions.py:") for place in task.places)]
    assert first not in saved, "the test needs a task done elsewhere"
    progress = watch.check_again(scratch, saved)
    statuses = {task.id: status.label for task, status in progress.rows}
    assert set(statuses) == {task.id for task in TASKS.TASKS}, "every task is checked again"
    assert all(label.startswith("not checked") for label in statuses.values()), statuses

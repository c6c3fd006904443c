"""Run the task tests and record, for each test, its task, outcome and exception.

    python tools/taskreport.py REPORT.json [--timeout S] [pytest arguments]

``Recorder`` is a small pytest plugin; ``run_task_tests`` runs pytest with it
in a fresh process (so the implementation under test is imported cleanly) and
reads the report back. tools/check.py (``make check``) and
tests/test_participant_version.py both use it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

from pluggy import HookimplMarker

# pytest.hookimpl, without importing pytest into make check's own process (pytest runs in a child).
hookimpl = HookimplMarker("pytest")
TASK_MARKER = re.compile(r"task(\d+(?:_\d+)*)")
#: How a test file gives its tests a task's marker: ``@pytest.mark.task3_2``.
MARKER_IN_SOURCE = re.compile(r"\bmark\.(task\d+(?:_\d+)*)\b")
#: Seconds one test may run before it fails as a probable endless loop.
DEFAULT_TIMEOUT = 60


@dataclass(frozen=True)
class Outcome:
    """How one test ended. ``exception``/``message`` are set when it failed (or the skip reason)."""

    nodeid: str
    tasks: tuple[str, ...]  # the task ids of its markers: ('3.2',)
    outcome: str  # 'passed', 'failed' or 'skipped'
    exception: str = ""  # 'NotImplementedError'
    message: str = ""  # str(exception)
    where: str = ""  # innermost frame of the traceback: 'nn/functions.py:53'


@dataclass(frozen=True)
class Report:
    tests: list[Outcome]
    collection_errors: list[tuple[str, str]]  # (file, error text)
    exit_code: int
    output: str  # what pytest printed (for when it could not run)


class TaskRunError(RuntimeError):
    """pytest could not run at all (no report was written)."""


class Recorder:
    """pytest plugin: collects a ``Outcome`` per test and the collection errors."""

    def __init__(self, timeout: int = DEFAULT_TIMEOUT):
        self.timeout = timeout
        self.tests: dict[str, dict] = {}
        self.collection_errors: list[tuple[str, str]] = []

    def pytest_collectreport(self, report):
        if report.failed:
            self.collection_errors.append((report.nodeid, str(report.longrepr)))

    @hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        entry = self.tests.setdefault(item.nodeid, {
            "nodeid": item.nodeid, "outcome": "passed",
            "tasks": [m.group(1).replace("_", ".") for m in
                      (TASK_MARKER.fullmatch(mark.name) for mark in item.iter_markers()) if m],
        })
        if entry["outcome"] == "failed" or report.passed:
            return
        if report.skipped:
            if entry["outcome"] == "passed":
                entry.update(outcome="skipped", message=str(call.excinfo.value) if call.excinfo else "")
            return
        excinfo = call.excinfo
        if excinfo is None:  # e.g. an unexpected pass of a strict xfail
            entry.update(outcome="failed", exception="Failed", message=str(report.longrepr))
            return
        error = _first_leaf(excinfo.value)
        frames = traceback.extract_tb(error.__traceback__)
        entry.update(outcome="failed", exception=type(error).__name__, message=str(error),
                     where=_where(frames))

    @hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        """Arm an alarm so an endless loop in a participant's code fails the test instead of hanging."""
        if not (hasattr(signal, "SIGALRM") and self.timeout):
            yield
            return

        def expire(signum, frame):
            raise TimeoutError(f"this test ran for more than {self.timeout} s; is there an endless loop?")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.alarm(self.timeout)
        try:
            yield
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)

    def as_json(self, exit_code: int) -> str:
        return json.dumps({"exit_code": int(exit_code), "tests": list(self.tests.values()),
                           "collection_errors": self.collection_errors}, indent=1)


def _first_leaf(error: BaseException) -> BaseException:
    """The exception to report from (nested) exception groups, e.g. Hypothesis's 'distinct failures':
    the first that is not a NotImplementedError (a wrong answer matters more), else the first."""
    leaves, pending = [], [error]
    while pending:
        current = pending.pop(0)
        inner = getattr(current, "exceptions", None)
        if isinstance(inner, tuple) and inner:
            pending[:0] = inner
        else:
            leaves.append(current)
    return next((leaf for leaf in leaves if not isinstance(leaf, NotImplementedError)), leaves[0])


def in_participant_code(where: str) -> bool:
    """Whether a location ('nn/functions.py:53') is in the participant's code: inside the kit,
    not in the tests (an assertion), not outside (an absolute path: NumPy, pytest)."""
    return bool(where) and not where.startswith(("/", "<", "tests/")) and not Path(where).is_absolute()


def _where(frames) -> str:
    """'file:line' of the innermost frame in the participant's code (a NumPy error raised by
    their line points at their line), else of the innermost frame."""
    locations = [f"{_relative(frame.filename)}:{frame.lineno}" for frame in frames]
    return next((where for where in reversed(locations) if in_participant_code(where)),
                locations[-1] if locations else "")


def _relative(path) -> str:
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def task_test_files(root: Path, task_ids: list[str] | None = None) -> list[str]:
    """The test files (relative to ``root``) that mark tests with these tasks (with any task when None),
    found by their text: collecting only those saves importing all the others."""
    wanted = None if task_ids is None else {"task" + task_id.replace(".", "_") for task_id in task_ids}
    files = []
    for path in sorted((root / "tests").rglob("test_*.py")):
        markers = set(MARKER_IN_SOURCE.findall(path.read_text(encoding="utf-8", errors="replace")))
        if markers and (wanted is None or markers & wanted):
            files.append(path.relative_to(root).as_posix())
    return files


def run_task_tests(root: Path, task_ids: list[str] | None = None, impl: str = "participant",
                   timeout: int = DEFAULT_TIMEOUT) -> Report:
    """Run the task tests of ``root`` (all, or those of ``task_ids``) against ``impl`` in a new process.

    PYTHONPATH is dropped so only ``KIT_IMPL`` decides which nn/act/loss the tests see. For speed
    (`make check` should take about a second per task): only the files holding those tasks' tests are
    collected, pytest loads no plugin but Hypothesis's (when they use it), Hypothesis runs the 'check'
    profile of tests/conftest.py (fewer examples, no shrinking), and Python may cache bytecode.
    """
    markers = " or ".join("task" + task_id.replace(".", "_") for task_id in task_ids) if task_ids else "task"
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env["KIT_IMPL"] = impl
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    files = task_test_files(root, task_ids)
    generated = any("hypothesis" in (root / file).read_text(encoding="utf-8", errors="replace") for file in files)
    plugins = ["-p", "_hypothesis_pytestplugin", "--hypothesis-profile=check"] \
        if generated and importlib.util.find_spec("_hypothesis_pytestplugin") else []
    with tempfile.TemporaryDirectory() as scratch:
        report_path = Path(scratch) / "report.json"
        command = [sys.executable, str(root / "tools" / "taskreport.py"), str(report_path),
                   "--timeout", str(timeout), "-m", markers, *(files or ["tests"]),
                   *plugins, "-q", "--tb=no", "-rN", "--no-header", "-p", "no:cacheprovider",
                   "--continue-on-collection-errors"]
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        output = done.stdout + done.stderr
        if not report_path.exists():
            raise TaskRunError(f"pytest could not run (exit code {done.returncode}):\n{output}")
        data = json.loads(report_path.read_text())
    tests = [Outcome(t["nodeid"], tuple(t["tasks"]), t["outcome"], t.get("exception", ""),
                        t.get("message", ""), t.get("where", "")) for t in data["tests"]]
    return Report(tests, [tuple(error) for error in data["collection_errors"]], data["exit_code"], output)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    report_path, arguments = Path(argv[0]), argv[1:]
    timeout = DEFAULT_TIMEOUT
    if arguments[:1] == ["--timeout"]:
        timeout, arguments = int(arguments[1]), arguments[2:]
    recorder = Recorder(timeout)
    import pytest

    exit_code = pytest.main(arguments, plugins=[recorder])
    if exit_code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        return int(exit_code)  # no report: the caller shows pytest's own output
    report_path.write_text(recorder.as_json(exit_code))
    return int(exit_code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

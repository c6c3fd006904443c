"""The untouched participant version: every task's tests fail with that task's NotImplementedError.

Runs the task tests against the top level (KIT_IMPL=participant, no PYTHONPATH)
in a fresh process, through tools/taskreport.py. That the top level is what
tools/sync.py generates is tests/test_sync.py's job.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT, TASKS, load_tools_module

taskreport = load_tools_module("taskreport")

pytestmark = pytest.mark.skipif(not (ROOT / "solutions").is_dir(),
                                reason="a handout has no solutions/, and its holes are meant to be filled")


@pytest.fixture(scope="module")
def participant_run():
    return taskreport.run_task_tests(ROOT, impl="participant")


def describe(results) -> str:
    return "\n".join(f"  {r.nodeid} [{', '.join(r.tasks) or 'no task'}]: {r.outcome}"
                     + (f" with {r.exception}: {r.message.splitlines()[0] if r.message else ''}" if r.exception else "")
                     for r in results)


def test_every_test_file_loads_against_the_participant_version(participant_run):
    assert not participant_run.collection_errors, "test files fail to load against the participant version:\n" + \
        "\n".join(f"{file}:\n{error}" for file, error in participant_run.collection_errors)


def test_every_task_has_tests(participant_run):
    tested = {task_id for result in participant_run.tests if result.outcome != "skipped" for task_id in result.tasks}
    missing = [f"{task.id} {task.title} (pytest marker {task.marker})" for task in TASKS.TASKS if task.id not in tested]
    assert not missing, "these tasks have no tests (or all were skipped):\n  " + "\n  ".join(missing)


def test_every_task_test_fails_with_its_own_not_implemented_error(participant_run):
    def fails_at_own_hole(result) -> bool:
        return (result.outcome == "failed" and result.exception == "NotImplementedError"
                and any(result.message.startswith(f"Task {task_id}:") for task_id in result.tasks))

    ran = [result for result in participant_run.tests if result.outcome != "skipped"]
    offending = [result for result in ran if not fails_at_own_hole(result)]
    assert ran, f"no task test ran against the participant version:\n{participant_run.output}"
    assert not offending, (
        f"{len(offending)} of {len(ran)} task tests do not fail with their own task's NotImplementedError "
        "against the untouched participant version (a task's test must reach its own hole first; a test "
        "that passes there checks nothing the participant writes):\n" + describe(offending))


def test_make_check_collects_every_file_with_task_tests():
    """make check collects only the files whose text names a task marker (taskreport.task_test_files);
    a full collection must find task tests in no other file (e.g. a marker made with getattr)."""
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "task", "tests",
                           "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "KIT_IMPL": "participant"})
    collected = {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}
    assert collected, f"the full collection found no task test:\n{done.stdout}{done.stderr}"
    missed = sorted(collected - set(taskreport.task_test_files(ROOT)))
    assert not missed, f"these files hold task tests that make check would not collect: {missed}"

"""make check whatever the participant's code does to the process that runs the tests.

A crash, a kill, a KeyboardInterrupt, an exception that cannot be shown, a thread or an
exit handler that never ends, a process in a session of its own, a breakpoint(): each
must come out as a failure of the task whose code did it, in bounded time, without
leaving anything running, and without the other tasks reading "done" or "no tests found"
because their tests never ran. The participant trees come from tests/test_check.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from conftest import ROOT, TASKS, one_line

if not (ROOT / "solutions").is_dir():
    pytest.skip("a handout has no solutions/", allow_module_level=True)

from test_check import check, complete, mistakes, solution, taskreport  # noqa: E402, F401  (complete: a fixture)

Outcome = taskreport.Outcome
RELU_FORWARD = solution("act/functions.py", "ReLU.forward")
RELU_BACKWARD = solution("act/functions.py", "ReLU.backward")
SCALAR_RELU_BACKWARD = solution("nn/scalar.py", "ReLU.backward")


def before(block: str, *lines: str) -> str:
    """``lines`` (indented as the block) put in front of a solution block."""
    indent = block[: len(block) - len(block.lstrip())]
    return "".join(indent + line + "\n" for line in lines) + block


def relu_forward_does(*lines: str) -> tuple[str, str, str]:
    return "act/functions.py", RELU_FORWARD, before(RELU_FORWARD, *lines)


def labels_of(progress) -> dict[str, str]:
    return {task.id: status.label for task, status in progress.rows}


def checked(tree, *task_ids: str, **limits):
    return check.report(tree, [TASKS.TASKS_BY_ID[task_id] for task_id in task_ids], **limits)


def line_of(tree, file: str, text: str) -> int:
    return (tree / file).read_text(encoding="utf-8").splitlines().index(text) + 1


# --- 1. a test whose process dies ----------------------------------------------------------------
SEGFAULT = "import ctypes; ctypes.string_at(0)"


@pytest.mark.parametrize(("code", "cause"), [
    (SEGFAULT, r"it crashed \(Segmentation fault\)"),
    ("import os; os.kill(os.getpid(), 9)", r"it was killed \(SIGKILL\)"),
    ("import os; os.closerange(3, 256)", r""),
])
def test_a_test_whose_process_dies_fails_its_task_and_says_so(complete, code, cause):
    with mistakes(complete, ("act/functions.py", RELU_BACKWARD, before(RELU_BACKWARD, code))):
        progress = checked(complete, "3.1", "4.4", "5.1")
        line = line_of(complete, "act/functions.py", "        " + code)
    labels = labels_of(progress)
    assert labels == {"3.1": "done", "4.4": "wrong", "5.1": "done"}, labels
    status = dict((task.id, status) for task, status in progress.rows)["4.4"]
    shown = one_line("\n".join(check.failure_lines(status)))
    assert "the test process ended during this test" in shown, shown
    assert re.search(cause, shown), shown
    if "closerange" not in code:  # where it happened is known (faulthandler's dump; os.kill dumps first)
        assert status.raised_at == f"act/functions.py:{line} (ReLU.backward)", shown


def test_a_run_with_crashes_leaves_nothing_in_the_temporary_folder(complete, tmp_path, monkeypatch):
    """A killed test process cannot clean up after itself (tests/conftest.py's home folder, the participant's
    temporary files): its temporary folder is inside the run's, which the parent removes."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    with mistakes(complete, ("act/functions.py", RELU_BACKWARD, before(RELU_BACKWARD, SEGFAULT))):
        assert labels_of(checked(complete, "4.4")) == {"4.4": "wrong"}
    assert list(temp.iterdir()) == []


def test_a_crash_is_blamed_on_the_thread_that_crashed(tmp_path):
    (tmp_path / "act").mkdir()
    dump = ["Fatal Python error: Segmentation fault", "",
            "Thread 0x00007f0 (most recent call first):",
            f'  File "{tmp_path}/act/functions.py", line 5 in worker', "",
            "Current thread 0x00007f1 (most recent call first):",
            '  File "/usr/lib/python3/ctypes/__init__.py", line 519 in string_at',
            f'  File "{tmp_path}/act/functions.py", line 93 in forward',
            f'  File "{tmp_path}/nn/functions.py", line 40 in checked_forward', "",
            "Extension modules: numpy (total: 1)"]
    assert taskreport.dumped_frames(dump, tmp_path) == ["nn/functions.py:40", "act/functions.py:93"]
    outcome = taskreport.ended_outcome("t::a", ("4.4",), dump, -11, 10, tmp_path)
    assert outcome.message == "the test process ended during this test: it crashed (Segmentation fault), as " \
                              "compiled code (ctypes, a C extension) does when given a bad pointer", outcome
    assert outcome.tasks == ("4.4",) and outcome.where == "act/functions.py:93"


def test_a_crash_while_importing_is_reported_as_the_files_error(complete):
    relu = "\nclass ReLU(Function):"
    with mistakes(complete, ("act/functions.py", relu, f"\nimport ctypes\nctypes.string_at(0)\n{relu}")):
        progress = checked(complete, "3.1", "4.4")
        text = check.render(progress)
        line = line_of(complete, "act/functions.py", "ctypes.string_at(0)")
    assert set(labels_of(progress).values()) == {"not checked: fix the error in act/functions.py first"}, text
    assert f"act/functions.py, line {line}: the test process ended while importing it: it crashed " \
           "(Segmentation fault)" in one_line(text), text
    assert "\nNext: fix the error in act/functions.py" in text, text


def test_a_crash_in_the_scalar_engine_is_wrong_not_done(complete):
    """The QA report's case: task 2.1 read "done" (its derivatives go through ReLU.backward)."""
    with mistakes(complete, ("nn/scalar.py", SCALAR_RELU_BACKWARD, before(SCALAR_RELU_BACKWARD, SEGFAULT))):
        labels = labels_of(checked(complete, "2.1", "2.2"))
    assert labels["2.1"] == "wrong", labels


def test_when_crashes_stop_the_run_the_tasks_not_checked_say_so(complete, monkeypatch):
    monkeypatch.setattr(taskreport, "MAX_CHILDREN", 3)
    definition = "    def checked_backward(cls, ctx, grad: np.ndarray, inputs) -> tuple:\n"
    with mistakes(complete, ("nn/functions.py", definition, f"{definition}        {SEGFAULT}\n")):
        progress = checked(complete, "3.1", "3.2", "4.2")
        text = check.render(progress)
    labels = labels_of(progress)
    assert "done" not in labels.values() and "no tests found" not in labels.values(), text
    assert any(label.startswith("not checked: the test process crashed 3 times") for label in labels.values()), text
    assert "crashed 3 times" in "\n".join(check.notes(progress)), text
    assert "\nNext: task 4.2 — Sigmoid (wrong)" in text, text  # the crash, not a task that did not get its turn


def test_a_task_with_tests_that_never_ran_is_not_done():
    task = TASKS.TASKS_BY_ID["3.2"]
    run = taskreport.Report([Outcome("t::a", ("3.2",), "passed")], [], [],
                            collected={"t::a": ("3.2",), "t::b": ("3.2",), "t::c": ("3.1",)},
                            stopped="the test process crashed 20 times")
    assert check.status_of(task, run.tests, run).label == "not checked: the test process crashed 20 times"
    assert check.status_of(TASKS.TASKS_BY_ID["3.1"], run.tests, run).label == \
        "not checked: the test process crashed 20 times"
    timed_out = taskreport.Report(run.tests, [], [], collected=run.collected, timed_out=True)
    assert check.status_of(task, run.tests, timed_out).label == "not checked: the check ran out of time"


# --- 2. KeyboardInterrupt, and an aborted pytest -------------------------------------------------
class_weird = ("class Weird(Exception):", "    def __str__(self):", "        return self.missing",
               "raise Weird()")


@pytest.mark.parametrize(("code", "expected"), [
    (("raise KeyboardInterrupt",), r"your code raised KeyboardInterrupt"),
    (class_weird, r"Weird"),
])
def test_an_interrupt_or_an_unprintable_error_fails_its_task_and_the_run_goes_on(complete, code, expected):
    with mistakes(complete, relu_forward_does(*code)):
        progress = checked(complete, "3.1", "4.4", "5.1")
    labels = labels_of(progress)
    assert labels == {"3.1": "done", "4.4": "wrong", "5.1": "done"}, check.render(progress)
    shown = one_line("\n".join(check.failure_lines(progress.rows[1][1])))
    assert re.search(expected, shown), shown
    assert re.search(r"\(raised at act/functions\.py:\d+ \(ReLU\.forward", shown), shown


def test_a_test_that_stops_pytest_fails_and_the_other_tests_still_run(complete):
    """pytest.exit() ends pytest's session (exit code 2) inside a test: that test fails, a new test process
    runs the ones that did not get their turn."""
    with mistakes(complete, relu_forward_does("import pytest; pytest.exit('enough')")):
        progress = checked(complete, "3.1", "4.4", "5.1")
    assert labels_of(progress) == {"3.1": "done", "4.4": "wrong", "5.1": "done"}, check.render(progress)
    shown = one_line("\n".join(check.failure_lines(progress.rows[1][1])))
    assert "your code called pytest.exit(enough)" in shown, shown


def test_a_keyboard_interrupt_while_importing_is_a_file_error(complete):
    relu = "\nclass ReLU(Function):"
    with mistakes(complete, ("act/functions.py", relu, "\nraise KeyboardInterrupt\n" + relu)):
        progress = checked(complete, "3.1", "4.4")
    assert labels_of(progress) == {"3.1": "done", "4.4": "not checked: fix the error in act/functions.py first"}
    assert "KeyboardInterrupt" in check.describe_file_error(complete, progress.run.file_errors[0])


def test_a_session_that_pytest_aborted_is_not_done():
    """The child's events of a pytest that ended with an internal error (exit code 3) after one test."""
    tests, report = {}, taskreport.Report([], [], [])
    child = taskreport.collect_events([
        {"event": "collected", "tests": {"t::a": ["3.2"], "t::b": ["3.2"], "t::c": ["3.1"]}},
        {"event": "start", "nodeid": "t::a", "tasks": ["3.2"]},
        {"event": "test", "nodeid": "t::a", "tasks": ["3.2"], "outcome": "passed"},
        {"event": "end", "exit_code": 3, "prints": {}, "lingering": []},
    ], tests, report)
    assert child.aborted and not child.finished, child
    report.tests = list(tests.values())
    assert check.status_of(TASKS.TASKS_BY_ID["3.2"], report.tests, report).label.startswith("not checked")


# --- 3. threads and exit handlers that never end --------------------------------------------------
FOREVER_THREAD = ("import threading, time",
                  "if not threading.enumerate()[1:]:",
                  "    threading.Thread(target=lambda: [time.sleep(1) for _ in iter(int, 1)]).start()")


@pytest.mark.parametrize(("code", "module_level", "note"), [
    (FOREVER_THREAD, False, r"Your code left a thread running after the tests ended \(started at "
                            r"act/functions\.py:\d+ \(ReLU\.forward\)\)"),
    (("import atexit, time", "atexit.register(time.sleep, 1000)"), True,
     r"Your code registered a function to run at exit \(atexit\.register at act/functions\.py:\d+\)"),
])
def test_a_thread_or_exit_handler_that_never_ends_does_not_hold_up_the_check(complete, code, module_level, note):
    change = ("act/functions.py", "\nclass ReLU(Function):", "\n" + "\n".join(code) + "\n\nclass ReLU(Function):") \
        if module_level else relu_forward_does(*code)
    started = time.monotonic()
    with mistakes(complete, change):
        progress = checked(complete, "4.4", budget=120)
        seconds = time.monotonic() - started
        text = check.render(progress)
    assert labels_of(progress) == {"4.4": "done"}, text
    assert seconds < 60 and not progress.run.timed_out, f"{seconds:.0f} s\n{text}"
    assert re.search(note, one_line(text)), text
    assert "time limit" not in text, text


@pytest.mark.parametrize("code", [("import matplotlib.pyplot",),
                                  ("import tempfile", "with tempfile.TemporaryDirectory():", "    pass")])
def test_an_exit_handler_a_library_registers_is_not_blamed_on_the_participant(complete, code):
    """`import matplotlib.pyplot` in act/functions.py read 'Your code registered a function to run at exit
    (atexit.register at act/functions.py:…)': matplotlib registers one when imported, through that line. So
    does weakref.finalize the first time it is used (tempfile.TemporaryDirectory uses it)."""
    change = ("act/functions.py", "\nclass ReLU(Function):", "\n" + "\n".join(code) + "\n\n\nclass ReLU(Function):")
    with mistakes(complete, change):
        text = check.render(checked(complete, "4.4"))
    assert "4.4" in text and "run at exit" not in text, text


def test_an_exit_handler_registered_through_a_helper_module_of_the_participants_is_reported(complete):
    """Registered by a function of their own module outside nn/, act/, loss/ (called from act/functions.py), the
    handler went unreported once only direct calls from the participant's files counted."""
    helper = complete / "exit_helpers.py"
    helper.write_text("import atexit\n\n\ndef on_exit(function):\n    atexit.register(function)\n", encoding="utf-8")
    code = ("import pathlib, sys", "sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))",
            "import exit_helpers", "exit_helpers.on_exit(print)")
    change = ("act/functions.py", "\nclass ReLU(Function):", "\n" + "\n".join(code) + "\n\n\nclass ReLU(Function):")
    try:
        with mistakes(complete, change):
            text = check.render(checked(complete, "4.4"))
            line = line_of(complete, "act/functions.py", code[-1])
    finally:
        helper.unlink()
    assert f"registered a function to run at exit (atexit.register at act/functions.py:{line})" in one_line(text), text


def test_a_test_that_runs_out_of_time_names_a_thread_of_the_participants_that_still_runs(complete):
    """A thread that computes takes turns with the tests, which then run out of time: the message said only
    'an endless loop?', and nothing pointed at the thread."""
    code = (*FOREVER_THREAD, "while True: pass")
    with mistakes(complete, relu_forward_does(*code)):
        progress = checked(complete, "4.4", timeout=2, budget=120)
        line = line_of(complete, "act/functions.py", "        " + FOREVER_THREAD[2])
    shown = one_line("\n".join(check.failure_lines(progress.rows[0][1])))
    assert labels_of(progress)["4.4"].startswith("wrong"), check.render(progress)
    assert f"a thread your code started at act/functions.py:{line} was still running then" in shown, \
        shown


def test_the_parent_stops_waiting_for_a_child_that_lingers_after_its_end(tmp_path, monkeypatch):
    """Whatever keeps the child alive after its 'end' event, the parent waits a short grace period only."""
    monkeypatch.setattr(taskreport, "GRACE_AFTER_END", 0.5)
    events = tmp_path / "events"
    events.write_text('{"event": "end", "exit_code": 0, "prints": {}, "lingering": []}\n', encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    started = time.monotonic()
    try:
        lingered = taskreport.wait_for_child(process, events, time.monotonic() + 60)
    finally:
        taskreport.kill_child(process)
    assert lingered and time.monotonic() - started < 10


# --- 4. processes in a session of their own -------------------------------------------------------
@pytest.mark.parametrize("environment", [
    pytest.param("", id="inherited"),
    pytest.param(", env={}", id="cleared", marks=pytest.mark.skipif(sys.platform != "linux", reason="Linux only")),
])
def test_processes_started_in_a_new_session_do_not_survive_the_check(complete, environment):
    """A cleared environment drops the run's marker: the check still finds the process, as an orphan it adopted
    (Linux: a child subreaper while the tests run), and ends it with everything it started."""
    pids = complete / "pids.txt"
    started_in_the_background = f"sleep 1002 & echo $! >> {pids}; exec sleep 1001"  # a grandchild, and its parent
    with mistakes(complete, relu_forward_does(
            "import subprocess",
            f"p = subprocess.Popen(['sh', '-c', {started_in_the_background!r}], start_new_session=True{environment})",
            f"open({str(pids)!r}, 'a').write(str(p.pid) + chr(10))")):
        labels = labels_of(checked(complete, "4.4"))
    started = [int(pid) for pid in pids.read_text().split()]
    pids.unlink()
    assert labels == {"4.4": "done"} and started, labels
    deadline = time.monotonic() + 5
    alive = started
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in started if _alive(pid)]
        time.sleep(0.1)
    assert not alive, f"{len(alive)} of {len(started)} processes are still running"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# --- 5, 6. stopping make check: Ctrl-C, SIGTERM, SIGHUP ---------------------------------------------
def signal_during_a_test(tree, folder, program: str, signum: int) -> tuple[str, int]:
    """Start tools/<program>.py (its TMPDIR: folder/tmp) on an endless loop in ReLU.forward, send it ``signum``
    once the loop runs; what it printed, and the pid of the test process."""
    pid_file = folder / "child.pid"
    with mistakes(tree, relu_forward_does(
            f"import os, pathlib; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))",
            "while True: pass")):
        arguments = ["4.4"] if program == "check" else []
        # The child gets Ctrl-C's default action, as from a terminal: a run started with `&` ignores SIGINT,
        # and a child would inherit that; a handler of ours is reset to the default in it instead.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            running = subprocess.Popen([sys.executable, str(tree / f"tools/{program}.py"), *arguments], cwd=tree,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, env={**os.environ, "TMPDIR": str(folder / "tmp")},
                                       start_new_session=True)
        finally:
            signal.signal(signal.SIGINT, previous)
        try:
            deadline = time.monotonic() + 120
            while not pid_file.exists() and time.monotonic() < deadline and running.poll() is None:
                time.sleep(0.1)
            assert pid_file.exists(), "the test never started"
            time.sleep(0.3)
            running.send_signal(signum)
            output, _ = running.communicate(timeout=30)
        finally:
            if running.poll() is None:
                os.killpg(running.pid, signal.SIGKILL)
                running.wait()
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    return output, child


@pytest.mark.parametrize("program", ["check", "watch"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_stopping_the_check_ends_its_tests_and_removes_its_folder(complete, tmp_path, program, signum):
    (tmp_path / "tmp").mkdir()
    output, child = signal_during_a_test(complete, tmp_path, program, signum)
    assert not _alive(child), "the test process is still running"
    assert list((tmp_path / "tmp").iterdir()) == [], "the check's temporary folder is left behind"
    assert output.rstrip().endswith(f"tools/{program}.py stopped."), output  # run by Python, not by make
    assert "Traceback" not in output, output


def test_a_check_killed_outright_takes_its_test_process_with_it(complete, tmp_path):
    (tmp_path / "tmp").mkdir()
    _, child = signal_during_a_test(complete, tmp_path, "check", signal.SIGKILL)
    assert not _alive(child), "the test process is still running"


def test_participant_code_cannot_switch_off_the_time_limit(complete):
    """Without SIGALRM every test of the task would wait for the faulthandler's backstop (25 s each)."""
    with mistakes(complete, relu_forward_does("import signal, time", "signal.signal(signal.SIGALRM, signal.SIG_IGN)",
                                              "while True: time.sleep(0.05)")):
        progress = checked(complete, "4.4")
    shown = one_line("\n".join(check.failure_lines(progress.rows[0][1])))
    assert labels_of(progress) == {"4.4": "wrong"} and "which the check uses to stop a test" in shown, shown
    assert re.search(r"\(raised at act/functions\.py:\d+ \(ReLU\.forward\)\)", shown), shown


def test_participant_code_cannot_kill_the_check(complete):
    with mistakes(complete, relu_forward_does("import os, signal; os.kill(os.getppid(), signal.SIGKILL)")):
        progress = checked(complete, "3.1", "4.4")
    assert labels_of(progress) == {"3.1": "done", "4.4": "wrong"}, check.render(progress)
    shown = one_line("\n".join(check.failure_lines(progress.rows[1][1])))
    assert "the check's own process" in shown, shown


@pytest.mark.parametrize("skip", ["import pytest; pytest.skip('later')", "import unittest; raise unittest.SkipTest('later')"])
def test_code_that_skips_its_tests_is_wrong_not_done(complete, skip):
    with mistakes(complete, relu_forward_does(skip)):
        progress = checked(complete, "4.4")
        line = line_of(complete, "act/functions.py", "        " + skip)
    shown = one_line("\n".join(check.failure_lines(progress.rows[0][1])))
    assert labels_of(progress) == {"4.4": "wrong"}, check.render(progress)
    assert "your code skipped the test (later), so nothing was checked" in shown, shown
    assert f"(raised at act/functions.py:{line} (ReLU.forward))" in shown, shown


# --- 7. what a message shows -----------------------------------------------------------------------
def test_a_leftover_breakpoint_says_to_remove_it(complete):
    with mistakes(complete, relu_forward_does("breakpoint()")):
        progress = checked(complete, "4.4")
        line = line_of(complete, "act/functions.py", "        breakpoint()")
    status = progress.rows[0][1]
    shown = one_line("\n".join(check.failure_lines(status)))
    assert status.label == "wrong" and "your code called breakpoint()" in shown, shown
    assert "the check runs without a debugger" in shown, shown
    assert status.raised_at == f"act/functions.py:{line} (ReLU.forward)", shown


@pytest.mark.parametrize(("call", "said"), [
    ("import pdb; pdb.set_trace()", "your code called pdb.set_trace() ("),
    ("from IPython.core.debugger import set_trace; set_trace()", "your code called IPython's set_trace() ("),
    ("import pdb; pdb.Pdb().set_trace()", "your code called set_trace() ("),
    ("import pdb; pdb.run('y = 1')", "your code called pdb.run() ("),
    ("import pytest; pytest.set_trace()", "your code called pytest's set_trace() ("),
    ("import pdb; pdb.runcall(check_alpha, 0.01)", "your code called pdb.runcall() ("),
    ("import sys; sys.stdin.readline()", "your code read sys.stdin ("),
    ("import sys; sys.stdin.read()", "your code read sys.stdin ("),
])
def test_the_debugger_or_stdin_says_what_to_remove_and_where(complete, call, said):
    """pdb.set_trace() was blamed on sys.stdout ('your code replaced sys.stdout'), without a line; a read of
    sys.stdin showed pytest's 'reading from stdin while output is captured! Consider using -s'."""
    with mistakes(complete, relu_forward_does(call)):
        progress = checked(complete, "4.4")
        line = line_of(complete, "act/functions.py", "        " + call)
    status = progress.rows[0][1]
    shown = one_line("\n".join(check.failure_lines(status)))
    assert status.label == "wrong" and said in shown and "remove it" in shown, shown
    assert f"(act/functions.py:{line}); remove it" in shown, shown  # the participant's line, not one pdb ran
    assert "sys.stdout" not in shown and "-s" not in shown.split(), shown
    assert status.raised_at == f"act/functions.py:{line} (ReLU.forward)", shown


def test_messages_lose_control_characters_and_overlong_lines():
    shown = check.trimmed("\x1b[2J\x1b[31mred\x07 bell\tand tab\n" + "x" * 100_000)
    assert "\x1b" not in shown and "\x07" not in shown and "\tand tab" in shown, repr(shown)
    assert max(map(len, shown.splitlines())) <= check.message_width(), len(shown)
    assert len(shown.splitlines()) == check.MAX_MESSAGE_LINES, shown


@pytest.mark.parametrize("name", ["queue.py", "numpy.py"])
def test_a_file_named_like_a_module_the_tests_need_is_named_with_what_to_do(complete, name):
    (complete / name).write_text("x = 1\n", encoding="utf-8")
    try:
        with pytest.raises(taskreport.TaskRunError, match=rf"{re.escape(name)} has the name of a module .* rename it"):
            check.report(complete, [TASKS.TASKS_BY_ID["4.4"]])
    finally:
        (complete / name).unlink()


def test_the_check_writes_no_hypothesis_folder_into_the_kit(complete):
    check.report(complete, [TASKS.TASKS_BY_ID["3.2"]])
    assert not (complete / ".hypothesis").exists(), "make check wrote .hypothesis/ into the participant's folder"


@pytest.mark.parametrize("replace_with", ["nothing", "a folder"])
def test_a_missing_package_file_is_named_with_how_to_restore_it_under_the_table(complete, replace_with):
    """The check ends with its table whatever the tree holds: a deleted file made it stop with an error."""
    path = complete / "act" / "functions.py"
    kept = path.read_bytes()
    path.unlink()
    if replace_with == "a folder":
        path.mkdir()
    try:
        progress = check.report(complete, [TASKS.TASKS_BY_ID["3.1"], TASKS.TASKS_BY_ID["4.4"]])
        text = " ".join(check.render(progress).split())
    finally:
        if path.is_dir():
            path.rmdir()
        path.write_bytes(kept)
    assert {status.label for _, status in progress.rows} == {"not checked: act/functions.py is missing"}, text
    assert re.search(r"Next: act/functions\.py is missing .*restore it \(your last saved copy, or act/functions\.py "
                     r"of a fresh copy of the kit", text), text  # the tree is a handout: no git
    assert text.count("is missing (deleted") == 1 and "stopped early" not in text, text


@pytest.mark.parametrize("work", ["        out = np.maximum(x, 0)", "        stable_sigmoid(x)"],
                         ids=["NumPy", "a function of the participant's files"])
def test_a_loop_that_catches_the_checks_stop_is_wrong_with_the_bare_except_named(complete, work):
    """`except: continue` in a loop caught the check's stop: each test that ran into it cost the backstop's
    25 s and said only 'an endless loop?' (74 s for task 4.4; 148 s when the loop calls stable_sigmoid,
    whose calls are new at every tick). Now the first costs the timeout, each later one a tick or two,
    and the message names the except."""
    # the work loops inside the try: a stop that lands on the outer loop's own line escapes the except (a check
    # of the signal happens at each jump back), and the test would then see the plain timeout message
    loop = ("while True:", "    try:", "        while True:", "    " + work, "    except:", "        continue")
    with mistakes(complete, relu_forward_does(*loop)):
        progress = checked(complete, "4.4", timeout=2)  # the stop comes sooner; the rest is the same
        line = line_of(complete, "act/functions.py", "        while True:")
    status = progress.rows[0][1]
    shown = one_line("\n".join(check.failure_lines(status)))
    assert status.label == "wrong" and not progress.run.timed_out, check.render(progress)
    assert "your code caught the check's stop and went on: a bare `except:` (or `except BaseException:`) catches " \
           "it too; catch `Exception`, or the error you expect" in shown, shown
    assert re.search(rf"\(raised at act/functions\.py:(?:{'|'.join(str(line + k) for k in range(6))}) "
                     r"\(ReLU\.forward\)\)", shown), shown
    caught = [test for test in progress.run.tests if "caught the check's stop" in test.message]
    assert len(caught) >= 2, [test.message for test in progress.run.tests]  # the later tests are told too


@pytest.mark.parametrize("output", ["print('debug', file=sys.stderr)", "sys.stdout.write('debug' + chr(10))",
                                    "logging.warning('debug')"])
def test_prints_to_stderr_writes_and_logging_are_counted_like_prints_to_the_screen(complete, output):
    loop = f"for _ in range(1000): {output}"  # over MANY_PRINTS in all; 3000 a call hit the time limit on large generated examples
    with mistakes(complete, relu_forward_does("import logging, sys", loop)):
        progress = checked(complete, "4.4")
        line = line_of(complete, "act/functions.py", "        " + loop)
    text = check.render(progress)
    assert labels_of(progress) == {"4.4": "done"}, text
    assert re.search(rf"Your code printed [\d,]+ lines during the check, [\d,]+ of them at act/functions\.py:{line} ",
                     one_line(text)), text


@pytest.mark.skipif(sys.platform == "win32", reason="no file size limit on Windows")
@pytest.mark.parametrize("write", ["sys.__stdout__.write('debug ' * 30_000_000)",
                                   "os.write(1, b'debug ' * 30_000_000)"])
def test_output_past_the_file_size_limit_fails_the_test_instead_of_filling_memory(complete, write):
    with mistakes(complete, relu_forward_does("import os, sys", write)):
        progress = checked(complete, "4.4")
        line = line_of(complete, "act/functions.py", "        " + write)
    shown = one_line("\n".join(check.failure_lines(progress.rows[0][1])))
    assert labels_of(progress) == {"4.4": "wrong"}, check.render(progress)
    assert f"your code wrote more than {taskreport.MAX_FILE_BYTES // 2**20} MB in one test" in shown, shown
    assert f"(raised at act/functions.py:{line} (ReLU.forward))" in shown, shown


def test_input_in_the_code_says_to_remove_it(complete):
    with mistakes(complete, relu_forward_does("answer = input('threshold? ')")):
        progress = checked(complete, "4.4")
        line = line_of(complete, "act/functions.py", "        answer = input('threshold? ')")
    shown = one_line("\n".join(check.failure_lines(dict((task.id, status) for task, status in progress.rows)["4.4"])))
    assert labels_of(progress) == {"4.4": "wrong"}, shown
    assert f"your code called input() (act/functions.py:{line}); remove it" in shown, shown
    assert "-s" not in shown.split(), shown


@pytest.mark.parametrize(("code", "what"), [
    ("import sys; sys.stdout.close()", "closed sys.stdout"),
    ("import sys; sys.stderr.close()", "closed sys.stderr"),
    ("import sys; sys.stdout = None", "replaced sys.stdout"),
    ("import io, sys; sys.stderr = io.StringIO()", "replaced sys.stderr"),
])
def test_closing_or_replacing_the_screen_streams_fails_only_its_task(complete, code, what):
    with mistakes(complete, relu_forward_does(code)):
        progress = checked(complete, "3.1", "4.4", "5.1")
        line = line_of(complete, "act/functions.py", "        " + code)
    shown = one_line("\n".join(check.failure_lines(dict((task.id, status) for task, status in progress.rows)["4.4"])))
    assert labels_of(progress) == {"3.1": "done", "4.4": "wrong", "5.1": "done"}, check.render(progress)
    assert f"your code {what} (act/functions.py:{line}); remove that line" in shown, shown
    assert re.search(rf"\(raised at act/functions\.py:{line} \(ReLU\.forward\)\)", shown), shown


LEAKY_RELU_BACKWARD = solution("act/functions.py", "LeakyReLU.backward")
REPEATING_ORDER = """    found = []

    def visit(node):  # recursive, and a node reached along two paths is listed twice
        for parent in node.parents():
            visit(parent)
        found.append(node)

    visit(root)
    return found
"""


def test_a_task_that_walks_a_wrong_order_waits_for_the_task_that_makes_it(complete):
    with mistakes(complete, ("nn/graph.py", solution("nn/graph.py", "topological_order"), REPEATING_ORDER)):
        progress = checked(complete, "2.2", "2.3")
    assert labels_of(progress) == {"2.2": "wrong", "2.3": "waiting for task 2.2"}, check.render(progress)


@pytest.mark.parametrize(("code", "replaced"), [
    ("np.allclose = lambda *a, **k: True", "numpy.allclose"),
    ("setattr(np, 'isclose', lambda *a, **k: True)", "numpy.isclose"),
    ("np.testing.assert_allclose = lambda *a, **k: None", "numpy.testing.assert_allclose"),
    ("np.exp = lambda v, exp=np.exp: exp(np.clip(v, -30, 30))", "numpy.exp"),
])
def test_replacing_a_numpy_function_the_tests_use_fails_its_task_and_is_undone(complete, code, replaced):
    """ReLU (4.4) replaces the function; LeakyReLU (4.5), tested after it, has a wrong gradient that
    np.allclose finds once it is NumPy's again."""
    with mistakes(complete, relu_forward_does(code),
                  ("act/functions.py", LEAKY_RELU_BACKWARD, "        return grad * 1.0\n")):
        progress = checked(complete, "3.1", "4.4", "4.5")
        line = line_of(complete, "act/functions.py", "        " + code)
    shown = one_line("\n".join(check.failure_lines(dict((task.id, status) for task, status in progress.rows)["4.4"])))
    assert labels_of(progress) == {"3.1": "done", "4.4": "wrong", "4.5": "wrong"}, check.render(progress)
    assert f"your code replaced {replaced} (act/functions.py:{line}); remove that line" in shown, shown
    assert f"(raised at act/functions.py:{line} (ReLU.forward))" in shown, shown


@pytest.mark.parametrize(("code", "file", "said"), [
    ("np.array_equal = lambda *a, **k: True", "act/functions.py", "your code replaced numpy.array_equal; remove that line"),
    ("np.exp = lambda v, exp=np.exp: exp(np.clip(v, -30, 30))", "act/functions.py",
     "your code replaced numpy.exp; remove that line"),
    ("import sys; sys.stdout.close()", "act/functions.py", "your code closed sys.stdout; remove that line"),
    ("vars(np).update(allclose=lambda *a, **k: True)", "act/",  # no line says allclose = ...: the package
     "your code replaced numpy.allclose; remove the line that does it"),
])
def test_replacing_a_numpy_function_or_closing_a_stream_while_imported_is_the_files_error(complete, code, file, said):
    relu = "\nclass ReLU(Function):"
    with mistakes(complete, ("act/functions.py", relu, f"\n{code}\n{relu}")):
        progress = checked(complete, "3.1", "4.4")
        line = line_of(complete, "act/functions.py", code)
        text = check.render(progress)
    assert labels_of(progress) == {"3.1": "done", "4.4": f"not checked: fix the error in {file} first"}, text
    where = f"{file}, line {line}" if file.endswith(".py") else file
    assert f"{where}: {said}" in text, text


def test_replacing_a_numpy_function_in_a_notebook_names_the_cell(complete):
    line = "    np.isclose = lambda *a, **k: True\n"
    with mistakes(complete, ("notebooks/train.ipynb", '"    with nn.no_grad():\\n"',
                             f'{json.dumps(line)},\n    "    with nn.no_grad():\\n"')):
        progress = checked(complete, "6.3")
        cells = [c["source"] for c in json.loads((complete / "notebooks/train.ipynb").read_text())["cells"]
                 if c["cell_type"] == "code"]
    cell = next(number for number, source in enumerate(cells, start=1) if line in source)
    shown = one_line("\n".join(check.failure_lines(progress.rows[0][1])))
    assert labels_of(progress) == {"6.3": "wrong"}, shown
    where = f"notebooks/train.ipynb cell {cell}:{cells[cell - 1].index(line) + 1}"
    assert f"your code replaced numpy.isclose ({check.taskreport.shown_location(where)}); remove that line" in shown, shown
    assert f"(raised at {check.taskreport.shown_location(where)} (accuracy))" in shown, shown

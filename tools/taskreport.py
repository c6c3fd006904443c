"""Run the task tests in a guarded child process and record, for each test, its task and how it ended.

    python tools/taskreport.py EVENTS.jsonl [--timeout S] [--skip FILE] [--looping FILE] [pytest arguments]

The child (``main``) imports the participant's packages once, then runs pytest
with the ``Recorder`` plugin, which appends one JSON line per event to
EVENTS.jsonl as it happens (so what ran is known even if the child is killed).
Whatever the participant's code does, the run ends: a test that runs longer than
the timeout fails with ``DidNotFinish`` (an endless loop), ``sys.exit`` and
``os._exit`` fail the test that called them, a package that does not import is
reported once and every test that needs it fails with ``NotChecked``.

``run_task_tests`` (the parent) starts the child in its own process group, kills
the whole group when the time budget is spent or the child is done, and starts a
new child for the remaining tests if one died. tools/check.py (``make check``)
and tests/test_participant_version.py use it.
"""

from __future__ import annotations

import builtins
import compileall
import contextlib
import ctypes
import dis
import errno
import faulthandler
import functools
import importlib
import importlib.util
import io
import json
import linecache
import os
import py_compile
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pluggy import HookimplMarker

# pytest.hookimpl, without importing pytest into make check's own process (pytest runs in a child).
hookimpl = HookimplMarker("pytest")
TASK_MARKER = re.compile(r"task(\d+(?:_\d+)*)")
#: How a test file gives its tests a task's marker: ``@pytest.mark.task3_2``.
MARKER_IN_SOURCE = re.compile(r"\bmark\.(task\d+(?:_\d+)*)\b")
PACKAGES = ("nn", "act", "loss")
#: Seconds one test may run before it fails as a probable endless loop.
DEFAULT_TIMEOUT = 10
#: Seconds the whole run may take (all children together) before what is left is not checked.
DEFAULT_BUDGET = 300
#: How often the watchdog looks at what a test is doing (seconds).
TICK = 0.25
#: The line a child writes before it ends itself because the participant's code caught DidNotFinish.
STOP_CAUGHT = "The stop was caught by the code under test"
#: Test processes started before the run gives up on tests that crash the process (each costs a restart).
MAX_CHILDREN = 20
#: Seconds a child may take to exit after its 'end' event before the parent ends it.
GRACE_AFTER_END = 2.0
#: How often the parent looks at a running child (seconds).
POLL = 0.2
#: The longest message kept from an exception (a test of a huge array may print all of it).
MAX_MESSAGE_CHARS = 10_000
#: The largest file a test process may write, its captured output included (pytest reads a test's output
#: back into memory: gigabytes written to sys.__stdout__ or with os.write would fill the machine's memory).
MAX_FILE_BYTES = 100 * 2**20
#: pytest's exit codes for a session it did not finish: interrupted, internal error.
ABORTED = (2, 3)
#: The environment variable that marks every process of one run (also those in a session of their own).
RUN_MARKER = "KIT_CHECK_RUN"
#: What the tests and the check rely on, which the participant's code must leave as it found it (besides
#: sys.stdout and sys.stderr): checked after every import of a package and every test, and put back.
GUARDED = ("numpy.allclose", "numpy.isclose", "numpy.array_equal", "numpy.all", "numpy.any", "numpy.isfinite",
           "numpy.testing.assert_allclose", "numpy.testing.assert_array_equal", "numpy.testing.assert_equal",
           # and the math the tests compute their expected values with (np.exp = a clipped exp, say)
           "numpy.exp", "numpy.log", "numpy.sqrt", "numpy.tanh", "numpy.maximum", "numpy.minimum", "numpy.where",
           "numpy.sum", "numpy.mean", "numpy.max", "numpy.eye")
#: Where a notebook cell's code says it comes from ('train.ipynb cell 3', see tests/test_train_tasks.py).
NOTEBOOK_CELL = re.compile(r"(?:.*/)?(\w+\.ipynb) cell (\d+)$")


# --- what the parent gets back ---------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """How one test ended. ``exception``/``message`` are set when it failed (or the skip reason)."""

    nodeid: str
    tasks: tuple[str, ...]  # the task ids of its markers: ('3.2',)
    outcome: str  # 'passed', 'failed' or 'skipped'
    exception: str = ""  # 'NotImplementedError', 'DidNotFinish', 'NotChecked', ...
    message: str = ""  # str(exception)
    frames: tuple[str, ...] = ()  # 'nn/functions.py:53' of the participant's code on the way, innermost last

    @property
    def where(self) -> str:
        return self.frames[-1] if self.frames else ""


@dataclass(frozen=True)
class FileError:
    """A participant file that could not be imported, a notebook cell that does not parse, or a notebook
    that is not one (exception 'InvalidNotebook', message: the reason)."""

    file: str  # 'act/functions.py'
    line: int  # 0 when unknown
    text: str  # the offending line
    exception: str  # 'SyntaxError'
    message: str  # 'invalid syntax'


@dataclass
class Report:
    tests: list[Outcome]
    file_errors: list[FileError]
    collection_errors: list[tuple[str, str, tuple[str, ...]]]  # (test file, error text, its tasks)
    prints: dict[str, int] = field(default_factory=dict)  # 'nn/functions.py:53' -> lines printed there
    timed_out: bool = False  # the budget ran out: what did not run is not checked
    output: str = ""  # what the child printed (for when it could not run)
    collected: dict[str, tuple[str, ...]] = field(default_factory=dict)  # every test to run -> its tasks
    stopped: str = ""  # why the run ended before every test ran ('' when it got to the end or timed out)
    lingering: list[tuple[str, str]] = field(default_factory=list)  # ('thread', 'act/functions.py:12'), ...


class TaskRunError(RuntimeError):
    """pytest could not run at all."""


# --- the child's guards ------------------------------------------------------------------------
class DidNotFinish(BaseException):
    """A test ran longer than the timeout. A BaseException, so that neither Hypothesis nor an
    ``except Exception`` in the participant's code swallows it and tries again."""


class ExitCalled(BaseException):
    """The participant's code called os._exit(): the test fails instead of the whole run."""


class Interrupted(Exception):
    """The participant's code raised KeyboardInterrupt: the test fails instead of the whole run stopping."""


class BreakpointCalled(BaseException):
    """The participant's code called breakpoint(): there is no debugger in the check (message: where)."""


class PdbCalled(BreakpointCalled):
    """The participant's code called pdb.set_trace() or a debugger's like it (message: which, and where)."""


class InputCalled(BaseException):
    """The participant's code called input(): nobody can type an answer during the check (message: where)."""


class StdinRead(InputCalled):
    """The participant's code read sys.stdin (message: where)."""


class Tampered(Exception):
    """The participant's code closed or replaced something the tests and the check rely on (see ``Kept``).
    ``where``: the participant's lines that did it, as far as known."""

    def __init__(self, changes: list[tuple[str, str]]):  # (what it did: 'closed sys.stdout', where or '')
        self.where = tuple(where for _, where in changes if where)
        super().__init__("\n".join(
            f"your code {what}" + (f" ({shown_location(where)}); remove that line" if where
                                   else "; remove the line that does it")
            + f": the tests and the check rely on {what.split()[-1]} as it was" for what, where in changes))


class NotChecked(ImportError):
    """A test needs a package that could not be imported (reported once, as a FileError)."""

    def __init__(self, message: str, package: str):
        super().__init__(message)
        self.package = package


def shown_location(location: str) -> str:
    """A location as a participant reads it: 'nn/functions.py:53' as it is, a notebook's 'notebooks/train.ipynb
    cell 10:3' as 'notebooks/train.ipynb, code cell 10, line 3'."""
    file, _, line = location.rpartition(":")
    return f"{file.replace(' cell ', ', code cell ')}, line {line}" if NOTEBOOK_CELL.match(file) else location


def participant_location(filename: str, line: int, root: Path) -> str | None:
    """'nn/functions.py:53' or 'notebooks/train.ipynb cell 3:2' for the participant's code, else None."""
    file = _participant_file(filename, root)
    return f"{file}:{line}" if file else None


@functools.lru_cache(maxsize=None)
def _participant_file(filename: str, root: Path) -> str | None:
    cell = NOTEBOOK_CELL.match(filename)
    if cell:
        return f"notebooks/{cell.group(1)} cell {cell.group(2)}"
    try:
        relative = Path(filename).resolve().relative_to(root)
    except ValueError:
        return None
    return relative.as_posix() if relative.parts[0] in PACKAGES + ("notebooks",) else None


def participant_frames(error: BaseException, root: Path) -> list[str]:
    """The participant's frames in ``error``'s traceback, outermost first, followed by those of the
    errors it was raised from (a contract error raised ``from`` the participant's own)."""
    frames = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        for frame in traceback.extract_tb(error.__traceback__):
            location = participant_location(frame.filename, frame.lineno, root)
            if location and location not in frames:
                frames.append(location)
        if isinstance(error, Tampered):  # raised after the participant's code ran, knowing where it did it
            frames.extend(location for location in error.where if location not in frames)
        checked = checked_method(error, root)
        if checked and checked not in frames:
            frames.append(checked)
        error = error.__cause__
    return frames


#: The framework's contract checks (nn/functions.py, Function) and the method each one calls.
CONTRACT_CHECKS = {"checked_forward": "forward", "checked_backward": "backward"}


def checked_method(error: BaseException, root: Path) -> str | None:
    """For an error the contract raised about what a participant's forward or backward returned (after
    it returned, so its line is in no traceback): that method's ``return`` line if it has one, else its
    ``def`` line."""
    frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
    if not frames or frames[-1].f_code.co_name not in CONTRACT_CHECKS:
        return None
    method = getattr(frames[-1].f_locals.get("cls"), CONTRACT_CHECKS[frames[-1].f_code.co_name], None)
    code = getattr(method, "__code__", None)
    if code is None:
        return None
    returns = {ins.positions.lineno for ins in dis.get_instructions(code) if ins.opname.startswith("RETURN")}
    if len(returns) == 1 and None not in returns:
        return participant_location(code.co_filename, returns.pop(), root)
    line = code.co_firstlineno  # the first decorator's line (@staticmethod): the def follows
    while line < code.co_firstlineno + 20 and not linecache.getline(code.co_filename, line).lstrip().startswith("def "):
        line += 1
    return participant_location(code.co_filename, line, root)


class Watchdog:
    """Fails a test that runs longer than ``timeout`` seconds with DidNotFinish (SIGALRM, every TICK).

    Once a loop was caught in some function of the participant, a later test that is
    still in the same call of that function one tick later fails at once, so one
    endless loop costs the timeout once, not once per test that reaches it. A call that
    DidNotFinish was raised through and that still runs a tick later caught it (a bare
    ``except:``): the process ends (``_end_as_caught``).
    """

    def __init__(self, timeout: float, root: Path):
        self.timeout, self.root = timeout, root
        self.looping: set = set()  # (file, first line) of the participant's functions caught looping
        self.started = 0.0
        self.last_frames: list = []  # the participant's frames at the last tick, innermost first
        self.stop_frames: list = []  # ... when DidNotFinish was raised in this test (none: not raised)
        self.backstop_file = None

    def start(self, backstop_file=None) -> None:
        if not hasattr(signal, "setitimer") or not self.timeout:
            return
        self.started, self.last_frames, self.stop_frames = time.monotonic(), [], []
        self.backstop_file = backstop_file
        signal.signal(signal.SIGALRM, self._tick)
        signal.setitimer(signal.ITIMER_REAL, TICK, TICK)
        if backstop_file is not None:  # code stuck in C, where no signal handler runs: end the process
            faulthandler.dump_traceback_later(self.timeout + 15, exit=True, file=backstop_file)

    def stop(self) -> None:
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
            faulthandler.cancel_dump_traceback_later()
        self.last_frames, self.stop_frames = [], []

    def _participant_frames(self, frame) -> list:
        frames = []
        while frame is not None:
            if participant_location(frame.f_code.co_filename, frame.f_lineno, self.root):
                frames.append(frame)
            frame = frame.f_back
        return frames

    def _tick(self, signum, frame):
        frames = self._participant_frames(frame)
        running = [f for f in frames if any(f is g for g in self.last_frames)]  # the same calls as at the last tick
        self.last_frames = frames
        caught = next((f for f in frames if any(f is g for g in self.stop_frames)), None)
        if caught is not None and self.backstop_file is not None:  # a call the stop was raised through goes on
            self._end_as_caught(caught)
        looping = next((f for f in running if code_key(f.f_code) in self.looping), None)
        if looping is not None or time.monotonic() - self.started > self.timeout:
            if running:
                self.looping.add(code_key(running[0].f_code))
            self.stop_frames = frames
            raise DidNotFinish(f"it did not finish in {self.timeout:g} s — an endless loop?{running_threads_note()}")

    def _end_as_caught(self, own) -> None:
        """The participant's code caught DidNotFinish (a bare ``except:`` in a loop) and runs on: nothing raised
        can stop it, so end the process now, where the parent reads why (STOP_CAUGHT) and where, rather than
        at the backstop's time, 15 s later. The next child is told the function loops, so that each later
        test that runs into it costs a tick or two, not the timeout."""
        self.backstop_file.write(json.dumps({"event": "looping", "code": code_key(own.f_code)}) + "\n")
        self.backstop_file.write(f"{STOP_CAUGHT}\n")
        self.backstop_file.flush()
        faulthandler.dump_traceback(self.backstop_file, all_threads=False)
        _exit_now(1)


def running_threads_note() -> str:
    """Where the participant's threads that still run were started, for a test that took too long ('' if none):
    a thread that computes takes turns with the test."""
    started = [thread.kit_started_at for thread in threading.enumerate()
               if getattr(thread, "kit_started_at", "") and thread.is_alive()]
    return f" (a thread your code started at {started[0]} was still running then, and slows every test down)" \
        if started else ""


def code_key(code) -> tuple[str, int]:
    """A function's code as the next child can recognize it: (file, first line)."""
    return code.co_filename, code.co_firstlineno


class PrintCounter:
    """Counts, by the line that called it, the print() calls of the participant's code to the screen
    (stdout or stderr), without printing them: the check would hide them anyway, and thousands of them
    take time. ``written``: the lines its code wrote to the screen otherwise (ScreenStream counts them)."""

    def __init__(self, root: Path):
        self.root, self.counts = root, Counter()  # counts: (code object, line) -> calls
        self.written = Counter()  # 'nn/functions.py:53' -> lines
        self.original = builtins.print
        self.participant: dict = {}  # code object -> whether it is the participant's

    def __call__(self, *args, **kwargs):
        caller = sys._getframe(1)
        code = caller.f_code
        mine = self.participant.get(code)
        if mine is None:
            mine = self.participant[code] = _participant_file(code.co_filename, self.root) is not None
        if not mine or kwargs.get("file") not in (None, sys.stdout, sys.stderr):  # a file of its own: written
            return self.original(*args, **kwargs)
        self.counts[code, caller.f_lineno] += 1
        return None

    def by_location(self) -> dict[str, int]:
        """'nn/functions.py:53' -> lines printed there."""
        lines = Counter(self.written)
        for (code, line), count in self.counts.items():
            lines[participant_location(code.co_filename, line, self.root)] += count
        return dict(lines)


def _refuse_exit(status=0):
    raise ExitCalled(status)


_exit_now = os._exit  # the real one, for the child's own end


def end_with_parent() -> None:
    """Linux: the child is killed when the parent dies (make check killed with SIGKILL), rather than
    running its tests to the end for nobody."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def calling_location(root: Path, depth: int = 2) -> str:
    """The innermost line of the participant's code among the callers ('' when none)."""
    try:
        frame = sys._getframe(depth)
    except ValueError:  # called from fewer frames (a stream closed as it is garbage-collected)
        return ""
    return location_from(frame, root)


def location_from(frame, root: Path) -> str:
    """The innermost line of the participant's code from ``frame`` outward ('' when none)."""
    for outer in _outward(frame):
        location = participant_location(outer.f_code.co_filename, outer.f_lineno, root)
        if location:
            return location
    return ""


def registering_location(frame, root: Path) -> str:
    """The participant's line that registered an exit handler, from the frame that called atexit.register: that
    frame's own, or, when it is a helper module of theirs elsewhere in the kit, the line that called the helper;
    '' when the standard library or a package did (matplotlib on import, weakref.finalize on first use)."""
    return location_from(frame, root) if _in_the_kit(frame.f_code.co_filename, root) else ""


def _in_the_kit(filename: str, root: Path) -> bool:
    try:
        parts = Path(filename).resolve().relative_to(root).parts
    except (ValueError, OSError):
        return False
    return not {".venv", "site-packages"} & set(parts)


def debugger_call(frame, root: Path) -> str:
    """What the participant's line called to reach pdb's prompt, and where, from the frame that reached it:
    'pdb.set_trace() (act/functions.py:92)', 'pdb.runcall() (…)', "IPython's set_trace() (…)", or
    'set_trace() (…)' for their own Pdb().set_trace()."""
    outermost = frame
    for outer in _outward(frame):  # pdb.runcall runs the participant's own function under the debugger
        if outer.f_globals.get("__name__") in ("pdb", "bdb"):
            outermost = outer
    called, where = None, ""
    for frame in _outward(outermost):
        where = participant_location(frame.f_code.co_filename, frame.f_lineno, root)
        if where:
            break
        called = frame
    if not where:
        return "set_trace()"
    if called is None:
        return f"set_trace() ({where})"
    package, name = called.f_globals.get("__name__", "").partition(".")[0].lstrip("_"), called.f_code.co_name
    call = f"pdb.{name}()" if package in ("pdb", "bdb") else f"{package}'s {name}()"  # _pytest: pytest's
    return f"{call} ({where})"


def _outward(frame):
    while frame is not None:
        yield frame
        frame = frame.f_back


def limit_file_size() -> None:
    """Files this process writes stay under MAX_FILE_BYTES: a write beyond fails with OSError EFBIG (Python
    ignores the signal SIGXFSZ). Not on Windows, which has no such limit."""
    try:
        import resource
    except ImportError:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if hard == resource.RLIM_INFINITY or hard > MAX_FILE_BYTES:
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, hard))


def exception_name(error: BaseException) -> str:
    """The name the report uses for ``error``: its class's, or 'TooMuchOutput' for a write over MAX_FILE_BYTES."""
    if isinstance(error, OSError) and error.errno == errno.EFBIG:
        return "TooMuchOutput"
    return type(error).__name__


def message_of(error: BaseException) -> str:
    """str(error), even when its __str__ fails, at most MAX_MESSAGE_CHARS long."""
    try:
        message = str(error)
    except BaseException as failure:  # noqa: BLE001 (the participant's __str__ may raise anything)
        message = f"(its message cannot be shown: its __str__ raised {type(failure).__name__})"
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + " …"


class Guards:
    """What the child changes so that the participant's code cannot end, stop or outlive the run:
    os._exit raises, breakpoint() and input() raise, signals to the check itself are refused, and where threads
    were started and exit handlers registered is remembered for the report."""

    def __init__(self, root: Path):
        self.root = root
        self.exit_handlers: list[str] = []  # where the participant's code called atexit.register
        self.parent = os.getppid()
        self.dump_file = None  # where to write the stack before the process signals itself (the events)

    def install(self) -> None:
        import atexit
        import pdb

        end_with_parent()
        os._exit = _refuse_exit
        sys.breakpointhook = self._refuse_breakpoint
        pdb.Pdb.set_trace = self._refuse_pdb  # pdb.set_trace() calls it; pytest's own wrapper is off (-p no:debugging)
        pdb.Pdb.interaction = self._refuse_pdb  # pdb.run(), pdb.post_mortem(), ...: the prompt itself
        builtins.input = self._refuse_input
        from _pytest.capture import DontReadFromInput  # sys.stdin during a test: reading it is input() too

        DontReadFromInput.read = DontReadFromInput.readline = DontReadFromInput.readlines = self._refuse_stdin
        os.kill = self._guarded(os.kill, group=False)
        if hasattr(os, "killpg"):  # not on Windows
            os.killpg = self._guarded(os.killpg, group=True)
        if hasattr(signal, "setitimer"):
            signal.signal = self._timer_kept(signal.signal, "signal.signal",
                                             lambda signum, *_: signum == signal.SIGALRM)
            signal.setitimer = self._timer_kept(signal.setitimer, "signal.setitimer",
                                                lambda which, *_: which == signal.ITIMER_REAL)
            signal.alarm = self._timer_kept(signal.alarm, "signal.alarm", lambda *_: True)
        register, start = atexit.register, threading.Thread.start

        def remembered_register(function, *args, **kwargs):
            location = registering_location(sys._getframe(1), self.root)
            if location:
                self.exit_handlers.append(location)
            return register(function, *args, **kwargs)

        def remembered_start(thread):
            thread.kit_started_at = calling_location(self.root)
            return start(thread)

        atexit.register, threading.Thread.start = remembered_register, remembered_start

    def _refuse_breakpoint(self, *args, **kwargs):
        raise BreakpointCalled(calling_location(self.root))

    def _refuse_pdb(self, *args, **kwargs):
        raise PdbCalled(debugger_call(sys._getframe(1), self.root))

    def _refuse_stdin(self, *args, **kwargs):
        raise StdinRead(calling_location(self.root))

    def _refuse_input(self, *args, **kwargs):
        raise InputCalled(calling_location(self.root))

    def _guarded(self, send, group: bool):
        """os.kill/os.killpg that refuse to signal the check's own process (or every process: pid -1)."""
        def guarded_send(pid, signum):
            if self._reaches_the_check(pid, group):
                target = "every process" if pid == -1 else f"process {'group ' if group or pid < 0 else ''}{abs(pid)}"
                raise PermissionError(f"your code sent {_signal_name(signum)} to {target}, which includes the check's "
                                      "own process; the check does not let it")
            if self.dump_file is not None and (pid in (0, os.getpid()) if not group else pid in (0, os.getpgrp())):
                faulthandler.dump_traceback(self.dump_file, all_threads=False)  # it may not live to say where
            return send(pid, signum)
        return guarded_send

    def _timer_kept(self, function, name: str, touches_the_timer):
        """``function`` (signal.signal, setitimer, alarm), refused to the participant's code when it would change
        SIGALRM or the real-time timer: the watchdog's, without which an endless loop costs the backstop's time."""
        def kept(*args):
            if touches_the_timer(*args) and calling_location(self.root):
                raise PermissionError(f"your code called {name} for SIGALRM or the real-time timer, which the check "
                                      "uses to stop a test that runs too long; the check does not let it")
            return function(*args)
        return kept

    def _reaches_the_check(self, pid: int, group: bool) -> bool:
        try:
            parent_group = os.getpgid(self.parent)
        except (OSError, AttributeError):  # gone, or Windows
            parent_group = None
        if group:
            return pid == parent_group
        return pid in (self.parent, -1) or (pid < -1 and -pid == parent_group)

    def lingering(self) -> list[list[str]]:
        """The participant's threads still running (that would keep Python from exiting), and its exit handlers."""
        threads = [["thread", getattr(thread, "kit_started_at", "")] for thread in threading.enumerate()
                   if thread is not threading.main_thread() and thread.is_alive() and not thread.daemon]
        return [item for item in threads if item[1]] + [["exit handler", where] for where in self.exit_handlers]


class _Discard(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return len(data)


class ScreenStream(io.TextIOWrapper):
    """sys.stdout or sys.stderr while the participant's code runs: what is written goes nowhere (the check
    hides it anyway) and its lines are counted by the participant's line that wrote them (``sys.stdout.write``,
    ``logging``); if the code closes it, where is remembered."""

    def __init__(self, root: Path, printer: PrintCounter):
        super().__init__(io.BufferedWriter(_Discard()), encoding="utf-8", errors="backslashreplace",
                         write_through=True)
        self.root, self.printer, self.closed_at = root, printer, ""

    def write(self, text) -> int:
        written = super().write(text)
        if "\n" in text:
            location = calling_location(self.root)
            if location:
                self.printer.written[location] += text.count("\n")
        return written

    def close(self) -> None:
        if not self.closed:
            self.closed_at = calling_location(self.root)
        super().close()


class Kept:
    """sys.stdout, sys.stderr and the functions of GUARDED, kept as they were before the participant's code ran.

    ``watching()`` runs the participant's code (an import, a test) with screen streams of its own; after it, it
    puts back whatever that code closed or replaced and raises Tampered: closing sys.stdout would break every
    later test, and a replaced numpy.allclose could pass a wrong answer."""

    def __init__(self, root: Path, printer: PrintCounter):
        self.root, self.printer = root, printer
        self.originals = []  # (module, attribute, its value) before any of the participant's code is imported
        for name in GUARDED:
            module, _, attribute = name.rpartition(".")
            module = importlib.import_module(module)
            self.originals.append((module, attribute, getattr(module, attribute)))

    @contextlib.contextmanager
    def watching(self, folders: tuple[str, ...] = PACKAGES + ("notebooks",)):
        """``folders``: where to look for the line that replaced something."""
        before = sys.stdout, sys.stderr
        screens = ScreenStream(self.root, self.printer), ScreenStream(self.root, self.printer)
        sys.stdout, sys.stderr = screens
        watched = [(sys, "stdout", screens[0], before[0]), (sys, "stderr", screens[1], before[1])] + [
            (module, name, value, value) for module, name, value in self.originals]  # (..., expected, put back)
        try:
            yield
        finally:
            closed = [(f"closed sys.{name}", screen.closed_at)
                      for name, screen in zip(("stdout", "stderr"), screens) if screen.closed]
            replaced = []
            for module, name, expected, kept in watched:
                if getattr(module, name, None) is not expected:
                    replaced.append((module.__name__, name))
                setattr(module, name, kept)
            if closed or replaced:  # instead of what the code raised (this may well be its cause)
                # the lines are looked for once all is put back: the time limit may strike meanwhile
                raise Tampered(closed + [(f"replaced {module}.{name}", assignment_in(self.root, name, folders))
                                         for module, name in replaced])


def assignment_in(root: Path, attribute: str, folders: tuple[str, ...]) -> str:
    """The first line of the participant's files in ``folders`` that assigns ``attribute`` (``.stdout =``) or
    names it in quotes (``setattr(np, "allclose", ...)``): 'nn/functions.py:12', 'notebooks/train.ipynb cell 3:2',
    or '' when none does."""
    pattern = re.compile(rf"\.{attribute}\s*=(?!=)|['\"]{attribute}['\"]")
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")) + sorted((root / folder).glob("*.ipynb")):
            for file, lines in _sources(path, root):
                for number, line in enumerate(lines, start=1):
                    if pattern.search(line.split("#")[0]):
                        return f"{file}:{number}"
    return ""


def _sources(path: Path, root: Path) -> list[tuple[str, list[str]]]:
    """A participant file's lines, with its name as a location gives it; a notebook's code cells one by one."""
    file, text = path.relative_to(root).as_posix(), path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".ipynb":
        return [(file, text.splitlines())]
    try:
        cells = [cell for cell in json.loads(text)["cells"] if cell["cell_type"] == "code"]
        return [(f"{file} cell {number}", "".join(cell["source"]).splitlines())
                for number, cell in enumerate(cells, start=1)]
    except (ValueError, KeyError, TypeError):  # not a notebook: the tests say so
        return []


class BrokenPackages:
    """A meta path finder: importing a package that failed once raises NotChecked at once, without
    running its code again (which may loop, exit or print)."""

    def __init__(self):
        self.errors: dict[str, FileError] = {}

    def find_spec(self, fullname, path=None, target=None):
        error = self.errors.get(fullname.split(".")[0])
        if error is not None:
            raise NotChecked(f"{fullname} could not be imported: {error.exception} in {error.file}"
                             + (f" line {error.line}" if error.line else ""), fullname.split(".")[0])
        return None


MISSING_NAME = re.compile(r"cannot import name '([^']+)'")


def file_error_of(error: BaseException, root: Path, package: str = "") -> FileError:
    """Where a package failed to import: the offending line of a SyntaxError, else the innermost
    line of the participant's code in the traceback, else the package's folder ('act/')."""
    if isinstance(error, SyntaxError) and error.filename:
        location = participant_location(error.filename, error.lineno or 0, root) or f"{error.filename}:0"
        file = location.rsplit(":", 1)[0]
        return FileError(file, error.lineno or 0, (error.text or "").rstrip("\n"), type(error).__name__,
                         error.msg or "")
    frames = participant_frames(error, root)
    missing = MISSING_NAME.match(str(error)) if isinstance(error, ImportError) and error.path else None
    defining = participant_location(error.path, 0, root) if missing else None
    if defining:  # 'from .functions import leaky_relu' in act/__init__.py, and act/functions.py lost leaky_relu
        importer = f", which {frames[-1].rsplit(':', 1)[0]} imports from it" if frames else ""
        file = defining.rsplit(":", 1)[0]
        return FileError(file, 0, "", "MissingName", f"{file} does not define {missing.group(1)}{importer}")
    file, line = frames[-1].rsplit(":", 1) if frames else (package and package + "/", "0")
    text = ""
    if file and int(line):
        lines = (root / file).read_text(encoding="utf-8", errors="replace").splitlines()
        text = lines[int(line) - 1] if int(line) <= len(lines) else ""
    return FileError(file, int(line), text, type(error).__name__, message_of(error))


def notebook_file_error(error: BaseException, root: Path) -> FileError | None:
    """The FileError of a notebook that is not one (``InvalidNotebook`` of tools/notebook_functions.py, known by
    its name: the tests load that module under a name of their own) or of a cell that does not parse; else None."""
    if type(error).__name__ == "InvalidNotebook":
        return FileError(error.file, 0, "", "InvalidNotebook", error.reason)
    if isinstance(error, SyntaxError) and participant_location(error.filename or "", 0, root):
        return file_error_of(error, root)
    return None


def cache_bytecode_by_content(root: Path) -> None:
    """Python's cached bytecode (__pycache__) is taken as current while the source's size and mtime, in
    whole seconds, match: a one-character fix saved within a second of the last check would be run as the
    old code. Checked-hash caches compare the source's hash at every import instead (and stay so when
    Python rewrites them), so the tests always see the code as it is."""
    for name in PACKAGES:
        compileall.compile_dir(root / name, quiet=2, force=True,
                               invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)


def import_packages(root: Path, watchdog: Watchdog, kept: Kept) -> list[FileError]:
    """Import nn, act and loss once; the error of each that fails (act fails when nn does: nn's error)."""
    broken = BrokenPackages()
    sys.meta_path.insert(0, broken)
    for name in PACKAGES:
        watchdog.start()
        try:
            with kept.watching(folders=(name,)):
                importlib.import_module(name)
        except NotChecked as error:  # it imports a package that failed before it
            broken.errors[name] = broken.errors[error.package]
        except BaseException as error:  # SyntaxError, SystemExit, DidNotFinish, KeyboardInterrupt (no Ctrl-C
            # reaches the child: it runs in a session of its own) ...
            broken.errors[name] = file_error_of(error, root, name)
        finally:
            watchdog.stop()
        if name in broken.errors:
            for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[module]
    return list(dict.fromkeys(broken.errors.values()))


def markers_in(test_file: Path) -> tuple[str, ...]:
    """The task ids a test file's markers name (for a file that could not be collected)."""
    try:
        text = test_file.read_text(encoding="utf-8")
    except OSError:
        return ()
    return tuple(sorted({m.removeprefix("task").replace("_", ".") for m in MARKER_IN_SOURCE.findall(text)}))


class Recorder:
    """pytest plugin: appends an event per test (and per collection error) to the events file."""

    def __init__(self, events, watchdog: Watchdog, root: Path, skip: set[str], kept: Kept):
        self.events, self.watchdog, self.root, self.skip, self.kept = events, watchdog, root, skip, kept
        self.tests: dict[str, dict] = {}
        self.file_errors: list[FileError] = []
        self.skipped_by_code: dict[str, BaseException] = {}  # nodeid -> the skip the participant's code raised

    def emit(self, **event) -> None:
        self.events.write(json.dumps(event) + "\n")
        self.events.flush()

    def pytest_collection_modifyitems(self, config, items):
        skipped = [item for item in items if item.nodeid in self.skip]
        if skipped:
            items[:] = [item for item in items if item.nodeid not in self.skip]
            config.hook.pytest_deselected(items=skipped)

    def pytest_collectreport(self, report):
        if report.failed:
            file = report.nodeid.split("::")[0]
            self.emit(event="collection_error", file=file, text=str(report.longrepr),
                      tasks=markers_in(self.root / file))

    def pytest_collection_finish(self, session):
        """Every test this child will run, with its tasks: a test that never gets its turn is known."""
        self.emit(event="collected", tests={item.nodeid: tasks_of(item) for item in session.items})

    @hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self.emit(event="start", nodeid=item.nodeid, tasks=tasks_of(item))
        self.tests[item.nodeid] = {"nodeid": item.nodeid, "outcome": "passed", "tasks": tasks_of(item)}
        outcome = yield
        entry = self.tests.pop(item.nodeid)
        if outcome.excinfo is not None and entry["outcome"] != "failed":  # pytest stops the session: not passed
            error = outcome.excinfo[1]
            entry.update(outcome="failed", exception=type(error).__name__, message=message_of(error),
                         frames=participant_frames(error, self.root))
        self.emit(event="test", **entry)

    @hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        entry = self.tests[item.nodeid]
        if entry["outcome"] == "failed" or report.passed:
            return
        if report.skipped:
            skip = self.skipped_by_code.pop(item.nodeid, None)
            if skip is not None:  # the participant's code skipped the test (pytest.skip, unittest.SkipTest): not a pass
                entry.update(outcome="failed", exception="SkipCalled", message=message_of(skip),
                             frames=participant_frames(skip, self.root))
            elif entry["outcome"] == "passed":
                entry.update(outcome="skipped", message=message_of(call.excinfo.value) if call.excinfo else "")
            return
        if call.excinfo is None:  # e.g. an unexpected pass of a strict xfail
            entry.update(outcome="failed", exception="Failed", message=message_of(report.longrepr))
            return
        error = _first_leaf(call.excinfo.value)
        file_error = notebook_file_error(error, self.root)
        if file_error is not None:  # reported once; the tests that need the notebook are not checked
            if file_error not in self.file_errors:
                self.file_errors.append(file_error)
                self.emit(event="file_error", **file_error.__dict__)
            entry.update(outcome="failed", exception="NotChecked", message=message_of(error))
            return
        message = message_of(error)
        too_slow = item.get_closest_marker("when_too_slow")
        if isinstance(error, DidNotFinish) and too_slow:  # a test of speed: say why a correct answer took so long
            message = f"{message}\n{too_slow.args[0]}"
        entry.update(outcome="failed", exception=exception_name(error), message=message,
                     frames=participant_frames(error, self.root))

    @hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        item.runtest = functools.partial(_run_watched, item.runtest, self.kept)
        self.watchdog.start(self.events)
        try:
            outcome = yield
        finally:
            self.watchdog.stop()
        error = outcome.excinfo[1] if outcome.excinfo else None
        # Seen here, before pytest turns a unittest.SkipTest into a skip of its own (losing where it came from)
        if isinstance(error, (unittest.SkipTest, sys.modules["pytest"].skip.Exception)) and \
                participant_frames(error, self.root):
            self.skipped_by_code[item.nodeid] = error


def tasks_of(item) -> list[str]:
    """The task ids of a test's markers: ['3.2']."""
    matches = (TASK_MARKER.fullmatch(mark.name) for mark in item.iter_markers())
    return [match.group(1).replace("_", ".") for match in matches if match]


def _run_watched(runtest, kept: Kept) -> None:
    """Run a test, watched by ``kept``; a KeyboardInterrupt from it (which would stop pytest) fails it instead.
    No Ctrl-C reaches the child (a session of its own), so the participant's code raised it."""
    with kept.watching():
        try:
            runtest()
        except KeyboardInterrupt as error:
            raise Interrupted("KeyboardInterrupt") from error


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


def implementation_root(root: Path) -> Path:
    """Where the tests import nn, act and loss from (see tests/conftest.py)."""
    return root / "solutions" if os.environ.get("KIT_IMPL") == "solutions" else root


def main(argv: list[str]) -> int:
    """The child: guards, the imports, then pytest. Its own output goes to its stdout, never the events."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    events_path, arguments = Path(argv[0]), argv[1:]
    timeout, skip, looping = float(DEFAULT_TIMEOUT), set(), set()
    while arguments[:1] in (["--timeout"], ["--skip"], ["--looping"]):
        if arguments[0] == "--timeout":
            timeout = float(arguments[1])
        elif arguments[0] == "--skip":
            skip = set(Path(arguments[1]).read_text(encoding="utf-8").splitlines())
        else:
            looping = {tuple(key) for key in json.loads(Path(arguments[1]).read_text(encoding="utf-8"))}
        arguments = arguments[2:]
    root = Path.cwd().resolve()
    impl_root = implementation_root(root)
    sys.path.insert(0, str(impl_root))
    limit_file_size()
    cache_bytecode_by_content(impl_root)
    printer = builtins.print = PrintCounter(impl_root)
    kept = Kept(impl_root, printer)
    guards = Guards(impl_root)
    guards.install()
    with events_path.open("a", encoding="utf-8") as events:
        faulthandler.enable(events)  # a crash: where it happened, in the events (the parent reads it)
        guards.dump_file = events
        watchdog = Watchdog(timeout, impl_root)
        watchdog.looping |= looping
        if not skip:  # a restarted child already reported the imports
            for error in import_packages(impl_root, watchdog, kept):
                events.write(json.dumps({"event": "file_error", **error.__dict__}) + "\n")
        else:
            import_packages(impl_root, watchdog, kept)
        events.flush()
        import pytest

        exit_code = pytest.main(arguments, plugins=[Recorder(events, watchdog, impl_root, skip, kept)])
        events.write(json.dumps({"event": "end", "exit_code": int(exit_code), "prints": printer.by_location(),
                                 "lingering": guards.lingering()}) + "\n")
    return int(exit_code)


def end_child(exit_code: int) -> None:
    """End the child at once: the participant's threads and exit handlers, which may never end, do not run."""
    faulthandler.disable()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    _exit_now(exit_code)


# --- the parent --------------------------------------------------------------------------------
def read_events(path: Path) -> list[dict]:
    """The child's events; a line that is not one (the faulthandler's dump, a line cut off by a kill)
    comes as {'event': 'text', 'text': line}."""
    events = []
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                events.append({"event": "text", "text": line})
    return events


def wait_for_child(process: subprocess.Popen, events_path: Path, deadline: float) -> bool:
    """Wait until the child exits or the deadline passes (then TimeoutExpired); True when it was still
    running GRACE_AFTER_END seconds after writing its 'end' event (something of the participant's kept it)."""
    ended_at = None
    while True:
        try:
            process.wait(timeout=min(POLL, max(deadline - time.monotonic(), 0.01)))
            return False
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise
        if ended_at is None and b'"event": "end"' in events_path.read_bytes():
            ended_at = time.monotonic()
        if ended_at is not None and time.monotonic() - ended_at >= GRACE_AFTER_END:
            return True


def _signal(pid: int, signum: int, group: bool = False) -> None:
    try:
        (os.killpg if group else os.kill)(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def processes_of_the_run(marker: str | None, children_before: frozenset[int] = frozenset()) -> set[int]:
    """The processes a run started (Linux: /proc; elsewhere none): those whose environment holds
    ``RUN_MARKER=marker``, also in a session of their own or orphaned, and those this process adopted
    (``adopting_orphans``): children of ours that were not ours before the run, whatever their environment."""
    wanted, me, found = f"{RUN_MARKER}={marker}".encode(), os.getpid(), set()
    try:
        entries = [int(entry.name) for entry in os.scandir("/proc") if entry.name.isdigit()]
    except OSError:
        return found
    for pid in entries:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
            if parent == me and pid not in children_before:
                found.add(pid)
            elif marker is not None:
                with open(f"/proc/{pid}/environ", "rb") as environ:
                    if wanted in environ.read().split(b"\0"):
                        found.add(pid)
        except (OSError, IndexError, ValueError):  # ended meanwhile, or another user's
            continue
    return found


#: prctl's option that makes a process adopt its orphaned descendants (<linux/prctl.h>).
PR_SET_CHILD_SUBREAPER = 36


@contextlib.contextmanager
def adopting_orphans():
    """While the block runs, the descendants of this process whose parent ends become its children instead
    of init's (Linux; elsewhere nothing changes), so that ``processes_of_the_run`` finds what the participant's
    code started with a cleared environment. Yields the children this process had before."""
    children_before = frozenset(processes_of_the_run(None))
    prctl = None
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            prctl = ctypes.CDLL(None, use_errno=True).prctl
    if prctl is not None:
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield children_before
    finally:
        if prctl is not None:
            prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def kill_child(process: subprocess.Popen, marker: str | None = None,
               children_before: frozenset[int] = frozenset()) -> None:
    """End the child and everything it started, then reap it: its process group, and (with ``marker``)
    every process of the run, round by round (stopped first, so that none can start another meanwhile;
    a killed process's children are adopted and found in the next round)."""
    blocked = {signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)} - {None}
    if hasattr(signal, "pthread_sigmask"):  # a Ctrl-C now would leave the child running: it comes after
        signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        if hasattr(os, "killpg"):
            _signal(process.pid, signal.SIGKILL, group=True)
        else:  # Windows: no process groups, no SIGALRM either (a loop there ends only with the budget)
            process.kill()
        try:
            process.wait(timeout=10)  # a process stuck in the kernel (a dead network drive) may not end at once
        except subprocess.TimeoutExpired:
            pass
        if marker is not None:
            end_processes_of_the_run(marker, children_before | {process.pid})
    finally:
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)


def end_processes_of_the_run(marker: str, not_ours: frozenset[int]) -> None:
    ended: set[int] = set()
    for _ in range(100):
        stopped: set[int] = set()
        for _ in range(100):
            new = processes_of_the_run(marker, not_ours) - ended - stopped
            if not new:
                break
            for pid in new:
                _signal(pid, signal.SIGSTOP)
            stopped |= new
        if not stopped:
            return
        for pid in stopped:
            _signal(pid, signal.SIGKILL)
        reap(stopped)
        ended |= stopped


def reap(pids: set[int], seconds: float = 2.0) -> None:
    """Collect the exit status of those of ``pids`` that are our children (the adopted ones), so that none
    stays a zombie in a long-lived process (make watch); the others are not ours to reap."""
    waiting, deadline = set(pids), time.monotonic() + seconds
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    waiting.discard(pid)
            except ChildProcessError:  # not our child, or reaped already
                waiting.discard(pid)
        if waiting:
            time.sleep(0.01)


def interrupt_on_termination() -> None:
    """SIGTERM and SIGHUP (a closed terminal, ``timeout``) stop make check as Ctrl-C does: a KeyboardInterrupt,
    so that the test process is ended and the temporary folder removed on the way out."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), interrupt)


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


#: Modules the task tests import besides the standard library's: a file of the same name must not hide them.
IMPORTED_PACKAGES = frozenset({"numpy", "pytest", "hypothesis", "_pytest", "pluggy", "IPython"})


def restore_advice(root: Path, file: str, whole=str) -> str:
    """How to get a lost or damaged file of the kit back, the ways that keep most of the participant's work
    first: JupyterLab's last checkpoint of the file if there is one, a saved copy; then the kit's own version
    (git in a git checkout, with a copy of the damaged file kept first; the kit as handed out otherwise).
    ``whole`` marks a command that wrapping must not cut (check.py passes hints.unbroken)."""
    path = PurePosixPath(file)
    checkpoint = path.parent / ".ipynb_checkpoints" / f"{path.stem}-checkpoint{path.suffix}"
    first = (f"copy JupyterLab's last checkpoint, {checkpoint}, back to {file}; or "
             if (root / checkpoint).is_file() else "")
    if (root / ".git").exists():
        keep = f"keep a copy first ({whole(f'cp {file} {file}.broken')}), then " if (root / file).is_file() else ""
        return (f"{first}your last saved copy; or, without your work in it, the kit's own version: {keep}"
                f"{whole(f'git checkout HEAD -- {file}')}")  # HEAD: a damaged file that was staged comes back as committed
    if first:
        return f"{first}your last saved copy"
    return f"your last saved copy, or {file} of a fresh copy of the kit as it was handed out"


def missing_package_files(root: Path) -> list[str]:
    """The participant's Python files (nn/, act/, loss/, as .sync-manifest.json lists them) that are not
    there as files: without them even the packages cannot be imported."""
    try:
        listed = json.loads((root / ".sync-manifest.json").read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # no manifest to go by: the import errors speak for themselves
    return [file for file in listed if file.split("/")[0] in PACKAGES and file.endswith(".py")
            and not (root / file).is_file()]


def shadowing_files(root: Path) -> list[str]:
    """Files in the folders the tests import from (the kit's own, tools/, tests/) named like a module they need
    (queue.py, numpy.py): Python would import the file instead, and the tests could not even start."""
    needed = set(sys.stdlib_module_names) | IMPORTED_PACKAGES
    found = []
    for folder in (root, root / "tools", root / "tests"):
        for path in sorted(folder.iterdir()) if folder.is_dir() else ():
            is_module = path.suffix == ".py" or (path / "__init__.py").is_file()
            if is_module and path.stem in needed:
                found.append(path.relative_to(root).as_posix())
    return found


def run_task_tests(root: Path, task_ids: list[str] | None = None, impl: str = "participant",
                   timeout: float = DEFAULT_TIMEOUT, budget: float = DEFAULT_BUDGET) -> Report:
    """Run the task tests of ``root`` (all, or those of ``task_ids``) against ``impl`` in new processes.

    PYTHONPATH is dropped so only ``KIT_IMPL`` decides which nn/act/loss the tests see.
    Ends within ``budget`` seconds (plus the time to kill): tests that did not run by
    then are absent from ``tests`` (but in ``collected``), and ``timed_out`` is set.
    A test whose process died fails (``ProcessEnded``) and a new child runs the rest,
    at most MAX_CHILDREN of them; when the run stops before every test ran, ``stopped`` says why.
    """
    missing = missing_package_files(root)
    if missing:  # not even the packages can be imported: no test can run
        return Report([], [FileError(file, 0, "", "MissingFile", f"{file} is missing (deleted, moved or renamed?), "
                                     "and the tests import it") for file in missing], [], stopped=f"{missing[0]} is missing")
    shadows = shadowing_files(root)
    if shadows:
        raise TaskRunError("\n".join(f"{file} has the name of a module that Python or the tests import "
                                     f"({Path(file).stem}), so it hides that module: rename it (e.g. my_{Path(file).name})"
                                     for file in shadows))
    markers = " or ".join("task" + task_id.replace(".", "_") for task_id in task_ids) if task_ids else "task"
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env["KIT_IMPL"] = impl
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env[RUN_MARKER] = marker = uuid.uuid4().hex
    files = task_test_files(root, task_ids)
    if task_ids and not files:  # no test file marks these tasks (one deleted or moved): nothing to run
        return Report([], [], [])
    generated = any("hypothesis" in (root / file).read_text(encoding="utf-8", errors="replace") for file in files)
    plugins = ["-p", "_hypothesis_pytestplugin", "--hypothesis-profile=check"] \
        if generated and importlib.util.find_spec("_hypothesis_pytestplugin") else []
    impl_root = (root / "solutions" if impl == "solutions" else root).resolve()
    deadline = time.monotonic() + budget
    tests: dict[str, Outcome] = {}
    looping: set[tuple[str, int]] = set()  # functions that caught the watchdog's stop and looped on
    report = Report([], [], [])
    with tempfile.TemporaryDirectory() as scratch, adopting_orphans() as children_before:
        events_path, skip_path, looping_path, output_path = (Path(scratch) / name
                                                              for name in ("events", "skip", "looping", "output"))
        env["TMPDIR"] = str(Path(scratch) / "tmp")  # what a killed child cannot clean up goes with the folder
        Path(env["TMPDIR"]).mkdir()
        env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(Path(scratch) / "hypothesis")  # not .hypothesis/ in the kit
        for attempt in range(MAX_CHILDREN):
            command = [sys.executable, str(root / "tools" / "taskreport.py"), str(events_path),
                       "--timeout", str(timeout)]
            if attempt:
                skip_path.write_text("\n".join(tests), encoding="utf-8")
                looping_path.write_text(json.dumps(sorted(looping)), encoding="utf-8")
                command += ["--skip", str(skip_path), "--looping", str(looping_path)]
            command += ["-m", markers, *(files or ["tests"]), *plugins, "-q", "--tb=no", "-rN", "--no-header",
                        "-p", "no:cacheprovider", "-p", "no:faulthandler", "-p", "no:logging",  # logging: to stderr
                        "-p", "no:debugging",  # it wraps pdb.set_trace in code that replaces sys.stdout
                        "--continue-on-collection-errors"]
            events_path.write_text("", encoding="utf-8")
            with output_path.open("wb") as output:
                process = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                           stderr=subprocess.STDOUT, start_new_session=True)
                try:
                    if wait_for_child(process, events_path, deadline):
                        report.lingering.append(("process", ""))
                except subprocess.TimeoutExpired:
                    report.timed_out = True
                finally:
                    kill_child(process, marker, children_before)
            report.output = output_path.read_bytes()[-20000:].decode("utf-8", errors="replace")
            finished = len(tests)
            child = collect_events(read_events(events_path), tests, report)
            looping.update(child.looping)
            if report.timed_out or child.finished:
                break
            if child.running is not None:  # the process died in this test
                nodeid, tasks = child.running
                tests[nodeid] = ended_outcome(nodeid, tasks, child.dumped, process.returncode, timeout, impl_root)
            elif len(tests) == finished:  # it ended (or pytest stopped) with no test finished: trying again won't help
                crash = import_crash(child.dumped, process.returncode, impl_root) if not report.collected else None
                if crash is not None:  # the participant's code crashed the process while it was being imported
                    report.file_errors.append(crash)
                    report.stopped = "the test process crashed while importing your code"
                    break
                if not tests and not report.collected:
                    raise TaskRunError(f"the tests could not run (exit code {process.returncode}):\n{report.output}")
                report.stopped = ("the test process ended between two tests" if child.exit_code is None else
                                  "pytest stopped before the end"
                                  + (" (an internal error)" if child.exit_code == 3 else ""))
                break
            if time.monotonic() >= deadline:
                report.timed_out = True
                break
        else:
            report.stopped = f"the test process crashed {MAX_CHILDREN} times"
    report.tests = [outcome for outcome in tests.values()]
    return report


@dataclass
class ChildRun:
    """What one child's events say about how it ended."""

    running: tuple[str, tuple[str, ...]] | None = None  # (nodeid, tasks) of a test it started and did not finish
    exit_code: int | None = None  # pytest's, when the child got to its end
    dumped: list[str] = field(default_factory=list)  # lines after the last test started that are not events
    looping: list[tuple[str, int]] = field(default_factory=list)  # see Watchdog._end_as_caught

    @property
    def aborted(self) -> bool:
        return self.exit_code in ABORTED

    @property
    def finished(self) -> bool:
        return self.exit_code is not None and not self.aborted


def collect_events(events: list[dict], tests: dict[str, Outcome], report: Report) -> ChildRun:
    """Add one child's events to ``tests``/``report``; how the child ended."""
    child = ChildRun()
    for event in events:
        kind = event.pop("event")
        if kind == "start":
            child.running, child.dumped = (event["nodeid"], tuple(event.get("tasks", ()))), []
        elif kind == "text":
            child.dumped.append(event["text"])
        elif kind == "looping":
            child.looping.append(tuple(event["code"]))
        elif kind == "test":
            tests[event["nodeid"]] = Outcome(event["nodeid"], tuple(event["tasks"]), event["outcome"],
                                             event.get("exception", ""), event.get("message", ""),
                                             tuple(event.get("frames", ())))
            child.running = None
        elif kind == "collected":
            for nodeid, tasks in event["tests"].items():
                report.collected.setdefault(nodeid, tuple(tasks))
        elif kind == "file_error" and FileError(**event) not in report.file_errors:
            report.file_errors.append(FileError(**event))
        elif kind == "collection_error" and event["file"] not in [e[0] for e in report.collection_errors]:
            report.collection_errors.append((event["file"], event["text"], tuple(event["tasks"])))
        elif kind == "end":
            child.exit_code = event["exit_code"]
            for location, count in event["prints"].items():
                report.prints[location] = report.prints.get(location, 0) + count
            report.lingering.extend(tuple(item) for item in event.get("lingering", ())
                                    if tuple(item) not in report.lingering)
    return child


FATAL_ERROR = re.compile(r"Fatal Python error: (.+)")
DUMPED_FRAME = re.compile(r'\s*File "(.+)", line (\d+) in ')


def ended_outcome(nodeid: str, tasks: tuple[str, ...], dumped: list[str], returncode: int | None,
                  timeout: float, impl_root: Path) -> Outcome:
    """A test during which the process died: why, as far as the faulthandler's dump or the exit code tell,
    and the participant's lines the dump shows (``impl_root``: where the tests imported nn from)."""
    return Outcome(nodeid, tasks, "failed", "ProcessEnded",
                   f"the test process ended during this test: {why_it_ended(dumped, returncode, timeout)}",
                   tuple(dumped_frames(dumped, impl_root)))


def import_crash(dumped: list[str], returncode: int | None, impl_root: Path) -> FileError | None:
    """The FileError of a process that died importing the participant's code, at the innermost line of it
    the faulthandler's dump shows; None when the dump shows none."""
    frames = dumped_frames(dumped, impl_root)
    if not frames:
        return None
    file, line = frames[-1].rsplit(":", 1)
    lines = (impl_root / file).read_text(encoding="utf-8", errors="replace").splitlines()
    text = lines[int(line) - 1] if 0 < int(line) <= len(lines) else ""
    return FileError(file, int(line), text, "ProcessEnded",
                     f"the test process ended while importing it: {why_it_ended(dumped, returncode, 0)}")


def why_it_ended(dumped: list[str], returncode: int | None, timeout: float) -> str:
    """Why a child died, from the faulthandler's dump (a crash, the backstop) or its exit status."""
    fatal = next((match.group(1) for match in map(FATAL_ERROR.match, dumped) if match), None)
    if fatal:
        cause = f"it crashed ({fatal}), as compiled code (ctypes, a C extension) does when given a bad pointer"
    elif STOP_CAUGHT in dumped:
        cause = (f"it did not finish in {timeout:g} s, and your code caught the check's stop and went on: a bare "
                 "`except:` (or `except BaseException:`) catches it too; catch `Exception`, or the error you expect")
    elif any(line.startswith("Timeout (") for line in dumped):
        cause = (f"it did not finish in {timeout:g} s and could not be stopped: stuck in compiled code, "
                 "or your code changed the signal handling the check uses")
    elif returncode is not None and returncode < 0:
        cause = f"it was killed ({_signal_name(-returncode)}): by your code, or by the system when memory ran out"
    else:
        cause = f"it exited with code {returncode}"
    return cause


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def dumped_frames(dumped: list[str], root: Path) -> list[str]:
    """The participant's lines in a faulthandler dump, outermost first: those of the thread that crashed
    ('Current thread'), else of the oldest thread that has any (listed last: the main thread, which runs
    the tests)."""
    blocks: list[tuple[bool, list[str]]] = []  # (the current thread?, its participant lines, innermost first)
    for line in dumped:
        frame = DUMPED_FRAME.match(line)
        if not frame:
            if "thread" in line.lower():
                blocks.append((line.startswith("Current thread"), []))
            continue
        if not blocks:
            blocks.append((False, []))
        location = participant_location(frame.group(1), int(frame.group(2)), root)
        if location and location not in blocks[-1][1]:
            blocks[-1][1].append(location)
    with_lines = [block for block in blocks if block[1]]
    chosen = next((lines for current, lines in with_lines if current), with_lines[-1][1] if with_lines else [])
    return list(reversed(chosen))


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except BaseException:  # noqa: BLE001 (e.g. the participant's code closed the events file): still end at once
        traceback.print_exc()
        status = 1
    end_child(status)

"""Your progress: run the task tests against your code and show, task by task, what works.

    python tools/check.py            every task            (= make check)
    python tools/check.py 3.2 3.3    only these tasks      (= make check TASKS="3.2 3.3")

The task tests run against the top level (nn/, act/, loss/, notebooks/: what you
wrote). Statuses: done (all its tests pass), not started (its tests stop at the
task's own NotImplementedError), in progress (some pass, the rest stop there; or
you changed one of its functions, and the raise line is still there),
wrong (a test fails for another reason: read the message), waiting for task X
(its tests stop in an earlier task's code), not checked (a file has an error that
stops the tests from loading, or the check ran out of time or stopped before all its
tests ran). Exits 0 whenever it could run (130 when stopped: Ctrl-C, SIGTERM, SIGHUP).

``report(root, tasks)`` gives the statuses (a ``Progress``), ``render`` the text:
other tools (a watch mode) reuse both.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import sys
import textwrap
import tokenize
from dataclasses import dataclass, replace
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))
import commands  # noqa: E402  (tools/commands.py)
import fingerprints  # noqa: E402  (tools/fingerprints.py)
import hints  # noqa: E402  (tools/hints.py)
import notebook_functions  # noqa: E402  (tools/notebook_functions.py)
import sync  # noqa: E402  (tools/sync.py)
import tasks as catalogue  # noqa: E402  (tools/tasks.py)
try:
    import taskreport  # noqa: E402  (tools/taskreport.py; it needs pytest)
except ModuleNotFoundError as missing:  # a hub or Colab without the kit's test packages
    sys.exit(f"{Path(sys.argv[0]).name}: the check runs the task tests with pytest, and the package {missing.name} "
             f"(part of pytest) is not installed in this Python ({sys.executable}): pip install pytest hypothesis "
             f"(in a notebook: %pip install pytest hypothesis), or use make check, which installs them")

ROOT = Path(__file__).resolve().parent.parent
TASK_PREFIX = re.compile(r"Task (\d+(?:\.\d+)*):")
#: The report is written in the terminal's width (hints.width()). A message (its lines are indented by 4)
#: that still has more lines than this (an exception may carry a whole array) loses lines from its middle,
#: never its end, where a message says what is expected.
MAX_MESSAGE_LINES = 30
#: Longer lines of the participant's code, or of pytest's internal errors, are cut.
MAX_LINE_WIDTH = 300
MAX_PLACE_WIDTH, MIN_PLACE_WIDTH = 58, 16  # the table's place column; narrower than the minimum, it is left out
CODE_LINE = re.compile(r"\s+\d+ \| ")  # '    12 | x = …', a line of the participant's code quoted in the report
#: More printed lines than this get a line of their own in the report.
MANY_PRINTS = 1000
COLORS = {"done": "32", "wrong": "31", "in progress": "33", "waiting": "33", "not checked": "33"}
#: What a failure means when its exception alone says it ({message}: the exception's message).
EXPLAINED = {
    "SystemExit": "your code called sys.exit({message}) (or exit()), which ends the whole program; "
                  "a function returns its result instead",
    "ExitCalled": "your code called os._exit({message}), which ends the whole program; "
                  "a function returns its result instead",
    "ProcessEnded": "{message}",
    "DidNotFinish": "{message}",
    "Tampered": "{message}",
    "Interrupted": "your code raised KeyboardInterrupt, which stops the whole program as Ctrl-C does; "
                   "raise an Exception (ValueError, ...) to say that something is wrong",
    "Exit": "your code called pytest.exit({message}), which stops the whole test run",
    "BreakpointCalled": "your code called breakpoint() ({message}); remove it: the check runs without a debugger",
    "PdbCalled": "your code called {message}; remove it: the check runs without a debugger",
    "BdbQuit": "your code started the debugger (pdb); remove that line: the check runs without a debugger",
    "InputCalled": "your code called input() ({message}); remove it: nobody can type an answer during the check "
                   "(give the value as an argument instead)",
    "StdinRead": "your code read sys.stdin ({message}); remove it: nobody can type an answer during the check "
                 "(give the value as an argument instead)",
    "SkipCalled": "your code skipped the test ({message}), so nothing was checked; remove the skip and compute "
                  "the result",
    "UnboundLocalError": "{message}: a name given a value anywhere in a function is a local variable in all "
                         "of it, so on the lines before that it has no value yet, even where a module or a global "
                         "has the same name (such as the module loss): give the variable a name of its own",
    "TooMuchOutput": f"your code wrote more than {taskreport.MAX_FILE_BYTES // 2**20} MB in one test (to "
                     "sys.__stdout__, with os.write or to a file), where the check stops it; print less",
}
PARSE_ERRORS = ("SyntaxError", "IndentationError", "TabError")  # a file that does not parse
NO_TESTS = "no tests found"
#: Escape sequences (colors, cursor moves) and other control characters a message must not send to the terminal.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Status:
    label: str  # 'done', 'not started', 'in progress', 'wrong', 'waiting for task 3.2', 'not checked: ...'
    failure: taskreport.Outcome | None  # the failing check to show for this task
    passed: int
    total: int
    raised_at: str = ""  # 'nn/functions.py:53 (MatMul.forward)': the participant's line, when known

    @property
    def done(self) -> bool:
        return self.label == "done"


@dataclass(frozen=True)
class Progress:
    """The result of a check: every chosen task with its status, and what the run found on the way."""

    rows: list[tuple[catalogue.Task, Status]]
    run: taskreport.Report
    root: Path
    changed_given_code: tuple[str, ...] = ()  # functions the kit gives that the participant changed, when a test fails


# --- where a line of the participant's code belongs ---------------------------------------------
DEFINITION = re.compile(r"(\s*)(?:async\s+)?(?:def|class)\s+(\w+)")
TRIPLE_QUOTE = re.compile(r"\"\"\"|'''")
NOTEBOOK_CELL = re.compile(r"(notebooks/\w+\.ipynb) cell (\d+)$")


def enclosing_names(lines: list[str]) -> list[str]:
    """For each line (index 0 = line 1), the qualified name of the def/class it is in ('' outside).

    By indentation, not by parsing, so that it also works on a file with a syntax error. A tab
    indents to the next multiple of 8, as in Python; the lines inside a triple-quoted string do not count,
    nor (in a file Python can tokenize) the lines that continue a statement, whatever their indentation."""
    names, stack, open_string = [], [], None  # stack: (indent, name) of the open definitions
    continued = _continuation_lines(lines)
    for number, line in enumerate(lines):
        code = line.strip()
        if open_string is None and code and not code.startswith("#") and number not in continued:
            indent = _indent(line)
            while stack and indent <= stack[-1][0]:
                stack.pop()
            match = DEFINITION.match(line)
            if match:
                stack.append((indent, match.group(2)))
        open_string = _triple_quote_open_after(line, open_string)
        names.append(".".join(name for _, name in stack))
    return names


def _continuation_lines(lines: list[str]) -> set[int]:
    """The indexes of the lines that continue a statement begun on an earlier line (inside brackets,
    after a backslash, inside a string). Empty when Python cannot tokenize the lines: then every
    line counts by its indentation."""
    continued, statement_start = set(), None
    try:
        for token in tokenize.generate_tokens(iter(line + "\n" for line in lines).__next__):
            if token.type == tokenize.NEWLINE:
                statement_start = None
            elif token.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                statement_start = token.start[0] if statement_start is None else statement_start
                continued.update(range(max(token.start[0], statement_start + 1) - 1, token.end[0]))
    except (tokenize.TokenError, SyntaxError):
        return set()
    return continued


def _indent(line: str) -> int:
    """The indentation of ``line`` in columns (a tab to the next multiple of 8, as in Python)."""
    spaced = line.expandtabs(8)
    return len(spaced) - len(spaced.lstrip())


def _triple_quote_open_after(line: str, open_quote: str | None) -> str | None:
    """The triple quote (three single or three double quotes) still open at the end of ``line``."""
    for match in TRIPLE_QUOTE.finditer(line):
        if open_quote is None:
            open_quote = match.group()
        elif match.group() == open_quote:
            open_quote = None
    return open_quote


def _lines_of(root: Path, file: str) -> tuple[str, ...]:
    """The lines of a participant file, or of one code cell: 'notebooks/train.ipynb cell 3' (() if unreadable)."""
    cell = NOTEBOOK_CELL.match(file)
    try:
        text = (root / (cell.group(1) if cell else file)).read_text(encoding="utf-8", errors="replace")
        if cell:
            text = notebook_functions.code_cells_of_text(text, cell.group(1))[int(cell.group(2)) - 1]
    except (OSError, ValueError, IndexError, notebook_functions.InvalidNotebook):
        return ()
    return tuple(text.splitlines())


def _names_in(root: Path, file: str) -> tuple[str, ...]:
    """enclosing_names of a participant file, or of one code cell."""
    return _enclosing_names_of(_lines_of(root, file))


@functools.lru_cache(maxsize=256)
def _enclosing_names_of(lines: tuple[str, ...]) -> tuple[str, ...]:
    """enclosing_names, worked out once per text: a report looks up many lines of each file."""
    return tuple(enclosing_names(list(lines)))


def place_of(root: Path, location: str) -> tuple[str, catalogue.Task | None]:
    """The function a location ('nn/functions.py:53') is in, and the task whose place it is (or None)."""
    file, _, line = location.rpartition(":")
    names = _names_in(root, file)
    name = names[int(line) - 1] if line.isdigit() and 0 < int(line) <= len(names) else ""
    return name, task_of(file, name) if name else None


PLACES = {place: task for task in catalogue.TASKS for place in task.places}


def blamed_frame(task: catalogue.Task, failure: taskreport.Outcome, root: Path) -> tuple[str, catalogue.Task | None]:
    """The participant's line to show for a failure: the innermost one in this task's functions, else
    the innermost one in any task's function (and that task); ('', None) when the error was raised
    outside the participant's code (a test's assertion, a check of the framework)."""
    placed = [(location, place_of(root, location)) for location in failure.frames]
    for wanted in (lambda owner: owner is not None and owner.id == task.id, lambda owner: owner is not None):
        for location, (name, owner) in reversed(placed):
            if wanted(owner):
                return f"{taskreport.shown_location(location)} ({name})", owner
    return "", None


class Changes:
    """Which functions of the participant's files are not what make sync wrote, by the fingerprints in
    .sync-manifest.json (none when it has none, or for a file that does not parse). Files are read once."""

    def __init__(self, root: Path):
        self.root, self.recorded, self._now = root, sync.recorded_fingerprints(root), {}

    def changed(self, place: str) -> bool:
        """Whether the function at ``place`` ('nn/functions.py:MatMul.forward') was changed (or deleted)."""
        file, _, name = place.rpartition(":")
        if place not in self.recorded or not file:  # (not file: a key someone wrote into the manifest by hand)
            return False
        if file not in self._now:
            try:  # utf-8-sig: an editor may have saved the file with a byte-order mark, which Python allows
                text = (self.root / file).read_text(encoding="utf-8-sig", errors="replace")
            except OSError:
                text = ""
            self._now[file] = fingerprints.function_fingerprints(file, text)
        return self._now[file] is not None and self._now[file].get(name) != self.recorded[place]

    def given_code(self) -> list[str]:
        """The changed functions of nn/, act/ and loss/ that are no task's: code the kit gives (a function
        nested in a changed one is not named again)."""
        changed = [place for place in self.recorded
                   if not place.startswith("notebooks/") and place not in PLACES and self.changed(place)]
        return [place for place in changed if not any(place.startswith(outer + ".") for outer in changed)]


def function_of(root: Path, location: str) -> str:
    """The place of the function a location is in: 'nn/functions.py:53' -> 'nn/functions.py:MatMul.forward'."""
    file = NOTEBOOK_CELL.sub(r"\1", location.rpartition(":")[0])
    return f"{file}:{place_of(root, location)[0]}"


# --- statuses --------------------------------------------------------------------------------
def _hole_of(result: taskreport.Outcome) -> str | None:
    """The task whose NotImplementedError a test stopped at (or whose wrong result it cannot build on: NeedsTask
    of tests/helpers.py)."""
    match = TASK_PREFIX.match(result.message)
    return match.group(1) if result.exception in ("NotImplementedError", "NeedsTask") and match else None


def status_of(task: catalogue.Task, results: list[taskreport.Outcome], run: taskreport.Report,
              root: Path = ROOT, changes: Changes | None = None) -> Status:
    """The status of one task from its tests' results (see the module docstring); ``changes``: what the
    participant changed (read from ``root`` when not given)."""
    changes = changes or Changes(root)
    ran = [r for r in results if task.id in r.tasks and r.outcome != "skipped"]
    passed = sum(r.outcome == "passed" for r in ran)
    failed = [r for r in ran if r.outcome == "failed"]
    unchecked = [r for r in failed if r.exception == "NotChecked"]
    crashed_importing = run.stopped and run.file_errors and not run.collected  # no test could even be collected
    if unchecked or crashed_importing or any(task.id in tasks for _, _, tasks in run.collection_errors):
        cause = file_error_label(run.file_errors[0]) if run.file_errors else "a test file did not load"
        return Status(f"not checked: {cause}", unchecked[0] if unchecked else None, passed, len(ran))
    seen = {r.nodeid for r in results}
    not_run = [nodeid for nodeid, tasks in run.collected.items() if task.id in tasks and nodeid not in seen]
    stopped = "the check ran out of time" if run.timed_out else run.stopped
    if not failed and (not_run or (stopped and not run.collected)):  # never "done" on tests that did not run
        return Status(f"not checked: {stopped or 'some of its tests did not run'}", None, passed, len(ran))
    if not ran:
        return Status(NO_TESTS, None, 0, 0)
    if not failed:
        return Status("done", None, passed, len(ran))
    wrong, waiting, beside = [], [], []  # (result, raised_at), (result, the other task's id, raised_at), results
    for result in failed:
        hole = _hole_of(result)
        if hole == task.id:
            if result.exception == "NotImplementedError" and changes.changed(function_of(root, result.where)):
                beside.append(result)
            continue
        if hole is not None:
            waiting.append((result, hole, ""))
            continue
        raised_at, owner = blamed_frame(task, result, root)
        if owner is not None and owner.id != task.id:  # it went wrong in another task's code
            waiting.append((result, owner.id, raised_at))
        else:
            wrong.append((result, raised_at))
    if wrong:
        result, raised_at = wrong[0]
        # an endless loop: its first line in the table ("it did not finish in 10 s — …"), the rest below it
        label = f"wrong: {result.message.splitlines()[0]}" if result.exception == "DidNotFinish" else "wrong"
        return Status(label, result, passed, len(ran), raised_at)
    if waiting:
        result, other, raised_at = waiting[0]
        return Status(f"waiting for task {other}", result, passed, len(ran), raised_at)
    if beside:
        return Status("in progress", beside[0], passed, len(ran), blamed_frame(task, beside[0], root)[0])
    started = passed or any(changes.changed(place) for place in task.places)
    return Status("in progress" if started else "not started", failed[0], passed, len(ran))


def file_error_label(error: taskreport.FileError) -> str:
    if error.exception == "InvalidNotebook":
        return f"{error.file} is not a valid notebook"
    if error.exception == "MissingFile":
        return f"{error.file} is missing"
    return f"fix the error in {error.file.split(' cell ')[0]} first"


def report(root: Path, chosen: list[catalogue.Task], **limits) -> Progress:
    """Run the tests of the ``chosen`` tasks against the top level of ``root``; every task's status.
    ``limits``: ``timeout`` (seconds per test) and ``budget`` (for the whole run), see taskreport."""
    everything = len(chosen) == len(catalogue.TASKS)
    run = taskreport.run_task_tests(root, None if everything else [task.id for task in chosen], **limits)
    changes = Changes(root)
    statuses = {task.id: status_of(task, run.tests, run, root, changes) for task in chosen}
    for task_id, status in statuses.items():  # failing in the code of a task that is done: its own fault
        other = status.label.removeprefix("waiting for task ")
        if other != status.label and statuses.get(other, status).done and (
                _hole_of(status.failure) is None or status.failure.exception == "NeedsTask"):
            statuses[task_id] = replace(status, label="wrong")
    failing = any(status.label.startswith(("wrong", "waiting")) for status in statuses.values())
    return Progress([(task, statuses[task.id]) for task in chosen], run, root,
                    tuple(changes.given_code()) if failing else ())


# --- the text ----------------------------------------------------------------------------------
def printable(text: str) -> str:
    """``text`` without terminal escape sequences, other control characters shown as \\x.. (tabs and
    line breaks stay)."""
    return CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", ANSI_ESCAPE.sub("", text))


def message_width() -> int:
    return hints.width() - 4


def wrapped(line: str, width: int, break_words: bool = True) -> list[str]:
    """A long line in lines of ``width``, each indented as the line was (and its continuations two more),
    so that the rows of a printed array stay apart."""
    indent = line[:len(line) - len(line.lstrip())]
    return hints.wrap(line, width, first=indent, rest=indent + "  ", break_words=break_words)


def fitted(text: str, width: int) -> str:
    """``text`` with every line longer than ``width`` wrapped between words (a test's name stays whole, and a
    command marked by hints.unbroken), except a quoted line of code, which is left as it is."""
    return "\n".join(line.replace("\0", " ") if len(line) <= width or CODE_LINE.match(line) else
                     "\n".join(wrapped(line, width, break_words=False)) for line in text.splitlines())


def trimmed(message: str) -> str:
    """A failure message without pytest's assertion introspection or control characters, its long
    lines wrapped to message_width(), at most MAX_MESSAGE_LINES lines (the first and the last ones)."""
    lines = printable(message).strip().splitlines()
    if len(lines) > 1:  # 'our message\nassert 3 == 4\n +  where ...': keep our message
        for number, line in enumerate(lines[1:], start=1):
            if line.startswith("assert "):
                lines = lines[:number]
                break
    width = message_width()
    lines = [part for line in lines for part in (wrapped(line, width) if len(line) > width else [line])]
    if len(lines) > MAX_MESSAGE_LINES:
        kept_at_end = MAX_MESSAGE_LINES // 3
        left_out = len(lines) - MAX_MESSAGE_LINES + 1
        lines = (lines[:MAX_MESSAGE_LINES - kept_at_end - 1] + [f"… ({left_out} lines left out) …"]
                 + lines[-kept_at_end:])
    return "\n".join(lines)


def _paint(text: str, label: str) -> str:
    code = COLORS.get(re.split(r" for |:", label)[0])
    if code and sys.stdout.isatty() and "NO_COLOR" not in os.environ:
        return f"\033[{code}m{text}\033[0m"
    return text


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[tuple[catalogue.Task, Status]], opened_hints: dict[str, int] | None = None,
          width: int | None = None) -> str:
    """One row per task, fitted to ``width`` columns (the terminal's): the place column is cut to the room
    the statuses leave, or left out when that is too little (the report's "where:" names the next task's);
    a status longer than the whole room goes on over the next lines."""
    width, opened_hints = width or hints.width(), opened_hints or {}
    labels = {task.id: status.label + hints.count_label(opened_hints.get(task.id, 0)) for task, status in rows}
    titles = {task.id: task.title + (" (optional)" if task.optional else "") for task, _ in rows}
    title_width = max(len("title"), *map(len, titles.values()))
    before_status = len(f"  {'':<5} {'':<{title_width}}  ")
    status_width = max(len("status"), *map(len, labels.values()))
    place_width = min(MAX_PLACE_WIDTH, width - before_status - status_width - 2)
    if place_width < MIN_PLACE_WIDTH:
        place_width, status_width = 0, min(status_width, width - before_status)
    lines = [f"  {'task':<5} {'title':<{title_width}}  " + (f"{'status':<{status_width}}  place" if place_width
                                                              else "status")]
    for task, status in rows:
        first, *more = textwrap.wrap(labels[task.id], status_width, break_on_hyphens=False)
        row = f"  {task.id:<5} {titles[task.id]:<{title_width}}  "
        if place_width:
            row += f"{_paint(f'{first:<{status_width}}', status.label)}  {_shorten(task.place, place_width)}"
        else:
            row += _paint(first, status.label)
        lines.append(row)
        lines.extend(" " * before_status + _paint(line, status.label) for line in more)
    return "\n".join(lines)


def describe_file_error(root: Path, error: taskreport.FileError) -> str:
    """The error once: file, line, the offending line."""
    if error.exception == "InvalidNotebook":
        return (f"{error.file} is not a valid notebook ({error.message}); "
                f"restore it ({taskreport.restore_advice(root, error.file, hints.unbroken)})")
    if error.exception == "MissingName":
        return (f"{error.message}: a function or class of the kit is gone from the file (was it emptied, or a "
                f"part of it deleted?); restore it ({taskreport.restore_advice(root, error.file, hints.unbroken)})")
    if error.exception == "MissingFile":
        return f"{error.message}: restore it ({taskreport.restore_advice(root, error.file, hints.unbroken)})"
    where = error.file.replace(" cell ", ", code cell ") + (f", line {error.line}" if error.line else "")
    if error.exception in ("SystemExit", "ExitCalled"):
        call = "sys.exit" if error.exception == "SystemExit" else "os._exit"
        argument = exit_argument(error.message)
        call = f"{call}({argument})" if argument else "exit() or sys.exit()"
        what = f"it called {call} while being imported"
    elif error.exception == "DidNotFinish":  # the message: "it did not finish in 10 s — …"
        what = f"importing {error.message}"
    elif error.exception == "ProcessEnded":
        what = error.message
    elif error.exception == "Tampered":  # its message names the line too
        what = error.message.replace(f" ({error.file}:{error.line})", "")
    elif error.exception == "KeyboardInterrupt":
        what = "it raised KeyboardInterrupt while being imported, which stops the whole program"
    elif error.exception in EXPLAINED:  # input(), breakpoint() on a line of its own
        what = EXPLAINED[error.exception].format(message=error.message) + " (the line runs as the file is imported)"
    else:
        what = f"{error.exception}: {trimmed(error.message)}"
    indentation = error.text[:len(error.text) - len(error.text.lstrip())]
    if error.exception in ("IndentationError", "TabError") and "\t" in indentation:
        what += " (the line is indented with a tab, which looks like spaces: indent it with spaces only)"
    text = f"{where}: {what}"
    if error.text.strip():
        text += f"\n    {error.line} | {_shorten(printable(error.text.rstrip()), MAX_LINE_WIDTH)}"
    return text


def indentation_culprit(root: Path, error: taskreport.FileError) -> tuple[str, str]:
    """For an error whose cause is an indentation slip in a function above the line Python names or at it:
    that function's qualified name and what went wrong ('', '' otherwise). Each shape of slip is one
    function below."""
    lines = _lines_of(root, error.file)
    if not error.line or not 0 < error.line <= len(lines):
        return "", ""
    names = enclosing_names(list(lines))
    for shape in (_last_line_at_column_0, _body_left_empty, _indented_like_no_line_above, _line_at_column_0):
        owner, cause = shape(lines, names, error)
        if owner:
            return owner, cause
    return "", ""


def _code_lines_to(lines: tuple[str, ...], error: taskreport.FileError) -> tuple[list[int], list[int]]:
    """The indices of the lines with code (not blank, not only a comment) up to the error's line, and their indents."""
    code = [n for n, line in enumerate(lines[: error.line]) if line.strip() and not line.lstrip().startswith("#")]
    return code, [_indent(lines[n]) for n in code]


def _last_line_at_column_0(lines, names, error) -> tuple[str, str]:
    """A function's last line at column 0: Python runs it as the file is imported, a NameError."""
    if error.exception == "NameError" and error.line >= 2 and not _indent(lines[error.line - 1]) \
            and lines[error.line - 2].strip() and names[error.line - 2]:  # right below a function's last line
        return names[error.line - 2], (f"line {error.line} starts at column 0, so it is not part of "
                                       f"{names[error.line - 2]} above it: Python runs it as the file is imported, "
                                       "where that function's names do not exist; indent it like the lines above it")
    return "", ""


def _body_left_empty(lines, names, error) -> tuple[str, str]:
    """A function whose body is comments only (Python names the def's line in its message)."""
    after = re.search(r"expected an indented block after function definition on line (\d+)", error.message)
    if error.exception in PARSE_ERRORS and after and 0 < int(after.group(1)) <= len(names):
        return names[int(after.group(1)) - 1], (f"the function defined on line {after.group(1)} has no statement "
                                                "left (comments do not count): write its code, or put the raise line "
                                                "back until you do")
    return "", ""


def _indented_like_no_line_above(lines, names, error) -> tuple[str, str]:
    """'unindent does not match': a line less indented than the lines before it (a block cut off above it),
    or a line indented like no line above it."""
    code, indent = _code_lines_to(lines, error)
    if error.exception not in PARSE_ERRORS or "unindent does not match" not in error.message or len(code) < 2:
        return "", ""
    lower = [k for k in range(1, len(code) - 1) if indent[k] < indent[-1]]
    if lower and indent[lower[-1] - 1] == indent[-1] and names[code[lower[-1] - 1]]:  # a block cut off above
        before, cut = code[lower[-1] - 1], code[lower[-1]]
        return names[before], (f"line {cut + 1}, {_shorten(lines[cut].strip(), 40)}, is less indented than the "
                               f"lines before it, which ends {names[before]} there: indent it like them")
    owner = next((names[n] for n in reversed(code[:-1]) if names[n]), "")
    return owner, (f"line {error.line} is indented by {indent[-1]} columns, like no line above it: indent it like "
                   f"the lines around it ({indent[-2]} columns)")


def _line_at_column_0(lines, names, error) -> tuple[str, str]:
    """A line of a function moved to column 0, which ends the function there: its next line is 'unexpected',
    or a return there is 'outside function'; a decorator less indented than its def is the same slip."""
    code, indent = _code_lines_to(lines, error)
    if error.exception not in PARSE_ERRORS:
        return "", ""
    if "unexpected indent" in error.message and len(code) >= 3:
        (before, cut, indented), (inside, outside, resumed) = code[-3:], indent[-3:]
    elif "outside function" in error.message and len(code) >= 2:
        (before, cut), (inside, outside) = code[-2:], indent[-2:]
        indented, resumed = before, inside
    else:
        return "", ""
    structure = DEFINITION.match(lines[indented]) or lines[indented].lstrip().startswith("@")
    if not names[before] or not outside < resumed or not (resumed == inside or (structure and resumed < inside)):
        return "", ""  # not the shape of a slip: a stray indented line of the file's own, say
    shown = _shorten(lines[cut].strip(), 40)
    if lines[cut].lstrip().startswith("@") and DEFINITION.match(lines[indented]):  # a decorator at column 0
        owner = ".".join([*names[before].split(".")[:-1], DEFINITION.match(lines[indented]).group(2)])
        return owner, f"line {cut + 1}, {shown}, is less indented than the def below it: indent it like that def"
    return names[before], (f"line {cut + 1}, {shown}, is less indented than the lines before it, which ends "
                           f"{names[before]} there: indent it like them")


def cut_off_note(root: Path, error: taskreport.FileError) -> str:
    """For a file that does not parse because it was cut off (a paste gone wrong, a save interrupted): which
    of the kit's classes and functions are gone from it, and how to restore it; '' otherwise."""
    if error.exception not in PARSE_ERRORS or not error.file.endswith(".py"):
        return ""  # a file emptied or cut where it still parses has its own advice (MissingName)
    kit = {place.split(":", 1)[1].split(".")[0] for place in sync.recorded_fingerprints(root)
           if place.startswith(f"{error.file}:")}
    text = "\n".join(_lines_of(root, error.file))
    gone = sorted(kit - set(re.findall(r"^(?:async\s+)?(?:def|class)\s+(\w+)", text, flags=re.MULTILINE)))
    if not gone:
        return ""
    shown = ", ".join(gone[:4]) + (", …" if len(gone) > 4 else "")
    return (f"\n  The file looks cut off: {len(gone)} of the kit's classes and functions are gone from it ({shown}). "
            f"Restore it ({taskreport.restore_advice(root, error.file, hints.unbroken)})")


def task_of(file: str, name: str) -> catalogue.Task | None:
    """The task whose place the function ``name`` of ``file`` is, or is nested in (None: the kit's own code)."""
    file, parts = NOTEBOOK_CELL.sub(r"\1", file), name.split(".")
    for end in range(len(parts), 0, -1):
        task = PLACES.get(f"{file}:{'.'.join(parts[:end])}")
        if task is not None:
            return task
    return None


def file_error_steps(root: Path, error: taskreport.FileError) -> str:
    """Next: the task that owns the broken line, or the file and what to do."""
    name, cause = indentation_culprit(root, error)
    if name:
        owner = task_of(error.file, name)
    else:
        name, owner = place_of(root, f"{error.file}:{error.line}") if error.line else ("", None)
    cut_off = cut_off_note(root, error)
    if cut_off:
        return f"Next: restore {error.file}; until then the tests that need it cannot run:\n  " + \
            describe_file_error(root, error) + cut_off
    lines = [describe_file_error(root, error) + (f"\n  ({cause})" if cause else "")]
    if error.exception in ("InvalidNotebook", "MissingName", "MissingFile"):
        return f"Next: {lines[0]}. Until then the tests that need it cannot run."
    if owner is not None:
        lines.insert(0, f"Next: fix the error in {name} (task {owner.id} — {owner.title}); until then the "
                        f"tests that need {error.file.split(' cell ')[0]} cannot run:")
    else:
        lines.insert(0, f"Next: fix the error in {error.file.split(' cell ')[0]}; it is outside every task's "
                        f"function, so undo the change there (until then the tests that need it cannot run):")
    return "\n  ".join(lines)


def exit_argument(message: str) -> str:
    """What sys.exit was called with, as it was written: nothing, 1 as 1, a text in quotes ('bye')."""
    if message in ("", "None"):
        return ""
    return message if message.lstrip("-").isdigit() else repr(message)


#: NumPy's words for a slip that Python makes look unrelated, and what they mean for a beginner
NUMPY_SLIPS = {
    "truth value of an array with more than one element is ambiguous":
        "an array was used where Python needs one True or False: `if`, `and`, `or`, `not`, `max()` and `min()` "
        "look at one value, not at each element; for arrays, use NumPy's element-wise functions and operators",
    "invalid value encountered in sqrt":
        "the square root of a negative number is NaN: what goes under the root must never be negative; is it a "
        "square, or a sum or mean of squares, as the formula says?",
}


def failure_lines(status: Status) -> list[str]:
    failure = status.failure
    raised = "" if failure.exception in ("Failed", *EXPLAINED) else f" with {failure.exception}"
    lines = [f"  {failure.nodeid} fails{raised}:"]
    argument = exit_argument(failure.message) if failure.exception in ("SystemExit", "ExitCalled") else failure.message
    message = EXPLAINED.get(failure.exception, "{message}").format(message=argument)
    lines.extend("    " + line for line in trimmed(message).splitlines())
    lines.extend(f"    ({meaning})" for words, meaning in NUMPY_SLIPS.items() if words in message)
    if status.raised_at:
        lines.append(f"  (raised at {status.raised_at})")
    return lines


def definition_notes(root: Path, task: catalogue.Task) -> list[str]:
    """For each of the task's notebook functions defined in more than one cell: which one the check tests."""
    notes = []
    for place in task.places:
        file, _, name = place.rpartition(":")
        if file.endswith(".ipynb"):
            try:
                notes.append(notebook_functions.definition_note(root / file, name))
            except (notebook_functions.InvalidNotebook, SyntaxError):
                continue  # the tests' own error says what is wrong with the notebook
    return [note for note in notes if note]


def located(root: Path, task: catalogue.Task) -> str:
    """The task's functions where they are in the participant's files, line or code cell:
    'nn/functions.py:120 (MatMul.forward), nn/functions.py:131 (MatMul.backward)'."""
    def one(place: str) -> str:
        file, _, name = place.rpartition(":")
        if file.endswith(".ipynb"):
            try:
                cells = notebook_functions.defining_cells(root / file, name)
            except (notebook_functions.InvalidNotebook, SyntaxError, OSError):
                cells = []
            return f"{file}, code cell {cells[-1]} ({name})" if cells else f"{file}: {name}"
        lines, names = _lines_of(root, file), _names_in(root, file)
        defined = [n for n, (line, names_there) in enumerate(zip(lines, names), start=1)
                   if names_there == name and DEFINITION.match(line)]  # the def lines (a nested def has its own name)
        return f"{file}:{defined[-1]} ({name})" if defined else f"{file}: {name}"  # the last: the one Python keeps

    return ", ".join(map(one, task.places))


def next_steps(task: catalogue.Task, status: Status, root: Path = ROOT) -> str:
    """What to do next for the first task that is not done: its first failing check and its hint."""
    optional = ", optional" if task.optional else ""
    lines = [f"Next: task {task.id} — {task.title} ({status.label}{optional})", f"  where: {located(root, task)}"]
    failure = status.failure
    if failure is not None and _hole_of(failure) == task.id and status.raised_at:  # code of theirs beside it
        lines.extend(hints.wrap(
            f"{failure.nodeid}: your code is there, but the test still reaches the task's raise "
            f"NotImplementedError at {status.raised_at}: delete that line when your code is complete (the TODO "
            "comment may stay); code below it never runs.", hints.width(), "  ", "    "))
    elif failure is not None and _hole_of(failure) == task.id:
        # The message of our own hole repeats the hint printed below: name only the function to fill.
        lines.append(f"  {failure.nodeid} stops at the TODO of {failure.message.split(' — ')[0]}")
        for note in definition_notes(root, task):
            lines.extend(hints.wrap(note, hints.width(), "  ", "    "))
    elif status.label == NO_TESTS:
        lines.extend(hints.wrap(
            f"no test in tests/ is marked @pytest.mark.{task.marker}, so nothing checks this task: was a test file "
            "deleted, renamed or moved? Put tests/ back as the kit has it (a fresh copy of the kit, or "
            "git checkout HEAD -- tests/ in a git clone).", hints.width(), "  ", "    "))
    elif failure is not None:
        lines.extend(failure_lines(status))
        if status.label.startswith("waiting"):
            lines.append(f"  Its tests need task {status.label.rsplit(' ', 1)[1]} first: do that one, then come back.")
    lines.extend(hints.wrap(task.goal, hints.width(), "  goal: ", "    "))
    lines.extend(hints.wrap(hints.how_to_get_more(task, root), hints.width(), "  ", "    "))
    if any(place.startswith("notebooks/") for place in task.places):
        lines.append("  (the check reads the notebook file: save it first, Ctrl+S in JupyterLab)")
    lines.extend(hints.wrap(f"Only this task: {hints.unbroken(commands.check(task.id))}   (with tracebacks: "
                            f"{hints.unbroken(f'{commands.python()} -m pytest -m {task.marker}')})",
                            hints.width(), "  ", "    "))
    return "\n".join(lines)


def summary(rows: list[tuple[catalogue.Task, Status]]) -> str:
    """'3 of 19 tasks done (optional: 0 of 3).'; only optional tasks: '0 of 1 optional task done.'"""
    def done_of(statuses: list[Status], noun: str) -> str:
        return f"{sum(s.done for s in statuses)} of {len(statuses)} {noun}{'' if len(statuses) == 1 else 's'} done"

    required = [status for task, status in rows if not task.optional]
    optional = [status for task, status in rows if task.optional]
    if not required:
        return done_of(optional, "optional task") + "."
    return done_of(required, "task") + (f" (optional: {sum(s.done for s in optional)} of {len(optional)})"
                                        if optional else "") + "."


def notes(progress: Progress) -> list[str]:
    """One line for each thing the run ran into: many prints, the time limit, test files that failed."""
    run, lines = progress.run, []
    printed = sum(run.prints.values())
    if printed > MANY_PRINTS:
        location = max(run.prints, key=run.prints.get)
        name, _ = place_of(progress.root, location)
        lines.append(f"Your code printed {printed:,} lines during the check, {run.prints[location]:,} of them at "
                     f"{taskreport.shown_location(location)}{f' ({name})' if name else ''}; the check hides them, "
                     "but printing that much slows everything down: remove the print() (or the write or logging "
                     "call) once you are done with it"
                     + (" (it may be why a test did not finish in time)." if any(
                         test.exception == "DidNotFinish" for test in run.tests) else "."))
    if run.timed_out:
        lines.append("The check stopped at its time limit; the tasks that did not get their turn read 'not checked'."
                     + (" Look for an endless loop in the task marked 'wrong'."
                        if any(t.exception in ("DidNotFinish", "ProcessEnded") for t in run.tests) else ""))
    if run.stopped and not any(error.exception == "MissingFile" for error in run.file_errors):  # "Next:" says it
        lines.append(stopped_note(run))
    lines.extend(lingering_note(progress.root, kind, location) for kind, location in run.lingering)
    if progress.changed_given_code:
        changed = ", ".join(place.replace(":", ": ") for place in progress.changed_given_code)
        undo = "that change" if len(progress.changed_given_code) == 1 else "those changes"
        lines.append(f"You changed code the kit gives, which no task asks you to change: {changed}. The tests count "
                     f"on it as it was: if a test fails where your own code looks right, undo {undo}.")
    lines.extend(dead_raise_note(progress.root, task) for task, status in progress.rows
                 if status.done and dead_raises(progress.root, task))
    if run.collection_errors and not run.file_errors:  # a test file itself did not load: say so once
        file, text, _ = run.collection_errors[0]
        tail = "\n".join("    " + line for line in text.strip().splitlines()[-MAX_MESSAGE_LINES:])
        lines.append(f"{file} could not be loaded, so its tests did not run. The error:\n{tail}")
    return lines


def dead_raises(root: Path, task: catalogue.Task) -> list[str]:
    """Where the task's own raise NotImplementedError lines are left below a return in its functions, so that
    they no longer run ('nn/functions.py:140', 'notebooks/train.ipynb, code cell 10, line 4')."""
    hole = re.compile(rf"NotImplementedError\(\s*\\?[\"']Task {re.escape(task.id)}\b")  # \\? : a notebook's JSON
    found = []
    for place in task.places:
        file, _, name = place.rpartition(":")
        try:
            text = (root / file).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if not hole.search(text):  # the usual case once the task is done: nothing to parse
            continue
        notebook = file.endswith(".ipynb")
        try:
            sources = ([(f"{file}, code cell {number}, line ", source) for number, source
                        in enumerate(notebook_functions.code_cells_of_text(text, file), start=1)]
                       if notebook else [(f"{file}:", text)])
        except notebook_functions.InvalidNotebook:
            continue
        for where, source in sources:
            try:
                tree = notebook_functions.parse_cell(source, file) if notebook else ast.parse(source)
            except (SyntaxError, ValueError):
                continue
            found.extend(f"{where}{line}" for qualname, node in fingerprints.functions(tree) if qualname == name
                         for line in raises_after_a_return(node, source, hole))
    return found


def raises_after_a_return(function: ast.AST, source: str, hole: re.Pattern) -> list[int]:
    """The lines of the hole's raise statements that come after a return in the function's own body."""
    body = function.body
    first_return = next((n for n, statement in enumerate(body) if isinstance(statement, ast.Return)), len(body))
    return [statement.lineno for statement in body[first_return + 1:] if isinstance(statement, ast.Raise)
            and hole.search(ast.get_source_segment(source, statement) or "")]


def dead_raise_note(root: Path, task: catalogue.Task) -> str:
    where = dead_raises(root, task)
    return (f"Task {task.id} is done, and its raise NotImplementedError line is still there, below a return "
            f"({', '.join(where)}): it no longer runs, so delete it (the TODO comment may stay).")


def stopped_note(run: taskreport.Report) -> str:
    """Why the run ended before every test ran, and what to fix first."""
    text = f"The check stopped early: {run.stopped}; the tasks whose tests did not all run read 'not checked'."
    crashed = [test for test in run.tests if test.exception == "ProcessEnded"]
    if crashed:
        text += (f" Fix the crash first: {crashed[0].nodeid} ended the test process"
                 + (f" at {crashed[0].where}." if crashed[0].where else "."))
    internal = [line for line in run.output.splitlines() if line.startswith("INTERNALERROR>")]
    if internal:
        text += "\n" + "\n".join("    " + _shorten(printable(line), MAX_LINE_WIDTH)
                                 for line in internal[-MAX_MESSAGE_LINES:])
    return text


def lingering_note(root: Path, kind: str, location: str) -> str:
    """What the participant's code left behind when the tests ended ('thread', 'exit handler', 'process')."""
    name, _ = place_of(root, location) if location else ("", None)
    where = f"{location} ({name})" if name else location
    if kind == "thread":
        return (f"Your code left a thread running after the tests ended (started at {where}); the check stopped "
                f"it, but elsewhere it keeps Python (and a notebook's kernel) from exiting: make it end.")
    if kind == "exit handler":
        return (f"Your code registered a function to run at exit (atexit.register at {where}); "
                f"the check ended without running it.")
    return ("The test process did not end after the tests: your code left something running (a thread?); "
            "the check stopped it.")


def first_pending(rows: list[tuple[catalogue.Task, Status]]) -> tuple[catalogue.Task, Status] | None:
    """The row to work on next: the first required task not done, else the first optional one."""
    pending = [(task, status) for task, status in rows if not status.done]
    return next((row for row in pending if not row[0].optional), pending[0] if pending else None)


def first_to_fix(progress: Progress) -> tuple[catalogue.Task, Status] | None:
    """The row "Next:" is about: when the run stopped early, the first task marked wrong (the crash or the
    endless loop that stopped it, rather than a task that did not get its turn), else the first pending."""
    if progress.run.stopped or progress.run.timed_out:
        wrong = [(task, status) for task, status in progress.rows if status.label.startswith("wrong")]
        if wrong:
            return wrong[0]
    return first_pending(progress.rows)


def next_task(root: Path) -> catalogue.Task | None:
    """The task to work on next in the top level of ``root`` (runs every task's tests); None when all are done."""
    first = first_pending(report(root, list(catalogue.TASKS)).rows)
    return first[0] if first else None


def render(progress: Progress) -> str:
    rows = progress.rows
    parts = [table(rows, hints.opened(progress.root))]
    parts.extend(describe_file_error(progress.root, error) for error in progress.run.file_errors[1:])
    parts.extend(notes(progress))
    first = first_to_fix(progress)
    if progress.run.file_errors:
        parts.append(file_error_steps(progress.root, progress.run.file_errors[0]))
    elif first is not None:
        parts.append(next_steps(*first, progress.root))
    else:
        parts.append("Every task here is done. Well done!")
    parts.append(summary(rows))
    return "\n\n".join([parts[0], *(fitted(part, hints.width()) for part in parts[1:])])


def selected_tasks(arguments: list[str]) -> list[catalogue.Task]:
    """The tasks named on the command line ('3.2', 'task3_2', '3_2'; commas allowed); all when none."""
    names = [name for argument in arguments for name in argument.replace(",", " ").split()]
    if not names:
        return list(catalogue.TASKS)
    chosen = []
    for name in names:
        task_id = hints.task_id_of(name)
        if task_id not in catalogue.TASKS_BY_ID:
            known = ", ".join(catalogue.TASKS_BY_ID)
            raise SystemExit(f"check: there is no task {name!r}; the tasks are {known}")
        chosen.append(catalogue.TASKS_BY_ID[task_id])
    return [task for task in catalogue.TASKS if task in chosen]


def main(argv: list[str] | None = None) -> int:
    chosen = selected_tasks(sys.argv[1:] if argv is None else argv)
    taskreport.interrupt_on_termination()
    print("Running the task tests against your code (nn/, act/, loss/, notebooks/)…\n", flush=True)
    try:
        print(render(report(ROOT, chosen)))
    except taskreport.TaskRunError as error:
        print(f"check: could not run the tests.\n{error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM or SIGHUP: the tests were stopped on the way out
        print(f"{commands.check()} stopped.", flush=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

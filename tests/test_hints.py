"""Hints on request: what a participant sees by default gives no solution away; the hints do, step by step.

- the catalogue: every task has a goal and three hint levels, and the code quoted in
  level 3 is the reference's;
- nothing shown by default (the participant files with their TODOs, docstrings and
  errors, the notebooks, the slides, the README) contains a line of a solution block;
- `make hint` (tools/hints.py) opens the levels one at a time and remembers them;
  `make check` counts them and never shows a hint unasked.
"""

from __future__ import annotations

import ast
import io
import json
import keyword
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
from conftest import ROOT, load_tools_module

sync = load_tools_module("sync")
hints = load_tools_module("hints")
check = load_tools_module("check")
catalogue = sync.catalogue
TASKS = catalogue.TASKS

CODE = re.compile(r"`([^`]+)`")
# Lines that may be shown: a single call with at most one plain argument ('optimizer.step()',
# 'return model(x)': one-call tasks, as the issue allows), or too short to give anything away.
TRIVIAL = re.compile(r"^(return )?[\w.]+(\(\w*\))?$")
# Code that is shown on purpose, and why.
WORKED_EXAMPLES: dict[str, str] = {}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def gives_away(squashed: str) -> bool:
    """Whether a line of solution code (whitespace removed) would give a task away if shown.

    Not: short lines, one-call lines, control-flow headers ('for node in order:') and
    fragments without any computation ('i, size in enumerate(shape)').
    """
    return not (len(squashed) < 16 or TRIVIAL.match(squashed.replace("return", "return ", 1))
                or squashed.endswith(":") or not re.search(r"[=@*/+\-]|return", squashed)
                or squashed in WORKED_EXAMPLES)


def solution_blocks() -> dict[str, list[list[str]]]:
    """task id -> the code lines (stripped, no comments) of each of its solution blocks in solutions/."""
    places = sync.places_of(TASKS)
    found: dict[str, list[list[str]]] = {task.id: [] for task in TASKS}
    files = sorted({place.split(":")[0] for place in places})
    for file in files:
        text = (ROOT / "solutions" / file).read_text(encoding="utf-8")
        if file.endswith(".ipynb"):
            sources = [sync._cell_lines(cell) for cell in json.loads(text)["cells"] if cell["cell_type"] == "code"]
        else:
            sources = [text.split("\n")]
        for lines in sources:
            for hole in sync.find_holes(lines, file, places, file):
                code = [line.split("  #")[0].strip() for line in lines[hole.block.begin + 1:hole.block.end]]
                found[hole.task.id].append([line for line in code if line and not line.startswith("#")])
    return found


SOLUTION_BLOCKS = solution_blocks()
SOLUTIONS = {task_id: [line for block in blocks for line in block] for task_id, blocks in SOLUTION_BLOCKS.items()}


def default_visible() -> dict[str, str]:
    """What a participant reads without asking: name -> text (whitespace squashed)."""
    texts = {}
    for package in ("nn", "act", "loss"):
        for path in sorted((ROOT / package).rglob("*.py")):
            texts[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts[path.relative_to(ROOT).as_posix()] = "\n".join("".join(cell["source"]) for cell in cells)
    for name in ("slides.md", "README.md"):
        texts[name] = (ROOT / name).read_text(encoding="utf-8")
    return {name: squash(text) for name, text in texts.items()}


# --- the catalogue ------------------------------------------------------------------------------
@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.id)
def test_each_task_has_a_goal_and_three_levels_of_hints(task):
    question, math, close_to_code = task.hints
    assert "?" in question, f"task {task.id}: hint 1 should be a question that points at the idea: {question!r}"
    assert len(math) > len(question) / 2, f"task {task.id}: hint 2 should give the complete reasoning: {math!r}"
    assert CODE.search(close_to_code), f"task {task.id}: hint 3 should quote code (between backticks): {close_to_code!r}"
    assert not CODE.search(task.goal), f"task {task.id}: the goal is shown by default and quotes code: {task.goal!r}"


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.id)
def test_the_code_of_hint_3_is_the_reference_code(task):
    reference = squash("\n".join(SOLUTIONS[task.id]))
    names = squash((ROOT / "solutions" / task.places[0].split(":")[0]).read_text(encoding="utf-8"))
    assert reference, f"task {task.id} has no solution code"
    for fragment in CODE.findall(task.hints[2]):
        where = reference if not re.fullmatch(r"[\w.]+", fragment) else reference + names
        assert squash(fragment) in where, (
            f"task {task.id}: hint 3 quotes `{fragment}`, which is not in the reference solution "
            f"(solutions/{task.places[0].split(':')[0]}); the hint must match what the tests accept")


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.id)
def test_hint_2_gives_the_math_without_the_solutions_calls(task):
    """Level 2 is the math or the reasoning; only level 3 comes close to code. (A function the goal
    already names, shown by default, may be named.)"""
    hint = task.hints[1]
    assert "`" not in hint, f"task {task.id}: hint 2 quotes code: {hint}"
    allowed = MATH_NAMES | set(re.findall(r"\w+", task.goal))
    called = {name for name in re.findall(r"([A-Za-z_][\w.]*)\(", hint)
              if name.split(".")[-1] in called_names(SOLUTIONS[task.id]) - allowed}
    assert not called, f"task {task.id}: hint 2 names the solution's calls {sorted(called)}: {hint}"


def test_the_solution_blocks_were_found():
    assert all(SOLUTIONS.values()), [task_id for task_id, lines in SOLUTIONS.items() if not lines]


# --- nothing shown by default gives a solution away ----------------------------------------------
def test_no_default_visible_text_contains_a_solution_line():
    visible = default_visible()
    leaks = []
    for task in TASKS:
        code = [squash(line) for line in SOLUTIONS[task.id]]
        code += [squash(fragment) for fragment in CODE.findall(task.hints[2])]
        for line in code:
            if not gives_away(line):
                continue
            leaks += [f"task {task.id}: {name} shows `{line}`" for name, text in visible.items() if line in text]
    assert not leaks, ("what a participant sees by default must not contain the code of a solution "
                       "(state the goal and the math; the code belongs in hint 3):\n  " + "\n  ".join(leaks))


# --- near-copies: the same code with other names -------------------------------------------------
# A line with its names and constants replaced by `_` keeps its shape: operators, keywords, and the
# names of attributes and keyword arguments (`_ = _ - _ . max ( axis = _ , keepdims = _ )`). A line of a
# solution block is looked for in that form when its shape holds at least NEAR_COPY_WORDS of these
# (shorter shapes, such as `_ = _ . shape [ _ ]` or `return _ . out`, occur in any NumPy code); a run
# of NEAR_COPY_RUN consecutive lines of a block (`_.backward()`, `_.step()`, `_.zero_grad()`) is looked
# for in visible code however short its lines are.
NEAR_COPY_WORDS = 3
NEAR_COPY_RUN = 3
STRUCTURE = {"_", ",", "(", ")", "[", "]", "{", "}", ".", "=", ":"}


def shapes(code: str) -> list[str] | None:
    """The shape of each logical line of ``code`` (space-separated tokens; comments dropped), or
    None when it is not Python."""
    try:
        tokens = [token for token in tokenize.generate_tokens(io.StringIO(code).readline)
                  if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)]
    except (tokenize.TokenError, SyntaxError):
        return None
    found, line, depth = [], [], 0
    for before, token, after in zip([None, *tokens], tokens, [*tokens[1:], None]):
        text = token.string
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            found += [" ".join(line)] if line else []
            line = []
            continue
        if token.type == tokenize.OP:
            depth += (text in "([{") - (text in ")]}")
        name = token.type == tokenize.NAME
        kept = (token.type == tokenize.OP or (keyword.iskeyword(text) and text not in ("True", "False", "None"))
                or (name and before is not None and before.string == ".")  # an attribute
                or (name and depth > 0 and after is not None and after.string == "="))  # a keyword argument
        line.append(text if kept else "_")
    return found


def line_shape(line: str) -> str | None:
    found = shapes(line.strip())
    return found[0] if found is not None and len(found) == 1 else None


def distinctive(shape: str | None) -> bool:
    """Enough operators, calls and named attributes to be a solution's own, not any code's."""
    return bool(shape) and not shape.endswith(":") and \
        sum(token not in STRUCTURE for token in shape.split()) >= NEAR_COPY_WORDS


def text_shapes(text: str) -> list[str]:
    """The shapes of the lines of prose or markdown, and of the code between its backticks, that are Python."""
    candidates = [piece for line in text.split("\n") for piece in (line, *CODE.findall(line))]
    return [shape for shape in map(line_shape, candidates) if shape]


def hidden(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"))


def visible_shapes() -> dict[str, tuple[list[str], list[str]]]:
    """What a participant reads without asking: name -> (the shapes of its code lines in order, of its text).
    Code cells folded in JupyterLab (source_hidden) are left out: tests below make sure a markdown cell says so."""
    found = {}
    for package in ("nn", "act", "loss"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            words = [token.string for token in tokenize.generate_tokens(io.StringIO(text).readline)
                     if token.type in (tokenize.COMMENT, tokenize.STRING)]  # comments, docstrings, messages
            found[path.relative_to(ROOT).as_posix()] = (shapes(text) or [], text_shapes("\n".join(words)))
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for number, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"], start=1):
            source = "".join(cell["source"])
            where = f"{path.relative_to(ROOT).as_posix()}, cell {number}"
            if cell["cell_type"] != "code":
                found[where] = ([], text_shapes(source))
            elif not hidden(cell):
                found[where] = (shapes(source) or [shape for shape in map(line_shape, source.split("\n")) if shape], [])
    for name in ("slides.md", "README.md"):
        found[name] = ([], text_shapes((ROOT / name).read_text(encoding="utf-8")))
    for task in TASKS:
        found[f"the goal and hint 1 of task {task.id}"] = ([], text_shapes(task.goal + "\n" + task.hints[0]))
    return found


def near_copies() -> list[str]:
    visible = visible_shapes()
    found = []
    for task in TASKS:
        for block in SOLUTION_BLOCKS[task.id]:
            block_shapes = [line_shape(line) for line in block]
            for line, shape in zip(block, block_shapes):
                if distinctive(shape):
                    found += [f"task {task.id}: {name} shows `{line}` with other names" for name, (code, text)
                              in visible.items() if any(f" {shape} " in f" {seen} " for seen in code + text)]
            for start in range(len(block) - NEAR_COPY_RUN + 1):
                run = block_shapes[start:start + NEAR_COPY_RUN]
                if None in run:
                    continue
                found += [f"task {task.id}: {name} shows the lines `{'`, `'.join(block[start:start + NEAR_COPY_RUN])}` "
                          "one after the other" for name, (code, _) in visible.items()
                          if any(code[at:at + NEAR_COPY_RUN] == run for at in range(len(code)))]
    return found


def test_no_default_visible_text_contains_a_near_copy_of_a_solution():
    leaks = near_copies()
    assert not leaks, ("what a participant sees by default must not contain the code of a solution with other "
                       "names either (write it differently, fold the cell in a notebook, or make it part of the "
                       "task):\n  " + "\n  ".join(leaks))


# The same calls in a few lines: a notebook cell that computes what a solution block computes, with the
# same functions and methods (`no_grad`, `forward`, `Tensor`, `argmax` for task 6.3) within NEAR_COPY_RUN
# lines, gives the task away whatever its lines look like. Calls any code makes are not counted; a cell
# that calls them far apart (drawing a graph, then listing backward's order) shows no answer.
COMMON_CALLS = {"float", "int", "len", "range", "zip", "enumerate", "isinstance", "tuple", "list", "print",
                "asarray", "array", "zeros", "ones", "zeros_like", "ones_like", "sum", "mean", "reshape"}
NEAR_COPY_CALLS = 3
MATH_NAMES = {"exp", "log", "max", "tanh", "sqrt",
              "topological_order", "_reduced_shape_keepdims"}  # and helpers the task's TODO hands over


def called_names(lines: list[str]) -> set[str]:
    """The names of the functions and methods the lines call (each line read alone; `nn.no_grad()` → no_grad)."""
    names = set()
    for line in lines:
        line = line.strip()
        try:
            tree = ast.parse(line + ("\n    pass" if line.endswith(":") else ""))
        except SyntaxError:
            continue
        names |= {call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
                  for call in ast.walk(tree) if isinstance(call, ast.Call)}
    return names - COMMON_CALLS - {""}


def same_calls_in_visible_cells() -> list[str]:
    found = []
    for task in TASKS:
        for block in SOLUTION_BLOCKS[task.id]:
            calls = called_names(block)
            if len(calls) < NEAR_COPY_CALLS:
                continue
            for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
                for number, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"], start=1):
                    lines = "".join(cell["source"]).split("\n")
                    if cell["cell_type"] == "code" and not hidden(cell) and any(
                            calls <= called_names(lines[start:start + NEAR_COPY_RUN]) for start in range(len(lines))):
                        found.append(f"task {task.id}: {path.name}, cell {number} calls {sorted(calls)} "
                                     f"within {NEAR_COPY_RUN} lines, as the solution does")
    return found


def test_no_visible_notebook_cell_makes_a_solutions_calls_in_as_few_lines():
    leaks = same_calls_in_visible_cells()
    assert not leaks, ("a visible notebook cell computes a task's answer with the solution's own calls (fold the "
                       "cell and announce it, or compute it another way):\n  " + "\n  ".join(leaks))


def test_the_same_calls_are_found_however_the_lines_look():
    assert called_names(["with nn.no_grad():", "    guess = forward(net, nn.Tensor(x)).data.argmax(1)"]) == \
        {"no_grad", "forward", "Tensor", "argmax"}
    assert called_names(["total = float(np.mean(a == b))", "not python ("]) == set()


def test_a_near_copy_is_the_same_shape_and_short_or_generic_lines_are_not_looked_for():
    assert line_shape("y = a - a.max(axis=0, keepdims=False)") == line_shape("z = b - b.max(axis=k, keepdims=True)")         == "_ = _ - _ . max ( axis = _ , keepdims = _ )"
    assert line_shape("bound = np.sqrt(2.0 / n)") != line_shape("bound = np.sqrt(2.0 / (n + m))")
    assert distinctive(line_shape("return gen.uniform(-bound, bound, size=(rows, cols))"))
    for generic in ("count = array.shape[1]", "return self.out", "for item in reversed(items):",
                    "a, b, c, d = dims", "it's prose, not code"):
        assert not distinctive(line_shape(generic)), generic


def test_every_folded_cell_is_announced_with_the_tasks_to_do_first():
    """A code cell folded in JupyterLab (source_hidden) is not read by the tests above: the markdown cell
    before it says that it is folded and which tasks to do before unfolding it."""
    for path in sorted((ROOT / "solutions" / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for number, cell in enumerate(cells, start=1):
            if hidden(cell):
                before = "".join(cells[number - 2]["source"]) if number > 1 else ""
                assert cells[number - 2]["cell_type"] == "markdown" and "folded" in before and \
                    re.search(r"tasks? \d\.\d", before), (
                        f"{path.name}, cell {number} is folded: the markdown cell before it should say so, and "
                        f"which tasks to do before unfolding it; it says {before!r}")


def message_texts(path: Path) -> str:
    """The string literals of a test file (its failure messages), f-strings' fixed parts included."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    return "\n".join(node.value for node in ast.walk(tree)
                     if isinstance(node, ast.Constant) and isinstance(node.value, str))


def test_no_wrong_answer_message_contains_a_solution_line():
    """A failure message may say what was expected and that a hint exists, never show the code."""
    files = [path for path in sorted((ROOT / "tests").glob("*.py")) if path.name != "test_hints.py"]
    texts = {path.name: squash(message_texts(path)) for path in files}
    leaks = []
    for task in TASKS:
        code = [squash(line) for line in SOLUTIONS[task.id]]
        code += [squash(fragment) for fragment in CODE.findall(task.hints[2])]
        leaks += [f"task {task.id}: {name} says `{line}`" for line in code if gives_away(line)
                  for name, text in texts.items() if line in text]
    assert not leaks, "failure messages must not contain solution code:\n  " + "\n  ".join(leaks)


@pytest.mark.parametrize("pattern, what", [
    # Shape work is the heart of several tasks' solutions, in many equivalent spellings.
    (r"\.(?:reshape|transpose)\(", "array-layout code (say the layout that is expected in words)"),
    # README: no failure message ever shows a hint unasked; make hint TASK=… has them.
    (r"^\s*Hint:", "a hint unasked (say what is wrong and what is expected)"),
    # The max shift of softmax and cross-entropy (tasks 4.7, 5.1) as the calls that do it.
    (r"np\.(?:exp|log)\(|\.max\(", "the calls of a stable softmax (say it as math: m, e^(x − m))"),
    # make check prints "stuck? make hint TASK=…" under every message: a message that says it too repeats it.
    (r"[;,.] stuck\? make hint", "where the hints are, which make check prints right under the message"),
])
def test_no_failure_message_shows_code_or_a_hint_unasked(pattern, what):
    """A message says what is wrong and what is expected, never the calls that make it right (helpers.py
    writes messages too; test_check.py holds mistakes on purpose)."""
    files = [path for path in sorted((ROOT / "tests").glob("*.py")) if path.name not in ("test_check.py",
                                                                                        "test_hints.py")]
    shown = [f"{path.name}: {line.strip()}" for path in files for line in message_texts(path).splitlines()
             if re.search(pattern, line)]
    assert not shown, f"failure messages show {what}:\n  " + "\n  ".join(shown)


def test_the_participant_holes_show_the_goal_and_where_the_hints_are():
    text = (ROOT / "nn/functions.py").read_text(encoding="utf-8")
    task = catalogue.TASKS_BY_ID["3.2"]
    assert "make hint TASK=3.2" in text
    assert squash(task.goal) in squash(text.replace("#", ""))
    for hint in task.hints:
        assert squash(hint) not in squash(text), "a hint is in the participant file"


# --- make hint ----------------------------------------------------------------------------------
@pytest.fixture
def state(tmp_path, monkeypatch):
    path = tmp_path / "opened.json"
    monkeypatch.setenv("NN_HINTS_FILE", str(path))
    return path


def run_hint(capsys, *arguments) -> str:
    assert hints.main(list(arguments)) == 0
    return capsys.readouterr().out


@pytest.fixture(autouse=True)
def run_by_make(monkeypatch):
    """The messages as `make hint` and `make check` show them (the Makefile sets this for both)."""
    monkeypatch.setenv(hints.commands.VIA_MAKE, "1")


def test_run_without_make_the_tools_name_their_own_commands(state, capsys, monkeypatch):
    """With conda, in a hub's terminal or on Windows, where there is no make or make would build a .venv of its
    own: `python tools/check.py` said 'stuck? make hint TASK=3.2' and 'Only this task: make check TASKS=3.2'."""
    monkeypatch.delenv(hints.commands.VIA_MAKE)
    python = hints.commands.python()
    steps = check.next_steps(catalogue.TASKS_BY_ID["3.2"], check.Status("not started", None, 0, 1))
    assert f"stuck? {python} tools/hints.py 3.2\n" in steps, steps
    assert f"Only this task: {python} tools/check.py 3.2 " in steps and "make " not in steps, steps
    shown = run_hint(capsys, "3.2")
    assert f"{python} tools/hints.py 3.2 shows hint 2 of 3" in shown, shown
    assert f"Check your code with: {python} tools/check.py 3.2" in " ".join(shown.split()), shown
    assert "make " not in shown, shown
    run_hint(capsys, "3.2"), run_hint(capsys, "3.2")
    assert f"again: {python} tools/hints.py 3.2 --level=n" in check.next_steps(
        catalogue.TASKS_BY_ID["3.2"], check.Status("not started", None, 0, 1))
    with pytest.raises(SystemExit):
        hints.main(["--no-such-option"])
    assert f"usage: {python} tools/hints.py" in capsys.readouterr().err


def test_the_python_named_is_the_one_run_without_detours(monkeypatch):
    """`../.venv/bin/python ../tools/check.py` from nn/ said 'Only this task: nn/../.venv/bin/python …'."""
    monkeypatch.setattr(sys, "executable", str(ROOT / "nn" / ".." / ".venv" / "bin" / "python"))
    assert hints.commands.python() == ".venv/bin/python"


@pytest.mark.parametrize("via_make", [True, False])
def test_a_command_in_a_message_is_never_cut_over_two_lines(state, capsys, monkeypatch, via_make):
    """At 60 columns 'Check your code with: make check' ended a line and 'TASKS=3.2' began the next: copied,
    the first line checks every task; 'python' / 'tools/check.py 3.2' did not run at all."""
    monkeypatch.setenv("COLUMNS", "60")
    if not via_make:
        monkeypatch.delenv(hints.commands.VIA_MAKE)
    for task in catalogue.TASKS:
        shown = run_hint(capsys, task.id)
        assert any(hints.commands.check(task.id) in line for line in shown.splitlines()), shown
        steps = check.next_steps(task, check.Status("not started", None, 0, 1))
        whole = [hints.commands.check(task.id), f"{hints.commands.python()} -m pytest -m {task.marker}"]
        assert all(any(command in line for line in steps.splitlines()) for command in whole), steps
    for _ in range(hints.LEVELS):
        run_hint(capsys, "3.2")
    steps = check.fitted(check.next_steps(catalogue.TASKS_BY_ID["3.2"], check.Status("not started", None, 0, 1)), 60)
    assert any(hints.commands.hint("3.2", "n") in line for line in steps.splitlines()), steps
    assert "\0" not in steps, repr(steps)


def test_a_restore_command_is_never_cut_over_two_lines(tmp_path, monkeypatch):
    """'(cp notebooks/train.ipynb' ended a line and 'notebooks/train.ipynb.broken)' began the next."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "train.ipynb").write_text("{broken")
    error = check.taskreport.FileError("notebooks/train.ipynb", 0, "", "InvalidNotebook", "not JSON")
    for columns in (60, 80, 100):
        text = check.fitted(check.describe_file_error(tmp_path, error), columns)
        for command in ("cp notebooks/train.ipynb notebooks/train.ipynb.broken", "git checkout HEAD -- notebooks/train.ipynb"):
            assert any(command in line for line in text.splitlines()), (columns, text)
        assert "\0" not in text and max(map(len, text.splitlines())) <= columns, (columns, text)


def test_a_lower_level_asked_for_again_does_not_promise_a_hint_already_open(state, capsys):
    """With hints 1–3 of 3.2 open, `make hint TASK=3.2 LEVEL=1` said 'make hint TASK=3.2 shows hint 2 of 3',
    but that command shows hints 1 to 3."""
    run_hint(capsys, "3.2", "--level=2")
    shown = " ".join(run_hint(capsys, "3.2", "--level=1").split())
    assert "make hint TASK=3.2 shows hint 3 of 3" in shown, shown
    run_hint(capsys, "3.2")
    shown = " ".join(run_hint(capsys, "3.2", "--level=1").split())
    assert "All 3 hints are open: make hint TASK=3.2 shows them all." in shown and "hint 2 of" not in shown, shown


def test_ctrl_c_while_finding_the_task_stops_without_a_traceback(state, capsys, monkeypatch):
    def interrupted(root):
        raise KeyboardInterrupt

    monkeypatch.setattr(hints, "first_unfinished", interrupted)
    assert hints.main([]) == 130
    assert capsys.readouterr().out.rstrip().endswith("stopped.")


@pytest.mark.parametrize("columns", [60, 80])
def test_a_hint_is_written_in_the_terminals_width(state, capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    for task in catalogue.TASKS:
        for level in range(1, hints.LEVELS + 1):
            shown = run_hint(capsys, task.id, f"--level={level}")
            assert max(map(len, shown.splitlines())) <= columns, shown
            assert squash(task.hints[level - 1]) in squash(shown), shown


def test_each_call_opens_the_next_level_and_shows_the_levels_opened(state, capsys):
    task = catalogue.TASKS_BY_ID["3.2"]
    first = run_hint(capsys, "3.2")
    assert squash(task.hints[0]) in squash(first) and squash(task.hints[1]) not in squash(first)
    assert "make hint TASK=3.2 shows hint 2 of 3" in first
    second = run_hint(capsys, "3.2")
    assert squash(task.hints[0]) in squash(second) and squash(task.hints[1]) in squash(second)
    assert squash(task.hints[2]) not in squash(second)
    third = run_hint(capsys, "3.2")
    assert squash(task.hints[2]) in squash(third) and "last hint" in third
    assert "last hint" in run_hint(capsys, "3.2"), "after the last level, the last level again"
    assert json.loads(state.read_text()) == {"opened": {"3.2": 3}}


def test_level_shows_that_level_and_levels_only_go_up(state, capsys):
    task = catalogue.TASKS_BY_ID["6.2"]
    shown = run_hint(capsys, "6.2", "--level", "2")
    assert squash(task.hints[1]) in squash(shown) and squash(task.hints[0]) not in squash(shown)
    run_hint(capsys, "6.2", "--level", "1")
    assert hints.opened() == {"6.2": 2}
    assert not [p for p in state.parent.iterdir() if p.name.endswith(".tmp")], "a temporary file was left behind"


@pytest.mark.parametrize("arguments, message", [
    (["9.9"], r"there is no task '9.9'; the tasks are 1\.1, .*make hint TASK=3\.2"),
    (["3.2", "--level", "4"], r"LEVEL must be 1, 2 or 3 .*got '4'"),
    (["3.2", "--level", "two"], r"LEVEL must be 1, 2 or 3"),
])
def test_a_wrong_task_or_level_is_a_clear_error(state, arguments, message):
    with pytest.raises(SystemExit, match=message):
        hints.main(arguments)
    assert not state.exists()


def test_without_a_task_the_first_task_not_done_gets_the_hint(state, capsys, monkeypatch):
    monkeypatch.setattr(hints, "first_unfinished", lambda root: catalogue.TASKS_BY_ID["4.2"])
    assert "Task 4.2 — Sigmoid" in run_hint(capsys)
    assert hints.opened() == {"4.2": 1}
    monkeypatch.setattr(hints, "first_unfinished", lambda root: None)
    assert "Every task is done" in run_hint(capsys)


def test_a_damaged_state_file_is_reported_and_replaced(state, capsys):
    state.write_text("{not json")
    run_hint(capsys, "1.1")
    assert "not a hints file" in capsys.readouterr().err or hints.opened() == {"1.1": 1}
    assert hints.opened() == {"1.1": 1}


def test_the_readme_says_that_the_hints_ship_in_plain_text_on_purpose():
    """A handout's tools/tasks.py holds every level of every hint: README's hints section says so, as a choice."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("## For organizers")[0]
    hints_section = readme[readme.index("**Stuck? Ask for a hint**"):]
    hints_section = hints_section[:hints_section.index("\n6. ")]
    assert "tools/tasks.py" in hints_section and "plain text" in hints_section and "a choice" in hints_section, (
        "README's hints section should say that tools/tasks.py holds the hints in plain text, and that this is a choice")


def test_the_state_file_is_ignored_by_git():
    done = subprocess.run(["git", "check-ignore", "-q", ".hints-opened.json"], cwd=ROOT)
    assert done.returncode == 0, ".hints-opened.json (the hints opened on this machine) must be git-ignored"


def test_make_hint_runs_from_the_makefile(state):
    done = subprocess.run(["make", "-s", "hint", "TASK=5.3", "LEVEL=1"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "NN_HINTS_FILE": str(state)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert squash(catalogue.TASKS_BY_ID["5.3"].hints[0]) in squash(done.stdout)


def test_from_a_notebook_cell_run_leaves_no_names_behind(state):
    cell = ("before = set(globals())\n"
            "%run ../tools/hint.py 6.2\n"
            "print('NAMES', sorted(set(globals()) - before - {'before'} - {n for n in globals() if n.startswith('_')}))")
    done = subprocess.run([sys.executable, "-m", "IPython", "--quick", "--no-banner", "-c", cell],
                          cwd=ROOT / "notebooks", capture_output=True, text=True,
                          env={**os.environ, "NN_HINTS_FILE": str(state)}, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert squash(catalogue.TASKS_BY_ID["6.2"].hints[0]) in squash(done.stdout), done.stdout + done.stderr
    assert "NAMES []" in done.stdout, done.stdout
    assert hints.opened() == {"6.2": 1}


# --- make check shows the hints used, and never a hint unasked ------------------------------------
def test_the_check_table_counts_the_hints_opened():
    rows = [(catalogue.TASKS_BY_ID["1.1"], check.Status("done", None, 3, 3)),
            (catalogue.TASKS_BY_ID["2.1"], check.Status("not started", None, 0, 4))]
    text = check.table(rows, {"1.1": 1, "2.1": 2})
    assert re.search(r"1\.1 .*  done, 1 hint +  nn/gradcheck", text), text
    assert re.search(r"2\.1 .*  not started, 2 hints  nn/scalar", text), text


def test_a_wrong_answer_says_a_hint_exists_and_does_not_show_it(state):
    task = catalogue.TASKS_BY_ID["3.2"]
    failure = sync.catalogue  # placeholder to keep names short below
    failure = load_tools_module("taskreport").Outcome(
        "tests/test_functions.py::test_matmul", ("3.2",), "failed", "AssertionError",
        "MatMul.backward: expected shape (2, 3), got (3, 2)", "nn/functions.py:200")
    text = check.next_steps(task, check.Status("wrong", failure, 1, 4))
    assert "make hint TASK=3.2" in text, text
    assert squash(task.goal) in squash(text.replace("goal:", "")), "the next steps restate the task's goal"
    for hint in task.hints:
        assert squash(hint) not in squash(text), text
    hints.remember("3.2", 1)
    assert "1 of 3 hints opened" in check.next_steps(task, check.Status("wrong", failure, 1, 4))


# --- the slides hand out goals, and agree with the TODOs -------------------------------------------
def go_ahead_slides() -> dict[str, str]:
    """title -> text of every Go-ahead slide."""
    slides = (ROOT / "slides.md").read_text(encoding="utf-8").split("<!-- end_slide -->")
    found = {}
    for slide in slides:
        lines = slide.strip().splitlines()
        if len(lines) > 1 and lines[1].startswith("===") and lines[0].startswith("Go ahead"):
            found[lines[0]] = slide
    return found


def test_go_ahead_slides_point_at_make_hint_instead_of_listing_hints():
    slides = go_ahead_slides()
    assert {task.slide for task in TASKS} <= set(slides)
    for title, text in slides.items():
        assert "make hint" in text, f"the slide {title!r} should say: stuck? `make hint`"
        assert "Hints:" not in text, f"the slide {title!r} lists hints; they are shown on request (make hint)"


def test_the_slide_of_task_2_3_gives_the_whole_recipe_of_its_todo():
    text = go_ahead_slides()["Go ahead: backpropagation"]
    task_part = text.split("Task 2.3", 1)[1]
    for step in ("start from grad 0", "reverse topological order", "+=", "release", "retain_graph"):
        assert step in task_part, f"the slide's recipe for task 2.3 leaves out {step!r}, which its TODO asks for"


def test_the_optimizer_tasks_say_that_their_state_is_updated_in_place():
    slide = go_ahead_slides()["Go ahead: extensions"]
    assert "in place" in slide
    for task_id in ("7.1", "7.2", "7.3", "5.3"):
        assert "in place" in catalogue.TASKS_BY_ID[task_id].goal, f"task {task_id}'s goal must say 'in place'"


def test_the_slide_says_how_make_train_differs_from_the_notebook():
    slide = go_ahead_slides()["Go ahead: train on MNIST"]
    assert "the same" not in slide.split("make train")[0][-200:] + slide.split("make train")[1][:200]
    assert "make train" in slide and "reference" in slide and "momentum" in slide


def test_the_derivatives_notebook_names_every_task_its_autodiff_cell_needs():
    notebook = json.loads((ROOT / "notebooks/derivatives.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    assert "tasks 2.2, 3.1 and 3.3" in text, "the autodiff cell needs Tensor.backward (2.2, 3.1) and Sum.backward (3.3)"


def test_lecture_slides_pause_before_the_results_they_derive():
    text = (ROOT / "slides.md").read_text(encoding="utf-8")
    for result in ("∂L/∂a = ∂L/∂out · bᵀ", "σ'(x) = σ(x) · (1 − σ(x))", "**(softmax(z) − onehot(y)) / N**",
                   "f'(x) ≈ (f(x + ε) − f(x − ε)) / (2ε)"):
        before = text.split(result, 1)[0]
        assert "<!-- pause -->" in before[-300:], f"no <!-- pause --> before {result!r}: the room should guess first"


# --- a hints file that cannot be read or written: one clear line, and the hint all the same --------
def make_unreadable(state, monkeypatch, how: str) -> None:
    if how == "a folder":
        state.mkdir()
        return
    state.write_text('{"opened": {}}')  # written once by `sudo make hint`: root's file, mode 0600
    read_text = Path.read_text

    def denied(self, *args, **kwargs):
        if self == state:
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", denied)


@pytest.mark.parametrize("how", ["a folder", "not readable"])
def test_a_hints_file_that_cannot_be_read_is_one_clear_warning(state, capsys, monkeypatch, how):
    make_unreadable(state, monkeypatch, how)
    task = catalogue.TASKS_BY_ID["3.2"]
    assert hints.main(["3.2"]) == 0
    out, err = capsys.readouterr()
    assert squash(task.hints[0]) in squash(out), "the hint is shown all the same"
    assert len(err.splitlines()) == 1 and str(state) in err and "delete it" in err, err
    assert "stuck? make hint TASK=3.2" in check.next_steps(task, check.Status("not started", None, 0, 1))
    assert "Traceback" not in capsys.readouterr().err


def test_a_hints_file_in_a_missing_folder_is_one_clear_warning(tmp_path, capsys, monkeypatch):
    path = tmp_path / "missing" / "opened.json"
    monkeypatch.setenv("NN_HINTS_FILE", str(path))
    assert hints.main(["3.2"]) == 0
    out, err = capsys.readouterr()
    assert squash(catalogue.TASKS_BY_ID["3.2"].hints[0]) in squash(out)
    assert len(err.splitlines()) == 1 and str(path) in err and "NN_HINTS_FILE" in err, err
    assert not path.parent.exists()


def test_a_damaged_hints_file_is_reported_once(state, capsys):
    state.write_text("{not json")
    assert hints.main(["1.1"]) == 0  # reads the file to show the hint, and again to save it
    assert capsys.readouterr().err.count("not a hints file") == 1
    assert hints.opened() == {"1.1": 1}


def test_the_hints_file_gets_the_usual_permissions(state, capsys):
    umask = os.umask(0o022)
    try:
        run_hint(capsys, "1.1")
    finally:
        os.umask(umask)
    assert state.stat().st_mode & 0o777 == 0o644, oct(state.stat().st_mode)


# --- make hint and make check: what is typed on the command line ----------------------------------
def run_make(*arguments: str, state: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", *arguments], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "NN_HINTS_FILE": str(state)}, timeout=120)


@pytest.mark.parametrize("arguments, message", [
    (["TASK=3.2", "LEVEL=-h"], r"LEVEL must be 1, 2 or 3 .*got '-h'"),
    (["TASK=3.2 3.3"], r"one task at a time.*got '3\.2 3\.3'.*make hint TASK=3\.2"),
])
def test_make_hint_names_what_was_wrong_on_its_command_line(state, arguments, message):
    done = run_make("hint", *arguments, state=state)
    assert done.returncode != 0 and re.search(message, done.stderr), done.stdout + done.stderr
    assert "usage:" not in done.stderr and not state.exists()


def test_make_check_takes_task_as_well_as_tasks():
    done = subprocess.run(["make", "-n", "--no-print-directory", "-o", ".venv/.installed-stamp", "check", "TASK=3.2"],
                          cwd=ROOT, capture_output=True, text=True)
    assert re.search(r"^\S*python\S* tools/check\.py +'3\.2'$", done.stdout, flags=re.MULTILINE), done.stdout + done.stderr


@pytest.mark.parametrize("arguments, message", [("99", "there is no task '99'"),
                                                ("3.2 7", "hint: the level must be 1, 2 or 3"),
                                                ("3.2 3.3", "hint: one task at a time, got '3.2 3.3'"),
                                                ("3.2 3_3", "hint: one task at a time, got '3.2 3_3'"),
                                                ("3.2 2.0", "hint: the level must be 1, 2 or 3")])
def test_a_wrong_hint_from_a_notebook_cell_leaves_no_names_and_suggests_run(state, arguments, message):
    cell = ("before = set(globals())\n"
            f"%run ../tools/hint.py {arguments}\n"
            "print('NAMES', sorted(n for n in set(globals()) - before - {'before'} if not n.startswith('__')))")
    done = subprocess.run([sys.executable, "-m", "IPython", "--quick", "--no-banner", "--colors=nocolor", "-c", cell],
                          cwd=ROOT / "notebooks", capture_output=True, text=True,
                          env={**os.environ, "NN_HINTS_FILE": str(state)}, timeout=120)
    shown = done.stdout + done.stderr
    assert message in shown and "NAMES []" in done.stdout, shown
    if arguments == "99":
        assert "%run ../tools/hint.py 3.2" in shown and "make hint" not in shown, shown
    assert "Traceback" not in shown and "use %tb" not in shown, shown
    assert not state.exists()


def test_a_hint_from_a_notebook_cell_says_how_to_get_the_next_there(state):
    done = subprocess.run([sys.executable, "-m", "IPython", "--quick", "--no-banner", "-c", "%run ../tools/hint.py 6.2"],
                          cwd=ROOT / "notebooks", capture_output=True, text=True,
                          env={**os.environ, "NN_HINTS_FILE": str(state)}, timeout=120)
    assert "Still stuck? %run ../tools/hint.py 6.2 shows hint 2 of 3" in done.stdout, done.stdout + done.stderr

"""The handout gives nothing away: no file of `make handout` holds a line of a solution block.

Builds a handout (tools/sync.py --handout, as `make handout DEST=...` does) and
looks in every text file of it for the code lines of the ``### BEGIN SOLUTION``
blocks in solutions/, ignoring whitespace. Not looked for: trivial lines (fewer
than MIN_TOKENS tokens, such as ``return x`` or ``return model(x)``) and lines
that the reference also has outside its blocks (the kit shows those anyway).
Not looked in: the ``hints=`` of tools/tasks.py, which `make hint` shows only on
request, and the few test functions in ORACLES that need their own copy of a
solution, each with its reason.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, load_tools_module

sync = load_tools_module("sync")

pytestmark = pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="a handout has no solutions/")

MIN_TOKENS = 6
TOKEN = re.compile(r"\d+(?:\.\d+)?|\w+|[^\w\s]")
# Test code that needs its own copy of a solution: (file, function) -> why.
ORACLES = {
    ("tests/test_scalar.py", "Times.backward"): "the task 2.3 tests' own multiplication, so that they do not "
                                                "depend on task 2.1",
    ("tests/test_tensor.py", "log_softmax"): "the whole-engine test's own log-softmax (it tests the reference only)",
}


def squeezed(line: str) -> str:
    """The line without whitespace and without a trailing comment ('  # ...')."""
    return "".join(line.split("  #")[0].split())


def code_cells(text: str, file: str) -> list[list[str]]:
    """The lines of a .py file, or of each code cell of a notebook."""
    if file.endswith(".ipynb"):
        return [sync._cell_lines(cell) for cell in json.loads(text)["cells"] if cell["cell_type"] == "code"]
    return [text.split("\n")]


def solution_lines() -> dict[str, str]:
    """Non-trivial code lines of the solution blocks (squeezed) -> where: 'solutions/nn/functions.py:202'."""
    inside: dict[str, str] = {}
    outside: set[str] = set()
    for file in sync.package_files(ROOT / "solutions"):
        for lines in code_cells((ROOT / "solutions" / file).read_text(encoding="utf-8"), file):
            in_blocks = set()
            for block in sync.find_blocks(lines, file):
                for number in range(block.begin + 1, block.end):
                    in_blocks.add(number)
                    line = lines[number].strip()
                    if line and not line.startswith("#") and len(TOKEN.findall(line)) >= MIN_TOKENS:
                        inside.setdefault(squeezed(line), f"solutions/{file}:{number + 1}")
            outside.update(squeezed(line) for number, line in enumerate(lines) if number not in in_blocks)
    return {line: where for line, where in inside.items() if line not in outside}


def readable_lines(path, name: str) -> list[str]:
    """The lines a person reads in a handout file ([] for a binary file); notebooks cell by cell,
    tools/tasks.py without its ``hints=`` (shown only on request)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return []
    if name.endswith(".ipynb"):
        return [line for cell in json.loads(text)["cells"] for line in sync._cell_lines(cell)]
    lines = text.split("\n")
    hidden: set[int] = set()  # 0-based line numbers
    if name == "tools/tasks.py":
        hidden = {number for node in ast.walk(ast.parse(text)) if isinstance(node, ast.keyword) and node.arg == "hints"
                  for number in range(node.value.lineno - 1, node.value.end_lineno)}
    oracles = {function for file, function in ORACLES if file == name}
    if oracles:
        for function, node in sync.fingerprints.functions(ast.parse(text)):
            if function in oracles:
                hidden.update(range(node.lineno - 1, node.end_lineno))
    return ["" if number in hidden else line for number, line in enumerate(lines)]


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    destination = tmp_path_factory.mktemp("handout") / "kit"
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "sync.py"), "--handout", str(destination)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"tools/sync.py --handout failed:\n{done.stdout}{done.stderr}"
    return destination


def test_the_solution_lines_are_found():
    """The search has something to look for: the blocks of the tasks every participant does."""
    lines = solution_lines()
    assert len(lines) > 50, f"only {len(lines)} solution lines found in solutions/: is the block search broken?"
    packages = {where.split("/")[1] for where in lines.values()}
    assert packages == set(sync.PACKAGES), f"solution lines found only in {sorted(packages)}"


def test_no_handout_file_contains_a_line_of_a_solution(handout):
    wanted = solution_lines()
    found = []
    for path in sorted(handout.rglob("*")):
        name = path.relative_to(handout).as_posix()
        if not path.is_file():
            continue
        for number, line in enumerate(readable_lines(path, name), start=1):
            text = "".join(line.split())
            found += [f"{name}:{number} holds {where}: {squeezed_line}" for squeezed_line, where in wanted.items()
                      if squeezed_line in text]
    assert not found, (f"{len(found)} handout line(s) give a solution away (whitespace removed); say it as a "
                       "goal or a hint (tools/tasks.py hints=) instead:\n  " + "\n  ".join(found))


def test_each_oracle_is_a_function_that_holds_a_solution_line(handout):
    """An exemption is for a function that needs it: it exists and holds a line looked for."""
    wanted = solution_lines()
    unneeded = []
    for file, function in ORACLES:
        text = (handout / file).read_text(encoding="utf-8")
        nodes = [node for name, node in sync.fingerprints.functions(ast.parse(text)) if name == function]
        body = text.split("\n")[nodes[0].lineno - 1:nodes[0].end_lineno] if nodes else []
        if not any(line in "".join(code.split()) for code in body for line in wanted):
            unneeded.append(f"{file}: {function}")
    assert not unneeded, "ORACLES exempts functions that hold no solution line (or no longer exist); " \
                         "remove them:\n  " + "\n  ".join(unneeded)


def test_benchmarks_of_the_reference_stay_with_the_reference(handout):
    assert not (handout / "bench").exists() and not list(handout.rglob("bench_*.py")), \
        "the handout has benchmark scripts; they compare the reference with a hand-written NumPy MLP"


def test_the_tests_of_one_task_run_in_a_handout(handout):
    """`make check` prints `python -m pytest -m task3_2` for tracebacks: in a handout it must run that task's
    tests (and fail at its hole), not stop while collecting the kit's own tests of solutions/."""
    environment = {key: value for key, value in os.environ.items() if key not in ("KIT_IMPL", "PYTHONPATH")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "task3_2", "-q", "-p", "no:cacheprovider"],
                          cwd=handout, capture_output=True, text=True, env=environment, timeout=300)
    output = done.stdout + done.stderr
    assert "error collecting" not in output and "Interrupted" not in output, output[-3000:]
    assert done.returncode == 1 and "NotImplementedError: Task 3.2" in output and " failed" in output, output[-3000:]
    assert "skipped" not in output, f"only the task's own tests are reported:\n{output[-3000:]}"


@pytest.fixture(scope="module")
def handout_python(tmp_path_factory):
    """A Python with what a handout's `make` installs: the runtime and the lab and check extras, linked from
    this venv's distributions (nothing is downloaded); not the kit, not the rest of the test extra."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from test_notebook_setup import distributions_needed, link_distribution

    wanted = []
    for text in metadata.distribution("nn-workshop-kit").requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or any(requirement.marker.evaluate({"extra": e}) for e in ("lab", "check")):
            wanted.append(f"{requirement.name}{requirement.specifier}")
    venv = tmp_path_factory.mktemp("handout-python") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                   check=True, capture_output=True, text=True).stdout.strip()
    for distribution in distributions_needed(wanted).values():
        link_distribution(distribution, Path(site_packages))
    return python


def test_make_check_and_watch_work_with_what_a_handout_installs(handout, handout_python):
    """A handout installs only the lab and check extras: make check (and the pytest line it gives for
    tracebacks) must not need nbval, playwright or threadpoolctl."""
    environment = {key: value for key, value in os.environ.items() if key not in ("KIT_IMPL", "PYTHONPATH")}
    probe = ("import importlib.util\nfor name in ('pytest', 'hypothesis', 'watchfiles', 'jupyterlab', 'nbval', "
             "'playwright', 'threadpoolctl', 'nn'):\n    print(name, importlib.util.find_spec(name) is not None)")
    found = dict(line.split() for line in subprocess.run([handout_python, "-c", probe], cwd=handout.parent, env=environment,
                                                         capture_output=True, text=True, check=True).stdout.splitlines())
    assert found == {"pytest": "True", "hypothesis": "True", "watchfiles": "True", "jupyterlab": "True",
                     "nbval": "False", "playwright": "False", "threadpoolctl": "False", "nn": "False"}, found
    done = subprocess.run([handout_python, "tools/check.py", "1.1", "3.2", "6.3"], cwd=handout, capture_output=True,
                          text=True, env=environment, timeout=300)
    assert done.returncode == 0 and "0 of 3 tasks done" in done.stdout, done.stdout + done.stderr
    assert "not checked" not in done.stdout and "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    done = subprocess.run([handout_python, "-m", "pytest", "-m", "task3_2", "-q", "-p", "no:cacheprovider"],
                          cwd=handout, capture_output=True, text=True, env=environment, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "NotImplementedError: Task 3.2" in output, output[-3000:]
    assert "error collecting" not in output and "ModuleNotFoundError" not in output, output[-3000:]

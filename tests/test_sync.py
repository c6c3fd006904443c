"""tools/sync.py: the participant version generated from solutions/.

Most tests build a tiny kit in tmp_path with a catalogue of their own; the last
ones check the real kit (fresh participant version, handout).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, load_tools_module

sync = load_tools_module("sync")
Task = sync.catalogue.Task

HINTS = ("a question?", "the math", "close to code")
TASKS = (
    Task("1.1", "Square forward", ("nn/ops.py:Square.forward",), "Return x².", HINTS, "slide"),
    Task("1.2", "Square backward", ("nn/ops.py:Square.backward",), "Return 2x.", HINTS, "slide"),
    Task("1.3", "Root", ("nn/ops.py:root",), "Return √x, a goal long enough to be wrapped over two comment lines "
         "of the generated file (N, K) (M, K) (A, B)", HINTS, "slide"),
    Task("2.1", "forward (train.ipynb)", ("notebooks/train.ipynb:forward",), 'Return "the logits".', HINTS, "slide"),
)

OPS = '''\
"""Ops for the tests of sync."""

import math


class Square:
    """x²."""

    @staticmethod
    def forward(x):
        y = x  # kept
        ### BEGIN SOLUTION
        return y * y
        ### END SOLUTION

    def backward(self, x, flag=True):
        if flag:
            for _ in range(1):
                ### BEGIN SOLUTION
                return 2 * x
                ### END SOLUTION
        return 0


def root(x):
    """The whole body is the block."""
    ### BEGIN SOLUTION
    return math.sqrt(x)
    ### END SOLUTION
'''

EXPECTED_OPS = '''\
"""Ops for the tests of sync."""

import math


class Square:
    """x²."""

    @staticmethod
    def forward(x):
        y = x  # kept
        # TODO Task 1.1: Return x².
        #   (stuck? make hint TASK=1.1)
        raise NotImplementedError("Task 1.1: Square forward (nn/ops.py: Square.forward) — Return x². Stuck? make hint TASK=1.1. Check with: make check")

    def backward(self, x, flag=True):
        if flag:
            for _ in range(1):
                # TODO Task 1.2: Return 2x.
                #   (stuck? make hint TASK=1.2)
                raise NotImplementedError("Task 1.2: Square backward (nn/ops.py: Square.backward) — Return 2x. Stuck? make hint TASK=1.2. Check with: make check")
        return 0


def root(x):
    """The whole body is the block."""
    # TODO Task 1.3: Return √x, a goal long enough to be wrapped over two comment lines of the
    #   generated file (N, K) (M, K) (A, B)
    #   (stuck? make hint TASK=1.3)
    raise NotImplementedError("Task 1.3: Root (nn/ops.py: root) — Return √x, a goal long enough to be wrapped over two comment lines of the generated file (N, K) (M, K) (A, B) Stuck? make hint TASK=1.3. Check with: make check")
'''

FORWARD_CELL = "%matplotlib inline\ndef forward(model, x):\n    ### BEGIN SOLUTION\n    return model(x)\n    ### END SOLUTION\n"


def notebook() -> dict:
    def code(cell_id, source, **extra):
        return {"cell_type": "code", "id": cell_id, "metadata": extra.pop("metadata", {}),
                "execution_count": 7, "outputs": [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}],
                "source": source, **extra}

    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
                     "language_info": {"name": "python", "version": "3.11.7"}, "widgets": {"state": {}}},
        "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# Train\n", "Fill in `forward`."]},
            code("setup", ["import nn\n", "print('hi')"]),
            code("forward-cell", FORWARD_CELL.splitlines(keepends=True),
                 metadata={"tags": ["task"], "ExecuteTime": {"end_time": "2026-05-01"}, "scrolled": True}),
        ],
    }


def write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


@pytest.fixture
def kit(tmp_path):
    """A tiny kit: solutions/nn (a file with blocks, one without) and a notebook."""
    write(tmp_path / "solutions/nn/ops.py", OPS)
    write(tmp_path / "solutions/nn/__init__.py", "from .ops import Square, root\n")
    write(tmp_path / "solutions/notebooks/train.ipynb", json.dumps(notebook(), indent=1))
    return tmp_path


def run_sync(kit, tasks=TASKS, **options):
    return sync.sync(kit, tasks, out=io.StringIO(), **options)


def manifest(kit) -> dict[str, str]:
    """file -> SHA-256, as recorded by the last `make sync`."""
    return json.loads((kit / sync.MANIFEST).read_text(encoding="utf-8"))["files"]


def participant_files(kit) -> dict[str, bytes]:
    """Everything outside solutions/ (what a participant sees), path -> bytes."""
    return {p.relative_to(kit).as_posix(): p.read_bytes() for p in sorted(kit.rglob("*"))
            if p.is_file() and p.relative_to(kit).parts[0] != "solutions"}


def test_each_block_becomes_a_todo_and_a_raise_and_the_rest_is_copied_byte_for_byte(kit):
    run_sync(kit)
    assert (kit / "nn/ops.py").read_text(encoding="utf-8") == EXPECTED_OPS


def test_a_file_without_blocks_is_copied_verbatim(kit):
    run_sync(kit)
    assert (kit / "nn/__init__.py").read_bytes() == (kit / "solutions/nn/__init__.py").read_bytes()


def test_the_participant_version_imports_and_each_hole_raises_its_own_task(kit):
    run_sync(kit)
    spec = importlib.util.spec_from_file_location("generated_ops", kit / "nn/ops.py")
    ops = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ops)
    calls = {"1.1": lambda: ops.Square.forward(3), "1.2": lambda: ops.Square().backward(3), "1.3": lambda: ops.root(4)}
    for task_id, call in calls.items():
        with pytest.raises(NotImplementedError, match=rf"^Task {task_id}: .* Check with: make check$"):
            call()


def test_keep_leaves_the_solution_of_chosen_tasks_in_place(kit):
    text = sync.generate(kit, TASKS, keep=frozenset({"1.2"}))["nn/ops.py"]
    assert "                return 2 * x\n" in text
    assert "BEGIN SOLUTION" not in text
    assert "Task 1.1: Square forward" in text


def test_notebooks_get_holes_in_code_cells_and_lose_outputs_and_run_metadata(kit):
    run_sync(kit)
    original = notebook()
    generated = json.loads((kit / "notebooks/train.ipynb").read_text(encoding="utf-8"))
    assert [c["id"] for c in generated["cells"]] == [c["id"] for c in original["cells"]]
    assert generated["cells"][0] == original["cells"][0], "a markdown cell must not change"
    setup, forward = generated["cells"][1], generated["cells"][2]
    assert setup["source"] == original["cells"][1]["source"]
    for cell in (setup, forward):
        assert cell["outputs"] == [] and cell["execution_count"] is None
    assert forward["metadata"] == {"tags": ["task"]}
    assert "widgets" not in generated["metadata"]
    assert forward["source"] == [
        "%matplotlib inline\n",
        "def forward(model, x):\n",
        '    # TODO Task 2.1: Return "the logits".\n',
        '    #   (stuck? make hint TASK=2.1)\n',
        '    raise NotImplementedError("Task 2.1: forward (train.ipynb) (notebooks/train.ipynb: forward) — '
        'Return \\"the logits\\". Stuck? make hint TASK=2.1. Check with: make check")\n',
    ]
    namespace = {}
    exec("".join(forward["source"][1:]), namespace)
    with pytest.raises(NotImplementedError, match=r'^Task 2\.1: .*"the logits"'):
        namespace["forward"](None, 1)


def test_generated_files_are_readable_as_any_new_file_not_private(kit):
    """They are written through a temporary file, which is private; a handout copies the mode, so on a
    shared hub other people could not read a file that kept it."""
    previous = os.umask(0o022)
    try:
        run_sync(kit)
    finally:
        os.umask(previous)
    for name in ("nn/ops.py", "nn/__init__.py", "notebooks/train.ipynb", sync.MANIFEST):
        assert stat.S_IMODE((kit / name).stat().st_mode) == 0o644, name


def test_running_twice_changes_nothing(kit):
    assert run_sync(kit)  # the first run writes
    before = {p: p.stat().st_mtime_ns for p in kit.rglob("*") if p.is_file()}
    assert run_sync(kit) == []
    assert {p: p.stat().st_mtime_ns for p in kit.rglob("*") if p.is_file()} == before
    assert sync.check(kit, TASKS) == []


def test_stale_generated_files_are_deleted_and_nothing_else(kit):
    write(kit / "solutions/nn/old.py", "x = 1\n")
    run_sync(kit)
    (kit / "solutions/nn/old.py").unlink()
    write(kit / "nn/__pycache__/old.cpython-311.pyc", "")
    write(kit / "nn/notes.txt", "mine\n")
    assert "nn/old.py" in run_sync(kit)
    assert not (kit / "nn/old.py").exists()
    assert (kit / "nn/__pycache__/old.cpython-311.pyc").exists() and (kit / "nn/notes.txt").exists()
    assert "nn/old.py" not in manifest(kit)


def test_check_names_a_hand_edited_file_and_says_what_to_do(kit):
    run_sync(kit)
    write(kit / "nn/__init__.py", "from .ops import Square, root  # edited\n")
    write(kit / "nn/extra.py", "")
    messages = sync.check(kit, TASKS)
    assert messages[0] == ("nn/__init__.py differs from what tools/sync.py generates from solutions/: edit "
                           "solutions/ and run `make sync` (generated files are not edited by hand)")
    assert messages[1].startswith("nn/extra.py has no solutions/nn/extra.py")
    assert len(messages) == 2


# --- never losing work ---------------------------------------------------------------------------
# The tiny kits live in tmp_path: not a git checkout, as a handout copy or an unpacked archive.
HOLE_1_1 = EXPECTED_OPS.split("        y = x  # kept\n")[1].split("\n\n")[0] + "\n"  # the TODO lines and the raise

WORK = {
    "code above the untouched raise line": lambda text: text.replace(HOLE_1_1, "        y = y + 0  # mine\n" + HOLE_1_1),
    "the raise line commented out": lambda text: text.replace(
        HOLE_1_1, HOLE_1_1.replace("        raise", "        return y * y\n        # raise")),
    "a helper function outside the holes": lambda text: text + "\n\ndef my_helper(x):\n    return x\n",
}


def an_update(kit) -> None:
    """The organizers change two solution files: make sync has new versions of nn/ops.py and nn/__init__.py."""
    for name, old, new in (("ops.py", "y = x  # kept", "y = x  # kept, updated"),
                           ("__init__.py", "import Square, root", "import Square, root  # updated")):
        path = kit / "solutions/nn" / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        write(path, text.replace(old, new))


@pytest.mark.parametrize("update", [False, True], ids=["same solutions", "updated solutions"])
@pytest.mark.parametrize("change", WORK.values(), ids=WORK)
def test_a_changed_generated_file_stops_sync_before_it_writes_anything(kit, change, update):
    run_sync(kit)
    mine = change(EXPECTED_OPS)
    assert mine != EXPECTED_OPS
    write(kit / "nn/ops.py", mine)
    if update:
        an_update(kit)
    before = participant_files(kit)
    with pytest.raises(sync.SyncError) as caught:
        run_sync(kit)
    message = str(caught.value)
    assert "nn/ops.py" in message and "make sync FORCE=1" in message and "sync-backup/" in message, message
    assert "nn/__init__.py" not in message, "only the changed file is named"
    assert participant_files(kit) == before, "nothing is written when sync refuses"


def test_a_notes_cell_added_to_a_notebook_stops_sync(kit):
    run_sync(kit)
    nb = json.loads((kit / "notebooks/train.ipynb").read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "markdown", "id": "my-notes", "metadata": {}, "source": ["My notes"]})
    write(kit / "notebooks/train.ipynb", json.dumps(nb, indent=1))
    before = participant_files(kit)
    with pytest.raises(sync.SyncError, match=r"notebooks/train\.ipynb"):
        run_sync(kit)
    assert participant_files(kit) == before


@pytest.mark.parametrize("force", [False, True], ids=["plain", "FORCE=1"])
def test_a_participants_own_files_are_never_deleted(kit, force):
    run_sync(kit)
    own = {"nn/my_helpers.py": "def helper(x):\n    return x\n",
           "notebooks/Untitled.ipynb": json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})}
    for name, text in own.items():
        write(kit / name, text)
    an_update(kit)
    written = run_sync(kit, force=force)
    assert "nn/ops.py" in written
    for name, text in own.items():
        assert (kit / name).read_text(encoding="utf-8") == text and name not in written
    assert not (kit / "sync-backup").exists(), "nothing to move aside"


def test_files_nobody_changed_follow_the_solutions(kit):
    run_sync(kit)
    an_update(kit)
    assert sorted(run_sync(kit)) == ["nn/__init__.py", "nn/ops.py"]
    assert "# kept, updated" in (kit / "nn/ops.py").read_text(encoding="utf-8")
    assert sync.check(kit, TASKS) == []


def test_force_moves_changed_files_to_a_dated_backup_folder_and_says_where(kit):
    run_sync(kit)
    mine = WORK["a helper function outside the holes"](EXPECTED_OPS)
    write(kit / "nn/ops.py", mine)
    output = io.StringIO()
    sync.sync(kit, TASKS, force=True, out=output)
    assert (kit / "nn/ops.py").read_text(encoding="utf-8") == EXPECTED_OPS
    [backup] = (kit / "sync-backup").glob("*/nn/ops.py")
    assert backup.read_text(encoding="utf-8") == mine
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{6}", backup.parent.parent.name), backup
    assert f"moved nn/ops.py to {backup.relative_to(kit).as_posix()}" in output.getvalue()
    write(kit / "nn/ops.py", mine + "# again\n")  # a second forced run, maybe in the same second
    run_sync(kit, force=True)
    kept = sorted(path.read_text(encoding="utf-8") for path in (kit / "sync-backup").glob("*/nn/ops.py"))
    assert kept == [mine, mine + "# again\n"], "a backup never replaces an earlier one"


def test_a_changed_file_whose_solution_is_gone_is_moved_aside_not_deleted(kit):
    write(kit / "solutions/nn/old.py", "x = 1\n")
    run_sync(kit)
    (kit / "solutions/nn/old.py").unlink()
    write(kit / "nn/old.py", "x = 2  # mine\n")
    with pytest.raises(sync.SyncError, match=r"nn/old\.py"):
        run_sync(kit)
    assert (kit / "nn/old.py").read_text(encoding="utf-8") == "x = 2  # mine\n"
    run_sync(kit, force=True)
    assert not (kit / "nn/old.py").exists()
    [backup] = (kit / "sync-backup").glob("*/nn/old.py")
    assert backup.read_text(encoding="utf-8") == "x = 2  # mine\n"


def test_the_manifest_records_the_hash_of_every_generated_file(kit):
    run_sync(kit)
    generated = ["nn/__init__.py", "nn/ops.py", "notebooks/train.ipynb"]
    assert manifest(kit) == {name: hashlib.sha256((kit / name).read_bytes()).hexdigest() for name in generated}
    (kit / sync.MANIFEST).unlink()
    assert any(sync.MANIFEST in message for message in sync.check(kit, TASKS)), "a missing manifest is out of date"


def test_the_manifest_records_every_functions_fingerprint_as_generated(kit):
    run_sync(kit)
    recorded = sync.recorded_fingerprints(kit)
    assert {place for task in TASKS for place in task.places} <= set(recorded)
    ops = (kit / "nn/ops.py").read_text(encoding="utf-8")
    assert sync.fingerprints.function_fingerprints("nn/ops.py", ops)["Square.forward"] == \
        recorded["nn/ops.py:Square.forward"]
    assert recorded == sync.fingerprints.all_fingerprints(sync.generate(kit, TASKS))


def test_a_functions_fingerprint_changes_with_its_code_not_with_comments_or_layout():
    def fingerprint(code: str) -> str:
        return sync.fingerprints.function_fingerprints("nn/ops.py", code)["f"]

    generated = "def f(x):\n    # TODO Task 1.1: Return x².\n    raise NotImplementedError('Task 1.1')\n"
    assert fingerprint(generated) == fingerprint("def f(x):\n\n    raise NotImplementedError( 'Task 1.1' )  # later\n")
    assert fingerprint(generated) == fingerprint(generated.replace("    ", "\t")), "tabs for spaces"
    documented = 'def f(x):\n    """Square.\n\n    x: a number."""\n    raise NotImplementedError(\'Task 1.1\')\n'
    assert fingerprint(documented) == fingerprint(generated), "a docstring is not code"
    assert fingerprint(documented) == fingerprint(documented.replace("number.", "float.").replace("    ", "\t"))
    assert fingerprint(generated) != fingerprint(generated + "    return x * x\n")
    assert fingerprint(generated) != fingerprint(generated.replace("(x)", "(x, y)"))
    assert sync.fingerprints.function_fingerprints("nn/ops.py", "def f(:\n") is None, "a syntax error: nothing known"


def other_pythons() -> dict[tuple[int, int], str]:
    """Python 3.10 and newer found on this machine (on the PATH or installed by pyenv), other than this one."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(10, 16)]
    try:  # the real home: conftest.py gives the tests a HOME of their own
        import pwd
        home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    except ImportError:  # Windows
        home = Path.home()
    candidates += sorted(str(path) for path in (home / ".pyenv" / "versions").glob("3.*/bin/python"))
    found = {}
    for python in filter(None, candidates):
        try:
            version = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                                     text=True, timeout=30).stdout.split()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if len(version) == 2 and (int(version[0]), int(version[1])) >= (3, 10):
            found.setdefault((int(version[0]), int(version[1])), python)
    found.pop(sys.version_info[:2], None)
    return found


def test_every_python_gives_the_same_fingerprints():
    """The manifest is written with the organizer's Python; the check runs with the participant's. With
    ast.dump every function read as changed under 3.12 and 3.13 (their dump adds type_params=[])."""
    pythons = other_pythons()
    if not pythons:
        pytest.skip("no other Python 3.10+ on this machine to compare with")
    texts = {file: (ROOT / file).read_text(encoding="utf-8") for file in sync.read_manifest(ROOT)[0]}
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]); import fingerprints; "
              "print(json.dumps(fingerprints.all_fingerprints(json.load(sys.stdin))))")
    here = sync.fingerprints.all_fingerprints(texts)
    assert len(here) > 300
    for version, python in pythons.items():
        there = subprocess.run([python, "-c", script, str(ROOT / "tools")], input=json.dumps(texts),
                               capture_output=True, text=True, timeout=120, check=True).stdout
        differ = [place for place, value in json.loads(there).items() if here.get(place) != value]
        assert differ == [], f"Python {version}: {len(differ)} fingerprints differ, e.g. {differ[:3]}"


def test_in_a_notebook_the_last_definition_of_a_function_counts():
    cells = [{"cell_type": "code", "source": ["%matplotlib inline\n", "def f():\n", "    return 1\n"]},
             {"cell_type": "markdown", "source": "def f(): nothing"},
             {"cell_type": "code", "source": "def f():\n    return 2\n"}]
    found = sync.fingerprints.function_fingerprints("notebooks/train.ipynb", json.dumps({"cells": cells}))
    again = sync.fingerprints.function_fingerprints("nn/ops.py", "def f():\n    return 2\n")
    assert found == again, found
    assert sync.fingerprints.function_fingerprints("notebooks/train.ipynb", "<<<<<<< HEAD") is None


@pytest.mark.parametrize("manifest_text", [None, "<<<<<<< HEAD\n{}\n"], ids=["no manifest", "unreadable manifest"])
def test_without_a_usable_manifest_only_files_identical_to_the_generated_ones_are_replaced(kit, manifest_text):
    def spoil_manifest():
        if manifest_text is None:
            (kit / sync.MANIFEST).unlink()
        else:
            write(kit / sync.MANIFEST, manifest_text)

    run_sync(kit)
    spoil_manifest()
    assert run_sync(kit) == [], "files identical to the generated ones need nothing"
    assert manifest(kit), "the manifest is written again"
    spoil_manifest()
    an_update(kit)
    with pytest.raises(sync.SyncError, match=r"nn/ops\.py") as caught:
        run_sync(kit)
    assert sync.MANIFEST in str(caught.value), "the message says why sync cannot tell"


def test_a_file_that_differs_only_in_line_endings_counts_as_untouched(kit):
    run_sync(kit)
    write(kit / "nn/ops.py", EXPECTED_OPS.replace("\n", "\r\n"))  # git's autocrlf on Windows
    an_update(kit)
    assert "nn/ops.py" in run_sync(kit)
    assert "# kept, updated" in (kit / "nn/ops.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("how", ["git pull", "new solutions/ copied in"])
def test_after_an_update_only_the_participants_changed_files_stop_sync(kit, tmp_path_factory, how):
    """A participant's kit with work in nn/ops.py gets version 2 of the kit."""
    run_sync(kit)
    upstream = tmp_path_factory.mktemp("upstream")
    shutil.copytree(kit, upstream, dirs_exist_ok=True)
    an_update(upstream)
    run_sync(upstream)
    fill = WORK["code above the untouched raise line"]
    write(kit / "nn/ops.py", fill(EXPECTED_OPS))
    if how == "git pull":  # git updates what the participant did not change and merges what they did
        for name in ("solutions/nn/ops.py", "solutions/nn/__init__.py", "nn/__init__.py", sync.MANIFEST):
            shutil.copy2(upstream / name, kit / name)
        write(kit / "nn/ops.py", fill((upstream / "nn/ops.py").read_text(encoding="utf-8")))
    else:
        shutil.copytree(upstream / "solutions", kit / "solutions", dirs_exist_ok=True)
    mine = (kit / "nn/ops.py").read_text(encoding="utf-8")
    with pytest.raises(sync.SyncError) as caught:
        run_sync(kit)
    assert "nn/ops.py" in str(caught.value) and "nn/__init__.py" not in str(caught.value)
    run_sync(kit, force=True)
    assert participant_files(kit)["nn/ops.py"] == (upstream / "nn/ops.py").read_bytes()
    assert participant_files(kit)["nn/__init__.py"] == (upstream / "nn/__init__.py").read_bytes()
    [backup] = (kit / "sync-backup").glob("*/nn/ops.py")
    assert backup.read_text(encoding="utf-8") == mine


# --- never leaking a solution ------------------------------------------------------------------
@pytest.mark.parametrize("cell_type", ["markdown", "raw"])
def test_a_solution_block_outside_a_code_cell_is_an_error_and_nothing_is_written(kit, cell_type):
    nb = notebook()
    nb["cells"].append({"cell_type": cell_type, "id": "leak", "metadata": {},
                        "source": ["The answer:\n", "### BEGIN SOLUTION\n", "return model(x)\n", "### END SOLUTION\n"]})
    write(kit / "solutions/notebooks/train.ipynb", json.dumps(nb, indent=1))
    with pytest.raises(sync.SyncError, match=rf"solutions/notebooks/train\.ipynb cell 4 line 2: .*{cell_type} cell"):
        run_sync(kit)
    assert participant_files(kit) == {}


MISSPELLED = ["### Begin Solution", "### begin solution", "## BEGIN SOLUTION", "#### BEGIN SOLUTION",
              "#BEGIN SOLUTION", "### BEGIN_SOLUTION"]


@pytest.mark.parametrize("marker", MISSPELLED)
@pytest.mark.parametrize("where", ["solutions/nn/ops.py", "solutions/notebooks/train.ipynb"])
def test_a_marker_spelled_differently_is_an_error_and_nothing_is_written(kit, marker, where):
    end = marker.replace("BEGIN", "END").replace("Begin", "End").replace("begin", "end")
    path = kit / where
    text = path.read_text(encoding="utf-8")
    write(path, text.replace("### BEGIN SOLUTION", marker).replace("### END SOLUTION", end))
    with pytest.raises(sync.SyncError) as caught:
        run_sync(kit)
    message = str(caught.value)
    assert where in message and repr(marker) in message and "exactly '### BEGIN SOLUTION'" in message, message
    assert participant_files(kit) == {}


def test_a_utf8_bom_is_accepted_as_python_accepts_it(kit):
    bom = b"\xef\xbb\xbf"
    (kit / "solutions/nn/ops.py").write_bytes(bom + OPS.encode("utf-8"))
    (kit / "solutions/notebooks/train.ipynb").write_bytes(bom + json.dumps(notebook(), indent=1).encode("utf-8"))
    run_sync(kit)
    generated = (kit / "nn/ops.py").read_bytes()
    assert generated == bom + EXPECTED_OPS.encode("utf-8"), "the BOM is kept, like every byte outside the blocks"
    compile(generated, "nn/ops.py", "exec")
    assert "Task 2.1" in (kit / "notebooks/train.ipynb").read_text(encoding="utf-8")


def function(body: str) -> str:
    return "def root(x):\n" + textwrap.indent(textwrap.dedent(body), "    ")


@pytest.mark.parametrize(("source", "error"), [
    (function("### BEGIN SOLUTION\nreturn x\n"), r"line 2: ### BEGIN SOLUTION is never closed"),
    (function("return x\n### END SOLUTION\n"), r"line 3: ### END SOLUTION without a ### BEGIN SOLUTION"),
    (function("### BEGIN SOLUTION\n### BEGIN SOLUTION\nreturn x\n### END SOLUTION\n### END SOLUTION\n"),
     r"line 3: .*cannot be nested"),
    (function("return x  ### BEGIN SOLUTION\n"), r"line 2: a solution marker must be a line of its own"),
    (function("### BEGIN SOLUTION: the answer\nreturn x\n### END SOLUTION\n"),
     r"line 2: .*a marker line is exactly '### BEGIN SOLUTION'.*goal in tools/tasks.py"),
    (function("### BEGIN SOLUTION\n# only a comment\n### END SOLUTION\n"), r"the solution block is empty"),
    ("### BEGIN SOLUTION\nX = 1\n### END SOLUTION\n", r"line 1: the solution block is not inside a function"),
    (function("### BEGIN SOLUTION\nreturn x\n  ### END SOLUTION\n"), r"indented differently"),
])
def test_malformed_blocks_are_errors_that_say_where(kit, source, error):
    write(kit / "solutions/nn/ops.py", source)
    with pytest.raises(sync.SyncError, match=error) as caught:
        sync.generate(kit, TASKS[2:3])
    assert "solutions/nn/ops.py" in str(caught.value)


def test_a_block_of_no_task_is_an_error_naming_the_place_to_add(kit):
    write(kit / "solutions/nn/extra.py", function("### BEGIN SOLUTION\nreturn x\n### END SOLUTION\n"))
    with pytest.raises(sync.SyncError, match=r"solutions/nn/extra.py line 2: .*belongs to no task: add 'nn/extra.py:root'"):
        sync.generate(kit, TASKS)
    assert not (kit / "nn").exists(), "nothing is written when solutions/ and the catalogue disagree"


def test_a_place_of_two_tasks_is_an_error(kit):
    twice = TASKS + (Task("9.9", "Again", ("nn/ops.py:root",), "goal", HINTS, "slide"),)
    with pytest.raises(sync.SyncError, match=r"'nn/ops.py:root' is a place of task 1.3 and of task 9.9"):
        sync.generate(kit, twice)


def test_a_task_place_without_a_block_is_an_error(kit):
    extra = TASKS + (Task("9.9", "Missing", ("nn/ops.py:Square.missing",), "goal", HINTS, "slide"),)
    with pytest.raises(sync.SyncError, match=r"(?s)no solution block.*task 9.9: nn/ops.py:Square.missing"):
        sync.generate(kit, extra)


# --- the real kit ------------------------------------------------------------------------------
needs_solutions = pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="a handout has no solutions/")


@needs_solutions
def test_the_committed_participant_version_is_what_make_sync_generates():
    done = subprocess.run([sys.executable, str(ROOT / "tools/sync.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, f"the participant version is out of date:\n{done.stderr}{done.stdout}"


@needs_solutions
def test_handout_copies_the_kit_without_solutions(tmp_path):
    destination = tmp_path / "handout"
    sync.handout(ROOT, destination, out=io.StringIO())
    assert not (destination / "solutions").exists()
    for name in ("Makefile", "README.md", "nn/__init__.py", "tools/check.py", "tests/conftest.py"):
        assert (destination / name).is_file(), f"{name} is missing from the handout"
    assert (destination / "nn/functions.py").read_bytes() == (ROOT / "nn/functions.py").read_bytes()
    assert not (destination / ".venv").exists()
    with pytest.raises(sync.SyncError, match="is not empty"):
        sync.handout(ROOT, destination, out=io.StringIO())
    assert (destination / sync.MANIFEST).read_bytes() == (ROOT / sync.MANIFEST).read_bytes()


def run_tool(*arguments, cwd=ROOT, prefix=()) -> subprocess.CompletedProcess:
    """A tool run as a person runs it: without the test suite's switch to the reference.
    ``prefix``: a command the tool runs under (see ``unwritable``)."""
    env = {name: value for name, value in os.environ.items() if name not in ("KIT_IMPL", "PYTHONPATH")}
    return subprocess.run([*prefix, sys.executable, *map(str, arguments)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@contextlib.contextmanager
def unwritable(folder: Path):
    """``folder`` made unwritable for a tool run under the yielded command prefix. A user loses the
    write permission; root, who writes anywhere, gets the folder mounted read-only in a mount
    namespace of the tool's own (``unshare -m``), so no other process sees a change."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        try:
            yield ()
        finally:
            folder.chmod(0o700)
        return
    if shutil.which("unshare") is None:
        pytest.skip("root writes anywhere, and this machine has no unshare for a read-only mount")
    remount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    prefix = ("unshare", "-m", "sh", "-c", remount, str(folder))
    probe = subprocess.run([*prefix, "sh", "-c", 'touch "$0/probe"', str(folder)], capture_output=True, text=True)
    if probe.returncode == 0 or "Read-only file system" not in probe.stderr:
        (folder / "probe").unlink(missing_ok=True)
        pytest.skip(f"root writes anywhere, and this machine gives no read-only mount to a test: {probe.stderr.strip()}")
    yield prefix


def one_clear_line(done: subprocess.CompletedProcess) -> str:
    """The single line a failed command printed (no traceback)."""
    assert done.returncode != 0, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@needs_solutions
def test_handout_into_a_folder_under_the_home_folder_written_with_a_tilde(tmp_path):
    """zsh passes make DEST=~/kit-handout with its ~ as it is: the kit said that DEST must be outside the kit."""
    environment = {name: value for name, value in os.environ.items() if name not in ("KIT_IMPL", "PYTHONPATH")}
    done = subprocess.run([sys.executable, str(ROOT / "tools/sync.py"), "--handout", "~/kit-handout"], cwd=ROOT,
                          env={**environment, "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and (tmp_path / "kit-handout" / "Makefile").is_file(), done.stdout + done.stderr
    assert not (ROOT / "~").exists()


@needs_solutions
@pytest.mark.parametrize("under", [False, True], ids=["DEST is a file", "DEST under a file"])
def test_handout_into_a_file_is_one_clear_line(tmp_path, under):
    taken = tmp_path / "taken.txt"
    taken.write_text("not a folder\n", encoding="utf-8")
    line = one_clear_line(run_tool(ROOT / "tools/sync.py", "--handout", taken / "kit" if under else taken))
    assert f"{taken} is a file" in line, line
    assert taken.read_text(encoding="utf-8") == "not a folder\n"


@needs_solutions
@pytest.mark.parametrize("exists", [False, True], ids=["new DEST", "empty DEST"])
def test_handout_that_cannot_write_says_so_and_leaves_nothing_half_copied(tmp_path, monkeypatch, exists):
    """A read-only DEST (simulated: the tests may run as root, who can write anywhere)."""
    destination = tmp_path / "outer" / "kit"
    if exists:
        destination.mkdir(parents=True)
    copied = []
    copy = shutil.copy2

    def copy_then_fail(source, target, **options):
        if len(copied) == 3:
            raise PermissionError(13, "Permission denied", str(target))
        copied.append(target)
        return copy(source, target, **options)

    monkeypatch.setattr(sync.shutil, "copy2", copy_then_fail)
    with pytest.raises(sync.SyncError) as caught:
        sync.handout(ROOT, destination, out=io.StringIO())
    message = str(caught.value)
    assert "\n" not in message and "Permission denied" in message and str(destination) in message, message
    assert list(tmp_path.rglob("*")) == ([tmp_path / "outer", destination] if exists else []), "nothing half-copied"


@needs_solutions
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and mounts")
def test_handout_into_a_read_only_folder_is_one_clear_line(tmp_path):
    with unwritable(tmp_path) as prefix:
        line = one_clear_line(run_tool(ROOT / "tools/sync.py", "--handout", tmp_path / "kit", prefix=prefix))
    assert "Permission denied" in line or "Read-only file system" in line, line
    assert str(tmp_path / "kit") in line and "nothing was left there" in line, line
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def handout_copy(tmp_path_factory):
    """A participant's handout copy of the kit (no solutions/), made as `make handout` makes it."""
    if not (ROOT / "solutions").is_dir():
        return ROOT
    destination = tmp_path_factory.mktemp("handout") / "kit"
    sync.handout(ROOT, destination, out=io.StringIO())
    return destination


def test_make_sync_in_a_handout_says_it_needs_solutions_and_changes_nothing(handout_copy):
    before = participant_files(handout_copy)
    line = one_clear_line(run_tool("tools/sync.py", cwd=handout_copy))
    assert "solutions/" in line and "handout" in line, line
    assert participant_files(handout_copy) == before


def test_make_handout_in_a_handout_says_it_is_one_already(handout_copy, tmp_path):
    line = one_clear_line(run_tool("tools/sync.py", "--handout", tmp_path / "again", cwd=handout_copy))
    assert "a handout copy already" in line and "make sync" not in line, line
    assert not (tmp_path / "again").exists()


def test_make_handout_in_a_handout_someone_worked_in_names_the_changed_files(handout_copy, tmp_path):
    """A copy with tasks solved in it is not one to hand out: it said 'you can hand it out as it is'."""
    worked_in = tmp_path / "kit"
    shutil.copytree(handout_copy, worked_in)
    (worked_in / "nn" / "pool.py").write_text((worked_in / "nn" / "pool.py").read_text() + "# my answer\n")
    line = one_clear_line(run_tool("tools/sync.py", "--handout", tmp_path / "again", cwd=worked_in))
    assert "no longer as they were handed out" in line and "nn/pool.py." in line, line
    assert "hand it out as it is" not in line and "nn/conv.py" not in line, line
    assert "you can hand it out as it is" in one_clear_line(
        run_tool("tools/sync.py", "--handout", tmp_path / "again", cwd=handout_copy))
    assert not (tmp_path / "again").exists()


def test_make_train_in_a_handout_says_what_it_needs(handout_copy):
    """tools/train.py trains the reference (its loop and accuracy are answers of tasks 6.2 and 6.3), so a handout
    has none: make train says where to train instead, and fails, having trained nothing."""
    assert not (handout_copy / "tools" / "train.py").exists()
    done = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed-stamp", "train"], cwd=handout_copy,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "solutions/" in done.stderr and "notebooks/train.ipynb" in done.stderr, done.stderr


# --- make handout agrees with make sync ---------------------------------------------------------------
@pytest.fixture
def git_kit(kit):
    """The tiny kit as a git checkout (make handout lists the kit's files with git), synced once."""
    if shutil.which("git") is None:
        pytest.skip("make handout needs git")
    subprocess.run(["git", "init", "-q"], cwd=kit, check=True)
    write(kit / ".gitignore", f"{sync.BACKUPS}/\n")
    run_sync(kit)
    return kit


def handout_of(kit, destination, out=None):
    return sync.handout(kit, destination, out=out or io.StringIO(), tasks=TASKS)


def test_a_file_sync_never_wrote_is_left_out_of_the_handout_and_both_say_so(git_kit, tmp_path_factory):
    write(git_kit / "nn/my_helpers.py", "def helper(x):\n    return x\n")
    said_by_sync = io.StringIO()
    sync.sync(git_kit, TASKS, out=said_by_sync)
    assert "nn/my_helpers.py" in said_by_sync.getvalue() and "make handout" in said_by_sync.getvalue()
    destination = tmp_path_factory.mktemp("out") / "kit"
    said = io.StringIO()
    handout_of(git_kit, destination, said)
    assert "nn/my_helpers.py" in said.getvalue() and "not copied" in said.getvalue(), said.getvalue()
    assert "out of date" not in said.getvalue() and "make sync` first" not in said.getvalue(), said.getvalue()
    assert not (destination / "nn/my_helpers.py").exists()
    assert (destination / "nn/ops.py").read_bytes() == (git_kit / "nn/ops.py").read_bytes()
    assert (git_kit / "nn/my_helpers.py").is_file(), "the organizer's file stays where it is"


@pytest.mark.parametrize("copy", ["solutions-2025", "tools/answers.py"])
def test_a_copy_of_the_solutions_stops_the_handout_and_is_named(git_kit, tmp_path_factory, copy):
    if copy.endswith(".py"):
        (git_kit / copy).parent.mkdir(exist_ok=True)
        shutil.copy(git_kit / "solutions/nn/ops.py", git_kit / copy)
    else:
        shutil.copytree(git_kit / "solutions", git_kit / copy)
    destination = tmp_path_factory.mktemp("out") / "kit"
    with pytest.raises(sync.SyncError, match=rf"solution blocks .*{re.escape(copy)}.*Move them out") as caught:
        handout_of(git_kit, destination)
    assert "\n" not in str(caught.value), caught.value
    assert not destination.exists()
    assert (git_kit / copy).exists(), "the organizer's copy stays where it is"


def commit_all(kit) -> None:
    subprocess.run(["git", "add", "-A"], cwd=kit, check=True)
    subprocess.run(["git", "-c", "user.name=kit", "-c", "user.email=kit@127.0.0.1", "commit", "-qm", "kit"],
                   cwd=kit, check=True)


def test_a_file_git_does_not_track_is_named_when_it_is_handed_out(git_kit, tmp_path_factory):
    commit_all(git_kit)
    write(git_kit / "notes-for-the-room.md", "the wifi password\n")
    said = io.StringIO()
    handout_of(git_kit, tmp_path_factory.mktemp("out") / "kit", said)
    assert re.search(r"copied, though git does not track them.*: notes-for-the-room\.md\n", said.getvalue()), said.getvalue()


def test_a_file_with_changes_not_committed_is_named_when_it_is_handed_out(git_kit, tmp_path_factory):
    """An edit of a tracked file reached the handout without a word, while a new file was named."""
    write(git_kit / "notes-for-the-room.md", "the room: 2.14\n")
    commit_all(git_kit)
    write(git_kit / "notes-for-the-room.md", "the room: 3.01, and the wifi password\n")
    said = io.StringIO()
    handout_of(git_kit, tmp_path_factory.mktemp("out") / "kit", said)
    assert re.search(r"copied with changes not committed yet.*: notes-for-the-room\.md\n", said.getvalue()), said.getvalue()
    assert "git does not track" not in said.getvalue(), said.getvalue()


def test_a_changed_generated_file_stops_the_handout_with_advice_that_works(git_kit, tmp_path_factory):
    write(git_kit / "nn/ops.py", WORK["the raise line commented out"](EXPECTED_OPS))
    destination = tmp_path_factory.mktemp("out") / "kit"
    with pytest.raises(sync.SyncError) as caught:
        handout_of(git_kit, destination)
    message = str(caught.value)
    assert "nn/ops.py" in message and "git checkout -- nn/ops.py" in message and "make sync FORCE=1" in message, message
    assert "run `make sync` first" not in message, "plain make sync refuses a changed file"
    assert not destination.exists()
    with pytest.raises(sync.SyncError):
        run_sync(git_kit)  # what plain make sync does with it
    run_sync(git_kit, force=True)  # the advice
    handout_of(git_kit, destination)
    assert (destination / "nn/ops.py").read_text(encoding="utf-8") == EXPECTED_OPS


def test_an_out_of_date_participant_version_stops_the_handout_until_make_sync(git_kit, tmp_path_factory):
    an_update(git_kit)
    destination = tmp_path_factory.mktemp("out") / "kit"
    with pytest.raises(sync.SyncError, match=r"out of date.*run `make sync` first.*\n  nn/__init__\.py\n  nn/ops\.py"):
        handout_of(git_kit, destination)
    run_sync(git_kit)  # the advice
    handout_of(git_kit, destination)
    assert "# kept, updated" in (destination / "nn/ops.py").read_text(encoding="utf-8")


def test_handout_outside_a_git_checkout_says_it_needs_one(kit, tmp_path_factory):
    run_sync(kit)  # the tiny kit is not a git checkout: an unpacked ZIP download
    destination = tmp_path_factory.mktemp("out") / "kit"
    with pytest.raises(sync.SyncError) as caught:
        handout_of(kit, destination)
    message = str(caught.value)
    assert "not a git checkout" in message and "git init" in message and "exit status" not in message, message
    assert not destination.exists()


def test_handout_onto_a_full_disk_says_the_disk_is_full(git_kit, tmp_path_factory, monkeypatch):
    import errno

    def no_space(source, target, **options):
        raise OSError(errno.ENOSPC, "No space left on device", str(source))

    monkeypatch.setattr(sync.shutil, "copy2", no_space)
    destination = tmp_path_factory.mktemp("out") / "kit"
    with pytest.raises(sync.SyncError) as caught:
        handout_of(git_kit, destination)
    message = str(caught.value)
    assert "full" in message and str(destination) in message and "write to" not in message, message
    assert str(git_kit) not in message, "the kit's own file is not what went wrong"
    assert not destination.exists()


@pytest.mark.parametrize("existing", [False, True], ids=["a new folder", "an empty folder"])
def test_a_handout_stopped_by_ctrl_c_leaves_no_half_copied_kit(git_kit, tmp_path_factory, monkeypatch, existing):
    """Stopped in the middle, it left 49 of 104 files, which looked like a kit; make handout then refused the
    folder as not empty without saying why."""
    copy2, copied = sync.shutil.copy2, []

    def interrupted_at_the_fifth(source, target, **options):
        if len(copied) == 4:
            raise KeyboardInterrupt
        copied.append(target)
        return copy2(source, target, **options)

    monkeypatch.setattr(sync.shutil, "copy2", interrupted_at_the_fifth)
    destination = tmp_path_factory.mktemp("out") / "kit"
    if existing:
        destination.mkdir()
    with pytest.raises(KeyboardInterrupt):
        handout_of(git_kit, destination)
    assert len(copied) == 4
    assert (list(destination.iterdir()) == []) if existing else not destination.exists()


def readme_build_outputs() -> list[str]:
    """What the README's JupyterLite and slide steps write into the kit's folder."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lite = re.search(r"mkdir -p (\w+)/", readme).group(1)
    site = re.search(r"--output-dir (\w+)", readme).group(1)
    pdf = re.search(r"writes\s+`([\w.-]+\.pdf)`", readme).group(1)
    return [f"{lite}/data/mnist-sample.npz", f"{lite}/nn/tensor.py", f"{site}/lab/index.html", pdf,
            ".jupyterlite.doit.db", "pyodide-0.27.7.tar.bz2"]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_the_readmes_build_outputs_are_ignored_by_git_so_not_handed_out():
    for path in readme_build_outputs():
        done = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT)
        assert done.returncode == 0, f"{path} is not git-ignored: make handout would copy it (add it to .gitignore)"


@needs_solutions
def test_the_readmes_example_of_a_line_that_does_not_count_is_no_solution_line():
    """The README shows an example of a short line the handout check lets through: not a line of a solution."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    bullet = readme.split("**The handout gives nothing away**", 1)[1].split("\n- ", 1)[0]
    examples = re.findall(r"such as `([^`]+)`", bullet)
    assert examples, bullet
    solution_lines = set()
    for file in sync.package_files(ROOT / "solutions"):
        text = (ROOT / "solutions" / file).read_text(encoding="utf-8")
        cells = ([sync._cell_lines(cell) for cell in json.loads(text)["cells"]] if file.endswith(".ipynb")
                 else [text.split("\n")])
        for lines in cells:
            for block in sync.find_blocks(lines, file):
                solution_lines.update(line.strip() for line in lines[block.begin + 1:block.end])
    for example in examples:
        assert example.strip() not in solution_lines, f"the README shows `{example}`, a line of a solution"


@needs_solutions
def test_what_the_readme_says_stays_in_solutions_is_there():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in re.findall(r"`([\w./-]+)` stays? in `solutions/`", readme):
        assert list((ROOT / "solutions").rglob(name)), f"the README says {name} stays in solutions/; there is none"

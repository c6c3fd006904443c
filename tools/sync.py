"""Generate the participant version (nn/, act/, loss/, notebooks/) from solutions/.

    python tools/sync.py                 write the participant version (= make sync)
    python tools/sync.py --check         list generated files that are out of date (exit 1 if any)
    python tools/sync.py --handout DEST  copy the kit without solutions/ into DEST (= make handout)

Every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` block (whole lines, inside a
function) becomes, at the block's indentation::

    # TODO Task 3.2: <the task's goal, wrapped over as many comment lines as it needs>
    #   (stuck? make hint TASK=3.2)
    raise NotImplementedError("Task 3.2: Matrix multiplication (nn/functions.py: MatMul.forward) — <goal> ...")

The task is found from the enclosing function (``nn/functions.py:MatMul.forward``,
``notebooks/train.ipynb:forward``) in the catalogue, tools/tasks.py, which holds
the goal (what a participant sees: no code) and the hints (shown on request by
``make hint``). A marker line is exactly ``### BEGIN SOLUTION``. Everything
outside the blocks is copied byte for byte; notebooks lose their outputs and
run-specific metadata. The result depends on solutions/ and the catalogue only,
so running it twice changes nothing.

Nothing is lost: ``.sync-manifest.json`` records the SHA-256 of every file sync
wrote. A top-level file is overwritten or deleted only while it still has that
hash (or is already what sync would write now); anything else is someone's
work, and sync stops, writing nothing, unless ``--force``, which first moves
those files to ``sync-backup/<date>_<time>/``. Files sync never wrote are left
alone.
"""

from __future__ import annotations

import argparse
import ast
import errno
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))
import hints  # noqa: E402  (tools/hints.py)
import fingerprints  # noqa: E402  (tools/fingerprints.py)
from files import write_atomically  # noqa: E402  (tools/files.py)
import tasks as catalogue  # noqa: E402  (tools/tasks.py)

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("nn", "act", "loss", "notebooks")
SUFFIXES = (".py", ".ipynb")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# Anything that looks like a marker (any case, any number of #): a misspelled marker would
# otherwise be copied with its solution into the participant version.
MARKER_LIKE = re.compile(r"#+\s*(BEGIN|END)[\s_-]*SOLUTION", re.IGNORECASE)
BOM = "\ufeff"  # Python accepts a UTF-8 byte-order mark at the start of a source file
MANIFEST = ".sync-manifest.json"  # what sync generated: file -> SHA-256
BACKUPS = "sync-backup"  # FORCE moves changed files into a dated folder here
TODO_WIDTH = 100  # the TODO comment is wrapped to this many columns


class SyncError(Exception):
    """solutions/ and the catalogue disagree; the message says where and what to do."""


@dataclass(frozen=True)
class Block:
    """One solution block: the line numbers (0-based) of its two markers."""

    begin: int
    end: int
    indent: str


@dataclass(frozen=True)
class Hole:
    """A block with the task it belongs to."""

    block: Block
    place: str  # 'nn/functions.py:MatMul.forward'
    task: catalogue.Task


# --- finding the blocks ----------------------------------------------------------------------
def find_blocks(lines: list[str], where: str) -> list[Block]:
    """The solution blocks of ``lines`` in order; SyncError for unbalanced, nested or inline markers."""
    blocks: list[Block] = []
    opened: tuple[int, str] | None = None
    for number, line in enumerate(lines):
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if stripped.startswith(BEGIN):
            if opened is not None:
                raise SyncError(f"{where} line {number + 1}: {BEGIN} inside the block opened on line "
                                f"{opened[0] + 1} (blocks cannot be nested; close it with {END} first)")
            if stripped != BEGIN:
                raise SyncError(f"{where} line {number + 1}: {stripped!r}: a marker line is exactly '{BEGIN}' "
                                "(what participants read is the task's goal in tools/tasks.py, its hints are "
                                "the task's hints there)")
            opened = (number, indent)
        elif stripped.startswith(END):
            if opened is None:
                raise SyncError(f"{where} line {number + 1}: {END} without a {BEGIN} before it")
            if indent != opened[1]:
                raise SyncError(f"{where} line {number + 1}: {END} is indented differently from the "
                                f"{BEGIN} on line {opened[0] + 1} (put both at the indentation of the code)")
            blocks.append(Block(opened[0], number, opened[1]))
            opened = None
        elif MARKER_LIKE.search(line):
            raise SyncError(f"{where} line {number + 1}: a solution marker must be a line of its own, "
                            f"exactly '{BEGIN}' or '{END}' (three #, capitals; found {stripped!r})")
    if opened is not None:
        raise SyncError(f"{where} line {opened[0] + 1}: {BEGIN} is never closed by {END}")
    return blocks


def _parsable(lines: list[str]) -> str:
    """The code with IPython magics (``%…``, ``!…``) blanked, so ``ast`` can parse a notebook cell."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _code_lines(lines: list[str], block: Block) -> list[int]:
    """1-based numbers of the lines inside ``block`` that hold code (not blank, not comments)."""
    return [n + 1 for n in range(block.begin + 1, block.end)
            if lines[n].strip() and not lines[n].lstrip().startswith("#")]


def enclosing_function(lines: list[str], functions: list[tuple[str, ast.AST]], block: Block, where: str) -> str:
    """The qualified name of the innermost of ``functions`` whose body contains the whole block."""
    code = _code_lines(lines, block)
    first, last = code[0], code[-1]
    inside = [(name, node) for name, node in functions
              if node.body[0].lineno <= first and last <= node.end_lineno and node.lineno < first]
    if not inside:
        raise SyncError(f"{where} line {block.begin + 1}: the solution block is not inside a function body "
                        f"(a block must sit inside one function, whose name tools/tasks.py lists as a place)")
    name, node = max(inside, key=lambda item: item[1].lineno)
    if len(block.indent) <= node.col_offset:
        raise SyncError(f"{where} line {block.begin + 1}: the markers must be indented like the code of {name}")
    return name


def find_holes(lines: list[str], file: str, places: dict[str, catalogue.Task], where: str) -> list[Hole]:
    """The blocks of one file (or notebook cell) with their tasks; SyncError for a block of no task."""
    blocks = find_blocks(lines, where)
    if not blocks:
        return []
    for block in blocks:
        if not _code_lines(lines, block):
            raise SyncError(f"{where} line {block.begin + 1}: the solution block is empty "
                            "(put the reference code between the markers)")
    try:
        functions = fingerprints.functions(ast.parse(_parsable(lines)))
    except SyntaxError as error:
        raise SyncError(f"{where} line {error.lineno}: not valid Python ({error.msg}); fix the reference first") from None
    holes = []
    for block in blocks:
        place = f"{file}:{enclosing_function(lines, functions, block, where)}"
        if place not in places:
            raise SyncError(f"{where} line {block.begin + 1}: the solution block in {place.split(':')[1]} belongs "
                            f"to no task: add '{place}' to the places of a task in tools/tasks.py")
        holes.append(Hole(block, place, places[place]))
    return holes


def places_of(tasks: Iterable[catalogue.Task]) -> dict[str, catalogue.Task]:
    """place -> task; SyncError when a place is listed by two tasks."""
    places: dict[str, catalogue.Task] = {}
    for task in tasks:
        for place in task.places:
            if place in places:
                raise SyncError(f"tools/tasks.py: '{place}' is a place of task {places[place].id} and of task "
                                f"{task.id}; a solution block belongs to exactly one task")
            places[place] = task
    return places


# --- writing the holes -----------------------------------------------------------------------
def hole_message(task: catalogue.Task, place: str) -> str:
    """The NotImplementedError text of a hole: task, place, goal, where help is."""
    file, name = place.split(":")
    goal = " ".join(task.goal.split())
    return (f"Task {task.id}: {task.title} ({file}: {name}) — {goal} "
            f"Stuck? make hint TASK={task.id}. Check with: make check")


def hole_lines(hole: Hole, newline_tail: str = "") -> list[str]:
    """The lines that replace a block: the goal as a TODO comment, and a raise with the same text."""
    task, indent = hole.task, hole.block.indent
    width = max(TODO_WIDTH - len(indent), 40)
    comment = hints.wrap(f"TODO Task {task.id}: {task.goal}", width - 2)
    comment.append(f"  (stuck? make hint TASK={task.id})")
    message = json.dumps(hole_message(task, hole.place), ensure_ascii=False)
    return ([f"{indent}# {line}{newline_tail}" for line in comment]
            + [f"{indent}raise NotImplementedError({message}){newline_tail}"])


def replace_holes(lines: list[str], holes: list[Hole], keep: frozenset[str] = frozenset()) -> list[str]:
    """``lines`` with every block replaced by its hole (blocks of tasks in ``keep`` keep their code)."""
    out: list[str] = []
    position = 0
    for hole in holes:
        block = hole.block
        out.extend(lines[position:block.begin])
        if hole.task.id in keep:
            out.extend(lines[block.begin + 1:block.end])
        else:
            tail = "\r" if lines[block.begin].endswith("\r") else ""
            out.extend(hole_lines(hole, tail))
        position = block.end + 1
    out.extend(lines[position:])
    return out


def generate_python(text: str, file: str, places: dict[str, catalogue.Task],
                    keep: frozenset[str] = frozenset()) -> tuple[str, list[Hole]]:
    """The participant version of one .py file (``file`` relative to solutions/) and its holes."""
    bom = BOM if text.startswith(BOM) else ""
    lines = text[len(bom):].split("\n")
    holes = find_holes(lines, file, places, f"solutions/{file}")
    if not holes:
        return text, []
    generated = "\n".join(replace_holes(lines, holes, keep))
    try:
        compile(generated, file, "exec")
    except SyntaxError as error:
        raise SyncError(f"solutions/{file}: the participant version does not compile (line {error.lineno}: "
                        f"{error.msg}); check the solution blocks") from None
    return bom + generated, holes


def _cell_lines(cell: dict) -> list[str]:
    source = cell["source"]
    return ("".join(source) if isinstance(source, list) else source).split("\n")


def _set_cell_lines(cell: dict, lines: list[str]) -> None:
    text = "\n".join(lines)
    cell["source"] = text.splitlines(keepends=True) if isinstance(cell["source"], list) else text


def _notebook_tools():
    """tools/notebooks.py (the one definition of a clean notebook), loaded by path: a bare
    ``import notebooks`` could find the kit's notebooks/ folder instead."""
    name = "kit_tools_notebooks"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / "notebooks.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def clean_notebook(nb: dict) -> dict:
    """Clear outputs and execution counts; strip run-specific metadata (tools/notebooks.py's rules)."""
    import nbformat

    nb = _notebook_tools().clean(nbformat.from_dict(nb))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def generate_notebook(text: str, file: str, places: dict[str, catalogue.Task],
                      keep: frozenset[str] = frozenset()) -> tuple[str, list[Hole]]:
    """The participant version of one notebook: holes in code cells, outputs cleared."""
    nb = json.loads(text.removeprefix(BOM))
    all_holes: list[Hole] = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        lines = _cell_lines(cell)
        where = f"solutions/{file} cell {number}"
        if cell.get("cell_type") != "code":
            _refuse_markers(lines, where, cell.get("cell_type", "non-code"))
            continue
        holes = find_holes(lines, file, places, where)
        if holes:
            generated = replace_holes(lines, holes, keep)
            try:
                compile(_parsable(generated), where, "exec")
            except SyntaxError as error:
                raise SyncError(f"{where}: the participant version does not compile (line {error.lineno}: "
                                f"{error.msg}); check the solution blocks") from None
            _set_cell_lines(cell, generated)
            all_holes.extend(holes)
    return json.dumps(clean_notebook(nb), indent=1, sort_keys=True, ensure_ascii=False) + "\n", all_holes


def _refuse_markers(lines: list[str], where: str, cell_type: str) -> None:
    """SyncError for a solution marker in a cell that sync copies as it is (markdown, raw)."""
    for number, line in enumerate(lines, start=1):
        if MARKER_LIKE.search(line):
            raise SyncError(f"{where} line {number}: a solution marker in a {cell_type} cell would be copied, "
                            "solution and all, into the participant notebook; solution blocks belong inside a "
                            "function in a code cell")


def generate_file(text: str, file: str, places: dict[str, catalogue.Task],
                  keep: frozenset[str] = frozenset()) -> tuple[str, list[Hole]]:
    """The participant version of one file of solutions/ (``file`` = 'nn/functions.py')."""
    if file.endswith(".ipynb"):
        return generate_notebook(text, file, places, keep)
    return generate_python(text, file, places, keep)


def package_files(base: Path) -> list[str]:
    """The .py and .ipynb files under <base>/<package>/, relative to ``base``, sorted (``base``:
    solutions/ for the sources, the kit for what is at the top level)."""
    files = []
    for package in PACKAGES:
        for path in sorted((base / package).rglob("*")):
            relative = path.relative_to(base)
            if path.is_file() and path.suffix in SUFFIXES and not _ignored(relative):
                files.append(relative.as_posix())
    return files


def _ignored(relative: Path) -> bool:
    """Caches, hidden files, and conftest.py (the reference's test set-up, not for participants)."""
    return relative.name == "conftest.py" or any(part == "__pycache__" or part.startswith(".")
                                                 for part in relative.parts)


def _read_source(root: Path, file: str) -> str:
    try:
        return (root / "solutions" / file).read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise SyncError(f"solutions/{file}: not UTF-8 (byte {error.start} cannot be decoded); save it as UTF-8") from None


def generate(root: Path = ROOT, tasks: Iterable[catalogue.Task] = catalogue.TASKS,
             keep: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every participant file (path relative to ``root`` -> text); SyncError on any inconsistency.

    Also checks the catalogue against solutions/: every place must have a block.
    """
    tasks = tuple(tasks)
    places = places_of(tasks)
    outputs: dict[str, str] = {}
    seen: set[str] = set()
    errors: list[str] = []
    if not (root / "solutions").is_dir():
        raise SyncError(f"there is no solutions/ folder in {root}: make sync generates nn/, act/, loss/ and "
                        "notebooks/ from the reference in solutions/, which a handout copy of the kit does not "
                        "have; nothing to do here, and your files stay as they are")
    for file in package_files(root / "solutions"):
        try:
            outputs[file], holes = generate_file(_read_source(root, file), file, places, keep)
        except SyncError as error:
            errors.append(str(error))
            seen.update(place for place in places if place.startswith(file + ":"))  # reported already
            continue
        seen.update(hole.place for hole in holes)
    missing = [f"task {task.id}: {place}" for task in tasks for place in task.places if place not in seen]
    if missing:
        errors.append("tools/tasks.py names places with no solution block in solutions/ (add a "
                      f"{BEGIN} block in that function, or fix the place):\n  " + "\n  ".join(missing))
    if errors:
        raise SyncError("\n".join(errors))
    return outputs


# --- what sync wrote: the manifest ----------------------------------------------------------------
def fingerprint(data: bytes) -> str:
    """SHA-256 of a file's bytes, line endings aside (git on Windows may check files out with CRLF)."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def manifest_text(outputs: dict[str, str]) -> str:
    """The manifest recording ``outputs``: one line per file, sorted, so that merges stay readable; and the
    fingerprint of every function as generated, which the check compares the participant's with."""
    files = {file: fingerprint(text.encode("utf-8")) for file, text in sorted(outputs.items())}
    about = ("Written by make sync (tools/sync.py): the SHA-256 of every file it generated from solutions/. "
             "make sync overwrites or deletes a file only while the file still has this hash. And a fingerprint "
             "of every function as generated: make check tells by it which functions someone changed.")
    return json.dumps({"about": about, "files": files, "functions": fingerprints.all_fingerprints(outputs)},
                      indent=1, ensure_ascii=False) + "\n"


def read_manifest(root: Path) -> tuple[dict[str, str], str]:
    """(file -> SHA-256 that sync last wrote, why there is none: '' when the manifest was read)."""
    path = root / MANIFEST
    if not path.is_file():
        return {}, f"there is no {MANIFEST}"
    try:
        files = json.loads(path.read_bytes().decode("utf-8"))["files"]
        if isinstance(files, dict) and all(isinstance(value, str) for value in files.values()):
            return files, ""
    except (ValueError, KeyError, TypeError):
        pass
    return {}, f"{MANIFEST} cannot be read (a merge conflict in it?)"


def recorded_fingerprints(root: Path) -> dict[str, str]:
    """Place ('nn/functions.py:MatMul.forward') -> the fingerprint of its function as make sync last wrote it
    ({} when the manifest has none or cannot be read)."""
    try:
        functions = json.loads((root / MANIFEST).read_bytes().decode("utf-8"))["functions"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return functions if isinstance(functions, dict) else {}


@dataclass(frozen=True)
class Plan:
    """What sync is about to do at the top level."""

    write: list[str]  # generated files that are missing or differ from what sync generates now
    delete: list[str]  # files sync wrote earlier whose solutions/ file is gone
    changed: dict[str, str]  # of those, the files someone changed -> why they count as changed
    own: list[str]  # files sync never wrote: always left alone
    manifest_problem: str  # why no manifest could be used ('' when it was)


def _is_current(path: Path, text: str) -> bool:
    return path.is_file() and path.read_bytes() == text.encode("utf-8")


def plan(root: Path, outputs: dict[str, str]) -> Plan:
    """Compare the top level with ``outputs`` and with what sync last wrote (the manifest)."""
    recorded, problem = read_manifest(root)
    write = [file for file, text in sorted(outputs.items()) if not _is_current(root / file, text)]
    others = [file for file in package_files(root) if file not in outputs]
    delete = [file for file in others if file in recorded]
    changed = {}
    for file in write + delete:
        path = root / file
        if not path.exists():
            continue
        now = fingerprint(path.read_bytes())
        if now == recorded.get(file) or (file in outputs and now == fingerprint(outputs[file].encode("utf-8"))):
            continue
        action = "overwrite it" if file in outputs else f"delete it: solutions/{file} is gone"
        origin = "changed since make sync wrote it" if file in recorded else "not written by make sync"
        changed[file] = f"{origin} (make sync would {action})"
    return Plan(write, delete, changed, [file for file in others if file not in recorded], problem)


def refusal(plan: Plan) -> str:
    """Why sync stops, which files it would have replaced, and how to keep or replace them."""
    lines = ["nothing was written: these files hold changes that make sync did not make:"]
    lines += [f"  {file}: {why}" for file, why in plan.changed.items()]
    if plan.manifest_problem:
        lines.append(f"({plan.manifest_problem}, so make sync knows as its own only the files that are exactly "
                     "what it generates now)")
    lines.append("To keep them as they are, do not run make sync: you do not need it to use the kit, and "
                 "`git pull` updates the files you did not change. To replace them anyway, `make sync FORCE=1` "
                 f"first moves them to {BACKUPS}/<date>_<time>/, from where you can copy back what you need.")
    return "\n".join(lines)


def backup_folder(root: Path) -> Path:
    """A new folder sync-backup/<date>_<time> (with -2, -3, ... when that one exists)."""
    base = root / BACKUPS / datetime.now().strftime("%Y-%m-%d_%H%M%S")
    folder, number = base, 1
    while folder.exists():
        number += 1
        folder = base.with_name(f"{base.name}-{number}")
    return folder


def move_aside(root: Path, files: Iterable[str], out) -> None:
    """Move ``files`` (relative to ``root``) into a new backup folder, keeping their paths."""
    folder = backup_folder(root)
    for file in files:
        target = folder / file
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(root / file, target)
        print(f"moved {file} to {target.relative_to(root).as_posix()}", file=out)


# --- the commands --------------------------------------------------------------------------------
def sync(root: Path = ROOT, tasks: Iterable[catalogue.Task] = catalogue.TASKS, force: bool = False,
         out=sys.stdout) -> list[str]:
    """Write the participant version; returns the files written or deleted.

    Stops with SyncError, writing nothing, when a file to replace holds changes sync did not make;
    ``force`` moves such files to a backup folder first. Files sync never wrote are left alone.
    """
    outputs = generate(root, tasks)
    todo = plan(root, outputs)
    if todo.changed and not force:
        raise SyncError(refusal(todo))
    if todo.changed:
        move_aside(root, todo.changed, out)
    for file in todo.write:
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        write_atomically(root / file, outputs[file])
        print(f"wrote {file}", file=out)
    for file in todo.delete:
        if (root / file).exists():
            (root / file).unlink()
            print(f"deleted {file} (no solutions/{file} any more)", file=out)
    if todo.own:
        print(f"left alone (not generated by make sync, so make handout does not copy them): "
              f"{', '.join(todo.own)}", file=out)
    manifest = manifest_text(outputs)  # written last: an interrupted run leaves files sync recognizes
    if not _is_current(root / MANIFEST, manifest):
        write_atomically(root / MANIFEST, manifest)
        print(f"recorded the generated files in {MANIFEST}", file=out)
    return todo.write + todo.delete


def check(root: Path = ROOT, tasks: Iterable[catalogue.Task] = catalogue.TASKS) -> list[str]:
    """One message per generated file that is out of date (empty when all are fresh)."""
    outputs = generate(root, tasks)
    todo = plan(root, outputs)
    messages = []
    for file in todo.write:
        state = "differs from" if (root / file).exists() else "is missing, unlike"
        messages.append(f"{file} {state} what tools/sync.py generates from solutions/: edit solutions/ and run "
                        "`make sync` (generated files are not edited by hand)")
    for file in todo.delete + todo.own:
        messages.append(f"{file} has no solutions/{file}: generated files come from solutions/; "
                        "move it there, or delete it")
    if not _is_current(root / MANIFEST, manifest_text(outputs)):
        messages.append(f"{MANIFEST} does not record the generated files as they are now: run `make sync`")
    return messages


#: Files of the full kit that a handout leaves out besides solutions/: tools/train.py trains the reference,
#: and its training loop and accuracy are the answers of tasks 6.2 and 6.3.
FULL_KIT_ONLY = frozenset({"tools/train.py"})


def handout_files(root: Path) -> list[str]:
    """The kit's files for participants: what git tracks or would track, without solutions/ and FULL_KIT_ONLY."""
    files = _git_files(root, "--cached") | untracked_files(root)
    return sorted(name for name in files if not name.startswith("solutions/") and name not in FULL_KIT_ONLY
                  and (root / name).is_file())


def untracked_files(root: Path) -> set[str]:
    """The files git does not track yet (and .gitignore does not name)."""
    return _git_files(root, "--others", "--exclude-standard")


def _changed_since_commit(root: Path) -> set[str]:
    """The tracked files whose content differs from the last commit (staged or not)."""
    listing = subprocess.run(["git", "diff", "--name-only", "-z", "HEAD"], cwd=root, capture_output=True).stdout
    return {name for name in listing.decode("utf-8").split("\0") if name}


def _git_files(root: Path, *which: str) -> set[str]:
    try:
        listing = subprocess.run(["git", "ls-files", "-z", *which], cwd=root, capture_output=True, check=True).stdout
    except OSError as error:
        raise SyncError(f"make handout lists the kit's files with git, which cannot be run here ({error.strerror}); "
                        "install git") from None
    except subprocess.CalledProcessError as error:
        said = error.stderr.decode("utf-8", "replace").strip()
        if "not a git repository" in said:
            raise SyncError(f"make handout needs a git checkout of the kit (it copies what git tracks or would "
                            f"track, and leaves out what .gitignore names), and {root} is not a git checkout (an "
                            "unpacked ZIP?): clone the kit's repository, or run `git init` in this folder "
                            "first") from None
        raise SyncError(f"make handout lists the kit's files with git, which failed in {root}: {said}") from None
    return {name for name in listing.decode("utf-8").split("\0") if name}


def holding_solutions(root: Path, files: list[str]) -> list[str]:
    """The files with a ``### BEGIN SOLUTION`` line: a copy of solutions/ (or of part of it) that must not
    be handed out. tests/ is the kit's own (its test data has such lines; tests/test_handout.py checks it)."""
    found = []
    for name in files:
        if name.startswith("tests/"):
            continue
        try:
            text = (root / name).read_text(encoding="utf-8")
            lines = ([line for cell in json.loads(text)["cells"] for line in _cell_lines(cell)]
                     if name.endswith(".ipynb") else text.splitlines())
        except (ValueError, KeyError, TypeError, OSError):
            continue  # binary, or not a notebook: no code a participant reads
        if any(line.strip() == BEGIN for line in lines):
            found.append(name)
    return found


def _check_destination(root: Path, destination: Path) -> None:
    """SyncError unless ``destination`` is, or can become, an empty folder outside the kit."""
    if destination == root.resolve() or root.resolve() in destination.parents:
        raise SyncError(f"DEST must be outside the kit, got {destination}")
    existing = next(path for path in (destination, *destination.parents) if path.exists())
    if not existing.is_dir():
        under = "" if existing == destination else f", so no folder {destination} can be made under it"
        raise SyncError(f"{existing} is a file{under}; name a new or empty folder (make handout DEST=../kit-handout)")
    if existing == destination and any(destination.iterdir()):
        raise SyncError(f"{destination} is not empty; name a new or empty folder (make handout DEST=../kit-handout)")


def _copy_files(root: Path, files: list[str], destination: Path) -> None:
    """Copy ``files`` into the empty or new ``destination``; on failure or Ctrl-C remove what was copied, so that
    no half a kit is left to hand out."""
    missing = [path for path in (destination, *destination.parents) if not path.exists()]
    try:
        for name in files:
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, target)
    except BaseException as error:
        if missing:
            shutil.rmtree(missing[-1], ignore_errors=True)
        elif destination.is_dir():  # it was empty before
            for child in destination.iterdir():
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        if not isinstance(error, OSError):
            raise
        if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):  # full, or over quota
            raise SyncError(f"cannot copy the kit into {destination}: the disk is full ({error.strerror}); nothing "
                            "was left there: free some space, or name a folder on another disk") from None
        raise SyncError(f"cannot copy the kit into {destination}: {error.strerror} ({error.filename or destination}); "
                        "nothing was left there: name a folder you can write to") from None


def handout_problems(root: Path, outputs: dict[str, str], todo: Plan) -> str:
    """Why the top level is not the participant version that make sync generates ('' when it is),
    with the advice that works: a changed file needs restoring (plain make sync refuses it), an
    out-of-date one only `make sync`."""
    stale = [file for file in todo.write + todo.delete if file not in todo.changed]
    if not _is_current(root / MANIFEST, manifest_text(outputs)):
        stale.append(MANIFEST)
    if todo.changed:
        files = " ".join(todo.changed)
        lines = ["the handout copies the participant version as make sync generates it from solutions/, and "
                 "these files hold changes that make sync did not make:"]
        lines += [f"  {file}: {why}" for file, why in todo.changed.items()]
        lines += [f"  {file}: out of date" for file in stale]
        lines.append(f"Restore them with `make sync FORCE=1` (it first moves them to {BACKUPS}/<date>_<time>/), or "
                     f"with `git checkout -- {files}` when the committed version is up to date; a change that "
                     "belongs in the kit goes into solutions/. Then run make handout again.")
        return "\n".join(lines)
    if stale:
        return ("the participant version is out of date (solutions/ changed since the last make sync); run "
                "`make sync` first (it changes only files nobody edited), then make handout again:\n  "
                + "\n  ".join(stale))
    return ""


def handout_copy_state(root: Path) -> str:
    """The end of make handout's answer in a handout copy: whether it is still the kit as handed out, by the
    hashes of the manifest (a copy someone worked in holds their code, or the solutions)."""
    recorded, problem = read_manifest(root)
    if problem:
        return (f", and {problem}, so whether anyone changed it cannot be told: hand out a fresh copy instead "
                "(`make handout` in the full kit)")
    changed = [file for file, digest in recorded.items()
               if not (root / file).is_file() or fingerprint((root / file).read_bytes()) != digest]
    if changed:
        return (f", and these files are no longer as they were handed out (someone's work, or solutions, may be "
                f"in them): {', '.join(changed)}. Hand out a fresh copy instead (`make handout` in the full kit)")
    return ", with every file of nn/, act/, loss/ and notebooks/ as it was handed out: you can hand it out as it is"


def handout(root: Path, destination: Path, out=sys.stdout,
            tasks: Iterable[catalogue.Task] = catalogue.TASKS) -> int:
    """Copy the participant version of the kit (no solutions/) into an empty ``destination``.

    Files in nn/ act/ loss/ notebooks/ that make sync never wrote are not part of it: left out, and named.
    """
    destination = destination.resolve()
    if not (root / "solutions").is_dir():
        raise SyncError(f"make handout copies the kit without its solutions/, and {root} has none: it is a handout "
                        f"copy already{handout_copy_state(root)}")
    _check_destination(root, destination)
    outputs = generate(root, tasks)
    todo = plan(root, outputs)
    problems = handout_problems(root, outputs, todo)
    if problems:
        raise SyncError(problems)
    files = [name for name in handout_files(root) if name not in todo.own]
    solutions = holding_solutions(root, files)
    if solutions:
        raise SyncError("these files hold solution blocks (a line ### BEGIN SOLUTION), so a handout with them "
                        "would give the answers away: " + ", ".join(solutions) + ". Move them out of the kit's "
                        "folder (or delete them, if they are copies of solutions/), then run make handout again")
    _copy_files(root, files, destination)
    untracked = untracked_files(root)
    committed = any(name not in untracked for name in files)  # else a fresh `git init` (an unpacked ZIP): all are new
    strays = [name for name in files if name in untracked and name not in outputs] if committed else []
    if strays:
        print(f"copied, though git does not track them (commit them, or delete them if they do not belong in the "
              f"handout): {', '.join(strays)}", file=out)
    changed = sorted(_changed_since_commit(root) & set(files)) if committed else []
    if changed:
        print(f"copied with changes not committed yet (commit them, or undo them if they do not belong in the "
              f"handout): {', '.join(changed)}", file=out)
    if todo.own:
        print(f"not copied (not generated by make sync from solutions/, so not part of the participant version; "
              f"to hand one out, put it in solutions/ and run make sync): {', '.join(todo.own)}", file=out)
    print(f"copied {len(files)} files to {destination} (no solutions/); "
          f"participants start there with `make lab`", file=out)
    return len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list out-of-date generated files")
    parser.add_argument("--force", action="store_true",
                        help=f"replace files changed since sync wrote them, after moving them to {BACKUPS}/")
    parser.add_argument("--handout", metavar="DEST", help="copy the kit without solutions/ into DEST")
    args = parser.parse_args(argv)
    try:
        if args.handout:
            handout(ROOT, Path(args.handout).expanduser())  # make passes DEST=~/kit with its ~ as it is
        elif args.check:
            messages = check(ROOT)
            for message in messages:
                print(message, file=sys.stderr)
            return 1 if messages else 0
        else:
            changed = sync(ROOT, force=args.force)
            if not changed:
                print("the participant version is up to date")
    except SyncError as error:
        print(f"tools/sync.py: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"tools/sync.py: {error.strerror}: {error.filename}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

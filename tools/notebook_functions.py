"""Take a task's function out of a participant notebook, as Run All leaves it defined, without running the notebook.

The task tests of a notebook (tests/test_train_tasks.py) call ``task_function(path, name, **stand_ins)``:

- the function is the *last* top-level ``def name`` of the notebook (the one a run top to bottom uses); a
  statement after it that sets the name again (``forward = lambda x: …``) is ``SetAgainLater``, since that is
  what Run All leaves and the check tests only a ``def``;
- of all code cells, only imports, ``def`` and ``class`` statements and assignments of plain values
  (literals: ``BATCH_SIZE = 32``) run, and only those the function needs: the names it uses, the names
  those use, and so on. Nothing else runs (loading data, training, plotting), so the check stays fast;
- the ``stand_ins`` a test passes come after them, the function's ``def`` last;
- cells are read as IPython reads them (``%magic``, ``!shell``, ``name?``, top-level ``await``). A cell
  that still does not parse is a SyntaxError if it defines a function or class at top level (a
  function cell); any other such cell is skipped;
- a name the function uses that none of this defines is a NameError that says so;
- a file that is not a notebook is ``InvalidNotebook``.
"""

from __future__ import annotations

import ast
import builtins
import functools
import json
import re
from pathlib import Path

#: A cell whose failure to parse is an error (it defines a function or class at top level).
FUNCTION_CELL = re.compile(r"^(?:async\s+def|def|class)\s", flags=re.MULTILINE)
PARSE_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
WHAT_RUNS = "the imports, def and class statements and assignments of plain values (numbers, strings, lists, …)"
NEW_SCOPES = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class InvalidNotebook(Exception):
    """The file cannot be read as a notebook. tools/taskreport.py recognizes it by this class name
    (the tests load this module under a name of their own)."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file} is not a valid notebook ({reason})")
        self.file, self.reason = file, reason


class FunctionNotFound(LookupError):
    """No code cell defines the function at top level."""


class SetAgainLater(FunctionNotFound):
    """A statement after the function's last ``def`` sets its name again (``forward = lambda x: …``)."""


def shown_name(path: Path) -> str:
    """How the report names the notebook: 'notebooks/train.ipynb'."""
    return f"notebooks/{path.name}"


def code_cells(path: Path) -> list[str]:
    """The sources of the notebook's code cells; InvalidNotebook when the file is not a notebook."""
    def invalid(reason: str) -> InvalidNotebook:
        return InvalidNotebook(shown_name(path), reason)

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise invalid("the file is missing") from None
    except IsADirectoryError:
        raise invalid("it is a folder, not a file") from None
    except UnicodeDecodeError:
        raise invalid("it is not UTF-8 text") from None
    except OSError as error:
        raise invalid(f"it cannot be read: {error.strerror}") from None
    return list(code_cells_of_text(text, shown_name(path)))


@functools.lru_cache(maxsize=16)
def code_cells_of_text(text: str, shown: str) -> tuple[str, ...]:
    """The sources of the code cells of a notebook's text (read once per text: a check reads each notebook
    several times); InvalidNotebook, naming the file as ``shown``, when the text is not a notebook."""
    if not text.strip():
        raise InvalidNotebook(shown, "the file is empty")
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidNotebook(shown, f"it is not valid JSON: {error.msg}: line {error.lineno} column {error.colno}") \
            from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise InvalidNotebook(shown, "it has no list of cells")
    sources = []
    for number, cell in enumerate(cells, start=1):
        source = cell.get("source") if isinstance(cell, dict) else None
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise InvalidNotebook(shown, f"cell {number} has no source")
        if cell.get("cell_type") == "code":
            sources.append(source)
    return tuple(sources)


def without_magic_lines(source: str) -> str:
    """The source with the lines of magics and shell commands (``%…``, ``!…``) blanked: line numbers stay."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def ipython_transformed(source: str) -> str:
    """The source as IPython turns it into Python (``x = !ls``, ``name?``, ``%%bash`` cells)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager  # 0.1 s: only for a cell that needs it
    except ImportError:
        return source
    return TransformerManager().transform_cell(source)


def parse_cell(source: str, filename: str) -> ast.Module:
    """The cell's syntax tree, read as plain Python, else with its magic lines blanked (the set-up cell's
    ``%autoreload``), else as IPython reads it. A SyntaxError shows the line as the participant wrote it,
    also one that only compiling finds, as running the cell would ('return' outside function)."""
    errors = []
    for read in (str, without_magic_lines, ipython_transformed):
        try:
            text = read(source)  # IPython's reading tokenizes: it may raise too
            tree = compile(text, filename, "exec", PARSE_FLAGS)
            compile(tree, filename, "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
            return tree
        except SyntaxError as error:
            error.filename = filename  # the tokenizer's IndentationError says '<tokenize>'
            errors.append(error)
    lines = source.splitlines()
    first, last = errors[0], errors[-1]
    if first.lineno and 0 < first.lineno <= len(lines) and not lines[first.lineno - 1].lstrip().startswith(("%", "!")):
        raise first  # plain Python's error, unless it is about a magic line: IPython's own reading may name another
    if last.lineno and 0 < last.lineno <= len(lines):
        last.text = lines[last.lineno - 1]
    raise last


def parsed_cells(path: Path) -> tuple[list[tuple[int, ast.Module]], list[int]]:
    """(code cell number, tree) of each code cell that parses, and the numbers of the cells skipped."""
    trees, skipped = [], []
    for number, source in enumerate(code_cells(path), start=1):
        try:
            trees.append((number, parse_cell(source, f"{path.name} cell {number}")))  # the name says the cell
        except SyntaxError:
            if FUNCTION_CELL.search(source):
                raise
            skipped.append(number)
    return trees, skipped


def definitions(trees: list[tuple[int, ast.Module]], name: str) -> list[tuple[int, ast.stmt]]:
    return [(number, node) for number, tree in trees for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name]


def defining_cells(path: Path, name: str) -> list[int]:
    """The numbers of the code cells that define ``name`` at top level, in order."""
    return [number for number, _ in definitions(parsed_cells(path)[0], name)]


def definition_note(path: Path, name: str) -> str:
    """When ``name`` is defined more than once, which definition the check tests ('' otherwise)."""
    cells = defining_cells(path, name)
    if len(cells) < 2:
        return ""
    listed = ", ".join(map(str, cells[:-1])) + f" and {cells[-1]}"
    return (f"{name} is defined in code cells {listed} of {shown_name(path)}; the check tests the last one, "
            f"code cell {cells[-1]}, the one Run All leaves defined")


def set_again_after(trees, definition: ast.stmt, name: str) -> tuple[int, ast.stmt] | None:
    """The first top-level statement after ``definition`` that sets ``name`` again: Run All leaves its value."""
    statements = [(number, node) for number, tree in trees for node in tree.body]
    position = next(index for index, (_, node) in enumerate(statements) if node is definition)
    return next(((number, node) for number, node in statements[position + 1:] if name in bound_names(node)), None)


def is_plain_value(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def runnable_names(node: ast.stmt) -> set[str]:
    """The names ``node`` defines if it is a statement the check runs; empty for any other statement."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {alias.asname or alias.name.split(".")[0] for alias in node.names if alias.name != "*"}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    names = [element for target in targets for element in getattr(target, "elts", [target])]
    if targets and node.value is not None and is_plain_value(node.value) \
            and all(isinstance(element, ast.Name) for element in names):
        return {element.id for element in names}
    return set()


def used_names(node: ast.AST) -> set[str]:
    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name)}


def bound_names(node: ast.stmt) -> set[str]:
    """Every name a top-level statement sets (not the local names of functions inside it)."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return runnable_names(node)
    names, pending = set(), [node]
    while pending:
        current = pending.pop()
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Store):
            names.add(current.id)
        elif isinstance(current, ast.ExceptHandler) and current.name:
            names.add(current.name)
        elif isinstance(current, ast.AnnAssign) and current.value is None:
            continue  # `name: type` only annotates
        for child in ast.iter_child_nodes(current):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(child.name)
            elif not isinstance(child, NEW_SCOPES):
                pending.append(child)
            elif not isinstance(child, ast.Lambda):  # a comprehension: its := sets a name outside it
                names.update(walrus.target.id for walrus in ast.walk(child) if isinstance(walrus, ast.NamedExpr))
    return names


def needed_statements(trees, definition: ast.stmt, name: str) -> list[tuple[int, ast.stmt]]:
    """The statements the check runs for ``definition``, in notebook order, imports cut to the names needed."""
    own = {id(node) for _, node in definitions(trees, name)}  # the function's own definitions: its last runs last
    candidates = [(number, node, runnable_names(node)) for number, tree in trees for node in tree.body
                  if id(node) not in own]
    needed, chosen = used_names(definition), set()
    while True:
        new = [index for index, (_, node, names) in enumerate(candidates) if index not in chosen and names & needed]
        if not new:
            break
        for index in new:
            chosen.add(index)
            needed |= used_names(candidates[index][1])
    statements = []
    for index in sorted(chosen):
        number, node, _ = candidates[index]
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            node.names = [alias for alias in node.names if (alias.asname or alias.name.split(".")[0]) in needed]
        statements.append((number, node))
    return statements


def unknown_name_error(error: NameError, function: str, path: Path, trees, skipped: list[int]) -> NameError:
    """A NameError that says why the check does not know the name, and what to do."""
    setters = [number for number, tree in trees for node in tree.body if error.name in bound_names(node)]
    if setters:
        where = f"code cell {setters[0]} sets it by running code"
    else:
        where = f"no code cell of {shown_name(path)} defines it"
        if skipped:
            cells = f"code cell {skipped[0]} is" if len(skipped) == 1 else \
                f"code cells {', '.join(map(str, skipped[:-1]))} and {skipped[-1]} are"
            where += f" that the check could read ({cells} not valid Python)"
    return NameError(f"name '{error.name}' is not defined when the check runs {function}: {where}. The check "
                     f"runs only {WHAT_RUNS} of the notebook, none of its other code; use the function's "
                     f"arguments instead, or define the name with such a statement", name=error.name)


def task_function(path: Path, name: str, **stand_ins):
    """``name`` as the notebook at ``path`` defines it last, with what it needs of the notebook (module docstring)."""
    trees, skipped = parsed_cells(path)
    found = definitions(trees, name)
    if not found:
        nested = [(number, node) for number, tree in trees for statement in tree.body
                  if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  for node in ast.walk(statement) if isinstance(node, ast.FunctionDef) and node.name == name]
        if nested:
            number, node = nested[-1]
            raise FunctionNotFound(f"code cell {number} of {shown_name(path)} defines `def {name}(...)` on line "
                                   f"{node.lineno} inside another statement (an if, for, with or try): the check takes "
                                   f"a task function defined at the top level of a cell, and runs no other statement "
                                   f"of the notebook; move the def out, to column 0")
        raise FunctionNotFound(f"{shown_name(path)} has no code cell that defines `def {name}(...)`; "
                               f"did the cell get deleted or the function renamed?")
    cell, definition = found[-1]
    later = set_again_after(trees, definition, name)
    if later:
        number, node = later
        raise SetAgainLater(f"code cell {number} of {shown_name(path)} sets {name} again (line {node.lineno}: "
                            f"{ast.unparse(node).splitlines()[0][:60]}), after its def in code cell {cell}, so Run All "
                            f"leaves that value and not the def, which is what the check tests: delete that line, "
                            f"or write the function as one def")
    namespace: dict = {}

    def unknown(error: NameError) -> bool:
        return type(error) is NameError and error.name is not None and error.name not in namespace \
            and not hasattr(builtins, error.name)

    def run(number: int, node: ast.stmt) -> None:
        code = compile(ast.Module([node], type_ignores=[]), f"{path.name} cell {number}", "exec")
        try:
            exec(code, namespace)
        except NameError as error:
            if not unknown(error):
                raise
            raise unknown_name_error(error, name, path, trees, skipped) from error

    for number, node in needed_statements(trees, definition, name):
        run(number, node)
    namespace.update(stand_ins)
    run(cell, definition)
    function = namespace[name]

    @functools.wraps(function)
    def explained(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except NameError as error:
            if not unknown(error):
                raise
            raise unknown_name_error(error, name, path, trees, skipped) from error

    return explained

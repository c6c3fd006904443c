"""Whether someone changed a function: fingerprints of functions, comments and layout aside.

make sync records in .sync-manifest.json the fingerprint of every function as it wrote it (a task's
function: the given code, the TODO comment, the ``raise NotImplementedError``). The check compares the
participant's functions with them: a task whose tests still stop at its raise line, in a function that
is no longer what make sync wrote, has been started (code above or below the raise, the TODO comment
replaced by code, the other function of a two-function task written first); and a changed function
that is no task's is code the kit gives, which a failing test may come from.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))
from notebook_functions import parse_cell  # noqa: E402  (tools/notebook_functions.py)


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def functions(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    """Every function in ``tree`` with its qualified name ('Class.method', 'outer.inner')."""
    found: list[tuple[str, ast.AST]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, DEFINITIONS):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    found.append((name, child))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def fingerprint(function: ast.AST) -> str:
    """The same for two functions with the same code: comments, docstrings, blank lines, line breaks and
    indentation do not count, nor the Python version that reads it (make sync may run one, the check another)."""
    return hashlib.sha256(_shape(function).encode("utf-8")).hexdigest()[:16]


def _shape(node) -> str:
    """A syntax tree as text: each node's type and fields, without positions, empty fields or docstrings
    (a docstring is not code, and its text changes with the indentation of the lines under it).
    Not ``ast.dump``, whose text changes between Python versions (``type_params=[]`` since 3.12)."""
    if isinstance(node, ast.AST):
        fields = ", ".join(f"{name}={_shape(_without_docstring(node, name, value))}"
                           for name, value in ast.iter_fields(node) if value is not None and value != [])
        return f"{type(node).__name__}({fields})"
    if isinstance(node, list):
        return "[" + ", ".join(map(_shape, node)) + "]"
    return repr(node)


def _without_docstring(node: ast.AST, field: str, value):
    """The body of a def or class without its docstring; any other field as it is."""
    if field == "body" and isinstance(node, DEFINITIONS) and ast.get_docstring(node, clean=False) is not None:
        return value[1:]
    return value


def function_fingerprints(file: str, text: str) -> dict[str, str] | None:
    """Qualified name -> fingerprint of every function in the text of a .py file, or of every function
    the code cells of a notebook (``file`` ending in .ipynb) define at top level, the last definition of
    a name counting (the one Run All leaves defined). None for a file that does not parse."""
    if file.endswith(".ipynb"):
        return _notebook_fingerprints(text)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    return {name: fingerprint(node) for name, node in functions(tree)}


def _notebook_fingerprints(text: str) -> dict[str, str] | None:
    try:
        cells = json.loads(text)["cells"]
        sources = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    except (ValueError, KeyError, TypeError):
        return None
    found = {}
    for source in sources:
        try:
            tree = parse_cell(source, "cell")
        except SyntaxError:
            continue
        found.update((node.name, fingerprint(node)) for node in tree.body if isinstance(node, FUNCTIONS))
    return found


def all_fingerprints(texts: dict[str, str]) -> dict[str, str]:
    """Place ('nn/functions.py:MatMul.forward') -> fingerprint, for every function of the files in ``texts``
    (file -> its text), sorted."""
    return {f"{file}:{name}": value for file, text in sorted(texts.items())
            for name, value in sorted((function_fingerprints(file, text) or {}).items())}

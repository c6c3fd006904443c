"""Execute the reference notebooks and keep them clean in git.

    python tools/notebooks.py execute [NOTEBOOK ...]   run in place, store outputs, clean
    python tools/notebooks.py clean   [NOTEBOOK ...]   only strip run-specific metadata
    python tools/notebooks.py check   [NOTEBOOK ...]   list what is not clean (exit 1 if any)
    python tools/notebooks.py setup   [NOTEBOOK ...]   make SETUP_CELL the first code cell

Without arguments: every notebook in solutions/notebooks/. ``execute`` runs
the kernel with the reference first on the path (PYTHONPATH=solutions) and the
offline MNIST sample forced, as nbval does in ``make test``, so the stored
outputs are the ones nbval compares against.

Clean means: execution counts 1, 2, 3, ... in cell order (what a fresh
top-to-bottom run gives; nbval needs counts to know a cell's outputs are to be
checked, and sequential ones never churn), no timing or widget metadata, the
kernelspec and language name only (no Python version), and no output image
larger than ``MAX_IMAGE_BYTES``. Outputs, plots included, are kept, and so are a cell's tags and
JupyterLab's fold of its code (``jupyter.source_hidden``: a cell that holds a task's answer stays folded).
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_NOTEBOOKS = ROOT / "solutions" / "notebooks"
MAX_IMAGE_BYTES = 150_000
#: Forces nn.load_mnist() to use the committed offline sample (``NN_MNIST`` in solutions/nn/data.py).
OFFLINE_ENV = {"NN_MNIST": "sample"}
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python"}
KEPT_CELL_METADATA = ("tags",)  # and jupyter.source_hidden, see kept_metadata
#: The first code cell of every notebook. Autoreload: a saved edit to nn/, act/, loss/ takes
#: effect in the next cell run. The guard: where the kit is not installed (a hub, Binder, an
#: existing Jupyter, JupyterLite) the nearest folder above the notebook that holds nn/ goes on
#: the path (solutions/ for a reference notebook, the kit for a participant one); a notebook
#: opened alone says in two lines what is missing (IPython shows ``_render_traceback_`` alone).
SETUP_CELL = """\
get_ipython().extension_manager.load_extension("autoreload")  # %load_ext, quiet when run again
%autoreload 2
try:
    import nn  # installed, or on the path (make lab, make test)
except ModuleNotFoundError:  # not installed: use the kit folder this notebook sits in
    import sys
    from pathlib import Path

    kit = next((d for d in [Path.cwd(), *Path.cwd().parents] if (d / "nn" / "__init__.py").is_file()), None)
    if kit is None:
        class KitNotFound(Exception):
            _render_traceback_ = lambda self: str(self).splitlines()  # the message without a traceback

        raise KitNotFound("This notebook needs the workshop kit around it (its nn/, act/, loss/ folders).\\n"
                          "Open it from the kit's notebooks/ folder; README: 'Running on a hub, Binder or Colab'.")
    sys.path.insert(0, str(kit))"""


def reference_env() -> dict[str, str]:
    """The environment of a reference run: solutions/ first on the path, offline sample forced."""
    env = dict(os.environ)
    paths = [str(ROOT / "solutions")] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.update(OFFLINE_ENV)
    return env


def kept_metadata(metadata: dict) -> dict:
    """What clean keeps of a cell's metadata: its tags, and that its code is folded (no other view state)."""
    kept = {key: value for key, value in metadata.items() if key in KEPT_CELL_METADATA}
    if metadata.get("jupyter", {}).get("source_hidden"):
        kept["jupyter"] = {"source_hidden": True}
    return kept


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip what changes from run to run; keep sources and outputs (plots included).

    Execution counts become 1, 2, 3, ... over the code cells, as in a fresh
    top-to-bottom run.
    """
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO})
    count = 0
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict(kept_metadata(cell.metadata))
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        for output in cell.outputs:
            if "execution_count" in output:
                output.execution_count = count
            output.pop("transient", None)
    return nb


def problems(nb: nbformat.NotebookNode, max_image_bytes: int = MAX_IMAGE_BYTES) -> list[str]:
    """What keeps ``nb`` from being clean, one line per problem (empty when clean)."""
    found = []
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        found.append(f"kernelspec is {nb.metadata.get('kernelspec')!r}; expected name 'python3'")
    extra = sorted(set(nb.metadata) - {"kernelspec", "language_info"})
    if extra or dict(nb.metadata.get("language_info", {})) != LANGUAGE_INFO:
        found.append(f"notebook metadata has run-specific entries: {extra or 'language_info details'}")
    count = 0
    for number, cell in enumerate(nb.cells, start=1):
        kept = kept_metadata(cell.metadata)
        extra = sorted(key for key, value in cell.metadata.items() if kept.get(key) != value)
        if extra:
            found.append(f"cell {number}: metadata {extra} (only tags and jupyter.source_hidden are kept)")
        if cell.cell_type != "code":
            continue
        count += 1
        if cell.execution_count != count:
            found.append(f"cell {number}: execution count {cell.execution_count}; a fresh top-to-bottom run "
                         f"gives {count} (run `python tools/notebooks.py execute`)")
        for output in cell.outputs:
            if "execution_count" in output and output.execution_count != count:
                found.append(f"cell {number}: an output has execution count {output.execution_count}, expected {count}")
            for mime, data in output.get("data", {}).items():
                if mime.startswith("image/") and not mime.endswith("svg+xml"):
                    size = len(base64.b64decode(data))
                    if size > max_image_bytes:
                        found.append(f"cell {number}: {mime} image of {size:,} bytes (limit {max_image_bytes:,}); "
                                     f"lower the figure's dpi or size")
    return found


def execute(path: Path, timeout: int = 600) -> float:
    """Run ``path`` top to bottom in place (reference env), clean it; returns the seconds taken."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    previous = dict(os.environ)
    os.environ.clear()
    os.environ.update(reference_env())  # the kernel inherits this process's environment
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                       store_widget_state=False, coalesce_streams=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(previous)
    seconds = time.perf_counter() - start
    nbformat.write(clean(nb), path)
    return seconds


def with_setup_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` with SETUP_CELL as its first code cell (an older set-up cell, one with autoreload, is replaced)."""
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if code and "autoreload" in code[0].source:
        code[0].source = SETUP_CELL
    else:
        position = nb.cells.index(code[0]) if code else len(nb.cells)
        nb.cells.insert(position, nbformat.v4.new_code_cell(SETUP_CELL))
    return nb


def _paths(names: list[str]) -> list[Path]:
    if names:
        return [Path(name).resolve() for name in names]
    return sorted(REFERENCE_NOTEBOOKS.glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["execute", "clean", "check", "setup"])
    parser.add_argument("notebooks", nargs="*", help="default: every notebook in solutions/notebooks/")
    args = parser.parse_args(argv)
    status = 0
    for path in _paths(args.notebooks):
        if args.command == "execute":
            print(f"{path.relative_to(ROOT)}: executed in {execute(path):.1f} s")
        elif args.command == "setup":
            nbformat.write(with_setup_cell(nbformat.read(path, as_version=4)), path)
            print(f"{path.relative_to(ROOT)}: set-up cell first (run `execute` to refresh its outputs)")
        elif args.command == "clean":
            nbformat.write(clean(nbformat.read(path, as_version=4)), path)
            print(f"{path.relative_to(ROOT)}: cleaned")
        else:
            found = problems(nbformat.read(path, as_version=4))
            for line in found:
                print(f"{path.relative_to(ROOT)}: {line}")
            status |= bool(found)
    return status


if __name__ == "__main__":
    sys.exit(main())

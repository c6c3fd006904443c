"""The notebooks' set-up cell: they run where the kit is not installed, and pick up saved edits.

Every notebook starts with tools/notebooks.py's SETUP_CELL (autoreload, and the
guard that finds the kit folder above the notebook when ``nn`` is not
importable). The tests run the notebooks in a *bare* Python: a venv made here
that sees only numpy, matplotlib, tqdm and ipykernel (and what they need),
linked from the test venv, so nothing is downloaded and the kit is not installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import time
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, TASKS, load_tools_module
from packaging.requirements import Requirement

notebooks = load_tools_module("notebooks")
jupyter_client = pytest.importorskip("jupyter_client")
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

#: What a hub image, Binder or JupyterLite gives the notebooks: the runtime and a kernel, no kit.
BARE_PACKAGES = ("numpy", "matplotlib", "tqdm", "ipykernel")
KERNEL = "kit-bare"
PARTICIPANT = sorted((ROOT / "notebooks").glob("*.ipynb"))
REFERENCE = sorted((ROOT / "solutions" / "notebooks").glob("*.ipynb"))
TASK_MESSAGE = re.compile(r"^Task (\d+\.\d+): ")


def first_code_cell(path: Path) -> str:
    return next(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", PARTICIPANT + REFERENCE, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_notebook_starts_with_the_setup_cell(path):
    assert first_code_cell(path) == notebooks.SETUP_CELL, (
        f"{path.relative_to(ROOT)}: the first code cell should be tools/notebooks.py's SETUP_CELL "
        f"(autoreload and the guarded import): run `python tools/notebooks.py setup {path.relative_to(ROOT)}`"
    )


# --- a bare Python: numpy, matplotlib, tqdm, ipykernel, no kit ---------------------------------
def distributions_needed(names) -> dict[str, metadata.Distribution]:
    """The installed distributions ``names`` need, themselves included (their non-extra requirements)."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        requirement = Requirement(todo.pop())
        key = requirement.name.lower().replace("_", "-")
        if key in found or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        found[key] = metadata.distribution(requirement.name)
        todo.extend(found[key].requires or [])
    return found


def link_distribution(distribution: metadata.Distribution, site_packages: Path) -> None:
    """Symlink the top-level files and folders of ``distribution`` into ``site_packages``."""
    tops = {Path(str(file)).parts[0] for file in distribution.files or [] if not str(file).startswith("..")}
    for top in tops:
        source = Path(distribution.locate_file(top))
        if source.exists() and not (site_packages / top).exists():
            (site_packages / top).symlink_to(source)


@pytest.fixture(scope="module")
def bare_kernel(tmp_path_factory, request):
    """A kernelspec name whose Python has only BARE_PACKAGES (and dependencies); JUPYTER_PATH points at it."""
    home = tmp_path_factory.mktemp("bare")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        check=True, capture_output=True, text=True).stdout.strip())
    for distribution in distributions_needed(BARE_PACKAGES).values():
        link_distribution(distribution, site_packages)
    spec = home / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bare Python (no kit)", "language": "python"}))
    patch = pytest.MonkeyPatch()
    patch.setenv("JUPYTER_PATH", str(home / "jupyter"))
    for private in ("PYTHONPATH", "KIT_IMPL"):  # make test's way to the reference must not reach the kernel
        patch.delenv(private, raising=False)
    patch.setenv("NN_MNIST", "sample")
    request.addfinalizer(patch.undo)
    return python


def test_the_bare_python_has_the_runtime_but_neither_the_kit_nor_the_test_tools(bare_kernel, tmp_path):
    probe = textwrap.dedent("""
        import importlib.util
        for name in ("numpy", "matplotlib", "tqdm", "ipykernel", "nn", "act", "loss", "pytest", "jupyterlab"):
            print(name, importlib.util.find_spec(name) is not None)
    """)
    done = subprocess.run([bare_kernel, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    found = dict(line.split() for line in done.stdout.splitlines())
    assert found == {"numpy": "True", "matplotlib": "True", "tqdm": "True", "ipykernel": "True", "nn": "False",
                     "act": "False", "loss": "False", "pytest": "False", "jupyterlab": "False"}, found


def run_notebook(path: Path, folder: Path, timeout: int = 600) -> tuple[nbformat.NotebookNode, str | None]:
    """Run ``path`` top to bottom in the bare kernel with ``folder`` as its working folder.

    Returns the executed notebook and the error text it stopped with (None when it ran to the end).
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()
    except CellExecutionError as error:
        return nb, str(error)
    return nb, None


def errors_of(nb) -> list[tuple[int, str, str]]:
    """(code cell number, ename, evalue) of every error output."""
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    return [(k, out.ename, out.evalue) for k, cell in enumerate(code, start=1) for out in cell.get("outputs", [])
            if out.output_type == "error"]


@pytest.mark.parametrize("path", PARTICIPANT, ids=lambda p: p.name)
def test_participant_notebook_without_the_kit_installed_stops_at_a_task(bare_kernel, path):
    """Opened from notebooks/ of a kit that is not installed, it runs until a task's hole stops it."""
    nb, stopped = run_notebook(path, path.parent)
    found = errors_of(nb)
    assert stopped and len(found) == 1, f"{path.name}: expected it to stop at one task's hole; errors: {found}"
    cell, ename, message = found[0]
    task = TASK_MESSAGE.match(message)
    assert ename == "NotImplementedError" and task and task.group(1) in TASKS.TASKS_BY_ID, (
        f"{path.name} stopped in code cell {cell} with {ename}: {message[:300]}; expected a task's "
        f"NotImplementedError('Task X.Y: …'), as with the kit installed"
    )
    assert cell > 1, f"{path.name}: the set-up cell itself failed: {message[:300]}"


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: p.name)
def test_reference_notebook_without_the_kit_installed_runs_to_the_end(bare_kernel, path):
    """From solutions/notebooks/ the guard finds solutions/ (the reference), and every cell runs."""
    nb, stopped = run_notebook(path, path.parent)
    assert stopped is None, f"solutions/notebooks/{path.name} stopped without the kit installed:\n{stopped[-3000:]}"
    printed = "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []))
    assert "not written yet" not in printed.lower(), f"{path.name} did not run the reference: {printed[-1500:]}"


# --- one kernel, cell after cell ---------------------------------------------------------------
class Kernel:
    """A bare kernel started in ``folder``; ``run(code)`` returns what the cell printed (errors included)."""

    def __init__(self, folder: Path):
        self.manager = jupyter_client.KernelManager(kernel_name=KERNEL)
        self.manager.start_kernel(cwd=str(folder))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, code: str) -> str:
        printed: list[str] = []

        def keep(message):
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])
            elif message["msg_type"] == "error":
                printed.append("\n".join(message["content"]["traceback"]) + "\n")

        self.client.execute_interactive(code, output_hook=keep, timeout=120)
        return "".join(printed)

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def kernel_in(bare_kernel):
    started: list[Kernel] = []

    def start(folder: Path) -> Kernel:
        started.append(Kernel(folder))
        return started[-1]

    yield start
    for kernel in started:
        kernel.stop()


def participant_kit_copy(target: Path) -> Path:
    """A copy of the participant kit (nn/, act/, loss/, an empty notebooks/) at ``target``."""
    for package in ("nn", "act", "loss"):
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "notebooks").mkdir()
    return target


def save(path: Path, text: str) -> None:
    """Write ``path`` as an editor saves it, a little later than the last write (coarse file clocks)."""
    path.write_text(text, encoding="utf-8")
    later = time.time() + 2
    os.utime(path, (later, later))


TRY_TWO_TASKS = """
def attempt(compute):
    try:
        return compute()
    except NotImplementedError as hole:
        return str(hole).split(":")[0] + " not written"

print(attempt(lambda: round(float(central(np.sin, 0.0)), 4)))
print(attempt(lambda: MatMul.apply(nn.Tensor(np.eye(2)), nn.Tensor(np.ones((2, 2)))).data.tolist()))
"""


def test_a_saved_edit_takes_effect_in_the_next_cell_of_the_same_kernel(kernel_in, tmp_path):
    """The participant fills tasks 1.1 and 3.2 in nn/ while the notebook's kernel runs: no restart needed.

    The check uses names bound before the edit (``MatMul = nn.functions.MatMul``), as the notebooks do:
    autoreload updates functions and Function classes in place.
    """
    kit = participant_kit_copy(tmp_path / "kit")
    kernel = kernel_in(kit / "notebooks")
    assert kernel.run(notebooks.SETUP_CELL) == ""
    assert kernel.run("import numpy as np\nimport nn\nMatMul, central = nn.functions.MatMul, nn.central_difference") == ""
    before = kernel.run(TRY_TWO_TASKS)
    assert before.split("\n")[:2] == ["Task 1.1 not written", "Task 3.2 not written"], before
    for file in ("gradcheck.py", "functions.py"):  # the participant's solution: the reference's code
        save(kit / "nn" / file, (ROOT / "solutions" / "nn" / file).read_text(encoding="utf-8"))
    after = kernel.run(TRY_TWO_TASKS)
    assert after.split("\n")[:2] == ["1.0", "[[1.0, 1.0], [1.0, 1.0]]"], (
        f"after saving the solutions of tasks 1.1 and 3.2 the next cell run still printed:\n{after}")


def test_a_notebook_opened_alone_says_what_is_missing_and_the_readme_colab_lines_fix_it(kernel_in, tmp_path):
    """Colab from a GitHub link, or a notebook copied elsewhere: two lines instead of a traceback.

    Then the README's two Colab lines (the clone made from this repository, offline) and the set-up
    cell again: the notebook finds the kit.
    """
    alone = tmp_path / "alone"
    alone.mkdir()
    kernel = kernel_in(alone)
    said = kernel.run(notebooks.SETUP_CELL)
    lines = [line for line in re.sub(r"\x1b\[[0-9;]*m", "", said).splitlines() if line.strip()]
    assert len(lines) <= 2 and "nn/" in lines[0] and "Running on a hub, Binder or Colab" in said, (
        f"opened alone, the set-up cell should say in one or two lines what is missing and what to do; it said:\n{said}")
    assert "Traceback" not in said and "ModuleNotFoundError" not in said, said

    clone, change_folder = readme_colab_lines()
    url = re.search(r"https://\S+", clone).group(0)
    cloned = kernel.run(clone.replace(url, (ROOT.as_uri())) + "\n" + change_folder)
    assert kernel.run(notebooks.SETUP_CELL) == "", f"after the README's Colab lines ({cloned}) the set-up cell failed"
    where = kernel.run("import nn, act, loss\nprint(nn.__file__)")
    assert Path(where.strip()).is_relative_to(alone / "kit"), f"nn came from {where}"


def readme_section(title: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ |\Z)", readme, re.M | re.S)
    assert match, f"README.md has no section '{title}'"
    return match.group(1)


def readme_colab_lines() -> tuple[str, str]:
    """The README's two Colab lines: the clone and the change into notebooks/."""
    section = readme_section("Colab")
    clone = re.findall(r"^!git clone .*$", section, re.M)
    change = re.findall(r"^%cd .*notebooks$", section, re.M)
    assert len(clone) == 1 and len(change) == 1, (
        "README, section Colab: a code block with one `!git clone <url> kit` and one `%cd kit/notebooks`")
    return clone[0], change[0]


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: p.name)
def test_check_cells_that_report_a_missing_task_mention_a_kernel_restart(path):
    """Autoreload cannot update everything (a class given new attributes, say): the way out is a restart."""
    for number, cell in enumerate(nbformat.read(path, as_version=4).cells, start=1):
        reports = cell.cell_type == "code" and "except NotImplementedError" in cell.source and "skipped" not in cell.source
        assert not reports or "Kernel → Restart Kernel" in cell.source, (
            f"{path.name} cell {number} reports a task that is not written yet: its message should also say "
            f"what to do when a saved edit does not show (Kernel → Restart Kernel)")

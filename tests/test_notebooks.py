"""The workshop notebooks: clean in git, built as the workshop needs, and train.ipynb's contract.

nbval (``make test``) re-runs the reference notebooks and compares their
outputs; these tests check what nbval does not: size and metadata, the shape of
each notebook (goals, TODO cells, check cells, recap), the final accuracy line,
and that the participant train.ipynb stops at its first TODO.
"""

from __future__ import annotations

import ast
import base64
import io
import re

import matplotlib.font_manager  # noqa: F401  (see below)
import nbformat
import pytest
from conftest import ROOT, TASKS, load_tools_module

# On a fresh machine matplotlib builds its font cache on first import and says so
# on stderr. Importing it here, while pytest collects (before nbval starts any
# kernel), keeps that message out of the notebooks' outputs that nbval compares.

notebooks = load_tools_module("notebooks")

REFERENCE = ROOT / "solutions" / "notebooks"
NAMES = ("derivatives.ipynb", "scalar_autodiff.ipynb", "train.ipynb", "try_extensions.ipynb",
         "upgrade_to_cnn.ipynb")
FINAL_LINE = re.compile(r"^Final test accuracy: (\d+\.\d)%$", re.M)
BAR_LINE = re.compile(r"^Bar: (\d+)%", re.M)
TASK_OF_FUNCTION = {place.split(":")[1]: task for task in TASKS.TASKS for place in task.places
                    if place.startswith("notebooks/")}


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(REFERENCE / name, as_version=4)


def stdout_of(nb) -> str:
    return "".join(output.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for output in cell.outputs if output.get("name") == "stdout")


def solution_cells(nb) -> list[int]:
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source]


def test_the_four_reference_notebooks_exist():
    missing = [name for name in NAMES if not (REFERENCE / name).exists()]
    assert not missing, f"missing reference notebooks in solutions/notebooks/: {missing}"


def story_order() -> list[str]:
    """The notebooks of notebooks/ in the order the slides first name them (the workshop's story)."""
    slides = (ROOT / "slides.md").read_text(encoding="utf-8")
    named = dict.fromkeys(re.findall(r"notebooks/([\w-]+\.ipynb)", slides))
    return [name for name in named if (REFERENCE / name).exists()]


def test_every_notebook_is_named_by_the_slides():
    unnamed = sorted(path.name for path in REFERENCE.glob("*.ipynb") if path.name not in story_order())
    assert not unnamed, f"the slides never name notebooks/{unnamed[0]}: say when in the story it is opened"


def test_file_names_sort_in_story_order():
    """JupyterLab's file browser lists by name: the names must sort as the story goes."""
    by_name = sorted(story_order(), key=str.lower)
    assert by_name == story_order(), (
        f"a file browser lists the notebooks as {by_name}, but the slides open them as {story_order()}: "
        f"rename them so that their names sort in story order"
    )


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_clean_and_small(name):
    found = notebooks.problems(read(name))
    assert not found, (f"solutions/notebooks/{name} is not clean (run `python tools/notebooks.py execute "
                       f"solutions/notebooks/{name}`):\n  " + "\n  ".join(found))


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_fully_executed_without_errors(name):
    nb = read(name)
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        errors = [output for output in cell.outputs if output.output_type == "error"]
        assert not errors, f"{name} cell {number} stored an error: {errors[0].ename}: {errors[0].evalue}"
    figures = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
               if "image/png" in output.get("data", {})]
    assert figures, f"{name} has no stored figure: execute it with tools/notebooks.py (plots stay in the outputs)"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_starts_with_goals_and_time_and_ends_with_a_recap(name):
    nb = read(name)
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown" and "Learning goals" in first.source and "Time:" in first.source, (
        f"{name}: the first cell should be markdown with the learning goals and the time it takes"
    )
    assert last.cell_type == "markdown" and "Recap" in last.source, f"{name}: the last cell should be a recap"


@pytest.mark.parametrize("name", NAMES)
def test_every_todo_names_its_task_place_and_check_command(name):
    nb = read(name)
    todos = [cell.source for cell in nb.cells if cell.cell_type == "markdown" and "TODO" in cell.source]
    for source in todos:
        ids = re.findall(r"Tasks? (\d+\.\d+)", source)
        assert ids, f"{name}: a TODO cell names no task id:\n{source}"
        for task_id in ids:
            task = TASKS.TASKS_BY_ID[task_id]
            files = {place.split(":")[0] for place in task.places}
            assert any(file in source for file in files), f"{name}: the TODO for task {task_id} should name {files}"
        assert "make check" in source and "pytest -m task" in source, (
            f"{name}: a TODO cell should give the check command (`pytest -m task…` and `make check`):\n{source}"
        )


@pytest.mark.parametrize("name", NAMES)
def test_a_todo_calls_its_task_by_the_catalogues_title(name):
    """The slides and make check say 'Scalar backward pass' and 'Max pooling backward': so does the notebook."""
    headings = [found for cell in read(name).cells
                for found in re.findall(r"TODO (?:\(optional\) )?— Tasks? ([\d., ]+) · (.+?)\.\*\*", cell.source)]
    assert headings, f"{name}: no TODO heading of the form '**TODO — Task 1.1 · Title.**'"
    for task_id, title in ((task_id, title) for ids, titles in headings
                           for task_id, title in zip(ids.split(", "), titles.split(", "), strict=True)):
        expected = TASKS.TASKS_BY_ID[task_id].title.removesuffix(f" ({name})")
        assert title.strip("`") == expected, f"{name}: the TODO of task {task_id} says {title!r}, the catalogue {expected!r}"


@pytest.mark.parametrize("name", NAMES)
def test_solution_cells_sit_between_their_todo_and_a_check_cell(name):
    nb = read(name)
    for index in solution_cells(nb):
        functions = [node.name for node in ast.parse(nb.cells[index].source).body if isinstance(node, ast.FunctionDef)]
        tasks = {TASK_OF_FUNCTION[f] for f in functions if f in TASK_OF_FUNCTION}
        assert len(tasks) == 1, f"{name} cell {index + 1}: a solution cell should define one task's function, got {functions}"
        task = tasks.pop()
        before, after = nb.cells[index - 1], nb.cells[index + 1]
        assert before.cell_type == "markdown" and f"Task {task.id}" in before.source and f"pytest -m {task.marker}" in before.source, (
            f"{name} cell {index + 1}: the cell before task {task.id}'s function should be its TODO "
            f"(naming Task {task.id} and `pytest -m {task.marker}`)"
        )
        assert after.cell_type == "code" and "print(" in after.source and ("Good" in after.source and "Not yet" in after.source), (
            f"{name} cell {index + 2}: task {task.id}'s function should be followed by a check cell that says "
            f"in plain words whether it behaves ('Good: …' / 'Not yet: …')"
        )
        assert "Good" in "".join(o.get("text", "") for o in after.outputs), (
            f"{name} cell {index + 2}: with the reference solution the check cell should print 'Good: …'"
        )


def titles_and_labels(source: str) -> bool:
    titled = "set_title(" in source or "suptitle(" in source
    labelled = ("set_xlabel(" in source and "set_ylabel(" in source) or 'axis("off")' in source
    return titled and labelled


@pytest.mark.parametrize("name", NAMES)
def test_figures_have_titles_and_labelled_axes(name):
    """Each cell that shows a figure titles and labels it, itself or through a plotting function of the notebook."""
    nb = read(name)
    code = [cell for cell in nb.cells if cell.cell_type == "code" and cell.source != notebooks.SETUP_CELL]
    plotters = {node.name for cell in code for node in ast.parse(cell.source).body
                if isinstance(node, ast.FunctionDef) and titles_and_labels(ast.get_source_segment(cell.source, node))}
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code" or not any("image/png" in o.get("data", {}) for o in cell.outputs):
            continue
        calls_plotter = any(f"{plotter}(" in cell.source for plotter in plotters)
        assert titles_and_labels(cell.source) or calls_plotter, (
            f"{name} cell {number}: a figure without a title or axis labels"
        )


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_use_the_framework_by_name_only(name):
    """Only the set-up cell (tools/notebooks.py: SETUP_CELL) may touch sys.path, and only when nn is not importable."""
    nb = read(name)
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code" and cell.source != notebooks.SETUP_CELL:
            assert "sys.path" not in cell.source and "solutions" not in cell.source, (
                f"{name} cell {number}: notebooks import nn, act and loss by name (the kernel's path decides "
                f"which version), never through sys.path or solutions/ (the set-up cell is the one exception)"
            )


def reached_its_bar(name: str):
    """The stored run of a training notebook: it printed its final accuracy and bar, cleared the bar, on the sample."""
    nb = read(name)
    text = stdout_of(nb)
    final, bar = FINAL_LINE.search(text), BAR_LINE.search(text)
    assert final and bar, f"{name} should print 'Final test accuracy: XX.X%' and 'Bar: NN%'"
    assert float(final.group(1)) >= float(bar.group(1)), (
        f"the reference {name} reached {final.group(1)}%, below its bar of {bar.group(1)}%"
    )
    assert "offline sample" in text, "the stored outputs come from the offline sample (NN_MNIST=sample) and say so"
    return nb, bar.group(1)


def recipe_cell(nb) -> str:
    return next(cell.source for cell in nb.cells if cell.cell_type == "markdown" and "**The recipe" in cell.source)


def test_train_notebook_states_its_recipe_final_accuracy_and_bar():
    nb, _ = reached_its_bar("train.ipynb")
    assert nb.metadata.kernelspec.name == "python3"
    recipe = recipe_cell(nb)
    for part in ("784 → 256 → 10", "learning rate 0.1", "batches of 32", "5 epochs", "97%", "90%"):
        assert part in recipe, f"train.ipynb's recipe should state {part!r}"


def test_cnn_notebook_states_its_recipe_final_accuracy_and_bar():
    nb, bar = reached_its_bar("upgrade_to_cnn.ipynb")
    recipe = recipe_cell(nb)
    cnn = load_tools_module("train").RECIPES["cnn"]
    for part in (f"momentum {cnn['momentum']}", f"learning rate {cnn['lr']} multiplied by {cnn['lr_decay']} after every epoch",
                 f"batches of {cnn['batch_size']}", f"{cnn['epochs']} epochs on the full MNIST set", f"{bar}%"):
        assert part in recipe, f"upgrade_to_cnn.ipynb's recipe should state {part!r} (as tools/train.py's RECIPES)"


def markdown_paragraphs(names=NAMES) -> list[str]:
    """What participants read in prose: README's part before 'For organizers', the markdown cells of these
    notebooks, paragraph by paragraph."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("## For organizers")[0]
    cells = [cell.source for name in names for cell in read(name).cells if cell.cell_type == "markdown"]
    return [paragraph for text in [readme, *cells] for paragraph in re.split(r"\n\s*\n", text)]


def test_what_needs_the_full_kit_says_so_where_participants_read():
    """A handout has no solutions/, no make bench, make train, make figures: prose that names them says so."""
    full_kit_only = re.compile(r"`make (bench|sync|handout|train|figures)\b|solutions/")
    vague = [paragraph for paragraph in markdown_paragraphs() if full_kit_only.search(paragraph)
             and "full kit" not in paragraph]
    assert not vague, "say that these need the full kit (with solutions/):\n\n" + "\n\n".join(vague)


def test_convolutions_are_pointed_at_the_cnn_notebook():
    elsewhere = [name for name in NAMES if name != "upgrade_to_cnn.ipynb"]
    wrong = [paragraph for paragraph in markdown_paragraphs(elsewhere) if re.search(r"[Cc]onvolution", paragraph)
             and set(re.findall(r"\w+\.ipynb", paragraph)) - {"upgrade_to_cnn.ipynb"}]
    assert not wrong, "convolutions are in upgrade_to_cnn.ipynb (tasks 8.x):\n\n" + "\n\n".join(wrong)
    next_steps = next(cell.source for cell in read("try_extensions.ipynb").cells
                      if cell.source.startswith("## Where to go next"))
    assert "upgrade_to_cnn.ipynb" in next_steps and "8.1–8.4" in next_steps, next_steps


def test_the_mlp_result_is_quoted_alike():
    """README's opening and train.ipynb's recap quote what the notebook's recipe reaches on the full set."""
    opening = (ROOT / "README.md").read_text(encoding="utf-8").split("## ")[0]
    recap = read("train.ipynb").cells[-1].source
    quoted = {name: re.findall(r"about (\d+(?:\.\d+)?)%", text) for name, text in
              (("README.md", opening), ("train.ipynb's recap", recap))}
    assert all(value == ["97.5"] for value in quoted.values()), (
        f"the MLP recipe reaches about 97.5% on the full MNIST set; quoted: {quoted}")


def test_a_check_cell_says_to_save_and_run_it_again_before_restarting_the_kernel():
    """Autoreload (the set-up cell) picks up a saved edit; a restart is the fallback, never the first advice."""
    for name in NAMES:
        for cell in read(name).cells:
            if cell.cell_type == "code" and "Restart Kernel" in cell.source:
                before = cell.source.split("Restart Kernel")[0].splitlines()[-2:]
                assert re.search(r"[Ss]ave .* run this cell again", " ".join(before)), (
                    f"{name}: say first to save the file and run the cell again:\n{cell.source}")


def test_tools_notebooks_clean_fixes_what_problems_reports():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("1")])
    nb.metadata = {"kernelspec": {"name": "python3"}, "language_info": {"name": "python", "version": "3.11.7"},
                   "widgets": {}}
    nb.cells[1].execution_count = 7
    nb.cells[1].metadata = {"execution": {"iopub.status.busy": "2024"}, "tags": ["keep"],
                            "jupyter": {"source_hidden": True, "outputs_hidden": True}}
    big = io.BytesIO(bytes(range(256)) * 800).getvalue()  # 204,800 bytes
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(big).decode()})]
    found = "\n".join(notebooks.problems(nb))
    for expected in ("run-specific", "metadata ['execution', 'jupyter']", "execution count 7", "image of 204,800 bytes"):
        assert expected in found, f"problems() missed {expected!r}; it reported:\n{found}"
    cleaned = notebooks.clean(nb)
    assert cleaned.cells[1].execution_count == 1
    assert cleaned.cells[1].metadata == {"tags": ["keep"], "jupyter": {"source_hidden": True}}, (
        "clean keeps the tags and the fold of a cell's code (a cell that holds a task's answer), nothing else")
    assert [line for line in notebooks.problems(cleaned) if "image" not in line] == []


def participant_train_notebook(tmp_path):
    """notebooks/train.ipynb as tools/sync.py generates it from the reference, written to tmp_path."""
    if not (ROOT / "tools" / "sync.py").exists():
        pytest.skip("tools/sync.py (the participant-version generator) is not there yet")
    sync = load_tools_module("sync")
    text = (REFERENCE / "train.ipynb").read_text(encoding="utf-8")
    generated, _ = sync.generate_file(text, "notebooks/train.ipynb", sync.places_of(TASKS.TASKS))
    path = tmp_path / "train.ipynb"
    path.write_text(generated, encoding="utf-8")
    return path


def test_participant_train_notebook_stops_at_the_first_todo(tmp_path, monkeypatch):
    """Run in order (with a finished framework), it stops at task 6.1's check, with task 6.1's error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = participant_train_notebook(tmp_path)
    nb = nbformat.read(path, as_version=4)
    first_hole = next(i for i, cell in enumerate(nb.cells) if "raise NotImplementedError" in cell.source)
    assert "Task 6.1" in nb.cells[first_hole].source
    for key, value in notebooks.reference_env().items():
        monkeypatch.setenv(key, value)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError) as stopped:
        client.execute()
    assert "NotImplementedError" in str(stopped.value) and "Task 6.1" in str(stopped.value), (
        f"the participant train.ipynb should stop with task 6.1's NotImplementedError; it stopped with:\n{stopped.value}"
    )
    ran = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.get("outputs")
           and any(o.output_type == "error" for o in cell.outputs)]
    assert ran == [first_hole + 1], (
        f"the error should come from the check cell right after the forward cell (cell {first_hole + 2}); "
        f"errors in cells {[i + 1 for i in ran]}"
    )


@pytest.mark.slow
def test_reference_train_notebook_reaches_97_percent_on_full_mnist(tmp_path, monkeypatch, shared_mnist):
    """The stated recipe, on the full data set: the notebook itself, run top to bottom."""
    from nbclient import NotebookClient

    nb = read("train.ipynb")
    for key, value in notebooks.reference_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NN_MNIST", "full")
    monkeypatch.setenv("NN_MNIST_DIR", str(shared_mnist))
    monkeypatch.setenv("MPLBACKEND", "agg")
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = stdout_of(nb)
    assert "full MNIST" in text and BAR_LINE.search(text).group(1) == "97", text[-500:]
    assert float(FINAL_LINE.search(text).group(1)) >= 97.0, f"full MNIST: {FINAL_LINE.search(text).group(0)}"

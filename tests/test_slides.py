"""The slides (slides.md, presented with presenterm) and their figures (img/, drawn by tools/figures.py)."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from conftest import ROOT, load_tools_module  # noqa: E402

lint_slides = load_tools_module("lint_slides")
figures = load_tools_module("figures")

MAX_FIGURE_BYTES = 200_000
IMAGE_REFERENCE = re.compile(r"img/([\w.-]+\.png)")


def used_figures() -> set[str]:
    """Every img/*.png that slides.md or a reference notebook refers to."""
    sources = [ROOT / "slides.md", *sorted((ROOT / "solutions" / "notebooks").glob("*.ipynb"))]
    return {name for source in sources for name in IMAGE_REFERENCE.findall(source.read_text(encoding="utf-8"))}


def test_slides_pass_the_slide_check():
    problems = lint_slides.lint(ROOT / "slides.md")
    assert not problems, f"{len(problems)} problem(s) in slides.md:\n" + "\n".join(problems)


def test_every_task_is_handed_out_on_its_slide():
    deck = lint_slides.parse(ROOT / "slides.md")
    titles = [slide.title for slide in deck.slides]
    for task in lint_slides.catalogue.TASKS:
        assert task.slide in titles, f"Task {task.id}: tools/tasks.py names the slide {task.slide!r}, not in slides.md"
        slide = deck.slides[titles.index(task.slide)]
        assert f"Task {task.id}" in slide.text, f"Task {task.id} is not on its slide {slide.label()}"


def write_png(path: Path, width_inches: float, height_inches: float) -> None:
    fig = plt.figure(figsize=(width_inches, height_inches))
    fig.savefig(path, dpi=100)
    plt.close(fig)


BAD_DECK = """---
title: [unclosed
---

Broken references
===

![](img/missing.png)

![](img/small.png)

See [the notes](notes/missing.md) and `nn/no_such_file.py`.

Where: `nn/functions.py: NoSuchFunction.backward` and `nn.NoSuchThing`.

Run `make no-such-target`, then `pytest -m task99_9`, then `make check TASKS="9.9"`.

This is Task 9.9.

```python
def broken(:
    pass
```

<!-- end_slide -->

Far too tall
===

{tall}

<!-- end_slide -->

Go ahead: a wrong title
===

Task 2.1 and Task 1.1, with no place and no command.

<!-- end_slide -->

Go ahead: twice
===

Task 2.1 again, and nothing else.

<!-- end_slide -->

Go ahead: nothing
===

No task here.
"""


@pytest.fixture
def bad_deck(tmp_path) -> Path:
    (tmp_path / "img").mkdir()
    write_png(tmp_path / "img" / "small.png", 4, 3)
    deck = tmp_path / "slides.md"
    deck.write_text(BAD_DECK.replace("{tall}", "\n\n".join(f"line {i}" for i in range(30))), encoding="utf-8")
    return deck


@pytest.mark.parametrize("expected", [
    "slides.md: the front matter is not valid YAML",
    'slide 2 "Broken references": the image img/missing.png does not exist',
    'slide 2 "Broken references": the image img/small.png has no width',
    'slide 2 "Broken references": the link to notes/missing.md is broken',
    'slide 2 "Broken references": `nn/no_such_file.py`: the path nn/no_such_file.py does not exist',
    'slide 2 "Broken references": `nn/functions.py: NoSuchFunction.backward`: nn/functions.py defines no '
    'NoSuchFunction.backward',
    "`nn.NoSuchThing`: nn has no 'NoSuchThing'",
    "`make no-such-target`: the Makefile has no target 'no-such-target'",
    "`pytest -m task99_9`: no task has the marker 'task99_9'",
    'no task 9.9 in tools/tasks.py',
    'slide 2 "Broken references": Task 9.9 is not in the catalogue',
    'slide 2 "Broken references": a python block does not compile',
    'slide 3 "Far too tall": ',
    'slide 4 "Go ahead: a wrong title": hands out Task 1.1, but tools/tasks.py says its slide is '
    "'Go ahead: the numerical derivative'",
    "Task 2.1 is handed out on 2 slides",
    'slide 4 "Go ahead: a wrong title": Task 1.1 must show where to work; missing: nn/gradcheck.py, central_difference',
    'slide 4 "Go ahead: a wrong title": Task 1.1 needs the command that checks it',
    "Task 2.2 (Topological order) is handed out on no Go-ahead slide",
    'slide 6 "Go ahead: nothing": a Go-ahead slide that hands out no task',
])
def test_the_slide_check_reports_each_kind_of_problem(bad_deck, expected):
    problems = lint_slides.lint(bad_deck)
    assert any(expected in problem for problem in problems), (
        f"the slide check should report {expected!r}; it reported:\n" + "\n".join(problems))


def test_the_slide_check_reports_tasks_out_of_order(tmp_path):
    deck = tmp_path / "slides.md"
    deck.write_text("---\ntitle: t\nauthor: a\n---\n\nGo ahead: local derivatives\n===\n\nTask 2.1\n\n"
                    "<!-- end_slide -->\n\nGo ahead: the numerical derivative\n===\n\nTask 1.1\n", encoding="utf-8")
    problems = lint_slides.lint(deck)
    assert any('slide 2 "Go ahead: local derivatives": Task 2.1 comes before Task 1.1' in p for p in problems), (
        "the slide check should report the order; it reported:\n" + "\n".join(problems))


def test_the_command_line_exits_1_on_problems_and_0_on_the_kit(bad_deck, capsys):
    assert lint_slides.main([str(bad_deck)]) == 1
    assert "problem(s)" in capsys.readouterr().out
    assert lint_slides.main([str(ROOT / "slides.md")]) == 0


def slide_of(text: str):
    return lint_slides.make_slide(2, text.splitlines(), 1)


def test_height_model_counts_wrapping_columns_and_images(tmp_path):
    rows_of = lambda text: lint_slides.slide_height(slide_of(text), tmp_path)[0]  # noqa: E731
    fixed = lint_slides.FOOTER_ROWS + lint_slides.TITLE_PADDING_ROWS + 1
    assert rows_of("T\n===\n\none line") == fixed + 1
    assert rows_of("T\n===\n\n" + "x" * (lint_slides.TEXT_COLUMNS + 1)) == fixed + 2, "a long line wraps"
    assert rows_of("T\n===\n\na\n\n\n\nb") == fixed + 3, "a run of blank lines is one row"
    columns = "T\n===\n\n<!-- column_layout: [1, 1] -->\n<!-- column: 0 -->\na\nb\nc\n<!-- column: 1 -->\nd\n"
    assert rows_of(columns + "\n<!-- reset_layout -->\n\ne") == fixed + 3 + 2, "a layout is as tall as its tallest column"
    write_png(tmp_path / "wide.png", 10, 4)  # 1000 × 400 px
    expected_image_rows = math.ceil(lint_slides.TEXT_COLUMNS * 0.5 * 400 / 1000 * lint_slides.CELL_ASPECT)
    assert rows_of("T\n===\n\n![image:width:50%](wide.png)") == fixed + expected_image_rows


def test_committed_figures_are_the_figure_scripts_and_small():
    committed = {path.name for path in (ROOT / "img").glob("*.png")}
    drawn = {f"{name}.png" for name in figures.FIGURES}
    assert committed == drawn, (f"img/ and tools/figures.py disagree: missing in img/ (run `make figures`): "
                                f"{sorted(drawn - committed)}; not drawn by the script: {sorted(committed - drawn)}")
    large = {name: (ROOT / "img" / name).stat().st_size for name in committed
             if (ROOT / "img" / name).stat().st_size > MAX_FIGURE_BYTES}
    assert not large, f"figures over {MAX_FIGURE_BYTES:,} bytes: {large}"
    assert used_figures() <= drawn, f"used but not drawn by tools/figures.py: {sorted(used_figures() - drawn)}"


def test_the_figure_script_draws_every_figure_the_slides_and_notebooks_use(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "figures.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"tools/figures.py failed:\n{result.stderr[-3000:]}"
    drawn = {path.name for path in tmp_path.glob("*.png")}
    missing = used_figures() - drawn
    assert not missing, f"slides.md or a notebook uses figures that tools/figures.py did not draw: {sorted(missing)}"
    for name in drawn:
        path = tmp_path / name
        width, height = lint_slides.png_size(path)
        assert width >= 400 and height >= 200, f"{name} is only {width} × {height} pixels"
        assert path.stat().st_size <= MAX_FIGURE_BYTES, f"{name} is {path.stat().st_size:,} bytes"


def test_make_figures_keeps_a_figure_someone_edited_and_says_so(tmp_path):
    name = next(name for name in figures.FIGURES if name not in figures.NEEDS_REFERENCE)
    other = next(other for other in figures.FIGURES if other not in figures.NEEDS_REFERENCE | {name})
    figures.main([str(tmp_path), "--only", name, other])
    drawn = (tmp_path / f"{name}.png").read_bytes()
    (tmp_path / f"{name}.png").write_bytes(b"my own drawing")
    (tmp_path / f"{other}.png").unlink()
    with pytest.raises(SystemExit, match=rf"kept {re.escape(str(tmp_path / name))}\.png as it is, not redrawn: "
                                         r"it differs from the committed figure and from the new drawing"):
        figures.main([str(tmp_path), "--only", name, other])
    assert (tmp_path / f"{name}.png").read_bytes() == b"my own drawing"
    assert (tmp_path / f"{other}.png").is_file(), "the other figures are drawn"
    (tmp_path / f"{name}.png").write_bytes(drawn)
    figures.main([str(tmp_path), "--only", name])  # its own drawing: no complaint
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([f"{name}.png", f"{other}.png"]), \
        "no temporary file is left behind"


def test_make_figures_redraws_a_figure_as_committed(tmp_path):
    name = next(name for name in figures.FIGURES if name not in figures.NEEDS_REFERENCE)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / f"{name}.png").write_bytes(b"an older drawing")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "figures"], check=True)
    figures.main([str(tmp_path), "--only", name])
    assert (tmp_path / f"{name}.png").read_bytes().startswith(b"\x89PNG"), "the committed figure is redrawn"


def test_make_figures_in_a_handout_says_what_it_needs_before_drawing_anything(tmp_path):
    """A handout has no solutions/, and the training curves train the reference."""
    kit, out = tmp_path / "kit", tmp_path / "out"
    (kit / "tools").mkdir(parents=True)
    for tool in ("figures.py", "files.py"):
        shutil.copy2(ROOT / "tools" / tool, kit / "tools" / tool)
    shutil.copytree(ROOT / "data", kit / "data", ignore=shutil.ignore_patterns("mnist"))
    done = subprocess.run([sys.executable, str(kit / "tools" / "figures.py"), str(out)],
                          capture_output=True, text=True, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "solutions/" in lines[0] and "training_curves" in lines[0], lines[0]
    assert not list(out.glob("*.png")), "nothing is drawn"
    other = next(name for name in figures.FIGURES if name not in figures.NEEDS_REFERENCE)
    done = subprocess.run([sys.executable, str(kit / "tools" / "figures.py"), str(out), "--only", other],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and (out / f"{other}.png").is_file(), done.stderr


def slide_paragraphs() -> list[str]:
    """The paragraphs and bullets of slides.md (a bullet's continuation lines belong to it)."""
    text = (ROOT / "slides.md").read_text(encoding="utf-8")
    return [block for paragraph in text.split("\n\n") for block in re.split(r"\n(?=\* )", paragraph)]


def test_slides_count_weights_and_biases_as_parameters():
    conv_parameters = 16 * 1 * 3 * 3 + 16  # 1 → 16 channels, 3 × 3 kernels, one bias per output channel
    linear_parameters = 784 * 784 + 784
    [line] = [block for block in slide_paragraphs() if "1→16 channels" in block]
    for count in (conv_parameters, linear_parameters):
        assert f"{count:,}" in line or str(count) in line, line
        assert not re.search(rf"\b{count:,}\s+weights|\b{count}\s+weights", line), (
            f"{count} counts the biases too: call them parameters ({line})")
    assert "parameters" in line.lower(), line


def test_slides_say_which_commands_need_the_full_kit():
    """A handout has no solutions/: there, make bench, make train (and the others) say so."""
    needs_solutions = re.compile(r"`make (bench|sync|handout|train|figures)\b|`make test` to see the whole kit's")
    vague = [block for block in slide_paragraphs() if needs_solutions.search(block) and "solutions/" not in block]
    assert not vague, "say that these need the full kit (with solutions/):\n" + "\n".join(vague)

"""Check slides.md: it presents cleanly, and everything it names exists in the kit.

    python tools/lint_slides.py [SLIDES]      (default: the kit's slides.md)

Prints one line per problem, ``slides.md: slide N "Title": what is wrong``
(N counts the title slide, as presenterm's footer does), and exits 1 if there
is any. ``tests/test_slides.py`` runs the same checks in ``make test``:

- the front matter is YAML with a title and an author;
- every image exists and has a width (``![image:width:60%](img/x.png)``);
- every relative link exists; every path in inline code (``nn/functions.py``)
  exists at the top level or under solutions/;
- ``file.py: Name.method, other`` names exist in that file (solutions/ version,
  read with ast; a notebook's code cells for ``.ipynb``); ``nn.X``, ``act.X``,
  ``loss.X`` exist in the package's ``__init__.py``;
- ``make TARGET`` is a Makefile target, ``make check TASKS="…"`` and ``Task X.Y``
  name catalogue tasks, ``pytest -m MARKER`` a catalogue marker (or ``task``);
- fenced ``python`` blocks compile;
- no slide is taller than a 100 × 40 terminal (see ``slide_height``);
- every task of tools/tasks.py is handed out on exactly one "Go ahead" slide,
  the one its ``slide`` field names, in the catalogue's order, and that slide
  shows the task's files and functions and the command that checks it.
"""

from __future__ import annotations

import ast
import json
import math
import re
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "tools"))
import tasks as catalogue  # noqa: E402  (tools/tasks.py)

# --- the terminal and presenterm's default theme ---------------------------------------------
# presenterm does not scroll: a slide must fit the terminal the organizer presents in.
TERMINAL_COLUMNS, TERMINAL_ROWS = 100, 40
TEXT_COLUMNS = TERMINAL_COLUMNS - 2 * 8   # the theme's margin: 8% on each side
CODE_PADDING = 2                          # code blocks: 2 columns of padding left and right
COLUMN_GAP = 4                            # presenterm's margin between layout columns
TITLE_PADDING_ROWS = 3                    # an empty row above and below the title, one after it
FOOTER_ROWS = 2                           # the slide counter at the bottom, and the row above it
CELL_ASPECT = 0.5                         # a terminal cell is about half as wide as it is tall

GO_AHEAD = "Go ahead"
COMMAND = re.compile(r"<!--\s*(\w+)\s*(?::\s*(.*?))?\s*-->")
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
TASK_MENTION = re.compile(r"\bTask (\d+(?:\.\d+)*)\b")
MAKE = re.compile(r"\bmake\s+([a-z][\w-]*)((?:\s+[A-Z_]+=(?:\"[^\"]*\"|'[^']*'|\S+))*)")
PYTEST_MARKER = re.compile(r"\bpytest\b[^`\n]*?\s-m\s+[\"']?([\w ]+?)[\"']?(?=\s|$|`)")
FILE_NAMES = re.compile(r"^((?:[\w.-]+/)*[\w.-]+\.(?:py|ipynb))\s*:\s*([\w., ]+)$")
PACKAGE_NAME = re.compile(r"^(nn|act|loss)\.([A-Za-z_]\w*)")
PATH = re.compile(r"(?<![\w./-])((?:\.?[\w-]+/)*[\w.-]+\.(?:py|ipynb|md|png|npz|toml|yml|yaml|cfg)|[\w-]+/)(?![\w/])")
WIDTH_ATTRIBUTE = re.compile(r"image:(?:width|w):(\d+)%")


@dataclass
class Slide:
    number: int          # as presenterm counts: the title slide made from the front matter is 1
    title: str
    lines: list[str]     # the slide's source lines, without the title and its underline
    first_line: int      # line number of the slide's first line in the file

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def label(self) -> str:
        return f'slide {self.number} "{self.title}"' if self.title else f"slide {self.number} (no title)"


@dataclass
class Deck:
    path: Path
    front_matter: str | None
    slides: list[Slide] = field(default_factory=list)


# --- parsing ---------------------------------------------------------------------------------

def fence_of(line: str) -> str | None:
    stripped = line.lstrip()
    for fence in ("```", "~~~"):
        if stripped.startswith(fence):
            return fence
    return None


def outside_code(lines: list[str]):
    """(index, line) of the lines that are not inside fenced code blocks (fences excluded)."""
    fence = None
    for index, line in enumerate(lines):
        marker = fence_of(line)
        if fence is None and marker:
            fence = marker
        elif fence is not None and marker == fence and line.strip() == fence:
            fence = None
        elif fence is None:
            yield index, line


def code_blocks(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(language, lines) of every fenced code block."""
    blocks, fence, language, body = [], None, "", []
    for line in lines:
        marker = fence_of(line)
        if fence is None and marker:
            fence, language, body = marker, line.strip()[3:].strip().split(" ")[0], []
        elif fence is not None and marker == fence and line.strip() == fence:
            blocks.append((language, body))
            fence = None
        elif fence is not None:
            body.append(line)
    return blocks


def parse(path: Path) -> Deck:
    """Split slides.md into the front matter and slides (separated by ``<!-- end_slide -->``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    front_matter, start = None, 0
    if lines and lines[0].strip() == "---":
        for index in range(1, len(lines)):
            if lines[index].strip() == "---":
                front_matter, start = "\n".join(lines[1:index]), index + 1
                break
    deck = Deck(path, front_matter)
    first_number = 2 if front_matter is not None else 1
    chunk: list[str] = []
    chunk_start = start
    body = lines[start:]
    prose = {offset for offset, _ in outside_code(body)}
    for offset, line in enumerate(body):
        if offset in prose and line.strip() == "<!-- end_slide -->":
            deck.slides.append(make_slide(first_number + len(deck.slides), chunk, chunk_start + 1))
            chunk, chunk_start = [], start + offset + 1
        else:
            chunk.append(line)
    if any(line.strip() for line in chunk):
        deck.slides.append(make_slide(first_number + len(deck.slides), chunk, chunk_start + 1))
    return deck


def make_slide(number: int, lines: list[str], first_line: int) -> Slide:
    """Find the setext title (a line underlined with ===) before any other content."""
    for index, line in outside_code(lines):
        if not line.strip() or COMMAND.fullmatch(line.strip()):
            continue
        if index + 1 < len(lines) and re.fullmatch(r"=+", lines[index + 1].strip()):
            return Slide(number, line.strip(), lines[:index] + lines[index + 2:], first_line)
        break
    return Slide(number, "", lines, first_line)


# --- what the kit contains -------------------------------------------------------------------

def kit_file(root: Path, relative: str) -> Path | None:
    """The reference in solutions/ (the source of the participant version), else the file itself.

    A handout (no solutions/) has the generated participant files, which define the same names.
    """
    for candidate in (root / "solutions" / relative, root / relative):
        if candidate.exists():
            return candidate
    return None


def defined_names(path: Path) -> set[str]:
    """Qualified names defined in a Python file or in a notebook's code cells: f, Class, Class.method."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        sources = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
        sources = ["\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
                   for source in sources]
    else:
        sources = [path.read_text(encoding="utf-8")]
    names: set[str] = set()

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(prefix + child.name)
                if isinstance(child, ast.ClassDef):
                    visit(child, prefix + child.name + ".")

    for source in sources:
        try:
            visit(ast.parse(source), "")
        except SyntaxError:
            continue
    return names


def package_names(root: Path, package: str) -> set[str]:
    """What ``import package; package.X`` finds: names defined or imported in __init__.py, and submodules."""
    init = kit_file(root, f"{package}/__init__.py")
    if init is None:
        return set()
    names = {p.stem for p in init.parent.glob("*.py")}
    for node in ast.walk(ast.parse(init.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def make_targets(root: Path) -> set[str]:
    makefile = root / "Makefile"
    if not makefile.exists():
        return set()
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", makefile.read_text(encoding="utf-8"), re.MULTILINE))


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels from the PNG header."""
    with path.open("rb") as file:
        header = file.read(24)
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    return struct.unpack(">II", header[16:24])


# --- the height of a slide -------------------------------------------------------------------

def visible_length(line: str) -> int:
    """Characters on screen: without emphasis markers, backticks and link targets."""
    line = LINK.sub(r"\1", line)
    line = line.replace("**", "").replace("`", "")
    return len(line.rstrip())


def wrapped_rows(line: str, width: int) -> int:
    return max(1, math.ceil(visible_length(line) / max(width, 1)))


def image_rows(path: Path, width_percent: int, columns: int) -> int:
    """presenterm scales the image to width_percent of the available columns, keeping its aspect ratio."""
    width, height = png_size(path)
    return math.ceil(columns * width_percent / 100 * height / width * CELL_ASPECT)


def slide_height(slide: Slide, deck_folder: Path) -> tuple[int, list[str]]:
    """Rows the slide takes on a 100 × 40 terminal, and the problems found on the way.

    Model of presenterm's default theme: the text is 84 columns wide (8% margins);
    the title takes its wrapped lines plus 3 rows; the footer 2. Each text line
    wraps at the available width; a run of blank lines is one empty row; comment
    commands take no row (``new_lines: N`` takes N, ``jump_to_middle`` moves
    down to row 20); a code block takes its lines
    (wrapped at the width less 2 × 2 columns of padding) plus 2 rows of padding;
    a table row takes one row and must fit. An image has to carry a width
    (``image:width:N%``) and takes width × height/width × 0.5 rows (a cell is
    about twice as tall as wide). In a column layout, each column gets its share
    of the width less 4 columns; the layout is as tall as its tallest column.
    """
    problems: list[str] = []
    title_rows = wrapped_rows(slide.title, TEXT_COLUMNS) + TITLE_PADDING_ROWS if slide.title else 0
    total = title_rows + FOOTER_ROWS
    columns: list[int] | None = None   # column widths of the current layout
    column_rows: list[int] = []
    current = -1                       # the column being written, -1 outside a layout
    fence = None
    blank_pending = False
    in_comment = False

    def width() -> int:
        return columns[current] if columns and current >= 0 else TEXT_COLUMNS

    def add(rows: int) -> None:
        nonlocal total, blank_pending
        if blank_pending:
            rows += 1
            blank_pending = False
        if columns is not None and current >= 0:
            column_rows[current] += rows
        else:
            total += rows

    def close_layout() -> None:
        nonlocal total, columns, column_rows, current
        if columns is not None:
            total += max(column_rows, default=0)
        columns, column_rows, current = None, [], -1

    for line in slide.lines:
        stripped = line.strip()
        if in_comment:
            in_comment = "-->" not in stripped
            continue
        marker = fence_of(line)
        if fence is not None:
            if marker == fence and stripped == fence:
                fence = None
                add(1)  # bottom padding
            else:
                add(wrapped_rows(line, width() - 2 * CODE_PADDING))
            continue
        if marker:
            fence = marker
            add(1)  # top padding
            continue
        if not stripped:
            if total > title_rows + FOOTER_ROWS or any(column_rows):
                blank_pending = True
            continue
        command = COMMAND.fullmatch(stripped)
        if command:
            name, value = command.group(1), command.group(2) or ""
            if name == "column_layout":
                close_layout()
                units = [int(unit) for unit in re.findall(r"\d+", value)]
                columns = [int(TEXT_COLUMNS * unit / sum(units)) - COLUMN_GAP for unit in units]
                column_rows = [0] * len(units)
                blank_pending = False
            elif name == "column":
                if columns is None or not value.isdigit() or int(value) >= len(columns):
                    problems.append(f"<!-- column: {value} --> without a column_layout that has that column")
                else:
                    current = int(value)
                    blank_pending = False
            elif name == "reset_layout":
                close_layout()
                blank_pending = False
            elif name in ("new_lines", "newlines"):
                add(int(value or 1))
            elif name in ("new_line", "newline"):
                add(1)
            elif name == "jump_to_middle":
                total = max(total, TERMINAL_ROWS // 2)
            continue
        if stripped.startswith("<!--"):
            in_comment = "-->" not in stripped  # a multi-line comment command (speaker_note: |)
            continue
        image = IMAGE.fullmatch(stripped)
        if image:
            alt, target = image.groups()
            width_attribute = WIDTH_ATTRIBUTE.search(alt)
            image_path = deck_folder / target
            if not width_attribute:
                problems.append(f"the image {target} has no width: write ![image:width:60%]({target}) so that "
                                "its height on screen is known")
            elif image_path.exists() and image_path.suffix == ".png":
                add(image_rows(image_path, int(width_attribute.group(1)), width()))
            continue
        if stripped.startswith("|"):
            if visible_length(stripped) > width():
                problems.append(f"a table row is {visible_length(stripped)} characters wide, more than the "
                                f"{width()} available (tables do not wrap): {stripped[:50]}…")
            add(1)
            continue
        add(wrapped_rows(line, width()))
    close_layout()
    return total, problems


# --- the checks ------------------------------------------------------------------------------

def check_front_matter(deck: Deck) -> list[str]:
    name = deck.path.name
    if deck.front_matter is None:
        return [f"{name}: no front matter: start the file with a --- block holding title and author"]
    try:
        import yaml
    except ImportError:  # pyyaml is a test dependency; the rest of the checks still run
        return [f"{name}: cannot check the front matter: pyyaml is not installed (pip install pyyaml)"]
    try:
        data = yaml.safe_load(deck.front_matter)
    except yaml.YAMLError as error:
        return [f"{name}: the front matter is not valid YAML: {' '.join(str(error).split())}"]
    if not isinstance(data, dict):
        return [f"{name}: the front matter must be a YAML mapping (title: …, author: …), got {type(data).__name__}"]
    return [f"{name}: the front matter has no {key!r}" for key in ("title", "author")
            if not data.get(key) and not (key == "author" and data.get("authors"))]


def check_references(deck: Deck, slide: Slide, root: Path) -> list[str]:
    """Images, links, paths, functions, package names, make targets, markers and task ids."""
    problems: list[str] = []
    folder = deck.path.parent
    prose = "\n".join(line for _, line in outside_code(slide.lines))
    for _, target in IMAGE.findall(prose):
        if not (folder / target).exists():
            problems.append(f"the image {target} does not exist (run `make figures`, or fix the path)")
    for _, target in LINK.findall(prose):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        if not (folder / target.split("#")[0]).exists():
            problems.append(f"the link to {target} is broken: no such file next to {deck.path.name}")
    spans = INLINE_CODE.findall(prose)
    code = "\n".join("\n".join(body) for _, body in code_blocks(slide.lines))
    for span in spans:
        problems += check_span(span, root)
    targets = make_targets(root)
    for target, variables in MAKE.findall("\n".join(spans) + "\n" + code):
        if target not in targets:
            problems.append(f"`make {target}`: the Makefile has no target {target!r}")
        for ids in re.findall(r"TASKS=[\"']?([\d. ]+)", variables):
            problems += [f"`make {target}{variables}`: no task {task_id} in tools/tasks.py"
                         for task_id in ids.split() if task_id not in catalogue.TASKS_BY_ID]
    for markers in PYTEST_MARKER.findall("\n".join(spans) + "\n" + code):
        for marker in re.findall(r"\w+", markers):
            if marker not in catalogue.TASKS_BY_MARKER and marker not in ("task", "and", "or", "not"):
                problems.append(f"`pytest -m {marker}`: no task has the marker {marker!r} (tools/tasks.py)")
    for task_id in TASK_MENTION.findall(slide.title + "\n" + prose):
        if task_id not in catalogue.TASKS_BY_ID:
            problems.append(f"Task {task_id} is not in the catalogue (tools/tasks.py)")
    return problems


def check_span(span: str, root: Path) -> list[str]:
    """One inline code span: ``file: names``, ``nn.X``, or paths."""
    problems = []
    for part in span.split(";"):
        part = part.strip()
        names = FILE_NAMES.match(part)
        if names:
            file, listed = names.groups()
            path = kit_file(root, file)
            if path is None:
                problems.append(f"`{part}`: the file {file} does not exist (nor solutions/{file})")
                continue
            defined = defined_names(path)
            problems += [f"`{part}`: {file} defines no {name}" for name in
                         (n.strip() for n in listed.split(",")) if name and name not in defined]
            continue
        package = PACKAGE_NAME.match(part)
        if package and package.group(2) not in package_names(root, package.group(1)):
            problems.append(f"`{part}`: {package.group(1)} has no {package.group(2)!r} "
                            f"(not in {package.group(1)}/__init__.py)")
        for path in PATH.findall(part):
            if part.startswith(("http", "pip ", "cargo ", "brew ")) or path.startswith(".venv"):
                continue
            if kit_file(root, path) is None:
                problems.append(f"`{part}`: the path {path} does not exist in the kit (nor under solutions/)")
    return problems


def check_python_blocks(slide: Slide) -> list[str]:
    problems = []
    for language, body in code_blocks(slide.lines):
        if language.lower() in ("python", "py"):
            try:
                compile("\n".join(body), slide.label(), "exec")
            except SyntaxError as error:
                problems.append(f"a python block does not compile: {error.msg} (line {error.lineno} of the block)")
    return problems


def check_tasks(deck: Deck) -> list[str]:
    """Every task on exactly one Go-ahead slide (the one it names), in catalogue order, with place and command."""
    problems: list[str] = []
    handed_out: dict[str, list[Slide]] = {}
    for slide in deck.slides:
        if not slide.title.startswith(GO_AHEAD):
            continue
        ids = list(dict.fromkeys(TASK_MENTION.findall(slide.text)))
        if not ids:
            problems.append(f"{slide.label()}: a Go-ahead slide that hands out no task (write 'Task X.Y')")
        for task_id in ids:
            handed_out.setdefault(task_id, []).append(slide)
    previous: tuple[catalogue.Task, Slide] | None = None
    for task in catalogue.TASKS:
        slides = handed_out.get(task.id, [])
        if not slides:
            problems.append(f"Task {task.id} ({task.title}) is handed out on no Go-ahead slide; tools/tasks.py "
                            f"expects it on the slide titled {task.slide!r}")
            continue
        if len(slides) > 1:
            problems.append(f"Task {task.id} is handed out on {len(slides)} slides: "
                            f"{', '.join(s.label() for s in slides)}; it must be exactly one")
        slide = slides[0]
        label = slide.label()
        if slide.title != task.slide:
            problems.append(f"{label}: hands out Task {task.id}, but tools/tasks.py says its slide is {task.slide!r}")
        missing = []
        for place in task.places:
            file, name = place.split(":")
            missing += [file] if file not in slide.text and file not in missing else []
            missing += [] if re.search(rf"\b{re.escape(name)}\b", slide.text) else [name]
        if missing:
            problems.append(f"{label}: Task {task.id} must show where to work; missing: {', '.join(missing)} "
                            f"(tools/tasks.py place: {task.place})")
        if "make check" not in slide.text and f"-m {task.marker}" not in slide.text:
            problems.append(f"{label}: Task {task.id} needs the command that checks it "
                            f"(`make check TASKS=\"{task.id}\"` or `pytest -m {task.marker}`)")
        if previous and slide.number < previous[1].number:
            problems.append(f"{label}: Task {task.id} comes before Task {previous[0].id} ({previous[1].label()}), "
                            "but tools/tasks.py lists the tasks in slide order")
        previous = (task, slide)
    return problems


def lint(path: Path, root: Path = ROOT) -> list[str]:
    """Every problem of the deck at ``path``, one message each (empty: all good)."""
    deck = parse(path)
    name = path.name
    problems = check_front_matter(deck)
    if not deck.slides:
        problems.append(f"{name}: no slides (slides are separated by <!-- end_slide -->)")
    titles: dict[str, Slide] = {}
    for slide in deck.slides:
        found = check_references(deck, slide, root) + check_python_blocks(slide)
        height, layout_problems = slide_height(slide, path.parent)
        found += layout_problems
        if height > TERMINAL_ROWS:
            found.append(f"{height} rows tall, more than a {TERMINAL_COLUMNS}×{TERMINAL_ROWS} terminal "
                         f"(presenterm does not scroll): shorten it or split it (source line {slide.first_line})")
        if slide.title.startswith(GO_AHEAD) and slide.title in titles:
            found.append(f"the same title as {titles[slide.title].label()}; Go-ahead titles must be unique")
        titles.setdefault(slide.title, slide)
        problems += [f"{name}: {slide.label()}: {problem}" for problem in found]
    problems += [f"{name}: {problem}" for problem in check_tasks(deck)]
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else ROOT / "slides.md"
    if not path.exists():
        print(f"lint_slides: {path} does not exist", file=sys.stderr)
        return 2
    problems = lint(path)
    for problem in problems:
        print(problem)
    deck = parse(path)
    print(f"{path.name}: {len(deck.slides)} slides, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

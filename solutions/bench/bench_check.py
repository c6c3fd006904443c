"""Benchmark: how long `make check` takes, in a complete participant tree and an untouched one.

    .venv/bin/python solutions/bench/bench_check.py [--repeats 3] [--quick]

Two scratch copies of the kit as a participant has it (the files of `make
handout`): one untouched, one with every task solved (the reference's code in
every hole, as tools/sync.py writes it with ``keep``). In each, ``tools/check.py``
runs as `make check` runs it: the whole table (median of ``--repeats`` runs), and
each task alone (`make check TASKS=3.2`, one run per task; the slowest and the
median are reported). Every time is also given as a ratio to a bare
``python -c "import numpy, pytest"`` measured in the same run (its median), so
that figures from a busy machine can be compared. ``--quick``: one table run per
tree and three tasks (2.2, 3.2, 6.2: the slowest kinds).

Targets: one task ≤ 1.5 s, the whole table ≤ 5 s, in both trees.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

KIT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(KIT / "tools"))

import sync  # noqa: E402  (tools/sync.py)
import tasks as catalogue  # noqa: E402  (tools/tasks.py)

TARGETS = {"table": 5.0, "task": 1.5}
QUICK_TASKS = ("2.2", "3.2", "6.2")
BARE = [sys.executable, "-c", "import numpy, pytest"]


def participant_tree(destination: Path, solved: bool) -> Path:
    """A copy of the kit's handout files in ``destination``; with ``solved``, every hole filled in."""
    for name in sync.handout_files(KIT):
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(KIT / name, destination / name)
    if solved:
        everything = frozenset(task.id for task in catalogue.TASKS)
        for name, text in sync.generate(KIT, keep=everything).items():
            (destination / name).write_text(text, encoding="utf-8")
    return destination


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run of ``command``; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{done.stdout}{done.stderr}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="whole-table runs per tree (median)")
    parser.add_argument("--quick", action="store_true", help="one table run per tree and three tasks")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    task_ids = QUICK_TASKS if args.quick else tuple(task.id for task in catalogue.TASKS)
    trees = ("complete", "untouched")
    print(f"make check: the whole table ({repeats} run{'s' * (repeats > 1)}, median) and "
          f"{len(task_ids)} task{'s' * (len(task_ids) > 1)} alone (one run each), in a complete and an "
          f"untouched participant tree", flush=True)

    runs = len(trees) * (repeats + len(task_ids)) + 2 * repeats + 1
    progress = tqdm(total=runs, unit="run", desc="bench_check", leave=False)
    bare: list[tuple[float, float]] = []

    def bare_run() -> None:
        progress.set_postfix_str("bare python")
        bare.append(timed(BARE, KIT))
        progress.update()

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        bare_run()
        for tree in trees:
            root = participant_tree(Path(scratch) / tree, solved=tree == "complete")
            check = [sys.executable, str(root / "tools" / "check.py")]
            tables = []
            for _ in range(repeats):
                bare_run()
                progress.set_postfix_str(f"{tree}: whole table")
                tables.append(timed(check, root))
                progress.update()
            singles = {}
            for task_id in task_ids:
                progress.set_postfix_str(f"{tree}: task {task_id}")
                singles[task_id] = timed(check + [task_id], root)
                progress.update()
            slowest = max(singles, key=lambda task_id: singles[task_id][0])
            rows.append((tree, "whole table", statistics.median(t[0] for t in tables),
                         statistics.median(t[1] for t in tables), TARGETS["table"]))
            rows.append((tree, f"one task, slowest ({slowest})", *singles[slowest], TARGETS["task"]))
            rows.append((tree, "one task, median", statistics.median(t[0] for t in singles.values()),
                         statistics.median(t[1] for t in singles.values()), TARGETS["task"]))
    progress.close()

    unit = statistics.median(wall for wall, _ in bare)
    print(f"bare `python -c \"import numpy, pytest\"`: {unit:.2f} s, CPU {statistics.median(c for _, c in bare):.2f} s "
          f"(median of {len(bare)}); CPU s: of all the processes a run started\n")
    header = f"{'tree':<11}{'what':<26}{'seconds':>8}{'CPU s':>7}{'× bare':>8}  target"
    print(header + "\n" + "-" * (len(header) + 8))
    for tree, what, wall, cpu, target in rows:
        verdict = "ok" if wall <= target else "over"
        print(f"{tree:<11}{what:<26}{wall:>8.2f}{cpu:>7.2f}{wall / unit:>8.1f}  ≤ {target:g} s {verdict}")


if __name__ == "__main__":
    main()

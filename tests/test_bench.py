"""`make bench` runs: each benchmark script finishes and prints its table (the timings are never asserted)."""

import subprocess
import sys

import pytest
from conftest import IMPL, ROOT

pytestmark = pytest.mark.skipif(IMPL != "solutions", reason="the benchmarks measure the reference")

SMALLEST = {  # the shortest run of each that still prints its whole table
    "bench_mlp.py": ["--repeats", "1", "--threads", "1", "--samples", "512"],
    "bench_cnn.py": ["--repeats", "1", "--threads", "1", "--samples", "128"],
    "bench_scalar.py": ["--repeats", "1", "--points", "10"],
}


@pytest.mark.parametrize("script", sorted(SMALLEST))
def test_a_benchmark_runs_and_prints_its_table(script):
    run = subprocess.run([sys.executable, str(ROOT / "solutions" / "bench" / script), *SMALLEST[script]],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, f"{script} failed:\n{run.stderr[-3000:]}"
    header = "µs/node" if script == "bench_scalar.py" else "reference (nn)"
    assert header in run.stdout, f"{script} printed no table:\n{run.stdout[-2000:]}"

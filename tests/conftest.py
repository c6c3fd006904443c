"""Which implementation the tests import, and the task markers.

By default the tests import the top level (``nn``, ``act``, ``loss``: what a
participant wrote). With ``KIT_IMPL=solutions`` (what ``make test`` sets) they
import the reference in ``solutions/`` instead.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IMPL = os.environ.get("KIT_IMPL", "participant")
if IMPL not in ("participant", "solutions"):
    raise pytest.UsageError(f"KIT_IMPL must be 'participant' or 'solutions', got {IMPL!r}")
IMPL_ROOT = ROOT / "solutions" if IMPL == "solutions" else ROOT
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"

# No test downloads MNIST: unless a test says otherwise, loaders use the committed sample, and a
# download a test did not point at its own server goes to a port on 127.0.0.1 where nothing listens.
os.environ.setdefault("NN_MNIST", "sample")
os.environ["NN_MNIST_MIRRORS"] = "http://127.0.0.1:9/tests-never-download/"
# make check writes in the terminal's width: the tests read it at its widest, whatever terminal runs them.
os.environ["COLUMNS"] = "100"
# One BLAS thread for the tests and all they start (kernels, make check), unless the caller chose: the CNN
# recipe trains on the other core meanwhile (start_cnn_recipe), and OpenBLAS threads that outnumber the free
# cores wait on each other (beside it, the notebooks' tests ran 3-4 times slower).
ONE_BLAS_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
for _name, _value in ONE_BLAS_THREAD.items():
    os.environ.setdefault(_name, _value)


def _private_home() -> None:
    """The test run gets a home folder of its own (deleted afterwards): IPython history,
    matplotlib's cache and config, Chromium's crash reports, npm logs land there, never in
    the user's home. Subprocesses (kernels, JupyterLab, Chromium) inherit it."""
    home = tempfile.mkdtemp(prefix="kit-test-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["HOME"] = home
    for variable, folder in (("XDG_CACHE_HOME", ".cache"), ("XDG_CONFIG_HOME", ".config"),
                             ("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state"),
                             ("IPYTHONDIR", ".ipython"), ("MPLCONFIGDIR", ".config/matplotlib"),
                             ("npm_config_cache", ".npm")):
        os.environ[variable] = os.path.join(home, folder)


_private_home()

# Before anything imports nn: put the chosen implementation first on the path.
for name in ("nn", "act", "loss"):
    if name in sys.modules and not str(sys.modules[name].__file__).startswith(str(IMPL_ROOT)):
        raise RuntimeError(f"{name} was imported from {sys.modules[name].__file__} before conftest chose {IMPL_ROOT}")
sys.path.insert(0, str(IMPL_ROOT))


def one_line(text: str) -> str:
    """``text`` with each run of whitespace as one space: a phrase of a message that the report wraps
    over two lines reads whole again."""
    return " ".join(text.split())


def load_tools_module(name: str):
    """Import tools/<name>.py by path (tools/ is not a package on sys.path)."""
    spec = importlib.util.spec_from_file_location(f"kit_tools_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


TASKS = load_tools_module("tasks")

# A handout has no solutions/: its task tests run (`python -m pytest -m task3_2`, which `make check`
# suggests), while these tests of the kit's own tools read the reference as they load.
collect_ignore = [] if (ROOT / "solutions").is_dir() else ["test_check.py", "test_check_robust.py", "test_hints.py"]



def examples(count: int) -> int:
    """``max_examples`` for a generated test: ``count``, or the check profile's fewer under `make check`."""
    from hypothesis import settings

    return min(count, settings.default.max_examples)


@pytest.hookimpl(tryfirst=True)  # before Hypothesis's plugin loads the profile
def pytest_configure(config):
    if config.getoption("hypothesis_profile", None) == "check":
        # Generated tests under `make check` (tools/taskreport.py asks for this profile): fewer examples
        # and no shrinking, so that a task's check takes about a second; `make test` runs each test's count.
        from hypothesis import Phase, settings

        settings.register_profile("check", max_examples=10, deadline=None, database=None,
                                  phases=(Phase.explicit, Phase.reuse, Phase.generate))
    for task in TASKS.TASKS:
        config.addinivalue_line("markers", f"{task.marker}: Task {task.id} — {task.title}")


def pytest_collection_modifyitems(items):
    """Every test with a task marker also gets the generic ``task`` marker."""
    for item in items:
        if any(mark.name in TASKS.TASKS_BY_MARKER for mark in item.iter_markers()):
            item.add_marker(pytest.mark.task)


# --- the CNN recipe on full MNIST: minutes of training, overlapped with the other tests ------------------
CNN_RECIPE_TEST = "tests/test_training.py::test_the_cnn_recipe_reaches_99_percent_on_full_mnist"
CNN_RECIPE_RUN = pytest.StashKey()
CNN_RECIPE_SCRIPT = """
import json, sys
solutions, tools, mnist_dir, cache_dir = sys.argv[1:]
sys.path[:0] = [solutions, tools]
import nn, train
data = nn.load_mnist(source="full", mnist_dir=mnist_dir, cache_dir=cache_dir, mirrors=(), progress=False)
print(json.dumps(train.train(train.build_cnn(), train.as_images(data), progress=False, **train.RECIPES["cnn"])))
"""


def start_cnn_recipe():
    """The CNN recipe of `make train` on full MNIST in a process of its own, with one BLAS thread (the other
    tests keep the other core). It prints the test accuracy after each epoch, as JSON, when done."""
    import subprocess

    cache = tempfile.mkdtemp(prefix="kit-test-cnn-")
    run = subprocess.Popen([sys.executable, "-c", CNN_RECIPE_SCRIPT, str(ROOT / "solutions"), str(ROOT / "tools"),
                            str(SHARED_MNIST), cache], cwd=cache, env={**os.environ, **ONE_BLAS_THREAD},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run.cache = cache
    return run


def end_cnn_recipe(run) -> None:
    run.kill()
    run.communicate()
    shutil.rmtree(run.cache, ignore_errors=True)


def pytest_collection_finish(session):
    """The slowest test, the CNN recipe on full MNIST, trains for minutes: when it is in the run, its training
    starts now and overlaps the other tests (the test then waits for it)."""
    if IMPL == "solutions" and not missing_mnist_files(SHARED_MNIST) and \
            any(item.nodeid == CNN_RECIPE_TEST for item in session.items):
        session.config.stash[CNN_RECIPE_RUN] = start_cnn_recipe()


def pytest_sessionfinish(session):
    run = session.config.stash.get(CNN_RECIPE_RUN, None)
    if run is not None:
        end_cnn_recipe(run)


@pytest.fixture
def cnn_recipe_run(request, shared_mnist):
    """The background run of the CNN recipe (started here when the run did not start it)."""
    run = request.config.stash.get(CNN_RECIPE_RUN, None)
    started_here = run is None
    if started_here:
        run = start_cnn_recipe()
    yield run
    if started_here:
        end_cnn_recipe(run)


@pytest.fixture(autouse=True)
def numpy_default_error_handling():
    """Every test starts from NumPy's default handling of floating-point errors, whatever imported code
    set globally: a participant's np.seterr(all="raise") in one file must not fail other tasks' tests."""
    import numpy as np

    with np.errstate(divide="warn", over="warn", under="ignore", invalid="warn"):
        yield


@pytest.fixture
def initializers_without_task_3_4(monkeypatch):
    """Layers built in other tasks' tests get their starting weights from NumPy (small normal values)
    instead of xavier_uniform and he_uniform, so that those tests do not wait for task 3.4."""
    from nn import linear

    for name in linear.INITIALIZERS:
        monkeypatch.setitem(linear.INITIALIZERS, name, lambda fan_in, fan_out, rng: rng.normal(0.0, 0.1, (fan_in, fan_out)))


@pytest.fixture
def impl_root() -> Path:
    """The folder the tests import nn, act and loss from (the top level or solutions/)."""
    return IMPL_ROOT


def missing_mnist_files(folder: Path) -> list[str]:
    """The official MNIST files (``name.gz`` or ``name``) that ``folder`` lacks."""
    from nn.data import SHA256

    return [name for name in SHA256 if not ((folder / f"{name}.gz").is_file() or (folder / name).is_file())]


@pytest.fixture
def shared_mnist() -> Path:
    """../shared/data/mnist with all four official IDX files; skips the test otherwise (never downloads)."""
    missing = missing_mnist_files(SHARED_MNIST)
    if missing:
        pytest.skip(f"the official MNIST files are not all at {SHARED_MNIST} (organizers/CI only); missing: {missing}")
    return SHARED_MNIST


@pytest.fixture
def scratch(tmp_path) -> Path:
    """A participant's copy of the kit (what `make handout` gives: no solutions/)."""
    for name in load_tools_module("sync").handout_files(ROOT):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    return tmp_path


def solve(scratch: Path, task_ids: set[str]) -> None:
    """Paste the reference code of these tasks into the scratch tree, as a participant would."""
    generated = load_tools_module("sync").generate(ROOT, keep=frozenset(task_ids))
    files = {place.split(":")[0] for task_id in task_ids for place in TASKS.TASKS_BY_ID[task_id].places}
    for file in files:
        (scratch / file).write_bytes(generated[file].encode("utf-8"))

"""The kit's set-up files agree with each other."""

import re
import sys

import pytest
from conftest import ROOT

yaml = pytest.importorskip("yaml")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")


def _names(requirements):
    """Distribution names, normalized ('Jupyter_Lab>=4' → 'jupyter-lab')."""
    return {re.split(r"[<>=!~ \[;]", r.strip(), maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"]) | _names(project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {d for d in env["dependencies"] if isinstance(d, str)}
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_names = _names(conda) - {"python", "pip"}
    assert conda_names == wanted, (
        f"environment.yml lists {sorted(conda_names)}, pyproject.toml {sorted(wanted)}: "
        f"missing in environment.yml {sorted(wanted - conda_names)}, extra {sorted(conda_names - wanted)}"
    )
    assert "conda-forge" in env["channels"]
    assert "python=3.11" in conda
    assert "-e ." in pip, f"environment.yml must install the kit editable (pip: - -e .), found {pip}"


def _make(*args: str):
    import subprocess

    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True)


def test_make_stops_with_one_line_when_python_is_too_old():
    done = _make("check-python", "MIN_PYTHON=3.99")
    assert done.returncode != 0
    assert re.search(r"^Python 3\.99 or newer is needed, found 3\.\d+\.\d+", done.stderr, re.MULTILINE), done.stderr


def test_an_installed_venv_is_not_reinstalled():
    """The stamp is newer than pyproject.toml (make test just used it): nothing to install."""
    done = _make("-n", "venv")
    assert done.returncode == 0, done.stderr
    assert "pip install" not in done.stdout, f"make would reinstall the venv:\n{done.stdout}"

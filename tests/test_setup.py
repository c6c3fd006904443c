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

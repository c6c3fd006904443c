"""Notebook check cells are as strict as the tests: a cell never says 'Good' for what the tests reject.

The check cell of try_extensions.ipynb (tasks 7.1–7.3) runs on the reference with one
optimizer broken at a time, the way a participant could get it wrong.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import IMPL_ROOT

import nn

NOTEBOOK = IMPL_ROOT / "notebooks" / "try_extensions.ipynb"


def run_optimizer_check_cell(capsys) -> dict[str, str]:
    """The check cell's verdict per optimizer: 'Good', 'Not yet' or 'not written yet'."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    source = next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and "candidates" in "".join(c["source"]))
    exec(compile(source, "try_extensions.ipynb check cell", "exec"), {"nn": nn, "np": np})
    lines = capsys.readouterr().out.splitlines()
    return {line.split(" (task")[0]: line.split(": ", 1)[1].split(":")[0] for line in lines}


def momentum_not_in_place(self, velocity, grad):
    return self.momentum * velocity + grad  # the velocity array itself stays 0


def adam_without_bias_correction(self):
    self.t += 1
    for p, m, v in zip(self.params, self.m, self.v):
        m[...] = self.beta1 * m + (1 - self.beta1) * p.grad
        v[...] = self.beta2 * v + (1 - self.beta2) * p.grad**2
        p.data -= self.lr * m / (np.sqrt(v) + self.eps)


def rmsprop_replacing_the_data(self):
    for p, s in zip(self.params, self.squares):
        s[...] = self.alpha * s + (1 - self.alpha) * p.grad**2
        p.data = p.data - self.lr * p.grad / (np.sqrt(s) + self.eps)


def test_the_reference_is_good(capsys):
    assert set(run_optimizer_check_cell(capsys).values()) == {"Good"}


@pytest.mark.parametrize(("name", "owner", "method", "broken"), [
    ("SGD with momentum", nn.SGD, "momentum_direction", momentum_not_in_place),
    ("Adam", nn.Adam, "step", adam_without_bias_correction),
    ("RMSProp", nn.RMSProp, "step", rmsprop_replacing_the_data),
])
def test_a_broken_optimizer_is_not_good(capsys, monkeypatch, name, owner, method, broken):
    monkeypatch.setattr(owner, method, broken)
    verdicts = run_optimizer_check_cell(capsys)
    assert verdicts[name] == "Not yet", verdicts
    assert [verdict for other, verdict in verdicts.items() if other != name] == ["Good", "Good"]

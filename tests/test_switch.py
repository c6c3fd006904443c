"""The implementation switch: tests import the implementation KIT_IMPL names."""

import nn
from conftest import IMPL_ROOT


def test_nn_is_imported_from_the_chosen_implementation():
    assert nn.__file__.startswith(str(IMPL_ROOT / "nn")), (
        f"nn was imported from {nn.__file__}, expected it under {IMPL_ROOT / 'nn'}"
    )

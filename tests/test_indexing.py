"""Tensor.__getitem__ (nn/indexing.py): NumPy's indexing forward, gradients scattered back.

Reference-only tests (no task): values against NumPy, float64 gradchecks through
Tensor.backward on generated shapes and indices, repeated indices, bad indices.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import IMPL
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nn

pytestmark = pytest.mark.skipif(IMPL != "solutions", reason="tests the reference (KIT_IMPL=solutions)")
SETTINGS = settings(max_examples=40, deadline=None)


def leaf(array) -> nn.Tensor:
    return nn.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


X = np.arange(24, dtype=np.float64).reshape(2, 3, 4)

INDICES = {
    "int": 1,
    "negative int": -1,
    "int pair": (1, 2),
    "slice": slice(1, None),
    "slice with step": (slice(None), slice(None, None, 2)),
    "negative step": (..., slice(None, None, -2)),
    "ellipsis": (..., 0),
    "None": (None, 0),
    "None in the middle": (0, None, slice(1, 3)),
    "integer array": [1, 0, 1],
    "integer arrays per axis": (np.array([0, 1, 1]), np.array([2, 0, 2])),
    "integer array and slice": (slice(None), np.array([[0, 2], [2, 2]])),
    "boolean mask": X > 10,
    "boolean mask of an axis": (slice(None), np.array([True, False, True])),
    "empty": (slice(0, 0),),
}


@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_getitem_gives_numpys_values(index):
    got = nn.Tensor(X)[index]
    assert isinstance(got, nn.Tensor)
    np.testing.assert_array_equal(got.data, X[index])


@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_getitem_gradcheck_named_cases(index):
    assert nn.gradcheck(lambda t: t[index], leaf(X / 10))


def test_repeated_indices_accumulate():
    x = leaf([1.0, 2.0, 3.0])
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


def test_repeated_indices_accumulate_weighted():
    x = leaf(np.zeros((3, 2)))
    x[np.array([2, 2, 1])].backward(np.array([[1.0, 2.0], [10.0, 20.0], [5.0, 6.0]]))
    np.testing.assert_array_equal(x.grad, [[0, 0], [5, 6], [11, 22]])


def test_picking_the_labels_column_of_log_probabilities():
    """The classic use: the log-probability of each sample's label, out[i] = logp[i, y[i]]."""
    logp = leaf(np.log(np.full((3, 4), 0.25)))
    labels = np.array([3, 0, 3])
    picked = logp[np.arange(3), labels]
    np.testing.assert_allclose(picked.data, np.log(0.25))
    (-picked.mean()).backward()
    expected = np.zeros((3, 4))
    expected[np.arange(3), labels] = -1 / 3
    np.testing.assert_allclose(logp.grad, expected)


def test_iterating_and_numpy_conversion():
    t = nn.Tensor([[1.0, 2.0], [3.0, 4.0]])
    rows = list(t)
    assert len(rows) == 2 and all(isinstance(row, nn.Tensor) for row in rows)
    np.testing.assert_array_equal(rows[1].data, [3.0, 4.0])
    converted = np.asarray(t)
    assert converted.dtype == np.float32 and converted.shape == (2, 2)


@st.composite
def arrays_and_indices(draw):
    """A float64 array of 1–3 axes and an index: per axis an int, a slice with a step, or an
    integer array (with repeats), sometimes with ... or None; or a boolean mask."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    array = draw(hnp.arrays(np.float64, shape, elements=st.floats(-2, 2, width=64)))
    if draw(st.booleans()) and draw(st.booleans()):
        return array, draw(hnp.arrays(np.bool_, shape))
    parts = []
    for size in shape:
        kind = draw(st.sampled_from(["int", "slice", "array"]))
        if kind == "int":
            parts.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            parts.append(slice(draw(st.none() | st.integers(-size, size)), draw(st.none() | st.integers(-size, size)),
                               draw(st.sampled_from([None, 1, 2, -1, -2]))))
        else:
            parts.append(np.array(draw(st.lists(st.integers(-size, size - 1), min_size=1, max_size=5))))
    arrays = [k for k, part in enumerate(parts) if isinstance(part, np.ndarray)]
    for k in arrays[1:]:  # several integer arrays must broadcast together: give them one length
        parts[k] = np.resize(parts[k], len(parts[arrays[0]]))
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), None)
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(parts)))
        parts = parts[:cut] + [...] + [p for p in parts[cut:] if p is not None][1:]
    return array, tuple(parts)


@SETTINGS
@given(arrays_and_indices())
def test_getitem_gradcheck_generated(case):
    array, index = case
    np.testing.assert_array_equal(nn.Tensor(array)[index].data, array[index])
    assert nn.gradcheck(lambda t: t[index], leaf(array))


def test_index_with_a_tensor_is_a_clear_error():
    x = nn.Tensor([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="NumPy array"):
        x[nn.Tensor([0.0, 1.0])]


def test_index_out_of_range_names_the_axis():
    with pytest.raises(IndexError, match="out of bounds"):
        nn.Tensor([1.0, 2.0, 3.0])[3]

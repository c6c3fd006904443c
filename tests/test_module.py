"""Module (parameter discovery, zero_grad, repr, save/load) and Sequential, in the reference."""

from __future__ import annotations

import os

import numpy as np
import pytest

import nn


class Block(nn.Module):
    """Parameters in every kind of place: an attribute, a list, a tuple, a dict, a nested module."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.scale = nn.Tensor(np.ones(2, np.float32), requires_grad=True)
        self.layers = [nn.Linear(2, 3, rng=rng), nn.Linear(3, 2, rng=rng)]
        self.pair = (nn.Tensor(np.zeros(1, np.float32), requires_grad=True), "not a tensor")
        self.extra = {"gate": nn.Tensor(np.zeros(2, np.float32), requires_grad=True)}
        self.constant = nn.Tensor(np.ones(2, np.float32))       # not a parameter
        self.learning_rate = 0.1                                   # not a parameter either

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x * self.scale + self.extra["gate"] + self.pair[0]


def test_parameters_are_found_everywhere():
    block = Block()
    names = [name for name, _ in block.named_parameters()]
    assert names == ["scale", "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                     "pair.0", "extra.gate"]
    assert [p for _, p in block.named_parameters()] == block.parameters()
    assert all(p is not block.constant for p in block.parameters())


def test_nested_modules_and_shared_parameters_are_counted_once():
    class Tied(nn.Module):
        def __init__(self):
            self.encoder = nn.Linear(4, 2, rng=0)
            self.decoder = nn.Linear(2, 4, rng=1)
            self.decoder.weight = self.encoder.weight     # (not a sensible shape; sharing is what counts)
            self.again = self.encoder
            self.parent = self                            # a cycle must not loop forever

    names = [name for name, _ in Tied().named_parameters()]
    assert names == ["encoder.weight", "encoder.bias", "decoder.bias"]


def test_computed_tensors_are_not_parameters():
    class Caches(nn.Module):
        def __init__(self):
            self.w = nn.Tensor([1.0], requires_grad=True)
            self.last = self.w * 2                        # requires grad, but is not a leaf

    model = Caches()
    assert [name for name, _ in model.named_parameters()] == ["w"] and model.parameters()[0] is model.w


def test_call_runs_forward_and_zero_grad_resets():
    block = Block()
    out = block(nn.Tensor(np.ones((5, 2), np.float32)))
    assert out.shape == (5, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in block.parameters())
    block.zero_grad()
    assert all(p.grad is None for p in block.parameters())


def test_module_without_forward():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define forward"):
        Empty()(1)


def test_repr_shows_the_structure():
    model = nn.Sequential(nn.Linear(784, 256, rng=0), nn.Linear(256, 10, rng=0))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
        "  (1): Linear(in_features=256, out_features=10, bias=True)\n"
        ")"
    )
    text = repr(Block())
    assert text.startswith("Block(\n") and "(layers.1): Linear(in_features=3, out_features=2, bias=True)" in text


def test_repr_of_nested_modules_is_indented():
    class Outer(nn.Module):
        def __init__(self):
            self.body = nn.Sequential(nn.Linear(2, 2, rng=0))

    assert repr(Outer()) == "Outer(\n  (body): Sequential(\n    (0): Linear(in_features=2, out_features=2, bias=True)\n  )\n)"


# --- Sequential ----------------------------------------------------------------------------
def test_sequential_applies_layers_in_order():
    first, second = nn.Linear(3, 4, rng=0), nn.Linear(4, 2, rng=1)
    model = nn.Sequential(first, lambda t: t * 2, second)
    x = nn.Tensor(np.ones((5, 3), np.float32))
    assert np.allclose(model(x).data, second(first(x) * 2).data)
    assert len(model) == 3 and model[0] is first and list(model)[2] is second
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert "(1): <lambda>" in repr(model)


def test_sequential_rejects_a_list_of_layers():
    with pytest.raises(TypeError, match=r"Sequential\(a, b\), not Sequential\(\[a, b\]\)"):
        nn.Sequential([nn.Linear(2, 2), nn.Linear(2, 2)])
    with pytest.raises(TypeError, match="layer 1 is a int"):
        nn.Sequential(nn.Linear(2, 2), 3)


# --- save and load -------------------------------------------------------------------------
def test_save_and_load_round_trip(tmp_path):
    model, other = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Linear(4, 2, rng=0)), \
        nn.Sequential(nn.Linear(3, 4, rng=1), nn.Linear(4, 2, rng=1))
    model[1].bias.data[...] = [1.0, 2.0]
    path = tmp_path / "model.npz"
    model.save(path)
    weight_array = other[0].weight.data
    other.load(path)
    for (name, a), (_, b) in zip(model.named_parameters(), other.named_parameters()):
        assert np.array_equal(a.data, b.data), name
    assert other[0].weight.data is weight_array, "load writes into the parameters' existing arrays"
    assert os.listdir(tmp_path) == ["model.npz"], "no temporary file may be left behind"


def test_load_state_dict_keeps_the_models_dtype():
    layer = nn.Linear(2, 3, rng=0)
    layer.load_state_dict({"weight": np.ones((2, 3)), "bias": np.arange(3)})  # float64 and int64 values
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert np.array_equal(layer.bias.data, [0.0, 1.0, 2.0])


def test_saved_file_is_a_plain_npz_without_pickle(tmp_path):
    model = nn.Linear(2, 3, rng=0)
    model.save(tmp_path / "layer.npz")
    with np.load(tmp_path / "layer.npz", allow_pickle=False) as archive:
        assert sorted(archive.files) == ["bias", "weight"]
        assert archive["weight"].dtype == np.float32 and archive["weight"].shape == (2, 3)


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    nn.Linear(2, 2, rng=0).save(str(path))
    with np.load(path) as archive:
        assert "weight" in archive.files


def test_a_failed_save_leaves_no_temporary_file(tmp_path):
    class Unsavable(nn.Module):
        def state_dict(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Unsavable().save(tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_load_names_missing_and_unexpected_parameters(tmp_path):
    nn.Sequential(nn.Linear(2, 3, rng=0)).save(tmp_path / "small.npz")
    model = nn.Sequential(nn.Linear(2, 3, rng=1), nn.Linear(3, 1, rng=1))
    before = model[0].weight.data.copy()
    with pytest.raises(ValueError, match=r"missing \['1.bias', '1.weight'\], unexpected none"):
        model.load(tmp_path / "small.npz")
    assert np.array_equal(model[0].weight.data, before), "a failed load must change nothing"


def test_load_names_a_shape_mismatch(tmp_path):
    nn.Linear(2, 3, rng=0).save(tmp_path / "a.npz")
    with pytest.raises(ValueError, match=r"'weight' has shape \(3, 3\) in the model but \(2, 3\) in the saved file"):
        nn.Linear(3, 3, rng=0).load(tmp_path / "a.npz")


def test_load_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.array([object()], dtype=object), bias=np.zeros(3))
    with pytest.raises(ValueError, match="pickle"):
        nn.Linear(2, 3, rng=0).load(path)


def test_load_changes_nothing_when_a_later_parameter_is_bad(tmp_path):
    model = nn.Linear(2, 3, rng=0)
    path = tmp_path / "bad.npz"
    np.savez(path, weight=np.full((2, 3), 7.0, np.float32), bias=np.array(["a", "b", "c"]))
    before = model.weight.data.copy()
    with pytest.raises(ValueError, match=r"'bias' holds values of dtype <U1.*expected numbers"):
        model.load(path)
    assert np.array_equal(model.weight.data, before), "a failed load must change nothing, not even the weight"


@pytest.mark.parametrize("content, words", [
    (b"", "is empty"),
    (None, r"one array \(\.npy"),
    (b"this is not a model\n" * 3, "not an .npz archive"),
    (b"PK\x03\x04garbage", "damaged"),
])
def test_load_of_a_file_that_is_not_a_saved_model_says_so(tmp_path, content, words):
    path = tmp_path / "model.npz"
    if content is None:
        np.save(tmp_path / "model.npy", np.zeros(3))
        path = tmp_path / "model.npy"
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=words) as error:
        nn.Linear(2, 3, rng=0).load(path)
    message = str(error.value)
    assert str(path) in message and "save()" in message
    assert "allow_pickle" not in message and "unsafely" not in message, message

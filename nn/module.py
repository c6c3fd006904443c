"""``Module``: the base class of layers and models; ``Sequential``: layers applied in turn.

A module's parameters are found automatically: every Tensor with
``requires_grad=True`` stored on it (directly, or in a list, tuple or dict),
and the parameters of every module stored on it the same way. Write
``self.layer = Linear(2, 3)`` in ``__init__`` and ``model.parameters()``
includes the layer's weight and bias.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from typing import Any, Callable, Iterator

import numpy as np

from .tensor import Tensor


class Module:
    """Base class: subclasses define ``forward``; calling the module calls ``forward``.

    ``training`` is True unless ``eval()`` was called: layers such as ``Dropout``
    behave differently while training and while evaluating.
    """

    training = True  # a class default, so subclasses need not call super().__init__()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, x)")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # --- what it contains ------------------------------------------------------------
    def members(self) -> Iterator[tuple[str, Any]]:
        """(name, value) of every Tensor and Module stored on this module, lists/tuples/dicts opened."""
        for name, value in vars(self).items():
            yield from _walk(name, value)

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """The modules stored directly on this one, with their attribute names."""
        return ((name, value) for name, value in self.members() if isinstance(value, Module))

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """("layer.weight", tensor) for every parameter, each shared tensor once."""
        return _named_parameters(self, "", seen={id(self)})

    def parameters(self) -> list[Tensor]:
        """The tensors an optimizer should update (leaf tensors with requires_grad=True)."""
        return [tensor for _, tensor in self.named_parameters()]

    def modules(self) -> Iterator["Module"]:
        """This module and every module inside it (depth first), each once."""
        return _modules(self, seen=set())

    def train(self, mode: bool = True) -> "Module":
        """Put this module and every submodule in training mode (``mode=False``: evaluation mode).

        Returns the module itself, so ``model.eval()`` can be written in an expression.
        """
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) needs True or False, got {mode!r} (for evaluation mode call eval())")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> "Module":
        """Evaluation mode (``train(False)``): e.g. ``Dropout`` passes its input through unchanged."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter (they accumulate otherwise)."""
        for tensor in self.parameters():
            tensor.grad = None

    # --- how it prints ---------------------------------------------------------------
    def extra_repr(self) -> str:
        """The settings shown between the parentheses, e.g. ``in_features=2, out_features=3``."""
        return ""

    def __repr__(self) -> str:
        children = [f"({name}): {_indent(repr(child))}" for name, child in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        return head + "\n" + "".join(f"  {line}\n" for line in children) + ")"

    # --- saving and loading ----------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's values, by name."""
        return {name: tensor.data.copy() for name, tensor in self.named_parameters()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state``'s values into the parameters' own arrays, in their dtype (a float32 model stays
        float32 when the saved values are float64).

        The names and shapes must match exactly; nothing is changed if they don't.
        """
        params = dict(self.named_parameters())
        missing, unexpected = sorted(params.keys() - state.keys()), sorted(state.keys() - params.keys())
        if missing or unexpected:
            raise ValueError(
                f"load: the saved parameters do not match this {type(self).__name__}: "
                f"missing {missing or 'none'}, unexpected {unexpected or 'none'}"
            )
        checked = {name: _checked_values(name, state[name], tensor) for name, tensor in params.items()}
        for name, tensor in params.items():  # only now that every one of them fits
            tensor.data[...] = checked[name]

    def save(self, path: str | os.PathLike) -> None:
        """Write the parameters to ``path`` as an .npz archive (no pickle).

        Written to a temporary file first, then renamed: an interrupted save
        never leaves a half-written file behind.
        """
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, **self.state_dict())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise

    def load(self, path: str | os.PathLike) -> None:
        """Read parameters written by ``save`` (names and shapes must match this model).

        Nothing changes unless the whole file fits the model.
        """
        self.load_state_dict(_read_parameters(path))


class Sequential(Module):
    """Apply layers one after the other: ``Sequential(Linear(784, 256), ReLU(), Linear(256, 10))``.

    A layer is any callable from tensor to tensor: a Module or a plain function.
    """

    def __init__(self, *layers: Callable):
        for position, layer in enumerate(layers):
            if not callable(layer):
                hint = ": pass the layers as separate arguments, Sequential(a, b), not Sequential([a, b])" \
                    if isinstance(layer, (list, tuple)) else ""
                raise TypeError(f"Sequential: layer {position} is a {type(layer).__name__}, not a callable layer{hint}")
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def members(self) -> Iterator[tuple[str, Any]]:
        """Layers are named by position, like PyTorch: "0.weight", "2.bias"."""
        for position, layer in enumerate(self.layers):
            yield from _walk(str(position), layer)

    def __getitem__(self, position: int):
        return self.layers[position]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = [f"({i}): {_indent(repr(layer) if isinstance(layer, Module) else _function_name(layer))}"
                 for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "".join(f"  {line}\n" for line in lines) + ")"


def _checked_values(name: str, values, tensor: Tensor) -> np.ndarray:
    """``values`` converted to ``tensor``'s dtype, if they are numbers of its shape."""
    values = np.asarray(values)
    if values.shape != tensor.shape:
        raise ValueError(f"load: parameter {name!r} has shape {tensor.shape} in the model but "
                         f"{values.shape} in the saved file")
    if values.dtype.kind not in "fiu":
        raise ValueError(f"load: parameter {name!r} holds values of dtype {values.dtype} in the saved file, "
                         f"expected numbers (the model's dtype is {tensor.dtype})")
    return values.astype(tensor.dtype, copy=False)


def _read_parameters(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an .npz archive written by ``Module.save``; a clear error for any other file."""
    with open(path, "rb") as file:  # a missing file: FileNotFoundError as usual
        start = file.read(6)
        file.seek(0)
        if not start:
            raise ValueError(f"load: {path} is empty, not a model saved with save()")
        if start == b"\x93NUMPY":
            raise ValueError(f"load: {path} holds one array (.npy, np.save), not a model saved with save() "
                             "(an .npz archive of named parameters)")
        if not start.startswith(b"PK"):
            raise ValueError(f"load: {path} is not a model saved with save(): it is not an .npz archive")
        try:
            with np.load(file, allow_pickle=False) as archive:
                return {name: archive[name] for name in archive.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            reason = "it holds Python objects, which load never unpickles" if "allow_pickle" in str(error) else error
            raise ValueError(f"load: {path} is a damaged or foreign .npz archive, not a model saved with save(): "
                             f"{reason}") from None


def _walk(name: str, value) -> Iterator[tuple[str, Any]]:
    if isinstance(value, (Tensor, Module)):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for position, item in enumerate(value):
            yield from _walk(f"{name}.{position}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(f"{name}.{key}", item)


def _named_parameters(module: Module, prefix: str, seen: set[int]) -> Iterator[tuple[str, Tensor]]:
    """Depth first; ``seen`` holds the ids of tensors and modules already visited."""
    for name, value in module.members():
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Module):
            yield from _named_parameters(value, f"{prefix}{name}.", seen)
        elif value.requires_grad and value.is_leaf:
            yield prefix + name, value


def _modules(module: Module, seen: set[int]) -> Iterator[Module]:
    if id(module) in seen:
        return
    seen.add(id(module))
    yield module
    for _, child in module.named_children():
        yield from _modules(child, seen)


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def _function_name(layer) -> str:
    return getattr(layer, "__name__", None) or repr(layer)

"""``Tensor``: an ndarray that remembers how it was computed, and ``backward()``.

A tensor made by a ``Function`` keeps a record ``(function, ctx, inputs)``;
``backward()`` walks those records from the output back to the leaves (the
tensors you created, such as weights) and applies the chain rule.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

import numpy as np

from .graph import topological_order

DEFAULT_DTYPE = np.float32


class _GradMode(threading.local):
    """Per thread, as in PyTorch: another thread's no_grad() does not apply here."""

    disabled = False  # each thread starts recording (a class default: read at every operation, so fast)


_grad_mode = _GradMode()

#: Marks a tensor whose graph an earlier ``backward()`` released.
_RELEASED = object()


@contextlib.contextmanager
def _recording_off() -> Iterator[None]:
    previous, _grad_mode.disabled = is_grad_enabled(), True
    try:
        yield
    finally:
        _grad_mode.disabled = not previous


class _NoGrad:
    """Inside ``with no_grad():`` operations record no graph (for evaluation and updates).

    It applies to the thread that entered it; other threads keep recording.
    """

    def __call__(self):
        return _recording_off()

    # `with no_grad:` (without the call) would otherwise fail with a puzzling message.
    def __enter__(self):
        raise TypeError("write `with nn.no_grad():`, with parentheses: no_grad() makes the context")

    def __exit__(self, *exc_info):
        return False


no_grad = _NoGrad()


def is_grad_enabled() -> bool:
    return not _grad_mode.disabled


def as_float_array(data, dtype=None, what: str = "Tensor") -> np.ndarray:
    """``data`` as a floating-point ndarray; integer or object arrays are an error.

    Python numbers and lists become ``dtype`` (float32 unless given). A NumPy
    array keeps its float dtype (float32 or float64) unless ``dtype`` is given.
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        if data.dtype.kind != "f" or data.dtype.itemsize < 4:
            raise TypeError(
                f"{what} needs floating-point data (float32 or float64), got an array of "
                f"dtype {data.dtype}. Convert it first, e.g. x.astype(np.float32)."
            )
        return _cast(data, dtype, what)
    try:
        array = np.asarray(data)
    except ValueError as error:  # e.g. ragged nested lists
        raise TypeError(f"{what} needs numbers (a float, a list of floats or a float array): {error}") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"{what} needs numbers (a float, a list of floats or a float array), "
            f"got {type(data).__name__} {_short(data)} (NumPy reads it as dtype {array.dtype})"
        )
    return _cast(array, dtype or DEFAULT_DTYPE, what)


def _cast(array, dtype, what: str) -> np.ndarray:
    """``array`` as ``dtype`` (None: unchanged); a value too large for it is an error, not inf."""
    try:
        with np.errstate(over="raise"):
            return np.asarray(array, dtype=dtype)
    except FloatingPointError:
        target = np.dtype(dtype)
        finite = np.asarray(array)[np.isfinite(array)]
        largest = finite.flat[np.abs(finite).argmax()]
        raise OverflowError(
            f"{what}: the value {largest:g} does not fit {target.name} (largest ±{np.finfo(target).max:.4g}); "
            f"pass dtype=np.float64 or scale the data"
        ) from None


def _short(data) -> str:
    text = repr(data)
    return text if len(text) <= 40 else text[:37] + "..."


class Tensor:
    """An n-dimensional array of floats that can record the operations applied to it.

    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> w.grad                     # d/dw sum(w²) = 2w
    array([2., 4.], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor → Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data: np.ndarray = as_float_array(data, dtype)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None  # (Function subclass, ctx, input tensors) for computed tensors

    # --- what it is -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}{grad})"

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return float(self.data.reshape(()))

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """``np.asarray(tensor)``, ``plt.imshow(tensor)``: the values, as ``numpy()`` gives them.

        (Without it NumPy would read a tensor as a sequence, element by element, now that
        tensors can be indexed.) NumPy functions see plain arrays: no gradient flows through them.
        """
        data = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return data.copy() if copy else data

    def detach(self) -> "Tensor":
        """The same values, cut off from the graph (no gradient flows through it)."""
        return Tensor(self.data)

    def parents(self) -> tuple["Tensor", ...]:
        """The tensors this one was computed from (empty for leaves and constants)."""
        ctx = self._ctx
        return ctx[2] if ctx is not None and ctx is not _RELEASED else ()

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def zero_grad(self) -> None:
        self.grad = None

    # --- backpropagation ---------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad; add it to ``leaf.grad``.

        ``grad`` is d(final)/d(self); it defaults to 1 for a one-element tensor.
        Gradients accumulate (``+=``) in leaves, as in PyTorch: call
        ``zero_grad()`` between steps. The graph is released afterwards unless
        ``retain_graph=True``, so its intermediate arrays can be freed at once.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() was called on a tensor that does not require grad: nothing "
                "it was computed from has requires_grad=True (or it was computed inside no_grad())."
            )
        if self._ctx is _RELEASED:
            raise RuntimeError(_released_message())
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a one-element tensor (a loss), got shape "
                    f"{self.shape}. Reduce it first (e.g. .sum() or .mean()) or pass grad= of that shape."
                )
            grad = np.ones_like(self.data)
        else:
            grad = as_float_array(grad, self.dtype, "backward(grad=...)").copy()  # never alias the caller's array
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(grad=...): grad has shape {grad.shape}, but the tensor has shape "
                    f"{self.shape}; grad is d(loss)/d(this tensor), so it needs the tensor's shape."
                )

        grads = {id(self): grad}  # d(final)/d(node) for nodes not yet processed
        given: set[int] = set()  # ids of arrays that became some leaf's .grad in this pass
        for node in reversed(topological_order(self)):
            node_grad = grads.pop(id(node), None)
            ctx = node._ctx
            if ctx is _RELEASED:
                raise RuntimeError(_released_message())
            if ctx is None:  # a leaf: accumulate (node_grad is None if no path from it carries one)
                if node_grad is not None and node.grad is None:
                    node.grad = _own_array(node_grad, node.dtype, given)
                elif node_grad is not None:
                    node.grad += node_grad
                continue
            if not retain_graph:
                node._ctx = _RELEASED  # frees the saved arrays as soon as we are done here
            if node_grad is None:
                continue  # e.g. every backward on the way returned None for it
            function, context, inputs = ctx
            input_grads = function.checked_backward(context, node_grad, inputs)
            for tensor, tensor_grad in zip(inputs, input_grads):
                if tensor_grad is None or not tensor.requires_grad:
                    continue
                key = id(tensor)
                grads[key] = tensor_grad if key not in grads else grads[key] + tensor_grad

    # --- operators (defined in functions.py, attached below) ----------------------
    def __neg__(self) -> "Tensor":
        return F.Neg.apply(self)

    def __add__(self, other) -> "Tensor":
        return F.Add.apply(self, self._constant(other))

    def __radd__(self, other) -> "Tensor":
        return F.Add.apply(self._constant(other), self)

    def __sub__(self, other) -> "Tensor":
        return F.Sub.apply(self, self._constant(other))

    def __rsub__(self, other) -> "Tensor":
        return F.Sub.apply(self._constant(other), self)

    def __mul__(self, other) -> "Tensor":
        return F.Mul.apply(self, self._constant(other))

    def __rmul__(self, other) -> "Tensor":
        return F.Mul.apply(self._constant(other), self)

    def __truediv__(self, other) -> "Tensor":
        return F.Div.apply(self, self._constant(other))

    def __rtruediv__(self, other) -> "Tensor":
        return F.Div.apply(self._constant(other), self)

    def __pow__(self, exponent) -> "Tensor":
        if isinstance(exponent, Tensor):
            raise TypeError("x ** y needs a number as the exponent y (a Python float or int), not a Tensor")
        return F.Pow.apply(self, exponent=float(exponent))

    def __getitem__(self, index) -> "Tensor":
        from .indexing import getitem  # here, not above: indexing.py needs Function, which needs Tensor

        return getitem(self, index)

    def __matmul__(self, other) -> "Tensor":
        return F.MatMul.apply(self, self._constant(other))

    def __rmatmul__(self, other) -> "Tensor":
        return F.MatMul.apply(self._constant(other), self)

    # Comparisons give plain boolean arrays: they have no gradient.
    def __lt__(self, other) -> np.ndarray:
        return self.data < _value(other)

    def __le__(self, other) -> np.ndarray:
        return self.data <= _value(other)

    def __gt__(self, other) -> np.ndarray:
        return self.data > _value(other)

    def __ge__(self, other) -> np.ndarray:
        return self.data >= _value(other)

    __hash__ = object.__hash__  # tensors are graph nodes, hashed by identity

    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        return F.Sum.apply(self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        return F.Mean.apply(self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis=None, keepdims: bool = False) -> "Tensor":
        return F.Max.apply(self, axis=_axis(axis), keepdims=keepdims)

    def reshape(self, *shape) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return F.Reshape.apply(self, shape=shape)

    def transpose(self, *axes) -> "Tensor":
        """Permute the axes: ``t.transpose(1, 0)``, ``t.transpose((1, 0))``; none or None reverses them."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return F.Transpose.apply(self, axes=tuple(axes) if axes else None)

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def exp(self) -> "Tensor":
        return F.Exp.apply(self)

    def log(self) -> "Tensor":
        return F.Log.apply(self)

    def _constant(self, value) -> "Tensor":
        """The other operand as a Tensor, as NumPy and PyTorch promote it: numbers (Python or
        NumPy scalars) and integer arrays take this tensor's dtype; float arrays keep theirs."""
        if isinstance(value, Tensor):
            return value
        if isinstance(value, (int, float, np.number)) or _is_integer_array(value):
            return Tensor(_cast(value, self.dtype, "the other operand"))
        return Tensor(value)


def _axis(axis):
    """``axis`` as NumPy wants it: None, an int, or a tuple of ints (a list becomes a tuple)."""
    return tuple(axis) if isinstance(axis, list) else axis


def _is_integer_array(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "iub"


def _own_array(grad: np.ndarray, dtype, given: set[int]) -> np.ndarray:
    """``grad`` itself if no other leaf holds it and it is a plain writeable array, else a copy.

    A leaf's ``.grad`` is later updated in place (``+=``), so it must not share
    memory with anything else. Arrays made by a backward in this pass are fresh;
    skipping their copy saves one copy of every weight matrix per training step.
    """
    if grad.dtype == dtype and grad.flags.owndata and grad.flags.writeable and id(grad) not in given:
        given.add(id(grad))
        return grad
    return np.array(grad, dtype=dtype)


def _value(x):
    return x.data if isinstance(x, Tensor) else x


def _released_message() -> str:
    return (
        "backward() went through a graph that an earlier backward() already released. "
        "Recompute the forward pass, or pass retain_graph=True to the first backward()."
    )


from . import functions as F  # noqa: E402  (functions.py imports Tensor from here)

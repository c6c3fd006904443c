"""Differentiable primitives: each a ``Function`` with its forward rule and its derivative.

A ``Function`` works on plain ndarrays. ``forward(ctx, *inputs)`` computes the
output and saves on ``ctx`` what the derivative will need; ``backward(ctx, grad)``
receives ``grad`` = dL/d(output) and returns dL/d(input) for every input
(the chain rule: dL/dx = dL/dout · dout/dx). ``Function.apply`` connects them
to ``Tensor`` and records the graph.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import numpy as np

from .tensor import Tensor, is_grad_enabled


class Function:
    """Base class of the differentiable operations (the shape of ``torch.autograd.Function``)."""

    @staticmethod
    def forward(ctx, *inputs: np.ndarray, **options) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad: np.ndarray):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **options) -> Tensor:
        """Run ``forward`` on the inputs' arrays; record the graph if any input requires grad.

        Inputs that are not tensors (numbers, arrays) are wrapped as constants.
        ``options`` (such as ``axis=``) go to ``forward`` unchanged.
        """
        tensors = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
        # backward may skip gradients nobody needs (e.g. of the input images)
        needs_grad = tuple(t.requires_grad for t in tensors)
        ctx = SimpleNamespace(needs_input_grad=needs_grad)
        output = Tensor.__new__(Tensor)
        output.data = cls.checked_forward(ctx, *[t.data for t in tensors], **options)
        output.grad = None
        output.requires_grad = is_grad_enabled() and any(needs_grad)
        output._ctx = (cls, ctx, tensors) if output.requires_grad else None
        return output

    # The contract every Function keeps. Tensor.backward and the task tests call
    # forward and backward only through these two, so a slip is named where it happens.
    @classmethod
    def checked_forward(cls, ctx, *arrays: np.ndarray, **options) -> np.ndarray:
        """``forward`` on read-only views of its inputs, which must return a float ndarray (a 0-d one for
        a single number).

        An input is a tensor's data, which other operations may read too: forward must not write into
        it; read-only, a write fails here instead of corrupting it.
        """
        try:
            output = cls.forward(ctx, *map(_read_only, arrays), **options)
        except ValueError as error:
            if "read-only" not in str(error):
                raise
            raise ValueError(
                f"{cls.__name__}.forward wrote into one of its inputs ({error}): do not modify an input in place "
                f"(no x[...] = ..., x *= ...); compute the result as a new array"
            ) from error
        if type(output) is np.ndarray and output.dtype.kind == "f":
            return output  # the usual case, tested first: this runs for every operation
        output = _as_result(output)
        problem = _not_a_float_array(output)
        if problem:
            how = ("a comparison gives booleans and np.where(condition, 1, 0) integers: convert to that dtype"
                   if isinstance(output, np.ndarray) else "np.asarray(value) makes a 0-d array of a single number")
            raise TypeError(f"{cls.__name__}.forward returned {problem}; forward must return a NumPy array "
                            f"of floats, of its input's dtype ({_float_dtype_of(arrays)} here; {how})")
        return output

    @classmethod
    def input_names(cls, count: int) -> list[str]:
        """The names forward gives its first ``count`` inputs (``x``, ``weight``, ``bias``), for messages;
        fewer where forward takes ``*inputs``."""
        parameters = list(inspect.signature(cls.forward).parameters.values())[1:]  # after ctx
        return [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD][:count]

    @classmethod
    def checked_backward(cls, ctx, grad: np.ndarray, inputs) -> tuple:
        """``backward`` on a read-only view of ``grad``; one gradient per input (``inputs``: anything
        with a ``shape``), each a float ndarray of its input's shape, or None where ``ctx.needs_input_grad``
        says nobody needs it.

        ``grad`` may be another node's gradient too (see Tensor.backward), so backward
        must not write into it; read-only, a write fails here instead of corrupting it.
        """
        grad = _read_only(_as_result(grad))
        try:
            grads = cls.backward(ctx, grad)
        except ValueError as error:
            if "read-only" not in str(error):
                raise
            raise ValueError(
                f"{cls.__name__}.backward wrote into its incoming grad ({error}): do not modify grad in place "
                f"(no grad[...] = ..., grad *= ...); return a new array computed from grad instead"
            ) from error
        except AttributeError as error:
            if getattr(error, "obj", None) is not ctx:
                raise
            raise AttributeError(
                f"{cls.__name__}.backward reads ctx.{error.name}, which {cls.__name__}.forward did not save: "
                f"set ctx.{error.name} in forward (ctx carries what backward needs from forward to backward)"
            ) from error
        if grads is None and any(ctx.needs_input_grad):
            wanted = ("the gradient of forward's input" if len(inputs) == 1 else
                      f"the gradients of forward's {len(inputs)} inputs, as a tuple in forward's order")
            raise ValueError(f"{cls.__name__}.backward returned None: did you forget the return? It returns {wanted}")
        several = isinstance(grads, tuple) or (isinstance(grads, list) and len(inputs) > 1)  # [ga, gb] as (ga, gb)
        grads = tuple(_as_result(g) for g in grads) if several else (_as_result(grads),)
        if len(grads) != len(inputs):
            raise ValueError(
                f"{cls.__name__}.backward returned {len(grads)} gradient(s) for {len(inputs)} input(s); "
                f"return one per input of forward, as a tuple in forward's order (None only for an input "
                f"that needs no gradient: ctx.needs_input_grad False)"
            )
        names = cls.input_names(len(inputs))
        for position, (input_grad, x) in enumerate(zip(grads, inputs)):
            named = f" ({names[position]})" if len(names) == len(inputs) else ""  # 'input 2 (bias)'
            if input_grad is None and ctx.needs_input_grad[position]:
                raise ValueError(
                    f"{cls.__name__}.backward returned None as the gradient of input {position}{named}, which needs "
                    f"one (ctx.needs_input_grad[{position}] is True): return an array of the input's shape {x.shape}, "
                    f"with zeros where the derivative is 0"
                )
            problem = None if input_grad is None else _not_a_float_array(input_grad)
            if problem:
                raise TypeError(f"{cls.__name__}.backward returned {problem} as the gradient of input "
                                f"{position}{named}; return a NumPy array of floats, of the input's dtype "
                                f"({_float_dtype_of([x])} here)")
            if input_grad is not None and input_grad.shape != x.shape:
                advice = " (undo broadcasting with sum_to)" if _broadcast_by_another(x, input_grad, inputs, grad) else ""
                order = f", and they come in forward's order: {', '.join(names)}" if len(inputs) > 1 and named else ""
                raise ValueError(
                    f"{cls.__name__}.backward returned a gradient of shape {input_grad.shape} for input "
                    f"{position}{named}, which has shape {x.shape}: the gradient of an input always "
                    f"has the input's shape{advice}{order}"
                )
        return grads


def _read_only(array):
    """A read-only view of an ndarray (the array itself stays writeable); anything else unchanged."""
    if not isinstance(array, np.ndarray):
        return array
    view = array.view()
    view.setflags(write=False)
    return view


def _broadcast_by_another(x, input_grad, inputs, grad) -> bool:
    """Whether an input's gradient has the shape broadcasting with the other inputs gave it: an element-wise
    Function of several inputs (such as Add) whose output is their broadcast shape."""
    try:
        elementwise = len(inputs) > 1 and np.broadcast_shapes(*(i.shape for i in inputs)) == grad.shape
    except ValueError:  # inputs that do not broadcast together (a matrix product, a convolution)
        return False
    return elementwise and _broadcasts_to(x.shape, input_grad.shape)


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether NumPy broadcasting stretches an array of ``shape`` to ``target``."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _as_result(value):
    """NumPy scalars (what arithmetic on 0-d arrays gives) as 0-d arrays; anything else unchanged."""
    return np.asarray(value) if isinstance(value, np.generic) else value


def _float_dtype_of(arrays) -> np.dtype:
    """The dtype a result computed from these inputs should have: their float dtype (the widest), or
    float32, the framework's default, when none is a float array."""
    floats = [array.dtype for array in arrays if getattr(array, "dtype", None) is not None and array.dtype.kind == "f"]
    return np.result_type(*floats) if floats else np.dtype(np.float32)


def _not_a_float_array(value) -> str | None:
    """What is wrong with ``value`` as a Function's result, in words ('a list'); None if nothing."""
    if type(value) is np.ndarray:
        return None if value.dtype.kind == "f" else f"an array of dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        kind = f"{type(value).__module__.split('.')[0]}.{type(value).__name__}"
        return f"a {kind} (an ndarray subclass, whose operators work differently), not a plain NumPy array"
    if value is None:
        return "None"
    kind = type(value).__name__
    if isinstance(value, (int, float)):
        return f"a Python {kind}, not an array"
    return f"a{'n' if kind[0] in 'aeiou' else ''} {kind}, not a NumPy array"


def sum_to(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo broadcasting: sum ``grad`` over the axes along which an input of ``shape`` was broadcast.

    If ``x`` of shape (3,) was added to ``y`` of shape (2, 3), each x[j] was used
    in both rows, so dL/dx[j] = Σ_i dL/dout[i, j]: ``sum_to(grad, (3,))``.
    """
    # TODO Task 3.1: Return grad (the gradient of a broadcast result) summed back to shape: over the
    #   leading axes that broadcasting added, and over the axes where shape has size 1 but grad does
    #   not. Example: grad (2, 3) → shape (3,): ∂L/∂x[j] = Σᵢ grad[i, j].
    #   (stuck? make hint TASK=3.1)
    raise NotImplementedError("Task 3.1: Undo broadcasting (nn/functions.py: sum_to) — Return grad (the gradient of a broadcast result) summed back to shape: over the leading axes that broadcasting added, and over the axes where shape has size 1 but grad does not. Example: grad (2, 3) → shape (3,): ∂L/∂x[j] = Σᵢ grad[i, j]. Stuck? make hint TASK=3.1. Check with: make check")


def _check_broadcast(name: str, a: np.ndarray, b: np.ndarray) -> None:
    """A clear error naming the operation and both shapes when they cannot be broadcast."""
    for size_a, size_b in zip(reversed(a.shape), reversed(b.shape)):
        if size_a != size_b and size_a != 1 and size_b != 1:
            raise ValueError(
                f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together "
                f"(from the right, each pair of sizes must be equal or one of them 1)"
            )


# --- elementwise arithmetic ------------------------------------------------------
class Add(Function):
    """out = a + b;  dout/da = 1, dout/db = 1."""

    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("add (+)", a, b)
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return sum_to(grad, ctx.a_shape), sum_to(grad, ctx.b_shape)


class Sub(Function):
    """out = a − b;  dout/da = 1, dout/db = −1."""

    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("subtract (-)", a, b)
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return sum_to(grad, ctx.a_shape), -sum_to(grad, ctx.b_shape)


class Neg(Function):
    """out = −a;  dout/da = −1."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Mul(Function):
    """out = a · b;  dout/da = b, dout/db = a."""

    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("multiply (*)", a, b)
        ctx.a, ctx.b = a, b
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        return sum_to(grad * b, a.shape), sum_to(grad * a, b.shape)


class Div(Function):
    """out = a / b;  dout/da = 1/b, dout/db = −a/b²."""

    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("divide (/)", a, b)
        ctx.a, ctx.b = a, b
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        grad_a = grad / b
        return sum_to(grad_a, a.shape), sum_to(-grad_a * a / b, b.shape)


class Pow(Function):
    """out = aᵖ for a constant number p;  dout/da = p · aᵖ⁻¹.

    At a = 0: for p = 0, aᵖ is the constant 1 and its derivative 0 everywhere (the
    formula would compute 0 · 0⁻¹); for 0 < p < 1 the curve is vertical there and the
    derivative is +inf (as in PyTorch), with no warning.
    """

    @staticmethod
    def forward(ctx, a, exponent: float):
        ctx.a, ctx.exponent = a, exponent
        return a**exponent

    @staticmethod
    def backward(ctx, grad):
        a, p = ctx.a, ctx.exponent
        if p == 0:
            return np.zeros_like(grad)
        with np.errstate(divide="ignore"):  # 0 ** (p − 1) for 0 < p < 1 is inf, on purpose
            return grad * p * a ** (p - 1)


class Exp(Function):
    """out = eᵃ;  dout/da = eᵃ = out."""

    @staticmethod
    def forward(ctx, a):
        ctx.out = np.exp(a)
        return ctx.out

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.out


class Log(Function):
    """out = ln a (natural log);  dout/da = 1/a."""

    @staticmethod
    def forward(ctx, a):
        ctx.a = a
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        return grad / ctx.a


# --- linear algebra ----------------------------------------------------------------
class MatMul(Function):
    """out = a b for a of shape (n, k) and b of shape (k, m): out_ij = Σ_k a_ik b_kj;
    dL/da_ik = Σ_j dL/dout_ij · b_kj  (n, k),  dL/db_kj = Σ_i a_ik · dL/dout_ij  (k, m)."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(
                f"matmul (@): needs shapes (n, k) @ (k, m), got {a.shape} @ {b.shape}"
                + (" — the inner sizes differ" if a.ndim == 2 == b.ndim else "")
            )
        # TODO Task 3.2: forward: out = a·b for a of shape (N, K) and b of shape (K, M), out (N, M);
        #   save what backward needs on ctx. backward: from grad = ∂L/∂out (N, M) return ∂L/∂a
        #   (N, K) and ∂L/∂b (K, M), where ∂L/∂a_ik = Σ_m ∂L/∂out_im · b_km and ∂L/∂b_km = Σ_n a_nk
        #   · ∂L/∂out_nm.
        #   (stuck? make hint TASK=3.2)
        raise NotImplementedError("Task 3.2: Matrix multiplication (nn/functions.py: MatMul.forward) — forward: out = a·b for a of shape (N, K) and b of shape (K, M), out (N, M); save what backward needs on ctx. backward: from grad = ∂L/∂out (N, M) return ∂L/∂a (N, K) and ∂L/∂b (K, M), where ∂L/∂a_ik = Σ_m ∂L/∂out_im · b_km and ∂L/∂b_km = Σ_n a_nk · ∂L/∂out_nm. Stuck? make hint TASK=3.2. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 3.2: forward: out = a·b for a of shape (N, K) and b of shape (K, M), out (N, M);
        #   save what backward needs on ctx. backward: from grad = ∂L/∂out (N, M) return ∂L/∂a
        #   (N, K) and ∂L/∂b (K, M), where ∂L/∂a_ik = Σ_m ∂L/∂out_im · b_km and ∂L/∂b_km = Σ_n a_nk
        #   · ∂L/∂out_nm.
        #   (stuck? make hint TASK=3.2)
        raise NotImplementedError("Task 3.2: Matrix multiplication (nn/functions.py: MatMul.backward) — forward: out = a·b for a of shape (N, K) and b of shape (K, M), out (N, M); save what backward needs on ctx. backward: from grad = ∂L/∂out (N, M) return ∂L/∂a (N, K) and ∂L/∂b (K, M), where ∂L/∂a_ik = Σ_m ∂L/∂out_im · b_km and ∂L/∂b_km = Σ_n a_nk · ∂L/∂out_nm. Stuck? make hint TASK=3.2. Check with: make check")


# --- reductions and shapes ------------------------------------------------------------
def normalize_axes(name: str, axis, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """``axis`` (None, an int or a tuple of ints; −1 is the last axis) as a tuple of axes in 0 … ndim−1
    of an input of ``shape``.

    None stays None (all axes). Out-of-range and repeated axes are an error naming ``name``.
    """
    if axis is None:
        return None
    ndim = len(shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    for one in axes:
        if isinstance(one, bool) or not isinstance(one, (int, np.integer)):
            raise TypeError(f"{name}: an axis must be an integer (e.g. 0, or -1 for the last), got {one!r}")
        if not -ndim <= one < ndim:
            raise ValueError(f"{name}: axis {one} is out of range for an input of shape {shape} ({ndim} axes: "
                             f"{-ndim} … {ndim - 1}, negative ones count from the end)")
    normalized = tuple(int(one) % ndim for one in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name}: axis {axis} names the same axis twice (with {ndim} axes, -1 is {ndim - 1})")
    return normalized


def _check_not_empty(name: str, a: np.ndarray, axis: tuple[int, ...] | None) -> None:
    """A reduction over no element has no value (a mean of nothing, a max of nothing)."""
    sizes = a.shape if axis is None else [a.shape[i] for i in axis]
    if 0 in sizes:
        over = "all axes" if axis is None else f"axis {axis[0] if len(axis) == 1 else axis}"
        raise ValueError(f"{name}: the input of shape {a.shape} has no elements along {over}; "
                         f"the {name} of nothing is undefined")


def _reduced_shape_keepdims(shape: tuple[int, ...], axis) -> tuple[int, ...]:
    """The shape of a reduction over ``axis`` with keepdims=True (axis None: all axes)."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in axes else size for i, size in enumerate(shape))


class Sum(Function):
    """out = Σ a over ``axis``;  every element contributes with derivative 1,
    so dL/da = dL/dout copied back over the summed axes."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axis = normalize_axes("sum", axis, a.shape)
        ctx.a_shape, ctx.axis = a.shape, axis
        return np.asarray(a.sum(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 3.3: Return ∂L/∂a of shape ctx.a_shape from grad = ∂L/∂out: Sum: every element
        #   of a that was summed into out gets that out's gradient (∂out/∂a = 1); Mean: the same
        #   divided by ctx.count, the number of elements averaged. ctx.axis is the reduced axis
        #   (None: all).
        #   (stuck? make hint TASK=3.3)
        raise NotImplementedError("Task 3.3: Sum and mean backward (nn/functions.py: Sum.backward) — Return ∂L/∂a of shape ctx.a_shape from grad = ∂L/∂out: Sum: every element of a that was summed into out gets that out's gradient (∂out/∂a = 1); Mean: the same divided by ctx.count, the number of elements averaged. ctx.axis is the reduced axis (None: all). Stuck? make hint TASK=3.3. Check with: make check")


class Mean(Function):
    """out = (1/n) Σ a over ``axis`` (n = number of elements averaged);
    dL/da = dL/dout / n, copied back over the averaged axes."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axis = normalize_axes("mean", axis, a.shape)
        _check_not_empty("mean", a, axis)
        out = np.asarray(a.mean(axis=axis, keepdims=keepdims))
        ctx.a_shape, ctx.axis, ctx.count = a.shape, axis, a.size // max(out.size, 1)
        return out

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 3.3: Return ∂L/∂a of shape ctx.a_shape from grad = ∂L/∂out: Sum: every element
        #   of a that was summed into out gets that out's gradient (∂out/∂a = 1); Mean: the same
        #   divided by ctx.count, the number of elements averaged. ctx.axis is the reduced axis
        #   (None: all).
        #   (stuck? make hint TASK=3.3)
        raise NotImplementedError("Task 3.3: Sum and mean backward (nn/functions.py: Mean.backward) — Return ∂L/∂a of shape ctx.a_shape from grad = ∂L/∂out: Sum: every element of a that was summed into out gets that out's gradient (∂out/∂a = 1); Mean: the same divided by ctx.count, the number of elements averaged. ctx.axis is the reduced axis (None: all). Stuck? make hint TASK=3.3. Check with: make check")


class Max(Function):
    """out = max a over ``axis``;  the gradient flows to the maximal element(s),
    shared equally between ties."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axis = normalize_axes("max", axis, a.shape)
        _check_not_empty("max", a, axis)
        out = a.max(axis=axis, keepdims=True)
        ctx.a, ctx.axis, ctx.out_keep = a, axis, out
        return out if keepdims else np.squeeze(out, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        is_max = ctx.a == ctx.out_keep
        share = is_max / is_max.sum(axis=ctx.axis, keepdims=True)
        return grad.reshape(ctx.out_keep.shape) * share


class Reshape(Function):
    """out = a with a new shape (same elements, same order); dL/da = dL/dout reshaped back."""

    @staticmethod
    def forward(ctx, a, shape):
        ctx.a = a  # for its shape, and its memory order
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {a.shape} ({a.size} elements) into {shape}") from None

    @staticmethod
    def backward(ctx, grad):
        grad_a = grad.reshape(ctx.a.shape)
        if ctx.a.flags.c_contiguous:
            return grad_a
        # a is stored in another order (nn/conv.py keeps the batch innermost): give its gradient the same
        # order, since NumPy is several times slower on two arrays of different orders (the backward before)
        same_order = np.empty_like(ctx.a)
        same_order[...] = grad_a
        return same_order


class Transpose(Function):
    """out = a with its axes permuted (reversed by default): out axis i is a's axis axes[i];
    dL/da = dL/dout permuted back (a's axis axes[i] is dL/dout's axis i)."""

    @staticmethod
    def forward(ctx, a, axes=None):
        ctx.axes = _permutation(axes, a.shape)
        return a.transpose(ctx.axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(np.argsort(ctx.axes))


def _permutation(axes, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``axes`` for transpose as a permutation of 0 … ndim−1; None reverses the axes."""
    ndim = len(shape)
    if axes is None:
        return tuple(reversed(range(ndim)))
    permutation = normalize_axes("transpose", tuple(axes), shape)
    if len(permutation) != ndim:
        raise ValueError(f"transpose: axes {tuple(axes)} must name each of the input's {ndim} axes once "
                         f"(a permutation of {tuple(range(ndim))})")
    return permutation

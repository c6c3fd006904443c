"""``Scalar``: autodiff on single numbers, the engine of the scalar autodiff notebook.

Every arithmetic operation on a ``Scalar`` is a ``ScalarFunction``: its
``forward`` computes the result from plain floats and saves in ``ctx.saved``
what the derivative will need; its ``backward`` turns d_out = d(final)/d(result)
into d(final)/d(input) for each input — the chain rule, one local derivative at
a time. The result remembers which Function made it, from which inputs, and
what that Function saved; ``Scalar.backward()`` walks these records from the
result back to the inputs.

>>> a, b = Scalar(2.0, name="a"), Scalar(3.0, name="b")
>>> c = a * b + a          # c = ab + a
>>> c.backward()
>>> a.grad, b.grad         # dc/da = b + 1, dc/db = a
(4.0, 2.0)

Memory and speed: a record points only to the inputs (never to the result), so
a graph has no reference cycles and is freed as soon as its result is no longer
used. ``backward()`` also drops the records it has used ("releases the graph"),
so the intermediate Scalars are freed even while the result is still in a
variable; ``backward(retain_graph=True)`` keeps them, e.g. to draw the graph
with its gradients.

Speed: a graph node is one Python object. The result Scalar is its Function's
``ctx`` (no separate Context per operation) and holds its inputs in two fields
(no tuple). This matters because Python's cycle collector, on by default,
walks every live object again and again while a graph of 65,000 Scalars is
being built: fewer objects per node is directly less time (solutions/bench/bench_scalar.py
measures it with the collector on and off).
"""

from __future__ import annotations

import math
from numbers import Real

from .graph import topological_order


class Context:
    """What ``forward`` keeps for ``backward``: ``ctx.saved``, one number or a tuple of numbers.

    ``Function.apply`` passes the result Scalar itself as ``ctx`` (a Scalar is a
    Context); to try a Function by hand, pass a fresh ``Context()``.
    """

    __slots__ = ("saved",)


class ScalarFunction:
    """Base class of the Scalar operations: ``forward`` and ``backward`` side by side.

    ``forward(ctx, a)`` or ``forward(ctx, a, b)`` gets floats, saves what
    backward needs in ``ctx.saved`` and returns a float.
    ``backward(ctx, d_out)`` gets d(final)/d(output) and returns a tuple with
    one float per input: d(final)/d(input) = d_out · d(output)/d(input).
    """

    @staticmethod
    def forward(ctx: Context, *inputs: float, **options) -> float:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, d_out: float) -> tuple[float, ...]:
        raise NotImplementedError

    @classmethod
    def apply(cls, a: Scalar, b: Scalar | None = None, **options) -> Scalar:
        """Run ``forward`` on the values of the inputs ``a`` (and ``b``); return the result with its record.

        ``options`` (such as Pow's ``exponent=``) go to ``forward`` unchanged.
        The inputs must be Scalars (the operators of Scalar wrap numbers as constants first).
        """
        out = Scalar.__new__(Scalar)  # not Scalar(value): the value needs no checks
        out.saved = None  # forward may replace it
        try:
            if b is not None:
                value = cls.forward(out, a.value, b.value, **options)
            else:
                value = cls.forward(out, a.value, **options)
        except AttributeError:
            if isinstance(a, Scalar) and isinstance(b, (Scalar, type(None))):
                raise
            got = ", ".join(type(x).__name__ for x in (a, b) if x is not None)
            raise TypeError(f"{cls.__name__}.apply needs Scalars, got ({got}); wrap numbers: Scalar(2.0)") from None
        out.value, out.grad, out.name = value, 0.0, None
        out._function, out._input_a, out._input_b = cls, a, b
        return out


# --- the primitives --------------------------------------------------------------------
class Add(ScalarFunction):
    """out = a + b;  dout/da = 1, dout/db = 1."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, d_out):
        return d_out, d_out


class Mul(ScalarFunction):
    """out = a · b;  dout/da = b, dout/db = a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.saved = (a, b)
        return a * b

    @staticmethod
    def backward(ctx, d_out):
        # TODO Task 2.1: backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with
        #   ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring
        #   gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done
        #   as an example.
        #   (stuck? make hint TASK=2.1)
        raise NotImplementedError("Task 2.1: Scalar derivatives (nn/scalar.py: Mul.backward) — backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done as an example. Stuck? make hint TASK=2.1. Check with: make check")


class Div(ScalarFunction):
    """out = a / b;  dout/da = 1/b, dout/db = −a/b²."""

    @staticmethod
    def forward(ctx, a, b):
        if b == 0:
            raise ZeroDivisionError(f"division by zero: {a} / {b} (the divisor is 0)")
        ctx.saved = (a, b)
        return a / b

    @staticmethod
    def backward(ctx, d_out):
        # TODO Task 2.1: backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with
        #   ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring
        #   gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done
        #   as an example.
        #   (stuck? make hint TASK=2.1)
        raise NotImplementedError("Task 2.1: Scalar derivatives (nn/scalar.py: Div.backward) — backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done as an example. Stuck? make hint TASK=2.1. Check with: make check")


class Pow(ScalarFunction):
    """out = aᵖ for a constant number p;  dout/da = p · aᵖ⁻¹.

    At a = 0 the formula divides by zero for p < 1: for p = 0, aᵖ is the constant 1,
    so the derivative is 0; for 0 < p < 1 the curve is vertical and it is +inf
    (as in PyTorch). Negative p at 0 is already refused by forward.
    """

    @staticmethod
    def forward(ctx, a, exponent: float):
        if a < 0 and not float(exponent).is_integer():
            raise ValueError(
                f"{a} ** {exponent}: a negative number to a non-integer power is not a real number"
            )
        if a == 0 and exponent < 0:
            raise ZeroDivisionError(f"{a} ** {exponent}: 0 to a negative power is 1/0")
        ctx.saved = (a, exponent)
        return a**exponent

    @staticmethod
    def backward(ctx, d_out):
        if ctx.saved[0] == 0 and ctx.saved[1] < 1:  # the special cases at a = 0 (see above)
            return (0.0 if ctx.saved[1] == 0 else d_out * math.inf,)
        # TODO Task 2.1: backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with
        #   ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring
        #   gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done
        #   as an example.
        #   (stuck? make hint TASK=2.1)
        raise NotImplementedError("Task 2.1: Scalar derivatives (nn/scalar.py: Pow.backward) — backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done as an example. Stuck? make hint TASK=2.1. Check with: make check")


class Neg(ScalarFunction):
    """out = −a;  dout/da = −1."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, d_out):
        return (-d_out,)


class Exp(ScalarFunction):
    """out = eᵃ;  dout/da = eᵃ = out."""

    @staticmethod
    def forward(ctx, a):
        try:
            out = math.exp(a)
        except OverflowError:
            raise OverflowError(f"exp({a}) is too large for a float (exp overflows above a ≈ 709.78)") from None
        ctx.saved = out
        return out

    @staticmethod
    def backward(ctx, d_out):
        # TODO Task 2.1: backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with
        #   ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring
        #   gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done
        #   as an example.
        #   (stuck? make hint TASK=2.1)
        raise NotImplementedError("Task 2.1: Scalar derivatives (nn/scalar.py: Exp.backward) — backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done as an example. Stuck? make hint TASK=2.1. Check with: make check")


class Log(ScalarFunction):
    """out = ln a (natural log, a > 0);  dout/da = 1/a."""

    @staticmethod
    def forward(ctx, a):
        if a <= 0:
            raise ValueError(f"log({a}): the logarithm needs a positive number")
        ctx.saved = a
        return math.log(a)

    @staticmethod
    def backward(ctx, d_out):
        # TODO Task 2.1: backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with
        #   ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring
        #   gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done
        #   as an example.
        #   (stuck? make hint TASK=2.1)
        raise NotImplementedError("Task 2.1: Scalar derivatives (nn/scalar.py: Log.backward) — backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done as an example. Stuck? make hint TASK=2.1. Check with: make check")


class Tanh(ScalarFunction):
    """out = tanh a = (eᵃ − e⁻ᵃ) / (eᵃ + e⁻ᵃ);  dout/da = 1 − tanh² a = 1 − out²."""

    @staticmethod
    def forward(ctx, a):
        out = math.tanh(a)
        ctx.saved = out
        return out

    @staticmethod
    def backward(ctx, d_out):
        # TODO Task 2.1: backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with
        #   ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring
        #   gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done
        #   as an example.
        #   (stuck? make hint TASK=2.1)
        raise NotImplementedError("Task 2.1: Scalar derivatives (nn/scalar.py: Tanh.backward) — backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done as an example. Stuck? make hint TASK=2.1. Check with: make check")


class Sigmoid(ScalarFunction):
    """out = σ(a) = 1 / (1 + e⁻ᵃ);  dout/da = σ(a) (1 − σ(a)) = out (1 − out)."""

    @staticmethod
    def forward(ctx, a):
        if a >= 0:
            out = 1.0 / (1.0 + math.exp(-a))
        else:  # the same value, written so that exp cannot overflow for very negative a
            e = math.exp(a)
            out = e / (1.0 + e)
        ctx.saved = out
        return out

    @staticmethod
    def backward(ctx, d_out):
        # TODO Task 2.1: backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with
        #   ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring
        #   gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done
        #   as an example.
        #   (stuck? make hint TASK=2.1)
        raise NotImplementedError("Task 2.1: Scalar derivatives (nn/scalar.py: Sigmoid.backward) — backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done as an example. Stuck? make hint TASK=2.1. Check with: make check")


class ReLU(ScalarFunction):
    """out = max(a, 0);  dout/da = 1 where a > 0, else 0 (we take 0 at the kink a = 0)."""

    @staticmethod
    def forward(ctx, a):
        ctx.saved = a
        return a if a > 0 else 0.0

    @staticmethod
    def backward(ctx, d_out):
        # TODO Task 2.1: backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with
        #   ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring
        #   gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done
        #   as an example.
        #   (stuck? make hint TASK=2.1)
        raise NotImplementedError("Task 2.1: Scalar derivatives (nn/scalar.py: ReLU.backward) — backward(ctx, d_out) gets d_out = ∂final/∂out and returns a tuple with ∂final/∂input for each input: d_out · ∂out/∂input (the chain rule). The class docstring gives ∂out/∂input; forward left the values it needs in ctx.saved. Add.backward is done as an example. Stuck? make hint TASK=2.1. Check with: make check")


# --- the number that remembers ------------------------------------------------------------
class Scalar(Context):
    """A float that records how it was computed, so ``backward()`` can find its derivatives.

    ``value`` is the number, ``grad`` is d(result)/d(this Scalar) after
    ``result.backward()`` (0.0 before), ``name`` is an optional label for
    printing and drawing. ``op`` names the Function that computed it (None for
    an input or a constant) and ``parents()`` returns that Function's inputs.
    A computed Scalar is also the ``ctx`` of its Function: ``saved`` holds
    what that Function's forward saved for backward.
    """

    # Fixed attributes (no per-object __dict__): a training step makes ~65,000 Scalars; this is faster and smaller.
    __slots__ = ("value", "grad", "name", "_function", "_input_a", "_input_b", "__weakref__")

    def __init__(self, value: float, name: str | None = None):
        if not isinstance(value, Real):
            raise TypeError(f"Scalar needs a real number (an int or a float), got {type(value).__name__}: {value!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Scalar's name must be a string (or None), got {type(name).__name__}: {name!r}")
        self.value = float(value)
        self.grad = 0.0
        self.name = name
        self.saved = None
        self._function: type[ScalarFunction] | None = None  # the Function that computed it
        # Its inputs a and b (b is None for a Function of one input), None once backward released them.
        # Two fields, not a tuple: one object less per node for the cycle collector to walk.
        self._input_a: Scalar | None = None
        self._input_b: Scalar | None = None

    # --- the graph -------------------------------------------------------------------------
    def parents(self) -> tuple[Scalar, ...]:
        """The Scalars this one was computed from (empty for inputs and constants)."""
        if self._function is None:
            return ()
        if self._input_a is None:
            raise RuntimeError(
                f"this Scalar ({self!r}) was part of a graph that backward() already released. "
                "Compute it again, or call backward(retain_graph=True) to keep the graph "
                "(to draw it, or to backpropagate through it again)."
            )
        return (self._input_a,) if self._input_b is None else (self._input_a, self._input_b)

    @property
    def op(self) -> str | None:
        """The name of the Function that computed this Scalar ('Mul', 'Exp', ...); None for an input."""
        return None if self._function is None else self._function.__name__

    def backward(self, retain_graph: bool = False) -> None:
        """Set ``node.grad`` = d(self)/d(node) on every Scalar that ``self`` was computed from.

        The chain rule, applied in reverse topological order: when a node's turn
        comes, every Scalar computed from it has already added its contribution
        to ``node.grad`` (``+=``: a value used twice gets both contributions).
        Computed Scalars start each backward from 0; inputs (no ``op``)
        accumulate across backward calls, as in PyTorch (``x.backward()`` on an
        input adds d(x)/d(x) = 1): reset them with ``p.grad = 0.0`` between training steps.

        Afterwards the graph is released (each computed Scalar forgets its inputs
        and saved values) unless ``retain_graph=True``; backpropagating again
        through a released graph is an error.
        """
        # TODO Task 2.3: Set node.grad = ∂self/∂node on every Scalar self depends on: computed nodes
        #   start from 0, inputs accumulate, and ∂self/∂self = 1 is added to self.grad; apply each
        #   node's Function backward in reverse topological order and add (+=) its results to the
        #   node's inputs; then release the graph (each computed node forgets its inputs and saved
        #   values) unless retain_graph.
        #   (stuck? make hint TASK=2.3)
        raise NotImplementedError("Task 2.3: Scalar backward pass (nn/scalar.py: Scalar.backward) — Set node.grad = ∂self/∂node on every Scalar self depends on: computed nodes start from 0, inputs accumulate, and ∂self/∂self = 1 is added to self.grad; apply each node's Function backward in reverse topological order and add (+=) its results to the node's inputs; then release the graph (each computed node forgets its inputs and saved values) unless retain_graph. Stuck? make hint TASK=2.3. Check with: make check")

    # --- operators -----------------------------------------------------------------------
    def __add__(self, other: Scalar | float) -> Scalar:
        return Add.apply(self, as_scalar(other))

    def __radd__(self, other: float) -> Scalar:
        return Add.apply(as_scalar(other), self)

    def __sub__(self, other: Scalar | float) -> Scalar:
        return Add.apply(self, Neg.apply(as_scalar(other)))

    def __rsub__(self, other: float) -> Scalar:
        return Add.apply(as_scalar(other), Neg.apply(self))

    def __mul__(self, other: Scalar | float) -> Scalar:
        return Mul.apply(self, as_scalar(other))

    def __rmul__(self, other: float) -> Scalar:
        return Mul.apply(as_scalar(other), self)

    def __truediv__(self, other: Scalar | float) -> Scalar:
        return Div.apply(self, as_scalar(other))

    def __rtruediv__(self, other: float) -> Scalar:
        return Div.apply(as_scalar(other), self)

    def __pow__(self, exponent: float) -> Scalar:
        if isinstance(exponent, Scalar) or not isinstance(exponent, Real):
            raise TypeError(
                f"x ** p needs a constant number p (an int or a float), got {type(exponent).__name__}: "
                "a Scalar exponent would need d/dp, which Pow does not compute (use exp(p * log(x)))"
            )
        return Pow.apply(self, exponent=float(exponent))

    def __rpow__(self, base: float) -> Scalar:
        raise TypeError("p ** x with a Scalar x is not supported; write (x * math.log(p)).exp() for p > 0")

    def __neg__(self) -> Scalar:
        return Neg.apply(self)

    def exp(self) -> Scalar:
        return Exp.apply(self)

    def log(self) -> Scalar:
        return Log.apply(self)

    def tanh(self) -> Scalar:
        return Tanh.apply(self)

    def sigmoid(self) -> Scalar:
        return Sigmoid.apply(self)

    def relu(self) -> Scalar:
        return ReLU.apply(self)

    def __repr__(self) -> str:
        label = f", name={self.name!r}" if self.name is not None else ""
        op = f", op={self.op!r}" if self._function is not None else ""
        return f"Scalar({self.value:.6g}, grad={self.grad:.6g}{label}{op})"



def as_scalar(x: Scalar | float) -> Scalar:
    """``x`` itself if it is a Scalar, else a constant Scalar with value ``x``."""
    return x if isinstance(x, Scalar) else Scalar(x)

"""The scalar engine (nn.Scalar): derivatives, the backward pass, graph release, errors.

Task 2.1 tests call each Function's ``forward`` and ``backward`` directly (no
``Scalar.backward``); task 2.3 tests call ``Scalar.backward`` on small graphs
made only of operations that are not holes (Add, Neg, and a multiplication
defined here), so they need task 2.2 (topological_order) but not task 2.1.
The other tests check the reference as a whole.
"""

from __future__ import annotations

import gc
import math
import weakref

import pytest
from conftest import examples
from helpers import NeedsTask, numerical_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from nn.scalar import Context, Scalar, ScalarFunction

S = nn.scalar  # the Functions: S.Mul, S.Exp, ...


def finite(low: float, high: float):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def away_from_zero(low: float = 0.05, high: float = 5.0):
    """Floats with low ≤ |x| ≤ high (avoids kinks and poles at 0)."""
    return st.one_of(finite(low, high), finite(-high, -low))


def derivative(f, x: float, h: float = 1e-4) -> float:
    """The tests' own derivative oracle: the five-point stencil (error of order h⁴)."""
    return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)


def assert_close(got: float, expected: float, what: str, rel: float = 1e-6, abs_: float = 1e-8) -> None:
    assert got == pytest.approx(expected, rel=rel, abs=abs_), f"{what}: expected {expected!r}, got {got!r}"


# --- task 2.1: each Function's backward, called directly --------------------------------------
def rounded(value):
    """``value`` for a message: floats (also inside a tuple) to 6 significant digits, anything else as repr."""
    if isinstance(value, tuple):
        return "(" + ", ".join(rounded(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def check_backward(function, inputs: tuple[float, ...], d_out: float = 0.7, **options) -> None:
    """``function.backward`` after ``forward`` on ``inputs`` gives d_out times the central difference."""
    name = function.__name__
    args = ", ".join([repr(x) for x in inputs] + [f"{key}={value!r}" for key, value in options.items()])
    ctx = Context()
    function.forward(ctx, *inputs, **options)
    got = function.backward(ctx, d_out)
    assert got is not None, (f"{name}.backward(ctx, d_out={d_out}) after {name}.forward(ctx, {args}) returned None: "
                             "did you forget the return?")
    assert isinstance(got, tuple), (
        f"{name}.backward(ctx, d_out={d_out}) after {name}.forward(ctx, {args}) returned {got!r} "
        f"({type(got).__name__}); it must return a tuple with one float per input, "
        f"e.g. (d_out * ...,) — note the comma for a single input"
    )
    assert len(got) == len(inputs), (
        f"{name}.backward returned {len(got)} value(s) {got!r}; forward has {len(inputs)} input(s), "
        f"so backward must return {len(inputs)} (one d(final)/d(input) per input)"
    )

    def forward(*xs):
        return function.forward(Context(), *(float(x) for x in xs), **options)

    expected = [float(g) for g in numerical_grads(forward, inputs, d_out)]
    for k, (g, e) in enumerate(zip(got, expected)):
        assert g == pytest.approx(e, rel=1e-5, abs=1e-7), (
            f"{name}.backward: the gradient for input {k} is wrong. After {name}.forward(ctx, {args}) "
            f"and backward(ctx, d_out={d_out}), expected d_out × local derivative = {e:.6g} "
            f"(central difference), got {rounded(g)}. All of them: expected {rounded(tuple(expected))}, "
            f"got {rounded(got)}"
        )


@pytest.mark.task2_1
@pytest.mark.parametrize("a, b", [(2.0, 3.0), (-1.5, 4.0), (0.5, -0.25)])
def test_mul_backward(a, b):
    check_backward(S.Mul, (a, b))


@pytest.mark.task2_1
@pytest.mark.parametrize("a, b", [(6.0, 3.0), (-1.5, 4.0), (2.0, -0.5)])
def test_div_backward(a, b):
    check_backward(S.Div, (a, b))


@pytest.mark.task2_1
@pytest.mark.parametrize("a, exponent", [(3.0, 2.0), (2.0, 3.0), (4.0, 0.5), (2.0, -1.0), (-1.5, 3.0)])
def test_pow_backward(a, exponent):
    check_backward(S.Pow, (a,), exponent=exponent)


@pytest.mark.task2_1
@pytest.mark.parametrize("a", [0.0, 1.0, -2.0])
def test_exp_backward(a):
    check_backward(S.Exp, (a,))


@pytest.mark.task2_1
@pytest.mark.parametrize("a", [1.0, 0.5, 3.0])
def test_log_backward(a):
    check_backward(S.Log, (a,))


@pytest.mark.task2_1
@pytest.mark.parametrize("a", [0.0, 0.5, -2.0])
def test_tanh_backward(a):
    check_backward(S.Tanh, (a,))


@pytest.mark.task2_1
@pytest.mark.parametrize("a", [0.0, 1.5, -3.0])
def test_sigmoid_backward(a):
    check_backward(S.Sigmoid, (a,))


@pytest.mark.task2_1
@pytest.mark.parametrize("a", [2.0, 0.5, -0.5])  # 0.5: a slope that starts at 1 (a >= 1) is wrong there
def test_relu_backward(a):
    check_backward(S.ReLU, (a,))


@pytest.mark.task2_1
def test_relu_backward_at_the_kink_is_zero():
    ctx = Context()
    S.ReLU.forward(ctx, 0.0)
    got = S.ReLU.backward(ctx, 1.0)
    assert got == (0.0,), f"ReLU.backward at a = 0 (the kink): we take the derivative 0, so expected (0.0,), got {got!r}"


@given(a=away_from_zero(), b=away_from_zero(), d_out=finite(-2, 2))
@settings(max_examples=examples(40), deadline=None)
def test_binary_backwards_match_central_differences(a, b, d_out):
    for function in (S.Add, S.Mul, S.Div):
        check_backward(function, (a, b), d_out)


@given(a=finite(-5, 5), d_out=finite(-2, 2))
@settings(max_examples=examples(40), deadline=None)
def test_unary_backwards_match_central_differences(a, d_out):
    for function in (S.Neg, S.Exp, S.Tanh, S.Sigmoid):
        check_backward(function, (a,), d_out)
    if abs(a) > 1e-3:
        check_backward(S.ReLU, (a,), d_out)
    if a > 0.05:
        check_backward(S.Log, (a,), d_out)


# --- task 2.3: Scalar.backward on small graphs -------------------------------------------------
class Times(ScalarFunction):
    """out = a · b, defined here so that the task 2.3 tests do not depend on task 2.1."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.saved = (a, b)
        return a * b

    @staticmethod
    def backward(ctx, d_out):
        a, b = ctx.saved
        return d_out * b, d_out * a


def times(a, b):
    return Times.apply(a, b)


def backward_of(root: Scalar, **options) -> None:
    """root.backward(**options), once topological_order (task 2.2) is seen to order root's graph: Scalar.backward
    walks that order, so while it is wrong, task 2.3 waits for task 2.2 (NeedsTask)."""
    try:
        order = nn.topological_order(root)
    except NotImplementedError:  # task 2.2 is not written yet: backward meets its hole (if 2.3 is written)
        order = None
    if order is None:
        return root.backward(**options)
    position = {id(node): number for number, node in enumerate(order)}
    if len(position) != len(order) or not order or order[-1] is not root or any(
            position.get(id(parent), len(order)) > position[id(node)] for node in order for parent in node.parents()):
        raise NeedsTask(f"Task 2.2: topological_order gives a wrong order for a graph of {len(position)} nodes (a node "
                        "listed twice or missing, a parent after its child, or the root not last), and Scalar.backward "
                        "walks that order: task 2.2 first")
    root.backward(**options)


@pytest.mark.task2_3
def test_backward_of_a_small_expression():
    a, b, c = Scalar(2.0, name="a"), Scalar(-3.0, name="b"), Scalar(10.0, name="c")
    d = times(a, b) + c  # d = ab + c
    backward_of(d)
    got = {"a": a.grad, "b": b.grad, "c": c.grad, "d": d.grad}
    expected = {"a": -3.0, "b": 2.0, "c": 1.0, "d": 1.0}
    why = ""
    if (got["a"], got["b"], got["c"]) == (0.0, 0.0, 1.0):
        why = (". a and b got nothing: the node a*b passed its grad on before d had added to it. Walk the "
               "topological order from its end (root first), so that a node's grad is complete when its turn comes")
    assert got == expected, f"d = a*b + c with a=2, b=-3, c=10: expected the grads {expected}, got {got}{why}"


@pytest.mark.task2_3
def test_a_value_used_twice_gets_both_contributions():
    a = Scalar(3.0, name="a")
    b = a + a
    c = b + b  # c = 4a
    backward_of(c)
    assert (a.grad, b.grad) == (4.0, 2.0), (
        f"b = a + a; c = b + b (so c = 4a): expected dc/da = 4 and dc/db = 2, got a.grad = {a.grad}, "
        f"b.grad = {b.grad}. A value used twice must get both contributions: use += on the parents' grad"
    )


@pytest.mark.task2_3
def test_a_value_reused_along_two_paths():
    x = Scalar(2.0, name="x")
    y = times(x, x)  # y = x²
    z = times(y, x) + -y  # z = x³ − x², dz/dx = 3x² − 2x = 8, dz/dy = x − 1 = 1
    backward_of(z)
    assert (x.grad, y.grad) == (8.0, 1.0), (
        f"y = x·x; z = y·x − y at x = 2: expected dz/dx = 3x² − 2x = 8 and dz/dy = x − 1 = 1, "
        f"got x.grad = {x.grad}, y.grad = {y.grad}. A node's grad is complete only after every node "
        "computed from it has added (+=, not =) its contribution: walk reversed(topological_order(self))"
    )


@pytest.mark.task2_3
def test_the_output_grad_is_one():
    a = Scalar(1.5)
    b = -a
    backward_of(b)
    assert (b.grad, a.grad) == (1.0, -1.0), f"b = -a: expected b.grad = 1 (seed) and a.grad = -1, got {b.grad}, {a.grad}"


@pytest.mark.task2_3
def test_backward_called_on_an_input_adds_one_to_its_grad():
    x = Scalar(2.0, name="x")
    backward_of(x + x)
    backward_of(x)
    assert x.grad == 3.0, (
        f"x = 2; (x + x).backward() gives x.grad = 2, then x.backward() adds d(x)/d(x) = 1: expected 3, got "
        f"{x.grad}. An input accumulates in every backward, also the one called on it: backward resets only "
        "computed Scalars to 0, never an input, and adds the seed d(x)/d(x) = 1 to it (+= 1.0, not = 1.0)"
    )


@pytest.mark.task2_3
def test_backward_twice_with_retained_graph_accumulates_into_inputs_only():
    a, b = Scalar(2.0, name="a"), Scalar(5.0, name="b")
    c = times(a, b)
    d = c + a  # dd/da = b + 1 = 6, dd/db = a = 2, dd/dc = 1
    backward_of(d, retain_graph=True)
    backward_of(d, retain_graph=True)
    got = (a.grad, b.grad, c.grad)
    assert got == (12.0, 4.0, 1.0), (
        f"d = a*b + a (a=2, b=5), d.backward(retain_graph=True) twice: expected the inputs to accumulate "
        f"(a.grad = 2·6 = 12, b.grad = 2·2 = 4) and the computed c to hold one pass's dd/dc = 1; got "
        f"(a.grad, b.grad, c.grad) = {got}. Set grad = 0 on computed nodes (node.op is not None) before a pass"
    )


@pytest.mark.task2_3
def test_backward_releases_the_graph():
    a, b = Scalar(2.0), Scalar(3.0)
    c = times(a, b)
    d = c + a
    alive = weakref.ref(c)
    del c
    gc.disable()
    try:
        backward_of(d)
        assert alive() is None, (
            "after d.backward() the intermediate c = a*b is still alive: backward must release the graph "
            "(unless retain_graph=True): once a node has passed its grad on, it forgets its inputs and saved "
            "values"
        )
    finally:
        gc.enable()
    assert a.grad == 4.0, f"d = a*b + a at a=2, b=3: expected a.grad = b + 1 = 4, got {a.grad}"
    with pytest.raises(RuntimeError, match="released"):
        d.backward()


# --- the whole engine: values and derivatives of every operation --------------------------------
def engine_derivative(f, x: float) -> tuple[float, float]:
    """f built from Scalars, at x: (value, df/dx by backward)."""
    xs = Scalar(x)
    y = f(xs)
    y.backward()
    return y.value, xs.grad


UNARY = {
    # name: (Scalar expression, the same with math, domain)
    "neg": (lambda x: -x, lambda x: -x, finite(-5, 5)),
    "exp": (lambda x: x.exp(), math.exp, finite(-5, 5)),
    "log": (lambda x: x.log(), math.log, finite(0.05, 50)),
    "tanh": (lambda x: x.tanh(), math.tanh, finite(-5, 5)),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: 1 / (1 + math.exp(-x)), finite(-10, 10)),
    "relu": (lambda x: x.relu(), lambda x: max(x, 0.0), away_from_zero(1e-3, 5)),
    "square": (lambda x: x**2, lambda x: x * x, finite(-5, 5)),
    "cube": (lambda x: x**3, lambda x: x**3, finite(-5, 5)),
    "sqrt": (lambda x: x**0.5, math.sqrt, finite(0.05, 50)),
    "reciprocal": (lambda x: x**-1, lambda x: 1 / x, away_from_zero()),
    "add constant": (lambda x: x + 2.5, lambda x: x + 2.5, finite(-5, 5)),
    "constant + x": (lambda x: 2.5 + x, lambda x: 2.5 + x, finite(-5, 5)),
    "sub constant": (lambda x: x - 2.5, lambda x: x - 2.5, finite(-5, 5)),
    "constant - x": (lambda x: 1 - x, lambda x: 1 - x, finite(-5, 5)),
    "times constant": (lambda x: x * 3, lambda x: x * 3, finite(-5, 5)),
    "constant * x": (lambda x: 2 * x, lambda x: 2 * x, finite(-5, 5)),
    "divide by constant": (lambda x: x / 4, lambda x: x / 4, finite(-5, 5)),
    "constant / x": (lambda x: 1 / x, lambda x: 1 / x, away_from_zero()),
    "ln(x²)": (lambda x: (x * x).log(), lambda x: math.log(x * x), away_from_zero()),
}


@pytest.mark.parametrize("name", UNARY)
@settings(max_examples=examples(30), deadline=None)
@given(data=st.data())
def test_unary_expression_value_and_derivative(name, data):
    expression, reference, domain = UNARY[name]
    x = data.draw(domain, label="x")
    value, grad = engine_derivative(expression, x)
    assert_close(value, reference(x), f"{name} at x = {x!r}: value")
    assert_close(grad, derivative(reference, x), f"{name} at x = {x!r}: derivative", rel=1e-5, abs_=1e-7)


BINARY = {
    "a + b": (lambda a, b: a + b, away_from_zero()),
    "a - b": (lambda a, b: a - b, away_from_zero()),
    "a * b": (lambda a, b: a * b, away_from_zero()),
    "a / b": (lambda a, b: a / b, away_from_zero()),
    "a * b + b / a": (lambda a, b: a * b + b / a, away_from_zero()),
}


@pytest.mark.parametrize("name", BINARY)
@settings(max_examples=examples(30), deadline=None)
@given(data=st.data())
def test_binary_expression_value_and_gradients(name, data):
    expression, domain = BINARY[name]
    a, b = data.draw(domain, label="a"), data.draw(domain, label="b")
    sa, sb = Scalar(a), Scalar(b)
    out = expression(sa, sb)
    out.backward()
    assert_close(out.value, expression(a, b), f"{name} at a = {a!r}, b = {b!r}: value")
    assert_close(sa.grad, derivative(lambda t: expression(t, b), a), f"{name}: d/da", rel=1e-5, abs_=1e-7)
    assert_close(sb.grad, derivative(lambda t: expression(a, t), b), f"{name}: d/db", rel=1e-5, abs_=1e-7)


def test_chain_rule_log_of_square():
    for x in (0.5, 2.0, -3.0):
        _, grad = engine_derivative(lambda s: (s * s).log(), x)
        assert grad == pytest.approx(2 / x), f"d/dx ln(x²) at x = {x}: expected 2/x = {2 / x}, got {grad}"


def test_sigmoid_is_stable_for_large_inputs():
    for x, expected in ((800.0, 1.0), (-800.0, 0.0), (40.0, 1.0)):
        value, grad = engine_derivative(lambda s: s.sigmoid(), x)
        assert value == pytest.approx(expected) and grad == pytest.approx(0.0, abs=1e-15), (
            f"sigmoid({x}): expected value ≈ {expected} and gradient ≈ 0, got {value}, {grad}"
        )


def test_relu_gradient_at_zero_is_zero():
    assert engine_derivative(lambda s: s.relu(), 0.0) == (0.0, 0.0)


# --- accumulation semantics -------------------------------------------------------------------
def test_b_equals_a_plus_a_twice_gives_four():
    a = Scalar(-2.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0


def test_inputs_accumulate_over_backward_calls_until_reset():
    w = Scalar(3.0)
    (w * w).backward()
    (w * w).backward()
    assert w.grad == 12.0, f"two backward passes of w² at w = 3 add up: expected 2·6 = 12, got {w.grad}"
    w.grad = 0.0
    (w * 2).backward()
    assert w.grad == 2.0


def test_a_constant_is_a_leaf_with_its_own_grad():
    x = Scalar(3.0)
    y = 2 * x + 1
    y.backward(retain_graph=True)
    product, one = y.parents()
    two, _ = product.parents()
    assert (two.value, one.value, two.op, one.op) == (2.0, 1.0, None, None)
    assert (x.grad, two.grad, one.grad) == (2.0, 3.0, 1.0)


def test_backward_from_an_intermediate_value_with_retained_graph():
    a = Scalar(2.0)
    b = a * a
    c = b * 3
    c.backward(retain_graph=True)
    assert (a.grad, b.grad) == (12.0, 3.0)
    a.grad = 0.0
    b.backward()  # b's graph is still there: d(b)/da = 2a
    assert (a.grad, b.grad) == (4.0, 1.0)


# --- graph records, release and memory ------------------------------------------------------------
def test_the_record_describes_the_graph_before_backward():
    a, b = Scalar(2.0, name="a"), Scalar(3.0, name="b")
    c = a * b
    d = c.exp()
    assert (a.op, c.op, d.op) == (None, "Mul", "Exp")
    assert c.parents() == (a, b) and d.parents() == (c,) and a.parents() == ()
    assert nn.topological_order(d) == [a, b, c, d] or nn.topological_order(d) == [b, a, c, d]
    assert "name='a'" in repr(a) and "op='Mul'" in repr(c)


def test_the_result_is_its_functions_ctx_until_released():
    a, b = Scalar(2.0), Scalar(3.0)
    c = a * b
    d = c.exp()
    assert (a.saved, c.saved, d.saved) == (None, (2.0, 3.0), pytest.approx(math.exp(6.0))), (
        f"forward saves on the result: expected a.saved = None (an input), c.saved = (2.0, 3.0) (Mul's a, b) "
        f"and d.saved = e⁶ (Exp's out), got {a.saved!r}, {c.saved!r}, {d.saved!r}"
    )
    d.backward()
    assert (c.saved, d.saved) == (None, None), f"backward releases what was saved, got {c.saved!r}, {d.saved!r}"


def test_retain_graph_keeps_the_graph_for_drawing():
    a, b = Scalar(2.0), Scalar(3.0)
    c = a * b
    d = c + a
    d.backward(retain_graph=True)
    assert d.parents() == (c, a) and c.parents() == (a, b)
    assert (a.grad, b.grad, c.grad, d.grad) == (4.0, 2.0, 1.0, 1.0)


def test_after_backward_the_op_names_stay_but_parents_are_released():
    a = Scalar(2.0)
    c = a.tanh()
    c.backward()
    assert c.op == "Tanh"
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        c.parents()


def test_a_graph_has_no_reference_cycles():
    """Without the cycle collector, dropping the result frees the whole graph (no backward needed)."""
    gc.disable()
    try:
        x = Scalar(0.5)
        y = ((x * x + 1).log() / (x - 3)).sigmoid() ** 2
        intermediates = [weakref.ref(node) for node in nn.topological_order(y) if node is not x]
        del y
        alive = sum(ref() is not None for ref in intermediates)
        assert alive == 0, f"{alive} of {len(intermediates)} graph nodes outlive the result: a reference cycle"
    finally:
        gc.enable()


def test_backward_frees_the_intermediates_while_the_result_is_alive():
    gc.disable()
    try:
        x = Scalar(0.5)
        y = ((x * x + 1).log() * (x - 3)).tanh()
        intermediates = [weakref.ref(node) for node in nn.topological_order(y) if node is not x and node is not y]
        y.backward()
        alive = sum(ref() is not None for ref in intermediates)
        assert alive == 0, f"{alive} of {len(intermediates)} intermediate nodes are alive after backward()"
        assert x.grad != 0.0
    finally:
        gc.enable()


def test_a_second_backward_through_a_released_graph_is_an_error():
    a = Scalar(2.0)
    b = a * a
    c = b + 1
    c.backward()
    with pytest.raises(RuntimeError, match="released"):
        c.backward()
    d = b * 2  # b's record was released by c.backward()
    with pytest.raises(RuntimeError, match="released"):
        d.backward()


# --- deep graphs --------------------------------------------------------------------------------
def test_a_100000_node_chain():
    x = Scalar(1.0)
    y = x
    for _ in range(50_000):
        y = (y * 1.0) + 0.0
    y.backward()
    assert x.grad == 1.0 and y.value == 1.0


def test_dropping_a_100000_node_chain_without_backward():
    x = Scalar(1.0)
    y = x
    for _ in range(100_000):
        y = -y
    last = weakref.ref(y.parents()[0])
    del y  # deallocating a deep chain must not overflow the C stack
    assert last() is None and x.value == 1.0


# --- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["3", None, [1.0], 1 + 2j])
def test_scalar_of_a_non_number_is_a_type_error(value):
    with pytest.raises(TypeError, match="real number"):
        Scalar(value)


def test_apply_needs_scalars():
    with pytest.raises(TypeError, match=r"Sigmoid.apply needs Scalars, got \(float\)"):
        S.Sigmoid.apply(2.0)
    with pytest.raises(TypeError, match=r"Add.apply needs Scalars, got \(Scalar, int\)"):
        S.Add.apply(Scalar(1.0), 2)
    assert S.Sigmoid.apply(Scalar(0.0)).value == 0.5


def test_name_must_be_a_string():
    with pytest.raises(TypeError, match="name"):
        Scalar(1.0, name=3)


@pytest.mark.parametrize("operation", [lambda x: x + "1", lambda x: "1" * x, lambda x: x - None, lambda x: x / [2]])
def test_operator_with_a_non_number_is_a_type_error(operation):
    with pytest.raises(TypeError, match="real number"):
        operation(Scalar(2.0))


@pytest.mark.parametrize("x", [0.0, -1.0])
def test_log_of_a_non_positive_number(x):
    with pytest.raises(ValueError, match="positive"):
        Scalar(x).log()


def test_division_by_zero():
    with pytest.raises(ZeroDivisionError, match="divisor is 0"):
        Scalar(1.0) / 0


def test_negative_base_to_a_fractional_power():
    with pytest.raises(ValueError, match="non-integer power"):
        Scalar(-8.0) ** (1 / 3)
    assert (Scalar(-2.0) ** 3).value == -8.0


def test_zero_to_a_negative_power():
    with pytest.raises(ZeroDivisionError):
        Scalar(0.0) ** -1


def test_exponent_must_be_a_constant():
    with pytest.raises(TypeError, match="constant number"):
        Scalar(2.0) ** Scalar(3.0)
    with pytest.raises(TypeError, match="not supported"):
        2 ** Scalar(3.0)


def test_exp_overflow():
    with pytest.raises(OverflowError, match="too large"):
        Scalar(1000.0).exp()


# --- pow at zero -------------------------------------------------------------------------------
def test_pow_zero_has_derivative_zero_also_at_zero():
    for a in (0.0, 2.0, -3.0):
        x = Scalar(a)
        (x**0).backward()
        assert x.grad == 0.0, f"d/dx x⁰ at x = {a}: expected 0, got {x.grad}"


def test_pow_below_one_at_zero_has_an_infinite_derivative():
    x = Scalar(0.0)
    (x**0.5).backward()
    assert x.grad == math.inf
    y = Scalar(0.0)
    (-(y**0.25)).backward()
    assert y.grad == -math.inf

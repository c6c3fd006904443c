"""Optimizers: SGD.update (task 5.3), momentum (7.1), Adam (7.2), RMSProp (7.3), and the reference as a whole.

The task tests set p.grad by hand (no backward) on f(w) = ½‖w‖², whose
gradient is w itself, and compare one or two steps with the formulas.
"""

from __future__ import annotations

import numpy as np
import pytest

import nn

W0 = np.array([1.0, -2.0, 0.5], dtype=np.float32)


def param(values=W0) -> nn.Tensor:
    return nn.Tensor(np.array(values, dtype=np.float32), requires_grad=True)


def with_grad_of_half_norm(p: nn.Tensor) -> nn.Tensor:
    """f(w) = ½‖w‖²: its gradient is w."""
    p.grad = p.data.copy()
    return p


def rounded(values, decimals: int = 6) -> list:
    """``values`` as a list for a message (in float64, so float32 noise such as 0.8999999761 is gone)."""
    return np.round(np.asarray(values, dtype=np.float64), decimals).tolist()


def assert_step(name: str, before, got, expected, formula: str) -> None:
    assert np.allclose(got, expected, rtol=1e-5, atol=1e-7), (
        f"{name}: from w = {rounded(before, 4)} with gradient g = w, expected {formula} = "
        f"{rounded(expected)}, got {rounded(got)}"
    )


# --- Task 5.3: SGD.update ----------------------------------------------------------------
@pytest.mark.task5_3
def test_sgd_step_on_half_norm():
    p = with_grad_of_half_norm(param())
    array = p.data
    view = array[:2]  # refers to the parameter's array, as a view or a variable in a notebook can
    nn.SGD([p], lr=0.1).step()
    expected = W0 - 0.1 * W0
    if np.allclose(p.data, W0 + 0.1 * W0):
        raise AssertionError(f"SGD.update with lr = 0.1 from w = {rounded(W0, 4)} (gradient g = w) gave "
                             f"{rounded(p.data)} = w + lr * g: that moves uphill. Gradient descent "
                             f"subtracts: expected w - lr * g = {rounded(expected)}")
    if np.allclose(p.data, W0 - W0):
        raise AssertionError("SGD.update ignored the learning rate: the step is lr times the direction, "
                             f"expected {rounded(expected)}, got {rounded(p.data)}")
    if np.array_equal(p.data, W0):
        raise AssertionError(f"SGD.update left the parameter as it was, {rounded(p.data)} (expected "
                             f"{rounded(expected)}). Giving the name p (or a local variable) a new value does not "
                             "change the parameter, and neither does an update of the Tensor p, which makes a new "
                             "Tensor: change the numbers of its array, p.data, in place.")
    assert_step("SGD(lr=0.1).step()", W0, p.data, expected, "w - 0.1 * g")
    assert p.data is array, (
        f"SGD.update put a new array into p.data: a view of the old array still shows {rounded(view)} instead "
        f"of {rounded(p.data[:2])}. Change the existing array in place: the step then makes no new array, and "
        f"anything that refers to that array (a view of it, a variable holding it) sees the new values"
    )
    assert p.data.dtype == np.float32, f"a float32 parameter must stay float32, got {p.data.dtype}"


@pytest.mark.task5_3
def test_sgd_update_is_seen_by_the_model(initializers_without_task_3_4):
    layer = nn.Linear(2, 3, rng=0)
    before = layer.weight.data.copy()
    layer.weight.grad = np.ones((2, 3), np.float32)
    layer.bias.grad = np.full(3, 2.0, np.float32)
    nn.SGD(layer.parameters(), lr=0.5).step()
    assert np.allclose(layer.weight.data, before - 0.5), (
        f"after SGD(lr=0.5).step() with weight.grad = 1 everywhere, layer.weight should be its old value - 0.5; "
        f"got {np.round(layer.weight.data - before, 4).tolist()} as the change"
    )
    assert np.allclose(layer.bias.data, -1.0), f"bias 0 with grad 2, lr 0.5 should become -1, got {layer.bias.data.tolist()}"


@pytest.mark.task5_3
def test_sgd_update_directly():
    p = param([3.0, 4.0])
    p.grad = np.array([100.0, 100.0], np.float32)  # not the direction: step passes momentum's, say
    optimizer = nn.SGD([p], lr=0.25)
    optimizer.update(p, np.array([4.0, -8.0], np.float32))
    assert not np.allclose(p.data, [3.0 - 25.0, 4.0 - 25.0]), (
        "SGD(lr=0.25).update(p, direction=[4, -8]) stepped along p.grad = [100, 100] instead of its direction "
        "argument: step passes in the direction to take, which with momentum (task 7.1) is not the gradient"
    )
    assert np.allclose(p.data, [2.0, 6.0]), (
        f"SGD(lr=0.25).update(p, direction=[4, -8]) on p = [3, 4] should give p - lr * direction = [2, 6], "
        f"got {p.data.tolist()}"
    )


@pytest.mark.task5_3
def test_sgd_skips_parameters_without_gradient():
    used, unused = with_grad_of_half_norm(param()), param()
    nn.SGD([used, unused], lr=0.1).step()
    assert np.array_equal(unused.data, W0), "a parameter whose grad is None is left unchanged"


def test_a_wrong_step_is_shown_as_numbers():
    """What assert_step says when a step is wrong (a helper of the tests above and below: once a second
    rounded() replaced the one it calls, and every wrong step read as a TypeError)."""
    with pytest.raises(AssertionError, match=r"from w = \[1\.0, 2\.0\] .* expected w − lr·g = \[0\.9, 1\.8\], "
                                             r"got \[0\.0, 0\.0\]"):
        assert_step("SGD", np.array([1.0, 2.0]), np.zeros(2, np.float32), np.array([0.9, 1.8]), "w − lr·g")


# --- Task 7.1: momentum --------------------------------------------------------------------
@pytest.mark.task7_1
def test_momentum_direction_in_place():
    optimizer = nn.SGD([param()], lr=0.1, momentum=0.9)
    velocity = np.array([1.0, 2.0, 3.0], np.float32)
    grad = np.array([0.5, 0.5, -1.0], np.float32)
    got = optimizer.momentum_direction(velocity, grad)
    expected = 0.9 * np.array([1.0, 2.0, 3.0]) + grad
    assert got is not None, "momentum_direction must return the new velocity"
    assert np.allclose(got, expected), (
        f"momentum_direction(v=[1, 2, 3], grad={grad.tolist()}) with momentum 0.9 should return the new velocity, "
        f"0.9 v + grad = {rounded(expected)}; it returned {rounded(got)}"
    )
    assert np.allclose(velocity, expected), (
        "momentum_direction must update the velocity array in place (not build a new one): "
        f"the optimizer keeps it for the next step, but it is still {velocity.tolist()}"
    )


@pytest.mark.task7_1
def test_momentum_accumulates_over_steps():
    optimizer = nn.SGD([param()], lr=0.1, momentum=0.5)
    velocity = np.zeros(3, np.float32)
    grad = np.ones(3, np.float32)
    for expected in (1.0, 1.5, 1.75):
        velocity = optimizer.momentum_direction(velocity, grad)
        assert np.allclose(velocity, expected), (
            f"with momentum 0.5 and grad 1 every step, v goes 1, 1.5, 1.75 (v = 0.5 v + 1); got {np.asarray(velocity).tolist()}"
        )


# --- Task 7.2: Adam ---------------------------------------------------------------------------
def adam_reference(w, steps, lr, b1, b2, eps):
    w, m, v = w.astype(np.float64), 0.0, 0.0
    for t in range(1, steps + 1):
        g = w.copy()
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return w


@pytest.mark.task7_2
def test_adam_first_step_on_half_norm():
    p = with_grad_of_half_norm(param())
    array = p.data
    nn.Adam([p], lr=0.1).step()
    # m̂ = g and v̂ = g² after one step, so the step is lr · g / (|g| + eps) ≈ lr · sign(g)
    expected = W0 - 0.1 * W0 / (np.abs(W0) + 1e-8)
    if np.allclose(p.data, W0 - 0.1 * (1 - 0.9) * W0 / (np.sqrt(1 - 0.999) * np.abs(W0) + 1e-8)):
        raise AssertionError("Adam's first step is wrong: it looks like m and v were not bias-corrected "
                             "(m̂ = m / (1 - β₁ᵗ), v̂ = v / (1 - β₂ᵗ), with t = 1 on the first step)")
    assert_step("Adam(lr=0.1), first step", W0, p.data, expected, "w - lr * g / (|g| + eps)")
    assert p.data is array and p.data.dtype == np.float32, "Adam must update p.data in place and keep float32"


@pytest.mark.task7_2
def test_adam_three_steps_on_half_norm():
    p = param()
    optimizer = nn.Adam([p], lr=0.05, betas=(0.8, 0.9), eps=1e-6)
    for _ in range(3):
        with_grad_of_half_norm(p)
        optimizer.step()
    expected = adam_reference(W0, 3, 0.05, 0.8, 0.9, 1e-6)
    assert_step("Adam(lr=0.05, betas=(0.8, 0.9)), three steps", W0, p.data, expected,
                "three Adam steps (m and v remembered between steps, t = 1, 2, 3)")


def assert_a_zero_gradient_leaves_its_parameter(name: str, make_optimizer, formula: str) -> None:
    """A gradient element of exactly 0 (MNIST's border pixels give them) must leave its parameter as it
    is: the step is lr · 0 / (0 + eps) = 0. With eps outside the square root's sum it is 0 / 0 = NaN."""
    p = param()
    p.grad = np.array([0.5, 0.0, -1.0], dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):  # the NaN is explained below, not as a warning
        make_optimizer(p).step()
    assert np.isfinite(p.data[1]) and p.data[1] == W0[1], (
        f"{name} with gradient g = [0.5, 0.0, -1.0]: the middle parameter has gradient 0 and should stay "
        f"{W0[1]:g}, got {float(p.data[1]):g}. The step is {formula}: eps belongs to the denominator, "
        "added to the square root, so that a gradient of exactly 0 gives 0 / eps = 0, not 0 / 0 = NaN "
        "(a training with this step turns NaN at the first such gradient).")


@pytest.mark.task7_2
def test_adam_leaves_a_parameter_with_zero_gradient_as_it_is():
    assert_a_zero_gradient_leaves_its_parameter("Adam(lr=0.1)", lambda p: nn.Adam([p], lr=0.1),
                                                "lr · m̂ / (√v̂ + eps)")


TINY_GRADIENT = np.array([1e-6, -1e-6, 3e-6], dtype=np.float32)


def assert_a_tiny_gradient_gets_its_step(name: str, make_optimizer, step, formula: str,
                                         slips: dict | None = None) -> None:
    """Gradients of 1e-6 are common late in training. ``step(g, eps)`` is the first step's size (float64): with
    eps = 1e-8 it barely changes it; with eps under the square root, √(v + eps) ≈ √eps = 1e-4, it is about a
    hundred times too small, and read "done" with gradients of order 1 (eps is then too small to matter)."""
    p = param(np.ones(3))
    p.grad = TINY_GRADIENT.copy()
    make_optimizer(p).step()
    g = TINY_GRADIENT.astype(np.float64)
    expected, eps_under_the_root = 1.0 - step(g, 1e-8, outside=True), 1.0 - step(g, 1e-8, outside=False)
    inside = ("that is the step with eps under the square root, √(… + eps) instead of √… + eps: for a gradient "
              "this small eps then outweighs it. " if np.allclose(p.data, eps_under_the_root, rtol=1e-5, atol=1e-9)
              else "")
    inside += "".join(f"{said} " for said, value in (slips or {}).items() if np.allclose(p.data, 1.0 - value(g), rtol=1e-5,
                                                                              atol=1e-9))
    assert np.allclose(p.data, expected, rtol=1e-5, atol=1e-9), (
        f"{name}, first step from w = [1, 1, 1] with the tiny gradient g = {rounded(TINY_GRADIENT, 9)}: expected "
        f"w - {formula} = {rounded(expected, 9)}, got {rounded(p.data, 9)}; {inside}The step is {formula}, "
        "eps added after the square root.")


@pytest.mark.task7_2
def test_adam_takes_a_full_step_on_a_tiny_gradient():
    def first_step(g, eps, outside):  # m̂ = g, v̂ = g²
        return 0.1 * g / (np.sqrt(g * g) + eps if outside else np.sqrt(g * g + eps))

    def bias_correction_in_the_learning_rate(g):  # the Adam paper's "more efficient" order: eps on √v, not √v̂
        return 0.1 * np.sqrt(1 - 0.999) / (1 - 0.9) * (0.1 * g) / (np.sqrt(0.001 * g * g) + 1e-8)

    assert_a_tiny_gradient_gets_its_step("Adam(lr=0.1)", lambda p: nn.Adam([p], lr=0.1), first_step,
                                         "lr · m̂ / (√v̂ + eps)", {
        "that is the paper's \"more efficient\" order, the bias corrections folded into the learning rate: eps is "
        "then added to √v, not to √v̂, which for a gradient this small changes the step.":
        bias_correction_in_the_learning_rate})


# --- Task 7.3: RMSProp --------------------------------------------------------------------------
def rmsprop_reference(w, steps, lr, alpha, eps):
    w, s = w.astype(np.float64), 0.0
    for _ in range(steps):
        g = w.copy()
        s = alpha * s + (1 - alpha) * g * g
        w = w - lr * g / (np.sqrt(s) + eps)
    return w


@pytest.mark.task7_3
def test_rmsprop_first_step_on_half_norm():
    p = with_grad_of_half_norm(param())
    array = p.data
    nn.RMSProp([p], lr=0.01, alpha=0.99).step()
    expected = W0 - 0.01 * W0 / (np.sqrt(0.01 * W0**2) + 1e-8)   # s = (1 - α) g²
    assert_step("RMSProp(lr=0.01, alpha=0.99), first step", W0, p.data, expected, "w - lr * g / (sqrt((1 - α) g²) + eps)")
    assert p.data is array and p.data.dtype == np.float32, "RMSProp must update p.data in place and keep float32"


@pytest.mark.task7_3
def test_rmsprop_three_steps_on_half_norm():
    p = param()
    optimizer = nn.RMSProp([p], lr=0.01, alpha=0.9, eps=1e-6)
    for _ in range(3):
        with_grad_of_half_norm(p)
        optimizer.step()
    expected = rmsprop_reference(W0, 3, 0.01, 0.9, 1e-6)
    assert_step("RMSProp(lr=0.01, alpha=0.9), three steps", W0, p.data, expected,
                "three RMSProp steps (s remembered between steps)")


@pytest.mark.task7_3
def test_rmsprop_leaves_a_parameter_with_zero_gradient_as_it_is():
    assert_a_zero_gradient_leaves_its_parameter("RMSProp(lr=0.01)", lambda p: nn.RMSProp([p], lr=0.01),
                                                "lr · g / (√s + eps)")


# --- the optimizers as a whole (reference) ---------------------------------------------------------
@pytest.mark.task7_3
def test_rmsprop_takes_a_full_step_on_a_tiny_gradient():
    def first_step(g, eps, outside):  # s = (1 - α) g²
        s = 0.01 * g * g
        return 0.01 * g / (np.sqrt(s) + eps if outside else np.sqrt(s + eps))

    assert_a_tiny_gradient_gets_its_step("RMSProp(lr=0.01)", lambda p: nn.RMSProp([p], lr=0.01), first_step,
                                         "lr · g / (√s + eps)")


def test_sgd_momentum_two_steps_closed_form():
    p = param()
    optimizer = nn.SGD([p], lr=0.1, momentum=0.9)
    with_grad_of_half_norm(p)
    optimizer.step()                                   # v = w0, w1 = 0.9 w0
    with_grad_of_half_norm(p)
    optimizer.step()                                   # v = 0.9 w0 + 0.9 w0, w2 = 0.9 w0 - 0.1 * 1.8 w0
    assert np.allclose(p.data, 0.72 * W0)


def test_sgd_weight_decay_closed_form():
    p = with_grad_of_half_norm(param())
    nn.SGD([p], lr=0.1, weight_decay=0.5).step()      # d = g + 0.5 w = 1.5 w
    assert np.allclose(p.data, W0 * (1 - 0.15))


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1), lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: nn.Adam(ps), lambda ps: nn.RMSProp(ps)])
def test_float32_stays_float32_and_zero_grad_resets(make):
    p = with_grad_of_half_norm(param())
    optimizer = make([p])
    optimizer.step()
    assert p.data.dtype == np.float32
    optimizer.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("make, steps", [(lambda ps: nn.SGD(ps, lr=0.1), 200), (lambda ps: nn.SGD(ps, lr=0.05, momentum=0.9), 200),
                                         (lambda ps: nn.Adam(ps, lr=0.05), 500), (lambda ps: nn.RMSProp(ps, lr=0.01), 500)])
def test_optimizers_minimize_a_quadratic_through_backward(make, steps):
    target = nn.Tensor(np.array([3.0, -1.0, 2.0], np.float32))
    w = param(np.zeros(3))
    optimizer = make([w])
    for _ in range(steps):
        loss = ((w - target) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert np.allclose(w.data, target.data, atol=0.05), f"{type(optimizer).__name__} ended at {w.data.tolist()}"


@pytest.mark.parametrize("name", ["SGD", "SGD-momentum", "Adam", "RMSProp"])
def test_trajectories_match_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    start, grads = rng.normal(size=(3, 4)), rng.normal(size=(5, 3, 4))
    ours = nn.Tensor(start.copy(), requires_grad=True)
    theirs = torch.tensor(start.copy(), requires_grad=True)
    optimizer, torch_optimizer = {
        "SGD": (lambda: nn.SGD([ours], lr=0.1, weight_decay=0.01), lambda: torch.optim.SGD([theirs], lr=0.1, weight_decay=0.01)),
        "SGD-momentum": (lambda: nn.SGD([ours], lr=0.1, momentum=0.9), lambda: torch.optim.SGD([theirs], lr=0.1, momentum=0.9)),
        "Adam": (lambda: nn.Adam([ours], lr=0.01), lambda: torch.optim.Adam([theirs], lr=0.01)),
        "RMSProp": (lambda: nn.RMSProp([ours], lr=0.01), lambda: torch.optim.RMSprop([theirs], lr=0.01)),
    }[name]
    optimizer, torch_optimizer = optimizer(), torch_optimizer()
    for grad in grads:
        ours.grad, theirs.grad = grad.copy(), torch.tensor(grad.copy())
        optimizer.step()
        torch_optimizer.step()
    assert np.allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make, error, match", [
    (lambda: nn.SGD([], lr=0.1), ValueError, "no parameters"),
    (lambda: nn.SGD([np.zeros(2)], lr=0.1), TypeError, "parameter 0 is a ndarray"),
    (lambda: nn.SGD([nn.Tensor([1.0])], lr=0.1), ValueError, "requires_grad=False"),
    (lambda: nn.SGD([param()], lr=0), ValueError, "lr must be a positive number"),
    (lambda: nn.SGD([param()], lr="0.1"), TypeError, "lr must be a positive number .*got '0.1'"),
    (lambda: nn.SGD(nn.Linear(2, 2, rng=0), lr=0.1), TypeError, r"pass model\.parameters\(\)"),
    (lambda: nn.SGD(param(), lr=0.1), TypeError, r"a list of parameters"),
    (lambda: nn.SGD([param()], lr=0.1, momentum=1.5), ValueError, "momentum"),
    (lambda: nn.Adam([param()], betas=(0.9, 1.0)), ValueError, "betas"),
    (lambda: nn.RMSProp([param()], alpha=-0.1), ValueError, "alpha"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_optimizers_accept_a_generator_of_parameters():
    layer = nn.Linear(2, 2, rng=0)
    optimizer = nn.SGD((p for p in layer.parameters()), lr=0.1)
    assert len(optimizer.params) == 2 and nn.optim.SGD is nn.SGD

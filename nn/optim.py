"""Optimizers: update parameters in place from their gradients.

``step()`` moves every parameter that has a gradient; ``zero_grad()`` forgets
the gradients (they accumulate otherwise). Updates write into ``p.data``
itself, so the model, which holds the same tensors, sees the new values, and
float32 parameters stay float32.
"""

from __future__ import annotations

import numbers
from typing import Iterable

import numpy as np

from .tensor import Tensor


class Optimizer:
    """Holds the parameters and the learning rate; subclasses define ``step``."""

    def __init__(self, params: Iterable[Tensor], lr: float):
        name = type(self).__name__
        if hasattr(params, "parameters"):
            raise TypeError(f"{name} takes the model's parameters, not the model: pass model.parameters(), "
                            f"as in {name}(model.parameters(), lr=0.1)")
        if isinstance(params, Tensor):
            raise TypeError(f"{name} takes a list of parameters: {name}([w], lr=...) for a single tensor w")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got no parameters: pass model.parameters()")
        for position, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {position} is a {type(p).__name__}, not a Tensor")
            if not p.requires_grad:
                raise ValueError(
                    f"{type(self).__name__}: parameter {position} (shape {p.shape}) has requires_grad=False, "
                    f"so it never gets a gradient"
                )
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0:
            raise (ValueError if isinstance(lr, numbers.Real) else TypeError)(
                f"{name}: the learning rate lr must be a positive number (such as 0.1), got {lr!r}")
        self.lr = float(lr)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (once per step: before backward() or after step())."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError

    def state(self) -> list[np.ndarray]:
        """One zero array per parameter, like it: running averages start at 0."""
        return [np.zeros_like(p.data) for p in self.params]


class SGD(Optimizer):
    """Stochastic gradient descent: p ← p − lr · d, with the direction

    d = g + weight_decay · p                 (g = p.grad; L2 penalty ½ wd ‖p‖²)
    d = v ← momentum · v + d                 (with momentum; v starts at 0)
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        if weight_decay < 0:
            raise ValueError(f"SGD: weight_decay must be >= 0, got {weight_decay!r}")
        self.momentum, self.weight_decay = float(momentum), float(weight_decay)
        self.velocities = self.state() if self.momentum else [None] * len(self.params)

    def step(self) -> None:
        for p, velocity in zip(self.params, self.velocities):
            if p.grad is None:
                continue
            direction = p.grad
            if self.weight_decay:
                direction = direction + self.weight_decay * p.data
            if self.momentum:
                direction = self.momentum_direction(velocity, direction)
            self.update(p, direction)

    def update(self, p: Tensor, direction: np.ndarray) -> None:
        """p ← p − lr · direction, in place (``p.data`` is modified, not replaced)."""
        # TODO Task 5.3: Move the parameter p one step against direction: p ← p − lr · direction,
        #   changing the array p.data in place: the step then makes no new array, and anything that
        #   refers to that array (a view of it, a variable holding it) sees the new values.
        #   (stuck? make hint TASK=5.3)
        raise NotImplementedError("Task 5.3: SGD update (nn/optim.py: SGD.update) — Move the parameter p one step against direction: p ← p − lr · direction, changing the array p.data in place: the step then makes no new array, and anything that refers to that array (a view of it, a variable holding it) sees the new values. Stuck? make hint TASK=5.3. Check with: make check")

    def momentum_direction(self, velocity: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """v ← momentum · v + grad, in place in ``velocity`` (it is remembered between steps); return v."""
        # TODO Task 7.1: Update the velocity in place, v ← μ · v + grad (μ = self.momentum; velocity
        #   is the array remembered between steps), and return it as the direction.
        #   (stuck? make hint TASK=7.1)
        raise NotImplementedError("Task 7.1: Momentum (nn/optim.py: SGD.momentum_direction) — Update the velocity in place, v ← μ · v + grad (μ = self.momentum; velocity is the array remembered between steps), and return it as the direction. Stuck? make hint TASK=7.1. Check with: make check")


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with t the step count (1, 2, ...) and g = p.grad:

    m ← β₁ m + (1 − β₁) g          running mean of the gradient
    v ← β₂ v + (1 − β₂) g²         running mean of its square
    m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   (m and v start at 0: undo that bias)
    p ← p − lr · m̂ / (√v̂ + eps)
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        super().__init__(params, lr)
        if not all(0 <= beta < 1 for beta in betas) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        self.beta1, self.beta2 = (float(beta) for beta in betas)
        self.eps = float(eps)
        self.t = 0
        self.m, self.v = self.state(), self.state()

    def step(self) -> None:
        self.t += 1
        beta1, beta2, t = self.beta1, self.beta2, self.t
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad
            # TODO Task 7.2: For each parameter, with g = p.grad and t = self.t: update m ← β₁ m +
            #   (1 − β₁) g and v ← β₂ v + (1 − β₂) g² in place (they are remembered between steps),
            #   bias-correct m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ), and move p.data in place by
            #   −lr · m̂ / (√v̂ + eps).
            #   (stuck? make hint TASK=7.2)
            raise NotImplementedError("Task 7.2: Adam (nn/optim.py: Adam.step) — For each parameter, with g = p.grad and t = self.t: update m ← β₁ m + (1 − β₁) g and v ← β₂ v + (1 − β₂) g² in place (they are remembered between steps), bias-correct m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ), and move p.data in place by −lr · m̂ / (√v̂ + eps). Stuck? make hint TASK=7.2. Check with: make check")


class RMSProp(Optimizer):
    """RMSProp (Hinton, 2012), with g = p.grad:

    s ← α s + (1 − α) g²          running mean of the squared gradient (starts at 0)
    p ← p − lr · g / (√s + eps)     each parameter gets its own step size
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__(params, lr)
        if not 0 <= alpha < 1:
            raise ValueError(f"RMSProp: alpha must be in [0, 1), got {alpha!r}")
        self.alpha, self.eps = float(alpha), float(eps)
        self.squares = self.state()

    def step(self) -> None:
        alpha = self.alpha
        for p, s in zip(self.params, self.squares):
            if p.grad is None:
                continue
            g = p.grad
            # TODO Task 7.3: For each parameter, with g = p.grad: update s ← α s + (1 − α) g² in
            #   place (s is remembered between steps) and move p.data in place by −lr · g /
            #   (√s + eps).
            #   (stuck? make hint TASK=7.3)
            raise NotImplementedError("Task 7.3: RMSProp (nn/optim.py: RMSProp.step) — For each parameter, with g = p.grad: update s ← α s + (1 − α) g² in place (s is remembered between steps) and move p.data in place by −lr · g / (√s + eps). Stuck? make hint TASK=7.3. Check with: make check")

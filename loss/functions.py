"""Loss functions: one number that says how wrong the predictions are.

``cross_entropy`` for classification (from raw scores, the logits) and ``mse``
for regression. Both average over the batch (mean reduction), so the size of a
gradient step does not depend on the batch size.
"""

from __future__ import annotations

import numpy as np

from nn.functions import Function
from nn.tensor import Tensor, as_float_array


class CrossEntropy(Function):
    """Softmax cross-entropy from logits z of shape (N, C) and class labels yᵢ:

        loss = −(1/N) Σᵢ log softmax(zᵢ)[yᵢ],   log softmax(z)ⱼ = zⱼ − m − log Σₖ e^(zₖ − m)

    with m = maxₖ zₖ (subtracting it changes nothing but keeps every exponent ≤ 0).
    Fusing softmax and log gives a simple, stable derivative:

        dloss/dzᵢⱼ = (softmax(zᵢ)ⱼ − [j = yᵢ]) / N      (softmax − onehot, over N)

    ``labels`` (an option, not an input: it gets no gradient) holds integer class
    indices of shape (N,) or one-hot rows of shape (N, C).
    """

    @staticmethod
    def forward(ctx, logits, labels):
        labels = class_indices(logits, labels)
        # TODO Task 5.1: forward: the mean over the N rows of −log softmax(zᵢ)[yᵢ] for logits z
        #   (N, C) and class indices labels (N,), computed stably: log softmax(z)ⱼ = zⱼ − m − log Σₖ
        #   e^(zₖ − m), m = max z per row; return a 0-d array. backward: grad · (softmax(z) −
        #   onehot(y)) / N, shape (N, C).
        #   (stuck? make hint TASK=5.1)
        raise NotImplementedError("Task 5.1: Cross-entropy (loss/functions.py: CrossEntropy.forward) — forward: the mean over the N rows of −log softmax(zᵢ)[yᵢ] for logits z (N, C) and class indices labels (N,), computed stably: log softmax(z)ⱼ = zⱼ − m − log Σₖ e^(zₖ − m), m = max z per row; return a 0-d array. backward: grad · (softmax(z) − onehot(y)) / N, shape (N, C). Stuck? make hint TASK=5.1. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 5.1: forward: the mean over the N rows of −log softmax(zᵢ)[yᵢ] for logits z
        #   (N, C) and class indices labels (N,), computed stably: log softmax(z)ⱼ = zⱼ − m − log Σₖ
        #   e^(zₖ − m), m = max z per row; return a 0-d array. backward: grad · (softmax(z) −
        #   onehot(y)) / N, shape (N, C).
        #   (stuck? make hint TASK=5.1)
        raise NotImplementedError("Task 5.1: Cross-entropy (loss/functions.py: CrossEntropy.backward) — forward: the mean over the N rows of −log softmax(zᵢ)[yᵢ] for logits z (N, C) and class indices labels (N,), computed stably: log softmax(z)ⱼ = zⱼ − m − log Σₖ e^(zₖ − m), m = max z per row; return a 0-d array. backward: grad · (softmax(z) − onehot(y)) / N, shape (N, C). Stuck? make hint TASK=5.1. Check with: make check")


class MSE(Function):
    """Mean squared error over all n elements:

        mse = (1/n) Σ (pred − target)²
        dmse/dpred = 2 (pred − target) / n,   dmse/dtarget = −2 (pred − target) / n
    """

    @staticmethod
    def forward(ctx, pred, target):
        check_same_shape(pred, target)
        # TODO Task 5.2: forward: mse = (1/n) Σ (pred − target)² over all n elements, as a 0-d
        #   array. backward: ∂mse/∂pred = grad · 2 (pred − target) / n and ∂mse/∂target = its
        #   negative; return both.
        #   (stuck? make hint TASK=5.2)
        raise NotImplementedError("Task 5.2: Mean squared error (loss/functions.py: MSE.forward) — forward: mse = (1/n) Σ (pred − target)² over all n elements, as a 0-d array. backward: ∂mse/∂pred = grad · 2 (pred − target) / n and ∂mse/∂target = its negative; return both. Stuck? make hint TASK=5.2. Check with: make check")

    @staticmethod
    def backward(ctx, grad):
        # TODO Task 5.2: forward: mse = (1/n) Σ (pred − target)² over all n elements, as a 0-d
        #   array. backward: ∂mse/∂pred = grad · 2 (pred − target) / n and ∂mse/∂target = its
        #   negative; return both.
        #   (stuck? make hint TASK=5.2)
        raise NotImplementedError("Task 5.2: Mean squared error (loss/functions.py: MSE.backward) — forward: mse = (1/n) Σ (pred − target)² over all n elements, as a 0-d array. backward: ∂mse/∂pred = grad · 2 (pred − target) / n and ∂mse/∂target = its negative; return both. Stuck? make hint TASK=5.2. Check with: make check")


# --- checking the inputs -----------------------------------------------------------------
def class_indices(logits: np.ndarray, labels) -> np.ndarray:
    """The labels as integer class indices of shape (N,), after checking them against the logits.

    Integer labels must lie in 0 … C−1; float labels must be one-hot rows of shape (N, C).
    """
    if logits.dtype.kind != "f":
        raise TypeError(
            f"cross_entropy: logits must be floats (the raw scores of the model), got dtype {logits.dtype}"
        )
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(
            f"cross_entropy: logits must have shape (N, C) — N samples, C classes, both ≥ 1 — "
            f"got shape {logits.shape}"
        )
    n, c = logits.shape
    labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if labels.dtype.kind in "iu":
        if labels.shape != (n,):
            raise ValueError(
                f"cross_entropy: integer labels must have shape (N,) = ({n},), one class index per row "
                f"of the logits {logits.shape}, got shape {labels.shape}"
            )
        bad = (labels < 0) | (labels >= c)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"cross_entropy: label {labels[i]} (at position {i}) is out of range: "
                f"with C = {c} classes a label must be in 0 … {c - 1}"
            )
        return labels
    if labels.dtype.kind == "f":
        if labels.shape != (n, c):
            raise ValueError(
                f"cross_entropy: float labels must be one-hot rows of shape (N, C) = {(n, c)}, "
                f"got shape {labels.shape}; class indices must be integers "
                f"(e.g. labels.astype(np.int64))"
            )
        is_one_hot = np.isin(labels, (0, 1)).all(axis=1) & (labels.sum(axis=1) == 1)
        if not is_one_hot.all():
            row = int(np.argmin(is_one_hot))
            raise ValueError(
                f"cross_entropy: float labels must be one-hot (a single 1, the rest 0, in each row); "
                f"row {row} is {labels[row]}"
            )
        return labels.argmax(axis=1)
    raise TypeError(
        f"cross_entropy: labels must be integer class indices of shape (N,) or float one-hot rows "
        f"of shape (N, C), got dtype {labels.dtype}"
    )


def check_same_shape(pred: np.ndarray, target: np.ndarray) -> None:
    """mse compares element by element: broadcasting (N, 1) against (N,) would silently give (N, N)."""
    for name, array in (("pred", pred), ("target", target)):
        if array.dtype.kind != "f":
            raise TypeError(f"mse: {name} must be floats, got dtype {array.dtype}")
    if pred.shape != target.shape:
        raise ValueError(
            f"mse: pred has shape {pred.shape} but target has shape {target.shape}; they must be "
            f"equal (reshape one of them, e.g. target.reshape({pred.shape}))"
        )
    if pred.size == 0:
        raise ValueError("mse: pred and target are empty; there is nothing to average")


# --- what you call on tensors ----------------------------------------------------------------
def cross_entropy(logits: Tensor, labels) -> Tensor:
    """Mean softmax cross-entropy of ``logits`` (N, C) against ``labels`` (integers (N,) or one-hot (N, C))."""
    if not isinstance(logits, Tensor):
        logits = Tensor(as_float_array(logits, what="cross_entropy: logits"))
    return CrossEntropy.apply(logits, labels=labels)


def mse(pred: Tensor, target) -> Tensor:
    """Mean of (pred − target)² over all elements."""
    if not isinstance(pred, Tensor):
        pred = Tensor(as_float_array(pred, what="mse: pred"))
    if not isinstance(target, Tensor):
        target = Tensor(as_float_array(target, what="mse: target"), dtype=pred.dtype)
    return MSE.apply(pred, target)

"""loss — loss functions: ``cross_entropy(logits, labels)`` and ``mse(pred, target)``.

Each returns a one-element tensor; call ``.backward()`` on it.
"""

from . import functions
from .functions import cross_entropy, mse

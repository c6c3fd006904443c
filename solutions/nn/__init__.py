"""nn — a small autodiff framework on NumPy, built in the workshop.

``Tensor`` records the operations applied to it and ``backward()`` computes
gradients; ``Linear``, ``Sequential`` and the optimizers build on it.
"""

from . import functions
from .functions import Function, sum_to
from .graph import topological_order
from .tensor import Tensor, no_grad

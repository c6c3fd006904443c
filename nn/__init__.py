"""nn — a small autodiff framework on NumPy, built in the workshop.

``Tensor`` records the operations applied to it and ``backward()`` computes
gradients; ``Linear``, ``Conv2d``, ``MaxPool2d``, ``Flatten``, ``Dropout``,
``Sequential`` and the optimizers build on it.
"""

from . import functions, optim
from .functions import Function, sum_to
from .gradcheck import GradcheckError, central_difference, gradcheck
from .graph import topological_order
from .conv import Conv2d, conv2d
from .layers import Dropout, Flatten
from .linear import Linear, he_uniform, xavier_uniform
from .module import Module, Sequential
from .optim import SGD, Adam, Optimizer, RMSProp
from .pool import MaxPool2d
from .scalar import Scalar, ScalarFunction
from .tensor import Tensor, no_grad
from .data import load_mnist, batches

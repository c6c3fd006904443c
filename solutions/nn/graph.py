"""The one graph algorithm of the kit: order the nodes of a computational graph.

Both engines (``nn.Scalar`` and ``nn.Tensor``) backpropagate in the order
returned here. A node is anything with a ``parents()`` method that returns the
nodes it was computed from (an empty tuple for inputs and constants), hashed
by identity (Python's default), so that nodes can go into a set.
"""

from __future__ import annotations

from typing import Any


def topological_order(root: Any) -> list:
    """Every node that ``root`` depends on, each exactly once, parents before children.

    The last element is ``root`` itself. Backpropagation walks this list in
    reverse: a node's gradient is complete once every node computed from it has
    passed its gradient on.

    Iterative depth-first search (an explicit stack instead of recursion), so a
    chain of 100,000 operations does not hit Python's recursion limit.
    """
    ### BEGIN SOLUTION
    order: list = []
    visited: set = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)  # all of its parents are already in `order`
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for parent in node.parents():
            if parent not in visited:
                stack.append((parent, False))
    return order
    ### END SOLUTION

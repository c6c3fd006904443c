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
    # TODO Task 2.2: Return a list of every node that root depends on (root included), each exactly
    #   once, every node after all of its parents() and root last. No recursion: a graph may be
    #   100,000 nodes deep.
    #   (stuck? make hint TASK=2.2)
    raise NotImplementedError("Task 2.2: Topological order (nn/graph.py: topological_order) — Return a list of every node that root depends on (root included), each exactly once, every node after all of its parents() and root last. No recursion: a graph may be 100,000 nodes deep. Stuck? make hint TASK=2.2. Check with: make check")

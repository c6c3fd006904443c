"""Task 2.2: nn.topological_order on tiny hand-made graphs (nodes with parents(), nothing else)."""

from __future__ import annotations

import sys

import pytest

import nn

MAX_RECURSION_LIMIT = 10_000  # Python's default is 1,000; tools may raise it a little, never to this


class Node:
    """The least a graph node needs: a name and the nodes it was computed from."""

    def __init__(self, name: str, *parents: Node):
        self.name = name
        self._parents = parents

    def parents(self) -> tuple[Node, ...]:
        return self._parents

    def __repr__(self) -> str:
        return self.name


def names(order) -> list[str]:
    return [node.name for node in order]


def listed(order) -> str:
    """The names as the messages write the expected order: [a, b, c]."""
    return f"[{', '.join(names(order))}]"


def assert_parents_first(order, root) -> None:
    """Every node reachable from root appears once, after all of its parents, and root is last."""
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), f"a node appears more than once in {listed(order)}"
    assert order and order[-1] is root, f"the root {root.name} must come last, got the order {listed(order)}"
    for node in order:
        for parent in node.parents():
            assert id(parent) in position, f"{parent.name} (a parent of {node.name}) is missing from {listed(order)}"
            assert position[id(parent)] < position[id(node)], (
                f"{parent.name} must come before {node.name} (it is one of its parents), got the order {listed(order)}"
            )


@pytest.mark.task2_2
def test_a_single_node():
    a = Node("a")
    order = nn.topological_order(a)
    assert names(order) == ["a"], f"a node without parents: expected the order [a], got {listed(order)}"


@pytest.mark.task2_2
def test_a_chain():
    a = Node("a")
    b = Node("b", a)
    c = Node("c", b)
    order = nn.topological_order(c)
    assert names(order) == ["a", "b", "c"], f"the chain a → b → c: expected the order [a, b, c], got {listed(order)}"


@pytest.mark.task2_2
def test_a_diamond_lists_the_shared_node_once():
    a = Node("a")
    b = Node("b", a)
    c = Node("c", a)
    d = Node("d", b, c)  # a → b → d and a → c → d
    order = nn.topological_order(d)
    assert len(order) == 4, f"the diamond a → (b, c) → d has 4 nodes, each listed once; got {listed(order)}"
    assert_parents_first(order, d)


@pytest.mark.task2_2
def test_a_node_used_twice_by_the_same_child_appears_once():
    a = Node("a")
    b = Node("b", a, a)  # b = a + a
    c = Node("c", b, b)  # c = b + b
    order = nn.topological_order(c)
    assert names(order) == ["a", "b", "c"], f"b = a + a; c = b + b: expected the order [a, b, c], got {listed(order)}"


@pytest.mark.task2_2
def test_a_larger_graph_with_shared_nodes():
    x, y, w = Node("x"), Node("y"), Node("w")
    p = Node("p", x, w)
    q = Node("q", p, y)
    r = Node("r", p, q, x)
    s = Node("s", r, q, w)
    unused = Node("unused", x)  # not reachable from s: must not appear
    order = nn.topological_order(s)
    assert sorted(names(order)) == sorted(["x", "y", "w", "p", "q", "r", "s"]), (
        f"expected exactly the 7 nodes s depends on (not 'unused', computed from x but not used by s), "
        f"got {listed(order)}"
    )
    assert_parents_first(order, s)
    assert unused not in order


@pytest.mark.task2_2
@pytest.mark.when_too_slow(
    "Or too slow: this test orders a chain of 100,000 nodes. Looking a node up in a list (node in visited) "
    "reads the whole list each time, about 5 billion steps here; a set finds it at once.")
def test_a_100000_node_chain_needs_no_recursion():
    first = node = Node("n0")
    for i in range(1, 100_000):
        node = Node(f"n{i}", node)
    limit = sys.getrecursionlimit()
    try:
        order = nn.topological_order(node)
    except RecursionError:
        pytest.fail("topological_order of a chain of 100,000 nodes raised RecursionError: a recursive "
                    "depth-first search goes 100,000 calls deep, beyond Python's limit (about 1,000). "
                    "Keep the nodes still to visit in a list (an explicit stack) and loop instead of recursing")
    finally:
        raised, _ = sys.getrecursionlimit(), sys.setrecursionlimit(min(limit, MAX_RECURSION_LIMIT))
    assert raised <= MAX_RECURSION_LIMIT, (
        f"Python's recursion limit was raised to {raised:,} (sys.setrecursionlimit): that lets a recursive "
        "search pass here, but a deep enough graph then crashes Python itself. Keep the nodes still to visit "
        "in a list (an explicit stack) and loop instead of recursing")
    assert len(order) == 100_000 and order[0] is first and order[-1] is node, (
        f"a chain of 100,000 nodes: expected all of them, first n0 and last the root; got {len(order)} "
        f"nodes, from {order[0].name if order else None} to {order[-1].name if order else None}"
    )

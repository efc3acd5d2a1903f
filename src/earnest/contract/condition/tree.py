"""The syntax tree. Nodes are immutable and know their size, depth and deepest leaf.

Size and depth are computed as each node is built, bottom-up, so that bounds are checked
without recursion, before anything walks the tree recursively. ``AND`` inside ``AND`` (and
``OR`` inside ``OR``) is flattened when built: grouping does not change their meaning, so
``a AND (b AND c)`` and ``(a AND b) AND c`` are the same tree, the same canonical text and
the same explanation items.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeAlias

from earnest.contract.condition.base import Value

Loc: TypeAlias = tuple[int, int]
"""Where a node starts: (item index, character offset within that item's text)."""


class Node:
    __slots__ = ("deep_loc", "depth", "loc", "size")

    def __init__(self, loc: Loc, children: Sequence[Node]) -> None:
        self.loc = loc
        self.size: int = 1 + sum(child.size for child in children)
        if children:
            deepest = max(children, key=lambda child: child.depth)  # the first, in source order
            self.depth: int = deepest.depth + 1
            self.deep_loc: Loc = deepest.deep_loc
        else:
            self.depth = 1
            self.deep_loc = loc

    def children(self) -> tuple[Node, ...]:
        return ()


class Name(Node):
    __slots__ = ("name",)

    def __init__(self, loc: Loc, name: str) -> None:
        super().__init__(loc, ())
        self.name = name


class Literal(Node):
    __slots__ = ("value",)

    def __init__(self, loc: Loc, value: Value) -> None:
        super().__init__(loc, ())
        self.value = value


class Not(Node):
    __slots__ = ("operand",)

    def __init__(self, loc: Loc, operand: Node) -> None:
        super().__init__(loc, (operand,))
        self.operand = operand

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


class And(Node):
    __slots__ = ("items",)

    def __init__(self, loc: Loc, items: Sequence[Node]) -> None:
        flat = tuple(part for item in items for part in _spliced(item, And))
        super().__init__(loc, flat)
        self.items = flat

    def children(self) -> tuple[Node, ...]:
        return self.items


class Or(Node):
    __slots__ = ("items",)

    def __init__(self, loc: Loc, items: Sequence[Node]) -> None:
        flat = tuple(part for item in items for part in _spliced(item, Or))
        super().__init__(loc, flat)
        self.items = flat

    def children(self) -> tuple[Node, ...]:
        return self.items


class Compare(Node):
    """``left op right``; ``op`` is one of ``== != > >= < <=`` (``=`` is read as ``==``)."""

    __slots__ = ("left", "op", "right")

    def __init__(self, loc: Loc, op: str, left: Node, right: Node) -> None:
        super().__init__(loc, (left, right))
        self.op = op
        self.left = left
        self.right = right

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


class In(Node):
    __slots__ = ("operand", "options")

    def __init__(self, loc: Loc, operand: Node, options: Sequence[Literal]) -> None:
        super().__init__(loc, (operand, *options))
        self.operand = operand
        self.options = tuple(options)

    def children(self) -> tuple[Node, ...]:
        return (self.operand, *self.options)


def _spliced(node: Node, kind: type[And] | type[Or]) -> tuple[Node, ...]:
    return node.items if isinstance(node, kind) else (node,)


def conjunction(items: Sequence[Node]) -> Node:
    """The AND of ``items`` (flattened); a single item is itself."""
    return items[0] if len(items) == 1 else And(items[0].loc, items)


def walk(node: Node) -> Iterator[Node]:
    """Every node, depth first, left to right (the order they are written in)."""
    yield node
    for child in node.children():
        yield from walk(child)


def names_in_order(node: Node) -> list[str]:
    """The distinct signal names under ``node``, in the order they first appear."""
    return list(dict.fromkeys(n.name for n in walk(node) if isinstance(n, Name)))


BOOLEAN_NODES = (Not, And, Or, Compare, In)
"""Nodes whose value is always true or false (as a comparison's operand, too)."""

"""Why a check gave its verdict, in one line of text and as a JSON tree.

The text lists the top-level AND items (nested ANDs and list items flattened), each with the
values of its names and its closed-world mark, then the verdict:

    completed = true ✓ · score > 3: score = 2 ✗ · NOT disputed: disputed unseen ✓ → failed

A comparison that is false because of its operands' types says so after the mark. Everything
is derived from the tree and the values alone, so the same check always explains the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from earnest.contract.condition.base import Value, Verdict
from earnest.contract.condition.evaluate import ORDERING, compare_values, member
from earnest.contract.condition.render import canonical, typed_json, value_text
from earnest.contract.condition.tree import (
    And,
    Compare,
    In,
    Literal,
    Name,
    Node,
    Not,
    Or,
    names_in_order,
    walk,
)

_KINDS = {bool: "boolean", Decimal: "number", str: "string"}
_NODE_KINDS = {Name: "name", Literal: "literal", Not: "not", And: "and", Or: "or"}
_NODE_KINDS.update({Compare: "compare", In: "in"})


@dataclass(frozen=True, slots=True, eq=False)
class Explanation:
    verdict: Verdict
    _root: Node
    _values: Mapping[str, Value]

    def text(self) -> str:
        root = self._root
        items = root.items if isinstance(root, And) else (root,)
        return " · ".join(self._item(item) for item in items) + f" → {self.verdict.value}"

    def to_json(self) -> dict[str, Any]:
        """``{"verdict", "text", "tree", "names"}``. Every node has ``kind``, ``text`` (its
        canonical form) and ``value`` (closed world, typed: ``{"type": "number", "value":
        "2"}``, ``{"type": "unseen", "value": null}``); see docs/decisions/0003."""
        return {
            "verdict": self.verdict.value,
            "text": self.text(),
            "tree": self._node_json(self._root),
            "names": [
                {"name": name, **typed_json(self._values.get(name))}
                for name in names_in_order(self._root)
            ],
        }

    def _item(self, item: Node) -> str:
        mark = "✓" if _truthy(self._value(item)) else "✗"
        if isinstance(item, Name):
            return f"{self._shown(item.name, ' = ')} {mark}"
        shown = ", ".join(self._shown(name, " = ") for name in names_in_order(item))
        notes = list(dict.fromkeys(n for node in walk(item) if (n := self._note(node))))
        text = f"{canonical(item)}: {shown} {mark}" if shown else f"{canonical(item)} {mark}"
        return f"{text} ({'; '.join(notes)})" if notes else text

    def _shown(self, name: str, equals: str) -> str:
        value = self._values.get(name)
        return f"{name} unseen" if value is None else f"{name}{equals}{value_text(value)}"

    def _value(self, node: Node) -> Value | None:
        """Closed-world value: a name's value (None if unseen), a literal, or a bool."""
        if isinstance(node, Name):
            return self._values.get(node.name)
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Not):
            return not _truthy(self._value(node.operand))
        if isinstance(node, And):
            return all(_truthy(self._value(item)) for item in node.items)
        if isinstance(node, Or):
            return any(_truthy(self._value(item)) for item in node.items)
        if isinstance(node, Compare):
            return compare_values(node.op, self._value(node.left), self._value(node.right))
        assert isinstance(node, In)
        return member(self._value(node.operand), [option.value for option in node.options])

    def _note(self, node: Node) -> str | None:
        """Why a comparison between present values is false regardless of their values."""
        if isinstance(node, Compare):
            left, right = self._value(node.left), self._value(node.right)
            if left is None or right is None:
                return None
            if left.__class__ is not right.__class__:
                first, second = sorted((_kind(left), _kind(right)))  # the same either way round
                return f"a {first} cannot be compared with a {second}"
            if node.op in ORDERING and not isinstance(left, Decimal):
                return f"{_kind(left)}s cannot be ordered"
        if isinstance(node, In):
            x = self._value(node.operand)
            kinds = list(dict.fromkeys(_kind(option.value) for option in node.options))
            if x is not None and _kind(x) not in kinds:
                return f"a {_kind(x)} cannot be compared with {' or '.join(k + 's' for k in kinds)}"
        return None

    def _node_json(self, node: Node) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": _NODE_KINDS[type(node)],
            "text": canonical(node),
            "value": typed_json(self._value(node)),
        }
        if isinstance(node, Name):
            out["name"] = node.name
        if isinstance(node, Compare):
            out["op"] = node.op
        if note := self._note(node):
            out["note"] = note
        if children := node.children():
            out["children"] = [self._node_json(child) for child in children]
        return out


def _truthy(value: Value | None) -> bool:
    return bool(value)


def _kind(value: Value) -> str:
    return _KINDS[value.__class__]

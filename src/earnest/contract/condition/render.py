"""Canonical text, and values as the explanation shows them.

Canonical form (docs/decisions/0003): keywords upper case (``AND OR NOT IN``), literals
``true``/``false`` lower case, ``==`` for equality, strings double-quoted with ``\\`` and ``\"``
escaped, numbers in plain decimal notation without redundant zeros, single spaces, and only the
parentheses the grammar needs. Parsing the canonical text gives back the same tree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from earnest.contract.condition.base import Value
from earnest.contract.condition.tree import And, Compare, In, Literal, Name, Node, Not, Or

# Binding strength: a child binding more loosely than its place needs parentheses. (AND in
# AND and OR in OR never occur: they are flattened.)
_OR, _AND, _NOT, _COMPARE, _ATOM = 1, 2, 3, 4, 5


def _strength(node: Node) -> int:
    if isinstance(node, Or):
        return _OR
    if isinstance(node, And):
        return _AND
    if isinstance(node, Not):
        return _NOT
    if isinstance(node, Compare | In):
        return _COMPARE
    return _ATOM


def canonical(node: Node) -> str:
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Literal):
        return literal_text(node.value)
    if isinstance(node, Not):
        return "NOT " + _wrapped(node.operand, _NOT)
    if isinstance(node, And):
        return " AND ".join(_wrapped(item, _AND) for item in node.items)
    if isinstance(node, Or):
        return " OR ".join(_wrapped(item, _OR) for item in node.items)
    if isinstance(node, Compare):
        return f"{_wrapped(node.left, _ATOM)} {node.op} {_wrapped(node.right, _ATOM)}"
    if isinstance(node, In):
        options = ", ".join(literal_text(option.value) for option in node.options)
        return f"{_wrapped(node.operand, _ATOM)} IN [{options}]"
    raise AssertionError(f"unknown node {node!r}")


def _wrapped(node: Node, needed: int) -> str:
    text = canonical(node)
    return f"({text})" if _strength(node) < needed else text


def literal_text(value: Value) -> str:
    """A literal as the grammar reads it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return number_text(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number_text(number: Decimal) -> str:
    """Plain decimal notation, exact, with no redundant zeros: 4.0 → 4, -0 → 0, 1E+2 → 100.

    ``format(_, "f")`` is exact (no context rounding), unlike ``normalize()``.
    """
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def value_text(value: Value) -> str:
    """A signal's value on one line: true, 2, "gold" (control characters escaped)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _shown_number(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(_escaped_control(ch) for ch in escaped) + '"'


def _shown_number(number: Decimal) -> str:
    # As sent (4.0 stays 4.0), in plain notation unless that would be absurdly long.
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -64 <= exponent <= 64:
        return format(number, "f")
    return str(number)


def _escaped_control(ch: str) -> str:
    if ch.isprintable():
        return ch
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\u{ord(ch):04x}")


def typed_json(value: Value | None) -> dict[str, Any]:
    """A value for JSON with its type, so that the number 4 and the string "4" differ and no
    number ever passes through a float: {"type": "number", "value": "4"}."""
    if value is None:
        return {"type": "unseen", "value": None}
    if isinstance(value, bool):
        return {"type": "boolean", "value": value}
    if isinstance(value, Decimal):
        return {"type": "number", "value": _shown_number(value)}
    return {"type": "string", "value": value}

"""Trees compiled to closures, in two logics.

*Closed world* (``truth``): an unseen name is absent. A bare absent name is false and every
comparison with it is false. This decides **met**.

*Kleene* (``kleene``): an unseen name is ``UNKNOWN``: it might still take any value, or stay
absent. Results are ``True``, ``False`` or ``None`` (unknown). Comparisons with an unknown side
are exact about their own satisfiability (``x > "a"`` is ``False`` whatever x becomes), so
for an expression where each unknown name occurs once, ``False`` means exactly **failed**.

Environments map names to values; a name mapped to ``None`` is absent in both logics (the
enumeration in ``exhaust`` uses that to try "stays unseen" as a value).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeAlias

from earnest.contract.condition.base import Value
from earnest.contract.condition.tree import And, Compare, In, Literal, Name, Node, Not, Or

Env: TypeAlias = Mapping[str, Value | None]
Truth: TypeAlias = Callable[[Env], bool]
Tri: TypeAlias = bool | None
Kleene: TypeAlias = Callable[[Env], Tri]


class _Unknown:
    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return self.kind


UNKNOWN: Any = _Unknown("UNKNOWN")  # an unseen name: any value, or absent
UNKNOWN_BOOL: Any = _Unknown("UNKNOWN_BOOL")  # a sub-expression: true or false, not yet known

ORDERING = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
FLIPPED = {"==": "==", "!=": "!=", ">": "<", ">=": "<=", "<": ">", "<=": ">="}
TYPES = frozenset({bool, Decimal, str})


def compare_values(op: str, left: Value | None, right: Value | None) -> bool:
    """The reference semantics of one comparison (``None`` is absent)."""
    if left is None or right is None or left.__class__ is not right.__class__:
        return False  # absent, or of different types: false for every operator, even !=
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    return isinstance(left, Decimal) and bool(ORDERING[op](left, right))


def member(value: Value | None, options: Sequence[Value]) -> bool:
    return any(compare_values("==", value, option) for option in options)


# ---- closed world ------------------------------------------------------------------------


def truth(node: Node) -> Truth:
    if isinstance(node, Name):
        name = node.name
        return lambda env: bool(env.get(name))
    if isinstance(node, Literal):
        constant = bool(node.value)
        return lambda env: constant
    if isinstance(node, Not):
        inner = truth(node.operand)
        return lambda env: not inner(env)
    if isinstance(node, And | Or):
        return _joined([truth(item) for item in node.items], isinstance(node, And))
    if isinstance(node, Compare):
        return _compare(node)
    assert isinstance(node, In)
    get = value(node.operand)
    options = _options(node)
    return lambda env: _member(get(env), options)


def value(node: Node) -> Callable[[Env], Value | None]:
    """A comparison operand's value: a name's value, a literal, or a sub-expression's bool."""
    if isinstance(node, Name):
        name = node.name
        return lambda env: env.get(name)
    if isinstance(node, Literal):
        constant = node.value
        return lambda env: constant
    return truth(node)


def _joined(parts: list[Truth], conjunctive: bool) -> Truth:
    # Unrolled for the common sizes: this is the hot path of every check.
    if len(parts) == 2:
        a, b = parts
        return (lambda env: a(env) and b(env)) if conjunctive else (lambda env: a(env) or b(env))
    if len(parts) == 3:
        a, b, c = parts
        if conjunctive:
            return lambda env: a(env) and b(env) and c(env)
        return lambda env: a(env) or b(env) or c(env)
    if conjunctive:
        return lambda env: all(part(env) for part in parts)
    return lambda env: any(part(env) for part in parts)


def _compare(node: Compare) -> Truth:
    left, right, op = node.left, node.right, node.op
    if isinstance(left, Literal) and isinstance(right, Name):
        left, right, op = right, left, FLIPPED[op]
    if isinstance(left, Name) and isinstance(right, Literal):
        name, test = left.name, literal_test(op, right.value)
        return lambda env: test(env.get(name))
    get_left, get_right = value(left), value(right)
    return lambda env: compare_values(op, get_left(env), get_right(env))


def literal_test(op: str, constant: Value) -> Callable[[Value | None], bool]:
    """``x op constant`` as a function of x, specialised by the constant's type."""
    if isinstance(constant, Decimal):
        compare = {"==": operator.eq, "!=": operator.ne, **ORDERING}[op]
        return lambda x: x.__class__ is Decimal and compare(x, constant)
    if op == "==":
        return lambda x: x.__class__ is constant.__class__ and x == constant
    if op == "!=":
        return lambda x: x.__class__ is constant.__class__ and x != constant
    return lambda x: False  # strings and booleans have no order


_Options: TypeAlias = dict[type, frozenset[Value]]


def _options(node: In) -> _Options:
    by_type: dict[type, set[Value]] = {}
    for option in node.options:
        by_type.setdefault(option.value.__class__, set()).add(option.value)
    return {kind: frozenset(values) for kind, values in by_type.items()}


def _member(x: Value | None, options: _Options) -> bool:
    # Looked up by exact type first: True == Decimal(1) in Python, but not here.
    same = options.get(x.__class__)
    return same is not None and x in same


# ---- Kleene ------------------------------------------------------------------------------


def kleene(node: Node) -> Kleene:
    if isinstance(node, Name):
        name = node.name

        def bare(env: Env) -> Tri:
            x = env.get(name, UNKNOWN)
            return None if x is UNKNOWN else bool(x)

        return bare
    if isinstance(node, Literal):
        constant = bool(node.value)
        return lambda env: constant
    if isinstance(node, Not):
        inner = kleene(node.operand)

        def negated(env: Env) -> Tri:
            t = inner(env)
            return None if t is None else not t

        return negated
    if isinstance(node, And | Or):
        return _kleene_joined([kleene(item) for item in node.items], isinstance(node, And))
    if isinstance(node, Compare):
        return _kleene_compare(node)
    assert isinstance(node, In)
    return _kleene_in(node)


def _kleene_joined(parts: list[Kleene], conjunctive: bool) -> Kleene:
    decisive = not conjunctive  # False decides an AND, True decides an OR

    def joined(env: Env) -> Tri:
        result: Tri = conjunctive
        for part in parts:
            t = part(env)
            if t is decisive:
                return decisive
            if t is None:
                result = None
        return result

    return joined


def kleene_value(node: Node) -> Callable[[Env], Any]:
    if isinstance(node, Name):
        name = node.name
        return lambda env: env.get(name, UNKNOWN)
    if isinstance(node, Literal):
        constant = node.value
        return lambda env: constant
    inner = kleene(node)

    def boolean(env: Env) -> Any:
        t = inner(env)
        return UNKNOWN_BOOL if t is None else t

    return boolean


def _kleene_compare(node: Compare) -> Kleene:
    left, right, op = node.left, node.right, node.op
    if isinstance(left, Literal) and isinstance(right, Name):
        left, right, op = right, left, FLIPPED[op]
    if isinstance(left, Name) and isinstance(right, Literal):
        name, test = left.name, literal_test(op, right.value)
        open_result = possible(op, UNKNOWN, right.value)

        def against_literal(env: Env) -> Tri:
            x = env.get(name, UNKNOWN)
            return open_result if x is UNKNOWN else test(x)

        return against_literal
    get_left, get_right = kleene_value(left), kleene_value(right)

    def compared(env: Env) -> Tri:
        a, b = get_left(env), get_right(env)
        if a is UNKNOWN or b is UNKNOWN or a is UNKNOWN_BOOL or b is UNKNOWN_BOOL:
            return possible(op, a, b)
        return compare_values(op, a, b)

    return compared


def _types(x: Any) -> frozenset[type]:
    if x is UNKNOWN:
        return TYPES
    if x is UNKNOWN_BOOL:
        return frozenset({bool})
    return frozenset({x.__class__})


def possible(op: str, a: Any, b: Any) -> Tri:
    """A comparison with an unknown side: ``None`` if it can still be true, else ``False``.

    It can always still be false: an unknown name can stay absent, and an unknown
    sub-expression can take the other boolean. A comparison needs both sides of one type,
    and order needs numbers."""
    if a is None or b is None:
        return False
    common = _types(a) & _types(b)
    if op in ORDERING:
        return None if Decimal in common else False
    return None if common else False


def _kleene_in(node: In) -> Kleene:
    get = kleene_value(node.operand)
    options = _options(node)
    booleans = options.get(bool, frozenset())
    # A sub-expression is true or false: a list holding both always matches it.
    boolean_result: Tri = None if len(booleans) == 1 else len(booleans) == 2

    def contained(env: Env) -> Tri:
        x = get(env)
        if x is UNKNOWN:
            return None  # it may take the first option, or stay absent
        if x is UNKNOWN_BOOL:
            return boolean_result
        return _member(x, options)

    return contained

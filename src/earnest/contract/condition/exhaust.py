"""Exact **failed** when Kleene logic is not enough (docs/decisions/0003).

Kleene logic is exact while each unknown name occurs once. A name that occurs more than once
can correlate its occurrences (``x AND NOT x``, ``score > 3 AND score < 2``), so those names
are *enumerated*: each takes, in turn, one value from every class of values the expression
can tell apart, and the rest is evaluated with Kleene logic. The expression is failed when no
combination leaves it possibly true.

The classes for a name (its *domain*): absent; the types its comparisons can see (a type no
comparison can see collapses to one truthy value, since all it can change is truthiness); for
booleans, true and false; for numbers, each constant it may be compared with (and 0) plus, in
each gap between constants and beyond them, as many points as there are enumerated names
compared with each other (so that every order among them is possible); for strings, each
constant, the empty string, and as many unrelated strings as names compared with each other.
Constants are the literals compared with the name and the values of seen names compared with
it, shared across names compared with each other.

The search is depth first and prunes: after each assignment, Kleene logic with the names not yet
assigned still unknown can already say False for the whole branch. Work is bounded by
MAX_ENUMERATION evaluations. Past it the answer is Kleene's, which is sound: it can say
undecided where the exact answer is failed, never failed where it is not.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, DecimalException

from earnest.contract.condition.base import MAX_ENUMERATION, Value, Verdict
from earnest.contract.condition.evaluate import TYPES, Kleene
from earnest.contract.condition.tree import BOOLEAN_NODES, Compare, In, Literal, Name, Node, walk

MAX_PRECISION = 4096  # digits for points between constants; beyond, give up (soundly)


@dataclass
class Use:
    """How one name is compared: with which literals, which names, and with a boolean."""

    literals: list[Value] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    with_boolean: bool = False


def uses(root: Node) -> dict[str, Use]:
    found: dict[str, Use] = {}
    for node in walk(root):
        if isinstance(node, Name):
            found.setdefault(node.name, Use())
        if isinstance(node, Compare):
            _note(found, node.left, node.right)
            _note(found, node.right, node.left)
        elif isinstance(node, In) and isinstance(node.operand, Name):
            use = found.setdefault(node.operand.name, Use())
            use.literals += [option.value for option in node.options]
    return found


def _note(found: dict[str, Use], side: Node, other: Node) -> None:
    if not isinstance(side, Name):
        return
    use = found.setdefault(side.name, Use())
    if isinstance(other, Literal):
        use.literals.append(other.value)
    elif isinstance(other, Name):
        use.names.add(other.name)
    elif isinstance(other, BOOLEAN_NODES):
        use.with_boolean = True


def repeated(root: Node) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for node in walk(root):
        if isinstance(node, Name):
            counts[node.name] = counts.get(node.name, 0) + 1
    return tuple(name for name, count in counts.items() if count > 1)


def exhaust(
    kleene: Kleene, names: Mapping[str, Use], enumerated: Sequence[str], values: Mapping[str, Value]
) -> Verdict:
    """FAILED if no assignment of the enumerated names leaves the expression possibly true,
    else UNDECIDED (also when the search gives up). The caller has already ruled out met."""
    found = search(kleene, names, enumerated, values)
    return Verdict.FAILED if found is False else Verdict.UNDECIDED


def search(
    kleene: Kleene, names: Mapping[str, Use], enumerated: Sequence[str], values: Mapping[str, Value]
) -> bool | None:
    """Whether some assignment leaves the expression possibly true; None if it gave up.

    Depth first, one name at a time, evaluating with Kleene logic after each assignment while
    the names not yet assigned stay unknown: a False there is False for every completion, so
    the whole branch is skipped. Bounded by MAX_ENUMERATION evaluations."""
    domains = plan(names, enumerated, values)
    if domains is None:
        return None
    env: dict[str, Value | None] = dict(values)
    budget = MAX_ENUMERATION

    def deeper(level: int) -> bool | None:
        nonlocal budget
        name = enumerated[level]
        for value in domains[level]:
            budget -= 1
            if budget < 0:
                return None
            env[name] = value
            result = kleene(env)
            if result is False:
                continue
            if result is True or level + 1 == len(enumerated):
                return True  # the names left unknown occur once: Kleene is exact for them
            found = deeper(level + 1)
            if found is not False:
                return found
        del env[name]  # unknown again for the next value one level up
        return False

    return deeper(0)


def plan(
    names: Mapping[str, Use], enumerated: Sequence[str], values: Mapping[str, Value]
) -> list[list[Value | None]] | None:
    """Each enumerated name's domain, or None if the numbers defeat exact arithmetic."""
    groups = _groups(names, enumerated)
    domains: list[list[Value | None]] = []
    for name in enumerated:
        group = groups[name]
        constants = [c for member in group for c in _constants(names[member], values)]
        kinds = _kinds(names[name], values)
        numbers = _numbers(constants, len(group)) if Decimal in kinds else []
        if numbers is None:
            return None
        domains.append(_domain(kinds, numbers, _strings(constants, len(group))))
    return domains


def _groups(names: Mapping[str, Use], enumerated: Sequence[str]) -> dict[str, list[str]]:
    """Enumerated names joined by comparisons with each other (connected components)."""
    chosen = set(enumerated)
    groups: dict[str, list[str]] = {}
    for start in enumerated:
        if start in groups:
            continue
        group, todo = [start], [start]
        while todo:
            for other in sorted(names[todo.pop()].names & chosen):
                if other not in group:
                    group.append(other)
                    todo.append(other)
        for member in group:
            groups[member] = group
    return groups


def _constants(use: Use, values: Mapping[str, Value]) -> Iterable[Value]:
    yield from use.literals
    yield from (values[other] for other in sorted(use.names) if other in values)


def _kinds(use: Use, values: Mapping[str, Value]) -> set[type]:
    kinds = {literal.__class__ for literal in use.literals}
    if use.with_boolean:
        kinds.add(bool)
    for other in use.names:
        if other in values:
            kinds.add(values[other].__class__)
        else:  # an unseen name: of any type, now or later
            kinds |= TYPES
    return kinds


_TRUTHY: dict[type, Value] = {bool: True, Decimal: Decimal(1), str: "~"}


def _domain(kinds: set[type], numbers: list[Decimal], strings: list[str]) -> list[Value | None]:
    domain: list[Value | None] = [None]  # absent: stays unseen
    if bool in kinds:
        domain += [True, False]
    if Decimal in kinds:
        domain += numbers
    if str in kinds:
        domain += strings
    if kinds != TYPES:  # a type no comparison sees: only its truthiness matters
        unseen_type = next(kind for kind in (bool, Decimal, str) if kind not in kinds)
        domain.append(_TRUTHY[unseen_type])
    return domain


def _strings(constants: list[Value], width: int) -> list[str]:
    known = list(dict.fromkeys([c for c in constants if isinstance(c, str)] + [""]))
    fresh = (f"~{i}" for i in itertools.count())
    return known + list(itertools.islice((s for s in fresh if s not in known), width))


def _numbers(constants: list[Value], width: int) -> list[Decimal] | None:
    """The constants, 0, and ``width`` points in every gap and beyond both ends."""
    points = sorted({c for c in constants if isinstance(c, Decimal)} | {Decimal(0)})
    exponents = [p.as_tuple().exponent for p in points]
    highest = max(p.adjusted() for p in points)
    lowest = min(e for e in exponents if isinstance(e, int))
    precision = max(highest, 0) - min(lowest, 0) + 12
    if precision > MAX_PRECISION:
        return None
    ctx = Context(prec=precision)
    try:
        found = [ctx.subtract(points[0], i) for i in range(width, 0, -1)]
        for low, high in itertools.pairwise(points):
            step = ctx.divide(ctx.subtract(high, low), width + 1)
            found += [low] + [ctx.add(low, ctx.multiply(step, i)) for i in range(1, width + 1)]
        found += [points[-1]] + [ctx.add(points[-1], i) for i in range(1, width + 1)]
    except DecimalException:
        return None
    if any(a >= b for a, b in itertools.pairwise(found)):
        return None  # rounding met a constant: give up rather than be wrong
    return found

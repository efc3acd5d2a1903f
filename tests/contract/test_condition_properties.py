"""Properties of the condition language over random expressions and random partial values.

The expressions are built here as small trees, rendered to text with random formatting, and
compiled. They are checked against a closed-world evaluator and a brute-force "failed" written
independently here: every unseen name tries every value of a domain that covers every
distinction the expression can make, with no shortcut (no Kleene logic, no classes).
"""

from __future__ import annotations

import itertools
import random
from decimal import Decimal
from typing import Any, TypeAlias

from hypothesis import given, settings
from hypothesis import strategies as st

from earnest.contract.condition import Value, Verdict, compile_condition
from earnest.contract.condition.exhaust import search

D = Decimal
Tree: TypeAlias = tuple[Any, ...]
NAMES = ("a", "b", "c")
NUMBERS = (D(-1), D(0), D("2.5"), D(3))  # at least 0.5 apart: see _domain
STRINGS = ("", "x", 'q"')
LITERALS: tuple[Value, ...] = (True, False, *NUMBERS, *STRINGS)
VALUES: tuple[Value, ...] = (*LITERALS, D("0.5"), D("2.50"), D(7), "zz")
OPS = ("==", "!=", ">", ">=", "<", "<=")

literals = st.sampled_from(LITERALS)
KINDS = ("not", "and", "or", "cmp", "in")


@st.composite
def sized_trees(draw: st.DrawFn, names: tuple[str, ...], max_leaves: int) -> Tree:
    """A tree with a drawn number of leaves, split at random: every node kind, every operand
    any sub-tree (compound operands are parenthesised when rendered)."""
    leaf = st.one_of(st.sampled_from(names).map(lambda n: ("name", n)), literals.map(_lit))
    leaf = st.one_of(st.sampled_from(names).map(lambda n: ("name", n)), leaf)  # names: 3 in 4

    def grow(leaves: int, wrappers: int) -> Tree:
        kinds: tuple[str, ...] = KINDS if wrappers else KINDS[1:4]
        kinds = kinds if leaves > 1 else tuple(k for k in kinds if k in ("not", "in"))
        if not kinds or (leaves == 1 and draw(st.integers(0, 3)) > 0):  # a leaf, 3 in 4
            return draw(leaf)
        kind = draw(st.sampled_from(kinds))
        if kind == "not":
            return ("not", grow(leaves, wrappers - 1))
        if kind == "in":
            return (
                "in",
                grow(leaves, wrappers - 1),
                draw(st.lists(literals, min_size=1, max_size=2)),
            )
        left = draw(st.integers(1, leaves - 1))
        if kind == "cmp":
            op = draw(st.sampled_from(OPS))
            return ("cmp", op, grow(left, wrappers), grow(leaves - left, wrappers))
        return (kind, grow(left, wrappers), grow(leaves - left, wrappers))

    return grow(draw(st.integers(1, max_leaves)), 2)


def _lit(value: Value) -> Tree:
    return ("lit", value)


# Five leaves over three names keep every enumeration inside MAX_ENUMERATION (asserted below).
trees = sized_trees(NAMES, 5)
partial_values = st.dictionaries(st.sampled_from(NAMES), st.sampled_from(VALUES), max_size=3)
# Two names over more leaves: the same name recurs, so "failed" needs the enumeration.
tangled = sized_trees(NAMES[:2], 7)
TANGLED_EXAMPLES = 1500


# ---- rendering with random formatting ----------------------------------------------------


def render(tree: Tree, rnd: random.Random) -> str:
    """Fully parenthesised, with random aliases, keyword case, quotes and number forms."""
    kind = tree[0]
    if kind == "name":
        return str(tree[1])
    if kind == "lit":
        return _literal(tree[1], rnd)
    if kind == "not":
        return rnd.choice(["NOT ", "not ", "!", "! "]) + _group(tree[1], rnd)
    if kind in ("and", "or"):
        word = rnd.choice({"and": ["AND", "and", "&&"], "or": ["OR", "Or", "||"]}[kind])
        return f"{_group(tree[1], rnd)} {word} {_group(tree[2], rnd)}"
    if kind == "cmp":
        op = "=" if tree[1] == "==" and rnd.random() < 0.5 else tree[1]
        space = rnd.choice(["", " ", "\n  "])
        return f"{_group(tree[2], rnd)}{space}{op}{space}{_group(tree[3], rnd)}"
    options = ", ".join(_literal(v, rnd) for v in tree[2])
    return f"{_group(tree[1], rnd)} {rnd.choice(['IN', 'in'])} [{options}]"


def _group(tree: Tree, rnd: random.Random) -> str:
    text = render(tree, rnd)
    return text if tree[0] in ("name", "lit") else f"({text})"


def _literal(value: Value, rnd: random.Random) -> str:
    if isinstance(value, bool):
        return rnd.choice(["true", "TRUE", "True"] if value else ["false", "FALSE", "False"])
    if isinstance(value, Decimal):
        text = format(value, "f")
        if rnd.random() < 0.3:
            text = text.replace("-", "-0") if text.startswith("-") else "0" + text
        return text + (".0" if "." not in text and rnd.random() < 0.3 else "")
    if rnd.random() < 0.5:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# ---- the reference semantics, written independently -----------------------------------


def evaluate(tree: Tree, env: dict[str, Value]) -> Value | None:
    """Closed world: a missing name is absent (None)."""
    kind = tree[0]
    if kind == "name":
        return env.get(tree[1])
    if kind == "lit":
        return tree[1]  # type: ignore[no-any-return]
    if kind == "not":
        return not truthy(evaluate(tree[1], env))
    if kind == "and":
        return truthy(evaluate(tree[1], env)) and truthy(evaluate(tree[2], env))
    if kind == "or":
        return truthy(evaluate(tree[1], env)) or truthy(evaluate(tree[2], env))
    if kind == "cmp":
        return compare(tree[1], evaluate(tree[2], env), evaluate(tree[3], env))
    x = evaluate(tree[1], env)
    return any(compare("==", x, option) for option in tree[2])


def truthy(value: Value | None) -> bool:
    if value is None or value is False:
        return False
    if value is True:
        return True
    return value != 0 if isinstance(value, Decimal) else value != ""


def compare(op: str, a: Value | None, b: Value | None) -> bool:
    if a is None or b is None or type(a) is not type(b):
        return False
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if not isinstance(a, Decimal) or not isinstance(b, Decimal):
        return False
    return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]


def names_of(tree: Tree) -> set[str]:
    if tree[0] == "name":
        return {tree[1]}
    return {n for part in tree[1:] if isinstance(part, tuple) for n in names_of(part)}


def literals_of(tree: Tree) -> list[Value]:
    if tree[0] == "lit":
        return [tree[1]]
    found = [v for part in tree[1:] if isinstance(part, tuple) for v in literals_of(part)]
    return found + (list(tree[2]) if tree[0] == "in" else [])


def _domain(tree: Tree, values: dict[str, Value], unseen: int) -> list[Value | None]:
    """Absent, both booleans, every literal and seen value, the empty string, ``unseen``
    unrelated strings, and for each number (and 0), ``unseen`` points just below and just above
    it (1/8 apart, so that up to three names fit in order between constants 0.5 apart)."""
    constants = [*literals_of(tree), *values.values()]
    numbers = {c for c in constants if isinstance(c, Decimal)} | {D(0)}
    near = {n + sign * D(i) / 8 for n in numbers for sign in (1, -1) for i in range(1, unseen + 1)}
    strings = {c for c in constants if isinstance(c, str)} | {""}
    strings |= {f"unrelated{i}" for i in range(unseen)}
    return [None, True, False, *sorted(numbers | near), *sorted(strings)]


def brute_force_failed(tree: Tree, values: dict[str, Value]) -> bool:
    unseen = sorted(names_of(tree) - values.keys())
    domain = _domain(tree, values, len(unseen))
    for combination in itertools.product(domain, repeat=len(unseen)):
        env = dict(values)
        env.update({n: v for n, v in zip(unseen, combination, strict=True) if v is not None})
        if truthy(evaluate(tree, env)):
            return False
    return True


# ---- the properties ----------------------------------------------------------------------


def check_verdict(tree: Tree, values: dict[str, Value], rnd: random.Random) -> None:
    condition = compile_condition(render(tree, rnd))
    met = truthy(evaluate(tree, values))
    failed = brute_force_failed(tree, values)
    assert not (met and failed)  # (1) met and failed never both
    expected = Verdict.MET if met else Verdict.FAILED if failed else Verdict.UNDECIDED
    assert condition.verdict(values) is expected  # (2) met and (3) failed are exact
    assert condition.explain(values).verdict is expected
    assert condition.explain(values).text().endswith(f" → {expected.value}")
    enumerated = [n for n in condition._repeated if n not in values]
    if enumerated:  # the enumeration bound was never what decided
        assert search(condition._kleene, condition._uses, enumerated, values) is not None


@settings(max_examples=400, deadline=None)
@given(trees, partial_values, st.randoms(use_true_random=False))
def test_verdicts_match_the_reference(
    tree: Tree, values: dict[str, Value], rnd: random.Random
) -> None:
    check_verdict(tree, values, rnd)


@settings(max_examples=TANGLED_EXAMPLES, deadline=None)
@given(
    tangled,
    st.dictionaries(st.just("c"), st.sampled_from(VALUES)),
    st.randoms(use_true_random=False),
)
def test_failed_matches_brute_force_when_names_recur(
    tree: Tree, values: dict[str, Value], rnd: random.Random
) -> None:
    check_verdict(tree, values, rnd)


@settings(max_examples=300, deadline=None)
@given(trees, partial_values, st.randoms(use_true_random=False))
def test_canonical_text_is_idempotent_and_keeps_the_meaning(
    tree: Tree, values: dict[str, Value], rnd: random.Random
) -> None:
    condition = compile_condition(render(tree, rnd))
    again = compile_condition(condition.canonical)
    assert again.canonical == condition.canonical  # (4) idempotent
    assert again.names == condition.names == names_of(tree)
    assert again.verdict(values) is condition.verdict(values)  # (4) same verdicts
    assert again.explain(values).to_json() == condition.explain(values).to_json()
    # Another formatting of the same tree is the same canonical text.
    assert compile_condition(render(tree, rnd)).canonical == condition.canonical


@settings(max_examples=100, deadline=None)
@given(st.lists(trees, min_size=1, max_size=3), partial_values, st.randoms(use_true_random=False))
def test_a_list_is_the_and_of_its_items(
    items: list[Tree], values: dict[str, Value], rnd: random.Random
) -> None:
    listed = compile_condition([render(item, rnd) for item in items])
    joined = compile_condition(" AND ".join(f"({render(item, rnd)})" for item in items))
    assert listed.canonical == joined.canonical
    assert listed.verdict(values) is joined.verdict(values)
    met = all(truthy(evaluate(item, values)) for item in items)
    assert (listed.verdict(values) is Verdict.MET) is met

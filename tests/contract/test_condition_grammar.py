"""Every grammar rule of the condition language (SPEC section 3), through the canonical text
(which shows how an expression was read) and through verdicts (which show what it means)."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from decimal import Decimal

import pytest

from earnest.contract.condition import Condition, Value, Verdict, compile_condition

D = Decimal


def canon(source: str | Sequence[str]) -> str:
    return compile_condition(source).canonical


def verdict(source: str, **values: Value) -> Verdict:
    return compile_condition(source).verdict(values)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a AND b", "a AND b"),
        ("a && b", "a AND b"),
        ("a and b", "a AND b"),
        ("a aNd b", "a AND b"),
        ("a OR b", "a OR b"),
        ("a || b", "a OR b"),
        ("a or b", "a OR b"),
        ("NOT a", "NOT a"),
        ("not a", "NOT a"),
        ("!a", "NOT a"),
        ("!!a", "NOT NOT a"),
        ("x == 1", "x == 1"),
        ("x = 1", "x == 1"),
        ("x != 1", "x != 1"),
        ("x > 1", "x > 1"),
        ("x >= 1", "x >= 1"),
        ("x < 1", "x < 1"),
        ("x <= 1", "x <= 1"),
        ("x>=1&&y<2||!z", "x >= 1 AND y < 2 OR NOT z"),
        ("x in [1,2]", "x IN [1, 2]"),
        ("x In [ 'a' ,\"b\" , TRUE ,False ]", 'x IN ["a", "b", true, false]'),
    ],
)
def test_operators_and_their_aliases(source: str, expected: str) -> None:
    assert canon(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # OR < AND < NOT < comparison: only the parentheses that change the reading survive.
        ("a OR b AND c", "a OR b AND c"),
        ("(a OR b) AND c", "(a OR b) AND c"),
        ("a OR (b AND c)", "a OR b AND c"),
        ("NOT a AND b", "NOT a AND b"),
        ("NOT (a AND b)", "NOT (a AND b)"),
        ("NOT (a OR b) OR c", "NOT (a OR b) OR c"),
        ("NOT x == 1", "NOT x == 1"),
        ("NOT (x == 1)", "NOT x == 1"),
        ("(NOT x) == true", "(NOT x) == true"),
        ("((a))", "a"),
        ("(x) > (3)", "x > 3"),
        # AND and OR are associative: any grouping reads as one flat list.
        ("a AND (b AND c)", "a AND b AND c"),
        ("(a AND b) AND c", "a AND b AND c"),
        ("a OR (b OR (c OR d))", "a OR b OR c OR d"),
        ("(a OR b) OR (c AND d)", "a OR b OR c AND d"),
        # A comparison's operand may be a parenthesised sub-expression (a boolean).
        ("(a AND b) == true", "(a AND b) == true"),
        ("(a == b) == c", "(a == b) == c"),
        ("(x > 1) IN [true]", "(x > 1) IN [true]"),
        ("3 < x", "3 < x"),
    ],
)
def test_precedence_associativity_and_minimal_parentheses(source: str, expected: str) -> None:
    assert canon(source) == expected


def test_precedence_changes_the_meaning_as_the_grammar_says() -> None:
    # a OR (b AND c), not (a OR b) AND c
    assert verdict("a OR b AND c", a=True, b=False, c=False) is Verdict.MET
    assert verdict("(a OR b) AND c", a=True, b=False, c=False) is Verdict.FAILED
    # (NOT a) AND b, not NOT (a AND b)
    assert verdict("NOT a AND b", a=True, b=False) is Verdict.FAILED
    assert verdict("NOT (a AND b)", a=True, b=False) is Verdict.MET
    # NOT (x == 1): comparison binds tighter than NOT
    assert verdict("NOT x == 1", x=D(2)) is Verdict.MET
    assert verdict("(NOT x) == true", x=D(2)) is Verdict.FAILED


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x == TRUE", "x == true"),
        ("x == True", "x == true"),
        ("x == fAlSe", "x == false"),
        ("Score > 1 AnD score < 2", "Score > 1 AND score < 2"),
    ],
)
def test_keywords_are_case_insensitive_and_names_are_not(source: str, expected: str) -> None:
    assert canon(source) == expected


def test_names_are_case_sensitive_identifiers() -> None:
    condition = compile_condition("Score > 1 AND score < 2 AND _a1 AND a_B_2")
    assert condition.names == frozenset({"Score", "score", "_a1", "a_B_2"})
    assert canon("n" * 64) == "n" * 64


@pytest.mark.parametrize(
    ("source", "expected", "value"),
    [
        ("x == 'gold'", 'x == "gold"', "gold"),
        ('x == "gold"', 'x == "gold"', "gold"),
        ("x == 'it\\'s'", 'x == "it\'s"', "it's"),
        ('x == "say \\"hi\\""', 'x == "say \\"hi\\""', 'say "hi"'),
        ("x == 'say \"hi\"'", 'x == "say \\"hi\\""', 'say "hi"'),
        ('x == "a\\\\b"', 'x == "a\\\\b"', "a\\b"),
        ('x == "\\\'"', 'x == "\'"', "'"),
        ('x == ""', 'x == ""', ""),
        ("x == 'tab\there'", 'x == "tab\there"', "tab\there"),
        ('x == "AND or NOT"', 'x == "AND or NOT"', "AND or NOT"),
    ],
)
def test_strings_in_both_quote_styles_with_escapes(source: str, expected: str, value: str) -> None:
    assert canon(source) == expected
    assert verdict(source, x=value) is Verdict.MET
    assert verdict(source, x=value + "!") is Verdict.FAILED


@pytest.mark.parametrize(
    ("source", "expected", "value"),
    [
        ("x == 3", "x == 3", D("3")),
        ("x == -3", "x == -3", D("-3")),
        ("x == 2.50", "x == 2.5", D("2.5")),
        ("x == 007", "x == 7", D("7")),
        ("x == -0", "x == 0", D("0")),
        ("x == -0.000", "x == 0", D("0")),
        ("x == 100", "x == 100", D("1E+2")),
        ("x == 0.0000001", "x == 0.0000001", D("1E-7")),
        ("x>-3.25", "x > -3.25", D("-3")),
    ],
)
def test_numbers_are_exact_decimals(source: str, expected: str, value: Decimal) -> None:
    assert canon(source) == expected
    assert verdict(source, x=value) is Verdict.MET


def test_numbers_are_never_rounded() -> None:
    long = "1.000000000000000000000000000000000000001"  # beyond float and default Decimal
    assert canon(f"x == {long}") == f"x == {long}"
    assert verdict(f"x == {long}", x=D(1)) is Verdict.FAILED
    tiny = D("1.0000000000000000000000000000000000000005")
    assert verdict(f"x > 1 AND x < {long}", x=tiny) is Verdict.MET


def test_in_lists() -> None:
    assert verdict('tier IN ["gold", "platinum"]', tier="gold") is Verdict.MET
    assert verdict('tier IN ["gold", "platinum"]', tier="silver") is Verdict.FAILED
    assert verdict("n IN [1, 2.5]", n=D("2.50")) is Verdict.MET
    assert verdict("n IN [1]", n=D("1.0")) is Verdict.MET
    assert verdict("n IN [-1]", n=D(-1)) is Verdict.MET
    assert verdict("flag IN [true]", flag=True) is Verdict.MET


def test_whitespace_and_lines_do_not_matter() -> None:
    source = "completed\n  AND\tscore >3\r\n  AND NOT   disputed\n"
    assert canon(source) == "completed AND score > 3 AND NOT disputed"


def test_a_list_is_the_and_of_its_items() -> None:
    assert canon(["a OR b", "c"]) == "(a OR b) AND c"
    assert canon(["a AND b", "NOT c"]) == "a AND b AND NOT c"
    assert canon(["x > 1"]) == canon("x > 1")
    assert canon(("a", "b")) == "a AND b"
    assert compile_condition(["done", "NOT refunded"]).verdict({"done": True}) is Verdict.MET
    assert compile_condition(["done", "NOT refunded"]).verdict({"refunded": True}) is (
        Verdict.FAILED
    )


@pytest.mark.parametrize(
    "source",
    [
        "completed AND score > 3 AND NOT disputed",
        "a OR b AND NOT (c OR d == 'x\\\"y')",
        "(a AND b) == true",
        "NOT NOT (x IN [1, -2.5, 'q', false]) OR y != 0",
        "x == 0.0000001 AND y < 100000000000000000000",
    ],
)
def test_canonical_text_is_idempotent(source: str) -> None:
    once = canon(source)
    assert canon(once) == once


def test_formatting_only_changes_give_the_same_canonical_text() -> None:
    variants = [
        "completed AND score > 3 AND NOT disputed",
        "completed && score>3.0 && !disputed",
        "(completed) and (score > 03) AND not (disputed)",
        "completed\n  AND score > 3\n  AND NOT disputed",
    ]
    assert {canon(v) for v in variants} == {"completed AND score > 3 AND NOT disputed"}


def test_conditions_compare_by_canonical_text_and_pickle_as_text() -> None:
    a = compile_condition("a && b")
    b = compile_condition("a AND (b)")
    assert a == b
    assert hash(a) == hash(b)
    assert a != compile_condition("b AND a")
    copy = pickle.loads(pickle.dumps(a))
    assert isinstance(copy, Condition)
    assert copy == a
    assert copy.verdict({"a": True, "b": True}) is Verdict.MET

"""Every error message of the condition language, in full: message, line, column, caret."""

from __future__ import annotations

from decimal import Decimal

import pytest

from earnest.contract.condition import (
    MAX_DEPTH,
    MAX_NODES,
    ConditionError,
    Verdict,
    compile_condition,
)


def error(source: str | list[str]) -> ConditionError:
    with pytest.raises(ConditionError) as caught:
        compile_condition(source)
    return caught.value


CASES = [
    # (source, line, column, message, snippet)
    ("> 3", 1, 1, 'expected a name, a literal or "(" but found ">"', "> 3\n^"),
    (
        "a AND",
        1,
        6,
        'expected a name, a literal or "(" but found the end of the expression',
        "a AND\n     ^",
    ),
    (
        "a AND   \n",
        1,
        6,
        'expected a name, a literal or "(" but found the end of the expression',
        "a AND   \n     ^",
    ),
    (
        "completed\n  AND (score OR > 2)",
        2,
        17,
        'expected a name, a literal or "(" but found ">"',
        "  AND (score OR > 2)\n                ^",
    ),
    (
        "a ==\n\t  <",
        2,
        4,
        'expected a name, a literal or "(" but found "<"',
        "\t  <\n\t  ^",
    ),
    ("x == 'abc", 1, 6, "unterminated string: no closing ' on this line", "x == 'abc\n     ^"),
    (
        'x == "abc\nAND y',
        1,
        6,
        'unterminated string: no closing " on this line',
        'x == "abc\n     ^',
    ),
    ('x == "abc\\', 1, 6, 'unterminated string: no closing " on this line', 'x == "abc\\\n     ^'),
    (
        'x == "a\\nb"',
        1,
        8,
        'unknown escape "\\n": only \\\\, \\" and \\\' are allowed in a string',
        'x == "a\\nb"\n       ^',
    ),
    ("a @ b", 1, 3, 'unexpected character "@"', "a @ b\n  ^"),
    ("a & b", 1, 3, 'unexpected character "&" (did you mean "&&"?)', "a & b\n  ^"),
    ("a | b", 1, 3, 'unexpected character "|" (did you mean "||"?)', "a | b\n  ^"),
    (
        "café",
        1,
        4,
        'unexpected character "é" (names use only the letters A-Z and a-z, digits and _)',
        "café\n   ^",
    ),
    ("a\x00", 1, 2, "unexpected character U+0000", "a\x00\n ^"),
    ("x > .5", 1, 5, 'unexpected character "."', "x > .5\n    ^"),
    ("x > 1.", 1, 6, 'expected a digit after "." in a number', "x > 1.\n     ^"),
    ("x > - 1", 1, 5, 'expected a digit after "-" (a negative number is -3)', "x > - 1\n    ^"),
    ("", 1, 1, "the expression is empty", "\n^"),
    ("  \n ", 1, 1, "the expression is empty", "  \n^"),
    (
        "a b",
        1,
        3,
        'expected an operator or the end of the expression but found "b"',
        "a b\n  ^",
    ),
    (
        "a == 1 'x'",
        1,
        8,
        "expected an operator or the end of the expression but found a string",
        "a == 1 'x'\n       ^",
    ),
    ("(a b)", 1, 4, 'expected an operator or ")" but found "b"', "(a b)\n   ^"),
    ("a)", 1, 2, 'unmatched ")"', "a)\n ^"),
    ("(a AND (b)", 1, 1, 'this "(" is never closed', "(a AND (b)\n^"),
    (
        "a == b == c",
        1,
        8,
        "comparisons cannot be chained; use AND or parentheses",
        "a == b == c\n       ^",
    ),
    (
        "a > 1 IN [1]",
        1,
        7,
        "comparisons cannot be chained; use AND or parentheses",
        "a > 1 IN [1]\n      ^",
    ),
    ("x IN 1", 1, 6, 'expected "[" after IN but found "1"', "x IN 1\n     ^"),
    (
        "x IN [a]",
        1,
        7,
        'expected a literal (a number, a string, true or false) but found "a"',
        "x IN [a]\n      ^",
    ),
    (
        "x IN []",
        1,
        7,
        'expected a literal (a number, a string, true or false) but found "]"',
        "x IN []\n      ^",
    ),
    (
        "x IN [1,]",
        1,
        9,
        'expected a literal (a number, a string, true or false) but found "]"',
        "x IN [1,]\n        ^",
    ),
    ("x IN [1 2]", 1, 9, 'expected "," or "]" but found "2"', "x IN [1 2]\n        ^"),
    ("x IN [1, 2", 1, 6, 'this "[" is never closed', "x IN [1, 2\n     ^"),
    (
        "and > 3",
        1,
        1,
        'expected a name, a literal or "(" but found "and", '
        "a reserved word that cannot be a signal name",
        "and > 3\n^",
    ),
    (
        "done AND In",
        1,
        10,
        'expected a name, a literal or "(" but found "In", '
        "a reserved word that cannot be a signal name",
        "done AND In\n         ^",
    ),
    ("NOT == 1", 1, 5, 'expected a name, a literal or "(" but found "=="', "NOT == 1\n    ^"),
    (
        "ok AND " + "n" * 65,
        1,
        8,
        "name has 65 characters; at most 64 are allowed",
        "ok AND " + "n" * 65 + "\n       ^",
    ),
    (
        "x == '" + "s" * 1025 + "'",
        1,
        6,
        "string has 1025 characters; at most 1024 are allowed",
        "x == '" + "s" * 1025 + "'\n     ^",
    ),
    (
        "x == 1" + "0" * 64,
        1,
        6,
        "number has 65 characters; at most 64 are allowed",
        "x == 1" + "0" * 64 + "\n     ^",
    ),
]


@pytest.mark.parametrize(("source", "line", "column", "message", "snippet"), CASES)
def test_error_messages(source: str, line: int, column: int, message: str, snippet: str) -> None:
    err = error(source)
    assert (err.message, err.line, err.column, err.snippet, err.item) == (
        message,
        line,
        column,
        snippet,
        None,
    )
    assert str(err) == f"line {line}, column {column}: {message}\n{snippet}"
    assert isinstance(err, ValueError)


def test_the_longest_name_and_string_are_allowed() -> None:
    longest = compile_condition("n" * 64 + " == '" + "s" * 1024 + "'")
    assert longest.verdict({"n" * 64: "s" * 1024}) is Verdict.MET
    widest = compile_condition("x == 1" + "0" * 63)
    assert widest.verdict({"x": Decimal("1e63")}) is Verdict.MET


def test_the_first_error_in_reading_order_wins() -> None:
    # The syntax error at "b" comes before the unterminated string, and is the one reported.
    err = error('a b "unterminated')
    assert (err.column, err.message) == (
        3,
        'expected an operator or the end of the expression but found "b"',
    )


def test_node_bound() -> None:
    at_bound = " AND ".join(["a"] * (MAX_NODES - 1))  # n names and one AND: 200 nodes
    compile_condition(at_bound)
    err = error("  " + at_bound + " AND b")
    assert str(err) == (
        "line 1, column 3: expression has 201 nodes; at most 200 are allowed\n"
        "  " + at_bound + " AND b\n  ^"
    )
    # IN options count: 1 (IN) + 1 (x) + 199 literals
    assert error("x IN [" + ", ".join(["1"] * 199) + "]").message == (
        "expression has 201 nodes; at most 200 are allowed"
    )


def test_depth_bound_points_at_the_deepest_token() -> None:
    compile_condition("NOT " * (MAX_DEPTH - 1) + "a")  # 31 NOTs over a name: depth 32
    source = "x OR " + "NOT " * MAX_DEPTH + "a"
    err = error(source)
    assert str(err) == (
        "line 1, column 134: expression nests 34 deep; at most 32 are allowed\n"
        f"{source}\n" + " " * 133 + "^"
    )


def test_parenthesis_bound_is_checked_as_they_open() -> None:
    compile_condition("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH)
    source = "(" * 10_000 + "a" + ")" * 10_000  # no recursion error, the bound is stated
    err = error(source)
    assert (err.line, err.column, err.message) == (
        1,
        33,
        "parentheses nest 33 deep; at most 32 are allowed",
    )


def test_list_items_are_parsed_one_by_one_and_errors_carry_the_item() -> None:
    err = error(["done", "score >\n"])
    assert (err.item, err.line, err.column) == (1, 1, 8)
    assert str(err) == (
        'line 1, column 8: expected a name, a literal or "(" but found the end of the expression'
        "\nscore >\n       ^"
    )
    first = error(["a b", "'open"])
    assert (first.item, first.column) == (0, 3)


def test_bounds_apply_to_the_whole_list() -> None:
    half = " AND ".join(["a"] * 100)  # 101 nodes alone
    compile_condition([half])
    err = error([half, half])  # one AND over 200 names: 201 nodes
    assert (err.item, err.line, err.column, err.message) == (
        1,
        1,
        1,
        "expression has 201 nodes; at most 200 are allowed",
    )
    deep = "NOT " * (MAX_DEPTH - 1) + "a"  # depth 32 alone; 33 under the list's AND
    compile_condition([deep])
    err = error(["b", deep])
    assert (err.item, err.column, err.message) == (
        1,
        125,
        "expression nests 33 deep; at most 32 are allowed",
    )


def test_an_empty_list_and_a_non_text_item() -> None:
    err = error([])
    assert (err.item, err.message, str(err)) == (
        None,
        "the list of conditions is empty",
        "line 1, column 1: the list of conditions is empty\n\n^",
    )
    err = error(["a", 3])  # type: ignore[list-item]
    assert (err.item, err.message) == (1, "expected an expression as text, got int")

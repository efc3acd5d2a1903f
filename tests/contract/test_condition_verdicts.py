"""Verdicts (met, failed, undecided) and explanations, from the examples in SPEC section 3."""

from __future__ import annotations

from decimal import Decimal

import pytest

from earnest.contract.condition import Value, Verdict, compile_condition, compiled
from earnest.contract.condition.base import MAX_ENUMERATION

D = Decimal
MET, FAILED, UNDECIDED = Verdict.MET, Verdict.FAILED, Verdict.UNDECIDED
LANDING = "completed AND score > 3 AND NOT disputed"


def verdict(source: str | list[str], values: dict[str, Value]) -> Verdict:
    return compile_condition(source).verdict(values)


def text(source: str | list[str], values: dict[str, Value]) -> str:
    return compile_condition(source).explain(values).text()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, UNDECIDED),
        ({"completed": True}, UNDECIDED),
        ({"score": D(4)}, UNDECIDED),
        ({"completed": True, "score": D(4)}, MET),  # NOT disputed holds while unseen
        ({"completed": True, "score": D("3.5")}, MET),
        ({"completed": True, "score": D(2)}, FAILED),
        ({"completed": True, "score": D(3)}, FAILED),
        ({"score": D(2)}, FAILED),  # nothing completed can do rescues score = 2
        ({"completed": True, "score": D(4), "disputed": True}, FAILED),
        ({"disputed": True}, FAILED),
        ({"completed": True, "score": D(4), "disputed": False}, MET),
        ({"completed": False, "score": D(4)}, FAILED),
        ({"completed": True, "score": "high"}, FAILED),
        ({"completed": True, "score": D(4), "other": "ignored"}, MET),
    ],
)
def test_the_landing_page_condition(values: dict[str, Value], expected: Verdict) -> None:
    assert verdict(LANDING, values) is expected


def test_the_spec_examples() -> None:
    spec = "a AND score > 3 AND NOT disputed"
    assert verdict(spec, {"score": D(2)}) is FAILED
    assert verdict(spec, {"disputed": True}) is FAILED
    assert verdict("NOT disputed", {}) is MET
    assert verdict("NOT disputed", {"disputed": True}) is FAILED
    ticket = "resolved AND NOT reopened AND csat >= 4"
    assert verdict(ticket, {"resolved": True, "csat": D("4.0")}) is MET
    assert verdict(ticket, {"resolved": True, "csat": D(5), "reopened": True}) is FAILED
    assert verdict(ticket, {"resolved": True}) is UNDECIDED


@pytest.mark.parametrize(
    ("value", "truthy"),
    [
        (True, True),
        (False, False),
        (D(1), True),
        (D("-0.5"), True),
        (D(0), False),
        (D("0.00"), False),
        (D("-0"), False),
        ("x", True),
        (" ", True),
        ("false", True),
        ("", False),
    ],
)
def test_truthiness_in_a_boolean_position(value: Value, truthy: bool) -> None:
    assert verdict("x", {"x": value}) is (MET if truthy else FAILED)
    assert verdict("NOT x", {"x": value}) is (FAILED if truthy else MET)


@pytest.mark.parametrize(
    ("source", "value", "expected"),
    [
        ("x == 4", D("4.0"), MET),
        ("x == 4.000", D(4), MET),
        ("x >= 4", D("3.9999999999999999999999999999999"), FAILED),
        ("x < 0", D("-0.0000000000000000000000000000001"), MET),
        ("x != 4", D("4.00"), FAILED),
        ('x == "gold"', "gold", MET),
        ('x != "gold"', "silver", MET),
        ('x != "gold"', "gold", FAILED),
        ('x > "a"', "b", FAILED),  # strings have no order
        ('x <= "a"', "a", FAILED),
        ("x == true", True, MET),
        ("x != true", False, MET),
        ("x > false", True, FAILED),  # neither do booleans
        # Different types: false for every operator, != included.
        ("x > 3", "high", FAILED),
        ("x == 3", "3", FAILED),
        ("x != 3", "3", FAILED),
        ("x == 1", True, FAILED),
        ("x != 1", True, FAILED),
        ("x == true", D(1), FAILED),
        ('x != "1"', D(1), FAILED),
        ("x == false", D(0), FAILED),
        ("x IN [1, 2]", True, FAILED),
        ("x IN [true]", D(1), FAILED),
        ("x IN ['1']", D(1), FAILED),
        ("x IN [1, 'a', true]", True, MET),
        ("(a AND b) == 1", True, FAILED),
        ("(x == 1) == true", True, FAILED),
        ("(x == true) == true", True, MET),
        ("(x == true) IN [false]", D(1), MET),
    ],
)
def test_comparisons(source: str, value: Value, expected: Verdict) -> None:
    assert verdict(source, {"x": value, "a": True, "b": True}) is expected


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        # Failed is exact: false whatever values the unseen names might still take.
        ("x AND NOT x", {}, FAILED),
        ("score > 3 AND score < 2", {}, FAILED),
        ("score > 3 AND score <= 3", {}, FAILED),
        ("score > 3 AND score < 4", {}, UNDECIDED),  # 3.5
        ("score >= 3 AND score <= 3", {}, UNDECIDED),
        ("a AND score > 3", {"score": D(2)}, FAILED),
        ("x == 1 AND x == 2", {}, FAILED),
        ("x == 1 AND x == 1.0", {}, UNDECIDED),
        ("x == 1 OR x == 2", {}, UNDECIDED),
        ("x == 'a' AND x != 'a'", {}, FAILED),
        ("x AND x == 0", {}, FAILED),
        ("x AND x == ''", {}, FAILED),
        ("x AND x == false", {}, FAILED),
        ("x AND x IN [0, '', false]", {}, FAILED),
        ("x AND x IN [0, '', false, 'y']", {}, UNDECIDED),
        ("x > 'a'", {}, FAILED),  # no value of x can make it true
        ("(a AND b) == 3", {}, FAILED),
        ("(a AND b) > true", {}, FAILED),
        ("x == y AND x > 3 AND y < 3", {}, FAILED),
        ("x == y AND x > 3 AND y < 3.5", {}, UNDECIDED),  # x = y = 3.25
        ("x < y AND y < z AND z < x", {}, FAILED),
        ("x < y AND y < z AND x > 1 AND z < 2", {}, UNDECIDED),  # three in one gap
        ("x == y AND x != y", {}, FAILED),
        ("x == y AND y == 5", {"x": D(4)}, FAILED),
        ("x == y AND y == 5", {"x": D(5)}, UNDECIDED),
        ("x == y AND y != 'a'", {"x": "b"}, UNDECIDED),
        ("(x == 1) != (x == 1)", {}, FAILED),
        ("(x == 1) == (NOT x == 1)", {}, FAILED),
        ("NOT (x == 1) OR x == 1", {}, MET),
        ("x", {}, UNDECIDED),
        ("x OR true", {}, MET),
        ("false", {}, FAILED),
        ("(a AND b) IN [true, false]", {}, MET),
        ("NOT ((a AND b) IN [true, false])", {}, FAILED),  # a boolean is always in that list
        ("NOT ((a AND b) IN [false])", {"a": True}, UNDECIDED),  # b = true
        ("NOT x AND x != 'a'", {}, UNDECIDED),  # x = "" is falsy and not "a"
        ("NOT x AND x != 1", {}, UNDECIDED),  # x = 0
        ("NOT x AND x != true", {}, UNDECIDED),  # x = false
        ("x AND x != 1 AND x != 'a'", {}, FAILED),  # != needs one type: number and string
        ("x AND x != 1 AND x != 2", {}, UNDECIDED),  # x = 3
        ("NOT x AND NOT x == 0 AND NOT x != 0 AND y", {}, UNDECIDED),  # x stays absent
        ("x AND NOT x == 0 AND NOT x != 0", {}, UNDECIDED),  # x = "s" (or true)
    ],
)
def test_failed_is_exact(source: str, values: dict[str, Value], expected: Verdict) -> None:
    assert verdict(source, values) is expected


def test_beyond_the_enumeration_bound_failed_gives_way_to_undecided() -> None:
    # Each "aN AND NOT aN" is false whatever aN becomes, but the OR of n of them stays unknown
    # until every aN is assigned: 2 + 4 + ... + 2^n evaluations, nothing to prune.
    def contradictions(count: int) -> str:
        return " OR ".join(f"(a{i} AND NOT a{i})" for i in range(count))

    assert 2**12 - 2 <= MAX_ENUMERATION < 2**13 - 2
    assert verdict(contradictions(11), {}) is FAILED
    assert verdict(contradictions(12), {}) is UNDECIDED  # sound, not exact: documented
    assert verdict(contradictions(12), {"a0": True}) is FAILED  # 11 names left to try
    assert verdict(contradictions(12), {f"a{i}": True for i in range(12)}) is FAILED


def test_the_search_prunes_branches_kleene_already_rules_out() -> None:
    # 22 classes per name, 22**3 combinations, far fewer evaluations once x < y fails early.
    assert verdict("x < y AND y < z AND z < x AND x > 1 AND y < 2.5", {}) is FAILED
    assert verdict("x < y AND y < z AND x > 1 AND z < 2.5 AND x != y", {}) is UNDECIDED


def test_the_spec_explanation() -> None:
    values: dict[str, Value] = {"completed": True, "score": D(2)}
    assert text(LANDING, values) == (
        "completed = true ✓ · score > 3: score = 2 ✗ · NOT disputed: disputed unseen ✓ → failed"
    )


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        (
            LANDING,
            {},
            "completed unseen ✗ · score > 3: score unseen ✗ · "
            "NOT disputed: disputed unseen ✓ → undecided",
        ),
        (
            "score > 3",
            {"score": "high"},
            'score > 3: score = "high" ✗ (a number cannot be compared with a string) → failed',
        ),
        (
            "3 < score",
            {"score": "high"},
            '3 < score: score = "high" ✗ (a number cannot be compared with a string) → failed',
        ),
        (
            "flag == 1",
            {"flag": True},
            "flag == 1: flag = true ✗ (a boolean cannot be compared with a number) → failed",
        ),
        (
            "tier > 'a'",
            {"tier": "b"},
            'tier > "a": tier = "b" ✗ (strings cannot be ordered) → failed',
        ),
        (
            "n IN [1, 2]",
            {"n": "1"},
            'n IN [1, 2]: n = "1" ✗ (a string cannot be compared with numbers) → failed',
        ),
        ("a OR b", {"b": True}, "a OR b: a unseen, b = true ✓ → met"),
        (
            ["a OR b", "c && d"],
            {"c": D("4.50")},
            "a OR b: a unseen, b unseen ✗ · c = 4.50 ✓ · d unseen ✗ → undecided",
        ),
        (
            "true AND x == 'say \"hi\"'",
            {"x": 'say "hi"\n'},
            'true ✓ · x == "say \\"hi\\"": x = "say \\"hi\\"\\n" ✗ → failed',
        ),
        ("x AND NOT x", {}, "x unseen ✗ · NOT x: x unseen ✓ → failed"),
        ("x == y", {"x": D(1), "y": D(1)}, "x == y: x = 1, y = 1 ✓ → met"),
    ],
)
def test_explanation_text(source: str | list[str], values: dict[str, Value], expected: str) -> None:
    assert text(source, values) == expected


def test_explanation_json_is_the_typed_tree() -> None:
    explanation = compile_condition("done AND score > 3").explain({"score": D("2.0")})
    assert explanation.verdict is FAILED
    assert explanation.to_json() == {
        "verdict": "failed",
        "text": "done unseen ✗ · score > 3: score = 2.0 ✗ → failed",
        "tree": {
            "kind": "and",
            "text": "done AND score > 3",
            "value": {"type": "boolean", "value": False},
            "children": [
                {
                    "kind": "name",
                    "name": "done",
                    "text": "done",
                    "value": {"type": "unseen", "value": None},
                },
                {
                    "kind": "compare",
                    "op": ">",
                    "text": "score > 3",
                    "value": {"type": "boolean", "value": False},
                    "children": [
                        {
                            "kind": "name",
                            "name": "score",
                            "text": "score",
                            "value": {"type": "number", "value": "2.0"},
                        },
                        {"kind": "literal", "text": "3", "value": {"type": "number", "value": "3"}},
                    ],
                },
            ],
        },
        "names": [
            {"name": "done", "type": "unseen", "value": None},
            {"name": "score", "type": "number", "value": "2.0"},
        ],
    }


def test_explanation_json_notes_type_mismatches() -> None:
    tree = compile_condition("x == 'a'").explain({"x": D(1)}).to_json()["tree"]
    assert tree["note"] == "a number cannot be compared with a string"
    assert tree["value"] == {"type": "boolean", "value": False}


def test_explanations_depend_only_on_condition_and_values() -> None:
    values: dict[str, Value] = {"disputed": False, "score": D(7), "completed": True}
    a = compile_condition(LANDING).explain(values)
    b = compile_condition("completed && score>3 && !disputed").explain(
        dict(reversed(values.items()))
    )
    assert (
        a.text()
        == b.text()
        == ("completed = true ✓ · score > 3: score = 7 ✓ · NOT disputed: disputed = false ✓ → met")
    )
    assert a.to_json() == b.to_json()
    assert a.verdict is MET


def test_memoised_explanation_texts_match_fresh_ones_and_keep_4_and_4_0_apart() -> None:
    condition = compile_condition("done AND score > 3 AND tier == '1'")
    cases: list[dict[str, Value]] = [
        {"score": D("4")},
        {"score": D("4.0")},
        {"score": D("4"), "done": True, "tier": "1"},
        {"score": D("4"), "done": True, "tier": D("1")},
        {},
    ]
    for values in cases * 2:  # the second round is answered from the memo
        assert condition.explanation_text(values) == condition.explain(values).text()
    texts = [condition.explanation_text(values) for values in cases]
    assert len(set(texts)) == len(cases), texts


def test_the_explanation_memo_holds_at_most_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "EXPLAINED_MAX", 2)
    condition = compile_condition("score > 3")
    for score in range(5):
        values: dict[str, Value] = {"score": D(score)}
        assert condition.explanation_text(values) == condition.explain(values).text()
        assert 1 <= len(condition._texts) <= 2

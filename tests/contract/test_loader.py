"""Loading contracts: SPEC section 2's examples as written, every field's validation, errors
collected and located, files, JSON, mappings, the canonical form and the fingerprint."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from earnest.contract import (
    AfterSettlement,
    Contract,
    ContractError,
    FieldError,
    Money,
    OnTimeout,
    contract_fingerprint,
    contract_to_dict,
    load_contract,
    load_contract_bytes,
)
from earnest.contract.loader import MAX_DOCUMENT_BYTES
from earnest.files import load_contract_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SPEC_EXAMPLE = """\
key: ticket_resolved              # required; ^[a-z][a-z0-9_]{0,63}$; stable forever
name: Support ticket resolved     # optional display name
description: Billed when the AI agent resolves a ticket and the customer does not reopen it.
conditions: resolved AND NOT reopened AND csat >= 4
price: $0.99
active_for: 48h
review_window: 24h
on_timeout: confirm               # confirm | cancel        (default: cancel)
after_settlement: flag            # flag | credit | ignore  (default: flag)
"""

SHORT_FORM = """\
active_for: 48h
review_window: 24h
price: $0.99
conditions: completed AND score > 3 AND NOT disputed
on_timeout: confirm
"""

WINDOWS = "active_for: 1h\nreview_window: 0\n"

MINIMAL: dict[str, Any] = {
    "key": "k",
    "conditions": "done",
    "price": "$1",
    "active_for": "1h",
    "review_window": "0s",
}


def errors_of(source: Any, **options: Any) -> list[FieldError]:
    with pytest.raises(ContractError) as caught:
        load_contract(source, **options)
    return list(caught.value.errors)


def messages_of(source: Any, **options: Any) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in errors_of(source, **options)]


def with_fields(**fields: Any) -> dict[str, Any]:
    return {**MINIMAL, **fields}


# -- the spec's examples, exactly as written ---------------------------------------------------


def test_the_spec_example_loads_exactly_as_written() -> None:
    contract = load_contract(SPEC_EXAMPLE)
    assert contract.key == "ticket_resolved"
    assert contract.name == "Support ticket resolved"
    assert contract.description == (
        "Billed when the AI agent resolves a ticket and the customer does not reopen it."
    )
    assert contract.conditions == "resolved AND NOT reopened AND csat >= 4"
    assert contract.price == Money(Decimal("0.99"), "USD")
    assert contract.active_for_s == 48 * 3600
    assert contract.review_window_s == 24 * 3600
    assert contract.on_timeout is OnTimeout.CONFIRM
    assert contract.after_settlement is AfterSettlement.FLAG


def test_the_landing_page_short_form_loads_with_its_key_from_outside() -> None:
    contract = load_contract(SHORT_FORM, key="task_completed")
    assert contract.key == "task_completed"
    assert contract.name is None
    assert contract.description is None
    assert contract.conditions == "completed AND score > 3 AND NOT disputed"
    assert contract.price == Money(Decimal("0.99"), "USD")
    assert contract.active_for_s == 172_800
    assert contract.review_window_s == 86_400
    assert contract.on_timeout is OnTimeout.CONFIRM
    assert contract.after_settlement is AfterSettlement.FLAG  # the default


def test_the_short_form_without_any_key_says_where_a_key_comes_from() -> None:
    assert messages_of(SHORT_FORM) == [
        (
            "key",
            "is required; write key: in the document (a file's name or the API path also gives it)",
        )
    ]


def test_defaults_are_cancel_and_flag() -> None:
    contract = load_contract(MINIMAL)
    assert contract.on_timeout is OnTimeout.CANCEL
    assert contract.after_settlement is AfterSettlement.FLAG
    assert contract.name is None
    assert contract.description is None


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_the_shipped_examples_load(path: Path) -> None:
    contract = load_contract_file(path)
    assert contract.key == path.stem
    assert same(load_contract(contract_to_dict(contract)), contract)


# -- files ------------------------------------------------------------------------------------


def test_a_file_without_a_key_takes_its_name(tmp_path: Path) -> None:
    path = tmp_path / "task_completed.yaml"
    path.write_text(SHORT_FORM, encoding="utf-8")
    assert load_contract_file(path).key == "task_completed"
    assert load_contract_file(str(path)).key == "task_completed"


def test_the_documents_key_wins_over_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "v2-ticket.yml"
    path.write_text(SPEC_EXAMPLE, encoding="utf-8")
    assert load_contract_file(path).key == "ticket_resolved"


def test_a_file_name_that_is_not_a_key_is_an_error_naming_key(tmp_path: Path) -> None:
    path = tmp_path / "Task-Completed.yaml"
    path.write_text(SHORT_FORM, encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        load_contract_file(path)
    assert [(e.field, e.message) for e in caught.value.errors] == [
        (
            "key",
            "the file name gives 'Task-Completed', which is not a valid key: use 1 to 64"
            " lower-case letters, digits and underscores, starting with a letter;"
            " or write key: in the document",
        )
    ]


def test_a_json_file_is_read_as_json(tmp_path: Path) -> None:
    path = tmp_path / "paid.JSON"
    path.write_text(
        '{"conditions": ["done", "NOT refunded"], "price": {"amount": 0.10, "currency": "EUR"},'
        ' "active_for": 3600, "review_window": "1d"}',
        encoding="utf-8",
    )
    contract = load_contract_file(path)
    assert contract.key == "paid"
    assert contract.conditions == ("done", "NOT refunded")
    assert contract.price == Money(Decimal("0.10"), "EUR")
    assert contract.active_for_s == 3600


def test_file_problems_are_contract_errors(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as missing:
        load_contract_file(tmp_path / "absent.yaml")
    assert missing.value.first.field == "<document>"
    assert missing.value.first.message == (
        f"cannot read {str(tmp_path / 'absent.yaml')!r}: No such file or directory"
    )
    with pytest.raises(ContractError) as wrong_kind:
        load_contract_file(tmp_path / "contract.toml")
    assert wrong_kind.value.first.message == "'contract.toml': expected a .yaml, .yml or .json file"
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(ContractError) as bad:
        load_contract_file(tmp_path / "bad.json")
    assert bad.value.first.message.startswith("invalid JSON: ")


def test_file_content_is_validated_without_the_disk() -> None:
    contract = load_contract_bytes(SHORT_FORM.encode(), filename="contracts/task_done.yml")
    assert contract.key == "task_done"
    keyless = json.dumps({k: v for k, v in MINIMAL.items() if k != "key"}).encode()
    assert load_contract_bytes(keyless, filename="C:\\x\\paid.json").key == "paid"
    assert messages_of_bytes(b"conditions: a\n", filename="README") == [
        ("<document>", "'README': expected a .yaml, .yml or .json file")
    ]
    assert messages_of_bytes(b"{", filename="x.json") == [
        ("<document>", "invalid JSON: Expecting property name enclosed in double quotes")
    ]


def messages_of_bytes(raw: bytes, *, filename: str) -> list[tuple[str, str]]:
    with pytest.raises(ContractError) as caught:
        load_contract_bytes(raw, filename=filename)
    return [(e.field, e.message) for e in caught.value.errors]


# -- keys -------------------------------------------------------------------------------------


def test_a_key_given_with_the_document_must_match_it() -> None:
    assert load_contract(SPEC_EXAMPLE, key="ticket_resolved").key == "ticket_resolved"
    assert messages_of(SPEC_EXAMPLE, key="ticket_closed") == [
        ("key", "'ticket_resolved' does not match the expected key 'ticket_closed'")
    ]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("Ticket", "'Ticket' is not a valid key: "),
        ("1ticket", "'1ticket' is not a valid key: "),
        ("_ticket", "'_ticket' is not a valid key: "),
        ("ticket-resolved", "'ticket-resolved' is not a valid key: "),
        ("a" * 65, f"{'a' * 65!r} is not a valid key: "),
        ("", "'' is not a valid key: "),
    ],
)
def test_keys_follow_the_pattern(key: str, message: str) -> None:
    rule = "use 1 to 64 lower-case letters, digits and underscores, starting with a letter"
    assert messages_of(with_fields(key=key)) == [("key", message + rule)]
    assert messages_of(SHORT_FORM, key=key) == [("key", message + rule)]


def test_the_longest_key_is_accepted() -> None:
    assert load_contract(with_fields(key="a" + "_9" * 31 + "z")).key == "a" + "_9" * 31 + "z"


def test_a_key_must_be_text() -> None:
    assert messages_of(with_fields(key=7)) == [
        ("key", "expected a key such as ticket_resolved, got a number (7)")
    ]


# -- fields -----------------------------------------------------------------------------------


def test_unknown_fields_are_named_with_a_suggestion() -> None:
    assert messages_of(with_fields(review_windw="1h", colour="blue", version=3)) == [
        ("review_windw", "is not a contract field; did you mean 'review_window'?"),
        (
            "colour",
            "is not a contract field; the fields are key, name, description, conditions, price,"
            " active_for, review_window, on_timeout, after_settlement",
        ),
        ("version", "is set by Earnest and cannot be written; remove it"),
    ]


def test_missing_required_fields_are_all_reported_with_examples() -> None:
    assert messages_of("key: k\n") == [
        ("conditions", "is required, e.g. conditions: resolved AND NOT reopened"),
        ("price", "is required, e.g. price: $0.99"),
        ("active_for", "is required, e.g. active_for: 48h"),
        ("review_window", "is required, e.g. review_window: 24h"),
    ]


def test_every_error_in_a_document_is_collected_in_field_order() -> None:
    document = """\
key: Ticket
name: [a]
conditions: [done, 3]
price: 0.99
active_for: 0
review_window: 367d
on_timeout: yes
after_settlement: Flag
colour: blue
"""
    assert messages_of(document) == [
        (
            "colour",
            "is not a contract field; the fields are key, name, description, conditions, price,"
            " active_for, review_window, on_timeout, after_settlement",
        ),
        (
            "key",
            "'Ticket' is not a valid key: use 1 to 64 lower-case letters, digits and"
            " underscores, starting with a letter",
        ),
        ("name", "expected text, got a list; quote it"),
        ("conditions[1]", "expected a condition expression as text, got a number (3)"),
        ("price", "needs a currency, e.g. $0.99 or 0.99 USD"),
        ("active_for", "must be between 1s and 366d, got 0 seconds"),
        ("review_window", "must be between 0s and 366d, got 367d"),
        (
            "on_timeout",
            "expected confirm or cancel, got a boolean (true);"
            " YAML reads yes, no, on and off as booleans",
        ),
        (
            "after_settlement",
            "expected flag, credit or ignore, got text ('Flag'); did you mean 'flag'?",
        ),
    ]
    with pytest.raises(ContractError) as caught:
        load_contract(document)
    assert str(caught.value).splitlines()[1] == (
        "key: 'Ticket' is not a valid key: use 1 to 64 lower-case letters, digits and"
        " underscores, starting with a letter"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "x" * 201, "is 201 characters long; at most 200 are allowed"),
        ("name", "two\nlines", "must be a single line"),
        ("name", 5, "expected text, got a number (5); quote it"),
        ("description", "x" * 4001, "is 4001 characters long; at most 4000 are allowed"),
        ("description", True, "expected text, got a boolean (true); quote it"),
        ("on_timeout", "never", "expected confirm or cancel, got text ('never')"),
        (
            "on_timeout",
            "Confirm",
            "expected confirm or cancel, got text ('Confirm'); did you mean 'confirm'?",
        ),
        ("after_settlement", "refund", "expected flag, credit or ignore, got text ('refund')"),
        ("after_settlement", 1, "expected flag, credit or ignore, got a number (1)"),
        ("conditions", "  ", "is empty; e.g. conditions: resolved AND NOT reopened"),
        ("conditions", [], "is an empty list; give at least one expression"),
        ("conditions", 4, "expected a condition expression or a list of them, got a number (4)"),
        (
            "conditions",
            {"a": 1},
            "expected a condition expression or a list of them, got a mapping",
        ),
        (
            "active_for",
            ["48h"],
            "expected a duration such as 48h, 1h30m or a whole number of seconds, got a list",
        ),
        (
            "active_for",
            "48 hours",
            "'48 hours' has spaces; write durations without them, e.g. 1h30m",
        ),
        ("price", "$-1", "cannot be negative, got -1"),
    ],
)
def test_field_values_are_validated(field: str, value: object, message: str) -> None:
    assert messages_of(with_fields(**{field: value})) == [(field, message)]


def test_names_and_descriptions_at_their_limits_are_kept() -> None:
    contract = load_contract(with_fields(name="n" * 200, description="d\n" * 2000))
    assert contract.name == "n" * 200
    assert contract.description == ("d\n" * 2000).strip()
    assert load_contract(with_fields(name="  ", description="")).name is None


def test_null_optional_fields_take_their_defaults() -> None:
    contract = load_contract(with_fields(name=None, on_timeout=None, after_settlement=None))
    assert contract.name is None
    assert contract.on_timeout is OnTimeout.CANCEL
    assert contract.after_settlement is AfterSettlement.FLAG


# -- windows ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("active_for", "seconds"),
    [
        ("1s", 1),
        (1, 1),
        ("366d", 366 * 86_400),
        (366 * 86_400, 366 * 86_400),
        ("52w2d", 31_622_400),
    ],
)
def test_active_for_bounds_are_inclusive(active_for: object, seconds: int) -> None:
    assert load_contract(with_fields(active_for=active_for)).active_for_s == seconds


@pytest.mark.parametrize(
    ("active_for", "got"),
    [("0s", "0s"), (0, "0 seconds"), ("366d1s", "366d1s"), (31_622_401, "31622401 seconds")],
)
def test_active_for_outside_its_bounds_is_refused(active_for: object, got: str) -> None:
    assert messages_of(with_fields(active_for=active_for)) == [
        ("active_for", f"must be between 1s and 366d, got {got}")
    ]


@pytest.mark.parametrize(("review_window", "seconds"), [("0s", 0), (0, 0), ("366d", 31_622_400)])
def test_review_window_bounds_are_inclusive(review_window: object, seconds: int) -> None:
    assert load_contract(with_fields(review_window=review_window)).review_window_s == seconds


def test_review_window_over_366_days_is_refused() -> None:
    assert messages_of(with_fields(review_window="366d1s")) == [
        ("review_window", "must be between 0s and 366d, got 366d1s")
    ]


def test_yaml_1_1_number_forms_are_not_silently_converted() -> None:
    # PyYAML would read 1:30 as 90 (base 60) and 0x10 as 16; here they stay text.
    document = "key: k\nconditions: done\nprice: $1\nactive_for: 1:30\nreview_window: 0x10\n"
    assert messages_of(document) == [
        ("active_for", "'1:30' is not a duration; expected e.g. 90s, 15m, 48h, 7d, 2w or 1h30m"),
        ("review_window", "'0x10' is not a duration; expected e.g. 90s, 15m, 48h, 7d, 2w or 1h30m"),
    ]
    assert (
        load_contract(document.replace("1:30", "3600").replace("0x10", "017")).review_window_s == 17
    )
    signed = document.replace("1:30", "+5").replace("0x10", "-5")
    assert messages_of(signed) == [
        ("active_for", "'+5' is not a duration; expected e.g. 90s, 15m, 48h, 7d, 2w or 1h30m"),
        ("review_window", "a duration cannot be negative, got -5"),
    ]
    assert messages_of(document.replace("1:30", "1_000").replace("0x10", ".inf")) == [
        ("active_for", "'1_000' is not a duration; expected e.g. 90s, 15m, 48h, 7d, 2w or 1h30m"),
        ("review_window", "'.inf' is not a duration; expected e.g. 90s, 15m, 48h, 7d, 2w or 1h30m"),
    ]


# -- prices in YAML, JSON and mappings --------------------------------------------------------


def test_an_unquoted_yaml_amount_is_an_exact_decimal() -> None:
    document = "key: k\nconditions: done\nprice: {amount: 0.1, currency: USD}\n" + WINDOWS
    price = load_contract(document).price
    assert price.amount == Decimal("0.1")
    # Through a float it would have been 0.1000000000000000055511151231257827...
    assert str(price.amount) == "0.1"


def test_an_unquoted_yaml_exponent_is_refused() -> None:
    document = "key: k\nconditions: done\nprice: {amount: 1.5e+3, currency: USD}\n" + WINDOWS
    assert messages_of(document) == [
        ("price", "1.5e+3 is in exponent notation; write the amount in full, e.g. 1500")
    ]


def test_a_mapping_is_validated_like_a_document() -> None:
    contract = load_contract(
        with_fields(price={"amount": Decimal("2.50"), "currency": "EUR"}, conditions=("a", "b"))
    )
    assert contract.price == Money(Decimal("2.5"), "EUR")
    assert contract.conditions == ("a", "b")


def test_a_float_in_a_mapping_is_refused() -> None:
    assert messages_of(with_fields(price={"amount": 0.1, "currency": "USD"})) == [
        ("price", 'the amount 0.1 is a float, which cannot hold money exactly; quote it: "0.1"')
    ]


def test_json_numbers_are_read_as_decimals() -> None:
    document = json.dumps(with_fields(price={"amount": "0", "currency": "JPY"})).replace(
        '"amount": "0"', '"amount": 0.30'
    )
    contract = load_contract(document, format="json")
    assert contract.price == Money(Decimal("0.30"), "JPY")
    assert load_contract(document.encode("utf-8"), format="json").price.amount == Decimal("0.3")


# -- document errors --------------------------------------------------------------------------


def test_a_yaml_syntax_error_is_located() -> None:
    document = "key: k\nconditions: done\n  price: $1\n"
    assert errors_of(document) == [
        FieldError(
            "<document>",
            "invalid YAML: mapping values are not allowed here",
            3,
            8,
            "  price: $1\n       ^",
        )
    ]


def test_a_duplicate_yaml_key_is_refused() -> None:
    document = "key: k\nprice: $1\nconditions: done\nprice: $2\n"
    assert errors_of(document) == [
        FieldError(
            "<document>",
            "invalid YAML: the key 'price' appears twice (first on line 2)",
            4,
            1,
            "price: $2\n^",
        )
    ]


def test_a_leading_bang_is_explained_as_a_yaml_tag() -> None:
    (error,) = errors_of("key: k\nconditions: !disputed\n")
    assert error.message == (
        "invalid YAML: could not determine a constructor for the tag '!disputed';"
        " a value starting with ! is a YAML tag: quote the expression"
    )
    assert (error.line, error.column) == (2, 13)


def test_yaml_tags_for_python_objects_are_refused() -> None:
    (error,) = errors_of("key: !!python/object:os.system x\n")
    assert error.field == "<document>"
    assert error.message.startswith("invalid YAML: could not determine a constructor for the tag")


@pytest.mark.parametrize(
    ("source", "options", "message"),
    [
        ("", {}, "is empty; expected a mapping of contract fields"),
        ("# nothing\n", {}, "is empty; expected a mapping of contract fields"),
        (
            "- a\n- b\n",
            {},
            "expected a mapping of contract fields (conditions, price, ...), got a list",
        ),
        (
            "just text",
            {},
            "expected a mapping of contract fields (conditions, price, ...),"
            " got text ('just text')",
        ),
        (b"\xff\xfe", {}, "is not valid UTF-8 (invalid start byte at byte 0)"),
        ("[" * 50_000, {"format": "json"}, "is nested too deeply"),
        ("[" * 50_000, {}, "is nested too deeply"),
        ('{"key": NaN}', {"format": "json"}, "invalid JSON: NaN is not a number JSON allows"),
        (
            '{"key": "a", "key": "b"}',
            {"format": "json"},
            "invalid JSON: the key 'key' appears twice",
        ),
        (
            "a: 1\n---\nb: 2\n",
            {},
            "invalid YAML: expected a single document in the stream, but found another document",
        ),
        (12, {}, "expected YAML or JSON text or a mapping, got a number (12)"),
    ],
)
def test_document_problems_name_the_document(
    source: Any, options: dict[str, Any], message: str
) -> None:
    assert messages_of(source, **options) == [("<document>", message)]


def test_a_control_character_is_located() -> None:
    assert errors_of('key: "a\x00"\n') == [
        FieldError(
            "<document>",
            "invalid YAML: the character U+0000 is not allowed",
            1,
            8,
            'key: "a\x00"\n       ^',
        )
    ]


def test_a_json_syntax_error_is_located() -> None:
    assert errors_of('{\n  "key": "k",\n  "price": $1\n}', format="json") == [
        FieldError(
            "<document>", "invalid JSON: Expecting value", 3, 12, '  "price": $1\n           ^'
        )
    ]


def test_documents_are_bounded_in_size() -> None:
    document = "key: k\ndescription: " + "x" * MAX_DOCUMENT_BYTES + "\n"
    size = len(document.encode())
    message = f"is {size} bytes; a contract document is at most 65536 bytes"
    assert messages_of(document) == [("<document>", message)]
    assert messages_of(document.encode()) == [("<document>", message)]


# -- conditions -------------------------------------------------------------------------------


def test_a_condition_error_carries_line_column_and_caret() -> None:
    assert errors_of(with_fields(conditions="resolved AND csat >> 4")) == [
        FieldError(
            "conditions",
            'expected a name, a literal or "(" but found ">"',
            1,
            20,
            "resolved AND csat >> 4\n                   ^",
        )
    ]


def test_a_condition_error_in_a_list_names_the_item() -> None:
    document = (
        "key: k\nconditions:\n  - merged\n  - NOT reverted AND (\n  - score > 3\nprice: $1\n"
        + WINDOWS
    )
    assert errors_of(document) == [
        FieldError(
            "conditions[1]",
            'expected a name, a literal or "(" but found the end of the expression',
            1,
            19,
            "NOT reverted AND (\n                  ^",
        )
    ]


def test_every_bad_item_of_a_condition_list_is_reported() -> None:
    errors = errors_of(with_fields(conditions=["a >> 1", "fine", "b <<< 2"]))
    assert [(e.field, e.message, e.line, e.column, e.snippet) for e in errors] == [
        ("conditions[0]", 'expected a name, a literal or "(" but found ">"', 1, 4, "a >> 1\n   ^"),
        ("conditions[2]", 'expected a name, a literal or "(" but found "<"', 1, 4, "b <<< 2\n   ^"),
    ]


def test_a_bound_over_the_whole_list_names_the_item_that_crosses_it() -> None:
    item = " AND ".join(["a"] * 40)  # 79 nodes: two fit in 200, three do not
    assert load_contract(with_fields(conditions=[item, item])).conditions == (item, item)
    assert messages_of(with_fields(conditions=[item] * 6)) == [
        ("conditions[4]", "expression has 241 nodes; at most 200 are allowed")
    ]


def test_a_condition_error_on_a_later_line_of_a_block_scalar() -> None:
    document = "key: k\nconditions: |\n  resolved\n  AND csat >> 4\nprice: $1\n" + WINDOWS
    assert errors_of(document) == [
        FieldError(
            "conditions",
            'expected a name, a literal or "(" but found ">"',
            2,
            11,
            "AND csat >> 4\n          ^",
        )
    ]
    with pytest.raises(ContractError) as caught:
        load_contract(document)
    assert str(caught.value) == (
        'conditions: expected a name, a literal or "(" but found ">" (line 2, column 11)\n'
        "    AND csat >> 4\n"
        "              ^"
    )


# -- canonical form and fingerprint -----------------------------------------------------------


def same(a: Contract, b: Contract) -> bool:
    return contract_to_dict(a) == contract_to_dict(b)


def test_contract_to_dict_is_the_canonical_json_form() -> None:
    contract = load_contract(SPEC_EXAMPLE)
    assert contract_to_dict(contract) == {
        "key": "ticket_resolved",
        "name": "Support ticket resolved",
        "description": (
            "Billed when the AI agent resolves a ticket and the customer does not reopen it."
        ),
        "conditions": "resolved AND NOT reopened AND csat >= 4",
        "price": {"amount": "0.99", "currency": "USD"},
        "active_for": "2d",
        "review_window": "1d",
        "on_timeout": "confirm",
        "after_settlement": "flag",
    }
    assert contract_to_dict(load_contract(with_fields(conditions=["a", "b"])))["conditions"] == [
        "a",
        "b",
    ]


@pytest.mark.parametrize(
    "source", [SPEC_EXAMPLE, with_fields(conditions=["a", "NOT b"], price="¥100")]
)
def test_the_canonical_form_round_trips(source: Any) -> None:
    contract = load_contract(source)
    again = load_contract(contract_to_dict(contract))
    assert same(again, contract)
    assert again == contract  # compiled conditions compare by their canonical text
    through_json = load_contract(json.dumps(contract_to_dict(contract)), format="json")
    assert same(through_json, contract)
    assert contract_fingerprint(through_json) == contract_fingerprint(contract)


def test_the_fingerprint_is_sha256_hex() -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", contract_fingerprint(load_contract(SPEC_EXAMPLE)))


@pytest.mark.parametrize(
    "change",
    [
        {"conditions": "done   AND  NOT refunded"},
        {"conditions": "done and not refunded"},
        {"conditions": ["done", "NOT refunded"]},
        {"conditions": "(done) && !refunded"},
        {"price": {"amount": "1.000", "currency": "usd"}},
        {"price": "USD 1"},
        {"price": {"amount": 1, "currency": "USD"}},
        {"active_for": "60m"},
        {"active_for": 3600},
        {"review_window": "1w"},
        {"review_window": "7d"},
        {"review_window": "168h"},
        {"on_timeout": "cancel"},
        {"name": "  Paid  "},
    ],
)
def test_spelling_does_not_change_the_fingerprint(change: dict[str, Any]) -> None:
    base = with_fields(
        conditions="done AND NOT refunded",
        price="$1",
        active_for="1h",
        review_window="604800",
        name="Paid",
    )
    assert contract_fingerprint(load_contract(base | change)) == contract_fingerprint(
        load_contract(base)
    )


@pytest.mark.parametrize(
    "change",
    [
        {"conditions": "done AND refunded"},
        {"price": "$1.01"},
        {"price": "1 EUR"},
        {"active_for": "2h"},
        {"review_window": "1d"},
        {"on_timeout": "confirm"},
        {"after_settlement": "credit"},
        {"name": "Paid!"},
        {"description": "Billed once."},
        {"key": "other"},
    ],
)
def test_meaning_changes_the_fingerprint(change: dict[str, Any]) -> None:
    base = with_fields(conditions="done AND NOT refunded")
    assert contract_fingerprint(load_contract(base | change)) != contract_fingerprint(
        load_contract(base)
    )


def test_the_fingerprint_of_the_spec_example_is_stable() -> None:
    # Pinned: a change here changes every stored contract's fingerprint (and so its versions).
    assert (
        contract_fingerprint(load_contract(SPEC_EXAMPLE))
        == "sha256:608027ae5f9b94f8f5fb05fc1dd2e6de3153f9749e46937a987f0a355e9af507"
    )


@given(
    price=st.decimals(
        min_value=0, max_value=10**9, places=6, allow_nan=False, allow_infinity=False
    ),
    currency=st.sampled_from(["USD", "EUR", "JPY", "BHD"]),
    active_for_s=st.integers(min_value=1, max_value=366 * 86_400),
    review_window_s=st.integers(min_value=0, max_value=366 * 86_400),
    on_timeout=st.sampled_from(list(OnTimeout)),
    after_settlement=st.sampled_from(list(AfterSettlement)),
)
def test_any_valid_contract_round_trips_through_its_canonical_form(
    *,
    price: Decimal,
    currency: str,
    active_for_s: int,
    review_window_s: int,
    on_timeout: OnTimeout,
    after_settlement: AfterSettlement,
) -> None:
    source = with_fields(
        price={"amount": price, "currency": currency},
        active_for=active_for_s,
        review_window=review_window_s,
        on_timeout=on_timeout.value,
        after_settlement=after_settlement.value,
    )
    contract = load_contract(source)
    again = load_contract(contract_to_dict(contract))
    assert again == contract
    assert same(again, contract)
    assert (again.price, again.active_for_s, again.review_window_s) == (
        Money(price, currency),
        active_for_s,
        review_window_s,
    )
    assert contract_fingerprint(again) == contract_fingerprint(contract)

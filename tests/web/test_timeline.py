"""The plain-words timeline (``earnest.web.timeline``), entry by entry: what each kind of
history entry reads as, the invoice it names, who acted as the caller names them, and odd or
missing data read without an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from earnest.service.history import HistoryEntry
from earnest.web.render import render
from earnest.web.timeline import Step, explanation_clauses, steps

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
OPENED = {
    "contract": "landing",
    "contract_version": 2,
    "customer": "acme",
    "price": {"amount": "12.50", "currency": "EUR"},
    "active_until": "2026-11-25T10:00:00Z",
}


def entry(kind: str, data: dict[str, Any], seq: int = 1, minutes: int = 0) -> HistoryEntry:
    return HistoryEntry(seq, AT + timedelta(minutes=minutes), kind, data, "hash")


def one(kind: str, data: dict[str, Any], **options: Any) -> Step:
    found = steps([entry("opened", OPENED), entry(kind, data, seq=2)], **options)
    return found[1]


def test_an_opened_entry_names_the_terms() -> None:
    (step,) = steps([entry("opened", OPENED)])
    assert step.sentence == (
        "Tracking began for customer acme under contract landing version 2, at a price of"
        " €12.50; it stays open until 25 Nov 2026, 10:00:00 UTC."
    )
    assert (step.seq, step.at, step.kind) == (1, AT, "opened")


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (True, "arrived: true"),
        (False, "arrived: false"),
        (4, "arrived: 4"),
        ("gold", 'arrived: "gold"'),
        (None, "was retracted (no value)"),
    ],
)
def test_a_signal_says_its_value(value: Any, said: str) -> None:
    step = one("signal", {"signal": "tier", "value": value, "at": "2026-11-23T09:58:00Z"})
    assert step.sentence.startswith(f"Signal “tier” {said}")
    assert step.sentence.endswith("at 23 Nov 2026, 09:58:00 UTC.")


def test_a_signal_lists_its_id_arrival_and_data() -> None:
    data = {
        "id": "gh-1",
        "signal": "merged",
        "value": True,
        "at": "2026-11-23T09:00:00Z",
        "received_at": "2026-11-23T10:00:00Z",
        "data": {"sha": "9f1c", "n": 2},
        "late": True,
    }
    step = one("signal", data)
    assert "It came after settlement, so it changes no decision." in step.sentence
    assert step.details == (
        ("Signal id", "gh-1"),
        ("Received", "23 Nov 2026, 10:00:00 UTC"),
        ("Data", '{"n":2,"sha":"9f1c"}'),
    )


@pytest.mark.parametrize(
    ("verdict", "explanation", "sentence", "tone"),
    [
        (
            "met",
            "merged = true ✓ · score > 3: score = 5 ✓ → met",
            "Conditions met: merged is true and score > 3 holds (score is 5).",
            "ok",
        ),
        (
            "failed",
            "merged = true ✓ · score > 3: score = 2 ✗ → failed",
            "Conditions failed: score > 3 does not hold (score is 2).",
            "bad",
        ),
        (
            "undecided",
            "merged unseen ✗ · NOT disputed: disputed unseen ✓ → undecided",
            "Not decided yet: merged not seen yet.",
            "",
        ),
        (
            "failed",
            'tier = "gold": tier = 4 ✗ (a number cannot be compared with a string) → failed',
            'Conditions failed: tier = "gold" does not hold (tier is 4) (a number cannot be'
            " compared with a string).",
            "bad",
        ),
    ],
)
def test_a_check_says_its_verdict_and_why(
    verdict: str, explanation: str, sentence: str, tone: str
) -> None:
    step = one("check", {"verdict": verdict, "values": {}, "explanation": explanation})
    assert step.sentence == sentence
    assert step.tone == tone
    assert len(step.details) == explanation.count(" · ") + 1  # every clause, held or not


def test_the_clauses_of_an_explanation() -> None:
    assert explanation_clauses("completed = true ✓ · score > 3: score unseen ✗ → undecided") == [
        ("completed is true", True),
        ("score > 3 does not hold (score not seen yet)", False),
    ]
    assert explanation_clauses("") == []


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        (
            {"from": "open", "to": "in_review", "reason": "conditions_met", "scheduled": "confirm",
             "review_ends_at": "2026-11-24T10:00:00Z"},
            "Review window opened because the conditions were met; it ends on 24 Nov 2026,"
            " 10:00:00 UTC, and the outcome will then be confirmed.",
        ),
        (
            {"from": "open", "to": "in_review", "reason": "activity_timeout", "scheduled": "cancel",
             "review_ends_at": "2026-11-24T10:00:00Z"},
            "The active period ended, so the review window opened; it ends on 24 Nov 2026,"
            " 10:00:00 UTC, and the outcome will then be cancelled unless a check changes it.",
        ),
        (
            {"from": "in_review", "to": "in_review", "reason": "check", "scheduled": "cancel",
             "review_ends_at": "2026-11-24T10:00:00Z"},
            "The check changed the decision: the outcome will be cancelled when the review"
            " window ends on 24 Nov 2026, 10:00:00 UTC.",
        ),
        (
            {"from": "in_review", "to": "confirmed", "reason": "review_window_ended"},
            "Confirmed when the review window ended.",
        ),
        (
            {"from": "in_review", "to": "cancelled", "reason": "review_window_ended"},
            "Cancelled when the review window ended.",
        ),
        (
            {"from": "open", "to": "confirmed", "reason": "manual_confirm", "by": "ada@example.com",
             "note": "checked"},
            "Confirmed by hand by ada@example.com: “checked”.",
        ),
        (
            {"from": "in_review", "to": "cancelled", "reason": "manual_cancel", "by": "key_1"},
            "Cancelled by hand by key_1.",
        ),
        (
            {"from": "open", "to": "in_review", "reason": "something_new"},
            "Moved from open to in review (something_new).",
        ),
    ],
)  # fmt: skip
def test_a_transition_says_what_moved_it(data: dict[str, Any], sentence: str) -> None:
    assert one("transition", data).sentence == sentence


def test_a_charge_names_its_period_and_invoice() -> None:
    data = {
        "amount": "12.50", "currency": "EUR", "invoice": "inv_1", "ledger_id": 3,
        "period_start": "2026-12-01", "period_end": "2027-01-01",
        "moved_from": {"start": "2026-11-01", "end": "2026-12-01",
                       "why": "that period's invoice was already finalized"},
    }  # fmt: skip
    step = one("charge", data)
    assert step.sentence == "Charged €12.50."
    assert step.invoice == "inv_1"
    assert step.details == (
        ("Billing period", "from 2026-12-01 until 2027-01-01"),
        ("Moved from", "2026-11-01 to 2026-12-01: that period's invoice was already finalized"),
    )


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        ({"amount": "2.5", "currency": "EUR", "reason": "dispute", "note": "half"},
         "Credited €2.50 when the dispute was resolved: “half”."),
        ({"amount": "12.50", "currency": "EUR", "reason": "after_settlement", "signal": "s-9"},
         "Credited €12.50 because a signal after settlement failed the check."),
        ({"amount": "1", "currency": "JPY", "reason": "goodwill"}, "Credited ¥1 (goodwill)."),
    ],
)  # fmt: skip
def test_a_credit_says_why(data: dict[str, Any], sentence: str) -> None:
    step = one("credit", data)
    assert step.sentence == sentence
    assert step.tone == "bad"


def test_disputes_name_who_acted_as_the_caller_says() -> None:
    entries = [
        entry("opened", OPENED),
        entry("dispute", {"action": "opened", "by": "system", "reason": "late signal x failed"}),
        entry(
            "dispute",
            {
                "action": "resolved",
                "by": "ada@example.com",
                "resolution": "credit",
                "amount": "5.00",
                "note": "fair",
            },
        ),
        entry("dispute", {"action": "opened", "by": "ada@example.com", "reason": "wrong"}),
        entry(
            "dispute",
            {"action": "resolved", "by": "ada@example.com", "resolution": "reject", "note": ""},
        ),
    ]
    said = [step.sentence for step in steps(entries, actor=lambda who: "the vendor")[1:]]
    assert said == [
        "Dispute opened automatically: late signal x failed.",
        "Dispute resolved by the vendor with a credit of €5.00: “fair”.",
        "Dispute opened by the vendor: “wrong”.",
        "Dispute rejected by the vendor; the charge stands.",
    ]
    recorded = steps(entries)[2].sentence
    assert recorded == "Dispute resolved by ada@example.com with a credit of €5.00: “fair”."


def test_a_later_page_takes_the_currency_it_is_given() -> None:
    resolved = {"action": "resolved", "by": "a", "resolution": "credit", "amount": "1.00"}
    (step,) = steps([entry("dispute", resolved, seq=300)], currency="GBP")
    assert step.sentence == "Dispute resolved by a with a credit of £1.00."


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("opened", {}),
        ("signal", {}),
        ("check", {}),
        ("transition", {}),
        ("charge", {"amount": "lots", "currency": 7}),
        ("credit", {"amount": None}),
        ("dispute", {}),
        ("flag", {"contested": True, "reason": "late"}),
        ("audit_note", {"b": [1, 2], "a": "x"}),
        ("signal", {"signal": "x", "value": {"nested": True}, "at": "not a time"}),
    ],
)
def test_odd_or_missing_data_still_reads(kind: str, data: dict[str, Any]) -> None:
    (step,) = steps([entry(kind, data)])
    assert step.sentence
    assert step.kind == kind


def test_unknown_kinds_list_their_data() -> None:
    (step,) = steps([entry("audit_note", {"b": [1, 2], "a": "x"})])
    assert step.sentence == "Audit_note: a x, b [1,2]."


def test_the_template_links_invoices_only_when_given_where() -> None:
    timeline = [
        Step(7, AT, "charge", "Charged <b>€1.00</b>.", (("Data", "<i>x</i>"),), "inv_1", "ok")
    ]
    linked = render("_timeline.html", {"timeline": timeline, "invoice_base": "/p/t/invoices/"})
    assert '<a href="/p/t/invoices/inv_1">inv_1</a>' in linked
    assert 'id="entry-7"' in linked
    assert "Charged &lt;b&gt;€1.00&lt;/b&gt;." in linked
    assert "<code>&lt;i&gt;x&lt;/i&gt;</code>" in linked
    plain = render("_timeline.html", {"timeline": timeline})
    assert "<a " not in plain
    assert "inv_1" in plain
    assert "Nothing has happened yet." in render("_timeline.html", {"timeline": []})

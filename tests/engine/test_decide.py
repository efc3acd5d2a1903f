"""Each edge of the outcome lifecycle (SPEC section 4), one example at a time.

Times are minutes after ``T0``; ``at(m)`` reads as "m minutes in". Entries are compared through
:func:`summary`, one readable tuple each, and in full where the data itself is the point.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from earnest.contract import load_contract
from earnest.contract.model import Contract
from earnest.engine import (
    Charge,
    Credit,
    DeadlineReached,
    Decision,
    Effects,
    Entry,
    IllegalTransition,
    Open,
    Outcome,
    ReviewReason,
    Scheduled,
    Settle,
    Signal,
    State,
    decide,
)

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def contract(**fields: Any) -> Contract:
    """The landing page's contract (active 60m, review 10m, on_timeout confirm), adjusted."""
    mapping: dict[str, Any] = {
        "key": "landing",
        "conditions": "completed AND score > 3 AND NOT disputed",
        "price": "$0.99",
        "active_for": "1h",
        "review_window": "10m",
        "on_timeout": "confirm",
    }
    mapping.update(fields)
    return load_contract(mapping)


LANDING = contract()
CANCEL_ON_TIMEOUT = contract(on_timeout="cancel")
INSTANT = contract(review_window="0s")
CREDIT = contract(after_settlement="credit")
IGNORE = contract(after_settlement="ignore")
FREE_CREDIT = contract(price="$0", after_settlement="credit")


def opened(terms: Contract = LANDING, when: datetime = T0) -> Outcome:
    return decide(None, Open(terms, 1, "acme/api#1", "acme"), when).outcome


def signal(name: str, value: Any = True, minutes: float = 0.0) -> Signal:
    return Signal(name, value, at(minutes))


def feed(outcome: Outcome, *steps: tuple[float, Signal | DeadlineReached | Settle]) -> Decision:
    """Apply each (minute, input) in turn: the final outcome, with every step's effects joined."""
    entries: list[Entry] = []
    charges: list[Charge] = []
    credits: list[Credit] = []
    deadline = outcome.deadline
    for minutes, event in steps:
        decision = decide(outcome, event, at(minutes))
        outcome, deadline = decision.outcome, decision.effects.deadline
        entries.extend(decision.effects.entries)
        charges.extend(decision.effects.charges)
        credits.extend(decision.effects.credits)
    return Decision(outcome, Effects(tuple(entries), deadline, tuple(charges), tuple(credits)))


def met(outcome: Outcome, minutes: float = 5) -> Outcome:
    """Meet the landing conditions at ``minutes``."""
    return feed(
        outcome,
        (minutes, signal("completed", True, minutes)),
        (minutes, signal("score", Decimal(4), minutes)),
    ).outcome


def summary(entries: Sequence[Entry]) -> list[tuple[str, datetime, str]]:
    """One readable line per entry: its kind, its time and what matters about it."""
    lines = []
    for entry in entries:
        data = entry.data
        if entry.kind == "signal":
            detail = f"{data['signal']}={data['value']}" + (" late" if data["late"] else "")
        elif entry.kind == "check":
            detail = str(data["verdict"])
        elif entry.kind == "transition":
            detail = f"{data['from']}→{data['to']} {data['scheduled']} ({data['reason']})"
        elif entry.kind in ("charge", "credit"):
            assert isinstance(data["amount"], str), "money in history is decimal text"
            detail = f"{data['amount']} {data['currency']}"
        else:
            detail = ""
        lines.append((entry.kind, entry.at, detail))
    return lines


# Opening --------------------------------------------------------------------------------


def test_opening_records_one_opened_entry_and_runs_no_check() -> None:
    decision = decide(None, Open(LANDING, 3, "acme/api#1", "acme"), T0)

    assert decision.effects.entries == (
        Entry(
            "opened",
            T0,
            {
                "contract": "landing",
                "contract_version": 3,
                "customer": "acme",
                "price": {"amount": "0.99", "currency": "USD"},
                "active_until": at(60),
            },
        ),
    )
    outcome = decision.outcome
    assert (outcome.state, outcome.opened_at, outcome.active_until) == (State.OPEN, T0, at(60))
    assert outcome.last_verdict is None
    assert decision.effects.deadline == at(60)
    assert decision.effects.charges == ()


def test_opening_an_existing_outcome_again_changes_nothing() -> None:
    outcome = feed(opened(), (1, signal("completed"))).outcome

    again = decide(outcome, Open(LANDING, 1, "acme/api#1", "acme"), at(2))

    assert again.outcome == outcome
    assert again.effects.entries == ()


# Signals and values ---------------------------------------------------------------------


def test_a_signal_records_itself_then_a_check_over_the_current_values() -> None:
    decision = decide(opened(), Signal("completed", True, at(1), id="s-1", data={"x": 1}), at(2))

    signal_entry, check_entry = decision.effects.entries
    assert signal_entry == Entry(
        "signal",
        at(2),
        {
            "id": "s-1",
            "signal": "completed",
            "value": True,
            "at": at(1),
            "data": {"x": 1},
            "received_at": at(2),
            "late": False,
        },
    )
    assert (check_entry.kind, check_entry.at, check_entry.data["verdict"]) == (
        "check",
        at(2),
        "undecided",
    )
    assert decision.outcome.values == {"completed": True}
    assert decision.outcome.state is State.OPEN


def test_a_signal_older_than_the_current_value_is_recorded_but_does_not_replace_it() -> None:
    decision = feed(
        opened(),
        (2, signal("score", Decimal(4), minutes=2)),
        (3, signal("score", Decimal(2), minutes=1)),
    )

    assert decision.outcome.values == {"score": Decimal(4)}
    assert [line[2] for line in summary(decision.effects.entries)] == [
        "score=4",
        "undecided",
        "score=2",
        "undecided",  # still 4: a late-arriving older value changes nothing
    ]


def test_on_a_tie_in_at_the_later_arrival_wins() -> None:
    decision = feed(
        opened(),
        (2, signal("score", Decimal(2), minutes=1)),
        (3, signal("score", Decimal(5), minutes=1)),
    )

    assert decision.outcome.values == {"score": Decimal(5)}


def test_a_retraction_unsees_the_name_and_an_older_value_cannot_resurrect_it() -> None:
    decision = feed(
        opened(),
        (1, signal("disputed", True, minutes=1)),
        (3, signal("disputed", None, minutes=3)),
        (4, signal("disputed", True, minutes=2)),  # older than the retraction
    )

    assert decision.outcome.values == {}
    assert decision.outcome.observed["disputed"].at == at(3)
    assert [line[2] for line in summary(decision.effects.entries)] == [
        "disputed=True",
        "failed",
        "disputed=None",
        "undecided",
        "disputed=True",
        "undecided",
    ]


# Open: checks ---------------------------------------------------------------------------


def test_a_met_check_while_open_opens_the_review_scheduled_to_confirm() -> None:
    decision = feed(
        opened(), (5, signal("completed", minutes=5)), (6, signal("score", Decimal(4), minutes=6))
    )

    assert summary(decision.effects.entries) == [
        ("signal", at(5), "completed=True"),
        ("check", at(5), "undecided"),
        ("signal", at(6), "score=4"),
        ("check", at(6), "met"),
        ("transition", at(6), "open→in_review confirm (conditions_met)"),
    ]
    outcome = decision.outcome
    assert outcome.state is State.IN_REVIEW
    assert outcome.scheduled is Scheduled.CONFIRM
    assert outcome.review_reason is ReviewReason.CONDITIONS_MET
    assert outcome.review_ends_at == at(16)
    assert decision.effects.deadline == at(16)
    transition = decision.effects.entries[-1]
    assert transition.data["review_ends_at"] == at(16)


def test_a_failed_or_undecided_check_while_open_stays_open_and_is_remembered() -> None:
    undecided = feed(opened(), (5, signal("completed", minutes=5)))
    failed = feed(undecided.outcome, (6, signal("score", Decimal(3), minutes=6)))

    assert undecided.outcome.state is State.OPEN
    assert str(undecided.outcome.last_verdict) == "undecided"
    assert failed.outcome.state is State.OPEN
    assert str(failed.outcome.last_verdict) == "failed"
    assert [e.kind for e in failed.effects.entries] == ["signal", "check"]


# Activity timeout -----------------------------------------------------------------------


def test_activity_timeout_with_no_failed_check_schedules_the_contracts_on_timeout() -> None:
    for terms, scheduled in ((LANDING, "confirm"), (CANCEL_ON_TIMEOUT, "cancel")):
        decision = feed(opened(terms), (5, signal("completed", minutes=5)), (60, DeadlineReached()))

        assert summary(decision.effects.entries)[2:] == [
            ("transition", at(60), f"open→in_review {scheduled} (activity_timeout)"),
        ]
        outcome = decision.outcome
        assert outcome.review_reason is ReviewReason.ACTIVITY_TIMEOUT
        assert outcome.scheduled == Scheduled(scheduled)
        assert outcome.review_ends_at == at(70)


def test_activity_timeout_after_a_failed_check_schedules_cancel() -> None:
    decision = feed(
        opened(),  # on_timeout confirm, but the last check said failed
        (5, signal("disputed", minutes=5)),
        (61, DeadlineReached()),
    )

    assert summary(decision.effects.entries)[-1] == (
        "transition",
        at(60),
        "open→in_review cancel (activity_timeout)",
    )


def test_activity_timeout_with_no_signal_at_all_follows_on_timeout() -> None:
    decision = feed(opened(), (60, DeadlineReached()))

    assert decision.outcome.scheduled is Scheduled.CONFIRM
    assert decision.outcome.review_ends_at == at(70)


# In review ------------------------------------------------------------------------------


def test_checks_in_review_flip_the_scheduled_decision_both_ways() -> None:
    outcome = met(opened(), 5)  # in review until minute 15, scheduled confirm

    decision = feed(
        outcome,
        (6, signal("disputed", minutes=6)),  # failed → cancel
        (7, signal("score", Decimal(5), minutes=7)),  # still failed: no transition
        (8, signal("disputed", False, minutes=8)),  # met → confirm
    )

    assert summary(decision.effects.entries) == [
        ("signal", at(6), "disputed=True"),
        ("check", at(6), "failed"),
        ("transition", at(6), "in_review→in_review cancel (check)"),
        ("signal", at(7), "score=5"),
        ("check", at(7), "failed"),
        ("signal", at(8), "disputed=False"),
        ("check", at(8), "met"),
        ("transition", at(8), "in_review→in_review confirm (check)"),
    ]
    assert decision.outcome.review_ends_at == at(15)  # the window always runs to its end


def test_an_undecided_check_in_a_conditions_met_review_schedules_cancel() -> None:
    outcome = met(opened(), 5)

    decision = feed(outcome, (6, signal("completed", None, minutes=6)))

    assert summary(decision.effects.entries)[1:] == [
        ("check", at(6), "undecided"),
        ("transition", at(6), "in_review→in_review cancel (check)"),
    ]


def test_an_undecided_check_in_an_activity_timeout_review_keeps_on_timeout() -> None:
    outcome = feed(opened(), (5, signal("disputed", minutes=5)), (60, DeadlineReached())).outcome
    assert outcome.scheduled is Scheduled.CANCEL  # the failed check overrode on_timeout

    decision = feed(outcome, (62, signal("disputed", None, minutes=62)))

    assert summary(decision.effects.entries)[1:] == [
        ("check", at(62), "undecided"),
        ("transition", at(62), "in_review→in_review confirm (check)"),
    ]


# Review end and charges -----------------------------------------------------------------


def test_the_end_of_review_confirms_and_books_exactly_one_charge() -> None:
    decision = feed(met(opened(), 5), (20, DeadlineReached()))

    assert summary(decision.effects.entries) == [
        ("transition", at(15), "in_review→confirmed confirm (review_window_ended)"),
        ("charge", at(15), "0.99 USD"),
    ]
    assert decision.effects.charges == (Charge(Decimal("0.99"), "USD", at(15)),)
    assert decision.outcome.state is State.CONFIRMED
    assert decision.outcome.settled_at == at(15)
    assert decision.outcome.charged == Decimal("0.99")
    assert decision.effects.deadline is None

    again = decide(decision.outcome, DeadlineReached(), at(30))
    assert again.effects.entries == ()
    assert again.effects.charges == ()


def test_the_end_of_review_scheduled_to_cancel_cancels_without_a_charge() -> None:
    decision = feed(met(opened(), 5), (6, signal("disputed", minutes=6)), (15, DeadlineReached()))

    assert summary(decision.effects.entries)[-1] == (
        "transition",
        at(15),
        "in_review→cancelled cancel (review_window_ended)",
    )
    assert decision.effects.charges == ()
    assert decision.outcome.state is State.CANCELLED
    assert decision.outcome.charged is None


def test_a_zero_review_window_settles_at_the_instant_the_review_opens() -> None:
    met_now = feed(
        opened(INSTANT),
        (5, signal("completed", minutes=5)),
        (6, signal("score", Decimal(4), minutes=6)),
    )
    timed_out = feed(opened(INSTANT), (90, DeadlineReached()))

    assert summary(met_now.effects.entries)[3:] == [
        ("check", at(6), "met"),
        ("transition", at(6), "open→in_review confirm (conditions_met)"),
        ("transition", at(6), "in_review→confirmed confirm (review_window_ended)"),
        ("charge", at(6), "0.99 USD"),
    ]
    assert summary(timed_out.effects.entries) == [
        ("transition", at(60), "open→in_review confirm (activity_timeout)"),
        ("transition", at(60), "in_review→confirmed confirm (review_window_ended)"),
        ("charge", at(60), "0.99 USD"),
    ]
    assert met_now.outcome.settled_at == at(6)
    assert timed_out.outcome.settled_at == at(60)


# Deadlines before inputs ----------------------------------------------------------------


def test_a_signal_received_after_a_passed_deadline_is_applied_after_that_deadline() -> None:
    # The timer never ran (downtime); the next signal arrives at minute 100.
    decision = feed(met(opened(), 5), (100, signal("disputed", minutes=12)))

    assert summary(decision.effects.entries) == [
        ("transition", at(15), "in_review→confirmed confirm (review_window_ended)"),
        ("charge", at(15), "0.99 USD"),
        ("signal", at(100), "disputed=True late"),
        ("check", at(100), "failed"),
        ("dispute", at(100), ""),
    ]
    assert decision.outcome.state is State.CONFIRMED
    assert decision.outcome.contested is True


def test_every_passed_deadline_fires_in_order_each_stamped_with_its_own_time() -> None:
    decision = feed(opened(CANCEL_ON_TIMEOUT), (500, signal("completed", minutes=499)))

    assert summary(decision.effects.entries) == [
        ("transition", at(60), "open→in_review cancel (activity_timeout)"),
        ("transition", at(70), "in_review→cancelled cancel (review_window_ended)"),
        ("signal", at(500), "completed=True late"),
        ("check", at(500), "undecided"),
    ]


def test_one_decision_lists_deadlines_then_the_signal_its_check_and_what_it_causes() -> None:
    outcome = feed(opened(CANCEL_ON_TIMEOUT), (5, signal("completed", minutes=5))).outcome

    decision = decide(outcome, signal("score", Decimal(4), minutes=61), at(62))

    assert summary(decision.effects.entries) == [
        ("transition", at(60), "open→in_review cancel (activity_timeout)"),
        ("signal", at(62), "score=4"),
        ("check", at(62), "met"),
        ("transition", at(62), "in_review→in_review confirm (check)"),
    ]
    assert decision.effects.deadline == at(70)


def test_a_late_signal_after_missed_deadlines_in_a_zero_window_contract() -> None:
    decision = decide(opened(INSTANT), signal("disputed", minutes=99), at(100))

    assert summary(decision.effects.entries) == [
        ("transition", at(60), "open→in_review confirm (activity_timeout)"),
        ("transition", at(60), "in_review→confirmed confirm (review_window_ended)"),
        ("charge", at(60), "0.99 USD"),
        ("signal", at(100), "disputed=True late"),
        ("check", at(100), "failed"),
        ("dispute", at(100), ""),
    ]
    assert decision.effects.charges == (Charge(Decimal("0.99"), "USD", at(60)),)


def test_a_deadline_equal_to_the_received_time_fires_before_the_signal() -> None:
    decision = feed(opened(), (60, signal("completed", minutes=60)))

    assert summary(decision.effects.entries) == [
        ("transition", at(60), "open→in_review confirm (activity_timeout)"),
        ("signal", at(60), "completed=True"),
        ("check", at(60), "undecided"),
    ]
    assert decision.outcome.review_reason is ReviewReason.ACTIVITY_TIMEOUT


def test_the_engine_never_runs_time_backwards() -> None:
    outcome = feed(opened(), (30, DeadlineReached())).outcome
    assert outcome.clock == at(30)

    decision = decide(outcome, signal("completed", minutes=1), at(10))

    assert [e.at for e in decision.effects.entries] == [at(30), at(30)]
    assert decision.outcome.clock == at(30)


# Manual settlement ----------------------------------------------------------------------


def test_a_manual_confirm_of_an_open_outcome_confirms_and_charges_at_once() -> None:
    decision = feed(opened(), (20, Settle(Scheduled.CONFIRM, "verified by hand", by="ops")))

    assert summary(decision.effects.entries) == [
        ("transition", at(20), "open→confirmed confirm (manual_confirm)"),
        ("charge", at(20), "0.99 USD"),
    ]
    assert decision.effects.charges == (Charge(Decimal("0.99"), "USD", at(20)),)
    assert decision.outcome.settled_at == at(20)


def test_a_manual_cancel_in_review_cancels_without_a_charge() -> None:
    decision = feed(met(opened(), 5), (8, Settle(Scheduled.CANCEL, "customer complaint")))

    assert summary(decision.effects.entries) == [
        ("transition", at(8), "in_review→cancelled cancel (manual_cancel)"),
    ]
    # ``scheduled`` keeps what the review would have decided; the admin's note is recorded.
    assert decision.effects.entries[0].data["note"] == "customer complaint"
    assert decision.effects.charges == ()
    assert decision.outcome.state is State.CANCELLED


def test_settling_a_settled_outcome_is_illegal_and_changes_nothing() -> None:
    for decision in Scheduled:
        settled = feed(opened(), (20, Settle(Scheduled.CANCEL, "spam"))).outcome

        with pytest.raises(IllegalTransition):
            decide(settled, Settle(decision, "again"), at(30))
        assert settled.state is State.CANCELLED


def test_a_manual_settle_after_the_window_ended_finds_it_already_settled() -> None:
    outcome = met(opened(), 5)  # review ends at minute 15, unnoticed

    with pytest.raises(IllegalTransition):
        decide(outcome, Settle(Scheduled.CANCEL, "too late"), at(20))


# After settlement -----------------------------------------------------------------------


def test_a_late_signal_is_recorded_and_checked_but_never_changes_the_decision() -> None:
    cancelled = feed(opened(), (20, Settle(Scheduled.CANCEL, "spam"))).outcome

    decision = feed(
        cancelled,
        (30, signal("completed", minutes=30)),
        (31, signal("score", Decimal(9), minutes=31)),
    )

    assert summary(decision.effects.entries) == [
        ("signal", at(30), "completed=True late"),
        ("check", at(30), "undecided"),
        ("signal", at(31), "score=9 late"),
        ("check", at(31), "met"),
    ]
    assert decision.outcome.state is State.CANCELLED
    assert decision.outcome.values == {"completed": True, "score": Decimal(9)}
    assert decision.outcome.last_verdict is None  # still the verdict it was settled on


def dispute_then_low_score_after_settlement(contract: Contract) -> Decision:
    """Confirm an outcome, then send two late signals that each make its check fail."""
    confirmed = feed(met(opened(contract), 5), (15, DeadlineReached())).outcome
    return feed(
        confirmed,
        (20, signal("disputed", minutes=20)),
        (21, signal("score", Decimal(1), minutes=21)),
    )


def test_a_late_failed_check_on_a_confirmed_outcome_flags_it_contested_once() -> None:
    decision = dispute_then_low_score_after_settlement(LANDING)

    assert summary(decision.effects.entries) == [
        ("signal", at(20), "disputed=True late"),
        ("check", at(20), "failed"),
        ("dispute", at(20), ""),
        ("signal", at(21), "score=1 late"),
        ("check", at(21), "failed"),
    ]
    assert decision.effects.entries[2].data == {
        "action": "opened", "by": "system", "signal": None,
        "reason": "late signal disputed failed the check",
    }  # fmt: skip
    assert decision.outcome.contested is True
    assert decision.outcome.state is State.CONFIRMED
    assert decision.effects.credits == ()


def test_a_late_failed_check_with_credit_books_the_remaining_charge_once() -> None:
    decision = dispute_then_low_score_after_settlement(CREDIT)

    assert summary(decision.effects.entries) == [
        ("signal", at(20), "disputed=True late"),
        ("check", at(20), "failed"),
        ("credit", at(20), "0.99 USD"),
        ("signal", at(21), "score=1 late"),
        ("check", at(21), "failed"),
    ]
    assert [(c.amount, c.currency, c.at) for c in decision.effects.credits] == [
        (Decimal("0.99"), "USD", at(20))
    ]
    assert decision.outcome.credited == Decimal("0.99")
    assert decision.outcome.contested is False


def test_a_late_failed_check_with_ignore_records_it_and_does_nothing_else() -> None:
    confirmed = feed(met(opened(IGNORE), 5), (15, DeadlineReached())).outcome

    decision = feed(confirmed, (20, signal("disputed", minutes=20)))

    assert [e.kind for e in decision.effects.entries] == ["signal", "check"]
    assert decision.outcome.contested is False
    assert decision.effects.credits == ()


def test_a_late_failed_check_on_a_cancelled_outcome_does_nothing() -> None:
    cancelled = feed(opened(CREDIT), (20, Settle(Scheduled.CANCEL, "spam"))).outcome

    decision = feed(cancelled, (30, signal("disputed", minutes=30)))

    assert [e.kind for e in decision.effects.entries] == ["signal", "check"]
    assert decision.effects.credits == ()
    assert decision.outcome.contested is False


def test_a_late_failed_check_credits_nothing_when_nothing_remains() -> None:
    confirmed = feed(met(opened(FREE_CREDIT), 5), (15, DeadlineReached()))
    assert confirmed.effects.charges == (Charge(Decimal(0), "USD", at(15)),)

    decision = feed(confirmed.outcome, (20, signal("disputed", minutes=20)))

    assert [e.kind for e in decision.effects.entries] == ["signal", "check"]
    assert decision.effects.credits == ()


@pytest.mark.parametrize(
    ("price", "written"),
    [("0.990000 USD", "0.990000"), ("12.50 USD", "12.50"), ("£2", "2"), ("¥100", "100")],
)
def test_charge_and_credit_entries_record_the_price_as_its_exact_decimal_text(
    price: str, written: str
) -> None:
    """Money in history is the amount's decimal text with every digit the contract wrote:
    neither a JSON number nor the currency's display form ("0.99", "2.00")."""
    terms = contract(price=price, after_settlement="credit")
    assert str(terms.price.amount) == written
    confirmed = feed(met(opened(terms), 5), (15, DeadlineReached()))
    credited = feed(confirmed.outcome, (20, signal("disputed", minutes=20)))

    money = [
        e.data
        for e in (*confirmed.effects.entries, *credited.effects.entries)
        if e.kind in ("charge", "credit")
    ]
    assert [(type(d["amount"]), d["amount"], d["currency"]) for d in money] == [
        (str, written, terms.price.currency),
        (str, written, terms.price.currency),
    ]
    assert confirmed.effects.charges == (Charge(Decimal(written), terms.price.currency, at(15)),)
    assert [c.amount for c in credited.effects.credits] == [Decimal(written)]

"""Disputes (SPEC 6) in the service, on SQLite and PostgreSQL: who may open one and when,
reject and credit (full by default, partial, never more than is left), the refusals with
their codes storing nothing, ``after_settlement: flag`` opening a system dispute, and stores
written before disputes existed still replaying."""

from __future__ import annotations

import importlib
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from earnest.engine import CreditExceedsCharge, DisputeOpen, NoOpenDispute, NotConfirmed
from earnest.errors import Invalid
from earnest.rules import UnknownOutcome
from earnest.service.disputes import Disputes
from earnest.service.history import read_history
from earnest.service.ingest import ingest
from earnest.service.replay import replay_verify
from earnest.store import Database
from earnest.store.codec import dumps, entry_hash, from_us, loads
from tests.service.conftest import add_credit, at, execute, rows


def snapshot(db: Database) -> tuple[Any, ...]:
    """Everything a refused request must leave as it was."""
    counts = [
        rows(db, f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in ("history", "ledger", "disputes", "invoices")
    ]
    contested = [bool(c) for (c,) in rows(db, "SELECT contested FROM outcomes ORDER BY id")]
    return (*counts, *contested)


@pytest.fixture
def disputes(filled: Database) -> Disputes:
    return Disputes(filled, lambda: at(4 * 24 * 60))


def test_a_flag_contract_opens_a_system_dispute_naming_the_signal(filled: Database) -> None:
    [dispute] = Disputes(filled, lambda: at(0)).list(limit=10).items
    assert (dispute.contract, dispute.outcome, dispute.state, dispute.opened_by) == (
        "landing", "o1", "open", "system",
    )  # fmt: skip
    assert dispute.reason == "late signal disputed (s5) failed the check"
    # A second failing late signal opens no second one.
    [result] = ingest(filled, [{"contract": "landing", "outcome": "o1", "signal": "score",
                                "value": 1}], at(3 * 24 * 60 + 20))  # fmt: skip
    assert result.status == "accepted"
    assert len(Disputes(filled, lambda: at(0)).list(limit=10).items) == 1


def test_reject_clears_contested_and_keeps_the_charge(filled: Database, disputes: Disputes) -> None:
    answer = disputes.resolve("landing", "o1", "reject", "the customer agreed", actor="key_1")
    assert answer.outcome.contested is False
    assert (answer.dispute.state, answer.dispute.resolution, answer.dispute.resolved_by) == (
        "resolved", "reject", "key_1",
    )  # fmt: skip
    assert rows(filled, "SELECT COUNT(*) FROM ledger WHERE kind = 'credit'")[0][0] == 0
    last = read_history(filled, "landing", "o1")[-1]
    assert (last.kind, last.data["by"], last.data["resolution"]) == ("dispute", "key_1", "reject")
    assert replay_verify(filled).ok


def test_partial_then_default_credit_never_exceed_the_charge(
    filled: Database, disputes: Disputes
) -> None:
    disputes.open("landing", "o3", "half of it was wrong", actor="key_1")
    partial = disputes.resolve("landing", "o3", "credit", "half", amount="0.40", actor="key_1")
    assert partial.dispute.credit_amount == Decimal("0.40")
    assert partial.outcome.credited == Decimal("0.40")
    disputes.open("landing", "o3", "the rest too", actor="key_1")
    before = snapshot(filled)
    with pytest.raises(CreditExceedsCharge) as over:
        disputes.resolve("landing", "o3", "credit", "too much", amount="0.60", actor="key_1")
    assert (over.value.code, over.value.field) == ("credit_exceeds_charge", "amount")
    assert "0.59" in str(over.value)
    assert snapshot(filled) == before
    rest = disputes.resolve("landing", "o3", "credit", "the rest", actor="key_1")
    assert rest.dispute.credit_amount == Decimal("0.59")
    disputes.open("landing", "o3", "again", actor="key_1")
    with pytest.raises(CreditExceedsCharge, match="nothing is left to credit"):
        disputes.resolve("landing", "o3", "credit", "more", actor="key_1")
    credits = rows(filled, "SELECT amount, reason FROM ledger WHERE kind = 'credit' ORDER BY id")
    assert [(Decimal(str(a)), r) for a, r in credits] == [
        (Decimal("0.40"), "dispute: half"), (Decimal("0.59"), "dispute: the rest"),
    ]  # fmt: skip
    entries = [e for e in read_history(filled, "landing", "o3") if e.kind in ("dispute", "credit")]
    assert [(e.kind, e.data.get("action"), e.data.get("amount")) for e in entries] == [
        ("dispute", "opened", None), ("dispute", "resolved", "0.40"), ("credit", None, "0.40"),
        ("dispute", "opened", None), ("dispute", "resolved", "0.59"), ("credit", None, "0.59"),
        ("dispute", "opened", None),
    ]  # fmt: skip
    assert replay_verify(filled).ok


def test_the_refusals_have_their_codes_and_store_nothing(
    filled: Database, disputes: Disputes
) -> None:
    before = snapshot(filled)
    refusals: list[tuple[Any, type[Exception], str]] = [
        (lambda: disputes.open("landing", "o2", "x", actor="k"), NotConfirmed, "not_confirmed"),
        (lambda: disputes.open("landing", "o4", "x", actor="k"), NotConfirmed, "not_confirmed"),
        (lambda: disputes.open("landing", "o1", "x", actor="k"), DisputeOpen, "dispute_open"),
        (lambda: disputes.resolve("landing", "o3", "reject", "x", actor="k"), NoOpenDispute,
         "no_open_dispute"),
        (lambda: disputes.open("landing", "nope", "x", actor="k"), UnknownOutcome,
         "unknown_outcome"),
    ]  # fmt: skip
    for call, kind, code in refusals:
        with pytest.raises(kind) as refused:
            call()
        assert refused.value.code == code  # type: ignore[attr-defined]
    assert snapshot(filled) == before


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "positive"),
        ("-1", "positive"),
        ("0.1234567", "6 decimal places"),
        ("1e2", "decimal"),
        ("NaN", "decimal"),
        ("", "decimal"),
        (True, "decimal"),
        (0.5, "decimal"),
    ],
)
def test_bad_amounts_are_refused_by_field(
    filled: Database, disputes: Disputes, amount: Any, message: str
) -> None:
    before = snapshot(filled)
    with pytest.raises(Invalid, match=message) as refused:
        disputes.resolve("landing", "o1", "credit", "note", amount=amount, actor="k")
    assert refused.value.field == "amount"
    assert snapshot(filled) == before


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda d: d.open("landing", "o3", "", actor="k"), "reason"),
        (lambda d: d.open("landing", "o3", None, actor="k"), "reason"),
        (lambda d: d.open("landing", "o3", "x" * 1001, actor="k"), "reason"),
        (lambda d: d.resolve("landing", "o1", "refund", "n", actor="k"), "resolution"),
        (lambda d: d.resolve("landing", "o1", "reject", "n", amount="1", actor="k"), "amount"),
        (lambda d: d.resolve("landing", "o1", "reject", 5, actor="k"), "note"),
        (lambda d: d.list(state="closed", limit=5), "state"),
    ],
)
def test_bad_fields_are_refused_by_name(
    filled: Database, disputes: Disputes, call: Any, field: str
) -> None:
    before = snapshot(filled)
    with pytest.raises(Invalid) as refused:
        call(disputes)
    assert refused.value.field == field
    assert snapshot(filled) == before


def test_disputes_list_newest_first_with_filters(filled: Database, disputes: Disputes) -> None:
    disputes.open("landing", "o3", "wrong", actor="k")
    disputes.resolve("landing", "o3", "reject", "fine", actor="k")
    disputes.open("credited", "c1", "wrong too", actor="k")
    every = disputes.list(limit=10).items
    assert [(d.outcome, d.state) for d in every] == [
        ("c1", "open"), ("o3", "resolved"), ("o1", "open"),
    ]  # fmt: skip
    assert [d.outcome for d in disputes.list(state="open", limit=10).items] == ["c1", "o1"]
    assert [d.outcome for d in disputes.list(customer="bolt", limit=10).items] == ["c1", "o3"]
    first = disputes.list(limit=1)
    assert first.after is not None
    assert [d.outcome for d in disputes.list(limit=5, after=first.after).items] == ["o3", "o1"]


def test_a_credited_after_settlement_credit_cannot_be_credited_again(
    filled: Database, disputes: Disputes
) -> None:
    add_credit(filled)  # credited/c1 credits its whole charge back on a late failing signal
    disputes.open("credited", "c1", "refund", actor="k")
    with pytest.raises(CreditExceedsCharge, match="nothing is left"):
        disputes.resolve("credited", "c1", "credit", "refund", actor="k")


def _legacy(db: Database) -> None:
    """Make the store look written before disputes existed: o1's dispute entry becomes the
    flag entry it used to be (the chain rehashed from there), and no dispute rows."""
    [(seq, text)] = rows(db, "SELECT seq, data FROM history WHERE kind = 'dispute'")
    flag = {"contested": True, "reason": "after_settlement", "signal": loads(text)["signal"]}
    execute(db, "UPDATE history SET kind = 'flag', data = ? WHERE seq = ?", (dumps(flag), seq))
    execute(db, "DELETE FROM disputes")
    previous = ""
    for seq_, outcome_id, recorded_at, kind, data in rows(
        db, "SELECT seq, outcome_id, recorded_at, kind, data FROM history ORDER BY seq"
    ):
        previous = entry_hash(
            previous, int(seq_), int(outcome_id), int(recorded_at), kind=kind, data=data
        )
        execute(db, "UPDATE history SET hash = ? WHERE seq = ?", (previous, seq_))
    execute(db, "UPDATE chain_head SET hash = ?", (previous,))


def test_outcomes_flagged_before_disputes_migrate_to_open_system_disputes(
    filled: Database,
) -> None:
    _legacy(filled)
    assert replay_verify(filled).ok  # the old flag entry replays as the system dispute
    migration = importlib.import_module("earnest.store.migrations.versions.0004_billing")
    target = filled.target
    url = (
        f"sqlite:///{target}"
        if filled.dialect == "sqlite"
        else "postgresql+psycopg://" + target.split("://", 1)[1]
    )
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        migration.disputes_from_flags(connection)
    engine.dispose()
    [dispute] = Disputes(filled, lambda: at(0)).list(limit=5).items
    assert (dispute.outcome, dispute.state, dispute.opened_by, dispute.reason) == (
        "o1", "open", "system", "late signal s5 failed the check",
    )  # fmt: skip
    assert dispute.opened_at == at(3 * 24 * 60 + 5)
    # ... and it resolves like any other.
    Disputes(filled, lambda: at(5 * 24 * 60)).resolve("landing", "o1", "credit", "ok", actor="k")
    assert replay_verify(filled).ok


def test_a_dispute_time_runs_no_earlier_than_the_outcome(filled: Database) -> None:
    """A dispute stamped before the outcome's clock is applied at that clock: an outcome's
    time never runs backwards."""
    [(clock,)] = rows(filled, "SELECT clock FROM outcomes WHERE ref = 'o3'")
    early = Disputes(filled, lambda: at(0) - timedelta(days=1))
    answer = early.open("landing", "o3", "late complaint", actor="k")
    assert answer.dispute.opened_at == from_us(int(clock))
    assert answer.dispute.opened_at > at(0) - timedelta(days=1)

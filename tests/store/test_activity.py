"""The activity log's storage: append-only, hash-chained, read newest first a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from earnest.store import Database
from earnest.store.activity import (
    ActivityEntry,
    activity_hash,
    append_activity,
    list_activity,
)
from earnest.store.codec import dumps, to_us
from tests.contracts import T0

# (actor, action, subject, before, after)
LOG: list[tuple[str, str, str, dict[str, Any] | None, dict[str, Any] | None]] = [
    ("cli", "contract.saved", "ticket_resolved", None, {"version": 1}),
    ("k_admin01", "customer.created", "acme", None, {"name": "Acme", "billing_day": 1}),
    ("k_admin01", "key.created", "k_ingest1", None, {"scope": "ingest"}),
    ("cli", "contract.saved", "ticket_resolved", {"version": 1}, {"version": 2}),
    ("system", "customer.updated", "acme", {"billing_day": 1}, {"billing_day": 15}),
    ("k_admin01", "contract.archived", "landing", {"archived": False}, {"archived": True}),
    ("k_admin01", "key.revoked", "k_ingest1", {"revoked_at": None}, {"revoked_at": "now"}),
]


def append_log(db: Database, log: Sequence[Any] = LOG) -> list[ActivityEntry]:
    """Each ``(actor, action, subject, before, after)`` of ``log``, a minute apart, each in its
    own write transaction."""
    appended = []
    for minute, (actor, action, subject, before, after) in enumerate(log):
        with db.write() as tx:
            appended.append(
                append_activity(
                    tx,
                    at=T0 + timedelta(minutes=minute),
                    actor=actor,
                    action=action,
                    subject=subject,
                    before=before,
                    after=after,
                )
            )
    return appended


def page(db: Database, **filters: Any) -> list[ActivityEntry]:
    with db.read() as tx:
        return list_activity(tx, **filters)


def test_entries_take_consecutive_seqs_and_read_back_as_appended(db: Database) -> None:
    appended = append_log(db)
    assert [e.seq for e in appended] == list(range(1, len(LOG) + 1))
    assert [(e.actor, e.action, e.subject, e.before, e.after) for e in appended] == LOG
    assert appended[3].at == T0 + timedelta(minutes=3)
    # Read back newest first: the same entries, field for field, hash included.
    assert page(db, limit=100) == appended[::-1]
    with db.read() as tx:
        head = tx.one("SELECT seq, hash FROM activity_head WHERE id = 1")
    assert head == (len(LOG), appended[-1].hash)


def test_pages_newest_first_by_cursor(db: Database) -> None:
    append_log(db)
    first = page(db, limit=3)
    assert [e.seq for e in first] == [7, 6, 5]
    second = page(db, limit=3, before_seq=first[-1].seq)
    assert [e.seq for e in second] == [4, 3, 2]
    third = page(db, limit=3, before_seq=second[-1].seq)
    assert [e.seq for e in third] == [1]
    assert page(db, limit=3, before_seq=1) == []


def test_an_append_after_the_first_page_does_not_shift_the_next(db: Database) -> None:
    append_log(db)
    first = page(db, limit=4)
    with db.write() as tx:
        append_activity(
            tx, at=T0, actor="cli", action="settings.updated", subject="seller", before=None,
            after={"name": "Vendor"},
        )  # fmt: skip
    assert [e.seq for e in page(db, limit=4, before_seq=first[-1].seq)] == [3, 2, 1]
    assert page(db, limit=1)[0].action == "settings.updated"


def test_filters_by_action_prefix_and_subject(db: Database) -> None:
    append_log(db)
    contracts = page(db, limit=100, action_prefix="contract.")
    assert [(e.seq, e.action) for e in contracts] == [
        (6, "contract.archived"),
        (4, "contract.saved"),
        (1, "contract.saved"),
    ]
    acme = page(db, limit=100, subject="acme")
    assert [(e.seq, e.action) for e in acme] == [(5, "customer.updated"), (2, "customer.created")]
    both = page(db, limit=1, action_prefix="contract.saved", subject="ticket_resolved")
    assert [e.seq for e in both] == [4]
    # A prefix is compared exactly: no wildcards, no case folding.
    assert page(db, limit=100, action_prefix="Contract.") == []
    assert page(db, limit=100, action_prefix="key_") == []
    assert page(db, limit=100, action_prefix="%") == []


def test_values_keep_decimals_and_nulls(db: Database) -> None:
    before = {"price": {"amount": Decimal("0.990"), "currency": "USD"}, "email": None}
    after = {"price": {"amount": Decimal("1.25"), "currency": "USD"}, "email": "a@b.example"}
    with db.write() as tx:
        stored = append_activity(
            tx, at=T0, actor="cli", action="contract.saved", subject="landing", before=before,
            after=after,
        )  # fmt: skip
    [read] = page(db, limit=10)
    assert read == stored
    assert read.before == before
    assert read.before is not None
    assert str(read.before["price"]["amount"]) == "0.990"
    assert read.after == after


def test_a_rolled_back_append_leaves_no_trace(db: Database) -> None:
    append_log(db)

    def append_then_fail() -> None:
        with db.write() as tx:
            append_activity(
                tx, at=T0, actor="cli", action="key.created", subject="k_x", before=None, after={}
            )
            raise RuntimeError("abandoned")

    with pytest.raises(RuntimeError, match="abandoned"):
        append_then_fail()
    with db.write() as tx:
        entry = append_activity(
            tx, at=T0, actor="cli", action="key.created", subject="k_y", before=None, after={}
        )
    assert entry.seq == len(LOG) + 1
    assert [e.subject for e in page(db, limit=2)] == ["k_y", "k_ingest1"]


def test_the_hash_covers_the_previous_hash_and_every_field() -> None:
    fields: dict[str, Any] = {
        "actor": "cli",
        "action": "contract.saved",
        "subject": "landing",
        "before_text": None,
        "after_text": dumps({"version": 1}),
    }
    base = activity_hash("p", 1, 10, **fields)
    assert len(base) == 64
    assert activity_hash("p", 1, 10, **fields) == base
    assert activity_hash("q", 1, 10, **fields) != base
    assert activity_hash("p", 2, 10, **fields) != base
    assert activity_hash("p", 1, 11, **fields) != base
    for name, other in [
        ("actor", "k_1"),
        ("action", "contract.archived"),
        ("subject", "landing2"),
        ("before_text", "null"),  # None is not the text "null"
        ("after_text", None),
    ]:
        assert activity_hash("p", 1, 10, **{**fields, name: other}) != base, name
    # A separator moved between fields is a different entry.
    moved = {**fields, "actor": "cli|contract.saved", "action": "x"}
    assert activity_hash("p", 1, 10, **moved) != base


def test_the_stored_hash_is_the_chain_over_the_stored_columns(db: Database) -> None:
    appended = append_log(db)
    previous = ""
    for entry in appended:
        expected = activity_hash(
            previous,
            entry.seq,
            to_us(entry.at),
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            before_text=None if entry.before is None else dumps(entry.before),
            after_text=None if entry.after is None else dumps(entry.after),
        )
        assert entry.hash == expected
        previous = entry.hash


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("actor", "", "actor must not be empty"),
        ("action", "x" * 65, "action is 65 characters long; at most 64"),
        ("subject", "s" * 256, "subject is 256 characters long; at most 255"),
    ],
)
def test_bounds_are_enforced(db: Database, field: str, value: str, message: str) -> None:
    given = {"actor": "cli", "action": "key.created", "subject": "k_1", field: value}
    with pytest.raises(ValueError, match=message), db.write() as tx:
        append_activity(tx, at=T0, before=None, after=None, **given)
    assert page(db, limit=10) == []


def test_a_page_is_bounded(db: Database) -> None:
    with db.read() as tx:
        for limit in (0, 1_002):
            with pytest.raises(ValueError, match="give 1 to 1001"):
                list_activity(tx, limit=limit)

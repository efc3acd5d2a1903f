"""Reading the two hash chains (the history and the activity log) and the ledger the way
``audit verify`` walks them: in ``seq`` or id order, a chunk at a time, as stored."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from earnest.store.base import Tx

Row = tuple[Any, ...]


def history_head(tx: Tx) -> tuple[int, str]:
    """The history chain's tail: its last ``seq`` and hash."""
    row = tx.one("SELECT seq, hash FROM chain_head WHERE id = 1")
    assert row is not None, "the chain head row is created by the first migration"
    return int(row[0]), str(row[1])


def history_between(tx: Tx, after: int, upto: int, limit: int) -> list[Row]:
    """``(seq, outcome_id, recorded_at, kind, data, hash)`` with ``after < seq <= upto``."""
    return tx.query(
        "SELECT seq, outcome_id, recorded_at, kind, data, hash FROM history"
        " WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
        (after, upto, limit),
    )


def activity_head(tx: Tx) -> tuple[int, str]:
    """The activity chain's tail: its last ``seq`` and hash."""
    row = tx.one("SELECT seq, hash FROM activity_head WHERE id = 1")
    assert row is not None, "the activity head row is created by migration 0003"
    return int(row[0]), str(row[1])


def activity_between(tx: Tx, after: int, upto: int, limit: int) -> list[Row]:
    """``(seq, at, actor, action, subject, before, after, hash)`` with ``after < seq <= upto``."""
    return tx.query(
        "SELECT seq, at, actor, action, subject, before, after, hash FROM activity"
        " WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
        (after, upto, limit),
    )


def outcome_named(tx: Tx, outcome_id: int) -> tuple[str, str] | None:
    """``(contract, ref)`` of an outcome id, when its row exists."""
    row = tx.one("SELECT contract, ref FROM outcomes WHERE id = ?", (outcome_id,))
    return None if row is None else (str(row[0]), str(row[1]))


def ledger_after(tx: Tx, after: int, limit: int) -> list[Row]:
    """``(id, kind, outcome_id, customer, amount, currency, period_start, history_seq,
    period_end, invoice_id)``."""
    return tx.query(
        "SELECT id, kind, outcome_id, customer, amount, currency, period_start, history_seq,"
        " period_end, invoice_id FROM ledger WHERE id > ? ORDER BY id LIMIT ?",
        (after, limit),
    )


def entries_at(tx: Tx, seqs: Iterable[int]) -> list[Row]:
    """``(seq, outcome_id, kind, data)`` of the history entries with these ``seq``."""
    return tx.query_in(
        "SELECT seq, outcome_id, kind, data FROM history WHERE seq IN {values}", seqs
    )


def opened_entries(tx: Tx, outcome_ids: Iterable[int]) -> list[Row]:
    """``(outcome_id, data)`` of each outcome's ``opened`` entry."""
    return tx.query_in(
        "SELECT outcome_id, data FROM history WHERE kind = 'opened' AND outcome_id IN {values}"
        " ORDER BY seq",
        outcome_ids,
    )


def bookings_after(tx: Tx, after: int, limit: int) -> list[Row]:
    """``(seq, outcome_id, kind, data)`` of charge and credit entries after ``seq`` ``after``."""
    return tx.query(
        "SELECT seq, outcome_id, kind, data FROM history"
        " WHERE seq > ? AND kind IN ('charge', 'credit') ORDER BY seq LIMIT ?",
        (after, limit),
    )


def ledger_ids_present(tx: Tx, ids: Iterable[int]) -> set[int]:
    return {
        int(ident) for (ident,) in tx.query_in("SELECT id FROM ledger WHERE id IN {values}", ids)
    }

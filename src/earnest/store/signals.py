"""Signals as received: one row each (idempotency key, payload fingerprint, outcome, time,
the history entry that recorded it). Written by the recorder; read for idempotency."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from earnest.store.base import Tx


def known_ids(tx: Tx, ids: Iterable[str]) -> dict[str, tuple[str, tuple[str, str]]]:
    """For each of ``ids`` already used: its payload fingerprint and its outcome's
    ``(contract, ref)``."""
    rows = tx.query_in(
        "SELECT s.id, s.fingerprint, o.contract, o.ref FROM signals s"
        " JOIN outcomes o ON o.id = s.outcome_id WHERE s.id IN {values}",
        ids,
    )
    return {ident: (fingerprint, (contract, ref)) for ident, fingerprint, contract, ref in rows}


def insert_signals(tx: Tx, rows: Sequence[tuple[str | None, str, int, int, int]]) -> None:
    """``(id, fingerprint, outcome_id, received_at µs, history_seq)`` per signal."""
    tx.insert_rows(
        "signals", ("id", "fingerprint", "outcome_id", "received_at", "history_seq"), rows
    )

"""``earnest audit verify``: prove the history hash chain intact, or name its first bad entry.

Each history row's hash covers the previous row's hash (by global ``seq``) and the row's own
canonical form (``seq | outcome_id | recorded_at | kind | data``), and ``chain_head`` holds the
tail. The walk recomputes every row's hash from its stored columns against the *stored* hash
of the row before it, so an edit is pinned to the row that was edited:

- a hash that does not match its row: the row was edited (or rows were reordered: ``seq`` is
  part of what is hashed, so swapping two rows' content breaks the first of them);
- a gap in ``seq``: a row was removed;
- ``chain_head`` ahead of the last row, or naming another hash: rows were removed at the end.

Rows are read in ``seq`` order, a chunk per read transaction, so memory stays constant. The
head is read first: rows committed after it belong to later writes and are not judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from earnest.store.codec import entry_hash
from earnest.store.db import Database, Tx

CHUNK = 5_000
Problem = Literal["edited", "removed", "truncated"]


@dataclass(frozen=True, slots=True)
class BadEntry:
    seq: int
    problem: Problem
    detail: str
    outcome_id: int | None = None
    contract: str | None = None
    ref: str | None = None

    def describe(self) -> str:
        where = f"entry {self.seq}"
        if self.contract is not None and self.ref is not None:
            where += f" (outcome {self.contract}/{self.ref})"
        return f"{where} {self.problem}: {self.detail}"


@dataclass(frozen=True, slots=True)
class AuditReport:
    ok: bool
    checked: int  # entries whose hash was recomputed and matched
    first_bad: BadEntry | None = None

    def describe(self) -> str:
        if self.first_bad is None:
            return f"ok: {self.checked} entries, chain intact"
        return f"broken: {self.first_bad.describe()} ({self.checked} entries verified before it)"


def verify_chain(db: Database, chunk: int = CHUNK) -> AuditReport:
    """Walk the whole chain in ``seq`` order; stop at the first bad entry."""
    assert chunk > 0
    with db.read() as tx:
        head = tx.one("SELECT seq, hash FROM chain_head WHERE id = 1")
    assert head is not None, "the chain head row is created by the first migration"
    head_seq, head_hash = int(head[0]), str(head[1])
    previous, last_seq, checked = "", 0, 0
    while last_seq < head_seq:
        with db.read() as tx:
            rows = tx.query(
                "SELECT seq, outcome_id, recorded_at, kind, data, hash FROM history"
                " WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                (last_seq, head_seq, chunk),
            )
            if not rows:
                break
            for row in rows:
                bad = _judge(row, last_seq, previous)
                if bad is not None:
                    return _broken(checked, _located(tx, bad))
                previous, last_seq = str(row[5]), int(row[0])
                checked += 1
    if last_seq < head_seq:
        detail = f"the chain head is at {head_seq} but the last entry is {last_seq}"
        return _broken(checked, BadEntry(last_seq + 1, "truncated", detail))
    if previous != head_hash:
        detail = f"the chain head's hash does not match entry {last_seq}'s"
        return _broken(checked, BadEntry(last_seq, "truncated", detail))
    return AuditReport(ok=True, checked=checked)


def _judge(row: tuple[Any, ...], last_seq: int, previous: str) -> BadEntry | None:
    """What is wrong with ``row``, given the seq and stored hash of the row before it."""
    seq, outcome_id, recorded_at, kind, data, stored = row
    seq = int(seq)
    if seq != last_seq + 1:
        missing = last_seq + 1
        detail = f"entries {missing}..{seq - 1} are missing"
        if seq - 1 == missing:
            detail = f"entry {missing} is missing (entry {seq} follows {last_seq})"
        return BadEntry(missing, "removed", detail)
    expected = entry_hash(previous, seq, int(outcome_id), int(recorded_at), kind=kind, data=data)
    if expected == stored:
        return None
    detail = (
        f"stored hash {stored[:12]}… but its content hashes to {expected[:12]}… (edited,"
        " reordered, or the entry before it was rewritten)"
    )
    return BadEntry(seq, "edited", detail, int(outcome_id))


def _broken(checked: int, bad: BadEntry) -> AuditReport:
    return AuditReport(ok=False, checked=checked, first_bad=bad)


def _located(tx: Tx, bad: BadEntry) -> BadEntry:
    """Name the outcome, when its row still exists."""
    if bad.outcome_id is None:
        return bad
    row = tx.one("SELECT contract, ref FROM outcomes WHERE id = ?", (bad.outcome_id,))
    if row is None:
        return bad
    return BadEntry(bad.seq, bad.problem, bad.detail, bad.outcome_id, str(row[0]), str(row[1]))

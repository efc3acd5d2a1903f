"""Invariants of a store after crashes or concurrent writers (SPEC sections 4-7 and 10)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from earnest.service.audit import verify_all
from earnest.service.replay import replay_verify
from earnest.store import Database
from earnest.store.codec import loads, to_us

SETTLED = ("confirmed", "cancelled")


def read_lines(path: Path) -> tuple[list[list[str]], bool]:
    """Complete ``"<count> <id> ..."`` lines of a worker log, and whether the last was torn.

    Only the last line may be torn (no newline, or a count that does not match its ids)."""
    if not path.exists():
        return [], False
    lines = path.read_bytes().decode().split("\n")
    tail = lines.pop()  # text after the last newline: "" unless the last write was torn
    batches: list[list[str]] = []
    for number, line in enumerate(lines):
        count, *ids = line.split(" ") if line else ["0"]
        if int(count) != len(ids):
            assert number == len(lines) - 1, f"{path}: torn line {number} mid-file"
            assert not tail, f"{path}: torn line {number} followed by more text"
            return batches, True
        batches.append(ids)
    return batches, tail != ""


@dataclass
class Report:
    outcomes: int = 0
    signals: int = 0
    history: int = 0
    charges: int = 0
    states: Counter[str] = field(default_factory=Counter)
    extra: list[str] = field(default_factory=list)


def check_store(
    db: Database,
    *,
    acked: list[list[str]],
    intents: list[list[str]],
    final_time: datetime,
) -> Report:
    report = Report()
    with db.read() as tx:
        signals = tx.query("SELECT id, outcome_id, history_seq FROM signals")
        history = tx.query("SELECT seq, outcome_id, kind, data FROM history ORDER BY seq")
        outcomes = tx.query("SELECT id, state, deadline, charged FROM outcomes")
        ledger = tx.query("SELECT kind, outcome_id, history_seq FROM ledger")
        head = tx.one("SELECT seq, hash FROM chain_head WHERE id = 1")
    report.outcomes, report.signals = len(outcomes), len(signals)
    report.history, report.charges = len(history), sum(1 for r in ledger if r[0] == "charge")

    # Every acknowledged signal is stored exactly once; a batch is all or nothing.
    stored = Counter(str(row[0]) for row in signals)
    twice = [ident for ident, n in stored.items() if n != 1]
    assert not twice, f"signal ids stored more than once: {twice[:10]}"
    lost = [ident for batch in acked for ident in batch if ident not in stored]
    assert not lost, f"{len(lost)} acknowledged signals lost, e.g. {lost[:10]}"
    intended: set[str] = set()
    for batch in intents:
        present = sum(1 for ident in batch if ident in stored)
        assert present in (0, len(batch)), f"half-applied batch: {present}/{len(batch)} stored"
        intended.update(batch)
    strays = [ident for ident in stored if ident not in intended]
    assert not strays, f"stored signals no worker sent: {strays[:10]}"

    # The hash chain: every hash up to the head is recomputed by verify_all (in
    # product_verifiers, below); here, that no row lies beyond the head.
    assert head is not None
    assert int(head[0]) == len(history), "chain_head is not the tail"

    # Per outcome: opened first; each signal entry followed by its check; one settlement.
    by_seq = {int(row[0]): row for row in history}
    per_outcome: dict[int, list[tuple[int, str]]] = defaultdict(list)
    settlements: Counter[int] = Counter()
    settled_as: dict[int, str] = {}
    for seq, outcome_id, kind, data in history:
        per_outcome[int(outcome_id)].append((int(seq), str(kind)))
        if kind == "transition":
            target = loads(data)["to"]
            if target in SETTLED:
                settlements[int(outcome_id)] += 1
                settled_as[int(outcome_id)] = target
    position = {
        seq: (outcome_id, index)
        for outcome_id, entries in per_outcome.items()
        for index, (seq, _) in enumerate(entries)
    }
    for ident, outcome_id, history_seq in signals:
        row = by_seq.get(int(history_seq))
        assert row is not None, f"signal {ident}: no history row {history_seq}"
        assert row[2] == "signal", f"signal {ident}: history {history_seq} is a {row[2]!r}"
        assert int(row[1]) == int(outcome_id), f"signal {ident}: history of another outcome"
        assert loads(row[3])["id"] == ident, f"signal {ident}: history holds another signal"
        owner, index = position[int(history_seq)]
        entries = per_outcome[owner]
        assert index + 1 < len(entries), f"signal {ident}: no check entry after it"
        assert entries[index + 1][1] == "check", f"signal {ident}: followed by {entries[index + 1]}"
    charges: Counter[int] = Counter()
    for kind, outcome_id, history_seq in ledger:
        # Credits (disputes, after_settlement) are checked with invoices: billing_checks.py.
        assert kind in ("charge", "credit"), f"ledger entry {kind} for outcome {outcome_id}"
        charges[int(outcome_id)] += kind == "charge"
        row = by_seq.get(int(history_seq))
        assert row is not None, f"ledger {kind} of {outcome_id}: no history {history_seq}"
        assert (row[2], int(row[1])) == (kind, int(outcome_id)), f"{kind} history mismatch"
    final_us = to_us(final_time)
    for outcome_id, state, deadline, charged in outcomes:
        ident = int(outcome_id)
        report.states[str(state)] += 1
        entries = per_outcome.get(ident, [])
        assert entries, f"outcome {ident} has no history"
        assert entries[0][1] == "opened", f"outcome {ident} starts with {entries[0]}"
        assert sum(1 for _, k in entries if k == "opened") == 1, f"outcome {ident} opened twice"
        assert deadline is None or int(deadline) > final_us, f"outcome {ident}: deadline missed"
        assert state in SETTLED, f"outcome {ident} still {state} after the final pass"
        assert settlements[ident] == 1, f"outcome {ident} settled {settlements[ident]} times"
        assert settled_as[ident] == state, f"outcome {ident}: history says {settled_as[ident]}"
        wanted = 1 if state == "confirmed" else 0
        assert charges[ident] == wanted, f"outcome {ident} ({state}) has {charges[ident]} charges"
        assert (charged is not None) == (state == "confirmed"), f"outcome {ident}: charged"
    unknown = set(charges) - {int(row[0]) for row in outcomes}
    assert not unknown, f"charges for unknown outcomes {sorted(unknown)[:10]}"
    report.extra = product_verifiers(db)
    return report


def product_verifiers(db: Database) -> list[str]:
    """The product's own verifiers must agree: ``earnest audit verify`` (both hash chains, the
    ledger against its entries, finalized invoices as frozen) and ``replay --verify``."""
    audit = verify_all(db)
    assert audit.ok, f"audit verify: {audit.lines()}"
    replay = replay_verify(db)
    assert replay.ok, f"replay_verify: {replay}"
    return ["audit.verify_all ok", "replay.replay_verify ok"]

"""The outbox reads what an event's data needs once per transaction, not once per event.

A batch that puts many outcomes in review writes one ``outcome.in_review`` event each; their
data (the outcome as the API shows it) includes the outcome's ledger entries, read for the
whole batch at once. A batch whose outcomes have no ledger entry yet (the common case: none
is settled) must not read the ledger again for every event: that made ingest 14% slower with
one endpoint (``benchmarks/ingest.py --webhook``, B1w).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from earnest.contract import load_contract
from earnest.service import recorder
from earnest.service.ingest import ingest
from earnest.service.webhooks import Webhooks
from earnest.store import Database, ledger
from earnest.store.contracts import save_contract
from tests.service.conftest import rows

CONTRACT = """
active_for: 2h
review_window: 1h
price: 2.50 USD
conditions: done
"""


def test_the_ledger_is_read_once_per_transaction(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    with db.write() as tx:
        save_contract(tx, load_contract(CONTRACT, key="quick"), now)
    Webhooks(db, lambda: now).create("https://a.example/hook", actor="k")
    reads: list[int] = []
    entries_of = ledger.entries_of

    def counted(tx: Any, ids: Any) -> Any:
        reads.append(1)
        return entries_of(tx, ids)

    monkeypatch.setattr(recorder, "entries_of", counted)
    signals = [
        {"contract": "quick", "outcome": f"o{i}", "customer": "acme", "signal": "done"}
        for i in range(50)
    ]
    ingest(db, signals, now)
    assert rows(db, "SELECT COUNT(*) FROM webhook_events WHERE type = 'outcome.in_review'") == [
        (50,)
    ]
    assert len(reads) == 1

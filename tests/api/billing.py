"""What the billing API tests share: confirming outcomes by hand, closing periods, and a
snapshot of everything a refused request must leave as it was."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from earnest.service.invoices import InvoiceClosing
from tests.api.conftest import Api


def outcome_path(ref: str, action: str = "", contract: str = "landing") -> str:
    return f"/v1/outcomes/{contract}/{quote(ref, safe='')}" + (f"/{action}" if action else "")


def confirm(api: Api, ref: str, customer: str = "acme") -> dict[str, Any]:
    """Open ``ref`` for ``customer`` and confirm it by hand, now: a 0.99 USD charge."""
    body = {"contract": "landing", "outcome": ref, "customer": customer}
    opened = api.post("/v1/outcomes", body, scope="ingest")
    assert opened.status_code == 201, opened.text
    settled = api.post(outcome_path(ref, "settle"), {"decision": "confirm", "reason": "by hand"})
    assert settled.status_code == 200, settled.text
    assert settled.json()["state"] == "confirmed"
    return settled.json()  # type: ignore[no-any-return]


def close_periods(api: Api, now: datetime) -> None:
    """Finalize every invoice due by ``now`` (what the scheduler does)."""
    closing = InvoiceClosing(api.db)
    while closing.fire_due(now):
        pass


def snapshot(api: Api) -> tuple[Any, ...]:
    """Counts of every billing table, the activity log, the settings and contested flags."""
    with api.db.read() as tx:
        counts = []
        for table in ("history", "ledger", "disputes", "invoices", "activity", "settings"):
            row = tx.one(f"SELECT COUNT(*) FROM {table}")
            assert row is not None
            counts.append(int(row[0]))
        contested = [bool(c) for (c,) in tx.query("SELECT contested FROM outcomes ORDER BY id")]
    return (*counts, *contested)


def key_id(api: Api, scope: str = "admin") -> str:
    return api.keys[scope].split("_")[1]

"""Billing's edges found in review, on SQLite and PostgreSQL: clocks out of order between
processes, stores written before invoices existed, free contracts, customers that appear
after their period closed, credits that round away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from earnest.contract import load_contract
from earnest.service.audit import verify_all
from earnest.service.customers import Customers
from earnest.service.ingest import ingest
from earnest.service.replay import replay_verify
from earnest.store import Database
from earnest.store.codec import dumps, entry_hash, loads
from earnest.store.contracts import save_contract
from tests.crash.billing_checks import check_billing
from tests.service.conftest import execute, rows
from tests.service.test_invoices import DEC, NOV, QUICK, Billing, Clock, minutes


def test_billing_day_changes_stamped_out_of_order_keep_the_history_in_order(
    billing: Billing,
) -> None:
    billing.clock.now = minutes(1)
    billing.customers.put("acme", {}, actor="cli")
    Customers(billing.db, Clock(minutes(20))).put("acme", {"billing_day": 10}, actor="cli")
    # Another process, its clock ten minutes behind, commits the next change.
    Customers(billing.db, Clock(minutes(10))).put("acme", {"billing_day": 20}, actor="cli")
    since = [int(s) for (s,) in rows(billing.db, "SELECT since FROM billing_days ORDER BY id")]
    assert since == sorted(since)
    billing.contract("usd", "1 USD")
    billing.win("usd", "a", "acme", datetime(2026, 12, 5, tzinfo=UTC))
    now = datetime(2027, 1, 25, tzinfo=UTC)
    billing.close(now)
    billing.clock.now = now
    periods = [(p.start.date().isoformat(), p.end.date().isoformat()) for p, _ in
               billing.invoices.periods("acme")]  # fmt: skip
    assert periods[:3] == [
        ("2026-11-01", "2026-12-01"), ("2026-12-01", "2026-12-20"), ("2026-12-20", "2027-01-20"),
    ]  # fmt: skip
    check_billing(billing.db, final_time=now)


def _strip_invoices_from_history(db: Database) -> None:
    """Make charge entries look written before migration 0004 (``period`` only, no end, no
    invoice), rehashing the chain from the first one changed."""
    for seq, text in rows(db, "SELECT seq, data FROM history WHERE kind IN ('charge', 'credit')"):
        data = loads(text)
        data["period"] = data.pop("period_start")
        for key in ("period_end", "invoice"):
            data.pop(key)
        execute(db, "UPDATE history SET data = ? WHERE seq = ?", (dumps(data), seq))
    previous = ""
    for seq, outcome_id, recorded_at, kind, text in rows(
        db, "SELECT seq, outcome_id, recorded_at, kind, data FROM history ORDER BY seq"
    ):
        previous = entry_hash(previous, int(seq), int(outcome_id), int(recorded_at), kind=kind,
                              data=text)  # fmt: skip
        execute(db, "UPDATE history SET hash = ? WHERE seq = ?", (previous, seq))
    execute(db, "UPDATE chain_head SET hash = ?", (previous,))


def test_a_store_written_before_invoices_still_replays(billing: Billing) -> None:
    billing.contract("usd", "1 USD")
    billing.win("usd", "a", "acme", minutes(10))
    billing.win("usd", "b", "acme", minutes(11))
    billing.close(DEC + timedelta(minutes=5))
    _strip_invoices_from_history(billing.db)
    assert verify_all(billing.db).ok
    report = replay_verify(billing.db)
    assert report.ok, report.differences[:3]
    # ... while a row moved to another invoice is still caught by the entry that names one.
    billing.win("usd", "c", "acme", DEC + timedelta(minutes=10))
    billing.close(DEC + timedelta(hours=2))
    execute(billing.db, "UPDATE ledger SET invoice_id = 'inv_elsewhere' WHERE id = 3")
    assert not replay_verify(billing.db).ok


def test_a_free_contract_books_zero_and_everything_still_verifies(billing: Billing) -> None:
    billing.contract("free", "0 USD")
    billing.win("free", "a", "acme", minutes(10))
    billing.close(DEC + timedelta(minutes=5))
    [row] = billing.invoices.list(limit=5).items
    invoice = billing.invoices.get(row.id)
    assert invoice.document()["lines"][0]["amount"] == "0.00"
    assert invoice.document()["total"] == "0.00"
    assert replay_verify(billing.db).ok
    assert verify_all(billing.db).ok


def test_a_customer_that_appears_after_its_period_closed_starts_in_the_next(
    billing: Billing,
) -> None:
    """A signal stamped before a period end but committed after the close (grace 0, another
    process, a clock behind) names a new customer: its numbers must not come after the
    closed period's, so its first open period is the next one, and the charge moves."""
    billing.settings.put({"invoice_grace": "0s"}, actor="cli")
    billing.contract("usd", "1 USD")
    for customer in ("b", "c"):
        billing.win("usd", f"o-{customer}", customer, minutes(10))
    billing.close(DEC)
    with billing.db.write() as tx:
        save_contract(tx, load_contract(QUICK.format(price="1 USD"), key="late"), NOV)
    late = {"contract": "late", "outcome": "x", "customer": "a", "signal": "done"}
    [result] = ingest(billing.db, [late], DEC - timedelta(hours=2))  # confirmed at DEC - 1h
    assert result.status == "accepted"
    now = datetime(2027, 1, 1, tzinfo=UTC)
    billing.close(now)
    assert [(n, c) for n, c, *_ in billing.numbered()] == [
        ("EARN-000001", "b"), ("EARN-000002", "c"), ("EARN-000003", "a"),
    ]  # fmt: skip
    [(data,)] = rows(billing.db, "SELECT data FROM history WHERE kind = 'charge' AND"
                     " outcome_id = (SELECT id FROM outcomes WHERE ref = 'x')")  # fmt: skip
    assert loads(data)["moved_from"]["start"] == "2026-11-01"
    assert loads(data)["period_start"] == "2026-12-01"
    check_billing(billing.db, final_time=now)


def test_an_entry_stamped_before_its_customer_was_created_is_booked(billing: Billing) -> None:
    billing.contract("usd", "1 USD")
    billing.clock.now = datetime(2026, 12, 3, tzinfo=UTC)
    billing.customers.put("acme", {"billing_day": 2}, actor="cli")  # first period from 12-02
    billing.win("usd", "a", "acme", datetime(2026, 11, 25, tzinfo=UTC))  # stamped before
    billing.close(datetime(2026, 12, 3, 1, tzinfo=UTC))  # its window ends: the charge
    [(invoice_start,)] = rows(billing.db, "SELECT period_start FROM invoices")
    assert int(invoice_start) == int(datetime(2026, 12, 2, tzinfo=UTC).timestamp()) * 10**6
    assert replay_verify(billing.db).ok


def test_a_credit_that_rounds_away_totals_zero_not_minus_zero(billing: Billing) -> None:
    billing.contract("usd", "1 USD")
    billing.win("usd", "a", "acme", minutes(10))
    billing.close(DEC + timedelta(minutes=5))
    billing.clock.now = DEC + timedelta(days=1)
    billing.disputes.open("usd", "a", "tiny", actor="k")
    billing.disputes.resolve("usd", "a", "credit", "tiny", amount="0.004", actor="k")
    [december] = billing.invoices.list(status="draft", limit=5).items
    document = billing.invoices.get(december.id).document()
    assert (document["credits"], document["total"]) == ("0.004", "0.00")
    assert Decimal(document["total"]).is_signed() is False

"""Time at a period's edge (SPEC 4 and 6), on SQLite and PostgreSQL: what a period's invoice
holds depends on when things happened, never on when the scheduler or a request got there.

- A charge whose review window ends one second before the period's end, with no scheduler
  running across the boundary: after the restart it is on the old period's invoice, which is
  finalized with it, whether the deadlines or the closing run first.
- A manual settle (and a dispute's credit) stamped before the period's end whose commit comes
  after the finalization lands in the next period; its history entry says ``moved_from`` and
  the answer names the invoice it is on; the finalized invoice does not change.
- A catch-up after downtime spanning several period ends closes them all, oldest first, one
  number each in SPEC 6's order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.service.customers import Customers
from earnest.service.deadlines import OutcomeDeadlines
from earnest.service.disputes import Disputes
from earnest.service.due import DueWork, drain
from earnest.service.ingest import ingest
from earnest.service.invoices import InvoiceClosing, Invoices, invoice_hash
from earnest.service.outcomes import Outcomes
from earnest.service.scheduler import Scheduler
from earnest.store import Database
from earnest.store.codec import from_us, loads, money_value
from earnest.store.contracts import save_contract
from earnest.store.invoices import invoice_id
from tests.crash.billing_checks import check_billing

NOV = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)  # the end of acme's November period (billing day 1)
GRACE = timedelta(minutes=5)  # the default invoice_grace
SECOND = timedelta(seconds=1)
REVIEWED = """
active_for: 2d
review_window: 1h
price: $5
conditions: done
on_timeout: cancel
"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def start(db: Database, created: datetime = NOV + timedelta(days=2)) -> None:
    with db.write() as tx:
        save_contract(tx, load_contract(REVIEWED, key="reviewed"), NOV)
    Customers(db, Clock(created)).put("acme", {"name": "Acme"}, actor="cli")


def send(db: Database, ref: str, received: datetime, signal: str = "done") -> None:
    item = {"contract": "reviewed", "outcome": ref, "customer": "acme", "signal": signal}
    [result] = ingest(db, [item], received)
    assert result.status == "accepted", result.error


def run_scheduler(db: Database, sources: list[DueWork], now: datetime) -> None:
    """The real scheduler on a clock stopped at ``now``, until nothing is due."""
    clock: Callable[[], datetime] = lambda: now  # noqa: E731
    scheduler = Scheduler(db, sources, clock=clock, poll_s=0.01)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while any((due := s.next_due()) is not None and due <= now for s in sources):
            assert time.monotonic() < deadline, "the scheduler did not catch up"
            time.sleep(0.01)
    finally:
        assert scheduler.stop()
    assert scheduler.errors == 0


def ledger_of(db: Database, ref: str) -> list[tuple[Any, ...]]:
    with db.read() as tx:
        return tx.query(
            "SELECT l.kind, l.amount, l.booked_at, l.invoice_id FROM ledger l"
            " JOIN outcomes o ON o.id = l.outcome_id WHERE o.ref = ? ORDER BY l.id",
            (ref,),
        )


def booking_entries(db: Database, ref: str) -> list[tuple[str, dict[str, Any]]]:
    with db.read() as tx:
        rows = tx.query(
            "SELECT h.kind, h.data FROM history h JOIN outcomes o ON o.id = h.outcome_id"
            " WHERE o.ref = ? AND h.kind IN ('charge', 'credit') ORDER BY h.seq",
            (ref,),
        )
    return [(str(kind), loads(data)) for kind, data in rows]


NOV_INVOICE = invoice_id("acme", NOV, "USD")
DEC_INVOICE = invoice_id("acme", END, "USD")


@pytest.mark.parametrize("order", ["scheduler", "closing alone"])
def test_a_window_ending_a_second_before_the_end_is_on_that_periods_invoice(
    db: Database, order: str
) -> None:
    start(db)
    # Windows ending a second before the end, exactly at it, and a second after; then
    # nothing runs from before the first until well after the end plus the grace.
    for ref, ends in (("before", END - SECOND), ("at", END), ("after", END + SECOND)):
        send(db, ref, ends - timedelta(hours=1))
    restart = END + GRACE + timedelta(minutes=30)
    if order == "scheduler":  # deadlines first, then the closing, as the scheduler polls them
        run_scheduler(db, [OutcomeDeadlines(db), InvoiceClosing(db)], restart)
    else:  # the closing alone must apply the deadlines that fell before the end itself
        assert InvoiceClosing(db).fire_due(restart) == 2  # one deadline fired, one customer
        assert InvoiceClosing(db).fire_due(restart) == 0
        drain(OutcomeDeadlines(db), restart)

    invoices = Invoices(db, Clock(restart))
    november = invoices.get(NOV_INVOICE)
    assert november.row.status == "finalized"
    assert november.row.number == "EARN-000001"
    assert november.row.finalized_at == END + GRACE  # the due time, not the restart's
    assert november.row.period.start == NOV
    assert november.row.period.end == END
    assert (november.subtotal, november.total) == (Decimal(5), Decimal("5.00"))
    assert [(line.contract, line.quantity) for line in november.charges] == [("reviewed", 1)]
    assert november.row.hash == invoice_hash(november)
    [(kind, amount, booked, invoice)] = ledger_of(db, "before")
    assert (kind, money_value(amount), invoice) == ("charge", Decimal(5), NOV_INVOICE)
    assert from_us(int(booked)) == END - SECOND  # its window's end, whenever fired
    [(_, charge)] = booking_entries(db, "before")
    assert charge["invoice"] == NOV_INVOICE
    assert "moved_from" not in charge  # its own period: nothing moved
    # A charge at exactly 00:00 belongs to the period that starts then (SPEC 6).
    for ref in ("at", "after"):
        [(kind, _, _, invoice)] = ledger_of(db, ref)
        assert (kind, invoice) == ("charge", DEC_INVOICE)
    december = invoices.get(DEC_INVOICE)
    assert december.row.status == "draft"
    assert december.row.number is None
    assert december.subtotal == Decimal(10)
    check_billing(db, final_time=restart)


def test_a_settle_stamped_before_the_end_committed_after_finalization_moves_forward(
    db: Database,
) -> None:
    start(db)
    send(db, "charged", END - timedelta(hours=3))  # confirmed at END - 2h, on November's
    send(db, "pending", END - timedelta(hours=2), signal="started")  # open, no charge
    drain(OutcomeDeadlines(db), END - timedelta(hours=1))
    disputes = Disputes(db, Clock(END - timedelta(minutes=30)))
    disputes.open("reviewed", "charged", "not what we asked for", actor="ops")
    closed_at = END + GRACE
    assert InvoiceClosing(db).fire_due(closed_at) == 1
    november = Invoices(db, Clock(closed_at)).get(NOV_INVOICE)
    assert (november.row.number, november.subtotal) == ("EARN-000001", Decimal(5))

    # Both requests arrived before the end (their ``at``), and commit only now.
    before_end = END - timedelta(minutes=1)
    view = Outcomes(db, Clock(closed_at)).settle(
        "reviewed", "pending", Scheduled.CONFIRM, "checked by hand", actor="ops", at=before_end
    )
    charge = view.charge
    assert charge is not None
    assert charge.booked_at == before_end  # the settlement time stays the request's
    assert charge.invoice == DEC_INVOICE  # the answer says which invoice
    assert (charge.period, charge.period_end) == ("2026-12-01", "2027-01-01")
    [(kind, entry)] = booking_entries(db, "pending")
    assert kind == "charge"
    assert entry["invoice"] == DEC_INVOICE
    assert entry["moved_from"]["start"] == "2026-11-01"
    assert entry["moved_from"]["end"] == "2026-12-01"

    resolved = disputes.resolve(
        "reviewed", "charged", "credit", "fair enough", amount="2", actor="ops",
        at=END - timedelta(seconds=10),
    )  # fmt: skip
    assert resolved.dispute.credit_amount == Decimal(2)
    [_, (kind, credit)] = booking_entries(db, "charged")
    assert kind == "credit"
    assert credit["invoice"] == DEC_INVOICE
    assert credit["moved_from"]["end"] == "2026-12-01"

    invoices = Invoices(db, Clock(closed_at))
    assert invoices.get(NOV_INVOICE) == november  # frozen: not a line, not a cent more
    december = invoices.get(DEC_INVOICE)
    assert (december.row.status, december.subtotal, december.credited) == (
        "draft", Decimal(5), Decimal(2),
    )  # fmt: skip
    assert [line.amount for line in december.credits] == [Decimal(2)]
    check_billing(db, final_time=closed_at)


def test_a_catch_up_across_several_period_ends_closes_them_all_in_order(db: Database) -> None:
    start(db, created=datetime(2026, 9, 20, tzinfo=UTC))
    customers = Customers(db, Clock(datetime(2026, 9, 20, 1, tzinfo=UTC)))
    customers.put("zulu", {"billing_day": 15}, actor="cli")  # September 15 to October 15, ...
    customers.put("Zulu", {"billing_day": 15}, actor="cli")  # "Z" < "z" as UTF-8 bytes
    for n, month in enumerate((9, 10, 11, 12)):
        moment = datetime(2026, month, 28, tzinfo=UTC)
        items = [
            {"contract": "reviewed", "outcome": f"{who}-{n}", "customer": who, "signal": "done"}
            for who in ("acme", "zulu", "Zulu")
        ]
        assert [r.status for r in ingest(db, items, moment)] == ["accepted"] * 3
    # Down from the start until January 16: periods ending October 1, October 15, November 1,
    # November 15, December 1, December 15 and January 1, 15 are all due.
    now = datetime(2027, 1, 16, tzinfo=UTC)
    drain(OutcomeDeadlines(db), now)
    drain(InvoiceClosing(db), now)  # the scheduler's catch-up
    assert InvoiceClosing(db).next_due() == datetime(2027, 2, 1, tzinfo=UTC) + GRACE
    with db.read() as tx:
        numbered = tx.query(
            "SELECT number, customer, period_end FROM invoices WHERE number IS NOT NULL"
            " ORDER BY sequence"
        )
    # By period end, then customer id as UTF-8 bytes ("Zulu" before "acme" before "zulu").
    expected = [(who, month) for month in (10, 11, 12, 1) for who in ("acme", "Zulu", "zulu")]
    assert [(customer, _month(end)) for _, customer, end in numbered] == expected
    assert [number for number, _, _ in numbered] == [f"EARN-{n:06d}" for n in range(1, 13)]
    check_billing(db, final_time=now)


def _month(end_us: int) -> int:
    return datetime.fromtimestamp(int(end_us) / 1e6, UTC).month


def test_a_billing_day_change_stamped_before_a_later_booking_leaves_its_period(
    db: Database,
) -> None:
    start(db)
    send(db, "december", END - timedelta(minutes=30))  # its window ends 30 minutes after END
    drain(OutcomeDeadlines(db), END + timedelta(minutes=31))  # in November's grace
    [(_, _, _, invoice)] = ledger_of(db, "december")
    assert invoice == DEC_INVOICE  # December 1 to January 1, as the history stood
    # A change whose clock was read a second before the end and which commits only now
    # (another process; or a clock a little behind): from it, December runs to the 15th.
    Customers(db, Clock(END - SECOND)).put("acme", {"billing_day": 15}, actor="cli")
    now = datetime(2027, 1, 20, tzinfo=UTC)
    drain(InvoiceClosing(db), now)
    # The change takes effect from December's start (the period holding acme's last entry):
    # December keeps its bounds, January is the short one, up to the 15th.
    check_billing(db, final_time=now)
    periods = [
        (p.start.day, p.end.month, p.end.day) for p, _ in Invoices(db, Clock(now)).periods("acme")
    ]
    assert periods[-4:] == [(1, 1, 1), (1, 1, 15), (15, 2, 15), (15, 3, 15)]


def test_a_billing_day_change_stamped_before_the_previous_change_follows_it(
    db: Database,
) -> None:
    start(db)
    Customers(db, Clock(NOV + timedelta(days=10))).put("acme", {"billing_day": 15}, actor="cli")
    # A second change whose clock is a minute behind the first's (another process, or the
    # wall clock stepped back): it must not go before it in the history.
    behind = Clock(NOV + timedelta(days=10) - timedelta(minutes=1))
    Customers(db, behind).put("acme", {"billing_day": 20}, actor="cli")
    send(db, "charged", NOV + timedelta(days=11))
    Customers(db, Clock(NOV)).put("bolt", {}, actor="cli")  # closes with acme, same end
    now = END + GRACE
    drain(OutcomeDeadlines(db), now)
    assert InvoiceClosing(db).fire_due(now) == 2  # acme's and bolt's November
    # The last change counts (SPEC 6): December 1 to December 20, then month to month.
    periods = [(p.start, p.end) for p, _ in Invoices(db, Clock(now)).periods("acme")]
    assert periods[:3] == [
        (NOV, END),
        (END, datetime(2026, 12, 20, tzinfo=UTC)),
        (datetime(2026, 12, 20, tzinfo=UTC), datetime(2027, 1, 20, tzinfo=UTC)),
    ]
    check_billing(db, final_time=now)

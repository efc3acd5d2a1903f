"""``earnest demo``: the traffic generator in virtual time, its stories through the real ingest,
the past history it starts with (finalized invoices, disputes, credits), and the whole command
as a process serving HTTP."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from earnest.app import Earnest
from earnest.demo import (
    CUSTOMER_DETAILS,
    CUSTOMERS,
    Signal,
    Traffic,
    remove_database_files,
    set_up,
    write_history,
)
from earnest.engine.lifecycle import State
from earnest.service.deadlines import catch_up
from earnest.service.ingest import ingest
from earnest.service.invoices import InvoiceClosing
from earnest.service.pages import MAX_LIMIT, every
from earnest.signals import validate_signal
from earnest.store import connect
from earnest.store.outcomes import load_by_ids

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
STEP = timedelta(seconds=1)


@dataclass
class FakeClock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


def generate(seed: int, seconds: int) -> list[tuple[datetime, list[Signal]]]:
    """Every batch the generator sends in ``seconds`` of virtual time, one step a second."""
    clock = FakeClock()
    sent: list[tuple[datetime, list[Signal]]] = []

    def sink(batch: Sequence[Signal]) -> None:
        sent.append((clock.now, list(batch)))

    traffic = Traffic(rng=random.Random(seed), clock=clock, sink=sink)
    for _ in range(seconds):
        traffic.step()
        clock.now += STEP
    return sent


def test_stories_are_deterministic_and_every_signal_validates() -> None:
    first = generate(seed=7, seconds=300)
    assert first == generate(seed=7, seconds=300)
    assert first != generate(seed=8, seconds=300)
    signals = [s for _, batch in first for s in batch]
    # about 4 signals a second
    assert 4 * 300 * 0.8 < len(signals) < 4 * 300 * 1.2
    for received_at, batch in first:
        for raw in batch:
            assert validate_signal(raw, received_at=received_at).id is not None
    by_id: dict[str, list[Signal]] = {}
    for raw in signals:
        by_id.setdefault(raw["id"], []).append(raw)
    resent = {ident: copies for ident, copies in by_id.items() if len(copies) > 1}
    assert resent, "some signals are deliberately sent twice"
    assert all(all(c == copies[0] for c in copies) for copies in resent.values())
    assert len(resent) < len(by_id) * 0.1
    assert {s["customer"] for s in signals if "customer" in s} == set(CUSTOMERS)
    assert {s["contract"] for s in signals} == {
        "ticket_resolved",
        "code_shipped",
        "incident_resolved",
    }
    assert any(s.get("value", True) is None for s in signals), "a revert is retracted"
    assert any(s["signal"] == "csat" and s["value"] < 4 for s in signals)


def test_the_stories_settle_every_way_through_ingest(tmp_path: Path) -> None:
    db = connect(str(tmp_path / "demo.db"))
    db.migrate()
    try:
        set_up(Earnest(db, clock=lambda: T0))
        statuses: Counter[str] = Counter()
        clock = FakeClock(T0 + STEP)

        def sink(batch: Sequence[Signal]) -> None:
            results = ingest(db, batch, clock.now)
            statuses.update(r.status for r in results)
            rejected = [r.error for r in results if r.status == "rejected"]
            assert not rejected

        traffic = Traffic(rng=random.Random(3), clock=clock, sink=sink)
        for _ in range(8 * 60):  # eight minutes of traffic, then time for every window to end
            catch_up(db, clock.now)  # the scheduler's part
            traffic.step()
            clock.now += STEP
        catch_up(db, clock.now + timedelta(minutes=10))
        with db.read() as tx:
            ids = [int(row[0]) for row in tx.query("SELECT id FROM outcomes")]
            outcomes = [stored.outcome for stored in load_by_ids(tx, ids).values()]
    finally:
        db.close()
    assert statuses["duplicate"] == traffic.duplicates_sent > 0
    assert statuses["accepted"] == traffic.sent - traffic.duplicates_sent
    states = Counter(o.state for o in outcomes)
    assert states[State.CONFIRMED] > 10
    assert states[State.CANCELLED] > 10
    assert states[State.OPEN] == states[State.IN_REVIEW] == 0
    assert any(o.contested for o in outcomes), "a ticket reopened after settlement is flagged"
    assert any(o.credited > 0 for o in outcomes), "a PR reverted after settlement is credited"
    assert {o.customer for o in outcomes} == set(CUSTOMERS)


def test_the_history_leaves_finalized_invoices_disputes_and_credits(tmp_path: Path) -> None:
    now = T0
    db = connect(str(tmp_path / "demo.db"))
    db.migrate()
    try:
        app = Earnest(db, clock=lambda: now)
        started = time.monotonic()
        setup, history = write_history(app, now, random.Random(5))
        took = time.monotonic() - started
        finalized = every(
            lambda after: app.invoices.list(status="finalized", limit=MAX_LIMIT, after=after)
        )
        disputes = every(lambda after: app.disputes.list(limit=MAX_LIMIT, after=after))
        customers = {c: app.customers.get(c) for c in CUSTOMERS}
        with db.read() as tx:
            # (charge's invoice, its period start, its finalized_at, credit's invoice, its
            # period start, when the credit was booked) of every credit
            moved = tx.query(
                "SELECT c.invoice_id, ci.period_start, ci.finalized_at, k.invoice_id,"
                " ki.period_start, k.booked_at FROM ledger k"
                " JOIN ledger c ON c.outcome_id = k.outcome_id AND c.kind = 'charge'"
                " JOIN invoices ci ON ci.id = c.invoice_id JOIN invoices ki ON ki.id = k.invoice_id"
                " WHERE k.kind = 'credit'"
            )
        # Live traffic from now on, on the engine's clock, follows the history without a
        # refusal; the scheduler's work goes on.
        statuses: Counter[str] = Counter()
        clock = FakeClock(now + STEP)

        def sink(batch: Sequence[Signal]) -> None:
            statuses.update(r.status for r in ingest(db, batch, clock.now))

        traffic = Traffic(rng=random.Random(3), clock=clock, sink=sink)
        closing = InvoiceClosing(db)
        for _ in range(3 * 60):
            catch_up(db, clock.now)
            closing.fire_due(clock.now)
            traffic.step()
            clock.now += STEP
    finally:
        db.close()
    assert took < 15, f"the history took {took:.1f} s: the demo must start fast"
    assert history.start <= now - timedelta(days=90)
    # customers on different billing days, with names, addresses and tax ids
    assert len({c.billing_day for c in customers.values()}) == len(CUSTOMERS)
    assert all(c.name and c.address and c.tax_id for c in customers.values())
    assert {c: CUSTOMER_DETAILS[c]["name"] for c in CUSTOMERS} == {
        c: found.name for c, found in customers.items()
    }
    # finalized invoices numbered EARN-000001 on, gapless, in SPEC 6's order
    by_sequence = sorted(finalized, key=lambda i: i.sequence or 0)
    assert len(by_sequence) >= 20
    assert [i.number for i in by_sequence] == [
        f"EARN-{n:06d}" for n in range(1, len(by_sequence) + 1)
    ]
    assert history.finalized == [i.number for i in by_sequence]
    order = [(i.period.end, i.customer.encode(), i.currency.encode()) for i in by_sequence]
    assert order == sorted(order)
    assert all(i.period.end < now for i in by_sequence)
    assert {i.customer for i in by_sequence} == set(CUSTOMERS)
    assert history.drafts >= len(CUSTOMERS)
    # a dispute resolved with a partial credit, one rejected, one still open by hand
    by_admin = {d.outcome: d for d in disputes if d.opened_by == setup.admin_id}
    partial = by_admin["T-901"]
    assert (partial.state, partial.resolution, partial.credit_amount) == (
        "resolved",
        "credit",
        Decimal("0.40"),
    )
    assert by_admin["T-903"].resolution == "reject"
    assert by_admin["T-904"].state == "open"
    assert history.disputes == len(disputes)
    # a credit on a later invoice than its charge's, which was finalized before it was booked
    later = [row for row in moved if row[0] != row[3] and row[4] > row[1] and row[2] < row[5]]
    assert later, "a credit lands on a later invoice than its charge"
    assert by_admin["T-902"].credit_ledger_id is not None
    assert statuses["accepted"] == traffic.sent - traffic.duplicates_sent
    assert statuses["rejected"] == 0


def test_only_demo_files_are_removed(tmp_path: Path) -> None:
    demo = tmp_path / "earnest-demo.db"
    for name in ("earnest-demo.db", "earnest-demo.db-wal", "earnest-demo.db-shm", "earnest.db"):
        (tmp_path / name).write_text("x")
    remove_database_files(demo)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earnest.db"]
    with pytest.raises(ValueError, match="refusing"):
        remove_database_files(tmp_path / "earnest.db")
    assert (tmp_path / "earnest.db").exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_serves_traffic_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "demo.db-wal").write_text("stale")  # a previous run's leftovers go
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "EARNEST_DATABASE_URL": str(tmp_path / "no")}
    command = [sys.executable, "-m", "earnest.cli", "demo", "--port", str(port)]
    command += ["--database", str(tmp_path / "demo.db"), "--rate", "20"]
    with (
        (tmp_path / "stderr.txt").open("w") as stderr,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
        ) as process,
    ):
        try:
            base, admin_key, ingest_key, sign_in, evidence = read_banner(process, port)
            outcomes = wait_for_outcomes(base, admin_key)  # once it serves
            assert_dashboard_sign_in(base, *sign_in)
            portal = httpx.get(evidence)  # the customer's evidence pages, no sign-in
            assert portal.status_code == 200, portal.text
            assert "Acme" in portal.text
            assert "Globex" not in portal.text
            assert {item["contract"] for item in outcomes} <= {
                "ticket_resolved",
                "code_shipped",
                "incident_resolved",
            }
            # The history's invoices are there from the start, finalized and numbered.
            answer = httpx.get(
                f"{base}/v1/invoices",
                params={"status": "finalized", "limit": 1000},
                headers=_bearer(admin_key),
            )
            assert answer.status_code == 200, answer.text
            numbers = sorted(item["number"] for item in answer.json()["items"])
            assert numbers[:2] == ["EARN-000001", "EARN-000002"]
            assert numbers == [f"EARN-{n:06d}" for n in range(1, len(numbers) + 1)]
            # The ingest key sends signals and cannot read.
            assert httpx.get(f"{base}/v1/outcomes", headers=_bearer(ingest_key)).status_code == 403
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=5) == 0
            assert process.stdout is not None
            assert "earnest demo: stopped" in process.stdout.read()
        finally:
            if process.poll() is None:
                process.kill()
    logged = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in logged
    # One log format for every logger of the process (uvicorn's included).
    lines = [line for line in logged.splitlines() if line.strip()]
    assert any(" earnest.scheduler: " in line for line in lines)
    form = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")
    assert [line for line in lines if not form.match(line)] == []
    assert not (tmp_path / "no").exists(), "the demo never opens $EARNEST_DATABASE_URL"


def read_banner(
    process: subprocess.Popen[str], port: int
) -> tuple[str, str, str, tuple[str, str], str]:
    """The URL, admin key, ingest key, dashboard sign-in and portal link the demo prints
    before it serves."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C"):
            break
    banner = "".join(lines)
    url = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
    admin = re.search(r"admin key:\s+(\S+)", banner)
    ingest_key = re.search(r"ingest key:\s+(\S+)", banner)
    assert url is not None, banner
    assert admin is not None, banner
    assert ingest_key is not None, banner
    assert int(url.group(1)) == port
    assert "/v1/outcomes/code_shipped/acme%2Fapi%23try-1/history" in banner
    assert f"{url.group(0)}/v1/invoices " in banner
    assert re.search(r"history: .* \d+ finalized invoices \(EARN-000001 to EARN-\d{6}\)", banner)
    dashboard = re.search(r"dashboard:\s+(\S+)\s+sign in as (\S+), password (\S+)", banner)
    assert dashboard is not None, banner
    assert dashboard.group(1) == f"{url.group(0)}/"
    sign_in = (dashboard.group(2), dashboard.group(3))
    evidence = re.search(r"evidence:\s+(\S+)\s+\(acme's evidence pages", banner)
    assert evidence is not None, banner
    assert evidence.group(1).startswith(f"{url.group(0)}/portal/")
    return url.group(0), admin.group(1), ingest_key.group(1), sign_in, evidence.group(1)


def assert_dashboard_sign_in(base: str, email: str, password: str) -> None:
    """The printed sign-in opens the dashboard's overview."""
    with httpx.Client(base_url=base) as browser:
        form = browser.get("/sign-in")
        assert form.status_code == 200, form.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None, form.text
        body = {"email": email, "password": password, "csrf_token": token.group(1)}
        signed_in = browser.post("/sign-in", data=body)
        assert signed_in.status_code == 303, signed_in.text
        overview = browser.get("/")
        assert overview.status_code == 200
        assert "<h1>Overview</h1>" in overview.text
        assert email in overview.text


def wait_for_outcomes(base: str, admin_key: str) -> list[dict[str, object]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").json() == {"status": "ok"}:
                answer = httpx.get(f"{base}/v1/outcomes", headers=_bearer(admin_key))
                assert answer.status_code == 200, answer.text
                items: list[dict[str, object]] = answer.json()["items"]
                if items:
                    return items
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("no outcomes appeared within 20 s")


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_demo_refuses_postgresql() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "earnest.cli", "demo", "--database", "postgresql://x@localhost/y"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert process.returncode == 1
    assert "SQLite" in process.stderr

"""The backtest over real histories: the examples' signal files as ingest and the scheduler
record them, the demo's three months of past history (disputes, credits, billing-day changes,
finalized invoices), and a store that ingest keeps writing while backtests read it."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from earnest.app import Earnest
from earnest.backtest import BacktestReport
from earnest.contract import load_contract
from earnest.demo import write_history
from earnest.files import load_contract_file
from earnest.service.contracts import Contracts
from earnest.service.deadlines import catch_up
from earnest.service.ingest import ingest
from earnest.store import Database, connect
from earnest.timefmt import parse_time
from tests.contracts import T0

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def stopped(at: datetime) -> Callable[[], datetime]:
    """A clock that always reads ``at``."""
    return lambda: at


@pytest.mark.parametrize("name", ["ticket_resolved", "code_shipped", "incident_resolved"])
def test_every_example_backtests_to_no_difference(tmp_path: Path, name: str) -> None:
    lines = [json.loads(line) for line in (EXAMPLES / f"{name}.jsonl").read_text().splitlines()]
    contract = load_contract_file(EXAMPLES / f"{name}.yaml")
    db = connect(str(tmp_path / "examples.db"))
    db.migrate()
    try:
        start = parse_time(lines[0]["at"])
        Contracts(db, lambda: start).save(contract, actor="test")
        clock = start
        for raw in lines:  # received at its `at`, the clock never running backwards
            clock = max(clock, parse_time(raw["at"]))
            catch_up(db, clock)
            [result] = ingest(db, [raw], clock)
            assert result.status != "rejected", result
        for later in (timedelta(0), timedelta(hours=30), timedelta(days=20)):
            now = clock + later
            report = Contracts(db, stopped(now)).backtest(contract, since=start)
            assert report.differences == []
            assert report.version == 1
            assert report.outcomes == len({raw["outcome"] for raw in lines})
        assert report.still_open == 0
        assert report.json()["revenue"][contract.price.currency]["difference"].strip("0.") == ""
    finally:
        db.close()


def test_the_demo_history_backtests_to_no_difference(tmp_path: Path) -> None:
    now = T0
    db = connect(str(tmp_path / "demo.db"))
    db.migrate()
    try:
        app = Earnest(db, clock=lambda: now)
        write_history(app, now, random.Random(5))
        disputed = 0
        for key in ("ticket_resolved", "code_shipped", "incident_resolved"):
            contract = app.contracts.latest(key).contract
            report = app.contracts.backtest(contract, since=now - timedelta(days=120))
            assert report.outcomes > 100
            assert report.differences == [], report.differences[0].json()
            disputed += report.disputed
        assert disputed >= 4  # the history's four disputes by hand, reported
        stricter = (EXAMPLES / "ticket_resolved.yaml").read_text().replace(">= 4", ">= 5")
        since = now - timedelta(days=120)
        report = app.contracts.backtest(load_contract(stricter), since=since)
        assert report.changes.get("confirmed → cancelled", 0) > 0
    finally:
        db.close()


BACKTESTING = """
active_for: 30m
review_window: 20m
price: $0.99
conditions: completed AND score > 3 AND NOT disputed
on_timeout: confirm
"""


def test_a_backtest_during_ingest_reads_one_snapshot(db: Database) -> None:
    """Backtests run over and over while ingest writes: each one sees a consistent store
    (what happened and the recorded signals from one snapshot: no difference with the same
    version), sees no fewer outcomes than the one before, and ingest accepts everything."""
    contract = load_contract(BACKTESTING, key="live")
    Contracts(db, lambda: T0).save(contract, actor="test")
    rng = random.Random(11)
    clock: list[datetime] = [T0]
    done = threading.Event()
    accepted: list[int] = []
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            for batch in range(60):
                items: list[dict[str, Any]] = []
                for n in range(100):
                    ref = f"o{rng.randrange(batch * 20 + 20)}"
                    name = rng.choice(("completed", "score", "score", "disputed"))
                    items.append(
                        {"contract": "live", "outcome": ref, "customer": "acme", "signal": name,
                         "value": rng.randint(1, 5) if name == "score" else True,
                         "id": f"{batch}-{n}"}
                    )  # fmt: skip
                clock[0] += timedelta(minutes=2)
                if batch % 5 == 0:
                    catch_up(db, clock[0])
                results = ingest(db, items, clock[0])
                accepted.append(sum(r.status == "accepted" for r in results))
        except BaseException as error:
            failures.append(error)
        finally:
            db.close()  # this thread's connection
            done.set()

    reports: list[BacktestReport] = []
    thread = threading.Thread(target=writer)
    thread.start()
    contracts = Contracts(db, lambda: clock[0])
    try:
        while not done.is_set() or not reports:
            reports.append(contracts.backtest(contract, since=T0))
    finally:
        thread.join()
    assert not failures, failures
    assert accepted == [100] * 60
    assert len(reports) >= 2
    for report in reports:
        assert report.differences == [], report.differences[0].json()
    counts = [report.outcomes for report in reports]
    assert counts == sorted(counts)
    final = Contracts(db, lambda: clock[0] + timedelta(hours=2)).backtest(contract, since=T0)
    assert final.differences == []
    assert final.signals == 6000
    assert final.still_open == 0

"""A backtest in a child process (what ``POST /v1/contracts/{key}/backtest`` runs): the same
report as in-process, errors as the same code and field, and a cancelled request leaves no
process behind."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from earnest.contract import load_contract
from earnest.errors import Invalid, NotFound
from earnest.service.backtest_apart import BacktestsBusy, Slots, backtest_apart
from earnest.service.contracts import Contracts
from earnest.service.ingest import ingest
from earnest.store import Database, connect
from tests.contracts import LANDING, T0

NOW = T0 + timedelta(days=5)
STRICTER = load_contract(LANDING.replace("score > 3", "score > 4"), key="landing")


@pytest.fixture
def store(tmp_path: Path) -> Database:
    db = connect(str(tmp_path / "apart.db"))
    db.migrate()
    Contracts(db, lambda: T0).save(load_contract(LANDING, key="landing"), actor="test")
    items = [
        {"contract": "landing", "outcome": f"o{n}", "customer": "acme", "signal": name,
         "value": n % 5 + 1 if name == "score" else True}
        for n in range(40) for name in ("completed", "score")
    ]  # fmt: skip
    assert all(r.status == "accepted" for r in ingest(db, items, T0))
    return db


def children() -> set[int]:
    """This process's live child processes."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def test_the_child_answers_what_the_process_itself_would(store: Database) -> None:
    apart = asyncio.run(backtest_apart(store.url, STRICTER, T0 - timedelta(days=1), None, NOW))
    here = Contracts(store, lambda: NOW).backtest(STRICTER, since=T0 - timedelta(days=1))
    assert apart == here.json()
    assert apart["changed"] == 8  # the outcomes scored 4
    store.close()


def test_errors_cross_as_the_same_code_and_field(store: Database) -> None:
    other = load_contract(LANDING, key="other")
    with pytest.raises(NotFound) as missing:
        asyncio.run(backtest_apart(store.url, other, None, None, NOW))
    assert (missing.value.code, missing.value.field) == ("unknown_contract", "key")
    with pytest.raises(Invalid) as backwards:
        asyncio.run(backtest_apart(store.url, STRICTER, NOW, T0, NOW))
    assert (backwards.value.code, backwards.value.field) == ("invalid_range", "since")
    store.close()


def test_a_cancelled_backtest_leaves_no_process(store: Database) -> None:
    before = children()
    started = time.perf_counter()
    asyncio.run(backtest_apart(store.url, STRICTER, None, None, NOW))
    whole_s = time.perf_counter() - started  # a whole run, start-up included
    stopped_s = 0.0

    async def cancel() -> None:
        running = asyncio.ensure_future(backtest_apart(store.url, STRICTER, None, None, NOW))
        for _ in range(400):  # until the child has started (it takes a while to import)
            await asyncio.sleep(0.005)
            if children() - before:
                break
        assert children() - before
        assert not running.done()
        nonlocal stopped_s
        cancelled = time.perf_counter()
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        stopped_s = time.perf_counter() - cancelled

    asyncio.run(cancel())
    assert children() - before == set()
    assert stopped_s < whole_s / 2  # killed, not waited for
    store.close()


def test_only_a_few_run_at_once() -> None:
    slots = Slots(2)
    slots.take()
    slots.take()
    with pytest.raises(BacktestsBusy):
        slots.take()
    slots.give()
    slots.take()

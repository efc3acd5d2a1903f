"""Random histories: signal streams ingested through ``ingest`` at random times, deadlines fired
by ``catch_up`` when the scheduler happens to run, a new version saved midway, some outcomes
settled by hand; then every outcome backtested with the version it opened under reproduces
what happened, exactly, at any later ``now``. A strong check that the backtest and the live
path agree."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earnest.contract import Contract, contract_fingerprint, load_contract
from earnest.engine import Scheduled
from earnest.errors import EarnestError
from earnest.service.contracts import Contracts
from earnest.service.deadlines import catch_up
from earnest.service.ingest import ingest
from earnest.service.outcomes import Outcomes
from earnest.store import Database, connect
from earnest.timefmt import format_time
from tests.contracts import T0

NAMES = ("completed", "score", "disputed", "noise")
VALUES = st.one_of(st.just(True), st.booleans(), st.integers(1, 5), st.none(), st.just("x"))
EVENT = st.tuples(
    st.integers(0, 3 * 3600),  # seconds after the previous event
    st.integers(0, 5),  # which outcome
    st.sampled_from(NAMES),
    VALUES,
    st.one_of(st.none(), st.integers(0, 2 * 3600)),  # occurred this long before received
    st.sampled_from(("signal", "signal", "signal", "signal", "catch up", "settle")),
)
CONTRACT = st.fixed_dictionaries(
    {
        "active_for": st.sampled_from(("30m", "1h", "3h")),
        "review_window": st.sampled_from(("0s", "20m", "1h", "5h")),
        "on_timeout": st.sampled_from(("confirm", "cancel")),
        "after_settlement": st.sampled_from(("flag", "credit", "ignore")),
        "conditions": st.sampled_from(
            ("completed AND score > 3 AND NOT disputed", "completed OR score >= 2", "score > 2")
        ),
    }
)
SERIAL = itertools.count(1)


def contract(key: str, fields: dict[str, str]) -> Contract:
    lines = [f"key: {key}", "price: 0.50 EUR", *(f"{n}: {v}" for n, v in fields.items())]
    return load_contract("\n".join(lines))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = connect(str(Path(tmp_path_factory.mktemp("random")) / "random.db"))
    db.migrate()
    yield db
    db.close()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=CONTRACT,
    second=CONTRACT,
    events=st.lists(EVENT, min_size=1, max_size=40),
    switch=st.integers(0, 40),
    later_s=st.integers(0, 3 * 24 * 3600),
)
def test_the_opening_version_reproduces_every_outcome(
    store: Database,
    *,
    first: dict[str, str],
    second: dict[str, str],
    events: list[tuple[int, int, str, Any, int | None, str]],
    switch: int,
    later_s: int,
) -> None:
    serial = next(SERIAL)
    key = f"random_{serial}"
    start = T0 + timedelta(days=30 * serial)  # each example after the last one: time moves on
    versions = [contract(key, first), contract(key, second)]
    contracts = Contracts(store, lambda: start)
    contracts.save(versions[0], actor="test")
    clock = start
    for index, (delay_s, which, name, value, before_s, kind) in enumerate(events):
        clock += timedelta(seconds=delay_s)
        if index == switch:
            contracts.save(versions[1], actor="test")  # live for outcomes opened from now on
        ref = f"o{which}"
        if kind == "catch up":
            catch_up(store, clock)
        elif kind == "settle":
            decision = Scheduled.CONFIRM if which % 2 else Scheduled.CANCEL
            with contextlib.suppress(EarnestError):  # unknown, or settled: refused, no effect
                Outcomes(store, lambda: start).settle(
                    key, ref, decision, "by hand", actor="ops", at=clock
                )
        else:
            item: dict[str, Any] = {
                "contract": key, "outcome": ref, "signal": name, "value": value,
                "customer": f"c{which % 2}", "id": f"{key}-{index}",
            }  # fmt: skip
            if before_s is not None:
                item["at"] = format_time(clock - timedelta(seconds=before_s))
            [result] = ingest(store, [item], clock)
            assert result.status == "accepted", result
    now = clock + timedelta(seconds=later_s)
    reports = []
    for number, version in enumerate(versions, start=1):
        # until just after now: an outcome opened at now is in the range
        report = Contracts(store, lambda: now).backtest(
            version, since=start, until=now + timedelta(microseconds=1)
        )
        reports.append(report)
        if number == 2 and contract_fingerprint(versions[1]) == contract_fingerprint(versions[0]):
            continue  # an identical second version is never saved: it is version 1
        assert report.version == number
        wrong = [d for d in report.differences if d.contract_version == number]
        assert wrong == [], wrong[0].json()
    outcomes = {f"o{which}" for _, which, _, _, _, kind in events if kind == "signal"}
    assert reports[0].outcomes == len(outcomes)
    assert reports[0].replayed + reports[0].manual == len(outcomes)

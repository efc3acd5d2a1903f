"""Group commit of ``POST /v1/signals`` (decision 0010): signals queued together are ingested
in one transaction, each answered as if it had been sent on its own, one after the other."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from earnest.api.grouping import Answer, GroupCommit
from earnest.api.views import outcome_json

from earnest.api import create_app
from earnest.app import Earnest
from earnest.service.ingest import ingest
from earnest.store import Database, Tx, connect
from earnest.store.codec import to_us
from tests.api.conftest import Api, Clock, _api

Outcome = tuple[str, str | None, Any]


def signal(ident: str, outcome: str, name: str = "completed", **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "contract": "landing",
        "outcome": outcome,
        "customer": "acme",
        "signal": name,
        **extra,
    }


@pytest.fixture
def twin(migrated_template: Path, tmp_path: Path) -> Iterator[Api]:
    """A second API on its own fresh store, for the one-after-the-other reference run."""
    path = tmp_path / "twin.db"
    shutil.copy(migrated_template, path)
    db = connect(str(path))
    try:
        yield from _api(db)
    finally:
        db.close()


def count_writes(monkeypatch: pytest.MonkeyPatch, db: Database) -> list[int]:
    """Count ``db``'s write transactions from now on."""
    real = db.write
    count = [0]

    @contextmanager
    def counted() -> Iterator[Tx]:
        count[0] += 1
        with real() as tx:
            yield tx

    monkeypatch.setattr(db, "write", counted)
    return count


BLOCKER = signal("s-blocker", "o-blocker")


async def submit_together(
    db: Database, clock: Clock, bodies: list[object], times: list[datetime] | None = None
) -> list[Answer | BaseException]:
    """Hold the committer in a first group (``BLOCKER``) until every body is queued behind
    it, so that the bodies form the next group (received at ``times``, default the clock's
    time); their answers, or what they raised."""
    grouping = GroupCommit(db, clock)
    entered, release = threading.Event(), threading.Event()
    real = db.write
    patched = "write" in vars(db)

    @contextmanager
    def gated() -> Iterator[Tx]:
        vars(db)["write"] = real  # the writes after this one go straight through
        entered.set()
        release.wait(timeout=30)
        with real() as tx:
            yield tx

    vars(db)["write"] = gated
    try:
        first = asyncio.ensure_future(grouping.submit(BLOCKER))
        await asyncio.to_thread(entered.wait, 30)
        received = times or [clock.now] * len(bodies)
        rest = [
            asyncio.ensure_future(grouping.submit(body, at))
            for body, at in zip(bodies, received, strict=True)
        ]
        await asyncio.sleep(0)  # each submit runs up to its await: all are queued
        release.set()
        answers = await asyncio.gather(first, *rest, return_exceptions=True)
    finally:
        grouping.close()
        if not patched:
            vars(db).pop("write", None)
    return answers[1:]


def submitted(db: Database, clock: Clock, bodies: list[object]) -> list[Answer]:
    answers = asyncio.run(submit_together(db, clock, bodies))
    assert all(isinstance(a, Answer) for a in answers), answers
    return [a for a in answers if isinstance(a, Answer)]


def summary(answer: Answer) -> Outcome:
    result = answer.result
    if result.outcome is None:
        return (result.status, None if result.error is None else result.error.code, None)
    return (result.status, None, outcome_json(result.outcome, answer.charge))


def signal_count(db: Database) -> int:
    with db.read() as tx:
        row = tx.one("SELECT count(*) FROM signals")
    assert row is not None
    return int(row[0])


MIXED: list[object] = [
    signal("s-1", "o1"),
    signal("s-2", "o1", "score", value=5),
    signal("s-3", "o2", "score", value=2),
    signal("s-1", "o1"),  # the same signal again, in the same group: a duplicate
    signal("s-4", "o2", "completed"),
    {**signal("s-5", "o3"), "contract": "nope"},  # refused on its own: unknown contract
    signal("s-6", "o3", "disputed"),
    signal("s-2", "o1", "score", value=4),  # the id reused for another signal: a conflict
    {"id": "s-7", "contract": "landing", "outcome": "o4", "signal": "completed"},  # no customer
    "not an object",
    signal("s-8", "o3", "completed"),
]


def test_one_group_answers_as_one_after_another(
    api: Api, twin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.landing()
    twin.landing()
    writes = count_writes(monkeypatch, api.db)
    together = submitted(api.db, api.clock, MIXED)
    assert writes[0] == 2  # the blocker's, then the whole group's: one commit
    alone = [submitted(twin.db, twin.clock, [body])[0] for body in MIXED]
    assert [summary(a) for a in together] == [summary(a) for a in alone]
    statuses = [a.result.status for a in together]
    assert statuses == [
        "accepted",
        "accepted",
        "accepted",
        "duplicate",
        "accepted",
        "rejected",
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    errors = [(e.status, e.code, e.field) for a in together if (e := a.result.error)]
    assert errors == [
        (404, "unknown_contract", "contract"),
        (409, "idempotency_conflict", "id"),
        (422, "customer_required", "customer"),
        (422, "invalid_signal", None),
    ]
    assert signal_count(api.db) == 7 == signal_count(twin.db)  # with the blocker
    assert together[1].result.outcome is not None
    assert together[1].result.outcome.state.value == "in_review"
    assert {a.moment for a in together} == {api.clock.now}


def test_failed_group_fails_every_request_and_stores_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.landing()
    real = api.db.write

    @contextmanager
    def failing() -> Iterator[Tx]:
        with real() as tx:
            yield tx  # everything written, then the commit fails
            raise OSError("disk I/O error")

    monkeypatch.setattr(api.db, "write", failing)
    bodies: list[object] = [signal(f"s-{n}", f"o{n % 3}") for n in range(5)]
    answers = asyncio.run(submit_together(api.db, api.clock, bodies))
    assert all(isinstance(a, OSError) and str(a) == "disk I/O error" for a in answers)
    monkeypatch.setattr(api.db, "write", real)
    assert signal_count(api.db) == 0
    assert api.get("/v1/outcomes/landing/o1").status_code == 404


def test_a_failed_commit_is_a_500_for_the_request(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.landing()
    api.post("/v1/signals", signal("s-0", "o0"), scope="ingest")  # the key's last use is noted
    real = api.db.write

    @contextmanager
    def failing() -> Iterator[Tx]:
        with real() as tx:
            yield tx
            raise OSError("disk I/O error")

    monkeypatch.setattr(api.db, "write", failing)
    response = api.post("/v1/signals", signal("s-1", "o1"), scope="ingest")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    monkeypatch.setattr(api.db, "write", real)
    assert signal_count(api.db) == 1


async def post_all(app_api: Api, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST every body at once, on one event loop, to a second app over the same store."""
    app = create_app(Earnest(app_api.db, clock=app_api.clock))
    transport = httpx.ASGITransport(app=cast(Any, app))  # Litestar's scope types are narrower
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        headers = app_api.headers("ingest")
        posts = (http.post("/v1/signals", json=body, headers=headers) for body in bodies)
        return await asyncio.gather(*posts)


def test_concurrent_posts_are_answered_and_stored_once(
    api: Api, twin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.landing()
    twin.landing()
    api.post("/v1/signals", signal("s-first", "o0"), scope="ingest")  # the key's use noted
    twin.post("/v1/signals", signal("s-first", "o0"), scope="ingest")
    writes = count_writes(monkeypatch, api.db)
    # Per outcome the final state does not depend on the order the signals land in.
    bodies = [
        signal(f"s-{n}", f"o{n % 8}", "score", value=n % 8 % 5 + 1)
        if n // 8 % 2
        else signal(f"s-{n}", f"o{n % 8}")
        for n in range(48)
    ]
    responses = asyncio.run(post_all(api, bodies))
    assert writes[0] < len(bodies) // 4  # they arrived together: a few groups, not 48 commits
    assert [r.status_code for r in responses] == [200] * len(bodies)
    for body, response in zip(bodies, responses, strict=True):
        answer = response.json()
        assert answer["duplicate"] is False
        assert answer["signal"]["id"] == body["id"]
        assert answer["outcome"]["outcome"] == body["outcome"]
    assert signal_count(api.db) == len(bodies) + 1
    for body in bodies:
        assert twin.post("/v1/signals", body, scope="ingest").status_code == 200
    for ref in (f"o{n}" for n in range(8)):
        ours = api.get(f"/v1/outcomes/landing/{ref}").json()
        reference = twin.get(f"/v1/outcomes/landing/{ref}").json()
        assert ours == reference


def test_each_signal_is_decided_at_the_time_it_was_received(api: Api) -> None:
    api.landing()
    start = api.clock.now
    times = [start + timedelta(seconds=s) for s in (1, 2, 5, 3)]  # the last was queued late
    bodies: list[object] = [signal(f"s-{n}", f"o{n}") for n in range(4)]
    answers = submitted_at(api, bodies, times)
    # Its engine time never runs backwards: the late one is taken at the latest time before it.
    assert [a.moment for a in answers] == [*times[:3], times[2]]
    with api.db.read() as tx:
        rows = tx.query("SELECT id, received_at FROM signals WHERE id != 's-blocker' ORDER BY id")
    expected = [*times[:3], times[2]]
    assert rows == [(f"s-{n}", to_us(t)) for n, t in enumerate(expected)]


def submitted_at(api: Api, bodies: list[object], times: list[datetime]) -> list[Answer]:
    answers = asyncio.run(submit_together(api.db, api.clock, bodies, times))
    assert all(isinstance(a, Answer) for a in answers), answers
    return [a for a in answers if isinstance(a, Answer)]


def test_the_committer_outlives_a_failed_group(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.landing()
    real = api.db.write
    failures = [OSError("disk I/O error")]

    @contextmanager
    def failing_once() -> Iterator[Tx]:
        if failures:
            raise failures.pop()
        with real() as tx:
            yield tx

    monkeypatch.setattr(api.db, "write", failing_once)

    async def twice() -> tuple[BaseException | Answer, BaseException | Answer]:
        grouping = GroupCommit(api.db, api.clock)
        try:
            first = await asyncio.gather(
                grouping.submit(signal("s-1", "o1")), return_exceptions=True
            )
            second = await grouping.submit(signal("s-2", "o2"))
        finally:
            grouping.close()
        return first[0], second

    first, second = asyncio.run(twice())
    assert isinstance(first, OSError)
    assert isinstance(second, Answer)
    assert second.result.status == "accepted"
    assert signal_count(api.db) == 1


def test_a_closed_group_commit_starts_again(api: Api) -> None:
    api.landing()
    grouping = GroupCommit(api.db, api.clock)
    grouping.close()  # nothing to drain
    answer = asyncio.run(grouping.submit(signal("s-1", "o1")))
    grouping.close()
    assert answer.result.status == "accepted"
    assert signal_count(api.db) == 1


def test_ingest_refuses_engine_times_that_run_backwards(api: Api) -> None:
    api.landing()
    later, earlier = api.clock.now + timedelta(seconds=2), api.clock.now
    bodies: list[object] = [signal("s-1", "o1"), signal("s-2", "o2")]
    with pytest.raises(ValueError, match="never decreasing"):
        ingest(api.db, bodies, [later, earlier])
    with pytest.raises(ValueError, match="one engine time per item"):
        ingest(api.db, bodies, [later])
    assert signal_count(api.db) == 0

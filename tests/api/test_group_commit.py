"""Group commit through the writer (decision 0010, :mod:`earnest.service.writer`): signals
queued together are ingested in one transaction, each answered as if it had been sent on its
own, one after the other; engine times never run backwards; a failed group fails every caller
in it and the writer goes on; closing the writer commits what is queued."""

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

from earnest.api import create_app
from earnest.api.errors import status_of
from earnest.app import Earnest
from earnest.service.ingest import ingest
from earnest.service.outcomes import OutcomeView
from earnest.service.views import outcome_json
from earnest.service.writer import Answer, Writer
from earnest.store import Database, Tx, connect
from earnest.store.codec import to_us
from tests.api.conftest import Api, _api

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
    """Count ``db``'s write transactions from now on (from any thread)."""
    real = db.write
    count = [0]

    @contextmanager
    def counted() -> Iterator[Tx]:
        count[0] += 1
        with real() as tx:
            yield tx

    monkeypatch.setattr(db, "write", counted)
    return count


class Held:
    """The writer's thread held in a job (``async with Held(writer) as held``) until
    :meth:`release`, or the block's end: what is submitted meanwhile queues behind it."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._entered, self._release = threading.Event(), threading.Event()
        self._job: asyncio.Future[None] | None = None

    def _hold(self) -> None:
        self._entered.set()
        self._release.wait(timeout=30)

    async def __aenter__(self) -> Held:
        self._job = asyncio.ensure_future(self.writer.run_async(self._hold))
        await asyncio.to_thread(self._entered.wait, 30)
        return self

    def release(self) -> None:
        self._release.set()

    async def __aexit__(self, *exc: object) -> None:
        self.release()
        assert self._job is not None
        await self._job


async def queued_together(
    writer: Writer, bodies: list[object], times: list[datetime]
) -> list[Answer | BaseException]:
    """Hold the writer's thread in a job until every body is queued behind it, so that the
    bodies form one group (each received at its time); their answers, or what they raised."""
    async with Held(writer):
        waiting = [
            asyncio.ensure_future(writer.submit_async(body, at))
            for body, at in zip(bodies, times, strict=True)
        ]
        await asyncio.sleep(0)  # each submit runs up to its await: all are queued
    return list(await asyncio.gather(*waiting, return_exceptions=True))


def submit_together(
    db: Database, bodies: list[object], times: list[datetime]
) -> list[Answer | BaseException]:
    """:func:`queued_together` on a writer of its own, closed afterwards."""
    writer = Writer(db)
    try:
        return asyncio.run(queued_together(writer, bodies, times))
    finally:
        writer.close()


def answered(answers: list[Answer | BaseException]) -> list[Answer]:
    assert all(isinstance(a, Answer) for a in answers), answers
    return [a for a in answers if isinstance(a, Answer)]


def submitted(api: Api, bodies: list[object]) -> list[Answer]:
    return answered(submit_together(api.db, bodies, [api.clock.now] * len(bodies)))


def summary(answer: Answer) -> Outcome:
    result = answer.result
    if result.outcome is None:
        return (result.status, None if result.error is None else result.error.code, None)
    return (result.status, None, outcome_json(OutcomeView(result.outcome, answer.ledger)))


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
    together = submitted(api, MIXED)
    assert writes[0] == 1  # the whole group: one transaction
    alone = [submitted(twin, [body])[0] for body in MIXED]
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
    errors = [(status_of(e), e.code, e.field) for a in together if (e := a.result.error)]
    assert errors == [
        (404, "unknown_contract", "contract"),
        (409, "idempotency_conflict", "id"),
        (422, "customer_required", "customer"),
        (422, "invalid_signal", None),
    ]
    assert signal_count(api.db) == 6 == signal_count(twin.db)
    assert together[1].result.outcome is not None
    assert together[1].result.outcome.state.value == "in_review"
    assert {a.moment for a in together} == {api.clock.now}


def test_a_group_answers_each_outcome_with_its_ledger(api: Api, twin: Api) -> None:
    """An outcome confirmed by hand has its charge; signals after it, grouped, answer with
    it as a signal sent alone does."""
    api.landing()
    twin.landing()
    for each in (api, twin):
        each.post("/v1/signals", signal("s-0", "o1"), scope="ingest")
        settled = each.post(
            "/v1/outcomes/landing/o1/settle", {"decision": "confirm", "reason": "checked"}
        )
        assert settled.status_code == 200, settled.text
    bodies: list[object] = [signal("s-1", "o1", "score", value=3), signal("s-2", "o2")]
    together = submitted(api, bodies)
    alone = [submitted(twin, [body])[0] for body in bodies]
    assert [summary(a) for a in together] == [summary(a) for a in alone]
    assert [item.kind for item in together[0].ledger] == ["charge"]
    assert together[1].ledger == ()


def test_a_failed_group_fails_every_request_and_stores_nothing(
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
    answers = submit_together(api.db, bodies, [api.clock.now] * len(bodies))
    assert len(answers) == 5
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
    """POST every body at once, on one event loop, to a second app over the same store; its
    writer is held until every signal is queued, as when they arrive during a commit."""
    earnest = Earnest(app_api.db, clock=app_api.clock)
    app = create_app(earnest)
    transport = httpx.ASGITransport(app=cast(Any, app))  # Litestar's scope types are narrower
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        async with Held(earnest.writer):
            queued = [0]
            put = earnest.writer.put

            def counted(item: Any) -> None:
                queued[0] += 1
                put(item)

            earnest.writer.put = counted  # type: ignore[method-assign]
            headers = app_api.headers("ingest")
            posts = [
                asyncio.ensure_future(http.post("/v1/signals", json=body, headers=headers))
                for body in bodies
            ]
            for _ in range(3000):
                if queued[0] == len(bodies):
                    break
                await asyncio.sleep(0.001)
        return list(await asyncio.gather(*posts))


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
    assert writes[0] == 1  # they arrived during a commit: one group, not 48 commits
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
    answers = answered(submit_together(api.db, bodies, times))
    # Its engine time never runs backwards: the late one is taken at the latest time before it.
    expected = [*times[:3], times[2]]
    assert [a.moment for a in answers] == expected
    with api.db.read() as tx:
        rows = tx.query("SELECT id, received_at FROM signals ORDER BY id")
    assert rows == [(f"s-{n}", to_us(t)) for n, t in enumerate(expected)]


def test_engine_times_never_run_backwards_across_groups(api: Api) -> None:
    api.landing()
    start = api.clock.now
    writer = Writer(api.db)
    try:
        first = writer.submit(signal("s-1", "o1"), start + timedelta(seconds=10))
        second = writer.submit(signal("s-2", "o2"), start + timedelta(seconds=4))  # late
        third = writer.submit(signal("s-3", "o3"), start + timedelta(seconds=12))
    finally:
        writer.close()
    assert [a.moment for a in (first, second, third)] == [
        start + timedelta(seconds=10),
        start + timedelta(seconds=10),
        start + timedelta(seconds=12),
    ]


def test_the_writer_outlives_a_failed_group(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
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
    writer = Writer(api.db)
    try:
        with pytest.raises(OSError, match="disk I/O error"):
            writer.submit(signal("s-1", "o1"), api.clock.now)
        second = writer.submit(signal("s-2", "o2"), api.clock.now)
        assert writer.run(lambda: "a job after it") == "a job after it"
    finally:
        writer.close()
    assert second.result.status == "accepted"
    assert signal_count(api.db) == 1


def test_a_failed_job_fails_only_its_caller(api: Api) -> None:
    api.landing()
    writer = Writer(api.db)

    def broken() -> None:
        raise RuntimeError("a bug in a use case")

    try:
        with pytest.raises(RuntimeError, match="a bug in a use case"):
            writer.run(broken)
        assert writer.submit(signal("s-1", "o1"), api.clock.now).result.status == "accepted"
    finally:
        writer.close()
    assert signal_count(api.db) == 1


def test_close_commits_what_is_queued(api: Api) -> None:
    api.landing()
    writer = Writer(api.db)
    bodies: list[object] = [signal(f"s-{n}", f"o{n}") for n in range(5)]

    async def close_while_queued() -> list[Answer | BaseException]:
        async with Held(writer) as held:
            waiting = [
                asyncio.ensure_future(writer.submit_async(body, api.clock.now)) for body in bodies
            ]
            await asyncio.sleep(0)  # all are queued, behind the held job
            closing = asyncio.ensure_future(asyncio.to_thread(writer.close))
            await asyncio.sleep(0.05)
            assert not closing.done()  # close waits for the queue to be drained
            held.release()
            await closing
        return list(await asyncio.gather(*waiting, return_exceptions=True))

    answers = answered(asyncio.run(close_while_queued()))
    assert [a.result.status for a in answers] == ["accepted"] * 5
    assert signal_count(api.db) == 5


def test_a_closed_writer_starts_again(api: Api) -> None:
    api.landing()
    writer = Writer(api.db)
    writer.close()  # nothing to drain
    answer = writer.submit(signal("s-1", "o1"), api.clock.now)
    writer.close()
    answer_async = asyncio.run(writer.submit_async(signal("s-2", "o2"), api.clock.now))
    writer.close()
    assert answer.result.status == answer_async.result.status == "accepted"
    assert signal_count(api.db) == 2


def test_a_group_is_at_most_max_group_signals(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.landing()
    writes = count_writes(monkeypatch, api.db)
    bodies: list[object] = [signal(f"s-{n}", f"o{n}") for n in range(7)]
    writer = Writer(api.db, max_group=3)
    try:
        answers = answered(
            asyncio.run(queued_together(writer, bodies, [api.clock.now] * len(bodies)))
        )
    finally:
        writer.close()
    assert [a.result.status for a in answers] == ["accepted"] * 7
    assert writes[0] == 3  # 3 + 3 + 1


def test_ingest_refuses_engine_times_that_run_backwards(api: Api) -> None:
    api.landing()
    later, earlier = api.clock.now + timedelta(seconds=2), api.clock.now
    bodies: list[object] = [signal("s-1", "o1"), signal("s-2", "o2")]
    with pytest.raises(ValueError, match="never decreasing"):
        ingest(api.db, bodies, [later, earlier])
    with pytest.raises(ValueError, match="one engine time per item"):
        ingest(api.db, bodies, [later])
    assert signal_count(api.db) == 0

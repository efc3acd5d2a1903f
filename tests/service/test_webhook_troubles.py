"""What the dashboard lists of webhook deliveries, on SQLite and PostgreSQL: each endpoint's
newest delivery and its failed and retrying ones counted up to a cap; the failed or
retrying deliveries of every endpoint, newest first, page after page; an endpoint's
deliveries narrowed to one of those states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from earnest.errors import Invalid
from earnest.service.activity import CLI
from earnest.service.webhooks import Webhooks
from earnest.store import Database
from earnest.store.webhooks import summaries
from tests.web.access_webhooks import add_delivery

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def hooks(db: Database) -> Webhooks:
    return Webhooks(db, lambda: T0)


def endpoint(hooks: Webhooks, name: str) -> str:
    found, _ = hooks.create(f"https://hooks.example.com/{name}", actor=CLI)
    return found.id


def test_each_endpoint_with_its_newest_delivery_and_capped_counts(
    db: Database, hooks: Webhooks
) -> None:
    one, two, quiet = endpoint(hooks, "one"), endpoint(hooks, "two"), endpoint(hooks, "quiet")
    for n in range(3):
        add_delivery(db, one, at=T0, failures=8, state="failed", event=f"evt_f{n}")
    add_delivery(db, one, at=T0, failures=2, event="evt_r")
    newest = add_delivery(db, one, at=T0, state="delivered", event="evt_ok")
    add_delivery(db, two, at=T0, event="evt_waiting")  # pending, never tried: neither count
    with db.read() as tx:
        found = summaries(tx, [one, two, quiet], cap=2)
    assert found[one].last == (newest, "delivered", 1, T0)
    assert (found[one].failed, found[one].retrying) == (2, 1)  # 3 failed, counted up to 2
    last = found[two].last
    assert last is not None
    assert last[1:3] == ("pending", 0)
    assert (found[two].failed, found[two].retrying) == (0, 0)
    assert found[quiet].last is None
    listed = {e.id: summary for e, summary in hooks.summaries()}  # one clock: ordered by id
    assert set(listed) == {one, two, quiet}
    assert listed[one].failed == 3


def test_troubles_of_every_endpoint_newest_first_page_after_page(
    db: Database, hooks: Webhooks
) -> None:
    one, two = endpoint(hooks, "one"), endpoint(hooks, "two")
    failed = [
        add_delivery(db, one if n % 3 else two, at=T0, failures=8, state="failed", event=f"e{n}")
        for n in range(7)
    ]
    retrying = add_delivery(db, two, at=T0, failures=1, event="evt_r")
    add_delivery(db, one, at=T0, state="delivered", event="evt_ok")
    first = hooks.troubles("failed", limit=3)
    assert [d.id for d in first.items] == failed[:-4:-1]
    assert [d.endpoint_id for d in first.items] == [two, one, one]
    assert first.after is not None
    second = hooks.troubles("failed", limit=3, after=first.after)
    assert [d.id for d in second.items] == failed[-4:-7:-1]
    assert second.after is not None
    third = hooks.troubles("failed", limit=3, after=second.after)
    assert [d.id for d in third.items] == [failed[0]]
    assert third.after is None
    assert all(len(d.tries) == 8 for d in first.items)
    assert [d.id for d in hooks.troubles("retrying", limit=50).items] == [retrying]
    hooks.delete(two, actor=CLI)  # a deleted endpoint's failures are not listed
    assert {d.endpoint_id for d in hooks.troubles("failed", limit=50).items} == {one}
    with pytest.raises(Invalid, match="state is one of failed, retrying"):
        hooks.troubles("delivered", limit=5)


def test_an_endpoints_deliveries_narrowed_to_a_state(db: Database, hooks: Webhooks) -> None:
    one, two = endpoint(hooks, "one"), endpoint(hooks, "two")
    failed = add_delivery(db, one, at=T0, failures=8, state="failed", event="evt_f")
    add_delivery(db, two, at=T0, failures=8, state="failed", event="evt_other")
    retrying = add_delivery(db, one, at=T0, failures=3, event="evt_r")
    delivered = add_delivery(db, one, at=T0, state="delivered", event="evt_ok")
    page = hooks.deliveries(one, limit=50)
    assert [d.id for d in page.items] == [delivered, retrying, failed]
    assert [d.id for d in hooks.deliveries(one, limit=50, state="failed").items] == [failed]
    assert [d.id for d in hooks.deliveries(one, limit=50, state="retrying").items] == [retrying]
    with pytest.raises(Invalid) as refused:
        hooks.deliveries(one, limit=50, state="pending")
    assert refused.value.field == "state"

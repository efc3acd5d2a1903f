"""Webhooks in the store (SPEC 10): endpoints, the outbox (events and their deliveries),
claims, attempts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from earnest.store.base import Tx
from earnest.store.codec import dumps, from_us, loads, opt_time, to_us

_ENDPOINT = (
    "id, url, events, description, enabled, disabled_reason, secret, previous_secret,"
    " previous_until, created_at"
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    url: str
    events: tuple[str, ...] | None  # None: every event type
    description: str | None
    enabled: bool
    disabled_reason: str | None
    secret: str  # sealed
    previous_secret: str | None  # sealed
    previous_until: datetime | None
    created_at: datetime

    def wants(self, kind: str) -> bool:
        return self.events is None or kind in self.events


def _endpoint(row: Sequence[Any]) -> Endpoint:
    ident, url, events, description, enabled, reason, secret, previous, until, created = row
    return Endpoint(
        ident, url, None if events is None else tuple(loads(events)), description,
        bool(enabled), reason, secret, previous, opt_time(None if until is None else int(until)),
        from_us(int(created)),
    )  # fmt: skip


def insert_endpoint(tx: Tx, endpoint: Endpoint) -> None:
    tx.execute(
        f"INSERT INTO webhook_endpoints ({_ENDPOINT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            endpoint.id, endpoint.url,
            None if endpoint.events is None else dumps(list(endpoint.events)),
            endpoint.description, endpoint.enabled, endpoint.disabled_reason, endpoint.secret,
            endpoint.previous_secret,
            None if endpoint.previous_until is None else to_us(endpoint.previous_until),
            to_us(endpoint.created_at),
        ),
    )  # fmt: skip


def update_endpoint(tx: Tx, ident: str, changes: Mapping[str, Any]) -> None:
    values = dict(changes)
    if "events" in values and values["events"] is not None:
        values["events"] = dumps(list(values["events"]))
    if "previous_until" in values and values["previous_until"] is not None:
        values["previous_until"] = to_us(values["previous_until"])
    assignments = ", ".join(f"{name} = ?" for name in values)
    tx.execute(
        f"UPDATE webhook_endpoints SET {assignments} WHERE id = ?", [*values.values(), ident]
    )


def get_endpoint(tx: Tx, ident: str) -> Endpoint | None:
    row = tx.one(
        f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE id = ? AND NOT deleted", (ident,)
    )
    return None if row is None else _endpoint(row)


def list_endpoints(tx: Tx) -> list[Endpoint]:
    rows = tx.query(
        f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE NOT deleted ORDER BY created_at, id"
    )
    return [_endpoint(row) for row in rows]


def endpoints_by_id(tx: Tx, ids: Iterable[str]) -> dict[str, Endpoint]:
    rows = tx.query_in(f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE id IN {{values}}", ids)
    return {row[0]: _endpoint(row) for row in rows}


def listening(tx: Tx) -> list[tuple[str, tuple[str, ...] | None]]:
    """``(id, event types or None)`` of every enabled endpoint: who gets new events. One
    small read per write transaction; with no endpoint the outbox writes nothing."""
    rows = tx.query("SELECT id, events FROM webhook_endpoints WHERE enabled AND NOT deleted")
    return [(ident, None if events is None else tuple(loads(events))) for ident, events in rows]


# The outbox --------------------------------------------------------------------------------


def insert_events(
    tx: Tx,
    events: Sequence[tuple[str, str, datetime, str]],
    deliveries: Sequence[tuple[str, str, str, datetime]],
) -> None:
    """``events``: ``(id, type, occurred_at, body)``; ``deliveries``: ``(event id, endpoint
    id, ordering key, due)``, created pending."""
    tx.insert_rows(
        "webhook_events",
        ("id", "type", "occurred_at", "body"),
        [(ident, kind, to_us(at), body) for ident, kind, at, body in events],
    )
    tx.insert_rows(
        "webhook_deliveries",
        ("event_id", "endpoint_id", "ordering_key", "state", "attempts", "next_at", "created_at"),
        [(e, p, key, "pending", 0, to_us(due), to_us(due)) for e, p, key, due in deliveries],
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    event_id: str
    endpoint_id: str
    event_type: str
    attempts: int
    body: str


def next_due(tx: Tx) -> datetime | None:
    """The earliest moment a pending delivery of an enabled endpoint may be claimed. A
    delivery behind an earlier one of its outcome (waiting for a retry, say) is not due: the
    earlier one's time counts, so a retry hours away is no reason to look every poll."""
    row = tx.one(
        "SELECT MIN(CASE WHEN d.claimed_until IS NOT NULL AND d.claimed_until > d.next_at"
        " THEN d.claimed_until ELSE d.next_at END) FROM webhook_deliveries d"
        " JOIN webhook_endpoints e ON e.id = d.endpoint_id"
        " WHERE d.state = 'pending' AND e.enabled AND NOT e.deleted"
        " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.state = 'pending'"
        " AND p.endpoint_id = d.endpoint_id AND p.ordering_key = d.ordering_key AND p.id < d.id)"
    )
    return None if row is None or row[0] is None else from_us(int(row[0]))


def claim(
    tx: Tx,
    now: datetime,
    *,
    until: datetime,
    limit: int,
    busy: Mapping[str, int],
    per_endpoint: int,
) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries until ``until``: pending, of an enabled endpoint,
    not claimed by a live sender, and first of their (endpoint, ordering key) still pending,
    at most ``per_endpoint`` in flight per endpoint counting ``busy`` (this process's)."""
    now_us = to_us(now)
    rows = tx.query(
        "SELECT d.id, d.event_id, d.endpoint_id, d.attempts"
        " FROM webhook_deliveries d"
        " JOIN webhook_endpoints e ON e.id = d.endpoint_id"
        " WHERE d.state = 'pending' AND d.next_at <= ? AND e.enabled AND NOT e.deleted"
        " AND (d.claimed_until IS NULL OR d.claimed_until <= ?)"
        " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.state = 'pending'"
        " AND p.endpoint_id = d.endpoint_id AND p.ordering_key = d.ordering_key AND p.id < d.id)"
        f" ORDER BY d.next_at, d.id LIMIT ?{tx.SKIP_LOCKED}",
        (now_us, now_us, limit * 4),
    )
    chosen: list[tuple[int, str, str, int]] = []
    counts = dict(busy)
    for ident, event_id, endpoint_id, attempts in rows:
        if len(chosen) == limit:
            break
        if counts.get(endpoint_id, 0) >= per_endpoint:
            continue
        counts[endpoint_id] = counts.get(endpoint_id, 0) + 1
        chosen.append((int(ident), event_id, endpoint_id, int(attempts)))
    if not chosen:
        return []
    # The events of the claimed rows only: a row skipped for its endpoint's bound (most of
    # them, behind a busy endpoint) would have its body read for nothing.
    events = {
        ident: (kind, body)
        for ident, kind, body in tx.query_in(
            "SELECT id, type, body FROM webhook_events WHERE id IN {values}",
            [event_id for _, event_id, _, _ in chosen],
        )
    }
    tx.executemany(
        "UPDATE webhook_deliveries SET claimed_until = ? WHERE id = ?",
        [(to_us(until), ident) for ident, _, _, _ in chosen],
    )
    taken: list[Claimed] = []
    for ident, event_id, endpoint_id, attempts in chosen:
        kind, body = events[event_id]
        taken.append(Claimed(ident, event_id, endpoint_id, kind, attempts, body))
    return taken


def record_attempt(
    tx: Tx,
    delivery: int,
    *,
    at: datetime,
    status: int | None,
    duration_ms: int,
    error: str | None,
    response: str | None,
    state: str,
    next_at: datetime | None,
) -> None:
    tx.execute(
        "INSERT INTO webhook_attempts (delivery_id, at, status, duration_ms, error, response)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (delivery, to_us(at), status, duration_ms, error, response),
    )
    tx.execute(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?, claimed_until = NULL,"
        " next_at = COALESCE(?, next_at), finished_at = ? WHERE id = ?",
        (
            state,
            None if next_at is None else to_us(next_at),
            None if state == "pending" else to_us(at),
            delivery,
        ),
    )


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    event_id: str
    event_type: str
    state: str
    attempts: int
    next_at: datetime
    created_at: datetime
    finished_at: datetime | None
    tries: tuple[tuple[datetime, int | None, int, str | None, str | None], ...]
    endpoint_id: str = ""


#: What an endpoint's deliveries may be narrowed to, as SQL on ``d``: written as the partial
#: indexes of migration 0007 say, so each reads its own index, newest first, and never the
#: deliveries that went well. (No filter on ``delivered`` or on every ``pending``: neither has
#: such an index, and an endpoint with none of them would be read whole.)
DELIVERY_FILTERS = {
    "failed": "d.state = 'failed'",
    "retrying": "d.state = 'pending' AND d.attempts > 0",
}


def list_deliveries(
    tx: Tx, endpoint: str, *, limit: int, before_id: int | None, state: str | None = None
) -> list[DeliveryRow]:
    """An endpoint's deliveries, newest first, each with every attempt; ``state`` one of
    :data:`DELIVERY_FILTERS` narrows them."""
    params: list[Any] = [endpoint]
    where = "d.endpoint_id = ?"
    if state is not None:
        where += f" AND {DELIVERY_FILTERS[state]}"
    if before_id is not None:
        where += " AND d.id < ?"
        params.append(before_id)
    return _deliveries(tx, where, params, limit)


def _deliveries(tx: Tx, where: str, params: list[Any], limit: int) -> list[DeliveryRow]:
    rows = tx.query(
        "SELECT d.id, d.event_id, v.type, d.state, d.attempts, d.next_at, d.created_at,"
        " d.finished_at, d.endpoint_id"
        " FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id"
        f" WHERE {where} ORDER BY d.id DESC LIMIT ?",
        [*params, limit],
    )
    tries: dict[int, list[tuple[datetime, int | None, int, str | None, str | None]]] = {}
    for delivery, at, status, duration, error, response in tx.query_in(
        "SELECT delivery_id, at, status, duration_ms, error, response FROM webhook_attempts"
        " WHERE delivery_id IN {values} ORDER BY id",
        [int(row[0]) for row in rows],
    ):
        tries.setdefault(int(delivery), []).append(
            (from_us(int(at)), None if status is None else int(status), int(duration), error,
             response)
        )  # fmt: skip
    return [
        DeliveryRow(
            int(r[0]),
            r[1],
            r[2],
            r[3],
            int(r[4]),
            from_us(int(r[5])),
            from_us(int(r[6])),
            opt_time(None if r[7] is None else int(r[7])),
            tuple(tries.get(int(r[0]), ())),
            r[8],
        )
        for r in rows
    ]


def troubled_deliveries(
    tx: Tx, endpoints: Sequence[str], *, state: str, limit: int, before_id: int | None
) -> list[DeliveryRow]:
    """The ``failed`` or ``retrying`` deliveries of ``endpoints``, newest first: up to
    ``limit`` of each endpoint through its partial index, then the newest ``limit`` of
    them all (an installation has a handful of endpoints; one ordered scan of every
    endpoint's failures would read them all)."""
    assert state in ("failed", "retrying"), state
    found: list[DeliveryRow] = []
    for endpoint in endpoints:
        found += list_deliveries(tx, endpoint, limit=limit, before_id=before_id, state=state)
    found.sort(key=lambda row: row.id, reverse=True)
    return found[:limit]


@dataclass(frozen=True, slots=True)
class DeliverySummary:
    """How an endpoint's deliveries are going: its newest delivery (id, state, attempts,
    when it was created) and how many failed for good and are retrying, each counted up
    to a cap."""

    last: tuple[int, str, int, datetime] | None
    failed: int
    retrying: int


def summaries(tx: Tx, endpoints: Sequence[str], *, cap: int) -> dict[str, DeliverySummary]:
    """Each endpoint's :class:`DeliverySummary`: three index reads each, the counts bounded
    by ``cap`` (a dead endpoint may have failed a million times)."""
    found = {}
    for endpoint in endpoints:
        last = tx.one(
            "SELECT id, state, attempts, created_at FROM webhook_deliveries WHERE endpoint_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (endpoint,),
        )
        counts = [
            tx.one(
                "SELECT COUNT(*) FROM (SELECT d.id FROM webhook_deliveries d"
                f" WHERE d.endpoint_id = ? AND {DELIVERY_FILTERS[name]} LIMIT ?) AS capped",
                (endpoint, cap),
            )
            for name in ("failed", "retrying")
        ]
        failed, retrying = (0 if row is None else int(row[0]) for row in counts)
        found[endpoint] = DeliverySummary(
            None if last is None else (int(last[0]), last[1], int(last[2]), from_us(int(last[3]))),
            failed,
            retrying,
        )
    return found


def delivery_endpoint(tx: Tx, delivery: int) -> tuple[str, str] | None:
    """``(endpoint id, state)`` of a delivery."""
    row = tx.one("SELECT endpoint_id, state FROM webhook_deliveries WHERE id = ?", (delivery,))
    return None if row is None else (row[0], row[1])


def retry_now(tx: Tx, delivery: int, now: datetime) -> None:
    tx.execute(
        "UPDATE webhook_deliveries SET state = 'pending', next_at = ?, claimed_until = NULL,"
        " finished_at = NULL WHERE id = ?",
        (to_us(now), delivery),
    )

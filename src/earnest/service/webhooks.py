"""Webhook endpoints and the outbox (SPEC 10).

Endpoints are managed here (create, list, read, change, delete, rotate the secret, list
deliveries, retry one by hand), each change in the activity log, never with a secret in it.

The outbox: :func:`emit` writes events in the transaction of the change that caused them, from
the decisions' entries (the recorder) and from finalization (``service/invoices.py``), never
by re-reading rows afterwards. An event is written only when an enabled endpoint wants its
type, with one delivery per such endpoint; with no endpoint, a write transaction pays one
small read. Delivery is ``service/delivery.py``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from earnest.clock import Clock
from earnest.errors import Invalid, NotFound
from earnest.jsonio import encode
from earnest.service.activity import append_activity
from earnest.service.pages import Page, check_limit, page_of
from earnest.service.secrets import seal
from earnest.service.signing import new_secret
from earnest.store import Database, Tx
from earnest.store.webhooks import (
    DELIVERY_FILTERS,
    DeliveryRow,
    DeliverySummary,
    Endpoint,
    delivery_endpoint,
    get_endpoint,
    insert_endpoint,
    insert_events,
    list_deliveries,
    list_endpoints,
    listening,
    retry_now,
    summaries,
    troubled_deliveries,
    update_endpoint,
)
from earnest.timefmt import format_time

__all__ = [
    "DELIVERY_STATES",
    "EVENT_TYPES",
    "DeliveryRow",
    "DeliverySummary",
    "Endpoint",
    "PendingEvent",
    "UnknownDelivery",
    "UnknownEndpoint",
    "Webhooks",
    "emit",
]

EVENT_TYPES = (
    "outcome.in_review",
    "outcome.confirmed",
    "outcome.cancelled",
    "outcome.contested",
    "charge.booked",
    "credit.booked",
    "dispute.opened",
    "dispute.resolved",
    "invoice.finalized",
)
#: What a list of deliveries may be narrowed to: ``failed`` (for good, retried only by hand)
#: and ``retrying`` (pending after a failed attempt).
DELIVERY_STATES = tuple(DELIVERY_FILTERS)
SUMMARY_CAP = 1_000  # an endpoint's failed or retrying deliveries are counted up to this
MAX_URL = 2_048
MAX_DESCRIPTION = 1_000
ROTATION = timedelta(hours=24)  # the old secret keeps signing this long after a rotation


class UnknownEndpoint(NotFound):
    code = "unknown_webhook"

    def __init__(self, ident: str) -> None:
        super().__init__(f"no webhook endpoint {ident!r}", field="id")


class UnknownDelivery(NotFound):
    code = "unknown_delivery"

    def __init__(self, ident: object) -> None:
        super().__init__(f"no delivery {ident!r} for this endpoint", field="delivery")


class NotRetryable(Invalid):
    code = "not_retryable"


# The outbox ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event a change causes: its type, time, what orders it (the outcome or invoice)
    and how to build its ``data`` (called only when some endpoint wants it)."""

    type: str
    at: datetime
    ordering_key: str
    data: Callable[[], Any]


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def emit(tx: Tx, events: Sequence[PendingEvent]) -> int:
    """Write ``events`` for the endpoints that want them, in the caller's transaction; how
    many events were written."""
    if not events:
        return 0
    endpoints = listening(tx)
    if not endpoints:
        return 0
    rows: list[tuple[str, str, datetime, str]] = []
    deliveries: list[tuple[str, str, str, datetime]] = []
    for event in events:
        wanting = [ident for ident, types in endpoints if types is None or event.type in types]
        if not wanting:
            continue
        ident = new_event_id()
        body = encode(
            {"type": event.type, "timestamp": format_time(event.at), "data": event.data()}
        ).decode()
        rows.append((ident, event.type, event.at, body))
        deliveries += [(ident, endpoint, event.ordering_key, event.at) for endpoint in wanting]
    if rows:
        insert_events(tx, rows, deliveries)
    return len(rows)


# Endpoints -------------------------------------------------------------------------------


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("url is required: an http or https address", field="url")
    text = value.strip()
    if len(text) > MAX_URL:
        raise Invalid(f"url is at most {MAX_URL} characters", field="url")
    if any(_control(ch) for ch in text):  # U+0000 cannot be stored; the others are never sent
        raise Invalid("url must not contain control characters (such as U+0000)", field="url")
    try:
        parts = urlsplit(text)
    except ValueError:  # a bad IPv6 literal, a host that NFKC turns into a delimiter
        raise Invalid(f"url is not a valid address: {value!r}", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(
            f"url must be an http or https address with a host, got {value!r}", field="url"
        )
    if parts.username or parts.password:
        raise Invalid("url must not carry credentials: sign requests with the secret", field="url")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise Invalid(f"url has a bad port: {value!r}", field="url") from None
    return text


def _control(ch: str) -> bool:
    """A C0 or C1 control character, or DEL."""
    return ch < " " or "\x7f" <= ch <= "\x9f"


def _events(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise Invalid(
            "events is a non-empty list of event types, or null for every type", field="events"
        )
    for index, kind in enumerate(value):
        if kind not in EVENT_TYPES:
            raise Invalid(
                f"unknown event type {kind!r} (events[{index}]); the types are"
                f" {', '.join(EVENT_TYPES)}",
                field="events",
            )
    return tuple(dict.fromkeys(value))


def _description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION or "\x00" in value:
        raise Invalid(
            f"description is a text of at most {MAX_DESCRIPTION} characters", field="description"
        )
    return value


def _enabled(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("enabled is true or false", field="enabled")
    return value


def _state(value: str | None) -> str | None:
    if value is not None and value not in DELIVERY_STATES:
        raise Invalid(
            f"state is one of {', '.join(DELIVERY_STATES)}, got {value[:40]!r}", field="state"
        )
    return value


def shown(endpoint: Endpoint) -> dict[str, Any]:
    """An endpoint as the activity log and the API show it: never its secret."""
    return {
        "url": endpoint.url,
        "events": None if endpoint.events is None else list(endpoint.events),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
    }


class Webhooks:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def create(
        self,
        url: Any,
        *,
        events: Any = None,
        description: Any = None,
        enabled: Any = True,
        actor: str,
    ) -> tuple[Endpoint, str]:
        """A new endpoint and its secret, shown this once."""
        checked = Endpoint(
            "we_" + secrets.token_hex(10), _url(url), _events(events), _description(description),
            _enabled(enabled), None, "", None, None, self.clock(),
        )  # fmt: skip
        secret = new_secret()
        endpoint = replace(checked, secret=seal(secret))
        with self.db.write() as tx:
            insert_endpoint(tx, endpoint)
            append_activity(
                tx, at=endpoint.created_at, actor=actor, action="webhook.created",
                subject=endpoint.id, before=None, after=shown(endpoint),
            )  # fmt: skip
        return endpoint, secret

    def list(self) -> list[Endpoint]:
        with self.db.read() as tx:
            return list_endpoints(tx)

    def get(self, ident: str) -> Endpoint:
        with self.db.read() as tx:
            found = get_endpoint(tx, ident)
        if found is None:
            raise UnknownEndpoint(ident)
        return found

    def update(self, ident: str, changes: Mapping[str, Any], *, actor: str) -> Endpoint:
        """Change ``url``, ``events``, ``description`` or ``enabled``; enabling an endpoint
        disabled by a 410 resumes its pending deliveries."""
        checks: dict[str, Callable[[Any], Any]] = {
            "url": _url, "events": _events, "description": _description, "enabled": _enabled,
        }  # fmt: skip
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in checks:
                raise Invalid(
                    f"{name!r} cannot be changed; send url, events, description or enabled",
                    field=name,
                )
            checked[name] = checks[name](value)
        if checked.get("enabled") is True:
            checked["disabled_reason"] = None
        with self.db.write() as tx:
            before = get_endpoint(tx, ident)
            if before is None:
                raise UnknownEndpoint(ident)
            if checked:
                update_endpoint(tx, ident, checked)
            after = get_endpoint(tx, ident)
            assert after is not None
            if shown(before) != shown(after):
                append_activity(
                    tx, at=self.clock(), actor=actor, action="webhook.updated", subject=ident,
                    before=shown(before), after=shown(after),
                )  # fmt: skip
        return after

    def delete(self, ident: str, *, actor: str) -> None:
        """Remove the endpoint: it gets no new event and its pending deliveries stop (its
        deliveries stay readable in the store for the audit)."""
        with self.db.write() as tx:
            before = get_endpoint(tx, ident)
            if before is None:
                raise UnknownEndpoint(ident)
            update_endpoint(tx, ident, {"deleted": True, "enabled": False})
            append_activity(
                tx, at=self.clock(), actor=actor, action="webhook.deleted", subject=ident,
                before=shown(before), after=None,
            )  # fmt: skip

    def rotate_secret(self, ident: str, *, actor: str) -> tuple[Endpoint, str]:
        """A new secret, shown once; the old one keeps signing too for 24 hours."""
        now = self.clock()
        secret = new_secret()
        with self.db.write() as tx:
            before = get_endpoint(tx, ident)
            if before is None:
                raise UnknownEndpoint(ident)
            update_endpoint(
                tx, ident,
                {"secret": seal(secret), "previous_secret": before.secret,
                 "previous_until": now + ROTATION},
            )  # fmt: skip
            append_activity(
                tx, at=now, actor=actor, action="webhook.secret_rotated", subject=ident,
                before=None, after={"previous_valid_until": format_time(now + ROTATION)},
            )  # fmt: skip
            after = get_endpoint(tx, ident)
        assert after is not None
        return after, secret

    def deliveries(
        self,
        ident: str,
        *,
        limit: int,
        after: tuple[int] | None = None,
        state: str | None = None,
    ) -> Page[DeliveryRow]:
        """Newest first, each with every attempt; ``state`` (one of :data:`DELIVERY_STATES`)
        keeps only those."""
        check_limit(limit)
        _state(state)
        self.get(ident)
        with self.db.read() as tx:
            found = list_deliveries(
                tx, ident, limit=limit + 1, before_id=None if after is None else after[0],
                state=state,
            )  # fmt: skip
        return page_of(found, limit, lambda last: (last.id,))

    def troubles(
        self, state: str, *, limit: int, after: tuple[int] | None = None
    ) -> Page[DeliveryRow]:
        """The ``failed`` or ``retrying`` deliveries of every endpoint, newest first, each
        with its ``endpoint_id`` and every attempt."""
        check_limit(limit)
        if _state(state) is None:
            raise Invalid("state is failed or retrying", field="state")
        with self.db.read() as tx:
            ids = [endpoint.id for endpoint in list_endpoints(tx)]
            found = troubled_deliveries(
                tx, ids, state=state, limit=limit + 1,
                before_id=None if after is None else after[0],
            )  # fmt: skip
        return page_of(found, limit, lambda last: (last.id,))

    def summaries(self) -> Sequence[tuple[Endpoint, DeliverySummary]]:
        """Every endpoint, oldest first, with how its deliveries are going (the failed and
        retrying counted up to :data:`SUMMARY_CAP`)."""
        with self.db.read() as tx:
            endpoints = list_endpoints(tx)
            found = summaries(tx, [endpoint.id for endpoint in endpoints], cap=SUMMARY_CAP)
        return [(endpoint, found[endpoint.id]) for endpoint in endpoints]

    def retry(self, ident: str, delivery: Any, *, actor: str) -> None:
        """Send a failed (or pending) delivery again now."""
        if isinstance(delivery, bool) or not isinstance(delivery, int):
            raise Invalid(f"delivery is a delivery id, got {delivery!r}", field="delivery")
        now = self.clock()
        with self.db.write() as tx:
            if get_endpoint(tx, ident) is None:
                raise UnknownEndpoint(ident)
            found = delivery_endpoint(tx, delivery)
            if found is None or found[0] != ident:
                raise UnknownDelivery(delivery)
            if found[1] == "delivered":
                raise NotRetryable(
                    f"delivery {delivery} was delivered; only a failed or pending one is retried",
                    field="delivery",
                )
            retry_now(tx, delivery, now)
            append_activity(
                tx, at=now, actor=actor, action="webhook.delivery_retried", subject=ident,
                before={"state": found[1]}, after={"delivery": delivery, "state": "pending"},
            )  # fmt: skip

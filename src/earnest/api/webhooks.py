"""``/v1/webhooks``: endpoints (SPEC section 10), admin only: create (the secret shown once),
list, read, change, delete, rotate the secret (shown once), an endpoint's deliveries with
every try, and a hand retry of one delivery.

The list is not paginated: an installation has a handful of endpoints, and every one of
them is in one answer (``next_cursor`` is always null, so clients that follow cursors work).
"""

from __future__ import annotations

from typing import cast

from litestar import Router, delete, get, patch, post
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import (
    AnyRequest,
    actor,
    answer,
    cursor_param,
    earnest,
    json_object,
    limit_param,
    page,
    path_param,
)
from earnest.app import Earnest
from earnest.service.keys import Scope
from earnest.service.views import delivery_json, webhook_json
from earnest.service.webhooks import DeliveryRow, UnknownDelivery

FIELDS = frozenset({"url", "events", "description", "enabled"})
MAX_DELIVERY_DIGITS = 18  # every delivery id fits a signed 64-bit integer


@post("/", opt=require(Scope.ADMIN), status_code=201)
async def post_webhook(request: AnyRequest) -> Response[bytes]:
    body = await json_object(request, FIELDS)
    app, who = earnest(request), actor(request)
    endpoint, secret = await app.write(
        lambda: app.webhooks.create(
            body.get("url"),
            events=body.get("events"),
            description=body.get("description"),
            enabled=body.get("enabled", True),
            actor=who,
        )
    )
    return answer({**webhook_json(endpoint), "secret": secret}, 201)


@get("/", opt=require(Scope.ADMIN))
async def get_webhooks(request: AnyRequest) -> Response[bytes]:
    app = earnest(request)
    found = await app.read(app.webhooks.list)
    return answer({"items": [webhook_json(e) for e in found], "next_cursor": None})


@get("/{id:str}", opt=require(Scope.ADMIN))
async def get_webhook(request: AnyRequest) -> Response[bytes]:
    ident = path_param(request, "id")
    app = earnest(request)
    return answer(webhook_json(await app.read(lambda: app.webhooks.get(ident))))


@patch("/{id:str}", opt=require(Scope.ADMIN))
async def patch_webhook(request: AnyRequest) -> Response[bytes]:
    """Only the fields sent change; ``"enabled": true`` resumes an endpoint a 410 disabled."""
    ident = path_param(request, "id")
    body = await json_object(request, FIELDS)
    app, who = earnest(request), actor(request)
    changed = await app.write(lambda: app.webhooks.update(ident, body, actor=who))
    return answer(webhook_json(changed))


@delete("/{id:str}", opt=require(Scope.ADMIN), status_code=204)
async def delete_webhook(request: AnyRequest) -> None:
    """204: it gets no new event, and its pending deliveries stop."""
    ident = path_param(request, "id")
    app, who = earnest(request), actor(request)
    await app.write(lambda: app.webhooks.delete(ident, actor=who))


@post("/{id:str}/rotate-secret", opt=require(Scope.ADMIN), status_code=200)
async def rotate_secret(request: AnyRequest) -> Response[bytes]:
    ident = path_param(request, "id")
    app, who = earnest(request), actor(request)
    endpoint, secret = await app.write(lambda: app.webhooks.rotate_secret(ident, actor=who))
    return answer({**webhook_json(endpoint), "secret": secret})


@get("/{id:str}/deliveries", opt=require(Scope.ADMIN))
async def get_deliveries(request: AnyRequest) -> Response[bytes]:
    ident = path_param(request, "id")
    limit = limit_param(request)
    after = cast(tuple[int] | None, cursor_param(request, "deliveries", int))  # (id,)
    app = earnest(request)
    found = await app.read(lambda: app.webhooks.deliveries(ident, limit=limit, after=after))
    return answer(page("deliveries", found, delivery_json))


def _delivery(request: AnyRequest) -> int | str:
    """The delivery id as a number; any other text goes to the use case, which names it."""
    raw = path_param(request, "delivery")
    if not raw.isascii() or not raw.isdigit():
        return raw
    if len(raw) > MAX_DELIVERY_DIGITS:
        raise UnknownDelivery(raw)
    return int(raw)


@post("/{id:str}/deliveries/{delivery:str}/retry", opt=require(Scope.ADMIN), status_code=200)
async def retry_delivery(request: AnyRequest) -> Response[bytes]:
    """Send a failed (or pending) delivery again now; answers the delivery, pending."""
    ident, delivery = path_param(request, "id"), _delivery(request)
    app, who = earnest(request), actor(request)
    await app.write(lambda: app.webhooks.retry(ident, delivery, actor=who))
    assert isinstance(delivery, int)  # the use case refuses anything else
    return answer(delivery_json(await app.read(lambda: _one(app, ident, delivery))))


def _one(app: Earnest, ident: str, delivery: int) -> DeliveryRow:
    """One delivery of the endpoint: the first of its list from just after it."""
    [found] = app.webhooks.deliveries(ident, limit=1, after=(delivery + 1,)).items
    assert found.id == delivery
    return found


router = Router(
    "/v1/webhooks",
    route_handlers=[
        post_webhook,
        get_webhooks,
        get_webhook,
        patch_webhook,
        delete_webhook,
        rotate_secret,
        get_deliveries,
        retry_delivery,
    ],
)

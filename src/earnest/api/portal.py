"""``/v1/customers/{id}/portal-links``: create a link to the customer's evidence pages (its
URL, holding the token, shown once), list them (never the token), revoke one (SPEC 8).

Customer ids may hold ``/`` (percent-encoded by clients), so ``/v1/customers/{id:path}``
serves a customer and what hangs under it: its ``GET`` (``api/customers.py``) hands
``portal-links`` to :func:`list_links`; its ``POST`` and ``DELETE`` are here (in the
customers' router: one route holds every method of a path). All three are
for admin keys only: the ``GET`` route's own scope is ``read``, so :func:`list_links`
checks for ``admin`` itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import delete, post
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
    raw_segments,
)
from earnest.api.errors import no_route
from earnest.errors import Forbidden, Invalid
from earnest.service.keys import Scope
from earnest.service.portal import NewPortalLink, PortalLink

PREFIX = "/v1/customers/"
LINKS = "portal-links"
FIELDS = frozenset({"expires_in"})


def link_json(link: PortalLink, now: datetime) -> dict[str, Any]:
    return {
        "id": link.id,
        "customer": link.customer,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "created_by": link.created_by,
        "state": link.state(now),
    }


def new_link_json(created: NewPortalLink, now: datetime) -> dict[str, Any]:
    return {**link_json(created.link, now), "url": created.url}


def _not_allowed(request: AnyRequest) -> Invalid:
    return Invalid(
        f"{request.method} is not allowed on {request.url.path!r}", code="method_not_allowed"
    )


def _link_path(request: AnyRequest, *, with_link: bool) -> tuple[str, str | None]:
    """``(customer, link)`` from ``{id}/portal-links[/{link}]`` (405 on a path a customer
    route serves with other methods, 404 on any other)."""
    segments = raw_segments(request, PREFIX)
    wanted = 3 if with_link else 2
    if len(segments) == wanted and segments[0] and segments[1] == LINKS and segments[-1]:
        return segments[0], segments[2] if with_link else None
    if segments[0] and (len(segments) == 1 or (len(segments) in (2, 3) and segments[1] == LINKS)):
        raise _not_allowed(request)
    raise no_route(request)


def base_url(request: AnyRequest) -> str:
    """Where this request came to: a link's base when no public base URL is set."""
    return str(request.base_url).rstrip("/")


@post("/{id:path}", opt=require(Scope.ADMIN), status_code=201)
async def create_link(request: AnyRequest) -> Response[bytes]:
    customer, _ = _link_path(request, with_link=False)
    body = await json_object(request, FIELDS)
    expires_in = body.get("expires_in")
    app, who, base = earnest(request), actor(request), base_url(request)
    created = await app.write(
        lambda: app.portal.create(customer, expires_in, base_url=base, actor=who)
    )
    return answer(new_link_json(created, app.clock()), 201)


async def list_links(request: AnyRequest, customer: str) -> Response[bytes]:
    """``GET /v1/customers/{id}/portal-links``, called by the customer route's ``GET``."""
    if request.state.key.scope is not Scope.ADMIN:
        raise Forbidden(f"this key has scope {request.state.key.scope.value!r}; this request"
                        " needs 'admin'")  # fmt: skip
    limit = limit_param(request)
    after = cursor_param(request, "portal_links", int, str)  # (created_at, id)
    app = earnest(request)
    found = await app.read(lambda: app.portal.list(customer, limit=limit, after=after))
    now = app.clock()
    return answer(page("portal_links", found, lambda link: link_json(link, now)))


@delete("/{id:path}", opt=require(Scope.ADMIN), status_code=200)
async def revoke_link(request: AnyRequest) -> Response[bytes]:
    customer, link = _link_path(request, with_link=True)
    assert link is not None
    app, who = earnest(request), actor(request)
    revoked = await app.write(lambda: app.portal.revoke(customer, link, actor=who))
    return answer(link_json(revoked, app.clock()))

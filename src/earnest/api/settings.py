"""``/v1/settings``: the seller's details, the invoice prefix, ``invoice_grace`` and the
public base URL (SPEC section 6); admin only, every change in the activity log."""

from __future__ import annotations

from typing import Any

from litestar import Router, get, put
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import AnyRequest, actor, answer, earnest, json_object
from earnest.service.keys import Scope
from earnest.service.settings import MAX_TEXT, NAMES, InvalidSetting
from earnest.service.views import settings_json

FIELDS = frozenset(NAMES)


@get("/", opt=require(Scope.ADMIN))
async def get_settings(request: AnyRequest) -> Response[bytes]:
    app = earnest(request)
    return answer(settings_json(await app.read(app.settings.get)))


def _checked_lengths(body: dict[str, Any]) -> None:
    """Text as sent is at most ``MAX_TEXT`` characters (the use case measures it stripped)."""
    for name, value in body.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise InvalidSetting(f"{name} is at most {MAX_TEXT} characters", field=name)


@put("/", opt=require(Scope.ADMIN))
async def put_settings(request: AnyRequest) -> Response[bytes]:
    """Any subset of the settings; a null restores an optional one's default."""
    body = dict(await json_object(request, FIELDS))
    _checked_lengths(body)
    app, who = earnest(request), actor(request)
    return answer(settings_json(await app.write(lambda: app.settings.put(body, actor=who))))


router = Router("/v1/settings", route_handlers=[get_settings, put_settings])

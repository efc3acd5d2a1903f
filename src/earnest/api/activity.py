"""``/v1/activity``: the activity log, newest first (admin)."""

from __future__ import annotations

from litestar import Router, get
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import AnyRequest, answer, cursor_param, earnest, limit_param, page
from earnest.service.keys import Scope
from earnest.service.views import activity_json


@get("/", opt=require(Scope.ADMIN))
async def list_activity(request: AnyRequest) -> Response[bytes]:
    limit = limit_param(request)
    after = cursor_param(request, "activity", int)
    app = earnest(request)
    found = await app.read(lambda: app.activity.list(limit=limit, after=after))
    return answer(page("activity", found, activity_json))


router = Router("/v1/activity", route_handlers=[list_activity])

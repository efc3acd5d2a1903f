"""``/v1/disputes``: disputes, newest first, by state and customer (SPEC section 6).

Opening and resolving one are actions on its outcome, under ``/v1/outcomes`` (see
:mod:`earnest.api.outcomes`).
"""

from __future__ import annotations

from litestar import Router, get
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import AnyRequest, answer, cursor_param, earnest, limit_param, page
from earnest.api.filters import choice_filter, text_filter
from earnest.service.disputes import STATES
from earnest.service.keys import Scope
from earnest.service.views import dispute_json


@get("/", opt=require(Scope.READ))
async def list_disputes(request: AnyRequest) -> Response[bytes]:
    limit = limit_param(request)
    after = cursor_param(request, "disputes", int)  # (id,)
    state = choice_filter(request, "state", STATES)
    customer = text_filter(request, "customer")
    app = earnest(request)
    found = await app.read(
        lambda: app.disputes.list(state=state, customer=customer, limit=limit, after=after)
    )
    return answer(page("disputes", found, dispute_json))


router = Router("/v1/disputes", route_handlers=[list_disputes])

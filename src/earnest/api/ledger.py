"""``/v1/ledger``: charges and credits, newest first, by customer, kind and period."""

from __future__ import annotations

from litestar import Router, get
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import AnyRequest, answer, cursor_param, earnest, limit_param, page
from earnest.api.filters import choice_filter, period_filter, text_filter
from earnest.service.keys import Scope
from earnest.service.ledger import KINDS
from earnest.service.views import ledger_json


@get("/", opt=require(Scope.READ))
async def list_ledger(request: AnyRequest) -> Response[bytes]:
    limit = limit_param(request)
    after = cursor_param(request, "ledger", int)  # (id,)
    customer = text_filter(request, "customer")
    kind = choice_filter(request, "kind", KINDS)
    period = period_filter(request)
    app = earnest(request)
    found = await app.read(
        lambda: app.ledger.list(
            customer=customer, kind=kind, period=period, limit=limit, after=after
        )
    )
    return answer(page("ledger", found, ledger_json))


router = Router("/v1/ledger", route_handlers=[list_ledger])

"""``/v1/signals`` and ``/v1/signals/batch``: facts in, decisions durably committed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Router, post
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import AnyRequest, answer, earnest, json_body, now
from earnest.api.errors import error_json, status_of
from earnest.errors import Invalid
from earnest.service.keys import Scope
from earnest.service.outcomes import OutcomeView
from earnest.service.views import outcome_json, signal_json


@post("/", opt=require(Scope.INGEST), status_code=200)
async def post_signal(request: AnyRequest) -> Response[bytes]:
    """One signal, committed together with those that arrive beside it (decision 0010)."""
    body = await json_body(request)
    app = earnest(request)
    done = await app.signals.send_async(body, now(request))
    result = done.result
    if result.error is not None:
        raise result.error
    assert result.signal is not None
    assert result.outcome is not None
    return answer(
        {
            "duplicate": result.status == "duplicate",
            "signal": signal_json(result.signal, done.moment),
            "outcome": outcome_json(OutcomeView(result.outcome, done.ledger)),
            "warnings": list(result.warnings),
        }
    )


def _signals(body: Any) -> Sequence[object]:
    if not isinstance(body, dict):
        raise Invalid('the body must be an object {"signals": [...]}', code="invalid_body")
    for name in body:
        if name != "signals":
            raise Invalid(f"unknown field {name!r}", code="unknown_field", field=name)
    items = body.get("signals")
    if not isinstance(items, list):
        raise Invalid("signals must be a list of signal objects", field="signals")
    return items  # ingest refuses more than MAX_BATCH


@post("/batch", opt=require(Scope.INGEST), status_code=200)
async def post_batch(request: AnyRequest) -> Response[bytes]:
    items = _signals(await json_body(request))
    app, moment = earnest(request), now(request)
    results = await app.write(lambda: app.signals.batch(items, moment))
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    listed: list[dict[str, Any]] = []
    for result in results:
        counts[result.status] += 1
        item: dict[str, Any] = {"index": result.index, "status": result.status}
        if result.error is not None:
            item["error"] = {"status": status_of(result.error), **error_json(result.error)}
        if result.warnings:
            item["warnings"] = list(result.warnings)
        listed.append(item)
    return answer(
        {
            "accepted": counts["accepted"],
            "duplicates": counts["duplicate"],
            "rejected": counts["rejected"],
            "results": listed,
        }
    )


router = Router("/v1/signals", route_handlers=[post_signal, post_batch])

"""``/v1/signals`` and ``/v1/signals/batch``: facts in, decisions durably committed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Router, post
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import (
    AnyRequest,
    answer,
    database,
    in_thread,
    json_body,
    now,
    refusal,
)
from earnest.api.errors import ApiError
from earnest.api.grouping import GroupCommit
from earnest.api.views import outcome_json, signal_json
from earnest.service.ingest import MAX_BATCH, ingest
from earnest.store.keys import Scope


@post("/", opt=require(Scope.INGEST), status_code=200)
async def post_signal(request: AnyRequest) -> Response[bytes]:
    """One signal, committed together with those that arrive beside it (decision 0010)."""
    body = await json_body(request)
    grouping: GroupCommit = request.app.state.grouping
    done = await grouping.submit(body, now(request))
    result = done.result
    if result.error is not None:
        raise refusal(result.error)
    assert result.signal is not None
    assert result.outcome is not None
    return answer(
        {
            "duplicate": result.status == "duplicate",
            "signal": signal_json(result.signal, done.moment),
            "outcome": outcome_json(result.outcome, done.charge),
        }
    )


def _signals(body: Any) -> Sequence[object]:
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", 'the body must be an object {"signals": [...]}')
    for name in body:
        if name != "signals":
            raise ApiError(422, "unknown_field", f"unknown field {name!r}", name)
    items = body.get("signals")
    if not isinstance(items, list):
        raise ApiError(422, "invalid_field", "signals must be a list of signal objects", "signals")
    if len(items) > MAX_BATCH:
        raise ApiError(
            422,
            "batch_too_large",
            f"a batch holds at most {MAX_BATCH} signals; this one has {len(items)}",
            "signals",
        )
    return items


@post("/batch", opt=require(Scope.INGEST), status_code=200)
async def post_batch(request: AnyRequest) -> Response[bytes]:
    items = _signals(await json_body(request))
    results = await in_thread(request, ingest, database(request), items, now(request))
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    listed: list[dict[str, Any]] = []
    for result in results:
        counts[result.status] += 1
        item: dict[str, Any] = {"index": result.index, "status": result.status}
        if result.error is not None:
            error = result.error
            item["error"] = {
                "status": error.status,
                "code": error.code,
                "message": error.message,
                "field": error.field,
            }
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

"""``/v1/signals`` and ``/v1/signals/batch``: facts in, decisions durably committed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
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
    nul_field,
    refusal,
    refuse_nul,
)
from earnest.api.errors import ApiError
from earnest.api.grouping import GroupCommit
from earnest.api.views import outcome_json, signal_json
from earnest.service.ingest import MAX_BATCH, Problem, Result, ingest
from earnest.store.db import Database
from earnest.store.keys import Scope


@post("/", opt=require(Scope.INGEST), status_code=200)
async def post_signal(request: AnyRequest) -> Response[bytes]:
    """One signal, committed together with those that arrive beside it (decision 0010)."""
    body = await json_body(request)
    if isinstance(body, dict):
        refuse_nul(body, "invalid_signal")
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


def _ingest_batch(db: Database, items: Sequence[object], moment: datetime) -> list[Result]:
    """Ingest, with items holding U+0000 in a stored field rejected here on their own."""
    refused: dict[int, Result] = {}
    for index, item in enumerate(items):
        field = nul_field(item) if isinstance(item, dict) else None
        if field is not None:
            message = f"{field} must not contain the character U+0000"
            problem = Problem(422, "invalid_signal", message, field)
            refused[index] = Result(index, "rejected", error=problem)
    if not refused:  # the usual case: the indexes are ingest's own
        return ingest(db, items, moment)
    clean = [index for index in range(len(items)) if index not in refused]
    applied = ingest(db, [items[index] for index in clean], moment)
    for index, result in zip(clean, applied, strict=True):
        refused[index] = replace(result, index=index)
    return [refused[index] for index in range(len(items))]


@post("/batch", opt=require(Scope.INGEST), status_code=200)
async def post_batch(request: AnyRequest) -> Response[bytes]:
    items = _signals(await json_body(request))
    results = await in_thread(request, _ingest_batch, database(request), items, now(request))
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

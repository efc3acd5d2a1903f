"""``/v1/outcomes``: open, list, read one, its history, settle by hand.

References may hold ``/``, ``#``, spaces and any letter, percent-encoded by clients. ASGI
servers decode ``%2F`` in ``scope["path"]``, so the route takes the rest of the path and the
reference is cut from ``scope["raw_path"]``, each segment decoded on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Router, get, post
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import (
    AnyRequest,
    answer,
    cursor_param,
    database,
    encode_cursor,
    in_thread,
    json_object,
    limit_param,
    now,
    page,
    raw_segments,
    refusal,
    text_field,
)
from earnest.api.errors import ApiError
from earnest.api.views import outcome_json
from earnest.engine import Outcome, Scheduled, Settle, State
from earnest.service.history import UnknownOutcome, outcome_history
from earnest.service.ingest import invalid_signal
from earnest.service.outcomes import (
    ChargeRow,
    Refused,
    charges,
    open_outcome,
    settle_outcome,
    unknown_outcome,
)
from earnest.signals import NUL, InvalidSignal, validate_signal
from earnest.store.db import Database
from earnest.store.keys import ApiKey, Scope
from earnest.store.outcomes import StoredOutcome, load_by_ids, load_one
from earnest.timefmt import format_time

OPEN_FIELDS = frozenset({"contract", "outcome", "customer", "at"})
SETTLE_FIELDS = frozenset({"decision", "reason"})
MAX_REASON = 1024
PREFIX = "/v1/outcomes/"


@post("/", opt=require(Scope.INGEST), status_code=200)
async def post_outcome(request: AnyRequest) -> Response[bytes]:
    body = await json_object(request, OPEN_FIELDS)
    moment = now(request)
    if body.get("customer") is None:
        raise ApiError(422, "customer_required", "customer is required", "customer")
    try:
        # The same checks as a signal's fields; ``at`` is checked, not used: the engine's
        # clock is the time received (SPEC section 4).
        checked = validate_signal({**body, "signal": "opened"}, received_at=moment)
    except InvalidSignal as error:
        raise refusal(invalid_signal(error)) from None
    try:
        outcome, opened = await in_thread(request, open_outcome, database(request), checked, moment)
    except Refused as refused:
        raise refusal(refused.problem) from None
    return answer(outcome_json(outcome, None), 201 if opened else 200)


# Lists ------------------------------------------------------------------------------------


def _filters(request: AnyRequest) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for name in ("contract", "customer"):
        value = request.query_params.get(name)
        if value is not None:
            if len(value) > 255 or NUL in value:
                raise ApiError(
                    422, "invalid_filter", f"{name} is at most 255 characters, without U+0000", name
                )
            clauses.append(f"{name} = ?")
            params.append(value)
    state = request.query_params.get("state")
    if state is not None:
        if state not in {s.value for s in State}:
            choices = ", ".join(s.value for s in State)
            raise ApiError(422, "invalid_filter", f"state must be one of {choices}", "state")
        clauses.append("state = ?")
        params.append(state)
    contested = request.query_params.get("contested")
    if contested is not None:
        if contested not in ("true", "false"):
            raise ApiError(422, "invalid_filter", "contested must be true or false", "contested")
        clauses.append("contested = ?")
        params.append(contested == "true")
    return " AND ".join(clauses), params


@get("/", opt=require(Scope.READ))
async def list_outcomes(request: AnyRequest) -> Response[bytes]:
    limit = limit_param(request)
    after = cursor_param(request, "outcomes", int)
    where, params = _filters(request)
    if after is not None:
        where = f"{where} AND id < ?" if where else "id < ?"
        params.append(after[0])
    db = database(request)

    def load() -> tuple[list[tuple[StoredOutcome, ChargeRow | None]], int | None]:
        with db.read() as tx:
            rows = tx.query(
                "SELECT id FROM outcomes"
                + (f" WHERE {where}" if where else "")
                + " ORDER BY id DESC LIMIT ?",
                [*params, limit + 1],
            )
            ids = [int(row[0]) for row in rows[:limit]]
            loaded = load_by_ids(tx, ids)
            found = [loaded[i] for i in ids]
            booked = charges(tx, [s.id for s in found if s.outcome.charged is not None])
        last = found[-1].id if len(rows) > limit else None
        return [(s, booked.get(s.id)) for s in found], last

    found, last = await in_thread(request, load)
    cursor = encode_cursor("outcomes", [last]) if last is not None else None
    return answer(page([outcome_json(s.outcome, c) for s, c in found], cursor))


# One outcome ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    contract: str
    ref: str
    action: str | None


def target(request: AnyRequest) -> Target:
    """``(contract, ref, action)`` from the raw, still percent-encoded path."""
    segments = raw_segments(request, PREFIX)
    if not 2 <= len(segments) <= 3 or not segments[0] or not segments[1]:
        raise ApiError(404, "not_found", f"no route {request.url.path!r}")
    action = segments[2] if len(segments) == 3 else None
    return Target(segments[0], segments[1], action)


def _unknown(where: Target) -> ApiError:
    return refusal(unknown_outcome(where.contract, where.ref))


def _read_one(db: Database, where: Target) -> tuple[Outcome, ChargeRow | None] | None:
    with db.read() as tx:
        found = load_one(tx, where.contract, where.ref)
        if found is None:
            return None
        charge = (
            charges(tx, [found.id]).get(found.id) if found.outcome.charged is not None else None
        )
        return found.outcome, charge


@get("/{contract:str}/{rest:path}", opt=require(Scope.READ))
async def get_outcome(request: AnyRequest) -> Response[bytes]:
    where = target(request)
    db = database(request)
    if where.action is None:
        found = await in_thread(request, _read_one, db, where)
        if found is None:
            raise _unknown(where)
        return answer(outcome_json(*found))
    if where.action == "history":
        try:
            entries = await in_thread(request, outcome_history, db, where.contract, where.ref)
        except UnknownOutcome:
            raise _unknown(where) from None
        return answer(
            {
                "entries": [
                    {
                        "seq": e.seq,
                        "recorded_at": format_time(e.recorded_at),
                        "kind": e.kind,
                        "data": e.data,
                        "hash": e.hash,
                    }
                    for e in entries
                ]
            }
        )
    raise ApiError(404, "not_found", f"no route {request.url.path!r}")


@post("/{contract:str}/{rest:path}", opt=require(Scope.ADMIN), status_code=200)
async def post_outcome_action(request: AnyRequest) -> Response[bytes]:
    where = target(request)
    if where.action != "settle":
        raise ApiError(404, "not_found", f"no route {request.url.path!r}")
    body = await json_object(request, SETTLE_FIELDS)
    decision = body.get("decision")
    if decision not in ("confirm", "cancel"):
        raise ApiError(422, "invalid_field", "decision must be 'confirm' or 'cancel'", "decision")
    reason = text_field(body, "reason", MAX_REASON, required=True)
    assert reason is not None
    key: ApiKey = request.state.key
    manual = Settle(Scheduled(decision), reason, by=key.id)
    try:
        outcome, charge = await in_thread(
            request,
            settle_outcome,
            database(request),
            where.contract,
            where.ref,
            manual,
            now(request),
        )
    except Refused as refused:
        raise refusal(refused.problem) from None
    return answer(outcome_json(outcome, charge))


router = Router(
    "/v1/outcomes", route_handlers=[post_outcome, list_outcomes, get_outcome, post_outcome_action]
)

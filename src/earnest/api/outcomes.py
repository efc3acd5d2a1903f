"""``/v1/outcomes``: open, list, read one, its history, settle by hand, dispute its charge
and resolve the dispute.

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
    actor,
    answer,
    cursor_param,
    earnest,
    json_object,
    limit_param,
    now,
    page,
    raw_segments,
    text_field,
)
from earnest.api.errors import no_route
from earnest.engine import Scheduled, State
from earnest.errors import Invalid
from earnest.service.disputes import MAX_REASON as MAX_DISPUTE_TEXT
from earnest.service.keys import Scope
from earnest.service.outcomes import OutcomeView
from earnest.service.views import dispute_json, history_json, outcome_json
from earnest.signals import NUL, validate_signal

OPEN_FIELDS = frozenset({"contract", "outcome", "customer", "at"})
SETTLE_FIELDS = frozenset({"decision", "reason"})
DISPUTE_FIELDS = frozenset({"reason"})
RESOLVE_FIELDS = frozenset({"resolution", "amount", "note"})
MAX_REASON = 1024
PREFIX = "/v1/outcomes/"


@post("/", opt=require(Scope.INGEST), status_code=200)
async def post_outcome(request: AnyRequest) -> Response[bytes]:
    body = await json_object(request, OPEN_FIELDS)
    if body.get("customer") is None:
        raise Invalid("customer is required", code="customer_required", field="customer")
    # The same checks as a signal's fields; ``at`` is checked, not used: the engine's clock
    # is the time received (SPEC section 4).
    moment = now(request)
    checked = validate_signal({**body, "signal": "opened"}, received_at=moment)
    app = earnest(request)
    outcome, opened = await app.write(lambda: app.outcomes.open(checked, moment))
    return answer(outcome_json(OutcomeView(outcome)), 201 if opened else 200)


# Lists ------------------------------------------------------------------------------------


def _filters(request: AnyRequest) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for name in ("contract", "customer"):
        value = request.query_params.get(name)
        if value is not None:
            if len(value) > 255 or NUL in value:
                raise Invalid(
                    f"{name} is at most 255 characters, without U+0000", code="invalid_filter",
                    field=name,
                )  # fmt: skip
            filters[name] = value
    state = request.query_params.get("state")
    if state is not None:
        if state not in {s.value for s in State}:
            choices = ", ".join(s.value for s in State)
            raise Invalid(f"state must be one of {choices}", code="invalid_filter", field="state")
        filters["state"] = state
    contested = request.query_params.get("contested")
    if contested is not None:
        if contested not in ("true", "false"):
            raise Invalid("contested must be true or false", code="invalid_filter",
                          field="contested")  # fmt: skip
        filters["contested"] = contested == "true"
    return filters


@get("/", opt=require(Scope.READ))
async def list_outcomes(request: AnyRequest) -> Response[bytes]:
    limit = limit_param(request)
    after = cursor_param(request, "outcomes", int)
    filters = _filters(request)
    app = earnest(request)
    found = await app.read(lambda: app.outcomes.list(filters, limit=limit, after=after))
    return answer(page("outcomes", found, outcome_json))


# One outcome ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    contract: str
    ref: str
    action: str | None


def target(request: AnyRequest) -> Target:
    """``(contract, ref, action)`` from the raw, still percent-encoded path; the action is
    what follows the reference (``history``, ``settle``, ``disputes/resolve``)."""
    segments = raw_segments(request, PREFIX)
    if not 2 <= len(segments) <= 4 or not segments[0] or not segments[1]:
        raise no_route(request)
    action = "/".join(segments[2:]) if len(segments) > 2 else None
    return Target(segments[0], segments[1], action)


@get("/{contract:str}/{rest:path}", opt=require(Scope.READ))
async def get_outcome(request: AnyRequest) -> Response[bytes]:
    where = target(request)
    app = earnest(request)
    if where.action is None:
        return answer(
            outcome_json(await app.read(lambda: app.outcomes.get(where.contract, where.ref)))
        )
    if where.action == "history":
        entries = await app.read(lambda: app.outcomes.history(where.contract, where.ref))
        return answer({"entries": [history_json(e) for e in entries]})
    raise no_route(request)


@post("/{contract:str}/{rest:path}", opt=require(Scope.ADMIN), status_code=200)
async def post_outcome_action(request: AnyRequest) -> Response[bytes]:
    where = target(request)
    if where.action == "settle":
        return await _settle(request, where)
    if where.action == "disputes":
        return await _dispute(request, where)
    if where.action == "disputes/resolve":
        return await _resolve(request, where)
    raise no_route(request)


async def _settle(request: AnyRequest, where: Target) -> Response[bytes]:
    body = await json_object(request, SETTLE_FIELDS)
    decision = body.get("decision")
    if decision not in ("confirm", "cancel"):
        raise Invalid("decision must be 'confirm' or 'cancel'", field="decision")
    reason = text_field(body, "reason", MAX_REASON, required=True)
    assert reason is not None
    app, who, moment = earnest(request), actor(request), now(request)
    settled = await app.write(
        lambda: app.outcomes.settle(
            where.contract, where.ref, Scheduled(decision), reason, actor=who, at=moment
        )
    )
    return answer(outcome_json(settled))


async def _dispute(request: AnyRequest, where: Target) -> Response[bytes]:
    """Open a dispute on a confirmed outcome: 201 with the dispute."""
    body = await json_object(request, DISPUTE_FIELDS)
    reason = text_field(body, "reason", MAX_DISPUTE_TEXT, required=True)
    app, who, moment = earnest(request), actor(request), now(request)
    opened = await app.write(
        lambda: app.disputes.open(where.contract, where.ref, reason, actor=who, at=moment)
    )
    return answer(dispute_json(opened.dispute), 201)


async def _resolve(request: AnyRequest, where: Target) -> Response[bytes]:
    """Resolve the open dispute by ``reject`` or ``credit`` (``amount`` a decimal string;
    default all that is still creditable)."""
    body = await json_object(request, RESOLVE_FIELDS)
    resolution = body.get("resolution")
    if resolution not in ("reject", "credit"):
        raise Invalid("resolution must be 'reject' or 'credit'", field="resolution")
    amount = body.get("amount")
    if amount is not None and not isinstance(amount, str):
        raise Invalid('amount is a decimal string such as "12.50"', field="amount")
    note = text_field(body, "note", MAX_DISPUTE_TEXT, required=True)
    app, who, moment = earnest(request), actor(request), now(request)
    resolved = await app.write(
        lambda: app.disputes.resolve(
            where.contract, where.ref, resolution, note, amount=amount, actor=who, at=moment
        )
    )
    return answer(dispute_json(resolved.dispute))


router = Router(
    "/v1/outcomes", route_handlers=[post_outcome, list_outcomes, get_outcome, post_outcome_action]
)

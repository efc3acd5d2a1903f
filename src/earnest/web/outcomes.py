"""The outcomes pages (SPEC 11): filtered by contract, customer, state and contested; each
outcome's explained timeline; manual settle; open and resolve disputes.

References may hold ``/``, ``#``, spaces and any letter: links quote them whole
(``quote(ref, safe="")``), and since ASGI servers decode ``%2F`` in ``scope["path"]``, the
routes take the rest of the path and cut the reference from ``scope["raw_path"]``, each
segment decoded on its own (as the API does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlencode

from litestar import get, post
from litestar.handlers import HTTPRouteHandler
from litestar.response import Response

from earnest.engine import Scheduled, State
from earnest.errors import Conflict, EarnestError, Invalid, NotFound
from earnest.service.disputes import MAX_REASON
from earnest.service.outcomes import OutcomeDetail
from earnest.web.common import (
    AnyRequest,
    earnest,
    page,
    redirect,
    signed_in,
    utf8_text,
    whole_number,
)
from earnest.web.guard import admin_only
from earnest.web.timeline import steps

PREFIX = "/outcomes/"
LIST_PAGE = 50  # outcomes per page of the list
MAX_FILTER = 255  # characters of a contract or customer filter, as the API's
MAX_SEQ = 2**63 - 1
STATES = tuple(state.value for state in State)
CONTESTED = {"yes": True, "no": False, "any": None}
#: How a dispute is resolved from the form: (the service's resolution, an amount asked).
RESOLUTIONS = {"credit_full": ("credit", False), "credit_partial": ("credit", True),
               "reject": ("reject", False)}  # fmt: skip
DONE = {
    "settled": "The outcome was settled.",
    "disputed": "The dispute was opened.",
    "resolved": "The dispute was resolved.",
}


def outcome_path(contract: str, ref: str) -> str:
    return f"{PREFIX}{quote(contract, safe='')}/{quote(ref, safe='')}"


# The list ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters as the form shows them (``""``: any) and as the service takes."""

    shown: dict[str, str]
    chosen: dict[str, Any]

    def query(self, **more: str) -> str:
        kept = {name: value for name, value in self.shown.items() if value and value != "any"}
        return urlencode({**kept, **more})


def filters_of(params: Mapping[str, str]) -> Filters:
    """The list's filters from the query string: an empty field is no filter; a bad one is
    422 naming it (the API's checks, with the form's ``yes``/``no``/``any``)."""
    shown = {name: params.get(name) or "" for name in ("contract", "customer", "state")}
    shown["contested"] = params.get("contested") or "any"
    chosen: dict[str, Any] = {}
    for name in ("contract", "customer"):
        value = shown[name]
        if value:
            if len(value) > MAX_FILTER or "\x00" in value:
                raise Invalid(f"{name} is at most {MAX_FILTER} characters, without U+0000",
                              code="invalid_filter", field=name)  # fmt: skip
            chosen[name] = value
    if shown["state"]:
        if shown["state"] not in STATES:
            raise Invalid(f"state is one of {', '.join(STATES)}", code="invalid_filter",
                          field="state")  # fmt: skip
        chosen["state"] = shown["state"]
    if shown["contested"] not in CONTESTED:
        raise Invalid("contested is yes, no or any", code="invalid_filter", field="contested")
    if CONTESTED[shown["contested"]] is not None:
        chosen["contested"] = CONTESTED[shown["contested"]]
    return Filters(shown, chosen)


def _after(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    wanted = f"{name} is a number such as 120, got {raw[:40]!r}"
    return whole_number(raw, name, low=1, high=MAX_SEQ, message=wanted)


def _shown_filters(params: Mapping[str, str]) -> dict[str, str]:
    """The submitted filters as text to put back in the form after a refusal."""
    return {
        "contract": (params.get("contract") or "")[:MAX_FILTER],
        "customer": (params.get("customer") or "")[:MAX_FILTER],
        "state": params.get("state") or "",
        "contested": params.get("contested") or "any",
    }


@get("/outcomes")
async def outcomes_list(request: AnyRequest) -> Response[str]:
    params = {name: request.query_params.get(name) or "" for name in request.query_params}
    context: dict[str, Any] = {"states": STATES, "contested": tuple(CONTESTED)}
    try:
        filters = filters_of(params)
        after = _after(params, "after")
    except Invalid as error:
        context.update(values=_shown_filters(params), errors={error.field or "": error.message},
                       rows=[], older=None, paged=False, first="/outcomes")  # fmt: skip
        return page(request, "outcomes/list.html", context, active="outcomes", status=422)
    app = earnest(request)
    found = await app.read(
        lambda: app.outcomes.list(
            filters.chosen, limit=LIST_PAGE, after=None if after is None else (after,)
        )
    )
    rows = [
        (view, outcome_path(view.outcome.contract.key, view.outcome.ref),
         f"/customers/{quote(view.outcome.customer, safe='')}")
        for view in found.items
    ]  # fmt: skip
    older = None if found.after is None else f"/outcomes?{filters.query(after=str(found.after[0]))}"
    first = f"/outcomes?{filters.query()}" if filters.query() else "/outcomes"
    context.update(values=filters.shown, errors={}, rows=rows, older=older,
                   paged=after is not None, first=first)  # fmt: skip
    return page(request, "outcomes/list.html", context, active="outcomes")


# One outcome ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    contract: str
    ref: str
    action: str | None


def target(request: AnyRequest) -> Target:
    """``(contract, ref, action)`` from the raw path; 404 for any other shape."""
    raw: bytes = request.scope.get("raw_path") or quote(request.scope["path"]).encode()
    raw = raw.split(b"?", 1)[0]  # some ASGI clients (httpx's) leave the query on raw_path
    if not raw.startswith(PREFIX.encode()):
        raise NotFound("no such page")
    try:
        segments = [unquote_to_bytes(part).decode() for part in raw[len(PREFIX) :].split(b"/")]
    except UnicodeDecodeError:
        raise NotFound("the path is not percent-encoded UTF-8") from None
    if not 2 <= len(segments) <= 4 or not segments[0] or not segments[1]:
        raise NotFound("no such page: an outcome is /outcomes/{contract}/{reference}")
    if any("\x00" in segment for segment in segments):
        raise NotFound("no outcome has U+0000 in its name")
    action = "/".join(segments[2:]) if len(segments) > 2 else None
    return Target(segments[0], segments[1], action)


def _detail_context(detail: OutcomeDetail, where: Target, after: int | None) -> dict[str, Any]:
    view = detail.view
    outcome = view.outcome
    path = outcome_path(where.contract, where.ref)
    open_dispute = next((d for d in detail.disputes if d.state == "open"), None)
    return {
        "view": view,
        "outcome": outcome,
        "path": path,
        "timeline": steps(detail.entries, currency=outcome.contract.price.currency),
        "later": None if detail.later is None else f"{path}?after={detail.later}",
        "paged": after is not None,
        "disputes": detail.disputes,
        "open_dispute": open_dispute,
        "customer_path": f"/customers/{quote(outcome.customer, safe='')}",
        "contract_path": (
            f"/contracts/{quote(outcome.contract.key, safe='')}/versions/{outcome.contract_version}"
        ),
        "settleable": outcome.state in (State.OPEN, State.IN_REVIEW),
        "disputable": outcome.state is State.CONFIRMED and not outcome.contested,
        "max_text": MAX_REASON,
        "errors": {},
        "values": {},
        "refused": None,
        "done": None,
    }


async def _detail_page(
    request: AnyRequest,
    where: Target,
    *,
    status: int = 200,
    form: str | None = None,
    values: dict[str, str] | None = None,
    error: EarnestError | None = None,
) -> Response[str]:
    after = _after(request.query_params, "after") if status == 200 else None
    app = earnest(request)
    detail = await app.read(
        lambda: app.outcomes.detail(where.contract, where.ref, after_seq=after or 0)
    )
    context = _detail_context(detail, where, after)
    if error is not None and form is not None:
        field = error.field if error.field and error.field != "outcome" else "form"
        context["errors"] = {form: {field: error.message}}
        context["refused"] = form
        context["values"] = {form: values or {}}
    done = request.query_params.get("done") if status == 200 else None
    context["done"] = DONE.get(done or "")
    return page(request, "outcomes/detail.html", context, active="outcomes", status=status)


@get("/outcomes/{contract:str}/{rest:path}")
async def outcome_page(request: AnyRequest) -> Response[str]:
    where = target(request)
    if where.action is not None:
        raise NotFound("no such page: an outcome is /outcomes/{contract}/{reference}")
    return await _detail_page(request, where)


# Changes ----------------------------------------------------------------------------------


def _text(form: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = form.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{name} is text", field=name)
    if required and not value.strip():
        raise Invalid(f"{name} is required", field=name)
    if len(value) > MAX_REASON:
        raise Invalid(f"{name} is at most {MAX_REASON} characters", field=name)
    if "\x00" in value:
        raise Invalid(f"{name} must not contain U+0000", field=name)
    return utf8_text(value, name).strip()


def _kept(form: Mapping[str, Any], *names: str) -> dict[str, str]:
    """What was typed, to show back in a refused form."""
    return {name: value[:MAX_REASON] if isinstance(value := form.get(name), str) else ""
            for name in names}  # fmt: skip


@post("/outcomes/{contract:str}/{rest:path}", opt=admin_only())
async def outcome_action(request: AnyRequest) -> Response[str]:
    where = target(request)
    form = await request.form()
    if where.action == "settle":
        names: tuple[str, ...] = ("decision", "reason")
        change = _settle(request, where, form)
    elif where.action == "disputes":
        names = ("reason",)
        change = _dispute(request, where, form)
    elif where.action == "disputes/resolve":
        names = ("resolution", "amount", "note")
        change = _resolve(request, where, form)
    else:
        raise NotFound("no such page")
    try:
        done = await change()
    except (Invalid, Conflict) as error:
        status = 422 if isinstance(error, Invalid) else 409
        name = where.action.replace("disputes/resolve", "resolve").replace("disputes", "dispute")
        return await _detail_page(
            request, where, status=status, form=name, values=_kept(form, *names), error=error
        )
    return redirect(f"{outcome_path(where.contract, where.ref)}?done={done}")


Change = Any  # an awaitable factory: () -> Awaitable[str], the notice's key


def _settle(request: AnyRequest, where: Target, form: Mapping[str, Any]) -> Change:
    async def change() -> str:
        decision = form.get("decision")
        if decision not in ("confirm", "cancel"):
            raise Invalid("decision is confirm or cancel", field="decision")
        reason = _text(form, "reason")
        app, who = earnest(request), signed_in(request).user.email
        await app.write(
            lambda: app.outcomes.settle(
                where.contract, where.ref, Scheduled(decision), reason, actor=who
            )
        )
        return "settled"

    return change


def _dispute(request: AnyRequest, where: Target, form: Mapping[str, Any]) -> Change:
    async def change() -> str:
        reason = _text(form, "reason")
        app, who = earnest(request), signed_in(request).user.email
        await app.write(lambda: app.disputes.open(where.contract, where.ref, reason, actor=who))
        return "disputed"

    return change


def _resolve(request: AnyRequest, where: Target, form: Mapping[str, Any]) -> Change:
    async def change() -> str:
        chosen = form.get("resolution")
        if chosen not in RESOLUTIONS:
            raise Invalid(
                "resolution is a full credit, a partial credit or a rejection",
                field="resolution",
            )
        resolution, wants_amount = RESOLUTIONS[chosen]
        amount = form.get("amount") if wants_amount else None
        if wants_amount and (not isinstance(amount, str) or not amount.strip()):
            raise Invalid("amount is required for a partial credit", field="amount")
        note = _text(form, "note")
        app, who = earnest(request), signed_in(request).user.email
        shown = amount.strip() if isinstance(amount, str) else None
        await app.write(
            lambda: app.disputes.resolve(
                where.contract, where.ref, resolution, note, amount=shown, actor=who
            )
        )
        return "resolved"

    return change


#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = [outcomes_list, outcome_page, outcome_action]

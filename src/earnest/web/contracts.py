"""The contracts pages (SPEC 11): the list, each contract's versions and a diff between
any two, the YAML editor that validates as you type and shows the backtest of the edit, save
as a new version, archive.

The editor is one form: its textarea posts to the check as you type (htmx, 300 ms after
the last key), its "Check" button does the same without JavaScript, "Run the backtest" posts
it to the backtest (admins: it costs a process and CPU), "Save" stores it as a new version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from litestar import get, post
from litestar.handlers import HTTPRouteHandler
from litestar.response import Response

from earnest.app import Earnest
from earnest.contract import Contract, ContractError, FieldError, format_duration, load_contract
from earnest.contract.diff import FieldChange, contract_changes, shown
from earnest.contract.loader import DOCUMENT, KEY_PATTERN
from earnest.errors import Invalid, Unavailable
from earnest.rules import UnknownContract
from earnest.service.contracts import SavedVersion, StoredContract, contract_yaml
from earnest.timefmt import parse_time
from earnest.web.common import (
    REPLACED,
    AnyRequest,
    earnest,
    identifier,
    page,
    path_id,
    redirect,
    signed_in,
    utf8_text,
    whole_number,
)
from earnest.web.contract_check import Problem, locate, problems
from earnest.web.guard import admin_only

LIST_PAGE = 50  # contracts per page of the list
VERSIONS_PAGE = 50  # versions per page of a contract's list of versions
DIFFERENCES_SHOWN = 50  # outcomes of a backtest listed on the page
MAX_VERSION = 2**31 - 1
MAX_CREATED_US = 2**63 - 1

ON_TIMEOUT = {
    "confirm": "confirm: when the activity window ends without the conditions met, the"
    " outcome is confirmed and charged (no news is good news)",
    "cancel": "cancel: when the activity window ends without the conditions met, the outcome"
    " is cancelled (no evidence, no charge)",
}
NOTICES = (
    ("saved", "Saved as version {}."),
    ("unchanged", "Nothing changed: the text has the content of version {}, still the latest."),
)
AFTER_SETTLEMENT = {
    "flag": "flag: a later signal whose check fails marks the outcome contested, for a person"
    " to resolve",
    "credit": "credit: a later signal whose check fails books a full credit",
    "ignore": "ignore: a later signal is recorded and changes nothing",
}


# Reading the request --------------------------------------------------------------------


def _number(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    wanted = f"{name} is a version number such as 2, got {raw[:40]!r}"
    return whole_number(raw, name, low=1, high=MAX_VERSION, message=wanted)


def _key(request: AnyRequest) -> str:
    return path_id(request, "key", what="contract")


def _list_after(raw: str | None) -> tuple[int, str] | None:
    """The list's ``?after=``: the last contract's creation time (µs) and key."""
    if raw is None:
        return None
    at, _, key = raw.partition(".")
    wanted = f"after is a position such as 1700000000000000.landing, got {raw[:40]!r}"
    if not KEY_PATTERN.fullmatch(key):
        raise Invalid(wanted, field="after")
    return whole_number(at, "after", low=0, high=MAX_CREATED_US, message=wanted), key


async def _yaml_field(request: AnyRequest) -> tuple[str, str]:
    """The form's YAML and the key it edits (empty for a new contract)."""
    form = await request.form()
    text, editing = form.get("yaml", ""), form.get("editing", "")
    if not isinstance(text, str):
        raise Invalid("yaml is the contract's text, not a file", field="yaml")
    if not isinstance(editing, str):
        raise Invalid("editing is a contract key", field="editing")
    if editing:  # a contract's key: never U+0000 nor bytes that were not UTF-8
        identifier(utf8_text(editing, "editing"), "editing")
    return text, editing


def _htmx(request: AnyRequest) -> bool:
    return request.headers.get("hx-request") == "true"


# Checking an edit -----------------------------------------------------------------------


@dataclass(slots=True)
class Check:
    """What the editor shows under the YAML: its problems, or what it would change."""

    text: str
    key: str | None  # the contract edited; None for a new one
    latest: StoredContract | None  # the edited contract's latest version
    contract: Contract | None = None
    problems: list[Problem] = field(default_factory=list)
    changes: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.contract is not None and not self.problems


def check(app: Earnest, text: str, key: str | None) -> Check:
    """Validate ``text`` as a new version of ``key`` (or, None, as a new contract). On a
    store thread: it reads the latest version (or whether the new key is taken)."""
    latest = app.contracts.latest(key) if key is not None else None
    found = Check(text, key, latest)
    if REPLACED in text:  # the form's bytes were not UTF-8: never stored as a guess
        found.problems = [not_utf8(text)]
        return found
    try:
        found.contract = load_contract(text, key=key)
    except ContractError as error:
        found.problems = problems(text, error)
        return found
    if key is None:
        try:
            taken = app.contracts.latest(found.contract.key)
        except UnknownContract:
            return found
        message = (
            f"a contract with key {taken.contract.key!r} exists already (version"
            f" {taken.version}): edit it, or choose another key"
        )
        found.problems = [Problem("key", message)]
        return found
    assert latest is not None
    found.changes = _changes(contract_changes(latest.contract, found.contract))
    return found


def not_utf8(text: str) -> Problem:
    """Where the first byte that was not UTF-8 is (the form decoder put U+FFFD there)."""
    at = text.index(REPLACED)
    line = text.count("\n", 0, at)
    column = at - (text.rfind("\n", 0, at) + 1)
    error = FieldError(DOCUMENT, "is not valid UTF-8 text (the form sent other bytes)", line + 1,
                       column + 1, "")  # fmt: skip
    return locate(text, None, error)


def _changes(changes: list[FieldChange]) -> list[tuple[str, str, str]]:
    return [(c.field, shown(c.before), shown(c.after)) for c in changes]


def _editor(
    request: AnyRequest,
    checked: Check,
    *,
    status: int = 200,
    report: dict[str, Any] | None = None,
    asked: bool = False,
) -> Response[str]:
    """The editor's page; ``asked``: the backtest was asked for (its report, or why not)."""
    key = checked.key
    context = {
        "key": key,
        "checked": checked,
        "report": report,
        "refused": None,
        "asked": asked,
        "action": f"/contracts/{key}/edit" if key else "/contracts/new",
    }
    return page(request, "contracts/edit.html", context, active="contracts", status=status)


def _fragment(request: AnyRequest, template: str, context: dict[str, Any]) -> Response[str]:
    """The part of the editor htmx swaps in, answered 200 even when it shows problems:
    htmx swaps only a success."""
    return page(request, template, context)


# The list and a contract -----------------------------------------------------------------


@get("/contracts")
async def contract_list(request: AnyRequest) -> Response[str]:
    after = _list_after(request.query_params.get("after"))
    app = earnest(request)
    found = await app.read(lambda: app.contracts.list(limit=LIST_PAGE, after=after))
    older = None if found.after is None else f"{found.after[0]}.{found.after[1]}"
    context = {"contracts": found.items, "older": older, "paged": after is not None}
    return page(request, "contracts/list.html", context, active="contracts")


def _terms(contract: Contract) -> dict[str, Any]:
    """A contract's terms in words."""
    conditions = contract.conditions
    return {
        "conditions": [conditions] if isinstance(conditions, str) else list(conditions),
        "amount": contract.price.amount,
        "currency": contract.price.currency,
        "active_for": format_duration(contract.active_for_s),
        "review_window": format_duration(contract.review_window_s),
        "on_timeout": ON_TIMEOUT[contract.on_timeout.value],
        "after_settlement": AFTER_SETTLEMENT[contract.after_settlement.value],
        "yaml": contract_yaml(contract),
    }


def _notice(request: AnyRequest) -> str | None:
    params = request.query_params
    for name, text in NOTICES:
        raw = params.get(name)
        if raw and raw.isascii() and raw.isdigit() and len(raw) < 12:
            return text.format(int(raw))
    if params.get("archived") == "1":
        return "Archived: new outcomes of this contract are refused; open ones run to their end."
    return None


@get("/contracts/{key:str}")
async def contract_detail(request: AnyRequest) -> Response[str]:
    return await _detail(request, _key(request))


@get("/contracts/validate")
async def validate_detail(request: AnyRequest) -> Response[str]:
    """The page of a contract keyed ``validate``, which the check's path would shadow."""
    return await _detail(request, "validate")


async def _detail(request: AnyRequest, key: str) -> Response[str]:
    before = _number(request.query_params.get("before"), "before")
    app = earnest(request)

    def read() -> tuple[StoredContract, Any]:
        latest = app.contracts.latest(key)
        return latest, app.contracts.versions(key, limit=VERSIONS_PAGE, before=before)

    latest, versions = await app.read(read)
    items: list[SavedVersion] = versions.items
    context = {
        "stored": latest,
        "terms": _terms(latest.contract),
        "versions": items,
        "older": None if versions.after is None else versions.after[0],
        "paged": before is not None,
        "notice": _notice(request),
        "outcomes": "/outcomes?contract=" + quote(key, safe=""),
        "diff_from": max(1, latest.version - 1),
    }
    return page(request, "contracts/detail.html", context, active="contracts")


@get("/contracts/{key:str}/versions/{version:str}")
async def contract_version(request: AnyRequest) -> Response[str]:
    key = _key(request)
    number = _number(str(request.path_params["version"]), "version")
    assert number is not None
    app = earnest(request)

    def read() -> tuple[StoredContract, StoredContract]:
        return app.contracts.version(key, number), app.contracts.latest(key)

    stored, latest = await app.read(read)
    context = {"stored": stored, "latest": latest, "terms": _terms(stored.contract)}
    return page(request, "contracts/version.html", context, active="contracts")


@get("/contracts/{key:str}/diff")
async def contract_diff(request: AnyRequest) -> Response[str]:
    key = _key(request)
    wanted_from = _number(request.query_params.get("from"), "from")
    wanted_to = _number(request.query_params.get("to"), "to")
    app = earnest(request)

    def read() -> tuple[StoredContract, StoredContract, StoredContract]:
        latest = app.contracts.latest(key)
        to = wanted_to or latest.version
        since = wanted_from or max(1, to - 1)
        return latest, app.contracts.version(key, since), app.contracts.version(key, to)

    latest, old, new = await app.read(read)
    context = {
        "key": key,
        "latest": latest,
        "old": old,
        "new": new,
        "changes": _changes(contract_changes(old.contract, new.contract)),
    }
    return page(request, "contracts/diff.html", context, active="contracts")


# The editor -----------------------------------------------------------------------------

TEMPLATE = """key: {key}
name: {name}
conditions: completed AND NOT reverted
price: $0.99
active_for: 48h
review_window: 24h
on_timeout: cancel
"""


@get("/contracts/new")
async def new_contract(request: AnyRequest) -> Response[str]:
    text = TEMPLATE.format(key="code_shipped", name="Code shipped")
    return _editor(request, Check(text, None, None))


@get("/contracts/{key:str}/edit")
async def edit_contract(request: AnyRequest) -> Response[str]:
    key = _key(request)
    app = earnest(request)
    latest = await app.read(lambda: app.contracts.latest(key))
    return _editor(request, Check(contract_yaml(latest.contract), key, latest))


@post("/contracts/validate", status_code=200)
async def validate_contract(request: AnyRequest) -> Response[str]:
    """Any signed-in user may check a text: it changes nothing and costs one parse."""
    text, editing = await _yaml_field(request)
    app = earnest(request)
    checked = await app.read(lambda: check(app, text, editing or None))
    if _htmx(request):
        return _fragment(request, "contracts/_check.html", {"checked": checked})
    return _editor(request, checked, status=200 if checked.valid else 422)


@post("/contracts/{key:str}/backtest", opt=admin_only(), status_code=200)
async def backtest_edit(request: AnyRequest) -> Response[str]:
    """The edit replayed over the outcomes opened in the last 30 days, in a child process
    (the API's use case); it writes nothing."""
    key = _key(request)
    text, _ = await _yaml_field(request)
    app = earnest(request)
    checked = await app.read(lambda: check(app, text, key))
    report, refused = None, None
    if checked.valid:
        assert checked.contract is not None
        try:
            report = _report(await app.contracts.backtest_apart(checked.contract))
        except Unavailable as error:  # too many at once: said where the report would be
            if not _htmx(request):
                raise
            refused = error.message
    if _htmx(request):
        context = {"checked": checked, "report": report, "refused": refused, "asked": True}
        return _fragment(request, "contracts/_backtest.html", context)
    status = 200 if checked.valid else 422
    return _editor(request, checked, status=status, report=report, asked=True)


@post("/contracts/new", opt=admin_only())
async def save_new_contract(request: AnyRequest) -> Response[str]:
    text, _ = await _yaml_field(request)
    return await _save(request, text, None)


@post("/contracts/{key:str}/edit", opt=admin_only())
async def save_contract(request: AnyRequest) -> Response[str]:
    key = _key(request)
    text, _ = await _yaml_field(request)
    return await _save(request, text, key)


async def _save(request: AnyRequest, text: str, key: str | None) -> Response[str]:
    """Store the text as the contract's next version, live at once, as the signed-in user;
    nothing is stored when it does not validate."""
    app, who = earnest(request), signed_in(request).user.email
    checked = await app.read(lambda: check(app, text, key))
    if not checked.valid:
        return _editor(request, checked, status=422)
    contract = checked.contract
    assert contract is not None
    stored, created = await app.write(lambda: app.contracts.save(contract, actor=who))
    outcome = "saved" if created else "unchanged"
    return redirect(f"/contracts/{stored.contract.key}?{outcome}={stored.version}")


# The backtest's report ------------------------------------------------------------------


def _report(found: dict[str, Any]) -> dict[str, Any]:
    """The report's JSON (as the API answers it) with times and amounts ready to format."""
    differences = found["differences"][:DIFFERENCES_SHOWN]
    return {
        **found,
        "since": _time(found["since"]),
        "until": _time(found["until"]),
        "as_of": _time(found["as_of"]),
        "revenue": [
            (currency, Decimal(r["before"]), Decimal(r["after"]), Decimal(r["difference"]))
            for currency, r in found["revenue"].items()
        ],
        "credits": [(currency, Decimal(a)) for currency, a in found["credits"].items()],
        "listed": [_difference(found["contract"], d) for d in differences],
    }


def _difference(contract: str, found: dict[str, Any]) -> dict[str, Any]:
    return {
        **found,
        "href": f"/outcomes/{quote(contract, safe='')}/{quote(found['outcome'], safe='')}",
        "before": _side(found["before"]),
        "after": _side(found["after"]),
    }


def _side(found: dict[str, Any]) -> dict[str, Any]:
    charge = found["charge"]
    amount = None if charge is None else (Decimal(charge["amount"]), charge["currency"])
    return {**found, "charge": amount}


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


# Archive --------------------------------------------------------------------------------


@get("/contracts/{key:str}/archive")
async def archive_page(request: AnyRequest) -> Response[str]:
    key = _key(request)
    app = earnest(request)
    latest = await app.read(lambda: app.contracts.latest(key))
    return page(request, "contracts/archive.html", {"stored": latest}, active="contracts")


@post("/contracts/{key:str}/archive", opt=admin_only())
async def archive_contract(request: AnyRequest) -> Response[str]:
    key = _key(request)
    app, who = earnest(request), signed_in(request).user.email
    await app.write(lambda: app.contracts.archive(key, actor=who))
    return redirect(f"/contracts/{key}?archived=1")


#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = [
    contract_list,
    new_contract,
    save_new_contract,
    validate_contract,
    validate_detail,
    contract_detail,
    contract_version,
    contract_diff,
    edit_contract,
    save_contract,
    backtest_edit,
    archive_page,
    archive_contract,
]

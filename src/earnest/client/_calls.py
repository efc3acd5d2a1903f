"""The SDK's pure core: each API call as a :class:`Call`, answers decoded, retries decided.

No I/O here. ``Client`` and ``AsyncClient`` differ only in how they send a ``Call`` and
sleep between attempts, so the two can never drift apart on paths, bodies or error shapes.
"""

from __future__ import annotations

import email.utils
import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from earnest.client._errors import APIError, error_class
from earnest.client._ids import new_signal_id
from earnest.client._types import OpenResult, Value

JSON = "application/json"
YAML = "application/yaml"
USER_AGENT = "earnest-python/0.1"
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 60.0
RETRY_STATUSES = frozenset({429})

# Decimals go out as JSON numbers, never through a float; numbers come back as Decimal/int.
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


@dataclass(frozen=True, slots=True)
class Call:
    """One request, built once: its body (and so every signal id) is fixed before attempt one."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    content_type: str | None = None
    accept: str | None = None  # a file's media type; JSON otherwise (the client's default)
    # Not idempotent, and what it answers is shown once (a new secret): resent only when the
    # request never reached the server, never once the server may have acted on it.
    once: bool = False
    timeout_s: float | None = None  # instead of the client's (a backtest takes a while)

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": self.content_type} if self.content_type else {}
        if self.accept:
            headers["Accept"] = self.accept
        return headers


def base_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Accept": JSON, "User-Agent": USER_AGENT}


def segment(text: str) -> str:
    """One path segment, percent-encoded: ``/``, ``#``, spaces and any letter survive."""
    return quote(text, safe="")


def encode(body: Any) -> bytes:
    return _ENCODER.encode(body)


def decode(content: bytes) -> Any:
    return _DECODER.decode(content) if content.strip() else None


def _json_call(
    method: str, path: str, body: Any, params: dict[str, str] | None = None, *, once: bool = False
) -> Call:
    return Call(method, path, params or {}, encode(body), JSON, once=once)


def _moment(at: datetime | str) -> str | datetime:
    if isinstance(at, datetime) and at.utcoffset() is None:
        raise ValueError("at must be timezone-aware (or an RFC 3339 string)")
    return at


# Signals and outcomes ---------------------------------------------------------------------


def signal_call(
    contract: str,
    outcome: str,
    signal: str,
    value: Value,
    *,
    customer: str | None,
    at: datetime | str | None,
    data: Mapping[str, Any] | None,
    id: str | None,
) -> Call:
    body: dict[str, Any] = {
        "id": id if id is not None else new_signal_id(),
        "contract": contract,
        "outcome": outcome,
        "signal": signal,
        "value": value,
    }
    if customer is not None:
        body["customer"] = customer
    if at is not None:
        body["at"] = _moment(at)
    if data is not None:
        body["data"] = dict(data)
    return _json_call("POST", "/v1/signals", body)


def batch_call(signals: Iterable[Mapping[str, Any]]) -> Call:
    items = []
    for given in signals:
        item = dict(given)
        if item.get("id") is None:
            item["id"] = new_signal_id()
        if item.get("at") is not None:
            item["at"] = _moment(item["at"])
        items.append(item)
    return _json_call("POST", "/v1/signals/batch", {"signals": items})


def open_call(contract: str, outcome: str, customer: str, at: datetime | str | None) -> Call:
    body: dict[str, Any] = {"contract": contract, "outcome": outcome, "customer": customer}
    if at is not None:
        body["at"] = _moment(at)
    return _json_call("POST", "/v1/outcomes", body)


def outcome_call(contract: str, outcome: str, action: str | None = None) -> Call:
    path = f"/v1/outcomes/{segment(contract)}/{segment(outcome)}"
    return Call("GET", f"{path}/{action}" if action else path)


Filters = Mapping[str, str | bool | date | None]


def outcomes_call(filters: Filters, limit: int | None, cursor: str | None) -> Call:
    return list_call("/v1/outcomes", filters, limit, cursor)


def list_call(path: str, filters: Filters, limit: int | None, cursor: str | None) -> Call:
    """A page of a list: filters left out when None, booleans as true/false, dates as
    YYYY-MM-DD (an aware datetime: its day in UTC)."""
    params: dict[str, str] = {}
    for name, value in filters.items():
        if isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif isinstance(value, datetime):
            moment = value.astimezone(UTC) if value.utcoffset() is not None else value
            params[name] = moment.date().isoformat()
        elif isinstance(value, date):
            params[name] = value.isoformat()
        elif value is not None:
            params[name] = value
    return Call("GET", path, _paged(params, limit, cursor))


def _paged(params: dict[str, str], limit: int | None, cursor: str | None) -> dict[str, str]:
    if limit is not None:
        params["limit"] = str(limit)
    if cursor is not None:
        params["cursor"] = cursor
    return params


# Contracts --------------------------------------------------------------------------------


def _contract_body(
    method: str, path: str, source: Mapping[str, Any] | str, params: dict[str, str] | None = None
) -> Call:
    """YAML text as it is (the server reports its line and column); a mapping as JSON."""
    if isinstance(source, str):
        return Call(method, path, params or {}, source.encode(), YAML)
    return _json_call(method, path, dict(source), params)


def put_contract_call(key: str, source: Mapping[str, Any] | str) -> Call:
    return _contract_body("PUT", f"/v1/contracts/{segment(key)}", source)


def validate_contract_call(source: Mapping[str, Any] | str, key: str | None) -> Call:
    params = {"key": key} if key is not None else None
    return _contract_body("POST", "/v1/contracts/validate", source, params)


def backtest_call(
    key: str,
    source: Mapping[str, Any] | str,
    since: datetime | str | None,
    until: datetime | str | None,
    timeout_s: float,
) -> Call:
    params = {
        name: _time_text(value)
        for name, value in (("since", since), ("until", until))
        if value is not None
    }
    call = _contract_body("POST", f"/v1/contracts/{segment(key)}/backtest", source, params)
    return replace(call, timeout_s=timeout_s)


def _time_text(value: datetime | str) -> str:
    moment = _moment(value)
    return moment if isinstance(moment, str) else moment.isoformat()


def contract_call(key: str, version: int | None) -> Call:
    path = f"/v1/contracts/{segment(key)}"
    return Call("GET", path if version is None else f"{path}/versions/{version}")


def contracts_call(limit: int | None, cursor: str | None) -> Call:
    return Call("GET", "/v1/contracts", _paged({}, limit, cursor))


def activity_call(limit: int | None, cursor: str | None) -> Call:
    return Call("GET", "/v1/activity", _paged({}, limit, cursor))


def archive_call(key: str) -> Call:
    return Call("POST", f"/v1/contracts/{segment(key)}/archive")


# Billing ----------------------------------------------------------------------------------


def periods_call(customer: str) -> Call:
    return Call("GET", f"/v1/customers/{segment(customer)}/periods")


def _links_path(customer: str, *rest: str) -> str:
    return "/".join(["/v1/customers", segment(customer), "portal-links", *rest])


def create_portal_link_call(customer: str, expires_in: str | int | None) -> Call:
    """Not resent once the server may have acted: its URL is shown once (a second link)."""
    if isinstance(expires_in, bool | float):
        raise TypeError("expires_in is a duration such as '30d', or whole seconds (an int)")
    body = {} if expires_in is None else {"expires_in": expires_in}
    return _json_call("POST", _links_path(customer), body, once=True)


def portal_links_call(customer: str, limit: int | None, cursor: str | None) -> Call:
    return Call("GET", _links_path(customer), _paged({}, limit, cursor))


def revoke_portal_link_call(customer: str, link: str) -> Call:
    return Call("DELETE", _links_path(customer, segment(link)))


def invoice_call(ident: str, action: str | None = None) -> Call:
    """One invoice as JSON, or its ``csv``/``pdf`` (answered as a file, not JSON)."""
    path = f"/v1/invoices/{segment(ident)}"
    if action is None:
        return Call("GET", path)
    accept = {"csv": "text/csv", "pdf": "application/pdf"}[action]
    return Call("GET", f"{path}/{action}", accept=accept)


def audit_call(ident: str, limit: int | None, cursor: str | None) -> Call:
    return list_call(f"/v1/invoices/{segment(ident)}/audit", {}, limit, cursor)


def dispute_call(contract: str, outcome: str, reason: str) -> Call:
    path = f"/v1/outcomes/{segment(contract)}/{segment(outcome)}/disputes"
    return _json_call("POST", path, {"reason": reason})


def resolve_call(
    contract: str, outcome: str, resolution: str, note: str, amount: Decimal | int | str | None
) -> Call:
    """Money goes as a decimal string (the API takes no JSON number for it)."""
    body: dict[str, Any] = {"resolution": resolution, "note": note}
    if amount is not None:
        if isinstance(amount, float | bool):
            raise TypeError("amount is a Decimal, an int or a decimal string, never a float")
        body["amount"] = amount if isinstance(amount, str) else format(Decimal(amount), "f")
    path = f"/v1/outcomes/{segment(contract)}/{segment(outcome)}/disputes/resolve"
    return _json_call("POST", path, body)


def settings_call() -> Call:
    return Call("GET", "/v1/settings")


def put_settings_call(changes: Mapping[str, str | None]) -> Call:
    return _json_call("PUT", "/v1/settings", dict(changes))


# Webhooks ---------------------------------------------------------------------------------


def _webhook_path(ident: str, *rest: str) -> str:
    return "/".join(["/v1/webhooks", segment(ident), *rest])


def add_webhook_call(
    url: str, events: Iterable[str] | None, description: str | None, enabled: bool
) -> Call:
    """Left out when None: every event type, no description."""
    body: dict[str, Any] = {"url": url, "enabled": enabled}
    if events is not None:
        if isinstance(events, str):
            raise TypeError("events is a list of event types, not one string")
        body["events"] = list(events)
    if description is not None:
        body["description"] = description
    return _json_call("POST", "/v1/webhooks", body, once=True)


def webhooks_call() -> Call:
    return Call("GET", "/v1/webhooks")


def webhook_call(ident: str) -> Call:
    return Call("GET", _webhook_path(ident))


def update_webhook_call(ident: str, changes: Mapping[str, Any]) -> Call:
    """Only the fields given; None is sent as null (every event type; no description)."""
    body = dict(changes)
    if body.get("events") is not None:
        if isinstance(body["events"], str):
            raise TypeError("events is a list of event types, not one string")
        body["events"] = list(body["events"])
    return _json_call("PATCH", _webhook_path(ident), body)


def remove_webhook_call(ident: str) -> Call:
    return Call("DELETE", _webhook_path(ident))


def rotate_secret_call(ident: str) -> Call:
    return Call("POST", _webhook_path(ident, "rotate-secret"), once=True)


def deliveries_call(ident: str, limit: int | None, cursor: str | None) -> Call:
    return Call("GET", _webhook_path(ident, "deliveries"), _paged({}, limit, cursor))


def retry_delivery_call(ident: str, delivery: int) -> Call:
    if isinstance(delivery, bool) or not isinstance(delivery, int):
        raise TypeError("delivery is a delivery's id, an int")
    return Call("POST", _webhook_path(ident, "deliveries", str(delivery), "retry"))


def no_content(response: httpx.Response) -> None:
    """A 2xx answer without a body; raises :class:`APIError` otherwise."""
    if not response.is_success:
        raise api_error(response)


# Answers ----------------------------------------------------------------------------------


def answer(response: httpx.Response) -> Any:
    """The decoded body of a 2xx answer; raises the matching :class:`APIError` otherwise."""
    if response.is_success:
        return decode(response.content)
    raise api_error(response)


def file_body(response: httpx.Response) -> bytes:
    """The body of a 2xx answer as it came (a file); raises :class:`APIError` otherwise."""
    if response.is_success:
        return response.content
    raise api_error(response)


def opened(response: httpx.Response) -> OpenResult:
    """``POST /v1/outcomes``: 201 when it opened the outcome, 200 when it was open already."""
    return {"opened": response.status_code == 201, "outcome": answer(response)}


def api_error(response: httpx.Response) -> APIError:
    status = response.status_code
    try:
        body = decode(response.content)
    except msgspec.DecodeError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):  # not our server: a proxy's page, say
        text = response.text[:200] or response.reason_phrase
        return error_class(status)(status, f"http_{status}", text, None, None)
    return error_class(status)(
        status,
        str(error.get("code", f"http_{status}")),
        str(error.get("message", "")),
        error.get("field"),
        error,
    )


# Retries ----------------------------------------------------------------------------------


def should_retry_status(status: int, once: bool = False) -> bool:
    """5xx and 429; for a ``once`` call only 429 (refused before anything was done)."""
    if once:
        return status in RETRY_STATUSES
    return status >= 500 or status in RETRY_STATUSES


def should_retry_error(error: httpx.TransportError, once: bool = False) -> bool:
    """Connection and timeout failures; not a URL or proxy the client could never use. A
    ``once`` call only when the connection was never made (the request never left)."""
    if once:
        return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
    return not isinstance(error, httpx.UnsupportedProtocol | httpx.ProxyError)


def retry_after_s(header: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), capped; None if absent."""
    if header is None:
        return None
    text = header.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = (when - (now or datetime.now(when.tzinfo))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def backoff_s(
    attempt: int,
    base_s: float,
    retry_after: str | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """The pause before retry ``attempt + 1``: the server's ``Retry-After`` when it gives
    one, otherwise exponential backoff with full jitter (uniform in ``[0, base·2^attempt]``)."""
    told = retry_after_s(retry_after)
    if told is not None:
        return told
    return rand() * min(MAX_BACKOFF_S, base_s * 2.0**attempt)

"""docs/api.md, rendered from the OpenAPI document (``python scripts/gen_api_docs.py``).

Everything per endpoint, and the fields of the main objects, come from
:func:`earnest.api.openapi.document`; only the intro, the error codes and one example request
per endpoint are written here.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from earnest.api.openapi import document

# Values for path parameters in the examples; outcome references are percent-encoded.
_PATH_EXAMPLES = {
    "key": "ticket_resolved",
    "contract": "ticket_resolved",
    "version": "1",
    "outcome": quote("acme/api#1234", safe=""),
    "id": "acme",
    "delivery": "42",
    "link": "pl_4f1c9a2b7d3e8a60",
}
_KEY_ID_EXAMPLE = "k8a6843d597"
_INVOICE_ID_EXAMPLE = "inv_5f0c2d8e1a9b4c7d3e6f8a21"
_WEBHOOK_ID_EXAMPLE = "we_3c9f1a2b7d4e8f605a1b"
_SIGNAL = {
    "contract": "ticket_resolved",
    "outcome": "acme/api#1234",
    "customer": "acme",
    "signal": "resolved",
    "value": True,
}
_BODY_EXAMPLES: dict[str, Any] = {
    "ContractIn": {
        "conditions": "resolved AND NOT reopened",
        "price": "$0.99",
        "active_for": "48h",
        "review_window": "24h",
        "on_timeout": "confirm",
    },
    "SignalIn": _SIGNAL,
    "Batch": {"signals": [_SIGNAL, {**_SIGNAL, "signal": "reopened"}]},
    "OpenOutcome": {"contract": "ticket_resolved", "outcome": "acme/api#1234", "customer": "acme"},
    "SettleIn": {"decision": "confirm", "reason": "confirmed by the customer by email"},
    "CustomerUpdate": {"name": "Acme Inc.", "email": "billing@acme.example", "billing_day": 1},
    "KeyIn": {"scope": "ingest", "name": "ticket system"},
    "DisputeIn": {"reason": "the customer reopened the ticket the next day"},
    "DisputeResolution": {
        "resolution": "credit",
        "amount": "0.99",
        "note": "customer reopened",
    },
    "WebhookIn": {
        "url": "https://crm.example.com/hooks/earnest",
        "events": ["outcome.confirmed", "credit.booked", "invoice.finalized"],
        "description": "CRM: revenue per account",
    },
    "WebhookUpdate": {"enabled": True},
    "PortalLinkIn": {"expires_in": "30d"},
    "SettingsUpdate": {
        "seller_name": "Example Agents Ltd",
        "seller_address": "1 Main Street\nSpringfield",
        "invoice_prefix": "EXA",
        "invoice_grace": "1h",
    },
}
_QUERY_EXAMPLES = {
    "/v1/outcomes": "?state=in_review&limit=50",
    "/v1/contracts/validate": "",
    "/v1/contracts/{key}/backtest": "?since=2026-10-01T00:00:00Z&until=2026-11-01T00:00:00Z",
    "/v1/ledger": "?customer=acme&kind=credit&period=2026-11-23",
    "/v1/invoices": "?customer=acme&status=draft&period=2026-11-23",
    "/v1/disputes": "?state=open",
}

ERROR_CODES: tuple[tuple[str, int, str], ...] = (
    ("malformed_json", 400, "the body is not JSON (or not YAML, for contracts)"),
    ("bad_request", 400, "the request is malformed otherwise"),
    ("unauthorized", 401, "no key, an unknown key or a revoked key"),
    ("forbidden", 403, "the key's scope does not allow this request"),
    ("not_found", 404, "no such route or resource"),
    ("unknown_contract", 404, "no contract with this key"),
    ("unknown_customer", 404, "no customer with this id"),
    ("unknown_key", 404, "no API key with this id"),
    ("unknown_invoice", 404, "no invoice with this id"),
    ("unknown_outcome", 404, "no outcome with this reference"),
    ("unknown_webhook", 404, "no webhook endpoint with this id"),
    ("unknown_delivery", 404, "no delivery with this id for this endpoint"),
    ("unknown_portal_link", 404, "no portal link with this id for this customer"),
    ("method_not_allowed", 405, "the path exists, the method does not"),
    ("contract_archived", 409, "the contract is archived: it opens no new outcomes"),
    ("customer_mismatch", 409, "the outcome belongs to another customer"),
    ("idempotency_conflict", 409, "the signal id was already used for a different signal"),
    ("already_settled", 409, "the outcome is settled already"),
    ("not_confirmed", 409, "only a confirmed outcome can be disputed"),
    ("dispute_open", 409, "the outcome already has an open dispute"),
    ("no_open_dispute", 409, "the outcome has no open dispute to resolve"),
    ("not_retryable", 409, "the delivery was delivered: only a failed or pending one is retried"),
    ("body_too_large", 413, "the body is over 16 MiB"),
    ("unsupported_media_type", 415, "the Content-Type is not accepted here"),
    ("invalid_body", 422, "the body is not a JSON object"),
    ("unknown_field", 422, "the body has a field the endpoint does not know"),
    ("invalid_field", 422, "a field is missing, of the wrong type or out of range"),
    ("invalid_limit", 422, "limit is not a whole number from 1 to 1000"),
    ("invalid_cursor", 422, "cursor is not one this list handed out"),
    ("invalid_filter", 422, "a list filter has a value it does not take"),
    ("invalid_version", 422, "a version is a whole number from 1"),
    ("invalid_time", 422, "a time is not RFC 3339 (a date, a time and an offset)"),
    ("invalid_range", 422, "since is after until"),
    ("invalid_setting", 422, "a setting's value is refused (the error names the setting)"),
    ("credit_exceeds_charge", 422, "a credit over what is still creditable (or nothing left)"),
    ("invalid_contract", 422, "the contract does not validate; errors lists every problem"),
    ("invalid_signal", 422, "the signal does not validate"),
    ("customer_required", 422, "the signal that opens an outcome needs a customer"),
    ("internal_error", 500, "a bug: reported in the same shape, never with a traceback"),
    ("backtests_busy", 503, "as many backtests as may run at once are running: try again"),
)

_INTRO = """\
# Earnest HTTP API reference

<!-- Generated from the OpenAPI document by `python scripts/gen_api_docs.py`; do not edit.
     tests/test_api_docs.py fails when this file is out of date. -->

JSON over HTTP; the OpenAPI 3.1 document itself is served at `GET /openapi.json`. The examples
use two shell variables:

```sh
export EARNEST_URL=http://localhost:8000
export EARNEST_KEY=...   # an API key, see below
```

## Authentication

Every path under `/v1` needs `Authorization: Bearer <api key>`. A key has one scope:

- `ingest`: send signals and open outcomes;
- `read`: every `GET`;
- `admin`: everything (an admin key passes every scope check).

Create the first key on the server's machine: `earnest keys create --scope admin` prints the
new key as the last line of its output (`EARNEST_KEY=$(earnest keys create --scope admin |
tail -n 1)`). Further keys come from `POST /v1/keys`. A key is shown once and stored only as
a hash; `DELETE /v1/keys/{id}` revokes it. A missing, unknown or revoked key is answered 401,
a key of too small a scope 403.

## Errors

Every error has the same shape:

```json
{"error": {"code": "unknown_contract", "message": "no contract 'tiket'", "field": "contract"}}
```

`code` is stable (program against it), `message` is for people, and `field` names the field
or parameter at fault (or is `null`). An invalid contract (`invalid_contract`) adds `errors`, a
list of `{"field", "message", "line"?, "column"?, "snippet"?}`, one per problem.

| code | status | meaning |
|---|---|---|
"""

_PAGINATION = """
## Pagination

Lists take `limit` (1 to 1000, default 50) and `cursor`, and answer
`{"items": [...], "next_cursor": "..." | null}`, newest first. Pass `next_cursor` back as
`cursor` for the next page; `null` means there is none. Pages are stable under concurrent
inserts.

```sh
curl -s -H "Authorization: Bearer $EARNEST_KEY" "$EARNEST_URL/v1/outcomes?limit=100&cursor=$NEXT"
```

Three lists run the other way: an invoice's audit (`GET /v1/invoices/{id}/audit`) is paged
oldest first, in the order of each outcome's first entry on the invoice; a customer's periods
(`GET /v1/customers/{id}/periods`) come in one answer, oldest first; and so do the webhook
endpoints (`GET /v1/webhooks`, whose `next_cursor` is always `null`).

## Money and billing

Money is exact decimal text in JSON (`"0.99"`), never a number, and only an invoice's `total`
is rounded. A credit's `amount` sent to `disputes/resolve` is a string too. `period=YYYY-MM-DD`
on the ledger and invoice lists selects, for each customer, its billing period containing that
day. The invoice list answers each invoice with its totals but without its lines;
`GET /v1/invoices/{id}` has them, and `/csv` and `/pdf` give the same invoice as files (the
PDF points its reader to the public base URL setting, or to the address the request came to
when none is set).

## Webhooks

`POST /v1/webhooks` adds an endpoint and answers its signing secret (`whsec_...`) this once;
`POST /v1/webhooks/{id}/rotate-secret` answers a new one, the old one signing too for 24
hours. No other answer ever holds a secret. Earnest then POSTs each event the endpoint wants,
signed per Standard Webhooks, retrying on a schedule; `GET /v1/webhooks/{id}/deliveries`
shows every try. [`webhooks.md`](webhooks.md) says what the events carry, how to verify
them, and how retries and ordering work.

## Portal links

`POST /v1/customers/{id}/portal-links` answers a link to the customer's evidence pages,
`/portal/<token>` on the public base URL setting (or the address the request came to when
none is set), expiring after `expires_in` (default `30d`). The `url` is in this answer only:
Earnest keeps the token's hash, never the token. Whoever holds the link sees that customer's
invoices and why each charge was billed, and may dispute a charge; `DELETE` revokes it at
once. Creations and revocations are in the activity log.

## Backtests

`POST /v1/contracts/{key}/backtest` takes a proposed contract, as `PUT /v1/contracts/{key}`
does (JSON, or YAML with `Content-Type: application/yaml`), and saves nothing: every outcome of
the contract opened in `[since, until)` is replayed from its recorded signals through it, up
to now, and compared with what happened. The answer lists each outcome whose decision or
charge would differ, counts per kind of change and charged revenue per currency before and
after. Outcomes settled by hand keep their decision; disputes and credits are reported, not
re-run. It runs in a process of its own at a lower CPU priority, so ingest keeps its pace;
a few run at once, and another is answered 503 `backtests_busy`. A large history takes a
while: give the request a long timeout.

## Endpoints

"""


# The answers whose fields are listed after the endpoints, in this order.
OBJECTS = (
    "Outcome", "LedgerEntry", "SignalAnswer", "BatchItem", "ActivityEntry", "Invoice",
    "ChargeLine", "CreditLine", "InvoiceSummary", "LedgerRecord", "AuditItem", "Dispute",
    "Settings", "BillingPeriod", "Webhook", "Delivery", "DeliveryTry", "BacktestReport",
    "BacktestDifference", "BacktestSide",
)  # fmt: skip

_OBJECTS_INTRO = """
## Objects

The fields of the main answers; every other answer is named in its endpoint's responses and
described in full in `GET /openapi.json`.
"""


def render(doc: dict[str, Any] | None = None) -> str:
    """The whole of docs/api.md for ``doc`` (by default, the API's own document)."""
    doc = document() if doc is None else doc
    schemas: dict[str, Any] = doc["components"]["schemas"]
    out = [_INTRO]
    out += [f"| `{code}` | {status} | {text} |\n" for code, status, text in ERROR_CODES]
    out.append(_PAGINATION)
    operations = [
        (path, method, op) for path, item in doc["paths"].items() for method, op in item.items()
    ]
    for path, method, op in operations:
        out.append(f"- [`{method.upper()} {path}`](#{_anchor(method, path)}): {op['summary']}\n")
    for path, method, op in operations:
        out.append("\n" + _endpoint(path, method, op, schemas))
    out.append(_OBJECTS_INTRO)
    out += ["\n" + _object(name, schemas[name]) for name in OBJECTS]
    return "".join(out)


def _object(name: str, schema: dict[str, Any]) -> str:
    lines = [f"### `{name}`", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    lines += _fields(schema)
    return "\n".join(lines)


def _fields(schema: dict[str, Any]) -> list[str]:
    """A table of ``schema``'s properties: type, whether always present, notes."""
    required = set(schema.get("required", []))
    lines = ["| field | type | always there | notes |", "|---|---|---|---|"]
    for field, spec in schema.get("properties", {}).items():
        present = "yes" if field in required else "no"
        lines.append(f"| `{field}` | {_type(spec)} | {present} | {_notes(spec)} |")
    lines.append("")
    return lines


def _anchor(method: str, path: str) -> str:
    text = f"{method} {path}".lower()
    return "".join(c for c in text if c.isalnum() or c in " -_").replace(" ", "-")


def _endpoint(path: str, method: str, op: dict[str, Any], schemas: dict[str, Any]) -> str:
    lines = [f"### `{method.upper()} {path}`", "", f"{op['summary']}.", ""]
    scope = _scope(op)
    lines.append(f"**Scope:** {scope}" if scope else "**Scope:** none (no key needed)")
    lines.append("")
    params = op.get("parameters", [])
    if params:
        lines += ["**Parameters:**", "", "| name | in | type | description |", "|---|---|---|---|"]
        lines += [
            f"| `{p['name']}` | {p['in']} | {_type(p['schema'])} | {p.get('description', '')} |"
            for p in params
        ]
        lines.append("")
    body = op.get("requestBody")
    if body is not None:
        lines += _body(body, schemas)
    lines += ["**Responses:**", "", "| status | body | meaning |", "|---|---|---|"]
    for status, answer in op["responses"].items():
        content: dict[str, Any] = answer.get("content", {})
        if "application/json" in content:
            body = _type(content["application/json"].get("schema", {}))
        else:  # a file: its media type
            body = ", ".join(f"`{media}`" for media in content) or "none"
        lines.append(f"| {status} | {body} | {answer['description']} |")
    lines += ["", "**Example:**", "", "```sh", _curl(path, method, op), "```", ""]
    return "\n".join(lines)


def _scope(op: dict[str, Any]) -> str | None:
    if "security" not in op:
        return None
    description: str = op.get("description", "")
    for word in description.replace(".", " ").split():
        if word in ("ingest", "read", "admin"):
            return f"`{word}`" if word == "admin" else f"`{word}` (or `admin`)"
    return "a key"


def _body(body: dict[str, Any], schemas: dict[str, Any]) -> list[str]:
    content: dict[str, Any] = body["content"]
    media = ", ".join(f"`{m}`" for m in content)
    ref = content["application/json"]["schema"]
    name = _ref_name(ref)
    lines = [f"**Request body** ({media}): {_type(ref)}", ""]
    schema = schemas.get(name, {}) if name else {}
    if schema.get("description"):
        lines += [schema["description"].strip(), ""]
    properties: dict[str, Any] = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        lines += ["| field | type | required | notes |", "|---|---|---|---|"]
        for field, spec in properties.items():
            notes = _notes(spec)
            req = "yes" if field in required else "no"
            lines.append(f"| `{field}` | {_type(spec)} | {req} | {notes} |")
        lines.append("")
    return lines


def _notes(spec: dict[str, Any]) -> str:
    notes = []
    if "default" in spec:
        notes.append(f"default `{json.dumps(spec['default'])}`")
    for key, text in (
        ("pattern", "pattern"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "min"),
        ("maximum", "max"),
        ("maxItems", "at most"),
    ):
        for part in [spec, *spec.get("anyOf", [])]:
            if key in part:
                value = part[key]
                notes.append(f"{text} `{value}`" if key == "pattern" else f"{text} {value}")
    for part in [spec, *spec.get("anyOf", [])]:
        if "description" in part:
            notes.append(part["description"])
    return "; ".join(notes).replace("|", "\\|")


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _type(schema: dict[str, Any]) -> str:
    name = _ref_name(schema)
    if name is not None:
        return f"`{name}`"
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " or ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "string" and schema.get("format") == "date-time":
        return "date-time string"
    if isinstance(kind, str):
        return kind
    return "any"


def _curl(path: str, method: str, op: dict[str, Any]) -> str:
    url = path
    ids = {
        "/v1/keys": _KEY_ID_EXAMPLE,
        "/v1/invoices": _INVOICE_ID_EXAMPLE,
        "/v1/webhooks": _WEBHOOK_ID_EXAMPLE,
    }
    for name, value in _PATH_EXAMPLES.items():
        if name == "id":
            value_here = next((v for p, v in ids.items() if path.startswith(p)), value)
        else:
            value_here = value
        url = url.replace("{" + name + "}", value_here)
    query = _QUERY_EXAMPLES.get(path, "?limit=50" if method == "get" and _is_list(op) else "")
    parts = ["curl -s"]
    if method != "get":
        parts.append(f"-X {method.upper()}")
    if "security" in op:
        parts.append('-H "Authorization: Bearer $EARNEST_KEY"')
    body = op.get("requestBody")
    if body is not None:
        schema_name = _ref_name(body["content"]["application/json"]["schema"])
        example = json.dumps(_BODY_EXAMPLES[schema_name or ""], ensure_ascii=False)
        parts.append('-H "Content-Type: application/json"')
        parts.append(f"-d '{example}'")
    parts.append(f'"$EARNEST_URL{url}{query}"')
    return " \\\n  ".join(parts)


def _is_list(op: dict[str, Any]) -> bool:
    return any(p["name"] == "cursor" for p in op.get("parameters", []))

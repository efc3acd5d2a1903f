"""The OpenAPI 3.1 document, written by hand from one table of routes.

Handlers parse their bodies themselves (exact decimals, precise errors), so Litestar cannot
see the request bodies; this table declares every path, method, parameter, body and answer,
and ``tests/api/test_openapi.py`` checks it against the routes the app really serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from earnest.api.contracts import MAX_VERSION
from earnest.api.schemas import components
from earnest.service.keys import Scope

JSON = "application/json"
YAML = "application/yaml"
CSV = "text/csv"
PDF = "application/pdf"
# The schema of an answer that is not JSON, by media type.
_FILES: dict[str, dict[str, Any]] = {
    CSV: {"type": "string"},
    PDF: {"type": "string", "format": "binary"},
}


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    summary: str
    scope: Scope | None
    answers: dict[int, str]  # status -> schema name
    body: str | None = None
    yaml_body: bool = False
    query: tuple[tuple[str, str, dict[str, Any]], ...] = ()  # (name, description, schema)
    errors: tuple[int, ...] = ()
    media: str = JSON  # of the answers (not of the errors, always JSON)
    # A 422 may also be about a parameter (not the contract in the body): either error shape.
    parameter_422: bool = False


_STRING: dict[str, Any] = {"type": "string"}
_LIMIT: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 1000}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_LIST = (
    ("limit", "items per page, 1 to 1000 (default 50)", _LIMIT),
    ("cursor", "the next_cursor of the previous page", _STRING),
)
_DAY: dict[str, Any] = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_CUSTOMER = (
    "customer",
    "only this customer's",
    {"type": "string", "minLength": 1, "maxLength": 255},
)
_PERIOD = ("period", "YYYY-MM-DD: for each customer, its billing period containing that day", _DAY)

OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/healthz", "Liveness", None, {200: "Health"}),
    Operation("get", "/openapi.json", "This document", None, {200: ""}),
    Operation(
        "put", "/v1/contracts/{key}", "Create or update a contract", Scope.ADMIN,
        {200: "Contract", 201: "Contract"}, body="ContractIn", yaml_body=True,
        errors=(400, 413, 422),
    ),
    Operation(
        "post", "/v1/contracts/validate", "Validate a contract without saving it", Scope.READ,
        {200: "Validated"}, body="ContractIn", yaml_body=True, errors=(400, 413, 422),
        query=(("key", "the key to validate under when the document has none", _STRING),),
    ),
    Operation("get", "/v1/contracts", "List contracts", Scope.READ, {200: "ContractList"},
              query=_LIST, errors=(422,)),
    Operation("get", "/v1/contracts/{key}", "A contract's latest version", Scope.READ,
              {200: "Contract"}, errors=(404,)),
    Operation("get", "/v1/contracts/{key}/versions/{version}", "One version of a contract",
              Scope.READ, {200: "Contract"}, errors=(404, 422)),
    Operation(
        "post", "/v1/contracts/{key}/backtest",
        "Replay a proposed contract over the recorded history", Scope.READ,
        {200: "BacktestReport"}, body="ContractIn", yaml_body=True,
        errors=(400, 404, 413, 422, 503), parameter_422=True,
        query=(("since", "outcomes opened from then (RFC 3339; default: until - 30 days)", _TIME),
               ("until", "outcomes opened before then (RFC 3339; default: now)", _TIME)),
    ),
    Operation("post", "/v1/contracts/{key}/archive", "Archive: open no new outcomes",
              Scope.ADMIN, {200: "Contract"}, errors=(404,)),
    Operation("post", "/v1/signals", "Send one signal", Scope.INGEST, {200: "SignalAnswer"},
              body="SignalIn", errors=(400, 404, 409, 413, 422)),
    Operation("post", "/v1/signals/batch", "Send up to 10,000 signals", Scope.INGEST,
              {200: "BatchAnswer"}, body="Batch", errors=(400, 413, 422)),
    Operation("post", "/v1/outcomes", "Begin tracking an outcome", Scope.INGEST,
              {200: "Outcome", 201: "Outcome"}, body="OpenOutcome",
              errors=(400, 404, 409, 413, 422)),
    Operation(
        "get", "/v1/outcomes", "List outcomes, newest first", Scope.READ, {200: "OutcomeList"},
        query=(
            ("contract", "only this contract's outcomes", _STRING),
            ("customer", "only this customer's outcomes", _STRING),
            ("state", "only outcomes in this state",
             {"enum": ["open", "in_review", "confirmed", "cancelled"]}),
            ("contested", "only contested (true) or uncontested (false) outcomes",
             {"enum": ["true", "false"]}),
            *_LIST,
        ),
        errors=(422,),
    ),
    Operation("get", "/v1/outcomes/{contract}/{outcome}", "One outcome", Scope.READ,
              {200: "Outcome"}, errors=(404,)),
    Operation("get", "/v1/outcomes/{contract}/{outcome}/history", "An outcome's history",
              Scope.READ, {200: "History"}, errors=(404,)),
    Operation("post", "/v1/outcomes/{contract}/{outcome}/settle", "Settle by hand",
              Scope.ADMIN, {200: "Outcome"}, body="SettleIn", errors=(400, 404, 409, 413, 422)),
    Operation("get", "/v1/customers", "List customers", Scope.READ, {200: "CustomerList"},
              query=_LIST, errors=(422,)),
    Operation("get", "/v1/customers/{id}", "One customer", Scope.READ, {200: "Customer"},
              errors=(404,)),
    Operation("put", "/v1/customers/{id}", "Edit (or create) a customer", Scope.ADMIN,
              {200: "Customer", 201: "Customer"}, body="CustomerUpdate",
              errors=(400, 413, 422)),
    Operation("get", "/v1/customers/{id}/periods",
              "A customer's billing periods: past, current and next", Scope.READ,
              {200: "PeriodList"}, errors=(404,)),
    Operation("post", "/v1/customers/{id}/portal-links",
              "A link to the customer's evidence pages (its URL shown once)", Scope.ADMIN,
              {201: "NewPortalLink"}, body="PortalLinkIn", errors=(400, 404, 413, 422)),
    Operation("get", "/v1/customers/{id}/portal-links",
              "A customer's portal links, newest first (never their tokens)", Scope.ADMIN,
              {200: "PortalLinkList"}, query=_LIST, errors=(404, 422)),
    Operation("delete", "/v1/customers/{id}/portal-links/{link}", "Revoke a portal link",
              Scope.ADMIN, {200: "PortalLink"}, errors=(404,)),
    Operation(
        "get", "/v1/ledger", "Charges and credits, newest first", Scope.READ,
        {200: "LedgerList"},
        query=(_CUSTOMER, ("kind", "only charges or only credits",
                           {"enum": ["charge", "credit"]}), _PERIOD, *_LIST),
        errors=(422,),
    ),
    Operation(
        "get", "/v1/invoices", "Invoices, drafts included, with totals (without lines)",
        Scope.READ, {200: "InvoiceList"},
        query=(_CUSTOMER, _PERIOD, ("status", "only drafts or only finalized invoices",
                                    {"enum": ["draft", "finalized"]}), *_LIST),
        errors=(422,),
    ),
    Operation("get", "/v1/invoices/{id}", "One invoice with its lines", Scope.READ,
              {200: "Invoice"}, errors=(404,)),
    Operation("get", "/v1/invoices/{id}/csv", "An invoice's lines as CSV", Scope.READ,
              {200: ""}, errors=(404,), media=CSV),
    Operation("get", "/v1/invoices/{id}/pdf", "An invoice as a PDF for the customer",
              Scope.READ, {200: ""}, errors=(404,), media=PDF),
    Operation("get", "/v1/invoices/{id}/audit",
              "Every outcome behind an invoice, with its full history", Scope.READ,
              {200: "InvoiceAudit"}, query=_LIST, errors=(404, 422)),
    Operation("post", "/v1/outcomes/{contract}/{outcome}/disputes",
              "Dispute a confirmed outcome's charge", Scope.ADMIN, {201: "Dispute"},
              body="DisputeIn", errors=(400, 404, 409, 413, 422)),
    Operation("post", "/v1/outcomes/{contract}/{outcome}/disputes/resolve",
              "Resolve an outcome's open dispute: reject, or credit", Scope.ADMIN,
              {200: "Dispute"}, body="DisputeResolution", errors=(400, 404, 409, 413, 422)),
    Operation(
        "get", "/v1/disputes", "Disputes, newest first", Scope.READ, {200: "DisputeList"},
        query=(("state", "only open or only resolved disputes", {"enum": ["open", "resolved"]}),
               _CUSTOMER, *_LIST),
        errors=(422,),
    ),
    Operation("get", "/v1/settings", "The settings", Scope.ADMIN, {200: "Settings"}),
    Operation("put", "/v1/settings", "Change some settings", Scope.ADMIN, {200: "Settings"},
              body="SettingsUpdate", errors=(400, 413, 422)),
    Operation("post", "/v1/keys", "Create an API key (shown once)", Scope.ADMIN,
              {201: "NewApiKey"}, body="KeyIn", errors=(400, 413, 422)),
    Operation("get", "/v1/keys", "List API keys", Scope.ADMIN, {200: "KeyList"}, query=_LIST,
              errors=(422,)),
    Operation("delete", "/v1/keys/{id}", "Revoke an API key", Scope.ADMIN, {200: "ApiKey"},
              errors=(404,)),
    Operation("get", "/v1/activity", "The activity log, newest first", Scope.ADMIN,
              {200: "ActivityList"}, query=_LIST, errors=(422,)),
    Operation("post", "/v1/webhooks", "Add a webhook endpoint (its secret shown once)",
              Scope.ADMIN, {201: "NewWebhook"}, body="WebhookIn", errors=(400, 413, 422)),
    Operation("get", "/v1/webhooks", "Every webhook endpoint, oldest first", Scope.ADMIN,
              {200: "WebhookList"}),
    Operation("get", "/v1/webhooks/{id}", "One webhook endpoint", Scope.ADMIN,
              {200: "Webhook"}, errors=(404,)),
    Operation("patch", "/v1/webhooks/{id}", "Change a webhook endpoint", Scope.ADMIN,
              {200: "Webhook"}, body="WebhookUpdate", errors=(400, 404, 413, 422)),
    Operation("delete", "/v1/webhooks/{id}", "Remove a webhook endpoint", Scope.ADMIN,
              {204: ""}, errors=(404,)),
    Operation("post", "/v1/webhooks/{id}/rotate-secret",
              "A new secret (shown once); the old one signs too for 24 hours", Scope.ADMIN,
              {200: "NewWebhook"}, errors=(404,)),
    Operation("get", "/v1/webhooks/{id}/deliveries",
              "An endpoint's deliveries, newest first, with every try", Scope.ADMIN,
              {200: "DeliveryList"}, query=_LIST, errors=(404, 422)),
    Operation("post", "/v1/webhooks/{id}/deliveries/{delivery}/retry",
              "Send a failed (or pending) delivery again now", Scope.ADMIN,
              {200: "Delivery"}, errors=(404, 409, 422)),
)  # fmt: skip

_VERSION = {"type": "integer", "minimum": 1, "maximum": MAX_VERSION - 1}
_PATH_PARAMS = {
    "key": "a contract key",
    "version": "a version number, from 1",
    "contract": "a contract key",
    "outcome": "the outcome reference, percent-encoded (/ as %2F, # as %23)",
    "id": "the id, percent-encoded (/ as %2F)",
    "delivery": "a delivery's id, from the endpoint's deliveries",
    "link": "a portal link's id (pl_...)",
}
_ERROR_TEXT = {
    400: "malformed JSON (code malformed_json)",
    401: "missing, unknown or revoked API key (code unauthorized)",
    403: "the key's scope does not allow this (code forbidden)",
    404: "not found",
    409: "conflict with the stored state",
    413: "body over 16 MiB (code body_too_large)",
    422: "invalid input; the error names the field",
    503: "busy: try again later (backtests: code backtests_busy)",
}
_STATUS_TEXT = {200: "OK", 201: "Created", 204: "No Content"}
_DELIVERY = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
_PATH_SCHEMAS = {"version": _VERSION, "delivery": _DELIVERY}


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Earnest",
            "version": "1",
            "description": "Outcome-based billing: contracts, signals, outcomes (SPEC section 8).",
        },
        "paths": paths,
        "components": {
            "schemas": components(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_').replace('.', '_')}",
    }
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": text,
            "schema": _PATH_SCHEMAS.get(name, _STRING),
        }
        for name, text in _PATH_PARAMS.items()
        if "{" + name + "}" in op.path
    ]
    params += [
        {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
        for name, text, schema in op.query
    ]
    if params:
        out["parameters"] = params
    if op.body is not None:
        content = {JSON: {"schema": _ref(op.body)}}
        if op.yaml_body:
            content[YAML] = {"schema": _ref(op.body)}
        out["requestBody"] = {"required": True, "content": content}
    responses: dict[str, Any] = {}
    for status, schema in op.answers.items():
        if status == 204:
            responses[str(status)] = {"description": _STATUS_TEXT[status]}
            continue
        if op.media != JSON:
            body = {op.media: {"schema": _FILES[op.media]}}
        else:
            body = {JSON: {"schema": _ref(schema) if schema else {"type": "object"}}}
        responses[str(status)] = {"description": _STATUS_TEXT[status], "content": body}
    errors = list(op.errors)
    if op.scope is not None:
        out["security"] = [{"bearer": []}]
        out["description"] = f"Needs a key of scope {op.scope.value} (or admin)."
        errors += [401, 403]
    for status in sorted(set(errors)):
        refusal = _ref("ContractError" if status == 422 and op.yaml_body else "Error")
        if status == 422 and op.parameter_422:
            refusal = {"anyOf": [refusal, _ref("Error")]}
        responses[str(status)] = {
            "description": _ERROR_TEXT[status],
            "content": {JSON: {"schema": refusal}},
        }
    out["responses"] = responses
    return out

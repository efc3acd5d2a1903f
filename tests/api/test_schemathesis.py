"""Schemathesis against the live app: every operation, every check, real data behind the paths.

The app runs in process (ASGI, no network) over a migrated SQLite copy with an admin key, a
saved contract ``landing``, an open outcome ``acme/api#1234`` of customer ``acme``, a confirmed
one ``acme/api#999`` (so a draft invoice, and an outcome to dispute), a spare key that may
be revoked, and a webhook endpoint with the confirmation's two deliveries. Path parameters
are sometimes swapped for those real ones, so the answers are not all 404s. Hypothesis is
derandomized and bounded: the run is deterministic and takes well under a minute.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from litestar.testing import TestClient
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    CheckFunction,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)
from schemathesis.core.parameters import ParameterLocation as Location

from earnest.access import Scope
from earnest.api import create_app
from earnest.api.openapi import OPERATIONS
from earnest.app import Earnest
from earnest.store import Database
from earnest.store.keys import create_key
from tests.api.conftest import Clock
from tests.contracts import LANDING, T0

MAX_EXAMPLES = 40
JSON = "application/json"
OUTCOME = "acme/api#1234"
CONFIRMED = "acme/api#999"

# Refusals of schema-valid requests that are known and intended: the server checks more than
# JSON Schema says (see the report in docs/api.md's tests): (code, field), field None = any.
STRICTER_THAN_DOCUMENT = {
    ("invalid_cursor", "cursor"),  # a cursor must be one the server handed out
    ("invalid_contract", None),  # conditions grammar, price and duration syntax
    ("invalid_signal", "at"),  # RFC 3339 times: date-time formats are not enforced
    ("invalid_field", "email"),  # an email address: the format is not in the schema
    ("invalid_filter", "period"),  # a real date: the pattern allows 2026-13-45
    ("invalid_field", "amount"),  # a positive amount, and only for a credit
    ("credit_exceeds_charge", "amount"),  # never more than is left of the charge
    ("invalid_setting", None),  # a duration, a URL, a grace of at most 7d
    ("invalid_field", "url"),  # a webhook's: a host, a valid port, no credentials
    ("invalid_time", None),  # a backtest's since and until: RFC 3339 with an offset
    ("invalid_range", "since"),  # a backtest's since after its until
    ("invalid_field", "expires_in"),  # a portal link's: a duration from 1m to 366d
}

CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    missing_required_header,
    unsupported_method,
    use_after_free,
    ignored_auth,
]


def _seed(db: Database, client: TestClient[Any], admin: str) -> dict[str, list[str]]:
    """Save a contract, open an outcome, add a spare key: the real values of path parameters."""
    headers = {"Authorization": f"Bearer {admin}"}
    response = client.put(
        "/v1/contracts/landing",
        content=LANDING,
        headers={**headers, "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    hook = client.post("/v1/webhooks", json={"url": "https://crm.example/hook"}, headers=headers)
    assert hook.status_code == 201, hook.text
    webhook = hook.json()["id"]
    for ref in (OUTCOME, CONFIRMED):
        body = {"contract": "landing", "outcome": ref, "customer": "acme"}
        response = client.post("/v1/outcomes", json=body, headers=headers)
        assert response.status_code == 201, response.text
    settle = {"decision": "confirm", "reason": "seed"}
    path = f"/v1/outcomes/landing/{quote(CONFIRMED, safe='')}/settle"
    assert client.post(path, json=settle, headers=headers).status_code == 200
    [invoice] = client.get("/v1/invoices", headers=headers).json()["items"]
    deliveries = client.get(f"/v1/webhooks/{webhook}/deliveries", headers=headers).json()
    assert len(deliveries["items"]) == 2  # outcome.confirmed, charge.booked
    link = client.post("/v1/customers/acme/portal-links", json={}, headers=headers)
    assert link.status_code == 201, link.text
    with db.write() as tx:
        spare, _ = create_key(tx, Scope.READ, T0 - timedelta(days=1), "spare")
    return {
        "key": ["landing"],
        "contract": ["landing"],
        "version": ["1"],
        "outcome": [quote(OUTCOME, safe=""), quote(CONFIRMED, safe="")],
        "id": ["acme", spare.id, invoice["id"]],
        "webhook": [webhook],  # the id under /v1/webhooks
        "delivery": [str(d["id"]) for d in deliveries["items"]],
        "link": [link.json()["id"]],
    }


def _known_refusal(response: Any) -> bool:
    if response.status_code != 422:
        return False
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    code, field = error.get("code"), error.get("field")
    message = str(error.get("message", ""))
    if "U+0000" in message:
        return True  # strings must not hold NUL (PostgreSQL cannot store it)
    if code == "invalid_field" and message.endswith("must not be empty"):
        return True  # optional names: the schema lacks minLength 1
    if code == "invalid_signal" and message.startswith("unknown field"):
        return True  # a signal's unknown fields, as unknown_field elsewhere
    return (code, field) in STRICTER_THAN_DOCUMENT or (code, None) in STRICTER_THAN_DOCUMENT


def _negative(case: Case[Any], location: Location) -> bool:
    return case.meta is not None and case.meta.is_negative_at(location)


def _rejected_in_batch(response: Any) -> bool:
    if response.status_code != 200:
        return False
    try:
        rejected = response.json().get("rejected", 0)
    except (ValueError, AttributeError):
        return False
    return isinstance(rejected, int) and rejected > 0


# Valid bodies, sometimes sent instead of generated ones so that writes succeed too.
CONTRACT = {
    "conditions": "completed AND score > 3",
    "price": "$0.99",
    "active_for": "48h",
    "review_window": "24h",
}
REAL_BODIES: dict[str, list[dict[str, Any]]] = {
    "/v1/contracts/{key}": [CONTRACT, {**CONTRACT, "price": "$1.50"}],
    "/v1/contracts/validate": [{**CONTRACT, "key": "valid"}],
    "/v1/contracts/{key}/backtest": [CONTRACT, {**CONTRACT, "price": "$2"}],
    "/v1/signals": [
        {"contract": "landing", "outcome": OUTCOME, "signal": "score", "value": 4},
        {"contract": "landing", "outcome": "new #1", "customer": "acme", "signal": "completed"},
    ],
    "/v1/outcomes": [{"contract": "landing", "outcome": "acme/api#5678", "customer": "acme"}],
    "/v1/outcomes/{contract}/{outcome}/settle": [{"decision": "confirm", "reason": "by hand"}],
    "/v1/outcomes/{contract}/{outcome}/disputes": [{"reason": "the customer reopened it"}],
    "/v1/outcomes/{contract}/{outcome}/disputes/resolve": [
        {"resolution": "reject", "note": "works as agreed"},
        {"resolution": "credit", "amount": "0.10", "note": "partly"},
    ],
    "/v1/settings": [{"seller_name": "Example Agents Ltd", "invoice_grace": "10m"}],
    "/v1/webhooks": [
        {"url": "https://crm.example/hook"},
        {"url": "http://10.0.0.7:8080/in", "events": ["charge.booked"], "enabled": False},
    ],
    "/v1/webhooks/{id}": [{"enabled": True}, {"events": None, "description": "CRM"}],
    "/v1/customers/{id}/portal-links": [{"expires_in": "7d"}, {"expires_in": 3600}, {}],
}


def _real(names: list[str], values: dict[str, list[str]]) -> st.SearchStrategy[dict[str, str]]:
    """Nothing (keep the generated path) or real values for every path parameter."""
    if not names:
        return st.just({})
    real = st.fixed_dictionaries({name: st.sampled_from(values[name]) for name in names})
    return st.one_of(st.just({}), real)


@pytest.mark.parametrize(("method", "path"), [(op.method, op.path) for op in OPERATIONS], ids=str)
def test_operation_conforms_to_the_openapi_document(
    sqlite_db: Database, method: str, path: str
) -> None:
    with sqlite_db.write() as tx:
        admin = create_key(tx, Scope.ADMIN, T0 - timedelta(days=1), "admin")[1]
    app = create_app(Earnest(sqlite_db, clock=Clock()))
    with TestClient(app=app) as client:
        values = _seed(sqlite_db, client, admin)
    if path.startswith("/v1/webhooks/"):
        values["id"] = values["webhook"]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Unknown query parameters are ignored, as HTTP servers do; do not send them as "invalid".
    schema.config.generation.allow_extra_parameters = False
    operation = schema[path][method.upper()]
    auth = {"Authorization": f"Bearer {admin}"}
    names = [p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    bodies = REAL_BODIES.get(path, [])
    body = st.one_of(st.none(), st.sampled_from(bodies)) if bodies else st.none()

    @given(case=cases, real=_real(names, values), body=body)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case[Any], real: dict[str, str], body: dict[str, Any] | None) -> None:
        # Only valid parts are swapped: a mutated part stays, so negative cases stay negative.
        if real and case.path_parameters is not None and not _negative(case, Location.PATH):
            case.path_parameters = {**case.path_parameters, **real}
        if body is not None and case.media_type == JSON and not _negative(case, Location.BODY):
            case.body = body
        response = case.call(headers=auth)
        excluded = set()
        if _known_refusal(response):
            excluded.add(positive_data_acceptance)
        if _rejected_in_batch(response):
            excluded.add(negative_data_rejection)  # 200, the bad signal is rejected by itself
        checks = [check for check in CHECKS if check not in excluded]
        case.validate_response(
            response, checks=checks, headers=auth, transport_kwargs={"headers": auth}
        )

    run()

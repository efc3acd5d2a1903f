"""The OpenAPI document matches what the server really does."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest

from earnest.api import create_app, schemas
from earnest.api.openapi import OPERATIONS, document
from earnest.app import Earnest
from tests.api.conftest import Api
from tests.api.test_auth import ENDPOINTS, SIGNAL

# The one route that serves every per-outcome path (see earnest.api.outcomes).
OUTCOME_ROUTE = "/v1/outcomes/{contract}/{rest}"
OUTCOME_PATHS = {
    ("get", "/v1/outcomes/{contract}/{outcome}"),
    ("get", "/v1/outcomes/{contract}/{outcome}/history"),
    ("post", "/v1/outcomes/{contract}/{outcome}/settle"),
    ("post", "/v1/outcomes/{contract}/{outcome}/disputes"),
    ("post", "/v1/outcomes/{contract}/{outcome}/disputes/resolve"),
}
# Customer ids may hold '/' too: one route serves a customer, its periods and its portal
# links (whose POST and DELETE are served on that route too).
CUSTOMER_PATHS = {
    ("get", "/v1/customers/{id}/periods"),
    ("post", "/v1/customers/{id}/portal-links"),
    ("get", "/v1/customers/{id}/portal-links"),
    ("delete", "/v1/customers/{id}/portal-links/{link}"),
}
CUSTOMER_ROUTES = {("post", "/v1/customers/{id}"), ("delete", "/v1/customers/{id}")}


def served(api: Api) -> set[tuple[str, str]]:
    app = create_app(Earnest(api.db))
    routes: set[tuple[str, str]] = set()
    for route in app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in route.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def test_every_route_is_documented_and_nothing_else(api: Api) -> None:
    documented = {(op.method, op.path) for op in OPERATIONS}
    routes = served(api)
    outcome_routes = {r for r in routes if r[1] == OUTCOME_ROUTE}
    assert outcome_routes == {("get", OUTCOME_ROUTE), ("post", OUTCOME_ROUTE)}
    assert routes - outcome_routes - CUSTOMER_ROUTES == documented - OUTCOME_PATHS - CUSTOMER_PATHS
    assert routes >= CUSTOMER_ROUTES
    assert ("get", "/v1/customers/{id}") in routes
    assert documented >= OUTCOME_PATHS | CUSTOMER_PATHS


def test_document_shape(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    refs = re.findall(r'"\$ref": ?"#/components/schemas/(\w+)"', msgspec.json.encode(doc).decode())
    assert refs
    assert set(refs) <= set(doc["components"]["schemas"])
    signals = doc["paths"]["/v1/signals"]["post"]
    assert signals["security"] == [{"bearer": []}]
    assert signals["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SignalIn"
    }
    assert set(signals["responses"]) == {"200", "400", "401", "403", "404", "409", "413", "422"}
    put = doc["paths"]["/v1/contracts/{key}"]["put"]
    assert set(put["requestBody"]["content"]) == {"application/json", "application/yaml"}
    assert "security" not in doc["paths"]["/healthz"]["get"]
    outcome = doc["paths"]["/v1/outcomes/{contract}/{outcome}"]["get"]
    assert [p["name"] for p in outcome["parameters"]] == ["contract", "outcome"]
    pdf = doc["paths"]["/v1/invoices/{id}/pdf"]["get"]["responses"]
    assert set(pdf["200"]["content"]) == {"application/pdf"}
    assert set(pdf["404"]["content"]) == {"application/json"}  # errors are JSON still
    csv = doc["paths"]["/v1/invoices/{id}/csv"]["get"]["responses"]
    assert set(csv["200"]["content"]) == {"text/csv"}
    removed = doc["paths"]["/v1/webhooks/{id}"]["delete"]["responses"]
    assert removed["204"] == {"description": "No Content"}  # no body at all
    retry = doc["paths"]["/v1/webhooks/{id}/deliveries/{delivery}/retry"]["post"]
    assert [p["schema"]["type"] for p in retry["parameters"]] == ["string", "integer"]
    assert doc == document()


def _operation(method: str, path: str) -> dict[str, Any]:
    doc = document()
    bare = path.split("?", maxsplit=1)[0]
    for template, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\{\w+\}", "[^/]+", template) + "$"
        if method.lower() in item and re.match(pattern, bare):
            return item[method.lower()]  # type: ignore[no-any-return]
    raise AssertionError(f"{method} {path} is not documented")


@pytest.mark.parametrize(("method", "path", "body", "least"), ENDPOINTS)
def test_answers_match_their_declared_schema(
    api: Api, method: str, path: str, body: Any, least: str
) -> None:
    api.landing()
    api.post("/v1/signals", SIGNAL, scope="ingest")
    response = api.client.request(method, path, json=body, headers=api.headers())
    operation = _operation(method, path)
    declared = operation["responses"]
    assert str(response.status_code) in declared, (response.status_code, response.text)
    if response.status_code == 204:
        assert response.content == b""
        assert "content" not in declared["204"]
        return
    ref = declared[str(response.status_code)]["content"]["application/json"]["schema"]["$ref"]
    model = getattr(schemas, ref.rsplit("/", 1)[1])
    msgspec.json.decode(response.content, type=model)  # raises if the body does not fit
    if "requestBody" in operation and body is not None:
        request_model = operation["requestBody"]["content"]["application/json"]["schema"]
        msgspec.json.decode(
            msgspec.json.encode(body), type=getattr(schemas, request_model["$ref"].rsplit("/")[-1])
        )

"""``/v1/contracts``: create, version, validate, list, archive; errors with line and column."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.contracts import LANDING

JSON_CONTRACT = {
    "conditions": "resolved AND NOT reopened AND csat >= 4",
    "price": "$0.99",
    "active_for": "48h",
    "review_window": "24h",
    "on_timeout": "confirm",
}


def put_yaml(api: Api, key: str, text: str) -> object:
    return api.client.put(
        f"/v1/contracts/{key}",
        content=text,
        headers={**api.headers(), "Content-Type": "application/yaml"},
    )


def test_put_json_creates_version_one_then_same_content_is_unchanged(api: Api) -> None:
    created = api.put("/v1/contracts/ticket_resolved", JSON_CONTRACT)
    assert created.status_code == 201
    body = created.json()
    assert body["key"] == "ticket_resolved"
    assert body["version"] == 1
    assert body["archived"] is False
    assert body["price"] == {"amount": "0.99", "currency": "USD"}
    assert body["created_at"] == "2026-11-23T10:00:00Z"
    assert body["fingerprint"].startswith("sha256:")
    again = api.put("/v1/contracts/ticket_resolved", JSON_CONTRACT)
    assert again.status_code == 200
    assert again.json()["version"] == 1
    changed = api.put("/v1/contracts/ticket_resolved", {**JSON_CONTRACT, "price": "$1.25"})
    assert changed.status_code == 201
    assert changed.json()["version"] == 2


def test_put_yaml_landing_page_form(api: Api) -> None:
    response = api.client.put(
        "/v1/contracts/landing",
        content=LANDING,
        headers={**api.headers(), "Content-Type": "application/yaml; charset=utf-8"},
    )
    assert response.status_code == 201
    assert response.json()["conditions"] == "completed AND score > 3 AND NOT disputed"
    assert response.json()["on_timeout"] == "confirm"


def test_invalid_contract_names_field_line_and_column(api: Api) -> None:
    response = api.client.put(
        "/v1/contracts/bad",
        content=LANDING.replace("score > 3", "score >> 3"),
        headers={**api.headers(), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_contract"
    assert error["field"] == "conditions"
    assert error["errors"][0]["field"] == "conditions"
    assert error["errors"][0]["line"] == 1
    assert "^" in error["errors"][0]["snippet"]
    assert api.get("/v1/contracts/bad").status_code == 404  # never stored


def test_key_in_document_must_match_path(api: Api) -> None:
    response = api.put("/v1/contracts/one", {**JSON_CONTRACT, "key": "two"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "key"


def test_malformed_json_contract_is_400(api: Api) -> None:
    response = api.client.put("/v1/contracts/x", content=b'{"price": ', headers=api.headers())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert "line 1" in response.json()["error"]["message"]


def test_validate_does_not_save(api: Api) -> None:
    ok = api.post("/v1/contracts/validate?key=probe", JSON_CONTRACT, scope="read")
    assert ok.status_code == 200
    assert ok.json()["valid"] is True
    assert ok.json()["contract"]["key"] == "probe"
    assert api.get("/v1/contracts/probe").status_code == 404
    bad = api.post(
        "/v1/contracts/validate?key=probe", {**JSON_CONTRACT, "active_for": "0s"}, scope="read"
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "active_for"


def test_list_get_version_archive(api: Api) -> None:
    api.put("/v1/contracts/first", JSON_CONTRACT)
    api.clock.advance(seconds=1)
    api.put("/v1/contracts/second", JSON_CONTRACT)
    api.put("/v1/contracts/second", {**JSON_CONTRACT, "price": "€2"})
    listed = api.get("/v1/contracts", scope="read").json()
    assert [c["key"] for c in listed["items"]] == ["second", "first"]
    assert listed["items"][0]["version"] == 2
    assert listed["next_cursor"] is None
    page1 = api.get("/v1/contracts?limit=1", scope="read").json()
    assert [c["key"] for c in page1["items"]] == ["second"]
    page2 = api.get(f"/v1/contracts?limit=1&cursor={page1['next_cursor']}", scope="read").json()
    assert [c["key"] for c in page2["items"]] == ["first"]
    assert page2["next_cursor"] is None
    latest = api.get("/v1/contracts/second", scope="read").json()
    assert latest["price"] == {"amount": "2.00", "currency": "EUR"}
    v1 = api.get("/v1/contracts/second/versions/1", scope="read")
    assert v1.status_code == 200
    assert v1.json()["price"]["currency"] == "USD"
    assert api.get("/v1/contracts/second/versions/3").json()["error"]["code"] == (
        "unknown_contract"
    )
    assert api.get("/v1/contracts/second/versions/0").status_code == 422
    assert api.get("/v1/contracts/second/versions/x").status_code == 422
    archived = api.post("/v1/contracts/second/archive")
    assert archived.status_code == 200
    assert archived.json()["archived"] is True
    assert api.get("/v1/contracts/second").json()["archived"] is True


def test_unknown_contract_is_404(api: Api) -> None:
    response = api.get("/v1/contracts/code_shiped", scope="read")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "unknown_contract",
            "message": "no contract with key 'code_shiped'",
            "field": "key",
        }
    }
    assert api.post("/v1/contracts/nope/archive").status_code == 404

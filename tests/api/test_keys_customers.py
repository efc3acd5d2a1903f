"""``/v1/keys`` and ``/v1/customers``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api


def test_create_list_revoke_key(api_any: Api) -> None:
    api = api_any
    created = api.post("/v1/keys", {"scope": "read", "name": "dashboard"})
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith(f"ek_{body['id']}_")
    assert (body["scope"], body["name"], body["revoked_at"]) == ("read", "dashboard", None)
    new_key = body["key"]
    headers = {"Authorization": f"Bearer {new_key}"}
    assert api.client.get("/v1/contracts", headers=headers).status_code == 200
    listed = api.get("/v1/keys").json()
    assert listed["items"][0]["id"] == body["id"]
    assert new_key not in api.get("/v1/keys").text
    assert all("key" not in item and "hash" not in item for item in listed["items"])
    revoked = api.delete(f"/v1/keys/{body['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] == "2026-11-23T10:00:00Z"
    refused = api.client.get("/v1/contracts", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert api.delete("/v1/keys/knothere").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [({"scope": "root"}, "scope"), ({}, "scope"), ({"scope": "read", "name": 5}, "name"),
     ({"scope": "read", "extra": True}, "extra")],
)  # fmt: skip
def test_key_validation(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post("/v1/keys", body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_last_used_at_is_written_at_most_once_a_minute(api: Api) -> None:
    def last_used() -> str | None:
        with api.db.read() as tx:
            row = tx.one("SELECT last_used_at FROM api_keys WHERE name = 'read'")
        assert row is not None
        return row[0]  # type: ignore[no-any-return]

    assert last_used() is None
    api.get("/v1/contracts", scope="read")
    first = last_used()
    assert first is not None
    api.clock.advance(seconds=30)
    api.get("/v1/contracts", scope="read")
    assert last_used() == first
    api.clock.advance(seconds=31)
    api.get("/v1/contracts", scope="read")
    assert last_used() != first


def test_key_list_pages(api: Api) -> None:
    for _ in range(3):
        api.clock.advance(seconds=1)
        api.post("/v1/keys", {"scope": "ingest"})
    ids: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get("/v1/keys" + query).json()
        ids += [k["id"] for k in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(ids) == len(set(ids)) == 6


def test_customers(api_any: Api) -> None:
    api = api_any
    api.landing()
    for customer in ("acme", "globex"):
        api.clock.advance(seconds=1)
        api.post(
            "/v1/outcomes",
            {"contract": "landing", "outcome": customer, "customer": customer},
            scope="ingest",
        )
    listed = api.get("/v1/customers", scope="read").json()
    assert [c["id"] for c in listed["items"]] == ["globex", "acme"]
    acme = api.get("/v1/customers/acme", scope="read").json()
    assert acme == {
        "id": "acme",
        "name": None,
        "email": None,
        "address": None,
        "tax_id": None,
        "billing_day": 1,
        "created_at": "2026-11-23T10:00:01Z",
    }
    edited = api.put(
        "/v1/customers/acme",
        {
            "name": "Acme Corp",
            "email": "billing@acme.test",
            "address": "1 Road Runner Way\nPhoenix, AZ",
            "tax_id": "US-12-3456789",
            "billing_day": 15,
        },
    )
    assert edited.status_code == 200
    assert edited.json()["billing_day"] == 15
    assert edited.json()["address"] == "1 Road Runner Way\nPhoenix, AZ"
    assert edited.json()["tax_id"] == "US-12-3456789"
    logged = api.get("/v1/activity").json()["items"][0]
    assert (logged["action"], logged["after"]["tax_id"]) == ("customer.updated", "US-12-3456789")
    partial = api.put("/v1/customers/acme", {"name": None})
    assert partial.json()["name"] is None
    assert partial.json()["email"] == "billing@acme.test"
    page = api.get("/v1/customers?limit=1", scope="read").json()
    rest = api.get(f"/v1/customers?limit=1&cursor={page['next_cursor']}", scope="read").json()
    assert [c["id"] for c in page["items"] + rest["items"]] == ["globex", "acme"]
    created = api.put("/v1/customers/initech", {"billing_day": 28})
    assert created.status_code == 201
    assert api.get("/v1/customers/nobody").status_code == 404
    slashed = api.put("/v1/customers/acme%2Feu%20%231", {"name": "Acme EU"})
    assert slashed.status_code == 201
    assert slashed.json()["id"] == "acme/eu #1"
    assert api.get("/v1/customers/acme%2Feu%20%231").json()["name"] == "Acme EU"
    assert api.get("/v1/customers/acme/eu #1").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"billing_day": 0}, "billing_day"),
        ({"billing_day": 29}, "billing_day"),
        ({"billing_day": 1.5}, "billing_day"),
        ({"billing_day": "3"}, "billing_day"),
        ({"email": "nope"}, "email"),
        ({"name": "x" * 256}, "name"),
        ({"address": "x" * 1001}, "address"),
        ({"address": 5}, "address"),
        ({"tax_id": "x" * 256}, "tax_id"),
        ({"tax_id": "  "}, "tax_id"),
        ({"id": "other"}, "id"),
    ],
)
def test_customer_validation(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.put("/v1/customers/acme", body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field

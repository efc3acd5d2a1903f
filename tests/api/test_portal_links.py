"""``/v1/customers/{id}/portal-links``: create (the URL shown once, on the public base URL or
the request's address), list (never the token), revoke; admin keys only; bad input named;
every creation and revocation in the activity log, without the token."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest

from earnest.app import Earnest
from earnest.store.codec import dumps
from tests.api.conftest import Api
from tests.contracts import T0


def _customer(api: Api, ident: str = "acme") -> None:
    response = api.put(f"/v1/customers/{quote(ident, safe='')}", {"name": "Acme"})
    assert response.status_code in (200, 201), response.text


def _token(url: str) -> str:
    return url.rsplit("/portal/", 1)[1]


def test_create_list_and_revoke(api: Api) -> None:
    _customer(api)
    created = api.post("/v1/customers/acme/portal-links", {})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["url"].startswith("http://testserver.local/portal/")
    assert len(_token(body["url"])) == 43
    assert body["expires_at"] == "2026-12-23T10:00:00Z"  # T0 + 30 days
    assert (body["customer"], body["state"], body["revoked_at"]) == ("acme", "live", None)
    assert body["id"].startswith("pl_")

    listed = api.get("/v1/customers/acme/portal-links")
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item == {k: v for k, v in body.items() if k != "url"}
    assert _token(body["url"]) not in listed.text

    revoked = api.delete(f"/v1/customers/acme/portal-links/{body['id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked"
    assert revoked.json()["revoked_at"] == "2026-11-23T10:00:00Z"
    again = api.delete(f"/v1/customers/acme/portal-links/{body['id']}")
    assert again.status_code == 200
    assert again.json() == revoked.json()  # twice changes nothing


def test_the_link_is_built_on_the_public_base_url(api: Api) -> None:
    _customer(api)
    api.put("/v1/settings", {"public_base_url": "https://billing.example.com/"})
    body = api.post("/v1/customers/acme/portal-links", {"expires_in": "7d"}).json()
    assert body["url"].startswith("https://billing.example.com/portal/")
    assert body["expires_at"] == "2026-11-30T10:00:00Z"


def test_expires_in_takes_seconds_too(api: Api) -> None:
    _customer(api)
    body = api.post("/v1/customers/acme/portal-links", {"expires_in": 3600}).json()
    assert body["expires_at"] == "2026-11-23T11:00:00Z"


@pytest.mark.parametrize(
    "value", ["soon", "", "0s", "30s", "367d", -5, 1.5, True, [], {"d": 1}, "1h1h"]
)
def test_a_bad_expires_in_is_refused_naming_the_field(api: Api, value: object) -> None:
    _customer(api)
    response = api.post("/v1/customers/acme/portal-links", {"expires_in": value})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "expires_in"
    assert api.get("/v1/customers/acme/portal-links").json()["items"] == []


def test_unknown_fields_customers_and_links(api: Api) -> None:
    _customer(api)
    unknown_field = api.post("/v1/customers/acme/portal-links", {"expires": "1d"})
    assert unknown_field.status_code == 422
    assert unknown_field.json()["error"] == {
        "code": "unknown_field", "message": "unknown field 'expires'", "field": "expires",
    }  # fmt: skip
    for method, path in [
        ("POST", "/v1/customers/nobody/portal-links"),
        ("GET", "/v1/customers/nobody/portal-links"),
        ("DELETE", "/v1/customers/nobody/portal-links/pl_0000000000000000"),
    ]:
        response = api.client.request(method, path, json={}, headers=api.headers())
        assert response.status_code == 404, (method, response.text)
        assert response.json()["error"]["code"] == "unknown_customer"
    missing = api.delete("/v1/customers/acme/portal-links/pl_0000000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_portal_link"
    assert api.post("/v1/customers/acme", {}).status_code == 405
    assert api.delete("/v1/customers/acme/portal-links").status_code == 405
    assert api.post("/v1/customers/acme/other", {}).status_code == 404


def test_another_customers_link_cannot_be_revoked_through_this_one(api: Api) -> None:
    _customer(api)
    _customer(api, "globex")
    link = api.post("/v1/customers/globex/portal-links", {}).json()
    response = api.delete(f"/v1/customers/acme/portal-links/{link['id']}")
    assert response.status_code == 404
    assert api.get("/v1/customers/globex/portal-links").json()["items"][0]["state"] == "live"


def test_a_customer_id_with_a_slash(api: Api) -> None:
    _customer(api, "acme/eu")
    path = f"/v1/customers/{quote('acme/eu', safe='')}/portal-links"
    created = api.post(path, {})
    assert created.status_code == 201, created.text
    assert created.json()["customer"] == "acme/eu"
    assert [i["id"] for i in api.get(path).json()["items"]] == [created.json()["id"]]


@pytest.mark.parametrize("scope", ["ingest", "read"])
def test_admin_keys_only(api: Api, scope: str) -> None:
    _customer(api)
    link = api.post("/v1/customers/acme/portal-links", {}).json()
    for method, path in [
        ("POST", "/v1/customers/acme/portal-links"),
        ("GET", "/v1/customers/acme/portal-links"),
        ("DELETE", f"/v1/customers/acme/portal-links/{link['id']}"),
    ]:
        response = api.client.request(method, path, json={}, headers=api.headers(scope))
        assert response.status_code == 403, (method, response.text)
    assert api.get("/v1/customers/acme/portal-links").json()["items"][0]["state"] == "live"


def test_list_pages_newest_first(api: Api) -> None:
    _customer(api)
    made = []
    for _ in range(5):
        made.append(api.post("/v1/customers/acme/portal-links", {}).json()["id"])
        api.clock.advance(seconds=1)
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/customers/acme/portal-links", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]


def test_expired_links_are_listed_as_expired(api: Api) -> None:
    _customer(api)
    api.post("/v1/customers/acme/portal-links", {"expires_in": "1h"})
    api.clock.advance(hours=1)
    [item] = api.get("/v1/customers/acme/portal-links").json()["items"]
    assert item["state"] == "expired"


def test_the_activity_log_names_the_key_and_never_the_token(api: Api) -> None:
    _customer(api)
    body = api.post("/v1/customers/acme/portal-links", {"expires_in": "2d"}).json()
    api.delete(f"/v1/customers/acme/portal-links/{body['id']}")
    entries = api.get("/v1/activity").json()["items"][:2]
    key_id = api.keys["admin"].split("_")[1]
    assert [(e["action"], e["subject"], e["actor"]) for e in entries] == [
        ("portal_link.revoked", body["id"], key_id),
        ("portal_link.created", body["id"], key_id),
    ]
    assert entries[1]["after"] == {
        "customer": "acme", "expires_at": "2026-11-25T10:00:00Z", "revoked": False,
    }  # fmt: skip
    assert (entries[0]["before"]["revoked"], entries[0]["after"]["revoked"]) == (False, True)
    token = _token(body["url"])
    digest = hashlib.sha256(token.encode()).hexdigest()
    text = dumps(entries)
    assert token not in text
    assert digest not in text


def test_only_the_tokens_hash_is_stored(api: Api) -> None:
    _customer(api)
    token = _token(api.post("/v1/customers/acme/portal-links", {}).json()["url"])
    with api.db.read() as tx:
        [(stored,)] = tx.query("SELECT token_hash FROM portal_links")
        dump = [tuple(map(str, row)) for row in tx.query("SELECT * FROM portal_links")]
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in value for row in dump for value in row)
    assert Earnest(api.db, clock=api.clock).portal.open(token) is not None
    assert api.clock() == T0
